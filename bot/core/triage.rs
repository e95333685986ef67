//! Triage: puts a staff message into a category and intent with a priority and an honest confidence.
//!
//! Intents are data (see `intents/README.md`). This module compiles them and classifies text; it does no I/O.

use super::ticket::{Priority, TicketType};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// How much of a message is looked at; longer text is classified on this prefix.
pub const MAX_CLASSIFY_BYTES: usize = 4096;

/// One category and its default ticket type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySpec {
    pub id: String,
    /// Shown on buttons and cards, e.g. "Sign-in and accounts".
    pub label: String,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
}

/// The shipped categories. `none` means "not an IT request"; `other` is where unclassified requests wait for a
/// technician to categorise them.
pub fn default_categories() -> Vec<CategorySpec> {
    let c = |id: &str, label: &str, t| CategorySpec { id: id.into(), label: label.into(), ticket_type: t };
    use TicketType::*;
    vec![
        c("identity", "Sign-in and accounts", Incident),
        c("endpoint", "Computers, devices and meeting rooms", Incident),
        c("printing", "Printing and scanning", Incident),
        c("network", "Network, Wi-Fi and VPN", Incident),
        c("saas", "Email, calendar and cloud apps", Incident),
        c("application", "Business software", Incident),
        c("security", "Security (phishing, malware, lost device)", Incident),
        c("other", "Something else", Request),
        c("none", "Not an IT request", Request),
    ]
}

/// An intent as written in an `intents/*.toml` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentSpec {
    pub id: String,
    pub category: String,
    /// Defaults to the category's type.
    #[serde(rename = "type", default)]
    pub ticket_type: Option<TicketType>,
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Case-insensitive regular expressions; any match is strong evidence for this intent.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Real-sounding messages for this intent (used for training and tests).
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub runbook: Option<String>,
    /// Extra phrases that raise the priority one step when present, besides the global boosters.
    #[serde(default)]
    pub boosters: Vec<String>,
}

fn default_priority() -> Priority {
    Priority::P3
}

/// A global priority booster, from `intents/boosters.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoosterSpec {
    pub pattern: String,
    /// Steps to raise (1 = P3 → P2).
    #[serde(default = "one")]
    pub raise: u8,
    #[serde(default)]
    pub reason: Option<String>,
}

fn one() -> u8 {
    1
}

/// Where a spec came from, for error messages: `intents/printing.toml`.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub file: String,
    pub item: T,
}

#[derive(Debug)]
struct CompiledIntent {
    spec: IntentSpec,
    ticket_type: TicketType,
    patterns: Vec<Regex>,
    boosters: Vec<Regex>,
}

#[derive(Debug)]
struct Booster {
    re: Regex,
    raise: u8,
}

/// The result of classifying one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub category: String,
    pub intent: Option<String>,
    pub ticket_type: TicketType,
    pub priority: Priority,
    /// 0.0–1.0; how sure we are of the category.
    pub confidence: f64,
    pub runbook: Option<String>,
    /// Patterns that matched, as `intent: pattern`, for `intents explain`.
    pub matched: Vec<String>,
}

/// Compiled intents plus categories.
#[derive(Debug)]
pub struct Classifier {
    categories: Vec<CategorySpec>,
    intents: Vec<CompiledIntent>,
    boosters: Vec<Booster>,
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).case_insensitive(true).size_limit(1 << 20).build()
}

impl Classifier {
    /// Compiles and validates. Errors name the file, the intent and the field.
    pub fn new(
        categories: Vec<CategorySpec>,
        intents: Vec<Sourced<IntentSpec>>,
        boosters: Vec<Sourced<BoosterSpec>>,
    ) -> Result<Classifier, String> {
        let mut seen = std::collections::HashMap::new();
        let mut compiled = vec![];
        for Sourced { file, item } in intents {
            let at = format!("{file}: intent `{}`", item.id);
            if item.id.trim().is_empty() {
                return Err(format!("{file}: an intent has an empty `id`"));
            }
            if let Some(prev) = seen.insert(item.id.clone(), file.clone()) {
                return Err(format!("{at}: duplicate `id` (also in {prev})"));
            }
            let Some(cat) = categories.iter().find(|c| c.id == item.category) else {
                let known: Vec<_> = categories.iter().map(|c| c.id.as_str()).collect();
                return Err(format!(
                    "{at}: field `category`: unknown category `{}` (known: {})",
                    item.category,
                    known.join(", ")
                ));
            };
            if item.patterns.is_empty() && item.examples.is_empty() {
                return Err(format!("{at}: needs at least one entry in `patterns` or `examples`"));
            }
            let mut patterns = vec![];
            for (i, p) in item.patterns.iter().enumerate() {
                patterns.push(
                    compile(p).map_err(|e| format!("{at}: field `patterns[{i}]` (`{p}`) does not compile: {e}"))?,
                );
            }
            let mut bs = vec![];
            for (i, p) in item.boosters.iter().enumerate() {
                bs.push(compile(p).map_err(|e| format!("{at}: field `boosters[{i}]` (`{p}`) does not compile: {e}"))?);
            }
            let ticket_type = item.ticket_type.unwrap_or(cat.ticket_type);
            compiled.push(CompiledIntent { spec: item, ticket_type, patterns, boosters: bs });
        }
        let mut global = vec![];
        for (i, Sourced { file, item }) in boosters.into_iter().enumerate() {
            let re = compile(&item.pattern).map_err(|e| {
                format!("{file}: booster[{i}] field `pattern` (`{}`) does not compile: {e}", item.pattern)
            })?;
            if item.raise == 0 || item.raise > 3 {
                return Err(format!("{file}: booster[{i}] field `raise` must be 1, 2 or 3"));
            }
            global.push(Booster { re, raise: item.raise });
        }
        Ok(Classifier { categories, intents: compiled, boosters: global })
    }

    pub fn categories(&self) -> &[CategorySpec] {
        &self.categories
    }

    pub fn category(&self, id: &str) -> Option<&CategorySpec> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Every intent id with its examples, for tests and training.
    pub fn examples(&self) -> impl Iterator<Item = (&IntentSpec, &str)> {
        self.intents.iter().flat_map(|i| i.spec.examples.iter().map(move |e| (&i.spec, e.as_str())))
    }

    /// Classifies `text`. Never panics; empty or symbol-only text is `other` with confidence 0.
    pub fn classify(&self, text: &str) -> Classification {
        let text = bounded(text);
        let mut best: Option<(usize, &CompiledIntent)> = None;
        let mut matched = vec![];
        let mut runner_up_other_category = false;
        for ci in &self.intents {
            let hits: Vec<&Regex> = ci.patterns.iter().filter(|r| r.is_match(text)).collect();
            if hits.is_empty() {
                continue;
            }
            matched.extend(hits.iter().map(|r| format!("{}: {}", ci.spec.id, r.as_str())));
            // Real IT requests beat chit-chat ("thanks, but the printer is still jammed").
            let score = hits.len() * 10 + usize::from(ci.spec.category != "none") * 100;
            match best {
                Some((s, b)) if s > score => {
                    if b.spec.category != ci.spec.category && ci.spec.category != "none" && s / 100 == score / 100 {
                        runner_up_other_category = true;
                    }
                }
                Some((s, b)) => {
                    if b.spec.category != ci.spec.category && b.spec.category != "none" && s / 100 == score / 100 {
                        runner_up_other_category = true;
                    }
                    if score > s {
                        best = Some((score, ci));
                    }
                }
                None => best = Some((score, ci)),
            }
        }
        let Some((score, ci)) = best else {
            let t = self.category("other").map(|c| c.ticket_type).unwrap_or(TicketType::Request);
            return Classification {
                category: "other".into(),
                intent: None,
                ticket_type: t,
                priority: Priority::P3,
                confidence: 0.0,
                runbook: None,
                matched,
            };
        };
        let hits = (score % 100) / 10;
        let mut confidence: f64 = if hits >= 2 { 0.95 } else { 0.85 };
        if runner_up_other_category {
            confidence = 0.5;
        }
        let mut priority = ci.spec.priority;
        if ci.spec.category != "none" {
            let mut steps = ci.boosters.iter().filter(|r| r.is_match(text)).count() as u8;
            steps += self.boosters.iter().filter(|b| b.re.is_match(text)).map(|b| b.raise).sum::<u8>();
            for _ in 0..steps.min(3) {
                priority = priority.raised();
            }
        }
        Classification {
            category: ci.spec.category.clone(),
            intent: Some(ci.spec.id.clone()),
            ticket_type: ci.ticket_type,
            priority,
            confidence,
            runbook: ci.spec.runbook.clone(),
            matched,
        }
    }
}

/// The prefix of `text` that we classify, cut on a character boundary.
pub fn bounded(text: &str) -> &str {
    if text.len() <= MAX_CLASSIFY_BYTES {
        return text;
    }
    let mut end = MAX_CLASSIFY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, cat: &str, pats: &[&str]) -> Sourced<IntentSpec> {
        Sourced {
            file: "intents/test.toml".into(),
            item: IntentSpec {
                id: id.into(),
                category: cat.into(),
                ticket_type: None,
                priority: Priority::P3,
                patterns: pats.iter().map(|s| s.to_string()).collect(),
                examples: vec![],
                runbook: None,
                boosters: vec![],
            },
        }
    }

    fn classifier() -> Classifier {
        Classifier::new(
            default_categories(),
            vec![
                spec("printer.jam", "printing", &[r"\bprint", r"\bjam"]),
                spec("smalltalk.thanks", "none", &[r"\bthanks?\b"]),
            ],
            vec![Sourced {
                file: "intents/boosters.toml".into(),
                item: BoosterSpec { pattern: "payroll".into(), raise: 1, reason: None },
            }],
        )
        .unwrap()
    }

    #[test]
    fn it_request_beats_chit_chat() {
        let c = classifier();
        let r = c.classify("thanks but the printer is jammed");
        assert_eq!(r.category, "printing");
        assert_eq!(r.confidence, 0.95);
        assert_eq!(c.classify("thanks!!").category, "none");
    }

    #[test]
    fn boosters_raise_priority() {
        let c = classifier();
        assert_eq!(c.classify("printer jammed").priority, Priority::P3);
        assert_eq!(c.classify("printer jammed and payroll is due").priority, Priority::P2);
    }

    #[test]
    fn unknown_and_degenerate_text_is_other_with_zero_confidence() {
        let c = classifier();
        for t in ["", "🙂🙂", "\u{0}\u{1}", "Привет мир 你好"] {
            let r = c.classify(t);
            assert_eq!(r.category, "other");
            assert_eq!(r.confidence, 0.0);
        }
        let huge = "a".repeat(100_000) + " printer jam";
        assert_eq!(c.classify(&huge).category, "other", "only the bounded prefix is read");
    }

    #[test]
    fn bad_pattern_names_file_intent_and_field() {
        let e = Classifier::new(default_categories(), vec![spec("x", "printing", &["(unclosed"])], vec![]).unwrap_err();
        assert!(e.starts_with("intents/test.toml: intent `x`: field `patterns[0]`"), "{e}");
        let e = Classifier::new(default_categories(), vec![spec("x", "nope", &["a"])], vec![]).unwrap_err();
        assert!(e.contains("field `category`: unknown category `nope`"), "{e}");
    }

    #[test]
    fn bounded_cuts_on_char_boundary() {
        let s = "é".repeat(MAX_CLASSIFY_BYTES);
        assert!(bounded(&s).len() <= MAX_CLASSIFY_BYTES);
    }
}

//! The intents' patterns, matched together: which of them match a message.
//!
//! One `RegexSet` over every pattern was the first way: its lazy DFA is the product of ~170 patterns with bounded
//! gaps (`.{0,40}`), so nearly every new message built states no earlier one had (about 300 µs of a first-seen chat
//! message's classification). Nearly every pattern needs one of a few words ("printer", "can't", " is leaving"), so
//! this reads the message once with an Aho-Corasick automaton over those words and runs only the patterns whose word
//! occurs, each as its own small regex (whose DFA settles after a few messages). A pattern that needs no particular
//! word runs on every message. The answer is the set's, pattern for pattern.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

/// The patterns, each compiled on its own, and the screen that says which may match.
#[derive(Debug, Clone)]
pub struct RuleSet {
    regexes: Vec<Regex>,
    /// The words the patterns need; match `k` is the literal `k` of `starts`.
    screen: Option<AhoCorasick>,
    /// For each literal of the screen, the pattern that needs it.
    starts: Vec<usize>,
    /// The patterns without a short list of first words: they run on every message.
    always: Vec<usize>,
}

/// Characters that case-fold onto ASCII letters (the Kelvin sign and the long s): the screen, which folds ASCII
/// only, would not see "ſcan" for "scan". A message with one runs every pattern.
const FOLDS_TO_ASCII: [char; 2] = ['\u{17F}', '\u{212A}'];

impl RuleSet {
    /// The patterns, each already compiled case-insensitively (as the screen folds case), in the order whose
    /// indices [`RuleSet::matches`] returns.
    pub fn new(patterns: Vec<Regex>) -> Result<RuleSet, String> {
        let mut literals: Vec<Vec<u8>> = vec![];
        let mut starts = vec![];
        let mut always = vec![];
        for (p, re) in patterns.iter().enumerate() {
            match screen_words(re.as_str()) {
                Some(words) => {
                    for w in words {
                        literals.push(w);
                        starts.push(p);
                    }
                }
                None => always.push(p),
            }
        }
        let screen = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&literals)
                    .map_err(|e| format!("intents: the patterns' words do not build a screen: {e}"))?,
            )
        };
        Ok(RuleSet { regexes: patterns, screen, starts, always })
    }

    /// How many patterns there are.
    pub fn len(&self) -> usize {
        self.regexes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }

    /// The indices of the patterns that match `text`, in ascending order.
    pub fn matches(&self, text: &str) -> Vec<usize> {
        let mut candidate = vec![false; self.regexes.len()];
        let all = text.contains(FOLDS_TO_ASCII);
        if all {
            candidate.iter_mut().for_each(|c| *c = true);
        } else {
            for &p in &self.always {
                candidate[p] = true;
            }
            if let Some(screen) = &self.screen {
                for m in screen.find_overlapping_iter(text) {
                    candidate[self.starts[m.pattern().as_usize()]] = true;
                }
            }
        }
        candidate.iter().enumerate().filter(|&(p, &c)| c && self.regexes[p].is_match(text)).map(|(p, _)| p).collect()
    }
}

/// Literals one of which every match of `pattern` contains (lower-cased), or `None` when there is no such short list
/// (a pattern that may match anything from its first letter to its last).
fn screen_words(pattern: &str) -> Option<Vec<Vec<u8>>> {
    // Read case-sensitively: the screen folds ASCII case itself, so lower-cased literals stand for every casing (a
    // case-sensitive part, `(?-i:…)`, is screened more loosely than it matches, which is safe).
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    let (words, _) = required(&hir)?;
    Some(words)
}

/// A list of literals and its [`score`].
type Screen = (Vec<Vec<u8>>, Score);
/// Longer shortest literal, then fewer literals.
type Score = (usize, std::cmp::Reverse<usize>);

/// How good a list of literals is as a screen: longer shortest literal first, then fewer literals.
fn score(words: &[Vec<u8>]) -> Score {
    (words.iter().map(Vec::len).min().unwrap_or(0), std::cmp::Reverse(words.len()))
}

/// Literals one of which every match of `hir` contains, with their [`score`]. A concatenation is screened by any run
/// of its parts (each match contains a match of every part), so `^\W*(thanks|cheers)…` is screened by "thanks" and
/// "cheers" and `Jane Doe is leaving` by " is leaving".
fn required(hir: &Hir) -> Option<Screen> {
    let mut best = prefixes(hir);
    match hir.kind() {
        HirKind::Capture(c) => {
            best = better(best, required(&c.sub));
        }
        HirKind::Alternation(subs) => {
            let mut all = vec![];
            for sub in subs {
                all.extend(required(sub)?.0);
            }
            all.sort();
            all.dedup();
            let s = score(&all);
            best = better(best, Some((all, s)));
        }
        HirKind::Concat(subs) => {
            for k in 0..subs.len() {
                best = better(best, prefixes(&Hir::concat(subs[k..].to_vec())));
                best = better(best, required(&subs[k]));
            }
        }
        _ => {}
    }
    best
}

fn better(a: Option<Screen>, b: Option<Screen>) -> Option<Screen> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The literals every match of `hir` begins with, when they are a short list of non-empty ones whose letters are
/// ASCII (the screen folds ASCII case only: "é" would not find "É").
fn prefixes(hir: &Hir) -> Option<Screen> {
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let literals = seq.literals()?;
    if literals.is_empty() {
        return None;
    }
    let mut words = vec![];
    for l in literals {
        // The extractor cuts long literals at a byte, maybe inside a character: the whole characters before the cut
        // still begin every match ("straße" cut after "stra\xC3" would not find "STRAẞE" by its bytes).
        let b = l.as_bytes();
        let whole = match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).ok()?,
        };
        if whole.is_empty() || whole.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
            return None;
        }
        words.push(whole.as_bytes().to_ascii_lowercase());
    }
    words.sort();
    words.dedup();
    let s = score(&words);
    Some((words, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> RuleSet {
        RuleSet::new(
            patterns.iter().map(|p| regex::RegexBuilder::new(p).case_insensitive(true).build().unwrap()).collect(),
        )
        .unwrap()
    }

    /// Every shipped pattern over every shipped example and chat-set message: the same matches as one `RegexSet`.
    #[test]
    fn shipped_patterns_match_as_a_regex_set_does() {
        let c = crate::catalog::load_classifier(None).unwrap();
        let r = c.rule_set();
        let patterns: Vec<String> = (0..r.len()).map(|p| c.pattern_text(p)).collect();
        let reference = regex::RegexSetBuilder::new(&patterns)
            .case_insensitive(true)
            .size_limit(64 << 20)
            .dfa_size_limit(256 << 20)
            .build()
            .unwrap();
        let mut texts: Vec<String> = c.examples().map(|(_, t)| t.to_string()).collect();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/chat");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let mut rd = csv::Reader::from_path(&path).unwrap();
                texts.extend(rd.records().map(|rec| rec.unwrap().get(0).unwrap_or("").to_string()));
            }
        }
        assert!(texts.len() > 10_000, "{}", texts.len());
        let mut screened = 0;
        for t in &texts {
            let t = crate::core::triage::bounded(t);
            let want: Vec<usize> = reference.matches(t).iter().collect();
            assert_eq!(r.matches(t), want, "{t}");
            screened += usize::from(!want.is_empty());
        }
        // The screen is there to skip work: most patterns are screened by a word, not run on every message.
        assert!(r.always.len() * 10 < r.len(), "{} of {} patterns run always", r.always.len(), r.len());
        assert!(screened > 1000, "{screened}");
    }

    #[test]
    fn screen_words_of_alternations_and_optional_parts() {
        let words =
            |p: &str| screen_words(p).map(|w| w.into_iter().map(|w| String::from_utf8(w).unwrap()).collect::<Vec<_>>());
        assert_eq!(words(r"(?-u:\b)(printer|copier)(?-u:\b).{0,40}jam"), Some(vec!["copier".into(), "printer".into()]));
        assert_eq!(words(r"(print )?queue"), Some(vec!["queue".into()]));
        // What may come first is skipped: any run of a concatenation screens it.
        assert_eq!(words(r".{0,10}printer"), Some(vec!["printer".into()]));
        assert_eq!(words(r"\w+ printer"), Some(vec![" printer".into()]));
        assert_eq!(words(r"^\W*(thanks|cheers)\W*$"), Some(vec!["cheers".into(), "thanks".into()]));
        assert_eq!(
            words(r"(?-i:\p{Lu}\p{Ll}+) (is|will be) leaving"),
            Some(vec![" is leaving".into(), " will be leaving".into()])
        );
        assert_eq!(words(r"Printer"), Some(vec!["printer".into()]));
        // Nothing required, or letters the screen cannot fold: run always.
        assert_eq!(words(r"(printer)?"), None);
        assert_eq!(words(r"\w+"), None);
        assert_eq!(words(r"café"), None);
    }

    #[test]
    fn matches_as_a_regex_set_does() {
        let (long_y, long_sharp_s) = ("a".repeat(99) + "ÿ", "x".repeat(95) + "straße");
        let (long_y_upper, long_sharp_s_upper) = ("a".repeat(99) + "Ÿ", "x".repeat(95) + "STRAẞE");
        let patterns = [
            r"(?-u:\b)(printer|copier)(?-u:\b).{0,40}(?-u:\b)jam",
            r"(?-u:\b)(can.?t|cannot) print",
            r".{0,5}vpn",
            r"(?-u:\b)queue(?-u:\b)",
            r"(?-u:\b)scan",
            r"(?-i:\p{Lu}\p{Ll}+ \p{Lu}\p{Ll}+) (is|will be) leaving",
            r"^\W*(thanks|cheers)\W*$",
            // Literals longer than the extractor keeps are cut at a byte, maybe inside a character (review).
            long_y.as_str(),
            long_sharp_s.as_str(),
        ];
        let rules = set(&patterns);
        let reference = regex::RegexSetBuilder::new(patterns).case_insensitive(true).build().unwrap();
        for text in [
            "the PRINTER on floor 2 is jammed again",
            "Can't print anything",
            "cant  print",
            "VPN down",
            "print queue stuck",
            "nothing here",
            "",
            "ſcan to email", // the long s folds to s
            "copier… jam 🙃",
            "Jane Doe is leaving",
            "jane doe is leaving",
            "thanks!",
            "  CHEERS ",
            long_y_upper.as_str(),
            long_sharp_s_upper.as_str(),
        ] {
            let want: Vec<usize> = reference.matches(text).iter().collect();
            assert_eq!(rules.matches(text), want, "{text}");
        }
    }
}

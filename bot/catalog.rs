//! Loads and validates the data files that define behaviour: `intents/*.toml` (shipped copies are embedded in the
//! binary; an office may point `catalog.intents_dir` at its own). Errors name the file and the field.

use crate::core::triage::{BoosterSpec, CategorySpec, Classifier, IntentSpec, Sourced, default_categories};
use serde::Deserialize;
use std::path::Path;

/// The shipped intent files, embedded so the binary works from any directory. One explicit list; a test checks
/// it matches the `intents/` directory.
pub const SHIPPED_INTENTS: &[(&str, &str)] = &[
    ("intents/application.toml", include_str!("../intents/application.toml")),
    ("intents/boosters.toml", include_str!("../intents/boosters.toml")),
    ("intents/categories.toml", include_str!("../intents/categories.toml")),
    ("intents/endpoint.toml", include_str!("../intents/endpoint.toml")),
    ("intents/identity.toml", include_str!("../intents/identity.toml")),
    ("intents/network.toml", include_str!("../intents/network.toml")),
    ("intents/printing.toml", include_str!("../intents/printing.toml")),
    ("intents/saas.toml", include_str!("../intents/saas.toml")),
    ("intents/security.toml", include_str!("../intents/security.toml")),
    ("intents/smalltalk.toml", include_str!("../intents/smalltalk.toml")),
];

/// One intents file: a family of intents and/or global priority boosters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentFile {
    #[serde(default)]
    intent: Vec<IntentSpec>,
    #[serde(default)]
    booster: Vec<BoosterSpec>,
    #[serde(default)]
    category: Vec<CategorySpec>,
}

/// Parsed intent files, ready to compile.
#[derive(Debug, Default)]
pub struct IntentSet {
    pub intents: Vec<Sourced<IntentSpec>>,
    pub boosters: Vec<Sourced<BoosterSpec>>,
    /// Categories declared with `[[category]]` (the built-in defaults when none are).
    pub categories: Vec<Sourced<CategorySpec>>,
}

impl IntentSet {
    fn add(&mut self, file: &str, text: &str) -> Result<(), String> {
        let parsed: IntentFile = toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))?;
        self.intents.extend(parsed.intent.into_iter().map(|item| Sourced { file: file.to_string(), item }));
        self.boosters.extend(parsed.booster.into_iter().map(|item| Sourced { file: file.to_string(), item }));
        self.categories.extend(parsed.category.into_iter().map(|item| Sourced { file: file.to_string(), item }));
        Ok(())
    }

    /// The intents compiled into the binary.
    pub fn shipped() -> Result<IntentSet, String> {
        let mut s = IntentSet::default();
        for (file, text) in SHIPPED_INTENTS {
            s.add(file, text)?;
        }
        Ok(s)
    }

    /// Every `*.toml` in `dir`, in name order.
    pub fn from_dir(dir: &Path) -> Result<IntentSet, String> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read intents directory {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("intents directory {} has no .toml files", dir.display()));
        }
        let mut s = IntentSet::default();
        for p in files {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            s.add(&p.display().to_string(), &text)?;
        }
        Ok(s)
    }

    /// The categories: the declared ones (validated), or the built-in defaults.
    pub fn categories(&self) -> Result<Vec<CategorySpec>, String> {
        if self.categories.is_empty() {
            return Ok(default_categories());
        }
        let mut out: Vec<CategorySpec> = vec![];
        for Sourced { file, item } in &self.categories {
            let ok = !item.id.is_empty()
                && item.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(format!(
                    "{file}: category `{}`: field `id` must be lowercase letters, digits or _",
                    item.id
                ));
            }
            if out.iter().any(|c| c.id == item.id) {
                return Err(format!("{file}: category `{}`: duplicate `id`", item.id));
            }
            if item.label.trim().is_empty() {
                return Err(format!("{file}: category `{}`: field `label` is empty", item.id));
            }
            out.push(item.clone());
        }
        for needed in ["none", "other"] {
            if !out.iter().any(|c| c.id == needed) {
                let file = &self.categories[0].file;
                return Err(format!(
                    "{file}: the categories must include `{needed}` (`none`: not an IT request; `other`: something else)"
                ));
            }
        }
        Ok(out)
    }

    pub fn compile(self) -> Result<Classifier, String> {
        let categories = self.categories()?;
        Classifier::new(categories, self.intents, self.boosters)
    }
}

/// Loads the classifier from `dir` or the shipped intents.
pub fn load_classifier(dir: Option<&Path>) -> Result<Classifier, String> {
    match dir {
        Some(d) => IntentSet::from_dir(d)?.compile(),
        None => IntentSet::shipped()?.compile(),
    }
}

/// `deskbot intents explain`: the evidence behind one classification, as text.
pub fn explain(c: &Classifier, text: &str, features: usize) -> String {
    use std::fmt::Write;
    let d = c.classify_detailed(text);
    let r = &d.classification;
    let mut out = String::new();
    let _ = writeln!(out, "message: {:?}", crate::core::triage::bounded(text));
    // The wording signals triage read (a thank-you, an aside among colleagues…): the ones that set `none` whatever
    // the models say are listed first.
    let s = crate::core::conversation::signals(crate::core::triage::bounded(text));
    let read: Vec<&str> = [
        (s.gratitude, "gratitude"),
        (s.recovered, "recovered"),
        (s.announcement, "announcement"),
        (s.praise, "praise"),
        (s.colleagues, "among colleagues"),
        (s.facilities, "facilities"),
        (s.trouble, "trouble"),
        (s.asks, "asks"),
        (s.widespread, "widespread"),
        (s.can_wait, "can wait"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    let _ = writeln!(out, "wording: {}", if read.is_empty() { "-".to_string() } else { read.join(", ") });
    let _ = writeln!(out, "\nrules matched:");
    if r.matched.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    let models = c.models();
    let distrusted: Vec<&str> =
        c.intents().zip(&models.rule_trusted).filter(|(_, trusted)| !**trusted).map(|(i, _)| i.id.as_str()).collect();
    for m in &r.matched {
        let id = m.split(": ").next().unwrap_or_default();
        let note =
            if distrusted.contains(&id) { "  (not counted: this office's history files it elsewhere)" } else { "" };
        let _ = writeln!(out, "  {m}{note}");
    }
    if models.history.is_some() {
        let _ = writeln!(
            out,
            "
office history: {} examples, with a model of their own",
            models.trained_on - models.shipped_examples
        );
    }
    let cov = &d.coverage;
    let _ = writeln!(
        out,
        "\nmodel: {} of {} words and {} of {} character n-grams known",
        cov.known_words, cov.words, cov.known_chars, cov.chars
    );
    let _ = writeln!(out, "\n{:12}  {:>6}  {:>5}  {:>8}", "category", "model", "rule", "combined");
    for (i, cat) in c.categories().iter().enumerate() {
        let model = d.model.iter().find(|m| m.0 == cat.id).map(|m| format!("{:.3}", m.1)).unwrap_or("-".into());
        let combined = d.combined.iter().find(|m| m.0 == cat.id).map(|m| m.1).unwrap_or(0.0);
        let rule = d.rule_strength.get(i).copied().unwrap_or(0);
        let _ = writeln!(out, "{:12}  {model:>6}  {rule:>5}  {combined:>8.3}", cat.id);
    }
    let feats = models.category.explain(text, &r.category, features);
    if !feats.is_empty() {
        let _ = writeln!(out, "\nfeatures pushing towards {} (contribution to the margin):", r.category);
        for (f, w) in feats {
            let _ = writeln!(out, "  {w:+.4}  {f}");
        }
    }
    let _ = writeln!(
        out,
        "\ndecision: {} (intent {}, {} {}, runbook {}) confidence {:.2}",
        r.category,
        r.intent.as_deref().unwrap_or("-"),
        r.priority,
        r.ticket_type,
        r.runbook.as_deref().unwrap_or("-"),
        r.confidence
    );
    let alts: Vec<String> = r.alternatives.iter().take(3).map(|(c, p)| format!("{c} {p:.2}")).collect();
    let _ = writeln!(out, "alternatives: {}", if alts.is_empty() { "-".to_string() } else { alts.join(", ") });
    out
}

/// `deskbot intents check`: counts per category and intent, and how the shipped examples classify.
pub fn check_report(c: &Classifier, load_ms: f64) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    let mut per_cat: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut out = String::new();
    let _ = writeln!(out, "{:34}  {:12}  {:>8}  {:>8}", "intent", "category", "patterns", "examples");
    for i in c.intents() {
        let _ = writeln!(out, "{:34}  {:12}  {:>8}  {:>8}", i.id, i.category, i.patterns.len(), i.examples.len());
        let e = per_cat.entry(i.category.as_str()).or_default();
        e.0 += 1;
        e.1 += i.patterns.len();
        e.2 += i.examples.len();
    }
    let _ = writeln!(out);
    for (cat, (n, p, e)) in &per_cat {
        let _ = writeln!(out, "{cat:12}  {n:>3} intents  {p:>4} patterns  {e:>5} examples");
    }
    let mut wrong = vec![];
    let mut n = 0;
    for (spec, ex) in c.examples() {
        n += 1;
        let got = c.classify(ex);
        if got.category != spec.category {
            wrong.push(format!("  {} `{ex}` -> {} ({:.2})", spec.id, got.category, got.confidence));
        }
    }
    let _ = writeln!(
        out,
        "\n{} intents, {n} examples; loaded and trained in {load_ms:.0} ms; {} examples classify elsewhere",
        c.intents().count(),
        wrong.len()
    );
    for w in wrong {
        let _ = writeln!(out, "{w}");
    }
    out
}

/// A message from an evaluation set: the file it came from, its row (1 = first after the header) and its text.
pub type DevRow = (String, usize, String);

/// Reads every `*.csv` in `dir` (each with a `text` column); an absent directory is an empty set.
pub fn read_dev_set(dir: &Path) -> Result<Vec<DevRow>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(vec![]) };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let mut rows = vec![];
    for f in files {
        let name = f.display().to_string();
        let mut r = csv::Reader::from_path(&f).map_err(|e| format!("{name}: {e}"))?;
        let col = r
            .headers()
            .map_err(|e| format!("{name}: {e}"))?
            .iter()
            .position(|h| h == "text")
            .ok_or_else(|| format!("{name}: no `text` column"))?;
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| format!("{name}: row {}: {e}", i + 1))?;
            rows.push((name.clone(), i + 1, rec.get(col).unwrap_or("").to_string()));
        }
    }
    Ok(rows)
}

/// Lowercase words only, so that case, punctuation and spacing do not hide a copy.
fn normalised(text: &str) -> String {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// One line per intent example that also appears (ignoring case, punctuation and spacing) in the evaluation set:
/// an example there makes the measured figures a test on training data.
pub fn dev_set_overlap(c: &Classifier, dev: &[DevRow]) -> Vec<String> {
    let index: std::collections::HashMap<String, &DevRow> =
        dev.iter().map(|r| (normalised(&r.2), r)).filter(|(k, _)| !k.is_empty()).collect();
    c.examples()
        .filter_map(|(spec, ex)| {
            index.get(&normalised(ex)).map(|(file, row, _)| {
                format!("intent `{}`: example `{ex}` is also in the evaluation set ({file}, row {row})", spec.id)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_matches_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".toml"))
            .map(|n| format!("intents/{n}"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = SHIPPED_INTENTS.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(listed, on_disk, "SHIPPED_INTENTS must list every file in intents/");
    }

    #[test]
    fn shipped_intents_compile_and_examples_classify_to_their_category() {
        let c = load_classifier(None).unwrap();
        let mut wrong = vec![];
        let mut n = 0;
        for (spec, ex) in c.examples() {
            n += 1;
            let got = c.classify(ex);
            if got.category != spec.category {
                wrong.push(format!("{} `{ex}` -> {}", spec.id, got.category));
            }
        }
        assert!(n >= 3000, "only {n} examples shipped");
        // Thousands of examples written the way people write overlap at the edges; a linear model fits nearly
        // all of them (95.3 % today, with five writers' deliberate boundary cases: "access denied on the HR
        // SharePoint site" is identity although its words are SaaS's, and such examples still teach the model on
        // unseen chat). More than 5 % elsewhere means examples in the wrong intent or a boundary gone confused.
        assert!(wrong.len() * 100 <= n * 5, "{} of {n} examples misplaced:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn main_intents_have_many_examples_and_every_category_is_covered() {
        let c = load_classifier(None).unwrap();
        for i in c.intents() {
            let min = if i.category == "none" { 10 } else { 20 };
            assert!(i.examples.len() >= min, "{} has only {} examples", i.id, i.examples.len());
        }
        for cat in c.categories() {
            if cat.id != "other" {
                assert!(c.intents().any(|i| i.category == cat.id), "no intent for {}", cat.id);
            }
        }
    }

    #[test]
    fn a_lost_or_stolen_phone_is_p1_whatever_the_message_is_about() {
        let c = load_classifier(None).unwrap();
        let p = |text: &str| c.priority_of(c.classify(text).intent.as_deref(), text).to_string();
        // #33 probe: an MFA message about a lost phone was P3; whoever has the phone may approve sign-ins.
        assert_eq!(p("I lost my phone and can't get MFA codes"), "P1");
        assert_eq!(p("my phone was stolen last night, the authenticator is on it"), "P1");
        // Leaving it at home is no loss; a new phone is a plain MFA move.
        assert_eq!(p("forgot my phone at home today, can I get an mfa code by text?"), "P3");
        assert_eq!(p("new phone, how do I move the authenticator"), "P3");
    }

    #[test]
    fn explain_and_check_render() {
        let c = load_classifier(None).unwrap();
        let e = explain(&c, "the printer on floor 2 is jammed again", 5);
        assert!(e.contains("printing.jam:") && e.contains("decision: printing"), "{e}");
        let r = check_report(&c, 1.0);
        assert!(r.contains("examples classify elsewhere") && r.contains("none.facilities"), "{r}");
    }

    #[test]
    fn categories_are_data_and_validated() {
        let shipped = IntentSet::shipped().unwrap();
        assert_eq!(shipped.categories().unwrap(), default_categories(), "categories.toml ships the defaults");
        let mut s = IntentSet::default();
        s.add(
            "intents/c.toml",
            "[[category]]\nid = \"facilities\"\nlabel = \"Building and facilities\"\ntype = \"request\"\n",
        )
        .unwrap();
        let e = s.categories().unwrap_err();
        assert!(e.contains("must include `none`"), "{e}");
        s.add("intents/c.toml", "[[category]]\nid = \"none\"\nlabel = \"Not IT\"\ntype = \"request\"\n[[category]]\nid = \"other\"\nlabel = \"Else\"\ntype = \"request\"\n").unwrap();
        assert_eq!(s.categories().unwrap().len(), 3);
        s.add("intents/d.toml", "[[category]]\nid = \"Bad Id\"\nlabel = \"x\"\ntype = \"request\"\n").unwrap();
        assert!(s.categories().unwrap_err().starts_with("intents/d.toml: category `Bad Id`"));
    }

    #[test]
    fn a_bad_file_is_named() {
        let mut s = IntentSet::default();
        let e = s.add("intents/x.toml", "[[intent]]\nid = 3\n").unwrap_err();
        assert!(e.starts_with("intents/x.toml:"), "{e}");
    }

    #[test]
    fn shipped_examples_stay_out_of_the_chat_dev_set() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chat");
        let dev = read_dev_set(&dir).unwrap();
        assert!(dev.len() >= 1200, "the chat dev set is missing or short: {} rows", dev.len());
        let c = load_classifier(None).unwrap();
        let overlap = dev_set_overlap(&c, &dev);
        assert!(overlap.is_empty(), "{}", overlap.join("\n"));
    }

    #[test]
    fn a_copied_example_is_named_with_its_file_and_row() {
        let c = load_classifier(None).unwrap();
        let (spec, ex) = c.examples().next().unwrap();
        let dev = vec![
            ("chat.csv".to_string(), 1, "something unrelated".to_string()),
            ("chat.csv".to_string(), 2, format!("  {}!! ", ex.to_uppercase())),
        ];
        let w = dev_set_overlap(&c, &dev);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(&spec.id) && w[0].contains("chat.csv, row 2"), "{w:?}");
        assert!(read_dev_set(Path::new("/nonexistent/dir")).unwrap().is_empty());
    }
}

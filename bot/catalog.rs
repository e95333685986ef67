//! Loads and validates the data files that define behaviour: `intents/*.toml` (shipped copies are embedded in the
//! binary; an office may point `catalog.intents_dir` at its own). Errors name the file and the field.

use crate::core::triage::{BoosterSpec, Classifier, IntentSpec, Sourced, default_categories};
use serde::Deserialize;
use std::path::Path;

/// The shipped intent files, embedded so the binary works from any directory. One explicit list; a test checks
/// it matches the `intents/` directory.
pub const SHIPPED_INTENTS: &[(&str, &str)] = &[
    ("intents/application.toml", include_str!("../intents/application.toml")),
    ("intents/boosters.toml", include_str!("../intents/boosters.toml")),
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
}

/// Parsed intent files, ready to compile.
#[derive(Debug, Default)]
pub struct IntentSet {
    pub intents: Vec<Sourced<IntentSpec>>,
    pub boosters: Vec<Sourced<BoosterSpec>>,
}

impl IntentSet {
    fn add(&mut self, file: &str, text: &str) -> Result<(), String> {
        let parsed: IntentFile = toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))?;
        self.intents.extend(parsed.intent.into_iter().map(|item| Sourced { file: file.to_string(), item }));
        self.boosters.extend(parsed.booster.into_iter().map(|item| Sourced { file: file.to_string(), item }));
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

    pub fn compile(self) -> Result<Classifier, String> {
        Classifier::new(default_categories(), self.intents, self.boosters)
    }
}

/// Loads the classifier from `dir` or the shipped intents.
pub fn load_classifier(dir: Option<&Path>) -> Result<Classifier, String> {
    match dir {
        Some(d) => IntentSet::from_dir(d)?.compile(),
        None => IntentSet::shipped()?.compile(),
    }
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
        assert!(n >= 50, "only {n} examples shipped");
        // The rule layer alone must already place most shipped examples.
        assert!(wrong.len() * 10 <= n, "{} of {n} examples misplaced:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn a_bad_file_is_named() {
        let mut s = IntentSet::default();
        let e = s.add("intents/x.toml", "[[intent]]\nid = 3\n").unwrap_err();
        assert!(e.starts_with("intents/x.toml:"), "{e}");
    }
}

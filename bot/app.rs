//! Wires configuration, catalog, store and clock into a [`Desk`]. Used by every CLI command that runs the bot.

use crate::catalog;
use crate::config::Config;
use crate::core::clock::Clock;
use crate::core::desk::{Desk, DeskSettings};
use crate::core::runbook::{self, RunbookSet};
use crate::core::triage::Classifier;
use crate::store::Db;
use std::path::Path;
use std::sync::Arc;

/// Builds the desk from a validated configuration. Errors name the file and field at fault.
pub fn desk(config: &Config, db: Db, clock: Arc<dyn Clock>) -> anyhow::Result<Desk<Db>> {
    let classifier = classifier(config)?;
    let policies = config.policies().map_err(|e| anyhow::anyhow!(e))?;
    let settings = DeskSettings {
        helpdesk_channel: config.channels.helpdesk.clone(),
        queue_channel: config.channels.queue.clone(),
        escalation_channel: config.channels.escalation.clone(),
        reopen_new_cycle_after: config.reopen_new_cycle_after().map_err(|e| anyhow::anyhow!(e))?,
        timezone: config.tz(),
        triage: config.triage.policy(),
        max_new_tickets_per_hour: config.triage.max_new_tickets_per_hour,
        intake_budget_per_minute: config.triage.intake_budget_per_minute,
        roles: config.role_map(),
        runbook_vars: config.runbooks.vars.clone(),
        report_schedule: config.report_schedule().map_err(|e| anyhow::anyhow!(e))?,
        report_timezone: config.report_tz().map_err(|e| anyhow::anyhow!(e))?,
        vendors: Arc::new(config.vendors().map_err(|e| anyhow::anyhow!(e))?),
        smtp: config.smtp.clone(),
        alerts: config.alert_settings().map_err(|e| anyhow::anyhow!(e))?,
        conversation: config.conversation_settings().map_err(|e| anyhow::anyhow!(e))?,
    };
    let runbooks = load_runbooks(config, &classifier)?;
    check_alert_rules(&settings.alerts, &classifier, &runbooks)?;
    let history = history(config, &classifier)?;
    Ok(Desk::new(db, clock, classifier, policies, Arc::new(runbooks), settings).with_history(history))
}

/// Alert rules may only name categories and runbooks that exist (`none`, for chat that is not an IT request, is
/// no category for an alert).
pub fn check_alert_rules(
    a: &crate::core::desk::AlertSettings,
    classifier: &Classifier,
    runbooks: &crate::core::runbook::RunbookSet,
) -> anyhow::Result<()> {
    let known = |c: &str| c != "none" && classifier.category(c).is_some();
    if !known(&a.default_category) {
        anyhow::bail!("configuration: key `alerts.default_category`: unknown category `{}`", a.default_category);
    }
    for (i, r) in a.rules.iter().enumerate() {
        if let Some(c) = r.category.as_deref().filter(|c| !known(c)) {
            anyhow::bail!("configuration: key `alerts.rule[{i}].category`: unknown category `{c}`");
        }
        if let Some(id) = r.runbook.as_deref().filter(|id| runbooks.get(id).is_none()) {
            anyhow::bail!("configuration: key `alerts.rule[{i}].runbook`: no runbook `{id}`");
        }
    }
    Ok(())
}

/// The triage classifier for `config`. The shipped one is trained once per process and shared (it is never
/// changed in place: retraining builds a new one), so many desks in one process (tests, replay) start fast.
pub fn classifier(config: &Config) -> anyhow::Result<Arc<Classifier>> {
    static SHIPPED: std::sync::OnceLock<Arc<Classifier>> = std::sync::OnceLock::new();
    match config.catalog.intents_dir.as_deref() {
        Some(dir) => Ok(Arc::new(catalog::load_classifier(Some(Path::new(dir))).map_err(|e| anyhow::anyhow!(e))?)),
        None => {
            if let Some(c) = SHIPPED.get() {
                return Ok(c.clone());
            }
            let c = Arc::new(catalog::load_classifier(None).map_err(|e| anyhow::anyhow!(e))?);
            Ok(SHIPPED.get_or_init(|| c).clone())
        }
    }
}

/// The office's ticket history (`catalog.train_csv`) as (text, category) training examples.
pub fn history(config: &Config, classifier: &Classifier) -> anyhow::Result<Vec<(String, String)>> {
    let c = &config.catalog;
    let Some(path) = &c.train_csv else { return Ok(vec![]) };
    let mut map = std::collections::HashMap::new();
    for m in &c.train_map {
        let (from, to) =
            m.split_once('=').ok_or_else(|| anyhow::anyhow!("key `catalog.train_map`: `{m}` is not FROM=TO"))?;
        map.insert(from.trim().to_string(), to.trim().to_string());
    }
    let mut rdr =
        csv::Reader::from_path(path).map_err(|e| anyhow::anyhow!("catalog.train_csv: cannot read {path}: {e}"))?;
    let header = rdr.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("catalog.train_csv {path}: no column `{name}`"))
    };
    let (ti, li) = (col(&c.train_text_column)?, col(&c.train_label_column)?);
    let mut out = vec![];
    for row in rdr.records() {
        let row = row.map_err(|e| anyhow::anyhow!("catalog.train_csv {path}: {e}"))?;
        let (text, label) = (row.get(ti).unwrap_or("").trim(), row.get(li).unwrap_or("").trim());
        let label = map.get(label).map(String::as_str).unwrap_or(label);
        if !text.is_empty() && classifier.category(label).is_some() && label != "none" {
            out.push((text.to_string(), label.to_string()));
        }
    }
    tracing::info!(examples = out.len(), file = %path, "triage trains on the office's history");
    Ok(out)
}

/// Loads and validates the runbooks (shipped, or `runbooks.dir`) against the loaded intents and the configured
/// placeholders, and checks that every runbook an intent names exists. Errors name the file and step or field.
pub fn load_runbooks(config: &Config, classifier: &Classifier) -> anyhow::Result<RunbookSet> {
    let mut intents: Vec<(&str, &str, Option<&str>)> = vec![];
    for (spec, _) in classifier.examples() {
        if !intents.iter().any(|(id, _, _)| *id == spec.id) {
            intents.push((&spec.id, &spec.category, spec.runbook.as_deref()));
        }
    }
    let ids: Vec<&str> = intents.iter().map(|(id, _, _)| *id).collect();
    let mut placeholders: Vec<&str> = runbook::STANDARD_PLACEHOLDERS.to_vec();
    placeholders.extend(config.runbooks.vars.keys().map(String::as_str));
    // The shipped runbooks, plus an office's own directory; a file there with a shipped name replaces it.
    let mut files: Vec<(String, String)> =
        runbook::SHIPPED_RUNBOOKS.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
    if let Some(dir) = &config.runbooks.dir {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot read runbooks directory {dir}: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            files.retain(|(f, _)| !f.ends_with(&format!("/{name}")));
            files.push((p.display().to_string(), text));
        }
    }
    let set = runbook::validate(&files, &ids, &placeholders).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (id, _, rb) in &intents {
        if let Some(rb) = rb
            && set.get(rb).is_none()
        {
            anyhow::bail!("intent `{id}`: field `runbook`: unknown runbook `{rb}`");
        }
    }
    Ok(set)
}

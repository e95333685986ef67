//! Monitoring alerts: parsing what monitoring sends (Prometheus Alertmanager's webhook, version 4, and a small
//! generic JSON for RMM tools and scripts), and mapping alert labels to a ticket's category, priority and runbook.
//!
//! An alert *group* becomes one ticket while it fires: Alertmanager's `groupKey`, or the generic alert's `key`.
//! What the desk does with a group is in `desk/alerts.rs`; this module does no I/O.
//!
//! Generic alert (one object, an array, or `{"alerts": [...]}`):
//!
//! ```json
//! {"key": "backup-nas01", "status": "firing", "title": "Backup job failed on NAS01",
//!  "source": "rmm", "severity": "critical", "labels": {"service": "backup", "site": "hq"},
//!  "description": "Job 'nightly' exited with code 3", "starts_at": "2026-03-02T10:02:00Z",
//!  "link": "https://rmm.example/alerts/991", "runbook_url": "https://wiki.example/backup"}
//! ```
//!
//! Required: `key` (the group: repeats with the same key update one ticket) and `title`; `status` is `firing`
//! (default) or `resolved`; `source` defaults to `generic`.

use super::ticket::{Priority, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// User ids of monitoring sources start with this (`monitor:alertmanager`); they are an alert ticket's requester.
pub const MONITOR_PREFIX: &str = "monitor:";

/// True for the pseudo-user standing for a monitoring source.
pub fn is_monitor(u: &super::ids::UserRef) -> bool {
    u.id.starts_with(MONITOR_PREFIX)
}

/// Longest label or annotation value kept (longer ones are cut).
const MAX_VALUE: usize = 1024;
/// Most alerts accepted in one request.
pub const MAX_ALERTS: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert as monitoring reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identity of the alert within its group (Alertmanager's fingerprint; the key for generic alerts).
    pub fingerprint: String,
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// Where to look: the alert's generator URL or the generic `link`.
    pub link: Option<String>,
}

impl Alert {
    /// The line people read: the `summary` annotation, else `title`/`description`, else the alert name.
    pub fn summary(&self) -> String {
        ["summary", "title", "description", "message"]
            .iter()
            .find_map(|k| self.annotations.get(*k).filter(|v| !v.trim().is_empty()).cloned())
            .or_else(|| self.labels.get("alertname").cloned())
            .unwrap_or_else(|| "alert".to_string())
    }
    pub fn name(&self) -> String {
        self.labels.get("alertname").cloned().unwrap_or_else(|| self.summary())
    }
}

/// Alerts that belong together: one notification of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    /// Who sent it: `alertmanager`, or the generic `source`.
    pub source: String,
    /// The group's identity at its source.
    pub key: String,
    /// Labels every alert of the group shares (used for mapping).
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub alerts: Vec<Alert>,
    /// Alerts of the group the sender left out of this notification (Alertmanager's `truncatedAlerts`, when a
    /// receiver's `max_alerts` cuts the list): counted, never known by name, and possibly still firing.
    pub truncated: u64,
    /// The status of the whole group as its source states it (Alertmanager's top-level `status`: `resolved` only
    /// when every alert of the group, sent or left out, has resolved).
    pub status: Option<AlertStatus>,
    /// Which Alertmanager sent it (its `externalURL`): storms are told apart per Alertmanager, and a silence asked
    /// for from chat is created there.
    pub external_url: Option<String>,
    /// The labels Alertmanager grouped by (its `groupLabels`, as sent): a silence of the group matches exactly these.
    /// Empty for generic alerts.
    pub group_labels: BTreeMap<String, String>,
}

impl AlertGroup {
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.status == AlertStatus::Firing)
    }
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.status == AlertStatus::Resolved)
    }
    /// The group's label set for mapping: common labels, else the first alert's.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        if self.common_labels.is_empty() {
            self.alerts.first().map(|a| &a.labels).unwrap_or(&self.common_labels)
        } else {
            &self.common_labels
        }
    }
    /// An annotation shared by the group, else the first firing (or any) alert's.
    pub fn annotation(&self, key: &str) -> Option<String> {
        self.common_annotations
            .get(key)
            .or_else(|| self.firing().chain(self.alerts.iter()).find_map(|a| a.annotations.get(key)))
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }
    pub fn summary(&self) -> String {
        self.annotation("summary")
            .or_else(|| self.firing().next().or(self.alerts.first()).map(Alert::summary))
            .unwrap_or_else(|| "alert".to_string())
    }
    pub fn link(&self) -> Option<String> {
        self.firing().chain(self.alerts.iter()).find_map(|a| a.link.clone())
    }
    /// Where its dashboard may be, in the order asked: the `dashboard`, `grafana_url` and `dashboard_url`
    /// annotations that are set (a card shows the first that is a web link).
    pub fn dashboards(&self) -> Vec<String> {
        ["dashboard", "grafana_url", "dashboard_url"].iter().filter_map(|k| self.annotation(k)).collect()
    }
    /// The `description` annotation, when it says more than the summary (which may be it already).
    pub fn description(&self) -> Option<String> {
        self.annotation("description").filter(|d| d.trim() != self.summary().trim())
    }
    pub fn starts_at(&self) -> Option<Timestamp> {
        self.firing().filter_map(|a| a.starts_at).min().or_else(|| self.alerts.iter().filter_map(|a| a.starts_at).min())
    }
    /// The labels that tell `a` from the rest of its group: its labels that are not the group's common ones
    /// (Alertmanager's `instance` of two hosts not answering, say).
    pub fn distinguishing(&self, a: &Alert) -> BTreeMap<String, String> {
        a.labels
            .iter()
            .filter(|(k, v)| self.common_labels.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    /// What the ticket keeps about alert `a` of this group.
    pub fn member(&self, a: &Alert) -> AlertMember {
        AlertMember {
            fingerprint: a.fingerprint.clone(),
            labels: self.distinguishing(a),
            status: a.status,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            link: a.link.as_deref().and_then(card_link),
        }
    }
}

/// One alert of a group, as its ticket keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMember {
    pub fingerprint: String,
    /// The labels that tell it from the other alerts of its group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    /// Its link back to where it came from (Alertmanager's `generatorURL`, the generic `link`), as a card shows
    /// it ([`card_link`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl AlertMember {
    /// `instance=fw1, job=probe` (empty when nothing tells it apart), at most `max` labels.
    pub fn label_text(&self, max: usize) -> String {
        let mut out: Vec<String> =
            self.labels.iter().take(max).map(|(k, v)| format!("{}={}", shown(k), shown(v))).collect();
        if self.labels.len() > max {
            out.push(format!("+{} more", self.labels.len() - max));
        }
        out.join(", ")
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Alertmanager webhook, version 4.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmPayload {
    version: String,
    group_key: String,
    #[serde(default)]
    group_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
    alerts: Vec<AmAlert>,
    #[serde(default)]
    truncated_alerts: u64,
    #[serde(default)]
    status: Option<AlertStatus>,
    #[serde(default, rename = "externalURL")]
    external_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: AlertStatus,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Parses Alertmanager's webhook body. Errors say what is wrong, with the JSON path.
pub fn parse_alertmanager(body: &[u8]) -> Result<AlertGroup, String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let p: AmPayload = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if !e.inner().is_data() {
            format!("invalid JSON: {}", e.inner())
        } else if path == "." {
            format!("invalid payload: {}", e.inner())
        } else {
            format!("`{path}`: {}", e.inner())
        }
    })?;
    if p.version != "4" {
        return Err(format!("`version`: expected \"4\" (Alertmanager webhook version 4), got {:?}", p.version));
    }
    if p.group_key.trim().is_empty() {
        return Err("`groupKey`: empty".into());
    }
    if p.alerts.is_empty() {
        return Err("`alerts`: no alerts".into());
    }
    if p.alerts.len() > MAX_ALERTS {
        return Err(format!("`alerts`: {} alerts, at most {MAX_ALERTS} per request", p.alerts.len()));
    }
    let mut alerts = Vec::with_capacity(p.alerts.len());
    for (i, a) in p.alerts.into_iter().enumerate() {
        let starts_at = time(a.starts_at.as_deref()).map_err(|e| format!("`alerts[{i}].startsAt`: {e}"))?;
        let ends_at = time(a.ends_at.as_deref()).map_err(|e| format!("`alerts[{i}].endsAt`: {e}"))?;
        let fingerprint = match a.fingerprint.filter(|f| !f.trim().is_empty()) {
            Some(f) => f,
            None => label_fingerprint(&a.labels),
        };
        alerts.push(Alert {
            fingerprint,
            status: a.status,
            labels: bounded(a.labels),
            annotations: bounded(a.annotations),
            starts_at,
            ends_at,
            link: a.generator_url.filter(|u| !u.trim().is_empty()),
        });
    }
    let mut common_labels = bounded(p.common_labels);
    for (k, v) in &p.group_labels {
        common_labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(AlertGroup {
        source: "alertmanager".into(),
        key: p.group_key,
        common_labels,
        common_annotations: bounded(p.common_annotations),
        alerts,
        truncated: p.truncated_alerts,
        status: p.status,
        external_url: p.external_url.map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
        // Kept whole (not cut like other values): a silence's matchers must equal what Alertmanager groups by.
        group_labels: p.group_labels,
    })
}

/// Alertmanager sends `0001-01-01T00:00:00Z` for "not set".
fn time(v: Option<&str>) -> Result<Option<Timestamp>, String> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let t = chrono::DateTime::parse_from_rfc3339(v)
        .map_err(|e| format!("`{v}` is not an RFC 3339 time ({e})"))?
        .with_timezone(&chrono::Utc);
    Ok((chrono::Datelike::year(&t) > 1).then_some(t))
}

fn bounded(m: BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.into_iter()
        .map(|(k, v)| {
            let v = if v.len() > MAX_VALUE { v.chars().take(MAX_VALUE).collect() } else { v };
            (k, v)
        })
        .collect()
}

/// A stable identity from a label set, for alerts sent without a fingerprint.
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The generic alert.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    key: String,
    title: String,
    #[serde(default)]
    status: Option<AlertStatus>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    runbook_url: Option<String>,
}

/// Parses generic alerts: one object, an array of them, or `{"alerts": [...]}`. Each is a group of its own
/// (by `source` and `key`). One bad alert rejects the request, naming the alert and the field.
pub fn parse_generic(body: &[u8]) -> Result<Vec<AlertGroup>, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = match &v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(o) if o.contains_key("alerts") => match o.get("alerts") {
            Some(serde_json::Value::Array(a)) => a.clone(),
            _ => return Err("`alerts`: expected an array".into()),
        },
        serde_json::Value::Object(_) => vec![v.clone()],
        _ => return Err("expected an alert object, an array of them, or {\"alerts\": [...]}".into()),
    };
    if items.is_empty() {
        return Err("no alerts".into());
    }
    if items.len() > MAX_ALERTS {
        return Err(format!("{} alerts, at most {MAX_ALERTS} per request", items.len()));
    }
    let mut groups = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let g: Generic = serde_path_to_error::deserialize(item).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." { String::new() } else { format!(" `{path}`") };
            format!("alert {i}{at}: {}", e.inner())
        })?;
        if g.key.trim().is_empty() || g.key.len() > 500 {
            return Err(format!("alert {i} `key`: must be 1 to 500 characters"));
        }
        if g.title.trim().is_empty() {
            return Err(format!("alert {i} `title`: empty"));
        }
        let starts_at = time(g.starts_at.as_deref()).map_err(|e| format!("alert {i} `starts_at`: {e}"))?;
        let source = g.source.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "generic".into());
        if source.len() > 64 || !source.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!("alert {i} `source`: letters, digits, - _ . (at most 64)"));
        }
        let mut labels = bounded(g.labels);
        if let Some(s) = g.severity {
            labels.insert("severity".into(), s);
        }
        let mut annotations = BTreeMap::new();
        annotations.insert("summary".to_string(), g.title);
        if let Some(d) = g.description {
            annotations.insert("description".into(), d);
        }
        if let Some(r) = g.runbook_url {
            annotations.insert("runbook_url".into(), r);
        }
        let annotations = bounded(annotations);
        let status = g.status.unwrap_or(AlertStatus::Firing);
        groups.push(AlertGroup {
            source,
            key: g.key.clone(),
            common_labels: labels.clone(),
            common_annotations: BTreeMap::new(),
            truncated: 0,
            status: Some(status),
            external_url: None,
            group_labels: BTreeMap::new(),
            alerts: vec![Alert {
                fingerprint: g.key,
                status,
                labels,
                annotations,
                starts_at,
                ends_at: None,
                link: g.link.filter(|l| !l.trim().is_empty()),
            }],
        });
    }
    Ok(groups)
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping labels to tickets.

/// One mapping rule: when every `match` label equals its value (`a|b` for alternatives, `*` for any value that is
/// present) and every matcher holds, the ticket gets this rule's category, priority and runbook. The first matching
/// rule wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    #[serde(rename = "match", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub matches: BTreeMap<String, String>,
    /// Alertmanager-style matchers, all of which must hold: `service=~"db-.*"`, `env!="staging"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<Matcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// A runbook id (from `runbooks/`) technicians follow; its title is shown on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
}

impl AlertRule {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        // As in Alertmanager, a missing label reads as "": `owner = ""` matches only an absent or empty `owner`
        // (and `*` only a label that is present with a value).
        self.matches.iter().all(|(k, want)| {
            let v = labels.get(k).map(String::as_str).unwrap_or("");
            if want.trim() == "*" { !v.is_empty() } else { want.split('|').any(|w| w.trim() == v) }
        }) && self.matchers.iter().all(|m| m.matches(labels))
    }

    /// What is wrong with the rule, if anything: no condition at all, or a `match` value that reads as a regular
    /// expression (it would be compared literally and never match).
    pub fn problem(&self) -> Option<String> {
        if self.matches.is_empty() && self.matchers.is_empty() {
            return Some("give at least one label in `match` or one of `matchers`".into());
        }
        self.matches
            .iter()
            .find(|(_, v)| *v != "*" && v.contains(['*', '+', '?', '^', '$', '(', ')', '[', ']', '{', '}', '\\']))
            .map(|(k, v)| {
                format!(
                    "`match` compares values literally (a|b for alternatives, * for any value), so `{k} = {v:?}` \
                     would never match a regular expression's way; write matchers = [\'{k}=~\"{v}\"\']"
                )
            })
    }
}

/// How a [`Matcher`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// One Alertmanager-style label matcher: `label=value`, `label!=value`, `label=~regex`, `label!~regex` (the value
/// may be double-quoted). As in Alertmanager, a regular expression must match the whole value and a missing label
/// reads as the empty string; comparisons are case-sensitive (`(?i)` in a regex makes it insensitive).
#[derive(Clone)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<regex::Regex>,
}

impl Matcher {
    pub fn parse(s: &str) -> Result<Matcher, String> {
        let s = s.trim();
        let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
        let label = &s[..end];
        if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("matcher `{s}`: expected a label name, then =, !=, =~ or !~ and a value"));
        }
        let rest = s[end..].trim_start();
        let (op, rest) =
            [("=~", MatchOp::Regex), ("!~", MatchOp::NotRegex), ("!=", MatchOp::NotEqual), ("=", MatchOp::Equal)]
                .iter()
                .find_map(|(t, op)| rest.strip_prefix(t).map(|r| (*op, r.trim())))
                .ok_or_else(|| format!("matcher `{s}`: expected =, !=, =~ or !~ after `{label}`"))?;
        // `env=="prod"` would read as the value `="prod"` and never match: Alertmanager refuses it, and so do we.
        if rest.starts_with(['=', '~', '!', '<', '>']) {
            let op: String = s[end..].trim_start().chars().take_while(|c| "=!~<>".contains(*c)).collect();
            return Err(format!("matcher `{s}`: `{op}` is not an operator; use =, !=, =~ or !~"));
        }
        let value = match rest.strip_prefix('"') {
            Some(q) => {
                let mut v = String::new();
                let mut chars = q.chars();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => v.push(c),
                            Some('n') => v.push('\n'),
                            Some(c) => {
                                v.push('\\');
                                v.push(c);
                            }
                            None => return Err(format!("matcher `{s}`: unterminated quoted value")),
                        },
                        Some('"') => break,
                        Some(c) => v.push(c),
                        None => return Err(format!("matcher `{s}`: unterminated quoted value")),
                    }
                }
                if !chars.as_str().trim().is_empty() {
                    return Err(format!("matcher `{s}`: text after the quoted value"));
                }
                v
            }
            None => rest.to_string(),
        };
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("matcher `{s}`: not a regular expression: {e}"))?,
            ),
            _ => None,
        };
        Ok(Matcher { label: label.to_string(), op, value, re })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map(String::as_str).unwrap_or("");
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            _ => false,
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{op}{:?}", self.label, self.value)
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matcher({self})")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        (&self.label, self.op, &self.value) == (&other.label, other.op, &other.value)
    }
}

impl Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Matcher::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A label or annotation value as shown in chat: on one line (a newline is shown as `\n`, other control characters
/// escaped), with nothing hidden, so a value cannot forge a line of a card or a note.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if c.is_control() || super::ids::is_hidden_char(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// What a group maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub category: String,
    pub priority: Priority,
    pub runbook: Option<String>,
    /// Said on the ticket: a `category` or `priority` label that could not be followed.
    pub notes: Vec<String>,
}

/// Priority from the `severity` label when no rule or `priority` label sets one (case-insensitive):
/// critical, crit, fatal, page, emergency, disaster, p1 → P1; error, err, major, high, p2 → P2; warning, warn,
/// minor, medium, average, p3 → P3; anything else (info, low, none, no label) → P4.
pub fn severity_priority(severity: Option<&str>) -> Priority {
    match severity.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical" | "crit" | "fatal" | "page" | "emergency" | "disaster" | "p1") => Priority::P1,
        Some("error" | "err" | "major" | "high" | "p2") => Priority::P2,
        Some("warning" | "warn" | "minor" | "medium" | "average" | "p3") => Priority::P3,
        _ => Priority::P4,
    }
}

/// The priority a label set maps to: the rule's, else a `priority` label (P1 to P4), else the severity. Gives a
/// note when a `priority` label could not be followed.
fn priority_of(rule: Option<&AlertRule>, labels: &BTreeMap<String, String>) -> (Priority, Option<String>) {
    if let Some(p) = rule.and_then(|r| r.priority.as_deref()).and_then(Priority::parse) {
        return (p, None);
    }
    let severity = labels.get("severity").map(String::as_str);
    let by_severity = severity_priority(severity);
    match labels.get("priority") {
        Some(p) => match Priority::parse(p) {
            Some(p) => (p, None),
            None => {
                let from = match severity {
                    Some(s) => format!("its severity `{}`", shown(s)),
                    None => "it has no severity label".to_string(),
                };
                let note = format!(
                    "The alert's priority label `{}` is not understood (P1, P2, P3 or P4); the priority is \
                     {by_severity} as {from} says.",
                    shown(p)
                );
                (by_severity, Some(note))
            }
        },
        None => (by_severity, None),
    }
}

/// Maps a group's labels: the first matching rule, then a `category` label naming a known category, then
/// `default_category`; priority from the rule, else the `priority` label, else the severity.
pub fn map(
    rules: &[AlertRule],
    labels: &BTreeMap<String, String>,
    known_category: impl Fn(&str) -> bool,
    default_category: &str,
) -> Mapping {
    let rule = rules.iter().find(|r| r.matches(labels));
    let mut notes = vec![];
    let category = rule.and_then(|r| r.category.clone()).or_else(|| {
        let c = labels.get("category")?;
        // Category labels are read case aside (`Network` is `network`); `none` is for chat messages that are not IT
        // requests: never where an alert is filed.
        let lower = c.trim().to_lowercase();
        if lower != "none" {
            if known_category(c) {
                return Some(c.clone());
            }
            if known_category(&lower) {
                return Some(lower);
            }
        }
        notes.push(format!(
            "The alert's category label `{}` is not a category tickets are filed under; filed under `{default_category}`.",
            shown(c)
        ));
        None
    });
    let category = category.unwrap_or_else(|| default_category.to_string());
    let (priority, note) = priority_of(rule, labels);
    notes.extend(note);
    Mapping { category, priority, runbook: rule.and_then(|r| r.runbook.clone()), notes }
}

/// Maps a whole group: category, runbook and notes from the group's labels ([`map`]), and the highest priority
/// that the group's labels or any of its firing alerts map to (a group of one critical and one warning alert is
/// P1, whatever Alertmanager's `commonLabels` keep). Also gives the firing alert behind that priority, if one is.
pub fn map_group<'g>(
    rules: &[AlertRule],
    g: &'g AlertGroup,
    known_category: impl Fn(&str) -> bool,
    default_category: &str,
) -> (Mapping, Option<&'g Alert>) {
    let mut m = map(rules, g.labels(), &known_category, default_category);
    // Nothing the group shares decides its category (no rule matches its common labels, no `category` label among
    // them): its alerts may, when they differ in the label a rule matches on. Every firing alert (or, with none
    // firing, every alert) mapping to one category decides it (and the runbook, when they agree on that too);
    // alerts that disagree leave the default, with a note saying why.
    let decided_by_group = rules.iter().any(|r| r.matches(g.labels())) || g.labels().contains_key("category");
    if !decided_by_group {
        let alerts: Vec<&Alert> =
            if g.firing().next().is_some() { g.firing().collect() } else { g.alerts.iter().collect() };
        let each: Vec<Mapping> =
            alerts.iter().map(|a| map(rules, &a.labels, &known_category, default_category)).collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &each {
            *counts.entry(e.category.as_str()).or_default() += 1;
        }
        match each.first() {
            Some(first) if counts.len() == 1 => {
                m.category = first.category.clone();
                if each.iter().all(|e| e.runbook == first.runbook) {
                    m.runbook = first.runbook.clone();
                }
            }
            Some(_) if counts.len() > 1 => {
                let list: Vec<String> = counts.iter().map(|(c, n)| format!("{}: {n}", shown(c))).collect();
                m.notes.push(format!(
                    "The group's alerts map to different categories ({}); filed under `{}`.",
                    list.join(", "),
                    shown(&m.category)
                ));
            }
            _ => {}
        }
    }
    let mut by = None;
    for a in g.firing() {
        let (p, _) = priority_of(rules.iter().find(|r| r.matches(&a.labels)), &a.labels);
        if p < m.priority || by.is_none() && p == m.priority {
            m.priority = p;
            by = Some(a);
        }
    }
    (m, by)
}

/// True for a link fit to show on a card: `http://` or `https://` and nothing that can hide in a line. Other
/// schemes (`javascript:`, `file:`, `data:`) are dropped, with a note on the ticket.
pub fn web_link(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && lower.len() > "https://".len()
        && !url.trim().chars().any(|c| c.is_whitespace() || c.is_control() || super::ids::is_hidden_char(c))
}

/// Longest link a card shows (#36): a longer one (a Prometheus `generatorURL` carries the whole expression) is shown
/// without its query and fragment, still a link to the right page, and one still longer is not shown.
pub const MAX_LINK: usize = 400;

/// `url` as a card shows it, or `None` when it is no [`web_link`] or too long even without its query ([`MAX_LINK`]).
/// Characters that could start markup on a chat platform (`[`, `]`, `(`, `)`, `<`, `>`, `*`, `~`, `` ` ``, `|`,
/// `\`, `"`) are percent-encoded, which a web server reads as the same URL: a link cannot turn into a masked link
/// (`[Click here](https://elsewhere)`), a mention or formatting, on any platform, while it stays a plain link that
/// every platform makes clickable.
pub fn card_link(url: &str) -> Option<String> {
    let url = url.trim();
    if !web_link(url) {
        return None;
    }
    let url = if url.len() > MAX_LINK { url.split(['?', '#']).next().unwrap_or(url) } else { url };
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '[' | ']' | '(' | ')' | '<' | '>' | '*' | '~' | '`' | '|' | '\\' | '"' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    (out.len() <= MAX_LINK).then_some(out)
}

/// Alertmanager's own page of the group's alerts: `{externalURL}/#/alerts?filter={…}` with a matcher for each of
/// its `groupLabels` (Alertmanager's UI takes the filter from the address), or the bare `externalURL` when there
/// are none or the filter would make the link too long; `None` unless it is a web link.
pub fn alertmanager_link(external_url: &str, group_labels: &BTreeMap<String, String>) -> Option<String> {
    let base = external_url.trim().trim_end_matches('/');
    if !web_link(base) {
        return None;
    }
    if !group_labels.is_empty() {
        let matchers: Vec<String> = group_labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        let filter = format!("{{{}}}", matchers.join(","));
        let url = format!("{base}/#/alerts?filter={}", url_encode(&filter));
        if let Some(link) = card_link(&url).filter(|l| l.len() == url.len()) {
            return Some(link);
        }
    }
    card_link(base)
}

/// `s` percent-encoded for a URL's query: everything but unreserved characters.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The alert facts kept on a ticket raised by monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertInfo {
    pub source: String,
    /// The group's identity at its source (Alertmanager's groupKey, the generic key; `storm` for the storm ticket).
    pub group: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_url: Option<String>,
    /// The group's dashboard (the `dashboard`, `grafana_url` or `dashboard_url` annotation), as a card shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
    /// The group's `description` annotation, when it says more than the summary (kept as sent, cut to
    /// [`MAX_VALUE`]; a card shows it on one line and shorter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fingerprints of the alerts firing now.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub firing: std::collections::BTreeSet<String>,
    /// Notifications received for this ticket.
    #[serde(default)]
    pub notifications: u64,
    /// Times the group fired again shortly after it resolved (the ticket was reopened).
    #[serde(default)]
    pub flaps: u32,
    /// Alert groups folded into this (storm) ticket, and the first few of their summaries.
    #[serde(default)]
    pub folded: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folded_examples: Vec<String>,
    /// When the card was last posted or updated (updates are at most one a minute unless the state changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_at: Option<Timestamp>,
    /// Fingerprints of the group's alerts that have resolved while others still fire ("1 of 2 resolved").
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub resolved: std::collections::BTreeSet<String>,
    /// Every alert of the group seen so far (the first [`MAX_MEMBERS`] in detail), in the order they came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertMember>,
    /// Alerts firing in the latest notification that are not in `firing` (past [`MAX_FIRING`]): counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untracked: u64,
    /// Alerts the latest notification left out (Alertmanager's `truncatedAlerts`): they may still fire.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: u64,
    /// A card update held back by the once-a-minute limit: it is posted then (a scheduler timer), showing the
    /// ticket as it is at that time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_due: Option<Timestamp>,
    /// Alert tickets merged into this one: their groups' notifications come here, and this ticket resolves by
    /// itself only when they too have stopped firing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<MergedGroup>,
    /// The `startsAt` of each alert's latest resolution seen (by fingerprint, as many as [`MAX_FIRING`]): a
    /// `firing` for it that is not newer is a stale delivery (an HA peer's late retry), not the alert firing again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved_starts: BTreeMap<String, Timestamp>,
    /// A flap whose notice was held back (see `alerts.flap_notice_every`): at this time the owner (or the queue) is
    /// told the state the ticket has settled in, if that differs from what they were last told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_due: Option<Timestamp>,
    /// What the owner (or the queue) was last told about the group: `Some(true)` firing, `Some(false)` resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told_firing: Option<bool>,
    /// The Alertmanager that raised the ticket (its `externalURL`): where a silence asked for from chat goes and
    /// what the card links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Other `externalURL`s whose notifications of the group joined this ticket as HA peers of `external_url`
    /// (they sent an alert already on it, with the same `startsAt`), at most [`MAX_PEERS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    /// The group's `groupLabels`: a silence of the group matches exactly these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_labels: BTreeMap<String, String>,
    /// The silence asked for from chat (`/ticket silence`, the card's button): asked, in force, or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<super::silence::Silence>,
}

/// An alert ticket merged into another, with how many of its group's alerts fire (or may fire) now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedGroup {
    pub ticket: super::ids::TicketNo,
    pub firing: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl AlertInfo {
    /// Records what the group says about each of its alerts (status, times), adding alerts not seen before while
    /// there is room. A firing alert is always given room: past [`MAX_MEMBERS`] it takes the place of the oldest
    /// resolved one (resolved alerts are summarised; what fires is shown).
    pub fn record(&mut self, g: &AlertGroup) {
        for a in &g.alerts {
            let m = g.member(a);
            if let Some(x) = self.alerts.iter_mut().find(|x| x.fingerprint == a.fingerprint) {
                x.status = m.status;
                x.ends_at = m.ends_at;
                // What tells it apart is kept per alert: an alert alone shares every label with its group, once a
                // second joins its `instance` tells it apart, and when the other later drops out of the
                // notifications (Alertmanager's commonLabels then hold `instance` again) it still does.
                x.labels.extend(m.labels);
                if m.starts_at.is_some() {
                    x.starts_at = m.starts_at;
                }
                if m.link.is_some() {
                    x.link = m.link;
                }
            } else if self.alerts.len() < MAX_MEMBERS {
                self.alerts.push(m);
            } else if m.status == AlertStatus::Firing
                && let Some(i) = self.alerts.iter().position(|x| x.status == AlertStatus::Resolved)
            {
                self.alerts.remove(i);
                self.alerts.push(m);
            }
        }
    }

    /// True when `url` is this ticket's Alertmanager or one of its HA peers (or the ticket knows none).
    pub fn from_alertmanager(&self, url: &str) -> bool {
        self.external_url.as_deref().is_none_or(|u| u == url) || self.peers.iter().any(|p| p == url)
    }

    /// True when `g` carries an alert this ticket already has, started at the same time: what an HA peer of the
    /// Alertmanager that raised it sends (peers see the same alerts from Prometheus). Another Alertmanager
    /// cluster's alerts differ in their labels (its sites, its instances) or in when they started.
    pub fn shares_an_alert(&self, g: &AlertGroup) -> bool {
        g.alerts.iter().any(|a| {
            a.starts_at.is_some_and(|s| {
                self.alerts.iter().any(|m| m.fingerprint == a.fingerprint && m.starts_at == Some(s))
                    || self.resolved_starts.get(&a.fingerprint) == Some(&s)
            })
        })
    }

    /// `g` without the `firing` alerts that are stale: their `startsAt` is not newer than that of a resolution of
    /// the same alert already seen (Alertmanager gives an alert that fires again a new `startsAt`). `None` when
    /// nothing in `g` is stale.
    pub fn without_stale(&self, g: &AlertGroup) -> Option<AlertGroup> {
        let stale = |a: &Alert| {
            a.status == AlertStatus::Firing
                && matches!((a.starts_at, self.resolved_starts.get(&a.fingerprint)), (Some(s), Some(r)) if s <= *r)
        };
        if !g.alerts.iter().any(stale) {
            return None;
        }
        let mut fresh = g.clone();
        fresh.alerts.retain(|a| !stale(a));
        Some(fresh)
    }

    /// True when [`Self::varying`] knows every value: the alerts it reads are all the group's (those firing, else
    /// all). Past [`MAX_MEMBERS`], the values beyond those kept in detail are not known.
    pub fn varying_complete(&self) -> bool {
        let firing = self.alerts.iter().filter(|m| m.status == AlertStatus::Firing).count();
        if self.firing_count() > 0 || self.truncated > 0 {
            firing >= self.firing_count() && self.truncated == 0
        } else {
            self.alerts.len() >= self.total()
        }
    }

    /// How many alerts of the group are known: firing now (named or only counted) plus resolved.
    pub fn total(&self) -> usize {
        self.firing_count() + self.resolved.len()
    }

    /// Alerts known to fire now: those kept by fingerprint and those only counted.
    pub fn firing_count(&self) -> usize {
        self.firing.len() + self.untracked as usize
    }

    /// True when nothing of the group fires or may fire (nothing counted only, nothing left out).
    pub fn is_clear(&self) -> bool {
        self.firing_count() == 0 && self.truncated == 0
    }

    /// How many alerts fire, or may fire (left out by the sender), now.
    pub fn firing_or_left_out(&self) -> u64 {
        self.firing_count() as u64 + self.truncated
    }

    /// Applies one notification of the group to what fires: alerts that resolved leave `firing` first (so their
    /// room is free), then alerts not seen firing before join it while there is room; the rest are counted in
    /// `untracked`, and what the sender left out in `truncated` (none once the source reports the whole group
    /// resolved). Returns the alerts new to `firing` and those that resolved since the last notification (or that
    /// we learn of only as resolved).
    ///
    /// Every alert one notification can carry ([`MAX_ALERTS`]) is kept by fingerprint. Past that (a group that
    /// grows over several notifications), alerts are counted: one joining `firing` may then be one that was only
    /// counted before, so alerts are new only by how much the count of firing ones grew.
    pub fn apply<'g>(&mut self, g: &'g AlertGroup) -> (Vec<&'g Alert>, Vec<&'g Alert>) {
        let counted_before = self.untracked;
        let firing_before = self.firing_count();
        let mut ended = vec![];
        for a in g.resolved() {
            if let Some(s) = a.starts_at
                && (self.resolved_starts.len() < MAX_FIRING || self.resolved_starts.contains_key(&a.fingerprint))
            {
                let r = self.resolved_starts.entry(a.fingerprint.clone()).or_insert(s);
                *r = (*r).max(s);
            }
            let was_firing = self.firing.remove(&a.fingerprint);
            if (was_firing || self.resolved.len() < MAX_FIRING) && self.resolved.insert(a.fingerprint.clone()) {
                ended.push(a);
            }
        }
        let mut new = vec![];
        let mut untracked = 0;
        for a in g.firing() {
            if self.firing.contains(&a.fingerprint) {
                continue;
            }
            if self.firing.len() < MAX_FIRING {
                self.firing.insert(a.fingerprint.clone());
                self.resolved.remove(&a.fingerprint);
                new.push(a);
            } else {
                untracked += 1;
            }
        }
        self.untracked = untracked;
        let group_resolved = g.status == Some(AlertStatus::Resolved);
        self.truncated = if group_resolved { 0 } else { g.truncated };
        if group_resolved {
            // The source says the whole group has resolved: alerts that dropped out of its notifications (silenced,
            // so no longer sent) have resolved with it, or they would keep the ticket open for ever.
            let sent: std::collections::BTreeSet<&str> = g.alerts.iter().map(|a| a.fingerprint.as_str()).collect();
            let gone: Vec<String> = self.firing.iter().filter(|f| !sent.contains(f.as_str())).cloned().collect();
            for f in gone {
                self.firing.remove(&f);
                if self.resolved.len() < MAX_FIRING {
                    self.resolved.insert(f.clone());
                }
                if let Some(m) = self.alerts.iter_mut().find(|m| m.fingerprint == f) {
                    m.status = AlertStatus::Resolved;
                }
            }
        }
        if counted_before > 0 {
            // Some of those joining `firing` were firing all along, only counted: new are only as many as the
            // firing count grew by (beyond the ones that resolved).
            let kept = firing_before.saturating_sub(ended.len());
            let grown = self.firing_count().saturating_sub(kept);
            let keep_from = new.len().saturating_sub(grown);
            new.drain(..keep_from);
        }
        self.record(g);
        (new, ended)
    }

    /// True when nothing of the group can still be firing: every alert kept or counted has resolved, and nothing
    /// was left out of the notification unless the source says the whole group has resolved.
    pub fn all_clear(&self, g: &AlertGroup) -> bool {
        self.firing.is_empty()
            && self.untracked == 0
            && g.firing().next().is_none()
            && (self.truncated == 0 || g.status == Some(AlertStatus::Resolved))
    }

    /// Labels whose values differ among the group's alerts kept in detail (those firing, else all; none when what
    /// fires is not kept in detail), with their distinct values in the order first seen: `instance` → `srv1:9100`,
    /// `srv2:9100`.
    pub fn varying(&self) -> Vec<(String, Vec<String>)> {
        let firing: Vec<&AlertMember> = self.alerts.iter().filter(|m| m.status == AlertStatus::Firing).collect();
        if firing.is_empty() && self.firing_count() > 0 {
            // What fires is past the alerts kept in detail: their labels are not known.
            return vec![];
        }
        let members: Vec<&AlertMember> = if firing.is_empty() { self.alerts.iter().collect() } else { firing };
        let mut keys: Vec<&String> = members
            .iter()
            .flat_map(|m| m.labels.iter())
            .filter(|(k, v)| self.labels.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|k| {
                let mut values: Vec<String> = vec![];
                // An alert whose labels do not name `k` shares the group's value (its labels were kept when the
                // group's were other ones).
                for v in members.iter().filter_map(|m| m.labels.get(k).or_else(|| self.labels.get(k))) {
                    if !values.contains(v) {
                        values.push(v.clone());
                    }
                }
                (k.clone(), values)
            })
            .collect()
    }
}

/// Most fingerprints remembered per ticket: every alert one notification may carry (a group that grows beyond it
/// over several notifications keeps a count of the rest).
pub const MAX_FIRING: usize = MAX_ALERTS;
/// Most alerts of a group kept in detail (labels, times) on its ticket.
pub const MAX_MEMBERS: usize = 100;
/// Most HA peers of its Alertmanager remembered per ticket.
pub const MAX_PEERS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_links_are_bounded_web_links_that_cannot_format() {
        assert_eq!(
            card_link(" https://grafana.example/d/x?a=1&b=2 ").as_deref(),
            Some("https://grafana.example/d/x?a=1&b=2")
        );
        assert_eq!(card_link("javascript:alert(1)"), None);
        assert_eq!(card_link("https://a.example/x\nSource: https://b.example"), None, "a newline is no link");
        // Markup that could make a masked link, a mention or formatting is percent-encoded.
        assert_eq!(
            card_link("https://a.example/[Click](https://evil)<@U1>*b*|x|").as_deref(),
            Some("https://a.example/%5BClick%5D%28https://evil%29%3C@U1%3E%2Ab%2A%7Cx%7C")
        );
        // Too long: without its query; still too long: not shown.
        let long = format!("http://prom.example:9090/graph?g0.expr={}", "x".repeat(MAX_LINK));
        assert_eq!(card_link(&long).as_deref(), Some("http://prom.example:9090/graph"));
        assert_eq!(card_link(&format!("https://a.example/{}", "x".repeat(MAX_LINK))), None);
    }

    #[test]
    fn alertmanager_link_filters_on_the_group_labels() {
        let labels: BTreeMap<String, String> =
            [("alertname".to_string(), "DbDown".to_string()), ("cluster".into(), "eu\"1".into())].into();
        assert_eq!(
            alertmanager_link("http://am:9093/", &labels).as_deref(),
            Some("http://am:9093/#/alerts?filter=%7Balertname%3D%22DbDown%22%2Ccluster%3D%22eu%5C%221%22%7D")
        );
        assert_eq!(alertmanager_link("http://am:9093", &BTreeMap::new()).as_deref(), Some("http://am:9093"));
        let huge: BTreeMap<String, String> = [("alertname".to_string(), "x".repeat(MAX_LINK))].into();
        assert_eq!(
            alertmanager_link("http://am:9093", &huge).as_deref(),
            Some("http://am:9093"),
            "too long: the bare URL"
        );
        assert_eq!(alertmanager_link("am:9093", &labels), None);
    }

    const AM: &str = r#"{
      "version": "4", "groupKey": "{}/{service=\"internet\"}:{alertname=\"InternetDown\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "deskbot",
      "groupLabels": {"alertname": "InternetDown"},
      "commonLabels": {"alertname": "InternetDown", "service": "internet", "severity": "critical", "site": "hq"},
      "commonAnnotations": {"summary": "HQ internet link is down"},
      "externalURL": "http://alertmanager:9093",
      "alerts": [{"status": "firing", "labels": {"alertname": "InternetDown", "service": "internet",
                  "severity": "critical", "site": "hq", "instance": "fw1"},
                  "annotations": {"summary": "HQ internet link is down", "runbook_url": "https://wiki/isp"},
                  "startsAt": "2026-03-02T10:02:00.123Z", "endsAt": "0001-01-01T00:00:00Z",
                  "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": "a1b2c3"}]
    }"#;

    #[test]
    fn parses_alertmanager_v4() {
        let g = parse_alertmanager(AM.as_bytes()).unwrap();
        assert_eq!(g.source, "alertmanager");
        assert_eq!(g.alerts.len(), 1);
        let a = &g.alerts[0];
        assert_eq!(a.fingerprint, "a1b2c3");
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.ends_at, None, "the zero time means unset");
        assert_eq!(a.starts_at.unwrap().to_rfc3339(), "2026-03-02T10:02:00.123+00:00");
        assert_eq!(g.summary(), "HQ internet link is down");
        assert_eq!(g.annotation("runbook_url").as_deref(), Some("https://wiki/isp"));
        assert_eq!(g.link().as_deref(), Some("http://prometheus:9090/graph?g0.expr=up"));
        assert_eq!(g.labels().get("site").map(String::as_str), Some("hq"));
    }

    #[test]
    fn alerts_of_a_group_are_told_apart_and_kept_with_their_state() {
        let two = AM.replace(
            r#""fingerprint": "a1b2c3"}]"#,
            r#""fingerprint": "a1b2c3"}, {"status": "resolved", "labels": {"alertname": "InternetDown",
                "service": "internet", "severity": "critical", "site": "hq", "instance": "fw2"},
                "startsAt": "2026-03-02T10:00:00Z", "endsAt": "2026-03-02T10:05:00Z", "fingerprint": "d4e5"}]"#,
        );
        let g = parse_alertmanager(two.as_bytes()).unwrap();
        let mut info = AlertInfo::default();
        info.record(&g);
        let kept: Vec<_> = info.alerts.iter().map(|m| (m.fingerprint.as_str(), m.label_text(5), m.status)).collect();
        assert_eq!(
            kept,
            [
                ("a1b2c3", "instance=fw1".to_string(), AlertStatus::Firing),
                ("d4e5", "instance=fw2".into(), AlertStatus::Resolved)
            ]
        );
        assert_eq!(info.alerts[1].ends_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-03-02T10:05:00+00:00"));
        // A later notification changes the state of the alerts already kept; nothing is added twice.
        let back = two.replace(r#""status": "resolved", "labels""#, r#""status": "firing", "labels""#);
        info.record(&parse_alertmanager(back.as_bytes()).unwrap());
        assert_eq!(info.alerts.len(), 2);
        assert_eq!(info.alerts[1].status, AlertStatus::Firing);
    }

    #[test]
    fn alertmanager_errors_name_the_field() {
        let e = parse_alertmanager(AM.replace(r#""version": "4""#, r#""version": "3""#).as_bytes()).unwrap_err();
        assert!(e.contains("version"), "{e}");
        let e =
            parse_alertmanager(AM.replace("\"startsAt\": \"2026", "\"startsAt\": \"yesterday").as_bytes()).unwrap_err();
        assert!(e.contains("alerts[0].startsAt"), "{e}");
        let e =
            parse_alertmanager(AM.replace(r#""status": "firing", "labels""#, r#""status": "on", "labels""#).as_bytes())
                .unwrap_err();
        assert!(e.contains("alerts[0].status"), "{e}");
        let e = parse_alertmanager(br#"{"version":"4","groupKey":"g","alerts":[]}"#).unwrap_err();
        assert!(e.contains("no alerts"), "{e}");
        let e = parse_alertmanager(b"{").unwrap_err();
        assert!(e.contains("invalid"), "{e}");
        let e = parse_alertmanager(br#"{"version":"4","alerts":[]}"#).unwrap_err();
        assert!(e.contains("groupKey"), "{e}");
    }

    #[test]
    fn fingerprint_from_labels_when_missing() {
        let body = AM.replace(r#", "fingerprint": "a1b2c3""#, "");
        let a = parse_alertmanager(body.as_bytes()).unwrap();
        let b = parse_alertmanager(body.as_bytes()).unwrap();
        assert_eq!(a.alerts[0].fingerprint.len(), 16);
        assert_eq!(a.alerts[0].fingerprint, b.alerts[0].fingerprint);
    }

    #[test]
    fn parses_generic_forms_and_rejects_bad_ones() {
        let one = br#"{"key":"backup-nas01","title":"Backup failed","severity":"critical","source":"rmm"}"#;
        let g = parse_generic(one).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].source.as_str(), g[0].key.as_str()), ("rmm", "backup-nas01"));
        assert_eq!(g[0].alerts[0].status, AlertStatus::Firing);
        assert_eq!(g[0].labels().get("severity").map(String::as_str), Some("critical"));
        assert_eq!(g[0].summary(), "Backup failed");
        let many = br#"{"alerts":[{"key":"a","title":"A"},{"key":"b","title":"B","status":"resolved"}]}"#;
        let g = parse_generic(many).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].alerts[0].status, AlertStatus::Resolved);
        assert_eq!(g[0].source, "generic");
        assert_eq!(parse_generic(br#"[{"key":"a","title":"A"}]"#).unwrap().len(), 1);

        for (body, want) in [
            (&br#"{"title":"A"}"#[..], "key"),
            (br#"{"key":"a","title":""}"#, "title"),
            (br#"{"key":"a","title":"A","status":"maybe"}"#, "status"),
            (br#"{"key":"a","title":"A","colour":"red"}"#, "colour"),
            (br#"{"alerts":[{"key":"a","title":"A"},{"key":"b"}]}"#, "alert 1"),
            (br#"{"key":"a","title":"A","source":"bad source!"}"#, "source"),
            (br#"{"key":"a","title":"A","starts_at":"noon"}"#, "starts_at"),
            (br#"[]"#, "no alerts"),
            (br#""x""#, "expected"),
            (br#"{"alerts":{}}"#, "array"),
        ] {
            let e = parse_generic(body).unwrap_err();
            assert!(e.contains(want), "{} → {e}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn maps_by_rule_then_labels_then_severity() {
        let rules = vec![
            AlertRule {
                matches: [("service".to_string(), "internet|vpn".to_string())].into(),
                matchers: vec![],
                category: Some("network".into()),
                priority: Some("P1".into()),
                runbook: Some("isp-outage".into()),
            },
            AlertRule {
                matches: [("job".to_string(), "*".to_string())].into(),
                matchers: vec![],
                category: Some("application".into()),
                priority: None,
                runbook: None,
            },
        ];
        let known = |c: &str| ["security", "endpoint"].contains(&c);
        let l = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let m = map(&rules, &l(&[("service", "vpn"), ("severity", "info")]), known, "other");
        assert_eq!(
            m,
            Mapping {
                category: "network".into(),
                priority: Priority::P1,
                runbook: Some("isp-outage".into()),
                notes: vec![]
            }
        );
        let m = map(&rules, &l(&[("job", "erp"), ("severity", "warning")]), known, "other");
        assert_eq!((m.category.as_str(), m.priority), ("application", Priority::P3));
        let m = map(&rules, &l(&[("category", "security"), ("severity", "critical")]), known, "other");
        assert_eq!((m.category.as_str(), m.priority), ("security", Priority::P1));
        let m = map(&rules, &l(&[("category", "made-up"), ("priority", "2")]), known, "other");
        assert_eq!((m.category.as_str(), m.priority), ("other", Priority::P2));
        assert_eq!(severity_priority(None), Priority::P4);
        assert_eq!(severity_priority(Some("ERROR")), Priority::P2);
    }

    #[test]
    fn matchers_work_as_in_alertmanager() {
        let l = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let m = |s: &str| Matcher::parse(s).unwrap();
        let db = l(&[("service", "db-orders"), ("env", "prod")]);
        assert!(m(r#"service=~"db-.*""#).matches(&db));
        assert!(m("service=~db-.*").matches(&db), "quotes are optional");
        assert!(!m(r#"service=~"db""#).matches(&db), "a regex matches the whole value");
        assert!(!m(r#"service=~"DB-.*""#).matches(&db), "case-sensitive");
        assert!(m(r#"service=~"(?i)DB-.*""#).matches(&db));
        assert!(m(r#"service!~"web-.*""#).matches(&db));
        assert!(m(r#"env!="staging""#).matches(&db));
        assert!(!m(r#"env!="prod""#).matches(&db));
        assert!(m(r#"env = "prod""#).matches(&db), "spaces around the operator");
        // A missing label reads as "".
        assert!(m(r#"team!="sre""#).matches(&db));
        assert!(m(r#"team="""#).matches(&db));
        assert!(!m(r#"team=~".+""#).matches(&db));
        assert_eq!(m(r#"msg="say \"hi\"""#).value, r#"say "hi""#);
        for (bad, want) in [
            ("=x", "label name"),
            ("service", "expected =, !=, =~ or !~"),
            (r#"service=~"(""#, "not a regular expression"),
            (r#"service="open"#, "unterminated"),
            (r#"service="a" b"#, "after the quoted value"),
        ] {
            let e = Matcher::parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        // A rule needs both its `match` and its matchers.
        let rule: AlertRule =
            toml::from_str("match = { env = \"prod\" }\nmatchers = ['service=~\"db-.*\"']\ncategory = \"application\"")
                .unwrap();
        assert!(rule.matches(&db));
        assert!(!rule.matches(&l(&[("service", "db-orders"), ("env", "staging")])));
        assert!(!rule.matches(&l(&[("service", "web"), ("env", "prod")])));
        let literal: AlertRule = toml::from_str("match = { service = \"db-.*\" }").unwrap();
        assert!(literal.problem().unwrap().contains("matchers"), "{:?}", literal.problem());
        let dotted: AlertRule = toml::from_str("match = { instance = \"10.0.0.1:9100\" }").unwrap();
        assert_eq!(dotted.problem(), None);
    }

    #[test]
    fn label_values_are_shown_on_one_line() {
        assert_eq!(shown("prod\nLabels: severity=info"), "prod\\nLabels: severity=info");
        assert_eq!(shown("a\u{202e}b\u{7}"), "a\\u{202e}b\\u{7}");
        assert_eq!(shown("plain value"), "plain value");
    }

    #[test]
    fn category_labels_that_cannot_be_followed_are_said() {
        let known = |c: &str| ["network", "none"].contains(&c);
        let l = |c: &str| -> BTreeMap<String, String> { [("category".to_string(), c.to_string())].into() };
        let m = map(&[], &l("network"), known, "other");
        assert_eq!((m.category.as_str(), m.notes.len()), ("network", 0));
        let m = map(&[], &l("none"), known, "other");
        assert_eq!(m.category, "other");
        assert_eq!(
            m.notes,
            ["The alert's category label `none` is not a category tickets are filed under; filed under `other`."]
        );
        let m = map(&[], &l("made-up"), known, "other");
        assert_eq!((m.category.as_str(), m.notes.len()), ("other", 1));
    }

    #[test]
    fn operators_alertmanager_does_not_have_are_refused() {
        for (bad, op) in
            [(r#"env=="prod""#, "=="), (r#"env=!"prod""#, "=!"), (r#"env=~~"p.*""#, "=~~"), ("env=>1", "=>")]
        {
            let e = Matcher::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{op}` is not an operator")), "{bad}: {e}");
        }
        let e = toml::from_str::<AlertRule>("matchers = ['env==\"prod\"']").unwrap_err();
        assert!(e.to_string().contains("`==` is not an operator"), "{e}");
        assert_eq!(Matcher::parse(r#"env="=prod""#).unwrap().value, "=prod", "quoted, a value may start with =");
    }

    #[test]
    fn severity_aliases_and_priority_labels_that_cannot_be_followed() {
        for (s, p) in [
            ("crit", Priority::P1),
            ("FATAL", Priority::P1),
            ("page", Priority::P1),
            ("err", Priority::P2),
            ("error", Priority::P2),
            ("warn", Priority::P3),
            ("info", Priority::P4),
        ] {
            assert_eq!(severity_priority(Some(s)), p, "{s}");
        }
        let l = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let m = map(&[], &l(&[("priority", "P0"), ("severity", "info")]), |_| true, "other");
        assert_eq!(m.priority, Priority::P4);
        assert_eq!(
            m.notes,
            ["The alert's priority label `P0` is not understood (P1, P2, P3 or P4); the priority is P4 as its \
              severity `info` says."]
        );
        let m = map(&[], &l(&[("priority", "urgent")]), |_| true, "other");
        assert!(m.notes[0].contains("`urgent`") && m.notes[0].contains("no severity label"), "{:?}", m.notes);
        let m = map(&[], &l(&[("priority", "p2"), ("severity", "info")]), |_| true, "other");
        assert_eq!((m.priority, m.notes.len()), (Priority::P2, 0));
    }

    /// #36 probe B, D4: a group whose alerts differ in the label a rule matches on (two services) takes the rule's
    /// category when every firing alert maps to it, as it takes the rule's priority; when they disagree the
    /// ticket is filed under the default and a note says why.
    #[test]
    fn a_groups_category_comes_from_its_alerts_when_they_agree() {
        let rule: AlertRule = toml::from_str(
            "matchers = ['service=~\"db-.*\"', 'env!=\"staging\"']\ncategory = \"application\"\npriority = \"P2\"\n\
             runbook = \"db-lag\"\n",
        )
        .unwrap();
        let rules = [rule];
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let alert = |fp: &str, extra: &[(&str, &str)]| {
            let mut l = labels(&[("alertname", "PgLag"), ("severity", "info"), ("env", "prod")]);
            l.extend(labels(extra));
            Alert {
                fingerprint: fp.into(),
                status: AlertStatus::Firing,
                labels: l,
                annotations: BTreeMap::new(),
                starts_at: None,
                ends_at: None,
                link: None,
            }
        };
        let group = |alerts: Vec<Alert>| AlertGroup {
            source: "alertmanager".into(),
            key: "{}:{alertname=\"PgLag\"}".into(),
            common_labels: labels(&[("alertname", "PgLag"), ("severity", "info"), ("env", "prod")]),
            common_annotations: BTreeMap::new(),
            alerts,
            truncated: 0,
            status: Some(AlertStatus::Firing),
            external_url: None,
            group_labels: labels(&[("alertname", "PgLag")]),
        };
        let known = |c: &str| ["application", "network"].contains(&c);
        let g = group(vec![alert("a", &[("service", "db-main")]), alert("b", &[("service", "db-billing")])]);
        let (m, _) = map_group(&rules, &g, known, "other");
        assert_eq!(
            (m.category.as_str(), m.priority, m.runbook.as_deref(), m.notes.len()),
            ("application", Priority::P2, Some("db-lag"), 0)
        );
        // A `category` label on every alert, not in commonLabels, is followed too.
        let g = group(vec![alert("a", &[("category", "network")]), alert("b", &[("category", "Network")])]);
        assert_eq!(map_group(&rules, &g, known, "other").0.category, "network");
        // They disagree: the default, and a note saying why.
        let g = group(vec![alert("a", &[("service", "db-main")]), alert("b", &[("service", "web")])]);
        let (m, _) = map_group(&rules, &g, known, "other");
        assert_eq!((m.category.as_str(), m.priority, m.runbook.as_deref()), ("other", Priority::P2, None));
        assert_eq!(
            m.notes,
            ["The group's alerts map to different categories (application: 1, other: 1); filed under `other`."]
        );
    }

    /// A group of a warning and a critical alert is P1, though Alertmanager's commonLabels hold neither severity.
    #[test]
    fn a_group_maps_to_its_most_severe_firing_alert() {
        let body = AM.replace(r#""severity": "critical", "site": "hq"},"#, r#""site": "hq"},"#).replace(
            r#""fingerprint": "a1b2c3"}]"#,
            r#""fingerprint": "a1b2c3"}, {"status": "firing", "labels": {"alertname": "InternetDown",
                "service": "internet", "severity": "warning", "site": "hq", "instance": "fw2"},
                "startsAt": "2026-03-02T10:00:00Z", "fingerprint": "d4e5"}]"#,
        );
        let g = parse_alertmanager(body.as_bytes()).unwrap();
        assert_eq!(g.labels().get("severity"), None);
        let (m, by) = map_group(&[], &g, |_| true, "other");
        assert_eq!(m.priority, Priority::P1);
        assert_eq!(by.map(|a| a.fingerprint.as_str()), Some("a1b2c3"));
        // Once the critical one resolves, what fires is a warning.
        let calmer = body.replacen(r#""status": "firing", "labels""#, r#""status": "resolved", "labels""#, 1);
        let g = parse_alertmanager(calmer.as_bytes()).unwrap();
        assert_eq!(map_group(&[], &g, |_| true, "other").0.priority, Priority::P3);
    }

    #[test]
    fn only_web_links_are_shown() {
        assert!(web_link("https://wiki.example/isp"));
        assert!(web_link("HTTP://prometheus:9090/graph?g0.expr=up"));
        for bad in
            ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "https://", "https://a b", "ftp://x"]
        {
            assert!(!web_link(bad), "{bad}");
        }
    }

    /// A group of 5,000 (the most one notification carries) is kept whole: when all but one resolve, the card can
    /// say 4999 of 5000, and the one still firing is not news.
    #[test]
    fn the_largest_group_one_notification_carries_is_counted_right() {
        let group = |resolved_below: usize| {
            let alerts: Vec<Alert> = (0..MAX_ALERTS)
                .map(|i| Alert {
                    fingerprint: format!("pod-{i}"),
                    status: if i < resolved_below { AlertStatus::Resolved } else { AlertStatus::Firing },
                    labels: [("pod".to_string(), format!("pod-{i}"))].into(),
                    annotations: BTreeMap::new(),
                    starts_at: None,
                    ends_at: None,
                    link: None,
                })
                .collect();
            AlertGroup {
                source: "alertmanager".into(),
                key: "k".into(),
                common_labels: BTreeMap::new(),
                common_annotations: BTreeMap::new(),
                alerts,
                truncated: 0,
                status: Some(AlertStatus::Firing),
                external_url: None,
                group_labels: BTreeMap::new(),
            }
        };
        let mut info = AlertInfo::default();
        let all = group(0);
        let (new, ended) = info.apply(&all);
        assert_eq!((new.len(), ended.len(), info.firing_count()), (MAX_ALERTS, 0, MAX_ALERTS));
        let most = group(MAX_ALERTS - 1);
        let (new, ended) = info.apply(&most);
        assert!(
            new.is_empty(),
            "pod-4999 fired all along: {:?}",
            new.iter().map(|a| &a.fingerprint).collect::<Vec<_>>()
        );
        assert_eq!(ended.len(), MAX_ALERTS - 1);
        assert_eq!((info.resolved.len(), info.total(), info.firing_count()), (MAX_ALERTS - 1, MAX_ALERTS, 1));
        // 3,000 fire, then the first 2,000 resolve: nothing is new.
        let mut info = AlertInfo::default();
        let mut g = group(0);
        g.alerts.truncate(3000);
        info.apply(&g);
        for a in g.alerts.iter_mut().take(2000) {
            a.status = AlertStatus::Resolved;
        }
        let (new, ended) = info.apply(&g);
        assert_eq!((new.len(), ended.len(), info.firing_count(), info.total()), (0, 2000, 1000, 3000));
    }

    /// Past what is kept by fingerprint, alerts that were only counted are not news when they get room.
    #[test]
    fn alerts_only_counted_are_not_news_when_kept_later() {
        let alert = |i: usize, status| Alert {
            fingerprint: format!("a{i}"),
            status,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            starts_at: None,
            ends_at: None,
            link: None,
        };
        let group = |alerts| AlertGroup {
            source: "s".into(),
            key: "k".into(),
            common_labels: BTreeMap::new(),
            common_annotations: BTreeMap::new(),
            alerts,
            truncated: 0,
            status: None,
            external_url: None,
            group_labels: BTreeMap::new(),
        };
        let mut info = AlertInfo::default();
        // Two notifications grow the group past what is kept by name: 10 of the second one are only counted.
        info.apply(&group((0..MAX_FIRING - 5).map(|i| alert(i, AlertStatus::Firing)).collect()));
        let grown = group((0..MAX_FIRING + 5).map(|i| alert(i, AlertStatus::Firing)).collect());
        let (new, _) = info.apply(&grown);
        assert_eq!((new.len(), info.untracked), (5, 5));
        // 5 resolve: the 5 only counted take their room, and nothing is new.
        let mut next: Vec<Alert> = (0..MAX_FIRING + 5).map(|i| alert(i, AlertStatus::Firing)).collect();
        for a in next.iter_mut().take(5) {
            a.status = AlertStatus::Resolved;
        }
        let next = group(next);
        let (new, ended) = info.apply(&next);
        assert_eq!((new.len(), ended.len(), info.firing_count()), (0, 5, MAX_FIRING));
    }

    #[test]
    fn the_labels_that_tell_alerts_apart_follow_the_group() {
        // Alone, Alertmanager's commonLabels are all of the alert's labels.
        let alone = AM.replace(
            r#""severity": "critical", "site": "hq"},"#,
            r#""severity": "critical", "site": "hq", "instance": "fw1"},"#,
        );
        let one = parse_alertmanager(alone.as_bytes()).unwrap();
        let mut info = AlertInfo { labels: one.labels().clone(), ..AlertInfo::default() };
        info.apply(&one);
        assert_eq!(info.alerts[0].label_text(5), "", "alone, fw1 shares every label with its group");
        let two = AM.replace(
            r#""fingerprint": "a1b2c3"}]"#,
            r#""fingerprint": "a1b2c3"}, {"status": "firing", "labels": {"alertname": "InternetDown",
                "service": "internet", "severity": "critical", "site": "hq", "instance": "fw2"},
                "fingerprint": "d4e5"}]"#,
        );
        let two = parse_alertmanager(two.as_bytes()).unwrap();
        info.labels = two.labels().clone();
        info.apply(&two);
        assert_eq!(info.alerts[0].label_text(5), "instance=fw1");
        assert_eq!(info.varying(), [("instance".to_string(), vec!["fw1".to_string(), "fw2".to_string()])]);
    }

    fn alert(fp: &str, status: AlertStatus, labels: &[(&str, &str)], starts: Option<&str>) -> Alert {
        Alert {
            fingerprint: fp.into(),
            status,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            annotations: BTreeMap::new(),
            starts_at: starts.map(|s| s.parse().unwrap()),
            ends_at: None,
            link: None,
        }
    }

    fn group(alerts: Vec<Alert>, common: &[(&str, &str)], status: Option<AlertStatus>) -> AlertGroup {
        AlertGroup {
            source: "alertmanager".into(),
            key: "k".into(),
            common_labels: common.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            common_annotations: BTreeMap::new(),
            alerts,
            truncated: 0,
            status,
            external_url: None,
            group_labels: BTreeMap::new(),
        }
    }

    /// `owner = ""` matches an absent or empty label only, as in Alertmanager; `*` matches only a present value.
    #[test]
    fn an_empty_match_value_matches_only_an_absent_or_empty_label() {
        let rule: AlertRule = toml::from_str("match = { owner = \"\" }\ncategory = \"network\"").unwrap();
        let l = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert!(rule.matches(&l(&[("service", "vpn")])), "absent");
        assert!(rule.matches(&l(&[("owner", "")])), "empty");
        assert!(!rule.matches(&l(&[("owner", "alice")])), "a value is not empty");
        let any: AlertRule = toml::from_str("match = { owner = \"*\" }").unwrap();
        assert!(any.matches(&l(&[("owner", "alice")])));
        assert!(!any.matches(&l(&[("service", "vpn")])) && !any.matches(&l(&[("owner", "")])));
        let m = Matcher::parse(r#"owner="""#).unwrap();
        assert!(m.matches(&l(&[])) && !m.matches(&l(&[("owner", "alice")])));
    }

    #[test]
    fn category_labels_are_read_case_aside() {
        let known = |c: &str| ["network"].contains(&c);
        let l = |c: &str| -> BTreeMap<String, String> { [("category".to_string(), c.to_string())].into() };
        let m = map(&[], &l("Network"), known, "other");
        assert_eq!((m.category.as_str(), m.notes.len()), ("network", 0));
        let m = map(&[], &l("NONE"), |_| true, "other");
        assert_eq!((m.category.as_str(), m.notes.len()), ("other", 1));
    }

    /// A `firing` not newer than a resolution already seen of the same alert is stale; a new startsAt is not.
    #[test]
    fn a_firing_not_newer_than_its_resolution_is_stale() {
        let mut info = AlertInfo::default();
        let at = Some("2026-03-02T10:00:00Z");
        info.apply(&group(vec![alert("a", AlertStatus::Firing, &[], at)], &[], None));
        assert_eq!(info.without_stale(&group(vec![alert("a", AlertStatus::Firing, &[], at)], &[], None)), None);
        info.apply(&group(vec![alert("a", AlertStatus::Resolved, &[], at)], &[], Some(AlertStatus::Resolved)));
        let stale = info.without_stale(&group(vec![alert("a", AlertStatus::Firing, &[], at)], &[], None)).unwrap();
        assert!(stale.alerts.is_empty());
        let later = group(vec![alert("a", AlertStatus::Firing, &[], Some("2026-03-02T10:30:00Z"))], &[], None);
        assert_eq!(info.without_stale(&later), None);
    }

    /// A group reported resolved as a whole resolves alerts that dropped out of its notifications (silenced).
    #[test]
    fn a_group_reported_resolved_resolves_alerts_no_longer_sent() {
        let mut info = AlertInfo::default();
        info.apply(&group(
            vec![alert("a", AlertStatus::Firing, &[], None), alert("b", AlertStatus::Firing, &[], None)],
            &[],
            Some(AlertStatus::Firing),
        ));
        let g = group(vec![alert("a", AlertStatus::Resolved, &[], None)], &[], Some(AlertStatus::Resolved));
        info.apply(&g);
        assert!(info.all_clear(&g), "{info:?}");
        assert_eq!(info.alerts.iter().filter(|m| m.status == AlertStatus::Firing).count(), 0);
    }

    /// Past the first 100 alerts kept in detail, one that fires takes the place of a resolved one.
    #[test]
    fn a_firing_alert_is_kept_in_detail_past_a_hundred_resolved_ones() {
        let mut info = AlertInfo::default();
        let mut alerts: Vec<Alert> = (0..MAX_MEMBERS)
            .map(|i| alert(&format!("r{i}"), AlertStatus::Resolved, &[("pod", &format!("r{i}"))], None))
            .collect();
        alerts.push(alert("f", AlertStatus::Firing, &[("pod", "f")], None));
        info.apply(&group(alerts, &[], Some(AlertStatus::Firing)));
        assert_eq!(info.alerts.len(), MAX_MEMBERS);
        let firing: Vec<_> = info.alerts.iter().filter(|m| m.status == AlertStatus::Firing).collect();
        assert_eq!(firing.len(), 1);
        assert_eq!(firing[0].label_text(5), "pod=f");
    }

    /// Past the alerts kept in detail, the values of a varying label are not all known.
    #[test]
    fn varying_values_past_the_alerts_kept_in_detail_are_not_all_known() {
        let mut info = AlertInfo::default();
        let alerts = |n: usize| -> Vec<Alert> {
            (0..n).map(|i| alert(&format!("a{i}"), AlertStatus::Firing, &[("pod", &format!("p{i}"))], None)).collect()
        };
        info.apply(&group(alerts(50), &[], None));
        assert!(info.varying_complete());
        info.apply(&group(alerts(150), &[], None));
        assert_eq!((info.firing_count(), info.varying()[0].1.len()), (150, MAX_MEMBERS));
        assert!(!info.varying_complete());
    }

    /// The label that told an alert apart stays with it when the others drop out of the notifications (and
    /// Alertmanager's commonLabels then hold it).
    #[test]
    fn an_alerts_identifying_label_stays_with_it() {
        let mut info = AlertInfo::default();
        let fw = |i: &str, s| alert(&format!("fp-{i}"), s, &[("alertname", "Down"), ("instance", i)], None);
        info.apply(&group(
            vec![fw("fw1", AlertStatus::Firing), fw("fw2", AlertStatus::Firing)],
            &[("alertname", "Down")],
            None,
        ));
        info.apply(&group(vec![fw("fw2", AlertStatus::Resolved)], &[("alertname", "Down"), ("instance", "fw2")], None));
        info.apply(&group(vec![fw("fw1", AlertStatus::Firing)], &[("alertname", "Down"), ("instance", "fw1")], None));
        let kept: Vec<String> = info.alerts.iter().map(|m| m.label_text(5)).collect();
        assert_eq!(kept, ["instance=fw1", "instance=fw2"]);
    }
}

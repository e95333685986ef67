//! Alertmanager silences asked for from chat (`/ticket silence N DURATION`, the alert card's "Silence 2h" button):
//! the request the desk queues in the outbox (the silence worker, `adapters::silence`, sends it as
//! `POST {externalURL}/api/v2/silences`) and what an alert ticket keeps of its silence. No I/O here.

use super::ids::{TicketNo, UserRef};
use super::ticket::Timestamp;
use chrono::{Duration, SecondsFormat};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest silence deskbot creates: longer ones are planned maintenance, set in Alertmanager itself.
pub const MAX_SILENCE: Duration = Duration::days(7);
/// The shortest silence deskbot creates.
pub const MIN_SILENCE: Duration = Duration::minutes(1);
/// What the card's button asks for.
pub const BUTTON_SILENCE: Duration = Duration::hours(2);
/// The button's action verb (`ticket:silence-2h:N`).
pub const BUTTON_VERB: &str = "silence-2h";

/// Checks a silence length: at least [`MIN_SILENCE`], at most [`MAX_SILENCE`].
pub fn check_length(d: Duration) -> Result<(), String> {
    if d < MIN_SILENCE {
        return Err(format!("a silence lasts at least {}", super::duration::human(MIN_SILENCE)));
    }
    if d > MAX_SILENCE {
        return Err(
            "a silence from chat lasts at most 7d; set longer ones (planned maintenance) in Alertmanager".to_string()
        );
    }
    Ok(())
}

/// A silence to create, carried by an outbox item (platform `alertmanager`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceRequest {
    pub ticket: TicketNo,
    /// The Alertmanager's `externalURL` (no trailing `/`).
    pub alertmanager: String,
    /// Equality matchers, one per group label.
    pub matchers: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// The technician who asked; Alertmanager's `createdBy` is their name.
    pub by: UserRef,
    /// Alertmanager's `comment`: `deskbot #N: …`.
    pub comment: String,
    /// The silence this one replaces (its id): Alertmanager updates or replaces it instead of adding a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl SilenceRequest {
    /// `{externalURL}/api/v2/silences`.
    pub fn url(&self) -> String {
        format!("{}/api/v2/silences", self.alertmanager)
    }

    /// Alertmanager API v2 `PostableSilence`.
    pub fn body(&self) -> serde_json::Value {
        let matchers: Vec<serde_json::Value> = self
            .matchers
            .iter()
            .map(|(k, v)| serde_json::json!({"name": k, "value": v, "isRegex": false, "isEqual": true}))
            .collect();
        let mut body = serde_json::json!({
            "matchers": matchers,
            "startsAt": self.starts_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "endsAt": self.ends_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "createdBy": self.by.name,
            "comment": self.comment,
        });
        if let Some(id) = &self.replaces {
            body["id"] = serde_json::Value::String(id.clone());
        }
        body
    }

    /// `alertname="DbDown", cluster="eu1"`: the matchers as people read them.
    pub fn matcher_text(&self) -> String {
        matcher_text(&self.matchers)
    }
}

/// `alertname="DbDown", cluster="eu1"`.
pub fn matcher_text(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{}={:?}", super::alerts::shown(k), super::alerts::shown(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a silence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SilenceState {
    /// Queued for Alertmanager, not confirmed yet.
    Requested,
    /// Alertmanager created it.
    Active,
    /// Alertmanager refused it, or could not be reached after every retry.
    Failed,
    /// Its end passed.
    Expired,
}

/// An alert ticket's silence, as asked for from chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub state: SilenceState,
    pub by: UserRef,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Alertmanager's `silenceID`, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::Platform;

    #[test]
    fn body_is_alertmanagers_postable_silence() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let mut r = SilenceRequest {
            ticket: TicketNo(4),
            alertmanager: "http://am:9093".into(),
            matchers: [("alertname".to_string(), "DbDown".to_string()), ("cluster".into(), "eu\"1".into())].into(),
            starts_at: at("2026-03-02T10:05:00Z"),
            ends_at: at("2026-03-02T12:05:00Z"),
            by: UserRef::new(Platform::Console, "sam", "Sam Lee"),
            comment: "deskbot #4: failing over".into(),
            replaces: None,
        };
        assert_eq!(r.url(), "http://am:9093/api/v2/silences");
        assert_eq!(
            r.body(),
            serde_json::json!({
                "matchers": [
                    {"name": "alertname", "value": "DbDown", "isRegex": false, "isEqual": true},
                    {"name": "cluster", "value": "eu\"1", "isRegex": false, "isEqual": true}
                ],
                "startsAt": "2026-03-02T10:05:00Z",
                "endsAt": "2026-03-02T12:05:00Z",
                "createdBy": "Sam Lee",
                "comment": "deskbot #4: failing over"
            })
        );
        assert_eq!(r.matcher_text(), r#"alertname="DbDown", cluster="eu\"1""#);
        r.replaces = Some("abc".into());
        assert_eq!(r.body()["id"], "abc");
    }

    #[test]
    fn lengths_are_bounded() {
        assert!(check_length(Duration::hours(2)).is_ok());
        assert!(check_length(Duration::days(7)).is_ok());
        assert!(check_length(Duration::days(7) + Duration::minutes(1)).unwrap_err().contains("at most 7d"));
        assert!(check_length(Duration::seconds(30)).unwrap_err().contains("at least"));
    }
}

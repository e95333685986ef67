//! Vendors (suppliers a ticket can be escalated to): the directory from the configuration, the vendor case kept on
//! a ticket, the vendor's own clock against its contract, and the outbound vendor message carried by the outbox.
//!
//! Nothing here does I/O: the desk decides, the outbox stores, and a vendor worker (`adapters::vendor`) sends.

use super::calendar::{Calendar, Calendars};
use super::duration::{Span, parse_span};
use super::ids::{TicketNo, UserRef};
use super::ticket::Timestamp;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// How far into a vendor target (percent) the owner is prompted to chase.
pub const WARN_PERCENT: i32 = 75;
/// Failed send attempts after which the owner is told (once); the outbox keeps retrying.
pub const TELL_OWNER_AFTER_FAILURES: i64 = 5;

/// `[smtp]`: the mail relay for email vendors. The password comes from `DESKBOT_SMTP_PASSWORD` only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` (implicit TLS) or `none` (tests, a local relay).
    pub tls: String,
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "localhost".into(),
            port: 587,
            tls: "starttls".into(),
            from: "deskbot@localhost".into(),
            username: None,
        }
    }
}

/// Environment variable with the SMTP password.
pub const SMTP_PASSWORD_VAR: &str = "DESKBOT_SMTP_PASSWORD";

impl SmtpConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.tls.as_str(), "starttls" | "tls" | "none") {
            return Err(format!("key `smtp.tls`: `{}` is not starttls, tls or none", self.tls));
        }
        if self.host.trim().is_empty() {
            return Err("key `smtp.host`: empty".into());
        }
        if !self.from.contains('@') {
            return Err(format!("key `smtp.from`: `{}` is not an email address", self.from));
        }
        Ok(())
    }
}

/// One `[[vendors]]` entry as written in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VendorSpec {
    pub id: String,
    pub name: String,
    /// Ticket categories this vendor covers (offered on the Escalate button).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Contact by email (through `[smtp]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Contact by signed JSON webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Environment variable holding the webhook's HMAC signing key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_env: Option<String>,
    /// No automatic contact: the owner is given the text to paste and the number to ring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<ManualContact>,
    #[serde(default)]
    pub contract: ContractSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ManualContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
}

/// The vendor's contract: targets are business durations on `calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContractSpec {
    pub calendar: String,
    pub response: String,
    pub resolution: String,
    pub chase_every: String,
}

impl Default for ContractSpec {
    fn default() -> Self {
        ContractSpec {
            calendar: "24x7".into(),
            response: "4h".into(),
            resolution: "5d".into(),
            chase_every: "1d".into(),
        }
    }
}

/// How a vendor is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Email(String),
    Webhook { url: String, signing_env: String },
    Manual(ManualContact),
}

impl Contact {
    /// How deskbot sends to this vendor itself; `None` for a manual vendor (a person makes the contact).
    pub fn via(&self) -> Option<Via> {
        match self {
            Contact::Email(to) => Some(Via::Email { to: to.clone() }),
            Contact::Webhook { url, signing_env } => {
                Some(Via::Webhook { url: url.clone(), signing_env: signing_env.clone() })
            }
            Contact::Manual(_) => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Contact::Email(_) => "email",
            Contact::Webhook { .. } => "webhook",
            Contact::Manual(_) => "manual",
        }
    }
}

/// A validated vendor.
#[derive(Debug, Clone)]
pub struct Vendor {
    pub id: String,
    pub name: String,
    pub categories: Vec<String>,
    pub contact: Contact,
    pub calendar: Calendar,
    /// Contract targets and chaser interval: `d` counts working days of `calendar`.
    pub response: Span,
    pub resolution: Span,
    pub chase_every: Span,
}

/// The vendor directory.
#[derive(Debug, Clone, Default)]
pub struct Vendors(Vec<Vendor>);

impl Vendors {
    /// Validates the specs; errors name the vendor and the field.
    pub fn new(specs: &[VendorSpec], calendars: &Calendars) -> Result<Vendors, String> {
        let mut out: Vec<Vendor> = vec![];
        for (i, s) in specs.iter().enumerate() {
            let who = if s.id.trim().is_empty() { format!("vendors[{i}]") } else { format!("vendor `{}`", s.id) };
            let at = |field: &str| format!("{who}: field `{field}`");
            if s.id.trim().is_empty() || !s.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(format!("{}: give an id of letters, digits, - or _", at("id")));
            }
            if out.iter().any(|v| v.id == s.id) {
                return Err(format!("{}: the id is used twice", at("id")));
            }
            if s.name.trim().is_empty() {
                return Err(format!("{}: a vendor needs a name", at("name")));
            }
            let contact = match (&s.email, &s.webhook, &s.manual) {
                (Some(e), None, None) => {
                    let e = e.trim();
                    let ok = e.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'));
                    if !ok {
                        return Err(format!("{}: `{e}` is not an email address", at("email")));
                    }
                    if s.signing_env.is_some() {
                        return Err(format!("{}: only webhook vendors sign their messages", at("signing_env")));
                    }
                    Contact::Email(e.to_string())
                }
                (None, Some(u), None) => {
                    if !(u.starts_with("https://") || u.starts_with("http://")) {
                        return Err(format!("{}: `{u}` is not an http(s) URL", at("webhook")));
                    }
                    let Some(env) = s.signing_env.as_ref().filter(|e| !e.trim().is_empty()) else {
                        return Err(format!(
                            "{}: a webhook vendor needs the name of the environment variable holding its signing key",
                            at("signing_env")
                        ));
                    };
                    Contact::Webhook { url: u.clone(), signing_env: env.clone() }
                }
                (None, None, Some(m)) => {
                    if m.phone.is_none() && m.portal.is_none() {
                        return Err(format!("{}: give a phone number or a portal", at("manual")));
                    }
                    Contact::Manual(m.clone())
                }
                _ => return Err(format!("{}: give exactly one of email, webhook or manual", at("email"))),
            };
            let c = &s.contract;
            let calendar = calendars
                .get(&c.calendar)
                .cloned()
                .ok_or_else(|| format!("{}: unknown calendar `{}`", at("contract.calendar"), c.calendar))?;
            let dur = |field: &str, v: &str| -> Result<Span, String> {
                let d = parse_span(v).map_err(|e| format!("{}: {e}", at(&format!("contract.{field}"))))?;
                if d.wall() <= Duration::zero() {
                    return Err(format!("{}: must be more than zero", at(&format!("contract.{field}"))));
                }
                Ok(d)
            };
            let response = dur("response", &c.response)?;
            let resolution = dur("resolution", &c.resolution)?;
            let chase_every = dur("chase_every", &c.chase_every)?;
            for (field, span) in [("response", response), ("resolution", resolution), ("chase_every", chase_every)] {
                calendar.check_span(span).map_err(|e| format!("{}: {e}", at(&format!("contract.{field}"))))?;
            }
            // Compared as business time from a Monday midnight (a working day's length depends on the calendar).
            let monday = super::calendar::reference_monday();
            if calendar.span_length(monday, resolution) < calendar.span_length(monday, response) {
                return Err(format!("{}: shorter than the response target", at("contract.resolution")));
            }
            out.push(Vendor {
                id: s.id.clone(),
                name: s.name.clone(),
                categories: s.categories.clone(),
                contact,
                calendar,
                response,
                resolution,
                chase_every,
            });
        }
        Ok(Vendors(out))
    }

    pub fn get(&self, id: &str) -> Option<&Vendor> {
        self.0.iter().find(|v| v.id.eq_ignore_ascii_case(id))
    }

    pub fn all(&self) -> &[Vendor] {
        &self.0
    }

    /// Vendors covering `category`, in configuration order.
    pub fn covering(&self, category: &str) -> Vec<&Vendor> {
        self.0.iter().filter(|v| v.categories.iter().any(|c| c == category)).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Open or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Closed,
}

/// A case with a vendor, kept on the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorCase {
    pub vendor: String,
    pub name: String,
    pub status: CaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub opened_at: Timestamp,
    pub opened_by: UserRef,
    /// Due on the vendor's calendar, from the contract at escalation.
    pub response_due: Timestamp,
    pub resolution_due: Timestamp,
    /// The vendor's first answer (a reference or an update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_chase_at: Option<Timestamp>,
    /// The last time the owner was prompted to chase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_prompt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<Timestamp>,
    /// Target warnings already given (`response`, `resolution`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warned: Vec<String>,
    /// When the owner is prompted next (kept in step with the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_followup: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The owner was told that sends keep failing (once per case).
    #[serde(default)]
    pub failure_told: bool,
}

/// Why the owner is prompted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// The response target is at [`WARN_PERCENT`] with no answer.
    Response,
    /// The resolution target is at [`WARN_PERCENT`].
    Resolution,
    /// `chase_every` passed with no update.
    Quiet,
}

impl FollowUp {
    pub fn key(self) -> &'static str {
        match self {
            FollowUp::Response => "response",
            FollowUp::Resolution => "resolution",
            FollowUp::Quiet => "quiet",
        }
    }
}

fn pct(d: Duration, p: i32) -> Duration {
    Duration::seconds(d.num_seconds() * i64::from(p) / 100)
}

impl Vendor {
    /// A new open case on this vendor's clock.
    pub fn open_case(&self, by: &UserRef, now: Timestamp) -> VendorCase {
        let mut c = VendorCase {
            vendor: self.id.clone(),
            name: self.name.clone(),
            status: CaseStatus::Open,
            reference: None,
            opened_at: now,
            opened_by: by.clone(),
            response_due: self.calendar.due_span(now, self.response),
            resolution_due: self.calendar.due_span(now, self.resolution),
            responded_at: None,
            last_update_at: None,
            last_update: None,
            last_chase_at: None,
            last_prompt_at: None,
            snoozed_until: None,
            warned: vec![],
            next_followup: None,
            closed_at: None,
            failure_told: false,
        };
        c.next_followup = self.next_followup(&c).map(|(t, _)| t);
        c
    }

    /// When the owner should next be prompted about `c`, and why: the earliest of the response and resolution
    /// warnings not yet given and `chase_every` after the last sign of life (opened, update, chase, prompt),
    /// never before a snooze ends. `None` for a closed case.
    pub fn next_followup(&self, c: &VendorCase) -> Option<(Timestamp, FollowUp)> {
        if c.status == CaseStatus::Closed {
            return None;
        }
        let mut cands = vec![];
        if c.responded_at.is_none() && !c.warned.iter().any(|w| w == "response") {
            cands.push((self.warn_at(c.opened_at, self.response), FollowUp::Response));
        }
        if !c.warned.iter().any(|w| w == "resolution") {
            cands.push((self.warn_at(c.opened_at, self.resolution), FollowUp::Resolution));
        }
        let quiet_since =
            [Some(c.opened_at), c.last_update_at, c.last_chase_at, c.last_prompt_at].into_iter().flatten().max()?;
        cands.push((self.calendar.due_span(quiet_since, self.chase_every), FollowUp::Quiet));
        let (at, why) = cands.into_iter().min_by_key(|(t, _)| *t)?;
        Some((c.snoozed_until.map_or(at, |s| at.max(s)), why))
    }

    /// The vendor's clock for `c` at `now`: business time used against each target, in percent.
    pub fn clock(&self, c: &VendorCase, now: Timestamp) -> VendorClock {
        let used = |target: Span, end: Option<Timestamp>| {
            let d = self.calendar.span_length(c.opened_at, target);
            let e = self.calendar.elapsed(c.opened_at, end.unwrap_or(now).min(now));
            (e.num_seconds() * 100 / d.num_seconds().max(1)) as i32
        };
        VendorClock {
            response_due: c.response_due,
            resolution_due: c.resolution_due,
            response_used: used(self.response, c.responded_at),
            resolution_used: used(self.resolution, c.closed_at),
        }
    }

    /// When [`WARN_PERCENT`] of `target`'s business time from `start` has passed.
    fn warn_at(&self, start: Timestamp, target: Span) -> Timestamp {
        self.calendar.due(start, pct(self.calendar.span_length(start, target), WARN_PERCENT))
    }

    /// The end of a snooze started at `now`: one day later, moved to the next opening of the vendor's calendar.
    pub fn snooze_until(&self, now: Timestamp) -> Timestamp {
        self.calendar.due(now + Duration::days(1), Duration::zero())
    }
}

/// A vendor case's clock against its contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorClock {
    pub response_due: Timestamp,
    pub resolution_due: Timestamp,
    /// Percent of the response target used (frozen when the vendor answered).
    pub response_used: i32,
    /// Percent of the resolution target used (frozen when the case closed).
    pub resolution_used: i32,
}

/// How a vendor message travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    Email { to: String },
    Webhook { url: String, signing_env: String },
}

impl Via {
    pub fn label(&self) -> &'static str {
        match self {
            Via::Email { .. } => "email",
            Via::Webhook { .. } => "webhook",
        }
    }
}

/// A message to a vendor, carried by an outbox item (platform `vendor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorMessage {
    pub vendor: String,
    pub ticket: TicketNo,
    pub via: Via,
    /// `case` (the escalation) or `chase` (a follow-up).
    pub what: String,
    /// Email subject; carries `[deskbot #N]`.
    pub subject: String,
    /// Plain-text body (the email body).
    pub body: String,
    /// The webhook's JSON document.
    pub json: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::CalendarSpec;
    use crate::core::ids::Platform;
    use std::collections::BTreeMap;

    fn spec(id: &str) -> VendorSpec {
        VendorSpec {
            id: id.into(),
            name: "Acme".into(),
            categories: vec!["network".into()],
            email: Some("support@acme.test".into()),
            ..VendorSpec::default()
        }
    }

    fn cals() -> Calendars {
        let mut m = BTreeMap::new();
        let s: CalendarSpec = toml::from_str(
            "timezone = \"UTC\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\nthu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]",
        )
        .unwrap();
        m.insert("office".to_string(), s);
        Calendars::new(&m).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn validation_names_vendor_and_field() {
        let c = cals();
        assert!(Vendors::new(&[spec("acme")], &c).is_ok());
        let mut s = spec("acme");
        s.webhook = Some("https://x.test".into());
        let e = Vendors::new(&[s], &c).unwrap_err();
        assert!(e.contains("vendor `acme`") && e.contains("exactly one"), "{e}");
        let mut s = spec("acme");
        s.email = None;
        s.webhook = Some("https://x.test/hook".into());
        let e = Vendors::new(&[s], &c).unwrap_err();
        assert!(e.contains("vendor `acme`: field `signing_env`"), "{e}");
        let mut s = spec("acme");
        s.contract.calendar = "nope".into();
        let e = Vendors::new(&[s], &c).unwrap_err();
        assert!(e.contains("field `contract.calendar`") && e.contains("nope"), "{e}");
        let mut s = spec("acme");
        s.contract.chase_every = "soon".into();
        let e = Vendors::new(&[s], &c).unwrap_err();
        assert!(e.contains("vendor `acme`: field `contract.chase_every`"), "{e}");
        let mut s = spec("acme");
        s.email = Some("not-an-address".into());
        assert!(Vendors::new(&[s], &c).unwrap_err().contains("field `email`"));
        let e = Vendors::new(&[spec("acme"), spec("acme")], &c).unwrap_err();
        assert!(e.contains("used twice"), "{e}");
        let mut s = spec("acme");
        s.email = None;
        s.manual = Some(ManualContact::default());
        assert!(Vendors::new(&[s], &c).unwrap_err().contains("field `manual`"));
    }

    #[test]
    fn vendor_clock_runs_on_the_vendor_calendar() {
        let mut s = spec("acme");
        s.contract = ContractSpec {
            calendar: "office".into(),
            response: "4h".into(),
            resolution: "16h".into(),
            chase_every: "8h".into(),
        };
        let vs = Vendors::new(&[s], &cals()).unwrap();
        let v = vs.get("ACME").unwrap();
        let who = UserRef::new(Platform::Console, "sam", "sam");
        // Friday 15:00: two business hours left on Friday, the rest on Monday.
        let mut c = v.open_case(&who, t("2026-03-06T15:00:00Z"));
        assert_eq!(c.response_due, t("2026-03-09T11:00:00Z"));
        assert_eq!(c.resolution_due, t("2026-03-10T15:00:00Z"));
        // 75% of 4h = 3h: Monday 10:00.
        assert_eq!(v.next_followup(&c), Some((t("2026-03-09T10:00:00Z"), FollowUp::Response)));
        let clk = v.clock(&c, t("2026-03-09T10:00:00Z"));
        assert_eq!(clk.response_used, 75);
        // The vendor answers Monday 09:30: the response clock stops; next is the quiet chase 8h after the update.
        c.responded_at = Some(t("2026-03-09T09:30:00Z"));
        c.last_update_at = c.responded_at;
        assert_eq!(v.clock(&c, t("2026-03-09T12:00:00Z")).response_used, 62);
        assert_eq!(v.next_followup(&c), Some((t("2026-03-10T09:30:00Z"), FollowUp::Quiet)));
        // Resolution at 75% (12h) is Tuesday 11:00; after its warning, the quiet chase is next.
        c.last_update_at = Some(t("2026-03-10T09:00:00Z"));
        assert_eq!(v.next_followup(&c), Some((t("2026-03-10T11:00:00Z"), FollowUp::Resolution)));
        c.warned.push("resolution".into());
        assert_eq!(v.next_followup(&c), Some((t("2026-03-10T17:00:00Z"), FollowUp::Quiet)));
        // A snooze holds everything back; a closed case has no follow-up.
        c.snoozed_until = Some(t("2026-03-12T09:00:00Z"));
        assert_eq!(v.next_followup(&c).unwrap().0, t("2026-03-12T09:00:00Z"));
        assert_eq!(v.snooze_until(t("2026-03-06T16:00:00Z")), t("2026-03-09T09:00:00Z"));
        c.status = CaseStatus::Closed;
        assert_eq!(v.next_followup(&c), None);
    }

    #[test]
    fn contract_days_are_working_days_of_the_vendor_calendar() {
        let mut s = spec("acme");
        s.contract = ContractSpec {
            calendar: "office".into(),
            response: "1d".into(),
            resolution: "3d".into(),
            chase_every: "1d".into(),
        };
        let vs = Vendors::new(&[s], &cals()).unwrap();
        let v = vs.get("ACME").unwrap();
        let who = UserRef::new(Platform::Console, "sam", "sam");
        // Friday 15:00: one working day is Monday 15:00, three are Wednesday 15:00 (not 24 business hours each).
        let c = v.open_case(&who, t("2026-03-06T15:00:00Z"));
        assert_eq!(c.response_due, t("2026-03-09T15:00:00Z"));
        assert_eq!(c.resolution_due, t("2026-03-11T15:00:00Z"));
        // 75% of the 8 business hours of the response day: Monday 13:00.
        assert_eq!(v.next_followup(&c), Some((t("2026-03-09T13:00:00Z"), FollowUp::Response)));
        assert_eq!(v.clock(&c, t("2026-03-09T11:00:00Z")).response_used, 50);
        // `2d` resolution on a `20h` response is refused: two working days are 16 business hours.
        let mut s = spec("acme");
        s.contract = ContractSpec {
            calendar: "office".into(),
            response: "20h".into(),
            resolution: "2d".into(),
            chase_every: "1d".into(),
        };
        assert!(Vendors::new(&[s], &cals()).unwrap_err().contains("shorter than the response target"));
    }
}

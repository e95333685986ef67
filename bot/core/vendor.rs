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

/// How far into a vendor target (percent) warnings fire: 75 (the owner), 90 (the owner and the leads) and the
/// breach at 100 (the escalation channel, the managers, the owner and the vendor's escalation contact).
pub const WARN_LEVELS: [u8; 3] = [75, 90, 100];
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
    /// Our account (customer) number with the vendor: quoted in every message to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Who at the vendor hears of a missed contract target (a duty manager, an account manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationSpec>,
    #[serde(default)]
    pub contract: ContractSpec,
}

/// `[vendors.escalation]`: the vendor's escalation contact. A breach of the contract is sent to `email` or
/// `webhook` (signed like the vendor's, with the key in `signing_env`); `phone` is listed for people to ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EscalationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_env: Option<String>,
}

/// A validated escalation contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Where a breach is sent by deskbot itself (`None`: by phone only).
    pub via: Option<Via>,
}

impl Escalation {
    /// "Jo Duty (escalations@acme.test, +44 …)".
    pub fn describe(&self) -> String {
        let mut how = vec![];
        match &self.via {
            Some(Via::Email { to }) => how.push(to.clone()),
            Some(Via::Webhook { url, .. }) => how.push(format!("webhook {url}")),
            None => {}
        }
        how.extend(self.phone.clone());
        let how = how.join(", ");
        match &self.name {
            Some(n) if how.is_empty() => n.clone(),
            Some(n) => format!("{n} ({how})"),
            None => how,
        }
    }
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
    pub account: Option<String>,
    pub escalation: Option<Escalation>,
}

fn valid_email(e: &str) -> bool {
    e.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !e.contains(char::is_whitespace))
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
                    if !valid_email(e) {
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
            let escalation = match &s.escalation {
                None => None,
                Some(x) => {
                    let via = match (&x.email, &x.webhook) {
                        (Some(_), Some(_)) => {
                            return Err(format!("{}: give email or webhook, not both", at("escalation")));
                        }
                        (Some(e), None) => {
                            let e = e.trim();
                            if !valid_email(e) {
                                return Err(format!("{}: `{e}` is not an email address", at("escalation.email")));
                            }
                            Some(Via::Email { to: e.to_string() })
                        }
                        (None, Some(u)) => {
                            if !(u.starts_with("https://") || u.starts_with("http://")) {
                                return Err(format!("{}: `{u}` is not an http(s) URL", at("escalation.webhook")));
                            }
                            let Some(env) = x.signing_env.as_ref().filter(|e| !e.trim().is_empty()) else {
                                return Err(format!(
                                    "{}: an escalation webhook needs the name of the environment variable holding \
                                     its signing key",
                                    at("escalation.signing_env")
                                ));
                            };
                            Some(Via::Webhook { url: u.clone(), signing_env: env.clone() })
                        }
                        (None, None) => None,
                    };
                    if x.signing_env.is_some() && x.webhook.is_none() {
                        return Err(format!("{}: only an escalation webhook is signed", at("escalation.signing_env")));
                    }
                    if via.is_none() && x.phone.is_none() {
                        return Err(format!("{}: give an email, a webhook or a phone number", at("escalation")));
                    }
                    Some(Escalation { name: x.name.clone(), phone: x.phone.clone(), via })
                }
            };
            if s.account.as_deref().is_some_and(|a| a.trim().is_empty()) {
                return Err(format!("{}: empty (leave it out if there is none)", at("account")));
            }
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
                account: s.account.clone(),
                escalation,
            });
        }
        Ok(Vendors(out))
    }

    /// Signing-key variables named by webhook vendors (and escalation webhooks) that `lookup` finds unset or empty,
    /// as "`VAR` (vendor `id`)". Checked at start-up, so a missing key is not first found at the first send.
    pub fn missing_signing_keys(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut out = vec![];
        for v in &self.0 {
            let mut vias = vec![];
            vias.extend(v.contact.via());
            vias.extend(v.escalation.as_ref().and_then(|e| e.via.clone()));
            for via in vias {
                if let Via::Webhook { signing_env, .. } = via
                    && lookup(&signing_env).is_none_or(|k| k.is_empty())
                {
                    out.push(format!("`{signing_env}` (vendor `{}`)", v.id));
                }
            }
        }
        out
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
    /// The case was ended on our side, not because the vendor fixed anything: the requester no longer needed the
    /// ticket, or it was resolved while the vendor had never answered (#35: such a case scored "resolution met").
    /// Reports leave its resolution target out, unless it had already been missed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended_by_us: bool,
    /// The owner was told that sends keep failing (once per case).
    #[serde(default)]
    pub failure_told: bool,
    /// When the requester was promised the next word on this case (they are sent one then, whatever happened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_update_due: Option<Timestamp>,
    /// The title the case was raised under (the escalated ticket's, which the vendor has): every later mail about
    /// the case uses it, never the title of a ticket it moved to by a merge, whose requester's words were never
    /// escalated (#35). `None` (stored before it was kept): mails name the case neutrally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl VendorCase {
    /// What mails to the vendor call the case on our ticket `n`: the title it was raised under, else "Case REF /
    /// our ref #N".
    pub fn title_for_vendor(&self, n: crate::core::ids::TicketNo) -> String {
        match (&self.title, &self.reference) {
            (Some(t), _) => t.clone(),
            (None, Some(r)) => format!("Case {r} / our ref {n}"),
            (None, None) => format!("Our ref {n}"),
        }
    }
}

impl VendorCase {
    /// Whether `target`'s `percent` warning was given (stored as `response:90`; a bare `response` is the 75%
    /// warning of cases stored before there were more levels).
    pub fn warned_at(&self, target: Target, percent: u8) -> bool {
        let key = format!("{}:{percent}", target.key());
        self.warned.iter().any(|w| *w == key || (percent == 75 && w == target.key()))
    }

    /// Whether `target` is met (answered, or closed): its clock has stopped.
    pub fn met(&self, target: Target) -> bool {
        match target {
            Target::Response => self.responded_at.is_some() || self.status == CaseStatus::Closed,
            Target::Resolution => self.status == CaseStatus::Closed,
        }
    }

    /// Whether the vendor missed `target` (its breach fired).
    pub fn breached(&self, target: Target) -> bool {
        self.warned_at(target, 100)
    }
}

/// A contract target of a vendor case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Response,
    Resolution,
}

impl Target {
    pub fn key(self) -> &'static str {
        match self {
            Target::Response => "response",
            Target::Resolution => "resolution",
        }
    }
}

/// What falls due on a vendor case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// A contract target reached one of [`WARN_LEVELS`] (100: breached) while unmet.
    Target(Target, u8),
    /// `chase_every` passed with no update: the owner is prompted to chase.
    Quiet,
    /// The requester was promised word on the case by now.
    Requester,
}

impl FollowUp {
    pub fn key(self) -> &'static str {
        match self {
            FollowUp::Target(t, _) => t.key(),
            FollowUp::Quiet => "quiet",
            FollowUp::Requester => "requester",
        }
    }
}

fn pct(d: Duration, p: i32) -> Duration {
    Duration::seconds(d.num_seconds() * i64::from(p) / 100)
}

impl Vendor {
    /// A new open case on this vendor's clock.
    ///
    /// `hours` is the working calendar of the escalated ticket (its SLA policy's): the prompts to our owner and the
    /// updates to the requester wait for it (a 24x7 contract must not ping people every couple of hours overnight).
    pub fn open_case(&self, by: &UserRef, now: Timestamp, hours: &Calendar) -> VendorCase {
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
            ended_by_us: false,
            failure_told: false,
            title: None,
            requester_update_due: Some(self.requester_update_after(now, hours)),
        };
        c.next_followup = self.next_followup(&c, hours).map(|(t, _)| t);
        c
    }

    /// Every follow-up of `c` due at `now`, earliest first (see [`Vendor::next_followup`] for which exist).
    pub fn due_followups(&self, c: &VendorCase, now: Timestamp, hours: &Calendar) -> Vec<(Timestamp, FollowUp)> {
        let mut v: Vec<_> = self.followups(c, hours).into_iter().filter(|(t, _)| *t <= now).collect();
        v.sort_by_key(|(t, _)| *t);
        v
    }

    /// The instant `target` reaches `percent` of its business time from the case's opening.
    pub fn level_at(&self, c: &VendorCase, target: Target, percent: u8) -> Timestamp {
        let span = match target {
            Target::Response => self.response,
            Target::Resolution => self.resolution,
        };
        if percent >= 100 {
            return match target {
                Target::Response => c.response_due,
                Target::Resolution => c.resolution_due,
            };
        }
        self.calendar.due(c.opened_at, pct(self.calendar.span_length(c.opened_at, span), i32::from(percent)))
    }

    /// When the requester is next sent word on a case, counting from `now`: `chase_every` on the vendor's calendar,
    /// then the next working moment of `hours` (the ticket's calendar).
    pub fn requester_update_after(&self, now: Timestamp, hours: &Calendar) -> Timestamp {
        within(hours, self.calendar.due_span(now, self.chase_every))
    }

    fn followups(&self, c: &VendorCase, hours: &Calendar) -> Vec<(Timestamp, FollowUp)> {
        if c.status == CaseStatus::Closed {
            return vec![];
        }
        let mut cands = vec![];
        for target in [Target::Response, Target::Resolution] {
            if c.met(target) {
                continue;
            }
            if let Some(p) = WARN_LEVELS.iter().copied().find(|&p| !c.warned_at(target, p)) {
                cands.push((self.level_at(c, target, p), FollowUp::Target(target, p)));
            }
        }
        let quiet_since = [Some(c.opened_at), c.last_update_at, c.last_chase_at, c.last_prompt_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(c.opened_at);
        let quiet = within(hours, self.calendar.due_span(quiet_since, self.chase_every));
        cands.push((c.snoozed_until.map_or(quiet, |s| quiet.max(s)), FollowUp::Quiet));
        cands.extend(c.requester_update_due.map(|t| (t, FollowUp::Requester)));
        cands
    }

    /// What falls due next on `c`, and when: the earliest of the next warning level (75, 90, 100%) of each
    /// unmet contract target, the quiet-chase prompt `chase_every` after the last sign of life (opened, update,
    /// chase, prompt; never before a snooze ends: a snooze holds back prompts, not contract warnings), and the
    /// update promised to the requester; those two wait for the working hours of `hours`. `None` for a closed case.
    pub fn next_followup(&self, c: &VendorCase, hours: &Calendar) -> Option<(Timestamp, FollowUp)> {
        self.followups(c, hours).into_iter().min_by_key(|(t, _)| *t)
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

    /// The end of a snooze started at `now`: one day later, moved to the next opening of the vendor's calendar.
    pub fn snooze_until(&self, now: Timestamp) -> Timestamp {
        self.calendar.due(now + Duration::days(1), Duration::zero())
    }
}

/// `t`, or the next working moment of `hours` when `t` falls outside them.
fn within(hours: &Calendar, t: Timestamp) -> Timestamp {
    if hours.is_always() { t } else { hours.due(t, Duration::zero()).max(t) }
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
    fn prompts_and_requester_updates_wait_for_the_tickets_working_hours() {
        // A 24x7 contract chased every 2 hours, on a ticket worked in office hours (Mon-Fri 09:00-17:00 UTC).
        let mut s = spec("isp");
        s.contract = ContractSpec {
            calendar: "24x7".into(),
            response: "4h".into(),
            resolution: "1d".into(),
            chase_every: "2h".into(),
        };
        let cs = cals();
        let office = cs.get("office").unwrap().clone();
        let vs = Vendors::new(&[s], &cs).unwrap();
        let v = vs.get("isp").unwrap();
        let who = UserRef::new(Platform::Console, "sam", "sam");
        // Escalated Friday 16:30: the contract clock runs all weekend, people are not pinged in it.
        let mut c = v.open_case(&who, t("2026-03-06T16:30:00Z"), &office);
        assert_eq!(c.response_due, t("2026-03-06T20:30:00Z"));
        // Two hours on is 18:30, after hours: the requester hears Monday 09:00.
        assert_eq!(c.requester_update_due, Some(t("2026-03-09T09:00:00Z")));
        // The contract's own warnings keep the vendor's clock (75% of 4h: 19:30 on Friday).
        assert_eq!(
            v.next_followup(&c, &office),
            Some((t("2026-03-06T19:30:00Z"), FollowUp::Target(Target::Response, 75)))
        );
        c.responded_at = Some(t("2026-03-06T17:00:00Z"));
        c.warned = vec!["resolution:75".into(), "resolution:90".into(), "resolution:100".into()];
        // Quiet since 16:30 + 2h = 18:30 -> Monday 09:00, and the requester's word is due then too.
        let due: Vec<_> = v.due_followups(&c, t("2026-03-09T09:00:00Z"), &office).into_iter().collect();
        assert_eq!(
            due,
            vec![(t("2026-03-09T09:00:00Z"), FollowUp::Quiet), (t("2026-03-09T09:00:00Z"), FollowUp::Requester)]
        );
        assert!(v.due_followups(&c, t("2026-03-08T23:59:00Z"), &office).is_empty());
        // Within hours nothing moves: chased at 10:00 Monday, quiet again at 12:00.
        c.last_chase_at = Some(t("2026-03-09T10:00:00Z"));
        c.requester_update_due = Some(v.requester_update_after(t("2026-03-09T10:00:00Z"), &office));
        assert_eq!(c.requester_update_due, Some(t("2026-03-09T12:00:00Z")));
        assert_eq!(v.next_followup(&c, &office).map(|(at, _)| at), Some(t("2026-03-09T12:00:00Z")));
        // A 24x7 ticket is chased on the contract's rhythm, night or not.
        let always = Calendar::always();
        assert_eq!(v.requester_update_after(t("2026-03-06T22:00:00Z"), &always), t("2026-03-07T00:00:00Z"));
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
        let mut c = v.open_case(&who, t("2026-03-06T15:00:00Z"), &Calendar::always());
        assert_eq!(c.response_due, t("2026-03-09T11:00:00Z"));
        assert_eq!(c.resolution_due, t("2026-03-10T15:00:00Z"));
        // The requester is promised word one chase interval (8 business hours) on: Monday 15:00.
        assert_eq!(c.requester_update_due, Some(t("2026-03-09T15:00:00Z")));
        c.requester_update_due = None;
        // 75% of 4h = 3h: Monday 10:00.
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-09T10:00:00Z"), FollowUp::Target(Target::Response, 75)))
        );
        let clk = v.clock(&c, t("2026-03-09T10:00:00Z"));
        assert_eq!(clk.response_used, 75);
        // Unanswered, the response target warns at 90% (Monday 10:36) and breaches at 100% (11:00).
        c.warned.push("response:75".into());
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-09T10:36:00Z"), FollowUp::Target(Target::Response, 90)))
        );
        // After downtime every level due is listed, earliest first.
        let due: Vec<_> =
            v.due_followups(&c, t("2026-03-09T12:00:00Z"), &Calendar::always()).into_iter().map(|(_, f)| f).collect();
        assert_eq!(due, vec![FollowUp::Target(Target::Response, 90)]);
        assert!(!c.breached(Target::Response));
        // The vendor answers Monday 09:30: the response clock stops; next is the quiet chase 8h after the update.
        c.responded_at = Some(t("2026-03-09T09:30:00Z"));
        c.last_update_at = c.responded_at;
        assert_eq!(v.clock(&c, t("2026-03-09T12:00:00Z")).response_used, 62);
        assert_eq!(v.next_followup(&c, &Calendar::always()), Some((t("2026-03-10T09:30:00Z"), FollowUp::Quiet)));
        // Resolution at 75% (12h) is Tuesday 11:00, 90% (14h24m) 13:24, the breach 15:00; then the quiet chase.
        c.last_update_at = Some(t("2026-03-10T09:00:00Z"));
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-10T11:00:00Z"), FollowUp::Target(Target::Resolution, 75)))
        );
        // A bare `resolution` (stored before there were more levels) is the 75% warning.
        c.warned.push("resolution".into());
        assert!(c.warned_at(Target::Resolution, 75));
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-10T13:24:00Z"), FollowUp::Target(Target::Resolution, 90)))
        );
        c.warned.push("resolution:90".into());
        // A snooze holds back the chase prompts, never a contract warning.
        c.snoozed_until = Some(t("2026-03-12T09:00:00Z"));
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-10T15:00:00Z"), FollowUp::Target(Target::Resolution, 100)))
        );
        c.warned.push("resolution:100".into());
        assert!(c.breached(Target::Resolution));
        assert_eq!(v.next_followup(&c, &Calendar::always()), Some((t("2026-03-12T09:00:00Z"), FollowUp::Quiet)));
        c.snoozed_until = None;
        assert_eq!(v.next_followup(&c, &Calendar::always()), Some((t("2026-03-10T17:00:00Z"), FollowUp::Quiet)));
        assert_eq!(v.snooze_until(t("2026-03-06T16:00:00Z")), t("2026-03-09T09:00:00Z"));
        c.status = CaseStatus::Closed;
        assert_eq!(v.next_followup(&c, &Calendar::always()), None);
    }

    #[test]
    fn escalation_contact_and_signing_keys_are_checked() {
        let c = cals();
        let mut s = spec("acme");
        s.escalation = Some(EscalationSpec { phone: Some("+44 1".into()), ..EscalationSpec::default() });
        s.account = Some("ACME-778".into());
        let vs = Vendors::new(&[s.clone()], &c).unwrap();
        assert_eq!(vs.get("acme").unwrap().escalation.as_ref().unwrap().describe(), "+44 1");
        s.escalation = Some(EscalationSpec::default());
        assert!(Vendors::new(&[s.clone()], &c).unwrap_err().contains("field `escalation`"));
        s.escalation = Some(EscalationSpec { webhook: Some("https://x.test/esc".into()), ..EscalationSpec::default() });
        assert!(Vendors::new(&[s.clone()], &c).unwrap_err().contains("escalation.signing_env"));
        s.escalation = Some(EscalationSpec {
            webhook: Some("https://x.test/esc".into()),
            signing_env: Some("ESC_KEY".into()),
            ..EscalationSpec::default()
        });
        let mut w = spec("hooky");
        w.email = None;
        w.webhook = Some("https://hooky.test/in".into());
        w.signing_env = Some("HOOKY_KEY".into());
        let vs = Vendors::new(&[s, w], &c).unwrap();
        let missing = vs.missing_signing_keys(|k| (k == "HOOKY_KEY").then(|| "k".to_string()));
        assert_eq!(missing, vec!["`ESC_KEY` (vendor `acme`)".to_string()]);
        let missing = vs.missing_signing_keys(|k| (k == "ESC_KEY").then(String::new));
        assert_eq!(missing.len(), 2, "an empty key is missing too: {missing:?}");
        assert!(vs.missing_signing_keys(|_| Some("k".into())).is_empty());
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
        let c = v.open_case(&who, t("2026-03-06T15:00:00Z"), &Calendar::always());
        assert_eq!(c.response_due, t("2026-03-09T15:00:00Z"));
        assert_eq!(c.resolution_due, t("2026-03-11T15:00:00Z"));
        // 75% of the 8 business hours of the response day: Monday 13:00.
        assert_eq!(
            v.next_followup(&c, &Calendar::always()),
            Some((t("2026-03-09T13:00:00Z"), FollowUp::Target(Target::Response, 75)))
        );
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

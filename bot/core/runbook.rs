//! Runbooks: guided self-service fixes walked through in chat, one step at a time, with buttons.
//!
//! Runbooks are data (`runbooks/*.toml`, schema in `runbooks/README.md`). This module parses and validates them and
//! runs a walkthrough as a pure, deterministic state machine: the caller passes the time in, persists the
//! [`Walkthrough`] (serde) between messages and turns each [`Outcome`] into chat messages or a ticket change. No I/O
//! happens here.

use super::duration::{human, parse_duration};
use super::ids::clean_name_unbounded;
use super::message::{Button, ButtonStyle};
use super::ticket::{Priority, TicketType, Timestamp};
use super::triage::bounded;
use chrono::Duration;
use regex::{RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

/// The shipped runbooks, embedded so the binary works from any directory. One explicit list; a test checks it
/// matches the `runbooks/` directory.
pub const SHIPPED_RUNBOOKS: &[(&str, &str)] = &[
    ("runbooks/account-locked.toml", include_str!("../../runbooks/account-locked.toml")),
    ("runbooks/joiner.toml", include_str!("../../runbooks/joiner.toml")),
    ("runbooks/leaver.toml", include_str!("../../runbooks/leaver.toml")),
    ("runbooks/meeting-room-av.toml", include_str!("../../runbooks/meeting-room-av.toml")),
    ("runbooks/mfa-new-phone.toml", include_str!("../../runbooks/mfa-new-phone.toml")),
    ("runbooks/new-laptop.toml", include_str!("../../runbooks/new-laptop.toml")),
    ("runbooks/outlook-sync.toml", include_str!("../../runbooks/outlook-sync.toml")),
    ("runbooks/password-expired.toml", include_str!("../../runbooks/password-expired.toml")),
    ("runbooks/printer-offline.toml", include_str!("../../runbooks/printer-offline.toml")),
    ("runbooks/printer-queue.toml", include_str!("../../runbooks/printer-queue.toml")),
    ("runbooks/scan-to-email.toml", include_str!("../../runbooks/scan-to-email.toml")),
    ("runbooks/slow-computer.toml", include_str!("../../runbooks/slow-computer.toml")),
    ("runbooks/vpn-dropping.toml", include_str!("../../runbooks/vpn-dropping.toml")),
    ("runbooks/wifi-connect.toml", include_str!("../../runbooks/wifi-connect.toml")),
];

/// The placeholders the shipped runbooks use; an office sets their values (see `runbooks/README.md`).
pub const STANDARD_PLACEHOLDERS: &[&str] =
    &["helpdesk_phone", "portal_url", "mfa_setup_url", "wifi_name", "vpn_app", "webmail_url"];

/// Who may be named as a request's approver.
pub const APPROVERS: &[&str] = &["manager", "lead", "admin"];

/// `next` value that ends the walkthrough as solved by self-service (deflected).
pub const FIXED: &str = "fixed";
/// `next` value that ends the walkthrough by handing the ticket to a technician.
pub const HANDOFF: &str = "handoff";
/// `next` value that ends the walkthrough with nothing for IT to do ("I'll contact my provider", "OK, I'll print it
/// in the office"): the ticket is resolved, but not as *deflected* (self-service fixed nothing).
pub const NO_ACTION: &str = "no-action";
/// The label of the button the engine adds to every step that has no hand-off button of its own.
pub const TALK_TO_PERSON: &str = "Talk to a person";
/// The reason given when someone presses [`TALK_TO_PERSON`].
pub const TALK_TO_PERSON_REASON: &str = "asked to talk to a person";
/// Prefix of every runbook button action id.
pub const ACTION_PREFIX: &str = "rb:";

const MAX_ID: usize = 40;
const MAX_LABEL: usize = 75;
const MAX_ANSWER: usize = 500;
const MAX_BUTTONS: usize = 5;
const MAX_TIMEOUT_DAYS: i64 = 7;

// ---------------------------------------------------------------------------------------------------------------
// Schema

/// One runbook, as written in a `runbooks/*.toml` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Same as the file name without `.toml`: `printer-queue`.
    pub id: String,
    pub title: String,
    /// Intent ids this runbook is offered for. May be empty for runbooks a technician starts (joiner, leaver).
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(rename = "type", default = "incident")]
    pub ticket_type: TicketType,
    /// For requests that need someone's approval before a technician acts.
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Items technicians tick off on the ticket; it cannot be resolved while any is open.
    #[serde(default)]
    pub checklist: Vec<ChecklistItem>,
    /// Where a walkthrough started by a message opens: the first entry that matches the message wins; when none
    /// does (and always for `/ticket start`), the first step.
    #[serde(default, rename = "entry")]
    pub entries: Vec<EntryPoint>,
    /// The first step is where a walkthrough starts unless an entry matches; its text should fit every message
    /// that can start the runbook.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The ticket's title once the walkthrough hands off, filled from the answers ("Leaver: {{ name }},
    /// {{ access_ends }}"); a [`TicketDate`] field is shown short ("Fri 13 Mar").
    #[serde(default)]
    pub ticket_title: Option<String>,
    /// The answer that dates the work (a leaver's access end, a joiner's first day): read as a date when it is
    /// given, and tied to the ticket's priority, resolution target and alerts (#33).
    #[serde(default)]
    pub ticket_date: Option<TicketDate>,
}

/// `ticket_date = { field = "access_ends", means = "access-end" }`: which answer dates the ticket, and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketDate {
    /// An `ask` field of the runbook.
    pub field: String,
    pub means: DateMeaning,
}

/// What a runbook's [`TicketDate`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateMeaning {
    /// When a leaver's access ends: a date and time, or "immediately".
    AccessEnd,
    /// A joiner's first day: a date.
    FirstDay,
}

impl DateMeaning {
    /// What the answer must give.
    pub fn wanted(self) -> super::dates::Wanted {
        match self {
            DateMeaning::AccessEnd => super::dates::Wanted::DateTime,
            DateMeaning::FirstDay => super::dates::Wanted::Date,
        }
    }
}

fn incident() -> TicketType {
    TicketType::Incident
}

/// A request's approval: who approves, and which answers the approval card shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// `manager` (the requester's manager), `lead` or `admin`.
    pub approver: String,
    /// `ask` fields shown on the approval card, in this order.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Roles whose own requests need no approval (`leaver`: raised by a manager or an admin it goes straight to the
    /// technicians; raised by anyone else, a manager approves it first).
    #[serde(default)]
    pub unless_raised_by: Vec<String>,
}

/// One thing a technician must do and tick off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
}

/// An `[[entry]]`: a way into a runbook for a message that says which branch fits: `when` (case-insensitive regexes over the
/// message, any may match) and/or `intents` (the classified intent is one of them); both must hold when both are
/// given. `step` is where the walkthrough opens, or `handoff`: no walkthrough at all, the ticket goes straight to
/// a technician (a fault no self-service can fix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    #[serde(default)]
    pub when: Vec<String>,
    #[serde(default)]
    pub intents: Vec<String>,
    /// A step id, or `handoff`.
    pub step: String,
    /// Also fits a message whose intent triage could not tell, in the category of `intents` (or `other`), as if it
    /// had one of them: for a request that must reach its approver however it is worded (see
    /// [`Runbook::opening_unsure`]).
    #[serde(default)]
    pub unsure_intent: bool,
    #[serde(skip)]
    matcher: Matcher,
}

/// How large an entry's `when` patterns may be together, compiled (Unicode `\w` classes are large: the leaver's
/// five patterns outgrew 1 MiB, and the entry then silently fitted nothing). Validation checks the whole set.
const WHEN_SIZE_LIMIT: usize = 16 << 20;

/// `when` compiled once, on first use (validation compiles each pattern on its own to name a bad one).
#[derive(Debug, Clone, Default)]
struct Matcher(std::sync::OnceLock<Option<RegexSet>>);

impl PartialEq for Matcher {
    /// Derived from `when`, which the entry compares itself.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

fn compile_when(patterns: &[String]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns).case_insensitive(true).size_limit(WHEN_SIZE_LIMIT).build()
}

impl EntryPoint {
    /// Whether this entry fits a message classified as `intent`. Only the part of the text that triage reads is
    /// looked at ([`bounded`]).
    pub fn matches(&self, intent: Option<&str>, text: &str) -> bool {
        if !self.intents.is_empty() && !intent.is_some_and(|i| self.intents.iter().any(|x| x == i)) {
            return false;
        }
        if self.when.is_empty() {
            return true;
        }
        let set = self.matcher.0.get_or_init(|| compile_when(&self.when).ok());
        set.as_ref().is_some_and(|s| s.is_match(bounded(text)))
    }
}

/// How a walkthrough started by a message opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Opening<'a> {
    /// Walk through from this step.
    Step(&'a Step),
    /// No walkthrough: the message describes something only a technician can fix.
    Handoff,
}

/// One step of a walkthrough: a message, then EITHER buttons OR a free-text question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    /// Markdown; may contain `{{ placeholder }}` and `{{ field }}` for earlier answers.
    pub say: String,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub buttons: Vec<ButtonSpec>,
    #[serde(default)]
    pub ask: Option<Ask>,
    /// No answer within this (`30m`, `4h`): one reminder, then hand-off.
    #[serde(default)]
    pub timeout: Option<String>,
}

/// A button on a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonSpec {
    pub label: String,
    /// Another step's id, `fixed` or `handoff`.
    pub next: String,
    /// Only with `next = "handoff"`: what the technician is told.
    #[serde(default)]
    pub reason: Option<String>,
    /// Only with `next = "handoff"` in a runbook with `[approval]`: the hand-off waits for approval.
    #[serde(default)]
    pub approval: bool,
    /// Only with `next = "handoff"`: the ticket's priority after this hand-off (`P1`..`P4`), when that is more
    /// urgent than the one it has ("Lost or stolen" is a security matter). Never lowers it, and never overrides a
    /// priority a technician set.
    #[serde(default)]
    pub priority: Option<String>,
}

/// A free-text question: the answer is stored under `field`, then the walkthrough goes to `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub field: String,
    pub next: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub approval: bool,
    /// A pattern (case-insensitive) that finds the answer in the message that opened the ticket: its first capture
    /// group, or the whole match without one. When it matches, the question is not asked ("Which room are you in?"
    /// after "the boardroom screen is blank", probe J).
    #[serde(default)]
    pub from_message: Option<String>,
}

/// Where a button or answer leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    Step(&'a str),
    Fixed,
    /// Nothing for IT to do: resolved, not deflected.
    NoAction,
    Handoff {
        reason: Option<&'a str>,
        approval: bool,
    },
}

impl ButtonSpec {
    pub fn target(&self) -> Next<'_> {
        target(&self.next, self.reason.as_deref(), self.approval)
    }
}

impl Ask {
    pub fn target(&self) -> Next<'_> {
        target(&self.next, self.reason.as_deref(), self.approval)
    }

    /// The answer `text` (the opening message) already gives, by [`Ask::from_message`].
    pub fn answer_in(&self, text: &str) -> Option<String> {
        let re = regex::RegexBuilder::new(self.from_message.as_deref()?).case_insensitive(true).build().ok()?;
        let c = re.captures(bounded(text))?;
        let m = c.get(1).or_else(|| c.get(0))?;
        let answer = m.as_str().trim();
        (!answer.is_empty()).then(|| answer.to_string())
    }
}

fn target<'a>(next: &'a str, reason: Option<&'a str>, approval: bool) -> Next<'a> {
    match next {
        FIXED => Next::Fixed,
        NO_ACTION => Next::NoAction,
        HANDOFF => Next::Handoff { reason, approval },
        s => Next::Step(s),
    }
}

impl Step {
    /// Every way out of this step, in button order (an `ask` step has one).
    fn targets(&self) -> Vec<Next<'_>> {
        let mut t: Vec<_> = self.buttons.iter().map(|b| b.target()).collect();
        if let Some(a) = &self.ask {
            t.push(a.target());
        }
        t
    }

    fn has_handoff_button(&self) -> bool {
        self.buttons.iter().any(|b| matches!(b.target(), Next::Handoff { .. }))
    }

    /// The step's timeout; `None` if absent or (never after validation) unparsable.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.as_deref().and_then(|t| parse_duration(t).ok())
    }
}

impl Runbook {
    /// A fix for the person to try themselves (an incident runbook with no approval), as opposed to a request
    /// whose questions collect what the technician needs (joiner, leaver, new-laptop): a P1 skips the former.
    pub fn is_self_help(&self) -> bool {
        self.ticket_type == TicketType::Incident && self.approval.is_none()
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn first_step(&self) -> Option<&Step> {
        self.steps.first()
    }

    /// The first entry that fits a message classified as `intent`, if any.
    pub fn entry_for(&self, intent: Option<&str>, text: &str) -> Option<&EntryPoint> {
        self.entries.iter().find(|e| e.matches(intent, text))
    }

    /// For a message whose intent triage could not tell, taken as `intent`: the step the first fitting entry opens
    /// at, when that entry is marked `unsure_intent` (`None` otherwise: a broader entry, or a hand-off, fits first).
    pub fn opening_unsure(&self, intent: &str, text: &str) -> Option<&Step> {
        let e = self.entry_for(Some(intent), text).filter(|e| e.unsure_intent && e.step != HANDOFF)?;
        self.step(&e.step)
    }

    /// Where a walkthrough for this message opens when an entry fits it: the first matching entry's step, or no
    /// walkthrough for a `handoff` entry. `None` when no entry fits (then the first step opens).
    pub fn opening(&self, intent: Option<&str>, text: &str) -> Option<Opening<'_>> {
        let e = self.entry_for(intent, text)?;
        if e.step == HANDOFF { Some(Opening::Handoff) } else { self.step(&e.step).map(Opening::Step) }
    }

    /// The ticket title `ticket_title` gives with these answers (the [`TicketDate`] field short: "Fri 13 Mar"), or
    /// `None`: no `ticket_title`, or a field it uses has no answer (a walkthrough handed off halfway).
    pub fn ticket_title_for(&self, answers: &BTreeMap<String, String>, tz: chrono_tz::Tz) -> Option<String> {
        let template = self.ticket_title.as_ref()?;
        let names = placeholders(template).ok()?;
        let mut shown = BTreeMap::new();
        for n in names {
            let answer = answers.get(n).map(|a| a.trim()).filter(|a| !a.is_empty())?;
            let value = match &self.ticket_date {
                Some(d) if d.field == n => super::dates::from_canonical(answer, tz, d.means.wanted())
                    .map(|r| super::dates::short(r, tz))
                    .unwrap_or_else(|| answer.to_string()),
                _ => answer.to_string(),
            };
            shown.insert(n.to_string(), value);
        }
        Some(super::ticket::title_from(&render_raw(template, &BTreeMap::new(), &shown)))
    }

    /// Whether someone with `role` raising this request needs its approval (`approval.unless_raised_by`).
    pub fn needs_approval_from(&self, role: super::roles::Role) -> bool {
        self.approval.as_ref().is_some_and(|a| !a.unless_raised_by.iter().any(|r| r == role.as_str()))
    }

    /// The `ask` fields of all steps.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| s.ask.as_ref().map(|a| a.field.as_str()))
    }
}

/// Parses one runbook file. Errors name the file.
pub fn parse(file: &str, text: &str) -> Result<Runbook, String> {
    toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim_end()))
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

/// Every problem found in a set of runbook files, one line each, naming the file and the step.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<String>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ValidationErrors {}

/// Validated runbooks, by id.
#[derive(Debug, Clone, Default)]
pub struct RunbookSet {
    runbooks: Vec<Runbook>,
    files: Vec<String>,
}

impl RunbookSet {
    pub fn get(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id == id)
    }

    /// The file a runbook came from.
    pub fn file_of(&self, id: &str) -> Option<&str> {
        self.runbooks.iter().position(|r| r.id == id).map(|i| self.files[i].as_str())
    }

    /// Runbooks offered for an intent, in file order.
    pub fn for_intent(&self, intent: &str) -> Vec<&Runbook> {
        self.runbooks.iter().filter(|r| r.intents.iter().any(|i| i == intent)).collect()
    }

    pub fn all(&self) -> &[Runbook] {
        &self.runbooks
    }

    pub fn len(&self) -> usize {
        self.runbooks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runbooks.is_empty()
    }
}

/// Parses and validates runbook files (`(file name, contents)`), against the intent ids and placeholder names that
/// exist. Reports every problem, each naming the file and, where there is one, the step.
pub fn validate(
    files: &[(impl AsRef<str>, impl AsRef<str>)],
    known_intents: &[&str],
    known_placeholders: &[&str],
) -> Result<RunbookSet, ValidationErrors> {
    let mut errors = vec![];
    let mut set = RunbookSet::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (file, text) in files {
        let file = file.as_ref();
        let rb = match parse(file, text.as_ref()) {
            Ok(rb) => rb,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        errors.extend(check(file, &rb, known_intents, known_placeholders));
        if let Some(prev) = seen.insert(rb.id.clone(), file.to_string()) {
            errors.push(format!("{file}: duplicate runbook id \"{}\" (also in {prev})", rb.id));
        }
        set.files.push(file.to_string());
        set.runbooks.push(rb);
    }
    if errors.is_empty() { Ok(set) } else { Err(ValidationErrors(errors)) }
}

/// The runbooks compiled into the binary, validated.
pub fn shipped(known_intents: &[&str], known_placeholders: &[&str]) -> Result<RunbookSet, ValidationErrors> {
    validate(SHIPPED_RUNBOOKS, known_intents, known_placeholders)
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The placeholder names in a template, or why it is malformed.
fn placeholders(s: &str) -> Result<Vec<&str>, String> {
    let mut out = vec![];
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Err("has `{{` with no closing `}}`".to_string());
        };
        let name = after[..j].trim();
        if !valid_name(name) {
            return Err(format!(
                "has a bad placeholder `{{{{{}}}}}` (use lowercase letters, digits and _)",
                &after[..j]
            ));
        }
        out.push(name);
        rest = &after[j + 2..];
    }
    Ok(out)
}

/// Fills `{{ name }}` from `vars`, then from the walkthrough's answers; unknown names are left as written. An
/// answer is the requester's own text, so it is marked as quoted ([`crate::core::message::quoted`]): each platform
/// escapes it, and "**approved**" typed as a room name cannot turn bold in a step's markdown (#30).
fn render(s: &str, vars: &BTreeMap<String, String>, answers: &BTreeMap<String, String>) -> String {
    fill(s, vars, answers, true)
}

/// [`render`] for a link or an image: the answer goes in as written (a URL has no markup to escape).
fn render_raw(s: &str, vars: &BTreeMap<String, String>, answers: &BTreeMap<String, String>) -> String {
    fill(s, vars, answers, false)
}

fn fill(s: &str, vars: &BTreeMap<String, String>, answers: &BTreeMap<String, String>, mark: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = after[..j].trim();
        match (vars.get(name), answers.get(name)) {
            (Some(v), _) => out.push_str(v),
            (None, Some(v)) if mark => out.push_str(&crate::core::message::quoted(v)),
            (None, Some(v)) => out.push_str(v),
            (None, None) => out.push_str(&rest[i..i + 2 + j + 2]),
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

/// Validates one parsed runbook. Each error names the file and, where there is one, the step.
pub fn check(file: &str, rb: &Runbook, known_intents: &[&str], known_placeholders: &[&str]) -> Vec<String> {
    let mut errs = vec![];
    let mut e = |s: String| errs.push(format!("{file}: {s}"));

    if !valid_id(&rb.id) {
        e(format!("runbook id \"{}\" must be 1-{MAX_ID} lowercase letters, digits, - or _", rb.id));
    }
    let stem = file.rsplit(['/', '\\']).next().unwrap_or(file).strip_suffix(".toml");
    if let Some(stem) = stem
        && stem != rb.id
    {
        e(format!("runbook id \"{}\" must match the file name \"{stem}.toml\"", rb.id));
    }
    if rb.title.trim().is_empty() {
        e("`title` is empty".to_string());
    }
    for i in &rb.intents {
        if !known_intents.contains(&i.as_str()) {
            e(format!("unknown intent \"{i}\""));
        }
    }

    // Checklist.
    let mut items = HashSet::new();
    for item in &rb.checklist {
        if !valid_id(&item.id) {
            e(format!("checklist item \"{}\": id must be 1-{MAX_ID} lowercase letters, digits, - or _", item.id));
        } else if !items.insert(item.id.as_str()) {
            e(format!("checklist item \"{}\": duplicate id", item.id));
        }
        if item.text.trim().is_empty() {
            e(format!("checklist item \"{}\": `text` is empty", item.id));
        }
    }

    // Approval.
    let fields: BTreeSet<&str> = rb.fields().collect();
    if let Some(a) = &rb.approval {
        if rb.ticket_type != TicketType::Request {
            e("`approval` is only for runbooks with type = \"request\"".to_string());
        }
        if !APPROVERS.contains(&a.approver.as_str()) {
            e(format!("approval: unknown approver \"{}\" (use one of: {})", a.approver, APPROVERS.join(", ")));
        }
        for f in &a.fields {
            if !fields.contains(f.as_str()) {
                e(format!("approval: field \"{f}\" is not asked by any step"));
            }
        }
        let any = rb.steps.iter().flat_map(|s| s.targets()).any(|t| matches!(t, Next::Handoff { approval: true, .. }));
        if !any {
            e("`approval` is set but no button or ask hands off with approval = true".to_string());
        }
    }

    if let Some(a) = &rb.approval {
        for r in &a.unless_raised_by {
            if super::roles::Role::parse(r).is_none() {
                e(format!("approval: field `unless_raised_by`: unknown role \"{r}\""));
            }
        }
    }
    if let Some(d) = &rb.ticket_date
        && !fields.contains(d.field.as_str())
    {
        e(format!("field `ticket_date.field`: \"{}\" is not asked by any step", d.field));
    }
    if let Some(title) = &rb.ticket_title {
        if title.trim().is_empty() {
            e("field `ticket_title` is empty".to_string());
        }
        match placeholders(title) {
            Err(why) => e(format!("field `ticket_title` {why}")),
            Ok(names) => {
                for n in names.into_iter().filter(|n| !fields.contains(n)) {
                    e(format!("field `ticket_title`: \"{{{{ {n} }}}}\" is not asked by any step"));
                }
            }
        }
    }

    if rb.steps.is_empty() {
        e("has no steps".to_string());
        return errs;
    }

    // Steps, buttons, asks.
    let mut ids: HashSet<&str> = HashSet::new();
    let mut structural = false;
    for s in &rb.steps {
        if ids.contains(s.id.as_str()) {
            e(format!("step \"{}\": duplicate step id", s.id));
            structural = true;
        }
        ids.insert(&s.id);
    }
    let mut asked = HashSet::new();
    for s in &rb.steps {
        let at = format!("step \"{}\"", s.id);
        if !valid_id(&s.id) {
            e(format!("{at}: step id must be 1-{MAX_ID} lowercase letters, digits, - or _"));
        }
        if s.id == FIXED || s.id == HANDOFF || s.id == NO_ACTION {
            e(format!("{at}: \"{FIXED}\", \"{NO_ACTION}\" and \"{HANDOFF}\" are reserved and cannot be step ids"));
        }
        if s.say.trim().is_empty() {
            e(format!("{at}: `say` is empty"));
        }
        match (s.buttons.is_empty(), &s.ask) {
            (true, None) => {
                e(format!("{at}: has neither `buttons` nor `ask`; every step needs a way on"));
                structural = true;
            }
            (false, Some(_)) => e(format!("{at}: has both `buttons` and `ask`; use one")),
            _ => {}
        }
        if s.buttons.len() > MAX_BUTTONS {
            e(format!("{at}: has {} buttons; at most {MAX_BUTTONS}", s.buttons.len()));
        }
        for (what, text) in [("say", Some(&s.say)), ("link", s.link.as_ref()), ("image", s.image.as_ref())] {
            let Some(text) = text else { continue };
            match placeholders(text) {
                Err(why) => e(format!("{at}: `{what}` {why}")),
                Ok(names) => {
                    for n in names {
                        if !known_placeholders.contains(&n) && !fields.contains(n) {
                            e(format!("{at}: unknown placeholder \"{{{{ {n} }}}}\" in `{what}`"));
                        }
                    }
                }
            }
        }
        match &s.timeout {
            // A person who walks away must not leave the ticket outside the queue for ever (#33).
            None => e(format!(
                "{at}: field `timeout` is missing: every step needs one (no answer within it: one reminder, then a \
                 hand-off to a technician)"
            )),
            Some(t) => match parse_duration(t) {
                Err(why) => e(format!("{at}: bad timeout \"{t}\": {why}")),
                Ok(d) if d <= Duration::zero() => e(format!("{at}: bad timeout \"{t}\": must be more than zero")),
                Ok(d) if d > Duration::days(MAX_TIMEOUT_DAYS) => {
                    e(format!("{at}: bad timeout \"{t}\": at most {MAX_TIMEOUT_DAYS}d"))
                }
                Ok(_) => {}
            },
        }
        let mut labels = HashSet::new();
        for b in &s.buttons {
            let bat = format!("{at}: button \"{}\"", b.label);
            let label = b.label.trim();
            if label.is_empty() {
                e(format!("{at}: a button has an empty `label`"));
            } else if b.label.chars().count() > MAX_LABEL {
                e(format!("{bat}: label is longer than {MAX_LABEL} characters"));
            } else if !labels.insert(label.to_lowercase()) {
                e(format!("{bat}: duplicate label"));
            }
            if label.eq_ignore_ascii_case(TALK_TO_PERSON) && !matches!(b.target(), Next::Handoff { .. }) {
                e(format!("{bat}: must lead to \"{HANDOFF}\""));
            }
            if let Some(p) = &b.priority {
                if b.next != HANDOFF {
                    e(format!("{bat}: `priority` is only for next = \"{HANDOFF}\""));
                } else if !matches!(p.as_str(), "P1" | "P2" | "P3" | "P4") {
                    e(format!("{bat}: field `priority`: \"{p}\" is not one of P1, P2, P3, P4"));
                }
            }
            let raw = (b.next.as_str(), b.reason.as_deref(), b.approval);
            structural |= check_target(&mut e, &bat, raw, &ids, rb.approval.is_some());
        }
        if let Some(a) = &s.ask {
            let aat = format!("{at}: ask");
            if !valid_name(&a.field) {
                e(format!("{aat}: field \"{}\" must be 1-{MAX_ID} lowercase letters, digits or _", a.field));
            } else if !asked.insert(a.field.as_str()) {
                e(format!("{aat}: field \"{}\" is already asked by another step", a.field));
            }
            if let Some(p) = &a.from_message
                && let Err(why) = regex::RegexBuilder::new(p).case_insensitive(true).build()
            {
                e(format!("{aat}: field `from_message` (`{p}`) does not compile: {why}"));
            }
            let raw = (a.next.as_str(), a.reason.as_deref(), a.approval);
            structural |= check_target(&mut e, &aat, raw, &ids, rb.approval.is_some());
        }
    }

    // Entries: where a walkthrough started by a message opens.
    let mut entry_steps = vec![];
    for (n, en) in rb.entries.iter().enumerate() {
        let at = format!("entry {}", n + 1);
        if en.when.is_empty() && en.intents.is_empty() {
            e(format!("{at}: needs `when` or `intents` (an entry that fits every message would hide the first step)"));
        }
        if en.unsure_intent && (rb.approval.is_none() || en.when.is_empty() || en.intents.is_empty()) {
            e(format!(
                "{at}: field `unsure_intent`: only for a runbook with `approval`, on an entry with both `when` and \
                 `intents` (it stands in for an intent triage could not tell)"
            ));
        }
        match en.step.as_str() {
            HANDOFF => {}
            FIXED | NO_ACTION => e(format!(
                "{at}: field `step`: \"{}\" cannot open a walkthrough; use a step id or \"{HANDOFF}\"",
                en.step
            )),
            id if ids.contains(id) => entry_steps.push(id),
            id => e(format!("{at}: field `step`: unknown step \"{id}\"")),
        }
        for (i, p) in en.when.iter().enumerate() {
            if p.trim().is_empty() {
                e(format!("{at}: field `when[{i}]` is empty"));
            } else if let Err(why) = compile_when(std::slice::from_ref(p)) {
                e(format!("{at}: field `when[{i}]` (`{p}`) does not compile: {why}"));
            }
        }
        // Each pattern may compile and the set still not: then the entry would fit nothing, silently.
        if en.when.iter().all(|p| compile_when(std::slice::from_ref(p)).is_ok())
            && let Err(why) = compile_when(&en.when)
        {
            e(format!(
                "{at}: field `when`: the patterns together are too large to compile ({why}); split them over two entries or simplify them"
            ));
        }
        for i in &en.intents {
            if !rb.intents.contains(i) {
                e(format!("{at}: field `intents`: \"{i}\" is not one of the runbook's `intents`"));
            }
        }
    }

    if structural {
        return errs;
    }

    // Graph: every step reachable from the first (or an entry), and every step able to reach an explicit ending
    // through its own buttons and asks (the implicit "Talk to a person" does not count).
    let mut reached: HashSet<&str> = HashSet::new();
    let mut queue = VecDeque::from([rb.steps[0].id.as_str()]);
    queue.extend(entry_steps.iter().copied());
    while let Some(id) = queue.pop_front() {
        if !reached.insert(id) {
            continue;
        }
        let step = rb.step(id).expect("ids checked");
        for t in step.targets() {
            if let Next::Step(n) = t {
                queue.push_back(n);
            }
        }
    }
    for s in &rb.steps {
        if !reached.contains(s.id.as_str()) {
            let or_entry = if entry_steps.is_empty() { "" } else { " or an entry" };
            e(format!("step \"{}\": unreachable from the first step \"{}\"{or_entry}", s.id, rb.steps[0].id));
        }
    }
    let mut can_end: HashSet<&str> = HashSet::new();
    loop {
        let before = can_end.len();
        for s in &rb.steps {
            let ends = s.targets().iter().any(|t| match t {
                Next::Fixed | Next::NoAction | Next::Handoff { .. } => true,
                Next::Step(n) => can_end.contains(n),
            });
            if ends {
                can_end.insert(&s.id);
            }
        }
        if can_end.len() == before {
            break;
        }
    }
    let stuck: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).filter(|id| !can_end.contains(id)).collect();
    for id in &stuck {
        let names: Vec<String> = stuck.iter().map(|s| format!("\"{s}\"")).collect();
        e(format!(
            "step \"{id}\": a loop with no way out: \"{FIXED}\" or \"{HANDOFF}\" can never be reached from here \
             (stuck among steps {})",
            names.join(", ")
        ));
    }
    errs
}

/// Checks where a button or ask leads; true if it names an unknown step.
fn check_target(
    e: &mut impl FnMut(String),
    at: &str,
    (next, reason, approval): (&str, Option<&str>, bool),
    ids: &HashSet<&str>,
    has_approval: bool,
) -> bool {
    if next != HANDOFF {
        if reason.is_some() {
            e(format!("{at}: `reason` is only for next = \"{HANDOFF}\""));
        }
        if approval {
            e(format!("{at}: `approval` is only for next = \"{HANDOFF}\""));
        }
    }
    match target(next, reason, approval) {
        Next::Step(n) if !ids.contains(n) => {
            e(format!("{at} leads to unknown step \"{n}\""));
            true
        }
        Next::Handoff { reason, approval } => {
            if reason.is_some_and(|r| r.trim().is_empty()) {
                e(format!("{at}: `reason` is empty"));
            }
            if approval && !has_approval {
                e(format!("{at}: approval = true but the runbook has no `approval`"));
            }
            false
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Button action ids

/// What a runbook button does: one of the step's own buttons, or the implicit "Talk to a person".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The step's button at this index (0-based, as written in the file).
    Button(usize),
    /// The engine's "Talk to a person".
    Person,
}

/// A runbook button's action id, `rb:<runbook>:<step>:<index>` or `rb:<runbook>:<step>:p` (at most 100 characters
/// for valid ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRef {
    pub runbook: String,
    pub step: String,
    pub choice: Choice,
}

impl ActionRef {
    pub fn encode(&self) -> String {
        let c = match self.choice {
            Choice::Button(i) => i.to_string(),
            Choice::Person => "p".to_string(),
        };
        format!("{ACTION_PREFIX}{}:{}:{c}", self.runbook, self.step)
    }

    /// Parses an action id made by [`ActionRef::encode`]; `None` for anything else.
    pub fn parse(action: &str) -> Option<ActionRef> {
        let rest = action.strip_prefix(ACTION_PREFIX)?;
        let mut parts = rest.split(':');
        let (runbook, step, c) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !valid_id(runbook) || !valid_id(step) {
            return None;
        }
        let choice = match c {
            "p" => Choice::Person,
            n if !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()) => {
                Choice::Button(n.parse().ok()?)
            }
            _ => return None,
        };
        Some(ActionRef { runbook: runbook.to_string(), step: step.to_string(), choice })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Walkthrough engine

/// What to show the person for the current step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub runbook: String,
    pub step: String,
    /// The step's `say`, placeholders filled.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The step's buttons then, unless the step has its own hand-off button, "Talk to a person".
    pub buttons: Vec<Button>,
    /// Set on an `ask` step: the field the next free-text message from the person is stored under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<String>,
}

impl View {
    /// The text with the link (if any) on its own line: what a plain-text adapter posts.
    pub fn full_text(&self) -> String {
        match &self.link {
            Some(l) => format!("{}\n{l}", self.text),
            None => self.text.clone(),
        }
    }
}

/// How a walkthrough ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Ending {
    Fixed,
    Handoff {
        reason: String,
    },
    /// Nothing for IT to do (`next = "no-action"`).
    NoAction,
}

/// What happened at one moment of a walkthrough.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The bot showed a step (its first line, shortened).
    Shown {
        text: String,
    },
    Pressed {
        label: String,
    },
    Answered {
        field: String,
        text: String,
    },
    Reminded,
    TimedOut,
    /// The person typed a message at a step that waits for a button (#33 probe): kept, so the technician reads
    /// it, whether or not it was matched to a button.
    Typed {
        text: String,
    },
}

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    pub step: String,
    pub event: Event,
}

/// A walkthrough in progress (or ended). Serialise it to persist; it resumes exactly after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Walkthrough {
    pub runbook: String,
    pub title: String,
    /// The current step (the last one shown).
    pub step: String,
    pub started_at: Timestamp,
    pub transcript: Vec<Entry>,
    /// `ask` field → answer.
    pub answers: BTreeMap<String, String>,
    /// The current step's reminder has been sent.
    pub reminder_sent: bool,
    /// When the current step times out (reminder first, then hand-off); `None` when it has no timeout.
    pub deadline: Option<Timestamp>,
    pub ended: Option<Ending>,
    /// Answers already known before their step is reached (a leaver's name and date, taken from the message that
    /// opened the ticket): the first time the walkthrough comes to an `ask` step with one of these fields, the
    /// answer is used instead of asking, and the step shown next says so (#33 probe: "Priya Raman is leaving on
    /// Friday", then "Who is leaving?"). Each is used once, so "Change the details" asks everything again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub known: BTreeMap<String, String>,
    /// The `ask` fields answered from `known`, not by the person at their step: nothing they tried.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub taken: BTreeSet<String>,
}

impl Walkthrough {
    /// Whether the person did anything in it: pressed a button, typed at a step, or answered a question (an answer
    /// taken from their first message is nothing they tried).
    pub fn tried(&self) -> bool {
        self.transcript.iter().any(|e| match &e.event {
            Event::Pressed { .. } | Event::Typed { .. } => true,
            Event::Answered { field, .. } => !self.taken.contains(field),
            _ => false,
        })
    }
}

/// A hand-off that must be approved before a technician acts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// `manager`, `lead` or `admin`.
    pub approver: String,
    /// The runbook's `approval.fields` with the answers given, in order (`(field, answer)`).
    pub details: Vec<(String, String)>,
}

/// The result of a press, an answer or a tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// Show the next step.
    Show { view: View },
    /// No answer in time: show the step again as a reminder.
    Remind { view: View },
    /// "ok, will try that": the person is trying the step; a word (no buttons again: they are just above) and the
    /// step's timeout starts again.
    Wait { text: String },
    /// Solved by self-service: resolve the ticket as deflected.
    Fixed { transcript: Vec<Entry> },
    /// Hand the ticket to a technician (after approval, when `approval` is set).
    Handoff {
        reason: String,
        approval: Option<ApprovalRequest>,
        transcript: Vec<Entry>,
        /// The pressed button's `priority`: the ticket becomes at least this urgent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<Priority>,
    },
    /// Nothing for IT to do: resolve the ticket, not as deflected.
    NoAction { transcript: Vec<Entry> },
}

/// Why a press or an answer was not accepted. The walkthrough is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("that button belongs to runbook \"{pressed}\", not \"{current}\"")]
    WrongRunbook { pressed: String, current: String },
    #[error("that button is from an earlier step; please use the buttons on the latest message")]
    Stale { pressed: String, current: String },
    #[error("there is no such button on this step")]
    NoSuchButton,
    #[error("this walkthrough has already ended")]
    Ended,
    #[error("this step is waiting for a button, not text")]
    NotAsking,
    #[error("please type an answer")]
    EmptyAnswer,
    /// The runbook changed since the walkthrough was saved and no longer has its step; hand it off.
    #[error("runbook \"{runbook}\" has no step \"{step}\" any more")]
    UnknownStep { runbook: String, step: String },
}

fn summary(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if line.chars().count() > 160 { format!("{}…", line.chars().take(159).collect::<String>()) } else { line.into() }
}

/// The view of the current step.
pub fn view(rb: &Runbook, wt: &Walkthrough, vars: &BTreeMap<String, String>) -> Result<View, WalkError> {
    let step = current(rb, wt)?;
    Ok(view_of(rb, step, vars, &wt.answers))
}

fn view_of(rb: &Runbook, step: &Step, vars: &BTreeMap<String, String>, answers: &BTreeMap<String, String>) -> View {
    let action = |choice| ActionRef { runbook: rb.id.clone(), step: step.id.clone(), choice }.encode();
    let mut buttons: Vec<Button> = step
        .buttons
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut btn = Button::new(b.label.clone(), action(Choice::Button(i)));
            if matches!(b.target(), Next::Fixed) {
                btn.style = ButtonStyle::Primary;
            }
            btn
        })
        .collect();
    if !step.has_handoff_button() {
        buttons.push(Button::new(TALK_TO_PERSON, action(Choice::Person)));
    }
    View {
        runbook: rb.id.clone(),
        step: step.id.clone(),
        text: render(&step.say, vars, answers),
        link: step.link.as_ref().map(|l| render_raw(l, vars, answers)),
        image: step.image.as_ref().map(|l| render_raw(l, vars, answers)),
        buttons,
        ask: step.ask.as_ref().map(|a| a.field.clone()),
    }
}

fn current<'a>(rb: &'a Runbook, wt: &Walkthrough) -> Result<&'a Step, WalkError> {
    if wt.runbook != rb.id {
        return Err(WalkError::WrongRunbook { pressed: rb.id.clone(), current: wt.runbook.clone() });
    }
    if wt.ended.is_some() {
        return Err(WalkError::Ended);
    }
    rb.step(&wt.step).ok_or_else(|| WalkError::UnknownStep { runbook: rb.id.clone(), step: wt.step.clone() })
}

/// Enters `step`: records it, sets its deadline and returns its view.
fn enter(rb: &Runbook, wt: &mut Walkthrough, step: &Step, vars: &BTreeMap<String, String>, now: Timestamp) -> View {
    let view = view_of(rb, step, vars, &wt.answers);
    wt.step = step.id.clone();
    wt.reminder_sent = false;
    wt.deadline = step.timeout().map(|d| now + d);
    wt.transcript.push(Entry { at: now, step: step.id.clone(), event: Event::Shown { text: summary(&view.text) } });
    view
}

/// Starts a walkthrough of a validated runbook at its first step.
///
/// # Panics
/// If the runbook has no steps (validation rejects that).
pub fn start(rb: &Runbook, vars: &BTreeMap<String, String>, now: Timestamp) -> (Walkthrough, View) {
    let first = rb.first_step().expect("a validated runbook has steps");
    start_at(rb, first, vars, now)
}

/// Starts a walkthrough at `first`, one of the runbook's steps (see [`Runbook::opening`]).
pub fn start_at(rb: &Runbook, first: &Step, vars: &BTreeMap<String, String>, now: Timestamp) -> (Walkthrough, View) {
    start_known(rb, first, vars, now, BTreeMap::new())
}

/// [`start_at`] with answers already known (see [`Walkthrough::known`]): the `ask` steps they answer are skipped
/// as they are reached.
pub fn start_known(
    rb: &Runbook,
    first: &Step,
    vars: &BTreeMap<String, String>,
    now: Timestamp,
    known: BTreeMap<String, String>,
) -> (Walkthrough, View) {
    let mut wt = Walkthrough {
        runbook: rb.id.clone(),
        title: rb.title.clone(),
        step: first.id.clone(),
        started_at: now,
        transcript: vec![],
        answers: BTreeMap::new(),
        reminder_sent: false,
        deadline: None,
        ended: None,
        known,
        taken: BTreeSet::new(),
    };
    let view = enter_known(rb, &mut wt, first, vars, now);
    (wt, view)
}

/// Enters `step`, or, while it asks for an answer already known, takes that answer and goes on to its next step;
/// the step finally shown starts with what was taken ("From your message: **Name:** Priya Raman · …").
fn enter_known(
    rb: &Runbook,
    wt: &mut Walkthrough,
    step: &Step,
    vars: &BTreeMap<String, String>,
    now: Timestamp,
) -> View {
    let mut step = step;
    let mut taken = vec![];
    // At most once per step: the known answers are used up as they are taken.
    for _ in 0..rb.steps.len() {
        let Some(ask) = &step.ask else { break };
        let Some(text) = wt.known.remove(&ask.field) else { break };
        wt.answers.insert(ask.field.clone(), text.clone());
        wt.taken.insert(ask.field.clone());
        let event = Event::Answered { field: ask.field.clone(), text: text.clone() };
        wt.transcript.push(Entry { at: now, step: step.id.clone(), event });
        // Marked as the person's words, like an answer shown in a step (it came from their message).
        taken.push(format!("**{}:** {}", field_label(&ask.field), crate::core::message::quoted(&text)));
        match ask.target() {
            Next::Step(id) => match rb.step(id) {
                Some(next) => step = next,
                None => break,
            },
            _ => break,
        }
    }
    let mut view = enter(rb, wt, step, vars, now);
    if !taken.is_empty() {
        // Only a request that is reviewed before it goes (joiner, leaver) can change them ("Change the details").
        let change = match (rb.approval.is_some() || rb.ticket_date.is_some(), taken.len()) {
            (false, _) => "",
            (true, 1) => " (You can change it before it is sent.)",
            (true, _) => " (You can change them before it is sent.)",
        };
        view.text = format!("From your message: {}.{change}\n\n{}", taken.join(" · "), view.text);
        if let Some(Entry { event: Event::Shown { text }, .. }) = wt.transcript.last_mut() {
            *text = summary(&view.text);
        }
    }
    view
}

/// An `ask` field as people read it: `access_ends` is "Access ends".
fn field_label(field: &str) -> String {
    let words = field.replace(['_', '-'], " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Follows `next` from the current step.
fn go(rb: &Runbook, wt: &mut Walkthrough, next: Next<'_>, vars: &BTreeMap<String, String>, now: Timestamp) -> Outcome {
    match next {
        Next::Step(id) => match rb.step(id) {
            Some(step) => Outcome::Show { view: enter_known(rb, wt, step, vars, now) },
            None => end_handoff(rb, wt, format!("runbook step \"{id}\" is missing"), false),
        },
        Next::Fixed => {
            wt.ended = Some(Ending::Fixed);
            wt.deadline = None;
            Outcome::Fixed { transcript: wt.transcript.clone() }
        }
        Next::NoAction => {
            wt.ended = Some(Ending::NoAction);
            wt.deadline = None;
            Outcome::NoAction { transcript: wt.transcript.clone() }
        }
        Next::Handoff { reason, approval } => {
            let reason = reason.map(str::to_string).unwrap_or_else(|| format!("runbook \"{}\" did not fix it", rb.id));
            end_handoff(rb, wt, reason, approval)
        }
    }
}

fn end_handoff(rb: &Runbook, wt: &mut Walkthrough, reason: String, approval: bool) -> Outcome {
    wt.ended = Some(Ending::Handoff { reason: reason.clone() });
    wt.deadline = None;
    let approval = rb.approval.as_ref().filter(|_| approval).map(|a| ApprovalRequest {
        approver: a.approver.clone(),
        details: a.fields.iter().map(|f| (f.clone(), wt.answers.get(f).cloned().unwrap_or_default())).collect(),
    });
    Outcome::Handoff { reason, approval, transcript: wt.transcript.clone(), priority: None }
}

/// A button press. The action must be for the walkthrough's current step; a press on an older message's button is
/// refused ([`WalkError::Stale`]) and changes nothing.
pub fn press(
    rb: &Runbook,
    wt: &mut Walkthrough,
    action: &ActionRef,
    vars: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Outcome, WalkError> {
    if action.runbook != wt.runbook {
        return Err(WalkError::WrongRunbook { pressed: action.runbook.clone(), current: wt.runbook.clone() });
    }
    let step = current(rb, wt)?;
    if action.step != step.id {
        return Err(WalkError::Stale { pressed: action.step.clone(), current: step.id.clone() });
    }
    let (label, next, raise) = match action.choice {
        Choice::Button(i) => {
            let b = step.buttons.get(i).ok_or(WalkError::NoSuchButton)?;
            (b.label.clone(), b.target(), b.priority.as_deref().and_then(Priority::parse))
        }
        // In a request that needs approval, asking for a person still sends it for approval (with the answers
        // given so far): a technician can talk to the requester meanwhile, but nobody fulfils it undecided.
        Choice::Person if !step.has_handoff_button() => (
            TALK_TO_PERSON.to_string(),
            Next::Handoff { reason: Some(TALK_TO_PERSON_REASON), approval: rb.approval.is_some() },
            None,
        ),
        Choice::Person => return Err(WalkError::NoSuchButton),
    };
    wt.transcript.push(Entry { at: now, step: step.id.clone(), event: Event::Pressed { label } });
    let mut outcome = go(rb, wt, next, vars, now);
    if let Outcome::Handoff { priority, .. } = &mut outcome {
        *priority = raise;
    }
    Ok(outcome)
}

/// A free-text answer to the current `ask` step. Trimmed; at most 500 characters are kept.
pub fn answer(
    rb: &Runbook,
    wt: &mut Walkthrough,
    text: &str,
    vars: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Outcome, WalkError> {
    let step = current(rb, wt)?;
    let ask = step.ask.as_ref().ok_or(WalkError::NotAsking)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(WalkError::EmptyAnswer);
    }
    let text: String = text.chars().take(MAX_ANSWER).collect();
    wt.answers.insert(ask.field.clone(), text.clone());
    wt.taken.remove(&ask.field);
    let event = Event::Answered { field: ask.field.clone(), text };
    wt.transcript.push(Entry { at: now, step: step.id.clone(), event });
    Ok(go(rb, wt, ask.target(), vars, now))
}

/// What a message typed at a walkthrough step says (#33 probe: "didn't work", "talk to a person", "yes", a button's
/// label, "it printed now, thanks" were ignored until the step timed out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// The step's button at this index: its label, near enough; "yes"/"no" on a step whose buttons start so; its
    /// number; "didn't work" where one button is the way on when the step did not fix it.
    Button(usize),
    /// "talk to a person", "I need to speak to someone": the hand-off [`TALK_TO_PERSON`] makes.
    Person,
    /// "it works now", "that fixed it", "it printed now, thanks" at a step with no button saying so, in a runbook
    /// that fixes things: fixed by self-service.
    Fixed,
    /// A reply to the step that no single button fits ("didn't work" with several ways on, "yes" where no
    /// button says yes): the buttons are shown again.
    Unclear,
    /// "ok, will try that", "give me a sec", "trying now": the person is on it; no answer yet.
    Later,
    /// Nothing that reads as a reply to the step.
    Other,
}

/// Lower case, apostrophes dropped, everything but letters and digits a single space.
fn typed_words(s: &str) -> String {
    let s: String = s
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '\'' | '’'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn typed_regex(re: &str) -> regex::Regex {
    regex::Regex::new(re).expect("valid")
}

/// "talk to a person", "I need to speak to someone": the person asks for a human.
pub fn asks_for_person(text: &str) -> bool {
    PERSON_TYPED.is_match(&typed_words(text))
}

static PERSON_TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    typed_regex(
        r"\b((talk|speak|chat|talking|speaking) (to|with)( a| an| some| the| your| an actual| a real)? (person|human|someone|somebody|technician|tech|engineer|agent|support|helpdesk|it)|(need|want|get)( to (talk|speak) to)?( a| an)? (human|person|technician|real person)|escalate)\b",
    )
});
static NOT_FIXED_TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    typed_regex(
        r"\b((didnt|doesnt|did not|does not|hasnt|has not|wont|isnt|not|never) (work|worked|help|helped|fix|fixed|change|changed|do anything|make a difference|print|printed|come out)|still (nothing|broken|stuck|not|no|jammed|the same|doesnt|wont|cant|isnt|failing|dropping|happening|there|dead|down|slow|an issue|a problem|off)|no (luck|joy|change|difference|good)|not (sorted|resolved)|(slow|stuck|jammed|broken|frozen|freezing|crashing|crashed|dropping|down|dead|offline|failing|happening|doing it|doing that|flickering|gone) again|same (problem|issue|thing|error)|nothing (changed|happened|works|comes out))\b",
    )
});
static FIXED_TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    typed_regex(
        r"\b(fixed|sorted|solved|resolved|that did it|did the trick|worked|works|working|printed|prints|printing now|connected|back (up|on|online)|fine now|ok now|okay now|all good|good now|stable now)\b",
    )
});
static LATER_TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    typed_regex(
        r"^(?:(?:ok|okay|k|kk|sure|cool|great|right|alright|perfect|nice|got it|thanks|thank you|thx|ty|cheers|will do|on it|brb|hang on|hold on)(?: |$))*(?:(?:ill|i will|will|let me|lemme|gonna|going to|ok ill|ok i will)(?: now)? (?:try|do|check|test|give it a (?:go|try|shot)|have a (?:go|look|try)|look)(?: (?:that|this|it|now|them|those|in a (?:sec|min|minute|bit|moment)|thanks|thx))*|trying(?: (?:that|it|now|this))*|give me (?:a )?(?:sec|second|min|minute|moment|mo)|one (?:sec|second|moment|min|mo)|doing (?:it|that|so) now|checking(?: now)?)?$",
    )
});
/// The start of "give me a sec, let me check her surname": what follows is in the capture.
static WAIT_TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    typed_regex(
        r"^(?:(?:ok|okay|sure|right|yes|yeah|um|erm|hmm|oh)\s+)*(?:give me (?:a )?(?:sec|second|min|minute|moment|mo|bit)|one (?:sec|second|moment|min|mo)|(?:hang|hold) on|brb|just a (?:sec|second|moment|min|minute)|let me (?:check|look|find out|ask|confirm))\b(.*)$",
    )
});
static NEGATIVE_LABEL: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| typed_regex(r"\b(still|no|not|didnt|doesnt|wont|cant|nothing|isnt|even)\b"));

/// Said to "ok, will try that" at a step.
pub const LATER_REPLY: &str =
    "No rush. When you've tried it, press the button above that fits (or tell me \"it worked\" or \"didn't work\").";

/// Said to "give me a sec" at a step that asks for words.
pub const LATER_ASK_REPLY: &str = "No rush. Type your answer here when you have it.";

/// Reads a message typed at the current step of `wt` (see [`Typed`]). An `ask` step takes any text as its answer,
/// so there only "talk to a person" is read.
pub fn read_typed(rb: &Runbook, wt: &Walkthrough, text: &str) -> Typed {
    let Ok(step) = current(rb, wt) else { return Typed::Other };
    let t = typed_words(text);
    if t.is_empty() {
        return Typed::Other;
    }
    if PERSON_TYPED.is_match(&t) {
        return Typed::Person;
    }
    if step.buttons.is_empty() {
        // "give me a sec", "hang on, let me check" at a question that wants words: no answer yet (probe I: it was
        // stored as the answer and the next question came). A bare "ok" may be the answer.
        // "hang on, it's Fatima Ali" is the answer after all.
        const WAITING: &[&str] =
            &["sec", "second", "min", "minute", "moment", "mo", "check", "checking", "look", "hang", "hold", "brb"];
        const FINDING: &[&str] = &["check", "checking", "ask", "asking", "find", "confirm", "look", "back"];
        let later = LATER_TYPED.is_match(&t) && t.split(' ').any(|w| WAITING.contains(&w))
            || WAIT_TYPED.captures(&t).is_some_and(|c| {
                c.get(1).is_none_or(|m| m.as_str().trim().is_empty()) || t.split(' ').any(|w| FINDING.contains(&w))
            });
        return if later { Typed::Later } else { Typed::Other };
    }
    let labels: Vec<String> = step.buttons.iter().map(|b| typed_words(&b.label)).collect();
    if let Some(i) = labels.iter().position(|l| *l == t) {
        return Typed::Button(i);
    }
    if let Ok(k) = t.parse::<usize>() {
        return if (1..=labels.len()).contains(&k) { Typed::Button(k - 1) } else { Typed::Unclear };
    }
    let fixes: Vec<usize> = (0..labels.len()).filter(|&i| matches!(step.buttons[i].target(), Next::Fixed)).collect();
    let on: Vec<usize> = (0..labels.len())
        .filter(|&i| matches!(step.buttons[i].target(), Next::Step(_) | Next::Handoff { .. }))
        .collect();
    if NOT_FIXED_TYPED.is_match(&t) {
        // "didn't work": the way on when the step did not fix it, where that is one button.
        if fixes.is_empty() {
            return Typed::Unclear;
        }
        if on.len() == 1 {
            return Typed::Button(on[0]);
        }
        let negative: Vec<usize> = on.iter().copied().filter(|&i| NEGATIVE_LABEL.is_match(&labels[i])).collect();
        if negative.len() == 1 {
            return Typed::Button(negative[0]);
        }
        // "still dropping every few mins" with [It still drops] [It won't connect at all]: the one whose words the
        // message shares (by their first four letters; probe G: the buttons were shown again).
        let stems = |s: &str| -> Vec<String> {
            s.split(' ')
                .filter(|w| {
                    w.chars().count() >= 4 && !NEGATIVE_LABEL.is_match(w) && !["what", "with", "that"].contains(w)
                })
                .map(|w| w.chars().take(4).collect())
                .collect()
        };
        let said = stems(&t);
        let sharing: Vec<usize> =
            negative.iter().copied().filter(|&i| stems(&labels[i]).iter().any(|l| said.contains(l))).collect();
        return if sharing.len() == 1 { Typed::Button(sharing[0]) } else { Typed::Unclear };
    }
    // "not connected", "connected but no internet": the fixed words negated or qualified are no fix (probe F: the
    // Wi-Fi walkthrough closed as fixed by the user).
    let negated = NEGATIVE_LABEL.is_match(&t);
    if FIXED_TYPED.is_match(&t) && !super::conversation::troubled(text) && !negated && !t.contains(" but ") {
        if let Some(&i) = fixes.first() {
            return Typed::Button(i);
        }
        let fixes_things = rb.steps.iter().any(|s| s.buttons.iter().any(|b| matches!(b.target(), Next::Fixed)));
        return if fixes_things { Typed::Fixed } else { Typed::Unclear };
    }
    // "ok, will try that", "thanks, give me a sec" (probe H: the buttons were posted again, as if not understood).
    // ("thanks" or "cool" alone is no such word: in the channel it may be to anyone.)
    let thanks_only = t
        .split(' ')
        .all(|w| ["thanks", "thank", "you", "thx", "ty", "cheers", "great", "nice", "perfect", "cool"].contains(&w));
    if LATER_TYPED.is_match(&t) && !thanks_only {
        return Typed::Later;
    }
    // "give me a sec, restarting now" (probe J: the step was posted again): waiting, with what they are doing.
    if WAIT_TYPED.is_match(&t) && !super::conversation::troubled(text) && t.split(' ').count() <= 8 {
        return Typed::Later;
    }
    let first = t.split(' ').next().unwrap_or("");
    let word_count = t.split(' ').count();
    let answer = match first {
        "yes" | "yeah" | "yep" | "yup" | "y" | "correct" | "ya" => Some("yes"),
        "no" | "nope" | "nah" | "n" => Some("no"),
        _ => None,
    };
    if let Some(a) = answer.filter(|_| word_count <= 6) {
        let starts: Vec<usize> =
            (0..labels.len()).filter(|&i| labels[i] == a || labels[i].starts_with(&format!("{a} "))).collect();
        return if starts.len() == 1 { Typed::Button(starts[0]) } else { Typed::Unclear };
    }
    // Near a label: the message within one label ("queue is empty"), or one label within the message ("I think
    // the queue is empty").
    // Near a label only with the same sense: "not connected" is not near "Connected".
    // A message that is the start of two labels ("jam cleared" of [Jam cleared and it printed] and [Jam cleared,
    // but my job didn't print]) is near both, whatever their sense (probe I: it pressed the first, "fixed").
    let near: Vec<usize> = (0..labels.len())
        .filter(|&i| {
            let same_sense = NEGATIVE_LABEL.is_match(&labels[i]) == negated;
            (word_count >= 2 && labels[i].contains(&t) && (same_sense || !negated))
                || (t.contains(labels[i].as_str()) && same_sense)
        })
        .collect();
    if near.len() == 1 {
        return Typed::Button(near[0]);
    }
    let reaction = [
        "ok", "okay", "done", "tried", "hmm", "what", "help", "huh", "still", "didnt", "doesnt", "it", "that", "which",
    ];
    // One word that only one label has: "office" at [The office Wi-Fi] [Guest Wi-Fi for a visitor] [My home Wi-Fi]
    // (probe K: the buttons again).
    if near.is_empty() && word_count == 1 && t.chars().count() >= 3 && !reaction.contains(&first) {
        let having: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].split(' ').any(|w| w == t)).collect();
        if having.len() == 1 {
            return Typed::Button(having[0]);
        }
    }
    if !near.is_empty() || word_count <= 3 && reaction.contains(&first) {
        return Typed::Unclear;
    }
    Typed::Other
}

/// Applies a message typed at the current step, read as `typed` by [`read_typed`]: it is kept in the transcript,
/// then a button is pressed, the walkthrough hands off to a person or ends fixed; or, when no button fits, the step
/// is shown again with a word on what to do (its timeout starts again: the person is there).
pub fn typed(
    rb: &Runbook,
    wt: &mut Walkthrough,
    text: &str,
    typed: Typed,
    vars: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Outcome, WalkError> {
    let step = current(rb, wt)?;
    let kept: String = text.trim().chars().take(MAX_ANSWER).collect();
    let entry = Entry { at: now, step: step.id.clone(), event: Event::Typed { text: kept } };
    match typed {
        Typed::Button(i) => {
            step.buttons.get(i).ok_or(WalkError::NoSuchButton)?;
            let action = ActionRef { runbook: rb.id.clone(), step: step.id.clone(), choice: Choice::Button(i) };
            wt.transcript.push(entry);
            press(rb, wt, &action, vars, now)
        }
        Typed::Person => {
            wt.transcript.push(entry);
            wt.transcript.push(Entry {
                at: now,
                step: step.id.clone(),
                event: Event::Pressed { label: TALK_TO_PERSON.to_string() },
            });
            let next = Next::Handoff { reason: Some(TALK_TO_PERSON_REASON), approval: rb.approval.is_some() };
            Ok(go(rb, wt, next, vars, now))
        }
        Typed::Fixed => {
            wt.transcript.push(entry);
            Ok(go(rb, wt, Next::Fixed, vars, now))
        }
        Typed::Later => {
            wt.transcript.push(entry);
            wt.reminder_sent = false;
            wt.deadline = step.timeout().map(|d| now + d);
            let text = if step.buttons.is_empty() { LATER_ASK_REPLY } else { LATER_REPLY };
            Ok(Outcome::Wait { text: text.to_string() })
        }
        Typed::Unclear | Typed::Other => {
            wt.transcript.push(entry);
            let mut view = view_of(rb, step, vars, &wt.answers);
            view.text = format!(
                "I couldn't tell which of these you meant, so here they are again: please pick one below (or say \
                 \"talk to a person\").\n\n{}",
                view.text
            );
            wt.reminder_sent = false;
            wt.deadline = step.timeout().map(|d| now + d);
            Ok(Outcome::Show { view })
        }
    }
}

/// Checks the current step's timeout: past the deadline, first a reminder (and a fresh deadline), then a hand-off.
/// `None` when nothing is due, the walkthrough has ended, or its step no longer exists.
pub fn tick(rb: &Runbook, wt: &mut Walkthrough, vars: &BTreeMap<String, String>, now: Timestamp) -> Option<Outcome> {
    let step = current(rb, wt).ok()?;
    let deadline = wt.deadline?;
    if now < deadline {
        return None;
    }
    let waited = step.timeout().unwrap_or_else(Duration::zero);
    if !wt.reminder_sent {
        let mut view = view_of(rb, step, vars, &wt.answers);
        // A question that wants words has no options to pick (probe J).
        let what = if step.buttons.is_empty() { "answer the question below" } else { "pick an option below" };
        view.text = format!("Still there? No rush: {what} when you're ready.\n\n{}", view.text);
        wt.reminder_sent = true;
        wt.deadline = Some(now + waited);
        wt.transcript.push(Entry { at: now, step: step.id.clone(), event: Event::Reminded });
        return Some(Outcome::Remind { view });
    }
    wt.transcript.push(Entry { at: now, step: step.id.clone(), event: Event::TimedOut });
    let reason = format!("no answer at step \"{}\" for {} after a reminder", step.id, human(waited));
    // Like "Talk to a person": a request that needs approval is sent for it with what was answered.
    Some(end_handoff(rb, wt, reason, rb.approval.is_some()))
}

/// What a technician reads on hand-off: the runbook, how it ended, the answers and every step with times in `tz`
/// (the office's: probe L, a BST office read UTC times).
pub fn transcript_text(wt: &Walkthrough, tz: chrono_tz::Tz) -> String {
    let mut out = format!("Runbook: {} ({})\n", wt.title, wt.runbook);
    out += &format!("Started: {}\n", wt.started_at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"));
    out += &match &wt.ended {
        None => format!("Status: in progress at step \"{}\"\n", wt.step),
        Some(Ending::Fixed) => "Status: fixed by self-service\n".to_string(),
        Some(Ending::Handoff { reason }) => format!("Status: handed off: {reason}\n"),
        Some(Ending::NoAction) => "Status: no IT action needed\n".to_string(),
    };
    if !wt.answers.is_empty() {
        out += "Answers:\n";
        for (k, v) in &wt.answers {
            out += &format!("  {k}: {v}\n");
        }
    }
    out += "Steps:\n";
    for e in &wt.transcript {
        let what = match &e.event {
            Event::Shown { text } => format!("bot: {}", crate::core::message::plain(text)),
            Event::Pressed { label } => format!("pressed \"{label}\""),
            Event::Answered { field, text } => format!("answered {field}: {text}"),
            Event::Reminded => "no answer; reminder sent".to_string(),
            Event::TimedOut => "no answer after the reminder".to_string(),
            Event::Typed { text } => format!("typed: {text}"),
        };
        out += &format!("  {} [{}] {what}\n", e.at.with_timezone(&tz).format("%H:%M"), e.step);
    }
    out
}

/// At most this many answers, and steps taken, are shown to a technician on a card or in `/ticket show`.
pub const SHOWN_ANSWERS: usize = 10;
/// The latest this many steps taken are shown (the earlier ones are counted).
pub const SHOWN_STEPS: usize = 8;
/// An answer is cut to this many characters where it is shown (the transcript keeps it whole).
pub const SHOWN_ANSWER_CHARS: usize = 120;

/// [`WalkRecord::status`] of a walkthrough that ended as fixed.
pub const FIXED_STATUS: &str = "fixed by self-service";
/// [`WalkRecord::status`] of a walkthrough that ended with nothing for IT to do.
pub const NO_ACTION_STATUS: &str = "no IT action needed";

/// What a walkthrough collected, kept on its ticket for the technician (the queue card, `/ticket show`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkRecord {
    pub runbook: String,
    pub title: String,
    /// How it ended, as the card says it: `fixed by self-service`, the hand-off's reason, `no IT action needed`,
    /// `in progress at step "…"`.
    pub status: String,
    /// The typed answers, in the order asked (`field`, `answer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<(String, String)>,
    /// The steps taken (`09:01 [start] pressed "No jam"`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken: Vec<String>,
}

impl WalkRecord {
    /// The record of `wt`, its step times in `tz` (the office's).
    pub fn of(wt: &Walkthrough, tz: chrono_tz::Tz) -> WalkRecord {
        let (answers, taken) = collected(wt, tz);
        let status = match &wt.ended {
            None => format!("in progress at step \"{}\"", wt.step),
            Some(Ending::Fixed) => FIXED_STATUS.to_string(),
            Some(Ending::Handoff { reason }) => reason.clone(),
            Some(Ending::NoAction) => NO_ACTION_STATUS.to_string(),
        };
        WalkRecord { runbook: wt.runbook.clone(), title: wt.title.clone(), status, answers, taken }
    }

    /// `Answers:` and `Steps taken:` as a technician reads them (see [`collected_text`]).
    pub fn text(&self) -> String {
        collected_text(&self.answers, &self.taken)
    }
}

/// What a walkthrough collected, for the technician: the typed answers (field, answer, in the order asked) and the
/// steps taken (`09:01 [start] pressed "No jam"`, at the time in `tz`), oldest first.
pub fn collected(wt: &Walkthrough, tz: chrono_tz::Tz) -> (Vec<(String, String)>, Vec<String>) {
    let mut answers: Vec<(String, String)> = vec![];
    let mut taken = vec![];
    for e in &wt.transcript {
        let what = match &e.event {
            Event::Shown { .. } => continue,
            Event::Pressed { label } => format!("pressed \"{label}\""),
            Event::Answered { field, text } => {
                answers.retain(|(f, _)| f != field);
                answers.push((field.clone(), text.clone()));
                format!("answered {field}")
            }
            Event::Reminded => "no answer; reminder sent".to_string(),
            Event::TimedOut => "no answer after the reminder".to_string(),
            Event::Typed { text } => {
                let text: String = if text.chars().count() > SHOWN_ANSWER_CHARS {
                    format!("{}…", text.chars().take(SHOWN_ANSWER_CHARS - 1).collect::<String>())
                } else {
                    text.clone()
                };
                format!("typed “{text}”")
            }
        };
        taken.push(format!("{} [{}] {what}", e.at.with_timezone(&tz).format("%H:%M"), e.step));
    }
    (answers, taken)
}

/// [`collected`] as a technician reads it under a card or in `/ticket show`: `Answers:` one per line (`field:
/// answer`, the requester's words on one line, cut to [`SHOWN_ANSWER_CHARS`] and marked as quoted, so each
/// platform escapes them) and `Steps taken:`, the latest [`SHOWN_STEPS`]. Empty when there is nothing to show.
pub fn collected_text(answers: &[(String, String)], taken: &[String]) -> String {
    let mut out = String::new();
    if !answers.is_empty() {
        out.push_str("Answers:");
        for (field, text) in answers.iter().take(SHOWN_ANSWERS) {
            let text = clean_name_unbounded(text);
            let text = if text.chars().count() > SHOWN_ANSWER_CHARS {
                format!("{}…", text.chars().take(SHOWN_ANSWER_CHARS - 1).collect::<String>())
            } else {
                text
            };
            out.push_str(&format!("\n  {field}: {}", crate::core::message::quoted(&text)));
        }
        if answers.len() > SHOWN_ANSWERS {
            out.push_str(&format!("\n  … {} more in the transcript", answers.len() - SHOWN_ANSWERS));
        }
    }
    if !taken.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let skipped = taken.len().saturating_sub(SHOWN_STEPS);
        out.push_str("Steps taken");
        if skipped > 0 {
            out.push_str(&format!(" (the latest {SHOWN_STEPS}; {skipped} earlier)"));
        }
        out.push(':');
        for line in &taken[skipped..] {
            out.push_str(&format!("\n  {}", crate::core::message::quoted(&clean_name_unbounded(line))));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Checklists (joiner, leaver)

/// One checklist item on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
}

impl ChecklistEntry {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }
}

/// A ticket's checklist, copied from its runbook when the ticket is opened; persisted with the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub runbook: String,
    pub items: Vec<ChecklistEntry>,
}

impl Checklist {
    /// The runbook's checklist with every item open; `None` when the runbook has none.
    pub fn for_runbook(rb: &Runbook) -> Option<Checklist> {
        if rb.checklist.is_empty() {
            return None;
        }
        let items = rb
            .checklist
            .iter()
            .map(|i| ChecklistEntry { id: i.id.clone(), text: i.text.clone(), done_by: None, done_at: None })
            .collect();
        Some(Checklist { runbook: rb.id.clone(), items })
    }

    /// Finds an item by id or by its 1-based number.
    fn find(&mut self, item: &str) -> Result<&mut ChecklistEntry, String> {
        let n = self.items.len();
        let idx = match item.trim().parse::<usize>() {
            Ok(k) if (1..=n).contains(&k) => Some(k - 1),
            _ => self.items.iter().position(|i| i.id == item.trim()),
        };
        match idx {
            Some(i) => Ok(&mut self.items[i]),
            None => {
                let ids: Vec<&str> = self.items.iter().map(|i| i.id.as_str()).collect();
                Err(format!("no checklist item \"{item}\" (use 1-{n} or one of: {})", ids.join(", ")))
            }
        }
    }

    /// Ticks an item (by id or 1-based number). Ticking a done item again is refused and names who did it.
    pub fn tick(&mut self, item: &str, by: &str, at: Timestamp) -> Result<(), String> {
        let e = self.find(item)?;
        if let (Some(who), Some(when)) = (&e.done_by, e.done_at) {
            return Err(format!("\"{}\" was already ticked by {who} at {}", e.id, when.format("%Y-%m-%d %H:%M UTC")));
        }
        e.done_by = Some(by.to_string());
        e.done_at = Some(at);
        Ok(())
    }

    /// Reopens a ticked item.
    pub fn untick(&mut self, item: &str) -> Result<(), String> {
        let e = self.find(item)?;
        if !e.is_done() {
            return Err(format!("\"{}\" is not ticked", e.id));
        }
        e.done_by = None;
        e.done_at = None;
        Ok(())
    }

    /// Items not yet ticked, in order.
    pub fn open_items(&self) -> Vec<&ChecklistEntry> {
        self.items.iter().filter(|i| !i.is_done()).collect()
    }

    /// `Ok` when every item is ticked; otherwise the refusal to show, naming the open items.
    pub fn check_resolvable(&self) -> Result<(), String> {
        self.check_done("resolve")
    }

    /// [`Checklist::check_resolvable`] for anything else that ends the ticket (`verb`: close, merge).
    pub fn check_done(&self, verb: &str) -> Result<(), String> {
        let open = self.open_items();
        if open.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = open.iter().map(|i| format!("\"{}\"", i.text)).collect();
        Err(format!("cannot {verb}: {} checklist item(s) still open: {}", open.len(), list.join("; ")))
    }

    /// `[x] 1. text (sam, 2026-03-02 10:00 UTC)` / `[ ] 2. text`, one line each.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (n, i) in self.items.iter().enumerate() {
            match (&i.done_by, i.done_at) {
                (Some(who), Some(at)) => {
                    out += &format!("[x] {}. {} ({who}, {})\n", n + 1, i.text, at.format("%Y-%m-%d %H:%M UTC"))
                }
                _ => out += &format!("[ ] {}. {}\n", n + 1, i.text),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    fn t0() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn mins(n: i64) -> Duration {
        Duration::minutes(n)
    }

    fn intent_ids() -> Vec<String> {
        crate::catalog::IntentSet::shipped().unwrap().intents.into_iter().map(|s| s.item.id).collect()
    }

    fn vars() -> BTreeMap<String, String> {
        STANDARD_PLACEHOLDERS.iter().map(|p| (p.to_string(), format!("<{p}>"))).collect()
    }

    fn shipped_set() -> RunbookSet {
        let ids = intent_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        match shipped(&ids, STANDARD_PLACEHOLDERS) {
            Ok(s) => s,
            Err(e) => panic!("shipped runbooks are invalid:\n{e}"),
        }
    }

    #[test]
    fn one_word_that_only_one_label_has_presses_it() {
        let set = shipped_set();
        let rb = set.get("wifi-connect").unwrap();
        let (wt, _) = start(rb, &vars(), t0());
        assert_eq!(wt.step, "start");
        // [The office Wi-Fi] [Guest Wi-Fi for a visitor] [My home Wi-Fi] (probe K: "office" got the buttons again).
        assert_eq!(read_typed(rb, &wt, "office"), Typed::Button(0));
        assert_eq!(read_typed(rb, &wt, "Guest"), Typed::Button(1));
        assert_eq!(read_typed(rb, &wt, "home"), Typed::Button(2));
        // A word every label has, or none has, presses nothing.
        assert_ne!(read_typed(rb, &wt, "wifi"), Typed::Button(0));
        assert_eq!(read_typed(rb, &wt, "banana"), Typed::Other);
    }

    #[test]
    fn typed_replies_read_as_the_steps_buttons() {
        let set = shipped_set();
        let rb = set.get("printer-queue").unwrap();
        let at = |step: &str| {
            let (mut wt, _) = start(rb, &vars(), t0());
            wt.step = step.to_string();
            wt
        };
        // open-queue: four buttons, one a hand-off "talk to a person", none "fixed".
        let q = at("open-queue");
        assert_eq!(read_typed(rb, &q, "I see a stuck job"), Typed::Button(0));
        assert_eq!(read_typed(rb, &q, "the queue is empty!"), Typed::Button(1));
        assert_eq!(read_typed(rb, &q, "2"), Typed::Button(1));
        assert_eq!(read_typed(rb, &q, "didn't work"), Typed::Unclear);
        assert_eq!(read_typed(rb, &q, "yes"), Typed::Unclear);
        assert_eq!(read_typed(rb, &q, "talk to a person"), Typed::Person);
        assert_eq!(read_typed(rb, &q, "I need to speak to someone, this isn't working"), Typed::Person);
        assert_eq!(read_typed(rb, &q, "ok I cancelled it and it printed now, thanks!"), Typed::Fixed);
        assert_eq!(read_typed(rb, &q, "my monitor is flickering"), Typed::Other);
        // "ok, will try that" is no answer yet (probe H: the buttons came again as if not understood).
        for later in [
            "ok thanks, will try that",
            "ok",
            "give me a sec",
            "trying now",
            "Sure, I'll check it now",
            "give me a sec, restarting now",
        ] {
            assert_eq!(read_typed(rb, &q, later), Typed::Later, "{later}");
        }
        for not_later in ["thanks", "cool", "ok will try but it's still jammed", "I'll try to print again tomorrow"] {
            assert_ne!(read_typed(rb, &q, not_later), Typed::Later, "{not_later}");
        }
        // Half of two labels is neither (probe I).
        let jam = at("clear-jam");
        assert_eq!(read_typed(rb, &jam, "jam cleared"), Typed::Unclear);
        // At a step that asks for words, "give me a sec" is no answer yet; "hang on, it's Fatima Ali" is one
        // (probe I: the first was stored as the new starter's name).
        let joiner = set.get("joiner").unwrap();
        let (name, _) = start(joiner, &vars(), t0());
        assert!(
            joiner.step(&name.step).is_some_and(|s| s.ask.is_some()),
            "the joiner walkthrough opens with a question"
        );
        for later in ["give me a sec, let me check her surname", "one sec", "hang on", "let me check with HR"] {
            assert_eq!(read_typed(joiner, &name, later), Typed::Later, "{later}");
        }
        for answer in ["hang on, it's Fatima Ali", "Fatima Ali", "ok", "Sam Lee, checking with HR about her laptop"] {
            assert_eq!(read_typed(joiner, &name, answer), Typed::Other, "{answer}");
        }
        // cancel-job: "It printed" (fixed) or "Still nothing comes out".
        let c = at("cancel-job");
        assert_eq!(read_typed(rb, &c, "still nothing, I cancelled the job and it's still stuck"), Typed::Button(1));
        assert_eq!(read_typed(rb, &c, "that didn't work"), Typed::Button(1));
        assert_eq!(read_typed(rb, &c, "it printed now, thanks"), Typed::Button(0));
        // The symptom back again is no fix (probe F: "it's slow again now" was read as nothing).
        assert_eq!(read_typed(rb, &c, "it's stuck again now"), Typed::Button(1));
        // Two ways on when it is not fixed: the one whose words the message shares (probe G).
        let vpn = set.get("vpn-dropping").unwrap();
        let (mut v, _) = start(vpn, &vars(), t0());
        v.step = "restart-app".to_string();
        assert_eq!(read_typed(vpn, &v, "still dropping every few mins"), Typed::Button(1));
        assert_eq!(read_typed(vpn, &v, "still won't connect at all"), Typed::Button(2));
        assert_eq!(read_typed(vpn, &v, "didn't work"), Typed::Unclear);
        // start: "Yes, it says there's a jam" / "No jam, …".
        let s = at("start");
        assert_eq!(read_typed(rb, &s, "yes"), Typed::Button(0));
        assert_eq!(read_typed(rb, &s, "nope"), Typed::Button(1));
        // A typed question (printer-error) takes text as its answer: only "talk to a person" is read.
        let e = at("printer-error");
        assert_eq!(read_typed(rb, &e, "it works now"), Typed::Other);
        assert_eq!(read_typed(rb, &e, "can I talk to a technician"), Typed::Person);
        // Fixed words negated or qualified are no fix (probe F): "not connected" is not "Connected".
        let wifi = set.get("wifi-connect").unwrap();
        let (mut w, _) = start(wifi, &vars(), t0());
        w.step = "office".to_string();
        assert_eq!(read_typed(wifi, &w, "connected"), Typed::Button(0));
        assert_eq!(read_typed(wifi, &w, "ok connected now"), Typed::Button(0));
        for no in ["not connected", "connected but no internet", "it says connected but nothing loads"] {
            assert_ne!(read_typed(wifi, &w, no), Typed::Button(0), "{no}");
            assert_ne!(read_typed(wifi, &w, no), Typed::Fixed, "{no}");
        }
        // A request's steps fix nothing: "works now" is no "fixed" there.
        let leaver = set.get("leaver").unwrap();
        let (mut wt, _) = start(leaver, &vars(), t0());
        wt.step = "confirm".to_string();
        assert_eq!(read_typed(leaver, &wt, "works now"), Typed::Unclear);
        // What was typed is kept, and a re-shown step starts its timeout again.
        let mut q = at("open-queue");
        let Ok(Outcome::Show { view }) = typed(rb, &mut q, "hmm", Typed::Unclear, &vars(), t0() + mins(5)) else {
            panic!("shown again")
        };
        assert!(view.text.starts_with("I couldn't tell which of these you meant"));
        assert_eq!(q.deadline, Some(t0() + mins(35)));
        assert!(transcript_text(&q, chrono_tz::UTC).contains("typed: hmm"));
    }

    #[test]
    fn shipped_list_matches_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".toml"))
            .map(|n| format!("runbooks/{n}"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = SHIPPED_RUNBOOKS.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(listed, on_disk, "SHIPPED_RUNBOOKS must list every file in runbooks/");
    }

    #[test]
    fn shipped_runbooks_validate_and_match_the_intents() {
        let set = shipped_set();
        assert!(set.len() >= 13, "only {} runbooks shipped", set.len());
        for id in [
            "printer-queue",
            "printer-offline",
            "scan-to-email",
            "account-locked",
            "password-expired",
            "mfa-new-phone",
            "vpn-dropping",
            "wifi-connect",
            "meeting-room-av",
            "slow-computer",
            "outlook-sync",
            "new-laptop",
            "joiner",
            "leaver",
        ] {
            assert!(set.get(id).is_some(), "runbook {id} not shipped");
        }
        // Every runbook an intent names exists and lists that intent back.
        for s in crate::catalog::IntentSet::shipped().unwrap().intents {
            if let Some(rb) = &s.item.runbook {
                let r = set.get(rb).unwrap_or_else(|| panic!("intent {} names unknown runbook {rb}", s.item.id));
                assert!(r.intents.contains(&s.item.id), "runbook {rb} does not list intent {}", s.item.id);
            }
        }
        // Incidents can be fixed by self-service; the request with approval hands off for approval.
        for rb in set.all() {
            let targets: Vec<Next<'_>> = rb.steps.iter().flat_map(|s| s.targets()).collect();
            if rb.ticket_type == TicketType::Incident {
                assert!(targets.contains(&Next::Fixed), "{} has no fixed ending", rb.id);
            }
        }
        let laptop = set.get("new-laptop").unwrap();
        assert_eq!(laptop.ticket_type, TicketType::Request);
        assert_eq!(laptop.approval.as_ref().unwrap().approver, "manager");
        for id in ["joiner", "leaver"] {
            assert!(set.get(id).unwrap().checklist.len() >= 4, "{id} needs a checklist");
        }
        assert_eq!(set.file_of("leaver"), Some("runbooks/leaver.toml"));
        assert_eq!(set.for_intent("printing.jam")[0].id, "printer-queue");
    }

    #[test]
    fn shipped_runbooks_open_on_the_branch_the_message_describes() {
        let set = shipped_set();
        let cases = [
            ("slow-computer", "endpoint.slow_computer", "my laptop keeps restarting", "restarting"),
            ("slow-computer", "endpoint.slow_computer", "computer shuts down randomly", "restarting"),
            ("slow-computer", "endpoint.slow_computer", "got a blue screen again", "blue-screen"),
            ("slow-computer", "endpoint.slow_computer", "my laptop won't switch on", HANDOFF),
            ("slow-computer", "endpoint.slow_computer", "lenovo not turning on at all", HANDOFF),
            ("slow-computer", "endpoint.slow_computer", "my thinkpad screen is cracked", HANDOFF),
            ("slow-computer", "endpoint.slow_computer", "laptop got wet, now won't power on", HANDOFF),
            ("slow-computer", "endpoint.slow_computer", "dell laptop stuck on the logo", "wont-start"),
            ("slow-computer", "endpoint.slow_computer", "surface won't wake from sleep", "wont-start"),
            ("slow-computer", "endpoint.slow_computer", "c drive full, can't save anything", "disk-full"),
            ("slow-computer", "endpoint.slow_computer", "laptop fan is super loud", "hot-or-loud"),
            ("slow-computer", "endpoint.slow_computer", "my laptop is super slow", "slow"),
            ("slow-computer", "endpoint.slow_computer", "pc frozen again 🥶", "slow"),
            ("slow-computer", "endpoint.slow_computer", "desktop takes 20 minutes to boot", "slow"),
            ("printer-queue", "printing.jam", "the printer on floor 2 is jammed again", "clear-jam"),
            ("printer-queue", "printing.not_printing", "print job stuck in the queue", "open-queue"),
            ("printer-queue", "printing.not_printing", "hp printer stuck with paper inside 😩", "clear-jam"),
            ("printer-queue", "printing.not_printing", "printer error code 49", "printer-error"),
            ("printer-queue", "printing.not_printing", "pls install the office printer on my new laptop", HANDOFF),
            ("printer-queue", "printing.not_printing", "prints come out blank", HANDOFF),
            ("printer-offline", "printing.not_printing", "printer offline again 😤", "start"),
            ("scan-to-email", "printing.scan", "scans never arrive in my inbox", "junk"),
            ("scan-to-email", "printing.scan", "scanner keeps failing with SMTP error", "scanner-error"),
            ("scan-to-email", "printing.scan", "can't scan to folder anymore", HANDOFF),
            ("account-locked", "identity.locked_out", "my account has been deactivated by mistake", HANDOFF),
            ("password-expired", "identity.password", "windows says my password has expired", "change"),
            ("password-expired", "identity.password", "i forgot my windows password", "reset"),
            ("password-expired", "identity.password", "password change not accepted, says it doesn't meet", "rules"),
            ("password-expired", "identity.password", "changed my password and now nothing works", "devices"),
            ("password-expired", "identity.password", "reset password for our new starter", HANDOFF),
            ("mfa-new-phone", "identity.mfa", "lost my phone so can't do 2fa", "no-old-phone"),
            ("mfa-new-phone", "identity.mfa", "got a new phone, authenticator app is empty", "new-phone"),
            ("mfa-new-phone", "identity.mfa", "okta verify push never arrives", "not-arriving"),
            ("vpn-dropping", "network.vpn", "need vpn access for a new contractor", HANDOFF),
            ("vpn-dropping", "network.vpn", "can't connect to VPN from home", "restart-app"),
            ("wifi-connect", "network.wifi", "what's the guest wifi password", "guest"),
            ("wifi-connect", "network.wifi", "wifi drops during teams calls", "unreliable"),
            ("wifi-connect", "network.wifi", "laptop doesn't see the office wireless", "office"),
            ("outlook-sync", "saas.email", "my mailbox is full", "full"),
            ("outlook-sync", "saas.email", "emails stuck in outbox", "outbox"),
            ("outlook-sync", "saas.email", "outlook keeps asking for my password", "sign-in"),
            ("outlook-sync", "saas.email", "outlook keeps crashing when I open it", "crash"),
            ("printer-queue", "printing.not_printing", "I'm at home and can't print to the office printer", HANDOFF),
            ("outlook-sync", "saas.email", "add me to the sales distribution list", HANDOFF),
            ("meeting-room-av", "endpoint.meeting_room_av", "hdmi cable missing from meeting room 4", HANDOFF),
        ];
        let mut wrong = vec![];
        for (rb, intent, text, want) in cases {
            let got = opens_at(set.get(rb).unwrap(), Some(intent), text);
            if got.as_deref() != Some(want) {
                wrong.push(format!("{rb} {text:?}: wanted {want}, got {got:?}"));
            }
        }
        // Messages no entry describes open at the neutral first step.
        for (rb, intent, text) in [
            ("slow-computer", "endpoint.slow_computer", "windows update stuck at 30% for an hour"),
            ("printer-queue", "printing.not_printing", "can't print anything since this morning"),
            ("outlook-sync", "saas.email", "outlook not syncing"),
            ("wifi-connect", "network.wifi", "wifi down"),
        ] {
            if let Some(got) = opens_at(set.get(rb).unwrap(), Some(intent), text) {
                wrong.push(format!("{rb} {text:?}: wanted the first step, got {got}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn no_shipped_step_lacks_a_timeout_or_a_way_to_a_person() {
        // #33: nobody is left stuck: every step times out (a reminder, then a hand-off) and offers a person.
        let set = shipped_set();
        let mut wrong = vec![];
        for rb in set.all() {
            for step in &rb.steps {
                if step.timeout().is_none() {
                    wrong.push(format!("{} step {}: no timeout", rb.id, step.id));
                }
                let v = view_of(rb, step, &vars(), &BTreeMap::new());
                let person = v.buttons.iter().any(|b| b.label == TALK_TO_PERSON)
                    || step.buttons.iter().any(|b| matches!(b.target(), Next::Handoff { .. }));
                if !person {
                    wrong.push(format!("{} step {}: no way to a person", rb.id, step.id));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_step_of_a_shipped_runbook_is_reachable_from_its_first_step() {
        // So the walks below (and tests/runbooks.rs, through `/ticket start`) reach every ending; entries are
        // shortcuts into branches the first step also offers.
        for rb in shipped_set().all() {
            for s in &rb.steps {
                if s.id != rb.steps[0].id {
                    assert!(!path_to(rb, &s.id).is_empty(), "{}: step {} only reachable from an entry", rb.id, s.id);
                }
            }
        }
    }

    /// One move in a walk: press a step's button, or answer its question.
    #[derive(Debug, Clone, Copy)]
    enum Move {
        Press(usize),
        Answer,
    }

    fn edges(step: &Step) -> Vec<(Move, Next<'_>)> {
        let mut v: Vec<_> = step.buttons.iter().enumerate().map(|(i, b)| (Move::Press(i), b.target())).collect();
        if let Some(a) = &step.ask {
            v.push((Move::Answer, a.target()));
        }
        v
    }

    /// Shortest list of moves from the first step to `to`.
    fn path_to(rb: &Runbook, to: &str) -> Vec<Move> {
        let first = rb.steps[0].id.as_str();
        let mut prev: HashMap<&str, (&str, Move)> = HashMap::new();
        let mut queue = VecDeque::from([first]);
        let mut seen = HashSet::from([first]);
        while let Some(id) = queue.pop_front() {
            if id == to {
                break;
            }
            for (m, n) in edges(rb.step(id).unwrap()) {
                if let Next::Step(n) = n
                    && seen.insert(n)
                {
                    prev.insert(n, (id, m));
                    queue.push_back(n);
                }
            }
        }
        let mut moves = vec![];
        let mut at = to;
        while at != first {
            let (p, m) = prev[at];
            moves.push(m);
            at = p;
        }
        moves.reverse();
        moves
    }

    fn do_move(rb: &Runbook, wt: &mut Walkthrough, m: Move, now: Timestamp) -> Outcome {
        match m {
            Move::Press(i) => {
                let a = ActionRef { runbook: rb.id.clone(), step: wt.step.clone(), choice: Choice::Button(i) };
                press(rb, wt, &a, &vars(), now).unwrap()
            }
            Move::Answer => answer(rb, wt, &format!("answer at {}", wt.step), &vars(), now).unwrap(),
        }
    }

    /// Walks from the start to `step`, checking every view on the way is fully rendered.
    fn walk_to(rb: &Runbook, step: &str) -> (Walkthrough, Timestamp) {
        let (mut wt, v) = start(rb, &vars(), t0());
        assert!(!v.text.contains("{{"), "{}: unfilled placeholder in {:?}", rb.id, v.text);
        let mut now = t0();
        for m in path_to(rb, step) {
            now += mins(1);
            match do_move(rb, &mut wt, m, now) {
                Outcome::Show { view } => {
                    assert!(!view.text.contains("{{"), "{}: unfilled placeholder in {:?}", rb.id, view.text);
                    assert!(!view.buttons.is_empty(), "{}: step {} has no buttons", rb.id, view.step);
                    for b in &view.buttons {
                        assert!(b.action.len() <= 100, "action id too long: {}", b.action);
                        assert_eq!(ActionRef::parse(&b.action).unwrap().encode(), b.action);
                    }
                }
                other => panic!("{}: walking to {step} ended early: {other:?}", rb.id),
            }
        }
        assert_eq!(wt.step, step);
        (wt, now)
    }

    #[test]
    fn every_shipped_runbook_is_walked_to_each_of_its_endings() {
        let set = shipped_set();
        let mut walked = 0;
        for rb in set.all() {
            for step in &rb.steps {
                for (m, next) in edges(step) {
                    let (mut wt, now) = walk_to(rb, &step.id);
                    let out = do_move(rb, &mut wt, m, now + mins(1));
                    match (next, out) {
                        (Next::Step(_), _) => continue,
                        (Next::Fixed, Outcome::Fixed { transcript }) => {
                            assert_eq!(wt.ended, Some(Ending::Fixed));
                            assert_eq!(transcript, wt.transcript);
                        }
                        (Next::NoAction, Outcome::NoAction { transcript }) => {
                            assert_eq!(wt.ended, Some(Ending::NoAction));
                            assert_eq!(transcript, wt.transcript);
                        }
                        (Next::Handoff { reason, approval: appr }, Outcome::Handoff { reason: got, approval, .. }) => {
                            assert_eq!(Some(got.as_str()), reason, "{} step {}", rb.id, step.id);
                            assert_eq!(approval.is_some(), appr, "{} step {}", rb.id, step.id);
                            if let Some(a) = approval {
                                assert!(a.details.iter().all(|(_, v)| v.starts_with("answer at")), "{a:?}");
                            }
                        }
                        (want, got) => panic!("{} step {}: wanted {want:?}, got {got:?}", rb.id, step.id),
                    }
                    walked += 1;
                    assert!(wt.ended.is_some());
                    assert!(transcript_text(&wt, chrono_tz::UTC).contains(&rb.title));
                }
                // The implicit "Talk to a person".
                if !step.has_handoff_button() {
                    let (mut wt, now) = walk_to(rb, &step.id);
                    let v = view(rb, &wt, &vars()).unwrap();
                    let last = v.buttons.last().unwrap();
                    assert_eq!(last.label, TALK_TO_PERSON);
                    let a = ActionRef::parse(&last.action).unwrap();
                    // In a runbook that needs approval it is still sent for approval (#30).
                    match press(rb, &mut wt, &a, &vars(), now).unwrap() {
                        Outcome::Handoff { reason, approval, .. } => {
                            assert_eq!(reason, TALK_TO_PERSON_REASON);
                            assert_eq!(approval.is_some(), rb.approval.is_some(), "{} step {}", rb.id, step.id);
                        }
                        other => panic!("{other:?}"),
                    }
                    walked += 1;
                }
            }
        }
        assert!(walked > 100, "only {walked} endings walked");
    }

    // ---- validation

    const GOOD: &str = r#"
id = "t"
title = "Test"
intents = ["printing.jam"]

[[steps]]
id = "start"
say = "Call {{ helpdesk_phone }}"
timeout = "1h"
buttons = [
  { label = "Yes", next = "check-tray" },
  { label = "Done", next = "fixed" },
]

[[steps]]
id = "check-tray"
say = "Tray?"
timeout = "30m"
buttons = [
  { label = "Yes", next = "fixed" },
  { label = "No", next = "handoff", reason = "tray broken" },
]
"#;

    fn errors_for(text: &str) -> Vec<String> {
        match validate(&[("runbooks/t.toml", text)], &["printing.jam"], &["helpdesk_phone"]) {
            Ok(_) => vec![],
            Err(e) => e.0,
        }
    }

    #[track_caller]
    fn assert_error(text: &str, want: &str) {
        let errs = errors_for(text);
        assert!(errs.iter().any(|e| e.contains(want)), "wanted an error containing {want:?}, got {errs:#?}");
        assert!(errs.iter().all(|e| e.starts_with("runbooks/t.toml: ")), "errors must name the file: {errs:#?}");
    }

    /// GOOD with a dated ask as its second step, and `extra` keys at the top.
    fn dated(extra: &str) -> String {
        let with_ask = GOOD.replace(
            r#"buttons = [
  { label = "Yes", next = "fixed" },
  { label = "No", next = "handoff", reason = "tray broken" },
]"#,
            r#"ask = { field = "last_day", next = "handoff" }"#,
        );
        with_ask.replacen("intents = [\"printing.jam\"]\n", &format!("intents = [\"printing.jam\"]\n{extra}\n"), 1)
    }

    #[test]
    fn ticket_title_and_date_are_checked_naming_the_field() {
        let ok = dated(
            r#"ticket_title = "Leaver: {{ last_day }}"
ticket_date = { field = "last_day", means = "access-end" }"#,
        );
        assert_eq!(errors_for(&ok), Vec::<String>::new());
        assert_error(
            &dated(r#"ticket_title = "Leaver: {{ nmae }}""#),
            r#"field `ticket_title`: "{{ nmae }}" is not asked by any step"#,
        );
        assert_error(&dated(r#"ticket_title = " ""#), "field `ticket_title` is empty");
        assert_error(
            &dated(r#"ticket_date = { field = "first_day", means = "first-day" }"#),
            r#"field `ticket_date.field`: "first_day" is not asked by any step"#,
        );
        assert_error(&dated(r#"ticket_date = { field = "last_day", means = "someday" }"#), "someday");
        assert_error(&dated(r#"ticket_date = { field = "last_day", mean = "first-day" }"#), "mean");
        assert_error(&dated(r#"ticket_tittle = "x""#), "ticket_tittle");
    }

    #[test]
    fn unless_raised_by_names_roles() {
        let text = dated(
            r#"type = "request"
approval = { approver = "manager", unless_raised_by = ["manager", "hr"] }"#,
        )
        .replace(
            r#"ask = { field = "last_day", next = "handoff" }"#,
            r#"ask = { field = "last_day", next = "handoff", approval = true }"#,
        );
        assert_error(&text, r#"approval: field `unless_raised_by`: unknown role "hr""#);
        let set = shipped_set();
        let leaver = set.get("leaver").unwrap();
        assert!(leaver.needs_approval_from(crate::core::roles::Role::Technician));
        assert!(leaver.needs_approval_from(crate::core::roles::Role::Requester));
        assert!(!leaver.needs_approval_from(crate::core::roles::Role::Manager));
        assert!(!leaver.needs_approval_from(crate::core::roles::Role::Admin));
        assert!(!set.get("joiner").unwrap().needs_approval_from(crate::core::roles::Role::Technician));
    }

    #[test]
    fn joiner_and_leaver_titles_name_the_person_and_the_day() {
        let set = shipped_set();
        let london = chrono_tz::Europe::London;
        let answers = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let leaver = set.get("leaver").unwrap();
        let a = answers(&[("name", "Priya Raman"), ("access_ends", "Fri 13 Mar 2026 17:30 GMT (“Friday”)")]);
        assert_eq!(leaver.ticket_title_for(&a, london).as_deref(), Some("Leaver: Priya Raman, Fri 13 Mar"));
        let a = answers(&[("name", "Tom Baker"), ("access_ends", "immediately (“now”)")]);
        assert_eq!(leaver.ticket_title_for(&a, london).as_deref(), Some("Leaver: Tom Baker, immediately"));
        // Handed off before the date was given: the title is left as it was.
        assert_eq!(leaver.ticket_title_for(&answers(&[("name", "Tom Baker")]), london), None);
        let joiner = set.get("joiner").unwrap();
        let a = answers(&[("name", "Sam Lee"), ("first_day", "Mon 9 Mar 2026 (“Monday”)")]);
        assert_eq!(joiner.ticket_title_for(&a, london).as_deref(), Some("Joiner: Sam Lee, starts Mon 9 Mar"));
        // Every step of both has a timeout (#33: nobody's walkthrough waits for ever).
        for rb in [leaver, joiner] {
            for s in &rb.steps {
                assert!(s.timeout().is_some(), "{} step {} has no timeout", rb.id, s.id);
            }
        }
    }

    #[test]
    fn known_answers_skip_their_steps_once() {
        // #33 probe: "Priya Raman is leaving on Friday" must not be asked "Who is leaving?" again.
        let set = shipped_set();
        let leaver = set.get("leaver").unwrap();
        let first = leaver.first_step().unwrap();
        let known: BTreeMap<String, String> = [("name", "Priya Raman"), ("access_ends", "Fri 13 Mar 2026 16:00 GMT")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (mut wt, view) = start_known(leaver, first, &vars(), t0(), known);
        assert_eq!(view.step, "handover");
        let q = crate::core::message::quoted;
        let echo = format!(
            "From your message: **Name:** {} · **Access ends:** {}. (You can change them before it is sent.)\n\nWho \
             takes over",
            q("Priya Raman"),
            q("Fri 13 Mar 2026 16:00 GMT")
        );
        assert!(view.text.starts_with(&echo), "{}", view.text);
        assert_eq!(wt.answers.get("name").map(String::as_str), Some("Priya Raman"));
        assert!(wt.known.is_empty());
        // The rest is asked as before; "Change the details" asks everything again, the name too.
        assert!(matches!(answer(leaver, &mut wt, "Ann Lee", &vars(), t0()), Ok(Outcome::Show { .. })));
        let Ok(Outcome::Show { view }) = answer(leaver, &mut wt, "laptop", &vars(), t0()) else { panic!() };
        assert_eq!(view.step, "confirm");
        assert!(view.text.contains(&format!("**Name:** {}", q("Priya Raman"))), "{}", view.text);
        assert!(view.text.contains("Fri 13 Mar 2026 16:00 GMT"), "{}", view.text);
        let change = view.buttons.iter().position(|b| b.label == "Change the details").unwrap();
        let action = ActionRef { runbook: "leaver".into(), step: "confirm".into(), choice: Choice::Button(change) };
        let Ok(Outcome::Show { view }) = press(leaver, &mut wt, &action, &vars(), t0()) else { panic!() };
        assert_eq!(view.step, "start");
        assert!(view.text.starts_with("Sorry to see them go. Who is leaving"), "{}", view.text);
        // Only the date known: the name is asked, and the date step is skipped when it comes.
        let known: BTreeMap<String, String> =
            [("access_ends".to_string(), "immediately".to_string())].into_iter().collect();
        let (mut wt, view) = start_known(leaver, first, &vars(), t0(), known);
        assert_eq!(view.step, "start");
        let Ok(Outcome::Show { view }) = answer(leaver, &mut wt, "Dan Hill", &vars(), t0()) else { panic!() };
        assert_eq!(view.step, "handover");
        let echo = format!("From your message: **Access ends:** {}. (You can change it", q("immediately"));
        assert!(view.text.starts_with(&echo), "{}", view.text);
    }

    #[test]
    fn the_good_example_validates() {
        assert_eq!(errors_for(GOOD), Vec::<String>::new());
    }

    #[test]
    fn a_step_without_a_timeout_is_named() {
        // #33: a person who walks away must not leave the ticket outside the queue.
        let text = GOOD.replace("timeout = \"1h\"\n", "");
        assert_error(&text, r#"step "start": field `timeout` is missing: every step needs one"#);
        assert_eq!(errors_for(&text).len(), 1, "{:#?}", errors_for(&text));
    }

    #[test]
    fn priority_is_only_for_hand_offs_and_must_be_p1_to_p4() {
        let on_fixed = GOOD
            .replace(r#"{ label = "Done", next = "fixed" }"#, r#"{ label = "Done", next = "fixed", priority = "P1" }"#);
        assert_error(&on_fixed, r#"step "start": button "Done": `priority` is only for next = "handoff""#);
        let bad = GOOD.replace(r#"reason = "tray broken" }"#, r#"reason = "tray broken", priority = "urgent" }"#);
        assert_error(
            &bad,
            r#"step "check-tray": button "No": field `priority`: "urgent" is not one of P1, P2, P3, P4"#,
        );
        let good = GOOD.replace(r#"reason = "tray broken" }"#, r#"reason = "tray broken", priority = "P2" }"#);
        assert_eq!(errors_for(&good), Vec::<String>::new());
        // Pressing it hands off with that priority; "Talk to a person" carries none.
        let rb = parse("runbooks/t.toml", &good).unwrap();
        let (mut wt, _) = start(&rb, &vars(), t0());
        press(&rb, &mut wt, &ActionRef::parse("rb:t:start:0").unwrap(), &vars(), t0()).unwrap();
        match press(&rb, &mut wt, &ActionRef::parse("rb:t:check-tray:1").unwrap(), &vars(), t0()).unwrap() {
            Outcome::Handoff { priority, .. } => assert_eq!(priority, Some(Priority::P2)),
            other => panic!("{other:?}"),
        }
        let (mut wt, _) = start(&rb, &vars(), t0());
        match press(&rb, &mut wt, &ActionRef::parse("rb:t:start:p").unwrap(), &vars(), t0()).unwrap() {
            Outcome::Handoff { priority, .. } => assert_eq!(priority, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_action_ends_the_walkthrough_and_is_reserved() {
        let text =
            GOOD.replace(r#"{ label = "Done", next = "fixed" }"#, r#"{ label = "Not needed", next = "no-action" }"#);
        assert_eq!(errors_for(&text), Vec::<String>::new());
        let rb = parse("runbooks/t.toml", &text).unwrap();
        let (mut wt, _) = start(&rb, &vars(), t0());
        let out = press(&rb, &mut wt, &ActionRef::parse("rb:t:start:1").unwrap(), &vars(), t0() + mins(1)).unwrap();
        assert!(matches!(out, Outcome::NoAction { .. }), "{out:?}");
        assert_eq!(wt.ended, Some(Ending::NoAction));
        assert!(transcript_text(&wt, chrono_tz::UTC).contains("Status: no IT action needed"));
        assert_eq!(WalkRecord::of(&wt, chrono_tz::UTC).status, NO_ACTION_STATUS);
        // A loop whose only exit is no-action is no loop; "no-action" is no step id, nor an entry's step.
        assert_error(
            &GOOD.replace(r#"id = "check-tray""#, r#"id = "no-action""#),
            r#"step "no-action": "fixed", "no-action" and "handoff" are reserved"#,
        );
        let entry = format!("{GOOD}\n[[entry]]\nwhen = ['x']\nstep = \"no-action\"\n");
        assert_error(&entry, r#"entry 1: field `step`: "no-action" cannot open a walkthrough"#);
    }

    #[test]
    fn what_a_walkthrough_collected_is_bounded_and_quoted() {
        let rb = parse(
            "runbooks/t.toml",
            r#"
id = "t"
title = "Test"
[[steps]]
id = "start"
say = "Which room?"
timeout = "10m"
ask = { field = "room", next = "again" }
[[steps]]
id = "again"
say = "Anything else?"
timeout = "10m"
buttons = [{ label = "No", next = "start" }, { label = "Stop", next = "handoff" }]
"#,
        )
        .unwrap();
        let (mut wt, _) = start(&rb, &vars(), t0());
        let long = format!("**Boardroom**\nline two {}", "x".repeat(300));
        answer(&rb, &mut wt, &long, &vars(), t0()).unwrap();
        for _ in 0..10 {
            press(&rb, &mut wt, &ActionRef::parse("rb:t:again:0").unwrap(), &vars(), t0()).unwrap();
            answer(&rb, &mut wt, "Room 4", &vars(), t0()).unwrap();
        }
        press(&rb, &mut wt, &ActionRef::parse("rb:t:again:1").unwrap(), &vars(), t0() + mins(5)).unwrap();
        let r = WalkRecord::of(&wt, chrono_tz::UTC);
        // The latest answer to a field is the one shown; every press and answer is a step taken.
        assert_eq!(r.answers, vec![("room".to_string(), "Room 4".to_string())]);
        assert_eq!(r.taken.len(), 22);
        let shown = crate::core::message::plain(&r.text());
        assert!(shown.starts_with("Answers:\n  room: Room 4\nSteps taken (the latest 8; 14 earlier):"), "{shown}");
        assert!(shown.ends_with("09:05 [again] pressed \"Stop\""), "{shown}");
        assert_eq!(shown.lines().count(), 1 + 1 + 1 + SHOWN_STEPS);
        // A long answer is cut, on one line, and marked as the requester's words (escaped per platform).
        let (a, t) = collected(&wt, chrono_tz::UTC);
        let first = collected_text(&[("room".into(), long)], &t[..1]);
        let line = first.lines().nth(1).unwrap();
        assert!(line.contains(crate::core::message::QUOTED_START), "{line}");
        let plain = crate::core::message::plain(line);
        assert_eq!(plain.chars().count(), "  room: ".len() + SHOWN_ANSWER_CHARS, "{plain}");
        assert!(plain.ends_with('…') && plain.contains("**Boardroom** line two"), "{plain}");
        assert!(crate::core::message::Markup::Markdown.render(line).contains("\\*\\*Boardroom"));
        assert_eq!(a.len(), 1);
        assert_eq!(collected_text(&[], &[]), "");
    }

    #[test]
    fn unknown_step_reference_is_named() {
        let bad = GOOD.replace(r#"{ label = "Yes", next = "fixed" }"#, r#"{ label = "Yes", next = "nope" }"#);
        assert_error(&bad, r#"runbooks/t.toml: step "check-tray": button "Yes" leads to unknown step "nope""#);
        let bad = GOOD.replace(
            r#"buttons = [
  { label = "Yes", next = "fixed" },
  { label = "No", next = "handoff", reason = "tray broken" },
]"#,
            r#"ask = { field = "tray", next = "gone" }"#,
        );
        assert_error(&bad, r#"step "check-tray": ask leads to unknown step "gone""#);
    }

    #[test]
    fn unreachable_step_is_named() {
        let bad = format!(
            "{GOOD}\n[[steps]]\nid = \"orphan\"\nsay = \"x\"\nbuttons = [{{ label = \"Ok\", next = \"fixed\" }}]\n"
        );
        assert_error(&bad, r#"step "orphan": unreachable from the first step "start""#);
    }

    #[test]
    fn loop_with_no_way_out_is_named() {
        let bad =
            GOOD.replace(r#"{ label = "Yes", next = "fixed" }"#, r#"{ label = "Yes", next = "loop-b" }"#).replace(
                r#"{ label = "No", next = "handoff", reason = "tray broken" }"#,
                r#"{ label = "No", next = "start" }"#,
            ) + "\n[[steps]]\nid = \"loop-b\"\nsay = \"b\"\nbuttons = [{ label = \"Back\", next = \"check-tray\" }]\n";
        // "start" can still reach fixed through "Done", so it is not stuck; the loop check-tray <-> loop-b is.
        let bad = bad.replace(r#"{ label = "Done", next = "fixed" }"#, r#"{ label = "Done", next = "start" }"#);
        let errs = errors_for(&bad);
        assert!(errs.iter().any(|e| e.contains(r#"step "loop-b": a loop with no way out"#)), "got {errs:#?}");
        assert!(errs.iter().any(|e| e.contains(r#"step "check-tray": a loop with no way out"#)));
        // The implicit "Talk to a person" does not count as a way out.
        assert!(errs.iter().all(|e| e.starts_with("runbooks/t.toml: step ")));
    }

    #[test]
    fn duplicate_and_empty_steps_are_named() {
        let dup = GOOD.replace(r#"id = "check-tray""#, r#"id = "start""#);
        assert_error(&dup, r#"step "start": duplicate step id"#);
        let empty = format!("{GOOD}\n[[steps]]\nid = \"empty\"\nsay = \"x\"\n");
        assert_error(&empty, r#"step "empty": has neither `buttons` nor `ask`"#);
        let no_say = GOOD.replace(r#"say = "Tray?""#, r#"say = " ""#);
        assert_error(&no_say, r#"step "check-tray": `say` is empty"#);
        let both = GOOD.replace(r#"timeout = "30m""#, r#"ask = { field = "f", next = "fixed" }"#);
        assert_error(&both, r#"step "check-tray": has both `buttons` and `ask`"#);
        let none = "id = \"t\"\ntitle = \"T\"\n";
        assert_error(none, "runbooks/t.toml: has no steps");
        let reserved = GOOD
            .replace(r#"id = "check-tray""#, r#"id = "fixed""#)
            .replace(r#"next = "check-tray""#, "next = \"fixed\"");
        assert_error(&reserved, r#"step "fixed": "fixed", "no-action" and "handoff" are reserved"#);
    }

    #[test]
    fn unknown_intent_placeholder_and_bad_timeout_are_named() {
        assert_error(
            &GOOD.replace("printing.jam", "printing.jammm"),
            r#"runbooks/t.toml: unknown intent "printing.jammm""#,
        );
        assert_error(
            &GOOD.replace("{{ helpdesk_phone }}", "{{ help_phone }}"),
            r#"runbooks/t.toml: step "start": unknown placeholder "{{ help_phone }}" in `say`"#,
        );
        assert_error(&GOOD.replace("{{ helpdesk_phone }}", "{{ helpdesk_phone"), r#"step "start": `say` has `{{`"#);
        assert_error(
            &GOOD.replace("30m", "30 minutes"),
            r#"runbooks/t.toml: step "check-tray": bad timeout "30 minutes""#,
        );
        assert_error(&GOOD.replace("30m", "0m"), r#"step "check-tray": bad timeout "0m": must be more than zero"#);
        assert_error(&GOOD.replace("30m", "30d"), r#"step "check-tray": bad timeout "30d": at most 7d"#);
    }

    #[test]
    fn misplaced_reason_approval_and_ids_are_named() {
        let bad = GOOD
            .replace(r#"{ label = "Done", next = "fixed" }"#, r#"{ label = "Done", next = "fixed", reason = "x" }"#);
        assert_error(&bad, r#"step "start": button "Done": `reason` is only for next = "handoff""#);
        let bad = GOOD.replace(r#"reason = "tray broken""#, r#"reason = "tray broken", approval = true"#);
        assert_error(&bad, r#"step "check-tray": button "No": approval = true but the runbook has no `approval`"#);
        let bad = GOOD.replace("title = \"Test\"", "title = \"Test\"\napproval = { approver = \"manager\" }");
        assert_error(&bad, "`approval` is only for runbooks with type = \"request\"");
        assert_error(&bad, "`approval` is set but no button or ask hands off with approval = true");
        assert_error(
            &GOOD.replace(r#"id = "t""#, r#"id = "other""#),
            r#"runbook id "other" must match the file name "t.toml""#,
        );
        let dup_label = GOOD.replace(r#"{ label = "Done", next = "fixed" }"#, r#"{ label = "yes", next = "fixed" }"#);
        assert_error(&dup_label, r#"step "start": button "yes": duplicate label"#);
        assert_error(&GOOD.replace("buttons = [", "colour = \"red\"\nbuttons = ["), "runbooks/t.toml: ");
        assert!(errors_for(&GOOD.replace("buttons = [", "colour = \"red\"\nbuttons = ["))[0].contains("colour"));
    }

    #[test]
    fn duplicate_runbook_ids_across_files_are_named() {
        let err = validate(&[("runbooks/t.toml", GOOD), ("more/t.toml", GOOD)], &["printing.jam"], &["helpdesk_phone"])
            .unwrap_err();
        assert!(
            err.0.iter().any(|e| e == r#"more/t.toml: duplicate runbook id "t" (also in runbooks/t.toml)"#),
            "{err}"
        );
    }

    // ---- entries

    const ENTRIES: &str = r#"
[[entry]]
when = ['\bon fire\b', '\bsmok']
step = "handoff"

[[entry]]
intents = ["printing.jam"]
when = ['\btray\b']
step = "check-tray"

[[entry]]
when = ['\bTRAY 2\b']
step = "start"
"#;

    #[track_caller]
    fn opens_at(rb: &Runbook, intent: Option<&str>, text: &str) -> Option<String> {
        match rb.opening(intent, text) {
            Some(Opening::Step(s)) => Some(s.id.clone()),
            Some(Opening::Handoff) => Some(HANDOFF.to_string()),
            None => None,
        }
    }

    #[test]
    fn the_first_matching_entry_opens_the_walkthrough() {
        let text = format!("{GOOD}{ENTRIES}");
        assert_eq!(errors_for(&text), Vec::<String>::new());
        let rb = parse("runbooks/t.toml", &text).unwrap();
        let jam = Some("printing.jam");
        // Every entry fits; the first wins, and `when` ignores case.
        assert_eq!(opens_at(&rb, jam, "the printer is ON FIRE and jams tray 2").as_deref(), Some(HANDOFF));
        // `intents` and `when` must both hold.
        assert_eq!(opens_at(&rb, jam, "jam in tray 2").as_deref(), Some("check-tray"));
        assert_eq!(opens_at(&rb, None, "jam in tray 2").as_deref(), Some("start"));
        assert_eq!(opens_at(&rb, Some("printing.scan"), "jam in tray 2").as_deref(), Some("start"));
        // No entry fits: the caller opens at the first step.
        assert_eq!(opens_at(&rb, jam, "paper everywhere"), None);
        // Only the part of the message triage reads is looked at.
        let long = format!("{} smoke", "x".repeat(crate::core::triage::MAX_CLASSIFY_BYTES));
        assert_eq!(opens_at(&rb, jam, &long), None);

        let step = rb.step("check-tray").unwrap();
        let (wt, v) = start_at(&rb, step, &vars(), t0());
        assert_eq!((wt.step.as_str(), v.text.as_str()), ("check-tray", "Tray?"));
        assert_eq!(wt.deadline, Some(t0() + mins(30)), "the entry step's timeout runs");
        assert_eq!(wt.transcript[0].step, "check-tray");
        // A parsed runbook with entries still round-trips and compares equal.
        let back: Runbook = serde_json::from_str(&serde_json::to_string(&rb).unwrap()).unwrap();
        assert_eq!(back, rb);
        assert_eq!(opens_at(&back, jam, "jam in tray 2").as_deref(), Some("check-tray"));
    }

    #[test]
    fn an_answer_in_the_opening_message_is_taken_by_from_message() {
        let ask = |p: &str| Ask {
            field: "room".into(),
            next: "what".into(),
            reason: None,
            approval: false,
            from_message: Some(p.into()),
        };
        let rooms = ask(r"\b((?:the )?boardroom|room [0-9]+)\b");
        assert_eq!(rooms.answer_in("the BOARDROOM screen is blank").as_deref(), Some("the BOARDROOM"));
        assert_eq!(rooms.answer_in("no sound in room 4 today").as_deref(), Some("room 4"));
        assert_eq!(rooms.answer_in("the screen won't show my laptop"), None);
        // Without a capture group, the whole match.
        assert_eq!(ask(r"floor [0-9]+").answer_in("printer on floor 3 jammed").as_deref(), Some("floor 3"));
        // None without a pattern.
        assert_eq!(Ask { from_message: None, ..rooms.clone() }.answer_in("the boardroom"), None);
        // A pattern that does not compile is named with its file and field.
        let bad = dated("").replace(
            r#"ask = { field = "last_day", next = "handoff" }"#,
            r#"ask = { field = "last_day", next = "handoff", from_message = '(unclosed' }"#,
        );
        assert_error(&bad, "step \"check-tray\": ask: field `from_message` (`(unclosed`) does not compile: ");
    }

    #[test]
    fn bad_entries_are_named_with_file_and_field() {
        let with = |entry: &str| format!("{GOOD}\n[[entry]]\n{entry}\n");
        assert_error(
            &with("when = ['x']\nstep = \"nope\""),
            r#"runbooks/t.toml: entry 1: field `step`: unknown step "nope""#,
        );
        assert_error(
            &with("when = ['x']\nstep = \"fixed\""),
            r#"runbooks/t.toml: entry 1: field `step`: "fixed" cannot"#,
        );
        assert_error(
            &with("when = ['x', '(unclosed']\nstep = \"start\""),
            "runbooks/t.toml: entry 1: field `when[1]` (`(unclosed`) does not compile: ",
        );
        assert_error(&with("when = [' ']\nstep = \"start\""), "runbooks/t.toml: entry 1: field `when[0]` is empty");
        assert_error(&with("step = \"start\""), "runbooks/t.toml: entry 1: needs `when` or `intents`");
        assert_error(
            &with("when = ['x']\nintents = [\"printing.jam\"]\nstep = \"start\"\nunsure_intent = true"),
            "runbooks/t.toml: entry 1: field `unsure_intent`: only for a runbook with `approval`",
        );
        assert_error(
            &with("intents = [\"printing.scan\"]\nstep = \"start\""),
            r#"runbooks/t.toml: entry 1: field `intents`: "printing.scan" is not one of the runbook's `intents`"#,
        );
        // The second entry is numbered as such; unknown keys are named by the parser.
        let two = format!("{GOOD}{ENTRIES}\n[[entry]]\nwhen = ['y']\nstep = \"gone\"\n");
        assert_error(&two, r#"runbooks/t.toml: entry 4: field `step`: unknown step "gone""#);
        let typo = with("when = ['x']\nstpe = \"start\"");
        assert!(errors_for(&typo).iter().any(|e| e.starts_with("runbooks/t.toml: ") && e.contains("stpe")), "{typo}");
    }

    #[test]
    fn when_patterns_too_large_together_are_an_error_not_a_silent_miss() {
        let one = format!("(\\w+ ){{0,3}}\\w{{{}}}", 60);
        assert!(compile_when(std::slice::from_ref(&one)).is_ok(), "one pattern alone compiles");
        let many: Vec<String> = (0..200).map(|i| format!("{one}{i}")).collect();
        assert!(compile_when(&many).is_err(), "the set is over the limit");
        let quoted: Vec<String> = many.iter().map(|p| format!("'{p}'")).collect();
        let toml = format!("{GOOD}\n[[entry]]\nwhen = [{}]\nstep = \"start\"\n", quoted.join(", "));
        assert_error(&toml, "runbooks/t.toml: entry 1: field `when`: the patterns together are too large");
    }

    #[test]
    fn a_step_only_an_entry_opens_is_reachable() {
        let orphan = "\n[[steps]]\nid = \"orphan\"\nsay = \"x\"\ntimeout = \"5m\"\nbuttons = [{ label = \"Ok\", next = \"fixed\" }]\n";
        let text = format!("{GOOD}{orphan}\n[[entry]]\nwhen = ['orphan']\nstep = \"orphan\"\n");
        assert_eq!(errors_for(&text), Vec::<String>::new());
        assert_error(
            &format!("{GOOD}{orphan}\n[[entry]]\nwhen = ['x']\nstep = \"check-tray\"\n"),
            r#"step "orphan": unreachable from the first step "start" or an entry"#,
        );
    }

    // ---- engine

    fn good() -> Runbook {
        parse("runbooks/t.toml", GOOD).unwrap()
    }

    #[test]
    fn views_fill_placeholders_and_add_talk_to_a_person() {
        let rb = good();
        let (wt, v) = start(&rb, &vars(), t0());
        assert_eq!(v.text, "Call <helpdesk_phone>");
        let labels: Vec<&str> = v.buttons.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["Yes", "Done", TALK_TO_PERSON]);
        assert_eq!(v.buttons[0].action, "rb:t:start:0");
        assert_eq!(v.buttons[2].action, "rb:t:start:p");
        assert_eq!(v.buttons[1].style, ButtonStyle::Primary);
        assert_eq!(wt.deadline, Some(t0() + mins(60)));
        // A step with its own hand-off button gets no extra one.
        let mut wt = wt;
        let a = ActionRef::parse("rb:t:start:0").unwrap();
        let Outcome::Show { view } = press(&rb, &mut wt, &a, &vars(), t0()).unwrap() else { panic!() };
        let labels: Vec<&str> = view.buttons.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["Yes", "No"]);
        assert_eq!(wt.deadline, Some(t0() + mins(30)));
        let p = ActionRef { runbook: "t".into(), step: "check-tray".into(), choice: Choice::Person };
        assert_eq!(press(&rb, &mut wt, &p, &vars(), t0()), Err(WalkError::NoSuchButton));
    }

    #[test]
    fn stale_wrong_and_ended_presses_are_refused_without_change() {
        let rb = good();
        let (mut wt, _) = start(&rb, &vars(), t0());
        let yes = ActionRef::parse("rb:t:start:0").unwrap();
        press(&rb, &mut wt, &yes, &vars(), t0()).unwrap();
        let before = wt.clone();
        assert!(matches!(press(&rb, &mut wt, &yes, &vars(), t0()), Err(WalkError::Stale { .. })));
        let other = ActionRef { runbook: "x".into(), ..yes.clone() };
        assert!(matches!(press(&rb, &mut wt, &other, &vars(), t0()), Err(WalkError::WrongRunbook { .. })));
        let nine = ActionRef::parse("rb:t:check-tray:9").unwrap();
        assert_eq!(press(&rb, &mut wt, &nine, &vars(), t0()), Err(WalkError::NoSuchButton));
        assert_eq!(answer(&rb, &mut wt, "hello", &vars(), t0()), Err(WalkError::NotAsking));
        assert_eq!(wt, before);
        let fix = ActionRef::parse("rb:t:check-tray:0").unwrap();
        assert!(matches!(press(&rb, &mut wt, &fix, &vars(), t0()), Ok(Outcome::Fixed { .. })));
        assert_eq!(press(&rb, &mut wt, &fix, &vars(), t0()), Err(WalkError::Ended));
        assert_eq!(tick(&rb, &mut wt, &vars(), t0() + Duration::days(9)), None);
    }

    #[test]
    fn timeout_sends_one_reminder_then_hands_off() {
        let rb = good();
        let (mut wt, _) = start(&rb, &vars(), t0());
        assert_eq!(tick(&rb, &mut wt, &vars(), t0() + mins(59)), None, "the first step's hour has not passed");
        press(&rb, &mut wt, &ActionRef::parse("rb:t:start:0").unwrap(), &vars(), t0()).unwrap();
        assert_eq!(tick(&rb, &mut wt, &vars(), t0() + mins(29)), None);
        let Some(Outcome::Remind { view }) = tick(&rb, &mut wt, &vars(), t0() + mins(30)) else { panic!() };
        assert!(view.text.starts_with("Still there?") && view.text.ends_with("Tray?"), "{}", view.text);
        assert!(wt.reminder_sent);
        assert_eq!(wt.deadline, Some(t0() + mins(60)));
        assert_eq!(tick(&rb, &mut wt, &vars(), t0() + mins(59)), None);
        match tick(&rb, &mut wt, &vars(), t0() + mins(60)) {
            Some(Outcome::Handoff { reason, approval: None, transcript, priority: None }) => {
                assert_eq!(reason, r#"no answer at step "check-tray" for 30m after a reminder"#);
                let events: Vec<&Event> = transcript.iter().map(|e| &e.event).collect();
                assert_eq!(events[events.len() - 2..], [&Event::Reminded, &Event::TimedOut]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(tick(&rb, &mut wt, &vars(), t0() + mins(120)), None);
        let text = transcript_text(&wt, chrono_tz::UTC);
        assert!(text.contains("Status: handed off: no answer"), "{text}");
        assert!(text.contains("09:30 [check-tray] no answer; reminder sent"), "{text}");
    }

    #[test]
    fn an_answer_resets_the_reminder() {
        let set = shipped_set();
        let rb = set.get("meeting-room-av").unwrap();
        let (mut wt, v) = start(rb, &vars(), t0());
        assert_eq!(v.ask.as_deref(), Some("room"));
        assert!(matches!(tick(rb, &mut wt, &vars(), t0() + mins(10)), Some(Outcome::Remind { .. })));
        assert_eq!(answer(rb, &mut wt, "   ", &vars(), t0() + mins(11)), Err(WalkError::EmptyAnswer));
        let Outcome::Show { view } = answer(rb, &mut wt, "  Room 3 ", &vars(), t0() + mins(11)).unwrap() else {
            panic!()
        };
        // The answer is the requester's text: marked, so each platform escapes it (#30).
        assert_eq!(view.text, "What's wrong in \u{E000}Room 3\u{E001}?");
        assert_eq!(crate::core::message::plain(&view.text), "What's wrong in Room 3?");
        assert!(!wt.reminder_sent);
        assert_eq!(wt.deadline, Some(t0() + mins(21)));
        assert_eq!(wt.answers["room"], "Room 3");
    }

    #[test]
    fn walkthrough_survives_a_restart_mid_walk() {
        let set = shipped_set();
        let rb = set.get("new-laptop").unwrap();
        let (mut wt, _) = start(rb, &vars(), t0());
        let no = ActionRef { runbook: rb.id.clone(), step: "start".into(), choice: Choice::Button(1) };
        press(rb, &mut wt, &no, &vars(), t0() + mins(1)).unwrap();
        answer(rb, &mut wt, "MacBook Air", &vars(), t0() + mins(2)).unwrap();
        let saved = serde_json::to_string(&wt).unwrap();

        let mut back: Walkthrough = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, wt);
        assert_eq!(view(rb, &back, &vars()).unwrap().step, "reason");
        answer(rb, &mut back, "mine is 5 years old", &vars(), t0() + mins(3)).unwrap();
        let Outcome::Show { view } = answer(rb, &mut back, "1 April", &vars(), t0() + mins(4)).unwrap() else {
            panic!()
        };
        assert!(crate::core::message::plain(&view.text).contains("**Model:** MacBook Air"), "{}", view.text);
        let send = ActionRef::parse(&view.buttons[0].action).unwrap();
        match press(rb, &mut back, &send, &vars(), t0() + mins(5)).unwrap() {
            Outcome::Handoff { reason, approval: Some(a), .. } => {
                assert_eq!(reason, "awaiting manager approval");
                assert_eq!(a.approver, "manager");
                let want = [("model", "MacBook Air"), ("reason", "mine is 5 years old"), ("needed_by", "1 April")];
                let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
                assert_eq!(a.details, want);
            }
            other => panic!("{other:?}"),
        }
        let text = transcript_text(&back, chrono_tz::UTC);
        assert!(text.contains("Runbook: New laptop request (new-laptop)"), "{text}");
        assert!(text.contains("Status: handed off: awaiting manager approval"), "{text}");
        assert!(text.contains("09:02 [model] answered model: MacBook Air"), "{text}");
        assert!(text.contains("09:05 [confirm] pressed \"Send for approval\""), "{text}");
    }

    #[test]
    fn action_ids_round_trip_and_junk_is_rejected() {
        for choice in [Choice::Button(0), Choice::Button(4), Choice::Person] {
            let a = ActionRef { runbook: "printer-queue".into(), step: "check-tray".into(), choice };
            assert_eq!(ActionRef::parse(&a.encode()), Some(a));
        }
        let longest = ActionRef { runbook: "a".repeat(MAX_ID), step: "b".repeat(MAX_ID), choice: Choice::Button(99) };
        assert!(longest.encode().len() <= 100);
        for junk in
            ["", "rb:", "rb:a:b", "rb:a:b:", "rb:a:b:x", "rb:a:b:1:2", "rb:A:b:1", "ticket:claim:4", "rb:a:b:123"]
        {
            assert_eq!(ActionRef::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn leaver_cannot_be_resolved_with_open_items() {
        let set = shipped_set();
        let rb = set.get("leaver").unwrap();
        assert_eq!(Checklist::for_runbook(set.get("printer-queue").unwrap()), None);
        let mut c = Checklist::for_runbook(rb).unwrap();
        let n = c.items.len();
        assert_eq!(c.open_items().len(), n);
        let err = c.check_resolvable().unwrap_err();
        assert!(err.contains(&format!("{n} checklist item(s) still open")), "{err}");
        c.tick("verified", "sam", t0()).unwrap();
        assert!(c.tick("1", "kim", t0()).unwrap_err().contains("already ticked by sam"));
        assert!(c.tick("nope", "sam", t0()).is_err());
        for k in 2..=n {
            c.tick(&k.to_string(), "sam", t0()).unwrap();
        }
        assert!(c.open_items().is_empty());
        assert_eq!(c.check_resolvable(), Ok(()));
        c.untick("licences").unwrap();
        assert_eq!(c.open_items()[0].id, "licences");
        assert!(c.check_resolvable().is_err());
        assert!(c.text().contains("[x] 1. Request verified"), "{}", c.text());
        assert!(c.text().contains("[x] 2. Sign-in blocked"), "{}", c.text());
        assert_eq!(
            c.check_done("close").unwrap_err(),
            format!("cannot close: 1 checklist item(s) still open: \"{}\"", c.items[n - 1].text)
        );
        let back: Checklist = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_placeholders_at_run_time_stay_visible() {
        let empty = BTreeMap::new();
        assert_eq!(render("a {{ x }} b {{y}}", &empty, &empty), "a {{ x }} b {{y}}");
        let v: BTreeMap<String, String> = [("x".to_string(), "1".to_string())].into();
        assert_eq!(render("a {{ x }} b {{ x", &v, &empty), "a 1 b {{ x");
    }
}

//! The ticket and its state machine: states, single owner, replies vs notes, and the append-only event log.
//!
//! Every change goes through a method here that checks the transition, mutates the ticket and returns the
//! [`Event`] that records it. Nothing here does I/O; callers persist the ticket and its new events together.

use super::ids::{Place, Platform, TicketNo, UserRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

pub type Timestamp = DateTime<Utc>;

/// Lifecycle of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    Open,
    PendingUser,
    PendingVendor,
    Resolved,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Open => "open",
            State::PendingUser => "pending_user",
            State::PendingVendor => "pending_vendor",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "new" => State::New,
            "open" => State::Open,
            "pending_user" => State::PendingUser,
            "pending_vendor" => State::PendingVendor,
            "resolved" => State::Resolved,
            "closed" => State::Closed,
            _ => return None,
        })
    }

    /// Still needs work from somebody (not resolved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, State::Resolved | State::Closed)
    }

    /// True if `self -> to` is a legal transition.
    pub fn can_go(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (New, Open)
                | (New | Open | PendingVendor, PendingUser)
                | (New | Open | PendingUser, PendingVendor)
                | (PendingUser | PendingVendor, Open)
                | (New | Open | PendingUser | PendingVendor, Resolved)
                | (Resolved, Closed)
                | (Resolved | Closed, Open)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Incident (something broke) or request (something is wanted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketType {
    Incident,
    Request,
}

impl TicketType {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketType::Incident => "incident",
            TicketType::Request => "request",
        }
    }
    pub fn parse(s: &str) -> Option<TicketType> {
        match s {
            "incident" => Some(TicketType::Incident),
            "request" => Some(TicketType::Request),
            _ => None,
        }
    }
}

impl fmt::Display for TicketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// P1 (most urgent) to P4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P1" | "1" => Some(Priority::P1),
            "P2" | "2" => Some(Priority::P2),
            "P3" | "3" => Some(Priority::P3),
            "P4" | "4" => Some(Priority::P4),
            _ => None,
        }
    }
    /// One step more urgent (P1 stays P1).
    /// One step less urgent (P4 stays P4).
    pub fn lowered(self) -> Priority {
        match self {
            Priority::P1 => Priority::P2,
            Priority::P2 => Priority::P3,
            Priority::P3 | Priority::P4 => Priority::P4,
        }
    }

    pub fn raised(self) -> Priority {
        match self {
            Priority::P1 | Priority::P2 => Priority::P1,
            Priority::P3 => Priority::P2,
            Priority::P4 => Priority::P3,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parts of a ticket's history that KPIs need (every resolution and reopen, replies), kept on the ticket so a
/// report reads one row per ticket instead of its event log. Every such event is made by [`Ticket`]'s methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KpiHistory {
    /// Every resolution, and the end of a declined request (see [`Ticket::decline`]), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reopens: Vec<Timestamp>,
    /// Public replies by people.
    #[serde(default)]
    pub public_replies: u32,
    /// The requester wrote after a public reply (a next-response clock ran).
    #[serde(default)]
    pub next_response_ran: bool,
    /// Every next-response cycle (a requester message, or their reopen, awaiting a technician's answer), oldest
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_responses: Vec<NextResponseCycle>,
    /// Starts of the resolution cycles after the first (a reopen long after resolution), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_cycles: Vec<Timestamp>,
    /// When the ticket was merged into another (its clocks were cancelled then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<Timestamp>,
    /// The resolutions a self-service walkthrough made (fixed, or nothing for IT to do), oldest first: no
    /// technician's, so never a first-contact resolution, even once reopened (#33).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub self_service: Vec<Timestamp>,
}

/// One next-response cycle: the requester waiting for an answer from `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextResponseCycle {
    pub since: Timestamp,
    /// When its target fell (or falls) due, as known when it was answered (`None`: unknown, or paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// The technician's answer (`None`: still waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<Timestamp>,
}

impl KpiHistory {
    /// Takes one event into account (the same rules as reading the event log).
    pub fn record(&mut self, at: Timestamp, kind: &EventKind) {
        match kind {
            EventKind::StateChanged { to: State::Resolved, .. } => self.resolutions.push(at),
            // A decline ends the request straight from an active state: it leaves the backlog then, like a
            // resolution (reports tell the two apart by the ticket's `declined_by`).
            EventKind::StateChanged { from, to: State::Closed } if from.is_active() => self.resolutions.push(at),
            EventKind::Reopened { .. } => self.reopens.push(at),
            EventKind::PublicReply { .. } => self.public_replies += 1,
            EventKind::RequesterMessage { .. } if self.public_replies > 0 => self.next_response_ran = true,
            EventKind::MergedInto { .. } => self.merged_at = Some(at),
            // A walkthrough's ending that resolved the ticket (its resolution has the same instant).
            EventKind::Runbook { outcome, .. } if outcome == "fixed" || outcome == "no_action" => {
                self.self_service.push(at)
            }
            _ => {}
        }
    }

    /// A next-response cycle starts at `at`.
    pub fn awaiting(&mut self, at: Timestamp) {
        self.next_responses.push(NextResponseCycle { since: at, due: None, answered: None });
    }

    /// The running next-response cycle, if any, was answered at `at`; `due` was its target.
    pub fn answered(&mut self, at: Timestamp, due: Option<Timestamp>) {
        if let Some(c) = self.next_responses.last_mut().filter(|c| c.answered.is_none()) {
            c.answered = Some(at);
            c.due = due;
        }
    }

    /// Rebuilds the next-response cycles and the merge from an event log (tickets stored before the history was
    /// kept), by the rules of [`Ticket::requester_message`], [`Ticket::reopen`] and [`Ticket::reply`]: a cycle
    /// starts on the requester's message or reopen once a technician has responded, and ends at the next public
    /// reply or resolution text by someone else. `requester` tells the requester's events apart.
    pub fn replay_cycles(&mut self, events: &[Event], is_requester: impl Fn(&Event) -> bool) {
        let mut responded = false;
        let mut waiting = false;
        let mut active = true;
        for e in events {
            let mine = is_requester(e);
            match &e.kind {
                EventKind::StateChanged { to, .. } => active = to.is_active(),
                EventKind::PublicReply { .. } if e.actor.is_some() => {
                    responded = true;
                    if std::mem::take(&mut waiting) {
                        self.answered(e.at, None);
                    }
                }
                EventKind::Resolved { text: Some(_) } if e.actor.is_some() && !mine => {
                    responded = true;
                    if std::mem::take(&mut waiting) {
                        self.answered(e.at, None);
                    }
                }
                EventKind::RequesterMessage { .. } if mine && responded && !waiting && active => {
                    waiting = true;
                    self.awaiting(e.at);
                }
                EventKind::Reopened { .. } if mine && responded && !waiting => {
                    waiting = true;
                    self.awaiting(e.at);
                }
                EventKind::MergedInto { .. } => self.merged_at = Some(e.at),
                _ => {}
            }
        }
    }
}

/// Where the ticket was raised, so replies go back to the same thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub platform: Platform,
    pub place: Place,
}

/// An interval in which the ticket waited (on the requester, a vendor, or resolved/closed before a reopen, or for an
/// approver's decision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    /// The state the ticket waited in.
    pub on: State,
    pub from: Timestamp,
    /// `None` while still waiting.
    pub to: Option<Timestamp>,
    /// Waiting for an approver's decision (in an active state): nobody in IT may act on the request until then, so
    /// its clocks pause as they do while waiting on the requester (#33 probe).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval: bool,
}

/// A requester's satisfaction rating after resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub good: bool,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An SLA clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl SlaClock {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaClock::FirstResponse => "first_response",
            SlaClock::NextResponse => "next_response",
            SlaClock::Resolution => "resolution",
        }
    }
    /// As people read it: "first response".
    pub fn label(self) -> &'static str {
        match self {
            SlaClock::FirstResponse => "first response",
            SlaClock::NextResponse => "next response",
            SlaClock::Resolution => "resolution",
        }
    }
    pub fn parse(s: &str) -> Option<SlaClock> {
        match s {
            "first_response" => Some(SlaClock::FirstResponse),
            "next_response" => Some(SlaClock::NextResponse),
            "resolution" => Some(SlaClock::Resolution),
            _ => None,
        }
    }
}

/// A recorded breach of one clock in one cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub clock: SlaClock,
    /// When the target fell due.
    pub due: Timestamp,
    /// The cycle's key (see [`crate::core::sla`]).
    pub cycle: String,
}

/// One entry of the append-only log: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    /// `None` when deskbot itself acted (scheduler, classifier).
    pub actor: Option<UserRef>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What changed. Serialized with a `kind` tag; later variants are only ever added, never renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Created {
        title: String,
        category: String,
        priority: Priority,
        ticket_type: TicketType,
    },
    Classified {
        intent: Option<String>,
        category: String,
        confidence: f64,
    },
    StateChanged {
        from: State,
        to: State,
    },
    OwnerChanged {
        from: Option<UserRef>,
        to: Option<UserRef>,
    },
    PublicReply {
        text: String,
    },
    InternalNote {
        text: String,
    },
    RequesterMessage {
        text: String,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    CategoryChanged {
        from: String,
        to: String,
    },
    Resolved {
        text: Option<String>,
    },
    Reopened {
        reason: Option<String>,
    },
    Closed,
    /// An action was refused by the role rules; kept for audit.
    Denied {
        action: String,
        reason: String,
        /// How many more times the same person was refused the same thing, with the same answer, since the last
        /// `denied` event like it: repeats within an hour are folded into one such count (#30).
        #[serde(default, skip_serializing_if = "no_more")]
        repeated: u32,
    },
    /// A runbook walkthrough ended: `fixed` (deflected) or `handoff`, with what was tried.
    Runbook {
        runbook: String,
        outcome: String,
        reason: Option<String>,
        transcript: String,
    },
    /// A checklist item was ticked.
    ChecklistTicked {
        item: String,
    },
    /// This ticket was folded into `into` as a duplicate.
    MergedInto {
        into: TicketNo,
    },
    /// Duplicate `from` was folded into this ticket.
    MergedFrom {
        from: TicketNo,
    },
    Linked {
        with: TicketNo,
    },
    /// Detected as the `count`th look-alike in the recurring window (counted up to a cap: a large `count` means
    /// "at least").
    Recurring {
        fingerprint: String,
        count: usize,
    },
    ProblemLinked {
        problem: i64,
    },
    Rated {
        good: bool,
        comment: Option<String>,
    },
    /// An approver decided on a request.
    Approval {
        approved: bool,
        reason: Option<String>,
    },
    /// An SLA warning (75, 90) or breach (100) fired. `late` when it fired after deskbot was down.
    SlaWarning {
        clock: SlaClock,
        percent: u8,
        due: Timestamp,
        late: bool,
    },
    /// The ticket was escalated to a vendor (`via`: email, webhook or manual).
    VendorEscalated {
        vendor: String,
        via: String,
        summary: Option<String>,
    },
    /// The vendor's own reference for the case.
    VendorReference {
        vendor: String,
        reference: String,
    },
    /// What the vendor said.
    VendorUpdate {
        vendor: String,
        text: String,
    },
    /// The owner was prompted to chase (`reason`: response, resolution or quiet).
    VendorFollowUpDue {
        vendor: String,
        reason: String,
    },
    /// A follow-up was sent to the vendor.
    VendorChased {
        vendor: String,
    },
    /// Follow-ups are held back until `until`.
    VendorSnoozed {
        vendor: String,
        until: Timestamp,
    },
    /// The vendor case ended.
    VendorClosed {
        vendor: String,
    },
    /// A vendor case's contract target (`response` or `resolution`) reached `percent` (75, 90; 100 is the breach)
    /// while unmet; `due` is the target's instant. `late` when it fired after deskbot was down.
    VendorWarning {
        vendor: String,
        target: String,
        percent: u8,
        due: Timestamp,
        late: bool,
    },
    /// The open vendor case passed to the ticket's new owner (`from`: the previous owner, if any).
    VendorHandedOver {
        vendor: String,
        from: Option<UserRef>,
        to: UserRef,
    },
    /// The open vendor case moved from ticket `from` to ticket `to` (a merge); recorded on both.
    VendorCaseMoved {
        vendor: String,
        from: TicketNo,
        to: TicketNo,
    },
    /// The requester thanked us or confirmed it works, after the resolution (recorded; it does not reopen).
    Thanked {
        text: String,
    },
    /// The requester closed the ticket themselves ("nvm, fixed it myself"); not a resolution by the helpdesk.
    Withdrawn {
        text: Option<String>,
    },
    /// The requester answered "Shall I close it?" with "Keep it open" (the button, or `text` as typed).
    KeptOpen {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The request was declined by its approver (`reason` as given) and closed with that: no resolution by the
    /// helpdesk, nothing to rate, and it is not reopened.
    Declined {
        reason: Option<String>,
    },
    /// The ticket became a major incident after `reports` people reported the same problem (actor: the
    /// technician who marked it, or none when deskbot noticed).
    MajorIncident {
        reports: usize,
    },
    /// Someone other than the requester has this (major) problem too: the actor's report or later message.
    AffectedReport {
        text: String,
    },
    /// This ticket was folded into the major incident `major`; its requester follows that one.
    PartOfMajor {
        major: TicketNo,
    },
    /// A message reached the vendor (`what`: case or chase) after `attempts` tries.
    VendorSent {
        vendor: String,
        what: String,
        attempts: i64,
    },
    /// A send to the vendor failed; the outbox retries it.
    VendorSendFailed {
        vendor: String,
        what: String,
        attempt: i64,
        error: String,
    },
    /// A checklist item ticked by mistake was unticked (`/ticket uncheck`).
    ChecklistUnticked {
        item: String,
    },
    /// A technician asked Alertmanager to silence the alert group (`/ticket silence`, the card's button); `matchers`
    /// as people read them.
    SilenceRequested {
        until: Timestamp,
        matchers: String,
        comment: String,
    },
    /// Alertmanager created the silence (its `silenceID`) after `attempts` tries.
    Silenced {
        id: String,
        until: Timestamp,
        attempts: i64,
    },
    /// Creating the silence failed; `gave_up`: refused for good (a 4xx) or out of retries, else the outbox retries.
    SilenceFailed {
        attempt: i64,
        error: String,
        gave_up: bool,
    },
    /// The silence ended while the ticket was open.
    SilenceExpired {
        until: Timestamp,
    },
    /// An admin did `action` beyond a technician's role (on a ticket someone else owns: reassign, unclaim, act on
    /// its vendor cases; or deciding in an approver's place); recorded next to what it changed.
    AsAdmin {
        action: String,
    },
}

/// Why a change to a ticket was refused. Messages are shown to the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// The state machine does not allow this move.
    #[error("{ticket} is {from}; it cannot go to {to}")]
    IllegalTransition { ticket: TicketNo, from: State, to: State },
    /// Somebody else already owns the ticket.
    #[error("{ticket} is already owned by {owner}")]
    AlreadyOwned { ticket: TicketNo, owner: String },
    /// The actor already owns it.
    #[error("you already own {ticket}")]
    AlreadyYours { ticket: TicketNo },
    /// Unclaim/ownership action on a ticket nobody owns.
    #[error("{ticket} has no owner")]
    NotOwned { ticket: TicketNo },
    /// The ticket is resolved or closed and cannot take this action.
    #[error("{ticket} is {state}; reopen it first")]
    NotActive { ticket: TicketNo, state: State },
    /// Empty text where some is needed.
    #[error("{0}")]
    Invalid(String),
}

/// A ticket as the core sees it. Events live beside it in storage; the methods below return new ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub number: TicketNo,
    pub title: String,
    pub description: String,
    pub requester: UserRef,
    pub origin: Origin,
    pub category: String,
    pub intent: Option<String>,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub state: State,
    pub owner: Option<UserRef>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub first_response_due: Option<Timestamp>,
    pub resolution_due: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Resolved by self-service (a runbook) with no technician.
    pub deflected: bool,
    pub reopen_count: u32,
    /// Waiting intervals, oldest first; SLA clocks skip them as their policy says.
    #[serde(default)]
    pub pauses: Vec<Pause>,
    /// Start of the current resolution cycle (`None`: creation). A reopen long after resolution starts a new one.
    #[serde(default)]
    pub cycle_start: Option<Timestamp>,
    /// Set when the requester writes after a technician's public reply; cleared by the next public reply.
    #[serde(default)]
    pub awaiting_reply_since: Option<Timestamp>,
    #[serde(default)]
    pub next_response_due: Option<Timestamp>,
    /// The SLA policy in force.
    #[serde(default)]
    pub sla_policy: Option<String>,
    /// Breaches recorded by the scheduler; never erased, even if a policy change would now meet the target.
    #[serde(default)]
    pub breaches: Vec<Breach>,
    /// Items technicians tick off (joiner, leaver); the ticket cannot be resolved while one is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<super::runbook::Checklist>,
    /// A request waiting for an approver's decision (role name: manager, lead, admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_approval: Option<String>,
    /// The approvers were reminded of the wait that began then (once per wait: a business day without a decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reminded: Option<Timestamp>,
    /// Who declined this request; a declined request stays declined (it is not reopened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    /// A technician set the priority (`/ticket priority`): the requester's wording no longer changes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub priority_by_staff: bool,
    /// Recurring-issue fingerprint (see [`super::recurring`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The problem record this ticket is linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<i64>,
    /// Set when this ticket was folded into another as a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<TicketNo>,
    /// Related tickets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<TicketNo>,
    /// Others to tell when the ticket is resolved (requesters of merged duplicates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<UserRef>,
    /// The requester's satisfaction rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<Csat>,
    /// Cases escalated to vendors (several allowed; the ticket keeps its one owner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_cases: Vec<super::vendor::VendorCase>,
    /// What the KPIs need of the ticket's history, kept as events happen (`None`: stored before it was kept; reports
    /// then read the event log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<KpiHistory>,
    /// Set on tickets raised by a monitoring alert: the alert group and what fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Box<super::alerts::AlertInfo>>,
    /// A major incident: many people have this problem; later reporters join it as affected people.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub major: bool,
    /// People affected besides the requester, each once, with where to tell them (see [`Ticket::affected_report`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// The major incident this ticket was folded into; its requester is one of that ticket's affected people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TicketNo>,
    /// The requester closed it themselves ("nvm, fixed it myself"): not a resolution by the helpdesk.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// When the requester last wrote about it (its creation, then each message they added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_requester_at: Option<Timestamp>,
    /// Messages on the ticket its owner was not told of one by one (the desk folds owner notices; see
    /// `core::desk::notices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_notices: Option<NoticeFold>,
    /// A joiner's first day or a leaver's access end, read from its walkthrough (#33): the resolution clock and the
    /// access-removal alert follow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_date: Option<WorkDate>,
    /// When the requester was last asked "Shall I close #N?" and has not answered: a typed "yes" or "keep it open"
    /// soon after is that answer, not the answer to a walkthrough question still waiting (probe D).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_offered: Option<Timestamp>,
    /// What the requester said that made deskbot offer to close ("nvm"), shown on the queue card while the offer
    /// waits (probe I: a walkthrough that timed out after an unanswered "nvm" handed off a card without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_offer_after: Option<String>,
    /// When a technician last replied to the requester (a public reply): their answer soon after, written outside
    /// the thread, is about this ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_at: Option<Timestamp>,
    /// Optimistic-concurrency version, bumped by the store on every write.
    pub version: i64,
    /// Resolved by a walkthrough that found nothing for IT to do (`next = "no-action"`: "I'll contact my
    /// provider"): a resolution, but neither deflected nor a first-contact resolution in reports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_it_action: bool,
    /// What the self-service walkthrough collected (answers, steps taken, how it ended), for the technician: on the
    /// queue card and in `/ticket show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walk_record: Option<super::runbook::WalkRecord>,
    /// The self-service walkthrough that ran before the ticket reached the technicians' queue (#33 probe). The SLA
    /// clocks run from the ticket's creation (the requester's wait), but while it runs no warning or breach is sent:
    /// the queue is warned only about tickets it has been shown. `None`: no walkthrough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_service: Option<SelfService>,
}

/// When a ticket's self-service walkthrough ran (see [`Ticket::self_service`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfService {
    pub from: Timestamp,
    /// When it ended (handed off, fixed, withdrawn, taken over); `None` while the requester is still in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
}

/// The date a joiner or leaver ticket is worked to (see `runbooks/README.md`, `ticket_date`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkDate {
    pub means: super::runbook::DateMeaning,
    /// When the leaver's access ends (the hand-off itself for "immediately"), or the start of the joiner's first
    /// day, office time.
    pub at: Timestamp,
    /// A joiner's ticket is due by this instant (the end of the last business day before the first day) instead of
    /// its policy's resolution target; `None` when that has already passed (then the policy's target applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_by: Option<Timestamp>,
    /// The leaver's access-removal alert has been sent (at `at`, or with the hand-off for "immediately").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alerted: bool,
}

impl Ticket {
    /// The requester is still in the self-service walkthrough the ticket opened with: the queue has not been shown
    /// the ticket, so no SLA warning or breach is sent yet (they are sent, once, when it is handed off).
    pub fn in_self_service(&self) -> bool {
        self.self_service.as_ref().is_some_and(|s| s.to.is_none())
    }

    /// A self-service walkthrough starts on the ticket (at its creation): its warnings wait for the hand-off. A
    /// ticket whose walkthrough already ended (the queue has seen it) is not held back again.
    pub fn begin_self_service(&mut self, at: Timestamp) {
        if self.self_service.is_none() {
            self.self_service = Some(SelfService { from: at, to: None });
        }
    }

    /// The ticket's self-service walkthrough ended (handed off, fixed, withdrawn, taken over): its warnings are due
    /// again, those already past sent at once.
    pub fn end_self_service(&mut self, at: Timestamp) {
        if let Some(s) = self.self_service.as_mut().filter(|s| s.to.is_none()) {
            s.to = Some(at);
        }
    }

    /// Where the resolution clock of the current cycle starts: a leaver's clock starts when access ends (the rest of
    /// the checklist is worked from then), never before the ticket or its cycle.
    pub fn resolution_start(&self) -> Timestamp {
        let start = self.cycle_start.unwrap_or(self.created_at);
        match &self.work_date {
            Some(d) if d.means == super::runbook::DateMeaning::AccessEnd => start.max(d.at),
            _ => start,
        }
    }

    /// A leaver's access end that is still ahead of `now`: until then the ticket is not resolved (its alert would
    /// be lost) unless the technician says access was removed early.
    pub fn access_end_ahead(&self, now: Timestamp) -> Option<Timestamp> {
        self.work_date
            .as_ref()
            .filter(|d| d.means == super::runbook::DateMeaning::AccessEnd && d.at > now)
            .map(|d| d.at)
    }

    /// A fixed resolution due instant (a joiner's, in its first cycle), if any.
    pub fn fixed_resolution_due(&self) -> Option<Timestamp> {
        self.work_date.as_ref().filter(|_| self.cycle_start.is_none()).and_then(|d| d.resolve_by)
    }
}

/// When the owner was last told of a message on the ticket, and what was written since that they have not been told
/// of yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeFold {
    pub told_at: Timestamp,
    /// Messages since `told_at` the owner has not been told of.
    #[serde(default)]
    pub untold: u32,
    /// The latest of them: who wrote it, and the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<(String, String)>,
    /// Everyone who wrote them, as shown, in the order they first wrote (at most [`NoticeFold::NAMES`] kept; the
    /// rest are counted in `more_writers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writers: Vec<String>,
    #[serde(default, skip_serializing_if = "no_more")]
    pub more_writers: u32,
}

fn no_more(n: &u32) -> bool {
    *n == 0
}

impl NoticeFold {
    /// How many writers' names a fold keeps.
    pub const NAMES: usize = 20;

    /// A fold that starts now with nothing untold.
    pub fn starting(at: Timestamp) -> NoticeFold {
        NoticeFold { told_at: at, untold: 0, latest: None, writers: Vec::new(), more_writers: 0 }
    }

    /// One more untold message from `who`.
    pub fn add(&mut self, who: &str, text: &str) {
        self.untold += 1;
        self.latest = Some((who.to_string(), text.to_string()));
        if !self.writers.iter().any(|w| w == who) {
            if self.writers.len() < Self::NAMES {
                self.writers.push(who.to_string());
            } else {
                self.more_writers += 1;
            }
        }
    }

    /// Who wrote the untold messages: "alice", "alice and bob", "alice, bob and 3 others".
    pub fn who_wrote(&self) -> String {
        let mut names: Vec<String> = self.writers.clone();
        if names.is_empty()
            && let Some((who, _)) = &self.latest
        {
            names.push(who.clone());
        }
        let others = self.more_writers as usize;
        match (names.len(), others) {
            (0, _) => "someone".to_string(),
            (1, 0) => names[0].clone(),
            (n, 0) => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
            (_, k) => format!("{} and {k} {}", names.join(", "), if k == 1 { "other" } else { "others" }),
        }
    }
}

/// A person affected by a (major) ticket who is not its requester: told of public replies and the resolution where
/// they reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub user: UserRef,
    pub place: Place,
    pub at: Timestamp,
}

/// The facts needed to open a ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub number: TicketNo,
    pub text: String,
    pub requester: UserRef,
    pub origin: Origin,
    pub category: String,
    pub intent: Option<String>,
    pub confidence: f64,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub at: Timestamp,
}

/// Longest title we keep; the full text stays in the description.
pub const TITLE_MAX_CHARS: usize = 120;

/// Whether a line says something: two words that are not a greeting or a plea ("help", "hey", "my outlook" do not).
pub fn says_something(l: &str) -> bool {
    const EMPTY: &[&str] = &[
        "help", "please", "pls", "urgent", "hello", "hey", "morning", "anyone", "there", "quick", "question", "sorry",
        "thanks", "the", "and", "you", "can", "someone", "my",
    ];
    l.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !EMPTY.contains(&w.to_lowercase().as_str()))
        .count()
        >= 2
}

/// The first line of `text`, cleaned of control characters and cut to [`TITLE_MAX_CHARS`].
/// A greeting opening the line ("hi team, ", "Morning all! ", "hey sam - ") is left out, and a line that is only a
/// greeting is skipped (probe J: titles read "hi all, outlook keeps crashing").
pub fn title_from(text: &str) -> String {
    let breaks = ['\n', '\r', '\u{85}', '\u{b}', '\u{c}', '\u{2028}', '\u{2029}'];
    let line = text
        .split(breaks)
        .map(|l| without_greeting(l.trim()))
        .find(|l| !l.is_empty())
        .or_else(|| text.split(breaks).map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("");
    let clean: String = line.chars().filter(|c| !super::ids::is_hidden_char(*c)).collect();
    let mut out: String = clean.chars().take(TITLE_MAX_CHARS).collect();
    if clean.chars().count() > TITLE_MAX_CHARS {
        out.push('…');
    }
    if out.is_empty() { "(no text)".to_string() } else { out }
}

/// `line` without the greeting and the pleasantry that open it: "Morning team, hope you all had a good weekend! The
/// internet is down" → "The internet is down" (see [`without_hello`]).
fn without_greeting(line: &str) -> &str {
    static PLEASANTRY: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:i )?hope (?:you|you're|you are|you all|y'all|everyone|everyone's|everybody|all|your|you guys|the sun|the sun's|the weather|the week|the weekend|it's|its)\b[^.!?,\n]{0,60}\s*(?:\p{Emoji_Presentation}\s*)*[.!,]+\s*",
        )
        .ok()
    });
    let line = without_hello(line);
    match PLEASANTRY.as_ref().and_then(|re| re.find(line)) {
        Some(m) if m.end() < line.len() => &line[m.end()..],
        _ => line,
    }
}

/// `line` without a greeting that opens it and ends in punctuation: "hi all, outlook keeps crashing" → "outlook
/// keeps crashing"; "Hi team," → "". A greeting not set off by punctuation stays ("hi res monitor request").
fn without_hello(line: &str) -> &str {
    static GREETING: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:hi+|hey+|hello+|hiya|howdy|yo|greetings|dear|(?:good )?(?:morning|afternoon|evening))((?:[ ,]+[\w'’]+){0,2})\s*(?:[,!.:;—–-]+|\p{Emoji_Presentation})\s*",
        )
        .ok()
    });
    // Words that start the message itself, not a name or "team": "hey my laptop, …" keeps its greeting.
    const NOT_A_NAME: &[&str] =
        &["my", "the", "our", "your", "this", "that", "i", "im", "i'm", "we", "is", "are", "so", "just", "a", "an"];
    let Some(m) = GREETING.as_ref().and_then(|re| re.captures(line)) else { return line };
    let named = m.get(1).map_or("", |g| g.as_str());
    if named.split([' ', ',']).any(|w| NOT_A_NAME.contains(&w.to_lowercase().as_str())) {
        return line;
    }
    &line[m.get(0).map_or(0, |g| g.end())..]
}

impl Ticket {
    /// Opens a ticket in state `new` and returns it with its first events.
    pub fn open(n: NewTicket) -> (Ticket, Vec<Event>) {
        let title = title_from(&n.text);
        let t = Ticket {
            number: n.number,
            title: title.clone(),
            description: n.text,
            requester: n.requester.clone(),
            origin: n.origin,
            category: n.category.clone(),
            intent: n.intent.clone(),
            ticket_type: n.ticket_type,
            priority: n.priority,
            state: State::New,
            owner: None,
            created_at: n.at,
            updated_at: n.at,
            first_response_at: None,
            first_response_due: None,
            resolution_due: None,
            resolved_at: None,
            closed_at: None,
            deflected: false,
            reopen_count: 0,
            pauses: vec![],
            cycle_start: None,
            awaiting_reply_since: None,
            next_response_due: None,
            sla_policy: None,
            breaches: vec![],
            checklist: None,
            awaiting_approval: None,
            approval_reminded: None,
            declined_by: None,
            priority_by_staff: false,
            fingerprint: None,
            problem: None,
            merged_into: None,
            links: vec![],
            cc: vec![],
            csat: None,
            vendor_cases: vec![],
            alert: None,
            major: false,
            affected: vec![],
            parent: None,
            withdrawn: false,
            last_requester_at: Some(n.at),
            owner_notices: None,
            work_date: None,
            close_offered: None,
            close_offer_after: None,
            last_reply_at: None,
            kpi: Some(KpiHistory::default()),
            version: 0,
            no_it_action: false,
            walk_record: None,
            self_service: None,
        };
        let events = vec![
            Event {
                at: n.at,
                actor: Some(n.requester),
                kind: EventKind::Created {
                    title,
                    category: n.category.clone(),
                    priority: n.priority,
                    ticket_type: n.ticket_type,
                },
            },
            Event {
                at: n.at,
                actor: None,
                kind: EventKind::Classified { intent: n.intent, category: n.category, confidence: n.confidence },
            },
        ];
        (t, events)
    }

    fn event(&mut self, at: Timestamp, actor: &UserRef, kind: EventKind) -> Event {
        self.event_by(at, Some(actor), kind)
    }

    /// An event by `actor`, or by deskbot itself with `None`.
    fn event_by(&mut self, at: Timestamp, actor: Option<&UserRef>, kind: EventKind) -> Event {
        self.updated_at = at;
        if let Some(k) = self.kpi.as_mut() {
            k.record(at, &kind);
        }
        Event { at, actor: actor.cloned(), kind }
    }

    fn go(&mut self, to: State, at: Timestamp, actor: &UserRef) -> Result<Event, TicketError> {
        self.go_by(to, at, Some(actor))
    }

    fn go_by(&mut self, to: State, at: Timestamp, actor: Option<&UserRef>) -> Result<Event, TicketError> {
        if !self.state.can_go(to) {
            return Err(TicketError::IllegalTransition { ticket: self.number, from: self.state, to });
        }
        Ok(self.move_to(to, at, actor))
    }

    /// Moves to `to` without asking the state machine (the caller knows the move is right: a decline ends an active
    /// request straight away).
    fn move_to(&mut self, to: State, at: Timestamp, actor: Option<&UserRef>) -> Event {
        let from = self.state;
        self.state = to;
        let waiting =
            |s: State| matches!(s, State::PendingUser | State::PendingVendor | State::Resolved | State::Closed);
        if waiting(from)
            && let Some(p) = self.pauses.last_mut().filter(|p| p.to.is_none())
        {
            p.to = Some(at);
        }
        if !to.is_active() {
            // Ended (declined, withdrawn): it no longer waits for a decision.
            self.approval_wait_ends(at);
        }
        if waiting(to) {
            self.pauses.push(Pause { on: to, from: at, to: None, approval: false });
        }
        match to {
            State::Resolved => self.resolved_at = Some(at),
            State::Closed => self.closed_at = Some(at),
            State::Open if matches!(from, State::Resolved | State::Closed) => {
                self.resolved_at = None;
                self.closed_at = None;
            }
            _ => {}
        }
        self.event_by(at, actor, EventKind::StateChanged { from, to })
    }

    fn require_active(&self) -> Result<(), TicketError> {
        if self.state.is_active() {
            Ok(())
        } else {
            Err(TicketError::NotActive { ticket: self.number, state: self.state })
        }
    }

    /// A technician takes the ticket. Fails if somebody owns it already.
    pub fn claim(&mut self, who: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        match &self.owner {
            Some(o) if o.same_person(who) => return Err(TicketError::AlreadyYours { ticket: self.number }),
            Some(o) => return Err(TicketError::AlreadyOwned { ticket: self.number, owner: o.name.clone() }),
            None => {}
        }
        let mut ev = vec![];
        if self.state == State::New {
            ev.push(self.go(State::Open, at, who)?);
        }
        self.owner = Some(who.clone());
        ev.push(self.event(at, who, EventKind::OwnerChanged { from: None, to: Some(who.clone()) }));
        self.acknowledged(at);
        Ok(ev)
    }

    /// On a ticket raised by monitoring there is nobody to answer: a person taking it (claim, assign) is the
    /// acknowledgement, and that stops the first-response clock.
    fn acknowledged(&mut self, at: Timestamp) {
        if self.alert.is_some() {
            self.responded(at);
        }
    }

    /// Gives the ticket to `to`, replacing any owner (the caller checks that `by` may do so).
    pub fn assign(&mut self, to: &UserRef, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        if self.owner.as_ref().is_some_and(|o| o.same_person(to)) {
            return Err(TicketError::Invalid(format!("{} already owns {}", to.name, self.number)));
        }
        let mut ev = vec![];
        if self.state == State::New {
            ev.push(self.go(State::Open, at, by)?);
        }
        let from = self.owner.replace(to.clone());
        ev.push(self.event(at, by, EventKind::OwnerChanged { from, to: Some(to.clone()) }));
        self.acknowledged(at);
        Ok(ev)
    }

    /// The owner lets go of the ticket.
    pub fn unclaim(&mut self, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let Some(from) = self.owner.take() else {
            return Err(TicketError::NotOwned { ticket: self.number });
        };
        Ok(vec![self.event(at, by, EventKind::OwnerChanged { from: Some(from), to: None })])
    }

    /// A public reply to the requester. The first one by a human stops the first-response clock.
    pub fn reply(&mut self, by: &UserRef, text: &str, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let text = nonempty(text, "a reply needs text")?;
        self.require_active()?;
        let mut ev = vec![];
        if self.state == State::New {
            ev.push(self.go(State::Open, at, by)?);
        }
        if self.first_response_at.is_none() {
            self.first_response_at = Some(at);
        }
        self.answer_waiting(at);
        self.last_reply_at = Some(at);
        ev.push(self.event(at, by, EventKind::PublicReply { text }));
        Ok(ev)
    }

    /// The requester starts waiting for an answer: a next-response cycle.
    fn start_waiting(&mut self, at: Timestamp) {
        self.awaiting_reply_since = Some(at);
        if let Some(k) = self.kpi.as_mut() {
            k.awaiting(at);
        }
    }

    /// What the requester was waiting for is answered (its due instant as last computed is kept for reports).
    fn answer_waiting(&mut self, at: Timestamp) {
        if self.awaiting_reply_since.take().is_some()
            && let Some(k) = self.kpi.as_mut()
        {
            k.answered(at, self.next_response_due);
        }
    }

    /// Marks the ticket merged into `into` (already resolved and closed by the caller): its clocks are cancelled,
    /// and it is no other occurrence of the issue.
    pub fn merged(&mut self, by: &UserRef, into: TicketNo, at: Timestamp) -> Event {
        self.merged_into = Some(into);
        self.fingerprint = None;
        self.event(at, by, EventKind::MergedInto { into })
    }

    /// A new resolution cycle starts at `at` (a reopen long after the resolution).
    pub fn new_cycle(&mut self, at: Timestamp) {
        self.cycle_start = Some(at);
        if let Some(k) = self.kpi.as_mut() {
            k.new_cycles.push(at);
        }
    }

    /// A technician's reply on a ticket raised by monitoring: there is nobody to send it to, so it is kept as an
    /// internal note; writing on the ticket acknowledges the alert (the first-response clock stops).
    pub fn alert_reply(&mut self, by: &UserRef, text: &str, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let text = nonempty(text, "a reply needs text")?;
        self.require_active()?;
        let mut ev = vec![];
        if self.state == State::New {
            ev.push(self.go(State::Open, at, by)?);
        }
        self.responded(at);
        ev.push(self.event(at, by, EventKind::InternalNote { text }));
        Ok(ev)
    }

    /// A public message from a technician that was not sent as a reply (a resolution text): it counts as the first
    /// response if none came before, and answers what the requester last wrote.
    pub fn responded(&mut self, at: Timestamp) {
        if self.first_response_at.is_none() {
            self.first_response_at = Some(at);
        }
        self.answer_waiting(at);
    }

    /// An internal note: technicians only, never shown to the requester, does not count as a response.
    pub fn note(&mut self, by: &UserRef, text: &str, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let text = nonempty(text, "a note needs text")?;
        Ok(vec![self.event(at, by, EventKind::InternalNote { text })])
    }

    /// The requester added information. A ticket waiting on the requester goes back to open.
    pub fn requester_message(&mut self, by: &UserRef, text: &str, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let text = nonempty(text, "an empty message adds nothing")?;
        self.last_requester_at = Some(at);
        let mut ev = vec![self.event(at, by, EventKind::RequesterMessage { text })];
        // Only the requester's own answer resumes a ticket waiting on them (a colleague's "same here" does not).
        // With a vendor case still open the ticket goes back to waiting on the vendor, not to open.
        let own = by.same_person(&self.requester);
        if own && self.state == State::PendingUser {
            let vendor_open = self.vendor_cases.iter().any(|c| c.status == super::vendor::CaseStatus::Open);
            ev.push(self.go(if vendor_open { State::PendingVendor } else { State::Open }, at, by)?);
        }
        // The next-response clock starts on a requester message once a technician has replied.
        if own && self.first_response_at.is_some() && self.awaiting_reply_since.is_none() && self.state.is_active() {
            self.start_waiting(at);
        }
        Ok(ev)
    }

    /// Waits on the requester or a vendor.
    pub fn pending(&mut self, on: State, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        if !matches!(on, State::PendingUser | State::PendingVendor) {
            return Err(TicketError::Invalid("pending is for pending_user or pending_vendor".into()));
        }
        Ok(vec![self.go(on, at, by)?])
    }

    /// Back to open from waiting on a vendor (the last vendor case ended).
    pub fn resume(&mut self, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        Ok(vec![self.go(State::Open, at, by)?])
    }

    /// Marks the problem solved. `deflected` when self-service fixed it with no technician.
    pub fn resolve(
        &mut self,
        by: &UserRef,
        text: Option<&str>,
        deflected: bool,
        at: Timestamp,
    ) -> Result<Vec<Event>, TicketError> {
        let text = text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let mut ev = vec![self.go(State::Resolved, at, by)?];
        self.deflected = deflected;
        ev.push(self.event(at, by, EventKind::Resolved { text }));
        Ok(ev)
    }

    /// The walkthrough's ending recorded by `event` (a `runbook` event, see [`KpiHistory::record`]): kept for
    /// reports, which tell self-service resolutions from technicians' by it.
    pub fn walk_ended(&mut self, event: &Event) {
        if let Some(k) = self.kpi.as_mut() {
            k.record(event.at, &event.kind);
        }
    }

    /// Brings a resolved or closed ticket back to open; the owner is kept. When the requester reopens it they are
    /// waiting for an answer: the next-response clock starts (once a technician has replied at all; before that the
    /// first-response clock runs on, having stood still while the ticket was resolved).
    pub fn reopen(&mut self, by: &UserRef, reason: Option<&str>, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        // Only an ended ticket reopens: "reopening" a new or open one would count a reopen that never was.
        if !matches!(self.state, State::Resolved | State::Closed) {
            return Err(TicketError::Invalid(format!(
                "{} is {}, not resolved or closed: nothing to reopen",
                self.number, self.state
            )));
        }
        let mut ev = vec![self.go(State::Open, at, by)?];
        self.reopen_count += 1;
        self.deflected = false;
        self.no_it_action = false;
        if by.same_person(&self.requester) && self.first_response_at.is_some() && self.awaiting_reply_since.is_none() {
            self.start_waiting(at);
        }
        let reason = reason.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        ev.push(self.event(at, by, EventKind::Reopened { reason }));
        Ok(ev)
    }

    /// Closes a resolved ticket for good (it can still be reopened).
    pub fn close(&mut self, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        let mut ev = vec![self.go(State::Closed, at, by)?];
        ev.push(self.event(at, by, EventKind::Closed));
        Ok(ev)
    }

    /// The requester kept the ticket open when offered to close it (`text`: what they typed, if they did).
    pub fn kept_open(&mut self, by: &UserRef, text: Option<&str>, at: Timestamp) -> Event {
        self.close_offered = None;
        self.close_offer_after = None;
        self.event(at, by, EventKind::KeptOpen { text: text.map(str::to_string) })
    }

    /// The requester thanked us or confirmed it works (a resolved ticket stays resolved).
    pub fn thanked(&mut self, by: &UserRef, text: &str, at: Timestamp) -> Event {
        self.event(at, by, EventKind::Thanked { text: text.trim().to_string() })
    }

    /// The requester no longer needs the ticket ("nvm, fixed it myself"): resolved and closed by them, marked
    /// withdrawn so reports do not count it as the helpdesk's resolution.
    pub fn withdraw(&mut self, by: &UserRef, text: Option<&str>, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        let text = text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let mut ev = self.resolve(by, Some("closed by the requester: sorted it themselves"), false, at)?;
        self.withdrawn = true;
        ev.push(self.event(at, by, EventKind::Withdrawn { text }));
        ev.extend(self.close(by, at)?);
        Ok(ev)
    }

    /// The request now waits for `approver`'s decision (handed off, or reopened after it was withdrawn before anyone
    /// decided): its clocks pause until then (see [`Pause::approval`]).
    pub fn await_approval(&mut self, approver: &str, at: Timestamp) {
        self.awaiting_approval = Some(approver.to_string());
        if self.state.is_active() && self.approval_wait_since().is_none() {
            self.pauses.push(Pause { on: self.state, from: at, to: None, approval: true });
        }
    }

    /// When the wait for the current decision began, while one is awaited.
    pub fn approval_wait_since(&self) -> Option<Timestamp> {
        self.pauses.iter().rev().find(|p| p.approval && p.to.is_none()).map(|p| p.from)
    }

    /// The approver decided (approved, or declined before it is closed): the request no longer waits, and its clocks
    /// run again.
    pub fn decided(&mut self, at: Timestamp) {
        self.awaiting_approval = None;
        self.approval_wait_ends(at);
    }

    fn approval_wait_ends(&mut self, at: Timestamp) {
        for p in self.pauses.iter_mut().filter(|p| p.approval && p.to.is_none()) {
            p.to = Some(at);
        }
    }

    /// The approver declined the request: it is closed as declined at once (no resolution: reports do not count it
    /// as one, and there is nothing to rate), and it stays declined (see `declined_by`).
    pub fn decline(&mut self, by: &UserRef, reason: Option<&str>, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        let reason = reason.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        self.awaiting_approval = None;
        self.declined_by = Some(by.name.clone());
        let mut ev = vec![self.move_to(State::Closed, at, Some(by))];
        ev.push(self.event(at, by, EventKind::Declined { reason }));
        Ok(ev)
    }

    /// Makes the ticket a major incident (`by`: the technician, or `None` when deskbot noticed `reports` reports).
    pub fn declare_major(
        &mut self,
        by: Option<&UserRef>,
        reports: usize,
        at: Timestamp,
    ) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        if self.major {
            return Err(TicketError::Invalid(format!("{} is already a major incident", self.number)));
        }
        if self.parent.is_some() {
            return Err(TicketError::Invalid(format!("{} is part of another major incident", self.number)));
        }
        self.major = true;
        let mut ev = vec![self.event_by(at, by, EventKind::MajorIncident { reports })];
        // Many people stopped at once: at least high priority, so its SLA clock and the queue's order say so.
        if self.priority > Priority::P2 {
            let from = self.priority;
            self.priority = Priority::P2;
            ev.push(self.event_by(at, by, EventKind::PriorityChanged { from, to: Priority::P2 }));
        }
        Ok(ev)
    }

    /// `who` reports this problem too (or adds to their report). Returns whether they were newly added to the
    /// affected people; the requester is never added (they are told anyway).
    pub fn affected_report(&mut self, who: &UserRef, place: &Place, text: &str, at: Timestamp) -> (bool, Event) {
        let known = self.requester.same_person(who) || self.affected.iter().any(|a| a.user.same_person(who));
        if !known {
            self.affected.push(Affected { user: who.clone(), place: place.clone(), at });
        }
        (!known, self.event(at, who, EventKind::AffectedReport { text: text.trim().to_string() }))
    }

    /// Everyone affected: the requester first, then the others in the order they reported.
    pub fn people_affected(&self) -> usize {
        1 + self.affected.len()
    }

    /// Folds this ticket into the major incident `major`: closed by deskbot, its requester now follows `major`.
    pub fn fold_into_major(&mut self, major: TicketNo, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        self.require_active()?;
        let mut ev = vec![self.go_by(State::Resolved, at, None)?];
        ev.push(self.event_by(at, None, EventKind::Resolved { text: Some(format!("part of major incident {major}")) }));
        ev.push(self.go_by(State::Closed, at, None)?);
        ev.push(self.event_by(at, None, EventKind::Closed));
        ev.push(self.event_by(at, None, EventKind::PartOfMajor { major }));
        self.parent = Some(major);
        if !self.links.contains(&major) {
            self.links.push(major);
        }
        // The major incident carries the occurrence; this one is not another look-alike.
        self.fingerprint = None;
        Ok(ev)
    }

    /// deskbot changes the priority by itself (urgent or calm wording, a correction, a hand-off button, a leaver's
    /// date): never over a technician's choice. The event, when it changed.
    pub fn auto_priority(&mut self, to: Priority, at: Timestamp) -> Option<Event> {
        if self.priority_by_staff || to == self.priority {
            return None;
        }
        let from = std::mem::replace(&mut self.priority, to);
        Some(Event { at, actor: None, kind: EventKind::PriorityChanged { from, to } })
    }

    pub fn set_priority(&mut self, p: Priority, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        if p == self.priority {
            return Err(TicketError::Invalid(format!("{} is already {p}", self.number)));
        }
        let from = std::mem::replace(&mut self.priority, p);
        Ok(vec![self.event(at, by, EventKind::PriorityChanged { from, to: p })])
    }

    pub fn set_category(&mut self, c: &str, by: &UserRef, at: Timestamp) -> Result<Vec<Event>, TicketError> {
        if c == self.category {
            return Err(TicketError::Invalid(format!("{} is already in {c}", self.number)));
        }
        let from = std::mem::replace(&mut self.category, c.to_string());
        Ok(vec![self.event(at, by, EventKind::CategoryChanged { from, to: c.to_string() })])
    }

    /// Records a refused action in the audit log.
    pub fn denied(&mut self, by: &UserRef, action: &str, reason: &str, at: Timestamp) -> Event {
        let kind = EventKind::Denied { action: action.into(), reason: reason.into(), repeated: 0 };
        Event { at, actor: Some(by.clone()), kind }
    }

    pub fn is_owned_by(&self, u: &UserRef) -> bool {
        self.owner.as_ref().is_some_and(|o| o.same_person(u))
    }
}

fn nonempty(text: &str, msg: &str) -> Result<String, TicketError> {
    let t = text.trim();
    if t.is_empty() { Err(TicketError::Invalid(msg.to_string())) } else { Ok(t.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }
    fn user(n: &str) -> UserRef {
        UserRef::new(Platform::Console, n, n)
    }
    fn ticket() -> Ticket {
        Ticket::open(NewTicket {
            number: TicketNo(1),
            text: "printer jammed".into(),
            requester: user("alice"),
            origin: Origin { platform: Platform::Console, place: Place::default() },
            category: "printing".into(),
            intent: None,
            confidence: 0.9,
            ticket_type: TicketType::Incident,
            priority: Priority::P3,
            at: at(0),
        })
        .0
    }

    #[test]
    fn every_state_pair_matches_the_documented_graph() {
        use State::*;
        let all = [New, Open, PendingUser, PendingVendor, Resolved, Closed];
        let legal: Vec<(State, State)> = vec![
            (New, Open),
            (New, PendingUser),
            (New, PendingVendor),
            (New, Resolved),
            (Open, PendingUser),
            (Open, PendingVendor),
            (Open, Resolved),
            (PendingUser, Open),
            (PendingUser, PendingVendor),
            (PendingUser, Resolved),
            (PendingVendor, Open),
            (PendingVendor, PendingUser),
            (PendingVendor, Resolved),
            (Resolved, Closed),
            (Resolved, Open),
            (Closed, Open),
        ];
        for a in all {
            for b in all {
                assert_eq!(a.can_go(b), legal.contains(&(a, b)), "{a} -> {b}");
            }
        }
    }

    #[test]
    fn claim_opens_and_sets_single_owner() {
        let mut t = ticket();
        let ev = t.claim(&user("bob"), at(5)).unwrap();
        assert_eq!(t.state, State::Open);
        assert_eq!(t.owner.as_ref().unwrap().id, "bob");
        assert_eq!(ev.len(), 2);
        assert!(matches!(ev[0].kind, EventKind::StateChanged { from: State::New, to: State::Open }));
    }

    #[test]
    fn second_claim_is_rejected_and_names_owner() {
        let mut t = ticket();
        t.claim(&user("bob"), at(5)).unwrap();
        let err = t.claim(&user("carol"), at(6)).unwrap_err();
        assert_eq!(err, TicketError::AlreadyOwned { ticket: TicketNo(1), owner: "bob".into() });
        assert_eq!(err.to_string(), "#1 is already owned by bob");
        assert_eq!(t.owner.as_ref().unwrap().id, "bob");
        assert_eq!(t.claim(&user("bob"), at(7)).unwrap_err(), TicketError::AlreadyYours { ticket: TicketNo(1) });
    }

    #[test]
    fn assign_replaces_owner_with_one_event() {
        let mut t = ticket();
        t.claim(&user("bob"), at(5)).unwrap();
        let ev = t.assign(&user("carol"), &user("lead"), at(6)).unwrap();
        assert_eq!(t.owner.as_ref().unwrap().id, "carol");
        assert_eq!(ev.len(), 1);
        match &ev[0].kind {
            EventKind::OwnerChanged { from, to } => {
                assert_eq!(from.as_ref().unwrap().id, "bob");
                assert_eq!(to.as_ref().unwrap().id, "carol");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn note_does_not_count_as_first_response_but_reply_does() {
        let mut t = ticket();
        t.note(&user("bob"), "checked the spooler", at(3)).unwrap();
        assert_eq!(t.first_response_at, None);
        assert_eq!(t.state, State::New);
        t.reply(&user("bob"), "on my way", at(10)).unwrap();
        assert_eq!(t.first_response_at, Some(at(10)));
        assert_eq!(t.state, State::Open);
        t.reply(&user("bob"), "fixed?", at(20)).unwrap();
        assert_eq!(t.first_response_at, Some(at(10)), "later replies do not move the first response");
    }

    #[test]
    fn resolve_close_reopen_cycle() {
        let mut t = ticket();
        t.resolve(&user("bob"), Some("cleared the tray"), false, at(30)).unwrap();
        assert_eq!(t.state, State::Resolved);
        assert_eq!(t.resolved_at, Some(at(30)));
        // resolving twice is illegal
        let err = t.resolve(&user("bob"), None, false, at(31)).unwrap_err();
        assert!(matches!(err, TicketError::IllegalTransition { from: State::Resolved, to: State::Resolved, .. }));
        t.close(&user("alice"), at(40)).unwrap();
        assert_eq!(t.state, State::Closed);
        // closed cannot be resolved or claimed
        assert!(t.resolve(&user("bob"), None, false, at(41)).is_err());
        assert!(matches!(t.claim(&user("bob"), at(41)), Err(TicketError::NotActive { .. })));
        t.reopen(&user("alice"), Some("jammed again"), at(50)).unwrap();
        assert_eq!(t.state, State::Open);
        assert_eq!(t.reopen_count, 1);
        assert_eq!(t.resolved_at, None);
    }

    #[test]
    fn waiting_states_are_recorded_as_pauses() {
        let mut t = ticket();
        t.pending(State::PendingUser, &user("bob"), at(10)).unwrap();
        t.requester_message(&user("alice"), "here you go", at(25)).unwrap();
        t.resolve(&user("bob"), None, false, at(40)).unwrap();
        t.close(&user("bob"), at(50)).unwrap();
        t.reopen(&user("alice"), None, at(70)).unwrap();
        let got: Vec<_> = t.pauses.iter().map(|p| (p.on, p.from, p.to)).collect();
        assert_eq!(
            got,
            vec![
                (State::PendingUser, at(10), Some(at(25))),
                (State::Resolved, at(40), Some(at(50))),
                (State::Closed, at(50), Some(at(70))),
            ]
        );
    }

    #[test]
    fn pending_user_returns_to_open_on_requester_message() {
        let mut t = ticket();
        t.claim(&user("bob"), at(1)).unwrap();
        t.pending(State::PendingUser, &user("bob"), at(2)).unwrap();
        assert_eq!(t.state, State::PendingUser);
        let ev = t.requester_message(&user("alice"), "it's the HP on floor 2", at(3)).unwrap();
        assert_eq!(t.state, State::Open);
        assert_eq!(ev.len(), 2);
        assert!(t.pending(State::Resolved, &user("bob"), at(4)).is_err());
    }

    #[test]
    fn empty_reply_and_unclaim_of_unowned_are_rejected() {
        let mut t = ticket();
        assert!(matches!(t.reply(&user("bob"), "  ", at(1)), Err(TicketError::Invalid(_))));
        assert_eq!(t.unclaim(&user("bob"), at(1)).unwrap_err(), TicketError::NotOwned { ticket: TicketNo(1) });
    }

    #[test]
    fn thanks_are_recorded_without_reopening() {
        let mut t = ticket();
        t.resolve(&user("bob"), None, false, at(10)).unwrap();
        let ev = t.thanked(&user("alice"), " thanks, all good now ", at(11));
        assert_eq!(ev.kind, EventKind::Thanked { text: "thanks, all good now".into() });
        assert_eq!((t.state, t.reopen_count), (State::Resolved, 0));
        assert!(t.kpi.as_ref().unwrap().reopens.is_empty());
    }

    #[test]
    fn withdrawing_resolves_and_closes_as_the_requester() {
        let mut t = ticket();
        let ev = t.withdraw(&user("alice"), None, at(2)).unwrap();
        assert_eq!(t.state, State::Closed);
        assert!(t.withdrawn && !t.deflected);
        assert!(ev.iter().any(|e| matches!(e.kind, EventKind::Withdrawn { .. })));
        assert!(ev.iter().all(|e| e.actor.as_ref().is_some_and(|a| a.id == "alice")));
        assert!(t.withdraw(&user("alice"), None, at(3)).is_err(), "only an active ticket can be withdrawn");
    }

    #[test]
    fn a_major_incident_counts_each_person_once_and_folds_children() {
        let mut t = ticket();
        t.declare_major(None, 3, at(5)).unwrap();
        assert!(t.declare_major(Some(&user("sam")), 3, at(6)).is_err());
        let place = Place { channel: "helpdesk".into(), thread: Some("m9".into()), message: None, dm: false };
        assert!(t.affected_report(&user("bob"), &place, "no internet", at(6)).0);
        assert!(!t.affected_report(&user("bob"), &place, "any news?", at(7)).0, "bob is counted once");
        assert!(!t.affected_report(&user("alice"), &place, "me too", at(7)).0, "the requester is not added");
        assert_eq!(t.people_affected(), 2);
        let mut child = ticket();
        child.number = TicketNo(2);
        child.fingerprint = Some("printing|-|-".into());
        let ev = child.fold_into_major(TicketNo(1), at(8)).unwrap();
        assert_eq!((child.state, child.parent, child.fingerprint.clone()), (State::Closed, Some(TicketNo(1)), None));
        assert!(ev.iter().all(|e| e.actor.is_none()), "deskbot folded it, not a person");
        assert!(child.declare_major(None, 3, at(9)).is_err());
    }

    #[test]
    fn titles_leave_out_pleasantries() {
        assert_eq!(
            title_from("Morning team, hope you all had a good weekend! The internet at the depot is down"),
            "The internet at the depot is down"
        );
        assert_eq!(title_from("hope you're well. vpn won't connect"), "vpn won't connect");
        // Nothing but a pleasantry stays as it is; a hope that is the request stays.
        assert_eq!(title_from("hope you all had a good weekend!"), "hope you all had a good weekend!");
        assert_eq!(title_from("hoping someone can reset my mfa"), "hoping someone can reset my mfa");
    }

    #[test]
    fn titles_are_bounded_and_clean() {
        assert_eq!(title_from("\n\n  hello\u{7}  world \nsecond"), "hello  world");
        let long = "x".repeat(500);
        assert_eq!(title_from(&long).chars().count(), TITLE_MAX_CHARS + 1);
        assert_eq!(title_from("   "), "(no text)");
        // A Unicode line separator ends the title like a newline; bidi overrides and zero-width spaces are dropped.
        assert_eq!(title_from("printer \u{202E}jammed\u{200B}\u{2028}New ticket #999"), "printer jammed");
        assert_eq!(title_from("the wifi is dead\u{85}FAKE"), "the wifi is dead");
        assert_eq!(title_from("vpn drops\rFAKE"), "vpn drops");
        // Greetings are left out of titles; a message that is only a greeting keeps it.
        assert_eq!(title_from("hi all, outlook keeps crashing"), "outlook keeps crashing");
        assert_eq!(title_from("Morning team! printer on 2 is jammed"), "printer on 2 is jammed");
        assert_eq!(title_from("hey sam - vpn is down"), "vpn is down");
        assert_eq!(title_from("Hi IT,\n\nmy laptop won't charge"), "my laptop won't charge");
        assert_eq!(title_from("hello 👋 wifi is slow"), "wifi is slow");
        assert_eq!(title_from("hey my laptop, it won't start"), "hey my laptop, it won't start");
        assert_eq!(title_from("hi res monitor for design please"), "hi res monitor for design please");
        assert_eq!(title_from("hi!"), "hi!");
    }
}

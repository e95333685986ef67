//! Weekly and monthly management reports: the KPIs of `shared/notes/itsm-model.md` section 4, computed from compact
//! per-ticket facts. No I/O: storage fills the input types from table columns, chat and the CLI show the result.
//!
//! # Inputs and cost
//!
//! [`build`] needs, for the period and for the previous one (for deltas), a [`PeriodFacts`]: the
//! [`TicketFacts`] of every ticket with any activity in that period (created, first-answered, resolved, reopened, a
//! breach or a vendor case event in it), every ticket still open in it, and the tickets raised up to
//! [`RECONTACT_WINDOW`] after it (re-contact after a deflection), plus the trailing-30-day fingerprint counts; a
//! [`BacklogFacts`] ([`BacklogFacts::from_facts`]: live for the running period, rebuilt as at the end of a past
//! one); the operations [`SignalFacts`]; and the [`ClockRules`] (each ticket's SLA policy). A superset of tickets
//! is harmless: every KPI filters on its own timestamps. A store selects `WHERE created_at < end + 72h AND
//! (updated_at >= previous.start OR state is active)` (every change, a recorded breach included, bumps
//! `updated_at`), so a weekly report reads a week or two of tickets and the backlog, never the whole table, and
//! the fingerprint numbers are `GROUP BY` aggregates. The computation is linear in the tickets given (one
//! business-time difference per first response).
//!
//! # Definitions (and where they differ from section 4)
//!
//! * **Merged tickets** count up to their merge, like a ticket closed then: in volume, first response, SLA
//!   compliance (a recorded breach stays counted in the period it fell due, so merging cannot launder it) and the
//!   backlog of periods that ended before the merge. The merge cancels the ticket's clocks and is no resolution:
//!   not in `resolved`, resolution compliance, reopen rate, first-contact resolution, deflection or CSAT; nor is a
//!   merged duplicate another occurrence for recurring issues.
//! * **Volume:** tickets created in the period; split by category, by type and by source (staff or alert).
//! * **First response:** business minutes on the calendar of the ticket's own SLA policy (the one `/ticket sla`
//!   shows) from creation to the first human public reply,
//!   minus time pending on the requester before it; over tickets first-answered in the period. The median of an
//!   even count is the mean of the two middle values, rounded to the whole minute (halves up); p90 is
//!   nearest-rank (rank ⌈0.9 n⌉). `unanswered_past_target`: tickets, whenever raised, still unanswered and open
//!   at the period's end (or the snapshot, for a running period) whose first-response target fell due in the
//!   period — the first-response breaches not answered yet. Those that fell due earlier are in
//!   `backlog.unanswered_past_target`.
//! * **SLA compliance, per clock:** met ÷ (met + breached), counted per clock cycle. Each cycle counts in the
//!   period in which it stopped or in which its target fell due while it still ran, breached if it breached before
//!   it stopped (a cycle that breached in one period and stopped in the next counts, breached, in both; once if
//!   both fall in one period). First response: one cycle per ticket, stopped by the first human reply; still
//!   unanswered past a target that fell due in the period (while the ticket was open), it is breached there even
//!   before the scheduler recorded the breach. Next response: one cycle per requester message (or requester's
//!   reopen) awaiting a technician's answer, stopped by that answer, breached by a recorded breach or by its due
//!   instant passing before the answer; measured only for tickets whose policy sets a next-response target (no
//!   target: not measured, never 100%). Resolution: one cycle from creation, and a new one from each reopen more
//!   than `sla.reopen_new_cycle_after` after a resolution; stopped by a resolution (a reopen within that time and
//!   a second resolution in the same period count once), breached if any breach of that cycle fell due before
//!   the period's end; a merge or a withdrawal stops none, but a breach recorded before it still counts where it
//!   fell due. So a month counts each resolution cycle resolved in it, as its weeks do. `breached_tickets` names
//!   the tickets (each once); `sla_by_category` and `sla_by_priority` split the same counts and name theirs (the
//!   ticket's category and priority now), with only the clocks measured in each.
//! * **Backlog:** active tickets (new, open, pending), aged by wall-clock time since creation: `< 1 d`, `1–3 d`,
//!   `3–7 d`, `7–30 d`, `≥ 30 d` (lower bounds inclusive). For the running period a live snapshot (`live`,
//!   `as_of` = now); for a past period as at its end (`as_of` = the period's end), rebuilt from each ticket's
//!   creation, resolutions and reopens, so a past report never shows today's backlog. `previous_open` is the
//!   backlog at the previous period's end, rebuilt the same way.
//! * **Reopen rate:** of the distinct tickets resolved in the period, those with a resolution in the period that
//!   was reopened afterwards (from resolved *or* closed, at any time, as known when the report is built): a fix
//!   that did not hold counts against the period of the fix, not the period of the reopen.
//! * **First-contact resolution** (section 4: resolved with one human reply and no reopen): of tickets raised by
//!   people (not alerts: no person's contact) with a resolution *by a technician* in the period, those answered by
//!   a person (a first response — a reply, or the text of the resolution — by the technician's first fix), with
//!   at most one human public reply and that fix never reopened (as known when the report is built, where section
//!   4 says within 7 days: the same reopens as the reopen rate, so a technician's fix counted as reopened is never
//!   a first-contact resolution). A walkthrough's resolution (fixed, or nothing for IT to do) is no technician's:
//!   not in the figure at all, also once reopened and still open; and its reopen ("Still broken") sends the
//!   ticket to the queue like a hand-off, so it does not count against the technician's fix that follows. A
//!   self-resolving alert, or a resolve with nothing said, is no first-contact resolution.
//! * **No IT action:** tickets a walkthrough resolved with nothing for IT to do ("I'll contact my provider") count
//!   as resolved, never as deflected (self-service fixed nothing) nor in first-contact resolution (nobody answered).
//! * **Deflection:** tickets resolved in the period by a runbook with no technician (`deflected`) whose requester
//!   did not raise the same problem again (same intent where both tickets have one, else the same category) within
//!   72 hours of that resolution, ÷ all tickets resolved in the period (section 4's chat-based definition needs
//!   chats without tickets, which deskbot does not keep). For a running period the window may still be open: the
//!   figure is as known when the report is built.
//! * **Recurring issues:** fingerprints with at least 3 tickets created in the 30 days before the period's end;
//!   the top five with their count in the 30 days before the previous period's end.
//! * **Vendors (scorecard):** per vendor, cases opened and closed in the period; the median minutes from opening to
//!   the vendor's first response (wall clock, and business minutes on the contract's calendar where the directory
//!   is known); first responses by the contract's target (each case where it was answered, or, unanswered, where
//!   its target fell due); cases closed by the resolution target (each where it closed, or, open, where its target
//!   fell due); and `breaches`, the response and resolution targets that fell due in the period unmet.
//! * **CSAT:** positive ÷ answered surveys of tickets resolved in the period; `csat_response`: answered surveys ÷
//!   tickets resolved in the period (every resolved ticket is asked).
//! * **Workload:** per technician who owns tickets now: `owned`, their tickets open at any time in the period
//!   (raised in it, open at its start, or reopened in it); `resolved`, those resolved in it; and the median first
//!   response (business minutes) of those first-answered in it. Ownership is as it is now, not as it was.
//! * **Withdrawn:** tickets their requester closed themselves ("nvm, fixed it") count in volume and in
//!   `resolved.withdrawn`, never in `resolved.tickets`, resolution or next-response compliance, first-contact
//!   resolution, deflection or CSAT. A thank-you in a resolved ticket's thread is not a reopen (it is no reopen event).
//! * **Declined:** requests their approver declined count in volume and leave the backlog when declined, but are
//!   never resolutions: not in `resolved.tickets`, resolution compliance, first-contact resolution, deflection,
//!   CSAT or a technician's resolved count; `resolved.declined` counts those declined in the period.
//! * **Major incidents:** a ticket folded into a major incident is left out of every KPI (except that a breach it
//!   had already suffered still counts, breached, where it fell due, as a merged ticket's does); its
//!   requester is one of the major incident's `people_affected` (requester plus every other person who reported it,
//!   each once). `major_incidents` lists those open at any time in the period (created before its end and not
//!   resolved before its start).
//! * **Operations:** patch compliant ÷ reporting devices, backups succeeded ÷ scheduled, restore tests passed ÷ run,
//!   baseline controls done ÷ required, as given.
//!
//! # JSON schema (version 1)
//!
//! Times are RFC 3339 UTC, dates `YYYY-MM-DD` local to the report's time zone, durations whole business minutes,
//! percentages 0–100 rounded to one decimal. A ratio with a zero denominator is `null`, never `NaN`. Keys are only
//! ever added.
//!
//! ```text
//! schema_version: 1
//! period: {kind: "week"|"month", label, timezone, start, end}        end exclusive
//! as_of: time of the backlog snapshot (now for the running period, the period's end for a past one)
//! generated_at: when the report was built
//! volume: {total, previous, change, staff, alert, previous_staff, previous_alert,
//!          by_category: [{key, count, previous, change}], by_type: [same]}   sorted by count desc, key
//! first_response: {answered, median_minutes, p90_minutes, previous_median_minutes, previous_p90_minutes,
//!                  unanswered_past_target, unanswered_past_target_tickets: [number]}
//! sla: [{clock: "first_response"|"next_response"|"resolution", met, breached, percent, previous_percent,
//!        breached_tickets: [number]}]                                  always the three clocks, in this order
//! sla_by_category, sla_by_priority: [{key, sla: [same as sla]}]        by key; only the clocks measured
//! backlog: {open, previous_open, unanswered_past_target, unanswered_past_target_tickets: [number], live,
//!           age: {under_1d, from_1d_to_3d, from_3d_to_7d, from_7d_to_30d, over_30d}}
//! resolved: {tickets, previous, withdrawn, declined}
//! major_incidents: {count, people_affected, incidents: [{number, category, people_affected, created_at, resolved_at}]}
//! reopen_rate, first_contact_resolution, deflection, csat, csat_response: rate
//! workload: [{technician, owned, resolved, median_first_response_minutes}]   by owned desc, resolved desc, name
//! recurring: {count, previous_count, top: [{fingerprint, name, tickets, previous, change, ticket_numbers: [number]}]}
//! vendors: [{vendor, opened, closed, responses, median_response_minutes (wall clock),
//!            median_response_business_minutes (contract calendar), response_on_time: rate,
//!            response_late_tickets: [number], resolution_on_time: rate, resolution_late_tickets: [number],
//!            breaches}]
//! operations: {patch_compliance, backup_success, restore_tests, security_baseline}: rate
//! days: [{date, created, by_category: {category: count}, first_responses, first_response_median_minutes}]
//! trend: [{label, start, end, tickets, staff, alert, first_response_median_minutes, first_response_sla_percent,
//!          resolution_sla_percent, backlog_open}]   the 4 weeks (3 months) before, oldest first, then this period
//! alerts: {raised, previous_raised, acknowledged, median_acknowledge_minutes, previous_median_acknowledge_minutes,
//!          acknowledged_on_time: rate, acknowledge_breached_tickets: [number], resolved, auto_resolved, reopened}
//! top_requesters: [{requester, tickets, previous}]   staff tickets raised; 2 or more; at most 5, most first
//! rate = {count, of, percent, previous_percent}
//! ```

use super::calendar::Calendar;
use super::ids::TicketNo;
use super::ticket::{Event, EventKind, NextResponseCycle, Priority, SlaClock, State, Ticket, TicketType, Timestamp};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Who raised a ticket: a person, or a monitoring alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    Staff,
    Alert,
}

/// A recorded breach: which clock, and when its target fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockBreach {
    pub clock: SlaClock,
    pub due: Timestamp,
}

/// A case escalated to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorCaseFacts {
    pub vendor: String,
    pub opened_at: Timestamp,
    pub first_vendor_response_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// The vendor's id in the directory, for its contract calendar (`None` in facts stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// The contract's response target for this case, set at escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_due: Option<Timestamp>,
    /// The contract's resolution target for this case, set at escalation (`None` in facts stored before it was
    /// kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_due: Option<Timestamp>,
    /// Ended on our side (see [`crate::core::vendor::VendorCase::ended_by_us`]): its resolution target counts only
    /// when it was already missed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended_by_us: bool,
}

/// What the report needs of one ticket: columns, plus short lists a store keeps beside them. Far smaller than
/// the ticket's JSON; most lists are empty for most tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub number: TicketNo,
    pub category: String,
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub source: Source,
    pub state: State,
    pub created_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub first_response_due: Option<Timestamp>,
    /// Waits on the requester before the first response (`None` end: still waiting); subtracted from the
    /// first-response time like the SLA clock does. Usually empty.
    pub first_response_pauses: Vec<(Timestamp, Option<Timestamp>)>,
    /// Every time the ticket was resolved, oldest first. For a ticket never reopened this is just the
    /// `resolved_at` column.
    pub resolutions: Vec<Timestamp>,
    /// Every reopen, oldest first (its length is the ticket's `reopen_count`).
    pub reopens: Vec<Timestamp>,
    /// Public replies by people (not the bot).
    pub public_replies: u32,
    /// Resolved by a runbook with no technician (the ticket's `deflected`).
    pub deflected: bool,
    /// Every recorded breach, any cycle.
    pub breaches: Vec<ClockBreach>,
    /// A next-response clock ran at least once (a requester message after a technician's reply).
    pub next_response_ran: bool,
    /// Satisfaction survey answer: `Some(true)` positive.
    pub csat: Option<bool>,
    /// Merged into another ticket (or marked duplicate/spam): it counts up to its merge, like a ticket closed
    /// then, and the merge is no resolution.
    pub merged: bool,
    /// When it was merged (`None` in facts stored before it was kept: its last resolution, which the merge made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<Timestamp>,
    /// Every next-response cycle, oldest first; the running one carries its current due instant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_responses: Vec<NextResponseCycle>,
    /// Starts of the resolution cycles after the first (a reopen long after the resolution), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_cycles: Vec<Timestamp>,
    pub fingerprint: Option<String>,
    pub vendor_cases: Vec<VendorCaseFacts>,
    /// The requester closed it themselves ("nvm, fixed it"): counted as raised, not as resolved by the helpdesk.
    #[serde(default)]
    pub withdrawn: bool,
    /// A request its approver declined: counted as raised, never as resolved (its end is in `resolutions`, so it
    /// leaves the backlog then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declined: bool,
    /// Folded into this major incident: one more person affected by it, not a ticket of its own.
    #[serde(default)]
    pub parent: Option<TicketNo>,
    /// A major incident, with the people it affected (the requester and everyone who reported it too, once each).
    #[serde(default)]
    pub major: bool,
    #[serde(default)]
    pub people_affected: u32,
    /// Who raised it (the store's requester key), for re-contact after a deflection. `None` in facts stored
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// The triage intent, for re-contact after a deflection (same problem = same intent, else same category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The requester's display name, for the top requesters (`None` in facts stored before it was kept: the
    /// key's id is shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_name: Option<String>,
    /// The technician who owns it now (display name), for workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Resolved by a walkthrough that found nothing for IT to do (the ticket's `no_it_action`): a resolution, but
    /// neither deflected nor a first-contact resolution.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_it_action: bool,
    /// The resolutions a self-service walkthrough made (fixed, or nothing for IT to do): no technician's, so
    /// never in first-contact resolution, even after a reopen has cleared `deflected` (#33). Empty in facts stored
    /// before it was kept: then `deflected` or `no_it_action` marks the last resolution as one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub self_service_resolutions: Vec<Timestamp>,
}

impl TicketFacts {
    /// Facts of a ticket created at `created_at` with nothing else known yet (state `new`, raised by staff).
    pub fn new(
        number: TicketNo,
        category: &str,
        ticket_type: TicketType,
        priority: Priority,
        created_at: Timestamp,
    ) -> TicketFacts {
        TicketFacts {
            number,
            category: category.to_string(),
            ticket_type,
            priority,
            source: Source::Staff,
            state: State::New,
            created_at,
            first_response_at: None,
            first_response_due: None,
            first_response_pauses: vec![],
            resolutions: vec![],
            reopens: vec![],
            public_replies: 0,
            deflected: false,
            breaches: vec![],
            next_response_ran: false,
            csat: None,
            merged: false,
            merged_at: None,
            next_responses: vec![],
            new_cycles: vec![],
            fingerprint: None,
            vendor_cases: vec![],
            withdrawn: false,
            declined: false,
            parent: None,
            major: false,
            people_affected: 1,
            requester: None,
            requester_name: None,
            intent: None,
            owner: None,
            no_it_action: false,
            self_service_resolutions: vec![],
        }
    }

    /// Facts from a ticket alone, when it keeps its KPI history (every ticket stored since it was added).
    pub fn of(t: &Ticket) -> Option<TicketFacts> {
        let k = t.kpi.as_ref()?;
        let mut f = TicketFacts::base(t);
        f.resolutions = k.resolutions.clone();
        f.reopens = k.reopens.clone();
        f.public_replies = k.public_replies;
        f.next_response_ran = k.next_response_ran;
        f.next_responses = k.next_responses.clone();
        f.merged_at = k.merged_at;
        f.self_service_resolutions = k.self_service.clone();
        if !k.new_cycles.is_empty() {
            f.new_cycles = k.new_cycles.clone();
        }
        Some(f.with_resolved_at(t))
    }

    /// Facts from a full ticket and its event log (tickets stored before they kept their KPI history).
    pub fn from_ticket(t: &Ticket, events: &[Event]) -> TicketFacts {
        let mut f = TicketFacts::base(t);
        let mut history = crate::core::ticket::KpiHistory::default();
        // Public replies count when a person wrote them.
        for e in events.iter().filter(|e| e.actor.is_some() || !matches!(e.kind, EventKind::PublicReply { .. })) {
            history.record(e.at, &e.kind);
        }
        f.resolutions = history.resolutions;
        f.reopens = history.reopens;
        f.public_replies = history.public_replies;
        f.next_response_ran = history.next_response_ran;
        f.self_service_resolutions = history.self_service;
        let mut cycles = crate::core::ticket::KpiHistory::default();
        cycles.replay_cycles(events, |e| e.actor.as_ref().is_some_and(|a| a.same_person(&t.requester)));
        f.next_responses = cycles.next_responses;
        f.merged_at = cycles.merged_at;
        f.with_resolved_at(t)
    }

    fn with_resolved_at(mut self, t: &Ticket) -> TicketFacts {
        // The running next-response cycle falls due as the ticket's clocks say now.
        if let Some(c) = self.next_responses.last_mut().filter(|c| c.answered.is_none()) {
            c.due = t.next_response_due;
        }
        if self.resolutions.is_empty()
            && let Some(r) = t.resolved_at
        {
            self.resolutions.push(r);
        }
        self
    }

    /// Everything that is on the ticket itself.
    fn base(t: &Ticket) -> TicketFacts {
        let mut f = TicketFacts::new(t.number, &t.category, t.ticket_type, t.priority, t.created_at);
        f.state = t.state;
        f.first_response_at = t.first_response_at;
        f.first_response_due = t.first_response_due;
        f.first_response_pauses = t
            .pauses
            .iter()
            .filter(|p| (p.on == State::PendingUser || p.approval) && t.first_response_at.is_none_or(|r| p.from < r))
            .map(|p| (p.from, p.to))
            .collect();
        f.deflected = t.deflected;
        f.no_it_action = t.no_it_action;
        f.breaches = t.breaches.iter().map(|b| ClockBreach { clock: b.clock, due: b.due }).collect();
        f.vendor_cases = t
            .vendor_cases
            .iter()
            .map(|c| VendorCaseFacts {
                vendor: c.name.clone(),
                opened_at: c.opened_at,
                first_vendor_response_at: c.responded_at,
                closed_at: c.closed_at,
                vendor_id: Some(c.vendor.clone()),
                response_due: Some(c.response_due),
                resolution_due: Some(c.resolution_due),
                ended_by_us: c.ended_by_us,
            })
            .collect();
        f.csat = t.csat.as_ref().map(|c| c.good);
        f.merged = t.merged_into.is_some();
        f.new_cycles = t.cycle_start.into_iter().collect();
        f.fingerprint = t.fingerprint.clone();
        f.source = if t.alert.is_some() { Source::Alert } else { Source::Staff };
        f.withdrawn = t.withdrawn;
        f.declined = t.declined_by.is_some();
        f.parent = t.parent;
        f.major = t.major;
        f.people_affected = u32::try_from(t.people_affected()).unwrap_or(u32::MAX);
        f.requester = Some(t.requester.key());
        f.requester_name = Some(t.requester.name.clone());
        f.intent = t.intent.clone();
        f.owner = t.owner.as_ref().map(|o| o.name.clone());
        f
    }

    /// When it was merged into another ticket, if it was.
    fn merged_at(&self) -> Option<Timestamp> {
        if !self.merged {
            return None;
        }
        self.merged_at.or_else(|| self.resolutions.last().copied())
    }

    /// The resolutions made by the helpdesk: every resolution but the one a merge made.
    fn helpdesk_resolutions(&self) -> impl Iterator<Item = Timestamp> + '_ {
        let merged = self.merged_at();
        self.resolutions.iter().copied().filter(move |&r| Some(r) != merged)
    }

    fn resolved_in(&self, p: &Period) -> bool {
        self.helpdesk_resolutions().any(|r| p.contains(r))
    }

    /// The resolutions a technician made: every resolution but the walkthroughs' (fixed, or nothing for IT to
    /// do). Facts stored before those were kept know only the ticket's flags, which mark its last resolution.
    /// Each walkthrough resolution takes away one resolution at its instant (a technician's fix at the very same
    /// instant stays).
    fn technician_resolutions(&self) -> impl Iterator<Item = Timestamp> + use<> {
        let mut walked = self.self_service_resolutions.clone();
        if walked.is_empty() && (self.deflected || self.no_it_action) {
            walked.extend(self.resolutions.iter().max());
        }
        let mut left: Vec<Timestamp> = self.helpdesk_resolutions().collect();
        for w in walked {
            if let Some(i) = left.iter().position(|&r| r == w) {
                left.remove(i);
            }
        }
        left.into_iter()
    }

    /// Ended without a fix by the helpdesk: withdrawn by the requester, or declined by the approver.
    fn not_fixed(&self) -> bool {
        self.withdrawn || self.declined
    }

    /// The start of the resolution cycle that instant `at` is in (creation, or a reopen long after a resolution).
    fn cycle_start_at(&self, at: Timestamp) -> Timestamp {
        self.new_cycles.iter().copied().filter(|&c| c <= at).max().unwrap_or(self.created_at).max(self.created_at)
    }

    /// Still needing work at instant `at`, as rebuilt from its history: created before, and not resolved (or
    /// closed, which always follows a resolution) at that instant.
    fn active_at(&self, at: Timestamp) -> bool {
        self.created_at < at && !self.resolved_at_instant(at)
    }

    /// Unanswered at `at` with its first-response target before it.
    fn unanswered_past_target_at(&self, at: Timestamp) -> bool {
        self.first_response_at.is_none_or(|r| r >= at) && self.first_response_due.is_some_and(|d| d <= at)
    }

    /// Resolved (and not reopened since) at `t`.
    fn resolved_at_instant(&self, t: Timestamp) -> bool {
        let last_res = self.resolutions.iter().filter(|&&r| r < t).max();
        let last_reopen = self.reopens.iter().filter(|&&r| r < t).max();
        match (last_res, last_reopen) {
            (Some(r), Some(o)) => r > o,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// A fingerprint and how many (non-merged) tickets carry it in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintCount {
    pub fingerprint: String,
    pub tickets: u64,
}

/// Fingerprint counts over tickets created in the 30 days before `end` (what a store gets from
/// `SELECT fingerprint, count(*) … WHERE created_at >= end - 30d AND created_at < end GROUP BY fingerprint`).
pub fn fingerprint_counts(tickets: &[TicketFacts], end: Timestamp) -> Vec<FingerprintCount> {
    let start = end - Duration::days(30);
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for t in tickets.iter().filter(|t| !t.merged && t.created_at >= start && t.created_at < end) {
        if let Some(fp) = &t.fingerprint {
            *m.entry(fp).or_default() += 1;
        }
    }
    m.into_iter().map(|(k, v)| FingerprintCount { fingerprint: k.to_string(), tickets: v }).collect()
}

/// The tickets of one period and its trailing-30-day fingerprint counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PeriodFacts {
    /// Every ticket with activity in the period (a superset is fine).
    pub tickets: Vec<TicketFacts>,
    /// Counts per fingerprint over the 30 days before the period's end (see [`fingerprint_counts`]). Include
    /// every fingerprint, not only those with 3 or more, so the previous period's list gives trends; a missing
    /// fingerprint counts as 0.
    pub fingerprints_30d: Vec<FingerprintCount>,
}

/// Open tickets by wall-clock age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgeBuckets {
    pub under_1d: u64,
    pub from_1d_to_3d: u64,
    pub from_3d_to_7d: u64,
    pub from_7d_to_30d: u64,
    pub over_30d: u64,
}

impl AgeBuckets {
    /// Counts one open ticket of age `age` (lower bounds inclusive: exactly 1 day old is `1–3 d`).
    pub fn add(&mut self, age: Duration) {
        let b = if age < Duration::days(1) {
            &mut self.under_1d
        } else if age < Duration::days(3) {
            &mut self.from_1d_to_3d
        } else if age < Duration::days(7) {
            &mut self.from_3d_to_7d
        } else if age < Duration::days(30) {
            &mut self.from_7d_to_30d
        } else {
            &mut self.over_30d
        };
        *b += 1;
    }

    pub fn total(&self) -> u64 {
        self.under_1d + self.from_1d_to_3d + self.from_3d_to_7d + self.from_7d_to_30d + self.over_30d
    }
}

/// The backlog at a snapshot instant: aggregates a store computes with one `GROUP BY` over active tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacklogFacts {
    /// The snapshot instant (normally now); also the report's `as_of`.
    pub at: Timestamp,
    /// Active tickets by age at `at` (a merged one until its merge); their total is the backlog.
    pub ages: AgeBuckets,
    /// Active tickets with no reply whose first-response target is before `at`.
    pub unanswered_past_target: u64,
    /// The backlog at the previous period's end, if the store can tell (for the delta).
    pub previous_open: Option<u64>,
    /// The tickets in `unanswered_past_target`, by number (empty when only the count is known).
    #[serde(default)]
    pub unanswered_past_target_tickets: Vec<TicketNo>,
    /// A live snapshot (the running period) rather than the backlog rebuilt as at a past period's end.
    #[serde(default)]
    pub live: bool,
}

impl BacklogFacts {
    /// A snapshot from the creation times of the active tickets.
    pub fn from_open(at: Timestamp, created: impl IntoIterator<Item = Timestamp>) -> BacklogFacts {
        let mut ages = AgeBuckets::default();
        for c in created {
            ages.add(at - c);
        }
        BacklogFacts {
            at,
            ages,
            unanswered_past_target: 0,
            previous_open: None,
            unanswered_past_target_tickets: vec![],
            live: true,
        }
    }

    /// The backlog from ticket facts. `live`: the tickets active now (their current state), for the running
    /// period; otherwise the tickets that were active at `at` (a past period's end), rebuilt from their history
    /// of resolutions and reopens, so a past report never shows today's backlog. A merged duplicate was active
    /// until its merge; tickets folded into a major incident are left out, as everywhere in the report. `tickets`
    /// must include every ticket active at `at` (see [`build`]).
    pub fn from_facts<'a>(
        at: Timestamp,
        live: bool,
        tickets: impl IntoIterator<Item = &'a TicketFacts>,
    ) -> BacklogFacts {
        let mut b = BacklogFacts::from_open(at, []);
        b.live = live;
        for t in tickets {
            if t.parent.is_some() {
                continue;
            }
            let active = if live { t.state.is_active() && t.created_at <= at } else { t.active_at(at) };
            if !active {
                continue;
            }
            b.ages.add(at - t.created_at);
            if t.unanswered_past_target_at(at) {
                b.unanswered_past_target += 1;
                b.unanswered_past_target_tickets.push(t.number);
            }
        }
        b.unanswered_past_target_tickets.sort_unstable();
        b
    }
}

/// Operations signals for the period, each `(good, total)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignalFacts {
    /// (compliant, reporting) devices.
    pub patch: (u64, u64),
    /// (succeeded, scheduled) backup jobs.
    pub backups: (u64, u64),
    /// (passed, run) restore tests.
    pub restores: (u64, u64),
    /// (done, required) security baseline controls.
    pub baseline: (u64, u64),
}

/// Week or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Week,
    Month,
}

/// A reporting period in a time zone: a week (Monday 00:00 to the next Monday 00:00, local) or a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub tz: Tz,
    /// The first local day.
    pub first_day: NaiveDate,
    pub start: Timestamp,
    /// Exclusive.
    pub end: Timestamp,
}

/// The first instant of local day `d` (a midnight skipped by a DST change moves to the first valid instant).
fn local_midnight(tz: Tz, d: NaiveDate) -> Timestamp {
    let mut naive = d.and_time(NaiveTime::MIN);
    for _ in 0..6 {
        match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => return t.to_utc(),
            chrono::LocalResult::Ambiguous(a, _) => return a.to_utc(),
            chrono::LocalResult::None => naive += Duration::minutes(30),
        }
    }
    tz.from_utc_datetime(&naive).to_utc()
}

impl Period {
    /// The week or month containing local date `date` in `tz`.
    pub fn containing(date: NaiveDate, kind: PeriodKind, tz: Tz) -> Period {
        let first_day = match kind {
            PeriodKind::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            PeriodKind::Month => date.with_day(1).expect("day 1 exists"),
        };
        Period::starting(first_day, kind, tz)
    }

    fn starting(first_day: NaiveDate, kind: PeriodKind, tz: Tz) -> Period {
        let next = Period::next_first_day(first_day, kind);
        Period { kind, tz, first_day, start: local_midnight(tz, first_day), end: local_midnight(tz, next) }
    }

    fn next_first_day(first_day: NaiveDate, kind: PeriodKind) -> NaiveDate {
        match kind {
            PeriodKind::Week => first_day + Duration::days(7),
            PeriodKind::Month => first_day + Months::new(1),
        }
    }

    /// The period just before.
    pub fn previous(&self) -> Period {
        let first = match self.kind {
            PeriodKind::Week => self.first_day - Duration::days(7),
            PeriodKind::Month => self.first_day - Months::new(1),
        };
        Period::starting(first, self.kind, self.tz)
    }

    /// The period just after.
    pub fn next(&self) -> Period {
        Period::starting(Period::next_first_day(self.first_day, self.kind), self.kind, self.tz)
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// The local days of the period, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        let next = Period::next_first_day(self.first_day, self.kind);
        self.first_day.iter_days().take_while(|d| *d < next).collect()
    }

    /// "week of 2 Mar 2026" or "March 2026".
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Week => format!("week of {}", self.first_day.format("%-d %b %Y")),
            PeriodKind::Month => self.first_day.format("%B %Y").to_string(),
        }
    }

    fn local_day(&self, t: Timestamp) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

/// The period as shown in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodInfo {
    pub kind: PeriodKind,
    pub label: String,
    pub timezone: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A count with the previous period's and the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountDelta {
    pub key: String,
    pub count: u64,
    pub previous: u64,
    pub change: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub total: u64,
    pub previous: u64,
    pub change: i64,
    pub staff: u64,
    pub alert: u64,
    pub previous_staff: u64,
    pub previous_alert: u64,
    pub by_category: Vec<CountDelta>,
    pub by_type: Vec<CountDelta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstResponse {
    /// Tickets first-answered in the period.
    pub answered: u64,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
    pub previous_median_minutes: Option<i64>,
    pub previous_p90_minutes: Option<i64>,
    pub unanswered_past_target: u64,
    /// The tickets behind `unanswered_past_target`, to drill into.
    pub unanswered_past_target_tickets: Vec<TicketNo>,
}

/// `count` of `of`, as a percentage (rounded to 0.1), with the previous period's percentage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub count: u64,
    pub of: u64,
    pub percent: Option<f64>,
    pub previous_percent: Option<f64>,
}

impl Rate {
    fn new(count: u64, of: u64, previous: Option<(u64, u64)>) -> Rate {
        Rate { count, of, percent: percent(count, of), previous_percent: previous.and_then(|(c, o)| percent(c, o)) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockCompliance {
    pub clock: SlaClock,
    pub met: u64,
    pub breached: u64,
    pub percent: Option<f64>,
    pub previous_percent: Option<f64>,
    /// The tickets counted as breached, to drill into.
    pub breached_tickets: Vec<TicketNo>,
}

/// SLA compliance of one category or one priority.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaGroup {
    pub key: String,
    pub sla: Vec<ClockCompliance>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backlog {
    pub open: u64,
    pub previous_open: Option<u64>,
    pub unanswered_past_target: u64,
    pub age: AgeBuckets,
    pub unanswered_past_target_tickets: Vec<TicketNo>,
    /// `true`: a live snapshot at `as_of` (the running period); `false`: as at the end of a past period.
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    pub tickets: u64,
    pub previous: u64,
    /// Closed by their requester ("nvm, fixed it myself") in the period: not in `tickets` or any resolution KPI.
    pub withdrawn: u64,
    /// Requests their approver declined in the period: not in `tickets` or any resolution KPI.
    pub declined: u64,
}

/// Major incidents open at any time in the period: many people with one problem, handled as one ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MajorIncidents {
    pub count: u64,
    /// Everyone affected, each person once per incident (requesters of folded tickets included).
    pub people_affected: u64,
    pub incidents: Vec<MajorIncidentStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MajorIncidentStats {
    pub number: TicketNo,
    pub category: String,
    pub people_affected: u64,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringIssue {
    pub fingerprint: String,
    /// For people: "application error · xero", "printing jam · floor 2" (see [`super::recurring::name`]).
    pub name: String,
    pub tickets: u64,
    pub previous: u64,
    pub change: i64,
    /// The tickets behind it (raised in the 30 days before the period's end), to drill into.
    pub ticket_numbers: Vec<TicketNo>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recurring {
    /// Fingerprints with 3 or more tickets in the trailing 30 days.
    pub count: u64,
    pub previous_count: u64,
    pub top: Vec<RecurringIssue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VendorStats {
    pub vendor: String,
    pub opened: u64,
    pub closed: u64,
    pub responses: u64,
    /// Wall-clock minutes from escalation to the vendor's first answer, median.
    pub median_response_minutes: Option<i64>,
    /// The same on the vendor's contract calendar (business minutes; `None` where the vendor is no longer
    /// configured or no case was answered).
    pub median_response_business_minutes: Option<i64>,
    /// First answers by the contract's response target: each case counts where it was answered, or, unanswered,
    /// where its target fell due.
    pub response_on_time: Rate,
    /// Cases (by ticket) whose vendor missed the response target.
    pub response_late_tickets: Vec<TicketNo>,
    /// Cases closed by the contract's resolution target: each counts where it closed, or, still open, where its
    /// target fell due.
    pub resolution_on_time: Rate,
    /// Cases (by ticket) that missed the resolution target.
    pub resolution_late_tickets: Vec<TicketNo>,
    /// Contract targets (response and resolution) that fell due in the period unmet: the breaches deskbot
    /// announced.
    pub breaches: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operations {
    pub patch_compliance: Rate,
    pub backup_success: Rate,
    pub restore_tests: Rate,
    pub security_baseline: Rate,
}

/// One local day, for the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStats {
    pub date: NaiveDate,
    pub created: u64,
    pub by_category: BTreeMap<String, u64>,
    pub first_responses: u64,
    pub first_response_median_minutes: Option<i64>,
}

/// One technician's share of the period's work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    pub technician: String,
    /// Their tickets open at any time in the period (raised in it, open at its start, or reopened in it).
    pub owned: u64,
    /// Their tickets resolved in the period.
    pub resolved: u64,
    /// Median business minutes to first response over their tickets first-answered in the period.
    pub median_first_response_minutes: Option<i64>,
}

/// One period of the trend shown beside the report: its headline figures, as a report for that period would give
/// them (measured as at the report's own `as_of`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub label: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub tickets: u64,
    pub staff: u64,
    pub alert: u64,
    pub first_response_median_minutes: Option<i64>,
    /// First-response and resolution compliance, percent (`null`: nothing measured).
    pub first_response_sla_percent: Option<f64>,
    pub resolution_sla_percent: Option<f64>,
    /// Open tickets at the period's end (now, for the running period).
    pub backlog_open: u64,
}

/// How many periods before the report's own its trend shows: the last 4 weeks, or 3 months.
pub fn trend_len(kind: PeriodKind) -> usize {
    match kind {
        PeriodKind::Week => 4,
        PeriodKind::Month => 3,
    }
}

/// The earliest instant the trend of a report for `period` reads: the start of its first trend period.
pub fn trend_start(period: &Period) -> Timestamp {
    let mut p = *period;
    for _ in 0..trend_len(period.kind) {
        p = p.previous();
    }
    p.start
}

/// A management report; see the module doc for the JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub period: PeriodInfo,
    pub as_of: Timestamp,
    /// When the report was built (later than `as_of` for a past period).
    pub generated_at: Timestamp,
    pub volume: Volume,
    pub first_response: FirstResponse,
    pub sla: Vec<ClockCompliance>,
    pub sla_by_category: Vec<SlaGroup>,
    pub sla_by_priority: Vec<SlaGroup>,
    pub backlog: Backlog,
    pub resolved: Resolved,
    pub major_incidents: MajorIncidents,
    pub reopen_rate: Rate,
    pub first_contact_resolution: Rate,
    pub deflection: Rate,
    pub csat: Rate,
    /// Answered satisfaction surveys ÷ tickets resolved in the period (each resolved ticket is asked).
    pub csat_response: Rate,
    /// Per technician (the tickets' owner now): tickets open in the period, resolved in it, and the median first
    /// response of those first-answered in it. Tickets nobody owns are not listed.
    pub workload: Vec<Workload>,
    pub recurring: Recurring,
    pub vendors: Vec<VendorStats>,
    pub operations: Operations,
    pub days: Vec<DayStats>,
    /// The periods before this one ([`trend_len`]) and this one last, oldest first.
    pub trend: Vec<TrendPoint>,
    pub alerts: AlertReport,
    /// The people who raised the most tickets in the period (staff tickets, at least 2 each, at most
    /// [`TOP_REQUESTERS`]), most first, with their count in the previous period.
    pub top_requesters: Vec<Requester>,
}

/// Alert tickets, reported apart from the staff KPIs (which leave them out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertReport {
    /// Alert tickets raised in the period (the same as `volume.alert`).
    pub raised: u64,
    pub previous_raised: u64,
    /// Acknowledged (claimed, or assigned by a lead) in the period, and the median business minutes to it.
    pub acknowledged: u64,
    pub median_acknowledge_minutes: Option<i64>,
    pub previous_median_acknowledge_minutes: Option<i64>,
    /// The acknowledgement target (the policy's first response), counted like the staff first-response clock.
    pub acknowledged_on_time: Rate,
    pub acknowledge_breached_tickets: Vec<TicketNo>,
    /// Alert tickets resolved in the period, and of those, resolved before anyone acknowledged them.
    pub resolved: u64,
    pub auto_resolved: u64,
    /// Times an alert ticket reopened because its group fired again (flapping).
    pub reopened: u64,
}

/// How many people the report's top requesters list at most.
pub const TOP_REQUESTERS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requester {
    pub requester: String,
    pub tickets: u64,
    pub previous: u64,
}

// ---------------------------------------------------------------------------------------------------------------
// Computation

/// How each ticket's clocks are measured: on the calendar of the ticket's own SLA policy, and the next-response
/// clock only where that policy sets a next-response target (no target: not measured).
pub trait ClockRules {
    fn calendar(&self, t: &TicketFacts) -> &Calendar;
    fn has_next_response(&self, t: &TicketFacts) -> bool;
    /// A vendor's contract calendar by its id, where the vendor directory is known.
    fn vendor_calendar(&self, _vendor_id: &str) -> Option<&Calendar> {
        None
    }
}

/// The desk's rules: each ticket on its SLA policy, each vendor case on its vendor's contract calendar.
pub struct DeskRules<'a> {
    pub policies: &'a super::sla::Policies,
    pub vendors: &'a super::vendor::Vendors,
}

impl ClockRules for DeskRules<'_> {
    fn calendar(&self, t: &TicketFacts) -> &Calendar {
        self.policies.calendar(t)
    }
    fn has_next_response(&self, t: &TicketFacts) -> bool {
        self.policies.has_next_response(t)
    }
    fn vendor_calendar(&self, vendor_id: &str) -> Option<&Calendar> {
        self.vendors.get(vendor_id).map(|v| &v.calendar)
    }
}

/// One calendar for every ticket, every clock that ran measured (tests and tools without policies).
impl ClockRules for Calendar {
    fn calendar(&self, _: &TicketFacts) -> &Calendar {
        self
    }
    fn has_next_response(&self, _: &TicketFacts) -> bool {
        true
    }
}

/// The policy that applies to the ticket now (the same pick as its SLA clocks and `/ticket sla`).
impl ClockRules for super::sla::Policies {
    fn calendar(&self, t: &TicketFacts) -> &Calendar {
        &self.pick(&t.category, t.priority, t.ticket_type).calendar
    }
    fn has_next_response(&self, t: &TicketFacts) -> bool {
        self.pick(&t.category, t.priority, t.ticket_type).next_response.is_some()
    }
}

/// A deflected ticket whose requester raises the same problem again within this long was not deflected.
pub const RECONTACT_WINDOW: Duration = Duration::hours(72);

/// `num / den` as a percentage rounded to one decimal; `None` when `den` is 0.
fn percent(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| (num as f64 * 1000.0 / den as f64).round() / 10.0)
}

/// Nearest-rank percentile of sorted values: the value at rank `ceil(p/100 × n)` (at least 1).
fn nearest_rank(sorted: &[i64], p: u64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

/// Median of sorted values: the middle value, or for an even count the mean of the two middle values rounded to
/// the whole minute (halves up).
fn median(sorted: &[i64]) -> Option<i64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2] + 1).div_euclid(2)),
    }
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

/// Met and breached clock cycles, with the tickets behind the breaches (each once, in order).
#[derive(Default, Clone)]
struct Tally {
    met: u64,
    breached: u64,
    tickets: BTreeSet<TicketNo>,
}

impl Tally {
    fn add(&mut self, breached: bool, n: TicketNo) {
        if breached {
            self.breached += 1;
            self.tickets.insert(n);
        } else {
            self.met += 1;
        }
    }
}

/// Everything that is computed the same way for this period and the previous one.
#[derive(Default)]
struct Stats {
    total: u64,
    staff: u64,
    alert: u64,
    by_category: BTreeMap<String, u64>,
    by_type: BTreeMap<String, u64>,
    frt: Vec<i64>,
    unanswered_past_target: Vec<TicketNo>,
    sla: BTreeMap<SlaClock, Tally>,
    sla_by_category: BTreeMap<(String, SlaClock), Tally>,
    sla_by_priority: BTreeMap<(String, SlaClock), Tally>,
    resolved: u64,
    withdrawn: u64,
    declined: u64,
    majors: Vec<MajorIncidentStats>,
    reopens: u64,
    fcr: (u64, u64),
    deflected: u64,
    csat: (u64, u64),
    vendors: BTreeMap<String, VendorTally>,
    /// Per owner: (open in the period, resolved in it, first-response minutes of those answered in it).
    workload: BTreeMap<String, (u64, u64, Vec<i64>)>,
    days: BTreeMap<NaiveDate, (BTreeMap<String, u64>, Vec<i64>)>,
    /// Staff tickets raised in the period per requester key: (display name, count).
    requesters: BTreeMap<String, (String, u64)>,
    alerts: AlertTally,
}

/// One vendor's cases in a period.
#[derive(Default)]
struct VendorTally {
    opened: u64,
    closed: u64,
    /// Wall-clock minutes to the first answer, and business minutes where the contract calendar is known.
    minutes: Vec<i64>,
    business_minutes: Vec<i64>,
    on_time: Tally,
    resolved_on_time: Tally,
    breaches: u64,
}

/// Alert tickets, apart from the staff KPIs.
#[derive(Default)]
struct AlertTally {
    /// Business minutes from raised to acknowledged (claimed), of those acknowledged in the period.
    ack_minutes: Vec<i64>,
    /// The acknowledgement (first-response) clock, counted like the staff first-response clock.
    ack: Tally,
    resolved: u64,
    /// Resolutions before anyone acknowledged the alert (monitoring resolved it by itself).
    auto_resolved: u64,
    /// Fired again after resolving (reopens in the period).
    reopened: u64,
}

/// Whether `t`'s requester raised the same problem again within [`RECONTACT_WINDOW`] of resolution `r` (same
/// intent where both tickets have one, else same category).
fn recontacted(t: &TicketFacts, r: Timestamp, by_requester: &BTreeMap<&str, Vec<&TicketFacts>>) -> bool {
    let Some(others) = t.requester.as_deref().and_then(|q| by_requester.get(q)) else { return false };
    others.iter().any(|o| {
        o.number != t.number
            && o.created_at > r
            && o.created_at <= r + RECONTACT_WINDOW
            && o.category == t.category
            && match (&o.intent, &t.intent) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    })
}

fn stats<R: ClockRules + ?Sized>(p: &Period, facts: &PeriodFacts, rules: &R, as_of: Timestamp) -> Stats {
    let mut s = Stats::default();
    let cutoff = p.end.min(as_of);
    let mut by_requester: BTreeMap<&str, Vec<&TicketFacts>> = BTreeMap::new();
    for t in &facts.tickets {
        if let Some(q) = t.requester.as_deref() {
            by_requester.entry(q).or_default().push(t);
        }
    }
    for t in &facts.tickets {
        for v in &t.vendor_cases {
            let e = s.vendors.entry(v.vendor.clone()).or_default();
            e.opened += u64::from(p.contains(v.opened_at));
            e.closed += u64::from(v.closed_at.is_some_and(|c| p.contains(c)));
            if let Some(r) = v.first_vendor_response_at.filter(|&r| p.contains(r)) {
                e.minutes.push((r - v.opened_at).num_minutes().max(0));
                if let Some(cal) = v.vendor_id.as_deref().and_then(|id| rules.vendor_calendar(id)) {
                    e.business_minutes.push(cal.elapsed(v.opened_at, r).num_minutes().max(0));
                }
                if let Some(due) = v.response_due {
                    e.on_time.add(r > due, t.number);
                }
            } else if let Some(due) = v.response_due.filter(|&d| p.contains(d) && d < cutoff) {
                // Unanswered when its target fell due in this period (and still, or answered later): late.
                if v.first_vendor_response_at.is_none_or(|r| r > due) && v.closed_at.is_none_or(|c| c > due) {
                    e.on_time.add(true, t.number);
                }
            }
            if let Some(due) = v.response_due.filter(|&d| p.contains(d) && d < cutoff)
                && v.first_vendor_response_at.is_none_or(|r| r > due)
                && v.closed_at.is_none_or(|c| c > due)
            {
                e.breaches += 1;
            }
            if let Some(due) = v.resolution_due {
                match v.closed_at.filter(|&c| p.contains(c)) {
                    // Ended on our side before its target: the vendor fixed nothing, so nothing is met.
                    Some(c) if v.ended_by_us && c <= due => {}
                    Some(c) => e.resolved_on_time.add(c > due, t.number),
                    // Still open when its target fell due in this period: late (and a breach).
                    None if p.contains(due) && due < cutoff && v.closed_at.is_none_or(|c| c > due) => {
                        e.resolved_on_time.add(true, t.number);
                    }
                    None => {}
                }
                if p.contains(due) && due < cutoff && v.closed_at.is_none_or(|c| c > due) {
                    e.breaches += 1;
                }
            }
        }
        // A ticket folded into a major incident is no ticket of its own: its requester is counted among the major
        // incident's people affected. A merged duplicate counts up to its merge, like a ticket closed then.
        if t.parent.is_some() {
            // But a breach it had already suffered stays on the record where it fell due: folding a late ticket
            // into a major incident must not launder its breach, as merging does not.
            let mut seen = BTreeSet::new();
            for b in t.breaches.iter().filter(|b| p.contains(b.due) && b.due < cutoff) {
                if !seen.insert((b.clock, b.due)) {
                    continue;
                }
                let keys =
                    [(&mut s.sla_by_category, t.category.clone()), (&mut s.sla_by_priority, t.priority.to_string())];
                for (map, key) in keys {
                    map.entry((key, b.clock)).or_default().add(true, t.number);
                }
                s.sla.entry(b.clock).or_default().add(true, t.number);
            }
            continue;
        }
        if t.major {
            let resolved_at = if t.state.is_active() { None } else { t.resolutions.iter().max().copied() };
            if t.created_at < p.end && resolved_at.is_none_or(|r| r >= p.start) {
                s.majors.push(MajorIncidentStats {
                    number: t.number,
                    category: t.category.clone(),
                    people_affected: u64::from(t.people_affected),
                    created_at: t.created_at,
                    resolved_at: resolved_at.filter(|&r| r < p.end),
                });
            }
        }
        if p.contains(t.created_at) {
            s.total += 1;
            match t.source {
                Source::Staff => s.staff += 1,
                Source::Alert => s.alert += 1,
            }
            *s.by_category.entry(t.category.clone()).or_default() += 1;
            *s.by_type.entry(t.ticket_type.to_string()).or_default() += 1;
            *s.days.entry(p.local_day(t.created_at)).or_default().0.entry(t.category.clone()).or_default() += 1;
            if let (Source::Staff, Some(key)) = (t.source, &t.requester) {
                let name = || {
                    t.requester_name
                        .clone()
                        .unwrap_or_else(|| key.split_once(':').map_or(key.as_str(), |(_, id)| id).to_string())
                };
                s.requesters.entry(key.clone()).or_insert_with(|| (name(), 0)).1 += 1;
            }
        }
        let answered_here = t.first_response_at.filter(|&r| p.contains(r)).map(|r| {
            let cal = rules.calendar(t);
            (r, cal.elapsed_with_pauses(t.created_at, r, &t.first_response_pauses).num_minutes())
        });
        let resolved_here = t.resolved_in(p);
        // An alert is nobody's request: it is reported on its own (raised, acknowledged and how fast, resolved
        // before anyone acknowledged it, flaps) and stays out of every staff KPI below. Its owner's workload
        // counts it as owned and resolved, not in their first-response median.
        if t.source == Source::Alert {
            let a = &mut s.alerts;
            a.ack_minutes.extend(answered_here.map(|(_, m)| m));
            if let Some(breached) = first_response_here(t, p, cutoff) {
                a.ack.add(breached, t.number);
            }
            // Tickets, not resolutions: a flapping alert resolved three times is one ticket resolved (and its
            // flaps are counted below). Resolved by itself: nobody had acknowledged it by its last resolution here.
            if let Some(r) = t.helpdesk_resolutions().filter(|&r| p.contains(r)).max() {
                a.resolved += 1;
                a.auto_resolved += u64::from(t.first_response_at.is_none_or(|ack| ack > r));
            }
            a.reopened += t.reopens.iter().filter(|&&o| p.contains(o)).count() as u64;
            add_workload(&mut s.workload, t, p, resolved_here, None);
            continue;
        }
        // Still unanswered and open, past a first-response target that fell due in this period (whenever the
        // ticket was raised): the same tickets as the first-response breaches not answered yet.
        if t.first_response_due.is_some_and(|d| p.contains(d))
            && t.unanswered_past_target_at(cutoff)
            && !t.resolved_at_instant(cutoff)
        {
            s.unanswered_past_target.push(t.number);
        }
        if let Some((r, mins)) = answered_here {
            s.frt.push(mins);
            s.days.entry(p.local_day(r)).or_default().1.push(mins);
        }
        add_workload(&mut s.workload, t, p, resolved_here, answered_here.map(|(_, m)| m));
        let mut counted: Vec<(SlaClock, bool)> =
            first_response_here(t, p, cutoff).map(|b| (SlaClock::FirstResponse, b)).into_iter().collect();
        // No next-response target in the ticket's policy: that clock is not measured at all.
        if rules.has_next_response(t) {
            for c in &t.next_responses {
                counted.extend(next_response_here(t, c, p, cutoff).map(|b| (SlaClock::NextResponse, b)));
            }
        }
        counted.extend(resolution_here(t, p).into_iter().map(|b| (SlaClock::Resolution, b)));
        for (clock, breached) in counted {
            let keys = [(&mut s.sla_by_category, t.category.clone()), (&mut s.sla_by_priority, t.priority.to_string())];
            for (map, key) in keys {
                map.entry((key, clock)).or_default().add(breached, t.number);
            }
            s.sla.entry(clock).or_default().add(breached, t.number);
        }
        if resolved_here && t.withdrawn {
            s.withdrawn += 1;
        } else if resolved_here && t.declined {
            s.declined += 1;
        } else if resolved_here && !t.declined {
            s.resolved += 1;
            // A fix that did not hold: a resolution in this period that was reopened afterwards (as known now).
            let reopened_later =
                t.helpdesk_resolutions().filter(|&r| p.contains(r)).any(|r| t.reopens.iter().any(|&o| o >= r));
            s.reopens += u64::from(reopened_later);
            if t.deflected {
                // Fixed by the walkthrough, unless the person came back with the same problem soon after.
                let last = t.helpdesk_resolutions().filter(|&r| p.contains(r)).max();
                if !last.is_some_and(|r| recontacted(t, r, &by_requester)) {
                    s.deflected += 1;
                }
            }
            // First contact is measured on technicians' fixes only: a walkthrough's fix (or its "nothing for IT to
            // do") is none, also once reopened and still open (#33). It needs a person's contact answered by a
            // person: a human response (a reply, or the text of the resolution) by the technician's first fix, at
            // most one reply, and that fix never reopened. A walkthrough's fix reopened with "Still broken" went
            // back to the queue like a hand-off: it does not count against the technician's fix that followed. A
            // resolve with nothing said is no first-contact resolution, and alerts are no person's contact at all.
            let technician_here = t.technician_resolutions().any(|r| p.contains(r));
            if let (Source::Staff, true, Some(first)) = (t.source, technician_here, t.technician_resolutions().min()) {
                s.fcr.1 += 1;
                let answered = t.first_response_at.is_some_and(|r| r <= first);
                let reopened = t.reopens.iter().any(|&o| o >= first);
                if answered && t.public_replies <= 1 && !reopened {
                    s.fcr.0 += 1;
                }
            }
            if let Some(c) = t.csat {
                s.csat.0 += u64::from(c);
                s.csat.1 += 1;
            }
        }
    }
    s.frt.sort_unstable();
    s.unanswered_past_target.sort_unstable();
    s
}

/// Adds `t` to its owner's workload: owned if open in `p`, resolved in it, and its first-response minutes if it
/// was first answered in it (staff tickets only).
fn add_workload(
    w: &mut BTreeMap<String, (u64, u64, Vec<i64>)>,
    t: &TicketFacts,
    p: &Period,
    resolved_here: bool,
    answered_here: Option<i64>,
) {
    let Some(owner) = &t.owner else { return };
    let open_in_period = t.created_at < p.end
        && (t.created_at >= p.start || !t.resolved_at_instant(p.start) || t.reopens.iter().any(|&o| p.contains(o)));
    if open_in_period || answered_here.is_some() || resolved_here {
        let e = w.entry(owner.clone()).or_default();
        e.0 += u64::from(open_in_period);
        e.1 += u64::from(resolved_here && !t.not_fixed());
        e.2.extend(answered_here);
    }
}

/// Whether `t`'s first-response clock counts in `p`, and if so whether breached: answered in `p`, or one of its
/// breaches fell due in `p` while it still ran at `p`'s end, or still unanswered past a target that fell due in
/// `p` while the ticket was open (breached even before the scheduler recorded it: after downtime, or a report
/// asked before the scheduler ran). Breached if it ever breached.
fn first_response_here(t: &TicketFacts, p: &Period, cutoff: Timestamp) -> Option<bool> {
    let stopped = t.first_response_at.is_some_and(|r| p.contains(r));
    let still_running_at_end = t.first_response_at.is_none_or(|r| r >= p.end);
    let recorded = |b: &&ClockBreach| b.clock == SlaClock::FirstResponse;
    let breached_here = still_running_at_end && t.breaches.iter().filter(recorded).any(|b| p.contains(b.due));
    let overdue_here = t.first_response_due.is_some_and(|d| p.contains(d) && !t.resolved_at_instant(d))
        && t.unanswered_past_target_at(cutoff);
    (stopped || breached_here || overdue_here).then(|| overdue_here || t.breaches.iter().any(|b| recorded(&b)))
}

/// Whether next-response cycle `c` of `t` counts in `p`, and if so whether breached: answered in `p`, or its target
/// fell due in `p` before an answer (a recorded breach, or the cycle's due instant once passed). A cycle answered a
/// period after it breached counts, breached, in both.
fn next_response_here(t: &TicketFacts, c: &NextResponseCycle, p: &Period, cutoff: Timestamp) -> Option<bool> {
    let before_answer = |d: Timestamp| d >= c.since && c.answered.is_none_or(|a| d <= a);
    let mut dues: Vec<Timestamp> = t
        .breaches
        .iter()
        .filter(|b| b.clock == SlaClock::NextResponse && before_answer(b.due))
        .map(|b| b.due)
        .collect();
    dues.extend(c.due.filter(|&d| d <= cutoff && c.answered.is_none_or(|a| d < a)));
    let stopped = c.answered.is_some_and(|a| p.contains(a));
    (stopped || dues.iter().any(|&d| p.contains(d))).then(|| dues.iter().any(|&d| d < p.end))
}

/// The resolution cycles of `t` that count in `p`, each breached or not: those the helpdesk resolved in `p` (a
/// merge or the requester's withdrawal is no resolution), and those with a breach that fell due in `p` and not
/// resolved in it (still running at its end, or cancelled by a merge). A cycle is breached if it breached before
/// the period's end; one resolved again after a reopen within the same cycle counts once per period.
fn resolution_here(t: &TicketFacts, p: &Period) -> Vec<bool> {
    let mut cycles: BTreeSet<Timestamp> = BTreeSet::new();
    if !t.not_fixed() {
        // A resolution ends its cycle unless a reopen continued that cycle afterwards (a reopen within
        // `reopen_new_cycle_after`): then the cycle counts where it is finally resolved (or falls due), once.
        let ended = |r: Timestamp| !t.reopens.iter().any(|&o| o > r && t.cycle_start_at(o) == t.cycle_start_at(r));
        cycles.extend(t.helpdesk_resolutions().filter(|&r| p.contains(r) && ended(r)).map(|r| t.cycle_start_at(r)));
    }
    let breaches: Vec<Timestamp> =
        t.breaches.iter().filter(|b| b.clock == SlaClock::Resolution).map(|b| b.due).collect();
    cycles.extend(breaches.iter().filter(|&&d| p.contains(d)).map(|&d| t.cycle_start_at(d)));
    cycles.into_iter().map(|cs| breaches.iter().any(|&d| d < p.end && t.cycle_start_at(d) == cs)).collect()
}

fn deltas(this: &BTreeMap<String, u64>, prev: &BTreeMap<String, u64>) -> Vec<CountDelta> {
    let keys: BTreeSet<&String> = this.keys().chain(prev.keys()).collect();
    let mut out: Vec<CountDelta> = keys
        .into_iter()
        .map(|k| {
            let (c, p) = (this.get(k).copied().unwrap_or(0), prev.get(k).copied().unwrap_or(0));
            CountDelta { key: k.clone(), count: c, previous: p, change: c as i64 - p as i64 }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(b.previous.cmp(&a.previous)).then(a.key.cmp(&b.key)));
    out
}

/// Fingerprints seen at least this often in 30 days are recurring issues.
pub const RECURRING_MIN_TICKETS: u64 = 3;

fn recurring(this: &[FingerprintCount], prev: &[FingerprintCount]) -> Recurring {
    let prev_map: BTreeMap<&str, u64> = prev.iter().map(|f| (f.fingerprint.as_str(), f.tickets)).collect();
    let mut hot: Vec<&FingerprintCount> = this.iter().filter(|f| f.tickets >= RECURRING_MIN_TICKETS).collect();
    hot.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.fingerprint.cmp(&b.fingerprint)));
    Recurring {
        count: hot.len() as u64,
        previous_count: prev.iter().filter(|f| f.tickets >= RECURRING_MIN_TICKETS).count() as u64,
        top: hot
            .iter()
            .take(5)
            .map(|f| {
                let p = prev_map.get(f.fingerprint.as_str()).copied().unwrap_or(0);
                RecurringIssue {
                    fingerprint: f.fingerprint.clone(),
                    name: super::recurring::name(&f.fingerprint),
                    tickets: f.tickets,
                    previous: p,
                    change: f.tickets as i64 - p as i64,
                    ticket_numbers: vec![],
                }
            })
            .collect(),
    }
}

/// Builds the report for `period` (`prev_facts` are the facts of `period.previous()` and of the trend's earlier
/// periods, from [`trend_start`]). Never panics on empty input;
/// every ratio with nothing to divide by is `None`.
pub fn build<R: ClockRules + ?Sized>(
    period: &Period,
    facts: &PeriodFacts,
    prev_facts: &PeriodFacts,
    backlog: &BacklogFacts,
    signals: &SignalFacts,
    rules: &R,
) -> Report {
    let prev_period = period.previous();
    let as_of = backlog.at;
    let s = stats(period, facts, rules, as_of);
    let ps = stats(&prev_period, prev_facts, rules, as_of);

    const CLOCKS: [SlaClock; 3] = [SlaClock::FirstResponse, SlaClock::NextResponse, SlaClock::Resolution];
    let compliance = |clock: SlaClock, now: &Tally, before: Option<&Tally>| ClockCompliance {
        clock,
        met: now.met,
        breached: now.breached,
        percent: percent(now.met, now.met + now.breached),
        previous_percent: before.and_then(|b| percent(b.met, b.met + b.breached)),
        breached_tickets: now.tickets.iter().copied().collect(),
    };
    let none = Tally::default();
    let sla = CLOCKS
        .into_iter()
        .map(|clock| compliance(clock, s.sla.get(&clock).unwrap_or(&none), ps.sla.get(&clock)))
        .collect();
    // Per category or priority: the clocks measured in this period, with last period's percentage beside them.
    let groups = |this: &BTreeMap<(String, SlaClock), Tally>, prev: &BTreeMap<(String, SlaClock), Tally>| {
        let keys: BTreeSet<&String> = this.keys().map(|(k, _)| k).collect();
        keys.into_iter()
            .map(|key| SlaGroup {
                key: key.clone(),
                sla: CLOCKS
                    .into_iter()
                    .filter_map(|clock| {
                        let now = this.get(&(key.clone(), clock))?;
                        Some(compliance(clock, now, prev.get(&(key.clone(), clock))))
                    })
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
    let sla_by_category = groups(&s.sla_by_category, &ps.sla_by_category);
    let sla_by_priority = groups(&s.sla_by_priority, &ps.sla_by_priority);

    let vendors = s
        .vendors
        .iter()
        .filter(|(_, v)| {
            v.opened + v.closed > 0
                || !v.minutes.is_empty()
                || v.on_time.met + v.on_time.breached > 0
                || v.resolved_on_time.met + v.resolved_on_time.breached > 0
        })
        .map(|(name, v)| {
            let r = sorted(v.minutes.clone());
            let before = ps.vendors.get(name).map(|b| (b.on_time.met, b.on_time.met + b.on_time.breached));
            let res_before = ps
                .vendors
                .get(name)
                .map(|b| (b.resolved_on_time.met, b.resolved_on_time.met + b.resolved_on_time.breached));
            VendorStats {
                vendor: name.clone(),
                opened: v.opened,
                closed: v.closed,
                responses: r.len() as u64,
                median_response_minutes: median(&r),
                median_response_business_minutes: median(&sorted(v.business_minutes.clone())),
                response_on_time: Rate::new(v.on_time.met, v.on_time.met + v.on_time.breached, before),
                response_late_tickets: v.on_time.tickets.iter().copied().collect(),
                resolution_on_time: Rate::new(
                    v.resolved_on_time.met,
                    v.resolved_on_time.met + v.resolved_on_time.breached,
                    res_before,
                ),
                resolution_late_tickets: v.resolved_on_time.tickets.iter().copied().collect(),
                breaches: v.breaches,
            }
        })
        .collect();

    let days = period
        .days()
        .into_iter()
        .map(|date| {
            let (cats, frt) = s.days.get(&date).cloned().unwrap_or_default();
            let frt = sorted(frt);
            DayStats {
                date,
                created: cats.values().sum(),
                by_category: cats,
                first_responses: frt.len() as u64,
                first_response_median_minutes: median(&frt),
            }
        })
        .collect();

    // The trend: each earlier period measured like the previous one, from `prev_facts` (whose tickets reach back
    // to the first trend period's start, see [`trend_start`]), its backlog rebuilt as at its end.
    let mut trend = vec![];
    let mut earlier = vec![];
    let mut p = *period;
    for _ in 0..trend_len(period.kind) {
        p = p.previous();
        earlier.push(p);
    }
    for p in earlier.iter().rev() {
        let rebuilt = || BacklogFacts::from_facts(p.end.min(as_of), false, &prev_facts.tickets).ages.total();
        if *p == prev_period {
            trend.push(trend_point(p, &ps, backlog.previous_open.unwrap_or_else(rebuilt)));
        } else {
            trend.push(trend_point(p, &stats(p, prev_facts, rules, as_of), rebuilt()));
        }
    }
    trend.push(trend_point(period, &s, backlog.ages.total()));

    let sig = |(a, b): (u64, u64)| Rate::new(a, b, None);
    Report {
        schema_version: 1,
        period: PeriodInfo {
            kind: period.kind,
            label: period.label(),
            timezone: period.tz.name().to_string(),
            start: period.start,
            end: period.end,
        },
        as_of,
        generated_at: as_of,
        volume: Volume {
            total: s.total,
            previous: ps.total,
            change: s.total as i64 - ps.total as i64,
            staff: s.staff,
            alert: s.alert,
            previous_staff: ps.staff,
            previous_alert: ps.alert,
            by_category: deltas(&s.by_category, &ps.by_category),
            by_type: deltas(&s.by_type, &ps.by_type),
        },
        first_response: FirstResponse {
            answered: s.frt.len() as u64,
            median_minutes: median(&s.frt),
            p90_minutes: nearest_rank(&s.frt, 90),
            previous_median_minutes: median(&ps.frt),
            previous_p90_minutes: nearest_rank(&ps.frt, 90),
            unanswered_past_target: s.unanswered_past_target.len() as u64,
            unanswered_past_target_tickets: s.unanswered_past_target.clone(),
        },
        sla,
        sla_by_category,
        sla_by_priority,
        backlog: Backlog {
            open: backlog.ages.total(),
            previous_open: backlog.previous_open,
            unanswered_past_target: backlog.unanswered_past_target,
            age: backlog.ages,
            unanswered_past_target_tickets: backlog.unanswered_past_target_tickets.clone(),
            live: backlog.live,
        },
        resolved: Resolved { tickets: s.resolved, previous: ps.resolved, withdrawn: s.withdrawn, declined: s.declined },
        major_incidents: MajorIncidents {
            count: s.majors.len() as u64,
            people_affected: s.majors.iter().map(|m| m.people_affected).sum(),
            incidents: s.majors.clone(),
        },
        reopen_rate: Rate::new(s.reopens, s.resolved, Some((ps.reopens, ps.resolved))),
        first_contact_resolution: Rate::new(s.fcr.0, s.fcr.1, Some(ps.fcr)),
        deflection: Rate::new(s.deflected, s.resolved, Some((ps.deflected, ps.resolved))),
        csat: Rate::new(s.csat.0, s.csat.1, Some(ps.csat)),
        csat_response: Rate::new(s.csat.1, s.resolved, Some((ps.csat.1, ps.resolved))),
        workload: {
            let mut w: Vec<Workload> = s
                .workload
                .iter()
                .map(|(name, (owned, resolved, frt))| Workload {
                    technician: name.clone(),
                    owned: *owned,
                    resolved: *resolved,
                    median_first_response_minutes: median(&sorted(frt.clone())),
                })
                .collect();
            w.sort_by(|a, b| {
                b.owned.cmp(&a.owned).then(b.resolved.cmp(&a.resolved)).then(a.technician.cmp(&b.technician))
            });
            w
        },
        recurring: {
            let mut r = recurring(&facts.fingerprints_30d, &prev_facts.fingerprints_30d);
            let since = period.end - Duration::days(super::recurring::WINDOW_DAYS);
            for issue in &mut r.top {
                issue.ticket_numbers = facts
                    .tickets
                    .iter()
                    .filter(|t| t.fingerprint.as_deref() == Some(issue.fingerprint.as_str()))
                    .filter(|t| since <= t.created_at && t.created_at < period.end)
                    .map(|t| t.number)
                    .collect();
                issue.ticket_numbers.sort_unstable();
            }
            r
        },
        vendors,
        operations: Operations {
            patch_compliance: sig(signals.patch),
            backup_success: sig(signals.backups),
            restore_tests: sig(signals.restores),
            security_baseline: sig(signals.baseline),
        },
        days,
        trend,
        alerts: {
            let (a, pa) = (&s.alerts, &ps.alerts);
            let mins = sorted(a.ack_minutes.clone());
            AlertReport {
                raised: s.alert,
                previous_raised: ps.alert,
                acknowledged: mins.len() as u64,
                median_acknowledge_minutes: median(&mins),
                previous_median_acknowledge_minutes: median(&sorted(pa.ack_minutes.clone())),
                acknowledged_on_time: Rate::new(
                    a.ack.met,
                    a.ack.met + a.ack.breached,
                    Some((pa.ack.met, pa.ack.met + pa.ack.breached)),
                ),
                acknowledge_breached_tickets: a.ack.tickets.iter().copied().collect(),
                resolved: a.resolved,
                auto_resolved: a.auto_resolved,
                reopened: a.reopened,
            }
        },
        top_requesters: {
            let mut v: Vec<Requester> = s
                .requesters
                .iter()
                .filter(|(_, (_, n))| *n >= 2)
                .map(|(key, (name, n))| Requester {
                    requester: name.clone(),
                    tickets: *n,
                    previous: ps.requesters.get(key).map_or(0, |p| p.1),
                })
                .collect();
            v.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.requester.cmp(&b.requester)));
            v.truncate(TOP_REQUESTERS);
            v
        },
    }
}

fn trend_point(p: &Period, s: &Stats, backlog_open: u64) -> TrendPoint {
    let pct = |clock| s.sla.get(&clock).and_then(|t: &Tally| percent(t.met, t.met + t.breached));
    TrendPoint {
        label: p.label(),
        start: p.start,
        end: p.end,
        tickets: s.total,
        staff: s.staff,
        alert: s.alert,
        first_response_median_minutes: median(&s.frt),
        first_response_sla_percent: pct(SlaClock::FirstResponse),
        resolution_sla_percent: pct(SlaClock::Resolution),
        backlog_open,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Text

/// "25 min", "3h 10m", "2d 4h" (business minutes are shown as they are; a business day is not 24 h).
pub fn minutes_text(m: i64) -> String {
    if m < 60 {
        format!("{m} min")
    } else if m < 48 * 60 {
        format!("{}h {:02}m", m / 60, m % 60)
    } else {
        format!("{}d {}h", m / (24 * 60), m % (24 * 60) / 60)
    }
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else if n < 0 {
        format!("−{}", -n)
    } else {
        "±0".into()
    }
}

fn pct_text(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".into(), |p| format!("{p:.1}%"))
}

/// ", +2.5 pts" when both percentages are known.
fn pts_text(now: Option<f64>, prev: Option<f64>) -> String {
    match (now, prev) {
        (Some(a), Some(b)) => {
            let d = ((a - b) * 10.0).round() / 10.0;
            if d > 0.0 {
                format!(", +{d:.1} pts")
            } else if d < 0.0 {
                format!(", −{:.1} pts", -d)
            } else {
                ", ±0 pts".into()
            }
        }
        _ => String::new(),
    }
}

/// "#2 #5": the tickets behind a figure, to drill into (the first ten, then how many more).
fn numbers_list(v: &[TicketNo]) -> String {
    let mut l: Vec<String> = v.iter().take(10).map(|n| n.to_string()).collect();
    if v.len() > 10 {
        l.push(format!("and {} more", v.len() - 10));
    }
    l.join(" ")
}

/// " (#2 #5)", or nothing when there are none.
fn numbers_text(v: &[TicketNo]) -> String {
    if v.is_empty() { String::new() } else { format!(" ({})", numbers_list(v)) }
}

/// "first response 50.0% (1/2), resolution 100.0% (1/1)": the measured clocks.
fn clocks_text(clocks: &[ClockCompliance], deltas: bool) -> String {
    clocks
        .iter()
        .filter(|c| c.met + c.breached > 0)
        .map(|c| {
            let pts = if deltas { pts_text(c.percent, c.previous_percent) } else { String::new() };
            format!("{} {} ({}/{}{pts})", c.clock.label(), pct_text(c.percent), c.met, c.met + c.breached)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn minutes_delta(now: Option<i64>, prev: Option<i64>) -> String {
    match (now, prev) {
        (Some(a), Some(b)) if a == b => format!(" (±0 vs {})", minutes_text(b)),
        (Some(a), Some(b)) if a > b => format!(" (+{} vs {})", minutes_text(a - b), minutes_text(b)),
        (Some(a), Some(b)) => format!(" (−{} vs {})", minutes_text(b - a), minutes_text(b)),
        _ => String::new(),
    }
}

impl Report {
    /// The SLA line for one clock, if the report has it.
    pub fn clock(&self, clock: SlaClock) -> Option<&ClockCompliance> {
        self.sla.iter().find(|c| c.clock == clock)
    }

    /// A chat summary: headline numbers with changes against the previous period, then details.
    pub fn text(&self, tz: Tz) -> String {
        let vs = match self.period.kind {
            PeriodKind::Week => "last week",
            PeriodKind::Month => "last month",
        };
        let mut o = String::new();
        let v = &self.volume;
        let _ = writeln!(o, "IT helpdesk report, {} ({})", self.period.label, self.period.timezone);
        let _ = writeln!(
            o,
            "• Tickets: {} ({} vs {vs}) — {} from staff, {} from alerts",
            v.total,
            signed(v.change),
            v.staff,
            v.alert
        );
        let fr = &self.first_response;
        let fr_line = match (fr.median_minutes, fr.p90_minutes) {
            (Some(m), Some(p)) => format!(
                "median {}{}, 90% within {} (business hours, {} answered)",
                minutes_text(m),
                minutes_delta(fr.median_minutes, fr.previous_median_minutes),
                minutes_text(p),
                fr.answered
            ),
            _ => "no tickets answered".into(),
        };
        let _ = writeln!(
            o,
            "• First response: {fr_line}; {} unanswered past target{}",
            fr.unanswered_past_target,
            numbers_text(&fr.unanswered_past_target_tickets)
        );
        let sla = clocks_text(&self.sla, true);
        let sla = if sla.is_empty() { "nothing measured".to_string() } else { sla };
        let _ = writeln!(o, "• SLA met: {sla}");
        let missed: Vec<String> = self
            .sla
            .iter()
            .filter(|c| !c.breached_tickets.is_empty())
            .map(|c| format!("{} {}", c.clock.label(), numbers_list(&c.breached_tickets)))
            .collect();
        if !missed.is_empty() {
            let _ = writeln!(o, "• Past target: {}", missed.join("; "));
        }
        let b = &self.backlog;
        let delta = b.previous_open.map(|p| format!(" ({} vs {vs})", signed(b.open as i64 - p as i64)));
        let when = match (b.live, self.period.kind) {
            (true, _) => "",
            (false, PeriodKind::Week) => " at the end of the week",
            (false, PeriodKind::Month) => " at the end of the month",
        };
        let _ = writeln!(
            o,
            "• Backlog{when}: {} open{}; {} older than 30 days; {} unanswered past target{}",
            b.open,
            delta.unwrap_or_default(),
            b.age.over_30d,
            b.unanswered_past_target,
            numbers_text(&b.unanswered_past_target_tickets)
        );
        let _ = writeln!(
            o,
            "• Resolved: {} ({} vs {vs}); reopened {}{}; first-contact {}; deflected by runbooks {}",
            self.resolved.tickets,
            signed(self.resolved.tickets as i64 - self.resolved.previous as i64),
            pct_text(self.reopen_rate.percent),
            // A fix that did not hold still counts as resolved here (and the reopen against it); say so, or the
            // resolved count reads higher than the resolution cycles the SLA line counts.
            match self.reopen_rate.count {
                0 => String::new(),
                1 => " (1 of them reopened later)".to_string(),
                n => format!(" ({n} of them reopened later)"),
            },
            pct_text(self.first_contact_resolution.percent),
            pct_text(self.deflection.percent),
        );
        let al = &self.alerts;
        if al.raised + al.resolved + al.acknowledged > 0 {
            let ack = match al.median_acknowledge_minutes {
                Some(m) => format!(
                    "{} acknowledged, median {}, on time {}{}",
                    al.acknowledged,
                    minutes_text(m),
                    pct_text(al.acknowledged_on_time.percent),
                    if al.acknowledge_breached_tickets.is_empty() {
                        String::new()
                    } else {
                        format!(" (missed {})", numbers_list(&al.acknowledge_breached_tickets))
                    }
                ),
                None => "none acknowledged".into(),
            };
            let ack = if al.median_acknowledge_minutes.is_none() && al.acknowledged_on_time.of > 0 {
                format!(
                    "{ack}, on time {} (missed {})",
                    pct_text(al.acknowledged_on_time.percent),
                    numbers_list(&al.acknowledge_breached_tickets)
                )
            } else {
                ack
            };
            let _ = writeln!(
                o,
                "• Alerts (apart from the staff figures): {} raised ({} vs {vs}); {ack}; {} resolved, {} of them before \
                 anyone acknowledged them; fired again after resolving {}",
                al.raised,
                signed(al.raised as i64 - al.previous_raised as i64),
                al.resolved,
                al.auto_resolved,
                al.reopened
            );
        }
        if self.resolved.withdrawn > 0 {
            let _ = writeln!(o, "• Closed by the requester before we got to it: {}", self.resolved.withdrawn);
        }
        if self.resolved.declined > 0 {
            let _ = writeln!(o, "• Requests declined by their approver: {}", self.resolved.declined);
        }
        let m = &self.major_incidents;
        if m.count > 0 {
            let list: Vec<String> = m
                .incidents
                .iter()
                .map(|i| {
                    let state = if i.resolved_at.is_some() { "resolved" } else { "open" };
                    format!("{} {} ({} people, {state})", i.number, i.category, i.people_affected)
                })
                .collect();
            let _ = writeln!(
                o,
                "• Major incidents: {}, {} people affected — {}",
                m.count,
                m.people_affected,
                list.join(", ")
            );
        }
        if self.csat.of > 0 {
            let _ = writeln!(
                o,
                "• Satisfaction: {} positive ({} answer{}{}; {} of resolved tickets answered the survey)",
                pct_text(self.csat.percent),
                self.csat.of,
                if self.csat.of == 1 { "" } else { "s" },
                pts_text(self.csat.percent, self.csat.previous_percent),
                pct_text(self.csat_response.percent),
            );
        }
        o.push('\n');
        let list = |items: &[CountDelta]| -> String {
            items.iter().map(|c| format!("{} {} ({})", c.key, c.count, signed(c.change))).collect::<Vec<_>>().join(", ")
        };
        if !v.by_category.is_empty() {
            let _ = writeln!(o, "By category: {}", list(&v.by_category));
            let _ = writeln!(o, "By type: {}", list(&v.by_type));
        }
        for (name, groups) in [("priority", &self.sla_by_priority), ("category", &self.sla_by_category)] {
            if !groups.is_empty() {
                let l: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        let missed: BTreeSet<TicketNo> =
                            g.sla.iter().flat_map(|c| c.breached_tickets.iter().copied()).collect();
                        let missed: Vec<TicketNo> = missed.into_iter().collect();
                        let missed = if missed.is_empty() {
                            String::new()
                        } else {
                            format!(" — missed {}", numbers_list(&missed))
                        };
                        format!("{} {}{missed}", g.key, clocks_text(&g.sla, false))
                    })
                    .collect();
                let _ = writeln!(o, "SLA by {name}: {}", l.join("; "));
            }
        }
        if !self.workload.is_empty() {
            let l: Vec<String> = self
                .workload
                .iter()
                .map(|w| {
                    let frt = w.median_first_response_minutes.map(|m| format!(", first response {}", minutes_text(m)));
                    format!("{} {} owned, {} resolved{}", w.technician, w.owned, w.resolved, frt.unwrap_or_default())
                })
                .collect();
            let _ = writeln!(o, "Workload: {}", l.join("; "));
        }
        if !self.top_requesters.is_empty() {
            let l: Vec<String> = self
                .top_requesters
                .iter()
                .map(|q| format!("{} {} ({} {vs})", q.requester, q.tickets, q.previous))
                .collect();
            let _ = writeln!(o, "Top requesters: {}", l.join(", "));
        }
        // The trend line, once there is something before this period to compare with.
        let n = self.trend.len().saturating_sub(1);
        if self.trend[..n].iter().any(|t| t.tickets + t.backlog_open > 0) {
            let (units, unit) = match self.period.kind {
                PeriodKind::Week => ("weeks", "week"),
                PeriodKind::Month => ("months", "month"),
            };
            let series = |f: &dyn Fn(&TrendPoint) -> String| -> String {
                let v: Vec<String> = self.trend.iter().map(f).collect();
                format!("{} → {}", v[..n].join(", "), v[n])
            };
            let pct = |p: Option<f64>| p.map_or_else(|| "–".into(), |p| format!("{p:.0}%"));
            let _ = writeln!(
                o,
                "Trend, the {n} {units} before → this {unit}: tickets {}; first response median {}; first response \
                 on time {}; resolved on time {}; open at the end {}",
                series(&|t| t.tickets.to_string()),
                series(&|t| t.first_response_median_minutes.map_or_else(|| "–".into(), minutes_text)),
                series(&|t| pct(t.first_response_sla_percent)),
                series(&|t| pct(t.resolution_sla_percent)),
                series(&|t| t.backlog_open.to_string()),
            );
        }
        let a = &b.age;
        let _ = writeln!(
            o,
            "Backlog age: <1d {} · 1–3d {} · 3–7d {} · 7–30d {} · >30d {}",
            a.under_1d, a.from_1d_to_3d, a.from_3d_to_7d, a.from_7d_to_30d, a.over_30d
        );
        let r = &self.recurring;
        let _ = write!(o, "Recurring issues (3+ tickets in 30 days): {} ({} vs {vs})", r.count, r.previous_count);
        if !r.top.is_empty() {
            let top: Vec<String> = r
                .top
                .iter()
                .map(|i| format!("{} {} ({}){}", i.name, i.tickets, signed(i.change), numbers_text(&i.ticket_numbers)))
                .collect();
            let _ = write!(o, " — {}", top.join(", "));
            // The list shows the top five: say how many more there are, so the count and the list agree.
            let more = r.count.saturating_sub(r.top.len() as u64);
            if more > 0 {
                let _ = write!(o, ", and {more} more");
            }
        }
        o.push('\n');
        for vd in &self.vendors {
            let business =
                vd.median_response_business_minutes.map(|b| format!(" ({} on its contract hours)", minutes_text(b)));
            let resp = vd
                .median_response_minutes
                .map(|m| format!(", median first response {}{}", minutes_text(m), business.unwrap_or_default()));
            let on_time = (vd.response_on_time.of > 0).then(|| {
                format!(
                    "; answered within the contract's target {} ({}/{}){}",
                    pct_text(vd.response_on_time.percent),
                    vd.response_on_time.count,
                    vd.response_on_time.of,
                    if vd.response_late_tickets.is_empty() {
                        String::new()
                    } else {
                        format!(", late on {}", numbers_list(&vd.response_late_tickets))
                    }
                )
            });
            let resolved = (vd.resolution_on_time.of > 0).then(|| {
                format!(
                    "; closed within the contract's target {} ({}/{}){}",
                    pct_text(vd.resolution_on_time.percent),
                    vd.resolution_on_time.count,
                    vd.resolution_on_time.of,
                    if vd.resolution_late_tickets.is_empty() {
                        String::new()
                    } else {
                        format!(", late on {}", numbers_list(&vd.resolution_late_tickets))
                    }
                )
            });
            let breaches = match vd.breaches {
                0 => String::new(),
                1 => "; 1 contract breach".to_string(),
                b => format!("; {b} contract breaches"),
            };
            let _ = writeln!(
                o,
                "Vendor {}: {} opened, {} closed{}{}{}{breaches}",
                vd.vendor,
                vd.opened,
                vd.closed,
                resp.unwrap_or_default(),
                on_time.unwrap_or_default(),
                resolved.unwrap_or_default()
            );
        }
        let op = &self.operations;
        let ops: Vec<String> = [
            ("patched", &op.patch_compliance),
            ("backups", &op.backup_success),
            ("restore tests", &op.restore_tests),
            ("security baseline", &op.security_baseline),
        ]
        .iter()
        .filter(|(_, r)| r.of > 0)
        .map(|(n, r)| format!("{n} {} ({}/{})", pct_text(r.percent), r.count, r.of))
        .collect();
        if !ops.is_empty() {
            let _ = writeln!(o, "Operations: {}", ops.join(" · "));
        }
        let fmt = |t: Timestamp| t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string();
        if self.backlog.live {
            let _ = write!(o, "As of {}", fmt(self.as_of));
        } else {
            let _ = write!(o, "Backlog as at {}; built {}", fmt(self.as_of), fmt(self.generated_at));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::CalendarSpec;
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    const LONDON: Tz = chrono_tz::Europe::London;

    /// Mon–Fri 09:00–17:00 London (GMT in early March, so local = UTC).
    fn office() -> Calendar {
        let day = vec!["09:00-17:00".to_string()];
        Calendar::new(
            "office",
            &CalendarSpec {
                timezone: "Europe/London".into(),
                mon: day.clone(),
                tue: day.clone(),
                wed: day.clone(),
                thu: day.clone(),
                fri: day,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn tk(n: i64, cat: &str, ty: TicketType, created: &str) -> TicketFacts {
        TicketFacts::new(TicketNo(n), cat, ty, Priority::P3, t(created))
    }

    fn answered(mut f: TicketFacts, at: &str) -> TicketFacts {
        f.first_response_at = Some(t(at));
        f.public_replies = 1;
        f.state = State::Open;
        f
    }

    fn resolved(mut f: TicketFacts, at: &str) -> TicketFacts {
        f.resolutions.push(t(at));
        f.state = State::Resolved;
        f
    }

    /// Week of Mon 2 Mar 2026 (London = UTC). First-response business minutes are in the comments.
    fn this_week() -> PeriodFacts {
        let mut tickets = vec![];
        // #1 Mon 09:00, answered 09:10 → 10; resolved Mon with one reply, no reopen → first contact.
        tickets.push(resolved(
            answered(tk(1, "printing", TicketType::Incident, "2026-03-02T09:00:00Z"), "2026-03-02T09:10:00Z"),
            "2026-03-02T10:00:00Z",
        ));
        // #2 Mon 16:00, answered Tue 10:00 → 60 + 60 = 120; FR breached (due Mon 16:30); still open.
        let mut t2 = answered(tk(2, "printing", TicketType::Incident, "2026-03-02T16:00:00Z"), "2026-03-03T10:00:00Z");
        t2.breaches.push(ClockBreach { clock: SlaClock::FirstResponse, due: t("2026-03-02T16:30:00Z") });
        tickets.push(t2);
        // #3 Tue 12:00, answered 12:30 → 30; resolved Tue, reopened Wed, resolved again Thu; 2 replies.
        let mut t3 = resolved(
            answered(tk(3, "network", TicketType::Incident, "2026-03-03T12:00:00Z"), "2026-03-03T12:30:00Z"),
            "2026-03-03T13:00:00Z",
        );
        t3.reopens.push(t("2026-03-04T09:00:00Z"));
        t3.resolutions.push(t("2026-03-05T09:00:00Z"));
        t3.public_replies = 2;
        t3.csat = Some(false);
        tickets.push(t3);
        // #4 Wed 10:00, deflected by a runbook, never answered by a person; CSAT positive.
        let mut t4 = resolved(tk(4, "identity", TicketType::Request, "2026-03-04T10:00:00Z"), "2026-03-04T10:05:00Z");
        t4.deflected = true;
        t4.csat = Some(true);
        tickets.push(t4);
        // #5 Fri 16:00, answered Mon 9 Mar 10:00 (next period): unanswered at the end of this one, FR due Fri
        // 16:30 and breached then.
        let mut t5 = tk(5, "network", TicketType::Incident, "2026-03-06T16:00:00Z");
        t5.first_response_due = Some(t("2026-03-06T16:30:00Z"));
        t5.breaches.push(ClockBreach { clock: SlaClock::FirstResponse, due: t("2026-03-06T16:30:00Z") });
        t5.first_response_at = Some(t("2026-03-09T10:00:00Z"));
        tickets.push(t5);
        // #6 Sat 7 Mar 11:00 (an alert), answered Sun 12:00 → 0 business minutes (weekend).
        let mut t6 = answered(tk(6, "network", TicketType::Incident, "2026-03-07T11:00:00Z"), "2026-03-08T12:00:00Z");
        t6.source = Source::Alert;
        tickets.push(t6);
        // #7 created last week Fri 27 Feb 15:00, answered this Mon 10:00 → 120 (Fri) + 60 (Mon) = 180; resolved
        // this Tue with a resolution breach.
        let mut t7 = resolved(
            answered(tk(7, "printing", TicketType::Request, "2026-02-27T15:00:00Z"), "2026-03-02T10:00:00Z"),
            "2026-03-03T16:00:00Z",
        );
        t7.breaches.push(ClockBreach { clock: SlaClock::Resolution, due: t("2026-03-03T09:00:00Z") });
        tickets.push(t7);
        // #8 Thu 11:00, answered 11:45 → 45, after 15 min pending on the requester (11:10–11:25): 30.
        let mut t8 = answered(tk(8, "email", TicketType::Request, "2026-03-05T11:00:00Z"), "2026-03-05T11:45:00Z");
        t8.first_response_pauses.push((t("2026-03-05T11:10:00Z"), Some(t("2026-03-05T11:25:00Z"))));
        tickets.push(t8);
        // #9 raised, answered and merged last week: it counts up to its merge, so nothing of it counts this week
        // (the merge is no resolution).
        let mut t9 = answered(tk(9, "printing", TicketType::Incident, "2026-02-27T09:30:00Z"), "2026-02-27T09:31:00Z");
        t9.merged = true;
        t9.merged_at = Some(t("2026-02-27T09:40:00Z"));
        t9.resolutions.push(t("2026-02-27T09:40:00Z"));
        t9.state = State::Closed;
        tickets.push(t9);
        // Vendor case on #3: opened Tue 13:00, vendor answered Tue 16:00 (180 wall-clock minutes), closed Thu.
        tickets[2].vendor_cases.push(VendorCaseFacts {
            vendor: "Acme ISP".into(),
            opened_at: t("2026-03-03T13:00:00Z"),
            first_vendor_response_at: Some(t("2026-03-03T16:00:00Z")),
            closed_at: Some(t("2026-03-05T08:00:00Z")),
            vendor_id: None,
            response_due: None,
            resolution_due: None,
            ended_by_us: false,
        });
        let fp = |f: &str, n: u64| FingerprintCount { fingerprint: f.into(), tickets: n };
        PeriodFacts {
            tickets,
            fingerprints_30d: vec![fp("vpn-drop", 5), fp("printer-jam", 3), fp("wifi-floor2", 2), fp("a", 3)],
        }
    }

    fn last_week() -> PeriodFacts {
        // Two printing incidents, one answered after 20 and one after 40 minutes; one resolved with FR met.
        let a = resolved(
            answered(tk(10, "printing", TicketType::Incident, "2026-02-23T09:00:00Z"), "2026-02-23T09:20:00Z"),
            "2026-02-23T12:00:00Z",
        );
        let b = answered(tk(11, "printing", TicketType::Incident, "2026-02-24T09:00:00Z"), "2026-02-24T09:40:00Z");
        let fp = |f: &str, n: u64| FingerprintCount { fingerprint: f.into(), tickets: n };
        PeriodFacts { tickets: vec![a, b], fingerprints_30d: vec![fp("vpn-drop", 3), fp("printer-jam", 1)] }
    }

    fn week() -> Period {
        Period::containing(d("2026-03-04"), PeriodKind::Week, LONDON)
    }

    fn backlog() -> BacklogFacts {
        let at = t("2026-03-09T08:00:00Z");
        let created = ["2026-03-09T07:00:00Z", "2026-03-08T08:00:00Z", "2026-03-05T08:00:00Z", "2026-02-01T00:00:00Z"];
        let mut b = BacklogFacts::from_open(at, created.map(t));
        b.unanswered_past_target = 1;
        b.previous_open = Some(6);
        b
    }

    fn report() -> Report {
        let signals = SignalFacts { patch: (190, 200), backups: (49, 50), restores: (2, 2), baseline: (8, 10) };
        build(&week(), &this_week(), &last_week(), &backlog(), &signals, &office())
    }

    #[test]
    fn periods_are_local_weeks_and_months() {
        let w = week();
        assert_eq!(w.first_day, d("2026-03-02"));
        assert_eq!((w.start, w.end), (t("2026-03-02T00:00:00Z"), t("2026-03-09T00:00:00Z")));
        assert_eq!(w.previous().start, t("2026-02-23T00:00:00Z"));
        assert_eq!(w.label(), "week of 2 Mar 2026");
        // The week of the spring change has 167 hours; midnight London = 23:00 UTC in summer.
        let dst = Period::containing(d("2026-03-29"), PeriodKind::Week, LONDON);
        assert_eq!((dst.start, dst.end), (t("2026-03-23T00:00:00Z"), t("2026-03-29T23:00:00Z")));
        let m = Period::containing(d("2026-03-31"), PeriodKind::Month, LONDON);
        assert_eq!((m.start, m.end), (t("2026-03-01T00:00:00Z"), t("2026-03-31T23:00:00Z")));
        assert_eq!(m.days().len(), 31);
        assert_eq!(m.label(), "March 2026");
        let jan = Period::containing(d("2026-01-15"), PeriodKind::Month, chrono_tz::America::New_York);
        assert_eq!(jan.previous().start, t("2025-12-01T05:00:00Z"));
        assert_eq!(jan.next().first_day, d("2026-02-01"));
        assert_eq!(jan.next().days().len(), 28);
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // n = 6: p50 rank ceil(3) = 3 (the lower middle); p90 rank ceil(5.4) = 6.
        assert_eq!(nearest_rank(&[0, 10, 30, 30, 120, 180], 50), Some(30));
        assert_eq!(nearest_rank(&[0, 10, 30, 30, 120, 180], 90), Some(180));
        // n = 10: p90 rank 9.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten, 50), Some(5));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median(&[0, 10, 30]), Some(10));
        // (10 + 20) / 2 = 15; (0 + 15) / 2 = 7.5 → 8 (halves up); 30 and 30 → 30.
        assert_eq!(median(&[0, 10, 20, 40]), Some(15));
        assert_eq!(median(&[0, 15]), Some(8));
        assert_eq!(median(&[0, 10, 30, 30, 120, 180]), Some(30));
    }

    #[test]
    fn volume_by_category_type_and_source_with_deltas() {
        let r = report();
        let v = &r.volume;
        // Created this week: #1–#6 and #8 (7); #7 and #9 were created last week.
        assert_eq!((v.total, v.previous, v.change), (7, 2, 5));
        assert_eq!((v.staff, v.alert), (6, 1));
        let cats: Vec<(&str, u64, u64, i64)> =
            v.by_category.iter().map(|c| (c.key.as_str(), c.count, c.previous, c.change)).collect();
        assert_eq!(cats, vec![("network", 3, 0, 3), ("printing", 2, 2, 0), ("email", 1, 0, 1), ("identity", 1, 0, 1)]);
        let types: Vec<(&str, u64, i64)> = v.by_type.iter().map(|c| (c.key.as_str(), c.count, c.change)).collect();
        assert_eq!(types, vec![("incident", 5, 3), ("request", 2, 2)]);
    }

    #[test]
    fn first_response_in_business_minutes_over_a_weekend() {
        let r = report();
        let f = &r.first_response;
        // Answered this week: #1 10, #2 120, #3 30, #7 180, #8 30 → sorted 10 30 30 120 180 (#6, an alert, is
        // reported apart).
        assert_eq!(f.answered, 5);
        assert_eq!(f.median_minutes, Some(30));
        assert_eq!(f.p90_minutes, Some(180));
        // Last week: 20 and 40 → median (20 + 40) / 2 = 30, p90 rank 2 = 40.
        assert_eq!((f.previous_median_minutes, f.previous_p90_minutes), (Some(30), Some(40)));
        // #5: no reply by the end of the week, due Fri 16:30.
        assert_eq!(f.unanswered_past_target, 1);
        // A Friday-afternoon ticket answered on Monday: 60 min Friday + 30 min Monday, weekend not counted.
        let cal = office();
        assert_eq!(cal.elapsed(t("2026-03-06T16:00:00Z"), t("2026-03-09T09:30:00Z")).num_minutes(), 90);
    }

    #[test]
    fn sla_compliance_per_clock_counts_any_breach() {
        let r = report();
        let fr = r.clock(SlaClock::FirstResponse).unwrap();
        // Answered this week: #1 #3 #7 #8 met, #2 breached; #5 breached Fri and still unanswered at the end (#6,
        // an alert, is reported apart).
        assert_eq!((fr.met, fr.breached), (4, 2));
        assert_eq!(fr.percent, Some(66.7));
        // Last week: #10 and #11 answered, both met.
        assert_eq!(fr.previous_percent, Some(100.0));
        let res = r.clock(SlaClock::Resolution).unwrap();
        // Resolved this week: #1 #3 #4 met, #7 breached → 3 / 4.
        assert_eq!((res.met, res.breached, res.percent), (3, 1, Some(75.0)));
        let nr = r.clock(SlaClock::NextResponse).unwrap();
        assert_eq!((nr.met, nr.breached, nr.percent), (0, 0, None));
    }

    #[test]
    fn reopen_first_contact_deflection_and_csat() {
        let r = report();
        // Resolved this week: #1, #3 (twice), #4, #7 → 4 tickets; one reopen (#3).
        assert_eq!((r.resolved.tickets, r.resolved.previous), (4, 1));
        assert_eq!((r.reopen_rate.count, r.reopen_rate.of, r.reopen_rate.percent), (1, 4, Some(25.0)));
        assert_eq!(r.reopen_rate.previous_percent, Some(0.0));
        // Not deflected: #1 (1 reply, no reopen: yes), #3 (reopened: no), #7 (1 reply, no reopen: yes) → 2 / 3.
        let fcr = &r.first_contact_resolution;
        assert_eq!((fcr.count, fcr.of, fcr.percent), (2, 3, Some(66.7)));
        assert_eq!((r.deflection.count, r.deflection.of, r.deflection.percent), (1, 4, Some(25.0)));
        assert_eq!((r.csat.count, r.csat.of, r.csat.percent, r.csat.previous_percent), (1, 2, Some(50.0), None));
    }

    #[test]
    fn a_walkthrough_resolution_is_never_in_first_contact_even_once_reopened() {
        // #33. The week of `this_week` (resolved #1 #3 #4 #7; reopened #3; first contact #1 #7 of #1 #3 #7;
        // deflected #4) plus three tickets raised by people and resolved by their walkthrough:
        //  #20 Mon 11:00, fixed by the walkthrough 11:05, "Still broken" 11:30, still open: a fix this week that
        //      was reopened, not deflected, and no technician's fix: not in first contact at all.
        //  #21 Tue 11:00, the walkthrough found nothing for IT to do 11:05, reopened 11:20, still open: the same.
        //  #22 Wed 11:00, fixed by the walkthrough 11:05, "Still broken" 11:30 (back to the queue like a hand-off);
        //      a technician replied once at 12:00 and resolved it at 12:30, not reopened since: the technician's
        //      fix, answered by it, one reply: a first-contact resolution.
        // Resolved: 4 + 3 = 7. Reopened: #3 + #20 #21 #22 (each had a fix this week that was reopened) = 4 of 7 =
        // 57.1%. First contact: #1 #7 #22 of #1 #3 #7 #22 = 3 of 4 = 75.0%. Deflected: #4 of 7 = 14.3%.
        let mut facts = this_week();
        let walked = |n: i64, created: &str, ended: &str, reopened: &str| {
            let mut f = resolved(tk(n, "endpoint", TicketType::Incident, created), ended);
            f.self_service_resolutions.push(t(ended));
            f.reopens.push(t(reopened));
            f.state = State::Open;
            f
        };
        facts.tickets.push(walked(20, "2026-03-02T11:00:00Z", "2026-03-02T11:05:00Z", "2026-03-02T11:30:00Z"));
        facts.tickets.push(walked(21, "2026-03-03T11:00:00Z", "2026-03-03T11:05:00Z", "2026-03-03T11:20:00Z"));
        let mut t22 = walked(22, "2026-03-04T11:00:00Z", "2026-03-04T11:05:00Z", "2026-03-04T11:30:00Z");
        t22.first_response_at = Some(t("2026-03-04T12:00:00Z"));
        t22.public_replies = 1;
        t22.resolutions.push(t("2026-03-04T12:30:00Z"));
        t22.state = State::Resolved;
        facts.tickets.push(t22);
        let signals = SignalFacts { patch: (190, 200), backups: (49, 50), restores: (2, 2), baseline: (8, 10) };
        let r = build(&week(), &facts, &last_week(), &backlog(), &signals, &office());
        assert_eq!(r.resolved.tickets, 7);
        assert_eq!((r.reopen_rate.count, r.reopen_rate.of, r.reopen_rate.percent), (4, 7, Some(57.1)));
        let fcr = &r.first_contact_resolution;
        assert_eq!((fcr.count, fcr.of, fcr.percent), (3, 4, Some(75.0)));
        assert_eq!((r.deflection.count, r.deflection.of, r.deflection.percent), (1, 7, Some(14.3)));
    }

    #[test]
    fn no_it_action_is_resolved_but_neither_deflected_nor_first_contact() {
        // #33: "I'll contact my provider" ends a walkthrough with nothing for IT to do.
        let signals = SignalFacts { patch: (190, 200), backups: (49, 50), restores: (2, 2), baseline: (8, 10) };
        let mut facts = this_week();
        let mut t9 = resolved(tk(9, "network", TicketType::Incident, "2026-03-04T11:00:00Z"), "2026-03-04T11:10:00Z");
        t9.no_it_action = true;
        facts.tickets.push(t9);
        let r = build(&week(), &facts, &last_week(), &backlog(), &signals, &office());
        let before = report();
        assert_eq!(r.resolved.tickets, before.resolved.tickets + 1);
        assert_eq!((r.deflection.count, r.deflection.of), (before.deflection.count, before.deflection.of + 1));
        let (fcr, was) = (&r.first_contact_resolution, &before.first_contact_resolution);
        assert_eq!((fcr.count, fcr.of), (was.count, was.of), "no person answered it: not in first contact");
    }

    #[test]
    fn backlog_recurring_vendors_and_operations() {
        let r = report();
        let b = &r.backlog;
        // Ages at Mon 9 Mar 08:00: 1 h, 24 h (exactly 1 day → 1–3 d), 4 d, 36 d.
        assert_eq!((b.open, b.previous_open, b.unanswered_past_target), (4, Some(6), 1));
        assert_eq!(
            b.age,
            AgeBuckets { under_1d: 1, from_1d_to_3d: 1, from_3d_to_7d: 1, from_7d_to_30d: 0, over_30d: 1 }
        );
        let rc = &r.recurring;
        assert_eq!((rc.count, rc.previous_count), (3, 1));
        let top: Vec<(&str, u64, u64, i64)> =
            rc.top.iter().map(|i| (i.fingerprint.as_str(), i.tickets, i.previous, i.change)).collect();
        assert_eq!(top, vec![("vpn-drop", 5, 3, 2), ("a", 3, 0, 3), ("printer-jam", 3, 1, 2)]);
        assert_eq!(
            r.vendors,
            vec![VendorStats {
                vendor: "Acme ISP".into(),
                opened: 1,
                closed: 1,
                responses: 1,
                median_response_minutes: Some(180),
                median_response_business_minutes: None,
                response_on_time: Rate::new(0, 0, None),
                response_late_tickets: vec![],
                resolution_on_time: Rate::new(0, 0, None),
                resolution_late_tickets: vec![],
                breaches: 0,
            }]
        );
        let op = &r.operations;
        assert_eq!(op.patch_compliance.percent, Some(95.0));
        assert_eq!(op.backup_success.percent, Some(98.0));
        assert_eq!(op.restore_tests.percent, Some(100.0));
        assert_eq!(op.security_baseline.percent, Some(80.0));
    }

    #[test]
    fn per_day_series_for_the_chart() {
        let r = report();
        assert_eq!(r.days.len(), 7);
        let mon = &r.days[0];
        assert_eq!(mon.date, d("2026-03-02"));
        // Created Monday: #1 #2 printing. Answered Monday: #1 10, #7 180 → median (10 + 180) / 2 = 95.
        assert_eq!((mon.created, mon.by_category.get("printing")), (2, Some(&2)));
        assert_eq!((mon.first_responses, mon.first_response_median_minutes), (2, Some(95)));
        let sun = &r.days[6];
        // Sunday: only the alert #6 was acknowledged, which is no staff first response.
        assert_eq!((sun.created, sun.first_responses, sun.first_response_median_minutes), (0, 0, None));
        assert_eq!(r.days.iter().map(|d| d.created).sum::<u64>(), r.volume.total);
    }

    #[test]
    fn empty_period_gives_zeros_and_nulls() {
        let empty = PeriodFacts::default();
        let at = t("2026-03-09T08:00:00Z");
        let r = build(
            &week(),
            &empty,
            &empty,
            &BacklogFacts::from_open(at, []),
            &SignalFacts::default(),
            &Calendar::always(),
        );
        assert_eq!(r.volume.total, 0);
        assert_eq!(r.first_response.median_minutes, None);
        assert!(r.sla.iter().all(|c| c.percent.is_none() && c.met + c.breached == 0));
        assert_eq!(r.reopen_rate.percent, None);
        assert_eq!(r.days.len(), 7);
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
        let text = r.text(LONDON);
        assert!(text.contains("Tickets: 0 (±0 vs last week)"), "{text}");
        assert!(text.contains("no tickets answered"), "{text}");
    }

    #[test]
    fn json_keys_are_stable() {
        let v = serde_json::to_value(report()).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "alerts",
                "as_of",
                "backlog",
                "csat",
                "csat_response",
                "days",
                "deflection",
                "first_contact_resolution",
                "first_response",
                "generated_at",
                "major_incidents",
                "operations",
                "period",
                "recurring",
                "reopen_rate",
                "resolved",
                "schema_version",
                "sla",
                "sla_by_category",
                "sla_by_priority",
                "top_requesters",
                "trend",
                "vendors",
                "volume",
                "workload"
            ]
        );
        assert_eq!(v["period"]["kind"], "week");
        assert_eq!(v["period"]["start"], "2026-03-02T00:00:00Z");
        assert_eq!(v["sla"][0]["clock"], "first_response");
        assert_eq!(v["first_response"]["median_minutes"], 30);
        assert_eq!(v["days"][0]["date"], "2026-03-02");
        assert_eq!(
            v["reopen_rate"],
            serde_json::json!({"count": 1, "of": 4, "percent": 25.0, "previous_percent": 0.0})
        );
    }

    #[test]
    fn trend_shows_four_earlier_weeks_then_this_one() {
        let r = report();
        let labels: Vec<&str> = r.trend.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "week of 2 Feb 2026",
                "week of 9 Feb 2026",
                "week of 16 Feb 2026",
                "week of 23 Feb 2026",
                "week of 2 Mar 2026"
            ]
        );
        let row = |p: &TrendPoint| {
            (
                p.tickets,
                p.first_response_median_minutes,
                p.first_response_sla_percent,
                p.resolution_sla_percent,
                p.backlog_open,
            )
        };
        // Nothing before the week of 23 Feb; that week is the previous period (2 tickets, median 30, 6 open as the
        // backlog facts say); this week matches the headline figures (7 tickets, median 30, 4 open).
        for p in &r.trend[..3] {
            assert_eq!(row(p), (0, None, None, None, 0), "{}", p.label);
        }
        let prev = &r.trend[3];
        assert_eq!((prev.tickets, prev.first_response_median_minutes, prev.backlog_open), (2, Some(30), 6));
        assert_eq!(prev.first_response_sla_percent, r.clock(SlaClock::FirstResponse).unwrap().previous_percent);
        let now = &r.trend[4];
        assert_eq!((now.tickets, now.staff, now.alert, now.first_response_median_minutes), (7, 6, 1, Some(30)));
        assert_eq!(now.first_response_sla_percent, r.clock(SlaClock::FirstResponse).unwrap().percent);
        assert_eq!(now.resolution_sla_percent, r.clock(SlaClock::Resolution).unwrap().percent);
        assert_eq!(now.backlog_open, r.backlog.open);
        // A month's report shows the three months before it.
        let m = Period::containing(d("2026-03-04"), PeriodKind::Month, LONDON);
        let r = build(&m, &this_week(), &last_week(), &backlog(), &SignalFacts::default(), &office());
        let labels: Vec<&str> = r.trend.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["December 2025", "January 2026", "February 2026", "March 2026"]);
        assert_eq!(trend_start(&m), t("2025-12-01T00:00:00Z"));
    }

    #[test]
    fn alerts_are_reported_apart_from_the_staff_figures() {
        let before = report();
        let mut this = this_week();
        // #12, an alert: raised Tue 10:00, resolved by monitoring 10:30 before anyone acknowledged it, fired again
        // Wed 09:00 (reopened), acknowledged (claimed) 09:10 — after its 30-minute target, breached 10:30 Tue —
        // and resolved 09:20. It would move every staff figure below if it were counted there.
        let mut a = tk(12, "network", TicketType::Incident, "2026-03-03T10:00:00Z");
        a.source = Source::Alert;
        a.first_response_due = Some(t("2026-03-03T10:30:00Z"));
        a.resolutions = vec![t("2026-03-03T10:30:00Z"), t("2026-03-04T09:20:00Z")];
        a.reopens = vec![t("2026-03-04T09:00:00Z")];
        a.first_response_at = Some(t("2026-03-04T09:10:00Z"));
        a.breaches.push(ClockBreach { clock: SlaClock::FirstResponse, due: t("2026-03-04T09:00:00Z") });
        a.owner = Some("sam".into());
        a.state = State::Resolved;
        this.tickets.push(a);
        let r = build(&week(), &this, &last_week(), &backlog(), &SignalFacts::default(), &office());
        // Staff figures as without it.
        assert_eq!(r.first_response, before.first_response);
        assert_eq!(r.sla, before.sla);
        assert_eq!(r.reopen_rate, before.reopen_rate);
        assert_eq!(r.deflection, before.deflection);
        assert_eq!(r.csat_response, before.csat_response);
        assert_eq!(r.resolved, before.resolved);
        assert_eq!(r.sla_by_category, before.sla_by_category);
        // Its owner's workload counts it as owned and resolved, with no first-response minutes.
        assert_eq!(
            r.workload,
            vec![Workload { technician: "sam".into(), owned: 1, resolved: 1, median_first_response_minutes: None }]
        );
        // #6 (acknowledged Sunday, 0 business minutes, met) and #12 (Tue 10:00 → Wed 09:10: 7h Tue + 10 min = 430,
        // breached): median (0 + 430) / 2 = 215; 1 of 2 on time; #12 resolved twice, the first time by itself,
        // the last after it was acknowledged: one ticket resolved, not by itself, one flap.
        let al = &r.alerts;
        assert_eq!((al.raised, al.previous_raised, al.acknowledged), (2, 0, 2));
        assert_eq!(al.median_acknowledge_minutes, Some(215));
        assert_eq!((al.acknowledged_on_time.count, al.acknowledged_on_time.of), (1, 2));
        assert_eq!(al.acknowledge_breached_tickets, vec![TicketNo(12)]);
        assert_eq!((al.resolved, al.auto_resolved, al.reopened), (1, 0, 1));
        let text = r.text(LONDON);
        assert!(
            text.contains(
                "• Alerts (apart from the staff figures): 2 raised (+2 vs last week); 2 acknowledged, median 3h 35m, \
                 on time 50.0% (missed #12); 1 resolved, 0 of them before anyone acknowledged them; fired again \
                 after resolving 1"
            ),
            "{text}"
        );
    }

    /// Tickets on the office calendar, vendor `acme`'s cases on its own (here the same office hours).
    struct WithVendor(Calendar);

    impl ClockRules for WithVendor {
        fn calendar(&self, _: &TicketFacts) -> &Calendar {
            &self.0
        }
        fn has_next_response(&self, _: &TicketFacts) -> bool {
            true
        }
        fn vendor_calendar(&self, id: &str) -> Option<&Calendar> {
            (id == "acme").then_some(&self.0)
        }
    }

    #[test]
    fn vendor_response_on_its_contract_calendar_against_its_target() {
        let mut this = this_week();
        // #3's case (Tue 13:00 → 16:00: 180 wall and 180 business minutes) is now acme's, due Tue 14:00: late.
        // #8 gets a case opened Fri 6 Mar 16:00, due Fri 16:30, answered Mon 9 Mar 10:00 (next week: not here,
        // but its target fell due this week unanswered: late here too). #1 gets one opened Mon 09:30, due 13:30,
        // answered 10:00 (30 min): on time.
        let case = |opened: &str, due: &str, answered: Option<&str>| VendorCaseFacts {
            vendor: "Acme ISP".into(),
            opened_at: t(opened),
            first_vendor_response_at: answered.map(t),
            closed_at: None,
            vendor_id: Some("acme".into()),
            response_due: Some(t(due)),
            resolution_due: None,
            ended_by_us: false,
        };
        this.tickets[2].vendor_cases[0].vendor_id = Some("acme".into());
        this.tickets[2].vendor_cases[0].response_due = Some(t("2026-03-03T14:00:00Z"));
        this.tickets[7].vendor_cases.push(case(
            "2026-03-06T16:00:00Z",
            "2026-03-06T16:30:00Z",
            Some("2026-03-09T10:00:00Z"),
        ));
        this.tickets[0].vendor_cases.push(case(
            "2026-03-02T09:30:00Z",
            "2026-03-02T13:30:00Z",
            Some("2026-03-02T10:00:00Z"),
        ));
        // Resolution targets: #3's Wed 13:00 (closed Thu 08:00: late), #1's Wed 09:30 (still open: late).
        this.tickets[2].vendor_cases[0].resolution_due = Some(t("2026-03-04T13:00:00Z"));
        this.tickets[0].vendor_cases[0].resolution_due = Some(t("2026-03-04T09:30:00Z"));
        let r = build(&week(), &this, &last_week(), &backlog(), &SignalFacts::default(), &WithVendor(office()));
        let v = &r.vendors[0];
        assert_eq!((v.opened, v.closed, v.responses), (3, 1, 2));
        assert_eq!((v.resolution_on_time.count, v.resolution_on_time.of), (0, 2));
        assert_eq!(v.resolution_late_tickets, vec![TicketNo(1), TicketNo(3)]);
        // #3's case closed Wed 10:00 instead, before its target: met (1 of 2) when the vendor fixed it; left out (0
        // of 1) when we ended it (#35: the requester withdrew, or it was resolved while the vendor never answered).
        let mut early = this.clone();
        early.tickets[2].vendor_cases[0].closed_at = Some(t("2026-03-04T10:00:00Z"));
        let vendor = |f: &PeriodFacts| {
            let r = build(&week(), f, &last_week(), &backlog(), &SignalFacts::default(), &WithVendor(office()));
            (r.vendors[0].resolution_on_time.count, r.vendors[0].resolution_on_time.of)
        };
        assert_eq!(vendor(&early), (1, 2));
        early.tickets[2].vendor_cases[0].ended_by_us = true;
        assert_eq!(vendor(&early), (0, 1));
        // Ended by us after its target had passed: still late.
        early.tickets[2].vendor_cases[0].closed_at = Some(t("2026-03-05T08:00:00Z"));
        assert_eq!(vendor(&early), (0, 2));
        // Breaches: #3 and #8 missed the response target, #1 and #3 the resolution target.
        assert_eq!(v.breaches, 4);
        assert!(r.text(LONDON).contains("late on #1 #3; 4 contract breaches"), "{}", r.text(LONDON));
        // Answered this week: 30 and 180 minutes (wall and business alike on weekdays) → median (30 + 180) / 2.
        assert_eq!((v.median_response_minutes, v.median_response_business_minutes), (Some(105), Some(105)));
        assert_eq!((v.response_on_time.count, v.response_on_time.of), (1, 3));
        assert_eq!(v.response_late_tickets, vec![TicketNo(3), TicketNo(8)]);
        // Next week, #8's answer Mon 10:00 after Fri 16:00: 3,960 wall minutes, 120 on the contract's hours, late.
        let next = Period::containing(d("2026-03-09"), PeriodKind::Week, LONDON);
        let b = BacklogFacts::from_facts(next.end, false, &this.tickets);
        let r2 = build(&next, &this, &this, &b, &SignalFacts::default(), &WithVendor(office()));
        let v2 = &r2.vendors[0];
        assert_eq!((v2.median_response_minutes, v2.median_response_business_minutes), (Some(3960), Some(120)));
        assert_eq!(
            (v2.response_on_time.count, v2.response_on_time.of, v2.response_late_tickets.clone()),
            (0, 1, vec![TicketNo(8)])
        );
        assert!(
            r.text(LONDON).contains(
                "Vendor Acme ISP: 3 opened, 1 closed, median first response 1h 45m (1h 45m on its contract hours); \
                 answered within the contract's target 33.3% (1/3), late on #3 #8"
            ),
            "{}",
            r.text(LONDON)
        );
        // Without the vendor directory: wall-clock minutes only.
        assert_eq!(report().vendors[0].median_response_business_minutes, None);
    }

    #[test]
    fn a_resolution_a_reopen_continued_counts_once_where_the_cycle_ends() {
        // Raised Fri 6 Mar 09:00 (resolution target 8 business hours: Mon 9 Mar 09:00), resolved Fri 16:30 (7.5h),
        // reopened Mon 08:00 within the reopen window (same cycle), breached Mon 09:00, resolved Mon 11:00.
        let mut f = resolved(tk(20, "printing", TicketType::Incident, "2026-03-06T09:00:00Z"), "2026-03-06T16:30:00Z");
        f.reopens.push(t("2026-03-09T08:00:00Z"));
        f.resolutions.push(t("2026-03-09T11:00:00Z"));
        f.breaches.push(ClockBreach { clock: SlaClock::Resolution, due: t("2026-03-09T09:00:00Z") });
        let facts = PeriodFacts { tickets: vec![f], fingerprints_30d: vec![] };
        let res = |p: &Period| {
            let b = BacklogFacts::from_facts(p.end, false, &facts.tickets);
            let r = build(p, &facts, &facts, &b, &SignalFacts::default(), &office());
            let c = r.clock(SlaClock::Resolution).unwrap().clone();
            (c.met, c.breached)
        };
        // Week of 2 Mar: the Friday fix did not end the cycle (it was reopened into it): nothing counted.
        assert_eq!(res(&week()), (0, 0));
        let next = Period::containing(d("2026-03-09"), PeriodKind::Week, LONDON);
        assert_eq!(res(&next), (0, 1));
        assert_eq!(res(&Period::containing(d("2026-03-09"), PeriodKind::Month, LONDON)), (0, 1));
    }

    #[test]
    fn a_flapping_alert_is_one_ticket_resolved() {
        let mut this = this_week();
        // #13: fired Mon 09:00 and resolved by itself three times (09:10, 09:40, 10:10), nobody acknowledged it;
        // its 30-minute acknowledgement target fell due 09:30.
        let mut a = tk(13, "network", TicketType::Incident, "2026-03-02T09:00:00Z");
        a.source = Source::Alert;
        a.first_response_due = Some(t("2026-03-02T09:30:00Z"));
        a.resolutions = ["2026-03-02T09:10:00Z", "2026-03-02T09:40:00Z", "2026-03-02T10:10:00Z"].map(t).to_vec();
        a.reopens = ["2026-03-02T09:20:00Z", "2026-03-02T10:00:00Z"].map(t).to_vec();
        a.breaches.push(ClockBreach { clock: SlaClock::FirstResponse, due: t("2026-03-02T09:30:00Z") });
        a.state = State::Resolved;
        this.tickets.retain(|t| t.source != Source::Alert);
        this.tickets.push(a);
        let r = build(&week(), &this, &last_week(), &backlog(), &SignalFacts::default(), &office());
        let al = &r.alerts;
        assert_eq!((al.raised, al.resolved, al.auto_resolved, al.reopened), (1, 1, 1, 2));
        assert_eq!((al.acknowledged_on_time.count, al.acknowledged_on_time.of), (0, 1));
        let text = r.text(LONDON);
        assert!(text.contains("none acknowledged, on time 0.0% (missed #13); 1 resolved, 1 of them before"), "{text}");
    }

    #[test]
    fn top_requesters_are_people_with_two_or_more_tickets() {
        let mut this = this_week();
        let mut prev = last_week();
        let who = |f: &mut TicketFacts, key: &str, name: Option<&str>| {
            f.requester = Some(key.into());
            f.requester_name = name.map(Into::into);
        };
        // bob raised #1 #2 #3 this week (and #10 last week); carol #4 only; #6 is an alert from "monitoring"
        // and #8 is dan's (facts stored before names were kept: the key's id is shown), and #7 (created last
        // week) is dan's too.
        for i in 0..3 {
            who(&mut this.tickets[i], "slack:U1", Some("Bob"));
        }
        who(&mut this.tickets[3], "slack:U2", Some("Carol"));
        who(&mut this.tickets[5], "alerts:am", Some("monitoring"));
        who(&mut this.tickets[4], "slack:U3", None);
        who(&mut this.tickets[7], "slack:U3", None);
        who(&mut this.tickets[6], "slack:U3", None);
        who(&mut prev.tickets[0], "slack:U1", Some("Bob"));
        let r = build(&week(), &this, &prev, &backlog(), &SignalFacts::default(), &office());
        assert_eq!(
            r.top_requesters,
            vec![
                Requester { requester: "Bob".into(), tickets: 3, previous: 1 },
                Requester { requester: "U3".into(), tickets: 2, previous: 0 },
            ]
        );
        assert!(r.text(LONDON).contains("Top requesters: Bob 3 (1 last week), U3 2 (0 last week)"));
        assert!(report().top_requesters.is_empty());
    }

    #[test]
    fn text_summary_leads_with_headline_numbers() {
        let text = report().text(LONDON);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "IT helpdesk report, week of 2 Mar 2026 (Europe/London)");
        assert_eq!(lines[1], "• Tickets: 7 (+5 vs last week) — 6 from staff, 1 from alerts");
        assert_eq!(
            lines[2],
            "• First response: median 30 min (±0 vs 30 min), 90% within 3h 00m (business hours, 5 answered); \
             1 unanswered past target (#5)"
        );
        // Breached tickets are named, to drill into: #2 and #5 missed first response, #7 resolution.
        assert!(text.contains("• Past target: first response #2 #5; resolution #7"), "{text}");
        assert!(
            lines[3].starts_with("• SLA met: first response 66.7% (4/6, −33.3 pts), resolution 75.0% (3/4, −25.0 pts)"),
            "{}",
            lines[3]
        );
        assert!(text.contains("Backlog: 4 open (−2 vs last week); 1 older than 30 days"), "{text}");
        assert!(text.contains("Vendor Acme ISP: 1 opened, 1 closed, median first response 3h 00m"), "{text}");
        assert!(text.contains("Recurring issues (3+ tickets in 30 days): 3 (1 vs last week) — vpn-drop 5 (+2)"));
        assert!(
            text.contains(
                "Trend, the 4 weeks before → this week: tickets 0, 0, 0, 2 → 7; first response median –, –, –, 30 min \
                 → 30 min; first response on time –, –, –, 100% → 67%; resolved on time –, –, –, 100% → 75%; open at \
                 the end 0, 0, 0, 6 → 4"
            ),
            "{text}"
        );
        assert!(text.ends_with("As of Mon 9 Mar 2026 08:00 GMT"), "{text}");
    }

    #[test]
    fn facts_from_a_ticket_and_its_events() {
        use crate::core::ids::{Place, Platform, UserRef};
        use crate::core::ticket::{NewTicket, Origin};
        let u = |n: &str| UserRef::new(Platform::Console, n, n);
        let (mut tk, mut ev) = Ticket::open(NewTicket {
            number: TicketNo(1),
            text: "vpn down".into(),
            requester: u("alice"),
            origin: Origin { platform: Platform::Console, place: Place::default() },
            category: "network".into(),
            intent: None,
            confidence: 0.9,
            ticket_type: TicketType::Incident,
            priority: Priority::P2,
            at: t("2026-03-02T09:00:00Z"),
        });
        ev.extend(tk.reply(&u("sam"), "looking", t("2026-03-02T09:05:00Z")).unwrap());
        ev.extend(tk.requester_message(&u("alice"), "still down", t("2026-03-02T09:10:00Z")).unwrap());
        ev.extend(tk.resolve(&u("sam"), None, false, t("2026-03-02T10:00:00Z")).unwrap());
        ev.extend(tk.reopen(&u("alice"), None, t("2026-03-02T11:00:00Z")).unwrap());
        ev.extend(tk.resolve(&u("sam"), None, false, t("2026-03-02T12:00:00Z")).unwrap());
        let f = TicketFacts::from_ticket(&tk, &ev);
        assert_eq!(f.resolutions, vec![t("2026-03-02T10:00:00Z"), t("2026-03-02T12:00:00Z")]);
        assert_eq!(f.reopens, vec![t("2026-03-02T11:00:00Z")]);
        assert_eq!((f.public_replies, f.next_response_ran), (1, true));
        assert_eq!(f.first_response_at, Some(t("2026-03-02T09:05:00Z")));
        assert!(f.resolved_at_instant(t("2026-03-02T13:00:00Z")));
        assert!(!f.resolved_at_instant(t("2026-03-02T11:30:00Z")));
        // The history kept on the ticket gives the same facts without the event log.
        assert_eq!(TicketFacts::of(&tk), Some(f.clone()));
        // A ticket stored before the history was kept has none: reports read its events.
        let mut old = tk.clone();
        old.kpi = None;
        assert_eq!(TicketFacts::of(&old), None);
        assert_eq!(TicketFacts::from_ticket(&old, &ev), f);
    }
}

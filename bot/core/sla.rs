//! SLA policies: which targets apply to a ticket, and when its clocks fall due.
//!
//! Policies are an ordered list; the first whose conditions match the ticket wins, and the last one must have no
//! conditions (the default). Durations are measured on the policy's calendar; the built-in `24x7` calendar counts
//! every minute.

use super::calendar::{Calendar, Calendars};
use super::duration::{Span, parse_span};
use super::ids::TicketNo;
use super::ticket::{Priority, SlaClock, State, Ticket, TicketType, Timestamp};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// One policy as written in `deskbot.toml` under `[[sla.policy]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    /// Match only these categories (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Match only these priorities (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<Priority>,
    /// Match only these ticket types (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<TicketType>,
    /// Time to the first human public reply, e.g. `30m`.
    pub first_response: String,
    /// Time to answer each requester message that follows a technician reply (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<String>,
    /// Time to resolution, e.g. `2d`.
    pub resolution: String,
    /// Calendar the durations are counted in (`24x7` or a `[calendars.NAME]`).
    #[serde(default = "default_calendar")]
    pub calendar: String,
    /// Whether waiting on a vendor pauses the resolution clock (waiting on the requester always pauses).
    #[serde(default)]
    pub pause_on_vendor: bool,
    /// Percentages of each target at which the owner (first) and the lead (second) are warned; 100 is the breach.
    #[serde(default = "default_warn")]
    pub warn: Vec<u8>,
}

fn default_warn() -> Vec<u8> {
    vec![75, 90]
}

fn default_calendar() -> String {
    "24x7".to_string()
}

impl PolicySpec {
    fn is_default(&self) -> bool {
        self.categories.is_empty() && self.priorities.is_empty() && self.types.is_empty()
    }
    fn matches(&self, category: &str, priority: Priority, ty: TicketType) -> bool {
        (self.categories.is_empty() || self.categories.iter().any(|c| c == category))
            && (self.priorities.is_empty() || self.priorities.contains(&priority))
            && (self.types.is_empty() || self.types.contains(&ty))
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub spec: PolicySpec,
    pub first_response: Span,
    pub next_response: Option<Span>,
    pub resolution: Span,
    pub calendar: Calendar,
}

/// The policy list, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Policies(Vec<Policy>);

/// Targets computed for one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    pub policy: String,
    pub first_response: Span,
    /// `None` while the clock is paused.
    pub first_response_due: Option<Timestamp>,
    pub resolution: Span,
    pub resolution_due: Option<Timestamp>,
    pub next_response_due: Option<Timestamp>,
}

/// A scheduled SLA warning or breach for one clock of one ticket. `key` is unique per ticket, clock, cycle and
/// percentage; firing is committed with it as the dedupe key, so each fires once per cycle even across restarts and
/// replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub ticket: TicketNo,
    pub clock: SlaClock,
    /// 75, 90 … or 100 for the breach.
    pub percent: u8,
    pub at: Timestamp,
    /// When the clock's target falls due.
    pub due: Timestamp,
    pub key: String,
}

impl Policies {
    /// Validates specs: durations parse, calendars exist, and the list ends with a default policy.
    pub fn new(specs: &[PolicySpec], calendars: &Calendars) -> Result<Policies, String> {
        let mut out = vec![];
        for (i, s) in specs.iter().enumerate() {
            let at = format!("sla.policy[{i}] ({})", s.name);
            let first_response = parse_span(&s.first_response).map_err(|e| format!("{at}.first_response: {e}"))?;
            let resolution = parse_span(&s.resolution).map_err(|e| format!("{at}.resolution: {e}"))?;
            let next_response = match &s.next_response {
                Some(d) => Some(parse_span(d).map_err(|e| format!("{at}.next_response: {e}"))?),
                None => None,
            };
            if s.warn.iter().any(|&w| w == 0 || w >= 100) {
                return Err(format!("{at}.warn: percentages must be between 1 and 99"));
            }
            let calendar = calendars.get(&s.calendar).cloned().ok_or_else(|| {
                let known: Vec<_> = calendars.names().collect();
                format!("{at}.calendar: unknown calendar `{}` (known: {})", s.calendar, known.join(", "))
            })?;
            let targets = [
                ("first_response", Some(first_response)),
                ("next_response", next_response),
                ("resolution", Some(resolution)),
            ];
            for (field, span) in targets {
                let Some(span) = span else { continue };
                if span.wall() <= Duration::zero() {
                    return Err(format!("{at}.{field}: must be more than zero"));
                }
                calendar.check_span(span).map_err(|e| format!("{at}.{field}: {e}"))?;
            }
            if s.warn.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("{at}.warn: list the percentages in increasing order, e.g. [75, 90]"));
            }
            out.push(Policy { spec: s.clone(), first_response, next_response, resolution, calendar });
        }
        match out.last() {
            Some(p) if p.spec.is_default() => Ok(Policies(out)),
            Some(p) => Err(format!(
                "sla.policy: the last policy (`{}`) has conditions; add a default policy with no categories, priorities or types at the end",
                p.spec.name
            )),
            None => Err("sla.policy: no policies; at least a default policy is needed".into()),
        }
    }

    /// The last, unconditional policy.
    pub fn default_policy(&self) -> &Policy {
        self.0.last().expect("validated non-empty")
    }

    pub fn pick(&self, category: &str, priority: Priority, ty: TicketType) -> &Policy {
        self.0
            .iter()
            .find(|p| p.spec.matches(category, priority, ty))
            .unwrap_or_else(|| self.0.last().expect("validated non-empty"))
    }

    /// Targets for a ticket, recomputed from its creation and its pauses (so a change of priority or category
    /// re-applies the new policy from the original start). A clock that is paused now has no due instant.
    pub fn targets(&self, t: &Ticket) -> Targets {
        let p = self.pick(&t.category, t.priority, t.ticket_type);
        let (user, resolution) = pauses(p, t);
        let ack = first_response_pauses(t, &user);
        let cycle_start = t.resolution_start();
        let fixed = t.fixed_resolution_due();
        Targets {
            policy: p.spec.name.clone(),
            first_response: p.first_response,
            first_response_due: p.calendar.due_with_pauses(t.created_at, p.first_response, &ack),
            resolution: p.resolution,
            resolution_due: fixed.or_else(|| p.calendar.due_with_pauses(cycle_start, p.resolution, &resolution)),
            next_response_due: match (t.awaiting_reply_since, p.next_response) {
                (Some(since), Some(d)) => p.calendar.due_with_pauses(since, d, &user),
                _ => None,
            },
        }
    }

    /// The warnings and breaches still ahead for `t`'s running clocks (none for a stopped or paused clock). None at
    /// all while the requester is in the self-service walkthrough the ticket opened with (#33 probe): the queue has
    /// not been shown it yet. At the hand-off they are scheduled again, and those already past are sent at once.
    pub fn timers(&self, t: &Ticket) -> Vec<Timer> {
        if t.in_self_service() {
            return vec![];
        }
        let p = self.pick(&t.category, t.priority, t.ticket_type);
        let (user, resolution) = pauses(p, t);
        let ack = first_response_pauses(t, &user);
        let mut clocks = vec![];
        if t.state.is_active() {
            if t.first_response_at.is_none() {
                clocks.push((SlaClock::FirstResponse, t.created_at, p.first_response, &ack, "1".to_string()));
            }
            if let (Some(since), Some(d)) = (t.awaiting_reply_since, p.next_response) {
                clocks.push((SlaClock::NextResponse, since, d, &user, since.timestamp_millis().to_string()));
            }
            let start = t.resolution_start();
            let cycle = t.cycle_start.unwrap_or(t.created_at).timestamp_millis().to_string();
            clocks.push((SlaClock::Resolution, start, p.resolution, &resolution, cycle));
        }
        let mut out = vec![];
        for (clock, start, target, pauses, cycle) in clocks {
            // A joiner's ticket is due by a fixed instant (before the first day), whatever the pauses.
            let fixed = t.fixed_resolution_due().filter(|_| clock == SlaClock::Resolution);
            let Some(due) = fixed.or_else(|| p.calendar.due_with_pauses(start, target, pauses)) else { continue };
            // Warning points are percentages of the business time this target stands for from this start.
            let whole = match fixed {
                Some(d) => p.calendar.elapsed(start, d),
                None => p.calendar.span_length(start, target),
            };
            for &pct in p.spec.warn.iter().chain(std::iter::once(&100)) {
                let at = if pct == 100 {
                    due
                } else {
                    let part = Span::time(Duration::seconds(whole.num_seconds() * i64::from(pct) / 100));
                    match p.calendar.due_with_pauses(start, part, pauses) {
                        Some(at) => at,
                        None => continue,
                    }
                };
                out.push(Timer {
                    ticket: t.number,
                    clock,
                    percent: pct,
                    at,
                    due,
                    key: format!("sla:{}:{}:{cycle}:{pct}", t.number.0, clock.as_str()),
                });
            }
        }
        out
    }

    /// Recomputes and stores the due instants on the ticket. The first-response due instant is frozen once the
    /// first response happened, and the resolution due instant once resolved.
    pub fn apply(&self, t: &mut Ticket) -> Targets {
        let tg = self.targets(t);
        t.sla_policy = Some(tg.policy.clone());
        t.next_response_due = tg.next_response_due;
        if t.first_response_at.is_none() {
            t.first_response_due = tg.first_response_due;
        }
        if t.state.is_active() {
            t.resolution_due = tg.resolution_due;
        }
        tg
    }
}

/// A ticket's pauses as the response clocks see them (waiting on the requester or on an approver's decision, and
/// resolved/closed time before a reopen) and as the resolution clock sees them (also waiting on a vendor if the
/// policy says so). Time spent resolved counts on no clock.
type Intervals = Vec<(Timestamp, Option<Timestamp>)>;
fn pauses(p: &Policy, t: &Ticket) -> (Intervals, Intervals) {
    let user = t
        .pauses
        .iter()
        .filter(|x| x.approval || matches!(x.on, State::PendingUser | State::Resolved | State::Closed))
        .map(|x| (x.from, x.to))
        .collect();
    let resolution = t
        .pauses
        .iter()
        .filter(|x| x.on != State::PendingVendor || p.spec.pause_on_vendor)
        .map(|x| (x.from, x.to))
        .collect();
    (user, resolution)
}

/// The pauses of the first-response clock. On an alert ticket that clock is the acknowledgement, anchored at the
/// first firing: time spent resolved between flaps does not push it back (a P1 that fires, resolves and fires
/// again for hours is still to be acknowledged within its target of the first firing).
fn first_response_pauses(t: &Ticket, user: &Intervals) -> Intervals {
    if t.alert.is_none() {
        return user.clone();
    }
    t.pauses.iter().filter(|x| x.on == State::PendingUser).map(|x| (x.from, x.to)).collect()
}

/// The defaults shipped in `deskbot config print-default`.
pub fn default_policies() -> Vec<PolicySpec> {
    let p = |name: &str, pr: Priority, fr: &str, res: &str| PolicySpec {
        name: name.into(),
        next_response: Some(fr.into()),
        warn: default_warn(),
        categories: vec![],
        priorities: vec![pr],
        types: vec![],
        first_response: fr.into(),
        resolution: res.into(),
        calendar: default_calendar(),
        pause_on_vendor: false,
    };
    // An urgent problem is answered around the clock; the rest in the office's working hours.
    let office = |p: PolicySpec| PolicySpec { calendar: super::calendar::OFFICE.to_string(), ..p };
    vec![
        p("p1", Priority::P1, "30m", "4h"),
        office(p("p2", Priority::P2, "1h", "8h")),
        office(p("p3", Priority::P3, "4h", "2d")),
        office(PolicySpec { priorities: vec![], ..p("default", Priority::P4, "8h", "5d") }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Warning and breach instants on a business-hours calendar, every one computed by hand (#38: they were
    /// checked only through replay snapshots whose values came from this code).
    #[test]
    fn warning_points_and_dues_on_office_hours_with_a_holiday() {
        use super::super::calendar::CalendarSpec;
        use super::super::ids::{Place, Platform, UserRef};
        use super::super::ticket::{NewTicket, Origin};
        let day = vec!["09:00-17:00".to_string()];
        let spec = CalendarSpec {
            timezone: "Europe/London".into(),
            mon: day.clone(),
            tue: day.clone(),
            wed: day.clone(),
            thu: day.clone(),
            fri: day,
            holidays: vec!["2026-03-09".into()],
            ..Default::default()
        };
        let cals = Calendars::new(&[("office".to_string(), spec)].into_iter().collect()).unwrap();
        let mut specs = default_policies();
        specs.insert(
            0,
            PolicySpec {
                name: "office".into(),
                categories: vec!["printing".into()],
                priorities: vec![],
                types: vec![],
                first_response: "4h".into(),
                next_response: Some("2h".into()),
                resolution: "2d".into(),
                calendar: "office".into(),
                warn: vec![75, 90],
                ..specs[0].clone()
            },
        );
        let ps = Policies::new(&specs, &cals).unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let user = UserRef::new(Platform::Console, "alice", "alice");
        let (mut t, _) = Ticket::open(NewTicket {
            number: TicketNo(1),
            text: "printer jammed".into(),
            requester: user,
            origin: Origin { platform: Platform::Console, place: Place::default() },
            category: "printing".into(),
            intent: None,
            confidence: 0.9,
            ticket_type: TicketType::Incident,
            priority: Priority::P3,
            // Friday 6 March 2026, 15:00 in London (GMT); Monday 9 March is a holiday.
            at: at("2026-03-06T15:00:00Z"),
        });
        let points = |t: &Ticket| -> Vec<(SlaClock, u8, Timestamp, Timestamp)> {
            let mut v: Vec<_> = ps.timers(t).into_iter().map(|x| (x.clock, x.percent, x.at, x.due)).collect();
            v.sort_by_key(|x| (x.2, x.1));
            v
        };
        // First response 4h: Fri 15–17 (2h), Tue 09–11 → due Tue 11:00; 75% = 3h → Tue 10:00; 90% = 3h36m → 10:36.
        // Resolution 2 working days: Wed 15:00 (Fri, then Tue and Wed are the next open days); its business
        // length is Fri 2h + Tue 8h + Wed 6h = 16h: 75% = 12h → Wed 11:00, 90% = 14h24m → Wed 13:24.
        let fr_due = at("2026-03-10T11:00:00Z");
        let res_due = at("2026-03-11T15:00:00Z");
        use SlaClock::{FirstResponse as Fr, NextResponse as Nr, Resolution as Res};
        assert_eq!(
            points(&t),
            vec![
                (Fr, 75, at("2026-03-10T10:00:00Z"), fr_due),
                (Fr, 90, at("2026-03-10T10:36:00Z"), fr_due),
                (Fr, 100, fr_due, fr_due),
                (Res, 75, at("2026-03-11T11:00:00Z"), res_due),
                (Res, 90, at("2026-03-11T13:24:00Z"), res_due),
                (Res, 100, res_due, res_due),
            ]
        );
        // Answered Tue 10:30; the requester writes again at 16:00: next response 2h = Tue 16–17 + Wed 09–10 → Wed
        // 10:00; 75% = 1h30m → Wed 09:30; 90% = 1h48m → Wed 09:48. The first-response clock has stopped.
        t.first_response_at = Some(at("2026-03-10T10:30:00Z"));
        t.awaiting_reply_since = Some(at("2026-03-10T16:00:00Z"));
        let nr_due = at("2026-03-11T10:00:00Z");
        let got = points(&t);
        assert_eq!(
            got[..3],
            [
                (Nr, 75, at("2026-03-11T09:30:00Z"), nr_due),
                (Nr, 90, at("2026-03-11T09:48:00Z"), nr_due),
                (Nr, 100, nr_due, nr_due),
            ]
        );
        assert!(got.iter().all(|x| x.0 != Fr), "{got:?}");
        // apply() writes the same dues on the ticket.
        ps.apply(&mut t);
        assert_eq!((t.next_response_due, t.resolution_due), (Some(nr_due), Some(res_due)));
    }

    /// The same on a calendar in a zone that is not UTC, across the start of daylight saving time, with a pause
    /// while waiting on the requester and a priority raised to a policy with other warning points: every instant
    /// computed by hand below (#38).
    #[test]
    fn new_york_office_across_dst_with_a_pause_and_a_raised_priority() {
        use super::super::calendar::CalendarSpec;
        use super::super::ids::{Place, Platform, UserRef};
        use super::super::ticket::{NewTicket, Origin};
        let day = vec!["09:00-17:00".to_string()];
        let spec = CalendarSpec {
            timezone: "America/New_York".into(),
            mon: day.clone(),
            tue: day.clone(),
            wed: day.clone(),
            thu: day.clone(),
            fri: day,
            holidays: vec!["2026-03-09".into()],
            ..Default::default()
        };
        let cals = Calendars::new(&[("ny".to_string(), spec)].into_iter().collect()).unwrap();
        let policy = |name: &str, priorities: Vec<Priority>, fr: &str, nr: &str, res: &str, warn: Vec<u8>| PolicySpec {
            name: name.into(),
            categories: vec!["network".into()],
            priorities,
            types: vec![],
            first_response: fr.into(),
            next_response: Some(nr.into()),
            resolution: res.into(),
            calendar: "ny".into(),
            pause_on_vendor: false,
            warn,
        };
        let mut specs = vec![
            policy("ny-p2", vec![Priority::P2], "2h", "1h", "1d", vec![50, 80]),
            policy("ny", vec![], "4h", "2h", "2d", vec![75, 90]),
        ];
        specs.extend(default_policies());
        let ps = Policies::new(&specs, &cals).unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let alice = UserRef::new(Platform::Console, "alice", "alice");
        let sam = UserRef::new(Platform::Console, "sam", "sam");
        // Friday 6 March 2026, 14:20 EST (UTC-5) = 19:20Z. Clocks go forward on Sunday 8 March (EDT, UTC-4), and
        // Monday 9 March is a holiday: the next open hours are Tuesday 09:00-17:00 EDT = 13:00Z-21:00Z.
        let (mut t, _) = Ticket::open(NewTicket {
            number: TicketNo(7),
            text: "vpn drops every few minutes".into(),
            requester: alice.clone(),
            origin: Origin { platform: Platform::Console, place: Place::default() },
            category: "network".into(),
            intent: None,
            confidence: 0.9,
            ticket_type: TicketType::Incident,
            priority: Priority::P3,
            at: at("2026-03-06T19:20:00Z"),
        });
        let points = |t: &Ticket| -> Vec<(SlaClock, u8, Timestamp, Timestamp)> {
            let mut v: Vec<_> = ps.timers(t).into_iter().map(|x| (x.clock, x.percent, x.at, x.due)).collect();
            v.sort_by_key(|x| (x.0.as_str(), x.1));
            v
        };
        use SlaClock::{FirstResponse as Fr, NextResponse as Nr, Resolution as Res};
        // Policy `ny` (P3). First response 4h: Fri 14:20-17:00 is 2h40m, 1h20m more on Tuesday → 10:20 EDT = 14:20Z.
        // 75% = 3h → Tue 09:20 EDT = 13:20Z; 90% = 3h36m → Tue 09:56 EDT = 13:56Z.
        // Resolution 2d: 5h20m into Friday's hours, at the same position two open days on (Tue, Wed) → Wed 14:20
        // EDT = 18:20Z. Its business length is Fri 2h40m + Tue 8h + Wed 5h20m = 16h: 75% = 12h → Wed 10:20 EDT =
        // 14:20Z; 90% = 14h24m → Wed 12:44 EDT = 16:44Z.
        let (fr_due, res_due) = (at("2026-03-10T14:20:00Z"), at("2026-03-11T18:20:00Z"));
        assert_eq!(
            points(&t),
            vec![
                (Fr, 75, at("2026-03-10T13:20:00Z"), fr_due),
                (Fr, 90, at("2026-03-10T13:56:00Z"), fr_due),
                (Fr, 100, fr_due, fr_due),
                (Res, 75, at("2026-03-11T14:20:00Z"), res_due),
                (Res, 90, at("2026-03-11T16:44:00Z"), res_due),
                (Res, 100, res_due, res_due),
            ]
        );
        let tg = ps.apply(&mut t);
        assert_eq!(tg.policy, "ny");
        assert_eq!((t.first_response_due, t.resolution_due, t.next_response_due), (Some(fr_due), Some(res_due), None));

        // Tue 10:00 EDT (14:00Z), in time: sam asks a question and waits on alice, who answers at 15:00 EDT (19:00Z).
        t.reply(&sam, "which office are you in?", at("2026-03-10T14:00:00Z")).unwrap();
        t.pending(State::PendingUser, &sam, at("2026-03-10T14:00:00Z")).unwrap();
        // While waiting, the resolution clock is paused: no due instant, no timers.
        assert_eq!(ps.targets(&t).resolution_due, None);
        assert_eq!(points(&t), vec![]);
        t.requester_message(&alice, "the Boston one", at("2026-03-10T19:00:00Z")).unwrap();
        assert_eq!(t.state, State::Open);
        // The 5 business hours paused push the resolution: Wed 14:20 EDT + 5h = Wed 14:20-17:00 (2h40m) and Thu
        // 09:00-11:20 EDT = 15:20Z. 75%: Wed 10:20 EDT + 5h = 15:20 EDT = 19:20Z; 90%: Wed 12:44 EDT + 5h = Wed
        // 12:44-17:00 (4h16m) and Thu 09:44 EDT = 13:44Z. Next response 2h from Tue 15:00 EDT → 17:00 EDT = 21:00Z;
        // 75% = 1h30m → 16:30 EDT = 20:30Z; 90% = 1h48m → 16:48 EDT = 20:48Z. The first-response clock stopped.
        let (nr_due, res_due) = (at("2026-03-10T21:00:00Z"), at("2026-03-12T15:20:00Z"));
        assert_eq!(
            points(&t),
            vec![
                (Nr, 75, at("2026-03-10T20:30:00Z"), nr_due),
                (Nr, 90, at("2026-03-10T20:48:00Z"), nr_due),
                (Nr, 100, nr_due, nr_due),
                (Res, 75, at("2026-03-11T19:20:00Z"), res_due),
                (Res, 90, at("2026-03-12T13:44:00Z"), res_due),
                (Res, 100, res_due, res_due),
            ]
        );
        ps.apply(&mut t);
        assert_eq!(
            (t.first_response_due, t.next_response_due, t.resolution_due),
            (Some(fr_due), Some(nr_due), Some(res_due))
        );
        let keys: Vec<String> = ps.timers(&t).into_iter().filter(|x| x.clock == Res).map(|x| x.key).collect();

        // Raised to P2 at Tue 15:30 EDT: policy `ny-p2` re-applies from the original start, with its own warning
        // points (50%, 80%). Resolution 1d: 5h20m into Tuesday → 14:20 EDT, + the 5h pause = Tue 14:20-17:00 and
        // Wed 09:00-11:20 EDT = 15:20Z. Length Fri 2h40m + Tue 5h20m = 8h: 50% = 4h → Tue 10:20 EDT, + 5h → 15:20
        // EDT = 19:20Z; 80% = 6h24m → Tue 12:44 EDT, + 5h → Wed 09:44 EDT = 13:44Z. Next response 1h from 15:00
        // EDT → 16:00 EDT = 20:00Z; 50% → 15:30 EDT = 19:30Z; 80% = 48m → 15:48 EDT = 19:48Z.
        t.set_priority(Priority::P2, &sam, at("2026-03-10T19:30:00Z")).unwrap();
        let tg = ps.apply(&mut t);
        assert_eq!(tg.policy, "ny-p2");
        let (nr_due, res_due) = (at("2026-03-10T20:00:00Z"), at("2026-03-11T15:20:00Z"));
        assert_eq!(
            points(&t),
            vec![
                (Nr, 50, at("2026-03-10T19:30:00Z"), nr_due),
                (Nr, 80, at("2026-03-10T19:48:00Z"), nr_due),
                (Nr, 100, nr_due, nr_due),
                (Res, 50, at("2026-03-10T19:20:00Z"), res_due),
                (Res, 80, at("2026-03-11T13:44:00Z"), res_due),
                (Res, 100, res_due, res_due),
            ]
        );
        // The first-response due instant stays as it was when answered; the others follow the new policy.
        assert_eq!(
            (t.first_response_due, t.next_response_due, t.resolution_due),
            (Some(fr_due), Some(nr_due), Some(res_due))
        );
        // The resolution cycle is the same one, so a point that already fired under either policy keeps its key.
        let cycle = at("2026-03-06T19:20:00Z").timestamp_millis();
        assert_eq!(keys[2], format!("sla:7:resolution:{cycle}:100"));
        let after: Vec<String> = ps.timers(&t).into_iter().filter(|x| x.clock == Res).map(|x| x.key).collect();
        assert_eq!(after[2], keys[2], "the breach key is the same whatever the policy");
    }

    #[test]
    fn first_match_wins_and_default_must_be_last() {
        let cals = Calendars::new(&Default::default()).unwrap();
        let ps = Policies::new(&default_policies(), &cals).unwrap();
        assert_eq!(ps.pick("printing", Priority::P1, TicketType::Incident).spec.name, "p1");
        assert_eq!(ps.pick("printing", Priority::P4, TicketType::Request).spec.name, "default");
        let mut specs = default_policies();
        specs.pop();
        let e = Policies::new(&specs, &cals).unwrap_err();
        assert!(e.contains("add a default policy"), "{e}");
        assert!(Policies::new(&[], &cals).is_err());
    }

    #[test]
    fn zero_unordered_and_too_long_targets_are_refused() {
        let cals = Calendars::new(&Default::default()).unwrap();
        let mut specs = default_policies();
        specs[0].first_response = "0m".into();
        assert!(Policies::new(&specs, &cals).unwrap_err().contains("p1).first_response: must be more than zero"));
        let mut specs = default_policies();
        specs[1].warn = vec![90, 75];
        assert!(Policies::new(&specs, &cals).unwrap_err().contains("increasing order"));
        let mut specs = default_policies();
        specs[2].resolution = "800d".into();
        assert!(Policies::new(&specs, &cals).unwrap_err().contains("more than two years"));
    }

    #[test]
    fn bad_duration_names_policy_and_field() {
        let mut specs = default_policies();
        specs[1].resolution = "5x".into();
        let cals = Calendars::new(&Default::default()).unwrap();
        let e = Policies::new(&specs, &cals).unwrap_err();
        assert!(e.starts_with("sla.policy[1] (p2).resolution:"), "{e}");
        let mut specs = default_policies();
        specs[0].calendar = "shop".into();
        let e = Policies::new(&specs, &cals).unwrap_err();
        assert!(e.starts_with("sla.policy[0] (p1).calendar: unknown calendar `shop`"), "{e}");
    }
}

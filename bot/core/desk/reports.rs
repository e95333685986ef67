//! Manager summaries in chat: a period's KPIs built from the store, posted with the chart; `/helpdesk report`;
//! and the scheduled weekly post, sent exactly once per period (its commit carries the period as dedupe key, so a
//! restart or a second replica never posts it twice).

use super::{Desk, DeskError, Flow, Work};
use crate::core::message::{Envelope, Image, MessageKind, Outbound};
use crate::core::report::{self, BacklogFacts, Period, PeriodFacts, PeriodKind, Report, TicketFacts};
use crate::core::roles::Role;
use crate::core::ticket::Timestamp;
use crate::store::{Commit, Committed, Conversation, ConversationWrite, Store, StoreError};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// Conversation key of the weekly-report schedule.
const SCHEDULE_KEY: &str = "schedule:weekly-report";

/// When and where the weekly summary is posted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSchedule {
    /// The chat platform the channel is on.
    pub platform: crate::core::ids::Platform,
    pub channel: String,
    pub weekday: Weekday,
    pub time: NaiveTime,
    pub timezone: Tz,
}

impl ReportSchedule {
    /// The first posting instant strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Timestamp {
        let local = after.with_timezone(&self.timezone).date_naive();
        for d in 0..15 {
            let day = local + Duration::days(d);
            if day.weekday() != self.weekday {
                continue;
            }
            let at = self.timezone.from_local_datetime(&day.and_time(self.time)).earliest();
            if let Some(at) = at.map(|t| t.with_timezone(&chrono::Utc))
                && at > after
            {
                return at;
            }
        }
        after + Duration::days(7)
    }
}

impl<S: Store> Desk<S> {
    /// Builds the report for the period of `kind` containing `date` (in the reports' time zone).
    pub async fn report(&self, kind: PeriodKind, date: NaiveDate) -> Result<Report, DeskError> {
        let tz = self.settings.report_timezone;
        let period = Period::containing(date, kind, tz);
        let prev = period.previous();
        let now = self.clock.now();
        if now < period.start {
            let starts = period.start.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string();
            let label = period.label();
            let label = if kind == PeriodKind::Month { format!("month of {label}") } else { label };
            return Err(DeskError::FuturePeriod { label, starts });
        }
        let started = std::time::Instant::now();
        // One small facts value per ticket touched since the first period of the trend began (the previous
        // period, and the 4 weeks or 3 months the trend shows) or active now (so every ticket open at any of those
        // periods' ends is there to rebuild its backlog), up to the re-contact window after the
        // period (a deflection followed by the same problem again); tickets stored before facts were kept are
        // read in full, with their events. Recurring counts come from a GROUP BY. Every KPI filters on its own
        // timestamps, so both periods take the whole set.
        let mut all = vec![];
        let mut old = vec![];
        for (n, _, facts) in
            self.store.facts_touched(report::trend_start(&period), period.end + report::RECONTACT_WINDOW).await?
        {
            match facts {
                Some(f) => all.push(f),
                None => old.push(n),
            }
        }
        if !old.is_empty() {
            let mut events = self.store.events_of(&old).await?;
            for n in old {
                if let Some(t) = self.store.ticket(n).await? {
                    let events = events.remove(&n).unwrap_or_default();
                    all.push(TicketFacts::from_ticket(&t, &events));
                }
            }
        }
        tracing::debug!(tickets = all.len(), ms = started.elapsed().as_millis() as u64, "report: facts read");
        let counts = |v: Vec<(String, i64)>| -> Vec<report::FingerprintCount> {
            v.into_iter()
                .map(|(fingerprint, n)| report::FingerprintCount {
                    fingerprint,
                    tickets: u64::try_from(n).unwrap_or(0),
                })
                .collect()
        };
        let fingerprints_before = counts(self.store.fingerprint_counts(prev.end - Duration::days(30), prev.end).await?);
        let fingerprints_this =
            counts(self.store.fingerprint_counts(period.end - Duration::days(30), period.end).await?);
        let before = PeriodFacts { tickets: all.clone(), fingerprints_30d: fingerprints_before };
        let this = PeriodFacts { tickets: all, fingerprints_30d: fingerprints_this };
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "report: recurring counts read");
        // The running period's backlog is the live one; a past period's is rebuilt as at its end.
        let live = now < period.end;
        let mut backlog = BacklogFacts::from_facts(if live { now } else { period.end }, live, &this.tickets);
        backlog.previous_open = Some(BacklogFacts::from_facts(prev.end.min(now), false, &this.tickets).ages.total());
        let signals = crate::core::signals::facts(&self.store.signals(period.start, period.end).await?);
        // Each ticket is measured on its own SLA policy's calendar and targets.
        let rules = report::DeskRules { policies: &self.policies, vendors: &self.settings.vendors };
        let mut report = report::build(&period, &this, &before, &backlog, &signals, &rules);
        report.generated_at = now;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "report: built");
        Ok(report)
    }

    /// The report as a chat message with the chart attached.
    fn report_message(&self, r: &Report, mut m: Outbound) -> Outbound {
        m.text = r.text(self.settings.report_timezone);
        m.report = serde_json::to_value(r).ok().map(Box::new);
        match crate::chart::render_png(r, 1200, 675) {
            Ok(png) => {
                m.image = Some(Image { name: format!("helpdesk-{}.png", r.period.label.replace(' ', "-")), png })
            }
            Err(e) => tracing::warn!(error = %e, "report chart could not be drawn; posting text only"),
        }
        m
    }

    /// `/helpdesk report [week|month] [DATE]` (managers, leads and admins).
    pub(super) async fn on_helpdesk(&self, env: &Envelope, args: &str, w: &mut Work) -> Result<Flow, DeskError> {
        let mut words = args.split_whitespace();
        match words.next() {
            Some("report") => {}
            Some("vendors") => return self.vendor_directory(env, w).await,
            _ => {
                return Ok(Flow::Refused(
                    "usage: /helpdesk report [week|month] [YYYY-MM-DD], or /helpdesk vendors".to_string().into(),
                ));
            }
        }
        let role = self.role_of(&env.actor);
        if !matches!(role, Role::Manager | Role::Lead | Role::Admin) {
            return Ok(Flow::Refused(format!("only managers and leads can see reports (you are a {role})").into()));
        }
        let mut kind = PeriodKind::Week;
        let mut date = self.clock.now().with_timezone(&self.settings.report_timezone).date_naive();
        for w in words {
            match w {
                "week" => kind = PeriodKind::Week,
                "month" => kind = PeriodKind::Month,
                d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                    Ok(d) => date = d,
                    Err(_) => {
                        return Ok(Flow::Refused(format!("`{d}` is not week, month or a date like 2026-03-02").into()));
                    }
                },
            }
        }
        let r = match self.report(kind, date).await {
            Ok(r) => r,
            Err(e @ DeskError::FuturePeriod { .. }) => return Ok(Flow::Refused(e.to_string().into())),
            Err(e) => return Err(e),
        };
        let m = Outbound::to_user(&env.actor, &env.place, "").kind(MessageKind::Reply);
        w.send(self.report_message(&r, m));
        Ok(Flow::Ok)
    }

    /// Posts the weekly summary when it falls due; keeps the schedule's next instant in the conversations table.
    pub(super) async fn weekly_report(&self, now: Timestamp) -> Result<usize, DeskError> {
        let Some(s) = self.settings.report_schedule.clone() else { return Ok(0) };
        let existing = self.store.conversations_of("system").await?.into_iter().find(|c| c.key == SCHEDULE_KEY);
        let Some(conv) = existing else {
            let first = Conversation {
                key: SCHEDULE_KEY.into(),
                owner: "system".into(),
                ticket: None,
                data: "{}".into(),
                deadline: Some(s.next_after(now)),
                version: 0,
            };
            let c = Commit { at: Some(now), conversations: vec![ConversationWrite::Put(first)], ..Commit::default() };
            return match self.commit(c).await {
                Ok(_) | Err(StoreError::ConversationConflict(_)) => Ok(0),
                Err(e) => Err(e.into()),
            };
        };
        let Some(due) = conv.deadline.filter(|d| *d <= now) else { return Ok(0) };
        // Report on the week that ended before the posting instant.
        let last_week = (due - Duration::days(7)).with_timezone(&s.timezone).date_naive();
        let r = self.report(PeriodKind::Week, last_week).await?;
        let mut next = conv.clone();
        next.deadline = Some(s.next_after(now));
        let m = Outbound::to_channel(s.platform, &s.channel, "");
        let mut c = Commit {
            dedupe_key: Some(format!("report:week:{}", r.period.start.to_rfc3339())),
            at: Some(now),
            conversations: vec![ConversationWrite::Put(next.clone())],
            ..Commit::default()
        };
        c.outbox.push(self.report_message(&r, m));
        match self.commit(c).await {
            Ok(Committed::Written) => Ok(1),
            Ok(Committed::Duplicate) => {
                // Already posted (another replica, or before a crash): only move the schedule on.
                let c =
                    Commit { at: Some(now), conversations: vec![ConversationWrite::Put(next)], ..Commit::default() };
                match self.commit(c).await {
                    Ok(_) | Err(StoreError::ConversationConflict(_)) => Ok(0),
                    Err(e) => Err(e.into()),
                }
            }
            Err(StoreError::ConversationConflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

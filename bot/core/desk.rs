//! The helpdesk service: turns one inbound [`Envelope`] into ticket changes, events and outbound messages, and
//! commits them atomically through the [`Store`] port. Platform-neutral; time comes from the [`Clock`].

use super::clock::Clock;
use super::command::{self, Command};
use super::duration::human;
use super::ids::{Place, Platform, TicketNo, UserRef};
use super::message::{Audience, Body, Button, Envelope, MessageKind, Outbound};
use super::roles::Role;
use super::runbook::{RunbookSet, WalkRecord};
use super::sla::{self, Policies};
use super::ticket::{
    Breach, Event, EventKind, NewTicket, Origin, Priority, SlaClock, State, Ticket, TicketError, Timestamp,
};
use super::triage::{Classification, Classifier, Decision};
use crate::store::{Commit, Committed, DueTimer, Store, StoreError, TicketFilter};
use std::collections::BTreeMap;

mod alerts;
mod approval;
mod conversation;
mod dated;
mod notices;
mod people;
mod reports;
mod silence;
mod vendor;
mod walk;
mod workflow;

use conversation::TypedClose;

pub use alerts::{AlertOutcome, AlertSettings};
use chrono_tz::Tz;
pub use reports::ReportSchedule;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Longest message text we store on a ticket; longer text is cut and marked.
pub const MAX_STORED_TEXT: usize = 16 * 1024;

/// Settings the desk needs, taken from the configuration.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    /// The helpdesk channel: every message there is read.
    pub helpdesk_channel: String,
    /// Where new-ticket cards go for technicians.
    pub queue_channel: String,
    /// Where SLA breaches are announced.
    pub escalation_channel: String,
    /// A reopen this long after resolution starts a new resolution cycle.
    pub reopen_new_cycle_after: chrono::Duration,
    /// Time zone for times shown to people.
    pub timezone: Tz,
    /// When a ticket opens without asking, when deskbot asks, and when it leaves a message alone.
    pub triage: super::triage::Policy,
    /// New tickets one person may open per hour.
    pub max_new_tickets_per_hour: i64,
    /// New tickets one source (platform) may open per minute, everyone together; 0: no budget.
    pub intake_budget_per_minute: i64,
    /// Role per user key (`platform:id`).
    pub roles: HashMap<String, Role>,
    /// Values for `{{ placeholders }}` in runbooks.
    pub runbook_vars: BTreeMap<String, String>,
    /// The weekly summary post, if configured.
    pub report_schedule: Option<ReportSchedule>,
    /// Time zone of the reports' weeks and months (`[reports] timezone`, default: `timezone`).
    pub report_timezone: Tz,
    /// The vendor directory.
    pub vendors: Arc<super::vendor::Vendors>,
    /// The mail relay for email vendors (used by the vendor worker).
    pub smtp: super::vendor::SmtpConfig,
    /// How monitoring alerts become tickets.
    pub alerts: AlertSettings,
    /// Windows that tie a person's messages into one conversation (bursts, follow-ups, majors).
    pub conversation: super::conversation::ConversationSettings,
}

/// Why an event could not be handled (as opposed to a refusal, which is a reply to the user).
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Optimistic retries ran out under heavy contention on one ticket.
    #[error("ticket {0} is changing too fast; try again")]
    Busy(TicketNo),
    /// A report asked for a period that has not begun: there is nothing to report yet.
    #[error("the {label} has not started yet (it starts {starts}); ask for this week or month, or an earlier one")]
    FuturePeriod { label: String, starts: String },
}

/// What happened to an inbound event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// Already handled before (same dedupe key): nothing was done.
    Duplicate,
}

/// The helpdesk core.
pub struct Desk<S> {
    store: S,
    clock: Arc<dyn Clock>,
    /// The shipped classifier (rules plus the model trained on the intents' examples).
    base: Arc<Classifier>,
    /// The classifier in use: `base` retrained with the office's corrections; swapped by [`Desk::learn`].
    classifier: Arc<RwLock<Arc<Classifier>>>,
    /// The office's ticket history, trained on together with stored corrections.
    history: Arc<Vec<(String, String)>>,
    /// Set when a commit stored new training examples.
    needs_learning: std::sync::atomic::AtomicBool,
    policies: Policies,
    runbooks: Arc<RunbookSet>,
    settings: DeskSettings,
    /// Roles given at run time (replay `@role`, console `/as NAME ROLE`), on top of the configured ones.
    overrides: RwLock<HashMap<String, Role>>,
    /// Commands and button presses per person in the current minute (see [`COMMANDS_PER_MINUTE`]).
    commands: std::sync::Mutex<HashMap<String, (Timestamp, u32)>>,
    /// One lock per alert group being handled (see `alerts.rs`).
    alert_locks: alerts::GroupLocks,
    /// Display names of people on platforms that send free-form names (see [`people`]).
    people: RwLock<people::Directory>,
}

/// Commands, button presses and messages in tickets' threads one person may send in a minute; beyond it they are
/// dropped, with one notice, so that a script of a thousand `/ticket claim 1` (or of a thousand messages in their own
/// ticket's thread) cannot flood a ticket's history, its owner or the chat.
pub const COMMANDS_PER_MINUTE: u32 = 60;

/// The most people one message about leavers or joiners opens a ticket each for (probe R: a list of six became
/// one nameless ticket); more than this is a list for a technician to take in by hand.
pub(crate) const MAX_PEOPLE_PER_MESSAGE: usize = 12;

/// How often the queue channel is told that a source's intake budget is spent, at most.
/// A status question with nothing open is answered in the channel too when triage is at least this sure it names an
/// IT thing ("still waiting for my new laptop").
const STATUS_NOTHING_OPEN_FROM: f64 = 0.5;

const INTAKE_NOTICE_EVERY: chrono::Duration = chrono::Duration::minutes(10);

/// A refusal identical to one recorded on the same ticket for the same person within this window is not recorded
/// again (the reply is still sent).
const DENIED_FOLD_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Collects one event's changes before they are committed.
#[derive(Default)]
struct Work {
    commit: Commit,
    /// Walkthroughs ended by this work, with what they collected: kept on their tickets once every change to
    /// them is made (see [`Work::settle`]), whichever order the ticket and the ending were written in.
    ended_walks: Vec<(TicketNo, WalkRecord)>,
}

impl Work {
    fn new(commit: Commit) -> Self {
        Work { commit, ended_walks: Vec::new() }
    }
    /// Puts each ended walkthrough's record on its ticket as this commit writes it (a ticket the commit does not
    /// write keeps what it had). Called when a walkthrough ends, for a ticket written already, and once more when
    /// the work is done, for one written after.
    fn settle(&mut self) {
        let c = &mut self.commit;
        for (n, record) in &self.ended_walks {
            if let Some(t) = c.updates.iter_mut().rev().chain(c.inserts.iter_mut().rev()).find(|t| t.number == *n) {
                t.walk_record = Some(record.clone());
            }
        }
    }
    fn events(&mut self, n: TicketNo, ev: Vec<Event>) {
        self.commit.events.extend(ev.into_iter().map(|e| (n, e)));
    }
    fn send(&mut self, m: Outbound) {
        self.commit.outbox.push(m);
    }
}

/// "within 4h", or "4h of office hours" when the target runs on a calendar that stretches it (a ticket raised at
/// 16:30 on Friday is due at 12:00 on Monday: "within 4h" next to Monday's date read as a mistake).
fn target_phrase(target: &crate::core::duration::Span, due: Timestamp, now: Timestamp) -> String {
    let wall = chrono::Duration::days(target.days) + target.time;
    if due - now > wall + chrono::Duration::minutes(1) {
        format!("{target} of office hours")
    } else {
        format!("within {target}")
    }
}

/// A refusal or a mistake by the user: shown to them, nothing else changes (except an audit event). A refusal of a
/// command naming a ticket is recorded as `denied` on that ticket (see [`Desk::decide`]); `audit` names another
/// ticket or action to record it under (a thread message, a walkthrough button).
struct Refusal {
    text: String,
    audit: Option<(TicketNo, String)>,
}

impl Refusal {
    /// A refusal because of the ticket's state (owned already, not waiting for approval, an illegal move). Recorded
    /// like every refusal of a command naming a ticket.
    fn state(text: String) -> Self {
        Refusal { text, audit: None }
    }

    /// A refusal recorded as `denied` on ticket `n`, for `action`.
    fn audited(text: String, n: TicketNo, action: &str) -> Self {
        Refusal { text, audit: Some((n, action.to_string())) }
    }
}

impl From<TicketError> for Refusal {
    fn from(e: TicketError) -> Self {
        Refusal::state(e.to_string())
    }
}

impl From<String> for Refusal {
    fn from(text: String) -> Self {
        Refusal { text, audit: None }
    }
}

enum Flow {
    Ok,
    Refused(Refusal),
}

/// Whether a status question names a word that ticket `t` names ("any news on the printer?" and "the printer on floor
/// 2 is jammed").
fn names_what_it_names(text: &str, t: &Ticket) -> bool {
    let said = super::conversation::words(&format!("{} {}", t.title, t.description));
    super::conversation::subject_words(text).iter().any(|w| w.chars().count() >= 3 && said.contains(w))
}

impl<S: Store> Desk<S> {
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        classifier: Arc<Classifier>,
        policies: Policies,
        runbooks: Arc<RunbookSet>,
        settings: DeskSettings,
    ) -> Self {
        Desk {
            store,
            clock,
            base: classifier.clone(),
            classifier: Arc::new(RwLock::new(classifier)),
            history: Arc::new(vec![]),
            needs_learning: std::sync::atomic::AtomicBool::new(true),
            policies,
            runbooks,
            settings,
            overrides: RwLock::new(HashMap::new()),
            commands: std::sync::Mutex::new(HashMap::new()),
            alert_locks: alerts::GroupLocks::default(),
            people: RwLock::new(people::Directory::default()),
        }
    }

    pub fn runbooks(&self) -> &RunbookSet {
        &self.runbooks
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn settings(&self) -> &DeskSettings {
        &self.settings
    }

    /// Trains triage on the office's ticket history as well (at the next [`Desk::learn`]).
    pub fn with_history(mut self, history: Vec<(String, String)>) -> Self {
        self.history = Arc::new(history);
        self
    }

    /// The classifier in use now.
    pub fn classifier(&self) -> Arc<Classifier> {
        self.classifier.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Retrains triage on the stored corrections (technicians' `/ticket category`) if any arrived since the last
    /// time. With `background`, training runs on a blocking thread and the new model is swapped in when ready, so
    /// message handling never waits for it; without, it completes before returning (replay, for determinism).
    pub async fn learn(&self, background: bool) -> Result<(), DeskError> {
        use std::sync::atomic::Ordering;
        if !self.needs_learning.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let mut examples = (*self.history).clone();
        examples.extend(self.store.training_examples().await?);
        if examples.is_empty() {
            return Ok(());
        }
        let base = self.base.clone();
        let slot = self.classifier.clone();
        let train = move || match base.with_extra(&examples) {
            Ok(c) => {
                *slot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c);
                tracing::info!(examples = examples.len(), "triage retrained with stored corrections");
            }
            Err(e) => tracing::warn!(error = %e, "triage retraining skipped"),
        };
        if background {
            tokio::task::spawn_blocking(train);
        } else {
            train();
        }
        Ok(())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Gives `user` a role for the rest of this run (replay `@role`, console `/as NAME ROLE`).
    pub fn set_role(&self, user: &UserRef, role: Role) {
        self.overrides.write().unwrap_or_else(|e| e.into_inner()).insert(user.key(), role);
    }

    pub fn role_of(&self, user: &UserRef) -> Role {
        let key = user.key();
        if let Some(r) = self.overrides.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return *r;
        }
        self.settings.roles.get(&key).copied().unwrap_or_default()
    }

    /// Handles one inbound event: decide, then commit everything it changes in one transaction.
    /// Retries on a concurrent change to the same ticket, re-reading it each time.
    pub async fn handle(&self, env: &Envelope) -> Result<Handled, DeskError> {
        // Someone sharing a display name with another person is named with their platform id too.
        let renamed = self.known_as(env).await?;
        let env = renamed.as_ref().unwrap_or(env);
        let mut last_conflict = TicketNo(0);
        for attempt in 0..8 {
            // A redelivery is caught by the commit (its dedupe key is written first, in the same transaction), so
            // the first attempt does not spend a read on asking. A retry asks: the conflict may have been with
            // another delivery of this very event.
            if attempt > 0 && self.store.seen(&env.dedupe_key).await? {
                return Ok(Handled::Duplicate);
            }
            let now = self.clock.now();
            let mut w =
                Work::new(Commit { dedupe_key: Some(env.dedupe_key.clone()), at: Some(now), ..Commit::default() });
            if let Err(e) = self.decide(env, now, &mut w).await {
                // Deciding again about an event handled before may fail where the first time did not; what was
                // handled stays handled.
                if self.store.seen(&env.dedupe_key).await? {
                    return Ok(Handled::Duplicate);
                }
                return Err(e);
            }
            self.urgent_walks_to_queue(now, &mut w).await?;
            w.settle();
            self.schedule(&mut w.commit);
            let learned = !w.commit.training.is_empty();
            // Highest first: a number can only be taken back while it is the last one handed out.
            let numbers: Vec<TicketNo> = w.commit.inserts.iter().map(|t| t.number).rev().collect();
            let result = self.commit(w.commit).await;
            let refused = matches!(
                result,
                Ok(Committed::Duplicate) | Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_))
            );
            if refused {
                // A redelivery (a Slack mention arrives as two events) or a lost race: its numbers go back, so
                // the office does not see gaps in its ticket numbers.
                for n in numbers {
                    self.store.unused_ticket_number(n).await;
                }
            }
            match result {
                Ok(Committed::Written) => {
                    if learned {
                        self.needs_learning.store(true, std::sync::atomic::Ordering::Release);
                    }
                    return Ok(Handled::Done);
                }
                Ok(Committed::Duplicate) => return Ok(Handled::Duplicate),
                Err(StoreError::Conflict(n)) => last_conflict = n,
                // Another replica wrote the same conversation row first (a question answered, a notice posted):
                // decide again with what it wrote.
                Err(StoreError::ConversationConflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Busy(last_conflict))
    }

    /// Commits one unit of work. Messages addressed to a monitoring source (the "requester" of an alert ticket)
    /// are dropped here, once for every path: nobody would read them.
    ///
    /// It also keeps ticket cards current: on platforms that edit messages in place (Slack, Teams, Discord), every
    /// changed ticket gets its card re-sent (the adapter updates the posted card instead of posting a new one).
    async fn commit(&self, c: Commit) -> Result<Committed, StoreError> {
        self.commit_with(c, true).await
    }

    /// Commits the work of a timer that fell due (its dedupe key is the timer's): true when written; when another
    /// replica (or an earlier run) already did it, the timer is dropped and false is returned. `refresh_cards` as
    /// in [`Desk::commit_with`].
    async fn commit_timer(&self, c: Commit, timer_key: &str, refresh_cards: bool) -> Result<bool, DeskError> {
        match self.commit_with(c, refresh_cards).await? {
            Committed::Written => Ok(true),
            Committed::Duplicate => {
                self.store.drop_timer(timer_key).await?;
                Ok(false)
            }
        }
    }

    /// [`Desk::commit`]; without `refresh_cards`, changed tickets get no card beyond those in the commit (alert
    /// notifications post theirs at most once a minute).
    async fn commit_with(&self, mut c: Commit, refresh_cards: bool) -> Result<Committed, StoreError> {
        let now = c.at.unwrap_or_else(|| self.clock.now());
        for t in c.updates.iter().filter(|_| refresh_cards) {
            let has_card = c.outbox.iter().any(|m| m.kind == MessageKind::Card && m.ticket == Some(t.number));
            if t.origin.platform.edits_in_place() && !has_card {
                c.outbox.push(self.card(t, now));
            }
        }
        c.outbox.retain(|m| !matches!(&m.to, Audience::User { user } if super::alerts::is_monitor(user)));
        // Quoted text is escaped for the platform it goes to; the HTTP callback keeps the marks, since it sends the
        // text both escaped and plain (see `adapters::http::Callback`).
        for m in c.outbox.iter_mut().filter(|m| m.platform != Platform::Http) {
            m.text = super::message::Markup::of(m.platform).render(&m.text);
        }
        self.store.commit(c).await
    }

    /// Clocks follow every change (priority, category, pauses), recomputed from the original start, and each
    /// changed ticket's SLA timers are replaced.
    ///
    /// A warning whose instant passed while the ticket was resolved (it was reopened since) is stale and is not
    /// set: only its breach, if that too has passed, is still announced. A recompute that puts warning points in
    /// the past (a priority raised, say) keeps only the highest of them per clock, due now: one notice, not three,
    /// and not labelled late. Warnings missed while deskbot was down still fire late (see [`Desk::fire`]).
    fn schedule(&self, c: &mut Commit) {
        let now = c.at.unwrap_or_else(|| self.clock.now());
        let walks = &c.conversations;
        for t in c.inserts.iter_mut().chain(c.updates.iter_mut()) {
            // The ticket's walkthrough starting or ending in this commit starts or releases its clocks (#33 probe).
            match walk::written(walks, t.number) {
                Some(true) => t.begin_self_service(now),
                Some(false) => t.end_self_service(now),
                None => {}
            }
            self.policies.apply(t);
            let reopened_at =
                t.pauses.iter().filter(|p| matches!(p.on, State::Resolved | State::Closed)).filter_map(|p| p.to).max();
            let mut timers = self.policies.timers(t);
            if let Some(r) = reopened_at {
                // An alert's acknowledgement keeps running while it is resolved (flapping never moves it): a
                // warning point passed meanwhile is announced below (the highest, once) when it fires again.
                let acknowledgement = |tm: &sla::Timer| t.alert.is_some() && tm.clock == SlaClock::FirstResponse;
                timers.retain(|tm| tm.percent >= 100 || tm.at >= r || acknowledgement(tm));
            }
            let highest_past = |clock: SlaClock, timers: &[sla::Timer]| {
                timers.iter().filter(|x| x.clock == clock && x.at <= now).map(|x| x.percent).max()
            };
            let keep: Vec<(SlaClock, u8)> = [SlaClock::FirstResponse, SlaClock::NextResponse, SlaClock::Resolution]
                .into_iter()
                .filter_map(|k| highest_past(k, &timers).map(|p| (k, p)))
                .collect();
            timers.retain(|x| x.at > now || keep.contains(&(x.clock, x.percent)));
            for x in timers.iter_mut().filter(|x| x.at <= now) {
                x.at = now;
            }
            // An alert card held back by the once-a-minute limit is posted by a timer too.
            timers.extend(Self::card_timer(t));
            timers.extend(Self::settle_timer(t));
            timers.extend(Self::silence_timer(t));
            timers.extend(Self::access_timer(t));
            timers.extend(self.approval_timer(t));
            c.timers.push((t.number, timers));
        }
    }

    /// Fires every SLA warning and breach that is due now, each exactly once; returns how many fired. The weekly
    /// report comes last, so that after downtime it counts the breaches that fell due meanwhile.
    pub async fn tick(&self) -> Result<usize, DeskError> {
        let mut fired = self.walk_timeouts(self.clock.now()).await?;
        fired += self.vendor_followups(self.clock.now()).await?;
        fired += self.fire_due_timers().await?;
        fired += self.weekly_report(self.clock.now()).await?;
        Ok(fired)
    }

    /// Fires the SLA timers due now.
    async fn fire_due_timers(&self) -> Result<usize, DeskError> {
        let mut fired = 0;
        loop {
            let now = self.clock.now();
            let due = self.store.due_timers(now, 100).await?;
            if due.is_empty() {
                return Ok(fired);
            }
            let mut progressed = false;
            for timer in due {
                match self.fire(&timer, now).await {
                    Ok(true) => {
                        fired += 1;
                        progressed = true;
                    }
                    Ok(false) => progressed = true,
                    // Someone changed the ticket meanwhile; the next tick sees the new state.
                    Err(DeskError::Store(StoreError::Conflict(_))) => {}
                    Err(e) => return Err(e),
                }
            }
            if !progressed {
                return Ok(fired);
            }
        }
    }

    /// Fires one timer if it still applies. Returns false for a stale or already-fired timer (dropped).
    async fn fire(&self, timer: &DueTimer, now: Timestamp) -> Result<bool, DeskError> {
        let Some(mut t) = self.store.ticket(timer.ticket).await? else {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        };
        if Self::is_card_timer(timer) {
            return self.fire_card(t, timer, now).await;
        }
        if Self::is_settle_timer(timer) {
            return self.fire_settle(t, timer, now).await;
        }
        if Self::is_silence_timer(timer) {
            return self.fire_silence(t, timer, now).await;
        }
        if Self::is_access_timer(timer) {
            return self.fire_access(t, timer, now).await;
        }
        if Self::is_approval_timer(timer) {
            return self.fire_approval_reminder(t, timer, now).await;
        }
        let fresh = self.policies.timers(&t);
        // Stale (the clock moved or stopped), or a higher point of the same clock is due too (after downtime, the
        // breach alone is announced, not 75%, 90% and the breach at once).
        if !fresh.iter().any(|x| x.key == timer.key)
            || fresh.iter().any(|x| x.clock == timer.clock && x.percent > timer.percent && x.at <= now)
        {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        // Late only when it fell due while deskbot was not running: a timer is stored at its instant (or, when a
        // recompute passed it, at the recompute), and a running deskbot fires it within a tick.
        let late = now - timer.at > chrono::Duration::minutes(1);
        let mut c = Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        };
        let warning = EventKind::SlaWarning { clock: timer.clock, percent: timer.percent, due: timer.due, late };
        c.events.push((t.number, Event { at: now, actor: None, kind: warning }));
        let p = self.policies.pick(&t.category, t.priority, t.ticket_type);
        let target = match timer.clock {
            SlaClock::FirstResponse => p.first_response,
            SlaClock::NextResponse => p.next_response.unwrap_or(p.first_response),
            SlaClock::Resolution => p.resolution,
        };
        let owner = t.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "nobody".into());
        let late_note = if late {
            format!(
                " (late: this fell due {}, {} ago, while deskbot was not running)",
                self.fmt_time(timer.at),
                human(now - timer.at)
            )
        } else {
            String::new()
        };
        let text = if timer.percent >= 100 {
            format!(
                "SLA breach: {} ({} {}, owner {owner}) missed its {} target of {} (due {}{}).{late_note}",
                t.number,
                t.priority,
                t.category,
                timer.clock.label(),
                target,
                self.fmt_time(timer.due),
                if late { String::new() } else { ago(timer.due, now) }
            )
        } else {
            let left = timer.due - now;
            let when = if left > chrono::Duration::zero() {
                format!("in {}", human(left))
            } else if -left < chrono::Duration::minutes(1) {
                "now".to_string()
            } else {
                format!("{} ago", human(-left))
            };
            format!(
                "SLA warning: {} ({} {}, owner {owner}) has used {}% of its {} target of {} — due {} ({when}): {}{late_note}",
                t.number,
                t.priority,
                t.category,
                timer.percent,
                timer.clock.label(),
                target,
                self.fmt_time(timer.due),
                quote(&t.title)
            )
        };
        let staff_dm = Place { dm: true, ..self.staff_place() };
        let to_owner_or_queue = |c: &mut Commit| match &t.owner {
            Some(o) => c.outbox.push(Outbound::to_user(o, &staff_dm, text.clone()).about(t.number)),
            None => c.outbox.push(self.to_queue(t.origin.platform, text.clone()).about(t.number)),
        };
        let first_level = p.spec.warn.first().copied().unwrap_or(75);
        if timer.percent >= 100 {
            let mut m = Outbound::to_channel(t.origin.platform, &self.settings.escalation_channel, text.clone());
            m.ticket = Some(t.number);
            c.outbox.push(m);
            for u in self.people_for(Role::Manager, &t) {
                c.outbox.push(Outbound::to_user(&u, &staff_dm, text.clone()).about(t.number));
            }
            to_owner_or_queue(&mut c);
            let cycle = timer.key.rsplit(':').nth(1).unwrap_or("").to_string();
            t.breaches.push(Breach { clock: timer.clock, due: timer.due, cycle });
            // A recorded breach is a change: reports select tickets by when they last changed.
            t.updated_at = now;
            c.updates.push(t);
            self.schedule(&mut c);
        } else {
            to_owner_or_queue(&mut c);
            if timer.percent > first_level {
                for u in self.people_for(Role::Lead, &t) {
                    if !c.outbox.iter().any(|m| matches!(&m.to, Audience::User { user } if user.same_person(&u))) {
                        c.outbox.push(Outbound::to_user(&u, &staff_dm, text.clone()).about(t.number));
                    }
                }
            }
        }
        self.commit_timer(c, &timer.key, true).await
    }

    /// The roles that decide on requests: each runbook's `approval.approver` (admins may as well).
    fn approvers(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .runbooks
            .all()
            .iter()
            .filter_map(|r| r.approval.as_ref())
            .map(|a| Role::parse(&a.approver).unwrap_or(Role::Manager))
            .filter(|r| *r != Role::Admin)
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Everyone with exactly `role` on `platform`, from the configuration and run-time roles, sorted by id.
    fn people_with(&self, role: Role, platform: Platform) -> Vec<UserRef> {
        self.people_in(role, Some(platform))
    }

    /// Who with `role` hears of ticket `t`'s SLA warnings and breaches: those on the ticket's platform. An alert
    /// ticket was raised by monitoring, not by someone on a chat platform: if nobody has the role on the alert
    /// platform, everyone who has it, on whatever platform, is told (a P1 alert nobody claims reaches the lead).
    fn people_for(&self, role: Role, t: &Ticket) -> Vec<UserRef> {
        let here = self.people_in(role, Some(t.origin.platform));
        if here.is_empty() && t.alert.is_some() { self.people_in(role, None) } else { here }
    }

    /// Everyone with exactly `role` on `platform` (or on any), sorted by platform and id.
    fn people_in(&self, role: Role, platform: Option<Platform>) -> Vec<UserRef> {
        let mut keys: Vec<String> =
            self.settings.roles.iter().filter(|(_, r)| **r == role).map(|(k, _)| k.clone()).collect();
        let overrides = self.overrides.read().unwrap_or_else(|e| e.into_inner());
        keys.retain(|k| overrides.get(k).is_none_or(|r| *r == role));
        keys.extend(overrides.iter().filter(|(_, r)| **r == role).map(|(k, _)| k.clone()));
        keys.sort();
        keys.dedup();
        keys.iter()
            .filter_map(|k| k.split_once(':'))
            .filter_map(|(p, id)| Some((Platform::parse(p)?, id)))
            .filter(|(p, _)| platform.is_none_or(|want| *p == want))
            .map(|(p, id)| UserRef::new(p, id, id))
            .collect()
    }

    fn to_queue(&self, platform: Platform, text: String) -> Outbound {
        let mut m = Outbound::to_channel(platform, &self.settings.queue_channel, text);
        m.place = self.staff_place();
        m
    }

    /// Counts a command, button press or message in a ticket's thread; false when the person is over
    /// [`COMMANDS_PER_MINUTE`] (the first time over, they are told once).
    fn within_command_rate(&self, env: &Envelope, now: Timestamp, w: &mut Work) -> bool {
        let mut m = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, (start, _)| now - *start < chrono::Duration::minutes(1));
        }
        let slot = m.entry(env.actor.key()).or_insert((now, 0));
        if now - slot.0 >= chrono::Duration::minutes(1) {
            *slot = (now, 0);
        }
        slot.1 += 1;
        if slot.1 == COMMANDS_PER_MINUTE + 1 {
            let msg = "You're sending messages and commands faster than I can take them; I'll take them again in a \
                       minute.";
            w.send(Outbound::to_user(&env.actor, &env.place, msg.to_string()).kind(MessageKind::Ephemeral));
        }
        slot.1 <= COMMANDS_PER_MINUTE
    }

    async fn decide(&self, env: &Envelope, now: Timestamp, w: &mut Work) -> Result<(), DeskError> {
        if matches!(env.body, Body::Command { .. } | Body::Action { .. }) && !self.within_command_rate(env, now, w) {
            return Ok(());
        }
        // The ticket a command or a command's button names, and its verb: a refusal of it is recorded there.
        let mut named: Option<(TicketNo, &'static str)> = None;
        let result = match &env.body {
            Body::Text { text } => self.on_text(env, text, now, w).await?,
            Body::Command { name, args } => match name.trim_start_matches('/') {
                "ticket" => match command::parse_ticket(args) {
                    Ok(cmd) => {
                        named = cmd.ticket().map(|n| (n, cmd.verb()));
                        self.on_command(env, cmd, now, w).await?
                    }
                    Err(e) => {
                        named = command::named_ticket(args);
                        Flow::Refused(e.into())
                    }
                },
                "helpdesk" => self.on_helpdesk(env, args, w).await?,
                other => Flow::Refused(format!("unknown command `/{other}`; try `/ticket help`").into()),
            },
            Body::Action { action } if action.starts_with("triage:") => {
                self.on_category_pick(env, action, now, w).await?
            }
            Body::Action { action } if action.starts_with("similar:") => {
                self.on_similar_answer(env, action, now, w).await?
            }
            Body::Action { action } if action.starts_with(conversation::ACTION_PREFIX) => {
                self.on_conversation_action(env, action, None, now, w).await?
            }
            Body::Action { action } if action.starts_with(super::runbook::ACTION_PREFIX) => {
                self.on_walk_action(env, action, now, w).await?
            }
            Body::Action { action } => match command::parse_action(action) {
                Ok(cmd) => {
                    named = cmd.ticket().map(|n| (n, cmd.verb()));
                    self.on_command(env, cmd, now, w).await?
                }
                Err(e) => Flow::Refused(e.into()),
            },
        };
        if let Flow::Refused(mut r) = result {
            // Every refusal of a command naming a ticket is recorded on it, whatever refused it (the role rules, the
            // ticket's state, a merge, a vendor case, the command's usage): the ticket's audit trail shows every
            // attempt. A ticket that does not exist has no history to record it in.
            if r.audit.is_none()
                && let Some((n, verb)) = named
                && self.store.ticket(n).await?.is_some()
            {
                r.audit = Some((n, verb.to_string()));
            }
            // A refusal replaces whatever was planned: only the message and the audit entry are written.
            w.commit.inserts.clear();
            w.commit.updates.clear();
            w.commit.events.clear();
            w.commit.outbox.clear();
            // Events keep what was said, without the quote marks.
            let reason = super::message::plain(&r.text);
            // The same refusal again (a script repeating a command) is not recorded again within the window: it is
            // counted, and the count is recorded once the window has passed (see `denied_fold`).
            let last_like = match &r.audit {
                Some((n, action)) => self.store.events(*n).await?.iter().rev().find(|e| {
                    now - e.at < DENIED_FOLD_WINDOW
                        && e.actor.as_ref().is_some_and(|a| a.same_person(&env.actor))
                        && matches!(&e.kind, EventKind::Denied { action: a, reason: said, .. } if a == action && *said == reason)
                }).map(|e| e.at),
                None => None,
            };
            if let Some((n, action)) = r.audit {
                match last_like {
                    Some(since) => self.count_denied(n, &env.actor, &action, &reason, since, w).await?,
                    None => w.commit.events.push((
                        n,
                        Event {
                            at: now,
                            actor: Some(env.actor.clone()),
                            kind: EventKind::Denied { action, reason, repeated: 0 },
                        },
                    )),
                }
            }
            w.send(Outbound::to_user(&env.actor, &env.place, r.text).kind(MessageKind::Ephemeral));
        }
        Ok(())
    }

    fn in_scope(&self, env: &Envelope) -> bool {
        env.place.dm || env.mentioned || env.place.channel == self.settings.helpdesk_channel
    }

    async fn on_text(&self, env: &Envelope, text: &str, now: Timestamp, w: &mut Work) -> Result<Flow, DeskError> {
        let text = bound_text(text);
        // A message in a ticket's thread belongs to that ticket.
        if let Some(mut t) = self.store.ticket_by_thread(env.actor.platform, &env.place).await? {
            // A thread is written into one message at a time: a script of five hundred is held to the same pace as
            // commands.
            if !self.within_command_rate(env, now, w) {
                return Ok(Flow::Ok);
            }
            let text = match self.typed_close_reply(env, Some(&t), &text, now, w).await? {
                TypedClose::Done(flow) => return Ok(flow),
                TypedClose::Instead(rest) => rest,
                TypedClose::No => text,
            };
            // "sorry, it's actually the scanner" in the thread, as in the channel (probe I: the buttons came again).
            // (A joiner's or leaver's title comes from its answers: a date corrected there is the walkthrough's.)
            if t.requester.same_person(&env.actor)
                && !conversation::is_lifecycle(&t)
                && let Some(instead) = super::conversation::correction(&text)
                && let Some(flow) = self.correct_ticket(env, &t, &text, &instead, now, w).await?
            {
                return Ok(flow);
            }
            if let Some(flow) = self.other_problem_in_thread(env, &t, &text, now, w).await? {
                return Ok(flow);
            }
            // "board presentation in 10 mins and i can't open powerpoint!!" during the walkthrough says it is more
            // urgent, and answers no step (probe J: the buttons again, and it stayed P3): added, the priority
            // follows, and a P1 goes to the technicians now.
            if t.requester.same_person(&env.actor)
                && t.state.is_active()
                && t.in_self_service()
                && !t.priority_by_staff
                && self.classifier().priority_of(t.intent.as_deref(), &format!("{}\n{text}", t.description))
                    < t.priority
                && matches!(
                    self.walk_reading(t.number, &text).await?,
                    Some(crate::core::runbook::Typed::Other | crate::core::runbook::Typed::Unclear)
                )
            {
                return Ok(self.add_to_ticket(env, &mut t, &text, now, w));
            }
            if let Some(flow) = self.try_walk_answer(env, Some(t.number), true, &text, now, w).await? {
                return Ok(flow);
            }
            // "talk to a person" with no walkthrough running: it is with the technicians already, say where (probe J:
            // no reply at all).
            if t.requester.same_person(&env.actor)
                && t.state.is_active()
                && crate::core::runbook::asks_for_person(&text)
            {
                let flow = self.thread_message(env, &mut t, &text, now, w);
                if matches!(flow, Flow::Ok) {
                    let said = self.where_it_stands(&t, now);
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                }
                return Ok(flow);
            }
            // A ticket folded into a major incident: the message goes to the major incident.
            if let Some(flow) = self.child_thread_message(env, &t, &text, now, w).await? {
                return Ok(flow);
            }
            // A colleague's "same here" (affected), or their own problem in someone else's thread.
            if let Some(flow) = self.colleague_in_thread(env, &t, &text, now, w).await? {
                return Ok(flow);
            }
            // "thanks! also my monitor flickers" in a resolved ticket's thread: noted, and a new ticket.
            if let Some(flow) = self.moved_on_in_thread(env, &t, &text, now, w).await? {
                return Ok(flow);
            }
            // A closed ticket stays closed: a problem reported in its thread is a new, linked ticket.
            if let Some(flow) = self.closed_thread_message(env, &t, &text, now, w).await? {
                return Ok(flow);
            }
            // Only the people on the ticket and staff write into it; anyone else is told how to get help.
            if !self.on_ticket(&t, &env.actor) {
                return Ok(self.outsider_in_thread(&t));
            }
            // "her last day is now the 20th" in a leaver's thread moves its date.
            if let Some(flow) = self.date_changed(env, &text, std::slice::from_ref(&t), true, now, w) {
                return Ok(flow);
            }
            return Ok(self.thread_message(env, &mut t, &text, now, w));
        }
        if !self.in_scope(env) {
            return Ok(Flow::Ok);
        }
        // Technicians talk in the helpdesk channel too ("heads up: rebooting the switch at 6pm", "printer on 2 is
        // fixed"): their plain messages there are not requests. They raise one in a DM or by mentioning deskbot.
        if !env.place.dm && !env.mentioned && self.role_of(&env.actor).is_staff() {
            return Ok(Flow::Ok);
        }
        // Messages in the channel and in DMs create work as thread messages and commands do: one person's are held
        // to the same pace (#30), so a burst of a thousand is not a thousand triage runs, questions and replies.
        if !self.within_command_rate(env, now, w) {
            return Ok(Flow::Ok);
        }
        let text = match self.typed_close_reply(env, None, &text, now, w).await? {
            TypedClose::Done(flow) => return Ok(flow),
            TypedClose::Instead(rest) => rest,
            TypedClose::No => text,
        };
        if let Some(flow) = self.typed_similar_reply(env, &text, now, w).await? {
            return Ok(flow);
        }
        if let Some(flow) = self.try_walk_answer(env, None, false, &text, now, w).await? {
            return Ok(flow);
        }
        if !text.chars().any(char::is_alphanumeric) {
            // Emoji, punctuation or nothing: not a request (a 👍 after a resolution is a thank-you). Answer only when
            // spoken to directly.
            if super::conversation::is_gratitude(&text)
                && let Some(flow) =
                    self.before_triage(env, &text, &[], &self.store.active_majors().await?, now, w).await?
            {
                return Ok(flow);
            }
            if env.place.dm || env.mentioned {
                w.send(Outbound::to_user(&env.actor, &reply_place(env), INTRO.to_string()));
            }
            return Ok(Flow::Ok);
        }
        // One read for all the desk needs to know of the requester here.
        let (opened_last_hour, open) =
            self.store.requester_recent(&env.actor.key(), now - chrono::Duration::hours(1)).await?;
        // "Update: Priya Raman's last day is now 20 March" moves her leaver's date (probe M: a duplicate leaver).
        if let Some(flow) = self.date_changed(env, &text, &open, false, now, w) {
            return Ok(flow);
        }
        // Thanks, "nvm", and the rest of a burst belong to what the person already has going.
        // Active major incidents, read once: a report may join one before or after triage.
        let majors = self.store.active_majors().await?;
        // "any update?" outside a thread (probe F: it opened an "OS update" ticket; probe G: inside a burst it was
        // added without an answer): their ticket's news, recorded
        // on it as in its thread; with none open, no ticket either (a short answer when spoken to).
        let status =
            super::conversation::asks_for_update(&text) && !super::conversation::troubled_beyond_waiting(&text);
        let something_new = status && self.asks_after_something_new(&text, &open);
        // About something of a colleague's ("any news on the printer?"; probe S: a printing ticket of their own).
        if something_new
            && let Some(t) = self.colleagues_ticket_about(env, &text, &self.classifier().classify(&text), now).await?
        {
            let said = self.where_it_stands_for_affected(&t, now, false);
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
            return Ok(Flow::Ok);
        }
        if status && !something_new {
            // Several open and the question names none of them ("any update?"): where each stands (probe J: only
            // the oldest was answered).
            let here = reply_place(env);
            let mine: Vec<&Ticket> = open
                .iter()
                .filter(|t| !t.major && t.origin.platform == env.actor.platform)
                .filter(|t| here.dm || t.origin.place.channel == here.channel && !t.origin.place.dm)
                .collect();
            let c = self.classifier().classify(&text);
            let names_one = super::conversation::names_a_subject(&text)
                && c.confidence >= self.settings.triage.confident
                && mine.iter().any(|t| t.category == c.category);
            // "any update on #2?": that one (probe S: each of theirs was answered).
            if let Some(t) = super::desk::conversation::named_by_number(&text, &open) {
                return Ok(self.in_its_thread(env, t, &text, now, w));
            }
            // It names something none of theirs is about ("any news on my laptop?" with only an Outlook ticket open;
            // probe S: added to the Outlook ticket): theirs are listed, nothing is added.
            let it_category = c.category != "none" && c.category != "other";
            let about_one = |t: &Ticket| it_category && t.category == c.category || names_what_it_names(&text, t);
            if super::conversation::names_a_subject(&text) && !open.is_empty() && !open.iter().any(about_one) {
                let list: Vec<String> = open.iter().map(|t| format!("{} {}", t.number, quote(&t.title))).collect();
                let said = format!(
                    "None of your open tickets is about that ({}). If something else needs doing, describe it and I'll \
                     open a ticket.",
                    list.join(", ")
                );
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said));
                return Ok(Flow::Ok);
            }
            if mine.len() >= 2 && !names_one {
                // Each answered as in its thread (recorded there, its owner told).
                let mine: Vec<Ticket> = mine.into_iter().cloned().collect();
                for t in &mine {
                    if let Flow::Refused(r) = self.in_its_thread(env, t, &text, now, w) {
                        return Ok(Flow::Refused(r));
                    }
                }
                return Ok(Flow::Ok);
            }
            if let Some(t) = self.about(&text, &open) {
                return Ok(self.in_its_thread(env, t, &text, now, w));
            }
            // None of their own, but they said "same here" on a colleague's (probe I: silence): where that stands.
            let joined = self
                .store
                .tickets(&crate::store::TicketFilter { active_only: true, limit: Some(1000), ..Default::default() })
                .await?
                .into_iter()
                .filter_map(|t| {
                    let at = t.affected.iter().find(|a| a.user.same_person(&env.actor))?.at;
                    Some((at, t))
                })
                .max_by_key(|(at, _)| *at);
            if let Some((_, t)) = joined {
                let said = self.where_it_stands_for_affected(&t, now, true);
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                return Ok(Flow::Ok);
            }
            // A category question of theirs still waits here (probe J: silence): it is the next step.
            if self.category_question_stands(env, now).await? {
                let said = "I haven't opened a ticket for that yet: pick one of the options above (or tell me what \
                            it's about) and I'll get it to the right person.";
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said.to_string()));
                return Ok(Flow::Ok);
            }
            // Nothing of theirs to answer from, and it clearly names something IT never heard of ("any word on the
            // autocad licence? the grad has been idle since 9"): a new request, triaged below, unless a colleague's
            // open ticket is about it ("any news on the printer?"; probe S: a printing ticket of their own).
            let new_request = c.decide(&self.settings.triage) == Decision::Ticket;
            if new_request && let Some(t) = self.colleagues_ticket_about(env, &text, &c, now).await? {
                let said = self.where_it_stands_for_affected(&t, now, false);
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                return Ok(Flow::Ok);
            }
            // None open, one ended lately (probe G: silence): where that one ended.
            let ended = self.store.resolved_since(&env.actor.key(), now - chrono::Duration::days(7)).await?;
            if let Some(t) = ended.iter().find(|t| t.parent.is_none() && (!new_request || t.category == c.category)) {
                let by = t.owner.as_ref().map(|o| format!(" by {}", o.shown())).unwrap_or_default();
                let said = format!(
                    "{} was {}{by}. If it still isn't working, reply in its thread or describe it here and I'll open a \
                     new ticket.",
                    t.number, t.state
                );
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                return Ok(Flow::Ok);
            }
            if !new_request {
                // "still waiting for my new laptop" with nothing open: they believe IT owes them something, so they
                // hear, even in the channel, that nothing of theirs is open (probe S: silence). A bare "any update?"
                // in the channel may be for a colleague: only when spoken to.
                let it_thing = super::conversation::names_a_subject(&text)
                    && !matches!(c.category.as_str(), "none" | "other")
                    && c.confidence >= STATUS_NOTHING_OPEN_FROM;
                if it_thing {
                    let said = "I can't find an open ticket of yours about that. If you still need it, describe it \
                                here and I'll open one.";
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), said.to_string()));
                } else if env.place.dm || env.mentioned {
                    let said = "You have no open tickets with us right now. If something isn't working, tell me what.";
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), said.to_string()));
                }
                return Ok(Flow::Ok);
            }
        }
        if let Some(flow) = self.before_triage(env, &text, &open, &majors, now, w).await? {
            return Ok(flow);
        }
        if let Some(flow) = self.me_too_in_channel(env, &text, now, w).await? {
            return Ok(flow);
        }
        if let Some(flow) = self.still_broken_after_major(env, &text, &open, now, w).await? {
            return Ok(flow);
        }
        // The answer to a technician's question written outside the ticket's thread (probe F: in the channel it was
        // dropped while the ticket waited on the user with its clocks paused; in a DM it was "not an IT problem"):
        // it goes to their ticket waiting for them, unless it is clearly a problem of another kind.
        if let Some(t) = self.waiting_on_them(env, &text, &open, now) {
            let flow = self.in_its_thread(env, t, &text, now, w);
            let said = format!("Thanks, I've added that to {} for the technician.", t.number);
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
            return Ok(flow);
        }
        // At the hourly limit no new ticket opens, and nothing that may lead to one (a question, a follow-up that
        // asks "Is this about #N?"). Joining an outage opens none, so while a major incident is active a report is
        // still read for that.
        let at_limit = self.at_ticket_limit(opened_last_hour);
        if at_limit && majors.is_empty() && self.over_rate_limit(env, opened_last_hour, now, w).await? {
            return Ok(Flow::Ok);
        }
        let c = self.classifier().classify(&text);
        let decision = c.decide(&self.settings.triage);
        if at_limit {
            if decision != Decision::NotIt
                && (self.join_major(env, &text, &c, &majors, now, w)
                    || decision == Decision::Ticket && self.declare_if_many(env, &text, &c, now, w).await?)
            {
                return Ok(Flow::Ok);
            }
            self.over_rate_limit(env, opened_last_hour, now, w).await?;
            return Ok(Flow::Ok);
        }
        if decision == Decision::NotIt {
            // "also it's making a grinding noise now": too vague for triage, but it carries on from their ticket.
            if super::conversation::is_follow_up(&text)
                && !open.is_empty()
                && self.follow_up(env, &text, &c, &open, now, w)
            {
                return Ok(Flow::Ok);
            }
            // A detail sent in a DM soon after raising a ticket ("fyi it's the Q1_budget.xlsx on the shared drive";
            // probe L: "not an IT problem", and the detail was lost): asked whether it is about that ticket.
            if env.place.dm
                && c.intent.is_none()
                && !super::conversation::is_gratitude(&text)
                && text.split_whitespace().count() >= 3
                && let Some(t) = open
                    .iter()
                    .filter(|t| t.state.is_active())
                    .filter(|t| now - t.last_requester_at.unwrap_or(t.created_at) <= self.windows().follow_up_window)
                    .max_by_key(|t| t.created_at)
            {
                self.ask_about(env, &text, t, w);
                return Ok(Flow::Ok);
            }
            // "sorry not urgent actually, no rush" in the channel: about their newest open ticket, whose owner
            // hears it (probe K: dropped without a trace once a technician had set the priority).
            if super::conversation::can_wait(&text)
                && let Some(t) = open.iter().filter(|t| t.state.is_active()).max_by_key(|t| t.created_at)
            {
                return Ok(self.in_its_thread(env, t, &text, now, w));
            }
            // Not for IT (or nothing deskbot understood): silence in a channel, a short answer when spoken to.
            if env.place.dm || env.mentioned {
                w.send(Outbound::to_user(&env.actor, &reply_place(env), small_talk_reply(&c, &text)));
            }
            return Ok(Flow::Ok);
        }
        // Many people with one problem: a report joins the major incident (no ticket, no runbook).
        if self.join_major(env, &text, &c, &majors, now, w) {
            return Ok(Flow::Ok);
        }
        if self.follow_up(env, &text, &c, &open, now, w) {
            return Ok(Flow::Ok);
        }
        // "outlook won't open and also the printer is jammed": two problems, each all but sure of its own kind, are
        // two tickets (probe G: the second was dropped without a word), also when the whole is unclear (probe H).
        if let Some((a, b)) = super::conversation::two_parts(&text) {
            let (ca, cb) = (self.classifier().classify(a), self.classifier().classify(b));
            let clear = |x: &Classification| {
                x.decide(&self.settings.triage) == Decision::Ticket && x.confidence >= conversation::BURST_ELSE
            };
            if clear(&ca) && clear(&cb) && ca.category != cb.category {
                self.open_ticket(env, a, ca, now, w).await?;
                self.open_ticket(env, b, cb, now, w).await?;
                return Ok(Flow::Ok);
            }
        }
        if decision == Decision::Ask {
            if !self.join_standing_question(env, &text, now, w).await? {
                self.ask_category(env, &text, &c, w);
            }
            return Ok(Flow::Ok);
        }
        // "Tom Baker and Sue Grey are both leaving on Friday": a ticket per person (probe O, M9).
        // (A leaver that must be approved reaches its runbook through the approval, as in `open_ticket_after`.)
        let dated =
            self.runbook_for(&c, &text).or_else(|| self.approval_walk(&c, &text).map(|(rb, step, _)| (rb, step)));
        if let Some((rb, _)) = dated.filter(|(rb, _)| rb.ticket_date.is_some()) {
            let people = dated::people_named(&text);
            if (2..=MAX_PEOPLE_PER_MESSAGE).contains(&people.len()) && rb.fields().any(|f| f == dated::NAME_FIELD) {
                self.open_ticket_per_person(env, &text, &c, &people, now, w).await?;
                return Ok(Flow::Ok);
            }
        }
        if self.declare_if_many(env, &text, &c, now, w).await? {
            return Ok(Flow::Ok);
        }
        if let Some(old) = self.reported_alongside(env, &text, &c, now).await? {
            return self.open_alongside(env, &text, c, &old, now, w).await;
        }
        self.open_ticket(env, &text, c, now, w).await?;
        Ok(Flow::Ok)
    }

    /// A message written outside `t`'s thread that belongs to `t`, handled as if written there.
    fn in_its_thread(&self, env: &Envelope, t: &Ticket, text: &str, now: Timestamp, w: &mut Work) -> Flow {
        let mut t = t.clone();
        let before = w.commit.outbox.len();
        let flow = self.thread_message(&in_thread_of(env, &t), &mut t, text, now, w);
        // Written in a DM, answered in the DM ("any update?", "nvm its fine now"; probes I and J: the answer or the
        // offer to close went to the ticket's thread in the channel).
        if env.place.dm && !t.origin.place.dm {
            let here = reply_place(env);
            for m in &mut w.commit.outbox[before..] {
                if matches!(&m.to, Audience::User { user } if user.same_person(&env.actor))
                    && m.place.channel == t.origin.place.channel
                    && !m.place.dm
                {
                    m.place = here.clone();
                }
            }
        }
        flow
    }

    fn thread_message(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) -> Flow {
        let role = self.role_of(&env.actor);
        let is_requester = t.requester.same_person(&env.actor);
        let staff_reply = role.is_staff() && !is_requester;
        // "any update?" while the technician waits on them is no answer to the question (probe J: it resumed the
        // clocks and was told the technician had been told they asked).
        if is_requester
            && t.state == State::PendingUser
            && crate::core::conversation::asks_for_update(text)
            && !crate::core::conversation::troubled_beyond_waiting(text)
        {
            let who = t.owner.as_ref().map_or("The technician".to_string(), |o| o.shown());
            let said = format!(
                "{who} is waiting for your answer to their question on {}. Answer it (here or in its thread) and \
                 they'll carry on.",
                t.number
            );
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
            return Flow::Ok;
        }
        if is_requester && self.is_thanks_for(t, text) {
            // "Thanks, all good now" is noted on the ticket; it does not reopen it.
            self.note_thanks(env, t, text, now, w);
            return Flow::Ok;
        }
        if is_requester && t.state == State::Resolved {
            // "Still broken" in the thread of a resolved ticket reopens it (within the deflection window for a
            // self-service fix).
            if let Err(r) = self.may_reopen(t, &env.actor, now) {
                return Flow::Refused(r);
            }
            let self_served = t.deflected || t.no_it_action;
            match self.reopen(t, &env.actor, Some(text), now) {
                Ok(ev) => w.events(t.number, ev),
                Err(e) => return Flow::Refused(e.into()),
            }
            if let Some(owner) = &t.owner {
                let msg = format!("{} reopened {}: {}", env.actor.shown(), t.number, quote(text));
                w.send(Outbound::to_user(owner, &Place { dm: true, ..self.staff_place() }, msg).about(t.number));
            }
            if self_served || t.owner.is_none() {
                w.send(self.reopened_card(t, &env.actor, Some(text), now));
            }
            w.send(
                Outbound::to_user(
                    &env.actor,
                    &t.origin.place,
                    format!("{} is open again; a technician will pick it up.", t.number),
                )
                .about(t.number),
            );
            w.commit.updates.push(t.clone());
            return Flow::Ok;
        }
        let result =
            if staff_reply { t.reply(&env.actor, text, now) } else { t.requester_message(&env.actor, text, now) };
        match result {
            Ok(ev) => {
                w.events(t.number, ev);
                if !staff_reply {
                    self.tell_owner_of_message(t, &env.actor.shown(), text, now, w);
                }
                if !staff_reply && !is_requester {
                    // A colleague in someone else's thread hears where their message went.
                    let to = reply_place(env);
                    w.send(Outbound::to_user(&env.actor, &to, super::conversation::added_to(t.number)).about(t.number));
                }
                if staff_reply {
                    // Everyone else affected by a major incident hears its public replies where they reported it.
                    self.tell_affected(t, &super::conversation::major_update(&env.actor.shown(), t.number, text), w);
                }
                if is_requester && self.withdraws(t, text, now) {
                    self.offer_to_close(&env.actor, t, text, now, w);
                } else if is_requester
                    && !staff_reply
                    && t.state.is_active()
                    && (self.never_minds(t, text)
                        || crate::core::conversation::asks_to_close(text)
                        || crate::core::conversation::signals(text).recovered)
                {
                    // "nvm" too late to close it by themselves (probe D: the requester heard nothing): who decides.
                    let who =
                        t.owner.as_ref().map_or("the technicians have".to_string(), |o| format!("{} has", o.shown()));
                    let said = format!(
                        "Thanks, I've passed that on: {who} {} and will close it if it is no longer needed.",
                        t.number
                    );
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                } else if is_requester
                    && !staff_reply
                    && t.state.is_active()
                    && crate::core::conversation::asks_for_update(text)
                {
                    // "any update on this?" (probe E: only the owner heard it): where it stands, in their words.
                    let said = self.where_it_stands(t, now);
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                }
                w.commit.updates.push(t.clone());
                Flow::Ok
            }
            // A closed ticket's thread: say how to get help instead of silently dropping the message.
            Err(TicketError::NotActive { .. }) | Err(TicketError::IllegalTransition { .. }) => Flow::Refused(
                format!(
                    "{} is {}. Press Reopen or write a new message in the helpdesk channel to open a new ticket.",
                    t.number, t.state
                )
                .into(),
            ),
            Err(e) => Flow::Refused(e.into()),
        }
    }

    /// The requester's ticket waiting for their answer (`pending_user`) that `text`, written outside its thread,
    /// answers: in a DM any of theirs, in a channel one raised there; the one `text` is about when several wait;
    /// none when `text` is clearly a problem of another kind.
    fn waiting_on_them<'a>(
        &self,
        env: &Envelope,
        text: &str,
        open: &'a [Ticket],
        now: Timestamp,
    ) -> Option<&'a Ticket> {
        let here = reply_place(env);
        // A technician's reply they have not answered yet, from the last day, waits on them as much (probe J: "tried
        // the other port, still nothing on the screens" after sam's reply got the category question, and a duplicate).
        let replied = |t: &Ticket| {
            t.last_reply_at.is_some_and(|r| {
                now - r <= chrono::Duration::hours(24) && t.last_requester_at.unwrap_or(t.created_at) < r
            })
        };
        // A question a technician asked (pending on them) is answered wherever they write: in the channel about a
        // ticket raised in a DM too (probe L: the answer got the category question and was lost).
        let waiting: Vec<Ticket> = open
            .iter()
            .filter(|t| (t.state == State::PendingUser || replied(t)) && t.origin.platform == env.actor.platform)
            .filter(|t| {
                here.dm || t.state == State::PendingUser || t.origin.place.channel == here.channel && !t.origin.place.dm
            })
            .cloned()
            .collect();
        let t = self.about(text, &waiting)?;
        let c = self.classifier().classify(text);
        // Another problem says something is wrong, or asks for something new ("can I get Acrobat too?"): "office
        // wifi, 3rd floor" names the Wi-Fi but is the answer to "office Wi-Fi or home?" (probe L: a network ticket
        // of its own).
        let another = c.decide(&self.settings.triage) == Decision::Ticket
            && c.confidence >= conversation::BURST_ELSE
            && c.category != t.category
            && (super::conversation::troubled(text)
                || super::conversation::has_symptom(text)
                || super::conversation::asks_for_something_new(text));
        if another {
            return None;
        }
        open.iter().find(|o| o.number == t.number)
    }

    /// A colleague's open ticket, raised in this channel in the last two days, in the category `c` names: what a
    /// status question about something of theirs ("any news on the printer?") is about.
    async fn colleagues_ticket_about(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        now: Timestamp,
    ) -> Result<Option<Ticket>, DeskError> {
        // It must name what the ticket names ("printer"): the category alone ("any word on the sketchup licence?"
        // beside a colleague's autocad licence) is not enough.
        let active = self
            .store
            .tickets(&crate::store::TicketFilter { active_only: true, limit: Some(200), ..Default::default() })
            .await?;
        Ok(active.into_iter().rev().find(|t| {
            !t.major
                && t.category == c.category
                && !t.requester.same_person(&env.actor)
                && t.origin.place.channel == env.place.channel
                && now - t.created_at <= chrono::Duration::days(2)
                && names_what_it_names(text, t)
        }))
    }

    /// A status question that clearly names something none of the requester's open tickets is about ("any word on
    /// the autocad licence? the grad has been idle since 9" while a printer ticket is open; probe R: added to the
    /// printer ticket): a new request. With nothing open, see the status branch of `handle`.
    fn asks_after_something_new(&self, text: &str, open: &[Ticket]) -> bool {
        if open.is_empty() || !super::conversation::names_a_subject(text) {
            return false;
        }
        let c = self.classifier().classify(text);
        c.decide(&self.settings.triage) == Decision::Ticket && !open.iter().any(|t| t.category == c.category)
    }

    /// "any update?" from someone who said "same here" on `t` (`affected`), or who asks after a colleague's ticket:
    /// where it stands, and whether they hear when it is fixed.
    fn where_it_stands_for_affected(&self, t: &Ticket, now: Timestamp, affected: bool) -> String {
        let what = format!("{} {}", t.number, quote(&t.title));
        let stands = match &t.owner {
            Some(o) => format!("{} is working on {what}", o.shown()),
            None => match t.first_response_due.filter(|_| t.first_response_at.is_none()) {
                Some(d) if d > now => {
                    format!("Nobody has picked up {what} yet; a technician is due to respond by {}", self.fmt_time(d))
                }
                Some(d) => format!(
                    "Nobody has picked up {what} yet, and it is past its response target ({})",
                    self.fmt_time(d)
                ),
                None => format!("{what} is open with the technicians"),
            },
        };
        if affected {
            format!("{stands}. You're on it as affected, so you'll hear when it's fixed.")
        } else {
            format!("{stands}. If it affects you too, say \"same here\" in its thread and you'll hear when it's fixed.")
        }
    }

    /// The answer to "any update?" about `t`, which has the requester's message added to it.
    fn where_it_stands(&self, t: &Ticket, now: Timestamp) -> String {
        // Still in its walkthrough: no technician has it yet, by design (probe J: "Nobody has picked up #1 yet").
        if t.owner.is_none() && t.self_service.as_ref().is_some_and(|s| s.to.is_none()) {
            return format!(
                "{} is still with me: the steps are in its thread. Pick the option that fits there, or press Talk to \
                 a person to hand it to a technician now.",
                t.number
            );
        }
        // Waiting for its approver: nobody in IT acts before then (probe M: "told the technicians you're waiting",
        // which nothing did, and no word of the approval).
        if let Some(role) = &t.awaiting_approval {
            let since = t.approval_wait_since().map(|at| format!(" since {}", self.fmt_time(at))).unwrap_or_default();
            return format!(
                "{} is waiting for a {role}'s approval{since}; nobody in IT acts on it before then. You'll hear here as \
                 soon as it's decided.",
                t.number
            );
        }
        match &t.owner {
            Some(o) => format!(
                "{} has {} and has been told you asked; you'll hear here as soon as there is news.",
                o.shown(),
                t.number
            ),
            None => match t.first_response_due.filter(|_| t.first_response_at.is_none()) {
                Some(d) if d > now => format!(
                    "Nobody has picked up {} yet; a technician is due to respond by {}. I've added your message to it.",
                    t.number,
                    self.fmt_time(d)
                ),
                // Probe H: at (or after) the target it said "due to respond by 13:00" at 13:00.
                Some(d) => format!(
                    "Nobody has picked up {} yet and it is past its response target ({}): the helpdesk has been told \
                     it is overdue, and I've added your message to it.",
                    t.number,
                    self.fmt_time(d)
                ),
                _ => format!("I've added your message to {}; it is open with the technicians.", t.number),
            },
        }
    }

    async fn open_ticket(
        &self,
        env: &Envelope,
        text: &str,
        c: Classification,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        self.open_ticket_after(env, text, c, None, now, w).await
    }

    /// Opens a ticket; with `after`, linked to that earlier ticket; a follow-up has no runbook (the usual fix was
    /// tried the first time).
    async fn open_ticket_after(
        &self,
        env: &Envelope,
        text: &str,
        c: Classification,
        after: Option<After>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        self.open_ticket_for(env, text, c, after, None, now, w).await
    }

    /// Opens one leaver's or joiner's ticket of a message that names several ("Tom Baker and Sue Grey are both
    /// leaving on Friday", probe O: one ticket for two people), one ticket per person: each takes `person` as its
    /// name and the rest of what the message says.
    async fn open_ticket_per_person(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        people: &[String],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        // One thread holds one ticket: the first person's ticket lives where the message was written, the others'
        // in a DM with the requester (in a DM, all of them there).
        let elsewhere = conversation::own_place(env);
        let mut opened = vec![];
        for (i, p) in people.iter().enumerate() {
            let at = if i == 0 || env.place.dm { env } else { &elsewhere };
            let before = w.commit.inserts.len();
            // Each ticket reads its own person's part: their runbook (a leaver beside a joiner) and their date.
            let part = dated::part_about(text, people, i);
            self.open_ticket_for(at, text, c.clone(), None, Some((p, &part)), now, w).await?;
            if let Some(t) = w.commit.inserts.get(before) {
                let place = match (i, env.place.dm) {
                    (_, true) => "",
                    (0, false) => " (questions here)",
                    _ => " (questions in a DM with you)",
                };
                opened.push(format!("{} {p}{place}", t.number));
            }
        }
        if opened.len() > 1 {
            let msg = format!(
                "Your message names {} people, so each has a ticket of their own: {}.",
                opened.len(),
                opened.join(", ")
            );
            w.send(Outbound::to_user(&env.actor, &reply_place(env), msg));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_ticket_for(
        &self,
        env: &Envelope,
        text: &str,
        c: Classification,
        after: Option<After>,
        person: Option<(&str, &str)>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        // The words about this ticket's person, when the message names several (see `dated::part_about`).
        let said = person.map_or(text, |(_, part)| part);
        let linked_words = after.as_ref().map(|a| a.words(now)).unwrap_or_default();
        let follow_up = matches!(after, Some(After::FollowUp(_)));
        let after = after.map(|a| a.ticket());
        // The hourly limit counts where a ticket is actually opened, whatever led here (a message, an answer to
        // "Which fits best?", "No, something new", a colleague's own problem in a thread).
        if self.over_limit_now(env, now, w).await? {
            return Ok(());
        }
        // A request that needs approval goes through its runbook, and so its approval, whatever led here; when the
        // intent was only guessed from the runbook's entries, the ticket is of that intent (a request, its priority).
        let mut c = c;
        let approval = self.approval_walk(&c, said);
        if let Some((rb, _, intent)) = approval
            && c.intent.as_deref() != Some(intent)
        {
            c.intent = Some(intent.to_string());
            c.runbook = Some(rb.id.clone());
            c.ticket_type = rb.ticket_type;
            c.priority = self.classifier().priority_of(Some(intent), said);
        }
        let number = self.store.next_ticket_number().await?;
        let place = reply_place(env);
        let (mut t, ev) = Ticket::open(NewTicket {
            number,
            text: text.to_string(),
            requester: env.actor.clone(),
            origin: Origin { platform: env.actor.platform, place: place.clone() },
            category: c.category.clone(),
            intent: c.intent.clone(),
            confidence: c.confidence,
            ticket_type: c.ticket_type,
            priority: c.priority,
            at: now,
        });
        let mut tg = self.policies.apply(&mut t);
        w.events(number, ev);
        // Only incidents can recur as one problem (ITIL: a problem is the cause of incidents). Requests are routine:
        // five leavers in a month are five people leaving, not a recurring issue to link to a problem record (#33
        // probe), so they get no fingerprint and neither raise nor count towards recurring-issue notices.
        if t.ticket_type == super::ticket::TicketType::Incident {
            t.fingerprint = Some(super::recurring::fingerprint(&t.category, t.intent.as_deref(), text));
        }
        if let Some(old) = after {
            t.links.push(old);
            w.events(number, vec![Event { at: now, actor: None, kind: EventKind::Linked { with: old } }]);
        }
        let unsure = c.confidence < self.settings.triage.confident;
        // Nor for a safety problem: "smoke coming out of the printer" is no paper jam to clear (probe K).
        // A colleague's report of the same problem keeps its walkthrough: this person's part may differ.
        let walk = if unsure || follow_up || c.safety { None } else { self.runbook_for(&c, said) };
        // A P1 waits on nobody's self-service (#33): it goes to the technicians' queue at once. Requests still ask
        // their questions (a joiner's, a leaver's): those are what the technician needs, not a fix to try.
        let walk = walk.filter(|(rb, _)| t.priority != Priority::P1 || !rb.is_self_help());
        // A request that needs approval goes through its runbook, and so its approval, whatever led here.
        let walk = walk.or(approval.map(|(rb, step, _)| (rb, step)));
        // What the message already answers, and a leaver whose access ends now is urgent from the start.
        let mut known = walk.map(|(rb, _)| self.known_from_message(rb, &t, said, now)).unwrap_or_default();
        if let (Some((rb, _)), Some((p, _))) = (walk, person) {
            dated::take_person(rb, &mut known, p);
        }
        let ends_now = walk.and_then(|(rb, _)| self.access_ends_now(rb, &mut t, &known, now, w));
        if ends_now.is_some() {
            tg = self.policies.apply(&mut t);
        }
        if let Some((rb, first)) = walk.filter(|(rb, _)| rb.needs_approval_from(self.role_of(&env.actor))) {
            let linked = &linked_words;
            let msg = format!(
                "Ticket {number} opened: {} ({} {} {}{linked}). A few questions first, then it goes to a {} for \
                 approval:",
                rb.title,
                t.category,
                t.priority,
                t.ticket_type,
                rb.approval.as_ref().map(|a| a.approver.as_str()).unwrap_or("manager")
            );
            w.send(Outbound::to_user(&env.actor, &place, msg).about(number));
            if c.safety {
                self.advise(env, &place, number, text, w);
            }
            self.start_walk_known(rb, first, &t, known, now, w);
            self.tell_while_walking(rb, &t, ends_now, true, now, w);
            self.check_recurring(&t, now, w).await?;
            w.commit.inserts.push(t);
            return Ok(());
        }
        if let Some((rb, first)) = walk {
            let due = tg
                .first_response_due
                .map(|d| {
                    format!(
                        " A technician will respond by {} ({}) if we can't fix it together.",
                        self.fmt_time(d),
                        target_phrase(&tg.first_response, d, now)
                    )
                })
                .unwrap_or_default();
            // A request's walkthrough (joiner, leaver) collects what the technician needs; it fixes nothing.
            let msg = if rb.ticket_type == crate::core::ticket::TicketType::Request {
                format!(
                    "Ticket {number} opened: {} ({} {} {}). A few questions first, then it goes to a technician:",
                    rb.title, t.category, t.priority, t.ticket_type
                )
            } else {
                format!(
                    "Ticket {number} opened: {} ({} {}){linked_words}.{due} Let's try the usual fix first:",
                    t.category, t.priority, t.ticket_type
                )
            };
            w.send(Outbound::to_user(&env.actor, &place, msg).about(number));
            if c.safety {
                self.advise(env, &place, number, text, w);
            }
            self.start_walk_known(rb, first, &t, known, now, w);
            self.tell_while_walking(rb, &t, ends_now, false, now, w);
            self.check_recurring(&t, now, w).await?;
            w.commit.inserts.push(t);
            return Ok(());
        }
        // Unsure (an urgent message opens at once in its likeliest category): the requester hears that guess as the card
        // shows it, and that it is one (probe T: "I couldn't tell what this is about" beside a card saying security).
        let mut what = if unsure {
            format!(
                "{} ({} {}) at a first guess; a technician will check what it's about",
                t.category, t.priority, t.ticket_type
            )
        } else {
            format!("{} ({} {})", t.category, t.priority, t.ticket_type)
        };
        what.push_str(&linked_words);
        let reply = match tg.first_response_due {
            // Urgent: the requester hears that it is with the technicians now, not that they should try something.
            Some(due) if t.priority == Priority::P1 => format!(
                "Ticket {number} opened: {what}. It's urgent, so it's gone straight to the technicians: someone will \
                 respond by {} ({}).",
                self.fmt_time(due),
                target_phrase(&tg.first_response, due, now)
            ),
            Some(due) => format!(
                "Ticket {number} opened: {what}. A technician will respond by {} ({}).",
                self.fmt_time(due),
                target_phrase(&tg.first_response, due, now)
            ),
            None => format!("Ticket {number} opened: {what}."),
        };
        w.send(Outbound::to_user(&env.actor, &place, reply).about(number));
        if c.safety {
            self.advise(env, &place, number, text, w);
        }
        w.send(self.card(&t, now));
        self.check_recurring(&t, now, w).await?;
        w.commit.inserts.push(t);
        Ok(())
    }

    /// Who hears of a ticket at open while its walkthrough runs. A P2 incident cannot wait for the walkthrough's
    /// timeouts (probe K: two 30-minute steps used up its 1h response target before the card was posted): the
    /// technicians see it now, while the requester tries the fix. Nor can a leaver whose access ends now: the queue
    /// sees it, or its approvers hear of it (see [`Desk::tell_urgent_leaver`]).
    fn tell_while_walking(
        &self,
        rb: &super::runbook::Runbook,
        t: &Ticket,
        urgent: Option<dated::UrgentLeaver>,
        needs_approval: bool,
        now: Timestamp,
        w: &mut Work,
    ) {
        if t.priority <= Priority::P2 && rb.ticket_type == crate::core::ticket::TicketType::Incident {
            let mut card = self.card(t, now);
            card.text.push_str(&format!(" · trying “{}” with deskbot meanwhile", rb.title));
            w.send(card);
        } else if let Some(urgent) = urgent {
            self.tell_urgent_leaver(rb, t, urgent, needs_approval, now, w);
        }
    }

    /// What to do meanwhile, for a message triage found `safety` in (a booster with advice: a swelling battery, a
    /// spilled drink); only then are the advice boosters run again, to pick the words.
    fn advise(&self, env: &Envelope, place: &Place, number: TicketNo, text: &str, w: &mut Work) {
        if let Some(a) = self.classifier().advice_for(text) {
            w.send(Outbound::to_user(&env.actor, place, a.to_string()).about(number));
        }
    }

    /// The queue-channel card for a ticket, showing its current state. Platforms that edit messages in place
    /// keep one card per ticket up to date (see [`Desk::commit`]); the others get it when it is first posted.
    /// A DM to a member of staff on the staff platform.
    pub(super) fn staff_dm(&self) -> Place {
        Place { dm: true, ..self.staff_place() }
    }

    pub(super) fn card(&self, t: &Ticket, now: Timestamp) -> Outbound {
        let unowned_active = t.owner.is_none() && t.state.is_active();
        let mut text = if t.alert.is_some() {
            self.alert_card_text(t, now)
        } else {
            let mut text = format!(
                "{} {} · {} · {} · from {}: {}",
                match (t.major, unowned_active) {
                    (true, _) => "Major incident",
                    // Probe F: a reopened ticket's card started "New ticket".
                    (false, true) if t.reopen_count > 0 => "Reopened ticket",
                    (false, true) => "New ticket",
                    (false, false) => "Ticket",
                },
                t.number,
                t.priority,
                t.category,
                t.requester.shown(),
                quote(&t.title),
            );
            if t.major {
                text.push_str(&format!(" · {} affected", super::conversation::people(t.people_affected())));
            }
            if t.state.is_active() {
                text.push_str(&format!(" · {}", self.due_phrase(t, now)));
            }
            if let Some(d) = self.work_date_phrase(t) {
                text.push_str(&format!(" · {d}"));
            }
            // A follow-up says what it follows (probe F: the card of "wait no, still freezing" named no ticket).
            if !t.links.is_empty() {
                let links: Vec<String> = t.links.iter().map(|n| n.to_string()).collect();
                text.push_str(&format!(" · linked to {}", links.join(", ")));
            }
            text
        };
        if let Some(o) = &t.owner {
            text.push_str(&format!(" · owner {}", o.shown()));
        }
        if t.alert.is_none() && (!t.state.is_active() || t.state != State::New && t.state != State::Open) {
            text.push_str(&format!(" · {}", t.state));
        }
        // Reply asks for text (a modal on platforms that have them; the command form elsewhere).
        let mut buttons = vec![];
        if let Some(approver) = &t.awaiting_approval {
            // Nothing to claim or resolve before the decision.
            text.push_str(&format!(" · waiting for a {approver}'s approval"));
            buttons.push(Button::new("Reply", command::action("reply", t.number)));
        } else if t.state.is_active() {
            if t.owner.is_none() {
                buttons.push(Button::new("Claim", command::action("claim", t.number)).primary());
            }
            if t.alert.is_none() {
                buttons.push(Button::new("Reply", command::action("reply", t.number)));
            }
            buttons.push(Button::new("Resolve", command::action("resolve", t.number)));
            if Self::silenceable(t) {
                buttons.push(Button::new("Silence 2h", command::action(super::silence::BUTTON_VERB, t.number)));
            }
            if !self.settings.vendors.covering(&t.category).is_empty() {
                buttons.push(Button::new("Escalate", command::action("escalate", t.number)));
            }
        } else if t.merged_into.is_none() && t.declined_by.is_none() {
            buttons.push(Button::new("Reopen", command::action("reopen", t.number)));
        }
        // An offer to close that waits ("nvm" and no answer since): the technician may only need to ask.
        if let Some(said) = t.close_offer_after.as_ref().filter(|_| t.close_offered.is_some() && t.state.is_active()) {
            text.push_str(&format!(
                "\n{} said {} and was asked whether to close it: no answer yet",
                t.requester.shown(),
                quote(said)
            ));
        }
        // What self-service collected, so the technician starts from it (#33): bounded, the requester's words quoted.
        if let Some(r) = t.walk_record.as_ref().filter(|_| t.alert.is_none()) {
            text.push_str(&format!("\nSelf-service tried: {} — {}", quote(&r.title), r.status));
            let collected = r.text();
            if !collected.is_empty() {
                text.push('\n');
                text.push_str(&collected);
            }
        }
        let mut m = Outbound::to_channel(t.origin.platform, &self.settings.queue_channel, text)
            .with_buttons(buttons)
            .kind(MessageKind::Card)
            .about(t.number);
        m.place = self.staff_place();
        m
    }

    /// The card of a ticket its requester reopened, saying so under its first line: after self-service ("Still
    /// broken") it carries what the walkthrough collected, as a hand-off's card does.
    fn reopened_card(&self, t: &Ticket, by: &UserRef, reason: Option<&str>, now: Timestamp) -> Outbound {
        let mut card = self.card(t, now);
        let why = reason.map(str::trim).filter(|r| !r.is_empty()).map(|r| format!(": {}", quote(r)));
        let after = match &t.walk_record {
            Some(r) if r.status == super::runbook::FIXED_STATUS || r.status == super::runbook::NO_ACTION_STATUS => {
                " after self-service"
            }
            _ => "",
        };
        let line = format!("Reopened by {}{after}{}", by.shown(), why.unwrap_or_default());
        card.text = match card.text.split_once('\n') {
            Some((first, rest)) => format!("{first}\n{line}\n{rest}"),
            None => format!("{}\n{line}", card.text),
        };
        card
    }

    fn staff_place(&self) -> Place {
        Place { channel: self.settings.queue_channel.clone(), ..Place::default() }
    }

    /// "response due in 3h 55m (Mon 2 Mar 13:00 UTC)" or the resolution clock once answered.
    fn due_phrase(&self, t: &Ticket, now: Timestamp) -> String {
        let (what, due) = if t.first_response_at.is_none() {
            ("response", t.first_response_due)
        } else {
            ("resolution", t.resolution_due)
        };
        match due {
            Some(d) if d >= now => format!("{what} due in {} ({})", human(d - now), self.fmt_time(d)),
            Some(d) => format!("{what} overdue by {} ({})", human(now - d), self.fmt_time(d)),
            None if matches!(t.state, State::PendingUser | State::PendingVendor) => {
                format!("{what} clock paused ({})", t.state)
            }
            None if t.approval_wait_since().is_some() => format!("{what} clock paused until it is decided"),
            None => format!("no {what} target"),
        }
    }

    /// A time as people read it, in the configured zone: `Mon 2 Mar 13:00 UTC`.
    pub fn fmt_time(&self, t: Timestamp) -> String {
        t.with_timezone(&self.settings.timezone).format("%a %-d %b %H:%M %Z").to_string()
    }

    async fn load(&self, n: TicketNo) -> Result<Result<Ticket, Refusal>, DeskError> {
        Ok(self.store.ticket(n).await?.ok_or_else(|| Refusal::from(format!("there is no ticket {n}"))))
    }

    async fn on_command(&self, env: &Envelope, cmd: Command, now: Timestamp, w: &mut Work) -> Result<Flow, DeskError> {
        let role = self.role_of(&env.actor);
        let me = &env.actor;
        let ticket = match cmd.ticket() {
            Some(n) => match self.load(n).await? {
                Ok(t) => Some(t),
                // To someone who may not see others' tickets, "no such ticket" and "not yours" read the same, so
                // ticket numbers cannot be probed.
                Err(r) => {
                    if !role.is_staff()
                        && let Err(reason) = authorize(role, &cmd, None, me, &self.approvers())
                    {
                        return Ok(Flow::Refused(reason.into()));
                    }
                    return Ok(Flow::Refused(r));
                }
            },
            None => None,
        };
        if let Err(reason) = authorize(role, &cmd, ticket.as_ref(), me, &self.approvers()) {
            return Ok(Flow::Refused(reason.into()));
        }
        if let Some(t) = &ticket
            && let Some(r) = self.before_approval(t, &cmd, me).await?
        {
            return Ok(Flow::Refused(r));
        }
        // A name this process has not seen may be known to another replica.
        if let Command::Assign(_, who) = &cmd
            && !self.knows(me.platform, who)
        {
            self.load_names(me.platform, true).await?;
        }
        let as_admin = ticket.as_ref().is_some_and(|t| self.beyond_technician(me, t, &cmd));
        let (n, verb) = (cmd.ticket(), cmd.verb());
        let flow = self.run_command(env, cmd, ticket, now, w).await?;
        // An admin doing what only a lead (or an approver) may is recorded as such next to what it changed (#30).
        if let (Flow::Ok, true, Some(n)) = (&flow, as_admin, n)
            && w.commit.events.iter().any(|(m, _)| *m == n)
        {
            w.events(
                n,
                vec![Event { at: now, actor: Some(me.clone()), kind: EventKind::AsAdmin { action: verb.into() } }],
            );
        }
        Ok(flow)
    }

    /// Whether `me` does `cmd` on `t` as an admin beyond a technician's role: reassigning or unclaiming a ticket
    /// someone else owns or acting on its vendor cases (what a lead may do), or deciding on a request that waits
    /// for another role. A lead doing the first is in their role, and not marked.
    fn beyond_technician(&self, me: &UserRef, t: &Ticket, cmd: &Command) -> bool {
        if self.role_of(me) != Role::Admin {
            return false;
        }
        match cmd {
            Command::Assign(..)
            | Command::Unclaim(_)
            | Command::Escalate(..)
            | Command::VendorClose(..)
            | Command::Chase(..)
            | Command::Snooze(..) => t.owner.as_ref().is_some_and(|o| !o.same_person(me)),
            Command::Approve(_) | Command::Decline(..) => {
                t.awaiting_approval.as_deref().is_some_and(|a| Role::parse(a) != Some(Role::Admin))
            }
            _ => false,
        }
    }

    /// How `me` is named to the owner of a ticket they act on beyond a technician's role (see
    /// [`Desk::beyond_technician`]): "ada (as admin)" for an admin, so the owner knows it was not a lead's call.
    pub(super) fn acting_name(&self, me: &UserRef) -> String {
        match self.role_of(me) {
            Role::Admin => format!("{} (as admin)", me.shown()),
            _ => me.shown(),
        }
    }

    /// Before a request that needs approval is decided, technicians may talk to the requester about it (reply,
    /// note, show, link, re-categorise) but not work it, park it or make it more urgent: claim, assign, pending,
    /// priority, checklist, escalation to a vendor, major incident, merge and resolve wait for the decision. That
    /// holds from the first question of its walkthrough, so taking it over early is no way round the approval.
    async fn before_approval(&self, t: &Ticket, cmd: &Command, me: &UserRef) -> Result<Option<Refusal>, DeskError> {
        let held = matches!(
            cmd,
            Command::Claim(_)
                | Command::Assign(..)
                | Command::Resolve(..)
                | Command::Merge(..)
                | Command::Pending(..)
                | Command::Priority(..)
                | Command::Check(..)
                | Command::Uncheck(..)
                | Command::Escalate(..)
                | Command::Major(_)
        );
        if let Some(by) = &t.declined_by {
            // A declined request is closed for good: nothing about it changes, and there is nothing to rate.
            let what = match cmd {
                Command::Priority(..) => Some("its priority stays as it was"),
                Command::Category(..) => Some("its category stays as it was"),
                Command::Rate(..) | Command::Feedback(..) => Some("there is no fix to rate"),
                _ => None,
            };
            if let Some(what) = what {
                let text =
                    format!("{} was declined by {by}, so {what}; start a new request if things have changed", t.number);
                return Ok(Some(Refusal::audited(text, t.number, cmd.verb())));
            }
        }
        // A merged duplicate or a ticket folded into a major incident is worked where it went: its own priority and
        // category no longer mean anything, and changing them would only skew the reports (#30).
        let went = match t.merged_into {
            Some(n) => Some(("merged into", self.end_of_merges(n).await?)),
            None => t.parent.map(|n| ("part of major incident", n)),
        };
        if let Some((how, into)) = went {
            if let Command::Reopen(..) = cmd {
                return Ok(Some(self.not_reopened_alone(t, into, me).await?));
            }
            let what = match cmd {
                Command::Priority(..) => Some("priority"),
                Command::Category(..) => Some("category"),
                _ => None,
            };
            // Work on a merged or folded ticket that has ended belongs where it went: "reopen it first" would
            // advise a reopen that is refused for it (#30).
            let works = matches!(
                cmd,
                Command::Claim(_)
                    | Command::Unclaim(_)
                    | Command::Assign(..)
                    | Command::Reply(..)
                    | Command::Resolve(..)
                    | Command::Pending(..)
                    | Command::Prompt(..)
                    | Command::Check(..)
                    | Command::Uncheck(..)
                    | Command::Escalate(..)
                    | Command::VendorRef(..)
                    | Command::VendorUpdate(..)
                    | Command::VendorClose(..)
                    | Command::Chase(..)
                    | Command::Snooze(..)
            );
            if what.is_none() && works && !t.state.is_active() {
                let text =
                    format!("{} is {how} {into} and is worked there: /ticket {} {} …", t.number, cmd.verb(), into.0);
                return Ok(Some(Refusal::state(text)));
            }
            if let Some(what) = what {
                let text = format!(
                    "{} is {how} {into}, so its {what} stays as it was; change {into}'s instead (/ticket {} {} …)",
                    t.number,
                    cmd.verb(),
                    into.0
                );
                return Ok(Some(Refusal::audited(text, t.number, cmd.verb())));
            }
        }
        if !held || !t.state.is_active() {
            return Ok(None);
        }
        let until = format!(
            ": until it is decided you can reply to {} or add a note; claim, assign, pending, priority and resolve \
             wait for the decision",
            t.requester.shown()
        );
        let text = if let Some(approver) = &t.awaiting_approval {
            format!("{} is waiting for a {approver}'s approval{until}", t.number)
        } else if let Some(approver) = self.approval_walk_running(t.number).await? {
            format!(
                "{} needs a {approver}'s approval and {} is still answering its questions{until}",
                t.number,
                t.requester.shown()
            )
        } else {
            return Ok(None);
        };
        Ok(Some(Refusal::audited(text, t.number, cmd.verb())))
    }

    /// The approver role an active request still waits for (sent for approval, or still answering the questions
    /// before it is), if any.
    async fn awaiting_decision(&self, t: &Ticket) -> Result<Option<String>, DeskError> {
        if !t.state.is_active() {
            return Ok(None);
        }
        if let Some(approver) = &t.awaiting_approval {
            return Ok(Some(approver.clone()));
        }
        self.approval_walk_running(t.number).await
    }

    async fn run_command(
        &self,
        env: &Envelope,
        cmd: Command,
        ticket: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let me = &env.actor;
        let cmd_ticket = cmd.ticket();
        // A second approver's late Approve or Decline: who decided, and when (#33 probe: "#1 is not waiting for
        // approval" left them guessing whether their click counted).
        if matches!(cmd, Command::Approve(_) | Command::Decline(..))
            && let Some(t) = ticket.as_ref().filter(|t| t.awaiting_approval.is_none())
            && let Some(e) = self
                .store
                .events(t.number)
                .await?
                .into_iter()
                .rev()
                .find(|e| matches!(e.kind, EventKind::Approval { .. }))
        {
            let decided =
                if matches!(e.kind, EventKind::Approval { approved: true, .. }) { "approved" } else { "declined" };
            let who = e.actor.as_ref().map(|a| self.acting_name(a)).unwrap_or_else(|| "someone".to_string());
            let text = format!(
                "{} was already {decided} by {who} ({}): there is nothing left to decide, and your {} changed nothing.",
                t.number,
                self.fmt_time(e.at),
                cmd.verb()
            );
            return Ok(Flow::Refused(Refusal::state(text)));
        }
        match cmd {
            Command::Start(id) => self.start_request(env, &id, now, w).await,
            Command::Queue { .. } | Command::Mine | Command::Find(_) => {
                let mut out = vec![];
                self.list(env, &cmd, &mut out).await?;
                w.commit.outbox.extend(out);
                Ok(Flow::Ok)
            }
            Command::Escalate(..)
            | Command::VendorRef(..)
            | Command::VendorUpdate(..)
            | Command::VendorClose(..)
            | Command::Chase(..)
            | Command::Snooze(..) => {
                let escalating = matches!(cmd, Command::Escalate(_, Some(_), _));
                let n = cmd.ticket();
                let flow = self.vendor_command(env, cmd, ticket, now, w).await?;
                if escalating
                    && matches!(flow, Flow::Ok)
                    && let Some(n) = n
                {
                    self.end_walk_taken_over(n, &env.actor, now, w).await?;
                }
                Ok(flow)
            }
            Command::Silence(_, length, comment) => self.silence_command(env, length, comment, ticket, now, w),
            Command::Show(_) => {
                let Some(t) = ticket else {
                    return Ok(Flow::Refused("that command needs a ticket number".to_string().into()));
                };
                let events = self.store.events(t.number).await?;
                let mut text = self.show(&t, now);
                // The alerts as they are now: the description above is what the first notification said (probe: a
                // resolved alert still read "firing since …" there).
                if let Some(a) = t.alert.as_ref().filter(|a| !a.alerts.is_empty()) {
                    let firing = a.alerts.iter().filter(|m| m.status == super::alerts::AlertStatus::Firing).count();
                    text.push_str(&format!("\nAlerts now: {firing} firing, {} resolved", a.alerts.len() - firing));
                    for m in a.alerts.iter().take(10) {
                        let who = m.label_text(3);
                        let who = if who.is_empty() { a.summary.clone() } else { who };
                        let state = match (m.status, m.ends_at, m.starts_at) {
                            (super::alerts::AlertStatus::Resolved, Some(e), _) => {
                                format!("resolved {}", self.fmt_time(e))
                            }
                            (super::alerts::AlertStatus::Resolved, None, _) => "resolved".to_string(),
                            (_, _, Some(s)) => format!("firing since {}", self.fmt_time(s)),
                            _ => "firing".to_string(),
                        };
                        text.push_str(&format!("\n- {who}: {state}"));
                    }
                    if a.alerts.len() > 10 {
                        text.push_str(&format!("\n- and {} more", a.alerts.len() - 10));
                    }
                }
                if let Some(cl) = &t.checklist {
                    text.push_str(&format!("\nChecklist:\n{}", cl.text().trim_end()));
                }
                // What self-service collected (#33): the walkthrough running now, else the one that ended.
                if let Some(r) = self.walk_in_progress(t.number).await?.or_else(|| t.walk_record.clone()) {
                    text.push_str(&format!("\nSelf-service: {} — {}", quote(&r.title), r.status));
                    let collected = r.text();
                    if !collected.is_empty() {
                        text.push('\n');
                        text.push_str(&collected);
                    }
                }
                text.push_str(&self.vendor_lines(&t, now));
                text.push_str(&self.history(&events, self.role_of(me).is_staff()));
                w.send(Outbound::to_user(me, &env.place, text).kind(MessageKind::Ephemeral));
                Ok(Flow::Ok)
            }
            Command::Major(_) => {
                let owner = ticket.as_ref().and_then(|t| t.owner.clone()).filter(|o| !o.same_person(&env.actor));
                let flow = self.mark_major(env, ticket, now, w).await?;
                if let (Flow::Ok, Some(o), Some(n)) = (&flow, owner, cmd_ticket) {
                    let msg = format!("{} used /ticket major on {n}, which you own.", env.actor.shown());
                    w.send(Outbound::to_user(&o, &Place { dm: true, ..self.staff_place() }, msg).about(n));
                }
                Ok(flow)
            }
            Command::Merge(..) | Command::Link(..) | Command::Problems | Command::Problem(_) => {
                Ok(match self.workflow(env, cmd, ticket, now, w).await? {
                    Ok(()) => Flow::Ok,
                    Err(r) => Flow::Refused(r),
                })
            }
            cmd => {
                let takes_over = matches!(cmd, Command::Claim(_) | Command::Reply(..) | Command::Resolve(..));
                let n = cmd.ticket();
                // Any technician may help on a ticket another one owns; the owner hears about it.
                let owner = ticket.as_ref().and_then(|t| t.owner.clone()).filter(|o| !o.same_person(me));
                let helping = matches!(
                    cmd,
                    Command::Reply(..)
                        | Command::Resolve(..)
                        | Command::Priority(..)
                        | Command::Category(..)
                        | Command::Pending(..)
                        | Command::Close(..)
                        | Command::Note(..)
                );
                // A note is told with what it says: the owner would otherwise have to go and look (#30).
                let note = match &cmd {
                    Command::Note(_, text) => Some(bound_text(text)),
                    _ => None,
                };
                let verb = cmd.verb();
                match self.apply(env, cmd, ticket, now, w) {
                    Ok(()) => {
                        if helping
                            && self.role_of(me).is_staff()
                            && let (Some(o), Some(n)) = (owner, n)
                        {
                            let place = Place { dm: true, ..self.staff_place() };
                            let msg = match &note {
                                Some(text) => {
                                    format!("{} added a note to {n}, which you own: {}", me.shown(), quote(text))
                                }
                                None => format!("{} used /ticket {verb} on {n}, which you own.", me.shown()),
                            };
                            w.send(Outbound::to_user(&o, &place, msg).about(n));
                        }
                        // A technician acting on the ticket ends any self-service walkthrough still running.
                        if takes_over && let Some(n) = n {
                            self.end_walk_taken_over(n, &env.actor, now, w).await?;
                        }
                        Ok(Flow::Ok)
                    }
                    Err(r) => Ok(Flow::Refused(r)),
                }
            }
        }
    }

    /// Runs a command on one ticket (already loaded and authorised).
    fn apply(
        &self,
        env: &Envelope,
        cmd: Command,
        ticket: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), Refusal> {
        let me = &env.actor;
        let here = |text: String| Outbound::to_user(me, &env.place, text).kind(MessageKind::Ephemeral);
        let Some(mut t) = ticket else {
            if cmd == Command::Help {
                w.send(here(command::help_for(self.role_of(me))));
                return Ok(());
            }
            return Err(Refusal::from("that command needs a ticket number".to_string()));
        };
        match cmd {
            Command::Help
            | Command::Queue { .. }
            | Command::Mine
            | Command::Find(_)
            | Command::Problems
            | Command::Merge(..)
            | Command::Link(..)
            | Command::Problem(_)
            | Command::Major(_)
            | Command::Show(_)
            | Command::Escalate(..)
            | Command::VendorRef(..)
            | Command::VendorUpdate(..)
            | Command::VendorClose(..)
            | Command::Chase(..)
            | Command::Snooze(..)
            | Command::Silence(..) => w.send(here(command::help_for(self.role_of(me)))),
            Command::Assign(_, who) => {
                let to = self.person(me.platform, &who, t.number)?;
                let who = &to.name;
                let to_role = self.role_of(&to);
                if !to_role.is_staff() {
                    return Err(format!(
                        "{who} is not a technician (they are a {to_role}); assign to a technician or lead"
                    )
                    .into());
                }
                let before = t.owner.clone();
                let ev = t.assign(&to, me, now)?;
                w.events(t.number, ev);
                self.hand_over_cases(&t, before.as_ref(), &to, me, now, w);
                let place = Place { dm: true, ..self.staff_place() };
                if !to.same_person(me) {
                    w.send(
                        Outbound::to_user(
                            &to,
                            &place,
                            format!("{} assigned {} to you: {}", me.shown(), t.number, quote(&t.title)),
                        )
                        .about(t.number),
                    );
                }
                if let Some(prev) = before.filter(|p| !p.same_person(me) && !p.same_person(&to)) {
                    w.send(
                        Outbound::to_user(
                            &prev,
                            &place,
                            format!("{} reassigned {} from you to {}.", self.acting_name(me), t.number, to.shown()),
                        )
                        .about(t.number),
                    );
                }
                w.send(self.to_requester(&t, format!("{} is now handling your ticket {}.", to.shown(), t.number)));
                w.send(here(format!("{} now belongs to {}.", t.number, to.shown())));
                w.commit.updates.push(t);
            }
            Command::Priority(_, p) if p == t.priority && !t.priority_by_staff => {
                // Setting the priority it already has keeps it there: the requester's wording no longer moves it.
                t.priority_by_staff = true;
                w.events(t.number, t.note(me, &format!("kept the priority at {p}"), now)?);
                w.send(here(format!("{} stays {p}; the requester's wording no longer changes it.", t.number)));
                w.commit.updates.push(t);
            }
            Command::Priority(_, p) => {
                let ev = t.set_priority(p, me, now)?;
                t.priority_by_staff = true;
                w.events(t.number, ev);
                w.send(here(format!("{} is now {p}; its SLA targets follow.", t.number)));
                w.commit.updates.push(t);
            }
            Command::Category(_, c) if c == "none" => {
                return Err(Refusal::state(format!(
                    "`none` means \"not an IT request\", which is no category for a ticket; to end {} as not for IT, \
                     resolve it with a reason (/ticket resolve {} not an IT request: …)",
                    t.number, t.number.0
                )));
            }
            Command::Category(_, c) => {
                let classifier = self.classifier();
                let Some(cat) = classifier.category(&c) else {
                    let known: Vec<&str> = classifier.categories().iter().map(|c| c.id.as_str()).collect();
                    return Err(format!("unknown category `{c}` (known: {})", known.join(", ")).into());
                };
                let ev = t.set_category(&c, me, now)?;
                w.events(t.number, ev);
                if c != "none" && c != "other" {
                    w.commit.training.push((t.description.clone(), c.clone(), format!("correction {}", t.number)));
                }
                t.fingerprint = Some(super::recurring::fingerprint(&c, None, &t.description));
                w.send(here(format!("{} is now in {} ({}); deskbot will learn from this.", t.number, c, cat.label)));
                w.commit.updates.push(t);
            }
            Command::Rate(_, good) => {
                if t.state.is_active() {
                    return Err(Refusal::state(format!("{} is not resolved yet; rate it once it is", t.number)));
                }
                let comment = t.csat.as_ref().and_then(|c| c.comment.clone());
                t.csat = Some(super::ticket::Csat { good, at: now, comment: comment.clone() });
                w.events(
                    t.number,
                    vec![Event { at: now, actor: Some(me.clone()), kind: EventKind::Rated { good, comment } }],
                );
                let thanks = if good {
                    "Thanks, glad we could help!"
                } else {
                    "Thanks for telling us; we'll look at what went wrong."
                };
                w.send(here(format!("{thanks} To add a comment: /ticket feedback {} your comment", t.number.0)));
                w.commit.updates.push(t);
            }
            Command::Feedback(_, text) => {
                let text = bound_text(&text);
                let good = t.csat.as_ref().map(|c| c.good);
                match &mut t.csat {
                    Some(c) => c.comment = Some(text.clone()),
                    None => {
                        if t.state.is_active() {
                            return Err(format!(
                                "{} is not resolved yet; add information with a message in its thread instead",
                                t.number
                            )
                            .into());
                        }
                        t.csat = None;
                    }
                }
                let kind = EventKind::Rated { good: good.unwrap_or(true), comment: Some(text) };
                if good.is_none() {
                    return Err(format!("rate {} with the 👍 or 👎 button first", t.number).into());
                }
                w.events(t.number, vec![Event { at: now, actor: Some(me.clone()), kind }]);
                w.send(here(format!("Thanks, your comment on {} is saved.", t.number)));
                w.commit.updates.push(t);
            }
            Command::Prompt(_, verb) => {
                w.send(here(format!("To {verb} on {}, type: /ticket {verb} {} your text", t.number, t.number.0)));
            }
            Command::Sla(_) => w.send(here(self.explain_sla(&t, now))),
            Command::Claim(_) => {
                let ev = t.claim(me, now)?;
                w.events(t.number, ev);
                self.hand_over_cases(&t, None, me, me, now, w);
                w.send(here(format!("You now own {}: {}", t.number, quote(&t.title))).about(t.number));
                w.send(self.to_requester(&t, format!("{} is now handling your ticket {}.", me.shown(), t.number)));
                w.commit.updates.push(t);
            }
            Command::Unclaim(_) => {
                let before = t.owner.clone();
                self.refuse_unclaim_with_cases(&t)?;
                let ev = t.unclaim(me, now)?;
                w.events(t.number, ev);
                w.send(here(format!("{} is back in the queue with no owner.", t.number)));
                if let Some(prev) = before.filter(|p| !p.same_person(me)) {
                    // A lead took it off its owner: the owner hears it from deskbot, not from the queue.
                    let place = Place { dm: true, ..self.staff_place() };
                    let msg = format!(
                        "{} unclaimed {}, which you owned; it is back in the queue.",
                        self.acting_name(me),
                        t.number
                    );
                    w.send(Outbound::to_user(&prev, &place, msg).about(t.number));
                }
                if t.state.is_active() {
                    // They were told who was handling it; now nobody is.
                    w.send(self.to_requester(
                        &t,
                        format!(
                            "{} is back in the technicians' queue; you'll hear when someone picks it up.",
                            t.number
                        ),
                    ));
                }
                w.commit.updates.push(t);
            }
            Command::Reply(_, text) if t.alert.is_some() && t.affected.is_empty() => {
                // Nothing is ever sent to the monitoring source: the text is kept as a note, and writing on the
                // ticket acknowledges it.
                let text = bound_text(&text);
                let ev = t.alert_reply(me, &text, now)?;
                w.events(t.number, ev);
                let source = t.requester.name.clone();
                w.send(here(format!(
                    "{} was raised by {source}, so there is nobody to reply to: your text is saved on it as an \
                     internal note, and the alert counts as acknowledged.",
                    t.number
                )));
                w.commit.updates.push(t);
            }
            Command::Reply(_, text) => {
                let text = bound_text(&text);
                let ev = t.reply(me, &text, now)?;
                w.events(t.number, ev);
                w.send(self.to_requester(&t, format!("{} on {}: {}", me.shown(), t.number, text)));
                self.tell_affected(&t, &super::conversation::major_update(&me.shown(), t.number, &text), w);
                let to = if t.affected.is_empty() {
                    t.requester.name.clone()
                } else {
                    format!("everyone affected ({})", super::conversation::people(t.people_affected()))
                };
                w.send(here(format!("Reply sent to {to} on {}.", t.number)));
                w.commit.updates.push(t);
            }
            Command::Note(_, text) => {
                let ev = t.note(me, &bound_text(&text), now)?;
                w.events(t.number, ev);
                w.send(here(format!("Internal note added to {} (not shown to {}).", t.number, t.requester.shown())));
                w.commit.updates.push(t);
            }
            Command::Resolve(_, text) => {
                if let Some(cl) = &t.checklist {
                    cl.check_resolvable().map_err(Refusal::state)?;
                }
                // A leaver resolved before its access end would drop the access-removal alert, and access would
                // stay (#33 probe). Removing it early on purpose is said so: "/ticket resolve N early: …".
                let early = text.as_deref().is_some_and(|s| s.trim_start().to_lowercase().starts_with("early"));
                if let Some(at) = t.access_end_ahead(now)
                    && !early
                {
                    return Err(Refusal::state(format!(
                        "{}'s access ends {}: resolve it once access has been removed then (you are alerted at that \
                         time). If it was removed early on purpose, say so: /ticket resolve {} early: WHAT WAS DONE",
                        t.number,
                        self.fmt_time(at),
                        t.number.0
                    )));
                }
                let text = text.map(|s| bound_text(&s));
                let ev = t.resolve(me, text.as_deref(), false, now)?;
                // A resolution text reaches the requester: from a technician it is a response (and answers what
                // the requester last wrote). Without a text, an unanswered message stays unanswered after a reopen.
                if text.as_deref().is_some_and(|s| !s.trim().is_empty())
                    && self.role_of(me).is_staff()
                    && !t.requester.same_person(me)
                {
                    t.responded(now);
                }
                w.events(t.number, ev);
                // Resolving ends the open vendor cases (their follow-ups stop); each vendor is sent a closure note.
                // The resolution text is written to the requester (names, their data, "your new password is on
                // its way"): the vendor is told only that it is resolved (#35: nothing internal leaks).
                let ended = self.end_cases(&mut t, Some(me), "it is resolved", false, now, &mut w.commit);
                let said = text.as_deref().map(|s| format!(": {}", s.trim_end_matches('.'))).unwrap_or_default();
                let msg = format!(
                    "{} marked your ticket {} resolved{said}. If it is still broken, press Reopen or reply here.",
                    me.shown(),
                    t.number
                );
                w.send(self.to_requester(&t, msg).with_buttons(vec![
                    Button::new("Reopen", command::action("reopen", t.number)),
                    Button::new("👍 Good", command::action("rate-good", t.number)),
                    Button::new("👎 Not good", command::action("rate-bad", t.number)),
                ]));
                self.tell_merged(&t, &said, w);
                self.tell_affected(&t, &super::conversation::major_resolved(t.number, text.as_deref()), w);
                match t.alert.as_deref().filter(|a| a.firing_count() > 0 || a.truncated > 0) {
                    Some(a) => {
                        let n = a.firing_count();
                        let what = if n > 0 {
                            format!("{n} alert{} of its group still firing", if n == 1 { "" } else { "s" })
                        } else {
                            format!("{} left out by {} may still fire", a.truncated, t.requester.shown())
                        };
                        w.send(here(format!(
                            "Resolved {}, but monitoring has not reported its alert resolved: {what}. If it is \
                             still firing when {} reports the group again, deskbot opens a new ticket linked to {}.",
                            t.number,
                            t.requester.shown(),
                            t.number
                        )));
                    }
                    None => w.send(here(format!("Resolved {}.", t.number))),
                }
                if !ended.is_empty() {
                    let cases =
                        format!("vendor case{} with {}", if ended.len() == 1 { "" } else { "s" }, ended.join(", "));
                    w.send(here(format!("Closed the {cases} on {}; each vendor is sent a closure note.", t.number)));
                    if let Some(o) = t.owner.as_ref().filter(|o| !o.same_person(me)) {
                        let msg = format!("{} resolved {}, which closed your {cases}.", me.shown(), t.number);
                        w.send(Outbound::to_user(o, &Place { dm: true, ..self.staff_place() }, msg).about(t.number));
                    }
                }
                w.commit.updates.push(t);
            }
            Command::Reopen(_, reason) => {
                self.may_reopen(&t, me, now)?;
                let self_served = t.deflected || t.no_it_action;
                let ev = self.reopen(&mut t, me, reason.as_deref(), now)?;
                w.events(t.number, ev);
                if self_served {
                    // "Still broken" after self-service: back to the technicians like a hand-off, with what it
                    // collected (#33).
                    w.send(self.reopened_card(&t, me, reason.as_deref(), now));
                }
                match t.awaiting_approval.clone() {
                    Some(approver) => {
                        // Withdrawn while it waited, and back: the approvers are asked again (nobody decided), and
                        // its clocks pause again until they do.
                        t.await_approval(&approver, now);
                        self.ask_again_for_approval(&t, &approver, w);
                        w.send(here(format!(
                            "{} is open again and waiting for a {approver}'s approval; they have been asked again.",
                            t.number
                        )));
                    }
                    None => w.send(here(format!("{} is open again.", t.number))),
                }
                if let Some(owner) = t.owner.clone().filter(|o| !o.same_person(me)) {
                    let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
                    let place = Place { dm: true, ..self.staff_place() };
                    w.send(
                        Outbound::to_user(&owner, &place, format!("{} reopened {}{why}", me.shown(), t.number))
                            .about(t.number),
                    );
                }
                w.commit.updates.push(t);
            }
            Command::Check(_, item) => {
                let Some(cl) = t.checklist.as_mut() else {
                    return Err(Refusal::state(format!("{} has no checklist", t.number)));
                };
                cl.tick(&item, &me.name, now).map_err(Refusal::state)?;
                let list = cl.text();
                let left = cl.open_items().len();
                let ticked = item.trim().to_string();
                w.events(
                    t.number,
                    vec![Event { at: now, actor: Some(me.clone()), kind: EventKind::ChecklistTicked { item: ticked } }],
                );
                // A leaver's access end still to come is the last thing before resolving (see Resolve).
                let status = match (left, t.access_end_ahead(now)) {
                    (0, Some(at)) => format!("all done; resolve it once access ends {}", self.fmt_time(at)),
                    (0, None) => "all done; it can be resolved".to_string(),
                    _ => format!("{left} open"),
                };
                w.send(here(format!("Checklist for {} ({status}):\n{}", t.number, list.trim_end())));
                w.commit.updates.push(t);
            }
            Command::Uncheck(_, item) => {
                let Some(cl) = t.checklist.as_mut() else {
                    return Err(Refusal::state(format!("{} has no checklist", t.number)));
                };
                if !t.state.is_active() {
                    return Err(Refusal::state(format!(
                        "{} is {}; reopen it first if the work is not done",
                        t.number, t.state
                    )));
                }
                cl.untick(&item).map_err(Refusal::state)?;
                let list = cl.text();
                let left = cl.open_items().len();
                w.events(
                    t.number,
                    vec![Event {
                        at: now,
                        actor: Some(me.clone()),
                        kind: EventKind::ChecklistUnticked { item: item.trim().to_string() },
                    }],
                );
                w.send(here(format!("Checklist for {} ({left} open):\n{}", t.number, list.trim_end())));
                w.commit.updates.push(t);
            }
            Command::Approve(_) | Command::Decline(..) => {
                // Withdrawn before anyone decided ("nvm, she's staying"): its Approve and Decline buttons may still
                // be pressed, and change nothing (#33 probe).
                if let Some(why) = Self::withdrawn_undecided(&t) {
                    return Err(Refusal::state(why));
                }
                let Some(approver) = t.awaiting_approval.clone().filter(|_| t.state.is_active()) else {
                    return Err(Refusal::state(format!("{} is not waiting for approval", t.number)));
                };
                self.may_decide(&t, me, &approver, cmd.verb())?;
                t.decided(now);
                let approved = matches!(cmd, Command::Approve(_));
                let reason = match &cmd {
                    Command::Decline(_, r) => r.clone(),
                    _ => None,
                };
                w.events(
                    t.number,
                    vec![Event {
                        at: now,
                        actor: Some(me.clone()),
                        kind: EventKind::Approval { approved, reason: reason.clone() },
                    }],
                );
                if approved {
                    w.send(self.to_requester(
                        &t,
                        format!("{} approved your request {}. A technician will follow up here.", me.shown(), t.number),
                    ));
                    let overdue = self.approved_late(&mut t, now, w).map(|s| format!(" {s}")).unwrap_or_default();
                    let ready = format!(
                        "{} approved {} ({}): ready for a technician.{overdue}",
                        me.shown(),
                        t.number,
                        quote(&t.title)
                    );
                    if let Some(o) = t.owner.as_ref().filter(|_| !overdue.is_empty()) {
                        let staff_dm = Place { dm: true, ..self.staff_place() };
                        w.send(Outbound::to_user(o, &staff_dm, ready.clone()).about(t.number));
                    }
                    w.send(self.to_queue(t.origin.platform, ready).about(t.number));
                    // An admin deciding in a manager's place says so ("as admin"), not "as manager".
                    let capacity = if self.role_of(me) == Role::Admin && Role::parse(&approver) != Some(Role::Admin) {
                        "admin".to_string()
                    } else {
                        approver.clone()
                    };
                    w.send(here(format!("Approved {} (as {capacity}).", t.number)));
                } else {
                    let why = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                    let ev = t.decline(me, reason.as_deref(), now)?;
                    w.events(t.number, ev);
                    w.send(self.to_requester(
                        &t,
                        sentence(&format!("{} declined your request {}{why}", me.shown(), t.number)),
                    ));
                    // The technicians saw it on the queue (and its owner, if it has one, works it): they hear the
                    // decision too, as they hear an approval (#33 probe).
                    self.tell_declined(&t, me, &why, w);
                    self.tell_merged_ended(&t, &format!("was declined by {}{why}", me.shown()), w);
                    w.send(here(format!("Declined {}.", t.number)));
                }
                w.commit.updates.push(t);
            }
            Command::Start(_) => return Err("that command does not take a ticket number".to_string().into()),
            Command::Pending(_, on, reason) => {
                if on == State::PendingUser && super::alerts::is_monitor(&t.requester) {
                    // Nobody can answer for monitoring: the ticket would wait, clocks off, for ever.
                    return Err(Refusal::state(format!(
                        "{} was raised by {}: there is nobody to wait on, so it cannot wait for the requester. Leave \
                         it open while you work on it, or use `/ticket pending {} vendor` if a vendor has it.",
                        t.number,
                        t.requester.shown(),
                        t.number.0
                    )));
                }
                // Waiting on the requester pauses the clocks, so it needs a question to them: without one the
                // ticket would sit paused with nothing for them to answer (#30). Their answer resumes it.
                // "?" or "ok" is no question: at least six letters or digits.
                if on == State::PendingUser
                    && reason.as_deref().is_none_or(|r| r.chars().filter(|c| c.is_alphanumeric()).count() < 6)
                {
                    return Err(Refusal::state(format!(
                        "say what you need from {}: /ticket pending {} user QUESTION (the SLA clocks pause only \
                         while a question to the requester is open, and their answer resumes them)",
                        t.requester.shown(),
                        t.number.0
                    )));
                }
                // The question reaches the requester: it is a public reply (and a response on the clocks).
                if on == State::PendingUser
                    && let Some(q) = reason.as_deref()
                {
                    let ev = t.reply(me, &bound_text(q), now)?;
                    w.events(t.number, ev);
                }
                let ev = t.pending(on, me, now)?;
                w.events(t.number, ev);
                let why = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                if on == State::PendingUser {
                    let msg = format!(
                        "{} Reply here; the clock waits for you.",
                        sentence(&format!("{} needs something from you on {}{why}", me.shown(), t.number))
                    );
                    w.send(self.to_requester(&t, msg));
                    w.send(here(format!(
                        "{} is waiting on {}; its SLA clocks are paused.",
                        t.number,
                        t.requester.shown()
                    )));
                } else {
                    // The reason is the technicians' (it becomes an internal note below): the requester hears only
                    // that a vendor has it.
                    w.send(self.to_requester(
                        &t,
                        format!("{} is waiting on a vendor; you'll hear here when it moves.", t.number),
                    ));
                    w.send(here(format!("{} is waiting on a vendor.", t.number)));
                }
                if let Some(r) = reason.filter(|_| on == State::PendingVendor) {
                    w.events(t.number, t.note(me, &format!("pending: {r}"), now)?);
                }
                w.commit.updates.push(t);
            }
            Command::Close(_) => {
                if let Some(cl) = &t.checklist {
                    cl.check_done("close").map_err(Refusal::state)?;
                }
                let ev = t.close(me, now)?;
                w.events(t.number, ev);
                w.send(here(format!("Closed {}.", t.number)));
                w.commit.updates.push(t);
            }
        }
        Ok(())
    }
}

impl<S: Store> Desk<S> {
    /// Runs `/ticket queue` and `/ticket mine`, which read lists from the store.
    pub async fn list(&self, env: &Envelope, cmd: &Command, w_out: &mut Vec<Outbound>) -> Result<(), DeskError> {
        let now = self.clock.now();
        let role = self.role_of(&env.actor);
        let base = TicketFilter { active_only: true, ..TicketFilter::default() };
        let (f, title, empty) = match cmd {
            Command::Mine if role.is_staff() => (
                TicketFilter { owner: Some(env.actor.key()), ..base },
                "Your tickets".to_string(),
                "You own no open tickets.".to_string(),
            ),
            Command::Mine => (
                TicketFilter { requester: Some(env.actor.key()), ..base },
                "Your open tickets".to_string(),
                "You have no open tickets.".to_string(),
            ),
            Command::Find(text) => {
                let mine = if role.is_staff() || role == Role::Manager { None } else { Some(env.actor.key()) };
                let f = TicketFilter {
                    active_only: false,
                    requester: mine,
                    text: Some(text.clone()),
                    limit: Some(200),
                    ..base
                };
                (f, format!("Tickets matching {}", quote(text)), format!("No tickets match {}.", quote(text)))
            }
            Command::Queue { category, unowned } => {
                let mut only: Vec<&str> = category.iter().map(String::as_str).collect();
                if *unowned {
                    only.push("unowned");
                }
                let title = if only.is_empty() { "Queue".to_string() } else { format!("Queue ({})", only.join(", ")) };
                let f = TicketFilter { category: category.clone(), unowned: *unowned, ..base };
                (f, title, "The queue is empty.".to_string())
            }
            _ => (base, "Queue".to_string(), "The queue is empty.".to_string()),
        };
        if let Command::Queue { category: Some(c), .. } = cmd
            && self.base.category(c).is_none()
        {
            let known: Vec<&str> = self.base.categories().iter().map(|c| c.id.as_str()).collect();
            let text = format!("unknown category `{c}` (known: {})", known.join(", "));
            w_out.push(Outbound::to_user(&env.actor, &env.place, text).kind(MessageKind::Ephemeral));
            return Ok(());
        }
        let mut ts = self.store.tickets(&f).await?;
        let searching = matches!(cmd, Command::Find(_));
        if searching {
            ts.sort_by_key(|t| std::cmp::Reverse(t.number));
        } else {
            // Major incidents first: many people are waiting on each.
            ts.sort_by_key(|t| (!t.major, next_due(t), t.number));
        }
        let text = if ts.is_empty() {
            empty
        } else {
            let mut s = if searching {
                format!("{title}: {}, newest first", ts.len())
            } else {
                format!("{title}: {} open, most urgent first", ts.len())
            };
            for t in ts.iter().take(50) {
                let owner =
                    t.owner.as_ref().map(|o| format!("owner {}", o.shown())).unwrap_or_else(|| "unowned".into());
                let major = if t.major {
                    format!("MAJOR ({} affected) ", super::conversation::people(t.people_affected()))
                } else {
                    String::new()
                };
                // Listed, so a technician can step in, but said: no card was posted yet (probe: the README said such
                // a ticket was not in the queue, and the queue showed it as plainly new).
                let state = if t.in_self_service() && t.state.is_active() {
                    format!("{} (requester in self-service)", t.state)
                } else {
                    t.state.to_string()
                };
                s.push_str(&format!(
                    "\n{major}{} {} {} · {} · {} · {} · {}: {}",
                    t.number,
                    t.priority,
                    t.category,
                    state,
                    owner,
                    if t.state.is_active() { self.due_phrase(t, now) } else { t.state.to_string() },
                    t.requester.shown(),
                    super::message::quoted(&t.title)
                ));
            }
            if ts.len() > 50 {
                s.push_str(&format!("\n… and {} more", ts.len() - 50));
            }
            s
        };
        w_out.push(Outbound::to_user(&env.actor, &env.place, text).kind(MessageKind::Ephemeral));
        Ok(())
    }

    fn to_requester(&self, t: &Ticket, text: String) -> Outbound {
        Outbound::to_user(&t.requester, &t.origin.place, text).about(t.number)
    }

    /// The requesters of duplicates merged into `t` hear that it is resolved (`said`: ": what was done", or empty).
    fn tell_merged(&self, t: &Ticket, said: &str, w: &mut Work) {
        for cc in t.cc.iter().filter(|c| !c.same_person(&t.requester)) {
            let place = conversation::own_place_of(cc);
            let text = sentence(&format!("{} (which your ticket was merged into) is resolved{said}", t.number));
            w.send(Outbound::to_user(cc, &place, text).about(t.number));
        }
    }

    /// The requesters of duplicates merged into `t` hear that it ended without a fix (`how`: "was declined by max:
    /// …", "was closed by its requester"), and that their problem needs a new ticket if it is still there.
    fn tell_merged_ended(&self, t: &Ticket, how: &str, w: &mut Work) {
        for cc in t.cc.iter().filter(|c| !c.same_person(&t.requester)) {
            let place = Place { dm: true, channel: format!("dm-{}", cc.id), thread: None, message: None };
            let text = format!(
                "{} (which your ticket was merged into) {}. If your problem is still there, describe it again and \
                 I'll open a new ticket for it.",
                t.number,
                how.trim_end_matches('.')
            );
            w.send(Outbound::to_user(cc, &place, text).about(t.number));
        }
    }

    /// [`Desk::over_rate_limit`] with the count read now.
    /// Also true when the source's intake budget is spent (see [`Desk::over_intake_budget`]).
    async fn over_limit_now(&self, env: &Envelope, now: Timestamp, w: &mut Work) -> Result<bool, DeskError> {
        if self.settings.max_new_tickets_per_hour > 0 {
            let (opened, _) = self.store.requester_recent(&env.actor.key(), now - chrono::Duration::hours(1)).await?;
            if self.over_rate_limit(env, opened, now, w).await? {
                return Ok(true);
            }
        }
        self.over_intake_budget(env, now, w).await
    }

    /// True when the person's source (their platform: a chat workspace, the HTTP intake's client) opened
    /// `intake_budget_per_minute` tickets in the last minute, everyone together: two hundred made-up identities
    /// cannot open two hundred tickets and flood the queue. The ticket is held back (its sender is asked to send it
    /// again in a few minutes), and the queue channel hears of it once per [`INTAKE_NOTICE_EVERY`]. The count is
    /// read from the database, so replicas sharing it share the budget; the notice is a versioned conversation
    /// row, so two replicas cannot both post it.
    async fn over_intake_budget(&self, env: &Envelope, now: Timestamp, w: &mut Work) -> Result<bool, DeskError> {
        let budget = self.settings.intake_budget_per_minute;
        let p = env.actor.platform;
        if budget <= 0 || !p.is_chat() {
            return Ok(false);
        }
        let opened = self.store.count_opened_on(p, now - chrono::Duration::minutes(1)).await?;
        if opened < budget {
            return Ok(false);
        }
        let msg = "Lots of new requests are coming in at once right now, so I've held yours back instead of opening \
                   a ticket. Please send it again in a few minutes (or ask a technician directly if it can't wait).";
        w.send(Outbound::to_user(&env.actor, &reply_place(env), msg.to_string()).kind(MessageKind::Ephemeral));
        let key = format!("intake:{p}");
        let conv = self.store.conversations_of(&key).await?.into_iter().find(|c| c.key == key);
        let told_until = conv.as_ref().and_then(|c| c.data.parse::<i64>().ok()).unwrap_or(0);
        if told_until <= now.timestamp_millis() {
            w.commit.conversations.push(crate::store::ConversationWrite::Put(crate::store::Conversation {
                key: key.clone(),
                owner: key,
                ticket: None,
                data: (now + INTAKE_NOTICE_EVERY).timestamp_millis().to_string(),
                deadline: None,
                version: conv.map(|c| c.version).unwrap_or(0),
            }));
            let notice = format!(
                "Intake budget reached on {p}: {opened} new tickets in the last minute (the budget is {budget}, \
                 `triage.intake_budget_per_minute`). Further new requests from {p} are held back and their senders \
                 asked to send them again in a few minutes; this is said once per {}.",
                human(INTAKE_NOTICE_EVERY)
            );
            w.send(self.to_queue(p, notice));
        }
        Ok(true)
    }

    /// Whether `opened` tickets in the last hour reach the hourly limit.
    fn at_ticket_limit(&self, opened: i64) -> bool {
        let limit = self.settings.max_new_tickets_per_hour;
        limit > 0 && opened >= limit
    }

    /// True (and the person told) when they opened too many tickets in the last hour. `opened` is how many
    /// tickets the requester opened in the last hour. Whatever they tried is answered: a command every time, and
    /// a message in the channel, in a DM, in a thread or a button press once an hour for each of those ways, so
    /// nobody is left wondering why nothing happened, and a flood still gets one answer per way.
    async fn over_rate_limit(
        &self,
        env: &Envelope,
        opened: i64,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        let limit = self.settings.max_new_tickets_per_hour;
        let hour = chrono::Duration::hours(1);
        if limit <= 0 || opened < limit {
            return Ok(false);
        }
        let way = match &env.body {
            Body::Command { .. } => None,
            Body::Action { .. } => Some("button"),
            Body::Text { .. } if env.place.dm => Some("dm"),
            Body::Text { .. } if env.place.thread.is_some() => Some("thread"),
            Body::Text { .. } => Some("channel"),
        };
        if let Some(way) = way {
            let key = format!("ratelimit:{}:{way}", env.actor.key());
            let conv = self.store.conversations_of(&env.actor.key()).await?.into_iter().find(|c| c.key == key);
            let told_until = conv.as_ref().and_then(|c| c.data.parse::<i64>().ok()).unwrap_or(0);
            if told_until > now.timestamp_millis() {
                return Ok(true);
            }
            w.commit.conversations.push(crate::store::ConversationWrite::Put(crate::store::Conversation {
                key,
                owner: env.actor.key(),
                ticket: None,
                data: (now + hour).timestamp_millis().to_string(),
                deadline: None,
                version: conv.map(|c| c.version).unwrap_or(0),
            }));
        }
        let msg = format!(
            "You've opened {limit} tickets in the last hour, so I won't open more for now. Add details in the threads of your open tickets (/ticket mine lists them), or ask a technician directly."
        );
        w.send(Outbound::to_user(&env.actor, &reply_place(env), msg).kind(MessageKind::Ephemeral));
        Ok(true)
    }

    /// The requester, people added to the ticket (merged duplicates' requesters and CC'd people, affected people
    /// of a major incident) and staff: who may write into a ticket.
    fn on_ticket(&self, t: &Ticket, who: &UserRef) -> bool {
        t.requester.same_person(who)
            || t.cc.iter().any(|c| c.same_person(who))
            || t.affected.iter().any(|a| a.user.same_person(who))
            || self.role_of(who).is_staff()
    }

    /// Someone else's message in a ticket's thread: nothing is added and no clock moves. They are told how to get
    /// help of their own; the attempt is recorded as `denied` (repeats folded like every refusal's).
    fn outsider_in_thread(&self, t: &Ticket) -> Flow {
        let same = if t.state.is_active() { " If you have the same problem, say \"same here\"." } else { "" };
        let text = format!(
            "{} is {}'s ticket, so I haven't added your message to it.{same} For a problem of your own, write it in \
             the helpdesk channel (not in this thread) or message me directly.",
            t.number,
            t.requester.shown()
        );
        Flow::Refused(Refusal::audited(text, t.number, "add to ticket"))
    }

    /// Who may approve or decline `t`: someone with the role its runbook names (or an admin), never the person
    /// who raised it. A refusal says who else can.
    /// Whether `me` may approve or decline `t` (`verb`: the command's, so a refused decline is audited as one).
    fn may_decide(&self, t: &Ticket, me: &UserRef, approver: &str, verb: &str) -> Result<(), Refusal> {
        let needed = Role::parse(approver).unwrap_or(Role::Manager);
        let role = self.role_of(me);
        let mut others: Vec<String> = self
            .people_with(needed, me.platform)
            .into_iter()
            .chain(self.people_with(Role::Admin, me.platform))
            .filter(|u| !u.same_person(me) && !u.same_person(&t.requester))
            .map(|u| u.name)
            .collect();
        others.dedup();
        let ask = if others.is_empty() {
            format!(" (no other {approver} is set up; an admin can add one)")
        } else {
            format!("; ask {}", others.join(", "))
        };
        if t.requester.same_person(me) {
            let text = format!("you raised {}, so someone else must decide on it{ask}", t.number);
            return Err(Refusal::audited(text, t.number, verb));
        }
        if role != needed && role != Role::Admin {
            let text = format!("{} needs a {approver}'s decision (you are a {role}){ask}", t.number);
            return Err(Refusal::audited(text, t.number, verb));
        }
        Ok(())
    }

    /// Reopens `t`, by any path (the thread, `/ticket reopen`, the Reopen button, a re-firing alert). A ticket that
    /// stayed resolved or closed for more than `sla.reopen_new_cycle_after` starts a new resolution cycle.
    pub(crate) fn reopen(
        &self,
        t: &mut Ticket,
        by: &UserRef,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<Event>, TicketError> {
        if let Some(by_whom) = &t.declined_by {
            return Err(TicketError::Invalid(declined_text(t.number, by_whom)));
        }
        // Measured from the resolution (closing a resolved ticket later does not move it).
        let stopped = t.resolved_at.or(t.closed_at);
        let ev = t.reopen(by, reason, now)?;
        if stopped.is_some_and(|s| now - s > self.settings.reopen_new_cycle_after) {
            t.new_cycle(now);
        }
        // The clocks run again from here: cards and replies made before the commit show the new due instants.
        self.policies.apply(t);
        Ok(ev)
    }

    /// Why a merged duplicate or a ticket folded into a major incident is not reopened on its own (by anyone, by
    /// any path: `/ticket reopen`, the Reopen button): reopened alone it would be half merged or half folded (its
    /// requester following the other ticket, its history moved there), and nobody would own it (#30). `into` is
    /// where it went: the end of its chain of merges, or the incident. The requester is told where their problem is
    /// worked on and how to say it is back; staff are told to work on `into`.
    async fn not_reopened_alone(&self, t: &Ticket, into: TicketNo, who: &UserRef) -> Result<Refusal, DeskError> {
        let merged = t.merged_into.is_some();
        let what = if merged { format!("was merged into {into}") } else { format!("is part of major incident {into}") };
        if self.role_of(who).is_staff() {
            let alone = if merged { "" } else { " on its own" };
            return Ok(Refusal::state(format!(
                "{} {what} and cannot be reopened{alone}; work on {into} (/ticket reopen {} if it is closed), or \
                 open a new ticket for a different problem",
                t.number, into.0
            )));
        }
        let end = self.store.ticket(into).await?;
        let text = match end.filter(|e| !e.state.is_active()) {
            None => format!(
                "{} {what}, where it is being worked on; add anything new in {}'s thread (you hear {into}'s updates \
                 there), or describe a different problem to open a new ticket",
                t.number, t.number
            ),
            Some(e) => format!(
                "{} {what}, which is {}; if the problem is back, say so in {}'s thread and I'll take it up again, or \
                 describe a different problem to open a new ticket",
                t.number, e.state, t.number
            ),
        };
        Ok(Refusal::state(text))
    }

    /// A requester may not undo a self-service fix after [`walk::REOPEN_DEFLECTED_WITHIN`]. (A merged duplicate or
    /// a ticket folded into a major incident is refused before this, see [`Desk::not_reopened_alone`]: both are
    /// closed, so the thread's "still broken", which reopens resolved tickets only, never reaches them.)
    fn may_reopen(&self, t: &Ticket, who: &UserRef, now: Timestamp) -> Result<(), Refusal> {
        let late = t.resolved_at.is_some_and(|r| now - r > walk::REOPEN_DEFLECTED_WITHIN);
        if t.deflected && t.requester.same_person(who) && late && !self.role_of(who).is_staff() {
            return Err(format!(
                "{} was fixed more than {} ago; describe the problem again and I'll open a new ticket.",
                t.number,
                human(walk::REOPEN_DEFLECTED_WITHIN)
            )
            .into());
        }
        Ok(())
    }

    /// `/ticket start RUNBOOK`: a new ticket for the actor, guided by the runbook (with its checklist, if any).
    async fn start_request(&self, env: &Envelope, id: &str, now: Timestamp, w: &mut Work) -> Result<Flow, DeskError> {
        let Some(rb) = self.runbooks.get(id) else {
            let mut ids: Vec<&str> = self.runbooks.all().iter().map(|r| r.id.as_str()).collect();
            ids.sort();
            return Ok(Flow::Refused(format!("there is no runbook `{id}`; try one of: {}", ids.join(", ")).into()));
        };
        // Anyone may start any runbook (#33 probe: a line manager is usually a plain staff member, and a joiner or
        // leaver raised in chat was never refused either); what guards a request is its approval step (a leaver
        // raised by anyone but a manager or an admin waits for a manager).
        // The category and priority of the runbook's first intent, as the same request raised in chat gets (#33
        // probe: a leaver was P3 started here and P4 from chat; its date raises it when it is near).
        let intent =
            rb.intents.iter().find_map(|i| self.base.examples().find(|(spec, _)| &spec.id == i).map(|(s, _)| s));
        let category = intent
            .map_or(if rb.checklist.is_empty() { "other" } else { "identity" }, |s| s.category.as_str())
            .to_string();
        let priority = intent.map_or(super::ticket::Priority::P3, |s| s.priority);
        if self.over_limit_now(env, now, w).await? {
            return Ok(Flow::Ok);
        }
        let number = self.store.next_ticket_number().await?;
        let place = reply_place(env);
        let (mut t, ev) = Ticket::open(NewTicket {
            number,
            text: format!("{}\n(requested with /ticket start {id})", rb.title),
            requester: env.actor.clone(),
            origin: Origin { platform: env.actor.platform, place: place.clone() },
            category,
            intent: None,
            confidence: 1.0,
            ticket_type: rb.ticket_type,
            priority,
            at: now,
        });
        t.checklist = super::runbook::Checklist::for_runbook(rb);
        w.events(number, ev);
        w.send(Outbound::to_user(&env.actor, &place, format!("Ticket {number} opened: {}.", rb.title)).about(number));
        self.start_walk(rb, &t, now, w);
        w.commit.inserts.push(t);
        Ok(Flow::Ok)
    }

    /// `/ticket sla N`: each clock with its target, due instant and state, then pauses and breaches.
    fn explain_sla(&self, t: &Ticket, now: Timestamp) -> String {
        let p = self.policies.pick(&t.category, t.priority, t.ticket_type);
        let mut s = format!(
            "SLA for {} ({} {} {}): policy `{}` on calendar `{}`",
            t.number, t.priority, t.category, t.ticket_type, p.spec.name, p.calendar.name
        );
        // A clock whose breach was recorded at its due instant missed it, even if stopped at that same instant
        // (the breach fired first): the report counts it so, and this must agree.
        let status = |clock: SlaClock, due: Option<Timestamp>, done: Option<Timestamp>| match (due, done) {
            (Some(d), Some(at)) if at <= d && !t.breaches.iter().any(|b| b.clock == clock && b.due == d) => {
                format!("met at {} (due {})", self.fmt_time(at), self.fmt_time(d))
            }
            (Some(d), Some(at)) => format!("missed: done {} (due {})", self.fmt_time(at), self.fmt_time(d)),
            (None, Some(at)) => format!("done at {}", self.fmt_time(at)),
            (Some(d), None) if d >= now => format!("running, due {} (in {})", self.fmt_time(d), human(d - now)),
            (Some(d), None) => format!("overdue since {} ({} ago)", self.fmt_time(d), human(now - d)),
            (None, None) => "paused".to_string(),
        };
        s.push_str(&format!(
            "\n· first response, target {}: {}",
            p.first_response,
            status(SlaClock::FirstResponse, t.first_response_due, t.first_response_at)
        ));
        if let Some(nr) = p.next_response {
            let line = match t.awaiting_reply_since {
                Some(since) => format!(
                    "waiting since {}: {}",
                    self.fmt_time(since),
                    status(SlaClock::NextResponse, t.next_response_due, None)
                ),
                None => "not running (nothing unanswered from the requester)".to_string(),
            };
            s.push_str(&format!("\n· next response, target {}: {line}", nr));
        }
        let res_done = if t.state.is_active() { None } else { t.resolved_at };
        let cycle = t.cycle_start.map(|c| format!(" (new cycle since {})", self.fmt_time(c))).unwrap_or_default();
        s.push_str(&format!(
            "\n· resolution, target {}{cycle}: {}",
            p.resolution,
            status(SlaClock::Resolution, t.resolution_due, res_done)
        ));
        if let Some(ss) = t.self_service.as_ref().filter(|_| t.in_self_service()) {
            s.push_str(&format!(
                "\n· in a self-service walkthrough since {}: warnings and breaches wait until it reaches the queue",
                self.fmt_time(ss.from)
            ));
        }
        if !t.pauses.is_empty() {
            let list: Vec<String> = t
                .pauses
                .iter()
                .map(|x| {
                    let end = x.to.map(|e| self.fmt_time(e)).unwrap_or_else(|| "now".into());
                    let on = if x.approval { "awaiting approval".to_string() } else { x.on.to_string() };
                    format!("{on} {} – {}", self.fmt_time(x.from), end)
                })
                .collect();
            let vendor_pause = t.pauses.iter().any(|x| x.on == State::PendingVendor);
            let vendor = if p.spec.pause_on_vendor || !vendor_pause {
                ""
            } else {
                "; waiting on a vendor does not pause resolution"
            };
            s.push_str(&format!("\n· paused: {}{vendor}", list.join(", ")));
        }
        for b in &t.breaches {
            s.push_str(&format!("\n· breached: {} (due {})", b.clock.label(), self.fmt_time(b.due)));
        }
        s.push_str(&self.vendor_sla_lines(t, now));
        s
    }

    /// The history `/ticket show` lists, newest last: what the requester saw happen (their messages, replies, owner,
    /// resolution, reopens, approvals, merges) and, for staff, internal notes and priority and category changes too.
    fn history(&self, events: &[Event], staff: bool) -> String {
        let lines: Vec<String> = events
            .iter()
            .filter_map(|e| {
                let who = e.actor.as_ref().map(|a| a.name.as_str()).unwrap_or("deskbot");
                let what = match &e.kind {
                    EventKind::RequesterMessage { text } => format!("{who} wrote: {}", quote(text)),
                    EventKind::PublicReply { text } => format!("{who} replied: {}", quote(text)),
                    EventKind::InternalNote { text } if staff => format!("{who} noted (internal): {}", quote(text)),
                    EventKind::OwnerChanged { to: Some(to), .. } => format!("owner {}", to.shown()),
                    EventKind::OwnerChanged { to: None, .. } => "back in the queue".to_string(),
                    EventKind::Resolved { text: Some(text) } => format!("{who} resolved it: {}", quote(text)),
                    EventKind::Resolved { text: None } => format!("{who} resolved it"),
                    EventKind::Reopened { .. } => format!("{who} reopened it"),
                    EventKind::Closed => format!("{who} closed it"),
                    EventKind::Withdrawn { .. } => format!("{who} withdrew it"),
                    EventKind::KeptOpen { text: Some(text) } => format!("{who} kept it open: {}", quote(text)),
                    EventKind::KeptOpen { text: None } => format!("{who} kept it open"),
                    EventKind::Approval { approved: true, .. } => format!("{who} approved it"),
                    EventKind::Declined { reason: Some(r) } => format!("{who} declined it: {}", quote(r)),
                    EventKind::Declined { reason: None } => format!("{who} declined it"),
                    EventKind::MergedInto { into } => format!("{who} merged it into {into}"),
                    EventKind::MergedFrom { from } => format!("{who} merged {from} into it"),
                    EventKind::PriorityChanged { from, to } if staff => format!("{who} changed priority {from} → {to}"),
                    EventKind::CategoryChanged { from, to } if staff => format!("{who} changed category {from} → {to}"),
                    EventKind::Thanked { .. } => format!("{who} said thanks"),
                    EventKind::AsAdmin { action } if staff => format!("{who} used admin rights: /ticket {action}"),
                    _ => return None,
                };
                Some(format!("\n· {} {what}", self.fmt_time(e.at)))
            })
            .collect();
        if lines.is_empty() {
            return String::new();
        }
        let skipped = lines.len().saturating_sub(SHOWN_HISTORY);
        let mut out = String::from("\nHistory");
        if skipped > 0 {
            out.push_str(&format!(" (the latest {SHOWN_HISTORY}; {skipped} earlier not shown)"));
        }
        out.push(':');
        for l in &lines[skipped..] {
            out.push_str(l);
        }
        out
    }

    fn show(&self, t: &Ticket, now: Timestamp) -> String {
        let owner = t.owner.as_ref().map(|o| o.name.as_str()).unwrap_or("nobody");
        let mut related = String::new();
        if t.major {
            related
                .push_str(&format!(" · major incident, {} affected", super::conversation::people(t.people_affected())));
        }
        if let Some(p) = t.parent {
            related.push_str(&format!(" · part of major incident {p}"));
        }
        if !t.links.is_empty() {
            let links: Vec<String> = t.links.iter().map(|n| n.to_string()).collect();
            related.push_str(&format!(" · linked to {}", links.join(", ")));
        }
        format!(
            "{} {} · {} {} · {} · owner {} · requester {} · opened {} · {}{related}\n{}",
            t.number,
            quote(&t.title),
            t.priority,
            t.ticket_type,
            t.category,
            owner,
            t.requester.shown(),
            self.fmt_time(t.created_at),
            if t.state.is_active() { self.due_phrase(t, now) } else { format!("state {}", t.state) },
            super::message::quoted(&t.description)
        )
    }
}

/// How many history lines `/ticket show` lists (the latest; the rest are counted).
const SHOWN_HISTORY: usize = 20;

/// Role rules for each command. Requesters act only on their own tickets. `approvers`: the roles that decide on
/// requests (each runbook's `approval.approver`); admins may too. Which of them a ticket needs, and that nobody
/// decides on their own request, is checked when deciding ([`Desk::may_decide`]).
fn authorize(role: Role, cmd: &Command, t: Option<&Ticket>, me: &UserRef, approvers: &[Role]) -> Result<(), String> {
    let own = t.is_some_and(|t| t.requester.same_person(me));
    let staff = role.is_staff();
    let ok = match cmd {
        Command::Help | Command::Mine | Command::Start(_) | Command::Find(_) => true,
        Command::Check(..) | Command::Uncheck(..) => staff,
        Command::Approve(_) | Command::Decline(..) => role == Role::Admin || approvers.contains(&role),
        Command::Show(_) | Command::Sla(_) => staff || own || role == Role::Manager,
        Command::Reopen(..) | Command::Close(_) => staff || own,
        Command::Rate(..) | Command::Feedback(..) => own,
        Command::Unclaim(_) => staff && (t.is_some_and(|t| t.is_owned_by(me)) || role.can_reassign()),
        Command::Assign(..) => {
            staff && (t.is_none_or(|t| t.owner.is_none() || t.is_owned_by(me)) || role.can_reassign())
        }
        Command::Queue { .. } | Command::Problems => staff || role == Role::Manager,
        Command::Claim(_)
        | Command::Reply(..)
        | Command::Note(..)
        | Command::Resolve(..)
        | Command::Pending(..)
        | Command::Priority(..)
        | Command::Category(..)
        | Command::Merge(..)
        | Command::Link(..)
        | Command::Problem(_)
        | Command::Major(_)
        | Command::Prompt(..)
        | Command::Escalate(..)
        | Command::VendorRef(..)
        | Command::VendorUpdate(..)
        | Command::VendorClose(..)
        | Command::Chase(..)
        | Command::Snooze(..)
        | Command::Silence(..) => staff,
    };
    if ok {
        return Ok(());
    }
    Err(match cmd {
        Command::Unclaim(_) if staff => "only the owner or a lead can unclaim a ticket".to_string(),
        Command::Assign(..) if staff => {
            let owner = t.and_then(|t| t.owner.as_ref()).map(|o| o.name.as_str()).unwrap_or("someone");
            format!("only a lead can reassign a ticket that {owner} owns")
        }
        Command::Show(_) | Command::Sla(_) | Command::Reopen(..) | Command::Close(_) => {
            format!("you can only {} your own tickets", cmd.verb())
        }
        Command::Rate(..) | Command::Feedback(..) => "only the person who raised the ticket can rate it".to_string(),
        Command::Queue { .. } => format!("only technicians and managers can see the queue (you are a {role})"),
        Command::Problems => format!("only technicians and managers can see problem records (you are a {role})"),
        Command::Approve(_) | Command::Decline(..) => {
            let mut who: Vec<String> = approvers.iter().map(|r| format!("a {r}")).collect();
            who.push("an admin".to_string());
            let last = who.pop().unwrap_or_default();
            let who = if who.is_empty() { last } else { format!("{} or {last}", who.join(", ")) };
            format!("only {who} can {} requests (you are a {role})", cmd.verb())
        }
        _ => format!("only technicians can {} tickets (you are a {role})", cmd.verb()),
    })
}

/// The instant that matters next for a ticket: first response until answered, then resolution.
fn next_due(t: &Ticket) -> Timestamp {
    let d = if t.first_response_at.is_none() { t.first_response_due } else { t.resolution_due };
    d.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Replies to a channel message go in its thread; DMs stay flat.
fn reply_place(env: &Envelope) -> Place {
    let mut p = env.place.clone();
    if !p.dm && p.thread.is_none() {
        p.thread = p.message.clone();
    }
    p.message = None;
    p
}

/// Cuts text to [`MAX_STORED_TEXT`] bytes on a character boundary and drops control characters other than
/// newlines and tabs.
/// `env` as if written in `t`'s thread.
fn in_thread_of(env: &Envelope, t: &Ticket) -> Envelope {
    Envelope { place: t.origin.place.clone(), ..env.clone() }
}

pub fn bound_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_STORED_TEXT));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // CR LF is one line break, not two.
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        // Other line breaks (CR, NEL, VT, FF, U+2028/9) become newlines, so a title still ends there.
        let c = if matches!(c, '\r' | '\u{85}' | '\u{b}' | '\u{c}' | '\u{2028}' | '\u{2029}') { '\n' } else { c };
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        if out.len() + c.len_utf8() > MAX_STORED_TEXT {
            out.push_str(&format!(" …[cut at {} KB of {} KB]", MAX_STORED_TEXT / 1024, text.len() / 1024));
            break;
        }
        out.push(c);
    }
    out
}

/// What the requester of a declined request hears when they try to bring it back.
fn declined_text(n: TicketNo, by: &str) -> String {
    format!("{n} was declined by {by} and stays declined; start a new request if things have changed")
}

/// Ends `s` with a full stop unless it already ends with punctuation.
fn sentence(s: &str) -> String {
    if s.ends_with(['.', '?', '!']) { s.to_string() } else { format!("{s}.") }
}

/// Someone's text quoted inside one of deskbot's lines: on one line, without characters that hide or reorder
/// text, so it cannot forge lines of its own in a DM or a card, and marked as quoted, so each platform escapes its
/// markup (see [`super::message::quoted`]).
fn quote(s: &str) -> String {
    format!("“{}”", super::message::quoted(&super::ids::clean_name_unbounded(s)))
}

/// What deskbot says to a message with nothing to read in it (emoji, punctuation) when spoken to directly.
const INTRO: &str = "I'm the IT helpdesk bot. Describe what's not working and I'll open a ticket.";

fn small_talk_reply(c: &Classification, text: &str) -> String {
    match c.intent.as_deref() {
        _ if super::conversation::is_gratitude(text) => {
            "You're welcome! If something else breaks, just describe it here and I'll open a ticket.".into()
        }
        Some(i) if i.contains("thanks") => {
            "You're welcome! If something else breaks, just describe it here and I'll open a ticket.".into()
        }
        Some(i) if i.contains("greeting") => {
            "Hi! Tell me what's not working (e.g. \"the printer on floor 2 is jammed\") and I'll open a ticket.".into()
        }
        Some(i) if i.contains("ack") => "👍 I'm here if anything IT-related needs fixing.".into(),
        // "hello? anyone there?" (probe K: told it was not an IT problem).
        _ if ["anyone there", "anybody there", "are you there", "you there", "is this working", "anyone around"]
            .iter()
            .any(|p| text.to_lowercase().contains(p)) =>
        {
            "I'm here! Tell me what's not working (e.g. \"the printer on floor 2 is jammed\") and I'll open a ticket."
                .into()
        }
        // With nothing open or recent to join or withdraw (probe J: "not an IT problem" to a DM "same here").
        _ if super::conversation::me_too(text) => "Same as what? I can't see a recent report to add you to. Tell me \
            what's not working (e.g. \"outlook won't open\") and I'll open a ticket."
            .into(),
        _ if super::conversation::is_withdrawal(text) => {
            "OK, there's nothing open for you to cancel. If something does break, just describe it here.".into()
        }
        // Nothing deskbot understood: another language, a code, a bare link.
        _ if c.unfamiliar || c.alternatives.is_empty() && c.category != "none" => {
            "Sorry, I didn't understand that. I'm the IT \
            helpdesk bot: describe what's not working in a sentence (in English) and I'll open a ticket."
                .into()
        }
        _ => "That doesn't look like an IT problem, so I haven't opened a ticket. If it is one, tell me what's not \
            working (e.g. \"my laptop won't turn on\") and I'll take it from there."
            .into(),
    }
}

/// What a new ticket is opened after, and linked to.
pub(super) enum After {
    /// The requester's own earlier ticket (or one whose problem they have too), fixed or not.
    FollowUp(TicketNo),
    /// A colleague's report of what looks like the same problem, a few minutes before: who, and when.
    Alongside(TicketNo, String, Timestamp),
}

impl After {
    fn ticket(&self) -> TicketNo {
        match self {
            After::FollowUp(n) | After::Alongside(n, _, _) => *n,
        }
    }

    /// `, following up #1` or `, linked to #1 (what alice reported 3m ago looks the same)`.
    fn words(&self, now: Timestamp) -> String {
        match self {
            After::FollowUp(n) => format!(", following up {n}"),
            After::Alongside(n, who, at) => {
                let when = if now - *at > chrono::Duration::minutes(1) {
                    format!("{} ago", human(now - *at))
                } else {
                    "just now".to_string()
                };
                format!(", linked to {n}: {who} reported what looks like the same problem {when}")
            }
        }
    }
}

/// `, 2d 3h ago` when `due` is more than a minute before `now`; empty otherwise.
fn ago(due: Timestamp, now: Timestamp) -> String {
    if now - due > chrono::Duration::minutes(1) { format!(", {} ago", human(now - due)) } else { String::new() }
}

//! Storage port: one [`Store`] trait with SQLite (embedded default) and PostgreSQL backends.
//!
//! Writes go through [`Commit`]: the inbound dedupe key, ticket inserts and version-checked updates, their events
//! and the outbound messages they cause are written in one transaction, so an effect is never stored without the
//! change that caused it, and a redelivered event is a no-op.

mod sql;

pub use sql::{PgStore, SqliteStore};

use crate::core::ids::{Place, Platform, TicketNo};
use crate::core::message::Outbound;
use crate::core::sla::Timer;
use crate::core::ticket::{Event, SlaClock, Ticket, Timestamp};
use std::future::Future;

/// Errors from storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer changed a ticket since it was read; reload and retry.
    #[error("ticket {0} was changed by someone else; retry")]
    Conflict(TicketNo),
    /// Another writer opened a ticket for the same alert group first (storage keeps one active ticket per group);
    /// reload and retry.
    #[error("alert group {0} already has an open ticket; retry")]
    AlertGroupTaken(String),
    /// Conversation state was changed by someone else; reload and retry.
    #[error("conversation {0} was changed by someone else; retry")]
    ConversationConflict(String),
    /// The database could not be reached or opened. The URL has its password removed.
    #[error("cannot open database {url}: {reason}")]
    Connect { url: String, reason: String },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// Stored data could not be decoded (corrupt row or a newer schema).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The store's writer task stopped before answering (its runtime is shutting down); the commit may or may
    /// not have been written.
    #[error("the database writer stopped before answering; the change may or may not be stored")]
    WriterGone,
    /// A database error that failed a group of commits written together (each of them gets its text).
    #[error("database error: {0}")]
    Group(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything one handled event changes, written atomically.
#[derive(Debug, Default, Clone)]
pub struct Commit {
    /// The inbound event's dedupe key; if already stored the whole commit is skipped.
    pub dedupe_key: Option<String>,
    /// More keys recorded (as seen) with the commit, if it is written: what else identifies the event (an
    /// Idempotency-Key's body). Unlike the dedupe key, one already stored does not skip the commit.
    pub also_keys: Vec<String>,
    pub at: Option<Timestamp>,
    /// New tickets (their numbers come from [`Store::next_ticket_number`]).
    pub inserts: Vec<Ticket>,
    /// Changed tickets, carrying the version they were read at.
    pub updates: Vec<Ticket>,
    pub events: Vec<(TicketNo, Event)>,
    pub outbox: Vec<Outbound>,
    /// Replaces each listed ticket's pending SLA timers (timers whose key already fired are skipped).
    pub timers: Vec<(TicketNo, Vec<Timer>)>,
    /// Timer keys to delete (fired or stale).
    pub drop_timers: Vec<String>,
    /// Conversation state to write or delete, version-checked like tickets.
    pub conversations: Vec<ConversationWrite>,
    /// Problem records to create (ignored if one exists for the fingerprint).
    pub problems: Vec<Problem>,
    /// Triage corrections kept as training examples: (text, category, source).
    pub training: Vec<(String, String, String)>,
}

/// See [`Store::look_alikes`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LookAlikes {
    /// Stored look-alikes in the window, counted up to the cap asked for.
    pub count: usize,
    /// The newest of them, latest first.
    pub newest: Vec<TicketNo>,
    pub problem: Option<Problem>,
}

/// A problem record: the cause behind a group of recurring tickets.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub id: i64,
    pub fingerprint: String,
    pub title: String,
    pub created_at: Timestamp,
    pub created_by: Option<String>,
}

/// Stored per-conversation state (a runbook walkthrough, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub key: String,
    /// User key (`platform:id`) of the person the conversation is with.
    pub owner: String,
    pub ticket: Option<TicketNo>,
    /// JSON, owned by the feature that wrote it.
    pub data: String,
    /// When the scheduler must look at it again.
    pub deadline: Option<Timestamp>,
    pub version: i64,
}

/// A write of conversation state in a [`Commit`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationWrite {
    /// Insert (`version == 0`) or update the row read at `version`.
    Put(Conversation),
    /// Delete the row read at `version`.
    Delete { key: String, version: i64 },
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty()
            && self.updates.is_empty()
            && self.events.is_empty()
            && self.outbox.is_empty()
            && self.timers.is_empty()
            && self.drop_timers.is_empty()
            && self.conversations.is_empty()
            && self.problems.is_empty()
            && self.training.is_empty()
    }
}

/// A stored timer that has fallen due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueTimer {
    pub key: String,
    pub ticket: TicketNo,
    pub clock: SlaClock,
    pub percent: u8,
    pub at: Timestamp,
    pub due: Timestamp,
}

/// What [`Store::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    Written,
    /// The dedupe key was already stored: nothing was written.
    Duplicate,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub created_at: Timestamp,
    pub attempts: i64,
    pub message: Outbound,
}

/// A message the outbox gave up on (see [`Store::mark_dead`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub item: OutboxItem,
    /// When the last attempt failed.
    pub failed_at: Timestamp,
    pub last_error: String,
}

/// Filter for listing tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only tickets not resolved or closed.
    pub active_only: bool,
    /// Only tickets owned by this user key (`platform:id`).
    pub owner: Option<String>,
    /// Only tickets raised by this user key.
    pub requester: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only tickets nobody owns.
    pub unowned: bool,
    /// Only tickets whose text contains this (case-insensitive).
    pub text: Option<String>,
    pub limit: Option<i64>,
}

/// The storage port. Implemented by [`SqliteStore`], [`PgStore`] and [`Db`].
pub trait Store: Send + Sync {
    /// Applies pending migrations.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;
    /// Allocates the next ticket number; unique across concurrent writers (gaps are possible).
    fn next_ticket_number(&self) -> impl Future<Output = Result<TicketNo>> + Send;
    /// Gives back a number from [`Store::next_ticket_number`] that no ticket got (its commit was a redelivery or
    /// lost a race), so that the next ticket takes it where that is still possible: best effort, gaps remain
    /// possible.
    fn unused_ticket_number(&self, n: TicketNo) -> impl Future<Output = ()> + Send;
    /// True if an inbound event with this key was already committed.
    fn seen(&self, dedupe_key: &str) -> impl Future<Output = Result<bool>> + Send;
    fn ticket(&self, n: TicketNo) -> impl Future<Output = Result<Option<Ticket>>> + Send;
    /// The ticket raised by the message that started this thread.
    fn ticket_by_thread(
        &self,
        platform: Platform,
        place: &Place,
    ) -> impl Future<Output = Result<Option<Ticket>>> + Send;
    /// Tickets ordered by number.
    fn tickets(&self, f: &TicketFilter) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// Events of many tickets at once (oldest first per ticket), for reports.
    fn events_of(
        &self,
        tickets: &[TicketNo],
    ) -> impl Future<Output = Result<std::collections::HashMap<TicketNo, Vec<Event>>>> + Send;
    /// A ticket's events, oldest first.
    fn events(&self, n: TicketNo) -> impl Future<Output = Result<Vec<Event>>> + Send;
    /// Writes a commit atomically. [`StoreError::Conflict`] if an updated ticket changed since it was read.
    fn commit(&self, c: Commit) -> impl Future<Output = Result<Committed>> + Send;
    /// Leases up to `limit` due outbox messages (of `platform`, or all) to `worker` until `lease_until`, oldest first.
    fn lease_outbox(
        &self,
        worker: &str,
        platform: Option<Platform>,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxItem>>> + Send;
    fn mark_delivered(&self, id: i64, at: Timestamp) -> impl Future<Output = Result<()>> + Send;
    /// Timers due at or before `now`, earliest first.
    fn due_timers(&self, now: Timestamp, limit: i64) -> impl Future<Output = Result<Vec<DueTimer>>> + Send;
    /// Tickets with `fingerprint` created at or after `since`, oldest first (merged duplicates excluded).
    fn tickets_with_fingerprint(
        &self,
        fingerprint: &str,
        since: Timestamp,
    ) -> impl Future<Output = Result<Vec<TicketNo>>> + Send;
    /// What a new ticket with `fingerprint` needs to know of its look-alikes, in one round trip: how many
    /// tickets [`Store::tickets_with_fingerprint`] would list (counting no further than `count_up_to`), the `newest`
    /// of them (latest created first), and the problem record for the fingerprint.
    fn look_alikes(
        &self,
        fingerprint: &str,
        since: Timestamp,
        newest: i64,
        count_up_to: i64,
    ) -> impl Future<Output = Result<LookAlikes>> + Send;
    /// What a new message from `requester` (a user key) needs, in one round trip: how many tickets they opened at
    /// or after `opened_since`, and their active tickets (by number).
    fn requester_recent(
        &self,
        requester: &str,
        opened_since: Timestamp,
    ) -> impl Future<Output = Result<(i64, Vec<Ticket>)>> + Send;
    /// Active (not resolved or closed) major incidents, by number.
    fn active_majors(&self) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// Major incidents resolved or closed at or after `since`, latest resolved first (an affected person may
    /// answer "still down for me" where they reported it).
    fn majors_resolved_since(&self, since: Timestamp) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// Tickets in `category` created at or after `since`, oldest first (a short window: a major incident's).
    fn recent_in_category(&self, category: &str, since: Timestamp) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// Resolved or closed tickets of `requester` (a user key) resolved at or after `since`, latest resolved first.
    fn resolved_since(&self, requester: &str, since: Timestamp) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// The report facts of the tickets created before `until` and changed at or after `since` or active now
    /// (everything a report period can touch, and every ticket that was open at any instant since `since`, so a
    /// past period's backlog can be rebuilt), with each one's `updated_at`; `None` for
    /// tickets stored before facts were kept (read those in full).
    #[allow(clippy::type_complexity)]
    fn facts_touched(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<(TicketNo, Timestamp, Option<crate::core::report::TicketFacts>)>>> + Send;
    /// Creation times of all active tickets, and how many of them are unanswered past their first-response target
    /// at `now`.
    fn backlog(&self, now: Timestamp) -> impl Future<Output = Result<(Vec<Timestamp>, u64)>> + Send;
    /// Stores signal records; returns how many were new (the rest were already stored, by id).
    fn put_signals(&self, records: &[crate::core::signals::SignalRecord]) -> impl Future<Output = Result<u64>> + Send;
    /// Signal records observed in `[since, until)`.
    fn signals(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<crate::core::signals::SignalRecord>>> + Send;
    /// How many tickets `requester` (a user key) opened at or after `since`.
    fn count_opened_by(&self, requester: &str, since: Timestamp) -> impl Future<Output = Result<i64>> + Send;
    /// The tickets `requester` (a user key) opened at or after `since`, oldest first.
    fn opened_by(&self, requester: &str, since: Timestamp) -> impl Future<Output = Result<Vec<Ticket>>> + Send;
    /// How many tickets people on platform `p` opened at or after `since` (alert tickets, raised by monitoring,
    /// not counted): the per-source intake budget, read from the database so that replicas share it.
    fn count_opened_on(&self, p: Platform, since: Timestamp) -> impl Future<Output = Result<i64>> + Send;
    /// Tickets per fingerprint created in `[since, until)` (merged duplicates carry none), most first.
    fn fingerprint_counts(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;
    /// Allocates a problem record id.
    fn next_problem_id(&self) -> impl Future<Output = Result<i64>> + Send;
    fn problem_for(&self, fingerprint: &str) -> impl Future<Output = Result<Option<Problem>>> + Send;
    fn problems(&self) -> impl Future<Output = Result<Vec<Problem>>> + Send;
    /// Stored triage corrections: (text, category), oldest first.
    fn training_examples(&self) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Conversations with `owner` (a user key), most recently updated first.
    fn conversations_of(&self, owner: &str) -> impl Future<Output = Result<Vec<Conversation>>> + Send;
    fn conversation_for_ticket(&self, n: TicketNo) -> impl Future<Output = Result<Option<Conversation>>> + Send;
    /// Conversations whose deadline is at or before `now`, earliest first.
    fn due_conversations(&self, now: Timestamp, limit: i64) -> impl Future<Output = Result<Vec<Conversation>>> + Send;
    /// When the earliest pending timer or conversation deadline falls due.
    fn next_timer_at(&self) -> impl Future<Output = Result<Option<Timestamp>>> + Send;
    /// Drops a timer that can no longer fire (its key was already committed elsewhere).
    fn drop_timer(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// Records a failed attempt; the message is retried at `retry_at`.
    fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> impl Future<Output = Result<()>> + Send;
    /// Records a last failed attempt and sets the message aside as a dead letter: it is not retried, and the
    /// messages behind it in its conversation go on.
    fn mark_dead(&self, id: i64, error: &str, at: Timestamp) -> impl Future<Output = Result<()>> + Send;
    /// Dead letters, oldest first.
    fn dead_letters(&self, limit: i64) -> impl Future<Output = Result<Vec<DeadLetter>>> + Send;
    /// Puts a dead letter back in line to be sent at `now` (its attempts start again from zero). False when no
    /// dead letter has that id.
    fn retry_dead(&self, id: i64, now: Timestamp) -> impl Future<Output = Result<bool>> + Send;
    /// A value an adapter stored under `key` (a card's message id, a conversation reference), if any.
    fn platform_ref(&self, platform: Platform, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Every value stored under a key starting with `prefix` on `platform`, as `(key, value)`, by key.
    fn platform_refs_with_prefix(
        &self,
        platform: Platform,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Stores (or replaces) an adapter's value under `key`.
    fn put_platform_ref(
        &self,
        platform: Platform,
        key: &str,
        value: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes or renews the lease `name` for `holder` until `until`; true when `holder` now holds it. Another
    /// holder's lease is taken over only once it has expired (`until <= now`).
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Gives up `holder`'s lease `name` (a clean shutdown), so another replica need not wait for it to expire.
    fn release_lease(&self, name: &str, holder: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The store chosen by URL at start-up: `sqlite://…` (default) or `postgres://…`.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The key that keeps one active ticket per alert group (a unique index; see migration 0012): an active,
/// unmerged ticket raised by monitoring has its group's origin thread; other tickets have none. Written when the
/// ticket is inserted and cleared when it stops being active, so only two tickets opened at once for one group
/// clash (never an update to tickets stored before the index).
pub fn alert_group_key(t: &Ticket) -> Option<String> {
    (t.alert.is_some() && t.state.is_active() && t.merged_into.is_none()).then(|| {
        format!("{}:{}:{}", t.origin.platform, t.origin.place.channel, t.origin.place.thread.as_deref().unwrap_or(""))
    })
}

/// Removes every credential from a database URL for messages and logs: the password of its user information
/// (up to the last `@` of the address, so an `@` someone left unencoded in a password is no way out) and the value
/// of any parameter that names a password, secret or token (libpq's `?password=`, `sslpassword`; `password=` in a
/// key/value string too).
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            let userinfo = &rest[..at];
            if let Some((user, _)) = userinfo.split_once(':') {
                out = format!("{scheme}://{user}:***{}", &rest[at..]);
            }
        }
    }
    redact_params(&out)
}

/// True when a database URL carries a password (in its user information or a parameter).
pub fn url_has_password(url: &str) -> bool {
    redact_url(url) != url
}

/// `key=value` pairs whose key names a secret get `***` for their value (pairs end at `&`, `;`, `#` or space).
fn redact_params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq].rfind(['?', '&', ';', ' ', '#']).map_or(0, |i| i + 1);
        let key = rest[key_start..eq].to_ascii_lowercase();
        let value_end = rest[eq + 1..].find(['&', ';', ' ', '#']).map_or(rest.len(), |i| eq + 1 + i);
        out.push_str(&rest[..=eq]);
        if ["password", "secret", "token"].iter().any(|w| key.contains(w)) && value_end > eq + 1 {
            out.push_str("***");
        } else {
            out.push_str(&rest[eq + 1..value_end]);
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

impl Db {
    /// Opens the database named by `url` (creating a SQLite file if missing) and applies migrations.
    pub async fn open(url: &str) -> Result<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(PgStore::connect(url).await?)
        } else if url.starts_with("sqlite:") {
            Db::Sqlite(SqliteStore::connect(url).await?)
        } else {
            return Err(StoreError::Connect {
                url: redact_url(url),
                reason: "unsupported URL; use sqlite://FILE or postgres://USER@HOST/DB".into(),
            });
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Db::Sqlite($s) => $e.await,
            Db::Postgres($s) => $e.await,
        }
    };
}

impl Db {
    /// One dedupe row inserted and committed in a transaction of its own, straight on the pool (not through the
    /// writer task): the database's raw single-row commit, the baseline `deskbot bench ingest` compares with.
    pub async fn single_row_commit(&self, key: &str, at: Timestamp) -> Result<()> {
        delegate!(self, s => s.single_row_commit(key, at))
    }
}

impl Store for Db {
    async fn migrate(&self) -> Result<()> {
        delegate!(self, s => s.migrate())
    }
    async fn next_ticket_number(&self) -> Result<TicketNo> {
        delegate!(self, s => s.next_ticket_number())
    }
    async fn unused_ticket_number(&self, n: TicketNo) {
        delegate!(self, s => s.unused_ticket_number(n))
    }
    async fn seen(&self, k: &str) -> Result<bool> {
        delegate!(self, s => s.seen(k))
    }
    async fn ticket(&self, n: TicketNo) -> Result<Option<Ticket>> {
        delegate!(self, s => s.ticket(n))
    }
    async fn ticket_by_thread(&self, p: Platform, place: &Place) -> Result<Option<Ticket>> {
        delegate!(self, s => s.ticket_by_thread(p, place))
    }
    async fn tickets(&self, f: &TicketFilter) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.tickets(f))
    }
    async fn events_of(&self, t: &[TicketNo]) -> Result<std::collections::HashMap<TicketNo, Vec<Event>>> {
        delegate!(self, s => s.events_of(t))
    }
    async fn events(&self, n: TicketNo) -> Result<Vec<Event>> {
        delegate!(self, s => s.events(n))
    }
    async fn commit(&self, c: Commit) -> Result<Committed> {
        delegate!(self, s => s.commit(c))
    }
    async fn lease_outbox(
        &self,
        w: &str,
        p: Option<Platform>,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        delegate!(self, s => s.lease_outbox(w, p, now, until, limit))
    }
    async fn mark_delivered(&self, id: i64, at: Timestamp) -> Result<()> {
        delegate!(self, s => s.mark_delivered(id, at))
    }
    async fn mark_failed(&self, id: i64, e: &str, retry_at: Timestamp) -> Result<()> {
        delegate!(self, s => s.mark_failed(id, e, retry_at))
    }
    async fn mark_dead(&self, id: i64, e: &str, at: Timestamp) -> Result<()> {
        delegate!(self, s => s.mark_dead(id, e, at))
    }
    async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        delegate!(self, s => s.dead_letters(limit))
    }
    async fn retry_dead(&self, id: i64, now: Timestamp) -> Result<bool> {
        delegate!(self, s => s.retry_dead(id, now))
    }
    async fn platform_ref(&self, p: Platform, key: &str) -> Result<Option<String>> {
        delegate!(self, s => s.platform_ref(p, key))
    }
    async fn platform_refs_with_prefix(&self, p: Platform, prefix: &str) -> Result<Vec<(String, String)>> {
        delegate!(self, s => s.platform_refs_with_prefix(p, prefix))
    }
    async fn put_platform_ref(&self, p: Platform, key: &str, value: &str, at: Timestamp) -> Result<()> {
        delegate!(self, s => s.put_platform_ref(p, key, value, at))
    }
    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
        delegate!(self, s => s.acquire_lease(name, holder, now, until))
    }
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        delegate!(self, s => s.release_lease(name, holder))
    }
    async fn due_timers(&self, now: Timestamp, limit: i64) -> Result<Vec<DueTimer>> {
        delegate!(self, s => s.due_timers(now, limit))
    }
    async fn next_timer_at(&self) -> Result<Option<Timestamp>> {
        delegate!(self, s => s.next_timer_at())
    }
    async fn tickets_with_fingerprint(&self, fp: &str, since: Timestamp) -> Result<Vec<TicketNo>> {
        delegate!(self, s => s.tickets_with_fingerprint(fp, since))
    }
    async fn look_alikes(&self, fp: &str, since: Timestamp, newest: i64, count_up_to: i64) -> Result<LookAlikes> {
        delegate!(self, s => s.look_alikes(fp, since, newest, count_up_to))
    }
    async fn requester_recent(&self, requester: &str, opened_since: Timestamp) -> Result<(i64, Vec<Ticket>)> {
        delegate!(self, s => s.requester_recent(requester, opened_since))
    }
    async fn active_majors(&self) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.active_majors())
    }
    async fn majors_resolved_since(&self, since: Timestamp) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.majors_resolved_since(since))
    }
    async fn recent_in_category(&self, category: &str, since: Timestamp) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.recent_in_category(category, since))
    }
    async fn resolved_since(&self, requester: &str, since: Timestamp) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.resolved_since(requester, since))
    }
    async fn facts_touched(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(TicketNo, Timestamp, Option<crate::core::report::TicketFacts>)>> {
        delegate!(self, s => s.facts_touched(since, until))
    }
    async fn backlog(&self, now: Timestamp) -> Result<(Vec<Timestamp>, u64)> {
        delegate!(self, s => s.backlog(now))
    }
    async fn put_signals(&self, r: &[crate::core::signals::SignalRecord]) -> Result<u64> {
        delegate!(self, s => s.put_signals(r))
    }
    async fn signals(&self, since: Timestamp, until: Timestamp) -> Result<Vec<crate::core::signals::SignalRecord>> {
        delegate!(self, s => s.signals(since, until))
    }
    async fn count_opened_by(&self, r: &str, since: Timestamp) -> Result<i64> {
        delegate!(self, s => s.count_opened_by(r, since))
    }
    async fn opened_by(&self, r: &str, since: Timestamp) -> Result<Vec<Ticket>> {
        delegate!(self, s => s.opened_by(r, since))
    }
    async fn count_opened_on(&self, p: Platform, since: Timestamp) -> Result<i64> {
        delegate!(self, s => s.count_opened_on(p, since))
    }
    async fn fingerprint_counts(&self, since: Timestamp, until: Timestamp) -> Result<Vec<(String, i64)>> {
        delegate!(self, s => s.fingerprint_counts(since, until))
    }
    async fn next_problem_id(&self) -> Result<i64> {
        delegate!(self, s => s.next_problem_id())
    }
    async fn problem_for(&self, fp: &str) -> Result<Option<Problem>> {
        delegate!(self, s => s.problem_for(fp))
    }
    async fn problems(&self) -> Result<Vec<Problem>> {
        delegate!(self, s => s.problems())
    }
    async fn training_examples(&self) -> Result<Vec<(String, String)>> {
        delegate!(self, s => s.training_examples())
    }
    async fn conversations_of(&self, owner: &str) -> Result<Vec<Conversation>> {
        delegate!(self, s => s.conversations_of(owner))
    }
    async fn conversation_for_ticket(&self, n: TicketNo) -> Result<Option<Conversation>> {
        delegate!(self, s => s.conversation_for_ticket(n))
    }
    async fn due_conversations(&self, now: Timestamp, limit: i64) -> Result<Vec<Conversation>> {
        delegate!(self, s => s.due_conversations(now, limit))
    }
    async fn drop_timer(&self, key: &str) -> Result<()> {
        delegate!(self, s => s.drop_timer(key))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        use super::redact_url;
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite://deskbot.db"), "sqlite://deskbot.db");
        // #27 probe B, D3: libpq's `?password=`, and an `@` in a password someone did not percent-encode.
        assert_eq!(
            redact_url("postgres://u@127.0.0.1:5999/db?password=Leak123"),
            "postgres://u@127.0.0.1:5999/db?password=***"
        );
        assert_eq!(redact_url("postgres://u:p@ss:w0rd@127.0.0.1:5999/db"), "postgres://u:***@127.0.0.1:5999/db");
        assert_eq!(
            redact_url("postgres://a:b@h/x?sslmode=require&PASSWORD=p%40w&sslpassword=k&application_name=me"),
            "postgres://a:***@h/x?sslmode=require&PASSWORD=***&sslpassword=***&application_name=me"
        );
        assert_eq!(redact_url("postgres://u:pw/with/slashes@h/db"), "postgres://u:***@h/db");
        // Not a URL at all (a libpq key/value string): still no password.
        assert_eq!(redact_url("host=db user=u password=s3cret dbname=x"), "host=db user=u password=*** dbname=x");
        assert_eq!(redact_url("sqlite://deskbot.db?mode=rwc"), "sqlite://deskbot.db?mode=rwc");
    }

    #[test]
    fn tells_urls_with_a_password() {
        use super::url_has_password;
        assert!(url_has_password("postgres://app:s3cret@db/x"));
        assert!(url_has_password("postgres://app@db/x?password=s"));
        assert!(url_has_password("host=db password=s"));
        assert!(!url_has_password("postgres://app@db/x"));
        assert!(!url_has_password("postgres://app@db/x?passfile=/run/pgpass"));
        assert!(!url_has_password("sqlite://deskbot.db"));
    }
}

//! The SQL backends. Both run the same statements (numbered `$n` parameters work in SQLite and PostgreSQL), written
//! once in [`sql_store!`] and instantiated per driver, so the two cannot drift apart.

use super::{
    Commit, Committed, Conversation, ConversationWrite, DeadLetter, DueTimer, LookAlikes, OutboxItem, Problem, Result,
    Store, StoreError, TicketFilter, redact_url,
};
use crate::core::ids::{Place, Platform, TicketNo};
use crate::core::report::TicketFacts;
use crate::core::ticket::{Event, Ticket, Timestamp};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// The embedded default: one SQLite file in WAL mode (or `sqlite::memory:` for replay and tests).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// Where this process's ticket numbers come from; see [`Numbers`].
    numbers: std::sync::Arc<tokio::sync::Mutex<Numbers>>,
    writer: std::sync::Arc<Writer>,
    checkpoints: std::sync::Arc<std::sync::Mutex<Checkpoints>>,
}

/// The background WAL checkpoint of a SQLite store; see [`SqliteStore::checkpoint_soon`].
#[derive(Debug, Default)]
struct Checkpoints {
    last: Option<std::time::Instant>,
    running: bool,
}

/// How often the writer has the WAL checkpointed, at most, while it is writing.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Frames in the WAL past which a connection that commits checkpoints it itself, in its own COMMIT (SQLite's
/// automatic checkpoint). It is a backstop: normally the writer's background checkpoints keep the WAL well below.
const WAL_BACKSTOP_FRAMES: &str = "10000";

/// Ticket numbers handed out by one SQLite process.
#[derive(Debug, Default)]
struct Numbers {
    /// The last number handed out (`None`: not yet read from the database).
    last: Option<i64>,
    /// Set once another process was found on the same file: the end of the block of numbers reserved for this
    /// one in `counters`.
    block_end: Option<i64>,
}

/// Numbers reserved at a time by a SQLite process that shares its file (gaps of up to this many on restart).
const NUMBER_BLOCK: i64 = 16;

/// PostgreSQL, for installs where several replicas share one database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: sqlx::PgPool,
    writer: std::sync::Arc<Writer>,
}

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn connect_err(url: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Connect { url: redact_url(url), reason: e.to_string() }
}

fn from_ms(v: i64) -> Result<Timestamp> {
    chrono::DateTime::from_timestamp_millis(v).ok_or_else(|| corrupt(format!("time {v} out of range")))
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The report facts stored beside a ticket (`None` for a ticket without its KPI history).
fn facts_json(t: &Ticket) -> Result<Option<String>> {
    TicketFacts::of(t).map(|f| serde_json::to_string(&f).map_err(corrupt)).transpose()
}

/// Rows per multi-row INSERT (well under SQLite's and PostgreSQL's limits on bound parameters).
const ROWS_PER_STATEMENT: usize = 200;

/// Tickets per multi-row INSERT into `tickets` (23 columns each).
const TICKETS_PER_STATEMENT: usize = 100;

/// The most commits one transaction of the writer takes together.
const MAX_GROUP: usize = 128;

/// A commit waiting for the writer, with where its answer goes.
type Job = (Prepared, tokio::sync::oneshot::Sender<Result<Committed>>);

/// A commit with its JSON already made: serialising happens in the caller's task, before the commit reaches the
/// writer, so the write transaction (and every commit queued behind it) does not wait on it.
struct Prepared {
    commit: Commit,
    /// Per insert (at version 1) and per update (at the version after the one read): data and report facts.
    insert_rows: Vec<(String, Option<String>)>,
    update_rows: Vec<(String, Option<String>)>,
    /// Per event: kind and data.
    event_rows: Vec<(String, String)>,
    /// Per outbound message: conversation key and payload.
    outbox_rows: Vec<(String, String)>,
}

impl Prepared {
    fn new(commit: Commit) -> Result<Prepared> {
        let ticket = |t: &Ticket, version: i64| -> Result<(String, Option<String>)> {
            let mut t = t.clone();
            t.version = version;
            Ok((serde_json::to_string(&t).map_err(corrupt)?, facts_json(&t)?))
        };
        let insert_rows = commit.inserts.iter().map(|t| ticket(t, 1)).collect::<Result<_>>()?;
        let update_rows = commit.updates.iter().map(|t| ticket(t, t.version + 1)).collect::<Result<_>>()?;
        let event_rows = commit
            .events
            .iter()
            .map(|(_, e)| {
                let data = serde_json::to_value(e).map_err(corrupt)?;
                let kind = data.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown").to_string();
                Ok((kind, data.to_string()))
            })
            .collect::<Result<_>>()?;
        let outbox_rows = commit
            .outbox
            .iter()
            .map(|m| Ok((conversation_key(m), serde_json::to_string(m).map_err(corrupt)?)))
            .collect::<Result<_>>()?;
        Ok(Prepared { commit, insert_rows, update_rows, event_rows, outbox_rows })
    }

    fn at(&self) -> i64 {
        self.commit.at.map(ms).unwrap_or(0)
    }
}

impl std::ops::Deref for Prepared {
    type Target = Commit;
    fn deref(&self) -> &Commit {
        &self.commit
    }
}

/// The way to a store's writer task (started on the first commit, and again if its runtime went away).
#[derive(Debug, Default)]
struct Writer {
    jobs: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Job>>>,
}

impl Writer {
    /// Queues `job` for the writer, starting one with `start` when there is none (or it stopped).
    fn submit(&self, job: Job, start: impl FnOnce() -> tokio::sync::mpsc::UnboundedSender<Job>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let job = match jobs.as_ref() {
            Some(writer) => match writer.send(job) {
                Ok(()) => return,
                Err(refused) => refused.0,
            },
            None => job,
        };
        let fresh = start();
        // The receiver was just made and is held by the task, so this send cannot fail; if the task is already
        // gone, the caller's answer channel is dropped and it reports [`StoreError::WriterGone`].
        let _ = fresh.send(job);
        *jobs = Some(fresh);
    }
}

/// True when no two commits of a group touch the same ticket, conversation or timer: then writing them in one
/// transaction gives each the result it would have had alone. Otherwise the writer writes them one by one.
fn independent(group: &[Job]) -> bool {
    let mut tickets = std::collections::HashSet::new();
    let mut keys = std::collections::HashSet::new();
    for (c, _) in group {
        let mut mine: std::collections::HashSet<i64> = c.inserts.iter().chain(&c.updates).map(|t| t.number.0).collect();
        mine.extend(c.events.iter().map(|(n, _)| n.0));
        mine.extend(c.timers.iter().map(|(n, _)| n.0));
        if mine.iter().any(|n| !tickets.insert(*n)) {
            return false;
        }
        let mine: std::collections::HashSet<&str> =
            c.conversations.iter().map(conversation_of).chain(c.drop_timers.iter().map(String::as_str)).collect();
        if mine.into_iter().any(|k| !keys.insert(k)) {
            return false;
        }
    }
    true
}

/// The key a conversation write is for.
fn conversation_of(w: &ConversationWrite) -> &str {
    match w {
        ConversationWrite::Put(cv) => &cv.key,
        ConversationWrite::Delete { key, .. } => key,
    }
}

/// A new conversation that can go into the multi-row INSERT: one its commit writes nothing else to.
fn batched_insert<'a>(c: &Commit, w: &'a ConversationWrite) -> Option<&'a Conversation> {
    match w {
        ConversationWrite::Put(cv)
            if cv.version == 0 && c.conversations.iter().filter(|o| conversation_of(o) == cv.key).count() == 1 =>
        {
            Some(cv)
        }
        _ => None,
    }
}

/// Whether a failed group write may be down to one of its members (a version conflict, which includes a deadlock
/// with another replica, or a taken key or number), so that writing each alone gives each its own answer.
/// Anything else (the database unreachable or busy, COMMIT failing) would fail them all alike.
fn caused_by_a_member(e: &StoreError) -> bool {
    match e {
        StoreError::Conflict(_) | StoreError::ConversationConflict(_) | StoreError::AlertGroupTaken(_) => true,
        StoreError::Db(sqlx::Error::Database(d)) => {
            d.is_unique_violation() || d.is_foreign_key_violation() || d.is_check_violation()
        }
        _ => false,
    }
}

/// `query` with `LIMIT n` written into its text. A bound LIMIT would cost a full recompile on every run on
/// SQLite: the planner reads the value, so each new binding expires the prepared statement (the profile of
/// `bench ingest` showed 15% of all CPU time in re-preparing the look-alike query). The text stays the same for a
/// given limit, so it is prepared once per connection and cached.
fn limited(query: &str, n: i64) -> String {
    format!("{query} LIMIT {}", n.max(0))
}

fn conversation_key(m: &crate::core::message::Outbound) -> String {
    format!("{}:{}:{}", m.platform, m.place.channel, m.place.thread.as_deref().unwrap_or(""))
}

impl SqliteStore {
    /// Opens (creating if missing) the SQLite database at `url` (`sqlite://deskbot.db`, `sqlite::memory:`).
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| connect_err(url, e))?
            .create_if_missing(true)
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", WAL_BACKSTOP_FRAMES)
            // A WAL file that grew past this (bytes; a reader held checkpoints back) is cut back when it next
            // starts over. Above what the backstop lets it reach, so that a busy WAL is not cut and regrown.
            .pragma("journal_size_limit", "67108864");
        let pool = if memory {
            // One connection that never closes: each connection to `:memory:` is a database of its own.
            SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        // A connection to a file in this process cannot have gone away: no ping (a round trip to the
        // connection's thread) before every use.
        .test_before_acquire(false)
        .connect_with(opts)
        .await
        .map_err(|e| connect_err(url, e))?;
        Ok(SqliteStore {
            pool,
            numbers: Default::default(),
            writer: Default::default(),
            checkpoints: Default::default(),
        })
    }
}

impl PgStore {
    /// Connects to PostgreSQL at `url`.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| connect_err(url, e))?;
        Self::connect_with(url, opts).await
    }

    /// Connects with every table inside `schema` (created if missing); tests use one schema each.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<PgStore> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(connect_err(url, "schema names are letters, digits and _"));
        }
        let opts = PgConnectOptions::from_str(url).map_err(|e| connect_err(url, e))?;
        let setup = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await
            .map_err(|e| connect_err(url, e))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&setup).await?;
        setup.close().await;
        Self::connect_with(url, opts.options([("search_path", schema)])).await
    }

    /// Drops a schema made by [`PgStore::connect_in_schema`].
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&self.pool).await?;
        Ok(())
    }

    async fn connect_with(url: &str, opts: PgConnectOptions) -> Result<PgStore> {
        reachable(url, &opts).await?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| connect_err(url, e))?;
        Ok(PgStore { pool, writer: Default::default() })
    }
}

/// Whether anything answers at the server's host and port, within [`REACH_WAIT`]: a server that is down or a wrong
/// port is named at once ("nothing answered at db:5433: connection refused") instead of the pool's "timed out"
/// after its acquire timeout. A Unix socket path is left to the driver.
async fn reachable(url: &str, opts: &PgConnectOptions) -> Result<()> {
    let (host, port) = (opts.get_host(), opts.get_port());
    if host.starts_with('/') {
        return Ok(());
    }
    let why = match tokio::time::timeout(REACH_WAIT, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", REACH_WAIT.as_secs()),
    };
    Err(connect_err(url, format!("nothing answered at {host}:{port}: {why} (is PostgreSQL running there?)")))
}

/// How long [`reachable`] waits for a TCP answer.
const REACH_WAIT: Duration = Duration::from_secs(3);

macro_rules! sql_store {
    ($store:ty, $migrations:literal, $begin:literal) => {
        impl $store {
            fn decode_ticket(row: &<<$store as Backend>::Db as sqlx::Database>::Row) -> Result<Ticket> {
                let data: String = row.try_get("data")?;
                let version: i64 = row.try_get("version")?;
                let mut t: Ticket = serde_json::from_str(&data).map_err(corrupt)?;
                t.version = version;
                Ok(t)
            }

            fn decode_conversation(row: &<<$store as Backend>::Db as sqlx::Database>::Row) -> Result<Conversation> {
                Ok(Conversation {
                    key: row.try_get("key")?,
                    owner: row.try_get("owner")?,
                    ticket: row.try_get::<Option<i64>, _>("ticket")?.map(TicketNo),
                    data: row.try_get("data")?,
                    deadline: row.try_get::<Option<i64>, _>("deadline")?.map(from_ms).transpose()?,
                    version: row.try_get("version")?,
                })
            }

            fn decode_problem(row: &<<$store as Backend>::Db as sqlx::Database>::Row) -> Result<Problem> {
                Ok(Problem {
                    id: row.try_get("id")?,
                    fingerprint: row.try_get("fingerprint")?,
                    title: row.try_get("title")?,
                    created_at: from_ms(row.try_get("created_at")?)?,
                    created_by: row.try_get("created_by")?,
                })
            }

            /// Closes the pool, waiting for connections to finish.
            pub async fn close(&self) {
                self.pool.close().await
            }

            /// See [`super::Db::single_row_commit`].
            pub async fn single_row_commit(&self, key: &str, at: Timestamp) -> Result<()> {
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query("INSERT INTO inbound_events (dedupe_key, received_at) VALUES ($1, $2)")
                    .bind(key)
                    .bind(ms(at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            /// The writer task behind [`Store::commit`]: takes every commit waiting (up to [`MAX_GROUP`]) and
            /// writes them in one transaction. Under load this is group commit: one BEGIN … COMMIT and one
            /// multi-row INSERT per kind of row for many events, instead of a transaction each. When one member of
            /// a group fails (a version conflict, a clash of ticket numbers), nothing of the group is kept and each
            /// member is written again on its own, so every caller gets exactly the answer a lone commit gives.
            async fn write_loop(self, mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>) {
                let mut jobs = Vec::with_capacity(MAX_GROUP);
                // On SQLite one connection is kept for writing (see `keeps_write_connection`). It goes back when
                // the pool closes (closing waits for every connection) and is closed after a failure.
                let mut held: Option<sqlx::pool::PoolConnection<<$store as Backend>::Db>> = None;
                loop {
                    let received = tokio::select! {
                        n = queue.recv_many(&mut jobs, MAX_GROUP) => n,
                        _ = self.pool.close_event(), if held.is_some() => {
                            held = None;
                            continue;
                        }
                    };
                    if received == 0 {
                        break;
                    }
                    self.checkpoint_soon();
                    let mut group = std::mem::take(&mut jobs);
                    // A caller that stopped waiting (an HTTP client hung up before its answer) gets nothing
                    // written, as when a transaction of its own was dropped; the sender will deliver it again.
                    group.retain(|(_, reply)| !reply.is_closed());
                    if group.len() > 1 && independent(&group) {
                        let commits: Vec<&Prepared> = group.iter().map(|(c, _)| c).collect();
                        match self.write(&mut held, &commits).await {
                            Ok(results) => {
                                for ((_, reply), r) in group.into_iter().zip(results) {
                                    let _ = reply.send(Ok(r));
                                }
                                continue;
                            }
                            Err(e) if !caused_by_a_member(&e) => {
                                // The database is unavailable, or the outcome of COMMIT is unknown: every member
                                // gets the error, as each would alone; writing them again one by one would wait
                                // out the same failure for each, or write twice what was in fact committed.
                                let text = e.to_string();
                                for (_, reply) in group {
                                    let _ = reply.send(Err(StoreError::Group(text.clone())));
                                }
                                continue;
                            }
                            Err(e) => {
                                tracing::debug!(size = group.len(), error = %e, "group commit refused; writing one by one")
                            }
                        }
                    }
                    for (c, reply) in group {
                        let r = self.write(&mut held, &[&c]).await.map(|r| r[0]);
                        let _ = reply.send(r);
                    }
                }
            }

            /// Writes `members` in one transaction: each one's dedupe key first (a key already stored makes that
            /// member [`Committed::Duplicate`] and skips the rest of it), then the others' rows.
            ///
            /// A deadlock PostgreSQL broke (with another replica's transaction) or a serialization failure is,
            /// for the caller, someone else changing the same thing at the same time: a conflict, retried.
            async fn write(
                &self,
                held: &mut Option<sqlx::pool::PoolConnection<<$store as Backend>::Db>>,
                members: &[&Prepared],
            ) -> Result<Vec<Committed>> {
                let conn = match held {
                    Some(c) => c,
                    None => held.insert(self.pool.acquire().await?),
                };
                let r = self.write_once(conn, members).await;
                let clean = match &r {
                    Ok(_) => true,
                    Err(e) => caused_by_a_member(e),
                };
                if !clean && let Some(mut c) = held.take() {
                    // After a failure that is not a member's refusal the connection's state is not known (a
                    // transaction SQLite rolled back by itself, a PostgreSQL session that was cut): close it rather
                    // than use it again.
                    c.close_on_drop();
                } else if !self.keeps_write_connection() {
                    *held = None;
                }
                if let Err(StoreError::Conflict(n)) = &r
                    && members.iter().any(|c| c.inserts.iter().any(|t| t.number == *n))
                {
                    // A new ticket's number was taken by another process: forget ours (only now, with the write
                    // lock and the connection given back, as the next allocation may need them) and let the
                    // caller retry.
                    self.numbers_taken_elsewhere().await;
                }
                r.map_err(|e| match e {
                    StoreError::Db(sqlx::Error::Database(d)) if matches!(d.code().as_deref(), Some("40P01" | "40001")) => {
                        let n = members.iter().flat_map(|c| &c.updates).map(|t| t.number).next();
                        StoreError::Conflict(n.unwrap_or(TicketNo(0)))
                    }
                    e => e,
                })
            }

            async fn write_once(
                &self,
                conn: &mut sqlx::pool::PoolConnection<<$store as Backend>::Db>,
                members: &[&Prepared],
            ) -> Result<Vec<Committed>> {
                type Db = <$store as Backend>::Db;
                let mut results = vec![Committed::Written; members.len()];
                let mut first_with_key: std::collections::HashMap<&str, usize> = Default::default();
                let mut keys = Vec::new();
                for (i, c) in members.iter().enumerate() {
                    if let Some(k) = c.dedupe_key.as_deref() {
                        if first_with_key.contains_key(k) {
                            results[i] = Committed::Duplicate;
                        } else {
                            first_with_key.insert(k, i);
                            keys.push((k, c.at()));
                        }
                    }
                }
                // Every kind of row is written in one order (keys, ticket numbers, conversation keys sorted), so
                // that two replicas' groups lock rows in the same order and cannot deadlock on each other.
                keys.sort_unstable();
                let mut tx = sqlx::Connection::begin_with(&mut **conn, $begin).await?;
                let mut stored = std::collections::HashSet::new();
                for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO inbound_events (dedupe_key, received_at) ");
                    q.push_values(chunk, |mut b, (k, at)| {
                        b.push_bind(k.to_string()).push_bind(*at);
                    });
                    q.push(" ON CONFLICT DO NOTHING RETURNING dedupe_key");
                    for row in q.build().fetch_all(&mut *tx).await? {
                        stored.insert(row.try_get::<String, _>(0)?);
                    }
                }
                for (k, i) in first_with_key {
                    if !stored.contains(k) {
                        results[i] = Committed::Duplicate;
                    }
                }
                let written: Vec<&Prepared> =
                    members.iter().zip(&results).filter(|(_, r)| **r == Committed::Written).map(|(c, _)| *c).collect();
                if written.is_empty() {
                    tx.rollback().await?;
                    return Ok(results);
                }
                match self.write_rows(&mut tx, &written).await {
                    Ok(()) => {
                        tx.commit().await?;
                        Ok(results)
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        Err(e)
                    }
                }
            }

            /// Everything of `members` but their dedupe keys, inside the caller's transaction. Rows of one kind go
            /// in as multi-row INSERTs (in chunks): a round trip is most of what a row costs.
            async fn write_rows(
                &self,
                tx: &mut sqlx::Transaction<'_, <$store as Backend>::Db>,
                members: &[&Prepared],
            ) -> Result<()> {
                type Db = <$store as Backend>::Db;
                let inserts: Vec<(&Ticket, &(String, Option<String>))> =
                    members.iter().flat_map(|c| c.inserts.iter().zip(&c.insert_rows)).collect();
                let new_numbers: std::collections::HashSet<i64> = inserts.iter().map(|(t, _)| t.number.0).collect();
                for chunk in inserts.chunks(TICKETS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO tickets (number, state, category, priority, ticket_type, requester, owner, \
                         origin_platform, origin_channel, origin_thread, created_at, updated_at, first_response_due, \
                         resolution_due, first_response_at, resolved_at, deflected, version, data, fingerprint, facts, major, \
                         alert_group) ",
                    );
                    q.push_values(chunk, |mut b, (t, (data, facts))| {
                        b.push_bind(t.number.0)
                            .push_bind(t.state.as_str())
                            .push_bind(t.category.clone())
                            .push_bind(t.priority.as_str())
                            .push_bind(t.ticket_type.as_str())
                            .push_bind(t.requester.key())
                            .push_bind(t.owner.as_ref().map(|o| o.key()))
                            .push_bind(t.origin.platform.as_str())
                            .push_bind(t.origin.place.channel.clone())
                            .push_bind(t.origin.place.thread.clone())
                            .push_bind(ms(t.created_at))
                            .push_bind(ms(t.updated_at))
                            .push_bind(t.first_response_due.map(ms))
                            .push_bind(t.resolution_due.map(ms))
                            .push_bind(t.first_response_at.map(ms))
                            .push_bind(t.resolved_at.map(ms))
                            .push_bind(t.deflected)
                            .push("1")
                            .push_bind(data.clone())
                            .push_bind(t.fingerprint.clone())
                            .push_bind(facts.clone())
                            .push_bind(t.major)
                            .push_bind(super::alert_group_key(t));
                    });
                    if let Err(e) = q.build().execute(&mut **tx).await {
                        let group_taken = e.as_database_error().is_some_and(|d| {
                            d.is_unique_violation()
                                && (d.message().contains("alert_group")
                                    || d.constraint().is_some_and(|c| c.contains("alert_group")))
                        });
                        if group_taken {
                            // Another writer opened one of these groups' ticket first.
                            let group = chunk.iter().find_map(|(t, _)| super::alert_group_key(t)).unwrap_or_default();
                            return Err(StoreError::AlertGroupTaken(group));
                        }
                        if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
                            // Another process used one of these numbers (see `write`).
                            return Err(StoreError::Conflict(chunk[0].0.number));
                        }
                        return Err(e.into());
                    }
                }
                let mut updates: Vec<_> = members.iter().flat_map(|c| c.updates.iter().zip(&c.update_rows)).collect();
                updates.sort_by_key(|(t, _)| t.number);
                for (t, (data, facts)) in updates {
                    let r = sqlx::query(
                        "UPDATE tickets SET state = $2, category = $3, priority = $4, ticket_type = $5, owner = $6, \
                         updated_at = $7, first_response_due = $8, resolution_due = $9, first_response_at = $10, \
                         resolved_at = $11, deflected = $12, data = $13, version = version + 1, fingerprint = $15, \
                         facts = $16, major = $17, alert_group = CASE WHEN $18 THEN alert_group ELSE NULL END \
                         WHERE number = $1 AND version = $14",
                    )
                    .bind(t.number.0)
                    .bind(t.state.as_str())
                    .bind(&t.category)
                    .bind(t.priority.as_str())
                    .bind(t.ticket_type.as_str())
                    .bind(t.owner.as_ref().map(|o| o.key()))
                    .bind(ms(t.updated_at))
                    .bind(t.first_response_due.map(ms))
                    .bind(t.resolution_due.map(ms))
                    .bind(t.first_response_at.map(ms))
                    .bind(t.resolved_at.map(ms))
                    .bind(t.deflected)
                    .bind(data)
                    .bind(t.version)
                    .bind(t.fingerprint.as_deref())
                    .bind(facts)
                    .bind(t.major)
                    .bind(super::alert_group_key(t).is_some())
                    .execute(&mut **tx)
                    .await?;
                    if r.rows_affected() == 0 {
                        return Err(StoreError::Conflict(t.number));
                    }
                }
                // More keys of what was handled; one already stored is fine (it only marks the same thing again).
                let mut also: Vec<(&str, i64)> =
                    members.iter().flat_map(|c| c.also_keys.iter().map(move |k| (k.as_str(), c.at()))).collect();
                also.sort_unstable();
                for chunk in also.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO inbound_events (dedupe_key, received_at) ");
                    q.push_values(chunk, |mut b, (k, at)| {
                        b.push_bind(k.to_string()).push_bind(*at);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut **tx).await?;
                }
                let events: Vec<_> = members.iter().flat_map(|c| c.events.iter().zip(&c.event_rows)).collect();
                for chunk in events.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO ticket_events (ticket, at, actor, kind, data) ");
                    q.push_values(chunk, |mut b, ((n, e), (kind, data))| {
                        b.push_bind(n.0)
                            .push_bind(ms(e.at))
                            .push_bind(e.actor.as_ref().map(|a| a.key()))
                            .push_bind(kind.clone())
                            .push_bind(data.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                // Messages keep the members' order, so each conversation's messages stay in the order they were made.
                let outbox: Vec<_> =
                    members.iter().flat_map(|c| c.outbox.iter().zip(&c.outbox_rows).map(|m| (m, c.at()))).collect();
                for chunk in outbox.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO outbox (created_at, platform, conversation, ticket, payload, status, attempts, \
                         next_attempt_at) ",
                    );
                    q.push_values(chunk, |mut b, ((m, (conversation, payload)), now)| {
                        b.push_bind(*now)
                            .push_bind(m.platform.as_str())
                            .push_bind(conversation.clone())
                            .push_bind(m.ticket.map(|t| t.0))
                            .push_bind(payload.clone())
                            .push("'pending'")
                            .push("0")
                            .push_bind(*now);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                // Each listed ticket's pending timers are replaced; a timer whose key already fired (it is in
                // inbound_events) is not set again. A ticket inserted here has neither, so it skips both checks.
                let mut replaced: Vec<i64> = members
                    .iter()
                    .flat_map(|c| &c.timers)
                    .map(|(n, _)| n.0)
                    .filter(|n| !new_numbers.contains(n))
                    .collect();
                replaced.sort_unstable();
                for chunk in replaced.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("DELETE FROM timers WHERE ticket IN (");
                    let mut list = q.separated(", ");
                    for n in chunk {
                        list.push_bind(*n);
                    }
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
                let timers: Vec<_> = members.iter().flat_map(|c| &c.timers).flat_map(|(_, ts)| ts.iter()).collect();
                for chunk in timers.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO timers (key, ticket, clock, percent, at, due) ");
                    q.push_values(chunk.iter(), |mut b, t| {
                        b.push_bind(t.key.clone())
                            .push_bind(t.ticket.0)
                            .push_bind(t.clock.as_str())
                            .push_bind(i64::from(t.percent))
                            .push_bind(ms(t.at))
                            .push_bind(ms(t.due));
                    });
                    q.push(" ON CONFLICT (key) DO UPDATE SET at = excluded.at, due = excluded.due");
                    q.build().execute(&mut **tx).await?;
                }
                let old_keys: Vec<&str> =
                    timers.iter().filter(|t| !new_numbers.contains(&t.ticket.0)).map(|t| t.key.as_str()).collect();
                let dropped: Vec<&str> = members.iter().flat_map(|c| &c.drop_timers).map(|k| k.as_str()).collect();
                let fired = old_keys.chunks(ROWS_PER_STATEMENT).map(|c| {
                    (c, "DELETE FROM timers WHERE key IN (SELECT dedupe_key FROM inbound_events WHERE dedupe_key IN (", "))")
                });
                let named = dropped.chunks(ROWS_PER_STATEMENT).map(|c| (c, "DELETE FROM timers WHERE key IN (", ")"));
                for (chunk, open, close) in fired.chain(named) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(open);
                    let mut list = q.separated(", ");
                    for k in chunk {
                        list.push_bind(k.to_string());
                    }
                    q.push(close);
                    q.build().execute(&mut **tx).await?;
                }
                for p in members.iter().flat_map(|c| &c.problems) {
                    sqlx::query(
                        "INSERT INTO problems (id, fingerprint, title, created_at, created_by) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (fingerprint) DO NOTHING",
                    )
                    .bind(p.id)
                    .bind(&p.fingerprint)
                    .bind(&p.title)
                    .bind(ms(p.created_at))
                    .bind(p.created_by.as_deref())
                    .execute(&mut **tx)
                    .await?;
                }
                for c in members {
                    let now = c.at();
                    for (text, category, source) in &c.training {
                        let id: i64 = sqlx::query(
                            "UPDATE counters SET value = value + 1 WHERE name = 'training_example' RETURNING value",
                        )
                        .fetch_one(&mut **tx)
                        .await?
                        .try_get(0)?;
                        sqlx::query(
                            "INSERT INTO training_examples (id, text, category, source, created_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(text)
                        .bind(category)
                        .bind(source)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                }
                // New conversations go in together; one whose key is already taken was started by someone else.
                // (A key a member also writes otherwise is written in that member's order, below.)
                let mut fresh: Vec<(&Conversation, i64)> = members
                    .iter()
                    .flat_map(|c| c.conversations.iter().filter_map(move |w| batched_insert(c, w).map(|cv| (cv, c.at()))))
                    .collect();
                fresh.sort_by(|a, b| a.0.key.cmp(&b.0.key));
                for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
                    Self::insert_conversations(tx, chunk).await?;
                }
                let mut others: Vec<(&ConversationWrite, i64)> = members
                    .iter()
                    .flat_map(|c| c.conversations.iter().filter(|w| batched_insert(c, w).is_none()).map(|w| (w, c.at())))
                    .collect();
                // Stable: writes to one key stay in the order they were made.
                others.sort_by(|a, b| conversation_of(a.0).cmp(conversation_of(b.0)));
                for (w, now) in others {
                    let (key, affected) = match w {
                        ConversationWrite::Put(cv) if cv.version == 0 => {
                            Self::insert_conversations(tx, &[(cv, now)]).await?;
                            continue;
                        }
                        ConversationWrite::Put(cv) => {
                            let r = sqlx::query(
                                "UPDATE conversations SET owner = $2, ticket = $3, data = $4, deadline = $5, \
                                 updated_at = $6, version = version + 1 WHERE key = $1 AND version = $7",
                            )
                            .bind(&cv.key)
                            .bind(&cv.owner)
                            .bind(cv.ticket.map(|t| t.0))
                            .bind(&cv.data)
                            .bind(cv.deadline.map(ms))
                            .bind(now)
                            .bind(cv.version)
                            .execute(&mut **tx)
                            .await?;
                            (&cv.key, r.rows_affected())
                        }
                        ConversationWrite::Delete { key, version } => {
                            let r = sqlx::query("DELETE FROM conversations WHERE key = $1 AND version = $2")
                                .bind(key)
                                .bind(version)
                                .execute(&mut **tx)
                                .await?;
                            (key, r.rows_affected())
                        }
                    };
                    if affected == 0 {
                        return Err(StoreError::ConversationConflict(key.clone()));
                    }
                }
                Ok(())
            }

            /// Starts `rows` (new conversations, with when) in one INSERT; a key already taken was started by
            /// someone else: [`StoreError::ConversationConflict`].
            async fn insert_conversations(
                tx: &mut sqlx::Transaction<'_, <$store as Backend>::Db>,
                rows: &[(&Conversation, i64)],
            ) -> Result<()> {
                let mut q = sqlx::QueryBuilder::<<$store as Backend>::Db>::new(
                    "INSERT INTO conversations (key, owner, ticket, data, deadline, updated_at, version) ",
                );
                q.push_values(rows, |mut b, (cv, now)| {
                    b.push_bind(cv.key.clone())
                        .push_bind(cv.owner.clone())
                        .push_bind(cv.ticket.map(|t| t.0))
                        .push_bind(cv.data.clone())
                        .push_bind(cv.deadline.map(ms))
                        .push_bind(*now)
                        .push("1");
                });
                q.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
                let mut made = std::collections::HashSet::new();
                for row in q.build().fetch_all(&mut **tx).await? {
                    made.insert(row.try_get::<String, _>(0)?);
                }
                match rows.iter().find(|(cv, _)| !made.contains(&cv.key)) {
                    Some((cv, _)) => Err(StoreError::ConversationConflict(cv.key.clone())),
                    None => Ok(()),
                }
            }
        }

        impl Store for $store {
            async fn migrate(&self) -> Result<()> {
                sqlx::migrate!($migrations).run(&self.pool).await.map_err(|e| StoreError::Migrate(e.to_string()))
            }

            async fn next_ticket_number(&self) -> Result<TicketNo> {
                self.allocate_ticket_number().await
            }

            async fn unused_ticket_number(&self, n: TicketNo) {
                self.give_back_ticket_number(n).await
            }

            async fn seen(&self, key: &str) -> Result<bool> {
                let row = sqlx::query("SELECT 1 FROM inbound_events WHERE dedupe_key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn ticket(&self, n: TicketNo) -> Result<Option<Ticket>> {
                let row = sqlx::query("SELECT data, version FROM tickets WHERE number = $1")
                    .bind(n.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::decode_ticket).transpose()
            }

            async fn ticket_by_thread(&self, platform: Platform, place: &Place) -> Result<Option<Ticket>> {
                let Some(thread) = place.thread.as_deref() else { return Ok(None) };
                let row = sqlx::query(
                    "SELECT data, version FROM tickets \
                     WHERE origin_platform = $1 AND origin_channel = $2 AND origin_thread = $3 \
                     ORDER BY number DESC LIMIT 1",
                )
                .bind(platform.as_str())
                .bind(&place.channel)
                .bind(thread)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::decode_ticket).transpose()
            }

            async fn tickets(&self, f: &TicketFilter) -> Result<Vec<Ticket>> {
                // Only the conditions asked for are written into the statement: `($n IS NULL OR col = $n)` would
                // keep the planner from the requester/owner/state indexes and scan every ticket.
                let mut q = sqlx::QueryBuilder::<<$store as Backend>::Db>::new("SELECT data, version FROM tickets WHERE 1 = 1");
                if f.active_only {
                    q.push(" AND state IN ('new', 'open', 'pending_user', 'pending_vendor')");
                }
                if let Some(o) = &f.owner {
                    q.push(" AND owner = ").push_bind(o.clone());
                }
                if let Some(r) = &f.requester {
                    q.push(" AND requester = ").push_bind(r.clone());
                }
                if let Some(c) = &f.category {
                    q.push(" AND category = ").push_bind(c.clone());
                }
                if f.unowned {
                    q.push(" AND owner IS NULL");
                }
                if let Some(t) = &f.text {
                    q.push(" AND LOWER(data) LIKE '%' || LOWER(").push_bind(t.clone()).push(") || '%'");
                }
                // Limits are written into the SQL, never bound: see [`limited`].
                q.push(limited(" ORDER BY number", f.limit.unwrap_or(i64::MAX)));
                let rows = q.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn events_of(
                &self,
                tickets: &[TicketNo],
            ) -> Result<std::collections::HashMap<TicketNo, Vec<Event>>> {
                let mut out: std::collections::HashMap<TicketNo, Vec<Event>> = std::collections::HashMap::new();
                for chunk in tickets.chunks(500) {
                    // Only integers go into the list, so building the statement is safe.
                    let list: Vec<String> = chunk.iter().map(|t| t.0.to_string()).collect();
                    let sql = format!(
                        "SELECT ticket, data FROM ticket_events WHERE ticket IN ({}) ORDER BY ticket, id",
                        list.join(",")
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                    for r in &rows {
                        let d: String = r.try_get("data")?;
                        let e: Event = serde_json::from_str(&d).map_err(corrupt)?;
                        out.entry(TicketNo(r.try_get("ticket")?)).or_default().push(e);
                    }
                }
                Ok(out)
            }

            async fn events(&self, n: TicketNo) -> Result<Vec<Event>> {
                let rows = sqlx::query("SELECT data FROM ticket_events WHERE ticket = $1 ORDER BY id")
                    .bind(n.0)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let d: String = r.try_get("data")?;
                        serde_json::from_str(&d).map_err(corrupt)
                    })
                    .collect()
            }

            async fn commit(&self, c: Commit) -> Result<Committed> {
                let c = Prepared::new(c)?;
                let (reply, answer) = tokio::sync::oneshot::channel();
                self.writer.submit((c, reply), || {
                    let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
                    self.detached().start_writer(queue);
                    jobs
                });
                answer.await.map_err(|_| StoreError::WriterGone)?
            }

            async fn lease_outbox(
                &self,
                worker: &str,
                platform: Option<Platform>,
                now: Timestamp,
                lease_until: Timestamp,
                limit: i64,
            ) -> Result<Vec<OutboxItem>> {
                // Only the oldest pending message of each conversation is eligible, so order within a
                // conversation holds even when an earlier message is waiting for a retry. The lease condition is
                // repeated on the outer UPDATE: under PostgreSQL's READ COMMITTED a worker that waited for another's
                // row lock re-checks only the outer WHERE against the row as committed, so without it two replicas
                // could lease (and send) the same message.
                let rows = sqlx::query(sqlx::AssertSqlSafe(limited(
                    "UPDATE outbox SET lease_owner = $1, leased_until = $3 \
                     WHERE status = 'pending' AND (leased_until IS NULL OR leased_until <= $2) AND id IN ( \
                       SELECT o.id FROM outbox o \
                       WHERE o.status = 'pending' AND o.next_attempt_at <= $2 \
                         AND (o.leased_until IS NULL OR o.leased_until <= $2) \
                         AND ($4 IS NULL OR o.platform = $4) \
                         AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.conversation = o.conversation \
                                         AND e.status = 'pending' AND e.id < o.id) \
                       ORDER BY o.id",
                    limit,
                ) + ") RETURNING id, created_at, attempts, payload"))
                .bind(worker)
                .bind(ms(now))
                .bind(ms(lease_until))
                .bind(platform.map(|p| p.as_str()))
                .fetch_all(&self.pool)
                .await?;
                let mut out = rows
                    .iter()
                    .map(|r| {
                        let payload: String = r.try_get("payload")?;
                        Ok(OutboxItem {
                            id: r.try_get("id")?,
                            created_at: from_ms(r.try_get("created_at")?)?,
                            attempts: r.try_get("attempts")?,
                            message: serde_json::from_str(&payload).map_err(corrupt)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                out.sort_by_key(|i| i.id);
                Ok(out)
            }

            async fn mark_delivered(&self, id: i64, at: Timestamp) -> Result<()> {
                sqlx::query(
                    "UPDATE outbox SET status = 'delivered', delivered_at = $2, leased_until = NULL, lease_owner = NULL \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(ms(at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn due_timers(&self, now: Timestamp, limit: i64) -> Result<Vec<DueTimer>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(limited(
                    "SELECT key, ticket, clock, percent, at, due FROM timers WHERE at <= $1 ORDER BY at, key",
                    limit,
                )))
                .bind(ms(now))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let clock: String = r.try_get("clock")?;
                        Ok(DueTimer {
                            key: r.try_get("key")?,
                            ticket: TicketNo(r.try_get("ticket")?),
                            clock: crate::core::ticket::SlaClock::parse(&clock)
                                .ok_or_else(|| corrupt(format!("unknown clock {clock}")))?,
                            percent: u8::try_from(r.try_get::<i64, _>("percent")?).map_err(corrupt)?,
                            at: from_ms(r.try_get("at")?)?,
                            due: from_ms(r.try_get("due")?)?,
                        })
                    })
                    .collect()
            }

            async fn next_timer_at(&self) -> Result<Option<Timestamp>> {
                let t = sqlx::query("SELECT at FROM timers ORDER BY at LIMIT 1").fetch_optional(&self.pool).await?;
                let c = sqlx::query(
                    "SELECT deadline FROM conversations WHERE deadline IS NOT NULL ORDER BY deadline LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                let t = t.map(|r| from_ms(r.try_get("at")?)).transpose()?;
                let c = c.map(|r| from_ms(r.try_get("deadline")?)).transpose()?;
                Ok(match (t, c) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                })
            }

            async fn tickets_with_fingerprint(&self, fp: &str, since: Timestamp) -> Result<Vec<TicketNo>> {
                let rows = sqlx::query(
                    "SELECT number FROM tickets WHERE fingerprint = $1 AND created_at >= $2 ORDER BY created_at, number",
                )
                .bind(fp)
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok(TicketNo(r.try_get("number")?))).collect()
            }

            async fn look_alikes(
                &self,
                fp: &str,
                since: Timestamp,
                newest: i64,
                count_up_to: i64,
            ) -> Result<LookAlikes> {
                // The count stops at `count_up_to` (a storm of look-alikes must not make every new ticket count them
                // all), and the newest are read walking the (fingerprint, created_at) index backwards.
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT 0 AS part, COUNT(*) AS n, CAST(NULL AS TEXT) AS title, CAST(NULL AS BIGINT) AS created_at, \
                     CAST(NULL AS TEXT) AS created_by \
                     FROM ({}) counted \
                     UNION ALL SELECT 1, number, CAST(NULL AS TEXT), created_at, CAST(NULL AS TEXT) FROM ({}) listed \
                     UNION ALL SELECT 2, id, title, created_at, created_by FROM problems WHERE fingerprint = $1 \
                     ORDER BY part, created_at DESC, n DESC",
                    limited("SELECT 1 FROM tickets WHERE fingerprint = $1 AND created_at >= $2", count_up_to),
                    limited(
                        "SELECT number, created_at FROM tickets WHERE fingerprint = $1 AND created_at >= $2 \
                         ORDER BY created_at DESC, number DESC",
                        newest
                    ),
                )))
                .bind(fp)
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
                let mut found = LookAlikes::default();
                for r in &rows {
                    let (part, n): (i32, i64) = (r.try_get("part")?, r.try_get("n")?);
                    match part {
                        0 => found.count = usize::try_from(n).unwrap_or(0),
                        1 => found.newest.push(TicketNo(n)),
                        _ => {
                            found.problem = Some(Problem {
                                id: n,
                                fingerprint: fp.to_string(),
                                title: r.try_get("title")?,
                                created_at: from_ms(r.try_get("created_at")?)?,
                                created_by: r.try_get("created_by")?,
                            })
                        }
                    }
                }
                Ok(found)
            }

            async fn requester_recent(&self, requester: &str, opened_since: Timestamp) -> Result<(i64, Vec<Ticket>)> {
                // The count comes first (its `data` is NULL), then the active tickets by number.
                let rows = sqlx::query(
                    "SELECT CAST(NULL AS TEXT) AS data, COUNT(*) AS version, CAST(0 AS BIGINT) AS number FROM tickets \
                     WHERE requester = $1 AND created_at >= $2 \
                     UNION ALL SELECT data, version, number FROM tickets WHERE requester = $1 \
                     AND state IN ('new', 'open', 'pending_user', 'pending_vendor') ORDER BY number",
                )
                .bind(requester)
                .bind(ms(opened_since))
                .fetch_all(&self.pool)
                .await?;
                let mut opened = 0;
                let mut active = Vec::new();
                for r in &rows {
                    match r.try_get::<Option<String>, _>("data")? {
                        None => opened = r.try_get("version")?,
                        Some(_) => active.push(Self::decode_ticket(r)?),
                    }
                }
                Ok((opened, active))
            }

            async fn active_majors(&self) -> Result<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT data, version FROM tickets WHERE major = TRUE \
                     AND state IN ('new', 'open', 'pending_user', 'pending_vendor') ORDER BY number",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn majors_resolved_since(&self, since: Timestamp) -> Result<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT data, version FROM tickets WHERE major = TRUE \
                     AND state IN ('resolved', 'closed') AND resolved_at >= $1 ORDER BY resolved_at DESC, number DESC",
                )
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn recent_in_category(&self, category: &str, since: Timestamp) -> Result<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT data, version FROM tickets WHERE created_at >= $1 AND category = $2 \
                     ORDER BY created_at, number",
                )
                .bind(ms(since))
                .bind(category)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn resolved_since(&self, requester: &str, since: Timestamp) -> Result<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT data, version FROM tickets WHERE requester = $1 AND resolved_at >= $2 \
                     AND state IN ('resolved', 'closed') ORDER BY resolved_at DESC, number DESC",
                )
                .bind(requester)
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn facts_touched(
                &self,
                since: Timestamp,
                until: Timestamp,
            ) -> Result<Vec<(TicketNo, Timestamp, Option<TicketFacts>)>> {
                let rows = sqlx::query(
                    "SELECT number, updated_at, facts FROM tickets WHERE created_at < $2 AND (updated_at >= $1 \
                     OR state IN ('new', 'open', 'pending_user', 'pending_vendor')) ORDER BY number",
                )
                .bind(ms(since))
                .bind(ms(until))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let facts: Option<String> = r.try_get("facts")?;
                        let facts = facts.map(|f| serde_json::from_str(&f).map_err(corrupt)).transpose()?;
                        Ok((TicketNo(r.try_get("number")?), from_ms(r.try_get("updated_at")?)?, facts))
                    })
                    .collect()
            }

            async fn backlog(&self, now: Timestamp) -> Result<(Vec<Timestamp>, u64)> {
                // The active states listed (not `NOT IN` the others) so the state index is used, not a table scan.
                let rows = sqlx::query(
                    "SELECT created_at FROM tickets WHERE state IN ('new', 'open', 'pending_user', 'pending_vendor')",
                )
                    .fetch_all(&self.pool)
                    .await?;
                let created = rows.iter().map(|r| from_ms(r.try_get("created_at")?)).collect::<Result<Vec<_>>>()?;
                let late: i64 = sqlx::query(
                    "SELECT COUNT(*) FROM tickets WHERE state IN ('new', 'open', 'pending_user', 'pending_vendor') \
                     AND first_response_at IS NULL AND first_response_due < $1",
                )
                .bind(ms(now))
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
                Ok((created, u64::try_from(late).unwrap_or(0)))
            }

            async fn put_signals(&self, records: &[crate::core::signals::SignalRecord]) -> Result<u64> {
                let mut tx = self.pool.begin_with($begin).await?;
                let mut new = 0;
                for r in records {
                    let done = sqlx::query(
                        "INSERT INTO signals (id, kind, subject, ok, at, detail) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(&r.id)
                    .bind(r.kind.as_str())
                    .bind(&r.subject)
                    .bind(r.ok)
                    .bind(ms(r.at))
                    .bind(r.detail.as_deref())
                    .execute(&mut *tx)
                    .await?;
                    new += done.rows_affected();
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn signals(
                &self,
                since: Timestamp,
                until: Timestamp,
            ) -> Result<Vec<crate::core::signals::SignalRecord>> {
                let rows = sqlx::query(
                    "SELECT id, kind, subject, ok, at, detail FROM signals WHERE at >= $1 AND at < $2 ORDER BY at, id",
                )
                .bind(ms(since))
                .bind(ms(until))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        Ok(crate::core::signals::SignalRecord {
                            id: r.try_get("id")?,
                            kind: crate::core::signals::SignalKind::parse(&kind)
                                .ok_or_else(|| corrupt(format!("unknown signal kind {kind}")))?,
                            subject: r.try_get("subject")?,
                            ok: r.try_get("ok")?,
                            at: from_ms(r.try_get("at")?)?,
                            detail: r.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn count_opened_by(&self, requester: &str, since: Timestamp) -> Result<i64> {
                let row = sqlx::query("SELECT COUNT(*) FROM tickets WHERE requester = $1 AND created_at >= $2")
                    .bind(requester)
                    .bind(ms(since))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get::<i64, _>(0)?)
            }

            async fn opened_by(&self, requester: &str, since: Timestamp) -> Result<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT data, version FROM tickets WHERE requester = $1 AND created_at >= $2 ORDER BY number",
                )
                .bind(requester)
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_ticket).collect()
            }

            async fn count_opened_on(&self, p: Platform, since: Timestamp) -> Result<i64> {
                let row = sqlx::query(
                    "SELECT COUNT(*) FROM tickets WHERE created_at >= $1 AND origin_platform = $2 \
                     AND origin_channel <> 'alerts'",
                )
                .bind(ms(since))
                .bind(p.as_str())
                .fetch_one(&self.pool)
                .await?;
                Ok(row.try_get::<i64, _>(0)?)
            }

            async fn fingerprint_counts(&self, since: Timestamp, until: Timestamp) -> Result<Vec<(String, i64)>> {
                let rows = sqlx::query(
                    "SELECT fingerprint, COUNT(*) AS n FROM tickets WHERE fingerprint IS NOT NULL \
                     AND created_at >= $1 AND created_at < $2 GROUP BY fingerprint ORDER BY n DESC, fingerprint",
                )
                .bind(ms(since))
                .bind(ms(until))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok((r.try_get("fingerprint")?, r.try_get("n")?))).collect()
            }

            async fn next_problem_id(&self) -> Result<i64> {
                let row = sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'problem' RETURNING value")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get::<i64, _>(0)?)
            }

            async fn problem_for(&self, fp: &str) -> Result<Option<Problem>> {
                let row = sqlx::query(
                    "SELECT id, fingerprint, title, created_at, created_by FROM problems WHERE fingerprint = $1",
                )
                .bind(fp)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::decode_problem).transpose()
            }

            async fn problems(&self) -> Result<Vec<Problem>> {
                let rows = sqlx::query("SELECT id, fingerprint, title, created_at, created_by FROM problems ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::decode_problem).collect()
            }

            async fn training_examples(&self) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query("SELECT text, category FROM training_examples ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get("text")?, r.try_get("category")?))).collect()
            }

            async fn conversations_of(&self, owner: &str) -> Result<Vec<Conversation>> {
                let rows = sqlx::query(
                    "SELECT key, owner, ticket, data, deadline, version FROM conversations WHERE owner = $1 \
                     ORDER BY updated_at DESC, key",
                )
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_conversation).collect()
            }

            async fn conversation_for_ticket(&self, n: TicketNo) -> Result<Option<Conversation>> {
                let row = sqlx::query(
                    "SELECT key, owner, ticket, data, deadline, version FROM conversations WHERE ticket = $1 \
                     ORDER BY updated_at DESC LIMIT 1",
                )
                .bind(n.0)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::decode_conversation).transpose()
            }

            async fn due_conversations(&self, now: Timestamp, limit: i64) -> Result<Vec<Conversation>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(limited(
                    "SELECT key, owner, ticket, data, deadline, version FROM conversations \
                     WHERE deadline IS NOT NULL AND deadline <= $1 ORDER BY deadline, key",
                    limit,
                )))
                .bind(ms(now))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::decode_conversation).collect()
            }

            async fn drop_timer(&self, key: &str) -> Result<()> {
                sqlx::query("DELETE FROM timers WHERE key = $1").bind(key).execute(&self.pool).await?;
                Ok(())
            }

            async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
                     leased_until = NULL, lease_owner = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(ms(retry_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_dead(&self, id: i64, error: &str, at: Timestamp) -> Result<()> {
                // `next_attempt_at` keeps when it was given up (a dead letter is never due).
                sqlx::query(
                    "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $2, next_attempt_at = $3, \
                     leased_until = NULL, lease_owner = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(ms(at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(limited(
                    "SELECT id, created_at, attempts, payload, next_attempt_at, last_error FROM outbox \
                     WHERE status = 'dead' ORDER BY id",
                    limit,
                )))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let payload: String = r.try_get("payload")?;
                        Ok(DeadLetter {
                            item: OutboxItem {
                                id: r.try_get("id")?,
                                created_at: from_ms(r.try_get("created_at")?)?,
                                attempts: r.try_get("attempts")?,
                                message: serde_json::from_str(&payload).map_err(corrupt)?,
                            },
                            failed_at: from_ms(r.try_get("next_attempt_at")?)?,
                            last_error: r.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
                        })
                    })
                    .collect()
            }

            async fn retry_dead(&self, id: i64, now: Timestamp) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2, leased_until = NULL, \
                     lease_owner = NULL WHERE id = $1 AND status = 'dead'",
                )
                .bind(id)
                .bind(ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn platform_ref(&self, platform: Platform, key: &str) -> Result<Option<String>> {
                let row = sqlx::query("SELECT value FROM platform_refs WHERE platform = $1 AND key = $2")
                    .bind(platform.as_str())
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => Some(r.try_get("value")?),
                    None => None,
                })
            }

            async fn platform_refs_with_prefix(&self, platform: Platform, prefix: &str) -> Result<Vec<(String, String)>> {
                // A plain comparison of the key's start rather than LIKE, whose `_` and `%` a prefix may contain.
                let rows = sqlx::query(
                    "SELECT key, value FROM platform_refs WHERE platform = $1 AND substr(key, 1, length($2)) = $2",
                )
                .bind(platform.as_str())
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?;
                let mut refs: Vec<(String, String)> =
                    rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect::<Result<_>>()?;
                refs.sort();
                Ok(refs)
            }

            async fn put_platform_ref(&self, platform: Platform, key: &str, value: &str, at: Timestamp) -> Result<()> {
                sqlx::query(
                    "INSERT INTO platform_refs (platform, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (platform, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(platform.as_str())
                .bind(key)
                .bind(value)
                .bind(ms(at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                     WHERE leases.holder = excluded.holder OR leases.until <= $3",
                )
                .bind(name)
                .bind(holder)
                .bind(ms(now))
                .bind(ms(until))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
                sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

/// Names the sqlx driver behind a store, for the row type in [`sql_store!`].
trait Backend {
    type Db: sqlx::Database;
}
impl Backend for SqliteStore {
    type Db = sqlx::Sqlite;
}
impl Backend for PgStore {
    type Db = sqlx::Postgres;
}

sql_store!(SqliteStore, "migrations/sqlite", "BEGIN IMMEDIATE");

impl SqliteStore {
    /// The next ticket number. A process alone on its file counts on from the highest number it has read, with
    /// no write of its own (the commit that inserts the ticket raises the stored counter). Once it has clashed
    /// with another process, it reserves blocks of numbers from the counter instead, so that processes sharing
    /// the file no longer hand out the same numbers.
    async fn allocate_ticket_number(&self) -> Result<TicketNo> {
        let mut numbers = self.numbers.lock().await;
        let next = match (numbers.last, numbers.block_end) {
            (Some(last), None) => last + 1,
            (Some(last), Some(end)) if last < end => last + 1,
            (None, None) => {
                let row = sqlx::query(
                    "SELECT MAX(v) FROM (SELECT value AS v FROM counters WHERE name = 'ticket' \
                     UNION ALL SELECT MAX(number) AS v FROM tickets)",
                )
                .fetch_one(&self.pool)
                .await?;
                row.try_get::<Option<i64>, _>(0)?.unwrap_or(0) + 1
            }
            (_, Some(_)) => {
                let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                let end: i64 = sqlx::query(
                    "UPDATE counters SET value = MAX(value, (SELECT COALESCE(MAX(number), 0) FROM tickets)) + $1 \
                     WHERE name = 'ticket' RETURNING value",
                )
                .bind(NUMBER_BLOCK)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
                tx.commit().await?;
                numbers.block_end = Some(end);
                end - NUMBER_BLOCK + 1
            }
        };
        numbers.last = Some(next);
        Ok(TicketNo(next))
    }

    /// Takes back `n` if it is the last number handed out (nobody has a later one, so no number is used twice).
    async fn give_back_ticket_number(&self, n: TicketNo) {
        let mut numbers = self.numbers.lock().await;
        if numbers.last == Some(n.0) {
            numbers.last = Some(n.0 - 1);
        }
    }

    /// Another process inserted a number this one handed out: from now on take numbers in reserved blocks.
    async fn numbers_taken_elsewhere(&self) {
        let mut numbers = self.numbers.lock().await;
        numbers.last = None;
        numbers.block_end = Some(i64::MIN);
    }

    /// A handle for the writer task: the same pool and numbers, without a way back to the task (so that the task
    /// ends when the last handle of the store is dropped).
    fn detached(&self) -> SqliteStore {
        SqliteStore {
            pool: self.pool.clone(),
            numbers: self.numbers.clone(),
            writer: Default::default(),
            checkpoints: self.checkpoints.clone(),
        }
    }

    /// Whether the writer keeps its connection between groups: yes for a file, whose connection's page cache is
    /// emptied whenever another connection has written (so a writer taking any pool connection re-read its pages
    /// each time) and whose prepared statements stay cached; never for a pool of one (in memory), whose only
    /// connection the readers need.
    fn keeps_write_connection(&self) -> bool {
        self.pool.options().get_max_connections() > 1
    }

    /// Runs the writer on a thread of its own. On the shared runtime each of its statements (a round trip to
    /// the connection's thread) waited to be polled again behind the handlers' tasks: under load the writer, which
    /// every commit waits for, spent half its time runnable but not running. A SQLite connection has no socket
    /// tied to a runtime, so the writer can own a small one. The thread ends when the store's last handle goes.
    /// If the thread cannot start, the queue is dropped with it and each waiting commit reports
    /// [`StoreError::WriterGone`]; the next commit tries again.
    fn start_writer(self, queue: tokio::sync::mpsc::UnboundedReceiver<Job>) {
        let spawned = std::thread::Builder::new().name("deskbot-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(self.write_loop(queue)),
                Err(e) => tracing::error!(error = %e, "cannot start the writer's runtime"),
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the writer thread");
        }
    }

    /// Starts a WAL checkpoint in the background unless one is running or ran within [`CHECKPOINT_EVERY`].
    ///
    /// SQLite's own automatic checkpoint runs inside the COMMIT that crosses its threshold: it copies the WAL
    /// back into the database file and waits for two fsyncs, and every commit queued behind the writer waits
    /// with it. A PASSIVE checkpoint on another connection does the same work beside the writer instead (WAL
    /// mode lets a checkpoint run while a transaction writes); [`WAL_BACKSTOP_FRAMES`] stays as a backstop.
    fn checkpoint_soon(&self) {
        if self.pool.options().get_max_connections() == 1 {
            return; // in memory: no WAL
        }
        {
            let mut c = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
            if c.running || c.last.is_some_and(|at| at.elapsed() < CHECKPOINT_EVERY) {
                return;
            }
            c.running = true;
        }
        /// Marks the checkpoint done however its task ends (a runtime shutting down drops it midway).
        struct Done(std::sync::Arc<std::sync::Mutex<Checkpoints>>);
        impl Drop for Done {
            fn drop(&mut self) {
                let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
                c.running = false;
                c.last = Some(std::time::Instant::now());
            }
        }
        let (pool, done) = (self.pool.clone(), Done(self.checkpoints.clone()));
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::debug!(error = %e, "background checkpoint failed; SQLite's own will do it");
            }
            drop(done);
        });
    }
}

impl PgStore {
    /// From a sequence: no transaction of its own, unique across replicas (gaps after a refused commit).
    async fn allocate_ticket_number(&self) -> Result<TicketNo> {
        let row = sqlx::query("SELECT nextval('ticket_numbers')").fetch_one(&self.pool).await?;
        Ok(TicketNo(row.try_get::<i64, _>(0)?))
    }

    async fn numbers_taken_elsewhere(&self) {}

    /// A sequence does not take numbers back (PostgreSQL's numbers may have gaps).
    async fn give_back_ticket_number(&self, _: TicketNo) {}

    /// See [`SqliteStore::detached`].
    fn detached(&self) -> PgStore {
        PgStore { pool: self.pool.clone(), writer: Default::default() }
    }

    /// PostgreSQL checkpoints by itself.
    fn checkpoint_soon(&self) {}

    /// No: each group takes a connection from the pool, which checks it first (a server restart, an idle session
    /// cut by the server or a firewall), and PostgreSQL has no per-connection cache to keep warm.
    fn keeps_write_connection(&self) -> bool {
        false
    }

    /// The writer runs on the caller's runtime, beside its connections' sockets.
    fn start_writer(self, queue: tokio::sync::mpsc::UnboundedReceiver<Job>) {
        tokio::spawn(self.write_loop(queue));
    }
}
sql_store!(PgStore, "migrations/postgres", "BEGIN");

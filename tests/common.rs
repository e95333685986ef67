//! Helpers shared by the integration tests: stores for each backend, a desk, envelopes.

use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::{Place, Platform, UserRef};
use deskbot::core::message::{Body, Envelope};
use deskbot::store::{Db, PgStore, SqliteStore, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh SQLite database in a temporary directory (kept alive by the returned guard).
pub async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = SqliteStore::connect(&url).await.unwrap();
    s.migrate().await.unwrap();
    (s, dir)
}

/// A test that cannot run here says so on stderr — or, with `DESKBOT_REQUIRE_PG` set (as `.ci/run` does), fails:
/// CI must never go green without the PostgreSQL tests having run.
pub fn skip(what: &str, why: &str) {
    let required = std::env::var("DESKBOT_REQUIRE_PG").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "{what} would be skipped ({why}), but DESKBOT_REQUIRE_PG is set");
    eprintln!("skipped {what}: {why}");
}

/// The PostgreSQL URL for tests, or `None` after [`skip`] when `TEST_DATABASE_URL` is unset.
pub fn postgres_url(what: &str) -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        skip(what, "TEST_DATABASE_URL is not set");
    }
    url
}

/// A PostgreSQL store in a schema of its own, or `None` (see [`postgres_url`]) when `TEST_DATABASE_URL` is unset.
pub async fn postgres(test: &str) -> Option<(PgStore, String)> {
    let url = postgres_url(&format!("{test} on PostgreSQL"))?;
    static N: AtomicU64 = AtomicU64::new(0);
    let schema = format!("t_{}_{}_{}", test, std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let s = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    s.migrate().await.unwrap();
    Some((s, schema))
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(deskbot::replay::default_start()))
}

pub fn desk(store: impl Into<DbStore>, clock: Arc<ManualClock>, roles: &[(&str, &str)]) -> Desk<Db> {
    // These tests send many people the same message to exercise concurrency and counting, one ticket each; with
    // major-incident detection on, the third would (rightly) make them one incident. `tests/replay/major.replay`
    // covers that.
    // Many people in a moment would also spend the per-source intake budget (`tests/replay.rs` covers that).
    let mut toml = String::from(
        "[conversation]\nmajor_threshold = 0\n\n[triage]\nintake_budget_per_minute = 0\n\n[roles.console]\n",
    );
    for (u, r) in roles {
        toml.push_str(&format!("{u} = \"{r}\"\n"));
    }
    let config = Config::from_parts("test", &toml, &[]).unwrap();
    let clock: Arc<dyn Clock> = clock;
    deskbot::app::desk(&config, store.into().0, clock).unwrap()
}

/// Either test store, as the [`Db`] the app uses.
pub struct DbStore(pub Db);

impl From<SqliteStore> for DbStore {
    fn from(s: SqliteStore) -> Self {
        DbStore(Db::Sqlite(s))
    }
}

impl From<PgStore> for DbStore {
    fn from(s: PgStore) -> Self {
        DbStore(Db::Postgres(s))
    }
}

pub fn user(n: &str) -> UserRef {
    UserRef::new(Platform::Console, n, n)
}

static KEY: AtomicU64 = AtomicU64::new(0);

pub fn say(who: &str, text: &str) -> Envelope {
    let k = KEY.fetch_add(1, Ordering::Relaxed);
    Envelope {
        dedupe_key: format!("t{k}"),
        actor: user(who),
        place: Place { channel: "helpdesk".into(), thread: None, message: Some(format!("msg{k}")), dm: false },
        mentioned: false,
        body: Body::Text { text: text.into() },
    }
}

pub fn cmd(who: &str, args: &str) -> Envelope {
    let k = KEY.fetch_add(1, Ordering::Relaxed);
    Envelope {
        dedupe_key: format!("c{k}"),
        actor: user(who),
        place: Place { channel: "helpdesk".into(), thread: None, message: Some(format!("cmd{k}")), dm: false },
        mentioned: false,
        body: Body::Command { name: "ticket".into(), args: args.into() },
    }
}

//! Crash safety of `deskbot serve`: the real binary, SIGKILLed at random moments while a client streams messages.
//!
//! Checks that every acknowledged message produced exactly one ticket, that the client's resends of messages
//! whose answer was lost are deduplicated, and that every reply reached the callback. Delivery is at least once:
//! a kill between the callback's POST and recording it repeats that POST after the restart (the same
//! `outbox_id`); such duplicates are reported, and bounded by one per kill.

use crate::http::Receiver;
use deskbot::adapters::http::CallbackConfig;
use deskbot::store::{Db, PgStore, Store, TicketFilter};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const TOKEN: &str = "crash-test-token";
const MESSAGES: usize = 200;
const KILLS: usize = 3;
const SENDERS: usize = 4;

/// The variable that fixes the tests' randomness, to rerun a failure exactly.
pub(crate) const SEED_VAR: &str = "DESKBOT_TEST_SEED";

/// A small deterministic generator (xorshift), seeded from `DESKBOT_TEST_SEED` or else the clock; the seed is
/// printed either way, so a failing run can be repeated.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Rng {
        let given = std::env::var(SEED_VAR).ok().filter(|s| !s.trim().is_empty());
        let seed = match given {
            Some(s) => s.trim().parse().unwrap_or_else(|_| panic!("{SEED_VAR}={s:?} is not a whole number")),
            None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
        };
        eprintln!("crash test seed: {seed} (rerun with {SEED_VAR}={seed})");
        // Xorshift must not start at zero (it would stay there).
        Rng(seed.max(1))
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

pub(crate) struct Server {
    pub(crate) child: Option<Child>,
    pub(crate) db_url: String,
    pub(crate) listen: String,
    pub(crate) callback: String,
    pub(crate) dir: std::path::PathBuf,
    pub(crate) starts: usize,
}

impl Server {
    pub(crate) fn start(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("serve-{}.log", self.starts))).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskbot"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DESKBOT_")) {
            cmd.env_remove(k);
        }
        // Odd starts name the address with --listen, even ones with DESKBOT_LISTEN.
        cmd.current_dir(&self.dir).args(["--config", "deskbot.toml", "serve"]);
        if self.starts % 2 == 1 {
            cmd.args(["--listen", &self.listen]);
        } else {
            cmd.env("DESKBOT_LISTEN", &self.listen);
        }
        cmd.env("DESKBOT_DATABASE_URL", &self.db_url)
            .env("DESKBOT_HTTP_TOKEN", TOKEN)
            .env("DESKBOT_HTTP_CALLBACK_URL", &self.callback)
            .env("DESKBOT_HTTP_CALLBACK_TIMEOUT", "1")
            .env("RUST_LOG", "warn,deskbot=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("start deskbot serve"));
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let ok = Command::new("kill").args(["-TERM", &c.id().to_string()]).status().unwrap();
        assert!(ok.success());
        let t = Instant::now();
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            if t.elapsed() > Duration::from_secs(15) {
                c.kill().unwrap();
                panic!("deskbot serve did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn logs(&self) -> String {
        (1..=self.starts)
            .map(|i| std::fs::read_to_string(self.dir.join(format!("serve-{i}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What the client saw for one message.
#[derive(Debug, Clone, Copy, Default)]
struct Sent {
    acked: bool,
    /// The server answered "duplicate": an earlier try was committed but its answer was lost.
    duplicate: bool,
    tries: usize,
}

async fn run(db_url: String, check: Db, label: &str) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // 200 people reporting one problem would (rightly) be one major incident, and past the per-source intake
    // budget; this test wants one ticket each (the budget is still read, from the database, on every ticket).
    std::fs::write(
        dir.path().join("deskbot.toml"),
        "[conversation]\nmajor_threshold = 0\n\n[triage]\nintake_budget_per_minute = 100000\n",
    )
    .unwrap();
    let receiver = Receiver::default();
    let callback = receiver.start().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let server = Arc::new(Mutex::new(Server {
        child: None,
        db_url,
        listen,
        callback,
        dir: dir.path().to_path_buf(),
        starts: 0,
    }));
    server.lock().unwrap().start();

    let mut rng = Rng::new();
    // Kill when this many messages have been acknowledged (plus a random few milliseconds), so each kill lands
    // in the middle of the stream.
    let mut kill_at: Vec<usize> =
        (0..KILLS).map(|_| MESSAGES / 10 + rng.below(MESSAGES as u64 * 8 / 10) as usize).collect();
    kill_at.sort();
    let jitter: Vec<u64> = (0..KILLS).map(|_| rng.below(40)).collect();

    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let sent = Arc::new(Mutex::new(vec![Sent::default(); MESSAGES]));
    let acked = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut senders = vec![];
    for _ in 0..SENDERS {
        let (client, sent, acked, next, base) =
            (client.clone(), sent.clone(), acked.clone(), next.clone(), base.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= MESSAGES {
                    return;
                }
                let body = serde_json::json!({
                    "id": format!("m{i}"), "user": {"id": format!("u{i}"), "name": format!("User {i}")},
                    "channel": "helpdesk", "text": format!("my laptop screen is flickering, ref m{i}"),
                });
                // Retry until acknowledged: connection refused/reset while the server is down, or 5xx.
                loop {
                    assert!(Instant::now() < deadline, "message m{i} was never acknowledged");
                    sent.lock().unwrap()[i].tries += 1;
                    let r = client.post(format!("{base}/api/v1/messages")).bearer_auth(TOKEN).json(&body).send().await;
                    match r {
                        Ok(r) if r.status().as_u16() == 202 || r.status().as_u16() == 200 => {
                            let dup = r.status().as_u16() == 200;
                            let mut s = sent.lock().unwrap();
                            s[i].acked = true;
                            s[i].duplicate = dup;
                            acked.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Ok(r) if r.status().is_server_error() => {}
                        Ok(r) => panic!("m{i}: unexpected answer {}", r.status()),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
        }));
    }
    // The killer.
    let mut last_kill = Instant::now();
    for (k, at) in kill_at.iter().enumerate() {
        while acked.load(Ordering::SeqCst) < *at {
            // The senders give up at the deadline; without this the killer would wait for them forever.
            assert!(
                Instant::now() < deadline,
                "[{label}] only {} acknowledged by the deadline",
                acked.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(jitter[k])).await;
        let mut s = server.lock().unwrap();
        s.kill();
        last_kill = Instant::now();
        eprintln!(
            "[{label}] kill {} (SIGKILL) after {} acknowledged, at {:?}",
            k + 1,
            acked.load(Ordering::SeqCst),
            started.elapsed()
        );
        s.start();
    }
    for s in senders {
        s.await.unwrap();
    }
    let stream_done = started.elapsed();

    // Every reply reaches the callback: wait for one to each requester (messages leased by a killed process
    // wait for their lease to run out).
    let wait_until = Instant::now() + Duration::from_secs(30);
    loop {
        let users: BTreeSet<String> = receiver
            .messages()
            .iter()
            .filter(|m| m["to"]["type"] == "user")
            .filter_map(|m| m["to"]["id"].as_str().map(str::to_string))
            .collect();
        if users.len() >= MESSAGES {
            break;
        }
        if Instant::now() > wait_until {
            panic!(
                "[{label}] only {} of {MESSAGES} requesters got a reply\nserver logs:\n{}",
                users.len(),
                server.lock().unwrap().logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Messages a killed process had leased (perhaps already POSTed) are delivered again once its lease runs
    // out; wait for that, and for the worker to go quiet, then stop gracefully.
    let lease = CallbackConfig { url: String::new(), token: None, timeout: Duration::from_secs(1) }.lease();
    let lease = lease.to_std().unwrap() + Duration::from_secs(2);
    let mut seen = receiver.messages().len();
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = receiver.messages().len();
        if now == seen && last_kill.elapsed() > lease {
            break;
        }
        seen = now;
    }
    let status = server.lock().unwrap().stop();
    assert!(status.success(), "[{label}] serve exited with {status} after SIGTERM");
    let logs = server.lock().unwrap().logs();

    // Tickets: exactly one per message, and every message's dedupe key stored.
    let sent = sent.lock().unwrap().clone();
    assert!(sent.iter().all(|s| s.acked));
    let tickets = check.tickets(&TicketFilter::default()).await.unwrap();
    let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tickets {
        *per_user.entry(t.requester.id.clone()).or_default() += 1;
    }
    for i in 0..MESSAGES {
        assert_eq!(per_user.get(&format!("u{i}")).copied(), Some(1), "[{label}] tickets for u{i}");
        assert!(check.seen(&format!("http:m{i}")).await.unwrap());
    }
    assert_eq!(tickets.len(), MESSAGES, "[{label}] ticket count");

    // Nothing is left in the outbox, even far in the future (no pending retries).
    let far = chrono::Utc::now() + chrono::Duration::days(30);
    let pending = check.lease_outbox("crash-test-check", None, far, far, 10_000).await.unwrap();
    assert!(pending.is_empty(), "[{label}] {} messages never delivered: {:?}", pending.len(), pending.first());

    // Every reply exactly once, by outbox_id; repeated POSTs carry identical bodies.
    let got = receiver.messages();
    let mut by_id: BTreeMap<i64, Vec<&serde_json::Value>> = BTreeMap::new();
    for m in &got {
        by_id.entry(m["outbox_id"].as_i64().expect("outbox_id")).or_default().push(m);
    }
    let doubles: Vec<(i64, usize)> = by_id.iter().filter(|(_, v)| v.len() > 1).map(|(id, v)| (*id, v.len())).collect();
    for (id, v) in &by_id {
        assert!(v.iter().all(|m| *m == v[0]), "[{label}] outbox_id {id} delivered with different bodies");
    }
    let opened = by_id
        .values()
        .filter(|v| v[0]["to"]["type"] == "user" && v[0]["text"].as_str().unwrap_or("").starts_with("Ticket #"))
        .count();
    assert_eq!(opened, MESSAGES, "[{label}] one 'Ticket opened' reply per message");
    let resent: usize = sent.iter().map(|s| s.tries - 1).sum();
    let dup_acks = sent.iter().filter(|s| s.duplicate).count();
    eprintln!(
        "[{label}] {MESSAGES} messages, {KILLS} kills, {} starts: {resent} retried requests, {dup_acks} answered \"duplicate\" \
         (committed before a kill, answer lost); {} tickets; {} callbacks for {} outbox ids; \
         at-least-once duplicates (outbox_id, times): {doubles:?}; stream {stream_done:?}, total {:?}",
        KILLS + 1,
        tickets.len(),
        got.len(),
        by_id.len(),
        started.elapsed()
    );
    assert!(
        doubles.iter().map(|(_, n)| n - 1).sum::<usize>() <= KILLS,
        "[{label}] more repeated deliveries than kills: {doubles:?}\n{logs}"
    );
    assert!(!logs.contains(TOKEN), "the token appeared in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_survives_sigkill_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let check = Db::open(&url).await.unwrap();
    run(url, check, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(deskbot_pg), ignore = "needs PostgreSQL: set TEST_DATABASE_URL (README, Tests)")]
async fn serve_survives_sigkill_postgres() {
    let Some(url) = crate::common::postgres_url("the crash test on PostgreSQL") else { return };
    let schema = format!("t_crash_{}", std::process::id());
    let store = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    store.migrate().await.unwrap();
    // The binary gets a URL that selects the schema through the connection's startup options.
    let sep = if url.contains('?') { '&' } else { '?' };
    let schema_url = format!("{url}{sep}options=-csearch_path%3D{schema}");
    let probe = PgStore::connect(&schema_url).await.unwrap();
    let honoured =
        probe.tickets(&TicketFilter::default()).await.is_ok() && schema_url_selects_schema(&schema_url, &schema).await;
    probe.close().await;
    if !honoured {
        store.drop_schema(&schema).await.unwrap();
        crate::common::skip("the crash test on PostgreSQL", "`options=-csearch_path=…` in the URL is not honoured");
        return;
    }
    run(schema_url, Db::Postgres(store.clone()), "postgres").await;
    store.drop_schema(&schema).await.unwrap();
}

/// True if a connection made from `url` has `schema` first on its search path.
pub(crate) async fn schema_url_selects_schema(url: &str, schema: &str) -> bool {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let Ok(opts) = sqlx::postgres::PgConnectOptions::from_str(url) else { return false };
    let Ok(mut conn) = opts.connect().await else { return false };
    let path: Result<(String,), _> = sqlx::query_as("SHOW search_path").fetch_one(&mut conn).await;
    matches!(path, Ok((p,)) if p.split(',').next().map(str::trim) == Some(schema))
}

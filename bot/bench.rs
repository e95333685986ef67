//! `deskbot bench`: measured performance figures (never timed assertions in tests).
//!
//! `bench sla` stores N open tickets with their SLA timers, then times a scheduler sweep that finds nothing due,
//! and times due-instant computation on a business calendar with holidays.

use crate::config::Config;
use crate::core::calendar::{Calendar, CalendarSpec};
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::ticket::{NewTicket, Origin, Priority, Ticket, TicketType};
use crate::store::{Commit, Db, Store};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use std::time::Instant;

/// Options for `deskbot bench sla`.
#[derive(clap::Args, Debug, Clone)]
pub struct SlaBench {
    /// Open tickets to store before timing the sweep.
    #[arg(long, default_value_t = 1_000_000)]
    pub tickets: i64,
    /// Database URL (default: a fresh SQLite file in a temporary directory). Use an empty PostgreSQL database.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Due-instant computations to time.
    #[arg(long, default_value_t = 2_000_000)]
    pub dues: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn office() -> Calendar {
    let week = vec!["08:30-12:30".to_string(), "13:30-17:30".to_string()];
    let spec = CalendarSpec {
        timezone: "Europe/London".into(),
        mon: week.clone(),
        tue: week.clone(),
        wed: week.clone(),
        thu: week.clone(),
        fri: vec!["08:30-16:00".into()],
        holidays: ["01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "12-25", "12-26"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..CalendarSpec::default()
    };
    Calendar::new("office", &spec).expect("valid bench calendar")
}

/// Runs the SLA benchmark and returns the report.
pub async fn sla(args: &SlaBench) -> anyhow::Result<String> {
    // 1. Due-instant computation.
    let cal = office();
    let base = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single().expect("valid");
    let durations = [Duration::minutes(30), Duration::hours(4), Duration::hours(16), Duration::hours(40)];
    let started = Instant::now();
    let mut sink = 0i64;
    for i in 0..args.dues {
        let from = base + Duration::minutes(((i * 7919) % (360 * 24 * 60)) as i64);
        sink ^= cal.due(from, durations[(i % 4) as usize]).timestamp();
    }
    let due_secs = started.elapsed().as_secs_f64();
    let dues_per_s = args.dues as f64 / due_secs;
    std::hint::black_box(sink);

    // 2. Store N open tickets with their timers, then time empty sweeps.
    let dir = tempfile::tempdir()?;
    let url =
        args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::open(&url).await?;
    let config = Config::default();
    let policies = config.policies().map_err(|e| anyhow::anyhow!(e))?;
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid");
    let requester = UserRef::new(Platform::Console, "bench", "bench");
    let seed_start = Instant::now();
    let mut n = 0;
    while n < args.tickets {
        let mut c = Commit { at: Some(now), ..Commit::default() };
        for _ in 0..1000.min(args.tickets - n) {
            n += 1;
            // Numbers are given directly (a fresh database): the bench measures the sweep, not allocation.
            let number = TicketNo(n);
            let (mut t, _) = Ticket::open(NewTicket {
                number,
                text: format!("printer {n} jammed"),
                requester: requester.clone(),
                origin: Origin {
                    platform: Platform::Console,
                    place: Place {
                        channel: "helpdesk".into(),
                        thread: Some(format!("b{n}")),
                        message: None,
                        dm: false,
                    },
                },
                category: "printing".into(),
                intent: None,
                confidence: 0.9,
                ticket_type: TicketType::Incident,
                priority: [Priority::P1, Priority::P2, Priority::P3, Priority::P4][n as usize % 4],
                // Created within the last minute: every timer is still ahead of `now`.
                at: now - Duration::seconds(n % 60),
            });
            policies.apply(&mut t);
            c.timers.push((t.number, policies.timers(&t)));
            c.inserts.push(t);
        }
        db.commit(c).await?;
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();
    let sweeps = 2000;
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..sweeps {
        found += db.due_timers(now, 100).await?.len();
    }
    let sweep_ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(sweeps);
    anyhow::ensure!(found == 0, "bench setup error: {found} timers were due");
    let report = json!({
        "backend": db.backend(),
        "open_tickets": args.tickets,
        "seed_seconds": (seed_secs * 10.0).round() / 10.0,
        "empty_sweep_ms": (sweep_ms * 1000.0).round() / 1000.0,
        "due_computations_per_s": dues_per_s.round(),
        "due_calendar": "Europe/London, split days, 8 holidays",
    });
    Ok(if args.json {
        serde_json::to_string_pretty(&report)?
    } else {
        format!(
            "backend {}: {} open tickets stored in {:.1}s\nempty scheduler sweep: {:.3} ms (mean of {sweeps})\ndue-instant computation: {:.0} per second (office calendar with holidays)",
            db.backend(),
            args.tickets,
            seed_secs,
            sweep_ms,
            dues_per_s
        )
    })
}

/// Options for `deskbot bench ingest`.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestBench {
    /// sqlite (a fresh file in a temporary directory) or postgres (needs --database-url of an empty database/schema).
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Database URL for `--backend postgres` (an empty database or schema: the benchmark writes to it).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Events to send through the core.
    #[arg(long, default_value_t = 2000)]
    pub events: usize,
    /// Events per second to offer (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Events in flight at once, as when many people write at the same moment (the HTTP intake and the chat
    /// adapters handle requests concurrently). 1 sends them one after another.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Peak resident set size of this process in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Sends `events` distinct staff messages through the desk (receipt → committed ticket with its reply in the
/// outbox), `concurrency` at a time, and, on the same database, times single-row INSERT + COMMIT for the baseline
/// (half before the messages, half after).
///
/// Without `--rate` the load is closed: each of `concurrency` senders sends its next event when the last one is
/// committed. With `--rate` events arrive on a fixed schedule whatever the desk's pace, and latency is counted from
/// each event's scheduled arrival, so time spent waiting for a free slot counts too.
pub async fn ingest(args: &IngestBench) -> anyhow::Result<String> {
    use crate::core::clock::{Clock, SystemClock};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir()?;
    let url = match (args.backend.as_str(), &args.database_url) {
        (_, Some(u)) => u.clone(),
        ("sqlite", None) => format!("sqlite://{}", dir.path().join("ingest.db").display()),
        (b, None) => anyhow::bail!("--backend {b} needs --database-url"),
    };
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    let db = Db::open(&url).await?;
    // The shipped defaults, per-user rate limit included (each synthetic requester writes once, so it never
    // refuses, but it is checked as in a real install).
    // Major-incident detection is off: the stream repeats six kinds of problem from distinct people, which would
    // otherwise (rightly) gather them into six major incidents instead of measuring new tickets.
    let mut config = Config::default();
    config.conversation.major_threshold = 0;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let desk = Arc::new(crate::app::desk(&config, db.clone(), clock)?);
    // The baseline is timed in two halves, before and after the ingest, so that a slower or faster spell of a
    // shared machine weighs on both figures alike.
    let baseline_rows = args.events.clamp(1, 2000);
    // Connections opened and pages read once, outside the timing (the messages get the same from the baseline).
    single_row_commits(&db, "warm-up", 100).await?;
    let before_secs = single_row_commits(&db, "before", baseline_rows).await?;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(args.events);
    if args.rate > 0.0 {
        let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
        let mut sent = tokio::task::JoinSet::new();
        for i in 0..args.events {
            let due = started + std::time::Duration::from_secs_f64(i as f64 / args.rate);
            tokio::time::sleep_until(due.into()).await;
            let slot = slots.clone().acquire_owned().await?;
            let desk = desk.clone();
            sent.spawn(async move {
                desk.handle(&bench_event(i)).await?;
                drop(slot);
                anyhow::Ok(due.elapsed().as_secs_f64() * 1000.0)
            });
        }
        while let Some(r) = sent.join_next().await {
            latencies.push(r??);
        }
    } else {
        let next = Arc::new(AtomicUsize::new(0));
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..args.concurrency {
            let (desk, next, events) = (desk.clone(), next.clone(), args.events);
            senders.spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= events {
                        return anyhow::Ok(mine);
                    }
                    let t0 = Instant::now();
                    desk.handle(&bench_event(i)).await?;
                    mine.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
            });
        }
        while let Some(r) = senders.join_next().await {
            latencies.extend(r??);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let throughput = args.events as f64 / elapsed;
    latencies.sort_by(f64::total_cmp);
    let after_secs = single_row_commits(&db, "after", baseline_rows).await?;
    let baseline = (2 * baseline_rows) as f64 / (before_secs + after_secs);
    let report = json!({
        "backend": db.backend(),
        "events": args.events,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "throughput_per_s": (throughput * 10.0).round() / 10.0,
        "p50_ms": (percentile(&latencies, 50.0) * 100.0).round() / 100.0,
        "p99_ms": (percentile(&latencies, 99.0) * 100.0).round() / 100.0,
        "rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
        "db_commit_baseline_per_s": (baseline * 10.0).round() / 10.0,
        "baseline_before_per_s": (baseline_rows as f64 / before_secs).round(),
        "baseline_after_per_s": (baseline_rows as f64 / after_secs).round(),
        "ratio": ((throughput / baseline) * 1000.0).round() / 1000.0,
    });
    Ok(if args.json {
        serde_json::to_string_pretty(&report)?
    } else {
        format!(
            "backend {}: {} events, {} in flight, {:.1}/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MB; \
             single-row commit baseline {:.1}/s; ratio {:.3}",
            db.backend(),
            args.events,
            args.concurrency,
            throughput,
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            peak_rss_mb(),
            baseline,
            throughput / baseline
        )
    })
}

/// Seconds taken by `n` single-row INSERT + COMMITs on `db`, one after another, straight on the pool (keys
/// `baseline:{round}:{i}`).
async fn single_row_commits(db: &Db, round: &str, n: usize) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    for i in 0..n {
        db.single_row_commit(&format!("baseline:{round}:{i}"), Utc::now()).await?;
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// The `i`th benchmark message: a distinct requester and text, as a stream of new problems.
fn bench_event(i: usize) -> crate::core::message::Envelope {
    use crate::core::message::{Body, Envelope};
    const TOPICS: [&str; 6] = [
        "the printer on floor {n} is jammed",
        "outlook not syncing for user {n}",
        "vpn keeps dropping at site {n}",
        "my laptop {n} is very slow",
        "cannot log in to xero, account {n}",
        "no sound in meeting room {n}",
    ];
    Envelope {
        dedupe_key: format!("bench:{i}"),
        actor: UserRef::new(Platform::Http, format!("u{i}"), format!("User {i}")),
        place: Place { channel: "helpdesk".into(), thread: None, message: Some(format!("m{i}")), dm: false },
        mentioned: false,
        body: Body::Text { text: TOPICS[i % TOPICS.len()].replace("{n}", &i.to_string()) },
    }
}

/// Options for `deskbot bench report`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportBench {
    /// Tickets to store, created evenly over the year before the reported week; 2% are still open.
    #[arg(long, default_value_t = 1_000_000)]
    pub tickets: i64,
    /// Database URL (default: a fresh SQLite file in a temporary directory). Use an empty PostgreSQL database.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Stores N tickets with their events over a year, then times the weekly report for the last week.
pub async fn report(args: &ReportBench) -> anyhow::Result<String> {
    use crate::core::clock::{Clock, ManualClock};
    use std::sync::Arc;
    let dir = tempfile::tempdir()?;
    let url =
        args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("report.db").display()));
    let db = Db::open(&url).await?;
    let config = Config::default();
    let end = Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).single().expect("valid");
    let start = end - Duration::days(365);
    let span = (end - start).num_seconds();
    let tech = UserRef::new(Platform::Console, "sam", "sam");
    let cats = ["printing", "identity", "network", "saas", "application", "endpoint", "security"];
    let seed_start = Instant::now();
    let mut n = 0i64;
    while n < args.tickets {
        let mut c = Commit { at: Some(end), ..Commit::default() };
        for _ in 0..1000.min(args.tickets - n) {
            n += 1;
            let at = start + Duration::seconds(span * n / args.tickets.max(1));
            let requester = UserRef::new(Platform::Console, format!("u{}", n % 500), format!("User {}", n % 500));
            let (mut t, mut ev) = Ticket::open(NewTicket {
                number: TicketNo(n),
                text: format!("{} problem number {n}", cats[n as usize % cats.len()]),
                requester,
                origin: Origin {
                    platform: Platform::Console,
                    place: Place {
                        channel: "helpdesk".into(),
                        thread: Some(format!("r{n}")),
                        message: None,
                        dm: false,
                    },
                },
                category: cats[n as usize % cats.len()].into(),
                intent: None,
                confidence: 0.9,
                ticket_type: TicketType::Incident,
                priority: [Priority::P2, Priority::P3, Priority::P3, Priority::P4][n as usize % 4],
                at,
            });
            // 98% answered and resolved within hours; the rest stay open.
            if n % 50 != 0 {
                ev.extend(t.claim(&tech, at + Duration::minutes(20))?);
                ev.extend(t.reply(&tech, "on it", at + Duration::minutes(25 + n % 90))?);
                ev.extend(t.resolve(&tech, Some("fixed"), false, at + Duration::hours(2 + n % 20))?);
            }
            c.events.extend(ev.into_iter().map(|e| (t.number, e)));
            c.inserts.push(t);
        }
        db.commit(c).await?;
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();
    let clock = Arc::new(ManualClock::new(end));
    let c: Arc<dyn Clock> = clock;
    let desk = crate::app::desk(&config, db.clone(), c)?;
    let day = (end - Duration::days(3)).date_naive();
    let t0 = Instant::now();
    let r = desk.report(crate::core::report::PeriodKind::Week, day).await?;
    let secs = t0.elapsed().as_secs_f64();
    let report = json!({
        "backend": db.backend(),
        "tickets": args.tickets,
        "seed_seconds": (seed_secs * 10.0).round() / 10.0,
        "weekly_report_seconds": (secs * 1000.0).round() / 1000.0,
        "tickets_in_week": r.volume.total,
    });
    Ok(if args.json {
        serde_json::to_string_pretty(&report)?
    } else {
        format!(
            "backend {}: {} tickets stored in {:.1}s; weekly report ({} tickets that week) built in {:.3}s",
            db.backend(),
            args.tickets,
            seed_secs,
            r.volume.total,
            secs
        )
    })
}

/// Options for `deskbot bench triage`.
#[derive(clap::Args, Debug, Clone)]
pub struct TriageBench {
    /// Messages to classify: a CSV with a `text` column (default: the shipped intents' examples).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
    /// How long to classify in a loop, after one warm-up pass.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Triage speed on one core: start-up (parse, compile and train), each model alone, and whole classifications per
/// second after a warm-up pass (the regex engine builds its automata lazily on the first texts it sees).
pub fn triage(args: &TriageBench, intents_dir: Option<&std::path::Path>) -> anyhow::Result<String> {
    let started = Instant::now();
    let c = crate::catalog::load_classifier(intents_dir).map_err(|e| anyhow::anyhow!(e))?;
    let startup_ms = started.elapsed().as_secs_f64() * 1e3;
    let texts: Vec<String> = match &args.csv {
        Some(path) => {
            let mut r = csv::Reader::from_path(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let col = r
                .headers()?
                .iter()
                .position(|h| h == "text")
                .ok_or_else(|| anyhow::anyhow!("{}: no `text` column", path.display()))?;
            r.records().filter_map(Result::ok).map(|rec| rec.get(col).unwrap_or("").to_string()).collect()
        }
        None => c.examples().map(|e| e.1.to_string()).collect(),
    };
    anyhow::ensure!(!texts.is_empty(), "no messages to classify");
    // The first pass sees every message for the first time, as the desk does: the regex engines' lazy DFAs build
    // their states as they meet new text, so this is the figure for live traffic; the passes after it run warm.
    let first = Instant::now();
    for t in &texts {
        std::hint::black_box(c.classify(t));
    }
    let first_pass_us = first.elapsed().as_secs_f64() * 1e6 / texts.len() as f64;
    let m = c.models();
    let per_message = |f: &dyn Fn(&str)| {
        let start = Instant::now();
        for t in &texts {
            f(t);
        }
        start.elapsed().as_secs_f64() * 1e6 / texts.len() as f64
    };
    let ngram_us = per_message(&|t| drop(std::hint::black_box(m.category.scores(t))));
    let semantic_us = per_message(&|t| drop(std::hint::black_box(m.semantic.probs(t))));
    let intent_us = per_message(&|t| drop(std::hint::black_box(m.intent.scores(t))));
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed().as_secs_f64() < args.seconds {
        for t in &texts {
            std::hint::black_box(c.classify(t));
        }
        calls += texts.len();
    }
    let per_s = calls as f64 / start.elapsed().as_secs_f64();
    let out = json!({
        "messages": texts.len(),
        "startup_ms": startup_ms,
        "ngram_us": ngram_us,
        "semantic_us": semantic_us,
        "intent_us": intent_us,
        "classify_per_s": per_s,
        "first_pass_us": first_pass_us,
    });
    if args.json {
        return Ok(out.to_string());
    }
    Ok(format!(
        "triage over {} messages\nstart-up (parse, compile, train): {startup_ms:.0} ms\nn-gram category model: \
         {ngram_us:.2} µs\nsemantic model: {semantic_us:.2} µs\nintent model: {intent_us:.2} µs\nclassify (rules, \
         all models, decision inputs): {per_s:.0} per second on one core (warm); first pass over new messages: \
         {first_pass_us:.1} µs each",
        texts.len()
    ))
}

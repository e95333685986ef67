//! The `deskbot` command line: console, replay, serve, migrate, config, intents.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use deskbot::config::{Config, DEFAULT_TOML};
use deskbot::core::clock::{Clock, SystemClock};
use deskbot::store::{Db, redact_url};
use deskbot::{adapters, app, replay};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "deskbot", version, about = "Self-hosted chatops IT helpdesk bot")]
struct Cli {
    /// Configuration file (default: ./deskbot.toml if present, else built-in defaults).
    #[arg(long, global = true, env = "DESKBOT_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Chat with deskbot in this terminal (embedded SQLite by default).
    Console {
        /// The identity you start as.
        #[arg(long = "as", default_value = "alice")]
        as_user: String,
    },
    /// Run a scripted conversation with a simulated clock and print what the bot said. Timers that fell due during
    /// an `@now` jump or a `@restart` fire (late) at the next line, so end a script with `@advance 1m` to see them.
    Replay {
        /// The script (format in README.md, "Replay").
        file: PathBuf,
        /// Print {"messages": [...], "tickets": [...]} instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the HTTP intake (POST /api/v1/messages, GET /healthz), the scheduler and the outbox worker until
    /// SIGTERM or Ctrl-C. Needs DESKBOT_HTTP_TOKEN; replies go to DESKBOT_HTTP_CALLBACK_URL.
    Serve {
        /// Address to listen on [env: DESKBOT_LISTEN] [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// A manager summary for a week or month: text, JSON (documented schema) or the PNG chart.
    Report {
        /// week or month.
        #[arg(long, default_value = "week")]
        period: String,
        /// A date inside the period (YYYY-MM-DD); default today.
        #[arg(long)]
        at: Option<String>,
        /// text, json or png.
        #[arg(long, default_value = "text")]
        format: String,
        /// Write to this file instead of standard output (required for png).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure performance (see each benchmark's --help).
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
    /// Check SLA calendars and policies, or compute a due instant.
    Sla {
        #[command(subcommand)]
        action: SlaCmd,
    },
    /// Operations signals (patch, backup, restore, baseline).
    Signals {
        #[command(subcommand)]
        action: SignalsCmd,
    },
    /// Validate the runbooks (shipped, or `runbooks.dir`): errors name the file and the step.
    Runbooks {
        #[command(subcommand)]
        action: RunbooksCmd,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigCmd,
    },
    /// Check, explain and evaluate triage (intent files and the trained model).
    Intents {
        #[command(subcommand)]
        action: IntentsCmd,
    },
    /// Chat messages deskbot gave up delivering (dead letters): list them, send them again.
    Outbox {
        #[command(subcommand)]
        action: OutboxCmd,
    },
}

#[derive(Subcommand)]
enum OutboxCmd {
    /// List the dead letters: id, when it was given up, platform, addressee, ticket, attempts and the last error.
    Dead,
    /// Put dead letters back in line to be sent now (their attempts start again).
    Retry {
        /// Dead letter ids (from `deskbot outbox dead`).
        #[arg(required_unless_present = "all")]
        ids: Vec<i64>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Subcommand)]
enum IntentsCmd {
    /// Measure triage on a labelled CSV: the shipped classifier, or (--cv, --train-csv) trained on office history.
    Eval(deskbot::eval::EvalArgs),
    /// Show how a message is classified: matched rules, model features and scores, decision and confidence.
    Explain {
        /// The message.
        text: String,
        /// How many model features to show.
        #[arg(long, default_value_t = 10)]
        features: usize,
    },
    /// Validate the intent files (configured directory or shipped) and print counts.
    Check {
        /// Evaluation messages (`*.csv` with a `text` column) that must not be training examples; a warning names
        /// each example found there. Skipped when the directory does not exist.
        #[arg(long, value_name = "DIR", default_value = "tests/data/chat")]
        dev_set: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Scheduler sweep over many open tickets, and due-instant computation rate.
    Sla(deskbot::bench::SlaBench),
    /// Ingest throughput and latency through the core, against the database's raw single-row commit rate.
    Ingest(deskbot::bench::IngestBench),
    /// A weekly report over many stored tickets.
    Report(deskbot::bench::ReportBench),
    /// Triage start-up and classifications per second on one core.
    Triage(deskbot::bench::TriageBench),
}

#[derive(Subcommand)]
enum SlaCmd {
    /// Print when DURATION of business time after FROM falls due on CALENDAR (RFC 3339, UTC).
    Due {
        /// Calendar name (`24x7` or one of `[calendars.NAME]` in the config file).
        #[arg(long)]
        calendar: String,
        /// Start instant, RFC 3339 (e.g. 2026-03-02T16:30:00Z).
        #[arg(long)]
        from: String,
        /// Business duration: 30m, 4h, 2d, 1h30m.
        #[arg(long)]
        duration: String,
    },
    /// Validate calendars and policies; names the calendar or policy and the field at fault.
    Check,
}

#[derive(Subcommand)]
enum SignalsCmd {
    /// Import a CSV with columns id, kind, subject, ok, at[, detail]. Good rows are stored (idempotent by id);
    /// bad rows are listed with their line and reason, and the exit status is 2 if there were any.
    Import {
        /// The CSV file to import.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum RunbooksCmd {
    /// Check every runbook and list them.
    Check,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the documented default configuration.
    PrintDefault,
    /// Validate the configuration (file, environment) and the intent files; names the bad key.
    Check,
}

fn init_logs(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colour only for a person at a terminal: `serve 2>serve.log` gets plain text, and NO_COLOR is honoured.
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

async fn open_db(config: &Config) -> anyhow::Result<Db> {
    tracing::info!(database = %redact_url(&config.database_url), "opening database");
    Ok(Db::open(&config.database_url).await?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let load = || Config::load(cli.config.as_deref()).map_err(anyhow::Error::from);
    match cli.command {
        Cmd::Config { action: ConfigCmd::PrintDefault } => {
            print!("{DEFAULT_TOML}");
        }
        Cmd::Config { action: ConfigCmd::Check } => {
            let c = load()?;
            // Everything that can be checked is, and every problem is listed: intents, runbooks (they need the
            // intents), alert rules (they need both) and what `serve` would refuse to start without.
            let mut problems: Vec<String> = vec![];
            let classifier = app::classifier(&c).map_err(|e| problems.push(e.to_string())).ok();
            let runbooks = classifier
                .as_ref()
                .and_then(|k| app::load_runbooks(&c, k).map_err(|e| problems.push(e.to_string())).ok());
            if let (Some(k), Some(r)) = (&classifier, &runbooks) {
                let alerts = c.alert_settings().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
                if let Err(e) = app::check_alert_rules(&alerts, k, r) {
                    problems.push(e.to_string());
                }
            }
            let vendors = c.vendors().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
            let missing = vendors.missing_signing_keys(|k| std::env::var(k).ok());
            if !missing.is_empty() {
                problems.push(format!(
                    "vendor webhook signing keys are not set: {} (deskbot serve refuses to start without them)",
                    missing.join(", ")
                ));
            }
            match problems.len() {
                0 => {}
                1 => anyhow::bail!("{}", problems[0]),
                n => anyhow::bail!("{n} problems:\n  {}", problems.join("\n  ")),
            }
            let n = runbooks.map_or(0, |r| r.len());
            println!("configuration OK (database {}; {n} runbooks)", redact_url(&c.database_url));
        }
        Cmd::Sla { action: SlaCmd::Due { calendar, from, duration } } => {
            let c = load()?;
            let cals = c.calendars().map_err(|e| anyhow::anyhow!(e))?;
            let cal = cals.get(&calendar).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown calendar `{calendar}` (known: {})",
                    cals.names().collect::<Vec<_>>().join(", ")
                )
            })?;
            let from = chrono::DateTime::parse_from_rfc3339(&from)
                .map_err(|e| anyhow::anyhow!("--from `{from}` is not RFC 3339 (e.g. 2026-03-02T16:30:00Z): {e}"))?
                .with_timezone(&chrono::Utc);
            let d = deskbot::core::duration::parse_span(&duration).map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
            cal.check_span(d).map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
            println!("{}", replay::rfc3339(cal.due_span(from, d)));
        }
        Cmd::Sla { action: SlaCmd::Check } => {
            let c = load()?;
            let cals = c.calendars().map_err(|e| anyhow::anyhow!(e))?;
            c.policies().map_err(|e| anyhow::anyhow!(e))?;
            println!(
                "SLA configuration OK: calendars {}; policies {}",
                cals.names().collect::<Vec<_>>().join(", "),
                c.sla.policy.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        Cmd::Intents { action } => {
            let c = load()?;
            let dir = c.catalog.intents_dir.as_deref().map(std::path::Path::new);
            let started = std::time::Instant::now();
            let classifier = deskbot::catalog::load_classifier(dir).map_err(|e| anyhow::anyhow!(e))?;
            let load_ms = started.elapsed().as_secs_f64() * 1e3;
            match action {
                IntentsCmd::Eval(mut args) => {
                    args.policy = c.triage.policy();
                    print!("{}", deskbot::eval::run(&args, &classifier)?)
                }
                IntentsCmd::Explain { text, features } => {
                    print!("{}", deskbot::catalog::explain(&classifier, &text, features))
                }
                IntentsCmd::Check { dev_set } => {
                    print!("{}", deskbot::catalog::check_report(&classifier, load_ms));
                    let dev = deskbot::catalog::read_dev_set(&dev_set).map_err(|e| anyhow::anyhow!(e))?;
                    for w in deskbot::catalog::dev_set_overlap(&classifier, &dev) {
                        println!("warning: {w}");
                    }
                }
            }
        }
        Cmd::Bench { which: BenchCmd::Sla(args) } => {
            println!("{}", deskbot::bench::sla(&args).await?);
        }
        Cmd::Bench { which: BenchCmd::Report(args) } => {
            println!("{}", deskbot::bench::report(&args).await?);
        }
        Cmd::Bench { which: BenchCmd::Triage(args) } => {
            let c = load()?;
            let dir = c.catalog.intents_dir.as_deref().map(std::path::Path::new);
            println!("{}", deskbot::bench::triage(&args, dir)?);
        }
        Cmd::Bench { which: BenchCmd::Ingest(args) } => {
            println!("{}", deskbot::bench::ingest(&args).await?);
        }
        Cmd::Report { period, at, format, out } => {
            let c = load()?;
            let kind = match period.as_str() {
                "week" => deskbot::core::report::PeriodKind::Week,
                "month" => deskbot::core::report::PeriodKind::Month,
                p => anyhow::bail!("--period `{p}`: use week or month"),
            };
            let db = open_db(&c).await?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let desk = app::desk(&c, db, clock.clone())?;
            let date = match at {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| anyhow::anyhow!("--at `{d}` is not a date like 2026-03-02"))?,
                None => clock.now().with_timezone(&c.tz()).date_naive(),
            };
            let r = desk.report(kind, date).await?;
            let bytes = match format.as_str() {
                "text" => r.text(c.tz()).into_bytes(),
                "json" => serde_json::to_vec_pretty(&r)?,
                "png" => deskbot::chart::render_png(&r, 1200, 675)?,
                f => anyhow::bail!("--format `{f}`: use text, json or png"),
            };
            match out {
                Some(p) => {
                    std::fs::write(&p, &bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
                    println!("wrote the {period}ly report ({format}, {} bytes) to {}", bytes.len(), p.display());
                }
                None if format == "png" => anyhow::bail!("--format png needs --out FILE"),
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                    println!();
                }
            }
        }
        Cmd::Signals { action: SignalsCmd::Import { file } } => {
            let c = load()?;
            let mut rdr =
                csv::Reader::from_path(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let header = rdr.headers()?.clone();
            let mut good = vec![];
            let mut bad = 0;
            for (i, row) in rdr.records().enumerate() {
                let line = i + 2;
                match row
                    .map_err(|e| e.to_string())
                    .and_then(|r| deskbot::core::signals::SignalRecord::from_csv(&header, &r))
                {
                    Ok(r) => good.push(r),
                    Err(e) => {
                        bad += 1;
                        eprintln!("{}:{line}: {e}", file.display());
                    }
                }
            }
            let db = open_db(&c).await?;
            use deskbot::store::Store;
            let new = db.put_signals(&good).await?;
            println!("{new} new, {} already stored, {bad} refused", good.len() as u64 - new);
            if bad > 0 {
                std::process::exit(2);
            }
        }
        Cmd::Runbooks { action: RunbooksCmd::Check } => {
            let c = load()?;
            let classifier = app::classifier(&c)?;
            let set = app::load_runbooks(&c, &classifier)?;
            let mut all: Vec<_> = set.all().iter().collect();
            all.sort_by(|a, b| a.id.cmp(&b.id));
            for rb in &all {
                println!("{:<18} {:>2} steps  {}", rb.id, rb.steps.len(), rb.title);
            }
            println!("{} runbooks OK", all.len());
        }
        Cmd::Outbox { action } => {
            use deskbot::store::Store;
            let c = load()?;
            let db = open_db(&c).await?;
            match action {
                OutboxCmd::Dead => {
                    let dead = db.dead_letters(10_000).await?;
                    if dead.is_empty() {
                        println!("no dead letters");
                    }
                    for d in &dead {
                        let m = &d.item.message;
                        let to = match &m.to {
                            deskbot::core::message::Audience::User { user } => format!("{} ({})", user.name, user.id),
                            deskbot::core::message::Audience::Channel { channel } => format!("#{channel}"),
                        };
                        let ticket = m.ticket.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
                        println!(
                            "{:>6}  {}  {:8}  {to}  {ticket}  {} attempts  {}",
                            d.item.id,
                            d.failed_at.format("%Y-%m-%d %H:%M UTC"),
                            m.platform.to_string(),
                            d.item.attempts,
                            d.last_error
                        );
                    }
                }
                OutboxCmd::Retry { ids, all } => {
                    let ids: Vec<i64> =
                        if all { db.dead_letters(i64::MAX).await?.iter().map(|d| d.item.id).collect() } else { ids };
                    let now = chrono::Utc::now();
                    let mut missing = vec![];
                    for id in &ids {
                        if !db.retry_dead(*id, now).await? {
                            missing.push(id.to_string());
                        }
                    }
                    println!("{} back in line to be sent", ids.len() - missing.len());
                    if !missing.is_empty() {
                        anyhow::bail!("no dead letter with id {}", missing.join(", "));
                    }
                }
            }
        }
        Cmd::Migrate => {
            let c = load()?;
            let db = open_db(&c).await?;
            println!("migrations applied ({} at {})", db.backend(), redact_url(&c.database_url));
        }
        Cmd::Replay { file, json } => {
            let out = replay::run_file(&file).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out.json().await?)?);
            } else {
                print!("{}", out.text());
            }
        }
        Cmd::Serve { listen } => {
            let c = deskbot::serve::load_config(cli.config.as_deref())?;
            let mut opts = deskbot::serve::ServeOptions::from_env(listen.as_deref())?;
            opts.teams = adapters::teams::Settings::from_env(&c.teams).map_err(anyhow::Error::msg)?;
            opts.discord = deskbot::adapters::discord::gateway::Setup::from_env(&c)?;
            opts.slack = deskbot::adapters::slack::SlackOptions::from_env(&c.slack)?;
            let db = open_db(&c).await?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let desk = Arc::new(app::desk(&c, db, clock.clone())?);
            deskbot::serve::run(desk, clock, opts, deskbot::serve::shutdown_signal()).await.context("serve")?;
        }
        Cmd::Console { as_user } => {
            let c = load()?;
            let db = open_db(&c).await?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let desk = app::desk(&c, db, clock.clone())?;
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            use std::io::IsTerminal;
            let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            adapters::console::run(&desk, clock.as_ref(), stdin, std::io::stdout(), &as_user, ansi)
                .await
                .context("console")?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.command {
        Cmd::Serve { .. } | Cmd::Migrate => "info",
        _ => "warn",
    };
    init_logs(cli.log_format, level);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `deskbot serve`: the long-running process. It runs, until SIGTERM or Ctrl-C:
//!
//! - the HTTP server ([`crate::adapters::http`]): `POST /api/v1/messages`, `GET /healthz`;
//! - the scheduler: [`Desk::tick`] every second (SLA warnings and breaches, runbook timeouts), then
//!   [`Desk::learn`] (retraining triage in the background when corrections arrived);
//! - Microsoft Teams when configured ([`crate::adapters::teams`]): `POST /api/teams/messages` and its outbox worker;
//! - the vendor worker ([`crate::adapters::vendor`]): case emails and signed webhooks to vendors, retried;
//! - the silence worker ([`crate::adapters::silence`]): silences asked for from chat, created in Alertmanager;
//! - with `DISCORD_TOKEN` set, the Discord gateway (one replica at a time), its outbox worker and, with
//!   `[discord] public_key`, `POST /discord/interactions` ([`crate::adapters::discord`]);
//! - the Slack adapter ([`crate::adapters::slack`]) when `SLACK_BOT_TOKEN` is set: Socket Mode or the
//!   `/slack/…` routes, and its outbox worker;
//! - the outbox worker for HTTP replies, POSTing them to the callback URL (woken after each accepted message,
//!   and every second for retries).
//!
//! On shutdown the server stops accepting, finishes the requests in flight, and the loops finish their current
//! round. Everything that matters is already committed, so a crash (SIGKILL) loses nothing either: unacknowledged
//! messages are resent by clients and deduplicated, and undelivered replies stay in the outbox.

use crate::adapters::http::{self, CallbackConfig, CallbackSink, Intake, Secret};
use crate::config::{Config, ConfigError};
use crate::core::clock::Clock;
use crate::core::desk::Desk;
use crate::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Environment variable with the address to listen on (the `--listen` option wins).
pub const LISTEN_VAR: &str = "DESKBOT_LISTEN";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The configuration (`DESKBOT_*` variables that are not configuration keys, like serve's own, are ignored).
pub fn load_config(path: Option<&Path>) -> Result<Config, ConfigError> {
    Config::load(path)
}

/// What `serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The bearer token HTTP clients must send.
    pub token: Secret,
    /// Where HTTP replies go; without it they wait in the outbox (with a warning at start).
    pub callback: Option<CallbackConfig>,
    /// How often the scheduler ticks and the worker looks for retries.
    pub tick: Duration,
    /// Microsoft Teams, when `[teams] app_id` is set (`POST /api/teams/messages` and its outbox worker).
    pub teams: Option<crate::adapters::teams::Settings>,
    /// The Discord adapter, when `DISCORD_TOKEN` is set.
    pub discord: Option<crate::adapters::discord::gateway::Setup>,
    /// The Slack adapter, when `SLACK_BOT_TOKEN` is set.
    pub slack: Option<crate::adapters::slack::SlackOptions>,
}

impl ServeOptions {
    /// From `--listen` (else `DESKBOT_LISTEN`, else 127.0.0.1:8080) and the HTTP adapter's variables.
    pub fn from_env(listen: Option<&str>) -> anyhow::Result<ServeOptions> {
        let from_env = std::env::var(LISTEN_VAR).ok().filter(|s| !s.trim().is_empty());
        let listen = listen.map(str::to_string).or(from_env).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|e| anyhow::anyhow!("listen address `{listen}` is not HOST:PORT (e.g. 127.0.0.1:8080): {e}"))?;
        let token = std::env::var(http::TOKEN_VAR).ok().filter(|t| !t.is_empty()).ok_or_else(|| {
            anyhow::anyhow!("{} is not set: the HTTP intake needs a bearer token for its clients", http::TOKEN_VAR)
        })?;
        Ok(ServeOptions {
            listen,
            token: Secret::new(&token),
            callback: CallbackConfig::from_env()?,
            tick: Duration::from_secs(1),
            teams: None,
            discord: None,
            slack: None,
        })
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Runs the HTTP server, the scheduler and the HTTP outbox worker until `shutdown` resolves.
pub async fn run<S: Store + 'static>(
    desk: Arc<Desk<S>>,
    clock: Arc<dyn Clock>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr()?;
    serve_on(listener, desk, clock, opts, shutdown).await.map(|_| tracing::info!(%addr, "stopped"))
}

/// [`run`] on a listener that is already bound (tests bind port 0).
pub async fn serve_on<S: Store + 'static>(
    listener: tokio::net::TcpListener,
    desk: Arc<Desk<S>>,
    clock: Arc<dyn Clock>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    // A webhook vendor whose signing key is missing would fail at its first send, days later: refuse to start.
    let missing = desk.settings().vendors.missing_signing_keys(|k| std::env::var(k).ok());
    if !missing.is_empty() {
        anyhow::bail!(
            "vendor webhook signing keys are not set: {}. Set each environment variable to the key shared with \
             the vendor (or remove the webhook from deskbot.toml)",
            missing.join(", ")
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());

    desk.learn(true).await?;
    let scheduler = tokio::spawn(scheduler(desk.clone(), wake.clone(), opts.tick, stop_rx.clone()));
    let worker = match opts.callback.clone() {
        Some(cb) => {
            tracing::info!(timeout_ms = cb.timeout.as_millis() as u64, "HTTP replies go to the callback URL");
            let sink = CallbackSink::new(cb)?.telling(&desk.settings().queue_channel);
            Some(tokio::spawn(worker(desk.clone(), clock.clone(), sink, wake.clone(), opts.tick, stop_rx.clone())))
        }
        None => {
            tracing::warn!("{} is not set: HTTP replies are kept in the outbox until it is", http::CALLBACK_URL_VAR);
            None
        }
    };

    let vendor_sink = crate::adapters::vendor::VendorSink::new(desk.clone(), Duration::from_secs(30))?;
    let vendors = tokio::spawn(vendor_worker(vendor_sink, clock.clone(), opts.tick, stop_rx.clone()));
    let silence_sink = crate::adapters::silence::SilenceSink::new(desk.clone(), Duration::from_secs(15))?;
    let silences = tokio::spawn(silence_worker(silence_sink, clock.clone(), opts.tick, stop_rx.clone()));

    let teams = match opts.teams {
        Some(t) => Some(crate::adapters::teams::spawn(t, desk.clone(), clock.clone(), opts.tick, stop_rx.clone())?),
        None => None,
    };
    let (discord_routes, discord_tasks) = match opts.discord.clone() {
        Some(setup) => {
            use crate::adapters::discord::gateway;
            let (d, tasks) = gateway::start(desk.clone(), clock.clone(), setup, opts.tick, stop_rx.clone());
            (gateway::endpoint(&d), tasks)
        }
        None => (None, vec![]),
    };
    let slack = opts
        .slack
        .as_ref()
        .map(|o| crate::adapters::slack::start(desk.clone(), clock.clone(), o, opts.tick, stop_rx.clone()));
    let alerts = crate::adapters::alerts::AlertIntake {
        desk: desk.clone(),
        auth: crate::adapters::alerts::AlertAuth::from_env(&opts.token),
        wake: wake.clone(),
    };
    let intake = Intake { desk, token: opts.token, wake };
    let mut app = http::router(intake).merge(crate::adapters::alerts::router(alerts));
    if let Some((routes, _)) = &teams {
        tracing::info!("Teams: POST {}", crate::adapters::teams::PATH);
        app = app.merge(routes.clone());
    }
    if let Some(routes) = discord_routes {
        app = app.merge(routes);
    }
    if let Some(r) = slack.as_ref().and_then(|s| s.router.clone()) {
        app = app.merge(r);
    }
    tracing::info!(%addr, "listening: POST /api/v1/messages, /api/v1/signals, /api/v1/alerts[/alertmanager], GET /healthz");
    let mut server_stop = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = server_stop.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown.await;
    let _ = stop_tx.send(true);
    let served = server.await;
    let _ = scheduler.await;
    let _ = vendors.await;
    let _ = silences.await;
    for t in discord_tasks.into_iter().chain(slack.into_iter().flat_map(|s| s.tasks)) {
        let _ = t.await;
    }
    if let Some(w) = worker {
        let _ = w.await;
    }
    if let Some((_, w)) = teams {
        let _ = w.await;
    }
    served??;
    Ok(())
}

async fn scheduler<S: Store + 'static>(
    desk: Arc<Desk<S>>,
    wake: Arc<Notify>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match desk.tick().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(fired = n, "SLA timers fired");
                wake.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
        }
        if let Err(e) = desk.learn(true).await {
            tracing::error!(error = %e, "triage retraining failed");
        }
    }
}

async fn worker<S: Store + 'static>(
    desk: Arc<Desk<S>>,
    clock: Arc<dyn Clock>,
    sink: CallbackSink,
    wake: Arc<Notify>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match http::deliver_due(desk.store(), &sink, clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(delivered = n, "HTTP replies delivered"),
            Err(e) => tracing::error!(error = %e, "outbox worker failed; retrying"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The silence worker: silences asked for from chat, created in Alertmanager (retried with backoff by the outbox).
async fn silence_worker<S: Store + 'static>(
    sink: crate::adapters::silence::SilenceSink<S>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match crate::adapters::silence::deliver_due(&sink, clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(created = n, "silences created in Alertmanager"),
            Err(e) => tracing::error!(error = %e, "silence worker failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The vendor outbox worker: emails and webhooks to vendors, retried with backoff by the outbox.
async fn vendor_worker<S: Store + 'static>(
    sink: crate::adapters::vendor::VendorSink<S>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match crate::adapters::vendor::deliver_due(&sink, clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(delivered = n, "vendor messages delivered"),
            Err(e) => tracing::error!(error = %e, "vendor worker failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

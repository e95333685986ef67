//! The gateway connection (serenity's client; it reconnects and resumes by itself) and the Discord side of
//! `deskbot serve`.
//!
//! Gateway intents: `GUILDS` (the servers the bot is in, to introduce itself in the helpdesk channel once),
//! `GUILD_MESSAGES` (messages in server channels and threads), `DIRECT_MESSAGES` (DMs with the bot) and
//! `MESSAGE_CONTENT` (a privileged intent: turn on "Message Content Intent" under Bot in the Developer Portal, or
//! message texts arrive empty). Interactions need no intent.
//!
//! Only one replica may hold the gateway (two would handle every message twice and race to create threads):
//! the connection is guarded by the store lease [`LEASE_NAME`]. The holder renews it every third of its
//! lifetime and stops its shard the moment a renewal fails; the others keep trying to take it, and get it once
//! it expires (or at once after a clean shutdown, which releases it). Every replica delivers the outbox and
//! serves the HTTP interactions endpoint; those need no lease.

use super::{Discord, DiscordConfig, DiscordSink, Roles};
use crate::core::clock::Clock;
use crate::core::desk::Desk;
use crate::store::{Store, StoreError};
use serenity::all::{
    ApplicationId, Command, Context, EventHandler, GatewayIntents, Guild, GuildId, Http, HttpBuilder, Interaction,
    Message, Ready,
};
use serenity::builder::Builder as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The store lease that guards the gateway connection.
pub const LEASE_NAME: &str = "discord-gateway";

/// The intents deskbot asks for.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// One replica's claim on the gateway lease.
pub struct GatewayLease<'a, S> {
    pub store: &'a S,
    /// Unique per process (host, pid and start time).
    pub holder: String,
    pub ttl: chrono::Duration,
}

impl<S: Store> GatewayLease<'_, S> {
    /// Takes the lease, or renews it if we hold it; true when we hold it until `now + ttl`.
    pub async fn acquire(&self, now: chrono::DateTime<chrono::Utc>) -> Result<bool, StoreError> {
        self.store.acquire_lease(LEASE_NAME, &self.holder, now, now + self.ttl).await
    }

    /// Gives the lease up (clean shutdown).
    pub async fn release(&self) -> Result<(), StoreError> {
        self.store.release_lease(LEASE_NAME, &self.holder).await
    }
}

/// A process-unique lease holder name.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "deskbot".into());
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{host}:{}:{started}", std::process::id())
}

/// Registers `/ticket` and `/helpdesk` in each configured guild (replacing deskbot's previous definitions
/// there), and globally when `global_commands` is set.
pub async fn register_commands(http: &Http, config: &DiscordConfig) -> serenity::Result<()> {
    for g in &config.guilds {
        let Ok(id) = g.parse::<u64>() else { continue };
        GuildId::new(id).set_commands(http, super::commands::definitions()).await?;
        tracing::info!(guild = %g, "Discord slash commands registered");
    }
    if config.global_commands {
        Command::set_global_commands(http, super::commands::definitions()).await?;
        tracing::info!("Discord slash commands registered globally");
    }
    Ok(())
}

/// What `serve` needs to run the Discord adapter: the token (never shown by `Debug`) and the configuration.
#[derive(Clone)]
pub struct Setup {
    token: Arc<str>,
    pub application_id: Option<u64>,
    pub config: DiscordConfig,
    pub roles: Roles,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("token", &"***")
            .field("application_id", &self.application_id)
            .field("config", &self.config)
            .finish()
    }
}

impl Setup {
    /// From `DISCORD_TOKEN` (unset or empty: the adapter is off, `Ok(None)`) and `DISCORD_APPLICATION_ID`.
    pub fn from_env(config: &crate::config::Config) -> anyhow::Result<Option<Setup>> {
        let Some(token) = std::env::var(super::TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let application_id = match std::env::var(super::APPLICATION_ID_VAR).ok().filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(s.trim().parse::<u64>().map_err(|_| {
                anyhow::anyhow!("{} is not a Discord application id (digits)", super::APPLICATION_ID_VAR)
            })?),
            None => None,
        };
        Ok(Some(Setup::new(&token, application_id, config)))
    }

    pub fn new(token: &str, application_id: Option<u64>, config: &crate::config::Config) -> Setup {
        Setup {
            token: token.trim().into(),
            application_id,
            config: config.discord.clone(),
            roles: Roles::from_config(config.roles.get("discord")),
        }
    }

    /// A REST client with the token (and the application id, when known), sending to `discord.api_url`.
    pub fn http(&self) -> Http {
        let mut b = HttpBuilder::new(&*self.token);
        if let Some(id) = self.application_id.filter(|id| *id != 0) {
            b = b.application_id(ApplicationId::new(id));
        }
        if let Some(proxy) = self.config.proxy() {
            b = b.proxy(proxy).ratelimiter_disabled(true);
        }
        b.build()
    }
}

struct Handler<S> {
    discord: Arc<Discord<S>>,
    config: DiscordConfig,
}

#[serenity::async_trait]
impl<S: Store + 'static> EventHandler for Handler<S> {
    async fn ready(&self, ctx: Context, ready: Ready) {
        self.discord.set_bot_user(ready.user.id.get());
        ctx.http.set_application_id(ready.application.id);
        let invite = super::invite_url(ready.application.id.get());
        tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), %invite, "connected to the Discord gateway");
        if let Err(e) = register_commands(&ctx.http, &self.config).await {
            tracing::error!(error = %e, "registering Discord slash commands failed");
        }
    }

    /// Sent for each server when the bot connects, and when it is added to one.
    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let channels: Vec<u64> = guild.channels.keys().map(|c| c.get()).collect();
        if let Err(e) = self.discord.on_guild_join(&channels).await {
            tracing::error!(error = %e, guild = %guild.id, "Discord: could not store the introduction");
        }
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        if let Err(e) = self.discord.on_message(&msg).await {
            // Not acknowledged to anyone: the message is lost unless the person writes again. Say so loudly.
            tracing::error!(error = %e, message = %msg.id, "Discord message could not be handled");
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let (id, token) = match &interaction {
            Interaction::Command(c) | Interaction::Autocomplete(c) => (c.id, c.token.clone()),
            Interaction::Component(c) => (c.id, c.token.clone()),
            Interaction::Modal(c) => (c.id, c.token.clone()),
            _ => return,
        };
        let answer = match self.discord.on_interaction(&interaction).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "Discord interaction failed");
                return;
            }
        };
        if let Err(e) = answer.response.execute(&ctx.http, (id, &token)).await {
            tracing::warn!(error = %e, "answering a Discord interaction failed");
            return;
        }
        if let Some(work) = answer.work
            && let Err(e) = self.discord.finish(work).await
        {
            tracing::error!(error = %e, "Discord interaction could not be handled");
        }
    }
}

/// A gateway connection that can be run and told to disconnect: serenity's client, or a fake in tests.
pub trait Connection: Send + Sync + 'static {
    /// Connects and runs until the connection ends by itself or `disconnect` turns true (then it must return
    /// promptly, with the shard stopped).
    fn run(&self, disconnect: watch::Receiver<bool>) -> impl Future<Output = ()> + Send;
}

/// The real gateway: a serenity client with deskbot's event handler.
pub struct Serenity<S> {
    pub discord: Arc<Discord<S>>,
    pub setup: Setup,
}

impl<S: Store + 'static> Connection for Serenity<S> {
    async fn run(&self, mut disconnect: watch::Receiver<bool>) {
        let handler = Handler { discord: self.discord.clone(), config: self.setup.config.clone() };
        let build = async {
            serenity::all::ClientBuilder::new_with_http(self.setup.http(), intents()).event_handler(handler).await
        };
        let mut client = tokio::select! {
            built = build => match built {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cannot build the Discord client");
                    return;
                }
            },
            _ = stopped(&mut disconnect) => return,
        };
        let shards = client.shard_manager.clone();
        let mut running = tokio::spawn(async move { client.start().await });
        tokio::select! {
            ended = &mut running => match ended {
                Ok(Ok(())) => tracing::warn!("the Discord gateway connection ended"),
                Ok(Err(e)) => tracing::error!(error = %e, "the Discord gateway failed"),
                Err(e) => tracing::error!(error = %e, "the Discord gateway task failed"),
            },
            _ = stopped(&mut disconnect) => {}
        }
        shards.shutdown_all().await;
        running.abort();
    }
}

/// Holds the gateway while this replica has the lease; returns when `stop` turns true (releasing the lease).
pub async fn run_gateway<S: Store + 'static>(
    discord: Arc<Discord<S>>,
    setup: Setup,
    clock: Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) {
    let ttl = chrono::Duration::seconds(setup.config.gateway_lease_seconds as i64);
    let every = Duration::from_secs((setup.config.gateway_lease_seconds / 3).max(1));
    let desk = discord.desk.clone();
    let lease = GatewayLease { store: desk.store(), holder: holder_id(), ttl };
    hold(&lease, &Serenity { discord, setup }, clock.as_ref(), every, stop).await
}

/// The lease loop: take the lease (retrying every `every`), run the connection while renewals succeed, disconnect
/// the moment one fails (another replica may be connecting), reconnect after a connection ends; on `stop`,
/// disconnect and release the lease so another replica can take over at once.
pub async fn hold<S: Store, C: Connection>(
    lease: &GatewayLease<'_, S>,
    connection: &C,
    clock: &dyn Clock,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let held = match lease.acquire(clock.now()).await {
            Ok(held) => held,
            Err(e) => {
                tracing::error!(error = %e, "cannot take the Discord gateway lease");
                false
            }
        };
        if !held {
            tracing::debug!("another replica holds the Discord gateway");
            tokio::select! {
                _ = tokio::time::sleep(every) => continue,
                _ = stopped(&mut stop) => return,
            }
        }
        tracing::info!(holder = %lease.holder, "holding the Discord gateway lease; connecting");
        let (disconnect, disconnected) = watch::channel(false);
        let run = connection.run(disconnected);
        tokio::pin!(run);
        let stopping = loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {
                    if !matches!(lease.acquire(clock.now()).await, Ok(true)) {
                        tracing::warn!("lost the Discord gateway lease; disconnecting");
                        break false;
                    }
                }
                _ = &mut run => {
                    tracing::warn!("the Discord gateway connection ended; reconnecting");
                    break false;
                }
                _ = stopped(&mut stop) => break true,
            }
        };
        let _ = disconnect.send(true);
        run.await;
        if stopping || *stop.borrow() {
            if let Err(e) = lease.release().await {
                tracing::warn!(error = %e, "could not release the Discord gateway lease; it expires by itself");
            }
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped(&mut stop) => {
                let _ = lease.release().await;
                return;
            }
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The Discord outbox worker: delivers due messages when woken and every `every` for retries.
pub async fn run_worker<S: Store + 'static>(
    sink: DiscordSink<S>,
    clock: Arc<dyn Clock>,
    wake: Arc<tokio::sync::Notify>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match super::deliver::deliver_due(&sink, clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(delivered = n, "Discord messages delivered"),
            Err(e) => tracing::error!(error = %e, "Discord outbox worker failed; retrying"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Starts the Discord side of `serve`: the outbox worker and the gateway (leased). Returns the adapter (for the
/// interactions endpoint) and the tasks to await at shutdown.
pub fn start<S: Store + 'static>(
    desk: Arc<Desk<S>>,
    clock: Arc<dyn Clock>,
    setup: Setup,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> (Arc<Discord<S>>, Vec<tokio::task::JoinHandle<()>>) {
    let discord = Arc::new(Discord::new(desk.clone(), setup.config.clone(), setup.roles.clone()));
    let sink = DiscordSink::new(Arc::new(setup.http()), desk, setup.config.clone());
    let http = sink.http.clone();
    let worker = tokio::spawn(run_worker(sink, clock.clone(), discord.wake.clone(), every, stop.clone()));
    let d = discord.clone();
    let gateway = tokio::spawn(async move {
        // Follow-ups need the application id: learn it now unless DISCORD_APPLICATION_ID gave it.
        if http.application_id().is_none() {
            let mut early = stop.clone();
            tokio::select! {
                app = http.get_current_application_info() => match app {
                    Ok(app) => http.set_application_id(app.id),
                    Err(e) => tracing::error!(error = %e, "cannot read the Discord application (is DISCORD_TOKEN right?)"),
                },
                _ = stopped(&mut early) => return,
            }
        }
        run_gateway(d, setup, clock, stop).await
    });
    (discord, vec![worker, gateway])
}

/// The interactions endpoint's router when `[discord] public_key` is set.
pub fn endpoint<S: Store + 'static>(discord: &Arc<Discord<S>>) -> Option<axum::Router> {
    let key = discord.config.public_key.as_deref()?;
    let v = super::endpoint::verifier(key)?;
    Some(super::endpoint::router(discord.clone(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let config = crate::config::Config::from_parts(
            "t",
            "[discord]\nguilds = [\"300\"]\n[roles.discord]\n\"role:9\" = \"lead\"\n",
            &[],
        )
        .unwrap();
        let setup = Setup::new("MTIz.secret-bot-token", Some(555), &config);
        let shown = format!("{setup:?}");
        assert!(!shown.contains("secret-bot-token") && shown.contains("***"), "{shown}");
        assert_eq!(setup.roles.highest("1", &["9".into()]), crate::core::roles::Role::Lead);
    }

    #[test]
    fn bad_discord_config_is_named() {
        let e = crate::config::Config::from_parts("f", "[discord]\nguilds = [\"my server\"]\n", &[]).unwrap_err();
        assert!(e.0.contains("discord.guilds"), "{e}");
        let e = crate::config::Config::from_parts("f", "[discord]\npublic_key = \"abc\"\n", &[]).unwrap_err();
        assert!(e.0.contains("discord.public_key"), "{e}");
        let e = crate::config::Config::from_parts("f", "[discord]\napi_url = \"discord.com\"\n", &[]).unwrap_err();
        assert!(e.0.contains("discord.api_url"), "{e}");
        let e = crate::config::Config::from_parts("f", "[discord]\napi_url = \"https://discord.com/api/v10\"\n", &[])
            .unwrap_err();
        assert!(e.0.contains("no /api path"), "{e}");
        let c = crate::config::Config::from_parts("f", "", &[]).unwrap();
        assert_eq!(c.discord.proxy(), None, "Discord itself: serenity's rate limiter stays on");
        let env = vec![("DESKBOT_DISCORD__GLOBAL_COMMANDS".to_string(), "true".to_string())];
        assert!(crate::config::Config::from_parts("f", "", &env).unwrap().discord.global_commands);
    }
}

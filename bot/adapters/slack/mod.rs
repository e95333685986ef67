//! The Slack adapter: Socket Mode (default) or the HTTP Events API in, Block Kit out through the outbox.
//!
//! - [`inbound`] turns events, slash commands, button presses and modal submissions into envelopes;
//! - [`http`] serves `/slack/events`, `/slack/commands`, `/slack/interactivity` (signed requests only);
//! - [`socket`] runs the Socket Mode connection (no public URL needed);
//! - [`outbound`] delivers the outbox: threaded replies, queue cards updated in place, ephemeral notices,
//!   the report chart (external upload flow), with 429 `Retry-After` passed to the outbox;
//! - [`blocks`] renders Block Kit and modals, escaping all text; [`signature`] checks request signatures.
//!
//! Every inbound payload is acknowledged within Slack's 3 seconds: the work is spawned, and the answer waits at
//! most [`ACK_WAIT`] for it (so a quick failure can still ask Slack to retry). Redeliveries are deduplicated by
//! the desk.
//!
//! Tokens come only from the environment ([`BOT_TOKEN_VAR`], [`APP_TOKEN_VAR`], [`SIGNING_SECRET_VAR`]) and are
//! never logged or shown by `Debug`.

pub mod blocks;
pub mod http;
pub mod inbound;
pub mod outbound;
pub mod signature;
pub mod socket;

use crate::core::desk::{Desk, DeskError, Handled};
use crate::core::ids::{Platform, UserRef};
use crate::core::message::Envelope;
use crate::core::roles::Role;
use crate::store::Store;
use inbound::{BotIdentity, Inbound, ModalOrigin};
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Environment variable with the bot token (`xoxb-…`).
pub const BOT_TOKEN_VAR: &str = "SLACK_BOT_TOKEN";
/// Environment variable with the app-level token for Socket Mode (`xapp-…`, scope `connections:write`).
pub const APP_TOKEN_VAR: &str = "SLACK_APP_TOKEN";
/// Environment variable with the signing secret for the HTTP Events API.
pub const SIGNING_SECRET_VAR: &str = "SLACK_SIGNING_SECRET";
/// How long an inbound request waits for its work before it is acknowledged anyway (Slack allows 3 s).
pub const ACK_WAIT: Duration = Duration::from_millis(2500);
/// How long a users.info, usergroups.users.list or auth.test call may take before deskbot goes on without it.
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(1500);
/// How often `auth.test` is asked again while it fails.
pub const IDENTITY_RETRY: Duration = Duration::from_secs(30);

/// How deskbot connects to Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// Socket Mode: deskbot opens a WebSocket to Slack; needs `SLACK_APP_TOKEN`, no public URL.
    #[default]
    Socket,
    /// The HTTP Events API: Slack POSTs to `/slack/…`; needs `SLACK_SIGNING_SECRET` and a public HTTPS URL.
    Http,
}

/// `[slack]` in deskbot.toml. The adapter runs when `SLACK_BOT_TOKEN` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub mode: SlackMode,
    /// The Web API base URL (tests point it at a local fake).
    pub api_url: String,
    /// Logical channel names used in `[channels]` and `[reports]` → Slack channel ids (`helpdesk = "C0123"`).
    /// Unmapped names are used as given (a Slack channel id or a name Slack accepts).
    pub channels: BTreeMap<String, String>,
    /// Slack user group ids → roles (`S0123ABC = "technician"`). A member gets the highest role of their groups,
    /// or their `[roles.slack]` role if that is higher.
    pub groups: BTreeMap<String, Role>,
    /// How long a fetched display name is used before it is fetched again.
    pub name_cache_minutes: u64,
    /// How long user group memberships are used before they are fetched again.
    pub group_cache_minutes: u64,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            mode: SlackMode::Socket,
            api_url: "https://slack.com/api".into(),
            channels: BTreeMap::new(),
            groups: BTreeMap::new(),
            name_cache_minutes: 60,
            group_cache_minutes: 10,
        }
    }
}

/// A token or secret: never shown by `Debug`.
#[derive(Clone)]
pub struct SlackSecret(Arc<str>);

impl SlackSecret {
    pub fn new(s: &str) -> Self {
        SlackSecret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SlackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlackSecret(***)")
    }
}

/// Everything the adapter runs with: the configuration and the secrets from the environment.
#[derive(Debug, Clone)]
pub struct SlackOptions {
    pub config: SlackConfig,
    pub bot_token: SlackSecret,
    /// Socket Mode only.
    pub app_token: Option<SlackSecret>,
    /// HTTP mode only.
    pub signing_secret: Option<SlackSecret>,
}

impl SlackOptions {
    /// From the process environment; `None` when `SLACK_BOT_TOKEN` is not set (Slack is off).
    pub fn from_env(config: &SlackConfig) -> anyhow::Result<Option<SlackOptions>> {
        Self::from_vars(config, |k| std::env::var(k).ok())
    }

    /// From `var` (tests pass a map); errors name the missing variable, never a value.
    pub fn from_vars(config: &SlackConfig, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let get = |k: &str| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(bot) = get(BOT_TOKEN_VAR) else { return Ok(None) };
        if !bot.starts_with("xoxb-") {
            anyhow::bail!("{BOT_TOKEN_VAR} must be a bot token (it starts with xoxb-)");
        }
        let mut o = SlackOptions {
            config: config.clone(),
            bot_token: SlackSecret::new(&bot),
            app_token: None,
            signing_secret: None,
        };
        match config.mode {
            SlackMode::Socket => {
                let app = get(APP_TOKEN_VAR).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{APP_TOKEN_VAR} is not set: Socket Mode needs an app-level token (xapp-…, scope connections:write); or set slack.mode = \"http\" with {SIGNING_SECRET_VAR}"
                    )
                })?;
                if !app.starts_with("xapp-") {
                    anyhow::bail!("{APP_TOKEN_VAR} must be an app-level token (it starts with xapp-)");
                }
                o.app_token = Some(SlackSecret::new(&app));
            }
            SlackMode::Http => {
                let secret = get(SIGNING_SECRET_VAR).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{SIGNING_SECRET_VAR} is not set: the HTTP Events API needs the app's signing secret"
                    )
                })?;
                o.signing_secret = Some(SlackSecret::new(&secret));
            }
        }
        Ok(Some(o))
    }
}

/// Logical channel names ↔ Slack channel ids.
#[derive(Debug, Clone, Default)]
pub struct ChannelMap {
    to_slack: BTreeMap<String, String>,
    to_logical: HashMap<String, String>,
}

impl ChannelMap {
    pub fn new(map: &BTreeMap<String, String>) -> Self {
        let to_logical = map.iter().map(|(name, id)| (id.clone(), name.clone())).collect();
        ChannelMap { to_slack: map.clone(), to_logical }
    }
    /// The name the core knows a Slack channel by (its id when unmapped).
    pub fn logical(&self, id: &str) -> String {
        self.to_logical.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
    /// The Slack channel for a name the core uses (the name itself when unmapped).
    pub fn slack(&self, name: &str) -> String {
        self.to_slack.get(name).cloned().unwrap_or_else(|| name.to_string())
    }
}

/// `C0123ABC`, `G…` (private), `D…` (DM): what Slack calls channels in events.
pub fn looks_like_channel_id(s: &str) -> bool {
    s.len() >= 9 && s.starts_with(['C', 'G', 'D']) && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The Slack Web API client type.
pub type Client = SlackHyperClient;

/// A Web API client for `api_url` (https in production; plain http is allowed for local fakes). TLS uses the
/// bundled webpki roots, so no system CA store is needed.
pub fn client(api_url: &str) -> Arc<Client> {
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
    let url = api_url.trim_end_matches('/');
    Arc::new(SlackClient::new(SlackClientHyperConnector::with_connector(https).with_slack_api_url(url)))
}

/// Display names and user-group roles, cached.
struct Directory {
    names: Mutex<HashMap<String, (String, Instant)>>,
    groups: Mutex<Option<(HashMap<String, Role>, Instant)>>,
    name_ttl: Duration,
    group_ttl: Duration,
}

/// What became of one inbound payload, for the acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// Handled and committed (or a modal opened).
    Done,
    /// Already handled before.
    Duplicate,
    /// Nothing for the desk.
    Ignored,
    /// Still running after [`ACK_WAIT`]; it finishes in the background.
    Pending,
    /// Failed before the acknowledgement (Slack may retry; the retry is deduplicated).
    Failed(String),
}

/// The adapter's shared state: the desk, the Web API client with the bot token, caches.
pub struct Slack<S> {
    desk: Arc<Desk<S>>,
    client: Arc<Client>,
    token: SlackApiToken,
    config: SlackConfig,
    channels: ChannelMap,
    directory: Directory,
    /// Who we are, from `auth.test` (asked at start-up, and again at most every [`IDENTITY_RETRY`] until it
    /// answers).
    identity: RwLock<Option<BotIdentity>>,
    identity_asked: tokio::sync::Mutex<Option<Instant>>,
    /// Notified after each handled event, so the outbox worker delivers at once.
    pub wake: Arc<tokio::sync::Notify>,
}

impl<S> std::fmt::Debug for Slack<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack").field("config", &self.config).field("token", &"***").finish()
    }
}

impl<S: Store + 'static> Slack<S> {
    pub fn new(desk: Arc<Desk<S>>, opts: &SlackOptions) -> Arc<Self> {
        let c = &opts.config;
        Arc::new(Slack {
            desk,
            client: client(&c.api_url),
            token: SlackApiToken::new(opts.bot_token.expose().to_string().into()),
            channels: ChannelMap::new(&c.channels),
            directory: Directory {
                names: Mutex::new(HashMap::new()),
                groups: Mutex::new(None),
                name_ttl: Duration::from_secs(c.name_cache_minutes.saturating_mul(60)),
                group_ttl: Duration::from_secs(c.group_cache_minutes.saturating_mul(60)),
            },
            config: c.clone(),
            identity: RwLock::new(None),
            identity_asked: tokio::sync::Mutex::new(None),
            wake: Arc::default(),
        })
    }

    pub fn desk(&self) -> &Arc<Desk<S>> {
        &self.desk
    }
    pub fn channels(&self) -> &ChannelMap {
        &self.channels
    }
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }
    fn session(&self) -> SlackClientSession<'_, SlackClientHyperHttpsConnector> {
        self.client.open_session(&self.token)
    }

    /// Who the bot is, once `auth.test` has told us.
    pub fn known_identity(&self) -> Option<BotIdentity> {
        self.identity.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Who the bot is: asked once with `auth.test` (the bot token's own user id and bot id) and kept. While Slack
    /// cannot be reached it is asked again at most every [`IDENTITY_RETRY`]; events in between fall back to what
    /// they state themselves ([`inbound::bot_from_authorizations`]).
    pub async fn identity(&self) -> Option<BotIdentity> {
        if let Some(me) = self.known_identity() {
            return Some(me);
        }
        // One question at a time: an event arriving while start-up asks waits for that answer.
        let mut asked = self.identity_asked.lock().await;
        if let Some(me) = self.known_identity() {
            return Some(me);
        }
        if asked.is_some_and(|at| at.elapsed() < IDENTITY_RETRY) {
            return None;
        }
        *asked = Some(Instant::now());
        match tokio::time::timeout(LOOKUP_TIMEOUT, self.session().auth_test()).await {
            Ok(Ok(r)) => {
                let me = BotIdentity { user_id: r.user_id.to_string(), bot_id: r.bot_id.map(|b| b.to_string()) };
                tracing::info!(user = %me.user_id, bot = ?me.bot_id, "slack: connected as the bot");
                *self.identity.write().unwrap_or_else(|e| e.into_inner()) = Some(me.clone());
                Some(me)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "slack: auth.test failed; cannot tell our own messages and mentions yet");
                None
            }
            Err(_) => {
                tracing::warn!("slack: auth.test timed out; cannot tell our own messages and mentions yet");
                None
            }
        }
    }

    /// Translates an Events API body (or Socket Mode events payload).
    pub async fn translate_event(&self, body: &serde_json::Value) -> Inbound {
        let me = self.identity().await;
        inbound::push_event(body, &self.channels, me.as_ref())
    }

    /// Runs `inbound` in a task of its own and waits at most [`ACK_WAIT`] for it, so Slack is always answered in
    /// time; the work goes on if it takes longer.
    pub async fn accept(self: &Arc<Self>, inbound: Inbound) -> Accepted {
        self.accept_within(inbound, ACK_WAIT).await
    }

    /// [`Slack::accept`], waiting at most `wait`.
    pub async fn accept_within(self: &Arc<Self>, inbound: Inbound, wait: Duration) -> Accepted {
        if let Inbound::Ignore(why) = inbound {
            tracing::trace!(why, "slack: ignored");
            return Accepted::Ignored;
        }
        let me = self.clone();
        let task = tokio::spawn(async move { me.process(inbound).await });
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(Ok(a))) => a,
            Ok(Ok(Err(e))) => {
                tracing::error!(error = %e, "slack: could not handle an event");
                Accepted::Failed(e.to_string())
            }
            Ok(Err(join)) => Accepted::Failed(format!("handler panicked: {join}")),
            Err(_) => {
                tracing::warn!("slack: event still being handled after the acknowledgement deadline");
                Accepted::Pending
            }
        }
    }

    /// Handles one payload to the end: names and roles, then the desk (or a modal).
    pub async fn process(self: Arc<Self>, inbound: Inbound) -> Result<Accepted, DeskError> {
        match inbound {
            Inbound::Handle(env) => self.handle(env).await,
            Inbound::Modal { kind, ticket, trigger_id, fallback } => {
                let actor = self.identify(&fallback.actor).await;
                let open = |t: &crate::core::ticket::Ticket| {
                    !matches!(t.state, crate::core::ticket::State::Resolved | crate::core::ticket::State::Closed)
                };
                if self.desk.role_of(&actor).is_staff()
                    && let Some(t) = self.desk.store().ticket(ticket).await?
                    && open(&t)
                {
                    let vendors: Vec<(String, String)> = {
                        let all = &self.desk.settings().vendors;
                        let covering = all.covering(&t.category);
                        let list = if covering.is_empty() { all.all().iter().collect() } else { covering };
                        list.iter().map(|v| (v.id.clone(), v.name.clone())).collect()
                    };
                    let no_vendor = kind == blocks::ModalKind::Escalate && vendors.is_empty();
                    if !no_vendor {
                        let origin = ModalOrigin {
                            channel: fallback.place.channel.clone(),
                            thread: fallback.place.thread.clone(),
                            message: fallback.place.message.clone(),
                            dm: fallback.place.dm,
                        };
                        let meta = serde_json::to_string(&origin).unwrap_or_default();
                        let view = blocks::modal(kind, ticket, &t.title, &vendors, &meta);
                        let req = SlackApiViewsOpenRequest::new(trigger_id.into(), view);
                        match self.session().views_open(&req).await {
                            Ok(_) => return Ok(Accepted::Done),
                            Err(e) => {
                                tracing::warn!(error = %e, "slack: views.open failed; handling the button plainly")
                            }
                        }
                    }
                }
                self.handle(fallback).await
            }
            Inbound::Joined { channel } => {
                if channel != self.desk.settings().helpdesk_channel {
                    return Ok(Accepted::Ignored);
                }
                let store = self.desk.store();
                if crate::adapters::intro::post_once(store, Platform::Slack, &channel, self.desk.now()).await? {
                    tracing::info!(%channel, "slack: added to the helpdesk channel; introducing ourselves");
                    self.wake.notify_one();
                    Ok(Accepted::Done)
                } else {
                    Ok(Accepted::Duplicate)
                }
            }
            Inbound::Challenge(_) | Inbound::Ignore(_) => Ok(Accepted::Ignored),
        }
    }

    async fn handle(&self, mut env: Envelope) -> Result<Accepted, DeskError> {
        env.actor = self.identify(&env.actor).await;
        let r = self.desk.handle(&env).await?;
        self.wake.notify_one();
        Ok(match r {
            Handled::Done => Accepted::Done,
            Handled::Duplicate => Accepted::Duplicate,
        })
    }

    /// The person with their display name, after their role from user groups is applied.
    pub async fn identify(&self, who: &UserRef) -> UserRef {
        let mut user = who.clone();
        if user.name == user.id {
            user.name = self.display_name(&user.id).await;
        }
        if !self.config.groups.is_empty() {
            let from_groups = self.group_role(&user.id).await;
            let configured = self.desk.settings().roles.get(&user.key()).copied().unwrap_or_default();
            self.desk.set_role(&user, from_groups.max(configured));
        }
        user
    }

    /// A user's display name: memory (for `name_cache_minutes`), else users.info (also stored in platform_refs
    /// as `user:<id>` for other replicas and for when Slack cannot be reached), else the id.
    pub async fn display_name(&self, id: &str) -> String {
        if let Some((n, at)) = self.directory.names.lock().unwrap_or_else(|e| e.into_inner()).get(id)
            && at.elapsed() < self.directory.name_ttl
        {
            return n.clone();
        }
        let key = format!("user:{id}");
        let req = SlackApiUsersInfoRequest::new(id.to_string().into());
        let fetched = match tokio::time::timeout(LOOKUP_TIMEOUT, self.session().users_info(&req)).await {
            Ok(Ok(r)) => {
                let u = r.user;
                let p = u.profile.as_ref();
                [p.and_then(|p| p.display_name.clone()), p.and_then(|p| p.real_name.clone()), u.real_name, u.name]
                    .into_iter()
                    .flatten()
                    .find(|n| !n.trim().is_empty())
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, user = id, "slack: users.info failed");
                None
            }
            Err(_) => {
                tracing::warn!(user = id, "slack: users.info timed out");
                None
            }
        };
        let store = self.desk.store();
        let name = match fetched {
            Some(n) => {
                if let Err(e) = store.put_platform_ref(Platform::Slack, &key, &n, self.desk.now()).await {
                    tracing::warn!(error = %e, "slack: could not store a display name");
                }
                n
            }
            None => match store.platform_ref(Platform::Slack, &key).await {
                Ok(Some(n)) => n,
                _ => return id.to_string(), // not cached: try again next time
            },
        };
        self.directory
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), (name.clone(), Instant::now()));
        name
    }

    /// The highest role any of the user's configured groups gives (requester if none).
    async fn group_role(&self, user: &str) -> Role {
        let fresh = {
            let g = self.directory.groups.lock().unwrap_or_else(|e| e.into_inner());
            g.as_ref().filter(|(_, at)| at.elapsed() < self.directory.group_ttl).map(|(m, _)| m.get(user).copied())
        };
        if let Some(r) = fresh {
            return r.unwrap_or_default();
        }
        let mut map: HashMap<String, Role> = HashMap::new();
        let mut complete = true;
        for (group, role) in &self.config.groups {
            let req = SlackApiUserGroupsUsersListRequest::new(group.clone().into());
            match tokio::time::timeout(LOOKUP_TIMEOUT, self.session().usergroups_users_list(&req)).await {
                Ok(Ok(r)) => {
                    for u in r.users {
                        let e = map.entry(u.to_string()).or_default();
                        *e = (*e).max(*role);
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, group, "slack: usergroups.users.list failed");
                    complete = false;
                }
                Err(_) => {
                    tracing::warn!(group, "slack: usergroups.users.list timed out");
                    complete = false;
                }
            }
        }
        let mut g = self.directory.groups.lock().unwrap_or_else(|e| e.into_inner());
        if !complete && let Some((old, _)) = g.as_ref() {
            // Keep the last complete membership rather than demoting people while Slack is unreachable.
            return old.get(user).copied().unwrap_or_default();
        }
        let r = map.get(user).copied().unwrap_or_default();
        *g = Some((map, Instant::now()));
        r
    }
}

/// What `deskbot serve` gets from [`start`]: routes to merge (HTTP mode) and tasks to await on shutdown.
pub struct Running {
    pub router: Option<axum::Router>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts the adapter: the outbox worker for Slack, and Socket Mode or the HTTP routes, until `stop`.
pub fn start<S: Store + 'static>(
    desk: Arc<Desk<S>>,
    clock: Arc<dyn crate::core::clock::Clock>,
    opts: &SlackOptions,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Running {
    let settings = desk.settings();
    let mut used = vec![&settings.helpdesk_channel, &settings.queue_channel, &settings.escalation_channel];
    used.extend(settings.report_schedule.as_ref().map(|r| &r.channel));
    for name in used {
        if !opts.config.channels.contains_key(name.as_str()) && !looks_like_channel_id(name) {
            tracing::warn!(
                channel = %name,
                "slack: channel `{name}` has no id in [slack.channels]; Slack events name channels by id, so messages \
                 there are not recognised as that channel (posts go to a channel of that name)"
            );
        }
    }
    let slack = Slack::new(desk, opts);
    let me = slack.clone();
    tokio::spawn(async move {
        me.identity().await;
    });
    let sink = outbound::SlackSink::new(slack.clone());
    let mut tasks = vec![tokio::spawn(worker(sink, slack.wake.clone(), clock, every, stop.clone()))];
    let mut router = None;
    if let Some(app) = &opts.app_token {
        tracing::info!("slack: Socket Mode");
        tasks.push(tokio::spawn(socket::run(slack.clone(), app.clone(), stop)));
    } else if let Some(secret) = &opts.signing_secret {
        tracing::info!("slack: HTTP Events API at /slack/events, /slack/commands, /slack/interactivity");
        router = Some(http::router(slack, Arc::new(signature::Verifier::new(secret.clone()))));
    }
    Running { router, tasks }
}

/// The Slack outbox worker: woken after each handled Slack event, and every `every` for retries and for
/// messages the scheduler wrote.
async fn worker<S: Store + 'static>(
    sink: outbound::SlackSink<S>,
    wake: Arc<tokio::sync::Notify>,
    clock: Arc<dyn crate::core::clock::Clock>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match outbound::deliver_due(&sink, clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(delivered = n, "slack messages delivered"),
            Err(e) => tracing::error!(error = %e, "slack outbox worker failed; retrying"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_the_environment_and_hide_secrets() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let c = SlackConfig::default();
        assert!(SlackOptions::from_vars(&c, vars(&[])).unwrap().is_none());
        let e = SlackOptions::from_vars(&c, vars(&[(BOT_TOKEN_VAR, "xoxb-1")])).unwrap_err().to_string();
        assert!(e.contains(APP_TOKEN_VAR), "{e}");
        let e = SlackOptions::from_vars(&c, vars(&[(BOT_TOKEN_VAR, "xoxp-user")])).unwrap_err().to_string();
        assert!(e.contains("xoxb-") && !e.contains("xoxp-user"), "{e}");
        let o = SlackOptions::from_vars(&c, vars(&[(BOT_TOKEN_VAR, "xoxb-1"), (APP_TOKEN_VAR, "xapp-2")]))
            .unwrap()
            .unwrap();
        let shown = format!("{o:?}");
        assert!(!shown.contains("xoxb-1") && !shown.contains("xapp-2"), "{shown}");
        let http = SlackConfig { mode: SlackMode::Http, ..SlackConfig::default() };
        let e = SlackOptions::from_vars(&http, vars(&[(BOT_TOKEN_VAR, "xoxb-1")])).unwrap_err().to_string();
        assert!(e.contains(SIGNING_SECRET_VAR), "{e}");
        let o = SlackOptions::from_vars(&http, vars(&[(BOT_TOKEN_VAR, "xoxb-1"), (SIGNING_SECRET_VAR, "s3")]))
            .unwrap()
            .unwrap();
        assert!(o.signing_secret.is_some() && !format!("{o:?}").contains("s3\""));
    }

    #[test]
    fn channel_names_map_both_ways() {
        let m = ChannelMap::new(&[("helpdesk".to_string(), "C1".to_string())].into_iter().collect());
        assert_eq!(m.logical("C1"), "helpdesk");
        assert_eq!(m.slack("helpdesk"), "C1");
        assert_eq!(m.logical("C2"), "C2");
        assert_eq!(m.slack("C2"), "C2");
        assert!(looks_like_channel_id("C0123ABCD") && looks_like_channel_id("G01ABCDEFG"));
        assert!(
            !looks_like_channel_id("helpdesk") && !looks_like_channel_id("C1") && !looks_like_channel_id("Cafe-team")
        );
    }
}

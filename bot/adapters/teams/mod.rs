//! Microsoft Teams: deskbot speaks the Bot Framework protocol itself (there is no Rust SDK).
//!
//! - Inbound: `POST /api/teams/messages` ([`router`]). Every request carries a Bot Framework JWT, checked by
//!   [`auth::Verifier`] (401 without a valid token, 403 for a genuine token with the wrong claims or from another
//!   tenant). `message` activities from 1:1 chats, group chats and channels become envelopes (the bot's
//!   `<at>` mention stripped; `/ticket …` is a command; Adaptive Card `Action.Submit` values are button actions, or
//!   the matching `/ticket` command when they carry text). Every activity's conversation reference is stored for
//!   proactive messages (`conversationUpdate` when the app is installed, too). The event is committed before the
//!   200, so a retry by Teams is a no-op (dedupe key `teams:<activity id>`).
//! - Outbound: [`connector::TeamsSink`], the outbox worker's sink for `Platform::Teams`.
//! - Card updates: the core re-sends a ticket's card whenever the ticket changes; the connector updates the posted
//!   card in place (PUT) instead of posting a new one.
//!
//! Configuration: `[teams]` in deskbot.toml ([`TeamsConfig`]); the app password (client secret) only from the
//! environment variable [`PASSWORD_VAR`].

pub mod activity;
pub mod auth;
pub mod cards;
pub mod connector;

use crate::core::clock::Clock;
use crate::core::desk::{Desk, Handled};
use crate::core::ids::Platform;
use crate::outbox;
use crate::store::{Store, StoreError};
use activity::{Activity, ChannelMap, UserEntry};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Environment variable with the bot's app password (the Entra app registration's client secret).
pub const PASSWORD_VAR: &str = "DESKBOT_TEAMS_APP_PASSWORD";
/// Where the Bot Framework publishes its OpenID metadata.
pub const DEFAULT_OPENID_METADATA_URL: &str = "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// The Entra ID login endpoint that issues connector tokens.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// The path Teams posts activities to.
pub const PATH: &str = "/api/teams/messages";
/// Largest activity accepted (Teams messages are at most about 100 KB).
pub const BODY_LIMIT: usize = 256 * 1024;
/// Outbox messages leased per round by the Teams worker.
pub const BATCH: i64 = 4;
/// Per-request timeout towards Teams and Entra ID.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// `[teams]` in deskbot.toml. The adapter runs when `app_id` is set (and then needs `tenant_id` and
/// `DESKBOT_TEAMS_APP_PASSWORD`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeamsConfig {
    /// The bot's Microsoft App ID (the Entra app registration's client id).
    pub app_id: Option<String>,
    /// The Entra tenant (directory) id of a single-tenant bot; activities from other tenants are refused.
    pub tenant_id: Option<String>,
    /// Bot Framework OpenID metadata (signing keys for inbound tokens).
    pub openid_metadata_url: String,
    /// Base URL of the Entra ID token endpoint (`{login_url}/{tenant_id}/oauth2/v2.0/token`).
    pub login_url: String,
    /// Service URL for proactive messages before Teams has sent any activity (e.g.
    /// `https://smba.trafficmanager.net/emea/`); afterwards the last one Teams used is kept.
    pub service_url: Option<String>,
    /// Logical channel names (`helpdesk`, `helpdesk-queue`, the reports channel, …) → Teams channel conversation
    /// ids (`19:…@thread.tacv2`). Unmapped names are used as conversation ids.
    pub channels: BTreeMap<String, String>,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            app_id: None,
            tenant_id: None,
            openid_metadata_url: DEFAULT_OPENID_METADATA_URL.into(),
            login_url: DEFAULT_LOGIN_URL.into(),
            service_url: None,
            channels: BTreeMap::new(),
        }
    }
}

impl TeamsConfig {
    /// Checks values that parse but cannot work (run by `deskbot config check` and at start-up).
    pub fn validate(&self) -> Result<(), String> {
        for (name, id) in &self.channels {
            if !id.trim().starts_with("19:") {
                return Err(format!(
                    "key `teams.channels.{name}`: `{id}` is not a Teams channel id (19:…@thread.tacv2; use \"Get link \
                     to channel\" and URL-decode the part after /channel/)"
                ));
            }
        }
        Ok(())
    }
}

/// The app password: never shown by `Debug`, never logged.
#[derive(Clone)]
pub struct AppPassword(Arc<str>);

impl AppPassword {
    pub fn new(s: &str) -> Self {
        AppPassword(s.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppPassword(***)")
    }
}

/// A validated Teams configuration with its password: what [`spawn`] runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app_id: String,
    pub tenant_id: String,
    pub openid_metadata_url: String,
    pub login_url: String,
    pub service_url: Option<String>,
    pub channels: ChannelMap,
    pub password: AppPassword,
    /// Least time between key fetches caused by unknown key ids ([`auth::MIN_REFETCH`]).
    pub min_key_refetch: Duration,
}

impl Settings {
    /// `None` when Teams is not configured (`teams.app_id` unset).
    pub fn from_config(c: &TeamsConfig, password: Option<String>) -> Result<Option<Settings>, String> {
        let Some(app_id) = c.app_id.clone().filter(|a| !a.trim().is_empty()) else { return Ok(None) };
        let tenant_id = c.tenant_id.clone().filter(|t| !t.trim().is_empty()).ok_or(
            "key `teams.tenant_id`: required with teams.app_id (the Entra directory id of your single-tenant bot)",
        )?;
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("{PASSWORD_VAR} is not set: the Teams adapter needs the app password"))?;
        for (key, url) in [("openid_metadata_url", &c.openid_metadata_url), ("login_url", &c.login_url)] {
            reqwest::Url::parse(url).map_err(|e| format!("key `teams.{key}`: not a URL: {e}"))?;
        }
        if let Some(u) = &c.service_url {
            reqwest::Url::parse(u).map_err(|e| format!("key `teams.service_url`: not a URL: {e}"))?;
        }
        Ok(Some(Settings {
            app_id: app_id.trim().to_string(),
            tenant_id: tenant_id.trim().to_string(),
            openid_metadata_url: c.openid_metadata_url.clone(),
            login_url: c.login_url.clone(),
            service_url: c.service_url.clone(),
            channels: ChannelMap::new(&c.channels),
            password: AppPassword::new(&password),
            min_key_refetch: auth::MIN_REFETCH,
        }))
    }

    /// [`Settings::from_config`] with the password from [`PASSWORD_VAR`].
    pub fn from_env(c: &TeamsConfig) -> Result<Option<Settings>, String> {
        Self::from_config(c, std::env::var(PASSWORD_VAR).ok())
    }
}

/// Keys of the adapter's values in `platform_refs`.
pub mod keys {
    /// The service URL Teams used last.
    pub const SERVICE_URL: &str = "service_url";
    /// A conversation reference ([`super::activity::ConversationRef`]).
    pub fn conversation(id: &str) -> String {
        format!("conv:{id}")
    }
    /// A person ([`super::activity::UserEntry`]), by deskbot user id.
    pub fn user(id: &str) -> String {
        format!("user:{id}")
    }
    /// Teams member id (`29:…`) → deskbot user id.
    pub fn member(id: &str) -> String {
        format!("member:{id}")
    }
    /// A ticket's card in a channel ([`super::connector::CardRef`]).
    pub fn card(channel: &str, ticket: i64) -> String {
        format!("card:{channel}:{ticket}")
    }
}

/// Shared state of the inbound endpoint.
pub struct Inbound<S> {
    pub desk: Arc<Desk<S>>,
    pub verifier: Arc<auth::Verifier>,
    pub settings: Arc<Settings>,
    /// Notified after each handled activity, so the outbox worker sends the replies at once.
    pub wake: Arc<Notify>,
}

impl<S> Clone for Inbound<S> {
    fn clone(&self) -> Self {
        Inbound {
            desk: self.desk.clone(),
            verifier: self.verifier.clone(),
            settings: self.settings.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<S> Inbound<S> {
    pub fn new(desk: Arc<Desk<S>>, settings: Arc<Settings>, http: reqwest::Client, wake: Arc<Notify>) -> Self {
        let mut v = auth::Verifier::new(http, &settings.openid_metadata_url, &settings.app_id);
        v.min_refetch = settings.min_key_refetch;
        Inbound { desk, verifier: Arc::new(v), settings, wake }
    }
}

/// The route `POST /api/teams/messages`.
pub fn router<S: Store + 'static>(inbound: Inbound<S>) -> Router {
    Router::new().route(PATH, post(receive::<S>)).layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(inbound)
}

fn status(code: StatusCode, error: &str) -> Response {
    (code, axum::Json(serde_json::json!({ "error": error }))).into_response()
}

async fn receive<S: Store + 'static>(State(i): State<Inbound<S>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        tracing::warn!("teams: request without a bearer token refused");
        return status(StatusCode::UNAUTHORIZED, "missing bearer token");
    };
    let refused = |e: auth::AuthError, kind: &str| {
        // The reason only; never the token.
        tracing::warn!(reason = %e, activity_type = %kind, "teams: request refused");
        match e {
            auth::AuthError::Missing | auth::AuthError::Invalid(_) => {
                status(StatusCode::UNAUTHORIZED, "invalid bearer token")
            }
            auth::AuthError::Forbidden(_) => status(StatusCode::FORBIDDEN, "token not accepted"),
            auth::AuthError::Unavailable(_) => status(StatusCode::SERVICE_UNAVAILABLE, "try again later"),
        }
    };
    // The token first: an unauthenticated caller learns nothing about what a valid body looks like.
    let token = match i.verifier.authenticate(Some(auth)).await {
        Ok(t) => t,
        Err(e) => return refused(e, "unread"),
    };
    let a: Activity = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(error = %e, "teams: body is not an activity");
            return status(StatusCode::BAD_REQUEST, "not a Bot Framework activity");
        }
    };
    if let Err(e) = token.bind(&a.service_url, &a.channel_id) {
        return refused(e, &a.kind);
    }
    if let Some(t) = a.tenant()
        && t != i.settings.tenant_id
    {
        tracing::warn!(tenant = %t, "teams: activity from another tenant refused");
        return status(StatusCode::FORBIDDEN, "tenant not served");
    }
    let members = match remember(&i.desk, &a).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "teams: could not store the conversation reference");
            return status(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
        }
    };
    if a.bot_added_to_team() {
        let helpdesk = i.desk.settings().helpdesk_channel.clone();
        match crate::adapters::intro::post_once(i.desk.store(), Platform::Teams, &helpdesk, i.desk.now()).await {
            Ok(true) => {
                tracing::info!(channel = %helpdesk, "teams: added to a team; introducing ourselves");
                i.wake.notify_one();
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "teams: could not store the introduction");
                return status(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
            }
        }
    }
    if a.kind != "message" {
        // conversationUpdate / installationUpdate: the reference is stored; typing, reactions, invokes: nothing to do.
        return StatusCode::OK.into_response();
    }
    let Some(env) = a.envelope(&i.settings.channels, &members) else { return StatusCode::OK.into_response() };
    match i.desk.handle(&env).await {
        Ok(Handled::Done) => {
            i.wake.notify_one();
            StatusCode::OK.into_response()
        }
        Ok(Handled::Duplicate) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "teams: could not handle the activity");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")]).into_response()
        }
    }
}

/// Stores what proactive messages need: the conversation reference, the service URL, who the sender is on Teams.
/// Returns Teams member ids → deskbot user ids of the people mentioned in the activity (when known).
async fn remember<S: Store>(desk: &Desk<S>, a: &Activity) -> Result<BTreeMap<String, String>, StoreError> {
    let store = desk.store();
    let now = desk.now();
    let put_json = |key: String, v: String| async move {
        if store.platform_ref(Platform::Teams, &key).await?.as_deref() != Some(v.as_str()) {
            store.put_platform_ref(Platform::Teams, &key, &v, now).await?;
        }
        Ok::<_, StoreError>(())
    };
    let reference = a.reference();
    if let Some(r) = &reference {
        put_json(keys::conversation(&r.conversation_id), json_string(r)).await?;
        put_json(keys::SERVICE_URL.to_string(), r.service_url.clone()).await?;
    }
    let mut people: Vec<&activity::Account> = a.from.iter().collect();
    people.extend(a.members_added.iter());
    for p in people {
        let Some(aad) = p.aad_object_id.as_deref().filter(|s| !s.is_empty()) else { continue };
        if p.id.is_empty() {
            continue;
        }
        put_json(keys::member(&p.id), aad.to_string()).await?;
        let old: Option<UserEntry> =
            store.platform_ref(Platform::Teams, &keys::user(aad)).await?.and_then(|s| serde_json::from_str(&s).ok());
        let from_here = a.from.as_ref().is_some_and(|f| f.id == p.id);
        let personal = match &reference {
            Some(r) if r.conversation_type == "personal" && from_here => Some(r.clone()),
            _ => old.and_then(|o| o.personal),
        };
        put_json(keys::user(aad), json_string(&UserEntry { member_id: p.id.clone(), personal })).await?;
    }
    let mut members = BTreeMap::new();
    for e in &a.entities {
        if let Some(id) = e.pointer("/mentioned/id").and_then(serde_json::Value::as_str)
            && let Some(user) = store.platform_ref(Platform::Teams, &keys::member(id)).await?
        {
            members.insert(id.to_string(), user);
        }
    }
    Ok(members)
}

fn json_string<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// This process's outbox worker name.
fn worker_id() -> String {
    format!("teams-{}", std::process::id())
}

/// Delivers every due Teams message through `sink`; returns how many were delivered.
pub async fn deliver_due<S: Store>(
    store: &S,
    sink: &connector::TeamsSink<S>,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let name = worker_id();
    let lease = chrono::Duration::from_std(TIMEOUT * 3 * BATCH as u32).unwrap_or(outbox::LEASE);
    let queue = sink.queue_channel();
    let worker = outbox::Worker {
        name: &name,
        platform: Some(Platform::Teams),
        batch: BATCH,
        lease,
        dead_letters_to: Some(queue),
    };
    outbox::drain(store, sink, clock, worker).await
}

/// Starts the Teams outbox worker; returns the inbound route (to merge into serve's router) and the worker task,
/// which ends when `stop` turns true.
pub fn spawn<S: Store + 'static>(
    settings: Settings,
    desk: Arc<Desk<S>>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(Router, tokio::task::JoinHandle<()>)> {
    let settings = Arc::new(settings);
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("deskbot/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let wake = Arc::new(Notify::new());
    let inbound = Inbound::new(desk.clone(), settings.clone(), http.clone(), wake.clone());
    let sink = connector::TeamsSink::new(desk.clone(), settings, http);
    let task = tokio::spawn(async move {
        loop {
            match deliver_due(desk.store(), &sink, clock.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(delivered = n, "teams messages delivered"),
                Err(e) => tracing::error!(error = %e, "teams outbox worker failed; retrying"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    Ok((router(inbound), task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_tenant_and_password_and_hide_the_password() {
        let mut c = TeamsConfig::default();
        assert!(Settings::from_config(&c, None).unwrap().is_none(), "no app id: Teams is off");
        c.app_id = Some("app".into());
        assert!(Settings::from_config(&c, Some("pw".into())).unwrap_err().contains("tenant_id"));
        c.tenant_id = Some("tenant".into());
        assert!(Settings::from_config(&c, None).unwrap_err().contains(PASSWORD_VAR));
        let s = Settings::from_config(&c, Some("hunter2".into())).unwrap().unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        c.login_url = "not a url".into();
        assert!(Settings::from_config(&c, Some("pw".into())).unwrap_err().contains("teams.login_url"));
    }

    #[test]
    fn channel_ids_are_checked_by_config_check() {
        let ok = "[teams.channels]\nhelpdesk = \"19:abc@thread.tacv2\"\n";
        assert!(crate::config::Config::from_parts("f", ok, &[]).is_ok());
        let e = crate::config::Config::from_parts("f", "[teams.channels]\nhelpdesk = \"general\"\n", &[]).unwrap_err();
        assert!(e.0.contains("teams.channels.helpdesk"), "{e}");
    }
}

//! The generic HTTP adapter: any system that can send and receive JSON can talk to deskbot.
//!
//! Intake: `POST /api/v1/messages` with `Authorization: Bearer $DESKBOT_HTTP_TOKEN` and a JSON body
//!
//! ```json
//! {"id": "client-unique-id", "user": {"id": "u42", "name": "Uma"}, "channel": "helpdesk", "thread": null,
//!  "dm": false, "text": "the printer is jammed"}
//! ```
//!
//! with exactly one of `text`, `command` (`"/ticket claim 3"`) or `action` (`"ticket:claim:3"`, a button's action id).
//! The event is handled and committed before the answer: `202 {"status": "accepted"}`, or `200 {"status":
//! "duplicate"}` when the same `id` was already handled (nothing is done again). `400 {"error": …}` for a body that
//! is not valid (nothing stored), `401` without the right token, `413 {"error": …}` over [`BODY_LIMIT`], `503` when
//! the desk is busy or the database fails (retry later). `GET /healthz` answers `200 ok`.
//!
//! Replies go out through the outbox to a callback URL as JSON POSTs ([`Callback`]: `text` as markdown with other
//! people's text escaped, `plain` unescaped, `format` saying which markup `text` is); a non-2xx answer or a timeout
//! is a failed attempt, retried with the outbox's backoff ([`deliver_due`]). The receiver should treat `outbox_id` as an
//! idempotency key: delivery is at least once (a crash between the POST and recording it repeats the POST).

use crate::core::clock::Clock;
use crate::core::desk::{Desk, DeskError, Handled};
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Audience, Body, Button, Envelope, Markup, MessageKind, Outbound};
use crate::outbox;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The largest request body accepted (64 KiB); larger ones get `413`.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest client-supplied `id`.
pub const MAX_ID_LEN: usize = 200;
/// Outbox messages leased per round by the HTTP worker.
pub const BATCH: i64 = 4;

/// Environment variable with the bearer token clients must send.
pub const TOKEN_VAR: &str = "DESKBOT_HTTP_TOKEN";
/// Environment variable with the URL replies are POSTed to.
pub const CALLBACK_URL_VAR: &str = "DESKBOT_HTTP_CALLBACK_URL";
/// Optional bearer token sent to the callback.
pub const CALLBACK_TOKEN_VAR: &str = "DESKBOT_HTTP_CALLBACK_TOKEN";
/// Optional callback timeout in seconds (default 10).
pub const CALLBACK_TIMEOUT_VAR: &str = "DESKBOT_HTTP_CALLBACK_TIMEOUT";

/// A secret compared in constant time and never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl Secret {
    pub fn new(s: &str) -> Self {
        Secret(s.as_bytes().into())
    }
    pub(crate) fn matches(&self, given: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        // Lengths are not secret enough to matter; the bytes are compared without early exit.
        self.0.len() == given.len() && bool::from(self.0.as_ref().ct_eq(given))
    }
    fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
    pub(crate) fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Shared state of the HTTP intake.
pub struct Intake<S> {
    pub desk: Arc<Desk<S>>,
    pub token: Secret,
    /// Notified after each accepted message, so the outbox worker delivers at once.
    pub wake: Arc<tokio::sync::Notify>,
}

impl<S> Clone for Intake<S> {
    fn clone(&self) -> Self {
        Intake { desk: self.desk.clone(), token: self.token.clone(), wake: self.wake.clone() }
    }
}

/// The HTTP routes: `POST /api/v1/messages` and `GET /healthz`.
pub fn router<S: Store + 'static>(intake: Intake<S>) -> Router {
    Router::new()
        .route("/api/v1/messages", post(receive::<S>))
        .route("/api/v1/signals", post(receive_signals::<S>))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(intake)
}

/// The JSON body of `POST /api/v1/messages`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InboundMessage {
    /// Unique per message on the client's side; a second delivery of the same id is a no-op.
    pub id: String,
    pub user: InboundUser,
    pub channel: String,
    #[serde(default)]
    pub thread: Option<String>,
    #[serde(default)]
    pub dm: bool,
    /// The bot was @-mentioned.
    #[serde(default)]
    pub mentioned: bool,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InboundUser {
    pub id: String,
    /// Display name; the id when absent.
    #[serde(default)]
    pub name: Option<String>,
}

impl InboundMessage {
    /// Parses and validates a request body; the error is a reason fit for the client.
    pub fn parse(body: &[u8]) -> Result<InboundMessage, String> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let m: InboundMessage = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            if !e.inner().is_data() {
                format!("invalid JSON: {}", e.inner())
            } else if let Some(field) =
                e.inner().to_string().strip_prefix("missing field `").and_then(|r| r.split('`').next())
            {
                let full = if path == "." { field.to_string() } else { format!("{path}.{field}") };
                format!("field `{full}` is required")
            } else if path == "." {
                format!("the body: {}", e.inner())
            } else {
                format!("field `{path}`: {}", e.inner())
            }
        })?;
        if m.id.trim().is_empty() {
            return Err("field `id`: must not be empty".into());
        }
        if m.id.len() > MAX_ID_LEN {
            return Err(format!("field `id`: longer than {MAX_ID_LEN} bytes"));
        }
        if m.user.id.trim().is_empty() {
            return Err("field `user.id`: must not be empty".into());
        }
        if m.channel.trim().is_empty() {
            return Err("field `channel`: must not be empty".into());
        }
        let given = [m.text.is_some(), m.command.is_some(), m.action.is_some()].iter().filter(|b| **b).count();
        if given != 1 {
            return Err("exactly one of `text`, `command` or `action` is required".into());
        }
        if m.text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err("field `text`: must not be empty".into());
        }
        if let Some(c) = &m.command
            && !c.trim_start().starts_with('/')
        {
            return Err("field `command`: a slash command starts with `/` (e.g. \"/ticket claim 3\")".into());
        }
        if m.action.as_deref().is_some_and(|a| a.trim().is_empty() || a.len() > 100) {
            return Err("field `action`: a button action id of 1 to 100 characters".into());
        }
        Ok(m)
    }

    /// The core's envelope for this message (dedupe key `http:<id>`).
    pub fn envelope(&self) -> Envelope {
        let body = if let Some(text) = &self.text {
            Body::Text { text: text.clone() }
        } else if let Some(cmd) = &self.command {
            let cmd = cmd.trim().trim_start_matches('/');
            let (name, args) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
            Body::Command { name: name.to_string(), args: args.trim().to_string() }
        } else {
            Body::Action { action: self.action.clone().unwrap_or_default() }
        };
        let name = self.user.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| self.user.id.clone());
        Envelope {
            dedupe_key: format!("http:{}", self.id),
            actor: UserRef::new(Platform::Http, self.user.id.clone(), name),
            place: Place {
                channel: self.channel.clone(),
                thread: self.thread.clone().filter(|t| !t.is_empty()),
                message: Some(self.id.clone()),
                dm: self.dm,
            },
            mentioned: self.mentioned,
            body,
        }
    }
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn authorized(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(v) = headers.get(header::AUTHORIZATION) else { return false };
    let v = v.as_bytes();
    let Some(given) = v.strip_prefix(b"Bearer ").or_else(|| v.strip_prefix(b"bearer ")) else { return false };
    token.matches(given)
}

/// `POST /api/v1/signals`: `{"records": [...]}` or a bare array of signal records (see
/// [`crate::core::signals::SignalRecord`]). Good records are stored (idempotent by id), bad ones are listed with
/// their index and reason, and the answer is 200 unless the body is not JSON at all (400).
async fn receive_signals<S: Store + 'static>(
    State(intake): State<Intake<S>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return crate::adapters::alerts::unreadable(r),
    };
    if !authorized(&headers, &intake.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({"error": "missing or wrong bearer token"})),
        )
            .into_response();
    }
    let v: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return json(StatusCode::BAD_REQUEST, serde_json::json!({"error": format!("invalid JSON: {e}")})),
    };
    let items = match v.get("records").unwrap_or(&v).as_array() {
        Some(a) => a.clone(),
        None => {
            let error = "expected an array of records or {\"records\": [...]}";
            return json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": error }));
        }
    };
    let mut good = vec![];
    let mut errors = vec![];
    for (i, item) in items.iter().enumerate() {
        match crate::core::signals::SignalRecord::from_json(item) {
            Ok(r) => good.push(r),
            Err(e) => errors.push(serde_json::json!({"index": i, "id": item.get("id"), "error": e})),
        }
    }
    match intake.desk.store().put_signals(&good).await {
        Ok(new) => json(
            StatusCode::OK,
            serde_json::json!({"accepted": new, "duplicates": good.len() as u64 - new, "errors": errors}),
        ),
        Err(e) => {
            tracing::error!(error = %e, "signals: could not store");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                axum::Json(serde_json::json!({"error": "storage unavailable; retry later"})),
            )
                .into_response()
        }
    }
}

async fn receive<S: Store + 'static>(
    State(intake): State<Intake<S>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return crate::adapters::alerts::unreadable(r),
    };
    if !authorized(&headers, &intake.token) {
        tracing::warn!("http intake: request without a valid bearer token refused");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({"error": "missing or wrong bearer token"})),
        )
            .into_response();
    }
    let m = match InboundMessage::parse(&body) {
        Ok(m) => m,
        Err(reason) => {
            tracing::info!(%reason, "http intake: bad request");
            return json(StatusCode::BAD_REQUEST, serde_json::json!({"error": reason}));
        }
    };
    let env = m.envelope();
    match intake.desk.handle(&env).await {
        Ok(Handled::Done) => {
            tracing::debug!(id = %m.id, "http intake: accepted");
            intake.wake.notify_one();
            json(StatusCode::ACCEPTED, serde_json::json!({"status": "accepted"}))
        }
        Ok(Handled::Duplicate) => {
            tracing::debug!(id = %m.id, "http intake: duplicate");
            json(StatusCode::OK, serde_json::json!({"status": "duplicate"}))
        }
        Err(e) => {
            tracing::error!(id = %m.id, error = %e, "http intake: could not handle message");
            let reason = match e {
                DeskError::Busy(_) => "busy; retry later",
                DeskError::Store(_) => "storage unavailable; retry later",
                // Only reports refuse a future period; intake never asks for one.
                DeskError::FuturePeriod { .. } => "not handled",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                axum::Json(serde_json::json!({"error": reason})),
            )
                .into_response()
        }
    }
}

/// Who a callback is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallbackTo {
    User { id: String, name: String },
    Channel { channel: String },
}

/// The JSON body POSTed to the callback URL for each outbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    /// The outbox row: unique per message, the same on a repeated delivery. Use it as an idempotency key.
    pub outbox_id: i64,
    pub to: CallbackTo,
    pub channel: String,
    pub thread: Option<String>,
    pub dm: bool,
    /// `reply`, `card` (a ticket card for technicians) or `ephemeral` (for the addressee's eyes only).
    pub kind: MessageKind,
    /// How `text` is written: always `markdown` (deskbot's own formatting, such as a runbook's `**bold**`, is
    /// markdown; anything someone else wrote in it is backslash-escaped).
    pub format: Markup,
    /// The message as markdown, with other people's text (titles, requesters' messages and answers) escaped, so a
    /// title cannot make itself bold, a link or a mention (`<!channel>`, `@everyone`) in a receiver that renders it.
    pub text: String,
    /// The same message with nothing escaped, for receivers that show plain text.
    pub plain: String,
    pub buttons: Vec<Button>,
    pub ticket: Option<TicketNo>,
}

impl Callback {
    pub fn new(outbox_id: i64, m: &Outbound) -> Callback {
        Callback {
            outbox_id,
            to: match &m.to {
                Audience::User { user } => CallbackTo::User { id: user.id.clone(), name: user.name.clone() },
                Audience::Channel { channel } => CallbackTo::Channel { channel: channel.clone() },
            },
            channel: m.place.channel.clone(),
            thread: m.place.thread.clone(),
            dm: m.place.dm,
            kind: m.kind,
            format: Markup::Markdown,
            text: Markup::Markdown.render(&m.text),
            plain: crate::core::message::plain(&m.text),
            buttons: m.buttons.clone(),
            ticket: m.ticket,
        }
    }
}

/// Settings of the callback sink.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub url: String,
    pub token: Option<Secret>,
    /// Per-POST timeout; a timeout is a failed attempt.
    pub timeout: Duration,
}

impl CallbackConfig {
    /// Reads `DESKBOT_HTTP_CALLBACK_URL`, `DESKBOT_HTTP_CALLBACK_TOKEN`, `DESKBOT_HTTP_CALLBACK_TIMEOUT`.
    /// `None` when no callback URL is set.
    pub fn from_env() -> anyhow::Result<Option<CallbackConfig>> {
        let Some(url) = std::env::var(CALLBACK_URL_VAR).ok().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let parsed = reqwest::Url::parse(&url).map_err(|e| anyhow::anyhow!("{CALLBACK_URL_VAR}: not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("{CALLBACK_URL_VAR}: use an http:// or https:// URL");
        }
        let timeout = match std::env::var(CALLBACK_TIMEOUT_VAR) {
            Ok(s) => {
                let secs: f64 =
                    s.trim().parse().ok().filter(|s: &f64| *s > 0.0 && *s <= 300.0).ok_or_else(|| {
                        anyhow::anyhow!("{CALLBACK_TIMEOUT_VAR}: seconds between 0 and 300, not `{s}`")
                    })?;
                Duration::from_secs_f64(secs)
            }
            Err(_) => Duration::from_secs(10),
        };
        let token = std::env::var(CALLBACK_TOKEN_VAR).ok().filter(|t| !t.is_empty()).map(|t| Secret::new(&t));
        Ok(Some(CallbackConfig { url, token, timeout }))
    }

    /// How long the worker holds leased messages: enough for a whole batch to time out, plus a margin. After a
    /// crash, messages leased by the dead process wait this long before they are delivered again.
    pub fn lease(&self) -> chrono::Duration {
        let per = chrono::Duration::from_std(self.timeout).unwrap_or(chrono::Duration::seconds(10));
        per * (BATCH as i32) + chrono::Duration::seconds(5)
    }
}

/// POSTs outbound messages to the callback URL.
///
/// This is not a [`crate::outbox::Deliver`] sink: that trait gets the message without its outbox id, and the
/// callback body carries `outbox_id` as the receiver's idempotency key. [`deliver_due`] drives it instead.
pub struct CallbackSink {
    client: reqwest::Client,
    config: CallbackConfig,
    /// The queue channel told about dead letters (see [`outbox::Worker::dead_letters_to`]).
    queue: Option<String>,
}

impl CallbackSink {
    pub fn new(config: CallbackConfig) -> anyhow::Result<CallbackSink> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("deskbot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(CallbackSink { client, config, queue: None })
    }

    /// The same sink, telling `queue` about dead letters.
    pub fn telling(self, queue: &str) -> Self {
        CallbackSink { queue: Some(queue.to_string()), ..self }
    }

    /// POSTs one message. A non-2xx answer, a timeout or a connection failure is an error (retried later).
    pub async fn post(&self, outbox_id: i64, m: &Outbound) -> Result<(), crate::outbox::Failure> {
        let body = Callback::new(outbox_id, m);
        let mut req =
            self.client.post(&self.config.url).header("Idempotency-Key", format!("deskbot-outbox-{outbox_id}"));
        if let Some(t) = &self.config.token {
            req = req.bearer_auth(t.expose());
        }
        // Errors are shown without the URL (its query may carry a key).
        match req.json(&body).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let wait = r.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                let error = format!("callback answered {}", r.status());
                Err(match wait.and_then(crate::outbox::parse_retry_after) {
                    Some(wait) => crate::outbox::Failure::rate_limited(error, wait),
                    None => error.into(),
                })
            }
            Err(e) if e.is_timeout() => Err(String::from("callback timed out").into()),
            Err(e) if e.is_connect() => Err(String::from("cannot connect to the callback").into()),
            Err(e) => Err(format!("callback request failed: {}", e.without_url()).into()),
        }
    }
}

/// This process's outbox worker name.
fn worker_id() -> String {
    format!("http-{}", std::process::id())
}

/// Delivers every due HTTP reply through `sink`, oldest first per conversation, in batches of [`BATCH`]; returns
/// how many were delivered; failed attempts are retried after [`outbox::backoff`]. The lease is the sink's own
/// ([`CallbackConfig::lease`]), so a crashed process's messages go out again within that bound.
pub async fn deliver_due<S: Store>(store: &S, sink: &CallbackSink, clock: &dyn Clock) -> Result<usize, StoreError> {
    let name = worker_id();
    let worker = outbox::Worker {
        name: &name,
        platform: Some(Platform::Http),
        batch: BATCH,
        lease: sink.config.lease(),
        dead_letters_to: sink.queue.as_deref(),
    };
    outbox::drain(store, sink, clock, worker).await
}

impl crate::outbox::Deliver for CallbackSink {
    async fn deliver(&self, item: &crate::store::OutboxItem) -> Result<(), crate::outbox::Failure> {
        self.post(item.id, &item.message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_command_and_action() {
        let m =
            InboundMessage::parse(br#"{"id":"a1","user":{"id":"u1","name":"Uma"},"channel":"helpdesk","text":"hi"}"#)
                .unwrap();
        let e = m.envelope();
        assert_eq!(e.dedupe_key, "http:a1");
        assert_eq!(e.actor, UserRef::new(Platform::Http, "u1", "Uma"));
        assert_eq!(e.body, Body::Text { text: "hi".into() });
        assert_eq!(e.place.message.as_deref(), Some("a1"));
        let m = InboundMessage::parse(br#"{"id":"a2","user":{"id":"u1"},"channel":"c","command":"/ticket claim 3"}"#)
            .unwrap();
        assert_eq!(m.envelope().body, Body::Command { name: "ticket".into(), args: "claim 3".into() });
        assert_eq!(m.envelope().actor.name, "u1");
        let m = InboundMessage::parse(br#"{"id":"a3","user":{"id":"u1"},"channel":"c","action":"ticket:claim:3"}"#)
            .unwrap();
        assert_eq!(m.envelope().body, Body::Action { action: "ticket:claim:3".into() });
    }

    #[test]
    fn rejects_bad_bodies_with_a_reason() {
        let e = InboundMessage::parse(b"{not json").unwrap_err();
        assert!(e.contains("JSON"), "{e}");
        let e = InboundMessage::parse(br#"{"id":"a","channel":"c","text":"x"}"#).unwrap_err();
        assert!(e.contains("user"), "{e}");
        let e = InboundMessage::parse(br#"{"id":"a","user":{"id":"u"},"channel":"c"}"#).unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
        let e = InboundMessage::parse(br#"{"id":"a","user":{"id":"u"},"channel":"c","text":"x","action":"y"}"#)
            .unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
        let e = InboundMessage::parse(br#"{"id":"","user":{"id":"u"},"channel":"c","text":"x"}"#).unwrap_err();
        assert!(e.contains("`id`"), "{e}");
        let e =
            InboundMessage::parse(br#"{"id":"a","user":{"id":"u"},"channel":"c","text":"x","dm":"no"}"#).unwrap_err();
        assert!(e.contains("dm"), "{e}");
    }

    #[test]
    fn secret_compare_and_debug() {
        let s = Secret::new("abc");
        assert!(s.matches(b"abc"));
        assert!(!s.matches(b"abd"));
        assert!(!s.matches(b"ab"));
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}

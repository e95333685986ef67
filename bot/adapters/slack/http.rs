//! The HTTP Events API endpoints, merged into `deskbot serve`'s router when `slack.mode = "http"`:
//!
//! - `POST /slack/events`: event callbacks and `url_verification` (the challenge is echoed);
//! - `POST /slack/commands`: `/ticket` and `/helpdesk`;
//! - `POST /slack/interactivity`: button presses and modal submissions.
//!
//! Every request must carry a valid signature made within the last five minutes (`401` otherwise, also for an
//! exact replay). Answers come within Slack's 3 seconds ([`super::ACK_WAIT`]); a failure before that answers
//! `500` to events so Slack retries (`X-Slack-Retry-Num`), and the retry is deduplicated.

use super::signature::{Rejected, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};
use super::{Accepted, Slack, inbound};
use crate::store::Store;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest request body accepted (Slack's payloads are far smaller).
pub const BODY_LIMIT: usize = 1024 * 1024;

struct Endpoint<S> {
    slack: Arc<Slack<S>>,
    verifier: Arc<Verifier>,
}

impl<S> Clone for Endpoint<S> {
    fn clone(&self) -> Self {
        Endpoint { slack: self.slack.clone(), verifier: self.verifier.clone() }
    }
}

/// The three Slack routes.
pub fn router<S: Store + 'static>(slack: Arc<Slack<S>>, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/slack/events", post(events::<S>))
        .route("/slack/commands", post(commands::<S>))
        .route("/slack/interactivity", post(interactivity::<S>))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Endpoint { slack, verifier })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A refusal: status and reason.
type Refusal = (StatusCode, String);

fn verify<S>(ep: &Endpoint<S>, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    ep.verifier.verify(h(TIMESTAMP_HEADER), h(SIGNATURE_HEADER), body, unix_now()).map_err(|e: Rejected| {
        tracing::warn!(reason = %e, "slack: request refused");
        (StatusCode::UNAUTHORIZED, e.to_string())
    })
}

fn form(body: &[u8]) -> Result<HashMap<String, String>, Refusal> {
    serde_urlencoded::from_bytes(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("not a form body: {e}")))
}

async fn events<S: Store + 'static>(State(ep): State<Endpoint<S>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verify(&ep, &headers, &body) {
        return r.into_response();
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")).into_response(),
    };
    if let Some(n) = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()) {
        let reason = headers.get("x-slack-retry-reason").and_then(|v| v.to_str().ok()).unwrap_or("");
        tracing::info!(retry = n, reason, event_id = v.get("event_id").and_then(|e| e.as_str()), "slack: redelivery");
    }
    match ep.slack.translate_event(&v).await {
        inbound::Inbound::Challenge(c) => axum::Json(serde_json::json!({ "challenge": c })).into_response(),
        i => match ep.slack.accept(i).await {
            Accepted::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
            _ => StatusCode::OK.into_response(),
        },
    }
}

async fn commands<S: Store + 'static>(State(ep): State<Endpoint<S>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verify(&ep, &headers, &body) {
        return r.into_response();
    }
    let fields = match form(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let v = serde_json::to_value(fields).unwrap_or_default();
    match ep.slack.accept(inbound::command(&v, ep.slack.channels())).await {
        // Slash commands are not retried by Slack: say so instead of failing silently.
        Accepted::Failed(_) => axum::Json(serde_json::json!({
            "response_type": "ephemeral",
            "text": "deskbot could not handle that just now; please try again in a minute."
        }))
        .into_response(),
        // The answer comes through the outbox (in the channel or as an ephemeral notice).
        _ => StatusCode::OK.into_response(),
    }
}

async fn interactivity<S: Store + 'static>(State(ep): State<Endpoint<S>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verify(&ep, &headers, &body) {
        return r.into_response();
    }
    let fields = match form(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(payload) = fields.get("payload").and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return (StatusCode::BAD_REQUEST, "missing or invalid payload").into_response();
    };
    let _ = ep.slack.accept(inbound::interaction(&payload, ep.slack.channels())).await;
    // An empty 200 acknowledges a button and closes a submitted modal.
    StatusCode::OK.into_response()
}

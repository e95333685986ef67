//! The optional HTTP interactions endpoint: `POST /discord/interactions`, for when the application's
//! "Interactions Endpoint URL" is set in the Developer Portal (Discord then stops sending interactions over the
//! gateway; messages still come over the gateway).
//!
//! Each request is checked before anything else: the Ed25519 signature (`X-Signature-Ed25519`) over
//! `X-Signature-Timestamp ‖ body` with the application's public key, and the timestamp within
//! [`MAX_SKEW_SECS`] of now (a replayed request is refused even with a valid signature). Failures answer `401`
//! (Discord probes the endpoint with bad signatures and expects exactly that). PING → PONG; everything else gets
//! its immediate answer in the HTTP response and is handed to the desk afterwards.

use super::Discord;
use crate::store::Store;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use serenity::all::Interaction;
use serenity::interactions_endpoint::Verifier;
use std::sync::Arc;

/// Largest timestamp difference accepted, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// Interaction payloads are small; anything larger is refused.
const BODY_LIMIT: usize = 256 * 1024;

/// A verifier for a hex public key, or `None` when it is not a valid key.
pub fn verifier(public_key_hex: &str) -> Option<Verifier> {
    let k = public_key_hex.trim();
    if k.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(k.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Verifier::try_new(bytes).ok()
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    MissingHeaders,
    BadSignature,
    /// The timestamp is not a number or too far from now.
    Stale,
}

/// Checks a request's signature and timestamp at `now` (unix seconds).
pub fn check(verifier: &Verifier, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Refused> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (get("x-signature-ed25519"), get("x-signature-timestamp")) else {
        return Err(Refused::MissingHeaders);
    };
    verifier.verify(sig, ts, body).map_err(|()| Refused::BadSignature)?;
    let at: i64 = ts.trim().parse().map_err(|_| Refused::Stale)?;
    if (now - at).abs() > MAX_SKEW_SECS {
        return Err(Refused::Stale);
    }
    Ok(())
}

/// Reads a verified interaction body: `None` for a PING. Fields deskbot does not use and that documentation samples,
/// older API versions or partial objects (a member in a DM, a component without its message) leave out are filled
/// with neutral defaults first, so an interaction is understood from the fields deskbot needs: its id, token,
/// channel, who (member or user) and data.
pub fn parse(body: &[u8]) -> Result<Option<Interaction>, String> {
    let mut v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    if v["type"].as_u64() == Some(1) {
        return Ok(None);
    }
    normalise(&mut v);
    serde_json::from_value(v).map(Some).map_err(|e| e.to_string())
}

/// Sets `key` to `value` where it is absent (or null).
fn fill(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        let slot = o.entry(key).or_insert(Value::Null);
        if slot.is_null() {
            *slot = value;
        }
    }
}

fn normalise_user(u: &mut Value) {
    fill(u, "username", json!(""));
}

fn fill_sub_options(options: &mut Value) {
    for o in options.as_array_mut().into_iter().flatten() {
        if matches!(o["type"].as_u64(), Some(1 | 2)) {
            fill(o, "options", json!([]));
            fill_sub_options(&mut o["options"]);
        }
    }
}

fn normalise(v: &mut Value) {
    let kind = v["type"].as_u64().unwrap_or(0);
    fill(v, "application_id", json!("1"));
    fill(v, "version", json!(1));
    fill(v, "locale", json!("en-US"));
    fill(v, "entitlements", json!([]));
    fill(v, "attachment_size_limit", json!(0));
    let channel = v["channel"]["id"].clone();
    if channel.is_string() {
        fill(v, "channel_id", channel);
    }
    if v["member"].is_object() {
        let m = &mut v["member"];
        for (k, d) in [("roles", json!([])), ("deaf", json!(false)), ("mute", json!(false)), ("flags", json!(0))] {
            fill(m, k, d);
        }
        normalise_user(&mut m["user"]);
    }
    if v["user"].is_object() {
        normalise_user(&mut v["user"]);
    }
    let channel_id = v["channel_id"].clone();
    let data = &mut v["data"];
    match kind {
        // APPLICATION_COMMAND and its autocomplete: a chat-input command unless told otherwise; a subcommand
        // (group) with no arguments may come without its `options`.
        2 | 4 => {
            fill(data, "type", json!(1));
            fill_sub_options(&mut data["options"]);
        }
        // MESSAGE_COMPONENT: a button unless it carries select values; the message it was on may be partial.
        3 => {
            let select = data["values"].is_array();
            fill(data, "component_type", json!(if select { 3 } else { 2 }));
            if select {
                fill(data, "values", json!([]));
            }
            if !v["message"].is_object() {
                v["message"] = json!({});
            }
            let m = &mut v["message"];
            let defaults = [
                ("id", json!("1")),
                ("channel_id", channel_id),
                ("author", json!({"id": "1", "username": ""})),
                ("content", json!("")),
                ("timestamp", json!("1970-01-01T00:00:00+00:00")),
                ("tts", json!(false)),
                ("mention_everyone", json!(false)),
                ("mentions", json!([])),
                ("mention_roles", json!([])),
                ("attachments", json!([])),
                ("embeds", json!([])),
                ("type", json!(0)),
            ];
            for (k, d) in defaults {
                fill(m, k, d);
            }
            normalise_user(&mut m["author"]);
        }
        _ => {}
    }
}

struct Endpoint<S> {
    discord: Arc<Discord<S>>,
    verifier: Verifier,
}

/// The route `POST /discord/interactions`, to merge into serve's router.
pub fn router<S: Store + 'static>(discord: Arc<Discord<S>>, verifier: Verifier) -> Router {
    Router::new()
        .route("/discord/interactions", post(receive::<S>))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Arc::new(Endpoint { discord, verifier }))
}

async fn receive<S: Store + 'static>(State(ep): State<Arc<Endpoint<S>>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = ep.discord.desk.now().timestamp();
    if let Err(why) = check(&ep.verifier, &headers, &body, now) {
        tracing::debug!(?why, "Discord interaction refused");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction = match parse(&body) {
        Ok(Some(i)) => i,
        // A signed PING is answered whatever else it carries (or lacks).
        Ok(None) => return ([(header::CONTENT_TYPE, "application/json")], r#"{"type":1}"#).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Discord interaction not understood");
            return (StatusCode::BAD_REQUEST, "unknown interaction").into_response();
        }
    };
    let answer = match ep.discord.on_interaction(&interaction).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "Discord interaction failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    if let Some(work) = answer.work {
        let discord = ep.discord.clone();
        tokio::spawn(async move {
            if let Err(e) = discord.finish(work).await {
                tracing::error!(error = %e, "Discord interaction could not be handled");
            }
        });
    }
    match serde_json::to_vec(&answer.response) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

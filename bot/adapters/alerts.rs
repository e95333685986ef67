//! Monitoring alert intake: `POST /api/v1/alerts/alertmanager` (Prometheus Alertmanager's webhook, version 4,
//! exactly as Alertmanager sends it) and `POST /api/v1/alerts` (the small generic JSON in
//! [`crate::core::alerts`], for RMM tools and scripts).
//!
//! Authentication, from the environment: `Authorization: Bearer $DESKBOT_ALERTS_TOKEN` (default: the HTTP intake's
//! `DESKBOT_HTTP_TOKEN`; Alertmanager sends it with `http_config.authorization.credentials`), or, when
//! `DESKBOT_ALERTS_HMAC_SECRET` is set, an HMAC-SHA256 signature: `X-Deskbot-Timestamp: <unix seconds>` and
//! `X-Deskbot-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>`, at most five minutes old.
//!
//! Answers: `200` with what happened (`opened`, `updated`, `resolved`, `reopened` ticket numbers, `folded`,
//! `unchanged`, `duplicate`); `400 {"error": …}` for a payload that is not valid (nothing changes); `401` without
//! valid credentials; `413` over [`BODY_LIMIT`]; `503` when storage fails (Alertmanager retries).
//! A redelivered Alertmanager notification (same body) is recognised and changes nothing; generic senders may
//! send an `Idempotency-Key` header for the same effect.

use crate::adapters::http::Secret;
use crate::core::alerts::{self, AlertGroup};
use crate::core::desk::{Desk, DeskError};
use crate::store::Store;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{KeyInit, Mac};
use std::sync::Arc;

/// Bearer token for the alert routes (falls back to the HTTP intake's token).
pub const TOKEN_VAR: &str = "DESKBOT_ALERTS_TOKEN";
/// Secret for HMAC-signed alert requests.
pub const HMAC_VAR: &str = "DESKBOT_ALERTS_HMAC_SECRET";
/// The largest alert request (Alertmanager batches a whole group into one request).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// How old a signed request may be.
const SIGNATURE_WINDOW_SECS: i64 = 300;

/// Credentials the alert routes accept.
#[derive(Clone, Debug)]
pub struct AlertAuth {
    pub token: Secret,
    pub hmac: Option<Secret>,
}

impl AlertAuth {
    /// From `DESKBOT_ALERTS_TOKEN` (else `fallback`, the HTTP token) and `DESKBOT_ALERTS_HMAC_SECRET`.
    pub fn from_env(fallback: &Secret) -> AlertAuth {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        AlertAuth {
            token: var(TOKEN_VAR).map(|t| Secret::new(&t)).unwrap_or_else(|| fallback.clone()),
            hmac: var(HMAC_VAR).map(|s| Secret::new(&s)),
        }
    }
}

/// Shared state of the alert routes.
pub struct AlertIntake<S> {
    pub desk: Arc<Desk<S>>,
    pub auth: AlertAuth,
    /// Notified after each change, so outbox workers deliver at once.
    pub wake: Arc<tokio::sync::Notify>,
}

impl<S> Clone for AlertIntake<S> {
    fn clone(&self) -> Self {
        AlertIntake { desk: self.desk.clone(), auth: self.auth.clone(), wake: self.wake.clone() }
    }
}

/// The alert routes.
pub fn router<S: Store + 'static>(intake: AlertIntake<S>) -> Router {
    Router::new()
        .route("/api/v1/alerts/alertmanager", post(alertmanager::<S>))
        .route("/api/v1/alerts", post(generic::<S>))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(intake)
}

/// HMAC-SHA256 of `"<timestamp>.<body>"`, as `sha256=<hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn authorized(auth: &AlertAuth, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| auth.token.matches(t.trim().as_bytes()));
    if bearer {
        return true;
    }
    let Some(secret) = &auth.hmac else { return false };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let (Some(ts), Some(sig)) = (header("x-deskbot-timestamp"), header("x-deskbot-signature")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else { return false };
    if (now - ts).abs() > SIGNATURE_WINDOW_SECS {
        return false;
    }
    let want = sign(secret.expose_bytes(), ts, body);
    Secret::new(&want).matches(sig.as_bytes())
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({"error": "missing or wrong credentials"})),
    )
        .into_response()
}

async fn alertmanager<S: Store + 'static>(
    State(intake): State<AlertIntake<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&intake.auth, &headers, &body, intake.desk.now().timestamp()) {
        tracing::warn!("alerts: Alertmanager request without valid credentials refused");
        return unauthorized();
    }
    let group = match alerts::parse_alertmanager(&body) {
        Ok(g) => g,
        Err(reason) => {
            tracing::info!(%reason, "alerts: bad Alertmanager payload");
            return json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": reason }));
        }
    };
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&body).iter().take(16).map(|b| format!("{b:02x}")).collect();
    handle(&intake, &[group], Some(format!("alertmanager:{digest}"))).await
}

async fn generic<S: Store + 'static>(
    State(intake): State<AlertIntake<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&intake.auth, &headers, &body, intake.desk.now().timestamp()) {
        tracing::warn!("alerts: request without valid credentials refused");
        return unauthorized();
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).filter(|k| !k.is_empty());
    if key.is_some_and(|k| k.len() > 200) {
        return json(StatusCode::BAD_REQUEST, serde_json::json!({"error": "Idempotency-Key: at most 200 characters"}));
    }
    let groups = match alerts::parse_generic(&body) {
        Ok(g) => g,
        Err(reason) => {
            tracing::info!(%reason, "alerts: bad generic alert");
            return json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": reason }));
        }
    };
    handle(&intake, &groups, key.map(|k| format!("alerts:{k}"))).await
}

async fn handle<S: Store + 'static>(intake: &AlertIntake<S>, groups: &[AlertGroup], key: Option<String>) -> Response {
    match intake.desk.alerts(groups, key.as_deref()).await {
        Ok(out) => {
            tracing::info!(
                opened = out.opened.len(),
                updated = out.updated.len(),
                resolved = out.resolved.len(),
                reopened = out.reopened.len(),
                folded = out.folded,
                duplicate = out.duplicate,
                "alerts handled"
            );
            intake.wake.notify_one();
            json(StatusCode::OK, serde_json::to_value(&out).unwrap_or_default())
        }
        Err(e) => {
            tracing::error!(error = %e, "alerts: could not handle");
            let reason = match e {
                DeskError::Busy(_) => "busy; retry later",
                DeskError::Store(_) => "storage unavailable; retry later",
                // Only reports refuse a future period; intake never asks for one.
                DeskError::FuturePeriod { .. } => "not handled",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                axum::Json(serde_json::json!({"error": reason})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_or_fresh_signature() {
        let auth = AlertAuth { token: Secret::new("tok"), hmac: Some(Secret::new("shh")) };
        let body = br#"{"key":"a","title":"A"}"#;
        let mut h = HeaderMap::new();
        assert!(!authorized(&auth, &h, body, 1000));
        h.insert(header::AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert!(authorized(&auth, &h, body, 1000));
        h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert!(!authorized(&auth, &h, body, 1000));

        let mut h = HeaderMap::new();
        h.insert("x-deskbot-timestamp", "1000".parse().unwrap());
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        assert!(authorized(&auth, &h, body, 1100));
        assert!(!authorized(&auth, &h, body, 1000 + SIGNATURE_WINDOW_SECS + 1), "stale");
        assert!(!authorized(&auth, &h, br#"{"key":"b","title":"A"}"#, 1100), "other body");
        h.insert("x-deskbot-signature", sign(b"other", 1000, body).parse().unwrap());
        assert!(!authorized(&auth, &h, body, 1100), "wrong secret");
        let no_hmac = AlertAuth { token: Secret::new("tok"), hmac: None };
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        assert!(!authorized(&no_hmac, &h, body, 1100), "signatures only count when a secret is configured");
    }
}

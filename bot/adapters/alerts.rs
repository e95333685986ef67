//! Monitoring alert intake: `POST /api/v1/alerts/alertmanager` (Prometheus Alertmanager's webhook, version 4,
//! exactly as Alertmanager sends it) and `POST /api/v1/alerts` (the small generic JSON in
//! [`crate::core::alerts`], for RMM tools and scripts).
//!
//! Authentication, from the environment: `Authorization: Bearer $DESKBOT_ALERTS_TOKEN` (default: the HTTP intake's
//! `DESKBOT_HTTP_TOKEN`; Alertmanager sends it with `http_config.authorization.credentials`), or, when
//! `DESKBOT_ALERTS_HMAC_SECRET` is set, an HMAC-SHA256 signature: `X-Deskbot-Timestamp: <unix seconds>` and
//! `X-Deskbot-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>`, at most five minutes old and used
//! once (a signed request sent again is refused with `409`). Bodies must be JSON (`415` otherwise).
//!
//! Answers: `200` with what happened (`opened`, `updated`, `resolved`, `reopened` ticket numbers, `folded`,
//! `unchanged`, `duplicate`); `400 {"error": …}` for a payload that is not valid (nothing changes); `401` without
//! valid credentials; `413` over [`BODY_LIMIT`]; `503` when storage fails (Alertmanager retries).
//! A redelivered Alertmanager notification (same body) is recognised and changes nothing; generic senders may
//! send an `Idempotency-Key` header for the same effect.

use crate::adapters::http::Secret;
use crate::core::alerts::{self, AlertGroup};
use crate::core::desk::{Desk, DeskError};
use crate::store::{Commit, Store};
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

/// How a request proved who sent it.
#[derive(Debug, PartialEq)]
enum Credential {
    Bearer,
    /// A fresh HMAC signature; its value is the request's one-time key (a replay carries the same one).
    Signed(String),
}

fn authorized(auth: &AlertAuth, headers: &HeaderMap, body: &[u8], now: i64) -> Option<Credential> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| auth.token.matches(t.trim().as_bytes()));
    if bearer {
        return Some(Credential::Bearer);
    }
    let secret = auth.hmac.as_ref()?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let (ts, sig) = (header("x-deskbot-timestamp")?, header("x-deskbot-signature")?);
    let ts = ts.parse::<i64>().ok()?;
    if (now - ts).abs() > SIGNATURE_WINDOW_SECS {
        return None;
    }
    let want = sign(secret.expose_bytes(), ts, body);
    Secret::new(&want).matches(sig.as_bytes()).then_some(Credential::Signed(want))
}

/// True for `application/json` and `application/<anything>+json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || mime.strip_prefix("application/").is_some_and(|s| s.ends_with("+json"))
}

/// The checks every alert request passes before its body is read as alerts: credentials (`401`), a JSON content
/// type (`415`), and for a signed request a signature not used before (`409`: a captured request sent again).
/// Gives the key that marks a signed request's signature used.
async fn admit<S: Store + 'static>(
    intake: &AlertIntake<S>,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> Result<Option<String>, Response> {
    let Some(cred) = authorized(&intake.auth, headers, body, intake.desk.now().timestamp()) else {
        tracing::warn!("alerts: {what} request without valid credentials refused");
        return Err(unauthorized());
    };
    if !is_json(headers) {
        let got = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
        let got: String = got.chars().take(100).collect();
        return Err(json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            serde_json::json!({"error": format!("Content-Type must be application/json (got {got})")}),
        ));
    }
    let Credential::Signed(sig) = cred else { return Ok(None) };
    let key = format!("alerts:signature:{}", sig.trim_start_matches("sha256="));
    match intake.desk.store().seen(&key).await {
        Ok(false) => Ok(Some(key)),
        Ok(true) => {
            tracing::warn!("alerts: {what} request with a signature already used refused (a replay?)");
            Err(json(
                StatusCode::CONFLICT,
                serde_json::json!({"error": "this signature was already used: sign each request with its own \
                                             timestamp (a request that was answered 200 needs no resending)"}),
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "alerts: could not check the signature");
            Err(unavailable("storage unavailable; retry later"))
        }
    }
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
    let signature = match admit(&intake, &headers, &body, "Alertmanager").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let group = match alerts::parse_alertmanager(&body) {
        Ok(g) => g,
        Err(reason) => {
            tracing::info!(%reason, "alerts: bad Alertmanager payload");
            return json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": reason }));
        }
    };
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&body).iter().take(16).map(|b| format!("{b:02x}")).collect();
    handle(&intake, &[group], Some(format!("alertmanager:{digest}")), signature).await
}

async fn generic<S: Store + 'static>(
    State(intake): State<AlertIntake<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = match admit(&intake, &headers, &body, "generic").await {
        Ok(s) => s,
        Err(r) => return r,
    };
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
    // A signed request without an Idempotency-Key is identified by its signature.
    let key = key.map(|k| format!("alerts:{k}")).or_else(|| signature.clone());
    handle(&intake, &groups, key, signature).await
}

/// Handles the groups with `key` as the commit's dedupe key; `signature` (the key marking a signed request's
/// signature used) is recorded too, so that the same signed request sent again is refused.
async fn handle<S: Store + 'static>(
    intake: &AlertIntake<S>,
    groups: &[AlertGroup],
    key: Option<String>,
    signature: Option<String>,
) -> Response {
    match intake.desk.alerts(groups, key.as_deref()).await {
        Ok(out) => {
            if let Some(sig) = signature.filter(|s| Some(s) != key.as_ref()) {
                // Written after the change: a request that failed may be retried with the same signature. (A crash
                // in between leaves that one signature usable again until it goes stale.)
                let c = Commit { dedupe_key: Some(sig), at: Some(intake.desk.now()), ..Commit::default() };
                if let Err(e) = intake.desk.store().commit(c).await {
                    tracing::warn!(error = %e, "alerts: could not record a used signature");
                }
            }
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
            unavailable(match e {
                DeskError::Busy(_) => "busy; retry later",
                DeskError::Store(_) => "storage unavailable; retry later",
                // Only reports refuse a future period; intake never asks for one.
                DeskError::FuturePeriod { .. } => "not handled",
            })
        }
    }
}

fn unavailable(reason: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], axum::Json(serde_json::json!({"error": reason})))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_or_fresh_signature() {
        let auth = AlertAuth { token: Secret::new("tok"), hmac: Some(Secret::new("shh")) };
        let body = br#"{"key":"a","title":"A"}"#;
        let mut h = HeaderMap::new();
        assert_eq!(authorized(&auth, &h, body, 1000), None);
        h.insert(header::AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert_eq!(authorized(&auth, &h, body, 1000), Some(Credential::Bearer));
        h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(authorized(&auth, &h, body, 1000), None);

        let mut h = HeaderMap::new();
        h.insert("x-deskbot-timestamp", "1000".parse().unwrap());
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        assert_eq!(authorized(&auth, &h, body, 1100), Some(Credential::Signed(sign(b"shh", 1000, body))));
        assert_eq!(authorized(&auth, &h, body, 1000 + SIGNATURE_WINDOW_SECS + 1), None, "stale");
        assert_eq!(authorized(&auth, &h, br#"{"key":"b","title":"A"}"#, 1100), None, "other body");
        h.insert("x-deskbot-signature", sign(b"other", 1000, body).parse().unwrap());
        assert_eq!(authorized(&auth, &h, body, 1100), None, "wrong secret");
        let no_hmac = AlertAuth { token: Secret::new("tok"), hmac: None };
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        assert_eq!(authorized(&no_hmac, &h, body, 1100), None, "signatures only count when a secret is configured");
    }

    #[test]
    fn only_json_content_types() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/vnd.rmm+json"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonp"));
        assert!(!is_json(&HeaderMap::new()), "no content type");
    }
}

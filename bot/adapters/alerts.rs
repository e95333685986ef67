//! Monitoring alert intake: `POST /api/v1/alerts/alertmanager` (Prometheus Alertmanager's webhook, version 4,
//! exactly as Alertmanager sends it) and `POST /api/v1/alerts` (the small generic JSON in
//! [`crate::core::alerts`], for RMM tools and scripts).
//!
//! Authentication, from the environment: `Authorization: Bearer $DESKBOT_ALERTS_TOKEN` (default: the HTTP intake's
//! `DESKBOT_HTTP_TOKEN`; Alertmanager sends it with `http_config.authorization.credentials`), or, when
//! `DESKBOT_ALERTS_HMAC_SECRET` is set, an HMAC-SHA256 signature: `X-Deskbot-Timestamp: <unix seconds>` and
//! `X-Deskbot-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>`, at most five minutes old and used
//! once (a signed request sent again is refused with `409`). A request that carries a signature is judged by it
//! alone (a bad one is `401`, whatever token comes with it). With the secret set, the generic route takes signed
//! requests only; Alertmanager cannot sign, so its route still takes the bearer token. Bodies must be JSON (`415`
//! otherwise).
//!
//! Answers: `200` with what happened (`opened`, `updated`, `resolved`, `reopened` ticket numbers, `folded`,
//! `unchanged`, `duplicate`); `400 {"error": …}` for a payload that is not valid (nothing changes); `401` without
//! valid credentials; `413 {"error": …}` over [`BODY_LIMIT`]; `422 {"error": …}` for an `Idempotency-Key` used
//! before with another body (nothing changes); `503` when storage fails (Alertmanager retries).
//! An Alertmanager notification identical to one handled in the last five minutes is a redelivery and changes
//! nothing (later, the same body is Alertmanager's repeat of the group); generic senders may send an
//! `Idempotency-Key` header for the same effect, kept without time limit.

use crate::adapters::http::Secret;
use crate::core::alerts;
use crate::core::desk::{Desk, DeskError};
use crate::store::{Commit, Store};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
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

/// Who may call a route: the generic route takes only signed requests once a secret is set; Alertmanager's,
/// which cannot sign, takes the bearer token whatever is set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Route {
    Alertmanager,
    Generic,
}

/// The request's credential, or why it has none. A request carrying a signature is judged by the signature alone.
fn authorized(
    auth: &AlertAuth,
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Credential, &'static str> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(sig) = header("x-deskbot-signature") {
        let Some(secret) = auth.hmac.as_ref() else {
            return Err("X-Deskbot-Signature sent, but no DESKBOT_ALERTS_HMAC_SECRET is set to check it");
        };
        let ts =
            header("x-deskbot-timestamp").and_then(|t| t.parse::<i64>().ok()).ok_or("missing X-Deskbot-Timestamp")?;
        if (now - ts).abs() > SIGNATURE_WINDOW_SECS {
            return Err("signature timestamp more than five minutes from now");
        }
        let want = sign(secret.expose_bytes(), ts, body);
        return if Secret::new(&want).matches(sig.as_bytes()) {
            Ok(Credential::Signed(want))
        } else {
            Err("wrong signature")
        };
    }
    if auth.hmac.is_some() && route == Route::Generic {
        return Err("signed requests only (DESKBOT_ALERTS_HMAC_SECRET is set): send X-Deskbot-Timestamp and \
                    X-Deskbot-Signature");
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| auth.token.matches(t.trim().as_bytes()));
    if bearer { Ok(Credential::Bearer) } else { Err("missing or wrong credentials") }
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
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<String>, Response> {
    let what = match route {
        Route::Alertmanager => "Alertmanager",
        Route::Generic => "generic",
    };
    let cred = match authorized(&intake.auth, route, headers, body, intake.desk.now().timestamp()) {
        Ok(c) => c,
        Err(why) => {
            tracing::warn!(%why, "alerts: {what} request without valid credentials refused");
            return Err(unauthorized(why));
        }
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

fn unauthorized(why: &str) -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], axum::Json(serde_json::json!({"error": why})))
        .into_response()
}

/// The answer for a body that could not be read (`413` over the limit), as JSON like every other answer.
pub(crate) fn unreadable(r: BytesRejection) -> Response {
    let status = r.status();
    let error =
        if status == StatusCode::PAYLOAD_TOO_LARGE { "request body too large".to_string() } else { r.body_text() };
    json(status, serde_json::json!({ "error": error }))
}

/// A short digest of a request body.
fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

async fn alertmanager<S: Store + 'static>(
    State(intake): State<AlertIntake<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return unreadable(r),
    };
    let signature = match admit(&intake, Route::Alertmanager, &headers, &body).await {
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
    // A redelivery (same body, within minutes) is recognised by the desk, as in `deskbot replay`.
    let result = intake.desk.alertmanager_notification(&body, group).await;
    answer(&intake, result, None, signature).await
}

async fn generic<S: Store + 'static>(
    State(intake): State<AlertIntake<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return unreadable(r),
    };
    let signature = match admit(&intake, Route::Generic, &headers, &body).await {
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
    // An Idempotency-Key stands for one request: the same key with another body is a mistake (a retry would lose
    // what the new body says), refused with 422 as Stripe does. The body's digest is kept with the key.
    let idempotency = key.map(|k| (format!("alerts:{k}"), format!("alerts:{k}:body:{}", digest(&body))));
    if let Some((key, body_key)) = &idempotency {
        match reused(&intake, key, body_key).await {
            Ok(false) => {}
            Ok(true) => return key_reused(),
            Err(r) => return r,
        }
    }
    // A signed request without an Idempotency-Key is identified by its signature.
    let (key, also) = match idempotency {
        Some((key, body_key)) => (Some(key), Some(body_key)),
        None => (signature.clone(), None),
    };
    let result = intake.desk.alerts_keyed(&groups, key.as_deref(), also.as_slice()).await;
    if let (Ok(out), Some(body_key)) = (&result, &also)
        && out.duplicate
    {
        // Handled before: with this body (a retry), or, sent at the same moment, with another.
        match intake.desk.store().seen(body_key).await {
            Ok(true) => {}
            Ok(false) => return key_reused(),
            Err(e) => {
                tracing::error!(error = %e, "alerts: could not check an Idempotency-Key");
                return unavailable("storage unavailable; retry later");
            }
        }
    }
    answer(&intake, result, key, signature).await
}

/// True when Idempotency-Key `key` was used before with another body than the one `body_key` stands for.
async fn reused<S: Store + 'static>(intake: &AlertIntake<S>, key: &str, body_key: &str) -> Result<bool, Response> {
    let store = intake.desk.store();
    let check = async { Ok::<_, crate::store::StoreError>(!store.seen(body_key).await? && store.seen(key).await?) };
    check.await.map_err(|e| {
        tracing::error!(error = %e, "alerts: could not check an Idempotency-Key");
        unavailable("storage unavailable; retry later")
    })
}

fn key_reused() -> Response {
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        serde_json::json!({"error": "this Idempotency-Key was already used with a different body; nothing was \
                                     changed. Send a new request with a new key."}),
    )
}

/// The answer for what the desk did; `signature` (the key marking a signed request's signature used) is recorded
/// unless it is the commit's own dedupe `key`, so that the same signed request sent again is refused.
async fn answer<S: Store + 'static>(
    intake: &AlertIntake<S>,
    result: Result<crate::core::desk::AlertOutcome, DeskError>,
    key: Option<String>,
    signature: Option<String>,
) -> Response {
    match result {
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

    /// A known vector, computed apart from this code (#38: the signature was only round-tripped through `sign`):
    /// `python3 -c 'import hmac,hashlib; print(hmac.new(b"hmac-secret",
    /// b"1772442000.{\"status\":\"firing\",\"title\":\"disk full on db-1\"}", hashlib.sha256).hexdigest())'`
    #[test]
    fn signature_matches_a_vector_computed_elsewhere() {
        let body = br#"{"status":"firing","title":"disk full on db-1"}"#;
        assert_eq!(
            sign(b"hmac-secret", 1_772_442_000, body),
            "sha256=c8664a3ba2f3a7728f48be0929707020849fd71e12135ed3d6d06baff8f59f72"
        );
        // The timestamp is part of what is signed: one second later is another signature.
        assert_ne!(sign(b"hmac-secret", 1_772_442_001, body), sign(b"hmac-secret", 1_772_442_000, body));
    }

    #[test]
    fn bearer_or_fresh_signature() {
        let auth = AlertAuth { token: Secret::new("tok"), hmac: None };
        let body = br#"{"key":"a","title":"A"}"#;
        let mut h = HeaderMap::new();
        assert!(authorized(&auth, Route::Generic, &h, body, 1000).is_err());
        h.insert(header::AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert_eq!(authorized(&auth, Route::Generic, &h, body, 1000), Ok(Credential::Bearer));
        h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert!(authorized(&auth, Route::Generic, &h, body, 1000).is_err());

        let auth = AlertAuth { token: Secret::new("tok"), hmac: Some(Secret::new("shh")) };
        let mut h = HeaderMap::new();
        h.insert("x-deskbot-timestamp", "1000".parse().unwrap());
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        let signed = Ok(Credential::Signed(sign(b"shh", 1000, body)));
        assert_eq!(authorized(&auth, Route::Generic, &h, body, 1100), signed);
        assert!(authorized(&auth, Route::Generic, &h, body, 1000 + SIGNATURE_WINDOW_SECS + 1).is_err(), "stale");
        assert!(authorized(&auth, Route::Generic, &h, br#"{"key":"b","title":"A"}"#, 1100).is_err(), "other body");
        h.insert("x-deskbot-signature", sign(b"other", 1000, body).parse().unwrap());
        assert!(authorized(&auth, Route::Generic, &h, body, 1100).is_err(), "wrong secret");
        let no_hmac = AlertAuth { token: Secret::new("tok"), hmac: None };
        h.insert("x-deskbot-signature", sign(b"shh", 1000, body).parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert!(
            authorized(&no_hmac, Route::Generic, &h, body, 1100).is_err(),
            "a signature nobody can check is refused, whatever token comes with it"
        );
    }

    /// A request that carries a signature is judged by it: a bad one is refused however good the bearer token with
    /// it. With a secret set, the generic route takes signed requests only; Alertmanager, which cannot sign, may
    /// still use the token.
    #[test]
    fn a_bad_signature_is_refused_whatever_the_token() {
        let auth = AlertAuth { token: Secret::new("tok"), hmac: Some(Secret::new("shh")) };
        let body = br#"{"key":"a","title":"A"}"#;
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert_eq!(authorized(&auth, Route::Alertmanager, &h, body, 1000), Ok(Credential::Bearer));
        let e = authorized(&auth, Route::Generic, &h, body, 1000).unwrap_err();
        assert!(e.contains("signed requests only"), "{e}");
        h.insert("x-deskbot-timestamp", "1000".parse().unwrap());
        h.insert("x-deskbot-signature", "sha256=00".parse().unwrap());
        for route in [Route::Alertmanager, Route::Generic] {
            assert_eq!(authorized(&auth, route, &h, body, 1000), Err("wrong signature"), "{route:?}");
        }
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

//! Validation of the Bot Framework's bearer token on every inbound activity.
//!
//! The Bot Connector signs a JWT with one of the keys published at the `jwks_uri` of its OpenID metadata
//! (`https://login.botframework.com/v1/.well-known/openidconfiguration`). We accept a request only when:
//! the algorithm is RS256; the key id is one of the published keys (the set is refetched when an unknown id shows
//! up and in any case once a day, but never twice within [`Verifier::min_refetch`]); the signature verifies; `iss` is
//! `https://api.botframework.com`; `aud` is our app id; `exp`/`nbf` hold with five minutes of leeway; the
//! `serviceurl` claim equals the activity's `serviceUrl`; and the signing key's `endorsements` contain the
//! activity's `channelId`. A missing or invalid token is a 401, a valid token with the wrong claims a 403.
//! Tokens are never logged.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The issuer of tokens the Bot Connector sends to bots.
pub const ISSUER: &str = "https://api.botframework.com";
/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 300;
/// The published keys are refetched at least this often, even when every key id is known.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Default least time between two fetches caused by unknown key ids.
pub const MIN_REFETCH: Duration = Duration::from_secs(60);

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header (401).
    #[error("no bearer token")]
    Missing,
    /// Malformed, badly signed, expired, or signed by a key we do not know (401).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A genuine token that is not for us or not for this activity (403).
    #[error("token not accepted: {0}")]
    Forbidden(String),
    /// The signing keys could not be fetched (503; the channel retries).
    #[error("signing keys unavailable: {0}")]
    Unavailable(String),
}

struct Key {
    key: DecodingKey,
    endorsements: Vec<String>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Key>,
    /// Last successful fetch.
    fetched: Option<Instant>,
    /// Last attempt, successful or not.
    attempted: Option<Instant>,
}

/// Checks Bot Framework tokens against the keys of one OpenID metadata document.
pub struct Verifier {
    http: reqwest::Client,
    metadata_url: String,
    app_id: String,
    /// Least time between two key fetches triggered by unknown key ids (so a flood of made-up ids cannot hammer
    /// the metadata URL).
    pub min_refetch: Duration,
    keys: tokio::sync::Mutex<Keys>,
}

impl Verifier {
    pub fn new(http: reqwest::Client, metadata_url: &str, app_id: &str) -> Verifier {
        Verifier {
            http,
            metadata_url: metadata_url.to_string(),
            app_id: app_id.to_string(),
            min_refetch: MIN_REFETCH,
            keys: tokio::sync::Mutex::new(Keys::default()),
        }
    }

    /// Validates the `Authorization` header value for an activity from `service_url` on `channel_id`; returns
    /// the token's claims.
    pub async fn verify(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel_id: &str,
    ) -> Result<Value, AuthError> {
        self.authenticate(authorization).await?.bind(service_url, channel_id)
    }

    /// The token's own checks (signature, issuer, audience, lifetime), done before the body is read; the checks
    /// that tie it to the activity follow with [`Authenticated::bind`].
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Authenticated, AuthError> {
        let auth = authorization.ok_or(AuthError::Missing)?;
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let header = decode_header(token).map_err(|e| AuthError::Invalid(format!("malformed token header: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid(format!("algorithm {:?} is not RS256", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("token has no key id".into()))?;

        let keys = self.keys_for(&kid).await?;
        if keys.by_kid.is_empty() {
            return Err(AuthError::Unavailable("no signing keys fetched yet".into()));
        }
        let Some(key) = keys.by_kid.get(&kid) else {
            return Err(AuthError::Invalid(format!("unknown signing key `{kid}`")));
        };
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[&self.app_id]);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = match decode::<Value>(token, &key.key, &v) {
            Ok(d) => d.claims,
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                return Err(match e.kind() {
                    // The signature held (claims are checked after it): the token is genuine, but not for us.
                    K::InvalidIssuer => AuthError::Forbidden("issuer is not the Bot Framework".into()),
                    K::InvalidAudience => AuthError::Forbidden("audience is not this bot's app id".into()),
                    K::ExpiredSignature => AuthError::Invalid("expired".into()),
                    K::ImmatureSignature => AuthError::Invalid("not valid yet".into()),
                    K::InvalidSignature => AuthError::Invalid("bad signature".into()),
                    K::MissingRequiredClaim(c) => AuthError::Invalid(format!("claim `{c}` missing")),
                    other => AuthError::Invalid(format!("{other:?}")),
                });
            }
        };
        Ok(Authenticated { claims, endorsements: key.endorsements.clone() })
    }

    /// The key set, fetched first if it is stale or lacks `kid`; fetches (successful or not) are at least
    /// [`Verifier::min_refetch`] apart, so neither made-up key ids nor an outage make us hammer the metadata URL.
    async fn keys_for(&self, kid: &str) -> Result<tokio::sync::MutexGuard<'_, Keys>, AuthError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched.is_none_or(|t| t.elapsed() >= KEYS_MAX_AGE);
        let unknown = !keys.by_kid.contains_key(kid);
        let may_fetch = keys.attempted.is_none_or(|t| t.elapsed() >= self.min_refetch);
        if (stale || unknown) && may_fetch {
            keys.attempted = Some(Instant::now());
            match self.fetch().await {
                Ok(by_kid) => {
                    tracing::info!(keys = by_kid.len(), "teams: Bot Framework signing keys fetched");
                    keys.by_kid = by_kid;
                    keys.fetched = Some(Instant::now());
                }
                Err(e) if keys.by_kid.is_empty() => {
                    tracing::error!(error = %e, "teams: could not fetch signing keys");
                    return Err(AuthError::Unavailable(e));
                }
                Err(e) => tracing::warn!(error = %e, "teams: could not refresh signing keys; using the cached ones"),
            }
        }
        Ok(keys)
    }

    async fn fetch(&self) -> Result<HashMap<String, Key>, String> {
        let meta: Value = self.get_json(&self.metadata_url).await.map_err(|e| format!("OpenID metadata: {e}"))?;
        let jwks_uri = meta.get("jwks_uri").and_then(Value::as_str).ok_or("OpenID metadata has no jwks_uri")?;
        let jwks = self.get_json(jwks_uri).await.map_err(|e| format!("key set: {e}"))?;
        parse_jwks(&jwks)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let r = self.http.get(url).send().await.map_err(|e| e.without_url().to_string())?;
        if !r.status().is_success() {
            return Err(format!("answered {}", r.status()));
        }
        r.json().await.map_err(|e| e.without_url().to_string())
    }
}

/// A genuine Bot Framework token for this bot, not yet tied to an activity.
#[derive(Debug)]
pub struct Authenticated {
    claims: Value,
    endorsements: Vec<String>,
}

impl Authenticated {
    /// Ties the token to the activity: its `serviceurl` claim is the activity's `serviceUrl`, and the signing key
    /// is endorsed for the activity's channel.
    pub fn bind(self, service_url: &str, channel_id: &str) -> Result<Value, AuthError> {
        let claimed = self.claims.get("serviceurl").and_then(Value::as_str).unwrap_or("");
        if !same_service_url(claimed, service_url) {
            return Err(AuthError::Forbidden("`serviceurl` claim does not match the activity's serviceUrl".into()));
        }
        if !self.endorsements.iter().any(|e| e == channel_id) {
            return Err(AuthError::Forbidden(format!("signing key is not endorsed for channel `{channel_id}`")));
        }
        Ok(self.claims)
    }
}

/// The RSA keys of a JWKS document with their `endorsements` (which `jsonwebtoken::jwk::Jwk` drops).
fn parse_jwks(jwks: &Value) -> Result<HashMap<String, Key>, String> {
    let list = jwks.get("keys").and_then(Value::as_array).ok_or("key set has no `keys` array")?;
    let mut out = HashMap::new();
    for k in list {
        let field = |name: &str| k.get(name).and_then(Value::as_str);
        let (Some(kid), Some("RSA"), Some(n), Some(e)) = (field("kid"), field("kty"), field("n"), field("e")) else {
            continue;
        };
        if field("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let Ok(key) = DecodingKey::from_rsa_components(n, e) else {
            tracing::warn!(kid, "teams: skipping a published key that is not a valid RSA key");
            continue;
        };
        let endorsements = k
            .get("endorsements")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        out.insert(kid.to_string(), Key { key, endorsements });
    }
    if out.is_empty() {
        return Err("key set has no usable RSA signing keys".into());
    }
    Ok(out)
}

/// Service URLs are compared ignoring a trailing slash and the case of the scheme and host.
fn same_service_url(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    !a.trim().is_empty() && norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_compare_without_trailing_slash() {
        assert!(same_service_url("https://smba.trafficmanager.net/emea/", "https://smba.trafficmanager.net/emea"));
        assert!(!same_service_url("https://evil.example/", "https://smba.trafficmanager.net/emea/"));
        assert!(!same_service_url("", ""));
    }

    #[test]
    fn jwks_keeps_endorsements_and_skips_non_rsa_keys() {
        let jwks = serde_json::json!({"keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y"},
            {"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
             "e": "AQAB", "endorsements": ["msteams", "skype"]},
        ]});
        let keys = parse_jwks(&jwks).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["k1"].endorsements, vec!["msteams", "skype"]);
        assert!(parse_jwks(&serde_json::json!({"keys": []})).is_err());
    }
}

//! Slack request signatures: `v0=` HMAC-SHA256 over `v0:{timestamp}:{raw body}` with the signing secret, a
//! five-minute window, and a memory of recently seen signatures so an exact replay inside the window is refused
//! too (a replay after it is stale). Slack's own retries are new requests with new timestamps and signatures.

use super::SlackSecret;
use hmac::{Hmac, KeyInit, Mac};
use std::collections::HashMap;
use std::sync::Mutex;

/// How far a request's timestamp may be from now, in seconds (Slack's recommendation).
pub const MAX_SKEW_SECS: i64 = 300;
/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header with the request time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// A signature or timestamp header is missing.
    #[error("missing signature headers")]
    Missing,
    /// The timestamp is not a number or the signature is not `v0=<64 hex digits>`.
    #[error("malformed signature headers")]
    Malformed,
    /// The timestamp is more than five minutes from now.
    #[error("request timestamp outside the five-minute window")]
    Stale,
    /// The signature does not match the body.
    #[error("signature does not match")]
    Forged,
    /// The same signed request was already accepted.
    #[error("request replayed")]
    Replayed,
}

/// `v0=<hex>`: the signature Slack sends for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<sha2::Sha256> {
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Checks the signature only (constant time), not the clock: the unit test for Slack's published example.
pub fn signature_matches(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(tag) = signature.strip_prefix("v0=").and_then(unhex) else { return false };
    mac(secret, timestamp, body).verify_slice(&tag).is_ok()
}

/// Verifies inbound requests with the signing secret; remembers accepted signatures for the window.
pub struct Verifier {
    secret: SlackSecret,
    seen: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(***)")
    }
}

impl Verifier {
    pub fn new(secret: SlackSecret) -> Self {
        Verifier { secret, seen: Mutex::new(HashMap::new()) }
    }

    /// Accepts a request signed at `timestamp` (header value) with `signature`, at `now` (Unix seconds).
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejected> {
        let (Some(ts), Some(sig)) = (timestamp, signature) else { return Err(Rejected::Missing) };
        let at: i64 = ts.trim().parse().map_err(|_| Rejected::Malformed)?;
        if !sig.starts_with("v0=") || sig.len() != 67 {
            return Err(Rejected::Malformed);
        }
        if (now - at).abs() > MAX_SKEW_SECS {
            return Err(Rejected::Stale);
        }
        if !signature_matches(self.secret.expose(), ts.trim(), body, sig) {
            return Err(Rejected::Forged);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, t| (now - *t).abs() <= MAX_SKEW_SECS);
        if seen.insert(sig.to_string(), at).is_some() {
            return Err(Rejected::Replayed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // https://api.slack.com/authentication/verifying-requests-from-slack
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_published_example() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), EXPECTED);
        assert!(signature_matches(SECRET, TS, BODY.as_bytes(), EXPECTED));
        let v = Verifier::new(SlackSecret::new(SECRET));
        let now = 1_531_420_618 + 10;
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), now), Ok(()));
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), now), Err(Rejected::Replayed));
    }

    #[test]
    fn forged_stale_and_malformed_are_refused() {
        let v = Verifier::new(SlackSecret::new(SECRET));
        let now = 1_531_420_618;
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), tampered.as_bytes(), now), Err(Rejected::Forged));
        let other = sign("not-the-secret", TS, BODY.as_bytes());
        assert_eq!(v.verify(Some(TS), Some(&other), BODY.as_bytes(), now), Err(Rejected::Forged));
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), now + 301), Err(Rejected::Stale));
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), now - 301), Err(Rejected::Stale));
        assert_eq!(v.verify(None, Some(EXPECTED), BODY.as_bytes(), now), Err(Rejected::Missing));
        assert_eq!(v.verify(Some("soon"), Some(EXPECTED), BODY.as_bytes(), now), Err(Rejected::Malformed));
        assert_eq!(v.verify(Some(TS), Some("v1=abc"), BODY.as_bytes(), now), Err(Rejected::Malformed));
        let bad_hex = format!("v0={}", "zz".repeat(32));
        assert_eq!(v.verify(Some(TS), Some(&bad_hex), BODY.as_bytes(), now), Err(Rejected::Forged));
        // After all those refusals the genuine request is still accepted once.
        assert_eq!(v.verify(Some(TS), Some(EXPECTED), BODY.as_bytes(), now), Ok(()));
        assert_eq!(format!("{v:?}"), "Verifier(***)");
    }
}

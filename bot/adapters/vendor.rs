//! The vendor worker's sending side: delivers outbox messages of platform `vendor` by email (SMTP through
//! `[smtp]`, password from `DESKBOT_SMTP_PASSWORD`; `text/plain; charset=utf-8`, MIME 1.0) or as a signed JSON
//! webhook (`X-Deskbot-Timestamp: <unix seconds>`, `X-Deskbot-Signature: sha256=<hex HMAC-SHA256 of
//! "<timestamp>.<body>">`, `X-Deskbot-Delivery`, as the alert intake verifies), and reports each send and failure
//! back to the desk as ticket events. Retries and backoff are the outbox's ([`crate::outbox::drain`]).

use crate::core::clock::Clock;
use crate::core::desk::Desk;
use crate::core::ids::Platform;
use crate::core::vendor::{SMTP_PASSWORD_VAR, SmtpConfig, VendorMessage, Via};
use crate::outbox::{self, Deliver, Worker};
use crate::store::{OutboxItem, Store, StoreError};
use hmac::{Hmac, KeyInit, Mac};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

/// Header with the webhook signature.
pub const SIGNATURE_HEADER: &str = "X-Deskbot-Signature";
/// Header with the send time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Deskbot-Timestamp";

/// A receiver should refuse a delivery whose timestamp is further than this from its own clock (a replay).
pub const SIGNATURE_WINDOW_SECS: i64 = 300;

/// `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<body>"` with `key`: the timestamp is signed with the body,
/// so a captured delivery cannot be sent again later under a fresh timestamp.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Reads a webhook signing key by the name of its environment variable.
type KeyLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Sends vendor messages and reports back to the desk.
pub struct VendorSink<S> {
    desk: Arc<Desk<S>>,
    smtp: SmtpConfig,
    http: reqwest::Client,
    keys: KeyLookup,
}

impl<S: Store> VendorSink<S> {
    /// Signing keys come from the process environment (the variable each vendor's `signing_env` names).
    pub fn new(desk: Arc<Desk<S>>, timeout: Duration) -> anyhow::Result<Self> {
        Self::with_keys(desk, timeout, |name| std::env::var(name).ok())
    }

    /// [`VendorSink::new`], reading signing keys through `keys` instead of the environment (tests, which may not
    /// set environment variables).
    pub fn with_keys(
        desk: Arc<Desk<S>>,
        timeout: Duration,
        keys: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let smtp = desk.settings().smtp.clone();
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(VendorSink { desk, smtp, http, keys: Arc::new(keys) })
    }

    async fn email(&self, to: &str, m: &VendorMessage, id: i64) -> Result<(), String> {
        let msg = Message::builder()
            .from(self.smtp.from.parse().map_err(|e| format!("bad from address: {e}"))?)
            .to(to.parse().map_err(|e| format!("bad vendor address {to}: {e}"))?)
            .subject(&m.subject)
            .message_id(Some(format!("<deskbot-{}-{id}@deskbot>", m.ticket.0)))
            .header(lettre::message::header::MIME_VERSION_1_0)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| e.to_string())?;
        let c = &self.smtp;
        let mut b = match c.tls.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host).map_err(|e| e.to_string())?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host).map_err(|e| e.to_string())?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
        }
        .port(c.port)
        .timeout(Some(Duration::from_secs(30)));
        if let Some(user) = &c.username {
            let pw = std::env::var(SMTP_PASSWORD_VAR).unwrap_or_default();
            b = b.credentials(Credentials::new(user.clone(), pw));
        }
        b.build().send(msg).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }

    async fn webhook(
        &self,
        url: &str,
        signing_env: &str,
        m: &VendorMessage,
        id: i64,
    ) -> Result<Option<String>, String> {
        let key = (self.keys)(signing_env)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| format!("{signing_env} is not set: cannot sign the webhook"))?;
        let body = serde_json::to_vec(&m.json).map_err(|e| e.to_string())?;
        let ts = self.desk.now().timestamp();
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(key.as_bytes(), ts, &body))
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header("X-Deskbot-Delivery", id.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("webhook answered {status}"));
        }
        let text = resp.text().await.unwrap_or_default();
        let reference = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("reference").and_then(|r| r.as_str()).map(str::to_string));
        Ok(reference)
    }
}

impl<S: Store> Deliver for VendorSink<S> {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), crate::outbox::Failure> {
        let Some(m) = item.message.vendor.as_deref() else {
            return Ok(()); // not a vendor message: nothing to send
        };
        let result = match &m.via {
            Via::Email { to } => self.email(to, m, item.id).await.map(|_| None),
            Via::Webhook { url, signing_env } => self.webhook(url, signing_env, m, item.id).await,
        };
        match result {
            Ok(reference) => {
                if let Err(e) = self.desk.vendor_delivered(item, reference).await {
                    tracing::warn!(error = %e, "could not record a vendor send");
                }
                Ok(())
            }
            Err(e) => {
                if let Err(e2) = self.desk.vendor_send_failed(item, &e).await {
                    tracing::warn!(error = %e2, "could not record a failed vendor send");
                }
                Err(e.into())
            }
        }
    }
}

/// Delivers every vendor message due now; returns how many were delivered.
pub async fn deliver_due<S: Store>(sink: &VendorSink<S>, clock: &dyn Clock) -> Result<usize, StoreError> {
    let queue = &sink.desk.settings().queue_channel;
    let worker = Worker {
        name: "vendor",
        platform: Some(Platform::Vendor),
        batch: 10,
        lease: outbox::LEASE,
        dead_letters_to: None,
    }
    .telling(queue);
    outbox::drain(sink.desk.store(), sink, clock, worker).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hmac_sha256_hex_of_timestamp_dot_body() {
        // RFC 4231 test case 2, with the message split as "<timestamp>.<body>": "what do ya want for nothing?" is
        // not of that form, so the vector is checked through the same MAC over "1700000000.{}".
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::sign(b"Jefe", 1_700_000_000, b"{}"), format!("sha256={want}"));
        assert_ne!(super::sign(b"Jefe", 1_700_000_001, b"{}"), super::sign(b"Jefe", 1_700_000_000, b"{}"));
    }
}

//! The silence worker: creates the silences technicians ask for from chat (outbox messages of platform
//! `alertmanager`) with Alertmanager's API v2, `POST {externalURL}/api/v2/silences`, and reports each result back to
//! the desk. A 5xx or an unreachable Alertmanager is retried with the outbox's backoff; a 4xx (Alertmanager refused
//! the silence itself) is not retried.

use crate::core::clock::Clock;
use crate::core::desk::Desk;
use crate::core::ids::Platform;
use crate::core::silence::SilenceRequest;
use crate::outbox::{self, Deliver, Failure, MAX_ATTEMPTS, Worker};
use crate::store::{OutboxItem, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Longest part of Alertmanager's error answer kept (it goes on the ticket and to the technician).
const MAX_ANSWER: usize = 300;

/// Creates silences in Alertmanager and reports back to the desk.
pub struct SilenceSink<S> {
    desk: Arc<Desk<S>>,
    http: reqwest::Client,
}

/// Why a silence was not created: `permanent` when trying again cannot help.
struct Refused {
    error: String,
    permanent: bool,
}

impl<S: Store> SilenceSink<S> {
    pub fn new(desk: Arc<Desk<S>>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(SilenceSink { desk, http })
    }

    /// Posts the silence; its `silenceID` on success.
    async fn post(&self, r: &SilenceRequest) -> Result<String, Refused> {
        let retry = |error: String| Refused { error, permanent: false };
        let resp = self
            .http
            .post(r.url())
            .json(&r.body())
            .send()
            .await
            // Without the URL: an externalURL may carry credentials.
            .map_err(|e| retry(format!("Alertmanager could not be reached: {}", e.without_url())))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let answer: String = text.trim().chars().filter(|c| !c.is_control()).take(MAX_ANSWER).collect();
            let said = if answer.is_empty() { String::new() } else { format!(": {answer}") };
            let error = format!("Alertmanager answered {status}{said}");
            // 408 and 429 are worth another try; any other 4xx is about the silence itself.
            let permanent = status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429;
            return Err(Refused { error, permanent });
        }
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("silenceID").and_then(|id| id.as_str()).map(str::to_string))
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| retry(format!("Alertmanager answered {status} without a silenceID")))
    }
}

impl<S: Store> Deliver for SilenceSink<S> {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        let Some(r) = item.message.silence.as_deref() else {
            return Ok(()); // not a silence: nothing to send
        };
        match self.post(r).await {
            Ok(id) => {
                if let Err(e) = self.desk.silence_created(item, &id).await {
                    tracing::warn!(error = %e, "could not record a created silence");
                }
                Ok(())
            }
            Err(Refused { error, permanent }) => {
                let gave_up = permanent || item.attempts + 1 >= MAX_ATTEMPTS;
                if let Err(e) = self.desk.silence_failed(item, &error, gave_up).await {
                    tracing::warn!(error = %e, "could not record a failed silence");
                }
                Err(if permanent { Failure::permanent(error) } else { Failure::from(error) })
            }
        }
    }
}

/// Creates every silence due now; returns how many were created. Whoever asked is told of failures by the desk, so
/// the dead letters of this worker are not announced again.
pub async fn deliver_due<S: Store>(sink: &SilenceSink<S>, clock: &dyn Clock) -> Result<usize, StoreError> {
    let worker = Worker {
        name: "alertmanager",
        platform: Some(Platform::Alertmanager),
        batch: 10,
        lease: outbox::LEASE,
        dead_letters_to: None,
    };
    outbox::drain(sink.desk.store(), sink, clock, worker).await
}

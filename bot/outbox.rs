//! The outbox worker: delivers stored outbound messages through a [`Deliver`] sink, oldest first per
//! conversation, with retries and exponential backoff. Every chat message leaves deskbot through here.

use crate::core::clock::Clock;
use crate::core::message::Outbound;
use crate::store::{Store, StoreError};
use chrono::Duration;
use std::future::Future;

/// A chat platform's sending side. Returns an error text when the platform refused or could not be reached.
pub trait Deliver: Send + Sync {
    fn deliver(&self, m: &Outbound) -> impl Future<Output = Result<(), String>> + Send;
}

/// How long a worker holds a leased message before another worker may take it.
pub const LEASE: Duration = Duration::seconds(60);

/// Delay before retry number `attempts + 1`: 2s, 4s, 8s … capped at 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 2i64.saturating_pow(attempts.clamp(0, 20) as u32 + 1).min(600);
    Duration::seconds(secs)
}

/// Delivers everything that is due now, in batches of up to `batch` messages; returns how many were delivered.
/// Order is kept within each conversation; a batch of 1 also keeps the global order (replay, console).
pub async fn drain<S: Store, D: Deliver>(
    store: &S,
    sink: &D,
    clock: &dyn Clock,
    worker: &str,
    batch: i64,
) -> Result<usize, StoreError> {
    let mut delivered = 0;
    loop {
        let now = clock.now();
        let batch = store.lease_outbox(worker, now, now + LEASE, batch).await?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        let mut progressed = false;
        for item in batch {
            match sink.deliver(&item.message).await {
                Ok(()) => {
                    store.mark_delivered(item.id, clock.now()).await?;
                    delivered += 1;
                    progressed = true;
                }
                Err(e) => {
                    tracing::warn!(outbox_id = item.id, attempts = item.attempts + 1, error = %e, "delivery failed; will retry");
                    store.mark_failed(item.id, &e, clock.now() + backoff(item.attempts)).await?;
                }
            }
        }
        if !progressed {
            return Ok(delivered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), Duration::seconds(2));
        assert_eq!(backoff(1), Duration::seconds(4));
        assert_eq!(backoff(5), Duration::seconds(64));
        assert_eq!(backoff(50), Duration::seconds(600));
    }
}

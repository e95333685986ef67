//! The outbox worker: delivers stored outbound messages through a [`Deliver`] sink, oldest first per
//! conversation, with retries and exponential backoff. Every chat message leaves deskbot through here.

use crate::core::clock::Clock;
use crate::core::ids::Platform;
use crate::store::{OutboxItem, Store, StoreError};
use chrono::Duration;
use std::future::Future;

/// A chat platform's sending side. Returns an error text when the platform refused or could not be reached.
/// `item.id` is stable across retries: receivers can use it as an idempotency key (delivery is at least once).
pub trait Deliver: Send + Sync {
    fn deliver(&self, item: &OutboxItem) -> impl Future<Output = Result<(), String>> + Send;
}

/// Which messages a worker takes, and for how long it holds them.
#[derive(Debug, Clone, Copy)]
pub struct Worker<'a> {
    pub name: &'a str,
    /// Only this platform's messages (`None`: every platform).
    pub platform: Option<Platform>,
    /// Messages leased at once; 1 keeps the global order (replay, console).
    pub batch: i64,
    /// How long a leased message stays with this worker before another may take it (crash recovery bound).
    pub lease: Duration,
}

/// How long a worker holds a leased message before another worker may take it, by default.
pub const LEASE: Duration = Duration::seconds(60);

impl<'a> Worker<'a> {
    /// A worker that delivers one message at a time, in global order.
    pub fn in_order(name: &'a str, platform: Option<Platform>) -> Self {
        Worker { name, platform, batch: 1, lease: LEASE }
    }
}

/// Delay before retry number `attempts + 1`: 2s, 4s, 8s … capped at 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 2i64.saturating_pow(attempts.clamp(0, 20) as u32 + 1).min(600);
    Duration::seconds(secs)
}

/// Delivers everything that is due now for `worker`; returns how many messages were delivered. Order is kept
/// within each conversation.
pub async fn drain<S: Store, D: Deliver>(
    store: &S,
    sink: &D,
    clock: &dyn Clock,
    worker: Worker<'_>,
) -> Result<usize, StoreError> {
    let mut delivered = 0;
    loop {
        let now = clock.now();
        let batch = store.lease_outbox(worker.name, worker.platform, now, now + worker.lease, worker.batch).await?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        let mut progressed = false;
        for item in batch {
            match sink.deliver(&item).await {
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

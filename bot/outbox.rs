//! The outbox worker: delivers stored outbound messages through a [`Deliver`] sink, oldest first per
//! conversation, with retries and exponential backoff. Every chat message leaves deskbot through here.

use crate::core::clock::Clock;
use crate::core::ids::Platform;
use crate::core::message::{Audience, Outbound};
use crate::store::{Commit, OutboxItem, Store, StoreError};
use chrono::Duration;
use std::future::Future;

/// A chat platform's sending side. Returns a [`Failure`] when the platform refused or could not be reached.
/// `item.id` is stable across retries: receivers can use it as an idempotency key (delivery is at least once).
pub trait Deliver: Send + Sync {
    fn deliver(&self, item: &OutboxItem) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Why a delivery failed, and when the platform asked us to try again (HTTP 429 `Retry-After`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    /// The platform's own wait; honoured instead of the exponential backoff.
    pub retry_after: Option<std::time::Duration>,
    /// Trying again cannot succeed (the receiver refused the message itself, say with a 400): it is set aside as a
    /// dead letter at once instead of being retried [`MAX_ATTEMPTS`] times.
    pub permanent: bool,
}

impl Failure {
    /// A rate limit: try again after `wait`.
    pub fn rate_limited(error: impl Into<String>, wait: std::time::Duration) -> Self {
        Failure { error: error.into(), retry_after: Some(wait), permanent: false }
    }

    /// A refusal that trying again cannot change (see [`Failure::permanent`]).
    pub fn permanent(error: impl Into<String>) -> Self {
        Failure { error: error.into(), retry_after: None, permanent: true }
    }

    /// When to try again after attempt number `attempts + 1` failed at `now`.
    pub fn retry_at(&self, now: chrono::DateTime<chrono::Utc>, attempts: i64) -> chrono::DateTime<chrono::Utc> {
        match self.retry_after.and_then(|w| Duration::from_std(w).ok()) {
            Some(wait) => now + wait.min(Duration::hours(1)),
            None => now + backoff(attempts),
        }
    }
}

/// Reads an HTTP `Retry-After` value given in seconds (`"30"`, `"1.5"`); HTTP dates are not used by chat APIs.
pub fn parse_retry_after(v: &str) -> Option<std::time::Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs.min(3600.0)))
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Failure { error, retry_after: None, permanent: false }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.retry_after {
            Some(w) => write!(f, "{} (retry after {} s)", self.error, w.as_secs_f64()),
            None => f.write_str(&self.error),
        }
    }
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
    /// The technicians' queue channel (its logical name), told when a message becomes a dead letter and its
    /// ticket has no owner to tell; `None`: only logged.
    pub dead_letters_to: Option<&'a str>,
}

/// How long a worker holds a leased message before another worker may take it, by default.
pub const LEASE: Duration = Duration::seconds(60);

impl<'a> Worker<'a> {
    /// A worker that delivers one message at a time, in global order.
    pub fn in_order(name: &'a str, platform: Option<Platform>) -> Self {
        Worker { name, platform, batch: 1, lease: LEASE, dead_letters_to: None }
    }

    /// The same worker, telling `queue` (or the ticket's owner) about dead letters.
    pub fn telling(self, queue: &'a str) -> Self {
        Worker { dead_letters_to: Some(queue), ..self }
    }
}

/// A message that failed this many times is set aside as a dead letter (2 s, 4 s … then every 10 minutes: about
/// two hours of trying), so that it stops holding up its conversation; `deskbot outbox retry ID` sends it again.
pub const MAX_ATTEMPTS: i64 = 20;

/// How the notice about a dead letter starts (a notice that itself dies is not announced again).
const DEAD_NOTICE: &str = "⚠️ Undelivered:";

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
                Err(e) if e.permanent || item.attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(outbox_id = item.id, attempts = item.attempts + 1, permanent = e.permanent, error = %e, "delivery failed; gave up (dead letter)");
                    store.mark_dead(item.id, &e.to_string(), clock.now()).await?;
                    if let Some(notice) = dead_letter_notice(store, &item, &e, worker.dead_letters_to).await? {
                        store
                            .commit(Commit { at: Some(clock.now()), outbox: vec![notice], ..Commit::default() })
                            .await?;
                    }
                    // The messages behind it in its conversation can go now.
                    progressed = true;
                }
                Err(e) => {
                    tracing::warn!(outbox_id = item.id, attempts = item.attempts + 1, error = %e, "delivery failed; will retry");
                    store.mark_failed(item.id, &e.to_string(), e.retry_at(clock.now(), item.attempts)).await?;
                }
            }
        }
        if !progressed {
            return Ok(delivered);
        }
    }
}

/// Who is told that `item` was given up: its ticket's owner by DM, else the queue channel (on the ticket's own
/// platform when the message was to a vendor). Nothing of the message's text is repeated (it may be a private
/// reply); it names the addressee, the ticket and the id to retry.
async fn dead_letter_notice<S: Store>(
    store: &S,
    item: &OutboxItem,
    failure: &Failure,
    queue: Option<&str>,
) -> Result<Option<Outbound>, StoreError> {
    let m = &item.message;
    let Some(queue) = queue.filter(|_| !m.text.starts_with(DEAD_NOTICE)) else { return Ok(None) };
    let ticket = match m.ticket {
        Some(n) => store.ticket(n).await?,
        None => None,
    };
    let to = match &m.to {
        Audience::User { user } if m.place.dm => format!("{} (direct message)", user.name),
        Audience::User { user } => format!("{} in {}", user.name, m.place.channel),
        Audience::Channel { channel } => format!("channel {channel}"),
    };
    let about = m.ticket.map(|n| format!(" about {n}")).unwrap_or_default();
    let how = if failure.permanent { "was refused".to_string() } else { format!("failed {MAX_ATTEMPTS} times") };
    let text = format!(
        "{DEAD_NOTICE} a {} message to {to}{about} {how} and was set aside so the conversation goes on. \
         An admin can send it again with `deskbot outbox retry {}`.",
        m.platform, item.id
    );
    let place = crate::core::ids::Place { channel: queue.to_string(), ..Default::default() };
    let notice = match ticket.as_ref().and_then(|t| t.owner.as_ref()) {
        Some(owner) => Outbound::to_user(owner, &crate::core::ids::Place { dm: true, ..place }, text),
        None => {
            let platform = match (&ticket, m.platform) {
                (Some(t), p) if !p.is_chat() => t.origin.platform,
                _ => m.platform,
            };
            Outbound::to_channel(platform, queue, text)
        }
    };
    Ok(Some(match m.ticket {
        Some(n) => notice.about(n),
        None => notice,
    }))
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

    #[test]
    fn retry_after_wins_over_backoff() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let plain = Failure::from("503".to_string());
        assert_eq!(plain.retry_at(now, 3), now + Duration::seconds(16));
        let limited = Failure::rate_limited("429", std::time::Duration::from_secs(30));
        assert_eq!(limited.retry_at(now, 3), now + Duration::seconds(30));
        assert_eq!(limited.to_string(), "429 (retry after 30 s)");
        let absurd = Failure::rate_limited("429", std::time::Duration::from_secs(86_400));
        assert_eq!(absurd.retry_at(now, 0), now + Duration::hours(1));
        assert_eq!(parse_retry_after(" 2 "), Some(std::time::Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(std::time::Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}

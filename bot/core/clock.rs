//! Time for the core: a [`Clock`] trait, the system clock, and a manual clock for replay and tests.

use super::ticket::Timestamp;
use std::sync::Mutex;

/// Where the core gets "now" from. The core never reads the system time directly.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Wall-clock time, truncated to milliseconds (the precision storage keeps).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_ms(chrono::Utc::now())
    }
}

/// A clock that only moves when told to: replay scripts and tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Mutex::new(truncate_ms(at)))
    }
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = truncate_ms(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops sub-millisecond precision so that what we store reads back identical.
pub fn truncate_ms(t: Timestamp) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

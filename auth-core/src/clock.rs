//! Time comes in through [`Clock`]: the core never reads the system clock itself, so every
//! expiry and cooldown can be tested with the test kit's manual clock.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Whole seconds as a chrono duration, capped at 100 years so that adding it to a date can
/// never overflow (chrono panics on overflow).
pub(crate) fn secs(s: u64) -> chrono::Duration {
    const CAP: u64 = 100 * 365 * 24 * 3600;
    chrono::Duration::seconds(i64::try_from(s.min(CAP)).unwrap_or(0))
}

//! Injected time (CONTRIBUTING.md code rule 5): the system clock in production, a manual clock in tests, so that
//! `activityDateTime`, token expiry and the expression language's `Now()` are deterministic under test.
//!
//! [`VirtualClock`] is the clock the running emulator reads (README "Virtual clock"): the injected clock plus an
//! offset a test suite sets through `/_emulator/clock`, so virtual time keeps flowing (quotas refill, delays
//! elapse) and every reader of `AppState::clock` follows a jump at once.

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// A source of the current UTC time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// Shared handle to the clock in use.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned call site
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to (tests, and `/_emulator/clock`).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn set(&self, to: OffsetDateTime) {
        if let Ok(mut now) = self.now.lock() {
            *now = to;
        }
    }

    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.now.lock().map(|n| *n).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The injected clock plus an optional offset: `None` is "system" mode (the offset is zero), `Some` is "offset"
/// mode, even when the offset happens to be zero.
#[derive(Debug)]
pub struct VirtualClock {
    base: SharedClock,
    offset: Mutex<Option<time::Duration>>,
}

/// What `GET /_emulator/clock` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub offset: Option<time::Duration>,
    pub now: OffsetDateTime,
}

impl VirtualClock {
    pub fn new(base: SharedClock) -> Self {
        Self { base, offset: Mutex::new(None) }
    }

    fn offset(&self) -> Option<time::Duration> {
        self.offset.lock().map(|o| *o).unwrap_or_else(|p| *p.into_inner())
    }

    fn set_offset(&self, offset: Option<time::Duration>) -> ClockReading {
        match self.offset.lock() {
            Ok(mut o) => *o = offset,
            Err(p) => *p.into_inner() = offset,
        }
        self.reading()
    }

    /// The mode, and the time now.
    pub fn reading(&self) -> ClockReading {
        let offset = self.offset();
        ClockReading { offset, now: self.base.now() + offset.unwrap_or_default() }
    }

    /// Adds `by` to the offset; `None` when the result would leave the representable range.
    pub fn advance(&self, by: time::Duration) -> Option<ClockReading> {
        let offset = self.offset().unwrap_or_default().checked_add(by)?;
        self.base.now().checked_add(offset)?;
        Some(self.set_offset(Some(offset)))
    }

    /// Sets the offset so that now is `to`.
    pub fn set(&self, to: OffsetDateTime) -> ClockReading {
        self.set_offset(Some(to - self.base.now()))
    }

    /// Back to the injected clock (offset zero, "system" mode).
    pub fn use_system(&self) -> ClockReading {
        self.set_offset(None)
    }

    /// Takes on `offset` as it is (`None`: system mode): another process on a shared database set it.
    pub fn adopt(&self, offset: Option<time::Duration>) -> ClockReading {
        self.set_offset(offset)
    }

    /// A reset of the emulator: back to system time.
    pub fn reset(&self) {
        self.use_system();
    }

    /// Virtual time now (the same as [`Clock::now`], without the trait in scope).
    pub fn now(&self) -> OffsetDateTime {
        self.base.now() + self.offset().unwrap_or_default()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        VirtualClock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(datetime!(2025-01-15 10:00 UTC));
        assert_eq!(c.now(), datetime!(2025-01-15 10:00 UTC));
        c.advance(time::Duration::seconds(90));
        assert_eq!(c.now(), datetime!(2025-01-15 10:01:30 UTC));
    }

    #[test]
    fn virtual_time_is_the_injected_time_plus_the_offset() {
        let base = Arc::new(ManualClock::new(datetime!(2025-01-15 10:00 UTC)));
        let v = VirtualClock::new(base.clone());
        assert_eq!(v.reading(), ClockReading { offset: None, now: datetime!(2025-01-15 10:00 UTC) });
        let r = v.advance(time::Duration::hours(25)).unwrap();
        assert_eq!(r, ClockReading { offset: Some(time::Duration::hours(25)), now: datetime!(2025-01-16 11:00 UTC) });
        base.advance(time::Duration::seconds(30));
        assert_eq!(v.now(), datetime!(2025-01-16 11:00:30 UTC), "time keeps flowing");
        assert_eq!(v.set(datetime!(2027-01-01 0:00 UTC)).now, datetime!(2027-01-01 0:00 UTC));
        assert_eq!(v.use_system(), ClockReading { offset: None, now: datetime!(2025-01-15 10:00:30 UTC) });
        assert!(v.advance(time::Duration::MAX).is_none(), "out of range is refused");
        assert_eq!(v.reading().offset, None, "and changes nothing");
    }
}

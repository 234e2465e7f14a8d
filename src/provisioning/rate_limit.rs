//! Per-job upload quotas (docs/fidelity.md A.1 row 429): GCRA limiters from governor, one per configured quota (the
//! short window, and the optional daily cap), driven by the injected clock so tests are exact.
//!
//! GCRA lets `limit` requests arrive at once and then refills one every `window / limit`; this is the smooth
//! approximation of "N per window" (documented in the README's known differences).

use std::num::NonZeroU32;
use std::sync::RwLock;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;
use crate::config::RateQuota;

/// Adapts the emulator's clock to governor: instants are durations since the Unix epoch.
#[derive(Debug, Clone)]
pub struct QuotaClock(SharedClock);

impl GovernorClock for QuotaClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let t = self.0.now();
        let nanos = t.unix_timestamp_nanos().max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, QuotaClock, NoOpMiddleware<Duration>>;

/// All quotas of one job.
#[derive(Debug)]
pub struct JobLimiter {
    clock: QuotaClock,
    quotas: Vec<Quota>,
    limiters: RwLock<Vec<Limiter>>,
}

impl JobLimiter {
    pub fn new(quotas: &[RateQuota], clock: SharedClock) -> Self {
        let clock = QuotaClock(clock);
        let quotas: Vec<Quota> = quotas
            .iter()
            .filter_map(|q| {
                let burst = NonZeroU32::new(q.limit)?;
                let period = Duration::from_secs(q.window_secs) / q.limit;
                Some(Quota::with_period(period)?.allow_burst(burst))
            })
            .collect();
        let limiters = RwLock::new(Self::fresh(&quotas, &clock));
        Self { clock, quotas, limiters }
    }

    fn fresh(quotas: &[Quota], clock: &QuotaClock) -> Vec<Limiter> {
        quotas.iter().map(|q| RateLimiter::direct_with_clock(*q, clock.clone())).collect()
    }

    /// Every quota full again, as at start (a reset; the clock moving backwards, which would otherwise hold
    /// requests back until virtual time caught up again).
    pub fn reset(&self) {
        let fresh = Self::fresh(&self.quotas, &self.clock);
        match self.limiters.write() {
            Ok(mut l) => *l = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
    }

    /// Take one request from every quota, or say how many whole seconds (≥ 1) to wait.
    pub fn check(&self) -> Result<(), u64> {
        let limiters = self.limiters.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        for limiter in limiters.iter() {
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).map_err(|s: u64| s.max(1));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;
    use time::macros::datetime;

    #[test]
    fn forty_per_second_then_refills() {
        let clock = Arc::new(ManualClock::new(datetime!(2025-01-01 0:00 UTC)));
        let l = JobLimiter::new(&[RateQuota { limit: 40, window_secs: 1 }], clock.clone());
        for _ in 0..40 {
            assert!(l.check().is_ok());
        }
        assert_eq!(l.check(), Err(1));
        clock.advance(time::Duration::milliseconds(25));
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
    }

    #[test]
    fn daily_cap_reports_a_long_wait() {
        let clock = Arc::new(ManualClock::new(datetime!(2025-01-01 0:00 UTC)));
        let l = JobLimiter::new(
            &[RateQuota { limit: 40, window_secs: 5 }, RateQuota { limit: 3, window_secs: 86_400 }],
            clock.clone(),
        );
        for _ in 0..3 {
            assert!(l.check().is_ok());
        }
        assert_eq!(l.check(), Err(28_800));
        l.reset();
        assert!(l.check().is_ok(), "a reset fills every quota again");
    }
}

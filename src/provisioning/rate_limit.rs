//! Per-job upload quotas (docs/fidelity.md A.1 row 429): GCRA limiters from governor, one per configured quota (the
//! short window, and the optional daily cap), driven by the injected clock so tests are exact.
//!
//! GCRA lets `limit` requests arrive at once and then refills one every `window / limit`; this is the smooth
//! approximation of "N per window" (documented in the README's known differences).
//!
//! Several processes on one PostgreSQL database hold a job's quotas together: the same GCRA, its state (each
//! quota's theoretical arrival time) kept in the store and updated in one transaction per request
//! ([`JobLimiter::check_shared`], [`gcra`]).

use std::num::NonZeroU32;
use std::sync::RwLock;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;
use crate::config::RateQuota;
use crate::store::StoreError;

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
    /// `(emission interval, burst)` of each quota, in nanoseconds and requests (the shared form).
    cells: Vec<(i64, i64)>,
    limiters: RwLock<Vec<Limiter>>,
}

impl JobLimiter {
    pub fn new(quotas: &[RateQuota], clock: SharedClock) -> Self {
        let clock = QuotaClock(clock);
        let cells = quotas
            .iter()
            .filter(|q| q.limit > 0)
            .map(|q| {
                let period = Duration::from_secs(q.window_secs) / q.limit;
                (i64::try_from(period.as_nanos()).unwrap_or(i64::MAX), i64::from(q.limit))
            })
            .collect();
        let quotas: Vec<Quota> = quotas
            .iter()
            .filter_map(|q| {
                let burst = NonZeroU32::new(q.limit)?;
                let period = Duration::from_secs(q.window_secs) / q.limit;
                Some(Quota::with_period(period)?.allow_burst(burst))
            })
            .collect();
        let limiters = RwLock::new(Self::fresh(&quotas, &clock));
        Self { clock, quotas, cells, limiters }
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

impl JobLimiter {
    /// [`JobLimiter::check`] with the quotas' state in the store, shared by every process on its database.
    pub async fn check_shared(&self, store: &crate::store::Store, job_id: &str) -> Result<Result<(), u64>, StoreError> {
        let now = i64::try_from(self.clock.now().as_nanos()).unwrap_or(i64::MAX);
        let cells = self.cells.clone();
        store.take_quota(job_id, cells.len(), move |tats| gcra(&cells, tats, now)).await
    }
}

/// One request against every quota (`cells`: emission interval in ns, burst) whose theoretical arrival times
/// are `tats` (None: never used), at `now` (ns): the new arrival times when every quota allows it, else the
/// whole seconds (≥ 1) to wait for the first that does not. All or nothing: a refused request takes nothing.
pub fn gcra(cells: &[(i64, i64)], tats: &[Option<i64>], now: i64) -> Result<Vec<i64>, u64> {
    let mut next = Vec::with_capacity(cells.len());
    for (&(interval, burst), tat) in cells.iter().zip(tats) {
        let tat = tat.unwrap_or(now).max(now);
        let tolerance = interval.saturating_mul(burst - 1);
        let ahead = tat - now;
        if ahead > tolerance {
            let wait = u64::try_from(ahead - tolerance).unwrap_or(u64::MAX);
            let secs = wait / 1_000_000_000 + u64::from(wait % 1_000_000_000 > 0);
            return Err(secs.max(1));
        }
        next.push(tat.saturating_add(interval));
    }
    Ok(next)
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

    #[test]
    fn the_shared_form_agrees_with_the_limiter() {
        let cells = [(25_000_000, 40), (28_800_000_000_000, 3)];
        let mut tats = vec![None, None];
        let now = 1_000_000_000_000;
        for _ in 0..3 {
            tats = gcra(&cells, &tats, now).unwrap().into_iter().map(Some).collect();
        }
        assert_eq!(gcra(&cells, &tats, now), Err(28_800), "the daily cap, as daily_cap_reports_a_long_wait");
        let short = [(25_000_000, 40)];
        let mut tats = vec![None];
        for _ in 0..40 {
            tats = gcra(&short, &tats, now).unwrap().into_iter().map(Some).collect();
        }
        assert_eq!(gcra(&short, &tats, now), Err(1));
        assert!(gcra(&short, &tats, now + 25_000_000).is_ok(), "one refills every 25 ms");
    }
}

//! Back-pressure for the staging queue (DESIGN.md "Data flow"): a bounded count of operations accepted but
//! not yet processed. A request that would exceed the bound is refused with 429 before anything is staged,
//! so an accepted operation is never dropped.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct StagingGauge {
    pending: AtomicUsize,
    capacity: usize,
}

impl StagingGauge {
    pub fn new(capacity: usize, already_pending: usize) -> Self {
        Self { pending: AtomicUsize::new(already_pending), capacity }
    }

    /// Reserve room for `n` operations; false when the queue would overflow.
    pub fn try_reserve(&self, n: usize) -> bool {
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                p.checked_add(n).filter(|total| *total <= self.capacity)
            })
            .is_ok()
    }

    /// Give back `n` reserved slots (processed, or staging failed).
    pub fn release(&self, n: usize) {
        let _ = self.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_sub(n)));
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_capacity_and_frees_on_release() {
        let g = StagingGauge::new(60, 0);
        assert!(g.try_reserve(50));
        assert!(!g.try_reserve(11));
        assert!(g.try_reserve(10));
        g.release(50);
        assert_eq!(g.pending(), 10);
        assert!(g.try_reserve(50));
    }
}

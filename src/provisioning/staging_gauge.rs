//! Back-pressure for the staging queue (DESIGN "Data flow", docs/fidelity.md A.1 429 row): a bounded count of
//! operations accepted but not yet processed. A request that would exceed the bound is refused with 429
//! before anything is staged, so an accepted operation is never dropped.
//!
//! A request reserves its slots first ([`StagingGauge::try_reserve`]); the [`Reservation`] gives them back
//! when it is dropped — on every path that does not stage the operations (a storage failure included) —
//! unless the operations were staged ([`Reservation::keep`]), in which case the worker frees them when it
//! has processed them.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct StagingGauge {
    pending: AtomicUsize,
    capacity: usize,
}

/// Slots held for one request.
#[derive(Debug)]
#[must_use = "dropping a reservation gives its slots back at once"]
pub struct Reservation<'g> {
    gauge: &'g StagingGauge,
    slots: usize,
}

impl Reservation<'_> {
    /// The operations were staged: their slots stay taken until they are processed.
    pub fn keep(mut self) {
        self.slots = 0;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.gauge.release(self.slots);
    }
}

impl StagingGauge {
    pub fn new(capacity: usize, already_pending: usize) -> Self {
        Self { pending: AtomicUsize::new(already_pending), capacity }
    }

    /// Reserves room for `n` operations; `None` when the queue would overflow.
    pub fn try_reserve(&self, n: usize) -> Option<Reservation<'_>> {
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                p.checked_add(n).filter(|total| *total <= self.capacity)
            })
            .ok()
            .map(|_| Reservation { gauge: self, slots: n })
    }

    /// Gives back `n` slots (processed, purged or dropped by a reset).
    pub fn release(&self, n: usize) {
        let _ = self.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_sub(n)));
    }

    /// Takes `n` slots whatever the capacity (operations an import staged).
    pub fn hold(&self, n: usize) {
        let _ = self.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_add(n)));
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
        g.try_reserve(50).expect("room").keep();
        assert!(g.try_reserve(11).is_none());
        g.try_reserve(10).expect("room").keep();
        g.release(50);
        assert_eq!(g.pending(), 10);
        g.hold(60);
        assert_eq!(g.pending(), 70, "an import may stage beyond the capacity");
        g.release(60);
        assert!(g.try_reserve(50).is_some());
    }

    #[test]
    fn a_reservation_not_kept_gives_its_slots_back() {
        let g = StagingGauge::new(50, 0);
        {
            let _held = g.try_reserve(50).expect("room");
            assert_eq!(g.pending(), 50);
            assert!(g.try_reserve(1).is_none());
        }
        assert_eq!(g.pending(), 0, "a failed staging must not keep the slots");
        assert!(g.try_reserve(50).is_some());
    }
}

//! Every piece of in-memory state takes part in a reset (README "Complete reset"): each owner implements
//! [`StateOwner`], and [`StateOwners`], built once in `AppState::new`, holds them all, so `/_emulator/reset`
//! walks one list instead of a hand-kept sequence of calls. What the store keeps (directory, logs, staging
//! queue, saved job state and schemas, SCIM resources) is reset, exported and imported as a whole by the store
//! (`Store::reset`, `Store::export_state`, `Store::import_state`); the owners here hold what lives only in
//! memory, and the ones that mirror stored state (the jobs) are reloaded from the store after an import.
//!
//! Adding an owner: give its type an inherent `pub fn reset(&self)`, list the type in the `state_owner!`
//! invocation at the end of this file, and register its handle in `AppState::new`.

use std::fmt::Debug;
use std::sync::Arc;

/// State that a reset brings back to how a fresh start with the same configuration finds it.
pub trait StateOwner: Send + Sync + Debug {
    fn reset(&self);
}

/// The registered owners, in registration order.
#[derive(Debug, Default, Clone)]
pub struct StateOwners {
    owners: Vec<(&'static str, Arc<dyn StateOwner>)>,
}

impl StateOwners {
    /// Adds `owner` under `name` (shown by [`StateOwners::names`]).
    pub fn register(&mut self, name: &'static str, owner: Arc<dyn StateOwner>) {
        self.owners.push((name, owner));
    }

    /// Resets every owner.
    pub fn reset_all(&self) {
        for (_, owner) in &self.owners {
            owner.reset();
        }
    }

    /// The registered owners' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.owners.iter().map(|(name, _)| *name).collect()
    }
}

/// Implements [`StateOwner`] for types whose inherent `reset(&self)` does the work.
macro_rules! state_owner {
    ($($owner:ty),* $(,)?) => {
        $(impl StateOwner for $owner {
            fn reset(&self) {
                <$owner>::reset(self);
            }
        })*
    };
}

state_owner!(
    crate::provisioning::jobs::JobRegistry,
    crate::clock::VirtualClock,
    crate::control::faults::Faults,
    crate::control::journal::Journal,
    crate::control::report::Report,
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    struct Counter(AtomicUsize);

    impl StateOwner for Counter {
        fn reset(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_reset_reaches_every_registered_owner_once() {
        let (a, b) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
        let mut owners = StateOwners::default();
        owners.register("a", a.clone());
        owners.register("b", b.clone());
        owners.reset_all();
        assert_eq!((a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)), (1, 1));
        assert_eq!(owners.names(), ["a", "b"]);
    }
}

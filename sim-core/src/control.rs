//! Watching and stopping a run from another thread.
//!
//! A [`RunControl`] is shared between the threads that run replications and
//! whoever watches them (a progress bar, a Ctrl-C handler). The engine adds
//! the simulated time it has covered every few tens of thousands of events
//! and stops at the next such check once the run is cancelled. The control
//! never changes what a run computes: a run that is not cancelled gives the
//! same result with or without one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use strategies::Nanos;

/// Progress and cancellation of a run, shared across threads.
#[derive(Debug, Default)]
pub struct RunControl {
    cancelled: AtomicBool,
    simulated_ns: AtomicU64,
}

impl RunControl {
    /// A control with nothing simulated and no cancellation.
    pub fn new() -> RunControl {
        RunControl::default()
    }

    /// Asks every replication using this control to stop.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Simulated time covered so far, summed over replications.
    pub fn simulated(&self) -> Nanos {
        Nanos(self.simulated_ns.load(Ordering::Relaxed))
    }

    pub(crate) fn advance(&self, by: Nanos) {
        self.simulated_ns.fetch_add(by.0, Ordering::Relaxed);
    }
}

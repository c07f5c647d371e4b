//! Instances as the engine keeps them, and the view a balancer gets.

use std::collections::VecDeque;
use strategies::{Backends, CircuitBreaker, Nanos};

/// One instance: slots, a FIFO queue, its health as the fleet sees it,
/// its real condition, and the time integrals behind utilization.
#[derive(Debug)]
pub(super) struct Instance {
    pub(super) slots: u32,
    pub(super) running: u32,
    /// Live queued requests (the deque may also hold stale entries).
    pub(super) queued: u32,
    /// `(request, try id)`; an entry whose try id no longer matches is
    /// stale and skipped.
    pub(super) queue: VecDeque<(u32, u32)>,
    pub(super) routed: u64,
    /// Marked healthy by active checks (always, without them).
    pub(super) healthy: bool,
    /// Ejected by outlier detection.
    pub(super) ejected: bool,
    /// Out by passive health (nginx `max_fails`, Caddy `fail_duration`).
    pub(super) passive_down: bool,
    /// The passive-health recheck last scheduled.
    pub(super) passive_recheck_at: Nanos,
    /// Overlapping crash failures in force.
    pub(super) crashed: u32,
    /// Overlapping hang failures in force.
    pub(super) hung: u32,
    /// Service time multiplier from slow-instance events.
    pub(super) slow_factor: f64,
    pub(super) slow_events: u32,
    /// Integral of busy slots over time, in slot-nanoseconds.
    pub(super) busy_area: u128,
    pub(super) busy_area_at_warmup: u128,
    /// Integral of requests held (running plus queued) over time.
    pub(super) held_area: u128,
    pub(super) held_area_at_warmup: u128,
    pub(super) last_change: Nanos,
}

impl Instance {
    pub(super) fn new(slots: u32) -> Instance {
        Instance {
            slots,
            running: 0,
            queued: 0,
            queue: VecDeque::new(),
            routed: 0,
            healthy: true,
            ejected: false,
            passive_down: false,
            passive_recheck_at: Nanos::ZERO,
            crashed: 0,
            hung: 0,
            slow_factor: 1.0,
            slow_events: 0,
            busy_area: 0,
            busy_area_at_warmup: 0,
            held_area: 0,
            held_area_at_warmup: 0,
            last_change: Nanos::ZERO,
        }
    }

    /// Brings the time integrals up to `now`; call before `running` or
    /// `queued` changes.
    #[inline]
    pub(super) fn settle(&mut self, now: Nanos) {
        let dt = u128::from((now - self.last_change).0);
        self.busy_area += u128::from(self.running) * dt;
        self.held_area += u128::from(self.running + self.queued) * dt;
        self.last_change = now;
    }

    #[inline]
    pub(super) fn active(&self) -> u32 {
        self.running + self.queued
    }

    /// Whether the fleet's own view lets traffic here (it cannot see a
    /// crash until a check or an error reveals it).
    #[inline]
    pub(super) fn in_rotation(&self) -> bool {
        self.healthy && !self.ejected && !self.passive_down
    }
}

/// The balancer's view of the fleet: an instance is eligible while it is
/// in rotation (healthy, not ejected), its breaker lets calls through, and
/// it holds fewer requests than its connection limit.
pub(super) struct FleetView<'a> {
    pub(super) instances: &'a [Instance],
    pub(super) weights: &'a [u32],
    pub(super) breakers: &'a [CircuitBreaker],
    pub(super) max_per_instance: u32,
    pub(super) now: Nanos,
}

impl FleetView<'_> {
    #[inline]
    pub(super) fn breaker_permits(&self, i: usize) -> bool {
        self.breakers
            .get(i)
            .is_none_or(|b| b.would_permit(self.now))
    }
}

impl Backends for FleetView<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.instances.len()
    }
    #[inline]
    fn is_eligible(&self, i: usize) -> bool {
        let inst = &self.instances[i];
        inst.in_rotation() && inst.active() < self.max_per_instance && self.breaker_permits(i)
    }
    #[inline]
    fn is_healthy(&self, i: usize) -> bool {
        self.instances[i].in_rotation() && self.breaker_permits(i)
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        self.instances[i].active()
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.weights[i]
    }
}

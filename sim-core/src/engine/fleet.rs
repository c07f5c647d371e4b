//! Instances as the engine keeps them — slots, a FIFO queue, a life
//! (absent, starting, ready, draining), health as the fleet sees it, CPU
//! and memory — and the view a balancer gets.

use crate::scenario::FailureMode;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use strategies::{Backends, CircuitBreaker, Nanos};

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Life {
    /// Not running (an autoscaler may start it).
    Absent,
    /// Started, not yet taking traffic.
    Booting,
    /// Taking traffic.
    Ready,
    /// Being removed: no new traffic, finishing what it holds.
    Draining,
}

/// Time integrals of an instance, in unit-nanoseconds, ever growing.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Integrals {
    /// Busy slots.
    pub(super) busy: u128,
    /// Requests held (running plus queued).
    pub(super) held: u128,
    /// Cores in use (processor sharing), in core-nanoseconds.
    pub(super) cpu: f64,
    /// Time serving (ready, or draining what it holds).
    pub(super) ready: u128,
    /// Time running at all (starting, serving, draining): what is billed.
    pub(super) provisioned: u128,
    /// Requests routed to it (all, measured or not).
    pub(super) routed: u64,
}

/// Processor sharing of an instance's cores among requests in their CPU
/// phase: each of `k` jobs progresses at `min(1, cores / k)` of a core.
/// Work is tracked in a virtual clock (`vtime`, seconds of work done by any
/// one job since it started); a job finishes when the clock reaches the
/// value it was pushed with.
#[derive(Debug, Clone)]
pub(super) struct Cpu {
    pub(super) cores: f64,
    pub(super) jobs: u32,
    pub(super) vtime: f64,
    pub(super) at: Nanos,
    /// `(finish vtime as bits, request, attempt)`: positive finite floats
    /// order like their bits.
    pub(super) heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Bumped whenever the next completion is rescheduled.
    pub(super) gen: u32,
}

impl Cpu {
    pub(super) fn new(cores: f64) -> Cpu {
        Cpu {
            cores,
            jobs: 0,
            vtime: 0.0,
            at: Nanos::ZERO,
            heap: BinaryHeap::new(),
            gen: 0,
        }
    }

    /// Progress per job per second of real time.
    fn rate(&self) -> f64 {
        if self.jobs == 0 {
            1.0
        } else {
            (self.cores / f64::from(self.jobs)).min(1.0)
        }
    }

    /// Moves the virtual clock to `now`; returns the core-nanoseconds used
    /// since the last advance.
    pub(super) fn advance(&mut self, now: Nanos) -> f64 {
        let dt = (now - self.at).0 as f64;
        self.vtime += dt / 1e9 * self.rate();
        self.at = now;
        dt * f64::from(self.jobs).min(self.cores)
    }

    /// When the first job still running finishes, at the current rate.
    pub(super) fn next_done(&self, now: Nanos) -> Option<Nanos> {
        let Reverse((bits, _, _)) = self.heap.peek()?;
        let left = (f64::from_bits(*bits) - self.vtime).max(0.0);
        Some(now + Nanos((left / self.rate() * 1e9).ceil() as u64))
    }

    pub(super) fn clear(&mut self) {
        self.jobs = 0;
        self.heap.clear();
        self.gen = self.gen.wrapping_add(1);
    }
}

/// One instance.
#[derive(Debug)]
pub(super) struct Instance {
    pub(super) slots: u32,
    pub(super) running: u32,
    /// Live queued requests (the deque may also hold stale entries).
    pub(super) queued: u32,
    /// `(request, attempt id)`; an entry whose attempt no longer matches
    /// is stale and skipped.
    pub(super) queue: VecDeque<(u32, u32)>,
    /// Measured requests routed to it.
    pub(super) routed: u64,
    pub(super) life: Life,
    /// Bumped each time the instance is started: tells events of an
    /// earlier life apart.
    pub(super) epoch: u32,
    /// When it was last started (billing begins).
    pub(super) started_at: Nanos,
    /// Marked healthy by active checks (always, without them).
    pub(super) healthy: bool,
    /// Ejected by outlier detection.
    pub(super) ejected: bool,
    /// Out by passive health (nginx `max_fails`, Caddy `fail_duration`).
    pub(super) passive_down: bool,
    /// The passive-health recheck last scheduled.
    pub(super) passive_recheck_at: Nanos,
    /// Overlapping scheduled crash failures in force.
    pub(super) crashed: u32,
    /// Overlapping scheduled hang failures in force.
    pub(super) hung: u32,
    /// A random failure in force (it ends with the instance's life).
    pub(super) random_failure: Option<FailureMode>,
    /// Service time multiplier from slow-instance events.
    pub(super) slow_factor: f64,
    pub(super) slow_events: u32,
    /// Ready and in the fleet's rotation: kept by [`Instance::update`] so
    /// eligibility is a field read.
    pub(super) routable: bool,
    pub(super) cpu: Option<Cpu>,
    pub(super) totals: Integrals,
    pub(super) at_warmup: Integrals,
    pub(super) last_change: Nanos,
}

impl Instance {
    pub(super) fn new(slots: u32, cores: Option<f64>, present: bool) -> Instance {
        let mut i = Instance {
            slots,
            running: 0,
            queued: 0,
            queue: VecDeque::new(),
            routed: 0,
            life: if present { Life::Ready } else { Life::Absent },
            epoch: 0,
            started_at: Nanos::ZERO,
            healthy: true,
            ejected: false,
            passive_down: false,
            passive_recheck_at: Nanos::ZERO,
            crashed: 0,
            hung: 0,
            random_failure: None,
            slow_factor: 1.0,
            slow_events: 0,
            routable: false,
            cpu: cores.map(Cpu::new),
            totals: Integrals::default(),
            at_warmup: Integrals::default(),
            last_change: Nanos::ZERO,
        };
        i.update();
        i
    }

    /// Starts a new life at `now` (booting, or absent once stopped): the
    /// integrals are brought up to date, events of the previous life are
    /// made stale, and any pending random failure is forgotten.
    pub(super) fn enter(&mut self, life: Life, now: Nanos) {
        self.settle(now);
        self.life = life;
        self.epoch = self.epoch.wrapping_add(1);
        self.random_failure = None;
        self.update();
    }

    /// Brings the time integrals up to `now`; call before `running`,
    /// `queued`, CPU jobs or the life change.
    #[inline]
    pub(super) fn settle(&mut self, now: Nanos) {
        let dt = u128::from((now - self.last_change).0);
        if dt > 0 {
            let t = &mut self.totals;
            t.busy += u128::from(self.running) * dt;
            t.held += u128::from(self.running + self.queued) * dt;
            match self.life {
                Life::Ready | Life::Draining => {
                    t.ready += dt;
                    t.provisioned += dt;
                }
                Life::Booting => t.provisioned += dt,
                Life::Absent => {}
            }
            self.last_change = now;
        }
        if let Some(cpu) = &mut self.cpu {
            self.totals.cpu += cpu.advance(now);
        }
    }

    /// Refusing connections.
    #[inline]
    pub(super) fn is_crashed(&self) -> bool {
        self.crashed > 0 || self.random_failure == Some(FailureMode::Crash)
    }

    /// Accepting connections and never answering.
    #[inline]
    pub(super) fn is_hung(&self) -> bool {
        self.hung > 0 || self.random_failure == Some(FailureMode::Hang)
    }

    #[inline]
    pub(super) fn active(&self) -> u32 {
        self.running + self.queued
    }

    /// Whether the fleet's own view lets traffic here (it cannot see a
    /// crash until a check or an error reveals it).
    #[inline]
    pub(super) fn in_rotation(&self) -> bool {
        self.routable
    }

    /// Recomputes `routable` after a change of life or health.
    #[inline]
    pub(super) fn update(&mut self) {
        self.routable =
            self.life == Life::Ready && self.healthy && !self.ejected && !self.passive_down;
    }

    /// Running or starting: billed, counted by the autoscaler.
    pub(super) fn provisioned(&self) -> bool {
        matches!(self.life, Life::Booting | Life::Ready | Life::Draining)
    }
}

/// The balancer's view of the fleet: an instance is eligible while it is
/// in rotation (ready, healthy, not ejected), its breaker lets calls
/// through, and it holds fewer requests than its connection limit.
pub(super) struct FleetView<'a> {
    pub(super) instances: &'a [Instance],
    pub(super) weights: &'a [u32],
    pub(super) breakers: &'a [CircuitBreaker],
    pub(super) max_per_instance: u32,
    pub(super) now: Nanos,
    /// Each instance's load if it is eligible, else [`INELIGIBLE`], as of
    /// its last change: kept by [`Engine::touched`](super::Engine), which
    /// every change of load, health or breaker state calls, so a
    /// least-load scan reads one number per instance.
    pub(super) loads: &'a [u32],
}

/// The load kept for an instance that is not eligible.
pub(super) const INELIGIBLE: u32 = u32::MAX;

impl FleetView<'_> {
    /// Whether instance `i` is eligible, worked out afresh.
    #[inline(always)]
    pub(super) fn eligible_now(&self, i: usize) -> bool {
        let inst = &self.instances[i];
        inst.routable && inst.active() < self.max_per_instance && self.breaker_permits(i)
    }

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
        self.eligible_active(i).is_some()
    }
    #[inline]
    fn eligible_active(&self, i: usize) -> Option<u32> {
        let a = self.loads[i];
        debug_assert_eq!(
            (a != INELIGIBLE).then_some(a),
            self.eligible_now(i).then(|| self.instances[i].active()),
            "instance {i}'s load or eligibility changed without `touched`"
        );
        (a != INELIGIBLE).then_some(a)
    }
    #[inline]
    fn is_present(&self, i: usize) -> bool {
        self.instances[i].life == Life::Ready
    }
    #[inline]
    fn is_healthy(&self, i: usize) -> bool {
        self.instances[i].routable && self.breaker_permits(i)
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        self.instances[i].active()
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.weights[i]
    }
    /// The engine refreshes every balancer after each change (`touched`).
    #[inline(always)]
    fn refreshed(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_sharing_slows_jobs_past_the_cores() {
        // Two cores, three jobs of 1s work each from t=0: each runs at 2/3,
        // so all finish at 1.5s; the cores are fully used.
        let mut c = Cpu::new(2.0);
        for r in 0..3 {
            c.heap.push(Reverse((1.0f64.to_bits(), r, 0)));
        }
        c.jobs = 3;
        assert_eq!(c.next_done(Nanos::ZERO), Some(Nanos(1_500_000_000)));
        let used = c.advance(Nanos(1_500_000_000));
        assert!((used - 3.0e9).abs() < 1.0, "{used}");
        assert!((c.vtime - 1.0).abs() < 1e-12);
        // One job alone on two cores runs at full speed, using one core.
        let mut c = Cpu::new(2.0);
        c.heap.push(Reverse((0.5f64.to_bits(), 0, 0)));
        c.jobs = 1;
        assert_eq!(c.next_done(Nanos::ZERO), Some(Nanos(500_000_000)));
        assert!((c.advance(Nanos(500_000_000)) - 0.5e9).abs() < 1.0);
    }
}

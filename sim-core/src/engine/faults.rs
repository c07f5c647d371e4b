//! Failures and the machinery that reacts to them: scheduled and random
//! instance failures, active health checks, outlier detection ticks.

use super::{Cause, Engine, Event, State};
use crate::scenario::{FailureKind, FailureMode};

impl Engine<'_> {
    /// Schedules the first health checks, outlier ticks and failures.
    pub(super) fn schedule_faults(&mut self) {
        let model = self.model;
        let n = self.instances.len();
        if let Some(h) = &model.health_check {
            for i in 0..n {
                self.events
                    .push(h.interval.nanos(), Event::HealthCheck { inst: i as u32 });
            }
        }
        if let Some(o) = &self.outlier {
            let every = o.config().interval.nanos();
            self.events.push(every, Event::OutlierTick);
        }
        for (k, f) in model.failure_events.iter().enumerate() {
            self.events
                .push(f.at, Event::FailureStart { event: k as u32 });
        }
        if let Some(r) = &model.random_failures {
            for i in 0..n {
                let t = r.between.sample(&mut self.failures_rng);
                self.events.push(t, Event::RandomFail { inst: i as u32 });
            }
        }
    }

    pub(super) fn on_health_check(&mut self, i: usize) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        let inst = &self.instances[i];
        if inst.crashed > 0 {
            self.record_health(i, false);
            self.events.push(
                self.now + cfg.interval.nanos(),
                Event::HealthCheck { inst: i as u32 },
            );
        } else if inst.hung > 0 {
            // No answer: the check fails when its timeout expires.
            let at = self.now + cfg.timeout.nanos();
            self.events.push(
                at,
                Event::HealthResult {
                    inst: i as u32,
                    passed: false,
                },
            );
        } else {
            self.record_health(i, true);
            self.events.push(
                self.now + cfg.interval.nanos(),
                Event::HealthCheck { inst: i as u32 },
            );
        }
    }

    pub(super) fn on_health_result(&mut self, i: usize, passed: bool) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        self.record_health(i, passed);
        self.events.push(
            self.now + cfg.interval.nanos(),
            Event::HealthCheck { inst: i as u32 },
        );
    }

    fn record_health(&mut self, i: usize, passed: bool) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        if let Some(healthy) = self.health[i].record(cfg, passed) {
            self.instances[i].healthy = healthy;
            if !healthy {
                self.resilience.marked_unhealthy += 1;
            }
            self.touched(i);
        }
    }

    pub(super) fn on_outlier_tick(&mut self) {
        let now = self.now;
        let Some(o) = &mut self.outlier else { return };
        let mut back = std::mem::take(&mut self.scratch);
        back.clear();
        o.tick(now, |i| back.push(i as u32));
        let every = o.config().interval.nanos();
        for &i in &back {
            self.instances[i as usize].ejected = false;
            self.touched(i as usize);
        }
        self.scratch = back;
        self.events.push(now + every, Event::OutlierTick);
    }

    pub(super) fn on_failure_event(&mut self, k: usize, starting: bool) {
        let f = &self.model.failure_events[k];
        if starting {
            self.events
                .push(self.now + f.duration, Event::FailureEnd { event: k as u32 });
        }
        for idx in 0..f.instances.len() {
            let i = self.model.failure_events[k].instances[idx] as usize;
            let f = &self.model.failure_events[k];
            match (f.kind, starting) {
                (FailureKind::SlowInstance, true) => {
                    let inst = &mut self.instances[i];
                    inst.slow_events += 1;
                    inst.slow_factor *= f.factor;
                }
                (FailureKind::SlowInstance, false) => {
                    let inst = &mut self.instances[i];
                    inst.slow_events -= 1;
                    inst.slow_factor = if inst.slow_events == 0 {
                        1.0
                    } else {
                        inst.slow_factor / f.factor
                    };
                }
                (FailureKind::InstanceHang, true) => self.instance_down(i, FailureMode::Hang),
                (FailureKind::InstanceHang, false) => self.instance_up(i, FailureMode::Hang),
                (FailureKind::InstanceCrash | FailureKind::RegionOutage, true) => {
                    self.instance_down(i, FailureMode::Crash)
                }
                (FailureKind::InstanceCrash | FailureKind::RegionOutage, false) => {
                    self.instance_up(i, FailureMode::Crash)
                }
            }
        }
    }

    pub(super) fn on_random_fail(&mut self, i: usize) {
        let Some(r) = &self.model.random_failures else {
            return;
        };
        let repair = r.repair.sample(&mut self.failures_rng);
        let mode = r.mode;
        self.events
            .push(self.now + repair, Event::RandomRepair { inst: i as u32 });
        self.instance_down(i, mode);
    }

    pub(super) fn on_random_repair(&mut self, i: usize) {
        let Some(r) = &self.model.random_failures else {
            return;
        };
        let next = r.between.sample(&mut self.failures_rng);
        let mode = r.mode;
        self.events
            .push(self.now + next, Event::RandomFail { inst: i as u32 });
        self.instance_up(i, mode);
    }

    fn instance_down(&mut self, i: usize, mode: FailureMode) {
        self.resilience.instance_failures += u64::from(self.now >= self.model.warmup);
        let inst = &mut self.instances[i];
        match mode {
            FailureMode::Crash => {
                inst.crashed += 1;
                if inst.crashed == 1 {
                    self.drop_requests_on(i);
                }
            }
            FailureMode::Hang => inst.hung += 1,
        }
    }

    fn instance_up(&mut self, i: usize, mode: FailureMode) {
        let inst = &mut self.instances[i];
        match mode {
            FailureMode::Crash => inst.crashed -= 1,
            FailureMode::Hang => {
                inst.hung -= 1;
                if inst.hung == 0 && inst.crashed == 0 {
                    // The hung process is restarted: what it held is lost.
                    self.drop_requests_on(i);
                }
            }
        }
    }

    /// Every request held by instance `i` fails (connection reset). A scan
    /// of the request slab, on the rare failure path only.
    fn drop_requests_on(&mut self, i: usize) {
        let now = self.now;
        let mut lost = std::mem::take(&mut self.scratch);
        lost.clear();
        for (k, r) in self.requests.iter().enumerate() {
            if r.instance as usize == i && matches!(r.state, State::Running | State::Queued) {
                lost.push(k as u32);
            }
        }
        let inst = &mut self.instances[i];
        inst.settle(now);
        self.held -= u64::from(inst.running + inst.queued);
        inst.running = 0;
        inst.queued = 0;
        inst.queue.clear();
        for &req in &lost {
            let r = &mut self.requests[req as usize];
            // Parked until the retry decision: not running, not queued.
            r.state = State::Backoff;
            let latency = now - r.dispatched;
            self.observe_attempt(i, latency, strategies::AttemptOutcome::ConnectFailure);
        }
        self.touched(i);
        for &req in &lost {
            self.attempt_failed(req, Cause::InstanceDown);
        }
        self.scratch = lost;
    }
}

//! Failures: scheduled events (instance crash, hang, slow instance, region
//! outage, capacity shortage) and random failures of each running
//! instance, and what an instance that goes down does to its requests.

use super::requests::{Cause, State};
use super::resilience::ResilienceEvent;
use super::step::Observer;
use super::{Engine, Event};
use crate::rng::StreamRng;
use crate::scenario::{FailureKind, FailureMode};

/// The faults component's state: random failures draw from a stream of
/// their own (scheduled failures are the model's).
pub(super) struct Faults {
    pub(super) rng: StreamRng,
}

impl<O: Observer> Engine<'_, O> {
    /// Schedules the first outlier tick, the scheduled failures and the
    /// random failures of the instances running at the start.
    pub(super) fn schedule_faults(&mut self) {
        let model = self.model;
        if let Some(o) = &self.resilience.outlier {
            let every = o.config().interval.nanos();
            self.events
                .push(every, Event::Resilience(ResilienceEvent::OutlierTick));
        }
        for (k, f) in model.failures.events.iter().enumerate() {
            self.events
                .push(f.at, Event::Fault(FaultEvent::Start { event: k as u32 }));
        }
        for i in 0..self.instances.len() {
            if self.instances[i].provisioned() {
                self.start_health_checks(i);
                self.schedule_random_failure(i);
            }
        }
    }

    /// The next random failure of instance `i` in its current life.
    pub(super) fn schedule_random_failure(&mut self, i: usize) {
        if let Some(r) = &self.model.failures.random {
            let t = r.between.sample(&mut self.faults.rng);
            let epoch = self.instances[i].epoch;
            self.events.push(
                self.now + t,
                Event::Fault(FaultEvent::RandomFail {
                    inst: i as u32,
                    epoch,
                }),
            );
        }
    }

    fn on_failure_event(&mut self, k: usize, starting: bool) {
        let f = &self.model.failures.events[k];
        if starting {
            self.events.push(
                self.now + f.duration,
                Event::Fault(FaultEvent::End { event: k as u32 }),
            );
        }
        if let (Some(client), Some(region)) = (f.client, f.region) {
            self.network.degrade(client, region, f.factor, starting);
            return;
        }
        if let (Some(m), Some(p)) = (f.model, &mut self.llm.providers) {
            let down = f.kind == FailureKind::ProviderOutage;
            p.event(m as usize, down, f.factor, starting);
            return;
        }
        if f.kind == FailureKind::CapacityShortage {
            if let (Some(r), Some(s)) = (f.region, &mut self.scaling.auto) {
                s.shortage(r as usize, starting);
            }
            return;
        }
        for idx in 0..f.instances.len() {
            let i = self.model.failures.events[k].instances[idx] as usize;
            let f = &self.model.failures.events[k];
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
                (FailureKind::InstanceHang, true) => {
                    self.instances[i].hung += 1;
                    self.count_failure(i);
                }
                (FailureKind::InstanceHang, false) => {
                    self.instances[i].hung -= 1;
                    self.maybe_restart(i);
                }
                (FailureKind::InstanceCrash | FailureKind::RegionOutage, true) => {
                    let was = self.instances[i].is_crashed();
                    self.instances[i].crashed += 1;
                    self.count_failure(i);
                    if !was {
                        self.drop_requests_on(i);
                    }
                }
                (FailureKind::InstanceCrash | FailureKind::RegionOutage, false) => {
                    self.instances[i].crashed -= 1;
                }
                (
                    FailureKind::CapacityShortage
                    | FailureKind::ProviderOutage
                    | FailureKind::ProviderSlowdown
                    | FailureKind::NetworkDegradation,
                    _,
                ) => {}
            }
        }
    }

    fn count_failure(&mut self, i: usize) {
        let provisioned = self.instances[i].provisioned();
        self.resilience.events.instance_failures +=
            u64::from(self.now >= self.model.run.warmup && provisioned);
    }

    fn on_random_fail(&mut self, i: usize, epoch: u32) {
        let Some(r) = &self.model.failures.random else {
            return;
        };
        let inst = &self.instances[i];
        if inst.epoch != epoch || !inst.provisioned() {
            return;
        }
        let repair = r.repair.sample(&mut self.faults.rng);
        let mode = r.mode;
        self.events.push(
            self.now + repair,
            Event::Fault(FaultEvent::RandomRepair {
                inst: i as u32,
                epoch,
            }),
        );
        let was = self.instances[i].is_crashed();
        self.instances[i].random_failure = Some(mode);
        self.count_failure(i);
        if mode == FailureMode::Crash && !was {
            self.drop_requests_on(i);
        }
    }

    fn on_random_repair(&mut self, i: usize, epoch: u32) {
        let inst = &self.instances[i];
        if inst.epoch != epoch || !inst.provisioned() {
            return;
        }
        let mode = self.instances[i].random_failure.take();
        if mode == Some(FailureMode::Hang) {
            self.maybe_restart(i);
        }
        self.schedule_random_failure(i);
    }

    /// A hang that ended: the hung process is restarted and what it held
    /// is lost.
    fn maybe_restart(&mut self, i: usize) {
        let inst = &self.instances[i];
        if !inst.is_hung() && !inst.is_crashed() {
            self.drop_requests_on(i);
        }
    }

    /// Every request held by instance `i` fails (connection reset). A scan
    /// of the request slab, on the rare failure path only.
    pub(super) fn drop_requests_on(&mut self, i: usize) {
        let now = self.now;
        let mut lost = std::mem::take(&mut self.scratch);
        lost.clear();
        for (k, r) in self.requests.iter().enumerate() {
            if r.instance as usize == i && (r.state.in_slot() || r.state == State::Queued) {
                lost.push(k as u32);
            }
        }
        let inst = &mut self.instances[i];
        inst.settle(now);
        self.held -= u64::from(inst.running + inst.queued);
        inst.running = 0;
        inst.queued = 0;
        inst.queue.clear();
        if let Some(cpu) = &mut inst.cpu {
            cpu.clear();
        }
        if let Some(p) = self
            .llm
            .providers
            .as_mut()
            .and_then(|p| p.permits.get_mut(i))
        {
            // Its calls are cut: their permits and queue go with them.
            p.busy = 0;
            p.waiting.clear();
        }
        for &req in &lost {
            self.released(req, i);
            // A call cut by the failure is a failure to its breaker (which
            // would otherwise wait for a half-open trial for ever).
            self.end_leg(req, false);
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

/// Failures' events.
#[derive(Debug, Clone, Copy)]
pub(super) enum FaultEvent {
    /// Scheduled failure `event` starts.
    Start { event: u32 },
    /// Scheduled failure `event` ends.
    End { event: u32 },
    /// A random failure of an instance's life `epoch` starts.
    RandomFail { inst: u32, epoch: u32 },
    /// It is repaired.
    RandomRepair { inst: u32, epoch: u32 },
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a failure event.
    pub(super) fn handle_fault(&mut self, ev: FaultEvent) {
        match ev {
            FaultEvent::Start { event } => self.on_failure_event(event as usize, true),
            FaultEvent::End { event } => self.on_failure_event(event as usize, false),
            FaultEvent::RandomFail { inst, epoch } => self.on_random_fail(inst as usize, epoch),
            FaultEvent::RandomRepair { inst, epoch } => self.on_random_repair(inst as usize, epoch),
        }
    }
}

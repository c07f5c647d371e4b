//! Autoscaling: the metrics pipeline (samples every collection interval,
//! averaged over a window, as metrics-server and CloudWatch do), one
//! controller per region deciding every check interval, and the instances'
//! lives it drives — start-up, readiness, draining, stop — plus memory
//! pressure (OOM kills and restarts).

use super::fleet::{Integrals, Life};
use super::requests::State;
use super::step::Observer;
use super::{Engine, Event};
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::{Model, ScalingModel};
use crate::timeline::{ScalingEvent, ScalingSummary};
use std::collections::VecDeque;
use strategies::scale::{
    AnyAutoscaler, Autoscaler, BudgetLimit, InstanceSample, ScaleInput, ScaleReason,
};
use strategies::{CircuitBreaker, Nanos};

/// One region's controller and its view of the metrics.
#[derive(Debug)]
struct RegionScaler {
    scaler: AnyAutoscaler,
    first: usize,
    capacity: usize,
    /// Capacity shortages in force.
    shortage: u32,
    /// Per instance of the region: its totals at the last collection and
    /// its recent samples.
    last: Vec<Integrals>,
    samples: Vec<VecDeque<InstanceSample>>,
    /// The region's queue depth over recent collections.
    queue: VecDeque<f64>,
    /// Completions since the last collection, and recent (sum ms, count).
    rt_sum: f64,
    rt_count: u64,
    response: VecDeque<(f64, u64)>,
    /// What the controller wants (starting and ready).
    desired: u32,
}

/// The scaling component's state: the autoscalers when the scenario has
/// them, and what the fleet's size did.
pub(super) struct Scaler {
    pub(super) auto: Option<Scaling>,
    pub(super) summary: ScalingSummary,
    /// Some instance type is killed over its memory limit.
    pub(super) oom_possible: bool,
}

impl Scaler {
    pub(super) fn new(model: &Model, replication: u32) -> Scaler {
        Scaler {
            auto: model.fleet.scaling.as_ref().map(|s| {
                Scaling::new(
                    model,
                    s,
                    stream(model.run.seed, replication, Purpose::Scaling),
                )
            }),
            summary: ScalingSummary::default(),
            oom_possible: model.fleet.types.iter().any(|t| t.oom_kill),
        }
    }
}

/// Autoscaling over the whole fleet.
#[derive(Debug)]
pub(super) struct Scaling {
    regions: Vec<RegionScaler>,
    collection: Nanos,
    depth: usize,
    last_collect: Nanos,
    pub(super) log: Vec<ScalingEvent>,
    rng: StreamRng,
    input: Vec<InstanceSample>,
    /// Some region may scale to zero: requests wait at the entry while no
    /// instance is ready.
    from_zero: bool,
    /// Requests waiting at the entry (request, generation), oldest first;
    /// entries of requests that timed out meanwhile are skipped.
    entry: VecDeque<(u32, u32)>,
    /// Requests waiting at the entry now.
    entry_live: u64,
    /// Per instance: a canary's (empty without a canary), checked only
    /// when an instance is removed.
    canary: Vec<bool>,
}

impl Scaling {
    pub(super) fn new(model: &Model, s: &ScalingModel, rng: StreamRng) -> Scaling {
        // Samples a window holds: never more than the run collects, so a
        // window longer than the run (9999999d) keeps what the run has,
        // as it would, without reserving room for the rest.
        let collected = model.run.duration.0 / s.collection_interval.0 + 1;
        let depth = (s.window.0.div_ceil(s.collection_interval.0))
            .min(collected)
            .max(1) as usize;
        Scaling {
            regions: model
                .fleet
                .regions
                .iter()
                .map(|r| RegionScaler {
                    scaler: s.config.build(),
                    first: r.first as usize,
                    capacity: r.capacity as usize,
                    shortage: 0,
                    last: vec![Integrals::default(); r.capacity as usize],
                    samples: vec![VecDeque::with_capacity(depth); r.capacity as usize],
                    queue: VecDeque::with_capacity(depth),
                    rt_sum: 0.0,
                    rt_count: 0,
                    response: VecDeque::with_capacity(depth),
                    desired: r.initial,
                })
                .collect(),
            collection: s.collection_interval,
            depth,
            last_collect: Nanos::ZERO,
            log: Vec::new(),
            rng,
            input: Vec::new(),
            from_zero: s.config.build().bounds().0 == 0,
            entry: VecDeque::new(),
            entry_live: 0,
            canary: crate::lint::canary_members(model),
        }
    }

    /// Requests waiting at the entry for an instance.
    pub(super) fn held_at_entry(&self) -> u64 {
        self.entry_live
    }

    /// The controllers' check interval (every region runs the same policy).
    pub(super) fn interval(&self) -> Nanos {
        self.regions
            .first()
            .map_or(Nanos::from_secs(30), |r| r.scaler.interval())
    }

    pub(super) fn collection(&self) -> Nanos {
        self.collection
    }

    /// A request served in `region` completed after `latency`.
    pub(super) fn completed(&mut self, region: usize, latency: Nanos) {
        if let Some(r) = self.regions.get_mut(region) {
            r.rt_sum += latency.as_secs_f64() * 1e3;
            r.rt_count += 1;
        }
    }

    pub(super) fn shortage(&mut self, region: usize, starting: bool) {
        if let Some(r) = self.regions.get_mut(region) {
            if starting {
                r.shortage += 1;
            } else {
                r.shortage -= 1;
            }
        }
    }

    pub(super) fn desired_total(&self) -> u32 {
        self.regions.iter().map(|r| r.desired).sum()
    }
}

fn push<T>(q: &mut VecDeque<T>, depth: usize, v: T) {
    if q.len() == depth {
        q.pop_front();
    }
    q.push_back(v);
}

/// Scaling from zero. While no instance is ready, requests wait at the
/// entry (as KEDA's HTTP add-on interceptor holds them) until their
/// request timeout, and count in the queue depth every region's autoscaler
/// sees; the first instance to turn ready takes them, oldest first.
impl<O: Observer> Engine<'_, O> {
    /// Holds `req` at the entry if the fleet may scale from zero and has
    /// no ready instance; false if it is not held.
    pub(super) fn hold_at_entry(&mut self, req: u32) -> bool {
        let Some(s) = &mut self.scaling.auto else {
            return false;
        };
        if !s.from_zero || self.instances.iter().any(|i| i.life == Life::Ready) {
            return false;
        }
        let r = &mut self.requests[req as usize];
        r.state = State::Held;
        s.entry.push_back((req, r.gen));
        s.entry_live += 1;
        // Entries of requests that timed out are dropped once they are
        // most of the queue: memory follows the requests still waiting.
        if s.entry.len() as u64 > 2 * s.entry_live + 64 {
            let requests = &self.requests;
            s.entry.retain(|&(q, g)| {
                requests[q as usize].gen == g && requests[q as usize].state == State::Held
            });
        }
        true
    }

    /// A held request ends (its request timeout).
    pub(super) fn unhold(&mut self) {
        if let Some(s) = &mut self.scaling.auto {
            s.entry_live -= 1;
        }
    }

    /// An instance turned ready: the requests held at the entry go to the
    /// balancer, oldest first. Those held again meanwhile (the instance was
    /// killed taking them) wait for the next one.
    fn release_held(&mut self) {
        let waiting = self.scaling.auto.as_ref().map_or(0, |s| s.entry.len());
        for _ in 0..waiting {
            let Some(s) = &mut self.scaling.auto else {
                return;
            };
            let Some((req, gen)) = s.entry.pop_front() else {
                return;
            };
            let r = &self.requests[req as usize];
            if r.gen != gen || r.state != State::Held {
                continue;
            }
            s.entry_live -= 1;
            self.dispatch(req);
        }
    }

    /// Schedules the first metrics collection and controller check.
    pub(super) fn schedule_scaling(&mut self) {
        if let Some(s) = &self.scaling.auto {
            let (collect, check) = (s.collection(), s.interval());
            self.events
                .push(collect, Event::Scaling(ScaleEvent::MetricsCollect));
            self.events.push(check, Event::Scaling(ScaleEvent::Check));
        }
    }

    /// One sample per instance and per region, from the time integrals
    /// since the last collection.
    fn on_metrics_collect(&mut self) {
        let now = self.now;
        let model = self.model;
        let Some(s) = &mut self.scaling.auto else {
            return;
        };
        self.events.push(
            now + s.collection,
            Event::Scaling(ScaleEvent::MetricsCollect),
        );
        let dt = (now - s.last_collect).0 as f64;
        s.last_collect = now;
        if dt <= 0.0 {
            return;
        }
        let depth = s.depth;
        let held_at_entry = s.entry_live as f64;
        for region in &mut s.regions {
            let mut queue = 0.0;
            for k in 0..region.capacity {
                let i = region.first + k;
                let inst = &mut self.instances[i];
                inst.settle(now);
                let t = inst.totals;
                let last = std::mem::replace(&mut region.last[k], t);
                let held = (t.held - last.held) as f64 / dt;
                let busy = (t.busy - last.busy) as f64 / dt;
                queue += held - busy;
                if inst.life != Life::Ready {
                    region.samples[k].clear();
                    continue;
                }
                let ty = &model.fleet.types[model.fleet.instances[i].type_index as usize];
                let sample = InstanceSample {
                    ready: true,
                    cpu_utilization: ty.cores.map(|c| (t.cpu - last.cpu) / (c * dt) * 100.0),
                    memory_utilization: ty
                        .memory
                        .map(|m| (ty.idle_memory + ty.memory_per_request * busy) / m * 100.0),
                    connections: held,
                    requests_per_second: (t.routed - last.routed) as f64 / (dt / 1e9),
                };
                push(&mut region.samples[k], depth, sample);
            }
            push(&mut region.queue, depth, queue + held_at_entry);
            push(
                &mut region.response,
                depth,
                (region.rt_sum, region.rt_count),
            );
            region.rt_sum = 0.0;
            region.rt_count = 0;
        }
    }

    /// Every region's controller decides; the decision is applied within
    /// the region's capacity, its shortages and the budget.
    fn on_scale_check(&mut self) {
        let now = self.now;
        let Some(s) = &mut self.scaling.auto else {
            return;
        };
        self.events
            .push(now + s.interval(), Event::Scaling(ScaleEvent::Check));
        for ri in 0..s.regions.len() {
            self.check_region(ri);
        }
    }

    fn check_region(&mut self, ri: usize) {
        let now = self.now;
        let Some(s) = &mut self.scaling.auto else {
            return;
        };
        let region = &mut s.regions[ri];
        // What the pipeline saw: each running instance's window average.
        let mut input = std::mem::take(&mut s.input);
        input.clear();
        let mut current = 0u32;
        for k in 0..region.capacity {
            let inst = &self.instances[region.first + k];
            if !matches!(inst.life, Life::Booting | Life::Ready) {
                continue;
            }
            current += 1;
            let samples = &region.samples[k];
            if samples.is_empty() {
                input.push(InstanceSample::default());
                continue;
            }
            let n = samples.len() as f64;
            let avg = |f: &dyn Fn(&InstanceSample) -> f64| samples.iter().map(f).sum::<f64>() / n;
            input.push(InstanceSample {
                ready: true,
                cpu_utilization: samples[0]
                    .cpu_utilization
                    .map(|_| avg(&|x| x.cpu_utilization.unwrap_or(0.0))),
                memory_utilization: samples[0]
                    .memory_utilization
                    .map(|_| avg(&|x| x.memory_utilization.unwrap_or(0.0))),
                connections: avg(&|x| x.connections),
                requests_per_second: avg(&|x| x.requests_per_second),
            });
        }
        let queue = if region.queue.is_empty() {
            0.0
        } else {
            region.queue.iter().sum::<f64>() / region.queue.len() as f64
        };
        let (sum, count) = region
            .response
            .iter()
            .fold((0.0, 0u64), |(s, c), &(rs, rc)| (s + rs, c + rc));
        let mut scale_input = ScaleInput::new(current, &input);
        scale_input.queue_depth = queue;
        scale_input.response_time_ms = (count > 0).then(|| sum / count as f64);
        let fleet = scale_input.fleet();
        let decision = region.scaler.decide(now, &scale_input);
        region.desired = decision.desired;
        let (first, capacity, shortage) = (region.first, region.capacity, region.shortage > 0);
        s.input = input;

        // Apply it.
        let mut to = current;
        let mut refusal: Option<&'static str> = None;
        if decision.desired > current {
            for _ in current..decision.desired {
                if shortage {
                    refusal = Some("capacity-shortage");
                    break;
                }
                let Some(free) =
                    (first..first + capacity).find(|&i| self.instances[i].life == Life::Absent)
                else {
                    refusal = Some("region-full");
                    break;
                };
                let price = self.model.fleet.instances[free].price_per_hour;
                if let Some(limit) = self.budget_refuses(price) {
                    refusal = Some(match limit {
                        BudgetLimit::PerHour => "budget-per-hour",
                        BudgetLimit::Total => "budget-total",
                    });
                    break;
                }
                self.provision(free);
                to += 1;
            }
            let refused = u64::from(decision.desired - to);
            match refusal {
                Some("budget-per-hour" | "budget-total") => {
                    self.scaling.summary.refused_by_budget += refused
                }
                Some(_) => self.scaling.summary.refused_by_capacity += refused,
                None => {}
            }
            self.scaling.summary.scale_ups += u64::from(to - current);
        } else if decision.desired < current {
            for _ in decision.desired..current {
                // Newest first, starting ones before ready ones (as the
                // General Bots script removes the highest numbered and a
                // ReplicaSet removes pods not yet ready first).
                let pick = (first..first + capacity)
                    .filter(|&i| matches!(self.instances[i].life, Life::Booting | Life::Ready))
                    .max_by_key(|&i| {
                        let inst = &self.instances[i];
                        (inst.life == Life::Booting, inst.started_at, i)
                    });
                let Some(i) = pick else { break };
                self.note_canary_removed(i);
                self.remove(i);
                to -= 1;
            }
            self.scaling.summary.scale_downs += u64::from(current - to);
        }
        let Some(s) = &mut self.scaling.auto else {
            return;
        };
        if to != current {
            s.regions[ri].scaler.applied(now, current, to);
        }
        if decision.reason != ScaleReason::Steady || to != current {
            let reason = refusal.map_or_else(|| decision.reason.to_string(), str::to_string);
            s.log.push(ScalingEvent {
                time: now.as_secs_f64(),
                region: self.model.fleet.regions[ri].name.clone(),
                from: current,
                wanted: decision.wanted,
                desired: decision.desired,
                to,
                reason,
                metric: decision.metric.map(|m| m.name().to_string()),
                cpu_percent: fleet.cpu,
                memory_percent: fleet.memory,
                connections: fleet.connections,
                requests_per_minute: fleet.requests_per_second.map(|r| r * 60.0),
                response_time_ms: fleet.response_time_ms,
                queue_depth: fleet.queue_depth,
            });
            self.notify_scaled();
        }
        let running = self.instances.iter().filter(|i| i.provisioned()).count() as u32;
        self.scaling.summary.peak_instances = self.scaling.summary.peak_instances.max(running);
    }

    /// Notes an autoscaler removing instance `i` when it is a canary's.
    fn note_canary_removed(&mut self, i: usize) {
        let canary = self
            .scaling
            .auto
            .as_ref()
            .is_some_and(|s| s.canary.get(i).copied().unwrap_or(false));
        let summary = &mut self.scaling.summary;
        if canary && summary.canary_removed_at.is_none() {
            summary.canary_removed_at = Some(self.now.as_secs_f64());
        }
    }

    /// Starts instance `i`: billed from now, ready after its start-up time.
    fn provision(&mut self, i: usize) {
        let now = self.now;
        let price = self.model.fleet.instances[i].price_per_hour;
        self.cost.start(now, price);
        let inst = &mut self.instances[i];
        inst.settle(now);
        inst.started_at = now;
        self.boot(i);
    }

    /// Puts instance `i` through its start-up (a start, or a restart after
    /// an OOM kill).
    fn boot(&mut self, i: usize) {
        let now = self.now;
        let ty = &self.model.fleet.types[self.model.fleet.instances[i].type_index as usize];
        let startup = match &mut self.scaling.auto {
            Some(s) => ty.startup.sample(&mut s.rng),
            None => ty.startup.sample(&mut self.faults.rng),
        };
        let inst = &mut self.instances[i];
        inst.enter(Life::Booting, now);
        let epoch = inst.epoch;
        self.touched(i);
        self.events.push(
            now + startup,
            Event::Scaling(ScaleEvent::BootDone {
                inst: i as u32,
                epoch,
            }),
        );
    }

    /// A started instance turns ready: a new process, with no health
    /// history, taking traffic.
    fn on_boot_done(&mut self, i: usize, epoch: u32) {
        let now = self.now;
        let inst = &mut self.instances[i];
        if inst.epoch != epoch || inst.life != Life::Booting {
            return;
        }
        inst.settle(now);
        inst.life = Life::Ready;
        inst.healthy = true;
        inst.ejected = false;
        inst.passive_down = false;
        inst.update();
        if let Some(h) = self.resilience.health.get_mut(i) {
            *h = Default::default();
        }
        if let Some(o) = &mut self.resilience.outlier {
            o.forget(i);
        }
        if let Some(p) = &mut self.resilience.passive {
            p.forget(i);
        }
        if let Some(p) = &mut self.llm.providers {
            p.restart(i);
        }
        if let Some(b) = self.resilience.breakers.get_mut(i) {
            *b = CircuitBreaker::new(b.config().clone());
        }
        self.start_health_checks(i);
        self.schedule_random_failure(i);
        self.touched(i);
        self.release_held();
    }

    /// Removes instance `i`: a starting one stops at once; a ready one
    /// drains: no new traffic, up to its drain timeout to finish.
    fn remove(&mut self, i: usize) {
        let now = self.now;
        let inst = &mut self.instances[i];
        inst.settle(now);
        match inst.life {
            Life::Booting => self.stop_instance(i),
            Life::Ready => {
                inst.life = Life::Draining;
                inst.update();
                let epoch = inst.epoch;
                let idle = inst.active() == 0;
                let drain = self.model.fleet.types
                    [self.model.fleet.instances[i].type_index as usize]
                    .drain_timeout;
                self.touched(i);
                if idle {
                    self.stop_instance(i);
                } else {
                    self.events.push(
                        now + drain,
                        Event::Scaling(ScaleEvent::DrainDeadline {
                            inst: i as u32,
                            epoch,
                        }),
                    );
                }
            }
            Life::Absent | Life::Draining => {}
        }
    }

    fn on_drain_deadline(&mut self, i: usize, epoch: u32) {
        let inst = &self.instances[i];
        if inst.epoch == epoch && inst.life == Life::Draining {
            self.stop_instance(i);
        }
    }

    /// Stops instance `i`: whatever it still holds fails as instance-down,
    /// and billing ends.
    pub(super) fn stop_instance(&mut self, i: usize) {
        let now = self.now;
        if !self.instances[i].provisioned() {
            return;
        }
        // Absent first, so requests failing here are not retried onto it.
        let inst = &mut self.instances[i];
        inst.enter(Life::Absent, now);
        let started = inst.started_at;
        if inst.active() > 0 {
            self.drop_requests_on(i);
        }
        let spec = &self.model.fleet.instances[i];
        let minimum = self.model.fleet.types[spec.type_index as usize].minimum_billed;
        self.cost.stop(now, spec.price_per_hour, started, minimum);
        self.touched(i);
    }

    /// An instance over its memory limit is killed when its type says so:
    /// its requests fail and it restarts.
    pub(super) fn memory_check(&mut self, i: usize) {
        if !self.scaling.oom_possible {
            return;
        }
        let model = self.model;
        let ty = &model.fleet.types[model.fleet.instances[i].type_index as usize];
        let (true, Some(limit)) = (ty.oom_kill, ty.memory) else {
            return;
        };
        let inst = &self.instances[i];
        let used = ty.idle_memory + ty.memory_per_request * f64::from(inst.running);
        if used > limit && inst.life == Life::Ready {
            self.scaling.summary.oom_kills += 1;
            self.instances[i].life = Life::Booting;
            self.instances[i].update();
            self.drop_requests_on(i);
            self.boot(i);
        }
    }
}

/// Scaling's events: the metrics pipeline, decisions, start-ups and drains.
#[derive(Debug, Clone, Copy)]
pub(super) enum ScaleEvent {
    /// The metrics pipeline samples the fleet.
    MetricsCollect,
    /// The autoscalers decide.
    Check,
    /// A starting instance (life `epoch`) is ready.
    BootDone { inst: u32, epoch: u32 },
    /// A draining instance's time is up.
    DrainDeadline { inst: u32, epoch: u32 },
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a scaling event.
    pub(super) fn handle_scaling(&mut self, ev: ScaleEvent) {
        match ev {
            ScaleEvent::MetricsCollect => self.on_metrics_collect(),
            ScaleEvent::Check => self.on_scale_check(),
            ScaleEvent::BootDone { inst, epoch } => self.on_boot_done(inst as usize, epoch),
            ScaleEvent::DrainDeadline { inst, epoch } => {
                self.on_drain_deadline(inst as usize, epoch)
            }
        }
    }
}

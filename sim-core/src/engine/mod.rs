//! The event loop and the world it moves: arrivals, a balancer, instances
//! with slots and FIFO queues, timeouts.
//!
//! One replication is one [`Engine`]: a single-threaded loop over a
//! `(time, seq)`-ordered event list, so a run is a pure function of the
//! model, the seed and the replication index.
//!
//! # The hot path
//!
//! Requests live in a slab of fixed-size records reused through a free
//! list; events are a small `Copy` enum; queues hold slab indices. After
//! the first moments of a run nothing is allocated per event or request:
//! the slab, the heap and the queues only grow to the most requests ever
//! in flight at once.
//!
//! Events that lost their purpose (the finish of a request that timed out,
//! the timeout of one that finished) are not removed; they carry the
//! request's generation and are skipped when they pop.

mod queue;

use crate::error::SimError;
use crate::metrics::{jain_index, Counts, InstanceResult, LatencyRecorder, RunResult, SloVerdict};
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::Model;
use queue::EventQueue;
use rand::Rng;
use rand_distr::{Distribution, Exp1};
use std::collections::VecDeque;
use strategies::{Backends, Balancer, LoadBalancer, Nanos, RequestInfo};

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The next request arrives.
    Arrival,
    /// A running request's service ends.
    Finish { req: u32, gen: u32 },
    /// A request's deadline.
    Timeout { req: u32, gen: u32 },
    /// The measured window begins.
    WarmupEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Queued,
    Running,
}

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: Nanos,
    service: Nanos,
    instance: u32,
    gen: u32,
    state: State,
    measured: bool,
    fails: bool,
}

#[derive(Debug)]
struct Instance {
    slots: u32,
    running: u32,
    /// Live queued requests (the deque may also hold stale entries).
    queued: u32,
    queue: VecDeque<(u32, u32)>,
    routed: u64,
    /// Integral of busy slots over time, in slot-nanoseconds.
    busy_area: u128,
    busy_area_at_warmup: u128,
    /// Integral of requests held (running plus queued) over time.
    held_area: u128,
    held_area_at_warmup: u128,
    last_change: Nanos,
}

impl Instance {
    /// Brings the time integrals up to `now`; call before `running` or
    /// `queued` changes.
    #[inline]
    fn settle(&mut self, now: Nanos) {
        let dt = u128::from((now - self.last_change).0);
        self.busy_area += u128::from(self.running) * dt;
        self.held_area += u128::from(self.running + self.queued) * dt;
        self.last_change = now;
    }
}

/// The balancer's view of the fleet: an instance is eligible while it holds
/// fewer requests than its connection limit.
struct FleetView<'a> {
    instances: &'a [Instance],
    weights: &'a [u32],
    max_connections: u32,
}

impl Backends for FleetView<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.instances.len()
    }
    #[inline]
    fn is_eligible(&self, i: usize) -> bool {
        self.active(i) < self.max_connections
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        let inst = &self.instances[i];
        inst.running + inst.queued
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.weights[i]
    }
}

/// One replication of a model.
pub struct Engine<'m> {
    model: &'m Model,
    replication: u32,
    now: Nanos,
    events: EventQueue<Event>,
    requests: Vec<Request>,
    free: Vec<u32>,
    instances: Vec<Instance>,
    balancer: LoadBalancer,
    max_connections: u32,
    step: usize,
    arrivals_rng: StreamRng,
    shape_rng: StreamRng,
    llm_rng: StreamRng,
    routing_rng: StreamRng,
    counts: Counts,
    latency: LatencyRecorder,
}

impl<'m> Engine<'m> {
    /// An engine for replication `replication` of `model`, at time zero.
    pub fn new(model: &'m Model, replication: u32) -> Engine<'m> {
        let seed = model.seed;
        let instances = model
            .instances
            .iter()
            .map(|s| Instance {
                slots: s.slots,
                running: 0,
                queued: 0,
                queue: VecDeque::new(),
                routed: 0,
                busy_area: 0,
                busy_area_at_warmup: 0,
                held_area: 0,
                held_area_at_warmup: 0,
                last_change: Nanos::ZERO,
            })
            .collect::<Vec<_>>();
        Engine {
            model,
            replication,
            now: Nanos::ZERO,
            events: EventQueue::with_capacity(1024),
            requests: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            instances,
            balancer: model.balancer.clone(),
            max_connections: model.max_connections_per_instance.unwrap_or(u32::MAX),
            step: 0,
            arrivals_rng: stream(seed, replication, Purpose::Arrivals),
            shape_rng: stream(seed, replication, Purpose::RequestShape),
            llm_rng: stream(seed, replication, Purpose::LlmLatency),
            routing_rng: stream(seed, replication, Purpose::Routing),
            counts: Counts::default(),
            latency: LatencyRecorder::default(),
        }
    }

    /// Runs to the model's horizon and returns what was measured.
    pub fn run(mut self) -> Result<RunResult, SimError> {
        let end = self.model.duration;
        if self.model.warmup > Nanos::ZERO {
            self.events.push(self.model.warmup, Event::WarmupEnd);
        }
        if let Some(t) = self.next_arrival(Nanos::ZERO) {
            self.events.push(t, Event::Arrival);
        }
        while let Some((t, ev)) = self.events.pop() {
            if t >= end {
                break;
            }
            self.now = t;
            match ev {
                Event::Arrival => self.on_arrival(),
                Event::Finish { req, gen } => self.on_finish(req, gen),
                Event::Timeout { req, gen } => self.on_timeout(req, gen),
                Event::WarmupEnd => self.on_warmup_end(),
            }
        }
        self.now = end;
        self.finish()
    }

    /// The first arrival after `from`, following the piecewise-constant
    /// rate profile (exact: a draw that overshoots a step restarts at the
    /// step, which memorylessness allows), or `None` past the horizon.
    fn next_arrival(&mut self, from: Nanos) -> Option<Nanos> {
        let profile = &self.model.rate_profile;
        let end = self.model.duration;
        let mut t = from;
        loop {
            let seg_end = profile.get(self.step + 1).map_or(end, |s| s.at);
            let rate = profile[self.step].rate_per_second;
            if rate > 0.0 {
                let e: f64 = Exp1.sample(&mut self.arrivals_rng);
                let at = t + Nanos::from_secs_f64(e / rate);
                if at < seg_end {
                    return Some(at);
                }
            }
            if self.step + 1 >= profile.len() {
                return None;
            }
            t = seg_end;
            self.step += 1;
        }
    }

    fn on_warmup_end(&mut self) {
        let now = self.now;
        for inst in &mut self.instances {
            inst.settle(now);
            inst.busy_area_at_warmup = inst.busy_area;
            inst.held_area_at_warmup = inst.held_area;
        }
    }

    fn on_arrival(&mut self) {
        let now = self.now;
        if let Some(t) = self.next_arrival(now) {
            self.events.push(t, Event::Arrival);
        }
        let measured = now >= self.model.warmup;
        self.counts.arrivals += u64::from(measured);

        // The request's work is drawn at arrival, in arrival order, so every
        // configuration run on this seed sees the same work per request.
        let model = self.model;
        let mut service = model
            .cpu_time
            .as_ref()
            .map_or(Nanos::ZERO, |d| d.sample(&mut self.shape_rng));
        let mut fails = false;
        for _ in 0..model.llm_calls {
            let call = model.llm_latency.sample(&mut self.llm_rng);
            let call_fails =
                model.llm_error_rate > 0.0 && self.llm_rng.random::<f64>() < model.llm_error_rate;
            if !fails {
                service += call;
                fails = call_fails;
            }
        }

        let view = FleetView {
            instances: &self.instances,
            weights: &self.model.weights,
            max_connections: self.max_connections,
        };
        let who = RequestInfo::default();
        let Some(i) = self.balancer.pick(now, &who, &view, &mut self.routing_rng) else {
            self.counts.rejected += u64::from(measured);
            return;
        };
        debug_assert!(
            i < self.instances.len(),
            "balancer picked {i} of {}",
            self.instances.len()
        );

        let req = self.alloc(Request {
            arrival: now,
            service,
            instance: i as u32,
            gen: 0,
            state: State::Queued,
            measured,
            fails,
        });
        let gen = self.requests[req as usize].gen;
        if let Some(timeout) = model.request_timeout {
            self.events.push(now + timeout, Event::Timeout { req, gen });
        }
        let inst = &mut self.instances[i];
        inst.routed += u64::from(measured);
        let has_slot = inst.running < inst.slots;
        if has_slot {
            self.start(req);
        } else {
            let inst = &mut self.instances[i];
            inst.settle(now);
            inst.queued += 1;
            inst.queue.push_back((req, gen));
        }
        self.touched(i);
    }

    /// Tells the balancer that instance `i`'s load changed.
    #[inline]
    fn touched(&mut self, i: usize) {
        let view = FleetView {
            instances: &self.instances,
            weights: &self.model.weights,
            max_connections: self.max_connections,
        };
        self.balancer.refresh(i, &view);
    }

    fn alloc(&mut self, r: Request) -> u32 {
        match self.free.pop() {
            Some(idx) => {
                let slot = &mut self.requests[idx as usize];
                let gen = slot.gen;
                *slot = Request { gen, ..r };
                idx
            }
            None => {
                self.requests.push(r);
                (self.requests.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, req: u32) {
        let r = &mut self.requests[req as usize];
        r.state = State::Free;
        r.gen = r.gen.wrapping_add(1);
        self.free.push(req);
    }

    /// Puts `req` in a slot of its instance, which must have one free.
    fn start(&mut self, req: u32) {
        let now = self.now;
        let r = &mut self.requests[req as usize];
        r.state = State::Running;
        let (gen, service, i) = (r.gen, r.service, r.instance as usize);
        let inst = &mut self.instances[i];
        debug_assert!(inst.running < inst.slots, "start on a full instance");
        inst.settle(now);
        inst.running += 1;
        self.events.push(now + service, Event::Finish { req, gen });
    }

    /// Frees one slot of instance `i` and starts its next live queued
    /// request, if any.
    fn free_slot(&mut self, i: usize) {
        let now = self.now;
        let inst = &mut self.instances[i];
        inst.settle(now);
        inst.running -= 1;
        let requests = &self.requests;
        let next = std::iter::from_fn(|| inst.queue.pop_front()).find(|&(q, g)| {
            let r = &requests[q as usize];
            r.gen == g && r.state == State::Queued
        });
        if let Some((q, _)) = next {
            inst.queued -= 1;
            self.start(q);
        }
        self.touched(i);
    }

    fn on_finish(&mut self, req: u32, gen: u32) {
        let r = self.requests[req as usize];
        if r.gen != gen || r.state != State::Running {
            return;
        }
        if r.measured {
            if r.fails {
                self.counts.failed += 1;
            } else {
                self.counts.completed += 1;
                self.latency.record((self.now - r.arrival).0);
            }
        }
        self.release(req);
        let i = r.instance as usize;
        self.balancer
            .observe(self.now, i, self.now - r.arrival, !r.fails);
        self.free_slot(i);
    }

    fn on_timeout(&mut self, req: u32, gen: u32) {
        let r = self.requests[req as usize];
        if r.gen != gen {
            return;
        }
        self.counts.timed_out += u64::from(r.measured);
        self.release(req);
        let i = r.instance as usize;
        self.balancer
            .observe(self.now, i, self.now - r.arrival, false);
        match r.state {
            State::Running => self.free_slot(i),
            State::Queued => {
                let inst = &mut self.instances[i];
                inst.settle(self.now);
                inst.queued -= 1;
                self.touched(i);
            }
            State::Free => debug_assert!(false, "a live generation on a free request"),
        }
    }

    fn finish(mut self) -> Result<RunResult, SimError> {
        let now = self.now;
        let model = self.model;
        // Counted from the slab, independently of the outcome counters, so
        // the conservation check can catch a lost or double-counted request.
        self.counts.in_flight = self
            .requests
            .iter()
            .filter(|r| r.state != State::Free && r.measured)
            .count() as u64;
        let c = self.counts;
        if !c.conserved() {
            return Err(SimError::Conservation {
                run: model.scenario.name.clone(),
                replication: self.replication,
                arrivals: c.arrivals,
                completed: c.completed,
                rejected: c.rejected,
                timed_out: c.timed_out,
                failed: c.failed,
                in_flight: c.in_flight,
            });
        }
        let window = (model.duration - model.warmup).0 as f64;
        let window_secs = window / 1e9;
        let mut total_area = 0.0;
        let mut total_capacity = 0.0;
        let mut total_held = 0.0;
        let instances: Vec<InstanceResult> = self
            .instances
            .iter_mut()
            .zip(&model.instances)
            .map(|(inst, spec)| {
                inst.settle(now);
                let area = (inst.busy_area - inst.busy_area_at_warmup) as f64;
                let capacity = f64::from(inst.slots) * window;
                total_area += area;
                total_held += (inst.held_area - inst.held_area_at_warmup) as f64;
                total_capacity += capacity;
                InstanceResult {
                    id: spec.id.clone(),
                    region: spec.region.clone(),
                    requests: inst.routed,
                    utilization: area / capacity,
                }
            })
            .collect();
        let fairness = jain_index(instances.iter().map(|i| i.requests as f64));
        let hours = window_secs / 3600.0;
        let instance_hours = hours * model.instances.len() as f64;
        let cost = hours * model.cost_per_hour();
        let slo = SloVerdict::judge(model, &self.latency, &c);
        Ok(RunResult {
            replication: self.replication,
            counts: c,
            latency: self.latency.summary(),
            throughput_per_second: c.completed as f64 / window_secs,
            error_rate: c.error_rate(),
            utilization: total_area / total_capacity,
            mean_in_system: total_held / window,
            fairness,
            instance_hours,
            cost,
            slo,
            instances,
            recorder: self.latency,
        })
    }
}

//! The event loop and the world it moves: arrivals, an entry rate limit, a
//! balancer, instances with slots and FIFO queues, timeouts, retries,
//! failures, health checks, outlier ejection and circuit breakers.
//!
//! One replication is one [`Engine`]: a single-threaded loop over a
//! `(time, seq)`-ordered event list, so a run is a pure function of the
//! model, the seed and the replication index.
//!
//! # A request's life
//!
//! A request arrives, passes the rate limit, and is *dispatched*: the
//! balancer picks an eligible instance (healthy, not ejected, breaker
//! closed, under its connection limit) and the request runs in a slot or
//! waits in the queue. An attempt ends in success, an LLM error, an
//! instance failure or a connection timeout; failed attempts may be
//! retried after a backoff. The request ends once: completed, rejected,
//! timed out or failed, and is counted under its reason.
//!
//! # The hot path
//!
//! Requests live in a slab of fixed-size records reused through a free
//! list; events are a small `Copy` enum; queues hold slab indices. After
//! the first moments of a run nothing is allocated per event or request:
//! the slab, the heap and the queues only grow to the most requests ever
//! in flight at once. Events that lost their purpose (the finish of an
//! attempt that timed out, the timeout of a request that finished) are not
//! removed at once; they carry the request's generation or attempt id and
//! are skipped when they pop. When they outnumber the events that still
//! matter, one pass drops them ([`Engine::compact`]), so the event queue
//! holds O(requests in flight + instances) entries however long the
//! timeouts and however high the rate: memory is bounded by what is in
//! flight, never by simulated time.

mod faults;
mod fleet;
mod queue;

use crate::control::RunControl;
use crate::error::SimError;
use crate::metrics::{
    jain_index, Counts, EngineStats, InstanceResult, LatencyRecorder, Reasons, ResilienceEvents,
    RunResult, SloVerdict,
};
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::Model;
use fleet::{FleetView, Instance};
use queue::EventQueue;
use rand::Rng;
use rand_distr::{Distribution, Exp1};
use strategies::{
    ratelimit::GLOBAL_KEY, ActiveHealth, AttemptOutcome, Backends, Balancer, CircuitBreaker,
    LoadBalancer, Nanos, OutlierDetector, PassiveHealth, RateKey, RateLimiter, RequestInfo,
};

#[derive(Debug, Clone, Copy)]
enum Event {
    /// The next request arrives.
    Arrival,
    /// The measured window begins.
    WarmupEnd,
    /// A running attempt's service ends.
    Finish {
        req: u32,
        attempt: u32,
    },
    /// A request's deadline (`requestTimeout`).
    Timeout {
        req: u32,
        gen: u32,
    },
    /// A queued attempt's `connectionTimeout`.
    ConnTimeout {
        req: u32,
        attempt: u32,
    },
    /// A backed-off request tries again.
    Retry {
        req: u32,
        gen: u32,
    },
    /// An active health check is sent.
    HealthCheck {
        inst: u32,
    },
    /// A health check that waited for its timeout comes back.
    HealthResult {
        inst: u32,
        passed: bool,
    },
    /// Outlier detection's interval tick.
    OutlierTick,
    /// An open breaker starts letting trials through.
    BreakerReopen {
        inst: u32,
    },
    /// A backend out by passive health may be back.
    PassiveRecheck {
        inst: u32,
    },
    /// A scheduled failure starts or ends.
    FailureStart {
        event: u32,
    },
    FailureEnd {
        event: u32,
    },
    /// A random failure starts or is repaired.
    RandomFail {
        inst: u32,
    },
    RandomRepair {
        inst: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Queued,
    Running,
    Backoff,
}

/// How a request ended, or why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Completed,
    OverConnectionLimit,
    CircuitOpen,
    NoHealthyInstance,
    RequestTimeout,
    ConnectionTimeout,
    LlmError,
    InstanceDown,
}

impl Cause {
    /// Upstream failures a retry may fix; local rejections are final.
    fn retryable(self) -> bool {
        matches!(
            self,
            Cause::LlmError | Cause::InstanceDown | Cause::ConnectionTimeout
        )
    }
}

/// Whether `ev` has lost its purpose: the same tests its handler makes
/// before doing anything, so dropping it changes nothing.
fn stale(requests: &[Request], ev: &Event) -> bool {
    let r = |req: u32| &requests[req as usize];
    match *ev {
        Event::Finish { req, attempt } => {
            r(req).attempt != attempt || r(req).state != State::Running
        }
        Event::Timeout { req, gen } => r(req).gen != gen || r(req).state == State::Free,
        Event::ConnTimeout { req, attempt } => {
            r(req).attempt != attempt || r(req).state != State::Queued
        }
        Event::Retry { req, gen } => r(req).gen != gen || r(req).state != State::Backoff,
        _ => false,
    }
}

/// Simulated events between checks of the run's control (progress and
/// cancellation).
const CONTROL_EVERY: u64 = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: Nanos,
    /// Start of the current attempt.
    dispatched: Nanos,
    service: Nanos,
    instance: u32,
    /// Bumped when the slot is released: tells events of an earlier
    /// occupant apart.
    gen: u32,
    /// Unique id of the current attempt.
    attempt: u32,
    attempts: u32,
    prev_backoff: Nanos,
    user: u32,
    client: u32,
    state: State,
    measured: bool,
    fails: bool,
    retrying: bool,
}

/// One replication of a model.
pub struct Engine<'m> {
    model: &'m Model,
    replication: u32,
    now: Nanos,
    events: EventQueue<Event>,
    requests: Vec<Request>,
    free: Vec<u32>,
    next_attempt: u32,
    /// Requests in the slab.
    live: u64,
    /// Requests in a retry (backing off or in a later attempt).
    active_retries: u64,
    /// Requests held by instances (running plus queued).
    held: u64,
    instances: Vec<Instance>,
    balancer: LoadBalancer,
    breakers: Vec<CircuitBreaker>,
    health: Vec<ActiveHealth>,
    outlier: Option<OutlierDetector>,
    passive: Option<PassiveHealth>,
    limiter: Option<RateLimiter>,
    /// `maxConnectionsPerInstance`, or unlimited.
    max_per_instance: u32,
    step: usize,
    arrivals_rng: StreamRng,
    shape_rng: StreamRng,
    llm_rng: StreamRng,
    routing_rng: StreamRng,
    users_rng: StreamRng,
    clients_rng: StreamRng,
    retry_rng: StreamRng,
    failures_rng: StreamRng,
    counts: Counts,
    reasons: Reasons,
    resilience: ResilienceEvents,
    latency: LatencyRecorder,
    /// Events that may be pending besides those of requests: per-instance
    /// checks, failures and breaker reopenings, scheduled failures.
    standing_events: usize,
    stats: EngineStats,
    /// Reused buffers (no allocation per event).
    scratch: Vec<u32>,
}

impl<'m> Engine<'m> {
    /// An engine for replication `replication` of `model`, at time zero.
    pub fn new(model: &'m Model, replication: u32) -> Engine<'m> {
        let seed = model.seed;
        let n = model.instances.len();
        let instances = model
            .instances
            .iter()
            .map(|s| Instance::new(s.slots))
            .collect();
        let breakers = match &model.circuit_breaker {
            Some(c) => (0..n).map(|_| CircuitBreaker::new(c.clone())).collect(),
            None => Vec::new(),
        };
        Engine {
            model,
            replication,
            now: Nanos::ZERO,
            events: EventQueue::with_capacity(1024),
            requests: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            next_attempt: 0,
            live: 0,
            active_retries: 0,
            held: 0,
            instances,
            balancer: model.balancer.clone(),
            breakers,
            health: vec![ActiveHealth::default(); if model.health_check.is_some() { n } else { 0 }],
            outlier: model
                .outlier_detection
                .clone()
                .map(|c| OutlierDetector::new(c, n)),
            passive: model
                .passive_health
                .clone()
                .map(|c| PassiveHealth::new(c, n)),
            limiter: model.rate_limit.clone().map(RateLimiter::new),
            max_per_instance: model.max_connections_per_instance.unwrap_or(u32::MAX),
            step: 0,
            arrivals_rng: stream(seed, replication, Purpose::Arrivals),
            shape_rng: stream(seed, replication, Purpose::RequestShape),
            llm_rng: stream(seed, replication, Purpose::LlmLatency),
            routing_rng: stream(seed, replication, Purpose::Routing),
            users_rng: stream(seed, replication, Purpose::Users),
            clients_rng: stream(seed, replication, Purpose::Clients),
            retry_rng: stream(seed, replication, Purpose::Retries),
            failures_rng: stream(seed, replication, Purpose::Failures),
            counts: Counts::default(),
            reasons: Reasons::default(),
            resilience: ResilienceEvents::default(),
            latency: LatencyRecorder::default(),
            standing_events: 3 * n + 2 * model.failure_events.len() + 8,
            stats: EngineStats::default(),
            scratch: Vec::new(),
        }
    }

    /// Runs to the model's horizon and returns what was measured.
    pub fn run(self) -> Result<RunResult, SimError> {
        self.run_with(&RunControl::new())
    }

    /// Runs to the horizon, reporting progress to `control` and stopping
    /// with [`SimError::Cancelled`] when it is cancelled.
    pub fn run_with(mut self, control: &RunControl) -> Result<RunResult, SimError> {
        let end = self.model.duration;
        if self.model.warmup > Nanos::ZERO {
            self.events.push(self.model.warmup, Event::WarmupEnd);
        }
        if let Some(t) = self.next_arrival(Nanos::ZERO) {
            self.events.push(t, Event::Arrival);
        }
        self.schedule_faults();
        let mut reported = Nanos::ZERO;
        while let Some((t, ev)) = self.events.pop() {
            if t >= end {
                break;
            }
            self.now = t;
            self.stats.events += 1;
            if self.stats.events % CONTROL_EVERY == 0 {
                control.advance(t - reported);
                reported = t;
                if control.is_cancelled() {
                    return Err(SimError::Cancelled);
                }
            }
            match ev {
                Event::Arrival => self.on_arrival(),
                Event::WarmupEnd => self.on_warmup_end(),
                Event::Finish { req, attempt } => self.on_finish(req, attempt),
                Event::Timeout { req, gen } => self.on_timeout(req, gen),
                Event::ConnTimeout { req, attempt } => self.on_conn_timeout(req, attempt),
                Event::Retry { req, gen } => self.on_retry(req, gen),
                Event::HealthCheck { inst } => self.on_health_check(inst as usize),
                Event::HealthResult { inst, passed } => {
                    self.on_health_result(inst as usize, passed)
                }
                Event::OutlierTick => self.on_outlier_tick(),
                Event::BreakerReopen { inst } => self.touched(inst as usize),
                Event::PassiveRecheck { inst } => self.passive_update(inst as usize),
                Event::FailureStart { event } => self.on_failure_event(event as usize, true),
                Event::FailureEnd { event } => self.on_failure_event(event as usize, false),
                Event::RandomFail { inst } => self.on_random_fail(inst as usize),
                Event::RandomRepair { inst } => self.on_random_repair(inst as usize),
            }
        }
        control.advance(end - reported);
        self.now = end;
        self.finish()
    }

    /// Drops events that lost their purpose once they outnumber the ones
    /// that may still matter (at most three per request in the slab plus
    /// the standing ones). Each pass at least halves the queue, so the cost
    /// is O(1) per event, amortized.
    fn compact(&mut self) {
        let bound = 3 * self.live as usize + self.standing_events;
        if self.events.len() > 2 * bound + 1024 {
            let requests = &self.requests;
            self.events.retain(|e| !stale(requests, e));
            self.stats.compactions += 1;
        }
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

    fn view(&self) -> FleetView<'_> {
        FleetView {
            instances: &self.instances,
            weights: &self.model.weights,
            breakers: &self.breakers,
            max_per_instance: self.max_per_instance,
            now: self.now,
        }
    }

    /// Tells the balancer that instance `i`'s load or eligibility changed.
    #[inline]
    fn touched(&mut self, i: usize) {
        let view = FleetView {
            instances: &self.instances,
            weights: &self.model.weights,
            breakers: &self.breakers,
            max_per_instance: self.max_per_instance,
            now: self.now,
        };
        self.balancer.refresh(i, &view);
    }

    /// Draws one attempt's work: CPU time and LLM calls (a failed call ends
    /// the attempt there). First attempts draw from the request-shape and
    /// LLM streams in arrival order, so every configuration on one seed
    /// sees the same work per request; retries draw from their own stream.
    fn draw_work(&mut self, retry: bool) -> (Nanos, bool) {
        let model = self.model;
        let (shape, llm) = if retry {
            (&mut self.retry_rng, None)
        } else {
            (&mut self.shape_rng, Some(&mut self.llm_rng))
        };
        let mut service = model
            .cpu_time
            .as_ref()
            .map_or(Nanos::ZERO, |d| d.sample(shape));
        let rng = llm.unwrap_or(shape);
        let mut fails = false;
        for _ in 0..model.llm_calls {
            let call = model.llm_latency.sample(rng);
            let call_fails =
                model.llm_error_rate > 0.0 && rng.random::<f64>() < model.llm_error_rate;
            if !fails {
                service += call;
                fails = call_fails;
            }
        }
        (service, fails)
    }

    fn on_arrival(&mut self) {
        self.compact();
        let now = self.now;
        if let Some(t) = self.next_arrival(now) {
            self.events.push(t, Event::Arrival);
        }
        let measured = now >= self.model.warmup;
        self.counts.arrivals += u64::from(measured);
        let (service, fails) = self.draw_work(false);
        let user = match &self.model.users {
            Some(u) => match &u.zipf {
                Some(z) => (z.sample(&mut self.users_rng) as u32).clamp(1, u.count) - 1,
                None => self.users_rng.random_range(0..u.count),
            },
            None => 0,
        };
        let regions = &self.model.client_regions;
        let client = if regions.len() > 1 {
            let u: f64 = self.clients_rng.random();
            regions
                .iter()
                .position(|(_, acc)| u < *acc)
                .unwrap_or(regions.len() - 1) as u32
        } else {
            0
        };
        if let Some(l) = &mut self.limiter {
            let key = match l.config().key {
                RateKey::Global => GLOBAL_KEY,
                RateKey::User => u64::from(user),
                RateKey::Tenant => {
                    u64::from(user % self.model.users.as_ref().map_or(1, |u| u.tenants))
                }
                RateKey::Ip => u64::from(u32::from_be_bytes(user_ip(user))),
            };
            if !l.check(now, key) {
                if measured {
                    self.counts.rejected += 1;
                    self.reasons.rate_limited += 1;
                }
                return;
            }
        }
        let req = self.alloc(Request {
            arrival: now,
            dispatched: now,
            service,
            instance: 0,
            gen: 0,
            attempt: 0,
            attempts: 1,
            prev_backoff: Nanos::ZERO,
            user,
            client,
            state: State::Queued,
            measured,
            fails,
            retrying: false,
        });
        if let Some(timeout) = self.model.request_timeout {
            let gen = self.requests[req as usize].gen;
            self.events.push(now + timeout, Event::Timeout { req, gen });
        }
        self.dispatch(req);
    }

    fn alloc(&mut self, r: Request) -> u32 {
        self.live += 1;
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

    /// Sends the request's current attempt to an instance, or fails the
    /// attempt.
    fn dispatch(&mut self, req: u32) {
        let now = self.now;
        if self
            .model
            .max_connections
            .is_some_and(|m| self.held >= u64::from(m))
        {
            self.attempt_failed(req, Cause::OverConnectionLimit);
            return;
        }
        let r = self.requests[req as usize];
        // Without a user model requests are anonymous: hashing and affinity
        // have nothing to go on and fall back to their default.
        let known = self.model.users.is_some();
        let who = RequestInfo {
            key: known.then_some(u64::from(r.user)),
            client_ip: known.then(|| user_ip(r.user)),
            client_region: (!self.model.client_regions.is_empty()).then_some(r.client),
        };
        let view = FleetView {
            instances: &self.instances,
            weights: &self.model.weights,
            breakers: &self.breakers,
            max_per_instance: self.max_per_instance,
            now,
        };
        let Some(i) = self.balancer.pick(now, &who, &view, &mut self.routing_rng) else {
            let cause = self.why_nothing_eligible();
            self.attempt_failed(req, cause);
            return;
        };
        if !self.view().is_eligible(i) {
            // Envoy's panic mode routes to a level's hosts whatever their
            // health; limits and breakers still refuse.
            let full = self.instances[i].active() >= self.max_per_instance;
            if full || !self.view().breaker_permits(i) {
                let cause = if full {
                    Cause::OverConnectionLimit
                } else {
                    Cause::CircuitOpen
                };
                self.attempt_failed(req, cause);
                return;
            }
        }
        if let Some(b) = self.breakers.get_mut(i) {
            let permitted = b.try_acquire(now);
            debug_assert!(permitted, "breaker refused an instance it would permit");
        }
        if let Some(p) = &mut self.passive {
            p.on_pick(i, now);
            self.passive_update(i);
        }
        let attempt = self.next_attempt;
        self.next_attempt = self.next_attempt.wrapping_add(1);
        let r = &mut self.requests[req as usize];
        r.instance = i as u32;
        r.dispatched = now;
        r.attempt = attempt;
        let measured = r.measured;
        let inst = &mut self.instances[i];
        inst.routed += u64::from(measured);
        if inst.crashed > 0 {
            // Connection refused: the attempt fails at once.
            self.observe_attempt(i, Nanos::ZERO, AttemptOutcome::ConnectFailure);
            self.touched(i);
            self.attempt_failed(req, Cause::InstanceDown);
            return;
        }
        self.held += 1;
        if inst.running < inst.slots {
            self.start(req);
        } else {
            inst.settle(now);
            inst.queued += 1;
            inst.queue.push_back((req, attempt));
            let depth = inst.queue.len() as u64;
            self.stats.peak_instance_queue = self.stats.peak_instance_queue.max(depth);
            self.requests[req as usize].state = State::Queued;
            if let Some(ct) = self.model.connection_timeout {
                self.events
                    .push(now + ct, Event::ConnTimeout { req, attempt });
            }
        }
        self.touched(i);
    }

    /// Why the balancer found no instance: over a limit if some in-rotation
    /// instance is full, circuit open if their breakers block them all,
    /// else no healthy instance. Only on the rejection path.
    fn why_nothing_eligible(&self) -> Cause {
        let view = self.view();
        let (mut in_rotation, mut full) = (false, false);
        for (i, inst) in self.instances.iter().enumerate() {
            if inst.in_rotation() {
                in_rotation = true;
                full |= view.breaker_permits(i) && inst.active() >= self.max_per_instance;
            }
        }
        match (in_rotation, full) {
            (false, _) => Cause::NoHealthyInstance,
            (true, true) => Cause::OverConnectionLimit,
            (true, false) => Cause::CircuitOpen,
        }
    }

    /// Puts `req` in a slot of its instance, which must have one free. A
    /// hung instance takes it and never answers.
    fn start(&mut self, req: u32) {
        let now = self.now;
        let r = &mut self.requests[req as usize];
        r.state = State::Running;
        let (attempt, service, i) = (r.attempt, r.service, r.instance as usize);
        let inst = &mut self.instances[i];
        debug_assert!(inst.running < inst.slots, "start on a full instance");
        inst.settle(now);
        inst.running += 1;
        if inst.hung == 0 {
            let service = if inst.slow_factor == 1.0 {
                service
            } else {
                Nanos::from_secs_f64(service.as_secs_f64() * inst.slow_factor)
            };
            self.events
                .push(now + service, Event::Finish { req, attempt });
        }
    }

    /// Frees one slot of instance `i` and starts its next live queued
    /// request, if any.
    fn free_slot(&mut self, i: usize) {
        let now = self.now;
        self.held -= 1;
        let inst = &mut self.instances[i];
        inst.settle(now);
        inst.running -= 1;
        let requests = &self.requests;
        let next = std::iter::from_fn(|| inst.queue.pop_front()).find(|&(q, a)| {
            let r = &requests[q as usize];
            r.attempt == a && r.state == State::Queued
        });
        if let Some((q, _)) = next {
            inst.queued -= 1;
            self.start(q);
        }
        self.touched(i);
    }

    /// Takes a queued request off instance `i`'s books (its deque entry
    /// goes stale).
    fn unqueue(&mut self, i: usize) {
        self.held -= 1;
        let inst = &mut self.instances[i];
        inst.settle(self.now);
        inst.queued -= 1;
        if inst.queue.len() > 2 * inst.queued as usize + 64 {
            // Stale entries pile up behind a slot that never frees (a hung
            // instance): drop them so the deque stays O(live queued).
            let requests = &self.requests;
            inst.queue.retain(|&(q, a)| {
                let r = &requests[q as usize];
                r.attempt == a && r.state == State::Queued
            });
        }
        self.touched(i);
    }

    /// What every observer of instance `i` learns from one attempt.
    fn observe_attempt(&mut self, i: usize, latency: Nanos, outcome: AttemptOutcome) {
        let now = self.now;
        let success = outcome.is_success();
        self.balancer.observe(now, i, latency, success);
        if let Some(o) = &mut self.outlier {
            if o.record(now, i, success) {
                self.instances[i].ejected = true;
                self.resilience.ejections += 1;
            }
        }
        if let Some(b) = self.breakers.get_mut(i) {
            if b.record(now, success, latency) {
                self.resilience.breaker_trips += 1;
                let at = b.reopen_at();
                self.events
                    .push(at, Event::BreakerReopen { inst: i as u32 });
            }
        }
        if let Some(p) = &mut self.passive {
            p.record(i, now, outcome);
            self.passive_update(i);
        }
    }

    /// Brings instance `i`'s passive-health standing up to date; when it is
    /// out, schedules the moment it may be back.
    fn passive_update(&mut self, i: usize) {
        let now = self.now;
        let Some(p) = &self.passive else { return };
        let down = !p.is_available(i, now);
        let next = p.next_change(i, now);
        let inst = &mut self.instances[i];
        if down != inst.passive_down {
            inst.passive_down = down;
            if down {
                self.resilience.passive_marked_down += 1;
            }
            self.touched(i);
        }
        if let Some(at) = next {
            if down && inst_recheck_due(&mut self.instances[i], at) {
                self.events
                    .push(at, Event::PassiveRecheck { inst: i as u32 });
            }
        }
    }

    fn on_finish(&mut self, req: u32, attempt: u32) {
        let r = self.requests[req as usize];
        if r.attempt != attempt || r.state != State::Running {
            return;
        }
        let i = r.instance as usize;
        if self.instances[i].hung > 0 {
            // The instance hung under it: no answer will come.
            return;
        }
        let success = !r.fails;
        let outcome = if success {
            AttemptOutcome::Success
        } else {
            AttemptOutcome::ApplicationError
        };
        self.observe_attempt(i, self.now - r.dispatched, outcome);
        self.free_slot(i);
        if success {
            self.finalize(req, Cause::Completed);
        } else {
            self.attempt_failed(req, Cause::LlmError);
        }
    }

    fn on_timeout(&mut self, req: u32, gen: u32) {
        let r = self.requests[req as usize];
        if r.gen != gen || r.state == State::Free {
            return;
        }
        let i = r.instance as usize;
        match r.state {
            State::Running => {
                self.observe_attempt(i, self.now - r.dispatched, AttemptOutcome::Timeout);
                self.free_slot(i);
            }
            State::Queued => self.unqueue(i),
            State::Backoff | State::Free => {}
        }
        self.finalize(req, Cause::RequestTimeout);
    }

    fn on_conn_timeout(&mut self, req: u32, attempt: u32) {
        let r = self.requests[req as usize];
        if r.attempt != attempt || r.state != State::Queued {
            return;
        }
        let i = r.instance as usize;
        self.observe_attempt(i, self.now - r.dispatched, AttemptOutcome::Timeout);
        self.unqueue(i);
        self.attempt_failed(req, Cause::ConnectionTimeout);
    }

    /// An attempt failed: retry it after a backoff if the policy, the
    /// deadline and the budget allow, else end the request.
    fn attempt_failed(&mut self, req: u32, cause: Cause) {
        let now = self.now;
        let r = self.requests[req as usize];
        if let Some(cfg) = &self.model.retries {
            let before_deadline = self
                .model
                .request_timeout
                .is_none_or(|t| now < r.arrival + t);
            if cause.retryable()
                && r.attempts < cfg.max_attempts
                && before_deadline
                && cfg.budget_allows(self.live, self.active_retries)
            {
                let backoff = cfg.backoff(r.attempts, r.prev_backoff, &mut self.retry_rng);
                let r = &mut self.requests[req as usize];
                r.state = State::Backoff;
                r.prev_backoff = backoff;
                if !r.retrying {
                    r.retrying = true;
                    self.active_retries += 1;
                }
                let gen = r.gen;
                self.resilience.retries += u64::from(r.measured);
                self.events.push(now + backoff, Event::Retry { req, gen });
                return;
            }
        }
        self.finalize(req, cause);
    }

    fn on_retry(&mut self, req: u32, gen: u32) {
        let r = self.requests[req as usize];
        if r.gen != gen || r.state != State::Backoff {
            return;
        }
        let (service, fails) = self.draw_work(true);
        let r = &mut self.requests[req as usize];
        r.attempts += 1;
        r.service = service;
        r.fails = fails;
        self.dispatch(req);
    }

    /// Ends a request: counts it under its outcome and frees its record.
    fn finalize(&mut self, req: u32, cause: Cause) {
        let now = self.now;
        let r = &mut self.requests[req as usize];
        if r.retrying {
            self.active_retries -= 1;
        }
        if r.measured {
            let (c, why) = (&mut self.counts, &mut self.reasons);
            let (total, reason) = match cause {
                Cause::Completed => {
                    // The client also waits one network round trip.
                    let t = &self.model.topology;
                    let rtt = t.rtt.get(r.client as usize).map_or(Nanos::ZERO, |row| {
                        row[t.region_of[r.instance as usize] as usize]
                    });
                    self.latency.record((now - r.arrival + rtt).0);
                    (&mut c.completed, None)
                }
                Cause::OverConnectionLimit => {
                    (&mut c.rejected, Some(&mut why.over_connection_limit))
                }
                Cause::CircuitOpen => (&mut c.rejected, Some(&mut why.circuit_open)),
                Cause::NoHealthyInstance => (&mut c.rejected, Some(&mut why.no_healthy_instance)),
                Cause::RequestTimeout => (&mut c.timed_out, Some(&mut why.request_timeout)),
                Cause::ConnectionTimeout => (&mut c.timed_out, Some(&mut why.connection_timeout)),
                Cause::LlmError => (&mut c.failed, Some(&mut why.llm_error)),
                Cause::InstanceDown => (&mut c.failed, Some(&mut why.instance_down)),
            };
            *total += 1;
            if let Some(r) = reason {
                *r += 1;
            }
        }
        r.state = State::Free;
        r.gen = r.gen.wrapping_add(1);
        r.retrying = false;
        self.free.push(req);
        self.live -= 1;
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
        if !c.conserved() || !self.reasons.consistent_with(&c) {
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
        let (mut total_area, mut total_capacity, mut total_held) = (0.0, 0.0, 0.0);
        let instances: Vec<InstanceResult> = self
            .instances
            .iter_mut()
            .zip(&model.instances)
            .map(|(inst, spec)| {
                inst.settle(now);
                let area = (inst.busy_area - inst.busy_area_at_warmup) as f64;
                let capacity = f64::from(inst.slots) * window;
                total_area += area;
                total_capacity += capacity;
                total_held += (inst.held_area - inst.held_area_at_warmup) as f64;
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
        let slo = SloVerdict::judge(model, &self.latency, &c);
        Ok(RunResult {
            replication: self.replication,
            counts: c,
            reasons: self.reasons,
            resilience: self.resilience,
            latency: self.latency.summary(),
            throughput_per_second: c.completed as f64 / window_secs,
            error_rate: c.error_rate(),
            utilization: total_area / total_capacity,
            mean_in_system: total_held / window,
            fairness,
            instance_hours: hours * model.instances.len() as f64,
            cost: hours * model.cost_per_hour(),
            slo,
            instances,
            engine: EngineStats {
                peak_event_queue: self.events.high_water() as u64,
                peak_requests: self.requests.len() as u64,
                ..self.stats
            },
            recorder: self.latency,
        })
    }
}

/// Whether a recheck at `at` is not already scheduled for `inst`; records
/// it when not, so one pending recheck per instance and time suffices.
fn inst_recheck_due(inst: &mut Instance, at: Nanos) -> bool {
    if inst.passive_recheck_at == at {
        return false;
    }
    inst.passive_recheck_at = at;
    true
}

/// A stable IPv4 address for user `u`, spread over many /24 networks (a
/// 32-bit mix of the id, so nearby ids land in unrelated networks).
fn user_ip(u: u32) -> [u8; 4] {
    let mut z = u64::from(u).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) as u32).to_be_bytes()
}

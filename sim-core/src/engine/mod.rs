//! The event loop and the world it moves.
//!
//! One replication is one [`Engine`]: a single-threaded loop over a
//! `(time, seq)`-ordered event list, so a run is a pure function of the
//! model, the seed and the replication index. The loop only dispatches;
//! each part of the world is a module that owns its state and the events
//! it schedules:
//!
//! | module | owns |
//! |---|---|
//! | [`workload`] | arrivals and their rate profile (steps, ramps, diurnal, bursts), users, clients, admission |
//! | [`sessions`] | closed-loop sessions: each user's think time and turns |
//! | [`requests`] | the request slab, each request's own random stream, outcomes and their counts |
//! | [`routing`] | the balancer's pick, queueing, retries, request and connection timeouts |
//! | [`service`] | a request in a slot: CPU (processor sharing of the cores), then its LLM phase |
//! | [`llm`] | LLM calls: model per call, cache, fallbacks, token-timed latency, tool waits, 429 retries, the latency breakdown's parts |
//! | [`network`] | round trips: the table, degradations, jitter; counted against the request timeout |
//! | [`replicas`] | balancer replicas, each with its own stale view of the load |
//! | [`classes`] | request classes: each request's class, per-class books |
//! | [`routes`] | a routed class's own balancer; the named entry rate limits |
//! | [`providers`] | LLM providers' quotas (token buckets), load, outages and slowdowns; per-instance caps on outstanding calls |
//! | [`fleet`] | instances: slots, queues, lives, health flags, CPU, time integrals; the balancer's view |
//! | [`resilience`] | health checks, outlier ejection, breakers, passive health |
//! | [`faults`] | scheduled and random failures |
//! | [`scaling`] | the metrics pipeline, autoscalers, start-up, draining, OOM kills |
//! | [`cost`] | instance and LLM spend, budget caps |
//! | [`series`] | the time series |
//! | [`tenants`] | per-tenant books: what each tenant sent and got, for fairness between tenants |
//!
//! # A request's life
//!
//! A request arrives, passes the rate limit, and is *dispatched*: the
//! balancer picks an eligible instance (ready, healthy, not ejected,
//! breaker closed, under its connection limit) and the request runs in a
//! slot or waits in the queue. An attempt ends in success, an LLM error, an
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
//! flight, never by simulated time. Features a scenario does not use
//! (autoscaling, CPU sharing, token prices) schedule no events and cost a
//! branch at most.

/// The balancer's view of the fleet ([`fleet::FleetView`]), borrowing
/// only the engine fields it reads, so a balancer can be borrowed mutably
/// beside it.
macro_rules! fleet_view {
    ($engine:ident) => {
        $crate::engine::fleet::FleetView {
            instances: &$engine.instances,
            weights: &$engine.model.weights,
            breakers: &$engine.breakers,
            max_per_instance: $engine.max_per_instance,
            loads: &$engine.loads,
            now: $engine.now,
        }
    };
}

mod classes;
mod cost;
mod faults;
mod fleet;
mod llm;
mod network;
mod outcome;
mod providers;
mod queue;
mod replicas;
mod requests;
mod resilience;
mod routes;
mod routing;
mod scaling;
mod series;
mod service;
mod sessions;
mod step;
mod tenants;
mod workload;

use crate::breakdown::Breakdown;
use crate::control::RunControl;
use crate::error::SimError;
use crate::metrics::{
    jain_index, Counts, EngineStats, InstanceResult, LatencyRecorder, Reasons, ResilienceEvents,
    RunResult, SloVerdict, TokenCounts,
};
use crate::regime::Regime;
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::Model;
use crate::timeline::ScalingSummary;
use cost::Cost;
use faults::FaultEvent;
use fleet::{FleetView, Instance};
use llm::LlmEvent;
use queue::EventQueue;
use rand::RngCore;
use replicas::ReplicaEvent;
use requests::{Request, State};
use resilience::ResilienceEvent;
use routing::RoutingEvent;
use scaling::ScaleEvent;
use scaling::Scaling;
use series::SeriesEvent;
use series::{Series, SeriesCounts};
use service::ServiceEvent;
use sessions::SessionEvent;
pub use step::{InstanceState, NoObserver, Observed, Observer};
use strategies::scale::CostGuard;
use strategies::{
    ActiveHealth, Balancer, CircuitBreaker, LoadBalancer, Nanos, OutlierDetector, PassiveHealth,
};
use workload::WorkloadEvent;

/// Every event, by the component that owns it. Each component declares
/// its own event type and handles it (`handle_*` in its module); a
/// component whose events can outlive their purpose answers `is_stale`
/// beside its handler, which the handler and [`Engine::compact`] both ask.
/// Adding a mechanism with events of its own means one variant here and
/// one arm in [`Engine::handle`].
#[derive(Debug, Clone, Copy)]
enum Event {
    /// The measured window begins.
    WarmupEnd,
    Workload(WorkloadEvent),
    Session(SessionEvent),
    Routing(RoutingEvent),
    Service(ServiceEvent),
    Llm(LlmEvent),
    Resilience(ResilienceEvent),
    Fault(FaultEvent),
    Scaling(ScaleEvent),
    Series(SeriesEvent),
    Replicas(ReplicaEvent),
}

impl Event {
    /// Whether the event lost its purpose and may be dropped unhandled.
    fn is_stale(&self, requests: &[Request]) -> bool {
        match *self {
            Event::Routing(e) => e.is_stale(requests),
            Event::Service(e) => e.is_stale(requests),
            Event::Llm(e) => e.is_stale(requests),
            _ => false,
        }
    }
}

/// Which per-request parts of the latency breakdown the engine keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    /// None: a plain workflow without CPU work on one model, whose slot
    /// time is all that model's calls.
    None,
    /// One: a plain workflow's LLM time, on its attempt's model.
    One,
    /// Every part, per model and kind.
    All,
}

/// Simulated events between checks of the run's control (progress and
/// cancellation).
const CONTROL_EVERY: u64 = 1 << 16;

/// One replication of a model, watched by an [`Observer`] (none by
/// default: [`NoObserver`] compiles every notification away).
pub struct Engine<'m, O: Observer = NoObserver> {
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
    /// Each instance's load if eligible, as of its last change
    /// ([`FleetView`]).
    loads: Vec<u32>,
    balancer: LoadBalancer,
    breakers: Vec<CircuitBreaker>,
    health: Vec<ActiveHealth>,
    outlier: Option<OutlierDetector>,
    passive: Option<PassiveHealth>,
    /// The entry rate limits.
    limits: routes::Limits,
    /// `maxConnectionsPerInstance`, or unlimited.
    max_per_instance: u32,
    step: usize,
    arrivals_rng: StreamRng,
    routing_rng: StreamRng,
    users_rng: StreamRng,
    clients_rng: StreamRng,
    retry_rng: StreamRng,
    failures_rng: StreamRng,
    /// The seed each request's own stream derives from.
    request_seed: u64,
    arrivals_seen: u64,
    /// The rate varies within steps: arrivals are drawn by thinning.
    thinning: bool,
    /// LLM calls are events of their own (token prices).
    per_call: bool,
    /// Some instance type is killed over its memory limit.
    oom_possible: bool,
    /// The balancer may pick an instance that is not eligible (Envoy's
    /// panic mode in `geographic`).
    may_pick_ineligible: bool,
    /// Over the LLM spend cap: attempts call the budget's fallback model.
    llm_over_budget: bool,
    counts: Counts,
    reasons: Reasons,
    resilience: ResilienceEvents,
    latency: LatencyRecorder,
    series: Series,
    series_counts: SeriesCounts,
    scaling: Option<Scaling>,
    scaling_summary: ScalingSummary,
    /// Per-tenant books, with more than one tenant.
    tenants: Option<tenants::Tenants>,
    /// Closed-loop sessions, when the workload has them.
    sessions: Option<sessions::Sessions>,
    cost: Cost,
    /// Input and output tokens charged.
    llm_tokens: (u64, u64),
    /// Events that may be pending besides those of requests: per-instance
    /// checks, failures, breaker reopenings and boots, scheduled failures.
    standing_events: usize,
    stats: EngineStats,
    /// Reused buffers (no allocation per event).
    scratch: Vec<u32>,
    /// Each request's time in its slot by part, `parts_width` entries per
    /// slab record: LLM time per model, tool waits, cache hits, LLM waits,
    /// and when its attempt got its slot. Grows with the slab, never per
    /// request.
    parts: Vec<u64>,
    parts_width: usize,
    /// Completed requests' latency by part.
    breakdown: Breakdown,
    /// Call state per slab record, for workflows that are not plain.
    legs: Vec<requests::LegInfo>,
    /// Which per-request parts the breakdown reads at completion.
    parts_kept: Parts,
    /// Plain workflows: one event per attempt, a fixed number of calls to
    /// one model, no cache, tools, fallbacks, prices or provider state.
    simple_llm: bool,
    /// A trace row that could not be read mid-run (the file changed since
    /// it was checked): the run ends with it.
    trace_error: Option<String>,
    /// The replayed trace, read one row ahead.
    trace: Option<(crate::trace::TraceReader, crate::trace::TraceRow)>,
    /// Balancer replicas with views of their own, when there are several.
    replicas: Option<replicas::Replicas>,
    /// Routed classes' own balancers, when a route has one.
    routes: Option<routes::Routes>,
    /// Replicas or routes: more balancers than the deployment's.
    several_balancers: bool,
    /// Request classes and their books, with more than one class.
    classes: Option<classes::Classes>,
    /// Round trips: degradations and jitter.
    network: network::Network,
    /// LLM providers' state, when a scenario gives them any.
    providers: Option<providers::Providers>,
    /// Calls and errors of plain workflows over the whole run, and as the
    /// warm-up ended (added to `llm_counts` at the end).
    plain_calls: (u64, u64),
    plain_at_warmup: (u64, u64),
    /// Calls, errors, 429s and outage failures per model.
    llm_counts: Vec<crate::metrics::ModelCalls>,
    /// Whether the first events are scheduled ([`Engine::step`]).
    started: bool,
    /// Events at the horizon set aside while the loop looks for the last
    /// series row.
    at_horizon: Vec<(u128, Event)>,
    /// Watches the run ([`Engine::with_observer`]).
    observer: O,
}

impl<'m> Engine<'m> {
    /// An engine for replication `replication` of `model`, at time zero.
    pub fn new(model: &'m Model, replication: u32) -> Engine<'m> {
        Engine::with_observer(model, replication, NoObserver)
    }
}

impl<'m, O: Observer> Engine<'m, O> {
    /// An engine for replication `replication` of `model`, at time zero,
    /// telling `observer` what happens ([`Observed`]).
    pub fn with_observer(model: &'m Model, replication: u32, observer: O) -> Engine<'m, O> {
        let seed = model.seed;
        let n = model.instances.len();
        let instances = model
            .instances
            .iter()
            .map(|s| {
                let t = &model.types[s.type_index as usize];
                Instance::new(s.slots, t.cores, s.initially_present)
            })
            .collect();
        let breakers = match &model.circuit_breaker {
            Some(c) => (0..n).map(|_| CircuitBreaker::new(c.clone())).collect(),
            None => Vec::new(),
        };
        let per_call = model.providers_dynamic
            || model
                .models
                .iter()
                .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0);
        let mut cost = Cost::new(model.budget.clone().map(CostGuard::new));
        let initial: f64 = model
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .map(|i| i.price_per_hour)
            .sum();
        cost.start(Nanos::ZERO, initial);
        let first = &model.classes[0].shape;
        let simple_llm = !per_call
            && model.cache.is_none()
            && model.classes.len() == 1
            && first.is_plain()
            && model
                .models
                .iter()
                .all(|m| m.fallback.is_none() && m.per_token.is_none());
        let one_model = model.fallback_model.is_none();
        let (parts_kept, rest_is_llm) = match (simple_llm, first.cpu_time.is_none() && one_model) {
            (true, true) => (Parts::None, Some(first.model_index)),
            (true, false) => (Parts::One, None),
            (false, _) => (Parts::All, None),
        };
        let scaling = model
            .scaling
            .as_ref()
            .map(|s| Scaling::new(model, s, stream(seed, replication, Purpose::Scaling)));
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
            loads: vec![fleet::INELIGIBLE; n],
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
            limits: routes::Limits::new(model),
            max_per_instance: model.max_connections_per_instance.unwrap_or(u32::MAX),
            step: 0,
            arrivals_rng: stream(seed, replication, Purpose::Arrivals),
            routing_rng: stream(seed, replication, Purpose::Routing),
            users_rng: stream(seed, replication, Purpose::Users),
            clients_rng: stream(seed, replication, Purpose::Clients),
            retry_rng: stream(seed, replication, Purpose::Retries),
            failures_rng: stream(seed, replication, Purpose::Failures),
            request_seed: stream(seed, replication, Purpose::Requests).next_u64(),
            arrivals_seen: 0,
            thinning: model.rate_varies(),
            per_call,
            oom_possible: model.types.iter().any(|t| t.oom_kill),
            may_pick_ineligible: model.load_balancing.kind()
                == strategies::StrategyKind::Geographic,
            llm_over_budget: false,
            counts: Counts::default(),
            reasons: Reasons::default(),
            resilience: ResilienceEvents::default(),
            latency: LatencyRecorder::default(),
            series: Series::new(n),
            series_counts: SeriesCounts::default(),
            scaling,
            scaling_summary: ScalingSummary::default(),
            tenants: model
                .users
                .as_ref()
                .and_then(|u| tenants::Tenants::new(u.tenants)),
            sessions: sessions::Sessions::new(model, stream(seed, replication, Purpose::Sessions)),
            cost,
            llm_tokens: (0, 0),
            standing_events: 5 * n
                + 1
                + 2 * model.failure_events.len()
                + model
                    .sessions
                    .as_ref()
                    .and(model.users.as_ref())
                    .map_or(0, |u| u.count as usize)
                + 8,
            stats: EngineStats::default(),
            scratch: Vec::new(),
            parts: Vec::with_capacity(1024 * (model.models.len() + 4)),
            parts_width: model.models.len() + 4,
            breakdown: Breakdown::new(model.models.len(), rest_is_llm),
            parts_kept,
            legs: Vec::new(),
            simple_llm,
            plain_calls: (0, 0),
            plain_at_warmup: (0, 0),
            replicas: replicas::Replicas::new(model),
            routes: routes::Routes::new(model),
            several_balancers: model.load_balancing.replicas.unwrap_or(1) > 1
                || model.routes.iter().any(|r| r.balancer.is_some()),
            classes: classes::Classes::new(model, stream(seed, replication, Purpose::Classes)),
            trace: None,
            trace_error: None,
            network: network::Network::new(model, stream(seed, replication, Purpose::Network)),
            providers: providers::Providers::new(model),
            llm_counts: model
                .models
                .iter()
                .map(|m| crate::metrics::ModelCalls {
                    model: m.name.clone(),
                    ..Default::default()
                })
                .collect(),
            started: false,
            at_horizon: Vec::new(),
            observer,
        }
    }

    /// Runs to the model's horizon and returns what was measured.
    pub fn run(self) -> Result<RunResult, SimError> {
        self.run_with(&RunControl::new())
    }

    /// Runs to the horizon, reporting progress to `control` and stopping
    /// with [`SimError::Cancelled`] when it is cancelled.
    pub fn run_with(mut self, control: &RunControl) -> Result<RunResult, SimError> {
        self.begin()?;
        self.advance(self.model.duration, u64::MAX, Some(control))?;
        self.trace_failed()?;
        self.now = self.model.duration;
        self.results()
    }

    /// The loop, and the only one: handles events in `(time, seq)` order
    /// until the next is past `until` or the horizon, or `max` were
    /// handled ([`Engine::run_with`], [`Engine::step`] and
    /// [`Engine::run_until`] all come here, so `handle` is inlined once).
    /// Reports progress to `control` and stops when it is cancelled.
    /// Returns how many events it handled.
    fn advance(
        &mut self,
        until: Nanos,
        max: u64,
        control: Option<&RunControl>,
    ) -> Result<u64, SimError> {
        let until = until.min(self.model.duration);
        let mut reported = self.now;
        let first = self.stats.events;
        let stop = first.saturating_add(max);
        while self.stats.events < stop {
            let Some((key, ev)) = self.events.pop_keyed() else {
                break;
            };
            let t = EventQueue::<Event>::time_of(key);
            if t > until {
                self.events.restore(key, ev);
                break;
            }
            // At the horizon only the last series row is taken; whatever
            // else falls there waits (it must not hide the row).
            if t == self.model.duration && !matches!(ev, Event::Series(_)) {
                self.at_horizon.push((key, ev));
                continue;
            }
            self.now = t;
            self.stats.events += 1;
            if self.stats.events.is_multiple_of(CONTROL_EVERY) {
                if let Some(c) = control {
                    c.advance(t - reported);
                    reported = t;
                    if c.is_cancelled() {
                        return Err(SimError::Cancelled);
                    }
                }
            }
            if O::ACTIVE {
                self.notify_event(ev);
            }
            self.handle(ev);
        }
        for (key, ev) in self.at_horizon.drain(..) {
            self.events.restore(key, ev);
        }
        if let Some(c) = control {
            c.advance(until - reported);
        }
        Ok(self.stats.events - first)
    }

    /// Handles one event: the loop's only dispatch.
    #[inline(always)]
    fn handle(&mut self, ev: Event) {
        match ev {
            Event::WarmupEnd => self.on_warmup_end(),
            Event::Workload(e) => self.handle_workload(e),
            Event::Session(e) => self.handle_session(e),
            Event::Routing(e) => self.handle_routing(e),
            Event::Service(e) => self.handle_service(e),
            Event::Llm(e) => self.handle_llm(e),
            Event::Resilience(e) => self.handle_resilience(e),
            Event::Fault(e) => self.handle_fault(e),
            Event::Scaling(e) => self.handle_scaling(e),
            Event::Series(e) => self.handle_series(e),
            Event::Replicas(e) => self.handle_replicas(e),
        }
    }

    /// Drops events that lost their purpose once they outnumber the ones
    /// that may still matter (at most three per request in the slab plus
    /// the standing ones). Each pass at least halves the queue, so the cost
    /// is O(1) per event, amortized.
    #[inline(always)]
    fn compact(&mut self) {
        // A necessary condition first, cheap enough for every arrival:
        // the bound below is never under the standing events.
        if self.events.len() > 2 * self.standing_events + 1024 {
            self.compact_if_due();
        }
    }

    #[inline(never)]
    fn compact_if_due(&mut self) {
        let bound = 3 * self.live as usize + self.standing_events;
        if self.events.len() > 2 * bound + 1024 {
            let requests = &self.requests;
            self.events.retain(|e| !e.is_stale(requests));
            self.stats.compactions += 1;
        }
    }

    fn on_warmup_end(&mut self) {
        let now = self.now;
        for inst in &mut self.instances {
            inst.settle(now);
            inst.at_warmup = inst.totals;
        }
        self.cost.settle(now);
        self.cost.at_warmup = (self.cost.instance, self.cost.llm);
        self.llm_tokens = (0, 0);
        self.plain_at_warmup = self.plain_calls;
    }

    /// Instance `i`'s load if it is eligible now, else
    /// [`fleet::INELIGIBLE`].
    #[inline(always)]
    fn load_now(&self, i: usize) -> u32 {
        let inst = &self.instances[i];
        let (routable, active) = (inst.routable, inst.active());
        // Without breakers, a connection limit decides with the load.
        let eligible = if self.breakers.is_empty() {
            routable && active < self.max_per_instance
        } else {
            self.view().eligible_now(i)
        };
        if eligible {
            active
        } else {
            fleet::INELIGIBLE
        }
    }

    fn view(&self) -> FleetView<'_> {
        fleet_view!(self)
    }

    /// Tells the balancer that instance `i`'s load or eligibility changed
    /// (and keeps its eligibility for the balancer's view).
    #[inline(always)]
    fn touched(&mut self, i: usize) {
        self.loads[i] = self.load_now(i);
        let view = fleet_view!(self);
        if !self.several_balancers {
            self.balancer.refresh(i, &view);
        } else if self.replicas.is_some() {
            self.touched_replicas(i);
        } else {
            self.touched_routes(i);
        }
    }

    /// The run's results, once its clock is at the horizon.
    fn results(mut self) -> Result<RunResult, SimError> {
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
        let hours = window_secs / 3600.0;
        let (mut busy, mut capacity, mut held) = (0.0, 0.0, 0.0);
        let (mut cpu_used, mut cpu_cap, mut mem_used, mut mem_cap) = (0.0, 0.0, 0.0, 0.0);
        let mut provisioned_hours = 0.0;
        let mut rates = Vec::new();
        let instances: Vec<InstanceResult> = self
            .instances
            .iter_mut()
            .zip(&model.instances)
            .map(|(inst, spec)| {
                inst.settle(now);
                let (t, w) = (inst.totals, inst.at_warmup);
                let area = (t.busy - w.busy) as f64;
                let ready = (t.ready - w.ready) as f64;
                let held_area = (t.held - w.held) as f64;
                busy += area;
                capacity += f64::from(inst.slots) * ready;
                held += held_area;
                provisioned_hours += (t.provisioned - w.provisioned) as f64 / 3.6e12;
                let ty = &model.types[spec.type_index as usize];
                if let Some(cores) = ty.cores {
                    cpu_used += t.cpu - w.cpu;
                    cpu_cap += cores * ready;
                }
                if let Some(mem) = ty.memory {
                    mem_used += ty.idle_memory * ready + ty.memory_per_request * area;
                    mem_cap += mem * ready;
                }
                if ready > 0.0 {
                    rates.push(inst.routed as f64 / ready);
                }
                InstanceResult {
                    id: spec.id.clone(),
                    region: spec.region.clone(),
                    requests: inst.routed,
                    utilization: if ready > 0.0 {
                        area / (f64::from(inst.slots) * ready)
                    } else {
                        0.0
                    },
                    ready_hours: ready / 3.6e12,
                }
            })
            .collect();
        // Requests per ready second: a fixed fleet's instances are all ready
        // the whole window, so this is Jain's index over requests.
        let fairness = jain_index(rates);
        self.cost.settle(now);
        let instance_cost = self.cost.instance - self.cost.at_warmup.0;
        let llm_cost = self.cost.llm - self.cost.at_warmup.1;
        let total_cost = instance_cost + llm_cost;
        let slo = SloVerdict::judge(model, &self.latency, &c);
        let scaling_log = self.scaling.take().map(|s| s.log).unwrap_or_default();
        let mut summary = self.scaling_summary;
        summary.peak_instances = summary.peak_instances.max(model.initial_instances() as u32);
        Ok(RunResult {
            replication: self.replication,
            counts: c,
            reasons: self.reasons,
            resilience: self.resilience,
            latency: self.latency.summary(),
            throughput_per_second: c.completed as f64 / window_secs,
            error_rate: c.error_rate(),
            utilization: if capacity > 0.0 { busy / capacity } else { 0.0 },
            mean_in_system: held / window,
            fairness,
            cpu_utilization: (cpu_cap > 0.0).then(|| cpu_used / cpu_cap),
            memory_utilization: (mem_cap > 0.0).then(|| mem_used / mem_cap),
            instance_hours: provisioned_hours,
            cost: instance_cost,
            llm_cost,
            total_cost,
            cost_per_hour: total_cost / hours,
            cost_per_1k_requests: (c.arrivals > 0).then(|| total_cost / c.arrivals as f64 * 1000.0),
            cost_per_success: (c.completed > 0).then(|| total_cost / c.completed as f64),
            run_cost: self.cost.instance + self.cost.llm,
            tokens: TokenCounts {
                input: self.llm_tokens.0,
                output: self.llm_tokens.1,
            },
            scaling: summary,
            slo,
            regime: Regime::classify(
                &c,
                c.error_rate(),
                &self.series.rows,
                model.warmup.as_secs_f64(),
            ),
            tenants: self.tenants.as_ref().map(tenants::Tenants::result),
            breakdown: self
                .breakdown
                .result(model, self.latency.count(), self.latency.sum_ns()),
            llm_calls: {
                let mut counts = std::mem::take(&mut self.llm_counts);
                let c = &mut counts[model.classes[0].shape.model_index];
                c.calls += self.plain_calls.0 - self.plain_at_warmup.0;
                c.errors += self.plain_calls.1 - self.plain_at_warmup.1;
                counts
            },
            classes: self
                .classes
                .take()
                .map_or_else(Vec::new, |k| k.result(model)),
            rate_limits: model
                .rate_limits
                .iter()
                .zip(&self.limits.rejected)
                .map(|(l, &rejected)| crate::metrics::LimitCount {
                    name: l.name.clone(),
                    rejected,
                })
                .collect(),
            instances,
            engine: EngineStats {
                peak_event_queue: self.events.high_water() as u64,
                peak_requests: self.requests.len() as u64,
                ..self.stats
            },
            series: std::mem::take(&mut self.series.rows),
            scaling_log,
            recorder: self.latency,
        })
    }
}

//! The event loop and the world it moves.
//!
//! One replication is one [`Engine`]: a single-threaded loop over a
//! `(time, seq)`-ordered event list, so a run is a pure function of the
//! model, the seed and the replication index. The loop only dispatches;
//! each part of the world is a module that owns its state (a struct of its
//! own, one field of the engine, built from its section of the [`Model`]),
//! the events it schedules and its section of the results. What they
//! share is the engine's context: the clock, the event queue, the request
//! slab and the instance table. Adding a mechanism means one module, one
//! field and constructor call in [`Engine::with_observer`], and, if it has
//! events, one variant of [`Event`] and one arm in [`Engine::handle`]; if
//! it counts outcomes, one line in `outcome.rs`.
//!
//! | module | owns |
//! |---|---|
//! | [`workload`] | arrivals and their rate profile (steps, ramps, diurnal, bursts), users, clients, admission |
//! | [`sessions`] | closed-loop sessions: each user's think time and turns |
//! | [`requests`] | the request slab, each request's own random stream, outcomes and their counts |
//! | [`routing`] | the balancer's pick, queueing, retries, request and connection timeouts |
//! | [`service`] | a request in a slot: CPU (processor sharing of the cores), then its LLM phase |
//! | [`llm`] | LLM calls: model per call, cache, fallbacks, token-timed latency, tool waits, 429 retries, the latency breakdown's parts; the call path ([`llm::CallPath`]) |
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
//! | [`outcome`] | the outcome hook, and the books every outcome is counted in |
//! | [`results`] | the conservation check, the fleet's integrals, the run's results |
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
            weights: &$engine.model.balancing.weights,
            breakers: &$engine.resilience.breakers,
            max_per_instance: $engine.routing.max_per_instance,
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
mod results;
mod routes;
mod routing;
mod scaling;
mod series;
mod service;
mod sessions;
mod step;
mod tenants;
mod workload;

use crate::control::RunControl;
use crate::error::SimError;
use crate::metrics::{EngineStats, RunResult};
use crate::rng::{stream, Purpose};
use crate::scenario::Model;
use cost::Cost;
use faults::FaultEvent;
use fleet::{FleetView, Instance};
use llm::LlmEvent;
use queue::EventQueue;
use replicas::ReplicaEvent;
use requests::Request;
use resilience::ResilienceEvent;
use routing::RoutingEvent;
use scaling::ScaleEvent;
use series::Series;
use series::SeriesEvent;
use service::ServiceEvent;
use sessions::SessionEvent;
pub use step::{InstanceState, NoObserver, Observed, Observer};
use strategies::scale::CostGuard;
use strategies::{Balancer, Nanos};
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

/// Simulated events between checks of the run's control (progress and
/// cancellation).
const CONTROL_EVERY: u64 = 1 << 16;

/// One replication of a model, watched by an [`Observer`] (none by
/// default: [`NoObserver`] compiles every notification away).
pub struct Engine<'m, O: Observer = NoObserver> {
    // The context every component shares: the model, the clock, the event
    // queue, the request slab and the instance table.
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
    /// Events that may be pending besides those of requests: per-instance
    /// checks, failures, breaker reopenings and boots, scheduled failures.
    standing_events: usize,
    stats: EngineStats,
    /// A reused buffer of instance indices (no allocation per event).
    scratch: Vec<u32>,
    /// Whether the first events are scheduled ([`Engine::step`]).
    started: bool,
    /// Events at the horizon set aside while the loop looks for the last
    /// series row.
    at_horizon: Vec<(u128, Event)>,

    // The components, each with the state it owns.
    workload: workload::Workload,
    /// Closed-loop sessions, when the workload has them.
    sessions: Option<sessions::Sessions>,
    /// Request classes and their books, with more than one class.
    classes: Option<classes::Classes>,
    routing: routing::Routing,
    llm: llm::Llm,
    network: network::Network,
    resilience: resilience::Resilience,
    faults: faults::Faults,
    scaling: scaling::Scaler,
    cost: Cost,
    series: Series,
    /// Per-tenant books, with more than one tenant.
    tenants: Option<tenants::Tenants>,
    outcomes: outcome::Outcomes,
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
        let seed = model.run.seed;
        let n = model.fleet.instances.len();
        let instances = model
            .fleet
            .instances
            .iter()
            .map(|s| {
                let t = &model.fleet.types[s.type_index as usize];
                Instance::new(s.slots, t.cores, s.initially_present)
            })
            .collect();
        let mut cost = Cost::new(model.budget.config.clone().map(CostGuard::new));
        let initial: f64 = model
            .fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .map(|i| i.price_per_hour)
            .sum();
        cost.start(Nanos::ZERO, initial);
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
            standing_events: 5 * n
                + 1
                + 2 * model.failures.events.len()
                + model
                    .workload
                    .sessions
                    .as_ref()
                    .and(model.workload.users.as_ref())
                    .map_or(0, |u| u.count as usize)
                + 8,
            stats: EngineStats::default(),
            scratch: Vec::new(),
            started: false,
            at_horizon: Vec::new(),
            workload: workload::Workload::new(model, replication),
            sessions: sessions::Sessions::new(model, stream(seed, replication, Purpose::Sessions)),
            classes: classes::Classes::new(model, stream(seed, replication, Purpose::Classes)),
            routing: routing::Routing::new(model, replication),
            llm: llm::Llm::new(model),
            network: network::Network::new(
                model,
                stream(seed, replication, Purpose::Network),
                stream(seed, replication, Purpose::Proxy),
            ),
            resilience: resilience::Resilience::new(model),
            faults: faults::Faults {
                rng: stream(seed, replication, Purpose::Failures),
            },
            scaling: scaling::Scaler::new(model, replication),
            cost,
            series: Series::new(n),
            tenants: model
                .workload
                .users
                .as_ref()
                .and_then(|u| tenants::Tenants::new(u.tenants)),
            outcomes: outcome::Outcomes::default(),
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
        self.advance(self.model.run.duration, u64::MAX, Some(control))?;
        self.trace_failed()?;
        self.now = self.model.run.duration;
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
        let until = until.min(self.model.run.duration);
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
            if t == self.model.run.duration && !matches!(ev, Event::Series(_)) {
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
        self.cost.tokens = (0, 0);
        self.llm.plain_at_warmup = self.llm.plain_calls;
    }

    /// Instance `i`'s load if it is eligible now, else
    /// [`fleet::INELIGIBLE`].
    #[inline(always)]
    fn load_now(&self, i: usize) -> u32 {
        let inst = &self.instances[i];
        let (routable, active) = (inst.routable, inst.active());
        // Without breakers, a connection limit decides with the load.
        let eligible = if self.resilience.breakers.is_empty() {
            routable && active < self.routing.max_per_instance
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
        if !self.routing.several_balancers {
            self.routing.balancer.refresh(i, &view);
        } else if self.routing.replicas.is_some() {
            self.touched_replicas(i);
        } else {
            self.touched_routes(i);
        }
    }
}

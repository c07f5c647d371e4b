//! Routing: the fleet connection cap, the balancer's pick, queueing at the
//! instance, and what happens to an attempt that fails — a retry after a
//! backoff, or the end of the request. Also the request and connection
//! timeouts.

use super::replicas::Replicas;
use super::requests::{Cause, Request, State};
use super::routes::{Limits, Routes};
use super::step::Observer;
use super::workload::user_ip;
use super::{Engine, Event};
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::Model;
use strategies::{AttemptOutcome, Backends, Balancer, LoadBalancer, RequestInfo};

/// The routing component's state: the deployment's balancer (and the
/// replicas' and routes' own, when there are more), the entry rate limits,
/// the connection cap, and the streams of picks and retry backoffs.
pub(super) struct Routing {
    pub(super) balancer: LoadBalancer,
    pub(super) rng: StreamRng,
    pub(super) retry_rng: StreamRng,
    /// The entry rate limits.
    pub(super) limits: Limits,
    /// `maxConnectionsPerInstance`, or unlimited.
    pub(super) max_per_instance: u32,
    /// The balancer may pick an instance that is not eligible (Envoy's
    /// panic mode in `geographic`).
    pub(super) may_pick_ineligible: bool,
    /// Replicas or routes: more balancers than the deployment's.
    pub(super) several_balancers: bool,
    /// Balancer replicas with views of their own, when there are several.
    pub(super) replicas: Option<Replicas>,
    /// Routed classes' own balancers, when a route has one.
    pub(super) routes: Option<Routes>,
}

impl Routing {
    pub(super) fn new(model: &Model, replication: u32) -> Routing {
        let seed = model.run.seed;
        Routing {
            balancer: model.balancing.balancer.clone(),
            rng: stream(seed, replication, Purpose::Routing),
            retry_rng: stream(seed, replication, Purpose::Retries),
            limits: Limits::new(model),
            max_per_instance: model
                .resilience
                .max_connections_per_instance
                .unwrap_or(u32::MAX),
            may_pick_ineligible: model.balancing.config.kind()
                == strategies::StrategyKind::Geographic,
            several_balancers: model.balancing.config.replicas.unwrap_or(1) > 1
                || model.routes.routes.iter().any(|r| r.balancer.is_some()),
            replicas: Replicas::new(model),
            routes: Routes::new(model),
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Sends the request's current attempt to an instance, or fails the
    /// attempt.
    pub(super) fn dispatch(&mut self, req: u32) {
        let now = self.now;
        if self
            .model
            .resilience
            .max_connections
            .is_some_and(|m| self.held >= u64::from(m))
        {
            self.attempt_failed(req, Cause::OverConnectionLimit);
            return;
        }
        if O::ACTIVE {
            let what = super::Observed::Considered {
                request: req,
                loads: &self.loads,
            };
            self.observer.observe(now, what);
        }
        let r = &self.requests[req as usize];
        // Without a user model requests are anonymous (the scenario is then
        // refused for balancers that route by identity).
        let known = self.model.workload.users.is_some();
        let who = RequestInfo {
            key: known.then_some(u64::from(r.user)),
            client_ip: known.then(|| user_ip(r.user)),
            client_region: (!self.model.network.client_regions.is_empty()).then_some(r.client),
        };
        let picked = if self.routing.several_balancers {
            match self.routing.replicas {
                Some(_) => self.replica_pick_for(req, now, &who),
                None => self.route_pick(self.requests[req as usize].class, now, &who),
            }
        } else {
            let view = fleet_view!(self);
            self.routing
                .balancer
                .pick(now, &who, &view, &mut self.routing.rng)
        };
        let Some(i) = picked else {
            if self.hold_at_entry(req) {
                return;
            }
            let cause = self.why_nothing_eligible();
            self.attempt_failed(req, cause);
            return;
        };
        if self.routing.may_pick_ineligible && !self.view().is_eligible(i) {
            let view = self.view();
            // Envoy's panic mode routes to a level's hosts whatever their
            // health; limits and breakers still refuse.
            let full = self.instances[i].active() >= self.routing.max_per_instance;
            if full || !view.breaker_permits(i) {
                let cause = if full {
                    Cause::OverConnectionLimit
                } else {
                    Cause::CircuitOpen
                };
                self.attempt_failed(req, cause);
                return;
            }
        }
        debug_assert!(
            self.routing.may_pick_ineligible || self.view().is_eligible(i),
            "balancer picked ineligible instance {i}"
        );
        if let Some(b) = self.resilience.breakers.get_mut(i) {
            let permitted = b.try_acquire(now);
            debug_assert!(permitted, "breaker refused an instance it would permit");
        }
        if let Some(p) = &mut self.resilience.passive {
            p.on_pick(i, now);
            self.passive_update(i);
        }
        self.notify(|| super::Observed::Picked {
            request: req,
            instance: i as u32,
        });
        let attempt = self.next_attempt;
        self.next_attempt = self.next_attempt.wrapping_add(1);
        let r = &mut self.requests[req as usize];
        r.instance = i as u32;
        r.dispatched = now;
        r.attempt = attempt;
        let measured = r.measured;
        let inst = &mut self.instances[i];
        inst.routed += u64::from(measured);
        inst.totals.routed += 1;
        if inst.is_crashed() || !inst.provisioned() {
            // Connection refused: the attempt fails at once.
            self.released(req, i);
            self.observe_attempt(i, strategies::Nanos::ZERO, AttemptOutcome::ConnectFailure);
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
            if let Some(ct) = self.model.resilience.connection_timeout {
                self.events.push(
                    now + ct,
                    Event::Routing(RoutingEvent::ConnTimeout { req, attempt }),
                );
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
                full |= view.breaker_permits(i) && inst.active() >= self.routing.max_per_instance;
            }
        }
        match (in_rotation, full) {
            (false, _) => Cause::NoHealthyInstance,
            (true, true) => Cause::OverConnectionLimit,
            (true, false) => Cause::CircuitOpen,
        }
    }

    /// An attempt failed: retry it after a backoff if the policy, the
    /// deadline and the budget allow, else end the request.
    pub(super) fn attempt_failed(&mut self, req: u32, cause: Cause) {
        let now = self.now;
        let r = &self.requests[req as usize];
        if let Some(cfg) = &self.model.resilience.retries {
            let before_deadline = self
                .model
                .resilience
                .request_timeout
                .is_none_or(|t| now < r.arrival + t);
            if cause.upstream_failure().is_some_and(|o| cfg.retries(o))
                && r.attempts < cfg.max_attempts
                && before_deadline
                && cfg.budget_allows(self.live, self.active_retries)
            {
                let backoff = cfg.backoff(r.attempts, r.prev_backoff, &mut self.routing.retry_rng);
                let r = &mut self.requests[req as usize];
                r.state = State::Backoff;
                r.prev_backoff = backoff;
                if !r.retrying {
                    r.retrying = true;
                    self.active_retries += 1;
                }
                let gen = r.gen;
                self.resilience.events.retries += u64::from(r.measured);
                self.notify(|| super::Observed::AttemptFailed {
                    request: req,
                    cause: cause.key(),
                    retry_in: Some(backoff),
                });
                self.events.push(
                    now + backoff,
                    Event::Routing(RoutingEvent::Retry { req, gen }),
                );
                return;
            }
        }
        self.notify(|| super::Observed::AttemptFailed {
            request: req,
            cause: cause.key(),
            retry_in: None,
        });
        self.finalize(req, cause);
    }

    fn on_retry(&mut self, req: u32) {
        let r = &mut self.requests[req as usize];
        r.attempts += 1;
        self.dispatch(req);
    }

    fn on_timeout(&mut self, req: u32) {
        let r = &self.requests[req as usize];
        let (state, i, dispatched) = (r.state, r.instance as usize, r.dispatched);
        if state.in_slot() {
            self.observe_attempt(i, self.now - dispatched, AttemptOutcome::Timeout);
            self.leave_slot(req);
        } else if state == State::Queued {
            self.released(req, i);
            self.unqueue(i);
        } else if state == State::Held {
            self.unhold();
        }
        self.finalize(req, Cause::RequestTimeout);
    }

    fn on_conn_timeout(&mut self, req: u32) {
        let r = &self.requests[req as usize];
        let (i, dispatched) = (r.instance as usize, r.dispatched);
        self.observe_attempt(i, self.now - dispatched, AttemptOutcome::Timeout);
        self.released(req, i);
        self.unqueue(i);
        self.attempt_failed(req, Cause::ConnectionTimeout);
    }
}

/// Routing's events: a request's deadlines and retries.
#[derive(Debug, Clone, Copy)]
pub(super) enum RoutingEvent {
    /// A request's deadline (`requestTimeout`).
    Timeout { req: u32, gen: u32 },
    /// A queued attempt's `connectionTimeout`.
    ConnTimeout { req: u32, attempt: u32 },
    /// A backed-off request tries again.
    Retry { req: u32, gen: u32 },
}

impl RoutingEvent {
    /// Whether the event lost its purpose: its request ended (a new one
    /// may hold the record: `gen`), or its attempt moved on. The handler
    /// and the queue's compaction both ask this, so they cannot disagree.
    pub(super) fn is_stale(self, requests: &[Request]) -> bool {
        let r = |req: u32| &requests[req as usize];
        match self {
            RoutingEvent::Timeout { req, gen } => r(req).gen != gen || r(req).state == State::Free,
            RoutingEvent::ConnTimeout { req, attempt } => {
                r(req).attempt != attempt || r(req).state != State::Queued
            }
            RoutingEvent::Retry { req, gen } => r(req).gen != gen || r(req).state != State::Backoff,
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a routing event, unless it lost its purpose.
    #[inline(always)]
    pub(super) fn handle_routing(&mut self, ev: RoutingEvent) {
        if ev.is_stale(&self.requests) {
            return;
        }
        match ev {
            RoutingEvent::Timeout { req, .. } => self.on_timeout(req),
            RoutingEvent::ConnTimeout { req, .. } => self.on_conn_timeout(req),
            RoutingEvent::Retry { req, .. } => self.on_retry(req),
        }
    }
}

//! The adapter's decisions, with no I/O: the same `strategies` calls the
//! simulator makes (`sim-core/src/engine/routing.rs` `Engine::dispatch` and
//! `Engine::attempt_failed`, `engine/resilience.rs`
//! `Engine::observe_attempt`), fed wall-clock time. [`Core`] is synchronous
//! and lives behind one mutex; the service future (`service.rs`) holds the
//! lock only around these calls, never across an await.

use super::{Policy, Stats};
use crate::ratelimit::{Admission, GLOBAL_KEY};
use crate::{
    ActiveHealth, AttemptOutcome, Balancer, CircuitBreaker, Nanos, OutlierDetector, PassiveHealth,
    Pool, RateKey, RateLimiter, RequestInfo, Ticket,
};
use rand::SeedableRng;
use std::hash::Hash;

/// Per-slot state beside the pool: the service, its breaker, its active
/// health.
struct Backend<S> {
    service: Option<S>,
    breaker: Option<CircuitBreaker>,
    health: ActiveHealth,
}

/// Why the entry refused a request before any backend was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The entry rate limit; the limiter admits again after this long.
    RateLimited(Nanos),
    /// `maxConnections` requests already in flight.
    Overloaded,
}

/// Balancer, health, breakers, limiter and retry accounting over the
/// backends of one adapter.
pub(crate) struct Core<K, S, B> {
    pool: Pool<K, B>,
    backends: Vec<Backend<S>>,
    policy: Policy,
    outlier: Option<OutlierDetector>,
    next_outlier_tick: Nanos,
    passive: Option<PassiveHealth>,
    /// The slot count outlier detection and passive health were sized for.
    detector_slots: usize,
    limiter: Option<RateLimiter>,
    rng: rand_pcg::Pcg64Mcg,
    /// Requests in flight (entered, not yet answered), and of them those
    /// retrying: the retry budget's two numbers.
    live: u64,
    retrying: u64,
    pub(crate) stats: Stats,
}

impl<K, S, B> Core<K, S, B> {
    /// A request admitted by [`Core::enter`] is answered.
    pub(crate) fn leave(&mut self, was_retrying: bool) {
        self.live = self.live.saturating_sub(1);
        if was_retrying {
            self.retrying = self.retrying.saturating_sub(1);
        }
    }
}

impl<K: Hash + Eq + Clone, S: Clone, B: Balancer> Core<K, S, B> {
    pub(crate) fn new(balancer: B, policy: Policy) -> Core<K, S, B> {
        let mut pool = Pool::new(balancer);
        pool.set_max_active(policy.max_connections_per_backend);
        let limiter = policy
            .rate_limit
            .clone()
            .filter(|r| r.enabled)
            .map(RateLimiter::new);
        let rng = rand_pcg::Pcg64Mcg::seed_from_u64(policy.seed);
        let next_outlier_tick = policy
            .outlier_detection
            .as_ref()
            .map_or(Nanos::MAX, |o| o.interval.nanos());
        Core {
            pool,
            backends: Vec::new(),
            outlier: None,
            passive: None,
            detector_slots: 0,
            next_outlier_tick,
            limiter,
            rng,
            live: 0,
            retrying: 0,
            stats: Stats::default(),
            policy,
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn pool(&self) -> &Pool<K, B> {
        &self.pool
    }

    /// Adds a backend. A reused slot's breaker, health and ejection history
    /// start afresh; when the slots grow, outlier detection and passive
    /// health are sized anew and their counts start again.
    pub(crate) fn insert(&mut self, id: K, weight: u32, service: S) -> bool {
        if !self.pool.insert(id.clone(), weight) {
            return false;
        }
        let slot = self.pool.slot_of(&id).expect("just inserted");
        let fresh = Backend {
            service: Some(service),
            breaker: self.policy.circuit_breaker.clone().map(CircuitBreaker::new),
            health: ActiveHealth::default(),
        };
        if slot < self.backends.len() {
            self.backends[slot] = fresh;
        } else {
            self.backends.push(fresh);
        }
        let n = self.pool.slots();
        if n != self.detector_slots {
            self.detector_slots = n;
            self.outlier = self
                .policy
                .outlier_detection
                .clone()
                .map(|c| OutlierDetector::new(c, n));
            self.passive = self
                .policy
                .passive_health
                .clone()
                .filter(|p| p.enabled)
                .map(|c| PassiveHealth::new(c, n));
        } else {
            if let Some(o) = &mut self.outlier {
                o.forget(slot);
            }
            if let Some(p) = &mut self.passive {
                p.forget(slot);
            }
        }
        true
    }

    /// Removes a backend: no new attempt goes to it; attempts in flight
    /// finish and are counted.
    pub(crate) fn remove(&mut self, id: &K) -> bool {
        let Some(slot) = self.pool.slot_of(id) else {
            return false;
        };
        self.backends[slot].service = None;
        self.pool.remove(id)
    }

    /// The entry: the fleet-wide connection limit, then the rate limit
    /// (`engine/workload.rs` `Engine::admit`). An admitted request is live
    /// until [`Core::leave`].
    pub(crate) fn enter(&mut self, now: Nanos, info: &RequestInfo) -> Result<(), Refusal> {
        self.stats.requests += 1;
        if self
            .policy
            .max_connections
            .is_some_and(|m| self.live >= u64::from(m))
        {
            self.stats.overloaded += 1;
            return Err(Refusal::Overloaded);
        }
        if let Some(l) = &mut self.limiter {
            let key = rate_key(l.config().key, info);
            if let Admission::Limited { retry_after } = l.admit(now, key) {
                self.stats.rate_limited += 1;
                return Err(Refusal::RateLimited(retry_after));
            }
        }
        self.live += 1;
        Ok(())
    }

    /// Brings every backend's eligibility up to `now`: active health,
    /// outlier ejection (and its `interval` tick), passive health, breaker.
    fn sync(&mut self, now: Nanos) {
        if let Some(o) = &mut self.outlier {
            if now >= self.next_outlier_tick {
                o.tick(now, |_| {});
                let interval = o.config().interval.nanos().0.max(1);
                let behind = (now - self.next_outlier_tick).0 / interval + 1;
                self.next_outlier_tick += Nanos(behind * interval);
            }
        }
        for i in 0..self.backends.len() {
            let b = &self.backends[i];
            let eligible = b.health.is_healthy()
                && !self.outlier.as_ref().is_some_and(|o| o.is_ejected(i))
                && self.passive.as_ref().is_none_or(|p| p.is_available(i, now))
                && b.breaker.as_ref().is_none_or(|c| c.would_permit(now));
            self.pool.set_slot_eligible(i, eligible);
        }
    }

    /// Picks a backend and starts an attempt on it
    /// (`engine/routing.rs` `Engine::dispatch`): `None` when no backend is
    /// eligible.
    pub(crate) fn place(&mut self, now: Nanos, info: &RequestInfo) -> Option<(Ticket, S)> {
        self.sync(now);
        for _ in 0..=self.backends.len() {
            let slot = self.pool.pick_slot(now, info, &mut self.rng)?;
            let b = &mut self.backends[slot];
            if b.breaker.as_mut().is_some_and(|c| !c.try_acquire(now)) {
                // Its half-open trials are taken: out until one ends.
                self.pool.set_slot_eligible(slot, false);
                continue;
            }
            let service = b.service.clone()?;
            if let Some(p) = &mut self.passive {
                p.on_pick(slot, now);
            }
            let id = self.pool.id_at(slot)?.clone();
            let ticket = self.pool.start(&id)?;
            self.stats.attempts += 1;
            return Some((ticket, service));
        }
        None
    }

    /// An attempt ended (`engine/resilience.rs` `Engine::observe_attempt`):
    /// the balancer, outlier detection, the breaker and passive health
    /// learn its outcome.
    pub(crate) fn record(
        &mut self,
        now: Nanos,
        ticket: Ticket,
        latency: Nanos,
        outcome: AttemptOutcome,
    ) {
        let slot = ticket.slot();
        let success = outcome.is_success();
        self.pool.finish(ticket, now, latency, success);
        if let Some(o) = &mut self.outlier {
            if o.record(now, slot, success) {
                self.stats.ejections += 1;
            }
        }
        if let Some(c) = &mut self.backends[slot].breaker {
            if c.record(now, success, latency) {
                self.stats.breaker_trips += 1;
            }
        }
        if let Some(p) = &mut self.passive {
            p.record(slot, now, outcome);
        }
    }

    /// An attempt abandoned by its caller (the request was dropped): its
    /// load is released; no health mechanism hears of it.
    pub(crate) fn abandon(&mut self, now: Nanos, ticket: Ticket, latency: Nanos) {
        self.pool.finish(ticket, now, latency, true);
    }

    /// Whether a failed attempt is retried, and after what wait
    /// (`engine/routing.rs` `Engine::attempt_failed`): `retries` names the
    /// outcome, attempts remain, and the retry budget allows it. The
    /// request deadline is the caller's.
    pub(crate) fn retry(
        &mut self,
        outcome: AttemptOutcome,
        attempts: u32,
        previous: Nanos,
        already_retrying: bool,
    ) -> Option<Nanos> {
        let cfg = self.policy.retries.as_ref()?;
        let retry = cfg.retries(outcome)
            && attempts < cfg.max_attempts
            && cfg.budget_allows(self.live, self.retrying);
        if !retry {
            return None;
        }
        let wait = cfg.backoff(attempts, previous, &mut self.rng);
        if !already_retrying {
            self.retrying += 1;
        }
        self.stats.retries += 1;
        Some(wait)
    }

    /// Folds in one active health check of `id`; the new health when it
    /// changed (`engine/resilience.rs` `Engine::record_health`).
    pub(crate) fn record_health(&mut self, id: &K, passed: bool) -> Option<bool> {
        let cfg = self.policy.health_check.as_ref()?;
        let slot = self.pool.slot_of(id)?;
        let changed = self.backends[slot].health.record(cfg, passed);
        if changed.is_some() {
            self.stats.health_changes += 1;
        }
        changed
    }

    /// Whether member `id` would be picked from at `now`.
    pub(crate) fn is_eligible(&mut self, now: Nanos, id: &K) -> bool {
        self.sync(now);
        self.pool.is_eligible(id)
    }

    /// The breaker of member `id`, if breakers are configured.
    pub(crate) fn breaker(&self, id: &K) -> Option<&CircuitBreaker> {
        let slot = self.pool.slot_of(id)?;
        self.backends[slot].breaker.as_ref()
    }
}

/// The limiter's key for a request, as `rateLimit.key` says.
fn rate_key(key: RateKey, info: &RequestInfo) -> u64 {
    match key {
        RateKey::Global => GLOBAL_KEY,
        RateKey::User | RateKey::Tenant => info.key.unwrap_or(GLOBAL_KEY),
        RateKey::Ip => info
            .client_ip
            .map_or(GLOBAL_KEY, |ip| u64::from(u32::from_be_bytes(ip)) + 1),
    }
}

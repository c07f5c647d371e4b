//! Routes and entry rate limits: a request class served by a balancer of
//! its own (`deployment.routes`), and every named rate limit a request
//! must pass at the entry, each counting the requests it refused.
//!
//! Route balancers pick over the same instances and see each instance's
//! whole load; every balancer learns from every response (as Caddy keeps
//! its upstreams' state per address, shared by its handlers). With several
//! limits on a request, each is first asked without counting, and the
//! request is counted by all only when all admit it; the first to refuse
//! it counts it as refused (nginx's `limit_req` with several zones).

use super::step::Observer;
use super::workload::user_ip;
use super::Engine;
use crate::scenario::Model;
use strategies::{ratelimit::GLOBAL_KEY, Balancer, LoadBalancer, Nanos, RateKey, RateLimiter};

/// Balancers of their own for routed classes. Built only when a route has
/// one; otherwise every class uses the deployment's balancer.
pub(super) struct Routes {
    balancers: Vec<LoadBalancer>,
    /// Per class: its balancer in `balancers`, or none for the
    /// deployment's.
    of_class: Vec<Option<u8>>,
}

impl Routes {
    pub(super) fn new(model: &Model) -> Option<Routes> {
        let mut balancers = Vec::new();
        let of_class = model
            .workload
            .classes
            .iter()
            .map(|k| {
                let b = model.routes.routes.get(k.route?)?.balancer.clone()?;
                balancers.push(b);
                Some((balancers.len() - 1) as u8)
            })
            .collect();
        (!balancers.is_empty()).then_some(Routes {
            balancers,
            of_class,
        })
    }
}

/// The entry rate limits.
pub(super) struct Limits {
    limiters: Vec<RateLimiter>,
    /// Per class, the limits that apply to its requests, in order.
    of_class: Vec<Vec<usize>>,
    /// Measured requests each refused.
    pub(super) rejected: Vec<u64>,
    /// Users per tenant, for per-tenant keys.
    tenants: u32,
}

impl Limits {
    /// Requests each limit refused in the measured window, by name.
    pub(super) fn result(&self, model: &Model) -> Vec<crate::metrics::LimitCount> {
        model
            .routes
            .rate_limits
            .iter()
            .zip(&self.rejected)
            .map(|(l, &rejected)| crate::metrics::LimitCount {
                name: l.name.clone(),
                rejected,
            })
            .collect()
    }

    pub(super) fn new(model: &Model) -> Limits {
        let of_class = (0..model.workload.classes.len())
            .map(|k| {
                (model.routes.rate_limits.iter().enumerate())
                    .filter(|(_, l)| l.class.is_none_or(|c| c == k))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Limits {
            limiters: (model.routes.rate_limits.iter())
                .map(|l| RateLimiter::new(l.config.clone()))
                .collect(),
            of_class,
            rejected: vec![0; model.routes.rate_limits.len()],
            tenants: model.workload.users.as_ref().map_or(1, |u| u.tenants),
        }
    }

    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.limiters.is_empty()
    }

    /// Whether a request of `class` from `user` passes every limit that
    /// applies to it; if not, the index of the first that refused it.
    pub(super) fn admit(&mut self, now: Nanos, user: u32, class: u8) -> Result<(), usize> {
        let tenants = self.tenants;
        let limiters = &mut self.limiters;
        let key = |l: &RateLimiter| key_of(l, user, tenants);
        match self.of_class[class as usize].as_slice() {
            [] => Ok(()),
            &[i] => {
                let k = key(&limiters[i]);
                limiters[i].check(now, k).then_some(()).ok_or(i)
            }
            several => {
                if let Some(&i) = several.iter().find(|&&i| {
                    let k = key(&limiters[i]);
                    !limiters[i].peek(now, k)
                }) {
                    return Err(i);
                }
                for &i in several {
                    let k = key(&limiters[i]);
                    let admitted = limiters[i].check(now, k);
                    debug_assert!(admitted, "a limit refused what it admitted on peeking");
                }
                Ok(())
            }
        }
    }
}

/// What limit `l` counts a request from `user` under.
fn key_of(l: &RateLimiter, user: u32, tenants: u32) -> u64 {
    match l.config().key {
        RateKey::Global => GLOBAL_KEY,
        RateKey::User => u64::from(user),
        RateKey::Tenant => u64::from(user % tenants),
        RateKey::Ip => u64::from(u32::from_be_bytes(user_ip(user))),
    }
}

impl<O: Observer> Engine<'_, O> {
    /// The balancer of `class`'s route picks for request `who`.
    #[inline(never)]
    pub(super) fn route_pick(
        &mut self,
        class: u8,
        now: Nanos,
        who: &strategies::RequestInfo,
    ) -> Option<usize> {
        let view = fleet_view!(self);
        let routes = self.routing.routes.as_mut()?;
        match routes.of_class[class as usize] {
            Some(b) => routes.balancers[b as usize].pick(now, who, &view, &mut self.routing.rng),
            None => self
                .routing
                .balancer
                .pick(now, who, &view, &mut self.routing.rng),
        }
    }

    /// Tells every route's balancer that instance `i` changed.
    pub(super) fn touched_routes(&mut self, i: usize) {
        let view = fleet_view!(self);
        self.routing.balancer.refresh(i, &view);
        if let Some(r) = &mut self.routing.routes {
            for b in &mut r.balancers {
                b.refresh(i, &view);
            }
        }
    }

    /// Every route's balancer learns of an attempt's outcome on `i`.
    #[cold]
    #[inline(never)]
    pub(super) fn observe_routes(&mut self, now: Nanos, i: usize, latency: Nanos, success: bool) {
        if let Some(r) = &mut self.routing.routes {
            for b in &mut r.balancers {
                b.observe(now, i, latency, success);
            }
        }
    }
}

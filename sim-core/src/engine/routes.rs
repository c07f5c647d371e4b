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
            .classes
            .iter()
            .map(|k| {
                let b = model.routes.get(k.route?)?.balancer.clone()?;
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
    /// Each limit and the class it counts (none: every class).
    limiters: Vec<(RateLimiter, Option<u8>)>,
    /// Measured requests each refused.
    pub(super) rejected: Vec<u64>,
    /// Users per tenant, for per-tenant keys.
    tenants: u32,
    /// Which limits apply to the request at hand (reused).
    applying: Vec<usize>,
}

impl Limits {
    pub(super) fn new(model: &Model) -> Limits {
        Limits {
            limiters: model
                .rate_limits
                .iter()
                .map(|l| (RateLimiter::new(l.config.clone()), l.class.map(|k| k as u8)))
                .collect(),
            rejected: vec![0; model.rate_limits.len()],
            tenants: model.users.as_ref().map_or(1, |u| u.tenants),
            applying: Vec::with_capacity(model.rate_limits.len()),
        }
    }

    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.limiters.is_empty()
    }

    fn key(&self, l: &RateLimiter, user: u32) -> u64 {
        match l.config().key {
            RateKey::Global => GLOBAL_KEY,
            RateKey::User => u64::from(user),
            RateKey::Tenant => u64::from(user % self.tenants),
            RateKey::Ip => u64::from(u32::from_be_bytes(user_ip(user))),
        }
    }

    /// Whether a request of `class` from `user` passes every limit that
    /// applies to it; if not, the index of the first that refused it.
    pub(super) fn admit(&mut self, now: Nanos, user: u32, class: u8) -> Result<(), usize> {
        let mut applying = std::mem::take(&mut self.applying);
        applying.clear();
        applying.extend(
            self.limiters
                .iter()
                .enumerate()
                .filter(|(_, (_, k))| k.is_none_or(|k| k == class))
                .map(|(i, _)| i),
        );
        let verdict = match applying.as_slice() {
            [] => Ok(()),
            &[i] => {
                let key = self.key(&self.limiters[i].0, user);
                if self.limiters[i].0.check(now, key) {
                    Ok(())
                } else {
                    Err(i)
                }
            }
            several => {
                let refused = several.iter().copied().find(|&i| {
                    let key = self.key(&self.limiters[i].0, user);
                    !self.limiters[i].0.peek(now, key)
                });
                match refused {
                    Some(i) => Err(i),
                    None => {
                        for &i in several {
                            let key = self.key(&self.limiters[i].0, user);
                            let admitted = self.limiters[i].0.check(now, key);
                            debug_assert!(admitted, "a limit refused what it admitted on peeking");
                        }
                        Ok(())
                    }
                }
            }
        };
        self.applying = applying;
        verdict
    }
}

impl Engine<'_> {
    /// The balancer of `class`'s route picks for request `who`.
    #[inline(never)]
    pub(super) fn route_pick(
        &mut self,
        class: u8,
        now: Nanos,
        who: &strategies::RequestInfo,
    ) -> Option<usize> {
        let view = fleet_view!(self);
        let routes = self.routes.as_mut()?;
        match routes.of_class[class as usize] {
            Some(b) => routes.balancers[b as usize].pick(now, who, &view, &mut self.routing_rng),
            None => self.balancer.pick(now, who, &view, &mut self.routing_rng),
        }
    }

    /// Tells every route's balancer that instance `i` changed.
    pub(super) fn touched_routes(&mut self, i: usize) {
        let view = fleet_view!(self);
        self.balancer.refresh(i, &view);
        if let Some(r) = &mut self.routes {
            for b in &mut r.balancers {
                b.refresh(i, &view);
            }
        }
    }

    /// Every route's balancer learns of an attempt's outcome on `i`.
    #[cold]
    #[inline(never)]
    pub(super) fn observe_routes(&mut self, now: Nanos, i: usize, latency: Nanos, success: bool) {
        if let Some(r) = &mut self.routes {
            for b in &mut r.balancers {
                b.observe(now, i, latency, success);
            }
        }
    }
}

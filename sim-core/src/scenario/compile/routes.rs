//! `deployment.routes` and the entry rate limits (`deployment.rateLimit`,
//! `deployment.rateLimits`, each route's `rateLimits`): a balancer and
//! limits of its own for a request class, and several named limits at
//! once.

use super::{Checker, ClassModel, NamedLimit, NetworkPart, RouteModel};
use crate::scenario::Scenario;
use strategies::{RateKey, RateLimitConfig};

impl Scenario {
    /// The routes, each class's route index set in `classes`.
    pub(super) fn compile_routes(
        &self,
        c: &mut Checker,
        classes: &mut [ClassModel],
        network: &NetworkPart,
        has_users: bool,
    ) -> Vec<RouteModel> {
        let d = &self.deployment;
        let mut routes = Vec::new();
        if !d.routes.is_empty() && d.load_balancing.replicas.unwrap_or(1) > 1 {
            c.fail(
                "deployment.loadBalancing.replicas",
                "balancer replicas are not modelled with deployment.routes",
            );
        }
        for (name, r) in &d.routes {
            let path = format!("deployment.routes.{name}");
            let Some(k) = self.workload.classes.get_index_of(name) else {
                if self.workload.classes.is_empty() {
                    c.fail(
                        path,
                        "routes serve request classes: define them in workload.classes",
                    );
                } else {
                    c.unknown(
                        path,
                        "request class",
                        name,
                        self.workload.classes.keys(),
                        "workload.classes",
                    );
                }
                continue;
            };
            if r.load_balancing.is_none() && r.rate_limits.is_empty() {
                c.fail(
                    path.clone(),
                    "changes nothing: give the class a loadBalancing or rateLimits of its own",
                );
            }
            let balancer = r.load_balancing.as_ref().and_then(|lb| {
                let path = format!("{path}.loadBalancing");
                let shared = [
                    ("weighted", !lb.weighted.is_empty()),
                    ("replicas", lb.replicas.is_some()),
                    ("loadRefreshInterval", lb.load_refresh_interval.is_some()),
                ];
                for (key, given) in shared {
                    if given {
                        c.fail(
                            format!("{path}.{key}"),
                            "is set for the whole fleet, in deployment.loadBalancing",
                        );
                    }
                }
                self.check_identity(c, &path, lb, has_users);
                if lb.kind() == strategies::StrategyKind::Geographic {
                    c.fail(
                        format!("{path}.strategy"),
                        "`geographic` is modelled for the whole fleet only (its panic mode may \
                         pick any instance): set it in deployment.loadBalancing",
                    );
                }
                match lb.build_for(Some(&network.topology)) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        c.fail(format!("{path}.{}", e.key), e.message);
                        None
                    }
                }
            });
            if let Some(class) = classes.get_mut(k) {
                class.route = Some(routes.len());
            }
            routes.push(RouteModel {
                class: name.clone(),
                balancer,
                load_balancing: r.load_balancing.clone(),
            });
        }
        let every_class_routed = !self.workload.classes.is_empty()
            && self
                .workload
                .classes
                .keys()
                .all(|k| d.routes.get(k).is_some_and(|r| r.load_balancing.is_some()));
        let mut fleet_lb = d.load_balancing.clone();
        fleet_lb.weighted.clear();
        if every_class_routed && fleet_lb != strategies::LoadBalancingConfig::default() {
            c.fail(
                "deployment.loadBalancing",
                "every class has a route with a balancer of its own, so this one picks for \
                 none: leave it out (its `weighted` still applies to every route)",
            );
        }
        routes
    }

    /// Every entry rate limit, in order: `rateLimit`, `rateLimits`, then
    /// each route's.
    pub(super) fn compile_rate_limits(&self, c: &mut Checker, has_users: bool) -> Vec<NamedLimit> {
        let d = &self.deployment;
        let mut limits: Vec<NamedLimit> = Vec::new();
        let mut add = |c: &mut Checker, path: String, name: &str, cfg: &RateLimitConfig, class| {
            c.policy(&path, cfg.validate());
            if cfg.key != RateKey::Global && !has_users {
                c.fail(
                    format!("{path}.key"),
                    "a per-user, per-tenant or per-IP limit needs `workload.users` to say who \
                     sends requests",
                );
            }
            if limits.iter().any(|l| l.name == name) {
                c.fail(
                    path,
                    format!("a rate limit is already named `{name}`: each needs its own name in the results"),
                );
                return;
            }
            if cfg.enabled {
                limits.push(NamedLimit {
                    name: name.to_string(),
                    config: cfg.clone(),
                    class,
                });
            }
        };
        if let Some(r) = &d.rate_limit {
            add(c, "deployment.rateLimit".into(), "rateLimit", r, None);
        }
        for (name, r) in &d.rate_limits {
            add(c, format!("deployment.rateLimits.{name}"), name, r, None);
        }
        for (route, r) in &d.routes {
            let class = self.workload.classes.get_index_of(route);
            for (name, cfg) in &r.rate_limits {
                let path = format!("deployment.routes.{route}.rateLimits.{name}");
                add(c, path, name, cfg, class);
            }
        }
        limits
    }
}

//! `deployment.loadBalancing`: the balancer, its weights, and what it needs
//! to know about requests.

use super::{Checker, FleetPart, NetworkPart};
use crate::scenario::{nearest, Scenario};
use strategies::LoadBalancer;

pub(super) struct BalancingPart {
    pub(super) balancer: Option<LoadBalancer>,
    pub(super) weights: Vec<u32>,
    pub(super) refresh: Option<strategies::Nanos>,
}

impl Scenario {
    pub(super) fn compile_balancing(
        &self,
        c: &mut Checker,
        fleet: &FleetPart,
        network: &NetworkPart,
        has_users: bool,
    ) -> BalancingPart {
        let lb = &self.deployment.load_balancing;
        let instances = &fleet.instances;
        let balancer = match lb.build_for(Some(&network.topology)) {
            Ok(b) => Some(b),
            Err(e) => {
                c.fail(format!("deployment.loadBalancing.{}", e.key), e.message);
                None
            }
        };
        let mut weights = vec![1u32; instances.len()];
        for (key, &w) in &lb.weighted {
            let mut hit = false;
            for (i, inst) in instances.iter().enumerate() {
                if inst.id == *key || inst.region == *key {
                    weights[i] = w;
                    hit = true;
                }
            }
            if !hit && !instances.is_empty() {
                let names = instances
                    .iter()
                    .flat_map(|i| [i.region.as_str(), i.id.as_str()])
                    .collect::<Vec<_>>();
                let mut msg = format!("`{key}` names no instance or region");
                if let Some(n) = nearest(key, names.iter().copied()) {
                    msg.push_str(&format!("; did you mean `{n}`?"));
                }
                msg.push_str("; instances are named `region/index`, e.g. `");
                msg.push_str(&instances[0].id);
                msg.push('`');
                c.fail(format!("deployment.loadBalancing.weighted.{key}"), msg);
            }
        }
        self.check_identity(c, "deployment.loadBalancing", lb, has_users);
        let refresh = self.compile_replicas(c);
        BalancingPart {
            balancer,
            weights,
            refresh,
        }
    }

    /// A balancer at `path` that routes by who is asking needs users.
    pub(super) fn check_identity(
        &self,
        c: &mut Checker,
        path: &str,
        lb: &strategies::LoadBalancingConfig,
        has_users: bool,
    ) {
        if has_users || !lb.needs_identity() {
            return;
        }
        let (key, what) = if lb.picking_kind().needs_identity() {
            ("strategy", format!("`{}`", lb.picking_kind()))
        } else {
            ("sessionAffinity", "session affinity".to_string())
        };
        c.fail(
            format!("{path}.{key}"),
            format!(
                "{what} routes by who is asking, which needs `workload.users` to give requests \
                 a user, session and client address (e.g. \"users\": {{\"count\": 10000}}); \
                 without it every request would be anonymous and fall back to round robin"
            ),
        );
    }

    /// `replicas` and `loadRefreshInterval`: several balancers, each with
    /// its own view of the load.
    fn compile_replicas(&self, c: &mut Checker) -> Option<strategies::Nanos> {
        use strategies::StrategyKind as K;
        let lb = &self.deployment.load_balancing;
        let path = "deployment.loadBalancing";
        let replicas = lb.replicas.unwrap_or(1);
        if replicas == 0 || replicas > 255 {
            c.fail(
                format!("{path}.replicas"),
                format!("must be from 1 to 255, found {replicas}"),
            );
            return None;
        }
        if replicas > 1 {
            let kind = lb.kind();
            let modelled = matches!(
                kind,
                K::RoundRobin | K::Random | K::LeastConnections | K::PowerOfTwo
            );
            if !modelled {
                c.fail(
                    format!("{path}.replicas"),
                    format!(
                        "replicas are modelled for round-robin, random, least-connections and \
                         power-of-two; `{kind}` learns from the responses it sees, which \
                         replicas would split"
                    ),
                );
            }
            if lb.session_affinity.is_some() || lb.canary.is_some() {
                c.fail(
                    format!("{path}.replicas"),
                    "replicas are not modelled with sessionAffinity or canary",
                );
            }
        }
        let refresh = lb.load_refresh_interval.map(|d| d.nanos());
        if let Some(every) = refresh {
            if replicas < 2 {
                c.fail(
                    format!("{path}.loadRefreshInterval"),
                    "applies to several replicas: one balancer sees all the traffic it sends",
                );
            } else if !matches!(lb.kind(), K::LeastConnections | K::PowerOfTwo) {
                c.fail(
                    format!("{path}.loadRefreshInterval"),
                    format!("`{}` does not read the backends' load", lb.kind()),
                );
            } else if every == strategies::Nanos::ZERO {
                c.fail(
                    format!("{path}.loadRefreshInterval"),
                    "must be longer than 0s",
                );
            }
        }
        refresh
    }
}

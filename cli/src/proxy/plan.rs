//! What `fleetsim proxy` takes from a scenario: the balancer, the
//! adapter's [`Policy`], which backend address stands for which instance,
//! and the settings it cannot apply (named, never silently dropped).

use crate::failure::Failure;
use anyhow::anyhow;
use sim_core::Model;
use std::net::{Ipv4Addr, SocketAddr};
use strategies::tower::Policy;
use strategies::{LoadBalancer, StrategyKind};

/// The proxy's configuration, from the scenario and the flags.
pub(crate) struct Plan {
    pub(crate) balancer: LoadBalancer,
    pub(crate) strategy: StrategyKind,
    pub(crate) policy: Policy,
    /// One per backend, in `--backend` order: the instance it stands for,
    /// its weight and address.
    pub(crate) backends: Vec<Backend>,
    /// The scenario's settings the proxy does not apply, by JSON path.
    pub(crate) not_applied: Vec<String>,
    /// The mechanisms it applies, by their `deployment` key.
    pub(crate) applied: Vec<&'static str>,
}

pub(crate) struct Backend {
    pub(crate) instance: String,
    pub(crate) weight: u32,
    pub(crate) addr: SocketAddr,
}

/// An address for `flag`: `127.0.0.1:PORT` and nothing else.
pub(crate) fn loopback(flag: &str, text: &str) -> Result<SocketAddr, Failure> {
    let addr: SocketAddr = text.parse().map_err(|_| {
        Failure::Input(anyhow!(
            "`{flag} {text}`: not an address; write 127.0.0.1:PORT"
        ))
    })?;
    if addr.ip() != Ipv4Addr::LOCALHOST {
        return Err(Failure::Input(anyhow!(
            "`{flag} {text}`: the proxy serves and connects on the loopback interface only; \
             write 127.0.0.1:PORT"
        )));
    }
    Ok(addr)
}

impl Plan {
    /// The scenario's present instances (region by region, in file order)
    /// mapped one to one onto `addrs`.
    pub(crate) fn of(model: &Model, addrs: &[SocketAddr], file: &str) -> Result<Plan, Failure> {
        let cfg = &model.balancing.config;
        let strategy = cfg.kind();
        if strategy == StrategyKind::Geographic || cfg.canary.is_some() {
            return Err(Failure::Input(anyhow!(
                "{file}: deployment.loadBalancing: the proxy cannot apply `{}` (it needs the \
                 clients' regions and round trips); use a strategy over one pool of backends",
                if cfg.canary.is_some() {
                    "canary"
                } else {
                    "geographic"
                }
            )));
        }
        let balancer = cfg.build().map_err(|e| {
            Failure::Input(anyhow!(
                "{file}: deployment.loadBalancing.{}: {}",
                e.key,
                e.message
            ))
        })?;
        let instances: Vec<(usize, &str)> = model
            .fleet
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| i.initially_present)
            .map(|(k, i)| (k, i.id.as_str()))
            .collect();
        if addrs.len() != instances.len() {
            let ids: Vec<&str> = instances.iter().map(|(_, id)| *id).collect();
            return Err(Failure::Input(anyhow!(
                "{file}: the scenario runs {} instances ({}), so give one --backend \
                 127.0.0.1:PORT for each, in that order; got {}",
                instances.len(),
                ids.join(", "),
                addrs.len()
            )));
        }
        let backends = instances
            .iter()
            .zip(addrs)
            .map(|(&(k, id), &addr)| Backend {
                instance: id.to_string(),
                weight: model.balancing.weights.get(k).copied().unwrap_or(1),
                addr,
            })
            .collect();
        let (policy, applied) = policy_of(model);
        Ok(Plan {
            balancer,
            strategy,
            policy,
            backends,
            not_applied: not_applied(model),
            applied,
        })
    }
}

/// The adapter's policy: the scenario's `deployment` mechanisms.
fn policy_of(model: &Model) -> (Policy, Vec<&'static str>) {
    let r = &model.resilience;
    let entry_limit = model
        .routes
        .rate_limits
        .iter()
        .find(|l| l.class.is_none() && l.config.enabled)
        .map(|l| l.config.clone());
    let policy = Policy {
        health_check: r.health_check.clone().filter(|h| h.enabled),
        outlier_detection: r.outlier_detection.clone(),
        passive_health: r.passive_health.clone().filter(|p| p.enabled),
        circuit_breaker: r.circuit_breaker.clone(),
        rate_limit: entry_limit,
        retries: r.retries.clone(),
        max_connections_per_backend: r.max_connections_per_instance,
        max_connections: r.max_connections,
        request_timeout: r.request_timeout,
        seed: model.run.seed,
    };
    let mut applied = vec!["loadBalancing"];
    let mut add = |on: bool, key| {
        if on {
            applied.push(key)
        }
    };
    add(policy.health_check.is_some(), "healthCheck");
    add(policy.outlier_detection.is_some(), "outlierDetection");
    add(policy.passive_health.is_some(), "passiveHealth");
    add(policy.circuit_breaker.is_some(), "circuitBreaker");
    add(policy.rate_limit.is_some(), "rateLimit");
    add(policy.retries.is_some(), "retries");
    add(
        policy.max_connections_per_backend.is_some(),
        "limits.maxConnectionsPerInstance",
    );
    add(policy.max_connections.is_some(), "limits.maxConnections");
    add(policy.request_timeout.is_some(), "limits.requestTimeout");
    (policy, applied)
}

/// Every setting of the scenario that shapes a simulated run but not the
/// proxy, by its JSON path.
fn not_applied(model: &Model) -> Vec<String> {
    let s = &model.scenario;
    let d = &s.deployment;
    let mut out: Vec<String> = vec![
        "workload (the proxy serves the traffic it is sent)".into(),
        "instanceTypes (the backends are what they are)".into(),
    ];
    if !model.llm.models.is_empty() {
        out.push("llm".into());
    }
    let mut add = |on: bool, what: &str| {
        if on {
            out.push(what.to_string());
        }
    };
    add(s.network.is_some(), "network (regions' latencies)");
    add(s.failures.is_some(), "failures");
    add(d.scaling.is_some(), "deployment.scaling");
    add(d.metrics.is_some(), "deployment.metrics");
    add(d.budget.is_some(), "deployment.budget");
    add(
        d.proxy_latency.is_some(),
        "deployment.proxyLatency (the proxy's own time is whatever it takes)",
    );
    add(!d.routes.is_empty(), "deployment.routes");
    add(
        model.resilience.connection_timeout.is_some(),
        "deployment.limits.connectionTimeout (a wait in an instance's queue, which the proxy cannot see)",
    );
    add(
        d.load_balancing.replicas.is_some_and(|r| r > 1),
        "deployment.loadBalancing.replicas",
    );
    add(
        d.load_balancing.load_refresh_interval.is_some(),
        "deployment.loadBalancing.loadRefreshInterval",
    );
    let mut first_global = true;
    for l in &model.routes.rate_limits {
        if !l.config.enabled {
            continue;
        }
        if l.class.is_none() && first_global {
            first_global = false;
            continue;
        }
        out.push(format!("deployment rate limit `{}`", l.name));
    }
    out
}

//! The `deployment` limits and resilience policies: health checks, outlier
//! ejection, passive health, breakers, retries. (The entry rate limits are
//! in [`routes`](super::routes).)

use super::Checker;
use crate::scenario::{Limits, Scenario};
use strategies::{
    CircuitBreakerConfig, DurationStr, HealthCheckConfig, Nanos, OutlierDetectionConfig,
    PassiveHealthConfig, RetryConfig,
};

pub(super) struct ResiliencePart {
    pub(super) max_connections_per_instance: Option<u32>,
    pub(super) request_timeout: Option<Nanos>,
    pub(super) max_connections: Option<u32>,
    pub(super) connection_timeout: Option<Nanos>,
    pub(super) health_check: Option<HealthCheckConfig>,
    pub(super) outlier_detection: Option<OutlierDetectionConfig>,
    pub(super) passive_health: Option<PassiveHealthConfig>,
    pub(super) circuit_breaker: Option<CircuitBreakerConfig>,
    pub(super) retries: Option<RetryConfig>,
}

impl Scenario {
    pub(super) fn compile_resilience(&self, c: &mut Checker) -> ResiliencePart {
        let d = &self.deployment;
        if let Some(h) = &d.health_check {
            c.policy("deployment.healthCheck", h.validate());
        }
        if let Some(o) = &d.outlier_detection {
            c.policy("deployment.outlierDetection", o.validate());
        }
        if let Some(p) = &d.passive_health {
            c.policy("deployment.passiveHealth", p.validate());
        }
        if let Some(b) = &d.circuit_breaker {
            c.policy("deployment.circuitBreaker", b.validate());
        }
        if let Some(r) = &d.retries {
            c.policy("deployment.retries", r.validate());
        }
        let limits = self.limits_with_timeouts(c);
        let limits = &limits;
        if limits.max_connections == Some(0) {
            c.fail(
                "deployment.limits.maxConnections",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        if limits
            .connection_timeout
            .is_some_and(|t| t.nanos() == Nanos::ZERO)
        {
            c.fail(
                timeout_path(
                    d.timeouts.as_ref().and_then(|t| t.connection),
                    "connectionTimeout",
                    "connection",
                ),
                "must be longer than 0s (leave it out for no timeout)",
            );
        }
        if limits.max_connections_per_instance == Some(0) {
            c.fail(
                "deployment.limits.maxConnectionsPerInstance",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        if limits
            .request_timeout
            .is_some_and(|t| t.nanos() == Nanos::ZERO)
        {
            c.fail(
                timeout_path(
                    d.timeouts.as_ref().and_then(|t| t.request),
                    "requestTimeout",
                    "request",
                ),
                "must be longer than 0s (leave it out for no timeout)",
            );
        }
        ResiliencePart {
            max_connections_per_instance: limits.max_connections_per_instance,
            request_timeout: limits.request_timeout.map(|t| t.nanos()),
            max_connections: limits.max_connections,
            connection_timeout: limits.connection_timeout.map(|t| t.nanos()),
            health_check: d.health_check.clone().filter(|h| h.enabled),
            outlier_detection: d.outlier_detection.clone(),
            passive_health: d.passive_health.clone().filter(|p| p.enabled),
            circuit_breaker: d.circuit_breaker.clone().filter(|b| b.enabled),
            retries: d.retries.clone(),
        }
    }
}

impl Scenario {
    /// `deployment.limits` with `deployment.timeouts` folded in; a timeout
    /// given in both places, and `timeouts.idle`, are errors.
    fn limits_with_timeouts(&self, c: &mut Checker) -> Limits {
        let d = &self.deployment;
        let mut limits = d.limits.clone();
        let Some(t) = &d.timeouts else {
            return limits;
        };
        for (given, slot, key, limit_key) in [
            (
                t.connection,
                &mut limits.connection_timeout,
                "connection",
                "connectionTimeout",
            ),
            (
                t.request,
                &mut limits.request_timeout,
                "request",
                "requestTimeout",
            ),
        ] {
            if let Some(v) = given {
                if slot.is_some() {
                    c.fail(
                        format!("deployment.timeouts.{key}"),
                        format!("is also given as `deployment.limits.{limit_key}`; keep one"),
                    );
                }
                *slot = Some(v);
            }
        }
        if t.idle.is_some() {
            c.fail(
                "deployment.timeouts.idle",
                "is not modelled: fleetsim does not model keep-alive connection reuse, so an idle \
                 timeout could not change a run; remove it (`connection` and `request` are read)",
            );
        }
        limits
    }
}

/// The path a timeout was written at, for its error.
fn timeout_path(from_timeouts: Option<DurationStr>, limit_key: &str, key: &str) -> String {
    if from_timeouts.is_some() {
        format!("deployment.timeouts.{key}")
    } else {
        format!("deployment.limits.{limit_key}")
    }
}

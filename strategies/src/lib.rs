//! Production policies for fleets of LLM-agent service instances.
//!
//! This crate is what ships: a real proxy or agent router calls these
//! policies with wall-clock time, and the fleetsim simulator calls the very
//! same code with virtual time. Every policy is a plain synchronous state
//! machine: observations in, a decision out. Time ([`Nanos`]) and randomness
//! (`&mut impl RngCore`) are arguments; nothing here reads a clock, sleeps,
//! spawns, locks or logs.
//!
//! - [`balance`]: which backend takes the next request. A balancer sees the
//!   fleet through the [`Backends`] trait and answers [`Balancer::pick`].
//!   [`LoadBalancer`] selects a built-in by the name a scenario or deployment
//!   config uses, from [`LoadBalancingConfig`].
//! - [`health`]: active checks with thresholds ([`ActiveHealth`]),
//!   Envoy's outlier ejection ([`OutlierDetector`]), and nginx's and
//!   Caddy's passive health ([`PassiveHealth`]).
//! - [`breaker`]: circuit breakers, consecutive-failure and resilience4j
//!   failure-rate ([`CircuitBreaker`]).
//! - [`ratelimit`]: sliding window, log, fixed window, token bucket and GCRA,
//!   global or per key ([`RateLimiter`]).
//! - [`retry`]: backoff with jitter and retry budgets ([`RetryConfig`]).
//! - [`scale`]: autoscalers (threshold, Kubernetes HPA, AWS target
//!   tracking, KEDA) and the budget guard ([`scale::Autoscaler`]).
//!
//! Every configuration struct deserializes from the JSON shape of the
//! deployment docs these policies come from (`loadBalancing`,
//! `healthCheck`, `circuitBreaker`, `rateLimit`, `retries`) and rejects
//! unknown keys.
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use strategies::{BackendState, Balancer, LeastConnections, Nanos, RequestInfo};
//!
//! let fleet = [
//!     BackendState { eligible: true, active: 4, weight: 1 },
//!     BackendState { eligible: true, active: 1, weight: 1 },
//!     BackendState { eligible: false, active: 0, weight: 1 },
//! ];
//! let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
//! let mut lb = LeastConnections::new();
//! // Backend 2 is idle but not eligible (unhealthy, draining or full).
//! let who = RequestInfo::default();
//! assert_eq!(lb.pick(Nanos::from_secs(3), &who, &fleet[..], &mut rng), Some(1));
//! ```
//!
//! # Determinism
//!
//! Given the same sequence of calls, arguments and random generator state, a
//! policy makes the same decisions. No policy keeps hash-ordered state that
//! could reach a decision.

pub mod balance;
pub mod breaker;
mod duration;
mod error;
pub mod health;
mod object_only;
pub mod ratelimit;
pub mod retry;
pub mod scale;
mod time;

pub use balance::{
    BackendState, Backends, Balancer, Edf, First, LeastConnections, LoadBalancer,
    LoadBalancingConfig, PeakEwma, PerformanceBased, PowerOfTwo, RandomPick, RequestInfo,
    ResponseTime, RoundRobin, SmoothWeighted, StrategyKind,
};
pub use breaker::{BreakerKind, BreakerState, CircuitBreaker, CircuitBreakerConfig};
pub use duration::{DurationStr, DURATION_UNITS};
pub use error::ConfigError;
pub use health::{
    ActiveHealth, AttemptOutcome, HealthCheckConfig, OutlierDetectionConfig, OutlierDetector,
    PassiveHealth, PassiveHealthConfig, PassiveKind,
};
pub use object_only::ObjectOnly;
pub use ratelimit::{LimiterKind, RateKey, RateLimitConfig, RateLimiter};
pub use retry::{BackoffConfig, Jitter, RetryBudgetConfig, RetryConfig, RetryOn};
pub use time::Nanos;

/// Names read as aliases of this crate's own, because the seed
/// deployments' configs spell them so (`least_conn`, `round_robin`,
/// General Bots' `scale-*` keys in camelCase, AgenticGoKit's
/// `targetCpuUtilization`). Error messages list the canonical names only;
/// scenarios should prefer them.
pub const SEED_ALIASES: &[&str] = &[
    "round_robin",
    "least_connections",
    "least_conn",
    "power_of_two",
    "peak_ewma",
    "response_time",
    "performance_based",
    "ip_hash",
    "consistent_hash",
    "scaleCheckInterval",
    "scaleMinInstances",
    "scaleMaxInstances",
    "targetCpuUtilization",
    "scaleCpuThreshold",
    "targetMemoryUtilization",
    "scaleMemoryThreshold",
    "scaleRequestThreshold",
    "scaleCooldownSeconds",
];

#[cfg(test)]
mod alias_tests {
    use super::*;

    /// Every listed alias is read, and is a strategy name or a threshold
    /// key: the list cannot name something the crate does not accept.
    #[test]
    fn every_seed_alias_is_read() {
        for a in SEED_ALIASES {
            let as_strategy = serde_json::from_value::<StrategyKind>(serde_json::json!(a));
            let as_key = serde_json::from_value::<scale::ThresholdConfig>(
                serde_json::json!({ *a: if a.contains("Interval") || a.contains("Cooldown") { serde_json::json!("30s") } else { serde_json::json!(5) } }),
            );
            assert!(as_strategy.is_ok() || as_key.is_ok(), "{a}");
        }
    }
}

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
//! - [`Pool`]: backends by the caller's stable ids over any balancer, with
//!   per-request accounting that keeps the balancer current, for runtimes
//!   whose backends come and go.
//! - `tower` (feature `tower`): the policies as a `tower::Service` and
//!   `Layer` over real services (`strategies::tower::Balance`).
//! - [`scale`]: autoscalers (threshold, Kubernetes HPA, AWS target
//!   tracking and step scaling, KEDA) and the budget guard ([`scale::Autoscaler`]).
//!
//! Every configuration struct deserializes from the JSON shape of the
//! deployment docs these policies come from (`loadBalancing`,
//! `healthCheck`, `circuitBreaker`, `rateLimit`, `retries`) and rejects
//! unknown keys.
//!
//! # Where things live
//!
//! Paths are relative to `strategies/src/`; private helpers are named where
//! they hold the rule. `(decide)` means the type's `Autoscaler::decide`.
//!
//! | behaviour | where |
//! |---|---|
//! | how a `loadBalancing` block becomes a balancer, and which keys each strategy accepts | `balance/config.rs` `LoadBalancingConfig::build_for`, `build_strategy`, `StrategyKind::keys`, `StrategyKind::honours_weights` |
//! | what a balancer may ask of the fleet, and when `pick`, `refresh` and `observe` are called | `balance/mod.rs` `Backends`, `Balancer`; static dispatch in `LoadBalancer` |
//! | backends by stable id, inserted and removed while requests run, each request accounted (the pool calls `refresh` and `observe` itself) | `balance/pool.rs` `Pool::insert`, `Pool::remove`, `Pool::start`, `Pool::finish`, `Ticket` |
//! | the tower middleware (feature `tower`): entry, pick, attempt, outcome and retry, each the call the simulator makes at that point | `tower/core.rs` `Core::enter`, `Core::place`, `Core::record`, `Core::retry`, `Core::sync`; the service and its health-check future: `tower/service.rs` `Balance`, `Balance::health_checks`; what to apply: `tower/mod.rs` `Policy` |
//! | when a refused request may come back (`retry-after` of the tower middleware) | `tower/core.rs` `retry_after` (asks `RateLimiter::peek`) |
//! | round robin, and Caddy's `first` | `balance/round_robin.rs` `RoundRobin`, `First` |
//! | nginx smooth weighted round robin (`maxFails`) and Envoy's EDF | `balance/weighted.rs` `SmoothWeighted`, `Edf`, `DynamicEdf` |
//! | where least-connections breaks ties | `balance/least_conn.rs` `LeastConnections::scan_uniform` and `scan` (under 64 backends), `pick_trees` (64 and up) |
//! | weighted and uniform random picks | `balance/random.rs` `RandomPick`, `Fenwick`; `balance/eligible.rs` `EligibleSet` |
//! | power of two choices (Envoy, tower) and peak EWMA | `balance/p2c.rs` `PowerOfTwo`; `balance/peak_ewma.rs` `PeakEwma::cost`, `RttEstimate::update` |
//! | how `response-time` and `performance-based` score backends | `balance/response_time.rs` `ResponseTime`; `balance/performance.rs` `PerformanceBased::score`; both over `balance/score_tree.rs` `ScoreTree` |
//! | nginx `ip_hash`, the consistent-hash ring, Maglev and bounded loads | `balance/hashing.rs` `IpHash`, `ip_hash_step`, `ConsistentHash`, `maglev_table`, `BoundedLoad` |
//! | geographic routing (Envoy priority failover and panic), and canary splits | `balance/geo.rs` `Geographic`, `priority_loads`, `Canary` |
//! | sticky sessions, and when a session is re-pinned | `balance/affinity.rs` `StickySessions` |
//! | when an active health check marks a backend unhealthy or healthy again | `health/mod.rs` `ActiveHealth::record` |
//! | Envoy outlier ejection, its ejection cap and backoff | `health/outlier.rs` `OutlierDetector::record`, `OutlierDetector::tick` |
//! | nginx and Caddy passive health, and which failures count | `health/passive.rs` `PassiveHealth::is_available`, `PassiveHealth::record`, `PassiveHealthConfig::counts` |
//! | when a circuit breaker opens, half-opens and closes | `breaker.rs` `CircuitBreaker::try_acquire`, `CircuitBreaker::record`, `CircuitBreaker::reopen_at` |
//! | how each rate-limit algorithm admits a request, per key, within `maxKeys` | `ratelimit.rs` `RateLimiter::check`, `decide`, `Sliding::estimate`; without counting: `RateLimiter::peek` |
//! | how retry backoff and jitter are computed, which failures are retried, the retry budget | `retry.rs` `RetryConfig::backoff`, `RetryConfig::retries`, `RetryConfig::budget_allows` |
//! | which autoscaler a `scaling` block builds, and the pool-wide averages it reads | `scale/mod.rs` `ScalingConfig::build`, `Autoscaler`, `ScaleInput::fleet` |
//! | threshold scaling: one step at a time, cooldowns on one clock | `scale/threshold.rs` `ThresholdScaler` (decide), `up_trigger`, `down_trigger` |
//! | where the HPA computes desired replicas and its stabilization window | `scale/hpa.rs` `Hpa` (decide), `Hpa::propose`, `resource_replicas`, `History::stabilize`, `convert_with_rate`; without `behavior`: `Hpa::legacy` |
//! | AWS target tracking: its alarms, scale-in and cooldowns | `scale/target_tracking.rs` `TargetTracking` (decide; cooldowns start in `applied`) |
//! | KEDA queue scaling, activation and scale to zero | `scale/queue.rs` `QueueScaler` (decide) |
//! | AWS step scaling: alarms, step choice, percent rounding, cooldowns | `scale/step.rs` `StepScaling` (decide, `evaluate`; cooldowns start in `applied`), `percent_change` |
//! | when the budget refuses a scale-up | `scale/cost.rs` `CostGuard::refuses_scale_up` |
//! | time, duration strings (`1h30m`), config errors, object-only config blocks | `time.rs` `Nanos`; `duration.rs` `DurationStr::parse`; `error.rs` `ConfigError`; `object_only.rs` `ObjectOnly` |
//! | which seed-doc spellings are read as aliases | `lib.rs` `SEED_ALIASES`; the `serde(alias)` attributes on `StrategyKind` and `ThresholdConfig` |
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
#[cfg(feature = "tower")]
pub mod tower;

pub use balance::{
    BackendState, Backends, Balancer, Edf, First, LeastConnections, LoadBalancer,
    LoadBalancingConfig, PeakEwma, PerformanceBased, Pool, PowerOfTwo, RandomPick, RequestInfo,
    ResponseTime, RoundRobin, SmoothWeighted, StrategyKind, Ticket,
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

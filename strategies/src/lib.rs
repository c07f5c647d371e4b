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
//!   global or per key ([`RateLimiter`]), with retry-after
//!   ([`RateLimiter::admit`]).
//! - [`retry`]: backoff with jitter and retry budgets ([`RetryConfig`]).
//! - [`llm_client`]: an LLM provider's quota with retry-after
//!   ([`QuotaBuckets`]) and a client's handling of 429s
//!   ([`RateLimitRetryPolicy`]).
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
//! | when a balancer trusts its index and when it reads the view afresh (a forgotten refresh) | `balance/mod.rs` `Backends::refreshed`, `Refreshed`; `balance/eligible.rs` `EligibleSet::rebuild`; the check in each indexed balancer's `pick`; tests in `balance/refresh_free.rs` |
//! | a user's own balancer behind a trait object, and where it plugs in | `balance/dynamic.rs` `DynBalancer`, `LoadBalancer::custom`, `impl Balancer for Box<dyn DynBalancer>` |
//! | backends by stable id, inserted and removed while requests run, each request accounted (the pool calls `refresh` and `observe` itself) | `balance/pool.rs` `Pool::insert`, `Pool::remove`, `Pool::start`, `Pool::finish`, `Ticket` |
//! | the tower middleware (feature `tower`): entry, pick, attempt, outcome and retry, each the call the simulator makes at that point | `tower/core.rs` `Core::enter`, `Core::place`, `Core::record`, `Core::retry`, `Core::sync`; the service and its health-check future: `tower/service.rs` `Balance`, `Balance::health_checks`; what to apply: `tower/mod.rs` `Policy` |
//! | when a refused request may come back (`retry-after` of the tower middleware) | `tower/core.rs` `Core::enter` (asks `RateLimiter::admit`) |
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
//! | when a refused request may come back (retry-after, per algorithm) | `ratelimit.rs` `RateLimiter::admit`, `Admission`, `retry_after` |
//! | an LLM provider's quota in calls and tokens, its retry-after, and what a client does with a 429 (fallback, wait, give up) | `llm_client.rs` `QuotaBuckets::admit`, `RateLimitRetryPolicy::after_429` |
//! | how retry backoff and jitter are computed, which failures are retried, the retry budget | `retry.rs` `RetryConfig::backoff`, `RetryConfig::retries`, `RetryConfig::budget_allows` |
//! | which autoscaler a `scaling` block builds, and the pool-wide averages it reads | `scale/mod.rs` `ScalingConfig::build`, `Autoscaler`, `ScaleInput::fleet` |
//! | threshold scaling: one step at a time, cooldowns on one clock | `scale/threshold.rs` `ThresholdScaler` (decide), `up_trigger`, `down_trigger` |
//! | where the HPA computes desired replicas and its stabilization window | `scale/hpa.rs` `Hpa` (decide), `Hpa::propose`, `resource_replicas`, `History::stabilize`, `convert_with_rate`; without `behavior`: `Hpa::legacy` |
//! | the HPA's open metric names: what a caller feeds, the simulator's names and aliases | `scale/mod.rs` `MetricValues`, `Metrics`, `ScaleInput::metrics`; `scale/hpa.rs` `simulated_names`, `simulated_metric`, `Hpa::propose` |
//! | AWS target tracking: its alarms, scale-in and cooldowns | `scale/target_tracking.rs` `TargetTracking` (decide; cooldowns start in `applied`) |
//! | KEDA queue scaling, activation and scale to zero | `scale/queue.rs` `QueueScaler` (decide) |
//! | AWS step scaling: alarms, step choice, percent rounding, cooldowns | `scale/step.rs` `StepScaling` (decide, `evaluate`; cooldowns start in `applied`), `percent_change` |
//! | when the budget refuses a scale-up | `scale/cost.rs` `CostGuard::refuses_scale_up` |
//! | which policies are `Send + Sync` (compile-time check), and how to share one between threads | `threads.rs`; the crate docs' "Sharing a policy between threads" |
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
//! # Your own policy
//!
//! A balancer of your own implements [`DynBalancer`] (no generics: the
//! fleet is `&dyn Backends`, the generator `&mut dyn RngCore`) and is boxed
//! with [`LoadBalancer::custom`]; it is then accepted wherever a built-in
//! is: inside [`Canary`](balance::Canary) and
//! [`StickySessions`](balance::StickySessions), by the simulator, by pools.
//! A view of your fleet implements [`Backends`]; it need not call
//! [`Balancer::refresh`]: indexed balancers read a view afresh unless it
//! promises refreshes ([`Backends::refreshed`], [`Refreshed`]), so a
//! forgotten refresh costs speed, never a stale pick.
//!
//! # Sharing a policy between threads
//!
//! Every policy is `Send + Sync` (checked at compile time in `threads.rs`)
//! and decides through `&mut self`, with time and randomness as arguments.
//! Two ways to use one from several threads:
//!
//! - one policy for all, in a `Mutex` (`Arc<Mutex<LoadBalancer>>`), each
//!   thread with its own generator (`rand_pcg::Pcg64Mcg` seeded per
//!   thread): every pick sees every other's effect, as one proxy process
//!   does; the lock is held for one pick (O(1) to O(log n));
//! - one policy per thread, each fed a shard of the traffic (requests
//!   routed to a thread by a hash of their key), as nginx's workers each
//!   balance on their own: no lock, and each sees only its own share.
//!
//! `strategies/examples/real_time.rs` does the first, over real threads
//! and the wall clock. A configured template (a `LoadBalancingConfig`, a
//! built `LoadBalancer`) is shared read-only and cloned per thread or per
//! run, as the simulator clones one per replication.
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
pub mod llm_client;
mod object_only;
pub mod ratelimit;
pub mod retry;
pub mod scale;
mod threads;
mod time;
#[cfg(feature = "tower")]
pub mod tower;

pub use balance::{
    BackendState, Backends, Balancer, DynBalancer, Edf, First, LeastConnections, LoadBalancer,
    LoadBalancingConfig, PeakEwma, PerformanceBased, Pool, PowerOfTwo, RandomPick, Refreshed,
    RequestInfo, ResponseTime, RoundRobin, SmoothWeighted, StrategyKind, Ticket,
};
pub use breaker::{BreakerKind, BreakerState, CircuitBreaker, CircuitBreakerConfig};
pub use duration::{DurationStr, DURATION_UNITS};
pub use error::ConfigError;
pub use health::{
    ActiveHealth, AttemptOutcome, HealthCheckConfig, OutlierDetectionConfig, OutlierDetector,
    PassiveHealth, PassiveHealthConfig, PassiveKind,
};
pub use llm_client::{After429, ProviderQuota, QuotaBuckets, RateLimitRetryPolicy};
pub use object_only::ObjectOnly;
pub use ratelimit::{Admission, LimiterKind, RateKey, RateLimitConfig, RateLimiter};
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

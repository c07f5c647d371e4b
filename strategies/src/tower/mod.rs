//! The policies as a `tower` middleware (feature `tower`): a
//! [`tower::Service`] that balances each request over a set of inner
//! services, keyed by the caller's ids, with any balancer of this crate,
//! and wires health, ejection, breakers, rate limits and retries as the
//! simulator does.
//!
//! ```text
//! request ──► entry: maxConnections, RateLimiter::check ──► (429 / overload)
//!               │
//!               ▼  per attempt
//!          Pool::pick_slot (the balancer) over backends that are
//!          healthy (ActiveHealth), not ejected (OutlierDetector),
//!          available (PassiveHealth), breaker permitting
//!          (CircuitBreaker::would_permit) and under their connection limit
//!               │  CircuitBreaker::try_acquire, PassiveHealth::on_pick,
//!               │  Pool::start
//!               ▼
//!          inner service ──► classify ──► AttemptOutcome
//!               │  Pool::finish (Balancer::observe, refresh),
//!               │  OutlierDetector::record, CircuitBreaker::record,
//!               │  PassiveHealth::record
//!               ▼
//!          failed and RetryConfig::retries(outcome), attempts left,
//!          budget_allows ──► wait RetryConfig::backoff, pick again
//! ```
//!
//! Each step is the call the simulator makes at the same point (see
//! `core.rs`, which names the engine function beside each). Time is the
//! wall clock as tokio's timer reads it ([`tokio::time::Instant`]; paused
//! in tests), converted to [`Nanos`] since the adapter was built.
//!
//! - [`Balance`]: the service; [`BalanceLayer`]: the same as a layer over
//!   a `Vec<(K, S)>` of backends.
//! - [`Policy`]: what to apply, from the deployment blocks of a scenario
//!   (`loadBalancing`, `healthCheck`, `outlierDetection`, `passiveHealth`,
//!   `circuitBreaker`, `rateLimit`, `retries`, `limits`).
//! - Active health checks: [`Balance::health_checks`] is a future the
//!   caller spawns (it ends when the last `Balance` handle is dropped);
//!   [`Balance::record_health`] folds in a check made elsewhere.
//! - A response is a success or a failure as a classifier says
//!   ([`Balance::with_classifier`]): [`OkIsSuccess`] by default; for
//!   `http::Response`, [`HttpStatus`]: 5xx is an application error, and an
//!   inner error a connection failure.
//!
//! Sharing: `Balance` is `Clone`; clones share one state behind a mutex,
//! held only for the policy calls, never across an await. Before each
//! pick every backend's standing is brought up to the moment (breakers
//! half-open and passive health recovers with time alone), which costs
//! O(backends) per attempt: right for the tens of backends a proxy
//! fronts, not for thousands.

mod core;
mod service;

pub use service::{
    Balance, BalanceError, BalanceLayer, Classify, Describe, HttpStatus, OkIsSuccess,
};

use crate::{
    CircuitBreakerConfig, HealthCheckConfig, Nanos, OutlierDetectionConfig, PassiveHealthConfig,
    RateLimitConfig, RetryConfig,
};

/// Which mechanisms the adapter applies, each as its deployment block.
/// `None` (or a block with `enabled: false`) leaves a mechanism out.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `healthCheck`: checks run by [`Balance::health_checks`].
    pub health_check: Option<HealthCheckConfig>,
    /// `outlierDetection`.
    pub outlier_detection: Option<OutlierDetectionConfig>,
    /// `passiveHealth`.
    pub passive_health: Option<PassiveHealthConfig>,
    /// `circuitBreaker`: one breaker per backend.
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    /// `rateLimit`: at the entry, before balancing.
    pub rate_limit: Option<RateLimitConfig>,
    /// `retries`.
    pub retries: Option<RetryConfig>,
    /// `limits.maxConnectionsPerInstance`: a backend holding this many
    /// attempts is not picked.
    pub max_connections_per_backend: Option<u32>,
    /// `limits.maxConnections`: requests in flight at once; more are
    /// refused ([`BalanceError::Overloaded`]).
    pub max_connections: Option<u32>,
    /// `limits.requestTimeout`: from entry to answer, retries included;
    /// a request past it ends with [`BalanceError::Timeout`] and is not
    /// retried.
    pub request_timeout: Option<Nanos>,
    /// Seed of the random stream the balancer and the retry jitter draw
    /// from.
    pub seed: u64,
}

/// What the adapter has done, counted since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Attempts sent to a backend (first tries and retries).
    pub attempts: u64,
    /// Retries decided.
    pub retries: u64,
    /// Requests refused by the rate limit.
    pub rate_limited: u64,
    /// Requests refused by `maxConnections`.
    pub overloaded: u64,
    /// Attempts that found no eligible backend.
    pub no_backend: u64,
    /// Requests past their deadline.
    pub timeouts: u64,
    /// Outlier ejections.
    pub ejections: u64,
    /// Times a breaker opened.
    pub breaker_trips: u64,
    /// Changes of active health.
    pub health_changes: u64,
}

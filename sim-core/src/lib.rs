//! fleetsim's engine: scenario files in, measured runs out.
//!
//! `sim-core` reads a scenario ([`Scenario`]), checks it into a runnable
//! [`Model`], and runs it: each replication is one [`Engine`], a
//! single-threaded discrete-event loop driving the production policies of
//! the `strategies` crate with virtual time. [`run_model`] runs all
//! replications and returns a [`ScenarioResult`]: per-run [`RunResult`]s,
//! pooled figures, and each metric's mean with a 95% confidence interval.
//!
//! # Example
//!
//! ```
//! use sim_core::{run_model, Model, RunOptions};
//!
//! let json = r#"{
//!   "name": "tiny",
//!   "run": { "seed": 7, "duration": "10m" },
//!   "workload": { "arrivals": { "ratePerSecond": 2 } },
//!   "llm": { "models": { "m": { "latency": { "dist": "exponential", "mean": "1s" } } } },
//!   "instanceTypes": { "small": { "slots": 4, "pricePerHour": 0.5 } },
//!   "deployment": { "regions": { "eu-west-1": { "instances": 2 } } }
//! }"#;
//! let model = Model::from_json(json, "tiny.json").unwrap();
//! let result = run_model(&model, RunOptions::default()).unwrap();
//! let c = result.pooled.counts;
//! assert_eq!(c.arrivals, c.completed + c.rejected + c.timed_out + c.failed + c.in_flight);
//! assert!(result.runs[0].utilization > 0.1 && result.runs[0].utilization < 0.4);
//! ```
//!
//! # Where things live
//!
//! | module | what |
//! |---|---|
//! | `scenario` | the file's types ([`Scenario`]), `extends`, and compiling each section into the [`Model`] (`scenario::compile`, one file per section) |
//! | `engine` | the event loop and the components it dispatches to, each owning its state and events: workload, sessions, classes, requests, routing, routes and rate limits, replicas, service, llm, providers, network, fleet, resilience, faults, scaling, cost, series, tenants (see [`Engine`]) |
//! | [`trace`] | reading a replayed arrival trace (CSV) as a stream |
//! | `profile` | the arrival rate over time: steps, ramps, diurnal swing, bursts |
//! | `breakdown` | where completed requests' time went ([`LatencyBreakdown`]) |
//! | `metrics`, `regime`, `stats` | what a run measured ([`RunResult`]), steady state ([`Regime`]), confidence intervals |
//! | `run` | replications in parallel, pooled ([`run_model`]) |
//! | `dist`, [`rng`] | distributions and the seeded random streams |
//!
//! # Determinism
//!
//! Simulated time is integer nanoseconds. Events at one instant run in the
//! order they were scheduled (`(time, seq)` keys). Every random draw comes
//! from a portable PCG stream derived from the seed, the replication and a
//! stable purpose name ([`rng`]), so the same scenario and seed give
//! byte-identical results on any machine and any thread count, and two
//! configurations on one seed see the same arrivals and LLM latencies.

mod breakdown;
mod control;
mod dist;
mod engine;
mod error;
mod metrics;
mod profile;
mod regime;
pub mod rng;
mod run;
mod scenario;
mod stats;
mod timeline;
pub mod trace;

pub use breakdown::{LatencyBreakdown, ModelTime};
pub use control::RunControl;
pub use dist::{
    Amount, AmountDist, CountOrDist, DistError, DistParam, DistSpec, DurationOrDist, Sampler,
};
pub use engine::Engine;
pub use error::{Problem, ScenarioError, SimError};
pub use metrics::{
    jain_index, ClassResult, Counts, EngineStats, InstanceResult, LatencyRecorder, LatencySummary,
    LimitCount, ModelCalls, Reasons, ResilienceEvents, RunResult, SloCheck, SloVerdict,
    TenantResult, TokenCounts,
};
pub use profile::{BurstShape, DiurnalShape};
pub use regime::{Regime, BACKLOG_MIN, BACKLOG_SHARE, GROWTH_RATIO, OVERLOAD_ERROR_RATE};
pub use run::{run_model, run_model_with, Pooled, RunOptions, ScenarioResult};
pub use scenario::{
    json_file, nearest, scenario_json, scenario_json_from_str, Arrivals, Burst, CacheModel,
    CallCount, ClassModel, ClassSessions, CompiledFailure, Deployment, Diurnal, FailureEvent,
    FailureKind, FailureMode, Failures, InstanceSpec, InstanceType, InstanceTypeSpec, Limits,
    LlmCache, LlmModel, LlmModelSpec, LlmSpec, MetricsPipeline, Model, NamedLimit, NoisyTenant,
    Objective, Percentile, Provenance, ProviderRateLimit, QuotaModel, QuotaScope,
    RandomFailureModel, RandomFailures, RateLimitRetries, RateLimitRetryModel, RateStep, Region,
    RegionSpec, RequestClass, RequestShape, Route, RouteModel, RunSpec, Saturation, ScalingModel,
    Scenario, SessionModel, Sessions, Shape, SizeStr, Slo, StepRate, Timeouts, Trace, TraceModel,
    UserModel, Users, WorkEstimate, Workload, MAX_ATTEMPTS, MAX_DURATION, MAX_EXTENDS_DEPTH,
    MAX_RATE_PER_SECOND, MIN_INTERVAL, SIZE_UNITS,
};
#[cfg(feature = "schema")]
pub use scenario::{json_schema, SCHEMA_FILE};
pub use stats::{ci95_half_width, MetricSummary};
pub use strategies::{DurationStr, Nanos, DURATION_UNITS};
pub use timeline::{ScalingEvent, ScalingSummary, SeriesRow};

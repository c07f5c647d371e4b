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
//! | `scenario` | the file's types ([`Scenario`]), `extends`, and compiling each section into the same section of the [`Model`] ([`RunSection`], [`WorkloadSection`], [`LlmSection`], [`FleetSection`], …; `scenario::compile`, one file per section) |
//! | [`native`] | configs teams run (nginx, HAProxy, Caddy, Kubernetes and KEDA) read into a scenario's `deployment`, with a report of every directive |
//! | `engine` | the event loop and the components it dispatches to, each owning its events (see [`Engine`]) |
//! | [`trace`] | reading a replayed arrival trace (CSV) as a stream |
//! | [`request_trace`] | per-request traces: an [`Observer`] that follows each sampled request (picks, queue, LLM legs, 429s, fallbacks, outcome) and writes a row as it ends ([`request_trace::TraceRecorder`], [`request_trace::CsvSink`]); [`run_model_traced`] |
//! | `profile` | the arrival rate over time: steps, ramps, diurnal swing, bursts |
//! | `breakdown` | where completed requests' time went ([`LatencyBreakdown`]) |
//! | `metrics`, `regime`, `stats` | what a run measured ([`RunResult`]), steady state ([`Regime`]), confidence intervals kept inside each metric's range ([`Bounds`], [`MetricSummary`]) |
//! | `session_results` | what closed-loop sessions measured ([`SessionResults`]): started, completed, abandoned, duration, turns, turn latency |
//! | `run` | replications in parallel, pooled ([`run_model`]); the result as JSON and its format version ([`ScenarioResult`], [`RESULT_FORMAT_VERSION`]; its schema: `reports/contracts/result.schema.json`) |
//! | `lint` | findings: settings a scenario writes that cannot act, with their JSON path ([`Finding`]; static ones in [`Model::findings`], run ones in [`ScenarioResult::findings`]) |
//! | `dist`, [`rng`] | distributions and the seeded random streams |
//!
//! Behaviour by behaviour (files under `src/`):
//!
//! | behaviour | where |
//! |---|---|
//! | the loop, and which component an event goes to | `engine/mod.rs` `Engine::run_with`, `Engine::handle`, `Event` |
//! | the state each component owns, and the context they share | each component's struct in its module (`workload::Workload`, `routing::Routing`, `llm::Llm`, `resilience::Resilience`, `faults::Faults`, `scaling::Scaler`, `cost::Cost`, `series::Series`, `outcome::Outcomes`, …); the shared context is the rest of `engine/mod.rs` `Engine` |
//! | stepping a run, observing it, looking at the fleet between steps | `engine/step.rs` [`Engine::step`], [`Engine::run_until`], [`Observer`] |
//! | the order of events at one instant | `engine/queue.rs` (`(time, seq)` keys) |
//! | open arrivals, who sends them, the entry rate limits | `engine/workload.rs` `Engine::on_arrival`, `Engine::admit`; `engine/routes.rs` `Limits::admit` |
//! | a replayed trace's rows arriving | `engine/workload.rs` `Engine::on_trace_arrival`; `trace.rs` `TraceReader` |
//! | a trace row's own service time (`service_time`) replacing the drawn one | kept per request in `engine/workload.rs` `Engine::keep_given_service`, read by `Engine::given_service` in `engine/llm/calls.rs` `start_llm_simple`, `start_llm_general` and `engine/service.rs` `start` (no CPU phase of its own); refused for per-leg call paths in `Engine::open_trace` |
//! | closed-loop sessions: think time, turns | `engine/sessions.rs` `Engine::session_turn_ended`, `Engine::on_think` |
//! | a session's start, end, abandonment (`abandonAfterErrors`) and its results | `engine/sessions.rs` `Sessions::turn_sent`, `Sessions::turn_ended`, `Sessions::result`; `session_results.rs` [`SessionResults`] |
//! | what an observer hears of a request (arrival, the loads compared, pick, slot, LLM legs, 429s, failed attempts) | `engine/step.rs` [`Observed`]; told from `engine/workload.rs` `admit`, `engine/routing.rs` `dispatch`, `attempt_failed`, `engine/service.rs` `start`, `engine/llm/calls.rs`, `engine/llm/dynamic.rs` |
//! | a traced request's row and story | `request_trace/story.rs` `Live`; the columns: `request_trace/mod.rs` [`request_trace::TRACE_COLUMNS`] |
//! | a request's class | `engine/classes.rs` `Classes::draw` |
//! | how a request ends and who counts it (the outcome hook) | `engine/outcome.rs` `Engine::announce` |
//! | the balancer's pick, queueing at an instance | `engine/routing.rs` `Engine::dispatch` |
//! | the proxy's own time on a completed request's path (`deployment.proxyLatency`) | `engine/network.rs` `Engine::proxy_time`, added in `engine/requests.rs` `Engine::finalize` |
//! | where a request timeout fires | `engine/routing.rs` `RoutingEvent::Timeout`, `Engine::on_timeout` (the client's round trip is added in `engine/requests.rs` `Engine::finalize`) |
//! | retries and their backoff | `engine/routing.rs` `Engine::attempt_failed`, `Engine::on_retry` |
//! | whether a pending event lost its purpose | `is_stale` beside each handler: `engine/routing.rs`, `engine/service.rs`, `engine/llm/mod.rs` |
//! | a request in a slot, CPU shared among requests | `engine/service.rs` `Engine::start`, `Engine::on_cpu_done`, `Engine::on_service_done` |
//! | LLM calls: model per call, cache, fallbacks, tokens, tool waits; which call path a scenario takes | `engine/llm/mod.rs` `first_leg`, `answer`, `CallPath`; `engine/llm/calls.rs` `Engine::start_llm`, `Engine::next_leg` |
//! | a provider's quota, a 429 and its retry-after | the decisions in `strategies/src/llm_client.rs` (`QuotaBuckets::admit`, `RateLimitRetryPolicy::after_429`); called from `engine/providers.rs` `Providers::admit` and `engine/llm/dynamic.rs` `Engine::ask_provider`; the wait in `Engine::retry_429`, giving up in `Engine::give_up_429` |
//! | a breaker per model in an instance's LLM client | `engine/providers.rs` `Providers::breaker`; `engine/llm/dynamic.rs` `Engine::ask_provider`, `Engine::end_leg` |
//! | round trips, jitter, network degradation | `engine/network.rs` `Network::round_trip`, `Network::degrade` |
//! | balancer replicas with stale views | `engine/replicas.rs` `Engine::on_view_refresh`, `Engine::replica_pick_for` |
//! | a routed class's own balancer | `engine/routes.rs` `Engine::route_pick` |
//! | active health checks and their thresholds | `engine/resilience.rs` `Engine::on_health_check`, `Engine::record_health` |
//! | outlier ejection, breakers, passive health | `engine/resilience.rs` `Engine::observe_attempt`, `Engine::passive_update` |
//! | scheduled and random failures | `engine/faults.rs` `Engine::on_failure_event`, `Engine::on_random_fail` |
//! | the metrics an autoscaler sees, and its decision applied | `engine/scaling.rs` `Engine::on_metrics_collect`, `Engine::check_region` (the HPA's own arithmetic is `strategies::scale::hpa`) |
//! | which HPA metric names a scenario may use (the simulator's names and the seed-doc aliases), refused at load otherwise | `scenario/compile/fleet.rs` `check_hpa_names` over `strategies::scale::simulated_names` |
//! | start-up, draining, OOM kills | `engine/scaling.rs` `Engine::boot`, `Engine::remove`, `Engine::on_drain_deadline`, `Engine::memory_check` |
//! | instance and LLM spend, the budget | `engine/cost.rs` `Cost` |
//! | the time series | `engine/series.rs` `Engine::on_series_tick` |
//! | per-tenant fairness | `engine/tenants.rs` `Tenants` |
//! | the conservation check and the run's results | `engine/results.rs` `Engine::results`, `Engine::conserved_counts`, `Engine::fleet_totals` |
//! | how an nginx, HAProxy, Caddy or Kubernetes config becomes a deployment, directive by directive | `native/nginx.rs` `import` (`Reader::upstream`, `Reader::proxy_settings`), `native/haproxy.rs` `import` (`Reader::read`), `native/caddy.rs` `import` (`Reader::reverse_proxy`), `native/kubernetes.rs` `import` (`Reader::deployment`, `Reader::hpa`, `Reader::scaled_object`); nginx's grammar in `native/conf.rs`, YAML in `scenario/yaml.rs` |
//! | how a scenario takes a native config by reference (`deployment.import`) | `scenario/extends.rs` `import_native` |
//! | offered load on every resource (slots, CPU, memory, LLM permits, provider quotas, connection and rate limits) and the bottleneck | `scenario/compile/capacity/mod.rs` [`Model::offered_load`]; what one mean request asks of each, `capacity/footprint.rs` |
//! | what a scenario key means and its checks | `scenario/compile/<section>.rs` (e.g. `compile/resilience.rs` for `healthCheck`) |
//! | an error's file, JSON path and what is allowed | `error.rs` `ScenarioError`; `scenario/json.rs` |
//! | a scenario, sweep or gate file read from standard input (`-`): read once, named `<stdin>`, JSON or YAML by its first character | `scenario/load.rs` `read_text`, [`STDIN`], [`shown_path`], `parse_value` |
//! | the build's names: the results' version ([`VERSION`]) and `--version`'s commit and date ([`COMMIT`]) | `build.rs` |
//! | a wrong type's message in the user's words (`a number`, `a whole number ≥ 0`, `an object`, not `f64`, `u32`, `a map`) | `scenario/words.rs` `rewrite`, called from `scenario/load.rs` `explain` |
//! | settings that cannot act (findings), one file per family | `lint/mod.rs` `check` (static, on the scenario as written), `after_run`, `across_runs`; `lint/scaling.rs` (targets above a pod's ceiling `PodCeiling`, cooldowns and stabilization windows that held nothing), `lint/limits.rs` (budgets, rate and connection limits, quotas), `lint/balancing.rs` (canary removed: the engine notes it in `engine/scaling.rs` `Engine::note_canary_removed`; affinity types), `lint/breaker.rs` (`timeout` against `resetTimeout`) |
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
mod lint;
mod metrics;
pub mod native;
mod profile;
mod regime;
pub mod request_trace;
pub mod rng;
mod run;
mod scenario;
mod session_results;
mod stats;
mod timeline;
pub mod trace;

/// This build: the package version and the commit it was built from
/// (`0.1.0+g1a2b3c4d5e6f`); with uncommitted changes, or outside a git
/// checkout, a hash of the engine's behaviour-relevant inputs (the
/// sources of `sim-core` and `strategies`, the lock file) as well:
/// `0.1.0+g1a2b3c4d5e6f.dirty.e0123abcd`, `0.1.0+e0123abcd`. Every
/// result, manifest, baseline and journal carries it.
pub const VERSION: &str = env!("FLEETSIM_BUILD");

/// The format version of a [`ScenarioResult`] as JSON (`result.json`,
/// `run --json`): up by one when a reader of the old format could misread
/// the new one (a key removed or renamed, a type, unit or meaning
/// changed); adding a key leaves it.
pub const RESULT_FORMAT_VERSION: u32 = 1;

/// The commit this build was made from and the commit's date, for
/// `fleetsim --version`: `f6ed27b 2026-12-07`, `f6ed27b-dirty 2026-12-07`
/// when tracked files had uncommitted changes, `no git` when built outside
/// a git checkout (from a source archive, say).
pub const COMMIT: &str = env!("FLEETSIM_COMMIT");

pub use breakdown::{LatencyBreakdown, ModelTime};
pub use control::RunControl;
pub use dist::{
    Amount, AmountDist, CountOrDist, DistError, DistParam, DistSpec, DurationOrDist, Sampler,
};
pub use engine::{Engine, InstanceState, NoObserver, Observed, Observer};
pub use error::{Problem, ScenarioError, SimError};
pub use lint::{across_runs, after_run as run_findings, findings, Finding, Stage as FindingStage};
pub use metrics::{
    jain_index, ClassResult, Counts, EngineStats, InstanceResult, LatencyRecorder, LatencySummary,
    LimitCount, ModelCalls, Reasons, ResilienceEvents, RunResult, SloCheck, SloVerdict,
    TenantResult, TokenCounts,
};
pub use profile::{BurstShape, DiurnalShape};
pub use regime::{Regime, BACKLOG_MIN, BACKLOG_SHARE, GROWTH_RATIO, OVERLOAD_ERROR_RATE};
pub use run::{run_model, run_model_traced, run_model_with, Pooled, RunOptions, ScenarioResult};
pub use scenario::{
    is_stdin, json_file, nearest, scenario_json, scenario_json_from_str, shown_path, to_yaml,
    Arrivals, BalancingSection, BudgetSection, Burst, CacheModel, CallCount, ClassModel,
    ClassSessions, CompiledFailure, Deployment, Diurnal, FailureEvent, FailureKind, FailureMode,
    Failures, FailuresSection, FleetSection, InstanceSpec, InstanceType, InstanceTypeSpec, Limits,
    LlmCache, LlmModel, LlmModelSpec, LlmSection, LlmSpec, MetricsPipeline, Model, NamedLimit,
    NetworkSection, NoisyTenant, Objective, OfferedLoad, Percentile, Provenance, ProviderRateLimit,
    QuotaModel, QuotaScope, RandomFailureModel, RandomFailures, RateLimitRetries,
    RateLimitRetryModel, RateStep, Region, RegionSpec, RequestClass, RequestShape,
    ResilienceSection, ResourceLoad, Route, RouteModel, RoutesSection, RunSection, RunSpec,
    Saturation, ScalingModel, Scenario, SessionModel, Sessions, Shape, SizeStr, Slo, StepRate,
    Timeouts, TokenMeans, Trace, TraceModel, TraceTally, UserModel, Users, WorkEstimate, Workload,
    WorkloadSection, MAX_ATTEMPTS, MAX_DURATION, MAX_EXTENDS_DEPTH, MAX_RATE_PER_SECOND,
    MAX_SERIES_ROWS_TOTAL, MIN_INTERVAL, SIZE_UNITS, STDIN,
};
#[cfg(feature = "schema")]
pub use scenario::{json_schema, SCHEMA_FILE};
pub use session_results::{SessionResults, TurnsSummary};
pub use stats::{ci95_half_width, wilson, Bounds, MetricSummary, MIN_INTERVAL_SAMPLES};
pub use strategies::{DurationStr, Nanos, DURATION_UNITS};
pub use timeline::{ScalingEvent, ScalingSummary, SeriesRow};

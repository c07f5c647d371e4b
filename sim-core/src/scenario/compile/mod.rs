//! Checking a parsed scenario across fields and turning it into the model
//! the engine runs.
//!
//! Each section of the file is compiled by one function in its own file,
//! in the order the sections depend on each other, into one section of the
//! [`Model`] (the engine's component of the same name reads it):
//!
//! | section | file | model |
//! |---|---|---|
//! | `name`, `currency`, `run` | [`run`] | [`RunSection`] |
//! | `workload.request` (the request's workflow), calling the two below | [`workload`] | [`WorkloadSection`] |
//! | `workload.classes` (request classes, each with its own workflow and sessions) | [`classes`] | [`WorkloadSection::classes`] |
//! | `workload.arrivals` (steps, ramps, diurnal swing, bursts) | [`arrivals`] | [`WorkloadSection`] |
//! | `workload.users`, `workload.sessions` | [`users`] | [`WorkloadSection`] |
//! | `workload.trace` | [`trace`] | [`WorkloadSection::trace`] |
//! | `llm` | [`llm`] | [`LlmSection`] |
//! | `instanceTypes`, `deployment.regions`, `deployment.scaling`, `deployment.metrics` | [`fleet`] | [`FleetSection`] |
//! | `workload.clients`, `network` | [`network`] | [`NetworkSection`] |
//! | `deployment.loadBalancing` | [`balancing`] | [`BalancingSection`] |
//! | `deployment` limits and resilience policies | [`resilience`] | [`ResilienceSection`] |
//! | `deployment.routes`, `deployment.rateLimit`, `deployment.rateLimits` | [`routes`] | [`RoutesSection`] |
//! | `deployment.budget` | [`budget`] | [`BudgetSection`] |
//! | `failures` | [`failures`] | [`FailuresSection`] |
//! | `slo` | [`slo`] | [`Model::objectives`] |
//!
//! Beside the sections, [`capacity`] computes what the workload offers
//! each resource of the compiled model (slots, CPU, memory, LLM permits,
//! provider quotas, connection and rate limits) and names the bottleneck:
//! [`Model::offered_load`].
//!
//! Every function records what is wrong in a shared [`Checker`] and goes on,
//! so a scenario's problems are all reported at once.

mod arrivals;
mod balancing;
mod budget;
mod capacity;
mod classes;
mod failures;
mod fleet;
mod llm;
mod network;
mod resilience;
mod routes;
mod run;
mod slo;
mod trace;
mod users;
mod workload;

use super::{FailureKind, FailureMode, Scenario};
use crate::dist::{DistSpec, Sampler};
use crate::error::{Problem, ScenarioError};
pub use capacity::{OfferedLoad, ResourceLoad};
use fleet::FleetPart;
use llm::LlmPart;
use network::NetworkPart;
pub(crate) use run::default_series_interval;
pub use run::MAX_SERIES_ROWS_TOTAL;
use std::fmt;
use std::path::Path;
use strategies::balance::Topology;
use strategies::scale::{BudgetConfig, ScalingConfig};
use strategies::{
    CircuitBreakerConfig, HealthCheckConfig, LoadBalancer, LoadBalancingConfig, Nanos,
    OutlierDetectionConfig, PassiveHealthConfig, RateLimitConfig, RetryConfig,
};
pub use trace::{TraceModel, TraceTally};

/// Most instances one scenario may define (including those an autoscaler
/// may start).
pub(crate) const MAX_INSTANCES: u64 = 1_000_000;

/// A checked scenario, ready to run, by section: the same sections as the
/// scenario file and the engine's components. Building one is the only
/// way to get one, so the engine never meets an invalid value.
#[derive(Debug, Clone)]
pub struct Model {
    /// The scenario as written.
    pub scenario: Scenario,
    /// `name`, `currency` and `run`: the horizon, the measured window, seeds.
    pub run: RunSection,
    /// `workload`: arrivals and their rate over time, request classes, users and sessions, a replayed trace.
    pub workload: WorkloadSection,
    /// `llm`: the models, the cache, what a 429 does, and whether providers have state.
    pub llm: LlmSection,
    /// `instanceTypes`, `deployment.regions` and `deployment.scaling`: what may run where, and who changes it.
    pub fleet: FleetSection,
    /// `workload.clients` and `network`: where clients are and how far.
    pub network: NetworkSection,
    /// `deployment.loadBalancing`: the balancer and its weights.
    pub balancing: BalancingSection,
    /// `deployment`'s limits and resilience policies.
    pub resilience: ResilienceSection,
    /// `deployment.routes`, `deployment.rateLimit` and `rateLimits`.
    pub routes: RoutesSection,
    /// `deployment.budget`: spend caps and the model used over the LLM cap.
    pub budget: BudgetSection,
    /// `failures`: random and scheduled.
    pub failures: FailuresSection,
    /// SLO objectives.
    pub objectives: Vec<Objective>,
    /// Settings the scenario writes that cannot act, found when it was
    /// checked (`lint`); the run's own findings come with its result.
    pub findings: Vec<crate::lint::Finding>,
}

/// `name`, `currency` and `run`: the horizon, the measured window, seeds.
#[derive(Debug, Clone)]
pub struct RunSection {
    /// The currency prices are in.
    pub currency: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated horizon.
    pub duration: Nanos,
    /// Start of the measured window.
    pub warmup: Nanos,
    /// Replications to run.
    pub replications: u32,
    /// Time between rows of the time series.
    pub series_interval: Nanos,
}

/// `workload`: arrivals and their rate over time, request classes, users and sessions, a replayed trace.
#[derive(Debug, Clone)]
pub struct WorkloadSection {
    /// Arrival rate over time: the first entry starts at zero.
    pub rate_profile: Vec<StepRate>,
    /// A diurnal swing of the rate.
    pub diurnal: Option<crate::profile::DiurnalShape>,
    /// Bursts of the rate.
    pub bursts: Vec<crate::profile::BurstShape>,
    /// The request classes, in file order: one unnamed class with the
    /// workload's request when `workload.classes` is absent.
    pub classes: Vec<ClassModel>,
    /// The user population, if modelled.
    pub users: Option<UserModel>,
    /// Closed-loop sessions of the user population.
    pub sessions: Option<SessionModel>,
    /// A replayed arrival trace.
    pub trace: Option<TraceModel>,
}

/// `llm`: the models, the cache, what a 429 does, and whether providers have state.
#[derive(Debug, Clone)]
pub struct LlmSection {
    /// Every model of `llm.models`, in file order.
    pub models: Vec<LlmModelSpec>,
    /// The LLM response cache.
    pub cache: Option<CacheModel>,
    /// Some model times calls by their output tokens, so tokens are drawn
    /// before each call's latency.
    pub tokens_timed: bool,
    /// What instances do on a 429 without a fallback.
    pub rate_limit_retries: RateLimitRetryModel,
    /// Providers have state the engine must follow call by call (quotas,
    /// saturation, outages, per-instance call caps).
    pub providers_dynamic: bool,
}

/// `instanceTypes`, `deployment.regions` and `deployment.scaling`: what may run where, and who changes it.
#[derive(Debug, Clone)]
pub struct FleetSection {
    /// Every instance type, in file order.
    pub types: Vec<InstanceTypeSpec>,
    /// Every region, in file order.
    pub regions: Vec<RegionSpec>,
    /// Every instance the fleet may run, region by region in file order:
    /// those running from the start, then those an autoscaler may start.
    pub instances: Vec<InstanceSpec>,
    /// Autoscaling, when configured.
    pub scaling: Option<ScalingModel>,
}

/// `workload.clients` and `network`: where clients are and how far.
#[derive(Debug, Clone)]
pub struct NetworkSection {
    /// Client regions and their cumulative request shares (empty without
    /// `workload.clients`).
    pub client_regions: Vec<(String, f64)>,
    /// Where instances are and how far clients are: regions, priorities,
    /// round-trip times.
    pub topology: Topology,
    /// Jitter added to each round trip.
    pub jitter: Option<Sampler>,
    /// The proxy's time on a completed attempt's path, there and back
    /// (`deployment.proxyLatency`).
    pub proxy_latency: Option<Sampler>,
}

/// `deployment.loadBalancing`: the balancer and its weights.
#[derive(Debug, Clone)]
pub struct BalancingSection {
    /// The balancer's config.
    pub config: LoadBalancingConfig,
    /// The balancer it builds, fresh, cloned into every replication (and
    /// into each balancer replica).
    pub balancer: LoadBalancer,
    /// How often balancer replicas learn the backends' load.
    pub refresh: Option<Nanos>,
    /// Static weight per instance (from `loadBalancing.weighted`, else 1).
    pub weights: Vec<u32>,
}

/// `deployment`'s limits and resilience policies.
#[derive(Debug, Clone)]
pub struct ResilienceSection {
    /// Most requests one instance holds, running plus queued.
    pub max_connections_per_instance: Option<u32>,
    /// Deadline after arrival.
    pub request_timeout: Option<Nanos>,
    /// Most requests the fleet holds at once.
    pub max_connections: Option<u32>,
    /// Longest wait in an instance queue.
    pub connection_timeout: Option<Nanos>,
    /// Active health checks, when enabled.
    pub health_check: Option<HealthCheckConfig>,
    /// Outlier ejection.
    pub outlier_detection: Option<OutlierDetectionConfig>,
    /// Passive health (nginx, Caddy), when enabled.
    pub passive_health: Option<PassiveHealthConfig>,
    /// Per-instance circuit breakers, when enabled.
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    /// Retries.
    pub retries: Option<RetryConfig>,
}

/// `deployment.routes`, `deployment.rateLimit` and `rateLimits`.
#[derive(Debug, Clone)]
pub struct RoutesSection {
    /// The routes of `deployment.routes`: a balancer per routed class.
    pub routes: Vec<RouteModel>,
    /// Entry rate limits, by name: `deployment.rateLimit` (named
    /// `rateLimit`), `deployment.rateLimits`, then each route's.
    pub rate_limits: Vec<NamedLimit>,
}

/// `deployment.budget`: spend caps and the model used over the LLM cap.
#[derive(Debug, Clone)]
pub struct BudgetSection {
    /// Spend caps.
    pub config: Option<BudgetConfig>,
    /// The model used while the LLM spend cap is exceeded.
    pub fallback_model: Option<usize>,
}

/// `failures`: random and scheduled.
#[derive(Debug, Clone)]
pub struct FailuresSection {
    /// Random instance failures.
    pub random: Option<RandomFailureModel>,
    /// Scheduled failures, in file order.
    pub events: Vec<CompiledFailure>,
}

/// One request class.
#[derive(Debug, Clone)]
pub struct ClassModel {
    /// Its name in `workload.classes` (empty for a workload without
    /// classes).
    pub name: String,
    /// Its share of requests, 0 to 1 (the shares add up to 1).
    pub share: f64,
    /// What one of its requests does.
    pub shape: Shape,
    /// Its sessions, when the workload has sessions.
    pub sessions: Option<SessionModel>,
    /// Its route (index into [`RoutesSection::routes`]), when it has one.
    pub route: Option<usize>,
}

/// One request's workflow, compiled from a `request` block.
#[derive(Debug, Clone)]
pub struct Shape {
    /// CPU work per request, if any.
    pub cpu_time: Option<Sampler>,
    /// LLM calls per attempt.
    pub llm_calls: CallCount,
    /// The model the calls go to (index into [`LlmSection::models`]).
    pub model_index: usize,
    /// The model of each call in order (empty: `model_index` for all).
    pub model_per_call: Vec<usize>,
    /// A tool-call wait between LLM calls.
    pub tool_time: Option<Sampler>,
    /// Input tokens per LLM call, when counted.
    pub input_tokens: Option<Sampler>,
    /// Output tokens per LLM call, when counted.
    pub output_tokens: Option<Sampler>,
}

impl Shape {
    /// The workflow is plain: a fixed number of calls to one model, no
    /// tool waits.
    pub fn is_plain(&self) -> bool {
        self.tool_time.is_none()
            && self.model_per_call.is_empty()
            && matches!(self.llm_calls, CallCount::Fixed(_))
    }
}

/// A route of `deployment.routes`.
#[derive(Debug, Clone)]
pub struct RouteModel {
    /// The class it serves.
    pub class: String,
    /// Its own balancer, fresh, when it has one (else the deployment's).
    pub balancer: Option<LoadBalancer>,
    /// Its `loadBalancing` block, when it has one.
    pub load_balancing: Option<LoadBalancingConfig>,
}

/// One entry rate limit.
#[derive(Debug, Clone)]
pub struct NamedLimit {
    /// Its name in the results.
    pub name: String,
    /// The limit.
    pub config: RateLimitConfig,
    /// The class it counts (index into [`WorkloadSection::classes`]), or every
    /// class.
    pub class: Option<usize>,
}

/// One LLM model.
#[derive(Debug, Clone)]
pub struct LlmModelSpec {
    /// Its name in `llm.models`.
    pub name: String,
    /// Latency of one call, or its time to first token with `per_token`.
    pub latency: Sampler,
    /// Time per output token, when calls are timed by their tokens.
    pub per_token: Option<Sampler>,
    /// Time per input token (prefill), when calls are timed by them.
    pub per_input_token: Option<Sampler>,
    /// Probability that one call fails.
    pub error_rate: f64,
    /// The model a failed or rate-limited call goes to next.
    pub fallback: Option<usize>,
    /// The provider's quota.
    pub quota: Option<QuotaModel>,
    /// Calls served at full speed before latency grows.
    pub saturation: Option<u32>,
    /// The breaker each instance keeps on calls to it.
    pub breaker: Option<CircuitBreakerConfig>,
    /// Price per 1,000 input tokens.
    pub price_per_1k_input: f64,
    /// Price per 1,000 output tokens.
    pub price_per_1k_output: f64,
}

/// `llm.models.*.rateLimit`, compiled: token buckets in calls and tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaModel {
    /// Calls per second and the bucket's size in calls.
    pub calls: Option<(f64, f64)>,
    /// Tokens per second and the bucket's size in tokens.
    pub tokens: Option<(f64, f64)>,
    /// A bucket per instance (else one for the fleet).
    pub per_instance: bool,
}

/// `llm.rateLimitRetries`, compiled: the client policy that decides each
/// 429 (`strategies::llm_client`).
pub type RateLimitRetryModel = strategies::RateLimitRetryPolicy;

/// `llm.cache`, compiled.
#[derive(Debug, Clone)]
pub struct CacheModel {
    /// Share of calls answered from the cache.
    pub hit_ratio: f64,
    /// Time a hit takes.
    pub latency: Sampler,
}

/// How many LLM calls an attempt makes.
#[derive(Debug, Clone)]
pub enum CallCount {
    /// Always this many (no draw).
    Fixed(u32),
    /// Drawn per attempt from the request's stream, rounded.
    Drawn(Sampler),
}

impl CallCount {
    /// The calls of one attempt.
    #[inline]
    pub fn draw<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match self {
            CallCount::Fixed(n) => *n,
            CallCount::Drawn(s) => s.sample_value(rng).round().clamp(0.0, MAX_LLM_CALLS) as u32,
        }
    }

    /// The mean number of calls.
    pub fn mean(&self) -> f64 {
        match self {
            CallCount::Fixed(n) => f64::from(*n),
            CallCount::Drawn(s) => s.mean_secs().min(MAX_LLM_CALLS),
        }
    }
}

/// Mean input and output tokens per call, where known (else drawn).
pub type TokenMeans = (Option<f64>, Option<f64>);

/// No token means known: the shape's draws.
const NO_MEANS: TokenMeans = (None, None);

/// Most LLM calls one attempt makes (drawn counts are cut there).
pub(crate) const MAX_LLM_CALLS: f64 = 1_000.0;

/// One instance type, checked.
#[derive(Debug, Clone)]
pub struct InstanceTypeSpec {
    /// Its name in `instanceTypes`.
    pub name: String,
    /// Requests served at once.
    pub slots: u32,
    /// Cores, when CPU is modelled.
    pub cores: Option<f64>,
    /// Memory limit in bytes, when memory is modelled.
    pub memory: Option<f64>,
    /// Memory of an idle instance, bytes.
    pub idle_memory: f64,
    /// Memory per request held, bytes.
    pub memory_per_request: f64,
    /// Killed over its memory limit.
    pub oom_kill: bool,
    /// Start-up time.
    pub startup: Sampler,
    /// Drain time before a removed instance stops.
    pub drain_timeout: Nanos,
    /// Shortest billed period.
    pub minimum_billed: Nanos,
    /// Most outstanding LLM calls per instance.
    pub llm_concurrency: Option<u32>,
}

/// One region of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionSpec {
    /// Its name.
    pub name: String,
    /// Index of its first instance in [`FleetSection::instances`].
    pub first: u32,
    /// Instances it may run (its slots in [`FleetSection::instances`]).
    pub capacity: u32,
    /// Instances running at the start.
    pub initial: u32,
    /// The instance type.
    pub type_index: u32,
    /// Price per hour of one of its instances.
    pub price_per_hour: f64,
}

/// Autoscaling, checked.
#[derive(Debug, Clone)]
pub struct ScalingModel {
    /// The policy (one controller per region).
    pub config: ScalingConfig,
    /// Time between metric samples.
    pub collection_interval: Nanos,
    /// The span the autoscaler averages over.
    pub window: Nanos,
}

/// The user population requests are drawn from.
#[derive(Debug, Clone)]
pub struct UserModel {
    /// Distinct users.
    pub count: u32,
    /// Zipf over user ranks, or `None` for uniform.
    pub zipf: Option<rand_distr::Zipf<f64>>,
    /// Tenants (user `u` belongs to tenant `u % tenants`).
    pub tenants: u32,
    /// A noisy tenant and its multiplier.
    pub noisy: Option<(u32, f64)>,
}

impl UserModel {
    /// Users in tenant `k`.
    pub fn users_in(&self, k: u32) -> u32 {
        (self.count - k).div_ceil(self.tenants)
    }
}

/// `workload.sessions`, compiled: the closed loop of `users.count` users.
#[derive(Debug, Clone)]
pub struct SessionModel {
    /// Time from an answer to the next request.
    pub think: Sampler,
    /// Turns per session, when sessions end.
    pub turns: Option<Sampler>,
    /// Time between a session's last answer and the next session.
    pub between: Option<Sampler>,
    /// Failed turns after which a user abandons its session.
    pub abandon_after: Option<u32>,
}

/// Random failures of every instance.
#[derive(Debug, Clone)]
pub struct RandomFailureModel {
    /// Time from repair to failure.
    pub between: Sampler,
    /// Time to repair.
    pub repair: Sampler,
    /// How a failed instance behaves.
    pub mode: FailureMode,
}

/// A scheduled failure, resolved to instance or region indices.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFailure {
    /// What happens.
    pub kind: FailureKind,
    /// Start.
    pub at: Nanos,
    /// Length.
    pub duration: Nanos,
    /// Affected instances.
    pub instances: Vec<u32>,
    /// Affected region (`capacity-shortage`, `region-outage`).
    pub region: Option<u32>,
    /// Affected model (`provider-outage`, `provider-slowdown`).
    pub model: Option<u32>,
    /// Affected client region (`network-degradation`, with `region`).
    pub client: Option<u32>,
    /// Slowdown factor (`slow-instance`, `provider-slowdown`).
    pub factor: f64,
}

/// The arrival rate from `at` until the next step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRate {
    /// Start of the step.
    pub at: Nanos,
    /// Requests per second.
    pub rate_per_second: f64,
    /// Time to reach the rate linearly from the step before (zero: at
    /// once).
    pub ramp: Nanos,
}

/// One instance the fleet may run.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// Stable id, `region/index`.
    pub id: String,
    /// Region name.
    pub region: String,
    /// Region index into [`FleetSection::regions`].
    pub region_index: u32,
    /// Instance type name.
    pub instance_type: String,
    /// Instance type index into [`FleetSection::types`].
    pub type_index: u32,
    /// Concurrent requests served.
    pub slots: u32,
    /// Price per hour.
    pub price_per_hour: f64,
    /// Running from the start (else an autoscaler may start it).
    pub initially_present: bool,
}

/// A latency percentile, stored as thousandths (p99.9 = 999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percentile(pub u32);

impl Percentile {
    /// The quantile in [0, 1].
    pub fn quantile(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// Parses `p50`, `p99`, `p99.9`.
    pub fn parse(key: &str) -> Option<Percentile> {
        let v: f64 = key.strip_prefix('p')?.parse().ok()?;
        if !(v > 0.0 && v < 100.0) {
            return None;
        }
        let thousandths = (v * 10.0).round();
        ((thousandths / 10.0 - v).abs() < 1e-9).then_some(Percentile(thousandths as u32))
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "p{}", self.0 / 10)
        } else {
            write!(f, "p{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

/// One service-level objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Latency percentile at most `target`.
    Latency {
        /// Which percentile.
        percentile: Percentile,
        /// Highest acceptable value.
        target: Nanos,
    },
    /// Error share at most `max`.
    ErrorRate {
        /// Highest acceptable share, 0 to 1.
        max: f64,
    },
}

/// Collects problems while the sections compile.
pub(crate) struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub(crate) fn fail(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.problems.push(Problem::new(path, msg));
    }

    /// A distribution's sampler, or a problem at `path`.
    pub(crate) fn dist<P: crate::DistParam>(
        &mut self,
        path: &str,
        spec: &DistSpec<P>,
    ) -> Option<Sampler> {
        match spec.sampler() {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("{path}.{}", e.key), e.message);
                None
            }
        }
    }

    /// A duration's or distribution's sampler, or a problem at `path`.
    pub(crate) fn duration_or_dist(
        &mut self,
        path: &str,
        spec: &crate::dist::DurationOrDist,
    ) -> Option<Sampler> {
        match spec.sampler() {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("{path}.{}", e.key), e.message);
                None
            }
        }
    }

    pub(crate) fn share(&mut self, path: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.fail(path, format!("must be a share between 0 and 1, found {v}"));
        }
    }

    pub(crate) fn rate(&mut self, path: &str, v: f64) {
        if !v.is_finite() || v < 0.0 {
            self.fail(
                path,
                format!("must be a rate of 0 or more requests per second, found {v}"),
            );
        }
    }

    /// A policy's own validation, its key prefixed with `path`.
    pub(crate) fn policy(&mut self, path: &str, r: Result<(), strategies::ConfigError>) {
        if let Err(e) = r {
            self.fail(format!("{path}.{}", e.key), e.message);
        }
    }

    /// `unknown {what} `{name}`; did you mean ...; defined in {where}: ...`.
    pub(crate) fn unknown<'a>(
        &mut self,
        path: impl Into<String>,
        what: &str,
        name: &str,
        defined: impl Iterator<Item = &'a String> + Clone,
        where_: &str,
    ) {
        let mut msg = format!("unknown {what} `{name}`");
        if let Some(n) = super::nearest(name, defined.clone().map(String::as_str)) {
            msg.push_str(&format!("; did you mean `{n}`?"));
        }
        msg.push_str(&format!("; defined in {where_}: {}", join_keys(defined)));
        self.fail(path, msg);
    }
}

pub(crate) fn join_keys<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    keys.map(String::as_str).collect::<Vec<_>>().join(", ")
}

impl Scenario {
    /// Checks every rule across fields and builds the runnable model. `file`
    /// only names the source in errors.
    pub fn compile(&self, file: &Path) -> Result<Model, ScenarioError> {
        let mut c = Checker {
            problems: Vec::new(),
        };
        let run = self.compile_run(&mut c);
        let workload = self.compile_workload(&mut c, run.duration);
        let trace = self.compile_trace(&mut c, file, workload.users.as_ref(), run.duration);
        let llm = self.compile_llm(&mut c);
        let mut classes = self.compile_classes(&mut c, workload.sessions.as_ref(), trace.as_ref());
        let fleet = self.compile_fleet(&mut c);
        let network = self.compile_network(&mut c, &fleet);
        let has_users = workload.users.is_some();
        let balancing = self.compile_balancing(&mut c, &fleet, &network, has_users);
        let routes = match &mut classes {
            Some(k) => self.compile_routes(&mut c, k, &network, has_users),
            None => Vec::new(),
        };
        let rate_limits = self.compile_rate_limits(&mut c, has_users);
        let resilience = self.compile_resilience(&mut c);
        let budget = self.compile_budget(&mut c, &fleet, &llm);
        let failures = self.compile_failures(&mut c, &fleet, run.duration);
        let objectives = self.compile_slo(&mut c);
        // (A trace that could not be read has said so already: its token
        // columns are unknown, not missing.)
        let trace_unread = self.workload.trace.is_some() && trace.is_none();
        if let (Some(k), true, false) = (&classes, llm.complete, trace_unread) {
            self.check_tokens(&mut c, &llm, k, trace.as_ref(), budget.fallback_model);
        }
        self.check_scaling_metrics(&mut c, &fleet);

        if !c.problems.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: c.problems,
            });
        }
        let (Some(classes), Some(balancer), true) = (classes, balancing.balancer, llm.complete)
        else {
            // Unreachable: a missing model or balancer recorded a problem.
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: vec![Problem::new("llm.models", "no usable model")],
            });
        };
        let built = Model {
            scenario: self.clone(),
            run: RunSection {
                currency: run.currency,
                seed: self.run.seed,
                duration: run.duration,
                warmup: run.warmup,
                replications: self.run.replications,
                series_interval: run.series_interval,
            },
            workload: WorkloadSection {
                rate_profile: workload.rate_profile,
                diurnal: workload.diurnal,
                bursts: workload.bursts,
                classes,
                users: workload.users,
                sessions: workload.sessions,
                trace,
            },
            llm: LlmSection {
                cache: llm.cache,
                tokens_timed: llm.models.iter().any(|m| {
                    m.per_token.is_some()
                        || m.per_input_token.is_some()
                        || m.quota.is_some_and(|q| q.tokens.is_some())
                }),
                rate_limit_retries: llm.rate_limit_retries,
                providers_dynamic: llm
                    .models
                    .iter()
                    .any(|m| m.quota.is_some() || m.saturation.is_some() || m.breaker.is_some())
                    || fleet.types.iter().any(|t| t.llm_concurrency.is_some())
                    || failures.events.iter().any(|f| f.model.is_some()),
                models: llm.models,
            },
            fleet: FleetSection {
                types: fleet.types,
                regions: fleet.regions,
                instances: fleet.instances,
                scaling: fleet.scaling,
            },
            network: NetworkSection {
                client_regions: network.client_regions,
                topology: network.topology,
                jitter: network.jitter,
                proxy_latency: network.proxy_latency,
            },
            balancing: BalancingSection {
                config: self.deployment.load_balancing.clone(),
                balancer,
                refresh: balancing.refresh,
                weights: balancing.weights,
            },
            resilience: ResilienceSection {
                max_connections_per_instance: resilience.max_connections_per_instance,
                request_timeout: resilience.request_timeout,
                max_connections: resilience.max_connections,
                connection_timeout: resilience.connection_timeout,
                health_check: resilience.health_check,
                outlier_detection: resilience.outlier_detection,
                passive_health: resilience.passive_health,
                circuit_breaker: resilience.circuit_breaker,
                retries: resilience.retries,
            },
            routes: RoutesSection {
                routes,
                rate_limits,
            },
            budget: BudgetSection {
                config: budget.config,
                fallback_model: budget.fallback_model,
            },
            failures: FailuresSection {
                random: failures.random,
                events: failures.events,
            },
            objectives,
            findings: Vec::new(),
        };
        let infeasible = built.infeasible();
        if !infeasible.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: infeasible,
            });
        }
        Ok(built)
    }
}

impl Model {
    /// Loads, parses and checks a scenario file.
    /// A file that `extends` another is read merged onto it, and an error
    /// in a value a base file set names that file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Model, ScenarioError> {
        let path = path.as_ref();
        let (value, provenance) = super::extends::resolve(path)?;
        Scenario::from_value(&value, path.to_path_buf())
            .and_then(|s| s.compile(path))
            .map(|m| m.linted(&value))
            .map_err(|e| provenance.annotate(e))
    }

    /// Parses and checks scenario JSON; `file` names the source in errors.
    pub fn from_json(text: &str, file: impl AsRef<Path>) -> Result<Model, ScenarioError> {
        let file = file.as_ref();
        let value = super::load::parse_value(text, file)?;
        Model::from_value(&value, file)
    }

    /// Checks a scenario given as parsed JSON (see
    /// [`scenario_json`](crate::scenario_json)); `file` names the source
    /// in errors.
    pub fn from_value(
        value: &serde_json::Value,
        file: impl AsRef<Path>,
    ) -> Result<Model, ScenarioError> {
        let file = file.as_ref();
        Ok(Scenario::from_value(value, file.to_path_buf())?
            .compile(file)?
            .linted(value))
    }

    /// The model with its static findings (`value`: the scenario as
    /// written, which tells written keys from defaults).
    fn linted(mut self, value: &serde_json::Value) -> Model {
        self.findings = crate::lint::check(&self, value);
        self
    }

    /// The model requests call: the first class's.
    pub fn llm(&self) -> &LlmModelSpec {
        &self.llm.models[self.workload.classes[0].shape.model_index]
    }

    /// Slots of the instances running at the start.
    pub fn total_slots(&self) -> u64 {
        self.fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .map(|i| u64::from(i.slots))
            .sum()
    }

    /// Instances running at the start.
    pub fn initial_instances(&self) -> usize {
        self.fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .count()
    }

    /// Mean service time of one request in seconds, over the classes by
    /// share: CPU time, its LLM calls (cache hits, fallbacks) and the tool
    /// waits between them.
    pub fn mean_service_secs(&self) -> f64 {
        self.workload
            .classes
            .iter()
            .map(|k| k.share * self.mean_shape_secs(&k.shape))
            .sum()
    }

    /// Mean service time of one request of `shape`, in seconds.
    pub fn mean_shape_secs(&self, shape: &Shape) -> f64 {
        self.mean_shape_secs_given(shape, NO_MEANS)
    }

    /// Mean service time of one request of `shape` whose calls have
    /// `tokens` (mean input and output tokens per call, where given; else
    /// the shape's), in seconds.
    pub fn mean_shape_secs_given(&self, shape: &Shape, tokens: TokenMeans) -> f64 {
        let calls = shape.llm_calls.mean();
        let call = match shape.model_per_call.as_slice() {
            [] => self.mean_call_secs_given(shape, shape.model_index, tokens),
            per => {
                // Calls past the list use its last model.
                let n = calls.round().max(1.0) as usize;
                (0..n)
                    .map(|i| self.mean_call_secs_given(shape, per[i.min(per.len() - 1)], tokens))
                    .sum::<f64>()
                    / n as f64
            }
        };
        let call = match &self.llm.cache {
            Some(k) => k.hit_ratio * k.latency.mean_secs() + (1.0 - k.hit_ratio) * call,
            None => call,
        };
        let tools = shape
            .tool_time
            .as_ref()
            .map_or(0.0, |t| (calls - 1.0).max(0.0) * t.mean_secs());
        shape.cpu_time.as_ref().map_or(0.0, Sampler::mean_secs) + calls * call + tools
    }

    /// Mean time of one call of a `shape` request to model `i`, following
    /// its fallbacks.
    pub fn mean_call_secs(&self, shape: &Shape, i: usize) -> f64 {
        self.mean_call_secs_given(shape, i, NO_MEANS)
    }

    /// Mean time of one call of a `shape` request to model `i` with
    /// `tokens` (where given; else the shape's), following its fallbacks.
    pub fn mean_call_secs_given(&self, shape: &Shape, i: usize, tokens: TokenMeans) -> f64 {
        let Some(m) = self.llm.models.get(i) else {
            // No model: the request makes no call.
            return 0.0;
        };
        let mean = |given: Option<f64>, d: &Option<Sampler>| {
            given.unwrap_or_else(|| d.as_ref().map_or(0.0, Sampler::mean_secs))
        };
        let own = m.latency.mean_secs()
            + m.per_token.as_ref().map_or(0.0, |p| {
                p.mean_secs() * mean(tokens.1, &shape.output_tokens)
            })
            + m.per_input_token
                .as_ref()
                .map_or(0.0, |p| p.mean_secs() * mean(tokens.0, &shape.input_tokens));
        own + m.fallback.map_or(0.0, |f| {
            m.error_rate * self.mean_call_secs_given(shape, f, tokens)
        })
    }

    /// Mean service time of one of the trace's requests, in seconds: by the
    /// classes its rows name (rows without one by share), each with the
    /// mean tokens of its rows where the trace gives tokens.
    pub fn trace_service_secs(&self, t: &TraceModel) -> f64 {
        let classless = t.classless();
        if !t.input_tokens && !t.output_tokens && classless.rows == t.rows {
            // The classes' own draws, by share, as for open arrivals.
            return self.mean_service_secs();
        }
        // Each class's share of the rows, in its own mean time.
        (self.trace_mix(t).into_iter()).fold(0.0, |total, (k, share, tokens)| {
            let shape = &self.workload.classes[k].shape;
            total + share * self.mean_shape_secs_given(shape, tokens)
        })
    }

    /// Offered load per slot (rho) at the base arrival rate, on the
    /// instances running at the start. Closed-loop sessions add their
    /// users' rate when every answer comes back at once (an upper bound:
    /// `users / (think + service)`).
    pub fn offered_utilization(&self) -> f64 {
        let slots = self.total_slots() as f64;
        let service = self.mean_service_secs();
        let closed = self.closed_loop_rate(false);
        let open = self.workload.rate_profile[0].rate_per_second + closed;
        let Some(t) = &self.workload.trace else {
            return open * service / slots;
        };
        // The trace's rows within the run (at its speed), each served in
        // the mean time of its own class and tokens.
        let traced = t.rows as f64 / self.run.duration.as_secs_f64().max(1e-9);
        let own = self.trace_service_secs(t);
        if own == service {
            (open + traced) * service / slots
        } else {
            (open * service + traced * own) / slots
        }
    }

    /// Requests per second the closed loop of sessions sends when the
    /// fleet answers in its mean service time: each user sends one per
    /// pause (think time, and one pause between sessions per session)
    /// plus service. With `noisy`, the noisy tenant's users pause
    /// `multiplier` times less. 0 without sessions.
    pub(crate) fn closed_loop_rate(&self, noisy: bool) -> f64 {
        let (Some(s), Some(u)) = (&self.workload.sessions, &self.workload.users) else {
            return 0.0;
        };
        let service = self.mean_service_secs();
        let pause = match (&s.turns, &s.between) {
            (Some(t), b) => {
                let turns = t.mean_secs().round().max(1.0);
                let between = b.as_ref().unwrap_or(&s.think).mean_secs();
                ((turns - 1.0) * s.think.mean_secs() + between) / turns
            }
            (None, _) => s.think.mean_secs(),
        };
        let rate = |users: f64, pause: f64| users / (pause + service).max(1e-9);
        match u.noisy.filter(|_| noisy) {
            Some((_, mult)) => {
                let theirs = f64::from(u.count) / f64::from(u.tenants);
                rate(f64::from(u.count) - theirs, pause) + rate(theirs, pause / mult)
            }
            None => rate(f64::from(u.count), pause),
        }
    }

    /// Fleet cost per hour at the start.
    pub fn cost_per_hour(&self) -> f64 {
        self.fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .map(|i| i.price_per_hour)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentile_keys() {
        assert_eq!(Percentile::parse("p99"), Some(Percentile(990)));
        assert_eq!(Percentile::parse("p99.9"), Some(Percentile(999)));
        assert_eq!(Percentile::parse("p50"), Some(Percentile(500)));
        assert_eq!(Percentile::parse("p100"), None);
        assert_eq!(Percentile::parse("p99.99"), None);
        assert_eq!(Percentile::parse("99"), None);
        assert_eq!(Percentile(999).to_string(), "p99.9");
        assert_eq!(Percentile(990).to_string(), "p99");
    }
}

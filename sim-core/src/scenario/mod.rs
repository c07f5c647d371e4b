//! Scenario files: what users write, review and diff.
//!
//! [`Scenario`] mirrors the JSON one to one (camelCase keys, durations as
//! strings with units, unknown keys rejected). [`Scenario::from_file`] and
//! [`Scenario::from_json`] read and check a file; [`Scenario::compile`]
//! turns it into a [`Model`] the engine runs, checking every cross-field
//! rule on the way, so a model that exists cannot fail at run time.

mod compile;
mod extends;
mod json;
mod load;
#[cfg(feature = "schema")]
mod schema;
mod size;
mod words;
mod work;
pub(crate) mod yaml;

pub(crate) use compile::default_series_interval;
pub use compile::{
    BalancingSection, BudgetSection, CacheModel, CallCount, ClassModel, CompiledFailure,
    FailuresSection, FleetSection, InstanceSpec, InstanceTypeSpec, LlmModelSpec, LlmSection, Model,
    NamedLimit, NetworkSection, Objective, OfferedLoad, Percentile, QuotaModel, RandomFailureModel,
    RateLimitRetryModel, RegionSpec, ResilienceSection, ResourceLoad, RouteModel, RoutesSection,
    RunSection, ScalingModel, SessionModel, Shape, StepRate, TokenMeans, TraceModel, TraceTally,
    UserModel, WorkloadSection, MAX_SERIES_ROWS_TOTAL,
};
pub use extends::{Provenance, MAX_EXTENDS_DEPTH};
pub use load::{
    is_stdin, json_file, nearest, scenario_json, scenario_json_from_str, shown_path, STDIN,
};
#[cfg(feature = "schema")]
pub use schema::{json_schema, SCHEMA_FILE};
pub use size::{SizeStr, SIZE_UNITS};
pub use work::{WorkEstimate, MAX_ATTEMPTS, MAX_DURATION, MAX_RATE_PER_SECOND, MIN_INTERVAL};
pub use yaml::to_yaml;

use crate::dist::{AmountDist, CountOrDist, DistSpec, DurationOrDist};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use strategies::scale::{BudgetConfig, ScalingConfig};
use strategies::DurationStr;
use strategies::{
    CircuitBreakerConfig, HealthCheckConfig, LoadBalancingConfig, OutlierDetectionConfig,
    PassiveHealthConfig, RateLimitConfig, RetryConfig,
};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// JSON Schema reference for editors; ignored by fleetsim.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Short name, shown in every output.
    pub name: String,
    /// What the scenario models and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The currency of every price in the file (default `USD`); names the
    /// money in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// How to run it.
    pub run: RunSpec,
    /// What arrives.
    pub workload: Workload,
    /// The LLM models requests call; may be left out when no request
    /// calls one (every request's `llmCalls` is 0, its service given as
    /// `cpuTime`).
    #[serde(default, skip_serializing_if = "LlmSpec::is_empty")]
    pub llm: LlmSpec,
    /// Instance types by name.
    pub instance_types: IndexMap<String, InstanceType>,
    /// The deployment under test.
    pub deployment: Deployment,
    /// Round-trip times between client regions and fleet regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Instance failures: random crashes and scheduled events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Failures>,
    /// Service-level objectives to judge the run against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
}

/// `run`: seed, horizon and replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunSpec {
    /// Master seed; every random stream derives from it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run.
    pub duration: DurationStr,
    /// Initial simulated time excluded from metrics.
    #[serde(default)]
    pub warmup: DurationStr,
    /// Independent replications (distinct random streams), at least 1.
    #[serde(default = "default_replications")]
    pub replications: u32,
    /// Time between rows of the time series (default 10s, longer for runs
    /// of more than 20,000 such intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_interval: Option<DurationStr>,
}

fn default_seed() -> u64 {
    1
}

fn default_replications() -> u32 {
    1
}

/// `workload`: arrivals and the shape of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    /// The open arrival process: requests arrive whatever the fleet does.
    /// May be left out when `sessions` drives the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<Arrivals>,
    /// A CSV trace of arrival times replayed as the workload (with or
    /// without open arrivals beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
    /// Closed-loop sessions: each of `users.count` users sends a request,
    /// waits for its answer, thinks, and sends the next, so a slow fleet
    /// slows its own arrivals (chat traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Sessions>,
    /// What one agent request does.
    #[serde(default)]
    pub request: RequestShape,
    /// Where clients are: share of requests per client region (summing to
    /// 1). Without it clients have no location.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub clients: IndexMap<String, f64>,
    /// Who sends requests: needed for per-user, per-tenant or per-IP rate
    /// limits; without it every request is anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Users>,
    /// Kinds of request, by name: each a share of the traffic with its
    /// own request shape and session behaviour. `deployment.routes` may
    /// give a class its own balancer and rate limits.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub classes: IndexMap<String, RequestClass>,
}

/// `workload.classes.<name>`: one kind of request (chat turns, API calls,
/// static files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestClass {
    /// The class's share of requests, relative to the other classes'
    /// (3 and 1 mean 75% and 25%). Open arrivals, trace rows without a
    /// `class` and each new session draw a class by share; it may be left
    /// out when a trace names every request's class and nothing else
    /// sends requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// What one request of the class does; `workload.request` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestShape>,
    /// The class's session behaviour, replacing `workload.sessions`'s
    /// fields it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<ClassSessions>,
}

/// `workload.classes.<name>.sessions`: what a class's sessions do
/// differently from `workload.sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassSessions {
    /// Time from an answer to the user's next request in a session of
    /// this class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<DurationOrDist>,
    /// Requests per session of this class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<CountOrDist>,
    /// Time from the last answer of a session of this class to the user's
    /// next session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_sessions: Option<DurationOrDist>,
}

/// `network`: how far clients are from the fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    /// `rtt[clientRegion][fleetRegion]`: one round trip, added to the
    /// latency of every request a client in that region sends there (and
    /// counted against `requestTimeout`).
    pub rtt: IndexMap<String, IndexMap<String, DurationStr>>,
    /// Extra time added to each round trip, drawn per request: a duration
    /// or a distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<DurationOrDist>,
}

/// `workload.trace`: a recorded arrival process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Trace {
    /// The file, relative to the scenario file: CSV (a header row, then a
    /// row per request with `time`, seconds from the start of the run, in
    /// order, and optionally `user`, `tenant`, `class` and tokens) or JSON
    /// lines; gzipped or not.
    pub file: String,
    /// A public trace's layout: `azure-llm` (Azure LLM inference 2023),
    /// `burstgpt` or `mooncake`; sets `columns`, `timeUnit` and `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TraceFormat>,
    /// Which of the file's columns is which (fleetsim's name → the
    /// file's); the file's other columns are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<crate::trace::ColumnNames>,
    /// The unit of a numeric time column (default `s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<crate::trace::TimeUnit>,
    /// Where the run starts in the trace: `first-row`, or a duration into
    /// it (default: time 0; `first-row` for datetimes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// How much faster than recorded the trace replays (default 1): 2
    /// halves every time from the start (twice the rate), 0.5 doubles it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

/// A public trace's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// Azure LLM inference trace 2023: `TIMESTAMP` (a datetime),
    /// `ContextTokens`, `GeneratedTokens`.
    AzureLlm,
    /// BurstGPT: `Timestamp` (seconds), `Request tokens`, `Response
    /// tokens`.
    Burstgpt,
    /// Mooncake (FAST'25): JSON lines of `timestamp` (milliseconds from the
    /// first request), `input_length`, `output_length` (`hash_ids` and
    /// other keys are ignored).
    Mooncake,
}

/// `workload.users`: the population requests come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Users {
    /// Distinct users.
    pub count: u32,
    /// Zipf exponent of how requests spread over users: 0 is uniform, 1
    /// is the classic heavy head (default 0).
    #[serde(default)]
    pub skew: f64,
    /// Tenants the users belong to, evenly (default 1): user `u` is in
    /// tenant `u % tenants`.
    #[serde(default = "one")]
    pub tenants: u32,
    /// One tenant sending a multiple of what each other tenant sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noisy_tenant: Option<NoisyTenant>,
}

/// `workload.users.noisyTenant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoisyTenant {
    /// Which tenant (0 to `tenants - 1`; default 0).
    #[serde(default)]
    pub tenant: u32,
    /// How many times each other tenant's traffic it sends: each of its
    /// users is picked that many times as often (open arrivals) or thinks
    /// that many times faster (sessions).
    pub multiplier: f64,
}

/// `workload.sessions`: a closed loop of `workload.users.count` users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sessions {
    /// Time from an answer (or an error) to the user's next request.
    pub think_time: DurationOrDist,
    /// Requests (turns) per session; without it a user's session never
    /// ends. After the last turn the user waits `betweenSessions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<CountOrDist>,
    /// Time from a session's last answer to the user's next session
    /// (needs `turns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_sessions: Option<DurationOrDist>,
    /// Failed turns (errors, timeouts, refusals) after which a user gives
    /// up on its session: it sends none of the session's remaining turns
    /// and waits `betweenSessions` before the next session (needs
    /// `turns`). Without it users never give up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_after_errors: Option<u32>,
}

fn one() -> u32 {
    1
}

/// `failures`: what goes wrong with instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failures {
    /// Random failures of every instance, independently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomFailures>,
    /// Scheduled events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<FailureEvent>,
}

/// Random instance failures: exponential time between failures and time
/// to repair, per instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RandomFailures {
    /// Mean time from repair to the next failure.
    pub mean_time_between_failures: DurationStr,
    /// Mean time a failure lasts.
    pub mean_time_to_repair: DurationStr,
    /// `crash` (refuses connections; requests on it fail at once) or
    /// `hang` (accepts requests and never answers). Default `crash`.
    #[serde(default)]
    pub mode: FailureMode,
}

/// How a failed instance behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FailureMode {
    /// Refuses connections: requests on it fail at once, health checks
    /// fail at once.
    #[default]
    Crash,
    /// Accepts and never answers: requests wait for their timeout, health
    /// checks time out. Requests caught in it fail when it restarts.
    Hang,
}

/// One scheduled failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailureEvent {
    /// What happens.
    #[serde(rename = "type")]
    pub kind: FailureKind,
    /// Instance id (`region/index`), for instance events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Region, for `region-outage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Client region, for `network-degradation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Model of `llm.models`, for `provider-outage` and
    /// `provider-slowdown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// When it starts.
    pub at: DurationStr,
    /// How long it lasts.
    pub duration: DurationStr,
    /// `slow-instance`, `provider-slowdown` and `network-degradation`:
    /// latency multiplier (1 or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
}

/// Scheduled failure types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// One instance crashes (refuses connections).
    InstanceCrash,
    /// One instance hangs (accepts, never answers).
    InstanceHang,
    /// One instance serves `factor` times slower.
    SlowInstance,
    /// Every instance of a region crashes.
    RegionOutage,
    /// A region cannot start instances (a cloud capacity shortage): its
    /// scale-ups are refused.
    CapacityShortage,
    /// An LLM model's provider is down: its calls fail at once (and go to
    /// its fallback, if any).
    ProviderOutage,
    /// An LLM model's provider answers `factor` times slower.
    ProviderSlowdown,
    /// Round trips between a client region (`from`) and a fleet region
    /// (`region`) take `factor` times longer.
    NetworkDegradation,
}

impl FailureKind {
    /// A provider event: it names a `model`, not an instance or region.
    pub fn hits_provider(self) -> bool {
        matches!(
            self,
            FailureKind::ProviderOutage | FailureKind::ProviderSlowdown
        )
    }
}

/// `workload.arrivals`: a Poisson process whose rate may step over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arrivals {
    /// The process; only `poisson` so far.
    #[serde(default)]
    pub process: ArrivalProcess,
    /// Rate from time zero, requests per second.
    pub rate_per_second: f64,
    /// Rate changes: from `at` on, the rate is `ratePerSecond` (at once,
    /// or reached linearly over `ramp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<RateStep>,
    /// A daily (or any period's) swing multiplying the rate: `1 +
    /// amplitude * cos(2 pi (t - peakAt) / period)`, so the rate above is
    /// the mean over a whole period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<Diurnal>,
    /// Bursts multiplying the rate for a while, once or repeating.
    /// Overlapping bursts multiply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bursts: Vec<Burst>,
}

/// `workload.arrivals.diurnal`: a sinusoidal swing of the rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Diurnal {
    /// Length of one cycle (default 24h).
    #[serde(default = "one_day")]
    pub period: DurationStr,
    /// Simulated time of a peak (`"14h"`: two in the afternoon when the
    /// run starts at midnight); peaks repeat every period.
    pub peak_at: DurationStr,
    /// Swing around the mean, from 0 (flat) to 1 (the trough is zero):
    /// the peak is `1 + amplitude` times the mean.
    pub amplitude: f64,
}

fn one_day() -> DurationStr {
    DurationStr(strategies::Nanos::from_secs(86_400))
}

/// One entry of `workload.arrivals.bursts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Burst {
    /// When the (first) burst starts.
    pub at: DurationStr,
    /// How long each burst lasts.
    pub duration: DurationStr,
    /// Rate multiplier during the burst (above 1 for a burst, below for a
    /// dip).
    pub multiplier: f64,
    /// Repeat every this long from `at` (longer than `duration`); once when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<DurationStr>,
}

/// Arrival process names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArrivalProcess {
    /// Exponential inter-arrival times at the current rate.
    #[default]
    Poisson,
}

/// One step of a rate profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateStep {
    /// When the step starts.
    pub at: DurationStr,
    /// Rate from then on, requests per second (0 pauses arrivals).
    pub rate_per_second: f64,
    /// Reach `ratePerSecond` linearly from the rate before, over this long
    /// from `at` (a ramp); at once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<DurationStr>,
}

/// `workload.request`: one agent request's work, a small workflow: CPU
/// time, then LLM calls one after another with tool-call waits between
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestShape {
    /// CPU time on the instance before its LLM calls; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<DistSpec>,
    /// LLM calls made one after another: a number, or a distribution drawn
    /// per attempt and rounded; 1 when absent.
    #[serde(default = "default_llm_calls")]
    pub llm_calls: CountOrDist,
    /// Which model of `llm.models` the calls go to; required when there is
    /// more than one (or use `modelPerCall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model of each call in order (a cheap router first, then the
    /// large model); calls past the end use the last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_per_call: Vec<String>,
    /// A tool-call wait after each LLM call but the last: it holds the
    /// slot and no CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_time: Option<DurationOrDist>,
    /// Input tokens of one LLM call (a distribution of plain numbers),
    /// priced by the model's `pricePer1kInputTokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<AmountDist>,
    /// Output tokens of one LLM call, priced by `pricePer1kOutputTokens`
    /// and timed by `timePerOutputToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<AmountDist>,
}

fn default_llm_calls() -> CountOrDist {
    CountOrDist::Fixed(1)
}

impl Default for RequestShape {
    /// One LLM call, no CPU time, the only model.
    fn default() -> Self {
        RequestShape {
            cpu_time: None,
            llm_calls: default_llm_calls(),
            model: None,
            model_per_call: Vec::new(),
            tool_time: None,
            input_tokens: None,
            output_tokens: None,
        }
    }
}

/// `llm`: the models requests call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LlmSpec {
    /// Models by name.
    pub models: IndexMap<String, LlmModel>,
    /// A response cache shared by the fleet (the AgenticGoKit and Azcore
    /// docs' shared cache): a hit answers without calling a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<LlmCache>,
    /// What an instance does when a provider answers 429 and the model has
    /// no fallback: wait `retry-after` (plus jitter) and call again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_retries: Option<RateLimitRetries>,
}

impl LlmSpec {
    /// Nothing given: no model, no cache, no 429 retries.
    pub fn is_empty(&self) -> bool {
        *self == LlmSpec::default()
    }
}

/// `llm.rateLimitRetries`: the client's handling of a 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitRetries {
    /// Calls again at most this many times (default 2, the OpenAI SDK's);
    /// then the call fails.
    #[serde(default = "two")]
    pub max_retries: u32,
    /// Waits a further uniform draw between 0 and this after `retry-after`
    /// (default 0s: every instance told the same `retry-after` calls again
    /// at the same instant).
    #[serde(default)]
    pub jitter: DurationStr,
}

fn two() -> u32 {
    2
}

/// `llm.models.*.rateLimit`: a provider's quota, a token bucket refilled
/// continuously (as OpenAI's and Anthropic's limits behave).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderRateLimit {
    /// Calls per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<f64>,
    /// Input plus output tokens per minute (needs token counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<f64>,
    /// Seconds of quota the bucket holds when idle (default 1s: calls
    /// spread evenly get through, a burst above the rate does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<DurationStr>,
    /// `fleet` (one API key for the whole fleet, default) or `instance`
    /// (a key per instance).
    #[serde(default)]
    pub per: QuotaScope,
}

/// Who shares a provider quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum QuotaScope {
    /// One key for the fleet.
    #[default]
    Fleet,
    /// A key per instance.
    Instance,
}

/// `llm.models.*.saturation`: a shared endpoint that slows down under
/// load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Saturation {
    /// Calls the endpoint serves at full speed; with more outstanding
    /// (from the whole fleet) a call starting takes `outstanding /
    /// concurrency` times its latency.
    pub concurrency: u32,
}

/// `llm.cache`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LlmCache {
    /// Share of calls answered from the cache (0 to 1).
    pub hit_ratio: f64,
    /// Time a hit takes (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DurationOrDist>,
}

/// One LLM model or provider endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LlmModel {
    /// Latency of one call, as a distribution; or give
    /// `timeToFirstToken` and `timePerOutputToken` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DistSpec>,
    /// Time to the first token of a streamed answer; a call takes this
    /// plus `timePerOutputToken` for each output token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_token: Option<DurationOrDist>,
    /// Time per output token after the first (needs
    /// `workload.request.outputTokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_per_output_token: Option<DurationOrDist>,
    /// Time per input token (prefill), added to the call's time before
    /// its first output token; with `latency` or with `timeToFirstToken`
    /// (needs `workload.request.inputTokens` or a trace's input tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_per_input_token: Option<DurationOrDist>,
    /// Share of calls that fail (0 to 1); a failed call fails its request
    /// unless a `fallback` answers it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_rate: f64,
    /// The model a failed or rate-limited call goes to next (the General
    /// Bots doc's `fallback-llm-*`), with its own latency, errors and
    /// prices; chains may be as long as the models, without cycles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// The provider's quota: over it, calls are answered 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<ProviderRateLimit>,
    /// Latency that grows with the endpoint's concurrent calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation: Option<Saturation>,
    /// A circuit breaker on calls to this model in each instance's LLM
    /// client (the same block as `deployment.circuitBreaker`): while it is
    /// open, calls go straight to the `fallback`, or fail at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<strategies::CircuitBreakerConfig>,
    /// Price per 1,000 input tokens.
    #[serde(
        default,
        rename = "pricePer1kInputTokens",
        skip_serializing_if = "is_zero"
    )]
    pub price_per_1k_input_tokens: f64,
    /// Price per 1,000 output tokens.
    #[serde(
        default,
        rename = "pricePer1kOutputTokens",
        skip_serializing_if = "is_zero"
    )]
    pub price_per_1k_output_tokens: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// One instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceType {
    /// Requests served at once; more wait in the instance's FIFO queue (the
    /// Azcore doc's `workers`).
    pub slots: u32,
    /// Price per instance-hour, in the scenario's currency.
    #[serde(default)]
    pub price_per_hour: f64,
    /// Price per instance-hour in particular regions, overriding
    /// `pricePerHour`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub price_per_hour_by_region: IndexMap<String, f64>,
    /// Cores (the Azcore doc's `cpu_limit`, Kubernetes' CPU limit). With
    /// them, requests in their CPU phase share the cores; without, CPU work
    /// is a plain delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory limit (the Azcore doc's `memory_limit`): `"4Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<SizeStr>,
    /// Memory an idle instance uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_memory: Option<SizeStr>,
    /// Memory a request holds while it runs in a slot (queued requests
    /// wait in the accept queue and hold next to none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_per_request: Option<SizeStr>,
    /// An instance over its memory limit is killed (its requests fail) and
    /// restarts, taking `startupTime` (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub oom_kill: bool,
    /// Time from being started to taking traffic: a duration or a
    /// distribution (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_time: Option<DurationOrDist>,
    /// How long a removed instance may finish its requests before it stops
    /// (default 30s, Kubernetes' `terminationGracePeriodSeconds` and the
    /// General Bots drain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_timeout: Option<DurationStr>,
    /// Most LLM calls one instance has outstanding at once (the Azcore
    /// doc's `llm_concurrent_requests`); more wait for one to end. Unlimited
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_concurrency: Option<u32>,
    /// Shortest time billed for an instance that runs at all (per-second
    /// billing with a minimum, as AWS's 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_billed_period: Option<DurationStr>,
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// `deployment.import`: a native config file, relative to the scenario
/// file: its name, or the name and what to read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum NativeImport {
    /// The file's name.
    File(String),
    /// The file and what to read from it.
    With {
        /// The file, relative to the scenario file.
        file: String,
        /// Its format (`nginx`), when its name and content do not tell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// The upstream to read (nginx), when the file has several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upstream: Option<String>,
    },
}

/// `deployment`: the production config under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    /// A native config (an `nginx.conf`) whose deployment keys this one
    /// starts from: read, and merged under the keys given here, when the
    /// scenario file is loaded ([`crate::native`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<NativeImport>,
    /// Regions by name, in the seed docs' shape (required, unless an
    /// `import` gives them).
    #[serde(default)]
    pub regions: IndexMap<String, Region>,
    /// The balancer.
    #[serde(default)]
    pub load_balancing: LoadBalancingConfig,
    /// The proxy's own time on an attempt's path, there and back (the
    /// hops client to proxy to instance and back, beyond the instance's
    /// service): a duration or a distribution drawn once per completed
    /// attempt. It holds no slot and counts in the latency (the
    /// breakdown's network part); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_latency: Option<DurationOrDist>,
    /// Connection and time limits.
    #[serde(default)]
    pub limits: Limits,
    /// The SwiftClaw `timeouts` block, another way to write the limits'
    /// timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// Active health checks of every instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
    /// Passive outlier ejection (Envoy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetectionConfig>,
    /// Passive health as nginx (`max_fails`/`fail_timeout`) or Caddy
    /// (`fail_duration`) do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_health: Option<PassiveHealthConfig>,
    /// A circuit breaker in front of each instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    /// Rate limit at the entry, before balancing (counted in the results
    /// as `rateLimit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// More rate limits at the entry, by name, all applied to every
    /// request (a global limit and a per-user one at once). A request
    /// must pass every limit that applies to it; one refused is not
    /// counted by the others (nginx's `limit_req` zones).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rate_limits: IndexMap<String, RateLimitConfig>,
    /// A balancer and rate limits of its own for a request class of
    /// `workload.classes`, by class name (Caddy's `handle` blocks).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub routes: IndexMap<String, Route>,
    /// Retries of failed attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryConfig>,
    /// An autoscaler for each region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingConfig>,
    /// The metrics pipeline the autoscaler reads (metrics-server,
    /// CloudWatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsPipeline>,
    /// Spend caps enforced during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetConfig>,
}

/// `deployment.routes.<class>`: how one request class is served.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// The class's own balancer over the same instances (which see each
    /// instance's whole load, as Caddy's upstreams shared by address do);
    /// `deployment.loadBalancing` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancing: Option<LoadBalancingConfig>,
    /// Rate limits on this class's requests only, by name (besides
    /// `deployment.rateLimit` and `rateLimits`, which count every class).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rate_limits: IndexMap<String, RateLimitConfig>,
}

/// `deployment.metrics`: how metrics reach the autoscaler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsPipeline {
    /// Time between samples (metrics-server's resolution, CloudWatch's
    /// period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_interval: Option<DurationStr>,
    /// The span a sample's average covers when the autoscaler reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DurationStr>,
}

/// One region of the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Region {
    /// Instances running in the region.
    pub instances: u32,
    /// Which of `instanceTypes`; may be left out when there is only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Failover priority, lower first (the SwiftClaw shape); orders
    /// regions for `geographic` when clients are equally near. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Most instances the region can run (its capacity), below the
    /// autoscaler's maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<u32>,
}

/// `deployment.limits`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Most requests the whole fleet holds at once; the excess is rejected.
    /// Unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Most time a request may wait in an instance's queue before it gets a
    /// slot; longer waits time out. None when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_timeout: Option<DurationStr>,
    /// Most requests one instance holds, running plus queued; a request the
    /// balancer can place nowhere is rejected. Unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_instance: Option<u32>,
    /// A request not finished this long after it arrived times out and frees
    /// its slot or queue place. None when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<DurationStr>,
}

/// `deployment.timeouts`, in the SwiftClaw doc's shape: `connection` is
/// `limits.connectionTimeout`, `request` is `limits.requestTimeout`.
/// `idle` (how long an unused keep-alive connection stays open) is refused:
/// fleetsim does not model connection reuse, so it could not change a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    /// As `limits.connectionTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<DurationStr>,
    /// As `limits.requestTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<DurationStr>,
    /// Read so it can be refused with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<DurationStr>,
}

/// `slo`: what a run must achieve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Slo {
    /// Latency percentiles, keyed `p50`, `p90`, `p95`, `p99`, `p99.9`.
    #[serde(default)]
    pub latency: IndexMap<String, DurationStr>,
    /// Highest acceptable share of requests that fail, time out or are
    /// rejected (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
}

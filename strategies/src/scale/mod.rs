//! Autoscalers: how many instances a pool should run.
//!
//! An autoscaler is a pure state machine, like the balancers: at each check
//! (every [`Autoscaler::interval`]) the caller hands it what its metrics
//! pipeline saw ([`ScaleInput`]: each instance's averages over the metrics
//! window, and the pool's queue, request rate and response time) and the
//! time; [`Autoscaler::decide`] answers with a desired count and why
//! ([`ScaleDecision`]). When the caller actually changes the pool (it may
//! refuse, for a budget or a capacity shortage), it says so with
//! [`Autoscaler::applied`], which starts cooldowns and feeds rate limits.
//!
//! | `policy` | type | follows |
//! |---|---|---|
//! | `threshold` (default) | [`ThresholdScaler`] | the AgenticGoKit and General Bots controllers, the SwiftClaw `scaling` block |
//! | `hpa` | [`Hpa`] | Kubernetes `autoscaling/v2` (`replica_calculator.go`, `horizontal.go`) |
//! | `target-tracking` | [`TargetTracking`] | AWS Application Auto Scaling target tracking |
//! | `queue` | [`QueueScaler`] | KEDA's scaling on queue length |
//! | `step` | [`StepScaling`] | AWS Application Auto Scaling step scaling with its CloudWatch alarms |
//!
//! [`CostGuard`] is the Azcore doc's budget check on scale-ups.

mod cost;
mod hpa;
mod queue;
mod step;
mod target_tracking;
mod threshold;

pub use cost::{BudgetConfig, BudgetLimit, CostGuard};
pub use hpa::{
    external_per_pod_replicas, external_value_replicas, plain_metric_replicas, resource_replicas,
    simulated_metric, simulated_names, Hpa, HpaBehavior, HpaConfig, HpaMetric, HpaMetricType,
    HpaPolicy, HpaPolicyType, HpaRules, HpaTarget, MetricIdentifier, MetricSource, Pod, PodState,
    Quantity, ResourceSource, SelectPolicy, TargetType, Tolerances,
};
pub use queue::{QueueConfig, QueueScaler};
pub use step::{
    percent_change, AdjustmentType, Comparison, Statistic, StepAdjustment, StepAlarm, StepPolicy,
    StepScaling, StepScalingConfig,
};
pub use target_tracking::{PredefinedMetric, TargetTracking, TargetTrackingConfig, TrackedTarget};
pub use threshold::{RuleAction, ThresholdConfig, ThresholdRule, ThresholdScaler};

use crate::{ConfigError, Nanos};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A metric an autoscaler can watch, in the unit its targets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum ScaleMetric {
    /// Mean CPU utilization of ready instances, percent of their cores.
    Cpu,
    /// Mean memory utilization of ready instances, percent of their memory.
    Memory,
    /// Mean requests held per ready instance (running plus queued).
    Connections,
    /// Arrivals per minute per ready instance.
    RequestsPerMinute,
    /// Arrivals per second per ready instance.
    RequestsPerSecond,
    /// Mean response time of completed requests, in milliseconds.
    ResponseTime,
    /// Requests waiting in instance queues, in all.
    QueueDepth,
}

impl ScaleMetric {
    /// The metric's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ScaleMetric::Cpu => "cpu",
            ScaleMetric::Memory => "memory",
            ScaleMetric::Connections => "connections",
            ScaleMetric::RequestsPerMinute => "requestsPerMinute",
            ScaleMetric::RequestsPerSecond => "requestsPerSecond",
            ScaleMetric::ResponseTime => "responseTime",
            ScaleMetric::QueueDepth => "queueDepth",
        }
    }

    fn target_key(self) -> &'static str {
        match self {
            ScaleMetric::Cpu => "targetCPU",
            ScaleMetric::Memory => "targetMemory",
            ScaleMetric::Connections => "targetConnections",
            ScaleMetric::RequestsPerMinute => "targetRequestsPerMinute",
            ScaleMetric::RequestsPerSecond => "targetRequestsPerSecond",
            ScaleMetric::ResponseTime => "targetResponseTime",
            ScaleMetric::QueueDepth => "targetQueueDepth",
        }
    }
}

impl fmt::Display for ScaleMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One instance as the metrics pipeline saw it over its window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InstanceSample {
    /// Ready (serving); an instance still starting has no metrics yet.
    pub ready: bool,
    /// CPU utilization in percent of its cores, when CPU is modelled.
    pub cpu_utilization: Option<f64>,
    /// Memory utilization in percent of its memory, when memory is
    /// modelled.
    pub memory_utilization: Option<f64>,
    /// Requests held on average (running plus queued).
    pub connections: f64,
    /// Arrivals per second routed to it.
    pub requests_per_second: f64,
}

/// What an autoscaler sees at a check.
#[derive(Clone, Copy)]
pub struct ScaleInput<'a> {
    /// Instances asked for now, starting ones included: the scale the
    /// decision changes.
    pub current: u32,
    /// Each of those instances.
    pub instances: &'a [InstanceSample],
    /// Requests waiting in the pool's queues (average over the window).
    pub queue_depth: f64,
    /// Mean response time of the pool's completed requests over the window,
    /// in milliseconds, when any completed.
    pub response_time_ms: Option<f64>,
    /// The named metrics the HPA reads (any name, as Kubernetes' metrics
    /// APIs serve them). `None`: the simulator's own, from `instances`,
    /// `queue_depth` and `response_time_ms` under the names
    /// [`simulated_names`] lists.
    pub metrics: Option<&'a dyn MetricValues>,
}

impl fmt::Debug for ScaleInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScaleInput")
            .field("current", &self.current)
            .field("instances", &self.instances)
            .field("queue_depth", &self.queue_depth)
            .field("response_time_ms", &self.response_time_ms)
            .field("metrics", &self.metrics.map(|_| "caller's"))
            .finish()
    }
}

/// Named metric values, as a metrics pipeline serves them: per instance
/// (Kubernetes `Resource` and `Pods` metrics) and for the whole pool
/// (`External`). `None` when the metric is not available; the HPA then
/// skips it for that decision, as Kubernetes does.
pub trait MetricValues {
    /// The value of `name` for instance `index` (its position in
    /// [`ScaleInput::instances`]); `Resource` metrics in percent of the
    /// request.
    fn pod(&self, index: usize, name: &str) -> Option<f64>;
    /// The value of the pool-wide metric `name`.
    fn pool(&self, name: &str) -> Option<f64>;
}

/// A [`MetricValues`] over borrowed slices, filled by the caller: for
/// each instance its `(name, value)` pairs, and the pool's. Nothing is
/// allocated to read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics<'a> {
    /// Per instance, in the order of [`ScaleInput::instances`].
    pub pods: &'a [&'a [(&'a str, f64)]],
    /// Pool-wide values.
    pub pool: &'a [(&'a str, f64)],
}

impl MetricValues for Metrics<'_> {
    fn pod(&self, index: usize, name: &str) -> Option<f64> {
        let row = self.pods.get(index)?;
        row.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
    fn pool(&self, name: &str) -> Option<f64> {
        self.pool.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

/// The simulator's metrics under the names [`simulated_names`]
/// gives for one metric type.
pub(crate) struct SimulatedNames<'i, 'a> {
    pub(crate) kind: HpaMetricType,
    pub(crate) input: &'i ScaleInput<'a>,
}

impl MetricValues for SimulatedNames<'_, '_> {
    fn pod(&self, index: usize, name: &str) -> Option<f64> {
        let i = self.input.instances.get(index)?;
        match hpa::simulated_metric(self.kind, name)? {
            ScaleMetric::Cpu => i.cpu_utilization,
            ScaleMetric::Memory => i.memory_utilization,
            ScaleMetric::Connections => Some(i.connections),
            ScaleMetric::RequestsPerSecond => Some(i.requests_per_second),
            ScaleMetric::RequestsPerMinute => Some(i.requests_per_second * 60.0),
            _ => None,
        }
    }
    fn pool(&self, name: &str) -> Option<f64> {
        match hpa::simulated_metric(self.kind, name)? {
            ScaleMetric::QueueDepth => Some(self.input.queue_depth),
            _ => None,
        }
    }
}

impl<'a> ScaleInput<'a> {
    /// An input of `current` instances described by `instances`, with an
    /// empty queue and no response time.
    pub fn new(current: u32, instances: &'a [InstanceSample]) -> ScaleInput<'a> {
        ScaleInput {
            current,
            instances,
            queue_depth: 0.0,
            response_time_ms: None,
            metrics: None,
        }
    }

    /// Pool-wide averages over ready instances, as the threshold and
    /// target-tracking controllers read them.
    pub fn fleet(&self) -> FleetMetrics {
        let ready = self.instances.iter().filter(|i| i.ready);
        let (mut n, mut cpu, mut cpu_n, mut mem, mut mem_n, mut conn, mut rps) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in ready {
            n += 1.0;
            if let Some(c) = i.cpu_utilization {
                cpu += c;
                cpu_n += 1.0;
            }
            if let Some(m) = i.memory_utilization {
                mem += m;
                mem_n += 1.0;
            }
            conn += i.connections;
            rps += i.requests_per_second;
        }
        let avg = |sum: f64, count: f64| (count > 0.0).then(|| sum / count);
        FleetMetrics {
            cpu: avg(cpu, cpu_n),
            memory: avg(mem, mem_n),
            connections: avg(conn, n),
            requests_per_second: avg(rps, n),
            response_time_ms: self.response_time_ms,
            queue_depth: self.queue_depth,
        }
    }
}

/// Pool-wide averages per ready instance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FleetMetrics {
    /// Mean CPU utilization, percent.
    pub cpu: Option<f64>,
    /// Mean memory utilization, percent.
    pub memory: Option<f64>,
    /// Mean requests held per instance.
    pub connections: Option<f64>,
    /// Mean arrivals per second per instance.
    pub requests_per_second: Option<f64>,
    /// Mean response time, milliseconds.
    pub response_time_ms: Option<f64>,
    /// Requests queued in all.
    pub queue_depth: f64,
}

impl FleetMetrics {
    /// The value of `m`, when known.
    pub fn get(&self, m: ScaleMetric) -> Option<f64> {
        match m {
            ScaleMetric::Cpu => self.cpu,
            ScaleMetric::Memory => self.memory,
            ScaleMetric::Connections => self.connections,
            ScaleMetric::RequestsPerMinute => self.requests_per_second.map(|r| r * 60.0),
            ScaleMetric::RequestsPerSecond => self.requests_per_second,
            ScaleMetric::ResponseTime => self.response_time_ms,
            ScaleMetric::QueueDepth => Some(self.queue_depth),
        }
    }
}

/// Why a decision is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleReason {
    /// Nothing asks for a change.
    Steady,
    /// A metric asks for the change (`metric` says which).
    Metric,
    /// A change is wanted but a cooldown holds it.
    Cooldown,
    /// HPA's stabilization window holds the recommendation back.
    Stabilization,
    /// A rate policy caps the change (HPA `behavior` policies).
    RateLimited,
    /// More is wanted but the maximum is reached.
    AtMax,
    /// Fewer is wanted but the minimum is reached.
    AtMin,
    /// KEDA: the metric stays under its activation threshold, waiting for
    /// the cooldown before scaling to the minimum.
    Inactive,
}

impl fmt::Display for ScaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScaleReason::Steady => "steady",
            ScaleReason::Metric => "metric",
            ScaleReason::Cooldown => "cooldown",
            ScaleReason::Stabilization => "stabilization",
            ScaleReason::RateLimited => "rate-limited",
            ScaleReason::AtMax => "at-max",
            ScaleReason::AtMin => "at-min",
            ScaleReason::Inactive => "inactive",
        })
    }
}

/// The decision for a pool outside `min..=max` (one that starts outside
/// its bounds): back to the nearest bound at once, as the HPA controller
/// does and AWS does for a capacity outside its minimum and maximum.
pub(crate) fn pin_to_bounds(current: u32, min: u32, max: u32) -> Option<ScaleDecision> {
    let (desired, reason) = if current > max {
        (max, ScaleReason::AtMax)
    } else if current < min {
        (min, ScaleReason::AtMin)
    } else {
        return None;
    };
    Some(ScaleDecision {
        desired,
        wanted: desired,
        reason,
        metric: None,
    })
}

/// An autoscaler's answer at a check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleDecision {
    /// Instances to run.
    pub desired: u32,
    /// What the metrics asked for before cooldowns, stabilization, rate
    /// policies and bounds.
    pub wanted: u32,
    /// Why `desired` is what it is.
    pub reason: ScaleReason,
    /// The metric behind the decision, when one drove it.
    pub metric: Option<ScaleMetric>,
}

/// A scaling policy.
pub trait Autoscaler {
    /// Time between checks.
    fn interval(&self) -> Nanos;

    /// Fewest and most instances it may ask for.
    fn bounds(&self) -> (u32, u32);

    /// The decision at `now` on what the metrics pipeline saw.
    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision;

    /// The pool was changed from `from` to `to` instances at `now` (on this
    /// autoscaler's decision).
    fn applied(&mut self, now: Nanos, from: u32, to: u32);
}

/// `deployment.scaling`: which policy, in its own doc's shape. Without
/// `policy`, the block is the threshold controller's (the SwiftClaw doc
/// writes `scaling` with no policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "policy", rename_all = "kebab-case", remote = "Self")]
#[cfg_attr(feature = "schema", schemars(transform = policy_defaults_to_threshold))]
pub enum ScalingConfig {
    /// The threshold controllers (AgenticGoKit, General Bots, SwiftClaw).
    Threshold(ThresholdConfig),
    /// Kubernetes' HorizontalPodAutoscaler.
    Hpa(HpaConfig),
    /// AWS target tracking.
    TargetTracking(TargetTrackingConfig),
    /// KEDA on queue length.
    Queue(QueueConfig),
    /// AWS step scaling.
    Step(StepScalingConfig),
}

/// In the schema as in reading: without `policy` the block is the
/// threshold controller's.
#[cfg(feature = "schema")]
fn policy_defaults_to_threshold(schema: &mut schemars::Schema) {
    let Some(variants) = schema.get_mut("oneOf").and_then(|v| v.as_array_mut()) else {
        return;
    };
    for v in variants {
        if v.pointer("/properties/policy/const")
            .and_then(|c| c.as_str())
            == Some("threshold")
        {
            if let Some(required) = v.get_mut("required").and_then(|r| r.as_array_mut()) {
                required.retain(|r| r != "policy");
            }
        }
    }
}

impl<'de> Deserialize<'de> for ScalingConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ScalingConfig, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(crate::ObjectOnly(d))?;
        if let Some(m) = v.as_object_mut() {
            m.entry("policy").or_insert_with(|| "threshold".into());
        }
        ScalingConfig::deserialize(v).map_err(D::Error::custom)
    }
}

impl Serialize for ScalingConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ScalingConfig::serialize(self, s)
    }
}

impl ScalingConfig {
    /// The policy's name.
    pub fn name(&self) -> &'static str {
        match self {
            ScalingConfig::Threshold(_) => "threshold",
            ScalingConfig::Hpa(_) => "hpa",
            ScalingConfig::TargetTracking(_) => "target-tracking",
            ScalingConfig::Queue(_) => "queue",
            ScalingConfig::Step(_) => "step",
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ScalingConfig::Threshold(c) => c.validate(),
            ScalingConfig::Hpa(c) => c.validate(),
            ScalingConfig::TargetTracking(c) => c.validate(),
            ScalingConfig::Queue(c) => c.validate(),
            ScalingConfig::Step(c) => c.validate(),
        }
    }

    /// The simulated metrics the policy reads (an HPA metric under a name
    /// the simulator does not provide is left out).
    pub fn metrics(&self) -> Vec<ScaleMetric> {
        match self {
            ScalingConfig::Threshold(c) => c.metrics(),
            // Without `metrics` the HPA scales on CPU at 80%.
            ScalingConfig::Hpa(c) if c.metrics.is_empty() => vec![ScaleMetric::Cpu],
            ScalingConfig::Hpa(c) => c.metrics.iter().filter_map(HpaMetric::simulated).collect(),
            ScalingConfig::TargetTracking(c) => c.targets.iter().map(|t| t.metric()).collect(),
            ScalingConfig::Queue(_) => vec![ScaleMetric::QueueDepth],
            ScalingConfig::Step(c) => c.policies.iter().map(|p| p.alarm.metric).collect(),
        }
    }

    /// A fresh autoscaler for this policy.
    pub fn build(&self) -> AnyAutoscaler {
        match self {
            ScalingConfig::Threshold(c) => {
                AnyAutoscaler::Threshold(ThresholdScaler::new(c.clone()))
            }
            ScalingConfig::Hpa(c) => AnyAutoscaler::Hpa(Box::new(Hpa::new(c.clone()))),
            ScalingConfig::TargetTracking(c) => {
                AnyAutoscaler::TargetTracking(TargetTracking::new(c.clone()))
            }
            ScalingConfig::Queue(c) => AnyAutoscaler::Queue(Box::new(QueueScaler::new(c.clone()))),
            ScalingConfig::Step(c) => AnyAutoscaler::Step(Box::new(StepScaling::new(c.clone()))),
        }
    }
}

/// Any built-in autoscaler, by static dispatch.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum AnyAutoscaler {
    Threshold(ThresholdScaler),
    Hpa(Box<Hpa>),
    TargetTracking(TargetTracking),
    Queue(Box<QueueScaler>),
    Step(Box<StepScaling>),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyAutoscaler::Threshold($s) => $e,
            AnyAutoscaler::Hpa($s) => $e,
            AnyAutoscaler::TargetTracking($s) => $e,
            AnyAutoscaler::Queue($s) => $e,
            AnyAutoscaler::Step($s) => $e,
        }
    };
}

impl Autoscaler for AnyAutoscaler {
    fn interval(&self) -> Nanos {
        each!(self, s => s.interval())
    }
    fn bounds(&self) -> (u32, u32) {
        each!(self, s => s.bounds())
    }
    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        each!(self, s => s.decide(now, input))
    }
    fn applied(&mut self, now: Nanos, from: u32, to: u32) {
        each!(self, s => s.applied(now, from, to))
    }
}

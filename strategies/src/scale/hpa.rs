//! Kubernetes' HorizontalPodAutoscaler (`autoscaling/v2`), as
//! `pkg/controller/podautoscaler` computes it: the replica calculator
//! (`replica_calculator.go`) per metric, the maximum over metrics, then
//! stabilization and the `behavior` rate policies (`horizontal.go`), or the
//! legacy normalization when no `behavior` is given.

use super::{Autoscaler, MetricValues, ScaleDecision, ScaleInput, ScaleMetric, ScaleReason};
use crate::{ConfigError, DurationStr, Nanos};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// `deployment.scaling` with `"policy": "hpa"`: the HPA spec's own field
/// names, so a team's `hpa.yaml` converts key for key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaConfig {
    /// `spec.minReplicas` (default 1).
    #[serde(default = "one")]
    pub min_replicas: u32,
    /// `spec.maxReplicas`.
    pub max_replicas: u32,
    /// `spec.metrics` (default: CPU at 80% utilization, as Kubernetes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<HpaMetric>,
    /// `spec.behavior`; without it the controller's legacy normalization
    /// applies (5 minutes of downscale stabilization, scale-up capped at
    /// `max(2 * current, 4)` per sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HpaBehavior>,
    /// The controller's `--horizontal-pod-autoscaler-sync-period` (15s).
    #[serde(default = "d15s")]
    pub sync_period: DurationStr,
    /// The controller's `--horizontal-pod-autoscaler-tolerance` (0.1).
    #[serde(default = "tenth")]
    pub tolerance: f64,
}

fn one() -> u32 {
    1
}
fn d15s() -> DurationStr {
    DurationStr(Nanos::from_secs(15))
}
fn tenth() -> f64 {
    0.1
}

/// One entry of `spec.metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaMetric {
    /// `Resource`, `Pods` or `External`.
    #[serde(rename = "type")]
    pub kind: HpaMetricType,
    /// For `Resource`: `cpu` or `memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceSource>,
    /// For `Pods`: a per-instance metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<MetricSource>,
    /// For `External`: a metric of the whole pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<MetricSource>,
}

/// Metric source types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum HpaMetricType {
    /// A container resource (`cpu`, `memory`).
    Resource,
    /// A metric of each pod.
    Pods,
    /// A metric from outside the pods.
    External,
}

/// `resource: {name, target}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSource {
    /// `cpu` or `memory`.
    pub name: String,
    /// The target.
    pub target: HpaTarget,
}

/// `pods` or `external`: `{metric: {name}, target}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSource {
    /// The metric.
    pub metric: MetricIdentifier,
    /// The target.
    pub target: HpaTarget,
}

/// `metric: {name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricIdentifier {
    /// The metric's name (see [`HpaMetric::metric`] for the names fleetsim
    /// measures).
    pub name: String,
}

/// `target: {type, averageUtilization | averageValue | value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaTarget {
    /// `Utilization`, `AverageValue` or `Value`.
    #[serde(rename = "type")]
    pub kind: TargetType,
    /// Percent of the request, for `Utilization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<u32>,
    /// Per pod, for `AverageValue` (a Kubernetes quantity: `"100"`,
    /// `"500m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
    /// In all, for `Value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
}

/// Target types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum TargetType {
    /// Percent of the pods' requests.
    Utilization,
    /// A value per pod.
    AverageValue,
    /// A total value.
    Value,
}

/// A Kubernetes quantity (`"100"`, `"2.5"`, `"500m"`, `"1k"`), kept in
/// thousandths as the HPA computes ("milli" units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(pub i64);

impl Quantity {
    /// Parses a quantity string.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        let t = s.trim();
        let (num, scale) = match t.chars().last() {
            Some('m') => (&t[..t.len() - 1], 1.0),
            Some('k') => (&t[..t.len() - 1], 1e6),
            Some('M') => (&t[..t.len() - 1], 1e9),
            Some('G') => (&t[..t.len() - 1], 1e12),
            _ => (t, 1e3),
        };
        let v: f64 = num.parse().map_err(|_| {
            format!("invalid quantity \"{s}\"; write a number such as \"100\", \"2.5\" or \"500m\"")
        })?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("quantity \"{s}\" must be 0 or more"));
        }
        Ok(Quantity((v * scale).round() as i64))
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.collect_str(&(self.0 / 1000))
        } else {
            s.collect_str(&format!("{}m", self.0))
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes quantity: a number, or a string such as \"100\", \"2.5\", \"500m\" or \"1k\".",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?[mkMG]?\\s*$" }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quantity, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as \"100\" or \"500m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity((v as i64).saturating_mul(1000)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `spec.behavior`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaBehavior {
    /// Rules for scaling up (default: no stabilization; 4 pods or 100%
    /// per 15s, whichever is more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<HpaRules>,
    /// Rules for scaling down (default: 300s stabilization; 100% per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<HpaRules>,
}

/// `behavior.scaleUp` / `behavior.scaleDown` (`HPAScalingRules`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaRules {
    /// Recommendations considered, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<u32>,
    /// `Max` (default: the policy allowing the largest change), `Min`, or
    /// `Disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    /// The rate policies; given, they replace the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<HpaPolicy>>,
    /// This direction's tolerance (`HPAConfigurableTolerance`); the
    /// controller's `tolerance` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

/// `selectPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// One rate policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaPolicy {
    /// `Pods` or `Percent`.
    #[serde(rename = "type")]
    pub kind: HpaPolicyType,
    /// Pods, or percent of the replicas at the period's start.
    pub value: u32,
    /// The period, in seconds.
    pub period_seconds: u32,
}

/// Rate policy types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum HpaPolicyType {
    /// A number of pods per period.
    Pods,
    /// A percentage of the replicas per period.
    Percent,
}

/// The rules in force for one direction, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
struct Rules {
    window: Nanos,
    select: SelectPolicy,
    policies: Vec<HpaPolicy>,
    tolerance: f64,
}

impl HpaRules {
    fn resolve(rules: Option<&HpaRules>, up: bool, tolerance: f64) -> Rules {
        let default_policies = if up {
            vec![
                HpaPolicy {
                    kind: HpaPolicyType::Pods,
                    value: 4,
                    period_seconds: 15,
                },
                HpaPolicy {
                    kind: HpaPolicyType::Percent,
                    value: 100,
                    period_seconds: 15,
                },
            ]
        } else {
            vec![HpaPolicy {
                kind: HpaPolicyType::Percent,
                value: 100,
                period_seconds: 15,
            }]
        };
        let r = rules.cloned().unwrap_or_default();
        Rules {
            window: Nanos::from_secs(u64::from(r.stabilization_window_seconds.unwrap_or(if up {
                0
            } else {
                300
            }))),
            select: r.select_policy.unwrap_or(SelectPolicy::Max),
            policies: r.policies.unwrap_or(default_policies),
            tolerance: r.tolerance.unwrap_or(tolerance),
        }
    }
}

/// The names under which the simulator provides its metrics to the HPA
/// (with the aliases the seed docs use), per metric type.
const RESOURCE_METRICS: &[(&str, ScaleMetric)] =
    &[("cpu", ScaleMetric::Cpu), ("memory", ScaleMetric::Memory)];
const POD_METRICS: &[(&str, ScaleMetric)] = &[
    ("http_requests_per_second", ScaleMetric::RequestsPerSecond),
    ("requests_per_second", ScaleMetric::RequestsPerSecond),
    ("requests_per_minute", ScaleMetric::RequestsPerMinute),
    ("connections", ScaleMetric::Connections),
    ("active_connections", ScaleMetric::Connections),
    ("inflight_requests", ScaleMetric::Connections),
];
const EXTERNAL_METRICS: &[(&str, ScaleMetric)] = &[
    ("queue_depth", ScaleMetric::QueueDepth),
    ("queue_length", ScaleMetric::QueueDepth),
];

/// The simulated metric an HPA metric of type `kind` named `name` reads:
/// `Resource` `cpu` and `memory`; `Pods` `http_requests_per_second` (or
/// `requests_per_second`), `requests_per_minute`, `connections` (or
/// `active_connections`, `inflight_requests`); `External` `queue_depth`
/// (or `queue_length`). `None` for any other name: the HPA itself accepts
/// any name, and reads it from the caller's [`MetricValues`].
pub fn simulated_metric(kind: HpaMetricType, name: &str) -> Option<ScaleMetric> {
    simulated_names(kind)
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
}

/// The names the simulator provides for metrics of type `kind`.
pub fn simulated_names(kind: HpaMetricType) -> &'static [(&'static str, ScaleMetric)] {
    match kind {
        HpaMetricType::Resource => RESOURCE_METRICS,
        HpaMetricType::Pods => POD_METRICS,
        HpaMetricType::External => EXTERNAL_METRICS,
    }
}

impl HpaMetric {
    fn source(&self) -> Option<(&str, &HpaTarget)> {
        match self.kind {
            HpaMetricType::Resource => self.resource.as_ref().map(|r| (r.name.as_str(), &r.target)),
            HpaMetricType::Pods => self
                .pods
                .as_ref()
                .map(|p| (p.metric.name.as_str(), &p.target)),
            HpaMetricType::External => self
                .external
                .as_ref()
                .map(|p| (p.metric.name.as_str(), &p.target)),
        }
    }

    /// The entry's metric name (`resource.name`, or `pods`/`external`
    /// `metric.name`), when its block is given.
    pub fn name(&self) -> Option<&str> {
        self.source().map(|(n, _)| n)
    }

    /// The simulated metric this entry stands for, when its name is one
    /// the simulator measures (see [`simulated_metric`]).
    pub fn simulated(&self) -> Option<ScaleMetric> {
        simulated_metric(self.kind, self.name()?)
    }

    /// The simulated metric this entry reads ([`HpaMetric::simulated`]),
    /// CPU for a name the simulator does not measure.
    pub fn metric(&self) -> ScaleMetric {
        self.simulated().unwrap_or(ScaleMetric::Cpu)
    }

    fn resolve(&self) -> Result<&HpaTarget, ConfigError> {
        let field = match self.kind {
            HpaMetricType::Resource => "resource",
            HpaMetricType::Pods => "pods",
            HpaMetricType::External => "external",
        };
        let (name, target) = self.source().ok_or_else(|| {
            ConfigError::new(
                "metrics",
                format!("a metric of type {:?} needs its `{field}` block", self.kind),
            )
        })?;
        if name.trim().is_empty() {
            return Err(ConfigError::new(
                "metrics",
                format!("a {:?} metric needs a name", self.kind),
            ));
        }
        let ok = match (self.kind, target.kind) {
            (HpaMetricType::Resource, TargetType::Utilization) => {
                target.average_utilization.is_some_and(|u| u > 0)
            }
            (HpaMetricType::Pods | HpaMetricType::External, TargetType::AverageValue) => {
                target.average_value.is_some_and(|q| q.0 > 0)
            }
            (HpaMetricType::External, TargetType::Value) => target.value.is_some_and(|q| q.0 > 0),
            _ => {
                return Err(ConfigError::new(
                    "metrics",
                    format!(
                        "a {:?} metric takes a target of type {}",
                        self.kind,
                        match self.kind {
                            HpaMetricType::Resource => "Utilization",
                            HpaMetricType::Pods => "AverageValue",
                            HpaMetricType::External => "AverageValue or Value",
                        }
                    ),
                ))
            }
        };
        if !ok {
            return Err(ConfigError::new(
                "metrics",
                format!(
                    "the {:?} target of `{name}` needs its value above 0",
                    target.kind
                ),
            ));
        }
        Ok(target)
    }
}

impl HpaConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_replicas == 0 || self.max_replicas < self.min_replicas {
            return Err(ConfigError::new(
                "maxReplicas",
                format!(
                    "must be at least minReplicas ({}) and at least 1",
                    self.min_replicas
                ),
            ));
        }
        if self.sync_period.nanos() < Nanos::from_millis(1) {
            return Err(ConfigError::new("syncPeriod", "must be at least 1ms"));
        }
        if self.min_replicas == 0
            && !self
                .metrics
                .iter()
                .any(|m| m.kind == HpaMetricType::External)
        {
            return Err(ConfigError::new(
                "minReplicas",
                "0 (scale to zero) needs an External metric such as queue_depth: with no pod, \
                 no pod metric exists (Kubernetes likewise requires an Object or External metric)",
            ));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(ConfigError::new("tolerance", "must be 0 or more"));
        }
        for m in &self.metrics {
            m.resolve()?;
        }
        if let Some(b) = &self.behavior {
            for (key, r) in [
                ("behavior.scaleUp", &b.scale_up),
                ("behavior.scaleDown", &b.scale_down),
            ] {
                let Some(r) = r else { continue };
                for (j, p) in r.policies.iter().flatten().enumerate() {
                    if p.value == 0 {
                        return Err(ConfigError::new(
                            key,
                            format!("policies[{j}].value: must be above 0, found 0"),
                        ));
                    }
                    if p.period_seconds == 0 || p.period_seconds > 1800 {
                        return Err(ConfigError::new(
                            key,
                            format!(
                                "policies[{j}].periodSeconds: must be from 1 to 1800 (as \
                                 Kubernetes), found {}",
                                p.period_seconds
                            ),
                        ));
                    }
                }
                if r.policies.as_ref().is_some_and(Vec::is_empty) {
                    return Err(ConfigError::new(
                        key,
                        "policies must not be empty (Kubernetes requires one)",
                    ));
                }
                if r.stabilization_window_seconds.is_some_and(|w| w > 3600) {
                    return Err(ConfigError::new(
                        key,
                        "stabilizationWindowSeconds must be at most 3600",
                    ));
                }
            }
        }
        Ok(())
    }

    fn metric_specs(&self) -> Vec<HpaMetric> {
        if self.metrics.is_empty() {
            vec![HpaMetric {
                kind: HpaMetricType::Resource,
                resource: Some(ResourceSource {
                    name: "cpu".into(),
                    target: HpaTarget {
                        kind: TargetType::Utilization,
                        average_utilization: Some(80),
                        average_value: None,
                        value: None,
                    },
                }),
                pods: None,
                external: None,
            }]
        } else {
            self.metrics.clone()
        }
    }
}

/// A pod as the replica calculator groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Running and ready, with a metric sample.
    Ready,
    /// Pending or not yet ready (an instance still starting).
    Unready,
    /// Running without a metric sample.
    Missing,
}

/// One pod's request and metric value, in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pod {
    /// How it is grouped.
    pub state: PodState,
    /// Its request (CPU or memory), for utilization targets.
    pub request: i64,
    /// Its metric value.
    pub value: i64,
}

/// The tolerance band around a usage ratio of 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Below 1.
    pub scale_down: f64,
    /// Above 1.
    pub scale_up: f64,
}

impl Tolerances {
    fn within(self, ratio: f64) -> bool {
        1.0 - self.scale_down <= ratio && ratio <= 1.0 + self.scale_up
    }
}

/// The usage ratio of `(request, value)` pairs.
type RatioOf<'a> = &'a dyn Fn(&[(i64, i64)]) -> f64;

/// The fill-and-recheck part shared by resource and plain metrics
/// (`GetResourceReplicas` / `calcPlainMetricReplicas`): `ratio` and
/// `fill_down` (the value a missing pod gets when scaling down) are
/// computed by the caller's `usage` function over the pods kept.
fn calc_replicas(
    current: u32,
    pods: &[Pod],
    tol: Tolerances,
    ratio_of: RatioOf<'_>,
    fill_down: &dyn Fn(&Pod) -> i64,
) -> Option<u32> {
    let ready = pods.iter().filter(|p| p.state == PodState::Ready).count();
    let unready = pods.iter().filter(|p| p.state == PodState::Unready).count();
    let missing = pods.iter().filter(|p| p.state == PodState::Missing).count();
    let mut metrics: Vec<(i64, i64)> = pods
        .iter()
        .filter(|p| p.state == PodState::Ready)
        .map(|p| (p.request, p.value))
        .collect();
    if metrics.is_empty() {
        return None;
    }
    let ratio = ratio_of(&metrics);
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if tol.within(ratio) {
            return Some(current);
        }
        return Some((ratio * ready as f64).ceil() as u32);
    }
    if missing > 0 {
        for p in pods.iter().filter(|p| p.state == PodState::Missing) {
            if ratio < 1.0 {
                metrics.push((p.request, fill_down(p)));
            } else if ratio > 1.0 {
                metrics.push((p.request, 0));
            }
        }
    }
    if scale_up_with_unready {
        for p in pods.iter().filter(|p| p.state == PodState::Unready) {
            metrics.push((p.request, 0));
        }
    }
    let new_ratio = ratio_of(&metrics);
    if tol.within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Some(current);
    }
    let new = (new_ratio * metrics.len() as f64).ceil() as u32;
    if (new_ratio < 1.0 && new > current) || (new_ratio > 1.0 && new < current) {
        return Some(current);
    }
    Some(new)
}

/// `GetResourceReplicas`: a Utilization target in percent of the pods'
/// requests. `None` when no ready pod has a metric.
pub fn resource_replicas(
    current: u32,
    pods: &[Pod],
    target_percent: i64,
    tol: Tolerances,
) -> Option<u32> {
    let ratio_of = |m: &[(i64, i64)]| {
        let (req, used): (i64, i64) = m.iter().fold((0, 0), |(r, u), &(req, v)| (r + req, u + v));
        if req == 0 {
            return 0.0;
        }
        // `currentUtilization` is an integer percent, truncated.
        let util = used * 100 / req;
        util as f64 / target_percent as f64
    };
    let fill = |p: &Pod| p.request * target_percent.max(100) / 100;
    calc_replicas(current, pods, tol, &ratio_of, &fill)
}

/// `calcPlainMetricReplicas`: a Pods metric with an AverageValue target,
/// values in thousandths.
pub fn plain_metric_replicas(
    current: u32,
    pods: &[Pod],
    target: i64,
    tol: Tolerances,
) -> Option<u32> {
    let ratio_of = |m: &[(i64, i64)]| {
        let total: i64 = m.iter().map(|&(_, v)| v).sum();
        // `currentUsage` is an integer average, truncated.
        (total / m.len() as i64) as f64 / target as f64
    };
    let fill = |_: &Pod| target;
    calc_replicas(current, pods, tol, &ratio_of, &fill)
}

/// `GetExternalPerPodMetricReplicas`: an External metric with an
/// AverageValue target: `ceil(total / target)` unless within tolerance of
/// the current replicas.
pub fn external_per_pod_replicas(
    status_replicas: u32,
    total: i64,
    target: i64,
    tol: Tolerances,
) -> u32 {
    let ratio = total as f64 / (target as f64 * f64::from(status_replicas));
    if status_replicas > 0 && tol.within(ratio) {
        return status_replicas;
    }
    (total as f64 / target as f64)
        .ceil()
        .min(f64::from(i32::MAX)) as u32
}

/// `GetExternalMetricReplicas`: an External metric with a Value target.
pub fn external_value_replicas(
    current: u32,
    ready: u32,
    total: i64,
    target: i64,
    tol: Tolerances,
) -> u32 {
    let ratio = total as f64 / target as f64;
    if current == 0 {
        return ratio.ceil() as u32;
    }
    if tol.within(ratio) {
        return current;
    }
    (ratio * f64::from(ready)).ceil().min(f64::from(i32::MAX)) as u32
}

/// Recommendations and scale events, over time.
#[derive(Debug, Clone, Default)]
struct History {
    /// `(time, unstabilized recommendation)`.
    recommendations: Vec<(Nanos, u32)>,
    /// `(time, change, outdated)` per direction.
    up_events: Vec<(Nanos, u32, bool)>,
    down_events: Vec<(Nanos, u32, bool)>,
}

/// `timestamp.After(now - window)` (a cutoff before time zero lets
/// everything through).
fn after(t: Nanos, now: Nanos, window: Nanos) -> bool {
    now < window || t > now - window
}

/// `timestamp.Before(now - window)`.
fn before(t: Nanos, now: Nanos, window: Nanos) -> bool {
    now >= window && t < now - window
}

impl History {
    /// `stabilizeRecommendationWithBehaviors`: `min(max(current, min over
    /// the up window), max over the down window)`; records `desired`.
    fn stabilize(&mut self, now: Nanos, current: u32, desired: u32, up: Nanos, down: Nanos) -> u32 {
        let (mut up_rec, mut down_rec) = (desired, desired);
        let mut old = None;
        for (i, &(t, rec)) in self.recommendations.iter().enumerate() {
            if after(t, now, up) {
                up_rec = up_rec.min(rec);
            }
            if after(t, now, down) {
                down_rec = down_rec.max(rec);
            }
            if before(t, now, up) && before(t, now, down) {
                old = Some(i);
            }
        }
        let stabilized = current.max(up_rec).min(down_rec);
        match old {
            Some(i) => self.recommendations[i] = (now, desired),
            None => self.recommendations.push((now, desired)),
        }
        stabilized
    }

    fn change_in_period(events: &[(Nanos, u32, bool)], now: Nanos, period: Nanos) -> i64 {
        events
            .iter()
            .filter(|(t, _, _)| after(*t, now, period))
            .map(|&(_, c, _)| i64::from(c))
            .sum()
    }

    /// `storeScaleEvent`.
    fn store(&mut self, now: Nanos, rules: &Rules, from: u32, to: u32) {
        let longest = rules
            .policies
            .iter()
            .map(|p| Nanos::from_secs(u64::from(p.period_seconds)))
            .max()
            .unwrap_or(Nanos::ZERO);
        let (events, change) = if to > from {
            (&mut self.up_events, to - from)
        } else {
            (&mut self.down_events, from - to)
        };
        let mut reuse = None;
        for (i, e) in events.iter_mut().enumerate() {
            if before(e.0, now, longest) {
                e.2 = true;
                reuse = Some(i);
            }
        }
        match reuse {
            Some(i) => events[i] = (now, change, false),
            None => events.push((now, change, false)),
        }
    }
}

/// `calculateScaleUpLimitWithScalingRules`.
fn scale_up_limit(current: u32, h: &History, rules: &Rules, now: Nanos) -> i64 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
        SelectPolicy::Disabled => return i64::from(current),
        SelectPolicy::Min => (i64::MAX, i64::min),
        SelectPolicy::Max => (i64::MIN, i64::max),
    };
    for p in &rules.policies {
        let period = Nanos::from_secs(u64::from(p.period_seconds));
        let start = i64::from(current) - History::change_in_period(&h.up_events, now, period)
            + History::change_in_period(&h.down_events, now, period);
        let proposed = match p.kind {
            HpaPolicyType::Pods => start + i64::from(p.value),
            HpaPolicyType::Percent => {
                (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(current: u32, h: &History, rules: &Rules, now: Nanos) -> i64 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
        SelectPolicy::Disabled => return i64::from(current),
        SelectPolicy::Min => (i64::MIN, i64::max),
        SelectPolicy::Max => (i64::MAX, i64::min),
    };
    for p in &rules.policies {
        let period = Nanos::from_secs(u64::from(p.period_seconds));
        let start = i64::from(current) - History::change_in_period(&h.up_events, now, period)
            + History::change_in_period(&h.down_events, now, period);
        let proposed = match p.kind {
            HpaPolicyType::Pods => start - i64::from(p.value),
            HpaPolicyType::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        };
        result = pick(result, proposed);
    }
    result
}

/// Kubernetes' HorizontalPodAutoscaler controller for one scale target.
///
/// Each sync: every metric proposes a replica count (the replica
/// calculator: `ceil(ratio * ready)` outside the tolerance band, unready
/// instances counted as 0 only when scaling up); the largest proposal wins;
/// then, with `behavior`, the recommendation is stabilized (`min(max(current,
/// lowest in the up window), highest in the down window)`) and limited by
/// the rate policies (replicas at the start of each policy's period, plus
/// `Pods` or `Percent`, the largest change with `selectPolicy: Max`); without
/// `behavior`, the legacy normalization. Starting instances are pending
/// pods: they have no metrics.
#[derive(Debug, Clone)]
pub struct Hpa {
    cfg: HpaConfig,
    specs: Vec<HpaMetric>,
    up: Rules,
    down: Rules,
    history: History,
    started: bool,
    pods: Vec<Pod>,
}

impl Hpa {
    /// A controller with no history.
    pub fn new(cfg: HpaConfig) -> Hpa {
        let b = cfg.behavior.as_ref();
        let up = HpaRules::resolve(b.and_then(|b| b.scale_up.as_ref()), true, cfg.tolerance);
        let down = HpaRules::resolve(b.and_then(|b| b.scale_down.as_ref()), false, cfg.tolerance);
        Hpa {
            specs: cfg.metric_specs(),
            cfg,
            up,
            down,
            history: History::default(),
            started: false,
            pods: Vec::new(),
        }
    }

    fn tolerances(&self) -> Tolerances {
        Tolerances {
            scale_down: self.down.tolerance,
            scale_up: self.up.tolerance,
        }
    }

    /// The proposal of one metric, `None` when it cannot be computed (its
    /// block is wrong, or the caller supplies no value for it).
    fn propose(&mut self, spec: &HpaMetric, input: &ScaleInput<'_>) -> Option<u32> {
        let target = spec.resolve().ok()?;
        let name = spec.name()?;
        let tol = self.tolerances();
        let current = input.current;
        let ready = input.instances.iter().filter(|i| i.ready).count() as u32;
        let milli = |v: f64| (v * 1000.0).round() as i64;
        let source: &dyn MetricValues = match input.metrics {
            Some(m) => m,
            None => &super::SimulatedNames {
                kind: spec.kind,
                input,
            },
        };
        match spec.kind {
            HpaMetricType::Resource | HpaMetricType::Pods => {
                self.pods.clear();
                for (index, i) in input.instances.iter().enumerate() {
                    let value = if i.ready {
                        source.pod(index, name)
                    } else {
                        None
                    };
                    let pod = match (i.ready, value) {
                        (false, _) => Pod {
                            state: PodState::Unready,
                            request: 1000,
                            value: 0,
                        },
                        // Utilization in percent of a request of 1000m.
                        (true, Some(v)) if spec.kind == HpaMetricType::Resource => Pod {
                            state: PodState::Ready,
                            request: 1000,
                            value: milli(v / 100.0),
                        },
                        (true, Some(v)) => Pod {
                            state: PodState::Ready,
                            request: 1000,
                            value: milli(v),
                        },
                        (true, None) => Pod {
                            state: PodState::Missing,
                            request: 1000,
                            value: 0,
                        },
                    };
                    self.pods.push(pod);
                }
                if spec.kind == HpaMetricType::Resource {
                    resource_replicas(
                        current,
                        &self.pods,
                        i64::from(target.average_utilization?),
                        tol,
                    )
                } else {
                    plain_metric_replicas(current, &self.pods, target.average_value?.0, tol)
                }
            }
            HpaMetricType::External => {
                let total = milli(source.pool(name)?);
                match target.kind {
                    TargetType::AverageValue => Some(external_per_pod_replicas(
                        current,
                        total,
                        target.average_value?.0,
                        tol,
                    )),
                    _ => Some(external_value_replicas(
                        current,
                        ready,
                        total,
                        target.value?.0,
                        tol,
                    )),
                }
            }
        }
    }

    /// The legacy normalization (`normalizeDesiredReplicas`).
    fn legacy(&mut self, now: Nanos, current: u32, desired: u32) -> (u32, ScaleReason) {
        let window = Nanos::from_secs(300);
        let mut max_rec = desired;
        let mut old = None;
        for (i, &(t, rec)) in self.history.recommendations.iter().enumerate() {
            if before(t, now, window) {
                old = Some(i);
            } else if rec > max_rec {
                max_rec = rec;
            }
        }
        match old {
            Some(i) => self.history.recommendations[i] = (now, desired),
            None => self.history.recommendations.push((now, desired)),
        }
        let stabilized = max_rec;
        let limit = (2 * current).max(4);
        let (min, max) = (self.cfg.min_replicas, self.cfg.max_replicas);
        let max_allowed = max.min(limit);
        if stabilized < min {
            (min, ScaleReason::AtMin)
        } else if stabilized > max_allowed {
            let reason = if max_allowed == max {
                ScaleReason::AtMax
            } else {
                ScaleReason::RateLimited
            };
            (max_allowed, reason)
        } else if stabilized != desired {
            (stabilized, ScaleReason::Stabilization)
        } else {
            (stabilized, ScaleReason::Metric)
        }
    }

    /// Stabilization and rate limits (`normalizeDesiredReplicasWithBehaviors`).
    fn with_behavior(&mut self, now: Nanos, current: u32, desired: u32) -> (u32, ScaleReason) {
        let stabilized =
            self.history
                .stabilize(now, current, desired, self.up.window, self.down.window);
        let (out, reason) = convert_with_rate(
            now,
            current,
            stabilized,
            (self.cfg.min_replicas, self.cfg.max_replicas),
            &self.history,
            (&self.up, &self.down),
        );
        let reason = match reason {
            ScaleReason::Metric if stabilized != desired => ScaleReason::Stabilization,
            r => r,
        };
        (out, reason)
    }
}

/// `convertDesiredReplicasWithBehaviorRate`: bounds and rate policies,
/// applied only in the direction of the change.
fn convert_with_rate(
    now: Nanos,
    current: u32,
    desired: u32,
    (min, max): (u32, u32),
    h: &History,
    (up, down): (&Rules, &Rules),
) -> (u32, ScaleReason) {
    let (min, max, cur, d) = (
        i64::from(min),
        i64::from(max),
        i64::from(current),
        i64::from(desired),
    );
    let out = if d > cur {
        let limit = scale_up_limit(current, h, up, now).max(cur);
        let (allowed, why) = if max > limit {
            (limit, ScaleReason::RateLimited)
        } else {
            (max, ScaleReason::AtMax)
        };
        if d > allowed {
            return (allowed as u32, why);
        }
        d
    } else if d < cur {
        let limit = scale_down_limit(current, h, down, now).min(cur);
        let (allowed, why) = if min < limit {
            (limit, ScaleReason::RateLimited)
        } else {
            (min, ScaleReason::AtMin)
        };
        if d < allowed {
            return (allowed.max(0) as u32, why);
        }
        d
    } else {
        d
    };
    (out as u32, ScaleReason::Metric)
}

impl Autoscaler for Hpa {
    fn interval(&self) -> Nanos {
        self.cfg.sync_period.nanos()
    }

    fn bounds(&self) -> (u32, u32) {
        (self.cfg.min_replicas, self.cfg.max_replicas)
    }

    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        let current = input.current;
        if !self.started {
            // `recordInitialRecommendation`.
            self.started = true;
            self.history.recommendations.push((now, current));
        }
        let (min, max) = (self.cfg.min_replicas, self.cfg.max_replicas);
        if let Some(pinned) = super::pin_to_bounds(current, min, max) {
            return pinned;
        }
        let specs = std::mem::take(&mut self.specs);
        let (mut best, mut metric, mut invalid) = (0u32, None, 0usize);
        for spec in &specs {
            match self.propose(spec, input) {
                Some(p) if metric.is_none() || p > best => {
                    best = p;
                    metric = spec.simulated();
                }
                Some(_) => {}
                None => invalid += 1,
            }
        }
        let all = specs.len();
        self.specs = specs;
        if invalid >= all || (invalid > 0 && best < current) {
            // No usable proposal, or a scale down on partial data: hold.
            return ScaleDecision {
                desired: current,
                wanted: current,
                reason: ScaleReason::Steady,
                metric: None,
            };
        }
        let (desired, reason) = if self.cfg.behavior.is_some() {
            self.with_behavior(now, current, best)
        } else {
            self.legacy(now, current, best)
        };
        let reason = if desired == current && best == current {
            ScaleReason::Steady
        } else {
            reason
        };
        ScaleDecision {
            desired,
            wanted: best,
            reason,
            metric,
        }
    }

    fn applied(&mut self, now: Nanos, from: u32, to: u32) {
        if self.cfg.behavior.is_some() && from != to {
            let rules = if to > from {
                self.up.clone()
            } else {
                self.down.clone()
            };
            self.history.store(now, &rules, from, to);
        }
    }
}

#[cfg(test)]
mod tests;

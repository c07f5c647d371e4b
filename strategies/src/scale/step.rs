//! AWS Application Auto Scaling step scaling (the ECS policies a team
//! writes beside its CloudWatch alarms).
//!
//! What AWS documents (`StepScalingPolicyConfiguration`, `StepAdjustment`,
//! the Application Auto Scaling user guide's step scaling chapter) is
//! followed:
//!
//! - Each policy has its CloudWatch alarm: a metric, a `statistic`, a
//!   `comparisonOperator` and `threshold`, and `datapointsToAlarm` of the
//!   last `evaluationPeriods` one-`period` datapoints breaching. An alarm
//!   invokes its policy when it goes into ALARM and then once a minute
//!   while it stays there (CloudWatch's rule for Auto Scaling actions),
//!   whatever its period. The period is 10, 20 or 30 seconds or a
//!   multiple of a minute, as CloudWatch allows.
//! - The step is chosen by the metric (aggregated by
//!   `metricAggregationType`) minus the threshold: at or above the
//!   threshold a step's lower bound is inclusive and its upper bound
//!   exclusive; below it the lower bound is exclusive and the upper
//!   inclusive. A missing bound is infinite. The alarm's comparison says
//!   which side the threshold itself is on.
//! - `ChangeInCapacity` adds the adjustment, `ExactCapacity` sets it,
//!   `PercentChangeInCapacity` adds that percent of the capacity, rounded
//!   as AWS rounds (above 1 down, between 0 and 1 to 1, between -1 and 0
//!   to -1, below -1 up), at least `minAdjustmentMagnitude` in size.
//! - Cooldown (default 300 s): after a scale-out, the policy scales out
//!   again only for a larger scale-out, counting the capacity that
//!   scale-out added as already there (+2, then a +3 step during the
//!   cooldown adds 1); after a scale-in, the policy's scale-ins are
//!   blocked until its cooldown ends; a scale-out ends every scale-in
//!   cooldown.
//! - When several alarms invoke their policies at once, the one giving the
//!   largest capacity wins, so a scale-out beats a scale-in.
//!
//! What AWS does not publish is a documented model here: a period with no
//! datapoint (no ready instance reports the metric) does not breach
//! (CloudWatch's `notBreaching`), and a scale-out passed during a cooldown
//! does not restart it.

use super::target_tracking::{check_capacity, d300s, d60s, one};
use super::{Autoscaler, InstanceSample, ScaleDecision, ScaleInput, ScaleMetric, ScaleReason};
use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// `deployment.scaling` with `"policy": "step"`:
///
/// ```json
/// { "scaling": { "policy": "step", "minCapacity": 2, "maxCapacity": 20,
///     "policies": [ { "alarm": { "metric": "cpu", "comparisonOperator": "GreaterThanOrEqualToThreshold",
///                                "threshold": 70, "evaluationPeriods": 3 },
///                     "adjustmentType": "ChangeInCapacity", "cooldown": "60s",
///                     "stepAdjustments": [ { "metricIntervalLowerBound": 0, "metricIntervalUpperBound": 15, "scalingAdjustment": 1 },
///                                          { "metricIntervalLowerBound": 15, "scalingAdjustment": 3 } ] } ] } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepScalingConfig {
    /// `MinCapacity` (default 1).
    #[serde(default = "one")]
    pub min_capacity: u32,
    /// `MaxCapacity`.
    pub max_capacity: u32,
    /// The alarms' datapoint period (CloudWatch `Period`: 10, 20 or 30
    /// seconds or a multiple of 60; 60 s for the ECS service metrics).
    #[serde(default = "d60s")]
    pub period: DurationStr,
    /// One step scaling policy and its alarm per entry.
    pub policies: Vec<StepPolicy>,
}

/// One `StepScalingPolicyConfiguration` with the alarm that invokes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepPolicy {
    /// The CloudWatch alarm whose ALARM state invokes the policy.
    pub alarm: StepAlarm,
    /// `AdjustmentType`.
    pub adjustment_type: AdjustmentType,
    /// `StepAdjustments`.
    pub step_adjustments: Vec<StepAdjustment>,
    /// `Cooldown` (default 300s).
    #[serde(default = "d300s")]
    pub cooldown: DurationStr,
    /// `MinAdjustmentMagnitude`, only with `PercentChangeInCapacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<u32>,
    /// `MetricAggregationType` (default `Average`): how the instances'
    /// values make the figure the step is chosen by.
    #[serde(default)]
    pub metric_aggregation_type: Statistic,
}

/// A CloudWatch metric alarm, as far as it decides when the policy acts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepAlarm {
    /// The simulated metric the alarm watches (`cpu`, `memory`,
    /// `requestsPerMinute`, ...).
    pub metric: ScaleMetric,
    /// `Statistic` over the service's instances (default `Average`).
    #[serde(default)]
    pub statistic: Statistic,
    /// `ComparisonOperator`.
    pub comparison_operator: Comparison,
    /// `Threshold`.
    pub threshold: f64,
    /// `EvaluationPeriods` (default 1).
    #[serde(default = "one")]
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm` (default `evaluationPeriods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
}

/// How instances' values make one figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Statistic {
    /// The mean over ready instances.
    #[default]
    Average,
    /// The least.
    Minimum,
    /// The greatest.
    Maximum,
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[allow(missing_docs)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    fn upward(self) -> bool {
        matches!(
            self,
            Comparison::GreaterThanOrEqualToThreshold | Comparison::GreaterThanThreshold
        )
    }
}

/// `AdjustmentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[allow(missing_docs)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

/// One `StepAdjustment`: bounds relative to the alarm's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepAdjustment {
    /// `MetricIntervalLowerBound` (none: minus infinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    /// `MetricIntervalUpperBound` (none: infinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    /// `ScalingAdjustment`: instances, percent, or the exact capacity.
    pub scaling_adjustment: i64,
}

impl StepAdjustment {
    fn lower(&self) -> f64 {
        self.metric_interval_lower_bound
            .unwrap_or(f64::NEG_INFINITY)
    }

    fn upper(&self) -> f64 {
        self.metric_interval_upper_bound.unwrap_or(f64::INFINITY)
    }

    /// Whether `diff` (metric minus threshold) falls in it; `upward` says
    /// the threshold itself belongs to the steps above it.
    fn holds(&self, diff: f64, upward: bool) -> bool {
        if diff > 0.0 || diff == 0.0 && upward {
            self.lower() <= diff && diff < self.upper()
        } else {
            self.lower() < diff && diff <= self.upper()
        }
    }
}

impl StepScalingConfig {
    /// Checks the values, with AWS's own rules for step adjustments.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_capacity(self.min_capacity, self.max_capacity)?;
        if self.min_capacity == 0 {
            return Err(ConfigError::new(
                "minCapacity",
                "0 would let step scaling scale in to zero, where no instance reports the \
                 alarm's metric and it cannot scale out; keep at least 1",
            ));
        }
        let p = self.period.nanos();
        let minute = Nanos::from_secs(60);
        let allowed = [10, 20, 30].iter().any(|&s| p == Nanos::from_secs(s))
            || p >= minute && p.0.is_multiple_of(minute.0);
        if !allowed {
            return Err(ConfigError::new(
                "period",
                format!("{p}: CloudWatch periods are 10s, 20s, 30s or a multiple of 60s"),
            ));
        }
        if self.policies.is_empty() {
            return Err(ConfigError::new(
                "policies",
                "give at least one step scaling policy",
            ));
        }
        self.policies.iter().try_for_each(StepPolicy::validate)
    }
}

impl StepPolicy {
    /// Checks the policy and its alarm, with AWS's rules for step
    /// adjustments.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.alarm;
        let pool_wide = matches!(
            a.metric,
            ScaleMetric::ResponseTime | ScaleMetric::QueueDepth
        );
        if pool_wide
            && (a.statistic != Statistic::Average
                || self.metric_aggregation_type != Statistic::Average)
        {
            return Err(ConfigError::new(
                "policies",
                format!(
                    "{} is the region's own figure, not one per instance: its statistic and \
                     metricAggregationType can only be Average",
                    a.metric
                ),
            ));
        }
        if !a.threshold.is_finite() {
            return Err(ConfigError::new(
                "policies",
                "each alarm's threshold must be a finite number",
            ));
        }
        let datapoints = a.datapoints_to_alarm.unwrap_or(a.evaluation_periods);
        if a.evaluation_periods == 0 || datapoints == 0 || datapoints > a.evaluation_periods {
            return Err(ConfigError::new(
                "policies",
                format!(
                    "an alarm needs evaluationPeriods of at least 1 and datapointsToAlarm from 1 \
                     to evaluationPeriods; found {} of {}",
                    datapoints, a.evaluation_periods
                ),
            ));
        }
        if self.min_adjustment_magnitude.is_some()
            && self.adjustment_type != AdjustmentType::PercentChangeInCapacity
        {
            return Err(ConfigError::new(
                "policies",
                "minAdjustmentMagnitude acts only with adjustmentType PercentChangeInCapacity",
            ));
        }
        if self.adjustment_type == AdjustmentType::ExactCapacity
            && self
                .step_adjustments
                .iter()
                .any(|s| s.scaling_adjustment < 0)
        {
            return Err(ConfigError::new(
                "policies",
                "with ExactCapacity every scalingAdjustment is a capacity, at least 0",
            ));
        }
        check_steps(&self.step_adjustments)
    }

    fn datapoints(&self) -> u32 {
        self.alarm
            .datapoints_to_alarm
            .unwrap_or(self.alarm.evaluation_periods)
    }
}

/// AWS's rules: at least one step; no step without both bounds; bounds
/// finite and in order; no overlap and no gap; a negative lower bound needs
/// a step open below, a positive upper bound a step open above.
fn check_steps(steps: &[StepAdjustment]) -> Result<(), ConfigError> {
    let bad = |m: String| Err(ConfigError::new("policies", m));
    if steps.is_empty() {
        return bad("each policy needs at least one step adjustment".into());
    }
    for s in steps {
        let (lo, hi) = (s.metric_interval_lower_bound, s.metric_interval_upper_bound);
        if lo.is_none() && hi.is_none() {
            return bad("a step adjustment cannot leave both bounds out".into());
        }
        if lo.is_some_and(|v| !v.is_finite()) || hi.is_some_and(|v| !v.is_finite()) {
            return bad("step bounds must be finite numbers".into());
        }
        if s.lower() >= s.upper() {
            return bad(format!(
                "a step's lower bound ({}) must be below its upper bound ({})",
                s.lower(),
                s.upper()
            ));
        }
    }
    let mut sorted: Vec<&StepAdjustment> = steps.iter().collect();
    sorted.sort_by(|a, b| a.lower().total_cmp(&b.lower()));
    for w in sorted.windows(2) {
        if w[0].upper() != w[1].lower() {
            let what = if w[0].upper() > w[1].lower() {
                "overlap"
            } else {
                "leave a gap"
            };
            return bad(format!(
                "step adjustments must not overlap or leave a gap: [{}, {}) and [{}, {}) {what}",
                w[0].lower(),
                w[0].upper(),
                w[1].lower(),
                w[1].upper()
            ));
        }
    }
    let first = sorted[0];
    let last = sorted[sorted.len() - 1];
    if first.lower() < 0.0 && first.metric_interval_lower_bound.is_some() {
        return bad(format!(
            "a step starts at a negative bound ({}), so one step must have no lower bound",
            first.lower()
        ));
    }
    if last.upper() > 0.0 && last.metric_interval_upper_bound.is_some() {
        return bad(format!(
            "a step ends at a positive bound ({}), so one step must have no upper bound",
            last.upper()
        ));
    }
    Ok(())
}

/// A percent of `base`, rounded as AWS rounds a `PercentChangeInCapacity`.
pub fn percent_change(base: u32, percent: i64, min_magnitude: Option<u32>) -> i64 {
    let raw = f64::from(base) * percent as f64 / 100.0;
    let rounded = if raw >= 1.0 {
        raw.floor()
    } else if raw > 0.0 {
        1.0
    } else if raw > -1.0 && raw < 0.0 {
        -1.0
    } else {
        raw.ceil()
    } as i64;
    match min_magnitude {
        Some(m) if rounded != 0 && rounded.unsigned_abs() < u64::from(m) => {
            rounded.signum() * i64::from(m)
        }
        _ => rounded,
    }
}

#[derive(Debug, Clone, Default)]
struct PolicyState {
    /// The last `evaluationPeriods` datapoints: breaching or not.
    points: VecDeque<bool>,
    /// In ALARM at the last check.
    in_alarm: bool,
    /// When the alarm last invoked the policy.
    invoked: Option<Nanos>,
    /// End of the scale-out cooldown and the capacity before the scale-out
    /// that started it.
    out: Option<(Nanos, u32)>,
    /// End of the scale-in cooldown.
    in_until: Option<Nanos>,
}

/// AWS step scaling over one or more alarm-and-policy pairs.
#[derive(Debug, Clone)]
pub struct StepScaling {
    cfg: StepScalingConfig,
    policies: Vec<PolicyState>,
    /// The policy behind the last decision that changed the capacity.
    driver: Option<usize>,
    /// When the next datapoint is due.
    next_point: Option<Nanos>,
}

/// How often an alarm that stays in ALARM invokes its policy again.
const REINVOKE: Nanos = Nanos::from_secs(60);

impl StepScaling {
    /// A fresh scaler.
    pub fn new(cfg: StepScalingConfig) -> StepScaling {
        StepScaling {
            policies: vec![PolicyState::default(); cfg.policies.len()],
            cfg,
            driver: None,
            next_point: None,
        }
    }
}

/// One instance's value of `m`; pool-wide metrics have none.
fn instance_value(i: &InstanceSample, m: ScaleMetric) -> Option<f64> {
    match m {
        ScaleMetric::Cpu => i.cpu_utilization,
        ScaleMetric::Memory => i.memory_utilization,
        ScaleMetric::Connections => Some(i.connections),
        ScaleMetric::RequestsPerMinute => Some(i.requests_per_second * 60.0),
        ScaleMetric::RequestsPerSecond => Some(i.requests_per_second),
        ScaleMetric::ResponseTime | ScaleMetric::QueueDepth => None,
    }
}

/// The figure `stat` makes of `m` over the input's ready instances (the
/// pool's own figure for a pool-wide metric).
fn aggregate(input: &ScaleInput<'_>, m: ScaleMetric, stat: Statistic) -> Option<f64> {
    let pick: fn(f64, f64) -> f64 = match stat {
        Statistic::Average => return input.fleet().get(m),
        Statistic::Minimum => f64::min,
        Statistic::Maximum => f64::max,
    };
    if matches!(m, ScaleMetric::ResponseTime | ScaleMetric::QueueDepth) {
        return input.fleet().get(m);
    }
    input
        .instances
        .iter()
        .filter(|i| i.ready)
        .filter_map(|i| instance_value(i, m))
        .reduce(pick)
}

/// What one invoked policy asks for (held: what it would have had).
enum Ask {
    Out(u32),
    In(u32),
    HeldOut(u32),
    HeldIn(u32),
}

impl StepScaling {
    /// Records the period's datapoint (when `point`) and, when the alarm
    /// invokes the policy, what the policy asks for.
    fn evaluate(
        &mut self,
        i: usize,
        now: Nanos,
        input: &ScaleInput<'_>,
        point: bool,
    ) -> Option<Ask> {
        let p = &self.cfg.policies[i];
        let st = &mut self.policies[i];
        let a = &p.alarm;
        if point {
            let breaching = aggregate(input, a.metric, a.statistic)
                .is_some_and(|v| a.comparison_operator.breaches(v, a.threshold));
            st.points.push_back(breaching);
            while st.points.len() > a.evaluation_periods as usize {
                st.points.pop_front();
            }
        }
        let alarm = st.points.iter().filter(|b| **b).count() >= p.datapoints() as usize;
        let entered = alarm && !st.in_alarm;
        st.in_alarm = alarm;
        let again = st.invoked.is_none_or(|t| now >= t.saturating_add(REINVOKE));
        if !alarm || !(entered || again) {
            return None;
        }
        st.invoked = Some(now);
        let value = aggregate(input, a.metric, p.metric_aggregation_type)?;
        let upward = a.comparison_operator.upward();
        let step = p
            .step_adjustments
            .iter()
            .find(|s| s.holds(value - a.threshold, upward))?;
        let current = input.current;
        let cooling_out = st.out.filter(|&(until, _)| now < until);
        let target = |base: u32| -> u32 {
            let change = match p.adjustment_type {
                AdjustmentType::ExactCapacity => return clamp_u32(step.scaling_adjustment),
                AdjustmentType::ChangeInCapacity => step.scaling_adjustment,
                AdjustmentType::PercentChangeInCapacity => {
                    percent_change(base, step.scaling_adjustment, p.min_adjustment_magnitude)
                }
            };
            clamp_u32(i64::from(base).saturating_add(change))
        };
        let plain = target(current);
        let outward = match p.adjustment_type {
            AdjustmentType::ExactCapacity => plain > current,
            _ => step.scaling_adjustment > 0,
        };
        if outward {
            // A scale-out: during the cooldown, from the capacity before
            // the scale-out that started it, and only if larger.
            let desired = match cooling_out {
                Some((_, base)) => target(base),
                None => plain,
            };
            return Some(if desired > current {
                Ask::Out(desired)
            } else {
                Ask::HeldOut(desired.max(plain))
            });
        }
        if plain < current {
            let blocked = st.in_until.is_some_and(|until| now < until);
            return Some(if blocked {
                Ask::HeldIn(plain)
            } else {
                Ask::In(plain)
            });
        }
        None
    }
}

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

impl Autoscaler for StepScaling {
    /// Every period, or every minute for periods longer than that (an
    /// alarm in ALARM invokes its policy once a minute).
    fn interval(&self) -> Nanos {
        self.cfg.period.nanos().min(REINVOKE)
    }

    fn bounds(&self) -> (u32, u32) {
        (self.cfg.min_capacity, self.cfg.max_capacity)
    }

    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        let current = input.current;
        let (min, max) = (self.cfg.min_capacity, self.cfg.max_capacity);
        self.driver = None;
        let point = self.next_point.is_none_or(|t| now >= t);
        if point {
            self.next_point = Some(now.saturating_add(self.cfg.period.nanos()));
        }
        if let Some(pinned) = super::pin_to_bounds(current, min, max) {
            return pinned;
        }
        let (mut out, mut inn) = (None::<(u32, usize)>, None::<(u32, usize)>);
        let (mut held_out, mut held_in) = (None::<u32>, None::<u32>);
        for i in 0..self.cfg.policies.len() {
            match self.evaluate(i, now, input, point) {
                Some(Ask::Out(d)) if out.is_none_or(|(o, _)| d > o) => out = Some((d, i)),
                Some(Ask::In(d)) if inn.is_none_or(|(o, _)| d > o) => inn = Some((d, i)),
                Some(Ask::HeldOut(d)) => held_out = Some(held_out.map_or(d, |h| h.max(d))),
                Some(Ask::HeldIn(d)) => held_in = Some(held_in.map_or(d, |h| h.max(d))),
                _ => {}
            }
        }
        let metric_of = |i: usize| Some(self.cfg.policies[i].alarm.metric);
        let hold = |reason, wanted, metric| ScaleDecision {
            desired: current,
            wanted,
            reason,
            metric,
        };
        if let Some((want, i)) = out {
            if current >= max {
                return hold(ScaleReason::AtMax, want, metric_of(i));
            }
            self.driver = Some(i);
            let reason = if want > max {
                ScaleReason::AtMax
            } else {
                ScaleReason::Metric
            };
            return ScaleDecision {
                desired: want.min(max),
                wanted: want,
                reason,
                metric: metric_of(i),
            };
        }
        if let Some(wanted) = held_out {
            return hold(ScaleReason::Cooldown, wanted, None);
        }
        if let Some((want, i)) = inn {
            if current <= min {
                return hold(ScaleReason::AtMin, want, metric_of(i));
            }
            self.driver = Some(i);
            return ScaleDecision {
                desired: want.max(min),
                wanted: want,
                reason: ScaleReason::Metric,
                metric: metric_of(i),
            };
        }
        if let Some(wanted) = held_in {
            return hold(ScaleReason::Cooldown, wanted, None);
        }
        hold(ScaleReason::Steady, current, None)
    }

    fn applied(&mut self, now: Nanos, from: u32, to: u32) {
        let Some(i) = self.driver.take() else {
            return;
        };
        let cooldown = self.cfg.policies[i].cooldown.nanos();
        if to > from {
            let st = &mut self.policies[i];
            if st.out.is_none_or(|(until, _)| now >= until) {
                st.out = Some((now + cooldown, from));
            }
            // A scale-out ends every scale-in cooldown.
            for st in &mut self.policies {
                st.in_until = None;
            }
        } else if to < from {
            self.policies[i].in_until = Some(now + cooldown);
        }
    }
}

#[cfg(test)]
mod tests;

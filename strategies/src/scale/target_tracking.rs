//! AWS Application Auto Scaling target tracking (the Azcore doc's ECS
//! policies).
//!
//! What AWS documents is followed: scale out proportionally and fast, scale
//! in gradually; scale out when any policy asks, in only when all do; the
//! scale-out cooldown lets only a larger scale-out through, the scale-in
//! cooldown blocks scale-in and a scale-out ends it; `disableScaleIn`. What
//! AWS does not publish is a documented model here, each part a setting:
//! the managed CloudWatch alarms (high: `scaleOutDatapoints` of 3 one-minute
//! datapoints above the target; low: `scaleInDatapoints` of 15 below
//! `scaleInThreshold` (0.9) times the target) and the capacity formula
//! `ceil(current * metric / target)`, rounding up as AWS says it does so as
//! not to remove too much.

use super::{Autoscaler, ScaleDecision, ScaleInput, ScaleMetric, ScaleReason};
use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// `deployment.scaling` with `"policy": "target-tracking"`:
///
/// ```json
/// { "scaling": { "policy": "target-tracking", "minCapacity": 4, "maxCapacity": 50,
///     "targets": [ { "predefinedMetricType": "ECSServiceAverageCPUUtilization",
///                    "targetValue": 70, "scaleInCooldown": "300s", "scaleOutCooldown": "60s" } ] } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetTrackingConfig {
    /// `MinCapacity` (default 1).
    #[serde(default = "one")]
    pub min_capacity: u32,
    /// `MaxCapacity`.
    pub max_capacity: u32,
    /// One target-tracking policy per entry.
    pub targets: Vec<TrackedTarget>,
    /// The alarms' datapoint period (CloudWatch, 1 minute).
    #[serde(default = "d60s")]
    pub evaluation_period: DurationStr,
    /// Datapoints above the target that fire the scale-out alarm (3).
    #[serde(default = "three")]
    pub scale_out_datapoints: u32,
    /// Datapoints below `scaleInThreshold` times the target that fire the
    /// scale-in alarm (15).
    #[serde(default = "fifteen")]
    pub scale_in_datapoints: u32,
    /// The fraction of the target the scale-in alarm watches for (0.9: AWS
    /// scales in when the metric is "usually more than 10% lower").
    #[serde(default = "nine_tenths")]
    pub scale_in_threshold: f64,
}

/// One policy's `TargetTrackingScalingPolicyConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrackedTarget {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization`
    /// or `ALBRequestCountPerTarget`.
    pub predefined_metric_type: PredefinedMetric,
    /// `TargetValue`: percent, or requests per target per minute.
    pub target_value: f64,
    /// `ScaleInCooldown` (ECS default 300s).
    #[serde(default = "d300s")]
    pub scale_in_cooldown: DurationStr,
    /// `ScaleOutCooldown` (ECS default 300s).
    #[serde(default = "d300s")]
    pub scale_out_cooldown: DurationStr,
    /// `DisableScaleIn` (default false).
    #[serde(default)]
    pub disable_scale_in: bool,
}

/// The predefined metrics fleetsim measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PredefinedMetric {
    /// Mean CPU utilization of the service's tasks, percent.
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    EcsServiceAverageCpuUtilization,
    /// Mean memory utilization, percent.
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    EcsServiceAverageMemoryUtilization,
    /// Requests per target per minute.
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

impl TrackedTarget {
    /// The simulated metric.
    pub fn metric(&self) -> ScaleMetric {
        match self.predefined_metric_type {
            PredefinedMetric::EcsServiceAverageCpuUtilization => ScaleMetric::Cpu,
            PredefinedMetric::EcsServiceAverageMemoryUtilization => ScaleMetric::Memory,
            PredefinedMetric::AlbRequestCountPerTarget => ScaleMetric::RequestsPerMinute,
        }
    }
}

/// `1`, a serde default (shared with step scaling).
pub(super) fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn fifteen() -> u32 {
    15
}
fn nine_tenths() -> f64 {
    0.9
}
/// CloudWatch's one-minute period, a serde default.
pub(super) fn d60s() -> DurationStr {
    DurationStr(Nanos::from_secs(60))
}
/// The ECS default cooldown, a serde default.
pub(super) fn d300s() -> DurationStr {
    DurationStr(Nanos::from_secs(300))
}

/// AWS's `MaxCapacity` against `MinCapacity`, as target tracking and step
/// scaling both check it.
pub(super) fn check_capacity(min: u32, max: u32) -> Result<(), ConfigError> {
    if max == 0 || max < min {
        return Err(ConfigError::new(
            "maxCapacity",
            format!("must be at least minCapacity ({min}) and at least 1"),
        ));
    }
    Ok(())
}

impl TargetTrackingConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_capacity(self.min_capacity, self.max_capacity)?;
        if self.targets.is_empty() {
            return Err(ConfigError::new(
                "targets",
                "give at least one target-tracking policy",
            ));
        }
        for t in &self.targets {
            if !(t.target_value.is_finite() && t.target_value > 0.0) {
                return Err(ConfigError::new(
                    "targets",
                    "each targetValue must be above 0",
                ));
            }
        }
        if self.min_capacity == 0 {
            return Err(ConfigError::new(
                "minCapacity",
                "0 would let target tracking scale in to zero, from where it cannot scale out \
                 (no instance reports the metric); keep at least 1",
            ));
        }
        if self.evaluation_period.nanos() < Nanos::from_millis(1) {
            return Err(ConfigError::new("evaluationPeriod", "must be at least 1ms"));
        }
        for (key, n) in [
            ("scaleOutDatapoints", self.scale_out_datapoints),
            ("scaleInDatapoints", self.scale_in_datapoints),
        ] {
            if n == 0 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        if !(self.scale_in_threshold > 0.0 && self.scale_in_threshold <= 1.0) {
            return Err(ConfigError::new(
                "scaleInThreshold",
                "must be above 0 and at most 1",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
struct PolicyState {
    /// Recent datapoints: above the target, below the scale-in threshold.
    points: VecDeque<(bool, bool)>,
    /// End of the scale-out cooldown and the capacity it set.
    out_until: Option<(Nanos, u32)>,
    in_until: Option<Nanos>,
}

/// AWS target tracking over one or more policies.
#[derive(Debug, Clone)]
pub struct TargetTracking {
    cfg: TargetTrackingConfig,
    policies: Vec<PolicyState>,
}

impl TargetTracking {
    /// A fresh scaler.
    pub fn new(cfg: TargetTrackingConfig) -> TargetTracking {
        TargetTracking {
            policies: vec![PolicyState::default(); cfg.targets.len()],
            cfg,
        }
    }
}

impl Autoscaler for TargetTracking {
    fn interval(&self) -> Nanos {
        self.cfg.evaluation_period.nanos()
    }

    fn bounds(&self) -> (u32, u32) {
        (self.cfg.min_capacity, self.cfg.max_capacity)
    }

    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        let current = input.current;
        let (min, max) = (self.cfg.min_capacity, self.cfg.max_capacity);
        if let Some(pinned) = super::pin_to_bounds(current, min, max) {
            return pinned;
        }
        let m = input.fleet();
        let keep = self
            .cfg
            .scale_out_datapoints
            .max(self.cfg.scale_in_datapoints) as usize;
        let (mut out, mut out_metric, mut blocked_out) = (None::<u32>, None, false);
        let (mut all_in, mut in_desired, mut blocked_in) = (true, 0u32, false);
        for (t, st) in self.cfg.targets.iter().zip(&mut self.policies) {
            let value = m.get(t.metric());
            let (high, low) = match value {
                Some(v) => (
                    v > t.target_value,
                    v < t.target_value * self.cfg.scale_in_threshold,
                ),
                // No data: INSUFFICIENT_DATA, neither alarm.
                None => (false, false),
            };
            st.points.push_back((high, low));
            while st.points.len() > keep {
                st.points.pop_front();
            }
            let fired = |n: u32, pick: fn(&(bool, bool)) -> bool| {
                st.points.len() >= n as usize && st.points.iter().rev().take(n as usize).all(pick)
            };
            let proportional = |v: f64| ((f64::from(current) * v / t.target_value).ceil()) as u32;
            if fired(self.cfg.scale_out_datapoints, |p| p.0) {
                let want = proportional(value.unwrap_or(0.0)).max(current + 1);
                // During the scale-out cooldown only a larger scale-out passes.
                let larger = st
                    .out_until
                    .is_none_or(|(until, set)| now >= until || want > set);
                if larger {
                    if out.is_none_or(|o| want > o) {
                        out = Some(want);
                        out_metric = Some(t.metric());
                    }
                } else {
                    blocked_out = true;
                }
            }
            let wants_in = !t.disable_scale_in && fired(self.cfg.scale_in_datapoints, |p| p.1);
            if wants_in {
                let want = proportional(value.unwrap_or(0.0)).min(current.saturating_sub(1));
                if st.in_until.is_some_and(|until| now < until) {
                    blocked_in = true;
                }
                in_desired = in_desired.max(want);
            } else {
                all_in = false;
            }
        }
        let hold = |reason, wanted, metric| ScaleDecision {
            desired: current,
            wanted,
            reason,
            metric,
        };
        if let Some(want) = out {
            if current >= max {
                return hold(ScaleReason::AtMax, want, out_metric);
            }
            return ScaleDecision {
                desired: want.min(max),
                wanted: want,
                reason: if want > max {
                    ScaleReason::AtMax
                } else {
                    ScaleReason::Metric
                },
                metric: out_metric,
            };
        }
        if blocked_out {
            return hold(ScaleReason::Cooldown, current, None);
        }
        if all_in && !self.cfg.targets.is_empty() {
            let metric = Some(self.cfg.targets[0].metric());
            if blocked_in {
                return hold(ScaleReason::Cooldown, in_desired, metric);
            }
            if current <= min {
                return hold(ScaleReason::AtMin, in_desired, metric);
            }
            let desired = in_desired.max(min);
            return ScaleDecision {
                desired,
                wanted: in_desired,
                reason: ScaleReason::Metric,
                metric,
            };
        }
        hold(ScaleReason::Steady, current, None)
    }

    fn applied(&mut self, now: Nanos, from: u32, to: u32) {
        for (t, st) in self.cfg.targets.iter().zip(&mut self.policies) {
            if to > from {
                st.out_until = Some((now + t.scale_out_cooldown.nanos(), to));
                // A scale-out ends any scale-in cooldown.
                st.in_until = None;
            } else {
                st.in_until = Some(now + t.scale_in_cooldown.nanos());
            }
            // The alarms restart their evaluation after an action.
            st.points.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::InstanceSample;

    fn m(x: u64) -> Nanos {
        Nanos::from_secs(60 * x)
    }

    fn tt(json: &str) -> TargetTracking {
        let c: TargetTrackingConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        TargetTracking::new(c)
    }

    fn at(cpu: f64, n: u32) -> Vec<InstanceSample> {
        vec![
            InstanceSample {
                ready: true,
                cpu_utilization: Some(cpu),
                ..Default::default()
            };
            n as usize
        ]
    }

    const CPU: &str = r#"{"minCapacity": 4, "maxCapacity": 50, "targets": [
        {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 70,
         "scaleInCooldown": "300s", "scaleOutCooldown": "60s"}]}"#;

    /// Scale out after three minutes above the target, proportionally:
    /// 10 tasks at 105% of a 70% target want ceil(10 * 105 / 70) = 15.
    #[test]
    fn scales_out_proportionally_after_three_datapoints() {
        let mut s = tt(CPU);
        for k in 0..2 {
            assert_eq!(
                s.decide(m(k), &ScaleInput::new(10, &at(105.0, 10))).desired,
                10
            );
        }
        let d = s.decide(m(2), &ScaleInput::new(10, &at(105.0, 10)));
        assert_eq!((d.desired, d.reason), (15, ScaleReason::Metric));
    }

    /// Scale in only after fifteen minutes below 90% of the target, and
    /// not during the scale-in cooldown; a scale-out cuts that cooldown.
    #[test]
    fn scales_in_slowly_and_a_scale_out_ends_the_in_cooldown() {
        let mut s = tt(CPU);
        let mut n = 20;
        for k in 0..14 {
            assert_eq!(
                s.decide(m(k), &ScaleInput::new(n, &at(35.0, n))).desired,
                n,
                "minute {k}"
            );
        }
        // 20 tasks at 35% of 70%: ceil(20 * 0.5) = 10.
        let d = s.decide(m(14), &ScaleInput::new(n, &at(35.0, n)));
        assert_eq!(d.desired, 10);
        s.applied(m(14), n, 10);
        n = 10;
        // Fifteen more quiet minutes, but the scale-in cooldown (5m) ended
        // long before: another step down, to ceil(10 * 0.5) = 5.
        for k in 15..29 {
            s.decide(m(k), &ScaleInput::new(n, &at(35.0, n)));
        }
        assert_eq!(
            s.decide(m(29), &ScaleInput::new(n, &at(35.0, n))).desired,
            5
        );
        s.applied(m(29), 10, 5);
        // A burst: scale out three minutes later ends the scale-in cooldown.
        for k in 30..32 {
            s.decide(m(k), &ScaleInput::new(5, &at(140.0, 5)));
        }
        assert_eq!(
            s.decide(m(32), &ScaleInput::new(5, &at(140.0, 5))).desired,
            10
        );
    }

    /// Two policies (the Azcore doc's CPU and request-count): out when any
    /// asks, in only when all ask.
    #[test]
    fn out_when_any_policy_asks_in_only_when_all_do() {
        let mut s = tt(
            r#"{"minCapacity": 1, "maxCapacity": 50, "scaleOutDatapoints": 1, "scaleInDatapoints": 1, "targets": [
              {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 70, "scaleInCooldown": "0s", "scaleOutCooldown": "0s"},
              {"predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 1000, "scaleInCooldown": "0s", "scaleOutCooldown": "0s"}]}"#,
        );
        let sample = |cpu: f64, rpm: f64| InstanceSample {
            ready: true,
            cpu_utilization: Some(cpu),
            requests_per_second: rpm / 60.0,
            ..Default::default()
        };
        // CPU low, requests high: out (requests ask): ceil(4 * 1.8) = 8.
        let i = [sample(10.0, 1800.0); 4];
        assert_eq!(s.decide(m(0), &ScaleInput::new(4, &i)).desired, 8);
        // CPU low, requests near the target: no scale in (not all ask).
        let i = [sample(10.0, 960.0); 4];
        assert_eq!(s.decide(m(1), &ScaleInput::new(4, &i)).desired, 4);
        // Both low: in, to the larger of the two proposals (requests:
        // ceil(4 * 0.48) = 2; CPU: ceil(4 * 10 / 70) = 1).
        let i = [sample(10.0, 480.0); 4];
        assert_eq!(s.decide(m(2), &ScaleInput::new(4, &i)).desired, 2);
    }

    #[test]
    fn the_scale_out_cooldown_lets_only_a_larger_scale_out_through() {
        let mut s = tt(
            r#"{"maxCapacity": 100, "scaleOutDatapoints": 1, "targets": [
              {"predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 50, "scaleOutCooldown": "300s"}]}"#,
        );
        assert_eq!(
            s.decide(m(0), &ScaleInput::new(10, &at(60.0, 10))).desired,
            12
        );
        s.applied(m(0), 10, 12);
        // Still hot at 60%: 12 * 1.2 = 15 > 12: larger, allowed.
        assert_eq!(
            s.decide(m(1), &ScaleInput::new(12, &at(60.0, 12))).desired,
            15
        );
        s.applied(m(1), 12, 15);
        // Barely over at 51%: wants 16 > 15, allowed; at 50.1% with 15 it
        // wants max(ceil(15.03), 16) = 16: allowed too; a smaller one is not.
        let d = s.decide(m(2), &ScaleInput::new(15, &at(50.1, 15)));
        assert_eq!(d.desired, 16);
    }
}

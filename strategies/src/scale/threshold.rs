//! The threshold controllers of the AgenticGoKit and General Bots docs (and
//! the SwiftClaw `scaling` block): check every `interval`, one instance up
//! or down, cooldowns on one shared "last action" clock.

use super::{Autoscaler, FleetMetrics, ScaleDecision, ScaleInput, ScaleMetric, ScaleReason};
use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// `deployment.scaling` with `"policy": "threshold"` (the default):
///
/// ```json
/// { "scaling": { "minInstances": 2, "maxInstances": 10, "targetCPU": 70, "targetConnections": 80 } }
/// ```
///
/// The seed docs' own names are read too: AgenticGoKit's TOML
/// (`targetCpuUtilization`, `targetMemoryUtilization`) and General Bots'
/// `config.csv` in camelCase (`scaleMinInstances`, `scaleMaxInstances`,
/// `scaleCpuThreshold`, `scaleMemoryThreshold`, `scaleRequestThreshold`,
/// `scaleCooldownSeconds`, `scaleCheckInterval`), with durations as strings
/// with units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdConfig {
    /// Time between checks (AgenticGoKit's ticker and General Bots'
    /// `scale-check-interval`: 30s).
    #[serde(default = "d30s", alias = "scaleCheckInterval")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["scaleCheckInterval"])))]
    pub interval: DurationStr,
    /// Fewest instances (default 1).
    #[serde(default = "one", alias = "scaleMinInstances")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["scaleMinInstances"])))]
    pub min_instances: u32,
    /// Most instances (default 10, General Bots' `scale-max-instances`).
    #[serde(default = "ten", alias = "scaleMaxInstances")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["scaleMaxInstances"])))]
    pub max_instances: u32,
    /// CPU utilization target in percent of the instance's cores.
    #[serde(
        default,
        rename = "targetCPU",
        alias = "targetCpuUtilization",
        alias = "scaleCpuThreshold",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["targetCpuUtilization", "scaleCpuThreshold"])))]
    pub target_cpu: Option<f64>,
    /// Memory utilization target in percent of the instance's memory.
    #[serde(
        default,
        alias = "targetMemoryUtilization",
        alias = "scaleMemoryThreshold",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["targetMemoryUtilization", "scaleMemoryThreshold"])))]
    pub target_memory: Option<f64>,
    /// Requests held per instance (running plus queued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_connections: Option<f64>,
    /// Arrivals per minute per instance (General Bots'
    /// `scale-request-threshold`).
    #[serde(
        default,
        alias = "scaleRequestThreshold",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["scaleRequestThreshold"])))]
    pub target_requests_per_minute: Option<f64>,
    /// Mean response time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_response_time: Option<DurationStr>,
    /// Requests waiting in queues, in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_queue_depth: Option<f64>,
    /// Scale down when every target's metric is below this fraction of its
    /// target (AgenticGoKit: 0.5); 0 turns the built-in rule off (use
    /// `rules` instead, as General Bots does).
    #[serde(default = "half")]
    pub low_watermark: f64,
    /// Time since the last action before scaling up (AgenticGoKit: 2m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_cooldown: Option<DurationStr>,
    /// Time since the last action before scaling down (AgenticGoKit: 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_cooldown: Option<DurationStr>,
    /// One cooldown for both directions (General Bots'
    /// `scale-cooldown-seconds`: 300s).
    #[serde(
        default,
        alias = "scaleCooldownSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["scaleCooldownSeconds"])))]
    pub cooldown: Option<DurationStr>,
    /// Extra rules (General Bots' `scale-rule-*`): a metric above or below
    /// a value asks for an action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ThresholdRule>,
}

/// One General Bots scaling rule:
///
/// ```json
/// { "metric": "responseTime", "above": 2000, "action": "up" }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdRule {
    /// What is watched.
    pub metric: ScaleMetric,
    /// Fires when the metric is above this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Fires when the metric is below this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// What it asks for.
    pub action: RuleAction,
}

/// A rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// One instance more.
    Up,
    /// One instance fewer.
    Down,
}

fn d30s() -> DurationStr {
    DurationStr(Nanos::from_secs(30))
}
fn one() -> u32 {
    1
}
fn ten() -> u32 {
    10
}
fn half() -> f64 {
    0.5
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            interval: d30s(),
            min_instances: 1,
            max_instances: 10,
            target_cpu: None,
            target_memory: None,
            target_connections: None,
            target_requests_per_minute: None,
            target_response_time: None,
            target_queue_depth: None,
            low_watermark: 0.5,
            scale_up_cooldown: None,
            scale_down_cooldown: None,
            cooldown: None,
            rules: Vec::new(),
        }
    }
}

impl ThresholdConfig {
    /// The targets set, as (metric, target value in the metric's unit).
    pub fn targets(&self) -> Vec<(ScaleMetric, f64)> {
        let mut t = Vec::new();
        let mut add = |m, v: Option<f64>| {
            if let Some(v) = v {
                t.push((m, v));
            }
        };
        add(ScaleMetric::Cpu, self.target_cpu);
        add(ScaleMetric::Memory, self.target_memory);
        add(ScaleMetric::Connections, self.target_connections);
        add(
            ScaleMetric::RequestsPerMinute,
            self.target_requests_per_minute,
        );
        add(
            ScaleMetric::ResponseTime,
            self.target_response_time
                .map(|d| d.nanos().as_secs_f64() * 1e3),
        );
        add(ScaleMetric::QueueDepth, self.target_queue_depth);
        t
    }

    /// The metrics this controller reads.
    pub fn metrics(&self) -> Vec<ScaleMetric> {
        let mut m: Vec<ScaleMetric> = self.targets().into_iter().map(|(m, _)| m).collect();
        m.extend(self.rules.iter().map(|r| r.metric));
        m
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.nanos() < Nanos::from_millis(1) {
            return Err(ConfigError::new("interval", "must be at least 1ms"));
        }
        let queue_up = self.target_queue_depth.is_some()
            || self.rules.iter().any(|r| {
                r.metric == ScaleMetric::QueueDepth
                    && r.action == RuleAction::Up
                    && r.above.is_some()
            });
        if self.min_instances == 0 && !queue_up {
            return Err(ConfigError::new(
                "minInstances",
                "0 lets the fleet scale to zero, and then only the requests waiting at the entry \
                 can bring it back: add `targetQueueDepth` or a `queueDepth` rule that scales up, \
                 or keep at least 1 instance",
            ));
        }
        if self.max_instances < self.min_instances || self.max_instances == 0 {
            return Err(ConfigError::new(
                "maxInstances",
                format!(
                    "must be at least minInstances ({}) and at least 1",
                    self.min_instances
                ),
            ));
        }
        if self.targets().is_empty() && self.rules.is_empty() {
            return Err(ConfigError::new(
                "targetCPU",
                "give at least one target (targetCPU, targetMemory, targetConnections, \
                 targetRequestsPerMinute, targetResponseTime, targetQueueDepth) or a rule",
            ));
        }
        for (m, v) in self.targets() {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError::new(m.target_key(), "must be above 0"));
            }
        }
        if !(0.0..1.0).contains(&self.low_watermark) {
            return Err(ConfigError::new(
                "lowWatermark",
                "must be from 0 (off) to below 1",
            ));
        }
        if self.cooldown.is_some()
            && (self.scale_up_cooldown.is_some() || self.scale_down_cooldown.is_some())
        {
            return Err(ConfigError::new(
                "cooldown",
                "give either one shared `cooldown` or `scaleUpCooldown` and `scaleDownCooldown`",
            ));
        }
        for r in &self.rules {
            if r.above.is_some() == r.below.is_some() {
                return Err(ConfigError::new(
                    "rules",
                    "each rule takes exactly one of `above` or `below`",
                ));
            }
        }
        Ok(())
    }

    fn up_cooldown(&self) -> Nanos {
        self.cooldown
            .or(self.scale_up_cooldown)
            .map_or(Nanos::from_secs(120), |d| d.nanos())
    }

    fn down_cooldown(&self) -> Nanos {
        self.cooldown
            .or(self.scale_down_cooldown)
            .map_or(Nanos::from_secs(300), |d| d.nanos())
    }
}

/// The threshold controller.
///
/// At each check: scale up by one when any target is exceeded (or an `up`
/// rule fires), fewer than `maxInstances` run and more than the up-cooldown
/// has passed since the last action; else scale down by one when every
/// target's metric is under `lowWatermark` times its target (or a `down`
/// rule fires), more than `minInstances` run and more than the
/// down-cooldown has passed. One clock of the last action serves both
/// directions, as in AgenticGoKit's `AutoScaler` and General Bots'
/// `autoscale.sh`; comparisons are strict, as theirs (`>` target,
/// `time.Since(last) > cooldown`).
#[derive(Debug, Clone)]
pub struct ThresholdScaler {
    cfg: ThresholdConfig,
    targets: Vec<(ScaleMetric, f64)>,
    last_action: Option<Nanos>,
}

impl ThresholdScaler {
    /// A controller that has never acted.
    pub fn new(cfg: ThresholdConfig) -> ThresholdScaler {
        ThresholdScaler {
            targets: cfg.targets(),
            cfg,
            last_action: None,
        }
    }

    fn since_last(&self, now: Nanos) -> Option<Nanos> {
        self.last_action.map(|t| now - t)
    }

    fn up_trigger(&self, m: &FleetMetrics) -> Option<ScaleMetric> {
        let over = self
            .targets
            .iter()
            .find(|(metric, target)| m.get(*metric).is_some_and(|v| v > *target));
        over.map(|(metric, _)| *metric).or_else(|| {
            self.cfg
                .rules
                .iter()
                .filter(|r| r.action == RuleAction::Up)
                .find(|r| fires(r, m))
                .map(|r| r.metric)
        })
    }

    fn down_trigger(&self, m: &FleetMetrics) -> Option<ScaleMetric> {
        let lw = self.cfg.low_watermark;
        if lw > 0.0
            && !self.targets.is_empty()
            && self
                .targets
                .iter()
                .all(|(metric, target)| m.get(*metric).is_some_and(|v| v < lw * target))
        {
            return Some(self.targets[0].0);
        }
        self.cfg
            .rules
            .iter()
            .filter(|r| r.action == RuleAction::Down)
            .find(|r| fires(r, m))
            .map(|r| r.metric)
    }
}

fn fires(r: &ThresholdRule, m: &FleetMetrics) -> bool {
    match (m.get(r.metric), r.above, r.below) {
        (Some(v), Some(a), _) => v > a,
        (Some(v), _, Some(b)) => v < b,
        _ => false,
    }
}

impl Autoscaler for ThresholdScaler {
    fn interval(&self) -> Nanos {
        self.cfg.interval.nanos()
    }

    fn bounds(&self) -> (u32, u32) {
        (self.cfg.min_instances, self.cfg.max_instances)
    }

    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        let current = input.current;
        let (min, max) = (self.cfg.min_instances, self.cfg.max_instances);
        if let Some(pinned) = super::pin_to_bounds(current, min, max) {
            return pinned;
        }
        let m = input.fleet();
        let hold = |reason, metric| ScaleDecision {
            desired: current,
            wanted: current,
            reason,
            metric,
        };
        let ready = |cooldown: Nanos| self.since_last(now).is_none_or(|s| s > cooldown);
        if let Some(metric) = self.up_trigger(&m) {
            if current >= self.cfg.max_instances {
                return hold(ScaleReason::AtMax, Some(metric));
            }
            if !ready(self.cfg.up_cooldown()) {
                return ScaleDecision {
                    wanted: current + 1,
                    ..hold(ScaleReason::Cooldown, Some(metric))
                };
            }
            return ScaleDecision {
                desired: current + 1,
                wanted: current + 1,
                reason: ScaleReason::Metric,
                metric: Some(metric),
            };
        }
        if let Some(metric) = self.down_trigger(&m) {
            if current <= self.cfg.min_instances {
                return hold(ScaleReason::AtMin, Some(metric));
            }
            if !ready(self.cfg.down_cooldown()) {
                return ScaleDecision {
                    wanted: current - 1,
                    ..hold(ScaleReason::Cooldown, Some(metric))
                };
            }
            return ScaleDecision {
                desired: current - 1,
                wanted: current - 1,
                reason: ScaleReason::Metric,
                metric: Some(metric),
            };
        }
        hold(ScaleReason::Steady, None)
    }

    fn applied(&mut self, now: Nanos, _from: u32, _to: u32) {
        self.last_action = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::InstanceSample;

    fn s(x: u64) -> Nanos {
        Nanos::from_secs(x)
    }

    fn scaler(json: &str) -> ThresholdScaler {
        let c: ThresholdConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        ThresholdScaler::new(c)
    }

    fn at(cpu: f64, mem: f64, n: usize) -> Vec<InstanceSample> {
        vec![
            InstanceSample {
                ready: true,
                cpu_utilization: Some(cpu),
                memory_utilization: Some(mem),
                ..InstanceSample::default()
            };
            n
        ]
    }

    /// Applies the decision as a runtime would.
    fn step(
        c: &mut ThresholdScaler,
        t: u64,
        cpu: f64,
        mem: f64,
        current: &mut u32,
    ) -> ScaleDecision {
        let samples = at(cpu, mem, *current as usize);
        let d = c.decide(s(t), &ScaleInput::new(*current, &samples));
        if d.desired != *current {
            c.applied(s(t), *current, d.desired);
            *current = d.desired;
        }
        d
    }

    /// AgenticGoKit's `AutoScaler` (targets 70% CPU, 80% memory, cooldowns
    /// 2m up and 5m down on one clock, ticker 30s), as a timeline.
    #[test]
    fn agentic_gokit_timeline() {
        let mut c = scaler(
            r#"{"minInstances": 2, "maxInstances": 4, "targetCPU": 70, "targetMemory": 80,
                "scaleUpCooldown": "2m", "scaleDownCooldown": "5m"}"#,
        );
        let mut n = 2;
        // Hot at 0s: up at once (never acted).
        assert_eq!(
            step(&mut c, 0, 90.0, 50.0, &mut n).reason,
            ScaleReason::Metric
        );
        assert_eq!(n, 3);
        // Still hot at 30s..120s: the up-cooldown (2m, strict) holds.
        for t in [30, 60, 90, 120] {
            assert_eq!(
                step(&mut c, t, 90.0, 50.0, &mut n).reason,
                ScaleReason::Cooldown,
                "{t}s"
            );
        }
        assert_eq!(n, 3);
        assert_eq!(step(&mut c, 150, 90.0, 50.0, &mut n).desired, 4);
        // At the maximum.
        assert_eq!(
            step(&mut c, 300, 95.0, 50.0, &mut n).reason,
            ScaleReason::AtMax
        );
        // Memory alone over its target also scales up (OR).
        // Cold: both under half their targets (35%, 40%) -> down, after 5m
        // since the last action (150s): first at 480s.
        assert_eq!(
            step(&mut c, 420, 20.0, 30.0, &mut n).reason,
            ScaleReason::Cooldown
        );
        assert_eq!(
            step(&mut c, 450, 20.0, 30.0, &mut n).reason,
            ScaleReason::Cooldown,
            "exactly 5m: strict"
        );
        assert_eq!(step(&mut c, 480, 20.0, 30.0, &mut n).desired, 3);
        // CPU cold but memory at 45% (over 40%): no scale down.
        assert_eq!(
            step(&mut c, 900, 10.0, 45.0, &mut n).reason,
            ScaleReason::Steady
        );
    }

    /// General Bots: one shared 300s cooldown, CPU over 70% up, the
    /// `scale-rule-cpu-low` rule (below 30%) down, and the response-time and
    /// queue-depth rules.
    #[test]
    fn general_bots_rules() {
        let mut c = scaler(
            r#"{"minInstances": 1, "maxInstances": 10, "targetCPU": 70, "targetMemory": 80,
                "targetRequestsPerMinute": 1000, "cooldown": "300s", "lowWatermark": 0,
                "rules": [
                  {"metric": "responseTime", "above": 2000, "action": "up"},
                  {"metric": "cpu", "below": 30, "action": "down"},
                  {"metric": "queueDepth", "above": 100, "action": "up"}]}"#,
        );
        let decide = |c: &mut ThresholdScaler, t, current: u32, cpu, rt: f64, q: f64| {
            let samples = at(cpu, 10.0, current as usize);
            let mut i = ScaleInput::new(current, &samples);
            i.response_time_ms = Some(rt);
            i.queue_depth = q;
            c.decide(s(t), &i)
        };
        // Slow responses alone scale up.
        let d = decide(&mut c, 0, 3, 40.0, 2500.0, 0.0);
        assert_eq!((d.desired, d.metric), (4, Some(ScaleMetric::ResponseTime)));
        c.applied(s(0), 3, 4);
        // A deep queue asks again, but the shared cooldown holds for 300s.
        assert_eq!(
            decide(&mut c, 240, 4, 40.0, 100.0, 150.0).reason,
            ScaleReason::Cooldown
        );
        assert_eq!(decide(&mut c, 301, 4, 40.0, 100.0, 150.0).desired, 5);
        // CPU at 25% with quick responses: the cpu-low rule scales down.
        let d = decide(&mut c, 301, 4, 25.0, 100.0, 0.0);
        assert_eq!((d.desired, d.metric), (3, Some(ScaleMetric::Cpu)));
        // At 31% nothing fires (the built-in half-target rule is off).
        assert_eq!(
            decide(&mut c, 301, 4, 31.0, 100.0, 0.0).reason,
            ScaleReason::Steady
        );
    }

    #[test]
    fn reads_the_seed_docs_own_names() {
        let c: ThresholdConfig = serde_json::from_str(
            r#"{"scaleMinInstances": 1, "scaleMaxInstances": 10, "scaleCpuThreshold": 70,
                "scaleMemoryThreshold": 80, "scaleRequestThreshold": 1000,
                "scaleCooldownSeconds": "300s", "scaleCheckInterval": "30s"}"#,
        )
        .unwrap();
        assert_eq!((c.target_cpu, c.target_memory), (Some(70.0), Some(80.0)));
        assert_eq!(c.cooldown.unwrap().nanos(), Nanos::from_secs(300));
        let c: ThresholdConfig = serde_json::from_str(
            r#"{"minInstances": 2, "maxInstances": 20, "targetCpuUtilization": 70,
                "targetMemoryUtilization": 80, "scaleUpCooldown": "2m", "scaleDownCooldown": "5m"}"#,
        )
        .unwrap();
        assert_eq!(c.target_memory, Some(80.0));
    }

    #[test]
    fn refuses_configs_that_would_do_nothing() {
        let bad = |json: &str| {
            serde_json::from_str::<ThresholdConfig>(json)
                .unwrap()
                .validate()
                .unwrap_err()
                .key
        };
        assert_eq!(bad(r#"{"maxInstances": 5}"#), "targetCPU");
        assert_eq!(
            bad(r#"{"targetCPU": 70, "minInstances": 5, "maxInstances": 2}"#),
            "maxInstances"
        );
        assert_eq!(
            bad(r#"{"targetCPU": 70, "cooldown": "1m", "scaleUpCooldown": "1m"}"#),
            "cooldown"
        );
        assert_eq!(
            bad(r#"{"rules": [{"metric": "cpu", "above": 1, "below": 2, "action": "up"}]}"#),
            "rules"
        );
    }
}

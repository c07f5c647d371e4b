//! KEDA scaling on a queue: activation and scale-to-zero by KEDA's
//! executor (`pkg/scaling/executor/scale_scaledobjects.go`), one to N by the
//! HPA it creates, on an External metric with an AverageValue target, so
//! `desired = ceil(queue / targetQueueLength)`.

use super::hpa::{
    HpaBehavior, HpaConfig, HpaMetric, HpaMetricType, HpaTarget, MetricIdentifier, MetricSource,
    Quantity, TargetType,
};
use super::{Autoscaler, Hpa, ScaleDecision, ScaleInput, ScaleMetric, ScaleReason};
use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// `deployment.scaling` with `"policy": "queue"` (a ScaledObject's fields):
///
/// ```json
/// { "scaling": { "policy": "queue", "minReplicaCount": 0, "maxReplicaCount": 20,
///                "targetQueueLength": 5, "activationQueueLength": 0,
///                "pollingInterval": "30s", "cooldownPeriod": "300s" } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueConfig {
    /// `minReplicaCount` (default 0: scale to zero when idle).
    #[serde(default)]
    pub min_replica_count: u32,
    /// `maxReplicaCount` (default 100).
    #[serde(default = "hundred")]
    pub max_replica_count: u32,
    /// The trigger's target: queued requests per instance.
    pub target_queue_length: f64,
    /// The trigger's `activationThreshold`: active while the queue is
    /// above it (default 0).
    #[serde(default)]
    pub activation_queue_length: f64,
    /// `pollingInterval` (default 30s).
    #[serde(default = "d30s")]
    pub polling_interval: DurationStr,
    /// `cooldownPeriod`: idle time before scaling to zero (default 300s).
    #[serde(default = "d300s")]
    pub cooldown_period: DurationStr,
    /// `advanced.horizontalPodAutoscalerConfig.behavior`; without it the
    /// HPA's legacy normalization applies, as KEDA leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HpaBehavior>,
}

fn hundred() -> u32 {
    100
}
fn d30s() -> DurationStr {
    DurationStr(Nanos::from_secs(30))
}
fn d300s() -> DurationStr {
    DurationStr(Nanos::from_secs(300))
}

impl QueueConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_replica_count == 0 || self.max_replica_count < self.min_replica_count {
            return Err(ConfigError::new(
                "maxReplicaCount",
                format!(
                    "must be at least minReplicaCount ({}) and at least 1",
                    self.min_replica_count
                ),
            ));
        }
        if !(self.target_queue_length.is_finite() && self.target_queue_length > 0.0) {
            return Err(ConfigError::new("targetQueueLength", "must be above 0"));
        }
        if !(self.activation_queue_length.is_finite() && self.activation_queue_length >= 0.0) {
            return Err(ConfigError::new(
                "activationQueueLength",
                "must be 0 or more",
            ));
        }
        if self.polling_interval.nanos() < Nanos::from_secs(1) {
            return Err(ConfigError::new(
                "pollingInterval",
                "must be at least 1s (as KEDA)",
            ));
        }
        self.hpa().validate()
    }

    fn hpa(&self) -> HpaConfig {
        HpaConfig {
            min_replicas: self.min_replica_count.max(1),
            max_replicas: self.max_replica_count,
            metrics: vec![HpaMetric {
                kind: HpaMetricType::External,
                resource: None,
                pods: None,
                external: Some(MetricSource {
                    metric: MetricIdentifier {
                        name: "queue_depth".into(),
                    },
                    target: HpaTarget {
                        kind: TargetType::AverageValue,
                        average_utilization: None,
                        average_value: Some(Quantity(
                            (self.target_queue_length * 1000.0).round() as i64
                        )),
                        value: None,
                    },
                }),
            }],
            behavior: self.behavior.clone(),
            sync_period: DurationStr(Nanos::from_secs(15)),
            tolerance: 0.1,
        }
    }
}

/// KEDA's ScaledObject on a queue.
///
/// Every `pollingInterval` the queue is polled: above
/// `activationQueueLength` the object is active. An active object at zero
/// instances goes to `max(minReplicaCount, 1)`; an inactive one above zero
/// with `minReplicaCount: 0` goes to zero once `cooldownPeriod` has passed
/// since it was last active. Between those, the HPA KEDA creates decides
/// (every 15s): `ceil(queue / targetQueueLength)` within
/// `[max(minReplicaCount, 1), maxReplicaCount]`.
#[derive(Debug, Clone)]
pub struct QueueScaler {
    cfg: QueueConfig,
    hpa: Hpa,
    last_poll: Option<Nanos>,
    last_active: Option<Nanos>,
}

impl QueueScaler {
    /// A fresh scaler.
    pub fn new(cfg: QueueConfig) -> QueueScaler {
        QueueScaler {
            hpa: Hpa::new(cfg.hpa()),
            cfg,
            last_poll: None,
            last_active: None,
        }
    }
}

impl Autoscaler for QueueScaler {
    fn interval(&self) -> Nanos {
        self.cfg.polling_interval.nanos().min(Nanos::from_secs(15))
    }

    fn bounds(&self) -> (u32, u32) {
        (self.cfg.min_replica_count, self.cfg.max_replica_count)
    }

    fn decide(&mut self, now: Nanos, input: &ScaleInput<'_>) -> ScaleDecision {
        let current = input.current;
        let metric = Some(ScaleMetric::QueueDepth);
        let hold = |reason| ScaleDecision {
            desired: current,
            wanted: current,
            reason,
            metric,
        };
        let poll_due = self
            .last_poll
            .is_none_or(|t| now - t >= self.cfg.polling_interval.nanos());
        if poll_due {
            self.last_poll = Some(now);
            let active = input.queue_depth > self.cfg.activation_queue_length;
            if active {
                if current == 0 {
                    let to = self.cfg.min_replica_count.max(1);
                    return ScaleDecision {
                        desired: to,
                        wanted: to,
                        reason: ScaleReason::Metric,
                        metric,
                    };
                }
                self.last_active = Some(now);
            } else if current > 0 && self.cfg.min_replica_count == 0 {
                let cooled = self
                    .last_active
                    .is_none_or(|t| t + self.cfg.cooldown_period.nanos() < now);
                if cooled {
                    return ScaleDecision {
                        desired: 0,
                        wanted: 0,
                        reason: ScaleReason::Metric,
                        metric,
                    };
                }
                return hold(ScaleReason::Inactive);
            }
        }
        if current == 0 {
            return hold(ScaleReason::Inactive);
        }
        self.hpa.decide(now, input)
    }

    fn applied(&mut self, now: Nanos, from: u32, to: u32) {
        if from == 0 {
            self.last_active = Some(now);
        }
        if from > 0 && to > 0 {
            self.hpa.applied(now, from, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::InstanceSample;

    fn s(x: u64) -> Nanos {
        Nanos::from_secs(x)
    }

    fn scaler(json: &str) -> QueueScaler {
        let c: QueueConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        QueueScaler::new(c)
    }

    fn input(current: u32, queue: f64, samples: &[InstanceSample]) -> ScaleInput<'_> {
        let mut i = ScaleInput::new(current, samples);
        i.queue_depth = queue;
        i
    }

    /// KEDA's executor tests as a timeline: from zero to one when active,
    /// the HPA's ceil(queue / target) above it (legacy cap max(2x, 4)),
    /// to zero only after the cooldown.
    #[test]
    fn keda_timeline() {
        let mut q = scaler(r#"{"targetQueueLength": 5, "maxReplicaCount": 50}"#);
        let ready = [InstanceSample {
            ready: true,
            ..Default::default()
        }; 50];
        // Idle at zero: nothing.
        assert_eq!(q.decide(s(0), &input(0, 0.0, &[])).desired, 0);
        // Twenty queued: ScaleFromMinReplicasWhenActive -> 1.
        let d = q.decide(s(30), &input(0, 20.0, &[]));
        assert_eq!(d.desired, 1);
        q.applied(s(30), 0, 1);
        // The HPA: ceil(20 / 5) = 4, within the legacy cap max(2, 4) = 4.
        assert_eq!(q.decide(s(45), &input(1, 20.0, &ready[..1])).desired, 4);
        q.applied(s(45), 1, 4);
        // The queue empties at 60s: inactive, but the cooldown (300s since
        // last active at 60s... the last active poll was at 30s) holds.
        assert_eq!(
            q.decide(s(60), &input(4, 0.0, &ready[..4])).reason,
            ScaleReason::Inactive
        );
        assert_eq!(q.decide(s(300), &input(4, 0.0, &ready[..4])).desired, 4);
        // 330s + 1 past the last activity: to zero.
        assert_eq!(q.decide(s(331), &input(4, 0.0, &ready[..4])).desired, 0);
    }

    /// ScaleToMinReplicasFromLowerInitialReplicaCount's cousin: with a
    /// minimum of 2, the idle object never goes below 2 and the HPA keeps
    /// the floor.
    #[test]
    fn a_minimum_keeps_instances_when_idle() {
        let mut q = scaler(r#"{"minReplicaCount": 2, "targetQueueLength": 5}"#);
        let ready = [InstanceSample {
            ready: true,
            ..Default::default()
        }; 2];
        let d = q.decide(s(0), &input(2, 0.0, &ready));
        assert_eq!(d.desired, 2);
    }

    #[test]
    fn activation_threshold_keeps_a_small_queue_inactive() {
        let mut q = scaler(r#"{"targetQueueLength": 10, "activationQueueLength": 50}"#);
        assert_eq!(
            q.decide(s(0), &input(0, 40.0, &[])).desired,
            0,
            "40 is not above 50"
        );
        assert_eq!(q.decide(s(30), &input(0, 51.0, &[])).desired, 1);
    }
}

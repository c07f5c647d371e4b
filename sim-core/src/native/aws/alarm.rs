//! CloudWatch alarms: the metric, statistic, comparison and datapoints
//! that decide when a step policy acts.

use super::sources::{Kind, Res};
use super::{ignored, lost, mapped, names, names_in, Mapper};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};

/// The simulated metric an alarm's CloudWatch metric is, and the factor
/// its threshold (and the step bounds) are multiplied by.
fn alarm_metric(
    namespace: &str,
    name: &str,
    statistic: &str,
    period_s: f64,
) -> Result<(&'static str, f64, Option<String>), String> {
    match (namespace, name) {
        ("AWS/ECS", "CPUUtilization") => Ok(("cpu", 1.0, None)),
        ("AWS/ECS", "MemoryUtilization") => Ok(("memory", 1.0, None)),
        ("AWS/ApplicationELB", "RequestCountPerTarget") if statistic == "Sum" => Ok((
            "requestsPerSecond",
            1.0 / period_s,
            Some(format!(
                "requests per target in a {period_s}s period, read per second (the threshold and step bounds divided by {period_s})"
            )),
        )),
        ("AWS/ApplicationELB", "RequestCountPerTarget") => Err(format!(
            "RequestCountPerTarget with the `{statistic}` statistic; fleetsim reads it with `Sum`"
        )),
        ("AWS/ApplicationELB", "TargetResponseTime") => Ok((
            "responseTime",
            1000.0,
            Some("seconds, read as milliseconds (the threshold and step bounds times 1000)".into()),
        )),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible") => Ok((
            "queueDepth",
            1.0,
            Some("the fleet's own queued requests stand for the queue's messages".into()),
        )),
        _ => Err(format!(
            "the metric {namespace} {name} is not simulated (fleetsim has ECS CPUUtilization and MemoryUtilization, ALB RequestCountPerTarget and TargetResponseTime, SQS ApproximateNumberOfMessagesVisible)"
        )),
    }
}

/// Whether CloudWatch allows `s` as a period: 10, 20, 30 or a multiple of
/// 60 seconds (up to a day).
fn allowed_period(s: f64) -> bool {
    [10.0, 20.0, 30.0].contains(&s) || (60.0..=86_400.0).contains(&s) && s % 60.0 == 0.0
}

/// Whether an action list names one of the policies in `res`, or a
/// scaling policy by ARN.
fn invokes_a_policy(v: &Value, res: &[&Res]) -> bool {
    let mut n = Vec::new();
    names_in(v, &mut n);
    n.iter().any(|n| {
        n.contains(":autoscaling:")
            || n.contains("policyName/")
            || res.iter().filter(|r| r.kind == Kind::Policy).any(|p| {
                let name = p
                    .props
                    .get("PolicyName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                names(n, &p.id, name)
            })
    })
}

impl Mapper {
    /// The alarm as fleetsim's `alarm` and its unit factor, or none when
    /// it cannot act here (its report says why, and its other lines are
    /// marked left out). `period` is the one every alarm shares.
    pub(super) fn alarm(
        &mut self,
        a: &Res,
        period: &mut Option<f64>,
    ) -> Result<Option<(Value, f64)>, ScenarioError> {
        let text = |k: &str| {
            a.props
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let start = self.report.len();
        let mut why: Option<String> = None;
        let mut out = Map::new();
        let period_s = self.num(a, "Period")?.unwrap_or(60.0);
        if !allowed_period(period_s) {
            return Err(self.bad(a, &a.loc("Period"), format!("`Period` {period_s}: CloudWatch periods are 10, 20, 30 or a multiple of 60 seconds, up to 86400")));
        }
        let clash = period.filter(|p| *p != period_s);
        let statistic = match text("Statistic") {
            s if s.is_empty() => "Average".to_string(),
            s => s,
        };
        let metric = alarm_metric(
            &text("Namespace"),
            &text("MetricName"),
            &statistic,
            period_s,
        );
        let factor = metric.as_ref().map_or(1.0, |m| m.1);
        let pool_wide = matches!(metric, Ok(("responseTime" | "queueDepth", ..)));
        let leave = |why: &mut Option<String>, reason: String| {
            why.get_or_insert(reason.clone());
            lost(format!("{reason}: the alarm and its policy are left out"))
        };
        for key in a.props.keys() {
            if self.meta(a, key) {
                continue;
            }
            let outcome = match key.as_str() {
                "MetricName" | "Namespace" => match &metric {
                    Ok((m, _, note)) => {
                        out.insert("metric".into(), json!(m));
                        mapped(&["scaling.policies[].alarm.metric"], note.clone())
                    }
                    Err(e) => leave(&mut why, e.clone()),
                },
                "Statistic" => match statistic.as_str() {
                    "Average" => {
                        out.insert("statistic".into(), json!(statistic));
                        mapped(&["scaling.policies[].alarm.statistic"], None)
                    }
                    "Minimum" | "Maximum" if !pool_wide => {
                        out.insert("statistic".into(), json!(statistic));
                        mapped(&["scaling.policies[].alarm.statistic"], None)
                    }
                    "Sum" if text("MetricName") == "RequestCountPerTarget" => {
                        mapped(&["scaling.policies[].alarm.metric"], Some("the sum per target per period".into()))
                    }
                    other => leave(&mut why, format!("the `{other}` statistic of this metric is not simulated (Average; Minimum and Maximum over tasks)")),
                },
                "ExtendedStatistic" | "Metrics" | "ThresholdMetricId" => {
                    leave(&mut why, "percentile statistics and metric math are not simulated".into())
                }
                "ComparisonOperator" => {
                    let c = text(key);
                    if ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"].contains(&c.as_str()) {
                        out.insert("comparisonOperator".into(), json!(c));
                        mapped(&["scaling.policies[].alarm.comparisonOperator"], None)
                    } else {
                        leave(&mut why, format!("the comparison `{c}` (anomaly detection bands) is not simulated"))
                    }
                }
                "Threshold" => {
                    let t = self.num(a, key)?.ok_or_else(|| self.bad(a, &a.loc(key), "`Threshold` must be a number"))?;
                    out.insert("threshold".into(), json!(t * factor));
                    mapped(&["scaling.policies[].alarm.threshold"], (factor != 1.0).then(|| format!("{t} is {} in fleetsim's unit", t * factor)))
                }
                "EvaluationPeriods" | "DatapointsToAlarm" => {
                    let n = self.whole(a, key, &a.props[key], 1)?;
                    let ours = if key == "EvaluationPeriods" { "evaluationPeriods" } else { "datapointsToAlarm" };
                    out.insert(ours.into(), json!(n));
                    mapped(&[&format!("scaling.policies[].alarm.{ours}")], None)
                }
                "Period" => match clash {
                    Some(p) => leave(&mut why, format!("a {period_s}s period beside another alarm's {p}s: fleetsim evaluates every alarm on one period")),
                    None => mapped(&["scaling.period"], None),
                },
                "TreatMissingData" => match text(key).as_str() {
                    "breaching" => lost("missing data counts as breaching in AWS; fleetsim counts a period with no ready task as not breaching"),
                    "ignore" => lost("`ignore` keeps the alarm's state through missing data; fleetsim counts a period with no ready task as not breaching"),
                    _ => mapped(&["scaling.policies[].alarm"], Some("a period with no data does not breach".into())),
                },
                "AlarmActions" => mapped(&["scaling.policies[]"], Some("the policy it invokes".into())),
                "OKActions" | "OkActions" | "InsufficientDataActions" if invokes_a_policy(&a.props[key], &[]) => {
                    lost("a scaling action on OK or INSUFFICIENT_DATA is not simulated")
                }
                "ActionsEnabled" if matches!(a.props[key], Value::Bool(false)) || a.props[key].as_str() == Some("false") => {
                    why.get_or_insert("its actions are disabled".into());
                    ignored("actions disabled: the alarm never invokes its policy, so both are left out")
                }
                _ => ignored("naming, dimensions and notifications; not what decides when to scale"),
            };
            self.say(a, key, outcome);
        }
        if clash.is_some() && !a.props.contains_key("Period") {
            why.get_or_insert_with(|| {
                "its period (60s by default) differs from another alarm's".into()
            });
        }
        if why.is_none() {
            for k in ["comparisonOperator", "threshold", "metric"] {
                if !out.contains_key(k) {
                    return Err(self.bad(a, &a.at, format!("alarm `{}` needs MetricName, Namespace, ComparisonOperator and Threshold", a.id)));
                }
            }
        }
        if let Some(w) = why {
            self.left_out(start, &w);
            return Ok(None);
        }
        if period.is_none() {
            *period = Some(period_s);
        }
        Ok(Some((Value::Object(out), factor)))
    }

    /// An alarm no chosen policy reads.
    pub(super) fn unused_alarm(&mut self, a: &Res, res: &[&Res]) {
        let scales = a
            .props
            .get("AlarmActions")
            .is_some_and(|v| invokes_a_policy(v, res));
        let outcome = if scales {
            lost("its AlarmActions name a policy not read here (not in the files, on another target, or of the kind not chosen)")
        } else {
            ignored("it invokes no scaling policy (it notifies)")
        };
        self.push(a, a.at.clone(), a.id.clone(), outcome);
    }
}

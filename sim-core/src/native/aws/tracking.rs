//! Target tracking policies: `deployment.scaling.targets`.

use super::sources::Res;
use super::{ignored, kind_of, lost, mapped, number, short, Mapper};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};

const C: &str = "TargetTrackingScalingPolicyConfiguration";

impl Mapper {
    /// The target tracking policies among `policies`. Returns whether any
    /// target was made (and no alarms: target tracking manages its own).
    pub(super) fn target_tracking(
        &mut self,
        policies: &[&Res],
        scaling: &mut Map<String, Value>,
    ) -> Result<(bool, Vec<String>), ScenarioError> {
        let mut targets = Vec::new();
        for p in policies
            .iter()
            .copied()
            .filter(|p| kind_of(p) == "TargetTrackingScaling")
        {
            let start = self.report.len();
            for key in p.props.keys() {
                if key == C || self.meta(p, key) {
                    continue;
                }
                let outcome = match key.as_str() {
                    "PolicyType" => mapped(&["scaling.policy"], Some("`target-tracking`".into())),
                    "PolicyName" | "Name" => ignored("a name; targets have none"),
                    _ => ignored("which service and role the policy acts on"),
                };
                self.say(p, key, outcome);
            }
            let Some(c) = p.props.get(C).and_then(Value::as_object) else {
                return Err(self.bad(
                    p,
                    &p.at,
                    format!(
                        "target tracking policy `{}` has no {C}, which AWS requires",
                        p.id
                    ),
                ));
            };
            let mut t = Map::new();
            let mut why = None;
            for key in c.keys() {
                let here = format!("{C}.{key}");
                let v = &c[key];
                let outcome = match key.as_str() {
                    "TargetValue" => {
                        let n = number(v).filter(|n| *n > 0.0).ok_or_else(|| {
                            self.bad(p, &p.loc(&here), "`TargetValue` must be a number above 0")
                        })?;
                        t.insert("targetValue".into(), json!(n));
                        mapped(&["scaling.targets[].targetValue"], None)
                    }
                    "PredefinedMetricSpecification" => {
                        let m = v
                            .get("PredefinedMetricType")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        if [
                            "ECSServiceAverageCPUUtilization",
                            "ECSServiceAverageMemoryUtilization",
                            "ALBRequestCountPerTarget",
                        ]
                        .contains(&m)
                        {
                            t.insert("predefinedMetricType".into(), json!(m));
                            mapped(
                                &["scaling.targets[].predefinedMetricType"],
                                v.get("ResourceLabel").map(|_| {
                                    "ResourceLabel names the balancer; there is one".into()
                                }),
                            )
                        } else {
                            why = Some(format!("the predefined metric `{m}` is not simulated"));
                            lost(format!("the predefined metric `{m}` is not simulated: the policy is left out"))
                        }
                    }
                    "CustomizedMetricSpecification" => {
                        why = Some("a customized metric is not simulated".to_string());
                        lost("a customized metric is not simulated: the policy is left out")
                    }
                    "ScaleInCooldown" | "ScaleOutCooldown" => {
                        let s = number(v)
                            .filter(|s| *s >= 0.0 && *s <= 1e9)
                            .ok_or_else(|| {
                                self.bad(
                                    p,
                                    &p.loc(&here),
                                    format!("`{key}` must be seconds, from 0 to 1e9"),
                                )
                            })?;
                        let ours = if key == "ScaleInCooldown" {
                            "scaleInCooldown"
                        } else {
                            "scaleOutCooldown"
                        };
                        t.insert(ours.into(), json!(format!("{s}s")));
                        mapped(&[&format!("scaling.targets[].{ours}")], None)
                    }
                    "DisableScaleIn" => {
                        let b = matches!(v, Value::Bool(true)) || v.as_str() == Some("true");
                        t.insert("disableScaleIn".into(), json!(b));
                        mapped(&["scaling.targets[].disableScaleIn"], None)
                    }
                    _ => lost(format!(
                        "`{key}` is not a target tracking setting fleetsim knows"
                    )),
                };
                self.push(
                    p,
                    p.loc(&here),
                    format!("{} = {}", p.written(&here), short(v)),
                    outcome,
                );
            }
            if let Some(w) = why {
                self.left_out(start, &w);
                continue;
            }
            // Checked as the scenario will check it, at the policy.
            serde_json::from_value::<strategies::scale::TrackedTarget>(Value::Object(t.clone()))
                .map_err(|e| self.bad(p, &p.at, format!("as AWS would refuse it: {e}")))?;
            targets.push(Value::Object(t));
        }
        if targets.is_empty() {
            return Ok((false, Vec::new()));
        }
        scaling.insert("policy".into(), json!("target-tracking"));
        scaling.insert("targets".into(), Value::Array(targets));
        Ok((true, Vec::new()))
    }
}

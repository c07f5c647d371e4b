//! Step scaling policies: each paired with every alarm that invokes it.

use super::sources::{Kind, Res};
use super::{ignored, lost, mapped, names, names_in, number, short, Mapper};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};

const C: &str = "StepScalingPolicyConfiguration";

impl Mapper {
    /// The step policies among `policies`, each with the alarms that
    /// invoke it. Returns whether any entry was made, and the alarms read.
    pub(super) fn step_policies(
        &mut self,
        res: &[&Res],
        policies: &[&Res],
        scaling: &mut Map<String, Value>,
    ) -> Result<(bool, Vec<String>), ScenarioError> {
        let alarms: Vec<&Res> = res
            .iter()
            .copied()
            .filter(|r| r.kind == Kind::Alarm)
            .collect();
        let mut entries = Vec::new();
        let mut used = Vec::new();
        let mut period: Option<f64> = None;
        // An alarm that invokes several policies is read (and reported)
        // once.
        let mut read: Vec<(String, Option<(Value, f64)>)> = Vec::new();
        for p in policies
            .iter()
            .copied()
            .filter(|p| super::kind_of(p) == "StepScaling")
        {
            let name = ["PolicyName", "Name"]
                .iter()
                .find_map(|k| p.props.get(*k).and_then(Value::as_str))
                .unwrap_or(&p.id)
                .to_string();
            let start = self.report.len();
            let cfg = self.step_config(p)?;
            let invoking: Vec<&Res> = alarms
                .iter()
                .copied()
                .filter(|a| {
                    let mut n = Vec::new();
                    if let Some(v) = a.props.get("AlarmActions") {
                        names_in(v, &mut n);
                    }
                    n.iter().any(|n| names(n, &p.id, &name))
                })
                .collect();
            if invoking.is_empty() {
                self.left_out(start, "no alarm invokes the policy");
                self.push(p, p.at.clone(), p.id.clone(), lost("no alarm in the files names it in AlarmActions, so it never acts; import the alarm with it"));
                continue;
            }
            let before = entries.len();
            for a in invoking {
                used.push(a.id.clone());
                let got = match read.iter().find(|(id, _)| *id == a.id) {
                    Some((_, got)) => got.clone(),
                    None => {
                        let got = self.alarm(a, &mut period)?;
                        read.push((a.id.clone(), got.clone()));
                        got
                    }
                };
                let Some((alarm, factor)) = got else {
                    continue;
                };
                let mut entry = cfg.clone();
                entry.insert("alarm".into(), alarm);
                scale_bounds(&mut entry, factor);
                self.check_policy(p, &entry)?;
                entries.push(Value::Object(entry));
            }
            if entries.len() == before {
                self.left_out(start, "every alarm that invokes it is left out");
            }
        }
        if entries.is_empty() {
            return Ok((false, used));
        }
        scaling.insert("policy".into(), json!("step"));
        if let Some(p) = period {
            scaling.insert("period".into(), json!(format!("{p}s")));
        }
        scaling.insert("policies".into(), Value::Array(entries));
        Ok((true, used))
    }

    /// The entry checked as the scenario will check it, at the policy.
    fn check_policy(&self, p: &Res, entry: &Map<String, Value>) -> Result<(), ScenarioError> {
        serde_json::from_value::<strategies::scale::StepPolicy>(Value::Object(entry.clone()))
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.message))
            .map_err(|e| self.bad(p, &p.at, format!("as AWS would refuse it: {e}")))
    }

    /// A `StepScalingPolicyConfiguration` in fleetsim's keys.
    fn step_config(&mut self, p: &Res) -> Result<Map<String, Value>, ScenarioError> {
        for key in p.props.keys() {
            if key == C || self.meta(p, key) {
                continue;
            }
            let outcome = match key.as_str() {
                "PolicyType" => mapped(&["scaling.policy"], Some("`step`".into())),
                "PolicyName" | "Name" => {
                    ignored("a name; the alarms that invoke the policy find it by it")
                }
                _ => ignored("which service and role the policy acts on"),
            };
            self.say(p, key, outcome);
        }
        let Some(c) = p.props.get(C).and_then(Value::as_object) else {
            return Err(self.bad(
                p,
                &p.at,
                format!(
                    "step scaling policy `{}` has no {C}, which AWS requires",
                    p.id
                ),
            ));
        };
        let mut out = Map::new();
        for key in c.keys() {
            let here = format!("{C}.{key}");
            let v = &c[key];
            let line = format!("{} = {}", p.written(&here), short(v));
            let outcome = match key.as_str() {
                "AdjustmentType" | "MetricAggregationType" => {
                    let ours = if key == "AdjustmentType" {
                        "adjustmentType"
                    } else {
                        "metricAggregationType"
                    };
                    out.insert(ours.into(), v.clone());
                    mapped(&[&format!("scaling.policies[].{ours}")], None)
                }
                "Cooldown" => {
                    let s = number(v)
                        .filter(|s| *s >= 0.0 && *s <= 1e9)
                        .ok_or_else(|| {
                            self.bad(
                                p,
                                &p.loc(&here),
                                "`Cooldown` must be seconds, from 0 to 1e9",
                            )
                        })?;
                    out.insert("cooldown".into(), json!(format!("{s}s")));
                    mapped(&["scaling.policies[].cooldown"], None)
                }
                "MinAdjustmentMagnitude" => {
                    let n = self.whole(p, &here, v, 0)?;
                    out.insert("minAdjustmentMagnitude".into(), json!(n));
                    mapped(&["scaling.policies[].minAdjustmentMagnitude"], None)
                }
                "StepAdjustments" => {
                    let steps = self.steps(p, &here, v)?;
                    out.insert("stepAdjustments".into(), Value::Array(steps));
                    continue;
                }
                "Dynamic" => lost(
                    "dynamic blocks are not expanded: give each step_adjustment block as written",
                ),
                _ => lost(format!(
                    "`{key}` is not a step scaling setting fleetsim knows"
                )),
            };
            self.push(p, p.loc(&here), line, outcome);
        }
        if !out.contains_key("adjustmentType") {
            return Err(self.bad(p, &p.loc(C), format!("`{}` has no AdjustmentType (ChangeInCapacity, ExactCapacity or PercentChangeInCapacity), which AWS requires", p.written(C))));
        }
        if !out.contains_key("stepAdjustments") {
            return Err(self.bad(p, &p.loc(C), format!("`{}` has no StepAdjustments (written as they are: a dynamic block is not expanded)", p.written(C))));
        }
        if !c.contains_key("Cooldown") {
            out.insert("cooldown".into(), json!("300s"));
        }
        Ok(out)
    }

    fn steps(&mut self, p: &Res, here: &str, v: &Value) -> Result<Vec<Value>, ScenarioError> {
        let Some(list) = v.as_array() else {
            return Err(self.bad(p, &p.loc(here), "`StepAdjustments` must be a list"));
        };
        let mut out = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let item = format!("{here}[{i}]");
            let Some(o) = s.as_object() else {
                return Err(self.bad(p, &p.loc(&item), "a step adjustment must be an object"));
            };
            let mut step = Map::new();
            for (aws, ours) in [
                ("MetricIntervalLowerBound", "metricIntervalLowerBound"),
                ("MetricIntervalUpperBound", "metricIntervalUpperBound"),
                ("ScalingAdjustment", "scalingAdjustment"),
            ] {
                match o.get(aws) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) if s.is_empty() => {}
                    Some(x) => {
                        let at = p.loc(&format!("{item}.{aws}"));
                        let n = number(x).filter(|n| n.abs() <= 1e12).ok_or_else(|| {
                            self.bad(
                                p,
                                &at,
                                format!(
                                    "`{aws}` must be a number (at most 1e12 in size); found {}",
                                    short(x)
                                ),
                            )
                        })?;
                        let n = if ours == "scalingAdjustment" {
                            if n.fract() != 0.0 {
                                return Err(self.bad(
                                    p,
                                    &at,
                                    "`ScalingAdjustment` must be a whole number",
                                ));
                            }
                            json!(n as i64)
                        } else {
                            json!(n)
                        };
                        step.insert(ours.into(), n);
                    }
                }
            }
            for k in o.keys() {
                if ![
                    "MetricIntervalLowerBound",
                    "MetricIntervalUpperBound",
                    "ScalingAdjustment",
                ]
                .contains(&k.as_str())
                {
                    let at = format!("{item}.{k}");
                    self.push(
                        p,
                        p.loc(&at),
                        p.written(&at),
                        lost(format!("`{k}` is not part of a step adjustment")),
                    );
                }
            }
            if !step.contains_key("scalingAdjustment") {
                return Err(self.bad(
                    p,
                    &p.loc(&item),
                    "a step adjustment needs ScalingAdjustment",
                ));
            }
            let shown = [
                ("MetricIntervalLowerBound", "from"),
                ("MetricIntervalUpperBound", "to"),
                ("ScalingAdjustment", "adjust"),
            ]
            .iter()
            .filter_map(|(k, w)| o.get(*k).map(|v| format!("{w} {}", short(v))))
            .collect::<Vec<_>>()
            .join(", ");
            self.push(
                p,
                p.loc(&item),
                format!("{} ({shown})", p.written(&item)),
                mapped(&["scaling.policies[].stepAdjustments"], None),
            );
            out.push(Value::Object(step));
        }
        Ok(out)
    }
}

/// The step bounds in the unit the alarm's threshold was converted to.
fn scale_bounds(entry: &mut Map<String, Value>, factor: f64) {
    if factor == 1.0 {
        return;
    }
    let Some(Value::Array(steps)) = entry.get_mut("stepAdjustments") else {
        return;
    };
    for s in steps {
        for k in ["metricIntervalLowerBound", "metricIntervalUpperBound"] {
            if let Some(b) = s.get(k).and_then(Value::as_f64) {
                s[k] = json!(b * factor);
            }
        }
    }
}

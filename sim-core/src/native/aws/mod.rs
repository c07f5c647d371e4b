//! AWS Application Auto Scaling for ECS: step scaling with its CloudWatch
//! alarms, and target tracking, as the API's JSON, a CloudFormation
//! template (YAML with `!Ref`/`!Sub`/`!GetAtt`, or JSON) or Terraform
//! (`aws_appautoscaling_target`, `aws_appautoscaling_policy`,
//! `aws_cloudwatch_metric_alarm`).
//!
//! Reference: the Application Auto Scaling API reference
//! (`StepScalingPolicyConfiguration`, `StepAdjustment`,
//! `TargetTrackingScalingPolicyConfiguration`), CloudWatch's `PutMetricAlarm`,
//! the CloudFormation resource types of the same names and the Terraform AWS
//! provider's resources.
//!
//! | AWS | becomes |
//! |---|---|
//! | scalable target `MinCapacity`, `MaxCapacity` | `deployment.scaling.minCapacity`, `maxCapacity` |
//! | ECS service `DesiredCount` | `deployment.regions.SERVICE.instances` |
//! | a step policy and each alarm whose `AlarmActions` name it | one entry of `deployment.scaling.policies` (`"policy": "step"`) |
//! | alarm `MetricName`/`Namespace`, `Statistic`, `ComparisonOperator`, `Threshold`, `EvaluationPeriods`, `DatapointsToAlarm`, `Period` | the entry's `alarm`, and `scaling.period` |
//! | `AdjustmentType`, `StepAdjustments`, `Cooldown` (300), `MinAdjustmentMagnitude`, `MetricAggregationType` | the entry's keys of the same names |
//! | a target tracking policy's `TargetValue`, `PredefinedMetricType`, cooldowns, `DisableScaleIn` | `deployment.scaling.targets` (`"policy": "target-tracking"`) |

mod sources;

use super::{native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use sources::{Kind, Res};
use std::path::Path;

/// Whether `text` at `path` is Terraform.
pub(crate) fn is_terraform(path: &Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "tf")
        || text.contains("resource \"aws_appautoscaling_")
        || text.contains("resource \"aws_cloudwatch_metric_alarm\"")
}

/// Reads the scaling in `text`; `wanted` picks `step` or
/// `target-tracking` when the file has both kinds.
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let mut all = import_many(&[(text, path)], wanted)?;
    Ok(all.remove(0))
}

/// Reads several files as one service's scaling (an alarm in one may
/// invoke a policy in another): one import per file, each with its own
/// report; the fragment is on the first.
pub(crate) fn import_many(
    files: &[(&str, &Path)],
    wanted: Option<&str>,
) -> Result<Vec<Import>, ScenarioError> {
    let mut res = Vec::new();
    for (k, &(text, path)) in files.iter().enumerate() {
        let mut got = if is_terraform(path, text) {
            sources::from_terraform(text, path)?
        } else {
            sources::from_document(text, path)?
        };
        for r in &mut got {
            r.file = k;
        }
        res.extend(got);
    }
    let mut m = Mapper {
        files: files.iter().map(|(_, p)| p.to_path_buf()).collect(),
        report: Vec::new(),
        frag: Map::new(),
    };
    let source = m.run(&res, wanted)?;
    m.report.sort_by_key(|(f, r)| (*f, r.at.line, r.at.column));
    let mut fragment = Some(Value::Object(m.frag));
    Ok(files
        .iter()
        .enumerate()
        .map(|(k, (_, path))| Import {
            file: path.to_path_buf(),
            format: Format::Aws,
            source: source.clone(),
            fragment: fragment.take().unwrap_or_else(|| json!({})),
            report: m
                .report
                .iter()
                .filter(|(f, _)| *f == k)
                .map(|(_, r)| r.clone())
                .collect(),
        })
        .collect())
}

struct Mapper {
    files: Vec<std::path::PathBuf>,
    /// Each line with the file it is in.
    report: Vec<(usize, Mapping)>,
    frag: Map<String, Value>,
}

fn mapped(keys: &[&str], note: Option<String>) -> Outcome {
    super::mapped(keys, note)
}

fn ignored(why: impl Into<String>) -> Outcome {
    Outcome::Ignored { why: why.into() }
}

fn lost(what: impl Into<String>) -> Outcome {
    Outcome::Unsupported { lost: what.into() }
}

/// A value written compactly for the report.
fn short(v: &Value) -> String {
    let reference = v.as_object().filter(|o| o.len() == 1).and_then(|o| {
        ["Ref", "Expression"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
    });
    let s = match v {
        _ if reference.is_some() => reference.unwrap_or_default().to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        s.chars().take(57).collect::<String>() + "..."
    } else {
        s
    }
}

/// A number, also when written as a string (Terraform's step bounds).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// What an alarm's action names: a logical id, a Terraform resource or a
/// policy name in an ARN.
fn action_target(v: &Value) -> Option<String> {
    match v {
        Value::String(arn) => arn
            .rsplit_once("policyName/")
            .map(|(_, n)| n.to_string())
            .or_else(|| (!arn.starts_with("arn:")).then(|| arn.clone())),
        Value::Object(o) => o
            .get("Ref")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                o.get("Fn::GetAtt")
                    .and_then(|g| g.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
        _ => None,
    }
}

/// The simulated metric an alarm's CloudWatch metric is, and the factor
/// its threshold is multiplied by.
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
            Some(format!("requests per target per {period_s}s period, read as per second")),
        )),
        ("AWS/ApplicationELB", "RequestCountPerTarget") => Err(format!(
            "RequestCountPerTarget with the `{statistic}` statistic; fleetsim reads it with `Sum`"
        )),
        ("AWS/ApplicationELB", "TargetResponseTime") => Ok((
            "responseTime",
            1000.0,
            Some("seconds, read as milliseconds".into()),
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

impl Mapper {
    fn push(&mut self, r: &Res, at: Location, directive: String, outcome: Outcome) {
        self.report.push((
            r.file,
            Mapping {
                at,
                directive,
                outcome,
            },
        ));
    }

    fn say(&mut self, r: &Res, key: &str, outcome: Outcome) {
        let v = r
            .props
            .get(key)
            .map_or_else(String::new, |v| format!(" = {}", short(v)));
        self.push(r, r.loc(key), format!("{}{v}", r.written(key)), outcome);
    }

    fn bad(&self, r: &Res, at: &Location, msg: impl Into<String>) -> ScenarioError {
        native_error(&self.files[r.file], Format::Aws, at, msg)
    }

    fn num(&self, r: &Res, key: &str) -> Result<Option<f64>, ScenarioError> {
        match r.props.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => number(v).map(Some).ok_or_else(|| {
                self.bad(
                    r,
                    &r.loc(key),
                    format!("`{}` is {}; expected a number", r.written(key), short(v)),
                )
            }),
        }
    }

    fn run(&mut self, res: &[Res], wanted: Option<&str>) -> Result<String, ScenarioError> {
        let mut scaling = Map::new();
        if let Some(t) = res.iter().find(|r| r.kind == Kind::Target) {
            self.target(t, &mut scaling)?;
        }
        for extra in res.iter().filter(|r| r.kind == Kind::Target).skip(1) {
            self.push(
                extra,
                extra.at.clone(),
                extra.id.clone(),
                lost("a second scalable target: fleetsim scales one service, the first"),
            );
        }
        for s in res.iter().filter(|r| r.kind == Kind::EcsService) {
            self.service(s)?;
        }
        let kind = self.choose_kind(res, wanted)?;
        let used = match kind.as_deref() {
            Some("StepScaling") => self.step_policies(res, &mut scaling)?,
            Some(_) => self.target_tracking(res, &mut scaling)?,
            None => Vec::new(),
        };
        for a in res.iter().filter(|r| r.kind == Kind::Alarm) {
            if !used.contains(&a.id) {
                self.unused_alarm(a);
            }
        }
        for r in res {
            if let Kind::Other(t) = &r.kind {
                let why = if t.starts_with("AWS::") || t.starts_with("aws_") {
                    format!("a {t}, not a scaling resource")
                } else {
                    "not a resource fleetsim reads (variables, providers, outputs)".to_string()
                };
                self.push(r, r.at.clone(), r.id.clone(), ignored(why));
            }
        }
        if !scaling.is_empty() {
            if !scaling.contains_key("maxCapacity") {
                if let Some(first) = res.first() {
                    self.push(
                        first,
                        first.at.clone(),
                        "MaxCapacity".into(),
                        lost("no scalable target in the files gives MaxCapacity: give deployment.scaling.maxCapacity in the scenario"),
                    );
                }
            } else {
                self.validate(&scaling, res)?;
            }
            super::set_path(
                &mut self.frag,
                &["deployment", "scaling"],
                Value::Object(scaling),
            );
        }
        Ok(match kind.as_deref() {
            Some("StepScaling") => "step scaling".into(),
            Some(_) => "target tracking".into(),
            None => "scalable target".into(),
        })
    }

    /// Which policy kind to read: fleetsim runs one per scenario.
    fn choose_kind(
        &mut self,
        res: &[Res],
        wanted: Option<&str>,
    ) -> Result<Option<String>, ScenarioError> {
        let kind_of = |r: &Res| {
            r.props
                .get("PolicyType")
                .and_then(Value::as_str)
                .unwrap_or(
                    if r.props
                        .contains_key("TargetTrackingScalingPolicyConfiguration")
                    {
                        "TargetTrackingScaling"
                    } else {
                        "StepScaling"
                    },
                )
                .to_string()
        };
        let policies: Vec<&Res> = res.iter().filter(|r| r.kind == Kind::Policy).collect();
        for p in &policies {
            let k = kind_of(p);
            if k != "StepScaling" && k != "TargetTrackingScaling" {
                return Err(self.bad(
                    p,
                    &p.loc("PolicyType"),
                    format!("PolicyType `{k}`; Application Auto Scaling's are StepScaling and TargetTrackingScaling (PredictiveScaling is not simulated)"),
                ));
            }
        }
        let chosen = match wanted {
            Some("step") => Some("StepScaling".to_string()),
            Some("target-tracking") => Some("TargetTrackingScaling".to_string()),
            Some(other) => {
                return Err(native_error(
                    &self.files[0],
                    Format::Aws,
                    &Location { line: 1, column: 1 },
                    format!("--upstream `{other}`: for AWS scaling, give `step` or `target-tracking` (the policy kind to read)"),
                ))
            }
            None => policies.first().map(|p| kind_of(p)),
        };
        if let Some(c) = &chosen {
            for p in policies.iter().filter(|p| &kind_of(p) != c) {
                self.push(
                    p,
                    p.at.clone(),
                    p.id.clone(),
                    lost(format!(
                        "a {} policy beside {c}: fleetsim runs one policy kind per scenario; read this one with --upstream {}",
                        kind_of(p),
                        if kind_of(p) == "StepScaling" { "step" } else { "target-tracking" }
                    )),
                );
            }
        }
        Ok(chosen)
    }

    fn target(&mut self, t: &Res, scaling: &mut Map<String, Value>) -> Result<(), ScenarioError> {
        for (aws, key) in [
            ("MinCapacity", "minCapacity"),
            ("MaxCapacity", "maxCapacity"),
        ] {
            if let Some(n) = self.num(t, aws)? {
                if n < 0.0 || n.fract() != 0.0 || n > f64::from(u32::MAX) {
                    return Err(self.bad(
                        t,
                        &t.loc(aws),
                        format!("`{aws}` must be a whole number of tasks, at least 0; found {n}"),
                    ));
                }
                scaling.insert(key.into(), json!(n as u32));
                self.say(t, aws, mapped(&[&format!("scaling.{key}")], None));
            }
        }
        for key in t.props.keys() {
            let outcome = match key.as_str() {
                "MinCapacity" | "MaxCapacity" => continue,
                "SuspendedState" if t.props[key].as_object().is_some_and(|o| o.values().any(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))) => {
                    lost("suspended scaling (DynamicScalingInSuspended/OutSuspended) is not simulated")
                }
                "SuspendedState" => mapped(&["scaling"], Some("nothing suspended".into())),
                "ScheduledActions" => lost("scheduled actions change capacity on a clock fleetsim does not follow"),
                _ => ignored("which service and role the target is; fleetsim simulates the one fleet"),
            };
            self.say(t, key, outcome);
        }
        Ok(())
    }

    fn service(&mut self, s: &Res) -> Result<(), ScenarioError> {
        let name = s
            .props
            .get("ServiceName")
            .or_else(|| s.props.get("Name"))
            .and_then(Value::as_str)
            .unwrap_or(s.id.rsplit('.').next().unwrap_or(&s.id))
            .to_string();
        for key in s.props.keys() {
            match key.as_str() {
                "DesiredCount" => {
                    let Some(n) = self.num(s, key)?.filter(|n| *n >= 0.0 && n.fract() == 0.0) else {
                        return Err(self.bad(s,&s.loc(key), "`DesiredCount` must be a whole number of tasks"));
                    };
                    super::set_path(
                        &mut self.frag,
                        &["deployment", "regions", &name, "instances"],
                        json!(n as u32),
                    );
                    self.say(s, key, mapped(&[&format!("regions.{name}.instances")], Some("the tasks the service starts with".into())));
                }
                _ => self.say(s, key, ignored("the service's wiring (cluster, task definition, network, balancer); not what shapes load")),
            }
        }
        Ok(())
    }

    fn step_policies(
        &mut self,
        res: &[Res],
        scaling: &mut Map<String, Value>,
    ) -> Result<Vec<String>, ScenarioError> {
        let alarms: Vec<&Res> = res.iter().filter(|r| r.kind == Kind::Alarm).collect();
        let mut entries = Vec::new();
        let mut used = Vec::new();
        let mut period: Option<f64> = None;
        for p in res.iter().filter(|r| {
            r.kind == Kind::Policy
                && r.props
                    .get("PolicyType")
                    .and_then(Value::as_str)
                    .unwrap_or("StepScaling")
                    == "StepScaling"
                && !r
                    .props
                    .contains_key("TargetTrackingScalingPolicyConfiguration")
        }) {
            let name = ["PolicyName", "Name"]
                .iter()
                .find_map(|k| p.props.get(*k).and_then(Value::as_str))
                .unwrap_or(&p.id)
                .to_string();
            let cfg = self.step_config(p)?;
            let invoking: Vec<&&Res> = alarms
                .iter()
                .filter(|a| {
                    a.props
                        .get("AlarmActions")
                        .and_then(Value::as_array)
                        .is_some_and(|acts| {
                            acts.iter()
                                .filter_map(action_target)
                                .any(|t| t == p.id || t == name)
                        })
                })
                .collect();
            if invoking.is_empty() {
                self.push(p,p.at.clone(), p.id.clone(), lost("no alarm in this file names it in AlarmActions, so it never acts; import the alarm with it"));
                continue;
            }
            for a in invoking {
                used.push(a.id.clone());
                let Some(alarm) = self.alarm(a, &mut period)? else {
                    continue;
                };
                let mut entry = cfg.clone();
                entry.insert("name".into(), json!(name));
                entry.insert("alarm".into(), alarm);
                entries.push(Value::Object(entry));
            }
        }
        if !entries.is_empty() {
            scaling.insert("policy".into(), json!("step"));
            if let Some(p) = period {
                scaling.insert("period".into(), json!(format!("{p}s")));
            }
            scaling.insert("policies".into(), Value::Array(entries));
        }
        Ok(used)
    }

    /// A `StepScalingPolicyConfiguration` in fleetsim's keys.
    fn step_config(&mut self, p: &Res) -> Result<Map<String, Value>, ScenarioError> {
        const C: &str = "StepScalingPolicyConfiguration";
        for key in p.props.keys() {
            let outcome = match key.as_str() {
                C => continue,
                "PolicyType" => mapped(&["scaling.policy"], Some("`step`".into())),
                "PolicyName" | "Name" => mapped(&["scaling.policies[].name"], None),
                _ => ignored("which service and role the policy acts on"),
            };
            self.say(p, key, outcome);
        }
        let Some(c) = p.props.get(C).and_then(Value::as_object) else {
            return Err(self.bad(
                p,
                &p.at,
                format!("step scaling policy `{}` has no {C}", p.id),
            ));
        };
        let mut out = Map::new();
        let at = |k: &str| format!("{C}.{k}");
        for key in c.keys() {
            let here = at(key);
            let v = &c[key];
            match key.as_str() {
                "AdjustmentType" | "MetricAggregationType" => {
                    let ours = if key == "AdjustmentType" {
                        "adjustmentType"
                    } else {
                        "metricAggregationType"
                    };
                    out.insert(ours.into(), v.clone());
                    self.push(
                        p,
                        p.loc(&here),
                        format!("{} = {}", p.written(&here), short(v)),
                        mapped(&[&format!("scaling.policies[].{ours}")], None),
                    );
                }
                "Cooldown" => {
                    let s = number(v).filter(|s| *s >= 0.0).ok_or_else(|| {
                        self.bad(p, &p.loc(&here), "`Cooldown` must be seconds, at least 0")
                    })?;
                    out.insert("cooldown".into(), json!(format!("{s}s")));
                    self.push(
                        p,
                        p.loc(&here),
                        format!("{} = {}", p.written(&here), short(v)),
                        mapped(&["scaling.policies[].cooldown"], None),
                    );
                }
                "MinAdjustmentMagnitude" => {
                    let n = number(v)
                        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                        .ok_or_else(|| {
                            self.bad(
                                p,
                                &p.loc(&here),
                                "`MinAdjustmentMagnitude` must be a whole number",
                            )
                        })?;
                    out.insert("minAdjustmentMagnitude".into(), json!(n as u32));
                    self.push(
                        p,
                        p.loc(&here),
                        format!("{} = {}", p.written(&here), short(v)),
                        mapped(&["scaling.policies[].minAdjustmentMagnitude"], None),
                    );
                }
                "StepAdjustments" => {
                    let steps = self.steps(p, &here, v)?;
                    out.insert("stepAdjustments".into(), Value::Array(steps));
                }
                _ => self.push(
                    p,
                    p.loc(&here),
                    p.written(&here),
                    lost(format!(
                        "`{key}` is not a step scaling setting fleetsim knows"
                    )),
                ),
            }
        }
        if !out.contains_key("adjustmentType") {
            return Err(self.bad(p,&p.loc(C), format!("`{}` has no AdjustmentType (ChangeInCapacity, ExactCapacity or PercentChangeInCapacity), which AWS requires", p.written(C))));
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
                        let n = number(x).ok_or_else(|| {
                            self.bad(
                                p,
                                &p.loc(&format!("{item}.{aws}")),
                                format!("`{aws}` must be a number; found {}", short(x)),
                            )
                        })?;
                        let n = if ours == "scalingAdjustment" {
                            if n.fract() != 0.0 || n.abs() > 1e12 {
                                return Err(self.bad(
                                    p,
                                    &p.loc(&format!("{item}.{aws}")),
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
                    self.push(
                        p,
                        p.loc(&format!("{item}.{k}")),
                        p.written(&format!("{item}.{k}")),
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

    /// The alarm as fleetsim's `alarm`, or none when it cannot act here
    /// (its report says why).
    fn alarm(&mut self, a: &Res, period: &mut Option<f64>) -> Result<Option<Value>, ScenarioError> {
        let text = |k: &str| {
            a.props
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let mut usable = true;
        let mut out = Map::new();
        let period_s = self.num(a, "Period")?.unwrap_or(60.0);
        if period_s < 1.0 {
            return Err(self.bad(a, &a.loc("Period"), "`Period` must be at least 1 second"));
        }
        let statistic = text("Statistic");
        let statistic = if statistic.is_empty() {
            "Average".to_string()
        } else {
            statistic
        };
        let metric = alarm_metric(
            &text("Namespace"),
            &text("MetricName"),
            &statistic,
            period_s,
        );
        let enabled = a
            .props
            .get("ActionsEnabled")
            .is_none_or(|v| !matches!(v, Value::Bool(false)) && v.as_str() != Some("false"));
        for key in a.props.keys() {
            let outcome = match key.as_str() {
                "MetricName" | "Namespace" => match &metric {
                    Ok((m, _, note)) => {
                        out.insert("metric".into(), json!(m));
                        mapped(&["scaling.policies[].alarm.metric"], note.clone())
                    }
                    Err(e) => {
                        usable = false;
                        lost(format!("{e}: the alarm and its policy are left out"))
                    }
                },
                "Statistic" => match statistic.as_str() {
                    "Average" | "Minimum" | "Maximum" => {
                        out.insert("statistic".into(), json!(statistic));
                        mapped(&["scaling.policies[].alarm.statistic"], None)
                    }
                    "Sum" if metric.is_ok() && text("MetricName") == "RequestCountPerTarget" => mapped(&["scaling.policies[].alarm.metric"], Some("the sum per target per period".into())),
                    other => {
                        usable = false;
                        lost(format!("the statistic `{other}` over tasks is not simulated (Average, Minimum, Maximum are): the alarm and its policy are left out"))
                    }
                },
                "ExtendedStatistic" | "Metrics" | "ThresholdMetricId" => {
                    usable = false;
                    lost("percentile statistics and metric math are not simulated: the alarm and its policy are left out")
                }
                "ComparisonOperator" => {
                    let c = text(key);
                    if ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"].contains(&c.as_str()) {
                        out.insert("comparisonOperator".into(), json!(c));
                        mapped(&["scaling.policies[].alarm.comparisonOperator"], None)
                    } else {
                        usable = false;
                        lost(format!("the comparison `{c}` (anomaly detection bands) is not simulated: the alarm and its policy are left out"))
                    }
                }
                "Threshold" => {
                    let t = self.num(a, key)?.ok_or_else(|| self.bad(a,&a.loc(key), "`Threshold` must be a number"))?;
                    let factor = metric.as_ref().map_or(1.0, |m| m.1);
                    out.insert("threshold".into(), json!(t * factor));
                    mapped(&["scaling.policies[].alarm.threshold"], (factor != 1.0).then(|| format!("{t} is {} in fleetsim's unit", t * factor)))
                }
                "EvaluationPeriods" | "DatapointsToAlarm" => {
                    let n = self.num(a, key)?.filter(|n| *n >= 1.0 && n.fract() == 0.0).ok_or_else(|| self.bad(a,&a.loc(key), format!("`{key}` must be a whole number, at least 1")))?;
                    let ours = if key == "EvaluationPeriods" { "evaluationPeriods" } else { "datapointsToAlarm" };
                    out.insert(ours.into(), json!(n as u32));
                    mapped(&[&format!("scaling.policies[].alarm.{ours}")], None)
                }
                "Period" => match *period {
                    None => {
                        *period = Some(period_s);
                        mapped(&["scaling.period"], None)
                    }
                    Some(p) if p == period_s => mapped(&["scaling.period"], None),
                    Some(p) => {
                        usable = false;
                        lost(format!("a {period_s}s period beside another alarm's {p}s: fleetsim evaluates every alarm on one period; the alarm and its policy are left out"))
                    }
                },
                "TreatMissingData" => match text(key).as_str() {
                    "breaching" => lost("missing data counts as breaching in AWS; fleetsim counts a period with no ready task as not breaching"),
                    _ => mapped(&["scaling.policies[].alarm"], Some("a period with no data does not breach".into())),
                },
                "AlarmActions" => mapped(&["scaling.policies[]"], Some("the policy it invokes".into())),
                "OKActions" | "InsufficientDataActions" if a.props.get(key).and_then(Value::as_array).is_some_and(|l| !l.is_empty()) => {
                    lost("a scaling action on OK or INSUFFICIENT_DATA is not simulated")
                }
                "ActionsEnabled" if !enabled => {
                    usable = false;
                    mapped(&["scaling.policies"], Some("actions disabled: the alarm never invokes its policy, so both are left out".into()))
                }
                _ => ignored("naming, dimensions and notifications; not what decides when to scale"),
            };
            self.say(a, key, outcome);
        }
        if !out.contains_key("comparisonOperator") || !out.contains_key("threshold") {
            if usable {
                return Err(self.bad(
                    a,
                    &a.at,
                    format!("alarm `{}` needs ComparisonOperator and Threshold", a.id),
                ));
            }
            return Ok(None);
        }
        if !a.props.contains_key("MetricName") && usable {
            return Err(self.bad(
                a,
                &a.at,
                format!("alarm `{}` needs MetricName and Namespace", a.id),
            ));
        }
        if !usable {
            return Ok(None);
        }
        if period.is_none() {
            *period = Some(period_s);
        }
        Ok(Some(Value::Object(out)))
    }

    fn unused_alarm(&mut self, a: &Res) {
        let scales = a
            .props
            .get("AlarmActions")
            .and_then(Value::as_array)
            .is_some_and(|l| {
                l.iter().any(|x| {
                    action_target(x).is_some() && !x.as_str().is_some_and(|s| s.contains(":sns:"))
                })
            });
        let outcome = if scales {
            lost("its AlarmActions name a policy not read here (not in this file, or of the kind not chosen)")
        } else {
            ignored("it notifies (SNS) and invokes no scaling policy")
        };
        self.push(a, a.at.clone(), a.id.clone(), outcome);
    }

    fn target_tracking(
        &mut self,
        res: &[Res],
        scaling: &mut Map<String, Value>,
    ) -> Result<Vec<String>, ScenarioError> {
        const C: &str = "TargetTrackingScalingPolicyConfiguration";
        let mut targets = Vec::new();
        for p in res
            .iter()
            .filter(|r| r.kind == Kind::Policy && r.props.contains_key(C))
        {
            for key in p.props.keys() {
                let outcome = match key.as_str() {
                    C => continue,
                    "PolicyType" => mapped(&["scaling.policy"], Some("`target-tracking`".into())),
                    _ => ignored("which service and role the policy acts on"),
                };
                self.say(p, key, outcome);
            }
            let Some(c) = p.props.get(C).and_then(Value::as_object) else {
                return Err(self.bad(
                    p,
                    &p.loc(C),
                    format!("`{}` must be an object", p.written(C)),
                ));
            };
            let mut t = Map::new();
            let mut usable = true;
            for key in c.keys() {
                let here = format!("{C}.{key}");
                let v = &c[key];
                let outcome = match key.as_str() {
                    "TargetValue" => {
                        let n = number(v).ok_or_else(|| {
                            self.bad(p, &p.loc(&here), "`TargetValue` must be a number")
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
                            usable = false;
                            lost(format!("the predefined metric `{m}` is not simulated: the policy is left out"))
                        }
                    }
                    "CustomizedMetricSpecification" => {
                        usable = false;
                        lost("a customized metric is not simulated: the policy is left out")
                    }
                    "ScaleInCooldown" | "ScaleOutCooldown" => {
                        let s = number(v).filter(|s| *s >= 0.0).ok_or_else(|| {
                            self.bad(
                                p,
                                &p.loc(&here),
                                format!("`{key}` must be seconds, at least 0"),
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
            if usable {
                targets.push(Value::Object(t));
            }
        }
        if !targets.is_empty() {
            scaling.insert("policy".into(), json!("target-tracking"));
            scaling.insert("targets".into(), Value::Array(targets));
        }
        Ok(Vec::new())
    }

    /// The scaling block checked as the scenario will check it, the error
    /// placed at the first policy.
    fn validate(&self, scaling: &Map<String, Value>, res: &[Res]) -> Result<(), ScenarioError> {
        let mut block = scaling.clone();
        let policy = block.remove("policy");
        let first = res.iter().find(|r| r.kind == Kind::Policy);
        let check = match policy.as_ref().and_then(Value::as_str) {
            Some("step") => {
                serde_json::from_value::<strategies::scale::StepScalingConfig>(Value::Object(block))
                    .map_err(|e| e.to_string())
                    .and_then(|c| c.validate().map_err(|e| e.to_string()))
            }
            Some("target-tracking") => serde_json::from_value::<
                strategies::scale::TargetTrackingConfig,
            >(Value::Object(block))
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.to_string())),
            _ => Ok(()),
        };
        check.map_err(|e| {
            let msg = format!("as AWS would refuse it: {e}");
            match first {
                Some(p) => self.bad(p, &p.at, msg),
                None => native_error(
                    &self.files[0],
                    Format::Aws,
                    &Location { line: 1, column: 1 },
                    msg,
                ),
            }
        })
    }
}

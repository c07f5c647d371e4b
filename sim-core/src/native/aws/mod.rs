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
//! | AWS | becomes | file |
//! |---|---|---|
//! | scalable target `MinCapacity`, `MaxCapacity` | `deployment.scaling.minCapacity`, `maxCapacity` | here |
//! | ECS service `DesiredCount` | `deployment.regions.SERVICE.instances` | here |
//! | a step policy and each alarm whose `AlarmActions` name it | one entry of `deployment.scaling.policies` (`"policy": "step"`) | [`step`] |
//! | alarm `MetricName`/`Namespace`, `Statistic`, `ComparisonOperator`, `Threshold`, `EvaluationPeriods`, `DatapointsToAlarm`, `Period` | the entry's `alarm`, and `scaling.period` | [`alarm`] |
//! | a target tracking policy | `deployment.scaling.targets` (`"policy": "target-tracking"`) | [`tracking`] |
//!
//! Only the policies of one scalable target are read (the first), and one
//! policy kind. A policy, alarm or target that cannot act is reported and
//! left out with every line of it.

mod alarm;
mod sources;
mod step;
mod tracking;

use super::{native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use sources::{Kind, Res};
use std::path::{Path, PathBuf};

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
    files: Vec<PathBuf>,
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

/// A value written compactly for the report (a reference as written).
fn short(v: &Value) -> String {
    let reference = v.as_object().filter(|o| o.len() == 1).and_then(|o| {
        ["Ref", "Expression"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
    });
    let s = match (reference, v) {
        (Some(r), _) => r.to_string(),
        (None, Value::String(s)) => s.clone(),
        (None, other) => other.to_string(),
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

/// A policy's kind: its `PolicyType`, else the configuration it has.
fn kind_of(r: &Res) -> String {
    match r.props.get("PolicyType").and_then(Value::as_str) {
        Some(k) => k.to_string(),
        None if r
            .props
            .contains_key("TargetTrackingScalingPolicyConfiguration") =>
        {
            "TargetTrackingScaling".into()
        }
        None => "StepScaling".into(),
    }
}

/// Every string a value names: itself, a `Ref`'s or `GetAtt`'s resource,
/// a `Sub`'s template, a `Join`'s parts joined, both branches of an `If`,
/// a Terraform expression's text.
fn names_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| names_in(x, out)),
        Value::Object(o) => {
            if let Some(Value::Array(j)) = o.get("Fn::Join") {
                if let (Some(sep), Some(Value::Array(parts))) =
                    (j.first().and_then(Value::as_str), j.get(1))
                {
                    let text: Vec<String> = parts
                        .iter()
                        .map(|p| p.as_str().map_or_else(String::new, str::to_string))
                        .collect();
                    out.push(text.join(sep));
                }
            }
            for (k, x) in o {
                if k != "Fn::Join" {
                    names_in(x, out);
                }
            }
        }
        _ => {}
    }
}

/// Whether a name `n` (from an action or a reference) names resource
/// `id` or policy `name`.
fn names(n: &str, id: &str, name: &str) -> bool {
    let policy = |s: &str| {
        s.rsplit_once("policyName/")
            .is_some_and(|(_, p)| p == name || p.strip_suffix('"').is_some_and(|p| p == name))
    };
    n == id
        || n == name
        || policy(n)
        || n.starts_with(&format!("{id}."))
        || n.contains(&format!("${{{id}."))
}

/// The target a policy acts on, as it names it: a `ResourceId`, or a
/// reference to the target resource.
fn policy_target(p: &Res) -> Option<String> {
    let mut n = Vec::new();
    for k in ["ScalingTargetId", "ResourceId"] {
        if let Some(v) = p.props.get(k) {
            names_in(v, &mut n);
        }
    }
    n.into_iter().next()
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

    /// A whole number from `least` to `u32::MAX` at `key`.
    fn whole(&self, r: &Res, key: &str, v: &Value, least: u32) -> Result<u32, ScenarioError> {
        number(v)
            .filter(|n| n.fract() == 0.0 && *n >= f64::from(least) && *n <= f64::from(u32::MAX))
            .map(|n| n as u32)
            .ok_or_else(|| {
                self.bad(
                    r,
                    &r.loc(key),
                    format!(
                        "`{}` is {}; expected a whole number from {least} to {}",
                        r.written(key),
                        short(v),
                        u32::MAX
                    ),
                )
            })
    }

    /// Marks the mapped lines from `start` on as left out, for `why`.
    fn left_out(&mut self, start: usize, why: &str) {
        for (_, m) in &mut self.report[start..] {
            if matches!(m.outcome, Outcome::Mapped { .. }) {
                m.outcome = ignored(format!("left out: {why}"));
            }
        }
    }

    /// What a key every resource may have means: Terraform's and
    /// CloudFormation's meta-arguments.
    fn meta(&mut self, r: &Res, key: &str) -> bool {
        let outcome = match key {
            "Count" | "ForEach" => lost(
                "count and for_each make several copies (or none); fleetsim reads the resource once, as written",
            ),
            "Dynamic" => lost("dynamic blocks are not expanded"),
            "@Condition" => lost(
                "the resource exists only when its condition holds; fleetsim reads it as created",
            ),
            "DependsOn" | "Provider" | "Lifecycle" | "Tags" | "TagsAll" => {
                ignored("ordering, provider and tags; not what the resource does")
            }
            k if k.starts_with('@') => ignored("a resource attribute (ordering, policies, metadata)"),
            _ => return false,
        };
        self.say(r, key, outcome);
        true
    }

    fn run(&mut self, res: &[Res], wanted: Option<&str>) -> Result<String, ScenarioError> {
        // `count = 0`: Terraform creates none of it.
        let (absent, res): (Vec<&Res>, Vec<&Res>) = res
            .iter()
            .partition(|r| r.props.get("Count").and_then(number) == Some(0.0));
        for r in absent {
            self.push(
                r,
                r.at.clone(),
                r.id.clone(),
                ignored("count = 0: Terraform creates none of it"),
            );
        }
        let target = res.iter().copied().find(|r| r.kind == Kind::Target);
        let mut scaling = Map::new();
        let target_lines = self.report.len();
        if let Some(t) = target {
            self.target(t, &mut scaling)?;
        }
        for extra in res.iter().filter(|r| r.kind == Kind::Target).skip(1) {
            self.push(
                extra,
                extra.at.clone(),
                extra.id.clone(),
                lost("a second scalable target: fleetsim scales one service, the first target's; its policies are left out"),
            );
        }
        self.services(&res, target)?;
        let policies = self.policies_of(&res, target);
        let kind = self.choose_kind(&policies, wanted)?;
        let (acted, used) = match kind.as_deref() {
            Some("StepScaling") => self.step_policies(&res, &policies, &mut scaling)?,
            Some(_) => self.target_tracking(&policies, &mut scaling)?,
            None => (false, Vec::new()),
        };
        for a in res.iter().filter(|r| r.kind == Kind::Alarm) {
            if !used.contains(&a.id) {
                self.unused_alarm(a, &res);
            }
        }
        self.others(&res);
        if !policies.is_empty() && !acted {
            self.left_out(
                target_lines,
                "no policy in the files can act, so the target's bounds have nothing to bound",
            );
            return Ok("no policy that can act".into());
        }
        if !scaling.is_empty() {
            match (target, scaling.contains_key("maxCapacity")) {
                (Some(t), true) => self.validate(&scaling, t)?,
                _ => {
                    if let Some(first) = res.first() {
                        self.push(
                            first,
                            first.at.clone(),
                            "MaxCapacity".into(),
                            lost("no scalable target in the files gives MaxCapacity: give deployment.scaling.maxCapacity in the scenario"),
                        );
                    }
                }
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

    /// The policies of the chosen target (all of them without one); the
    /// others are reported.
    fn policies_of<'r>(&mut self, res: &[&'r Res], target: Option<&Res>) -> Vec<&'r Res> {
        let mut out = Vec::new();
        for p in res.iter().copied().filter(|r| r.kind == Kind::Policy) {
            let ours = match (target, policy_target(p)) {
                (Some(t), Some(named)) => {
                    let rid = t
                        .props
                        .get("ResourceId")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    names(&named, &t.id, rid) || named == rid
                }
                _ => true,
            };
            if ours {
                out.push(p);
            } else {
                self.push(
                    p,
                    p.at.clone(),
                    p.id.clone(),
                    lost("it acts on another scalable target; fleetsim scales one service, the first target's"),
                );
            }
        }
        out
    }

    /// Which policy kind to read: fleetsim runs one per scenario.
    fn choose_kind(
        &mut self,
        policies: &[&Res],
        wanted: Option<&str>,
    ) -> Result<Option<String>, ScenarioError> {
        for p in policies {
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
                let k = kind_of(p);
                let flag = if k == "StepScaling" {
                    "step"
                } else {
                    "target-tracking"
                };
                self.push(
                    p,
                    p.at.clone(),
                    p.id.clone(),
                    lost(format!(
                        "a {k} policy beside {c}: fleetsim runs one policy kind per scenario; read this one with --upstream {flag}"
                    )),
                );
            }
        }
        Ok(chosen)
    }

    fn target(&mut self, t: &Res, scaling: &mut Map<String, Value>) -> Result<(), ScenarioError> {
        for key in t.props.keys() {
            if self.meta(t, key) {
                continue;
            }
            let v = &t.props[key];
            let outcome = match key.as_str() {
                "MinCapacity" => {
                    let n = self.whole(t, key, v, 0)?;
                    scaling.insert("minCapacity".into(), json!(n.max(1)));
                    if n == 0 {
                        lost("MinCapacity 0: fleetsim's step scaling and target tracking keep at least 1 (with no task there is no metric to scale out on); read as 1")
                    } else {
                        mapped(&["scaling.minCapacity"], None)
                    }
                }
                "MaxCapacity" => {
                    let n = self.whole(t, key, v, 1)?;
                    scaling.insert("maxCapacity".into(), json!(n));
                    mapped(&["scaling.maxCapacity"], None)
                }
                "SuspendedState"
                    if v.as_object().is_some_and(|o| {
                        o.values()
                            .any(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
                    }) =>
                {
                    lost("suspended scaling (DynamicScalingInSuspended/OutSuspended) is not simulated")
                }
                "SuspendedState" => mapped(&["scaling"], Some("nothing suspended".into())),
                "ScheduledActions" => {
                    lost("scheduled actions change capacity on a clock fleetsim does not follow")
                }
                _ => ignored("which service and role the target is; fleetsim simulates the one fleet"),
            };
            self.say(t, key, outcome);
        }
        Ok(())
    }

    /// ECS services: the target's (or the only one) starts the region.
    fn services(&mut self, res: &[&Res], target: Option<&Res>) -> Result<(), ScenarioError> {
        let services: Vec<&Res> = res
            .iter()
            .copied()
            .filter(|r| r.kind == Kind::EcsService)
            .collect();
        let name_of = |s: &Res| {
            ["ServiceName", "Name"]
                .iter()
                .find_map(|k| s.props.get(*k).and_then(Value::as_str))
                .map_or_else(
                    || s.id.rsplit('.').next().unwrap_or(&s.id).to_string(),
                    str::to_string,
                )
        };
        let rid = target
            .and_then(|t| t.props.get("ResourceId"))
            .map(|v| {
                let mut n = Vec::new();
                names_in(v, &mut n);
                n.join(" ")
            })
            .unwrap_or_default();
        let chosen = if services.len() == 1 {
            Some(0)
        } else {
            services.iter().position(|s| {
                let name = name_of(s);
                rid.ends_with(&format!("/{name}")) || rid.contains(&format!("{}.", s.id))
            })
        };
        for (i, s) in services.iter().enumerate() {
            if Some(i) != chosen {
                self.push(
                    s,
                    s.at.clone(),
                    s.id.clone(),
                    lost("another ECS service than the scalable target's; fleetsim simulates one"),
                );
                continue;
            }
            let name = name_of(s);
            for key in s.props.keys() {
                if self.meta(s, key) {
                    continue;
                }
                let outcome = match key.as_str() {
                    "DesiredCount" => {
                        let n = self.whole(s, key, &s.props[key], 0)?;
                        super::set_path(
                            &mut self.frag,
                            &["deployment", "regions", &name, "instances"],
                            json!(n),
                        );
                        mapped(&[&format!("regions.{name}.instances")], Some("the tasks the service starts with".into()))
                    }
                    "ServiceName" | "Name" => mapped(&[&format!("regions.{name}")], Some("the region's name".into())),
                    _ => ignored("the service's wiring (cluster, task definition, network, balancer); not what shapes load"),
                };
                self.say(s, key, outcome);
            }
        }
        Ok(())
    }

    /// Resources that are neither targets, services, policies nor alarms.
    fn others(&mut self, res: &[&Res]) {
        for r in res {
            let Kind::Other(t) = &r.kind else { continue };
            let outcome = if t.contains("scheduled_action") || t.contains("ScheduledAction") {
                lost("a scheduled action changes capacity on a clock fleetsim does not follow")
            } else if t == "aws_autoscaling_policy" || t == "AWS::AutoScaling::ScalingPolicy" {
                lost("an EC2 Auto Scaling group's policy; fleetsim reads Application Auto Scaling (ECS services)")
            } else if t.contains("composite_alarm") || t.contains("CompositeAlarm") {
                lost("composite alarms are not simulated")
            } else if t == "variable" || t == "locals" {
                ignored("read where the configuration uses it (var.NAME, local.NAME)")
            } else if t.starts_with("AWS::") || t.starts_with("aws_") {
                ignored(format!("a {t}, not a scaling resource"))
            } else {
                ignored("not what decides scaling (providers, outputs, modules, other keys)")
            };
            self.push(r, r.at.clone(), r.id.clone(), outcome);
        }
    }

    /// The block's bounds checked as the scenario will check them, at the
    /// target.
    fn validate(&self, scaling: &Map<String, Value>, t: &Res) -> Result<(), ScenarioError> {
        let mut block = scaling.clone();
        let policy = block.remove("policy");
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
        check.map_err(|e| self.bad(t, &t.at, format!("as AWS would refuse it: {e}")))
    }
}

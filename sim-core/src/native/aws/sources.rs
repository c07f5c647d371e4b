//! The three ways a team writes its ECS scaling: the API's JSON, a
//! CloudFormation template (YAML with its `!Ref`/`!Sub` tags, or JSON),
//! and Terraform. Each becomes the same list of [`Res`]: a resource's AWS
//! properties under their API (PascalCase) names, with where each is.

use super::super::hcl::{self, Block, Body, Expr};
use super::super::{native_error, Format, Location};
use crate::error::ScenarioError;
use crate::scenario::yaml::{parse_docs_cfn, Doc};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// What a resource is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// `AWS::ApplicationAutoScaling::ScalableTarget`.
    Target,
    /// `AWS::ApplicationAutoScaling::ScalingPolicy`.
    Policy,
    /// `AWS::CloudWatch::Alarm`.
    Alarm,
    /// `AWS::ECS::Service`.
    EcsService,
    /// Anything else, by its type name.
    Other(String),
}

/// One resource, its properties by their API names.
#[derive(Debug, Clone)]
pub(super) struct Res {
    pub(super) kind: Kind,
    /// Its logical id (CloudFormation), label (Terraform) or name (API).
    pub(super) id: String,
    pub(super) at: Location,
    pub(super) props: Map<String, Value>,
    /// Where each property is, by its path inside `props`.
    pub(super) places: Vec<(String, Location)>,
    /// How the file names the resource's keys (`Properties.`, snake_case).
    pub(super) style: Style,
    /// Which of the files read together it is in.
    pub(super) file: usize,
}

/// How keys are written in the file, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Style {
    Api,
    Terraform,
}

impl Res {
    /// Where the property at `path` (or the nearest enclosing one) is.
    pub(super) fn loc(&self, path: &str) -> Location {
        let mut p = path;
        loop {
            if let Some((_, l)) = self.places.iter().find(|(q, _)| q == p) {
                return l.clone();
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.at.clone(),
            }
        }
    }

    /// `path` as the file writes it.
    pub(super) fn written(&self, path: &str) -> String {
        if let Some(attr) = path.strip_prefix('@') {
            return format!("{}.{attr}", self.id);
        }
        match self.style {
            Style::Api => format!("{}.{path}", self.id),
            Style::Terraform => format!("{}.{}", self.id, snake_path(path)),
        }
    }
}

/// `StepScalingPolicyConfiguration.StepAdjustments[0].ScalingAdjustment`
/// as Terraform writes it.
fn snake_path(path: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c);
        }
    }
    out.replace("step_adjustments", "step_adjustment")
}

fn loc_of(d: &Doc, path: &str) -> Location {
    let (line, column) = d.at(path);
    Location { line, column }
}

/// The places under `prefix` in `d`, relative to it.
fn places_under(d: &Doc, prefix: &str) -> Vec<(String, Location)> {
    d.places
        .iter()
        .filter_map(|(p, l, c)| {
            let rest = p.strip_prefix(prefix)?.strip_prefix('.')?;
            Some((
                rest.to_string(),
                Location {
                    line: *l,
                    column: *c,
                },
            ))
        })
        .collect()
}

/// Whether `v` is a CloudFormation template.
fn is_template(v: &Value) -> bool {
    v.get("Resources").is_some_and(Value::is_object) || v.get("AWSTemplateFormatVersion").is_some()
}

/// Reads a CloudFormation template or the API's JSON (both YAML-readable).
pub(super) fn from_document(text: &str, path: &Path) -> Result<Vec<Res>, ScenarioError> {
    let mut docs = parse_docs_cfn(text, path)?;
    if docs.len() != 1 {
        return Err(native_error(
            path,
            Format::Aws,
            &Location { line: 1, column: 1 },
            format!(
                "{} documents; give one CloudFormation template or one JSON document",
                docs.len()
            ),
        ));
    }
    let d = docs.remove(0);
    if is_template(&d.value) {
        from_template(&d, path)
    } else {
        from_api(&d, path)
    }
}

fn type_kind(t: &str) -> Kind {
    match t {
        "AWS::ApplicationAutoScaling::ScalableTarget" => Kind::Target,
        "AWS::ApplicationAutoScaling::ScalingPolicy" => Kind::Policy,
        "AWS::CloudWatch::Alarm" => Kind::Alarm,
        "AWS::ECS::Service" => Kind::EcsService,
        other => Kind::Other(other.to_string()),
    }
}

fn from_template(d: &Doc, path: &Path) -> Result<Vec<Res>, ScenarioError> {
    let params: HashMap<String, Value> = d
        .value
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.get("Default")?.clone())))
                .collect()
        })
        .unwrap_or_default();
    let Some(resources) = d.value.get("Resources").and_then(Value::as_object) else {
        return Err(native_error(
            path,
            Format::Aws,
            &loc_of(d, "Resources"),
            "`Resources` must be a mapping of logical ids to resources",
        ));
    };
    let mut out = Vec::new();
    for (id, r) in resources {
        let here = format!("Resources.{id}");
        let Some(t) = r.get("Type").and_then(Value::as_str) else {
            return Err(native_error(
                path,
                Format::Aws,
                &loc_of(d, &here),
                format!("resource `{id}` has no `Type`"),
            ));
        };
        let mut props = match r.get("Properties") {
            None => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => {
                return Err(native_error(
                    path,
                    Format::Aws,
                    &loc_of(d, &format!("{here}.Properties")),
                    format!("`{id}.Properties` must be a mapping"),
                ))
            }
        };
        for v in props.values_mut() {
            resolve_parameters(v, &params);
        }
        let mut places = places_under(d, &format!("{here}.Properties"));
        // Resource attributes beside `Properties` (`Condition`,
        // `DependsOn`, ...) are reported with them, marked by `@`.
        if let Some(o) = r.as_object() {
            for (k, v) in o {
                if k != "Type" && k != "Properties" {
                    props.insert(format!("@{k}"), v.clone());
                    places.push((format!("@{k}"), loc_of(d, &format!("{here}.{k}"))));
                }
            }
        }
        out.push(Res {
            kind: type_kind(t),
            id: id.clone(),
            at: loc_of(d, &here),
            props,
            places,
            style: Style::Api,
            file: 0,
        });
    }
    Ok(out)
}

/// `{"Ref": P}` of a parameter with a `Default` becomes that default.
fn resolve_parameters(v: &mut Value, params: &HashMap<String, Value>) {
    let param = v
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("Ref"))
        .and_then(Value::as_str)
        .and_then(|p| params.get(p));
    if let Some(d) = param {
        *v = d.clone();
        return;
    }
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_parameters(x, params)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_parameters(x, params)),
        _ => {}
    }
}

/// The API's JSON: `describe-*` outputs (`ScalableTargets`,
/// `ScalingPolicies`, `MetricAlarms`, together or apart), or one
/// `put-scaling-policy` / `put-metric-alarm` / `register-scalable-target`
/// input.
fn from_api(d: &Doc, path: &Path) -> Result<Vec<Res>, ScenarioError> {
    let Some(top) = d.value.as_object() else {
        return Err(native_error(
            path,
            Format::Aws,
            &loc_of(d, ""),
            "expected a JSON object (a scaling policy, an alarm, a scalable target, or the output of describe-scaling-policies, describe-alarms or describe-scalable-targets)",
        ));
    };
    let mut out = Vec::new();
    let mut listed = false;
    for (key, kind, name) in [
        ("ScalableTargets", Kind::Target, "ResourceId"),
        ("ScalingPolicies", Kind::Policy, "PolicyName"),
        ("MetricAlarms", Kind::Alarm, "AlarmName"),
    ] {
        let Some(list) = top.get(key) else { continue };
        listed = true;
        let Some(list) = list.as_array() else {
            return Err(native_error(
                path,
                Format::Aws,
                &loc_of(d, key),
                format!("`{key}` must be a list"),
            ));
        };
        for (i, item) in list.iter().enumerate() {
            let here = format!("{key}[{i}]");
            let props = item.as_object().cloned().ok_or_else(|| {
                native_error(
                    path,
                    Format::Aws,
                    &loc_of(d, &here),
                    format!("`{here}` must be an object"),
                )
            })?;
            out.push(api_res(d, &here, kind.clone(), name, props));
        }
    }
    for key in top.keys() {
        if listed
            && ![
                "ScalableTargets",
                "ScalingPolicies",
                "MetricAlarms",
                "NextToken",
            ]
            .contains(&key.as_str())
        {
            out.push(Res {
                kind: Kind::Other(key.clone()),
                id: key.clone(),
                at: loc_of(d, key),
                props: Map::new(),
                places: Vec::new(),
                style: Style::Api,
                file: 0,
            });
        }
    }
    if listed {
        return Ok(out);
    }
    let (kind, name) = if top.contains_key("PolicyType")
        || top.contains_key("StepScalingPolicyConfiguration")
        || top.contains_key("TargetTrackingScalingPolicyConfiguration")
    {
        (Kind::Policy, "PolicyName")
    } else if top.contains_key("StepAdjustments") {
        // A bare StepScalingPolicyConfiguration.
        let mut props = Map::new();
        props.insert("PolicyType".into(), "StepScaling".into());
        props.insert(
            "StepScalingPolicyConfiguration".into(),
            Value::Object(top.clone()),
        );
        let mut r = api_res(d, "", Kind::Policy, "PolicyName", props);
        r.places = places_under_root(d, "StepScalingPolicyConfiguration");
        return Ok(vec![r]);
    } else if top.contains_key("ComparisonOperator") || top.contains_key("MetricName") {
        (Kind::Alarm, "AlarmName")
    } else if top.contains_key("MaxCapacity") || top.contains_key("MinCapacity") {
        (Kind::Target, "ResourceId")
    } else {
        return Err(native_error(
            path,
            Format::Aws,
            &loc_of(d, ""),
            "not an AWS scaling document: expected a CloudFormation template (`Resources`), a scaling policy (`PolicyType`), a step configuration (`StepAdjustments`), an alarm (`ComparisonOperator`), a scalable target (`MaxCapacity`), or describe output (`ScalingPolicies`, `MetricAlarms`, `ScalableTargets`)",
        ));
    };
    Ok(vec![api_res(d, "", kind, name, top.clone())])
}

/// Every place of the document, put under `prefix`.
fn places_under_root(d: &Doc, prefix: &str) -> Vec<(String, Location)> {
    d.places
        .iter()
        .map(|(p, l, c)| {
            (
                format!("{prefix}.{p}"),
                Location {
                    line: *l,
                    column: *c,
                },
            )
        })
        .collect()
}

fn api_res(d: &Doc, here: &str, kind: Kind, name_key: &str, props: Map<String, Value>) -> Res {
    let id = props.get(name_key).and_then(Value::as_str).map_or_else(
        || {
            if here.is_empty() {
                "document".into()
            } else {
                here.to_string()
            }
        },
        str::to_string,
    );
    let places = if here.is_empty() {
        d.places
            .iter()
            .map(|(p, l, c)| {
                (
                    p.clone(),
                    Location {
                        line: *l,
                        column: *c,
                    },
                )
            })
            .collect()
    } else {
        places_under(d, here)
    };
    Res {
        kind,
        id,
        at: loc_of(d, here),
        props,
        places,
        style: Style::Api,
        file: 0,
    }
}

/// A Terraform configuration's AWS scaling resources.
pub(super) fn from_terraform(text: &str, path: &Path) -> Result<Vec<Res>, ScenarioError> {
    let body = hcl::parse(text).map_err(|(at, m)| native_error(path, Format::Aws, &at, m))?;
    let vars = terraform_values(&body);
    let mut out = Vec::new();
    for b in &body.blocks {
        match (b.kind.as_str(), b.labels.as_slice()) {
            ("resource", [t, id]) => {
                let kind = match t.as_str() {
                    "aws_appautoscaling_target" => Kind::Target,
                    "aws_appautoscaling_policy" => Kind::Policy,
                    "aws_cloudwatch_metric_alarm" => Kind::Alarm,
                    "aws_ecs_service" => Kind::EcsService,
                    other => Kind::Other(other.to_string()),
                };
                let mut places = Vec::new();
                let props = tf_body(&b.body, "", &vars, &mut places);
                out.push(Res {
                    kind,
                    id: format!("{t}.{id}"),
                    at: b.at.clone(),
                    props,
                    places,
                    style: Style::Terraform,
                    file: 0,
                });
            }
            _ => out.push(Res {
                kind: Kind::Other(b.kind.clone()),
                id: std::iter::once(b.kind.as_str())
                    .chain(b.labels.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("."),
                at: b.at.clone(),
                props: Map::new(),
                places: Vec::new(),
                style: Style::Terraform,
                file: 0,
            }),
        }
    }
    for a in &body.attrs {
        out.push(Res {
            kind: Kind::Other(a.name.clone()),
            id: a.name.clone(),
            at: a.at.clone(),
            props: Map::new(),
            places: Vec::new(),
            style: Style::Terraform,
            file: 0,
        });
    }
    Ok(out)
}

/// `var.NAME` (a variable's `default`) and `local.NAME`.
fn terraform_values(body: &Body) -> HashMap<String, Expr> {
    let mut out = HashMap::new();
    for b in &body.blocks {
        match (b.kind.as_str(), b.labels.as_slice()) {
            ("variable", [name]) => {
                if let Some(d) = b.body.attr("default") {
                    out.insert(format!("var.{name}"), d.value.clone());
                }
            }
            ("locals", []) => {
                for a in &b.body.attrs {
                    out.insert(format!("local.{}", a.name), a.value.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// `snake_case` as `PascalCase`.
fn pascal(s: &str) -> String {
    let special = match s {
        "step_adjustment" => Some("StepAdjustments"),
        "dimensions" => Some("Dimensions"),
        _ => None,
    };
    if let Some(p) = special {
        return p.to_string();
    }
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn tf_body(
    body: &Body,
    prefix: &str,
    vars: &HashMap<String, Expr>,
    places: &mut Vec<(String, Location)>,
) -> Map<String, Value> {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    let mut m = Map::new();
    for a in &body.attrs {
        let key = pascal(&a.name);
        places.push((join(&key), a.at.clone()));
        m.insert(key, tf_value(&a.value, vars, 0));
    }
    let mut lists: Vec<(String, Vec<&Block>)> = Vec::new();
    for b in &body.blocks {
        let key = pascal(&b.kind);
        match lists.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(b),
            None => lists.push((key, vec![b])),
        }
    }
    for (key, blocks) in lists {
        // Blocks that repeat (`step_adjustment`) are a list; others one
        // object.
        let repeated = key == "StepAdjustments" || blocks.len() > 1;
        if repeated {
            let mut items = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                let here = format!("{}[{i}]", join(&key));
                places.push((here.clone(), b.at.clone()));
                items.push(Value::Object(tf_body(&b.body, &here, vars, places)));
            }
            m.insert(key, Value::Array(items));
        } else {
            let here = join(&key);
            places.push((here.clone(), blocks[0].at.clone()));
            m.insert(
                key,
                Value::Object(tf_body(&blocks[0].body, &here, vars, places)),
            );
        }
    }
    m
}

/// An expression as a value: references to a resource become
/// `{"Ref": "type.label"}`, to a variable or local its value, anything
/// else `{"Expression": text}`.
fn tf_value(e: &Expr, vars: &HashMap<String, Expr>, depth: usize) -> Value {
    match e {
        Expr::Str(s) => Value::String(s.clone()),
        Expr::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(*n as i64),
        Expr::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Null => Value::Null,
        Expr::List(items) => Value::Array(
            items
                .iter()
                .map(|(x, _)| tf_value(x, vars, depth + 1))
                .collect(),
        ),
        Expr::Object(items) => Value::Object(
            items
                .iter()
                .map(|(k, x, _)| (k.clone(), tf_value(x, vars, depth + 1)))
                .collect(),
        ),
        Expr::Ref(r) if (r.starts_with("var.") || r.starts_with("local.")) && depth < 8 => {
            match vars.get(r) {
                Some(v) => tf_value(v, vars, depth + 1),
                None => single("Expression", r),
            }
        }
        // `aws_appautoscaling_policy.up.arn`: a reference to a resource,
        // kept as written.
        Expr::Ref(r) if r.starts_with("aws_") && r.contains('.') => single("Ref", r),
        Expr::Ref(r) => single("Expression", r),
        Expr::Other(t) => single("Expression", t),
    }
}

fn single(k: &str, v: &str) -> Value {
    let mut m = Map::new();
    m.insert(k.to_string(), Value::String(v.to_string()));
    Value::Object(m)
}

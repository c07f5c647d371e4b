//! The seed docs' own config files: AgenticGoKit's `agentflow.toml`,
//! General Bots' `config.csv`, and SwiftClaw's deployment JSON blocks.
//! Each is read as its framework reads it; the mapping is the one
//! `scenarios/REFERENCE.md` gives for the seed scenarios.
//!
//! | file | becomes |
//! |---|---|
//! | `agentflow.toml` `[runtime] timeout_seconds` | `deployment.limits.requestTimeout` |
//! | `[load_balancer] strategy`, `health_check_interval`, `unhealthy_threshold`, `healthy_threshold` | `deployment.loadBalancing.strategy`, `deployment.healthCheck` |
//! | `[scaling]` `min_instances`, `max_instances`, `target_cpu_utilization`, `target_memory_utilization`, `scale_up_cooldown`, `scale_down_cooldown` | `deployment.scaling` (`threshold`), in camelCase |
//! | `config.csv` `scale-*`, `scale-rule-*` | `deployment.scaling` (`threshold`) and its `rules` |
//! | `rate-limit-*` | `deployment.rateLimit` (`token-bucket`) |
//! | `health-*`, `circuit-breaker-*` | `deployment.healthCheck`, `deployment.circuitBreaker` |
//! | a JSON object of deployment keys (SwiftClaw's blocks) | `deployment`, as written |

use super::{mapped, native_error, set_path as set, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The line and column of `key` in `[section]` of a TOML text.
fn toml_at(text: &str, section: &str, key: &str) -> Location {
    let mut in_section = section.is_empty();
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            in_section = t.trim_matches(['[', ']']) == section;
            continue;
        }
        if in_section && t.split(['=', ' ']).next() == Some(key) {
            return Location {
                line: n + 1,
                column: l.len() - l.trim_start().len() + 1,
            };
        }
    }
    Location { line: 1, column: 1 }
}

/// A duration written as a string with a unit, or a number of seconds.
fn secs_or_duration(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => strategies::DurationStr::parse(s)
            .ok()
            .map(|d| d.to_string()),
        Value::Number(n) => n.as_u64().map(|s| format!("{s}s")),
        _ => None,
    }
}

/// AgenticGoKit's `agentflow.toml`.
pub(crate) fn agentflow(text: &str, path: &Path) -> Result<Import, ScenarioError> {
    let doc: Value = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| {
            let before = &text[..s.start.min(text.len())];
            (
                before.matches('\n').count() + 1,
                before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            )
        });
        native_error(
            path,
            Format::Agentflow,
            &Location { line, column },
            e.message().to_string(),
        )
    })?;
    let mut dep = Map::new();
    let mut report = Vec::new();
    let mut push = |section: &str, key: &str, v: &Value, outcome: Outcome| {
        report.push(Mapping {
            at: toml_at(text, section, key),
            directive: format!("[{section}] {key} = {v}"),
            outcome,
        });
    };
    let empty = Map::new();
    for (section, table) in doc.as_object().unwrap_or(&empty) {
        let Some(t) = table.as_object() else {
            push(
                "",
                section,
                table,
                Outcome::Unsupported {
                    lost: "a key outside any table: not read".into(),
                },
            );
            continue;
        };
        for (key, v) in t {
            let bad = |what: &str| {
                native_error(
                    path,
                    Format::Agentflow,
                    &toml_at(text, section, key),
                    format!("`{key}`: expected {what}"),
                )
            };
            let outcome = match (section.as_str(), key.as_str()) {
                ("runtime", "timeout_seconds") => {
                    let s = v.as_u64().ok_or_else(|| bad("a whole number of seconds"))?;
                    set(&mut dep, &["limits", "requestTimeout"], json!(format!("{s}s")));
                    mapped(&["limits.requestTimeout"], None)
                }
                ("runtime", "max_concurrent_agents") => Outcome::Unsupported { lost: format!("the agents one instance runs at once: give it as your instance type's `slots` ({v}); the file does not name the type") },
                ("runtime", "enable_metrics" | "metrics_port") => Outcome::Ignored { why: "metrics export".into() },
                ("load_balancer", "strategy") => {
                    set(&mut dep, &["loadBalancing", "strategy"], v.clone());
                    mapped(&["loadBalancing.strategy"], Some("AgenticGoKit's names are read as aliases (`performance_based`, `least_connections`)".into()))
                }
                ("load_balancer", "health_check_interval") => {
                    let d = secs_or_duration(v).ok_or_else(|| bad("a duration such as \"30s\""))?;
                    set(&mut dep, &["healthCheck", "interval"], json!(d));
                    mapped(&["healthCheck.interval"], None)
                }
                ("load_balancer", "unhealthy_threshold" | "healthy_threshold") => {
                    let k = if key == "unhealthy_threshold" { "unhealthyThreshold" } else { "healthyThreshold" };
                    set(&mut dep, &["healthCheck", k], v.clone());
                    mapped(&[&format!("healthCheck.{k}")], None)
                }
                ("scaling", "min_instances" | "max_instances" | "target_cpu_utilization" | "target_memory_utilization") => {
                    let k = match key.as_str() {
                        "min_instances" => "minInstances",
                        "max_instances" => "maxInstances",
                        "target_cpu_utilization" => "targetCpuUtilization",
                        _ => "targetMemoryUtilization",
                    };
                    set(&mut dep, &["scaling", k], v.clone());
                    mapped(&[&format!("scaling.{k}")], Some("the AutoScaler's threshold policy".into()))
                }
                ("scaling", "scale_up_cooldown" | "scale_down_cooldown") => {
                    let d = secs_or_duration(v).ok_or_else(|| bad("a duration such as \"2m\""))?;
                    let k = if key == "scale_up_cooldown" { "scaleUpCooldown" } else { "scaleDownCooldown" };
                    set(&mut dep, &["scaling", k], json!(d));
                    mapped(&[&format!("scaling.{k}")], None)
                }
                ("shared_resources", _) => {
                    let placeholder = v.as_str().is_some_and(|s| s.contains("${"));
                    Outcome::Ignored { why: format!("connection strings of shared stores: no simulation meaning{}", if placeholder { " (the value is a placeholder, not needed)" } else { "" }) }
                }
                _ => Outcome::Unsupported { lost: format!("`[{section}] {key}` is not known to fleetsim's agentflow.toml reader") },
            };
            push(section, key, v, outcome);
        }
    }
    report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Agentflow,
        source: "agentflow.toml".into(),
        fragment: json!({ "deployment": Value::Object(dep) }),
        report,
    })
}

/// General Bots' `config.csv`: `key,value` lines.
pub(crate) fn config_csv(text: &str, path: &Path) -> Result<Import, ScenarioError> {
    let mut rows: Vec<(String, String, Location)> = Vec::new();
    for (n, l) in text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
    {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let at = Location {
            line: n + 1,
            column: l.len() - l.trim_start().len() + 1,
        };
        let Some((k, v)) = t.split_once(',') else {
            return Err(native_error(
                path,
                Format::ConfigCsv,
                &at,
                format!("`{t}`: expected `key,value`"),
            ));
        };
        let (k, v) = (
            k.trim().trim_matches('"').to_string(),
            v.trim().trim_matches('"').to_string(),
        );
        if n == 0 && k.eq_ignore_ascii_case("name") {
            continue;
        }
        rows.push((k, v, at));
    }
    let get = |k: &str| rows.iter().find(|r| r.0 == k).map(|r| r.1.clone());
    let num = |k: &str, v: &str, at: &Location| -> Result<f64, ScenarioError> {
        v.parse::<f64>().map_err(|_| {
            native_error(
                path,
                Format::ConfigCsv,
                at,
                format!("`{k},{v}`: expected a number"),
            )
        })
    };
    let on = |k: &str| get(k).is_none_or(|v| v != "false");
    let mut dep = Map::new();
    let mut report = Vec::new();
    let mut rules: Vec<Value> = Vec::new();
    let scaling = get("scale-enabled").as_deref() == Some("true");
    for (k, v, at) in &rows {
        let int = |x: f64| {
            if x.fract() == 0.0 {
                json!(x as u64)
            } else {
                json!(x)
            }
        };
        let outcome = match k.as_str() {
            "scale-enabled" => if scaling { mapped(&["scaling"], Some("the threshold autoscaler, with the scale-* keys".into())) } else { Outcome::Mapped { keys: vec![], note: Some("autoscaling off: the scale-* keys are not read".into()) } },
            s if s.starts_with("scale-") && !scaling => Outcome::Ignored { why: "scale-enabled is not true".into() },
            "scale-min-instances" | "scale-max-instances" | "scale-cpu-threshold" | "scale-memory-threshold" | "scale-request-threshold" => {
                let camel = match k.as_str() {
                    "scale-min-instances" => "scaleMinInstances",
                    "scale-max-instances" => "scaleMaxInstances",
                    "scale-cpu-threshold" => "scaleCpuThreshold",
                    "scale-memory-threshold" => "scaleMemoryThreshold",
                    _ => "scaleRequestThreshold",
                };
                set(&mut dep, &["scaling", camel], int(num(k, v, at)?));
                mapped(&[&format!("scaling.{camel}")], None)
            }
            "scale-cooldown-seconds" | "scale-check-interval" => {
                let camel = if k == "scale-cooldown-seconds" { "scaleCooldownSeconds" } else { "scaleCheckInterval" };
                set(&mut dep, &["scaling", camel], json!(format!("{}s", num(k, v, at)? as u64)));
                mapped(&[&format!("scaling.{camel}")], Some("seconds".into()))
            }
            s if s.starts_with("scale-rule-") && s.ends_with("-action") => mapped(&["scaling.rules"], None),
            s if s.starts_with("scale-rule-") => {
                let name = &s["scale-rule-".len()..];
                let metric = if name.contains("response") { "responseTime" } else if name.contains("cpu") { "cpu" } else if name.contains("memory") { "memory" } else if name.contains("queue") { "queueDepth" } else if name.contains("connection") { "connections" } else if name.contains("request") { "requestsPerMinute" } else { "" };
                if metric.is_empty() {
                    Outcome::Unsupported { lost: format!("a rule on `{name}`: not a metric fleetsim measures") }
                } else {
                    let below = name.ends_with("-low");
                    let first = name.split('-').next().unwrap_or("");
                    let action = rows.iter().find(|r| r.0.starts_with(&format!("scale-rule-{first}")) && r.0.ends_with("-action")).map_or(if below { "down" } else { "up" }.to_string(), |r| r.1.clone());
                    let mut rule = Map::new();
                    rule.insert("metric".into(), json!(metric));
                    rule.insert(if below { "below" } else { "above" }.into(), int(num(k, v, at)?));
                    rule.insert("action".into(), json!(action));
                    rules.push(Value::Object(rule));
                    mapped(&["scaling.rules"], Some(format!("{metric} {} {v}: {action}", if below { "below" } else { "above" })))
                }
            }
            "rate-limit-enabled" => if on("rate-limit-enabled") { mapped(&["rateLimit"], None) } else { Outcome::Mapped { keys: vec![], note: Some("rate limiting off".into()) } },
            s if s.starts_with("rate-limit-") && !on("rate-limit-enabled") => Outcome::Ignored { why: "rate-limit-enabled is false".into() },
            "rate-limit-requests" | "rate-limit-burst" => {
                let camel = if k == "rate-limit-requests" { "requests" } else { "burst" };
                set(&mut dep, &["rateLimit", camel], int(num(k, v, at)?));
                set(&mut dep, &["rateLimit", "strategy"], json!("token-bucket"));
                mapped(&[&format!("rateLimit.{camel}")], None)
            }
            "rate-limit-window" => {
                set(&mut dep, &["rateLimit", "window"], json!(format!("{}s", num(k, v, at)? as u64)));
                mapped(&["rateLimit.window"], Some("seconds".into()))
            }
            "rate-limit-by" => {
                set(&mut dep, &["rateLimit", "key"], json!(v));
                mapped(&["rateLimit.key"], Some("give workload.users".into()))
            }
            s if s.starts_with("rate-limit-api-") => Outcome::Unsupported { lost: format!("a per-endpoint limit ({v} a window): it needs request classes and routes (scenarios/agents/routes.json shows them)") },
            "health-enabled" => if on("health-enabled") { mapped(&["healthCheck"], None) } else { Outcome::Mapped { keys: vec![], note: Some("health checks off".into()) } },
            s if s.starts_with("health-") && !on("health-enabled") => Outcome::Ignored { why: "health-enabled is false".into() },
            "health-endpoint" => Outcome::Ignored { why: "what a check asks: a fleetsim check passes while the instance is up".into() },
            "health-interval" | "health-timeout" => {
                let camel = if k == "health-interval" { "interval" } else { "timeout" };
                set(&mut dep, &["healthCheck", camel], json!(format!("{}s", num(k, v, at)? as u64)));
                mapped(&[&format!("healthCheck.{camel}")], Some("seconds".into()))
            }
            "health-retries" => {
                set(&mut dep, &["healthCheck", "unhealthyThreshold"], int(num(k, v, at)?));
                set(&mut dep, &["healthCheck", "healthyThreshold"], json!(1));
                mapped(&["healthCheck.unhealthyThreshold"], Some("one passing check brings an instance back".into()))
            }
            "circuit-breaker-enabled" => if on("circuit-breaker-enabled") { mapped(&["circuitBreaker"], None) } else { Outcome::Mapped { keys: vec![], note: Some("breakers off".into()) } },
            s if s.starts_with("circuit-breaker-") && !on("circuit-breaker-enabled") => Outcome::Ignored { why: "circuit-breaker-enabled is false".into() },
            "circuit-breaker-threshold" | "circuit-breaker-half-open-requests" => {
                let camel = if k == "circuit-breaker-threshold" { "failureThreshold" } else { "halfOpenRequests" };
                set(&mut dep, &["circuitBreaker", camel], int(num(k, v, at)?));
                mapped(&[&format!("circuitBreaker.{camel}")], None)
            }
            "circuit-breaker-timeout" => {
                set(&mut dep, &["circuitBreaker", "resetTimeout"], json!(format!("{}s", num(k, v, at)? as u64)));
                mapped(&["circuitBreaker.resetTimeout"], Some("seconds open before trial requests".into()))
            }
            s if s.starts_with("fallback-llm") => Outcome::Unsupported { lost: "a local fallback model: give it as llm.models.<primary>.fallback with its latency".into() },
            s if s.starts_with("fallback-") => Outcome::Unsupported { lost: "a fallback for a store fleetsim does not model".into() },
            _ => Outcome::Unsupported { lost: format!("`{k}` is not known to fleetsim's config.csv reader") },
        };
        report.push(Mapping {
            at: at.clone(),
            directive: format!("{k},{v}"),
            outcome,
        });
    }
    if scaling && !rules.is_empty() {
        set(&mut dep, &["scaling", "rules"], Value::Array(rules.clone()));
        // The doc's rules say when to scale down: the built-in rule is off.
        if rules.iter().any(|r| r["action"] == "down") {
            set(&mut dep, &["scaling", "lowWatermark"], json!(0));
        }
    }
    report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::ConfigCsv,
        source: "config.csv".into(),
        fragment: json!({ "deployment": Value::Object(dep) }),
        report,
    })
}

/// A JSON object of deployment keys, as SwiftClaw's docs write them. Three
/// of its shapes differ from a scenario's and are read as SwiftClaw means
/// them: a `healthCheck` inside `loadBalancing`, an idle timeout, and
/// weights by SwiftClaw's instance names.
pub(crate) fn deployment_json(text: &str, path: &Path) -> Result<Import, ScenarioError> {
    let mut v = crate::scenario::scenario_json_from_str(text, path)?;
    let line_of = |key: &str| {
        let line = text
            .find(&format!("\"{key}\""))
            .map_or(1, |i| text[..i].matches('\n').count() + 1);
        Location { line, column: 1 }
    };
    let Value::Object(o) = &mut v else {
        return Err(native_error(
            path,
            Format::DeploymentJson,
            &Location { line: 1, column: 1 },
            "expected a JSON object of deployment keys",
        ));
    };
    let mut report = Vec::new();
    // `loadBalancing.healthCheck` is the deployment's health check.
    let nested = o
        .get_mut("loadBalancing")
        .and_then(Value::as_object_mut)
        .and_then(|lb| lb.remove("healthCheck"));
    if let Some(h) = nested {
        o.insert("healthCheck".into(), h);
        report.push(Mapping {
            at: line_of("healthCheck"),
            directive: "loadBalancing.healthCheck".into(),
            outcome: mapped(
                &["healthCheck"],
                Some("SwiftClaw nests it in loadBalancing; it checks every instance".into()),
            ),
        });
    }
    // An idle timeout has no meaning without connection reuse.
    let idle = o
        .get_mut("timeouts")
        .and_then(Value::as_object_mut)
        .and_then(|t| t.remove("idle"));
    if let Some(i) = idle {
        report.push(Mapping {
            at: line_of("idle"),
            directive: format!("timeouts.idle {i}"),
            outcome: Outcome::Ignored { why: "keep-alive connections are not modelled, so an idle timeout could not change a run".into() },
        });
    }
    // Weights by SwiftClaw's instance names (`instance-1`): fleetsim names
    // instances `region/index` and cannot tell which is which.
    let named: Vec<String> = o
        .get("loadBalancing")
        .and_then(|lb| lb.get("weighted"))
        .and_then(Value::as_object)
        .map(|w| {
            w.keys()
                .filter(|k| k.starts_with("instance-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !named.is_empty() {
        if let Some(lb) = o.get_mut("loadBalancing").and_then(Value::as_object_mut) {
            if let Some(w) = lb.get_mut("weighted").and_then(Value::as_object_mut) {
                for k in &named {
                    w.remove(k);
                }
                if w.is_empty() {
                    lb.remove("weighted");
                }
            }
            if lb.is_empty() {
                o.remove("loadBalancing");
            }
        }
        report.push(Mapping {
            at: line_of(&named[0]),
            directive: format!("loadBalancing.weighted {}", named.join(", ")),
            outcome: Outcome::Unsupported { lost: "weights by SwiftClaw's instance names: fleetsim names instances `region/index` (e.g. `us-east-1/0`); write the weights by those names in the scenario".into() },
        });
    }
    // Keys a deployment does not have (a whole scenario's `run`, say) are
    // not deployment settings.
    const KEYS: &[&str] = &[
        "regions",
        "loadBalancing",
        "limits",
        "timeouts",
        "healthCheck",
        "outlierDetection",
        "passiveHealth",
        "circuitBreaker",
        "rateLimit",
        "rateLimits",
        "routes",
        "retries",
        "scaling",
        "metrics",
        "budget",
    ];
    let foreign: Vec<String> = o
        .keys()
        .filter(|k| !KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in &foreign {
        o.remove(k);
        report.push(Mapping {
            at: line_of(k),
            directive: k.clone(),
            outcome: Outcome::Unsupported {
                lost: format!(
                    "`{k}` is not a deployment key ({}); a whole scenario is run, not imported",
                    KEYS.join(", ")
                ),
            },
        });
    }
    for k in o.keys() {
        report.push(Mapping {
            at: line_of(k),
            directive: k.clone(),
            outcome: mapped(&[k], Some("as written: a scenario's deployment key".into())),
        });
    }
    report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::DeploymentJson,
        source: "deployment keys".into(),
        fragment: json!({ "deployment": v }),
        report,
    })
}

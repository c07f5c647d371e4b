//! Kubernetes manifests: a `Deployment`, its `HorizontalPodAutoscaler`
//! (`autoscaling/v2` or `v1`) and a KEDA `ScaledObject`, in one YAML
//! stream (`---` between documents).
//!
//! Reference: the Kubernetes API (apps/v1 Deployment, autoscaling/v2 and
//! v1 HorizontalPodAutoscaler, core/v1 Probe and ResourceRequirements) and
//! KEDA's `ScaledObject` specification (keda.sh/v1alpha1).
//!
//! | object | becomes |
//! |---|---|
//! | `Deployment` `metadata.name`, `spec.replicas` (default 1) | `deployment.regions.NAME` with `instances`, `instanceType: NAME` |
//! | its container's `resources.limits.cpu` / `memory` | `instanceTypes.NAME.cpus` / `memory` |
//! | `readinessProbe` (`periodSeconds`, `timeoutSeconds`, `failureThreshold`, `successThreshold`) | `deployment.healthCheck` |
//! | `terminationGracePeriodSeconds` (default 30), `readinessProbe.initialDelaySeconds` | `instanceTypes.NAME.drainTimeout`, `startupTime` (with an autoscaler) |
//! | `HorizontalPodAutoscaler` `spec` (`minReplicas`, `maxReplicas`, `metrics`, `behavior`) | `deployment.scaling` (`policy: hpa`), as written |
//! | `autoscaling/v1` `targetCPUUtilizationPercentage` (default 80) | a `Resource` `cpu` metric |
//! | `ScaledObject` (`minReplicaCount`, `maxReplicaCount`, `pollingInterval`, `advanced.horizontalPodAutoscalerConfig.behavior`, triggers `cpu`, `memory`, `prometheus`) | `deployment.scaling` (`policy: hpa`, the HPA KEDA creates) |

use super::{native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use crate::scenario::yaml::{parse_docs, Doc};
use serde_json::{json, Map, Value};
use std::path::Path;

struct Reader<'a> {
    path: &'a Path,
    report: Vec<Mapping>,
    frag: Map<String, Value>,
}

fn loc(d: &Doc, path: &str) -> Location {
    let (line, column) = d.at(path);
    Location { line, column }
}

impl Reader<'_> {
    fn push(&mut self, d: &Doc, path: &str, directive: String, outcome: Outcome) {
        self.report.push(Mapping {
            at: loc(d, path),
            directive,
            outcome,
        });
    }

    fn set(&mut self, path: &[&str], v: Value) {
        super::set_path(&mut self.frag, path, v);
    }

    fn bad(&self, d: &Doc, path: &str, msg: impl Into<String>) -> ScenarioError {
        native_error(self.path, Format::Kubernetes, &loc(d, path), msg)
    }
}

fn mapped(keys: &[&str], note: Option<String>) -> Outcome {
    Outcome::Mapped {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        note,
    }
}

/// A Kubernetes CPU quantity (`500m`, `2`, `1.5`) in cores.
fn cores(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.strip_suffix('m') {
            Some(m) => m.parse::<f64>().ok().map(|m| m / 1000.0),
            None => s.parse().ok(),
        },
        _ => None,
    }
    .filter(|c| *c > 0.0)
}

/// An object's `metadata.name`, or empty.
fn metadata_name(v: &Value) -> String {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn secs(v: Option<&Value>, default: u64) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(default)
}

/// Reads the manifests in `text`.
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let docs = parse_docs(text, path)?;
    let mut r = Reader {
        path,
        report: Vec::new(),
        frag: Map::new(),
    };
    let kind = |d: &Doc| {
        d.value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = |d: &Doc| metadata_name(&d.value);
    let deployments: Vec<&Doc> = docs
        .iter()
        .filter(|d| matches!(kind(d).as_str(), "Deployment" | "StatefulSet"))
        .filter(|d| wanted.is_none_or(|w| name(d) == w))
        .collect();
    let scalers: Vec<&Doc> = docs
        .iter()
        .filter(|d| matches!(kind(d).as_str(), "HorizontalPodAutoscaler" | "ScaledObject"))
        .filter(|d| {
            let target = d
                .value
                .pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            wanted.is_none_or(|w| target == w)
        })
        .collect();
    if deployments.is_empty() && scalers.is_empty() {
        let start = Location { line: 1, column: 1 };
        return Err(native_error(
            path,
            Format::Kubernetes,
            &start,
            match wanted {
                Some(w) => format!("no Deployment, HorizontalPodAutoscaler or ScaledObject for `{w}`"),
                None => "no Deployment, StatefulSet, HorizontalPodAutoscaler or ScaledObject: fleetsim reads those".into(),
            },
        ));
    }
    for d in &docs {
        if !deployments.iter().any(|x| std::ptr::eq(*x, d))
            && !scalers.iter().any(|x| std::ptr::eq(*x, d))
        {
            let k = kind(d);
            let why = match k.as_str() {
                "Service" | "Ingress" | "ConfigMap" | "Secret" | "ServiceAccount" | "Namespace" | "PodDisruptionBudget" | "NetworkPolicy" => format!("a {k}: no simulation meaning in fleetsim (the Service's balancing is the scenario's loadBalancing)"),
                "" => "a document without `kind`".into(),
                _ => format!("a {k} `{}`, not one fleetsim reads", name(d)),
            };
            r.push(
                d,
                "kind",
                format!("{k} {}", name(d)),
                Outcome::Ignored { why },
            );
        }
    }
    let scaled = !scalers.is_empty();
    for d in &deployments {
        r.deployment(d, scaled)?;
    }
    let mut policy: Option<Value> = None;
    for d in &scalers {
        let target = d
            .value
            .pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let scaling = if kind(d) == "ScaledObject" {
            r.scaled_object(d)?
        } else {
            r.hpa(d)?
        };
        if deployments.is_empty() {
            // The autoscaler alone: its target is the region, starting at
            // its minimum.
            let min = scaling
                .get("minReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            r.set(&["deployment", "regions", &target, "instances"], json!(min));
            r.push(
                d,
                "spec.scaleTargetRef.name",
                format!("scaleTargetRef {target}"),
                mapped(
                    &[&format!("deployment.regions.{target}")],
                    Some(format!(
                        "no Deployment in the file: the region starts at {min} instance(s)"
                    )),
                ),
            );
        } else if !deployments.iter().any(|x| name(x) == target) {
            r.push(
                d,
                "spec.scaleTargetRef.name",
                format!("scaleTargetRef {target}"),
                Outcome::Unsupported {
                    lost: format!("scales `{target}`, which is not a Deployment of this file"),
                },
            );
        }
        match &policy {
            None => {
                r.set(&["deployment", "scaling"], scaling.clone());
                policy = Some(scaling);
            }
            Some(p) if *p == scaling => {}
            Some(_) => r.push(d, "spec", format!("{} {}", kind(d), name(d)), Outcome::Unsupported { lost: "fleetsim runs one autoscaling policy in every region; this one differs from the first and is not read".into() }),
        }
    }
    r.report.sort_by_key(|m| (m.at.line, m.at.column));
    let source = deployments
        .iter()
        .chain(scalers.iter())
        .map(|d| format!("{} {}", kind(d), name(d)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Kubernetes,
        source,
        fragment: Value::Object(r.frag),
        report: r.report,
    })
}

impl Reader<'_> {
    fn deployment(&mut self, d: &Doc, scaled: bool) -> Result<(), ScenarioError> {
        let v = &d.value;
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| self.bad(d, "metadata", "a Deployment without metadata.name"))?
            .to_string();
        let replicas = v
            .pointer("/spec/replicas")
            .map_or(Some(1), Value::as_u64)
            .ok_or_else(|| self.bad(d, "spec.replicas", "`replicas`: expected a whole number"))?;
        let r = format!("deployment.regions.{name}");
        self.set(
            &["deployment", "regions", &name, "instances"],
            json!(replicas),
        );
        self.push(d, "spec.replicas", format!("Deployment {name} replicas {replicas}"), mapped(&[&r], Some(format!("one region of {replicas} instance(s); a pod's concurrency is not in the manifest: give the instance type's slots"))));
        let spec = v
            .pointer("/spec/template/spec")
            .cloned()
            .unwrap_or(Value::Null);
        let containers = spec
            .get("containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let base = "spec.template.spec";
        if containers.len() > 1 {
            self.push(
                d,
                &format!("{base}.containers[1]"),
                "containers (more than one)".into(),
                Outcome::Unsupported {
                    lost: "several containers: the first one's resources and probes are read"
                        .into(),
                },
            );
        }
        let t = ["instanceTypes", name.as_str()];
        if let Some(c) = containers.first() {
            let cp = format!("{base}.containers[0]");
            let limit = c.pointer("/resources/limits/cpu");
            let request = c.pointer("/resources/requests/cpu");
            match (limit.and_then(cores), request.and_then(cores)) {
                (Some(l), req) => {
                    self.set(&[t[0], t[1], "cpus"], json!(l));
                    let note = match req {
                        Some(q) if (q - l).abs() > 1e-9 => {
                            self.push(d, &format!("{cp}.resources.requests.cpu"), format!("requests.cpu {q}"), Outcome::Unsupported { lost: format!("the HPA measures CPU utilization against the request ({q}); fleetsim measures it against the limit ({l}), so a CPU target reads {:.0}% lower", (1.0 - q / l) * 100.0) });
                            None
                        }
                        _ => None,
                    };
                    self.push(
                        d,
                        &format!("{cp}.resources.limits.cpu"),
                        format!("limits.cpu {l}"),
                        mapped(&[&format!("instanceTypes.{name}.cpus")], note),
                    );
                }
                (None, Some(q)) => {
                    self.set(&[t[0], t[1], "cpus"], json!(q));
                    self.push(d, &format!("{cp}.resources.requests.cpu"), format!("requests.cpu {q}"), Outcome::Unsupported { lost: "no CPU limit: the pod may use the node's spare CPU; read as its request".into() });
                }
                (None, None) => {}
            }
            if let Some(m) = c
                .pointer("/resources/limits/memory")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    c.pointer("/resources/limits/memory")
                        .and_then(Value::as_u64)
                        .map(|n| n.to_string())
                })
            {
                self.set(&[t[0], t[1], "memory"], json!(m));
                self.push(
                    d,
                    &format!("{cp}.resources.limits.memory"),
                    format!("limits.memory {m}"),
                    mapped(
                        &[&format!("instanceTypes.{name}.memory")],
                        Some("the memory limit; give the type's idleMemory or memoryPerRequest for what a pod uses".into()),
                    ),
                );
            }
            if let Some(p) = c.get("readinessProbe") {
                let pp = format!("{cp}.readinessProbe");
                self.set(
                    &["deployment", "healthCheck"],
                    json!({
                        "interval": format!("{}s", secs(p.get("periodSeconds"), 10)),
                        "timeout": format!("{}s", secs(p.get("timeoutSeconds"), 1)),
                        "unhealthyThreshold": secs(p.get("failureThreshold"), 3),
                        "healthyThreshold": secs(p.get("successThreshold"), 1),
                    }),
                );
                self.push(d, &pp, "readinessProbe".into(), mapped(&["deployment.healthCheck"], Some("a pod that fails its readiness probe leaves the Service's endpoints until it passes again (Kubernetes' defaults: every 10s, 1s timeout, 3 failures, 1 success)".into())));
                if let Some(delay) = p.get("initialDelaySeconds").and_then(Value::as_u64) {
                    if scaled {
                        self.set(&[t[0], t[1], "startupTime"], json!(format!("{delay}s")));
                        self.push(
                            d,
                            &format!("{pp}.initialDelaySeconds"),
                            format!("initialDelaySeconds {delay}"),
                            mapped(
                                &[&format!("instanceTypes.{name}.startupTime")],
                                Some("a new pod takes no traffic before its first probe".into()),
                            ),
                        );
                    } else {
                        self.push(
                            d,
                            &format!("{pp}.initialDelaySeconds"),
                            format!("initialDelaySeconds {delay}"),
                            Outcome::Ignored {
                                why: "no autoscaler starts pods during the run".into(),
                            },
                        );
                    }
                }
            }
            if c.get("livenessProbe").is_some() {
                self.push(d, &format!("{cp}.livenessProbe"), "livenessProbe".into(), Outcome::Unsupported { lost: "a pod failing its liveness probe is restarted; fleetsim does not restart a hung instance".into() });
            }
            for k in [
                "image",
                "ports",
                "env",
                "envFrom",
                "volumeMounts",
                "command",
                "args",
                "securityContext",
                "imagePullPolicy",
            ] {
                if c.get(k).is_some() {
                    self.push(
                        d,
                        &format!("{cp}.{k}"),
                        k.into(),
                        Outcome::Ignored {
                            why: "no simulation meaning".into(),
                        },
                    );
                }
            }
        }
        if scaled {
            let grace = secs(spec.get("terminationGracePeriodSeconds"), 30);
            self.set(&[t[0], t[1], "drainTimeout"], json!(format!("{grace}s")));
            self.push(
                d,
                &format!("{base}.terminationGracePeriodSeconds"),
                format!(
                    "terminationGracePeriodSeconds {grace}{}",
                    if spec.get("terminationGracePeriodSeconds").is_none() {
                        " (Kubernetes' default)"
                    } else {
                        ""
                    }
                ),
                mapped(
                    &[&format!("instanceTypes.{name}.drainTimeout")],
                    Some(
                        "a pod the autoscaler removes finishes its requests for at most this long"
                            .into(),
                    ),
                ),
            );
        }
        if v.pointer("/spec/strategy").is_some() {
            self.push(
                d,
                "spec.strategy",
                "strategy".into(),
                Outcome::Ignored {
                    why: "rollouts are not simulated".into(),
                },
            );
        }
        // The pod's resources make an instance type of its own.
        if self
            .frag
            .get("instanceTypes")
            .and_then(|t| t.get(&name))
            .is_some()
        {
            self.set(
                &["deployment", "regions", &name, "instanceType"],
                json!(name),
            );
        }
        Ok(())
    }

    /// An HPA's spec as `deployment.scaling`.
    fn hpa(&mut self, d: &Doc) -> Result<Value, ScenarioError> {
        let v = &d.value;
        let name = metadata_name(v);
        let api = v
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("autoscaling/v2");
        let spec = v
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| self.bad(d, "spec", "a HorizontalPodAutoscaler without `spec`"))?;
        let mut s = Map::new();
        s.insert("policy".into(), json!("hpa"));
        for k in ["minReplicas", "maxReplicas"] {
            if let Some(x) = spec.get(k) {
                s.insert(k.into(), x.clone());
            }
        }
        if api.ends_with("/v1") {
            let target = spec
                .get("targetCPUUtilizationPercentage")
                .and_then(Value::as_u64)
                .unwrap_or(80);
            s.insert("metrics".into(), json!([{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": target } } }]));
            self.push(
                d,
                "spec",
                format!("HorizontalPodAutoscaler {name} (autoscaling/v1) CPU {target}%"),
                mapped(
                    &["deployment.scaling"],
                    Some("a Resource cpu metric, as autoscaling/v2 writes it".into()),
                ),
            );
        } else {
            for k in ["metrics", "behavior"] {
                if let Some(x) = spec.get(k) {
                    s.insert(k.into(), x.clone());
                    self.push(d, &format!("spec.{k}"), k.to_string(), mapped(&[&format!("deployment.scaling.{k}")], Some("as written: fleetsim's HPA is the Kubernetes controller's arithmetic".into())));
                }
            }
        }
        self.push(
            d,
            "spec",
            format!("HorizontalPodAutoscaler {name}"),
            mapped(
                &["deployment.scaling"],
                Some("policy: hpa, one controller per region, every 15s".into()),
            ),
        );
        Ok(Value::Object(s))
    }

    /// A KEDA ScaledObject as the HPA it creates.
    fn scaled_object(&mut self, d: &Doc) -> Result<Value, ScenarioError> {
        let v = &d.value;
        let name = metadata_name(v);
        let spec = v
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| self.bad(d, "spec", "a ScaledObject without `spec`"))?;
        let min = spec
            .get("minReplicaCount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let max = spec
            .get("maxReplicaCount")
            .and_then(Value::as_u64)
            .unwrap_or(100);
        let poll = spec
            .get("pollingInterval")
            .and_then(Value::as_u64)
            .unwrap_or(30);
        let mut metrics = Vec::new();
        let triggers = spec
            .get("triggers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, t) in triggers.iter().enumerate() {
            let tp = format!("spec.triggers[{i}]");
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
            let md = t.get("metadata").cloned().unwrap_or(Value::Null);
            let num = |k: &str| {
                md.get(k).and_then(|x| {
                    x.as_str()
                        .and_then(|s| s.parse::<f64>().ok())
                        .or_else(|| x.as_f64())
                })
            };
            match kind {
                "cpu" | "memory" => {
                    let value = num("value").ok_or_else(|| {
                        self.bad(
                            d,
                            &format!("{tp}.metadata.value"),
                            "a cpu or memory trigger needs metadata.value",
                        )
                    })?;
                    let mt = t
                        .get("metricType")
                        .and_then(Value::as_str)
                        .or_else(|| md.get("type").and_then(Value::as_str))
                        .unwrap_or("Utilization");
                    let target = if mt == "AverageValue" {
                        json!({ "type": "AverageValue", "averageValue": value.to_string() })
                    } else {
                        json!({ "type": "Utilization", "averageUtilization": value as u64 })
                    };
                    metrics.push(json!({ "type": "Resource", "resource": { "name": kind, "target": target } }));
                    self.push(
                        d,
                        &tp,
                        format!("trigger {kind} {value}"),
                        mapped(&["deployment.scaling.metrics"], None),
                    );
                }
                "prometheus" => {
                    let q = md
                        .get("query")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_lowercase();
                    let threshold = num("threshold").ok_or_else(|| {
                        self.bad(
                            d,
                            &format!("{tp}.metadata.threshold"),
                            "a prometheus trigger needs metadata.threshold",
                        )
                    })?;
                    let m = if q.contains("queue") || q.contains("pending") || q.contains("backlog")
                    {
                        Some(
                            json!({ "type": "External", "external": { "metric": { "name": "queue_depth" }, "target": { "type": "AverageValue", "averageValue": threshold.to_string() } } }),
                        )
                    } else if q.contains("request") && (q.contains("rate(") || q.contains("irate("))
                    {
                        Some(
                            json!({ "type": "Pods", "pods": { "metric": { "name": "http_requests_per_second" }, "target": { "type": "AverageValue", "averageValue": threshold.to_string() } } }),
                        )
                    } else if q.contains("inflight")
                        || q.contains("in_flight")
                        || q.contains("active")
                        || q.contains("connections")
                    {
                        Some(
                            json!({ "type": "Pods", "pods": { "metric": { "name": "connections" }, "target": { "type": "AverageValue", "averageValue": threshold.to_string() } } }),
                        )
                    } else {
                        None
                    };
                    match m {
                        Some(m) => {
                            let what = m.pointer("/external/metric/name").or_else(|| m.pointer("/pods/metric/name")).and_then(Value::as_str).unwrap_or("").to_string();
                            metrics.push(m);
                            self.push(d, &tp, format!("trigger prometheus {threshold}"), mapped(&["deployment.scaling.metrics"], Some(format!("the query is read as `{what}`, {threshold} per pod"))));
                        }
                        None => self.push(d, &tp, "trigger prometheus".into(), Outcome::Unsupported { lost: "a query fleetsim cannot tell the meaning of (it reads request rates, queue depths and requests in flight)".into() }),
                    }
                }
                other => self.push(
                    d,
                    &tp,
                    format!("trigger {other}"),
                    Outcome::Unsupported {
                        lost: format!(
                            "the `{other}` scaler measures something outside the simulation"
                        ),
                    },
                ),
            }
        }
        if metrics.is_empty() {
            return Err(self.bad(d, "spec.triggers", "no trigger fleetsim can simulate (cpu, memory, or a prometheus query of request rate, queue depth or requests in flight)"));
        }
        let mut s = Map::new();
        s.insert("policy".into(), json!("hpa"));
        s.insert("minReplicas".into(), json!(min));
        s.insert("maxReplicas".into(), json!(max));
        s.insert("metrics".into(), Value::Array(metrics));
        if let Some(b) = v.pointer("/spec/advanced/horizontalPodAutoscalerConfig/behavior") {
            s.insert("behavior".into(), b.clone());
            self.push(
                d,
                "spec.advanced.horizontalPodAutoscalerConfig.behavior",
                "behavior".into(),
                mapped(&["deployment.scaling.behavior"], None),
            );
        }
        self.push(
            d,
            "spec",
            format!("ScaledObject {name} min {min} max {max}"),
            mapped(&["deployment.scaling"], Some("the HPA KEDA creates".into())),
        );
        self.push(
            d,
            "spec.pollingInterval",
            format!("pollingInterval {poll}"),
            Outcome::Ignored {
                why: "how often KEDA asks its scalers; the HPA reads the metric every 15s".into(),
            },
        );
        if min == 0 {
            let cool = spec
                .get("cooldownPeriod")
                .and_then(Value::as_u64)
                .unwrap_or(300);
            self.push(d, "spec.cooldownPeriod", format!("cooldownPeriod {cool}"), Outcome::Unsupported { lost: "KEDA scales to zero after the trigger has been inactive this long; fleetsim's HPA scales to zero by its metric".into() });
        }
        Ok(Value::Object(s))
    }
}

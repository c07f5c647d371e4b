//! Envoy: one cluster of a bootstrap (`static_resources.clusters`), of a
//! bare list of clusters or a cluster alone, in YAML or JSON, with the
//! route that sends to it (`route_config.virtual_hosts[].routes[]`).
//!
//! Reference: Envoy's API (`config/cluster/v3/cluster.proto`,
//! `outlier_detection.proto`, `circuit_breaker.proto`,
//! `config/core/v3/health_check.proto`, `config/route/v3/route_components.proto`,
//! `config/endpoint/v3/endpoint.proto`) and its defaults there.
//!
//! | field | becomes |
//! |---|---|
//! | the cluster's `name` and `load_assignment` endpoints | one region per priority: `NAME` (priority 0), `NAME-pN` (priority N, `regions.*.priority`) |
//! | (always) | `loadBalancing.strategy: geographic`: Envoy's priority levels, overprovisioning factor and panic threshold |
//! | `lb_policy` (default `ROUND_ROBIN`) | `loadBalancing.localStrategy` |
//! | `lb_endpoints[].load_balancing_weight`, locality weights | `loadBalancing.weighted` |
//! | `health_checks[0]` | `healthCheck` |
//! | `outlier_detection` | `outlierDetection` |
//! | `circuit_breakers` (defaults 1024/1024/1024/3) | `limits.maxConnections`, `retries.budget` |
//! | `common_lb_config.healthy_panic_threshold` (50%) | `loadBalancing.panicThreshold` |
//! | the route's `timeout` (15s) and `retry_policy` | `limits.requestTimeout`, `retries` |

mod cluster;
mod resilience;

use super::tree::{index, join, parse_yaml_or_json, Out};
use super::{Format, Import, Location, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Value};
use std::path::Path;

/// A route entry that sends to the cluster, and its virtual host.
pub(crate) struct RouteRef<'a> {
    pub(crate) path: String,
    pub(crate) value: &'a Value,
    pub(crate) vhost_path: String,
    pub(crate) vhost: &'a Value,
}

fn ignored(why: &str) -> Outcome {
    Outcome::Ignored { why: why.into() }
}

fn lost(what: impl Into<String>) -> Outcome {
    Outcome::Unsupported { lost: what.into() }
}

/// Reads the cluster `wanted` (or the file's only one).
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let doc = parse_yaml_or_json(text, path, Format::Envoy)?;
    let mut out = Out::new(path, Format::Envoy, &doc);
    let (clusters, listeners) = locate(&mut out, &doc.value)?;
    let name_of = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let names: Vec<String> = clusters.iter().map(|(_, v)| name_of(v)).collect();
    let chosen = choose(&out, &clusters, &names, wanted)?;
    let (cp, cv) = (clusters[chosen].0.clone(), clusters[chosen].1);
    let name = match cv.get("name") {
        Some(Value::String(s)) if valid_name(s) => s.clone(),
        Some(v) => {
            return Err(out.bad(
                &join(&cp, "name"),
                format!(
                    "`name`: expected a cluster name of letters, digits, `-`, `_` or `.`; found {}",
                    super::tree::short(v)
                ),
            ))
        }
        None => return Err(out.bad(&cp, "a cluster without `name`; Envoy requires one")),
    };
    for (i, (p, v)) in clusters.iter().enumerate() {
        if i != chosen {
            out.push(
                p,
                format!("cluster {}", name_of(v)),
                ignored(&format!("another cluster; fleetsim reads `{name}`")),
            );
        }
    }
    for (p, v) in &listeners {
        let n = name_of(v);
        out.push(p, format!("listener {n}"), ignored("where requests come in (address, filter chains, TLS, access logs); only its route to the cluster is read"));
    }
    let mut routes = Vec::new();
    find_routes(&doc.value, "", &name, &mut routes, None);
    let mut c = cluster::ClusterReader::new(&mut out, &name);
    c.read(&cp, cv)?;
    let retried = resilience::read_route(&mut out, &cp, &name, &routes)?;
    resilience::breakers(&mut out, &cp, cv, retried)?;
    out.report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Envoy,
        source: format!("cluster {name}"),
        fragment: json!({ "deployment": Value::Object(out.dep) }),
        report: out.report,
    })
}

/// A name fleetsim can use for a region.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

type Found<'a> = Vec<(String, &'a Value)>;

/// The clusters and listeners of the document, reporting the top-level
/// keys that are neither.
fn locate<'a>(out: &mut Out<'_>, root: &'a Value) -> Result<(Found<'a>, Found<'a>), ScenarioError> {
    let items = |out: &Out<'_>, p: &str, v: &'a Value| -> Result<Found<'a>, ScenarioError> {
        Ok(out
            .list(p, v)?
            .iter()
            .enumerate()
            .map(|(i, c)| (index(p, i), c))
            .collect())
    };
    match root {
        Value::Array(_) => Ok((items(out, "", root)?, Vec::new())),
        Value::Object(m) => {
            let (base, m) = match m.get("static_resources") {
                Some(sr) => {
                    for (k, v) in m.iter().filter(|(k, _)| *k != "static_resources") {
                        let why = match k.as_str() {
                            "dynamic_resources" | "cluster_manager" => "clusters and listeners served by xDS are not in the file: give them as static_resources",
                            "admin" => "the admin interface",
                            _ => "node identity, runtime, stats, tracing and overload settings: no simulation meaning",
                        };
                        out.key("", k, v, ignored(why));
                    }
                    (
                        "static_resources".to_string(),
                        out.object("static_resources", sr)?,
                    )
                }
                None => (String::new(), m),
            };
            let mut clusters = Vec::new();
            let mut listeners = Vec::new();
            let single = m.contains_key("name")
                && !m.contains_key("clusters")
                && !m.contains_key("listeners");
            if single && base.is_empty() {
                return Ok((vec![(String::new(), root)], Vec::new()));
            }
            for (k, v) in m {
                let p = join(&base, k);
                match k.as_str() {
                    "clusters" => clusters = items(out, &p, v)?,
                    "listeners" => listeners = items(out, &p, v)?,
                    _ => out.key(
                        &base,
                        k,
                        v,
                        ignored("secrets and other static resources: no simulation meaning"),
                    ),
                }
            }
            Ok((clusters, listeners))
        }
        _ => Err(out.bad(
            "",
            "expected an Envoy bootstrap (static_resources), a list of clusters or one cluster",
        )),
    }
}

fn choose(
    out: &Out<'_>,
    clusters: &[(String, &Value)],
    names: &[String],
    wanted: Option<&str>,
) -> Result<usize, ScenarioError> {
    let start = Location { line: 1, column: 1 };
    match wanted {
        Some(w) => names.iter().position(|n| n == w).ok_or_else(|| {
            super::native_error(
                out.path,
                Format::Envoy,
                &start,
                format!("no cluster `{w}`; the file has: {}", names.join(", ")),
            )
        }),
        None => match clusters.len() {
            1 => Ok(0),
            0 => Err(super::native_error(
                out.path,
                Format::Envoy,
                &start,
                "no cluster: fleetsim reads the endpoints of one (static_resources.clusters, a list of clusters, or one cluster)",
            )),
            n => Err(out.bad(
                &clusters[1].0,
                format!(
                    "{n} clusters ({}); say which with --upstream NAME (or \"upstream\" in the import)",
                    names.join(", ")
                ),
            )),
        },
    }
}

/// Every route entry (under some `virtual_hosts[].routes[]`) whose
/// `route.cluster` is `name`, in document order.
fn find_routes<'a>(
    v: &'a Value,
    p: &str,
    name: &str,
    found: &mut Vec<RouteRef<'a>>,
    vhost: Option<(&str, &'a Value)>,
) {
    match v {
        Value::Object(m) => {
            if let (Some((vp, vh)), Some(c)) = (vhost, v.pointer("/route/cluster")) {
                if c.as_str() == Some(name) {
                    found.push(RouteRef {
                        path: p.to_string(),
                        value: v,
                        vhost_path: vp.to_string(),
                        vhost: vh,
                    });
                }
                return;
            }
            for (k, x) in m {
                let kp = join(p, k);
                if k == "virtual_hosts" {
                    for (i, h) in x
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                        .iter()
                        .enumerate()
                    {
                        let hp = index(&kp, i);
                        let routes = h.get("routes").and_then(Value::as_array);
                        for (j, r) in routes.map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
                            find_routes(
                                r,
                                &index(&join(&hp, "routes"), j),
                                name,
                                found,
                                Some((&hp, h)),
                            );
                        }
                    }
                } else {
                    find_routes(x, &kp, name, found, None);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                find_routes(x, &index(p, i), name, found, None);
            }
        }
        _ => {}
    }
}

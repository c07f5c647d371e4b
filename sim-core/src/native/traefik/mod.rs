//! Traefik: one service of a dynamic configuration (`http.services`), in
//! YAML or TOML, with the middlewares of the router that sends to it.
//! Keys are read in any case, as Traefik's file provider reads them.
//!
//! Reference: Traefik's dynamic configuration
//! (`pkg/config/dynamic/http_config.go`, `middlewares.go`), the services
//! and middlewares documentation, and the retry, rate-limit and passive
//! health code (`pkg/middlewares/retry`, `ratelimiter`, `pkg/healthcheck`).
//!
//! | field | becomes |
//! |---|---|
//! | `loadBalancer.servers[].url`, `weight` | `deployment.regions.SERVICE.instances`, `loadBalancing.weighted` |
//! | `loadBalancer.strategy` (`wrr` by default; `p2c`, `hrw`, `leasttime`) | `loadBalancing.strategy` |
//! | `weighted.services[]` of load-balancer services | one region per child, weights combined |
//! | `failover` (`service`, `fallback`) | `strategy: geographic`, the fallback's region at priority 1, taking traffic only when the main service has no healthy server |
//! | `healthCheck` (interval 30s, timeout 5s) | `healthCheck` (one failure out, one pass back) |
//! | `passiveHealthCheck` (`failureWindow` 10s, `maxFailedAttempts` 1) | `passiveHealth` (`type: nginx`, 5xx counted) |
//! | `sticky.cookie` | `loadBalancing.sessionAffinity` |
//! | `serversTransport` `forwardingTimeouts.responseHeaderTimeout` | `limits.requestTimeout` |
//! | middlewares `retry`, `rateLimit`, `inFlightReq` | `retries`, `rateLimits.NAME`, `limits.maxConnections` |

mod middleware;
mod service;

use super::tree::{field, join, parse_toml, parse_yaml_or_json, Out};
use super::{Format, Import, Location, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use std::path::Path;

fn ignored(why: &str) -> Outcome {
    Outcome::Ignored { why: why.into() }
}

fn lost(what: impl Into<String>) -> Outcome {
    Outcome::Unsupported { lost: what.into() }
}

/// A reference without its provider (`name@file` → `name`).
fn local(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Whether `text` is TOML (a table header or `key = value` before any
/// YAML mapping).
fn is_toml(path: &Path, text: &str) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return true;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    first.is_some_and(|l| l.starts_with('[') || l.contains(" = ") && !l.contains(':'))
}

/// Reads the service `wanted` (or the file's only top-level one).
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let doc = if is_toml(path, text) {
        parse_toml(text, path, Format::Traefik)?
    } else {
        parse_yaml_or_json(text, path, Format::Traefik)?
    };
    let mut out = Out::new(path, Format::Traefik, &doc);
    let root = out.object("", &doc.value)?;
    let start = Location { line: 1, column: 1 };
    let no_http = || {
        super::native_error(
            path,
            Format::Traefik,
            &start,
            "no `http.services`: fleetsim reads an HTTP service of Traefik's dynamic configuration",
        )
    };
    let (hk, http) = field(root, "http").ok_or_else(no_http)?;
    for (k, v) in root.iter().filter(|(k, _)| *k != hk) {
        out.key(
            "",
            k,
            v,
            ignored("TCP and UDP routing, TLS stores and options: no simulation meaning"),
        );
    }
    let hm = out.object(hk, http)?;
    let (sk, services) = field(hm, "services").ok_or_else(no_http)?;
    let sp = join(hk, sk);
    let services = out.object(&sp, services)?;
    let chosen = choose(&out, &sp, services, wanted)?;
    let mut r = service::Reader::new(&mut out, &sp, services, hm);
    r.read_root(&chosen)?;
    let used = r.used.clone();
    let transports = r.transports.clone();
    for (name, v) in services {
        if !used.contains(name) {
            out.key(
                &sp,
                name,
                v,
                ignored(&format!("another service; fleetsim reads `{chosen}`")),
            );
        }
    }
    for (k, v) in hm.iter().filter(|(k, _)| *k != sk) {
        let p = join(hk, k);
        match k.to_ascii_lowercase().as_str() {
            "routers" => routers(&mut out, &p, v, &chosen, hm)?,
            "middlewares" => {}
            "serverstransports" => {
                for (name, t) in out.object(&p, v)? {
                    if !transports.contains(name) {
                        out.key(
                            &p,
                            name,
                            t,
                            ignored("a servers transport the service does not use"),
                        );
                    }
                }
            }
            _ => out.key(hk, k, v, ignored("no simulation meaning")),
        }
    }
    if field(hm, "routers").is_none() {
        middleware::unrouted(&mut out, hk, hm)?;
    }
    out.report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Traefik,
        source: format!("service {chosen}"),
        fragment: json!({ "deployment": Value::Object(out.dep) }),
        report: out.report,
    })
}

/// The service to read: `wanted`, or the only one no other service
/// refers to.
fn choose(
    out: &Out<'_>,
    sp: &str,
    services: &Map<String, Value>,
    wanted: Option<&str>,
) -> Result<String, ScenarioError> {
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    if let Some(w) = wanted {
        return services.keys().find(|k| *k == w).cloned().ok_or_else(|| {
            out.bad(
                sp,
                format!(
                    "no service `{w}` under http.services; the file has: {}",
                    names.join(", ")
                ),
            )
        });
    }
    let referred: Vec<String> = services.values().flat_map(service::children).collect();
    let tops: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !referred.iter().any(|r| r == n))
        .collect();
    match tops.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(out.bad(sp, "no service under http.services that others do not refer to (a cycle?); say which with --upstream NAME")),
        many => Err(out.bad(
            &join(sp, many[1]),
            format!("{} services ({}); say which with --upstream NAME (or \"upstream\" in the import)", many.len(), many.join(", ")),
        )),
    }
}

/// The routers: the first that sends to the service gives its
/// middlewares; the rest are reported.
fn routers(
    out: &mut Out<'_>,
    p: &str,
    v: &Value,
    chosen: &str,
    hm: &Map<String, Value>,
) -> Result<(), ScenarioError> {
    let rm = out.object(p, v)?;
    let mut chain: Option<(String, Vec<String>)> = None;
    for (name, r) in rm {
        let rp = join(p, name);
        let target = r
            .as_object()
            .and_then(|o| field(o, "service"))
            .and_then(|(_, s)| s.as_str())
            .map(local);
        if target != Some(chosen) {
            out.key(p, name, r, ignored("a router to another service"));
            continue;
        }
        let mws: Vec<String> = match r.as_object().and_then(|o| field(o, "middlewares")) {
            Some((mk, m)) => out
                .list(&join(&rp, mk), m)?
                .iter()
                .map(|x| x.as_str().map(|s| local(s).to_string()).unwrap_or_default())
                .collect(),
            None => Vec::new(),
        };
        match &chain {
            None => {
                out.key(p, name, r, super::mapped(&["regions"], Some(format!("the router to `{chosen}`: its rule, entry points and TLS have no simulation meaning; its middlewares ({}) apply", if mws.is_empty() { "none".to_string() } else { mws.join(", ") }))));
                chain = Some((name.clone(), mws));
            }
            Some((first, m)) if *m == mws => out.key(
                p,
                name,
                r,
                ignored(&format!(
                    "another router to the service, with the same middlewares as `{first}`"
                )),
            ),
            Some((first, _)) => out.key(
                p,
                name,
                r,
                lost(format!(
                    "another router to the service with other middlewares: `{first}`'s are read"
                )),
            ),
        }
    }
    match chain {
        Some((_, mws)) => middleware::read_chain(out, hm, &mws),
        None => middleware::unrouted(out, p.rsplit_once('.').map_or("", |x| x.0), hm),
    }
}

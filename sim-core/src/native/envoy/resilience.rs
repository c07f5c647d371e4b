//! An Envoy cluster's health checks, outlier detection and circuit
//! breakers, and its route's timeout and retry policy.

use super::super::tree::{duration_str, join, proto_duration, Out};
use super::super::{mapped, Outcome};
use super::cluster::unwrap;
use super::{ignored, lost, RouteRef};
use crate::error::ScenarioError;
use serde_json::{json, Value};
use strategies::Nanos;

const PROTO: &str = "\"5s\", \"0.25s\" or {seconds, nanos}";

fn dur(out: &Out<'_>, p: &str, v: &Value) -> Result<Nanos, ScenarioError> {
    out.duration(p, v, proto_duration, PROTO)
}

fn num(out: &Out<'_>, p: &str, v: &Value, max: u64) -> Result<u64, ScenarioError> {
    out.count(p, unwrap(v), 0, max)
}

/// `health_checks`: the first is read. Whether any is.
pub(crate) fn health_checks(out: &mut Out<'_>, p: &str, v: &Value) -> Result<bool, ScenarioError> {
    let list = out.list(p, v)?;
    let Some(first) = list.first() else {
        out.push(p, "health_checks: []", ignored("no active checks"));
        return Ok(false);
    };
    for i in 1..list.len() {
        out.push(
            &format!("{p}[{i}]"),
            "health_checks (another)",
            lost("a second active check: fleetsim runs one, the first"),
        );
    }
    let hp = format!("{p}[0]");
    let m = out.object(&hp, first)?;
    for k in [
        "timeout",
        "interval",
        "unhealthy_threshold",
        "healthy_threshold",
    ] {
        if !m.contains_key(k) {
            return Err(out.bad(&hp, format!("a health check without `{k}`; Envoy requires timeout, interval, unhealthy_threshold and healthy_threshold")));
        }
    }
    if ![
        "http_health_check",
        "tcp_health_check",
        "grpc_health_check",
        "custom_health_check",
    ]
    .iter()
    .any(|k| m.contains_key(*k))
    {
        return Err(out.bad(&hp, "a health check without its kind; Envoy requires one of http_health_check, tcp_health_check, grpc_health_check, custom_health_check"));
    }
    for (k, x) in m {
        let kp = join(&hp, k);
        let outcome = match k.as_str() {
            "timeout" => {
                let t = dur(out, &kp, x)?;
                if t == Nanos::ZERO {
                    return Err(out.bad(&kp, "`timeout`: must be above 0s"));
                }
                out.set(&["healthCheck", "timeout"], json!(duration_str(t)));
                mapped(&["healthCheck.timeout"], None)
            }
            "interval" => {
                let t = dur(out, &kp, x)?;
                if t < Nanos::from_millis(1) {
                    return Err(out.bad(&kp, "`interval`: must be at least 1ms"));
                }
                out.set(&["healthCheck", "interval"], json!(duration_str(t)));
                mapped(&["healthCheck.interval"], Some("Envoy starts a host's checks at once and counts it unhealthy until the first passes; fleetsim starts instances healthy".into()))
            }
            "unhealthy_threshold" | "healthy_threshold" => {
                let n = out.count(&kp, unwrap(x), 1, 1000)?;
                let key = if k == "unhealthy_threshold" { "unhealthyThreshold" } else { "healthyThreshold" };
                out.set(&["healthCheck", key], json!(n));
                mapped(&[&format!("healthCheck.{key}")], None)
            }
            "http_health_check" => {
                let h = out.object(&kp, x)?;
                if !h.get("path").is_some_and(Value::is_string) {
                    return Err(out.bad(&kp, "`http_health_check` without `path`; Envoy requires it"));
                }
                for (hk, hx) in h {
                    let o = if hk == "path" {
                        mapped(&["healthCheck"], Some("a live instance answers it: fleetsim's checks ask whether the instance is up, however loaded".into()))
                    } else {
                        ignored("what a check sends and expects: a live instance passes")
                    };
                    out.key(&kp, hk, hx, o);
                }
                continue;
            }
            "tcp_health_check" | "grpc_health_check" => mapped(&["healthCheck"], Some("a live instance passes".into())),
            "custom_health_check" => lost("a custom checker: read as a check a live instance passes"),
            "interval_jitter" | "interval_jitter_percent" | "initial_jitter" => ignored("jitter of the check times"),
            "unhealthy_interval" | "unhealthy_edge_interval" | "healthy_edge_interval" => lost("another interval for unhealthy hosts or after a change: fleetsim checks at `interval` whatever the state"),
            "no_traffic_interval" | "no_traffic_healthy_interval" => ignored("the interval while the cluster has no traffic: the run sends traffic"),
            _ => {
                let known = ["event_log_path", "event_logger", "always_log_health_check_failures", "always_log_health_check_success", "reuse_connection", "transport_socket_match_criteria", "tls_options", "alt_port", "event_service", "noTrafficInterval"];
                if known.contains(&k.as_str()) { ignored("logging, ports and connections of the checks") } else { lost("not known to fleetsim's Envoy reader") }
            }
        };
        out.key(&hp, k, x, outcome);
    }
    Ok(true)
}

/// `outlier_detection`, with Envoy's defaults; `hosts` decides whether
/// the default success-rate ejection could act.
pub(crate) fn outlier(
    out: &mut Out<'_>,
    p: &str,
    v: &Value,
    hosts: usize,
    checked: bool,
) -> Result<(), ScenarioError> {
    let m = out.object(p, v)?;
    let get = |k: &str, d: u64, out: &Out<'_>| -> Result<u64, ScenarioError> {
        m.get(k)
            .map_or(Ok(d), |x| num(out, &join(p, k), x, u64::from(u32::MAX)))
    };
    let enforcing_5xx = get("enforcing_consecutive_5xx", 100, out)?;
    let consecutive = get("consecutive_5xx", 5, out)?;
    let sr_enforcing = get("enforcing_success_rate", 100, out)?;
    let sr_hosts = get("success_rate_minimum_hosts", 5, out)?;
    let split = m
        .get("split_external_local_origin_errors")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let sr_acts = sr_enforcing > 0 && hosts as u64 >= sr_hosts;
    let sr_outcome = || {
        if sr_acts {
            lost(format!("success-rate ejection (on by default): Envoy also ejects a host whose success rate falls 1.9 standard deviations below the mean, with {sr_hosts}+ hosts of 100+ requests an interval; fleetsim ejects on consecutive failures only"))
        } else {
            ignored("success-rate ejection cannot act: fewer hosts than success_rate_minimum_hosts, or enforcing_success_rate 0")
        }
    };
    if enforcing_5xx > 0 {
        if consecutive == 0 {
            return Err(out.bad(
                &join(p, "consecutive_5xx"),
                "`consecutive_5xx`: must be at least 1 while enforcing_consecutive_5xx is above 0",
            ));
        }
        out.set(
            &["outlierDetection", "consecutiveErrors"],
            json!(consecutive),
        );
        for (k, d) in [
            ("interval", "10s"),
            ("base_ejection_time", "30s"),
            ("max_ejection_time", "300s"),
        ] {
            let t = match m.get(k) {
                Some(x) => duration_str(dur(out, &join(p, k), x)?),
                None => d.to_string(),
            };
            let key = match k {
                "interval" => "interval",
                "base_ejection_time" => "baseEjectionTime",
                _ => "maxEjectionTime",
            };
            out.set(&["outlierDetection", key], json!(t));
        }
        let pct = get("max_ejection_percent", 10, out)?.min(100);
        out.set(&["outlierDetection", "maxEjectionPercent"], json!(pct));
        if let Some(b) = m.get("always_eject_one_host").and_then(Value::as_bool) {
            out.set(&["outlierDetection", "alwaysEjectOneHost"], json!(b));
        }
    }
    out.push(p, "outlier_detection", if enforcing_5xx > 0 {
        mapped(&["outlierDetection"], Some(format!("ejects after {consecutive} consecutive failures (Envoy's consecutive_5xx counts 5xx answers and, unsplit, connect failures, resets and timeouts); a fleet ejects at most max_ejection_percent of its hosts")))
    } else {
        ignored("enforcing_consecutive_5xx 0: no ejection on consecutive errors")
    });
    if !m
        .keys()
        .any(|k| k.starts_with("success_rate") || k == "enforcing_success_rate")
    {
        out.push(p, "success-rate ejection (Envoy's default)", sr_outcome());
    }
    for (k, x) in m {
        let kp = join(p, k);
        let outcome = match k.as_str() {
            "consecutive_5xx" => mapped(&["outlierDetection.consecutiveErrors"], None),
            "enforcing_consecutive_5xx" => match enforcing_5xx {
                100 => mapped(&["outlierDetection"], None),
                0 => ignored("consecutive-error ejection off"),
                n => lost(format!(
                    "Envoy ejects on a streak with probability {n}%; fleetsim always"
                )),
            },
            "interval" => mapped(&["outlierDetection.interval"], None),
            "base_ejection_time" => mapped(
                &["outlierDetection.baseEjectionTime"],
                Some("times the host's ejection count, as Envoy".into()),
            ),
            "max_ejection_time" => mapped(&["outlierDetection.maxEjectionTime"], None),
            "max_ejection_percent" => mapped(&["outlierDetection.maxEjectionPercent"], None),
            "always_eject_one_host" => mapped(&["outlierDetection.alwaysEjectOneHost"], None),
            "max_ejection_time_jitter" => match proto_duration(x) {
                Some(Nanos::ZERO) => ignored("no jitter"),
                _ => lost("jitter added to each ejection: fleetsim ejects for the exact time"),
            },
            "enforcing_success_rate"
            | "success_rate_minimum_hosts"
            | "success_rate_request_volume"
            | "success_rate_stdev_factor" => sr_outcome(),
            "consecutive_gateway_failure" | "enforcing_consecutive_gateway_failure" => {
                if get("enforcing_consecutive_gateway_failure", 0, out)? > 0 {
                    lost("ejection on consecutive 502/503/504 apart from other errors: fleetsim counts every failure in one streak")
                } else {
                    ignored(
                        "off while enforcing_consecutive_gateway_failure is 0 (Envoy's default)",
                    )
                }
            }
            "failure_percentage_threshold"
            | "enforcing_failure_percentage"
            | "enforcing_failure_percentage_local_origin"
            | "failure_percentage_minimum_hosts"
            | "failure_percentage_request_volume" => {
                if get("enforcing_failure_percentage", 0, out)? > 0
                    || get("enforcing_failure_percentage_local_origin", 0, out)? > 0
                {
                    lost(
                        "failure-percentage ejection: fleetsim ejects on consecutive failures only",
                    )
                } else {
                    ignored("off while enforcing_failure_percentage is 0 (Envoy's default)")
                }
            }
            "split_external_local_origin_errors"
            | "consecutive_local_origin_failure"
            | "enforcing_consecutive_local_origin_failure"
            | "enforcing_local_origin_success_rate" => {
                if split {
                    lost("local-origin errors (connect failures, resets) counted apart from 5xx answers: fleetsim counts them in one streak")
                } else {
                    ignored("only with split_external_local_origin_errors")
                }
            }
            "successful_active_health_check_uneject_host" => {
                if checked && x.as_bool() != Some(false) {
                    lost("a passing active check ends an ejection in Envoy; fleetsim ends it when its time is up")
                } else {
                    ignored("no effect here")
                }
            }
            _ => lost("not known to fleetsim's Envoy reader"),
        };
        let _ = kp;
        out.key(p, k, x, outcome);
    }
    Ok(())
}

/// The route that sends to the cluster: its timeout and retry policy.
/// Whether retries were set.
pub(crate) fn read_route(
    out: &mut Out<'_>,
    cp: &str,
    name: &str,
    routes: &[RouteRef<'_>],
) -> Result<bool, ScenarioError> {
    let Some(r) = routes.first() else {
        out.push(cp, "route (none in the file)", ignored("no route in the file sends to this cluster: Envoy's route timeout (15s by default) and retry policy are the route's; give limits.requestTimeout and retries in the scenario"));
        return Ok(false);
    };
    for other in &routes[1..] {
        let outcome = if other.value.get("route") == r.value.get("route") {
            ignored("another route to the cluster, with the same settings")
        } else {
            lost("another route to the cluster with other settings: the first route's timeout and retries are read")
        };
        out.push(&other.path, format!("route to {name} (another)"), outcome);
    }
    let entry = out.object(&r.path, r.value)?;
    let mut retried = false;
    for (k, x) in entry {
        match k.as_str() {
            "route" => {}
            "match" => out.key(
                &r.path,
                k,
                x,
                ignored("which requests take the route: the workload's requests all do"),
            ),
            _ => out.key(
                &r.path,
                k,
                x,
                ignored("headers, metadata and per-filter config: no simulation meaning"),
            ),
        }
    }
    let ap = join(&r.path, "route");
    let action = out.object(&ap, &r.value["route"])?;
    let mut timeout = Some(Nanos::from_secs(15));
    for (k, x) in action {
        let kp = join(&ap, k);
        let outcome = match k.as_str() {
            "cluster" => mapped(&["regions"], Some("the route read".into())),
            "timeout" => {
                let t = dur(out, &kp, x)?;
                timeout = (t > Nanos::ZERO).then_some(t);
                match timeout {
                    Some(_) => mapped(&["limits.requestTimeout"], Some("from the request's arrival, across retries, as Envoy's route timeout".into())),
                    None => ignored("0s: no route timeout"),
                }
            }
            "retry_policy" => {
                retried = retry_policy(out, &kp, x)?;
                continue;
            }
            "hash_policy" => mapped(&["loadBalancing.localStrategy"], Some("the hash key of RING_HASH/MAGLEV: fleetsim hashes the user id (give workload.users)".into())),
            "idle_timeout" => ignored("a stream's idle timeout: an LLM answer is modelled whole"),
            "max_stream_duration" => lost("a cap on the stream's duration: the route timeout is read"),
            "priority" => ignored("the route's priority picks the circuit-breaker thresholds: DEFAULT is read"),
            "request_mirror_policies" => lost("mirrored copies of the requests load the mirror cluster"),
            "rate_limits" => lost("rate limits by an external rate-limit service: not in the file"),
            "weighted_clusters" | "cluster_header" | "cluster_specifier_plugin" => lost("the route splits among clusters: only this cluster is read"),
            _ => ignored("rewrites, headers, CORS and upgrades: no simulation meaning"),
        };
        out.key(&ap, k, x, outcome);
    }
    if !action.contains_key("retry_policy") {
        if let Some(rp) = r.vhost.get("retry_policy") {
            retried = retry_policy(out, &join(&r.vhost_path, "retry_policy"), rp)?;
        }
    }
    if let Some(t) = timeout {
        out.set(&["limits", "requestTimeout"], json!(duration_str(t)));
        if !action.contains_key("timeout") {
            out.push(
                &ap,
                "timeout: 15s (Envoy's default)",
                mapped(
                    &["limits.requestTimeout"],
                    Some("from the request's arrival, across retries".into()),
                ),
            );
        }
    }
    out.push(
        &r.path,
        format!("route to {name}"),
        mapped(
            &["limits.requestTimeout", "retries"],
            Some("its timeout and retry policy are read".into()),
        ),
    );
    Ok(retried)
}

/// A `retry_policy`. Whether it retries at all.
fn retry_policy(out: &mut Out<'_>, p: &str, v: &Value) -> Result<bool, ScenarioError> {
    let m = out.object(p, v)?;
    let on_text = match m.get("retry_on") {
        Some(x) => out.string(&join(p, "retry_on"), x)?.to_string(),
        None => String::new(),
    };
    let codes: Vec<u64> = m
        .get("retriable_status_codes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let mut on: Vec<&str> = Vec::new();
    let mut missed = Vec::new();
    let add = |c: &'static str, on: &mut Vec<&str>| {
        if !on.contains(&c) {
            on.push(c)
        }
    };
    for c in on_text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match c {
            "5xx" | "gateway-error" => {
                add("connect-failure", &mut on);
                add("5xx", &mut on);
            }
            "reset"
            | "connect-failure"
            | "reset-before-request"
            | "refused-stream"
            | "http3-post-connect-failure" => add("connect-failure", &mut on),
            "retriable-status-codes" if codes.iter().any(|c| (500..600).contains(c)) => {
                add("5xx", &mut on)
            }
            other => missed.push(other.to_string()),
        }
    }
    on.sort_by_key(|c| *c != "connect-failure");
    let retries = match m.get("num_retries") {
        Some(x) => num(out, &join(p, "num_retries"), x, 1000)?,
        None => 1,
    };
    let (base, max) = backoff(out, p, m.get("retry_back_off"))?;
    let acts = !on.is_empty() && retries > 0;
    if acts {
        out.set(&["retries", "maxAttempts"], json!((retries + 1).min(100)));
        out.set(&["retries", "retryOn"], json!(on));
        out.set(
            &["retries", "backoff"],
            json!({ "base": duration_str(base), "max": duration_str(max), "jitter": "envoy" }),
        );
    }
    for (k, x) in m {
        let outcome = match k.as_str() {
            "retry_on" if missed.is_empty() => mapped(&["retries.retryOn"], Some("5xx and gateway-error: failed LLM answers and failed connections; reset and connect-failure: failed connections".into())),
            "retry_on" => lost(format!("retry_on {}: not modelled (the others are read)", missed.join(","))),
            "num_retries" => mapped(&["retries.maxAttempts"], Some("attempts = num_retries + 1 (at most 100)".into())),
            "retry_back_off" => mapped(&["retries.backoff"], Some("Envoy's jittered exponential backoff".into())),
            "retriable_status_codes" => mapped(&["retries.retryOn"], Some("5xx codes: failed LLM answers".into())),
            "per_try_timeout" | "per_try_idle_timeout" => lost("a deadline per attempt: fleetsim's deadline is the whole request's (limits.requestTimeout)"),
            "retry_host_predicate" => lost("retries avoid hosts already tried in Envoy; fleetsim's retry is a fresh pick that may land on the same instance"),
            "retry_priority" => lost("retries sent to other priority levels: fleetsim's retry is a fresh pick"),
            "host_selection_retry_max_attempts" => ignored("with a host predicate only"),
            _ => ignored("retries on headers, rate-limited back-off and options: not modelled, no effect on these requests"),
        };
        out.key(p, k, x, outcome);
    }
    if !m.contains_key("num_retries") && acts {
        out.push(
            p,
            "num_retries: 1 (Envoy's default)",
            mapped(&["retries.maxAttempts"], None),
        );
    }
    if on.is_empty() {
        out.push(
            p,
            "retry_on (nothing retried)",
            ignored("Envoy retries only on the conditions retry_on names"),
        );
    }
    Ok(acts)
}

/// `retry_back_off`: base 25ms, max 10 × base.
fn backoff(out: &mut Out<'_>, p: &str, v: Option<&Value>) -> Result<(Nanos, Nanos), ScenarioError> {
    let Some(v) = v else {
        return Ok((Nanos::from_millis(25), Nanos::from_millis(250)));
    };
    let bp = join(p, "retry_back_off");
    let m = out.object(&bp, v)?;
    let base = match m.get("base_interval") {
        Some(x) => dur(out, &join(&bp, "base_interval"), x)?,
        None => {
            return Err(out.bad(
                &bp,
                "`retry_back_off` without `base_interval`; Envoy requires it",
            ))
        }
    };
    if base < Nanos::from_millis(1) {
        return Err(out.bad(&join(&bp, "base_interval"), "`base_interval`: at least 1ms (Envoy refuses 0, fleetsim's jitter needs a millisecond)"));
    }
    let max = match m.get("max_interval") {
        Some(x) => dur(out, &join(&bp, "max_interval"), x)?,
        None => Nanos(base.0.saturating_mul(10)),
    };
    if max < base {
        return Err(out.bad(
            &join(&bp, "max_interval"),
            "`max_interval`: must be at least base_interval",
        ));
    }
    for (k, x) in m {
        let outcome = match k.as_str() {
            "base_interval" => mapped(&["retries.backoff.base"], None),
            "max_interval" => mapped(&["retries.backoff.max"], None),
            _ => lost("not known to fleetsim's Envoy reader"),
        };
        out.key(&bp, k, x, outcome);
    }
    if !m.contains_key("max_interval") {
        out.push(
            &bp,
            "max_interval: 10 × base_interval (Envoy's default)",
            mapped(&["retries.backoff.max"], None),
        );
    }
    Ok((base, max))
}

/// `circuit_breakers` (Envoy's defaults when absent): the DEFAULT
/// priority's thresholds.
pub(crate) fn breakers(
    out: &mut Out<'_>,
    cp: &str,
    cv: &Value,
    retried: bool,
) -> Result<(), ScenarioError> {
    let (mut conns, mut pending, mut requests, mut max_retries) = (1024u64, 1024u64, 1024u64, 3u64);
    let mut budget: Option<(f64, u64)> = None;
    let bp = join(cp, "circuit_breakers");
    match cv.get("circuit_breakers") {
        None => out.push(cp, "circuit_breakers (Envoy's defaults: 1024 connections, 1024 pending, 1024 requests, 3 retries)", mapped(&["limits.maxConnections"], None)),
        Some(b) => {
            let m = out.object(&bp, b)?;
            for (k, x) in m {
                let kp = join(&bp, k);
                match k.as_str() {
                    "thresholds" => {
                        for (i, t) in out.list(&kp, x)?.iter().enumerate() {
                            let tp = format!("{kp}[{i}]");
                            let tm = out.object(&tp, t)?;
                            let high = match tm.get("priority") {
                                None => false,
                                Some(Value::String(s)) if s == "DEFAULT" => false,
                                Some(Value::String(s)) if s == "HIGH" => true,
                                Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
                                Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
                                Some(_) => return Err(out.bad(&join(&tp, "priority"), "`priority`: expected DEFAULT or HIGH")),
                            };
                            if high {
                                for (tk, tx) in tm {
                                    out.key(&tp, tk, tx, ignored("HIGH priority thresholds, for HIGH-priority routes; the route is DEFAULT"));
                                }
                                continue;
                            }
                            for (tk, tx) in tm {
                                let tkp = join(&tp, tk);
                                let outcome = match tk.as_str() {
                                    "priority" => ignored("DEFAULT: the route's"),
                                    "max_connections" => { conns = num(out, &tkp, tx, u64::from(u32::MAX))?; mapped(&["limits.maxConnections"], None) }
                                    "max_pending_requests" => { pending = num(out, &tkp, tx, u64::from(u32::MAX))?; mapped(&["limits.maxConnections"], None) }
                                    "max_requests" => { requests = num(out, &tkp, tx, u64::from(u32::MAX))?; mapped(&["limits.maxConnections"], None) }
                                    "max_retries" => { max_retries = num(out, &tkp, tx, u64::from(u32::MAX))?; if retried { mapped(&["retries.budget"], None) } else { ignored("the route retries nothing") } }
                                    "retry_budget" => {
                                        let rb = out.object(&tkp, tx)?;
                                        let pct = rb.get("budget_percent").map_or(Some(20.0), |x| unwrap(x).as_f64()).filter(|p| (0.0..=100.0).contains(p)).ok_or_else(|| out.bad(&join(&tkp, "budget_percent"), "`budget_percent`: expected a percentage from 0 to 100 (`{value: 20.0}`)"))?;
                                        let min = match rb.get("min_retry_concurrency") { Some(x) => num(out, &join(&tkp, "min_retry_concurrency"), x, u64::from(u32::MAX))?, None => 3 };
                                        budget = Some((pct, min));
                                        if retried { mapped(&["retries.budget"], Some("retries in flight at most budget_percent of requests in flight, at least min_retry_concurrency; max_retries no longer applies".into())) } else { ignored("the route retries nothing") }
                                    }
                                    "track_remaining" | "max_connection_pools" => ignored("stats and connection pools: no simulation meaning"),
                                    _ => lost("not known to fleetsim's Envoy reader"),
                                };
                                out.key(&tp, tk, tx, outcome);
                            }
                        }
                    }
                    "per_host_thresholds" => {
                        let first = x.as_array().and_then(|a| a.first()).and_then(|t| t.get("max_connections")).map(|c| num(out, &join(&kp, "[0].max_connections"), c, u64::from(u32::MAX))).transpose()?;
                        match first {
                            Some(c) if c > 0 => {
                                out.set(&["limits", "maxConnectionsPerInstance"], json!(c));
                                out.key(&bp, k, x, mapped(&["limits.maxConnectionsPerInstance"], Some("one request a connection (HTTP/1.1 to the hosts)".into())));
                            }
                            _ => out.key(&bp, k, x, lost("per-host thresholds other than a positive max_connections")),
                        }
                    }
                    _ => out.key(&bp, k, x, lost("not known to fleetsim's Envoy reader")),
                }
            }
        }
    }
    let held = conns
        .min(requests)
        .saturating_add(pending)
        .min(u64::from(u32::MAX));
    if held == 0 {
        return Err(out.bad(&bp, "these circuit breakers refuse every request (max_requests or max_connections, and max_pending_requests, are 0)"));
    }
    out.set(&["limits", "maxConnections"], json!(held));
    out.push(&bp, format!("circuit breaking: {held} requests at once"), Outcome::Unsupported { lost: format!("Envoy holds up to min(max_connections, max_requests) = {} requests at the hosts and queues {pending} more in its own pending queue, refusing past that; fleetsim has no proxy-side queue: limits.maxConnections is {held} held at the instances", conns.min(requests)) });
    if retried {
        let b = match budget {
            Some((pct, min)) => json!({ "percent": pct, "minConcurrency": min }),
            None => json!({ "percent": 0, "minConcurrency": max_retries }),
        };
        out.set(&["retries", "budget"], b);
        if budget.is_none() {
            out.push(&bp, format!("max_retries: {max_retries} (retries in flight at once)"), mapped(&["retries.budget"], Some("percent 0 and minConcurrency max_retries: at most that many retries in flight".into())));
        }
    }
    Ok(())
}

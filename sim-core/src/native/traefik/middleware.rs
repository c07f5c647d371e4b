//! Traefik's HTTP middlewares on the router to the service: `retry`,
//! `rateLimit`, `inFlightReq`, `circuitBreaker`; the others have no
//! simulation meaning.

use super::super::mapped;
use super::super::tree::{as_count, duration_str, field, go_duration, join, Out};
use super::{ignored, lost};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use strategies::Nanos;

const GO: &str = "\"10s\", \"100ms\", \"1m30s\" or a number of seconds";

/// A map of `http` and its path.
type Located<'m> = Option<(String, &'m Map<String, Value>)>;

/// The `http.middlewares` map and its path.
fn defined<'m>(out: &Out<'_>, hm: &'m Map<String, Value>) -> Result<Located<'m>, ScenarioError> {
    match field(hm, "middlewares") {
        Some((k, v)) => {
            let hk = hm_key(out);
            let p = join(&hk, k);
            Ok(Some((p.clone(), out.object(&p, v)?)))
        }
        None => Ok(None),
    }
}

/// The spelling of the `http` key at the root.
fn hm_key(out: &Out<'_>) -> String {
    out.doc
        .value
        .as_object()
        .and_then(|r| field(r, "http"))
        .map_or_else(|| "http".to_string(), |(k, _)| k.to_string())
}

/// No router sends to the service: each middleware is reported as
/// applying only if routed.
pub(crate) fn unrouted(
    out: &mut Out<'_>,
    _hk: &str,
    hm: &Map<String, Value>,
) -> Result<(), ScenarioError> {
    if let Some((p, mws)) = defined(out, hm)? {
        for (name, m) in mws {
            out.key(&p, name, m, ignored("no router in the file sends to the service: a middleware applies only on a router that uses it"));
        }
    }
    Ok(())
}

/// The middlewares `chain` (in order) of the router to the service.
pub(crate) fn read_chain(
    out: &mut Out<'_>,
    hm: &Map<String, Value>,
    chain: &[String],
) -> Result<(), ScenarioError> {
    let Some((p, mws)) = defined(out, hm)? else {
        return Ok(());
    };
    for (name, m) in mws {
        let mp = join(&p, name);
        if !chain.iter().any(|c| c == name) {
            out.key(&p, name, m, ignored("not on the router to the service"));
            continue;
        }
        let mm = out.object(&mp, m)?;
        let Some((kind, cfg)) = mm.iter().next() else {
            out.key(&p, name, m, ignored("an empty middleware"));
            continue;
        };
        let kp = join(&mp, kind);
        match kind.to_ascii_lowercase().as_str() {
            "retry" => retry(out, &kp, cfg)?,
            "ratelimit" => rate_limit(out, &kp, name, cfg)?,
            "inflightreq" => in_flight(out, &kp, cfg)?,
            "circuitbreaker" => {
                let expr = cfg
                    .as_object()
                    .and_then(|c| field(c, "expression"))
                    .and_then(|(_, e)| e.as_str())
                    .unwrap_or("");
                out.key(&mp, kind, cfg, lost(format!("circuitBreaker `{expr}`: Traefik trips one breaker for the whole service on ratios or latency over its last 10s (fallback 10s, recovery 10s); fleetsim's breakers are per instance, on consecutive failures or a failure rate")));
            }
            "chain" => out.key(
                &mp,
                kind,
                cfg,
                lost("a chain of middlewares: its members are not followed"),
            ),
            _ => out.key(
                &mp,
                kind,
                cfg,
                ignored("headers, paths, auth, compression and the like: no simulation meaning"),
            ),
        }
    }
    Ok(())
}

fn retry(out: &mut Out<'_>, p: &str, v: &Value) -> Result<(), ScenarioError> {
    let m = out.object(p, v)?;
    let get = |k: &str| field(m, k);
    let attempts = match get("attempts") {
        Some((k, x)) => out.count(&join(p, k), x, 1, 1000)?,
        None => return Err(out.bad(p, "a retry middleware without `attempts`; Traefik requires it (attempts in all, the first included)")),
    };
    let interval = match get("initialInterval") {
        Some((k, x)) => out.duration(&join(p, k), x, go_duration, GO)?,
        None => Nanos::ZERO,
    };
    let bool_of = |k: &str| {
        get(k)
            .and_then(|(_, x)| x.as_bool().or_else(|| x.as_str().map(|s| s == "true")))
            .unwrap_or(false)
    };
    let network = !bool_of("disableRetryOnNetworkError");
    let post = bool_of("retryNonIdempotentMethod");
    let statuses: Vec<String> = get("status")
        .and_then(|(_, x)| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .or_else(|| s.as_u64().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let five = statuses.iter().any(|s| s.trim().starts_with('5'));
    let mut on = Vec::new();
    if network {
        on.push("connect-failure");
    }
    if five && post {
        on.push("5xx");
    }
    if attempts > 1 && !on.is_empty() {
        out.set(&["retries", "maxAttempts"], json!(attempts.min(100)));
        out.set(&["retries", "retryOn"], json!(on));
        let backoff = if interval > Nanos::ZERO {
            json!({ "base": duration_str(interval), "max": duration_str(Nanos(interval.0.saturating_mul(2))), "jitter": "none" })
        } else {
            json!({ "base": "1ms", "max": "1ms", "jitter": "none" })
        };
        out.set(&["retries", "backoff"], backoff);
    }
    for (k, x) in m {
        let outcome = match k.to_ascii_lowercase().as_str() {
            "attempts" => mapped(&["retries.maxAttempts"], Some("attempts in all, the first included; a retry is a fresh pick, as Traefik's".into())),
            "initialinterval" => mapped(&["retries.backoff"], Some("Traefik's backoff grows from initialInterval to at most twice it, randomized ±50%; fleetsim doubles to that cap without jitter".into())),
            "disableretryonnetworkerror" => mapped(&["retries.retryOn"], Some("network errors are failed connections".into())),
            "status" if five && !post => ignored("Traefik retries on status codes only for idempotent methods; an LLM request is a POST (set retryNonIdempotentMethod)"),
            "status" => mapped(&["retries.retryOn"], Some("5xx codes: failed LLM answers".into())),
            "retrynonidempotentmethod" => mapped(&["retries.retryOn"], Some("POSTs are retried on the status codes too".into())),
            "timeout" => lost("a cap on the time spent retrying: fleetsim bounds attempts only"),
            _ => ignored("the request body's buffer: no simulation meaning"),
        };
        out.key(p, k, x, outcome);
    }
    Ok(())
}

/// The key a `sourceCriterion` counts per; Traefik's default is the
/// client address (`rateLimit`) or the request host (`inFlightReq`).
fn source_key(v: Option<&Value>, default: &'static str) -> &'static str {
    let Some(m) = v.and_then(Value::as_object) else {
        return default;
    };
    if field(m, "requestHost").is_some_and(|(_, x)| x.as_bool() == Some(true)) {
        "global"
    } else if field(m, "requestHeaderName").is_some() {
        "user"
    } else if field(m, "ipStrategy").is_some() {
        "ip"
    } else {
        default
    }
}

fn rate_limit(out: &mut Out<'_>, p: &str, name: &str, v: &Value) -> Result<(), ScenarioError> {
    let m = out.object(p, v)?;
    let average = match field(m, "average") {
        Some((k, x)) => out.count(&join(p, k), x, 0, u64::from(u32::MAX))?,
        None => 0,
    };
    let period = match field(m, "period") {
        Some((k, x)) => out.duration(&join(p, k), x, go_duration, GO)?,
        None => Nanos::from_secs(1),
    };
    let burst = match field(m, "burst") {
        Some((k, x)) => out.count(&join(p, k), x, 0, u64::from(u32::MAX))?,
        None => 1,
    };
    let key = source_key(field(m, "sourceCriterion").map(|x| x.1), "ip");
    let acts = average > 0 && period > Nanos::ZERO;
    if acts {
        out.set(&["rateLimits", name], json!({ "requests": average, "window": duration_str(period), "strategy": "token-bucket", "burst": burst.max(1), "key": key }));
    }
    let rk = format!("rateLimits.{name}");
    for (k, x) in m {
        let outcome = match k.to_ascii_lowercase().as_str() {
            _ if !acts => ignored("average 0: no rate limit"),
            "average" | "period" => mapped(&[&rk], Some("a token bucket refilled at average per period; Traefik also holds a request up to half a token's time (at most 500ms) when the bucket refills soon, fleetsim refuses it at once".into())),
            "burst" if burst == 0 => lost("burst 0 refuses every request in Traefik; read as 1"),
            "burst" => mapped(&[&format!("{rk}.burst")], None),
            "sourcecriterion" => mapped(&[&format!("{rk}.key")], Some(format!("counted per `{key}` (give workload.users unless global)"))),
            "redis" => ignored("a shared store: one limit across Traefik instances, as fleetsim's single entry"),
            _ => lost("not known to fleetsim's Traefik reader"),
        };
        out.key(p, k, x, outcome);
    }
    if acts && field(m, "sourceCriterion").is_none() {
        out.push(
            p,
            "sourceCriterion (Traefik's default: the client address)",
            mapped(
                &[&format!("{rk}.key")],
                Some("`ip`: give workload.users".into()),
            ),
        );
    }
    Ok(())
}

fn in_flight(out: &mut Out<'_>, p: &str, v: &Value) -> Result<(), ScenarioError> {
    let m = out.object(p, v)?;
    let amount = field(m, "amount")
        .and_then(|(_, x)| as_count(x))
        .unwrap_or(0);
    let key = source_key(field(m, "sourceCriterion").map(|x| x.1), "global");
    if amount > 0 && key == "global" {
        out.set(
            &["limits", "maxConnections"],
            json!(amount.min(u64::from(u32::MAX))),
        );
    }
    for (k, x) in m {
        let outcome = match (k.to_ascii_lowercase().as_str(), amount, key) {
            (_, 0, _) => ignored("amount 0: no limit"),
            ("amount", _, "global") => mapped(&["limits.maxConnections"], Some("requests in flight through the service at once (per request host, Traefik's default: one host here); the excess is refused with 429".into())),
            (_, _, "global") => mapped(&["limits.maxConnections"], None),
            _ => lost("in-flight requests counted per client: fleetsim's connection limit is fleet-wide"),
        };
        out.key(p, k, x, outcome);
    }
    Ok(())
}

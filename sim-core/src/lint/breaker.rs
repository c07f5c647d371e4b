//! Breakers: a `timeout` that reads like a reset time.
//!
//! fleetsim's breaker `timeout` is the slow-call threshold (a call slower
//! than it counts as a failure, resilience4j's
//! `slowCallDurationThreshold`); how long the breaker stays open is
//! `resetTimeout`. Other libraries call the open time `timeout` (gobreaker's
//! `Settings.Timeout`, Hystrix-style configs), so a `timeout` at least as
//! long as `resetTimeout` (written, or its default) — a slow-call threshold
//! no shorter than the time the breaker stays open — most likely meant the
//! open time.

use super::{secs, Finding, Stage};
use crate::scenario::Model;
use serde_json::Value;
use strategies::CircuitBreakerConfig;

fn check_one(
    cfg: &CircuitBreakerConfig,
    at: &str,
    written: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let Some(timeout) = cfg.timeout else {
        return;
    };
    if !cfg.enabled {
        return;
    }
    let reset_written = written.is_some_and(|b| b.get("resetTimeout").is_some());
    let (t, r) = (timeout.nanos(), cfg.reset_timeout.nanos());
    if t < r {
        return;
    }
    let why = if reset_written {
        format!(
            "it is at least as long as `resetTimeout` ({}), which is how long the breaker stays open",
            secs(r.as_secs_f64())
        )
    } else {
        format!(
            "no `resetTimeout` is given, so the breaker stays open for the default {}",
            secs(r.as_secs_f64())
        )
    };
    out.push(Finding::new(
        Stage::Static,
        format!("{at}.timeout"),
        "breaker-timeout-not-reset",
        format!(
            "`timeout` ({}) is the slow-call threshold (a call slower than it counts as a failure) and \
             {why}; if you meant how long the breaker stays open, write `resetTimeout` instead",
            secs(t.as_secs_f64())
        ),
    ));
}

/// The fleet's breaker and each model's.
pub(super) fn timeouts(model: &Model, doc: &Value, out: &mut Vec<Finding>) {
    if let Some(b) = &model.resilience.circuit_breaker {
        let written = doc.pointer("/deployment/circuitBreaker");
        check_one(b, "deployment.circuitBreaker", written, out);
    }
    for (name, m) in &model.scenario.llm.models {
        if let Some(b) = &m.circuit_breaker {
            let written = doc
                .get("llm")
                .and_then(|l| l.get("models"))
                .and_then(|ms| ms.get(name))
                .and_then(|m| m.get("circuitBreaker"));
            check_one(
                b,
                &format!("llm.models.{name}.circuitBreaker"),
                written,
                out,
            );
        }
    }
}

//! Each resilience setting changes a run as it should: health checks,
//! outlier ejection, circuit breakers, rate limits, retries and limits,
//! against the failures they exist for. Expected figures are derived in
//! the comments; tolerances are Poisson or binomial standard deviations.

use sim_core::{run_model, Model, RunOptions, RunResult};

/// Eight single-purpose instances (4 slots each), 8 requests/s of 500ms
/// constant work: utilization 12.5%, so every effect below comes from the
/// setting under test, not from queueing.
fn scenario(extra_deployment: &str, extra_top: &str) -> String {
    format!(
        r#"{{
  "name": "resilience",
  "run": {{ "seed": 11, "duration": "40m", "warmup": "0s" }},
  "workload": {{ "arrivals": {{ "ratePerSecond": 8 }} }},
  "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "500ms" }} }} }} }},
  "instanceTypes": {{ "t": {{ "slots": 4 }} }},
  "deployment": {{
    "regions": {{ "r": {{ "instances": 8 }} }},
    "loadBalancing": {{ "strategy": "round-robin" }}
    {extra_deployment}
  }}
  {extra_top}
}}"#
    )
}

fn run(text: &str) -> RunResult {
    let m = Model::from_json(text, "resilience.json").unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    let run = r.runs.into_iter().next().unwrap();
    assert!(run.counts.conserved(), "{:?}", run.counts);
    assert!(
        run.reasons.consistent_with(&run.counts),
        "{:?}",
        run.reasons
    );
    run
}

const CRASH_10M: &str = r#", "failures": { "events": [
    { "type": "instance-crash", "instance": "r/0", "at": "10m", "duration": "10m" } ] }"#;

#[test]
fn without_health_checks_a_crashed_instance_keeps_failing_its_share() {
    let r = run(&scenario("", CRASH_10M));
    // Round robin sends every 8th request to the crashed instance: 1/s for
    // 600s, about 600 (Poisson sd ~17 over 4800 arrivals / 8; 5 sd = 85).
    let lost = r.reasons.instance_down;
    assert!((515..=685).contains(&lost), "lost {lost}");
    assert_eq!(r.resilience.instance_failures, 1);
}

#[test]
fn health_checks_take_it_out_after_threshold_times_interval() {
    let hc = r#", "healthCheck": { "interval": "10s", "timeout": "5s", "unhealthyThreshold": 3, "healthyThreshold": 2 }"#;
    let r = run(&scenario(hc, CRASH_10M));
    // Checks run at 10s, 20s, ...; the crash at 600s is caught by the checks
    // at 600s (the check at exactly 600s runs after the crash, both being
    // scheduled at that instant but the crash earlier), 610s and 620s:
    // unhealthy at 620s. Requests to it fail for those ~20s: about 20, and
    // never more than 30 (three intervals).
    let lost = r.reasons.instance_down;
    assert!((10..=30).contains(&lost), "lost {lost}");
    assert_eq!(r.resilience.marked_unhealthy, 1);
    // It returns after two passing checks once repaired at 1200s.
    assert!(r.instances[0].requests > 1_000);
}

#[test]
fn a_hung_instance_is_detected_after_interval_plus_threshold_timeouts() {
    let hc = r#", "healthCheck": { "interval": "10s", "timeout": "5s", "unhealthyThreshold": 3 },
        "limits": { "requestTimeout": "30s" }"#;
    let hang = r#", "failures": { "events": [
        { "type": "instance-hang", "instance": "r/0", "at": "10m", "duration": "10m" } ] }"#;
    let r = run(&scenario(hc, hang));
    // Checks sent at 600s (result at 605s), 615s (620s), 630s (635s): marked
    // unhealthy at 635s. About 35 requests reach it meanwhile; each times
    // out after 30s (it hangs, it never answers).
    let lost = r.reasons.request_timeout;
    assert!((25..=45).contains(&lost), "timed out {lost}");
    assert_eq!(r.resilience.marked_unhealthy, 1);
}

#[test]
fn outlier_detection_ejects_after_consecutive_errors() {
    // Envoy's default cap of 10% ejects none of eight instances (100 * 1 / 8
    // is above 10): the crashed one keeps failing requests.
    let od = r#", "outlierDetection": { "consecutiveErrors": 5 }"#;
    let r = run(&scenario(od, CRASH_10M));
    assert_eq!(r.resilience.ejections, 0, "{:?}", r.resilience);
    assert!(r.reasons.instance_down > 500, "{:?}", r.reasons);
    let od = r#", "outlierDetection": { "consecutiveErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 20 }"#;
    let r = run(&scenario(od, CRASH_10M));
    // Five failures eject it for 30s * n; each return costs five more
    // failures, and ejection time grows. Far fewer than the 600 without.
    assert!(r.resilience.ejections >= 3, "{:?}", r.resilience);
    assert!(r.reasons.instance_down < 100, "{:?}", r.reasons);
    assert!(r.reasons.instance_down >= 5 * r.resilience.ejections - 5);
}

#[test]
fn circuit_breakers_open_and_reject_when_every_instance_fails() {
    let cb = r#", "circuitBreaker": { "failureThreshold": 3, "resetTimeout": "30s" }"#;
    let outage = r#", "failures": { "events": [
        { "type": "region-outage", "region": "r", "at": "10m", "duration": "10m" } ] }"#;
    let r = run(&scenario(cb, outage));
    // Every instance fails; three failures each trip all eight breakers,
    // then requests are refused as circuit open until trials succeed again.
    assert!(r.resilience.breaker_trips >= 8, "{:?}", r.resilience);
    assert!(r.reasons.circuit_open > 3_000, "{:?}", r.reasons);
    assert!(r.reasons.instance_down < 1_000, "{:?}", r.reasons);
    assert_eq!(r.counts.rejected, r.reasons.circuit_open);
}

#[test]
fn rate_limit_rejects_the_excess() {
    let rl =
        r#", "rateLimit": { "requests": 4, "window": "1s", "strategy": "sliding-window-log" }"#;
    let r = run(&scenario(rl, ""));
    // 8/s offered, 4/s admitted: about half rejected. Arrivals in 2400s:
    // ~19200 (sd 139); the admitted count is at most 4 per second = 9600.
    let c = r.counts;
    assert!(c.completed + c.in_flight <= 9_600, "{c:?}");
    // Poisson arrivals waste capacity in quiet seconds, so somewhat more
    // than half is refused: measured 57.5% on this seed.
    let share = r.reasons.rate_limited as f64 / c.arrivals as f64;
    assert!((0.5..0.65).contains(&share), "{share}");
}

#[test]
fn per_user_limits_only_bite_heavy_users() {
    let rl = r#", "rateLimit": { "requests": 30, "window": "1m", "key": "user" }"#;
    let users = r#", "workload": { "arrivals": { "ratePerSecond": 8 }, "users": { "count": 100, "skew": 1.2 } }"#;
    let text =
        scenario(rl, "").replace(r#""workload": { "arrivals": { "ratePerSecond": 8 } },"#, "");
    let text = text.replacen(
        "\"deployment\"",
        &format!("{}, \"deployment\"", &users[2..]),
        1,
    );
    let r = run(&text);
    // Zipf(1.2) over 100 users: the top user sends about 26% of 8/s = 2/s,
    // far over 0.5/s; most users stay under it.
    let share = r.reasons.rate_limited as f64 / r.counts.arrivals as f64;
    assert!(share > 0.15 && share < 0.6, "{share}");
}

#[test]
fn retries_recover_llm_errors_at_the_expected_rate() {
    let text = scenario(
        r#", "retries": { "maxAttempts": 3, "backoff": { "base": "50ms", "max": "1s" } }"#,
        "",
    )
    .replace(
        r#""value": "500ms" }"#,
        r#""value": "500ms" }, "errorRate": 0.2"#,
    );
    let r = run(&text);
    // A request fails only if all three attempts fail: 0.2^3 = 0.008. Over
    // ~19200 requests that is ~154 (sd 12). Retries per request:
    // 0.2 + 0.04 = 0.24, ~4600 (sd ~60).
    let failed = r.reasons.llm_error as f64;
    assert!((154.0 - failed).abs() < 60.0, "failed {failed}");
    let retries = r.resilience.retries as f64 / r.counts.arrivals as f64;
    assert!((retries - 0.24).abs() < 0.02, "{retries}");
}

#[test]
fn retry_on_limits_which_failures_are_retried() {
    // nginx's default `proxy_next_upstream error timeout` and Caddy's dial
    // retries leave an agent's error answer alone: with LLM errors at 20%
    // and a crashed instance, only the refused connections are retried.
    let with = |retry_on: &str| {
        scenario(
            &format!(
                r#", "retries": {{ "maxAttempts": 3,
                    "backoff": {{ "base": "1ms", "max": "1ms", "jitter": "none" }} {retry_on} }}"#
            ),
            CRASH_10M,
        )
        .replace(
            r#""value": "500ms" }"#,
            r#""value": "500ms" }, "errorRate": 0.2"#,
        )
    };
    let text = with(r#", "retryOn": ["connect-failure", "timeout"]"#);
    let r = run(&text);
    // Every LLM error reaches the client: 20% of ~19200, sd ~55.
    let failed = r.reasons.llm_error as f64 / r.counts.arrivals as f64;
    assert!((failed - 0.2).abs() < 0.015, "{failed}");
    // The ~600 attempts round robin sends to the crashed instance are all
    // retried, and none is lost to it; a retry lands on it again about one
    // time in eight, so ~600 x (1 + 1/8 + 1/64) = ~685 retries (sd ~26).
    assert_eq!(r.reasons.instance_down, 0);
    assert!(
        (600..=770).contains(&r.resilience.retries),
        "{:?}",
        r.resilience
    );

    let all = run(&with(""));
    let failed = all.reasons.llm_error as f64 / all.counts.arrivals as f64;
    assert!(failed < 0.02, "{failed}");

    let bad = text.replace(r#"["connect-failure", "timeout"]"#, "[]");
    let e = Model::from_json(&bad, "r.json").unwrap_err().to_string();
    assert!(
        e.contains("retryOn") && e.contains("connect-failure"),
        "{e}"
    );
    let bad = text.replace(r#""timeout"]"#, r#""503"]"#);
    let e = Model::from_json(&bad, "r.json").unwrap_err().to_string();
    assert!(e.contains("retryOn") && e.contains("5xx"), "{e}");
}

#[test]
fn retry_budget_caps_retries_in_flight() {
    let text = scenario(
        r#", "retries": { "maxAttempts": 5, "budget": { "percent": 0, "minConcurrency": 1 } }"#,
        "",
    )
    .replace(
        r#""value": "500ms" }"#,
        r#""value": "500ms" }, "errorRate": 0.5"#,
    );
    let capped = run(&text);
    let free = run(&text.replace(r#", "budget": { "percent": 0, "minConcurrency": 1 }"#, ""));
    assert!(
        capped.resilience.retries < free.resilience.retries / 2,
        "{:?} vs {:?}",
        capped.resilience,
        free.resilience
    );
    assert!(capped.reasons.llm_error > free.reasons.llm_error);
}

#[test]
fn fleet_connection_cap_and_connection_timeout() {
    // Overload: 8/s of 500ms work on 8 x 4 slots is fine; make it 80/s on
    // 32 slots (rho 1.25). A fleet cap of 40 rejects; a 2s connection
    // timeout drops long waits.
    let over = scenario(
        r#", "limits": { "maxConnections": 40, "connectionTimeout": "2s" }"#,
        "",
    )
    .replace(r#""ratePerSecond": 8"#, r#""ratePerSecond": 80"#);
    let r = run(&over);
    assert!(r.reasons.over_connection_limit > 1_000, "{:?}", r.reasons);
    let r2 = run(&over.replace(r#""maxConnections": 40, "#, ""));
    assert!(r2.reasons.connection_timeout > 1_000, "{:?}", r2.reasons);
    assert_eq!(r2.reasons.over_connection_limit, 0);
}

#[test]
fn slow_instance_slows_what_it_serves() {
    let slow = r#", "failures": { "events": [
        { "type": "slow-instance", "instance": "r/0", "at": "0s", "duration": "1h", "factor": 4 } ] }"#;
    let r = run(&scenario("", slow));
    // One in eight requests takes 2s instead of 0.5s: mean 0.6875s.
    let mean = r.latency.mean.unwrap();
    assert!((mean - 0.6875).abs() < 0.01, "{mean}");
}

#[test]
fn random_failures_happen_at_the_configured_rate() {
    let random = r#", "failures": { "random": { "meanTimeBetweenFailures": "10m", "meanTimeToRepair": "1m" } }"#;
    let r = run(&scenario("", random));
    // 8 instances, cycles of ~11 minutes over 40 minutes: about 29 failures
    // (Poisson-like, sd ~5).
    let f = r.resilience.instance_failures;
    assert!((15..=45).contains(&f), "{f}");
    assert!(r.reasons.instance_down > 0);
}

#[test]
fn bad_policy_values_name_their_path() {
    let bad = scenario(r#", "circuitBreaker": { "failureThreshold": 0 }"#, "");
    let e = Model::from_json(&bad, "b.json").unwrap_err();
    assert_eq!(
        e.problems()[0].path,
        "deployment.circuitBreaker.failureThreshold"
    );
    let bad = scenario(
        r#", "rateLimit": { "requests": 5, "window": "1s", "key": "user" }"#,
        "",
    );
    let e = Model::from_json(&bad, "b.json").unwrap_err();
    assert_eq!(e.problems()[0].path, "deployment.rateLimit.key");
    let bad = scenario(
        "",
        r#", "failures": { "events": [ { "type": "instance-crash", "instance": "r/9", "at": "1m", "duration": "1m" } ] }"#,
    );
    let e = Model::from_json(&bad, "b.json").unwrap_err();
    assert_eq!(e.problems()[0].path, "failures.events[0].instance");
    let bad = scenario(r#", "healthCheck": { "intervall": "10s" }"#, "");
    let e = Model::from_json(&bad, "b.json").unwrap_err();
    assert!(e.to_string().contains("did you mean `interval`?"), "{e}");
}

#[test]
fn nginx_passive_health_skips_a_crashed_instance_and_probes_it_every_fail_timeout() {
    let ph = r#", "passiveHealth": { "type": "nginx" }"#;
    let r = run(&scenario(ph, CRASH_10M));
    // max_fails 1, fail_timeout 10s: the first refused connection takes it
    // out; after each 10s one request probes it (and fails) until the
    // instance is back: about 600 / 10 = 60 failures, against 600 without.
    let lost = r.reasons.instance_down;
    assert!((50..=62).contains(&lost), "lost {lost}");
    assert!(r.resilience.passive_marked_down >= 50, "{:?}", r.resilience);
}

#[test]
fn caddy_passive_health_remembers_each_failure_for_fail_duration() {
    let ph = r#", "passiveHealth": { "type": "caddy", "failDuration": "30s" }"#;
    let r = run(&scenario(ph, CRASH_10M));
    // Out for 30s after each strike, then full traffic again: the first
    // request back fails. About 600 / 30 = 20 failures.
    let lost = r.reasons.instance_down;
    assert!((15..=22).contains(&lost), "lost {lost}");
}

#[test]
fn passive_health_ignores_llm_errors_unless_told_to_count_them() {
    let errors = r#"{ "latency": { "dist": "constant", "value": "500ms" }, "errorRate": 0.01 }"#;
    let with_errors = |ph: &str| {
        scenario(ph, "").replace(
            r#"{ "latency": { "dist": "constant", "value": "500ms" } }"#,
            errors,
        )
    };
    // A healthy fleet whose LLM calls fail 1% of the time stays in rotation.
    let r = run(&with_errors(r#", "passiveHealth": { "type": "nginx" }"#));
    assert!(r.reasons.llm_error > 100, "{:?}", r.reasons);
    assert_eq!(r.resilience.passive_marked_down, 0, "{:?}", r.resilience);
    // Counting them (nginx `proxy_next_upstream http_500`) takes instances
    // out for every error.
    let r = run(&with_errors(
        r#", "passiveHealth": { "type": "nginx", "countApplicationErrors": true }"#,
    ));
    assert!(r.resilience.passive_marked_down > 100, "{:?}", r.resilience);
}

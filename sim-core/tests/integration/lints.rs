//! Findings: each setting that cannot act is named with its path, and the
//! same setting where it does act is not. Run findings are checked
//! against what the run did (the scaling log, the refusal counts), so a
//! finding that says "never" is true of the run it comes with.

use serde_json::{json, Value};
use sim_core::{run_model, Finding, FindingStage, Model, RunOptions, ScenarioResult};

/// One region of 4-slot, 2-core instances; requests take 50ms of CPU and
/// one constant 1s LLM call (1.05s in a slot: 3.81 requests per second
/// per instance at most, 9.5% CPU at most).
fn base() -> Value {
    json!({
      "name": "lints",
      "run": { "seed": 3, "duration": "20m", "warmup": "0s" },
      "workload": {
        "arrivals": { "ratePerSecond": 2 },
        "request": { "cpuTime": { "dist": "constant", "value": "50ms" }, "llmCalls": 1 }
      },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
      "instanceTypes": { "t": { "slots": 4, "cpus": 2, "memory": "2Gi", "idleMemory": "512Mi",
                                "memoryPerRequest": "256Mi", "pricePerHour": 3.6 } },
      "deployment": {
        "regions": { "r": { "instances": 2 } },
        "loadBalancing": { "strategy": "least-connections" }
      }
    })
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
        .as_object_mut()
        .unwrap()
        .insert(key.to_string(), value);
}

fn model(v: &Value) -> Model {
    Model::from_json(&v.to_string(), "lints.json").unwrap_or_else(|e| panic!("{e}"))
}

fn run(v: &Value) -> ScenarioResult {
    run_model(&model(v), RunOptions::default()).unwrap()
}

fn with<'a>(fs: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.code == code).collect()
}

fn paths(fs: &[Finding], code: &str) -> Vec<String> {
    with(fs, code).iter().map(|f| f.path.clone()).collect()
}

fn hpa(metric: Value) -> Value {
    json!({ "policy": "hpa", "minReplicas": 1, "maxReplicas": 10, "metrics": [metric] })
}

fn pods(name: &str, value: &str) -> Value {
    json!({ "type": "Pods", "pods": { "metric": { "name": name },
            "target": { "type": "AverageValue", "averageValue": value } } })
}

// ---- autoscaler targets no pod can reach ----

#[test]
fn an_hpa_requests_per_second_target_above_a_pods_capacity_is_found() {
    let mut v = base();
    set(
        &mut v,
        "/deployment/scaling",
        hpa(pods("requests_per_second", "10")),
    );
    let m = model(&v);
    let f = with(&m.findings, "scaling-target-unreachable");
    assert_eq!(f.len(), 1, "{:?}", m.findings);
    assert_eq!(
        f[0].path,
        "deployment.scaling.metrics[0].pods.target.averageValue"
    );
    assert_eq!(f[0].stage, FindingStage::Static);
    // 4 slots / 1.05s per request.
    let cap = 4.0 / m.mean_service_secs();
    assert!(
        f[0].message.contains(&format!("{:.2}/s", cap)),
        "{}",
        f[0].message
    );
    // Within capacity: quiet.
    set(
        &mut v,
        "/deployment/scaling",
        hpa(pods("requests_per_second", "2")),
    );
    assert!(with(&model(&v).findings, "scaling-target-unreachable").is_empty());
}

#[test]
fn a_cpu_target_above_what_busy_slots_burn_is_found_and_the_autoscaler_indeed_never_moves() {
    let mut v = base();
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "minInstances": 1, "maxInstances": 10, "targetCPU": 70 }),
    );
    // Three times the traffic after 5 minutes: the pods saturate.
    set(
        &mut v,
        "/workload/arrivals/steps",
        json!([{ "at": "5m", "ratePerSecond": 12 }]),
    );
    let r = run(&v);
    assert_eq!(
        paths(&r.findings, "scaling-target-unreachable"),
        ["deployment.scaling.targetCPU"]
    );
    assert_eq!(r.runs[0].scaling.scale_ups, 0, "{:?}", r.runs[0].scaling);
    // A target busy pods do reach: quiet, and it scales.
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "minInstances": 1, "maxInstances": 10, "targetCPU": 5 }),
    );
    let r = run(&v);
    assert!(with(&r.findings, "scaling-target-unreachable").is_empty());
    assert!(r.runs[0].scaling.scale_ups > 0);
}

#[test]
fn target_tracking_and_step_thresholds_above_a_pods_ceiling_are_found() {
    let mut v = base();
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "policy": "target-tracking", "minCapacity": 1, "maxCapacity": 10, "targets": [
            { "predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 1000 },
            { "predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 120 } ] }),
    );
    assert_eq!(
        paths(&model(&v).findings, "scaling-target-unreachable"),
        ["deployment.scaling.targets[0].targetValue"]
    );
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "policy": "step", "minCapacity": 1, "maxCapacity": 10, "policies": [
          { "alarm": { "metric": "cpu", "comparisonOperator": "GreaterThanThreshold", "threshold": 60 },
            "adjustmentType": "ChangeInCapacity",
            "stepAdjustments": [{ "metricIntervalLowerBound": 0, "scalingAdjustment": 1 }] },
          { "alarm": { "metric": "cpu", "comparisonOperator": "LessThanThreshold", "threshold": 60 },
            "adjustmentType": "ChangeInCapacity",
            "stepAdjustments": [{ "metricIntervalUpperBound": 0, "scalingAdjustment": -1 }] } ] }),
    );
    assert_eq!(
        paths(&model(&v).findings, "scaling-target-unreachable"),
        ["deployment.scaling.policies[0].alarm.threshold"]
    );
}

// ---- cooldowns and stabilization windows ----

#[test]
fn a_cooldown_that_never_held_a_decision_is_found_and_one_that_did_is_not() {
    let mut v = base();
    // Steady load within 2 instances' targets: nothing to hold.
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "minInstances": 2, "maxInstances": 10, "targetConnections": 4,
                "scaleUpCooldown": "2m", "scaleDownCooldown": "5m" }),
    );
    let r = run(&v);
    let held = |r: &ScenarioResult| r.runs[0].scaling_log.iter().any(|e| e.reason == "cooldown");
    assert!(!held(&r));
    assert_eq!(
        paths(&r.findings, "cooldown-never-bound"),
        [
            "deployment.scaling.scaleUpCooldown",
            "deployment.scaling.scaleDownCooldown"
        ]
    );
    assert!(r
        .findings
        .iter()
        .all(|f| f.code != "cooldown-never-bound" || f.stage == FindingStage::Run));
    // Start at 1 with a low target: it scales up one at a time, and the
    // 2m cooldown holds the next step each time.
    set(&mut v, "/deployment/regions/r/instances", json!(1));
    set(
        &mut v,
        "/deployment/scaling",
        json!({ "minInstances": 1, "maxInstances": 10, "targetConnections": 0.5,
                "scaleUpCooldown": "2m" }),
    );
    let r = run(&v);
    assert!(held(&r));
    assert!(
        with(&r.findings, "cooldown-never-bound").is_empty(),
        "{:?}",
        r.findings
    );
}

#[test]
fn a_stabilization_window_that_never_held_is_found_and_one_that_held_a_scale_down_is_not() {
    let mut v = base();
    let scaling = |window: &str| {
        let mut s = hpa(pods("connections", "2"));
        s["behavior"] = json!({ window: { "stabilizationWindowSeconds": 300 } });
        s
    };
    // A scale-up window on a load that never asks for more: never held.
    set(&mut v, "/deployment/scaling", scaling("scaleUp"));
    set(
        &mut v,
        "/workload/arrivals/steps",
        json!([{ "at": "10m", "ratePerSecond": 0.5 }]),
    );
    let r = run(&v);
    let log = &r.runs[0].scaling_log;
    let up_held = log
        .iter()
        .any(|e| e.reason == "stabilization" && e.wanted > e.desired);
    assert!(!up_held, "{log:?}");
    assert_eq!(
        paths(&r.findings, "stabilization-never-bound"),
        ["deployment.scaling.behavior.scaleUp.stabilizationWindowSeconds"]
    );
    // The same run's drop at 10 minutes is held by a scale-down window.
    set(&mut v, "/deployment/scaling", scaling("scaleDown"));
    let r = run(&v);
    let log = &r.runs[0].scaling_log;
    assert!(
        log.iter()
            .any(|e| e.reason == "stabilization" && e.wanted < e.desired),
        "{log:?}"
    );
    assert!(with(&r.findings, "stabilization-never-bound").is_empty());
}

// ---- budgets ----

#[test]
fn a_budget_that_never_refused_a_scale_up_is_found_and_one_that_did_is_not() {
    let mut v = base();
    set(&mut v, "/deployment/scaling", hpa(pods("connections", "2")));
    set(
        &mut v,
        "/workload/arrivals/steps",
        json!([{ "at": "5m", "ratePerSecond": 20 }]),
    );
    set(&mut v, "/deployment/budget", json!({ "perHour": 1000 }));
    let r = run(&v);
    assert_eq!(r.runs[0].scaling.refused_by_budget, 0);
    assert!(r.runs[0].scaling.scale_ups > 0);
    assert_eq!(
        paths(&r.findings, "budget-never-bound"),
        ["deployment.budget.perHour"]
    );
    // 3.60 per instance-hour: 18 allows 5 instances, and 20/s wants more.
    set(&mut v, "/deployment/budget", json!({ "perHour": 18 }));
    let r = run(&v);
    assert!(r.runs[0].scaling.refused_by_budget > 0);
    assert!(with(&r.findings, "budget-never-bound").is_empty());
}

// ---- canaries ----

#[test]
fn a_canary_the_autoscaler_removes_is_found_and_one_it_keeps_is_not() {
    let mut v = base();
    // Three instances on a load one can carry: the HPA scales down to 1,
    // removing the newest (highest index) first.
    set(&mut v, "/deployment/regions/r/instances", json!(3));
    set(&mut v, "/workload/arrivals/ratePerSecond", json!(0.5));
    set(&mut v, "/deployment/scaling", hpa(pods("connections", "2")));
    set(
        &mut v,
        "/deployment/loadBalancing/canary",
        json!({ "percent": 10, "instances": ["r/2"] }),
    );
    let r = run(&v);
    assert!(
        r.runs[0].scaling.scale_downs >= 2,
        "{:?}",
        r.runs[0].scaling
    );
    let f = with(&r.findings, "canary-removed");
    assert_eq!(f.len(), 1, "{:?}", r.findings);
    assert_eq!(f[0].path, "deployment.loadBalancing.canary.instances");
    // The canary's share indeed collapses: r/2 serves far less than 10%.
    let served: Vec<u64> = r.runs[0].instances.iter().map(|i| i.requests).collect();
    let total: u64 = served.iter().sum();
    assert!((served[2] as f64) < 0.05 * total as f64, "{served:?}");
    // The instance the autoscaler keeps (the lowest index): quiet.
    set(
        &mut v,
        "/deployment/loadBalancing/canary",
        json!({ "percent": 10, "instances": ["r/0"] }),
    );
    let r = run(&v);
    assert!(r.runs[0].scaling.scale_downs >= 2);
    assert!(
        with(&r.findings, "canary-removed").is_empty(),
        "{:?}",
        r.findings
    );
}

// ---- breakers ----

#[test]
fn a_breaker_timeout_that_reads_like_a_reset_time_is_found() {
    let mut v = base();
    let finds = |v: &Value| paths(&model(v).findings, "breaker-timeout-not-reset");
    // `timeout` alone.
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "60s" }),
    );
    assert_eq!(finds(&v), ["deployment.circuitBreaker.timeout"]);
    // At least as long as `resetTimeout`.
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "60s", "resetTimeout": "30s" }),
    );
    assert_eq!(finds(&v), ["deployment.circuitBreaker.timeout"]);
    // A slow-call threshold shorter than the open time: quiet; so is no
    // `timeout`.
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "5s", "resetTimeout": "30s" }),
    );
    assert!(finds(&v).is_empty());
    // A short `timeout` alone is a plain slow-call threshold, below the
    // default open time: quiet.
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "2s" }),
    );
    assert!(finds(&v).is_empty());
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "resetTimeout": "30s" }),
    );
    assert!(finds(&v).is_empty());
    // A model's breaker is read the same way.
    set(
        &mut v,
        "/llm/models/m/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "2m" }),
    );
    assert_eq!(finds(&v), ["llm.models.m.circuitBreaker.timeout"]);
}

// ---- affinity ----

#[test]
fn an_affinity_type_is_found_to_change_nothing_and_affinity_without_one_is_quiet() {
    let mut v = base();
    set(&mut v, "/workload/users", json!({ "count": 200 }));
    set(
        &mut v,
        "/deployment/loadBalancing/sessionAffinity",
        json!({ "type": "ip", "ttl": "10m" }),
    );
    let m = model(&v);
    assert_eq!(
        paths(&m.findings, "affinity-type-no-effect"),
        ["deployment.loadBalancing.sessionAffinity.type"]
    );
    // And it does change nothing: `ip` and `cookie` give the same run.
    let ip = run_model(&m, RunOptions::default()).unwrap();
    set(
        &mut v,
        "/deployment/loadBalancing/sessionAffinity",
        json!({ "type": "cookie", "ttl": "10m" }),
    );
    let cookie = run(&v);
    assert_eq!(ip.pooled.counts, cookie.pooled.counts);
    assert_eq!(ip.pooled.latency.p99, cookie.pooled.latency.p99);
    set(
        &mut v,
        "/deployment/loadBalancing/sessionAffinity",
        json!({ "ttl": "10m" }),
    );
    assert!(with(&model(&v).findings, "affinity-type-no-effect").is_empty());
}

// ---- limits ----

#[test]
fn limits_that_never_refused_are_found_and_limits_that_did_are_not() {
    let mut v = base();
    set(
        &mut v,
        "/deployment/rateLimits",
        json!({ "entry": { "requests": 1000, "window": "1s" } }),
    );
    set(
        &mut v,
        "/deployment/limits",
        json!({ "maxConnectionsPerInstance": 100 }),
    );
    let r = run(&v);
    assert_eq!(
        paths(&r.findings, "limit-never-refused"),
        [
            "deployment.rateLimits.entry",
            "deployment.limits.maxConnectionsPerInstance"
        ]
    );
    // Limits the load passes: each refuses, and neither is named.
    set(
        &mut v,
        "/deployment/rateLimits",
        json!({ "entry": { "requests": 10, "window": "1s" } }),
    );
    set(&mut v, "/workload/arrivals/ratePerSecond", json!(12));
    set(
        &mut v,
        "/deployment/limits",
        json!({ "maxConnectionsPerInstance": 1 }),
    );
    let r = run(&v);
    assert!(r.pooled.reasons.rate_limited > 0);
    assert!(r.pooled.reasons.over_connection_limit > 0);
    assert!(
        with(&r.findings, "limit-never-refused").is_empty(),
        "{:?}",
        r.findings
    );
}

#[test]
fn a_provider_quota_that_never_answered_429_is_found() {
    let mut v = base();
    set(
        &mut v,
        "/llm/models/m/rateLimit",
        json!({ "requestsPerMinute": 100000 }),
    );
    let r = run(&v);
    assert_eq!(
        paths(&r.findings, "limit-never-refused"),
        ["llm.models.m.rateLimit"]
    );
    set(
        &mut v,
        "/llm/models/m/rateLimit",
        json!({ "requestsPerMinute": 30 }),
    );
    let r = run(&v);
    assert!(
        with(&r.findings, "limit-never-refused").is_empty(),
        "{:?}",
        r.findings
    );
}

// ---- the whole ----

#[test]
fn a_scenario_with_nothing_to_find_has_no_findings_and_no_findings_key() {
    let r = run(&base());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("findings").is_none());
}

#[test]
fn findings_are_in_the_json_with_path_code_message_and_stage_and_repeat_exactly() {
    let mut v = base();
    set(
        &mut v,
        "/deployment/circuitBreaker",
        json!({ "failureThreshold": 5, "timeout": "60s" }),
    );
    set(
        &mut v,
        "/deployment/limits",
        json!({ "maxConnectionsPerInstance": 100 }),
    );
    let a = serde_json::to_value(run(&v)).unwrap();
    let b = serde_json::to_value(run(&v)).unwrap();
    assert_eq!(a["findings"], b["findings"]);
    let f = a["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0]["stage"], "static");
    assert_eq!(f[0]["code"], "breaker-timeout-not-reset");
    assert_eq!(f[1]["stage"], "run");
    assert_eq!(f[1]["path"], "deployment.limits.maxConnectionsPerInstance");
    assert!(f[1]["message"].as_str().unwrap().len() > 20);
}

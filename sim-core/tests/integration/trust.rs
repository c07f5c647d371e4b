//! What a user writes either runs faithfully or is refused with the file,
//! the JSON path and what is allowed; and every valid scenario finishes in
//! memory bounded by what is in flight.

use serde_json::json;
use sim_core::{run_model, Model, Nanos, RunOptions};

const BASE: &str = r#"{
  "name": "base", "run": { "duration": "10m", "warmup": "0s" },
  "workload": { "arrivals": { "ratePerSecond": 1 } },
  "llm": { "models": { "m": { "latency": { "dist": "uniform", "min": "1s", "max": "2s" } } } },
  "instanceTypes": { "t": { "slots": 2 } },
  "deployment": { "regions": { "r": { "instances": 3 } } }
}"#;

fn with(base: &str, pointer: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
        .as_object_mut()
        .unwrap()
        .insert(key.to_string(), value);
    v.to_string()
}

/// The first problem's path and the whole rendered error.
fn problem(text: &str) -> (String, String) {
    let e = Model::from_json(text, "bad.json").expect_err("must be rejected");
    let rendered = e.to_string();
    assert!(
        rendered.starts_with("bad.json"),
        "names the file: {rendered}"
    );
    let path = e.problems().first().map(|p| p.path.clone());
    (path.unwrap_or_default(), rendered)
}

#[test]
fn duplicate_keys_in_maps_are_errors_with_their_path() {
    for (text, path, key) in [
        (
            BASE.replace(
                r#""r": { "instances": 3 }"#,
                r#""r": { "instances": 3 }, "r": { "instances": 9 }"#,
            ),
            "deployment.regions",
            "r",
        ),
        (
            BASE.replace(
                r#""t": { "slots": 2 }"#,
                r#""t": { "slots": 2 }, "t": { "slots": 8 }"#,
            ),
            "instanceTypes",
            "t",
        ),
        (
            BASE.replace(
                r#""models": { "m": "#,
                r#""models": { "m": { "latency": { "dist": "constant", "value": "1s" } }, "m": "#,
            ),
            "llm.models",
            "m",
        ),
    ] {
        let (p, msg) = problem(&text);
        assert_eq!(p, path, "{msg}");
        assert!(msg.contains(&format!("duplicate key `{key}`")), "{msg}");
    }
}

#[test]
fn an_object_written_as_an_array_is_an_error() {
    let (path, msg) = problem(&with(BASE, "/run", json!([42, "30m"])));
    assert_eq!(path, "run");
    assert!(
        msg.contains("expected an object") && msg.contains("found an array"),
        "{msg}"
    );
}

#[test]
fn a_number_where_a_name_is_expected_names_the_allowed_values() {
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/loadBalancing",
        json!({"strategy": 3}),
    ));
    assert_eq!(path, "deployment.loadBalancing.strategy");
    assert!(msg.contains("found the number 3"), "{msg}");
    assert!(msg.contains("`least-connections`"), "{msg}");
    assert!(!msg.contains("not valid JSON"), "{msg}");
}

#[test]
fn keys_the_seed_docs_put_elsewhere_point_to_their_place() {
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/loadBalancing",
        json!({"strategy": "least-connections", "healthCheck": {"enabled": true}}),
    ));
    assert_eq!(path, "deployment.loadBalancing.healthCheck");
    assert!(msg.contains("belongs at `deployment.healthCheck`"), "{msg}");
    let (path, msg) = problem(&with(BASE, "/regions", json!({"r": {"instances": 1}})));
    assert_eq!(path, "regions");
    assert!(msg.contains("belongs at `deployment.regions`"), "{msg}");
    let (_, msg) = problem(&with(BASE, "/scaling", json!({"minInstances": 1})));
    assert!(msg.contains("belongs at `deployment.scaling`"), "{msg}");
}

#[test]
fn the_swiftclaw_timeouts_block_is_the_limits_timeouts() {
    let block = Model::from_json(
        &with(
            BASE,
            "/deployment/timeouts",
            json!({"connection": "10s", "request": "60s"}),
        ),
        "t.json",
    )
    .unwrap();
    let limits = Model::from_json(
        &with(
            BASE,
            "/deployment/limits",
            json!({"connectionTimeout": "10s", "requestTimeout": "60s"}),
        ),
        "l.json",
    )
    .unwrap();
    assert_eq!(block.resilience.request_timeout, Some(Nanos::from_secs(60)));
    assert_eq!(
        block.resilience.connection_timeout,
        limits.resilience.connection_timeout
    );
    assert_eq!(
        block.resilience.request_timeout,
        limits.resilience.request_timeout
    );

    // `idle` could not change a run: refused with the reason.
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/timeouts",
        json!({"request": "60s", "idle": "300s"}),
    ));
    assert_eq!(path, "deployment.timeouts.idle");
    assert!(msg.contains("keep-alive"), "{msg}");
    // One timeout in two places: refused.
    let both = with(
        &with(BASE, "/deployment/timeouts", json!({"request": "60s"})),
        "/deployment/limits",
        json!({"requestTimeout": "30s"}),
    );
    let (path, msg) = problem(&both);
    assert_eq!(path, "deployment.timeouts.request");
    assert!(msg.contains("deployment.limits.requestTimeout"), "{msg}");
    let (path, _) = problem(&with(
        BASE,
        "/deployment/timeouts",
        json!({"request": "0s"}),
    ));
    assert_eq!(path, "deployment.timeouts.request");
}

#[test]
fn weights_alone_select_the_weighted_strategy_and_are_used() {
    // The SwiftClaw doc's shape: weights without a strategy.
    let text = with(
        &with(BASE, "/run/duration", json!("2h")),
        "/deployment/loadBalancing",
        json!({"weighted": {"r/0": 6, "r/1": 3, "r/2": 1}}),
    );
    let m = Model::from_json(&text, "w.json").unwrap();
    assert_eq!(m.balancing.config.kind().name(), "weighted");
    let r = run_model(&m, RunOptions::default()).unwrap();
    let req: Vec<u64> = r.runs[0].instances.iter().map(|i| i.requests).collect();
    let total: u64 = req.iter().sum();
    for (got, share) in req.iter().zip([0.6, 0.3, 0.1]) {
        let want = share * total as f64;
        assert!((*got as f64 - want).abs() < 0.02 * total as f64, "{req:?}");
    }
}

#[test]
fn weights_a_strategy_would_ignore_are_an_error() {
    for strategy in [
        "round-robin",
        "peak-ewma",
        "response-time",
        "performance-based",
        "first",
    ] {
        let (path, msg) = problem(&with(
            BASE,
            "/deployment/loadBalancing",
            json!({"strategy": strategy, "weighted": {"r/0": 5}}),
        ));
        assert_eq!(path, "deployment.loadBalancing.strategy", "{msg}");
        assert!(msg.contains("ignores the `weighted` map"), "{msg}");
    }
}

#[test]
fn routing_by_identity_without_users_is_an_error() {
    for lb in [
        json!({"strategy": "ip-hash"}),
        json!({"strategy": "consistent-hash"}),
        json!({"strategy": "geographic", "localStrategy": "consistent-hash"}),
        json!({"strategy": "least-connections", "sessionAffinity": {"enabled": true}}),
    ] {
        let text = with(BASE, "/deployment/loadBalancing", lb.clone());
        let (path, msg) = problem(&text);
        assert!(
            path.starts_with("deployment.loadBalancing."),
            "{lb}: {path}"
        );
        assert!(msg.contains("workload.users"), "{msg}");
        // With users, the same block runs.
        let ok = with(&text, "/workload/users", json!({"count": 100}));
        Model::from_json(&ok, "ok.json").unwrap_or_else(|e| panic!("{lb}: {e}"));
    }
}

#[test]
fn what_cannot_be_simulated_is_refused_with_the_limit() {
    for (pointer, value, path) in [
        (
            "/workload/arrivals/ratePerSecond",
            json!(1e308),
            "workload.arrivals.ratePerSecond",
        ),
        ("/run/duration", json!("5000d"), "run.duration"),
        (
            "/deployment/healthCheck",
            json!({"interval": "1ns"}),
            "deployment.healthCheck.interval",
        ),
        (
            "/deployment/outlierDetection",
            json!({"interval": "1us"}),
            "deployment.outlierDetection.interval",
        ),
        (
            "/deployment/retries",
            json!({"maxAttempts": 4_000_000_000u32}),
            "deployment.retries.maxAttempts",
        ),
        (
            "/failures",
            json!({"random": {"meanTimeBetweenFailures": "1ns", "meanTimeToRepair": "1s"}}),
            "failures.random.meanTimeBetweenFailures",
        ),
    ] {
        let (p, msg) = problem(&with(BASE, pointer, value));
        assert_eq!(p, path, "{msg}");
        assert!(
            msg.contains("at most") || msg.contains("at least") || msg.contains("from 1 to"),
            "{msg}"
        );
    }
}

#[test]
fn a_device_or_endless_stream_is_refused_at_a_sane_size() {
    let e = Model::from_file("/dev/zero").expect_err("refused");
    assert!(e.to_string().contains("larger than 8 MiB"), "{e}");
    let e = Model::from_file(std::env::temp_dir()).expect_err("refused");
    assert!(e.to_string().contains("directory"), "{e}");
}

/// Peak events queued for `text`'s first replication.
fn peak_queue(text: &str) -> (u64, u64) {
    let m = Model::from_json(text, "mem.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    (r.runs[0].engine.peak_event_queue, r.runs[0].counts.arrivals)
}

#[test]
fn the_event_queue_holds_what_is_in_flight_not_rate_times_timeout() {
    // 50,000 requests a second for 20 s with a one-hour deadline: every
    // arrival used to leave its deadline in the queue for the whole run.
    let fast = with(
        &with(
            &with(BASE, "/run/duration", json!("20s")),
            "/workload/arrivals/ratePerSecond",
            json!(50_000),
        ),
        "/llm/models/m/latency",
        json!({"dist": "constant", "value": "10ms"}),
    );
    let fast = with(
        &fast,
        "/deployment/limits",
        json!({"requestTimeout": "1h", "maxConnectionsPerInstance": 400}),
    );
    let (peak, arrivals) = peak_queue(&fast);
    assert!(arrivals > 900_000, "{arrivals}");
    // In flight: about 50,000/s x 10 ms = 500 requests.
    assert!(peak < 10_000, "peak {peak} events for {arrivals} arrivals");
    // Rejected at once (one connection for the whole fleet).
    let rejected = with(
        &fast,
        "/deployment/limits",
        json!({"requestTimeout": "1h", "maxConnections": 1}),
    );
    let (peak, _) = peak_queue(&rejected);
    assert!(peak < 10_000, "peak {peak}");
}

#[test]
fn a_hung_instance_does_not_grow_its_queue_with_timed_out_entries() {
    // One instance hangs for the whole run while its queue takes requests
    // that time out waiting: the stale entries must not pile up.
    let text = with(
        &with(
            &with(BASE, "/deployment/regions/r/instances", json!(1)),
            "/deployment/limits",
            json!({"connectionTimeout": "100ms"}),
        ),
        "/failures",
        json!({"events": [{"type": "instance-hang", "instance": "r/0", "at": "0s", "duration": "1h"}]}),
    );
    let text = with(&text, "/workload/arrivals/ratePerSecond", json!(2_000));
    let m = Model::from_json(&text, "hang.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let run = &r.runs[0];
    assert!(run.counts.timed_out > 1_000_000, "{:?}", run.counts);
    assert!(run.engine.peak_event_queue < 10_000, "{:?}", run.engine);
    // Live queued requests: about 2,000/s x 100 ms = 200.
    assert!(run.engine.peak_instance_queue < 2_000, "{:?}", run.engine);
    assert!(run.counts.conserved());
}

#[test]
fn the_scaling_block_is_read_as_strictly_as_the_rest_with_inner_paths() {
    let hpa = |behavior: serde_json::Value| {
        with(
            BASE,
            "/deployment/scaling",
            json!({ "policy": "hpa", "maxReplicas": 5,
                    "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "connections" },
                                   "target": { "type": "AverageValue", "averageValue": "2" } } } ],
                    "behavior": behavior }),
        )
    };
    // An array in place of the behavior object.
    let (path, msg) = problem(&hpa(json!([{ "stabilizationWindowSeconds": 60 }])));
    assert_eq!(path, "deployment.scaling.behavior", "{msg}");
    // A typo deep inside names its own path and the nearest key.
    let (path, msg) = problem(&hpa(
        json!({ "scaleUp": { "stabilisationWindowSeconds": 60 } }),
    ));
    assert_eq!(
        path, "deployment.scaling.behavior.scaleUp.stabilisationWindowSeconds",
        "{msg}"
    );
    assert!(msg.contains("stabilizationWindowSeconds"), "{msg}");
    // A threshold rule written as an array.
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/scaling",
        json!({ "targetCPU": 70, "rules": [["cpu", 30, "down"]] }),
    ));
    assert_eq!(path, "deployment.scaling.rules[0]", "{msg}");
    // A policy name that does not exist still lists the policies.
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/scaling",
        json!({ "policy": "keda", "maxReplicaCount": 3 }),
    ));
    assert_eq!(path, "deployment.scaling", "{msg}");
    assert!(msg.contains("queue") && msg.contains("hpa"), "{msg}");
}

//! The network: round trips count against the request timeout, jitter is
//! added per request, and a scheduled degradation stretches one link's
//! round trips while it lasts.

use serde_json::{json, Value};
use sim_core::{run_model, Model, RunOptions, ScenarioResult};

fn run(v: &Value) -> ScenarioResult {
    let m = Model::from_value(v, "network.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

fn base(rtt: &str, service: &str) -> Value {
    json!({
        "name": "network", "run": { "duration": "1h", "seed": 23 },
        "workload": { "arrivals": { "ratePerSecond": 2 }, "clients": { "eu": 1.0 } },
        "llm": { "models": { "m": { "latency": { "dist": "constant", "value": service } } } },
        "network": { "rtt": { "eu": { "us-east-1": rtt } } },
        "instanceTypes": { "t": { "slots": 100 } },
        "deployment": { "regions": { "us-east-1": { "instances": 1 } },
                        "limits": { "requestTimeout": "2s" } }
    })
}

#[test]
fn round_trips_count_against_the_timeout() {
    // 1.8s of work: with a 100ms round trip the client has its answer in
    // 1.9s; with 300ms it has given up at 2s.
    let near = run(&base("100ms", "1800ms"));
    assert_eq!(near.pooled.counts.timed_out, 0);
    assert!((near.pooled.latency.mean.unwrap() - 1.9).abs() < 1e-6);
    let far = run(&base("300ms", "1800ms"));
    assert_eq!(far.pooled.counts.completed, 0);
    assert_eq!(
        far.pooled.counts.timed_out,
        far.pooled.counts.arrivals - far.pooled.counts.in_flight
    );
    assert!(far.pooled.counts.conserved());
}

#[test]
fn jitter_adds_its_mean_to_every_round_trip() {
    let mut v = base("100ms", "500ms");
    v["network"]["jitter"] = json!({ "dist": "uniform", "min": "0s", "max": "100ms" });
    let r = run(&v);
    let b = &r.pooled.breakdown;
    assert!((b.network - 0.15).abs() < 0.002, "{b:?}");
    assert!((r.pooled.latency.mean.unwrap() - 0.65).abs() < 0.002);
}

#[test]
fn a_degraded_link_stretches_its_round_trips_while_it_lasts() {
    // Ten minutes of an hour at five times the round trip: the mean round
    // trip is 100ms * (1 + 4 / 6).
    let mut v = base("100ms", "500ms");
    v["failures"] = json!({ "events": [ { "type": "network-degradation", "from": "eu",
        "region": "us-east-1", "at": "20m", "duration": "10m", "factor": 5 } ] });
    let r = run(&v);
    let b = &r.pooled.breakdown;
    assert!((b.network - 0.1 * (1.0 + 4.0 / 6.0)).abs() < 0.005, "{b:?}");
    // A link the event does not name is untouched.
    let mut two = v.clone();
    two["workload"]["clients"] = json!({ "eu": 0.5, "us": 0.5 });
    two["network"]["rtt"]["us"] = json!({ "us-east-1": "20ms" });
    let r = run(&two);
    let b = &r.pooled.breakdown;
    let expected = 0.5 * 0.1 * (1.0 + 4.0 / 6.0) + 0.5 * 0.02;
    assert!(
        (b.network - expected).abs() < 0.005,
        "{} vs {expected}",
        b.network
    );
}

#[test]
fn network_settings_refuse_what_cannot_apply() {
    let event = |e: Value| {
        let mut v = base("100ms", "500ms");
        v["failures"] = json!({ "events": [e] });
        v
    };
    let cases = [
        (
            event(
                json!({ "type": "network-degradation", "region": "us-east-1",
                "at": "1m", "duration": "1m", "factor": 2 }),
            ),
            "failures.events[0].from",
        ),
        (
            event(
                json!({ "type": "network-degradation", "from": "asia", "region": "us-east-1",
                "at": "1m", "duration": "1m", "factor": 2 }),
            ),
            "failures.events[0].from",
        ),
        (
            event(
                json!({ "type": "network-degradation", "from": "eu", "region": "us-east-1",
                "at": "1m", "duration": "1m" }),
            ),
            "failures.events[0].factor",
        ),
        (
            event(
                json!({ "type": "instance-crash", "from": "eu", "instance": "us-east-1/0",
                "at": "1m", "duration": "1m" }),
            ),
            "failures.events[0].from",
        ),
    ];
    for (v, path) in cases {
        let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
        assert!(e.contains(path), "{path}: {e}");
    }
    let mut v = base("100ms", "500ms");
    v["network"]["jitter"] = json!({ "dist": "exponential", "mean": "0s" });
    let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
    assert!(e.contains("network.jitter"), "{e}");
}

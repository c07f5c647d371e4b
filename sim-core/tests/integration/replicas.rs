//! Balancer replicas with stale views of the load: least connections herds
//! onto the instance that looked idlest at the last refresh, power of two
//! choices resists, and replicas that know only their own traffic do not
//! herd.

use serde_json::{json, Value};
use sim_core::{run_model, Model, RunOptions, ScenarioResult};
use std::path::PathBuf;

fn shipped() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/agents/stale-views.json");
    sim_core::json_file(&p).unwrap()
}

fn run(v: &Value) -> ScenarioResult {
    let m = Model::from_value(v, "replicas.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

fn with_lb(lb: Value) -> Value {
    let mut v = shipped();
    v["deployment"]["loadBalancing"] = lb;
    v
}

#[test]
fn stale_views_herd_least_connections_and_power_of_two_resists() {
    let stale_lc = run(&shipped());
    let one_lc = run(&with_lb(json!({ "strategy": "least-connections" })));
    let stale_p2c = run(&with_lb(json!({ "strategy": "power-of-two", "replicas": 8,
        "loadRefreshInterval": "2s" })));
    let q = |r: &ScenarioResult| r.pooled.breakdown.queueing;
    let p99 = |r: &ScenarioResult| r.pooled.latency.p99.unwrap();
    assert!(
        q(&stale_lc) > 0.5 && q(&one_lc) < 0.01,
        "{} {}",
        q(&stale_lc),
        q(&one_lc)
    );
    assert!(
        p99(&stale_lc) > 1.25 * p99(&one_lc),
        "{} vs {}",
        p99(&stale_lc),
        p99(&one_lc)
    );
    assert!(
        q(&stale_p2c) < q(&stale_lc) / 5.0,
        "{} vs {}",
        q(&stale_p2c),
        q(&stale_lc)
    );
    assert!(
        p99(&stale_p2c) < 1.1 * p99(&one_lc),
        "{} vs {}",
        p99(&stale_p2c),
        p99(&one_lc)
    );
    // Every replica's requests are accounted for: the same work is done.
    assert_eq!(
        stale_lc.pooled.counts.arrivals,
        one_lc.pooled.counts.arrivals
    );
    assert!(stale_lc.pooled.counts.conserved());
}

#[test]
fn replicas_that_know_only_their_own_traffic_do_not_herd() {
    let own = run(&with_lb(
        json!({ "strategy": "least-connections", "replicas": 8 }),
    ));
    assert!(
        own.pooled.breakdown.queueing < 0.05,
        "{:?}",
        own.pooled.breakdown
    );
}

#[test]
fn replica_settings_refuse_what_cannot_apply() {
    let cases = [
        (
            json!({ "strategy": "least-connections", "loadRefreshInterval": "1s" }),
            "loadRefreshInterval",
        ),
        (
            json!({ "strategy": "round-robin", "replicas": 4, "loadRefreshInterval": "1s" }),
            "loadRefreshInterval",
        ),
        (
            json!({ "strategy": "peak-ewma", "replicas": 4 }),
            "replicas",
        ),
        (
            json!({ "strategy": "least-connections", "replicas": 0 }),
            "replicas",
        ),
        (
            json!({ "strategy": "least-connections", "replicas": 4, "loadRefreshInterval": "10us" }),
            "loadRefreshInterval",
        ),
    ];
    for (lb, key) in cases {
        let e = Model::from_value(&with_lb(lb.clone()), "bad.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("deployment.loadBalancing.{key}")),
            "{lb}: {e}"
        );
    }
}

//! Offered load on every resource: the bottleneck a scenario names is the
//! one its runs saturate, and its offered load is at or above what a run
//! measures there.

use sim_core::{Engine, Model, RunResult};
use std::path::PathBuf;

fn model(rel: &str) -> Model {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel);
    Model::from_file(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The first replication of `m`.
fn first_run(m: &Model) -> RunResult {
    Engine::new(m, 0).run().expect("run succeeds")
}

#[test]
fn the_cpu_bound_quickstart_names_cpu_and_offers_what_it_loses() {
    let m = model("variants/quickstart-cpu-bound.json");
    let load = m.offered_load();
    assert_eq!(load.bottleneck, "cpu");
    let cpu = load.get("cpu").expect("cpu is a resource");
    // 10/s x 0.7 s of CPU on 6 cores.
    assert!((cpu.ratio - 7.0 / 6.0).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.peak_ratio - 14.0 * 0.7 / 6.0).abs() < 1e-9, "{cpu:?}");
    let slots = load.get("slots").expect("slots");
    assert!(slots.ratio < 1.0, "the slots alone look fine: {slots:?}");
    assert!(load.overloaded().any(|r| r.resource == "cpu"));
    let r = first_run(&m);
    // The run saturates the cores and the slots, and loses requests.
    let measured_cpu = r.cpu_utilization.expect("cpu measured");
    assert!(cpu.ratio >= measured_cpu, "{} < {measured_cpu}", cpu.ratio);
    assert!(
        cpu.ratio >= r.utilization,
        "{} < {}",
        cpu.ratio,
        r.utilization
    );
    assert!(
        r.utilization > slots.ratio,
        "CPU contention holds slots longer than the slots' own offered load says"
    );
    // What is over capacity at the base rate is refused or times out: at
    // least 1 - 1/rho of it.
    assert!(r.error_rate >= 1.0 - 1.0 / cpu.ratio, "{}", r.error_rate);
}

#[test]
fn the_agenticgokit_seed_names_cpu_overloaded_at_its_peak() {
    let m = model("seeds/agenticgokit.json");
    let load = m.offered_load();
    assert_eq!(load.bottleneck, "cpu");
    let cpu = load.bottleneck();
    // 10/s x 120 ms on 3 x 0.5 cores; the surge doubles it.
    assert!((cpu.ratio - 0.8).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.peak_ratio - 1.6).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.max_capacity - 10.0).abs() < 1e-9, "20 pods may run");
    assert!(load.overloaded().any(|r| r.resource == "cpu"));
    let slots = load.get("slots").expect("slots");
    let r = first_run(&m);
    let measured_cpu = r.cpu_utilization.expect("cpu measured");
    assert!(cpu.ratio >= measured_cpu, "{} < {measured_cpu}", cpu.ratio);
    // The slots alone (about 8%) say nothing of the half that times out.
    assert!(r.error_rate > slots.peak_ratio, "{}", r.error_rate);
    assert!(cpu.peak_ratio - 1.0 > 0.0 && r.error_rate > 0.1);
}

#[test]
fn a_replayed_trace_offers_its_own_rows_on_its_slots() {
    let m = model("agents/trace-replay.json");
    let load = m.offered_load();
    assert_eq!(load.bottleneck, "slots");
    let t = m.workload.trace.as_ref().expect("a trace");
    let rate = t.rows as f64 / m.run.duration.as_secs_f64();
    assert!((load.base_rate - rate).abs() < 1e-9);
    let slots = load.bottleneck();
    assert!((slots.ratio - m.offered_utilization()).abs() < 1e-9);
    // Both replications: the measured utilization is a mean over about
    // 5,900 requests whose service time varies (a relative standard error
    // of about 0.8%), so it may land a little either side of the mean the
    // estimate gives: at most three standard errors above it.
    let runs: Vec<RunResult> = (0..2)
        .map(|s| Engine::new(&m, s).run().expect("runs"))
        .collect();
    let measured = runs.iter().map(|r| r.utilization).sum::<f64>() / 2.0;
    assert!(
        slots.ratio >= measured * 0.975,
        "offered {} < measured {measured}",
        slots.ratio
    );
    assert!(slots.ratio <= measured * 1.1, "and close to it");
}

#[test]
fn a_fleet_short_of_slots_still_names_the_slots() {
    let m = model("quickstart.json");
    let load = m.offered_load();
    assert_eq!(load.bottleneck, "slots");
    assert_eq!(load.resources[0].path, "instanceTypes.agent-medium.slots");
    assert!(load.overloaded().next().is_none());
    // The step to 14/s is the peak.
    assert!((load.peak_rate / load.base_rate - 1.4).abs() < 1e-9);
    let slots = load.bottleneck();
    assert!((slots.peak_ratio / slots.ratio - 1.4).abs() < 1e-9);
    let r = first_run(&m);
    assert!(slots.peak_ratio >= r.utilization);
}

/// A scenario of one model with `extra` merged into the model, type and
/// deployment.
fn inline(model_extra: &str, type_extra: &str, deployment_extra: &str) -> Model {
    let json = format!(
        r#"{{
      "name": "inline",
      "run": {{ "seed": 3, "duration": "10m" }},
      "workload": {{ "arrivals": {{ "ratePerSecond": 5 }},
        "request": {{ "llmCalls": 2, "model": "m", "outputTokens": {{ "dist": "constant", "value": 300 }} }} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "1s" }},
        "pricePer1kOutputTokens": 0.01{model_extra} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": 10{type_extra}, "pricePerHour": 0.1 }} }},
      "deployment": {{ "regions": {{ "r": {{ "instances": 2 }} }}{deployment_extra} }}
    }}"#
    );
    Model::from_json(&json, "inline.json").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn provider_quotas_count_calls_and_tokens() {
    // 5/s x 2 calls = 10 calls/s against 300 a minute (5/s); 3,000 tokens/s
    // against 120,000 a minute (2,000/s).
    let m = inline(
        r#", "rateLimit": { "requestsPerMinute": 300, "tokensPerMinute": 120000 }"#,
        "",
        "",
    );
    let load = m.offered_load();
    let calls = load.get("quota calls m").expect("calls quota");
    assert!((calls.demand - 10.0).abs() < 1e-9 && (calls.ratio - 2.0).abs() < 1e-9);
    assert_eq!(calls.path, "llm.models.m.rateLimit.requestsPerMinute");
    let tokens = load.get("quota tokens m").expect("tokens quota");
    assert!((tokens.ratio - 1.5).abs() < 1e-9, "{tokens:?}");
    assert_eq!(load.bottleneck, "quota calls m");
    // Slots: 5/s x 2 s on 20 slots.
    assert!((load.get("slots").expect("slots").ratio - 0.5).abs() < 1e-9);
}

#[test]
fn llm_permits_connections_and_entry_limits_are_resources() {
    let m = inline(
        "",
        r#", "llmConcurrency": 4"#,
        r#", "limits": { "maxConnections": 8 },
            "rateLimit": { "requests": 240, "window": "1m" }"#,
    );
    let load = m.offered_load();
    // 10 requests held at once (5/s x 2 s), each waiting on a call.
    let permits = load.get("llmConcurrency").expect("permits");
    assert!((permits.ratio - 10.0 / 8.0).abs() < 1e-9, "{permits:?}");
    let conns = load.get("maxConnections").expect("maxConnections");
    assert!((conns.ratio - 10.0 / 8.0).abs() < 1e-9, "{conns:?}");
    let limit = load.get("rateLimit rateLimit").expect("entry limit");
    assert!((limit.ratio - 5.0 / 4.0).abs() < 1e-9, "{limit:?}");
    assert_eq!(limit.path, "deployment.rateLimit.requests");
    // Ties go to the first listed with the highest ratio.
    assert_eq!(load.bottleneck, "maxConnections");
    assert_eq!(load.overloaded().count(), 3);
}

#[test]
fn a_fallback_chain_holds_the_slot_for_the_fallback_calls_too() {
    let m = inline(
        r#", "errorRate": 0.5, "fallback": "f" },
            "f": { "latency": { "dist": "constant", "value": "2s" }, "pricePer1kOutputTokens": 0.01"#,
        "",
        "",
    );
    let load = m.offered_load();
    assert!(load.get("quota calls m").is_none());
    let json = serde_json::to_value(&load).expect("serializes");
    assert_eq!(json["bottleneck"], "slots");
    // 2 calls of 1s, half of them then 2s more: 4 s per request, 20 held.
    let slots = load.bottleneck();
    assert!((slots.demand - 20.0).abs() < 1e-9, "{slots:?}");
    assert!((slots.demand - 5.0 * m.mean_service_secs()).abs() < 1e-9);
}

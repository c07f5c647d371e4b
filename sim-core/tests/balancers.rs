//! The balancers on `scenarios/balancers-slow-instances.json`: two of ten
//! instances serve four times slower. Load-aware balancers route around
//! them; load-blind ones keep feeding them until requests time out; the
//! "fastest responder" and score-based balancers of the seed docs herd.

use sim_core::{run_model, Model, RunOptions, ScenarioResult};
use std::path::PathBuf;
use strategies::StrategyKind;

fn run_with(strategy: StrategyKind) -> ScenarioResult {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/balancers-slow-instances.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "\"strategy\": \"least-connections\"",
        &format!("\"strategy\": \"{}\"", strategy.name()),
    );
    let m = Model::from_json(&text, &path).unwrap();
    run_model(&m, RunOptions::default()).unwrap()
}

fn p99(r: &ScenarioResult) -> f64 {
    r.pooled.latency.p99.unwrap()
}

fn fairness(r: &ScenarioResult) -> f64 {
    r.summary
        .iter()
        .find(|m| m.metric == "fairness")
        .unwrap()
        .mean
        .unwrap()
}

#[test]
fn load_aware_balancers_route_around_slow_instances() {
    let blind = run_with(StrategyKind::RoundRobin);
    // Round robin gives each slow instance 4/s of work it serves at 2/s
    // (8 slots / 4s mean): its queue grows until requests time out.
    assert!(
        blind.pooled.reasons.request_timeout > 1_000,
        "{:?}",
        blind.pooled.reasons
    );
    assert!(!blind.pooled.slo.pass);
    for s in [
        StrategyKind::LeastConnections,
        StrategyKind::PowerOfTwo,
        StrategyKind::PeakEwma,
    ] {
        let r = run_with(s);
        assert!(r.pooled.slo.pass, "{s}: {:?}", r.pooled.slo);
        assert!(
            p99(&r) < p99(&blind) / 5.0,
            "{s}: p99 {} vs round robin {}",
            p99(&r),
            p99(&blind)
        );
        // They shift load off the slow pair, so request counts are uneven.
        assert!(fairness(&r) < 0.95, "{s}: fairness {}", fairness(&r));
    }
    let random = run_with(StrategyKind::Random);
    assert!(!random.pooled.slo.pass);
}

#[test]
fn first_and_score_based_balancers_herd() {
    // Caddy `first` sends everything to instance 0 while it is eligible.
    let first = run_with(StrategyKind::First);
    assert!(fairness(&first) < 0.15, "{}", fairness(&first));
    // The AgenticGoKit score favours whoever has no samples, then the
    // earliest best scorer: traffic piles onto few instances.
    let perf = run_with(StrategyKind::PerformanceBased);
    assert!(fairness(&perf) < 0.6, "{}", fairness(&perf));
    assert!(!perf.pooled.slo.pass);
}

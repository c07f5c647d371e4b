//! The gate catches a real code regression and passes the code it was
//! baselined on: least-connections with its tie-break replaced by "always
//! the first" (a naive scan) runs in place of the real one, through the
//! same engine, on the project's own gate suite.

use reports::gate::{compare, measure, Baseline, Suite, Verdict};
use sim_core::{Engine, Model, RunResult, SimError};
use std::path::PathBuf;
use strategies::balance::LeastConnections;
use strategies::{LoadBalancer, StrategyKind};

fn suite() -> Suite {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/gate/gate.json");
    let mut s = Suite::read(&file).unwrap_or_else(|e| panic!("{e}"));
    // The scenarios balanced by least connections: a busy fleet, where
    // ties are rare, and a quiet one, where most picks are ties.
    s.scenarios
        .retain(|e| e.key.ends_with("quickstart.json") || e.key.ends_with("off-peak.json"));
    assert_eq!(s.scenarios.len(), 2);
    s.seeds = 6;
    s
}

fn real(m: &Model, seed: u32) -> Result<RunResult, SimError> {
    Engine::new(m, seed).run()
}

fn sabotaged(m: &Model, seed: u32) -> Result<RunResult, SimError> {
    let mut m = m.clone();
    assert_eq!(m.balancing.config.kind(), StrategyKind::LeastConnections);
    m.balancing.balancer = LoadBalancer::LeastConnections(LeastConnections::first_on_ties());
    Engine::new(&m, seed).run()
}

#[test]
fn the_gate_fails_a_sabotaged_least_connections_and_passes_the_real_one() {
    let suite = suite();
    let baseline = Baseline {
        format_version: 1,
        fleetsim_version: "test".into(),
        seeds: suite.seeds,
        scenarios: measure(&suite, None, 2, &real).unwrap_or_else(|_| panic!("measured")),
    };
    // The same code on the same seeds: identical, so it passes.
    let same = measure(&suite, None, 2, &real).unwrap_or_else(|_| panic!("measured"));
    let r = compare(&suite, &baseline, &same);
    assert_eq!(r.exit_code(), 0, "{}", r.to_table());
    assert_eq!(r.count(Verdict::Regression), 0);
    assert!(!r.to_junit().contains("<failure"));
    // Every check passed: a heading with the counts, the table folded.
    let md = r.to_markdown();
    let (visible, folded) = md.split_once("<details>").expect("the table is folded");
    assert!(visible.starts_with("### ✅ fleetsim gate passed: "), "{md}");
    assert!(visible.lines().count() <= 4, "{md}");
    assert!(!visible.contains("| scenario |"), "{md}");
    assert!(folded.contains("| scenario | metric |"), "{md}");
    assert!(md.lines().count() > 10, "the details are kept: {md}");
    // A metric neither side measured has no row of dashes, only its note.
    assert!(!md.contains("| - | - | - |"), "{md}");
    let table = r.to_table();
    assert!(
        !table
            .lines()
            .any(|l| l.trim_end().ends_with("not compared")),
        "{table}"
    );

    let worse = measure(&suite, None, 2, &sabotaged).unwrap_or_else(|_| panic!("measured"));
    let r = compare(&suite, &baseline, &worse);
    assert_eq!(r.exit_code(), 1, "{}", r.to_table());
    let junit = r.to_junit();
    for s in r
        .scenarios
        .iter()
        .filter(|s| s.scenario.ends_with("off-peak.json"))
    {
        let fairness = s.findings.iter().find(|f| f.metric == "fairness").unwrap();
        assert_eq!(
            fairness.verdict,
            Verdict::Regression,
            "{}: {}",
            s.scenario,
            r.to_table()
        );
        assert!(
            junit.contains(&format!(
                "classname=\"{}\" name=\"fairness\">\n      <failure",
                s.scenario
            )),
            "{junit}"
        );
    }
    // A failing gate keeps the whole table in view.
    let md = r.to_markdown();
    assert!(md.contains("**REGRESSION**"), "{md}");
    assert!(!md.contains("<details>"), "{md}");
    assert!(
        md.starts_with("### ❌ fleetsim gate\n\ngate FAILED"),
        "{md}"
    );
}

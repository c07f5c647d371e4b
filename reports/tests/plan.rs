//! A plan's recommendation holds on seeds it never saw, on a fixed fleet
//! (bisection on instances) and on an autoscaled one (a grid of HPA
//! settings); and the search takes fewer runs than the grid.

use reports::plan::plan;
use reports::sweep::axis::Axis;
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use sim_core::{Engine, Regime};
use std::path::PathBuf;

fn sweep(scenario: &str, axes: &[&str], seeds: u32) -> Sweep {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(scenario);
    let axes = axes.iter().map(|a| Axis::parse_arg(a).unwrap()).collect();
    Sweep::prepare(SweepSpec::from_args(&file, axes, &[], Some(seeds), None).unwrap())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the recommended point on ten fresh seeds (another master seed)
/// and checks every objective's mean against its target, in steady state.
fn holds_on_fresh_seeds(s: &Sweep, point: usize) {
    let mut m = s.models[point].clone();
    m.run.seed ^= 0x5eed_f00d_dead_beef;
    let runs: Vec<_> = (0..10).map(|r| Engine::new(&m, r).run().unwrap()).collect();
    assert!(runs.iter().all(|r| r.regime == Regime::Stable));
    let checks = runs[0].slo.checks.len();
    assert!(checks > 0);
    for k in 0..checks {
        let target = runs[0].slo.checks[k].target;
        let mean = runs
            .iter()
            .map(|r| r.slo.checks[k].actual.unwrap())
            .sum::<f64>()
            / runs.len() as f64;
        assert!(
            mean <= target,
            "{}: {mean} over {target} on fresh seeds",
            runs[0].slo.checks[k].objective
        );
    }
}

#[test]
fn the_quickstart_plan_holds_on_fresh_seeds_and_bisects() {
    let s = sweep(
        "quickstart.json",
        &[
            "deployment.regions.us-east-1.instances=1..16",
            "deployment.loadBalancing.strategy=round-robin,least-connections",
        ],
        8,
    );
    let p = plan(&s, 8, None).unwrap();
    let rec = p
        .recommendation
        .expect("the quickstart space holds an answer");
    holds_on_fresh_seeds(&s, rec);
    assert!(p.search.bisected.is_some());
    assert!(
        p.search.runs * 2 < p.search.grid_runs,
        "{} runs against {} for the grid",
        p.search.runs,
        p.search.grid_runs
    );
    // The answer is the cheapest: every cheaper point evaluated misses.
    let cost = p.at(rec).cost_per_hour;
    assert!(p
        .search
        .evaluations
        .iter()
        .filter(|e| e.cost_per_hour < cost)
        .all(|e| !e.meets()));
    // Free instances: every cost ties, and the fewest instances still win.
    let free = sweep(
        "quickstart.json",
        &[
            "deployment.regions.us-east-1.instances=1..16",
            "deployment.loadBalancing.strategy=round-robin,least-connections",
            "instanceTypes.agent-medium.pricePerHour=0",
        ],
        8,
    );
    let pf = plan(&free, 8, None).unwrap();
    let fewest = pf.at(pf.recommendation.unwrap()).instances;
    assert_eq!(fewest, p.at(rec).instances, "{}", pf.to_text());
    // A budget below the answer binds.
    let tight = plan(&s, 8, Some(cost * 0.9)).unwrap();
    assert_eq!(tight.recommendation, None);
    assert_eq!(tight.binding, reports::plan::Binding::Budget);
}

#[test]
fn an_autoscaled_plan_holds_on_fresh_seeds() {
    let s = sweep(
        "autoscaling-spike.json",
        &[
            "deployment.scaling.minReplicas=1,2,4",
            "deployment.scaling.metrics[0].pods.target.averageValue=4,6,8",
        ],
        5,
    );
    let p = plan(&s, 5, None).unwrap();
    let rec = p
        .recommendation
        .expect("an HPA setting in the space holds the SLO");
    holds_on_fresh_seeds(&s, rec);
    assert!(p.search.bisected.is_none());
}

#[test]
fn max_load_says_when_no_rate_meets_the_slo() {
    let s = sweep("quickstart.json", &["slo.latency.p99=1ms"], 3);
    let m = reports::plan::max_load::max_load(&s.models[0], 3).unwrap();
    assert_eq!(m.multiplier, 0.0);
    assert!(m.tried.len() < 20, "{} rates tried", m.tried.len());
    assert!(m.to_text().contains("none found"));
}

#[test]
fn max_load_brackets_the_rate_where_the_slo_breaks() {
    let s = sweep("quickstart.json", &[], 5);
    let m = reports::plan::max_load::max_load(&s.models[0], 5).unwrap();
    assert!(m.multiplier > 1.0, "the quickstart has headroom: {m:?}");
    assert!(m.missed_at > m.multiplier);
    assert!((m.missed_at - m.multiplier) <= 0.02 * m.missed_at + 1e-9);
    let top = m.tried.iter().filter(|(f, _)| *f == m.multiplier).count();
    assert_eq!(top, 1, "the answer was measured");
}

#[test]
fn max_load_speeds_up_a_replayed_trace() {
    // The trace's speed is the load axis: each rate tried replays it that
    // many times faster (the scenario checked again at that speed).
    let s = sweep("agents/trace-replay.json", &[], 1);
    let m = reports::plan::max_load::max_load(&s.models[0], 1).unwrap();
    let rows = s.models[0].workload.trace.as_ref().unwrap().rows as f64;
    assert!((m.base_rate - rows / 1800.0).abs() < 1e-9, "{m:?}");
    assert!(m.multiplier > 0.0 && m.missed_at > m.multiplier, "{m:?}");
    assert!(m.tried.len() > 2);
}

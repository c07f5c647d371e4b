//! Every run says whether it reached steady state. An M/M/c fleet is
//! stable below saturation however busy, backlogged above it, and
//! overloaded when bounded queues turn most requests away.

use sim_core::{run_model, Model, Regime, RunOptions};

fn fleet(rate: f64, limits: &str) -> Model {
    let json = format!(
        r#"{{
      "name": "mmc",
      "run": {{ "seed": 11, "duration": "2h", "warmup": "10m", "replications": 4 }},
      "workload": {{ "arrivals": {{ "ratePerSecond": {rate} }} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "1s" }} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": 2 }} }},
      "deployment": {{
        "regions": {{ "r": {{ "instances": 4 }} }},
        "loadBalancing": {{ "strategy": "least-connections" }}{limits}
      }}
    }}"#
    );
    Model::from_json(&json, "mmc.json").unwrap()
}

fn regimes(m: &Model) -> Vec<Regime> {
    run_model(m, RunOptions::default())
        .unwrap()
        .runs
        .iter()
        .map(|r| r.regime)
        .collect()
}

#[test]
fn below_saturation_every_run_is_stable() {
    // rho = 0.5 and rho = 0.95 over 8 slots.
    for rate in [4.0, 7.6] {
        assert!(
            regimes(&fleet(rate, ""))
                .iter()
                .all(|r| *r == Regime::Stable),
            "rate {rate}"
        );
    }
}

#[test]
fn above_saturation_every_run_is_backlogged() {
    // rho = 1.1 and 1.5: the queue grows without bound.
    for rate in [8.8, 12.0] {
        let m = fleet(rate, "");
        let r = run_model(&m, RunOptions::default()).unwrap();
        assert!(
            r.runs.iter().all(|x| x.regime == Regime::Backlogged),
            "rate {rate}: {:?}",
            r.runs.iter().map(|x| x.regime).collect::<Vec<_>>()
        );
        assert_eq!(r.pooled.backlogged, 4);
    }
}

#[test]
fn bounded_queues_at_three_times_capacity_are_overloaded_not_backlogged() {
    // Two thirds of the requests are turned away; the queue never grows.
    let m = fleet(24.0, r#", "limits": { "maxConnectionsPerInstance": 3 }"#);
    assert!(regimes(&m).iter().all(|r| *r == Regime::Overloaded));
    // At 1.2 times capacity the same limits shed a sixth: stable.
    let m = fleet(9.6, r#", "limits": { "maxConnectionsPerInstance": 3 }"#);
    assert!(regimes(&m).iter().all(|r| *r == Regime::Stable));
}

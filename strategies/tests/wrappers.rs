//! Wrappers (canary splits, sticky sessions, geographic routing with a local
//! strategy) over every inner strategy, on fleets whose backends fail,
//! recover and fill: a wrapper's inner balancer must only ever see indices
//! of its own space, so no composition panics or picks outside the fleet.

use proptest::prelude::*;
use rand::SeedableRng;
use strategies::balance::Topology;
use strategies::{
    BackendState, Balancer, LoadBalancer, LoadBalancingConfig, Nanos, RequestInfo, StrategyKind,
};

/// One change to the fleet or one call to the balancer.
#[derive(Debug, Clone)]
enum Op {
    Fail(usize),
    Recover(usize),
    Fill(usize, u32),
    Pick { key: u64, ip: u8, client: u32 },
    Observe(usize, u64, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..64).prop_map(Op::Fail),
        1 => (0usize..64).prop_map(Op::Recover),
        1 => (0usize..64, 0u32..6).prop_map(|(i, a)| Op::Fill(i, a)),
        4 => (0u64..40, 0u8..8, 0u32..3).prop_map(|(key, ip, client)| Op::Pick { key, ip, client }),
        1 => (0usize..64, 1u64..5_000, any::<bool>()).prop_map(|(i, ms, ok)| Op::Observe(i, ms, ok)),
    ]
}

/// Backends spread over three regions; clients in two places.
fn topology(region_of: &[u32]) -> Topology {
    let regions = ["a", "b", "c"];
    let mut seen = [0u32; 3];
    let ids = region_of
        .iter()
        .map(|&r| {
            seen[r as usize] += 1;
            format!("{}/{}", regions[r as usize], seen[r as usize] - 1)
        })
        .collect();
    let ms = Nanos::from_millis;
    Topology {
        ids,
        region_of: region_of.to_vec(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        priority: vec![0, 1, 2],
        rtt: vec![vec![ms(1), ms(40), ms(90)], vec![ms(90), ms(40), ms(1)]],
    }
}

/// Every wrapper over `inner`, as the scenario's `loadBalancing` block.
fn compositions(inner: StrategyKind, topo: &Topology) -> Vec<(String, bool)> {
    let canary = format!(
        r#""canary": {{"percent": 30, "instances": ["{}", "b"]}}"#,
        topo.ids[0]
    );
    let sticky = r#""sessionAffinity": {"ttl": "2s", "maxSessions": 8}"#;
    let mut out = Vec::new();
    let bases: Vec<(String, bool)> = if inner == StrategyKind::Geographic {
        vec![]
    } else {
        vec![
            (format!(r#""strategy": "{inner}""#), false),
            (
                format!(r#""strategy": "geographic", "localStrategy": "{inner}""#),
                true,
            ),
        ]
    };
    for (base, geo) in bases {
        for extra in [
            String::new(),
            format!(", {canary}"),
            format!(", {sticky}"),
            format!(", {canary}, {sticky}"),
        ] {
            out.push((format!("{{{base}{extra}}}"), geo));
        }
    }
    out
}

fn run_ops(json: &str, geo: bool, region_of: &[u32], ops: &[Op]) -> Result<(), TestCaseError> {
    let topo = topology(region_of);
    let cfg: LoadBalancingConfig = serde_json::from_str(json).expect("valid block");
    let mut lb: LoadBalancer = cfg.build_for(Some(&topo)).expect("builds");
    let n = region_of.len();
    let mut fleet: Vec<BackendState> = (0..n)
        .map(|i| BackendState {
            eligible: true,
            active: 0,
            weight: 1 + (i as u32 % 3),
        })
        .collect();
    for i in 0..n {
        lb.refresh(i, &fleet[..]);
    }
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
    let mut now = Nanos::ZERO;
    for op in ops {
        now += Nanos::from_millis(100);
        match *op {
            Op::Fail(i) => {
                fleet[i % n].eligible = false;
                lb.refresh(i % n, &fleet[..]);
            }
            Op::Recover(i) => {
                fleet[i % n].eligible = true;
                lb.refresh(i % n, &fleet[..]);
            }
            Op::Fill(i, a) => {
                fleet[i % n].active = a;
                lb.refresh(i % n, &fleet[..]);
            }
            Op::Observe(i, ms, ok) => lb.observe(now, i % n, Nanos::from_millis(ms), ok),
            Op::Pick { key, ip, client } => {
                let who = RequestInfo {
                    key: Some(key),
                    client_ip: Some([10, ip, 0, 1]),
                    client_region: Some(client.min(1)),
                };
                let any_eligible = fleet.iter().any(|b| b.eligible);
                match lb.pick(now, &who, &fleet[..], &mut rng) {
                    Some(i) => {
                        prop_assert!(i < n, "{json}: picked {i} of {n}");
                        if !geo || fleet.iter().all(|b| b.eligible) {
                            // Only Envoy's panic mode may route to an
                            // ineligible backend, and only when some are.
                            prop_assert!(fleet[i].eligible, "{json}: picked ineligible {i}");
                        }
                        fleet[i].active += 1;
                        lb.refresh(i, &fleet[..]);
                    }
                    None => {
                        prop_assert!(
                            geo || !any_eligible,
                            "{json}: no pick with an eligible backend"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Every pair of wrapper and inner strategy, on fleets of 1 to 12
    /// backends over three regions, through failures, recoveries, load
    /// changes, picks and observations.
    #[test]
    fn every_wrapper_over_every_strategy_stays_in_its_index_space(
        region_of in proptest::collection::vec(0u32..3, 1..12),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        for &inner in StrategyKind::ALL {
            for (json, geo) in compositions(inner, &topology(&region_of)) {
                run_ops(&json, geo, &region_of, &ops)?;
            }
        }
    }
}

/// The defect this test guards: a canary over geographic routing handed
/// the geographic balancer a renumbered subset, which it indexed with
/// fleet-wide numbers.
#[test]
fn canary_over_geographic_does_not_panic() {
    let region_of = [0, 0, 0, 1, 1, 2, 2];
    let ops: Vec<Op> = (0..200)
        .map(|k| Op::Pick {
            key: k,
            ip: (k % 7) as u8,
            client: (k % 2) as u32,
        })
        .collect();
    let json = r#"{"strategy": "geographic", "localStrategy": "least-connections",
                   "canary": {"percent": 10, "instances": ["a/0"]}}"#;
    run_ops(json, true, &region_of, &ops).unwrap();
}

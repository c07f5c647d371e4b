//! A caller that never calls `refresh` gets correct picks: for every
//! balancer kind, at 10 and at 200 backends, the picks over a plain view
//! equal those of a caller that refreshes after every change (or, for
//! balancers whose index order is their own, those of a balancer built
//! afresh for the pick).

use super::test_support::rng;
use super::*;
use rand::{Rng, SeedableRng};

/// How a never-refreshed balancer's picks are checked.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Equal to a balancer refreshed after every change.
    Refreshed,
    /// Equal to a balancer built afresh for each pick.
    Fresh,
    /// Always eligible (the index order is history-dependent and the
    /// balancer learns from completions, so neither reference exists).
    Eligible,
}

fn topology(n: usize) -> Topology {
    Topology {
        ids: (0..n).map(|i| format!("r{}/{i}", i % 2)).collect(),
        region_of: (0..n).map(|i| (i % 2) as u32).collect(),
        regions: vec!["a".into(), "b".into()],
        priority: vec![0, 1],
        rtt: Vec::new(),
    }
}

/// Every balancer kind, with how its picks are checked.
fn kinds(n: usize, weighted: bool) -> Vec<(&'static str, Check, LoadBalancer)> {
    let lc = LoadBalancer::LeastConnections(LeastConnections::new());
    let affinity: SessionAffinityConfig = serde_json::from_str("{}").unwrap();
    vec![
        (
            "round-robin",
            Check::Refreshed,
            LoadBalancer::RoundRobin(RoundRobin::new()),
        ),
        (
            "weighted smooth",
            Check::Refreshed,
            LoadBalancer::SmoothWeighted(SmoothWeighted::new()),
        ),
        (
            "weighted edf",
            Check::Refreshed,
            LoadBalancer::Edf(Edf::new()),
        ),
        ("least-connections", Check::Refreshed, lc.clone()),
        (
            "random",
            Check::Fresh,
            LoadBalancer::Random(RandomPick::new()),
        ),
        (
            "random unweighted",
            Check::Fresh,
            LoadBalancer::Random(RandomPick::unweighted()),
        ),
        (
            "power-of-two envoy",
            // Weighted, it is an EDF over live weights; uniform, it samples
            // the eligible set.
            if weighted {
                Check::Refreshed
            } else {
                Check::Fresh
            },
            LoadBalancer::PowerOfTwo(PowerOfTwo::envoy(2, 1.0)),
        ),
        (
            "power-of-two tower",
            Check::Fresh,
            LoadBalancer::PowerOfTwo(PowerOfTwo::tower()),
        ),
        (
            "peak-ewma",
            Check::Eligible,
            LoadBalancer::PeakEwma(PeakEwma::new(Nanos(1_000_000), Nanos(10_000_000_000))),
        ),
        (
            "response-time",
            Check::Refreshed,
            LoadBalancer::ResponseTime(ResponseTime::new(Nanos::from_secs(60))),
        ),
        (
            "performance-based",
            Check::Refreshed,
            LoadBalancer::PerformanceBased(PerformanceBased::new()),
        ),
        (
            "first",
            Check::Refreshed,
            LoadBalancer::First(First::default()),
        ),
        (
            "ip-hash",
            Check::Refreshed,
            LoadBalancer::IpHash(IpHash::new()),
        ),
        (
            "consistent-hash ring",
            Check::Fresh,
            LoadBalancer::ConsistentHash(ConsistentHash::new(HashAlgorithm::Ring, None)),
        ),
        (
            "consistent-hash maglev bounded",
            Check::Fresh,
            LoadBalancer::ConsistentHash(ConsistentHash::new(
                HashAlgorithm::Maglev,
                Some(BoundedLoad { factor: 1.25 }),
            )),
        ),
        (
            "geographic",
            Check::Refreshed,
            LoadBalancer::Geographic(Box::new(
                Geographic::new(&topology(n), &lc, 1.4, 50, None).unwrap(),
            )),
        ),
        (
            "canary",
            Check::Refreshed,
            LoadBalancer::Canary(Box::new(
                Canary::new(&(0..n).map(|i| i % 4 == 0).collect::<Vec<_>>(), 20.0, &lc).unwrap(),
            )),
        ),
        (
            "sticky",
            Check::Refreshed,
            LoadBalancer::Sticky(Box::new(StickySessions::new(affinity, lc))),
        ),
    ]
}

/// The least `active / weight` among eligible backends, cross-multiplied.
fn is_least_loaded(f: &[BackendState], i: usize) -> bool {
    f.iter().all(|b| {
        !b.eligible
            || u64::from(f[i].active) * u64::from(b.weight.max(1))
                <= u64::from(b.active) * u64::from(f[i].weight.max(1))
    })
}

fn drive(n: usize, weighted: bool, seed: u64) {
    let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let f0: Vec<BackendState> = (0..n)
        .map(|_| BackendState {
            eligible: r.random_bool(0.9),
            active: 0,
            weight: if weighted { r.random_range(1..4) } else { 1 },
        })
        .collect();
    for (name, check, template) in kinds(n, weighted) {
        let steps = if name.starts_with("consistent") {
            150
        } else {
            500
        };
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let mut f = f0.clone();
        let (mut kept, mut forgot) = (template.clone(), template.clone());
        let mut now = 0u64;
        for step in 0..steps {
            now += r.random_range(0..50_000_000u64);
            let t = Nanos(now);
            let ctx = format!("{name}, n {n}, weighted {weighted}, seed {seed}, step {step}");
            match r.random_range(0..10) {
                0..=4 => {
                    let who = RequestInfo {
                        key: Some(r.random_range(0..40)),
                        client_ip: Some([10, 0, r.random(), r.random()]),
                        client_region: Some(r.random_range(0..2)),
                    };
                    let got = forgot.pick(t, &who, &f[..], &mut rng());
                    match check {
                        Check::Refreshed => {
                            let want = kept.pick(t, &who, &Refreshed(&f[..]), &mut rng());
                            assert_eq!(got, want, "{ctx}");
                        }
                        Check::Fresh => {
                            let want = template.clone().pick(t, &who, &f[..], &mut rng());
                            assert_eq!(got, want, "{ctx}");
                        }
                        Check::Eligible => {}
                    }
                    // Envoy's panic mode (geographic) sends to every host
                    // of a level when too few are healthy.
                    let panics = name == "geographic";
                    if !panics {
                        assert_eq!(got.is_some(), f.iter().any(|b| b.eligible), "{ctx}");
                    }
                    if let Some(i) = got {
                        assert!(panics || f[i].eligible, "{ctx}: picked ineligible {i}");
                        if name == "least-connections" {
                            assert!(is_least_loaded(&f, i), "{ctx}: {i} is not least loaded");
                        }
                        f[i].active += 1;
                        kept.refresh(i, &Refreshed(&f[..]));
                    }
                }
                5..=8 => {
                    let i = r.random_range(0..n);
                    let latency = Nanos(r.random_range(1..4u64) * 250_000_000);
                    let ok = r.random_bool(0.8);
                    f[i].active = f[i].active.saturating_sub(1);
                    kept.observe(t, i, latency, ok);
                    forgot.observe(t, i, latency, ok);
                    kept.refresh(i, &Refreshed(&f[..]));
                }
                _ => {
                    let i = r.random_range(0..n);
                    f[i].eligible = !f[i].eligible;
                    kept.refresh(i, &Refreshed(&f[..]));
                }
            }
        }
    }
}

#[test]
fn never_refreshed_picks_match_at_10_backends() {
    for seed in 0..4 {
        drive(10, seed % 2 == 1, seed);
    }
}

#[test]
fn never_refreshed_picks_match_at_200_backends() {
    for seed in 0..2 {
        drive(200, seed % 2 == 1, seed);
    }
}

/// A view that promised refreshes and broke the promise for the winner:
/// least connections notices and rebuilds rather than pick stale.
#[test]
fn least_connections_repairs_a_missed_refresh_of_its_winner() {
    let mut f: Vec<BackendState> = (0..100).map(|_| BackendState::idle_with(5)).collect();
    f[40].active = 0;
    let mut lb = LeastConnections::new();
    let who = RequestInfo::default();
    assert_eq!(
        lb.pick(Nanos::ZERO, &who, &Refreshed(&f[..]), &mut rng()),
        Some(40)
    );
    // 40 fills up without a refresh; 70 empties with one.
    f[40].active = 9;
    f[70].active = 1;
    lb.refresh(70, &Refreshed(&f[..]));
    f[40].eligible = false;
    assert_eq!(
        lb.pick(Nanos::ZERO, &who, &Refreshed(&f[..]), &mut rng()),
        Some(70)
    );
}

//! One balancer decision, with the index upkeep a request causes: pick,
//! the picked backend's load goes up (refresh), another backend's request
//! finishes (refresh). At 10, 100, 1,000 and 10,000 backends (`pick`), and
//! in an autoscaled fleet whose instances keep joining and leaving
//! (`pick-autoscaled`).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use std::hint::black_box;
use std::time::Duration;
use strategies::balance::Topology;
use strategies::{BackendState, Balancer, LoadBalancingConfig, Nanos, RequestInfo, StrategyKind};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

fn configs() -> Vec<(String, LoadBalancingConfig)> {
    let mut v = Vec::new();
    for k in StrategyKind::ALL {
        let algos: Vec<Option<&str>> = if k.algorithms().is_empty() {
            vec![None]
        } else {
            k.algorithms().iter().map(|a| Some(*a)).collect()
        };
        for a in algos {
            let name = match a {
                Some(a) => format!("{k}/{a}"),
                None => k.to_string(),
            };
            v.push((
                name,
                LoadBalancingConfig {
                    strategy: Some(*k),
                    algorithm: a.map(str::to_string),
                    ..Default::default()
                },
            ));
        }
    }
    v
}

fn pick(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    let weight_aware = [
        "weighted/smooth",
        "weighted/edf",
        "least-connections",
        "random/weighted",
        "power-of-two/envoy",
    ];
    let cases = configs().into_iter().flat_map(|(name, cfg)| {
        let mixed = weight_aware
            .contains(&name.as_str())
            .then(|| (format!("{name}/weights-1-4"), cfg.clone(), true));
        std::iter::once((name, cfg, false)).chain(mixed)
    });
    for (name, cfg, mixed) in cases {
        for n in SIZES {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
            // A loaded fleet: 0 to 7 requests each; weights all 1, or 1 to 4.
            let mut fleet: Vec<BackendState> = (0..n)
                .map(|i| BackendState {
                    eligible: true,
                    active: (i * 7 % 8) as u32,
                    weight: if mixed { (i % 4) as u32 + 1 } else { 1 },
                })
                .collect();
            let topology = four_regions(n);
            let mut lb = cfg
                .build_for(Some(&topology))
                .expect("default config builds");
            let mut info = RequestInfo::default();
            for i in 0..n {
                lb.refresh(i, &fleet[..]);
            }
            let mut t = 0u64;
            let mut done = 0usize;
            g.bench_with_input(BenchmarkId::new(&name, n), &n, |b, &n| {
                b.iter(|| {
                    t += 1_000;
                    let now = Nanos(t);
                    // A different client each time, for hashing balancers.
                    let client = (t / 1_000).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    info.key = Some(client);
                    info.client_ip = Some(
                        (client >> 32).to_be_bytes()[4..]
                            .try_into()
                            .expect("4 bytes"),
                    );
                    let i = lb.pick(now, &info, &fleet[..], &mut rng).expect("eligible");
                    fleet[i].active += 1;
                    lb.refresh(i, &fleet[..]);
                    // Keep the load steady: a request somewhere finishes.
                    done = (done + 7919) % n;
                    if fleet[done].active > 0 {
                        fleet[done].active -= 1;
                        lb.refresh(done, &fleet[..]);
                        lb.observe(now, done, Nanos(5_000_000), true);
                    }
                    black_box(i)
                })
            });
        }
    }
    g.finish();
}

/// Four regions of equal size, clients without a location.
fn four_regions(n: usize) -> Topology {
    Topology {
        ids: (0..n).map(|i| format!("r{}/{i}", i % 4)).collect(),
        region_of: (0..n).map(|i| (i % 4) as u32).collect(),
        regions: (0..4).map(|r| format!("r{r}")).collect(),
        priority: vec![0, 1, 2, 3],
        rtt: Vec::new(),
    }
}

/// An autoscaled fleet of `n` instance slots, half of them running: each
/// decision as in `pick`, and every 8th decision one running instance
/// leaves (drains: no longer eligible) and one absent instance joins, as a
/// fleet scaling up and down does. The balancer sees both through
/// `refresh`, as in the simulator.
fn pick_autoscaled(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick-autoscaled");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for (name, cfg) in configs() {
        for n in [1_000usize, 10_000] {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
            let mut fleet: Vec<BackendState> = (0..n)
                .map(|i| BackendState {
                    eligible: i % 2 == 0,
                    active: if i % 2 == 0 { (i * 7 % 8) as u32 } else { 0 },
                    weight: 1,
                })
                .collect();
            let topology = four_regions(n);
            let mut lb = cfg
                .build_for(Some(&topology))
                .expect("default config builds");
            let mut info = RequestInfo::default();
            for i in 0..n {
                lb.refresh(i, &fleet[..]);
            }
            let (mut t, mut done, mut step) = (0u64, 0usize, 0u64);
            // The next instance to leave and the next to join walk the
            // fleet in opposite strides, so membership keeps changing.
            let (mut leave, mut join) = (0usize, 1usize);
            g.bench_with_input(BenchmarkId::new(&name, n), &n, |b, &n| {
                b.iter(|| {
                    t += 1_000;
                    step += 1;
                    let now = Nanos(t);
                    let client = (t / 1_000).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    info.key = Some(client);
                    info.client_ip = Some(
                        (client >> 32).to_be_bytes()[4..]
                            .try_into()
                            .expect("4 bytes"),
                    );
                    if step % 8 == 0 {
                        while !fleet[leave].eligible {
                            leave = (leave + 3) % n;
                        }
                        fleet[leave].eligible = false;
                        lb.refresh(leave, &fleet[..]);
                        while fleet[join].eligible {
                            join = (join + n - 5) % n;
                        }
                        fleet[join].eligible = true;
                        lb.refresh(join, &fleet[..]);
                    }
                    let i = lb.pick(now, &info, &fleet[..], &mut rng).expect("eligible");
                    fleet[i].active += 1;
                    lb.refresh(i, &fleet[..]);
                    done = (done + 7919) % n;
                    if fleet[done].active > 0 {
                        fleet[done].active -= 1;
                        lb.refresh(done, &fleet[..]);
                        lb.observe(now, done, Nanos(5_000_000), true);
                    }
                    black_box(i)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, pick, pick_autoscaled);

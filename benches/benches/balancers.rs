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
use strategies::{
    BackendState, Balancer, LoadBalancer, LoadBalancingConfig, Nanos, RequestInfo, StrategyKind,
};

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
            // A loaded fleet: 0 to 7 requests each; weights all 1, or 1 to 4.
            let fleet: Vec<BackendState> = (0..n)
                .map(|i| BackendState {
                    eligible: true,
                    active: (i * 7 % 8) as u32,
                    weight: if mixed { (i % 4) as u32 + 1 } else { 1 },
                })
                .collect();
            let mut d = Driver::new(&cfg, fleet);
            g.bench_with_input(BenchmarkId::new(&name, n), &n, |b, _| {
                b.iter(|| black_box(d.decide()))
            });
        }
    }
    g.finish();
}

/// A balancer over a fleet, driven one request at a time.
struct Driver {
    fleet: Vec<BackendState>,
    lb: LoadBalancer,
    rng: rand_pcg::Pcg64Mcg,
    info: RequestInfo,
    t: u64,
    done: usize,
}

impl Driver {
    fn new(cfg: &LoadBalancingConfig, fleet: Vec<BackendState>) -> Driver {
        let topology = four_regions(fleet.len());
        let mut lb = cfg
            .build_for(Some(&topology))
            .expect("default config builds");
        for i in 0..fleet.len() {
            lb.refresh(i, &fleet[..]);
        }
        Driver {
            fleet,
            lb,
            rng: rand_pcg::Pcg64Mcg::seed_from_u64(1),
            info: RequestInfo::default(),
            t: 0,
            done: 0,
        }
    }

    /// One decision and its upkeep: a different client each time (for
    /// hashing balancers), the pick, the picked backend's load up, and a
    /// request somewhere finishing, so the load stays steady.
    fn decide(&mut self) -> usize {
        self.t += 1_000;
        let now = Nanos(self.t);
        let client = (self.t / 1_000).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.info.key = Some(client);
        self.info.client_ip = Some(
            (client >> 32).to_be_bytes()[4..]
                .try_into()
                .expect("4 bytes"),
        );
        let fleet = &mut self.fleet;
        let i = self
            .lb
            .pick(now, &self.info, &fleet[..], &mut self.rng)
            .expect("eligible");
        fleet[i].active += 1;
        self.lb.refresh(i, &fleet[..]);
        self.done = (self.done + 7919) % fleet.len();
        let done = self.done;
        if fleet[done].active > 0 {
            fleet[done].active -= 1;
            self.lb.refresh(done, &fleet[..]);
            self.lb.observe(now, done, Nanos(5_000_000), true);
        }
        i
    }

    /// Backend `i` joins or leaves.
    fn set_eligible(&mut self, i: usize, eligible: bool) {
        self.fleet[i].eligible = eligible;
        self.lb.refresh(i, &self.fleet[..]);
    }
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
            let fleet: Vec<BackendState> = (0..n)
                .map(|i| BackendState {
                    eligible: i % 2 == 0,
                    active: if i % 2 == 0 { (i * 7 % 8) as u32 } else { 0 },
                    weight: 1,
                })
                .collect();
            let mut d = Driver::new(&cfg, fleet);
            let mut step = 0u64;
            // The next instance to leave and the next to join walk the
            // fleet in opposite strides, so membership keeps changing.
            let (mut leave, mut join) = (0usize, 1usize);
            g.bench_with_input(BenchmarkId::new(&name, n), &n, |b, &n| {
                b.iter(|| {
                    step += 1;
                    if step.is_multiple_of(8) {
                        while !d.fleet[leave].eligible {
                            leave = (leave + 3) % n;
                        }
                        d.set_eligible(leave, false);
                        while d.fleet[join].eligible {
                            join = (join + n - 5) % n;
                        }
                        d.set_eligible(join, true);
                    }
                    black_box(d.decide())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, pick, pick_autoscaled);

//! Sweep throughput: runs per second through the whole sweep machinery
//! (points built and checked, runs on a rayon pool, each run recorded and
//! journaled, the tables assembled and written with polars) against the
//! same runs on the bare engine, one after another.
//!
//! - overhead of the machinery = `jobs-1` time / `bare-engine` time - 1
//!   (goal: under 10%);
//! - parallel efficiency = `jobs-1` time / (2 x `jobs-2` time) (goal: 90%
//!   or more on 2 cores).

use criterion::{criterion_group, Criterion, Throughput};
use fleetsim_benches::scenario_path;
use reports::study::{Options, Study};
use reports::sweep::axis::Axis;
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use sim_core::{Engine, RunControl};
use std::hint::black_box;
use std::time::Duration;

/// The quickstart over 4 balancers x 5 fleet sizes, 3 seeds: 60 runs.
fn sweep() -> Sweep {
    let axes = [
        "deployment.loadBalancing.strategy=round-robin,least-connections,power-of-two,random",
        "deployment.regions.us-east-1.instances=2..6",
    ]
    .iter()
    .map(|a| Axis::parse_arg(a).expect("axis"))
    .collect();
    let spec = SweepSpec::from_args(&scenario_path("quickstart.json"), axes, &[], Some(3), None)
        .expect("spec");
    Sweep::prepare(spec).expect("sweep")
}

fn whole(s: &Sweep, jobs: usize) {
    let dir = std::env::temp_dir().join(format!(
        "fleetsim-bench-sweep-{}-{jobs}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let study = Study::open(
        s,
        Options {
            dir: dir.clone(),
            resume: false,
            shard: None,
            jobs,
            command: "bench".into(),
        },
    )
    .expect("study");
    // A benchmark is a runtime: it may read the wall clock.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    black_box(study.run(&RunControl::new(), started, || {}).expect("runs"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn sweeps(c: &mut Criterion) {
    let s = sweep();
    let mut g = c.benchmark_group("sweep");
    g.throughput(Throughput::Elements(s.runs()));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("bare-engine", |b| {
        b.iter(|| {
            for r in 0..s.runs() {
                let (p, seed) = s.locate(r);
                black_box(
                    Engine::new(&s.models[p], seed)
                        .run_with(&RunControl::new())
                        .expect("run"),
                );
            }
        })
    });
    g.bench_function("jobs-1", |b| b.iter(|| whole(&s, 1)));
    g.bench_function("jobs-2", |b| b.iter(|| whole(&s, 2)));
    g.finish();
}

criterion_group!(benches, sweeps);

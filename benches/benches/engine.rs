//! Engine throughput on the reference model.

use criterion::{criterion_group, Criterion, Throughput};
use fleetsim_benches::scenario_path;
use sim_core::{run_model, Model, RunOptions};
use std::hint::black_box;
use std::time::Duration;

/// 10 single-slot instances, least connections, utilization 0.9,
/// exponential service: simulated requests per second, loading and
/// checking the scenario file each time as `fleetsim run` does.
fn engine(c: &mut Criterion) {
    let path = scenario_path("validation/bench-least-conn-10x1.json");
    let model = Model::from_file(&path).expect("bench scenario loads");
    let requests = run_model(&model, RunOptions::default())
        .expect("bench scenario runs")
        .pooled
        .counts
        .arrivals;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(requests));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("least-conn-10x1-rho0.9", |b| {
        b.iter(|| {
            let m = Model::from_file(black_box(&path)).expect("loads");
            black_box(run_model(&m, RunOptions::default()).expect("runs"))
        })
    });
    g.finish();
}

criterion_group!(benches, engine);

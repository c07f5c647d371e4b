//! fleetsim benchmarks: `cargo bench -p fleetsim-benches`.
//!
//! - `engine`: simulated requests per second through the same path
//!   `fleetsim run` takes for a scenario file.
//! - `pick`: the cost of one balancer decision at 10 to 10,000 instances.
//! - `sweep`: runs per second through `fleetsim sweep`'s machinery with
//!   one and two threads, against the bare engine.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

mod balancers;
mod engine;
mod sweep;

use criterion::criterion_main;

criterion_main!(engine::benches, balancers::benches, sweep::benches);

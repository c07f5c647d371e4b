//! fleetsim benchmarks: `cargo bench -p fleetsim-benches`.
//!
//! - `engine`: simulated requests per second through the same path
//!   `fleetsim run` takes for a scenario file.
//! - `pick`: the cost of one balancer decision at 10 to 10,000 instances.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

mod balancers;
mod engine;

use criterion::criterion_main;

criterion_main!(engine::benches, balancers::benches);

//! Human-readable reports of fleetsim runs.
//!
//! The engine (`sim-core`) produces data: a [`sim_core::ScenarioResult`]
//! per scenario run and a [`sim_core::Model`] per checked scenario. This
//! crate turns them into what a person reads in a terminal:
//!
//! - [`summary_table`]: the run summary `fleetsim run` prints: requests by
//!   outcome, latency percentiles, throughput, load spread, cost, the SLO
//!   verdict, and with several replications each metric's 95% interval;
//! - [`describe_model`]: what a scenario resolves to, as `fleetsim
//!   validate` prints it;
//! - [`series_csv`] and [`scaling_csv`]: the time series and the scaling
//!   log, as `fleetsim run --out` writes them.
//!
//! # Example
//!
//! ```
//! let json = r#"{
//!   "name": "tiny", "run": { "duration": "2m" },
//!   "workload": { "arrivals": { "ratePerSecond": 1 } },
//!   "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" } } } },
//!   "instanceTypes": { "t": { "slots": 2 } },
//!   "deployment": { "regions": { "r": { "instances": 1 } } }
//! }"#;
//! let model = sim_core::Model::from_json(json, "tiny.json").unwrap();
//! let result = sim_core::run_model(&model, Default::default()).unwrap();
//! let text = reports::summary_table(&result);
//! assert!(text.contains("Latency"));
//! ```

mod csv;
pub mod decide;
mod describe;
mod files;
mod format;
pub mod gate;
pub mod plan;
mod points;
pub mod report;
mod summary;
pub mod sweep;

pub use csv::{scaling_csv, series_csv};
pub use describe::describe_model;
pub use files::write_atomic;
pub use format::{count, money, percent, secs, short};
pub use points::{points_table, short_names};
pub use summary::summary_table;

//! `fleetsim gate`: fail CI on latency, error, fairness, cost and SLO
//! regressions, and not on noise.
//!
//! | module | what it owns |
//! |---|---|
//! | [`suite`] | the suite: a directory of scenarios or a gate file, seeds and thresholds |
//! | [`measure`](mod@measure) | running a suite into per-seed samples, and the baseline file that keeps them |
//! | [`check`] | comparing a candidate with the baseline: paired intervals against thresholds |
//! | [`render`] | the terminal table, the Markdown summary and the JUnit XML |
//! | [`schema`](mod@schema) | the JSON Schema of gate files |
//!
//! A metric regresses only when the 95% interval of the paired difference
//! (candidate minus baseline, seed by seed) lies wholly beyond its
//! threshold; when the estimate is beyond it but the interval is not, the
//! gate says it has too few seeds to decide. Latency is compared only on
//! seeds where both runs reached steady state (see [`sim_core::Regime`]);
//! losing steady state is a regression of its own.

pub mod check;
pub mod measure;
pub mod render;
pub mod schema;
pub mod suite;

pub use check::{compare, Finding, GateReport, ScenarioReport, Verdict};
pub use measure::{measure, Baseline, Runner, Sample, ScenarioRuns};
pub use suite::{Suite, Thresholds};

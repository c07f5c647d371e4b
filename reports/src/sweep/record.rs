//! What a sweep keeps of each run: every scalar metric, the latency
//! distribution as a quantile grid (for CDFs), the requests each instance
//! served (for fairness bars), and for small sweeps the time series.

use serde::{Deserialize, Serialize};
use sim_core::RunResult;

pub use crate::catalogue::{Kind, Metric, CATALOGUE as METRICS};

/// The index of metric column `name` in [`METRICS`].
pub fn metric_index(name: &str) -> Option<usize> {
    crate::catalogue::index_of(name)
}

/// Quantiles kept of each run's latency distribution: every percent, and
/// the tail in finer steps.
pub const QUANTILES: &[f64] = &[
    0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15,
    0.16, 0.17, 0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.3, 0.31,
    0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47,
    0.48, 0.49, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62, 0.63,
    0.64, 0.65, 0.66, 0.67, 0.68, 0.69, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79,
    0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95,
    0.96, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0,
];

/// A run's time series, thinned: simulated seconds, instances booting or
/// ready, requests queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// End of each interval, simulated seconds.
    pub time: Vec<f64>,
    /// Instances booting or ready.
    pub instances: Vec<u32>,
    /// Requests waiting for a slot.
    pub queued: Vec<u64>,
}

/// One run of a sweep, as its journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run index: `point * seeds + seed`.
    pub run: u64,
    /// Grid point.
    pub point: usize,
    /// Seed number (the replication of the scenario's master seed).
    pub seed: u32,
    /// [`METRICS`] in order; `null` when a run has no value (no request
    /// completed, no price given).
    pub metrics: Vec<Option<f64>>,
    /// Latency seconds at each of [`QUANTILES`]; empty when nothing
    /// completed.
    pub quantiles: Vec<f64>,
    /// Requests each instance served, in the fleet's order.
    pub instances: Vec<u64>,
    /// The time series, for sweeps small enough to chart them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// Settings that cannot act, or did not in this run (the static
    /// findings and this run's): what the report lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<sim_core::Finding>,
}

impl RunRecord {
    /// Keeps what a sweep needs of `r`.
    pub fn of(run: u64, point: usize, seed: u32, r: &RunResult, keep_series: bool) -> RunRecord {
        let quantiles = r.recorder.quantiles_secs(QUANTILES);
        let series = keep_series.then(|| Series {
            time: r.series.iter().map(|s| s.time).collect(),
            instances: r.series.iter().map(|s| s.booting + s.ready).collect(),
            queued: r.series.iter().map(|s| s.queued).collect(),
        });
        RunRecord {
            run,
            point,
            seed,
            metrics: METRICS
                .iter()
                .map(|m| (m.read)(r).filter(|v| v.is_finite()))
                .collect(),
            quantiles,
            instances: r.instances.iter().map(|i| i.requests).collect(),
            series,
            findings: Vec::new(),
        }
    }

    /// The value of metric `i`.
    pub fn metric(&self, i: usize) -> Option<f64> {
        self.metrics.get(i).copied().flatten()
    }
}

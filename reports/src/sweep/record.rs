//! What a sweep keeps of each run: every scalar metric, the latency
//! distribution as a quantile grid (for CDFs), the requests each instance
//! served (for fairness bars), and for small sweeps the time series.

use serde::{Deserialize, Serialize};
use sim_core::RunResult;

/// Whether a metric counts things (an integer column) or measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count of requests or events.
    Count,
    /// A measured or derived quantity.
    Real,
}

/// A scalar metric of a run: its column name (with its unit), its kind,
/// whether lower is better, and how to read it from a run.
pub struct Metric {
    /// Column name in `results.csv`.
    pub name: &'static str,
    /// Count or measure.
    pub kind: Kind,
    /// `Some(true)` when lower is better, `Some(false)` when higher is,
    /// `None` when neither.
    pub lower_is_better: Option<bool>,
    /// Reads the metric.
    pub read: fn(&RunResult) -> Option<f64>,
}

macro_rules! m {
    ($name:literal, $kind:ident, $better:expr, $f:expr) => {
        Metric {
            name: $name,
            kind: Kind::$kind,
            lower_is_better: $better,
            read: $f,
        }
    };
}

const LOW: Option<bool> = Some(true);
const HIGH: Option<bool> = Some(false);

/// Every metric a sweep records, in column order.
pub const METRICS: &[Metric] = &[
    m!("arrivals", Count, None, |r| Some(r.counts.arrivals as f64)),
    m!("completed", Count, HIGH, |r| Some(
        r.counts.completed as f64
    )),
    m!("rejected", Count, LOW, |r| Some(r.counts.rejected as f64)),
    m!("timed_out", Count, LOW, |r| Some(r.counts.timed_out as f64)),
    m!("failed", Count, LOW, |r| Some(r.counts.failed as f64)),
    m!("in_flight", Count, None, |r| Some(
        r.counts.in_flight as f64
    )),
    m!("error_rate", Real, LOW, |r| Some(r.error_rate)),
    m!("throughput_per_s", Real, HIGH, |r| Some(
        r.throughput_per_second
    )),
    m!("latency_mean_s", Real, LOW, |r| r.latency.mean),
    m!("latency_p50_s", Real, LOW, |r| r.latency.p50),
    m!("latency_p90_s", Real, LOW, |r| r.latency.p90),
    m!("latency_p99_s", Real, LOW, |r| r.latency.p99),
    m!("latency_p999_s", Real, LOW, |r| r.latency.p999),
    m!("latency_max_s", Real, LOW, |r| r.latency.max),
    m!("utilization", Real, None, |r| Some(r.utilization)),
    m!("mean_in_system", Real, None, |r| Some(r.mean_in_system)),
    m!("fairness_jain", Real, HIGH, |r| Some(r.fairness)),
    // Empty without tenants (`workload.users.tenants` above 1).
    m!("tenant_fairness_jain", Real, HIGH, |r| r
        .tenants
        .as_ref()
        .map(|t| t.fairness)),
    m!("cpu_utilization", Real, None, |r| r.cpu_utilization),
    m!("memory_utilization", Real, None, |r| r.memory_utilization),
    m!("instance_hours", Real, LOW, |r| Some(r.instance_hours)),
    m!("instance_cost", Real, LOW, |r| Some(r.cost)),
    m!("llm_cost", Real, LOW, |r| Some(r.llm_cost)),
    m!("total_cost", Real, LOW, |r| Some(r.total_cost)),
    m!("cost_per_hour", Real, LOW, |r| Some(r.cost_per_hour)),
    m!("cost_per_1k_requests", Real, LOW, |r| r
        .cost_per_1k_requests),
    m!("cost_per_success", Real, LOW, |r| r.cost_per_success),
    m!("retries", Count, LOW, |r| Some(r.resilience.retries as f64)),
    m!("ejections", Count, LOW, |r| Some(
        r.resilience.ejections as f64
    )),
    m!("breaker_trips", Count, LOW, |r| Some(
        r.resilience.breaker_trips as f64
    )),
    m!("instance_failures", Count, None, |r| Some(
        r.resilience.instance_failures as f64
    )),
    m!("scale_ups", Count, None, |r| Some(
        r.scaling.scale_ups as f64
    )),
    m!("scale_downs", Count, None, |r| Some(
        r.scaling.scale_downs as f64
    )),
    m!("peak_instances", Count, None, |r| Some(f64::from(
        r.scaling.peak_instances
    ))),
    m!("oom_kills", Count, LOW, |r| Some(
        r.scaling.oom_kills as f64
    )),
    m!("refused_by_budget", Count, LOW, |r| Some(
        r.scaling.refused_by_budget as f64
    )),
    // 1 when the run did not reach steady state (see `sim_core::Regime`);
    // a point's mean is the share of its seeds that did not.
    m!("backlogged", Count, LOW, |r| Some(f64::from(u8::from(
        r.regime == sim_core::Regime::Backlogged
    )))),
    m!("overloaded", Count, LOW, |r| Some(f64::from(u8::from(
        r.regime == sim_core::Regime::Overloaded
    )))),
    // Empty when the scenario sets no SLO.
    m!("slo_pass", Real, HIGH, |r| (!r.slo.checks.is_empty())
        .then_some(if r.slo.pass { 1.0 } else { 0.0 })),
];

/// The index of metric `name` in [`METRICS`].
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.name == name)
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
        }
    }

    /// The value of metric `i`.
    pub fn metric(&self, i: usize) -> Option<f64> {
        self.metrics.get(i).copied().flatten()
    }
}

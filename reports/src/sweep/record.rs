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

/// The key of quantile `q` in a journal line: `p0`, `p50`, `p99.9`,
/// `p100`.
pub fn quantile_key(q: f64) -> String {
    let s = format!("{:.2}", q * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("p{s}")
}

/// One run of a sweep, as its journal keeps it. Each journal line reads
/// on its own: it carries `formatVersion` and `fleetsimVersion`, the
/// metrics keyed by their `results.csv` column, the quantiles keyed by
/// [`quantile_key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Line", try_from = "Line")]
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

/// A journal line as written: names beside every value.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    format_version: u32,
    fleetsim_version: String,
    run: u64,
    point: usize,
    seed: u32,
    metrics: serde_json::Map<String, serde_json::Value>,
    quantiles: serde_json::Map<String, serde_json::Value>,
    instances: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    series: Option<Series>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    findings: Vec<sim_core::Finding>,
}

fn number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

impl From<RunRecord> for Line {
    fn from(r: RunRecord) -> Line {
        let metrics = METRICS
            .iter()
            .zip(&r.metrics)
            .map(|(m, v)| {
                (
                    m.column.to_string(),
                    v.map_or(serde_json::Value::Null, number),
                )
            })
            .collect();
        let quantiles = QUANTILES
            .iter()
            .zip(&r.quantiles)
            .map(|(q, v)| (quantile_key(*q), number(*v)))
            .collect();
        Line {
            format_version: crate::contract::RUNS,
            fleetsim_version: sim_core::VERSION.to_string(),
            run: r.run,
            point: r.point,
            seed: r.seed,
            metrics,
            quantiles,
            instances: r.instances,
            series: r.series,
            findings: r.findings,
        }
    }
}

impl TryFrom<Line> for RunRecord {
    type Error = String;

    fn try_from(l: Line) -> Result<RunRecord, String> {
        if l.format_version != crate::contract::RUNS {
            return Err(format!(
                "formatVersion {} (this fleetsim reads {})",
                l.format_version,
                crate::contract::RUNS
            ));
        }
        if l.metrics.len() != METRICS.len() {
            return Err(format!(
                "{} metrics, expected {}",
                l.metrics.len(),
                METRICS.len()
            ));
        }
        let metrics = METRICS
            .iter()
            .map(|m| match l.metrics.get(m.column) {
                Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("metrics.{}: a number or null", m.column)),
                None => Err(format!("metrics.{}: missing", m.column)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quantiles = if l.quantiles.is_empty() {
            Vec::new()
        } else {
            QUANTILES
                .iter()
                .map(|q| {
                    let k = quantile_key(*q);
                    l.quantiles
                        .get(&k)
                        .and_then(serde_json::Value::as_f64)
                        .ok_or_else(|| format!("quantiles.{k}: missing or not a number"))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(RunRecord {
            run: l.run,
            point: l.point,
            seed: l.seed,
            metrics,
            quantiles,
            instances: l.instances,
            series: l.series,
            findings: l.findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_keys_are_unique_and_read_as_percent() {
        let keys: Vec<String> = QUANTILES.iter().map(|q| quantile_key(*q)).collect();
        assert_eq!(keys[0], "p0");
        assert_eq!(keys[50], "p50");
        assert!(keys.contains(&"p99.9".to_string()));
        assert!(keys.contains(&"p99.95".to_string()));
        assert_eq!(keys.last().map(String::as_str), Some("p100"));
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len());
    }

    #[test]
    fn a_line_names_every_value_and_reads_back() {
        let r = RunRecord {
            run: 3,
            point: 1,
            seed: 1,
            metrics: (0..METRICS.len())
                .map(|i| (i % 3 != 0).then_some(i as f64 * 0.5))
                .collect(),
            quantiles: QUANTILES.iter().map(|q| q * 10.0).collect(),
            instances: vec![4, 5],
            series: None,
            findings: Vec::new(),
        };
        let text = serde_json::to_string(&r).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["formatVersion"], crate::contract::RUNS);
        assert_eq!(v["fleetsimVersion"], sim_core::VERSION);
        assert_eq!(v["metrics"].as_object().unwrap().len(), METRICS.len());
        assert_eq!(v["metrics"][METRICS[1].column], 0.5);
        assert_eq!(v["quantiles"]["p99"].as_f64(), Some(0.99 * 10.0));
        let back: RunRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}

//! Real against simulated. The real run's figures (latency with the
//! path's overhead and each request's backend timer error subtracted,
//! errors by reason, each backend's share)
//! with their sampling uncertainty; the simulation's, two ways:
//!
//! - **independent replications** of the scenario over the same span:
//!   their range shows the luck of one run, and should bracket the real
//!   figure;
//! - **a paired replay**: the real run's own send times and base service
//!   times written as a trace (`time,service_time`) and replayed, so the
//!   simulated fleet sees exactly the requests the real one did; what
//!   differs then is the model (or the real system's own costs).
//!
//! Quantiles are nearest-rank on both sides; a real quantile's 95%
//! interval is the order-statistic one (ranks `nq ± 1.96 √(nq(1-q))`),
//! which assumes independent samples: latencies in a queue are
//! correlated, so the true uncertainty is wider (the replications' range
//! shows by how much).

use super::load::Record;
use super::overhead::Overhead;
use super::plan::Plan;
use sim_core::request_trace::{TraceBook, TraceRow, TraceSink};
use sim_core::{run_model, run_model_traced, Model, RunControl, RunOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The latency figures compared, in this order.
pub(crate) const METRICS: [&str; 4] = ["p50", "p90", "p99", "mean"];

/// One side's figures, real seconds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    /// p50, p90, p99, mean of completed requests.
    pub(crate) latency: [f64; 4],
    pub(crate) completed: u64,
    /// Failed requests by reason.
    pub(crate) errors: BTreeMap<String, u64>,
    /// Each backend's share of completed requests.
    pub(crate) shares: Vec<f64>,
    /// Every completed latency, sorted (real and paired only).
    pub(crate) sorted: Vec<f64>,
}

/// Nearest-rank quantile of sorted `v`.
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[k - 1]
}

/// The 95% order-statistic interval of quantile `q` of sorted `v`.
pub(crate) fn quantile_ci(v: &[f64], q: f64) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let half = 1.96 * (n * q * (1.0 - q)).sqrt();
    let lo = ((n * q - half).floor() as usize).clamp(1, v.len());
    let hi = ((n * q + half).ceil() as usize).clamp(1, v.len());
    (v[lo - 1], v[hi - 1])
}

fn figures(mut lat: Vec<f64>, errors: BTreeMap<String, u64>, by_backend: Vec<u64>) -> Figures {
    lat.sort_by(f64::total_cmp);
    let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
    let done: u64 = by_backend.iter().sum();
    Figures {
        latency: [
            quantile(&lat, 0.5),
            quantile(&lat, 0.9),
            quantile(&lat, 0.99),
            mean,
        ],
        completed: lat.len() as u64,
        errors,
        shares: by_backend
            .iter()
            .map(|&c| c as f64 / done.max(1) as f64)
            .collect(),
        sorted: lat,
    }
}

/// The real run's figures and the 95% interval of each latency figure.
pub(crate) fn real(
    records: &[Record],
    overhead: &Overhead,
    backends: usize,
) -> (Figures, [(f64, f64); 4]) {
    let mut lat = Vec::new();
    let mut errors = BTreeMap::new();
    let mut by_backend = vec![0u64; backends];
    for r in records {
        if r.outcome == "ok" {
            // The path's fixed cost, and the synthetic backend's own timer
            // error for this request (it answered this much after its
            // scheduled end; the next request's schedule does not move).
            let late = r.late_s.unwrap_or(0.0);
            lat.push((r.latency_ns as f64 / 1e9 - overhead.p50 - late).max(0.0));
            if let Some(b) = r.backend.filter(|&b| (b as usize) < backends) {
                by_backend[b as usize] += 1;
            }
        } else {
            *errors.entry(r.outcome.to_string()).or_insert(0) += 1;
        }
    }
    let f = figures(lat, errors, by_backend);
    let lat = &f.sorted;
    let n = lat.len().max(1) as f64;
    let mean = f.latency[3];
    let sd = (lat.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let half = 1.96 * sd / n.sqrt();
    let ci = [
        quantile_ci(lat, 0.5),
        quantile_ci(lat, 0.9),
        quantile_ci(lat, 0.99),
        (mean - half, mean + half),
    ];
    (f, ci)
}

/// The scenario as a JSON value, for the runs calibrate derives from it:
/// no warm-up, `duration_s` long, its whole-run failures stretched to the
/// new length.
fn derived(plan: &Plan, duration_s: f64) -> Result<serde_json::Value, String> {
    let mut v = plan.value.clone();
    let o = v.as_object_mut().ok_or("the scenario is not an object")?;
    o.remove("extends");
    o.remove("$schema");
    let run = o
        .entry("run")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or("run is not an object")?;
    let d = format!("{:.3}s", duration_s.ceil());
    run.insert("duration".into(), d.clone().into());
    run.insert("warmup".into(), "0s".into());
    run.remove("seriesInterval");
    if let Some(events) = o
        .get_mut("failures")
        .and_then(|f| f.get_mut("events"))
        .and_then(|e| e.as_array_mut())
    {
        for e in events {
            if let Some(e) = e.as_object_mut() {
                e.insert("duration".into(), d.clone().into());
            }
        }
    }
    Ok(v)
}

/// Every traced request: its latency (scenario seconds), instance and
/// reason.
#[derive(Clone, Default)]
struct Rows(Arc<Mutex<Vec<SimRow>>>);

/// A simulated request: latency (scenario seconds), instance, reason.
type SimRow = (f64, Option<u32>, &'static str);

impl TraceSink for Rows {
    fn write(&mut self, row: &TraceRow<'_>) -> std::io::Result<()> {
        if let Ok(mut v) = self.0.lock() {
            v.push((row.latency_s, row.instance, row.reason));
        }
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the paired replay's trace and scenario into `dir` and runs it:
/// the simulated figures of the very requests the real run sent.
pub(crate) fn paired(
    plan: &Plan,
    records: &[Record],
    dir: &Path,
    seed: u64,
) -> Result<Figures, String> {
    let scale = plan.scale;
    let mut sent: Vec<&Record> = records.iter().collect();
    sent.sort_by_key(|r| r.sent_ns);
    let mut csv = String::from("time,service_time\n");
    for r in &sent {
        csv += &format!(
            "{:.9},{:.9}\n",
            r.sent_ns as f64 / 1e9 / scale,
            r.work_ns as f64 / 1e9 / scale
        );
    }
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write("paired-trace.csv", &csv)?;
    let last = sent.last().map_or(0.0, |r| r.sent_ns as f64 / 1e9 / scale);
    // Long enough for every request to end.
    let mut v = derived(plan, last * 2.0 + 3600.0)?;
    let w = v["workload"]
        .as_object_mut()
        .ok_or("workload is not an object")?;
    w.remove("arrivals");
    w.insert(
        "trace".into(),
        serde_json::json!({ "file": "paired-trace.csv" }),
    );
    let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    write("paired-scenario.json", &text)?;
    let model = Model::from_file(dir.join("paired-scenario.json")).map_err(|e| e.to_string())?;
    let rows = Rows::default();
    let mut book = TraceBook::new(Box::new(rows.clone()), 1);
    let opts = RunOptions {
        seed: Some(seed),
        replications: Some(1),
    };
    run_model_traced(&model, opts, &RunControl::new(), &mut book).map_err(|e| e.to_string())?;
    let _ = book.finish();
    let rows = rows.0.lock().map(|v| v.clone()).unwrap_or_default();
    let n = plan.instances.len();
    let mut lat = Vec::new();
    let mut errors = BTreeMap::new();
    let mut by_backend = vec![0u64; n];
    for (secs, inst, reason) in rows {
        if reason == "completed" {
            lat.push(secs * scale);
            if let Some(i) = inst.filter(|&i| (i as usize) < n) {
                by_backend[i as usize] += 1;
            }
        } else {
            *errors.entry(reason.to_string()).or_insert(0) += 1;
        }
    }
    Ok(figures(lat, errors, by_backend))
}

/// Independent replications over the real run's span: each one's figures.
pub(crate) fn replications(
    plan: &Plan,
    span_s: f64,
    n: u32,
    seed: u64,
    dir: &Path,
) -> Result<Vec<Figures>, String> {
    let v = derived(plan, span_s / plan.scale)?;
    let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    let path = dir.join("replications-scenario.json");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    let model = Model::from_file(&path).map_err(|e| e.to_string())?;
    let r = run_model(
        &model,
        RunOptions {
            seed: Some(seed),
            replications: Some(n),
        },
    )
    .map_err(|e| e.to_string())?;
    let s = plan.scale;
    Ok(r.runs
        .iter()
        .map(|run| {
            let l = &run.latency;
            let f = |x: Option<f64>| x.map_or(f64::NAN, |x| x * s);
            let done: u64 = run.instances.iter().map(|i| i.requests).sum();
            let reasons = serde_json::to_value(run.reasons).unwrap_or_default();
            let errors = reasons
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                        .filter(|(_, c)| *c > 0)
                        .collect()
                })
                .unwrap_or_default();
            Figures {
                latency: [f(l.p50), f(l.p90), f(l.p99), f(l.mean)],
                completed: run.counts.completed,
                errors,
                shares: run
                    .instances
                    .iter()
                    .map(|i| i.requests as f64 / done.max(1) as f64)
                    .collect(),
                sorted: Vec::new(),
            }
        })
        .collect())
}

/// (simulated − real) / real.
pub(crate) fn rel_err(sim: f64, real: f64) -> f64 {
    (sim - real) / real
}

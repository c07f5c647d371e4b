//! What calibrate prints and writes: the comparison as a table or JSON
//! (`formatVersion`, contract `reports/contracts/calibration.schema.json`),
//! `requests.csv` (one row per real request), `comparison.csv`, and the
//! latency distributions real and paired as a chart (`latency-cdf.svg`,
//! `.png`, drawn by the report's chart code).

use super::compare::{quantile, rel_err, Figures, METRICS};
use super::load::Record;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// The format version of `calibration.json` (`calibrate --json`): up by
/// one when a reader of the old format could misread the new one.
pub(crate) const FORMAT_VERSION: u32 = reports::contract::CALIBRATION;

/// Everything one calibration found.
pub(crate) struct Report<'a> {
    pub(crate) scenario: String,
    pub(crate) target: String,
    pub(crate) scale: f64,
    pub(crate) duration_s: f64,
    pub(crate) seed: u64,
    pub(crate) records: &'a [Record],
    pub(crate) scheduled: usize,
    pub(crate) lateness: (f64, f64, f64),
    pub(crate) kept_up: bool,
    pub(crate) overhead: super::overhead::Overhead,
    pub(crate) real: Figures,
    pub(crate) real_ci: [(f64, f64); 4],
    pub(crate) paired: Figures,
    pub(crate) reps: Vec<Figures>,
    pub(crate) ids: Vec<String>,
}

fn range(reps: &[Figures], f: impl Fn(&Figures) -> f64) -> (f64, f64, f64) {
    let v: Vec<f64> = reps.iter().map(f).filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, v.iter().sum::<f64>() / v.len().max(1) as f64, hi)
}

fn timer_late(records: &[Record]) -> (f64, f64) {
    let mut v: Vec<f64> = records.iter().filter_map(|r| r.late_s).collect();
    v.sort_by(f64::total_cmp);
    (quantile(&v, 0.5), quantile(&v, 0.99))
}

impl Report<'_> {
    /// The comparison as JSON.
    pub(crate) fn json(&self) -> Value {
        let latency: Vec<Value> = METRICS
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let real = self.real.latency[k];
                let (lo, mean, hi) = range(&self.reps, |f| f.latency[k]);
                json!({
                    "metric": m,
                    "realS": real,
                    "realCiLowS": self.real_ci[k].0,
                    "realCiHighS": self.real_ci[k].1,
                    "pairedS": self.paired.latency[k],
                    "pairedError": rel_err(self.paired.latency[k], real),
                    "replicationsMinS": lo,
                    "replicationsMeanS": mean,
                    "replicationsMaxS": hi,
                    "bracketed": lo <= real && real <= hi,
                })
            })
            .collect();
        let shares: Vec<Value> = (0..self.ids.len())
            .map(|b| {
                let real = self.real.shares.get(b).copied().unwrap_or(0.0);
                let paired = self.paired.shares.get(b).copied().unwrap_or(0.0);
                let (lo, _, hi) = range(&self.reps, |f| f.shares.get(b).copied().unwrap_or(0.0));
                json!({
                    "backend": b,
                    "instance": self.ids[b],
                    "real": real,
                    "paired": paired,
                    "pairedDifference": paired - real,
                    "replicationsMin": lo,
                    "replicationsMax": hi,
                })
            })
            .collect();
        let (t50, t99) = timer_late(self.records);
        let reps_errors: f64 = self
            .reps
            .iter()
            .map(|f| f.errors.values().sum::<u64>() as f64)
            .sum::<f64>()
            / self.reps.len().max(1) as f64;
        json!({
            "formatVersion": FORMAT_VERSION,
            "fleetsimVersion": sim_core::VERSION,
            "scenario": self.scenario,
            "target": self.target,
            "timeScale": self.scale,
            "durationS": self.duration_s,
            "seed": self.seed,
            "replications": self.reps.len(),
            "requests": {
                "scheduled": self.scheduled,
                "sent": self.records.len(),
                "completed": self.real.completed,
            },
            "generator": {
                "latenessP50S": self.lateness.0,
                "latenessP99S": self.lateness.1,
                "latenessMaxS": self.lateness.2,
                "keptUp": self.kept_up,
            },
            "backendTimer": { "lateP50S": t50, "lateP99S": t99 },
            "overhead": {
                "p50S": self.overhead.p50,
                "p90S": self.overhead.p90,
                "directP50S": self.overhead.direct_p50,
            },
            "latency": latency,
            "errors": {
                "real": self.real.errors,
                "paired": self.paired.errors,
                "replicationsMean": reps_errors,
            },
            "shares": shares,
        })
    }

    /// The comparison as a table.
    pub(crate) fn text(&self) -> String {
        let ms = |s: f64| format!("{:.2}", s * 1000.0);
        let pct = |x: f64| format!("{:+.1}%", x * 100.0);
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} through {} ({} s of load, time scale {}; {} requests sent of {} scheduled, {} completed)",
            self.scenario,
            self.target,
            self.duration_s,
            self.scale,
            self.records.len(),
            self.scheduled,
            self.real.completed
        );
        let _ = writeln!(
            o,
            "path overhead (subtracted, as is each request's backend timer error): p50 {} ms, p90 {} ms (straight to a backend: {} ms)",
            ms(self.overhead.p50),
            ms(self.overhead.p90),
            ms(self.overhead.direct_p50)
        );
        let (t50, t99) = timer_late(self.records);
        let _ =
            writeln!(
            o,
            "generator lateness p50 {} ms, p99 {} ms{}; backend timer late p50 {} ms, p99 {} ms",
            ms(self.lateness.0),
            ms(self.lateness.1),
            if self.kept_up { "" } else { " (DID NOT KEEP UP)" },
            ms(t50),
            ms(t99)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "latency (ms)   real  [95% CI]            paired  error   replications min..max  brackets"
        );
        for (k, m) in METRICS.iter().enumerate() {
            let real = self.real.latency[k];
            let (lo, _, hi) = range(&self.reps, |f| f.latency[k]);
            let _ = writeln!(
                o,
                "{m:<10} {:>8}  [{}..{}]  {:>8}  {:>6}   {}..{}  {}",
                ms(real),
                ms(self.real_ci[k].0),
                ms(self.real_ci[k].1),
                ms(self.paired.latency[k]),
                pct(rel_err(self.paired.latency[k], real)),
                ms(lo),
                ms(hi),
                if lo <= real && real <= hi {
                    "yes"
                } else {
                    "no"
                }
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "share of completed   real   paired  replications min..max"
        );
        for (b, id) in self.ids.iter().enumerate() {
            let real = self.real.shares.get(b).copied().unwrap_or(0.0);
            let paired = self.paired.shares.get(b).copied().unwrap_or(0.0);
            let (lo, _, hi) = range(&self.reps, |f| f.shares.get(b).copied().unwrap_or(0.0));
            let _ = writeln!(
                o,
                "{b} {id:<16} {:>6.1}%  {:>6.1}%  {:.1}%..{:.1}%",
                real * 100.0,
                paired * 100.0,
                lo * 100.0,
                hi * 100.0
            );
        }
        let errs = |e: &std::collections::BTreeMap<String, u64>| {
            if e.is_empty() {
                "none".to_string()
            } else {
                e.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(
            o,
            "\nerrors: real {}; paired {}",
            errs(&self.real.errors),
            errs(&self.paired.errors)
        );
        o
    }

    /// Writes requests.csv, comparison.csv, calibration.json and the chart
    /// into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), String> {
        let mut req = String::from(
            "request,scheduled_s,sent_s,latency_s,status,outcome,backend,work_s,service_s,timer_late_s\n",
        );
        for r in self.records {
            let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.9}"));
            let _ = writeln!(
                req,
                "{},{:.9},{:.9},{:.9},{},{},{},{:.9},{},{}",
                r.index,
                r.scheduled_ns as f64 / 1e9,
                r.sent_ns as f64 / 1e9,
                r.latency_ns as f64 / 1e9,
                r.status,
                r.outcome,
                r.backend.map_or(String::new(), |b| b.to_string()),
                r.work_ns as f64 / 1e9,
                opt(r.service_s),
                opt(r.late_s)
            );
        }
        let mut cmp = String::from(
            "metric,real_s,real_ci_low_s,real_ci_high_s,paired_s,paired_error,replications_min_s,replications_mean_s,replications_max_s\n",
        );
        for (k, m) in METRICS.iter().enumerate() {
            let (lo, mean, hi) = range(&self.reps, |f| f.latency[k]);
            let _ = writeln!(
                cmp,
                "{m},{:.9},{:.9},{:.9},{:.9},{:.6},{:.9},{:.9},{:.9}",
                self.real.latency[k],
                self.real_ci[k].0,
                self.real_ci[k].1,
                self.paired.latency[k],
                rel_err(self.paired.latency[k], self.real.latency[k]),
                lo,
                mean,
                hi
            );
        }
        let json = serde_json::to_string_pretty(&self.json()).map_err(|e| e.to_string())? + "\n";
        reports::write_set(
            dir,
            &[
                ("requests.csv", req.as_bytes()),
                ("comparison.csv", cmp.as_bytes()),
                ("calibration.json", json.as_bytes()),
            ],
            "calibration.json",
        )
        .map_err(|e| e.to_string())?;
        let points = |v: &[f64]| -> Vec<(f64, f64)> {
            (1..200)
                .map(|k| {
                    let q = k as f64 / 200.0;
                    (quantile(v, q), q)
                })
                .filter(|p| p.0 > 0.0)
                .collect()
        };
        let chart = reports::report::charts::Cdf {
            lines: vec![
                (
                    "real (path overhead and backend timer error subtracted)".into(),
                    points(&self.real.sorted),
                ),
                (
                    "simulated, paired replay".into(),
                    points(&self.paired.sorted),
                ),
            ],
        };
        reports::report::charts::render(&chart, dir).map_err(|e| e.to_string())?;
        Ok(())
    }
}

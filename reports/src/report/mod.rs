//! `fleetsim report DIR`: a finished sweep's charts (`DIR/charts/*.svg`
//! and `*.png`) and one self-contained HTML page (`DIR/report.html`: the
//! charts inline as SVG, no script, nothing fetched from elsewhere).
//!
//! - [`charts`]: each chart, drawn once for both SVG and PNG;
//! - `html`: the page.

pub mod charts;
mod html;
pub mod robust;

pub(crate) use html::esc;

use crate::decide::matrix::{Matrix, Settings, CRITERIA};
use crate::error::Error;
use crate::sweep::assemble::{self, column_name, point_index, PointSummary};
use crate::sweep::record::{metric_index, RunRecord, Series};
use crate::sweep::store::{self, Manifest};
use charts::{render, Cdf, Chart, Heatmap, Load, OverTime, Pareto, Trend};
use std::path::{Path, PathBuf};

/// Options drawn one line (or bar group) each; more would be unreadable.
const MAX_LINES: usize = 8;
/// Options drawn in the per-instance bars.
const MAX_BAR_GROUPS: usize = 4;

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// `DIR/report.html`.
    pub html: PathBuf,
    /// Charts drawn.
    pub charts: usize,
    /// Where the SVG and PNG files went.
    pub chart_dir: PathBuf,
}

/// One chart as the page shows it.
pub(crate) struct Figure {
    pub(crate) id: String,
    pub(crate) caption: String,
    pub(crate) svg: String,
}

/// Everything the page shows.
pub(crate) struct Page<'a> {
    pub(crate) manifest: &'a Manifest,
    pub(crate) points: &'a [PointSummary],
    pub(crate) matrix: &'a Matrix,
    pub(crate) figures: Vec<Figure>,
    pub(crate) notes: Vec<String>,
    /// Per point (its label), the settings that cannot act or did not on
    /// its seeds; points without any are left out.
    pub(crate) findings: Vec<(String, Vec<sim_core::Finding>)>,
    /// The directory, as given to `fleetsim report`.
    pub(crate) dir: String,
}

/// Reads a finished sweep in `dir`; says what to do when it is not one.
pub fn load(dir: &Path) -> crate::Result<(Manifest, Vec<RunRecord>)> {
    if !dir.join(store::MANIFEST).exists() {
        return Err(Error::Input(format!(
            "{}: not a sweep directory (no manifest.json); make one with `fleetsim sweep` or `fleetsim compare`",
            dir.display()
        )));
    }
    let m = Manifest::read(dir).map_err(|e| Error::Input(e.to_string()))?;
    if let Some(s) = m.shard {
        return Err(Error::Input(format!(
            "{}: holds share {}/{} of a sweep; join the shares with `fleetsim merge` and report on the result",
            dir.display(),
            s.index,
            s.count
        )));
    }
    if m.status != "complete" {
        return Err(Error::Input(format!(
            "{}: the sweep is unfinished ({} of {} runs); finish it with `fleetsim sweep ... --resume --out {}`",
            dir.display(),
            m.completed_runs,
            m.runs,
            dir.display()
        )));
    }
    let records = store::read_journal(dir)?;
    assemble::check_complete(&m, &records)
        .map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?;
    Ok((m, records))
}

/// The weights `compare` scored with (from `matrix.json`), or 1 each.
fn settings(dir: &Path) -> Settings {
    let default = Settings::default();
    let Ok(text) = std::fs::read_to_string(dir.join("matrix.json")) else {
        return default;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return default;
    };
    let weights = (CRITERIA.iter().zip(&default.weights))
        .map(|(c, &w)| {
            v["criteria"]
                .as_array()
                .and_then(|cs| cs.iter().find(|x| x["key"] == c.key))
                .and_then(|x| x["weight"].as_f64())
                .unwrap_or(w)
        })
        .collect();
    Settings {
        weights,
        margin: v["margin"].as_f64().unwrap_or(default.margin),
        baseline: v["baseline"].as_str().map(str::to_string),
    }
}

/// Writes the charts and `report.html` for the finished sweep in `dir`.
///
/// On the directory `compare --scenarios` writes, writes each scenario's
/// report and a page across them ([`robust::write_robust_report`]).
pub fn write_report(dir: &Path) -> crate::Result<Written> {
    if robust::is_robust_dir(dir) {
        return robust::write_robust_report(dir);
    }
    let (m, records) = load(dir)?;
    let points = assemble::summarise_points(&m, &records);
    let matrix = Matrix::build(&m, &records, &settings(dir))
        .or_else(|_| Matrix::build(&m, &records, &Settings::default()))
        .map_err(crate::error::Error::from)?;
    let chart_dir = dir.join("charts");
    std::fs::create_dir_all(&chart_dir)?;
    let mut figures = Vec::new();
    let mut notes = Vec::new();
    let mut add = |c: &dyn Fn(&Path) -> crate::Result<Figure>| -> crate::Result<()> {
        let f = c(&chart_dir)?;
        figures.push(f);
        Ok(())
    };
    fn fig<C: Chart>(c: &C, dir: &Path) -> crate::Result<Figure> {
        Ok(Figure {
            id: c.id(),
            caption: c.caption(),
            svg: render(c, dir)?,
        })
    }
    let groups: Vec<&[RunRecord]> = records.chunk_by(|a, b| a.point == b.point).collect();
    let names: Vec<String> = points.iter().map(|p| p.labels.join(" / ")).collect();
    let shown = groups.len().min(MAX_LINES);
    if groups.len() > MAX_LINES {
        notes.push(format!(
            "The latency CDF, time series and load charts show the first {MAX_LINES} of {} points; every point is in the tables and in points.csv.",
            groups.len()
        ));
    }

    let cdf = Cdf {
        lines: groups[..shown]
            .iter()
            .zip(&names)
            .filter_map(|(g, n)| Some((n.clone(), mean_quantiles(g)?)))
            .collect(),
    };
    add(&|d| fig(&cdf, d))?;

    match trends(&m, &points) {
        Some(ts) => {
            for t in &ts {
                add(&|d| fig(t, d))?;
            }
        }
        None => notes.push(
            "No axis is numeric, so there is no chart of latency against an axis; the matrix compares the options.".into(),
        ),
    }

    let cost_i = metric_index("cost_per_hour").expect("recorded");
    let p99_i = metric_index("latency_p99_s").expect("recorded");
    let pareto = Pareto {
        points: points
            .iter()
            .zip(&names)
            .filter_map(|(p, n)| Some((n.clone(), p.metrics[cost_i].mean?, p.metrics[p99_i].mean?)))
            .collect(),
        currency: m.currency.clone(),
    };
    if pareto.points.len() >= 2 {
        add(&|d| fig(&pareto, d))?;
    }

    let jain_i = metric_index("fairness_jain").expect("recorded");
    let load = Load {
        options: groups
            .iter()
            .zip(&names)
            .zip(&points)
            .take(MAX_BAR_GROUPS)
            .map(|((g, n), p)| {
                (
                    n.clone(),
                    p.metrics[jain_i].mean.unwrap_or(f64::NAN),
                    shares(g),
                )
            })
            .collect(),
    };
    add(&|d| fig(&load, d))?;

    let heat = heatmap(&matrix);
    add(&|d| fig(&heat, d))?;

    if groups.iter().any(|g| g.iter().any(|r| r.series.is_some())) {
        let over = |id: &str, title: &str, y: &str, pick: fn(&Series, usize) -> f64| OverTime {
            id: id.into(),
            title: title.into(),
            y_label: y.into(),
            lines: groups[..shown]
                .iter()
                .zip(&names)
                .filter_map(|(g, n)| Some((n.clone(), mean_series(g, pick)?)))
                .collect(),
        };
        let inst = over(
            "instances-over-time",
            "Instances over time",
            "instances booting or ready",
            |s, i| f64::from(s.instances[i]),
        );
        let queue = over(
            "queue-over-time",
            "Queue depth over time",
            "requests waiting for a slot",
            |s, i| s.queued[i] as f64,
        );
        add(&|d| fig(&inst, d))?;
        add(&|d| fig(&queue, d))?;
    } else {
        notes.push(format!(
            "Time series are kept for sweeps of at most 64 points; this one has {}.",
            m.points
        ));
    }

    let findings = groups
        .iter()
        .zip(&names)
        .filter_map(|(g, n)| {
            let per_run: Vec<Vec<sim_core::Finding>> =
                g.iter().map(|r| r.findings.clone()).collect();
            let f = sim_core::across_runs(&per_run);
            (!f.is_empty()).then(|| (n.clone(), f))
        })
        .collect();
    let charts = figures.len();
    let page = Page {
        manifest: &m,
        points: &points,
        matrix: &matrix,
        figures,
        notes,
        findings,
        // As the reproduce lines read from the directory itself.
        dir: crate::contract::relative_to(dir, dir),
    };
    let html = crate::files::write_atomic(dir, "report.html", html::page(&page).as_bytes())?;
    Ok(Written {
        html,
        charts,
        chart_dir,
    })
}

/// The mean of each seed's latency quantiles (Vincentization: averaging
/// quantile functions keeps the shape of the distributions averaged).
fn mean_quantiles(g: &[RunRecord]) -> Option<Vec<(f64, f64)>> {
    let with: Vec<&RunRecord> = g.iter().filter(|r| !r.quantiles.is_empty()).collect();
    if with.is_empty() {
        return None;
    }
    let q = crate::sweep::record::QUANTILES;
    Some(
        q.iter()
            .enumerate()
            .map(|(i, &p)| {
                let x = with.iter().map(|r| r.quantiles[i]).sum::<f64>() / with.len() as f64;
                (x, p)
            })
            .collect(),
    )
}

/// Each instance's share of the requests, averaged over seeds.
fn shares(g: &[RunRecord]) -> Vec<f64> {
    let n = g.iter().map(|r| r.instances.len()).max().unwrap_or(0);
    let mut out = vec![0.0; n];
    for r in g {
        let total: u64 = r.instances.iter().sum();
        if total == 0 {
            continue;
        }
        for (i, &c) in r.instances.iter().enumerate() {
            out[i] += c as f64 / total as f64 / g.len() as f64;
        }
    }
    out
}

/// A series averaged over seeds, against minutes.
fn mean_series(g: &[RunRecord], pick: fn(&Series, usize) -> f64) -> Option<Vec<(f64, f64)>> {
    let all: Vec<&Series> = g.iter().filter_map(|r| r.series.as_ref()).collect();
    let first = all.first()?;
    let len = all.iter().map(|s| s.time.len()).min()?;
    Some(
        (0..len)
            .map(|i| {
                let v = all.iter().map(|s| pick(s, i)).sum::<f64>() / all.len() as f64;
                (first.time[i] / 60.0, v)
            })
            .collect(),
    )
}

/// p50 and p99 against the first numeric axis, a line per value of the
/// other axes; `None` without a numeric axis.
fn trends(m: &Manifest, points: &[PointSummary]) -> Option<Vec<Trend>> {
    let ax = m
        .axes
        .iter()
        .position(|a| a.names.is_none() && a.values.iter().all(|v| v.is_number()))?;
    let x_label = column_name(&m.axes[ax]).to_string();
    let make = |metric: &str, what: &str| -> Trend {
        let i = metric_index(metric).expect("recorded");
        let mut lines: Vec<(String, Vec<charts::Band>)> = Vec::new();
        for p in points {
            let idx = point_index(m, p.point);
            let x = m.axes[ax].values[idx[ax]].as_f64().unwrap_or(f64::NAN);
            let rest: Vec<String> = p
                .labels
                .iter()
                .enumerate()
                .filter(|(a, _)| *a != ax)
                .map(|(_, l)| l.clone())
                .collect();
            let name = if rest.is_empty() {
                what.to_string()
            } else {
                rest.join(" / ")
            };
            let s = &p.metrics[i];
            let Some(mean) = s.mean else { continue };
            let pt = (
                x,
                mean,
                s.ci95_low.unwrap_or(mean),
                s.ci95_high.unwrap_or(mean),
            );
            match lines.iter().position(|l| l.0 == name) {
                Some(l) => lines[l].1.push(pt),
                None if lines.len() < MAX_LINES => lines.push((name, vec![pt])),
                None => {}
            }
        }
        for l in &mut lines {
            l.1.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Trend {
            id: format!("{}-by-axis", what),
            title: format!("{what} latency by {x_label}"),
            x_label: x_label.clone(),
            y_label: format!("{what} latency (seconds)"),
            lines,
        }
    };
    Some(vec![
        make("latency_p50_s", "p50"),
        make("latency_p99_s", "p99"),
    ])
}

/// The matrix as a heatmap, best option first: each cell's shade is its
/// goodness (the scale the score uses) between the worst option shown (0)
/// and the best (1); a column every option ties on is left unshaded.
fn heatmap(matrix: &Matrix) -> Heatmap {
    let shown = matrix.shown();
    let rows: Vec<usize> = matrix.ranking.iter().copied().take(20).collect();
    let cells = rows
        .iter()
        .map(|&o| {
            shown
                .iter()
                .map(|&c| {
                    let cr = &matrix.criteria[c];
                    let u = CRITERIA[c].utility;
                    let v = matrix.options[o].cells[c].mean;
                    let (lo, hi) = (matrix.options.iter())
                        .filter_map(|x| x.cells[c].mean.map(|m| u.goodness(m)))
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), g| {
                            (l.min(g), h.max(g))
                        });
                    let t = v
                        .filter(|_| hi > lo)
                        .map(|x| ((u.goodness(x) - lo) / (hi - lo)).clamp(0.0, 1.0));
                    (t, v.map_or_else(|| "-".to_string(), |x| cr.unit.show(x)))
                })
                .collect()
        })
        .collect();
    Heatmap {
        rows: rows
            .iter()
            .map(|&o| matrix.options[o].name.clone())
            .collect(),
        cols: shown
            .iter()
            .map(|&c| matrix.criteria[c].label.clone())
            .collect(),
        cells,
    }
}

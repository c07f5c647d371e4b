//! The table `fleetsim sweep` prints: a few key metrics per point, each
//! a mean across seeds with its 95% interval.

use crate::decide::matrix::{show_summary, Unit, CRITERIA};
use crate::sweep::assemble::{column_name, PointSummary};
use crate::sweep::record::metric_index;
use crate::sweep::store::Manifest;
use std::fmt::Write;

/// Points listed one by one; larger sweeps point to `points.csv`.
const MAX_ROWS: usize = 40;

/// Each axis's column heading on a terminal: the path's last key
/// (`instances`), or the whole path where two axes would share one.
pub fn short_names(m: &Manifest) -> Vec<String> {
    let last = |a: &crate::sweep::store::AxisInfo| -> String {
        let name = column_name(a);
        name.rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches(['[', ']', '"'])
            .to_string()
    };
    let shorts: Vec<String> = m.axes.iter().map(last).collect();
    shorts
        .iter()
        .zip(&m.axes)
        .map(|(s, a)| {
            if shorts.iter().filter(|x| *x == s).count() > 1 {
                column_name(a).to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// The per-point table.
pub fn points_table(m: &Manifest, points: &[PointSummary]) -> String {
    let keys = ["p50", "p99", "errors", "throughput", "cost"];
    let cols: Vec<(&str, usize, Unit)> = CRITERIA
        .iter()
        .filter(|c| keys.contains(&c.key))
        .filter_map(|c| {
            Some((
                c.metric.label,
                metric_index(c.metric.column)?,
                c.metric.unit,
            ))
        })
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = short_names(m);
    head.extend(cols.iter().map(|c| c.0.to_string()));
    rows.push(head);
    for p in points.iter().take(MAX_ROWS) {
        let mut row = p.labels.clone();
        for &(_, i, unit) in &cols {
            row.push(show_summary(unit, &p.metrics[i]));
        }
        rows.push(row);
    }
    let mut o = crate::format::align(&rows, m.axes.len(), false);
    if points.len() > MAX_ROWS {
        let _ = writeln!(
            o,
            "  ... {} more points in points.csv",
            points.len() - MAX_ROWS
        );
    }
    let _ = writeln!(
        o,
        "  (mean of {} seed(s) per point, ± the 95% interval's half width, (a–b) an interval cut at the metric's range; none below 3 seeds)",
        m.seeds
    );
    o
}

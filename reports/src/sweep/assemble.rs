//! The tables of a finished sweep, assembled from its manifest and its
//! run records in run order (so they never depend on `--jobs`, shards or
//! resumption):
//!
//! - `results.csv` and `results.parquet`: one row per run — the point, the
//!   seed, each axis's value, and every metric of [`METRICS`];
//! - `points.csv`: one row per point — each metric's mean and 95%
//!   confidence interval across the seeds (Student's t).

use super::record::{Kind, RunRecord, METRICS};
use super::spec::grid_index;
use super::store::{AxisInfo, Manifest};
use crate::error::Error;
use crate::files::write_atomic;
use polars::prelude::*;
use serde_json::Value;
use sim_core::MetricSummary;
use std::io;
use std::path::Path;

/// Checks that `records` (sorted by run) hold every run of `manifest`'s
/// sweep (or share) exactly once.
pub fn check_complete(manifest: &Manifest, records: &[RunRecord]) -> Result<(), Error> {
    for r in records {
        manifest.check_record(r)?;
    }
    let want: Vec<u64> = (0..manifest.runs)
        .filter(|&r| manifest.shard.is_none_or(|s| s.owns(r)))
        .collect();
    let have: Vec<u64> = records.iter().map(|r| r.run).collect();
    if have == want {
        return Ok(());
    }
    let missing = want
        .iter()
        .filter(|r| have.binary_search(r).is_err())
        .count();
    let mut dupes = have.clone();
    dupes.dedup();
    Err(Error::Input(format!(
        "{} of {} runs are on disk ({missing} missing, {} duplicated)",
        have.len(),
        want.len(),
        have.len() - dupes.len()
    )))
}

/// The value index of each axis at `point`.
pub fn point_index(m: &Manifest, point: usize) -> Vec<usize> {
    let lens: Vec<usize> = m.axes.iter().map(|a| a.values.len()).collect();
    grid_index(&lens, &m.zip, point as u64)
}

/// Each axis's value label at `point`.
pub fn point_labels(m: &Manifest, point: usize) -> Vec<String> {
    m.axes
        .iter()
        .zip(point_index(m, point))
        .map(|(a, i)| a.label(i))
        .collect()
}

/// An axis's column name: its path, or `variant` for whole scenarios.
pub fn column_name(a: &AxisInfo) -> &str {
    if a.path == "$" {
        "variant"
    } else {
        &a.path
    }
}

/// One point's metrics across its seeds.
#[derive(Debug, Clone)]
pub struct PointSummary {
    /// Grid point.
    pub point: usize,
    /// Axis value labels.
    pub labels: Vec<String>,
    /// [`METRICS`] in order, each with mean and interval.
    pub metrics: Vec<MetricSummary>,
}

/// Summaries of every point, from records sorted by run.
pub fn summarise_points(m: &Manifest, records: &[RunRecord]) -> Vec<PointSummary> {
    let mut out = Vec::with_capacity(m.points as usize);
    for chunk in records.chunk_by(|a, b| a.point == b.point) {
        let point = chunk[0].point;
        out.push(PointSummary {
            point,
            labels: point_labels(m, point),
            metrics: METRICS
                .iter()
                .enumerate()
                .map(|(i, metric)| {
                    MetricSummary::of(
                        metric.column,
                        metric.bounds(),
                        chunk.iter().map(|r| r.metric(i)),
                    )
                })
                .collect(),
        });
    }
    out
}

fn axis_column(a: &AxisInfo, picks: impl Iterator<Item = usize> + Clone) -> Column {
    let name = PlSmallStr::from(column_name(a));
    if a.names.is_some() {
        let xs: Vec<String> = picks.map(|i| a.label(i)).collect();
        Column::new(name, xs)
    } else if a.values.iter().all(|v| v.as_i64().is_some()) {
        let xs: Vec<i64> = picks.map(|i| a.values[i].as_i64().unwrap_or(0)).collect();
        Column::new(name, xs)
    } else if a.values.iter().all(Value::is_number) {
        let xs: Vec<f64> = picks
            .map(|i| a.values[i].as_f64().unwrap_or(f64::NAN))
            .collect();
        Column::new(name, xs)
    } else if a.values.iter().all(Value::is_boolean) {
        let xs: Vec<bool> = picks
            .map(|i| a.values[i].as_bool().unwrap_or(false))
            .collect();
        Column::new(name, xs)
    } else {
        let xs: Vec<String> = picks.map(|i| a.label(i)).collect();
        Column::new(name, xs)
    }
}

fn frame(columns: Vec<Column>) -> io::Result<DataFrame> {
    DataFrame::new_infer_height(columns)
        .map_err(|e| io::Error::other(format!("building the table: {e}")))
}

/// `results` as a DataFrame: one row per run.
pub fn results_frame(m: &Manifest, records: &[RunRecord]) -> io::Result<DataFrame> {
    let idx: Vec<Vec<usize>> = records.iter().map(|r| point_index(m, r.point)).collect();
    let mut cols = vec![
        Column::new(
            "point".into(),
            records.iter().map(|r| r.point as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "seed".into(),
            records
                .iter()
                .map(|r| i64::from(r.seed))
                .collect::<Vec<_>>(),
        ),
    ];
    for (a, axis) in m.axes.iter().enumerate() {
        cols.push(axis_column(axis, idx.iter().map(move |v| v[a])));
    }
    for (i, metric) in METRICS.iter().enumerate() {
        let name = PlSmallStr::from(metric.column);
        cols.push(match metric.kind {
            // A per-run yes or no (the SLO met, a regime): a boolean.
            _ if metric.is_flag() => Column::new(
                name,
                records
                    .iter()
                    .map(|r| r.metric(i).map(|v| v != 0.0))
                    .collect::<Vec<_>>(),
            ),
            Kind::Count => Column::new(
                name,
                records
                    .iter()
                    .map(|r| r.metric(i).map(|v| v as i64))
                    .collect::<Vec<_>>(),
            ),
            Kind::Real => Column::new(
                name,
                records.iter().map(|r| r.metric(i)).collect::<Vec<_>>(),
            ),
        });
    }
    frame(cols)
}

/// `points` as a DataFrame: one row per point, each metric as
/// `NAME_mean`, `NAME_ci_low`, `NAME_ci_high`, with the seeds behind them.
pub fn points_frame(m: &Manifest, points: &[PointSummary]) -> io::Result<DataFrame> {
    let idx: Vec<Vec<usize>> = points.iter().map(|p| point_index(m, p.point)).collect();
    let mut cols = vec![
        Column::new(
            "point".into(),
            points.iter().map(|p| p.point as i64).collect::<Vec<_>>(),
        ),
        Column::new("seeds".into(), vec![i64::from(m.seeds); points.len()]),
    ];
    for (a, axis) in m.axes.iter().enumerate() {
        cols.push(axis_column(axis, idx.iter().map(move |v| v[a])));
    }
    for (i, metric) in METRICS.iter().enumerate() {
        let get = |f: fn(&MetricSummary) -> Option<f64>| -> Vec<Option<f64>> {
            points.iter().map(|p| f(&p.metrics[i])).collect()
        };
        cols.push(Column::new(
            format!("{}_mean", metric.column).into(),
            get(|s| s.mean),
        ));
        cols.push(Column::new(
            format!("{}_ci_low", metric.column).into(),
            get(|s| s.ci95_low),
        ));
        cols.push(Column::new(
            format!("{}_ci_high", metric.column).into(),
            get(|s| s.ci95_high),
        ));
    }
    frame(cols)
}

/// `df` as CSV text.
pub fn csv_bytes(df: &mut DataFrame) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .finish(df)
        .map_err(|e| io::Error::other(format!("writing CSV: {e}")))?;
    Ok(buf)
}

/// `df` as Parquet (zstd-compressed; statistics written, so readers can
/// skip row groups), its key-value metadata holding `formatVersion` and
/// `fleetsimVersion`.
pub fn parquet_bytes(df: &mut DataFrame, format_version: u32) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let meta = crate::contract::parquet_metadata(format_version)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    ParquetWriter::new(&mut buf)
        .with_statistics(StatisticsOptions::full())
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(meta)))
        .finish(df)
        .map_err(|e| io::Error::other(format!("writing Parquet: {e}")))?;
    Ok(buf)
}

/// Writes `results.csv`, `results.parquet` and `points.csv` into `dir`,
/// each atomically. Returns the point summaries.
pub fn write_tables(
    dir: &Path,
    m: &Manifest,
    records: &[RunRecord],
) -> io::Result<Vec<PointSummary>> {
    let mut results = results_frame(m, records)?;
    write_atomic(dir, "results.csv", &csv_bytes(&mut results)?)?;
    write_atomic(
        dir,
        "results.parquet",
        &parquet_bytes(&mut results, crate::contract::TABLES)?,
    )?;
    let points = summarise_points(m, records);
    let mut pf = points_frame(m, &points)?;
    write_atomic(dir, "points.csv", &csv_bytes(&mut pf)?)?;
    Ok(points)
}

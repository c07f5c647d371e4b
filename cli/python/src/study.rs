//! Many runs into one directory: `fleetsim.sweep` and `fleetsim.compare`,
//! on the same study, tables and decision matrix as the CLI's `sweep` and
//! `compare`.

use crate::detached::detached;
use crate::errors::Failure;
use pyo3::prelude::*;
use reports::decide::matrix::{parse_margin, parse_weights, Matrix, Settings};
use reports::study::{Finished, Options, Study};
use reports::sweep::assemble::{csv_bytes, points_frame};
use reports::sweep::axis::Axis;
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use sim_core::RunControl;
use std::path::{Path, PathBuf};

/// Where a study's wall time starts: read here, as the CLI reads it, and
/// recorded in the manifest only (no result depends on it).
#[allow(clippy::disallowed_methods)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs every run of `spec` into `out` and returns the finished study.
fn run_study(
    spec: SweepSpec,
    out: PathBuf,
    jobs: Option<u64>,
    command: &str,
    control: &RunControl,
) -> Result<Finished, Failure> {
    let started = now();
    let sweep = Sweep::prepare(spec)?;
    reports::study::prepare_dir(&out)?;
    let study = Study::open(
        &sweep,
        Options {
            dir: out,
            resume: false,
            shard: None,
            jobs: reports::study::jobs(jobs),
            command: command.to_string(),
        },
    )?;
    Ok(study.run(control, started, || {})?)
}

/// The sweep: a sweep file (its seeds overridden when given), or a
/// scenario file crossed with `axes` (each `(PATH, VALUES as JSON)`: a
/// list, or a range such as `"1..25"` or `"10..50/5"`).
fn sweep_spec(
    sweep_file: Option<PathBuf>,
    scenario: Option<PathBuf>,
    axes: Vec<(String, String)>,
    zip: Vec<Vec<String>>,
    seeds: Option<u32>,
    seed: Option<u64>,
) -> Result<SweepSpec, Failure> {
    if let Some(file) = sweep_file {
        let v = sim_core::json_file(&file)?;
        if v.get("axes").is_none() && v.get("deployment").is_some() {
            return Err(Failure::Input(format!(
                "{} is a scenario, not a sweep file: give axes, e.g. axes={{\"deployment.loadBalancing.strategy\": [\"round-robin\", \"least-connections\"]}}, or write a sweep file",
                file.display()
            )));
        }
        let mut spec = SweepSpec::from_file(&file)?;
        spec.seeds = seeds.or(spec.seeds);
        spec.seed = seed.or(spec.seed);
        return Ok(spec);
    }
    let Some(scenario) = scenario else {
        return Err(Failure::Input(
            "nothing to sweep: give a sweep file, or a scenario and axes".into(),
        ));
    };
    let axes = axes
        .iter()
        .map(|(path, values)| {
            let values: serde_json::Value = serde_json::from_str(values)
                .map_err(|e| Failure::Input(format!("axes[{path:?}]: not JSON: {e}")))?;
            Axis::from_json(path, &values)
                .map_err(|e| Failure::Input(format!("axes[{path:?}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if axes.is_empty() {
        return Err(Failure::Input(
            "axes: give at least one axis, e.g. {\"deployment.regions.us-east-1.instances\": \"1..8\"}".into(),
        ));
    }
    SweepSpec::from_args(&scenario, axes, &zip, seeds, seed).map_err(Failure::from)
}

/// Runs a sweep into the directory `out` (which keeps every file `fleetsim
/// sweep` writes) and returns its `points.csv` text.
#[pyfunction]
#[pyo3(signature = (out, sweep_file=None, scenario=None, axes=Vec::new(), zip=Vec::new(), seeds=None, seed=None, jobs=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sweep(
    py: Python<'_>,
    out: PathBuf,
    sweep_file: Option<PathBuf>,
    scenario: Option<PathBuf>,
    axes: Vec<(String, String)>,
    zip: Vec<Vec<String>>,
    seeds: Option<u32>,
    seed: Option<u64>,
    jobs: Option<u64>,
) -> PyResult<String> {
    detached(py, move |control| {
        let spec = sweep_spec(sweep_file, scenario, axes, zip, seeds, seed)?;
        let f = run_study(spec, out, jobs, "fleetsim.sweep (Python)", control)?;
        let mut points = points_frame(&f.manifest, &f.points)?;
        text(csv_bytes(&mut points)?)
    })
}

/// The weights, margin and baseline of a comparison, checked before any run.
fn settings(
    strategies: &[String],
    weights: Option<&str>,
    margin: Option<f64>,
    baseline: Option<String>,
) -> Result<Settings, Failure> {
    if let Some(b) = &baseline {
        if !strategies.contains(b) {
            return Err(Failure::Input(format!(
                "baseline `{b}` is not one of the options compared; they are {}",
                strategies.join(", ")
            )));
        }
    }
    Ok(Settings {
        weights: parse_weights(weights).map_err(Failure::Input)?,
        margin: parse_margin(margin).map_err(Failure::Input)?,
        baseline,
    })
}

/// The sweep a comparison runs: one axis over the strategies, as
/// `fleetsim compare SCENARIO --strategies ...` builds it.
fn compare_spec(
    scenario: &Path,
    strategies: &[String],
    seeds: Option<u32>,
    seed: Option<u64>,
) -> Result<SweepSpec, Failure> {
    if strategies.len() < 2 {
        return Err(Failure::Input(
            "strategies: name two or more strategies to compare, e.g. [\"round-robin\", \"least-connections\"]".into(),
        ));
    }
    let axis = Axis::parse_arg(&format!(
        "deployment.loadBalancing.strategy={}",
        strategies.join(",")
    ))?;
    let mut spec = SweepSpec::from_args(scenario, vec![axis], &[], seeds, seed)?;
    spec.name = spec.name.replace("-sweep", "-compare");
    Ok(spec)
}

/// Compares strategies on the same seeds into the directory `out` (with
/// `matrix.csv`, `matrix.md` and `matrix.json`, as `fleetsim compare`
/// writes them) and returns the decision matrix as CSV text.
#[pyfunction]
#[pyo3(signature = (out, scenario, strategies, seeds=None, seed=None, jobs=None, weights=None, margin=None, baseline=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn compare(
    py: Python<'_>,
    out: PathBuf,
    scenario: PathBuf,
    strategies: Vec<String>,
    seeds: Option<u32>,
    seed: Option<u64>,
    jobs: Option<u64>,
    weights: Option<String>,
    margin: Option<f64>,
    baseline: Option<String>,
) -> PyResult<String> {
    detached(py, move |control| {
        let settings = settings(&strategies, weights.as_deref(), margin, baseline)?;
        let spec = compare_spec(&scenario, &strategies, seeds, seed)?;
        let f = run_study(spec, out, jobs, "fleetsim.compare (Python)", control)?;
        let matrix = Matrix::build(&f.manifest, &f.records, &settings).map_err(Failure::Input)?;
        if let Some(e) = matrix.unscored(weights.as_deref()) {
            return Err(Failure::Input(e));
        }
        write_matrix(&f.dir, &matrix)?;
        Ok(matrix.to_csv())
    })
}

fn write_matrix(dir: &Path, matrix: &Matrix) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(matrix)
        .map_err(|e| Failure::Internal(format!("writing the matrix as JSON: {e}")))?;
    reports::write_atomic(dir, "matrix.md", matrix.to_markdown().as_bytes())?;
    reports::write_atomic(dir, "matrix.csv", matrix.to_csv().as_bytes())?;
    reports::write_atomic(dir, "matrix.json", format!("{json}\n").as_bytes())?;
    Ok(())
}

fn text(bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|e| Failure::Internal(format!("a table is not UTF-8: {e}")))
}

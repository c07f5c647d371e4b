//! `fleetsim compare`: a sweep over strategies or whole deployments on
//! the same seeds, and the decision matrix it supports.

use crate::args::{CompareArgs, MatrixFormat};
use crate::confirm::{confirm, Work, NARROW_SWEEP};
use crate::failure::Failure;
use crate::output::Stdout;
use crate::sweep::run_sweep;
use anyhow::anyhow;
use reports::decide::matrix::{parse_margin, parse_weights, Matrix, Settings};
use reports::decide::robust::Robust;
use reports::sweep::axis::Axis;
use reports::sweep::spec::{stem, SweepSpec};
use std::process::ExitCode;

fn input(e: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow!("{e}"))
}

/// The sweep `compare` runs: one axis over the options.
fn spec_of(a: &CompareArgs) -> Result<SweepSpec, Failure> {
    if !a.variants.is_empty() {
        if a.scenario.is_some() {
            return Err(input(
                "give either SCENARIO with --strategies, or --variants FILE FILE...; not both",
            ));
        }
        let mut named = Vec::new();
        for f in &a.variants {
            // Checked on its own first, so errors name the variant's file.
            sim_core::Model::from_file(f)?;
            let name = stem(f, &f.display().to_string());
            named.push((name, sim_core::scenario_json(f)?));
        }
        let axis = Axis::variants(named).map_err(|e| input(format!("--variants: {e}")))?;
        let mut spec =
            SweepSpec::from_args(&a.variants[0], vec![axis], &[], a.exec.seeds, a.exec.seed)
                .map_err(input)?;
        spec.name = "compare-variants".into();
        return Ok(spec);
    }
    let Some(scenario) = &a.scenario else {
        return Err(input(
            "nothing to compare: give SCENARIO --strategies A,B,... or --variants FILE FILE...",
        ));
    };
    if a.strategies.len() < 2 {
        return Err(input(
            "--strategies: name two or more strategies to compare, e.g. --strategies round-robin,least-connections",
        ));
    }
    let axis = Axis::parse_arg(&format!(
        "deployment.loadBalancing.strategy={}",
        a.strategies.join(",")
    ))
    .map_err(input)?;
    let mut spec = SweepSpec::from_args(scenario, vec![axis], &[], a.exec.seeds, a.exec.seed)
        .map_err(input)?;
    spec.name = spec.name.replace("-sweep", "-compare");
    Ok(spec)
}

/// `fleetsim compare --scenarios`: the strategies compared under each
/// scenario (each into its own subdirectory), then ranked across them.
fn compare_robust(a: &CompareArgs, settings: &Settings) -> Result<ExitCode, Failure> {
    if a.strategies.len() < 2 {
        return Err(input(
            "--scenarios compares --strategies under each scenario: name two or more, e.g. --strategies round-robin,least-connections",
        ));
    }
    if a.exec.shard.is_some() || a.exec.shard_from_env {
        return Err(input(
            "--scenarios runs whole comparisons; shard single sweeps instead",
        ));
    }
    let root = a
        .exec
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("compare-robust"));
    // Every scenario is named and checked before the first run.
    let mut names: Vec<String> = Vec::new();
    let mut plans = Vec::new();
    let mut work = Work::of_models(&[], 0);
    for scenario in &a.scenarios {
        let stem = stem(scenario, &scenario.display().to_string());
        if names.contains(&stem) {
            return Err(input(format!(
                "--scenarios: two scenarios are named `{stem}`; give files with different names"
            )));
        }
        let one = CompareArgs {
            scenario: Some(scenario.clone()),
            strategies: a.strategies.clone(),
            variants: Vec::new(),
            scenarios: Vec::new(),
            weights: a.weights.clone(),
            margin: a.margin,
            baseline: a.baseline.clone(),
            format: a.format,
            exec: crate::args::ExecArgs {
                out: Some(root.join(&stem)),
                ..a.exec.clone()
            },
        };
        let spec = spec_of(&one)?;
        let prepared = reports::sweep::plan::Sweep::prepare(spec.clone())?;
        work = work.plus(Work::of_models(&prepared.models, prepared.seeds));
        names.push(stem);
        plans.push((one, spec));
    }
    // One question for the whole comparison, not one per scenario.
    confirm(&work, "this comparison", a.exec.yes, NARROW_SWEEP)?;
    let mut matrices = Vec::new();
    for (mut one, spec) in plans {
        one.exec.yes = true;
        let f = run_sweep(&one.exec, spec, "this comparison")?;
        let matrix = Matrix::build(&f.manifest, &f.records, settings).map_err(input)?;
        if let Some(e) = matrix.unscored(a.weights.as_deref()) {
            return Err(input(e));
        }
        write_matrix(&f.dir, &matrix)?;
        matrices.push(matrix);
    }
    let robust = Robust::build(names, &matrices).map_err(|e| Failure::Io(anyhow!(e)))?;
    let json = serde_json::to_string_pretty(&robust).map_err(|e| Failure::Io(e.into()))?;
    // robust.json lists the files beside it with their versions (the
    // carrier of robust.csv's); what is printed is the ranking alone.
    let listed = {
        use reports::contract::{FileInfo, MATRIX_CSV, ROBUST};
        let mut v = serde_json::to_value(&robust).map_err(|e| Failure::Io(e.into()))?;
        if let Some(map) = v.as_object_mut() {
            let files = [
                FileInfo::new("robust.json", ROBUST),
                FileInfo::new("robust.csv", MATRIX_CSV),
            ];
            let files = serde_json::to_value(files).map_err(|e| Failure::Io(e.into()))?;
            map.insert("files".into(), files);
        }
        serde_json::to_string_pretty(&v).map_err(|e| Failure::Io(e.into()))?
    };
    let write = |name: &str, text: &str| {
        reports::write_atomic(&root, name, text.as_bytes()).map_err(|e| Failure::Io(e.into()))
    };
    write("robust.md", &robust.to_markdown())?;
    write("robust.csv", &robust.to_csv())?;
    write("robust.json", &format!("{listed}\n"))?;
    let mut out = Stdout::default();
    match a.format {
        MatrixFormat::Markdown => out.emit(&robust.to_markdown())?,
        MatrixFormat::Json => out.emit(&format!("{json}\n"))?,
        MatrixFormat::Csv => out.emit(&robust.to_csv())?,
        MatrixFormat::Table => {
            for (name, m) in robust.scenarios.iter().zip(&matrices) {
                out.emit(&format!("\n== {name}\n{}\n", m.verdict()))?;
            }
            out.emit(&format!("\n{}", robust.to_table()))?;
            out.emit(&format!(
                "\nwrote {}: robust.md, robust.csv, robust.json, and each scenario's comparison in its own directory\n",
                root.display()
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_matrix(dir: &std::path::Path, matrix: &Matrix) -> Result<String, Failure> {
    use reports::contract::{FileInfo, MATRIX, MATRIX_CSV};
    let io = |e: std::io::Error| Failure::Io(e.into());
    let json = serde_json::to_string_pretty(matrix).map_err(|e| Failure::Io(e.into()))?;
    let write =
        |name: &str, text: &str| reports::write_atomic(dir, name, text.as_bytes()).map_err(io);
    write("matrix.md", &matrix.to_markdown())?;
    write("matrix.csv", &matrix.to_csv())?;
    write("matrix.json", &format!("{json}\n"))?;
    // The manifest lists the matrix files too, with their versions.
    let mut m = reports::sweep::store::Manifest::read(dir).map_err(io)?;
    for f in [
        FileInfo::new("matrix.csv", MATRIX_CSV),
        FileInfo::new("matrix.json", MATRIX),
    ] {
        if !m.files.contains(&f) {
            m.files.push(f);
        }
    }
    m.write(dir).map_err(io)?;
    Ok(json)
}

/// Where a comparison's files go when it only prints: a directory of its
/// own under the system's temporary directory, removed when dropped, so
/// a command that prints to stdout leaves nothing behind.
struct Scratch(std::path::PathBuf);

impl Scratch {
    /// A new directory of this process's own under the system's temp
    /// directory: made with `create_dir`, which fails on a name that is
    /// already there, so a directory (or link) someone else put at the
    /// name is never used.
    fn new() -> std::io::Result<Scratch> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        let mut n = 0u32;
        loop {
            let dir = base.join(format!("fleetsim-compare-{pid}-{n}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `a` with `--out` in a scratch directory when the comparison only
/// prints (a format other than the table, no `--out`, no `--resume`, and
/// not a shard, whose results must stay for `merge`).
fn scratch_out(a: &CompareArgs) -> Result<(CompareArgs, Option<Scratch>), Failure> {
    let e = &a.exec;
    let prints_only = e.out.is_none()
        && !e.resume
        && e.shard.is_none()
        && !e.shard_from_env
        && a.format != MatrixFormat::Table;
    if !prints_only {
        return Ok((a.clone(), None));
    }
    let scratch = Scratch::new().map_err(|e| Failure::Io(e.into()))?;
    let mut a = a.clone();
    a.exec.out = Some(scratch.0.join("out"));
    Ok((a, Some(scratch)))
}

/// The weights, margin and baseline, checked before any run.
fn settings_of(a: &CompareArgs) -> Result<Settings, Failure> {
    let baseline = a.baseline.clone();
    if let Some(b) = &baseline {
        let names: Vec<String> = if a.variants.is_empty() {
            a.strategies.clone()
        } else {
            (a.variants.iter())
                .filter(|f| f.file_stem().is_some())
                .map(|f| stem(f, ""))
                .collect()
        };
        if !names.contains(b) {
            return Err(input(format!(
                "--baseline `{b}` is not one of the options compared; they are {}",
                names.join(", ")
            )));
        }
    }
    Ok(Settings {
        weights: parse_weights(a.weights.as_deref()).map_err(input)?,
        margin: parse_margin(a.margin).map_err(input)?,
        baseline,
    })
}

/// `fleetsim compare`.
pub(crate) fn compare(a: CompareArgs) -> Result<ExitCode, Failure> {
    let settings = settings_of(&a)?;
    let (a, _scratch) = scratch_out(&a)?;
    if !a.scenarios.is_empty() {
        return compare_robust(&a, &settings);
    }
    let spec = spec_of(&a)?;
    let f = run_sweep(&a.exec, spec, "this comparison")?;
    let matrix = Matrix::build(&f.manifest, &f.records, &settings).map_err(input)?;
    if let Some(e) = matrix.unscored(a.weights.as_deref()) {
        return Err(input(e));
    }
    let json = write_matrix(&f.dir, &matrix)?;
    let mut out = Stdout::default();
    match a.format {
        MatrixFormat::Table => {
            out.emit(&matrix.to_table())?;
            out.emit(&format!(
                "\nwrote {}: matrix.md, matrix.csv, matrix.json, results.csv, results.parquet, points.csv; `fleetsim report {}` draws the charts\n",
                f.dir.display(),
                f.dir.display()
            ))?;
        }
        MatrixFormat::Markdown => out.emit(&matrix.to_markdown())?,
        MatrixFormat::Csv => out.emit(&matrix.to_csv())?,
        MatrixFormat::Json => out.emit(&format!("{json}\n"))?,
    }
    Ok(ExitCode::SUCCESS)
}

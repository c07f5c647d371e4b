//! `fleetsim sweep` and `fleetsim merge`: many runs into one output
//! directory, safe to interrupt, resumable, and splittable into shares.

use crate::args::{ExecArgs, MergeArgs, SweepArgs};
use crate::confirm::{confirm, Work, NARROW_SWEEP};
use crate::failure::Failure;
use crate::output::Stdout;
use crate::progress;
use anyhow::anyhow;
use reports::study::{self, Finished, Options, Study};
use reports::sweep::axis::Axis;
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use reports::sweep::store::Shard;
use std::path::PathBuf;
use std::process::ExitCode;

fn input(e: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow!("{e}"))
}

/// The sweep the arguments describe.
pub(crate) fn spec_of(a: &SweepArgs) -> Result<SweepSpec, Failure> {
    if a.axis.is_empty() {
        if !a.zip.is_empty() {
            return Err(input("--zip needs --axis (a sweep file says `zip` itself)"));
        }
        let v = sim_core::json_file(&a.sweep)?;
        if v.get("axes").is_none() && v.get("deployment").is_some() {
            return Err(input(format!(
                "{} is a scenario, not a sweep file: give axes with --axis PATH=VALUES (e.g. --axis deployment.loadBalancing.strategy=round-robin,least-connections), or write a sweep file",
                sim_core::shown_path(&a.sweep)
            )));
        }
        let mut spec = SweepSpec::from_file(&a.sweep)?;
        if a.exec.seeds.is_some() {
            spec.seeds = a.exec.seeds;
        }
        if a.exec.seed.is_some() {
            spec.seed = a.exec.seed;
        }
        return Ok(spec);
    }
    let axes = a
        .axis
        .iter()
        .map(|s| Axis::parse_arg(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(input)?;
    let zip: Vec<Vec<String>> = a
        .zip
        .iter()
        .map(|z| z.split(',').map(|s| s.trim().to_string()).collect())
        .collect();
    SweepSpec::from_args(&a.sweep, axes, &zip, a.exec.seeds, a.exec.seed).map_err(input)
}

/// The share to run: `--shard K/N`, or from the job array's environment.
fn shard_of(a: &ExecArgs) -> Result<Option<Shard>, Failure> {
    if let Some(s) = &a.shard {
        return Shard::parse(s).map(Some).map_err(input);
    }
    if !a.shard_from_env {
        return Ok(None);
    }
    let var = |k: &str| std::env::var(k).ok();
    let num = |k: &str, v: String| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| input(format!("--shard-from-env: {k}={v} is not a whole number")))
    };
    if let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) {
        let id = num("SLURM_ARRAY_TASK_ID", id)?;
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(m) => num("SLURM_ARRAY_TASK_MIN", m)?,
            None => 0,
        };
        let count = num("SLURM_ARRAY_TASK_COUNT", count)?;
        let k = id.checked_sub(min).map(|k| k + 1);
        return match k {
            Some(k) if k <= count => Ok(Some(Shard { index: k, count })),
            _ => Err(input(format!(
                "--shard-from-env: SLURM_ARRAY_TASK_ID {id} is outside the array ({count} tasks from {min}); give --array=0-{} or 1-{count}",
                count.saturating_sub(1)
            ))),
        };
    }
    if let Some(idx) = var("JOB_COMPLETION_INDEX") {
        let k = num("JOB_COMPLETION_INDEX", idx)?;
        let count = var("FLEETSIM_SHARDS").ok_or_else(|| {
            input("--shard-from-env: JOB_COMPLETION_INDEX is set but FLEETSIM_SHARDS is not; set it to the Job's completions (see deploy/kubernetes/sweep-job.yaml)")
        })?;
        let count = num("FLEETSIM_SHARDS", count)?;
        if k >= count {
            return Err(input(format!(
                "--shard-from-env: JOB_COMPLETION_INDEX {k} is not below FLEETSIM_SHARDS {count}"
            )));
        }
        return Ok(Some(Shard {
            index: k + 1,
            count,
        }));
    }
    Err(input(
        "--shard-from-env: neither SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set",
    ))
}

/// `--out`, or a new directory named after the sweep.
fn out_dir(a: &ExecArgs, name: &str, shard: Option<Shard>) -> PathBuf {
    if let Some(d) = &a.out {
        return d.clone();
    }
    // A name from a scenario's `name` may hold anything: only its plain
    // form names a directory here (a sweep file's own name is checked).
    let name: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '-',
            c if c.is_control() => '-',
            c => c,
        })
        .collect();
    let name = name.trim_start_matches('.');
    let name = if name.trim().is_empty() {
        "sweep"
    } else {
        name
    };
    let base = match shard {
        Some(s) => format!("{name}.shard-{}-of-{}", s.index, s.count),
        None => name.to_string(),
    };
    if a.resume {
        return PathBuf::from(base);
    }
    let mut dir = PathBuf::from(&base);
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    dir
}

fn command_line(dir: &std::path::Path) -> String {
    let args: Vec<String> = std::env::args().collect();
    reports::contract::command_line(&args, dir)
}

/// Threads to run on: `--jobs`, or every core.
pub(crate) fn jobs(requested: Option<u64>) -> usize {
    reports::study::jobs(requested)
}

/// Runs (or resumes) the sweep `a` describes into its directory; `what`
/// names it if it is big enough to ask first (`this sweep`).
pub(crate) fn run_sweep(a: &ExecArgs, spec: SweepSpec, what: &str) -> Result<Finished, Failure> {
    let shard = shard_of(a)?;
    let sweep = Sweep::prepare(spec)?;
    let mut work = Work::of_models(&sweep.models, sweep.seeds);
    if let Some(s) = shard {
        work = work.share(s.count);
    }
    confirm(&work, what, a.yes, NARROW_SWEEP)?;
    let dir = out_dir(a, &sweep.spec.name, shard);
    let command = command_line(&dir);
    let study = Study::open(
        &sweep,
        Options {
            dir,
            resume: a.resume,
            shard,
            jobs: jobs(a.jobs),
            command,
        },
    )?;
    let (total, kept) = study.progress();
    let mut bar = progress::Counter::new("sweep", total, kept, a.quiet);
    let finished = study.run(progress::interruptible(), progress::now(), || bar.inc());
    bar.finish();
    Ok(finished?)
}

/// `fleetsim sweep`.
pub(crate) fn sweep(a: SweepArgs) -> Result<ExitCode, Failure> {
    let spec = spec_of(&a)?;
    let f = run_sweep(&a.exec, spec, "this sweep")?;
    let mut out = Stdout::default();
    let m = &f.manifest;
    out.emit(&format!(
        "{}: {} runs ({} points x {} seeds{}) in {:.1} s, {:.1} runs/s on {} thread(s)\n",
        m.name,
        m.completed_runs,
        m.points,
        m.seeds,
        m.shard.map_or(String::new(), |s| format!(
            ", share {}/{}",
            s.index, s.count
        )),
        m.wall_seconds,
        m.runs_per_second,
        m.jobs
    ))?;
    if m.shard.is_some() {
        out.emit(&format!(
            "wrote {} (runs.jsonl, manifest.json); join the shares with `fleetsim merge SHARE_DIR... --out DIR`\n",
            f.dir.display()
        ))?;
    } else {
        out.emit(&reports::points_table(m, &f.points))?;
        out.emit(&format!(
            "wrote {}: results.csv, results.parquet, points.csv, runs.jsonl, manifest.json; `fleetsim report {}` draws the charts\n",
            f.dir.display(),
            f.dir.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `fleetsim merge`.
pub(crate) fn merge(a: MergeArgs) -> Result<ExitCode, Failure> {
    let f = study::merge(&a.shares, &a.out)?;
    let mut out = Stdout::default();
    out.emit(&format!(
        "merged {} shares: {} runs into {}\n",
        a.shares.len(),
        f.manifest.completed_runs,
        f.dir.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

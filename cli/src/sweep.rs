//! `fleetsim sweep` and `fleetsim merge`: many runs into one output
//! directory, safe to interrupt, resumable, and splittable into shares.

use crate::args::{ExecArgs, MergeArgs, SweepArgs};
use crate::failure::Failure;
use crate::output::{OutDir, Stdout};
use crate::progress;
use anyhow::anyhow;
use reports::sweep::assemble;
use reports::sweep::axis::Axis;
use reports::sweep::exec::{execute, Stopped};
use reports::sweep::plan::Sweep;
use reports::sweep::record::RunRecord;
use reports::sweep::spec::SweepSpec;
use reports::sweep::store::{self, Journal, Manifest, Shard};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Sweeps of at most this many points keep each run's time series (for
/// the instances and queue charts).
const SERIES_POINTS: usize = 64;

fn input(e: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow!("{e}"))
}

fn io(e: std::io::Error) -> Failure {
    Failure::Io(e.into())
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
                a.sweep.display()
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

fn command_line() -> String {
    std::env::args()
        .enumerate()
        // The program as users type it, wherever this binary lives.
        .map(|(i, a)| if i == 0 { "fleetsim".to_string() } else { a })
        .map(|a| {
            if a.is_empty()
                || a.contains(|c: char| c.is_whitespace() || "\"'$`\\*?[]{}|&;<>()#!".contains(c))
            {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Threads to run on: `--jobs`, or every core.
pub(crate) fn jobs(requested: Option<u64>) -> usize {
    requested
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// What a finished sweep left.
pub(crate) struct Finished {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) records: Vec<RunRecord>,
    pub(crate) points: Vec<assemble::PointSummary>,
}

/// Runs (or resumes) the sweep `a` describes into its directory.
pub(crate) fn run_sweep(a: &ExecArgs, spec: SweepSpec) -> Result<Finished, Failure> {
    let shard = shard_of(a)?;
    let sweep = Sweep::prepare(spec)?;
    let dir_path = out_dir(a, &sweep.spec.name, shard);
    let jobs = jobs(a.jobs);
    let open_journal = |dir: &Path| {
        Journal::open(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => input(e),
            _ => io(e),
        })
    };
    let (dir, mut manifest, done, mut journal) = if a.resume {
        let m = Manifest::read(&dir_path).map_err(|e| {
            input(format!(
                "--resume: {e}; --resume finishes a sweep started in that directory (give its --out)"
            ))
        })?;
        if m.fleetsim != sim_core::VERSION {
            return Err(input(format!(
                "--resume: {} was started by fleetsim {}, this is {}; runs of two builds would \
                 mix in one table: give another --out",
                dir_path.display(),
                m.fleetsim,
                sim_core::VERSION
            )));
        }
        if m.sweep_hash != sweep.sweep_hash {
            return Err(input(format!(
                "--resume: {} holds a different sweep ({}, sweep {}); this one is sweep {} (the scenario, axes or seeds differ)",
                dir_path.display(),
                m.name,
                m.sweep_hash,
                sweep.sweep_hash
            )));
        }
        if m.shard != shard {
            return Err(input(format!(
                "--resume: {} holds {}, not {}",
                dir_path.display(),
                share_words(m.shard),
                share_words(shard)
            )));
        }
        let dir = OutDir::prepare(&dir_path)?;
        // Locked before reading, so a second process cannot race this one.
        let journal = open_journal(dir.path())?;
        // Temporary files of a write that a kill cut short: never results.
        for entry in std::fs::read_dir(dir.path()).map_err(io)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        // A journal no run of this sweep wrote (garbled, mixed) is bad
        // input, named; only a failure to read it is an I/O failure.
        let done = store::read_journal(&dir_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                input(format!(
                    "--resume: {e}; the journal is damaged: start the sweep again in another --out"
                ))
            } else {
                io(e)
            }
        })?;
        (dir, m, done, journal)
    } else {
        if dir_path.join(store::MANIFEST).exists() {
            return Err(input(format!(
                "--out {}: already holds a sweep; add --resume to finish it, or give another --out",
                dir_path.display()
            )));
        }
        let dir = OutDir::prepare(&dir_path)?;
        // A journal without a manifest is a leftover of nothing resumable.
        match std::fs::remove_file(dir.path().join(store::JOURNAL)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let journal = open_journal(dir.path())?;
        let m = Manifest::new(&sweep, shard, command_line(), jobs);
        m.write(dir.path()).map_err(io)?;
        (dir, m, Vec::new(), journal)
    };
    let mut have = vec![false; sweep.runs() as usize];
    for r in &done {
        if let Some(h) = have.get_mut(r.run as usize) {
            *h = true;
        }
    }
    let todo: Vec<u64> = (0..sweep.runs())
        .filter(|&r| shard.is_none_or(|s| s.owns(r)) && !have[r as usize])
        .collect();
    let total = manifest.runs_here();
    let keep_series = sweep.models.len() <= SERIES_POINTS;
    let control = progress::interruptible();
    let started = progress::now();
    let mut bar = progress::Counter::new("sweep", total, done.len() as u64, a.quiet);
    let outcome = execute(&sweep, &todo, jobs, keep_series, control, |rec| {
        journal.append(&rec)?;
        bar.inc();
        Ok(())
    });
    bar.finish();
    let elapsed = started.elapsed().as_secs_f64();
    manifest.wall_seconds += elapsed;
    manifest.jobs = jobs;
    let records = store::read_journal(dir.path()).map_err(io)?;
    manifest.completed_runs = records.len() as u64;
    manifest.runs_per_second = if manifest.wall_seconds > 0.0 {
        manifest.completed_runs as f64 / manifest.wall_seconds
    } else {
        0.0
    };
    match outcome {
        Ok(()) => {}
        Err(stop) => {
            manifest.write(dir.path()).map_err(io)?;
            return Err(match stop {
                Stopped::Sim(sim_core::SimError::Cancelled) => Failure::Kept(format!(
                    "interrupted: {} of {total} runs are kept in {}; add --resume (same arguments) to finish the rest",
                    records.len(),
                    dir.path().display()
                )),
                Stopped::Sim(e) => e.into(),
                Stopped::Handler(e) => io(e),
            });
        }
    }
    let finished = finish(dir.path(), manifest, records);
    drop(journal);
    finished
}

fn share_words(s: Option<Shard>) -> String {
    match s {
        None => "the whole sweep".into(),
        Some(s) => format!("share {}/{}", s.index, s.count),
    }
}

/// Completes a directory whose runs are all in: the journal in run order,
/// the tables (for a whole sweep), the manifest marked complete.
fn finish(
    dir: &Path,
    mut manifest: Manifest,
    records: Vec<RunRecord>,
) -> Result<Finished, Failure> {
    assemble::check_complete(&manifest, &records)
        .map_err(|e| Failure::Io(anyhow!("{}: {e}", dir.display())))?;
    store::write_sorted_journal(dir, &records).map_err(io)?;
    let points = if manifest.shard.is_none() {
        assemble::write_tables(dir, &manifest, &records).map_err(io)?
    } else {
        Vec::new()
    };
    manifest.status = "complete".into();
    manifest.completed_runs = records.len() as u64;
    manifest.write(dir).map_err(io)?;
    Ok(Finished {
        dir: dir.to_path_buf(),
        manifest,
        records,
        points,
    })
}

/// `fleetsim sweep`.
pub(crate) fn sweep(a: SweepArgs) -> Result<ExitCode, Failure> {
    let spec = spec_of(&a)?;
    let f = run_sweep(&a.exec, spec)?;
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
    let mut manifests = Vec::new();
    for d in &a.shares {
        let m = Manifest::read(d).map_err(input)?;
        if m.status != "complete" {
            return Err(input(format!(
                "{}: this share is not finished ({} of {} runs); finish it with `fleetsim sweep ... --resume` first",
                d.display(),
                m.completed_runs,
                m.runs_here()
            )));
        }
        manifests.push(m);
    }
    let first = &manifests[0];
    for (m, d) in manifests.iter().zip(&a.shares).skip(1) {
        if m.sweep_hash != first.sweep_hash {
            return Err(input(format!(
                "{} is a share of sweep {} ({}), {} of sweep {} ({}): only shares of one sweep merge",
                d.display(),
                m.sweep_hash,
                m.name,
                a.shares[0].display(),
                first.sweep_hash,
                first.name
            )));
        }
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![false; count as usize];
    for (m, d) in manifests.iter().zip(&a.shares) {
        let s = m.shard.ok_or_else(|| {
            input(format!(
                "{} holds a whole sweep, not a share; there is nothing to merge",
                d.display()
            ))
        })?;
        if s.count != count {
            return Err(input(format!(
                "{} is share {}/{}, but {} is one of {count}",
                d.display(),
                s.index,
                s.count,
                a.shares[0].display()
            )));
        }
        if std::mem::replace(&mut seen[s.index as usize - 1], true) {
            return Err(input(format!("share {}/{count} is given twice", s.index)));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(input(format!(
            "share {}/{count} is missing; merge needs every share of the sweep",
            k + 1
        )));
    }
    if a.out.join(store::MANIFEST).exists() {
        return Err(input(format!(
            "--out {}: already holds a sweep; give a new directory",
            a.out.display()
        )));
    }
    if std::fs::read_dir(&a.out).is_ok_and(|mut e| e.next().is_some()) {
        return Err(input(format!(
            "--out {}: not empty and not a sweep; give a new or empty directory",
            a.out.display()
        )));
    }
    // Each share's journal read and checked before anything is written:
    // a damaged one is bad input, named.
    let mut records = Vec::new();
    let mut from = Vec::new();
    for (k, (d, m)) in a.shares.iter().zip(&manifests).enumerate() {
        let damaged = |why: String| {
            let s = m.shard.expect("checked above");
            input(format!(
                "{}: a damaged share ({why}); run share {}/{} again",
                d.display(),
                s.index,
                s.count
            ))
        };
        let mine = store::read_journal(d).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                damaged(e.to_string())
            } else {
                io(e)
            }
        })?;
        if mine.len() as u64 != m.completed_runs {
            return Err(damaged(format!(
                "its journal holds {} runs, its manifest says {}",
                mine.len(),
                m.completed_runs
            )));
        }
        from.extend(std::iter::repeat_n(k, mine.len()));
        records.extend(mine);
    }
    // Shares are disjoint: a run in two of them is a damaged share.
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].run);
    if let Some(w) = order
        .windows(2)
        .find(|w| records[w[0]].run == records[w[1]].run)
    {
        return Err(input(format!(
            "run {} is in both {} and {}: one of them is a damaged share; run it again",
            records[w[0]].run,
            a.shares[from[w[0]]].display(),
            a.shares[from[w[1]]].display()
        )));
    }
    let dir = OutDir::prepare(&a.out)?;
    records.sort_by_key(|r| r.run);
    let mut manifest = first.clone();
    manifest.shard = None;
    manifest.wall_seconds = manifests.iter().map(|m| m.wall_seconds).sum();
    manifest.jobs = manifests.iter().map(|m| m.jobs).sum();
    manifest.runs_per_second = if manifest.wall_seconds > 0.0 {
        records.len() as f64 / manifest.wall_seconds
    } else {
        0.0
    };
    manifest.command = format!("fleetsim merge ({} shares)", manifests.len());
    let f = finish(dir.path(), manifest, records)?;
    let mut out = Stdout::default();
    out.emit(&format!(
        "merged {} shares: {} runs into {}\n",
        manifests.len(),
        f.manifest.completed_runs,
        f.dir.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

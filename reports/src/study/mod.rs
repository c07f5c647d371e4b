//! A study: a sweep's runs in one directory, from opening to the finished
//! tables, and the one executor every multi-run command uses.
//!
//! [`Study::open`] starts a sweep in a new directory or picks up one that
//! was interrupted (`--resume`), [`Study::run`] runs what is missing on a
//! [`Pool`] and journals each run as it ends, and the study finishes by
//! writing the tables; [`merge`] finishes a sweep run in shares. `fleetsim
//! sweep` and `fleetsim compare` are front ends on it; `gate` and `plan`
//! run their seeds through the same [`pool`].
//!
//! A directory is safe to interrupt at any moment: the manifest is written
//! before the first run, the journal gains one whole line per run (a torn
//! last line is dropped on resume), and tables are written atomically
//! once every run is in.

pub mod pool;

use crate::error::{Error, Result};
use crate::sweep::assemble::{self, PointSummary};
use crate::sweep::plan::Sweep;
use crate::sweep::record::RunRecord;
use crate::sweep::store::{self, Journal, Manifest, Shard};
pub use pool::{jobs, Pool};
use sim_core::{Engine, RunControl, SimError};
use std::io;
use std::path::{Path, PathBuf};

/// Sweeps of at most this many points keep each run's time series (for
/// the instances and queue charts).
pub const SERIES_POINTS: usize = 64;

/// How a study is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory it writes.
    pub dir: PathBuf,
    /// Finish the sweep already started in `dir`.
    pub resume: bool,
    /// The share of the runs to make, or all of them.
    pub shard: Option<Shard>,
    /// Threads to run on.
    pub jobs: usize,
    /// The command line, as the manifest records it.
    pub command: String,
}

/// A sweep's directory, open for runs.
pub struct Study<'s> {
    sweep: &'s Sweep,
    dir: PathBuf,
    manifest: Manifest,
    journal: Journal,
    /// Runs already in the journal when the study was opened.
    done: Vec<bool>,
    kept: u64,
    pool: Pool,
}

/// What a finished study left.
pub struct Finished {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest, marked complete.
    pub manifest: Manifest,
    /// Every run, in run order.
    pub records: Vec<RunRecord>,
    /// Per point, for a whole sweep (empty for a share).
    pub points: Vec<PointSummary>,
}

/// Creates `dir` if needed and proves that files can be written in it, so
/// a bad output directory is found before any run.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(format!(
            "--out {}: exists and is not a directory; give a directory to write results into",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::input(format!(
            "--out {}: cannot create the directory: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".fleetsim-probe.{}.tmp", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        Error::input(format!(
            "--out {}: cannot write into the directory: {e}",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The journal of `dir`, locked for this process: another process that
/// holds it is bad input (two sweeps in one directory).
fn lock_journal(dir: &Path) -> Result<Journal> {
    Journal::open(dir).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => Error::input(e),
        _ => Error::Io(e),
    })
}

fn share_words(s: Option<Shard>) -> String {
    match s {
        None => "the whole sweep".into(),
        Some(s) => format!("share {}/{}", s.index, s.count),
    }
}

impl<'s> Study<'s> {
    /// Opens `sweep` in `opts.dir`: a new directory (its manifest written
    /// at once), or with `opts.resume` the directory of the same sweep
    /// started before, whose journaled runs are kept.
    pub fn open(sweep: &'s Sweep, opts: Options) -> Result<Study<'s>> {
        let pool = Pool::new(opts.jobs, "sweep")?;
        let (manifest, journal, kept) = if opts.resume {
            Study::reopen(sweep, &opts)?
        } else {
            Study::create(sweep, &opts)?
        };
        let mut done = vec![false; sweep.runs() as usize];
        for r in &kept {
            if let Some(h) = done.get_mut(r.run as usize) {
                *h = true;
            }
        }
        Ok(Study {
            sweep,
            dir: opts.dir,
            manifest,
            journal,
            done,
            kept: kept.len() as u64,
            pool,
        })
    }

    fn create(sweep: &Sweep, opts: &Options) -> Result<(Manifest, Journal, Vec<RunRecord>)> {
        let dir = &opts.dir;
        if dir.join(store::MANIFEST).exists() {
            return Err(Error::input(format!(
                "--out {}: already holds a sweep; add --resume to finish it, or give another --out",
                dir.display()
            )));
        }
        prepare_dir(dir)?;
        // A journal without a manifest is a leftover of nothing resumable.
        match std::fs::remove_file(dir.join(store::JOURNAL)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(e)),
        }
        let journal = lock_journal(dir)?;
        let m = Manifest::new(sweep, dir, opts.shard, opts.command.clone(), opts.jobs);
        m.write(dir)?;
        Ok((m, journal, Vec::new()))
    }

    fn reopen(sweep: &Sweep, opts: &Options) -> Result<(Manifest, Journal, Vec<RunRecord>)> {
        let dir = &opts.dir;
        let m = Manifest::read(dir).map_err(|e| {
            Error::input(format!(
                "--resume: {e}; --resume finishes a sweep started in that directory (give its --out)"
            ))
        })?;
        if m.fleetsim_version != sim_core::VERSION {
            return Err(Error::input(format!(
                "--resume: {} was started by fleetsim {}, this is {}; runs of two builds would \
                 mix in one table: give another --out",
                dir.display(),
                m.fleetsim_version,
                sim_core::VERSION
            )));
        }
        if m.sweep_hash != sweep.sweep_hash {
            return Err(Error::input(format!(
                "--resume: {} holds a different sweep ({}, sweep {}); this one is sweep {} (the scenario, axes or seeds differ)",
                dir.display(),
                m.name,
                m.sweep_hash,
                sweep.sweep_hash
            )));
        }
        if m.shard != opts.shard {
            return Err(Error::input(format!(
                "--resume: {} holds {}, not {}",
                dir.display(),
                share_words(m.shard),
                share_words(opts.shard)
            )));
        }
        prepare_dir(dir)?;
        // Locked before reading, so a second process cannot race this one.
        let journal = lock_journal(dir)?;
        // Temporary files of a write that a kill cut short: never results.
        for entry in std::fs::read_dir(dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        // A journal no run of this sweep wrote (garbled, mixed) is bad
        // input, named; only a failure to read it is an I/O failure.
        let kept = store::read_journal(dir).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Error::input(format!(
                    "--resume: {e}; the journal is damaged: start the sweep again in another --out"
                ))
            } else {
                Error::Io(e)
            }
        })?;
        Ok((m, journal, kept))
    }

    /// Its manifest (as it stands).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs this directory holds when complete, and how many it kept from
    /// before.
    pub fn progress(&self) -> (u64, u64) {
        (self.manifest.runs_here(), self.kept)
    }

    /// Runs what is missing, journaling each run as it ends and calling
    /// `ran` after it; then finishes the directory. Stops when `control`
    /// is cancelled ([`Error::Kept`], saying how to resume) or a run fails;
    /// the manifest then records the time spent since `started` (the
    /// caller's clock) and the runs kept.
    pub fn run(
        mut self,
        control: &RunControl,
        started: std::time::Instant,
        mut ran: impl FnMut(),
    ) -> Result<Finished> {
        let shard = self.manifest.shard;
        let todo: Vec<u64> = (0..self.sweep.runs())
            .filter(|&r| shard.is_none_or(|s| s.owns(r)) && !self.done[r as usize])
            .collect();
        let keep_series = self.sweep.models.len() <= SERIES_POINTS;
        let sweep = self.sweep;
        let journal = &mut self.journal;
        let outcome = pool::stream(
            &self.pool,
            &todo,
            control,
            |r| {
                let (p, seed) = sweep.locate(r);
                let model = &sweep.models[p];
                Engine::new(model, seed).run_with(control).map(|rr| {
                    let mut rec = RunRecord::of(r, p, seed, &rr, keep_series);
                    rec.findings = sim_core::findings(model, std::slice::from_ref(&rr));
                    rec
                })
            },
            |rec| {
                journal.append(&rec)?;
                ran();
                Ok(())
            },
        );
        let m = &mut self.manifest;
        m.wall_seconds += started.elapsed().as_secs_f64();
        m.jobs = self.pool.jobs();
        let records = store::read_journal(&self.dir)?;
        m.completed_runs = records.len() as u64;
        m.runs_per_second = if m.wall_seconds > 0.0 {
            m.completed_runs as f64 / m.wall_seconds
        } else {
            0.0
        };
        if let Err(stop) = outcome {
            m.write(&self.dir)?;
            return Err(match stop {
                Error::Sim(SimError::Cancelled) => Error::Kept(format!(
                    "interrupted: {} of {} runs are kept in {}; add --resume (same arguments) to finish the rest",
                    records.len(),
                    m.runs_here(),
                    self.dir.display()
                )),
                e => e,
            });
        }
        let finished = finish(&self.dir, self.manifest, records);
        drop(self.journal);
        finished
    }
}

/// Completes a directory whose runs are all in: the journal in run order,
/// the tables (for a whole sweep), the manifest marked complete.
fn finish(dir: &Path, mut manifest: Manifest, records: Vec<RunRecord>) -> Result<Finished> {
    assemble::check_complete(&manifest, &records)
        .map_err(|e| Error::Io(io::Error::other(format!("{}: {e}", dir.display()))))?;
    store::write_sorted_journal(dir, &records)?;
    let points = if manifest.shard.is_none() {
        assemble::write_tables(dir, &manifest, &records)?
    } else {
        Vec::new()
    };
    manifest.status = "complete".into();
    manifest.completed_runs = records.len() as u64;
    manifest.files = if manifest.shard.is_none() {
        crate::contract::sweep_files()
    } else {
        vec![crate::contract::FileInfo::new(
            store::JOURNAL,
            crate::contract::RUNS,
        )]
    };
    manifest.write(dir)?;
    Ok(Finished {
        dir: dir.to_path_buf(),
        manifest,
        records,
        points,
    })
}

/// Reads each of `shares`' manifests, checks that together they are every
/// share of one finished sweep, once each.
fn check_shares(shares: &[PathBuf]) -> Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for d in shares {
        let m = Manifest::read(d).map_err(Error::input)?;
        if m.status != "complete" {
            return Err(Error::input(format!(
                "{}: this share is not finished ({} of {} runs); finish it with `fleetsim sweep ... --resume` first",
                d.display(),
                m.completed_runs,
                m.runs_here()
            )));
        }
        manifests.push(m);
    }
    let first = &manifests[0];
    for (m, d) in manifests.iter().zip(shares).skip(1) {
        if m.sweep_hash != first.sweep_hash {
            return Err(Error::input(format!(
                "{} is a share of sweep {} ({}), {} of sweep {} ({}): only shares of one sweep merge",
                d.display(),
                m.sweep_hash,
                m.name,
                shares[0].display(),
                first.sweep_hash,
                first.name
            )));
        }
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![false; count as usize];
    for (m, d) in manifests.iter().zip(shares) {
        let s = m.shard.ok_or_else(|| {
            Error::input(format!(
                "{} holds a whole sweep, not a share; there is nothing to merge",
                d.display()
            ))
        })?;
        if s.count != count {
            return Err(Error::input(format!(
                "{} is share {}/{}, but {} is one of {count}",
                d.display(),
                s.index,
                s.count,
                shares[0].display()
            )));
        }
        if std::mem::replace(&mut seen[s.index as usize - 1], true) {
            return Err(Error::input(format!(
                "share {}/{count} is given twice",
                s.index
            )));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(Error::input(format!(
            "share {}/{count} is missing; merge needs every share of the sweep",
            k + 1
        )));
    }
    Ok(manifests)
}

/// Every share's journal, read and checked before anything is written: a
/// damaged one is bad input, named. Returns the runs in run order.
fn read_shares(shares: &[PathBuf], manifests: &[Manifest]) -> Result<Vec<RunRecord>> {
    let mut records = Vec::new();
    let mut from = Vec::new();
    for (k, (d, m)) in shares.iter().zip(manifests).enumerate() {
        let damaged = |why: String| {
            let s = m.shard.expect("checked before");
            Error::input(format!(
                "{}: a damaged share ({why}); run share {}/{} again",
                d.display(),
                s.index,
                s.count
            ))
        };
        let mine = store::read_journal(d).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                damaged(e.to_string())
            } else {
                Error::Io(e)
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
        return Err(Error::input(format!(
            "run {} is in both {} and {}: one of them is a damaged share; run it again",
            records[w[0]].run,
            shares[from[w[0]]].display(),
            shares[from[w[1]]].display()
        )));
    }
    records.sort_by_key(|r| r.run);
    Ok(records)
}

/// Joins the finished `shares` of one sweep into `out`, a new or empty
/// directory, as if the sweep had run there whole.
pub fn merge(shares: &[PathBuf], out: &Path) -> Result<Finished> {
    if shares.is_empty() {
        return Err(Error::input("merge needs the directories of the shares"));
    }
    let manifests = check_shares(shares)?;
    if out.join(store::MANIFEST).exists() {
        return Err(Error::input(format!(
            "--out {}: already holds a sweep; give a new directory",
            out.display()
        )));
    }
    if std::fs::read_dir(out).is_ok_and(|mut e| e.next().is_some()) {
        return Err(Error::input(format!(
            "--out {}: not empty and not a sweep; give a new or empty directory",
            out.display()
        )));
    }
    let records = read_shares(shares, &manifests)?;
    prepare_dir(out)?;
    let mut manifest = manifests[0].clone();
    manifest.shard = None;
    manifest.wall_seconds = manifests.iter().map(|m| m.wall_seconds).sum();
    manifest.jobs = manifests.iter().map(|m| m.jobs).sum();
    manifest.runs_per_second = if manifest.wall_seconds > 0.0 {
        records.len() as f64 / manifest.wall_seconds
    } else {
        0.0
    };
    manifest.command = format!("fleetsim merge ({} shares)", manifests.len());
    finish(out, manifest, records)
}

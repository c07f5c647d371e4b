//! A sweep's output directory: `manifest.json` (what the sweep is and how
//! far it got) and `runs.jsonl` (one line per finished run, appended as
//! runs finish), from which every table is assembled.
//!
//! The journal is what makes a sweep safe to kill: a run is on disk once
//! its line is, a line cut short by `kill -9` is dropped on `--resume`,
//! and the tables are written only when every run is there, each
//! atomically. After the last run the journal is rewritten in run order,
//! so a sweep's directory is the same however it was run.

use super::plan::Sweep;
use super::record::RunRecord;
use crate::error::Error;
use crate::files::write_atomic;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

/// The journal's file name.
pub const JOURNAL: &str = "runs.jsonl";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// One axis, as the manifest keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisInfo {
    /// JSON path.
    pub path: String,
    /// Values in order.
    pub values: Vec<Value>,
    /// Names of the values, when they are whole scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
}

impl AxisInfo {
    /// The value at `i` as a table cell.
    pub fn label(&self, i: usize) -> String {
        match &self.names {
            Some(n) => n[i].clone(),
            None => super::axis::label(&self.values[i]),
        }
    }
}

/// Which share of a sweep a directory holds (`--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based share number.
    pub index: u32,
    /// Shares in all.
    pub count: u32,
}

impl Shard {
    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Shard, Error> {
        let bad = || format!("--shard {s}: write K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(Error::Input(bad()));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `r` belongs to this share (runs are dealt round robin,
    /// so every share gets a like mix of points).
    pub fn owns(&self, r: u64) -> bool {
        r % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The manifest's format ([`crate::contract::MANIFEST`]).
    #[serde(default = "manifest_format")]
    pub format_version: u32,
    /// fleetsim version that wrote it.
    #[serde(alias = "fleetsim")]
    pub fleetsim_version: String,
    /// Sweep name.
    pub name: String,
    /// What the sweep asks (the sweep file's `description`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Identity of the sweep (scenario, axes, zip, seeds).
    pub sweep_hash: String,
    /// The base scenario file: relative to this directory when it was
    /// given as an absolute path, else as given.
    pub scenario: String,
    /// Identity of the base scenario's content.
    pub scenario_hash: String,
    /// Currency of every cost figure.
    pub currency: String,
    /// The axes.
    pub axes: Vec<AxisInfo>,
    /// Zipped axis groups (indices into `axes`).
    pub zip: Vec<Vec<usize>>,
    /// Seeds per point.
    pub seeds: u32,
    /// Points in the grid.
    pub points: u64,
    /// Runs in the whole sweep.
    pub runs: u64,
    /// The share this directory holds; `None` for a whole sweep.
    pub shard: Option<Shard>,
    /// The command that made it, to reproduce it (absolute paths in it
    /// are written relative to this directory).
    pub command: String,
    /// `running` or `complete`.
    pub status: String,
    /// Runs on disk.
    pub completed_runs: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Wall-clock seconds spent running (over all resumptions).
    pub wall_seconds: f64,
    /// Runs per wall-clock second.
    pub runs_per_second: f64,
    /// The files the directory holds once the sweep is complete, each with
    /// its format and format version (the carrier of the CSV files'
    /// versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::contract::FileInfo>,
}

fn manifest_format() -> u32 {
    crate::contract::MANIFEST
}

impl Manifest {
    /// A new manifest for `sweep`.
    pub fn new(
        sweep: &Sweep,
        dir: &Path,
        shard: Option<Shard>,
        command: String,
        jobs: usize,
    ) -> Manifest {
        Manifest {
            format_version: crate::contract::MANIFEST,
            fleetsim_version: sim_core::VERSION.to_string(),
            name: sweep.spec.name.clone(),
            description: sweep.spec.description.clone(),
            sweep_hash: sweep.sweep_hash.clone(),
            scenario: crate::contract::relative_to(&sweep.spec.scenario, dir),
            scenario_hash: sweep.scenario_hash.clone(),
            currency: sweep.models[0].run.currency.clone(),
            axes: sweep
                .spec
                .axes
                .iter()
                .map(|a| AxisInfo {
                    path: a.path.as_str().to_string(),
                    values: a.values.clone(),
                    names: a.names.clone(),
                })
                .collect(),
            zip: sweep.spec.zip.clone(),
            seeds: sweep.seeds,
            points: sweep.models.len() as u64,
            runs: sweep.runs(),
            shard,
            command,
            status: "running".into(),
            completed_runs: 0,
            jobs,
            wall_seconds: 0.0,
            runs_per_second: 0.0,
            files: Vec::new(),
        }
    }

    /// Runs this directory is to hold.
    pub fn runs_here(&self) -> u64 {
        match self.shard {
            None => self.runs,
            Some(s) => (0..self.runs).filter(|&r| s.owns(r)).count() as u64,
        }
    }

    /// Reads `dir/manifest.json`, checking that it is consistent (a
    /// hand-edited or damaged manifest is refused, not trusted).
    pub fn read(dir: &Path) -> io::Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let bad = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a fleetsim sweep manifest: {why}", path.display()),
            )
        };
        let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let lens: Vec<usize> = m.axes.iter().map(|a| a.values.len()).collect();
        if m.seeds == 0 || lens.contains(&0) {
            return Err(bad("no seeds, or an axis without values".into()));
        }
        if m.zip.iter().flatten().any(|&a| a >= lens.len()) {
            return Err(bad("`zip` names an axis that is not there".into()));
        }
        if m.axes
            .iter()
            .any(|a| a.names.as_ref().is_some_and(|n| n.len() != a.values.len()))
        {
            return Err(bad(
                "an axis has a different number of names and values".into()
            ));
        }
        if super::spec::grid_points(&lens, &m.zip) != m.points
            || m.points.checked_mul(u64::from(m.seeds)) != Some(m.runs)
        {
            return Err(bad(
                "`points` and `runs` do not match the axes and seeds".into()
            ));
        }
        if let Some(s) = m.shard {
            if s.index == 0 || s.index > s.count {
                return Err(bad(format!("share {}/{} does not exist", s.index, s.count)));
            }
        }
        Ok(m)
    }

    /// Checks that `r` is a record of this sweep: its run, point and seed
    /// agree, and it has every metric and quantile.
    pub fn check_record(&self, r: &RunRecord) -> Result<(), Error> {
        let q = super::record::QUANTILES.len();
        let ok = r.point as u64 * u64::from(self.seeds) + u64::from(r.seed) == r.run
            && (r.point as u64) < self.points
            && r.seed < self.seeds
            && r.metrics.len() == super::record::METRICS.len()
            && (r.quantiles.is_empty() || r.quantiles.len() == q)
            && r.series.as_ref().is_none_or(|s| {
                s.instances.len() == s.time.len() && s.queued.len() == s.time.len()
            });
        if ok {
            Ok(())
        } else {
            Err(Error::Input(format!(
                "run {} (point {}, seed {}) does not belong to this sweep or is damaged",
                r.run, r.point, r.seed
            )))
        }
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        let json = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        write_atomic(dir, MANIFEST, format!("{json}\n").as_bytes())
    }
}

/// Reads the journal's complete lines, in run order. A last line cut
/// short (a process killed while writing it) is dropped and cut off the
/// file, so appending can go on; a run recorded twice identically (two
/// processes that raced) counts once; any other damage is an error.
pub fn read_journal(dir: &Path) -> io::Result<Vec<RunRecord>> {
    let mut out = read_lines(dir)?;
    out.sort_by_key(|r| r.run);
    let mut deduped: Vec<RunRecord> = Vec::with_capacity(out.len());
    for r in out {
        match deduped.last() {
            Some(prev) if prev.run == r.run => {
                if *prev != r {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: run {} is recorded twice with different results; the directory mixes two sweeps",
                            dir.join(JOURNAL).display(),
                            r.run
                        ),
                    ));
                }
            }
            _ => deduped.push(r),
        }
    }
    Ok(deduped)
}

fn read_lines(dir: &Path) -> io::Result<Vec<RunRecord>> {
    let path = dir.join(JOURNAL);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut good_len = 0u64;
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        number += 1;
        let complete = line.ends_with('\n');
        match serde_json::from_str::<RunRecord>(line.trim_end()) {
            Ok(r) if complete => {
                out.push(r);
                good_len += n as u64;
            }
            _ if !complete => {
                // Cut short by a kill: drop it.
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(good_len)?;
                break;
            }
            Ok(_) => unreachable!("a complete line either parses or not"),
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{number}: damaged run record: {e}", path.display()),
                ))
            }
        }
    }
    Ok(out)
}

/// Appends run records to the journal, one line each, flushed at once.
#[derive(Debug)]
pub struct Journal {
    file: File,
}

impl Journal {
    /// Opens `dir/runs.jsonl` for appending, locked so that no second
    /// process writes the same sweep at once (the lock goes with the
    /// process, however it ends).
    pub fn open(dir: &Path) -> io::Result<Journal> {
        let path = dir.join(JOURNAL);
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.try_lock().map_err(|_| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{}: another fleetsim process is running this sweep; wait for it, or stop it and --resume",
                    path.display()
                ),
            )
        })?;
        file.seek(io::SeekFrom::End(0))?;
        Ok(Journal { file })
    }

    /// Appends `r` as one line with a single write, so a kill leaves
    /// either the whole line or a part that [`read_journal`] drops.
    pub fn append(&mut self, r: &RunRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

/// Rewrites the journal with `records` in run order, atomically.
pub fn write_sorted_journal(dir: &Path, records: &[RunRecord]) -> io::Result<()> {
    let mut bytes = Vec::new();
    for r in records {
        serde_json::to_writer(&mut bytes, r).map_err(io::Error::other)?;
        bytes.push(b'\n');
    }
    write_atomic(dir, JOURNAL, &bytes).map(|_| ())
}

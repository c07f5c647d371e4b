//! Arrival traces: CSV files of arrival times (and optionally who sent
//! each request) replayed as the workload, the way teams bring their
//! production traffic. The file is read as a stream, one row ahead of the
//! run, so memory is a read buffer whatever the trace's length.
//!
//! The format: a header row naming the columns, then one row per request.
//! `time` (seconds from the start of the run, in order) is required;
//! `user` (a user id of `workload.users`) and `tenant` (a tenant index)
//! are optional. Blank lines and lines starting with `#` are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use strategies::Nanos;

/// Where each column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceColumns {
    /// `time`.
    pub time: usize,
    /// `user`.
    pub user: Option<usize>,
    /// `tenant`.
    pub tenant: Option<usize>,
}

/// The columns a trace may have.
pub const TRACE_COLUMNS: &str = "time (seconds from the start, required), user, tenant";

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRow {
    /// When it arrives.
    pub at: Nanos,
    /// Who sends it.
    pub user: Option<u32>,
    /// Its tenant.
    pub tenant: Option<u32>,
}

impl TraceRow {
    /// What is wrong with the row's user and tenant for `users.count` and
    /// `users.tenants` (none given: a row may name neither).
    pub fn check_users(&self, users: Option<(u32, u32)>) -> Result<(), String> {
        let Some((count, tenants)) = users else {
            return match (self.user, self.tenant) {
                (None, None) => Ok(()),
                _ => {
                    Err("names users or tenants: give workload.users for them to belong to".into())
                }
            };
        };
        match (self.user, self.tenant) {
            (Some(user), _) if user >= count => Err(format!(
                "user {user} is not one of workload.users.count ({count})"
            )),
            (_, Some(tenant)) if tenant >= tenants => Err(format!(
                "tenant {tenant} is not one of workload.users.tenants ({tenants})"
            )),
            (Some(user), Some(tenant)) if user % tenants != tenant => Err(format!(
                "user {user} belongs to tenant {} (user mod tenants), not {tenant}",
                user % tenants
            )),
            _ => Ok(()),
        }
    }
}

/// A trace read row by row.
pub struct TraceReader {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line: u64,
    columns: TraceColumns,
    last: Nanos,
}

impl TraceReader {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<TraceReader, String> {
        let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut lines = BufReader::new(file).lines();
        let mut line = 0;
        let header = loop {
            line += 1;
            match lines.next() {
                None => return Err(format!("{}: empty; it needs a header row", path.display())),
                Some(Err(e)) => return Err(format!("{} line {line}: {e}", path.display())),
                Some(Ok(l)) if skip(&l) => continue,
                Some(Ok(l)) => break l,
            }
        };
        let (mut time, mut user, mut tenant) = (None, None, None);
        for (k, name) in header.split(',').map(str::trim).enumerate() {
            let slot = match name {
                "time" => &mut time,
                "user" => &mut user,
                "tenant" => &mut tenant,
                other => {
                    return Err(format!(
                        "{} line {line}: unknown column `{other}`; columns are {TRACE_COLUMNS}",
                        path.display()
                    ))
                }
            };
            if slot.replace(k).is_some() {
                return Err(format!(
                    "{} line {line}: column `{name}` twice",
                    path.display()
                ));
            }
        }
        let Some(time) = time else {
            return Err(format!(
                "{} line {line}: no `time` column; columns are {TRACE_COLUMNS}",
                path.display()
            ));
        };
        Ok(TraceReader {
            path: path.to_path_buf(),
            lines,
            line,
            columns: TraceColumns { time, user, tenant },
            last: Nanos::ZERO,
        })
    }

    /// The columns the header names.
    pub fn columns(&self) -> TraceColumns {
        self.columns
    }

    /// The next row, `None` at the end, or what is wrong with it.
    pub fn next_row(&mut self) -> Result<Option<TraceRow>, String> {
        loop {
            self.line += 1;
            let text = match self.lines.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(self.at(&e.to_string())),
                Some(Ok(l)) => l,
            };
            if skip(&text) {
                continue;
            }
            let fields: Vec<&str> = text.split(',').map(str::trim).collect();
            let get = |k: usize| fields.get(k).copied().filter(|f| !f.is_empty());
            let c = self.columns;
            let Some(t) = get(c.time) else {
                return Err(self.at("no time"));
            };
            let secs: f64 = t
                .parse()
                .map_err(|_| self.at(&format!("time `{t}` is not a number of seconds")))?;
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(self.at(&format!("time {t} must be 0 or more")));
            }
            let at = Nanos::from_secs_f64(secs);
            if at < self.last {
                return Err(self.at(&format!(
                    "time {t} is before the row above it; sort the trace by time"
                )));
            }
            self.last = at;
            let id = |k: Option<usize>, what: &str| -> Result<Option<u32>, String> {
                match k.and_then(get) {
                    None => Ok(None),
                    Some(v) => v
                        .parse::<u32>()
                        .map(Some)
                        .map_err(|_| self.at(&format!("{what} `{v}` is not a whole number"))),
                }
            };
            let user = id(c.user, "user")?;
            let tenant = id(c.tenant, "tenant")?;
            return Ok(Some(TraceRow { at, user, tenant }));
        }
    }

    /// The line being read, for errors.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn at(&self, msg: &str) -> String {
        format!("{} line {}: {msg}", self.path.display(), self.line)
    }
}

fn skip(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

//! Arrival traces: CSV files of arrival times (and optionally who sent
//! each request) replayed as the workload, the way teams bring their
//! production traffic. The file is read as a stream, one row ahead of the
//! run, so memory is a read buffer whatever the trace's length.
//!
//! The format: a header row naming the columns, then one row per request.
//! `time` (seconds from the start of the run, in order) is required;
//! `user` (a user id of `workload.users`), `tenant` (a tenant index),
//! `class` (a name of `workload.classes`), `input_tokens` and
//! `output_tokens` (each LLM call's tokens) are optional. A row may leave
//! `user`, `tenant` and `class` blank, but not a token column the file
//! has. Blank lines and lines starting with `#` are skipped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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
    /// `class`.
    pub class: Option<usize>,
    /// `input_tokens`.
    pub input_tokens: Option<usize>,
    /// `output_tokens`.
    pub output_tokens: Option<usize>,
}

/// Longest line a trace may have: a row is a few dozen bytes, so a longer
/// line is a file that is not a trace (a device, a binary file).
pub const MAX_TRACE_LINE: u64 = 1 << 20;

/// Largest trace read: about 500 million rows of 32 bytes.
pub const MAX_TRACE_BYTES: u64 = 16 << 30;

/// The first characters of a field quoted in an error, and its length.
fn clip(field: &str) -> String {
    const SHOWN: usize = 40;
    match field.char_indices().nth(SHOWN) {
        None => field.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &field[..end], field.len()),
    }
}

/// The columns a trace may have.
pub const TRACE_COLUMNS: &str =
    "time (seconds from the start, required), user, tenant, class, input_tokens, output_tokens";

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRow {
    /// When it arrives.
    pub at: Nanos,
    /// Who sends it.
    pub user: Option<u32>,
    /// Its tenant.
    pub tenant: Option<u32>,
    /// Its request class (index into `workload.classes`).
    pub class: Option<u8>,
    /// Input and output tokens of each of its LLM calls.
    pub input_tokens: Option<u32>,
    /// Output tokens of each of its LLM calls.
    pub output_tokens: Option<u32>,
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
    /// Fields per row: the header's.
    width: usize,
    /// Bytes read so far.
    bytes: u64,
    path: PathBuf,
    file: BufReader<File>,
    /// The line being read (reused: no allocation per row).
    text: String,
    line: u64,
    columns: TraceColumns,
    classes: Vec<String>,
    last: Nanos,
}

impl TraceReader {
    /// Opens `path` and reads its header; `classes` are the names a
    /// `class` column may give.
    pub fn open(path: &Path, classes: &[String]) -> Result<TraceReader, String> {
        let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut r = TraceReader {
            path: path.to_path_buf(),
            file: BufReader::new(file),
            text: String::new(),
            line: 0,
            columns: TraceColumns {
                time: 0,
                user: None,
                tenant: None,
                class: None,
                input_tokens: None,
                output_tokens: None,
            },
            classes: classes.to_vec(),
            last: Nanos::ZERO,
            width: 0,
            bytes: 0,
        };
        if !r.next_line()? {
            return Err(format!("{}: empty; it needs a header row", path.display()));
        }
        let line = r.line;
        let header = std::mem::take(&mut r.text);
        let (mut time, mut user, mut tenant) = (None, None, None);
        let (mut class, mut input_tokens, mut output_tokens) = (None, None, None);
        for (k, name) in header.split(',').map(str::trim).enumerate() {
            let slot = match name {
                "time" => &mut time,
                "user" => &mut user,
                "tenant" => &mut tenant,
                "class" => &mut class,
                "input_tokens" => &mut input_tokens,
                "output_tokens" => &mut output_tokens,
                other => {
                    return Err(format!(
                        "{} line {line}: unknown column `{}`; columns are {TRACE_COLUMNS}",
                        path.display(),
                        clip(other)
                    ))
                }
            };
            r.width = k + 1;
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
        if class.is_some() && classes.is_empty() {
            return Err(format!(
                "{} line {line}: a `class` column names request classes: define them in \
                 workload.classes",
                path.display()
            ));
        }
        r.columns = TraceColumns {
            time,
            user,
            tenant,
            class,
            input_tokens,
            output_tokens,
        };
        Ok(r)
    }

    /// Reads the next line that is not blank or a comment into `text`;
    /// false at the end. A line longer than [`MAX_TRACE_LINE`] or a file
    /// past [`MAX_TRACE_BYTES`] is an error: memory holds one line.
    fn next_line(&mut self) -> Result<bool, String> {
        loop {
            self.text.clear();
            self.line += 1;
            let read = (&mut self.file)
                .take(MAX_TRACE_LINE + 1)
                .read_line(&mut self.text);
            match read {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.bytes += n as u64;
                    if n as u64 > MAX_TRACE_LINE {
                        return Err(self.at(&format!(
                            "longer than {} MiB without a line end; a trace row is a few \
                             dozen bytes (is this a device or a binary file?)",
                            MAX_TRACE_LINE >> 20
                        )));
                    }
                    if self.bytes > MAX_TRACE_BYTES {
                        return Err(self.at(&format!(
                            "the trace passes {} GiB; at most {} GiB of trace is read",
                            MAX_TRACE_BYTES >> 30,
                            MAX_TRACE_BYTES >> 30
                        )));
                    }
                    if skip(&self.text) {
                        continue;
                    }
                    return Ok(true);
                }
                Err(e) => return Err(self.at(&e.to_string())),
            }
        }
    }

    /// The columns the header names.
    pub fn columns(&self) -> TraceColumns {
        self.columns
    }

    /// The next row, `None` at the end, or what is wrong with it.
    pub fn next_row(&mut self) -> Result<Option<TraceRow>, String> {
        if !self.next_line()? {
            return Ok(None);
        }
        let c = self.columns;
        // The fields wanted, found in one pass over the line.
        let mut fields: [Option<&str>; 6] = [None; 6];
        let slots = [
            Some(c.time),
            c.user,
            c.tenant,
            c.class,
            c.input_tokens,
            c.output_tokens,
        ];
        let mut width = 0;
        for (k, f) in self.text.split(',').map(str::trim).enumerate() {
            width = k + 1;
            if f.is_empty() {
                continue;
            }
            for (slot, field) in slots.iter().zip(fields.iter_mut()) {
                if *slot == Some(k) {
                    *field = Some(f);
                }
            }
        }
        if width != self.width {
            return Err(self.at(&format!(
                "{width} fields, the header names {}; give every column, blank between commas",
                self.width
            )));
        }
        let [time, user, tenant, class, input, output] = fields;
        let Some(t) = time else {
            return Err(self.at("no time"));
        };
        let secs: f64 = t
            .parse()
            .map_err(|_| self.at(&format!("time `{}` is not a number of seconds", clip(t))))?;
        if !secs.is_finite() {
            return Err(self.at(&format!(
                "time `{}` is not a finite number of seconds",
                clip(t)
            )));
        }
        if secs < 0.0 {
            return Err(self.at(&format!("time {} must be 0 or more", clip(t))));
        }
        let at = Nanos::from_secs_f64(secs);
        if at < self.last {
            return Err(self.at(&format!(
                "time {} is before the row above it; sort the trace by time",
                clip(t)
            )));
        }
        let number = |v: Option<&str>, what: &str| -> Result<Option<u32>, String> {
            match v {
                None => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| self.at(&format!("{what} `{}` is not a whole number", clip(v)))),
            }
        };
        let user_id = number(user, "user")?;
        let tenant = number(tenant, "tenant")?;
        let tokens = |v: Option<&str>, k: Option<usize>, what: &str| match (v, k) {
            (None, Some(_)) => Err(self.at(&format!(
                "no {what}: a row must give the tokens of a column the file has"
            ))),
            // u32::MAX is kept for "not given".
            (Some(_), _) => match number(v, what)? {
                Some(n) if n == u32::MAX => Err(self.at(&format!("{what} {n} is too large"))),
                n => Ok(n),
            },
            (None, None) => Ok(None),
        };
        let input_tokens = tokens(input, c.input_tokens, "input_tokens")?;
        let output_tokens = tokens(output, c.output_tokens, "output_tokens")?;
        let class = match class {
            None => None,
            Some(name) => match self.classes.iter().position(|k| k == name) {
                Some(k) => Some(k as u8),
                None => {
                    return Err(self.at(&format!(
                        "class `{}` is not one of workload.classes ({})",
                        clip(name),
                        self.classes.join(", ")
                    )))
                }
            },
        };
        self.last = at;
        Ok(Some(TraceRow {
            at,
            user: user_id,
            tenant,
            class,
            input_tokens,
            output_tokens,
        }))
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

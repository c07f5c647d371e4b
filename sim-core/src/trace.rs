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
//!
//! Traces as they are published need no conversion: a [`TraceSpec`] maps
//! the file's own column names (other columns are ignored), gives the unit
//! of a numeric time (`s`, `ms`, `us`) or reads datetimes (up to 9
//! fractional digits), and says where the run starts (`first-row`, or an
//! offset), so a trace that begins on day 225 starts at 0. Quoted fields
//! and a byte-order mark are read.

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

/// Which of a file's columns is which, by the file's names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnNames {
    /// The arrival time's column.
    pub time: String,
    /// The sender's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The sender's tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The request class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Input tokens of each LLM call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<String>,
    /// Output tokens of each LLM call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<String>,
}

/// The unit of a numeric time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Seconds (fractions allowed).
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
}

impl TimeUnit {
    fn name(self) -> &'static str {
        match self {
            TimeUnit::S => "seconds",
            TimeUnit::Ms => "milliseconds",
            TimeUnit::Us => "microseconds",
        }
    }

    fn nanos(self) -> f64 {
        match self {
            TimeUnit::S => 1e9,
            TimeUnit::Ms => 1e6,
            TimeUnit::Us => 1e3,
        }
    }
}

/// Where the run starts in a trace, when not at its time 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the first row, plus this much.
    FirstRow(Nanos),
}

/// How to read a trace file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpec {
    /// The file's column names; `None`: fleetsim's own header, strictly.
    pub names: Option<ColumnNames>,
    /// The unit of a numeric time.
    pub unit: TimeUnit,
    /// The unit was written (`workload.trace.timeUnit`): a datetime time
    /// is then refused, since the unit could not act.
    pub unit_given: bool,
    /// Where the run starts; `None`: time 0 for numbers, the first row for
    /// datetimes.
    pub start: Option<Start>,
}

impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            names: None,
            unit: TimeUnit::S,
            unit_given: false,
            start: None,
        }
    }
}

/// The fields of a CSV line: split at commas outside double quotes, each
/// trimmed and unquoted (no allocation).
fn fields(line: &str) -> impl Iterator<Item = &str> {
    let quoted = line.contains('"');
    let mut rest = Some(line.trim_end_matches(['\r', '\n']));
    std::iter::from_fn(move || {
        let l = rest?;
        let end = if quoted {
            let mut inside = false;
            l.char_indices()
                .find(|&(_, c)| {
                    if c == '"' {
                        inside = !inside;
                    }
                    c == ',' && !inside
                })
                .map(|(i, _)| i)
        } else {
            l.find(',')
        };
        let (f, r) = match end {
            Some(i) => (&l[..i], Some(&l[i + 1..])),
            None => (l, None),
        };
        rest = r;
        let f = f.trim();
        Some(
            f.strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(f)
                .trim(),
        )
    })
}

/// A datetime (`2023-11-16 18:15:46.6805900`, `T` or space, an optional
/// `Z`) in nanoseconds since 1970, or `None`.
pub fn parse_datetime(s: &str) -> Option<i128> {
    let s = s.trim().trim_end_matches('Z');
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut frac_ns: i64 = 0;
    if let Some(f) = s.get(19..).filter(|f| !f.is_empty()) {
        let digits = f.strip_prefix('.')?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac_ns = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(frac_ns))
}

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
    /// The last row's time, in the trace's own clock (ns).
    last: i128,
    spec: TraceSpec,
    /// The trace time the run starts at, once known.
    base: Option<i128>,
}

impl TraceReader {
    /// Opens `path` and reads its header; `classes` are the names a
    /// `class` column may give.
    pub fn open(path: &Path, classes: &[String], spec: &TraceSpec) -> Result<TraceReader, String> {
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
            last: i128::MIN,
            width: 0,
            bytes: 0,
            spec: spec.clone(),
            base: None,
        };
        if !r.next_line()? {
            return Err(format!("{}: empty; it needs a header row", path.display()));
        }
        let line = r.line;
        let header = std::mem::take(&mut r.text);
        let header = header
            .strip_prefix('\u{feff}')
            .unwrap_or(&header)
            .to_string();
        let (mut time, mut user, mut tenant) = (None, None, None);
        let (mut class, mut input_tokens, mut output_tokens) = (None, None, None);
        let names: Vec<&str> = fields(&header).collect();
        r.width = names.len();
        match &spec.names {
            Some(m) => {
                let find = |want: &str, key: &str| -> Result<usize, String> {
                    names.iter().position(|n| *n == want).ok_or_else(|| {
                        format!(
                            "{} line {line}: no column `{want}` (columns.{key}); the header has: {}",
                            path.display(),
                            names.iter().map(|n| clip(n)).collect::<Vec<_>>().join(", ")
                        )
                    })
                };
                let opt = |want: &Option<String>, key: &str| -> Result<Option<usize>, String> {
                    want.as_deref().map(|w| find(w, key)).transpose()
                };
                time = Some(find(&m.time, "time")?);
                user = opt(&m.user, "user")?;
                tenant = opt(&m.tenant, "tenant")?;
                class = opt(&m.class, "class")?;
                input_tokens = opt(&m.input_tokens, "inputTokens")?;
                output_tokens = opt(&m.output_tokens, "outputTokens")?;
            }
            None => {
                for (k, name) in names.iter().enumerate() {
                    let slot = match *name {
                        "time" => &mut time,
                        "user" => &mut user,
                        "tenant" => &mut tenant,
                        "class" => &mut class,
                        "input_tokens" => &mut input_tokens,
                        "output_tokens" => &mut output_tokens,
                        other => {
                            return Err(format!(
                                "{} line {line}: unknown column `{}`; columns are {TRACE_COLUMNS} (a trace with columns of its own names them in workload.trace.columns, or a `format`)",
                                path.display(),
                                clip(other)
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
        // Rows before the start are skipped in this loop.
        loop {
            if !self.next_line()? {
                return Ok(None);
            }
            let c = self.columns;
            // The fields wanted, found in one pass over the line.
            let mut wanted: [Option<&str>; 6] = [None; 6];
            let slots = [
                Some(c.time),
                c.user,
                c.tenant,
                c.class,
                c.input_tokens,
                c.output_tokens,
            ];
            let mut width = 0;
            for (k, f) in fields(&self.text).enumerate() {
                width = k + 1;
                if f.is_empty() {
                    continue;
                }
                for (slot, field) in slots.iter().zip(wanted.iter_mut()) {
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
            let [time, user, tenant, class, input, output] = wanted;
            let Some(t) = time else {
                return Err(self.at("no time"));
            };
            let dt = parse_datetime(t);
            let abs: i128 = match dt {
                Some(ns) => ns,
                None => {
                    let v: f64 = t.parse().map_err(|_| {
                        self.at(&format!(
                            "time `{}` is not a number of {} or a datetime (2023-11-16 18:15:46.6805900)",
                            clip(t),
                            self.spec.unit.name()
                        ))
                    })?;
                    if !v.is_finite() {
                        return Err(self.at(&format!(
                            "time `{}` is not a finite number of {}",
                            clip(t),
                            self.spec.unit.name()
                        )));
                    }
                    {
                        // Half up, as `Nanos::from_secs_f64` rounds, so a
                        // trace in seconds reads to the same nanosecond.
                        let ns = (v.abs() * self.spec.unit.nanos() + 0.5) as i128;
                        if v < 0.0 {
                            -ns
                        } else {
                            ns
                        }
                    }
                }
            };
            if abs < self.last {
                return Err(self.at(&format!(
                    "time {} is before the row above it; sort the trace by time",
                    clip(t)
                )));
            }
            self.last = abs;
            let dated = dt.is_some();
            if dated && self.spec.unit_given {
                return Err(self.at(&format!(
                    "time `{}` is a datetime: workload.trace.timeUnit applies to numeric times only; remove it",
                    clip(t)
                )));
            }
            let base = match (self.base, self.spec.start) {
                (Some(b), _) => b,
                (None, Some(Start::FirstRow(off))) => abs.saturating_add(i128::from(off.0)),
                (None, None) if dated => abs,
                (None, _) => 0,
            };
            self.base = Some(base);
            let rel = abs - base;
            if rel < 0 {
                if !dated && self.spec.start.is_none() {
                    return Err(self.at(&format!("time {} must be 0 or more", clip(t))));
                }
                // Before the start: not part of the run.
                continue;
            }
            let at = Nanos(u64::try_from(rel).unwrap_or(u64::MAX));
            let number = |v: Option<&str>, what: &str| -> Result<Option<u32>, String> {
                match v {
                    None => Ok(None),
                    Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
                        self.at(&format!("{what} `{}` is not a whole number", clip(v)))
                    }),
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
            return Ok(Some(TraceRow {
                at,
                user: user_id,
                tenant,
                class,
                input_tokens,
                output_tokens,
            }));
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

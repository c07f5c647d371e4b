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
//! `service_time` (optional, in the unit of `time`, never a datetime, not
//! divided by `speed`) is the request's own service time: each attempt
//! holds its slot for exactly that long (times its instance's slow
//! factor) in place of its drawn CPU time and LLM latencies. The request's
//! draws still happen (its calls, their errors and tokens), so only the
//! time changes. A row must give it when the file has the column. It
//! replaces the service of a request served in one step (one event per
//! attempt); a scenario whose calls are events of their own (token
//! prices, provider state) refuses it.
//!
//! Traces as they are published need no conversion: a [`TraceSpec`] maps
//! the file's own column names (other columns are ignored), gives the unit
//! of a numeric time (`s`, `ms`, `us`) or reads datetimes (up to 9
//! fractional digits), and says where the run starts (`first-row`, or an
//! offset), so a trace that begins on day 225 starts at 0. Quoted fields
//! and a byte-order mark are read.
//!
//! A trace may also be JSON lines (one object a line, as Mooncake
//! publishes its traces): a file whose first line is an object is read by
//! key instead of by column, without a header. Either may be gzipped (read
//! by its magic bytes, decompressed as it streams). User ids that are not
//! numbers are names, numbered by first appearance: the check pass builds
//! the numbering ([`UserNames`], one entry per distinct name) and the run
//! looks names up in it. A `speed` divides the trace's times.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    /// `service_time`.
    pub service_time: Option<usize>,
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
    "time (seconds from the start, required), user, tenant, class, input_tokens, output_tokens, service_time";

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
    /// The request's own service time (in the unit of `time`), replacing
    /// its drawn CPU time and LLM latencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time: Option<String>,
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
#[derive(Debug, Clone, PartialEq)]
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
    /// How much faster than recorded the trace replays (above 0; 2 halves
    /// every time from the start).
    pub speed: f64,
    /// The layout must be JSON lines (a `format` that is).
    pub json: bool,
}

impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            names: None,
            unit: TimeUnit::S,
            unit_given: false,
            start: None,
            speed: 1.0,
            json: false,
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
    /// Its own service time, replacing the drawn one.
    pub service_time: Option<Nanos>,
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

/// Most distinct user names a trace may have: the numbering holds each
/// name once (a few dozen bytes each).
pub const MAX_TRACE_USERS: usize = 1 << 20;

/// A trace's user names and the user id each was given, by first
/// appearance (built by the check pass, read by every run).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct UserNames(Arc<HashMap<Box<str>, u32>>);

impl UserNames {
    /// Distinct names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No names.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The id of `name`.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.0.get(name).copied()
    }
}

impl std::fmt::Debug for UserNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserNames({} names)", self.0.len())
    }
}

/// How a reader turns a row's `user` into an id.
#[derive(Debug, Clone)]
pub enum UserIds {
    /// The check pass: numbers are ids; names are numbered as they first
    /// appear, below `count` (`workload.users.count`), per tenant of
    /// `tenants` when the row gives its tenant (user `u` is in tenant
    /// `u mod tenants`).
    Learn {
        /// `workload.users.count`, when given.
        count: Option<u32>,
        /// `workload.users.tenants`.
        tenants: u32,
    },
    /// A run: the numbering the check pass made (`None`: ids are numbers).
    Known(Option<UserNames>),
}

/// The check pass's numbering, as it goes.
struct Learning {
    count: Option<u32>,
    tenants: u32,
    names: HashMap<Box<str>, u32>,
    /// Names given per tenant so far.
    next: Vec<u32>,
    /// The first line with a numeric user.
    numbers_at: Option<u64>,
    /// The first line with a named user.
    names_at: Option<u64>,
}

enum Ids {
    Learning(Box<Learning>),
    Known(Option<UserNames>),
}

/// The file's bytes: plain, or gzip (by its magic bytes) decompressed as
/// read.
type Source = Box<dyn BufRead + Send>;

fn open_source(path: &Path) -> Result<(Source, bool), String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut plain = BufReader::with_capacity(1 << 16, file);
    let head = plain
        .fill_buf()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(plain);
        Ok((Box::new(BufReader::with_capacity(1 << 16, gz)), true))
    } else {
        Ok((Box::new(plain), false))
    }
}

/// The size and modification time of a trace file, to tell whether it
/// changed between the check and a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    /// `path`'s stamp now.
    pub fn of(path: &Path) -> Result<FileStamp, String> {
        let m =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// The rows' fields, in [`TraceColumns`] order: time, user, tenant, class,
/// input tokens, output tokens, service time.
const SLOTS: usize = 7;

/// fleetsim's own names of the fields, in slot order.
const OWN_NAMES: [&str; SLOTS] = [
    "time",
    "user",
    "tenant",
    "class",
    "input_tokens",
    "output_tokens",
    "service_time",
];

/// How lines are split into fields.
enum Layout {
    /// CSV with a header of `width` fields.
    Csv { width: usize },
    /// JSON lines: each slot's key, when the file has it; with `strict`,
    /// keys other than fleetsim's own are refused.
    Json {
        keys: [Option<Box<str>>; SLOTS],
        strict: bool,
    },
}

/// A JSON value's text on a line.
#[derive(Clone, Copy)]
enum Json<'a> {
    /// A string's contents (still escaped when `escaped`).
    Str { raw: &'a str, escaped: bool },
    /// A number, `true`, `false` or `null`.
    Bare(&'a str),
    /// An array or object.
    Nested,
}

/// Where a JSON line is malformed: the byte offset and what was expected.
type JsonError = (usize, &'static str);

/// Each top-level member of the JSON object on `line`, in order, as
/// `(key, value, offsets of the key and the value)`; nested values are
/// skipped by bracket, without allocation.
fn json_members<'a>(
    line: &'a str,
    mut member: impl FnMut(&'a str, Json<'a>, (usize, usize)) -> Result<(), String>,
) -> Result<Result<(), String>, JsonError> {
    let b = line.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\r' | b'\n') {
            *i += 1;
        }
    };
    // A string from its opening quote at `i`: (contents, escaped), with `i`
    // past the closing quote.
    let string = |i: &mut usize| -> Result<(&'a str, bool), JsonError> {
        let open = *i;
        *i += 1;
        let mut escaped = false;
        while *i < b.len() {
            match b[*i] {
                b'"' => {
                    *i += 1;
                    return Ok((&line[open + 1..*i - 1], escaped));
                }
                b'\\' => {
                    escaped = true;
                    *i += 2;
                }
                _ => *i += 1,
            }
        }
        Err((open, "a closing `\"` of the string opened here"))
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Err((i, "a JSON object `{` (one object a line)"));
    }
    i += 1;
    ws(&mut i);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            ws(&mut i);
            if b.get(i) != Some(&b'"') {
                return Err((i, "a key in double quotes"));
            }
            let key_at = i;
            let (key, _) = string(&mut i)?;
            ws(&mut i);
            if b.get(i) != Some(&b':') {
                return Err((i, "`:` after the key"));
            }
            i += 1;
            ws(&mut i);
            let at = i;
            let value = match b.get(i) {
                Some(b'"') => {
                    let (raw, escaped) = string(&mut i)?;
                    Json::Str { raw, escaped }
                }
                Some(b'{' | b'[') => {
                    let mut depth = 0usize;
                    loop {
                        match b.get(i) {
                            None => return Err((at, "the end of the array or object opened here")),
                            Some(b'"') => {
                                string(&mut i)?;
                                continue;
                            }
                            Some(b'{' | b'[') => depth += 1,
                            Some(b'}' | b']') => {
                                depth -= 1;
                                if depth == 0 {
                                    i += 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    Json::Nested
                }
                _ => {
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'+' | b'.'))
                    {
                        i += 1;
                    }
                    if i == at {
                        return Err((at, "a value: a number, a string, an array or an object"));
                    }
                    Json::Bare(&line[at..i])
                }
            };
            if let Err(e) = member(key, value, (key_at, at)) {
                return Ok(Err(e));
            }
            ws(&mut i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err((i, "`,` or the object's closing `}`")),
            }
        }
    }
    ws(&mut i);
    if i < b.len() {
        return Err((
            i,
            "the end of the line after the object (one object a line)",
        ));
    }
    Ok(Ok(()))
}

/// A JSON value's text as a field: a string's contents (unescaped, which
/// allocates only for a string with escapes), a bare value's text, none
/// for `null`; an array or object is an error.
fn json_field(v: Json<'_>) -> Result<Option<Cow<'_, str>>, &'static str> {
    match v {
        Json::Str {
            raw,
            escaped: false,
        } => Ok(Some(Cow::Borrowed(raw))),
        Json::Str { raw, escaped: true } => serde_json::from_str::<String>(&format!("\"{raw}\""))
            .map(|s| Some(Cow::Owned(s)))
            .map_err(|_| "a string with an escape JSON does not have"),
        Json::Bare("null") => Ok(None),
        Json::Bare(t) => Ok(Some(Cow::Borrowed(t))),
        Json::Nested => Err("an array or object, not a number or a string"),
    }
}

/// A trace read row by row.
pub struct TraceReader {
    /// Bytes read so far (decompressed).
    bytes: u64,
    path: PathBuf,
    file: Source,
    gzip: bool,
    /// The line being read (reused: no allocation per row).
    text: String,
    /// `text` holds a row not yet returned (a JSON file's first row).
    pending: bool,
    line: u64,
    columns: TraceColumns,
    layout: Layout,
    classes: Vec<String>,
    /// The last row's time, in the trace's own clock (ns).
    last: i128,
    spec: TraceSpec,
    /// The trace time the run starts at, once known.
    base: Option<i128>,
    ids: Ids,
}

impl TraceReader {
    /// Opens `path` and reads its header (a CSV file's) or its first row's
    /// keys (a JSON lines file's); `classes` are the names a `class`
    /// column may give, `users` how user ids are read.
    pub fn open(
        path: &Path,
        classes: &[String],
        spec: &TraceSpec,
        users: UserIds,
    ) -> Result<TraceReader, String> {
        let (file, gzip) = open_source(path)?;
        let ids = match users {
            UserIds::Learn { count, tenants } => Ids::Learning(Box::new(Learning {
                count,
                tenants: tenants.max(1),
                names: HashMap::new(),
                next: vec![0; tenants.max(1) as usize],
                numbers_at: None,
                names_at: None,
            })),
            UserIds::Known(n) => Ids::Known(n),
        };
        let mut r = TraceReader {
            path: path.to_path_buf(),
            file,
            gzip,
            text: String::new(),
            pending: false,
            line: 0,
            columns: TraceColumns {
                time: 0,
                user: None,
                tenant: None,
                class: None,
                input_tokens: None,
                output_tokens: None,
                service_time: None,
            },
            layout: Layout::Csv { width: 0 },
            classes: classes.to_vec(),
            last: i128::MIN,
            bytes: 0,
            spec: spec.clone(),
            base: None,
            ids,
        };
        if !r.next_line()? {
            return Err(format!(
                "{}: empty; it needs a header row (or JSON lines)",
                path.display()
            ));
        }
        let line = r.line;
        if let Some(rest) = r.text.strip_prefix('\u{feff}') {
            r.text = rest.to_string();
        }
        if r.text.trim_start().starts_with('{') {
            r.open_json()?;
        } else if spec.json {
            return Err(format!(
                "{} line {line}: not a JSON object; this format is JSON lines (one object a line{})",
                path.display(),
                if gzip { ", gzipped or not" } else { "" }
            ));
        } else {
            r.open_csv()?;
        }
        if r.columns.class.is_some() && classes.is_empty() {
            return Err(format!(
                "{} line {line}: a `class` column names request classes: define them in \
                 workload.classes",
                path.display()
            ));
        }
        Ok(r)
    }

    /// Reads the CSV header in `text`.
    fn open_csv(&mut self) -> Result<(), String> {
        let (path, line) = (&self.path, self.line);
        let header = std::mem::take(&mut self.text);
        let names: Vec<&str> = fields(&header).collect();
        let mut slots: [Option<usize>; SLOTS] = [None; SLOTS];
        match &self.spec.names {
            Some(m) => {
                for (slot, (want, key)) in mapped(m).into_iter().enumerate() {
                    let Some(want) = want else { continue };
                    slots[slot] = Some(names.iter().position(|n| *n == want).ok_or_else(|| {
                        format!(
                            "{} line {line}: no column `{want}` (columns.{key}); the header has: {}",
                            path.display(),
                            names.iter().map(|n| clip(n)).collect::<Vec<_>>().join(", ")
                        )
                    })?);
                }
            }
            None => {
                for (k, name) in names.iter().enumerate() {
                    let Some(slot) = OWN_NAMES.iter().position(|n| n == name) else {
                        return Err(format!(
                            "{} line {line}: unknown column `{}`; columns are {TRACE_COLUMNS} (a trace with columns of its own names them in workload.trace.columns, or a `format`)",
                            path.display(),
                            clip(name)
                        ));
                    };
                    if slots[slot].replace(k).is_some() {
                        return Err(format!(
                            "{} line {line}: column `{name}` twice",
                            path.display()
                        ));
                    }
                }
            }
        }
        self.layout = Layout::Csv { width: names.len() };
        self.set_columns(slots)
    }

    /// Reads a JSON lines file's keys: the mapped ones, or fleetsim's own
    /// as the first row has them. The first row stays to be read.
    fn open_json(&mut self) -> Result<(), String> {
        let mut keys: [Option<Box<str>>; SLOTS] = Default::default();
        let strict = self.spec.names.is_none();
        match &self.spec.names {
            Some(m) => {
                for (slot, (want, _)) in mapped(m).into_iter().enumerate() {
                    keys[slot] = want.map(Box::from);
                }
            }
            None => {
                let mut unknown = None;
                let scanned = json_members(&self.text, |key, _, (at, _)| {
                    match OWN_NAMES.iter().position(|n| *n == key) {
                        Some(slot) => keys[slot] = Some(Box::from(key)),
                        None => {
                            unknown.get_or_insert((key.to_string(), at));
                        }
                    }
                    Ok(())
                });
                if let Err((at, want)) = scanned {
                    return Err(self.at_col(at, &format!("expected {want}")));
                }
                if let Some((key, at)) = unknown {
                    return Err(self.at_col(
                        at,
                        &format!(
                            "unknown key `{}`; keys are {TRACE_COLUMNS} (a trace with keys of its own names them in workload.trace.columns, or a `format`)",
                            clip(&key)
                        ),
                    ));
                }
            }
        }
        let slots: [Option<usize>; SLOTS] = std::array::from_fn(|k| keys[k].as_ref().map(|_| k));
        self.layout = Layout::Json { keys, strict };
        self.pending = true;
        self.set_columns(slots)
    }

    fn set_columns(&mut self, slots: [Option<usize>; SLOTS]) -> Result<(), String> {
        let [time, user, tenant, class, input_tokens, output_tokens, service_time] = slots;
        let Some(time) = time else {
            let what = match self.layout {
                Layout::Csv { .. } => "column",
                Layout::Json { .. } => "key",
            };
            return Err(format!(
                "{} line {}: no `time` {what}; {what}s are {TRACE_COLUMNS}",
                self.path.display(),
                self.line
            ));
        };
        self.columns = TraceColumns {
            time,
            user,
            tenant,
            class,
            input_tokens,
            output_tokens,
            service_time,
        };
        Ok(())
    }

    /// Reads the next line that is not blank or a comment into `text`;
    /// false at the end. A line longer than [`MAX_TRACE_LINE`] or a file
    /// past [`MAX_TRACE_BYTES`] is an error: memory holds one line.
    fn next_line(&mut self) -> Result<bool, String> {
        if std::mem::take(&mut self.pending) {
            return Ok(true);
        }
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
                            "the trace passes {} GiB{}; at most {} GiB of trace is read",
                            MAX_TRACE_BYTES >> 30,
                            if self.gzip { " decompressed" } else { "" },
                            MAX_TRACE_BYTES >> 30
                        )));
                    }
                    if skip(&self.text) {
                        continue;
                    }
                    return Ok(true);
                }
                Err(e) => {
                    let what = if self.gzip { "cannot decompress: " } else { "" };
                    return Err(self.at(&format!("{what}{e}")));
                }
            }
        }
    }

    /// The columns the header names.
    pub fn columns(&self) -> TraceColumns {
        self.columns
    }

    /// The file is gzipped.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// The user names numbered so far (the check pass's numbering), or
    /// `None` when user ids are numbers.
    pub fn user_names(&mut self) -> Option<UserNames> {
        match &mut self.ids {
            Ids::Learning(l) if !l.names.is_empty() => {
                Some(UserNames(Arc::new(std::mem::take(&mut l.names))))
            }
            Ids::Known(n) => n.clone(),
            Ids::Learning(_) => None,
        }
    }

    /// The wanted fields of the line in `text`, by slot.
    fn split(&self) -> Result<[Option<Cow<'_, str>>; SLOTS], String> {
        let mut wanted: [Option<Cow<'_, str>>; SLOTS] = Default::default();
        let c = self.columns;
        let slots = [
            Some(c.time),
            c.user,
            c.tenant,
            c.class,
            c.input_tokens,
            c.output_tokens,
            c.service_time,
        ];
        match &self.layout {
            Layout::Csv { width: expected } => {
                let mut width = 0;
                for (k, f) in fields(&self.text).enumerate() {
                    width = k + 1;
                    if f.is_empty() {
                        continue;
                    }
                    for (slot, field) in slots.iter().zip(wanted.iter_mut()) {
                        if *slot == Some(k) {
                            *field = Some(Cow::Borrowed(f));
                        }
                    }
                }
                if width != *expected {
                    return Err(self.at(&format!(
                        "{width} fields, the header names {expected}; give every column, blank between commas"
                    )));
                }
            }
            Layout::Json { keys, strict } => {
                let mut seen = [false; SLOTS];
                let scanned = json_members(&self.text, |key, value, (key_at, at)| {
                    let Some(slot) = keys.iter().position(|k| k.as_deref() == Some(key)) else {
                        if *strict {
                            let why = if OWN_NAMES.contains(&key) {
                                "is not in the first row; every row has the first row's keys"
                            } else {
                                "is unknown"
                            };
                            return Err(self.at_col(
                                key_at,
                                &format!("key `{}` {why}; keys are {TRACE_COLUMNS}", clip(key)),
                            ));
                        }
                        return Ok(());
                    };
                    if std::mem::replace(&mut seen[slot], true) {
                        return Err(self.at_col(key_at, &format!("key `{}` twice", clip(key))));
                    }
                    wanted[slot] = json_field(value)
                        .map_err(|why| self.at_col(at, &format!("key `{}` is {why}", clip(key))))?;
                    Ok(())
                });
                match scanned {
                    Err((at, want)) => return Err(self.at_col(at, &format!("expected {want}"))),
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(())) => {}
                }
            }
        }
        Ok(wanted)
    }

    /// How `slot` is named in an error: fleetsim's name for a CSV column,
    /// the key for a JSON one.
    fn what(&self, slot: usize) -> Cow<'_, str> {
        match &self.layout {
            Layout::Json { keys, .. } => match &keys[slot] {
                Some(k) => Cow::Owned(format!("key `{}`", clip(k))),
                None => Cow::Borrowed(OWN_NAMES[slot]),
            },
            Layout::Csv { .. } => Cow::Borrowed(OWN_NAMES[slot]),
        }
    }

    /// The next row, `None` at the end, or what is wrong with it.
    pub fn next_row(&mut self) -> Result<Option<TraceRow>, String> {
        // The numbering is set aside while a line's fields borrow the
        // reader (a move of a pointer, not an allocation).
        let mut ids = std::mem::replace(&mut self.ids, Ids::Known(None));
        let row = loop {
            match self.read_row(&mut ids) {
                // Before the start: not part of the run.
                Ok(Some(None)) => continue,
                Ok(Some(Some(row))) => break Ok(Some(row)),
                Ok(None) => break Ok(None),
                Err(e) => break Err(e),
            }
        };
        self.ids = ids;
        row
    }

    /// The next line's row: `None` at the end, `Some(None)` for a row
    /// before the start.
    fn read_row(&mut self, ids: &mut Ids) -> Result<Option<Option<TraceRow>>, String> {
        {
            if !self.next_line()? {
                return Ok(None);
            }
            let wanted = self.split()?;
            let [time, user, tenant, class, input, output, service] = &wanted;
            let Some(t) = time.as_deref() else {
                return Err(self.at(&match &self.layout {
                    Layout::Csv { .. } => "no time".to_string(),
                    Layout::Json { .. } => format!("no {} (the time)", self.what(0)),
                }));
            };
            let dt = parse_datetime(t);
            let abs: i128 = match dt {
                Some(ns) => ns,
                None => {
                    let v: f64 = t.parse().map_err(|_| {
                        self.at(&format!(
                            "{} `{}` is not a number of {} or a datetime (2023-11-16 18:15:46.6805900)",
                            self.what(0),
                            clip(t),
                            self.spec.unit.name()
                        ))
                    })?;
                    if !v.is_finite() {
                        return Err(self.at(&format!(
                            "{} `{}` is not a finite number of {}",
                            self.what(0),
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
                    "{} {} is before the row above it; sort the trace by time",
                    self.what(0),
                    clip(t)
                )));
            }
            let dated = dt.is_some();
            if dated && self.spec.unit_given {
                return Err(self.at(&format!(
                    "{} `{}` is a datetime: workload.trace.timeUnit applies to numeric times only; remove it",
                    self.what(0),
                    clip(t)
                )));
            }
            let base = match (self.base, self.spec.start) {
                (Some(b), _) => b,
                (None, Some(Start::FirstRow(off))) => abs.saturating_add(i128::from(off.0)),
                (None, None) if dated => abs,
                (None, _) => 0,
            };
            let rel = abs - base;
            if rel < 0 && !dated && self.spec.start.is_none() {
                return Err(self.at(&format!("{} {} must be 0 or more", self.what(0), clip(t))));
            }
            let number = |v: Option<&str>, slot: usize| -> Result<Option<u32>, String> {
                match v {
                    None => Ok(None),
                    Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
                        self.at(&format!(
                            "{} `{}` is not a whole number",
                            self.what(slot),
                            clip(v)
                        ))
                    }),
                }
            };
            let tenant = number(tenant.as_deref(), 2)?;
            let tokens = |v: Option<&str>, k: Option<usize>, slot: usize| match (v, k) {
                (None, Some(_)) => Err(self.at(&format!(
                    "no {}: a row must give the tokens of a column the file has",
                    self.what(slot)
                ))),
                // u32::MAX is kept for "not given".
                (Some(_), _) => match number(v, slot)? {
                    Some(n) if n == u32::MAX => {
                        Err(self.at(&format!("{} {n} is too large", self.what(slot))))
                    }
                    n => Ok(n),
                },
                (None, None) => Ok(None),
            };
            let input_tokens = tokens(input.as_deref(), self.columns.input_tokens, 4)?;
            let output_tokens = tokens(output.as_deref(), self.columns.output_tokens, 5)?;
            let service_time = match (service.as_deref(), self.columns.service_time) {
                (None, Some(k)) => {
                    return Err(self.at_field(
                        k,
                        &format!(
                            "no {}: a row must give the service time when the file has the column",
                            self.what(6)
                        ),
                    ))
                }
                (Some(v), Some(k)) => Some(self.service_time(v, k)?),
                (_, None) => None,
            };
            let class = match class.as_deref() {
                None => None,
                Some(name) => match self.classes.iter().position(|k| k == name) {
                    Some(k) => Some(k as u8),
                    None => {
                        return Err(self.at(&format!(
                            "{} `{}` is not one of workload.classes ({})",
                            self.what(3),
                            clip(name),
                            self.classes.join(", ")
                        )))
                    }
                },
            };
            // A user given by name or number (names are numbered below, so
            // the borrow of the line ends first).
            let user_text = user.as_deref();
            let user_number = match user_text {
                Some(u) => match u.parse::<u32>() {
                    Ok(n) => Some(Ok(n)),
                    Err(_) => Some(Err(())),
                },
                None => None,
            };
            let user_id = match (user_number, ids) {
                (None, _) => None,
                (Some(Ok(n)), Ids::Known(None)) => Some(n),
                (Some(_), Ids::Known(Some(names))) => {
                    let name = user_text.unwrap_or_default();
                    match names.get(name) {
                        Some(id) => Some(id),
                        None => {
                            return Err(self.at(&format!(
                                "{} `{}` was not in the trace when it was checked: it changed since",
                                self.what(1),
                                clip(name)
                            )))
                        }
                    }
                }
                (Some(Err(())), Ids::Known(None)) => {
                    return Err(self.at(&format!(
                        "{} `{}` is not a whole number (the trace had numeric user ids when it was checked: it changed since)",
                        self.what(1),
                        clip(user_text.unwrap_or_default())
                    )))
                }
                (Some(number), Ids::Learning(l)) => {
                    let line = self.line;
                    let name = user_text.unwrap_or_default();
                    match number {
                        Ok(n) if l.names_at.is_none() => {
                            l.numbers_at.get_or_insert(line);
                            Some(n)
                        }
                        Err(()) if l.numbers_at.is_some() => {
                            let at = l.numbers_at.unwrap_or_default();
                            return Err(self.at(&format!(
                                "{} `{}` is a name, but line {at} gave a number: a trace's users are all numbers (ids) or all names (numbered by first appearance)",
                                self.what(1),
                                clip(name)
                            )));
                        }
                        Ok(_) if l.names_at.is_some() => {
                            let at = l.names_at.unwrap_or_default();
                            return Err(self.at(&format!(
                                "{} `{}` is a number, but line {at} gave a name: a trace's users are all numbers (ids) or all names (numbered by first appearance)",
                                self.what(1),
                                clip(name)
                            )));
                        }
                        _ => {
                            l.names_at.get_or_insert(line);
                            match l.names.get(name) {
                                Some(&id) => Some(id),
                                None => {
                                    let id = learn(l, name, tenant).map_err(|msg| {
                                        format!(
                                            "{} line {line}: {} `{}` {msg}",
                                            self.path.display(),
                                            OWN_NAMES[1],
                                            clip(name)
                                        )
                                    })?;
                                    Some(id)
                                }
                            }
                        }
                    }
                }
            };
            self.last = abs;
            self.base = Some(base);
            if rel < 0 {
                return Ok(Some(None));
            }
            let rel = if self.spec.speed == 1.0 {
                rel
            } else {
                (rel as f64 / self.spec.speed).round() as i128
            };
            let at = Nanos(u64::try_from(rel).unwrap_or(u64::MAX));
            Ok(Some(Some(TraceRow {
                at,
                user: user_id,
                tenant,
                class,
                input_tokens,
                output_tokens,
                service_time,
            })))
        }
    }

    /// A row's `service_time` field `v` (at column index `k`): a finite
    /// number of the time's unit, 0 or more.
    fn service_time(&self, v: &str, k: usize) -> Result<Nanos, String> {
        let unit = self.spec.unit;
        let bad = |why: &str| {
            self.at_field(
                k,
                &format!(
                    "{} `{}` {why}; give a number of {} (0 or more), as the time's unit",
                    self.what(6),
                    clip(v),
                    unit.name()
                ),
            )
        };
        let secs: f64 = v.parse().map_err(|_| bad("is not a number"))?;
        if !secs.is_finite() {
            return Err(bad("is not a finite number"));
        }
        if secs < 0.0 {
            return Err(bad("is below 0"));
        }
        let ns = secs * unit.nanos() + 0.5;
        if ns >= u64::MAX as f64 {
            return Err(bad("is too large"));
        }
        Ok(Nanos(ns as u64))
    }

    /// `msg` at field `k` of the line: its column number for a CSV file
    /// (counted in fields from 1), the line for a JSON one (whose key the
    /// message names).
    fn at_field(&self, k: usize, msg: &str) -> String {
        match self.layout {
            Layout::Csv { .. } => format!(
                "{} line {} column {}: {msg}",
                self.path.display(),
                self.line,
                k + 1
            ),
            Layout::Json { .. } => self.at(msg),
        }
    }

    /// The line being read, for errors.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn at(&self, msg: &str) -> String {
        format!("{} line {}: {msg}", self.path.display(), self.line)
    }

    /// `msg` at byte `offset` of the line: its column, counted in
    /// characters from 1.
    fn at_col(&self, offset: usize, msg: &str) -> String {
        let col = self
            .text
            .get(..offset)
            .map_or(offset, |s| s.chars().count())
            + 1;
        format!(
            "{} line {} column {col}: {msg}",
            self.path.display(),
            self.line
        )
    }
}

/// Numbers a new user `name`: the next id of the row's tenant when it
/// gives one (user `u` is in tenant `u mod tenants`), else of the tenant
/// with the fewest names so far (the lowest on a tie), so names without
/// tenants are numbered 0, 1, 2, … in order.
fn learn(l: &mut Learning, name: &str, tenant: Option<u32>) -> Result<u32, String> {
    if l.names.len() >= MAX_TRACE_USERS {
        return Err(format!(
            "is one name more than {MAX_TRACE_USERS}: at most {MAX_TRACE_USERS} distinct user \
             names are numbered (each is held once)"
        ));
    }
    let k = match tenant {
        Some(k) if k < l.tenants => k as usize,
        // (An unknown tenant is refused with the row's other checks.)
        _ => (0..l.next.len()).min_by_key(|&k| l.next[k]).unwrap_or(0),
    };
    let id = u64::from(l.next[k]) * u64::from(l.tenants) + k as u64;
    l.next[k] += 1;
    if let Some(count) = l.count {
        if id >= u64::from(count) {
            return Err(format!(
                "is numbered {id} (user names are numbered by first appearance{}), but \
                 workload.users.count is {count}: give a count of at least the trace's distinct \
                 users",
                if l.tenants > 1 {
                    ", each in its tenant"
                } else {
                    ""
                }
            ));
        }
    }
    l.names.insert(Box::from(name), id as u32);
    Ok(id as u32)
}

/// A column map's names in slot order, with their keys in
/// `workload.trace.columns`.
fn mapped(m: &ColumnNames) -> [(Option<&str>, &'static str); SLOTS] {
    [
        (Some(m.time.as_str()), "time"),
        (m.user.as_deref(), "user"),
        (m.tenant.as_deref(), "tenant"),
        (m.class.as_deref(), "class"),
        (m.input_tokens.as_deref(), "inputTokens"),
        (m.output_tokens.as_deref(), "outputTokens"),
        (m.service_time.as_deref(), "serviceTime"),
    ]
}

fn skip(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

//! `workload.trace`: a file of arrivals (CSV or JSON lines, maybe gzipped), checked row by row here (the
//! engine reads it again as it runs).

use super::{Checker, UserModel};
use crate::scenario::Scenario;
use crate::scenario::TraceFormat;
use crate::trace::{
    ColumnNames, FileStamp, Start, TimeUnit, TraceReader, TraceSpec, UserIds, UserNames,
};
use std::path::{Path, PathBuf};
use strategies::Nanos;

/// A checked trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceModel {
    /// The file, resolved against the scenario's directory.
    pub path: PathBuf,
    /// Rows that arrive within the run.
    pub rows: u64,
    /// The file has an `input_tokens` column.
    pub input_tokens: bool,
    /// The file has an `output_tokens` column.
    pub output_tokens: bool,
    /// The file has a `service_time` column (each request's own service
    /// time).
    pub service_time: bool,
    /// How to read it.
    pub spec: TraceSpec,
    /// Its user names and their ids, when its users are names.
    pub user_names: Option<UserNames>,
    /// Its size and modification time when it was checked: a run refuses
    /// a file that changed since.
    pub stamp: FileStamp,
    /// The rows within the run by class (in `workload.classes` order), then
    /// those that name none: their number and tokens.
    pub tally: Vec<TraceTally>,
    /// The first line of a row within the run that names no class.
    pub classless_line: Option<u64>,
    /// The file is gzipped.
    pub gzip: bool,
}

/// Rows of a trace and the tokens they give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceTally {
    /// Rows.
    pub rows: u64,
    /// Their input tokens (per LLM call), summed.
    pub input_tokens: u64,
    /// Their output tokens (per LLM call), summed.
    pub output_tokens: u64,
}

impl TraceModel {
    /// The rows that name no class.
    pub fn classless(&self) -> TraceTally {
        self.tally.last().copied().unwrap_or_default()
    }
}

impl Scenario {
    pub(super) fn compile_trace(
        &self,
        c: &mut Checker,
        scenario_file: &Path,
        users: Option<&UserModel>,
        duration: Nanos,
    ) -> Option<TraceModel> {
        let t = self.workload.trace.as_ref()?;
        let key = "workload.trace.file";
        let path = scenario_file
            .parent()
            .map_or_else(|| PathBuf::from(&t.file), |d| d.join(&t.file));
        let classes: Vec<String> = self.workload.classes.keys().cloned().collect();
        let spec = trace_spec(c, t)?;
        let stamp = match FileStamp::of(&path) {
            Ok(s) => s,
            Err(e) => {
                c.fail(key, e);
                return None;
            }
        };
        let learn = UserIds::Learn {
            count: users.map(|u| u.count),
            tenants: users.map_or(1, |u| u.tenants),
        };
        let mut reader = match TraceReader::open(&path, &classes, &spec, learn) {
            Ok(r) => r,
            Err(e) => {
                c.fail(key, e);
                return None;
            }
        };
        let users = users.map(|u| (u.count, u.tenants));
        let mut rows = 0u64;
        let mut tally = vec![TraceTally::default(); classes.len() + 1];
        let mut classless_line = None;
        loop {
            let row = match reader.next_row() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    c.fail(key, e);
                    return None;
                }
            };
            if row.at >= duration {
                break;
            }
            if let Err(msg) = row.check_users(users) {
                c.fail(
                    key,
                    format!("{} line {}: {msg}", path.display(), reader.line()),
                );
                return None;
            }
            rows += 1;
            let k = row.class.map_or(classes.len(), usize::from);
            if row.class.is_none() {
                classless_line.get_or_insert(reader.line());
            }
            let n = &mut tally[k];
            n.rows += 1;
            n.input_tokens = n
                .input_tokens
                .saturating_add(u64::from(row.input_tokens.unwrap_or(0)));
            n.output_tokens = n
                .output_tokens
                .saturating_add(u64::from(row.output_tokens.unwrap_or(0)));
        }
        if rows == 0 {
            c.fail(
                key,
                format!(
                    "{} has no row before run.duration ({}){}",
                    path.display(),
                    self.run.duration,
                    if spec.speed == 1.0 {
                        String::new()
                    } else {
                        format!(" at speed {}", spec.speed)
                    }
                ),
            );
            return None;
        }
        let columns = reader.columns();
        Some(TraceModel {
            path,
            rows,
            input_tokens: columns.input_tokens.is_some(),
            output_tokens: columns.output_tokens.is_some(),
            service_time: columns.service_time.is_some(),
            spec,
            user_names: reader.user_names(),
            stamp,
            tally,
            classless_line,
            gzip: reader.gzip(),
        })
    }
}

/// How `t` says its file is read: a `format`'s layout, then the keys given.
fn trace_spec(c: &mut Checker, t: &crate::scenario::Trace) -> Option<TraceSpec> {
    let name = |s: &str| Some(s.to_string());
    let (mut names, mut unit, mut start) = match t.format {
        None => (None, TimeUnit::S, None),
        Some(TraceFormat::AzureLlm) => (
            Some(ColumnNames {
                time: "TIMESTAMP".into(),
                user: None,
                tenant: None,
                class: None,
                input_tokens: name("ContextTokens"),
                output_tokens: name("GeneratedTokens"),
                service_time: None,
            }),
            TimeUnit::S,
            Some(Start::FirstRow(Nanos::ZERO)),
        ),
        Some(TraceFormat::Mooncake) => (
            Some(ColumnNames {
                time: "timestamp".into(),
                user: None,
                tenant: None,
                class: None,
                input_tokens: name("input_length"),
                output_tokens: name("output_length"),
                service_time: None,
            }),
            TimeUnit::Ms,
            None,
        ),
        Some(TraceFormat::Burstgpt) => (
            Some(ColumnNames {
                time: "Timestamp".into(),
                user: None,
                tenant: None,
                class: None,
                input_tokens: name("Request tokens"),
                output_tokens: name("Response tokens"),
                service_time: None,
            }),
            TimeUnit::S,
            Some(Start::FirstRow(Nanos::ZERO)),
        ),
    };
    if let Some(cols) = &t.columns {
        names = Some(cols.clone());
    }
    if let Some(u) = t.time_unit {
        unit = u;
    }
    if let Some(s) = &t.start {
        start = match s.as_str() {
            "first-row" => Some(Start::FirstRow(Nanos::ZERO)),
            other => match strategies::DurationStr::parse(other) {
                Ok(d) => Some(Start::FirstRow(d.nanos())),
                Err(_) => {
                    c.fail(
                        "workload.trace.start",
                        format!("`{other}`: give `first-row`, or a duration into the trace such as \"2h\" (from its first row)"),
                    );
                    return None;
                }
            },
        };
    }
    let speed = t.speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0) {
        c.fail(
            "workload.trace.speed",
            format!(
                "must be above 0 (2 replays the trace twice as fast, 0.5 half as fast), found {speed}"
            ),
        );
        return None;
    }
    Some(TraceSpec {
        names,
        unit,
        unit_given: t.time_unit.is_some(),
        start,
        speed,
        json: t.format == Some(TraceFormat::Mooncake),
    })
}

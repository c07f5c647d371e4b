//! `workload.trace`: a CSV file of arrivals, checked row by row here (the
//! engine reads it again as it runs).

use super::{Checker, UserModel};
use crate::scenario::Scenario;
use crate::scenario::TraceFormat;
use crate::trace::{ColumnNames, Start, TimeUnit, TraceReader, TraceSpec};
use std::path::{Path, PathBuf};
use strategies::Nanos;

/// A checked trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceModel {
    /// The file, resolved against the scenario's directory.
    pub path: PathBuf,
    /// Rows that arrive within the run.
    pub rows: u64,
    /// The file has an `input_tokens` column.
    pub input_tokens: bool,
    /// The file has an `output_tokens` column.
    pub output_tokens: bool,
    /// How to read it.
    pub spec: TraceSpec,
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
        let mut reader = match TraceReader::open(&path, &classes, &spec) {
            Ok(r) => r,
            Err(e) => {
                c.fail(key, e);
                return None;
            }
        };
        let users = users.map(|u| (u.count, u.tenants));
        let mut rows = 0u64;
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
        }
        if rows == 0 {
            c.fail(
                key,
                format!(
                    "{} has no row before run.duration ({})",
                    path.display(),
                    self.run.duration
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
            spec,
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
            }),
            TimeUnit::S,
            Some(Start::FirstRow(Nanos::ZERO)),
        ),
        Some(TraceFormat::Burstgpt) => (
            Some(ColumnNames {
                time: "Timestamp".into(),
                user: None,
                tenant: None,
                class: None,
                input_tokens: name("Request tokens"),
                output_tokens: name("Response tokens"),
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
    Some(TraceSpec {
        names,
        unit,
        unit_given: t.time_unit.is_some(),
        start,
    })
}

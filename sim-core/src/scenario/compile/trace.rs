//! `workload.trace`: a CSV file of arrivals, checked row by row here (the
//! engine reads it again as it runs).

use super::{Checker, UserModel};
use crate::scenario::Scenario;
use crate::trace::TraceReader;
use std::path::{Path, PathBuf};
use strategies::Nanos;

/// A checked trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceModel {
    /// The file, resolved against the scenario's directory.
    pub path: PathBuf,
    /// Rows that arrive within the run.
    pub rows: u64,
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
        let mut reader = match TraceReader::open(&path) {
            Ok(r) => r,
            Err(e) => {
                c.fail(key, e);
                return None;
            }
        };
        let cols = reader.columns();
        if (cols.user.is_some() || cols.tenant.is_some()) && users.is_none() {
            c.fail(
                key,
                format!(
                    "{} names users or tenants: give workload.users for them to belong to",
                    path.display()
                ),
            );
            return None;
        }
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
            if let Some(u) = users {
                let line = reader.line();
                let bad = match (row.user, row.tenant) {
                    (Some(user), _) if user >= u.count => Some(format!(
                        "user {user} is not one of workload.users.count ({})",
                        u.count
                    )),
                    (_, Some(tenant)) if tenant >= u.tenants => Some(format!(
                        "tenant {tenant} is not one of workload.users.tenants ({})",
                        u.tenants
                    )),
                    (Some(user), Some(tenant)) if user % u.tenants != tenant => Some(format!(
                        "user {user} belongs to tenant {} (user mod tenants), not {tenant}",
                        user % u.tenants
                    )),
                    _ => None,
                };
                if let Some(msg) = bad {
                    c.fail(key, format!("{} line {line}: {msg}", path.display()));
                    return None;
                }
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
        Some(TraceModel { path, rows })
    }
}

//! Errors of loading scenarios and of running them.

use crate::scenario::shown_path;
use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a scenario: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending value (`deployment.limits.requestTimeout`),
    /// or empty for the document as a whole.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at `{}`: {}", self.path, self.message)
        }
    }
}

/// A scenario that cannot be used, with every problem found in it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: cannot read the scenario file: {reason}", shown_path(file))]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not valid JSON.
    #[error("{}:{line}:{column}: not valid JSON: {reason}", shown_path(file))]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        reason: String,
    },
    /// A native config file (nginx, ...) that cannot be read as its
    /// software reads it.
    #[error("{}:{line}:{column}: {format}: {reason}", shown_path(file))]
    Native {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Its format (`nginx`).
        format: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// Native config files that cannot be read as a whole (no format
    /// tells, too large, two files that disagree).
    #[error("{}: {reason}", shown_path(file))]
    NativeFile {
        /// The file.
        file: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The JSON does not describe a valid scenario.
    #[error("{}", render_invalid(file, problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem, in document order where possible.
        problems: Vec<Problem>,
    },
}

fn render_invalid(file: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}: {p}", shown_path(file)));
    }
    out
}

impl ScenarioError {
    /// One problem in `file`, at the JSON path `path`.
    pub fn at(file: &std::path::Path, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: file.to_path_buf(),
            problems: vec![Problem::new(path, message)],
        }
    }

    /// The problems, for an invalid scenario; empty for I/O and syntax errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// A run that failed after its scenario was accepted.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The engine's books do not balance: a bug in fleetsim, never a
    /// property of the scenario.
    #[error(
        "conservation violated in run `{run}` replication {replication}: arrivals {arrivals} != \
         completed {completed} + rejected {rejected} + timed out {timed_out} + failed {failed} + \
         in flight {in_flight}; this is a fleetsim bug, please report it with the scenario"
    )]
    Conservation {
        /// Scenario name.
        run: String,
        /// Replication index.
        replication: u32,
        /// Arrivals counted.
        arrivals: u64,
        /// Completed.
        completed: u64,
        /// Rejected.
        rejected: u64,
        /// Timed out.
        timed_out: u64,
        /// Failed.
        failed: u64,
        /// In flight at the end.
        in_flight: u64,
    },
    /// A trace file could not be read as it was when the scenario was
    /// checked (changed or removed since).
    #[error("workload.trace.file: {0}")]
    Trace(String),
    /// What the run was asked to keep is more than can be held (a
    /// replication count that, with the scenario's series interval, would
    /// keep too many rows).
    #[error("{0}")]
    TooLarge(String),
    /// The run was cancelled through its [`RunControl`](crate::RunControl)
    /// (Ctrl-C).
    #[error("the run was interrupted before it finished")]
    Cancelled,
}

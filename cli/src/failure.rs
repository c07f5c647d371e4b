//! What stopped a command, and the exit code each deserves.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done (and every check asked for passed) |
//! | 1 | a check failed: an SLO miss under `--fail-on-slo`, a regression under `gate`, no configuration meeting the SLO within budget under `plan` |
//! | 2 | bad input or usage: a scenario error, a bad flag, an unusable `--out` |
//! | 3 | fleetsim could not finish: results could not be written (a full disk), or an internal error such as a broken conservation check |
//! | 130 | interrupted (Ctrl-C); a sweep keeps its finished runs for `--resume` |

use sim_core::{ScenarioError, SimError};
use std::fmt;
use std::process::ExitCode;

/// A failure, classified by the exit code it deserves.
pub(crate) enum Failure {
    /// Bad input or usage: exit 2.
    Input(anyhow::Error),
    /// Output could not be written, or fleetsim itself failed: exit 3.
    Io(anyhow::Error),
    /// Stopped by Ctrl-C: exit 130.
    Interrupted,
    /// Stopped by Ctrl-C with work kept on disk (a sweep's finished
    /// runs), saying where: exit 130.
    Kept(String),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Input(_) => ExitCode::from(2),
            Failure::Io(_) => ExitCode::from(3),
            Failure::Interrupted | Failure::Kept(_) => ExitCode::from(130),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(e) | Failure::Io(e) => write!(f, "{e:#}"),
            Failure::Interrupted => f.write_str("interrupted; no result was written"),
            Failure::Kept(what) => f.write_str(what),
        }
    }
}

impl From<reports::Error> for Failure {
    fn from(e: reports::Error) -> Failure {
        match e {
            reports::Error::Input(m) => Failure::Input(anyhow::anyhow!(m)),
            reports::Error::Scenario(e) => e.into(),
            reports::Error::Sim(e) => e.into(),
            reports::Error::Kept(m) => Failure::Kept(m),
            reports::Error::Io(e) => Failure::Io(e.into()),
        }
    }
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Failure {
        Failure::Input(e.into())
    }
}

impl From<SimError> for Failure {
    fn from(e: SimError) -> Failure {
        match e {
            SimError::Cancelled => Failure::Interrupted,
            // A trace that changed since it was checked is bad input.
            e @ (SimError::Trace(_) | SimError::TooLarge(_)) => Failure::Input(e.into()),
            other => Failure::Io(other.into()),
        }
    }
}

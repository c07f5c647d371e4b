//! The exceptions Python sees, and which failure becomes which.
//!
//! | failure | exception |
//! |---|---|
//! | a scenario, sweep, axis or argument refused (the CLI's exit 2) | `fleetsim.ScenarioError`, a `ValueError` |
//! | interrupted (Ctrl-C) | `KeyboardInterrupt` |
//! | results could not be written | `OSError` |
//! | fleetsim itself failed (the CLI's exit 3): a broken conservation check, a panic | `fleetsim.SimulationError`, a `RuntimeError` |
//!
//! Messages are the CLI's, without its `error: ` prefix: the file, the
//! JSON path and what is allowed.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;
use sim_core::{ScenarioError as BadScenario, SimError};

create_exception!(
    fleetsim,
    ScenarioError,
    PyValueError,
    "A scenario, sweep or argument was refused. The message names the file, the JSON path and what is allowed, as the `fleetsim` command prints it."
);
create_exception!(
    fleetsim,
    SimulationError,
    PyRuntimeError,
    "fleetsim could not finish a run it accepted (an internal check failed); the message says what to report."
);

/// What stopped a call, before it becomes a Python exception.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad input, said in full.
    Input(String),
    /// Interrupted, saying what was kept.
    Interrupted(String),
    /// Files could not be written.
    Io(std::io::Error),
    /// fleetsim itself failed.
    Internal(String),
}

/// An error said as the CLI says it: the message and its causes.
fn chain(e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{:#}", anyhow::Error::from(e))
}

impl From<BadScenario> for Failure {
    fn from(e: BadScenario) -> Failure {
        Failure::Input(chain(e))
    }
}

impl From<SimError> for Failure {
    fn from(e: SimError) -> Failure {
        match e {
            SimError::Cancelled => Failure::Interrupted(e.to_string()),
            // A trace that changed since it was checked is bad input.
            e @ (SimError::Trace(_) | SimError::TooLarge(_)) => Failure::Input(chain(e)),
            other => Failure::Internal(chain(other)),
        }
    }
}

impl From<reports::Error> for Failure {
    fn from(e: reports::Error) -> Failure {
        match e {
            reports::Error::Input(m) => Failure::Input(m),
            reports::Error::Scenario(e) => e.into(),
            reports::Error::Sim(e) => e.into(),
            reports::Error::Kept(m) => Failure::Interrupted(m),
            reports::Error::Io(e) => Failure::Io(e),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Io(e)
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        match f {
            Failure::Input(m) => ScenarioError::new_err(m),
            Failure::Interrupted(m) => PyKeyboardInterrupt::new_err(m),
            Failure::Io(e) => PyOSError::new_err(e.to_string()),
            Failure::Internal(m) => SimulationError::new_err(m),
        }
    }
}

//! Why a study, report or gate could not give its answer: one error type
//! for the whole crate, which a front end maps to its exit codes.

use sim_core::{ScenarioError, SimError};
use std::fmt;
use std::io;

/// Why `reports` could not do what it was asked.
#[derive(Debug)]
pub enum Error {
    /// Bad input the user can fix (a sweep, baseline, directory or
    /// argument), said in full: the CLI exits 2.
    Input(String),
    /// A scenario was refused, with its file and JSON path: exit 2.
    Scenario(ScenarioError),
    /// A run failed an internal check, or was cancelled.
    Sim(SimError),
    /// Interrupted with finished work kept on disk; says where and how to
    /// finish it.
    Kept(String),
    /// Files could not be read or written.
    Io(io::Error),
}

impl Error {
    /// Bad input, said as `message`.
    pub fn input(message: impl fmt::Display) -> Error {
        Error::Input(message.to_string())
    }

    /// Whether the caller's input is at fault (as opposed to the machine,
    /// or the run itself).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input(_) | Error::Scenario(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m) | Error::Kept(m) => f.write_str(m),
            Error::Scenario(e) => write!(f, "{e}"),
            Error::Sim(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Scenario(e) => Some(e),
            Error::Sim(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Input(_) | Error::Kept(_) => None,
        }
    }
}

/// A message is about the caller's input (how `reports` says what to fix
/// in a sweep, axis, path or baseline).
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Input(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Input(message.to_string())
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Error {
        Error::Scenario(e)
    }
}

impl From<SimError> for Error {
    fn from(e: SimError) -> Error {
        Error::Sim(e)
    }
}

/// What `reports` functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

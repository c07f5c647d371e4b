//! `fleetsim._fleetsim`: the extension module behind the `fleetsim`
//! Python package (`cli/python/python/fleetsim/__init__.py` is the API
//! users call; this module takes paths and JSON text and returns JSON and
//! CSV text, made by the same `sim-core` and `reports` functions the
//! `fleetsim` command uses, so a result is the CLI's to the bit).
//!
//! Every call releases the GIL while it simulates, stops on Ctrl-C, and
//! turns every failure into a Python exception (never a panic).
//!
//! # Where things live
//!
//! Paths are relative to `cli/python/`.
//!
//! | behaviour | where |
//! |---|---|
//! | the Python API: arguments, dicts and DataFrames, docstrings | `python/fleetsim/__init__.py` |
//! | `fleetsim.run`, `fleetsim.validate` and `fleetsim.schema`; the built-in quickstart | `src/scenario.rs` `run`, `validate`, `schema`, `load` |
//! | `fleetsim.sweep` and `fleetsim.compare`: the sweep built, run and tabled | `src/study.rs` `sweep_spec`, `compare_spec`, `run_study`, `sweep`, `compare` |
//! | which failure becomes which exception, with the CLI's message | `src/errors.rs` `Failure`, `ScenarioError`, `SimulationError` |
//! | the GIL released, Ctrl-C, panics caught | `src/detached.rs` `detached` |
//! | how the wheel is built and tested in CI | `ci.sh`, `pyproject.toml`, `tests/` |

mod detached;
mod errors;
mod scenario;
mod study;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _fleetsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ScenarioError", py.get_type::<errors::ScenarioError>())?;
    m.add("SimulationError", py.get_type::<errors::SimulationError>())?;
    m.add_function(wrap_pyfunction!(scenario::run, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::validate, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::schema, m)?)?;
    m.add_function(wrap_pyfunction!(study::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(study::compare, m)?)?;
    Ok(())
}

//! One scenario: `fleetsim.run` and `fleetsim.validate`.

use crate::detached::detached;
use crate::errors::Failure;
use pyo3::prelude::*;
use sim_core::{run_model_with, Model, RunOptions};
use std::path::PathBuf;

/// The built-in quickstart scenario, as `fleetsim run` without a file runs it.
const QUICKSTART: &str = include_str!("../../../scenarios/quickstart.json");
const QUICKSTART_NAME: &str = "quickstart.json (built in)";

/// The scenario in a file, in JSON text (named `name` in errors), or the
/// built-in quickstart when neither is given.
fn load(path: Option<PathBuf>, text: Option<String>, name: &str) -> Result<Model, Failure> {
    Ok(match (path, text) {
        (Some(p), _) => Model::from_file(p)?,
        (None, Some(t)) => Model::from_json(&t, name)?,
        (None, None) => Model::from_json(QUICKSTART, QUICKSTART_NAME)?,
    })
}

/// Runs a scenario (a file `path`, JSON `text`, or the built-in
/// quickstart) and returns its result as the JSON text `fleetsim run
/// --json` prints.
#[pyfunction]
#[pyo3(signature = (path=None, text=None, name="scenario", seed=None, replications=None))]
pub(crate) fn run(
    py: Python<'_>,
    path: Option<PathBuf>,
    text: Option<String>,
    name: &str,
    seed: Option<u64>,
    replications: Option<u32>,
) -> PyResult<String> {
    let name = name.to_string();
    detached(py, move |control| {
        let model = load(path, text, &name)?;
        let opts = RunOptions { seed, replications };
        let result = run_model_with(&model, opts, control)?;
        serde_json::to_string(&result)
            .map_err(|e| Failure::Internal(format!("writing the result as JSON: {e}")))
    })
}

/// Checks a scenario as `fleetsim validate` does and returns its findings
/// (settings that cannot act) as JSON text: a list of objects with
/// `path`, `code`, `message` and `stage`.
#[pyfunction]
#[pyo3(signature = (path=None, text=None, name="scenario"))]
pub(crate) fn validate(
    py: Python<'_>,
    path: Option<PathBuf>,
    text: Option<String>,
    name: &str,
) -> PyResult<String> {
    let name = name.to_string();
    detached(py, move |_| {
        let model = load(path, text, &name)?;
        serde_json::to_string(&model.findings)
            .map_err(|e| Failure::Internal(format!("writing the findings as JSON: {e}")))
    })
}

/// The JSON Schema of scenario files, as JSON text (what `fleetsim
/// schema` prints).
#[pyfunction]
pub(crate) fn schema() -> PyResult<String> {
    serde_json::to_string(&sim_core::json_schema())
        .map_err(|e| Failure::Internal(format!("writing the schema as JSON: {e}")).into())
}

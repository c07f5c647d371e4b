//! The JSON Schema of sweep files (`fleetsim schema sweep`, shipped as
//! `scenarios/sweep.schema.json`), for editors. It names exactly the keys
//! [`SweepSpec::from_file`](super::spec::SweepSpec::from_file) reads (a
//! test holds them together); what a schema cannot say — that the axes'
//! paths exist in the scenario, that zipped axes have as many values, that
//! every point is a valid scenario — `fleetsim validate` checks.

use super::axis::MAX_AXIS_VALUES;
use super::spec::{MAX_SEEDS, SWEEP_KEYS};
use serde_json::{json, Value};

/// Where shipped sweep files find the schema, relative to `scenarios/`.
pub const SWEEP_SCHEMA_FILE: &str = "sweep.schema.json";

/// The JSON Schema (draft 2020-12) of a sweep file.
pub fn json_schema() -> Value {
    let properties = json!({
        "$schema": {
            "type": "string",
            "description": "This schema, for editors (relative to the file)."
        },
        "name": {
            "type": "string",
            "pattern": "^[^./\\\\:][^/\\\\:]*$",
            "description": "Names the output directory in the working directory (default: the file's name): a plain name, no `/`, no leading `.`."
        },
        "description": {
            "type": "string",
            "description": "What the sweep asks, shown in its manifest and report."
        },
        "scenario": {
            "type": "string",
            "minLength": 1,
            "description": "The base scenario file, relative to this file."
        },
        "axes": {
            "type": "object",
            "minProperties": 1,
            "description": "JSON path in the scenario (`deployment.regions.us-east-1.instances`, `llm.models[\"gpt-4.1\"].latency.mean`) to its values. Axes cross into a grid, the first outermost.",
            "additionalProperties": { "$ref": "#/$defs/AxisValues" }
        },
        "zip": {
            "type": "array",
            "description": "Groups of axes that advance together instead of crossing (they must have as many values).",
            "items": {
                "type": "array",
                "minItems": 2,
                "uniqueItems": true,
                "items": { "type": "string" }
            }
        },
        "seeds": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_SEEDS,
            "description": "Seeds per point (default: the scenario's run.replications)."
        },
        "seed": {
            "type": "integer",
            "minimum": 0,
            "description": "Master seed, replacing the scenario's run.seed."
        }
    });
    debug_assert_eq!(
        properties.as_object().map(|p| p.len()),
        Some(SWEEP_KEYS.len())
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "fleetsim sweep",
        "description": "A sweep file: a base scenario run over a grid of parameter values and seeds (`fleetsim sweep FILE`).",
        "type": "object",
        "required": ["scenario", "axes"],
        "additionalProperties": false,
        "properties": properties,
        "$defs": {
            "AxisValues": {
                "description": "A list of values (any JSON), or a range string: \"2..12\" (both ends included) or \"10..50/5\" (stepped).",
                "anyOf": [
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_AXIS_VALUES,
                        "uniqueItems": true
                    },
                    {
                        "type": "string",
                        "pattern": "^\\s*-?[0-9.eE+-]+\\s*\\.\\.\\s*-?[0-9.eE+-]+\\s*(/\\s*[0-9.eE+-]+\\s*)?$"
                    }
                ]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema's keys are the reader's keys: one cannot gain a key the
    /// other lacks.
    #[test]
    fn names_exactly_the_keys_the_reader_takes() {
        let s = json_schema();
        let mut keys: Vec<&str> = s["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = SWEEP_KEYS.to_vec();
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want);
    }
}

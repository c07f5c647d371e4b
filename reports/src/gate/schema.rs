//! The JSON Schema of gate files (`fleetsim schema gate`, shipped as
//! `scenarios/gate.schema.json`), for editors. It names exactly the keys
//! and thresholds [`Suite::read`](super::Suite::read) takes (a test holds
//! them together); that the scenarios exist and are valid, `fleetsim
//! validate` checks.

use super::suite::{GATE_KEYS, MAX_SEEDS, MIN_SEEDS, THRESHOLD_KEYS};
use serde_json::{json, Value};

/// Where shipped gate files find the schema, relative to `scenarios/`.
pub const GATE_SCHEMA_FILE: &str = "gate.schema.json";

/// The JSON Schema (draft 2020-12) of a gate file.
pub fn json_schema() -> Value {
    let relative = json!({
        "description": "A relative increase, as a percentage (\"10%\"); null turns the check off.",
        "anyOf": [
            { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%\\s*$" },
            { "type": "null" }
        ]
    });
    let absolute = json!({
        "description": "An absolute amount from 0 to 1; null turns the check off.",
        "anyOf": [
            { "type": "number", "minimum": 0, "maximum": 1 },
            { "type": "null" }
        ]
    });
    let mut thresholds = serde_json::Map::new();
    for key in THRESHOLD_KEYS {
        let v = match key {
            "p50" | "p99" | "cost" => relative.clone(),
            "sloNewlyMissed" => json!({
                "type": "boolean",
                "description": "Fail when seeds that met the SLO now miss it."
            }),
            _ => absolute.clone(),
        };
        thresholds.insert(key.to_string(), v);
    }
    let properties = json!({
        "$schema": {
            "type": "string",
            "description": "This schema, for editors (relative to the file)."
        },
        "description": { "type": "string", "description": "What the gate guards." },
        "scenarios": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "description": "The scenario files, relative to this file.",
            "items": { "type": "string", "minLength": 1 }
        },
        "seeds": {
            "type": "integer",
            "minimum": MIN_SEEDS,
            "maximum": MAX_SEEDS,
            "description": "Seeds per scenario (a paired interval needs two)."
        },
        "thresholds": {
            "type": "object",
            "additionalProperties": false,
            "description": "How much worse a metric may be before the gate fails.",
            "properties": thresholds
        },
        "baseline": {
            "type": "string",
            "minLength": 1,
            "description": "The baseline file, relative to this file (default: STEM.baseline.json beside it)."
        }
    });
    debug_assert_eq!(
        properties.as_object().map(|p| p.len()),
        Some(GATE_KEYS.len())
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "fleetsim gate",
        "description": "A gate file: the scenarios, seeds and thresholds `fleetsim gate FILE` compares against a baseline.",
        "type": "object",
        "required": ["scenarios"],
        "additionalProperties": false,
        "properties": properties
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema's keys and thresholds are the reader's.
    #[test]
    fn names_exactly_the_keys_the_reader_takes() {
        let s = json_schema();
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort_unstable();
            k
        };
        let sorted = |k: &[&str]| {
            let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            k.sort_unstable();
            k
        };
        assert_eq!(keys(&s["properties"]), sorted(&GATE_KEYS));
        assert_eq!(
            keys(&s["properties"]["thresholds"]["properties"]),
            sorted(&THRESHOLD_KEYS)
        );
    }
}

//! The JSON Schema of `runs.jsonl` lines, built from the metric catalogue
//! and the quantile grid the journal writes, so the shipped
//! `reports/contracts/runs.schema.json` cannot drift from the journal.
//! The other outputs' schemas are written by hand in
//! `reports/contracts/`; a test checks real outputs against every one.

use crate::sweep::record::{quantile_key, QUANTILES};
use serde_json::{json, Map, Value};

/// The schema of one line of `runs.jsonl`.
pub fn runs_schema() -> Value {
    let nullable = json!({ "type": ["number", "null"] });
    let metrics: Map<String, Value> = crate::catalogue::CATALOGUE
        .iter()
        .map(|m| {
            let mut s = nullable.clone();
            s["description"] = format!("{} ({})", m.label, m.column).into();
            (m.column.to_string(), s)
        })
        .collect();
    let metric_names: Vec<&str> = crate::catalogue::CATALOGUE
        .iter()
        .map(|m| m.column)
        .collect();
    let quantiles: Map<String, Value> = QUANTILES
        .iter()
        .map(|q| (quantile_key(*q), json!({ "type": "number", "minimum": 0 })))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "runs.schema.json",
        "title": "fleetsim runs.jsonl line",
        "description": "One line of a sweep's runs.jsonl: one run (a point on one seed), every value named.",
        "type": "object",
        "additionalProperties": false,
        "required": ["formatVersion", "fleetsimVersion", "run", "point", "seed", "metrics", "quantiles", "instances"],
        "properties": {
            "formatVersion": { "const": super::RUNS },
            "fleetsimVersion": { "type": "string" },
            "run": { "type": "integer", "minimum": 0, "description": "point * seeds + seed" },
            "point": { "type": "integer", "minimum": 0 },
            "seed": { "type": "integer", "minimum": 0 },
            "metrics": {
                "type": "object",
                "description": "Every metric of the run, keyed by its results.csv column; null when the run has no value.",
                "additionalProperties": false,
                "required": metric_names,
                "properties": metrics
            },
            "quantiles": {
                "type": "object",
                "description": "Latency seconds at each quantile (p0 .. p100); empty when nothing completed.",
                "additionalProperties": false,
                "properties": quantiles
            },
            "instances": {
                "type": "array",
                "items": { "type": "integer", "minimum": 0 },
                "description": "Requests each instance served, in the fleet's order."
            },
            "series": {
                "type": "object",
                "description": "The time series (sweeps of at most 64 points).",
                "required": ["time", "instances", "queued"],
                "properties": {
                    "time": { "type": "array", "items": { "type": "number" } },
                    "instances": { "type": "array", "items": { "type": "integer" } },
                    "queued": { "type": "array", "items": { "type": "integer" } }
                }
            },
            "findings": { "type": "array", "items": { "type": "object" } }
        }
    })
}

/// Every schema shipped, by file name: the generated one first, then
/// those written by hand (which the tests read from the directory).
pub const SHIPPED: &[&str] = &[
    "runs.schema.json",
    "result.schema.json",
    "manifest.schema.json",
    "matrix.schema.json",
    "robust.schema.json",
    "gate.schema.json",
    "baseline.schema.json",
    "plan.schema.json",
    "max-load.schema.json",
    "import.schema.json",
    "fit.schema.json",
    "calibration.schema.json",
];

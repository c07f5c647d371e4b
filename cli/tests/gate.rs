//! `fleetsim gate` end to end: baseline, pass, a regression in a changed
//! deployment with its exit code, JUnit and Markdown, and bad input.

mod common;

use common::{fleetsim, scratch, text};
use std::path::Path;

const FLEET: &str = r#"{
  "name": "gated",
  "run": { "seed": 5, "duration": "6m", "warmup": "1m" },
  "workload": { "arrivals": { "ratePerSecond": 4 } },
  "llm": { "models": { "m": { "latency": { "dist": "lognormal", "median": "600ms", "p99": "4s" } } } },
  "instanceTypes": { "t": { "slots": 2, "pricePerHour": 0.2 } },
  "deployment": {
    "regions": { "r": { "instances": 4 } },
    "loadBalancing": { "strategy": "least-connections" }
  },
  "slo": { "latency": { "p99": "8s" } }
}"#;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn gate_passes_unchanged_code_and_fails_a_worse_deployment() {
    let d = scratch("gate");
    let suite = d.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(suite.join("fleet.json"), FLEET).unwrap();

    // No baseline yet: bad input, saying how to write one.
    let o = fleetsim(&["gate", &s(&suite)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--update-baseline"));

    let o = fleetsim(&["gate", &s(&suite), "--update-baseline", "--seeds", "6"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let baseline = suite.join("fleetsim-baseline.json");
    assert!(baseline.is_file());

    let (junit, md) = (d.join("gate.xml"), d.join("gate.md"));
    let gate = || {
        fleetsim(&[
            "gate",
            &s(&suite),
            "--seeds",
            "6",
            "--junit",
            &s(&junit),
            "--markdown",
            &s(&md),
        ])
    };
    let o = gate();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("gate passed"));
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(
        x.contains("<testcase classname=\"fleet.json\" name=\"p99\""),
        "{x}"
    );
    assert!(!x.contains("<failure"));

    // Half the fleet: p99 and cost move, the SLO is missed; the file is
    // flagged as changed and compared all the same.
    std::fs::write(
        suite.join("fleet.json"),
        FLEET.replace("\"instances\": 4", "\"instances\": 2"),
    )
    .unwrap();
    let o = gate();
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("gate FAILED"), "{out}");
    assert!(out.contains("fleet.json (changed)"), "{out}");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(
        x.contains("name=\"p99\">\n      <failure message=\"p99 regressed\""),
        "{x}"
    );
    let m = std::fs::read_to_string(&md).unwrap();
    assert!(
        m.contains("**REGRESSION**") && m.contains("(changed)"),
        "{m}"
    );

    // Doubling the fleet: latency is no worse, but the bill doubles, a
    // cost regression.
    std::fs::write(
        suite.join("fleet.json"),
        FLEET.replace("\"instances\": 4", "\"instances\": 8"),
    )
    .unwrap();
    let o = fleetsim(&["gate", &s(&suite), "--seeds", "6", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let verdict = |metric: &str| {
        v["scenarios"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["metric"] == metric)
            .unwrap()["verdict"]
            .clone()
    };
    assert_eq!(
        verdict("cost"),
        "regression",
        "doubling the fleet doubles the bill"
    );
    assert_ne!(verdict("p99"), "regression");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_gate_files_are_refused_with_their_path() {
    let d = scratch("gate-bad");
    std::fs::write(d.join("fleet.json"), FLEET).unwrap();
    for (gate, expect) in [
        (r#"{"scenarios": []}"#, "scenarios"),
        (r#"{"scenarios": ["fleet.json"], "seeds": 1}"#, "seeds"),
        (
            r#"{"scenarios": ["fleet.json"], "thresholds": {"p99": 0.1}}"#,
            "thresholds.p99",
        ),
        (
            r#"{"scenarios": ["fleet.json"], "thresholds": {"p90": "10%"}}"#,
            "unknown threshold",
        ),
        (r#"{"scenarios": ["fleet.json"], "seed": 3}"#, "unknown key"),
        (r#"{"scenarios": ["missing.json"]}"#, "missing.json"),
    ] {
        let f = d.join("gate.json");
        std::fs::write(&f, gate).unwrap();
        let o = fleetsim(&["gate", &s(&f), "--update-baseline"]);
        assert_eq!(o.status.code(), Some(2), "{gate}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expect),
            "{gate}: {}",
            text(&o.stderr)
        );
    }
    assert!(
        !d.join("gate.baseline.json").exists(),
        "nothing written on bad input"
    );
}

/// A baseline is compared only if a run could have written it: every
/// value edited by hand out of its range, a run or figure deleted, no
/// seeds, or a scenario listed twice is refused with its path, exit 2
/// (each used to be answered `gate passed`).
#[test]
fn a_baseline_edited_out_of_shape_is_refused_with_its_path() {
    let d = scratch("gate-baseline");
    let suite = d.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(suite.join("fleet.json"), FLEET).unwrap();
    let o = fleetsim(&["gate", &s(&suite), "--update-baseline", "--seeds", "2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = suite.join("fleetsim-baseline.json");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(Edit, &str); 7] = [
        (
            |v| v["scenarios"][0]["runs"][0]["errorRate"] = 2.into(),
            "scenarios[0].runs[0].errorRate",
        ),
        (
            |v| v["scenarios"][0]["runs"][0]["p50"] = (-1).into(),
            "scenarios[0].runs[0].p50",
        ),
        (
            |v| {
                v["scenarios"][0]["runs"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("p99");
            },
            "scenarios[0].runs[0].p99",
        ),
        (
            |v| v["scenarios"][0]["runs"][0]["p99"] = serde_json::Value::Null,
            "scenarios[0].runs[0].p99",
        ),
        (
            |v| {
                v["scenarios"][0]["runs"].as_array_mut().unwrap().pop();
            },
            "scenarios[0].runs",
        ),
        (|v| v["seeds"] = 0.into(), "at `seeds`"),
        (
            |v| {
                let again = v["scenarios"][0].clone();
                v["scenarios"].as_array_mut().unwrap().push(again);
            },
            "scenarios[1].scenario",
        ),
    ];
    for (edit, path) in edits {
        let mut v = good.clone();
        edit(&mut v);
        std::fs::write(&file, v.to_string()).unwrap();
        let o = fleetsim(&["gate", &s(&suite), "--seeds", "2"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{path}: {}{err}", text(&o.stdout));
        assert!(
            err.contains(path) && err.contains("--update-baseline"),
            "{path}: {err}"
        );
    }
    // The baseline as written passes.
    std::fs::write(&file, good.to_string()).unwrap();
    let o = fleetsim(&["gate", &s(&suite), "--seeds", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

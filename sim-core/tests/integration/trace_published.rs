//! The rest of traces as they are published: Mooncake's JSON lines, gzip
//! files, user names numbered by first appearance, classes taken from the
//! trace without shares, a trace's speed, prefill time per input token,
//! and the offered load of a trace's own rows and tokens.

use serde_json::{json, Value};
use sim_core::{run_model, Model, RunOptions, RunResult};
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-tracepub-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A scenario in `d` replaying `file` (already written there), with
/// `patch` merged over the base key by key (one level deep).
fn scenario(d: &Path, file: &str, patch: Value) -> PathBuf {
    let mut s = json!({
        "name": "trace-published",
        "run": { "duration": "10m" },
        "workload": { "trace": { "file": file } },
        "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" },
                                     "pricePer1kInputTokens": 0.001,
                                     "pricePer1kOutputTokens": 0.002 } } },
        "instanceTypes": { "t": { "slots": 64 } },
        "deployment": { "regions": { "r": { "instances": 2 } } }
    });
    merge(&mut s, &patch);
    let p = d.join("s.json");
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    p
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

fn run(m: &Model) -> RunResult {
    let r = run_model(
        m,
        RunOptions {
            replications: Some(1),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    r.runs.into_iter().next().unwrap()
}

fn load(p: &Path) -> Model {
    Model::from_file(p).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(p: &Path) -> String {
    match Model::from_file(p) {
        Ok(_) => panic!("{} was accepted", p.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn prefill_lengthens_each_call_by_its_input_tokens() {
    let d = dir("prefill");
    // No queueing (128 slots, 3 requests): each latency is the call's.
    std::fs::write(d.join("t.csv"), "time,input_tokens\n1,100\n2,300\n3,1100\n").unwrap();
    let unpriced = json!({ "llm": { "models": { "m": {
        "latency": { "dist": "constant", "value": "500ms" },
        "timePerInputToken": "1ms", "pricePer1kInputTokens": 0, "pricePer1kOutputTokens": 0 } } } });
    let m = load(&scenario(&d, "t.csv", unpriced.clone()));
    let r = run(&m);
    // 0.5 + 0.1, 0.5 + 0.3, 0.5 + 1.1: a mean of 1.0s.
    assert_eq!(r.counts.completed, 3);
    let mean = r.latency.mean.unwrap();
    assert!((mean - 1.0).abs() < 1e-9, "{mean}");
    // The same model with input tokens drawn: a constant 200 adds 200ms.
    std::fs::write(d.join("t2.csv"), "time\n1\n2\n").unwrap();
    let mut patch = unpriced;
    patch["workload"] = json!({ "trace": { "file": "t2.csv" },
                                "request": { "inputTokens": { "dist": "constant", "value": 200 } } });
    let m = load(&scenario(&d, "t2.csv", patch));
    let r = run(&m);
    let mean = r.latency.mean.unwrap();
    assert!((mean - 0.7).abs() < 1e-9, "{mean}");
    // The offered load's service time counts it too: 2 rows in 600s,
    // 0.7s each, over 128 slots.
    let rho = m.offered_utilization();
    let want = 2.0 / 600.0 * 0.7 / 128.0;
    assert!(
        (rho - want).abs() < 1e-12 * want.max(1.0),
        "{rho} vs {want}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn prefill_needs_input_tokens_and_reads_a_trace_column() {
    let d = dir("prefill-needs");
    std::fs::write(d.join("t.csv"), "time\n1\n").unwrap();
    let patch = json!({ "llm": { "models": { "m": {
        "latency": { "dist": "constant", "value": "500ms" },
        "timePerInputToken": "1ms", "pricePer1kInputTokens": 0, "pricePer1kOutputTokens": 0 } } } });
    let e = refused(&scenario(&d, "t.csv", patch));
    assert!(
        e.contains("llm.models.m.timePerInputToken")
            && e.contains("needs workload.request.inputTokens"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

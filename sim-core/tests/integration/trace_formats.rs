//! Public LLM traces as they are published: other column names, datetimes,
//! milliseconds, a first row far from time 0, quoted fields.

use sim_core::trace::parse_datetime;
use sim_core::{run_model, Model, RunOptions};
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-tracefmt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A scenario replaying `trace` (written as `t.csv`) with `trace_keys`
/// merged into `workload.trace`.
fn scenario(d: &std::path::Path, trace: &str, trace_keys: serde_json::Value) -> PathBuf {
    std::fs::write(d.join("t.csv"), trace).unwrap();
    let mut t = serde_json::json!({ "file": "t.csv" });
    for (k, v) in trace_keys.as_object().unwrap() {
        t[k] = v.clone();
    }
    let s = serde_json::json!({
        "name": "trace-format",
        "run": { "duration": "10m" },
        "workload": { "trace": t },
        "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" },
                                     "pricePer1kInputTokens": 0.001, "pricePer1kOutputTokens": 0.002 } } },
        "instanceTypes": { "t": { "slots": 8 } },
        "deployment": { "regions": { "r": { "instances": 2 } } }
    });
    let p = d.join("s.json");
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    p
}

#[test]
fn datetimes_with_up_to_nine_fractional_digits() {
    assert_eq!(parse_datetime("1970-01-01 00:00:01.5"), Some(1_500_000_000));
    assert_eq!(
        parse_datetime("2023-11-16 18:15:46.6805900"),
        Some(1_700_158_546_680_590_000)
    );
    assert_eq!(
        parse_datetime("2023-11-16T18:15:46Z"),
        Some(1_700_158_546_000_000_000)
    );
    assert_eq!(
        parse_datetime("2024-02-29 00:00:00.123456789"),
        Some(1_709_164_800_123_456_789)
    );
    for bad in [
        "2023-13-01 00:00:00",
        "2023-11-16",
        "16/11/2023 18:15:46",
        "2023-11-16 18:15:46.1234567890",
    ] {
        assert_eq!(parse_datetime(bad), None, "{bad}");
    }
}

#[test]
fn an_azure_llm_trace_replays_as_published_from_its_first_row() {
    let d = dir("azure");
    // Day 320 of 2023: without `start`, the run would be 320 empty days.
    let trace = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
        2023-11-16 18:15:46.6805900,4808,10\n\
        2023-11-16 18:15:50.9951690,3180,8\n\
        2023-11-16 18:16:00.0000000,110,27\n\
        2023-11-16 18:35:46.6805900,7,1\n";
    let p = scenario(&d, trace, serde_json::json!({ "format": "azure-llm" }));
    let m = Model::from_file(&p).unwrap_or_else(|e| panic!("{e}"));
    // Three rows fall within the 10 minutes from the first; the fourth is
    // 20 minutes in.
    assert_eq!(m.workload.trace.as_ref().unwrap().rows, 3);
    let r = run_model(
        &m,
        RunOptions {
            replications: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    let run = &r.runs[0];
    assert_eq!(run.counts.arrivals, 3);
    assert_eq!(run.tokens.input, 4808 + 3180 + 110);
    assert_eq!(run.tokens.output, 10 + 8 + 27);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_burstgpt_trace_reads_its_own_columns_and_ignores_the_rest() {
    let d = dir("burst");
    let trace = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
        5,ChatGPT,472,18,490,Conversation log\n\
        45,\"GPT-4\",1087,190,1277,\"API log, batch\"\n\
        118,ChatGPT,417,0,417,Conversation log\n";
    let p = scenario(&d, trace, serde_json::json!({ "format": "burstgpt" }));
    let m = Model::from_file(&p).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(
        &m,
        RunOptions {
            replications: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.runs[0].counts.arrivals, 3);
    assert_eq!(r.runs[0].tokens.input, 472 + 1087 + 417);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn milliseconds_a_column_map_and_a_start_offset() {
    let d = dir("ms");
    // ms since some epoch; start 2s into the trace drops the first row.
    let trace =
        "ts_ms,uid,in,out\n1700000000000,3,10,5\n1700000002500,4,20,5\n1700000004000,5,30,5\n";
    let keys = serde_json::json!({
        "columns": { "time": "ts_ms", "inputTokens": "in", "outputTokens": "out" },
        "timeUnit": "ms",
        "start": "2s"
    });
    let p = scenario(&d, trace, keys);
    let m = Model::from_file(&p).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(
        &m,
        RunOptions {
            replications: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.runs[0].counts.arrivals, 2);
    assert_eq!(r.runs[0].tokens.input, 50);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_mapped_column_the_file_lacks_is_named_with_the_header() {
    let d = dir("missing");
    let p = scenario(
        &d,
        "TIMESTAMP,Tokens\n2023-11-16 18:15:46,3\n",
        serde_json::json!({ "format": "azure-llm" }),
    );
    let e = Model::from_file(&p).unwrap_err().to_string();
    assert!(
        e.contains(
            "no column `ContextTokens` (columns.inputTokens); the header has: TIMESTAMP, Tokens"
        ),
        "{e}"
    );
    let p = scenario(&d, "time\n1\n", serde_json::json!({ "start": "soon" }));
    let e = Model::from_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("at `workload.trace.start`: `soon`: give `first-row`"),
        "{e}"
    );
    let p = scenario(&d, "ts\n1\n", serde_json::json!({}));
    let e = Model::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("workload.trace.columns"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_time_unit_on_datetimes_is_refused_as_it_could_not_act() {
    let d = dir("unit-on-dates");
    let p = scenario(
        &d,
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,4808,10\n",
        serde_json::json!({ "format": "azure-llm", "timeUnit": "ms" }),
    );
    let e = Model::from_file(&p).unwrap_err().to_string();
    assert!(
        e.contains("workload.trace.timeUnit applies to numeric times only"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

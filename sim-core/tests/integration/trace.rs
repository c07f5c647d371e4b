//! Trace replay: every row of the CSV arrives at its time, in every
//! replication, the series counts each window's rows exactly, and a
//! malformed trace is refused with its file, line and what is wrong.

use sim_core::{run_model, Model, RunOptions};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/agents")
}

/// The trace's arrival times, read independently of sim-core.
fn times() -> Vec<f64> {
    std::fs::read_to_string(dir().join("traces/launch-half-hour.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("time"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn every_row_arrives_in_its_window_in_every_replication() {
    let m = Model::from_file(dir().join("trace-replay.json")).unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let t = times();
    assert_eq!(m.workload.trace.as_ref().unwrap().rows, t.len() as u64);
    for run in &r.runs {
        assert_eq!(run.counts.arrivals, t.len() as u64, "no warm-up: every row");
        assert!(run.counts.conserved());
        let mut prev = 0.0;
        for row in &run.series {
            let expected = t.iter().filter(|&&x| x >= prev && x < row.time).count() as f64;
            let got = (row.arrival_rate * (row.time - prev)).round();
            assert_eq!(got, expected, "window ending {}s", row.time);
            prev = row.time;
        }
    }
    // The batches: a long tail over a moderate mean load.
    let l = &r.pooled.latency;
    assert!(l.p99.unwrap() > 3.0 * l.p50.unwrap(), "{l:?}");
    assert!(r.pooled.breakdown.queueing > 0.3);
    assert!(r.runs[0].utilization < 0.5);
    // Tenant 2 sends the batches and waits longest.
    let s = &r.runs[0].tenants.as_ref().unwrap().slowdown;
    assert!(
        s[2].unwrap() > 1.1 && s[0].unwrap() < 1.0 && s[1].unwrap() < 1.0,
        "{s:?}"
    );
}

#[test]
fn a_malformed_trace_is_refused_with_its_line() {
    let tmp = std::env::temp_dir().join(format!("fleetsim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let scenario = |csv: &str, users: bool| {
        std::fs::write(tmp.join("t.csv"), csv).unwrap();
        let users = if users {
            r#", "users": { "count": 10, "tenants": 2 }"#
        } else {
            ""
        };
        let text = format!(
            r#"{{ "name": "t", "run": {{ "duration": "1h" }},
              "workload": {{ "trace": {{ "file": "t.csv" }}{users} }},
              "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "1s" }} }} }} }},
              "instanceTypes": {{ "t": {{ "slots": 4 }} }},
              "deployment": {{ "regions": {{ "r": {{ "instances": 1 }} }} }} }}"#
        );
        std::fs::write(tmp.join("s.json"), text).unwrap();
        Model::from_file(tmp.join("s.json"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(scenario("time\n1.5\n2\n", false).is_ok());
    for (csv, users, expect) in [
        (
            "time\n2\n1\n",
            false,
            "line 3: time 1 is before the row above it",
        ),
        (
            "time\n1\nabc\n",
            false,
            "line 3: time `abc` is not a number",
        ),
        ("when\n1\n", false, "line 1: unknown column `when`"),
        ("user\n1\n", true, "no `time` column"),
        ("time,user\n1,3\n", false, "give workload.users"),
        ("time,user\n1,10\n", true, "line 2: user 10 is not one of"),
        (
            "time,user,tenant\n1,3,0\n",
            true,
            "user 3 belongs to tenant 1",
        ),
        ("time\n7200\n", false, "no row before run.duration"),
        ("", false, "empty"),
    ] {
        let e = scenario(csv, users).unwrap_err();
        assert!(
            e.contains("workload.trace.file") && e.contains(expect),
            "{csv:?}: {e}"
        );
    }
    // Rows are read strictly and bounded: every field the header names,
    // a finite time, a value quoted in an error clipped, a line of at
    // most MAX_TRACE_LINE (a file with no line end is not read whole).
    let long_field = format!("{}x", "9".repeat(100_000));
    let endless = "0".repeat(sim_core::trace::MAX_TRACE_LINE as usize + 10);
    for (csv, expect) in [
        (
            "time,user\n1,2,3\n".to_string(),
            "line 2: 3 fields, the header names 2",
        ),
        (
            "time,user\n1\n".to_string(),
            "line 2: 1 fields, the header names 2",
        ),
        (
            "time\n1e400\n".to_string(),
            "line 2: time `1e400` is not a finite number of seconds",
        ),
        (
            format!("time\n{long_field}\n"),
            "is not a number of seconds",
        ),
        (format!("time\n{endless}"), "line 2: longer than 1 MiB"),
    ] {
        let e = scenario(&csv, true).unwrap_err();
        assert!(
            e.contains("workload.trace.file") && e.contains(expect),
            "{}: {e:.300}",
            &csv[..csv.len().min(40)]
        );
        assert!(
            e.len() < 1000,
            "the error quotes the row whole: {} bytes",
            e.len()
        );
    }
    std::fs::remove_file(tmp.join("t.csv")).unwrap();
    let e = scenario_missing(&tmp);
    assert!(e.contains("cannot read"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

fn scenario_missing(tmp: &std::path::Path) -> String {
    Model::from_file(tmp.join("s.json"))
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

/// A trace that cannot be read is one problem: its token columns are
/// unknown then, not missing, so no "needs inputTokens" follows it.
#[test]
fn an_unreadable_trace_is_not_followed_by_token_errors() {
    let tmp = std::env::temp_dir().join(format!("fleetsim-trace-echo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("t.csv"), "time,input_tokens\n1,100\nabc,5\n").unwrap();
    let text = r#"{ "name": "t", "run": { "duration": "1h" },
      "workload": { "trace": { "file": "t.csv" } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" },
                                  "pricePer1kInputTokens": 0.01 } } },
      "instanceTypes": { "t": { "slots": 4 } },
      "deployment": { "regions": { "r": { "instances": 1 } } } }"#;
    std::fs::write(tmp.join("s.json"), text).unwrap();
    let e = Model::from_file(tmp.join("s.json")).unwrap_err();
    let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["workload.trace.file"], "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A row exactly on a window's edge lands in the window that starts there
/// ([t - i, t) is each row's window), even when it was scheduled before
/// that row was (the row at 30s is read at 10s, before the 30s row is due).
#[test]
fn a_row_on_a_window_edge_lands_in_the_window_it_starts() {
    let tmp = std::env::temp_dir().join(format!("fleetsim-edges-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        tmp.join("t.csv"),
        "time\n0\n0\n10\n10\n10\n30\n40\n49.999\n50\n60\n",
    )
    .unwrap();
    let s = serde_json::json!({
      "name": "edges", "run": { "seed": 1, "duration": "60s", "warmup": "0s", "seriesInterval": "10s" },
      "workload": { "trace": { "file": "t.csv" }, "request": { "llmCalls": 1 } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1ms" } } } },
      "instanceTypes": { "a": { "slots": 100 } },
      "deployment": { "regions": { "r": { "instances": 1 } } }
    });
    std::fs::write(tmp.join("s.json"), s.to_string()).unwrap();
    let m = Model::from_file(tmp.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    let series = &r.runs[0].series;
    assert_eq!(
        series.len(),
        6,
        "one row per window, the last at the run's end"
    );
    let counts: Vec<f64> = series
        .iter()
        .map(|row| (row.arrival_rate * 10.0).round())
        .collect();
    assert_eq!(counts, [2.0, 3.0, 0.0, 1.0, 2.0, 1.0]);
}

//! A trace's `service_time` column: each request holds its slot for
//! exactly its given time, so a single FIFO server replays to the response
//! times Lindley's recursion gives; the column costs nothing when absent
//! and a bad value is refused with its line and column.

use sim_core::request_trace::{TraceBook, TraceRow, TraceSink};
use sim_core::rng::stream;
use sim_core::{run_model, run_model_traced, LatencyRecorder, Model, RunControl, RunOptions};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fleetsim-svc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A one-instance scenario replaying `t.csv` in `dir`; `slots` per
/// instance and an LLM latency the trace's service times replace.
fn scenario(dir: &std::path::Path, csv: &str, slots: u32, extra: &str) -> Result<Model, String> {
    std::fs::write(dir.join("t.csv"), csv).unwrap();
    let text = format!(
        r#"{{ "name": "t", "run": {{ "duration": "2h", "replications": 1 }},
          "workload": {{ "trace": {{ "file": "t.csv" }}, "request": {{ "llmCalls": 1 }} }},
          "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "lognormal", "median": "3s", "p99": "20s" }}{extra} }} }} }},
          "instanceTypes": {{ "t": {{ "slots": {slots} }} }},
          "deployment": {{ "regions": {{ "r": {{ "instances": 1 }} }} }} }}"#
    );
    std::fs::write(dir.join("s.json"), text).unwrap();
    Model::from_file(dir.join("s.json")).map_err(|e| e.to_string())
}

/// Each traced request's (arrival, latency) in seconds, by arrival order.
#[derive(Clone, Default)]
struct Rows(Arc<Mutex<Vec<(u64, f64)>>>);

impl TraceSink for Rows {
    fn write(&mut self, row: &TraceRow<'_>) -> std::io::Result<()> {
        self.0.lock().unwrap().push((row.request, row.latency_s));
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Arrivals (ms, whole) and service times (µs, whole) drawn from a seeded
/// stream: a load near 80% on one server.
fn workload(seed: u64, n: usize) -> Vec<(u64, u64)> {
    use rand::Rng;
    let mut rng = stream(seed, 0, sim_core::rng::Purpose::Arrivals);
    let mut t_ms = 0u64;
    (0..n)
        .map(|_| {
            let gap: f64 = -rng.random::<f64>().ln() * 1000.0;
            t_ms += gap.round() as u64;
            let s: f64 = -rng.random::<f64>().ln() * 800_000.0;
            (t_ms, s.round() as u64)
        })
        .collect()
}

#[test]
fn a_single_fifo_server_replays_to_lindleys_response_times() {
    let dir = tmp("lindley");
    for seed in [1u64, 2, 3] {
        let rows = workload(seed, 2000);
        let mut csv = String::from("time,service_time\n");
        for (t, s) in &rows {
            csv += &format!(
                "{}.{:03},{}.{:06}\n",
                t / 1000,
                t % 1000,
                s / 1_000_000,
                s % 1_000_000
            );
        }
        let model = scenario(&dir, &csv, 1, "").unwrap();
        // Lindley: W(n+1) = max(0, W(n) + S(n) - A(n+1)); response = W + S,
        // in whole nanoseconds.
        let mut expect = Vec::with_capacity(rows.len());
        let mut free_at = 0u64;
        for &(t_ms, s_us) in &rows {
            let (a, s) = (t_ms * 1_000_000, s_us * 1000);
            let start = free_at.max(a);
            free_at = start + s;
            expect.push(free_at - a);
        }
        let sink = Rows::default();
        let mut book = TraceBook::new(Box::new(sink.clone()), 1);
        let r =
            run_model_traced(&model, RunOptions::default(), &RunControl::new(), &mut book).unwrap();
        book.finish().unwrap();
        let mut got = sink.0.lock().unwrap().clone();
        got.sort_by_key(|&(n, _)| n);
        assert_eq!(got.len(), rows.len(), "every request ends");
        for (&(n, secs), &want) in got.iter().zip(&expect) {
            let want = want as f64 / 1e9;
            assert!(
                (secs - want).abs() < 1e-9,
                "seed {seed} request {n}: {secs} s, Lindley {want} s"
            );
        }
        let mut rec = LatencyRecorder::default();
        for &ns in &expect {
            rec.record(ns);
        }
        let (l, w) = (&r.pooled.latency, rec.summary());
        assert_eq!(l.count, w.count);
        assert_eq!(l.p50, w.p50, "seed {seed}");
        assert_eq!(l.p99, w.p99, "seed {seed}");
        assert_eq!(l.mean, w.mean, "seed {seed}");
        assert!(
            l.p99.unwrap() > 3.0 * l.p50.unwrap(),
            "a queue formed: {l:?}"
        );
    }
}

#[test]
fn service_times_are_slowed_by_a_slow_instance_and_kept_per_request() {
    // Two slots, no queueing: each latency is its own service time.
    let dir = tmp("slots");
    let csv = "time,service_time\n0.05,1.5\n0.1,0.25\n10,2\n";
    let model = scenario(&dir, csv, 2, "").unwrap();
    let r = run_model(&model, RunOptions::default()).unwrap();
    assert_eq!(r.pooled.latency.max, Some(2.0));
    assert_eq!(r.pooled.latency.mean, Some((1.5 + 0.25 + 2.0) / 3.0));
    // A slow instance (factor 3) slows the given times as it does drawn ones.
    let text = std::fs::read_to_string(dir.join("s.json")).unwrap().replace(
        r#""deployment""#,
        r#""failures": { "events": [ { "type": "slow-instance", "instance": "r/0", "at": "0s", "duration": "1h", "factor": 3 } ] }, "deployment""#,
    );
    std::fs::write(dir.join("slow.json"), text).unwrap();
    let slow = Model::from_file(dir.join("slow.json")).unwrap();
    let r = run_model(&slow, RunOptions::default()).unwrap();
    assert_eq!(r.pooled.latency.max, Some(6.0));
    assert_eq!(r.pooled.latency.mean, Some(3.0 * (1.5 + 0.25 + 2.0) / 3.0));
}

#[test]
fn without_the_column_results_are_the_drawn_ones() {
    let dir = tmp("absent");
    let plain = scenario(&dir, "time\n0\n1\n2\n3\n", 1, "").unwrap();
    let a = run_model(&plain, RunOptions::default()).unwrap();
    // The same file with a service time column whose rows are the drawn
    // times would differ; absent, the drawn LLM latency is served.
    let l = a.pooled.latency;
    assert_eq!(l.count, 4);
    assert!(l.mean.unwrap() > 0.0);
    let given = scenario(&dir, "time,service_time\n0,0\n1,0\n2,0\n3,0\n", 1, "").unwrap();
    let b = run_model(&given, RunOptions::default()).unwrap();
    assert_eq!(
        b.pooled.latency.max,
        Some(0.0),
        "a zero service time is served at once"
    );
}

#[test]
fn a_bad_service_time_is_refused_with_its_line_and_column() {
    let dir = tmp("bad");
    for (csv, expect) in [
        (
            "time,service_time\n0,1\n1,x\n",
            "line 3 column 2: service_time `x` is not a number",
        ),
        (
            "time,service_time\n0,-1\n",
            "line 2 column 2: service_time `-1` is below 0",
        ),
        (
            "time,service_time\n0,\n",
            "line 2 column 2: no service_time",
        ),
        (
            "time,user,service_time\n0,,inf\n",
            "line 2 column 3: service_time `inf` is not a finite",
        ),
    ] {
        let e = scenario(&dir, csv, 1, "").unwrap_err();
        assert!(e.contains(expect), "{csv:?}: {e}");
        assert!(
            e.contains("workload.trace.file") && e.contains("t.csv"),
            "{e}"
        );
    }
    // Calls that are events of their own (token prices) refuse the column.
    std::fs::write(dir.join("t.csv"), "time,service_time\n0,1\n").unwrap();
    let text = r#"{ "name": "t", "run": { "duration": "1h" },
      "workload": { "trace": { "file": "t.csv" },
        "request": { "llmCalls": 1, "inputTokens": { "dist": "constant", "value": 100 } } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" },
        "pricePer1kInputTokens": 0.01 } } },
      "instanceTypes": { "t": { "slots": 1 } },
      "deployment": { "regions": { "r": { "instances": 1 } } } }"#;
    std::fs::write(dir.join("p.json"), text).unwrap();
    let m = Model::from_file(dir.join("p.json")).unwrap();
    let e = run_model(&m, RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`service_time` column") && e.contains("t.csv"),
        "{e}"
    );
}

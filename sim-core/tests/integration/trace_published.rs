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
        "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" } } } },
        "instanceTypes": { "t": { "slots": 64 } },
        "deployment": { "regions": { "r": { "instances": 2 } } }
    });
    merge(&mut s, &patch);
    let p = d.join("s.json");
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    p
}

/// Prices on the model, so a trace's token columns are read.
fn priced(mut patch: Value) -> Value {
    merge(
        &mut patch,
        &json!({ "llm": { "models": { "m": {
            "pricePer1kInputTokens": 0.001, "pricePer1kOutputTokens": 0.002 } } } }),
    );
    patch
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

/// A Mooncake trace as published (FAST'25): JSON lines of `timestamp`
/// (ms from the first request), `input_length`, `output_length` and
/// `hash_ids`, which is ignored.
const MOONCAKE: &str = r#"{"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}
{"timestamp": 0, "input_length": 7319, "output_length": 490, "hash_ids": [0, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]}
{"timestamp": 3052, "input_length": 7234, "output_length": 794, "hash_ids": [0, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41]}
{"timestamp": 3052, "input_length": 2287, "output_length": 316, "hash_ids": [0, 42, 43, 44, 45]}
{"timestamp": 700000, "input_length": 9, "output_length": 9, "hash_ids": [46]}
"#;

#[test]
fn a_mooncake_trace_replays_as_published() {
    let d = dir("mooncake");
    std::fs::write(d.join("t.jsonl"), MOONCAKE).unwrap();
    let m = load(&scenario(
        &d,
        "t.jsonl",
        priced(json!({ "workload": { "trace": { "format": "mooncake" } } })),
    ));
    // 700s is past the 10 minutes.
    assert_eq!(m.workload.trace.as_ref().unwrap().rows, 4);
    let r = run(&m);
    assert_eq!(r.counts.arrivals, 4);
    assert_eq!(r.tokens.input, 6755 + 7319 + 7234 + 2287);
    assert_eq!(r.tokens.output, 500 + 490 + 794 + 316);
    // The same file gzipped reads the same: detected by its magic bytes,
    // whatever its name.
    gzip(&d.join("t.jsonl"), &d.join("t.data"));
    let g = load(&scenario(
        &d,
        "t.data",
        priced(json!({ "workload": { "trace": { "format": "mooncake" } } })),
    ));
    assert!(g.workload.trace.as_ref().unwrap().gzip);
    let rg = run(&g);
    assert_eq!(
        serde_json::to_string(&rg).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn gzip(from: &Path, to: &Path) {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&std::fs::read(from).unwrap()).unwrap();
    std::fs::write(to, e.finish().unwrap()).unwrap();
}

#[test]
fn json_lines_with_a_column_map_and_errors_with_line_and_column() {
    let d = dir("jsonl");
    // Own keys, no map: a user name, a class, quoted and bare values.
    std::fs::write(
        d.join("own.jsonl"),
        "{\"time\": 1.5, \"input_tokens\": 10, \"output_tokens\": 3}\n\n\
         {\"time\": \"2\", \"input_tokens\": 20, \"output_tokens\": 4}\n",
    )
    .unwrap();
    let m = load(&scenario(&d, "own.jsonl", priced(json!({}))));
    let r = run(&m);
    assert_eq!((r.tokens.input, r.tokens.output), (30, 7));
    // Mapped keys; the rest ignored, nested or not.
    std::fs::write(
        d.join("map.jsonl"),
        "{\"t\": 100, \"extra\": {\"a\": [1, \"}\"]}, \"in\": 5, \"out\": 1}\n\
         {\"in\": 6, \"out\": 2, \"t\": 2100}\n",
    )
    .unwrap();
    let keys = priced(json!({ "workload": { "trace": { "timeUnit": "ms",
        "columns": { "time": "t", "inputTokens": "in", "outputTokens": "out" } } } }));
    let m = load(&scenario(&d, "map.jsonl", keys.clone()));
    let r = run(&m);
    assert_eq!((r.counts.arrivals, r.tokens.input), (2, 11));
    for (text, expect) in [
        (
            "{\"t\": 1, \"in\": 5, \"out\": 1}\n{\"t\": 2, \"in\": 5 \"out\": 1}\n",
            "map.jsonl line 2 column 18: expected `,` or the object's closing `}`",
        ),
        (
            "{\"t\": 1, \"in\": 5, \"out\": 1}\n{\"t\": 2, \"in\": [5], \"out\": 1}\n",
            "map.jsonl line 2 column 16: key `in` is an array or object",
        ),
        (
            "{\"t\": 1, \"in\": 5, \"out\": 1}\n{\"t\": 2, \"in\": 5.5, \"out\": 1}\n",
            "map.jsonl line 2: key `in` `5.5` is not a whole number",
        ),
        (
            "{\"t\": 1, \"in\": 5}\n",
            "map.jsonl line 1: no key `out`: a row must give the tokens",
        ),
        (
            "{\"in\": 5, \"out\": 1}\n",
            "map.jsonl line 1: no key `t` (the time)",
        ),
        (
            "{\"t\": 9, \"in\": 5, \"out\": 1}\n{\"t\": 2, \"in\": 5, \"out\": 1}\n",
            "map.jsonl line 2: key `t` 2 is before the row above it",
        ),
        (
            "{\"t\": 1, \"in\": \"5",
            "line 1 column 16: expected a closing `\"`",
        ),
    ] {
        std::fs::write(d.join("map.jsonl"), text).unwrap();
        let e = refused(&scenario(&d, "map.jsonl", keys.clone()));
        assert!(e.contains(expect), "{text:?}: {e}");
    }
    // Own keys are strict: an unknown key, or a known one the first row
    // lacks, is refused.
    for (text, expect) in [
        (
            "{\"time\": 1, \"when\": 2}\n",
            "line 1 column 13: unknown key `when`",
        ),
        (
            "{\"time\": 1}\n{\"time\": 2, \"input_tokens\": 4}\n",
            "line 2 column 13: key `input_tokens` is not in the first row",
        ),
    ] {
        std::fs::write(d.join("own.jsonl"), text).unwrap();
        let e = refused(&scenario(&d, "own.jsonl", json!({})));
        assert!(e.contains(expect), "{text:?}: {e}");
    }
    // A Mooncake format on a CSV file says what it reads.
    std::fs::write(d.join("t.csv"), "time\n1\n").unwrap();
    let e = refused(&scenario(
        &d,
        "t.csv",
        json!({ "workload": { "trace": { "format": "mooncake" } } }),
    ));
    assert!(e.contains("t.csv line 1: not a JSON object"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_gzipped_csv_streams_and_a_corrupt_one_is_refused_with_its_line() {
    let d = dir("gz");
    let mut csv = String::from("time,input_tokens,output_tokens\n");
    for i in 0..500 {
        csv.push_str(&format!("{},{},{}\n", i, 100 + i % 7, 10 + i % 3));
    }
    std::fs::write(d.join("t.csv"), &csv).unwrap();
    gzip(&d.join("t.csv"), &d.join("t.csv.gz"));
    let plain = run(&load(&scenario(&d, "t.csv", priced(json!({})))));
    let m = load(&scenario(&d, "t.csv.gz", priced(json!({}))));
    assert_eq!(m.workload.trace.as_ref().unwrap().rows, 500);
    let gz = run(&m);
    assert_eq!(
        serde_json::to_string(&gz).unwrap(),
        serde_json::to_string(&plain).unwrap()
    );
    // A file cut short: refused with where the stream broke.
    let bytes = std::fs::read(d.join("t.csv.gz")).unwrap();
    std::fs::write(d.join("cut.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let e = refused(&scenario(&d, "cut.gz", priced(json!({}))));
    assert!(
        e.contains("cut.gz line") && e.contains("cannot decompress"),
        "{e}"
    );
    // A file that changed after its check is not replayed.
    let m = load(&scenario(&d, "t.csv.gz", priced(json!({}))));
    std::fs::write(d.join("t.csv.gz"), &bytes[..bytes.len() - 8]).unwrap();
    let e = run_model(&m, RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("changed since the scenario was checked"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn user_names_are_numbered_by_first_appearance() {
    let d = dir("names");
    std::fs::write(
        d.join("t.csv"),
        "time,user\n1,alice\n2,bob\n3,alice\n4,\"carol, jr\"\n5,bob\n",
    )
    .unwrap();
    let users = |count: u32| json!({ "workload": { "users": { "count": count } } });
    let m = load(&scenario(&d, "t.csv", users(3)));
    let t = m.workload.trace.as_ref().unwrap();
    let names = t.user_names.as_ref().unwrap();
    assert_eq!(names.len(), 3);
    assert_eq!(
        (names.get("alice"), names.get("bob"), names.get("carol, jr")),
        (Some(0), Some(1), Some(2))
    );
    let a = run(&m);
    assert_eq!(a.counts.arrivals, 5);
    // Deterministic: the same again, byte for byte.
    assert_eq!(
        serde_json::to_string(&run(&m)).unwrap(),
        serde_json::to_string(&a).unwrap()
    );
    // The count is checked, never defaulted: two users cannot hold three
    // names.
    let e = refused(&scenario(&d, "t.csv", users(2)));
    assert!(
        e.contains("t.csv line 5: user `carol, jr` is numbered 2")
            && e.contains("workload.users.count is 2"),
        "{e}"
    );
    // Names need users to belong to.
    let e = refused(&scenario(&d, "t.csv", json!({})));
    assert!(e.contains("give workload.users"), "{e}");
    // Numbers and names do not mix.
    std::fs::write(d.join("t.csv"), "time,user\n1,7\n2,bob\n").unwrap();
    let e = refused(&scenario(&d, "t.csv", users(10)));
    assert!(
        e.contains("line 3: user `bob` is a name, but line 2 gave a number"),
        "{e}"
    );
    std::fs::write(d.join("t.csv"), "time,user\n1,bob\n2,7\n").unwrap();
    let e = refused(&scenario(&d, "t.csv", users(10)));
    assert!(
        e.contains("line 3: user `7` is a number, but line 2 gave a name"),
        "{e}"
    );
    // With tenants, a name is numbered within the tenant its row gives.
    std::fs::write(
        d.join("t.csv"),
        "time,user,tenant\n1,x,1\n2,y,1\n3,z,0\n4,x,\n",
    )
    .unwrap();
    let m = load(&scenario(
        &d,
        "t.csv",
        json!({ "workload": { "users": { "count": 4, "tenants": 2 } } }),
    ));
    let names = m
        .workload
        .trace
        .as_ref()
        .unwrap()
        .user_names
        .clone()
        .unwrap();
    assert_eq!(
        (names.get("x"), names.get("y"), names.get("z")),
        (Some(1), Some(3), Some(0))
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn speed_two_halves_every_time_from_the_start() {
    let d = dir("speed");
    std::fs::write(d.join("t.csv"), "time\n11\n31\n101\n1001\n").unwrap();
    let base = json!({ "llm": { "models": { "m": {
        "pricePer1kInputTokens": 0, "pricePer1kOutputTokens": 0 } } } });
    let m1 = load(&scenario(&d, "t.csv", base.clone()));
    // 1001s is past the 10 minutes at speed 1, at 500.5s within them at 2.
    assert_eq!(m1.workload.trace.as_ref().unwrap().rows, 3);
    let mut fast = base.clone();
    fast["workload"] = json!({ "trace": { "speed": 2 } });
    let m2 = load(&scenario(&d, "t.csv", fast));
    assert_eq!(m2.workload.trace.as_ref().unwrap().rows, 4);
    // The arrivals: 5.5, 15.5, 50.5, 500.5s, seen in the series' 10s
    // windows (each row's time is its window's end).
    let r = run(&m2);
    assert_eq!(r.counts.arrivals, 4);
    let when: Vec<f64> = r
        .series
        .iter()
        .filter(|row| row.arrival_rate > 0.0)
        .map(|row| row.time)
        .collect();
    assert_eq!(when, [10.0, 20.0, 60.0, 510.0]);
    let mut bad = base;
    bad["workload"] = json!({ "trace": { "speed": 0 } });
    let e = refused(&scenario(&d, "t.csv", bad));
    assert!(
        e.contains("workload.trace.speed") && e.contains("above 0"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn classes_named_by_the_trace_need_no_share() {
    let d = dir("classes");
    std::fs::write(
        d.join("t.csv"),
        "time,class\n1,chat\n2,api\n3,chat\n4,chat\n",
    )
    .unwrap();
    let classes = json!({ "workload": { "classes": {
        "chat": { "request": { "llmCalls": 2 } },
        "api": {} } } });
    let m = load(&scenario(&d, "t.csv", classes.clone()));
    // Their shares are the trace's: 3 rows of 4, 1 of 4.
    let shares: Vec<f64> = m.workload.classes.iter().map(|k| k.share).collect();
    assert_eq!(shares, [0.75, 0.25]);
    let r = run(&m);
    assert_eq!(r.counts.arrivals, 4);
    // 3 chat requests of two 0.5s calls, 1 api request of one: 3.5s.
    let mean = r.latency.mean.unwrap();
    assert!((mean - (3.0 * 1.0 + 0.5) / 4.0).abs() < 1e-9, "{mean}");
    // A row without a class would draw one by share: refused, with the
    // JSON path and the row's line.
    std::fs::write(d.join("t.csv"), "time,class\n1,chat\n2,\n").unwrap();
    let e = refused(&scenario(&d, "t.csv", classes.clone()));
    assert!(
        e.contains("at `workload.classes.chat.share`: required: trace rows without a class")
            && e.contains("t.csv line 3 names none"),
        "{e}"
    );
    // So would open arrivals beside the trace.
    std::fs::write(d.join("t.csv"), "time,class\n1,chat\n").unwrap();
    let mut open = classes;
    open["workload"]["arrivals"] = json!({ "ratePerSecond": 1 });
    let e = refused(&scenario(&d, "t.csv", open));
    assert!(
        e.contains("workload.classes.chat.share") && e.contains("open arrivals"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn offered_load_counts_the_trace_rows_and_tokens_within_the_run() {
    let d = dir("offered");
    // Rows at 1, 2, 3s with 100, 200, 600 output tokens (a mean of 300),
    // and one at 700s, past the 10 minutes: not counted, nor its tokens.
    std::fs::write(
        d.join("t.csv"),
        "time,output_tokens\n1,100\n2,200\n3,600\n700,100000\n",
    )
    .unwrap();
    let p = scenario(&d, "t.csv", json!({}));
    // The model written whole: timed by its output tokens.
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    s["llm"]["models"]["m"] = json!({ "timeToFirstToken": "200ms", "timePerOutputToken": "10ms" });
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    let m = load(&p);
    let t = m.workload.trace.as_ref().unwrap();
    assert_eq!(t.rows, 3);
    // 0.2 + 0.01 * 300 = 3.2s per request, 3 per 600s, over 128 slots.
    assert!((m.trace_service_secs(t) - 3.2).abs() < 1e-12);
    let want = 3.0 / 600.0 * 3.2 / 128.0;
    let rho = m.offered_utilization();
    assert!((rho - want).abs() < 1e-12 * want, "{rho} vs {want}");
    // The run agrees: the busy time is the rows' own.
    let r = run(&m);
    let mean = r.latency.mean.unwrap();
    assert!((mean - 3.2).abs() < 1e-9, "{mean}");
    // At speed 2 the fourth row (350s) is within the run: its tokens count.
    s["workload"]["trace"]["speed"] = json!(2);
    std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
    let m = load(&p);
    let t = m.workload.trace.as_ref().unwrap();
    assert_eq!(t.rows, 4);
    let service = 0.2 + 0.01 * (100.0 + 200.0 + 600.0 + 100_000.0) / 4.0;
    assert!((m.trace_service_secs(t) - service).abs() < 1e-9);
    let _ = std::fs::remove_dir_all(&d);
}

//! Per-request traces: a request followed end to end through its rows
//! (retries, fallbacks, 429s), figures that add up, the run's results
//! unchanged by tracing, deterministic sampling, and memory bounded by
//! what is in flight.

use sim_core::request_trace::{CsvSink, TraceBook, TRACE_COLUMNS};
use sim_core::{run_model, run_model_traced, Model, RunControl, RunOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer into a buffer the test keeps.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Errors on the primary model, a fallback that errs too, and retries of
/// failed attempts: requests with several attempts and fallback legs.
const RETRIES: &str = r#"{"name":"traced","run":{"seed":3,"duration":"10m","replications":2},
 "workload":{"users":{"count":50,"tenants":2},"arrivals":{"ratePerSecond":1},
             "request":{"llmCalls":2,"model":"primary"}},
 "llm":{"models":{"primary":{"latency":{"dist":"exponential","mean":"1s"},"errorRate":0.2,"fallback":"backup"},
                  "backup":{"latency":{"dist":"exponential","mean":"2s"},"errorRate":0.3}}},
 "instanceTypes":{"t":{"slots":4}},
 "deployment":{"regions":{"r":{"instances":2}}, "limits":{"requestTimeout":"6s"},
   "retries":{"maxAttempts":3,"backoff":{"base":"100ms","max":"1s"},"retryOn":["5xx"]}}}"#;

/// A provider quota far under the load: 429s, their waits, and calls
/// that run out of retries.
const QUOTA: &str = r#"{"name":"quota","run":{"seed":4,"duration":"5m","replications":1},
 "workload":{"arrivals":{"ratePerSecond":3},"request":{"llmCalls":1}},
 "llm":{"models":{"m":{"latency":{"dist":"exponential","mean":"1s"},
                       "rateLimit":{"requestsPerMinute":60}}},
        "rateLimitRetries":{"maxRetries":2}},
 "instanceTypes":{"t":{"slots":8}},
 "deployment":{"regions":{"r":{"instances":2}}}}"#;

/// One parsed row: the columns by name.
struct Row(Vec<String>);

impl Row {
    fn get(&self, name: &str) -> &str {
        let i = TRACE_COLUMNS.iter().position(|c| *c == name).unwrap();
        &self.0[i]
    }
    fn f(&self, name: &str) -> f64 {
        self.get(name).parse().unwrap()
    }
    fn n(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap()
    }
}

fn parse(csv: &str) -> Vec<Row> {
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), TRACE_COLUMNS.join(","));
    lines
        .map(|l| {
            // Only the last column (the story) may be quoted.
            let mut cols: Vec<String> = l
                .splitn(TRACE_COLUMNS.len(), ',')
                .map(str::to_string)
                .collect();
            let story = cols.last_mut().unwrap();
            if story.starts_with('"') {
                *story = story[1..story.len() - 1].replace("\"\"", "\"");
            }
            assert_eq!(cols.len(), TRACE_COLUMNS.len(), "{l}");
            Row(cols)
        })
        .collect()
}

/// Runs `json` traced, every `sample`-th request: the result, the rows
/// and the book.
fn traced(json: &str, sample: u64) -> (sim_core::ScenarioResult, Vec<Row>, TraceBook) {
    let model = Model::from_json(json, "t.json").unwrap();
    let buf = Shared::default();
    let mut book = TraceBook::new(Box::new(CsvSink::new(buf.clone())), sample);
    let r = run_model_traced(&model, RunOptions::default(), &RunControl::new(), &mut book).unwrap();
    book.finish().unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (r, parse(&text), book)
}

#[test]
fn a_retried_request_with_fallbacks_is_followed_end_to_end() {
    let (r, rows, book) = traced(RETRIES, 1);
    assert_eq!(book.rows as usize, rows.len());
    // Every request of replication 0 that ended has its row.
    let run0 = &r.runs[0].counts;
    let ended_all = rows.len() as u64;
    assert!(ended_all >= run0.completed + run0.failed);
    let retried: Vec<&Row> = rows
        .iter()
        .filter(|row| row.n("attempts") >= 2 && row.n("fallbacks") >= 1)
        .collect();
    assert!(
        !retried.is_empty(),
        "some request was retried after a fallback"
    );
    for row in &retried {
        let story = row.get("story");
        // Each attempt has its pick, its calls and why it ended.
        assert!(story.starts_with("#1 loads["), "{story}");
        assert!(story.contains(" ; #2 loads["), "{story}");
        assert!(story.contains("| llmError, retry in "), "{story}");
        assert!(story.contains("(fallback)"), "{story}");
        assert_eq!(
            story.matches("(fallback)").count() as u64,
            row.n("fallbacks"),
            "{story}"
        );
        assert_eq!(
            story.matches(" -> i").count() as u64,
            row.n("attempts"),
            "{story}"
        );
        assert!(row.f("backoff_s") > 0.0);
        // The request's time adds up: queues, slots and backoffs.
        let parts = row.f("queue_s") + row.f("slot_s") + row.f("backoff_s") + row.f("network_s");
        assert!(
            (parts - row.f("latency_s")).abs() < 1e-5,
            "{parts} vs {}: {story}",
            row.f("latency_s")
        );
        let outcome = row.get("outcome");
        assert!(story.ends_with("s (network 0.000s)") || outcome != "completed");
        assert!(
            story.contains(&format!("=> {} ", row.get("reason"))),
            "{story}"
        );
    }
    // Every row's tenant is its user's, and its time adds up whatever
    // its outcome.
    for row in &rows {
        let parts = row.f("queue_s") + row.f("slot_s") + row.f("backoff_s") + row.f("network_s");
        assert!(
            (parts - row.f("latency_s")).abs() < 1e-5,
            "{}",
            row.get("story")
        );
        assert_eq!(row.n("tenant"), row.n("user") % 2);
        assert!(row.f("end_s") >= row.f("arrival_s"));
        // A request cut by its timeout may have legs drawn that never
        // finished; a completed one spent its LLM time in its slots.
        if row.get("outcome") == "completed" {
            assert!(row.f("llm_s") <= row.f("slot_s") + 1e-6);
        }
    }
    assert!(
        rows.iter().any(|r| r.get("outcome") == "timedOut"),
        "some request timed out"
    );
    // The slowest stories are the slowest rows.
    let mut worst: Vec<f64> = rows.iter().map(|r| r.f("latency_s")).collect();
    worst.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(book.slowest.len(), 5);
    for (s, w) in book.slowest.iter().zip(&worst) {
        assert!((s.latency_s - w).abs() < 1e-5, "{} vs {w}", s.latency_s);
    }
}

#[test]
fn tracing_changes_no_figure() {
    let model = Model::from_json(RETRIES, "t.json").unwrap();
    let plain = run_model(&model, RunOptions::default()).unwrap();
    let (traced, _, _) = traced(RETRIES, 1);
    assert_eq!(
        serde_json::to_string(&plain).unwrap(),
        serde_json::to_string(&traced).unwrap()
    );
}

#[test]
fn a_429_and_its_wait_are_in_the_story() {
    let (_, rows, _) = traced(QUOTA, 1);
    let waited: Vec<&Row> = rows.iter().filter(|r| r.f("llm_wait_s") > 0.0).collect();
    assert!(!waited.is_empty());
    for row in &waited {
        let story = row.get("story");
        assert!(story.contains("429 m wait "), "{story}");
        assert_eq!(story.matches("429 m").count() as u64, row.n("http_429s"));
    }
    let gave_up: Vec<&Row> = rows
        .iter()
        .filter(|r| r.get("reason") == "llmRateLimited")
        .collect();
    assert!(!gave_up.is_empty());
    for row in gave_up {
        assert!(row.get("story").contains("429 m out of retries"));
        assert_eq!(row.get("outcome"), "failed");
    }
}

#[test]
fn sampling_takes_every_nth_arrival() {
    let (_, all, _) = traced(RETRIES, 1);
    let (_, some, _) = traced(RETRIES, 7);
    assert!(!some.is_empty());
    for row in &some {
        assert_eq!(row.n("request") % 7, 0);
    }
    let expected: Vec<u64> = all
        .iter()
        .map(|r| r.n("request"))
        .filter(|n| n % 7 == 0)
        .collect();
    let got: Vec<u64> = some.iter().map(|r| r.n("request")).collect();
    assert_eq!(got, expected, "the same requests, in the same order");
    // The sampled rows are the full trace's rows, to the byte.
    for row in &some {
        let full = all
            .iter()
            .find(|r| r.get("request") == row.get("request"))
            .unwrap();
        assert_eq!(full.0, row.0);
    }
}

#[test]
fn memory_stays_bounded_by_requests_in_flight() {
    // A long run: ten times the time, and the recorder holds no more
    // entries than the engine's slab of requests in flight.
    let long = RETRIES
        .replace("\"10m\"", "\"3h\"")
        .replace("\"ratePerSecond\":1", "\"ratePerSecond\":0.5");
    let (r, rows, book) = traced(&long, 1);
    assert!(rows.len() > 5000, "{}", rows.len());
    let slab = r.runs[0].engine.peak_requests as usize;
    assert!(book.peak_entries > 0);
    assert!(
        book.peak_entries <= slab,
        "{} entries, {slab} in flight at most",
        book.peak_entries
    );
    assert!(book.peak_entries * 50 < rows.len());
}

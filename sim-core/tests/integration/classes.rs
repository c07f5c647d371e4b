//! Request classes and routes: shares split the traffic, each class runs
//! its own workflow and session behaviour, a trace row may name its class
//! and tokens, a routed class has its own balancer, and several named rate
//! limits apply at once, each counted by name, a request refused by one
//! counted by no other. The shipped `routes.json` does what its
//! description says.

use serde_json::{json, Value};
use sim_core::{run_model, Model, RunOptions, RunResult, ScenarioResult};
use std::path::PathBuf;

fn run(v: &Value) -> ScenarioResult {
    let m = Model::from_value(v, "classes.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

fn error(v: &Value) -> String {
    match Model::from_value(v, "bad.json") {
        Ok(_) => panic!("accepted: {v}"),
        Err(e) => e.to_string(),
    }
}

fn agents() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/agents")
}

/// Two classes on a fleet that never queues: `fast` calls a model
/// answering in 100ms, `slow` one answering in 2s.
fn two_classes() -> Value {
    json!({
        "name": "classes", "run": { "duration": "1h", "seed": 5 },
        "workload": {
            "arrivals": { "ratePerSecond": 20 },
            "classes": {
                "fast": { "share": 3, "request": { "model": "quick" } },
                "slow": { "share": 1, "request": { "model": "big" } }
            }
        },
        "llm": { "models": {
            "quick": { "latency": { "dist": "constant", "value": "100ms" } },
            "big": { "latency": { "dist": "constant", "value": "2s" } }
        } },
        "instanceTypes": { "t": { "slots": 1000 } },
        "deployment": { "regions": { "r": { "instances": 1 } } }
    })
}

fn class<'a>(r: &'a RunResult, name: &str) -> &'a sim_core::ClassResult {
    r.classes.iter().find(|k| k.class == name).unwrap()
}

#[test]
fn shares_split_the_traffic_and_each_class_runs_its_own_workflow() {
    let r = run(&two_classes());
    let run = &r.runs[0];
    let (fast, slow) = (class(run, "fast"), class(run, "slow"));
    let n = run.counts.arrivals as f64;
    assert_eq!(fast.arrivals + slow.arrivals, run.counts.arrivals);
    // Binomial(n, 3/4): within 4 standard deviations.
    let sd = (n * 0.75 * 0.25).sqrt();
    assert!(
        (fast.arrivals as f64 - 0.75 * n).abs() < 4.0 * sd,
        "{} of {n}",
        fast.arrivals
    );
    // Each class's latency is its own model's.
    assert!(
        (fast.latency.p50.unwrap() - 0.1).abs() < 1e-3,
        "{:?}",
        fast.latency
    );
    assert!(
        (slow.latency.p99.unwrap() - 2.0).abs() < 2e-3,
        "{:?}",
        slow.latency
    );
    // Calls are counted on each class's model, and the breakdown splits
    // the time by model.
    let calls: Vec<u64> = run.llm_calls.iter().map(|m| m.calls).collect();
    // (A call is counted when it starts, and nothing queues here.)
    assert_eq!(calls, vec![fast.arrivals, slow.arrivals]);
    let b = &r.pooled.breakdown;
    let mean = r.pooled.latency.mean.unwrap();
    let by_model: f64 = b.llm.iter().map(|m| m.seconds).sum();
    assert!((by_model - mean).abs() < 1e-6 * mean, "{b:?} vs {mean}");
    let expected = (0.1 * fast.completed as f64 + 2.0 * slow.completed as f64)
        / (fast.completed + slow.completed) as f64;
    assert!((mean - expected).abs() < 1e-3, "{mean} vs {expected}");
}

#[test]
fn a_class_without_its_own_request_uses_the_workloads() {
    let mut v = two_classes();
    v["workload"]["request"] = json!({ "model": "big" });
    v["workload"]["classes"]["fast"] = json!({ "share": 1 });
    let r = run(&v);
    for k in &r.runs[0].classes {
        assert!((k.latency.p50.unwrap() - 2.0).abs() < 2e-3, "{k:?}");
    }
}

#[test]
fn each_session_takes_its_classes_turns() {
    // Sessions draw a class by share (1:1); `chat` sessions have 4 turns,
    // `api` ones 1, with the same think times: 4 of 5 requests are chat.
    let v = json!({
        "name": "sessions", "run": { "duration": "2h", "seed": 9 },
        "workload": {
            "users": { "count": 200 },
            "sessions": { "thinkTime": { "dist": "exponential", "mean": "5s" },
                          "turns": 1, "betweenSessions": "20s" },
            "classes": {
                "chat": { "share": 1, "sessions": { "turns": 4 } },
                "api": { "share": 1 }
            }
        },
        "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
        "instanceTypes": { "t": { "slots": 1000 } },
        "deployment": { "regions": { "r": { "instances": 1 } } }
    });
    let r = run(&v);
    let run = &r.runs[0];
    let chat = class(run, "chat").arrivals as f64 / run.counts.arrivals as f64;
    assert!((chat - 0.8).abs() < 0.02, "chat share of requests {chat}");
}

#[test]
fn a_route_gives_its_class_a_balancer_of_its_own() {
    // `static` goes to the first instance; `api` round robin over three.
    let mut v = two_classes();
    v["deployment"]["regions"]["r"]["instances"] = json!(3);
    v["deployment"]["routes"] = json!({ "slow": { "loadBalancing": { "strategy": "first" } } });
    let r = run(&v);
    let run = &r.runs[0];
    let (fast, slow) = (class(run, "fast"), class(run, "slow"));
    let per: Vec<u64> = run.instances.iter().map(|i| i.requests).collect();
    // Round robin spreads `fast` to within one request.
    assert!(per[1].abs_diff(per[2]) <= 1, "{per:?}");
    let fast_on_0 = per[0] - slow.arrivals;
    assert!(
        fast_on_0.abs_diff(per[1]) <= 1,
        "{per:?}, slow {}",
        slow.arrivals
    );
    assert_eq!(per.iter().sum::<u64>(), fast.arrivals + slow.arrivals);
}

#[test]
fn several_limits_admit_only_what_all_admit_and_count_a_refusal_once() {
    // `wide` admits 10/s, `narrow` 5/s, both global, at 50 arrivals/s.
    // A request must pass both; one `narrow` refuses is not counted by
    // `wide`, so `wide` (never near its rate) refuses nothing, and the
    // fleet admits 5/s.
    let mut v = two_classes();
    v["workload"]["arrivals"]["ratePerSecond"] = json!(50);
    v["deployment"]["rateLimits"] = json!({
        "wide": { "requests": 10, "window": "1s", "strategy": "token-bucket", "burst": 10 },
        "narrow": { "requests": 5, "window": "1s", "strategy": "token-bucket", "burst": 5 }
    });
    let r = run(&v);
    let run = &r.runs[0];
    let limits: Vec<(&str, u64)> = run
        .rate_limits
        .iter()
        .map(|l| (l.name.as_str(), l.rejected))
        .collect();
    assert_eq!(limits[0], ("wide", 0), "{limits:?}");
    assert_eq!(limits[1].0, "narrow");
    assert_eq!(limits[1].1, run.reasons.rate_limited);
    let admitted = run.counts.arrivals - run.reasons.rate_limited;
    let secs = 3600.0;
    assert!(
        (admitted as f64 / secs - 5.0).abs() < 0.05,
        "{admitted} admitted in {secs}s"
    );
}

#[test]
fn a_routes_limit_counts_only_its_class() {
    let mut v = two_classes();
    v["deployment"]["routes"] = json!({
        "slow": { "rateLimits": { "slow-only": { "requests": 1, "window": "1s", "strategy": "fixed-window" } } }
    });
    let r = run(&v);
    let run = &r.runs[0];
    let (fast, slow) = (class(run, "fast"), class(run, "slow"));
    assert_eq!(fast.rejected, 0, "the fast class passes no limit");
    assert_eq!(slow.rejected, run.rate_limits[0].rejected);
    // At most one `slow` request a second gets through.
    assert!(slow.completed <= 3600, "{}", slow.completed);
    assert!(slow.completed > 3000, "{}", slow.completed);
}

#[test]
fn a_trace_row_names_its_class_and_its_tokens() {
    let dir = std::env::temp_dir().join(format!("fleetsim-classes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("time,class,input_tokens,output_tokens\n");
    let (mut slow_rows, mut tokens_in, mut tokens_out) = (0u64, 0u64, 0u64);
    for i in 0..600u64 {
        let k = if i % 3 == 0 { "slow" } else { "fast" };
        slow_rows += u64::from(i % 3 == 0);
        let (a, b) = (100 + i, 10 + i % 7);
        tokens_in += a;
        tokens_out += b;
        csv.push_str(&format!("{},{k},{a},{b}\n", i as f64 * 0.5));
    }
    std::fs::write(dir.join("t.csv"), csv).unwrap();
    let mut v = two_classes();
    v["workload"].as_object_mut().unwrap().remove("arrivals");
    v["workload"]["trace"] = json!({ "file": "t.csv" });
    for m in ["quick", "big"] {
        v["llm"]["models"][m]["pricePer1kInputTokens"] = json!(0.01);
        v["llm"]["models"][m]["pricePer1kOutputTokens"] = json!(0.03);
    }
    // Rows give the tokens; the classes draw none of their own.
    let m = Model::from_value(&v, dir.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    let run = &r.runs[0];
    assert_eq!(class(run, "slow").arrivals, slow_rows);
    assert_eq!(run.tokens.input, tokens_in);
    assert_eq!(run.tokens.output, tokens_out);
    let cost = tokens_in as f64 / 1000.0 * 0.01 + tokens_out as f64 / 1000.0 * 0.03;
    assert!(
        (run.llm_cost - cost).abs() < 1e-9,
        "{} vs {cost}",
        run.llm_cost
    );
    // A token column no model reads is refused.
    let mut v2 = v.clone();
    for m in ["quick", "big"] {
        v2["llm"]["models"][m]["pricePer1kInputTokens"] = json!(0);
    }
    let e = match Model::from_value(&v2, dir.join("s.json")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("workload.trace.file") && e.contains("input_tokens"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A change to the two-class scenario that makes it wrong.
type Change = Box<dyn Fn(&mut Value)>;

#[test]
fn mistakes_are_refused_with_their_path() {
    let cases: Vec<(Change, &str, &str)> = vec![
        (
            Box::new(|v| v["workload"]["classes"]["fast"]["share"] = json!(0)),
            "workload.classes.fast.share",
            "above 0",
        ),
        (
            Box::new(|v| {
                v["deployment"]["routes"] =
                    json!({ "fats": { "loadBalancing": { "strategy": "first" } } })
            }),
            "deployment.routes.fats",
            "did you mean `fast`",
        ),
        (
            Box::new(|v| v["deployment"]["routes"] = json!({ "fast": {} })),
            "deployment.routes.fast",
            "changes nothing",
        ),
        (
            Box::new(
                |v| v["deployment"]["routes"] = json!({ "fast": { "loadBalancing": { "strategy": "weighted", "weighted": { "r": 2 } } } }),
            ),
            "deployment.routes.fast.loadBalancing.weighted",
            "whole fleet",
        ),
        (
            Box::new(|v| {
                v["deployment"]["rateLimit"] = json!({ "requests": 5, "window": "1s" });
                v["deployment"]["rateLimits"] =
                    json!({ "rateLimit": { "requests": 5, "window": "1s" } });
            }),
            "deployment.rateLimits.rateLimit",
            "already named",
        ),
        (
            Box::new(|v| {
                v["deployment"]["rateLimits"] =
                    json!({ "u": { "requests": 5, "window": "1s", "key": "user" } })
            }),
            "deployment.rateLimits.u.key",
            "workload.users",
        ),
        (
            Box::new(|v| v["workload"]["classes"]["fast"]["sessions"] = json!({ "turns": 3 })),
            "workload.classes.fast.sessions",
            "workload.sessions",
        ),
        (
            Box::new(|v| v["workload"]["request"] = json!({ "llmCalls": 2 })),
            "workload.request",
            "applies to none",
        ),
        (
            Box::new(|v| {
                v["workload"].as_object_mut().unwrap().remove("classes");
                v["deployment"]["routes"] =
                    json!({ "fast": { "loadBalancing": { "strategy": "first" } } });
                v["workload"]["request"] = json!({ "model": "quick" });
            }),
            "deployment.routes.fast",
            "workload.classes",
        ),
        (
            Box::new(|v| {
                v["deployment"]["loadBalancing"] = json!({ "strategy": "random", "replicas": 2 });
                v["deployment"]["routes"] =
                    json!({ "fast": { "loadBalancing": { "strategy": "first" } } });
            }),
            "deployment.loadBalancing.replicas",
            "routes",
        ),
        (
            Box::new(|v| {
                v["workload"]["classes"][""] = json!({ "share": 1 });
                v["workload"]["request"] = json!({ "model": "quick" });
            }),
            "workload.classes",
            "needs a name",
        ),
        (
            Box::new(|v| {
                v["workload"]["users"] = json!({ "count": 10 });
                v["workload"]["sessions"] = json!({ "thinkTime": "5s" });
                v["workload"]["classes"]["fast"]["sessions"] = json!({ "turns": 3 });
            }),
            "workload.classes.fast.sessions.turns",
            "workload.sessions.turns",
        ),
        (
            Box::new(|v| {
                v["deployment"]["routes"] =
                    json!({ "fast": { "loadBalancing": { "strategy": "geographic" } } })
            }),
            "deployment.routes.fast.loadBalancing.strategy",
            "whole fleet",
        ),
        (
            Box::new(|v| {
                v["deployment"]["loadBalancing"] = json!({ "strategy": "random" });
                v["deployment"]["routes"] = json!({
                    "fast": { "loadBalancing": { "strategy": "first" } },
                    "slow": { "loadBalancing": { "strategy": "round-robin" } }
                });
            }),
            "deployment.loadBalancing",
            "picks for none",
        ),
        (
            Box::new(|v| {
                v["workload"]["classes"]["slow"]["request"] =
                    json!({ "llmCalls": 0, "model": "big" })
            }),
            "workload.classes.slow.request.model",
            "makes none",
        ),
    ];
    for (change, path, what) in cases {
        let mut v = two_classes();
        change(&mut v);
        let e = error(&v);
        assert!(
            e.contains(path) && e.contains(what),
            "want `{path}` … `{what}` in: {e}"
        );
    }
}

#[test]
fn shipped_routes_scenario_does_what_it_says() {
    let m = Model::from_file(agents().join("routes.json")).unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    for run in &r.runs {
        assert!(run.counts.conserved());
        let per: Vec<u64> = run.instances.iter().map(|i| i.requests).collect();
        let stat = class(run, "static");
        // Every static file is served by botserver-1 (the first): what it
        // carries beyond the others' mean is about the static files.
        let others = (per[1] + per[2]) as f64 / 2.0;
        assert!(per[0] as f64 > 1.5 * others, "{per:?}");
        assert!(
            per[0] >= stat.arrivals - stat.rejected,
            "{per:?} vs {stat:?}"
        );
        // Static files answer in milliseconds, chat in seconds.
        assert!(stat.latency.p99.unwrap() < 0.1, "{:?}", stat.latency);
        assert!(class(run, "chat").latency.p50.unwrap() > 1.0);
        // Both limits bind and are counted by name; the chat limit only
        // on chat requests.
        let limits: Vec<(&str, u64)> = run
            .rate_limits
            .iter()
            .map(|l| (l.name.as_str(), l.rejected))
            .collect();
        assert_eq!(limits.len(), 2);
        assert!(limits.iter().all(|(_, n)| *n > 0), "{limits:?}");
        assert_eq!(limits[0].1 + limits[1].1, run.reasons.rate_limited);
        assert!(class(run, "chat").rejected >= limits[1].1);
    }
    // Without the chat limit, the requests it refused meet the global one.
    let mut v = sim_core::json_file(&agents().join("routes.json")).unwrap();
    v["deployment"]["routes"]["chat"]["rateLimits"] = json!({});
    let without = run_model(
        &Model::from_value(&v, agents().join("routes.json")).unwrap(),
        RunOptions::default(),
    )
    .unwrap();
    let global =
        |r: &ScenarioResult| -> u64 { r.runs.iter().map(|x| x.rate_limits[0].rejected).sum() };
    assert!(
        global(&without) > global(&r),
        "global refused {} without the chat limit, {} with",
        global(&without),
        global(&r)
    );
}

#[test]
fn a_class_that_calls_no_model_names_none_and_counts_no_tokens() {
    // Static files make no LLM call: with two priced models they need
    // neither a model nor token counts.
    let mut v = two_classes();
    v["workload"]["classes"]["slow"]["request"] =
        json!({ "llmCalls": 0, "cpuTime": { "dist": "constant", "value": "5ms" } });
    v["workload"]["classes"]["fast"]["request"]["inputTokens"] =
        json!({ "dist": "constant", "value": 100 });
    v["llm"]["models"]["quick"]["pricePer1kInputTokens"] = json!(0.01);
    let r = run(&v);
    let slow = class(&r.runs[0], "slow");
    assert!((slow.latency.p50.unwrap() - 0.005).abs() < 1e-4, "{slow:?}");
    assert_eq!(r.runs[0].llm_calls[1].calls, 0);
}

#[test]
fn a_trace_row_must_give_the_tokens_of_a_column_the_file_has() {
    let dir = std::env::temp_dir().join(format!("fleetsim-blank-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.csv"), "time,input_tokens\n1,100\n2,\n").unwrap();
    let mut v = two_classes();
    v["workload"].as_object_mut().unwrap().remove("arrivals");
    v["workload"]["trace"] = json!({ "file": "t.csv" });
    v["llm"]["models"]["quick"]["pricePer1kInputTokens"] = json!(0.01);
    v["llm"]["models"]["big"]["pricePer1kInputTokens"] = json!(0.01);
    let e = match Model::from_value(&v, dir.join("s.json")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("line 3") && e.contains("no input_tokens"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

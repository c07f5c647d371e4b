//! Every shipped scenario loads, runs, conserves requests, and is
//! deterministic; bad inputs give errors that say where and what to fix.

use sim_core::{run_model, Model, RunOptions, ScenarioError};
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn all_scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        // Sweep and gate files name scenarios; `reports` and the binary's
        // tests check them. The schemas are schemas.
        if p.is_dir() && p.file_name().is_some_and(|n| n == "sweeps" || n == "gate") {
            continue;
        }
        if p.to_string_lossy().ends_with(".schema.json") {
            continue;
        }
        // Native configs (nginx.conf, manifests) live one folder below
        // `native/`; the scenarios that import them are in `native/`.
        if p.is_dir() && dir.file_name().is_some_and(|n| n == "native") {
            continue;
        }
        if p.is_dir() {
            all_scenarios(&p, out);
        } else if p.extension().is_some_and(|e| e == "json" || e == "yaml") {
            out.push(p);
        }
    }
}

fn shipped() -> Vec<PathBuf> {
    let mut v = Vec::new();
    all_scenarios(&scenarios_dir(), &mut v);
    assert!(v.len() >= 8, "expected the shipped scenarios, found {v:?}");
    v
}

/// A model short enough for a quick run: long validation horizons are cut
/// to ten simulated minutes (their full runs are in `queueing.rs`).
fn quick(path: &Path) -> Model {
    let mut m = Model::from_file(path).unwrap_or_else(|e| panic!("{e}"));
    let cap = sim_core::Nanos::from_secs(600);
    if m.run.duration > cap {
        m.run.duration = cap;
        m.run.warmup = sim_core::Nanos::from_secs(60);
        m.run.replications = m.run.replications.min(2);
    }
    m
}

#[test]
fn every_shipped_scenario_runs_and_conserves_requests() {
    for path in shipped() {
        let m = quick(&path);
        let r = run_model(&m, RunOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for run in &r.runs {
            let c = run.counts;
            assert!(c.conserved(), "{}: {c:?}", path.display());
            assert!(c.arrivals > 0, "{}: no arrivals", path.display());
        }
        assert!(r.pooled.counts.conserved());
    }
}

#[test]
fn same_seed_gives_identical_json_and_another_seed_does_not() {
    let m = quick(&scenarios_dir().join("quickstart.json"));
    let json = |seed| {
        let r = run_model(
            &m,
            RunOptions {
                seed: Some(seed),
                replications: Some(3),
            },
        )
        .unwrap();
        serde_json::to_string(&r).unwrap()
    };
    let a = json(11);
    assert_eq!(a, json(11));
    assert_ne!(a, json(12));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let m = quick(&scenarios_dir().join("quickstart.json"));
    let with_threads = |n| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        pool.install(|| {
            serde_json::to_string(
                &run_model(
                    &m,
                    RunOptions {
                        seed: None,
                        replications: Some(4),
                    },
                )
                .unwrap(),
            )
            .unwrap()
        })
    };
    assert_eq!(with_threads(1), with_threads(3));
}

#[test]
fn common_random_numbers_give_every_balancer_the_same_arrivals() {
    let base = std::fs::read_to_string(scenarios_dir().join("quickstart.json")).unwrap();
    let mut arrivals = Vec::new();
    for strategy in ["round-robin", "random", "least-connections"] {
        let text = base.replace("\"least-connections\"", &format!("\"{strategy}\""));
        let m = Model::from_json(&text, "q.json").unwrap();
        let r = run_model(
            &m,
            RunOptions {
                seed: Some(5),
                replications: Some(1),
            },
        )
        .unwrap();
        arrivals.push(r.pooled.counts.arrivals);
    }
    assert!(arrivals.windows(2).all(|w| w[0] == w[1]), "{arrivals:?}");
}

#[test]
fn a_stepped_rate_profile_changes_the_arrival_rate() {
    let text = r#"{
      "name": "steps", "run": { "duration": "2h" },
      "workload": { "arrivals": { "ratePerSecond": 1, "steps": [
        { "at": "1h", "ratePerSecond": 4 } ] } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "10ms" } } } },
      "instanceTypes": { "t": { "slots": 8 } },
      "deployment": { "regions": { "r": { "instances": 1 } } }
    }"#;
    let m = Model::from_json(text, "steps.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    // Expected 3600 + 14400 = 18000 arrivals; Poisson sd = 134, so 5 sd = 670.
    let a = r.pooled.counts.arrivals as f64;
    assert!((a - 18_000.0).abs() < 670.0, "{a}");
}

#[test]
fn request_timeout_frees_slots_and_counts_timeouts() {
    let text = r#"{
      "name": "timeouts", "run": { "duration": "1h", "warmup": "5m" },
      "workload": { "arrivals": { "ratePerSecond": 2 } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "3s" } } } },
      "instanceTypes": { "t": { "slots": 1 } },
      "deployment": { "regions": { "r": { "instances": 2 } },
        "limits": { "requestTimeout": "2s" } }
    }"#;
    let m = Model::from_json(text, "t.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let c = r.pooled.counts;
    // Service (3s) always exceeds the timeout (2s): nothing completes, and
    // every finished request timed out.
    assert_eq!(c.completed, 0);
    assert!(c.timed_out > 6000, "{c:?}");
    assert!(c.conserved());
    assert!(!r.pooled.slo.checks.iter().any(|ch| ch.pass));
}

#[test]
fn connection_limit_rejects_the_excess() {
    let text = r#"{
      "name": "limit", "run": { "duration": "30m" },
      "workload": { "arrivals": { "ratePerSecond": 10 } },
      "llm": { "models": { "m": { "latency": { "dist": "exponential", "mean": "1s" } } } },
      "instanceTypes": { "t": { "slots": 2 } },
      "deployment": { "regions": { "r": { "instances": 2 } },
        "limits": { "maxConnectionsPerInstance": 3 } }
    }"#;
    let m = Model::from_json(text, "l.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let c = r.pooled.counts;
    // Offered 10/s to 4 slots serving 1/s each: at least 60% must be
    // turned away; no instance can hold more than 3.
    assert!(c.rejected as f64 > 0.55 * c.arrivals as f64, "{c:?}");
    assert!(r.runs[0].mean_in_system <= 6.0);
    assert!(c.conserved());
}

#[test]
fn llm_errors_fail_requests_at_the_configured_rate() {
    let text = r#"{
      "name": "errors", "run": { "duration": "2h" },
      "workload": { "arrivals": { "ratePerSecond": 5 } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "100ms" }, "errorRate": 0.1 } } },
      "instanceTypes": { "t": { "slots": 4 } },
      "deployment": { "regions": { "r": { "instances": 1 } } },
      "slo": { "errorRate": 0.05 }
    }"#;
    let m = Model::from_json(text, "e.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    // 36,000 Bernoulli(0.1) trials: sd of the share = 0.0016; 5 sd = 0.008.
    assert!(
        (r.pooled.error_rate - 0.1).abs() < 0.008,
        "{}",
        r.pooled.error_rate
    );
    assert!(!r.pooled.slo.pass);
}

fn problem(text: &str) -> (String, String) {
    let e = Model::from_json(text, "bad.json").expect_err("must be rejected");
    let rendered = e.to_string();
    assert!(
        rendered.starts_with("bad.json"),
        "error must name the file: {rendered}"
    );
    let path = e
        .problems()
        .first()
        .map(|p| p.path.clone())
        .unwrap_or_default();
    (path, rendered)
}

fn with(base: &str, pointer: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = value;
    v.to_string()
}

const BASE: &str = r#"{
  "name": "base", "run": { "duration": "10m", "warmup": "0s" },
  "workload": { "arrivals": { "ratePerSecond": 1 } },
  "llm": { "models": { "m": { "latency": { "dist": "uniform", "min": "1s", "max": "2s" } } } },
  "instanceTypes": { "t": { "slots": 2 } },
  "deployment": { "regions": { "r": { "instances": 1 } },
    "loadBalancing": { "strategy": "random" } }
}"#;

#[test]
fn malformed_json_names_line_and_column() {
    let e = Model::from_json("{\n  \"name\": \"x\",\n  oops\n}", "bad.json").unwrap_err();
    assert!(matches!(e, ScenarioError::Syntax { line: 3, .. }), "{e}");
    assert!(e.to_string().starts_with("bad.json:3:"), "{e}");
}

#[test]
fn unknown_key_names_the_path_and_suggests_the_nearest() {
    let text = BASE.replace("\"strategy\"", "\"strategi\"");
    let (path, msg) = problem(&text);
    assert_eq!(path, "deployment.loadBalancing.strategi");
    assert!(msg.contains("did you mean `strategy`?"), "{msg}");
}

#[test]
fn duration_without_unit_says_which_units_exist() {
    let (path, msg) = problem(&with(BASE, "/run/duration", serde_json::json!(600)));
    assert_eq!(path, "run.duration");
    assert!(
        msg.contains("bare number 600") && msg.contains("\"30s\""),
        "{msg}"
    );
    let (path, msg) = problem(&with(BASE, "/run/duration", serde_json::json!("600")));
    assert_eq!(path, "run.duration");
    assert!(msg.contains("no unit"), "{msg}");
}

#[test]
fn negative_rate_is_rejected() {
    let (path, msg) = problem(&with(
        BASE,
        "/workload/arrivals/ratePerSecond",
        serde_json::json!(-3),
    ));
    assert_eq!(path, "workload.arrivals.ratePerSecond");
    assert!(msg.contains("0 or more"), "{msg}");
}

#[test]
fn zero_instances_are_rejected() {
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/regions/r/instances",
        serde_json::json!(0),
    ));
    assert_eq!(path, "deployment.regions");
    assert!(msg.contains("zero instances"), "{msg}");
}

#[test]
fn unknown_strategy_lists_the_strategies() {
    let (path, msg) = problem(&with(
        BASE,
        "/deployment/loadBalancing/strategy",
        serde_json::json!("least-conn"),
    ));
    assert_eq!(path, "deployment.loadBalancing.strategy");
    assert!(msg.contains("did you mean `least-connections`?"), "{msg}");
    for k in strategies::StrategyKind::ALL {
        assert!(
            msg.contains(k.name()),
            "allowed strategies must list {k}: {msg}"
        );
    }
}

#[test]
fn min_greater_than_max_is_rejected() {
    let (path, msg) = problem(&with(
        BASE,
        "/llm/models/m/latency/min",
        serde_json::json!("5s"),
    ));
    assert_eq!(path, "llm.models.m.latency.max");
    assert!(msg.contains("at least min"), "{msg}");
    let (path, _) = problem(&with(BASE, "/run/warmup", serde_json::json!("20m")));
    assert_eq!(path, "run.warmup");
}

#[test]
fn unknown_instance_type_and_model_suggest_defined_names() {
    let text = with(
        BASE,
        "/deployment/regions/r",
        serde_json::json!({"instances": 1, "instanceType": "tt"}),
    );
    let (path, msg) = problem(&text);
    assert_eq!(path, "deployment.regions.r.instanceType");
    assert!(msg.contains("did you mean `t`?"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = with(
        &with(
            BASE,
            "/workload/arrivals/ratePerSecond",
            serde_json::json!(-1),
        ),
        "/instanceTypes/t/slots",
        serde_json::json!(0),
    );
    let e = Model::from_json(&text, "bad.json").unwrap_err();
    let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"workload.arrivals.ratePerSecond"),
        "{paths:?}"
    );
    assert!(paths.contains(&"instanceTypes.t.slots"), "{paths:?}");
}

/// A distribution of LLM calls that reaches past the most an attempt may
/// make is refused: its draws used to be clamped to 1,000 in silence.
#[test]
fn a_call_count_distribution_past_the_limit_is_refused() {
    let v = serde_json::json!({ "dist": "uniform", "min": 1, "max": 1e9 });
    let mut text: serde_json::Value = serde_json::from_str(BASE).unwrap();
    text["workload"]["request"] = serde_json::json!({ "llmCalls": v });
    let (path, msg) = problem(&text.to_string());
    assert_eq!(path, "workload.request.llmCalls", "{msg}");
    assert!(msg.contains("at most 1000"), "{msg}");
    // A distribution well inside the limit runs.
    text["workload"]["request"] =
        serde_json::json!({ "llmCalls": { "dist": "uniform", "min": 1, "max": 8 } });
    Model::from_json(&text.to_string(), "ok.json").unwrap();
}

/// Series rows are held for every replication until the end: their
/// product with the replications is bounded, in the file and when
/// `--replications` raises the count (10,000 replications of 1,000,000
/// rows aborted on allocation).
#[test]
fn series_rows_over_all_replications_are_bounded() {
    let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
    v["run"] =
        serde_json::json!({ "duration": "1000s", "seriesInterval": "1s", "replications": 10000 });
    let (path, msg) = problem(&v.to_string());
    assert_eq!(path, "run.seriesInterval", "{msg}");
    assert!(msg.contains("in all"), "{msg}");
    // One replication is fine; asking for 10,000 at run time is refused.
    v["run"]["replications"] = serde_json::json!(1);
    let m = Model::from_json(&v.to_string(), "ok.json").unwrap();
    let opts = sim_core::RunOptions {
        replications: Some(10_000),
        ..Default::default()
    };
    let e = sim_core::run_model(&m, opts).unwrap_err();
    assert!(matches!(e, sim_core::SimError::TooLarge(_)), "{e}");
    // Without an interval of its own the series widens instead.
    v["run"] = serde_json::json!({ "duration": "10000s", "replications": 10000 });
    let m = Model::from_json(&v.to_string(), "ok.json").unwrap();
    let rows = m.run.duration.0 / m.run.series_interval.0;
    assert!(rows * 10_000 <= sim_core::MAX_SERIES_ROWS_TOTAL, "{rows}");
}

/// Errors in `deployment.scaling` go down to the key at fault: a policy
/// that is not a name (it stopped at `deployment.scaling`), and which of
/// a behavior's policies is wrong. A core count out of range says both
/// bounds (it said "must be above 0" of 2,000,000).
#[test]
fn scaling_errors_name_the_key_at_fault() {
    let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
    v["deployment"]["scaling"] = serde_json::json!({ "policy": 3 });
    let (path, msg) = problem(&v.to_string());
    assert_eq!(path, "deployment.scaling.policy", "{msg}");
    assert!(msg.contains("`hpa`"), "{msg}");

    v["deployment"]["scaling"] = serde_json::json!({
        "policy": "hpa", "minReplicas": 1, "maxReplicas": 4,
        "metrics": [ { "type": "Resource", "resource": { "name": "cpu",
            "target": { "type": "Utilization", "averageUtilization": 60 } } } ],
        "behavior": { "scaleUp": { "policies": [
            { "type": "Pods", "value": 2, "periodSeconds": 60 },
            { "type": "Percent", "value": 0, "periodSeconds": 60 } ] } }
    });
    v["instanceTypes"]["t"]["cpus"] = serde_json::json!(2);
    let (path, msg) = problem(&v.to_string());
    assert!(
        path.starts_with("deployment.scaling.behavior.scaleUp"),
        "{path}: {msg}"
    );
    assert!(msg.contains("policies[1].value"), "{msg}");

    let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
    v["instanceTypes"]["t"]["cpus"] = serde_json::json!(2_000_000);
    let (path, msg) = problem(&v.to_string());
    assert_eq!(path, "instanceTypes.t.cpus", "{msg}");
    assert!(msg.contains("at most 1000000"), "{msg}");
}

/// Token distributions are bounded like call counts: a lognormal whose
/// p99 is 1e308 tokens overflowed the run's token sum (found by the long
/// fuzz campaign, case 68,830).
#[test]
fn a_token_distribution_past_the_limit_is_refused() {
    let mut text: serde_json::Value = serde_json::from_str(BASE).unwrap();
    text["llm"]["models"]["m"]["pricePer1kInputTokens"] = serde_json::json!(0.001);
    text["workload"]["request"] = serde_json::json!({
        "inputTokens": { "dist": "lognormal", "median": 800, "p99": 1e308 } });
    let (path, msg) = problem(&text.to_string());
    assert_eq!(path, "workload.request.inputTokens", "{msg}");
    assert!(msg.contains("tokens per call"), "{msg}");
}

/// One error per problem: a refused scaling block is not followed by
/// "maxInstances needs deployment.scaling" or "zero instances", which
/// only repeat it in other words.
#[test]
fn a_refused_scaling_block_is_not_followed_by_its_echoes() {
    let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
    v["deployment"]["regions"]["r"] = serde_json::json!({ "instances": 0, "maxInstances": 4 });
    v["instanceTypes"]["t"]["cpus"] = serde_json::json!(2);
    v["deployment"]["scaling"] = serde_json::json!({
        "policy": "hpa", "minReplicas": 5, "maxReplicas": 2,
        "metrics": [ { "type": "Resource", "resource": { "name": "cpu",
            "target": { "type": "Utilization", "averageUtilization": 60 } } } ] });
    let e = Model::from_json(&v.to_string(), "bad.json").unwrap_err();
    let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.iter().all(|p| p.starts_with("deployment.scaling")),
        "{e}"
    );
}

/// The work estimate (which decides whether a run warns and shows
/// progress) counts every source of events, not only open arrivals:
/// closed-loop sessions, the series, the metrics pipeline, balancer
/// refreshes. Each is within a factor of 4 of what the run did (sessions
/// and 1ms timers used to be estimated at next to nothing).
#[test]
fn the_work_estimate_counts_every_source_of_events() {
    let base: serde_json::Value = serde_json::from_str(BASE).unwrap();
    let mut sessions = base.clone();
    sessions["workload"] = serde_json::json!({
        "users": { "count": 50 }, "sessions": { "thinkTime": "2s" } });
    let mut refresh = base.clone();
    refresh["deployment"]["loadBalancing"] = serde_json::json!({ "strategy": "least-connections", "replicas": 2, "loadRefreshInterval": "1ms" });
    refresh["deployment"]["regions"]["r"]["instances"] = serde_json::json!(4);
    let mut metrics = base.clone();
    metrics["instanceTypes"]["t"]["cpus"] = serde_json::json!(2);
    metrics["deployment"]["metrics"] =
        serde_json::json!({ "collectionInterval": "1ms", "window": "1s" });
    metrics["deployment"]["scaling"] = serde_json::json!({
        "policy": "hpa", "minReplicas": 1, "maxReplicas": 3,
        "metrics": [ { "type": "Resource", "resource": { "name": "cpu",
            "target": { "type": "Utilization", "averageUtilization": 60 } } } ] });
    for (name, v) in [
        ("sessions", sessions),
        ("refresh", refresh),
        ("metrics", metrics),
    ] {
        let m = Model::from_json(&v.to_string(), "work.json").unwrap_or_else(|e| panic!("{e}"));
        let estimate = m.work_estimate().events;
        let r = sim_core::run_model(&m, sim_core::RunOptions::default()).unwrap();
        let events: u64 = r.runs.iter().map(|x| x.engine.events).sum();
        let ratio = estimate / events as f64;
        assert!(
            (0.25..=4.0).contains(&ratio),
            "{name}: estimated {estimate:.0}, ran {events}"
        );
    }
}

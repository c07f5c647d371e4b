//! `sim_core::native` for Envoy: a cluster read as Envoy runs it, its
//! defaults included, and checked by behaviour through the engine.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, Format, Import, ImportOptions, Outcome};
use sim_core::{run_model, Model, RunOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn envoy(text: &str) -> Import {
    import_str(
        text,
        Path::new("cluster.yaml"),
        &ImportOptions {
            format: Some(Format::Envoy),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str, upstream: Option<&str>) -> String {
    import_str(
        text,
        Path::new("envoy.yaml"),
        &ImportOptions {
            upstream: upstream.map(str::to_string),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string()
}

/// Unsupported directives besides Envoy's proxy-side pending queue
/// (reported for every cluster).
fn lost(i: &Import) -> usize {
    i.report
        .iter()
        .filter(|m| m.is_unsupported() && !m.directive.starts_with("circuit breaking"))
        .count()
}

fn dep(i: &Import) -> &Value {
    &i.fragment["deployment"]
}

fn stock() -> Import {
    import_file(
        &root().join("scenarios/native/envoy/envoy.yaml"),
        &ImportOptions {
            upstream: Some("llm_agents".into()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const BARE: &str = "name: app\nload_assignment:\n  endpoints:\n  - lb_endpoints:\n    - endpoint: { address: { socket_address: { address: a, port_value: 80 } } }\n    - endpoint: { address: { socket_address: { address: b, port_value: 80 } } }\n";

#[test]
fn a_bare_cluster_gets_envoy_defaults() {
    let i = envoy(BARE);
    assert_eq!(
        dep(&i),
        &json!({
            "regions": { "app": { "instances": 2 } },
            "loadBalancing": { "strategy": "geographic", "localStrategy": "round-robin" },
            "limits": { "maxConnections": 2048 }
        }),
        "round robin, panic at 50%, 1024 + 1024 pending requests, no retries, no checks"
    );
    let said: Vec<&str> = i.report.iter().map(|m| m.directive.as_str()).collect();
    for d in [
        "lb_policy: ROUND_ROBIN (Envoy's default)",
        "healthy_panic_threshold: 50% (Envoy's default)",
        "route (none in the file)",
    ] {
        assert!(said.contains(&d), "{said:?}");
    }
}

#[test]
fn the_stock_fixture_maps_every_directive() {
    let i = stock();
    let d = dep(&i);
    assert_eq!(
        d["regions"],
        json!({ "llm_agents": { "instances": 4 }, "llm_agents-p1": { "instances": 1, "priority": 1 } })
    );
    assert_eq!(
        d["loadBalancing"],
        json!({ "strategy": "geographic", "localStrategy": "power-of-two", "overprovisioningFactor": 1.4,
                "panicThreshold": 40, "weighted": { "llm_agents/0": 2 } })
    );
    assert_eq!(
        d["healthCheck"],
        json!({ "interval": "5s", "timeout": "2s", "unhealthyThreshold": 3, "healthyThreshold": 2 })
    );
    assert_eq!(
        d["outlierDetection"],
        json!({ "consecutiveErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionTime": "300s", "maxEjectionPercent": 50 })
    );
    assert_eq!(
        d["retries"],
        json!({ "maxAttempts": 3, "retryOn": ["connect-failure", "5xx"],
                "backoff": { "base": "100ms", "max": "1s", "jitter": "envoy" },
                "budget": { "percent": 0, "minConcurrency": 3 } })
    );
    assert_eq!(d["limits"]["maxConnections"], 96);
    assert_eq!(
        strategies::DurationStr::parse(d["limits"]["requestTimeout"].as_str().unwrap())
            .unwrap()
            .nanos(),
        strategies::Nanos::from_secs(90)
    );
    let lost: Vec<&str> = i
        .report
        .iter()
        .filter(|m| m.is_unsupported())
        .map(|m| m.directive.as_str())
        .collect();
    assert_eq!(
        lost,
        [
            "per_try_timeout: \"30s\"",
            "success-rate ejection (Envoy's default)",
            "circuit breaking: 96 requests at once"
        ]
    );
    // Every `key: value` line of the cluster and of its route is in the
    // report, at its line.
    let text = std::fs::read_to_string(root().join("scenarios/native/envoy/envoy.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at: Vec<usize> = i.report.iter().map(|m| m.at.line).collect();
    let section = |from: &str, to: &str| {
        let a = lines.iter().position(|l| l.contains(from)).unwrap();
        let b = lines.iter().position(|l| l.contains(to)).unwrap();
        a..b
    };
    for range in [
        section("cluster: llm_agents", "http_filters"),
        section("- name: llm_agents", "- name: metrics"),
    ] {
        for n in range {
            let l = lines[n].trim().trim_start_matches("- ");
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let leaf = !v.trim().is_empty()
                && !v.trim().starts_with('{')
                && k != "value"
                && k != "port_value";
            if leaf {
                assert!(
                    at.contains(&(n + 1)),
                    "line {}: `{l}` is not in the report:\n{}",
                    n + 1,
                    i.report_text()
                );
            }
        }
    }
}

#[test]
fn json_reads_as_yaml_does_with_both_duration_forms() {
    let yaml = "name: app\nconnect_timeout: 0.5s\nlb_policy: RANDOM\nhealth_checks:\n- timeout: 1s\n  interval: 0.25s\n  unhealthy_threshold: 2\n  healthy_threshold: 1\n  tcp_health_check: {}\nload_assignment:\n  endpoints:\n  - lb_endpoints:\n    - endpoint: { address: { socket_address: { address: a, port_value: 80 } } }\n";
    let json_text = r#"{"name": "app", "connect_timeout": {"seconds": 0, "nanos": 500000000}, "lb_policy": "RANDOM",
      "health_checks": [{"timeout": {"seconds": 1}, "interval": "0.250s", "unhealthy_threshold": {"value": 2}, "healthy_threshold": 1, "tcp_health_check": {}}],
      "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "a", "port_value": 80}}}}]}]}}"#;
    let j = import_str(
        json_text,
        Path::new("cluster.json"),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j.format, Format::Envoy, "a .json file with Envoy's keys");
    assert_eq!(dep(&envoy(yaml)), dep(&j));
    assert_eq!(dep(&j)["healthCheck"]["interval"], "250ms");
    // Places come from the JSON text too.
    let lb = j
        .report
        .iter()
        .find(|m| m.directive.starts_with("lb_policy"))
        .unwrap();
    assert_eq!((lb.at.line, lb.at.column), (1, 72));
}

#[test]
fn each_lb_policy_is_a_local_strategy() {
    let with = |extra: &str| {
        let i = envoy(&format!("{BARE}{extra}"));
        (dep(&i)["loadBalancing"]["localStrategy"].clone(), lost(&i))
    };
    assert_eq!(
        with("lb_policy: LEAST_REQUEST\n"),
        (json!("power-of-two"), 0)
    );
    assert_eq!(with("lb_policy: RANDOM\n"), (json!("random"), 0));
    assert_eq!(
        with("lb_policy: RING_HASH\n"),
        (json!("consistent-hash"), 0)
    );
    assert_eq!(with("lb_policy: MAGLEV\n"), (json!("consistent-hash"), 0));
    assert_eq!(
        with("lb_policy: CLUSTER_PROVIDED\n"),
        (json!("round-robin"), 1)
    );
    assert_eq!(
        with("lb_policy: LEAST_REQUEST\nleast_request_lb_config: { choice_count: 3 }\n"),
        (json!("power-of-two"), 1)
    );
    // Weights: weighted round robin; RANDOM ignores them as Envoy does.
    let w = BARE.replacen(
        "port_value: 80 } } }\n",
        "port_value: 80 } } }\n      load_balancing_weight: 3\n",
        1,
    );
    let i = envoy(&w);
    assert_eq!(dep(&i)["loadBalancing"]["localStrategy"], "weighted");
    assert_eq!(dep(&i)["loadBalancing"]["weighted"], json!({ "app/0": 3 }));
    let i = envoy(&format!("{w}lb_policy: RANDOM\n"));
    assert!(dep(&i)["loadBalancing"].get("weighted").is_none());
}

#[test]
fn priorities_are_regions_and_locality_weights_combine() {
    let text = "name: app\ncommon_lb_config:\n  locality_weighted_lb_config: {}\nload_assignment:\n  endpoints:\n  - load_balancing_weight: 2\n    lb_endpoints:\n    - endpoint: { address: { socket_address: { address: a, port_value: 80 } } }\n    - endpoint: { address: { socket_address: { address: b, port_value: 80 } } }\n  - load_balancing_weight: 1\n    lb_endpoints:\n    - endpoint: { address: { socket_address: { address: c, port_value: 80 } } }\n  - priority: 2\n    lb_endpoints:\n    - endpoint: { address: { socket_address: { address: d, port_value: 80 } } }\n";
    let i = envoy(text);
    // a and b share 2/3, c has 1/3: weights 1, 1, 1 — all equal.
    assert_eq!(
        dep(&i)["regions"],
        json!({ "app": { "instances": 3 }, "app-p2": { "instances": 1, "priority": 2 } })
    );
    assert!(
        dep(&i)["loadBalancing"].get("weighted").is_none(),
        "{}",
        dep(&i)
    );
    let text = text.replace("load_balancing_weight: 1\n", "load_balancing_weight: 3\n");
    let i = envoy(&text);
    assert_eq!(
        dep(&i)["loadBalancing"]["weighted"],
        json!({ "app/2": 3 }),
        "2/5 split by two, 3/5 whole"
    );
    // Without locality_weighted_lb_config Envoy reads no locality weight.
    let i = envoy(&text.replace(
        "  locality_weighted_lb_config: {}\n",
        "  update_merge_window: 1s\n",
    ));
    assert!(dep(&i)["loadBalancing"].get("weighted").is_none());
}

#[test]
fn the_route_gives_the_timeout_and_retries_with_envoy_defaults() {
    let route = |policy: &str| {
        format!("static_resources:\n  listeners:\n  - name: l\n    filter_chains:\n    - filters:\n      - name: hcm\n        typed_config:\n          route_config:\n            virtual_hosts:\n            - name: v\n              domains: ['*']\n{policy}              routes:\n              - match: {{ prefix: / }}\n                route: {{ cluster: app }}\n  clusters:\n  - name: app\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: {{ address: {{ socket_address: {{ address: a, port_value: 80 }} }} }}\n")
    };
    let i = envoy(&route(""));
    assert_eq!(dep(&i)["limits"]["requestTimeout"], "15s");
    assert!(dep(&i).get("retries").is_none());
    // A virtual host's policy, Envoy's defaults: 1 retry, 25ms to 250ms,
    // 3 retries in flight.
    let i = envoy(&route(
        "              retry_policy: { retry_on: gateway-error }\n",
    ));
    assert_eq!(
        dep(&i)["retries"],
        json!({ "maxAttempts": 2, "retryOn": ["connect-failure", "5xx"],
                "backoff": { "base": "25ms", "max": "250ms", "jitter": "envoy" },
                "budget": { "percent": 0, "minConcurrency": 3 } })
    );
    let i = envoy(&route(
        "              retry_policy: { retry_on: retriable-4xx }\n",
    ));
    assert!(dep(&i).get("retries").is_none());
    assert_eq!(lost(&i), 1, "{}", i.report_text());
}

#[test]
fn an_imported_outlier_detection_ejects_and_priority_one_takes_the_spill() {
    let path = root().join("scenarios/native/envoy-llm.json");
    let run = |edit: &dyn Fn(String) -> String, scenario: &dyn Fn(String) -> String| {
        let dir = std::env::temp_dir().join(format!(
            "fleetsim-envoy-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(dir.join("envoy")).unwrap();
        let cfg =
            std::fs::read_to_string(root().join("scenarios/native/envoy/envoy.yaml")).unwrap();
        std::fs::write(dir.join("envoy/envoy.yaml"), edit(cfg)).unwrap();
        std::fs::write(
            dir.join("s.json"),
            scenario(std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        let mut m = Model::from_file(dir.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
        m.run.replications = 1;
        let r = run_model(&m, RunOptions::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        r.runs.into_iter().next().unwrap()
    };
    let same = |s: String| s;
    let r = run(&same, &same);
    assert!(r.resilience.ejections >= 1, "{:?}", r.resilience);
    let spare = |r: &sim_core::RunResult| {
        r.instances
            .iter()
            .find(|i| i.id == "llm_agents-p1/0")
            .unwrap()
            .requests
    };
    assert!(
        spare(&r) > 0,
        "two of four down: 50% healthy, 1.4 × 50 = 70, so 30% spills to priority 1"
    );
    // One agent down leaves 75% healthy: 1.4 × 75 ≥ 100, nothing spills.
    let one = |s: String| {
        s.replace(
            "\"instance\": \"llm_agents/2\"",
            "\"instance\": \"llm_agents/1\"",
        )
        .replace(
            "\"instance\": \"llm_agents/3\"",
            "\"instance\": \"llm_agents/1\"",
        )
    };
    let r1 = run(&same, &one);
    assert_eq!(spare(&r1), 0);
    // Without enforcement, no ejection.
    let off = |s: String| {
        s.replace(
            "consecutive_5xx: 5\n",
            "consecutive_5xx: 5\n      enforcing_consecutive_5xx: 0\n",
        )
    };
    let r0 = run(&off, &same);
    assert_eq!(r0.resilience.ejections, 0);
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn errors_name_the_file_line_and_column() {
    let text = std::fs::read_to_string(root().join("scenarios/native/envoy/envoy.yaml")).unwrap();
    let e = err(&text, None);
    assert!(
        e.starts_with(
            "envoy.yaml:102:9: envoy: 2 clusters (llm_agents, metrics); say which with --upstream"
        ),
        "{e}"
    );
    let e = err(&text, Some("nope"));
    assert!(
        e.contains("no cluster `nope`; the file has: llm_agents, metrics"),
        "{e}"
    );
    let e = err(&format!("{BARE}lb_policy: LEAST_CONN\n"), None);
    assert!(
        e.starts_with("envoy.yaml:7:1: envoy: `lb_policy`: expected ROUND_ROBIN"),
        "{e}"
    );
    let e = err(&format!("{BARE}health_checks:\n- timeout: 1s\n  interval: 5\n  unhealthy_threshold: 1\n  healthy_threshold: 1\n  tcp_health_check: {{}}\n"), None);
    assert!(
        e.starts_with("envoy.yaml:9:3: envoy: `interval`: expected a duration"),
        "{e}"
    );
    let e = err(&format!("{BARE}health_checks:\n- timeout: 1s\n  unhealthy_threshold: 1\n  healthy_threshold: 1\n  tcp_health_check: {{}}\n"), None);
    assert!(e.contains("a health check without `interval`"), "{e}");
    let e = err("{\"name\": \"x\", \"lb_policy\": }", None);
    assert!(
        e.starts_with("envoy.yaml:1:28: envoy: not valid JSON"),
        "{e}"
    );
}

#[test]
fn malformed_input_is_refused_without_a_panic() {
    let cases = [
        String::new(),
        "null".into(),
        "[]".into(),
        "[1, 2]".into(),
        "name: 5\nlb_policy: 7\n".into(),
        "name: app\nload_assignment: []\n".into(),
        "name: app\nload_assignment: { endpoints: [ { lb_endpoints: [ 1 ] } ] }\n".into(),
        "name: app\nload_assignment: { endpoints: [ { priority: -1, lb_endpoints: [] } ] }\n".into(),
        format!("{BARE}outlier_detection: {{ consecutive_5xx: 99999999999999999999999, interval: 1e400s }}\n"),
        format!("{BARE}circuit_breakers: {{ thresholds: [ {{ max_requests: 0, max_pending_requests: 0 }} ] }}\n"),
        format!("{BARE}circuit_breakers: {{ thresholds: {{ priority: HIGH }} }}\n"),
        format!("{BARE}common_lb_config: {{ healthy_panic_threshold: {{ value: 1e308 }} }}\n"),
        format!("{BARE}health_checks: 3\n"),
        format!("{}{}", "[".repeat(300), "]".repeat(300)),
        format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200)),
        format!("static_resources:\n  clusters: {}\n", "[".repeat(150)),
        "static_resources: { clusters: [ { name: a, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: {}, load_balancing_weight: 4294967296 } ] } ] } } ] }".into(),
    ];
    for c in &cases {
        let r = std::panic::catch_unwind(|| {
            import_str(
                c,
                Path::new("x.yaml"),
                &ImportOptions {
                    format: Some(Format::Envoy),
                    ..Default::default()
                },
            )
        });
        let r = r.unwrap_or_else(|_| panic!("panicked on {c:?}"));
        if let Err(e) = r {
            assert!(
                matches!(e, sim_core::ScenarioError::Native { .. }),
                "{c:?}: {e}"
            );
        }
    }
    // And the report is never silent about what it dropped.
    let i = envoy(&format!("{BARE}frobnicate: true\n"));
    assert!(matches!(
        i.report
            .iter()
            .find(|m| m.directive.starts_with("frobnicate"))
            .unwrap()
            .outcome,
        Outcome::Unsupported { .. }
    ));
}

#[test]
fn envoy_files_are_told_by_name_or_content() {
    assert_eq!(
        Format::detect(Path::new("envoy.yaml"), ""),
        Some(Format::Envoy)
    );
    assert_eq!(
        Format::detect(
            Path::new("bootstrap.yaml"),
            "static_resources:\n  clusters: []\n"
        ),
        Some(Format::Envoy)
    );
    assert_eq!(
        Format::detect(
            Path::new("c.json"),
            "{\"name\": \"x\", \"lb_policy\": \"RANDOM\"}"
        ),
        Some(Format::Envoy)
    );
    assert_eq!(
        Format::detect(Path::new("d.json"), "{\"regions\": {}}"),
        Some(Format::DeploymentJson)
    );
    assert_eq!(
        Format::detect(
            Path::new("k.yaml"),
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  envoy: |\n    static_resources:\n"
        ),
        Some(Format::Kubernetes)
    );
}

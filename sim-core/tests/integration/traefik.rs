//! `sim_core::native` for Traefik: a service of the dynamic configuration
//! read as Traefik runs it, and checked by behaviour through the engine.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, Format, Import, ImportOptions};
use sim_core::{run_model, Model, RunOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn traefik(text: &str) -> Import {
    import_str(
        text,
        Path::new("dynamic.yml"),
        &ImportOptions {
            format: Some(Format::Traefik),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str, upstream: Option<&str>) -> String {
    import_str(
        text,
        Path::new("traefik.yml"),
        &ImportOptions {
            upstream: upstream.map(str::to_string),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string()
}

fn dep(i: &Import) -> &Value {
    &i.fragment["deployment"]
}

const LB: &str = "http:\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: http://a\n          - url: http://b\n";

#[test]
fn a_load_balancer_that_says_nothing_gets_traefik_defaults() {
    let i = traefik(LB);
    assert_eq!(
        dep(&i),
        &json!({ "regions": { "app": { "instances": 2 } }, "loadBalancing": { "strategy": "round-robin" } })
    );
    assert_eq!(i.unsupported(), 0);
    // Health check defaults: 30s, 5s, one failure out, one pass back.
    let i = traefik(&format!(
        "{LB}        healthCheck:\n          path: /health\n"
    ));
    assert_eq!(
        dep(&i)["healthCheck"],
        json!({ "interval": "30s", "timeout": "5s", "unhealthyThreshold": 1, "healthyThreshold": 1 })
    );
    let i = traefik(&format!("{LB}        passiveHealthCheck: {{}}\n"));
    assert_eq!(
        dep(&i)["passiveHealth"],
        json!({ "type": "nginx", "maxFails": 1, "failTimeout": "10s", "countApplicationErrors": true })
    );
}

#[test]
fn the_stock_fixture_maps_every_directive() {
    let path = root().join("scenarios/native/traefik/dynamic.yml");
    let i = import_file(&path, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(i.format, Format::Traefik);
    let d = dep(&i);
    assert_eq!(
        d["regions"],
        json!({ "agents-main": { "instances": 4 }, "agents-spare": { "instances": 2, "priority": 1 } })
    );
    assert_eq!(
        d["loadBalancing"],
        json!({ "strategy": "geographic", "localStrategy": "power-of-two", "overprovisioningFactor": 4.0, "panicThreshold": 0,
                "weighted": { "agents-main/0": 9, "agents-main/1": 9, "agents-main/2": 4, "agents-main/3": 2 },
                "sessionAffinity": { "type": "cookie", "ttl": "600s" } }),
        "3:1 between the pools, 2:1 within the second: 9 9 | 4 2"
    );
    assert_eq!(
        d["healthCheck"],
        json!({ "interval": "5s", "timeout": "2s", "unhealthyThreshold": 1, "healthyThreshold": 1 })
    );
    assert_eq!(
        d["passiveHealth"],
        json!({ "type": "nginx", "maxFails": 3, "failTimeout": "20s", "countApplicationErrors": true })
    );
    assert_eq!(
        d["retries"],
        json!({ "maxAttempts": 3, "retryOn": ["connect-failure"], "backoff": { "base": "100ms", "max": "200ms", "jitter": "none" } })
    );
    assert_eq!(
        d["rateLimits"],
        json!({ "agents-ratelimit": { "requests": 50, "window": "1s", "strategy": "token-bucket", "burst": 100, "key": "ip" } })
    );
    assert_eq!(d["limits"]["maxConnections"], 64);
    let lost: Vec<&str> = i
        .report
        .iter()
        .filter(|m| m.is_unsupported())
        .map(|m| m.directive.as_str())
        .collect();
    assert_eq!(lost, ["circuitBreaker: {…}", "sticky (over a failover)"]);
    let text = std::fs::read_to_string(&path).unwrap();
    let at: Vec<usize> = i.report.iter().map(|m| m.at.line).collect();
    // Routers are reported one line each (their rule, entry points and
    // TLS have no simulation meaning); every line after them is reported.
    let from = text.lines().position(|l| l == "  middlewares:").unwrap();
    for (n, l) in text.lines().enumerate().skip(from) {
        let l = l.trim().trim_start_matches("- ");
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        if !l.starts_with('#')
            && !v.trim().is_empty()
            && !["rule", "entryPoints", "tls", "stsSeconds", "expression"].contains(&k)
        {
            assert!(
                at.contains(&(n + 1)),
                "line {}: `{l}` is not in the report:\n{}",
                n + 1,
                i.report_text()
            );
        }
    }
}

#[test]
fn toml_reads_as_yaml_does() {
    let toml = "[http.services.app.loadBalancer]\n  strategy = \"p2c\"\n  [[http.services.app.loadBalancer.servers]]\n    url = \"http://a\"\n    weight = 3\n  [[http.services.app.loadBalancer.servers]]\n    url = \"http://b\"\n  [http.services.app.loadBalancer.healthCheck]\n    path = \"/health\"\n    interval = \"10s\"\n";
    let yaml = "http:\n  services:\n    app:\n      loadBalancer:\n        strategy: p2c\n        servers:\n          - url: http://a\n            weight: 3\n          - url: http://b\n        healthCheck:\n          path: /health\n          interval: 10s\n";
    let t = import_str(toml, Path::new("dynamic.toml"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        t.format,
        Format::Traefik,
        "a .toml with http.services is Traefik's, not agentflow"
    );
    assert_eq!(dep(&t), dep(&traefik(yaml)));
    assert_eq!(
        dep(&t)["loadBalancing"],
        json!({ "strategy": "power-of-two", "weighted": { "app/0": 3 } })
    );
    let w = t
        .report
        .iter()
        .find(|m| m.directive == "weight: 3")
        .unwrap();
    assert_eq!((w.at.line, w.at.column), (5, 5));
    // Keys in any case, as Traefik's file provider reads them.
    let i = traefik(
        &yaml
            .replace("loadBalancer", "loadbalancer")
            .replace("healthCheck", "healthcheck"),
    );
    assert_eq!(dep(&i), dep(&t));
}

#[test]
fn each_strategy_is_its_fleetsim_strategy() {
    let with = |s: &str| {
        let i = traefik(&format!("{LB}        strategy: {s}\n"));
        (
            dep(&i)["loadBalancing"]["strategy"].clone(),
            i.unsupported(),
        )
    };
    assert_eq!(with("wrr"), (json!("round-robin"), 0));
    assert_eq!(with("p2c"), (json!("power-of-two"), 0));
    assert_eq!(with("hrw"), (json!("ip-hash"), 0));
    assert_eq!(with("leasttime"), (json!("peak-ewma"), 1));
    let e = err(&format!("{LB}        strategy: fastest\n"), None);
    assert!(
        e.starts_with("traefik.yml:8:9: traefik: `strategy`: expected wrr, p2c, hrw or leasttime"),
        "{e}"
    );
}

#[test]
fn middlewares_apply_only_on_the_router_to_the_service() {
    let mw = "  middlewares:\n    r:\n      retry:\n        attempts: 4\n        status: [\"500-599\"]\n        retryNonIdempotentMethod: true\n    rl:\n      rateLimit:\n        average: 10\n        sourceCriterion:\n          requestHost: true\n    inflight:\n      inFlightReq:\n        amount: 8\n        sourceCriterion:\n          ipStrategy:\n            depth: 1\n";
    let routed = format!("{LB}  routers:\n    web:\n      rule: PathPrefix(`/`)\n      service: app@file\n      middlewares: [r@file, rl, inflight]\n{mw}");
    let i = traefik(&routed);
    assert_eq!(
        dep(&i)["retries"],
        json!({ "maxAttempts": 4, "retryOn": ["connect-failure", "5xx"], "backoff": { "base": "1ms", "max": "1ms", "jitter": "none" } })
    );
    assert_eq!(
        dep(&i)["rateLimits"]["rl"],
        json!({ "requests": 10, "window": "1s", "strategy": "token-bucket", "burst": 1, "key": "global" })
    );
    assert!(
        dep(&i)["limits"].get("maxConnections").is_none(),
        "per client: not a fleet-wide limit"
    );
    assert_eq!(i.unsupported(), 2, "{}", i.report_text());
    // Not routed: nothing applies, every middleware is reported.
    let i = traefik(&format!("{LB}{mw}"));
    assert!(dep(&i).get("retries").is_none() && dep(&i).get("rateLimits").is_none());
    assert_eq!(
        i.report
            .iter()
            .filter(|m| m.directive.starts_with("r: ")
                || m.directive.starts_with("rl: ")
                || m.directive.starts_with("inflight: "))
            .count(),
        3
    );
    // Status retries skip POSTs unless retryNonIdempotentMethod.
    let i = traefik(&routed.replace("        retryNonIdempotentMethod: true\n", ""));
    assert_eq!(dep(&i)["retries"]["retryOn"], json!(["connect-failure"]));
}

#[test]
fn failover_needs_the_main_service_checked() {
    let text = "http:\n  services:\n    top:\n      failover:\n        service: main\n        fallback: spare\n    main:\n      loadBalancer:\n        servers:\n          - url: http://a\n    spare:\n      loadBalancer:\n        servers:\n          - url: http://s\n";
    let i = traefik(text);
    assert_eq!(
        dep(&i)["regions"],
        json!({ "main": { "instances": 1 } }),
        "{}",
        i.report_text()
    );
    let i = traefik(&text.replace(
        "          - url: http://a\n",
        "          - url: http://a\n        healthCheck: { path: /h }\n",
    ));
    assert_eq!(
        dep(&i)["regions"]["spare"],
        json!({ "instances": 1, "priority": 1 })
    );
    assert_eq!(dep(&i)["loadBalancing"]["strategy"], "geographic");
}

#[test]
fn an_imported_failover_sends_to_the_spare_only_while_the_main_is_down() {
    let path = root().join("scenarios/native/traefik-llm.json");
    let run = |edit: &dyn Fn(String) -> String, tag: &str| {
        let dir =
            std::env::temp_dir().join(format!("fleetsim-traefik-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(dir.join("traefik")).unwrap();
        std::fs::copy(
            root().join("scenarios/native/traefik/dynamic.yml"),
            dir.join("traefik/dynamic.yml"),
        )
        .unwrap();
        std::fs::write(
            dir.join("s.json"),
            edit(std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        let mut m = Model::from_file(dir.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
        m.run.replications = 1;
        let r = run_model(&m, RunOptions::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        r.runs.into_iter().next().unwrap()
    };
    let spare = |r: &sim_core::RunResult| {
        r.instances
            .iter()
            .filter(|i| i.region == "agents-spare")
            .map(|i| i.requests)
            .sum::<u64>()
    };
    let r = run(&|s| s, "outage");
    assert!(spare(&r) > 0);
    assert!(r.resilience.passive_marked_down > 0, "{:?}", r.resilience);
    let quiet = run(
        &|s: String| {
            let mut v: Value = serde_json::from_str(&s).unwrap();
            v.as_object_mut().unwrap().remove("failures");
            v.to_string()
        },
        "quiet",
    );
    assert_eq!(
        spare(&quiet),
        0,
        "the main service healthy: the fallback takes nothing"
    );
}

#[test]
fn errors_name_the_file_line_and_column() {
    let two = "http:\n  services:\n    a:\n      loadBalancer:\n        servers: [{ url: http://a }]\n    b:\n      loadBalancer:\n        servers: [{ url: http://b }]\n";
    let e = err(two, None);
    assert!(
        e.starts_with("traefik.yml:6:5: traefik: 2 services (a, b); say which with --upstream"),
        "{e}"
    );
    let e = err(two, Some("c"));
    assert!(
        e.contains("no service `c` under http.services; the file has: a, b"),
        "{e}"
    );
    let e = err("http:\n  services:\n    a:\n      loadBalancer:\n        servers:\n          - weight: 2\n", None);
    assert!(
        e.starts_with("traefik.yml:6:19: traefik: a server without `url`"),
        "{e}"
    );
    let e = err("http:\n  services:\n    a:\n      weighted:\n        services: [{ name: b }]\n    b:\n      weighted:\n        services: [{ name: a }]\n", Some("a"));
    assert!(e.contains("reached twice"), "{e}");
    let e = err("[http.services.a.loadBalancer]\nstrategy = \n", None);
    assert!(
        e.starts_with("traefik.yml:2:12: traefik: not valid TOML") || e.contains("not valid TOML"),
        "{e}"
    );
}

#[test]
fn malformed_input_is_refused_without_a_panic() {
    let cases = [
        String::new(),
        "http: 3\n".into(),
        "http:\n  services: []\n".into(),
        "http:\n  services:\n    a: 1\n".into(),
        "http:\n  services:\n    a:\n      loadBalancer:\n        servers: {}\n".into(),
        "http:\n  services:\n    a:\n      loadBalancer:\n        servers: [{ url: 5, weight: -1 }]\n".into(),
        "http:\n  services:\n    a:\n      loadBalancer:\n        servers: [{ url: x, weight: 99999999999999999999 }]\n        healthCheck: { interval: 1e99 }\n".into(),
        "http:\n  services:\n    a:\n      weighted: { services: [ { name: zz } ] }\n".into(),
        "http:\n  services:\n    a:\n      failover: {}\n".into(),
        "http:\n  services:\n    a:\n      loadBalancer:\n        servers: [{ url: x }]\n        sticky: { cookie: { maxAge: -99999999999 } }\n".into(),
        format!("http:\n  services:\n    a:\n      loadBalancer:\n        servers: [{{ url: x }}]\n  middlewares: {}\n", "[".repeat(200)),
        format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200)),
        "[[[[[[".into(),
    ];
    for c in &cases {
        let r = std::panic::catch_unwind(|| {
            import_str(
                c,
                Path::new("x.yml"),
                &ImportOptions {
                    format: Some(Format::Traefik),
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
}

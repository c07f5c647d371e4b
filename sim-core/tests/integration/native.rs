//! `sim_core::native`: nginx configs read as nginx runs them, taken by
//! reference from scenarios, and checked against the real nginx.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, ImportOptions, Outcome};
use sim_core::{run_model, Model, RunOptions, ScenarioError};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures")
}

fn nginx(text: &str) -> sim_core::native::Import {
    import_str(text, Path::new("test.conf"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn dep(i: &sim_core::native::Import) -> &Value {
    &i.fragment["deployment"]
}

fn outcome_of<'a>(i: &'a sim_core::native::Import, directive: &str) -> &'a Outcome {
    &i.report
        .iter()
        .find(|m| m.directive.starts_with(directive))
        .unwrap_or_else(|| panic!("no `{directive}` in {:#?}", i.report))
        .outcome
}

const MINIMAL: &str = "upstream app {\n  server a:1;\n  server b:1;\n  server c:1;\n}\nserver {\n  location / { proxy_pass http://app; }\n}\n";

#[test]
fn an_upstream_that_says_nothing_gets_nginx_defaults() {
    let i = nginx(MINIMAL);
    assert_eq!(
        dep(&i),
        &json!({
            "regions": { "app": { "instances": 3 } },
            "loadBalancing": { "strategy": "round-robin" },
            "passiveHealth": { "type": "nginx", "maxFails": 1, "failTimeout": "10s" },
            "retries": {
                "maxAttempts": 3,
                "retryOn": ["connect-failure", "timeout"],
                "backoff": { "base": "1ms", "max": "1ms", "jitter": "none" }
            },
            "limits": { "requestTimeout": "60s" }
        })
    );
    assert!(i
        .report
        .iter()
        .any(|m| m.directive.contains("(nginx's default)")));
    assert_eq!(i.unsupported(), 0);
}

#[test]
fn the_stock_fixture_maps_every_directive() {
    let path = root().join("scenarios/native/nginx/llm-upstream.conf");
    let i = import_file(&path, &ImportOptions::default()).unwrap();
    let d = dep(&i);
    assert_eq!(
        d["regions"]["llm_agents"]["instances"], 4,
        "the backup is left out"
    );
    assert_eq!(d["loadBalancing"]["strategy"], "least-connections");
    assert_eq!(d["loadBalancing"]["weighted"], json!({ "llm_agents/0": 2 }));
    assert_eq!(
        d["passiveHealth"],
        json!({ "type": "nginx", "maxFails": 3, "failTimeout": "30s" }),
        "an LLM request is a POST: its 502 and 503 answers count only with non_idempotent"
    );
    assert_eq!(
        d["limits"],
        json!({ "maxConnectionsPerInstance": 24, "requestTimeout": "90s", "maxConnections": 200 })
    );
    assert_eq!(d["retries"]["maxAttempts"], 3);
    assert_eq!(
        d["rateLimits"]["perip"],
        json!({ "requests": 5, "window": "1s", "strategy": "gcra", "burst": 11, "key": "ip" })
    );
    // Every directive of the file is in the report, once.
    let text = std::fs::read_to_string(&path).unwrap();
    let leaves = text
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| l.ends_with(';'))
        .count();
    let reported: Vec<_> = i
        .report
        .iter()
        // Not the upstream block, nor what nginx applies without a
        // directive of its own (written with a parenthesis).
        .filter(|m| !m.directive.ends_with(')') && !m.directive.starts_with("upstream "))
        .collect();
    assert_eq!(reported.len(), leaves, "{:#?}", i.report);
    assert!(matches!(
        outcome_of(&i, "server 127.0.0.1:8005 backup"),
        Outcome::Unsupported { .. }
    ));
    assert!(matches!(
        outcome_of(&i, "keepalive"),
        Outcome::Ignored { .. }
    ));
    assert!(matches!(
        outcome_of(&i, "proxy_connect_timeout"),
        Outcome::Ignored { .. }
    ));
    assert_eq!(i.unsupported(), 1);
}

#[test]
fn each_balancing_method_is_its_fleetsim_strategy() {
    let with = |method: &str| {
        let i = nginx(&MINIMAL.replace(
            "upstream app {\n",
            &format!("upstream app {{\n  {method}\n"),
        ));
        dep(&i)["loadBalancing"]["strategy"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(with("least_conn;"), "least-connections");
    assert_eq!(with("ip_hash;"), "ip-hash");
    assert_eq!(with("hash $remote_addr consistent;"), "consistent-hash");
    assert_eq!(with("random;"), "random");
    assert_eq!(with("random two least_conn;"), "power-of-two");
    // A plain hash is read as consistent, and says what differs.
    let i = nginx(&MINIMAL.replace("upstream app {\n", "upstream app {\n  hash $uri;\n"));
    assert!(matches!(
        outcome_of(&i, "hash $uri"),
        Outcome::Unsupported { .. }
    ));
    // Weights with round robin: nginx's smooth weighted round robin.
    let i = nginx(&MINIMAL.replace("server a:1;", "server a:1 weight=3;"));
    assert_eq!(
        dep(&i)["loadBalancing"],
        json!({ "strategy": "weighted", "weighted": { "app/0": 3 } })
    );
}

#[test]
fn switches_nginx_offers_turn_mechanisms_off() {
    let i = nginx(&MINIMAL.replace(":1;", ":1 max_fails=0;"));
    assert!(dep(&i).get("passiveHealth").is_none());
    let i = nginx(&MINIMAL.replace(
        "proxy_pass http://app;",
        "proxy_pass http://app; proxy_next_upstream off;",
    ));
    assert!(dep(&i).get("retries").is_none());
    let i = nginx(&MINIMAL.replace(
        "proxy_pass http://app;",
        "proxy_pass http://app; proxy_next_upstream_tries 1;",
    ));
    assert!(dep(&i).get("retries").is_none());
    let one = "upstream app { server a:1; }\nserver { location / { proxy_pass http://app; } }\n";
    assert!(
        dep(&nginx(one)).get("retries").is_none(),
        "one server: nowhere to pass a request on"
    );
    // Settings inherit from the server block unless the location sets its own.
    let i = nginx("upstream app { server a:1; server b:1; }\nserver { proxy_read_timeout 30s; location / { proxy_pass http://app; } }\n");
    assert_eq!(dep(&i)["limits"]["requestTimeout"], "30s");
    let i = nginx("upstream app { server a:1; server b:1; }\nserver { proxy_read_timeout 30s; location / { proxy_read_timeout 5; proxy_pass http://app; } }\n");
    assert_eq!(dep(&i)["limits"]["requestTimeout"], "5s");
}

#[test]
fn a_rate_limit_without_nodelay_says_what_is_lost() {
    let conf = "limit_req_zone $http_x_user zone=u:1m rate=30r/m;\nupstream app { server a:1; server b:1; }\nserver { location / { proxy_pass http://app; limit_req zone=u burst=5; } }\n";
    let i = nginx(conf);
    assert_eq!(
        dep(&i)["rateLimits"]["u"],
        json!({ "requests": 30, "window": "1m", "strategy": "gcra", "burst": 6, "key": "user" })
    );
    assert!(matches!(
        outcome_of(&i, "limit_req zone=u"),
        Outcome::Unsupported { .. }
    ));
}

#[test]
fn errors_name_the_file_line_and_column_and_what_was_expected() {
    let err = |text: &str, opts: ImportOptions| {
        import_str(text, Path::new("bad.conf"), &opts)
            .unwrap_err()
            .to_string()
    };
    let e = err(
        "upstream app {\n  server a:1\n}\n",
        ImportOptions::default(),
    );
    assert!(
        e.starts_with("bad.conf:3:1: nginx: unexpected \"}\""),
        "{e}"
    );
    let e = err(
        "upstream app {\n  server a:1 wieght=2;\n}\n",
        ImportOptions::default(),
    );
    assert!(
        e.starts_with("bad.conf:2:14: nginx: unknown server parameter `wieght`"),
        "{e}"
    );
    let e = err(
        "upstream a { server x; }\nupstream b { server y; }\n",
        ImportOptions::default(),
    );
    assert!(
        e.contains("2 upstreams (a, b); say which with --upstream"),
        "{e}"
    );
    let e = err(
        "upstream a { server x; }\n",
        ImportOptions {
            upstream: Some("c".into()),
            ..Default::default()
        },
    );
    assert!(e.contains("no `upstream c` block; the file has: a"), "{e}");
    let e = err("upstream a { server x down; }\n", ImportOptions::default());
    assert!(e.contains("no server that takes requests"), "{e}");
    let e = err(
        "upstream a { server x max_fails=many; }\n",
        ImportOptions::default(),
    );
    assert!(
        e.contains("1:23: nginx: `max_fails=many`: expected a whole number"),
        "{e}"
    );
}

#[test]
fn the_seed_docs_nginx_snippets_import_as_written() {
    let seeds = fixtures().join("seeds");
    let read = |f: &str| {
        import_file(&seeds.join(f), &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    // Azcore's upstream: least_conn, max_fails=3 fail_timeout=30s, the
    // check module, 60s timeouts.
    let a = read("azcore-nginx.conf");
    let d = dep(&a);
    assert_eq!(d["regions"]["arc_backend"]["instances"], 4);
    assert_eq!(d["loadBalancing"]["strategy"], "least-connections");
    assert_eq!(d["passiveHealth"]["maxFails"], 3);
    assert_eq!(d["passiveHealth"]["failTimeout"], "30s");
    assert_eq!(
        d["healthCheck"],
        json!({ "interval": "5000ms", "timeout": "1000ms", "healthyThreshold": 2, "unhealthyThreshold": 3 })
    );
    assert_eq!(d["limits"]["requestTimeout"], "60s");
    // Only the check module's default_down is not expressible.
    let lost: Vec<&str> = a
        .report
        .iter()
        .filter(|m| m.is_unsupported())
        .map(|m| m.directive.as_str())
        .collect();
    assert_eq!(lost, ["default_down=true (the check module's default)"]);
    let b = read("azcore-ip-hash.conf");
    assert_eq!(dep(&b)["loadBalancing"]["strategy"], "ip-hash");
    let c = read("azcore-sticky.conf");
    assert_eq!(
        dep(&c)["loadBalancing"]["sessionAffinity"],
        json!({ "type": "cookie", "ttl": "1h" })
    );
    // InnoSynth-Forjinn's: round robin over three servers, nothing else.
    let f = read("forjinn-nginx.conf");
    assert_eq!(dep(&f)["regions"]["forjinn_cluster"]["instances"], 3);
    assert_eq!(dep(&f)["loadBalancing"]["strategy"], "round-robin");
    assert_eq!(f.unsupported(), 0);
}

/// A scenario that takes its deployment from `conf`, in a new directory.
fn scenario_with(conf: &str, deployment: Value, extra: Value) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let mut s = json!({
        "name": "imported",
        "run": { "duration": "10m", "warmup": "1m", "seed": 3 },
        "workload": { "arrivals": { "ratePerSecond": 8 }, "request": { "llmCalls": 1 } },
        "llm": { "models": { "m": { "latency": { "dist": "lognormal", "median": "800ms", "p99": "4s" } } } },
        "instanceTypes": { "t": { "slots": 8 } },
        "deployment": deployment
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    let path = dir.path().join("s.json");
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    (dir, path)
}

mod tempdir {
    pub(super) struct Dir(std::path::PathBuf);
    impl Dir {
        pub(super) fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "fleetsim-native-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub(super) fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn a_scenario_takes_its_deployment_by_reference_and_its_own_keys_win() {
    let (_d, path) = scenario_with(MINIMAL, json!({ "import": "nginx.conf" }), json!({}));
    let m = Model::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.fleet.instances.len(), 3);
    assert_eq!(
        m.resilience.request_timeout,
        Some(sim_core::Nanos::from_secs(60))
    );
    // The same settings written by hand compile to the same model.
    let (_h, hand) = scenario_with(
        "",
        json!({
            "regions": { "app": { "instances": 3 } },
            "passiveHealth": { "type": "nginx", "maxFails": 1, "failTimeout": "10s" },
            "retries": { "maxAttempts": 3, "retryOn": ["connect-failure", "timeout"],
                         "backoff": { "base": "1ms", "max": "1ms", "jitter": "none" } },
            "limits": { "requestTimeout": "60s" }
        }),
        json!({}),
    );
    let h = Model::from_file(&hand).unwrap();
    assert_eq!(m.resilience.passive_health, h.resilience.passive_health);
    assert_eq!(m.resilience.retries, h.resilience.retries);
    assert_eq!(m.fleet.instances, h.fleet.instances);
    // The scenario's own keys override the file's.
    let (_o, over) = scenario_with(
        MINIMAL,
        json!({ "import": { "file": "nginx.conf", "upstream": "app" },
                "loadBalancing": { "strategy": "least-connections" },
                "limits": { "requestTimeout": "5s" } }),
        json!({}),
    );
    let o = Model::from_file(&over).unwrap();
    assert_eq!(
        o.balancing.config.kind(),
        strategies::StrategyKind::LeastConnections
    );
    assert_eq!(
        o.resilience.request_timeout,
        Some(sim_core::Nanos::from_secs(5))
    );
    assert_eq!(o.fleet.instances.len(), 3);
}

#[test]
fn a_refused_imported_value_names_the_directive_that_gave_it() {
    // ip_hash needs users: the error points at nginx.conf's line.
    let conf = "upstream app {\n  ip_hash;\n  server a:1;\n  server b:1;\n}\n";
    let (_d, path) = scenario_with(conf, json!({ "import": "nginx.conf" }), json!({}));
    let e = Model::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("deployment.loadBalancing.strategy"), "{e}");
    assert!(
        e.contains("nginx.conf:2, which this scenario imports"),
        "{e}"
    );
    // A syntax error in the native file is that file's, with line and column.
    let (_s, path) = scenario_with(
        "upstream app {\n  server a:1\n",
        json!({ "import": "nginx.conf" }),
        json!({}),
    );
    match Model::from_file(&path).unwrap_err() {
        ScenarioError::Native { file, line, .. } => {
            assert!(file.ends_with("nginx.conf"));
            assert_eq!(line, 3);
        }
        other => panic!("{other}"),
    }
    // A missing file, and a bad import value, are the scenario's errors.
    let (_m, path) = scenario_with("", json!({ "import": "missing.conf" }), json!({}));
    let e = Model::from_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("at `deployment.import`: `missing.conf`") && e.contains("cannot read it"),
        "{e}"
    );
    let (_b, path) = scenario_with("", json!({ "import": { "path": "x" } }), json!({}));
    let e = Model::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("unknown key `path`"), "{e}");
    // A scenario given as text cannot import.
    let e = Model::from_json(
        &std::fs::read_to_string(root().join("scenarios/native/nginx-llm.json")).unwrap(),
        "inline.json",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("at `deployment.import`: `import` names a native config"),
        "{e}"
    );
}

#[test]
fn an_imported_nginx_passes_a_refused_connection_on_and_takes_the_server_out() {
    // A crashed server refuses connections: nginx passes each refused
    // request to the next server (proxy_next_upstream error) and, after
    // max_fails refusals within fail_timeout, skips the server for
    // fail_timeout. So requests do not fail for the crash.
    let conf = "upstream app {\n  server a:1 max_fails=2 fail_timeout=20s;\n  server b:1 max_fails=2 fail_timeout=20s;\n  server c:1 max_fails=2 fail_timeout=20s;\n}\nserver { location / { proxy_pass http://app; } }\n";
    let crash = json!({ "failures": { "events": [
        { "type": "instance-crash", "instance": "app/1", "at": "3m", "duration": "4m" } ] } });
    let (_d, path) = scenario_with(conf, json!({ "import": "nginx.conf" }), crash.clone());
    let m = Model::from_file(&path).unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let run = &r.runs[0];
    assert_eq!(run.reasons.instance_down, 0, "{:?}", run.reasons);
    assert!(run.resilience.retries > 0);
    assert!(run.resilience.passive_marked_down > 0);
    // The crashed server got far fewer requests than the others.
    let per: Vec<u64> = run.instances.iter().map(|i| i.requests).collect();
    assert!(per[1] * 2 < per[0] && per[1] * 2 < per[2], "{per:?}");
    // With proxy_next_upstream off, the same crash fails requests.
    let off = conf.replace(
        "proxy_pass http://app;",
        "proxy_pass http://app; proxy_next_upstream off;",
    );
    let (_o, path) = scenario_with(&off, json!({ "import": "nginx.conf" }), crash);
    let r = run_model(&Model::from_file(&path).unwrap(), RunOptions::default()).unwrap();
    assert!(r.runs[0].reasons.instance_down > 0);
}

/// The real nginx is the judge of the fixtures' grammar: every stock
/// fixture passes `nginx -t`. Skipped where nginx is not installed, unless
/// FLEETSIM_REQUIRE_NGINX is set (CI installs it and sets it).
#[test]
fn the_real_nginx_accepts_every_stock_fixture() {
    let found = std::process::Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("FLEETSIM_REQUIRE_NGINX").is_none(),
            "FLEETSIM_REQUIRE_NGINX is set but nginx is not installed"
        );
        eprintln!("nginx not installed: skipping `nginx -t` of the fixtures");
        return;
    }
    let dir = tempdir::Dir::new();
    let stock = [root().join("scenarios/native/nginx/llm-upstream.conf")];
    for f in stock {
        let out = std::process::Command::new("nginx")
            .arg("-t")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&f)
            .arg("-g")
            .arg(format!(
                "pid {}/nginx.pid; error_log stderr;",
                dir.path().display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nginx -t refuses {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn nginx_never_takes_out_an_only_server_and_counts_post_errors_only_with_non_idempotent() {
    let one =
        nginx("upstream app { server a:1; }\nserver { location / { proxy_pass http://app; } }\n");
    assert!(dep(&one).get("passiveHealth").is_none());
    let with = nginx(&MINIMAL.replace(
        "proxy_pass http://app;",
        "proxy_pass http://app; proxy_next_upstream error timeout http_502 non_idempotent;",
    ));
    assert_eq!(dep(&with)["passiveHealth"]["countApplicationErrors"], true);
    assert_eq!(
        dep(&with)["retries"]["retryOn"],
        json!(["connect-failure", "timeout", "5xx"])
    );
    let without = nginx(&MINIMAL.replace(
        "proxy_pass http://app;",
        "proxy_pass http://app; proxy_next_upstream error timeout http_502;",
    ));
    assert!(dep(&without)["passiveHealth"]
        .get("countApplicationErrors")
        .is_none());
}

//! `sim_core::native` for Caddyfiles: a `reverse_proxy` read as Caddy runs
//! it, and fleetsim's reading compared with Caddy's own (`caddy adapt`).

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, ImportOptions, Outcome};
use std::path::{Path, PathBuf};
use strategies::DurationStr;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn caddy(text: &str) -> sim_core::native::Import {
    import_str(text, Path::new("Caddyfile"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn dep(i: &sim_core::native::Import) -> &Value {
    &i.fragment["deployment"]
}

#[test]
fn a_reverse_proxy_that_says_nothing_gets_caddy_defaults() {
    let i = caddy(":80 {\n\treverse_proxy a:1 b:1\n}\n");
    assert_eq!(
        dep(&i),
        &json!({ "regions": { "backends": { "instances": 2 } }, "loadBalancing": { "strategy": "random" } }),
        "random, no retries, no health checks: Caddy's defaults"
    );
}

#[test]
fn the_stock_caddyfile_maps_every_subdirective() {
    let i = import_file(
        &root().join("scenarios/native/caddy/Caddyfile"),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        dep(&i),
        &json!({
            "regions": { "backends": { "instances": 3 } },
            "loadBalancing": { "strategy": "least-connections" },
            "retries": { "maxAttempts": 5, "retryOn": ["connect-failure"],
                         "backoff": { "base": "500ms", "max": "500ms", "jitter": "none" } },
            "healthCheck": { "interval": "5s", "timeout": "2s", "healthyThreshold": 1, "unhealthyThreshold": 1 },
            "passiveHealth": { "type": "caddy", "failDuration": "20s", "maxFails": 3, "countApplicationErrors": true }
        })
    );
    assert!(i
        .report
        .iter()
        .any(|m| m.directive.starts_with("header_up")
            && matches!(m.outcome, Outcome::Ignored { .. })));
    assert_eq!(i.unsupported(), 0);
}

#[test]
fn each_lb_policy_is_its_fleetsim_strategy() {
    let with = |p: &str| {
        let i = caddy(&format!(
            ":80 {{\n\treverse_proxy a:1 b:1 c:1 {{\n\t\tlb_policy {p}\n\t}}\n}}\n"
        ));
        dep(&i)["loadBalancing"].clone()
    };
    assert_eq!(with("round_robin"), json!({ "strategy": "round-robin" }));
    assert_eq!(
        with("least_conn"),
        json!({ "strategy": "least-connections" })
    );
    assert_eq!(with("first"), json!({ "strategy": "first" }));
    assert_eq!(
        with("random_choose 2"),
        json!({ "strategy": "power-of-two" })
    );
    assert_eq!(
        with("random_choose 3"),
        json!({ "strategy": "power-of-two", "choiceCount": 3 })
    );
    assert_eq!(with("ip_hash"), json!({ "strategy": "ip-hash" }));
    assert_eq!(
        with("weighted_round_robin 3 1 1"),
        json!({ "strategy": "weighted", "weighted": { "backends/0": 3 } })
    );
    assert_eq!(
        with("cookie"),
        json!({ "strategy": "random", "sessionAffinity": { "type": "cookie" } })
    );
    let i = caddy(":80 {\n\treverse_proxy a:1 {\n\t\tlb_policy uri_hash\n\t}\n}\n");
    assert_eq!(i.unsupported(), 1);
}

#[test]
fn errors_name_the_line_and_which_reverse_proxy_to_read() {
    let err = |text: &str, up: Option<&str>| {
        import_str(
            text,
            Path::new("Caddyfile"),
            &ImportOptions {
                upstream: up.map(str::to_string),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string()
    };
    let two = "a.example {\n\thandle /api/* {\n\t\treverse_proxy x:1\n\t}\n\thandle {\n\t\treverse_proxy y:1\n\t}\n}\n";
    let e = err(two, None);
    assert!(
        e.starts_with("Caddyfile:6:3: caddy: 2 reverse_proxy directives"),
        "{e}"
    );
    assert!(e.contains("`a.example > handle /api/*` (line 3)"), "{e}");
    let e = err(two, Some("/ws*"));
    assert!(e.contains("no reverse_proxy under `/ws*`"), "{e}");
    let e = err(
        ":80 {\n\treverse_proxy x:1 {\n\t\tlb_try_duration soon\n\t}\n}\n",
        None,
    );
    assert!(
        e.starts_with("Caddyfile:3:3: caddy: `lb_try_duration soon`: expected a duration"),
        "{e}"
    );
    let e = err(":80 {\n\treverse_proxy {$UPSTREAMS}\n}\n", None);
    assert!(
        e.contains("2:16: caddy: the environment placeholder `{$UPSTREAMS}` has no default"),
        "{e}"
    );
    let e = err(":80 {\n\treverse_proxy x:1\n", None);
    assert!(e.contains("1:5: caddy: this block is never closed"), "{e}");
    // An environment placeholder with a default takes it.
    let i = caddy(":80 {\n\treverse_proxy {$UP:a:1} b:1\n}\n");
    assert_eq!(dep(&i)["regions"]["backends"]["instances"], 2);
}

#[test]
fn the_general_bots_caddyfile_imports_route_by_route() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures/seeds/general-bots.Caddyfile");
    let read = |up: &str| {
        import_file(
            &path,
            &ImportOptions {
                upstream: Some(up.into()),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{up}: {e}"))
    };
    // The /api/* route, as the seed scenario translated it by hand.
    let api = read("/api/*");
    let d = dep(&api);
    assert_eq!(d["regions"]["backends"]["instances"], 3);
    assert_eq!(d["loadBalancing"]["strategy"], "round-robin");
    assert_eq!(d["retries"]["maxAttempts"], 21);
    assert_eq!(d["healthCheck"]["interval"], "10s");
    assert_eq!(d["passiveHealth"]["failDuration"], "30s");
    let ws = read("/ws*");
    assert_eq!(
        dep(&ws)["loadBalancing"]["sessionAffinity"]["type"],
        "cookie"
    );
    // The bare `handle` block: the catch-all route.
    let stat = read("bot.example.com > handle");
    assert_eq!(dep(&stat)["loadBalancing"]["strategy"], "first");
}

/// Caddy's own reading of a stock fixture (`caddy adapt`) and fleetsim's
/// agree on the upstreams, the policy and the health settings. Skipped
/// where Caddy is not installed, unless FLEETSIM_REQUIRE_CADDY is set.
#[test]
fn caddy_adapt_reads_the_stock_fixture_as_fleetsim_does() {
    if std::process::Command::new("caddy")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("FLEETSIM_REQUIRE_CADDY").is_none(),
            "FLEETSIM_REQUIRE_CADDY is set but caddy is not installed"
        );
        eprintln!("caddy not installed: skipping `caddy adapt`");
        return;
    }
    let f = root().join("scenarios/native/caddy/Caddyfile");
    let out = std::process::Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "caddy adapt refuses {}: {}",
        f.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let adapted: Value = serde_json::from_slice(&out.stdout).unwrap();
    fn find(v: &Value) -> Option<&Value> {
        match v {
            Value::Object(o) if o.get("handler") == Some(&json!("reverse_proxy")) => Some(v),
            Value::Object(o) => o.values().find_map(find),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    let rp = find(&adapted).expect("a reverse_proxy handler");
    let ours = import_file(&f, &ImportOptions::default()).unwrap();
    let d = dep(&ours);
    let ns = |v: &Value| DurationStr::parse(v.as_str().unwrap()).unwrap().nanos().0;
    assert_eq!(
        rp["upstreams"].as_array().unwrap().len() as u64,
        d["regions"]["backends"]["instances"].as_u64().unwrap()
    );
    let policy = rp
        .pointer("/load_balancing/selection_policy/policy")
        .and_then(Value::as_str)
        .unwrap_or("random");
    let want = match policy {
        "least_conn" => "least-connections",
        "round_robin" => "round-robin",
        "first" => "first",
        "random" => "random",
        other => panic!("policy {other} not in this test's table"),
    };
    assert_eq!(d["loadBalancing"]["strategy"], want);
    let lb = &rp["load_balancing"];
    let attempts = lb["try_duration"].as_u64().unwrap() / lb["try_interval"].as_u64().unwrap() + 1;
    assert_eq!(d["retries"]["maxAttempts"].as_u64().unwrap(), attempts);
    assert_eq!(
        ns(&d["retries"]["backoff"]["base"]),
        lb["try_interval"].as_u64().unwrap()
    );
    let active = &rp["health_checks"]["active"];
    assert_eq!(
        ns(&d["healthCheck"]["interval"]),
        active["interval"].as_u64().unwrap()
    );
    assert_eq!(
        ns(&d["healthCheck"]["timeout"]),
        active["timeout"].as_u64().unwrap()
    );
    let passive = &rp["health_checks"]["passive"];
    assert_eq!(
        ns(&d["passiveHealth"]["failDuration"]),
        passive["fail_duration"].as_u64().unwrap()
    );
    assert_eq!(d["passiveHealth"]["maxFails"], passive["max_fails"]);
    assert_eq!(
        d["passiveHealth"]["countApplicationErrors"] == json!(true),
        passive["unhealthy_status"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(5)))
    );
}

#[test]
fn odd_input_is_an_error_or_caddy_semantics_never_a_panic() {
    let try_it = |text: &str| import_str(text, Path::new("Caddyfile"), &ImportOptions::default());
    let e = try_it(":80 {\n\treverse_proxy a:1 {\n\t\tlb_policy\n\t}\n}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("3:3: caddy: `lb_policy` needs a policy name"),
        "{e}"
    );
    // An unclosed `{$` is a placeholder without a default: refused, not
    // sliced past its end.
    let e = try_it(":80 {\n\treverse_proxy a:1{$\n}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("environment placeholder"), "{e}");
    // lb_retries alone retries at once; the 250ms pause is lb_try_duration's.
    let i = caddy(":80 {\n\treverse_proxy a:1 b:1 {\n\t\tlb_retries 2\n\t}\n}\n");
    assert_eq!(
        dep(&i)["retries"],
        json!({ "maxAttempts": 3, "retryOn": ["connect-failure"], "backoff": { "base": "1ms", "max": "1ms", "jitter": "none" } })
    );
    // Active checks need something to check: an interval alone is none.
    let i = caddy(":80 {\n\treverse_proxy a:1 {\n\t\thealth_interval 5s\n\t}\n}\n");
    assert!(dep(&i).get("healthCheck").is_none());
    let i = caddy(":80 {\n\treverse_proxy a:1 {\n\t\thealth_port 9000\n\t}\n}\n");
    assert_eq!(dep(&i)["healthCheck"]["interval"], "30s");
}

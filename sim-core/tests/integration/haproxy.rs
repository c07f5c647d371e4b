//! `sim_core::native` for HAProxy: a backend read as HAProxy runs it,
//! with its defaults, and checked against the real `haproxy -c`.

use serde_json::{json, Value};
use sim_core::native::{import_file, import_str, Format, ImportOptions, Outcome};
use sim_core::{run_model, Model, RunOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn haproxy(text: &str) -> sim_core::native::Import {
    import_str(text, Path::new("test.cfg"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn dep(i: &sim_core::native::Import) -> &Value {
    &i.fragment["deployment"]
}

const MINIMAL: &str = "backend app\n    server a 10.0.0.1:80\n    server b 10.0.0.2:80\n";

#[test]
fn a_backend_that_says_nothing_gets_haproxy_defaults() {
    let i = haproxy(MINIMAL);
    assert_eq!(i.format, Format::Haproxy);
    assert_eq!(
        dep(&i),
        &json!({
            "regions": { "app": { "instances": 2 } },
            "loadBalancing": { "strategy": "round-robin" },
            "retries": {
                "maxAttempts": 4,
                "retryOn": ["connect-failure"],
                "backoff": { "base": "1s", "max": "1s", "jitter": "none" }
            }
        })
    );
    // Unchecked servers: no health checks.
    assert!(dep(&i).get("healthCheck").is_none());
    assert_eq!(i.unsupported(), 0);
}

#[test]
fn the_stock_fixture_reads_the_backend_and_its_defaults() {
    let path = root().join("scenarios/native/haproxy/llm.cfg");
    let i = import_file(&path, &ImportOptions::default()).unwrap();
    let d = dep(&i);
    assert_eq!(
        d["regions"]["llm_agents"]["instances"], 4,
        "the backup is left out"
    );
    assert_eq!(
        d["loadBalancing"],
        json!({ "strategy": "least-connections", "weighted": { "llm_agents/0": 2 } })
    );
    assert_eq!(
        d["healthCheck"],
        json!({ "interval": "3s", "timeout": "2s", "healthyThreshold": 2, "unhealthyThreshold": 3 })
    );
    assert_eq!(
        d["retries"],
        json!({ "maxAttempts": 3, "retryOn": ["connect-failure"],
                "backoff": { "base": "500ms", "max": "500ms", "jitter": "none" } })
    );
    assert_eq!(d["limits"]["requestTimeout"], "90s");
    let lost: Vec<&str> = i
        .report
        .iter()
        .filter(|m| m.is_unsupported())
        .map(|m| m.directive.as_str())
        .collect();
    assert_eq!(lost, ["server spare 127.0.0.1:8005 backup"]);
    // Every line of every section is accounted for.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = text
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            !["global", "defaults", "frontend", "backend"]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .count();
    let reported = i
        .report
        .iter()
        .filter(|m| !m.directive.ends_with(')') && !m.directive.starts_with("backend "))
        .count();
    assert_eq!(reported, lines, "{:#?}", i.report);
}

#[test]
fn each_balance_algorithm_is_its_fleetsim_strategy() {
    let with = |alg: &str| {
        let i = haproxy(&format!(
            "backend app\n    balance {alg}\n    server a x:1\n    server b y:1\n"
        ));
        dep(&i)["loadBalancing"].clone()
    };
    assert_eq!(with("roundrobin"), json!({ "strategy": "round-robin" }));
    assert_eq!(with("static-rr"), json!({ "strategy": "round-robin" }));
    assert_eq!(
        with("leastconn"),
        json!({ "strategy": "least-connections" })
    );
    assert_eq!(with("first"), json!({ "strategy": "first" }));
    assert_eq!(with("source"), json!({ "strategy": "ip-hash" }));
    assert_eq!(with("random"), json!({ "strategy": "power-of-two" }));
    assert_eq!(
        with("random(3)"),
        json!({ "strategy": "power-of-two", "choiceCount": 3 })
    );
    let i = haproxy("backend app\n    balance uri\n    server a x:1\n");
    assert!(i
        .report
        .iter()
        .any(|m| m.directive == "balance uri" && m.is_unsupported()));
    // Weights with round robin: weighted round robin.
    let i = haproxy("backend app\n    server a x:1 weight 3\n    server b y:1\n");
    assert_eq!(
        dep(&i)["loadBalancing"],
        json!({ "strategy": "weighted", "weighted": { "app/0": 3 } })
    );
}

#[test]
fn retries_follow_retries_retry_on_and_the_connect_timeout() {
    let i = haproxy("defaults\n    retries 0\nbackend app\n    server a x:1\n    server b y:1\n");
    assert!(dep(&i).get("retries").is_none());
    let i = haproxy("backend app\n    retries 1\n    retry-on conn-failure 503 response-timeout\n    timeout connect 200ms\n    server a x:1\n    server b y:1\n");
    assert_eq!(
        dep(&i)["retries"],
        json!({ "maxAttempts": 2, "retryOn": ["connect-failure", "5xx"],
                "backoff": { "base": "200ms", "max": "200ms", "jitter": "none" } })
    );
    assert!(i
        .report
        .iter()
        .any(|m| m.directive.starts_with("retry-on") && m.is_unsupported()));
    // A backend's own setting wins over its defaults'.
    let i = haproxy(
        "defaults\n    retries 5\nbackend app\n    retries 1\n    server a x:1\n    server b y:1\n",
    );
    assert_eq!(dep(&i)["retries"]["maxAttempts"], 2);
    assert!(matches!(
        &i.report
            .iter()
            .find(|m| m.directive == "retries 5")
            .unwrap()
            .outcome,
        Outcome::Ignored { .. }
    ));
}

#[test]
fn errors_name_the_file_line_and_column() {
    let err = |text: &str| {
        import_str(text, Path::new("bad.cfg"), &ImportOptions::default())
            .unwrap_err()
            .to_string()
    };
    let e = err("backend app\n    server a x:1 wieght 2\n");
    assert!(
        e.starts_with("bad.cfg:2:18: haproxy: unknown server option `wieght`"),
        "{e}"
    );
    let e = err("    server a x:1\n");
    assert!(
        e.starts_with("bad.cfg:1:5: haproxy: `server` outside any section"),
        "{e}"
    );
    let e = err("backend a\n    server x y:1\nbackend b\n    server x y:1\n");
    assert!(
        e.contains("2 backends (a, b); say which with --upstream"),
        "{e}"
    );
    let e = err("backend a\n    server x y:1 backup\n");
    assert!(e.contains("no server that takes requests"), "{e}");
    let e = err("backend a\n    server x \"y:1\n");
    assert!(
        e.contains("2:14: haproxy: a quoted word opened here has no closing \""),
        "{e}"
    );
}

#[test]
fn an_imported_haproxy_takes_a_hung_server_out_by_its_checks() {
    let path = root().join("scenarios/native/haproxy-llm.json");
    let mut m = Model::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    m.run.replications = 1;
    let r = run_model(&m, RunOptions::default()).unwrap();
    let run = &r.runs[0];
    assert!(run.resilience.marked_unhealthy >= 1, "{:?}", run.resilience);
    // Without the checks, the hung server keeps its share and its
    // requests time out at the server timeout.
    let dir = std::env::temp_dir().join(format!("fleetsim-haproxy-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("haproxy")).unwrap();
    let cfg = std::fs::read_to_string(root().join("scenarios/native/haproxy/llm.cfg"))
        .unwrap()
        .replace("default-server check inter 3s", "default-server inter 3s");
    std::fs::write(dir.join("haproxy/llm.cfg"), cfg).unwrap();
    std::fs::copy(&path, dir.join("s.json")).unwrap();
    let mut u = Model::from_file(dir.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
    u.run.replications = 1;
    let ur = run_model(&u, RunOptions::default()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ur.runs[0].resilience.marked_unhealthy, 0);
    assert!(
        ur.runs[0].counts.timed_out > run.counts.timed_out + 10,
        "unchecked {:?} vs checked {:?}",
        ur.runs[0].counts,
        run.counts
    );
}

/// The real HAProxy is the judge of the fixtures' grammar. Skipped where
/// it is not installed, unless FLEETSIM_REQUIRE_HAPROXY is set (CI
/// installs it and sets it).
#[test]
fn the_real_haproxy_accepts_every_stock_fixture() {
    if std::process::Command::new("haproxy")
        .arg("-v")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("FLEETSIM_REQUIRE_HAPROXY").is_none(),
            "FLEETSIM_REQUIRE_HAPROXY is set but haproxy is not installed"
        );
        eprintln!("haproxy not installed: skipping `haproxy -c` of the fixtures");
        return;
    }
    let stock = [root().join("scenarios/native/haproxy/llm.cfg")];
    for f in stock {
        let out = std::process::Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "haproxy -c refuses {}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn default_servers_add_up_and_a_later_checked_server_is_read() {
    let i = haproxy("defaults\n    default-server inter 5s\nbackend app\n    default-server check\n    server a x:1\n    server b y:1\n");
    assert_eq!(dep(&i)["healthCheck"]["interval"], "5s");
    let i = haproxy("backend app\n    server a x:1\n    server b y:1 check\n");
    assert_eq!(dep(&i)["healthCheck"]["interval"], "2s");
    assert!(i
        .report
        .iter()
        .any(|m| m.directive.starts_with("check (the servers differ)")));
}

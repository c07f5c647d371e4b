//! `fleetsim plan` end to end: the recommendation and its files, the
//! exit codes, and the inputs it refuses.

mod common;

use common::{fleetsim, scratch, text};

const FLEET: &str = r#"{
  "name": "to-plan",
  "run": { "seed": 9, "duration": "8m", "warmup": "1m" },
  "workload": { "arrivals": { "ratePerSecond": 6 } },
  "llm": { "models": { "m": { "latency": { "dist": "lognormal", "median": "700ms", "p99": "4s" } } } },
  "instanceTypes": { "t": { "slots": 2, "pricePerHour": 0.25 } },
  "deployment": {
    "regions": { "r": { "instances": 4 } },
    "loadBalancing": { "strategy": "least-connections" },
    "limits": { "requestTimeout": "1m" }
  },
  "slo": { "latency": { "p99": "6s" }, "errorRate": 0.01 }
}"#;

#[test]
fn plan_recommends_writes_its_files_and_says_what_binds() {
    let d = scratch("plan");
    let f = d.join("fleet.json");
    std::fs::write(&f, FLEET).unwrap();
    let f = f.to_string_lossy().into_owned();
    let out = d.join("out");
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..12",
        "--seeds",
        "4",
        "--out",
        &out.to_string_lossy(),
    ]);
    let s = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{s}{}", text(&o.stderr));
    assert!(s.contains("Recommendation: instances="), "{s}");
    assert!(s.contains("What binds: the SLO: one step fewer"), "{s}");
    assert!(s.contains("runs against 48 for the full grid"), "{s}");
    for file in [
        "plan.json",
        "plan.md",
        "report.html",
        "charts/cost-vs-p99.svg",
        "charts/cost-vs-p99.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));

    // A tighter SLO than any fleet in the space can meet: exit 1, the edge binds.
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..3",
        "--slo",
        "p99=1s",
        "--seeds",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("no configuration in the space meets the SLO"));

    // A budget under every answer: exit 1, the budget binds.
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..12",
        "--budget-per-hour",
        "0.3",
        "--seeds",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("What binds: the budget"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn plan_refuses_what_it_cannot_plan() {
    let d = scratch("plan-bad");
    let no_slo = d.join("no-slo.json");
    let json: serde_json::Value = serde_json::from_str(FLEET).unwrap();
    let mut v = json.clone();
    v.as_object_mut().unwrap().remove("slo");
    std::fs::write(&no_slo, v.to_string()).unwrap();
    let f = d.join("fleet.json");
    std::fs::write(&f, FLEET).unwrap();
    let (f, no_slo) = (
        f.to_string_lossy().into_owned(),
        no_slo.to_string_lossy().into_owned(),
    );
    for (args, expect) in [
        (
            vec![
                "plan",
                no_slo.as_str(),
                "--axis",
                "deployment.regions.r.instances=1..4",
            ],
            "needs an SLO",
        ),
        (vec!["plan", f.as_str()], "searches a space"),
        (
            vec![
                "plan",
                f.as_str(),
                "--axis",
                "deployment.regions.r.instances=1..4",
                "--max-load",
            ],
            "one configuration",
        ),
        (
            vec![
                "plan",
                f.as_str(),
                "--axis",
                "deployment.regions.r.instances=1..4",
                "--slo",
                "q99=1s",
            ],
            "unknown objective",
        ),
        (
            vec![
                "plan",
                f.as_str(),
                "--axis",
                "deployment.regions.x.instances=1..4",
            ],
            "x",
        ),
    ] {
        let o = fleetsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expect),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    // --max-load has no open rate to multiply in a closed loop (a trace's
    // speed it multiplies).
    let agents = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/agents");
    let p = agents.join("chat-sessions.json");
    let o = fleetsim(&["plan", p.to_str().unwrap(), "--max-load"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("workload.sessions"),
        "{}",
        text(&o.stderr)
    );
}

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

    // A space too small for the SLO (4 slots for about 5.6 Erlangs), though
    // the SLO is above its floor: exit 1, the edge binds.
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..2",
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

/// The repository's scenario `rel`.
fn shipped(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn plan_stops_at_the_latency_floor_no_fleet_can_beat() {
    let f = shipped("quickstart.json");
    let d = scratch("plan-floor");
    let out = d.join("out");
    let args = [
        "plan",
        &f,
        "--axis",
        "deployment.regions.us-east-1.instances=1..20",
        "--slo",
        "p99=100ms",
    ];
    let o = fleetsim(&[&args[..], &["--out", &out.to_string_lossy()]].concat());
    let s = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{s}{}", text(&o.stderr));
    assert!(
        s.contains("p99 ≤ 100ms is below the ") && s.contains("no number of instances meets it"),
        "{s}"
    );
    assert!(!s.contains("open the space further"), "{s}");
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(md.contains("no number of instances meets it"), "{md}");

    let o = fleetsim(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["binding"], "floor");
    assert_eq!(j["search"]["runs"], 0, "nothing is searched");
    let p99 = j["floor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["objective"] == "p99")
        .expect("p99 checked");
    assert_eq!(p99["below"], true);
    // Two calls of a lognormal LLM (median 1.4s, p99 12s) take well over
    // 10s at p99; the floor and its bound are measured, not assumed.
    let floor = p99["floor"].as_f64().unwrap();
    assert!(floor > 10.0 && floor < 30.0, "{floor}");
    assert!(p99["lowerBound"].as_f64().unwrap() <= floor);
    // The scenario's own p50 of 5s is above its floor.
    let p50 = &j["floor"][0];
    assert_eq!(p50["objective"], "p50");
    assert_eq!(p50["below"], false);
}

#[test]
fn plan_stops_at_an_error_rate_below_the_llms_own() {
    let d = scratch("plan-floor-errors");
    let f = d.join("fleet.json");
    // Every call fails 5% of the time, with no retries or fallback.
    let errors = FLEET.replace(
        r#""p99": "4s" } } } }"#,
        r#""p99": "4s" }, "errorRate": 0.05 } } }"#,
    );
    assert_ne!(errors, FLEET);
    std::fs::write(&f, errors).unwrap();
    let f = f.to_string_lossy().into_owned();
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..12",
        "--slo",
        "errorRate=0.01",
    ]);
    let s = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{s}{}", text(&o.stderr));
    assert!(
        s.contains("error rate ≤ 1.0% is below the ")
            && s.contains("no number of instances meets it"),
        "{s}"
    );
    // Above the LLM's own error rate the space is searched as before.
    let o = fleetsim(&[
        "plan",
        &f,
        "--axis",
        "deployment.regions.r.instances=1..12",
        "--slo",
        "errorRate=0.2",
        "--seeds",
        "3",
        "--json",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_ne!(j["binding"], "floor");
    assert!(j["search"]["runs"].as_u64().unwrap() > 0);
    assert!(j["floor"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["below"] == false));
}

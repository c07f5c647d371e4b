//! The five seed deployments (`scenarios/seeds/`) do what their
//! descriptions say: each claim in a description is checked here against
//! the run, over both replications, so a description cannot drift from
//! what the simulator does.

use serde_json::Value;
use sim_core::{run_model, Model, RunOptions, RunResult, SeriesRow};

fn seed_file(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/seeds")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn run(v: &Value, name: &str) -> Vec<RunResult> {
    let m = Model::from_json(&v.to_string(), name).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    assert_eq!(r.runs.len(), 2, "{name}: the seeds run two replications");
    for run in &r.runs {
        assert!(run.counts.conserved(), "{name}: {:?}", run.counts);
        assert!(run.reasons.consistent_with(&run.counts), "{name}");
    }
    r.runs
}

/// Mean of a series column over rows ending in `(from, to]` seconds.
fn mean_over(s: &[SeriesRow], from: f64, to: f64, f: impl Fn(&SeriesRow) -> f64) -> f64 {
    let rows: Vec<f64> = s
        .iter()
        .filter(|r| r.time > from && r.time <= to)
        .map(f)
        .collect();
    assert!(!rows.is_empty(), "no rows in ({from}, {to}]");
    rows.iter().sum::<f64>() / rows.len() as f64
}

/// Times of the scaling decisions that changed the fleet, up (`true`) or
/// down.
fn changes(r: &RunResult, up: bool) -> Vec<f64> {
    r.scaling_log
        .iter()
        .filter(|e| if up { e.to > e.from } else { e.to < e.from })
        .map(|e| e.time)
        .collect()
}

fn min_gap(times: &[f64]) -> f64 {
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn swiftclaw_rate_limit_turns_away_the_burst_and_us_traffic_fails_over() {
    for r in run(&seed_file("swiftclaw"), "swiftclaw.json") {
        let s = &r.series;
        // 84 requests a minute against a limit of 100: a few rejections at
        // most; 168 in the burst: (168 - 100) / 168 = 40% turned away.
        let before = mean_over(s, 120.0, 600.0, |x| x.error_rate);
        let burst = mean_over(s, 630.0, 900.0, |x| x.error_rate);
        assert!(before < 0.03, "before the burst {before}");
        assert!((0.3..0.5).contains(&burst), "in the burst {burst}");
        let lost = r.counts.rejected + r.counts.failed + r.counts.timed_out;
        assert!(r.reasons.rate_limited * 10 >= lost * 8, "{:?}", r.reasons);
        assert!(r.error_rate > 0.01, "the 1% objective is missed");

        // The outage at 20m: the breakers open, the checks (30s apart, 3
        // to fail) mark both us-east-1 instances down by 20m + 90s, and US
        // traffic fails over: few requests are lost.
        assert!(r.resilience.breaker_trips >= 2, "{:?}", r.resilience);
        let down_at = s.iter().find(|x| x.time > 1200.0 && x.unhealthy == 2);
        assert!(down_at.is_some_and(|x| x.time <= 1290.0), "{down_at:?}");
        assert!(r.reasons.instance_down <= 30, "{:?}", r.reasons);
        let outage = mean_over(s, 1200.0, 1500.0, |x| x.error_rate);
        assert!(outage < 0.06, "during the outage {outage}");

        // The scaling block only takes us-east-1 to its minimum.
        assert_eq!((r.scaling.scale_ups, r.scaling.scale_downs), (0, 1));
        let down = r.scaling_log.iter().find(|e| e.to < e.from).unwrap();
        assert_eq!((down.region.as_str(), down.to), ("us-east-1", 2));
        assert!(r.cpu_utilization.unwrap() < 0.02);
    }
}

#[test]
fn agenticgokit_performance_based_herds_and_least_connections_scales() {
    let as_written = seed_file("agenticgokit");
    for r in run(&as_written, "agenticgokit.json") {
        // Herding: one instance takes nearly everything and half the
        // requests time out, while the fleet's mean CPU stays under 70%.
        assert!(r.error_rate > 0.3, "{}", r.error_rate);
        assert!(r.reasons.request_timeout * 10 > r.counts.arrivals * 3);
        assert!(r.scaling.scale_ups <= 1, "{:?}", r.scaling);
        let served: Vec<u64> = r.instances.iter().map(|i| i.requests).collect();
        let total: u64 = served.iter().sum();
        let top = *served.iter().max().unwrap();
        assert!(r.fairness < 0.9 || top * 3 > total, "{served:?}");
    }

    let mut lc = as_written.clone();
    lc["deployment"]["loadBalancing"]["strategy"] = "least_connections".into();
    for r in run(&lc, "agenticgokit-least-connections.json") {
        assert!(r.error_rate < 0.01, "{}", r.error_rate);
        let ups = changes(&r, true);
        let downs = changes(&r, false);
        assert!(ups.len() >= 4 && !downs.is_empty(), "{ups:?} {downs:?}");
        // One clock, strict 2m up-cooldown on a 30s tick: 150s apart.
        assert!(min_gap(&ups) >= 150.0, "{ups:?}");
        // Scale-downs wait out the 5m down-cooldown: 330s apart.
        assert!(min_gap(&downs) >= 330.0, "{downs:?}");
        assert!(r.scaling.peak_instances <= 20);
    }
}

#[test]
fn azcore_hpa_saw_tooths_on_misleading_metrics_and_connections_calm_it() {
    let as_written = seed_file("azcore");
    let mut churn = 0;
    for r in run(&as_written, "azcore.json") {
        // Dozens of scale-ups and downs; requests time out at 60s in the
        // troughs and the error objective is missed.
        assert!(
            r.scaling.scale_ups >= 100 && r.scaling.scale_downs >= 100,
            "{:?}",
            r.scaling
        );
        churn += r.scaling.scale_ups + r.scaling.scale_downs;
        assert!(r.reasons.request_timeout > 1000, "{:?}", r.reasons);
        assert!(r.error_rate > 0.01);
        // The hung instance is out of rotation within ~20s of 5m (three
        // failed checks 5s apart, each timing out at 1s).
        let out = r.series.iter().find(|x| x.time > 300.0 && x.unhealthy > 0);
        assert!(out.is_some_and(|x| x.time <= 330.0), "{out:?}");
        assert!(r.resilience.marked_unhealthy >= 1);
        // 100 instances at 0.20 an hour are 20 an hour: the budget of 100
        // never binds.
        assert_eq!(r.scaling.refused_by_budget, 0);
        assert!(r.series.iter().all(|x| x.cost_per_hour <= 20.0 + 1e-9));
        // CPU is nearly idle: LLM-bound agents.
        assert!(r.cpu_utilization.unwrap() < 0.1);
    }

    let mut conn = as_written.clone();
    conn["deployment"]["scaling"]["metrics"]
        .as_array_mut()
        .unwrap()
        .push(
            serde_json::json!({ "type": "Pods", "pods": { "metric": { "name": "connections" },
            "target": { "type": "AverageValue", "averageValue": "4" } } }),
        );
    let mut calm = 0;
    for r in run(&conn, "azcore-connections.json") {
        calm += r.scaling.scale_ups + r.scaling.scale_downs;
        assert!(r.error_rate < 0.01, "{}", r.error_rate);
    }
    assert!(
        calm * 10 < churn * 6,
        "churn {churn} with connections {calm}"
    );
}

#[test]
fn innosynth_forjinn_nginx_defaults_hide_the_crash_from_clients() {
    for r in run(&seed_file("innosynth-forjinn"), "innosynth-forjinn.json") {
        assert_eq!(r.counts.failed + r.counts.timed_out + r.counts.rejected, 0);
        // app2 is down 600s; fail_timeout 10s: one probe (a failed attempt,
        // retried) every 10s, about 60.
        let retries = r.resilience.retries;
        assert!((50..=75).contains(&retries), "{:?}", r.resilience);
        let outs = r.resilience.passive_marked_down;
        assert!((50..=75).contains(&outs), "{:?}", r.resilience);
        let app2 = &r.instances[1];
        let others = (r.instances[0].requests + r.instances[2].requests) / 2;
        // app2 serves about two thirds of the others' share (20 of 30
        // minutes up), less the probes.
        let share = app2.requests as f64 / others as f64;
        assert!((0.55..0.72).contains(&share), "{share}");
    }
}

#[test]
fn general_bots_cpu_low_rule_shrinks_the_fleet_and_the_surge_waits_minutes() {
    for r in run(&seed_file("general-bots"), "general-bots.json") {
        let s = &r.series;
        // Down to one container within six minutes (30s, then the 300s
        // cooldown and the next 30s check).
        let single = s.iter().find(|x| x.ready == 1 && x.booting == 0).unwrap();
        assert!(single.time <= 360.0, "{single:?}");
        // The response-time rule adds one container per cooldown.
        let ups = changes(&r, true);
        assert!(ups.len() >= 3, "{ups:?}");
        assert!(min_gap(&ups) > 300.0, "{ups:?}");
        assert!(r
            .scaling_log
            .iter()
            .any(|e| e.to > e.from && e.metric.as_deref() == Some("responseTime")));
        // No request timeout in the doc: requests wait minutes.
        assert!(r.latency.p99.unwrap() > 120.0, "{:?}", r.latency);
        assert!(s.iter().any(|x| x.queued > 1000));
        // The per-IP limit never binds; Caddy passes the LLM's error
        // answers back instead of retrying them.
        assert_eq!(r.reasons.rate_limited, 0);
        assert_eq!(r.resilience.retries, 0);
        assert!(r.reasons.llm_error > 0);
    }
}

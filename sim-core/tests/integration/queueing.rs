//! The engine against queueing theory: M/M/1, M/M/c (Erlang C), M/D/1
//! (Pollaczek-Khinchine) and Little's law, at utilizations 0.5 and 0.9.
//!
//! # How the tolerances are set
//!
//! Each scenario runs 10 independent replications (distinct random
//! streams), long enough that each replication holds 10^5 to 10^6
//! requests. The per-replication mean latencies are independent samples of
//! the estimator, so Student's t gives an honest interval even though
//! latencies within one run are strongly correlated at rho 0.9. A test
//! passes when:
//!
//! 1. the analytic value lies inside the two-sided 99.9% t-interval of the
//!    replication means (a correct engine misses it 1 time in 1000), and
//! 2. that interval's half-width is below 3% of the analytic value, so the
//!    test is sharp enough to catch an engine that is wrong by a few
//!    percent (a queue that serves in the wrong order, a slot counted
//!    twice, a time unit off).
//!
//! The seeds are fixed, so the outcome is reproducible; the statements above
//! say how the tolerances were chosen, not that the test is random.

use sim_core::{run_model, Model, RunOptions, ScenarioResult};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::path::PathBuf;

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/validation")
        .join(format!("{name}.json"))
}

fn run(name: &str) -> (Model, ScenarioResult) {
    let model = Model::from_file(scenario(name)).expect("validation scenario loads");
    let result = run_model(&model, RunOptions::default()).expect("run succeeds");
    (model, result)
}

/// Mean and 99.9% half-width of per-replication values.
fn interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.9995);
    (mean, t * (var / n).sqrt())
}

fn assert_matches(what: &str, xs: &[f64], expected: f64) {
    let (mean, half) = interval(xs);
    eprintln!("{what}: mean {mean:.5} ± {half:.5} (99.9%), theory {expected:.5}");
    assert!(
        (mean - expected).abs() <= half,
        "{what}: theory {expected} outside {mean} ± {half} (99.9% t-interval over {} replications)",
        xs.len()
    );
    assert!(
        half <= 0.03 * expected,
        "{what}: interval ± {half} is wider than 3% of {expected}; the test would be too blunt"
    );
}

fn mean_latencies(r: &ScenarioResult) -> Vec<f64> {
    r.runs.iter().map(|x| x.latency.mean.unwrap()).collect()
}

/// Little's law L = lambda W holds on every sample path up to boundary
/// terms (requests in the system at the window's two edges). With 10^5+
/// requests per replication and tens in the system, those terms are under
/// 10^-3 of L; 0.5% leaves margin and still catches a broken integral.
fn assert_littles_law(name: &str, r: &ScenarioResult) {
    for run in &r.runs {
        let l = run.mean_in_system;
        let lambda_w = run.throughput_per_second * run.latency.mean.unwrap();
        assert!(
            (l / lambda_w - 1.0).abs() < 0.005,
            "{name} replication {}: L = {l}, lambda W = {lambda_w}",
            run.replication
        );
    }
}

/// Server utilization must be rho (Little's law applied to the slots).
fn assert_utilization(name: &str, model: &Model, r: &ScenarioResult) {
    let xs: Vec<f64> = r.runs.iter().map(|x| x.utilization).collect();
    let (mean, half) = interval(&xs);
    let rho = model.offered_utilization();
    assert!(
        (mean - rho).abs() <= half.max(0.002),
        "{name}: utilization {mean} ± {half} vs rho {rho}"
    );
}

fn check_all(name: &str, expected_w: f64) {
    let (model, r) = run(name);
    for run in &r.runs {
        let c = run.counts;
        assert_eq!(
            c.rejected + c.timed_out + c.failed,
            0,
            "{name}: nothing may be lost"
        );
        assert!(
            c.completed > 100_000,
            "{name}: {} requests is too few",
            c.completed
        );
    }
    assert_matches(
        &format!("{name} mean time in system"),
        &mean_latencies(&r),
        expected_w,
    );
    assert_littles_law(name, &r);
    assert_utilization(name, &model, &r);
}

/// M/M/1: W = 1 / (mu - lambda).
fn mm1_w(lambda: f64, mu: f64) -> f64 {
    1.0 / (mu - lambda)
}

/// M/M/c: W = C(c, a) / (c mu - lambda) + 1 / mu, C from Erlang's formula.
fn mmc_w(lambda: f64, mu: f64, c: u32) -> f64 {
    let a = lambda / mu;
    let rho = a / f64::from(c);
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let tail = term / (1.0 - rho); // a^c / c! / (1 - rho)
    let erlang_c = tail / (sum + tail);
    erlang_c / (f64::from(c) * mu - lambda) + 1.0 / mu
}

/// M/D/1: W = S + rho S / (2 (1 - rho)).
fn md1_w(lambda: f64, s: f64) -> f64 {
    let rho = lambda * s;
    s + rho * s / (2.0 * (1.0 - rho))
}

#[test]
fn erlang_c_formula_matches_textbook_values() {
    // M/M/1 is M/M/c with c = 1; and a published M/M/2 case: lambda 1,
    // mu 0.75 gives Wq = 1.0667 ... W = Wq + 1/mu = 2.4.
    assert!((mmc_w(0.5, 1.0, 1) - mm1_w(0.5, 1.0)).abs() < 1e-12);
    assert!(
        (mmc_w(1.0, 0.75, 2) - 2.4).abs() < 1e-9,
        "{}",
        mmc_w(1.0, 0.75, 2)
    );
}

#[test]
fn random_routing_gives_mm1_per_instance_at_rho_0_5() {
    check_all("mm1-rho05", mm1_w(2.0 / 4.0, 1.0));
}

#[test]
fn random_routing_gives_mm1_per_instance_at_rho_0_9() {
    check_all("mm1-rho09", mm1_w(3.6 / 4.0, 1.0));
}

#[test]
fn slots_give_mmc_at_rho_0_5() {
    check_all("mmc-rho05", mmc_w(2.0, 1.0, 4));
}

#[test]
fn slots_give_mmc_at_rho_0_9() {
    check_all("mmc-rho09", mmc_w(3.6, 1.0, 4));
}

#[test]
fn constant_service_gives_md1_at_rho_0_5() {
    check_all("md1-rho05", md1_w(0.5, 1.0));
}

#[test]
fn constant_service_gives_md1_at_rho_0_9() {
    check_all("md1-rho09", md1_w(0.9, 1.0));
}

#[test]
fn the_breakdown_splits_mmc_into_waiting_and_service() {
    // The engine keeps no per-request part for a plain workflow without
    // CPU work: the model's share is the rest. Queueing must still come
    // out as Erlang C's Wq, service as 1 / mu.
    let m = Model::from_file(scenario("mmc-rho09")).unwrap();
    let mut m = m;
    m.run.replications = 4;
    let r = run_model(&m, RunOptions::default()).unwrap();
    let b = &r.pooled.breakdown;
    let wq = mmc_w(3.6, 1.0, 4) - 1.0;
    assert!(
        (b.queueing - wq).abs() / wq < 0.05,
        "{} vs {wq}",
        b.queueing
    );
    assert!((b.llm[0].seconds - 1.0).abs() < 0.01, "{b:?}");
    assert_eq!((b.cpu, b.network, b.retries), (0.0, 0.0, 0.0));
    // With CPU work (one part kept per request) the parts still add up.
    let q = Model::from_file(scenario("../quickstart")).unwrap();
    let r = run_model(&q, RunOptions::default()).unwrap();
    let b = &r.pooled.breakdown;
    let mean = r.pooled.latency.mean.unwrap();
    assert!(
        (b.total() - mean).abs() < 1e-6 * mean,
        "{} vs {mean}",
        b.total()
    );
    assert!((b.cpu - 0.08).abs() < 0.005, "gamma CPU, mean 80ms: {b:?}");
}

/// `mm1-rho05` with `deployment.proxyLatency` set to `proxy`.
fn mm1_with_proxy(proxy: serde_json::Value) -> Model {
    let text = std::fs::read_to_string(scenario("mm1-rho05")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["deployment"]["proxyLatency"] = proxy;
    Model::from_value(&v, scenario("mm1-rho05")).expect("scenario with proxyLatency loads")
}

#[test]
fn a_constant_proxy_latency_adds_to_mm1() {
    // The proxy's time holds no slot: W = 1 / (mu - lambda) + d.
    let d = 0.25;
    let model = mm1_with_proxy(serde_json::json!("250ms"));
    let r = run_model(&model, RunOptions::default()).unwrap();
    assert_matches(
        "mm1-rho05 with a 250ms proxy",
        &mean_latencies(&r),
        mm1_w(0.5, 1.0) + d,
    );
    // The queues are the keyless run's: its own stream leaves every other
    // draw where it was, so each replication's mean moves by d exactly.
    let (_, plain) = run("mm1-rho05");
    for (with, without) in r.runs.iter().zip(&plain.runs) {
        let (a, b) = (with.latency.mean.unwrap(), without.latency.mean.unwrap());
        assert!((a - b - d).abs() < 1e-6, "{a} vs {b} + {d}");
        assert_eq!(with.counts, without.counts);
        assert!((with.utilization - without.utilization).abs() < 1e-12);
        let net = with.breakdown.network;
        assert!((net - d).abs() < 1e-6, "breakdown network {net}");
    }
}

#[test]
fn a_random_proxy_latency_adds_its_mean_to_mm1() {
    let model = mm1_with_proxy(serde_json::json!({ "dist": "exponential", "mean": "100ms" }));
    let r = run_model(&model, RunOptions::default()).unwrap();
    assert_matches(
        "mm1-rho05 with an exponential 100ms proxy",
        &mean_latencies(&r),
        mm1_w(0.5, 1.0) + 0.1,
    );
}

#[test]
fn a_negative_proxy_latency_is_refused_with_its_path() {
    let text = std::fs::read_to_string(scenario("mm1-rho05")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["deployment"]["proxyLatency"] = serde_json::json!("-1ms");
    let err = Model::from_value(&v, scenario("mm1-rho05")).unwrap_err();
    assert!(err.to_string().contains("deployment.proxyLatency"), "{err}");
}

/// `mm1-rho05` as a scenario without LLM calls: no `llm` section, the
/// service time as `cpuTime` with `llmCalls: 0`.
fn mm1_without_model() -> serde_json::Value {
    let text = std::fs::read_to_string(scenario("mm1-rho05")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("llm");
    v["workload"]["request"] =
        serde_json::json!({ "cpuTime": { "dist": "exponential", "mean": "1s" }, "llmCalls": 0 });
    v
}

#[test]
fn a_scenario_without_llm_calls_declares_no_model_and_runs_as_the_llm_form() {
    // The same one draw per request from the request's stream, so the same
    // numbers: the service is the CPU part instead of the model's.
    let mut plain = Model::from_value(&mm1_without_model(), scenario("mm1-rho05"))
        .expect("a scenario without llm validates");
    let mut llm = Model::from_file(scenario("mm1-rho05")).unwrap();
    plain.run.replications = 3;
    llm.run.replications = 3;
    let (a, b) = (
        run_model(&plain, RunOptions::default()).unwrap(),
        run_model(&llm, RunOptions::default()).unwrap(),
    );
    for (x, y) in a.runs.iter().zip(&b.runs) {
        assert_eq!(x.latency, y.latency);
        assert_eq!(x.counts, y.counts);
        assert!(x.llm_calls.is_empty());
        let served = y.breakdown.llm[0].seconds;
        assert!(
            (x.breakdown.cpu - served).abs() < 1e-9,
            "{} vs {served}",
            x.breakdown.cpu
        );
    }
    // Equal replication by replication, so it meets M/M/1 wherever
    // `random_routing_gives_mm1_per_instance_at_rho_0_5` does.
}

#[test]
fn a_request_that_calls_an_llm_without_models_is_refused_at_its_path() {
    let mut v = mm1_without_model();
    v["workload"]
        .as_object_mut()
        .unwrap()
        .remove("request")
        .unwrap();
    let err = Model::from_value(&v, scenario("mm1-rho05")).unwrap_err();
    let e = err.to_string();
    assert!(e.contains("`workload.request`"), "{e}");
    assert!(e.contains("llm.models defines no model"), "{e}");
    assert!(e.contains("cpuTime"), "{e}");
    // A class that calls, beside one that does not.
    let mut v = mm1_without_model();
    v["workload"]["classes"] = serde_json::json!({
        "static": { "share": 1, "request": { "cpuTime": { "dist": "constant", "value": "5ms" }, "llmCalls": 0 } },
        "chat": { "share": 1, "request": { "llmCalls": 2 } }
    });
    v["workload"].as_object_mut().unwrap().remove("request");
    let e = Model::from_value(&v, scenario("mm1-rho05"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("workload.classes.chat.request"), "{e}");
    assert!(e.contains("makes 2 LLM calls"), "{e}");
}

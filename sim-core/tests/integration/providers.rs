//! LLM providers with state: quotas answered with 429 and `retry-after`,
//! retry storms and jitter, fallbacks on 429s and outages, shared
//! endpoints that slow under load, per-instance caps on outstanding calls
//! (checked against M/M/1), provider slowdowns, and breakers on a model
//! that send its calls to the fallback while it is slow or failing.

use serde_json::{json, Value};
use sim_core::{run_model, Model, ModelCalls, RunOptions, ScenarioResult};
use std::path::PathBuf;

fn run(v: &Value) -> ScenarioResult {
    let m = Model::from_value(v, "providers.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

fn shipped(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/agents/{name}"));
    sim_core::json_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// Calls per model over every replication.
fn calls(r: &ScenarioResult) -> Vec<ModelCalls> {
    ModelCalls::pooled(&r.runs)
}

fn base(rate: f64, models: Value) -> Value {
    json!({
        "name": "providers", "run": { "duration": "2h", "warmup": "10m", "seed": 19 },
        "workload": { "arrivals": { "ratePerSecond": rate } },
        "llm": { "models": models },
        "instanceTypes": { "t": { "slots": 500 } },
        "deployment": { "regions": { "r": { "instances": 2 } } }
    })
}

#[test]
fn a_cap_on_outstanding_calls_is_an_mm1_queue() {
    // One call at a time per instance, exponential 1s calls, 0.5 requests a
    // second: the LLM phase is M/M/1 at rho 0.5, so a call waits
    // rho / (mu - lambda) = 1s on average for its permit.
    let mut v = base(
        0.5,
        json!({ "m": { "latency": { "dist": "exponential", "mean": "1s" } } }),
    );
    v["run"]["duration"] = json!("40h");
    v["run"]["replications"] = json!(4);
    v["deployment"]["regions"]["r"]["instances"] = json!(1);
    v["instanceTypes"]["t"]["llmConcurrency"] = json!(1);
    let r = run(&v);
    let b = &r.pooled.breakdown;
    assert!((b.llm_waits - 1.0).abs() < 0.04, "{b:?}");
    assert!((b.llm[0].seconds - 1.0).abs() < 0.02, "{b:?}");
    let mean = r.pooled.latency.mean.unwrap();
    assert!(
        (mean - 2.0).abs() < 0.06 && (b.total() - mean).abs() < 1e-3,
        "{mean}"
    );
}

#[test]
fn a_fleet_quota_caps_the_calls_served() {
    // 15 calls a second asked, 600 a minute allowed: 10 a second served,
    // the rest refused until their retries run out.
    let models = json!({ "m": { "latency": { "dist": "constant", "value": "500ms" },
        "rateLimit": { "requestsPerMinute": 600 } } });
    let r = run(&base(15.0, models.clone()));
    let c = &calls(&r)[0];
    let served = c.calls as f64 / (110.0 * 60.0);
    assert!((served - 10.0).abs() < 0.15, "{served}/s");
    assert!(c.rate_limited > 0 && r.pooled.reasons.llm_rate_limited > 0);
    let failed = r.pooled.counts.failed as f64 / r.pooled.counts.arrivals as f64;
    assert!((failed - 1.0 / 3.0).abs() < 0.02, "{failed}");
    // The same quota per instance (two keys) is not reached.
    let mut per = base(15.0, models);
    per["llm"]["models"]["m"]["rateLimit"]["per"] = json!("instance");
    let r = run(&per);
    assert_eq!(calls(&r)[0].rate_limited, 0);
    assert_eq!(r.pooled.counts.failed, 0);
}

#[test]
fn a_token_quota_counts_tokens() {
    // 1,000 tokens a call, 6,000 tokens a minute: 6 calls a minute.
    let mut v = base(
        1.0,
        json!({ "m": { "latency": { "dist": "constant", "value": "100ms" },
            "rateLimit": { "tokensPerMinute": 6000 } } }),
    );
    v["workload"]["request"] = json!({ "inputTokens": { "dist": "constant", "value": 1000 } });
    let r = run(&v);
    let served = calls(&r)[0].calls as f64 / 110.0;
    assert!((served - 6.0).abs() < 0.3, "{served} a minute");
}

#[test]
fn a_rate_limited_call_goes_to_the_fallback() {
    let models = json!({
        "m": { "latency": { "dist": "constant", "value": "500ms" },
               "rateLimit": { "requestsPerMinute": 600 }, "fallback": "b" },
        "b": { "latency": { "dist": "constant", "value": "2s" } }
    });
    let mut v = base(15.0, models);
    v["workload"]["request"] = json!({ "model": "m" });
    let r = run(&v);
    let c = calls(&r);
    assert_eq!(r.pooled.counts.failed, 0, "{:?}", r.pooled.reasons);
    let share = c[1].calls as f64 / (c[0].calls + c[1].calls) as f64;
    assert!((share - 1.0 / 3.0).abs() < 0.02, "{share}");
    assert_eq!(c[1].calls, c[0].rate_limited, "one fallback per 429");
}

#[test]
fn jitter_calms_a_retry_storm() {
    let v = shipped("rate-limit-storm.json");
    let plain = run(&v);
    let mut j = v.clone();
    j["llm"]["rateLimitRetries"]["jitter"] = json!("10s");
    let jittered = run(&j);
    let (p, q) = (&calls(&plain)[0], &calls(&jittered)[0]);
    let ratio = |c: &ModelCalls| c.rate_limited as f64 / c.calls as f64;
    assert!(ratio(p) > 0.6, "a storm: {} 429s a call", ratio(p));
    assert!(ratio(q) < 0.9 * ratio(p), "{} vs {}", ratio(q), ratio(p));
    let (fp, fq) = (
        plain.pooled.reasons.llm_rate_limited,
        jittered.pooled.reasons.llm_rate_limited,
    );
    assert!((fq as f64) < 0.8 * fp as f64, "failures {fq} vs {fp}");
    assert!(
        plain.pooled.error_rate > 0.12,
        "{}",
        plain.pooled.error_rate
    );
    // Waiting out the jitter holds slots: the jittered run waits longer.
    assert!(jittered.pooled.breakdown.llm_waits > plain.pooled.breakdown.llm_waits);
}

#[test]
fn an_outage_fails_calls_at_once_or_sends_them_to_the_fallback() {
    let models = json!({
        "m": { "latency": { "dist": "constant", "value": "1s" } },
        "b": { "latency": { "dist": "constant", "value": "3s" } }
    });
    let mut v = base(5.0, models);
    v["workload"]["request"] = json!({ "model": "m" });
    v["failures"] = json!({ "events": [
        { "type": "provider-outage", "model": "m", "at": "30m", "duration": "10m" } ] });
    let r = run(&v);
    let c = calls(&r);
    // Ten minutes of 5 requests a second fail.
    let failed = r.pooled.counts.failed as f64;
    assert!((failed - 3000.0).abs() < 200.0, "{failed}");
    assert_eq!(c[0].outages, r.pooled.counts.failed);
    let mut fb = v.clone();
    fb["llm"]["models"]["m"]["fallback"] = json!("b");
    let r = run(&fb);
    let c = calls(&r);
    assert_eq!(r.pooled.counts.failed, 0);
    assert!((c[1].calls as f64 - 3000.0).abs() < 200.0, "{:?}", c[1]);
    assert_eq!(r.runs[0].llm_cost, 0.0);
}

#[test]
fn a_shared_endpoint_slows_under_load() {
    // 1s calls, 2.5 a second: 2.5 outstanding on average. An endpoint at
    // full speed up to 3 calls serves at most 3 a second and stretches the
    // calls whenever more than 3 are outstanding.
    let models = json!({ "m": { "latency": { "dist": "constant", "value": "1s" } } });
    let plain = run(&base(2.5, models.clone()));
    let mut v = base(2.5, models);
    v["llm"]["models"]["m"]["saturation"] = json!({ "concurrency": 3 });
    let slowed = run(&v);
    let (a, b) = (
        plain.pooled.latency.mean.unwrap(),
        slowed.pooled.latency.mean.unwrap(),
    );
    assert!((a - 1.0).abs() < 1e-6, "{a}");
    assert!(b > 1.05 && b < 3.0, "{b}");
    // Far below its concurrency it is not slowed at all.
    let mut light = v.clone();
    light["llm"]["models"]["m"]["saturation"] = json!({ "concurrency": 100 });
    assert!((run(&light).pooled.latency.mean.unwrap() - 1.0).abs() < 1e-6);
}

#[test]
fn shipped_slowdown_fills_the_slots_and_recovers() {
    let v = shipped("provider-slowdown.json");
    let r = run(&v);
    let rows = &r.runs[0].series;
    let at = |min: f64| {
        rows.iter()
            .find(|x| (x.time - min * 60.0).abs() < 1.0)
            .unwrap()
    };
    let before: f64 = (10..20).map(|m| at(m as f64).in_flight as f64).sum::<f64>() / 10.0;
    let during: f64 = (22..35).map(|m| at(m as f64).in_flight as f64).sum::<f64>() / 13.0;
    let after: f64 = (40..60).map(|m| at(m as f64).in_flight as f64).sum::<f64>() / 20.0;
    assert!(before < 60.0 && after < 60.0, "{before} {after}");
    assert!(during > 220.0, "{during}");
    for m in 6..20 {
        assert_eq!(at(m as f64).error_rate, 0.0, "minute {m}");
    }
    assert!(at(25.0).error_rate > 0.2);
    assert!(r.runs[0].cpu_utilization.unwrap() < 0.06);
}

#[test]
fn provider_settings_refuse_what_cannot_apply() {
    let one = |m: Value| base(1.0, json!({ "m": m }));
    let lat = json!({ "dist": "constant", "value": "1s" });
    let cases = [
        (
            one(json!({ "latency": lat, "rateLimit": {} })),
            "llm.models.m.rateLimit",
        ),
        (
            one(json!({ "latency": lat, "rateLimit": { "tokensPerMinute": 100 } })),
            "llm.models.m.rateLimit.tokensPerMinute",
        ),
        (
            one(json!({ "latency": lat, "rateLimit": { "requestsPerMinute": 0 } })),
            "llm.models.m.rateLimit.requestsPerMinute",
        ),
        (
            one(json!({ "latency": lat, "saturation": { "concurrency": 0 } })),
            "llm.models.m.saturation.concurrency",
        ),
    ];
    for (v, path) in cases {
        let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
        assert!(e.contains(path), "{path}: {e}");
    }
    let mut v = one(json!({ "latency": lat }));
    v["llm"]["rateLimitRetries"] = json!({ "maxRetries": 1 });
    let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
    assert!(e.contains("llm.rateLimitRetries"), "{e}");
    let mut v = one(json!({ "latency": lat }));
    v["instanceTypes"]["t"]["llmConcurrency"] = json!(0);
    let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
    assert!(e.contains("instanceTypes.t.llmConcurrency"), "{e}");
    for (event, path) in [
        (
            json!({ "type": "provider-outage", "at": "1m", "duration": "1m" }),
            "failures.events[0].model",
        ),
        (
            json!({ "type": "provider-outage", "model": "x", "at": "1m", "duration": "1m" }),
            "failures.events[0].model",
        ),
        (
            json!({ "type": "provider-slowdown", "model": "m", "at": "1m", "duration": "1m" }),
            "failures.events[0].factor",
        ),
        (
            json!({ "type": "instance-crash", "instance": "r/0", "model": "m", "at": "1m", "duration": "1m" }),
            "failures.events[0].model",
        ),
        (
            json!({ "type": "provider-outage", "model": "m", "region": "r", "at": "1m", "duration": "1m" }),
            "failures.events[0].region",
        ),
    ] {
        let mut v = one(json!({ "latency": lat }));
        v["failures"] = json!({ "events": [event] });
        let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
        assert!(e.contains(path), "{path}: {e}");
    }
}

#[test]
fn a_freed_permit_is_not_left_idle_when_the_woken_call_meets_an_outage() {
    // One call at a time per instance; an outage fails calls at once, so
    // every permit must pass on to the next waiting call. Nothing may be
    // left waiting once the outage is over.
    let mut v = base(
        2.0,
        json!({ "m": { "latency": { "dist": "exponential", "mean": "400ms" } } }),
    );
    v["deployment"]["regions"]["r"]["instances"] = json!(1);
    v["instanceTypes"]["t"] = json!({ "slots": 6, "llmConcurrency": 1 });
    v["failures"] = json!({ "events": [
        { "type": "provider-outage", "model": "m", "at": "30m", "duration": "10m" } ] });
    let r = run(&v);
    let c = r.pooled.counts;
    assert!(c.conserved());
    assert!(c.in_flight < 6, "{c:?}");
    assert!(calls(&r)[0].outages > 0);
}

#[test]
fn running_out_of_429_retries_with_a_long_queue_does_not_recurse() {
    // A quota of one call a minute, no retries, one slot and a queue of
    // thousands: each failure starts the next queued request, through an
    // event rather than a nested call.
    let mut v = base(
        20.0,
        json!({ "m": { "latency": { "dist": "constant", "value": "2s" },
            "rateLimit": { "requestsPerMinute": 1 } } }),
    );
    v["llm"]["rateLimitRetries"] = json!({ "maxRetries": 0 });
    v["deployment"]["regions"]["r"]["instances"] = json!(1);
    v["instanceTypes"]["t"] = json!({ "slots": 1 });
    v["failures"] = json!({ "events": [
        { "type": "provider-slowdown", "model": "m", "at": "10m", "duration": "20m", "factor": 50 } ] });
    let r = run(&v);
    assert!(r.pooled.counts.conserved());
    assert!(
        r.pooled.reasons.llm_rate_limited > 10_000,
        "{:?}",
        r.pooled.reasons
    );
}

#[test]
fn an_attempt_that_makes_no_call_is_not_billed() {
    let mut v = base(
        2.0,
        json!({ "m": { "latency": { "dist": "constant", "value": "1s" },
            "pricePer1kInputTokens": 1.0 } }),
    );
    v["workload"]["request"] = json!({
        "llmCalls": { "dist": "uniform", "min": 0, "max": 0.4 },
        "inputTokens": { "dist": "constant", "value": 1000 } });
    let r = run(&v);
    assert_eq!(calls(&r)[0].calls, 0);
    assert_eq!(r.runs[0].llm_cost, 0.0);
    assert!(r.pooled.counts.completed > 1000);
}

#[test]
fn an_open_breaker_refuses_calls_until_a_trial_is_due() {
    // Every call fails after 1s. Each of the two instances' consecutive
    // breakers opens after 3 failures and stays open 10s (resilience4j:
    // trials strictly after the wait), then lets one trial through, which
    // fails and reopens it. So each instance's model answers about 3 calls
    // plus one every 10s (a few more that were in flight as it opened);
    // every other call is refused at once and fails.
    let mut v = base(
        5.0,
        json!({ "m": {
            "latency": { "dist": "constant", "value": "1s" },
            "errorRate": 1.0,
            "circuitBreaker": { "failureThreshold": 3, "resetTimeout": "10s" }
        } }),
    );
    v["run"]["warmup"] = json!("0s");
    let r = run(&v);
    let c = &calls(&r)[0];
    let run = &r.runs[0];
    // A cycle: 10s open, the wait for the instance's next request (every
    // other arrival at 5/s: 0.4s on average), the trial's 1s.
    let (fewest, most) = (2.0 * 7200.0 / 12.0, 2.0 * 7200.0 / 11.0);
    assert!(
        (c.calls as f64) > fewest && (c.calls as f64) < most + 40.0,
        "answered {} calls, expected {fewest} to {most} trials",
        c.calls
    );
    assert!(c.breaker_trips as f64 >= fewest, "{c:?}");
    assert_eq!(
        c.calls + c.circuit_open,
        run.counts.arrivals - run.counts.in_flight
    );
    assert_eq!(run.reasons.llm_error, run.counts.failed);
    // Refused calls fail at once: most requests fail in no time.
    assert!(run.counts.failed + run.counts.in_flight == run.counts.arrivals);
}

#[test]
fn a_breaker_sends_calls_to_the_fallback_while_the_primary_is_slow() {
    let with = shipped("provider-breaker.json");
    let mut without = with.clone();
    without["llm"]["models"]["primary"]
        .as_object_mut()
        .unwrap()
        .remove("circuitBreaker");
    let (a, b) = (run(&with), run(&without));
    // Minutes 21 to 35 of the slowdown, every replication.
    let during = |r: &ScenarioResult| -> (f64, f64) {
        let rows: Vec<_> = r
            .runs
            .iter()
            .flat_map(|x| &x.series)
            .filter(|x| x.time > 21.0 * 60.0 && x.time <= 35.0 * 60.0)
            .collect();
        let n = rows.len() as f64;
        let errors = rows.iter().map(|x| x.error_rate).sum::<f64>() / n;
        let p99 = rows.iter().filter_map(|x| x.p99).sum::<f64>() / n;
        (errors, p99)
    };
    let (errors, p99) = during(&a);
    assert!(
        errors < 0.01,
        "with the breaker: {errors} of requests failed"
    );
    assert!(p99 < 30.0, "with the breaker: p99 {p99}s in a mean minute");
    let (errors, p99) = during(&b);
    assert!(
        errors > 0.5,
        "without the breaker: {errors} of requests failed"
    );
    assert!(
        p99 > 40.0,
        "without the breaker: p99 {p99}s in a mean minute"
    );
    let c = calls(&a);
    let (primary, backup) = (&c[0], &c[1]);
    assert!(
        primary.breaker_trips > 0 && primary.circuit_open > 0,
        "{primary:?}"
    );
    // Every refused call went to the fallback (which never fails), and
    // the refusals are about the slowdown's share of the calls: the
    // primary has them back once it recovers.
    assert_eq!(backup.calls, primary.circuit_open);
    let share = primary.circuit_open as f64 / (primary.calls + primary.circuit_open) as f64;
    assert!(share > 0.15 && share < 0.35, "{share}");
    assert_eq!(a.runs[0].breakdown.llm.len(), 2);
}

#[test]
fn a_model_breaker_is_checked_like_the_deployments() {
    let v = base(
        1.0,
        json!({ "m": {
            "latency": { "dist": "constant", "value": "1s" },
            "circuitBreaker": { "failureThreshold": 0 }
        } }),
    );
    let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
    assert!(
        e.contains("llm.models.m.circuitBreaker.failureThreshold"),
        "{e}"
    );
}

#[test]
fn a_trial_call_cut_by_a_hang_counts_as_a_failure_not_a_trial_for_ever() {
    // One instance; every call fails after 2s; the breaker opens on one
    // failure for 5s and lets one trial through. Requests come from a
    // trace: one at 0.5s (fails, opens the breaker), one at 7.6s (the
    // trial), then one a second from 9s. The instance hangs from 8s to
    // 20s with the trial in flight; when the hang ends the trial is cut,
    // a failure, and the breaker goes on opening and trying. Were the cut
    // trial never recorded, the breaker would wait for it for ever and
    // the model would answer nothing more.
    let dir = std::env::temp_dir().join(format!("fleetsim-trial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("time\n0.5\n7.6\n");
    for s in 9..600 {
        csv.push_str(&format!("{s}\n"));
    }
    std::fs::write(dir.join("t.csv"), csv).unwrap();
    let v = json!({
        "name": "trial", "run": { "duration": "10m", "seed": 3 },
        "workload": { "trace": { "file": "t.csv" } },
        "llm": { "models": { "m": {
            "latency": { "dist": "constant", "value": "2s" },
            "errorRate": 1.0,
            "circuitBreaker": { "failureThreshold": 1, "resetTimeout": "5s", "halfOpenRequests": 1 }
        } } },
        "instanceTypes": { "t": { "slots": 100 } },
        "deployment": { "regions": { "r": { "instances": 1 } } },
        "failures": { "events": [
            { "type": "instance-hang", "instance": "r/0", "at": "8s", "duration": "12s" }
        ] }
    });
    let m = Model::from_value(&v, dir.join("s.json")).unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    let c = &calls(&r)[0];
    // After the hang: a trial every 5s open + up to 1s to the next request
    // + 2s of trial, over about 580s.
    assert!(c.calls > 60, "{c:?}");
    std::fs::remove_dir_all(&dir).ok();
}

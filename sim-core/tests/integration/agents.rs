//! The agent world's LLM side: token-timed latency, fallbacks, the response
//! cache, drawn call counts, tool waits, a model per call, and the latency
//! breakdown; and the shipped agent scenarios doing what their descriptions
//! say.

use serde_json::{json, Value};
use sim_core::{run_model, Model, RunOptions, ScenarioResult};
use std::path::PathBuf;

fn run(v: &Value) -> ScenarioResult {
    let m = Model::from_value(v, "agents.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

fn shipped(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/agents/{name}"));
    sim_core::json_file(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// A fleet that never queues: latency is the request's own work.
fn base(request: Value, models: Value) -> Value {
    json!({
        "name": "agents", "run": { "duration": "2h", "seed": 17 },
        "workload": { "arrivals": { "ratePerSecond": 5 }, "request": request },
        "llm": { "models": models },
        "instanceTypes": { "t": { "slots": 1000 } },
        "deployment": { "regions": { "r": { "instances": 1 } } }
    })
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn token_timed_latency_reproduces_its_mean_and_percentiles() {
    // 300ms to the first token, then 20ms per output token; output tokens
    // lognormal with median 200 and p99 1000. Latency = 0.3 + 0.02 * tokens,
    // so its median is 0.3 + 0.02 * 200 = 4.3s and its p99 0.3 + 20 = 20.3s;
    // its mean 0.3 + 0.02 * 200 * exp(sigma^2 / 2), sigma = ln(5) / 2.3263.
    let v = base(
        json!({ "outputTokens": { "dist": "lognormal", "median": 200, "p99": 1000 } }),
        json!({ "m": { "timeToFirstToken": "300ms", "timePerOutputToken": "20ms" } }),
    );
    let r = run(&v);
    let l = &r.pooled.latency;
    let sigma = 5f64.ln() / 2.326_348;
    let mean = 0.3 + 0.02 * 200.0 * (sigma * sigma / 2.0).exp();
    assert!(
        close(l.mean.unwrap(), mean, 0.02),
        "mean {:?} vs {mean}",
        l.mean
    );
    assert!(close(l.p50.unwrap(), 4.3, 0.02), "p50 {:?}", l.p50);
    assert!(close(l.p99.unwrap(), 20.3, 0.05), "p99 {:?}", l.p99);
    // The breakdown books it all to the model.
    let b = &r.pooled.breakdown;
    assert!(close(b.llm[0].seconds, l.mean.unwrap(), 1e-3), "{b:?}");
}

#[test]
fn a_fallback_answers_failed_calls_at_its_own_latency() {
    let models = json!({
        "primary": { "latency": { "dist": "constant", "value": "1s" }, "errorRate": 0.2,
                     "fallback": "backup" },
        "backup": { "latency": { "dist": "constant", "value": "3s" }, "errorRate": 0.1 }
    });
    let v = base(json!({ "llmCalls": 2, "model": "primary" }), models);
    let r = run(&v);
    let c = r.pooled.counts;
    // A call fails only when both fail: 0.02; a request of two calls
    // fails with 1 - 0.98^2 = 3.96%.
    let failed = c.failed as f64 / c.arrivals as f64;
    assert!(close(failed, 0.0396, 0.08), "{failed}");
    // Each completed call took 1s, plus 3s on the backup one time in five
    // (given it then succeeded: 0.2 * 0.9 / 0.98).
    let b = &r.pooled.breakdown;
    let backup_share = 0.2 * 0.9 / 0.98;
    assert!(close(b.llm[0].seconds, 2.0, 1e-9), "{b:?}");
    assert!(
        close(b.llm[1].seconds, 2.0 * 3.0 * backup_share, 0.03),
        "{b:?}"
    );
    assert!(close(b.total(), r.pooled.latency.mean.unwrap(), 1e-3));
    // Without the fallback, errors are the primary's own: 1 - 0.8^2.
    let mut plain = v.clone();
    plain["llm"]["models"]["primary"]
        .as_object_mut()
        .unwrap()
        .remove("fallback");
    let c = run(&plain).pooled.counts;
    let failed = c.failed as f64 / c.arrivals as f64;
    assert!(close(failed, 0.36, 0.03), "{failed}");
}

#[test]
fn the_cache_skips_calls_and_their_cost() {
    let request = json!({
        "llmCalls": 4,
        "inputTokens": { "dist": "constant", "value": 1000 },
        "outputTokens": { "dist": "constant", "value": 100 }
    });
    let models = json!({ "m": { "latency": { "dist": "constant", "value": "2s" },
        "pricePer1kInputTokens": 0.01, "pricePer1kOutputTokens": 0.03 } });
    let mut v = base(request, models);
    let without = run(&v);
    v["llm"]["cache"] = json!({ "hitRatio": 0.25, "latency": "10ms" });
    let with = run(&v);
    let per_req = |r: &ScenarioResult| r.runs[0].llm_cost / r.runs[0].counts.arrivals as f64;
    // Four calls at 0.013 each without the cache; a quarter skipped with it.
    assert!(
        close(per_req(&without), 0.052, 0.01),
        "{}",
        per_req(&without)
    );
    assert!(close(per_req(&with), 0.039, 0.02), "{}", per_req(&with));
    let b = &with.pooled.breakdown;
    assert!(close(b.llm[0].seconds, 6.0, 0.02), "{b:?}");
    assert!(close(b.cache, 0.01, 0.02), "{b:?}");
    assert!(with.pooled.latency.mean.unwrap() < 0.8 * without.pooled.latency.mean.unwrap());
}

#[test]
fn a_workflow_splits_its_latency_into_parts() {
    // A router call, then the large model, 2 to 6 calls in all (uniform
    // 1.5..6.5 rounded: mean 4), tool waits of 1s between calls, CPU 0.5s,
    // 100ms round trip, 4 slots so some requests queue.
    let v = json!({
        "name": "workflow", "run": { "duration": "4h", "warmup": "10m", "seed": 2 },
        "workload": {
            "arrivals": { "ratePerSecond": 0.3 },
            "clients": { "eu": 1.0 },
            "request": {
                "cpuTime": { "dist": "constant", "value": "500ms" },
                "llmCalls": { "dist": "uniform", "min": 1.5, "max": 6.5 },
                "modelPerCall": ["router", "large"],
                "toolTime": "1s"
            }
        },
        "llm": { "models": {
            "router": { "latency": { "dist": "constant", "value": "200ms" } },
            "large": { "latency": { "dist": "exponential", "mean": "2s" } }
        } },
        "network": { "rtt": { "eu": { "r": "100ms" } } },
        "instanceTypes": { "t": { "slots": 4 } },
        "deployment": { "regions": { "r": { "instances": 1 } } }
    });
    let r = run(&v);
    let b = &r.pooled.breakdown;
    let mean = r.pooled.latency.mean.unwrap();
    assert!(
        close(b.total(), mean, 1e-3),
        "{} vs {mean}: {b:?}",
        b.total()
    );
    assert!(close(b.network, 0.1, 1e-9), "{b:?}");
    assert!(close(b.cpu, 0.5, 1e-6), "{b:?}");
    assert!(close(b.llm[0].seconds, 0.2, 1e-6), "one router call: {b:?}");
    assert!(
        close(b.llm[1].seconds, 3.0 * 2.0, 0.05),
        "three large calls: {b:?}"
    );
    assert!(close(b.tool_waits, 3.0, 0.02), "three waits: {b:?}");
    assert!(
        b.queueing > 0.0 && b.retries == 0.0 && b.cache == 0.0,
        "{b:?}"
    );
}

#[test]
fn llm_settings_refuse_what_cannot_apply() {
    let m = |v: Value| json!({ "m": v });
    let cases = [
        (
            base(
                json!({}),
                m(json!({ "timeToFirstToken": "1s", "timePerOutputToken": "1ms" })),
            ),
            "llm.models.m.timePerOutputToken",
        ),
        (
            base(json!({}), m(json!({ "timeToFirstToken": "1s" }))),
            "llm.models.m.timePerOutputToken",
        ),
        (
            base(
                json!({}),
                m(json!({ "latency": { "dist": "constant", "value": "1s" }, "fallback": "m" })),
            ),
            "llm.models.m.fallback",
        ),
        (
            base(
                json!({ "model": "a" }),
                json!({
                    "a": { "latency": { "dist": "constant", "value": "1s" }, "fallback": "b" },
                    "b": { "latency": { "dist": "constant", "value": "1s" }, "fallback": "a" }
                }),
            ),
            "llm.models.a.fallback",
        ),
        (
            base(
                json!({ "toolTime": "1s" }),
                m(json!({ "latency": { "dist": "constant", "value": "1s" } })),
            ),
            "workload.request.toolTime",
        ),
        (
            base(
                json!({ "model": "m", "modelPerCall": ["m"] }),
                m(json!({ "latency": { "dist": "constant", "value": "1s" } })),
            ),
            "workload.request.modelPerCall",
        ),
        (
            base(
                json!({ "modelPerCall": ["m", "n"] }),
                m(json!({ "latency": { "dist": "constant", "value": "1s" } })),
            ),
            "workload.request.modelPerCall[1]",
        ),
        (base(json!({}), m(json!({}))), "llm.models.m.latency"),
        (
            base(
                json!({ "llmCalls": 2.5 }),
                m(json!({ "latency": { "dist": "constant", "value": "1s" } })),
            ),
            "llmCalls",
        ),
    ];
    for (v, path) in cases {
        let e = match Model::from_value(&v, "bad.json") {
            Ok(_) => panic!("{path}: accepted"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(path), "{path}: {e}");
    }
    let mut v = base(
        json!({}),
        m(json!({ "latency": { "dist": "constant", "value": "1s" } })),
    );
    v["llm"]["cache"] = json!({ "hitRatio": 1.5 });
    let e = Model::from_value(&v, "bad.json").unwrap_err().to_string();
    assert!(e.contains("llm.cache.hitRatio"), "{e}");
}

// The shipped scenarios, each against the effect its description states.

#[test]
fn shipped_fallback_saves_the_error_rate_at_a_price() {
    let v = shipped("provider-fallback.json");
    let with = run(&v);
    let mut plain = v.clone();
    plain["llm"]["models"]["primary"]
        .as_object_mut()
        .unwrap()
        .remove("fallback");
    let without = run(&plain);
    let (ew, eo) = (with.pooled.error_rate, without.pooled.error_rate);
    assert!(ew < 0.01 && eo > 0.15, "with {ew}, without {eo}");
    let spend = |r: &ScenarioResult| {
        r.runs.iter().map(|x| x.llm_cost).sum::<f64>()
            / r.runs.iter().map(|x| x.counts.arrivals).sum::<u64>() as f64
    };
    let (sw, so) = (spend(&with), spend(&without));
    assert!(
        sw > 1.15 * so && sw < 1.35 * so,
        "per request: with {sw}, without {so}"
    );
}

#[test]
fn shipped_workflow_spends_its_time_in_the_large_model_and_tools() {
    let v = shipped("agent-workflow.json");
    let r = run(&v);
    let b = &r.pooled.breakdown;
    let mean = r.pooled.latency.mean.unwrap();
    assert!(close(b.total(), mean, 1e-3), "{b:?}");
    let large = b.llm.iter().find(|m| m.model == "large").unwrap().seconds;
    let router = b.llm.iter().find(|m| m.model == "router").unwrap().seconds;
    assert!(large > 0.4 * mean && b.tool_waits > 0.2 * mean, "{b:?}");
    assert!(
        router < 0.1 * mean && b.cache < 0.01 * mean && b.cpu < 0.05 * mean,
        "{b:?}"
    );
    let mut off = v.clone();
    off["llm"].as_object_mut().unwrap().remove("cache");
    let o = run(&off);
    assert!(o.pooled.latency.mean.unwrap() > mean, "cache off is slower");
    let cost = |r: &ScenarioResult| r.runs.iter().map(|x| x.llm_cost).sum::<f64>();
    assert!(cost(&o) > 1.15 * cost(&r), "{} vs {}", cost(&o), cost(&r));
}

#[test]
fn shipped_sessions_slow_down_with_a_smaller_fleet() {
    let v = shipped("chat-sessions.json");
    let full = run(&v);
    let rate = |r: &ScenarioResult| r.pooled.counts.arrivals as f64 / (3.0 * 105.0 * 60.0);
    assert!((6.5..9.5).contains(&rate(&full)), "{}", rate(&full));
    let mut half = v.clone();
    half["deployment"]["regions"]["eu-west-1"]["instances"] = json!(3);
    let h = run(&half);
    assert!(
        rate(&h) < 0.8 * rate(&full),
        "{} vs {}",
        rate(&h),
        rate(&full)
    );
    assert!(h.pooled.latency.p99.unwrap() > full.pooled.latency.p99.unwrap());
    for r in &h.runs {
        assert!(r.engine.peak_requests <= 600, "bounded by the population");
    }
}

#[test]
fn shipped_noisy_tenant_is_held_to_its_share_by_a_per_tenant_limit() {
    let v = shipped("noisy-tenant.json");
    let quiet = |r: &ScenarioResult| {
        let (mut a, mut c) = (0, 0);
        for run in &r.runs {
            let t = run.tenants.as_ref().unwrap();
            a += t.arrivals[1..].iter().sum::<u64>();
            c += t.completed[1..].iter().sum::<u64>();
        }
        c as f64 / a as f64
    };
    let limited = run(&v);
    let mut open = v.clone();
    open["deployment"]
        .as_object_mut()
        .unwrap()
        .remove("rateLimit");
    let open = run(&open);
    assert!(quiet(&limited) > 0.99, "limited: {}", quiet(&limited));
    assert!(quiet(&open) < 0.8, "open: {}", quiet(&open));
    let noisy = |r: &ScenarioResult| r.runs[0].tenants.as_ref().unwrap().goodput[0].unwrap();
    assert!(noisy(&limited) < 0.6, "{}", noisy(&limited));
}

#[test]
fn shipped_diurnal_day_follows_its_profile() {
    let v = shipped("diurnal-day.json");
    let m = Model::from_value(&v, "diurnal-day.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let rows = &r.runs[0].series;
    let mut chi = 0.0;
    let mut prev = 0.0;
    for row in rows {
        let e = m.expected_arrivals(
            sim_core::Nanos::from_secs_f64(prev),
            sim_core::Nanos::from_secs_f64(row.time),
        );
        let o = (row.arrival_rate * (row.time - prev)).round();
        chi += (o - e).powi(2) / e;
        prev = row.time;
    }
    // 288 rows: chi-square mean 288, sd 24.
    assert!(chi < 400.0, "chi-square {chi:.0} over {} rows", rows.len());
    let peak = rows.iter().map(|r| r.arrival_rate).fold(0.0, f64::max);
    let trough = rows.iter().map(|r| r.arrival_rate).fold(f64::MAX, f64::min);
    assert!(peak > 4.0 * trough, "{peak} vs {trough}");
}

//! Random scenarios thrown at the engine: every strategy, wrapper, limit,
//! failure and resilience setting, combined at random, in short runs. None
//! may panic; every run must conserve requests and repeat byte for byte.
//! Then the same scenarios, mangled (values of the wrong type, keys
//! dropped, numbers pushed to extremes), must be refused or run, never
//! panic.
//!
//! `FLEETSIM_FUZZ_CASES` sets the number of scenarios (default 2,000);
//! `FLEETSIM_FUZZ_TRACE` prints each one before it runs.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use sim_core::{run_model, Model, RunOptions};
use strategies::StrategyKind;

fn cases() -> u64 {
    std::env::var("FLEETSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn pick<'a, T>(r: &mut Pcg64Mcg, items: &'a [T]) -> &'a T {
    &items[r.random_range(0..items.len())]
}

fn dur(ms: u64) -> String {
    format!("{ms}ms")
}

fn dist(r: &mut Pcg64Mcg, lo_ms: u64, hi_ms: u64) -> Value {
    let m = r.random_range(lo_ms..hi_ms).max(1);
    match r.random_range(0..7) {
        0 => json!({"dist": "constant", "value": dur(m)}),
        1 => json!({"dist": "exponential", "mean": dur(m)}),
        2 => json!({"dist": "lognormal", "median": dur(m), "p99": dur(m * r.random_range(2..20))}),
        3 => json!({"dist": "gamma", "shape": r.random_range(0.3..4.0), "mean": dur(m)}),
        4 => json!({"dist": "uniform", "min": dur(m / 2), "max": dur(m * 2)}),
        5 => json!({"dist": "pareto", "shape": r.random_range(1.2..3.0), "scale": dur(m / 2 + 1)}),
        _ => json!({"dist": "weibull", "shape": r.random_range(0.5..3.0), "scale": dur(m)}),
    }
}

/// A random valid scenario.
fn scenario(r: &mut Pcg64Mcg) -> Value {
    let duration_s = r.random_range(10..90u64);
    let mut regions = Map::new();
    let nregions = r.random_range(1..=3);
    let mut ids = Vec::new();
    let types = ["small", "large"];
    for k in 0..nregions {
        let name = format!("region-{k}");
        let n = r.random_range(1..=5u32);
        for i in 0..n {
            ids.push(format!("{name}/{i}"));
        }
        regions.insert(
            name,
            json!({"instances": n, "instanceType": pick(r, &types), "priority": r.random_range(0..3)}),
        );
    }
    let region_names: Vec<String> = regions.keys().cloned().collect();
    let mut workload = json!({
        "arrivals": {"ratePerSecond": r.random_range(1.0..120.0)},
        "request": {"llmCalls": r.random_range(0..=3), "cpuTime": dist(r, 1, 80)},
    });
    if r.random_bool(0.3) {
        workload["arrivals"]["steps"] = json!([
            {"at": dur(duration_s * 300), "ratePerSecond": r.random_range(0.0..200.0)}
        ]);
    }
    let users = r.random_bool(0.5);
    if users {
        let count = r.random_range(1..5_000u32);
        workload["users"] = json!({"count": count, "skew": r.random_range(0.0..1.5), "tenants": r.random_range(1..=count.min(20))});
    }
    let mut top = json!({
        "name": "fuzz",
        "run": {"seed": r.random::<u32>(), "duration": format!("{duration_s}s"),
                "warmup": format!("{}s", r.random_range(0..5)), "replications": r.random_range(1..=2)},
        "llm": {"models": {"m": {"latency": dist(r, 50, 3000),
                                 "errorRate": if r.random_bool(0.5) { r.random_range(0.0..0.3) } else { 0.0 }}}},
        "instanceTypes": {"small": {"slots": r.random_range(1..=8), "pricePerHour": 0.1},
                          "large": {"slots": r.random_range(1..=32), "pricePerHour": 0.4}},
    });
    if r.random_bool(0.4) {
        workload["clients"] = json!({"near": 0.5, "far": 0.5});
        let mut rtt = Map::new();
        for c in ["near", "far"] {
            let row: Map<String, Value> = region_names
                .iter()
                .map(|n| (n.clone(), json!(dur(r.random_range(1..200)))))
                .collect();
            rtt.insert(c.into(), Value::Object(row));
        }
        top["network"] = json!({"rtt": rtt});
    }
    top["workload"] = workload;

    // The balancer, its wrappers and weights.
    let kinds: Vec<StrategyKind> = StrategyKind::ALL.to_vec();
    let kind = *pick(r, &kinds);
    let mut lb = Map::new();
    let local = if kind == StrategyKind::Geographic {
        let local = *pick(
            r,
            &kinds
                .iter()
                .copied()
                .filter(|k| *k != StrategyKind::Geographic)
                .collect::<Vec<_>>(),
        );
        lb.insert("localStrategy".into(), json!(local.name()));
        if r.random_bool(0.5) {
            lb.insert("panicThreshold".into(), json!(r.random_range(0..=100)));
        }
        local
    } else {
        if let Some(a) = kind.algorithms().get(r.random_range(0..3)) {
            lb.insert("algorithm".into(), json!(a));
        }
        kind
    };
    lb.insert("strategy".into(), json!(kind.name()));
    let alg = lb
        .get("algorithm")
        .and_then(Value::as_str)
        .map(str::to_string);
    let honours = if kind == StrategyKind::Geographic {
        local.honours_weights(None)
    } else {
        kind.honours_weights(alg.as_deref())
    };
    if honours && r.random_bool(0.4) {
        let w = if r.random_bool(0.1) {
            u32::MAX
        } else {
            r.random_range(1..10)
        };
        lb.insert("weighted".into(), json!({ pick(r, &ids).clone(): w }));
    }
    if r.random_bool(0.25) {
        lb.insert(
            "canary".into(),
            json!({"percent": r.random_range(0.0..100.0), "instances": [pick(r, &ids)]}),
        );
    }
    let mut needs_users = local.needs_identity();
    if r.random_bool(0.25) {
        lb.insert(
            "sessionAffinity".into(),
            json!({"type": pick(r, &["cookie", "session", "ip"]), "ttl": dur(r.random_range(100..60_000)), "maxSessions": r.random_range(1..1000)}),
        );
        needs_users = true;
    }
    if needs_users && !users {
        top["workload"]["users"] = json!({"count": 500});
    }
    let users = users || needs_users;

    let mut deployment = json!({"regions": regions, "loadBalancing": lb});
    let d = deployment.as_object_mut().unwrap();
    if r.random_bool(0.4) {
        d.insert(
            "healthCheck".into(),
            json!({"interval": dur(r.random_range(1..20_000)), "timeout": dur(r.random_range(1..5_000)),
                   "unhealthyThreshold": r.random_range(1..4), "healthyThreshold": r.random_range(1..4)}),
        );
    }
    if r.random_bool(0.3) {
        d.insert(
            "outlierDetection".into(),
            json!({"consecutiveErrors": r.random_range(1..6), "interval": dur(r.random_range(1..10_000)),
                   "maxEjectionPercent": r.random_range(0..=100), "alwaysEjectOneHost": r.random_bool(0.5)}),
        );
    }
    if r.random_bool(0.3) {
        let ph = if r.random_bool(0.5) {
            json!({"type": "nginx", "maxFails": r.random_range(1..4), "failTimeout": dur(r.random_range(1..20_000)),
                   "countApplicationErrors": r.random_bool(0.5)})
        } else {
            json!({"type": "caddy", "maxFails": r.random_range(1..4), "failDuration": dur(r.random_range(1..30_000))})
        };
        d.insert("passiveHealth".into(), ph);
    }
    if r.random_bool(0.3) {
        let cb = if r.random_bool(0.5) {
            json!({"failureThreshold": r.random_range(1..6), "resetTimeout": dur(r.random_range(1..30_000)),
                   "halfOpenRequests": r.random_range(1..4), "timeout": dur(r.random_range(100..10_000))})
        } else {
            json!({"type": "failure-rate", "slidingWindowSize": r.random_range(1..50),
                   "minimumNumberOfCalls": r.random_range(1..50), "failureRateThreshold": r.random_range(1.0..100.0),
                   "resetTimeout": dur(r.random_range(1..30_000))})
        };
        d.insert("circuitBreaker".into(), cb);
    }
    if r.random_bool(0.3) {
        let strategy = *pick(
            r,
            &[
                "sliding-window",
                "sliding-window-log",
                "fixed-window",
                "token-bucket",
                "gcra",
            ],
        );
        let keys: &[&str] = if users {
            &["global", "user", "tenant", "ip"]
        } else {
            &["global"]
        };
        let mut rl = json!({"requests": r.random_range(1..200), "window": dur(r.random_range(10..60_000)),
                            "strategy": strategy, "key": pick(r, keys), "maxKeys": r.random_range(1..1000)});
        if matches!(strategy, "token-bucket" | "gcra") && r.random_bool(0.5) {
            rl["burst"] = json!(r.random_range(1..50));
        }
        d.insert("rateLimit".into(), rl);
    }
    if r.random_bool(0.3) {
        let jitter = *pick(r, &["full", "equal", "decorrelated", "none", "envoy"]);
        let base = r.random_range(1..500u64);
        let mut rt = json!({"maxAttempts": r.random_range(1..5),
                            "backoff": {"base": dur(base), "max": dur(base * r.random_range(1..20)), "jitter": jitter}});
        if r.random_bool(0.5) {
            rt["budget"] = json!({"percent": r.random_range(0.0..100.0), "minConcurrency": r.random_range(0..5)});
        }
        if r.random_bool(0.5) {
            let kinds: Vec<&str> = ["connect-failure", "timeout", "5xx"]
                .into_iter()
                .filter(|_| r.random_bool(0.6))
                .collect();
            if !kinds.is_empty() {
                rt["retryOn"] = json!(kinds);
            }
        }
        d.insert("retries".into(), rt);
    }
    if r.random_bool(0.5) {
        let mut limits = Map::new();
        for (k, v) in [
            ("maxConnections", json!(r.random_range(1..500))),
            ("maxConnectionsPerInstance", json!(r.random_range(1..50))),
            ("connectionTimeout", json!(dur(r.random_range(1..20_000)))),
            ("requestTimeout", json!(dur(r.random_range(1..60_000)))),
        ] {
            if r.random_bool(0.5) {
                limits.insert(k.into(), v);
            }
        }
        d.insert("limits".into(), Value::Object(limits));
    }
    let scaled = r.random_bool(0.35);
    if scaled {
        let max = r.random_range(1..12u32);
        let policy = match r.random_range(0..4) {
            0 => {
                let min = r.random_range(0..=1);
                let mut t = json!({"policy": "threshold", "minInstances": min, "maxInstances": max,
                        "targetConnections": r.random_range(0.5..8.0), "interval": dur(r.random_range(1_000..30_000)),
                        "cooldown": dur(r.random_range(0..60_000))});
                if min == 0 {
                    // Scale to zero needs a way back: the entry queue.
                    t["targetQueueDepth"] = json!(r.random_range(0.5..20.0));
                }
                t
            }
            1 => {
                let min = r.random_range(0..=1);
                let mut h = json!({"policy": "hpa", "minReplicas": min, "maxReplicas": max, "syncPeriod": dur(r.random_range(1_000..20_000)),
                        "metrics": [{"type": "Pods", "pods": {"metric": {"name": "connections"},
                                     "target": {"type": "AverageValue", "averageValue": format!("{}", r.random_range(1..8))}}}],
                        "behavior": {"scaleDown": {"stabilizationWindowSeconds": r.random_range(0..120)}}});
                if min == 0 {
                    h["metrics"].as_array_mut().unwrap().push(json!({"type": "External",
                        "external": {"metric": {"name": "queue_depth"},
                                     "target": {"type": "AverageValue", "averageValue": format!("{}", r.random_range(1..20))}}}));
                }
                h
            }
            2 => {
                json!({"policy": "target-tracking", "minCapacity": 1, "maxCapacity": max, "scaleOutDatapoints": 1,
                        "scaleInDatapoints": r.random_range(1..4), "evaluationPeriod": dur(r.random_range(1_000..60_000)),
                        "targets": [{"predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": r.random_range(10.0..600.0),
                                     "scaleOutCooldown": dur(r.random_range(0..60_000)), "scaleInCooldown": dur(r.random_range(0..60_000))}]})
            }
            _ => {
                json!({"policy": "queue", "minReplicaCount": r.random_range(0..=1), "maxReplicaCount": max,
                        "targetQueueLength": r.random_range(0.5..10.0), "pollingInterval": dur(r.random_range(1_000..30_000)),
                        "cooldownPeriod": dur(r.random_range(0..120_000))})
            }
        };
        deployment["scaling"] = policy;
        if r.random_bool(0.5) {
            deployment["metrics"] =
                json!({"collectionInterval": "5s", "window": dur(r.random_range(5_000..60_000))});
        }
        for t in ["small", "large"] {
            if r.random_bool(0.5) {
                top["instanceTypes"][t]["startupTime"] = json!(dur(r.random_range(0..60_000)));
            }
            if r.random_bool(0.5) {
                top["instanceTypes"][t]["drainTimeout"] = json!(dur(r.random_range(0..60_000)));
            }
            if r.random_bool(0.3) {
                top["instanceTypes"][t]["minimumBilledPeriod"] =
                    json!(dur(r.random_range(0..600_000)));
            }
        }
        if r.random_bool(0.3) {
            // Above what the initial fleet costs (at most 0.40 an instance).
            let floor = 0.4 * ids.len() as f64;
            deployment["budget"] = json!({"perHour": floor * r.random_range(1.0..2.5) + 0.01,
                                          "total": r.random_range(0.1..5.0)});
        }
        if r.random_bool(0.3) {
            let name = pick(r, &region_names).clone();
            deployment["regions"][&name]["maxInstances"] = json!(
                deployment["regions"][&name]["instances"].as_u64().unwrap() + r.random_range(0..4)
            );
        }
    }
    for t in ["small", "large"] {
        if r.random_bool(0.3) {
            top["instanceTypes"][t]["cpus"] = json!(r.random_range(0.25..4.0));
        }
        if r.random_bool(0.3) {
            top["instanceTypes"][t]["memory"] = json!("2Gi");
            top["instanceTypes"][t]["idleMemory"] = json!("256Mi");
            top["instanceTypes"][t]["memoryPerRequest"] =
                json!(format!("{}Mi", r.random_range(1..600)));
            if r.random_bool(0.5) {
                top["instanceTypes"][t]["oomKill"] = json!(true);
                top["instanceTypes"][t]["startupTime"] = json!(dur(r.random_range(0..30_000)));
            }
        }
    }
    if r.random_bool(0.2) {
        top["llm"]["models"]["m"]["pricePer1kInputTokens"] = json!(r.random_range(0.0001..0.01));
        top["workload"]["request"]["inputTokens"] =
            json!({"dist": "lognormal", "median": 800, "p99": 4000});
        // Tokens are counted on calls: a request that makes none has none.
        if top["workload"]["request"]["llmCalls"] == json!(0) {
            top["workload"]["request"]["llmCalls"] = json!(1);
        }
    }
    top["deployment"] = deployment;

    // Failures.
    let mut failures = Map::new();
    if r.random_bool(0.3) {
        failures.insert(
            "random".into(),
            json!({"meanTimeBetweenFailures": dur(r.random_range(1_000..120_000)),
                   "meanTimeToRepair": dur(r.random_range(1..30_000)), "mode": pick(r, &["crash", "hang"])}),
        );
    }
    let mut events = Vec::new();
    if scaled && r.random_bool(0.3) {
        events.push(json!({"type": "capacity-shortage", "region": pick(r, &region_names),
                           "at": dur(r.random_range(0..duration_s * 1000)), "duration": dur(r.random_range(1..duration_s * 1000))}));
    }
    for _ in 0..r.random_range(0..4) {
        let at = dur(r.random_range(0..duration_s * 1000));
        let len = dur(r.random_range(1..duration_s * 1000));
        events.push(match r.random_range(0..4) {
            0 => json!({"type": "instance-crash", "instance": pick(r, &ids), "at": at, "duration": len}),
            1 => json!({"type": "instance-hang", "instance": pick(r, &ids), "at": at, "duration": len}),
            2 => json!({"type": "slow-instance", "instance": pick(r, &ids), "at": at, "duration": len,
                        "factor": r.random_range(1.0..10.0)}),
            _ => json!({"type": "region-outage", "region": pick(r, &region_names), "at": at, "duration": len}),
        });
    }
    if !events.is_empty() {
        failures.insert("events".into(), Value::Array(events));
    }
    if !failures.is_empty() {
        top["failures"] = Value::Object(failures);
    }
    if r.random_bool(0.5) {
        top["slo"] = json!({"latency": {"p99": dur(r.random_range(100..60_000))}, "errorRate": r.random_range(0.0..0.2)});
    }
    // Wave two's mechanisms, from a stream of their own: bursts, and
    // closed-loop sessions of tenants, one of them noisy.
    let mut w = Pcg64Mcg::seed_from_u64(r.random());
    if w.random_bool(0.15) {
        let d = w.random_range(1_000..5_000u64);
        top["workload"]["arrivals"]["bursts"] = json!([{
            "at": dur(w.random_range(0..duration_s * 1000)), "duration": dur(d),
            "multiplier": w.random_range(0.0..5.0), "every": dur(d + w.random_range(1_000..20_000))}]);
    }
    if w.random_bool(0.15) {
        let count = w.random_range(4..400u32);
        let tenants = w.random_range(2..=4u32);
        let mut users = json!({"count": count, "tenants": tenants});
        if w.random_bool(0.5) {
            users["noisyTenant"] = json!({"tenant": w.random_range(0..tenants), "multiplier": w.random_range(1.0..20.0)});
        }
        top["workload"]["users"] = users;
        top["workload"]["sessions"] = json!({"thinkTime": dur(w.random_range(200..20_000))});
    }
    top
}

#[test]
fn random_valid_scenarios_conserve_requests_and_repeat_exactly() {
    let mut r = Pcg64Mcg::seed_from_u64(20_261_123);
    let trace = std::env::var_os("FLEETSIM_FUZZ_TRACE").is_some();
    for case in 0..cases() {
        let s = scenario(&mut r);
        let text = s.to_string();
        if trace {
            eprintln!("case {case}: {text}");
        }
        let m = Model::from_json(&text, format!("fuzz-{case}.json"))
            .unwrap_or_else(|e| panic!("case {case} should be valid: {e}\n{text}"));
        let a = run_model(&m, RunOptions::default())
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        for run in &a.runs {
            assert!(
                run.counts.conserved(),
                "case {case}: {:?}\n{text}",
                run.counts
            );
            assert!(
                run.reasons.consistent_with(&run.counts),
                "case {case}\n{text}"
            );
            // One row per whole interval, the last one kept whatever
            // else falls at its instant.
            let rows = (m.run.duration.0 / m.run.series_interval.0).max(1);
            assert_eq!(
                run.series.len() as u64,
                rows,
                "case {case}: series rows\n{text}"
            );
        }
        if case % 4 == 0 {
            let b = run_model(&m, RunOptions::default()).unwrap();
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap(),
                "case {case} is not deterministic\n{text}"
            );
        }
    }
}

/// Replaces one value somewhere in `v` with something a user might write
/// by mistake.
fn mangle(r: &mut Pcg64Mcg, v: &mut Value) {
    let wrong = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1e308),
        json!(-1e308),
        json!(4_294_967_296u64),
        json!(u64::MAX),
        json!(0.5),
        json!(""),
        json!("0s"),
        json!("1ns"),
        json!("9999999d"),
        json!("x"),
        json!([]),
        json!([1, 2]),
        json!({}),
        json!({"a": 1}),
    ];
    match v {
        Value::Object(m) if !m.is_empty() && r.random_bool(0.7) => {
            let k = m.keys().nth(r.random_range(0..m.len())).unwrap().clone();
            if r.random_bool(0.1) {
                m.remove(&k);
            } else {
                mangle(r, m.get_mut(&k).unwrap());
            }
        }
        Value::Array(a) if !a.is_empty() && r.random_bool(0.7) => {
            let i = r.random_range(0..a.len());
            mangle(r, &mut a[i]);
        }
        other => *other = pick(r, &wrong).clone(),
    }
}

#[test]
fn mangled_scenarios_are_refused_or_run_never_panic() {
    let trace = std::env::var_os("FLEETSIM_FUZZ_TRACE").is_some();
    let mut r = Pcg64Mcg::seed_from_u64(7);
    for case in 0..cases() / 2 {
        let mut s = scenario(&mut r);
        for _ in 0..r.random_range(1..4) {
            mangle(&mut r, &mut s);
        }
        // Keep accepted runs short: this test is about input handling.
        let text = s.to_string();
        if trace {
            eprintln!("mangled case {case}: {text}");
        }
        if let Ok(mut m) = Model::from_json(&text, "mangled.json") {
            m.run.duration = m.run.duration.min(sim_core::Nanos::from_secs(30));
            m.run.warmup = m.run.warmup.min(sim_core::Nanos::from_secs(1));
            if m.run.warmup >= m.run.duration {
                continue;
            }
            let res = run_model(&m, RunOptions::default())
                .unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
            assert!(res.pooled.counts.conserved(), "case {case}\n{text}");
        }
    }
}

/// A random trace line: well-formed fields, garbage, extremes, long or
/// unusual text, blanks and comments.
fn trace_line(r: &mut Pcg64Mcg, width: usize, t: &mut f64) -> String {
    let field = |r: &mut Pcg64Mcg, t: &mut f64| -> String {
        match r.random_range(0..14) {
            0..=5 => {
                *t += r.random::<f64>() * 2.0;
                format!("{t:.3}")
            }
            6 => r.random_range(0..50u32).to_string(),
            7 => String::new(),
            8 => pick(
                r,
                &[
                    "-1",
                    "1e400",
                    "NaN",
                    "inf",
                    "4294967295",
                    "-0",
                    "0x10",
                    "1_000",
                ],
            )
            .to_string(),
            9 => "é☃\u{0}".repeat(r.random_range(1..4)),
            10 => "9".repeat(r.random_range(30..3_000)),
            11 => pick(r, &["chat", "api", " chat ", "\"chat\""]).to_string(),
            12 => format!("{}", r.random::<u64>()),
            _ => pick(r, &["#", "# note", " ", "\r"]).to_string(),
        }
    };
    let n = match r.random_range(0..10) {
        0 => width + 1,
        1 => width.saturating_sub(1).max(1),
        _ => width,
    };
    (0..n).map(|_| field(r, t)).collect::<Vec<_>>().join(",")
}

/// Random trace files — real columns in random order, rows of every kind
/// of wrong — read row by row: each is read or refused with its line,
/// never a panic, and no error longer than a line of text.
#[test]
fn random_traces_are_read_or_refused_never_panic() {
    let dir = std::env::temp_dir().join(format!("fleetsim-fuzz-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.csv");
    let columns = [
        "time",
        "user",
        "tenant",
        "class",
        "input_tokens",
        "output_tokens",
    ];
    let classes = vec!["chat".to_string(), "api".to_string()];
    let mut r = Pcg64Mcg::seed_from_u64(0xF00D);
    let (mut read, mut refused) = (0u64, 0u64);
    for case in 0..cases().div_ceil(4) {
        let mut cols: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| *c == "time" || r.random_bool(0.4))
            .collect();
        if r.random_bool(0.05) {
            cols.push(*pick(&mut r, &["when", "time", ""]));
        }
        // Shuffle the header (Fisher-Yates on the test's own stream).
        for i in (1..cols.len()).rev() {
            cols.swap(i, r.random_range(0..=i));
        }
        let mut text = cols.join(",");
        let mut t = 0.0;
        for _ in 0..r.random_range(0..40) {
            text.push(if r.random_bool(0.02) { '\r' } else { '\n' });
            text.push_str(&trace_line(&mut r, cols.len(), &mut t));
        }
        if r.random_bool(0.7) {
            text.push('\n');
        }
        // A third as JSON lines: each row an object of the header's keys,
        // its fields as numbers or strings, some lines cut short.
        if r.random_bool(0.33) {
            let mut json = String::new();
            for line in text.split('\n').skip(1) {
                let mut members: Vec<String> = Vec::new();
                for (k, f) in line.split(',').enumerate() {
                    let key = cols.get(k).copied().unwrap_or("extra");
                    let value = if f.parse::<f64>().is_ok() && r.random_bool(0.7) {
                        f.to_string()
                    } else if r.random_bool(0.1) {
                        "[1, {\"a\": \"]\"}]".to_string()
                    } else {
                        serde_json::to_string(f).unwrap()
                    };
                    members.push(format!("{}: {value}", serde_json::to_string(key).unwrap()));
                }
                let mut obj = format!("{{{}}}", members.join(", "));
                if r.random_bool(0.05) {
                    let cut = r.random_range(0..obj.len());
                    if obj.is_char_boundary(cut) {
                        obj.truncate(cut);
                    }
                }
                json.push_str(&obj);
                json.push('\n');
            }
            if !json.is_empty() {
                text = json;
            }
        }
        // Some gzipped, some of those cut short.
        let bytes = if r.random_bool(0.2) {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            let mut gz = e.finish().unwrap();
            if r.random_bool(0.2) {
                gz.truncate(r.random_range(2..gz.len()));
            }
            gz
        } else {
            text.into_bytes()
        };
        std::fs::write(&path, &bytes).unwrap();
        let users = sim_core::trace::UserIds::Learn {
            count: Some(50),
            tenants: 2,
        };
        let outcome =
            sim_core::trace::TraceReader::open(&path, &classes, &Default::default(), users)
                .and_then(|mut rd| {
                    let mut rows = 0u64;
                    while rd.next_row()?.is_some() {
                        rows += 1;
                    }
                    Ok(rows)
                });
        match outcome {
            Ok(_) => read += 1,
            Err(e) => {
                refused += 1;
                assert!(
                    e.len() < 1_000,
                    "case {case}: an error of {} bytes",
                    e.len()
                );
                assert!(e.contains(" line "), "case {case}: no line in {e}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
}

//! The balancers on `scenarios/balancers-slow-instances.json`: two of ten
//! instances serve four times slower. Load-aware balancers route around
//! them; load-blind ones keep feeding them until requests time out; the
//! "fastest responder" and score-based balancers of the seed docs herd.

use sim_core::{run_model, Model, RunOptions, ScenarioResult};
use std::path::PathBuf;
use strategies::StrategyKind;

fn run_with(strategy: StrategyKind) -> ScenarioResult {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/balancers-slow-instances.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "\"strategy\": \"least-connections\"",
        &format!("\"strategy\": \"{}\"", strategy.name()),
    );
    let m = Model::from_json(&text, &path).unwrap();
    run_model(&m, RunOptions::default()).unwrap()
}

fn p99(r: &ScenarioResult) -> f64 {
    r.pooled.latency.p99.unwrap()
}

fn fairness(r: &ScenarioResult) -> f64 {
    r.summary
        .iter()
        .find(|m| m.metric == "fairness")
        .unwrap()
        .mean
        .unwrap()
}

#[test]
fn load_aware_balancers_route_around_slow_instances() {
    let blind = run_with(StrategyKind::RoundRobin);
    // Round robin gives each slow instance 4/s of work it serves at 2/s
    // (8 slots / 4s mean): its queue grows until requests time out.
    assert!(
        blind.pooled.reasons.request_timeout > 1_000,
        "{:?}",
        blind.pooled.reasons
    );
    assert!(!blind.pooled.slo.pass);
    for s in [
        StrategyKind::LeastConnections,
        StrategyKind::PowerOfTwo,
        StrategyKind::PeakEwma,
    ] {
        let r = run_with(s);
        assert!(r.pooled.slo.pass, "{s}: {:?}", r.pooled.slo);
        assert!(
            p99(&r) < p99(&blind) / 5.0,
            "{s}: p99 {} vs round robin {}",
            p99(&r),
            p99(&blind)
        );
        // They shift load off the slow pair, so request counts are uneven.
        assert!(fairness(&r) < 0.95, "{s}: fairness {}", fairness(&r));
    }
    let random = run_with(StrategyKind::Random);
    assert!(!random.pooled.slo.pass);
}

#[test]
fn first_and_score_based_balancers_herd() {
    // Caddy `first` sends everything to instance 0 while it is eligible.
    let first = run_with(StrategyKind::First);
    assert!(fairness(&first) < 0.15, "{}", fairness(&first));
    // The AgenticGoKit score favours whoever has no samples, then the
    // earliest best scorer: traffic piles onto few instances.
    let perf = run_with(StrategyKind::PerformanceBased);
    assert!(fairness(&perf) < 0.6, "{}", fairness(&perf));
    assert!(!perf.pooled.slo.pass);
}

fn hashing_scenario(users: u32, lb: &str) -> ScenarioResult {
    let text = format!(
        r#"{{
      "name": "hashing", "run": {{ "seed": 3, "duration": "20m" }},
      "workload": {{ "arrivals": {{ "ratePerSecond": 10 }}, "users": {{ "count": {users} }} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "200ms" }} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": 8 }} }},
      "deployment": {{ "regions": {{ "r": {{ "instances": 10 }} }}, "loadBalancing": {lb} }}
    }}"#
    );
    let m = Model::from_json(&text, "hashing.json").unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

#[test]
fn hashing_and_affinity_keep_a_client_on_one_instance() {
    // One user: every request lands on one of ten instances (fairness
    // 1/10) under ip-hash, consistent hashing (ring and Maglev) and sticky
    // sessions over round robin; plain round robin spreads it evenly.
    for lb in [
        r#"{ "strategy": "ip-hash" }"#,
        r#"{ "strategy": "consistent-hash" }"#,
        r#"{ "strategy": "consistent-hash", "algorithm": "maglev" }"#,
        r#"{ "strategy": "round-robin", "sessionAffinity": { "enabled": true, "type": "cookie", "ttl": "1h" } }"#,
        r#"{ "strategy": "least-connections", "sessionAffinity": { "type": "ip" } }"#,
    ] {
        let r = hashing_scenario(1, lb);
        assert!(
            (fairness(&r) - 0.1).abs() < 1e-9,
            "{lb}: fairness {}",
            fairness(&r)
        );
    }
    assert!(fairness(&hashing_scenario(1, r#"{ "strategy": "round-robin" }"#)) > 0.999);
    // Many users spread out again (the ring's 160 points per instance keep
    // shares within about 15% of even).
    let many = hashing_scenario(5_000, r#"{ "strategy": "consistent-hash" }"#);
    assert!(fairness(&many) > 0.95, "{}", fairness(&many));
}

#[test]
fn bounded_loads_cap_a_hot_key() {
    // Ten users, one of them sending most of the traffic (skew 3): plain
    // consistent hashing piles it on one instance; a balance factor of
    // 125% spreads the excess.
    let skewed = |lb: &str| {
        let text = format!(
            r#"{{
          "name": "bounded", "run": {{ "seed": 5, "duration": "20m" }},
          "workload": {{ "arrivals": {{ "ratePerSecond": 30 }}, "users": {{ "count": 10, "skew": 3 }} }},
          "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "500ms" }} }} }} }},
          "instanceTypes": {{ "t": {{ "slots": 8 }} }},
          "deployment": {{ "regions": {{ "r": {{ "instances": 5 }} }}, "loadBalancing": {lb} }}
        }}"#
        );
        run_model(
            &Model::from_json(&text, "b.json").unwrap(),
            RunOptions::default(),
        )
        .unwrap()
    };
    let plain = skewed(r#"{ "strategy": "consistent-hash" }"#);
    let bounded = skewed(r#"{ "strategy": "consistent-hash", "hashBalanceFactor": 125 }"#);
    assert!(
        fairness(&bounded) > fairness(&plain) + 0.2,
        "{} vs {}",
        fairness(&bounded),
        fairness(&plain)
    );
    assert!(
        p99(&bounded) < p99(&plain),
        "{} vs {}",
        p99(&bounded),
        p99(&plain)
    );
}

fn multi_region(edit: impl Fn(String) -> String) -> ScenarioResult {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/multi-region-failover.json");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    let m = Model::from_json(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    run_model(&m, RunOptions::default()).unwrap()
}

#[test]
fn geographic_routing_keeps_clients_near_and_fails_over() {
    let geo = multi_region(|t| t);
    let rr = multi_region(|t| {
        t.replace(
            r#""strategy": "geographic","#,
            r#""strategy": "round-robin""#,
        )
        .replace(
            r#""regions": ["us-east-1", "eu-west-1", "ap-southeast-1"],"#,
            "",
        )
        .replace(r#""localStrategy": "least-connections""#, "")
    });
    // Nearest region: most requests pay ~10ms instead of a mix up to 220ms.
    let (g, r) = (
        geo.pooled.latency.mean.unwrap(),
        rr.pooled.latency.mean.unwrap(),
    );
    assert!(g + 0.03 < r, "geographic mean {g} vs round robin {r}");
    // The outage takes two instances down for 5 minutes; health checks
    // (every 10s, 3 failures) notice within ~30s, and European clients
    // fail over. Only requests in that window fail.
    assert_eq!(
        geo.pooled.resilience.marked_unhealthy,
        2 * 2,
        "two instances, two replications"
    );
    let lost = geo.pooled.reasons.instance_down;
    assert!(lost > 0 && lost < 400, "lost {lost}");
    assert!(geo.pooled.slo.pass, "{:?}", geo.pooled.slo);
}

#[test]
fn canary_receives_its_percentage() {
    let r = hashing_scenario(
        1_000,
        r#"{ "strategy": "least-connections", "canary": { "percent": 10, "instances": ["r/9"] } }"#,
    );
    let run = &r.runs[0];
    let total: u64 = run.instances.iter().map(|i| i.requests).sum();
    let share = run.instances[9].requests as f64 / total as f64;
    // ~12,000 requests: sd of a 10% share is 0.0027; 5 sd = 0.014.
    assert!((share - 0.1).abs() < 0.014, "{share}");
}

#[test]
fn network_and_client_mistakes_are_named() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/multi-region-failover.json");
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to, want) in [
        (r#""eu": 0.4"#, r#""eu": 0.5"#, "workload.clients"),
        (r#""eu-west-1": "12ms", "#, "", "network.rtt.eu.eu-west-1"),
        (
            r#""regions": ["us-east-1", "#,
            r#""regions": ["us-east-2", "#,
            "deployment.loadBalancing.regions",
        ),
    ] {
        let bad = text.replacen(from, to, 1);
        let e = Model::from_json(&bad, &path).unwrap_err();
        assert_eq!(e.problems()[0].path, want, "{e}");
    }
}

//! Closed-loop sessions and noisy tenants: the machine-repairman queue
//! (M/M/c//N) checked against its exact mean response time, a slow fleet
//! slowing its own arrivals, turns and pauses between sessions, and a noisy
//! tenant's share of the traffic.

use sim_core::{run_model, Model, RunOptions};

fn closed(users: u32, think: &str, slots: u32, service: &str, hours: u32) -> String {
    format!(
        r#"{{
      "name": "closed", "run": {{ "duration": "{hours}h", "warmup": "1h", "seed": 3, "replications": 4 }},
      "workload": {{
        "users": {{ "count": {users} }},
        "sessions": {{ "thinkTime": {{ "dist": "exponential", "mean": "{think}" }} }} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "{service}" }} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": {slots} }} }},
      "deployment": {{ "regions": {{ "r": {{ "instances": 1 }} }} }}
    }}"#
    )
}

/// Mean response time of the finite-source queue M/M/c//N: `n` users
/// thinking `z` seconds on average, `c` servers of mean service `s`.
/// Stationary law `p_k ~ C(n,k) k!/(min(k,c)! c^max(k-c,0)) (s/z)^k`;
/// `R = L / X` with throughput `X = sum p_k min(k,c) / s` (Little).
fn repairman(n: u32, z: f64, c: u32, s: f64) -> f64 {
    let r = s / z;
    let mut w = vec![1.0f64];
    for k in 1..=n {
        // p_k / p_{k-1} = (n - k + 1) r / min(k, c).
        let prev = w[(k - 1) as usize];
        w.push(prev * f64::from(n - k + 1) * r / f64::from(k.min(c)));
    }
    let total: f64 = w.iter().sum();
    let l: f64 = w.iter().enumerate().map(|(k, p)| k as f64 * p).sum::<f64>() / total;
    let x: f64 = w
        .iter()
        .enumerate()
        .map(|(k, p)| p * f64::from((k as u32).min(c)) / s)
        .sum::<f64>()
        / total;
    l / x
}

fn mean_latency(text: &str) -> (f64, sim_core::ScenarioResult) {
    let m = Model::from_json(text, "closed.json").unwrap_or_else(|e| panic!("{e}"));
    let r = run_model(&m, RunOptions::default()).unwrap();
    (r.pooled.latency.mean.unwrap(), r)
}

#[test]
fn the_closed_loop_matches_the_machine_repairman_model() {
    for (users, think, slots, service) in [(20, 10.0, 4, 2.0), (40, 10.0, 4, 2.0), (8, 5.0, 1, 1.0)]
    {
        let exact = repairman(users, think, slots, service);
        let text = closed(
            users,
            &format!("{think}s"),
            slots,
            &format!("{service}s"),
            40,
        );
        let (mean, r) = mean_latency(&text);
        let err = (mean - exact).abs() / exact;
        eprintln!("N={users} c={slots}: simulated {mean:.4}s, exact {exact:.4}s");
        assert!(
            err < 0.02,
            "N={users} c={slots}: simulated {mean:.4}s, exact {exact:.4}s ({:.2}% off)",
            err * 100.0
        );
        for run in &r.runs {
            assert!(run.counts.conserved());
            // A closed loop never holds more requests than it has users.
            assert!(
                run.engine.peak_requests <= u64::from(users),
                "{}",
                run.engine.peak_requests
            );
        }
    }
    // The formula itself: one server, one user, no waiting.
    assert!((repairman(1, 10.0, 1, 2.0) - 2.0).abs() < 1e-12);
    // Saturated: R -> N s / c - z.
    assert!((repairman(200, 10.0, 4, 2.0) - 90.0).abs() < 0.01);
}

#[test]
fn a_slow_fleet_slows_its_own_arrivals() {
    let fast = closed(40, "10s", 8, "2s", 4);
    let slow = closed(40, "10s", 2, "2s", 4);
    let (_, f) = mean_latency(&fast);
    let (_, s) = mean_latency(&slow);
    let (af, as_) = (
        f.pooled.counts.arrivals as f64,
        s.pooled.counts.arrivals as f64,
    );
    // Fast: about 40 / (10 + 2) = 3.3/s; slow: capped near 2 slots / 2s = 1/s.
    assert!(as_ < 0.4 * af, "{as_} vs {af}");
    assert_eq!(
        s.pooled.counts.rejected, 0,
        "a closed loop does not overflow"
    );
}

#[test]
fn turns_and_pauses_between_sessions_set_the_rate() {
    let text = r#"{
      "name": "turns", "run": { "duration": "10h", "warmup": "30m", "seed": 9 },
      "workload": {
        "users": { "count": 100 },
        "sessions": { "thinkTime": "5s", "turns": 4,
                      "betweenSessions": "105s" } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
      "instanceTypes": { "t": { "slots": 100 } },
      "deployment": { "regions": { "r": { "instances": 1 } } }
    }"#;
    let m = Model::from_json(text, "turns.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    // A session: 105s pause, then 4 turns of 1s with 5s thinks between:
    // 105 + 4 + 15 = 124s for 4 requests per user.
    let rate = r.runs[0].counts.arrivals as f64 / (9.5 * 3600.0);
    let expected = 100.0 * 4.0 / 124.0;
    assert!(
        (rate - expected).abs() / expected < 0.01,
        "{rate} vs {expected}"
    );
}

const NOISY: &str = r#"{
  "name": "noisy", "run": { "duration": "2h", "seed": 4 },
  "workload": { "arrivals": { "ratePerSecond": 8 },
    "users": { "count": 1000, "tenants": 4, "noisyTenant": { "tenant": 2, "multiplier": 5 } } },
  "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "10ms" } } } },
  "instanceTypes": { "t": { "slots": 100 } },
  "deployment": { "regions": { "r": { "instances": 1 } } }
}"#;

#[test]
fn a_noisy_tenant_sends_its_multiple() {
    let m = Model::from_json(NOISY, "noisy.json").unwrap();
    let r = run_model(&m, RunOptions::default()).unwrap();
    let t = r.runs[0].tenants.as_ref().unwrap();
    let total: u64 = t.arrivals.iter().sum();
    // Weights 1, 1, 5, 1: the noisy tenant sends 5/8 of the traffic.
    let share = t.arrivals[2] as f64 / total as f64;
    assert!((share - 0.625).abs() < 0.01, "{share} of {total}");
    for k in [0, 1, 3] {
        let s = t.arrivals[k] as f64 / total as f64;
        assert!((s - 0.125).abs() < 0.01, "tenant {k}: {s}");
    }
    // The same tenant in a closed loop thinks five times faster.
    let text = closed(400, "20s", 400, "1s", 3).replace(
        r#""count": 400 }"#,
        r#""count": 400, "tenants": 4, "noisyTenant": { "multiplier": 5 } }"#,
    );
    let (_, r) = mean_latency(&text);
    let t = r.runs[0].tenants.as_ref().unwrap();
    // Per user: 1/(20+1) against 1/(4+1) requests a second.
    let ratio = t.arrivals[0] as f64 / t.arrivals[1] as f64;
    assert!((ratio - 21.0 / 5.0).abs() < 0.2, "{ratio}");
}

#[test]
fn sessions_and_tenants_refuse_what_cannot_apply() {
    let cases = [
        (
            closed(10, "1s", 1, "1s", 2).replace(r#""users": { "count": 10 },"#, ""),
            "workload.sessions",
        ),
        (
            closed(10, "1s", 1, "1s", 2)
                .replace(r#""thinkTime""#, r#""betweenSessions": "1m", "thinkTime""#),
            "workload.sessions.betweenSessions",
        ),
        (
            NOISY.replace(r#""tenants": 4, "#, ""),
            "workload.users.noisyTenant",
        ),
        (
            NOISY.replace(r#""tenant": 2"#, r#""tenant": 4"#),
            "workload.users.noisyTenant.tenant",
        ),
        (
            NOISY.replace(r#""count": 1000"#, r#""count": 1000, "skew": 1.1"#),
            "workload.users.noisyTenant",
        ),
        (
            NOISY.replace(r#""arrivals": { "ratePerSecond": 8 },"#, ""),
            "workload.arrivals",
        ),
    ];
    for (text, path) in cases {
        let e = Model::from_json(&text, "bad.json").unwrap_err().to_string();
        assert!(e.contains(path), "{path}: {e}");
    }
}

#[test]
fn a_think_time_of_zero_is_refused() {
    let text = closed(10, "1s", 2, "1s", 2).replace(
        r#""thinkTime": { "dist": "exponential", "mean": "1s" }"#,
        r#""thinkTime": "0s""#,
    );
    let e = Model::from_json(&text, "zero.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("workload.sessions.thinkTime"), "{e}");
}

/// A noisy tenant's users think `multiplier` times faster: a multiplier
/// that shrinks the think time below the shortest pause that can be
/// simulated is refused, since a user asking again at once (refused at
/// once) would stop simulated time. It used to pass `validate` and hang
/// `run` (a 1ms think time, multiplier 1e12).
#[test]
fn a_noisy_multiplier_that_shrinks_the_think_time_to_nothing_is_refused() {
    let with = |think: &str, mult: &str| {
        closed(40, think, 4, "1s", 2).replace(
            r#""count": 40 }"#,
            &format!(r#""count": 40, "tenants": 4, "noisyTenant": {{ "multiplier": {mult} }} }}"#),
        )
    };
    for (think, mult) in [("1ms", "1e12"), ("1ms", "1000"), ("100ms", "1000")] {
        let e = Model::from_json(&with(think, mult), "noisy.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("workload.users.noisyTenant.multiplier")
                && e.contains("workload.sessions.thinkTime")
                && e.contains("at most"),
            "{think} / {mult}: {e}"
        );
    }
    // Above the shortest pause it runs.
    Model::from_json(&with("100ms", "50"), "noisy.json").unwrap();
}

/// A class's own think time is held to the same floor as the workload's.
#[test]
fn a_class_think_time_too_short_to_simulate_is_refused() {
    let text = closed(10, "1s", 2, "1s", 2).replace(
        r#""users": { "count": 10 },"#,
        r#""classes": { "chat": { "share": 1, "sessions": { "thinkTime": "100us" } },
                        "api": { "share": 1 } },
        "users": { "count": 10 },"#,
    );
    let e = Model::from_json(&text, "class.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("workload.classes.chat.sessions.thinkTime"),
        "{e}"
    );
}

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

/// Sessions of 2 to 10 turns with an LLM that fails `error_rate` of its
/// calls, users giving up after `abandon` failed turns when given.
fn chat(error_rate: f64, abandon: Option<u32>) -> Model {
    let abandon = abandon.map_or(String::new(), |n| format!(r#", "abandonAfterErrors": {n}"#));
    let json = format!(
        r#"{{
      "name": "chat", "run": {{ "duration": "2h", "warmup": "10m", "seed": 5, "replications": 2 }},
      "workload": {{
        "users": {{ "count": 200 }},
        "sessions": {{
          "thinkTime": {{ "dist": "exponential", "mean": "10s" }},
          "turns": {{ "dist": "uniform", "min": 2, "max": 10 }},
          "betweenSessions": {{ "dist": "exponential", "mean": "2m" }}{abandon} }} }},
      "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "exponential", "mean": "1s" }}, "errorRate": {error_rate} }} }} }},
      "instanceTypes": {{ "t": {{ "slots": 8 }} }},
      "deployment": {{ "regions": {{ "r": {{ "instances": 4 }} }} }}
    }}"#
    );
    Model::from_json(&json, "chat.json").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn session_results_add_up() {
    let r = run_model(&chat(0.02, None), RunOptions::default()).unwrap();
    for run in &r.runs {
        let s = run
            .sessions
            .as_ref()
            .expect("a workload with sessions has results");
        assert!(s.started > 500, "{}", s.started);
        assert_eq!(s.completed + s.abandoned + s.in_progress, s.started);
        assert_eq!(s.abandoned, 0, "nobody gives up without abandonAfterErrors");
        // At most one session per user is still going.
        assert!(s.in_progress <= 200 && s.in_progress > 0);
        let t = &s.turns_per_session;
        assert_eq!(t.sessions, s.completed + s.abandoned);
        assert!(t.p50.unwrap() >= 2 && t.max.unwrap() <= 10, "{t:?}");
        let mean = t.mean.unwrap();
        assert!((mean - 6.0).abs() < 0.3, "uniform 2..10 turns: {mean}");
        // Each turn completed or failed; completed ones have a latency.
        assert_eq!(s.turn_latency.count + s.failed_turns, s.turns);
        assert!(s.failed_turns > 0);
        // A session lasts at least its turns' thinking: (turns - 1) * 10s
        // on average, plus its answers.
        let d = s.duration.p50.unwrap();
        assert!(d > 40.0 && d < 120.0, "{d}");
        assert!(s.duration.count == t.sessions);
        // The turns are the requests of the measured window (sessions that
        // began in the warm-up aside), within a few percent.
        let arrivals = run.counts.arrivals as f64;
        assert!((s.turns as f64 - arrivals).abs() / arrivals < 0.05);
    }
    let pooled = r.pooled.sessions.as_ref().unwrap();
    assert_eq!(
        pooled.started,
        r.runs
            .iter()
            .map(|x| x.sessions.as_ref().unwrap().started)
            .sum::<u64>()
    );
    let names: Vec<&str> = r.summary.iter().map(|m| m.metric.as_str()).collect();
    assert!(names.contains(&"sessions.completed") && names.contains(&"sessions.turnLatency.p99"));
}

#[test]
fn users_abandon_sessions_after_failed_turns() {
    let keep = run_model(&chat(0.3, None), RunOptions::default()).unwrap();
    let quit = run_model(&chat(0.3, Some(1)), RunOptions::default()).unwrap();
    let (k, q) = (
        keep.pooled.sessions.as_ref().unwrap(),
        quit.pooled.sessions.as_ref().unwrap(),
    );
    assert_eq!(k.abandoned, 0);
    assert!(q.abandoned > q.completed / 2, "{} abandoned", q.abandoned);
    assert_eq!(q.completed + q.abandoned + q.in_progress, q.started);
    // A session ends at its first failed turn: fewer turns per session,
    // and none with more than one failure.
    assert!(q.turns_per_session.mean.unwrap() < k.turns_per_session.mean.unwrap() - 1.0);
    assert!(q.failed_turns <= q.completed + q.abandoned + q.in_progress);
    let rate = q.abandon_rate().unwrap();
    assert!(rate > 0.5 && rate < 1.0, "{rate}");
}

#[test]
fn abandonment_needs_a_count_and_turns() {
    let bad = |sessions: &str| {
        let json = format!(
            r#"{{ "name": "x", "run": {{ "duration": "1h" }},
          "workload": {{ "users": {{ "count": 10 }}, "sessions": {sessions} }},
          "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "1s" }} }} }} }},
          "instanceTypes": {{ "t": {{ "slots": 2 }} }},
          "deployment": {{ "regions": {{ "r": {{ "instances": 1 }} }} }} }}"#
        );
        Model::from_json(&json, "x.json").unwrap_err().to_string()
    };
    let e = bad(r#"{ "thinkTime": "5s", "turns": 3, "abandonAfterErrors": 0 }"#);
    assert!(
        e.contains("workload.sessions.abandonAfterErrors") && e.contains("at least 1"),
        "{e}"
    );
    let e = bad(r#"{ "thinkTime": "5s", "abandonAfterErrors": 2 }"#);
    assert!(
        e.contains("workload.sessions.abandonAfterErrors") && e.contains("turns"),
        "{e}"
    );
}

#[test]
fn a_workload_without_sessions_has_no_session_results() {
    let json = r#"{ "name": "open", "run": { "duration": "10m" },
      "workload": { "arrivals": { "ratePerSecond": 1 } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
      "instanceTypes": { "t": { "slots": 2 } },
      "deployment": { "regions": { "r": { "instances": 1 } } } }"#;
    let r = run_model(
        &Model::from_json(json, "o.json").unwrap(),
        RunOptions::default(),
    )
    .unwrap();
    assert!(r.runs[0].sessions.is_none() && r.pooled.sessions.is_none());
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("\"sessions") && !text.contains("turnLatency"));
}

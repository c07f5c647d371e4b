//! Workload shapes: ramps, a diurnal swing and bursts draw arrivals at
//! exactly the rate the profile gives, window by window.

use sim_core::{run_model, Model, Nanos, RunOptions};

const SHAPED: &str = r#"{
  "name": "shapes", "run": { "duration": "6h", "seed": 11, "seriesInterval": "1m" },
  "workload": { "arrivals": {
    "ratePerSecond": 20,
    "steps": [
      { "at": "1h", "ratePerSecond": 60, "ramp": "1h" },
      { "at": "4h", "ratePerSecond": 10, "ramp": "30m" },
      { "at": "5h", "ratePerSecond": 30 } ],
    "diurnal": { "period": "2h", "peakAt": "30m", "amplitude": 0.5 },
    "bursts": [ { "at": "10m", "duration": "5m", "multiplier": 3, "every": "40m" },
                { "at": "3h", "duration": "20m", "multiplier": 0.2 } ] } },
  "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1ms" } } } },
  "instanceTypes": { "t": { "slots": 1000 } },
  "deployment": { "regions": { "r": { "instances": 1 } } }
}"#;

/// The profile written out by hand, independently of the engine's code.
fn rate(t: f64) -> f64 {
    let h = 3600.0;
    let base = if t < h {
        20.0
    } else if t < 2.0 * h {
        20.0 + 40.0 * (t - h) / h
    } else if t < 4.0 * h {
        60.0
    } else if t < 4.5 * h {
        60.0 - 50.0 * (t - 4.0 * h) / (0.5 * h)
    } else if t < 5.0 * h {
        10.0
    } else {
        30.0
    };
    let diurnal = 1.0 + 0.5 * (std::f64::consts::TAU * (t - 1800.0) / (2.0 * h)).cos();
    let since = t - 600.0;
    let burst = if since >= 0.0 && since % 2400.0 < 300.0 {
        3.0
    } else {
        1.0
    };
    let dip = if (3.0 * h..3.0 * h + 1200.0).contains(&t) {
        0.2
    } else {
        1.0
    };
    base * diurnal * burst * dip
}

/// Expected arrivals in `[a, b)` seconds (midpoint rule, 1s steps).
fn expected(a: f64, b: f64, rate: impl Fn(f64) -> f64) -> f64 {
    let n = ((b - a) as usize).max(1) * 4;
    let h = (b - a) / n as f64;
    (0..n).map(|k| rate(a + (k as f64 + 0.5) * h) * h).sum()
}

fn windows(m: &Model) -> Vec<(f64, f64)> {
    let r = run_model(m, RunOptions::default()).unwrap();
    let run = &r.runs[0];
    assert!(run.counts.conserved());
    let mut prev = 0.0;
    run.series
        .iter()
        .map(|row| {
            let count = (row.arrival_rate * (row.time - prev)).round();
            let w = (prev, count);
            prev = row.time;
            w
        })
        .collect()
}

fn chi_square(m: &Model, rate: impl Fn(f64) -> f64 + Copy) -> (f64, f64, usize) {
    let mut chi = 0.0;
    let mut worst: f64 = 0.0;
    let w = windows(m);
    for &(start, count) in &w {
        let e = expected(start, start + 60.0, rate);
        chi += (count - e).powi(2) / e;
        worst = worst.max((count - e).abs() / e.sqrt());
    }
    (chi, worst, w.len())
}

#[test]
fn arrivals_per_window_follow_ramps_diurnal_and_bursts() {
    let m = Model::from_json(SHAPED, "shapes.json").unwrap();
    assert!(m.rate_varies());
    let (chi, worst, k) = chi_square(&m, rate);
    assert_eq!(k, 360, "one row a minute for six hours");
    eprintln!("chi-square {chi:.1} over {k} windows, worst {worst:.2} sd");
    // Chi-square with 360 degrees of freedom: mean 360, sd 26.8; its
    // 99.99th percentile is about 463.
    assert!(chi < 470.0, "chi-square {chi:.0} over {k} windows");
    assert!(worst < 5.0, "a window {worst:.1} sd off its expected count");
    // The same counts judged against the profile without its shape fail
    // badly: the test can tell a wrong profile apart.
    let flat = |t: f64| if t < 3600.0 { 20.0 } else { 40.0 };
    let (chi_flat, _, _) = chi_square(&m, flat);
    assert!(
        chi_flat > 20.0 * chi,
        "against a flat profile: {chi_flat:.0}"
    );
}

#[test]
fn the_model_integrates_its_own_profile() {
    let m = Model::from_json(SHAPED, "shapes.json").unwrap();
    let six_hours = Nanos::from_secs(6 * 3600);
    let ours = m.expected_arrivals(Nanos::ZERO, six_hours);
    let by_hand = expected(0.0, 6.0 * 3600.0, rate);
    assert!(
        (ours - by_hand).abs() / by_hand < 1e-3,
        "{ours} vs {by_hand}"
    );
    for t in [0.0, 700.0, 5000.0, 11_000.0, 15_000.0, 17_000.0, 20_000.0] {
        let a = m.rate_at(Nanos::from_secs_f64(t));
        assert!(
            (a - rate(t)).abs() < 1e-6 * rate(t).max(1.0),
            "at {t}s: {a} vs {}",
            rate(t)
        );
    }
}

#[test]
fn a_plain_step_profile_is_drawn_step_by_step() {
    // Without ramps, swing or bursts the engine keeps its step-by-step
    // inversion, whose arrivals the shipped baselines were made with.
    let text = r#"{
      "name": "steps", "run": { "duration": "2h", "seed": 11 },
      "workload": { "arrivals": { "ratePerSecond": 20,
        "steps": [ { "at": "1h", "ratePerSecond": 60 } ] } },
      "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1ms" } } } },
      "instanceTypes": { "t": { "slots": 1000 } },
      "deployment": { "regions": { "r": { "instances": 1 } } }
    }"#;
    let m = Model::from_json(text, "steps.json").unwrap();
    assert!(!m.rate_varies());
    let e = m.expected_arrivals(Nanos::ZERO, m.run.duration);
    assert!((e - 288_000.0).abs() < 1e-6, "{e}");
    let r = run_model(&m, RunOptions::default()).unwrap();
    let a = r.runs[0].counts.arrivals as f64;
    assert!((a - e).abs() < 5.0 * e.sqrt(), "{a} vs {e}");
}

#[test]
fn shapes_reject_what_cannot_apply() {
    let bad = [
        (
            r#""amplitude": 0.5"#,
            r#""amplitude": 1.5"#,
            "workload.arrivals.diurnal.amplitude",
        ),
        (
            r#""every": "40m""#,
            r#""every": "4m""#,
            "workload.arrivals.bursts[0].every",
        ),
        (
            r#""ramp": "1h""#,
            r#""ramp": "4h""#,
            "workload.arrivals.steps[1].at",
        ),
        (
            r#""ramp": "1h""#,
            r#""ramp": "0s""#,
            "workload.arrivals.steps[0].ramp",
        ),
        (
            r#""at": "3h", "duration""#,
            r#""at": "7h", "duration""#,
            "workload.arrivals.bursts[1].at",
        ),
        (
            r#""multiplier": 3"#,
            r#""multiplier": -1"#,
            "workload.arrivals.bursts[0].multiplier",
        ),
        (
            r#""duration": "5m", "multiplier": 3, "every": "40m""#,
            r#""duration": "1us", "multiplier": 3, "every": "2us""#,
            "workload.arrivals.bursts[0].duration",
        ),
    ];
    for (from, to, path) in bad {
        let text = SHAPED.replacen(from, to, 1);
        assert_ne!(text, SHAPED, "{from}");
        let e = Model::from_json(&text, "bad.json").unwrap_err().to_string();
        assert!(e.contains(path), "{to}: {e}");
    }
}

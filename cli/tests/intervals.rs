//! Every interval fleetsim prints or writes stays inside its metric's
//! range: shares and Jain's indices in [0, 1], latencies, counts and costs
//! at 0 or more. Scans the outputs of every shipped sweep (each reduced to
//! two values per axis and three seeds), of `compare` and of `run` on
//! shipped scenarios.

mod common;

use common::{fleetsim, scratch, text};
use reports::catalogue::CATALOGUE;
use serde_json::Value;
use sim_core::Bounds;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The range of a catalogue column (`latency_p99_s`).
fn column_bounds(column: &str) -> Bounds {
    CATALOGUE
        .iter()
        .find(|m| m.column == column)
        .unwrap_or_else(|| panic!("{column} is not in the catalogue"))
        .bounds()
}

/// The range of a run summary's metric, said here independently of the
/// code under test: a metric the run summary adds must be listed.
fn summary_bounds(metric: &str) -> Bounds {
    match metric {
        m if m.starts_with("latency.") => Bounds::NonNegative,
        "errorRate" | "utilization" | "fairness" | "cpuUtilization" | "memoryUtilization" => {
            Bounds::Share
        }
        "throughputPerSecond"
        | "meanInSystem"
        | "instanceHours"
        | "cost"
        | "llmCost"
        | "totalCost"
        | "costPerHour"
        | "costPer1kRequests" => Bounds::NonNegative,
        other => panic!("the run summary's `{other}` has no range in this test: add it"),
    }
}

fn check(what: &str, bounds: Bounds, mean: Option<f64>, lo: Option<f64>, hi: Option<f64>) {
    for (end, v) in [("mean", mean), ("low", lo), ("high", hi)] {
        if let Some(v) = v {
            assert!(
                bounds.holds(v),
                "{what}: the {end} {v} leaves the range {:?} of a {bounds:?} metric",
                bounds.range()
            );
        }
    }
    if let (Some(l), Some(h)) = (lo, hi) {
        assert!(l <= h, "{what}: interval {l}..{h} upside down");
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// A sweep's `points.csv`: each `X_mean`, `X_ci_low`, `X_ci_high` triple.
fn scan_points_csv(path: &Path) -> usize {
    let t = std::fs::read_to_string(path).unwrap();
    let mut lines = t.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut checked = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), head.len(), "{}: {line}", path.display());
        for (i, h) in head.iter().enumerate() {
            let Some(column) = h.strip_suffix("_mean") else {
                continue;
            };
            let get = |name: String| {
                let j = head.iter().position(|x| *x == name).unwrap();
                cells[j].parse::<f64>().ok()
            };
            check(
                &format!("{} {column}", path.display()),
                column_bounds(column),
                cells[i].parse().ok(),
                get(format!("{column}_ci_low")),
                get(format!("{column}_ci_high")),
            );
            checked += 1;
        }
    }
    checked
}

/// A sweep file reduced to its first two values per axis and three seeds,
/// its scenario made absolute.
fn reduced(sweep: &Path) -> Value {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(sweep).unwrap()).unwrap();
    let dir = sweep.parent().unwrap();
    v["scenario"] = Value::String(s(&dir.join(v["scenario"].as_str().unwrap())));
    v["seeds"] = 3.into();
    for (_, values) in v["axes"].as_object_mut().unwrap().iter_mut() {
        *values = match values.take() {
            Value::Array(xs) => Value::Array(xs.into_iter().take(2).collect()),
            Value::String(r) => {
                let (lo, rest) = r.split_once("..").expect("a range");
                let lo: i64 = lo.parse().unwrap();
                let step: i64 = rest
                    .split_once('/')
                    .map_or(1, |(_, st)| st.parse().unwrap());
                serde_json::json!([lo, lo + step])
            }
            other => other,
        };
    }
    v
}

#[test]
fn every_shipped_sweep_writes_intervals_inside_their_range() {
    let d = scratch("interval-sweeps");
    let mut sweeps: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios/sweeps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    sweeps.sort();
    assert!(sweeps.len() >= 3, "{sweeps:?}");
    for sweep in sweeps {
        let name = sweep.file_stem().unwrap().to_string_lossy().into_owned();
        let file = d.join(format!("{name}.json"));
        std::fs::write(&file, reduced(&sweep).to_string()).unwrap();
        let out = d.join(&name);
        let o = fleetsim(&["sweep", &s(&file), "--out", &s(&out), "--quiet"]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        assert!(scan_points_csv(&out.join("points.csv")) > 100, "{name}");
        // The table the sweep prints: no negative end, no share over 100%.
        scan_text(&name, &text(&o.stdout));
    }
}

/// Printed tables: no interval end below 0 (`±-`, `(-`, `–-`) and no
/// share outside 0–100% in the cells of a table row.
fn scan_text(what: &str, t: &str) {
    for line in t.lines() {
        for bad in ["(-", "–-", "– -", "±-", "± -0", "± -1"] {
            assert!(
                !line.contains(bad),
                "{what}: a negative interval end in: {line}"
            );
        }
        // Table rows (not the sentences under them, whose percentages
        // are ratios between options, nor the offered load, a ratio of
        // demand to capacity that may well pass 100%).
        let l = line.trim_start();
        if l.starts_with("- ")
            || line.contains("beats")
            || l.starts_with("offered load")
            || l.starts_with("warning:")
        {
            continue;
        }
        for token in line.split(|c: char| c.is_whitespace() || "()–±".contains(c)) {
            if let Some(p) = token.strip_suffix('%') {
                if let Ok(x) = p.parse::<f64>() {
                    assert!(
                        (0.0..=100.0).contains(&x),
                        "{what}: a share of {x}% in: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn compare_and_run_write_intervals_inside_their_range() {
    let d = scratch("interval-compare");
    let scen = root().join("scenarios");
    let out = d.join("compare");
    let o = fleetsim(&[
        "compare",
        &s(&scen.join("balancers-slow-instances.json")),
        "--strategies",
        "least-connections,round-robin,first",
        "--seeds",
        "3",
        "--out",
        &s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    scan_text("compare", &text(&o.stdout));
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap();
    let mut cells = 0;
    for opt in m["options"].as_array().unwrap() {
        for c in opt["cells"].as_array().unwrap() {
            let column = c["metric"].as_str().unwrap();
            check(
                &format!("matrix.json {column}"),
                column_bounds(column),
                num(&c["mean"]),
                num(&c["ci95Low"]),
                num(&c["ci95High"]),
            );
            cells += 1;
        }
    }
    assert!(cells >= 30, "{cells}");
    // round-robin misses the SLO on every seed, least-connections meets
    // it: Wilson's interval, inside [0, 1], with an interval even so.
    let slo = |name: &str| -> Value {
        let o = m["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap();
        o["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metric"] == "slo_pass")
            .unwrap()
            .clone()
    };
    assert_eq!(slo("round-robin")["ci95Low"], 0.0);
    assert!(slo("round-robin")["ci95High"].as_f64().unwrap() > 0.2);
    assert!(slo("least-connections")["ci95Low"].as_f64().unwrap() < 0.8);
    assert!(scan_points_csv(&out.join("points.csv")) > 30);

    for file in [
        "quickstart.json",
        "balancers-slow-instances.json",
        "autoscaling-spike.json",
        "multi-region-failover.json",
    ] {
        let path = s(&scen.join(file));
        let args = ["run", &path, "--replications", "3", "--seed", "7"];
        let o = fleetsim(&[&args[..], &["--json"]].concat());
        assert!(o.status.success(), "{file}: {}", text(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        for m in v["summary"].as_array().unwrap() {
            let name = m["metric"].as_str().unwrap();
            check(
                &format!("{file} {name}"),
                summary_bounds(name),
                num(&m["mean"]),
                num(&m["ci95Low"]),
                num(&m["ci95High"]),
            );
        }
        let printed = fleetsim(&args);
        assert!(printed.status.success(), "{file}");
        scan_text(file, &text(&printed.stdout));
    }
}

#[test]
fn two_replications_are_too_few_for_an_interval_and_say_so() {
    let path = s(&root().join("scenarios/quickstart.json"));
    let o = fleetsim(&["run", &path, "--replications", "2", "--seed", "7"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = text(&o.stdout);
    assert!(
        t.contains("too few replications for an interval: 3 or more"),
        "{t}"
    );
    let o = fleetsim(&["run", &path, "--replications", "2", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for m in v["summary"].as_array().unwrap() {
        assert!(m["ci95Low"].is_null() && m["ci95High"].is_null(), "{m}");
    }
}

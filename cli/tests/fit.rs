//! `fleetsim fit`: measured values in, the best family's block out, and the
//! block pasted into a scenario runs and reproduces the data's mean and
//! p99; bad input exits 2 naming the file, line and column.

mod common;

use common::{fleetsim, scratch, text};
use serde_json::{json, Value};
use sim_core::rng::{stream, Purpose};
use std::path::{Path, PathBuf};

/// 20,000 latencies in milliseconds drawn by the simulator's own sampler
/// (gamma, shape 2, mean 40ms), with a host column beside them.
fn measured(dir: &Path) -> (PathBuf, Vec<f64>) {
    let spec: sim_core::DistSpec =
        serde_json::from_value(json!({"dist": "gamma", "shape": 2, "mean": "40ms"})).unwrap();
    let s = spec.sampler().unwrap();
    let mut rng = stream(11, 0, Purpose::Requests);
    let secs: Vec<f64> = (0..20_000).map(|_| s.sample_secs(&mut rng)).collect();
    let mut csv = String::from("host,latency_ms\n");
    for (i, x) in secs.iter().enumerate() {
        csv.push_str(&format!("h{},{:.6}\n", i % 4, x * 1e3));
    }
    let path = dir.join("measured.csv");
    std::fs::write(&path, csv).unwrap();
    (path, secs)
}

fn p99(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[(v.len() as f64 * 0.99) as usize]
}

#[test]
fn the_fitted_block_runs_and_matches_the_data() {
    let dir = scratch("fit-block");
    let (csv, secs) = measured(&dir);
    let out = fleetsim(&[
        "fit",
        csv.to_str().unwrap(),
        "--column",
        "latency_ms",
        "--unit",
        "ms",
        "--json",
        "--chart",
        dir.join("qq.svg").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/contracts/fit.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(doc["formatVersion"], 1);
    assert_eq!(doc["fits"][0]["family"], "gamma", "{}", doc["fits"]);
    assert!(std::fs::read_to_string(dir.join("qq.svg"))
        .unwrap()
        .contains("<svg"));
    // Pasted as the only model's latency, with slots enough that nothing
    // queues: each latency is one draw of the block.
    let scenario = json!({
        "name": "fitted",
        "run": { "seed": 3, "duration": "2h", "replications": 1 },
        "workload": { "arrivals": { "ratePerSecond": 10 } },
        "llm": { "models": { "m": { "latency": doc["best"] } } },
        "instanceTypes": { "t": { "slots": 64 } },
        "deployment": { "regions": { "r": { "instances": 4 } } }
    });
    let file = dir.join("fitted.json");
    std::fs::write(&file, scenario.to_string()).unwrap();
    let checked = fleetsim(&["validate", file.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let run = fleetsim(&["run", file.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    let lat = &r["pooled"]["latency"];
    let data_mean = secs.iter().sum::<f64>() / secs.len() as f64;
    // 72,000 simulated draws against 20,000 measured ones: the means'
    // standard error is under 0.5%, a p99's about 1.5%; 3% and 5% hold a
    // correct block and fail one off by a unit or a family.
    let m = lat["mean"].as_f64().unwrap();
    assert!(
        (m / data_mean - 1.0).abs() < 0.03,
        "mean {m} vs {data_mean}"
    );
    let q = lat["p99"].as_f64().unwrap();
    let dq = p99(&secs);
    assert!((q / dq - 1.0).abs() < 0.05, "p99 {q} vs {dq}");
}

#[test]
fn the_text_report_ranks_and_prints_the_block() {
    let dir = scratch("fit-text");
    let (csv, _) = measured(&dir);
    let out = fleetsim(&[
        "fit",
        csv.to_str().unwrap(),
        "--column",
        "latency_ms",
        "--unit",
        "ms",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("20,000 values"), "{t}");
    assert!(t.contains("best fit: gamma"), "{t}");
    assert!(t.contains(r#"{"dist":"gamma""#), "{t}");
}

#[test]
fn bad_input_exits_2_naming_the_file_line_and_column() {
    let dir = scratch("fit-bad");
    let (csv, _) = measured(&dir);
    let body = std::fs::read_to_string(&csv).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, format!("{body}h1,fast\n")).unwrap();
    let out = fleetsim(&["fit", bad.to_str().unwrap(), "--column", "latency_ms"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(e.contains("bad.csv:20002: column 2 (`latency_ms`)"), "{e}");
    assert!(e.contains("\"fast\" is not a number"), "{e}");
    let neg = dir.join("neg.csv");
    std::fs::write(&neg, format!("{body}h1,-2\n")).unwrap();
    let out = fleetsim(&["fit", neg.to_str().unwrap(), "--column", "latency_ms"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("neg.csv:20002"),
        "{}",
        text(&out.stderr)
    );
    for args in [
        vec!["--column", "latency"],
        vec![],
        vec!["--column", "latency_ms", "--unit", "min"],
    ] {
        let mut all = vec!["fit", csv.to_str().unwrap()];
        all.extend(args.iter());
        let out = fleetsim(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(!text(&out.stderr).contains("panicked"), "{all:?}");
    }
    let few = dir.join("few.csv");
    std::fs::write(&few, "latency\n1\n2\n3\n").unwrap();
    let out = fleetsim(&["fit", few.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("few.csv"),
        "{}",
        text(&out.stderr)
    );
}

/// A latency column's unit comes from `--unit` or from its name, never
/// from a default: milliseconds read as seconds would fit a block a
/// thousand times too slow.
#[test]
fn the_unit_is_given_or_named_never_assumed() {
    let dir = scratch("fit-unit");
    let (csv, _) = measured(&dir);
    let named = fleetsim(&["fit", csv.to_str().unwrap(), "--column", "latency_ms"]);
    let given = fleetsim(&[
        "fit",
        csv.to_str().unwrap(),
        "--column",
        "latency_ms",
        "--unit",
        "ms",
    ]);
    assert!(named.status.success(), "{}", text(&named.stderr));
    assert_eq!(named.stdout, given.stdout);
    let clash = fleetsim(&[
        "fit",
        csv.to_str().unwrap(),
        "--column",
        "latency_ms",
        "--unit",
        "s",
    ]);
    assert_eq!(clash.status.code(), Some(2));
    assert!(
        text(&clash.stderr).contains("give --unit ms"),
        "{}",
        text(&clash.stderr)
    );
    let body = std::fs::read_to_string(&csv).unwrap();
    let bare = dir.join("bare.csv");
    std::fs::write(&bare, body.replace("latency_ms", "latency")).unwrap();
    let out = fleetsim(&["fit", bare.to_str().unwrap(), "--column", "latency"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("give --unit"),
        "{}",
        text(&out.stderr)
    );
    let jpg = dir.join("qq.jpg");
    let out = fleetsim(&[
        "fit",
        csv.to_str().unwrap(),
        "--column",
        "latency_ms",
        "--chart",
        jpg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!jpg.exists());
}

//! The `fleetsim` binary as a user meets it: output, exit codes, files.

mod common;

use common::{fleetsim, scratch, text};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn run_without_arguments_runs_the_builtin_quickstart() {
    let o = fleetsim(&["run"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for want in [
        "quickstart",
        "Requests",
        "Latency",
        "p99",
        "Throughput",
        "fairness",
        "SLO",
        "PASS",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn run_json_is_valid_json_with_every_metric() {
    let o = fleetsim(&["run", "--json", "--replications", "2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let run = &v["runs"][0];
    for key in [
        "arrivals",
        "completed",
        "rejected",
        "timedOut",
        "failed",
        "inFlight",
    ] {
        assert!(run["counts"][key].is_u64(), "counts.{key}");
    }
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(run["latency"][key].is_f64(), "latency.{key}");
    }
    for key in [
        "throughputPerSecond",
        "errorRate",
        "utilization",
        "fairness",
        "instanceHours",
        "cost",
        "meanInSystem",
    ] {
        assert!(run[key].is_number(), "{key}");
    }
    assert!(run["instances"][0]["requests"].is_u64());
    assert!(run["slo"]["pass"].is_boolean());
    assert!(
        v["summary"][0]["ci95Low"].is_null() && v["summary"][0]["n"] == 2,
        "two replications are too few for an interval (3 or more)"
    );
    assert_eq!(v["seed"], 42);
}

#[test]
fn seed_flag_changes_the_result_and_same_seed_repeats_it() {
    let a = fleetsim(&["run", "--json", "--seed", "3", "--replications", "1"]).stdout;
    let b = fleetsim(&["run", "--json", "--seed", "3", "--replications", "1"]).stdout;
    let c = fleetsim(&["run", "--json", "--seed", "4", "--replications", "1"]).stdout;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn out_writes_result_json_and_leaves_no_temporary_file() {
    let dir = scratch("out");
    let target = dir.join("nested");
    let o = fleetsim(&[
        "run",
        "--out",
        target.to_str().unwrap(),
        "--replications",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(target.join("result.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(v["scenario"], "quickstart");
    let mut names: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["result.json", "scaling.csv", "timeseries.csv"],
        "no temporary file"
    );
    let series = std::fs::read_to_string(target.join("timeseries.csv")).unwrap();
    assert!(
        series.starts_with("replication,time,booting,ready"),
        "{series}"
    );
    assert!(series.lines().count() > 100, "a row per 10s of 30 minutes");
}

#[test]
fn validate_prints_what_each_file_resolves_to() {
    let q = scenarios().join("quickstart.json");
    let o = fleetsim(&["validate", q.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("ok: ") && out.contains("6 instances, 72 slots"),
        "{out}"
    );
}

#[test]
fn fail_on_slo_exits_1_when_the_slo_is_missed() {
    let dir = scratch("slo");
    let body = std::fs::read_to_string(scenarios().join("quickstart.json"))
        .unwrap()
        .replace("\"p99\": \"30s\"", "\"p99\": \"1s\"");
    let f = write(&dir, "strict.json", &body);
    let o = fleetsim(&["run", &f, "--replications", "1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "without the flag a miss is reported, not failed"
    );
    assert!(text(&o.stdout).contains("MISSED"));
    let o = fleetsim(&["run", &f, "--replications", "1", "--fail-on-slo"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_inputs_exit_2_with_a_message_naming_file_and_path() {
    let dir = scratch("bad");
    let base = std::fs::read_to_string(scenarios().join("quickstart.json")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed.json", "{ \"name\": ".into(), "not valid JSON"),
        (
            "unknown-key.json",
            base.replace("\"slots\"", "\"slot\""),
            "instanceTypes.agent-medium.slot",
        ),
        (
            "no-unit.json",
            base.replace("\"30m\"", "1800"),
            "run.duration",
        ),
        (
            "negative-rate.json",
            base.replace("\"ratePerSecond\": 10", "\"ratePerSecond\": -10"),
            "workload.arrivals.ratePerSecond",
        ),
        (
            "zero-instances.json",
            base.replace("\"instances\": 4", "\"instances\": 0")
                .replace("\"instances\": 2", "\"instances\": 0"),
            "zero instances",
        ),
        (
            "unknown-strategy.json",
            base.replace("least-connections", "fastest"),
            "deployment.loadBalancing.strategy",
        ),
        (
            "min-over-max.json",
            base.replace("\"warmup\": \"2m\"", "\"warmup\": \"40m\""),
            "run.warmup",
        ),
    ];
    for (name, body, needle) in &cases {
        let f = write(&dir, name, body);
        for cmd in ["run", "validate"] {
            let o = fleetsim(&[cmd, &f]);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{cmd} {name}: {err}");
            assert!(
                err.contains(name),
                "{cmd} {name}: must name the file: {err}"
            );
            assert!(
                err.contains(needle),
                "{cmd} {name}: must mention {needle:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{cmd} {name}: {err}");
        }
    }
    let o = fleetsim(&["run", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read"));
}

#[test]
fn type_errors_speak_json_not_rust() {
    let dir = scratch("types");
    let base = std::fs::read_to_string(scenarios().join("quickstart.json")).unwrap();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "rate-string.json",
            base.replace("\"ratePerSecond\": 10", "\"ratePerSecond\": \"ten\""),
            "workload.arrivals.ratePerSecond",
            "expected a number, found \"ten\"",
        ),
        (
            "instances-fraction.json",
            base.replace("\"instances\": 4", "\"instances\": 4.5"),
            "deployment.regions.us-east-1.instances",
            "expected a whole number from 0 to 4294967295, found 4.5",
        ),
        (
            "instances-negative.json",
            base.replace("\"instances\": 4", "\"instances\": -4"),
            "deployment.regions.us-east-1.instances",
            "expected a whole number from 0 to 4294967295, found -4",
        ),
        (
            "name-number.json",
            base.replace("\"name\": \"quickstart\"", "\"name\": 7"),
            "`name`",
            "expected a string, found 7",
        ),
    ];
    for (name, body, path, words) in &cases {
        assert_ne!(body, &base, "{name}: the replacement must apply");
        let f = write(&dir, name, body);
        let o = fleetsim(&["validate", &f]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name), "{name}: names the file: {err}");
        assert!(err.contains(path), "{name}: names {path}: {err}");
        assert!(err.contains(words), "{name}: says {words:?}: {err}");
        for rust in ["f64", "u32", "u64", "invalid type", "a map", "a sequence"] {
            assert!(!err.contains(rust), "{name}: says {rust:?}: {err}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        fleetsim(&["run", "--replications", "0"]).status.code(),
        Some(2)
    );
    assert_eq!(fleetsim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(fleetsim(&["validate"]).status.code(), Some(2));
}

#[test]
fn help_shows_examples() {
    let o = fleetsim(&["run", "--help"]);
    assert!(text(&o.stdout).contains("Examples:"));
    let o = fleetsim(&["validate", "--help"]);
    assert!(text(&o.stdout).contains("Examples:"));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "--json", "--replications", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before anything is written, as `| head -0`.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "nothing to say about a closed pipe: {err}");
}

#[test]
fn a_full_disk_is_reported_with_exit_3() {
    let full = std::fs::File::create("/dev/full").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "--replications", "1"])
        .stdout(full)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unusable_out_directory_is_bad_usage_found_before_the_run() {
    let dir = scratch("badout");
    let file = write(&dir, "a-file", "");
    // A scenario that would take minutes: the check must come first.
    let long = std::fs::read_to_string(scenarios().join("quickstart.json"))
        .unwrap()
        .replace("\"30m\"", "\"300d\"");
    let long = write(&dir, "long.json", &long);
    for out in [file.as_str(), "/dev/null/sub"] {
        #[allow(clippy::disallowed_methods)] // the test times the binary, not a policy
        let started = std::time::Instant::now();
        let o = fleetsim(&["run", &long, "--out", out]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("--out"), "{}", text(&o.stderr));
        assert!(started.elapsed().as_secs() < 10, "checked before running");
    }
}

#[test]
fn ctrl_c_stops_a_long_run_with_exit_130_and_writes_nothing() {
    let dir = scratch("sigint");
    let long = std::fs::read_to_string(scenarios().join("quickstart.json"))
        .unwrap()
        .replace("\"30m\"", "\"300d\"");
    let long = write(&dir, "long.json", &long);
    let out = dir.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", &long, "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("this run simulates about"),
        "estimate first: {err}"
    );
    assert!(err.contains("interrupted"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "no result and no temporary file: {left:?}");
}

#[test]
fn the_cost_line_names_the_currency_and_what_it_covers() {
    let o = fleetsim(&["run"]);
    let out = text(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("Cost")).unwrap();
    assert!(
        line.contains("USD") && line.contains("per replication"),
        "{line}"
    );
    assert!(line.contains("for all 3 replications"), "{line}");
}

/// A trace that is not one, a device with no line end, is refused after
/// its first MiB with the line and the limit, exit 2 (it used to end the
/// process on a 4 GiB allocation).
#[test]
fn a_trace_with_no_line_end_is_refused_not_read_whole() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let d = scratch("dev-zero");
    let f = write(
        &d,
        "zero.json",
        r#"{ "name": "zero", "run": { "duration": "1m" },
  "workload": { "trace": { "file": "/dev/zero" } },
  "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
  "instanceTypes": { "t": { "slots": 2 } },
  "deployment": { "regions": { "r": { "instances": 1 } } } }"#,
    );
    let o = fleetsim(&["validate", &f]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero line 1") && err.contains("longer than 1 MiB"),
        "{err}"
    );
}

/// `--version` names the commit the binary was built from, when built in
/// a git checkout, so two builds can be told apart (its date too:
/// `tests/conventions.rs`).
#[test]
fn version_names_the_commit() {
    let o = fleetsim(&["--version"]);
    let v = text(&o.stdout);
    assert!(
        v.starts_with(&format!("fleetsim {} (", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let head = Command::new("git")
        .args(["log", "-1", "--format=%h", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(h) = head.ok().filter(|h| h.status.success()) {
        let commit = String::from_utf8_lossy(&h.stdout).trim().to_string();
        assert!(v.contains(&format!("({commit}")), "{v} lacks {commit}");
    }
}

/// A run's files are one set: when one cannot be written, `result.json`
/// (renamed last) is not left beside them to pass for the new run's, no
/// temporary file remains, exit 3; a later run clears what a killed one
/// left half written. (A failed write used to leave the new series
/// beside the previous run's result.)
#[test]
fn a_failed_write_leaves_no_mixed_result_set() {
    let dir = scratch("out-set");
    let out = dir.join("o");
    let run = |seed: &str| {
        fleetsim(&[
            "run",
            "--out",
            out.to_str().unwrap(),
            "--replications",
            "1",
            "--seed",
            seed,
        ])
    };
    assert!(run("1").status.success());
    // scaling.csv cannot be replaced: a non-empty directory stands there.
    std::fs::remove_file(out.join("scaling.csv")).unwrap();
    std::fs::create_dir_all(out.join("scaling.csv").join("x")).unwrap();
    let o = run("2");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        !out.join("result.json").exists(),
        "the old result.json passes for a set it no longer belongs to"
    );
    let names = |d: &Path| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert!(
        !names(&out).iter().any(|n| n.ends_with(".tmp")),
        "{:?}",
        names(&out)
    );
    // With room again, and a killed run's leftover, a run writes the set.
    std::fs::remove_dir_all(out.join("scaling.csv")).unwrap();
    // (A pid above any pid_max: never a running process.)
    std::fs::write(out.join(".result.json.4294967295.tmp"), "{").unwrap();
    assert!(run("2").status.success());
    assert_eq!(
        names(&out),
        ["result.json", "scaling.csv", "timeseries.csv"]
    );
}

#[test]
fn import_prints_the_fragment_and_the_report_and_exits_by_what_it_lost() {
    let conf = scenarios().join("native/nginx/llm-upstream.conf");
    let conf = conf.to_str().unwrap();
    let o = fleetsim(&["import", conf]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let frag: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(frag["deployment"]["regions"]["llm_agents"]["instances"], 4);
    let report = text(&o.stderr);
    assert!(
        report.contains("19:9  server 127.0.0.1:8005 backup  not supported yet"),
        "{report}"
    );
    assert!(report.contains("1 not supported yet"), "{report}");
    // --strict: something with simulation meaning was lost.
    let o = fleetsim(&["import", conf, "--strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // --json: one document with the report.
    let o = fleetsim(&["import", conf, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["unsupported"], 1);
    assert_eq!(doc["report"][0]["line"], 6);
    assert_eq!(doc["report"][0]["outcome"], "ignored");
    // --out: the fragment in a file, the report on stdout.
    let dir = scratch("import-out");
    let out = dir.join("deployment.json");
    let o = fleetsim(&["import", conf, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, frag);
    assert!(text(&o.stdout).contains("wrote "));
    // A syntax error: exit 2, file:line:column.
    let bad = write(&dir, "bad.conf", "upstream a {\n  server x\n}\n");
    let o = fleetsim(&["import", &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("bad.conf:3:1: nginx: unexpected \"}\""),
        "{}",
        text(&o.stderr)
    );
    let o = fleetsim(&["import", &bad, "--format", "iis"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains(
        "allowed: nginx, haproxy, kubernetes, caddy, agentflow, config-csv, deployment-json, aws, envoy, traefik"
    ));
}

/// `--trace-requests`: CSV and Parquet written whole (nothing left under
/// a temporary name), the run's JSON unchanged, and bad flags refused
/// with exit 2 before anything runs.
#[test]
fn run_traces_requests_to_csv_and_parquet() {
    let dir = scratch("trace-requests");
    let scenario = "../scenarios/quickstart.json";
    let plain = fleetsim(&["run", scenario, "--replications", "1", "--json", "-q"]);
    assert!(plain.status.success());
    let csv = dir.join("t.csv");
    let o = fleetsim(&[
        "run",
        scenario,
        "--replications",
        "1",
        "--json",
        "-q",
        "--trace-requests",
        csv.to_str().unwrap(),
        "--sample",
        "10",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        text(&plain.stdout),
        "tracing changes no figure"
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("1 in 10 requests") && err.contains("slowest traced requests"),
        "{err}"
    );
    let body = std::fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with("request,arrival_s,class,user,tenant,"));
    assert!(body.lines().count() > 10);
    assert!(body
        .lines()
        .skip(1)
        .all(|l| l.split(',').next().unwrap().parse::<u64>().unwrap() % 10 == 0));
    let pq = dir.join("t.parquet");
    let o = fleetsim(&[
        "run",
        scenario,
        "--replications",
        "1",
        "-q",
        "--trace-requests",
        pq.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = std::fs::read(&pq).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    for (args, says) in [
        (
            vec!["--trace-requests", "t.json"],
            "`.json` is not a trace format; allowed: .csv, .parquet",
        ),
        (
            vec!["--trace-requests", "t"],
            "no extension is not a trace format",
        ),
        (
            vec!["--trace-requests", "t.csv", "--sample", "0"],
            "--sample",
        ),
        (vec!["--sample", "5"], "--trace-requests"),
    ] {
        let mut all = vec!["run", scenario, "-q"];
        all.extend(args.iter().copied());
        let o = fleetsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            text(&o.stderr).contains(says),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    assert!(!std::path::Path::new("t.json.partial").exists());
}

#[test]
fn validate_prints_static_findings_and_run_prints_both_without_changing_exit_codes() {
    // The Azcore seed's CPU target (70%) is above what its pods can burn.
    let az = scenarios().join("seeds/azcore.json");
    let o = fleetsim(&["validate", az.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("deployment.scaling.metrics[0].resource.target.averageUtilization")
            && out.contains("[scaling-target-unreachable]"),
        "{out}"
    );
    assert!(
        !out.contains("budget-never-bound"),
        "run findings need a run: {out}"
    );
    let o = fleetsim(&["run", az.to_str().unwrap(), "--replications", "1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("Findings: "), "{out}");
    assert!(
        out.contains("static deployment.scaling.metrics[0]"),
        "{out}"
    );
    assert!(
        out.contains("run    deployment.budget.perHour [budget-never-bound]"),
        "{out}"
    );
    let o = fleetsim(&["run", az.to_str().unwrap(), "--replications", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().any(|x| x["stage"] == "static"));
    assert!(f.iter().any(|x| x["stage"] == "run"));
    // A scenario with nothing to find prints no section.
    let lean = scenarios().join("variants/quickstart-lean.json");
    let o = fleetsim(&["validate", lean.to_str().unwrap()]);
    assert!(!text(&o.stdout).contains("Findings"));
}

//! Output contracts: every machine-readable output, made from shipped
//! scenarios with absolute paths into a scratch directory, is checked
//! against its shipped JSON Schema (`reports/contracts/*.schema.json`) or
//! column table; no output holds the scratch directory or the working
//! directory; commands that only print leave their working directory
//! empty; `fleetsim report` takes what `compare --scenarios` writes.

mod common;

use common::{fleetsim, scratch, text};
use reports::contract::check::{check_csv, check_parquet};
use reports::contract::tables::expected_columns;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `fleetsim` in `cwd`.
fn fleetsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn ok(o: &Output) -> &[u8] {
    assert!(o.status.success(), "{}", text(&o.stderr));
    &o.stdout
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = root().join("reports/contracts").join(name);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::draft202012::new(&v).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn valid(schema_name: &str, doc: &Value, what: &str) {
    let v = schema(schema_name);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} against {schema_name}: {errors:#?}"
    );
    assert!(
        doc["formatVersion"].as_u64().is_some_and(|n| n >= 1),
        "{what}"
    );
    assert_eq!(
        doc["fleetsimVersion"].as_str(),
        Some(sim_core::VERSION),
        "{what}"
    );
}

fn json_file(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn every_output_meets_its_contract_and_names_no_path_of_this_machine() {
    let tmp = scratch("contracts");
    let input = tmp.join("input");
    let out = tmp.join("out");
    let cwd = tmp.join("cwd");
    for d in [&input, &out, &cwd] {
        std::fs::create_dir_all(d).unwrap();
    }
    for f in ["quickstart.json", "off-peak.json"] {
        std::fs::copy(root().join("scenarios").join(f), input.join(f)).unwrap();
    }
    let q = s(&input.join("quickstart.json"));
    let off = s(&input.join("off-peak.json"));
    let run = |args: &[&str]| fleetsim_in(&cwd, args);
    let mut stdout_json: Vec<(&str, Value)> = Vec::new();

    // run: --json, --out, traces.
    let o = run(&[
        "run",
        &q,
        "--replications",
        "2",
        "--seed",
        "7",
        "--json",
        "-q",
    ]);
    stdout_json.push((
        "result.schema.json",
        serde_json::from_slice(ok(&o)).unwrap(),
    ));
    let run_dir = out.join("run");
    ok(&run(&[
        "run",
        &q,
        "--replications",
        "2",
        "--seed",
        "7",
        "--out",
        &s(&run_dir),
        "-q",
    ]));
    let result = json_file(&run_dir.join("result.json"));
    valid("result.schema.json", &result, "result.json");
    assert_eq!(result["files"].as_array().map(Vec::len), Some(3));
    for (file, table) in [("timeseries.csv", "timeseries"), ("scaling.csv", "scaling")] {
        let t = std::fs::read_to_string(run_dir.join(file)).unwrap();
        check_csv(&t, &expected_columns(table, &[])).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let trace_csv = out.join("trace.csv");
    let trace_pq = out.join("trace.parquet");
    for t in [&trace_csv, &trace_pq] {
        ok(&run(&[
            "run",
            &q,
            "--replications",
            "1",
            "--trace-requests",
            &s(t),
            "--sample",
            "50",
            "-q",
        ]));
    }
    let rows = check_csv(
        &std::fs::read_to_string(&trace_csv).unwrap(),
        &expected_columns("trace", &[]),
    )
    .unwrap_or_else(|e| panic!("trace.csv: {e}"));
    let pq_rows = check_parquet(
        &std::fs::read(&trace_pq).unwrap(),
        &expected_columns("trace", &[]),
        reports::contract::TRACE,
    )
    .unwrap_or_else(|e| panic!("trace.parquet: {e}"));
    assert!(rows > 0 && rows == pq_rows, "{rows} {pq_rows}");

    // sweep: every file of the directory.
    let axis = "deployment.regions.us-east-1.instances";
    let sweep = out.join("sweep");
    ok(&run(&[
        "sweep",
        &q,
        "--axis",
        &format!("{axis}=3,4"),
        "--seeds",
        "2",
        "--out",
        &s(&sweep),
        "-q",
    ]));
    check_sweep_dir(&sweep, &[axis.to_string()]);
    let m = json_file(&sweep.join("manifest.json"));
    assert_eq!(m["scenario"], "../../input/quickstart.json", "{m}");
    // The recorded command runs from the output directory, though the
    // directory did not exist when the command was recorded.
    assert_eq!(
        m["command"],
        format!(
            "fleetsim sweep ../../input/quickstart.json --axis {axis}=3,4 --seeds 2 --out . -q"
        ),
        "{m}"
    );

    // shares and merge.
    let (a, b) = (out.join("share-1"), out.join("share-2"));
    for (k, d) in [("1/2", &a), ("2/2", &b)] {
        ok(&run(&[
            "sweep",
            &q,
            "--axis",
            &format!("{axis}=3,4"),
            "--seeds",
            "2",
            "--shard",
            k,
            "--out",
            &s(d),
            "-q",
        ]));
        valid(
            "manifest.schema.json",
            &json_file(&d.join("manifest.json")),
            "a share's manifest",
        );
    }
    let merged = out.join("merged");
    ok(&run(&["merge", &s(&a), &s(&b), "--out", &s(&merged)]));
    check_sweep_dir(&merged, &[axis.to_string()]);

    // compare: printed only, and into a directory.
    let strategies = "round-robin,least-connections";
    let o = run(&[
        "compare",
        &q,
        "--strategies",
        strategies,
        "--seeds",
        "2",
        "--format",
        "json",
        "-q",
    ]);
    stdout_json.push((
        "matrix.schema.json",
        serde_json::from_slice(ok(&o)).unwrap(),
    ));
    let o = run(&[
        "compare",
        &q,
        "--strategies",
        strategies,
        "--seeds",
        "2",
        "--format",
        "csv",
        "-q",
    ]);
    check_csv(&text(ok(&o)), &expected_columns("matrix", &[]))
        .unwrap_or_else(|e| panic!("compare --format csv: {e}"));
    let cmp = out.join("compare");
    ok(&run(&[
        "compare",
        &q,
        "--strategies",
        strategies,
        "--seeds",
        "2",
        "--out",
        &s(&cmp),
        "-q",
    ]));
    check_sweep_dir(&cmp, &["deployment.loadBalancing.strategy".to_string()]);
    valid(
        "matrix.schema.json",
        &json_file(&cmp.join("matrix.json")),
        "matrix.json",
    );
    check_csv(
        &std::fs::read_to_string(cmp.join("matrix.csv")).unwrap(),
        &expected_columns("matrix", &[]),
    )
    .unwrap_or_else(|e| panic!("matrix.csv: {e}"));
    let listed = json_file(&cmp.join("manifest.json"))["files"].to_string();
    assert!(
        listed.contains("matrix.csv") && listed.contains("matrix.json"),
        "{listed}"
    );
    ok(&run(&["report", &s(&cmp)]));

    // compare --scenarios, and its report.
    let rob = out.join("robust");
    let o = run(&[
        "compare",
        "--scenarios",
        &q,
        &off,
        "--strategies",
        strategies,
        "--seeds",
        "2",
        "--format",
        "json",
        "-q",
    ]);
    stdout_json.push((
        "robust.schema.json",
        serde_json::from_slice(ok(&o)).unwrap(),
    ));
    ok(&run(&[
        "compare",
        "--scenarios",
        &q,
        &off,
        "--strategies",
        strategies,
        "--seeds",
        "2",
        "--out",
        &s(&rob),
        "-q",
    ]));
    valid(
        "robust.schema.json",
        &json_file(&rob.join("robust.json")),
        "robust.json",
    );
    let names = ["quickstart".to_string(), "off-peak".to_string()];
    check_csv(
        &std::fs::read_to_string(rob.join("robust.csv")).unwrap(),
        &expected_columns("robust", &names),
    )
    .unwrap_or_else(|e| panic!("robust.csv: {e}"));
    let o = run(&["report", &s(&rob)]);
    ok(&o);
    assert!(rob.join("report.html").is_file());
    for n in &names {
        assert!(rob.join(n).join("report.html").is_file(), "{n}");
        check_sweep_dir(
            &rob.join(n),
            &["deployment.loadBalancing.strategy".to_string()],
        );
    }

    // gate: baseline, a pass and a fail, each verdict beside its exit code.
    let gate = input.join("gate.json");
    std::fs::write(
        &gate,
        r#"{ "scenarios": ["off-peak.json"], "seeds": 3, "baseline": "baseline.json" }"#,
    )
    .unwrap();
    ok(&run(&[
        "gate",
        &s(&gate),
        "--update-baseline",
        "--baseline",
        &s(&out.join("baseline.json")),
    ]));
    let baseline = json_file(&out.join("baseline.json"));
    valid("baseline.schema.json", &baseline, "baseline.json");
    let o = run(&[
        "gate",
        &s(&gate),
        "--baseline",
        &s(&out.join("baseline.json")),
        "--json",
        "--markdown",
        &s(&out.join("gate.md")),
        "--junit",
        &s(&out.join("gate.xml")),
    ]);
    let pass: Value = serde_json::from_slice(ok(&o)).unwrap();
    assert_eq!(pass["verdict"], "pass");
    stdout_json.push(("gate.schema.json", pass));
    // A baseline twice as fast as anything this build does: a regression.
    let mut better = baseline.clone();
    for sc in better["scenarios"].as_array_mut().unwrap() {
        for r in sc["runs"].as_array_mut().unwrap() {
            for k in ["p50", "p99"] {
                if let Some(x) = r[k].as_f64() {
                    r[k] = (x / 2.0).into();
                }
            }
        }
    }
    let better_path = out.join("better-baseline.json");
    std::fs::write(&better_path, better.to_string()).unwrap();
    let o = run(&["gate", &s(&gate), "--baseline", &s(&better_path), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let fail: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(fail["verdict"], "fail");
    stdout_json.push(("gate.schema.json", fail));

    // plan and max load.
    let plan_dir = out.join("plan");
    let o = run(&[
        "plan",
        &off,
        "--axis",
        "deployment.regions.us-east-1.instances=1..4",
        "--seeds",
        "2",
        "--slo",
        "p99=30s",
        "--json",
        "--out",
        &s(&plan_dir),
    ]);
    stdout_json.push((
        "plan.schema.json",
        serde_json::from_slice(&o.stdout).unwrap(),
    ));
    valid(
        "plan.schema.json",
        &json_file(&plan_dir.join("plan.json")),
        "plan.json",
    );
    let o = run(&[
        "plan",
        &off,
        "--seeds",
        "2",
        "--max-load",
        "--slo",
        "p99=30s",
        "--json",
        "--out",
        &s(&plan_dir),
    ]);
    stdout_json.push((
        "max-load.schema.json",
        serde_json::from_slice(&o.stdout).unwrap(),
    ));
    valid(
        "max-load.schema.json",
        &json_file(&plan_dir.join("max-load.json")),
        "max-load.json",
    );

    // import.
    let nginx = root().join("scenarios/native/nginx/llm-upstream.conf");
    let o = fleetsim(&["import", &s(&nginx), "--json"]);
    stdout_json.push((
        "import.schema.json",
        serde_json::from_slice(ok(&o)).unwrap(),
    ));

    for (name, doc) in &stdout_json {
        valid(name, doc, &format!("printed output ({name})"));
        no_absolute_path(doc, name);
    }

    // No path of this machine in any file written.
    let mut files = Vec::new();
    files_under(&out, &mut files);
    let here = std::env::current_dir().unwrap();
    for f in &files {
        if f.starts_with(&out) && f.file_name().is_some_and(|n| n == "better-baseline.json") {
            continue;
        }
        let bytes = std::fs::read(f).unwrap();
        for p in [&tmp, &here, &root().canonicalize().unwrap()] {
            assert!(
                !contains(&bytes, &s(p)),
                "{} holds {}",
                f.display(),
                p.display()
            );
        }
    }
    // Printing commands made nothing where they ran.
    let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// No string in a printed document is an absolute path that exists on
/// this machine (printed paths read from the working directory).
fn no_absolute_path(doc: &Value, name: &str) {
    match doc {
        Value::String(t) => {
            let p = Path::new(t);
            assert!(
                !(p.is_absolute() && p.exists()),
                "printed {name} holds the absolute path {t}"
            );
        }
        Value::Array(a) => a.iter().for_each(|v| no_absolute_path(v, name)),
        Value::Object(o) => o.values().for_each(|v| no_absolute_path(v, name)),
        _ => {}
    }
}

/// A finished sweep directory: the manifest and every journal line against
/// their schemas, the tables against their column tables.
fn check_sweep_dir(dir: &Path, axes: &[String]) {
    let m = json_file(&dir.join("manifest.json"));
    valid("manifest.schema.json", &m, "manifest.json");
    let listed: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for f in ["runs.jsonl", "results.csv", "results.parquet", "points.csv"] {
        assert!(listed.contains(&f), "{f} not in {listed:?}");
    }
    let journal = std::fs::read_to_string(dir.join("runs.jsonl")).unwrap();
    let lines: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, m["runs"].as_u64().unwrap());
    for l in &lines {
        valid("runs.schema.json", l, "a runs.jsonl line");
    }
    let results = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let rows = check_csv(&results, &expected_columns("results", axes))
        .unwrap_or_else(|e| panic!("results.csv: {e}"));
    let pq = check_parquet(
        &std::fs::read(dir.join("results.parquet")).unwrap(),
        &expected_columns("results", axes),
        reports::contract::TABLES,
    )
    .unwrap_or_else(|e| panic!("results.parquet: {e}"));
    assert_eq!(rows, pq);
    assert_eq!(rows, lines.len());
    check_csv(
        &std::fs::read_to_string(dir.join("points.csv")).unwrap(),
        &expected_columns("points", axes),
    )
    .unwrap_or_else(|e| panic!("points.csv: {e}"));
}

//! Sweeps, shares, resumption, comparisons and reports, as a user runs
//! them: the real binary, real files, real processes killed.

mod common;

use common::{fleetsim, scratch, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small fleet, quick to run: two regions, a short window.
const BASE: &str = r#"{
  "name": "small",
  "run": { "seed": 7, "duration": "4m", "warmup": "30s", "replications": 2 },
  "workload": { "arrivals": { "ratePerSecond": 6 },
    "request": { "cpuTime": { "dist": "exponential", "mean": "50ms" }, "llmCalls": 1, "model": "m" } },
  "llm": { "models": { "m": { "latency": { "dist": "lognormal", "median": "800ms", "p99": "6s" } } } },
  "instanceTypes": { "t": { "slots": 4, "pricePerHour": 0.2 } },
  "deployment": {
    "regions": { "a": { "instances": 2, "instanceType": "t" }, "b": { "instances": 1, "instanceType": "t" } },
    "loadBalancing": { "strategy": "round-robin" },
    "limits": { "maxConnectionsPerInstance": 16, "requestTimeout": "30s" }
  },
  "slo": { "latency": { "p99": "10s" }, "errorRate": 0.05 }
}"#;

fn setup(name: &str, sweep: &str) -> (PathBuf, String) {
    let d = scratch(name);
    std::fs::write(d.join("base.json"), BASE).unwrap();
    let s = d.join("sweep.json");
    std::fs::write(&s, sweep).unwrap();
    let s = s.to_string_lossy().into_owned();
    (d, s)
}

const SWEEP: &str = r#"{
  "name": "small-sweep",
  "scenario": "base.json",
  "seeds": 3,
  "axes": {
    "deployment.loadBalancing.strategy": ["round-robin", "least-connections"],
    "deployment.regions.a.instances": "1..3"
  }
}"#;

/// The files that must not depend on how a sweep was run.
const SAME: [&str; 4] = ["results.csv", "results.parquet", "points.csv", "runs.jsonl"];

fn assert_same(a: &Path, b: &Path) {
    for f in SAME {
        let (x, y) = (std::fs::read(a.join(f)), std::fs::read(b.join(f)));
        let (x, y) = (
            x.unwrap_or_else(|e| panic!("{}/{f}: {e}", a.display())),
            y.unwrap_or_else(|e| panic!("{}/{f}: {e}", b.display())),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn a_sweep_writes_every_table_and_its_manifest() {
    let (d, sweep) = setup("tables", SWEEP);
    let out = d.join("out");
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("18 runs (6 points x 3 seeds)"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 18);
    assert!(
        lines[0].starts_with(
            "point,seed,deployment.loadBalancing.strategy,deployment.regions.a.instances,arrivals,"
        ),
        "{}",
        lines[0]
    );
    // Points outer, seeds inner; the first axis outermost.
    assert!(lines[1].starts_with("0,0,round-robin,1,"), "{}", lines[1]);
    assert!(lines[4].starts_with("1,0,round-robin,2,"), "{}", lines[4]);
    assert!(
        lines[10].starts_with("3,0,least-connections,1,"),
        "{}",
        lines[10]
    );
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 1 + 6);
    assert!(points
        .lines()
        .next()
        .unwrap()
        .contains("latency_p99_s_mean,latency_p99_s_ci_low,latency_p99_s_ci_high"));
    let pq = std::fs::read(out.join("results.parquet")).unwrap();
    assert_eq!(&pq[..4], b"PAR1");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "complete");
    assert_eq!(m["runs"], 18);
    assert_eq!(m["seeds"], 3);
    assert!(
        m["fleetsimVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with(env!("CARGO_PKG_VERSION"))),
        "{m}"
    );
    assert_eq!(m["scenarioHash"].as_str().unwrap().len(), 16);
    assert!(m["runsPerSecond"].as_f64().unwrap() > 0.0);
    // More instances in region a never cost less.
    let cost = |p: usize| -> f64 {
        let line = points.lines().nth(1 + p).unwrap();
        let head: Vec<&str> = points.lines().next().unwrap().split(',').collect();
        let i = head
            .iter()
            .position(|h| *h == "cost_per_hour_mean")
            .unwrap();
        line.split(',').nth(i).unwrap().parse().unwrap()
    };
    assert!(
        cost(0) < cost(1) && cost(1) < cost(2),
        "{} {} {}",
        cost(0),
        cost(1),
        cost(2)
    );
    // A second sweep into the same directory is refused: it holds one.
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already holds a sweep; add --resume"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn results_do_not_depend_on_jobs() {
    let (d, sweep) = setup("jobs", SWEEP);
    let (one, two) = (d.join("one"), d.join("two"));
    for (dir, jobs) in [(&one, "1"), (&two, "2")] {
        let o = fleetsim(&["sweep", &sweep, "--jobs", jobs, "--out", &s(dir), "--quiet"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    assert_same(&one, &two);
}

#[test]
fn axes_on_the_command_line_match_the_sweep_file() {
    let (d, sweep) = setup("cli-axes", SWEEP);
    let file = d.join("file");
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&file), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let args = d.join("args");
    let o = fleetsim(&[
        "sweep",
        &s(&d.join("base.json")),
        "--axis",
        "deployment.loadBalancing.strategy=round-robin,least-connections",
        "--axis",
        "deployment.regions.a.instances=1..3",
        "--seeds",
        "3",
        "--out",
        &s(&args),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_same(&file, &args);
}

#[test]
fn shares_merge_into_the_unsharded_result_and_nothing_else() {
    let (d, sweep) = setup("shards", SWEEP);
    let whole = d.join("whole");
    assert!(fleetsim(&["sweep", &sweep, "--out", &s(&whole), "--quiet"])
        .status
        .success());
    let mut shares = Vec::new();
    for k in 1..=3 {
        let dir = d.join(format!("share{k}"));
        let o = fleetsim(&[
            "sweep",
            &sweep,
            "--shard",
            &format!("{k}/3"),
            "--out",
            &s(&dir),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            !dir.join("results.csv").exists(),
            "a share writes no tables"
        );
        shares.push(s(&dir));
    }
    // A missing share is refused.
    let o = fleetsim(&[
        "merge",
        &shares[0],
        &shares[1],
        "--out",
        &s(&d.join("partial")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("share 3/3 is missing"),
        "{}",
        text(&o.stderr)
    );
    let merged = d.join("merged");
    let mut args = vec!["merge"];
    args.extend(shares.iter().map(String::as_str));
    let out = s(&merged);
    args.extend(["--out", &out]);
    let o = fleetsim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_same(&whole, &merged);
    // A share of another sweep (other seeds) is refused.
    let other = d.join("other");
    let o = fleetsim(&[
        "sweep",
        &sweep,
        "--seeds",
        "2",
        "--shard",
        "3/3",
        "--out",
        &s(&other),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = fleetsim(&[
        "merge",
        &shares[0],
        &shares[1],
        &s(&other),
        "--out",
        &s(&d.join("mixed")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("only shares of one sweep merge"),
        "{}",
        text(&o.stderr)
    );
    // Into a directory that holds something else: refused.
    let busy = d.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let mut args = vec!["merge"];
    args.extend(shares.iter().map(String::as_str));
    let busy_s = s(&busy);
    args.extend(["--out", &busy_s]);
    let o = fleetsim(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not empty and not a sweep"),
        "{}",
        text(&o.stderr)
    );
    // A damaged share (a garbled line; a run copied from another share)
    // is bad input naming that share, not an I/O failure naming --out.
    let journal = Path::new(&shares[1]).join("runs.jsonl");
    let good = std::fs::read_to_string(&journal).unwrap();
    for damage in ["garbled", "copied"] {
        let bad = match damage {
            "garbled" => format!("{good}{{\"run\": \"x\"}}\n"),
            _ => {
                let first =
                    std::fs::read_to_string(Path::new(&shares[0]).join("runs.jsonl")).unwrap();
                let stolen = first.lines().next().unwrap();
                let mut lines: Vec<&str> = good.lines().collect();
                lines[0] = stolen;
                format!("{}\n", lines.join("\n"))
            }
        };
        std::fs::write(&journal, bad).unwrap();
        let mut args = vec!["merge"];
        args.extend(shares.iter().map(String::as_str));
        let out = s(&d.join(format!("damaged-{damage}")));
        args.extend(["--out", &out]);
        let o = fleetsim(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{damage}: {err}");
        assert!(
            err.contains(&shares[1]) && err.contains("damaged share"),
            "{damage}: {err}"
        );
    }
    std::fs::write(&journal, good).unwrap();
}

#[test]
fn shares_come_from_a_slurm_array_or_an_indexed_job() {
    let (d, sweep) = setup("shard-env", SWEEP);
    let run = |env: &[(&str, &str)], out: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fleetsim"));
        c.args([
            "sweep",
            &sweep,
            "--shard-from-env",
            "--quiet",
            "--out",
            &s(out),
        ]);
        for k in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "JOB_COMPLETION_INDEX",
            "FLEETSIM_SHARDS",
        ] {
            c.env_remove(k);
        }
        c.envs(env.iter().copied());
        c.output().unwrap()
    };
    let o = run(
        &[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
        &d.join("slurm"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m = std::fs::read_to_string(d.join("slurm/manifest.json")).unwrap();
    assert!(
        m.contains("\"index\": 1") && m.contains("\"count\": 4"),
        "{m}"
    );
    let o = run(
        &[("JOB_COMPLETION_INDEX", "2"), ("FLEETSIM_SHARDS", "3")],
        &d.join("k8s"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m = std::fs::read_to_string(d.join("k8s/manifest.json")).unwrap();
    assert!(
        m.contains("\"index\": 3") && m.contains("\"count\": 3"),
        "{m}"
    );
    let o = run(&[("JOB_COMPLETION_INDEX", "2")], &d.join("k8s-bad"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("FLEETSIM_SHARDS"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&[], &d.join("none"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_killed_sweep_resumes_to_the_same_result() {
    // Enough runs that the kill lands mid-sweep.
    let big = SWEEP
        .replace("\"seeds\": 3", "\"seeds\": 12")
        .replace("\"1..3\"", "\"1..4\"");
    let (d, sweep) = setup("kill", &big);
    let whole = d.join("whole");
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&whole), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let total = 2 * 4 * 12;

    let killed = d.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "sweep",
            &sweep,
            "--out",
            &s(&killed),
            "--quiet",
            "--jobs",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = killed.join("runs.jsonl");
    #[allow(clippy::disallowed_methods)] // a deadline for the test, not a policy
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
        if lines >= 10 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sweep made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(
        kept < total,
        "the kill came too late: {kept} of {total} runs done"
    );
    assert!(
        !killed.join("results.csv").exists(),
        "no table before every run is in"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&killed)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written files left: {leftovers:?}"
    );

    // Simulate a kill in the middle of a line, and in the middle of an
    // atomic write (its temporary file left behind), too.
    std::fs::write(killed.join(".results.csv.999.tmp"), b"point,se").unwrap();
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"run\": 5, \"point\"");
    std::fs::write(&journal, bytes).unwrap();

    let o = fleetsim(&["sweep", &sweep, "--out", &s(&killed), "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(killed.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["completedRuns"], total);
    assert_same(&whole, &killed);
    assert!(
        !killed.join(".results.csv.999.tmp").exists(),
        "a stale temporary file was left"
    );

    // Resuming with other axes is refused.
    let o = fleetsim(&[
        "sweep",
        &sweep,
        "--seeds",
        "2",
        "--out",
        &s(&killed),
        "--resume",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("holds a different sweep"),
        "{}",
        text(&o.stderr)
    );

    // A garbled journal (not a line cut by a kill) is bad input, exit 2.
    let manifest_text = std::fs::read_to_string(killed.join("manifest.json")).unwrap();
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, format!("{journal_text}{{\"run\": \"x\"}}\n")).unwrap();
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&killed), "--resume", "--quiet"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the journal is damaged"), "{err}");
    std::fs::write(&journal, journal_text).unwrap();
    std::fs::write(killed.join("manifest.json"), manifest_text).unwrap();

    // Resuming a sweep another build started is refused, naming both: the
    // package version alone (0.1.0 for every commit) could not tell them
    // apart.
    let manifest = killed.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["fleetsimVersion"] = "0.1.0+g000000000000".into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&killed), "--resume", "--quiet"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("was started by fleetsim 0.1.0+g000000000000") && err.contains("this is"),
        "{err}"
    );
}

#[test]
fn bad_sweeps_are_refused_before_any_run_naming_the_axis() {
    let cases: [(&str, &str); 9] = [
        (
            r#"{ "scenario": "base.json", "axes": { "deployment.regions.aa.instances": [1, 2] } }"#,
            "`deployment.regions` has no `aa`",
        ),
        (
            r#"{ "scenario": "base.json", "axes": { "deployment.loadBalancing": [{"strategy": "first"}], "deployment.loadBalancing.strategy": ["first"] } }"#,
            "set the same value",
        ),
        (
            r#"{ "scenario": "base.json", "axes": { "deployment.loadBalancing.strategy": ["round-robin", "least-conn"] } }"#,
            "axes[\"deployment.loadBalancing.strategy\"]",
        ),
        (
            r#"{ "scenario": "base.json", "axes": { "deployment.regions.a.instancez": [1, 2] } }"#,
            "instancez",
        ),
        (
            r#"{ "scenario": "base.json", "axes": { "run.duration": "1..3" } }"#,
            "axes[\"run.duration\"]",
        ),
        (
            r#"{ "scenario": "base.json", "axis": {} }"#,
            "at `axis`: unknown key",
        ),
        (
            r#"{ "scenario": "nope.json", "axes": { "a.b": [1] } }"#,
            "nope.json",
        ),
        // A name is a name, not a path out of the working directory.
        (
            r#"{ "name": "../escaped-sweep", "scenario": "base.json", "axes": { "run.seed": [1, 2] } }"#,
            "at `name`: must be a plain name",
        ),
        (
            r#"{ "name": "/tmp/escaped-sweep", "scenario": "base.json", "axes": { "run.seed": [1, 2] } }"#,
            "at `name`: must be a plain name",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let (d, sweep) = setup(&format!("bad{i}"), body);
        let o = fleetsim(&["sweep", &sweep, "--out", &s(&d.join("out")), "--quiet"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(want), "case {i}: want {want:?} in {err}");
        assert!(!d.join("out").join("runs.jsonl").exists(), "case {i} ran");
    }
    let (d, _) = setup("bad-cli", SWEEP);
    let o = fleetsim(&["sweep", &s(&d.join("base.json")), "--axis", "run.seed"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("PATH=VALUES"),
        "{}",
        text(&o.stderr)
    );
    let o = fleetsim(&["sweep", &s(&d.join("base.json"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is a scenario, not a sweep file"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn compare_prints_the_matrix_and_writes_it() {
    let d = scratch("compare");
    std::fs::write(d.join("base.json"), BASE).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        &s(&d.join("base.json")),
        "--strategies",
        "round-robin,least-connections,first",
        "--seeds",
        "4",
        "--weights",
        "p99=3",
        "--out",
        &s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    for want in [
        "Decision matrix",
        "p99",
        "cost/hour",
        "fairness (Jain)",
        "Recommendation:",
        "runner-up",
        "p99=3",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    // `first` sends everything to one instance: it cannot win on fairness.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap();
    let best = m["ranking"][0].as_u64().unwrap() as usize;
    assert_ne!(m["options"][best]["name"], "first", "{stdout}");
    for f in [
        "matrix.md",
        "matrix.csv",
        "results.csv",
        "results.parquet",
        "points.csv",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let md = fleetsim(&[
        "compare",
        &s(&d.join("base.json")),
        "--strategies",
        "round-robin,least-connections",
        "--seeds",
        "2",
        "--format",
        "markdown",
        "--out",
        &s(&d.join("md")),
        "--quiet",
    ]);
    assert!(md.status.success(), "{}", text(&md.stderr));
    assert!(
        text(&md.stdout).starts_with("| strategy |"),
        "{}",
        text(&md.stdout)
    );
    let bad = fleetsim(&[
        "compare",
        &s(&d.join("base.json")),
        "--strategies",
        "round-robin,least-connections",
        "--weights",
        "speed=2",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("not a criterion"),
        "{}",
        text(&bad.stderr)
    );
    // A criterion no option measures (no tenants here) cannot be weighted.
    let unscored = fleetsim(&[
        "compare",
        &s(&d.join("base.json")),
        "--strategies",
        "round-robin,least-connections",
        "--weights",
        "tenants=3",
        "--out",
        &s(&d.join("unscored")),
        "--quiet",
    ]);
    assert_eq!(
        unscored.status.code(),
        Some(2),
        "{}",
        text(&unscored.stdout)
    );
    assert!(
        text(&unscored.stderr).contains("`tenants` (tenant_fairness_jain) not scored here"),
        "{}",
        text(&unscored.stderr)
    );
}

/// The recommendation of `compare` on the shipped slow-instances fleet.
fn recommendation(d: &Path, name: &str, strategies: &str, extra: &[&str]) -> serde_json::Value {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/balancers-slow-instances.json");
    let out = d.join(name);
    let (scenario, out_dir) = (s(&scenario), s(&out));
    let args = [
        &[
            "compare",
            &scenario,
            "--strategies",
            strategies,
            "--seeds",
            "5",
            "--out",
            &out_dir,
            "--quiet",
        ][..],
        extra,
    ]
    .concat();
    let o = fleetsim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap()
}

fn best_name(m: &serde_json::Value) -> String {
    let best = m["ranking"][0].as_u64().unwrap() as usize;
    m["options"][best]["name"].as_str().unwrap().to_string()
}

#[test]
fn losing_options_listed_or_not_leave_the_recommendation_alone() {
    let d = scratch("stable-recommendation");
    let three = recommendation(&d, "three", "least-connections,power-of-two,peak-ewma", &[]);
    let seven = recommendation(
        &d,
        "seven",
        "least-connections,power-of-two,peak-ewma,round-robin,random,response-time,first",
        &[],
    );
    assert_eq!(best_name(&three), best_name(&seven));
    // The three options keep their scores against the same baseline,
    // whatever else is listed.
    for o in three["options"].as_array().unwrap() {
        let same = seven["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == o["name"])
            .unwrap();
        let (a, b) = (
            o["score"].as_f64().unwrap(),
            same["score"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-9, "{}: {a} vs {b}", o["name"]);
    }
    // Equal request counts are not the goal on a fleet with slow
    // instances: fairness is shown, not scored; load balance is scored.
    let scored = |key: &str| {
        three["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .unwrap()["scored"]
            .as_bool()
            .unwrap()
    };
    assert!(!scored("fairness") && scored("balance"));
    // A different baseline moves every score by the same amount and
    // changes no order; a wide margin calls a tie in words.
    let based = recommendation(
        &d,
        "based",
        "least-connections,power-of-two,peak-ewma",
        &["--baseline", "power-of-two", "--margin", "0.5"],
    );
    assert_eq!(based["ranking"], three["ranking"]);
    assert_eq!(based["baseline"], "power-of-two");
    let out = fleetsim(&[
        "compare",
        "x.json", // not read: the error comes first
        "--strategies",
        "a,b",
        "--baseline",
        "c",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--baseline `c` is not one of the options compared"),
        "{}",
        text(&out.stderr)
    );
    let md = std::fs::read_to_string(d.join("based/matrix.md")).unwrap();
    assert!(md.contains("A tie:"), "{md}");
    assert!(!md.contains("is significant"), "{md}");
    let bad = fleetsim(&["compare", "x.json", "--strategies", "a,b", "--margin", "-1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("--margin"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn compare_variants_compares_whole_deployments() {
    let d = scratch("variants");
    std::fs::write(d.join("small.json"), BASE).unwrap();
    std::fs::write(
        d.join("large.json"),
        BASE.replace("\"instances\": 2", "\"instances\": 5"),
    )
    .unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        "--variants",
        &s(&d.join("small.json")),
        &s(&d.join("large.json")),
        "--seeds",
        "3",
        "--format",
        "csv",
        "--out",
        &s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = text(&o.stdout);
    assert!(csv.starts_with("option,score,slo,rank"), "{csv}");
    assert!(
        csv.contains("\nsmall,") && csv.contains("\nlarge,"),
        "{csv}"
    );
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(results.starts_with("point,seed,variant,"), "{results}");
}

/// Headless Chromium, as `.ci/run` installs it (Debian's `chromium`).
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FLEETSIM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Loads `page` in headless Chromium: its DOM after load, and every
/// console message Chromium logged.
fn load_in_chromium(browser: &Path, page: &Path, extra: &[String]) -> (String, Vec<String>) {
    let profile = std::env::temp_dir().join(format!(
        "fleetsim-chromium-{}-{}",
        std::process::id(),
        extra.len()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().cloned());
    args.push(url);
    let o = Command::new(browser)
        .args(&args)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let console = text(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    (text(&o.stdout), console)
}

#[test]
fn the_report_renders_in_headless_chromium_with_every_chart() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("FLEETSIM_SKIP_BROWSER").is_ok_and(|v| v == "1"),
            "no Chromium: install it (apt-get install chromium, as .ci/run does), point FLEETSIM_CHROMIUM at one, or set FLEETSIM_SKIP_BROWSER=1 to skip this test"
        );
        return;
    };
    let d = scratch("report");
    // The console check can fail: a page that logs an error is caught.
    let control = d.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><script>console.error('control-error')</script></body></html>",
    )
    .unwrap();
    let (_, console) = load_in_chromium(&browser, &control, &["--dump-dom".into()]);
    assert!(
        console.iter().any(|l| l.contains("control-error")),
        "the console check sees nothing: {console:?}"
    );

    // An autoscaled fleet over two sizes and two balancers: every chart.
    let scaled = BASE.replace("\"slots\": 4,", "\"slots\": 4, \"cpus\": 1,").replace(
        "\"loadBalancing\": { \"strategy\": \"round-robin\" },",
        "\"loadBalancing\": { \"strategy\": \"round-robin\" },\n    \"scaling\": { \"policy\": \"threshold\", \"minInstances\": 1, \"maxInstances\": 4, \"targetCPU\": 50, \"targetConnections\": 4 },",
    );
    std::fs::write(d.join("base.json"), scaled).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "sweep",
        &s(&d.join("base.json")),
        "--axis",
        "deployment.loadBalancing.strategy=round-robin,least-connections",
        "--axis",
        "workload.arrivals.ratePerSecond=4..8/4",
        "--seeds",
        "2",
        "--out",
        &s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = fleetsim(&["report", &s(&out)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ids = [
        "latency-cdf",
        "p50-by-axis",
        "p99-by-axis",
        "cost-vs-p99",
        "load-per-instance",
        "decision-matrix",
        "instances-over-time",
        "queue-over-time",
    ];
    for id in ids {
        for ext in ["svg", "png"] {
            let f = out.join("charts").join(format!("{id}.{ext}"));
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(bytes.len() > 2000, "{} is nearly empty", f.display());
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "the report runs no script");
    for fetch in [
        "src=", "href=", "<link", "url(", "@import", "<img", "<iframe",
    ] {
        assert!(
            !html.contains(fetch),
            "the report fetches nothing, but it has {fetch}"
        );
    }

    let (dom, console) =
        load_in_chromium(&browser, &out.join("report.html"), &["--dump-dom".into()]);
    assert!(console.is_empty(), "console messages: {console:?}");
    for id in ids {
        assert!(
            dom.contains(&format!("id=\"chart-{id}\"")),
            "chart {id} missing from the rendered page"
        );
    }
    for id in ["decision-matrix", "points-table"] {
        assert!(
            dom.contains(&format!("<table id=\"{id}\"")),
            "table {id} missing"
        );
    }
    assert_eq!(
        dom.matches("<svg").count(),
        ids.len(),
        "one inline SVG per chart"
    );
    assert!(dom.contains("Recommendation:"));

    let shot = d.join("report.png");
    let (_, console) = load_in_chromium(
        &browser,
        &out.join("report.html"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,9000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 50_000,
        "the screenshot is nearly blank ({} bytes)",
        png.len()
    );
}

#[test]
fn compare_across_scenarios_ranks_by_regret() {
    let d = scratch("robust");
    std::fs::write(d.join("normal.json"), BASE).unwrap();
    std::fs::write(
        d.join("busy.json"),
        BASE.replace("\"ratePerSecond\": 6", "\"ratePerSecond\": 9"),
    )
    .unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        "--strategies",
        "first,round-robin",
        "--scenarios",
        &s(&d.join("normal.json")),
        &s(&d.join("busy.json")),
        "--seeds",
        "2",
        "--out",
        &s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("== normal") && stdout.contains("== busy"),
        "{stdout}"
    );
    assert!(stdout.contains("Robust choice: round-robin"), "{stdout}");
    for f in [
        "robust.md",
        "robust.json",
        "normal/matrix.json",
        "busy/results.csv",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("robust.json")).unwrap()).unwrap();
    assert_eq!(r["scenarios"], serde_json::json!(["normal", "busy"]));
    assert_eq!(r["maxRegret"][1], 0.0, "round-robin is best in both");
}

#[test]
fn ctrl_c_keeps_the_finished_runs_and_says_how_to_finish() {
    let big = SWEEP
        .replace("\"seeds\": 3", "\"seeds\": 12")
        .replace("\"1..3\"", "\"1..4\"");
    let (d, sweep) = setup("sigint", &big);
    let out = d.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["sweep", &sweep, "--out", &s(&out), "--quiet", "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = out.join("runs.jsonl");
    #[allow(clippy::disallowed_methods)] // a deadline for the test, not a policy
    let started = Instant::now();
    while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sweep made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("runs are kept in") && err.contains("--resume"),
        "{err}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "running");
    let kept = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert_eq!(
        m["completedRuns"], kept,
        "the manifest counts what is on disk"
    );
    assert!(!out.join("results.csv").exists());
    let o = fleetsim(&["sweep", &sweep, "--out", &s(&out), "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(out.join("results.csv").exists());
}

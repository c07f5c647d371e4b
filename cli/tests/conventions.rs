//! The conventions a command-line tool is expected to keep: shell
//! completions, man pages, `--version` with its commit, `-` for standard
//! input, `validate` for every kind of file, and a question before big
//! work.

mod common;

use common::{fleetsim, scratch, text};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(rel: &str) -> String {
    root()
        .join("scenarios")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Runs `fleetsim` in `dir` with `input` on standard input and `env` set.
fn piped(args: &[&str], input: &str, dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Every subcommand, from the top-level help.
fn subcommands() -> Vec<String> {
    let help = text(&fleetsim(&["--help"]).stdout);
    let list = help
        .split("Commands:")
        .nth(1)
        .expect("the help lists its commands");
    let list = list.split("Options:").next().unwrap();
    let names: Vec<String> = list
        .lines()
        // A command's line starts two spaces in; its wrapped text, further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .filter(|w| *w != "help")
        .map(str::to_string)
        .collect();
    for want in ["run", "validate", "sweep", "gate", "completions", "man"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    names
}

#[test]
fn bash_completion_names_every_subcommand_and_every_shell_gets_a_script() {
    let o = fleetsim(&["completions", "bash"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let script = text(&o.stdout);
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for cmd in subcommands() {
        assert!(
            script.contains(&format!("fleetsim__subcmd__{cmd}")),
            "the bash completion lacks `{cmd}`"
        );
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let o = fleetsim(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains("validate"), "{shell}");
    }
    let o = fleetsim(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("bash"), "{}", text(&o.stderr));
}

#[test]
fn man_page_renders_and_names_every_subcommand() {
    let o = fleetsim(&["man"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = text(&o.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "a roff preamble:\n{page}"
    );
    assert!(page.contains(".TH fleetsim 1"), "a roff title header");
    assert!(page.contains(env!("CARGO_PKG_VERSION")));
    for cmd in subcommands() {
        assert!(page.contains(&cmd), "the man page lacks `{cmd}`");
    }
    let dir = scratch("man");
    let out = dir.join("man1");
    let o = fleetsim(&["man", "--out-dir", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let top = std::fs::read_to_string(out.join("fleetsim.1")).unwrap();
    assert_eq!(top, page, "the top page is the one `fleetsim man` prints");
    for cmd in subcommands() {
        let sub = std::fs::read_to_string(out.join(format!("fleetsim-{cmd}.1")))
            .unwrap_or_else(|e| panic!("fleetsim-{cmd}.1: {e}"));
        assert!(sub.contains(".TH fleetsim-"), "{cmd}: {sub}");
    }
}

/// `fleetsim 0.1.0 (f6ed27b 2026-12-07)`, as cargo says it.
#[test]
fn version_names_the_commit_and_its_date() {
    let v = text(&fleetsim(&["--version"]).stdout);
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| text(&o.stdout).trim().to_string())
    };
    let want_start = format!("fleetsim {} (", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want_start) && v.ends_with(")\n"), "{v}");
    match git(&["log", "-1", "--format=%h %cs", "HEAD"]) {
        Some(line) => {
            let (hash, date) = line.split_once(' ').unwrap();
            let inner = &v[want_start.len()..v.len() - 2];
            assert!(inner.starts_with(hash), "{v} lacks {hash}");
            assert!(inner.ends_with(date), "{v} lacks {date}");
            let dirty = inner.contains("-dirty");
            assert!(!dirty || inner == format!("{hash}-dirty {date}"), "{v}");
        }
        None => assert!(v.contains("(no git)"), "{v}"),
    }
    // Every subcommand says the same.
    let sub = text(&fleetsim(&["run", "--version"]).stdout);
    assert_eq!(sub, v.replace("fleetsim ", "fleetsim-run "));
}

#[test]
fn a_dash_reads_the_scenario_from_standard_input() {
    let dir = scratch("stdin");
    let quickstart = std::fs::read_to_string(scenario("quickstart.json")).unwrap();
    let from_file = fleetsim(&[
        "run",
        &scenario("quickstart.json"),
        "--json",
        "--replications",
        "1",
    ]);
    let from_stdin = piped(
        &["run", "-", "--json", "--replications", "1"],
        &quickstart,
        &dir,
        &[],
    );
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    let strip = |o: &Output| {
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "scenarioFile" && k != "file");
        v["runs"].clone()
    };
    assert_eq!(strip(&from_stdin), strip(&from_file), "the same runs");

    // validate and plan read it too; errors name <stdin>.
    let o = piped(&["validate", "-"], &quickstart, &dir, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("ok: <stdin> (scenario)"),
        "{}",
        text(&o.stdout)
    );
    let bad = quickstart.replace("\"least-connections\"", "\"least-connectionz\"");
    assert_ne!(bad, quickstart);
    for cmd in [
        vec!["run", "-"],
        vec!["validate", "-"],
        vec![
            "plan",
            "-",
            "--axis",
            "deployment.regions.us-east-1.instances=1..4",
        ],
        vec![
            "sweep",
            "-",
            "--axis",
            "deployment.regions.us-east-1.instances=1..2",
        ],
        vec!["compare", "-", "--strategies", "round-robin,random"],
    ] {
        let o = piped(&cmd, &bad, &dir, &[]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(
            err.contains("<stdin>: at `deployment.loadBalancing.strategy`"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = piped(&["run", "-"], "", &dir, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("<stdin>: cannot read"),
        "{}",
        text(&o.stderr)
    );
}

/// Relative paths in a scenario read from standard input are relative to
/// the working directory.
#[test]
fn relative_paths_from_standard_input_start_at_the_working_directory() {
    let dir = scratch("stdin-relative");
    std::fs::copy(scenario("quickstart.json"), dir.join("base.json")).unwrap();
    let variant = r#"{ "extends": "base.json", "run": { "replications": 1 } }"#;
    let o = piped(&["validate", "-"], variant, &dir, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let elsewhere = scratch("stdin-elsewhere");
    let o = piped(&["validate", "-"], variant, &elsewhere, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("base.json"), "{}", text(&o.stderr));
    // A YAML scenario is told from JSON by its first character.
    let yaml = "extends: base.json\nrun:\n  replications: 1\n";
    let o = piped(&["validate", "-"], yaml, &dir, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn validate_recognises_sweep_gate_and_baseline_files_and_skips_schemas() {
    let files = [
        "quickstart.json",
        "fleetsim.schema.json",
        "sweep.schema.json",
        "gate.schema.json",
        "sweeps/strategies-by-size.json",
        "gate/gate.json",
        "gate/baseline.json",
    ];
    let args: Vec<String> = files.iter().map(|f| scenario(f)).collect();
    let mut all = vec!["validate"];
    all.extend(args.iter().map(String::as_str));
    let o = fleetsim(&all);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}\n{out}", text(&o.stderr));
    for want in [
        "quickstart.json (scenario)",
        "skipped: ",
        "strategies-by-size.json (sweep file): 15 points x 3 seeds",
        "gate.json (gate file): 10 scenario(s) x 10 seeds; baseline",
        "baseline.json (gate baseline)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert_eq!(out.matches("skipped: ").count(), 3, "{out}");

    // The shipped tree's top level, as `validate scenarios/*.json` sees it.
    let mut top: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    top.sort();
    let mut args = vec!["validate"];
    args.extend(top.iter().map(String::as_str));
    let o = fleetsim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// A bad sweep or gate file gets the error `sweep` or `gate` gives, and
/// exit 2.
#[test]
fn validate_gives_sweep_and_gate_errors() {
    let dir = scratch("validate-kinds");
    std::fs::copy(scenario("quickstart.json"), dir.join("base.json")).unwrap();
    let cases = [
        (
            "sweep.json",
            r#"{ "scenario": "base.json", "axes": { "deployment.loadBalancing.strategy": ["round-robin", "fastest"] } }"#,
            "sweep file",
        ),
        (
            "typo.json",
            r#"{ "scenario": "base.json", "axes": { "run.seed": [1, 2] }, "seedz": 3 }"#,
            "seedz",
        ),
        (
            "gate.json",
            r#"{ "scenarios": ["base.json"], "thresholds": { "p99": "ten percent" } }"#,
            "thresholds.p99",
        ),
        (
            "gate-missing.json",
            r#"{ "scenarios": ["base.json", "missing.json"] }"#,
            "missing.json",
        ),
    ];
    for (name, body, needle) in cases {
        let f = dir.join(name);
        std::fs::write(&f, body).unwrap();
        let f = f.to_string_lossy().into_owned();
        let o = fleetsim(&["validate", &f]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
        if name.starts_with("sweep") || name.starts_with("typo") {
            let s = fleetsim(&["sweep", &f, "--out", dir.join("out").to_str().unwrap()]);
            let sweep_err = text(&s.stderr);
            assert_eq!(s.status.code(), Some(2));
            let first = sweep_err
                .lines()
                .next()
                .unwrap()
                .trim_start_matches("error: ");
            assert!(err.contains(first), "validate: {err}\nsweep: {sweep_err}");
        }
    }
}

const SMALL: &str = r#"{
  "name": "small",
  "run": { "seed": 7, "duration": "2m", "warmup": "10s", "replications": 1 },
  "workload": { "arrivals": { "ratePerSecond": 2 } },
  "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
  "instanceTypes": { "t": { "slots": 4 } },
  "deployment": { "regions": { "r": { "instances": 2, "instanceType": "t" } } }
}"#;

/// Above the limit a sweep does not start without `--yes` (and never asks
/// when standard input is not a terminal); below it, it starts. The
/// estimate counts every point: a small first point does not hide a big
/// last one.
#[test]
fn big_sweeps_need_yes() {
    let dir = scratch("confirm");
    let base = dir.join("small.json");
    std::fs::write(&base, SMALL).unwrap();
    let base = base.to_string_lossy().into_owned();
    let out = dir.join("out");
    let out_s = out.to_string_lossy().into_owned();
    // 2 points x 2 seeds x about 240 requests: about 960.
    let sweep = [
        "sweep",
        base.as_str(),
        "--axis",
        "deployment.regions.r.instances=2,3",
        "--seeds",
        "2",
        "--out",
        out_s.as_str(),
        "--quiet",
    ];
    let refused = piped(&sweep, "", &dir, &[("FLEETSIM_CONFIRM_ABOVE", "500")]);
    let err = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    for want in [
        "simulated requests",
        "4 runs of 2 point(s)",
        "--yes",
        "--seeds",
    ] {
        assert!(err.contains(want), "missing {want:?}: {err}");
    }
    assert!(!out.exists(), "nothing is written before the answer");
    let o = piped(&sweep, "", &dir, &[("FLEETSIM_CONFIRM_ABOVE", "2000")]);
    assert!(o.status.success(), "below the limit: {}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(&out);
    let mut yes = sweep.to_vec();
    yes.push("--yes");
    let o = piped(&yes, "", &dir, &[("FLEETSIM_CONFIRM_ABOVE", "500")]);
    assert!(o.status.success(), "--yes: {}", text(&o.stderr));

    // The default limit: a sweep whose last point lasts a week (1.2e6
    // requests a run, 10,000 seeds) is refused at once, whatever its
    // first point.
    let huge = [
        "sweep",
        base.as_str(),
        "--axis",
        "run.duration=1m,7d",
        "--seeds",
        "10000",
        "--out",
        out_s.as_str(),
    ];
    let o = piped(&huge, "", &dir, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("the largest point"),
        "{}",
        text(&o.stderr)
    );
    // compare and plan ask too.
    let o = piped(
        &[
            "compare",
            base.as_str(),
            "--strategies",
            "round-robin,random",
            "--seeds",
            "50",
        ],
        "",
        &dir,
        &[("FLEETSIM_CONFIRM_ABOVE", "100")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("this comparison simulates"));
    let o = piped(
        &[
            "plan",
            base.as_str(),
            "--axis",
            "deployment.regions.r.instances=1..8",
            "--slo",
            "p99=5s",
        ],
        "",
        &dir,
        &[("FLEETSIM_CONFIRM_ABOVE", "100")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("this plan (at most) simulates"));
    let o = piped(&sweep, "", &dir, &[("FLEETSIM_CONFIRM_ABOVE", "lots")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("FLEETSIM_CONFIRM_ABOVE=lots"));
}

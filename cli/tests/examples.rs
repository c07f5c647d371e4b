//! Every example the user is shown runs here, so help and README cannot
//! drift from the tool.
//!
//! **Where examples come from.**
//! - `--help`: the command tree is walked by running `fleetsim --help` and
//!   `fleetsim <command> --help` (and the `Commands:` of each, so a new
//!   command or subcommand is picked up without editing this file). In a
//!   help text's `Examples:` section (up to the first blank line) a line
//!   starting with `fleetsim ` is a command; a line ending in `\` goes on
//!   on the next; `# ...` (a line of its own, or after the command) is a
//!   comment on the command that follows or precedes it.
//! - `README.md`: in a fenced block marked `sh` (or `bash`, `shell`), every
//!   line that is not a comment is a command (`\` continues it, a leading
//!   `$ ` is dropped); in any other fenced block, lines starting with `$ `
//!   are commands and the lines under one, up to the next `$ ` or the
//!   block's end, are its output. Blocks without such lines (synopses,
//!   JSON, YAML) are not run.
//!
//! **How they run.** From a fresh copy of the repository's `scenarios/`
//! in a temporary directory (so outputs such as `--out sizes/`, a rewritten
//! baseline or `> result.json` never touch the tree), one after another in
//! the order shown, through `sh -c` with the built `fleetsim` first on
//! `PATH` (so globs, quotes and redirections work as pasted). A command
//! that is not `fleetsim` must be listed in [`NOT_RUN`] with the reason.
//!
//! **What is checked.** The exit code: 0, unless a comment on the command
//! says `exits N` (a `--strict` import that meets an unsupported directive
//! exits 1, say), or [`PENDING`] lists it. Where the README shows output,
//! the output (stdout, then stderr) must match it line by line, after
//! these normalisations on both sides: runs of spaces count as one, ends
//! of lines are trimmed, and a version `0.1.0+g<hex>...` reads `VERSION`.
//! A line that is only `...` stands for any number of lines (none
//! included); `...` inside a line stands for any text, so timings, long
//! JSON and figures that are not the point are elided that way. Without a
//! `...` line at its start or end, the shown output must start or end
//! where the real one does.
//!
//! **Width.** Help examples are printed at 80 and at 200 columns and must
//! be the same commands: clap wraps long lines, and a wrapped command can
//! not be pasted.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands shown in the README that this test does not run, with why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "cargo run --release -- run",
        "the README's first command: CI builds and runs it itself",
    ),
    (
        "cargo test --workspace",
        "the README's second command: CI runs it (and this test with it)",
    ),
    (
        "cargo install",
        "installs from the network or the checkout; CI tests installation on its own",
    ),
    (
        "pip install",
        "the Python package: CI builds the wheel and runs its tests in cli/python/ci.sh",
    ),
    (
        "maturin build",
        "the Python package: CI builds the wheel and runs its tests in cli/python/ci.sh",
    ),
];

/// Examples whose exit code is not yet what their text promises, each with
/// the exit code it has today and why. When one starts to pass, remove it.
const PENDING: &[(&str, i32, &str)] = &[];

/// One command to run, where it came from, and what it must give.
#[derive(Debug)]
struct Example {
    command: String,
    origin: String,
    exit: i32,
    output: Option<Vec<String>>,
}

#[test]
fn every_help_example_runs() {
    let examples = help_examples(200);
    assert!(
        examples.len() >= 20,
        "too few help examples found ({}): is the `Examples:` convention still used?",
        examples.len()
    );
    run_all(&examples, "help");
}

#[test]
fn help_examples_are_not_wrapped() {
    let wide: Vec<String> = help_examples(200).into_iter().map(|e| e.command).collect();
    let narrow: Vec<String> = help_examples(80).into_iter().map(|e| e.command).collect();
    assert_eq!(
        narrow, wide,
        "at 80 columns the help's examples are not the commands they are at 200: \
         keep each example line under 80 columns (go on with `\\` on the next line)"
    );
    // The command tree the walk follows does not depend on the width.
    let plain = common::text(&common::fleetsim(&["--help"]).stdout);
    assert_eq!(subcommands(&plain), subcommands(&help(&[], 80)));
    for c in &wide {
        assert!(
            !c.contains("  "),
            "an example reads as a command with a description glued on (two spaces): `{c}`; \
             put the description after `# `"
        );
    }
}

#[test]
fn every_readme_command_runs_and_shows_its_real_output() {
    let examples = readme_examples();
    assert!(
        examples.iter().any(|e| e.output.is_some()),
        "no README output found: is the `$ ` convention still used?"
    );
    run_all(&examples, "readme");
}

// ---- where examples come from ----

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fleetsim"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `fleetsim ARGS --help` at a terminal width of `columns`.
fn help(args: &[String], columns: u32) -> String {
    let out = Command::new(binary())
        .args(args)
        .arg("--help")
        .env("COLUMNS", columns.to_string())
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "`fleetsim {} --help` failed: {}",
        args.join(" "),
        common::text(&out.stderr)
    );
    common::text(&out.stdout)
}

/// The names under a help text's `Commands:` (but `help`).
fn subcommands(help: &str) -> Vec<String> {
    section(help, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect()
}

/// The lines after a line equal to `title`, up to the first blank line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| l.trim_end() != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// Every example of every command's help, walking the command tree.
fn help_examples(columns: u32) -> Vec<Example> {
    let mut out = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let text = help(&path, columns);
        let origin = format!(
            "`fleetsim {}--help`",
            path.iter().map(|p| format!("{p} ")).collect::<String>()
        );
        out.extend(commands_in(&section(&text, "Examples:"), &origin, false));
        for sub in subcommands(&text).into_iter().rev() {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    out
}

/// Commands in lines: `\` continues a line, `#` comments attach to the
/// command they precede or end; with `all`, every non-comment line is a
/// command, else only those starting with `fleetsim `.
fn commands_in(lines: &[&str], origin: &str, all: bool) -> Vec<Example> {
    let mut out = Vec::new();
    let mut comment = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if let Some(c) = line.strip_prefix('#') {
            comment.push_str(c);
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if line.is_empty() || !(all || line.starts_with("fleetsim ") || line == "fleetsim") {
            comment.clear();
            continue;
        }
        let mut command = line.to_string();
        while command.ends_with('\\') && i < lines.len() {
            command.pop();
            command = format!("{} {}", command.trim_end(), lines[i].trim());
            i += 1;
        }
        if let Some(k) = command.find(" #") {
            comment.push_str(&command[k + 2..]);
            command.truncate(k);
        }
        out.push(Example {
            command: command.trim().to_string(),
            origin: origin.to_string(),
            exit: exits(&comment),
            output: None,
        });
        comment.clear();
    }
    out
}

/// The `N` of `exits N` in a comment, else 0.
fn exits(comment: &str) -> i32 {
    comment
        .split("exits ")
        .nth(1)
        .and_then(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The README's commands, with the output it shows under them.
fn readme_examples() -> Vec<Example> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let origin = format!("README.md line {}", n + 1);
        if matches!(lang.trim(), "sh" | "bash" | "shell") {
            out.extend(commands_in(&body, &origin, true));
            continue;
        }
        // Other blocks: `$ ` commands with their output under them.
        let mut k = 0;
        while k < body.len() {
            if !body[k].starts_with("$ ") {
                k += 1;
                continue;
            }
            let start = k;
            k += 1;
            while k < body.len() && body[k - 1].trim_end().ends_with('\\') {
                k += 1;
            }
            let mut ex = commands_in(&body[start..k], &origin, true);
            let shown: Vec<String> = body[k..]
                .iter()
                .take_while(|l| !l.starts_with("$ "))
                .map(|l| l.to_string())
                .collect();
            k += shown.len();
            if let Some(mut e) = ex.pop() {
                e.output = (!shown.is_empty()).then_some(shown);
                out.push(e);
            }
        }
    }
    out
}

// ---- how they run ----

/// A fresh copy of `scenarios/` to run in.
fn workdir(name: &str) -> PathBuf {
    let d = common::scratch(&format!("examples-{name}"));
    copy_dir(&repo().join("scenarios"), &d.join("scenarios"));
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Runs every example in order, then fails naming each that went wrong.
fn run_all(examples: &[Example], name: &str) {
    let dir = workdir(name);
    let bin_dir = binary().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for e in examples {
        if !(e.command == "fleetsim" || e.command.starts_with("fleetsim ")) {
            if !NOT_RUN.iter().any(|(p, _)| e.command.starts_with(p)) {
                failures.push(format!(
                    "{}: `{}` is not a fleetsim command and not in NOT_RUN (add it with the reason)",
                    e.origin, e.command
                ));
            }
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&e.command)
            .current_dir(&dir)
            .env("PATH", &path)
            .env("COLUMNS", "200")
            .output()
            .expect("sh runs");
        let code = out.status.code().unwrap_or(-1);
        let pending = PENDING.iter().find(|(c, _, _)| *c == e.command);
        let want = pending.map_or(e.exit, |(_, code, _)| *code);
        let stdout = common::text(&out.stdout);
        let stderr = common::text(&out.stderr);
        if code != want {
            let why = pending.map_or(String::new(), |(_, _, why)| {
                format!(" (listed in PENDING: {why}; remove it if this is now fixed)")
            });
            failures.push(format!(
                "{}: `{}` exited {code}, expected {want}{why}\n--- stdout\n{}\n--- stderr\n{}",
                e.origin,
                e.command,
                tail(&stdout),
                tail(&stderr)
            ));
            continue;
        }
        if let Some(shown) = &e.output {
            let real = format!("{stdout}{stderr}");
            if let Err(why) = matches(shown, &real) {
                failures.push(format!(
                    "{}: the output shown under `{}` is not what it prints: {why}\n--- printed\n{real}",
                    e.origin, e.command
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

// ---- how output is compared ----

/// A line as compared: trimmed, runs of spaces as one, the version
/// string as `VERSION`.
fn normal(line: &str) -> String {
    let words: Vec<String> = line.split_whitespace().map(version_free).collect();
    words.join(" ")
}

/// `0.1.0+g1a2b3c...` (and anything glued to it) as `VERSION`.
fn version_free(word: &str) -> String {
    let Some(plus) = word.find("+g") else {
        return word.to_string();
    };
    let start = word[..plus]
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    let end = word[plus + 2..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+'))
        .map_or(word.len(), |i| plus + 2 + i);
    if start == plus {
        return word.to_string();
    }
    format!("{}VERSION{}", &word[..start], &word[end..])
}

/// A shown line against a printed one, `...` matching any text.
fn line_matches(shown: &str, real: &str) -> bool {
    let parts: Vec<&str> = shown.split("...").collect();
    if parts.len() == 1 {
        return shown == real;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !real.starts_with(first) || real.len() < first.len() + last.len() || !real.ends_with(last) {
        return false;
    }
    let mut rest = &real[first.len()..real.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// The shown output against the printed one, `...` lines matching any
/// number of lines; on a mismatch, the first shown line that has no place.
fn matches(shown: &[String], real: &str) -> Result<(), String> {
    let mut shown: Vec<String> = shown.iter().map(String::as_str).map(normal).collect();
    while shown.last().is_some_and(String::is_empty) {
        shown.pop();
    }
    let mut real: Vec<String> = real.lines().map(normal).collect();
    while real.last().is_some_and(String::is_empty) {
        real.pop();
    }
    // can[i][j]: shown[i..] matches real[j..].
    let (n, m) = (shown.len(), real.len());
    let mut can = vec![vec![false; m + 1]; n + 1];
    can[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            can[i][j] = if shown[i] == "..." {
                can[i + 1][j] || (j < m && can[i][j + 1])
            } else {
                j < m && line_matches(&shown[i], &real[j]) && can[i + 1][j + 1]
            };
        }
    }
    if can[0][0] {
        return Ok(());
    }
    let missing = shown
        .iter()
        .find(|s| *s != "..." && !real.iter().any(|r| line_matches(s, r)));
    Err(match missing {
        Some(l) => format!("no printed line matches `{l}`"),
        None => "every shown line is printed, but not in this order or not adjacent \
                 (write a `...` line where lines are left out)"
            .into(),
    })
}

#[test]
fn the_output_convention_holds() {
    let real = "fleetsim 0.1.0+g1a2b3c4d5e6f-dirty\nA  1\nB 2\nC 3\n";
    let ok = |s: &[&str]| matches(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>(), real);
    assert!(ok(&["fleetsim 0.1.0+gffffff", "A 1", "..."]).is_ok());
    assert!(ok(&["...", "B 2", "C 3"]).is_ok());
    assert!(ok(&["...", "B ...", "..."]).is_ok());
    assert!(ok(&["fleetsim ...", "...", "C 3"]).is_ok());
    assert!(ok(&["A 1", "..."]).is_err(), "the start is not elided");
    assert!(ok(&["...", "B 2"]).is_err(), "the end is not elided");
    assert!(
        ok(&["...", "A 1", "C 3"]).is_err(),
        "lines left out need `...`"
    );
    assert!(ok(&["...", "B 3", "..."]).is_err(), "a wrong figure");
    assert_eq!(exits("here a backup server (exits 1)"), 1);
    assert_eq!(exits("the fragment"), 0);
    let c = commands_in(
        &[
            "# a comment",
            "fleetsim a \\",
            "    --b c  # exits 2",
            "not this",
        ],
        "t",
        false,
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].command, "fleetsim a --b c");
    assert_eq!(c[0].exit, 2);
}

//! `fleetsim gate`: run a suite and compare it with its baseline, or
//! write the baseline.

use crate::args::GateArgs;
use crate::failure::Failure;
use crate::output::Stdout;
use crate::progress;
use crate::sweep::jobs;
use reports::gate::{compare, measure, Baseline, Suite};
use sim_core::{Engine, Model};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn input(msg: String) -> Failure {
    Failure::Input(anyhow::anyhow!(msg))
}

/// Checks before any run that `path` can be written: its directory exists.
fn writable(path: &Path, flag: &str) -> Result<(PathBuf, String), Failure> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| input(format!("{flag} {}: not a file name", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(input(format!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok((dir, name))
}

fn write(target: &(PathBuf, String), text: &str) -> Result<PathBuf, Failure> {
    reports::write_atomic(&target.0, &target.1, text.as_bytes()).map_err(|e| Failure::Io(e.into()))
}

pub(crate) fn gate(a: GateArgs) -> Result<ExitCode, Failure> {
    let mut suite = Suite::read(&a.suite)?;
    if let Some(n) = a.seeds {
        suite.seeds = n;
    }
    if let Some(b) = &a.baseline {
        suite.baseline = b.clone();
    }
    let baseline_out = writable(&suite.baseline, "--baseline")?;
    let markdown = a
        .markdown
        .as_deref()
        .map(|p| writable(p, "--markdown"))
        .transpose()?;
    let junit = a
        .junit
        .as_deref()
        .map(|p| writable(p, "--junit"))
        .transpose()?;
    let baseline = if a.update_baseline {
        None
    } else {
        if !suite.baseline.exists() {
            return Err(input(format!(
                "no baseline at {}: write it with `fleetsim gate {} --update-baseline` and commit it",
                suite.baseline.display(),
                a.suite.display()
            )));
        }
        Some(Baseline::read(&suite.baseline)?)
    };

    let control = progress::interruptible();
    let run = |m: &Model, seed: u32| Engine::new(m, seed).run_with(control);
    let started = progress::now();
    let measured = measure(&suite, a.seed, jobs(a.jobs), &run)?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut stdout = Stdout::default();

    let Some(baseline) = baseline else {
        let b = Baseline {
            format_version: reports::contract::BASELINE,
            fleetsim_version: sim_core::VERSION.to_string(),
            seeds: suite.seeds,
            scenarios: measured,
        };
        let path = write(&baseline_out, &b.to_json())?;
        stdout.emit(&format!(
            "wrote {} ({} scenario(s) x {} seeds, {elapsed:.1}s); commit it\n",
            path.display(),
            b.scenarios.len(),
            b.seeds
        ))?;
        return Ok(ExitCode::SUCCESS);
    };

    let report = compare(&suite, &baseline, &measured);
    if let Some(t) = &markdown {
        write(t, &report.to_markdown())?;
    }
    if let Some(t) = &junit {
        write(t, &report.to_junit())?;
    }
    if a.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::Io(e.into()))?;
        stdout.emit(&format!("{json}\n"))?;
    } else {
        stdout.emit(&report.to_table())?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

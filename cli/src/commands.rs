//! The subcommands: each parses nothing itself, calls the libraries and
//! says which exit code fits.

use crate::args::{Cli, Command, RunArgs, SchemaArgs, SchemaKind};
use crate::failure::Failure;
use crate::output::{OutDir, Stdout};
use crate::progress;
use crate::sweep;
use crate::trace_requests::TraceTarget;
use sim_core::{run_model_traced, run_model_with, Model, RunOptions, ScenarioError};
use std::path::Path;
use std::process::ExitCode;

/// The built-in quickstart scenario, so `fleetsim run` works anywhere.
const QUICKSTART: &str = include_str!("../../scenarios/quickstart.json");
const QUICKSTART_NAME: &str = "quickstart.json (built in)";

pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(a) => run(a),
        Command::Validate(a) => crate::validate::validate(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Merge(a) => sweep::merge(a),
        Command::Compare(a) => crate::compare::compare(a),
        Command::Report(a) => crate::report::report(a),
        Command::Gate(a) => crate::gate::gate(a),
        Command::Plan(a) => crate::plan::plan(a),
        Command::Import(a) => crate::import::import(a),
        Command::Proxy(a) => crate::proxy::proxy(a),
        Command::Fit(a) => crate::fit::fit(a),
        Command::Calibrate(a) => crate::calibrate::calibrate(a),
        Command::Schema(a) => schema(a),
        Command::Completions(a) => crate::shell::completions(a),
        Command::Man(a) => crate::shell::man(a),
    }
}

fn load(path: Option<&Path>) -> Result<Model, ScenarioError> {
    match path {
        Some(p) => Model::from_file(p),
        None => Model::from_json(QUICKSTART, QUICKSTART_NAME),
    }
}

fn run(a: RunArgs) -> Result<ExitCode, Failure> {
    let model = load(a.scenario.as_deref())?;
    // Checked before the run, so a bad directory costs nothing.
    let out = a.out.as_deref().map(OutDir::prepare).transpose()?;
    if let Some(dir) = &out {
        // What a killed earlier run left half written.
        reports::remove_stale_temporaries(
            dir.path(),
            &["result.json", "timeseries.csv", "scaling.csv"],
        );
    }
    let opts = RunOptions {
        seed: a.seed,
        replications: a.replications,
    };
    let mut trace = match &a.trace_requests {
        Some(path) => Some(TraceTarget::open(path, a.sample.unwrap_or(1))?),
        None => None,
    };
    let control = progress::interruptible();
    let reps = opts.replications.unwrap_or(model.run.replications);
    let result = progress::watch(&model, reps, control, a.quiet, || match &mut trace {
        Some((_, book)) => run_model_traced(&model, opts, control, book),
        None => run_model_with(&model, opts, control),
    });
    let result = match (result, trace) {
        (Ok(r), Some((target, mut book))) => {
            let summary = target.summary(&book);
            target.finish(&mut book)?;
            eprint!("{summary}");
            r
        }
        (Ok(r), None) => r,
        (Err(e), trace) => {
            if let Some((target, _)) = trace {
                target.abandon();
            }
            return Err(e.into());
        }
    };
    let json = serde_json::to_string_pretty(&result).map_err(|e| Failure::Io(e.into()))?;
    let mut stdout = Stdout::default();
    let written = match &out {
        Some(dir) => {
            // One set: result.json, renamed last, stands for all three.
            let (series, scaling) = (reports::series_csv(&result), reports::scaling_csv(&result));
            let result_json = format!("{}\n", with_files(&result)?);
            let files: [(&str, &[u8]); 3] = [
                ("timeseries.csv", series.as_bytes()),
                ("scaling.csv", scaling.as_bytes()),
                ("result.json", result_json.as_bytes()),
            ];
            reports::write_set(dir.path(), &files, "result.json")
                .map_err(|e| Failure::Io(e.into()))?;
            Some(dir.path().join("result.json"))
        }
        None => None,
    };
    if a.json {
        stdout.emit(&format!("{json}\n"))?;
    } else {
        stdout.emit(&reports::summary_table(&result))?;
        if let Some(path) = written {
            stdout.emit(&format!(
                "\nwrote {} (and timeseries.csv, scaling.csv)\n",
                path.display()
            ))?;
        }
    }
    if a.fail_on_slo && !result.pooled.slo.pass {
        eprintln!("SLO missed: exiting with code 1 (--fail-on-slo)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `result.json` as `run --out` writes it: the result, and the files
/// written beside it with their formats and versions (the carrier of the
/// CSV files' versions).
fn with_files(result: &sim_core::ScenarioResult) -> Result<String, Failure> {
    use reports::contract::{FileInfo, RESULT, RUN_CSV};
    let mut v = serde_json::to_value(result).map_err(|e| Failure::Io(e.into()))?;
    let files = [
        FileInfo::new("result.json", RESULT),
        FileInfo::new("timeseries.csv", RUN_CSV),
        FileInfo::new("scaling.csv", RUN_CSV),
    ];
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "files".into(),
            serde_json::to_value(files).map_err(|e| Failure::Io(e.into()))?,
        );
    }
    serde_json::to_string_pretty(&v).map_err(|e| Failure::Io(e.into()))
}

fn schema(a: SchemaArgs) -> Result<ExitCode, Failure> {
    let schema = match a.kind {
        SchemaKind::Scenario => sim_core::json_schema(),
        SchemaKind::Sweep => reports::sweep::schema::json_schema(),
        SchemaKind::Gate => reports::gate::schema::json_schema(),
    };
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Failure::Io(e.into()))?;
    Stdout::default().emit(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}

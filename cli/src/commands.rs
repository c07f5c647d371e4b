//! The subcommands: each parses nothing itself, calls the libraries and
//! says which exit code fits.

use crate::args::{Cli, Command, RunArgs, ValidateArgs};
use crate::output::write_atomic;
use sim_core::{run_model, Model, RunOptions, ScenarioError};
use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// The built-in quickstart scenario, so `fleetsim run` works anywhere.
const QUICKSTART: &str = include_str!("../../scenarios/quickstart.json");
const QUICKSTART_NAME: &str = "quickstart.json (built in)";

/// A failure, classified by the exit code it deserves.
pub(crate) enum Failure {
    /// Bad input: exit 2.
    Input(anyhow::Error),
    /// Anything else that stopped the run: exit 1.
    Run(anyhow::Error),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Input(_) => ExitCode::from(2),
            Failure::Run(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self {
            Failure::Input(e) | Failure::Run(e) => e,
        };
        if f.alternate() {
            write!(f, "{e:#}")
        } else {
            write!(f, "{e}")
        }
    }
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Failure {
        Failure::Input(e.into())
    }
}

pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(a) => run(a),
        Command::Validate(a) => validate(a),
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
    let opts = RunOptions {
        seed: a.seed,
        replications: a.replications,
    };
    let result = run_model(&model, opts).map_err(|e| Failure::Run(e.into()))?;
    let json = serde_json::to_string_pretty(&result).map_err(|e| Failure::Run(e.into()))?;
    if let Some(dir) = &a.out {
        write_atomic(dir, "result.json", format!("{json}\n").as_bytes()).map_err(Failure::Run)?;
    }
    if a.json {
        println!("{json}");
    } else {
        print!("{}", reports::summary_table(&result));
        if let Some(dir) = &a.out {
            println!("\nwrote {}", dir.join("result.json").display());
        }
    }
    if a.fail_on_slo && !result.pooled.slo.pass {
        eprintln!("SLO missed: exiting with code 1 (--fail-on-slo)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(a: ValidateArgs) -> Result<ExitCode, Failure> {
    let mut bad = 0usize;
    for path in &a.scenarios {
        match Model::from_file(path) {
            Ok(m) => {
                println!("ok: {}", path.display());
                print!("{}", reports::describe_model(&m));
            }
            Err(e) => {
                bad += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} scenario file(s) invalid", a.scenarios.len());
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

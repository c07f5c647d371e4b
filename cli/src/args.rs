//! Command-line arguments, as clap sees them.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const RUN_EXAMPLES: &str = "\
Examples:
  fleetsim run                                   run the built-in quickstart scenario
  fleetsim run scenarios/quickstart.json         run a scenario file
  fleetsim run my.json --seed 7 --replications 10
  fleetsim run my.json --json > result.json      the whole result as JSON
  fleetsim run my.json --out results/            also write result.json, timeseries.csv, scaling.csv
  fleetsim run my.json --fail-on-slo             exit 1 when the SLO is missed (for CI)";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  fleetsim validate scenarios/quickstart.json
  fleetsim validate scenarios/*.json";

/// Simulate fleets of LLM-agent service instances before production:
/// balancers, limits and timeouts against a modelled workload, with
/// latency, errors, load spread and cost you can trust.
#[derive(Debug, Parser)]
#[command(name = "fleetsim", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 a check failed (--fail-on-slo), 2 bad input or usage, \
3 results could not be written (or an internal error), 130 interrupted.\n\
Run `fleetsim <command> --help` for a command's options and examples."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a scenario and print a summary of what the fleet did.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Check scenario files and print what each one resolves to.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenario file (JSON). Without one, the built-in quickstart runs.
    pub(crate) scenario: Option<PathBuf>,
    /// Master seed, replacing the scenario's `run.seed`.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Independent replications, replacing `run.replications`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) replications: Option<u32>,
    /// Print the whole result as JSON on stdout instead of the summary.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write `result.json`, `timeseries.csv` and `scaling.csv` into
    /// this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Exit with code 1 when the pooled result misses the scenario's SLO.
    #[arg(long)]
    pub(crate) fail_on_slo: bool,
    /// No estimate and no progress bar on stderr for long runs.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true, value_name = "SCENARIO")]
    pub(crate) scenarios: Vec<PathBuf>,
}

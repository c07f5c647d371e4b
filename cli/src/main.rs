//! `fleetsim`: simulate fleets of LLM-agent service instances before
//! production.
//!
//! A thin layer: parse arguments, call the libraries, print, and map the
//! outcome to an exit code ([`failure`] lists them: 0 ok, 1 a check failed,
//! 2 bad input or usage, 3 could not finish, 130 interrupted).

mod args;
mod commands;
mod compare;
mod failure;
mod gate;
mod output;
mod plan;
mod progress;
mod report;
mod sweep;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

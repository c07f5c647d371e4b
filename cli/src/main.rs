//! `fleetsim`: simulate fleets of LLM-agent service instances before
//! production.
//!
//! A thin layer: parse arguments, call the libraries, print, and map the
//! outcome to an exit code ([`failure`] lists them: 0 ok, 1 a check failed,
//! 2 bad input or usage, 3 could not finish, 130 interrupted).
//!
//! # Where things live
//!
//! Paths are relative to `cli/src/`; the work itself is in the `reports`
//! and `sim-core` crates.
//!
//! | behaviour | where |
//! |---|---|
//! | which subcommands and flags exist, with their `--help` examples | `args.rs` `Cli`, `Command`, the `*Args` structs, the `*_EXAMPLES` texts |
//! | the test that runs every `--help` example and README command (and checks the README's output) | `../tests/examples.rs`: its top comment gives the conventions (`# comment`, `exits N`, `...`) |
//! | which function runs each subcommand | `commands.rs` `dispatch` |
//! | what `fleetsim run` does: the built-in quickstart, `--json`, `--out`, `--fail-on-slo` | `commands.rs` `run`, `load`, `QUICKSTART` |
//! | `fleetsim validate`: which kind of file it took each for (scenario, sweep, gate, baseline, schema) and how each kind is checked | `validate.rs` `validate`, `Kind::of`, `check` |
//! | `fleetsim schema [scenario\|sweep\|gate]` | `commands.rs` `schema`; the schemas: `sim_core::json_schema`, `reports::sweep::schema`, `reports::gate::schema` |
//! | `--version`: the version, the commit and its date | `args.rs` `version` (the commit line comes from `sim-core/build.rs`, `sim_core::COMMIT`) |
//! | `fleetsim completions SHELL` and `fleetsim man [--out-dir DIR]` | `shell.rs` `completions`, `man` |
//! | `-` for standard input, and how it is named in errors (`<stdin>`) | `sim_core::STDIN`, read once in `sim-core/src/scenario/load.rs` `read_text`; named by `sim_core::shown_path` |
//! | when a sweep, comparison or plan asks before it starts (`--yes`), and its work estimate from every point | `confirm.rs` `Work::of_models`, `confirm`, `CONFIRM_ABOVE_REQUESTS` |
//! | `run --trace-requests FILE [--sample N]`: the trace's format, its temporary file, the slowest stories on stderr | `trace_requests.rs` `TraceTarget`; the rows: `sim_core::request_trace` |
//! | `fleetsim fit FILE.csv`: the column read (bad cells by line and column), the unit, the report and chart written | `fit/mod.rs` `fit`, `fit/column.rs` `read_column`; the maths: `reports::fit` |
//! | `fleetsim import`: a native config's fragment and mapping report, `--strict` | `import.rs` `import`; the reading itself is `sim_core::native` |
//! | where exit codes are decided | `failure.rs` `Failure::exit_code`, `impl From<SimError> for Failure` (2, 3, 130); 1 in `commands.rs` `run`, `gate.rs` `gate`, `plan.rs` `plan`; 2 from `validate` and from clap in `main` |
//! | how an error is printed | `main.rs` `main`; `failure.rs` `impl Display for Failure` |
//! | why output to a reader that has gone (`head -1`) ends quietly | `output.rs` `Stdout::emit` |
//! | how a bad `--out` is caught before any run | `output.rs` `OutDir::prepare` |
//! | where progress bars are drawn, and the plain lines in CI logs | `progress.rs` `watch` (one run), `Counter` (the runs of a sweep) |
//! | the "this run takes about N min" note | `progress.rs` `watch`, `expected_secs`, `EVENTS_PER_CORE_SECOND` |
//! | how Ctrl-C stops a run, and a second Ctrl-C exits at once | `progress.rs` `interruptible` |
//! | how a sweep file or `--axis` and `--zip` become a sweep | `sweep.rs` `spec_of` |
//! | how a sweep resumes from its journal | `reports::study::Study::open` (with `--resume`); the front end: `sweep.rs` `run_sweep` |
//! | where the output directory is named when `--out` is absent | `sweep.rs` `out_dir` |
//! | where the share comes from: `--shard`, a Slurm array, a Kubernetes Indexed Job | `sweep.rs` `shard_of` |
//! | how shares are checked and merged | `reports::study::merge` |
//! | how many threads `--jobs` gives by default, and where the runs execute | `reports::study::pool` `jobs`, `Pool` |
//! | what `compare` runs for `--strategies` or `--variants`, and where the matrix goes | `compare.rs` `spec_of`, `compare`, `write_matrix` |
//! | `compare --scenarios`: a comparison per scenario, then the robust ranking | `compare.rs` `compare_robust` |
//! | `fleetsim report` | `report.rs` `report` |
//! | how `gate` checks its output paths, then compares or writes the baseline | `gate.rs` `gate`, `writable` |
//! | how `plan --slo` becomes an axis, and when `--max-load` runs instead | `plan.rs` `slo_axis`, `plan` |
//! | `fleetsim proxy`: the scenario's deployment in front of real backends, through `strategies::tower` | `proxy/mod.rs` (its table maps the rest) |
//! | `fleetsim calibrate`: the run's steps, and the children killed on every exit path | `calibrate/mod.rs` `calibrate`, `calibrate/targets.rs` `Child` (a guard) |
//! | the synthetic loopback backends (slots, FIFO queue, precise waits) | `calibrate/backends.rs` `Backends::start`, `wait_until` |
//! | the open-loop load, its schedule and lateness | `calibrate/load.rs` `Schedule::poisson`, `drive` |
//! | the nginx config made from a scenario's balancer, `fleetsim proxy` as a child | `calibrate/targets.rs` `nginx_conf`, `Target::start` |
//! | the path's own cost, measured with zero service time | `calibrate/overhead.rs` `measure` |
//! | the simulation's replications and the paired replay (a `service_time` trace), real against simulated | `calibrate/compare.rs` `paired`, `replications`, `compare` |
//! | what calibrate writes and prints (CSV, JSON `formatVersion`, the chart) | `calibrate/output.rs`; contract `reports/contracts/calibration.schema.json` |
//! | the Python package (`import fleetsim`): the same library calls from Python | `../python/` (its `src/lib.rs` maps it) |

mod args;
mod calibrate;
mod commands;
mod compare;
mod confirm;
mod failure;
mod fit;
mod gate;
mod import;
mod output;
mod plan;
mod progress;
mod proxy;
mod report;
mod shell;
mod sweep;
mod trace_requests;
mod validate;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

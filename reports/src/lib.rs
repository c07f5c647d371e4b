//! Human-readable reports of fleetsim runs.
//!
//! The engine (`sim-core`) produces data: a [`sim_core::ScenarioResult`]
//! per scenario run and a [`sim_core::Model`] per checked scenario. This
//! crate turns them into what a person reads in a terminal:
//!
//! - [`summary_table`]: the run summary `fleetsim run` prints: requests by
//!   outcome, latency percentiles, throughput, load spread, cost, the SLO
//!   verdict, and with several replications each metric's 95% interval;
//! - [`describe_model`]: what a scenario resolves to, as `fleetsim
//!   validate` prints it;
//! - [`series_csv`] and [`scaling_csv`]: the time series and the scaling
//!   log, as `fleetsim run --out` writes them.
//!
//! # Where things live
//!
//! Paths are relative to `reports/src/`; private helpers are named where
//! they hold the rule.
//!
//! | behaviour | where |
//! |---|---|
//! | what `fleetsim run` prints, and its steady-state warning; metrics a scenario does not measure left out | `summary.rs` `summary_table`, `steadiness`, `replications` |
//! | what `fleetsim validate` prints for a scenario | `describe.rs` `describe_model` |
//! | the offered load on every resource and the bottleneck, in validate and the run header | `describe.rs` `load_line`, `load_header` (the figures: `sim_core::Model::offered_load`) |
//! | a request trace (`run --trace-requests`) as Parquet, a row group at a time | `trace_parquet.rs` `ParquetTraceSink` (the rows themselves: `sim_core::request_trace`) |
//! | findings (settings that cannot act) as text and Markdown | `findings.rs` `findings_text`, `findings_markdown` (found by `sim-core`'s `lint`) |
//! | the `timeseries.csv` and `scaling.csv` of `run --out` | `csv.rs` `series_csv`, `scaling_csv` |
//! | how durations (in their natural unit: `1.5ms`, `90s`, `28m`, `1d`), money, shares and counts are shown; how files are written atomically | `format.rs` `secs`, `short`, `money`, `percent`, `count`; `files.rs` `write_atomic` |
//! | how `--axis PATH=VALUES` is parsed: lists, ranges, JSON paths | `sweep/axis.rs` `Axis::parse_arg`, `Axis::from_json`; `sweep/path.rs` `JsonPath::parse`, `JsonPath::set` |
//! | how a sweep file is read, and how its axes cross or zip into points | `sweep/spec.rs` `SweepSpec::from_file`, `SweepSpec::from_args`, `grid_index` |
//! | where every point's scenario is built and checked before any run; the sweep's hash | `sweep/plan.rs` `Sweep::prepare` |
//! | where every run of sweep, compare, gate and plan executes in parallel, and why `--jobs` changes no result | `study/pool.rs` `Pool`, `map`, `stream` |
//! | a sweep's lifecycle: open, resume, run, finish, merge | `study/mod.rs` `Study::open`, `Study::run`, `finish`, `merge` |
//! | the one error type, and which of its kinds are the user's to fix | `error.rs` `Error`, `Error::is_input` |
//! | which metrics a sweep keeps of each run | `sweep/record.rs` `METRICS`, `QUANTILES`, `RunRecord::of` |
//! | how a sweep resumes from its journal | `sweep/store.rs` `read_journal` (drops a torn last line), `Journal::open` (the lock), `Journal::append`; the resume itself: `study/mod.rs` `Study::open` |
//! | where a sweep is sharded, and what must hold before shares merge | `sweep/store.rs` `Shard::owns`, `Manifest::runs_here`; `sweep/assemble.rs` `check_complete` |
//! | the tables a finished sweep writes and prints | `sweep/assemble.rs` `write_tables`, `summarise_points`; `points.rs` `points_table` |
//! | how options are scored (log-ratios against a baseline, the margin, identical criteria left out), and the property tests that the recommendation is stable | `decide/score.rs` `score`, `Utility`, `Scores::beaten_everywhere`, `DEFAULT_MARGIN` |
//! | the decision matrix's criteria, what `--weights`, `--margin` and `--baseline` set, and the lines under the verdict | `decide/matrix.rs` `Matrix::build`, `CRITERIA`, `Settings`, `parse_weights`, `parse_margin`, `pairwise` |
//! | each metric's range, and so its interval (Wilson's, or t cut at the range) | `catalogue.rs` `Metric::bounds`; the method: `sim_core::stats` `Bounds::interval` |
//! | how two options are compared on the same seeds | `decide/paired.rs` `Paired::of`, `Paired::verdict`, `sentence` |
//! | the recommendation in words, and the matrix as a table, Markdown or CSV | `decide/render.rs` `Matrix::verdict`, `Matrix::to_table`, `Matrix::to_markdown`, `Matrix::to_csv` |
//! | how `compare --scenarios` ranks options by maximum regret | `decide/robust.rs` `Robust::build`, `rank` |
//! | the JSON Schemas of sweep and gate files (`fleetsim schema sweep`, `gate`), and the keys they share with the readers | `sweep/schema.rs` `json_schema`, `sweep/spec.rs` `SWEEP_KEYS`; `gate/schema.rs` `json_schema`, `gate/suite.rs` `GATE_KEYS`, `THRESHOLD_KEYS` |
//! | how a gate suite is read and run, and what the baseline keeps | `gate/suite.rs` `Suite::read`, `Thresholds`; `gate/measure.rs` `measure`, `Sample`, `Baseline` |
//! | where the gate compares against its baseline, and its exit code | `gate/check.rs` `compare`, `judge`, `floor_check`, `GateReport::exit_code` |
//! | the gate's terminal table, Markdown summary (folded to one heading when every check passed) and JUnit XML | `gate/render.rs` `GateReport::to_table`, `GateReport::to_markdown` (`all_passed`), `GateReport::to_junit` |
//! | when a plan point meets the SLO, or is stopped early | `plan/evaluate.rs` `evaluate`, `summarise` |
//! | where plan checks the SLO against the floor no fleet can beat, before searching | `plan/floor.rs` `check`, `unqueued` |
//! | where plan bisects on instance count, from an Erlang C start | `plan/search.rs` `search`, `instances_axis`, `erlang_start`, `erlang_c` |
//! | how plan picks the cheapest point, says what binds, and writes its files | `plan/mod.rs` `plan`, `bind`; `plan/render.rs` `Plan::to_text`, `Plan::write` |
//! | how `plan --max-load` bisects the arrival rate | `plan/max_load.rs` `max_load` |
//! | every output's `formatVersion`, the `fleetsimVersion` key, the `files` listing that carries a CSV's version, how paths are made relative to the output directory | `contract/mod.rs` `MANIFEST`, `RUNS`, `TABLES`, ..., `FileInfo`, `relative_to`, `command_line` (a result's version: `sim_core::RESULT_FORMAT_VERSION`) |
//! | the column tables of every CSV and Parquet output, and the check of a real file against one | `contract/tables.rs` `tables`, `tables_markdown`, `expected_columns`; `contract/check.rs` `check_csv`, `check_parquet` |
//! | the JSON Schemas shipped in `reports/contracts/` (`runs.schema.json` generated, the others by hand) | `contract/schemas.rs` `runs_schema`, `SHIPPED` |
//! | how a `runs.jsonl` line names its values (metrics by column, quantiles `p0`..`p100`) | `sweep/record.rs` `Line`, `quantile_key` |
//! | `fleetsim fit`: each family's maximum-likelihood fit to measured values, its KS distance, the ranking and the scenario block to paste; the Q-Q chart | `fit/mod.rs` `fit_all`, `fit_one`; `fit/mle.rs`; `fit/ks.rs`; `fit/render.rs` `FitReport::to_text`, `to_json`; `fit/qq.rs` `write_qq` |
//! | `fleetsim report` on a `compare --scenarios` directory | `report/robust.rs` `write_robust_report` |
//! | what `fleetsim report` draws, and how each chart becomes SVG and PNG | `report/mod.rs` `write_report`; `report/html.rs` `page`; `report/charts/mod.rs` `render`, `Chart`; `report/charts/lines.rs` `Cdf`, `Trend`, `OverTime`; `report/charts/shapes.rs` `Pareto`, `pareto_front`, `Load`, `Heatmap` |
//!
//! # Example
//!
//! ```
//! let json = r#"{
//!   "name": "tiny", "run": { "duration": "2m" },
//!   "workload": { "arrivals": { "ratePerSecond": 1 } },
//!   "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "500ms" } } } },
//!   "instanceTypes": { "t": { "slots": 2 } },
//!   "deployment": { "regions": { "r": { "instances": 1 } } }
//! }"#;
//! let model = sim_core::Model::from_json(json, "tiny.json").unwrap();
//! let result = sim_core::run_model(&model, Default::default()).unwrap();
//! let text = reports::summary_table(&result);
//! assert!(text.contains("Latency"));
//! ```

pub mod catalogue;
pub mod contract;
mod csv;
pub mod decide;
mod describe;
mod error;
mod files;
mod findings;
pub mod fit;
mod format;
pub mod gate;
pub mod plan;
mod points;
pub mod report;
pub mod study;
mod summary;
pub mod sweep;
mod trace_parquet;

pub use csv::{scaling_csv, series_csv};
pub use describe::describe_model;
pub use error::{Error, Result};
pub use files::{remove_stale_temporaries, write_atomic, write_set};
pub use findings::{findings_markdown, findings_text};
pub use format::{count, money, percent, secs, short};
pub use points::{points_table, short_names};
pub use summary::summary_table;
pub use trace_parquet::{ParquetTraceSink, ROW_GROUP};

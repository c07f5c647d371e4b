//! The column tables of every CSV and Parquet output: name, type, unit
//! and meaning of each column, built from the same definitions the
//! writers use (the metric catalogue, the trace's columns), so the tables
//! shipped in `reports/contracts/README.md` cannot drift from the files.

use crate::catalogue::{Kind, Unit, CATALOGUE};
use std::fmt::Write;

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDoc {
    /// Its name, or a pattern in angle brackets (`<axis path>`).
    pub name: String,
    /// `Int64`, `Float64`, `Boolean` or `String` (as Parquet and polars
    /// read it; CSV holds the same values as text).
    pub dtype: &'static str,
    /// Its unit, or empty.
    pub unit: &'static str,
    /// What it holds.
    pub meaning: String,
}

/// One table, and the files that hold it.
#[derive(Debug, Clone)]
pub struct TableDoc {
    /// A short id (`results`).
    pub id: &'static str,
    /// The files that hold it.
    pub files: &'static str,
    /// Its format version.
    pub format_version: u32,
    /// What a row is.
    pub row: &'static str,
    /// The columns in order.
    pub columns: Vec<ColumnDoc>,
}

/// The pattern row that stands for a sweep's axis columns.
pub const AXIS_COLUMNS: &str = "<axis path>";
/// The suffixes each metric gets in `points.csv`.
pub const POINT_SUFFIXES: [&str; 3] = ["_mean", "_ci_low", "_ci_high"];

fn col(name: &str, dtype: &'static str, unit: &'static str, meaning: &str) -> ColumnDoc {
    ColumnDoc {
        name: name.to_string(),
        dtype,
        unit,
        meaning: meaning.to_string(),
    }
}

fn unit_of(u: Unit, column: &str) -> &'static str {
    match u {
        _ if column.ends_with("_per_s") => "per second",
        _ if column.ends_with("_s") => "seconds",
        Unit::Seconds => "seconds",
        Unit::Share => "share (0 to 1)",
        Unit::PerSecond => "per second",
        Unit::Money => "currency",
        Unit::MoneyPerHour => "currency per hour",
        Unit::Plain => "",
    }
}

fn axis_row() -> ColumnDoc {
    col(
        AXIS_COLUMNS,
        "Int64, Float64, Boolean or String",
        "",
        "one column per axis, named by its JSON path (`variant` for whole scenarios); Int64 when every value is a whole number, Float64 when every value is a number, Boolean when every value is one, else String",
    )
}

/// The metric columns of `results.csv` and `results.parquet`.
pub fn metric_columns() -> Vec<ColumnDoc> {
    CATALOGUE
        .iter()
        .map(|m| {
            let (dtype, unit) = match m.kind {
                // A yes/no per run has no unit (its share of seeds does).
                _ if m.is_flag() => ("Boolean", ""),
                Kind::Count => ("Int64", unit_of(m.unit, m.column)),
                Kind::Real => ("Float64", unit_of(m.unit, m.column)),
            };
            col(m.column, dtype, unit, m.label)
        })
        .collect()
}

/// Every table, in the order the contracts list them.
pub fn tables() -> Vec<TableDoc> {
    let mut results = vec![
        col("point", "Int64", "", "grid point, from 0"),
        col("seed", "Int64", "", "seed number of the point, from 0"),
        axis_row(),
    ];
    results.extend(metric_columns());
    let mut points = vec![
        col("point", "Int64", "", "grid point, from 0"),
        col("seeds", "Int64", "", "seeds behind each figure"),
        axis_row(),
    ];
    for m in metric_columns() {
        let unit = if m.dtype == "Boolean" {
            "share of seeds"
        } else {
            m.unit
        };
        for (suffix, what) in POINT_SUFFIXES.iter().zip([
            "mean across seeds",
            "low end of the 95% interval (empty with one seed)",
            "high end of the 95% interval (empty with one seed)",
        ]) {
            points.push(col(
                &format!("{}{suffix}", m.name),
                "Float64",
                unit,
                &format!("{}: {what}", m.meaning),
            ));
        }
    }
    vec![
        TableDoc {
            id: "results",
            files: "`results.csv`, `results.parquet` (sweep, compare, merge)",
            format_version: super::TABLES,
            row: "one run (a point on one seed); empty cells (Parquet nulls) where a run has no value",
            columns: results,
        },
        TableDoc {
            id: "points",
            files: "`points.csv` (sweep, compare, merge)",
            format_version: super::TABLES,
            row: "one grid point: each metric of `results` as its mean and 95% interval across seeds",
            columns: points,
        },
        TableDoc {
            id: "trace",
            files: "`run --trace-requests FILE.csv` or `FILE.parquet`",
            format_version: super::TRACE,
            row: "one request of replication 0 (every N-th with `--sample N`)",
            columns: trace_columns(),
        },
        TableDoc {
            id: "timeseries",
            files: "`timeseries.csv` (`run --out`)",
            format_version: super::RUN_CSV,
            row: "one interval of one replication",
            columns: timeseries_columns(),
        },
        TableDoc {
            id: "scaling",
            files: "`scaling.csv` (`run --out`)",
            format_version: super::RUN_CSV,
            row: "one scaling decision of one replication",
            columns: scaling_columns(),
        },
        TableDoc {
            id: "matrix",
            files: "`matrix.csv` (`compare`), and `compare --format csv`",
            format_version: super::MATRIX_CSV,
            row: "one option, in grid order",
            columns: matrix_columns(),
        },
        TableDoc {
            id: "robust",
            files: "`robust.csv` (`compare --scenarios`), and `compare --scenarios --format csv`",
            format_version: super::MATRIX_CSV,
            row: "one option, best first",
            columns: vec![
                col("option", "String", "", "the option (strategy)"),
                col(
                    "score_<scenario>",
                    "Float64",
                    "",
                    "one column per scenario: the option's score under it (0 for the baseline, higher is better)",
                ),
                col("worst_case", "Float64", "", "lowest score across the scenarios"),
                col("max_regret", "Float64", "", "largest shortfall from the best option in any scenario"),
            ],
        },
    ]
}

fn matrix_columns() -> Vec<ColumnDoc> {
    use crate::decide::matrix::CRITERIA;
    let mut out = vec![
        col("option", "String", "", "the option (a strategy, or a variant's file name)"),
        col("score", "Float64", "", "weighted score against the baseline option (0 for it; higher is better; empty when not scored)"),
        col("slo", "String", "", "whether the option meets the SLO on its seeds"),
        col("rank", "Int64", "", "place in the ranking, from 1"),
    ];
    let metrics = metric_columns();
    for c in CRITERIA {
        let m = metrics
            .iter()
            .find(|m| m.name == c.metric.column)
            .expect("a criterion reads a catalogued metric");
        let unit = if m.dtype == "Boolean" {
            "share of seeds"
        } else {
            m.unit
        };
        for (suffix, what) in POINT_SUFFIXES.iter().zip([
            "mean across seeds",
            "low end of the 95% interval",
            "high end of the 95% interval",
        ]) {
            out.push(col(
                &format!("{}{suffix}", m.name),
                "Float64",
                unit,
                &format!("{}: {what}", m.meaning),
            ));
        }
    }
    for c in CRITERIA {
        out.push(col(
            &format!("{}_score", c.key),
            "Float64",
            "",
            &format!(
                "the `{}` criterion's weighted term of `score` (empty when it did not count)",
                c.key
            ),
        ));
    }
    out
}

fn trace_columns() -> Vec<ColumnDoc> {
    use sim_core::request_trace::TRACE_COLUMNS;
    let doc = |name: &str| -> (&'static str, &'static str, &'static str) {
        match name {
            "request" => ("Int64", "", "request number, in arrival order from 1"),
            "arrival_s" => ("Float64", "seconds", "simulated time of arrival"),
            "class" => ("String", "", "request class (empty without classes)"),
            "user" => ("Int64", "", "user (closed-loop sessions), else 0"),
            "tenant" => ("Int64", "", "tenant index, else 0"),
            "measured" => (
                "Boolean",
                "",
                "ended after the warm-up, so counted in the results",
            ),
            "outcome" => ("String", "", "completed, rejected, timedOut or failed"),
            "reason" => ("String", "", "why it ended so"),
            "latency_s" => ("Float64", "seconds", "arrival to end"),
            "end_s" => ("Float64", "seconds", "simulated time of its end"),
            "attempts" => ("Int64", "", "attempts, retries included"),
            "instance" => (
                "Int64",
                "",
                "instance that served it last (empty when none)",
            ),
            "queue_s" => ("Float64", "seconds", "waiting for a slot"),
            "slot_s" => ("Float64", "seconds", "holding a slot"),
            "llm_s" => ("Float64", "seconds", "in LLM calls"),
            "llm_wait_s" => (
                "Float64",
                "seconds",
                "waiting for the LLM provider's capacity",
            ),
            "backoff_s" => ("Float64", "seconds", "retry backoff"),
            "network_s" => ("Float64", "seconds", "network between regions"),
            "llm_legs" => ("Int64", "", "LLM calls made"),
            "fallbacks" => ("Int64", "", "calls moved to a fallback model"),
            "http_429s" => ("Int64", "", "calls refused by the provider's rate limit"),
            "cache_hits" => ("Int64", "", "calls answered by the cache"),
            "tokens_in" => ("Int64", "tokens", "prompt tokens"),
            "tokens_out" => ("Int64", "tokens", "completion tokens"),
            "story" => ("String", "", "what happened to it, in words"),
            _ => ("String", "", "(undocumented)"),
        }
    };
    TRACE_COLUMNS
        .iter()
        .map(|n| {
            let (t, u, m) = doc(n);
            col(n, t, u, m)
        })
        .collect()
}

fn timeseries_columns() -> Vec<ColumnDoc> {
    vec![
        col("replication", "Int64", "", "replication, from 0"),
        col(
            "time",
            "Float64",
            "seconds",
            "end of the interval, simulated",
        ),
        col("booting", "Int64", "", "instances booting"),
        col("ready", "Int64", "", "instances ready"),
        col("unhealthy", "Int64", "", "instances unhealthy"),
        col("draining", "Int64", "", "instances draining"),
        col("desired", "Int64", "", "instances the autoscaler wants"),
        col("in_flight", "Int64", "", "requests in the system"),
        col("queued", "Int64", "", "requests waiting for a slot"),
        col(
            "arrival_rate",
            "Float64",
            "per second",
            "arrivals in the interval",
        ),
        col(
            "completion_rate",
            "Float64",
            "per second",
            "completions in the interval",
        ),
        col(
            "error_rate",
            "Float64",
            "share (0 to 1)",
            "share of requests ended in the interval that failed",
        ),
        col(
            "p50",
            "Float64",
            "seconds",
            "median latency in the interval (empty when none ended)",
        ),
        col(
            "p99",
            "Float64",
            "seconds",
            "99th percentile latency in the interval (empty when none ended)",
        ),
        col(
            "cpu_utilization",
            "Float64",
            "share (0 to 1)",
            "CPU in use (empty without CPU modelled)",
        ),
        col(
            "memory_utilization",
            "Float64",
            "share",
            "memory in use (empty without memory modelled)",
        ),
        col(
            "cost_per_hour",
            "Float64",
            "currency per hour",
            "instance spend rate",
        ),
        col("cumulative_cost", "Float64", "currency", "spend so far"),
        col(
            "budget_remaining",
            "Float64",
            "currency",
            "budget left (empty without a budget)",
        ),
    ]
}

fn scaling_columns() -> Vec<ColumnDoc> {
    vec![
        col("replication", "Int64", "", "replication, from 0"),
        col(
            "time",
            "Float64",
            "seconds",
            "simulated time of the decision",
        ),
        col("region", "String", "", "region scaled"),
        col("from", "Int64", "", "instances before"),
        col("wanted", "Int64", "", "instances the policy asked for"),
        col(
            "desired",
            "Int64",
            "",
            "instances after the policy's limits",
        ),
        col("to", "Int64", "", "instances after"),
        col("reason", "String", "", "why"),
        col(
            "metric",
            "String",
            "",
            "the metric that decided (empty when none)",
        ),
        col(
            "cpu_percent",
            "Float64",
            "percent",
            "CPU seen by the policy (empty when not read)",
        ),
        col(
            "memory_percent",
            "Float64",
            "percent",
            "memory seen by the policy (empty when not read)",
        ),
        col(
            "connections",
            "Float64",
            "",
            "connections seen by the policy (empty when not read)",
        ),
        col(
            "requests_per_minute",
            "Float64",
            "per minute",
            "request rate seen (empty when not read)",
        ),
        col(
            "response_time_ms",
            "Float64",
            "milliseconds",
            "response time seen (empty when not read)",
        ),
        col(
            "queue_depth",
            "Int64",
            "",
            "requests queued at the decision",
        ),
    ]
}

/// Every table as Markdown, as `reports/contracts/README.md` holds it.
pub fn tables_markdown() -> String {
    let mut o = String::new();
    for t in tables() {
        let _ = writeln!(o, "### {}\n", t.id);
        let _ = writeln!(
            o,
            "Files: {}. Format version {}. A row is {}.\n",
            t.files, t.format_version, t.row
        );
        o.push_str("| column | type | unit | meaning |\n|---|---|---|---|\n");
        for c in &t.columns {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} |",
                c.name,
                c.dtype,
                c.unit,
                c.meaning.replace('|', "\\|")
            );
        }
        o.push('\n');
    }
    o
}

/// The column names a real file of table `id` must have, the sweep's
/// axis column names put in place of [`AXIS_COLUMNS`] (and, for `robust`,
/// the scenario names in place of its pattern).
pub fn expected_columns(id: &str, axes: &[String]) -> Vec<ColumnDoc> {
    let t = tables()
        .into_iter()
        .find(|t| t.id == id)
        .expect("a documented table");
    let mut out = Vec::new();
    for c in t.columns {
        if c.name == AXIS_COLUMNS {
            out.extend(axes.iter().map(|a| ColumnDoc {
                name: a.clone(),
                ..c.clone()
            }));
        } else if c.name == "score_<scenario>" {
            out.extend(axes.iter().map(|a| ColumnDoc {
                name: format!("score_{a}"),
                ..c.clone()
            }));
        } else {
            out.push(c);
        }
    }
    out
}

//! The metric catalogue: every scalar metric of a run, defined once.
//!
//! Each entry says what a metric is called in each place it appears (its
//! `results.csv` column, its camelCase key, its heading), its unit, whether
//! it counts or measures, which direction is better, and how to read it
//! from a [`RunResult`]. Sweep records ([`crate::sweep::record`]), the
//! decision matrix's criteria ([`crate::decide::matrix::CRITERIA`]), the
//! gate's figures ([`crate::gate`]) and the report's tables all read this
//! table; a new metric is one entry here.
//!
//! The order of [`CATALOGUE`] is the order of `results.csv`'s metric
//! columns and of a journal's values: append, never reorder.

use crate::format::{money, percent, secs, short};
use serde::Serialize;
use sim_core::{Bounds, Regime, RunResult};

/// How a metric's figures read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// A share shown as a percentage.
    Share,
    /// Per second.
    PerSecond,
    /// Money.
    Money,
    /// Money per hour (written `money` in `matrix.json`, as before the
    /// gate's `$/h` needed it told apart).
    #[serde(rename = "money")]
    MoneyPerHour,
    /// A plain number.
    Plain,
}

impl Unit {
    /// `v` in this unit.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Seconds => secs(v),
            Unit::Share => percent(v),
            Unit::PerSecond => format!("{}/s", short(v)),
            Unit::Money | Unit::MoneyPerHour => money(v),
            Unit::Plain => short(v),
        }
    }

    /// The short suffix the gate prints after a value: `s`, `%`, `$/h`,
    /// or nothing.
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Share => "%",
            Unit::MoneyPerHour => "$/h",
            Unit::PerSecond | Unit::Money | Unit::Plain => "",
        }
    }
}

/// Whether a metric counts things (an integer column) or measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count of requests or events.
    Count,
    /// A measured or derived quantity.
    Real,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Lower is better (latency, errors, cost).
    Lower,
    /// Higher is better (throughput, fairness).
    Higher,
    /// Neither (arrivals, utilization).
    Neither,
}

/// One metric of a run.
#[derive(Debug)]
pub struct Metric {
    /// Column in `results.csv` and `points.csv` (snake_case, with its
    /// unit: `latency_p99_s`).
    pub column: &'static str,
    /// Key in JSON and in words (camelCase, as in the run's result:
    /// `latencyP99`).
    pub key: &'static str,
    /// Heading in matrices, reports and tables.
    pub label: &'static str,
    /// How its figures read.
    pub unit: Unit,
    /// Count or measure.
    pub kind: Kind,
    /// Which way is better.
    pub direction: Direction,
    /// Reads it from a run (`None` when the run has no value: nothing
    /// completed, no price given, no tenants).
    pub read: fn(&RunResult) -> Option<f64>,
}

impl Metric {
    /// `Some(true)` when lower is better, `Some(false)` when higher is,
    /// `None` when neither.
    pub fn lower_is_better(&self) -> Option<bool> {
        match self.direction {
            Direction::Lower => Some(true),
            Direction::Higher => Some(false),
            Direction::Neither => None,
        }
    }

    /// Whether it is a per-run yes or no (the SLO met, a regime), a
    /// boolean in `results.csv` and `results.parquet`.
    pub fn is_flag(&self) -> bool {
        matches!(self.column, "slo_pass" | "backlogged" | "overloaded")
    }

    /// The range its values take, and so the interval its summary across
    /// seeds gets ([`sim_core::stats`]): per-seed flags (the SLO met or
    /// not, a regime) are shares of seeds with Wilson's interval; shares
    /// and Jain's indices lie in [0, 1] (memory excepted: overcommitted,
    /// it reads above 100%); every other metric (latencies, counts, costs,
    /// rates) is 0 or more.
    pub fn bounds(&self) -> Bounds {
        match (self.unit, self.kind) {
            _ if self.is_flag() => Bounds::Flag,
            // Memory is not a capacity the engine holds requests back on:
            // without OOM kills it reads above 100% when overcommitted.
            _ if self.column == "memory_utilization" => Bounds::NonNegative,
            (Unit::Share, _) => Bounds::Share,
            _ if self.column.ends_with("_jain") => Bounds::Share,
            _ => Bounds::NonNegative,
        }
    }
}

macro_rules! m {
    ($column:literal, $key:literal, $label:literal, $unit:ident, $kind:ident, $dir:ident, $f:expr) => {
        Metric {
            column: $column,
            key: $key,
            label: $label,
            unit: Unit::$unit,
            kind: Kind::$kind,
            direction: Direction::$dir,
            read: $f,
        }
    };
}

fn flag(b: bool) -> Option<f64> {
    Some(f64::from(u8::from(b)))
}

/// Every metric, in column order.
pub const CATALOGUE: &[Metric] = &[
    m!(
        "arrivals",
        "arrivals",
        "arrivals",
        Plain,
        Count,
        Neither,
        |r| { Some(r.counts.arrivals as f64) }
    ),
    m!(
        "completed",
        "completed",
        "completed",
        Plain,
        Count,
        Higher,
        |r| { Some(r.counts.completed as f64) }
    ),
    m!(
        "rejected",
        "rejected",
        "rejected",
        Plain,
        Count,
        Lower,
        |r| { Some(r.counts.rejected as f64) }
    ),
    m!(
        "timed_out",
        "timedOut",
        "timed out",
        Plain,
        Count,
        Lower,
        |r| { Some(r.counts.timed_out as f64) }
    ),
    m!("failed", "failed", "failed", Plain, Count, Lower, |r| {
        Some(r.counts.failed as f64)
    }),
    m!(
        "in_flight",
        "inFlight",
        "in flight",
        Plain,
        Count,
        Neither,
        |r| { Some(r.counts.in_flight as f64) }
    ),
    m!(
        "error_rate",
        "errorRate",
        "errors",
        Share,
        Real,
        Lower,
        |r| { Some(r.error_rate) }
    ),
    m!(
        "throughput_per_s",
        "throughputPerSecond",
        "throughput",
        PerSecond,
        Real,
        Higher,
        |r| { Some(r.throughput_per_second) }
    ),
    m!(
        "latency_mean_s",
        "latencyMean",
        "mean",
        Seconds,
        Real,
        Lower,
        |r| r.latency.mean
    ),
    m!(
        "latency_p50_s",
        "latencyP50",
        "p50",
        Seconds,
        Real,
        Lower,
        |r| r.latency.p50
    ),
    m!(
        "latency_p90_s",
        "latencyP90",
        "p90",
        Seconds,
        Real,
        Lower,
        |r| r.latency.p90
    ),
    m!(
        "latency_p99_s",
        "latencyP99",
        "p99",
        Seconds,
        Real,
        Lower,
        |r| r.latency.p99
    ),
    m!(
        "latency_p999_s",
        "latencyP999",
        "p99.9",
        Seconds,
        Real,
        Lower,
        |r| r.latency.p999
    ),
    m!(
        "latency_max_s",
        "latencyMax",
        "max",
        Seconds,
        Real,
        Lower,
        |r| r.latency.max
    ),
    m!(
        "utilization",
        "utilization",
        "utilization",
        Share,
        Real,
        Neither,
        |r| { Some(r.utilization) }
    ),
    m!(
        "mean_in_system",
        "meanInSystem",
        "in system",
        Plain,
        Real,
        Neither,
        |r| { Some(r.mean_in_system) }
    ),
    m!(
        "fairness_jain",
        "fairness",
        "fairness (Jain)",
        Plain,
        Real,
        Higher,
        |r| { Some(r.fairness) }
    ),
    // Empty without tenants (`workload.users.tenants` above 1).
    m!(
        "tenant_fairness_jain",
        "tenantFairness",
        "tenant fairness",
        Plain,
        Real,
        Higher,
        |r| { r.tenants.as_ref().map(|t| t.fairness) }
    ),
    m!(
        "cpu_utilization",
        "cpuUtilization",
        "CPU",
        Share,
        Real,
        Neither,
        |r| { r.cpu_utilization }
    ),
    m!(
        "memory_utilization",
        "memoryUtilization",
        "memory",
        Share,
        Real,
        Neither,
        |r| { r.memory_utilization }
    ),
    m!(
        "instance_hours",
        "instanceHours",
        "instance hours",
        Plain,
        Real,
        Lower,
        |r| { Some(r.instance_hours) }
    ),
    m!(
        "instance_cost",
        "instanceCost",
        "instance cost",
        Money,
        Real,
        Lower,
        |r| Some(r.cost)
    ),
    m!("llm_cost", "llmCost", "LLM cost", Money, Real, Lower, |r| {
        Some(r.llm_cost)
    }),
    m!(
        "total_cost",
        "totalCost",
        "total cost",
        Money,
        Real,
        Lower,
        |r| Some(r.total_cost)
    ),
    m!(
        "cost_per_hour",
        "costPerHour",
        "cost/hour",
        MoneyPerHour,
        Real,
        Lower,
        |r| { Some(r.cost_per_hour) }
    ),
    m!(
        "cost_per_1k_requests",
        "costPer1kRequests",
        "cost/1k req",
        Money,
        Real,
        Lower,
        |r| { r.cost_per_1k_requests }
    ),
    m!(
        "cost_per_success",
        "costPerSuccess",
        "cost/success",
        Money,
        Real,
        Lower,
        |r| { r.cost_per_success }
    ),
    m!("retries", "retries", "retries", Plain, Count, Lower, |r| {
        Some(r.resilience.retries as f64)
    }),
    m!(
        "ejections",
        "ejections",
        "ejections",
        Plain,
        Count,
        Lower,
        |r| { Some(r.resilience.ejections as f64) }
    ),
    m!(
        "breaker_trips",
        "breakerTrips",
        "breaker trips",
        Plain,
        Count,
        Lower,
        |r| { Some(r.resilience.breaker_trips as f64) }
    ),
    m!(
        "instance_failures",
        "instanceFailures",
        "instance failures",
        Plain,
        Count,
        Neither,
        |r| { Some(r.resilience.instance_failures as f64) }
    ),
    m!(
        "scale_ups",
        "scaleUps",
        "scale-ups",
        Plain,
        Count,
        Neither,
        |r| { Some(r.scaling.scale_ups as f64) }
    ),
    m!(
        "scale_downs",
        "scaleDowns",
        "scale-downs",
        Plain,
        Count,
        Neither,
        |r| { Some(r.scaling.scale_downs as f64) }
    ),
    m!(
        "peak_instances",
        "peakInstances",
        "peak instances",
        Plain,
        Count,
        Neither,
        |r| { Some(f64::from(r.scaling.peak_instances)) }
    ),
    m!(
        "oom_kills",
        "oomKills",
        "OOM kills",
        Plain,
        Count,
        Lower,
        |r| { Some(r.scaling.oom_kills as f64) }
    ),
    m!(
        "refused_by_budget",
        "refusedByBudget",
        "refused by budget",
        Plain,
        Count,
        Lower,
        |r| { Some(r.scaling.refused_by_budget as f64) }
    ),
    // 1 when the run did not reach steady state (see `sim_core::Regime`);
    // a point's mean is the share of its seeds that did not.
    m!(
        "backlogged",
        "backlogged",
        "backlogged",
        Share,
        Count,
        Lower,
        |r| { flag(r.regime == Regime::Backlogged) }
    ),
    m!(
        "overloaded",
        "overloaded",
        "overloaded",
        Share,
        Count,
        Lower,
        |r| { flag(r.regime == Regime::Overloaded) }
    ),
    // Empty when the scenario sets no SLO.
    m!("slo_pass", "sloPass", "SLO met", Share, Real, Higher, |r| {
        (!r.slo.checks.is_empty()).then_some(if r.slo.pass { 1.0 } else { 0.0 })
    }),
    // How evenly busy the instances were, each against its own capacity:
    // Jain's index over the utilization of every instance that was ready
    // in the measured window. Right for fleets whose instances differ in
    // speed or size, where an equal split of requests is not the goal.
    m!(
        "utilization_balance_jain",
        "utilizationBalance",
        "load balance",
        Plain,
        Real,
        Higher,
        |r| { Some(utilization_balance(r)) }
    ),
    // The session metrics: empty without `workload.sessions`.
    m!(
        "sessions_started",
        "sessionsStarted",
        "sessions started",
        Plain,
        Count,
        Neither,
        |r| { r.sessions.as_ref().map(|s| s.started as f64) }
    ),
    m!(
        "sessions_completed",
        "sessionsCompleted",
        "sessions completed",
        Plain,
        Count,
        Higher,
        |r| { r.sessions.as_ref().map(|s| s.completed as f64) }
    ),
    m!(
        "sessions_abandoned",
        "sessionsAbandoned",
        "sessions abandoned",
        Plain,
        Count,
        Lower,
        |r| { r.sessions.as_ref().map(|s| s.abandoned as f64) }
    ),
    m!(
        "session_abandon_rate",
        "sessionAbandonRate",
        "abandon rate",
        Share,
        Real,
        Lower,
        |r| { r.sessions.as_ref().and_then(|s| s.abandon_rate()) }
    ),
    m!(
        "session_duration_p50_s",
        "sessionDurationP50",
        "session p50",
        Seconds,
        Real,
        Neither,
        |r| { r.sessions.as_ref().and_then(|s| s.duration.p50) }
    ),
    m!(
        "session_duration_p99_s",
        "sessionDurationP99",
        "session p99",
        Seconds,
        Real,
        Neither,
        |r| { r.sessions.as_ref().and_then(|s| s.duration.p99) }
    ),
    m!(
        "session_turns_mean",
        "sessionTurnsMean",
        "turns/session",
        Plain,
        Real,
        Neither,
        |r| { r.sessions.as_ref().and_then(|s| s.turns_per_session.mean) }
    ),
    m!(
        "turn_latency_p50_s",
        "turnLatencyP50",
        "turn p50",
        Seconds,
        Real,
        Lower,
        |r| { r.sessions.as_ref().and_then(|s| s.turn_latency.p50) }
    ),
    m!(
        "turn_latency_p99_s",
        "turnLatencyP99",
        "turn p99",
        Seconds,
        Real,
        Lower,
        |r| { r.sessions.as_ref().and_then(|s| s.turn_latency.p99) }
    ),
];

/// Jain's index over the utilization of the instances that served in the
/// measured window (1 when every one was equally busy).
pub fn utilization_balance(r: &RunResult) -> f64 {
    sim_core::jain_index(
        r.instances
            .iter()
            .filter(|i| i.ready_hours > 0.0)
            .map(|i| i.utilization),
    )
}

/// Whether two strings are equal, in a constant context.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The metric of `column`; a name that is not in the catalogue fails to
/// compile where it is used in a constant.
pub const fn by_column(column: &str) -> &'static Metric {
    let mut i = 0;
    while i < CATALOGUE.len() {
        if same(CATALOGUE[i].column, column) {
            return &CATALOGUE[i];
        }
        i += 1;
    }
    panic!("not a metric column of the catalogue")
}

/// The position of `column` in [`CATALOGUE`] (a record's value index).
pub fn index_of(column: &str) -> Option<usize> {
    CATALOGUE.iter().position(|m| m.column == column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn columns_keys_and_labels_are_unique() {
        for field in [
            |m: &Metric| m.column,
            |m: &Metric| m.key,
            |m: &Metric| m.label,
        ] {
            let names: BTreeSet<&str> = CATALOGUE.iter().map(field).collect();
            assert_eq!(names.len(), CATALOGUE.len());
        }
    }

    #[test]
    fn columns_say_their_unit() {
        for m in CATALOGUE {
            match m.unit {
                Unit::Seconds => assert!(m.column.ends_with("_s"), "{}", m.column),
                Unit::PerSecond => assert!(m.column.ends_with("_per_s"), "{}", m.column),
                _ => assert!(!m.column.ends_with("_s"), "{}", m.column),
            }
        }
    }

    #[test]
    fn lookups_agree() {
        for (i, m) in CATALOGUE.iter().enumerate() {
            assert_eq!(index_of(m.column), Some(i));
            assert_eq!(by_column(m.column).key, m.key);
        }
        assert_eq!(index_of("latency_p99"), None);
    }
}

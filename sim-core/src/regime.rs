//! Whether a run reached steady state: the classification every result
//! carries, so that no plan, gate or reader takes the latency of a fleet
//! that could not keep up for a steady-state figure.
//!
//! - **overloaded**: errors or rejections dominate: at least half the
//!   requests that ended in the measured window did not complete.
//! - **backlogged**: the fleet is not keeping up: requests pile up faster
//!   than they leave, so the queue is still growing when the run ends and
//!   its latency figures describe a transient (they would grow with a
//!   longer run). Judged on two signs that must both hold: the window's
//!   unfinished requests are at least [`BACKLOG_SHARE`] of its arrivals
//!   (and at least [`BACKLOG_MIN`]), and the requests in the system over
//!   the last tenth of the window average at least [`GROWTH_RATIO`] times
//!   their mean over the whole window. A stable fleet holds about
//!   λ·W requests at any time (Little's law), a tiny share of a long
//!   window's arrivals, with no trend; a queue growing linearly from
//!   empty ends at twice its mean. A window of fewer than four series
//!   intervals shows no trend and is not called backlogged.
//! - **stable** otherwise.

use crate::metrics::Counts;
use crate::timeline::SeriesRow;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Share of the window's arrivals still unfinished at its end above which
/// a run may be backlogged.
pub const BACKLOG_SHARE: f64 = 0.02;
/// Fewest unfinished requests that count as a backlog.
pub const BACKLOG_MIN: u64 = 10;
/// End-of-window level over window mean above which the queue is growing.
pub const GROWTH_RATIO: f64 = 1.5;
/// Error rate at and above which errors dominate.
pub const OVERLOAD_ERROR_RATE: f64 = 0.5;

/// What state a run ended in.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Steady state: the figures describe the fleet.
    #[default]
    Stable,
    /// Queues still growing at the end: the fleet cannot keep up.
    Backlogged,
    /// Errors or rejections dominate.
    Overloaded,
}

impl Regime {
    /// Classifies a run from its counts (requests arriving in the measured
    /// window), its error rate and its time series.
    pub fn classify(
        counts: &Counts,
        error_rate: f64,
        series: &[SeriesRow],
        warmup_secs: f64,
    ) -> Regime {
        let ended = counts.arrivals - counts.in_flight;
        if ended > 0 && error_rate >= OVERLOAD_ERROR_RATE {
            return Regime::Overloaded;
        }
        let unfinished = counts.in_flight;
        if unfinished < BACKLOG_MIN || (unfinished as f64) < BACKLOG_SHARE * counts.arrivals as f64
        {
            return Regime::Stable;
        }
        let rows: Vec<f64> = series
            .iter()
            .filter(|r| r.time > warmup_secs)
            .map(|r| r.in_flight as f64)
            .collect();
        if rows.len() < 4 {
            // Too short a series to see a trend: a backlog is not shown,
            // so the run is not called one.
            return Regime::Stable;
        }
        let mean = rows.iter().sum::<f64>() / rows.len() as f64;
        let tail = rows.len().div_ceil(10);
        let end = rows[rows.len() - tail..].iter().sum::<f64>() / tail as f64;
        if end >= GROWTH_RATIO * mean {
            Regime::Backlogged
        } else {
            Regime::Stable
        }
    }

    /// The name used in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Stable => "stable",
            Regime::Backlogged => "backlogged",
            Regime::Overloaded => "overloaded",
        }
    }

    /// What it means for the figures, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            Regime::Stable => "reached steady state",
            Regime::Backlogged => {
                "queues were still growing at the end: the fleet cannot keep up, and its latency figures describe a transient (a longer run would show them higher), not a steady state"
            }
            Regime::Overloaded => {
                "errors or rejections dominate: at least half the requests did not complete"
            }
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(time: f64, in_flight: u64) -> SeriesRow {
        SeriesRow {
            time,
            booting: 0,
            ready: 1,
            unhealthy: 0,
            draining: 0,
            desired: 1,
            in_flight,
            queued: 0,
            arrival_rate: 0.0,
            completion_rate: 0.0,
            error_rate: 0.0,
            p50: None,
            p99: None,
            cpu_utilization: None,
            memory_utilization: None,
            cost_per_hour: 0.0,
            cumulative_cost: 0.0,
            budget_remaining: None,
        }
    }

    fn counts(arrivals: u64, in_flight: u64) -> Counts {
        Counts {
            arrivals,
            completed: arrivals - in_flight,
            in_flight,
            ..Counts::default()
        }
    }

    #[test]
    fn a_queue_growing_linearly_is_backlogged() {
        let series: Vec<SeriesRow> = (1..=100).map(|i| row(i as f64, i * 5)).collect();
        assert_eq!(
            Regime::classify(&counts(10_000, 500), 0.0, &series, 0.0),
            Regime::Backlogged
        );
    }

    #[test]
    fn a_busy_queue_with_no_trend_is_stable() {
        // Long requests: many unfinished at the end, but no growth.
        let series: Vec<SeriesRow> = (1..=100)
            .map(|i| row(i as f64, 400 + (i % 7) * 20))
            .collect();
        assert_eq!(
            Regime::classify(&counts(10_000, 450), 0.0, &series, 0.0),
            Regime::Stable
        );
    }

    #[test]
    fn a_small_unfinished_share_is_stable_whatever_the_trend() {
        let series: Vec<SeriesRow> = (1..=100).map(|i| row(i as f64, i / 10)).collect();
        assert_eq!(
            Regime::classify(&counts(10_000, 10), 0.0, &series, 0.0),
            Regime::Stable
        );
    }

    #[test]
    fn warmup_rows_are_left_out_of_the_trend() {
        // Growing during a long warm-up, flat after it.
        let series: Vec<SeriesRow> = (1..=100)
            .map(|i| row(i as f64, if i < 80 { i * 500 / 80 } else { 500 }))
            .collect();
        assert_eq!(
            Regime::classify(&counts(10_000, 500), 0.0, &series, 80.0),
            Regime::Stable
        );
        assert_eq!(
            Regime::classify(&counts(10_000, 500), 0.0, &series, 0.0),
            Regime::Backlogged
        );
    }

    #[test]
    fn a_window_too_short_for_a_trend_is_not_called_backlogged() {
        // Long requests in a short window: many unfinished, three rows.
        let series: Vec<SeriesRow> = (1..=3).map(|i| row(i as f64 * 10.0, 50)).collect();
        assert_eq!(
            Regime::classify(&counts(1_000, 50), 0.0, &series, 0.0),
            Regime::Stable
        );
    }

    #[test]
    fn dominating_errors_are_overload() {
        let c = Counts {
            arrivals: 100,
            completed: 40,
            rejected: 60,
            ..Counts::default()
        };
        assert_eq!(Regime::classify(&c, 0.6, &[], 0.0), Regime::Overloaded);
        assert_eq!(Regime::classify(&c, 0.49, &[], 0.0), Regime::Stable);
    }
}

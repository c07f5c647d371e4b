//! The decision matrix: options as rows, criteria as columns (each a
//! mean with its 95% interval across seeds), the SLO verdict, a score
//! against a baseline option, and the recommendation with what the paired
//! comparisons of the top two say on each criterion.
//!
//! How options are scored (fixed references, log-ratios, the margin) is
//! [`super::score`]; this module gathers each option's per-seed figures
//! and the statements printed beside the recommendation.

use super::paired::{Paired, Verdict};
use super::score::{score, Scores, Utility, DEFAULT_MARGIN};
use crate::catalogue::{by_column, Direction, Metric};
use crate::sweep::assemble::point_labels;
use crate::sweep::record::{metric_index, RunRecord};
use crate::sweep::store::Manifest;
use serde::Serialize;
use sim_core::MetricSummary;

pub use super::render::METHOD;
pub use crate::catalogue::Unit;

/// A mean with its interval: `3.43s ±48ms` when the interval is symmetric,
/// `33.3% (6.1%–79.2%)` when it was cut at an end of the metric's range or
/// is Wilson's; the mean alone when every seed agreed or there were too
/// few seeds for an interval.
pub fn show_summary(unit: Unit, s: &MetricSummary) -> String {
    let Some(m) = s.mean else {
        return "-".into();
    };
    let (Some(lo), Some(hi)) = (s.ci95_low, s.ci95_high) else {
        return unit.show(m);
    };
    // Rounding noise in sums of identical figures is no interval.
    if hi - lo <= 2e-9 * m.abs().max(1e-12) {
        return unit.show(m);
    }
    match s.symmetric_half_width() {
        Some(h) => format!("{} ±{}", unit.show(m), unit.show(h)),
        None => format!("{} ({}–{})", unit.show(m), unit.show(lo), unit.show(hi)),
    }
}

/// A column of the matrix: a metric of the catalogue, under the key
/// `--weights` names it by.
#[derive(Debug, Clone, Copy)]
pub struct CriterionDef {
    /// The `--weights` key.
    pub key: &'static str,
    /// The metric it reads (its column, heading, unit and direction).
    pub metric: &'static Metric,
    /// Its weight when `--weights` does not name it.
    pub default_weight: f64,
    /// How its values become goodness.
    pub utility: Utility,
}

impl CriterionDef {
    /// Lower is better.
    pub fn lower_is_better(&self) -> bool {
        self.metric.direction == Direction::Lower
    }
}

const fn criterion(key: &'static str, column: &str, default_weight: f64) -> CriterionDef {
    let metric = by_column(column);
    let utility = if matches!(metric.unit, Unit::Share) {
        if matches!(metric.direction, Direction::Lower) {
            Utility::LogSuccess
        } else {
            Utility::Share
        }
    } else if matches!(metric.direction, Direction::Lower) {
        Utility::LogLower
    } else {
        Utility::LogHigher
    };
    CriterionDef {
        key,
        metric,
        default_weight,
        utility,
    }
}

/// The criteria, in column order. Request-count fairness is shown but
/// weighs 0 unless named: an equal split of requests is the wrong goal
/// when instances differ in speed or size; `balance` (how evenly busy
/// the instances were, each against its own capacity) is scored instead.
pub const CRITERIA: &[CriterionDef] = &[
    criterion("p50", "latency_p50_s", 1.0),
    criterion("p99", "latency_p99_s", 1.0),
    criterion("errors", "error_rate", 1.0),
    criterion("throughput", "throughput_per_s", 1.0),
    criterion("cost", "cost_per_hour", 1.0),
    criterion("cost1k", "cost_per_1k_requests", 1.0),
    criterion("balance", "utilization_balance_jain", 1.0),
    criterion("fairness", "fairness_jain", 0.0),
    criterion("tenants", "tenant_fairness_jain", 1.0),
    criterion("slo", "slo_pass", 1.0),
];

/// What the matrix is asked: the weights, the margin and the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// One weight per criterion.
    pub weights: Vec<f64>,
    /// Score differences below this are equivalent.
    pub margin: f64,
    /// The option scores are relative to (its name); the first option
    /// when not given.
    pub baseline: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            weights: CRITERIA.iter().map(|c| c.default_weight).collect(),
            margin: DEFAULT_MARGIN,
            baseline: None,
        }
    }
}

/// Parses `--margin`: a score difference from 0 up (0.03 is about 3%).
pub fn parse_margin(s: Option<f64>) -> Result<f64, String> {
    match s {
        None => Ok(DEFAULT_MARGIN),
        Some(m) if m.is_finite() && (0.0..1.0).contains(&m) => Ok(m),
        Some(m) => Err(format!(
            "--margin {m}: a score difference from 0 up to below 1 (0.03 is about 3%)"
        )),
    }
}

/// Parses `--weights p99=3,cost=2`: every criterion weighs 1 unless given.
pub fn parse_weights(s: Option<&str>) -> Result<Vec<f64>, String> {
    let mut w: Vec<f64> = CRITERIA.iter().map(|c| c.default_weight).collect();
    let Some(s) = s else { return Ok(w) };
    let keys: Vec<&str> = CRITERIA.iter().map(|c| c.key).collect();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("--weights {s}: write KEY=WEIGHT, e.g. p99=3,cost=2"))?;
        let i = keys.iter().position(|x| *x == k.trim()).ok_or_else(|| {
            format!(
                "--weights: `{k}` is not a criterion; the criteria are {}",
                keys.join(", ")
            )
        })?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("--weights: `{part}`: a weight is a number from 0 up"))?;
        w[i] = v;
    }
    if w.iter().all(|&x| x == 0.0) {
        return Err("--weights: every weight is 0; at least one criterion must count".into());
    }
    Ok(w)
}

/// The keys `--weights` names, as written (with a weight above 0).
pub fn weighted_keys(s: Option<&str>) -> Vec<&str> {
    let Some(s) = s else { return Vec::new() };
    s.split(',')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            let w: f64 = v.trim().parse().ok()?;
            (w > 0.0).then_some(k.trim())
        })
        .collect()
}

impl Matrix {
    /// Weighted criteria (named in `--weights`, above 0) that the matrix
    /// could not score: no option measured them. A weight that changes
    /// nothing is an error, not a silent no-op (a criterion identical for
    /// every option is scored as nothing, and said so beside the verdict).
    pub fn unscored(&self, weights: Option<&str>) -> Option<String> {
        let named = weighted_keys(weights);
        let unscored: Vec<&Criterion> = (self.criteria.iter())
            .filter(|c| !c.scored && !c.identical && named.contains(&c.key.as_str()))
            .collect();
        if unscored.is_empty() {
            return None;
        }
        let scored: Vec<&str> = (self.criteria.iter())
            .filter(|c| c.scored)
            .map(|c| c.key.as_str())
            .collect();
        let which: Vec<String> = (unscored.iter())
            .map(|c| format!("`{}` ({})", c.key, c.metric))
            .collect();
        Some(format!(
            "--weights: {} not scored here: no option measures it; the scored criteria are {}",
            which.join(", "),
            scored.join(", ")
        ))
    }
}

/// A criterion as the matrix used it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Criterion {
    /// The `--weights` key.
    pub key: String,
    /// The metric column.
    pub metric: String,
    /// Heading.
    pub label: String,
    /// Weight given.
    pub weight: f64,
    /// Lower is better.
    pub lower_is_better: bool,
    /// Whether it counted in the score: its weight is above 0, some option
    /// measured it, and it was not identical on every seed for every
    /// option.
    pub scored: bool,
    /// Identical on every seed for every option (so left out).
    pub identical: bool,
    /// How its figures read.
    pub unit: Unit,
    /// How a figure becomes goodness: `log` (the log of the value, negated
    /// when lower is better: differences read as percentages),
    /// `log-success` (the log of 1 - the value), or `share`.
    pub scale: &'static str,
}

/// One option's row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionRow {
    /// The option's name (its axis values).
    pub name: String,
    /// Grid point.
    pub point: usize,
    /// One cell per criterion.
    pub cells: Vec<MetricSummary>,
    /// `meets`, `misses`, `meets on K of N seeds`, or `no SLO`.
    pub slo: String,
    /// Score against the baseline (the baseline's is 0); `None` when the
    /// option measured a scored criterion on no seed (nothing completed).
    pub score: Option<f64>,
    /// Each criterion's part of the score (weight times the difference in
    /// goodness from the baseline); `None` for a criterion not scored.
    pub terms: Vec<Option<f64>>,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrix {
    /// The format of this output ([`crate::contract::MATRIX`]).
    pub format_version: u32,
    /// fleetsim version that produced it.
    pub fleetsim_version: String,
    /// What the options vary (the axis columns).
    pub options_vary: String,
    /// Seeds behind every figure.
    pub seeds: u32,
    /// The option scores are relative to.
    pub baseline: String,
    /// Score differences below this are equivalent.
    pub margin: f64,
    /// The columns.
    pub criteria: Vec<Criterion>,
    /// The rows, in grid order.
    pub options: Vec<OptionRow>,
    /// Row indices from best score to worst.
    pub ranking: Vec<usize>,
    /// Options whose score is within the margin of the recommendation's
    /// (the recommendation first).
    pub equivalent: Vec<usize>,
    /// Paired difference of per-seed scores, recommendation minus
    /// runner-up.
    pub margin_test: Option<Paired>,
    /// Whether the recommendation's lead is beyond the margin and
    /// significant on the same seeds.
    pub margin_significant: bool,
    /// What the paired comparisons of the top two say, one sentence per
    /// scored criterion, then their sum.
    pub findings: Vec<String>,
}

impl Matrix {
    /// Builds the matrix of a finished sweep from its records (sorted by
    /// run). Fails when the baseline names no option.
    pub fn build(m: &Manifest, records: &[RunRecord], set: &Settings) -> Result<Matrix, String> {
        let groups: Vec<&[RunRecord]> = records.chunk_by(|a, b| a.point == b.point).collect();
        let idx: Vec<usize> = CRITERIA
            .iter()
            .map(|c| {
                metric_index(c.metric.column).expect("every criterion reads a recorded metric")
            })
            .collect();
        let seeds_of = |g: &[RunRecord]| -> Vec<Vec<Option<f64>>> {
            idx.iter()
                .map(|&i| g.iter().map(|r| r.metric(i)).collect())
                .collect()
        };
        let values: Vec<Vec<Vec<Option<f64>>>> = groups.iter().map(|g| seeds_of(g)).collect();
        let names: Vec<String> = groups
            .iter()
            .map(|g| point_labels(m, g[0].point).join(" / "))
            .collect();
        let baseline = match &set.baseline {
            None => 0,
            Some(b) => names.iter().position(|n| n == b).ok_or_else(|| {
                format!(
                    "--baseline `{b}` is not one of the options compared; they are {}",
                    names.join(", ")
                )
            })?,
        };
        let utilities: Vec<Utility> = CRITERIA.iter().map(|c| c.utility).collect();
        let scores = score(&utilities, &set.weights, &values, baseline);
        let options: Vec<OptionRow> = (groups.iter().zip(&values).enumerate())
            .map(|(o, (g, v))| OptionRow {
                name: names[o].clone(),
                point: g[0].point,
                cells: (CRITERIA.iter().zip(v))
                    .map(|(c, xs)| {
                        MetricSummary::of(c.metric.column, c.metric.bounds(), xs.iter().copied())
                    })
                    .collect(),
                slo: slo_words(g),
                score: scores.score[o],
                terms: scores.terms[o].clone(),
            })
            .collect();
        let criteria: Vec<Criterion> = (CRITERIA.iter().enumerate())
            .map(|(c, d)| Criterion {
                key: d.key.into(),
                metric: d.metric.column.into(),
                label: d.metric.label.into(),
                weight: set.weights[c],
                lower_is_better: d.lower_is_better(),
                scored: scores.counts(c),
                identical: scores.identical[c],
                unit: d.metric.unit,
                scale: match d.utility {
                    Utility::LogHigher | Utility::LogLower => "log",
                    Utility::LogSuccess => "log-success",
                    Utility::Share => "share",
                },
            })
            .collect();
        let (margin_test, findings) = match scores.ranking.as_slice() {
            [best, second, ..] if scores.score[*second].is_some() => {
                let seed_scores = |o: usize| scores.per_seed(&utilities, &set.weights, &values[o]);
                let p = Paired::of(&seed_scores(*second), &seed_scores(*best));
                let lines = pairwise(&scores, &utilities, &values, (*best, *second), &names, set);
                (p, lines)
            }
            _ => (None, Vec::new()),
        };
        let lead = match scores.ranking.as_slice() {
            [b, s, ..] => scores.score[*b].zip(scores.score[*s]).map(|(x, y)| x - y),
            _ => None,
        };
        let margin_significant = lead.is_some_and(|l| l > 0.0 && l >= set.margin)
            && margin_test.is_some_and(|p| p.verdict(false) == Verdict::Better);
        Ok(Matrix {
            format_version: crate::contract::MATRIX,
            fleetsim_version: sim_core::VERSION.to_string(),
            options_vary: crate::points::short_names(m).join(" / "),
            seeds: m.seeds,
            baseline: names.get(baseline).cloned().unwrap_or_default(),
            margin: set.margin,
            criteria,
            options,
            equivalent: scores.equivalent_to_best(set.margin),
            ranking: scores.ranking,
            margin_test,
            margin_significant,
            findings,
        })
    }

    /// The score difference between the recommendation and the runner-up.
    pub fn lead(&self) -> Option<f64> {
        match self.ranking.as_slice() {
            [b, s, ..] => Some(self.options[*b].score? - self.options[*s].score?),
            _ => None,
        }
    }
}

/// `meets`, `misses`, `meets on K of N seeds`, or `no SLO`.
fn slo_words(g: &[RunRecord]) -> String {
    let slo_i = metric_index("slo_pass").unwrap_or(0);
    let passes: Vec<f64> = g.iter().filter_map(|r| r.metric(slo_i)).collect();
    let met = passes.iter().filter(|&&p| p > 0.5).count();
    if passes.is_empty() {
        "no SLO".to_string()
    } else if met == passes.len() {
        "meets".to_string()
    } else if met == 0 {
        "misses".to_string()
    } else {
        format!("meets on {met} of {} seeds", passes.len())
    }
}

/// One line per criterion that counts, comparing the recommendation with
/// the runner-up in the score's own units, then the sum: the lines add up
/// to the score difference, so they cannot contradict the verdict.
fn pairwise(
    scores: &Scores,
    utilities: &[Utility],
    values: &[Vec<Vec<Option<f64>>>],
    (best, second): (usize, usize),
    names: &[String],
    set: &Settings,
) -> Vec<String> {
    let (b, r) = (&names[best], &names[second]);
    let mut lines = Vec::new();
    let mut identical = Vec::new();
    for (c, def) in CRITERIA.iter().enumerate() {
        if scores.scored[c] && scores.identical[c] {
            identical.push(def.metric.label);
        }
        if !scores.counts(c) {
            continue;
        }
        let g = |o: usize| -> Vec<Option<f64>> {
            values[o][c]
                .iter()
                .map(|x| x.map(|v| utilities[c].goodness(v)))
                .collect()
        };
        let Some(p) = Paired::of(&g(second), &g(best)) else {
            continue;
        };
        lines.push(criterion_line(b, r, def, &p, set.weights[c], set.margin));
    }
    if let Some(lead) = scores.score[best]
        .zip(scores.score[second])
        .map(|(x, y)| x - y)
    {
        lines.push(format!(
            "the parts add up: {b} leads {r} by {} (margin {})",
            signed(lead),
            plain(set.margin)
        ));
    }
    if !identical.is_empty() {
        lines.push(format!(
            "left out of the score: {}: identical on every seed for every option",
            identical.join(", ")
        ));
    }
    lines
}

/// `+0.123`, `-0.045`.
pub fn signed(x: f64) -> String {
    format!("{x:+.3}")
}

/// `0.03`.
fn plain(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How big a goodness difference is: `14%` for a log scale (the ratio of
/// the geometric means), `0.40 of seeds` for a share.
fn size(u: Utility, d: f64) -> String {
    if u.is_log() {
        let pct = (d.exp() - 1.0) * 100.0;
        if pct.abs() >= 10.0 {
            format!("{pct:.0}%")
        } else {
            format!("{pct:.1}%")
        }
    } else {
        format!("{d:.2} of seeds")
    }
}

/// One criterion's line: who is ahead, by how much (with the 95% interval
/// of the paired difference, in the same words), whether it is beyond the
/// margin and significant, and its part of the score difference.
fn criterion_line(
    best: &str,
    second: &str,
    def: &CriterionDef,
    p: &Paired,
    weight: f64,
    margin: f64,
) -> String {
    let label = def.metric.label;
    let d = p.diff;
    let part = format!("{} to the score", signed(weight * d));
    if d == 0.0 {
        return format!("{label}: {best} and {second} level ({part})");
    }
    // Said from the side that is ahead: its lead and the interval of it.
    let (ahead, behind, flip) = if d > 0.0 {
        (best, second, 1.0)
    } else {
        (second, best, -1.0)
    };
    let u = def.utility;
    let by = size(u, d.abs());
    let seeds = format!("{} seed{}", p.n, if p.n == 1 { "" } else { "s" });
    let ci = match (p.low, p.high) {
        (Some(l), Some(h)) => {
            let (l, h) = if flip > 0.0 { (l, h) } else { (-h, -l) };
            format!("95% CI {} to {}", size(u, l), size(u, h))
        }
        _ => "no interval".into(),
    };
    if d.abs() < margin {
        return format!(
            "{label}: equivalent: {ahead} ahead of {behind} by {by}, under the {} margin ({part})",
            plain(margin)
        );
    }
    match p.verdict(false) {
        Verdict::Better | Verdict::Worse => {
            format!("{label}: {ahead} beats {behind} by {by} ({ci}, {seeds}; {part})")
        }
        Verdict::TooFewSeeds => format!(
            "{label}: {ahead} ahead of {behind} by {by} on one seed, too few to tell ({part})"
        ),
        _ => format!(
            "{label}: {ahead} ahead of {behind} by {by}, not significant on {seeds} ({ci}; {part})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_default_to_one_and_refuse_unknown_keys() {
        let w = parse_weights(Some("p99=3, cost=0")).unwrap();
        assert_eq!(w[1], 3.0);
        assert_eq!(w[4], 0.0);
        assert_eq!(w[0], 1.0);
        assert!(parse_weights(Some("latency=2"))
            .unwrap_err()
            .contains("the criteria are"));
        assert!(parse_weights(Some("p99=-1")).is_err());
        let all_zero = CRITERIA
            .iter()
            .map(|c| format!("{}=0", c.key))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_weights(Some(&all_zero)).is_err());
    }
}

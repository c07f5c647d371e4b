//! The decision matrix: options as rows, criteria as columns (each a
//! mean with its 95% interval across seeds), the SLO verdict, a weighted
//! score, and the recommendation with the runner-up and whether the
//! margin between them is significant on the same seeds.
//!
//! Scoring: each criterion's option means are scaled to a standing of 1
//! (the best option) down to 0 (the worst), and an option's score is the
//! weighted mean of its standings. Differences smaller than 5% of the best
//! value count in proportion to that 5%, not stretched over the whole
//! scale: a fairness of 0.9998 against 1.0000 is no reason to prefer an
//! option. A criterion every option ties on adds the same to every score.
//! The margin's significance comes from the per-seed scores (each seed's
//! values scaled the same way), paired.

use super::paired::{sentence, Paired, Verdict};
use crate::catalogue::{by_column, Direction, Metric};
use crate::sweep::assemble::point_labels;
use crate::sweep::record::{metric_index, RunRecord};
use crate::sweep::store::Manifest;
use serde::Serialize;
use sim_core::MetricSummary;

pub use crate::catalogue::Unit;

/// A mean with its interval: `3.43s ±48ms`; the `±` left out when every
/// seed agreed or there was one seed.
pub fn show_summary(unit: Unit, s: &MetricSummary) -> String {
    match (s.mean, s.half_width()) {
        (None, _) => "-".into(),
        // Rounding noise in sums of identical figures is no interval.
        (Some(m), Some(h)) if h > 1e-9 * m.abs().max(1e-12) => {
            format!("{} ±{}", unit.show(m), unit.show(h))
        }
        (Some(m), _) => unit.show(m),
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
}

impl CriterionDef {
    /// Lower is better.
    pub fn lower_is_better(&self) -> bool {
        self.metric.direction == Direction::Lower
    }
}

/// The criteria, in column order.
pub const CRITERIA: &[CriterionDef] = &[
    CriterionDef {
        key: "p50",
        metric: by_column("latency_p50_s"),
    },
    CriterionDef {
        key: "p99",
        metric: by_column("latency_p99_s"),
    },
    CriterionDef {
        key: "errors",
        metric: by_column("error_rate"),
    },
    CriterionDef {
        key: "throughput",
        metric: by_column("throughput_per_s"),
    },
    CriterionDef {
        key: "cost",
        metric: by_column("cost_per_hour"),
    },
    CriterionDef {
        key: "cost1k",
        metric: by_column("cost_per_1k_requests"),
    },
    CriterionDef {
        key: "fairness",
        metric: by_column("fairness_jain"),
    },
    CriterionDef {
        key: "tenants",
        metric: by_column("tenant_fairness_jain"),
    },
    CriterionDef {
        key: "slo",
        metric: by_column("slo_pass"),
    },
];

/// Parses `--weights p99=3,cost=2`: every criterion weighs 1 unless given.
pub fn parse_weights(s: Option<&str>) -> Result<Vec<f64>, String> {
    let mut w = vec![1.0; CRITERIA.len()];
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
    /// could not score: not every option measured them. A weight that
    /// changes nothing is an error, not a silent no-op.
    pub fn unscored(&self, weights: Option<&str>) -> Option<String> {
        let named = weighted_keys(weights);
        let unscored: Vec<&Criterion> = (self.criteria.iter())
            .filter(|c| !c.scored && named.contains(&c.key.as_str()))
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
            "--weights: {} not scored here: not every option measures it; the scored criteria \
             are {}",
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
    /// Whether it counted in the score (every option measured it and its
    /// weight is above 0).
    pub scored: bool,
    /// How its figures read.
    pub unit: Unit,
    /// The best option's mean, when scored.
    pub best: Option<f64>,
    /// The scale's width: the distance from the best mean to the worst,
    /// and at least 5% of the best.
    pub range: Option<f64>,
}

/// Differences below this share of the best value are not stretched over
/// the whole scale.
pub const MIN_RELATIVE_RANGE: f64 = 0.05;

impl Criterion {
    /// The standing of value `x` on this criterion: 1 at the best
    /// option's mean, 0 at the worst's (when they differ by more than 5%
    /// of the best), above 1 for a seed better than the best mean.
    pub fn standing(&self, x: f64) -> Option<f64> {
        let (best, range) = (self.best?, self.range?);
        if range == 0.0 {
            return Some(1.0);
        }
        let behind = if self.lower_is_better {
            x - best
        } else {
            best - x
        };
        Some(1.0 - behind / range)
    }
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
    /// Weighted score, 0..1.
    pub score: f64,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrix {
    /// What the options vary (the axis columns).
    pub options_vary: String,
    /// Seeds behind every figure.
    pub seeds: u32,
    /// The columns.
    pub criteria: Vec<Criterion>,
    /// The rows, in grid order.
    pub options: Vec<OptionRow>,
    /// Row indices from best score to worst.
    pub ranking: Vec<usize>,
    /// Paired difference of per-seed scores, recommendation minus
    /// runner-up.
    pub margin: Option<Paired>,
    /// Whether the recommendation's lead is significant.
    pub margin_significant: bool,
    /// What the paired comparisons of the top two say, one sentence per
    /// scored criterion.
    pub findings: Vec<String>,
}

impl Matrix {
    /// Builds the matrix of a finished sweep from its records (sorted by
    /// run).
    pub fn build(m: &Manifest, records: &[RunRecord], weights: &[f64]) -> Matrix {
        let groups: Vec<&[RunRecord]> = records.chunk_by(|a, b| a.point == b.point).collect();
        let per_seed = |g: &[RunRecord], metric: usize| -> Vec<Option<f64>> {
            g.iter().map(|r| r.metric(metric)).collect()
        };
        let idx: Vec<usize> = CRITERIA
            .iter()
            .map(|c| {
                metric_index(c.metric.column).expect("every criterion reads a recorded metric")
            })
            .collect();
        let mut options: Vec<OptionRow> = groups
            .iter()
            .map(|g| {
                let point = g[0].point;
                let cells = CRITERIA
                    .iter()
                    .zip(&idx)
                    .map(|(c, &i)| MetricSummary::of(c.metric.column, per_seed(g, i)))
                    .collect::<Vec<_>>();
                let slo_i = metric_index("slo_pass").unwrap_or(0);
                let passes: Vec<f64> = g.iter().filter_map(|r| r.metric(slo_i)).collect();
                let met = passes.iter().filter(|&&p| p > 0.5).count();
                let slo = if passes.is_empty() {
                    "no SLO".to_string()
                } else if met == passes.len() {
                    "meets".to_string()
                } else if met == 0 {
                    "misses".to_string()
                } else {
                    format!("meets on {met} of {} seeds", passes.len())
                };
                OptionRow {
                    name: point_labels(m, point).join(" / "),
                    point,
                    cells,
                    slo,
                    score: 0.0,
                }
            })
            .collect();
        let mut criteria: Vec<Criterion> = CRITERIA
            .iter()
            .enumerate()
            .map(|(c, d)| Criterion {
                key: d.key.into(),
                metric: d.metric.column.into(),
                label: d.metric.label.into(),
                weight: weights[c],
                lower_is_better: d.lower_is_better(),
                scored: weights[c] > 0.0 && options.iter().all(|o| o.cells[c].mean.is_some()),
                unit: d.metric.unit,
                best: None,
                range: None,
            })
            .collect();
        for (c, cr) in criteria.iter_mut().enumerate() {
            let means: Vec<f64> = options.iter().filter_map(|o| o.cells[c].mean).collect();
            if means.is_empty() {
                continue;
            }
            let (lo, hi) = means
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                    (l.min(x), h.max(x))
                });
            let best = if cr.lower_is_better { lo } else { hi };
            cr.best = Some(best);
            cr.range = Some((hi - lo).max(MIN_RELATIVE_RANGE * best.abs()));
        }
        let total_w: f64 = criteria.iter().filter(|c| c.scored).map(|c| c.weight).sum();
        let score_of = |vals: &dyn Fn(usize) -> Option<f64>| -> Option<f64> {
            if total_w == 0.0 {
                return Some(0.0);
            }
            let mut s = 0.0;
            for (c, cr) in criteria.iter().enumerate().filter(|(_, c)| c.scored) {
                s += cr.weight * cr.standing(vals(c)?)?;
            }
            Some(s / total_w)
        };
        for o in options.iter_mut() {
            o.score = score_of(&|c| o.cells[c].mean).unwrap_or(0.0);
        }
        let mut ranking: Vec<usize> = (0..options.len()).collect();
        ranking.sort_by(|&a, &b| {
            options[b]
                .score
                .total_cmp(&options[a].score)
                .then(a.cmp(&b))
        });
        let seed_scores = |o: usize| -> Vec<Option<f64>> {
            let g = groups[o];
            g.iter().map(|r| score_of(&|c| r.metric(idx[c]))).collect()
        };
        let (margin, findings) = match ranking.as_slice() {
            [best, second, ..] => {
                let margin = Paired::of(&seed_scores(*second), &seed_scores(*best));
                let (a, b) = (&options[*second].name, &options[*best].name);
                let mut findings = Vec::new();
                let mut same = Vec::new();
                for (c, cr) in criteria.iter().enumerate().filter(|(_, c)| c.scored) {
                    let Some(p) = Paired::of(
                        &per_seed(groups[*second], idx[c]),
                        &per_seed(groups[*best], idx[c]),
                    ) else {
                        continue;
                    };
                    if p.verdict(cr.lower_is_better) == Verdict::Same {
                        same.push(cr.label.clone());
                    } else {
                        findings.push(sentence(a, b, &cr.label, &p, cr.lower_is_better));
                    }
                }
                if !same.is_empty() {
                    findings.push(format!(
                        "{b} and {a} are identical on every seed on {}",
                        same.join(", ")
                    ));
                }
                (margin, findings)
            }
            _ => (None, Vec::new()),
        };
        let margin_significant = margin.is_some_and(|p| p.verdict(false) == Verdict::Better);
        Matrix {
            options_vary: crate::points::short_names(m).join(" / "),
            seeds: m.seeds,
            criteria,
            options,
            ranking,
            margin,
            margin_significant,
            findings,
        }
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

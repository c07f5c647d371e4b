//! Judging one configuration against the SLO on several seeds, with
//! early stopping: a point whose every seed so far misses an objective by
//! a wide margin is not run on the rest.
//!
//! A point **meets** the SLO with confidence when, for every objective,
//! the upper end of the 95% interval of its per-seed values (Student's t)
//! is at or under the target, and every seed reached steady state: a
//! backlogged run's latency describes a transient, so it never counts as
//! meeting anything. It **clearly fails** when an objective's lower end
//! is over its target, or when any of its first seeds is backlogged or
//! overloaded (it can then never meet the SLO).

use serde::Serialize;
use sim_core::{ci95_half_width, Bounds, Engine, Model, Regime, RunResult, SimError};

/// Seeds run before a point may be stopped early.
pub const FIRST_SEEDS: u32 = 3;

/// One objective at one point, across the seeds run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveStat {
    /// `p99`, `p50`, `errorRate`, ...
    pub objective: String,
    /// The target (seconds, or a share for error rate).
    pub target: f64,
    /// Mean across seeds.
    pub mean: f64,
    /// Upper end of the 95% interval (the mean with one seed).
    pub upper: f64,
    /// Lower end.
    pub lower: f64,
}

impl ObjectiveStat {
    /// How far under the target the upper bound is, as a share of the
    /// target (negative when over).
    pub fn margin(&self) -> f64 {
        if self.target > 0.0 {
            (self.target - self.upper) / self.target
        } else {
            -self.upper
        }
    }
}

/// What a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Meets every objective with confidence, in steady state.
    Meets,
    /// Misses an objective, or not with confidence.
    Misses,
    /// Stopped after the first seeds: clearly misses.
    StoppedEarly,
    /// Runs did not reach steady state.
    NotSteady,
}

/// One evaluated point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// Grid point.
    pub point: usize,
    /// Each axis's value label.
    pub labels: Vec<String>,
    /// Seeds run.
    pub seeds: u32,
    /// The verdict.
    pub outcome: Outcome,
    /// Instances running at the start.
    pub instances: usize,
    /// Mean cost per hour (instances and LLM).
    pub cost_per_hour: f64,
    /// Mean instance cost per hour (what `deployment.budget.perHour`
    /// caps).
    pub instance_cost_per_hour: f64,
    /// Mean cost per 1,000 requests.
    pub cost_per_1k: Option<f64>,
    /// Mean p99 latency, seconds.
    pub p99: Option<f64>,
    /// Seeds that did not reach steady state.
    pub unsteady: u32,
    /// Each objective.
    pub objectives: Vec<ObjectiveStat>,
}

impl Evaluation {
    /// Whether the point meets the SLO.
    pub fn meets(&self) -> bool {
        self.outcome == Outcome::Meets
    }

    /// The binding objective: the one with the least margin.
    pub fn tightest(&self) -> Option<&ObjectiveStat> {
        self.objectives
            .iter()
            .min_by(|a, b| a.margin().total_cmp(&b.margin()))
    }
}

/// Runs seeds `from..to` of `model` in parallel on the pool it is called
/// from (results in seed order).
fn run_seeds(model: &Model, from: u32, to: u32) -> Result<Vec<RunResult>, SimError> {
    let seeds: Vec<u32> = (from..to).collect();
    crate::study::pool::map(&seeds, |&s| Engine::new(model, s).run())
}

/// Evaluates point `point` (its model and labels) on up to `seeds` seeds,
/// stopping after [`FIRST_SEEDS`] when it clearly fails.
pub fn evaluate(
    model: &Model,
    point: usize,
    labels: Vec<String>,
    seeds: u32,
) -> Result<Evaluation, SimError> {
    let first = FIRST_SEEDS.min(seeds);
    let mut runs = run_seeds(model, 0, first)?;
    let instances = model.initial_instances();
    let early = summarise(point, labels.clone(), instances, &runs, seeds == first);
    if early.outcome == Outcome::StoppedEarly || seeds == first {
        return Ok(early);
    }
    runs.extend(run_seeds(model, first, seeds)?);
    Ok(summarise(point, labels, instances, &runs, true))
}

fn summarise(
    point: usize,
    labels: Vec<String>,
    instances: usize,
    runs: &[RunResult],
    complete: bool,
) -> Evaluation {
    let n = runs.len();
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let unsteady = runs.iter().filter(|r| r.regime != Regime::Stable).count() as u32;
    let objectives: Vec<ObjectiveStat> = runs
        .first()
        .map(|r| r.slo.checks.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(k, check)| {
            // A run that measured nothing (no completions) misses by far.
            let xs: Vec<f64> = runs
                .iter()
                .map(|r| r.slo.checks[k].actual.unwrap_or(f64::INFINITY))
                .collect();
            let m = mean(&xs);
            let h = if xs.iter().all(|x| x.is_finite()) {
                ci95_half_width(&xs, m).unwrap_or(0.0)
            } else {
                f64::INFINITY
            };
            // Cut at the objective's range (latencies 0 or more, the error
            // rate in [0, 1]); no verdict changes, as targets lie inside.
            let (lo, hi) = if check.objective == "errorRate" {
                Bounds::Share.range()
            } else {
                Bounds::NonNegative.range()
            };
            ObjectiveStat {
                objective: check.objective.clone(),
                target: check.target,
                mean: m,
                upper: (m + h).min(hi),
                lower: if h.is_finite() { (m - h).max(lo) } else { m },
            }
        })
        .collect();
    let cost: Vec<f64> = runs.iter().map(|r| r.cost_per_hour).collect();
    // Instance spend per hour of the measured window.
    let instance_cost: Vec<f64> = runs
        .iter()
        .map(|r| {
            if r.total_cost > 0.0 {
                r.cost_per_hour * r.cost / r.total_cost
            } else {
                0.0
            }
        })
        .collect();
    let per_1k: Vec<f64> = runs.iter().filter_map(|r| r.cost_per_1k_requests).collect();
    let p99: Vec<f64> = runs.iter().filter_map(|r| r.latency.p99).collect();
    let clearly_over = objectives.iter().any(|o| o.lower > o.target);
    // A point with an unsteady seed can never meet the SLO: stop at once.
    let outcome = if n == 0 {
        Outcome::Misses
    } else if unsteady > 0 {
        if complete {
            Outcome::NotSteady
        } else {
            Outcome::StoppedEarly
        }
    } else if !complete && clearly_over {
        Outcome::StoppedEarly
    } else if !complete {
        // Not decided yet: the caller runs the rest.
        Outcome::Misses
    } else if unsteady == 0 && objectives.iter().all(|o| o.upper <= o.target) {
        Outcome::Meets
    } else {
        Outcome::Misses
    };
    Evaluation {
        point,
        labels,
        seeds: n as u32,
        outcome,
        instances,
        cost_per_hour: mean(&cost),
        instance_cost_per_hour: mean(&instance_cost),
        cost_per_1k: (!per_1k.is_empty()).then(|| mean(&per_1k)),
        p99: (!p99.is_empty()).then(|| mean(&p99)),
        unsteady,
        objectives,
    }
}

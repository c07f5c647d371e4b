//! The latency and error rate no fleet can beat: a request's own path at
//! zero queueing.
//!
//! Before searching, `plan` runs each configuration the space can differ
//! in (one per combination of the axes other than the instance count, at
//! its largest instance count) once more, on the plan's first seed, with a
//! fleet so large that nothing queues: every instance gets
//! [`UNBOUNDED_SLOTS`] slots, CPU is its own time (no cores to share),
//! memory and per-instance LLM permits are unlimited, and
//! `maxConnectionsPerInstance` is lifted. Everything a fleet cannot change
//! stays: the LLM calls with their latency, tokens, errors, fallbacks,
//! cache and provider quotas, tool waits, network round trips, retries,
//! entry rate limits and the request timeout. Running the engine itself,
//! rather than a separate model of the path, keeps the floor to the
//! engine's own semantics; one seeded run is deterministic, and costs what
//! one seed of one point costs.
//!
//! The space is **below its floor** for an objective when its target is
//! under the 95% lower bound of the floor on every configuration: for a
//! latency percentile, the quantile at `q - 1.96 sqrt(q (1 - q) / n)` of
//! the `n` completed requests (an order-statistic bound); for the error
//! rate, the Wilson lower bound. The plan then stops with one sentence per
//! such objective, and evaluates nothing.

use crate::format::{percent, secs};
use crate::sweep::plan::Sweep;
use serde::Serialize;
use sim_core::{Engine, Model, Objective, SimError};

/// Slots per instance in the floor's run: more than any run holds at once.
pub const UNBOUNDED_SLOTS: u32 = 1_000_000;

/// Most configurations whose floor is run; a larger space is searched
/// without the check.
pub const MAX_FLOOR_RUNS: usize = 16;

/// One objective against the floor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FloorCheck {
    /// `p99`, `p50`, `errorRate`, ...
    pub objective: String,
    /// The target (seconds, or a share for error rate).
    pub target: f64,
    /// The lowest floor over the configurations run: the objective's value
    /// at zero queueing.
    pub floor: f64,
    /// Its 95% lower bound.
    pub lower_bound: f64,
    /// The target is under the lower bound on every configuration: no
    /// number of instances meets it.
    pub below: bool,
    /// What it means, in one sentence (empty when not below).
    pub says: String,
}

/// The configurations whose floor counts: for each combination of the
/// other axes, the point with the most instances on `axis` (every point
/// without one).
fn configurations(sweep: &Sweep, axis: Option<usize>) -> Vec<usize> {
    let Some(m) = axis else {
        return (0..sweep.models.len()).collect();
    };
    let mut best: std::collections::BTreeMap<Vec<usize>, (u64, usize)> = Default::default();
    for p in 0..sweep.models.len() {
        let mut idx = sweep.spec.point_values(p as u64);
        let n = sweep.spec.axes[m].values[idx[m]].as_u64().unwrap_or(0);
        idx.remove(m);
        let e = best.entry(idx).or_insert((n, p));
        if n > e.0 {
            *e = (n, p);
        }
    }
    best.into_values().map(|(_, p)| p).collect()
}

/// `model` with a fleet on which nothing queues (see the module docs).
pub fn unqueued(model: &Model) -> Model {
    let mut m = model.clone();
    for t in &mut m.fleet.types {
        t.slots = UNBOUNDED_SLOTS;
        t.cores = None;
        t.memory = None;
        t.oom_kill = false;
        t.llm_concurrency = None;
    }
    for i in &mut m.fleet.instances {
        i.slots = UNBOUNDED_SLOTS;
    }
    m.resilience.max_connections_per_instance = None;
    m
}

/// One objective on one configuration's unqueued run.
#[derive(Debug, Clone)]
struct Measured {
    objective: String,
    target: f64,
    floor: f64,
    lower: f64,
}

/// Each objective of `model` on its unqueued run, or `None` when the run
/// completed nothing to measure it on.
fn floors_of(model: &Model) -> Result<Vec<Option<Measured>>, SimError> {
    let r = Engine::new(&unqueued(model), 0).run()?;
    let n = r.recorder.count() as f64;
    Ok(model
        .objectives
        .iter()
        .map(|o| match *o {
            Objective::Latency { percentile, target } => {
                let q = percentile.quantile();
                let floor = r.recorder.quantile_secs(q)?;
                let low_q = (q - 1.96 * (q * (1.0 - q) / n.max(1.0)).sqrt()).max(0.0);
                let lower = r.recorder.quantile_secs(low_q)?;
                Some(Measured {
                    objective: percentile.to_string(),
                    target: target.as_secs_f64(),
                    floor,
                    lower,
                })
            }
            Objective::ErrorRate { max } => {
                let c = r.counts;
                let finished = c.finished() as f64;
                if finished <= 0.0 {
                    return None;
                }
                let p = c.error_rate();
                Some(Measured {
                    objective: "errorRate".into(),
                    target: max,
                    floor: p,
                    lower: wilson_lower(p, finished),
                })
            }
        })
        .collect())
}

/// The Wilson score interval's lower end for a share `p` of `n` (95%).
fn wilson_lower(p: f64, n: f64) -> f64 {
    let z: f64 = 1.96;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half) / (1.0 + z2 / n)).max(0.0)
}

/// The SLO of `sweep` against its floor on every configuration of the
/// space (`axis` counts instances, when one does); empty when the space
/// has more than [`MAX_FLOOR_RUNS`] configurations.
pub fn check(sweep: &Sweep, axis: Option<usize>) -> Result<Vec<FloorCheck>, SimError> {
    let configs = configurations(sweep, axis);
    if configs.len() > MAX_FLOOR_RUNS {
        return Ok(Vec::new());
    }
    let runs: Vec<Vec<Option<Measured>>> =
        crate::study::pool::map(&configs, |&p| floors_of(&sweep.models[p]))?;
    let objectives = sweep.models[0].objectives.len();
    let mut out = Vec::new();
    for k in 0..objectives {
        // The lowest floor over the configurations, and whether the
        // target is under every one's lower bound.
        let seen: Vec<&Measured> = runs.iter().filter_map(|r| r.get(k)?.as_ref()).collect();
        if seen.len() < runs.len() || seen.is_empty() {
            continue;
        }
        let below = seen.iter().all(|m| m.target < m.lower);
        let Some(lowest) = seen.iter().min_by(|a, b| a.floor.total_cmp(&b.floor)) else {
            continue;
        };
        let Measured {
            objective,
            target,
            floor,
            lower,
        } = (*lowest).clone();
        let says = if !below {
            String::new()
        } else if objective == "errorRate" {
            format!(
                "error rate ≤ {} is below the {} of requests that fail with no queueing at all (the LLM's own errors after retries and fallbacks, and what limits refuse); no number of instances meets it",
                percent(target),
                percent(floor)
            )
        } else {
            format!(
                "{objective} ≤ {} is below the {} a request takes at {objective} with no queueing at all (its own LLM calls, tool waits, CPU and network); no number of instances meets it",
                secs(target),
                secs(floor)
            )
        };
        out.push(FloorCheck {
            objective,
            target,
            floor,
            lower_bound: lower,
            below,
            says,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_stays_under_the_share_and_in_range() {
        assert_eq!(wilson_lower(0.0, 1000.0), 0.0);
        let w = wilson_lower(0.01, 10_000.0);
        assert!(w < 0.01 && w > 0.008, "{w}");
        assert!(wilson_lower(1.0, 10.0) > 0.6);
    }
}

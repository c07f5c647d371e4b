//! The search for the cheapest configuration that meets the SLO.
//!
//! When exactly one axis counts instances (`deployment.regions.R.instances`),
//! latency cannot get worse as it grows (more instances of one type, the
//! same seeds), so for each combination of the other axes the search
//! bisects that axis for the fewest instances that meet the SLO. It starts
//! where queueing theory puts the answer: the fewest instances at which,
//! by Erlang C on the scenario's offered load, at most [`START_WAIT`] of
//! requests would wait for a slot; when another per-instance resource
//! (CPU, LLM permits) binds before the slots, the slots' load is
//! scaled by how much more loaded that resource is
//! ([`sim_core::OfferedLoad::slot_factor`]). Other spaces are searched point by
//! point. Either way a point that clearly fails after its first seeds is
//! not run on the rest.

use super::evaluate::{evaluate, Evaluation};
use crate::sweep::plan::Sweep;
use serde::Serialize;
use sim_core::SimError;
use std::collections::BTreeMap;

/// Share of requests allowed to wait for a slot at the search's start.
pub const START_WAIT: f64 = 0.2;

/// Erlang C: the probability that an arrival waits, with `servers` slots
/// and `load` Erlangs offered (1 when the load reaches the slots).
pub fn erlang_c(servers: u64, load: f64) -> f64 {
    if servers == 0 || load >= servers as f64 {
        return 1.0;
    }
    if load <= 0.0 {
        return 0.0;
    }
    // Erlang B by its recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=servers {
        b = load * b / (k as f64 + load * b);
    }
    let s = servers as f64;
    s * b / (s - load * (1.0 - b))
}

/// How the space was searched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    /// Every point evaluated, in the order evaluated.
    pub evaluations: Vec<Evaluation>,
    /// The axis bisected, when there was one.
    pub bisected: Option<String>,
    /// Per group of the other axes: the Erlang C start and the point found.
    pub starts: Vec<usize>,
    /// Runs made.
    pub runs: u64,
    /// Runs the full grid would take.
    pub grid_runs: u64,
    /// Points in the grid.
    pub grid_points: usize,
}

impl Search {
    /// The evaluation of grid point `p`, if it was evaluated.
    pub fn at(&self, p: usize) -> Option<&Evaluation> {
        self.evaluations.iter().find(|e| e.point == p)
    }
}

/// How point `p` is named: `name=value` for each axis with more than one
/// value (the last part of its path names it).
pub fn labels(sweep: &Sweep, p: usize) -> Vec<String> {
    let idx = sweep.spec.point_values(p as u64);
    let named: Vec<String> = sweep
        .spec
        .axes
        .iter()
        .zip(idx)
        .filter(|(a, _)| a.values.len() > 1)
        .map(|(a, i)| {
            let path = a.path.as_str();
            let name = path.rsplit('.').next().unwrap_or(path);
            format!("{name}={}", a.label(i))
        })
        .collect();
    if named.is_empty() {
        vec!["as written".into()]
    } else {
        named
    }
}

/// The instance-count axis, when exactly one axis is one.
pub(crate) fn instances_axis(sweep: &Sweep) -> Option<usize> {
    let found: Vec<usize> = sweep
        .spec
        .axes
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.path.as_str().starts_with("deployment.regions.")
                && a.path.as_str().ends_with(".instances")
                && a.values.len() > 1
                && a.values.iter().all(|v| v.as_u64().is_some())
        })
        .map(|(i, _)| i)
        .collect();
    (found.len() == 1).then(|| found[0])
}

/// Searches `sweep`'s grid on `seeds` seeds per point.
pub fn search(sweep: &Sweep, seeds: u32) -> Result<Search, SimError> {
    let points = sweep.models.len();
    let mut evals: Vec<Evaluation> = Vec::new();
    let mut starts = Vec::new();
    let eval = |p: usize, evals: &mut Vec<Evaluation>| -> Result<bool, SimError> {
        if let Some(e) = evals.iter().find(|e| e.point == p) {
            return Ok(e.meets());
        }
        let e = evaluate(&sweep.models[p], p, labels(sweep, p), seeds)?;
        let meets = e.meets();
        evals.push(e);
        Ok(meets)
    };
    let bisected = instances_axis(sweep);
    match bisected {
        None => {
            for p in 0..points {
                eval(p, &mut evals)?;
            }
        }
        Some(m) => {
            // Group the points by the other axes; order each group by
            // instance count.
            let mut groups: BTreeMap<Vec<usize>, Vec<(u64, usize)>> = BTreeMap::new();
            for p in 0..points {
                let mut idx = sweep.spec.point_values(p as u64);
                let n = sweep.spec.axes[m].values[idx[m]].as_u64().unwrap_or(0);
                idx.remove(m);
                groups.entry(idx).or_default().push((n, p));
            }
            for (_, mut g) in groups {
                g.sort();
                let start = erlang_start(sweep, &g);
                starts.push(g[start].1);
                // The fewest instances that meet: everything below `lo` is
                // known to miss, `hi` is the first known to meet (or the
                // end).
                let (mut lo, mut hi) = (0usize, g.len());
                if eval(g[start].1, &mut evals)? {
                    hi = start;
                } else {
                    lo = start + 1;
                }
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if eval(g[mid].1, &mut evals)? {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                // The step below the answer, so the report can say what
                // binds (evaluated already unless the answer is the start).
                if hi > 0 && hi < g.len() {
                    eval(g[hi - 1].1, &mut evals)?;
                }
            }
        }
    }
    let runs = evals.iter().map(|e| u64::from(e.seeds)).sum();
    Ok(Search {
        evaluations: evals,
        bisected: bisected.map(|m| sweep.spec.axes[m].path.as_str().to_string()),
        starts,
        runs,
        grid_runs: points as u64 * u64::from(seeds),
        grid_points: points,
    })
}

/// The position in `group` (instance count, point) where Erlang C says
/// at most [`START_WAIT`] of requests would wait.
fn erlang_start(sweep: &Sweep, group: &[(u64, usize)]) -> usize {
    group
        .iter()
        .position(|&(_, p)| {
            let m = &sweep.models[p];
            let slots = m.total_slots();
            // The slots' Erlangs, scaled up when another per-instance
            // resource (CPU, LLM permits) binds before them.
            let factor = m.offered_load().slot_factor(false);
            let load = m.offered_utilization() * slots as f64 * factor;
            erlang_c(slots, load) <= START_WAIT
        })
        .unwrap_or(group.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_the_textbook() {
        // Two servers, one Erlang: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // One server: C = rho.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        // 10 servers, 8 Erlangs: the closed form gives 0.409180.
        assert!((erlang_c(10, 8.0) - 0.4092).abs() < 1e-4);
        assert_eq!(erlang_c(4, 4.0), 1.0);
        assert_eq!(erlang_c(4, 0.0), 0.0);
    }
}

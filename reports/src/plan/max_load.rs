//! `fleetsim plan --max-load`: the highest arrival rate a configuration
//! sustains under its SLO, by bisection on a multiplier of the scenario's
//! whole arrival profile (every step scaled alike).
//!
//! The bracket is from no load to the rate at which the fleet's largest
//! size is saturated (offered load equal to every slot it may run), where
//! no run can be steady; bisection stops when the bracket is within
//! [`PRECISION`] of its upper end.

use super::evaluate::{evaluate, Evaluation};
use serde::Serialize;
use sim_core::{Model, SimError};

/// Relative width at which the bisection stops.
pub const PRECISION: f64 = 0.02;

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaxLoad {
    /// The scenario's base arrival rate, per second.
    pub base_rate: f64,
    /// The highest multiplier of the arrival profile that met the SLO.
    pub multiplier: f64,
    /// The highest base rate that met the SLO, per second.
    pub max_rate: f64,
    /// The lowest multiplier known to miss it (the saturation point when
    /// no rate tried missed).
    pub missed_at: f64,
    /// Each rate tried: (multiplier, evaluation).
    pub tried: Vec<(f64, Evaluation)>,
    /// Runs made.
    pub runs: u64,
}

/// Bisects the arrival rate of `model` on `seeds` seeds.
pub fn max_load(model: &Model, seeds: u32) -> Result<MaxLoad, SimError> {
    let base_rate = model
        .workload
        .rate_profile
        .first()
        .map_or(0.0, |s| s.rate_per_second);
    let initial = model.initial_instances().max(1) as f64;
    let most = model.fleet.instances.len().max(1) as f64;
    // Offered load per slot at multiplier 1, on the largest fleet.
    let rho = model.offered_utilization() * initial / most;
    let saturated = if rho > 0.0 { 1.0 / rho } else { 1.0 };
    let mut tried = Vec::new();
    let at = |f: f64, tried: &mut Vec<(f64, Evaluation)>| -> Result<bool, SimError> {
        let mut m = model.clone();
        for step in &mut m.workload.rate_profile {
            step.rate_per_second *= f;
        }
        let e = evaluate(&m, 0, vec![format!("x{f:.3}")], seeds)?;
        let ok = e.meets();
        tried.push((f, e));
        Ok(ok)
    };
    let (mut lo, mut hi) = (0.0, saturated);
    // Start at the scenario's own rate: most questions are near it.
    if saturated > 1.0 {
        if at(1.0, &mut tried)? {
            lo = 1.0;
        } else {
            hi = 1.0;
        }
    }
    // Stop when the bracket is narrow; when nothing has met the SLO, stop
    // once the rates tried are a thousandth of saturation (it is missed
    // at any load worth running).
    while (hi - lo) > PRECISION * hi && (lo > 0.0 || hi > saturated * 1e-3) {
        let mid = (lo + hi) / 2.0;
        if at(mid, &mut tried)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let runs = tried.iter().map(|(_, e)| u64::from(e.seeds)).sum();
    Ok(MaxLoad {
        base_rate,
        multiplier: lo,
        max_rate: base_rate * lo,
        missed_at: hi,
        tried,
        runs,
    })
}

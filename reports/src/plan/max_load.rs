//! `fleetsim plan --max-load`: the highest arrival rate a configuration
//! sustains under its SLO, by bisection on a multiplier of the scenario's
//! whole arrival profile (every step scaled alike) and of a replayed
//! trace's speed.
//!
//! The bracket is from no load to the rate at which the fleet's largest
//! size is saturated (offered load equal to every slot it may run, or to
//! the capacity of whichever resource binds first, see
//! [`sim_core::OfferedLoad`]), where no run can be steady; bisection stops when the bracket is within
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
    /// The format of this output ([`crate::contract::MAX_LOAD`]).
    pub format_version: u32,
    /// fleetsim version that produced it.
    pub fleetsim_version: String,
    /// The scenario's base arrival rate, per second (open arrivals, plus
    /// a replayed trace's rows per second of the run).
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
    // Open arrivals, and a trace's rows per second of the run.
    let base_rate = model
        .workload
        .rate_profile
        .first()
        .map_or(0.0, |s| s.rate_per_second)
        + model.workload.trace.as_ref().map_or(0.0, |t| {
            t.rows as f64 / model.run.duration.as_secs_f64().max(1e-9)
        });
    let initial = model.initial_instances().max(1) as f64;
    let most = model.fleet.instances.len().max(1) as f64;
    // Offered load per slot at multiplier 1, on the largest fleet, scaled
    // up when another resource binds first there.
    let rho = model.offered_utilization() * initial / most * model.offered_load().slot_factor(true);
    let saturated = if rho > 0.0 { 1.0 / rho } else { 1.0 };
    let mut tried = Vec::new();
    let at = |f: f64, tried: &mut Vec<(f64, Evaluation)>| -> Result<bool, SimError> {
        let m = scaled(model, f)?;
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
        format_version: crate::contract::MAX_LOAD,
        fleetsim_version: sim_core::VERSION.to_string(),
        base_rate,
        multiplier: lo,
        max_rate: base_rate * lo,
        missed_at: hi,
        tried,
        runs,
    })
}

/// `model` at `f` times its load: every step of its arrival profile
/// multiplied, and a replayed trace `f` times faster (its `speed`
/// multiplied, the scenario checked again at that speed, so the rows,
/// user names and tokens within the run are the trace's at that speed).
fn scaled(model: &Model, f: f64) -> Result<Model, SimError> {
    let mut m = match &model.workload.trace {
        None => model.clone(),
        Some(t) => {
            let mut s = model.scenario.clone();
            if let Some(trace) = &mut s.workload.trace {
                trace.speed = Some(t.spec.speed * f);
                // Resolved already: read from where the check read it.
                trace.file = t.path.to_string_lossy().into_owned();
            }
            s.compile(std::path::Path::new(""))
                .map_err(|e| SimError::Trace(format!("at {f:.3} times the trace's speed: {e}")))?
        }
    };
    for step in &mut m.workload.rate_profile {
        step.rate_per_second *= f;
    }
    Ok(m)
}

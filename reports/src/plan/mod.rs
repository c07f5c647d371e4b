//! `fleetsim plan`: the cheapest configuration in a space the user opens
//! that meets the SLO with confidence, within a budget, with the evidence;
//! and `--max-load`, the highest arrival rate a configuration sustains.
//!
//! | module | what it owns |
//! |---|---|
//! | [`floor`] | the latency and error rate no fleet can beat: the SLO against a run where nothing queues |
//! | [`evaluate`] | one point on several seeds: meets, misses, stopped early, not steady |
//! | [`search`] | Erlang C start, bisection on the instance axis, the grid otherwise |
//! | [`max_load`] | bisection on the arrival rate |
//! | [`render`] | the terminal text, Markdown, the Pareto chart and the HTML page |

pub mod evaluate;
pub mod floor;
pub mod max_load;
pub mod render;
pub mod search;

use crate::report::charts::pareto_front;
use crate::sweep::plan::Sweep;
use evaluate::Evaluation;
use search::Search;
use serde::Serialize;
use sim_core::SimError;

/// What constrains the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// The SLO: one step cheaper misses it.
    Slo,
    /// The budget: cheaper options miss the SLO, dearer ones the budget.
    Budget,
    /// The edge of the space: the cheapest option allowed already meets
    /// the SLO (open the space lower), or none does (open it higher).
    Edge,
    /// The floor: an objective's target is below what a request's own
    /// path takes with no queueing at all, so no fleet meets it.
    Floor,
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The format of this output ([`crate::contract::PLAN`]).
    pub format_version: u32,
    /// fleetsim version that produced it.
    pub fleetsim_version: String,
    /// The scenario planned for.
    pub scenario: String,
    /// The axes of the space (paths).
    pub axes: Vec<String>,
    /// Seeds per fully evaluated point.
    pub seeds: u32,
    /// Budget for instance spend per hour, when there is one.
    pub budget_per_hour: Option<f64>,
    /// Currency of the costs.
    pub currency: String,
    /// How the space was searched, and every point evaluated.
    pub search: Search,
    /// The recommendation: the cheapest point meeting the SLO within the
    /// budget (grid point index).
    pub recommendation: Option<usize>,
    /// The next cheapest points meeting the SLO (grid point indices).
    pub runners_up: Vec<usize>,
    /// Points on the cost against p99 Pareto front (grid point indices,
    /// cheapest first).
    pub pareto: Vec<usize>,
    /// What binds.
    pub binding: Binding,
    /// What binds, in words.
    pub binding_says: String,
    /// Each objective against the floor no fleet can beat (empty when the
    /// space has too many configurations to check).
    pub floor: Vec<floor::FloorCheck>,
}

impl Plan {
    /// The evaluation of grid point `p`.
    pub fn at(&self, p: usize) -> &Evaluation {
        self.search.at(p).expect("only evaluated points are named")
    }
}

/// Plans over `sweep` (its axes are the space) on `seeds` seeds.
pub fn plan(sweep: &Sweep, seeds: u32, budget_per_hour: Option<f64>) -> Result<Plan, SimError> {
    let axis = search::instances_axis(sweep);
    let floor = floor::check(sweep, axis)?;
    let below: Vec<&str> = floor
        .iter()
        .filter(|f| f.below)
        .map(|f| f.says.as_str())
        .collect();
    if !below.is_empty() {
        // Nothing to search: say why, and evaluate nothing.
        let binding_says = below.join("; ");
        return Ok(Plan {
            format_version: crate::contract::PLAN,
            fleetsim_version: sim_core::VERSION.to_string(),
            scenario: sweep.spec.scenario.display().to_string(),
            axes: sweep
                .spec
                .axes
                .iter()
                .map(|a| a.path.as_str().to_string())
                .collect(),
            seeds,
            budget_per_hour,
            currency: sweep.models[0].run.currency.clone(),
            search: Search {
                evaluations: Vec::new(),
                bisected: axis.map(|m| sweep.spec.axes[m].path.as_str().to_string()),
                starts: Vec::new(),
                runs: 0,
                grid_runs: sweep.models.len() as u64 * u64::from(seeds),
                grid_points: sweep.models.len(),
            },
            recommendation: None,
            runners_up: Vec::new(),
            pareto: Vec::new(),
            binding: Binding::Floor,
            binding_says,
            floor,
        });
    }
    let search = search::search(sweep, seeds)?;
    let mut meeting: Vec<&Evaluation> = search.evaluations.iter().filter(|e| e.meets()).collect();
    meeting.sort_by(|a, b| {
        a.cost_per_hour
            .total_cmp(&b.cost_per_hour)
            .then(a.instances.cmp(&b.instances))
            .then(
                a.p99
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.p99.unwrap_or(f64::INFINITY)),
            )
            .then(a.point.cmp(&b.point))
    });
    // The budget caps instance spend, as `deployment.budget.perHour` does.
    let affordable =
        |e: &&&Evaluation| budget_per_hour.is_none_or(|b| e.instance_cost_per_hour <= b);
    let recommendation = meeting.iter().find(affordable).map(|e| e.point);
    let runners_up: Vec<usize> = meeting
        .iter()
        .map(|e| e.point)
        .filter(|p| Some(*p) != recommendation)
        .take(3)
        .collect();
    let full: Vec<&Evaluation> = search
        .evaluations
        .iter()
        .filter(|e| e.seeds == seeds && e.p99.is_some())
        .collect();
    let pts: Vec<(String, f64, f64)> = full
        .iter()
        .map(|e| (e.labels.join(" "), e.cost_per_hour, e.p99.unwrap_or(0.0)))
        .collect();
    let pareto = pareto_front(&pts)
        .into_iter()
        .map(|i| full[i].point)
        .collect();
    let (binding, binding_says) = bind(sweep, &search, &meeting, recommendation, budget_per_hour);
    Ok(Plan {
        format_version: crate::contract::PLAN,
        fleetsim_version: sim_core::VERSION.to_string(),
        scenario: sweep.spec.scenario.display().to_string(),
        axes: sweep
            .spec
            .axes
            .iter()
            .map(|a| a.path.as_str().to_string())
            .collect(),
        seeds,
        budget_per_hour,
        currency: sweep.models[0].run.currency.clone(),
        search,
        recommendation,
        runners_up,
        pareto,
        binding,
        binding_says,
        floor,
    })
}

fn bind(
    sweep: &Sweep,
    search: &Search,
    meeting: &[&Evaluation],
    recommendation: Option<usize>,
    budget: Option<f64>,
) -> (Binding, String) {
    let Some(best) = meeting.first() else {
        let closest = search.evaluations.iter().max_by(|a, b| {
            let m = |e: &Evaluation| e.tightest().map_or(f64::NEG_INFINITY, |o| o.margin());
            m(a).total_cmp(&m(b))
        });
        let detail = closest
            .and_then(|e| e.tightest().map(|o| (e, o)))
            .map(|(e, o)| {
                format!(
                    "; the closest, {}, misses {} (upper bound {} against {})",
                    e.labels.join(" "),
                    o.objective,
                    crate::format::short(o.upper),
                    crate::format::short(o.target)
                )
            })
            .unwrap_or_default();
        return (
            Binding::Edge,
            format!("no configuration in the space meets the SLO{detail}: open the space further (more instances, larger types)"),
        );
    };
    let Some(rec) = recommendation else {
        return (
            Binding::Budget,
            format!(
                "the budget: the cheapest configuration that meets the SLO ({}) spends {} per hour on instances, over the budget of {}",
                best.labels.join(" "),
                crate::format::money(best.instance_cost_per_hour),
                crate::format::money(budget.unwrap_or(0.0))
            ),
        );
    };
    if let Some(axis) = &search.bisected {
        let m = sweep
            .spec
            .axes
            .iter()
            .position(|a| a.path.as_str() == axis)
            .unwrap_or(0);
        let idx = sweep.spec.point_values(rec as u64);
        let n = sweep.spec.axes[m].values[idx[m]].as_u64().unwrap_or(0);
        let lowest = sweep.spec.axes[m]
            .values
            .iter()
            .filter_map(|v| v.as_u64())
            .min();
        if lowest == Some(n) {
            return (
                Binding::Edge,
                format!("the space's edge: {n} instances, the fewest the space allows, already meet the SLO; open {axis} lower to look for cheaper"),
            );
        }
        // The step below in the same group.
        let values = &sweep.spec.axes[m].values;
        let prev = values
            .iter()
            .filter_map(|v| v.as_u64())
            .filter(|&x| x < n)
            .max();
        let below = prev.and_then(|prev| {
            (0..sweep.models.len()).find(|&p| {
                let j = sweep.spec.point_values(p as u64);
                values[j[m]].as_u64() == Some(prev)
                    && j.iter()
                        .zip(&idx)
                        .enumerate()
                        .all(|(k, (a, b))| k == m || a == b)
            })
        });
        if let Some(e) = below.and_then(|p| search.at(p)).filter(|e| !e.meets()) {
            let why = match e.tightest() {
                Some(o) if e.unsteady == 0 => format!(
                    "misses {} (upper bound {} against {})",
                    o.objective,
                    crate::format::short(o.upper),
                    crate::format::short(o.target)
                ),
                _ => format!(
                    "does not reach steady state on {} of {} seeds",
                    e.unsteady, e.seeds
                ),
            };
            return (
                Binding::Slo,
                format!("the SLO: one step fewer ({}) {why}", e.labels.join(" ")),
            );
        }
    }
    let tight = search
        .at(rec)
        .and_then(|e| e.tightest())
        .map(|o| format!(" ({} has the least margin)", o.objective))
        .unwrap_or_default();
    (
        Binding::Slo,
        format!("the SLO: every cheaper option evaluated misses it{tight}"),
    )
}

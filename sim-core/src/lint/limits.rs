//! Budgets and limits that never refused anything in the run: budget
//! caps, entry rate limits, connection limits and provider quotas. (A
//! budget cap without an autoscaler is the checker's error.)

use super::{in_runs, Finding, Stage};
use crate::metrics::RunResult;
use crate::scenario::Model;

/// Budgets that never refused a scale-up or switched a model.
pub(super) fn budget_run(model: &Model, runs: &[RunResult], out: &mut Vec<Finding>) {
    let Some(b) = &model.budget.config else {
        return;
    };
    let when = in_runs(runs);
    if model.fleet.scaling.is_some() {
        let refused: u64 = runs.iter().map(|r| r.scaling.refused_by_budget).sum();
        let ups: u64 = runs.iter().map(|r| r.scaling.scale_ups).sum();
        if refused == 0 {
            let caps = [(b.per_hour, "perHour"), (b.total, "total")];
            for (v, key) in caps {
                if v.is_some() {
                    out.push(Finding::new(
                        Stage::Run,
                        format!("deployment.budget.{key}"),
                        "budget-never-bound",
                        format!(
                            "the cap refused no scale-up {when} ({ups} scale-ups allowed): spend stayed \
                             under it, so it changed nothing; lower it to see what it costs the SLO, \
                             or keep it as a guard"
                        ),
                    ));
                }
            }
        }
    }
    if b.llm_per_hour.is_some() && runs.iter().all(|r| r.scaling.model_switches == 0) {
        out.push(Finding::new(
            Stage::Run,
            "deployment.budget.llmPerHour",
            "budget-never-bound",
            format!(
                "LLM spend never reached the cap {when}, so no request switched to the fallback model; \
                 lower it to see the fallback's effect, or keep it as a guard"
            ),
        ));
    }
}

/// Where the entry rate limit named `name` is written.
fn rate_limit_path(model: &Model, name: &str) -> String {
    let d = &model.scenario.deployment;
    if name == "rateLimit" && d.rate_limit.is_some() {
        return "deployment.rateLimit".into();
    }
    if d.rate_limits.contains_key(name) {
        return format!("deployment.rateLimits.{name}");
    }
    d.routes
        .iter()
        .find(|(_, r)| r.rate_limits.contains_key(name))
        .map_or_else(
            || format!("deployment.rateLimits.{name}"),
            |(route, _)| format!("deployment.routes.{route}.rateLimits.{name}"),
        )
}

fn never_refused(path: String, what: &str, when: &str) -> Finding {
    Finding::new(
        Stage::Run,
        path,
        "limit-never-refused",
        format!(
            "{what} refused nothing in the measured window {when}: traffic stayed under it, so it \
             changed nothing; test it with a load that reaches it (a burst or a step), or lower it"
        ),
    )
}

/// Entry rate limits, connection limits and provider quotas that never
/// refused a request.
pub(super) fn refusals(model: &Model, runs: &[RunResult], out: &mut Vec<Finding>) {
    let when = in_runs(runs);
    for l in &model.routes.rate_limits {
        let refused: u64 = runs
            .iter()
            .flat_map(|r| r.rate_limits.iter().filter(|c| c.name == l.name))
            .map(|c| c.rejected)
            .sum();
        if refused == 0 {
            let path = rate_limit_path(model, &l.name);
            out.push(never_refused(path, "this rate limit", &when));
        }
    }
    let over: u64 = runs.iter().map(|r| r.reasons.over_connection_limit).sum();
    if over == 0 {
        let limits = [
            (
                model.resilience.max_connections,
                "deployment.limits.maxConnections",
                "the fleet's connection limit",
            ),
            (
                model.resilience.max_connections_per_instance,
                "deployment.limits.maxConnectionsPerInstance",
                "the per-instance connection limit",
            ),
        ];
        for (v, path, what) in limits {
            if v.is_some() {
                out.push(never_refused(path.into(), what, &when));
            }
        }
    }
    for m in &model.llm.models {
        if m.quota.is_none() {
            continue;
        }
        let refused: u64 = runs
            .iter()
            .flat_map(|r| r.llm_calls.iter().filter(|c| c.model == m.name))
            .map(|c| c.rate_limited)
            .sum();
        if refused == 0 {
            let path = format!("llm.models.{}.rateLimit", m.name);
            out.push(never_refused(path, "the provider's quota", &when));
        }
    }
}

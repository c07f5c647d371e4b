//! Balancing: a session-affinity `type` that cannot differ (static), and a
//! canary whose instances an autoscaler removed (run).

use super::{Finding, Stage};
use crate::metrics::RunResult;
use crate::scenario::Model;
use serde_json::Value;
use strategies::LoadBalancingConfig;

/// Per fleet instance: whether `loadBalancing.canary.instances` names it
/// (by id or region); empty without a canary.
pub(crate) fn canary_members(model: &Model) -> Vec<bool> {
    let Some(c) = &model.balancing.config.canary else {
        return Vec::new();
    };
    model
        .fleet
        .instances
        .iter()
        .map(|i| c.instances.iter().any(|n| *n == i.id || *n == i.region))
        .collect()
}

fn affinity_one(
    lb: &LoadBalancingConfig,
    at: &str,
    written: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let Some(a) = &lb.session_affinity else {
        return;
    };
    if !a.enabled || written.and_then(|w| w.get("type")).is_none() {
        return;
    }
    out.push(Finding::new(
        Stage::Static,
        format!("{at}.sessionAffinity.type"),
        "affinity-type-no-effect",
        "`cookie` and `session` key on the user and `ip` on the client address, and each \
         modelled user has exactly one address, so every type pins the same requests together \
         and the choice changes nothing; drop the key",
    ));
}

/// Session-affinity types written where each user has one address.
pub(super) fn affinity(model: &Model, doc: &Value, out: &mut Vec<Finding>) {
    let d = &model.scenario.deployment;
    let written = doc.pointer("/deployment/loadBalancing/sessionAffinity");
    affinity_one(&d.load_balancing, "deployment.loadBalancing", written, out);
    for (name, r) in &d.routes {
        if let Some(lb) = &r.load_balancing {
            let written = doc
                .pointer("/deployment/routes")
                .and_then(|rs| rs.get(name))
                .and_then(|r| r.pointer("/loadBalancing/sessionAffinity"));
            let at = format!("deployment.routes.{name}.loadBalancing");
            affinity_one(lb, &at, written, out);
        }
    }
}

/// A canary some of whose instances an autoscaler removed.
pub(super) fn canary(model: &Model, runs: &[RunResult], out: &mut Vec<Finding>) {
    if model.balancing.config.canary.is_none() {
        return;
    }
    let removed: Vec<(u32, f64)> = runs
        .iter()
        .filter_map(|r| r.scaling.canary_removed_at.map(|t| (r.replication, t)))
        .collect();
    let Some(&(rep, at)) = removed.first() else {
        return;
    };
    let all = removed.len() == runs.len();
    let which = if runs.len() == 1 {
        String::new()
    } else if all {
        " in every replication".to_string()
    } else {
        format!(" in {} of {} replications", removed.len(), runs.len())
    };
    out.push(Finding::new(
        Stage::Run,
        "deployment.loadBalancing.canary.instances",
        "canary-removed",
        format!(
            "the autoscaler removed a canary instance (first at {} of replication {rep}){which}: \
             with no canary instance left the stable side takes the canary's share, so the canary \
             is measured on less traffic than `percent` says, or none; name instances the \
             autoscaler keeps (those below its minimum, the lowest indices) or raise its minimum",
            super::secs(at)
        ),
    ));
}

//! Findings: settings a scenario writes that cannot act, said with their
//! JSON path.
//!
//! The rule: a setting a scenario writes either changes the run or is an
//! error, and where it cannot act in this run, fleetsim says so. Errors
//! are the checker's (`scenario::compile`); this module finds the rest,
//! twice:
//!
//! - **static** findings, when a scenario is checked ([`check`], kept in
//!   [`Model::findings`]): what the file alone shows (an autoscaler target
//!   above what a pod can reach, a breaker `timeout` that reads like a
//!   reset time, an affinity `type` that cannot differ);
//! - **run** findings, from what the replications did ([`after_run`]): a
//!   cooldown or stabilization window that never held a decision, a budget
//!   or limit that never refused anything, a canary the autoscaler removed.
//!
//! Findings are advisory: they change no result and no exit code. They
//! cost the engine nothing per request: run findings read counters and
//! the scaling log the engine keeps anyway, plus one check per instance an
//! autoscaler removes (the canary).
//!
//! | family | file |
//! |---|---|
//! | autoscaler targets, cooldowns, stabilization windows | `lint/scaling.rs` |
//! | budgets, rate limits, connection limits, provider quotas | `lint/limits.rs` |
//! | canaries, session affinity | `lint/balancing.rs` |
//! | breaker `timeout` against `resetTimeout` | `lint/breaker.rs` |

mod balancing;
mod breaker;
mod limits;
mod scaling;

pub(crate) use balancing::canary_members;

use crate::metrics::RunResult;
use crate::scenario::Model;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// When a finding was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// From the scenario alone, when it was checked.
    Static,
    /// From what the run's replications did.
    Run,
}

impl Stage {
    /// `static` or `run`.
    pub fn word(self) -> &'static str {
        match self {
            Stage::Static => "static",
            Stage::Run => "run",
        }
    }
}

/// A setting that cannot act, or did not in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The setting's JSON path, as errors name paths
    /// (`deployment.scaling.targetCPU`).
    pub path: String,
    /// What kind of finding (`scaling-target-unreachable`, …; the README
    /// lists them).
    pub code: String,
    /// One sentence: what it means and what to do.
    pub message: String,
    /// Found from the scenario alone or from the run.
    pub stage: Stage,
}

impl Finding {
    pub(crate) fn new(
        stage: Stage,
        path: impl Into<String>,
        code: &str,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            path: path.into(),
            code: code.to_string(),
            message: message.into(),
            stage,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.path, self.code, self.message)
    }
}

/// The static findings of a checked scenario; `doc` is the scenario as
/// written (after `extends` and imports), which says which keys were
/// written and which are defaults.
pub(crate) fn check(model: &Model, doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    scaling::targets(model, &mut out);
    breaker::timeouts(model, doc, &mut out);
    balancing::affinity(model, doc, &mut out);
    out
}

/// The findings from what `runs` (replications of `model`) did; empty
/// without runs.
pub fn after_run(model: &Model, runs: &[RunResult]) -> Vec<Finding> {
    let mut out = Vec::new();
    if runs.is_empty() {
        return out;
    }
    scaling::holds(model, runs, &mut out);
    limits::budget_run(model, runs, &mut out);
    limits::refusals(model, runs, &mut out);
    balancing::canary(model, runs, &mut out);
    out
}

/// Every finding for `model` run as `runs`: the static ones, then the
/// run's.
pub fn findings(model: &Model, runs: &[RunResult]) -> Vec<Finding> {
    let mut out = model.findings.clone();
    out.extend(after_run(model, runs));
    out
}

/// The findings of several runs of one scenario made one at a time (a
/// sweep's or a gate's seeds), each from [`findings`] on its single run:
/// the static ones once; a run finding that says something never
/// happened when every run has it, and one that says something happened
/// (`canary-removed`) when any has it, with the first such run's words.
pub fn across_runs(per_run: &[Vec<Finding>]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for fs in per_run {
        for f in fs {
            if out.iter().any(|o| o.code == f.code && o.path == f.path) {
                continue;
            }
            let everywhere = per_run
                .iter()
                .all(|o| o.iter().any(|x| x.code == f.code && x.path == f.path));
            if f.stage == Stage::Static || f.code == "canary-removed" || everywhere {
                out.push(f.clone());
            }
        }
    }
    out
}

/// "in the run" or "in any of the N replications".
pub(crate) fn in_runs(runs: &[RunResult]) -> String {
    match runs.len() {
        1 => "in this run".to_string(),
        n => format!("in any of the {n} replications"),
    }
}

/// Seconds as a short duration: `90s`, `2.5s`, `250ms`.
pub(crate) fn secs(s: f64) -> String {
    if s >= 1.0 {
        let r = (s * 10.0).round() / 10.0;
        if r.fract() == 0.0 {
            format!("{r:.0}s")
        } else {
            format!("{r:.1}s")
        }
    } else {
        format!("{:.0}ms", s * 1000.0)
    }
}

/// A number with up to 2 decimals, trailing zeros dropped.
pub(crate) fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

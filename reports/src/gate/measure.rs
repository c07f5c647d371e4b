//! Running a suite: every scenario on the suite's seeds, in parallel,
//! into the few figures a gate compares; and the baseline file that keeps
//! them, per scenario and per seed, with the fleetsim version and each
//! scenario's content hash.

use super::suite::Suite;
use crate::sweep::plan::fnv1a;
use serde::{Deserialize, Serialize};
use sim_core::{Model, Regime, RunResult, ScenarioError, SimError};
use std::path::Path;

/// What a gate keeps of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Median latency, seconds (none when nothing completed).
    pub p50: Option<f64>,
    /// 99th percentile latency, seconds.
    pub p99: Option<f64>,
    /// Share of finished requests that did not complete.
    pub error_rate: f64,
    /// Jain's index over requests per instance.
    pub fairness: f64,
    /// Jain's index over the tenants' goodput, with tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_fairness: Option<f64>,
    /// Instance and LLM spend per hour.
    pub cost_per_hour: f64,
    /// Whether the run met the SLO (none without one).
    pub slo_pass: Option<bool>,
    /// 99th percentile of session turns' latency, with sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_p99: Option<f64>,
    /// Share of ended sessions their users abandoned, with sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_rate: Option<f64>,
    /// Whether it reached steady state.
    pub regime: Regime,
}

impl Sample {
    /// The figures of `r`.
    pub fn of(r: &RunResult) -> Sample {
        let read = |column: &str| (crate::catalogue::by_column(column).read)(r);
        let always = |column: &str| read(column).expect("always measured");
        Sample {
            p50: read("latency_p50_s"),
            p99: read("latency_p99_s"),
            error_rate: always("error_rate"),
            fairness: always("fairness_jain"),
            tenant_fairness: read("tenant_fairness_jain"),
            cost_per_hour: always("cost_per_hour"),
            slo_pass: read("slo_pass").map(|v| v == 1.0),
            turn_p99: read("turn_latency_p99_s"),
            abandon_rate: read("session_abandon_rate"),
            regime: r.regime,
        }
    }
}

/// One scenario's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioRuns {
    /// The scenario's key in the suite (its path relative to the suite).
    pub scenario: String,
    /// 16 hex digits identifying its content (after `extends`).
    pub hash: String,
    /// The master seed its runs derive from.
    pub seed: u64,
    /// One sample per seed, in seed order.
    pub runs: Vec<Sample>,
    /// Settings that cannot act, or did not on these seeds (not kept in
    /// the baseline).
    #[serde(skip)]
    pub findings: Vec<sim_core::Finding>,
}

/// How to write a baseline again, said after each problem with one.
const REGENERATE: &str = "regenerate it with `fleetsim gate SUITE --update-baseline`";

/// The committed baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Baseline {
    /// The baseline's format ([`crate::contract::BASELINE`]).
    #[serde(default = "baseline_format")]
    pub format_version: u32,
    /// fleetsim version that wrote it.
    #[serde(alias = "fleetsim")]
    pub fleetsim_version: String,
    /// Seeds per scenario.
    pub seeds: u32,
    /// Per scenario.
    pub scenarios: Vec<ScenarioRuns>,
}

fn baseline_format() -> u32 {
    crate::contract::BASELINE
}

impl Baseline {
    /// Reads a baseline file, strictly: a baseline edited by hand into
    /// something no run could have written is refused with the path of
    /// each value, not compared.
    pub fn read(path: &Path) -> Result<Baseline, ScenarioError> {
        let v = sim_core::json_file(path)?;
        let invalid = |problems| ScenarioError::Invalid {
            file: path.to_path_buf(),
            problems,
        };
        let b: Baseline = serde_json::from_value(v.clone()).map_err(|e| {
            invalid(vec![sim_core::Problem::new(
                "",
                format!("not a fleetsim baseline ({e}); {REGENERATE}"),
            )])
        })?;
        let problems = b.check(&v);
        if problems.is_empty() {
            Ok(b)
        } else {
            Err(invalid(problems))
        }
    }

    /// What no run could have written: no seeds, a scenario twice, a
    /// scenario whose runs are not one per seed, a figure missing or out
    /// of its range.
    fn check(&self, raw: &serde_json::Value) -> Vec<sim_core::Problem> {
        let mut out = Vec::new();
        let mut bad = |path: String, what: String| {
            out.push(sim_core::Problem::new(
                path,
                format!("{what}; {REGENERATE}"),
            ));
        };
        if self.seeds == 0 {
            bad("seeds".into(), "must be 1 or more, found 0".into());
        }
        for (i, sc) in self.scenarios.iter().enumerate() {
            let at = format!("scenarios[{i}]");
            if let Some(j) = self.scenarios[..i]
                .iter()
                .position(|o| o.scenario == sc.scenario)
            {
                bad(
                    format!("{at}.scenario"),
                    format!("`{}` is listed twice (also scenarios[{j}])", sc.scenario),
                );
            }
            if sc.runs.len() != self.seeds as usize {
                bad(
                    format!("{at}.runs"),
                    format!(
                        "{} runs, but the baseline has {} seeds: one run per seed",
                        sc.runs.len(),
                        self.seeds
                    ),
                );
            }
            for (j, r) in sc.runs.iter().enumerate() {
                let at = format!("{at}.runs[{j}]");
                let given = |key: &str| raw["scenarios"][i]["runs"][j].get(key).is_some();
                for key in ["p50", "p99"] {
                    if !given(key) {
                        bad(
                            format!("{at}.{key}"),
                            "missing (null when nothing completed)".into(),
                        );
                    }
                }
                match (r.p50, r.p99) {
                    (None, None) => {}
                    (Some(a), Some(b)) => {
                        for (key, x) in [("p50", a), ("p99", b)] {
                            if !(x.is_finite() && x >= 0.0) {
                                bad(
                                    format!("{at}.{key}"),
                                    format!("a latency is seconds from 0 up, found {x}"),
                                );
                            }
                        }
                        if a > b {
                            bad(format!("{at}.p50"), format!("{a} is above p99 ({b})"));
                        }
                    }
                    _ => bad(
                        format!("{at}.p99"),
                        "p50 and p99 are null together (nothing completed) or not at all".into(),
                    ),
                }
                // (Jain's index of equal float rates can round a hair
                // above 1.)
                let share = |x: f64, low_open: bool| {
                    x.is_finite() && x <= 1.0 + 1e-9 && if low_open { x > 0.0 } else { x >= 0.0 }
                };
                if !share(r.error_rate, false) {
                    bad(
                        format!("{at}.errorRate"),
                        format!("a share from 0 to 1, found {}", r.error_rate),
                    );
                }
                if !share(r.fairness, true) {
                    bad(
                        format!("{at}.fairness"),
                        format!(
                            "Jain's index is above 0 and at most 1, found {}",
                            r.fairness
                        ),
                    );
                }
                if let Some(t) = r.tenant_fairness.filter(|&t| !share(t, true)) {
                    bad(
                        format!("{at}.tenantFairness"),
                        format!("Jain's index is above 0 and at most 1, found {t}"),
                    );
                }
                if !(r.cost_per_hour.is_finite() && r.cost_per_hour >= 0.0) {
                    bad(
                        format!("{at}.costPerHour"),
                        format!("money per hour from 0 up, found {}", r.cost_per_hour),
                    );
                }
            }
        }
        out
    }

    /// The baseline as written to disk (pretty JSON, one line per field,
    /// so a change to it reads well in review).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a baseline serialises");
        s.push('\n');
        s
    }

    /// The runs of `scenario`.
    pub fn get(&self, scenario: &str) -> Option<&ScenarioRuns> {
        self.scenarios.iter().find(|s| s.scenario == scenario)
    }
}

/// How one replication of a model is run: the engine, or in tests a
/// model altered in ways a file cannot say (another strategy's code).
pub type Runner<'a> = &'a (dyn Fn(&Model, u32) -> Result<RunResult, SimError> + Sync);

/// Runs every scenario of `suite` on its seeds (replications
/// `0..seeds` of each scenario's master seed, or of `seed` when given) on
/// `jobs` threads. The result does not depend on `jobs`.
pub fn measure(
    suite: &Suite,
    seed: Option<u64>,
    jobs: usize,
    run: Runner<'_>,
) -> crate::Result<Vec<ScenarioRuns>> {
    let mut models = Vec::with_capacity(suite.scenarios.len());
    let mut hashes = Vec::with_capacity(suite.scenarios.len());
    for e in &suite.scenarios {
        let doc = sim_core::scenario_json(&e.path)?;
        let mut m = Model::from_value(&doc, &e.path)?;
        if let Some(s) = seed {
            m.run.seed = s;
        }
        hashes.push(format!("{:016x}", fnv1a(doc.to_string().as_bytes())));
        models.push(m);
    }
    let pool = crate::study::Pool::new(jobs, "gate")?;
    let seeds = suite.seeds;
    let work: Vec<(usize, u32)> = (0..models.len())
        .flat_map(|i| (0..seeds).map(move |s| (i, s)))
        .collect();
    let samples = pool.map(&work, |&(i, s)| {
        run(&models[i], s).map(|r| {
            let found = sim_core::findings(&models[i], std::slice::from_ref(&r));
            (Sample::of(&r), found)
        })
    })?;
    let mut it = samples.into_iter();
    Ok({
        suite
            .scenarios
            .iter()
            .zip(models.iter().zip(hashes))
            .map(|(e, (m, hash))| {
                let (runs, found): (Vec<Sample>, Vec<Vec<sim_core::Finding>>) =
                    it.by_ref().take(seeds as usize).unzip();
                ScenarioRuns {
                    scenario: e.key.clone(),
                    hash,
                    seed: m.run.seed,
                    runs,
                    findings: sim_core::across_runs(&found),
                }
            })
            .collect()
    })
}

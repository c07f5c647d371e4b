//! Running a model: its replications, in parallel, pooled and summarised.

use crate::breakdown::LatencyBreakdown;
use crate::control::RunControl;
use crate::error::SimError;
use crate::metrics::{
    Counts, LatencyRecorder, LatencySummary, Reasons, ResilienceEvents, RunResult, SloVerdict,
};
use crate::regime::Regime;
use crate::scenario::Model;
use crate::stats::MetricSummary;
use crate::Engine;
use rayon::prelude::*;
use serde::Serialize;

/// Everything a scenario run produced: each replication, the pooled
/// figures, and each metric's mean and confidence interval.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// fleetsim version that produced this.
    pub fleetsim_version: String,
    /// Currency of every cost figure.
    pub currency: String,
    /// Master seed.
    pub seed: u64,
    /// Replications run.
    pub replications: u32,
    /// Simulated seconds per replication.
    pub duration_seconds: f64,
    /// Seconds excluded at the start.
    pub warmup_seconds: f64,
    /// Balancer.
    pub strategy: String,
    /// Instances running at the start.
    pub instances: usize,
    /// Most instances the fleet may run (above `instances` with
    /// autoscaling).
    pub max_instances: usize,
    /// The autoscaling policy, when there is one.
    pub scaling_policy: Option<String>,
    /// Offered load per slot at the base rate (rho = lambda E\[S\] / slots).
    pub offered_utilization: f64,
    /// All replications together: counts summed, latency from the merged
    /// histograms, and the SLO verdict on those.
    pub pooled: Pooled,
    /// Mean and 95% interval of each metric across replications.
    pub summary: Vec<MetricSummary>,
    /// Each replication.
    pub runs: Vec<RunResult>,
    /// Settings that cannot act, or did not in these runs: the static
    /// findings of the check, then the run's (see [`crate::Finding`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::Finding>,
}

/// Figures over all replications pooled.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pooled {
    /// Summed request outcomes.
    pub counts: Counts,
    /// Summed reasons.
    pub reasons: Reasons,
    /// Summed resilience events.
    pub resilience: ResilienceEvents,
    /// Latency over every replication's completed requests.
    pub latency: LatencySummary,
    /// Share of finished requests that failed in any way.
    pub error_rate: f64,
    /// The SLO verdict on the pooled figures: what `--fail-on-slo` uses.
    pub slo: SloVerdict,
    /// Replications that ended backlogged (see [`Regime`]).
    pub backlogged: u32,
    /// Replications that ended overloaded.
    pub overloaded: u32,
    /// Where completed requests' time went, over every replication.
    pub breakdown: LatencyBreakdown,
}

/// How to run: overrides of the scenario's own settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Replace `run.seed`.
    pub seed: Option<u64>,
    /// Replace `run.replications`.
    pub replications: Option<u32>,
}

/// Runs every replication of `model` (in parallel; the result does not
/// depend on the thread count) and summarises them.
pub fn run_model(model: &Model, opts: RunOptions) -> Result<ScenarioResult, SimError> {
    run_model_with(model, opts, &RunControl::new())
}

/// [`run_model`], reporting progress to `control` and stopping early with
/// [`SimError::Cancelled`] when it is cancelled.
pub fn run_model_with(
    model: &Model,
    opts: RunOptions,
    control: &RunControl,
) -> Result<ScenarioResult, SimError> {
    let mut m = model.clone();
    if let Some(s) = opts.seed {
        m.run.seed = s;
    }
    if let Some(r) = opts.replications {
        m.run.replications = r.max(1);
        let rows = m.run.duration.0 / m.run.series_interval.0.max(1);
        if m.scenario.run.series_interval.is_none() {
            m.run.series_interval =
                crate::scenario::default_series_interval(m.run.duration, m.run.replications);
        } else if rows.saturating_mul(u64::from(m.run.replications))
            > crate::scenario::MAX_SERIES_ROWS_TOTAL
        {
            return Err(SimError::TooLarge(format!(
                "{} replications of {rows} series rows each: at most {} rows in all are kept; \
                 give fewer replications or a longer run.seriesInterval",
                m.run.replications,
                crate::scenario::MAX_SERIES_ROWS_TOTAL
            )));
        }
    }
    let m = &m;
    let runs: Vec<RunResult> = (0..m.run.replications)
        .into_par_iter()
        .map(|rep| Engine::new(m, rep).run_with(control))
        .collect::<Result<_, _>>()?;
    Ok(summarise(m, runs))
}

fn summarise(m: &Model, runs: Vec<RunResult>) -> ScenarioResult {
    let mut counts = Counts::default();
    let mut reasons = Reasons::default();
    let mut resilience = ResilienceEvents::default();
    let mut recorder = LatencyRecorder::default();
    for r in &runs {
        counts.add(&r.counts);
        reasons.add(&r.reasons);
        resilience.add(&r.resilience);
        recorder.merge(&r.recorder);
    }
    let metric = |name: &str, f: &dyn Fn(&RunResult) -> Option<f64>| {
        MetricSummary::of(name, runs.iter().map(f))
    };
    let summary = vec![
        metric("latency.mean", &|r| r.latency.mean),
        metric("latency.p50", &|r| r.latency.p50),
        metric("latency.p90", &|r| r.latency.p90),
        metric("latency.p99", &|r| r.latency.p99),
        metric("latency.p999", &|r| r.latency.p999),
        metric("latency.max", &|r| r.latency.max),
        metric("throughputPerSecond", &|r| Some(r.throughput_per_second)),
        metric("errorRate", &|r| Some(r.error_rate)),
        metric("utilization", &|r| Some(r.utilization)),
        metric("meanInSystem", &|r| Some(r.mean_in_system)),
        metric("fairness", &|r| Some(r.fairness)),
        metric("cpuUtilization", &|r| r.cpu_utilization),
        metric("memoryUtilization", &|r| r.memory_utilization),
        metric("instanceHours", &|r| Some(r.instance_hours)),
        metric("cost", &|r| Some(r.cost)),
        metric("llmCost", &|r| Some(r.llm_cost)),
        metric("totalCost", &|r| Some(r.total_cost)),
        metric("costPerHour", &|r| Some(r.cost_per_hour)),
        metric("costPer1kRequests", &|r| r.cost_per_1k_requests),
    ];
    ScenarioResult {
        scenario: m.scenario.name.clone(),
        description: m.scenario.description.clone(),
        fleetsim_version: crate::VERSION.to_string(),
        currency: m.run.currency.clone(),
        seed: m.run.seed,
        replications: m.run.replications,
        duration_seconds: m.run.duration.as_secs_f64(),
        warmup_seconds: m.run.warmup.as_secs_f64(),
        strategy: m.balancing.config.kind().to_string(),
        instances: m.initial_instances(),
        max_instances: m.fleet.instances.len(),
        scaling_policy: m
            .fleet
            .scaling
            .as_ref()
            .map(|s| s.config.name().to_string()),
        offered_utilization: m.offered_utilization(),
        pooled: Pooled {
            counts,
            reasons,
            resilience,
            latency: recorder.summary(),
            error_rate: counts.error_rate(),
            slo: SloVerdict::judge(m, &recorder, &counts),
            backlogged: runs
                .iter()
                .filter(|r| r.regime == Regime::Backlogged)
                .count() as u32,
            overloaded: runs
                .iter()
                .filter(|r| r.regime == Regime::Overloaded)
                .count() as u32,
            breakdown: LatencyBreakdown::pool(
                &runs.iter().map(|r| &r.breakdown).collect::<Vec<_>>(),
            ),
        },
        summary,
        findings: crate::lint::findings(m, &runs),
        runs,
    }
}

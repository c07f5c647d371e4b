//! Running a model: its replications, in parallel, pooled and summarised.

use crate::breakdown::LatencyBreakdown;
use crate::control::RunControl;
use crate::error::SimError;
use crate::metrics::{
    Counts, LatencyRecorder, LatencySummary, Reasons, ResilienceEvents, RunResult, SloVerdict,
};
use crate::regime::Regime;
use crate::request_trace::{TraceBook, TraceRecorder};
use crate::scenario::Model;
use crate::session_results::SessionResults;
use crate::stats::{Bounds, MetricSummary};
use crate::Engine;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Mutex;

/// Everything a scenario run produced: each replication, the pooled
/// figures, and each metric's mean and confidence interval.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// The format of this result as JSON ([`crate::RESULT_FORMAT_VERSION`]).
    pub format_version: u32,
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
    /// Offered load on every resource and the bottleneck, at the base rate
    /// and the peak ([`Model::offered_load`]).
    pub offered_load: crate::OfferedLoad,
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
    /// Closed-loop sessions over every replication, when the workload has
    /// them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionResults>,
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
    run_replications(model, opts, control, None)
}

/// [`run_model_with`], tracing replication 0's requests into `trace` (see
/// [`crate::request_trace`]); the other replications run as they would
/// untraced, and every figure is the same as without the trace. The
/// trace's sink is not closed: call [`TraceBook::finish`].
pub fn run_model_traced(
    model: &Model,
    opts: RunOptions,
    control: &RunControl,
    trace: &mut TraceBook,
) -> Result<ScenarioResult, SimError> {
    run_replications(model, opts, control, Some(trace))
}

fn run_replications(
    model: &Model,
    opts: RunOptions,
    control: &RunControl,
    trace: Option<&mut TraceBook>,
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
    // Replication 0 takes the trace, if there is one.
    let trace = Mutex::new(trace);
    let runs: Vec<RunResult> = (0..m.run.replications)
        .into_par_iter()
        .map(|rep| {
            let book = if rep == 0 {
                trace.lock().ok().and_then(|mut t| t.take())
            } else {
                None
            };
            match book {
                Some(book) => {
                    Engine::with_observer(m, rep, TraceRecorder::new(m, book)).run_with(control)
                }
                None => Engine::new(m, rep).run_with(control),
            }
        })
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
    let metric = |name: &str, bounds: Bounds, f: &dyn Fn(&RunResult) -> Option<f64>| {
        MetricSummary::of(name, bounds, runs.iter().map(f))
    };
    use Bounds::{NonNegative as Pos, Share};
    let summary = vec![
        metric("latency.mean", Pos, &|r| r.latency.mean),
        metric("latency.p50", Pos, &|r| r.latency.p50),
        metric("latency.p90", Pos, &|r| r.latency.p90),
        metric("latency.p99", Pos, &|r| r.latency.p99),
        metric("latency.p999", Pos, &|r| r.latency.p999),
        metric("latency.max", Pos, &|r| r.latency.max),
        metric("throughputPerSecond", Pos, &|r| {
            Some(r.throughput_per_second)
        }),
        metric("errorRate", Share, &|r| Some(r.error_rate)),
        metric("utilization", Share, &|r| Some(r.utilization)),
        metric("meanInSystem", Pos, &|r| Some(r.mean_in_system)),
        metric("fairness", Share, &|r| Some(r.fairness)),
        metric("cpuUtilization", Share, &|r| r.cpu_utilization),
        metric("memoryUtilization", Pos, &|r| r.memory_utilization),
        metric("instanceHours", Pos, &|r| Some(r.instance_hours)),
        metric("cost", Pos, &|r| Some(r.cost)),
        metric("llmCost", Pos, &|r| Some(r.llm_cost)),
        metric("totalCost", Pos, &|r| Some(r.total_cost)),
        metric("costPerHour", Pos, &|r| Some(r.cost_per_hour)),
        metric("costPer1kRequests", Pos, &|r| r.cost_per_1k_requests),
    ];
    let mut summary = summary;
    if runs.iter().any(|r| r.sessions.is_some()) {
        summary.extend(session_metrics(&runs));
    }
    ScenarioResult {
        scenario: m.scenario.name.clone(),
        description: m.scenario.description.clone(),
        format_version: crate::RESULT_FORMAT_VERSION,
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
        offered_load: m.offered_load(),
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
            sessions: SessionResults::pool(runs.iter().filter_map(|r| r.sessions.as_ref())),
        },
        summary,
        findings: crate::lint::findings(m, &runs),
        runs,
    }
}

/// The session metrics' means and intervals (only for runs with sessions,
/// so other scenarios' summaries are unchanged).
fn session_metrics(runs: &[RunResult]) -> Vec<MetricSummary> {
    type Read = fn(&SessionResults) -> Option<f64>;
    use Bounds::{NonNegative as Pos, Share};
    let reads: [(&str, Bounds, Read); 9] = [
        ("sessions.started", Pos, |s| Some(s.started as f64)),
        ("sessions.completed", Pos, |s| Some(s.completed as f64)),
        ("sessions.abandoned", Pos, |s| Some(s.abandoned as f64)),
        ("sessions.abandonRate", Share, SessionResults::abandon_rate),
        ("sessions.duration.p50", Pos, |s| s.duration.p50),
        ("sessions.duration.p99", Pos, |s| s.duration.p99),
        ("sessions.turns.mean", Pos, |s| s.turns_per_session.mean),
        ("sessions.turnLatency.p50", Pos, |s| s.turn_latency.p50),
        ("sessions.turnLatency.p99", Pos, |s| s.turn_latency.p99),
    ];
    reads
        .iter()
        .map(|(name, bounds, f)| {
            let values = runs.iter().map(|r| r.sessions.as_ref().and_then(f));
            MetricSummary::of(name, *bounds, values)
        })
        .collect()
}

//! What a run did over time: the time series sampled at a fixed interval
//! of simulated time, the log of scaling decisions, and their summary.
//!
//! Memory grows with the number of intervals (`run.seriesInterval`) and of
//! scaling decisions, never with the number of requests.

use serde::Serialize;

/// One row of the time series: the fleet at the end of an interval, and
/// rates over the interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesRow {
    /// End of the interval, seconds of simulated time.
    pub time: f64,
    /// Instances starting.
    pub booting: u32,
    /// Instances taking traffic (healthy or not).
    pub ready: u32,
    /// Ready instances out of rotation (unhealthy, ejected, passively out).
    pub unhealthy: u32,
    /// Instances finishing their requests before they stop.
    pub draining: u32,
    /// Instances the autoscalers want (starting and ready), or the fleet
    /// size without autoscaling.
    pub desired: u32,
    /// Requests in the system (running, queued, backing off).
    pub in_flight: u64,
    /// Requests waiting in instance queues, and at the entry while the
    /// fleet scales up from zero.
    pub queued: u64,
    /// Arrivals per second over the interval.
    pub arrival_rate: f64,
    /// Completions per second.
    pub completion_rate: f64,
    /// Share of requests that ended over the interval and did not complete.
    pub error_rate: f64,
    /// Median latency of the interval's completions, seconds.
    pub p50: Option<f64>,
    /// 99th percentile latency of the interval's completions, seconds.
    pub p99: Option<f64>,
    /// CPU utilization of ready instances over the interval, a fraction
    /// from 0 to 1, when CPU is modelled.
    pub cpu_utilization: Option<f64>,
    /// Memory utilization of ready instances, a fraction from 0 to 1, when
    /// memory is modelled.
    pub memory_utilization: Option<f64>,
    /// Instance spend rate at the end of the interval, per hour.
    pub cost_per_hour: f64,
    /// Spend since the start of the run, instances and LLM calls.
    pub cumulative_cost: f64,
    /// What is left of `deployment.budget.total`, when set.
    pub budget_remaining: Option<f64>,
}

/// One scaling decision that wanted or made a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingEvent {
    /// When, seconds of simulated time.
    pub time: f64,
    /// The region it scales.
    pub region: String,
    /// Instances asked for before (starting and ready).
    pub from: u32,
    /// What the metrics asked for.
    pub wanted: u32,
    /// What the policy decided after cooldowns, stabilization, rate
    /// policies and bounds.
    pub desired: u32,
    /// What was done, after budget and capacity refusals.
    pub to: u32,
    /// Why: `metric`, `cooldown`, `stabilization`, `rate-limited`,
    /// `at-max`, `at-min`, `inactive`, `budget-per-hour`, `budget-total`,
    /// `capacity-shortage`, `region-full`.
    pub reason: String,
    /// The metric behind the decision.
    pub metric: Option<String>,
    /// Mean CPU utilization seen, percent (as the policies' targets).
    pub cpu_percent: Option<f64>,
    /// Mean memory utilization seen, percent.
    pub memory_percent: Option<f64>,
    /// Mean requests held per instance.
    pub connections: Option<f64>,
    /// Arrivals per minute per instance.
    pub requests_per_minute: Option<f64>,
    /// Mean response time, milliseconds.
    pub response_time_ms: Option<f64>,
    /// Requests queued in the region.
    pub queue_depth: f64,
}

/// What autoscaling and budgets did over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingSummary {
    /// Instances started by autoscalers.
    pub scale_ups: u64,
    /// Instances removed by autoscalers.
    pub scale_downs: u64,
    /// Instances refused by a budget cap.
    pub refused_by_budget: u64,
    /// Instances refused by a capacity shortage or a full region.
    pub refused_by_capacity: u64,
    /// Instances killed for exceeding their memory.
    pub oom_kills: u64,
    /// Switches of the model requests use (the LLM spend cap).
    pub model_switches: u64,
    /// Most instances running at once (starting, ready and draining).
    pub peak_instances: u32,
    /// When an autoscaler first removed a canary instance, seconds of
    /// simulated time (read by the `canary-removed` finding).
    #[serde(skip)]
    pub canary_removed_at: Option<f64>,
}

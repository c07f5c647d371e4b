//! What a run measured: counts, latency, load spread, cost and the SLO
//! verdict.
//!
//! Latency goes into an HDR histogram (microsecond resolution, three
//! significant digits, up to one simulated day), so memory does not grow
//! with the number of requests and replications merge exactly.

use crate::breakdown::LatencyBreakdown;
use crate::regime::Regime;
use crate::scenario::{Model, Objective};
use crate::timeline::{ScalingEvent, ScalingSummary, SeriesRow};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histogram resolves, in microseconds (one day).
const HIST_MAX_US: u64 = 86_400_000_000;

/// Request outcomes in the measured window (requests that arrived after
/// warm-up). They satisfy `arrivals = completed + rejected + timedOut +
/// failed + inFlight`; every run checks it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Served successfully.
    pub completed: u64,
    /// Turned away: rate limited, over a connection limit, every breaker
    /// open, or no healthy instance.
    pub rejected: u64,
    /// Not finished by `requestTimeout`, or waited past
    /// `connectionTimeout`.
    pub timed_out: u64,
    /// An attempt failed (LLM error, instance down) and was not retried.
    pub failed: u64,
    /// Still queued or running when the run ended.
    pub in_flight: u64,
}

impl Counts {
    /// Requests with an outcome (all but those in flight).
    pub fn finished(&self) -> u64 {
        self.completed + self.rejected + self.timed_out + self.failed
    }

    /// Share of finished requests that did not complete successfully.
    pub fn error_rate(&self) -> f64 {
        let f = self.finished();
        if f == 0 {
            0.0
        } else {
            (self.rejected + self.timed_out + self.failed) as f64 / f as f64
        }
    }

    /// Whether the books balance.
    pub fn conserved(&self) -> bool {
        self.arrivals == self.finished() + self.in_flight
    }

    pub(crate) fn add(&mut self, o: &Counts) {
        self.arrivals += o.arrivals;
        self.completed += o.completed;
        self.rejected += o.rejected;
        self.timed_out += o.timed_out;
        self.failed += o.failed;
        self.in_flight += o.in_flight;
    }
}

/// Why requests were turned away, timed out or failed: each group sums to
/// its total in [`Counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reasons {
    /// Rejected by the entry rate limit (429).
    pub rate_limited: u64,
    /// Rejected because the fleet (`maxConnections`) or every eligible
    /// instance (`maxConnectionsPerInstance`) was full.
    pub over_connection_limit: u64,
    /// Rejected because every otherwise eligible instance's breaker was
    /// open.
    pub circuit_open: u64,
    /// Rejected because no instance was healthy and not ejected.
    pub no_healthy_instance: u64,
    /// Timed out: not finished by `requestTimeout`.
    pub request_timeout: u64,
    /// Timed out: waited in a queue longer than `connectionTimeout`.
    pub connection_timeout: u64,
    /// Failed: the LLM call failed.
    pub llm_error: u64,
    /// Failed: the instance crashed or restarted under the request.
    pub instance_down: u64,
    /// Failed: an LLM provider kept answering 429 (over its quota) past
    /// `llm.rateLimitRetries`.
    pub llm_rate_limited: u64,
}

/// What the resilience machinery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResilienceEvents {
    /// Retry attempts made.
    pub retries: u64,
    /// Outlier ejections.
    pub ejections: u64,
    /// Circuit breaker trips (closed or half-open to open).
    pub breaker_trips: u64,
    /// Times an active health check marked an instance unhealthy.
    pub marked_unhealthy: u64,
    /// Times passive health (nginx, Caddy) took an instance out.
    pub passive_marked_down: u64,
    /// Instance failures (random and scheduled) that began.
    pub instance_failures: u64,
}

impl ResilienceEvents {
    pub(crate) fn add(&mut self, o: &ResilienceEvents) {
        self.retries += o.retries;
        self.ejections += o.ejections;
        self.breaker_trips += o.breaker_trips;
        self.marked_unhealthy += o.marked_unhealthy;
        self.passive_marked_down += o.passive_marked_down;
        self.instance_failures += o.instance_failures;
    }
}

impl Reasons {
    /// Whether each group of reasons sums to its total in `c`.
    pub fn consistent_with(&self, c: &Counts) -> bool {
        self.rate_limited
            + self.over_connection_limit
            + self.circuit_open
            + self.no_healthy_instance
            == c.rejected
            && self.request_timeout + self.connection_timeout == c.timed_out
            && self.llm_error + self.instance_down + self.llm_rate_limited == c.failed
    }

    pub(crate) fn add(&mut self, o: &Reasons) {
        self.rate_limited += o.rate_limited;
        self.over_connection_limit += o.over_connection_limit;
        self.circuit_open += o.circuit_open;
        self.no_healthy_instance += o.no_healthy_instance;
        self.request_timeout += o.request_timeout;
        self.connection_timeout += o.connection_timeout;
        self.llm_error += o.llm_error;
        self.instance_down += o.instance_down;
        self.llm_rate_limited += o.llm_rate_limited;
    }
}

/// End-to-end latency of completed requests, in seconds. Mean and max are
/// exact; percentiles come from the histogram (relative error under 0.1%).
/// All `None` when nothing completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

/// Latency recorder: a histogram plus exact sum and max.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    sum_ns: u128,
    max_ns: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder::with_precision(3)
    }
}

impl LatencyRecorder {
    /// A recorder keeping `digits` significant digits (1 to 5).
    pub fn with_precision(digits: u8) -> LatencyRecorder {
        LatencyRecorder {
            hist: Histogram::new_with_bounds(1, HIST_MAX_US, digits.clamp(1, 5))
                .expect("static histogram bounds"),
            sum_ns: 0,
            max_ns: 0,
        }
    }

    /// Exact sum of the samples, nanoseconds.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
        self.max_ns = 0;
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record((ns / 1_000).max(1));
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.hist.add(&other.hist);
        self.sum_ns += other.sum_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The `q` quantile (0..=1) in seconds, or `None` when empty.
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        if self.hist.is_empty() {
            return None;
        }
        // The histogram reports the highest value equivalent to the bucket;
        // use the bucket's midpoint, which halves the worst-case error.
        let v = self.hist.value_at_quantile(q);
        let mid = self.hist.median_equivalent(v);
        Some(mid as f64 / 1e6)
    }

    /// Several quantiles (ascending, each 0..=1) in seconds, in one pass
    /// over the histogram; each exactly what [`Self::quantile_secs`] gives.
    /// Empty when nothing was recorded.
    pub fn quantiles_secs(&self, qs: &[f64]) -> Vec<f64> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        self.hist
            .value_at_quantiles(qs.iter().copied())
            .map(|v| self.hist.median_equivalent(v) as f64 / 1e6)
            .collect()
    }

    /// Mean in seconds.
    pub fn mean_secs(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum_ns as f64 / n as f64 / 1e9)
    }

    /// The summary of what was recorded.
    pub fn summary(&self) -> LatencySummary {
        let empty = self.count() == 0;
        LatencySummary {
            count: self.count(),
            mean: self.mean_secs(),
            p50: self.quantile_secs(0.5),
            p90: self.quantile_secs(0.9),
            p99: self.quantile_secs(0.99),
            p999: self.quantile_secs(0.999),
            max: (!empty).then(|| self.max_ns as f64 / 1e9),
        }
    }
}

/// A coarse latency histogram for the time series: buckets a sixteenth of
/// an octave wide (percentiles within 3.1%), recorded in a few
/// instructions, emptied each interval.
#[derive(Debug, Clone)]
pub(crate) struct CoarseHistogram {
    counts: Vec<u32>,
    total: u64,
}

impl Default for CoarseHistogram {
    fn default() -> Self {
        CoarseHistogram {
            counts: vec![0; 64 * 16],
            total: 0,
        }
    }
}

impl CoarseHistogram {
    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        let ns = ns.max(1);
        let octave = 63 - ns.leading_zeros();
        let sub = if octave >= 4 {
            (ns >> (octave - 4)) & 15
        } else {
            (ns << (4 - octave)) & 15
        };
        self.counts[(octave * 16) as usize + sub as usize] += 1;
        self.total += 1;
    }

    /// The `q` quantile in seconds (the bucket's midpoint), or `None`
    /// when empty.
    pub(crate) fn quantile_secs(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (k, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let (octave, sub) = (k / 16, k % 16);
                let low = (1u64 << octave) as f64 * (1.0 + sub as f64 / 16.0);
                let width = (1u64 << octave) as f64 / 16.0;
                return Some((low + width / 2.0) / 1e9);
            }
        }
        None
    }

    pub(crate) fn reset(&mut self) {
        if self.total > 0 {
            self.counts.fill(0);
            self.total = 0;
        }
    }
}

/// One instance's share of the work.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceResult {
    /// `region/index`.
    pub id: String,
    /// Region.
    pub region: String,
    /// Measured requests routed to it.
    pub requests: u64,
    /// Mean share of its slots busy while it was ready in the measured
    /// window.
    pub utilization: f64,
    /// Hours it served (ready, or draining) in the measured window.
    pub ready_hours: f64,
}

/// LLM tokens charged over the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCounts {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
}

/// One SLO objective judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloCheck {
    /// `p99`, `errorRate`, ...
    pub objective: String,
    /// The target (seconds for latency, a share for error rate).
    pub target: f64,
    /// What the run achieved; `None` when it cannot be measured (no
    /// completed requests), which fails the objective.
    pub actual: Option<f64>,
    /// Met or not.
    pub pass: bool,
}

/// The SLO verdict: every objective and whether all passed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloVerdict {
    /// All objectives met (true when there are none).
    pub pass: bool,
    /// Each objective.
    pub checks: Vec<SloCheck>,
}

impl SloVerdict {
    /// Judges `latency` and `counts` against the model's objectives.
    pub fn judge(model: &Model, latency: &LatencyRecorder, counts: &Counts) -> SloVerdict {
        let checks: Vec<SloCheck> = model
            .objectives
            .iter()
            .map(|o| match *o {
                Objective::Latency { percentile, target } => {
                    let actual = latency.quantile_secs(percentile.quantile());
                    let t = target.as_secs_f64();
                    SloCheck {
                        objective: percentile.to_string(),
                        target: t,
                        actual,
                        pass: actual.is_some_and(|a| a <= t),
                    }
                }
                Objective::ErrorRate { max } => {
                    let actual = (counts.finished() > 0).then(|| counts.error_rate());
                    SloCheck {
                        objective: "errorRate".into(),
                        target: max,
                        actual,
                        pass: actual.is_some_and(|a| a <= max),
                    }
                }
            })
            .collect();
        SloVerdict {
            pass: checks.iter().all(|c| c.pass),
            checks,
        }
    }
}

/// What the engine did in one replication: work and peak memory, for
/// sizing runs and checking that memory follows what is in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Most events queued at once, live or stale.
    pub peak_event_queue: u64,
    /// Most requests in the system at once (the request slab's size).
    pub peak_requests: u64,
    /// Most entries one instance's queue held at once, live or stale.
    pub peak_instance_queue: u64,
    /// Passes that dropped stale events from the queue.
    pub compactions: u64,
}

/// Everything one replication measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    /// Replication index (0-based).
    pub replication: u32,
    /// Request outcomes.
    pub counts: Counts,
    /// Why requests did not complete.
    pub reasons: Reasons,
    /// Retries, ejections, breaker trips, health transitions, failures.
    pub resilience: ResilienceEvents,
    /// End-to-end latency of completed requests.
    pub latency: LatencySummary,
    /// Completed requests per second of measured time.
    pub throughput_per_second: f64,
    /// Share of finished requests that were rejected, timed out or failed.
    pub error_rate: f64,
    /// Share of the fleet's slots busy while ready over the measured
    /// window.
    pub utilization: f64,
    /// Time-average requests held by the fleet, running plus queued (L in
    /// Little's law).
    pub mean_in_system: f64,
    /// Jain's fairness index over requests per instance per second ready:
    /// 1 when every instance got the same, 1/n when one got everything.
    pub fairness: f64,
    /// CPU utilization of ready instances (core-seconds used over cores
    /// times time), when instance types have `cpus`.
    pub cpu_utilization: Option<f64>,
    /// Memory utilization of ready instances, when types have `memory`.
    pub memory_utilization: Option<f64>,
    /// Hours instances ran (starting, serving, draining) in the measured
    /// window: what is billed.
    pub instance_hours: f64,
    /// Instance spend over the measured window (booting, serving and
    /// draining, per second, minimum billed periods included).
    pub cost: f64,
    /// LLM spend over the measured window.
    pub llm_cost: f64,
    /// Instance and LLM spend over the measured window.
    pub total_cost: f64,
    /// `totalCost` per hour of the measured window.
    pub cost_per_hour: f64,
    /// `totalCost` per 1,000 arrivals.
    pub cost_per_1k_requests: Option<f64>,
    /// `totalCost` per completed request.
    pub cost_per_success: Option<f64>,
    /// Spend over the whole run, warm-up included (what budgets cap).
    pub run_cost: f64,
    /// LLM tokens charged.
    pub tokens: TokenCounts,
    /// What autoscaling and budgets did.
    pub scaling: ScalingSummary,
    /// SLO verdict.
    pub slo: SloVerdict,
    /// Whether the run reached steady state ([`Regime`]).
    pub regime: Regime,
    /// Per tenant, when `workload.users` has more than one tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<TenantResult>,
    /// Closed-loop sessions, when the workload has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<crate::SessionResults>,
    /// Where completed requests' time went.
    pub breakdown: LatencyBreakdown,
    /// Per LLM model: calls answered, errors, 429s, outage failures.
    pub llm_calls: Vec<ModelCalls>,
    /// Per request class, when `workload.classes` has more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassResult>,
    /// Requests each entry rate limit refused, by name, in the order the
    /// scenario gives them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<LimitCount>,
    /// Per instance, in fleet order.
    pub instances: Vec<InstanceResult>,
    /// The engine's own work and peak memory.
    pub engine: EngineStats,
    /// The fleet over time, one row per `run.seriesInterval`.
    pub series: Vec<SeriesRow>,
    /// Each scaling decision that wanted or made a change.
    pub scaling_log: Vec<ScalingEvent>,
    /// The latency samples, for pooling across replications.
    #[serde(skip)]
    pub recorder: LatencyRecorder,
}

/// One request class over the measured window.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassResult {
    /// Its name in `workload.classes`.
    pub class: String,
    /// Requests of the class that arrived.
    pub arrivals: u64,
    /// Of those, completed.
    pub completed: u64,
    /// Refused (rate limits, connection limits, no instance).
    pub rejected: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Failed (LLM errors, 429s, instance failures).
    pub failed: u64,
    /// Share of its arrivals that did not complete (ended so far).
    pub error_rate: f64,
    /// Its completed requests' latency.
    pub latency: LatencySummary,
    /// Its latency samples, for pooling across replications.
    #[serde(skip)]
    pub recorder: LatencyRecorder,
}

/// Requests one entry rate limit refused over the measured window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitCount {
    /// Its name: `rateLimit`, or its key in `rateLimits`.
    pub name: String,
    /// Requests it refused (each counted by the first limit that refused
    /// it).
    pub rejected: u64,
}

/// One model's calls over the measured window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCalls {
    /// The model's name in `llm.models`.
    pub model: String,
    /// Calls it answered (fallback legs included, cache hits not).
    pub calls: u64,
    /// Of those, answers that were errors.
    pub errors: u64,
    /// Calls it refused with 429 (over its quota); each retry that is
    /// refused again counts again.
    pub rate_limited: u64,
    /// Calls that failed at once because it was down.
    pub outages: u64,
    /// Calls an instance's breaker on this model refused (sent to the
    /// fallback, or failed at once).
    pub circuit_open: u64,
    /// Times a breaker on this model opened.
    pub breaker_trips: u64,
}

impl ModelCalls {
    /// Each model's calls summed over `runs` (replications of one model).
    pub fn pooled(runs: &[RunResult]) -> Vec<ModelCalls> {
        let mut out = runs
            .first()
            .map(|r| r.llm_calls.clone())
            .unwrap_or_default();
        for run in runs.iter().skip(1) {
            for (m, o) in out.iter_mut().zip(&run.llm_calls) {
                m.calls += o.calls;
                m.errors += o.errors;
                m.rate_limited += o.rate_limited;
                m.outages += o.outages;
                m.circuit_open += o.circuit_open;
                m.breaker_trips += o.breaker_trips;
            }
        }
        out
    }
}

/// What each tenant asked for and got over the measured window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResult {
    /// Jain's index over the tenants' goodput: 1 when every tenant got the
    /// same share of what it asked for, 1/n when one tenant got all.
    pub fairness: f64,
    /// Requests each tenant sent.
    pub arrivals: Vec<u64>,
    /// Requests of each tenant that completed.
    pub completed: Vec<u64>,
    /// Completed over sent, per tenant (none for a tenant that sent none).
    pub goodput: Vec<Option<f64>>,
    /// Mean latency of each tenant's completed requests, seconds.
    pub mean_latency: Vec<Option<f64>>,
    /// Each tenant's mean latency over the mean of every tenant's completed
    /// requests: 1 when a tenant is served like everyone else, 2 when it
    /// waits twice as long.
    pub slowdown: Vec<Option<f64>>,
}

/// Jain's fairness index `(sum x)^2 / (n * sum x^2)`; 1 for an empty or
/// all-zero input.
pub fn jain_index(xs: impl IntoIterator<Item = f64>) -> f64 {
    let (mut n, mut s, mut s2) = (0usize, 0.0, 0.0);
    for x in xs {
        n += 1;
        s += x;
        s2 += x * x;
    }
    if n == 0 || s2 == 0.0 {
        1.0
    } else {
        s * s / (n as f64 * s2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_index_spans_one_over_n_to_one() {
        assert!((jain_index([5.0, 5.0, 5.0, 5.0]) - 1.0).abs() < 1e-12);
        assert!((jain_index([8.0, 0.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        assert!((jain_index([1.0, 3.0]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn quantiles_in_one_pass_equal_quantiles_one_by_one() {
        let mut r = LatencyRecorder::default();
        assert!(r.quantiles_secs(&[0.5]).is_empty());
        for i in 0..5000u64 {
            // A skewed spread over five decades.
            r.record(1_000 + i * i * 37 % 50_000_000_000);
        }
        let qs = [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0];
        let all = r.quantiles_secs(&qs);
        let one: Vec<f64> = qs.iter().map(|&q| r.quantile_secs(q).unwrap()).collect();
        assert_eq!(all, one);
    }

    #[test]
    fn recorder_is_exact_in_mean_and_close_in_percentiles() {
        let mut r = LatencyRecorder::default();
        for ms in 1..=1000u64 {
            r.record(ms * 1_000_000);
        }
        let s = r.summary();
        assert!((s.mean.unwrap() - 0.5005).abs() < 1e-12);
        assert_eq!(s.max, Some(1.0));
        // Three significant digits: within 0.1% of the exact order statistic.
        assert!(
            (s.p50.unwrap() - 0.5).abs() < 0.5 * 0.001 + 1e-9,
            "{:?}",
            s.p50
        );
        assert!(
            (s.p99.unwrap() - 0.99).abs() < 0.99 * 0.001 + 1e-9,
            "{:?}",
            s.p99
        );
    }

    #[test]
    fn merged_recorders_equal_one_recorder_of_everything() {
        let (mut a, mut b, mut all) = Default::default();
        let _: &LatencyRecorder = &all;
        for i in 0..500u64 {
            let v = i * 7_919_000 + 13_000;
            if i % 2 == 0 {
                LatencyRecorder::record(&mut a, v);
            } else {
                LatencyRecorder::record(&mut b, v);
            }
            LatencyRecorder::record(&mut all, v);
        }
        LatencyRecorder::merge(&mut a, &b);
        assert_eq!(a.summary(), all.summary());
    }

    #[test]
    fn the_coarse_histogram_is_within_its_bucket_width() {
        let mut h = CoarseHistogram::default();
        for ms in 1..=1000u64 {
            h.record(ms * 1_000_000);
        }
        let p50 = h.quantile_secs(0.5).unwrap();
        let p99 = h.quantile_secs(0.99).unwrap();
        assert!((p50 / 0.5 - 1.0).abs() < 0.032, "{p50}");
        assert!((p99 / 0.99 - 1.0).abs() < 0.032, "{p99}");
        h.reset();
        assert_eq!(h.quantile_secs(0.5), None);
    }

    #[test]
    fn error_rate_ignores_requests_in_flight() {
        let c = Counts {
            arrivals: 10,
            completed: 6,
            rejected: 1,
            timed_out: 1,
            failed: 0,
            in_flight: 2,
        };
        assert!(c.conserved());
        assert!((c.error_rate() - 0.25).abs() < 1e-12);
    }
}

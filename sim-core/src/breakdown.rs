//! The latency breakdown: where completed requests' time went (network,
//! retries, queueing, CPU, tool waits, cache, LLM by model). The engine
//! books each request's slot time by part as its calls are drawn
//! ([`engine::llm`](crate::engine)); this module sums the parts of the
//! requests that complete and turns them into means.

use serde::Serialize;
use strategies::Nanos;

/// Where completed requests' time went: the mean seconds of each part,
/// over the requests completed in the measured window. The parts add up to
/// the mean latency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyBreakdown {
    /// Completed requests it covers.
    pub requests: u64,
    /// The client's network round trip.
    pub network: f64,
    /// Before the attempt that completed: earlier attempts, retry backoff,
    /// waiting at the entry for the fleet to scale up.
    pub retries: f64,
    /// Waiting in the instance's queue for a slot.
    pub queueing: f64,
    /// CPU work in the slot (shared cores or a plain delay).
    pub cpu: f64,
    /// Tool-call waits between LLM calls.
    pub tool_waits: f64,
    /// Calls answered by the LLM cache.
    pub cache: f64,
    /// LLM calls, by the model that answered (fallbacks included).
    pub llm: Vec<ModelTime>,
}

/// One model's share of the latency breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTime {
    /// The model's name in `llm.models`.
    pub model: String,
    /// Mean seconds per completed request.
    pub seconds: f64,
}

impl LatencyBreakdown {
    /// The parts' total: the mean latency.
    pub fn total(&self) -> f64 {
        self.network
            + self.retries
            + self.queueing
            + self.cpu
            + self.tool_waits
            + self.cache
            + self.llm.iter().map(|m| m.seconds).sum::<f64>()
    }

    /// The breakdown of several runs together, weighted by their requests.
    pub fn pool(runs: &[&LatencyBreakdown]) -> LatencyBreakdown {
        let n: u64 = runs.iter().map(|b| b.requests).sum();
        let mut out = runs.first().map(|b| (*b).clone()).unwrap_or_default();
        let w = |b: &LatencyBreakdown| b.requests as f64 / n.max(1) as f64;
        let mean = |f: &dyn Fn(&LatencyBreakdown) -> f64| runs.iter().map(|b| f(b) * w(b)).sum();
        out.requests = n;
        out.network = mean(&|b| b.network);
        out.retries = mean(&|b| b.retries);
        out.queueing = mean(&|b| b.queueing);
        out.cpu = mean(&|b| b.cpu);
        out.tool_waits = mean(&|b| b.tool_waits);
        out.cache = mean(&|b| b.cache);
        for (k, m) in out.llm.iter_mut().enumerate() {
            m.seconds = mean(&|b| b.llm.get(k).map_or(0.0, |x| x.seconds));
        }
        out
    }
}

/// Sums of the breakdown's parts in nanoseconds (exact), as requests
/// complete.
#[derive(Debug, Clone)]
pub(crate) struct Breakdown {
    requests: u64,
    network: u128,
    retries: u128,
    queueing: u128,
    cpu: u128,
    /// Per model, then tool waits, then cache hits.
    parts: Vec<u128>,
}

impl Breakdown {
    pub(crate) fn new(models: usize) -> Breakdown {
        Breakdown {
            requests: 0,
            network: 0,
            retries: 0,
            queueing: 0,
            cpu: 0,
            parts: vec![0; models + 2],
        }
    }

    /// A completed request: its round trip, its time before the attempt
    /// that completed, in the queue and in its slot, and its slot time's
    /// parts (the rest of the slot time was CPU).
    #[inline]
    pub(crate) fn add(
        &mut self,
        rtt: Nanos,
        before: Nanos,
        queued: Nanos,
        in_slot: Nanos,
        parts: &[u64],
    ) {
        self.requests += 1;
        self.network += u128::from(rtt.0);
        self.retries += u128::from(before.0);
        self.queueing += u128::from(queued.0);
        let mut other = 0u64;
        for (sum, &p) in self.parts.iter_mut().zip(parts) {
            *sum += u128::from(p);
            other += p;
        }
        self.cpu += u128::from(in_slot.0.saturating_sub(other));
    }

    pub(crate) fn result(&self, model: &crate::scenario::Model) -> LatencyBreakdown {
        let n = self.requests.max(1) as f64;
        let mean = |ns: u128| ns as f64 / n / 1e9;
        let k = model.models.len();
        LatencyBreakdown {
            requests: self.requests,
            network: mean(self.network),
            retries: mean(self.retries),
            queueing: mean(self.queueing),
            cpu: mean(self.cpu),
            tool_waits: mean(self.parts[k]),
            cache: mean(self.parts[k + 1]),
            llm: model
                .models
                .iter()
                .zip(&self.parts)
                .map(|(m, &ns)| ModelTime {
                    model: m.name.clone(),
                    seconds: mean(ns),
                })
                .collect(),
        }
    }
}

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
    /// Waiting for an LLM call: for one of the instance's permits
    /// (`llmConcurrency`) or out a provider's 429 `retry-after`.
    pub llm_waits: f64,
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
            + self.llm_waits
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
        out.llm_waits = mean(&|b| b.llm_waits);
        for (k, m) in out.llm.iter_mut().enumerate() {
            m.seconds = mean(&|b| b.llm.get(k).map_or(0.0, |x| x.seconds));
        }
        out
    }
}

/// Sums of the breakdown's parts in nanoseconds (exact), as requests
/// complete. The CPU part is what is left of the latency once the others
/// are taken out; for a plain workflow without CPU work the LLM part of
/// its one model is that rest, so a completed request costs three sums.
#[derive(Debug, Clone)]
pub(crate) struct Breakdown {
    network: u128,
    retries: u128,
    queueing: u128,
    /// Per model, then tool waits, cache hits, LLM waits.
    parts: Vec<u128>,
    /// The model whose LLM time is the whole rest (plain workflows without
    /// CPU work, on one model).
    rest_is_llm: Option<usize>,
}

impl Breakdown {
    pub(crate) fn new(models: usize, rest_is_llm: Option<usize>) -> Breakdown {
        Breakdown {
            network: 0,
            retries: 0,
            queueing: 0,
            parts: vec![0; models + 3],
            rest_is_llm,
        }
    }

    /// A completed request (its latency is in the run's recorder): its
    /// round trip, its time before the attempt that completed and in the
    /// queue; the rest was in its slot.
    #[inline]
    pub(crate) fn add(&mut self, rtt: Nanos, before: Nanos, queued: Nanos) {
        self.network += u128::from(rtt.0);
        self.retries += u128::from(before.0);
        self.queueing += u128::from(queued.0);
    }

    /// The parts of a completed request's slot time (LLM per model, tool
    /// waits, cache hits, LLM waits), after [`Breakdown::add`].
    #[inline]
    pub(crate) fn add_parts(&mut self, parts: &[u64]) {
        for (sum, &p) in self.parts.iter_mut().zip(parts) {
            *sum += u128::from(p);
        }
    }

    /// A completed request's one part: `llm` nanoseconds of model `m`.
    #[inline]
    pub(crate) fn add_part(&mut self, m: usize, llm: u64) {
        self.parts[m] += u128::from(llm);
    }

    /// The means over `requests` completed requests whose latencies sum
    /// to `latency` nanoseconds.
    pub(crate) fn result(
        &self,
        model: &crate::scenario::Model,
        requests: u64,
        latency: u128,
    ) -> LatencyBreakdown {
        let n = requests.max(1) as f64;
        let mean = |ns: u128| ns as f64 / n / 1e9;
        let k = model.llm.models.len();
        let mut parts = self.parts.clone();
        let outside = self.network + self.retries + self.queueing;
        let rest = latency.saturating_sub(outside);
        let cpu = match self.rest_is_llm {
            Some(m) => {
                parts[m] = rest;
                0
            }
            // Rounding of each part to the nanosecond may leave the parts
            // a few nanoseconds over the rest.
            None => rest.saturating_sub(parts.iter().sum()),
        };
        LatencyBreakdown {
            requests,
            network: mean(self.network),
            retries: mean(self.retries),
            queueing: mean(self.queueing),
            cpu: mean(cpu),
            tool_waits: mean(parts[k]),
            cache: mean(parts[k + 1]),
            llm_waits: mean(parts[k + 2]),
            llm: model
                .llm
                .models
                .iter()
                .zip(&parts)
                .map(|(m, &ns)| ModelTime {
                    model: m.name.clone(),
                    seconds: mean(ns),
                })
                .collect(),
        }
    }
}

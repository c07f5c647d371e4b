//! LLM providers over a run: each model's quota (token buckets in calls and
//! tokens, for the fleet or per instance, decided by
//! `strategies::llm_client::QuotaBuckets`), its calls in progress (for a
//! shared endpoint that slows under load), outages and slowdowns; each
//! instance's cap on outstanding LLM calls with the calls waiting for it;
//! and each instance's circuit breaker on each model, in its LLM client.
//!
//! Built only when a scenario uses one of these
//! ([`LlmSection::providers_dynamic`]); otherwise calls never look here.
//!
//! [`LlmSection::providers_dynamic`]: crate::LlmSection::providers_dynamic

use crate::scenario::{Model, QuotaModel};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use strategies::{Admission, CircuitBreaker, Nanos, ProviderQuota, QuotaBuckets};

/// A provider's answer to a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Admit {
    /// Served; its latency is multiplied by `factor` (saturation and
    /// slowdowns).
    Go { factor: f64 },
    /// The provider is down: the call fails at once.
    Down,
    /// Over quota: 429, try again after `retry_after`.
    Limited { retry_after: Nanos },
}

struct Provider {
    quota: Option<QuotaModel>,
    /// The quota's buckets: one per instance, or one for the fleet.
    keys: Vec<QuotaBuckets>,
    saturation: Option<u32>,
    /// End times of the calls it is serving (abandoned ones too: the
    /// provider does not know the client left).
    serving: BinaryHeap<Reverse<u64>>,
    down: u32,
    slow: f64,
    slow_events: u32,
}

/// An instance's cap on outstanding LLM calls.
pub(super) struct Permits {
    pub(super) cap: u32,
    pub(super) busy: u32,
    /// Calls waiting for a permit: (request, attempt).
    pub(super) waiting: VecDeque<(u32, u32)>,
}

pub(super) struct Providers {
    models: Vec<Provider>,
    /// Per instance, when some instance type caps its calls.
    pub(super) permits: Vec<Permits>,
    /// Each instance's breaker on each model (`instance * models +
    /// model`), when some model has one.
    breakers: Vec<Option<CircuitBreaker>>,
    models_len: usize,
}

impl Providers {
    pub(super) fn new(model: &Model) -> Option<Providers> {
        if !model.llm.providers_dynamic {
            return None;
        }
        let n = model.fleet.instances.len();
        let models = model
            .llm
            .models
            .iter()
            .map(|m| {
                let keys = match m.quota {
                    Some(q) => {
                        let quota = ProviderQuota {
                            calls: q.calls,
                            tokens: q.tokens,
                        };
                        let full = QuotaBuckets::full(quota, Nanos::ZERO);
                        vec![full; if q.per_instance { n } else { 1 }]
                    }
                    None => Vec::new(),
                };
                Provider {
                    quota: m.quota,
                    keys,
                    saturation: m.saturation,
                    serving: BinaryHeap::new(),
                    down: 0,
                    slow: 1.0,
                    slow_events: 0,
                }
            })
            .collect();
        let capped = model
            .fleet
            .types
            .iter()
            .any(|t| t.llm_concurrency.is_some());
        let permits = if capped {
            model
                .fleet
                .instances
                .iter()
                .map(|i| Permits {
                    cap: model.fleet.types[i.type_index as usize]
                        .llm_concurrency
                        .unwrap_or(u32::MAX),
                    busy: 0,
                    waiting: VecDeque::new(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let breakers = if model.llm.models.iter().any(|m| m.breaker.is_some()) {
            (0..n)
                .flat_map(|_| {
                    model
                        .llm
                        .models
                        .iter()
                        .map(|m| m.breaker.clone().map(CircuitBreaker::new))
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(Providers {
            models,
            permits,
            breakers,
            models_len: model.llm.models.len(),
        })
    }

    /// Instance `inst` starts anew (a new process): its breakers close.
    pub(super) fn restart(&mut self, inst: usize) {
        let k = self.models_len;
        if let Some(bs) = self.breakers.get_mut(inst * k..(inst + 1) * k) {
            for b in bs.iter_mut().flatten() {
                *b = CircuitBreaker::new(b.config().clone());
            }
        }
    }

    /// Instance `inst`'s breaker on model `m`, if it has one.
    pub(super) fn breaker(&mut self, inst: usize, m: usize) -> Option<&mut CircuitBreaker> {
        self.breakers
            .get_mut(inst * self.models_len + m)
            .and_then(Option::as_mut)
    }

    /// Model `m` is asked for a call of `tokens` tokens from instance
    /// `inst` at `now`, taking `secs` at full speed.
    pub(super) fn admit(&mut self, m: usize, inst: usize, tokens: f64, now: Nanos) -> Admit {
        let p = &mut self.models[m];
        if p.down > 0 {
            return Admit::Down;
        }
        if let Some(q) = p.quota {
            let key = &mut p.keys[if q.per_instance { inst } else { 0 }];
            if let Admission::Limited { retry_after } = key.admit(now, tokens) {
                return Admit::Limited { retry_after };
            }
        }
        let mut factor = p.slow;
        if let Some(cap) = p.saturation {
            while p.serving.peek().is_some_and(|&Reverse(end)| end <= now.0) {
                p.serving.pop();
            }
            // The endpoint's calls, this one included.
            let load = (p.serving.len() + 1) as f64 / f64::from(cap);
            factor *= load.max(1.0);
        }
        Admit::Go { factor }
    }

    /// A call to model `m` admitted at `now` ends at `end`.
    pub(super) fn serving_until(&mut self, m: usize, end: Nanos) {
        let p = &mut self.models[m];
        if p.saturation.is_some() {
            p.serving.push(Reverse(end.0));
        }
    }

    /// A provider outage (`down`) or slowdown starts or ends.
    pub(super) fn event(&mut self, m: usize, down: bool, factor: f64, starting: bool) {
        let p = &mut self.models[m];
        match (down, starting) {
            (true, true) => p.down += 1,
            (true, false) => p.down -= 1,
            (false, true) => {
                p.slow_events += 1;
                p.slow *= factor;
            }
            (false, false) => {
                p.slow_events -= 1;
                p.slow = if p.slow_events == 0 {
                    1.0
                } else {
                    p.slow / factor
                };
            }
        }
    }
}

//! LLM calls: which model each call of a request's workflow goes to, the
//! response cache, fallbacks on failed calls, latency timed by output
//! tokens, tool waits between calls, and the parts of a request's time in
//! its slot (LLM by model, tool waits, cache) for the latency breakdown.
//!
//! A call is one or more *legs*: a cache hit, or a model's answer, and on
//! failure the fallback model's answer, and so on down the chain. Every leg
//! is drawn here ([`first_leg`], [`answer`], [`tokens_of`]); the variations
//! of a call (cache, fallback, token-timed latency) are parts of that one
//! draw. How legs become events is the scenario's [`CallPath`], chosen
//! once:
//!
//! | path | when | where |
//! |---|---|---|
//! | [`CallPath::Plain`] | a fixed number of calls to one model, nothing else | `calls.rs` `start_llm_simple` |
//! | [`CallPath::Summed`] | cache, tools, fallbacks, per-token latency | `calls.rs` `start_llm_general` |
//! | [`CallPath::PerCall`] | token prices: each leg charged when it ends | `calls.rs` `begin_leg`, `next_leg` |
//! | [`CallPath::Provider`] | quotas, 429s and retry-after, outages, saturation, per-instance caps, breakers per model | `dynamic.rs` `try_leg` |
//!
//! All paths draw the same values in the same order from the request's
//! stream. They stay separate timings because summing an attempt's legs
//! before rounding to nanoseconds (one event) and rounding each leg (one
//! event per leg) give results a nanosecond apart; the plain path exists
//! because it is the engine's hot path.

mod calls;
mod dynamic;

use super::providers::Providers;
use super::requests::{Request, State};
use super::step::Observer;
use super::Engine;
use crate::breakdown::Breakdown;
use crate::metrics::ModelCalls;
use crate::scenario::{Model, Shape};
use rand::Rng;

/// The model of a leg answered from the cache.
pub(super) const CACHE: u32 = u32::MAX;

/// One leg of a call.
pub(super) struct Leg {
    /// Seconds it takes (before an instance's slowdown).
    secs: f64,
    fails: bool,
    /// The model that answered, or [`CACHE`].
    model: u32,
    /// Input and output tokens, when calls are timed by tokens.
    tokens: (u32, u32),
}

/// The first leg of a call to model `m` by a request of `shape` (its
/// tokens `given` by a trace, or drawn): a cache hit, or the model's
/// answer.
#[inline]
fn first_leg<R: Rng + ?Sized>(
    model: &Model,
    shape: &Shape,
    given: (u32, u32),
    m: u32,
    rng: &mut R,
) -> Leg {
    if let Some(k) = &model.llm.cache {
        if rng.random::<f64>() < k.hit_ratio {
            return Leg {
                secs: k.latency.sample_secs(rng),
                fails: false,
                model: CACHE,
                tokens: (0, 0),
            };
        }
    }
    answer(model, shape, given, m, rng)
}

/// Model `m`'s answer: its tokens first when calls are timed by tokens,
/// then its latency, then whether it fails.
#[inline]
fn answer<R: Rng + ?Sized>(
    model: &Model,
    shape: &Shape,
    given: (u32, u32),
    m: u32,
    rng: &mut R,
) -> Leg {
    let spec = &model.llm.models[m as usize];
    let (secs, tokens) = if model.llm.tokens_timed {
        let (input, output) = tokens_of(shape, given, rng);
        let first = spec.latency.sample_secs(rng);
        let per = spec.per_token.as_ref().map_or(0.0, |p| p.sample_secs(rng));
        // Drawn after the output token's time, so a scenario without it
        // draws what it drew before.
        let prefill = match &spec.per_input_token {
            Some(p) => p.sample_secs(rng) * input,
            None => 0.0,
        };
        (
            first + prefill + per * output,
            (input as u32, output as u32),
        )
    } else {
        (spec.latency.sample_secs(rng), (0, 0))
    };
    let fails = spec.error_rate > 0.0 && rng.random::<f64>() < spec.error_rate;
    Leg {
        secs,
        fails,
        model: m,
        tokens,
    }
}

/// A call's input and output tokens: the trace's, or drawn from the
/// request's shape (0 when it has none).
#[inline]
pub(super) fn tokens_of<R: Rng + ?Sized>(
    shape: &Shape,
    given: (u32, u32),
    rng: &mut R,
) -> (f64, f64) {
    let draw = |d: &Option<crate::dist::Sampler>, rng: &mut R| {
        d.as_ref().map_or(0.0, |d| d.sample_value(rng).round())
    };
    let input = match given.0 {
        NO_TOKENS => draw(&shape.input_tokens, rng),
        n => f64::from(n),
    };
    let output = match given.1 {
        NO_TOKENS => draw(&shape.output_tokens, rng),
        n => f64::from(n),
    };
    (input, output)
}

/// Which per-request parts of the latency breakdown the engine keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parts {
    /// None: a plain workflow without CPU work on one model, whose slot
    /// time is all that model's calls.
    None,
    /// One: a plain workflow's LLM time, on its attempt's model.
    One,
    /// Every part, per model and kind.
    All,
}

/// How an attempt's calls become events. Every path draws the same legs
/// ([`first_leg`], [`answer`]: cache, model, fallbacks, tokens) in the same
/// order from the request's stream; they differ only in when a leg's time
/// is known and who may delay it, so the cheapest path that can express a
/// scenario is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallPath {
    /// A plain workflow (a fixed number of calls to one model, no cache,
    /// tools, fallbacks, prices or provider state): its calls drawn and
    /// summed at once into one event per attempt, counted in bulk
    /// ([`calls`]).
    Plain,
    /// Any other workflow without prices or provider state: its legs drawn
    /// at once and summed into one event per attempt ([`calls`]).
    Summed,
    /// Token prices: each leg an event of its own, charged to its model
    /// when it ends ([`calls`]).
    PerCall,
    /// Provider state (quotas, saturation, outages, per-instance caps,
    /// breakers per model): each leg admitted when it starts, so it may
    /// wait, be answered 429, fail at once or go to its fallback
    /// ([`dynamic`]).
    Provider,
}

impl CallPath {
    /// The path `model` needs.
    fn of(model: &Model) -> CallPath {
        let priced = model
            .llm
            .models
            .iter()
            .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0);
        let first = &model.workload.classes[0].shape;
        let plain = model.llm.cache.is_none()
            && model.workload.classes.len() == 1
            && first.is_plain()
            && model.llm.models.iter().all(|m| {
                m.fallback.is_none() && m.per_token.is_none() && m.per_input_token.is_none()
            });
        if model.llm.providers_dynamic {
            CallPath::Provider
        } else if priced {
            CallPath::PerCall
        } else if plain {
            CallPath::Plain
        } else {
            CallPath::Summed
        }
    }

    /// Whether each leg is an event of its own.
    pub(super) fn per_leg(self) -> bool {
        matches!(self, CallPath::PerCall | CallPath::Provider)
    }
}

/// The LLM component's state: which call path the scenario needs, the
/// providers, each request's calls and the parts of its time, and the
/// calls counted per model.
pub(super) struct Llm {
    /// How an attempt's calls become events, chosen once per scenario.
    pub(super) path: CallPath,
    /// LLM providers' state, when a scenario gives them any.
    pub(super) providers: Option<Providers>,
    /// Call state per slab record, for workflows that are not plain.
    pub(super) legs: Vec<super::requests::LegInfo>,
    /// Each request's time in its slot by part, `parts_width` entries per
    /// slab record: LLM time per model, tool waits, cache hits, LLM waits,
    /// and when its attempt got its slot. Grows with the slab, never per
    /// request.
    pub(super) parts: Vec<u64>,
    pub(super) parts_width: usize,
    /// Which per-request parts the breakdown reads at completion.
    pub(super) parts_kept: Parts,
    /// Completed requests' latency by part.
    pub(super) breakdown: Breakdown,
    /// Calls and errors of plain workflows over the whole run, and as the
    /// warm-up ended (added to `counts` at the end).
    pub(super) plain_calls: (u64, u64),
    pub(super) plain_at_warmup: (u64, u64),
    /// Calls, errors, 429s and outage failures per model.
    pub(super) counts: Vec<ModelCalls>,
}

impl Llm {
    pub(super) fn new(model: &Model) -> Llm {
        let path = CallPath::of(model);
        let first = &model.workload.classes[0].shape;
        let one_model = model.budget.fallback_model.is_none() && !model.llm.models.is_empty();
        let simple = path == CallPath::Plain;
        let (parts_kept, rest_is_llm) = match (simple, first.cpu_time.is_none() && one_model) {
            (true, true) => (Parts::None, Some(first.model_index)),
            (true, false) => (Parts::One, None),
            (false, _) => (Parts::All, None),
        };
        Llm {
            path,
            providers: Providers::new(model),
            legs: Vec::new(),
            parts: Vec::with_capacity(1024 * (model.llm.models.len() + 4)),
            parts_width: model.llm.models.len() + 4,
            parts_kept,
            breakdown: Breakdown::new(model.llm.models.len(), rest_is_llm),
            plain_calls: (0, 0),
            plain_at_warmup: (0, 0),
            counts: model
                .llm
                .models
                .iter()
                .map(|m| ModelCalls {
                    model: m.name.clone(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// The calls counted per model over the measured window.
    pub(super) fn take_counts(&mut self, model: &Model) -> Vec<ModelCalls> {
        let mut counts = std::mem::take(&mut self.counts);
        // A scenario whose requests call no model may define none.
        if let Some(c) = counts.get_mut(model.workload.classes[0].shape.model_index) {
            c.calls += self.plain_calls.0 - self.plain_at_warmup.0;
            c.errors += self.plain_calls.1 - self.plain_at_warmup.1;
        }
        counts
    }
}

/// No tokens given by a trace: they are drawn.
pub(super) const NO_TOKENS: u32 = u32::MAX;

/// LLM calls' events, when calls are events of their own.
#[derive(Debug, Clone, Copy)]
pub(super) enum LlmEvent {
    /// A call's leg starts after its lead time (CPU, a tool wait) or a
    /// 429's wait.
    Start { req: u32, attempt: u32 },
}

impl LlmEvent {
    /// Whether the event lost its purpose: its attempt ended or moved on.
    /// The handler and the queue's compaction both ask this.
    pub(super) fn is_stale(self, requests: &[Request]) -> bool {
        let LlmEvent::Start { req, attempt } = self;
        let r = &requests[req as usize];
        r.attempt != attempt || r.state != State::Llm
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Handles an LLM event, unless it lost its purpose.
    #[inline(always)]
    pub(super) fn handle_llm(&mut self, ev: LlmEvent) {
        if ev.is_stale(&self.requests) {
            return;
        }
        match ev {
            LlmEvent::Start { req, .. } => self.on_llm_start(req),
        }
    }
}

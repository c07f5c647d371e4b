//! LLM calls: which model each call of a request's workflow goes to, the
//! response cache, fallbacks on failed calls, latency timed by output
//! tokens, tool waits between calls, and the parts of a request's time in
//! its slot (LLM by model, tool waits, cache) for the latency breakdown.
//!
//! A call is one or more *legs*: a cache hit, or a model's answer, and on
//! failure the fallback model's answer, and so on down the chain. When
//! nothing needs to see individual calls (no token prices), an attempt's
//! calls are drawn at once and summed into one event. With token prices
//! each leg is an event of its own, charged to its model when it ends.
//! Both draw the same values in the same order from the request's stream.

use super::providers::Admit;
use super::providers::Providers;
use super::requests::{LegState, Request, State};
use super::service::ServiceEvent;
use super::step::Observer;
use super::{Engine, Event};
use crate::breakdown::Breakdown;
use crate::metrics::ModelCalls;
use crate::scenario::{Model, Shape};
use rand::Rng;
use strategies::Nanos;

/// The model of a leg answered from the cache.
pub(super) const CACHE: u32 = u32::MAX;

/// One leg of a call.
struct Leg {
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
        (first + per * output, (input as u32, output as u32))
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

/// The LLM component's state: which call path the scenario needs, the
/// providers, each request's calls and the parts of its time, and the
/// calls counted per model.
pub(super) struct Llm {
    /// LLM calls are events of their own (token prices).
    pub(super) per_call: bool,
    /// Plain workflows: one event per attempt, a fixed number of calls to
    /// one model, no cache, tools, fallbacks, prices or provider state.
    pub(super) simple: bool,
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
        let per_call = model.llm.providers_dynamic
            || model
                .llm
                .models
                .iter()
                .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0);
        let first = &model.workload.classes[0].shape;
        let simple = !per_call
            && model.llm.cache.is_none()
            && model.workload.classes.len() == 1
            && first.is_plain()
            && model
                .llm
                .models
                .iter()
                .all(|m| m.fallback.is_none() && m.per_token.is_none());
        let one_model = model.budget.fallback_model.is_none();
        let (parts_kept, rest_is_llm) = match (simple, first.cpu_time.is_none() && one_model) {
            (true, true) => (Parts::None, Some(first.model_index)),
            (true, false) => (Parts::One, None),
            (false, _) => (Parts::All, None),
        };
        Llm {
            per_call,
            simple,
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
        let c = &mut counts[model.workload.classes[0].shape.model_index];
        c.calls += self.plain_calls.0 - self.plain_at_warmup.0;
        c.errors += self.plain_calls.1 - self.plain_at_warmup.1;
        counts
    }
}

/// No tokens given by a trace: they are drawn.
pub(super) const NO_TOKENS: u32 = u32::MAX;

impl<'m, O: Observer> Engine<'m, O> {
    /// The workflow of `req`'s class.
    #[inline(always)]
    pub(super) fn shape_of(&self, req: u32) -> &'m Shape {
        let model: &'m Model = self.model;
        &model.workload.classes[self.requests[req as usize].class as usize].shape
    }

    /// The model call `n` of `req`'s attempt, whose model is
    /// `attempt_model`, goes to.
    #[inline]
    fn call_model(&self, req: u32, attempt_model: u32, n: u32) -> u32 {
        match self.shape_of(req).model_per_call.as_slice() {
            [] => attempt_model,
            per => per[(n as usize).min(per.len() - 1)] as u32,
        }
    }

    /// Books `secs` of a leg answered by `model` (or the cache, or a tool
    /// wait) to `req`'s current attempt.
    #[inline]
    fn book(&mut self, req: u32, part: usize, secs: f64) {
        let w = self.llm.parts_width;
        self.llm.parts[req as usize * w + part] += Nanos::from_secs_f64(secs).0;
    }

    /// The breakdown column of a leg's model (columns: each model, tool
    /// waits, cache hits, LLM waits, then the attempt's slot time).
    #[inline]
    fn part_of(&self, model: u32) -> usize {
        if model == CACHE {
            self.llm.parts_width - 3
        } else {
            model as usize
        }
    }

    /// The breakdown column of tool waits.
    #[inline]
    fn tool_part(&self) -> usize {
        self.llm.parts_width - 4
    }

    /// The breakdown column of waits for an LLM permit or after a 429.
    #[inline]
    fn wait_part(&self) -> usize {
        self.llm.parts_width - 2
    }

    /// Counts a leg answered by model `m` (not the cache).
    #[inline]
    fn count_leg(&mut self, m: u32, fails: bool) {
        if m != CACHE && self.now >= self.model.run.warmup {
            let c = &mut self.llm.counts[m as usize];
            c.calls += 1;
            c.errors += u64::from(fails);
        }
    }

    /// The LLM phase of a plain workflow ([`Llm::simple`]) in one
    /// event: a fixed number of calls to the attempt's model, no cache, no
    /// tools, no fallbacks. The same draws as the general path, with one
    /// write of the breakdown and the counts per attempt.
    #[inline]
    fn start_llm_simple(&mut self, req: u32, cpu_secs: f64, slow: f64, hung: bool) {
        let now = self.now;
        let model = self.model;
        let r = &mut self.requests[req as usize];
        r.state = State::Llm;
        // A plain workflow's calls all go to the attempt's model.
        let spec = &model.llm.models[r.model as usize];
        // Summed in this order (CPU first) so the service time rounds as
        // it always has.
        let mut total = cpu_secs;
        let mut fails = false;
        let calls = model.workload.classes[0].shape.llm_calls.draw(&mut r.rng);
        let mut made = u64::from(calls);
        for k in 0..calls {
            total += spec.latency.sample_secs(&mut r.rng);
            if spec.error_rate > 0.0 && r.rng.random::<f64>() < spec.error_rate {
                fails = true;
                made = u64::from(k) + 1;
                break;
            }
        }
        r.fails = fails;
        let attempt = r.attempt;
        // Counted whatever the time; the warm-up's share is taken off at
        // the end. Plain workflows only ever call the scenario's model.
        self.llm.plain_calls.0 += made;
        self.llm.plain_calls.1 += u64::from(fails);
        let service = Nanos::from_secs_f64(total);
        let service = if slow == 1.0 {
            service
        } else {
            Nanos::from_secs_f64(service.as_secs_f64() * slow)
        };
        if self.llm.parts_kept == Parts::One {
            // The one part this mode writes: the attempt's model's time.
            self.llm.parts[req as usize * self.llm.parts_width] =
                Nanos::from_secs_f64((total - cpu_secs) * slow).0;
        }
        if !hung {
            self.events.push(
                now + service,
                Event::Service(ServiceEvent::Done { req, attempt }),
            );
        }
    }

    /// Begins the LLM phase of `req` (after `cpu_secs` of CPU delay when
    /// CPU is not shared).
    #[inline(always)]
    pub(super) fn start_llm(&mut self, req: u32, cpu_secs: f64) {
        if self.llm.simple {
            let i = self.requests[req as usize].instance as usize;
            let (slow, hung) = (self.instances[i].slow_factor, self.instances[i].is_hung());
            self.start_llm_simple(req, cpu_secs, slow, hung);
        } else {
            self.start_llm_general(req, cpu_secs);
        }
    }

    /// The LLM phase of a workflow that is not plain.
    #[inline(never)]
    fn start_llm_general(&mut self, req: u32, cpu_secs: f64) {
        let now = self.now;
        let model = self.model;
        let i = self.requests[req as usize].instance as usize;
        let slow = self.instances[i].slow_factor;
        let hung = self.instances[i].is_hung();
        let r = &mut self.requests[req as usize];
        r.state = State::Llm;
        let shape = &model.workload.classes[r.class as usize].shape;
        let calls = shape.llm_calls.draw(&mut r.rng);
        let l = &mut self.llm.legs[req as usize];
        let given = l.given;
        l.call_no = 0;
        let attempt_model = l.attempt_model;
        let r = &mut self.requests[req as usize];
        if model.llm.providers_dynamic {
            r.calls_left = calls;
            if calls == 0 {
                r.fails = false;
                if !hung {
                    let at = now + Nanos::from_secs_f64(cpu_secs * slow);
                    let attempt = r.attempt;
                    self.events
                        .push(at, Event::Service(ServiceEvent::Done { req, attempt }));
                }
                return;
            }
            r.calls_left -= 1;
            let m = self.call_model(req, attempt_model, 0);
            self.prepare_call(req, m);
            if hung {
                return;
            }
            self.after(req, cpu_secs * slow);
            return;
        }
        if self.llm.per_call {
            r.calls_left = calls;
            let first = if calls > 0 {
                self.requests[req as usize].calls_left -= 1;
                let m = self.call_model(req, attempt_model, 0);
                self.begin_leg(req, m, true, slow)
            } else {
                self.requests[req as usize].fails = false;
                0.0
            };
            if !hung {
                let at = now + Nanos::from_secs_f64((cpu_secs + first) * slow);
                let attempt = self.requests[req as usize].attempt;
                self.events
                    .push(at, Event::Service(ServiceEvent::Done { req, attempt }));
            }
            return;
        }
        let mut total = cpu_secs;
        let mut fails = false;
        let tool_part = self.tool_part();
        for n in 0..calls {
            if n > 0 {
                if let Some(t) = &shape.tool_time {
                    let secs = t.sample_secs(&mut self.requests[req as usize].rng);
                    total += secs;
                    self.book(req, tool_part, secs * slow);
                }
            }
            let m = self.call_model(req, attempt_model, n);
            let mut leg = first_leg(model, shape, given, m, &mut self.requests[req as usize].rng);
            loop {
                total += leg.secs;
                let part = self.part_of(leg.model);
                self.book(req, part, leg.secs * slow);
                self.count_leg(leg.model, leg.fails);
                let next = match leg.fails {
                    true => model.llm.models[leg.model as usize].fallback,
                    false => None,
                };
                match next {
                    Some(f) => {
                        let rng = &mut self.requests[req as usize].rng;
                        leg = answer(model, shape, given, f as u32, rng);
                    }
                    None => break,
                }
            }
            if leg.fails {
                fails = true;
                break;
            }
        }
        self.requests[req as usize].fails = fails;
        if !hung {
            let service = Nanos::from_secs_f64(total);
            let service = if slow == 1.0 {
                service
            } else {
                Nanos::from_secs_f64(service.as_secs_f64() * slow)
            };
            let attempt = self.requests[req as usize].attempt;
            self.events.push(
                now + service,
                Event::Service(ServiceEvent::Done { req, attempt }),
            );
        }
    }

    /// Draws a leg of `req`'s current call on model `m` (the first leg may
    /// be a cache hit), records it on the request and books its time;
    /// returns its seconds.
    fn begin_leg(&mut self, req: u32, m: u32, first: bool, slow: f64) -> f64 {
        let model = self.model;
        let shape = self.shape_of(req);
        let given = self.llm.legs[req as usize].given;
        let r = &mut self.requests[req as usize];
        let leg = if first {
            first_leg(model, shape, given, m, &mut r.rng)
        } else {
            answer(model, shape, given, m, &mut r.rng)
        };
        r.fails = leg.fails;
        r.model = leg.model;
        let l = &mut self.llm.legs[req as usize];
        l.tokens = leg.tokens;
        l.unbilled = false;
        let part = self.part_of(leg.model);
        self.book(req, part, leg.secs * slow);
        self.count_leg(leg.model, leg.fails);
        leg.secs
    }

    /// In per-call mode, after a leg ended (and was charged): the fallback
    /// of a failed leg, or the next call after a tool wait. Returns whether
    /// the attempt goes on.
    pub(super) fn next_leg(&mut self, req: u32, attempt: u32) -> bool {
        let model = self.model;
        if model.llm.providers_dynamic {
            return self.next_leg_dynamic(req);
        }
        let r = &self.requests[req as usize];
        let slow = self.instances[r.instance as usize].slow_factor;
        let secs = if r.fails {
            let Some(f) = (r.model != CACHE)
                .then(|| model.llm.models[r.model as usize].fallback)
                .flatten()
            else {
                return false;
            };
            self.begin_leg(req, f as u32, false, slow)
        } else if r.calls_left > 0 {
            let (tool, m) = self.next_call(req, slow);
            tool + self.begin_leg(req, m, true, slow)
        } else {
            return false;
        };
        let at = self.now + Nanos::from_secs_f64(secs * slow);
        self.events
            .push(at, Event::Service(ServiceEvent::Done { req, attempt }));
        true
    }
}

/// Calls with provider state (quotas, saturation, outages, per-instance
/// caps): each leg is admitted when it starts, so a call waits for a
/// permit, is answered 429 and waits `retry-after`, or fails at once on an
/// outage; a rate-limited call goes to its model's fallback when it has
/// one.
impl<'m, O: Observer> Engine<'m, O> {
    /// Sets up a new call of `req` to model `m`.
    fn prepare_call(&mut self, req: u32, m: u32) {
        self.requests[req as usize].model = m;
        let l = &mut self.llm.legs[req as usize];
        l.first_leg = true;
        l.retries429 = 0;
        l.rate_limited = false;
        l.unbilled = false;
        l.leg = LegState::Idle;
    }

    /// Starts `req`'s pending leg after `secs` (CPU delay or a tool wait),
    /// or now.
    fn after(&mut self, req: u32, secs: f64) {
        if secs > 0.0 {
            let r = &self.requests[req as usize];
            let attempt = r.attempt;
            self.events.push(
                self.now + Nanos::from_secs_f64(secs),
                Event::Llm(LlmEvent::Start { req, attempt }),
            );
        } else {
            self.try_leg(req);
        }
    }

    /// Draws model `r.model`'s answer for `req`'s pending leg.
    fn draw_answer(&mut self, req: u32) {
        let model = self.model;
        let shape = self.shape_of(req);
        let given = self.llm.legs[req as usize].given;
        let r = &mut self.requests[req as usize];
        let leg = answer(model, shape, given, r.model, &mut r.rng);
        r.fails = leg.fails;
        let l = &mut self.llm.legs[req as usize];
        l.leg_secs = leg.secs;
        l.tokens = leg.tokens;
    }

    /// An `LlmStart` event: a leg's lead time or 429 wait is over.
    fn on_llm_start(&mut self, req: u32) {
        let l = &mut self.llm.legs[req as usize];
        if l.leg == LegState::Backoff {
            l.leg = LegState::Idle;
            let waited = self.now - l.wait_from;
            let part = self.wait_part();
            self.book(req, part, waited.as_secs_f64());
        }
        if self.instances[self.requests[req as usize].instance as usize].is_hung() {
            return;
        }
        self.try_leg(req);
    }

    /// Tries to start `req`'s pending leg now: a cache hit, a wait for a
    /// permit, an outage, a 429, or the provider's answer.
    fn try_leg(&mut self, req: u32) {
        let now = self.now;
        let model = self.model;
        let i = self.requests[req as usize].instance as usize;
        if self.instances[i].is_hung() {
            return;
        }
        let slow = self.instances[i].slow_factor;
        if self.llm.legs[req as usize].first_leg {
            self.llm.legs[req as usize].first_leg = false;
            let r = &mut self.requests[req as usize];
            if let Some(k) = &model.llm.cache {
                if r.rng.random::<f64>() < k.hit_ratio {
                    let secs = k.latency.sample_secs(&mut r.rng);
                    r.model = CACHE;
                    r.fails = false;
                    self.llm.legs[req as usize].unbilled = true;
                    let attempt = r.attempt;
                    let part = self.part_of(CACHE);
                    self.book(req, part, secs * slow);
                    let at = now + Nanos::from_secs_f64(secs * slow);
                    self.events
                        .push(at, Event::Service(ServiceEvent::Done { req, attempt }));
                    return;
                }
            }
            self.draw_answer(req);
        }
        loop {
            let r = &self.requests[req as usize];
            let (m, attempt) = (r.model, r.attempt);
            let l = &self.llm.legs[req as usize];
            let tokens = f64::from(l.tokens.0) + f64::from(l.tokens.1);
            let Some(p) = &mut self.llm.providers else {
                return;
            };
            let counted = u64::from(now >= model.run.warmup);
            // The instance's breaker on the model: an open one refuses the
            // call before it waits for anything; it goes to the fallback or
            // fails at once.
            if let Some(b) = p.breaker(i, m as usize) {
                if !b.would_permit(now) {
                    self.llm.counts[m as usize].circuit_open += counted;
                    if let Some(f) = model.llm.models[m as usize].fallback {
                        self.requests[req as usize].model = f as u32;
                        self.draw_answer(req);
                        continue;
                    }
                    self.requests[req as usize].fails = true;
                    let l = &mut self.llm.legs[req as usize];
                    l.unbilled = true;
                    l.leg = LegState::Idle;
                    self.events
                        .push(now, Event::Service(ServiceEvent::Done { req, attempt }));
                    return;
                }
            }
            if let Some(permits) = p.permits.get_mut(i) {
                if permits.busy >= permits.cap {
                    permits.waiting.push_back((req, attempt));
                    let l = &mut self.llm.legs[req as usize];
                    l.leg = LegState::Waiting;
                    l.wait_from = now;
                    return;
                }
            }
            let admitted = p.admit(m as usize, i, tokens, now);
            // The breaker lets the call through (a half-open one takes a
            // trial permit); a 429 or an outage is a failure it counts.
            if let Some(b) = p.breaker(i, m as usize) {
                let permitted = b.try_acquire(now);
                debug_assert!(permitted, "a breaker refused what it would permit");
                if !matches!(admitted, Admit::Go { .. }) && b.record(now, false, Nanos::ZERO) {
                    self.llm.counts[m as usize].breaker_trips += counted;
                }
            }
            match admitted {
                Admit::Go { factor } => {
                    if let Some(permits) = p.permits.get_mut(i) {
                        permits.busy += 1;
                    }
                    let l = &mut self.llm.legs[req as usize];
                    let secs = l.leg_secs * factor * slow;
                    let end = now + Nanos::from_secs_f64(secs);
                    p.serving_until(m as usize, end);
                    l.leg = LegState::InFlight;
                    l.leg_start = now;
                    let fails = self.requests[req as usize].fails;
                    self.events
                        .push(end, Event::Service(ServiceEvent::Done { req, attempt }));
                    let part = self.part_of(m);
                    self.book(req, part, secs);
                    self.count_leg(m, fails);
                    return;
                }
                Admit::Down => {
                    self.llm.counts[m as usize].outages += counted;
                    self.requests[req as usize].fails = true;
                    let l = &mut self.llm.legs[req as usize];
                    l.unbilled = true;
                    l.leg = LegState::Idle;
                    self.events
                        .push(now, Event::Service(ServiceEvent::Done { req, attempt }));
                    return;
                }
                Admit::Limited { retry_after } => {
                    self.llm.counts[m as usize].rate_limited += counted;
                    if let Some(f) = model.llm.models[m as usize].fallback {
                        self.requests[req as usize].model = f as u32;
                        self.draw_answer(req);
                        continue;
                    }
                    let retries = model.llm.rate_limit_retries;
                    let r = &mut self.requests[req as usize];
                    let l = &mut self.llm.legs[req as usize];
                    if l.retries429 < retries.max_retries {
                        l.retries429 += 1;
                        let jitter = if retries.jitter > Nanos::ZERO {
                            Nanos((r.rng.random::<f64>() * retries.jitter.0 as f64) as u64)
                        } else {
                            Nanos::ZERO
                        };
                        l.leg = LegState::Backoff;
                        l.wait_from = now;
                        self.events.push(
                            now + retry_after + jitter,
                            Event::Llm(LlmEvent::Start { req, attempt }),
                        );
                        return;
                    }
                    // Out of retries: the call fails now, through its end
                    // event (failing it here would start the next queued
                    // request inside this one).
                    l.leg = LegState::Idle;
                    l.unbilled = true;
                    l.rate_limited = true;
                    r.fails = true;
                    self.events
                        .push(now, Event::Service(ServiceEvent::Done { req, attempt }));
                    return;
                }
            }
        }
    }

    /// `req`'s leg in flight ended (`success` if it was answered without
    /// error; a request leaving its slot abandons it, a failure): its
    /// breaker hears how it went, it lets go of its instance's permit, and
    /// the next waiting call starts.
    pub(super) fn release_permit(&mut self, req: u32, success: bool) {
        if !self.end_leg(req, success) {
            return;
        }
        let i = self.requests[req as usize].instance as usize;
        let Some(p) = &mut self.llm.providers else {
            return;
        };
        let Some(permits) = p.permits.get_mut(i) else {
            return;
        };
        permits.busy -= 1;
        self.wake_waiting(i);
    }

    /// `req`'s leg in flight, if it has one, is over: its breaker hears
    /// how it went. Returns whether it was in flight (and so held a
    /// permit, if its instance caps calls).
    pub(super) fn end_leg(&mut self, req: u32, success: bool) -> bool {
        let Some(l) = self.llm.legs.get_mut(req as usize) else {
            return false;
        };
        if l.leg != LegState::InFlight {
            return false;
        }
        l.leg = LegState::Idle;
        let took = self.now - l.leg_start;
        let r = &self.requests[req as usize];
        let (i, m) = (r.instance as usize, r.model as usize);
        if let Some(b) = self.llm.providers.as_mut().and_then(|p| p.breaker(i, m)) {
            if b.record(self.now, success, took) && self.now >= self.model.run.warmup {
                self.llm.counts[m].breaker_trips += 1;
            }
        }
        true
    }

    /// Hands instance `i`'s free permits to the calls waiting for them, in
    /// order. A woken call that does not take its permit (an outage, a
    /// 429) leaves it to the next, so no permit idles while calls wait.
    fn wake_waiting(&mut self, i: usize) {
        if self.instances[i].is_hung() {
            // Nothing moves on a hung instance; its calls go when it does.
            return;
        }
        loop {
            let Some(permits) = self
                .llm
                .providers
                .as_mut()
                .and_then(|p| p.permits.get_mut(i))
            else {
                return;
            };
            if permits.busy >= permits.cap {
                return;
            }
            let Some((q, a)) = permits.waiting.pop_front() else {
                return;
            };
            let w = &self.requests[q as usize];
            let wl = &mut self.llm.legs[q as usize];
            if w.attempt == a && w.state == State::Llm && wl.leg == LegState::Waiting {
                wl.leg = LegState::Idle;
                let waited = self.now - wl.wait_from;
                let part = self.wait_part();
                self.book(q, part, waited.as_secs_f64());
                self.try_leg(q);
            }
        }
    }

    /// After a leg ended: the fallback of a failed one, or the next call
    /// after a tool wait. Returns whether the attempt goes on.
    fn next_leg_dynamic(&mut self, req: u32) -> bool {
        let model = self.model;
        let r = &self.requests[req as usize];
        let slow = self.instances[r.instance as usize].slow_factor;
        if r.fails {
            let Some(f) = (r.model != CACHE)
                .then(|| model.llm.models[r.model as usize].fallback)
                .flatten()
            else {
                return false;
            };
            self.requests[req as usize].model = f as u32;
            let l = &mut self.llm.legs[req as usize];
            l.unbilled = false;
            l.retries429 = 0;
            self.draw_answer(req);
            self.try_leg(req);
            return true;
        }
        if r.calls_left == 0 {
            return false;
        }
        let (tool, m) = self.next_call(req, slow);
        self.prepare_call(req, m);
        self.after(req, tool * slow);
        true
    }

    /// `req` moves on to its next call: the tool wait before it (drawn and
    /// booked) and the model it goes to.
    fn next_call(&mut self, req: u32, slow: f64) -> (f64, u32) {
        let shape = self.shape_of(req);
        let r = &mut self.requests[req as usize];
        let l = &mut self.llm.legs[req as usize];
        r.calls_left -= 1;
        l.call_no += 1;
        let (n, attempt_model) = (l.call_no, l.attempt_model);
        let tool = match &shape.tool_time {
            Some(t) => t.sample_secs(&mut r.rng),
            None => 0.0,
        };
        if tool > 0.0 {
            let part = self.tool_part();
            self.book(req, part, tool * slow);
        }
        (tool, self.call_model(req, attempt_model, n))
    }
}

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

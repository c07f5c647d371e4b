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

use super::requests::State;
use super::{Engine, Event};
use crate::scenario::Model;
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

/// The first leg of a call to model `m`: a cache hit, or the model's
/// answer.
#[inline]
fn first_leg<R: Rng + ?Sized>(model: &Model, m: u32, rng: &mut R) -> Leg {
    if let Some(k) = &model.cache {
        if rng.random::<f64>() < k.hit_ratio {
            return Leg {
                secs: k.latency.sample_secs(rng),
                fails: false,
                model: CACHE,
                tokens: (0, 0),
            };
        }
    }
    answer(model, m, rng)
}

/// Model `m`'s answer: its tokens first when calls are timed by tokens,
/// then its latency, then whether it fails.
#[inline]
fn answer<R: Rng + ?Sized>(model: &Model, m: u32, rng: &mut R) -> Leg {
    let spec = &model.models[m as usize];
    let (secs, tokens) = if model.tokens_timed {
        let input = model
            .input_tokens
            .as_ref()
            .map_or(0.0, |d| d.sample_value(rng).round());
        let output = model
            .output_tokens
            .as_ref()
            .map_or(0.0, |d| d.sample_value(rng).round());
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

impl Engine<'_> {
    /// The model call `n` of an attempt whose model is `attempt_model`
    /// goes to.
    #[inline]
    fn call_model(&self, attempt_model: u32, n: u32) -> u32 {
        match self.model.model_per_call.as_slice() {
            [] => attempt_model,
            per => per[(n as usize).min(per.len() - 1)] as u32,
        }
    }

    /// Books `secs` of a leg answered by `model` (or the cache, or a tool
    /// wait) to `req`'s current attempt.
    #[inline]
    fn book(&mut self, req: u32, part: usize, secs: f64) {
        let w = self.parts_width;
        self.parts[req as usize * w + part] += Nanos::from_secs_f64(secs).0;
    }

    /// The breakdown column of a leg's model.
    #[inline]
    fn part_of(&self, model: u32) -> usize {
        if model == CACHE {
            self.parts_width - 1
        } else {
            model as usize
        }
    }

    /// Begins the LLM phase of `req` (after `cpu_secs` of CPU delay when
    /// CPU is not shared).
    pub(super) fn start_llm(&mut self, req: u32, cpu_secs: f64) {
        let now = self.now;
        let model = self.model;
        let i = self.requests[req as usize].instance as usize;
        let slow = self.instances[i].slow_factor;
        let hung = self.instances[i].is_hung();
        let r = &mut self.requests[req as usize];
        r.state = State::Llm;
        let calls = model.llm_calls.draw(&mut r.rng);
        let attempt_model = r.attempt_model;
        r.call_no = 0;
        if self.per_call {
            r.calls_left = calls;
            let first = if calls > 0 {
                self.requests[req as usize].calls_left -= 1;
                let m = self.call_model(attempt_model, 0);
                self.begin_leg(req, m, true, slow)
            } else {
                self.requests[req as usize].fails = false;
                0.0
            };
            if !hung {
                let at = now + Nanos::from_secs_f64((cpu_secs + first) * slow);
                let attempt = self.requests[req as usize].attempt;
                self.events.push(at, Event::ServiceDone { req, attempt });
            }
            return;
        }
        let mut total = cpu_secs;
        let mut fails = false;
        let tool_part = self.parts_width - 2;
        for n in 0..calls {
            if n > 0 {
                if let Some(t) = &model.tool_time {
                    let secs = t.sample_secs(&mut self.requests[req as usize].rng);
                    total += secs;
                    self.book(req, tool_part, secs * slow);
                }
            }
            let m = self.call_model(attempt_model, n);
            let mut leg = first_leg(model, m, &mut self.requests[req as usize].rng);
            loop {
                total += leg.secs;
                let part = self.part_of(leg.model);
                self.book(req, part, leg.secs * slow);
                let next = match leg.fails {
                    true => model.models[leg.model as usize].fallback,
                    false => None,
                };
                match next {
                    Some(f) => {
                        leg = answer(model, f as u32, &mut self.requests[req as usize].rng);
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
            self.events
                .push(now + service, Event::ServiceDone { req, attempt });
        }
    }

    /// Draws a leg of `req`'s current call on model `m` (the first leg may
    /// be a cache hit), records it on the request and books its time;
    /// returns its seconds.
    fn begin_leg(&mut self, req: u32, m: u32, first: bool, slow: f64) -> f64 {
        let model = self.model;
        let r = &mut self.requests[req as usize];
        let leg = if first {
            first_leg(model, m, &mut r.rng)
        } else {
            answer(model, m, &mut r.rng)
        };
        r.fails = leg.fails;
        r.model = leg.model;
        r.tokens = leg.tokens;
        let part = self.part_of(leg.model);
        self.book(req, part, leg.secs * slow);
        leg.secs
    }

    /// In per-call mode, after a leg ended (and was charged): the fallback
    /// of a failed leg, or the next call after a tool wait. Returns whether
    /// the attempt goes on.
    pub(super) fn next_leg(&mut self, req: u32, attempt: u32) -> bool {
        let model = self.model;
        let r = &self.requests[req as usize];
        let slow = self.instances[r.instance as usize].slow_factor;
        let secs = if r.fails {
            let Some(f) = (r.model != CACHE)
                .then(|| model.models[r.model as usize].fallback)
                .flatten()
            else {
                return false;
            };
            self.begin_leg(req, f as u32, false, slow)
        } else if r.calls_left > 0 {
            let r = &mut self.requests[req as usize];
            r.calls_left -= 1;
            r.call_no += 1;
            let (n, attempt_model) = (r.call_no, r.attempt_model);
            let tool = match &model.tool_time {
                Some(t) => t.sample_secs(&mut r.rng),
                None => 0.0,
            };
            if tool > 0.0 {
                let part = self.parts_width - 2;
                self.book(req, part, tool * slow);
            }
            let m = self.call_model(attempt_model, n);
            tool + self.begin_leg(req, m, true, slow)
        } else {
            return false;
        };
        let at = self.now + Nanos::from_secs_f64(secs * slow);
        self.events.push(at, Event::ServiceDone { req, attempt });
        true
    }
}

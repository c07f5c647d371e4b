//! The paths that know a leg's time when it is drawn: a plain workflow's
//! calls summed into one event ([`CallPath::Plain`]), any workflow's legs
//! summed into one event ([`CallPath::Summed`]), or each leg an event of
//! its own ([`CallPath::PerCall`]); and the bookkeeping every path shares
//! (which model a call goes to, the parts of a request's time, the counts).

use super::{answer, first_leg, CallPath, Parts, CACHE};
use crate::engine::requests::State;
use crate::engine::service::ServiceEvent;
use crate::engine::step::{Observed, Observer};
use crate::engine::{Engine, Event};
use crate::scenario::Model;
use crate::scenario::Shape;
use rand::Rng;
use strategies::Nanos;

impl<'m, O: Observer> Engine<'m, O> {
    /// The workflow of `req`'s class.
    #[inline(always)]
    pub(in crate::engine) fn shape_of(&self, req: u32) -> &'m Shape {
        let model: &'m Model = self.model;
        &model.workload.classes[self.requests[req as usize].class as usize].shape
    }

    /// The model call `n` of `req`'s attempt, whose model is
    /// `attempt_model`, goes to.
    #[inline]
    pub(super) fn call_model(&self, req: u32, attempt_model: u32, n: u32) -> u32 {
        match self.shape_of(req).model_per_call.as_slice() {
            [] => attempt_model,
            per => per[(n as usize).min(per.len() - 1)] as u32,
        }
    }

    /// Books `secs` of a leg answered by `model` (or the cache, or a tool
    /// wait) to `req`'s current attempt.
    #[inline]
    pub(super) fn book(&mut self, req: u32, part: usize, secs: f64) {
        let w = self.llm.parts_width;
        self.llm.parts[req as usize * w + part] += Nanos::from_secs_f64(secs).0;
    }

    /// The breakdown column of a leg's model (columns: each model, tool
    /// waits, cache hits, LLM waits, then the attempt's slot time).
    #[inline]
    pub(super) fn part_of(&self, model: u32) -> usize {
        if model == CACHE {
            self.llm.parts_width - 3
        } else {
            model as usize
        }
    }

    /// The breakdown column of tool waits.
    #[inline]
    pub(super) fn tool_part(&self) -> usize {
        self.llm.parts_width - 4
    }

    /// The breakdown column of waits for an LLM permit or after a 429.
    #[inline]
    pub(super) fn wait_part(&self) -> usize {
        self.llm.parts_width - 2
    }

    /// Counts a leg answered by model `m` (not the cache).
    #[inline]
    pub(super) fn count_leg(&mut self, m: u32, fails: bool) {
        if m != CACHE && self.now >= self.model.run.warmup {
            let c = &mut self.llm.counts[m as usize];
            c.calls += 1;
            c.errors += u64::from(fails);
        }
    }

    /// Tells the observer of `leg`, answered for call `call` of `req`.
    #[inline(always)]
    fn notify_leg(&mut self, req: u32, call: u32, leg: &super::Leg, slow: f64) {
        self.notify(|| Observed::Answered {
            request: req,
            call,
            model: (leg.model != CACHE).then_some(leg.model),
            secs: leg.secs * slow,
            tokens: leg.tokens,
            fails: leg.fails,
        });
    }

    /// The LLM phase of a plain workflow ([`Llm::simple`]) in one
    /// event: a fixed number of calls to the attempt's model, no cache, no
    /// tools, no fallbacks. The same draws as the general path, with one
    /// write of the breakdown and the counts per attempt.
    #[inline]
    pub(super) fn start_llm_simple(&mut self, req: u32, cpu_secs: f64, slow: f64, hung: bool) {
        let now = self.now;
        let model = self.model;
        let r = &mut self.requests[req as usize];
        r.state = State::Llm;
        // Summed in this order (CPU first) so the service time rounds as
        // it always has.
        let mut total = cpu_secs;
        let mut fails = false;
        let calls = model.workload.classes[0].shape.llm_calls.draw(&mut r.rng);
        let mut made = u64::from(calls);
        for k in 0..calls {
            // A plain workflow's calls all go to the attempt's model (a
            // scenario without calls may define none).
            let spec = &model.llm.models[r.model as usize];
            let secs = spec.latency.sample_secs(&mut r.rng);
            total += secs;
            let failed = spec.error_rate > 0.0 && r.rng.random::<f64>() < spec.error_rate;
            if O::ACTIVE {
                let what = Observed::Answered {
                    request: req,
                    call: k,
                    model: Some(r.model),
                    secs: secs * slow,
                    tokens: (0, 0),
                    fails: failed,
                };
                self.observer.observe(now, what);
            }
            if failed {
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
        let given = self.given_service(req);
        if let Some(g) = given {
            // The given time is the whole slot time, CPU included.
            total = g.as_secs_f64();
        }
        let service = given.unwrap_or_else(|| Nanos::from_secs_f64(total));
        let service = if slow == 1.0 {
            service
        } else {
            Nanos::from_secs_f64(service.as_secs_f64() * slow)
        };
        if self.llm.parts_kept == Parts::One {
            // The one part this mode writes: the attempt's model's time.
            self.llm.parts[req as usize * self.llm.parts_width] =
                Nanos::from_secs_f64((total - cpu_secs).max(0.0) * slow).0;
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
    pub(in crate::engine) fn start_llm(&mut self, req: u32, cpu_secs: f64) {
        if self.llm.path == CallPath::Plain {
            let i = self.requests[req as usize].instance as usize;
            let (slow, hung) = (self.instances[i].slow_factor, self.instances[i].is_hung());
            self.start_llm_simple(req, cpu_secs, slow, hung);
        } else {
            self.start_llm_general(req, cpu_secs);
        }
    }

    /// The LLM phase of a workflow that is not plain.
    #[inline(never)]
    pub(super) fn start_llm_general(&mut self, req: u32, cpu_secs: f64) {
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
        if self.llm.path == CallPath::Provider {
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
        if self.llm.path == CallPath::PerCall {
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
                self.notify_leg(req, n, &leg, slow);
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
            let service = self
                .given_service(req)
                .unwrap_or_else(|| Nanos::from_secs_f64(total));
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
    pub(super) fn begin_leg(&mut self, req: u32, m: u32, first: bool, slow: f64) -> f64 {
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
        let call = l.call_no;
        self.notify_leg(req, call, &leg, slow);
        let part = self.part_of(leg.model);
        self.book(req, part, leg.secs * slow);
        self.count_leg(leg.model, leg.fails);
        leg.secs
    }

    /// In per-call mode, after a leg ended (and was charged): the fallback
    /// of a failed leg, or the next call after a tool wait. Returns whether
    /// the attempt goes on.
    pub(in crate::engine) fn next_leg(&mut self, req: u32, attempt: u32) -> bool {
        let model = self.model;
        if self.llm.path == CallPath::Provider {
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

//! [`CallPath::Provider`]: calls with provider state (quotas, saturation,
//! outages, per-instance caps, breakers per model).

use super::{answer, LlmEvent, CACHE};
use crate::engine::providers::Admit;
use crate::engine::requests::{LegState, State};
use crate::engine::service::ServiceEvent;
use crate::engine::step::{Observed, Observer};
use crate::engine::{Engine, Event};
use rand::Rng;
use strategies::{After429, Nanos};

/// Calls with provider state (quotas, saturation, outages, per-instance
/// caps): each leg is admitted when it starts, so a call waits for a
/// permit, is answered 429 and waits `retry-after`, or fails at once on an
/// outage; a rate-limited call goes to its model's fallback when it has
/// one.
impl<'m, O: Observer> Engine<'m, O> {
    /// Sets up a new call of `req` to model `m`.
    pub(super) fn prepare_call(&mut self, req: u32, m: u32) {
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
    pub(super) fn after(&mut self, req: u32, secs: f64) {
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
    pub(super) fn draw_answer(&mut self, req: u32) {
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
    pub(super) fn on_llm_start(&mut self, req: u32) {
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
    pub(super) fn try_leg(&mut self, req: u32) {
        let i = self.requests[req as usize].instance as usize;
        if self.instances[i].is_hung() {
            return;
        }
        let slow = self.instances[i].slow_factor;
        if self.llm.legs[req as usize].first_leg {
            self.llm.legs[req as usize].first_leg = false;
            if self.cache_hit(req, slow) {
                return;
            }
            self.draw_answer(req);
        }
        // Each turn of the loop asks the leg's model; a refusal that has a
        // fallback turns to it.
        while let Some(next) = self.ask_provider(req, i, slow) {
            if !next {
                return;
            }
        }
    }

    /// Whether `req`'s first leg is answered from the cache (its end
    /// scheduled and its time booked).
    fn cache_hit(&mut self, req: u32, slow: f64) -> bool {
        let now = self.now;
        let r = &mut self.requests[req as usize];
        let Some(k) = &self.model.llm.cache else {
            return false;
        };
        if r.rng.random::<f64>() >= k.hit_ratio {
            return false;
        }
        let secs = k.latency.sample_secs(&mut r.rng);
        r.model = CACHE;
        r.fails = false;
        self.llm.legs[req as usize].unbilled = true;
        let attempt = r.attempt;
        let call = self.llm.legs[req as usize].call_no;
        self.notify(|| Observed::Answered {
            request: req,
            call,
            model: None,
            secs: secs * slow,
            tokens: (0, 0),
            fails: false,
        });
        let part = self.part_of(CACHE);
        self.book(req, part, secs * slow);
        let at = now + Nanos::from_secs_f64(secs * slow);
        self.events
            .push(at, Event::Service(ServiceEvent::Done { req, attempt }));
        true
    }

    /// Asks the model of `req`'s pending leg, from instance `i`: its
    /// breaker, the instance's permits, then the provider. `Some(true)`:
    /// refused, and the leg turned to the model's fallback (ask again);
    /// `Some(false)`: the leg is settled (started, waiting or failed);
    /// `None`: no provider state.
    fn ask_provider(&mut self, req: u32, i: usize, slow: f64) -> Option<bool> {
        let now = self.now;
        let model = self.model;
        let r = &self.requests[req as usize];
        let (m, attempt) = (r.model, r.attempt);
        let l = &self.llm.legs[req as usize];
        let tokens = f64::from(l.tokens.0) + f64::from(l.tokens.1);
        let p = self.llm.providers.as_mut()?;
        let counted = u64::from(now >= model.run.warmup);
        // The instance's breaker on the model: an open one refuses the
        // call before it waits for anything; it goes to the fallback or
        // fails at once.
        if let Some(b) = p.breaker(i, m as usize) {
            if !b.would_permit(now) {
                self.llm.counts[m as usize].circuit_open += counted;
                self.notify(|| Observed::Unreachable {
                    request: req,
                    model: m,
                    why: "circuitOpen",
                });
                return Some(self.turn_to_fallback(req, m) || self.fail_leg_now(req, attempt));
            }
        }
        if let Some(permits) = p.permits.get_mut(i) {
            if permits.busy >= permits.cap {
                permits.waiting.push_back((req, attempt));
                let l = &mut self.llm.legs[req as usize];
                l.leg = LegState::Waiting;
                l.wait_from = now;
                return Some(false);
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
        Some(match admitted {
            Admit::Go { factor } => {
                self.start_answer(req, i, m, factor, slow);
                false
            }
            Admit::Down => {
                self.llm.counts[m as usize].outages += counted;
                self.notify(|| Observed::Unreachable {
                    request: req,
                    model: m,
                    why: "outage",
                });
                self.fail_leg_now(req, attempt)
            }
            Admit::Limited { retry_after } => {
                self.llm.counts[m as usize].rate_limited += counted;
                let has_fallback = self.model.llm.models[m as usize].fallback.is_some();
                if has_fallback {
                    self.notify(|| Observed::Limited {
                        request: req,
                        model: m,
                        wait: None,
                    });
                }
                // The client policy decides: fallback, wait and retry, or
                // give up (`strategies::llm_client`).
                let done = self.llm.legs[req as usize].retries429;
                let rng = &mut self.requests[req as usize].rng;
                match self.model.llm.rate_limit_retries.after_429(
                    has_fallback,
                    done,
                    retry_after,
                    rng,
                ) {
                    After429::Fallback => self.turn_to_fallback(req, m),
                    After429::Retry { wait } => self.retry_429(req, m, attempt, wait),
                    After429::GiveUp => self.give_up_429(req, m, attempt),
                }
            }
        })
    }

    /// Turns `req`'s leg to model `m`'s fallback, drawing its answer;
    /// whether `m` has one.
    fn turn_to_fallback(&mut self, req: u32, m: u32) -> bool {
        let Some(f) = self.model.llm.models[m as usize].fallback else {
            return false;
        };
        self.requests[req as usize].model = f as u32;
        self.draw_answer(req);
        true
    }

    /// The provider answers `req`'s leg on model `m` from instance `i`,
    /// `factor` (the provider's) and `slow` (the instance's) times slower
    /// than drawn: the instance's permit taken, the leg's end scheduled,
    /// its time booked and counted.
    fn start_answer(&mut self, req: u32, i: usize, m: u32, factor: f64, slow: f64) {
        let now = self.now;
        let p = self
            .llm
            .providers
            .as_mut()
            .expect("only calls with provider state are admitted");
        if let Some(permits) = p.permits.get_mut(i) {
            permits.busy += 1;
        }
        let l = &mut self.llm.legs[req as usize];
        let secs = l.leg_secs * factor * slow;
        let end = now + Nanos::from_secs_f64(secs);
        p.serving_until(m as usize, end);
        l.leg = LegState::InFlight;
        l.leg_start = now;
        let r = &self.requests[req as usize];
        let (fails, attempt) = (r.fails, r.attempt);
        self.events
            .push(end, Event::Service(ServiceEvent::Done { req, attempt }));
        if O::ACTIVE {
            let l = &self.llm.legs[req as usize];
            let what = Observed::Answered {
                request: req,
                call: l.call_no,
                model: Some(m),
                secs,
                tokens: l.tokens,
                fails,
            };
            self.observer.observe(now, what);
        }
        let part = self.part_of(m);
        self.book(req, part, secs);
        self.count_leg(m, fails);
    }

    /// A 429 the client retries: `req`'s leg waits `wait` (the provider's
    /// `retry-after` plus jitter) and asks again. Returns `false` (the leg
    /// is settled).
    fn retry_429(&mut self, req: u32, m: u32, attempt: u32, wait: Nanos) -> bool {
        let now = self.now;
        let l = &mut self.llm.legs[req as usize];
        l.retries429 += 1;
        l.leg = LegState::Backoff;
        l.wait_from = now;
        self.notify(|| Observed::Limited {
            request: req,
            model: m,
            wait: Some(wait),
        });
        self.events
            .push(now + wait, Event::Llm(LlmEvent::Start { req, attempt }));
        false
    }

    /// A 429 out of retries: `req`'s leg fails now. Returns `false` (the
    /// leg is settled).
    fn give_up_429(&mut self, req: u32, m: u32, attempt: u32) -> bool {
        self.llm.legs[req as usize].rate_limited = true;
        self.notify(|| Observed::Limited {
            request: req,
            model: m,
            wait: None,
        });
        self.fail_leg_now(req, attempt)
    }

    /// `req`'s leg fails now, unbilled, through its end event (failing it
    /// here would start the next queued request inside this one). Returns
    /// `false` (the leg is settled).
    fn fail_leg_now(&mut self, req: u32, attempt: u32) -> bool {
        self.requests[req as usize].fails = true;
        let l = &mut self.llm.legs[req as usize];
        l.unbilled = true;
        l.leg = LegState::Idle;
        self.events.push(
            self.now,
            Event::Service(ServiceEvent::Done { req, attempt }),
        );
        false
    }

    /// `req`'s leg in flight ended (`success` if it was answered without
    /// error; a request leaving its slot abandons it, a failure): its
    /// breaker hears how it went, it lets go of its instance's permit, and
    /// the next waiting call starts.
    pub(in crate::engine) fn release_permit(&mut self, req: u32, success: bool) {
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
    pub(in crate::engine) fn end_leg(&mut self, req: u32, success: bool) -> bool {
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
    pub(super) fn wake_waiting(&mut self, i: usize) {
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
    pub(super) fn next_leg_dynamic(&mut self, req: u32) -> bool {
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
    pub(super) fn next_call(&mut self, req: u32, slow: f64) -> (f64, u32) {
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

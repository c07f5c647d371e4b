//! One traced request in flight: its figures so far and its story in
//! words, written as things happen (the entry and its string are reused
//! by the next request in the same slab entry, so a long run allocates
//! nothing more once the most requests ever in flight were seen).
//!
//! A story reads attempt by attempt, `;` between attempts:
//!
//! ```text
//! #1 i3 loads[2 1 3 - 0] queue 0.120s, calls: c0 chat 1.520s; c1 chat error, c1 mini 0.300s (fallback) | llmError, retry in 0.250s ;
//! #2 i1 loads[2 0 3 - 0] calls: c0 429 chat wait 2.000s, c0 chat 1.100s => completed 4.012s (network 0.040s)
//! ```

use super::{outcome_of, TraceRow};
use crate::scenario::Model;
use std::fmt::Write;
use strategies::Nanos;

/// Instances whose loads a story lists one by one; a larger fleet's are
/// summarised (eligible count, least and most loaded).
const LOADS_LISTED: usize = 16;

/// A request in flight, if traced.
#[derive(Debug, Default)]
pub(super) struct Live {
    pub(super) traced: bool,
    number: u64,
    arrival: Nanos,
    user: u32,
    tenant: u32,
    class: u8,
    measured: bool,
    attempts: u32,
    instance: Option<u32>,
    /// When the current attempt was sent to its instance.
    sent: Nanos,
    /// When the current attempt took its slot.
    slot_from: Option<Nanos>,
    /// When the current backoff began.
    backoff_from: Option<Nanos>,
    /// The current attempt's last call with a leg, to tell fallbacks.
    last_call: Option<u32>,
    /// The current attempt's calls are being listed.
    in_calls: bool,
    /// Picked, not yet in a slot.
    in_queue: bool,
    /// The balancer was asked and has not picked yet (a request held at
    /// the entry).
    awaiting_pick: bool,
    /// The next leg answers a call its model refused (429, outage, open
    /// breaker): a fallback.
    pending_fallback: bool,
    queue: Nanos,
    slot: Nanos,
    llm_s: f64,
    llm_wait: Nanos,
    backoff: Nanos,
    legs: u32,
    fallbacks: u32,
    http_429s: u32,
    cache_hits: u32,
    tokens: (u64, u64),
    story: String,
}

fn secs(n: Nanos) -> f64 {
    n.as_secs_f64()
}

impl Live {
    /// A new request in this entry.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn begin(
        &mut self,
        traced: bool,
        number: u64,
        at: Nanos,
        user: u32,
        tenant: u32,
        class: u8,
        measured: bool,
    ) {
        self.traced = traced;
        if !traced {
            return;
        }
        let mut story = std::mem::take(&mut self.story);
        story.clear();
        *self = Live {
            traced,
            number,
            arrival: at,
            user,
            tenant,
            class,
            measured,
            story,
            ..Live::default()
        };
    }

    /// The balancer is about to pick: the loads it compares.
    pub(super) fn considered(&mut self, at: Nanos, loads: &[u32]) {
        if self.awaiting_pick {
            // Held at the entry for a fleet scaled to zero, and sent again:
            // the same attempt, its wait counted as queueing.
            self.story.push_str(" held at the entry, then ");
        } else {
            if let Some(from) = self.backoff_from.take() {
                self.backoff += at - from;
            }
            self.attempts += 1;
            self.sent = at;
            self.slot_from = None;
            self.last_call = None;
            self.in_calls = false;
            self.pending_fallback = false;
            if self.attempts > 1 {
                self.story.push_str(" ; ");
            }
            let _ = write!(self.story, "#{} ", self.attempts);
        }
        self.awaiting_pick = true;
        let s = &mut self.story;
        if loads.len() <= LOADS_LISTED {
            s.push_str("loads[");
            for (i, &l) in loads.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                if l == u32::MAX {
                    s.push('-');
                } else {
                    let _ = write!(s, "{l}");
                }
            }
            s.push(']');
        } else {
            let eligible = loads.iter().filter(|&&l| l != u32::MAX);
            let n = eligible.clone().count();
            let lo = eligible.clone().min();
            let hi = eligible.max();
            match (lo, hi) {
                (Some(lo), Some(hi)) => {
                    let _ = write!(s, "loads[{n}/{} eligible, {lo}..{hi}]", loads.len());
                }
                _ => {
                    let _ = write!(s, "loads[0/{} eligible]", loads.len());
                }
            }
        }
    }

    /// The balancer picked `instance`.
    pub(super) fn picked(&mut self, instance: u32) {
        self.awaiting_pick = false;
        self.in_queue = true;
        self.instance = Some(instance);
        let _ = write!(self.story, " -> i{instance}");
    }

    /// The attempt took its slot.
    pub(super) fn started(&mut self, at: Nanos) {
        self.in_queue = false;
        let waited = at - self.sent;
        self.queue += waited;
        self.slot_from = Some(at);
        if waited > Nanos::ZERO {
            let _ = write!(self.story, " queue {:.3}s", secs(waited));
        }
    }

    fn call_prefix(&mut self) {
        if self.in_calls {
            self.story.push_str(", ");
        } else {
            self.in_calls = true;
            self.story.push_str(", calls: ");
        }
    }

    /// A leg of call `call` answered.
    pub(super) fn answered(
        &mut self,
        call: u32,
        m: Option<u32>,
        secs: f64,
        tokens: (u32, u32),
        fails: bool,
        model: &Model,
    ) {
        let fallback = self.last_call == Some(call) || std::mem::take(&mut self.pending_fallback);
        self.last_call = Some(call);
        self.legs += 1;
        self.llm_s += secs;
        self.fallbacks += u32::from(fallback);
        self.tokens.0 += u64::from(tokens.0);
        self.tokens.1 += u64::from(tokens.1);
        self.call_prefix();
        let s = &mut self.story;
        let _ = write!(s, "c{call} ");
        match m {
            Some(m) => s.push_str(&model.llm.models[m as usize].name),
            None => {
                self.cache_hits += 1;
                s.push_str("cache");
            }
        }
        let _ = write!(s, " {secs:.3}s");
        if tokens != (0, 0) {
            let _ = write!(s, " {}>{}tok", tokens.0, tokens.1);
        }
        if fails {
            s.push_str(" error");
        }
        if fallback {
            s.push_str(" (fallback)");
        }
    }

    /// A 429 from model `m`.
    pub(super) fn limited(&mut self, m: u32, wait: Option<Nanos>, model: &Model) {
        self.http_429s += 1;
        // A 429 turned to the fallback makes the call's next leg one.
        let to_fallback = wait.is_none() && model.llm.models[m as usize].fallback.is_some();
        self.pending_fallback |= to_fallback;
        self.call_prefix();
        let name = &model.llm.models[m as usize].name;
        let _ = write!(self.story, "429 {name}");
        match wait {
            Some(w) => {
                self.llm_wait += w;
                let _ = write!(self.story, " wait {:.3}s", secs(w));
            }
            None if model.llm.models[m as usize].fallback.is_some() => {
                self.story.push_str(" -> fallback");
            }
            None => self.story.push_str(" out of retries"),
        }
    }

    /// A call could not reach model `m`.
    pub(super) fn unreachable(&mut self, m: u32, why: &str, model: &Model) {
        self.pending_fallback |= model.llm.models[m as usize].fallback.is_some();
        self.call_prefix();
        let name = &model.llm.models[m as usize].name;
        let _ = write!(self.story, "{name} {why}");
    }

    /// The attempt ends at `at`: its time in the slot, or in the queue
    /// if it never got one.
    fn leave_slot(&mut self, at: Nanos) {
        if let Some(from) = self.slot_from.take() {
            self.slot += at - from;
        } else if std::mem::take(&mut self.in_queue) {
            self.queue += at - self.sent;
        }
    }

    /// The attempt failed; `retry_in` when it is retried.
    pub(super) fn attempt_failed(&mut self, at: Nanos, cause: &str, retry_in: Option<Nanos>) {
        self.awaiting_pick = false;
        self.leave_slot(at);
        let _ = write!(self.story, " | {cause}");
        if let Some(b) = retry_in {
            self.backoff_from = Some(at);
            let _ = write!(self.story, ", retry in {:.3}s", secs(b));
        }
    }

    /// The request ended at `at`.
    pub(super) fn end(&mut self, at: Nanos, reason: &str, latency: Nanos, _model: &Model) {
        if std::mem::take(&mut self.awaiting_pick) {
            // Ended while held at the entry (its request timeout).
            self.queue += at - self.sent;
        }
        self.leave_slot(at);
        if let Some(from) = self.backoff_from.take() {
            self.backoff += at - from;
        }
        let total = self.total(at, reason, latency);
        let _ = write!(self.story, " => {reason} {:.3}s", secs(total));
        if reason == "completed" {
            let _ = write!(
                self.story,
                " (network {:.3}s)",
                secs(latency - (at - self.arrival))
            );
        }
    }

    fn total(&self, at: Nanos, reason: &str, latency: Nanos) -> Nanos {
        if reason == "completed" {
            latency
        } else {
            at - self.arrival
        }
    }

    /// The row of the request that ended at `at`.
    pub(super) fn row<'a>(
        &'a self,
        at: Nanos,
        reason: &'static str,
        latency: Nanos,
        model: &'a Model,
    ) -> TraceRow<'a> {
        let completed = reason == "completed";
        let total = self.total(at, reason, latency);
        TraceRow {
            request: self.number,
            arrival_s: secs(self.arrival),
            class: &model.workload.classes[self.class as usize].name,
            user: self.user,
            tenant: self.tenant,
            measured: self.measured,
            outcome: outcome_of(reason),
            reason,
            latency_s: secs(total),
            end_s: secs(at),
            attempts: self.attempts,
            instance: self.instance,
            queue_s: secs(self.queue),
            slot_s: secs(self.slot),
            llm_s: self.llm_s,
            llm_wait_s: secs(self.llm_wait),
            backoff_s: secs(self.backoff),
            network_s: if completed {
                secs(latency - (at - self.arrival))
            } else {
                0.0
            },
            llm_legs: self.legs,
            fallbacks: self.fallbacks,
            http_429s: self.http_429s,
            cache_hits: self.cache_hits,
            tokens_in: self.tokens.0,
            tokens_out: self.tokens.1,
            story: &self.story,
        }
    }
}

//! Service in a slot: a CPU phase (shared cores under processor sharing
//! when the instance type has `cpus`, else a plain delay), then the LLM
//! calls ([`llm`](super::llm)). A failed call ends the attempt there.

use super::fleet::Life;
use super::requests::{Cause, Request, State};
use super::step::Observer;
use super::{Engine, Event};
use std::cmp::Reverse;
use strategies::AttemptOutcome;

impl<O: Observer> Engine<'_, O> {
    /// Puts `req` in a slot of its instance, which must have one free. A
    /// hung instance takes it and never answers.
    pub(super) fn start(&mut self, req: u32) {
        let now = self.now;
        self.notify(|| super::Observed::Started { request: req });
        let model = self.model;
        let r = &mut self.requests[req as usize];
        let i = r.instance as usize;
        let inst = &mut self.instances[i];
        debug_assert!(inst.running < inst.slots, "start on a full instance");
        inst.settle(now);
        inst.running += 1;
        let shape = &model.workload.classes[r.class as usize].shape;
        // Over the LLM spend cap, attempts call the budget's fallback.
        let attempt_model = match (self.cost.llm_over_budget, model.budget.fallback_model) {
            (true, Some(f)) => f as u32,
            _ => shape.model_index as u32,
        };
        r.model = attempt_model;
        let w = self.llm.parts_width;
        if self.llm.path != super::llm::CallPath::Plain {
            self.llm.parts[req as usize * w..(req as usize + 1) * w].fill(0);
            let l = &mut self.llm.legs[req as usize];
            // A new attempt: nothing of an earlier one's call is pending,
            // and nothing is billed until a model answers.
            *l = super::requests::LegInfo {
                attempt_model,
                unbilled: true,
                given: l.given,
                ..super::requests::LegInfo::IDLE
            };
        }
        // When the attempt got its slot: the last column of its parts.
        self.llm.parts[(req as usize + 1) * w - 1] = now.0;
        // A service time given by a trace row is the whole slot time: no
        // CPU phase of its own.
        let given = self.given_service(req).is_some();
        let r = &mut self.requests[req as usize];
        let inst = &mut self.instances[i];
        let cpu_work = shape
            .cpu_time
            .as_ref()
            .map_or(0.0, |d| d.sample_secs(&mut r.rng));
        let (hung, slow) = (inst.is_hung(), inst.slow_factor);
        if let (Some(cpu), true) = (&mut inst.cpu, cpu_work > 0.0 && !given) {
            r.state = State::Cpu;
            if hung {
                // It holds the request, and its memory, all the same.
                self.memory_check(i);
                return;
            }
            cpu.advance(now);
            let done = cpu.vtime + cpu_work * slow;
            cpu.heap.push(Reverse((done.to_bits(), req, r.attempt)));
            cpu.jobs += 1;
            self.reschedule_cpu(i);
        } else {
            self.start_llm(req, cpu_work);
        }
        self.memory_check(i);
    }

    /// Schedules instance `i`'s next CPU completion (the previous one goes
    /// stale).
    fn reschedule_cpu(&mut self, i: usize) {
        let now = self.now;
        let Some(cpu) = &mut self.instances[i].cpu else {
            return;
        };
        cpu.gen = cpu.gen.wrapping_add(1);
        if let Some(at) = cpu.next_done(now) {
            let gen = cpu.gen;
            self.events.push(
                at,
                Event::Service(ServiceEvent::CpuDone {
                    inst: i as u32,
                    gen,
                }),
            );
        }
    }

    /// Requests on instance `i` whose CPU work is done move to their LLM
    /// calls.
    fn on_cpu_done(&mut self, i: usize, gen: u32) {
        let now = self.now;
        let inst = &mut self.instances[i];
        if inst.is_hung() || inst.cpu.as_ref().is_none_or(|c| c.gen != gen) {
            return;
        }
        inst.settle(now);
        let Some(cpu) = &mut inst.cpu else { return };
        // Finished: finish times within a nanosecond's worth of work.
        let eps = 1e-9 * (cpu.cores / f64::from(cpu.jobs.max(1))).min(1.0) + 1e-12;
        let mut done = std::mem::take(&mut self.scratch);
        done.clear();
        while let Some(&Reverse((bits, req, attempt))) = cpu.heap.peek() {
            if f64::from_bits(bits) > cpu.vtime + eps {
                break;
            }
            cpu.heap.pop();
            let r = &self.requests[req as usize];
            if r.attempt == attempt && r.state == State::Cpu {
                cpu.jobs -= 1;
                done.push(req);
            }
        }
        self.reschedule_cpu(i);
        for &req in &done {
            self.start_llm(req, 0.0);
        }
        self.scratch = done;
    }

    fn on_service_done(&mut self, req: u32, attempt: u32) {
        let r = &self.requests[req as usize];
        let i = r.instance as usize;
        if self.instances[i].is_hung() {
            // The instance hung under it: no answer will come.
            return;
        }
        if self.llm.path.per_leg() && self.leg_done(req, attempt) {
            return;
        }
        let r = &self.requests[req as usize];
        let success = !r.fails;
        let latency = self.now - r.dispatched;
        let outcome = if success {
            AttemptOutcome::Success
        } else {
            AttemptOutcome::ApplicationError
        };
        self.observe_attempt(i, latency, outcome);
        self.released(req, i);
        self.free_slot(i);
        if success {
            self.finalize(req, Cause::Completed);
        } else if self
            .llm
            .legs
            .get(req as usize)
            .is_some_and(|l| l.rate_limited)
        {
            self.attempt_failed(req, Cause::LlmRateLimited);
        } else {
            self.attempt_failed(req, Cause::LlmError);
        }
    }

    /// In per-call mode, a leg of `req`'s call ended: its permit and
    /// breaker, its charge, and the next leg. Returns whether the attempt
    /// goes on.
    #[inline(never)]
    fn leg_done(&mut self, req: u32, attempt: u32) -> bool {
        let success = !self.requests[req as usize].fails;
        self.release_permit(req, success);
        self.charge_call(req);
        self.next_leg(req, attempt)
    }

    /// Takes `req` out of its slot before its service ended (a timeout):
    /// drops its CPU job, frees the slot for the next queued request.
    pub(super) fn leave_slot(&mut self, req: u32) {
        self.release_permit(req, false);
        let r = &mut self.requests[req as usize];
        let i = r.instance as usize;
        let was_cpu = r.state == State::Cpu;
        r.state = State::Backoff;
        if was_cpu && !self.instances[i].is_hung() {
            let now = self.now;
            let inst = &mut self.instances[i];
            inst.settle(now);
            if let Some(cpu) = &mut inst.cpu {
                // Its heap entry goes stale with the state change.
                cpu.jobs -= 1;
            }
            self.reschedule_cpu(i);
        }
        self.released(req, i);
        self.free_slot(i);
    }

    /// Frees one slot of instance `i` and starts its next live queued
    /// request, if any.
    pub(super) fn free_slot(&mut self, i: usize) {
        let now = self.now;
        self.held -= 1;
        let inst = &mut self.instances[i];
        inst.settle(now);
        inst.running -= 1;
        let requests = &self.requests;
        let next = std::iter::from_fn(|| inst.queue.pop_front()).find(|&(q, a)| {
            let r = &requests[q as usize];
            r.attempt == a && r.state == State::Queued
        });
        if let Some((q, _)) = next {
            inst.queued -= 1;
            self.start(q);
        }
        self.after_release(i);
    }

    /// Takes a queued request off instance `i`'s books (its deque entry
    /// goes stale).
    pub(super) fn unqueue(&mut self, i: usize) {
        self.held -= 1;
        let inst = &mut self.instances[i];
        inst.settle(self.now);
        inst.queued -= 1;
        if inst.queue.len() > 2 * inst.queued as usize + 64 {
            // Stale entries pile up behind a slot that never frees (a hung
            // instance): drop them so the deque stays O(live queued).
            let requests = &self.requests;
            inst.queue.retain(|&(q, a)| {
                let r = &requests[q as usize];
                r.attempt == a && r.state == State::Queued
            });
        }
        self.after_release(i);
    }

    /// After instance `i` let go of a request: a draining instance that
    /// holds nothing more stops; the balancer hears of the change.
    #[inline(always)]
    fn after_release(&mut self, i: usize) {
        let inst = &self.instances[i];
        if inst.life == Life::Draining && inst.active() == 0 {
            self.stop_instance(i);
        }
        self.touched(i);
    }
}

/// Service's events: the end of a request's slot time or its CPU work.
#[derive(Debug, Clone, Copy)]
pub(super) enum ServiceEvent {
    /// A request's LLM phase (or current call) ends.
    Done { req: u32, attempt: u32 },
    /// The next CPU completion on an instance with shared cores (stale
    /// when `gen` no longer matches the instance's, checked by its
    /// handler: it is a standing event, one per instance).
    CpuDone { inst: u32, gen: u32 },
}

impl ServiceEvent {
    /// Whether the event lost its purpose: its attempt ended or moved on.
    /// The handler and the queue's compaction both ask this.
    pub(super) fn is_stale(self, requests: &[Request]) -> bool {
        match self {
            ServiceEvent::Done { req, attempt } => {
                let r = &requests[req as usize];
                r.attempt != attempt || r.state != State::Llm
            }
            ServiceEvent::CpuDone { .. } => false,
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a service event, unless it lost its purpose.
    #[inline(always)]
    pub(super) fn handle_service(&mut self, ev: ServiceEvent) {
        if ev.is_stale(&self.requests) {
            return;
        }
        match ev {
            ServiceEvent::Done { req, attempt } => self.on_service_done(req, attempt),
            ServiceEvent::CpuDone { inst, gen } => self.on_cpu_done(inst as usize, gen),
        }
    }
}

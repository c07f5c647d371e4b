//! Moving a run forward from outside: [`Engine::step`], [`Engine::run_until`]
//! and [`Engine::finish`], an [`Observer`] of what happens, and read-only
//! looks at the fleet between steps.
//!
//! [`Engine::run`] is `finish` on a fresh engine; stepping gives the same
//! result, event for event, because the loop is the same: events pop in
//! `(time, seq)` order and nothing depends on where a caller paused.
//! Tests use this to check a component on a timeline at exact instants, as
//! governor tests its limiter with a fake clock:
//!
//! ```
//! use sim_core::{Engine, Model, Nanos};
//!
//! let json = r#"{
//!   "name": "slow-answers",
//!   "run": { "seed": 1, "duration": "1m" },
//!   "workload": { "arrivals": { "ratePerSecond": 0.5 } },
//!   "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "10s" } } } },
//!   "instanceTypes": { "t": { "slots": 8, "pricePerHour": 1 } },
//!   "deployment": { "regions": { "r": { "instances": 1 } },
//!                   "limits": { "requestTimeout": "3s" } }
//! }"#;
//! let model = Model::from_json(json, "slow.json").unwrap();
//! let mut engine = Engine::new(&model, 0);
//! engine.run_until(Nanos::from_secs(30)).unwrap();
//! assert_eq!(engine.now(), Nanos::from_secs(30));
//! // Every answer takes 10s: whatever arrived has timed out or is waiting.
//! let so_far = engine.counts();
//! assert_eq!(so_far.completed, 0);
//! assert!(so_far.timed_out > 0);
//! let result = engine.finish().unwrap();
//! assert_eq!(result.counts.completed, 0);
//! assert!(result.counts.timed_out >= so_far.timed_out);
//! ```

use super::fleet::Life;
use super::requests::Cause;
use super::{Engine, Event};
use crate::error::SimError;
use crate::metrics::{Counts, RunResult};
use crate::timeline::ScalingEvent;
use strategies::Nanos;

/// What an [`Observer`] is told.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Observed<'a> {
    /// An event is about to be handled.
    Event {
        /// What kind of event (`"arrival"`, `"requestTimeout"`,
        /// `"healthCheck"`, ...; see [`Observed::event_names`]).
        kind: &'static str,
        /// The request it concerns, if any (a slab index, reused once the
        /// request ends).
        request: Option<u32>,
        /// The instance it concerns, if any.
        instance: Option<u32>,
    },
    /// The balancer picked `instance` for `request`'s current attempt.
    Picked {
        /// The request (slab index).
        request: u32,
        /// The instance picked.
        instance: u32,
    },
    /// A request ended, announced once ([`Engine`]'s outcome hook).
    Ended {
        /// The request (slab index), or `None` for a request refused at
        /// the entry by a rate limit (it never had a record).
        request: Option<u32>,
        /// The outcome: `"completed"` or the reason's key as in the
        /// results (`"requestTimeout"`, `"rateLimited"`, ...).
        outcome: &'static str,
        /// End-to-end latency of a completed request; zero otherwise.
        latency: Nanos,
    },
    /// An autoscaling decision that wanted or made a change.
    Scaled(&'a ScalingEvent),
    /// A request arrived. `request` is `None` when an entry rate limit
    /// refused it (its [`Observed::Ended`] follows at once, with no
    /// record).
    Arrived {
        /// The request (slab index), if it got a record.
        request: Option<u32>,
        /// Its user.
        user: u32,
        /// Its class (index into `workload.classes`).
        class: u8,
        /// Whether it arrived after the warm-up.
        measured: bool,
    },
    /// The balancer is about to pick an instance for `request`: each
    /// instance's load as the fleet's view has it (requests held;
    /// `u32::MAX` for an instance no balancer may pick now).
    Considered {
        /// The request (slab index).
        request: u32,
        /// Per instance, in fleet order.
        loads: &'a [u32],
    },
    /// `request`'s attempt took a slot on its instance (from the queue or
    /// at once).
    Started {
        /// The request (slab index).
        request: u32,
    },
    /// One leg of an LLM call was answered: by a model, or (`model:
    /// None`) by the response cache.
    Answered {
        /// The request (slab index).
        request: u32,
        /// The call's number in its attempt, from 0 (a fallback leg has
        /// its call's number).
        call: u32,
        /// The model that answered (index into `llm.models`), `None` for
        /// a cache hit.
        model: Option<u32>,
        /// Seconds the leg takes, slowdowns included.
        secs: f64,
        /// Input and output tokens, when calls are timed by tokens.
        tokens: (u32, u32),
        /// Whether the answer is an error.
        fails: bool,
    },
    /// A provider answered a call 429.
    Limited {
        /// The request (slab index).
        request: u32,
        /// The model that refused.
        model: u32,
        /// The wait before it asks again (`retry-after` and jitter);
        /// `None` when the call turned to its fallback or ran out of
        /// retries.
        wait: Option<Nanos>,
    },
    /// A call could not reach its model: `"outage"` or `"circuitOpen"`.
    Unreachable {
        /// The request (slab index).
        request: u32,
        /// The model.
        model: u32,
        /// Why.
        why: &'static str,
    },
    /// An attempt failed with `cause` (an outcome key, as in
    /// [`Observed::Ended`]).
    AttemptFailed {
        /// The request (slab index).
        request: u32,
        /// Why it failed.
        cause: &'static str,
        /// The backoff before the next attempt, when it is retried.
        retry_in: Option<Nanos>,
    },
}

impl Observed<'_> {
    /// Every event kind an [`Observed::Event`] may name.
    pub fn event_names() -> &'static [&'static str] {
        &EVENT_NAMES
    }
}

const EVENT_NAMES: [&str; 25] = [
    "arrival",
    "traceArrival",
    "think",
    "warmupEnd",
    "serviceDone",
    "cpuDone",
    "llmStart",
    "requestTimeout",
    "connectionTimeout",
    "retry",
    "healthCheck",
    "healthResult",
    "outlierTick",
    "breakerReopen",
    "passiveRecheck",
    "failureStart",
    "failureEnd",
    "randomFailure",
    "randomRepair",
    "metricsCollect",
    "scaleCheck",
    "bootDone",
    "drainDeadline",
    "seriesTick",
    "viewRefresh",
];

/// Watches a run: events as they are handled, picks, outcomes and scaling
/// decisions. An engine's observer is part of its type, so an engine
/// without one ([`NoObserver`]) is compiled without a single check.
pub trait Observer {
    /// Whether the engine tells this observer anything (false only for
    /// [`NoObserver`]).
    const ACTIVE: bool = true;

    /// Called at simulated time `at` with what happened.
    fn observe(&mut self, at: Nanos, what: Observed<'_>);
}

/// No observer: the engine of every ordinary run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    const ACTIVE: bool = false;

    fn observe(&mut self, _: Nanos, _: Observed<'_>) {}
}

impl<F: FnMut(Nanos, Observed<'_>)> Observer for F {
    fn observe(&mut self, at: Nanos, what: Observed<'_>) {
        self(at, what)
    }
}

/// An instance as seen between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceState {
    /// Started and past its start-up time, or draining what it holds.
    pub ready: bool,
    /// Starting up.
    pub booting: bool,
    /// Draining: no new traffic.
    pub draining: bool,
    /// In the balancers' rotation (ready, healthy, not ejected, not out
    /// by passive health).
    pub in_rotation: bool,
    /// Marked healthy by active health checks (always, without them).
    pub healthy: bool,
    /// Requests in its slots.
    pub running: u32,
    /// Requests in its queue.
    pub queued: u32,
}

impl Event {
    /// The event's name and the request and instance it concerns.
    fn describe(self) -> (&'static str, Option<u32>, Option<u32>) {
        use super::faults::FaultEvent as F;
        use super::resilience::ResilienceEvent as H;
        use super::routing::RoutingEvent as R;
        use super::scaling::ScaleEvent as S;
        use super::service::ServiceEvent as V;
        use super::workload::WorkloadEvent as W;
        let (k, req, inst) = match self {
            Event::Workload(W::Arrival) => (0, None, None),
            Event::Workload(W::TraceArrival) => (1, None, None),
            Event::Session(_) => (2, None, None),
            Event::WarmupEnd => (3, None, None),
            Event::Service(V::Done { req, .. }) => (4, Some(req), None),
            Event::Service(V::CpuDone { inst, .. }) => (5, None, Some(inst)),
            Event::Llm(super::llm::LlmEvent::Start { req, .. }) => (6, Some(req), None),
            Event::Routing(R::Timeout { req, .. }) => (7, Some(req), None),
            Event::Routing(R::ConnTimeout { req, .. }) => (8, Some(req), None),
            Event::Routing(R::Retry { req, .. }) => (9, Some(req), None),
            Event::Resilience(H::HealthCheck { inst, .. }) => (10, None, Some(inst)),
            Event::Resilience(H::HealthResult { inst, .. }) => (11, None, Some(inst)),
            Event::Resilience(H::OutlierTick) => (12, None, None),
            Event::Resilience(H::BreakerReopen { inst }) => (13, None, Some(inst)),
            Event::Resilience(H::PassiveRecheck { inst }) => (14, None, Some(inst)),
            Event::Fault(F::Start { .. }) => (15, None, None),
            Event::Fault(F::End { .. }) => (16, None, None),
            Event::Fault(F::RandomFail { inst, .. }) => (17, None, Some(inst)),
            Event::Fault(F::RandomRepair { inst, .. }) => (18, None, Some(inst)),
            Event::Scaling(S::MetricsCollect) => (19, None, None),
            Event::Scaling(S::Check) => (20, None, None),
            Event::Scaling(S::BootDone { inst, .. }) => (21, None, Some(inst)),
            Event::Scaling(S::DrainDeadline { inst, .. }) => (22, None, Some(inst)),
            Event::Series(_) => (23, None, None),
            Event::Replicas(_) => (24, None, None),
        };
        (EVENT_NAMES[k], req, inst)
    }
}

impl Cause {
    /// The outcome's key, as in the results' reasons.
    pub(super) fn key(self) -> &'static str {
        match self {
            Cause::Completed => "completed",
            Cause::RateLimited => "rateLimited",
            Cause::OverConnectionLimit => "overConnectionLimit",
            Cause::CircuitOpen => "circuitOpen",
            Cause::NoHealthyInstance => "noHealthyInstance",
            Cause::RequestTimeout => "requestTimeout",
            Cause::ConnectionTimeout => "connectionTimeout",
            Cause::LlmError => "llmError",
            Cause::LlmRateLimited => "llmRateLimited",
            Cause::InstanceDown => "instanceDown",
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Tells the observer, if the engine has one (built only then).
    #[inline(always)]
    pub(super) fn notify(&mut self, what: impl FnOnce() -> Observed<'static>) {
        if O::ACTIVE {
            self.observer.observe(self.now, what());
        }
    }

    /// Tells the observer of a scaling decision just logged.
    pub(super) fn notify_scaled(&mut self) {
        if O::ACTIVE {
            if let Some(e) = self
                .scaling
                .auto
                .as_ref()
                .and_then(|s| s.log.last())
                .cloned()
            {
                self.observer.observe(self.now, Observed::Scaled(&e));
            }
        }
    }

    /// Tells the observer of `ev`, about to be handled (unless it lost
    /// its purpose: then nothing happens).
    #[inline(always)]
    pub(super) fn notify_event(&mut self, ev: Event) {
        if O::ACTIVE && !ev.is_stale(&self.requests) {
            let (kind, request, instance) = ev.describe();
            self.observer.observe(
                self.now,
                Observed::Event {
                    kind,
                    request,
                    instance,
                },
            );
        }
    }

    /// Simulated time: that of the last event handled, or the time a
    /// [`Engine::run_until`] ran to.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// The run's horizon (`run.duration`).
    pub fn horizon(&self) -> Nanos {
        self.model.run.duration
    }

    /// Outcome counts so far (measured requests; `in_flight` is filled in
    /// only by the final result).
    pub fn counts(&self) -> Counts {
        self.outcomes.counts
    }

    /// Instance `i` as it is now (`None` past the fleet's end).
    pub fn instance(&self, i: usize) -> Option<InstanceState> {
        let inst = self.instances.get(i)?;
        Some(InstanceState {
            ready: matches!(inst.life, Life::Ready | Life::Draining),
            booting: inst.life == Life::Booting,
            draining: inst.life == Life::Draining,
            in_rotation: inst.routable,
            healthy: inst.healthy,
            running: inst.running,
            queued: inst.queued,
        })
    }

    /// Instances in the fleet, present or not (an autoscaler's room
    /// included).
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// Scaling decisions so far.
    pub fn scaling_log(&self) -> &[ScalingEvent] {
        self.scaling.auto.as_ref().map_or(&[], |s| &s.log)
    }

    /// Schedules the run's first events, once.
    pub(super) fn begin(&mut self) -> Result<(), SimError> {
        if self.started {
            // A trace that could not be opened stays the run's error.
            return self.trace_failed();
        }
        self.started = true;
        let end = self.model.run.duration;
        for i in 0..self.instances.len() {
            self.loads[i] = self.load_now(i);
        }
        if self.model.run.warmup > Nanos::ZERO {
            self.events.push(self.model.run.warmup, Event::WarmupEnd);
        }
        if let Some(t) = self.next_arrival(Nanos::ZERO) {
            self.events
                .push_side(t, Event::Workload(super::workload::WorkloadEvent::Arrival));
        }
        if let Err(e) = self.open_trace() {
            if let SimError::Trace(msg) = &e {
                self.workload.trace_error = Some(msg.clone());
            }
            return Err(e);
        }
        self.schedule_sessions();
        self.schedule_view_refresh();
        self.schedule_faults();
        self.schedule_scaling();
        let first_row = self.model.run.series_interval.min(end);
        self.series.first_row_at(first_row);
        self.events
            .push(first_row, Event::Series(super::series::SeriesEvent::Tick));
        Ok(())
    }

    /// A trace row that could not be read mid-run ends the run.
    pub(super) fn trace_failed(&mut self) -> Result<(), SimError> {
        // Kept, not taken: every later step or finish reports it too.
        match &self.workload.trace_error {
            Some(e) => Err(SimError::Trace(e.clone())),
            None => Ok(()),
        }
    }

    /// Handles the next event, if one is due by the horizon, and returns
    /// its time; `None` once nothing is left to do before the horizon.
    pub fn step(&mut self) -> Result<Option<Nanos>, SimError> {
        self.begin()?;
        let handled = self.advance(self.model.run.duration, 1, None)?;
        self.trace_failed()?;
        Ok((handled == 1).then_some(self.now))
    }

    /// Handles every event due at or before `t` (or the horizon, if
    /// earlier), then sets the clock to that time.
    pub fn run_until(&mut self, t: Nanos) -> Result<(), SimError> {
        self.begin()?;
        self.advance(t, u64::MAX, None)?;
        self.trace_failed()?;
        self.now = self.now.max(t.min(self.model.run.duration));
        Ok(())
    }

    /// Runs what is left up to the horizon and returns what was measured.
    pub fn finish(self) -> Result<RunResult, SimError> {
        self.run()
    }
}

#[cfg(test)]
mod tests {
    use super::Cause;

    /// An observer hears an outcome by the name its count has in the
    /// results' `reasons` (or `completed`): the two lists cannot drift.
    #[test]
    fn each_cause_is_named_as_its_count_in_the_results() {
        let reasons = serde_json::to_value(crate::metrics::Reasons::default()).unwrap();
        let names: Vec<&str> = reasons
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let causes = [
            Cause::RateLimited,
            Cause::OverConnectionLimit,
            Cause::CircuitOpen,
            Cause::NoHealthyInstance,
            Cause::RequestTimeout,
            Cause::ConnectionTimeout,
            Cause::LlmError,
            Cause::LlmRateLimited,
            Cause::InstanceDown,
        ];
        let mut keys: Vec<&str> = causes.iter().map(|c| c.key()).collect();
        keys.sort_unstable();
        let mut want = names.clone();
        want.sort_unstable();
        assert_eq!(keys, want, "every reason once, by its results name");
        assert_eq!(Cause::Completed.key(), "completed");
        // A new cause must be added above: this match stops compiling.
        for c in causes {
            match c {
                Cause::Completed
                | Cause::RateLimited
                | Cause::OverConnectionLimit
                | Cause::CircuitOpen
                | Cause::NoHealthyInstance
                | Cause::RequestTimeout
                | Cause::ConnectionTimeout
                | Cause::LlmError
                | Cause::LlmRateLimited
                | Cause::InstanceDown => {}
            }
        }
    }
}

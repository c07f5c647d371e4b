//! The outcome hook: a request's end, announced once.
//!
//! A request ends exactly once — completed, rejected (at the entry by a
//! rate limit, or by the fleet), timed out or failed — and every component
//! that counts outcomes hears of it from [`Engine::announce`], in one fixed
//! order: the series, the autoscalers' response-time metric, the latency
//! histogram and breakdown, tenants, classes, the outcome counts and their
//! reasons, and last the user's session (whose next turn is scheduled from
//! it). A new component that counts outcomes subscribes here and nowhere
//! else.

use super::llm::Parts;
use super::requests::Cause;
use super::step::Observer;
use super::Engine;
use crate::metrics::{Counts, LatencyRecorder, Reasons};
use strategies::Nanos;

/// The books every outcome is counted in: counts by kind and reason, and
/// the latency histogram of completed requests.
#[derive(Default)]
pub(super) struct Outcomes {
    pub(super) counts: Counts,
    pub(super) reasons: Reasons,
    pub(super) latency: LatencyRecorder,
}

/// What the outcome hook announces.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outcome {
    pub(super) cause: Cause,
    /// The request's slab record, or [`NO_RECORD`] for a request refused
    /// at the entry (it never had one).
    pub(super) req: u32,
    pub(super) user: u32,
    pub(super) class: u8,
    /// Whether it arrived after the warm-up.
    pub(super) measured: bool,
    /// A turn of a closed-loop session.
    pub(super) from_session: bool,
    /// The instance that answered (meaningful when completed).
    pub(super) instance: u32,
    /// End-to-end latency, the client's round trip included, when
    /// completed; zero otherwise.
    pub(super) latency: Nanos,
    /// The client's round trip, when completed.
    pub(super) rtt: Nanos,
}

/// [`Outcome::req`] of a request refused at the entry.
pub(super) const NO_RECORD: u32 = u32::MAX;

impl Outcome {
    fn completed(&self) -> bool {
        self.cause == Cause::Completed
    }
}

/// Counts a measured outcome under its total and its reason.
#[inline(always)]
fn count(c: &mut Counts, why: &mut Reasons, cause: Cause) {
    let (total, reason) = match cause {
        Cause::Completed => (&mut c.completed, None),
        Cause::RateLimited => (&mut c.rejected, Some(&mut why.rate_limited)),
        Cause::OverConnectionLimit => (&mut c.rejected, Some(&mut why.over_connection_limit)),
        Cause::CircuitOpen => (&mut c.rejected, Some(&mut why.circuit_open)),
        Cause::NoHealthyInstance => (&mut c.rejected, Some(&mut why.no_healthy_instance)),
        Cause::RequestTimeout => (&mut c.timed_out, Some(&mut why.request_timeout)),
        Cause::ConnectionTimeout => (&mut c.timed_out, Some(&mut why.connection_timeout)),
        Cause::LlmError => (&mut c.failed, Some(&mut why.llm_error)),
        Cause::LlmRateLimited => (&mut c.failed, Some(&mut why.llm_rate_limited)),
        Cause::InstanceDown => (&mut c.failed, Some(&mut why.instance_down)),
    };
    *total += 1;
    if let Some(r) = reason {
        *r += 1;
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Tells every component that counts outcomes that a request ended.
    #[inline(always)]
    pub(super) fn announce(&mut self, o: Outcome) {
        self.notify(|| super::Observed::Ended {
            request: (o.req != NO_RECORD).then_some(o.req),
            outcome: o.cause.key(),
            latency: o.latency,
        });
        let completed = o.completed();
        self.series.counts.finished += 1;
        self.series.counts.errors += u64::from(!completed);
        if completed {
            if let Some(s) = &mut self.scaling.auto {
                let region = self.model.network.topology.region_of[o.instance as usize];
                s.completed(region as usize, o.latency);
            }
            self.series.latency.record(o.latency.0);
        }
        if o.measured {
            if completed {
                self.outcomes.latency.record(o.latency.0);
                self.book_breakdown(&o);
            }
            if let Some(t) = &mut self.tenants {
                t.ended(o.user, completed, o.latency.0);
            }
            if let Some(k) = &mut self.classes {
                k.ended(o.class, o.cause, o.latency.0);
            }
            count(
                &mut self.outcomes.counts,
                &mut self.outcomes.reasons,
                o.cause,
            );
        }
        if o.from_session {
            self.session_turn_ended(o.user, o.rtt, completed.then_some(o.latency));
        }
    }

    /// A measured completion's time by part: network, queueing, and its
    /// time in the slot as the request kept it.
    #[inline(always)]
    fn book_breakdown(&mut self, o: &Outcome) {
        let r = &self.requests[o.req as usize];
        let w = self.llm.parts_width;
        let base = o.req as usize * w;
        let slot_at = Nanos(self.llm.parts[base + w - 1]);
        self.llm
            .breakdown
            .add(o.rtt, r.dispatched - r.arrival, slot_at - r.dispatched);
        match self.llm.parts_kept {
            Parts::None => {}
            // Plain workflows write one part: the model's time.
            Parts::One => self
                .llm
                .breakdown
                .add_part(r.model as usize, self.llm.parts[base]),
            Parts::All => self
                .llm
                .breakdown
                .add_parts(&self.llm.parts[base..base + w - 1]),
        }
    }
}

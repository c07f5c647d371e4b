//! Requests: the slab they live in, their own random stream, and how each
//! one ends and is counted.
//!
//! Every request draws its work (CPU time, each LLM call's latency, error
//! and tokens) from a generator seeded by the run's seed, the replication
//! and its arrival number, in a fixed order. So the n-th arrival does the
//! same work in every configuration run on one seed, whenever and wherever
//! it is served (common random numbers).

use super::outcome::Outcome;
use super::step::Observer;
use super::Engine;
use crate::rng::splitmix_seed;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use strategies::Nanos;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Free,
    Queued,
    /// In a slot, in its CPU phase under processor sharing.
    Cpu,
    /// In a slot, past any CPU phase: its LLM calls (and CPU time, when
    /// CPU is a plain delay).
    Llm,
    Backoff,
    /// Waiting at the entry for the fleet to scale up from zero.
    Held,
}

/// Where a call's pending leg is, when providers have state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegState {
    /// Not started, or ended.
    Idle,
    /// Waiting for one of its instance's LLM permits.
    Waiting,
    /// Waiting out a 429's `retry-after`.
    Backoff,
    /// At the provider (holding a permit, if capped).
    InFlight,
}

impl State {
    pub(super) fn in_slot(self) -> bool {
        matches!(self, State::Cpu | State::Llm)
    }
}

/// How a request ended, or why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    Completed,
    OverConnectionLimit,
    CircuitOpen,
    NoHealthyInstance,
    /// Refused at the entry by a rate limit.
    RateLimited,
    RequestTimeout,
    ConnectionTimeout,
    LlmError,
    /// The provider kept answering 429 past `llm.rateLimitRetries`.
    LlmRateLimited,
    InstanceDown,
}

impl Cause {
    /// The failed attempt an upstream failure is, which a retry may fix
    /// (`retries.retryOn` says which); local rejections are final.
    pub(super) fn upstream_failure(self) -> Option<strategies::AttemptOutcome> {
        use strategies::AttemptOutcome as O;
        match self {
            Cause::LlmError | Cause::LlmRateLimited => Some(O::ApplicationError),
            Cause::InstanceDown => Some(O::ConnectFailure),
            Cause::ConnectionTimeout => Some(O::Timeout),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) arrival: Nanos,
    /// Start of the current attempt.
    pub(super) dispatched: Nanos,
    pub(super) instance: u32,
    /// Bumped when the request ends: tells events of an earlier occupant
    /// of the slab entry apart.
    pub(super) gen: u32,
    /// Unique id of the current attempt.
    pub(super) attempt: u32,
    pub(super) attempts: u32,
    pub(super) prev_backoff: Nanos,
    pub(super) user: u32,
    pub(super) client: u32,
    pub(super) state: State,
    pub(super) measured: bool,
    pub(super) retrying: bool,
    /// LLM calls left in the current attempt (per-call mode).
    pub(super) calls_left: u32,
    /// The current attempt fails at the end of its LLM phase (single-event
    /// mode) or at the end of the current call (per-call mode).
    pub(super) fails: bool,
    /// A turn of a closed-loop session: its user asks again when it ends.
    pub(super) from_session: bool,
    /// The balancer replica that sent the current attempt.
    pub(super) replica: u8,
    /// Its request class (index into the model's classes).
    pub(super) class: u8,
    /// The model of the current leg of the current call ([`CACHE`] for a
    /// cache hit).
    ///
    /// [`CACHE`]: super::llm::CACHE
    pub(super) model: u32,
    /// The request's own random stream.
    pub(super) rng: Pcg64Mcg,
}

/// A request's call state beyond its record, for workflows that are not
/// plain (calls as events, caches, fallbacks, providers with state). Kept
/// in a slab beside the requests' so plain runs neither store nor copy it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LegInfo {
    /// The model the current attempt calls (the budget may switch it
    /// between attempts).
    pub(super) attempt_model: u32,
    /// The current call's number in its attempt, from 0.
    pub(super) call_no: u32,
    /// The current leg's input and output tokens, when calls are timed by
    /// tokens.
    pub(super) tokens: (u32, u32),
    /// With provider state: the pending leg, its drawn latency, whether it
    /// is a call's first (the cache may answer it), 429 retries so far, a
    /// leg that is not billed (an outage or a cache hit), and when its wait
    /// began.
    pub(super) leg: LegState,
    pub(super) leg_secs: f64,
    pub(super) first_leg: bool,
    pub(super) retries429: u32,
    pub(super) unbilled: bool,
    /// The call ran out of 429 retries: its attempt fails as rate limited.
    pub(super) rate_limited: bool,
    pub(super) wait_from: Nanos,
    /// When the leg in flight reached its provider (for its breaker).
    pub(super) leg_start: Nanos,
    /// Each call's input and output tokens as a trace row gave them
    /// ([`NO_TOKENS`]: drawn).
    ///
    /// [`NO_TOKENS`]: super::llm::NO_TOKENS
    pub(super) given: (u32, u32),
}

impl LegInfo {
    pub(super) const IDLE: LegInfo = LegInfo {
        attempt_model: 0,
        call_no: 0,
        tokens: (0, 0),
        leg: LegState::Idle,
        leg_secs: 0.0,
        first_leg: false,
        retries429: 0,
        unbilled: false,
        rate_limited: false,
        wait_from: Nanos::ZERO,
        leg_start: Nanos::ZERO,
        given: (super::llm::NO_TOKENS, super::llm::NO_TOKENS),
    };
}

impl<O: Observer> Engine<'_, O> {
    /// The generator of the request arriving `n`-th.
    pub(super) fn request_rng(&self, n: u64) -> Pcg64Mcg {
        Pcg64Mcg::from_seed(splitmix_seed(
            self.workload.request_seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ))
    }

    #[inline(always)]
    pub(super) fn alloc(&mut self, r: Request) -> u32 {
        self.live += 1;
        match self.free.pop() {
            Some(idx) => {
                let slot = &mut self.requests[idx as usize];
                let gen = slot.gen;
                *slot = Request { gen, ..r };
                idx
            }
            None => {
                self.requests.push(r);
                self.llm
                    .parts
                    .resize(self.requests.len() * self.llm.parts_width, 0);
                if self.llm.path != super::llm::CallPath::Plain {
                    self.llm.legs.push(LegInfo::IDLE);
                }
                (self.requests.len() - 1) as u32
            }
        }
    }

    /// Ends a request: frees its record and announces its outcome
    /// ([`Engine::announce`]).
    pub(super) fn finalize(&mut self, req: u32, cause: Cause) {
        let now = self.now;
        let r = &self.requests[req as usize];
        if r.retrying {
            self.active_retries -= 1;
        }
        let mut cause = cause;
        // The client also waits one network round trip, which counts
        // against its timeout.
        // The proxy's time there and back counts the same way (and in the
        // breakdown's network part).
        let no_proxy = self.model.network.proxy_latency.is_none();
        let rtt = if cause != Cause::Completed
            || (self.model.network.topology.rtt.is_empty() && no_proxy)
        {
            Nanos::ZERO
        } else {
            let (client, instance) = (r.client, r.instance);
            let rtt = if self.model.network.topology.rtt.is_empty() {
                Nanos::ZERO
            } else {
                self.round_trip(client, instance)
            };
            let rtt = if no_proxy {
                rtt
            } else {
                rtt + self.proxy_time()
            };
            let r = &self.requests[req as usize];
            if self
                .model
                .resilience
                .request_timeout
                .is_some_and(|limit| now - r.arrival + rtt > limit)
            {
                cause = Cause::RequestTimeout;
            }
            rtt
        };
        let r = &mut self.requests[req as usize];
        let completed = cause == Cause::Completed;
        let outcome = Outcome {
            cause,
            req,
            user: r.user,
            class: r.class,
            measured: r.measured,
            from_session: r.from_session,
            instance: r.instance,
            latency: if completed {
                now - r.arrival + rtt
            } else {
                Nanos::ZERO
            },
            rtt,
        };
        // The record stays readable until the next arrival takes it, so
        // the hook may read it (the breakdown does).
        r.state = State::Free;
        r.gen = r.gen.wrapping_add(1);
        r.retrying = false;
        self.free.push(req);
        self.live -= 1;
        self.announce(outcome);
    }
}

//! Arrivals: the Poisson process and its rate profile, who sends each
//! request and from where, and the entry rate limit.

use super::outcome::{Outcome, NO_RECORD};
use super::requests::{Cause, Request, State};
use super::routing::RoutingEvent;
use super::step::Observer;
use super::{Engine, Event};
use crate::error::SimError;
use crate::rng::{stream, Purpose, StreamRng};
use crate::scenario::Model;
use crate::trace::TraceReader;
use rand::Rng;
use rand::RngCore;
use rand_distr::{Distribution, Exp1};
use strategies::Nanos;

/// The workload component's state: where the arrival process is, its
/// random streams, and the replayed trace.
pub(super) struct Workload {
    /// The rate profile's current step.
    pub(super) step: usize,
    pub(super) arrivals_rng: StreamRng,
    pub(super) users_rng: StreamRng,
    pub(super) clients_rng: StreamRng,
    /// The seed each request's own stream derives from.
    pub(super) request_seed: u64,
    pub(super) arrivals_seen: u64,
    /// The rate varies within steps: arrivals are drawn by thinning.
    pub(super) thinning: bool,
    /// The replayed trace, read one row ahead.
    pub(super) trace: Option<(TraceReader, crate::trace::TraceRow)>,
    /// A trace row that could not be read mid-run (the file changed since
    /// it was checked): the run ends with it.
    pub(super) trace_error: Option<String>,
    /// The trace gives each request's own service time (its
    /// `service_time` column): kept per slab record in `given_service`.
    pub(super) service_given: bool,
    /// The service time of the trace row being admitted.
    pub(super) next_service: Option<Nanos>,
    /// Each slab record's given service time ([`NO_SERVICE`]: drawn);
    /// grows with the slab, never per request, and only with the column.
    pub(super) given_service: Vec<u64>,
}

/// A request whose service time is drawn, not given by a trace row.
pub(super) const NO_SERVICE: u64 = u64::MAX;

impl Workload {
    pub(super) fn new(model: &Model, replication: u32) -> Workload {
        let seed = model.run.seed;
        Workload {
            step: 0,
            arrivals_rng: stream(seed, replication, Purpose::Arrivals),
            users_rng: stream(seed, replication, Purpose::Users),
            clients_rng: stream(seed, replication, Purpose::Clients),
            request_seed: stream(seed, replication, Purpose::Requests).next_u64(),
            arrivals_seen: 0,
            thinning: model.rate_varies(),
            trace: None,
            trace_error: None,
            service_given: model
                .workload
                .trace
                .as_ref()
                .is_some_and(|t| t.service_time),
            next_service: None,
            given_service: Vec::new(),
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// The first arrival after `from`, following the piecewise-constant
    /// rate profile (exact: a draw that overshoots a step restarts at the
    /// step, which memorylessness allows), or `None` past the horizon.
    #[inline]
    pub(super) fn next_arrival(&mut self, from: Nanos) -> Option<Nanos> {
        if self.workload.thinning {
            return self.next_arrival_thinned(from);
        }
        let profile = &self.model.workload.rate_profile;
        let end = self.model.run.duration;
        let mut t = from;
        loop {
            let seg_end = profile.get(self.workload.step + 1).map_or(end, |s| s.at);
            let rate = profile[self.workload.step].rate_per_second;
            if rate > 0.0 {
                let e: f64 = Exp1.sample(&mut self.workload.arrivals_rng);
                let at = t + Nanos::from_secs_f64(e / rate);
                if at < seg_end {
                    return Some(at);
                }
            }
            if self.workload.step + 1 >= profile.len() {
                return None;
            }
            t = seg_end;
            self.workload.step += 1;
        }
    }

    /// The first arrival after `from` when the rate varies within a step
    /// (ramps, a diurnal swing, bursts): candidates of a Poisson process at
    /// the piece's bound, each kept with probability rate / bound (exact
    /// thinning). A candidate past the piece restarts at its end, which
    /// memorylessness allows.
    #[inline(never)]
    fn next_arrival_thinned(&mut self, from: Nanos) -> Option<Nanos> {
        let model = self.model;
        let end = model.run.duration;
        let mut t = from;
        while t < end {
            let steps = &model.workload.rate_profile;
            while self.workload.step + 1 < steps.len() && steps[self.workload.step + 1].at <= t {
                self.workload.step += 1;
            }
            let (piece_end, bound) = model.rate_bound(self.workload.step, t);
            let piece_end = piece_end.min(end);
            if bound > 0.0 {
                let e: f64 = Exp1.sample(&mut self.workload.arrivals_rng);
                let at = t + Nanos::from_secs_f64(e / bound);
                if at < piece_end {
                    t = at;
                    let u: f64 = self.workload.arrivals_rng.random();
                    if u * bound < model.rate_in_step(self.workload.step, t) {
                        return Some(t);
                    }
                    continue;
                }
            }
            t = piece_end;
        }
        None
    }

    pub(super) fn on_arrival(&mut self) {
        self.compact();
        let now = self.now;
        if let Some(t) = self.next_arrival(now) {
            self.events
                .push_side(t, Event::Workload(WorkloadEvent::Arrival));
        }
        let user = self.draw_user();
        self.admit(user, false, DRAW, DRAWN_TOKENS);
    }

    /// Who sends an open arrival: uniform over users, Zipf-skewed, or by
    /// tenant with a noisy tenant weighing `multiplier` times the others.
    #[inline(always)]
    fn draw_user(&mut self) -> u32 {
        let Some(u) = &self.model.workload.users else {
            return 0;
        };
        let rng = &mut self.workload.users_rng;
        if let Some(z) = &u.zipf {
            return (z.sample(rng) as u32).clamp(1, u.count) - 1;
        }
        match u.noisy {
            None => rng.random_range(0..u.count),
            Some((noisy, mult)) => {
                let x: f64 = rng.random::<f64>() * (mult + f64::from(u.tenants - 1));
                let tenant = if x < mult {
                    noisy
                } else {
                    let k = ((x - mult) as u32).min(u.tenants - 2);
                    if k >= noisy {
                        k + 1
                    } else {
                        k
                    }
                };
                tenant + u.tenants * rng.random_range(0..u.users_in(tenant))
            }
        }
    }

    /// A request from `user` arrives at the entry (an open arrival, or a
    /// session's turn): counted, placed, checked by the rate limit, and
    /// dispatched.
    #[inline(always)]
    pub(super) fn admit(&mut self, user: u32, from_session: bool, class: u8, given: (u32, u32)) {
        let now = self.now;
        let n = self.workload.arrivals_seen;
        self.workload.arrivals_seen += 1;
        self.series.count_arrival(now);
        let measured = now >= self.model.run.warmup;
        self.outcomes.counts.arrivals += u64::from(measured);
        let class = match &mut self.classes {
            None => 0,
            Some(k) => {
                let class = if class == DRAW { k.draw() } else { class };
                if measured {
                    k.arrived(class);
                }
                class
            }
        };
        if measured {
            if let Some(t) = &mut self.tenants {
                t.arrived(user);
            }
        }
        let regions = &self.model.network.client_regions;
        let client = if regions.len() > 1 {
            let u: f64 = self.workload.clients_rng.random();
            regions
                .iter()
                .position(|(_, acc)| u < *acc)
                .unwrap_or(regions.len() - 1) as u32
        } else {
            0
        };
        if !self.routing.limits.is_empty() {
            if let Err(limit) = self.routing.limits.admit(now, user, class) {
                self.notify(|| super::Observed::Arrived {
                    request: None,
                    user,
                    class,
                    measured,
                });
                self.rate_limited(user, from_session, class, limit, measured);
                return;
            }
        }
        let rng = self.request_rng(n);
        let req = self.alloc(Request {
            arrival: now,
            dispatched: now,
            instance: 0,
            gen: 0,
            attempt: 0,
            attempts: 1,
            prev_backoff: Nanos::ZERO,
            user,
            client,
            state: State::Queued,
            measured,
            retrying: false,
            calls_left: 0,
            fails: false,
            from_session,
            replica: 0,
            class,
            model: 0,
            rng,
        });
        if self.llm.path != super::llm::CallPath::Plain {
            self.llm.legs[req as usize].given = given;
        }
        if self.workload.service_given {
            self.keep_given_service(req);
        }
        self.notify(|| super::Observed::Arrived {
            request: Some(req),
            user,
            class,
            measured,
        });
        if let Some(timeout) = self.model.resilience.request_timeout {
            let gen = self.requests[req as usize].gen;
            self.events.push(
                now + timeout,
                Event::Routing(RoutingEvent::Timeout { req, gen }),
            );
        }
        self.dispatch(req);
    }

    /// A request refused at the entry by rate limit `limit`.
    #[inline(never)]
    fn rate_limited(
        &mut self,
        user: u32,
        from_session: bool,
        class: u8,
        limit: usize,
        measured: bool,
    ) {
        self.routing.limits.rejected[limit] += u64::from(measured);
        self.announce(Outcome {
            cause: Cause::RateLimited,
            req: NO_RECORD,
            user,
            class,
            measured,
            from_session,
            instance: 0,
            latency: Nanos::ZERO,
            rtt: Nanos::ZERO,
        });
    }
}

/// Passed to [`Engine::admit`] for a request whose class is drawn by share.
pub(super) const DRAW: u8 = u8::MAX;

/// Passed to [`Engine::admit`] for a request whose tokens are drawn.
pub(super) const DRAWN_TOKENS: (u32, u32) = (super::llm::NO_TOKENS, super::llm::NO_TOKENS);

/// A stable IPv4 address for user `u`, spread over many /24 networks (a
/// 32-bit mix of the id, so nearby ids land in unrelated networks).
pub(super) fn user_ip(u: u32) -> [u8; 4] {
    let mut z = u64::from(u).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) as u32).to_be_bytes()
}

impl<O: Observer> Engine<'_, O> {
    /// Opens the trace and schedules its first arrival.
    pub(super) fn open_trace(&mut self) -> Result<(), SimError> {
        let Some(t) = &self.model.workload.trace else {
            return Ok(());
        };
        // A workload without classes is one unnamed class.
        let classes: Vec<String> = (self.model.workload.classes.iter())
            .filter(|k| !k.name.is_empty())
            .map(|k| k.name.clone())
            .collect();
        // A file that changed since it was checked is not replayed: its
        // rows, users and tokens are what the check counted.
        let stamp = crate::trace::FileStamp::of(&t.path).map_err(SimError::Trace)?;
        if stamp != t.stamp {
            return Err(SimError::Trace(format!(
                "{}: changed since the scenario was checked (its size or modification time \
                 differ): check it again",
                t.path.display()
            )));
        }
        if t.service_time && self.llm.path.per_leg() {
            return Err(SimError::Trace(format!(
                "{}: a `service_time` column replaces the service of a request served in one \
                 step, but this scenario's LLM calls are events of their own (token prices or \
                 provider state: quotas, saturation, outages, per-instance caps, breakers per \
                 model); remove the column or those settings",
                t.path.display()
            )));
        }
        let users = crate::trace::UserIds::Known(t.user_names.clone());
        let mut reader =
            TraceReader::open(&t.path, &classes, &t.spec, users).map_err(SimError::Trace)?;
        if let Some(row) = reader.next_row().map_err(SimError::Trace)? {
            if row.at < self.model.run.duration {
                self.events
                    .push(row.at, Event::Workload(WorkloadEvent::TraceArrival));
                self.workload.trace = Some((reader, row));
            }
        }
        Ok(())
    }

    /// The trace's next request arrives: from its user, from a user of its
    /// tenant, or from a user drawn as for open arrivals.
    pub(super) fn on_trace_arrival(&mut self) {
        self.compact();
        let Some((reader, row)) = &mut self.workload.trace else {
            return;
        };
        let row = *row;
        let next = reader.next_row();
        // The file is read again as the run goes: a row that would not have
        // passed the check stops the run rather than misbook a request.
        let users = self
            .model
            .workload
            .users
            .as_ref()
            .map(|u| (u.count, u.tenants));
        if let Err(msg) = row.check_users(users) {
            let path = self
                .model
                .workload
                .trace
                .as_ref()
                .map(|t| t.path.display().to_string());
            self.workload.trace = None;
            self.workload.trace_error = Some(format!(
                "{}: changed since the scenario was checked: {msg}",
                path.unwrap_or_default()
            ));
            return;
        }
        let user = match (row.user, row.tenant, &self.model.workload.users) {
            (Some(u), _, _) => u,
            (None, Some(k), Some(m)) => {
                k + m.tenants * self.workload.users_rng.random_range(0..m.users_in(k))
            }
            _ => self.draw_user(),
        };
        match next {
            Ok(Some(next)) if next.at < self.model.run.duration => {
                self.events
                    .push(next.at, Event::Workload(WorkloadEvent::TraceArrival));
                if let Some((_, slot)) = &mut self.workload.trace {
                    *slot = next;
                }
            }
            Ok(_) => self.workload.trace = None,
            Err(e) => {
                self.workload.trace = None;
                self.workload.trace_error = Some(e);
            }
        }
        let class = row.class.unwrap_or(DRAW);
        let tokens = (
            row.input_tokens.unwrap_or(super::llm::NO_TOKENS),
            row.output_tokens.unwrap_or(super::llm::NO_TOKENS),
        );
        self.workload.next_service = row.service_time;
        self.admit(user, false, class, tokens);
    }

    /// Keeps the service time of the row being admitted for slab record
    /// `req` (with a `service_time` column only).
    #[inline(never)]
    pub(super) fn keep_given_service(&mut self, req: u32) {
        let w = &mut self.workload;
        let at = req as usize;
        if w.given_service.len() <= at {
            w.given_service
                .resize(self.requests.len().max(at + 1), NO_SERVICE);
        }
        w.given_service[at] = w.next_service.take().map_or(NO_SERVICE, |n| n.0);
    }

    /// The service time a trace row gave request `req`, if any.
    #[inline(always)]
    pub(super) fn given_service(&self, req: u32) -> Option<Nanos> {
        if !self.workload.service_given {
            return None;
        }
        match self.workload.given_service.get(req as usize) {
            Some(&n) if n != NO_SERVICE => Some(Nanos(n)),
            _ => None,
        }
    }
}

/// The workload's events: where requests come from.
#[derive(Debug, Clone, Copy)]
pub(super) enum WorkloadEvent {
    /// The next open arrival.
    Arrival,
    /// The replayed trace's next row.
    TraceArrival,
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a workload event.
    #[inline(always)]
    pub(super) fn handle_workload(&mut self, ev: WorkloadEvent) {
        match ev {
            WorkloadEvent::Arrival => self.on_arrival(),
            WorkloadEvent::TraceArrival => self.on_trace_arrival(),
        }
    }
}

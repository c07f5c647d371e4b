//! Closed-loop sessions: a fixed population of users, each sending a
//! request, waiting for how it ends (an answer or an error), thinking, and
//! sending the next. A slow fleet slows its own arrivals.
//!
//! State is one entry per user (turns left in its session, and its
//! session's request class), so memory is bounded by the population, not
//! by time. Think times come from a stream of their own, so sessions never
//! shift other draws. With request classes, each session draws its class
//! by share when it starts, and the class's session behaviour (think time,
//! turns, time between sessions) applies to it.

use super::step::Observer;
use super::{Engine, Event};
use crate::metrics::LatencyRecorder;
use crate::rng::StreamRng;
use crate::scenario::{Model, SessionModel};
use crate::session_results::SessionResults;
use strategies::Nanos;

pub(super) struct Sessions {
    /// Turns left in each user's session (unused without `turns`).
    turns_left: Vec<u32>,
    /// The class of each user's session (empty with one class).
    class_of: Vec<u8>,
    rng: StreamRng,
    /// Each user's session in progress, if it has one.
    current: Vec<Current>,
    /// What the measured sessions did.
    book: Book,
}

/// A user's session in progress.
#[derive(Debug, Clone, Copy, Default)]
struct Current {
    /// When its first turn was sent; `None` between sessions.
    started: Option<Nanos>,
    /// Turns sent so far.
    turns: u32,
    /// Turns that did not complete.
    failed: u32,
}

/// The measured sessions' books ([`SessionResults`]).
#[derive(Default)]
struct Book {
    started: u64,
    completed: u64,
    abandoned: u64,
    turns: u64,
    failed_turns: u64,
    duration: LatencyRecorder,
    turn_latency: LatencyRecorder,
    /// Ended sessions by turns sent.
    turns_histogram: Vec<u64>,
}

impl Sessions {
    pub(super) fn new(model: &Model, rng: StreamRng) -> Option<Sessions> {
        let users = model.workload.users.as_ref()?;
        model.workload.sessions.as_ref()?;
        let classes = model.workload.classes.len();
        Some(Sessions {
            turns_left: vec![0; users.count as usize],
            class_of: vec![0; if classes > 1 { users.count as usize } else { 0 }],
            rng,
            current: vec![Current::default(); users.count as usize],
            book: Book::default(),
        })
    }

    /// User `u` sends a turn at `now`: the first one starts its session.
    fn turn_sent(&mut self, u: u32, now: Nanos, warmup: Nanos) {
        let c = &mut self.current[u as usize];
        if c.started.is_none() {
            *c = Current {
                started: Some(now),
                ..Current::default()
            };
            self.book.started += u64::from(now >= warmup);
        }
        c.turns += 1;
    }

    /// User `u`'s turn ended (`latency` if it completed) and its answer
    /// reaches the user at `seen`. Returns whether the user abandons its
    /// session now (its remaining turns are dropped by the caller).
    fn turn_ended(&mut self, model: &Model, u: u32, latency: Option<Nanos>, seen: Nanos) -> bool {
        let (_, spec) = self.spec(model, u);
        let (finite, abandon_after) = (spec.turns.is_some(), spec.abandon_after);
        let left = self.turns_left[u as usize];
        let c = &mut self.current[u as usize];
        let Some(started) = c.started else {
            return false;
        };
        let measured = started >= model.run.warmup;
        c.failed += u32::from(latency.is_none());
        let abandons = finite && left > 0 && abandon_after.is_some_and(|n| c.failed >= n);
        let ends = finite && (left == 0 || abandons);
        let turns = c.turns;
        if ends {
            self.current[u as usize].started = None;
        }
        if !measured {
            return abandons;
        }
        let b = &mut self.book;
        b.turns += 1;
        match latency {
            Some(l) => b.turn_latency.record(l.0),
            None => b.failed_turns += 1,
        }
        if ends {
            b.duration.record((seen - started).0);
            if abandons {
                b.abandoned += 1;
            } else {
                b.completed += 1;
            }
            let t = turns as usize;
            if b.turns_histogram.len() <= t {
                b.turns_histogram.resize(t + 1, 0);
            }
            b.turns_histogram[t] += 1;
        }
        abandons
    }

    /// What the measured sessions did, as of now.
    pub(super) fn result(&self, model: &Model) -> SessionResults {
        let b = &self.book;
        let in_progress = self
            .current
            .iter()
            .filter(|c| c.started.is_some_and(|t| t >= model.run.warmup))
            .count() as u64;
        SessionResults::new(
            [
                b.started,
                b.completed,
                b.abandoned,
                in_progress,
                b.turns,
                b.failed_turns,
            ],
            b.duration.clone(),
            b.turn_latency.clone(),
            b.turns_histogram.clone(),
        )
    }

    /// User `u`'s session class, and its session behaviour.
    fn spec<'m>(&self, model: &'m Model, u: u32) -> (u8, &'m SessionModel) {
        let k = self.class_of.get(u as usize).copied().unwrap_or(0);
        let spec = model.workload.classes[k as usize].sessions.as_ref();
        (
            k,
            spec.or(model.workload.sessions.as_ref())
                .expect("sessions are built with a model"),
        )
    }

    /// The wait before user `u`'s next request: a think time, or the time
    /// between sessions before a session's first turn (when its class is
    /// drawn, by share, with `draw`). A noisy tenant's users think
    /// `multiplier` times faster.
    fn gap(&mut self, model: &Model, u: u32, draw: &mut dyn FnMut() -> u8) -> Nanos {
        let (_, s) = self.spec(model, u);
        let new_session = match &s.turns {
            Some(_) => self.turns_left[u as usize] == 0,
            None => false,
        };
        if new_session && !self.class_of.is_empty() {
            self.class_of[u as usize] = draw();
        }
        let (_, s) = self.spec(model, u);
        if let (true, Some(turns)) = (new_session, &s.turns) {
            self.turns_left[u as usize] = (turns.sample_value(&mut self.rng).round() as u32).max(1);
        }
        if s.turns.is_some() {
            self.turns_left[u as usize] -= 1;
        }
        let d = match (&s.between, new_session) {
            (Some(b), true) => b,
            _ => &s.think,
        };
        scaled(model, u, d.sample_secs(&mut self.rng))
    }
}

fn scaled(model: &Model, u: u32, secs: f64) -> Nanos {
    match model
        .workload
        .users
        .as_ref()
        .and_then(|m| Some((m.tenants, m.noisy?)))
    {
        Some((tenants, (tenant, mult))) if u % tenants == tenant => {
            Nanos::from_secs_f64(secs / mult)
        }
        _ => Nanos::from_secs_f64(secs),
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Every user starts its loop with a first gap (and, with classes and
    /// endless sessions, its one class).
    pub(super) fn schedule_sessions(&mut self) {
        let Some(s) = &mut self.sessions else {
            return;
        };
        let model = self.model;
        let count = model.workload.users.as_ref().map_or(0, |u| u.count);
        let mut draw = || self.classes.as_mut().map_or(0, |k| k.draw());
        for u in 0..count {
            if !s.class_of.is_empty()
                && model
                    .workload
                    .sessions
                    .as_ref()
                    .is_some_and(|w| w.turns.is_none())
            {
                s.class_of[u as usize] = draw();
            }
            let at = s.gap(model, u, &mut draw);
            self.events
                .push(at, Event::Session(SessionEvent::Think { user: u }));
        }
    }

    /// User `u`'s request ended (or was refused at the entry), and the
    /// answer reaches the user `rtt` later: it thinks and asks again.
    pub(super) fn session_turn_ended(&mut self, u: u32, rtt: Nanos, latency: Option<Nanos>) {
        let Some(s) = &mut self.sessions else {
            return;
        };
        if s.turn_ended(self.model, u, latency, self.now + rtt) {
            // The user gives up: the session's remaining turns are dropped
            // and the next gap is the time between sessions.
            s.turns_left[u as usize] = 0;
        }
        let mut draw = || self.classes.as_mut().map_or(0, |k| k.draw());
        let at = self.now + rtt + s.gap(self.model, u, &mut draw);
        if at < self.model.run.duration {
            self.events
                .push(at, Event::Session(SessionEvent::Think { user: u }));
        }
    }

    pub(super) fn on_think(&mut self, u: u32) {
        self.compact();
        if let Some(s) = &mut self.sessions {
            s.turn_sent(u, self.now, self.model.run.warmup);
        }
        let class = match &self.sessions {
            Some(s) if !s.class_of.is_empty() => s.class_of[u as usize],
            _ => super::workload::DRAW,
        };
        self.admit(u, true, class, super::workload::DRAWN_TOKENS);
    }
}

/// Closed-loop sessions' events.
#[derive(Debug, Clone, Copy)]
pub(super) enum SessionEvent {
    /// A user's think time is over: it sends its next request.
    Think { user: u32 },
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a session event.
    pub(super) fn handle_session(&mut self, ev: SessionEvent) {
        match ev {
            SessionEvent::Think { user } => self.on_think(user),
        }
    }
}

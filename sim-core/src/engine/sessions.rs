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
use crate::rng::StreamRng;
use crate::scenario::{Model, SessionModel};
use strategies::Nanos;

pub(super) struct Sessions {
    /// Turns left in each user's session (unused without `turns`).
    turns_left: Vec<u32>,
    /// The class of each user's session (empty with one class).
    class_of: Vec<u8>,
    rng: StreamRng,
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
        })
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
    pub(super) fn session_turn_ended(&mut self, u: u32, rtt: Nanos) {
        let Some(s) = &mut self.sessions else {
            return;
        };
        let mut draw = || self.classes.as_mut().map_or(0, |k| k.draw());
        let at = self.now + rtt + s.gap(self.model, u, &mut draw);
        if at < self.model.run.duration {
            self.events
                .push(at, Event::Session(SessionEvent::Think { user: u }));
        }
    }

    pub(super) fn on_think(&mut self, u: u32) {
        self.compact();
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

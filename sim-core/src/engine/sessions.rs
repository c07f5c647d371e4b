//! Closed-loop sessions: a fixed population of users, each sending a
//! request, waiting for how it ends (an answer or an error), thinking, and
//! sending the next. A slow fleet slows its own arrivals.
//!
//! State is one entry per user (turns left in its session), so memory is
//! bounded by the population, not by time. Think times come from a stream
//! of their own, so sessions never shift other draws.

use super::{Engine, Event};
use crate::rng::StreamRng;
use crate::scenario::{Model, SessionModel};
use strategies::Nanos;

pub(super) struct Sessions {
    /// Turns left in each user's session (unused without `turns`).
    turns_left: Vec<u32>,
    rng: StreamRng,
}

impl Sessions {
    pub(super) fn new(model: &Model, rng: StreamRng) -> Option<Sessions> {
        let users = model.users.as_ref()?;
        model.sessions.as_ref()?;
        Some(Sessions {
            turns_left: vec![0; users.count as usize],
            rng,
        })
    }

    /// The wait before user `u`'s next request: a think time, or the time
    /// between sessions before a session's first turn. A noisy tenant's
    /// users think `multiplier` times faster.
    fn gap(&mut self, model: &Model, s: &SessionModel, u: u32) -> Nanos {
        let new_session = match &s.turns {
            Some(turns) => {
                let left = &mut self.turns_left[u as usize];
                let new = *left == 0;
                if new {
                    *left = (turns.sample_value(&mut self.rng).round() as u32).max(1);
                }
                *left -= 1;
                new
            }
            None => false,
        };
        let d = match (&s.between, new_session) {
            (Some(b), true) => b,
            _ => &s.think,
        };
        scaled(model, u, d.sample_secs(&mut self.rng))
    }
}

fn scaled(model: &Model, u: u32, secs: f64) -> Nanos {
    match model
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

impl Engine<'_> {
    /// Every user starts its loop with a first gap.
    pub(super) fn schedule_sessions(&mut self) {
        let (Some(s), Some(spec)) = (&mut self.sessions, &self.model.sessions) else {
            return;
        };
        let count = self.model.users.as_ref().map_or(0, |u| u.count);
        for u in 0..count {
            let at = s.gap(self.model, spec, u);
            self.events.push(at, Event::Think { user: u });
        }
    }

    /// User `u`'s request ended (or was refused at the entry), and the
    /// answer reaches the user `rtt` later: it thinks and asks again.
    pub(super) fn session_turn_ended(&mut self, u: u32, rtt: Nanos) {
        let (Some(s), Some(spec)) = (&mut self.sessions, &self.model.sessions) else {
            return;
        };
        let at = self.now + rtt + s.gap(self.model, spec, u);
        if at < self.model.duration {
            self.events.push(at, Event::Think { user: u });
        }
    }

    pub(super) fn on_think(&mut self, u: u32) {
        self.compact();
        self.admit(u, true);
    }
}

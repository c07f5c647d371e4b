//! `workload.classes`: kinds of request, each a share of the traffic with
//! its own workflow and session behaviour. A workload without classes is
//! one unnamed class of the workload's `request`.

use super::users::compile_turns;
use super::{Checker, ClassModel, SessionModel, Shape, TraceModel};
use crate::scenario::{RequestShape, Scenario};

/// Most classes a workload may have (a request keeps its class in a byte).
const MAX_CLASSES: usize = 255;

impl Scenario {
    /// The classes, with their shares summing to 1. `None` when a class's
    /// request does not compile (its problems are recorded).
    pub(super) fn compile_classes(
        &self,
        c: &mut Checker,
        sessions: Option<&SessionModel>,
        trace: Option<&TraceModel>,
    ) -> Option<Vec<ClassModel>> {
        let w = &self.workload;
        if w.classes.is_empty() {
            let shape = self.compile_request(c, "workload.request", &w.request)?;
            return Some(vec![ClassModel {
                name: String::new(),
                share: 1.0,
                shape,
                sessions: sessions.cloned(),
                route: None,
            }]);
        }
        if w.classes.len() > MAX_CLASSES {
            c.fail(
                "workload.classes",
                format!("at most {MAX_CLASSES} classes, found {}", w.classes.len()),
            );
            return None;
        }
        let inherits = w.classes.values().any(|k| k.request.is_none());
        if !inherits && w.request != RequestShape::default() {
            c.fail(
                "workload.request",
                "every class of workload.classes gives its own request, so this one applies \
                 to none: leave it out, or leave a class's request out to use it",
            );
        }
        let shared = if inherits {
            self.compile_request(c, "workload.request", &w.request)
        } else {
            None
        };
        let mut complete = true;
        // Without a share for every class, the trace's rows give them: each
        // class's share of the rows (nothing draws a class then).
        let traced: Option<Vec<f64>> = match w.classes.iter().find(|(_, k)| k.share.is_none()) {
            None => None,
            Some((name, _)) => {
                let path = format!("workload.classes.{name}.share");
                let draws = if w.arrivals.is_some() {
                    Some(
                        "open arrivals (workload.arrivals) draw each request's class by share"
                            .to_string(),
                    )
                } else if w.sessions.is_some() {
                    Some(
                        "each new session (workload.sessions) draws its class by share".to_string(),
                    )
                } else {
                    match (trace, &w.trace) {
                        (Some(t), _) => t.classless_line.map(|line| {
                            format!(
                                "trace rows without a class draw theirs by share, and {} line {line} names none",
                                t.path.display()
                            )
                        }),
                        // A trace that could not be read has said so.
                        (None, Some(_)) => {
                            complete = false;
                            None
                        }
                        (None, None) => Some("requests draw their class by share".to_string()),
                    }
                };
                match (draws, trace) {
                    (Some(why), _) => {
                        c.fail(path, format!("required: {why}; give every class a share"));
                        complete = false;
                        None
                    }
                    (None, Some(t)) => Some(
                        t.tally[..w.classes.len()]
                            .iter()
                            .map(|n| n.rows as f64 / t.rows.max(1) as f64)
                            .collect(),
                    ),
                    (None, None) => None,
                }
            }
        };
        let total: f64 = w.classes.values().filter_map(|k| k.share).sum();
        let mut classes = Vec::with_capacity(w.classes.len());
        for (i, (name, k)) in w.classes.iter().enumerate() {
            let path = format!("workload.classes.{name}");
            if name.trim().is_empty() {
                c.fail(
                    "workload.classes",
                    "a class needs a name: results, routes and trace rows name it",
                );
                complete = false;
            }
            if let Some(share) = k.share.filter(|s| !(s.is_finite() && *s > 0.0)) {
                c.fail(
                    format!("{path}.share"),
                    format!("must be above 0 (shares are relative), found {share}"),
                );
                complete = false;
            }
            let share = match &traced {
                Some(t) => t[i],
                None => k.share.unwrap_or(0.0) / total,
            };
            let shape: Option<Shape> = match &k.request {
                Some(r) => self.compile_request(c, &format!("{path}.request"), r),
                None => shared.clone(),
            };
            let sessions = self.class_sessions(c, &path, k, sessions);
            match shape {
                Some(shape) => classes.push(ClassModel {
                    name: name.clone(),
                    share,
                    shape,
                    sessions,
                    route: None,
                }),
                None => complete = false,
            }
        }
        complete.then_some(classes)
    }

    /// A class's sessions: the workload's, with the fields the class
    /// names replaced.
    fn class_sessions(
        &self,
        c: &mut Checker,
        path: &str,
        k: &crate::scenario::RequestClass,
        sessions: Option<&SessionModel>,
    ) -> Option<SessionModel> {
        let Some(o) = &k.sessions else {
            return sessions.cloned();
        };
        let path = format!("{path}.sessions");
        if self.workload.sessions.is_none() {
            c.fail(
                path.clone(),
                "changes the class's sessions, but the workload has none: give \
                 workload.sessions (the closed loop of users)",
            );
            return None;
        }
        if o.think_time.is_none() && o.turns.is_none() && o.between_sessions.is_none() {
            c.fail(
                path.clone(),
                "changes nothing: give thinkTime, turns or betweenSessions, or leave it out",
            );
        }
        let mut s = sessions?.clone();
        if let Some(t) = &o.think_time {
            s.think = c.duration_or_dist(&format!("{path}.thinkTime"), t)?;
        }
        if let Some(t) = &o.turns {
            if s.turns.is_none() {
                // A class's sessions end only if every class's do: a user
                // draws a new class when its session ends, and one that
                // never ends would keep its class for good.
                c.fail(
                    format!("{path}.turns"),
                    "needs workload.sessions.turns: sessions of every class must end, or a user \
                     would stay in a class whose sessions do not; give the workload's turns and \
                     override them here",
                );
                return None;
            }
            s.turns = Some(compile_turns(c, &format!("{path}.turns"), t)?);
        }
        if let Some(b) = &o.between_sessions {
            if s.turns.is_none() {
                c.fail(
                    format!("{path}.betweenSessions"),
                    "applies after a session's last turn: give turns too",
                );
            }
            s.between = Some(c.duration_or_dist(&format!("{path}.betweenSessions"), b)?);
        }
        Some(s)
    }
}

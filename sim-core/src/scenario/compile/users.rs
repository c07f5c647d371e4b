//! `workload.users` and `workload.sessions`: who sends requests, their
//! tenants and a noisy one, and the closed loop of sessions.

use super::{Checker, SessionModel, UserModel};
use crate::dist::CountOrDist;
use crate::scenario::Scenario;

impl Scenario {
    /// `workload.users`, with its noisy tenant.
    pub(super) fn compile_users(&self, c: &mut Checker) -> Option<UserModel> {
        let u = self.workload.users.as_ref()?;
        if u.count == 0 {
            c.fail("workload.users.count", "must be at least 1");
            return None;
        }
        if u.tenants == 0 || u.tenants > u.count {
            c.fail(
                "workload.users.tenants",
                format!(
                    "must be from 1 to users.count ({}), found {}",
                    u.count, u.tenants
                ),
            );
            return None;
        }
        if !(u.skew.is_finite() && u.skew >= 0.0) {
            c.fail(
                "workload.users.skew",
                format!("must be 0 (uniform) or more, found {}", u.skew),
            );
            return None;
        }
        let noisy = match &u.noisy_tenant {
            None => None,
            Some(n) => {
                let path = "workload.users.noisyTenant";
                if u.tenants < 2 {
                    c.fail(
                        path,
                        "needs at least two tenants (workload.users.tenants) to be noisy among",
                    );
                    return None;
                }
                if n.tenant >= u.tenants {
                    c.fail(
                        format!("{path}.tenant"),
                        format!("must be from 0 to {}, found {}", u.tenants - 1, n.tenant),
                    );
                    return None;
                }
                if !(n.multiplier.is_finite() && n.multiplier > 0.0) {
                    c.fail(
                        format!("{path}.multiplier"),
                        format!("must be above 0, found {}", n.multiplier),
                    );
                    return None;
                }
                if u.skew > 0.0 {
                    c.fail(
                        path,
                        "cannot be combined with workload.users.skew: requests spread over \
                         tenants by the multiplier, and evenly over each tenant's users",
                    );
                    return None;
                }
                Some((n.tenant, n.multiplier))
            }
        };
        let zipf = if u.skew > 0.0 {
            rand_distr::Zipf::new(f64::from(u.count), u.skew).ok()
        } else {
            None
        };
        Some(UserModel {
            count: u.count,
            zipf,
            tenants: u.tenants,
            noisy,
        })
    }

    /// `workload.sessions`: the closed loop over the user population.
    pub(super) fn compile_sessions(
        &self,
        c: &mut Checker,
        users: Option<&UserModel>,
    ) -> Option<SessionModel> {
        let s = self.workload.sessions.as_ref()?;
        let path = "workload.sessions";
        let Some(u) = self.workload.users.as_ref() else {
            c.fail(
                path,
                "needs workload.users: its count is the population of users in the loop",
            );
            return None;
        };
        if u.skew > 0.0 {
            c.fail(
                "workload.users.skew",
                "does not apply to sessions: each user sends at the pace of its own loop; \
                 use noisyTenant for a heavier tenant",
            );
        }
        let think = c.duration_or_dist(&format!("{path}.thinkTime"), &s.think_time);
        let turns = s
            .turns
            .as_ref()
            .and_then(|t| compile_turns(c, &format!("{path}.turns"), t));
        let between = s
            .between_sessions
            .as_ref()
            .and_then(|b| c.duration_or_dist(&format!("{path}.betweenSessions"), b));
        if s.between_sessions.is_some() && s.turns.is_none() {
            c.fail(
                format!("{path}.betweenSessions"),
                "applies after a session's last turn: give turns too",
            );
        }
        let abandon_after = s.abandon_after_errors;
        let abandon_path = format!("{path}.abandonAfterErrors");
        match abandon_after {
            Some(0) => c.fail(
                abandon_path,
                "must be at least 1: the failed turns after which a user gives up its session",
            ),
            Some(_) if s.turns.is_none() => c.fail(
                abandon_path,
                "ends a session early, but sessions without turns never end: give turns too",
            ),
            _ => {}
        }
        let (think, _) = (think?, users?);
        Some(SessionModel {
            think,
            turns,
            between,
            abandon_after,
        })
    }
}

/// A session's `turns` at `path`: at least one.
pub(super) fn compile_turns(
    c: &mut Checker,
    path: &str,
    t: &CountOrDist,
) -> Option<crate::dist::Sampler> {
    if let CountOrDist::Fixed(0) = t {
        c.fail(path, "must be at least 1");
        return None;
    }
    match t.sampler() {
        Ok(s) => Some(s),
        Err(e) => {
            c.fail(format!("{path}.{}", e.key), e.message);
            None
        }
    }
}

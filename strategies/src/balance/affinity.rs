//! Session affinity: sticky sessions over any balancer.

use super::{Backends, Balancer, LoadBalancer, RequestInfo};
use crate::{ConfigError, DurationStr, Nanos};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};

/// What identifies a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AffinityType {
    /// A cookie the balancer sets (keyed by the client's user or session
    /// id in the simulator).
    #[default]
    Cookie,
    /// An application session key (same key as `cookie`).
    Session,
    /// The client's IP address.
    Ip,
}

/// `loadBalancing.sessionAffinity`, the SwiftClaw doc's shape:
///
/// ```json
/// { "sessionAffinity": { "enabled": true, "type": "cookie", "ttl": "1h" } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionAffinityConfig {
    /// Affinity acts at all (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What identifies a session (default `cookie`).
    #[serde(default, rename = "type")]
    pub kind: AffinityType,
    /// How long a session sticks after its last request (default `1h`).
    #[serde(default = "d1h")]
    pub ttl: DurationStr,
    /// Most sessions remembered at once (default 100,000): expired ones
    /// are dropped first; past that, new sessions are not pinned.
    #[serde(default = "max_sessions")]
    pub max_sessions: u32,
}

fn yes() -> bool {
    true
}
fn d1h() -> DurationStr {
    DurationStr(Nanos::from_secs(3600))
}
fn max_sessions() -> u32 {
    100_000
}

impl SessionAffinityConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl.nanos() == Nanos::ZERO {
            return Err(ConfigError::new(
                "sessionAffinity.ttl",
                "must be longer than 0s",
            ));
        }
        if self.max_sessions == 0 {
            return Err(ConfigError::new(
                "sessionAffinity.maxSessions",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Sticky sessions: a session's requests go to the backend its first
/// request went to, while that backend is eligible and the session is
/// younger than `ttl` since its last request (a sliding expiry, as a
/// cookie re-issued on every response). Otherwise the inner balancer
/// chooses and the session is pinned to its choice.
///
/// Memory is bounded by `maxSessions`. Lookups go through a fixed-seed
/// hasher and expiry sweeps do not depend on iteration order, so decisions
/// are deterministic.
#[derive(Debug, Clone)]
pub struct StickySessions {
    cfg: SessionAffinityConfig,
    table: HashMap<u64, (u32, Nanos), BuildHasherDefault<DefaultHasher>>,
    inner: LoadBalancer,
    repins: u64,
}

impl StickySessions {
    /// Affinity over `inner`.
    pub fn new(cfg: SessionAffinityConfig, inner: LoadBalancer) -> StickySessions {
        StickySessions {
            cfg,
            table: HashMap::default(),
            inner,
            repins: 0,
        }
    }

    /// The same affinity, with no sessions, over the backends `members` of
    /// this one's index space (renumbered from 0).
    pub fn for_subset(&self, members: &[u32]) -> StickySessions {
        StickySessions::new(self.cfg.clone(), self.inner.for_subset(members))
    }

    /// The balancer that chooses for new sessions.
    pub fn inner(&self) -> &LoadBalancer {
        &self.inner
    }

    /// Sessions moved because their backend was no longer eligible.
    pub fn repins(&self) -> u64 {
        self.repins
    }

    /// Sessions remembered now.
    pub fn sessions(&self) -> usize {
        self.table.len()
    }
}

impl Balancer for StickySessions {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        let key = match self.cfg.kind {
            AffinityType::Ip => req.client_ip.map(|ip| u64::from(u32::from_be_bytes(ip))),
            AffinityType::Cookie | AffinityType::Session => req.key,
        };
        let Some(key) = key else {
            return self.inner.pick(now, req, backends, rng);
        };
        let ttl = self.cfg.ttl.nanos();
        let mut moved = false;
        if let Some(&(b, expires)) = self.table.get(&key) {
            if now < expires {
                if backends.is_eligible(b as usize) {
                    self.table.insert(key, (b, now + ttl));
                    return Some(b as usize);
                }
                moved = true;
            }
        }
        let b = self.inner.pick(now, req, backends, rng)?;
        self.repins += u64::from(moved);
        if self.table.len() >= self.cfg.max_sessions as usize && !self.table.contains_key(&key) {
            self.table.retain(|_, (_, expires)| *expires > now);
        }
        if self.table.len() < self.cfg.max_sessions as usize || self.table.contains_key(&key) {
            self.table.insert(key, (b as u32, now + ttl));
        }
        Some(b)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.inner.refresh(i, backends);
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        self.inner.observe(now, backend, latency, success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::RoundRobin;

    fn sticky(json: &str) -> StickySessions {
        let cfg: SessionAffinityConfig = serde_json::from_str(json).unwrap();
        StickySessions::new(cfg, LoadBalancer::RoundRobin(RoundRobin::new()))
    }

    fn user(k: u64) -> RequestInfo {
        RequestInfo {
            key: Some(k),
            ..Default::default()
        }
    }

    #[test]
    fn a_session_sticks_until_its_ttl_lapses() {
        // Two backends behind round robin (0, 1, 0, ...).
        let f = fleet(&[0, 0]);
        let mut s = sticky(r#"{"enabled": true, "type": "cookie", "ttl": "1h"}"#);
        let mut r = rng();
        let t = |secs| Nanos::from_secs(secs);
        assert_eq!(s.pick(t(0), &user(7), &f[..], &mut r), Some(0));
        assert_eq!(s.pick(t(1), &user(8), &f[..], &mut r), Some(1));
        assert_eq!(s.pick(t(1800), &user(7), &f[..], &mut r), Some(0), "sticky");
        // Sliding: 1h after the last request, not the first.
        assert_eq!(
            s.pick(t(5399), &user(7), &f[..], &mut r),
            Some(0),
            "still sticky"
        );
        assert_eq!(s.pick(t(5400), &user(9), &f[..], &mut r), Some(0));
        // Expired (last request at 5399s + 1h < 9000s): round robin decides
        // afresh, and its next pick is backend 1.
        assert_eq!(
            s.pick(t(9000), &user(7), &f[..], &mut r),
            Some(1),
            "re-picked after expiry"
        );
        assert_eq!(s.repins(), 0, "expiry is not a re-pin");
    }

    #[test]
    fn an_ineligible_backend_repins_the_session() {
        let mut f = fleet(&[0, 0]);
        let mut s = sticky("{}");
        let mut r = rng();
        let first = s.pick(Nanos::ZERO, &user(1), &f[..], &mut r).unwrap();
        f[first].eligible = false;
        let second = s.pick(Nanos(1), &user(1), &f[..], &mut r).unwrap();
        assert_ne!(first, second);
        assert_eq!(s.repins(), 1);
        f[first].eligible = true;
        assert_eq!(
            s.pick(Nanos(2), &user(1), &f[..], &mut r),
            Some(second),
            "stays on the new pin"
        );
    }

    #[test]
    fn memory_is_bounded_by_max_sessions() {
        let f = fleet(&[0, 0]);
        let mut s = sticky(r#"{"maxSessions": 50, "ttl": "1s"}"#);
        let mut r = rng();
        for k in 0..5_000u64 {
            s.pick(Nanos::from_millis(k), &user(k), &f[..], &mut r);
            assert!(s.sessions() <= 50);
        }
    }
}

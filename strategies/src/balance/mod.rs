//! Load balancers: which backend serves the next request.
//!
//! A balancer sees the fleet through [`Backends`] (membership, eligibility
//! and load as separate questions) and answers one question in
//! [`Balancer::pick`]. Time and randomness are arguments, so the simulator and
//! a real proxy drive the same code.
//!
//! | name | type | follows |
//! |---|---|---|
//! | `round-robin` | [`RoundRobin`] | nginx round robin with equal weights |
//! | `random` | [`RandomPick`] | Envoy random (weights ignored) |
//! | `least-connections` | [`LeastConnections`] | nginx `least_conn` (weighted, ties by smooth WRR) |

mod config;
mod least_conn;
mod random;
mod round_robin;

pub use config::{LoadBalancingConfig, StrategyKind};
pub use least_conn::LeastConnections;
pub use random::RandomPick;
pub use round_robin::RoundRobin;

use crate::Nanos;
use rand::RngCore;

/// What a balancer may ask about the backends it chooses from.
///
/// Indices run from `0` to `len() - 1` and stay stable for the balancer's
/// life; a backend that leaves is reported ineligible rather than removed.
pub trait Backends {
    /// Number of backends, eligible or not.
    fn len(&self) -> usize;

    /// Whether there are no backends at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether backend `i` may take a request now: healthy, not ejected,
    /// not draining and under its connection limit.
    fn is_eligible(&self, i: usize) -> bool;

    /// Requests backend `i` holds now (running plus queued).
    fn active(&self, i: usize) -> u32;

    /// Static weight of backend `i` (at least 1).
    fn weight(&self, i: usize) -> u32 {
        let _ = i;
        1
    }
}

/// A plain description of one backend, for runtimes and tests that keep
/// their fleet as a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendState {
    /// May take a request now.
    pub eligible: bool,
    /// Requests held now.
    pub active: u32,
    /// Static weight, at least 1.
    pub weight: u32,
}

impl BackendState {
    /// An eligible backend of weight 1 holding `active` requests.
    pub fn idle_with(active: u32) -> BackendState {
        BackendState {
            eligible: true,
            active,
            weight: 1,
        }
    }
}

impl Backends for [BackendState] {
    fn len(&self) -> usize {
        <[BackendState]>::len(self)
    }
    fn is_eligible(&self, i: usize) -> bool {
        self[i].eligible
    }
    fn active(&self, i: usize) -> u32 {
        self[i].active
    }
    fn weight(&self, i: usize) -> u32 {
        self[i].weight.max(1)
    }
}

/// A load-balancing policy.
pub trait Balancer: Send {
    /// Chooses the backend for the next request, or `None` when no backend
    /// is eligible. Called once per request.
    fn pick<B, R>(&mut self, now: Nanos, backends: &B, rng: &mut R) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized;
}

/// Any built-in balancer, chosen by name from a [`LoadBalancingConfig`].
///
/// Static dispatch over the built-ins: no allocation and no virtual call per
/// pick.
#[derive(Debug, Clone)]
pub enum LoadBalancer {
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`RandomPick`].
    Random(RandomPick),
    /// See [`LeastConnections`].
    LeastConnections(LeastConnections),
}

impl LoadBalancer {
    /// Builds the balancer a config names, for `backends` backends.
    pub fn from_config(config: &LoadBalancingConfig, backends: usize) -> LoadBalancer {
        match config.strategy {
            StrategyKind::RoundRobin => LoadBalancer::RoundRobin(RoundRobin::new()),
            StrategyKind::Random => LoadBalancer::Random(RandomPick::new()),
            StrategyKind::LeastConnections => {
                LoadBalancer::LeastConnections(LeastConnections::new(backends))
            }
        }
    }

    /// The strategy's name as written in a scenario.
    pub fn kind(&self) -> StrategyKind {
        match self {
            LoadBalancer::RoundRobin(_) => StrategyKind::RoundRobin,
            LoadBalancer::Random(_) => StrategyKind::Random,
            LoadBalancer::LeastConnections(_) => StrategyKind::LeastConnections,
        }
    }
}

impl Balancer for LoadBalancer {
    fn pick<B, R>(&mut self, now: Nanos, backends: &B, rng: &mut R) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        match self {
            LoadBalancer::RoundRobin(b) => b.pick(now, backends, rng),
            LoadBalancer::Random(b) => b.pick(now, backends, rng),
            LoadBalancer::LeastConnections(b) => b.pick(now, backends, rng),
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use rand::SeedableRng;

    pub(crate) fn rng() -> rand_pcg::Pcg64Mcg {
        rand_pcg::Pcg64Mcg::seed_from_u64(7)
    }

    pub(crate) fn fleet(active: &[u32]) -> Vec<BackendState> {
        active.iter().map(|&a| BackendState::idle_with(a)).collect()
    }

    /// Picks `n` times without changing the load, as a balancer sees a fleet
    /// whose requests finish instantly.
    pub(crate) fn picks<Bal: Balancer>(
        b: &mut Bal,
        fleet: &[BackendState],
        n: usize,
    ) -> Vec<usize> {
        let mut r = rng();
        (0..n)
            .map(|_| {
                b.pick(Nanos::ZERO, fleet, &mut r)
                    .expect("an eligible backend")
            })
            .collect()
    }
}

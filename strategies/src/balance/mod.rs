//! Load balancers: which backend serves the next request.
//!
//! A balancer sees the fleet through [`Backends`] (membership, eligibility,
//! load and weight as separate questions) and answers one question in
//! [`Balancer::pick`]. Two more calls keep it informed:
//! [`Balancer::refresh`] when a backend's load or eligibility changed
//! (indexed balancers stay O(log n) over views that promise it,
//! [`Backends::refreshed`]; without it they read the view afresh, slower
//! but never stale), and [`Balancer::observe`]
//! when a request finished (latency-aware balancers learn from it). Time and
//! randomness are arguments, so the simulator and a real proxy drive the
//! same code.
//!
//! | name | type | follows | pick cost |
//! |---|---|---|---|
//! | `round-robin` | [`RoundRobin`] | nginx round robin | O(1) |
//! | `weighted` | [`SmoothWeighted`] | nginx smooth WRR | O(c log n), c distinct weights |
//! | `weighted`, `edf` | [`Edf`] | Envoy EDF scheduler | O(log n) |
//! | `least-connections` | [`LeastConnections`] | nginx `least_conn` | O(c log n), c distinct weights |
//! | `random` | [`RandomPick`] | nginx `random` / Envoy `RANDOM` | O(1), O(log n) weighted |
//! | `power-of-two` | [`PowerOfTwo`] | Envoy least request / tower p2c | O(1), O(log n) weighted |
//! | `peak-ewma` | [`PeakEwma`] | tower / Finagle peak EWMA | O(1) |
//! | `response-time` | [`ResponseTime`] | the SwiftClaw doc | O(log n) (a score tree) |
//! | `performance-based` | [`PerformanceBased`] | the AgenticGoKit doc | O(log n) (a score tree) |
//! | `first` | [`First`] | Caddy `first` | O(1) while the first is up |
//! | `ip-hash` | [`IpHash`] | nginx `ip_hash` | O(log n) |
//! | `consistent-hash` | [`ConsistentHash`] | ketama ring / Maglev, bounded loads | O(log n) ring, O(1) Maglev |
//! | `geographic` | [`Geographic`] | Envoy priority failover (overprovisioning 1.4, panic 50%) | O(regions) + local |
//!
//! `canary` wraps any of them in a [`Canary`] split; `sessionAffinity` in
//! [`StickySessions`].

mod affinity;
mod config;
mod dynamic;
mod eligible;
mod geo;
mod hashing;
mod least_conn;
mod p2c;
mod peak_ewma;
mod performance;
mod pool;
mod random;
#[cfg(test)]
mod refresh_free;
mod response_time;
mod round_robin;
mod score_tree;
mod weighted;

pub use affinity::{AffinityType, SessionAffinityConfig, StickySessions};
pub use config::{CanaryConfig, LoadBalancingConfig, StrategyKind};
pub use dynamic::DynBalancer;
pub(crate) use dynamic::Erased;
pub use geo::{priority_loads, Canary, Geographic, Subset, Topology};
pub use hashing::{
    ip_hash_step, maglev_table, BoundedLoad, ConsistentHash, HashAlgorithm, IpHash,
    MAGLEV_TABLE_SIZE, MAX_PROBES, MAX_RING_POINTS, RING_POINTS_PER_WEIGHT,
};
pub use least_conn::LeastConnections;
pub use p2c::{P2cFlavor, PowerOfTwo};
pub use peak_ewma::{PeakEwma, RttEstimate};
pub use performance::PerformanceBased;
pub use pool::{Pool, Ticket};
pub use random::RandomPick;
pub use response_time::ResponseTime;
pub use round_robin::{First, RoundRobin};
pub use weighted::{Edf, SmoothWeighted};

use crate::Nanos;
use rand::RngCore;

/// What a balancer may ask about the backends it chooses from.
///
/// Indices run from `0` to `len() - 1` and stay stable for the balancer's
/// life; a backend that leaves is reported ineligible (and not present)
/// rather than removed, and one that joins takes an index that was there
/// all along.
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

    /// Whether backend `i` is a member of the pool now: not absent, still
    /// starting or draining (an autoscaled fleet keeps indices for
    /// instances it may run). Priority failover counts a level's hosts by
    /// this. Defaults to true.
    fn is_present(&self, i: usize) -> bool {
        let _ = i;
        true
    }

    /// Whether backend `i` is healthy as health checks, outlier ejection
    /// and breakers see it, whatever its load. Priority failover weighs
    /// levels by this, as Envoy counts healthy hosts, not hosts with spare
    /// connections. Defaults to [`Backends::is_eligible`].
    fn is_healthy(&self, i: usize) -> bool {
        self.is_eligible(i)
    }

    /// Requests backend `i` holds now (running plus queued).
    fn active(&self, i: usize) -> u32;

    /// Requests backend `i` holds when it is eligible, else `None`: the
    /// two questions a least-load scan asks of every backend, answered in
    /// one read by views that keep them together.
    #[inline]
    fn eligible_active(&self, i: usize) -> Option<u32> {
        if self.is_eligible(i) {
            Some(self.active(i))
        } else {
            None
        }
    }

    /// Static weight of backend `i` (at least 1).
    fn weight(&self, i: usize) -> u32 {
        let _ = i;
        1
    }

    /// Whether the caller promises to call [`Balancer::refresh`] for every
    /// backend whose load or eligibility changed, before the next pick.
    ///
    /// Balancers that index their backends (least connections from 64
    /// backends, random, power of two, peak EWMA, the score trees,
    /// consistent hashing, geographic and canary groups) trust their index
    /// only when this is true; otherwise they read what they need from the
    /// view at each pick, which costs O(n) but can never be stale. Defaults
    /// to false, so a view that says nothing is always answered correctly;
    /// wrap a view whose owner refreshes in [`Refreshed`] (as the
    /// simulator's views and [`Balancer`]-owning pools do) for the indexed
    /// speed.
    #[inline]
    fn refreshed(&self) -> bool {
        false
    }
}

/// A view whose owner calls [`Balancer::refresh`] after every change of a
/// backend's load or eligibility: indexed balancers trust their index over
/// it ([`Backends::refreshed`]). Everything else is read from the wrapped
/// view.
#[derive(Debug, Clone, Copy)]
pub struct Refreshed<'a, B: ?Sized>(pub &'a B);

impl<B: Backends + ?Sized> Backends for Refreshed<'_, B> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn is_eligible(&self, i: usize) -> bool {
        self.0.is_eligible(i)
    }
    #[inline]
    fn is_present(&self, i: usize) -> bool {
        self.0.is_present(i)
    }
    #[inline]
    fn is_healthy(&self, i: usize) -> bool {
        self.0.is_healthy(i)
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        self.0.active(i)
    }
    #[inline]
    fn eligible_active(&self, i: usize) -> Option<u32> {
        self.0.eligible_active(i)
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.0.weight(i)
    }
    #[inline]
    fn refreshed(&self) -> bool {
        true
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

/// What is known about the request being placed, for balancers that route
/// by who is asking (hashing, affinity, geography). All optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// A stable key: user, session or tenant id, hashed by the caller.
    pub key: Option<u64>,
    /// The client's IPv4 address.
    pub client_ip: Option<[u8; 4]>,
    /// The client's region, as an index the caller defines.
    pub client_region: Option<u32>,
}

/// A load-balancing policy.
pub trait Balancer: Send {
    /// Chooses the backend for the next request, or `None` when no backend
    /// is eligible. Called once per request.
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized;

    /// Backend `i`'s load or eligibility changed: re-read it from
    /// `backends`. A speed hint, never needed for a correct pick: balancers
    /// that index their backends (least connections, random, power of two)
    /// keep their index current with it, and use the index only over views
    /// that promise to call it after every change ([`Backends::refreshed`],
    /// [`Refreshed`]); over other views they read the view afresh at each
    /// pick. Weights are read when the set of backends changes size.
    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        let _ = (i, backends);
    }

    /// A request sent to `backend` finished at `now` after `latency`;
    /// `success` is false for errors and timeouts.
    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        let _ = (now, backend, latency, success);
    }
}

/// Any built-in balancer, chosen by name from a [`LoadBalancingConfig`].
///
/// Static dispatch over the built-ins: no allocation and no virtual call per
/// pick. A user's own policy joins them as [`LoadBalancer::Custom`] (see
/// [`DynBalancer`]) and is accepted wherever a built-in is.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum LoadBalancer {
    RoundRobin(RoundRobin),
    SmoothWeighted(SmoothWeighted),
    Edf(Edf),
    LeastConnections(LeastConnections),
    Random(RandomPick),
    PowerOfTwo(PowerOfTwo),
    PeakEwma(PeakEwma),
    ResponseTime(ResponseTime),
    PerformanceBased(PerformanceBased),
    First(First),
    IpHash(IpHash),
    ConsistentHash(ConsistentHash),
    Geographic(Box<Geographic>),
    Canary(Box<Canary>),
    Sticky(Box<StickySessions>),
    /// A user's own policy ([`LoadBalancer::custom`]): one virtual call
    /// per pick.
    Custom(Box<dyn DynBalancer>),
}

macro_rules! each {
    ($self:expr, $b:ident => $e:expr) => {
        match $self {
            LoadBalancer::RoundRobin($b) => $e,
            LoadBalancer::SmoothWeighted($b) => $e,
            LoadBalancer::Edf($b) => $e,
            LoadBalancer::LeastConnections($b) => $e,
            LoadBalancer::Random($b) => $e,
            LoadBalancer::PowerOfTwo($b) => $e,
            LoadBalancer::PeakEwma($b) => $e,
            LoadBalancer::ResponseTime($b) => $e,
            LoadBalancer::PerformanceBased($b) => $e,
            LoadBalancer::First($b) => $e,
            LoadBalancer::IpHash($b) => $e,
            LoadBalancer::ConsistentHash($b) => $e,
            LoadBalancer::Geographic($b) => $e,
            LoadBalancer::Canary($b) => $e,
            LoadBalancer::Sticky($b) => $e,
            LoadBalancer::Custom($b) => $e,
        }
    };
}

impl LoadBalancer {
    /// A fresh balancer of the same configuration for the backends
    /// `members` of this one's index space, renumbered `0..members.len()`.
    ///
    /// Wrappers that balance groups of backends (geographic regions, canary
    /// sides) make each group's balancer with this, so a balancer that knows
    /// where its backends are (`geographic`, `canary`, and sticky sessions
    /// over them) is rebuilt for the group's own numbering and can never be
    /// handed indices of another space. Balancers that learn their backends
    /// from the [`Backends`] view are simply copied.
    pub fn for_subset(&self, members: &[u32]) -> LoadBalancer {
        match self {
            LoadBalancer::Geographic(g) => {
                LoadBalancer::Geographic(Box::new(g.for_subset(members)))
            }
            LoadBalancer::Canary(c) => LoadBalancer::Canary(Box::new(c.for_subset(members))),
            LoadBalancer::Sticky(s) => LoadBalancer::Sticky(Box::new(s.for_subset(members))),
            other => other.clone(),
        }
    }

    /// The strategy's name as written in a scenario. A custom policy
    /// answers the built-in it declares itself like
    /// ([`DynBalancer::like`]), else `round-robin` (the default kind).
    pub fn kind(&self) -> StrategyKind {
        match self {
            LoadBalancer::RoundRobin(_) => StrategyKind::RoundRobin,
            LoadBalancer::SmoothWeighted(_) | LoadBalancer::Edf(_) => StrategyKind::Weighted,
            LoadBalancer::LeastConnections(_) => StrategyKind::LeastConnections,
            LoadBalancer::Random(_) => StrategyKind::Random,
            LoadBalancer::PowerOfTwo(_) => StrategyKind::PowerOfTwo,
            LoadBalancer::PeakEwma(_) => StrategyKind::PeakEwma,
            LoadBalancer::ResponseTime(_) => StrategyKind::ResponseTime,
            LoadBalancer::PerformanceBased(_) => StrategyKind::PerformanceBased,
            LoadBalancer::First(_) => StrategyKind::First,
            LoadBalancer::IpHash(_) => StrategyKind::IpHash,
            LoadBalancer::ConsistentHash(_) => StrategyKind::ConsistentHash,
            LoadBalancer::Geographic(_) => StrategyKind::Geographic,
            LoadBalancer::Canary(c) => c.inner_kind(),
            LoadBalancer::Sticky(s) => s.inner().kind(),
            LoadBalancer::Custom(c) => c.like().unwrap_or_default(),
        }
    }
}

impl Balancer for LoadBalancer {
    #[inline]
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
        each!(self, b => b.pick(now, req, backends, rng))
    }

    #[inline]
    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        each!(self, b => b.refresh(i, backends))
    }

    #[inline]
    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        each!(self, b => b.observe(now, backend, latency, success))
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

    /// Drives two balancers through the same random timelines (picks that
    /// add load, completions observed with random latencies and outcomes,
    /// eligibility flips, time moving on by up to `max_step_ns`), refreshing
    /// both after every change, and asserts they make the same choices: an
    /// indexed balancer against the scan it stands in for.
    pub(crate) fn same_choices<Bal: Balancer>(mut make: impl FnMut(bool) -> Bal, max_step_ns: u64) {
        use rand::Rng;
        for seed in 0..60u64 {
            let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = r.random_range(1..90);
            let mut f: Vec<BackendState> = (0..n)
                .map(|_| BackendState {
                    eligible: r.random_bool(0.9),
                    active: 0,
                    weight: 1,
                })
                .collect();
            let (mut scan, mut fast) = (make(false), make(true));
            let mut now = 0u64;
            let info = RequestInfo::default();
            for step in 0..600 {
                now += r.random_range(0..=max_step_ns);
                let t = Nanos(now);
                match r.random_range(0..10) {
                    0..=4 => {
                        let want = scan.pick(t, &info, &f[..], &mut rng());
                        let got = fast.pick(t, &info, &Refreshed(&f[..]), &mut rng());
                        assert_eq!(got, want, "seed {seed} step {step}");
                        if let Some(i) = got {
                            f[i].active += 1;
                            scan.refresh(i, &f[..]);
                            fast.refresh(i, &Refreshed(&f[..]));
                        }
                    }
                    5..=8 => {
                        let i = r.random_range(0..n);
                        // Few distinct latencies, so scores tie often.
                        let latency = Nanos(r.random_range(0..4u64) * 250_000_000);
                        let ok = r.random_bool(0.8);
                        f[i].active = f[i].active.saturating_sub(1);
                        for b in [&mut scan, &mut fast] {
                            b.observe(t, i, latency, ok);
                        }
                        scan.refresh(i, &f[..]);
                        fast.refresh(i, &Refreshed(&f[..]));
                    }
                    _ => {
                        let i = r.random_range(0..n);
                        f[i].eligible = !f[i].eligible;
                        scan.refresh(i, &f[..]);
                        fast.refresh(i, &Refreshed(&f[..]));
                    }
                }
            }
        }
    }

    /// Picks `n` times without changing the load, as a balancer sees a fleet
    /// whose requests finish instantly.
    pub(crate) fn picks<Bal: Balancer>(
        b: &mut Bal,
        fleet: &[BackendState],
        n: usize,
    ) -> Vec<usize> {
        let mut r = rng();
        let info = RequestInfo::default();
        (0..n)
            .map(|_| {
                b.pick(Nanos::ZERO, &info, fleet, &mut r)
                    .expect("an eligible backend")
            })
            .collect()
    }

    /// A generator that returns a script of values, as the mocked
    /// `random()` in Envoy's tests.
    pub(crate) struct Scripted {
        values: Vec<u64>,
        at: usize,
    }

    impl Scripted {
        pub(crate) fn new(values: &[u64]) -> Scripted {
            Scripted {
                values: values.to_vec(),
                at: 0,
            }
        }
    }

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            let v = self.values[self.at % self.values.len()];
            self.at += 1;
            v
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for b in dst {
                *b = self.next_u64() as u8;
            }
        }
    }
}

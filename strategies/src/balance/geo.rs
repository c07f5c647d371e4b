//! Geographic routing with Envoy's priority failover, and canary splits.
//!
//! Both route over *groups* of backends (regions; canary and stable), each
//! group balanced by its own inner balancer over a [`Subset`] of the
//! fleet.

use super::{Backends, Balancer, LoadBalancer, RequestInfo};
use crate::{ConfigError, Nanos};
use rand::{Rng, RngCore};

/// Where the backends are and how far the clients are from them: what
/// `geographic` and `canary` need beyond load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// Each backend's id (`region/index` in the simulator).
    pub ids: Vec<String>,
    /// Each backend's region, as an index into `regions`.
    pub region_of: Vec<u32>,
    /// Region names.
    pub regions: Vec<String>,
    /// Each region's configured priority (lower first; Envoy's priority
    /// levels), used to order regions the clients are equally near.
    pub priority: Vec<u32>,
    /// Round-trip time from client region `c` (the request's
    /// `client_region`) to backend region `r`: `rtt[c][r]`. Empty when
    /// clients have no location; regions are then ordered by priority.
    pub rtt: Vec<Vec<Nanos>>,
}

impl Topology {
    /// The topology of the backends `members` (indices into this one),
    /// renumbered from 0 in that order: the same regions, priorities and
    /// round-trip times, fewer backends.
    pub fn restrict(&self, members: &[u32]) -> Topology {
        let pick = |v: &[String]| -> Vec<String> {
            members
                .iter()
                .filter_map(|&m| v.get(m as usize).cloned())
                .collect()
        };
        Topology {
            ids: pick(&self.ids),
            region_of: members
                .iter()
                .filter_map(|&m| self.region_of.get(m as usize).copied())
                .collect(),
            regions: self.regions.clone(),
            priority: self.priority.clone(),
            rtt: self.rtt.clone(),
        }
    }
}

/// A view of some of the fleet's backends, renumbered from 0.
///
/// The base view is held as `&dyn Backends`: a group's inner balancer is
/// itself a [`LoadBalancer`], and a generic subset would make the compiler
/// instantiate subsets of subsets without end.
pub struct Subset<'a> {
    base: &'a dyn Backends,
    members: &'a [u32],
}

impl<'a> Subset<'a> {
    /// The backends `members` of `base`, as `0..members.len()`.
    pub fn new(base: &'a dyn Backends, members: &'a [u32]) -> Self {
        Subset { base, members }
    }
}

/// Makes any view, sized or not, usable as `&dyn Backends`.
struct Erased<'a, B: ?Sized>(&'a B);

impl<B: Backends + ?Sized> Backends for Erased<'_, B> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_eligible(&self, i: usize) -> bool {
        self.0.is_eligible(i)
    }
    fn active(&self, i: usize) -> u32 {
        self.0.active(i)
    }
    fn weight(&self, i: usize) -> u32 {
        self.0.weight(i)
    }
}

impl Backends for Subset<'_> {
    fn len(&self) -> usize {
        self.members.len()
    }
    fn is_eligible(&self, i: usize) -> bool {
        self.base.is_eligible(self.members[i] as usize)
    }
    fn active(&self, i: usize) -> u32 {
        self.base.active(self.members[i] as usize)
    }
    fn weight(&self, i: usize) -> u32 {
        self.base.weight(self.members[i] as usize)
    }
}

/// Groups of backends, each with its own balancer.
///
/// Each group's balancer is made for the group's own index space by
/// [`LoadBalancer::for_subset`], so it only ever sees indices `0..members`
/// of its [`Subset`], whatever the template was built for.
#[derive(Debug, Clone)]
struct Groups {
    members: Vec<Vec<u32>>,
    /// backend -> (group, index within group)
    place: Vec<(u32, u32)>,
    balancers: Vec<LoadBalancer>,
    /// Eligibility as last seen, and eligible members per group, kept by
    /// `refresh` so health is O(1) per group; counted on first use.
    eligible: Vec<bool>,
    eligible_in: Vec<u32>,
    counted: bool,
}

impl Groups {
    fn new(group_of: &[u32], groups: usize, inner: &LoadBalancer) -> Groups {
        let mut members = vec![Vec::new(); groups];
        let mut place = Vec::with_capacity(group_of.len());
        for (i, &g) in group_of.iter().enumerate() {
            place.push((g, members[g as usize].len() as u32));
            members[g as usize].push(i as u32);
        }
        Groups {
            eligible: vec![false; place.len()],
            eligible_in: vec![0; groups],
            counted: false,
            balancers: members.iter().map(|m| inner.for_subset(m)).collect(),
            members,
            place,
        }
    }

    fn count<B: Backends + ?Sized>(&mut self, backends: &B) {
        if self.counted {
            return;
        }
        self.counted = true;
        for i in 0..self.place.len() {
            self.track(i, backends);
        }
    }

    fn track<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        let Some(&(g, _)) = self.place.get(i) else {
            return;
        };
        let now = backends.is_eligible(i);
        if now != self.eligible[i] {
            self.eligible[i] = now;
            if now {
                self.eligible_in[g as usize] += 1;
            } else {
                self.eligible_in[g as usize] -= 1;
            }
        }
    }

    fn pick<B: Backends + ?Sized, R: RngCore + ?Sized>(
        &mut self,
        g: usize,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize> {
        let erased = Erased(backends);
        let view = Subset::new(&erased, &self.members[g]);
        let local = self.balancers[g].pick(now, req, &view, rng)?;
        Some(self.members[g][local] as usize)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.counted {
            self.track(i, backends);
        }
        if let Some(&(g, local)) = self.place.get(i) {
            let erased = Erased(backends);
            let view = Subset::new(&erased, &self.members[g as usize]);
            self.balancers[g as usize].refresh(local as usize, &view);
        }
    }

    fn observe(&mut self, now: Nanos, i: usize, latency: Nanos, success: bool) {
        if let Some(&(g, local)) = self.place.get(i) {
            self.balancers[g as usize].observe(now, local as usize, latency, success);
        }
    }

    fn healthy_percent(&self, g: usize) -> u64 {
        let m = self.members[g].len() as u64;
        if m == 0 {
            return 0;
        }
        u64::from(self.eligible_in[g]) * 100 / m
    }
}

/// Nearest healthy region first, then Envoy's priority failover.
///
/// For a client, the fleet's regions are ordered by round-trip time (then
/// by configured priority, then by name): these are priority levels 0, 1,
/// ... as in Envoy. Level `p` has health `h_p = min(100, factor *
/// healthy%_p)` with the overprovisioning factor (default 1.4); with
/// `N = min(100, sum h)`, level `p` takes `min(remaining, h_p * 100 / N)`
/// percent of the traffic, so a level keeps all traffic while at least
/// 1/1.4 = 72% of it is healthy and spills the rest to the next. A level
/// below the panic threshold (default 50% healthy) routes to all its
/// backends, healthy or not (Envoy's panic mode); when no level has any
/// health, level 0 panics. Within a level the inner balancer chooses.
///
/// Cost: O(regions) per pick plus the inner balancer's cost; each region's
/// healthy count is kept current by [`Balancer::refresh`].
#[derive(Debug, Clone)]
pub struct Geographic {
    /// What it was built from, to build it again for a subset.
    topology: Topology,
    local: LoadBalancer,
    allowed: Option<Vec<u32>>,
    groups: Groups,
    /// Per client region (or one entry without client locations): the
    /// fleet's regions in priority order.
    order: Vec<Vec<u32>>,
    factor_percent: u64,
    panic_percent: u64,
    panic_rr: Vec<usize>,
    spilled: u64,
}

impl Geographic {
    /// Geographic routing over `topology` with the inner balancer `inner`
    /// in each region; `overprovisioning` as Envoy (1.4) and
    /// `panic_threshold` in percent (50).
    pub fn new(
        topology: &Topology,
        inner: &LoadBalancer,
        overprovisioning: f64,
        panic_threshold: u32,
        allowed: Option<&[u32]>,
    ) -> Result<Geographic, ConfigError> {
        if !(overprovisioning.is_finite() && overprovisioning >= 1.0) {
            return Err(ConfigError::new(
                "overprovisioningFactor",
                "must be 1.0 or more (Envoy: 1.4)",
            ));
        }
        if panic_threshold > 100 {
            return Err(ConfigError::new(
                "panicThreshold",
                "must be a percentage from 0 to 100",
            ));
        }
        let nr = topology.regions.len();
        let groups = Groups::new(&topology.region_of, nr, inner);
        let sort = |key: &dyn Fn(u32) -> (Nanos, u32)| {
            let mut rs: Vec<u32> = (0..nr as u32)
                .filter(|r| allowed.is_none_or(|a| a.contains(r)))
                .filter(|&r| !groups.members[r as usize].is_empty())
                .collect();
            rs.sort_by(|&a, &b| {
                key(a)
                    .cmp(&key(b))
                    .then_with(|| topology.regions[a as usize].cmp(&topology.regions[b as usize]))
            });
            rs
        };
        let prio = |r: u32| topology.priority.get(r as usize).copied().unwrap_or(0);
        let order = if topology.rtt.is_empty() {
            vec![sort(&|r| (Nanos::ZERO, prio(r)))]
        } else {
            topology
                .rtt
                .iter()
                .map(|row| sort(&|r| (row[r as usize], prio(r))))
                .collect()
        };
        Ok(Geographic {
            topology: topology.clone(),
            local: inner.clone(),
            allowed: allowed.map(<[u32]>::to_vec),
            groups,
            order,
            factor_percent: (overprovisioning * 100.0).round() as u64,
            panic_percent: u64::from(panic_threshold),
            panic_rr: vec![0; nr],
            spilled: 0,
        })
    }

    /// Requests sent beyond the client's nearest region.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// The same routing, fresh, over the backends `members` of this one's
    /// topology (renumbered from 0).
    pub fn for_subset(&self, members: &[u32]) -> Geographic {
        Geographic::new(
            &self.topology.restrict(members),
            &self.local,
            self.factor_percent as f64 / 100.0,
            self.panic_percent as u32,
            self.allowed.as_deref(),
        )
        .expect("parameters already checked when this one was built")
    }
}

impl Balancer for Geographic {
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
        self.groups.count(backends);
        let row = req
            .client_region
            .map_or(0, |c| c as usize)
            .min(self.order.len().saturating_sub(1));
        let levels = self.order.get(row)?;
        if levels.is_empty() {
            return None;
        }
        // Envoy: per-level health with overprovisioning, normalized.
        let mut health = [0u64; 16];
        let mut sum = 0;
        let nlev = levels.len().min(health.len());
        for (p, &r) in levels.iter().take(nlev).enumerate() {
            let healthy = self.groups.healthy_percent(r as usize);
            health[p] = (healthy * self.factor_percent / 100).min(100);
            sum += health[p];
        }
        let level = match std::num::NonZeroU64::new(sum.min(100)) {
            None => 0,
            Some(total) => {
                let draw = rng.random_range(0..100u64);
                let (mut remaining, mut acc) = (100u64, 0u64);
                let mut chosen = nlev - 1;
                for (p, &h) in health.iter().take(nlev).enumerate() {
                    let load = remaining.min(h * 100 / total);
                    remaining -= load;
                    acc += load;
                    if draw < acc {
                        chosen = p;
                        break;
                    }
                }
                chosen
            }
        };
        let r = levels[level] as usize;
        self.spilled += u64::from(level > 0);
        if self.groups.healthy_percent(r) < self.panic_percent {
            // Panic: every backend of the level, eligible or not.
            let m = &self.groups.members[r];
            let k = self.panic_rr[r] % m.len();
            self.panic_rr[r] = k + 1;
            return Some(m[k] as usize);
        }
        self.groups.pick(r, now, req, backends, rng)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.groups.refresh(i, backends);
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        self.groups.observe(now, backend, latency, success);
    }
}

/// A canary split: `percent` of requests go to the canary backends, the
/// rest to the stable ones, each side balanced by its own inner balancer.
/// When one side has no eligible backend, its share goes to the other.
#[derive(Debug, Clone)]
pub struct Canary {
    /// What it was built from, to build it again for a subset.
    is_canary: Vec<bool>,
    inner: LoadBalancer,
    groups: Groups,
    percent: f64,
}

impl Canary {
    /// A split sending `percent` (0 to 100) to the backends marked in
    /// `is_canary`.
    pub fn new(
        is_canary: &[bool],
        percent: f64,
        inner: &LoadBalancer,
    ) -> Result<Canary, ConfigError> {
        if !(0.0..=100.0).contains(&percent) {
            return Err(ConfigError::new("canary.percent", "must be from 0 to 100"));
        }
        let group_of: Vec<u32> = is_canary.iter().map(|&c| u32::from(c)).collect();
        Ok(Canary {
            is_canary: is_canary.to_vec(),
            inner: inner.clone(),
            groups: Groups::new(&group_of, 2, inner),
            percent,
        })
    }

    /// The same split, fresh, over the backends `members` of this one
    /// (renumbered from 0).
    pub fn for_subset(&self, members: &[u32]) -> Canary {
        let is_canary: Vec<bool> = members
            .iter()
            .map(|&m| self.is_canary.get(m as usize).copied().unwrap_or(false))
            .collect();
        Canary::new(&is_canary, self.percent, &self.inner.for_subset(members))
            .expect("parameters already checked when this one was built")
    }
}

impl Canary {
    /// The strategy each side runs.
    pub fn inner_kind(&self) -> super::StrategyKind {
        self.groups.balancers[0].kind()
    }
}

impl Balancer for Canary {
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
        let canary = rng.random::<f64>() * 100.0 < self.percent;
        let (first, second) = if canary { (1, 0) } else { (0, 1) };
        self.groups
            .pick(first, now, req, backends, rng)
            .or_else(|| self.groups.pick(second, now, req, backends, rng))
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.groups.refresh(i, backends);
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        self.groups.observe(now, backend, latency, success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::RoundRobin;

    fn topo() -> Topology {
        // Regions a (4 backends), b (4), c (2); clients in a and c.
        Topology {
            ids: (0..10).map(|i| format!("x/{i}")).collect(),
            region_of: vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2],
            regions: vec!["a".into(), "b".into(), "c".into()],
            priority: vec![0, 0, 0],
            rtt: vec![
                vec![
                    Nanos::from_millis(1),
                    Nanos::from_millis(40),
                    Nanos::from_millis(90),
                ],
                vec![
                    Nanos::from_millis(90),
                    Nanos::from_millis(40),
                    Nanos::from_millis(1),
                ],
            ],
        }
    }

    fn rr() -> LoadBalancer {
        LoadBalancer::RoundRobin(RoundRobin::new())
    }

    fn from(c: u32) -> RequestInfo {
        RequestInfo {
            client_region: Some(c),
            ..Default::default()
        }
    }

    fn shares(g: &mut Geographic, f: &[crate::BackendState], client: u32) -> [usize; 3] {
        let mut r = rng();
        let mut s = [0; 3];
        for _ in 0..10_000 {
            let i = g.pick(Nanos::ZERO, &from(client), f, &mut r).unwrap();
            s[topo().region_of[i] as usize] += 1;
        }
        s
    }

    #[test]
    fn clients_go_to_their_nearest_healthy_region() {
        let f = fleet(&[0; 10]);
        let mut g = Geographic::new(&topo(), &rr(), 1.4, 50, None).unwrap();
        assert_eq!(shares(&mut g, &f, 0), [10_000, 0, 0]);
        assert_eq!(shares(&mut g, &f, 1), [0, 0, 10_000]);
    }

    #[test]
    fn a_degraded_region_keeps_1_4_times_its_health_and_spills_the_rest() {
        // Region a at 50% healthy: health min(100, 1.4 * 50) = 70; b at
        // 100% -> 100; N = 100. a takes 70%, b the other 30% (Envoy's
        // priority load with overprovisioning 1.4).
        let mut f = fleet(&[0; 10]);
        f[0].eligible = false;
        f[1].eligible = false;
        let mut g = Geographic::new(&topo(), &rr(), 1.4, 50, None).unwrap();
        let s = shares(&mut g, &f, 0);
        // Binomial(10000, 0.7): sd 46; 5 sd = 230.
        assert!((s[0] as i64 - 7_000).abs() < 230, "{s:?}");
        assert_eq!(s[0] + s[1], 10_000);
        // 75% healthy: 1.4 * 75 = 105 -> 100: no spill at all.
        f[1].eligible = true;
        g.refresh(1, &f[..]);
        assert_eq!(shares(&mut g, &f, 0)[0], 10_000);
    }

    #[test]
    fn below_the_panic_threshold_a_level_routes_to_all_its_hosts() {
        // Only c's region... client 1's nearest is c (2 backends). One of two
        // healthy = 50%: not panic; none healthy: c has health 0 and b takes
        // everything. With everything down, level 0 panics.
        let mut f = fleet(&[0; 10]);
        f.iter_mut().for_each(|b| b.eligible = false);
        let mut g = Geographic::new(&topo(), &rr(), 1.4, 50, None).unwrap();
        let s = shares(&mut g, &f, 1);
        assert_eq!(
            s,
            [0, 0, 10_000],
            "total outage: level 0 panics, routing to all its hosts"
        );
    }

    #[test]
    fn without_client_locations_regions_follow_priority() {
        let mut t = topo();
        t.rtt.clear();
        t.priority = vec![3, 1, 2];
        let f = fleet(&[0; 10]);
        let mut g = Geographic::new(&t, &rr(), 1.4, 50, None).unwrap();
        let mut r = rng();
        let i = g
            .pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r)
            .unwrap();
        assert_eq!(t.region_of[i], 1);
    }

    #[test]
    fn canary_takes_its_percentage_and_covers_for_an_empty_side() {
        let mut f = fleet(&[0; 10]);
        let is_canary: Vec<bool> = (0..10).map(|i| i == 9).collect();
        let mut c = Canary::new(&is_canary, 10.0, &rr()).unwrap();
        let mut r = rng();
        let n = 20_000;
        let hits = (0..n)
            .filter(|_| c.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r) == Some(9))
            .count();
        // Binomial(20000, 0.1): sd 42; 5 sd = 212.
        assert!((hits as i64 - 2_000).abs() < 212, "{hits}");
        f[9].eligible = false;
        assert!((0..100)
            .all(|_| c.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r) != Some(9)));
    }
}

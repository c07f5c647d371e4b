//! Geographic routing with Envoy's priority failover, and canary splits.
//!
//! Both route over *groups* of backends (regions; canary and stable), each
//! group balanced by its own inner balancer over a [`Subset`] of the
//! fleet.

use super::{Backends, Balancer, Erased, LoadBalancer, RequestInfo};
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

impl Backends for Subset<'_> {
    fn len(&self) -> usize {
        self.members.len()
    }
    fn is_eligible(&self, i: usize) -> bool {
        self.base.is_eligible(self.members[i] as usize)
    }
    fn is_healthy(&self, i: usize) -> bool {
        self.base.is_healthy(self.members[i] as usize)
    }
    fn is_present(&self, i: usize) -> bool {
        self.base.is_present(self.members[i] as usize)
    }
    fn active(&self, i: usize) -> u32 {
        self.base.active(self.members[i] as usize)
    }
    fn weight(&self, i: usize) -> u32 {
        self.base.weight(self.members[i] as usize)
    }
    fn refreshed(&self) -> bool {
        self.base.refreshed()
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
    /// Health as last seen ([`Backends::is_healthy`]), and healthy members
    /// per group, kept by `refresh` so a group's health is O(1); counted on
    /// first use.
    healthy: Vec<bool>,
    healthy_in: Vec<u32>,
    /// Likewise for membership ([`Backends::is_present`]).
    present: Vec<bool>,
    present_in: Vec<u32>,
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
            healthy: vec![false; place.len()],
            healthy_in: vec![0; groups],
            present: vec![false; place.len()],
            present_in: vec![0; groups],
            counted: false,
            balancers: members.iter().map(|m| inner.for_subset(m)).collect(),
            members,
            place,
        }
    }

    fn count<B: Backends + ?Sized>(&mut self, backends: &B) {
        if self.counted && backends.refreshed() {
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
        let g = g as usize;
        let flip = |now: bool, seen: &mut bool, count: &mut u32| {
            if now != *seen {
                *seen = now;
                if now {
                    *count += 1;
                } else {
                    *count -= 1;
                }
            }
        };
        let present = backends.is_present(i);
        flip(present, &mut self.present[i], &mut self.present_in[g]);
        let healthy = present && backends.is_healthy(i);
        flip(healthy, &mut self.healthy[i], &mut self.healthy_in[g]);
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

    /// Healthy and present members of group `g`.
    fn health(&self, g: usize) -> (u32, u32) {
        (self.healthy_in[g], self.present_in[g])
    }
}

/// How Envoy shares traffic across priority levels
/// (`LoadBalancerBase::recalculatePerPriorityState` and
/// `recalculatePerPriorityPanic`), for levels given as `(healthy, total)`
/// hosts, an overprovisioning factor in percent (140) and a panic
/// threshold in percent (50). Writes each level's share of traffic, in
/// percent summing to 100, into `load` and whether it is in panic into
/// `panic`.
///
/// - A level's health is `min(100, factor * healthy / total)` in integer
///   arithmetic; the total health `min(100, sum)` normalizes the shares:
///   in priority order each level takes `min(remaining, health * 100 /
///   total_health)`, and what rounding leaves goes to the first level with
///   any health.
/// - Panic is decided on the total: while it reaches 100 no level panics;
///   otherwise a level panics when `100 * healthy / total` is below the
///   threshold (a level with no hosts counts as 0%).
/// - When every level panics, traffic is split by host count instead, the
///   remainder to the first level with hosts.
/// - With threshold 0 and no health anywhere, level 0 takes everything
///   (and, not in panic, finds no host).
pub fn priority_loads(
    levels: &[(u32, u32)],
    factor_percent: u64,
    panic_threshold: u64,
    load: &mut [u32],
    panic: &mut [bool],
) {
    let n = levels.len();
    let (load, panic) = (&mut load[..n], &mut panic[..n]);
    load.fill(0);
    panic.fill(false);
    if n == 0 {
        return;
    }
    let health = |(h, t): (u32, u32)| -> u64 {
        if t == 0 {
            0
        } else {
            (factor_percent * u64::from(h) / u64::from(t)).min(100)
        }
    };
    let total: u64 = levels.iter().map(|&l| health(l)).sum::<u64>().min(100);
    if let Some(total) = std::num::NonZeroU64::new(total) {
        let mut remaining = 100u64;
        let mut first = None;
        for (p, &l) in levels.iter().enumerate() {
            let h = health(l);
            if first.is_none() && h > 0 {
                first = Some(p);
            }
            let share = remaining.min(h * 100 / total);
            load[p] = share as u32;
            remaining -= share;
        }
        if let Some(f) = first {
            load[f] += remaining as u32;
        }
    }
    if panic_threshold == 0 && total == 0 {
        load[0] = 100;
        return;
    }
    if total == 100 {
        return;
    }
    let mut all = true;
    for (p, &(h, t)) in levels.iter().enumerate() {
        let healthy_percent = if t == 0 {
            0.0
        } else {
            100.0 * f64::from(h) / f64::from(t)
        };
        panic[p] = healthy_percent < panic_threshold as f64;
        all &= panic[p];
    }
    if all {
        let hosts: u64 = levels.iter().map(|&(_, t)| u64::from(t)).sum();
        if hosts == 0 {
            load.fill(0);
            load[0] = 100;
            return;
        }
        let mut remaining = 100u64;
        for (p, &(_, t)) in levels.iter().enumerate() {
            let share = 100 * u64::from(t) / hosts;
            load[p] = share as u32;
            remaining -= share;
        }
        let first = levels.iter().position(|&(_, t)| t > 0).unwrap_or(0);
        load[first] += remaining as u32;
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
    /// Reused per pick: each level's health, share and panic flag.
    levels: Vec<(u32, u32)>,
    load: Vec<u32>,
    panic: Vec<bool>,
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
            levels: Vec::with_capacity(nr),
            load: vec![0; nr],
            panic: vec![false; nr],
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
        self.levels.clear();
        for &r in levels {
            self.levels.push(self.groups.health(r as usize));
        }
        priority_loads(
            &self.levels,
            self.factor_percent,
            self.panic_percent,
            &mut self.load,
            &mut self.panic,
        );
        // Envoy's choosePriority: a draw of 1 to 100 against the running
        // sum of the shares.
        let draw = rng.random_range(0..100u32) + 1;
        let mut acc = 0;
        let mut level = 0;
        for (p, &share) in self.load[..levels.len()].iter().enumerate() {
            acc += share;
            if draw <= acc {
                level = p;
                break;
            }
        }
        let r = levels[level] as usize;
        self.spilled += u64::from(level > 0);
        if self.panic[level] {
            // Panic: every host of the level, healthy or not, in turn.
            let m = &self.groups.members[r];
            for step in 0..m.len() {
                let k = (self.panic_rr[r] + step) % m.len();
                if backends.is_present(m[k] as usize) {
                    self.panic_rr[r] = k + 1;
                    return Some(m[k] as usize);
                }
            }
            return None;
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
    fn a_total_outage_splits_traffic_by_host_count_in_panic() {
        // Every level in panic (Envoy's recalculateLoadInTotalPanic): by
        // host count, 4 : 4 : 2, routing to every host of the level.
        let mut f = fleet(&[0; 10]);
        f.iter_mut().for_each(|b| b.eligible = false);
        let mut g = Geographic::new(&topo(), &rr(), 1.4, 50, None).unwrap();
        let s = shares(&mut g, &f, 1);
        // Binomial(10000, 0.4): sd 49; 5 sd = 245.
        assert!((s[0] as i64 - 4_000).abs() < 245, "{s:?}");
        assert!((s[1] as i64 - 4_000).abs() < 245, "{s:?}");
        assert!((s[2] as i64 - 2_000).abs() < 245, "{s:?}");
    }

    /// Envoy's `LoadBalancerBaseTest` cases, as `(total, healthy)` per
    /// level -> healthy priority load and panic flags (overprovisioning
    /// 140, panic threshold 50). Cases with degraded or excluded hosts are
    /// left out: fleetsim has neither.
    #[test]
    fn priority_loads_match_envoys_load_balancer_base_tests() {
        let case = |levels: &[(u32, u32)], factor: u64, threshold: u64| {
            let hl: Vec<(u32, u32)> = levels.iter().map(|&(t, h)| (h, t)).collect();
            let mut load = vec![0; hl.len()];
            let mut panic = vec![false; hl.len()];
            priority_loads(&hl, factor, threshold, &mut load, &mut panic);
            (load, panic)
        };
        let (f, t) = (140, 50);
        // PrioritySelection
        assert_eq!(case(&[(1, 0), (1, 0)], f, t).0, [50, 50]);
        assert_eq!(case(&[(1, 0), (2, 0)], f, t).0, [34, 66]);
        assert_eq!(case(&[(1, 0), (2, 0), (1, 1)], f, t).0, [0, 0, 100]);
        assert_eq!(case(&[(1, 1), (2, 0), (1, 1)], f, t).0, [100, 0, 0]);
        // OverProvisioningFactor
        assert_eq!(case(&[(4, 2), (4, 2)], 140, t).0, [70, 30]);
        assert_eq!(case(&[(4, 2), (4, 2)], 100, t).0, [50, 50]);
        // GentleFailover
        let no = vec![false, false];
        assert_eq!(case(&[(1, 1), (1, 1)], f, t), (vec![100, 0], no.clone()));
        assert_eq!(case(&[(2, 1), (2, 1)], f, t), (vec![70, 30], no.clone()));
        assert_eq!(case(&[(4, 1), (2, 2)], f, t), (vec![35, 65], no));
        assert_eq!(
            case(&[(4, 1), (4, 1)], f, t),
            (vec![50, 50], vec![true, true])
        );
        // GentleFailoverWithExtraLevels
        let no3 = vec![false; 3];
        let all3 = vec![true; 3];
        assert_eq!(
            case(&[(1, 1), (1, 1), (1, 1)], f, t),
            (vec![100, 0, 0], no3.clone())
        );
        assert_eq!(case(&[(2, 1), (2, 1), (2, 1)], f, t).0, [70, 30, 0]);
        assert_eq!(case(&[(4, 1), (2, 2), (2, 1)], f, t).0, [35, 65, 0]);
        assert_eq!(
            case(&[(4, 1), (4, 1), (4, 1)], f, t),
            (vec![35, 35, 30], no3.clone())
        );
        assert_eq!(
            case(&[(5, 1), (5, 1), (5, 1)], f, t),
            (vec![34, 33, 33], all3.clone())
        );
        assert_eq!(
            case(&[(5, 0), (5, 0), (5, 5)], f, t),
            (vec![0, 0, 100], no3.clone())
        );
        assert_eq!(
            case(&[(5, 0), (5, 0), (5, 4)], f, t),
            (vec![0, 0, 100], no3)
        );
        assert_eq!(
            case(&[(5, 0), (5, 0), (5, 2)], f, t),
            (vec![34, 33, 33], all3.clone())
        );
        assert_eq!(
            case(&[(5, 0), (3, 0), (2, 0)], f, t),
            (vec![50, 30, 20], all3.clone())
        );
        assert_eq!(
            case(&[(5, 0), (6, 2), (3, 1)], f, t),
            (vec![37, 42, 21], all3.clone())
        );
        assert_eq!(
            case(&[(3, 0), (3, 0), (3, 0)], f, t),
            (vec![34, 33, 33], all3.clone())
        );
        assert_eq!(
            case(&[(0, 0), (6, 0), (3, 0)], f, t),
            (vec![0, 67, 33], all3)
        );
        // Derived from the same code: panic is decided on the total, so a
        // 30%-healthy level keeps its share while the total reaches 100.
        assert_eq!(
            case(&[(10, 3), (10, 10)], f, t),
            (vec![42, 58], vec![false, false])
        );
        assert_eq!(case(&[(10, 7), (10, 10)], f, t).0, [98, 2]);
        assert_eq!(
            case(&[(7, 3), (0, 0)], f, t),
            (vec![100, 0], vec![true, true])
        );
        // Threshold 0 and nothing healthy: level 0, no panic.
        assert_eq!(
            case(&[(2, 0), (2, 0)], f, 0),
            (vec![100, 0], vec![false, false])
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

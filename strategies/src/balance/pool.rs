//! A balancer over backends with stable ids: membership apart from load,
//! as tower's `Discover` keeps it, for runtimes whose backends come and go.
//!
//! A [`Balancer`] sees backends as dense indices `0..len()` and must be told
//! of every change ([`Balancer::refresh`]) and every finished request
//! ([`Balancer::observe`]). [`Pool`] does that bookkeeping itself: the caller
//! names backends by its own ids (`K`: an address, a name, a `u64`),
//! inserts and removes them while requests run, marks them eligible or not,
//! and accounts each request with [`Pool::start`] and [`Pool::finish`]. Every
//! change that a balancer could read is followed by the `refresh` it needs,
//! so no pick depends on the caller remembering one.
//!
//! Inside, each backend has a slot (an index the balancer sees). A removed
//! backend keeps its slot, not present and not eligible, until its last
//! in-flight request has finished (and been counted); the slot is then
//! free, and the next backend inserted with the same weight takes it, so
//! the index space stays as small as the most backends held at once.
//! Balancers read weights when the number of slots changes, so a backend
//! of another weight takes a new slot instead.

use super::{Backends, Balancer, LoadBalancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash};

/// One slot: the backend that holds it, its load and its standing.
#[derive(Debug, Clone)]
struct Slot<K> {
    /// The id, while the backend is a member (`None` once removed).
    id: Option<K>,
    /// Bumped each time the slot is taken, so a ticket of an earlier
    /// holder cannot be counted against a later one.
    generation: u32,
    weight: u32,
    active: u32,
    /// The caller's say (health checks, ejection, breakers).
    eligible: bool,
}

impl<K> Slot<K> {
    fn is_member(&self) -> bool {
        self.id.is_some()
    }
}

/// A request in flight on one backend, from [`Pool::start`] to
/// [`Pool::finish`]. It names the slot and its holder, so it is counted
/// against the right backend even after that backend was removed (and its
/// id inserted again). Not `Clone`: each request is finished once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a started request must be finished, or its backend's load never falls"]
pub struct Ticket {
    slot: u32,
    generation: u32,
}

impl Ticket {
    /// The balancer's index of the backend this request went to.
    pub fn slot(&self) -> usize {
        self.slot as usize
    }
}

/// Backends by stable id over any [`Balancer`] (by default the built-in
/// [`LoadBalancer`]), with per-request accounting.
///
/// ```
/// use rand::SeedableRng;
/// use strategies::{LoadBalancingConfig, Nanos, Pool, RequestInfo};
///
/// let lb = LoadBalancingConfig::default().build().unwrap(); // round robin
/// let mut pool = Pool::new(lb);
/// pool.insert("10.0.0.1:80", 1);
/// pool.insert("10.0.0.2:80", 1);
/// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
/// let who = RequestInfo::default();
/// let first = pool.pick(Nanos::ZERO, &who, &mut rng).unwrap();
/// let ticket = pool.start(&first).unwrap();
/// pool.remove(&first); // its request still finishes and is counted
/// pool.finish(ticket, Nanos::from_millis(5), Nanos::from_millis(5), true);
/// assert_eq!(pool.pick(Nanos::from_millis(5), &who, &mut rng), Some("10.0.0.2:80"));
/// ```
#[derive(Debug, Clone)]
pub struct Pool<K, B = LoadBalancer> {
    balancer: B,
    slots: Vec<Slot<K>>,
    by_id: HashMap<K, u32, BuildHasherDefault<DefaultHasher>>,
    /// Slots no one holds and no request uses, in the order they were
    /// freed.
    free: Vec<u32>,
    /// Most requests one backend holds before it is ineligible.
    max_active: Option<u32>,
}

/// The balancer's view of the slots.
struct View<'a, K> {
    slots: &'a [Slot<K>],
    max_active: Option<u32>,
}

impl<K> Backends for View<'_, K> {
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn is_eligible(&self, i: usize) -> bool {
        let s = &self.slots[i];
        s.is_member() && s.eligible && self.max_active.is_none_or(|m| s.active < m)
    }
    fn is_present(&self, i: usize) -> bool {
        self.slots[i].is_member()
    }
    fn is_healthy(&self, i: usize) -> bool {
        let s = &self.slots[i];
        s.is_member() && s.eligible
    }
    fn active(&self, i: usize) -> u32 {
        self.slots[i].active
    }
    fn weight(&self, i: usize) -> u32 {
        self.slots[i].weight.max(1)
    }
    /// The pool refreshes its balancer after every change it makes, so
    /// indexed balancers keep their O(log n) picks over it.
    #[inline]
    fn refreshed(&self) -> bool {
        true
    }
}

impl<K: Hash + Eq + Clone, B: Balancer> Pool<K, B> {
    /// An empty pool over `balancer`.
    pub fn new(balancer: B) -> Pool<K, B> {
        Pool {
            balancer,
            slots: Vec::new(),
            by_id: HashMap::default(),
            free: Vec::new(),
            max_active: None,
        }
    }

    /// Makes a backend ineligible while it holds `max` requests or more
    /// (a per-backend connection limit); `None` for no limit.
    pub fn set_max_active(&mut self, max: Option<u32>) {
        self.max_active = max;
        for i in 0..self.slots.len() {
            self.refresh(i);
        }
    }

    /// The balancer, to read its state.
    pub fn balancer(&self) -> &B {
        &self.balancer
    }

    fn view(&self) -> View<'_, K> {
        View {
            slots: &self.slots,
            max_active: self.max_active,
        }
    }

    fn refresh(&mut self, i: usize) {
        let view = View {
            slots: &self.slots,
            max_active: self.max_active,
        };
        self.balancer.refresh(i, &view);
    }

    /// Adds backend `id` with `weight` (at least 1), eligible and idle.
    /// Returns false, changing nothing, when `id` is already a member.
    pub fn insert(&mut self, id: K, weight: u32) -> bool {
        if self.by_id.contains_key(&id) {
            return false;
        }
        let weight = weight.max(1);
        let reuse = self
            .free
            .iter()
            .position(|&s| self.slots[s as usize].weight == weight);
        let slot = match reuse {
            Some(at) => {
                let s = self.free.remove(at);
                let slot = &mut self.slots[s as usize];
                slot.id = Some(id.clone());
                slot.generation = slot.generation.wrapping_add(1);
                slot.eligible = true;
                s
            }
            None => {
                self.slots.push(Slot {
                    id: Some(id.clone()),
                    generation: 0,
                    weight,
                    active: 0,
                    eligible: true,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        self.refresh(slot as usize);
        true
    }

    /// Removes backend `id`: it takes no new request. Its requests in
    /// flight still finish through [`Pool::finish`]; its slot is reused
    /// after the last one. Returns false when `id` is not a member.
    pub fn remove(&mut self, id: &K) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        let s = &mut self.slots[slot as usize];
        s.id = None;
        if s.active == 0 {
            self.free.push(slot);
        }
        self.refresh(slot as usize);
        true
    }

    /// Marks backend `id` eligible or not (healthy, not ejected, breaker
    /// closed, as the caller decides). Returns false when `id` is not a
    /// member.
    pub fn set_eligible(&mut self, id: &K, eligible: bool) -> bool {
        let Some(&slot) = self.by_id.get(id) else {
            return false;
        };
        if self.slots[slot as usize].eligible != eligible {
            self.slots[slot as usize].eligible = eligible;
            self.refresh(slot as usize);
        }
        true
    }

    /// As [`Pool::set_eligible`], by slot: a no-op for a slot no member
    /// holds.
    pub fn set_slot_eligible(&mut self, i: usize, eligible: bool) {
        let Some(s) = self.slots.get_mut(i) else {
            return;
        };
        if s.is_member() && s.eligible != eligible {
            s.eligible = eligible;
            self.refresh(i);
        }
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: &K) -> bool {
        self.by_id.contains_key(id)
    }

    /// Members, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = &K> + '_ {
        self.slots.iter().filter_map(|s| s.id.as_ref())
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of slots the balancer sees (members, removed backends still
    /// finishing requests, and free slots).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The slot (balancer index) of member `id`.
    pub fn slot_of(&self, id: &K) -> Option<usize> {
        self.by_id.get(id).map(|&s| s as usize)
    }

    /// The member holding slot `i`, if any.
    pub fn id_at(&self, i: usize) -> Option<&K> {
        self.slots.get(i).and_then(|s| s.id.as_ref())
    }

    /// Requests in flight on member `id`.
    pub fn active(&self, id: &K) -> Option<u32> {
        self.slot_of(id).map(|s| self.slots[s].active)
    }

    /// Whether member `id` may be picked now (eligible and under the
    /// connection limit).
    pub fn is_eligible(&self, id: &K) -> bool {
        self.slot_of(id).is_some_and(|s| self.view().is_eligible(s))
    }

    /// The balancer's choice among the eligible members, or `None` when
    /// none is eligible. Picking counts nothing: call [`Pool::start`] for
    /// the request sent.
    pub fn pick<R: RngCore + ?Sized>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        rng: &mut R,
    ) -> Option<K> {
        self.pick_slot(now, req, rng)
            .and_then(|i| self.slots[i].id.clone())
    }

    /// As [`Pool::pick`], answering with the slot.
    pub fn pick_slot<R: RngCore + ?Sized>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        rng: &mut R,
    ) -> Option<usize> {
        let view = View {
            slots: &self.slots,
            max_active: self.max_active,
        };
        self.balancer
            .pick(now, req, &view, rng)
            .filter(|&i| view.is_eligible(i))
    }

    /// A request is sent to member `id`: its load rises by one. `None`
    /// when `id` is not a member.
    pub fn start(&mut self, id: &K) -> Option<Ticket> {
        let slot = *self.by_id.get(id)?;
        let s = &mut self.slots[slot as usize];
        s.active += 1;
        let ticket = Ticket {
            slot,
            generation: s.generation,
        };
        self.refresh(slot as usize);
        Some(ticket)
    }

    /// The request of `ticket` ended at `now` after `latency`: the
    /// backend's load falls by one and the balancer learns the outcome
    /// (`success` false for errors and timeouts), whether or not the
    /// backend is still a member.
    pub fn finish(&mut self, ticket: Ticket, now: Nanos, latency: Nanos, success: bool) {
        let slot = ticket.slot as usize;
        let s = &mut self.slots[slot];
        debug_assert_eq!(
            s.generation, ticket.generation,
            "a ticket of another holder"
        );
        s.active = s.active.saturating_sub(1);
        let freed = !s.is_member() && s.active == 0;
        self.balancer.observe(now, slot, latency, success);
        self.refresh(slot);
        if freed {
            self.free.push(ticket.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::rng;
    use super::*;
    use crate::{BackendState, LoadBalancingConfig, Refreshed, StrategyKind};
    use rand::{Rng, SeedableRng};

    fn pool(kind: StrategyKind) -> Pool<u64> {
        let lb = LoadBalancingConfig {
            strategy: Some(kind),
            ..Default::default()
        }
        .build()
        .unwrap();
        Pool::new(lb)
    }

    #[test]
    fn ids_are_stable_across_removals_and_slots_are_reused() {
        let mut p = pool(StrategyKind::RoundRobin);
        for id in [10, 20, 30] {
            assert!(p.insert(id, 1));
        }
        assert!(!p.insert(20, 1), "a member is not inserted twice");
        assert!(p.remove(&20));
        assert!(!p.remove(&20));
        assert_eq!(p.slot_of(&10), Some(0));
        assert_eq!(p.slot_of(&30), Some(2));
        assert!(p.insert(40, 1));
        assert_eq!(p.slot_of(&40), Some(1), "the freed slot is reused");
        assert_eq!(p.slots(), 3);
        assert!(p.insert(50, 3));
        assert_eq!(p.slot_of(&50), Some(3), "another weight takes a new slot");
        assert_eq!(p.ids().copied().collect::<Vec<_>>(), vec![10, 40, 30, 50]);
    }

    #[test]
    fn a_removed_backends_requests_finish_and_its_slot_waits_for_them() {
        let mut p = pool(StrategyKind::LeastConnections);
        p.insert(1, 1);
        p.insert(2, 1);
        let t1 = p.start(&1).unwrap();
        let t2 = p.start(&1).unwrap();
        assert!(p.remove(&1));
        assert_eq!(p.start(&1), None, "no new request for a removed backend");
        // Its slot is not free while requests run on it.
        p.insert(3, 1);
        assert_eq!(p.slot_of(&3), Some(2));
        p.finish(t1, Nanos(5), Nanos(5), true);
        p.insert(4, 1);
        assert_eq!(p.slot_of(&4), Some(3), "one request still runs on slot 0");
        p.finish(t2, Nanos(6), Nanos(6), true);
        // Re-inserting the id takes the now free slot, idle.
        p.insert(1, 1);
        assert_eq!(p.slot_of(&1), Some(0));
        assert_eq!(p.active(&1), Some(0));
        let mut r = rng();
        // All idle: least connections picks the lowest slot.
        assert_eq!(p.pick(Nanos(7), &RequestInfo::default(), &mut r), Some(1));
    }

    #[test]
    fn the_connection_limit_and_eligibility_keep_backends_out() {
        let mut p = pool(StrategyKind::RoundRobin);
        p.set_max_active(Some(1));
        p.insert(1, 1);
        p.insert(2, 1);
        let mut r = rng();
        let who = RequestInfo::default();
        let a = p.pick(Nanos(0), &who, &mut r).unwrap();
        let ta = p.start(&a).unwrap();
        let b = p.pick(Nanos(0), &who, &mut r).unwrap();
        assert_ne!(a, b);
        let tb = p.start(&b).unwrap();
        assert_eq!(p.pick(Nanos(0), &who, &mut r), None, "both full");
        p.finish(tb, Nanos(1), Nanos(1), true);
        assert_eq!(p.pick(Nanos(1), &who, &mut r), Some(b));
        p.set_eligible(&b, false);
        assert_eq!(p.pick(Nanos(1), &who, &mut r), None);
        p.finish(ta, Nanos(2), Nanos(2), true);
        assert_eq!(p.pick(Nanos(2), &who, &mut r), Some(a));
    }

    /// The pool's fleet as a plain slice.
    fn slice_of(p: &Pool<u64>) -> Vec<BackendState> {
        (0..p.slots())
            .map(|i| BackendState {
                eligible: p.view().is_eligible(i),
                active: p.slots[i].active,
                weight: p.slots[i].weight,
            })
            .collect()
    }

    /// A random timeline of inserts, removals, eligibility flips, starts
    /// and finishes: every pick through the pool is the pick of a fresh
    /// balancer fed the same fleet as a plain slice and refreshed
    /// in full after every step, for every strategy that needs no topology.
    #[test]
    fn picks_match_a_plain_slice_for_every_strategy() {
        for &kind in StrategyKind::ALL {
            if kind == StrategyKind::Geographic {
                continue;
            }
            for seed in 0..8u64 {
                let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
                let mut p = pool(kind);
                let mut reference = pool(kind).balancer;
                let mut tickets: Vec<(u64, Ticket)> = Vec::new();
                let mut next_id = 0u64;
                for step in 0..400 {
                    let now = Nanos(step * 1_000_000);
                    match r.random_range(0..10) {
                        0..=1 => {
                            p.insert(next_id, 1);
                            next_id += 1;
                        }
                        2 => {
                            let ids: Vec<u64> = p.ids().copied().collect();
                            if !ids.is_empty() {
                                p.remove(&ids[r.random_range(0..ids.len())]);
                            }
                        }
                        3 => {
                            let ids: Vec<u64> = p.ids().copied().collect();
                            if !ids.is_empty() {
                                let id = ids[r.random_range(0..ids.len())];
                                p.set_eligible(&id, r.random_bool(0.7));
                            }
                        }
                        4..=6 => {
                            let who = RequestInfo {
                                key: Some(step % 7),
                                client_ip: Some([10, 0, (step % 3) as u8, 1]),
                                client_region: None,
                            };
                            let (mut r1, mut r2) = (rng(), rng());
                            let fleet = slice_of(&p);
                            let want = reference.pick(now, &who, &Refreshed(&fleet[..]), &mut r1);
                            let got = p.pick_slot(now, &who, &mut r2);
                            assert_eq!(got, want, "{kind} seed {seed} step {step}");
                            if let Some(i) = got {
                                let id = *p.id_at(i).unwrap();
                                tickets.push((id, p.start(&id).unwrap()));
                            }
                        }
                        _ => {
                            if !tickets.is_empty() {
                                let (_, t) = tickets.swap_remove(r.random_range(0..tickets.len()));
                                let slot = t.slot();
                                let latency = Nanos(r.random_range(1..4u64) * 1_000_000);
                                let ok = r.random_bool(0.8);
                                p.finish(t, now, latency, ok);
                                reference.observe(now, slot, latency, ok);
                            }
                        }
                    }
                    // The reference re-reads every backend after every
                    // step, as a caller that never misses a refresh.
                    let fleet = slice_of(&p);
                    for i in 0..fleet.len() {
                        reference.refresh(i, &Refreshed(&fleet[..]));
                    }
                }
                // Every load counted: what remains in flight is what the
                // pool holds.
                let held: u32 = p.slots.iter().map(|s| s.active).sum();
                assert_eq!(held as usize, tickets.len(), "{kind} seed {seed}");
            }
        }
    }
}

//! Weighted least connections, as nginx's `least_conn`.

use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Weighted least connections, as nginx's `least_conn`
/// (`ngx_http_upstream_least_conn_module.c`).
///
/// The eligible backend with the smallest `active / weight` wins, compared
/// by cross-multiplying so no division rounds. Ties are broken by smooth
/// weighted round robin among the tied backends, exactly as nginx does, so
/// an idle fleet is walked in turn rather than herded onto its first
/// backend.
///
/// # Cost
///
/// Picks and [`Balancer::refresh`] are O(c log n) for `c` distinct weights
/// (one or a few instance types in practice). Backends are grouped by
/// weight; each group has a segment tree keeping, per subtree, the least
/// load, how many backends share it, and the largest smooth-WRR current
/// weight among them, with a lazy "every tied backend adds its weight" tag.
/// Within a group every tied backend adds the same weight, so the tag is
/// exact, and combining the groups reproduces nginx's tie-break exactly.
///
/// Below 64 backends nginx's scan is faster than the tree and is used
/// instead; the two make identical choices (a property test drives both
/// through random timelines). The trees are used over views that promise
/// [`Balancer::refresh`] after every change ([`Backends::refreshed`]);
/// over other views the scan is used at any size, so a forgotten refresh
/// costs speed, never a stale pick.
#[derive(Debug, Clone)]
pub struct LeastConnections {
    /// Fleets at least this large use the trees.
    tree_min: usize,
    /// Backends the structures were built for.
    n: usize,
    /// Whether the trees are in use (else nginx's scan).
    trees: bool,
    /// Every backend has the same weight (the scan then compares loads
    /// directly).
    uniform: bool,
    /// Smooth WRR current weight per backend, for the scan.
    current: Vec<i64>,
    /// Backends grouped by weight, in increasing weight.
    classes: Vec<WeightClass>,
    /// Backend -> (class, index within the class).
    place: Vec<(u32, u32)>,
    /// Ties go to the earliest backend (a naive scan) instead of nginx's
    /// smooth round robin among the tied.
    first_on_ties: bool,
}

#[derive(Debug, Clone)]
pub(super) struct WeightClass {
    pub(super) weight: u32,
    /// Global indices, ascending (so a class's earliest is the global
    /// earliest among its members).
    pub(super) members: Vec<u32>,
    pub(super) tree: MinTree,
}

impl LeastConnections {
    /// A balancer; it sizes itself to the backends at the first pick.
    pub fn new() -> LeastConnections {
        LeastConnections::with_tree_from(64)
    }

    /// A balancer that uses the tree from `tree_min` backends on (for
    /// tests and benchmarks of either path).
    pub fn with_tree_from(tree_min: usize) -> LeastConnections {
        LeastConnections {
            tree_min,
            n: 0,
            trees: false,
            uniform: true,
            current: Vec::new(),
            classes: Vec::new(),
            place: Vec::new(),
            first_on_ties: false,
        }
    }

    /// A deliberately worse least-connections: ties go to the earliest
    /// backend, as a naive "first minimum" scan does, so a lightly loaded
    /// fleet sends nearly everything to its first instances. Not a
    /// strategy to deploy: it is what the nginx tie-break is measured
    /// against, and the regression `fleetsim gate` must catch (its tests
    /// run it in place of the real one).
    pub fn first_on_ties() -> LeastConnections {
        LeastConnections {
            first_on_ties: true,
            ..LeastConnections::with_tree_from(usize::MAX)
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.n = n;
        // The trees are only as current as the caller's refreshes.
        self.trees = n >= self.tree_min && backends.refreshed();
        self.current = vec![0; n];
        let w0 = if n > 0 { backends.weight(0) } else { 1 };
        self.uniform = (0..n).all(|i| backends.weight(i) == w0);
        self.classes.clear();
        self.place.clear();
        if !self.trees {
            return;
        }
        (self.classes, self.place) = weight_classes(backends, |i| key_of(backends, i));
    }

    /// nginx's pick over the weight classes' trees.
    fn pick_trees(&mut self) -> Option<usize> {
        // The least load per weight over all classes (cross-multiplied).
        let mut best: Option<(u64, u64)> = None;
        for c in &self.classes {
            let (key, _, _) = c.tree.root();
            if key == INELIGIBLE {
                continue;
            }
            let w = u64::from(c.weight);
            if best.is_none_or(|(ba, bw)| key * bw < ba * w) {
                best = Some((key, w));
            }
        }
        let (ba, bw) = best?;
        let tied = |c: &WeightClass| {
            let (key, _, _) = c.tree.root();
            key != INELIGIBLE && key * bw == ba * u64::from(c.weight)
        };
        let count: u32 = self
            .classes
            .iter()
            .filter(|c| tied(c))
            .map(|c| c.tree.root().1)
            .sum();
        if count == 1 {
            let c = self.classes.iter().find(|c| tied(c))?;
            return Some(c.members[c.tree.root().2] as usize);
        }
        // Every tied backend adds its weight; the largest current weight
        // (earliest backend on ties) wins and gives back the total.
        let mut total: i64 = 0;
        let mut winner: Option<(i64, u32, usize)> = None;
        for (k, c) in self.classes.iter_mut().enumerate() {
            if !tied(c) {
                continue;
            }
            let w = i64::from(c.weight);
            let (_, n, local) = c.tree.root();
            c.tree.add_to_min(w);
            total += w * i64::from(n);
            let cw = c.tree.best_value();
            let global = c.members[local];
            if winner.is_none_or(|(bcw, bg, _)| cw > bcw || (cw == bcw && global < bg)) {
                winner = Some((cw, global, k));
            }
        }
        let (_, global, k) = winner?;
        let local = self.place[global as usize].1 as usize;
        self.classes[k].tree.add_to_leaf(local, -total);
        Some(global as usize)
    }

    /// nginx's scan when every weight is the same: the least load wins,
    /// ties by smooth round robin among the tied (each adds the same
    /// weight, so the earliest largest current weight wins).
    fn scan_uniform<B: Backends + ?Sized>(&mut self, backends: &B) -> Option<usize> {
        let n = backends.len();
        let mut best = u32::MAX;
        let (mut first, mut tied) = (usize::MAX, 0u32);
        for i in 0..n {
            let Some(a) = backends.eligible_active(i) else {
                continue;
            };
            if a < best {
                (best, first, tied) = (a, i, 1);
            } else if a == best {
                tied += 1;
            }
        }
        if first == usize::MAX {
            return None;
        }
        if tied == 1 || self.first_on_ties {
            return Some(first);
        }
        let w = i64::from(backends.weight(first));
        let mut winner = first;
        for i in first..n {
            if backends.eligible_active(i) != Some(best) {
                continue;
            }
            self.current[i] += w;
            if self.current[i] > self.current[winner] {
                winner = i;
            }
        }
        self.current[winner] -= w * i64::from(tied);
        Some(winner)
    }

    fn scan<B: Backends + ?Sized>(&mut self, backends: &B) -> Option<usize> {
        if self.uniform {
            return self.scan_uniform(backends);
        }
        let n = backends.len();
        // (index, active, weight) of the least loaded so far; each
        // backend's load and weight are read once.
        let mut best: Option<(usize, u32, u32)> = None;
        let mut many = false;
        for i in 0..n {
            if !backends.is_eligible(i) {
                continue;
            }
            let (ia, iw) = (backends.active(i), backends.weight(i));
            match best {
                None => best = Some((i, ia, iw)),
                Some((_, ba, bw)) => {
                    if fewer(ia, iw, ba, bw) {
                        best = Some((i, ia, iw));
                        many = false;
                    } else if same(ia, iw, ba, bw) {
                        many = true;
                    }
                }
            }
        }
        let best = best.map(|(i, _, _)| i);
        let first = best?;
        if !many || self.first_on_ties {
            return Some(first);
        }
        let (fa, fw) = (backends.active(first), backends.weight(first));
        let mut total: i64 = 0;
        let mut winner = first;
        for i in first..n {
            if !backends.is_eligible(i) || !same(backends.active(i), backends.weight(i), fa, fw) {
                continue;
            }
            let w = i64::from(backends.weight(i));
            self.current[i] += w;
            total += w;
            if self.current[i] > self.current[winner] {
                winner = i;
            }
        }
        self.current[winner] -= total;
        Some(winner)
    }
}

impl Default for LeastConnections {
    fn default() -> Self {
        LeastConnections::new()
    }
}

fn key_of<B: Backends + ?Sized>(backends: &B, i: usize) -> u64 {
    if backends.is_eligible(i) {
        u64::from(backends.active(i))
    } else {
        INELIGIBLE
    }
}

/// `a_active / a_weight < b_active / b_weight`, without division.
fn fewer(a_active: u32, a_weight: u32, b_active: u32, b_weight: u32) -> bool {
    u64::from(a_active) * u64::from(b_weight) < u64::from(b_active) * u64::from(a_weight)
}

fn same(a_active: u32, a_weight: u32, b_active: u32, b_weight: u32) -> bool {
    u64::from(a_active) * u64::from(b_weight) == u64::from(b_active) * u64::from(a_weight)
}

impl Balancer for LeastConnections {
    fn pick<B, R>(
        &mut self,
        _now: Nanos,
        _req: &RequestInfo,
        backends: &B,
        _rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        if self.n != backends.len() || (self.trees && !backends.refreshed()) {
            self.build(backends);
        }
        if !self.trees {
            return self.scan(backends);
        }
        let winner = self.pick_trees();
        // A view that promised refreshes and missed one: the winner's load
        // is not what the trees hold. Rebuild them from the view.
        if let Some(w) = winner {
            let (c, local) = self.place[w];
            if self.classes[c as usize].tree.key(local as usize) != key_of(backends, w) {
                self.build(backends);
                return self.pick_trees();
            }
        }
        winner
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n != backends.len() {
            self.build(backends);
        } else if self.trees {
            let (c, local) = self.place[i];
            self.classes[c as usize]
                .tree
                .set_key(local as usize, key_of(backends, i));
        }
    }
}

pub(super) const INELIGIBLE: u64 = u64::MAX;

/// Groups backends by weight (in increasing weight) with a tree per group
/// keyed by `key`; returns the groups and each backend's (group, index in
/// group).
pub(super) fn weight_classes<B: Backends + ?Sized>(
    backends: &B,
    key: impl Fn(usize) -> u64,
) -> (Vec<WeightClass>, Vec<(u32, u32)>) {
    let n = backends.len();
    let mut by_weight: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for i in 0..n {
        by_weight
            .entry(backends.weight(i))
            .or_default()
            .push(i as u32);
    }
    let mut place = vec![(0, 0); n];
    let mut classes = Vec::with_capacity(by_weight.len());
    for (c, (weight, members)) in by_weight.into_iter().enumerate() {
        let mut tree = MinTree::new(members.len());
        for (local, &i) in members.iter().enumerate() {
            place[i as usize] = (c as u32, local as u32);
            tree.set_key(local, key(i as usize));
        }
        classes.push(WeightClass {
            weight,
            members,
            tree,
        });
    }
    (classes, place)
}

/// Segment tree over backends: min key, how many leaves share it, and the
/// largest "current weight" among those (earliest index on ties), with a
/// lazy add applied to the min-key leaves only.
#[derive(Debug, Clone, Default)]
pub(super) struct MinTree {
    size: usize,
    levels: u32,
    key: Vec<u64>,
    count: Vec<u32>,
    best: Vec<i64>,
    best_idx: Vec<u32>,
    lazy: Vec<i64>,
}

impl MinTree {
    pub(super) fn new(n: usize) -> MinTree {
        let size = n.next_power_of_two().max(1);
        let levels = size.trailing_zeros();
        let mut t = MinTree {
            size,
            levels,
            key: vec![INELIGIBLE; 2 * size],
            count: vec![1; 2 * size],
            best: vec![0; 2 * size],
            best_idx: vec![0; 2 * size],
            lazy: vec![0; 2 * size],
        };
        for i in 0..size {
            t.best_idx[size + i] = i as u32;
        }
        for node in (1..size).rev() {
            t.pull(node);
        }
        t
    }

    pub(super) fn root(&self) -> (u64, u32, usize) {
        (self.key[1], self.count[1], self.best_idx[1] as usize)
    }

    /// Leaf `i`'s key as last set.
    pub(super) fn key(&self, i: usize) -> u64 {
        self.key[self.size + i]
    }

    /// The largest current weight among the least-loaded leaves.
    pub(super) fn best_value(&self) -> i64 {
        self.best[1]
    }

    fn apply(&mut self, node: usize, d: i64) {
        self.best[node] += d;
        if node < self.size {
            self.lazy[node] += d;
        }
    }

    fn push(&mut self, node: usize) {
        let d = self.lazy[node];
        if d != 0 {
            for c in [2 * node, 2 * node + 1] {
                if self.key[c] == self.key[node] {
                    self.apply(c, d);
                }
            }
            self.lazy[node] = 0;
        }
    }

    fn pull(&mut self, node: usize) {
        let (l, r) = (2 * node, 2 * node + 1);
        let k = self.key[l].min(self.key[r]);
        self.key[node] = k;
        let mut count = 0;
        let mut best: Option<(i64, u32)> = None;
        for c in [l, r] {
            if self.key[c] == k {
                count += self.count[c];
                if best.is_none_or(|(b, _)| self.best[c] > b) {
                    best = Some((self.best[c], self.best_idx[c]));
                }
            }
        }
        let (b, idx) = best.expect("one child holds the minimum");
        self.count[node] = count;
        self.best[node] = b;
        self.best_idx[node] = idx;
    }

    /// Pushes lazy tags down to leaf `i`; returns the leaf's node.
    fn descend(&mut self, i: usize) -> usize {
        for shift in (1..=self.levels).rev() {
            self.push((self.size + i) >> shift);
        }
        self.size + i
    }

    fn ascend(&mut self, mut node: usize) {
        while node > 1 {
            node /= 2;
            self.pull(node);
        }
    }

    pub(super) fn set_key(&mut self, i: usize, key: u64) {
        let leaf = self.descend(i);
        if self.key[leaf] != key {
            self.key[leaf] = key;
            self.ascend(leaf);
        }
    }

    /// Leaf `i`'s current weight.
    pub(super) fn leaf_value(&mut self, i: usize) -> i64 {
        let leaf = self.descend(i);
        self.best[leaf]
    }

    pub(super) fn add_to_leaf(&mut self, i: usize, d: i64) {
        let leaf = self.descend(i);
        self.best[leaf] += d;
        self.ascend(leaf);
    }

    pub(super) fn add_to_min(&mut self, d: i64) {
        self.apply(1, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::BackendState;
    use crate::Refreshed;
    use rand::{Rng, SeedableRng};

    #[test]
    fn picks_the_backend_with_fewest_active_requests() {
        let f = fleet(&[3, 1, 2]);
        assert_eq!(picks(&mut LeastConnections::new(), &f, 3), vec![1, 1, 1]);
    }

    #[test]
    fn walks_an_idle_fleet_in_turn_instead_of_herding() {
        let f = fleet(&[0, 0, 0]);
        assert_eq!(
            picks(&mut LeastConnections::new(), &f, 6),
            vec![0, 1, 2, 0, 1, 2]
        );
    }

    #[test]
    fn the_deliberately_worse_variant_herds_onto_the_first() {
        let f = fleet(&[0, 0, 0]);
        assert_eq!(
            picks(&mut LeastConnections::first_on_ties(), &f, 4),
            vec![0, 0, 0, 0]
        );
        let f = fleet(&[2, 1, 1]);
        assert_eq!(
            picks(&mut LeastConnections::first_on_ties(), &f, 2),
            vec![1, 1]
        );
    }

    #[test]
    fn ties_follow_smooth_weighted_round_robin() {
        // Weights 5,1,1 all idle: nginx's smooth WRR sequence a a b a c a a.
        let f: Vec<BackendState> = [5, 1, 1]
            .iter()
            .map(|&w| BackendState {
                eligible: true,
                active: 0,
                weight: w,
            })
            .collect();
        assert_eq!(
            picks(&mut LeastConnections::new(), &f, 7),
            vec![0, 0, 1, 0, 2, 0, 0]
        );
    }

    #[test]
    fn compares_load_per_weight() {
        let f = vec![
            BackendState {
                eligible: true,
                active: 2,
                weight: 1,
            },
            BackendState {
                eligible: true,
                active: 4,
                weight: 4,
            },
        ];
        assert_eq!(picks(&mut LeastConnections::new(), &f, 1), vec![1]);
    }

    #[test]
    fn ignores_ineligible_backends_even_when_idle() {
        let mut f = fleet(&[0, 5, 7]);
        f[0].eligible = false;
        assert_eq!(picks(&mut LeastConnections::new(), &f, 2), vec![1, 1]);
    }

    /// The reference: nginx's scan, with the same tie-break state.
    fn reference(current: &mut [i64], f: &[BackendState]) -> Option<usize> {
        let mut lc = LeastConnections {
            current: current.to_vec(),
            ..Default::default()
        };
        let got = lc.scan(f);
        current.copy_from_slice(&lc.current);
        got
    }

    #[test]
    fn tree_matches_nginx_scan_on_random_timelines() {
        // Random loads, eligibility flips, picks that add load and
        // completions that remove it, with equal and mixed weights: the
        // trees must make exactly the choices of nginx's linear scan.
        for seed in 0..80u64 {
            let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = r.random_range(1..40);
            let mut f: Vec<BackendState> = (0..n)
                .map(|_| BackendState {
                    eligible: r.random_bool(0.9),
                    active: r.random_range(0..3),
                    weight: 3,
                })
                .collect();
            let mut fast = LeastConnections::with_tree_from(1);
            let mut cur = vec![0i64; n];
            let info = RequestInfo::default();
            for _ in 0..400 {
                match r.random_range(0..10) {
                    0..=5 => {
                        let want = reference(&mut cur, &f);
                        let got = fast.pick(Nanos::ZERO, &info, &Refreshed(&f[..]), &mut r);
                        assert_eq!(got, want, "seed {seed}");
                        if let Some(i) = got {
                            f[i].active += 1;
                            fast.refresh(i, &Refreshed(&f[..]));
                        }
                    }
                    6..=8 => {
                        let i = r.random_range(0..n);
                        if f[i].active > 0 {
                            f[i].active -= 1;
                            fast.refresh(i, &Refreshed(&f[..]));
                        }
                    }
                    _ => {
                        let i = r.random_range(0..n);
                        f[i].eligible = !f[i].eligible;
                        fast.refresh(i, &Refreshed(&f[..]));
                    }
                }
            }
        }
    }
}

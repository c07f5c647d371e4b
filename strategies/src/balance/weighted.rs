//! Weighted round robin: nginx's smooth WRR and Envoy's EDF scheduler.

use super::least_conn::{weight_classes, WeightClass, INELIGIBLE};
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::{Rng, RngCore};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Smooth weighted round robin, as nginx's upstream round robin
/// (`ngx_http_upstream_round_robin.c`, `ngx_http_upstream_get_peer`).
///
/// Each pick, every eligible backend adds its effective weight to its
/// current weight; the largest current weight wins (strict `>`, so ties go
/// to the earlier backend); the winner subtracts the total. Weights 5, 1, 1
/// give `a a b a c a a`. A failure lowers a backend's effective weight by
/// `weight / maxFails` (nginx's `max_fails`, default 1); it recovers by 1
/// per pick in which the backend takes part.
///
/// Cost: O(c log n) per pick for `c` distinct weights. From 64 backends on,
/// backends are grouped by weight, each group in a segment tree whose lazy
/// "every eligible member adds the group's weight" tag is exact because the
/// members' increments are equal; backends recovering from a failure
/// (effective weight below weight) leave their tree and are scanned until
/// they recover. Below 64 backends nginx's own scan is faster and is used.
#[derive(Debug, Clone)]
pub struct SmoothWeighted {
    max_fails: u32,
    tree_min: usize,
    n: usize,
    weights: Vec<i64>,
    effective: Vec<i64>,
    /// Current weights for the scan, and for recovering backends.
    current: Vec<i64>,
    trees: bool,
    classes: Vec<WeightClass>,
    place: Vec<(u32, u32)>,
    /// Tree mode: backends out of their tree while recovering.
    recovering: Vec<u32>,
}

impl SmoothWeighted {
    /// A balancer with nginx's default `max_fails` of 1.
    pub fn new() -> SmoothWeighted {
        SmoothWeighted::with_max_fails(1)
    }

    /// A balancer whose failures lower effective weight by
    /// `weight / max_fails` (0 disables the reduction, as in nginx).
    pub fn with_max_fails(max_fails: u32) -> SmoothWeighted {
        SmoothWeighted {
            max_fails,
            tree_min: 64,
            n: 0,
            weights: Vec::new(),
            effective: Vec::new(),
            current: Vec::new(),
            trees: false,
            classes: Vec::new(),
            place: Vec::new(),
            recovering: Vec::new(),
        }
    }

    /// The same, using the trees from `tree_min` backends on (for tests and
    /// benchmarks of either path).
    pub fn with_tree_from(max_fails: u32, tree_min: usize) -> SmoothWeighted {
        SmoothWeighted {
            tree_min,
            ..SmoothWeighted::with_max_fails(max_fails)
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.n = n;
        self.weights = (0..n).map(|i| i64::from(backends.weight(i))).collect();
        self.effective = self.weights.clone();
        self.current = vec![0; n];
        // The trees are only as current as the caller's refreshes.
        self.trees = n >= self.tree_min && backends.refreshed();
        self.classes.clear();
        self.place.clear();
        self.recovering.clear();
        if !self.trees {
            return;
        }
        (self.classes, self.place) = weight_classes(backends, |i| {
            if backends.is_eligible(i) {
                0
            } else {
                INELIGIBLE
            }
        });
    }

    fn scan<B: Backends + ?Sized>(&mut self, backends: &B) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut total: i64 = 0;
        for i in 0..backends.len() {
            if !backends.is_eligible(i) {
                continue;
            }
            self.current[i] += self.effective[i];
            total += self.effective[i];
            if self.effective[i] < self.weights[i] {
                self.effective[i] += 1;
            }
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] -= total;
        Some(b)
    }

    fn pick_trees<B: Backends + ?Sized>(&mut self, backends: &B) -> Option<usize> {
        let mut total: i64 = 0;
        // (current weight, backend, Some(class) when in a tree)
        let mut best: Option<(i64, u32, Option<usize>)> = None;
        let better = |cw: i64, i: u32, best: &Option<(i64, u32, Option<usize>)>| {
            best.is_none_or(|(bcw, bi, _)| cw > bcw || (cw == bcw && i < bi))
        };
        for (k, c) in self.classes.iter_mut().enumerate() {
            let (key, count, local) = c.tree.root();
            if key == INELIGIBLE {
                continue;
            }
            let w = i64::from(c.weight);
            c.tree.add_to_min(w);
            total += w * i64::from(count);
            let (cw, i) = (c.tree.best_value(), c.members[local]);
            if better(cw, i, &best) {
                best = Some((cw, i, Some(k)));
            }
        }
        for &r in &self.recovering {
            let i = r as usize;
            if !backends.is_eligible(i) {
                continue;
            }
            self.current[i] += self.effective[i];
            total += self.effective[i];
            if self.effective[i] < self.weights[i] {
                self.effective[i] += 1;
            }
            if better(self.current[i], r, &best) {
                best = Some((self.current[i], r, None));
            }
        }
        let (_, winner, class) = best?;
        match class {
            Some(k) => {
                let local = self.place[winner as usize].1 as usize;
                self.classes[k].tree.add_to_leaf(local, -total);
            }
            None => self.current[winner as usize] -= total,
        }
        // Recovered backends rejoin their tree with their current weight.
        let mut k = 0;
        while k < self.recovering.len() {
            let i = self.recovering[k] as usize;
            if self.effective[i] >= self.weights[i] {
                self.recovering.swap_remove(k);
                let (c, local) = self.place[i];
                let tree = &mut self.classes[c as usize].tree;
                let old = tree.leaf_value(local as usize);
                tree.add_to_leaf(local as usize, self.current[i] - old);
                tree.set_key(
                    local as usize,
                    if backends.is_eligible(i) {
                        0
                    } else {
                        INELIGIBLE
                    },
                );
            } else {
                k += 1;
            }
        }
        Some(winner as usize)
    }
}

impl Default for SmoothWeighted {
    fn default() -> Self {
        SmoothWeighted::new()
    }
}

impl Balancer for SmoothWeighted {
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
        if self.trees {
            self.pick_trees(backends)
        } else {
            self.scan(backends)
        }
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n != backends.len() {
            self.build(backends);
        } else if self.trees && !self.recovering.contains(&(i as u32)) {
            let (c, local) = self.place[i];
            let key = if backends.is_eligible(i) {
                0
            } else {
                INELIGIBLE
            };
            self.classes[c as usize].tree.set_key(local as usize, key);
        }
    }

    fn observe(&mut self, _now: Nanos, backend: usize, _latency: Nanos, success: bool) {
        if success || self.max_fails == 0 || backend >= self.n {
            return;
        }
        // nginx integer division: weight / max_fails, floored at 0.
        let cut = self.weights[backend] / i64::from(self.max_fails);
        let ew = (self.effective[backend] - cut).max(0);
        self.effective[backend] = ew;
        if self.trees && ew < self.weights[backend] && !self.recovering.contains(&(backend as u32))
        {
            let (c, local) = self.place[backend];
            let tree = &mut self.classes[c as usize].tree;
            self.current[backend] = tree.leaf_value(local as usize);
            tree.set_key(local as usize, INELIGIBLE);
            self.recovering.push(backend as u32);
        }
    }
}

/// Earliest-deadline-first weighted round robin, as Envoy's
/// `EdfScheduler` (`source/common/upstream/edf_scheduler.h`).
///
/// Each backend's next deadline is `current_time + 1 / weight`; a pick pops
/// the earliest (ties first-in, first-out), moves `current_time` to it and
/// schedules the backend again. O(log n) per pick. With all weights equal,
/// Envoy's round robin degrades to `(start + i) % n` from a random start;
/// so does this one.
#[derive(Debug, Clone, Default)]
pub struct Edf {
    edf: DynamicEdf,
    rr_next: usize,
    built_for: Option<usize>,
    equal_weights: bool,
}

impl Edf {
    /// An empty scheduler; it takes its backends and weights at the first
    /// pick (and again whenever the number of backends changes).
    pub fn new() -> Edf {
        Edf::default()
    }

    fn build<B: Backends + ?Sized, R: RngCore + ?Sized>(&mut self, backends: &B, rng: &mut R) {
        let n = backends.len();
        self.built_for = Some(n);
        self.edf = DynamicEdf::default();
        let w0 = if n > 0 { backends.weight(0) } else { 1 };
        self.equal_weights = (0..n).all(|i| backends.weight(i) == w0);
        if self.equal_weights {
            self.rr_next = if n > 0 { rng.random_range(0..n) } else { 0 };
        } else {
            for i in 0..n {
                self.edf.add(i, f64::from(backends.weight(i)));
            }
        }
    }
}

impl Balancer for Edf {
    fn pick<B, R>(
        &mut self,
        _now: Nanos,
        _req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        let n = backends.len();
        if self.built_for != Some(n) {
            self.build(backends, rng);
        }
        if self.equal_weights {
            for k in 0..n {
                let i = (self.rr_next + k) % n;
                if backends.is_eligible(i) {
                    self.rr_next = (i + 1) % n;
                    return Some(i);
                }
            }
            return None;
        }
        self.edf.pick(
            |i| backends.is_eligible(i),
            |i| f64::from(backends.weight(i)),
        )
    }
}

/// The EDF core shared by [`Edf`] and Envoy's weighted least request: a
/// backend's weight is evaluated each time it is rescheduled.
#[derive(Debug, Clone, Default)]
pub(crate) struct DynamicEdf {
    heap: BinaryHeap<EdfEntry>,
    current_time: f64,
    order: u64,
    /// Ineligible backends popped during one pick (reused, not reallocated).
    skipped: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct EdfEntry {
    deadline: f64,
    order: u64,
    backend: usize,
}

impl PartialEq for EdfEntry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for EdfEntry {}
impl PartialOrd for EdfEntry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for EdfEntry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on (deadline, order).
        o.deadline
            .total_cmp(&self.deadline)
            .then_with(|| o.order.cmp(&self.order))
    }
}

impl DynamicEdf {
    pub(crate) fn add(&mut self, backend: usize, weight: f64) {
        let deadline = self.current_time + 1.0 / weight.max(f64::MIN_POSITIVE);
        self.heap.push(EdfEntry {
            deadline,
            order: self.order,
            backend,
        });
        self.order += 1;
    }

    /// Pops the earliest eligible backend and reschedules it with its
    /// current weight. Ineligible backends popped on the way lose their
    /// turn and are rescheduled after it, so a backend that is down neither
    /// blocks the others nor keeps its place.
    pub(crate) fn pick(
        &mut self,
        eligible: impl Fn(usize) -> bool,
        weight: impl Fn(usize) -> f64,
    ) -> Option<usize> {
        let mut found = None;
        while let Some(e) = self.heap.pop() {
            self.current_time = e.deadline;
            if eligible(e.backend) {
                found = Some(e.backend);
                break;
            }
            self.skipped.push(e.backend);
        }
        if let Some(b) = found {
            self.add(b, weight(b));
        }
        let mut skipped = std::mem::take(&mut self.skipped);
        for b in skipped.drain(..) {
            self.add(b, weight(b));
        }
        self.skipped = skipped;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::{BackendState, Refreshed};

    fn weighted(ws: &[u32]) -> Vec<BackendState> {
        ws.iter()
            .map(|&w| BackendState {
                eligible: true,
                active: 0,
                weight: w,
            })
            .collect()
    }

    #[test]
    fn nginx_smooth_sequence_for_5_1_1() {
        let f = weighted(&[5, 1, 1]);
        assert_eq!(
            picks(&mut SmoothWeighted::new(), &f, 7),
            vec![0, 0, 1, 0, 2, 0, 0]
        );
        // And it repeats with period 7.
        assert_eq!(
            picks(&mut SmoothWeighted::new(), &f, 14)[7..],
            [0, 0, 1, 0, 2, 0, 0]
        );
    }

    #[test]
    fn smooth_shares_match_weights_exactly_per_period() {
        let f = weighted(&[3, 2, 1]);
        let got = picks(&mut SmoothWeighted::new(), &f, 600);
        let count = |i| got.iter().filter(|&&x| x == i).count();
        assert_eq!((count(0), count(1), count(2)), (300, 200, 100));
    }

    #[test]
    fn a_failure_cuts_effective_weight_which_recovers_by_one_per_pick() {
        let f = weighted(&[4, 4]);
        let mut b = SmoothWeighted::new();
        let mut r = rng();
        b.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r);
        b.observe(Nanos::ZERO, 0, Nanos::ZERO, false);
        assert_eq!(b.effective[0], 0);
        for _ in 0..3 {
            b.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r);
        }
        assert_eq!(b.effective[0], 3);
    }

    /// Envoy edf_scheduler_test `Unweighted`: 128 entries of weight 1
    /// come out in insertion order, round after round (FIFO ties).
    #[test]
    fn envoy_edf_unweighted() {
        let mut edf = DynamicEdf::default();
        for i in 0..128 {
            edf.add(i, 1.0);
        }
        for _ in 0..128 {
            for i in 0..128 {
                assert_eq!(edf.pick(|_| true, |_| 1.0), Some(i));
            }
        }
    }

    /// Envoy edf_scheduler_test `Weighted`: entry i has weight i + 1; over
    /// n(n+1)/2 picks each entry is picked exactly i + 1 times.
    #[test]
    fn envoy_edf_weighted() {
        let n = 128;
        let mut edf = DynamicEdf::default();
        for i in 0..n {
            edf.add(i, (i + 1) as f64);
        }
        let mut count = vec![0usize; n];
        for _ in 0..n * (n + 1) / 2 {
            count[edf.pick(|_| true, |i| (i + 1) as f64).unwrap()] += 1;
        }
        for (i, c) in count.iter().enumerate() {
            assert_eq!(*c, i + 1, "entry {i}");
        }
    }

    #[test]
    fn edf_balancer_shares_follow_weights() {
        let f = weighted(&[1, 2, 3, 4]);
        let got = picks(&mut Edf::new(), &f, 2000);
        let count = |i| got.iter().filter(|&&x| x == i).count();
        assert_eq!(
            (count(0), count(1), count(2), count(3)),
            (200, 400, 600, 800)
        );
    }

    #[test]
    fn trees_match_nginx_scan_with_failures_and_flips() {
        use rand::{Rng, SeedableRng};
        for seed in 0..60u64 {
            let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = r.random_range(1..30);
            let mut f: Vec<BackendState> = (0..n)
                .map(|_| BackendState {
                    eligible: r.random_bool(0.9),
                    active: 0,
                    weight: r.random_range(1..4) * 3,
                })
                .collect();
            let max_fails = r.random_range(0..3);
            let mut scan = SmoothWeighted::with_tree_from(max_fails, usize::MAX);
            let mut tree = SmoothWeighted::with_tree_from(max_fails, 1);
            let info = RequestInfo::default();
            for step in 0..500 {
                match r.random_range(0..10) {
                    0..=6 => {
                        let a = scan.pick(Nanos::ZERO, &info, &f[..], &mut r);
                        let b = tree.pick(Nanos::ZERO, &info, &Refreshed(&f[..]), &mut r);
                        assert_eq!(a, b, "seed {seed} step {step}");
                    }
                    7 | 8 => {
                        let i = r.random_range(0..n);
                        scan.observe(Nanos::ZERO, i, Nanos::ZERO, false);
                        tree.observe(Nanos::ZERO, i, Nanos::ZERO, false);
                    }
                    _ => {
                        let i = r.random_range(0..n);
                        f[i].eligible = !f[i].eligible;
                        scan.refresh(i, &f[..]);
                        tree.refresh(i, &Refreshed(&f[..]));
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Long-run shares match the weights: over whole periods, smooth
        /// WRR gives each backend exactly its weight per period, EDF within
        /// one pick.
        #[test]
        fn weighted_shares_match_weights(ws in proptest::collection::vec(1u32..12, 2..9), periods in 1usize..6) {
            let f = weighted(&ws);
            let total: usize = ws.iter().map(|&w| w as usize).sum();
            for (name, got) in [
                ("smooth", picks(&mut SmoothWeighted::new(), &f, total * periods)),
                ("edf", picks(&mut Edf::new(), &f, total * periods)),
            ] {
                for (i, &w) in ws.iter().enumerate() {
                    let c = got.iter().filter(|&&x| x == i).count();
                    let want = w as usize * periods;
                    let slack = if name == "smooth" { 0 } else { 1 };
                    proptest::prop_assert!(c.abs_diff(want) <= slack, "{name}: backend {i} weight {w}: {c} picks, want {want}");
                }
            }
        }
    }

    #[test]
    fn edf_equal_weights_is_round_robin_from_a_random_start() {
        let f = weighted(&[2, 2, 2, 2]);
        let got = picks(&mut Edf::new(), &f, 8);
        let s = got[0];
        assert_eq!(got, (0..8).map(|k| (s + k) % 4).collect::<Vec<_>>());
    }

    #[test]
    fn edf_skips_ineligible_backends() {
        let mut f = weighted(&[1, 3]);
        f[1].eligible = false;
        assert!(picks(&mut Edf::new(), &f, 10).iter().all(|&i| i == 0));
    }
}

//! Random picks: uniform (Envoy `RANDOM`) or by weight (nginx `random`).

use super::eligible::EligibleSet;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::{Rng, RngCore};

/// A random eligible backend.
///
/// By default it honours weights, as nginx's `random` directive: backend
/// `i` is chosen with probability `weight_i / sum(weights)` over the
/// eligible ones. [`RandomPick::unweighted`] ignores weights, as Envoy's
/// `RANDOM` policy. With equal weights the two agree.
///
/// Cost: O(1) uniform picks from a dense set of eligible backends; O(log n)
/// weighted picks from a Fenwick tree of weights. Both are kept current by
/// [`Balancer::refresh`].
#[derive(Debug, Clone, Default)]
pub struct RandomPick {
    ignore_weights: bool,
    n: usize,
    uniform: bool,
    eligible: EligibleSet,
    fenwick: Fenwick,
}

impl RandomPick {
    /// Weighted random (nginx `random`).
    pub fn new() -> RandomPick {
        RandomPick::default()
    }

    /// Uniform random, ignoring weights (Envoy `RANDOM`).
    pub fn unweighted() -> RandomPick {
        RandomPick {
            ignore_weights: true,
            ..RandomPick::default()
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.n = n;
        let w0 = if n > 0 { backends.weight(0) } else { 1 };
        self.uniform = self.ignore_weights || (0..n).all(|i| backends.weight(i) == w0);
        self.eligible = EligibleSet::default();
        self.fenwick = Fenwick::new(n);
        for i in 0..n {
            self.update(i, backends);
        }
    }

    /// Every backend read afresh, as a new balancer would (for views that
    /// do not promise refreshes).
    fn reread<B: Backends + ?Sized>(&mut self, backends: &B) {
        if self.uniform {
            self.eligible.rebuild(backends);
        } else {
            for i in 0..self.n {
                self.update(i, backends);
            }
        }
    }

    fn update<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        let e = backends.is_eligible(i);
        if self.uniform {
            self.eligible.set(i, e);
        } else {
            self.fenwick
                .set(i, if e { u64::from(backends.weight(i)) } else { 0 });
        }
    }
}

impl Balancer for RandomPick {
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
        if self.n != backends.len() {
            self.build(backends);
        } else if !backends.refreshed() {
            self.reread(backends);
        }
        if self.uniform {
            self.eligible.sample(rng)
        } else {
            let total = self.fenwick.total();
            (total > 0).then(|| self.fenwick.find(rng.random_range(0..total)))
        }
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n != backends.len() {
            self.build(backends);
        } else {
            self.update(i, backends);
        }
    }
}

/// Prefix sums of non-negative weights with point updates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fenwick {
    tree: Vec<u64>,
    values: Vec<u64>,
}

impl Fenwick {
    pub(crate) fn new(n: usize) -> Fenwick {
        Fenwick {
            tree: vec![0; n + 1],
            values: vec![0; n],
        }
    }

    pub(crate) fn set(&mut self, i: usize, v: u64) {
        let old = self.values[i];
        if old == v {
            return;
        }
        self.values[i] = v;
        let mut k = i + 1;
        while k < self.tree.len() {
            self.tree[k] = self.tree[k] - old + v;
            k += k & k.wrapping_neg();
        }
    }

    pub(crate) fn total(&self) -> u64 {
        let mut k = self.values.len();
        let mut s = 0;
        while k > 0 {
            s += self.tree[k];
            k -= k & k.wrapping_neg();
        }
        s
    }

    /// The index whose cumulative range contains `target` (< total).
    pub(crate) fn find(&self, mut target: u64) -> usize {
        let n = self.values.len();
        let mut pos = 0;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= target {
                pos = next;
                target -= self.tree[next];
            }
            step /= 2;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::BackendState;

    #[test]
    fn uniform_picks_spread_evenly() {
        let f = fleet(&[0, 0, 0, 0]);
        let mut counts = [0usize; 4];
        for i in picks(&mut RandomPick::new(), &f, 40_000) {
            counts[i] += 1;
        }
        // Binomial(40000, 1/4): sd 86.6; 5 sd = 433.
        for c in counts {
            assert!((c as f64 - 10_000.0).abs() < 433.0, "{counts:?}");
        }
    }

    #[test]
    fn weighted_picks_follow_weights_and_unweighted_ignores_them() {
        let f: Vec<BackendState> = [1, 3]
            .iter()
            .map(|&w| BackendState {
                eligible: true,
                active: 0,
                weight: w,
            })
            .collect();
        let share = |b: &mut RandomPick| {
            picks(b, &f, 40_000).iter().filter(|&&i| i == 1).count() as f64 / 40_000.0
        };
        // sd of a share at n = 40000 is at most 0.0025; 5 sd = 0.0125.
        assert!((share(&mut RandomPick::new()) - 0.75).abs() < 0.0125);
        assert!((share(&mut RandomPick::unweighted()) - 0.5).abs() < 0.0125);
    }

    #[test]
    fn never_picks_an_ineligible_backend() {
        let mut f = fleet(&[0, 0, 0]);
        f[0].eligible = false;
        let got = picks(&mut RandomPick::new(), &f, 1000);
        assert!(got.iter().all(|&i| i != 0));
        f.iter_mut().for_each(|b| b.eligible = false);
        assert_eq!(
            RandomPick::new().pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut rng()),
            None
        );
    }

    #[test]
    fn fenwick_finds_the_range_holding_a_target() {
        let mut t = Fenwick::new(5);
        for (i, w) in [2u64, 0, 3, 1, 4].iter().enumerate() {
            t.set(i, *w);
        }
        assert_eq!(t.total(), 10);
        let got: Vec<usize> = (0..10).map(|x| t.find(x)).collect();
        assert_eq!(got, vec![0, 0, 2, 2, 2, 3, 4, 4, 4, 4]);
        t.set(2, 0);
        assert_eq!(t.total(), 7);
        assert_eq!(t.find(2), 3);
    }
}

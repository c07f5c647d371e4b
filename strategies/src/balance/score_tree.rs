//! The lowest score among eligible backends in O(log n): a segment tree
//! for the balancers whose documented rule is "the best score over every
//! backend" (`response-time`, `performance-based`).

/// A min segment tree over one `f64` score per backend, ineligible
/// backends excluded.
///
/// [`ScoreTree::first_best_from`] returns the backend a linear scan
/// "strictly lower than the best so far, starting at `start`, wrapping"
/// returns, so a balancer can use the tree or its scan and choose alike.
#[derive(Debug, Clone, Default)]
pub(super) struct ScoreTree {
    /// Leaves: a power of two at least the number of backends.
    size: usize,
    /// Heap-ordered nodes, `1` the root; leaves at `size..2 * size`.
    /// Ineligible backends and padding hold `+inf`.
    nodes: Vec<f64>,
    score: Vec<f64>,
    eligible: Vec<bool>,
}

impl ScoreTree {
    /// A tree over `n` backends, all ineligible with score 0.
    pub(super) fn new(n: usize) -> ScoreTree {
        let size = n.next_power_of_two().max(1);
        ScoreTree {
            size,
            nodes: vec![f64::INFINITY; 2 * size],
            score: vec![0.0; n],
            eligible: vec![false; n],
        }
    }

    /// Backends the tree covers.
    pub(super) fn len(&self) -> usize {
        self.score.len()
    }

    /// Sets backend `i`'s score and eligibility.
    pub(super) fn set(&mut self, i: usize, score: f64, eligible: bool) {
        self.score[i] = score;
        self.eligible[i] = eligible;
        self.update(i);
    }

    /// Sets backend `i`'s score, keeping its eligibility.
    pub(super) fn set_score(&mut self, i: usize, score: f64) {
        if self.score[i].to_bits() != score.to_bits() {
            self.score[i] = score;
            self.update(i);
        }
    }

    /// Sets backend `i`'s eligibility, keeping its score.
    pub(super) fn set_eligible(&mut self, i: usize, eligible: bool) {
        if self.eligible[i] != eligible {
            self.eligible[i] = eligible;
            self.update(i);
        }
    }

    fn update(&mut self, i: usize) {
        let mut node = self.size + i;
        self.nodes[node] = if self.eligible[i] {
            self.score[i]
        } else {
            f64::INFINITY
        };
        while node > 1 {
            node /= 2;
            self.nodes[node] = self.nodes[2 * node].min(self.nodes[2 * node + 1]);
        }
    }

    /// The eligible backend with the lowest score, ties going to the first
    /// at or after `start` (wrapping); `None` when none is eligible.
    pub(super) fn first_best_from(&self, start: usize) -> Option<usize> {
        let best = self.nodes[1];
        if best == f64::INFINITY {
            return None;
        }
        self.first_at_most(1, 0, self.size, start, best)
            .or_else(|| self.first_at_most(1, 0, self.size, 0, best))
    }

    /// The first leaf at index `from` or later in `node` (covering
    /// `lo..hi`) whose value is at most `bound`.
    fn first_at_most(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        from: usize,
        bound: f64,
    ) -> Option<usize> {
        if hi <= from || self.nodes[node] > bound {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.first_at_most(2 * node, lo, mid, from, bound)
            .or_else(|| self.first_at_most(2 * node + 1, mid, hi, from, bound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The scan the tree stands in for.
    fn scan(t: &ScoreTree, start: usize) -> Option<usize> {
        let n = t.len();
        let mut best: Option<(f64, usize)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if t.eligible[i] && best.is_none_or(|(b, _)| t.score[i] < b) {
                best = Some((t.score[i], i));
            }
        }
        best.map(|(_, i)| i)
    }

    #[test]
    fn answers_as_the_scan_does_with_ties_and_flips() {
        for seed in 0..200u64 {
            let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let n = r.random_range(1..70);
            let mut t = ScoreTree::new(n);
            for i in 0..n {
                // Few distinct scores, so ties are common.
                t.set(i, f64::from(r.random_range(0..4u8)), r.random_bool(0.8));
            }
            for _ in 0..300 {
                let i = r.random_range(0..n);
                match r.random_range(0..3) {
                    0 => t.set_score(i, f64::from(r.random_range(0..4u8))),
                    1 => t.set_eligible(i, r.random_bool(0.7)),
                    _ => {
                        let start = r.random_range(0..n);
                        assert_eq!(t.first_best_from(start), scan(&t, start), "seed {seed}");
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_eligible_is_none() {
        let mut t = ScoreTree::new(3);
        assert_eq!(t.first_best_from(0), None);
        t.set(2, 5.0, true);
        assert_eq!(t.first_best_from(0), Some(2));
        t.set_eligible(2, false);
        assert_eq!(t.first_best_from(1), None);
    }
}

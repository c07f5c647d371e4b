//! The AgenticGoKit doc's performance-based balancer.

use super::score_tree::ScoreTree;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Response times kept per backend, as in the doc (`make(..., 0, 100)`).
const SAMPLES: usize = 100;
/// The doc's success-rate EMA weight.
const ALPHA: f64 = 0.1;

/// The eligible backend with the highest score
/// `0.7 * success_rate + 0.3 / (1 + mean_response_seconds)`, exactly as the
/// AgenticGoKit scaling guide's `PerformanceBasedBalancer`: the success rate
/// is an EMA with alpha 0.1 starting at 1.0; the mean is over the last 100
/// response times (0 with none); the first backend with the best score wins
/// (strict `>`).
///
/// Faithful to the doc, including its flaw: a backend with no samples
/// scores the maximum 1.0 and takes every request until one completes, and
/// equal scores always go to the earliest backend. The simulator shows what
/// that does to a fleet.
///
/// Cost: O(log n) per pick and per observed response. A segment tree over
/// the scores makes the choice the doc's scan makes (debug builds check
/// every pick against the scan; a property test drives both through random
/// timelines). The tree follows eligibility through [`Balancer::refresh`].
#[derive(Debug, Clone)]
pub struct PerformanceBased {
    stats: Vec<Perf>,
    /// Fleets at least this large use the tree (1: always).
    tree_min: usize,
    /// Negated scores (the tree finds the lowest), when in use.
    tree: Option<ScoreTree>,
}

impl Default for PerformanceBased {
    fn default() -> Self {
        PerformanceBased::with_tree_from(1)
    }
}

#[derive(Debug, Clone)]
struct Perf {
    success_rate: f64,
    ring: Box<[u64; SAMPLES]>,
    len: usize,
    head: usize,
    sum: u128,
}

impl Default for Perf {
    fn default() -> Self {
        Perf {
            success_rate: 1.0,
            ring: Box::new([0; SAMPLES]),
            len: 0,
            head: 0,
            sum: 0,
        }
    }
}

impl Perf {
    fn score(&self) -> f64 {
        let avg_secs = if self.len == 0 {
            0.0
        } else {
            self.sum as f64 / self.len as f64 / 1e9
        };
        self.success_rate * 0.7 + (1.0 / (1.0 + avg_secs)) * 0.3
    }

    fn record(&mut self, latency: u64, success: bool) {
        if self.len == SAMPLES {
            self.sum -= u128::from(self.ring[self.head]);
        } else {
            self.len += 1;
        }
        self.ring[self.head] = latency;
        self.sum += u128::from(latency);
        self.head = (self.head + 1) % SAMPLES;
        self.success_rate = if success {
            self.success_rate * (1.0 - ALPHA) + ALPHA
        } else {
            self.success_rate * (1.0 - ALPHA)
        };
    }
}

impl PerformanceBased {
    /// A balancer with every backend at success rate 1.0 and no samples.
    pub fn new() -> PerformanceBased {
        PerformanceBased::default()
    }

    /// A balancer that uses the tree from `tree_min` backends on (for
    /// tests and benchmarks of either path).
    pub fn with_tree_from(tree_min: usize) -> PerformanceBased {
        PerformanceBased {
            stats: Vec::new(),
            tree_min,
            tree: None,
        }
    }

    /// Sizes the statistics, and the tree when the fleet is large enough,
    /// to `backends`.
    fn fit<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        if self.stats.len() < n {
            self.stats.resize_with(n, Perf::default);
        }
        if n < self.tree_min {
            self.tree = None;
        } else if self.tree.as_ref().is_none_or(|t| t.len() != n) {
            let mut t = ScoreTree::new(n);
            for i in 0..n {
                t.set(i, -self.stats[i].score(), backends.is_eligible(i));
            }
            self.tree = Some(t);
        }
    }

    /// Backend `i`'s current score.
    pub fn score(&self, i: usize) -> f64 {
        self.stats.get(i).map_or(1.0, Perf::score)
    }
}

impl PerformanceBased {
    /// The doc's rule: the first eligible backend with the highest score.
    fn scan<B: Backends + ?Sized>(&self, backends: &B) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        for i in 0..backends.len() {
            if !backends.is_eligible(i) {
                continue;
            }
            let s = self.stats[i].score();
            if best.is_none_or(|(bs, _)| s > bs) {
                best = Some((s, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

impl Balancer for PerformanceBased {
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
        self.fit(backends);
        match &self.tree {
            Some(_) if !backends.refreshed() => self.scan(backends),
            Some(t) => {
                let winner = t.first_best_from(0);
                debug_assert_eq!(
                    winner,
                    self.scan(backends),
                    "performance-based tree is stale: call refresh"
                );
                winner
            }
            None => self.scan(backends),
        }
    }

    fn observe(&mut self, _now: Nanos, backend: usize, latency: Nanos, success: bool) {
        if self.stats.len() <= backend {
            self.stats.resize_with(backend + 1, Perf::default);
        }
        self.stats[backend].record(latency.0, success);
        if let Some(t) = self.tree.as_mut().filter(|t| backend < t.len()) {
            t.set_score(backend, -self.stats[backend].score());
        }
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        match &mut self.tree {
            Some(t) if t.len() == backends.len() => t.set_eligible(i, backends.is_eligible(i)),
            _ => self.fit(backends),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn score_follows_the_doc_formula() {
        let mut lb = PerformanceBased::new();
        assert_eq!(lb.score(0), 1.0);
        lb.observe(Nanos::ZERO, 0, Nanos(S), true);
        // sr stays 1.0; avg 1s -> 0.7 + 0.3 / 2.
        assert!((lb.score(0) - 0.85).abs() < 1e-12);
        lb.observe(Nanos::ZERO, 0, Nanos(3 * S), false);
        // sr = 0.9; avg 2s -> 0.63 + 0.1.
        assert!((lb.score(0) - 0.73).abs() < 1e-12);
    }

    #[test]
    fn keeps_only_the_last_100_response_times() {
        let mut lb = PerformanceBased::new();
        for _ in 0..100 {
            lb.observe(Nanos::ZERO, 0, Nanos(9 * S), true);
        }
        for _ in 0..100 {
            lb.observe(Nanos::ZERO, 0, Nanos(S), true);
        }
        assert!((lb.score(0) - 0.85).abs() < 1e-12);
    }

    #[test]
    fn equal_scores_herd_onto_the_first_backend_as_in_the_doc() {
        let f = fleet(&[0, 0, 0]);
        assert_eq!(picks(&mut PerformanceBased::new(), &f, 5), vec![0; 5]);
    }

    #[test]
    fn a_slower_backend_loses_traffic() {
        let f = fleet(&[0, 0]);
        let mut lb = PerformanceBased::new();
        lb.observe(Nanos::ZERO, 0, Nanos(4 * S), true);
        lb.observe(Nanos::ZERO, 1, Nanos(S), true);
        assert_eq!(picks(&mut lb, &f, 3), vec![1, 1, 1]);
    }

    #[test]
    fn the_tree_chooses_as_the_docs_scan() {
        same_choices(
            |tree| PerformanceBased::with_tree_from(if tree { 1 } else { usize::MAX }),
            S,
        );
    }
}

//! Routing to the fastest responder over a window (the SwiftClaw doc's
//! `response-time` strategy).

use super::score_tree::ScoreTree;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Buckets the window is divided into; the window slides a bucket at a
/// time, so memory per backend is fixed whatever the traffic.
const BUCKETS: usize = 12;

/// The eligible backend with the lowest mean response time over the last
/// `window` (the SwiftClaw doc: `{"strategy": "response-time", "window":
/// "5m"}`).
///
/// A backend with no response in the window counts as fastest, so new or
/// recovered instances are tried; ties go round robin from after the
/// previous pick. The window slides in steps of `window / 12`.
///
/// Cost: O(log n) per pick and per observed response, plus one O(n)
/// update of every mean each time the window slides (every `window / 12`).
/// A segment tree over the means makes the choice the scan over every
/// backend makes (debug builds check every pick against the scan; a
/// property test drives both through random timelines). The tree follows
/// eligibility through [`Balancer::refresh`].
#[derive(Debug, Clone)]
pub struct ResponseTime {
    window: Nanos,
    stats: Vec<Window>,
    next: usize,
    /// Fleets at least this large use the tree (1: always).
    tree_min: usize,
    /// The means as of `tree_bucket`, when in use.
    tree: Option<ScoreTree>,
    tree_bucket: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    /// Per bucket: (bucket number, latency sum ns, count).
    buckets: [(u64, u128, u64); BUCKETS],
}

impl Window {
    fn record(&mut self, bucket: u64, latency: u64) {
        let b = &mut self.buckets[(bucket % BUCKETS as u64) as usize];
        if b.0 != bucket {
            *b = (bucket, 0, 0);
        }
        b.1 += u128::from(latency);
        b.2 += 1;
    }

    /// Mean over the buckets still in the window, or `None`.
    fn mean(&self, current: u64) -> Option<f64> {
        let (mut s, mut c) = (0u128, 0u64);
        for &(b, sum, count) in &self.buckets {
            if count > 0 && b + (BUCKETS as u64) > current && b <= current {
                s += sum;
                c += count;
            }
        }
        (c > 0).then(|| s as f64 / c as f64)
    }
}

impl ResponseTime {
    /// A balancer over a sliding `window` (at least 12 ns).
    pub fn new(window: Nanos) -> ResponseTime {
        ResponseTime::with_tree_from(window, 1)
    }

    /// A balancer that uses the tree from `tree_min` backends on (for
    /// tests and benchmarks of either path).
    pub fn with_tree_from(window: Nanos, tree_min: usize) -> ResponseTime {
        ResponseTime {
            window: Nanos(window.0.max(BUCKETS as u64)),
            stats: Vec::new(),
            next: 0,
            tree_min,
            tree: None,
            tree_bucket: 0,
        }
    }

    /// Sizes the windows, and the tree when the fleet is large enough, to
    /// `backends`; brings the tree's means to bucket `current`.
    fn fit<B: Backends + ?Sized>(&mut self, backends: &B, current: u64) {
        let n = backends.len();
        if self.stats.len() < n {
            self.stats.resize(n, Window::default());
        }
        if n < self.tree_min {
            self.tree = None;
            return;
        }
        match &mut self.tree {
            Some(t) if t.len() == n => {
                if self.tree_bucket != current {
                    for (i, w) in self.stats[..n].iter().enumerate() {
                        t.set_score(i, w.mean(current).unwrap_or(0.0));
                    }
                }
            }
            _ => {
                let mut t = ScoreTree::new(n);
                for (i, w) in self.stats[..n].iter().enumerate() {
                    t.set(i, w.mean(current).unwrap_or(0.0), backends.is_eligible(i));
                }
                self.tree = Some(t);
            }
        }
        self.tree_bucket = current;
    }

    fn bucket(&self, now: Nanos) -> u64 {
        now.0 / (self.window.0 / BUCKETS as u64)
    }
}

impl ResponseTime {
    /// The documented rule: the lowest mean in bucket `current` over every
    /// eligible backend, ties to the first after the previous pick.
    fn scan<B: Backends + ?Sized>(&self, backends: &B, current: u64) -> Option<usize> {
        let n = backends.len();
        let mut best: Option<(f64, usize)> = None;
        for k in 0..n {
            let i = (self.next + k) % n;
            if !backends.is_eligible(i) {
                continue;
            }
            let m = self.stats[i].mean(current).unwrap_or(0.0);
            if best.is_none_or(|(bm, _)| m < bm) {
                best = Some((m, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

impl Balancer for ResponseTime {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        _req: &RequestInfo,
        backends: &B,
        _rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        let n = backends.len();
        let current = self.bucket(now);
        self.fit(backends, current);
        let i = match &self.tree {
            Some(_) if !backends.refreshed() => self.scan(backends, current),
            Some(t) => {
                let i = t.first_best_from(self.next % n);
                debug_assert_eq!(
                    i,
                    self.scan(backends, current),
                    "response-time tree is stale: call refresh"
                );
                i
            }
            None => self.scan(backends, current),
        }?;
        self.next = (i + 1) % n;
        Some(i)
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, _success: bool) {
        if self.stats.len() <= backend {
            self.stats.resize(backend + 1, Window::default());
        }
        let b = self.bucket(now);
        self.stats[backend].record(b, latency.0);
        // A mean in the tree's bucket changes now; after the window slides
        // the next pick refreshes them all.
        if let Some(t) = self.tree.as_mut().filter(|t| backend < t.len()) {
            if b == self.tree_bucket {
                t.set_score(backend, self.stats[backend].mean(b).unwrap_or(0.0));
            }
        }
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        match &mut self.tree {
            Some(t) if t.len() == backends.len() => t.set_eligible(i, backends.is_eligible(i)),
            _ => {
                let current = self.tree_bucket;
                self.fit(backends, current);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn routes_to_the_fastest_and_forgets_outside_the_window() {
        let f = fleet(&[0, 0, 0]);
        let mut lb = ResponseTime::new(Nanos(60 * S));
        let info = RequestInfo::default();
        let mut r = rng();
        lb.observe(Nanos(S), 0, Nanos(3 * S), true);
        lb.observe(Nanos(S), 1, Nanos(S), true);
        lb.observe(Nanos(S), 2, Nanos(2 * S), true);
        assert_eq!(lb.pick(Nanos(2 * S), &info, &f[..], &mut r), Some(1));
        // Backend 1 slows down; the mean over the window moves.
        lb.observe(Nanos(3 * S), 1, Nanos(9 * S), true);
        assert_eq!(lb.pick(Nanos(4 * S), &info, &f[..], &mut r), Some(2));
        // Two minutes later every sample is out of the window: all tie at
        // "no data" and are tried in turn.
        let later: Vec<_> = (0..3)
            .map(|_| lb.pick(Nanos(200 * S), &info, &f[..], &mut r).unwrap())
            .collect();
        let mut sorted = later.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2], "{later:?}");
    }

    #[test]
    fn untried_backends_are_preferred() {
        let f = fleet(&[0, 0]);
        let mut lb = ResponseTime::new(Nanos(60 * S));
        lb.observe(Nanos(S), 0, Nanos(S / 10), true);
        let got = lb.pick(Nanos(2 * S), &RequestInfo::default(), &f[..], &mut rng());
        assert_eq!(got, Some(1));
    }

    #[test]
    fn the_tree_chooses_as_the_scan_while_the_window_slides() {
        // A 60s window sliding every 5s; steps of up to 2s, so samples age
        // out of the window during the timeline.
        same_choices(
            |tree| ResponseTime::with_tree_from(Nanos(60 * S), if tree { 1 } else { usize::MAX }),
            2 * S,
        );
    }
}

//! Peak EWMA: tower's `load::PeakEwma` behind power of two choices.

use super::eligible::EligibleSet;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// A peak-sensitive, exponentially decaying round-trip-time estimate, as
/// tower's `RttEstimate` (`tower/src/load/peak_ewma.rs`) and Finagle's
/// `PeakEwma`.
///
/// A completion slower than the estimate replaces it (the peak); a faster
/// one is blended in with weight `1 - exp(-elapsed / decay)`. Reading the
/// estimate decays it toward zero by the same rule, so an idle backend's
/// stale estimate is forgotten.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttEstimate {
    /// Current estimate in nanoseconds.
    pub rtt_ns: f64,
    /// When it was last updated.
    pub update_at: Nanos,
}

impl RttEstimate {
    /// A fresh estimate of `default_rtt` at `now`.
    pub fn new(default_rtt: Nanos, now: Nanos) -> RttEstimate {
        RttEstimate {
            rtt_ns: default_rtt.0 as f64,
            update_at: now,
        }
    }

    /// Folds in a request sent at `sent_at` and answered at `recv_at`.
    pub fn update(&mut self, sent_at: Nanos, recv_at: Nanos, now: Nanos, decay_ns: f64) -> f64 {
        let rtt = (recv_at - sent_at).0 as f64;
        self.rtt_ns = if self.rtt_ns < rtt {
            rtt
        } else {
            let elapsed = (now - self.update_at).0 as f64;
            let decay = (-elapsed / decay_ns).exp();
            self.rtt_ns * decay + rtt * (1.0 - decay)
        };
        self.update_at = now;
        self.rtt_ns
    }

    /// Decays the estimate to `now` and returns it.
    pub fn decay(&mut self, now: Nanos, decay_ns: f64) -> f64 {
        self.update(now, now, now, decay_ns)
    }
}

/// Peak EWMA balancing: two distinct random eligible backends, the one with
/// the lower cost `rtt_estimate * (active + 1)` wins (the first on ties), as
/// tower's `p2c::Balance` over `PeakEwma` loads. New backends start at
/// `default_rtt`.
///
/// Cost: O(1) per pick.
#[derive(Debug, Clone)]
pub struct PeakEwma {
    default_rtt: Nanos,
    decay_ns: f64,
    estimates: Vec<RttEstimate>,
    eligible: EligibleSet,
    n: usize,
}

impl PeakEwma {
    /// A balancer whose new backends start at `default_rtt` and whose
    /// estimates decay over `decay` (tower's `decay_ns`).
    pub fn new(default_rtt: Nanos, decay: Nanos) -> PeakEwma {
        PeakEwma {
            default_rtt,
            decay_ns: (decay.0 as f64).max(1.0),
            estimates: Vec::new(),
            eligible: EligibleSet::default(),
            n: 0,
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, now: Nanos, backends: &B) {
        let n = backends.len();
        while self.estimates.len() < n {
            self.estimates.push(RttEstimate::new(self.default_rtt, now));
        }
        self.estimates.truncate(n);
        self.eligible = EligibleSet::default();
        for i in 0..n {
            self.eligible.set(i, backends.is_eligible(i));
        }
        self.n = n;
    }

    /// The cost tower's `Load` reports for backend `i` at `now`.
    pub fn cost<B: Backends + ?Sized>(&mut self, now: Nanos, i: usize, backends: &B) -> f64 {
        let est = self.estimates[i].decay(now, self.decay_ns);
        est * f64::from(backends.active(i) + 1)
    }
}

impl Balancer for PeakEwma {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        _req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        if self.n != backends.len() {
            self.build(now, backends);
        } else if !backends.refreshed() {
            self.eligible.rebuild(backends);
        }
        let (a, b) = self.eligible.sample_distinct_pair(rng)?;
        if a == b {
            return Some(a);
        }
        let (ca, cb) = (self.cost(now, a, backends), self.cost(now, b, backends));
        Some(if ca <= cb { a } else { b })
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n == backends.len() {
            self.eligible.set(i, backends.is_eligible(i));
        }
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, _success: bool) {
        if let Some(e) = self.estimates.get_mut(backend) {
            e.update(now - latency, now, now, self.decay_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    const MS: u64 = 1_000_000;
    const MS_F: f64 = 1e6;

    /// tower peak_ewma `default_decay`: the default estimate decays so new
    /// nodes are considered when the default is too high.
    #[test]
    fn default_decay() {
        let decay = 1_000.0 * MS_F;
        let mut e = RttEstimate::new(Nanos(10 * MS), Nanos::ZERO);
        assert_eq!(e.decay(Nanos::ZERO, decay), 10.0 * MS_F);
        let l = e.decay(Nanos(100 * MS), decay);
        assert!(9.0 * MS_F < l && l < 10.0 * MS_F, "{l}");
        let l = e.decay(Nanos(200 * MS), decay);
        assert!(8.0 * MS_F < l && l < 9.0 * MS_F, "{l}");
    }

    /// tower peak_ewma `compound_decay`, with pending requests as the
    /// backend's active count.
    #[test]
    fn compound_decay() {
        let mut lb = PeakEwma::new(Nanos(20 * MS), Nanos(1_000 * MS));
        let mut f = fleet(&[0]);
        lb.build(Nanos::ZERO, &f[..]);
        assert_eq!(lb.cost(Nanos::ZERO, 0, &f[..]), 20.0 * MS_F);
        // rsp0 sent at 100ms.
        f[0].active = 1;
        assert!(lb.cost(Nanos(100 * MS), 0, &f[..]) > 20.0 * MS_F);
        // rsp1 sent at 200ms.
        f[0].active = 2;
        assert!(lb.cost(Nanos(200 * MS), 0, &f[..]) > 40.0 * MS_F);
        // rsp0 completes at 300ms: a 200ms peak, one request still pending.
        f[0].active = 1;
        lb.observe(Nanos(300 * MS), 0, Nanos(200 * MS), true);
        assert_eq!(lb.cost(Nanos(300 * MS), 0, &f[..]), 400_000_000.0);
        // rsp1 completes at 400ms.
        f[0].active = 0;
        lb.observe(Nanos(400 * MS), 0, Nanos(200 * MS), true);
        assert_eq!(lb.cost(Nanos(400 * MS), 0, &f[..]), 200_000_000.0);
        assert!(lb.cost(Nanos(1_400 * MS), 0, &f[..]) < 100_000_000.0);
        assert!(lb.cost(Nanos(11_400 * MS), 0, &f[..]) < 100_000.0);
    }

    #[test]
    fn prefers_the_backend_that_answers_faster() {
        let f = fleet(&[0, 0]);
        let mut lb = PeakEwma::new(Nanos(100 * MS), Nanos(10_000 * MS));
        let mut r = rng();
        let info = RequestInfo::default();
        lb.pick(Nanos::ZERO, &info, &f[..], &mut r);
        lb.observe(Nanos(600 * MS), 0, Nanos(500 * MS), true);
        lb.observe(Nanos(600 * MS), 1, Nanos(50 * MS), true);
        for t in 601..650 {
            assert_eq!(lb.pick(Nanos(t * MS), &info, &f[..], &mut r), Some(1));
        }
    }
}

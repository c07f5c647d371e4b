use super::{Backends, Balancer};
use crate::Nanos;
use rand::{Rng, RngCore};

/// A uniformly random eligible backend, as Envoy's `RANDOM` policy (which
/// ignores weights).
///
/// One draw when the drawn backend is eligible; otherwise a second, exact
/// draw among the eligible ones, so ineligible backends never bias the
/// choice.
#[derive(Debug, Clone, Default)]
pub struct RandomPick;

impl RandomPick {
    /// The random balancer.
    pub fn new() -> RandomPick {
        RandomPick
    }
}

impl Balancer for RandomPick {
    fn pick<B, R>(&mut self, _now: Nanos, backends: &B, rng: &mut R) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        let n = backends.len();
        if n == 0 {
            return None;
        }
        let first = rng.random_range(0..n);
        if backends.is_eligible(first) {
            return Some(first);
        }
        let eligible = (0..n).filter(|&i| backends.is_eligible(i)).count();
        if eligible == 0 {
            return None;
        }
        let k = rng.random_range(0..eligible);
        (0..n).filter(|&i| backends.is_eligible(i)).nth(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    #[test]
    fn spreads_evenly_over_many_picks() {
        let f = fleet(&[0, 0, 0, 0]);
        let n = 40_000;
        let mut counts = [0usize; 4];
        for i in picks(&mut RandomPick::new(), &f, n) {
            counts[i] += 1;
        }
        // Each count is Binomial(40000, 1/4): sd = sqrt(n p (1-p)) = 86.6;
        // 5 sd = 433 keeps a false alarm below 1e-6 per backend.
        for c in counts {
            assert!((c as f64 - 10_000.0).abs() < 433.0, "{counts:?}");
        }
    }

    #[test]
    fn never_picks_an_ineligible_backend() {
        let mut f = fleet(&[0, 0, 0]);
        f[0].eligible = false;
        let got = picks(&mut RandomPick::new(), &f, 1000);
        assert!(got.iter().all(|&i| i != 0));
        assert!(got.contains(&1) && got.contains(&2));
    }
}

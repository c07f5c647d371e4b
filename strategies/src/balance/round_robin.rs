//! Round robin and Caddy's `first`.

use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Round robin over equal weights, as nginx's default upstream balancing.
///
/// Each pick takes the next eligible backend after the previous pick,
/// skipping ineligible ones. The first pick goes to backend 0. Cost is O(1)
/// while backends are eligible; it only scans past ineligible ones.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: usize,
}

impl RoundRobin {
    /// A balancer whose first pick is backend 0.
    pub fn new() -> RoundRobin {
        RoundRobin { next: 0 }
    }
}

impl Balancer for RoundRobin {
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
        let n = backends.len();
        if n == 0 {
            return None;
        }
        let start = self.next % n;
        for k in 0..n {
            let i = (start + k) % n;
            if backends.is_eligible(i) {
                self.next = (i + 1) % n;
                return Some(i);
            }
        }
        None
    }
}

/// The first eligible backend in order, as Caddy's `lb_policy first` (used
/// for primary/standby pairs in the General Bots doc): all traffic goes to
/// backend 0 while it is eligible, then to backend 1, and so on.
///
/// Cost: O(1) while the first backend is eligible.
#[derive(Debug, Clone, Default)]
pub struct First;

impl Balancer for First {
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
        (0..backends.len()).find(|&i| backends.is_eligible(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    #[test]
    fn cycles_through_every_backend_in_order() {
        let f = fleet(&[0, 0, 0]);
        assert_eq!(
            picks(&mut RoundRobin::new(), &f, 7),
            vec![0, 1, 2, 0, 1, 2, 0]
        );
    }

    #[test]
    fn skips_ineligible_backends() {
        let mut f = fleet(&[0, 0, 0, 0]);
        f[1].eligible = false;
        f[3].eligible = false;
        assert_eq!(picks(&mut RoundRobin::new(), &f, 5), vec![0, 2, 0, 2, 0]);
    }

    #[test]
    fn returns_none_when_nothing_is_eligible() {
        let mut f = fleet(&[0, 0]);
        f.iter_mut().for_each(|b| b.eligible = false);
        let info = RequestInfo::default();
        assert_eq!(
            RoundRobin::new().pick(Nanos::ZERO, &info, &f[..], &mut rng()),
            None
        );
        let empty: &[crate::BackendState] = &[];
        assert_eq!(
            RoundRobin::new().pick(Nanos::ZERO, &info, empty, &mut rng()),
            None
        );
        assert_eq!(First.pick(Nanos::ZERO, &info, &f[..], &mut rng()), None);
    }

    #[test]
    fn first_sends_everything_to_the_first_eligible_backend() {
        let mut f = fleet(&[9, 0, 0]);
        assert_eq!(picks(&mut First, &f, 3), vec![0, 0, 0]);
        f[0].eligible = false;
        assert_eq!(picks(&mut First, &f, 3), vec![1, 1, 1]);
    }
}

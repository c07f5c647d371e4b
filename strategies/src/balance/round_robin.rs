use super::{Backends, Balancer};
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
    fn pick<B, R>(&mut self, _now: Nanos, backends: &B, _rng: &mut R) -> Option<usize>
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
        assert_eq!(
            RoundRobin::new().pick(Nanos::ZERO, &f[..], &mut rng()),
            None
        );
        let empty: &[crate::BackendState] = &[];
        assert_eq!(RoundRobin::new().pick(Nanos::ZERO, empty, &mut rng()), None);
    }
}

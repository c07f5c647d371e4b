//! Round robin and Caddy's `first`.

use super::eligible::EligibleBits;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Round robin over equal weights, as nginx's default upstream balancing.
///
/// Each pick takes the next eligible backend after the previous pick,
/// skipping ineligible ones. The first pick goes to backend 0. Eligibility
/// is kept in a bitset by [`Balancer::refresh`] over views that promise it
/// ([`Backends::refreshed`]), so skipping even thousands of absent backends
/// (an autoscaled fleet far below its maximum) costs a few word reads; a
/// backend found ineligible that was not refreshed is skipped all the same.
/// Over other views each pick scans from the previous one.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: usize,
    bits: EligibleIndex,
}

/// Eligibility bits built from the view on first use and kept current by
/// `refresh`.
#[derive(Debug, Clone, Default)]
pub(crate) struct EligibleIndex {
    n: Option<usize>,
    bits: EligibleBits,
}

impl EligibleIndex {
    fn sync<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        if self.n != Some(n) {
            self.n = Some(n);
            self.bits = EligibleBits::with_len(n);
            for i in 0..n {
                self.bits.set(i, backends.is_eligible(i));
            }
        }
    }

    pub(crate) fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n == Some(backends.len()) {
            self.bits.set(i, backends.is_eligible(i));
        } else {
            self.sync(backends);
        }
    }

    /// The first eligible backend at or after `from` (wrapping when
    /// `wrap`), checking each candidate against the view.
    fn find<B: Backends + ?Sized>(
        &mut self,
        from: usize,
        wrap: bool,
        backends: &B,
    ) -> Option<usize> {
        let n = backends.len();
        if !backends.refreshed() {
            // The bits cannot be trusted: read the view, and build them
            // afresh if a refreshed view comes later.
            self.n = None;
            let steps = if wrap { n } else { n.saturating_sub(from) };
            return (0..steps)
                .map(|k| (from + k) % n.max(1))
                .find(|&c| backends.is_eligible(c));
        }
        self.sync(backends);
        let mut at = from;
        for _ in 0..=n {
            let c = if wrap {
                self.bits.next_wrapping(at)?
            } else {
                self.bits.next_from(at)?
            };
            if backends.is_eligible(c) {
                return Some(c);
            }
            // Stale: not refreshed since it turned ineligible.
            self.bits.set(c, false);
            at = c + 1;
            if at >= n && !wrap {
                return None;
            }
            at %= n.max(1);
        }
        None
    }
}

impl RoundRobin {
    /// A balancer whose first pick is backend 0.
    pub fn new() -> RoundRobin {
        RoundRobin::default()
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
        let i = self.bits.find(self.next % n, true, backends)?;
        self.next = (i + 1) % n;
        Some(i)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.bits.refresh(i, backends);
    }
}

/// The first eligible backend in order, as Caddy's `lb_policy first` (used
/// for primary/standby pairs in the General Bots doc): all traffic goes to
/// backend 0 while it is eligible, then to backend 1, and so on.
///
/// Cost: a few word reads (the eligibility bitset kept by
/// [`Balancer::refresh`]).
#[derive(Debug, Clone, Default)]
pub struct First {
    bits: EligibleIndex,
}

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
        self.bits.find(0, false, backends)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.bits.refresh(i, backends);
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
        assert_eq!(
            First::default().pick(Nanos::ZERO, &info, &f[..], &mut rng()),
            None
        );
    }

    #[test]
    fn first_sends_everything_to_the_first_eligible_backend() {
        let mut f = fleet(&[9, 0, 0]);
        let mut first = First::default();
        assert_eq!(picks(&mut first, &f, 3), vec![0, 0, 0]);
        f[0].eligible = false;
        assert_eq!(
            picks(&mut first, &f, 3),
            vec![1, 1, 1],
            "found stale, skipped"
        );
        first.refresh(0, &f[..]);
        f[0].eligible = true;
        first.refresh(0, &f[..]);
        assert_eq!(picks(&mut first, &f, 1), vec![0]);
    }
}

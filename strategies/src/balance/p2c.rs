//! Power of two choices: Envoy's least request and tower's p2c.

use super::eligible::EligibleSet;
use super::{Backends, Balancer, RequestInfo};
use crate::Nanos;
use rand::RngCore;

/// Which production implementation to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum P2cFlavor {
    /// Envoy `LEAST_REQUEST` (`least_request_lb.cc`): `choice_count`
    /// samples *with replacement*, keep the first sample with strictly
    /// fewer active requests.
    #[default]
    Envoy,
    /// tower `balance::p2c`: two *distinct* samples, the first wins ties.
    Tower,
}

/// Power of two (or `choice_count`) random choices by active requests.
///
/// Envoy flavour: with equal weights, `choice_count` (default 2) uniform
/// samples with replacement, indexed as Envoy does (`random() % n`), the
/// least loaded kept (earlier sample on ties). With unequal weights, Envoy
/// switches to an EDF schedule over `weight / (active + 1)^bias` (bias
/// default 1.0), each backend's weight evaluated when it is rescheduled;
/// so does this.
///
/// Cost: O(1) per pick with equal weights (a dense set of eligible
/// backends kept by [`Balancer::refresh`]), O(log n) with unequal ones.
#[derive(Debug, Clone)]
pub struct PowerOfTwo {
    flavor: P2cFlavor,
    choice_count: u32,
    bias: f64,
    n: usize,
    weighted: bool,
    eligible: EligibleSet,
    edf: super::weighted::DynamicEdf,
}

impl PowerOfTwo {
    /// Envoy's least request with `choice_count` samples (at least 2).
    pub fn envoy(choice_count: u32, active_request_bias: f64) -> PowerOfTwo {
        PowerOfTwo {
            flavor: P2cFlavor::Envoy,
            choice_count: choice_count.max(2),
            bias: active_request_bias,
            n: 0,
            weighted: false,
            eligible: EligibleSet::default(),
            edf: Default::default(),
        }
    }

    /// tower's p2c: two distinct samples.
    pub fn tower() -> PowerOfTwo {
        PowerOfTwo {
            flavor: P2cFlavor::Tower,
            ..PowerOfTwo::envoy(2, 1.0)
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.n = n;
        let w0 = if n > 0 { backends.weight(0) } else { 1 };
        self.weighted = self.flavor == P2cFlavor::Envoy && (0..n).any(|i| backends.weight(i) != w0);
        self.eligible = EligibleSet::default();
        for i in 0..n {
            self.eligible.set(i, backends.is_eligible(i));
        }
        if self.weighted {
            let bias = self.bias;
            self.edf = super::weighted::DynamicEdf::default();
            for i in 0..n {
                self.edf.add(i, dynamic_weight(backends, i, bias));
            }
        }
    }
}

fn dynamic_weight<B: Backends + ?Sized>(backends: &B, i: usize, bias: f64) -> f64 {
    let w = f64::from(backends.weight(i));
    let active = f64::from(backends.active(i));
    if bias == 1.0 {
        w / (active + 1.0)
    } else if bias == 0.0 {
        w
    } else {
        w / (active + 1.0).powf(bias)
    }
}

impl Balancer for PowerOfTwo {
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
        } else if !self.weighted && !backends.refreshed() {
            self.eligible.rebuild(backends);
        }
        if self.weighted {
            let bias = self.bias;
            return self.edf.pick(
                |i| backends.is_eligible(i),
                |i| dynamic_weight(backends, i, bias),
            );
        }
        match self.flavor {
            P2cFlavor::Envoy => {
                let n = self.eligible.len();
                if n == 0 {
                    return None;
                }
                let mut candidate: Option<usize> = None;
                for _ in 0..self.choice_count {
                    let sampled = self.eligible.nth((rng.next_u64() % n as u64) as usize);
                    candidate = match candidate {
                        Some(c) if backends.active(sampled) >= backends.active(c) => Some(c),
                        _ => Some(sampled),
                    };
                }
                candidate
            }
            P2cFlavor::Tower => {
                let (a, b) = self.eligible.sample_distinct_pair(rng)?;
                Some(if backends.active(a) <= backends.active(b) {
                    a
                } else {
                    b
                })
            }
        }
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n != backends.len() {
            self.build(backends);
        } else {
            self.eligible.set(i, backends.is_eligible(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::BackendState;

    #[test]
    fn envoy_least_request_normal() {
        // Envoy least_request_lb_test Normal: actives 1 and 2, random()
        // returns 2 then 3, so hosts 0 and 1 are sampled; the less loaded
        // wins, then again with the loads swapped.
        let mut lb = PowerOfTwo::envoy(2, 1.0);
        let f = fleet(&[1, 2]);
        let mut r = Scripted::new(&[2, 3]);
        assert_eq!(
            lb.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r),
            Some(0)
        );
        let f = fleet(&[2, 1]);
        let mut r = Scripted::new(&[2, 3]);
        assert_eq!(
            lb.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r),
            Some(1)
        );
    }

    #[test]
    fn envoy_pnc_keeps_the_least_loaded_of_n_samples() {
        // choice_count 3 (Envoy's "PNC" mode) over 4 hosts with actives
        // 4,3,2,1: random() 2,3,0 samples hosts 2,3,0 -> host 3 (1 active).
        let mut lb = PowerOfTwo::envoy(3, 1.0);
        let f = fleet(&[4, 3, 2, 1]);
        let mut r = Scripted::new(&[2, 3, 0]);
        assert_eq!(
            lb.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r),
            Some(3)
        );
        // Samples with replacement: the same host twice is allowed.
        let mut r = Scripted::new(&[1, 1, 1]);
        assert_eq!(
            lb.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut r),
            Some(1)
        );
    }

    #[test]
    fn envoy_weighted_least_request_follows_weight_over_load() {
        // Weights 1 and 2 with equal (zero) active requests: the EDF over
        // weight / (active + 1) gives the heavier host two picks in three.
        let f = vec![
            BackendState {
                eligible: true,
                active: 0,
                weight: 1,
            },
            BackendState {
                eligible: true,
                active: 0,
                weight: 2,
            },
        ];
        let got = picks(&mut PowerOfTwo::envoy(2, 1.0), &f, 300);
        assert_eq!(got.iter().filter(|&&i| i == 1).count(), 200);
    }

    #[test]
    fn tower_samples_two_distinct_backends() {
        let f = fleet(&[5, 0]);
        // With two backends, distinct samples always include the idle one.
        assert!(picks(&mut PowerOfTwo::tower(), &f, 200)
            .iter()
            .all(|&i| i == 1));
        // Envoy may sample the busy one twice and must then take it.
        assert!(picks(&mut PowerOfTwo::envoy(2, 1.0), &f, 200).contains(&0));
    }

    #[test]
    fn only_eligible_backends_are_sampled() {
        let mut f = fleet(&[0, 9, 9]);
        f[0].eligible = false;
        assert!(picks(&mut PowerOfTwo::envoy(2, 1.0), &f, 100)
            .iter()
            .all(|&i| i != 0));
        assert!(picks(&mut PowerOfTwo::tower(), &f, 100)
            .iter()
            .all(|&i| i != 0));
    }
}

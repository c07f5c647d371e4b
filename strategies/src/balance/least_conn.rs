use super::{Backends, Balancer};
use crate::Nanos;
use rand::RngCore;

/// Weighted least connections, as nginx's `least_conn`
/// (`ngx_http_upstream_least_conn_module.c`).
///
/// The eligible backend with the smallest `active / weight` wins, compared
/// by cross-multiplying so no division rounds. Ties are broken by smooth
/// weighted round robin among the tied backends, exactly as nginx does, so
/// an idle fleet is walked in turn rather than herded onto its first
/// backend.
#[derive(Debug, Clone, Default)]
pub struct LeastConnections {
    /// Smooth WRR current weight per backend, for tie-breaking.
    current: Vec<i64>,
}

impl LeastConnections {
    /// A balancer for `backends` backends (it grows if more appear).
    pub fn new(backends: usize) -> LeastConnections {
        LeastConnections {
            current: vec![0; backends],
        }
    }
}

/// `a_active / a_weight < b_active / b_weight`, without division.
fn fewer(a_active: u32, a_weight: u32, b_active: u32, b_weight: u32) -> bool {
    u64::from(a_active) * u64::from(b_weight) < u64::from(b_active) * u64::from(a_weight)
}

fn same(a_active: u32, a_weight: u32, b_active: u32, b_weight: u32) -> bool {
    u64::from(a_active) * u64::from(b_weight) == u64::from(b_active) * u64::from(a_weight)
}

impl Balancer for LeastConnections {
    fn pick<B, R>(&mut self, _now: Nanos, backends: &B, _rng: &mut R) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        let n = backends.len();
        if self.current.len() < n {
            self.current.resize(n, 0);
        }
        let mut best: Option<usize> = None;
        let mut many = false;
        for i in 0..n {
            if !backends.is_eligible(i) {
                continue;
            }
            match best {
                None => best = Some(i),
                Some(b) => {
                    let (ia, iw) = (backends.active(i), backends.weight(i));
                    let (ba, bw) = (backends.active(b), backends.weight(b));
                    if fewer(ia, iw, ba, bw) {
                        best = Some(i);
                        many = false;
                    } else if same(ia, iw, ba, bw) {
                        many = true;
                    }
                }
            }
        }
        let first = best?;
        if !many {
            return Some(first);
        }
        // Smooth weighted round robin among the backends tied with `first`.
        let (fa, fw) = (backends.active(first), backends.weight(first));
        let mut total: i64 = 0;
        let mut winner = first;
        for i in first..n {
            if !backends.is_eligible(i) || !same(backends.active(i), backends.weight(i), fa, fw) {
                continue;
            }
            let w = i64::from(backends.weight(i));
            self.current[i] += w;
            total += w;
            if self.current[i] > self.current[winner] {
                winner = i;
            }
        }
        self.current[winner] -= total;
        Some(winner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::BackendState;

    #[test]
    fn picks_the_backend_with_fewest_active_requests() {
        let f = fleet(&[3, 1, 2]);
        assert_eq!(picks(&mut LeastConnections::new(3), &f, 3), vec![1, 1, 1]);
    }

    #[test]
    fn walks_an_idle_fleet_in_turn_instead_of_herding() {
        // nginx: ties go through smooth WRR, so equal peers alternate.
        let f = fleet(&[0, 0, 0]);
        assert_eq!(
            picks(&mut LeastConnections::new(3), &f, 6),
            vec![0, 1, 2, 0, 1, 2]
        );
    }

    #[test]
    fn ties_follow_smooth_weighted_round_robin() {
        // Weights 5,1,1 with equal load ratio (0 active): nginx's smooth
        // WRR sequence a a b a c a a.
        let f: Vec<BackendState> = [5, 1, 1]
            .iter()
            .map(|&w| BackendState {
                eligible: true,
                active: 0,
                weight: w,
            })
            .collect();
        assert_eq!(
            picks(&mut LeastConnections::new(3), &f, 7),
            vec![0, 0, 1, 0, 2, 0, 0]
        );
    }

    #[test]
    fn compares_load_per_weight() {
        // 4 active at weight 4 (ratio 1) beats 2 active at weight 1 (ratio 2).
        let f = vec![
            BackendState {
                eligible: true,
                active: 2,
                weight: 1,
            },
            BackendState {
                eligible: true,
                active: 4,
                weight: 4,
            },
        ];
        assert_eq!(picks(&mut LeastConnections::new(2), &f, 1), vec![1]);
    }

    #[test]
    fn ignores_ineligible_backends_even_when_idle() {
        let mut f = fleet(&[0, 5, 7]);
        f[0].eligible = false;
        assert_eq!(picks(&mut LeastConnections::new(3), &f, 2), vec![1, 1]);
    }
}

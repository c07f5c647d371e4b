//! Per-tenant books: what each tenant asked for and got, for fairness
//! between tenants. Kept only when `workload.users` has more than one
//! tenant (user `u` belongs to tenant `u % tenants`); otherwise nothing is
//! allocated and each request costs one branch.

use crate::metrics::{jain_index, TenantResult};

/// Requests per tenant in the measured window.
#[derive(Debug, Clone)]
pub(super) struct Tenants {
    count: u32,
    arrivals: Vec<u64>,
    completed: Vec<u64>,
    /// Sum of completed requests' latencies, nanoseconds.
    latency: Vec<u128>,
}

impl Tenants {
    /// Books for `count` tenants, or none for one.
    pub(super) fn new(count: u32) -> Option<Tenants> {
        (count > 1).then(|| Tenants {
            count,
            arrivals: vec![0; count as usize],
            completed: vec![0; count as usize],
            latency: vec![0; count as usize],
        })
    }

    /// A measured request of `user` arrived.
    pub(super) fn arrived(&mut self, user: u32) {
        self.arrivals[(user % self.count) as usize] += 1;
    }

    /// A measured request of `user` ended, completed (after `latency`
    /// nanoseconds) or not.
    pub(super) fn ended(&mut self, user: u32, completed: bool, latency: u64) {
        let k = (user % self.count) as usize;
        self.completed[k] += u64::from(completed);
        self.latency[k] += u128::from(latency);
    }

    /// Each tenant's goodput (completed over arrived) and Jain's index
    /// over those: 1 when every tenant got the same share of what it
    /// asked for.
    pub(super) fn result(&self) -> TenantResult {
        let goodput: Vec<Option<f64>> = self
            .arrivals
            .iter()
            .zip(&self.completed)
            .map(|(&a, &c)| (a > 0).then(|| c as f64 / a as f64))
            .collect();
        let mean = |k: usize| {
            (self.completed[k] > 0).then(|| self.latency[k] as f64 / self.completed[k] as f64 / 1e9)
        };
        let done: u64 = self.completed.iter().sum();
        let all = (done > 0).then(|| self.latency.iter().sum::<u128>() as f64 / done as f64 / 1e9);
        let mean_latency: Vec<Option<f64>> = (0..self.count as usize).map(mean).collect();
        let slowdown = mean_latency
            .iter()
            .map(|m| match (m, all) {
                (Some(m), Some(a)) if a > 0.0 => Some(m / a),
                _ => None,
            })
            .collect();
        TenantResult {
            fairness: jain_index(goodput.iter().flatten().copied()),
            arrivals: self.arrivals.clone(),
            completed: self.completed.clone(),
            goodput,
            mean_latency,
            slowdown,
        }
    }
}

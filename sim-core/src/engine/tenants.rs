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
}

impl Tenants {
    /// Books for `count` tenants, or none for one.
    pub(super) fn new(count: u32) -> Option<Tenants> {
        (count > 1).then(|| Tenants {
            count,
            arrivals: vec![0; count as usize],
            completed: vec![0; count as usize],
        })
    }

    /// A measured request of `user` arrived.
    pub(super) fn arrived(&mut self, user: u32) {
        self.arrivals[(user % self.count) as usize] += 1;
    }

    /// A measured request of `user` ended, completed or not.
    pub(super) fn ended(&mut self, user: u32, completed: bool) {
        self.completed[(user % self.count) as usize] += u64::from(completed);
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
        TenantResult {
            fairness: jain_index(goodput.iter().flatten().copied()),
            arrivals: self.arrivals.clone(),
            completed: self.completed.clone(),
            goodput,
        }
    }
}

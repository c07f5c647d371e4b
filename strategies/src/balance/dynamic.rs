//! The open balancer interface: a user's own policy behind a trait object,
//! usable wherever a built-in is ([`LoadBalancer::Custom`]).

use super::{Backends, Balancer, LoadBalancer, RequestInfo, StrategyKind};
use crate::Nanos;
use rand::RngCore;
use std::fmt;

/// A load-balancing policy behind a trait object: [`Balancer`] with the
/// fleet and the generator as `dyn`, so a policy written outside this crate
/// can be boxed into [`LoadBalancer::custom`] and used wherever a built-in
/// is (the simulator, [`Canary`](super::Canary),
/// [`StickySessions`](super::StickySessions), pools).
///
/// Every [`Balancer`] that is `Clone + Sync + Debug` is one already; a
/// policy of your own implements this trait directly, with no generics. It
/// must be `Send + Sync` (a configured balancer is shared, read-only, by
/// the threads that run replications, each of which clones its own).
///
/// ```
/// use rand::{RngCore, SeedableRng};
/// use strategies::{BackendState, Backends, Balancer, DynBalancer, LoadBalancer, Nanos, RequestInfo};
///
/// /// Always the highest-numbered eligible backend.
/// #[derive(Debug, Clone)]
/// struct Last;
///
/// impl DynBalancer for Last {
///     fn pick_dyn(&mut self, _: Nanos, _: &RequestInfo, b: &dyn Backends, _: &mut dyn RngCore) -> Option<usize> {
///         (0..b.len()).rev().find(|&i| b.is_eligible(i))
///     }
///     fn clone_dyn(&self) -> Box<dyn DynBalancer> {
///         Box::new(self.clone())
///     }
/// }
///
/// let mut lb = LoadBalancer::custom(Last);
/// let fleet = [BackendState::idle_with(0), BackendState::idle_with(0)];
/// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
/// assert_eq!(lb.pick(Nanos::ZERO, &RequestInfo::default(), &fleet[..], &mut rng), Some(1));
/// ```
pub trait DynBalancer: Send + Sync + fmt::Debug {
    /// [`Balancer::pick`]: the backend for the next request, or `None`.
    fn pick_dyn(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &dyn Backends,
        rng: &mut dyn RngCore,
    ) -> Option<usize>;

    /// [`Balancer::refresh`]: backend `i` changed (a speed hint).
    fn refresh_dyn(&mut self, i: usize, backends: &dyn Backends) {
        let _ = (i, backends);
    }

    /// [`Balancer::observe`]: a request to `backend` finished.
    fn observe_dyn(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        let _ = (now, backend, latency, success);
    }

    /// A copy with the same configuration and state (wrappers copy their
    /// inner balancer per group of backends).
    fn clone_dyn(&self) -> Box<dyn DynBalancer>;

    /// The built-in this policy behaves like, for what a simulator models
    /// per kind (balancer replicas' load views); `None` when it is its own.
    fn like(&self) -> Option<StrategyKind> {
        None
    }
}

impl<T: Balancer + Clone + Sync + fmt::Debug + 'static> DynBalancer for T {
    fn pick_dyn(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &dyn Backends,
        rng: &mut dyn RngCore,
    ) -> Option<usize> {
        self.pick(now, req, backends, rng)
    }

    fn refresh_dyn(&mut self, i: usize, backends: &dyn Backends) {
        self.refresh(i, backends);
    }

    fn observe_dyn(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        self.observe(now, backend, latency, success);
    }

    fn clone_dyn(&self) -> Box<dyn DynBalancer> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn DynBalancer> {
    fn clone(&self) -> Self {
        // The box is itself a `DynBalancer` (it is a `Balancer`): ask the
        // policy inside, not the box.
        (**self).clone_dyn()
    }
}

/// A boxed policy is a [`Balancer`] (one virtual call per pick).
impl Balancer for Box<dyn DynBalancer> {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        (**self).pick_dyn(now, req, &Erased(backends), &mut ErasedRng(rng))
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        (**self).refresh_dyn(i, &Erased(backends));
    }

    fn observe(&mut self, now: Nanos, backend: usize, latency: Nanos, success: bool) {
        (**self).observe_dyn(now, backend, latency, success);
    }
}

impl LoadBalancer {
    /// A user's own policy, usable wherever a built-in is.
    pub fn custom(policy: impl DynBalancer + 'static) -> LoadBalancer {
        LoadBalancer::Custom(Box::new(policy))
    }
}

/// Makes any view, sized or not, usable as `&dyn Backends`.
pub(crate) struct Erased<'a, B: ?Sized>(pub(crate) &'a B);

impl<B: Backends + ?Sized> Backends for Erased<'_, B> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn is_eligible(&self, i: usize) -> bool {
        self.0.is_eligible(i)
    }
    #[inline]
    fn is_healthy(&self, i: usize) -> bool {
        self.0.is_healthy(i)
    }
    #[inline]
    fn is_present(&self, i: usize) -> bool {
        self.0.is_present(i)
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        self.0.active(i)
    }
    #[inline]
    fn eligible_active(&self, i: usize) -> Option<u32> {
        self.0.eligible_active(i)
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.0.weight(i)
    }
    #[inline]
    fn refreshed(&self) -> bool {
        self.0.refreshed()
    }
}

/// Makes any generator, sized or not, usable as `&mut dyn RngCore`.
struct ErasedRng<'a, R: ?Sized>(&'a mut R);

impl<R: RngCore + ?Sized> RngCore for ErasedRng<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;
    use crate::balance::{Canary, LeastConnections, SessionAffinityConfig, StickySessions};

    /// Always the highest-numbered eligible backend; counts what it is told.
    #[derive(Debug, Clone, Default)]
    struct Last {
        refreshes: u32,
        observed: u32,
    }

    impl DynBalancer for Last {
        fn pick_dyn(
            &mut self,
            _: Nanos,
            _: &RequestInfo,
            b: &dyn Backends,
            _: &mut dyn RngCore,
        ) -> Option<usize> {
            (0..b.len()).rev().find(|&i| b.is_eligible(i))
        }
        fn refresh_dyn(&mut self, _: usize, _: &dyn Backends) {
            self.refreshes += 1;
        }
        fn observe_dyn(&mut self, _: Nanos, _: usize, _: Nanos, _: bool) {
            self.observed += 1;
        }
        fn clone_dyn(&self) -> Box<dyn DynBalancer> {
            Box::new(self.clone())
        }
    }

    #[test]
    fn a_user_policy_picks_through_load_balancer() {
        let mut f = fleet(&[0, 0, 0, 0]);
        f[3].eligible = false;
        let mut lb = LoadBalancer::custom(Last::default());
        assert_eq!(picks(&mut lb, &f, 3), vec![2, 2, 2]);
        lb.refresh(1, &f[..]);
        lb.observe(Nanos::ZERO, 1, Nanos(5), true);
        let LoadBalancer::Custom(b) = &lb else {
            panic!("custom")
        };
        let text = format!("{b:?}");
        assert!(
            text.contains("refreshes: 1") && text.contains("observed: 1"),
            "{text}"
        );
        f.iter_mut().for_each(|b| b.eligible = false);
        assert_eq!(
            lb.pick(Nanos::ZERO, &RequestInfo::default(), &f[..], &mut rng()),
            None
        );
    }

    #[test]
    fn a_user_policy_works_inside_canary_and_sticky_sessions() {
        let f = fleet(&[0; 8]);
        let canary_of: Vec<bool> = (0..8).map(|i| i < 4).collect();
        // All traffic to the stable side (4..8), where Last picks 7.
        let mut c = LoadBalancer::Canary(Box::new(
            Canary::new(&canary_of, 0.0, &LoadBalancer::custom(Last::default())).unwrap(),
        ));
        assert_eq!(picks(&mut c, &f, 4), vec![7; 4]);
        // All to the canary side (0..4): 3.
        let mut c = LoadBalancer::Canary(Box::new(
            Canary::new(&canary_of, 100.0, &LoadBalancer::custom(Last::default())).unwrap(),
        ));
        assert_eq!(picks(&mut c, &f, 4), vec![3; 4]);
        let cfg: SessionAffinityConfig = serde_json::from_str("{}").unwrap();
        let mut s = LoadBalancer::Sticky(Box::new(StickySessions::new(
            cfg,
            LoadBalancer::custom(Last::default()),
        )));
        let who = RequestInfo {
            key: Some(9),
            ..RequestInfo::default()
        };
        assert_eq!(s.pick(Nanos::ZERO, &who, &f[..], &mut rng()), Some(7));
    }

    #[test]
    fn a_boxed_built_in_picks_as_the_built_in() {
        let f = fleet(&[3, 1, 0, 1, 0, 2]);
        let mut plain = LeastConnections::new();
        let mut boxed = LoadBalancer::custom(LeastConnections::new());
        assert_eq!(picks(&mut boxed, &f, 20), picks(&mut plain, &f, 20));
    }
}

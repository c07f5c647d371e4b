//! Balancer replicas with stale views (`loadBalancing.replicas`): several
//! proxies share the clients, each a balancer of its own that sees the
//! backends' load as it last learned it (every `loadRefreshInterval`) plus
//! the traffic it sent itself since, or only its own traffic. Least
//! connections herds onto whichever backend looked idlest at the last
//! refresh; power of two choices spreads its picks and resists.
//!
//! Built only with more than one replica; otherwise the engine's one
//! balancer sees the true load.

use super::fleet::FleetView;
use super::step::Observer;
use super::{Engine, Event};
use crate::scenario::Model;
use strategies::{Backends, Balancer, LoadBalancer, Nanos};

pub(super) struct Replicas {
    pub(super) balancers: Vec<LoadBalancer>,
    /// The load every replica last learned, per instance.
    learned: Vec<u32>,
    /// Each replica's own traffic per instance since then (`replica * n +
    /// instance`): requests it sent, less those that left.
    own: Vec<i32>,
    n: usize,
}

/// A replica's view: the fleet as it is (eligibility, weights), with the
/// load it believes.
struct ReplicaView<'a> {
    fleet: FleetView<'a>,
    learned: &'a [u32],
    own: &'a [i32],
}

impl Backends for ReplicaView<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.fleet.len()
    }
    #[inline]
    fn is_eligible(&self, i: usize) -> bool {
        // The instance's own limits act on its true load.
        self.fleet.is_eligible(i)
    }
    #[inline]
    fn is_present(&self, i: usize) -> bool {
        self.fleet.is_present(i)
    }
    #[inline]
    fn is_healthy(&self, i: usize) -> bool {
        self.fleet.is_healthy(i)
    }
    #[inline]
    fn active(&self, i: usize) -> u32 {
        (i64::from(self.learned[i]) + i64::from(self.own[i])).max(0) as u32
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.fleet.weight(i)
    }
    /// The engine refreshes every balancer after each change (`touched`).
    #[inline(always)]
    fn refreshed(&self) -> bool {
        true
    }
}

impl Replicas {
    pub(super) fn new(model: &Model) -> Option<Replicas> {
        let count = model.balancing.config.replicas.unwrap_or(1) as usize;
        (count > 1).then(|| {
            let n = model.fleet.instances.len();
            Replicas {
                balancers: vec![model.balancing.balancer.clone(); count],
                learned: vec![0; n],
                own: vec![0; count * n],
                n,
            }
        })
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Schedules the first load refresh.
    pub(super) fn schedule_view_refresh(&mut self) {
        if let (Some(_), Some(every)) = (&self.routing.replicas, self.model.balancing.refresh) {
            self.events
                .push(every, Event::Replicas(ReplicaEvent::Refresh));
        }
    }

    /// Every replica learns every instance's load.
    fn on_view_refresh(&mut self) {
        let Some(every) = self.model.balancing.refresh else {
            return;
        };
        self.events
            .push(self.now + every, Event::Replicas(ReplicaEvent::Refresh));
        let Some(rep) = &mut self.routing.replicas else {
            return;
        };
        for (i, inst) in self.instances.iter().enumerate() {
            rep.learned[i] = inst.active();
        }
        rep.own.fill(0);
        for i in 0..rep.n {
            self.touched(i);
        }
    }

    /// A replica picks an instance for request `req`, which remembers the
    /// replica.
    #[inline(never)]
    pub(super) fn replica_pick_for(
        &mut self,
        req: u32,
        now: Nanos,
        who: &strategies::RequestInfo,
    ) -> Option<usize> {
        let (i, k) = self.replica_pick(now, who)?;
        self.requests[req as usize].replica = k;
        Some(i)
    }

    /// A replica picks an instance for a request: a replica drawn evenly
    /// for each request (clients spread over the replicas).
    fn replica_pick(&mut self, now: Nanos, who: &strategies::RequestInfo) -> Option<(usize, u8)> {
        use rand::Rng;
        let rep = self.routing.replicas.as_mut()?;
        let k = self.routing.rng.random_range(0..rep.balancers.len());
        let n = rep.n;
        let view = ReplicaView {
            fleet: fleet_view!(self),
            learned: &rep.learned,
            own: &rep.own[k * n..(k + 1) * n],
        };
        let i = rep.balancers[k].pick(now, who, &view, &mut self.routing.rng)?;
        rep.own[k * n + i] += 1;
        Some((i, k as u8))
    }

    /// The request `req`, sent by its replica, leaves instance `i`.
    #[inline]
    pub(super) fn released(&mut self, req: u32, i: usize) {
        if let Some(rep) = &mut self.routing.replicas {
            let k = self.requests[req as usize].replica as usize;
            rep.own[k * rep.n + i] -= 1;
        }
    }

    /// Tells every replica that instance `i`'s load or eligibility changed.
    #[inline(never)]
    pub(super) fn touched_replicas(&mut self, i: usize) {
        let Some(rep) = &mut self.routing.replicas else {
            return;
        };
        let n = rep.n;
        for (k, b) in rep.balancers.iter_mut().enumerate() {
            let view = ReplicaView {
                fleet: fleet_view!(self),
                learned: &rep.learned,
                own: &rep.own[k * n..(k + 1) * n],
            };
            b.refresh(i, &view);
        }
    }
}

/// Balancer replicas' event.
#[derive(Debug, Clone, Copy)]
pub(super) enum ReplicaEvent {
    /// Every replica learns every backend's load.
    Refresh,
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a replicas event.
    pub(super) fn handle_replicas(&mut self, ev: ReplicaEvent) {
        match ev {
            ReplicaEvent::Refresh => self.on_view_refresh(),
        }
    }
}

//! The network between clients and the fleet: each completed request's
//! round trip, from the scenario's table, stretched while a
//! `network-degradation` event between its client region and fleet region
//! lasts, plus jitter drawn per request.
//!
//! Nothing here runs when clients have no location; degradation factors
//! are kept only when the scenario schedules a degradation.
//!
//! The proxy's own time (`deployment.proxyLatency`) is here too: the
//! balancer picks at once, the attempt reaches the instance's queue at
//! once, and the proxy's time there and back is added when a completed
//! request's answer leaves the fleet, one draw per completed request from
//! a stream of its own ([`Engine::proxy_time`]). It holds no slot and no
//! connection, so a balancer counting connections (least-connections) sees
//! an attempt from its pick until its service ends. Without the key
//! nothing is drawn.

use super::step::Observer;
use super::Engine;
use crate::rng::StreamRng;
use crate::scenario::Model;
use strategies::Nanos;

pub(super) struct Network {
    /// Round-trip multiplier per (client region, fleet region), when some
    /// event degrades a link; with how many events are under way on it.
    factors: Vec<(f64, u32)>,
    regions: usize,
    rng: StreamRng,
    /// The proxy's stream, when the scenario has `deployment.proxyLatency`.
    proxy_rng: Option<StreamRng>,
}

impl Network {
    pub(super) fn new(model: &Model, rng: StreamRng, proxy_rng: StreamRng) -> Network {
        let regions = model.fleet.regions.len();
        let degraded = model.failures.events.iter().any(|f| f.client.is_some());
        Network {
            factors: if degraded {
                vec![(1.0, 0); model.network.client_regions.len().max(1) * regions]
            } else {
                Vec::new()
            },
            regions,
            rng,
            proxy_rng: model.network.proxy_latency.is_some().then_some(proxy_rng),
        }
    }

    /// A degradation of the link from client region `client` to fleet
    /// region `region` starts or ends.
    pub(super) fn degrade(&mut self, client: u32, region: u32, factor: f64, starting: bool) {
        let k = client as usize * self.regions + region as usize;
        let (f, n) = &mut self.factors[k];
        if starting {
            *n += 1;
            *f *= factor;
        } else {
            *n -= 1;
            *f = if *n == 0 { 1.0 } else { *f / factor };
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// The proxy's time on a completed request's path, there and back
    /// (zero, and nothing drawn, without `deployment.proxyLatency`).
    #[inline]
    pub(super) fn proxy_time(&mut self) -> Nanos {
        match (
            &self.model.network.proxy_latency,
            &mut self.network.proxy_rng,
        ) {
            (Some(d), Some(rng)) => d.sample(rng),
            _ => Nanos::ZERO,
        }
    }

    /// The round trip of a request from client region `client` served by
    /// instance `instance`, now.
    pub(super) fn round_trip(&mut self, client: u32, instance: u32) -> Nanos {
        let model = self.model;
        let t = &model.network.topology;
        let region = t.region_of[instance as usize] as usize;
        let mut rtt = t
            .rtt
            .get(client as usize)
            .map_or(Nanos::ZERO, |row| row[region]);
        let net = &mut self.network;
        if let Some(&(f, _)) = net.factors.get(client as usize * net.regions + region) {
            if f != 1.0 {
                rtt = Nanos::from_secs_f64(rtt.as_secs_f64() * f);
            }
        }
        if let Some(j) = &model.network.jitter {
            rtt += j.sample(&mut net.rng);
        }
        rtt
    }
}

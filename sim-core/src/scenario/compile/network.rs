//! `workload.clients` and `network`: where clients are and how far.

use super::{Checker, FleetPart};
use crate::scenario::Scenario;
use strategies::balance::Topology;
use strategies::Nanos;

pub(super) struct NetworkPart {
    pub(super) client_regions: Vec<(String, f64)>,
    pub(super) topology: Topology,
    pub(super) jitter: Option<crate::dist::Sampler>,
    pub(super) proxy_latency: Option<crate::dist::Sampler>,
}

impl Scenario {
    pub(super) fn compile_network(&self, c: &mut Checker, fleet: &FleetPart) -> NetworkPart {
        let region_names: Vec<String> = self.deployment.regions.keys().cloned().collect();
        let clients = &self.workload.clients;
        let mut client_regions = Vec::new();
        if !clients.is_empty() {
            let mut acc = 0.0;
            for (name, &share) in clients {
                if !(share.is_finite() && share > 0.0) {
                    c.fail(
                        format!("workload.clients.{name}"),
                        format!("must be a share above 0, found {share}"),
                    );
                }
                acc += share;
                client_regions.push((name.clone(), acc));
            }
            if (acc - 1.0).abs() > 1e-6 {
                c.fail(
                    "workload.clients",
                    format!("shares must sum to 1, found {acc}"),
                );
            }
        }
        let mut rtt: Vec<Vec<Nanos>> = Vec::new();
        if let Some(net) = &self.network {
            if clients.is_empty() {
                c.fail(
                    "network",
                    "round-trip times need `workload.clients` to say where clients are",
                );
            }
            for key in net.rtt.keys() {
                if !clients.contains_key(key) {
                    c.fail(
                        format!("network.rtt.{key}"),
                        format!("`{key}` is not a client region in workload.clients"),
                    );
                }
            }
            for client in clients.keys() {
                let Some(row) = net.rtt.get(client) else {
                    c.fail(
                        format!("network.rtt.{client}"),
                        "missing: give the round-trip time to every fleet region",
                    );
                    continue;
                };
                for key in row.keys() {
                    if !self.deployment.regions.contains_key(key) {
                        c.unknown(
                            format!("network.rtt.{client}.{key}"),
                            "fleet region",
                            key,
                            region_names.iter(),
                            "deployment.regions",
                        );
                    }
                }
                let mut r = Vec::new();
                for region in &region_names {
                    match row.get(region) {
                        Some(d) => r.push(d.nanos()),
                        None => {
                            c.fail(
                                format!("network.rtt.{client}.{region}"),
                                "missing round-trip time",
                            );
                            r.push(Nanos::ZERO);
                        }
                    }
                }
                rtt.push(r);
            }
        } else if !clients.is_empty() {
            rtt = vec![vec![Nanos::ZERO; region_names.len()]; clients.len()];
        }
        let topology = Topology {
            ids: fleet.instances.iter().map(|i| i.id.clone()).collect(),
            region_of: fleet.instances.iter().map(|i| i.region_index).collect(),
            regions: region_names,
            priority: self
                .deployment
                .regions
                .values()
                .map(|r| r.priority.unwrap_or(0))
                .collect(),
            rtt,
        };
        let jitter = self
            .network
            .as_ref()
            .and_then(|n| n.jitter.as_ref())
            .and_then(|j| c.duration_or_dist("network.jitter", j));
        let proxy_latency = self
            .deployment
            .proxy_latency
            .as_ref()
            .and_then(|d| c.duration_or_dist("deployment.proxyLatency", d));
        NetworkPart {
            client_regions,
            topology,
            jitter,
            proxy_latency,
        }
    }
}

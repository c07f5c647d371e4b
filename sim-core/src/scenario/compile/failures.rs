//! `failures`: random instance failures and scheduled events.

use super::{Checker, CompiledFailure, FleetPart, RandomFailureModel};
use crate::dist::DistSpec;
use crate::scenario::{FailureEvent, FailureKind, RandomFailures, Scenario};
use strategies::Nanos;

pub(super) struct FailuresPart {
    pub(super) random: Option<RandomFailureModel>,
    pub(super) events: Vec<CompiledFailure>,
}

impl Scenario {
    pub(super) fn compile_failures(
        &self,
        c: &mut Checker,
        fleet: &FleetPart,
        duration: Nanos,
    ) -> FailuresPart {
        let mut out = FailuresPart {
            random: None,
            events: Vec::new(),
        };
        let Some(f) = &self.failures else {
            return out;
        };
        if let Some(r) = &f.random {
            out.random = Scenario::random_failures(c, r);
        }
        let region_names: Vec<String> = self.deployment.regions.keys().cloned().collect();
        for (k, e) in f.events.iter().enumerate() {
            let path = format!("failures.events[{k}]");
            let Some(client) = self.event_client(c, &path, e) else {
                continue;
            };
            let Some((targets, region, model)) =
                self.event_targets(c, &path, e, fleet, &region_names)
            else {
                continue;
            };
            let factor = Scenario::event_factor(c, &path, e);
            self.check_event(c, &path, e, duration);
            out.events.push(CompiledFailure {
                kind: e.kind,
                at: e.at.nanos(),
                duration: e.duration.nanos(),
                instances: targets,
                region,
                model,
                client,
                factor,
            });
        }
        out
    }

    /// `failures.random`: times between failures and to repair.
    fn random_failures(c: &mut Checker, r: &RandomFailures) -> Option<RandomFailureModel> {
        let between = DistSpec::Exponential {
            mean: r.mean_time_between_failures,
        }
        .sampler();
        let repair = DistSpec::Exponential {
            mean: r.mean_time_to_repair,
        }
        .sampler();
        match (between, repair) {
            (Ok(between), Ok(repair)) => {
                return Some(RandomFailureModel {
                    between,
                    repair,
                    mode: r.mode,
                })
            }
            (Err(_), _) => c.fail(
                "failures.random.meanTimeBetweenFailures",
                "must be longer than 0s",
            ),
            (_, Err(_)) => c.fail("failures.random.meanTimeToRepair", "must be longer than 0s"),
        }
        None
    }

    /// A network degradation's client region (`from`), and a provider
    /// event's `model` given exactly when the kind needs it. `None`: the
    /// event is refused (said in `c`).
    fn event_client(&self, c: &mut Checker, path: &str, e: &FailureEvent) -> Option<Option<u32>> {
        let provider = e.kind.hits_provider();
        let mut client = None;
        let link = e.kind == FailureKind::NetworkDegradation;
        if link != e.from.is_some() {
            if link {
                c.fail(
                    format!("{path}.from"),
                    "needs the client region (of workload.clients) whose link degrades",
                );
            } else {
                c.fail(
                    format!("{path}.from"),
                    "applies only to network-degradation",
                );
            }
            return None;
        }
        if let Some(from) = &e.from {
            match self.workload.clients.get_index_of(from) {
                Some(k) => client = Some(k as u32),
                None => {
                    c.unknown(
                        format!("{path}.from"),
                        "client region",
                        from,
                        self.workload.clients.keys(),
                        "workload.clients",
                    );
                    return None;
                }
            }
            if self.network.is_none() {
                c.fail(
                    format!("{path}.type"),
                    "degrades round trips, but the scenario has no `network.rtt`",
                );
            }
        }
        if provider != e.model.is_some() {
            if provider {
                c.fail(
                    format!("{path}.model"),
                    "needs the model of llm.models whose provider it hits",
                );
            } else {
                c.fail(
                    format!("{path}.model"),
                    "applies only to provider-outage and provider-slowdown",
                );
            }
            return None;
        }
        Some(client)
    }

    /// What an event hits: instances (by index), a region, or a provider's
    /// model. `None`: the event is refused (said in `c`).
    fn event_targets(
        &self,
        c: &mut Checker,
        path: &str,
        e: &FailureEvent,
        fleet: &FleetPart,
        region_names: &[String],
    ) -> Option<(Vec<u32>, Option<u32>, Option<u32>)> {
        let provider = e.kind.hits_provider();
        let regional = matches!(
            e.kind,
            FailureKind::RegionOutage
                | FailureKind::CapacityShortage
                | FailureKind::NetworkDegradation
        );
        if provider {
            for (key, given) in [
                ("instance", e.instance.is_some()),
                ("region", e.region.is_some()),
            ] {
                if given {
                    c.fail(
                        format!("{path}.{key}"),
                        "provider events take `model`: the provider fails for the whole fleet",
                    );
                }
            }
            let name = e.model.as_ref().expect("checked above");
            match self.llm.models.get_index_of(name) {
                Some(m) => Some((Vec::new(), None, Some(m as u32))),
                None => {
                    c.unknown(
                        format!("{path}.model"),
                        "model",
                        name,
                        self.llm.models.keys(),
                        "llm.models",
                    );
                    None
                }
            }
        } else if regional {
            if e.instance.is_some() {
                c.fail(
                    format!("{path}.instance"),
                    "region events take `region`, not `instance`",
                );
            }
            let Some(r) = &e.region else {
                c.fail(format!("{path}.region"), "needs the region it happens to");
                return None;
            };
            let Some(ri) = region_names.iter().position(|n| n == r) else {
                c.unknown(
                    format!("{path}.region"),
                    "region",
                    r,
                    region_names.iter(),
                    "deployment.regions",
                );
                return None;
            };
            let hit: Vec<u32> = if e.kind == FailureKind::RegionOutage {
                fleet
                    .instances
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.region_index as usize == ri)
                    .map(|(k, _)| k as u32)
                    .collect()
            } else {
                Vec::new()
            };
            Some((hit, Some(ri as u32), None))
        } else {
            if e.region.is_some() {
                c.fail(
                    format!("{path}.region"),
                    "instance events take `instance`, not `region`",
                );
            }
            let Some(id) = &e.instance else {
                c.fail(
                    format!("{path}.instance"),
                    "needs the instance id, e.g. `us-east-1/0`",
                );
                return None;
            };
            match fleet.instances.iter().position(|i| i.id == *id) {
                Some(k) => Some((vec![k as u32], None, None)),
                None => {
                    let ids: Vec<String> = fleet.instances.iter().map(|i| i.id.clone()).collect();
                    c.unknown(
                        format!("{path}.instance"),
                        "instance",
                        id,
                        ids.iter().take(20),
                        "the fleet (instances are named `region/index` from 0)",
                    );
                    None
                }
            }
        }
    }

    /// A slowing event's factor (1 for the others).
    fn event_factor(c: &mut Checker, path: &str, e: &FailureEvent) -> f64 {
        let slowing = matches!(
            e.kind,
            FailureKind::SlowInstance
                | FailureKind::ProviderSlowdown
                | FailureKind::NetworkDegradation
        );
        match (slowing, e.factor) {
            (true, Some(f)) if f.is_finite() && f >= 1.0 => f,
            (true, Some(f)) => {
                c.fail(
                    format!("{path}.factor"),
                    format!("must be 1 or more, found {f}"),
                );
                1.0
            }
            (true, None) => {
                c.fail(
                    format!("{path}.factor"),
                    "needs a `factor`, e.g. 3 for three times slower",
                );
                1.0
            }
            (false, Some(_)) => {
                c.fail(
                    format!("{path}.factor"),
                    "applies only to slow-instance, provider-slowdown and network-degradation",
                );
                1.0
            }
            (false, None) => 1.0,
        }
    }

    /// Rules on an event's kind and times.
    fn check_event(&self, c: &mut Checker, path: &str, e: &FailureEvent, duration: Nanos) {
        if e.kind == FailureKind::CapacityShortage && self.deployment.scaling.is_none() {
            c.fail(
                format!("{path}.type"),
                "a capacity shortage refuses an autoscaler's scale-ups: it needs deployment.scaling",
            );
        }
        if e.duration.nanos() == Nanos::ZERO {
            c.fail(format!("{path}.duration"), "must be longer than 0s");
        }
        if e.at.nanos() >= duration && duration > Nanos::ZERO {
            c.fail(
                format!("{path}.at"),
                format!("starts at or after run.duration ({})", self.run.duration),
            );
        }
    }
}

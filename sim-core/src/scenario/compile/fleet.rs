//! `instanceTypes`, `deployment.regions`, `deployment.scaling` and
//! `deployment.metrics`: the instances the fleet runs or may start.

use super::{
    join_keys, Checker, InstanceSpec, InstanceTypeSpec, RegionSpec, ScalingModel, MAX_INSTANCES,
};
use crate::dist::Sampler;
use crate::scenario::Scenario;
use strategies::scale::{Autoscaler, ScaleMetric, ScalingConfig};
use strategies::{DurationStr, Nanos};

pub(super) struct FleetPart {
    pub(super) types: Vec<InstanceTypeSpec>,
    pub(super) regions: Vec<RegionSpec>,
    pub(super) instances: Vec<InstanceSpec>,
    pub(super) scaling: Option<ScalingModel>,
}

impl Scenario {
    fn compile_types(&self, c: &mut Checker) -> Vec<Option<InstanceTypeSpec>> {
        if self.instance_types.is_empty() {
            c.fail("instanceTypes", "define at least one instance type");
        }
        let scaled = self.deployment.scaling.is_some();
        let mut out = Vec::new();
        for (name, t) in &self.instance_types {
            let path = format!("instanceTypes.{name}");
            let mut ok = true;
            if t.slots == 0 {
                c.fail(format!("{path}.slots"), "must be at least 1");
                ok = false;
            }
            if !t.price_per_hour.is_finite() || t.price_per_hour < 0.0 {
                c.fail(
                    format!("{path}.pricePerHour"),
                    format!("must be 0 or more, found {}", t.price_per_hour),
                );
            }
            for (region, p) in &t.price_per_hour_by_region {
                if !self.deployment.regions.contains_key(region) {
                    c.unknown(
                        format!("{path}.pricePerHourByRegion.{region}"),
                        "region",
                        region,
                        self.deployment.regions.keys(),
                        "deployment.regions",
                    );
                }
                if !(p.is_finite() && *p >= 0.0) {
                    c.fail(
                        format!("{path}.pricePerHourByRegion.{region}"),
                        "must be 0 or more",
                    );
                }
            }
            if let Some(cpus) = t.cpus {
                if !(cpus.is_finite() && cpus > 0.0 && cpus <= 1e6) {
                    c.fail(
                        format!("{path}.cpus"),
                        format!("must be above 0 and at most 1000000 cores, found {cpus}"),
                    );
                }
            }
            let memory = t.memory.map(|m| m.bytes() as f64);
            if t.memory.is_some_and(|m| m.bytes() == 0) {
                c.fail(format!("{path}.memory"), "must be above 0");
            }
            for (key, v) in [
                ("idleMemory", t.idle_memory),
                ("memoryPerRequest", t.memory_per_request),
            ] {
                if v.is_some() && t.memory.is_none() {
                    c.fail(
                        format!("{path}.{key}"),
                        "needs `memory`, the limit it is a share of",
                    );
                }
            }
            if t.memory.is_some() && t.idle_memory.is_none() && t.memory_per_request.is_none() {
                c.fail(
                    format!("{path}.memory"),
                    "needs `idleMemory` or `memoryPerRequest` to say what uses it (else it reads 0% throughout)",
                );
            }
            if t.oom_kill && (t.memory.is_none() || t.memory_per_request.is_none()) {
                c.fail(
                    format!("{path}.oomKill"),
                    "needs `memory` and `memoryPerRequest`: without them nothing can exceed the limit",
                );
            }
            if let (Some(limit), Some(idle)) = (t.memory, t.idle_memory) {
                if idle >= limit {
                    c.fail(
                        format!("{path}.idleMemory"),
                        format!("must be below memory ({limit})"),
                    );
                }
            }
            let startup = match &t.startup_time {
                None => Some(Sampler::Constant(0.0)),
                Some(d) => match d.sampler() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        c.fail(format!("{path}.startupTime.{}", e.key), e.message);
                        None
                    }
                },
            };
            if t.startup_time.is_some() && !scaled && !t.oom_kill {
                c.fail(
                    format!("{path}.startupTime"),
                    "applies to instances started during the run: with deployment.scaling, or a restart after oomKill",
                );
            }
            if t.drain_timeout.is_some() && !scaled {
                c.fail(
                    format!("{path}.drainTimeout"),
                    "applies to instances an autoscaler removes: it needs deployment.scaling",
                );
            }
            if t.minimum_billed_period.is_some() && !scaled {
                c.fail(
                    format!("{path}.minimumBilledPeriod"),
                    "applies to instances an autoscaler stops: it needs deployment.scaling (without it every instance runs the whole run)",
                );
            }
            let (Some(startup), true) = (startup, ok) else {
                out.push(None);
                continue;
            };
            out.push(Some(InstanceTypeSpec {
                name: name.clone(),
                slots: t.slots,
                cores: t.cpus,
                memory,
                idle_memory: t.idle_memory.map_or(0.0, |m| m.bytes() as f64),
                memory_per_request: t.memory_per_request.map_or(0.0, |m| m.bytes() as f64),
                oom_kill: t.oom_kill,
                startup,
                drain_timeout: t
                    .drain_timeout
                    .map_or(Nanos::from_secs(30), DurationStr::nanos),
                minimum_billed: t
                    .minimum_billed_period
                    .map_or(Nanos::ZERO, DurationStr::nanos),
                llm_concurrency: t.llm_concurrency,
            }));
            match t.llm_concurrency {
                Some(0) => c.fail(
                    format!("{path}.llmConcurrency"),
                    "must be at least 1 (leave it out for no cap)",
                ),
                Some(n) if n >= t.slots => c.fail(
                    format!("{path}.llmConcurrency"),
                    format!(
                        "cannot bind: a slot makes its calls one after another, so an instance \
                         has at most `slots` ({}) calls outstanding; give less or leave it out",
                        t.slots
                    ),
                ),
                _ => {}
            }
        }
        out
    }

    fn compile_scaling(&self, c: &mut Checker) -> Option<(ScalingModel, (u32, u32))> {
        let d = &self.deployment;
        let Some(cfg) = &d.scaling else {
            if d.metrics.is_some() {
                c.fail(
                    "deployment.metrics",
                    "the metrics pipeline feeds an autoscaler: it needs deployment.scaling",
                );
            }
            return None;
        };
        if let Err(e) = cfg.validate() {
            c.fail(format!("deployment.scaling.{}", e.key), e.message);
            return None;
        }
        // A step alarm's datapoint is its metric over its period, sampled
        // every minute (CloudWatch's ECS metrics) or every period if
        // shorter.
        let (collection, window) = match cfg {
            ScalingConfig::Threshold(_) => (Nanos::from_secs(10), Nanos::from_secs(30)),
            ScalingConfig::Hpa(_) => (Nanos::from_secs(15), Nanos::from_secs(30)),
            ScalingConfig::TargetTracking(_) => (Nanos::from_secs(60), Nanos::from_secs(60)),
            ScalingConfig::Step(c) => {
                (c.period.nanos().min(Nanos::from_secs(60)), c.period.nanos())
            }
            ScalingConfig::Queue(_) => (Nanos::from_secs(10), Nanos::from_secs(10)),
        };
        let m = d.metrics.as_ref();
        let collection_interval = m
            .and_then(|m| m.collection_interval)
            .map_or(collection, DurationStr::nanos);
        let window = m.and_then(|m| m.window).map_or(window, DurationStr::nanos);
        if collection_interval < Nanos::from_millis(1) {
            c.fail(
                "deployment.metrics.collectionInterval",
                "must be at least 1ms",
            );
        }
        if window < collection_interval {
            c.fail(
                "deployment.metrics.window",
                format!(
                    "must be at least the collection interval ({})",
                    DurationStr(collection_interval)
                ),
            );
        }
        let bounds = cfg.build().bounds();
        Some((
            ScalingModel {
                config: cfg.clone(),
                collection_interval,
                window,
            },
            bounds,
        ))
    }

    pub(super) fn compile_fleet(&self, c: &mut Checker) -> FleetPart {
        let types = self.compile_types(c);
        let scaling = self.compile_scaling(c);
        let bounds = scaling.as_ref().map(|(_, b)| *b);
        let mut regions = Vec::new();
        let mut instances = Vec::new();
        let mut total: u64 = 0;
        if self.deployment.regions.is_empty() {
            c.fail("deployment.regions", "define at least one region");
        }
        for (ri, (region, spec)) in self.deployment.regions.iter().enumerate() {
            let path = format!("deployment.regions.{region}");
            let type_index = match &spec.instance_type {
                Some(t) => match self.instance_types.get_index_of(t) {
                    Some(i) => i,
                    None => {
                        c.unknown(
                            format!("{path}.instanceType"),
                            "instance type",
                            t,
                            self.instance_types.keys(),
                            "instanceTypes",
                        );
                        continue;
                    }
                },
                None if self.instance_types.len() == 1 => 0,
                None => {
                    if !self.instance_types.is_empty() {
                        c.fail(
                            format!("{path}.instanceType"),
                            format!(
                                "required when instanceTypes defines more than one; one of: {}",
                                join_keys(self.instance_types.keys())
                            ),
                        );
                    }
                    continue;
                }
            };
            let capacity = match (bounds, spec.max_instances) {
                // (A scaling block that was refused has said so already.)
                (None, Some(_)) if self.deployment.scaling.is_none() => {
                    c.fail(
                        format!("{path}.maxInstances"),
                        "limits what an autoscaler may start: it needs deployment.scaling",
                    );
                    spec.instances
                }
                (None, _) => spec.instances,
                (Some((_, max)), region_max) => {
                    if let Some(rm) = region_max {
                        if rm < spec.instances {
                            c.fail(
                                format!("{path}.maxInstances"),
                                format!("must be at least `instances` ({})", spec.instances),
                            );
                        }
                    }
                    spec.instances.max(max.min(region_max.unwrap_or(max)))
                }
            };
            total += u64::from(capacity);
            let Some(Some(t)) = types.get(type_index) else {
                continue;
            };
            let type_name = self
                .instance_types
                .get_index(type_index)
                .map(|(n, _)| n.clone());
            let ty = &self.instance_types[type_index];
            let price = ty
                .price_per_hour_by_region
                .get(region)
                .copied()
                .unwrap_or(ty.price_per_hour);
            if total <= MAX_INSTANCES {
                let first = instances.len() as u32;
                for i in 0..capacity {
                    instances.push(InstanceSpec {
                        id: format!("{region}/{i}"),
                        region: region.clone(),
                        region_index: ri as u32,
                        instance_type: type_name.clone().unwrap_or_default(),
                        type_index: type_index as u32,
                        slots: t.slots,
                        price_per_hour: price,
                        initially_present: i < spec.instances,
                    });
                }
                regions.push(RegionSpec {
                    name: region.clone(),
                    first,
                    capacity,
                    initial: spec.instances,
                    type_index: type_index as u32,
                    price_per_hour: price,
                });
            }
        }
        let initial: u64 = self
            .deployment
            .regions
            .values()
            .map(|r| u64::from(r.instances))
            .sum();
        if !self.deployment.regions.is_empty() && initial == 0 && self.deployment.scaling.is_none()
        {
            c.fail(
                "deployment.regions",
                "the fleet has zero instances; give at least one region `instances` of 1 or more",
            );
        }
        if total > MAX_INSTANCES {
            c.fail(
                "deployment.regions",
                format!(
                    "the fleet may run {total} instances; at most {MAX_INSTANCES} are supported"
                ),
            );
        }
        FleetPart {
            types: types.into_iter().flatten().collect(),
            regions,
            instances,
            scaling: scaling.map(|(s, _)| s),
        }
    }

    /// A policy that reads CPU or memory needs every scaled instance type to
    /// say how much it has.
    pub(super) fn check_scaling_metrics(&self, c: &mut Checker, fleet: &FleetPart) {
        let Some(s) = &fleet.scaling else { return };
        if let ScalingConfig::Hpa(h) = &s.config {
            check_hpa_names(c, h);
        }
        for m in s.config.metrics() {
            for r in &fleet.regions {
                let Some(t) = fleet.types.iter().find(|t| {
                    self.instance_types.get_index_of(&t.name) == Some(r.type_index as usize)
                }) else {
                    continue;
                };
                let (missing, key) = match m {
                    ScaleMetric::Cpu => (t.cores.is_none(), "cpus"),
                    ScaleMetric::Memory => (t.memory.is_none(), "memory"),
                    _ => (false, ""),
                };
                if missing {
                    c.fail(
                        "deployment.scaling",
                        format!(
                            "scales on {m}, but instanceTypes.{}.{key} is not given (region {} runs it)",
                            t.name, r.name
                        ),
                    );
                    return;
                }
            }
        }
    }
}

/// The HPA reads any metric name; the simulator provides only the ones
/// [`strategies::scale::simulated_names`] lists.
fn check_hpa_names(c: &mut Checker, h: &strategies::scale::HpaConfig) {
    use strategies::scale::{simulated_metric, simulated_names, HpaMetricType};
    for (i, m) in h.metrics.iter().enumerate() {
        let Some(name) = m.name() else { continue };
        if simulated_metric(m.kind, name).is_some() {
            continue;
        }
        let path = match m.kind {
            HpaMetricType::Resource => format!("deployment.scaling.metrics[{i}].resource.name"),
            HpaMetricType::Pods => format!("deployment.scaling.metrics[{i}].pods.metric.name"),
            HpaMetricType::External => {
                format!("deployment.scaling.metrics[{i}].external.metric.name")
            }
        };
        let provided: Vec<&str> = simulated_names(m.kind).iter().map(|(n, _)| *n).collect();
        c.fail(
            path,
            format!(
                "the simulator provides no {:?} metric named `{name}`; it provides: {}",
                m.kind,
                provided.join(", ")
            ),
        );
    }
}

//! Autoscalers: targets no pod can reach (static), and cooldowns and
//! stabilization windows that never held a decision (run).

use super::{in_runs, num, secs, Finding, Stage};
use crate::metrics::RunResult;
use crate::scenario::Model;
use strategies::scale::{Comparison, HpaMetricType, ScaleMetric, ScalingConfig, TargetType};

/// The most one pod can show of each metric, from the largest instance
/// type in the fleet: slots, cores, memory and the mean service time.
struct PodCeiling {
    slots: u32,
    service: f64,
    cpu: Option<(f64, f64)>,
    cpu_secs: f64,
    memory: Option<f64>,
    connections: Option<u32>,
}

impl PodCeiling {
    fn of(model: &Model) -> Option<PodCeiling> {
        let service = model.mean_service_secs();
        if !(service.is_finite() && service > 0.0) {
            return None;
        }
        let used = |ti: usize| {
            model
                .fleet
                .instances
                .iter()
                .any(|i| i.type_index as usize == ti)
        };
        let types: Vec<_> = (0..model.fleet.types.len())
            .filter(|&t| used(t))
            .map(|t| &model.fleet.types[t])
            .collect();
        let slots = types.iter().map(|t| t.slots).max()?;
        let cpu_secs: f64 = model
            .workload
            .classes
            .iter()
            .map(|k| k.share * k.shape.cpu_time.as_ref().map_or(0.0, |c| c.mean_secs()))
            .sum();
        // Busy slots each burn their request's CPU over its service time;
        // a pod's cores cap it at 100%.
        let cpu = types
            .iter()
            .filter_map(|t| {
                let cores = t.cores?;
                let demand = f64::from(t.slots) * cpu_secs / service / cores * 100.0;
                Some((demand.min(100.0), cores))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let memory = types
            .iter()
            .filter_map(|t| {
                let m = t.memory?;
                let used = t.idle_memory + f64::from(t.slots) * t.memory_per_request;
                // Without OOM kills an overcommitted pod reads above 100%.
                let cap = if t.oom_kill { 100.0 } else { f64::INFINITY };
                Some((used / m * 100.0).min(cap))
            })
            .max_by(f64::total_cmp);
        Some(PodCeiling {
            slots,
            service,
            cpu,
            cpu_secs,
            memory,
            connections: model.resilience.max_connections_per_instance,
        })
    }

    /// The most a pod shows of `m`, its unit, and why; `None` where
    /// there is no per-pod ceiling (response time, queue depth, requests
    /// held without a per-instance limit).
    fn max(&self, m: ScaleMetric) -> Option<(f64, &'static str, String)> {
        let rate = f64::from(self.slots) / self.service;
        let per = format!("{} slots / {} per request", self.slots, secs(self.service));
        match m {
            ScaleMetric::Cpu => self.cpu.map(|(c, cores)| {
                (
                    c,
                    "%",
                    format!(
                        "{} slots busy at once on {} cores, each request using {} of CPU in its {}",
                        self.slots,
                        num(cores),
                        secs(self.cpu_secs),
                        secs(self.service)
                    ),
                )
            }),
            ScaleMetric::Memory => self
                .memory
                .map(|v| (v, "%", format!("{} slots in use at once", self.slots))),
            ScaleMetric::RequestsPerSecond => Some((rate, "/s", per)),
            ScaleMetric::RequestsPerMinute => Some((rate * 60.0, "/min", per)),
            ScaleMetric::Connections => self.connections.map(|c| {
                (
                    f64::from(c),
                    "",
                    "deployment.limits.maxConnectionsPerInstance".to_string(),
                )
            }),
            ScaleMetric::ResponseTime | ScaleMetric::QueueDepth => None,
        }
    }
}

/// A target above the ceiling: the autoscaler cannot scale up on it.
fn unreachable(
    ceiling: &PodCeiling,
    metric: ScaleMetric,
    target: f64,
    path: String,
    out: &mut Vec<Finding>,
) {
    let Some((max, unit, why)) = ceiling.max(metric) else {
        return;
    };
    if target <= max * (1.0 + 1e-9) {
        return;
    }
    let (verb, what) = match metric {
        ScaleMetric::RequestsPerSecond | ScaleMetric::RequestsPerMinute => (
            "complete",
            "so it scales up only once pods are past what they can serve and requests queue or time out",
        ),
        _ => ("reach", "so it never scales up on this metric"),
    };
    out.push(Finding::new(
        Stage::Static,
        path,
        "scaling-target-unreachable",
        format!(
            "the {} target {}{unit} is above the {}{unit} one pod can {verb} ({why}), {what}; set it below {}{unit}",
            metric.name(),
            num(target),
            num(max),
            num(max)
        ),
    ));
}

/// Autoscaler targets above what a pod can reach.
pub(super) fn targets(model: &Model, out: &mut Vec<Finding>) {
    let Some(s) = &model.fleet.scaling else {
        return;
    };
    let Some(c) = PodCeiling::of(model) else {
        return;
    };
    let base = "deployment.scaling";
    match &s.config {
        ScalingConfig::Threshold(t) => {
            let keys = [
                (ScaleMetric::Cpu, t.target_cpu, "targetCPU"),
                (ScaleMetric::Memory, t.target_memory, "targetMemory"),
                (
                    ScaleMetric::Connections,
                    t.target_connections,
                    "targetConnections",
                ),
                (
                    ScaleMetric::RequestsPerMinute,
                    t.target_requests_per_minute,
                    "targetRequestsPerMinute",
                ),
            ];
            for (m, v, key) in keys {
                if let Some(v) = v {
                    unreachable(&c, m, v, format!("{base}.{key}"), out);
                }
            }
            for (i, r) in t.rules.iter().enumerate() {
                if let Some(above) = r.above {
                    unreachable(&c, r.metric, above, format!("{base}.rules[{i}].above"), out);
                }
            }
        }
        ScalingConfig::Hpa(h) => {
            if h.metrics.is_empty() {
                unreachable(
                    &c,
                    ScaleMetric::Cpu,
                    80.0,
                    format!("{base}.metrics (default: CPU at 80%)"),
                    out,
                );
            }
            for (i, m) in h.metrics.iter().enumerate() {
                let (field, src) = match m.kind {
                    HpaMetricType::Resource => {
                        if let Some(r) = &m.resource {
                            if let (TargetType::Utilization, Some(u)) =
                                (r.target.kind, r.target.average_utilization)
                            {
                                let path = format!(
                                    "{base}.metrics[{i}].resource.target.averageUtilization"
                                );
                                unreachable(&c, m.metric(), f64::from(u), path, out);
                            }
                        }
                        continue;
                    }
                    HpaMetricType::Pods => ("pods", m.pods.as_ref()),
                    HpaMetricType::External => ("external", m.external.as_ref()),
                };
                let Some(src) = src else { continue };
                if let (TargetType::AverageValue, Some(q)) =
                    (src.target.kind, src.target.average_value)
                {
                    let path = format!("{base}.metrics[{i}].{field}.target.averageValue");
                    unreachable(&c, m.metric(), q.0 as f64 / 1000.0, path, out);
                }
            }
        }
        ScalingConfig::TargetTracking(t) => {
            for (i, tt) in t.targets.iter().enumerate() {
                let path = format!("{base}.targets[{i}].targetValue");
                unreachable(&c, tt.metric(), tt.target_value, path, out);
            }
        }
        ScalingConfig::Step(st) => {
            for (i, p) in st.policies.iter().enumerate() {
                let above = matches!(
                    p.alarm.comparison_operator,
                    Comparison::GreaterThanThreshold | Comparison::GreaterThanOrEqualToThreshold
                );
                if above {
                    let path = format!("{base}.policies[{i}].alarm.threshold");
                    unreachable(&c, p.alarm.metric, p.alarm.threshold, path, out);
                }
            }
        }
        ScalingConfig::Queue(_) => {}
    }
}

/// Which way a logged decision held by a cooldown or stabilization
/// window wanted to go, and by what.
#[derive(Default)]
struct Held {
    cooldown_up: bool,
    cooldown_down: bool,
    stabilization_up: bool,
    stabilization_down: bool,
    actions: u64,
}

impl Held {
    fn of(runs: &[RunResult]) -> Held {
        let mut h = Held::default();
        for r in runs {
            h.actions += r.scaling.scale_ups + r.scaling.scale_downs;
            for e in &r.scaling_log {
                match e.reason.as_str() {
                    // A scale-out held by target tracking's cooldown is
                    // logged wanting the current count.
                    "cooldown" if e.wanted >= e.from => h.cooldown_up = true,
                    "cooldown" => h.cooldown_down = true,
                    "stabilization" if e.wanted > e.desired => h.stabilization_up = true,
                    "stabilization" if e.wanted < e.desired => h.stabilization_down = true,
                    _ => {}
                }
            }
        }
        h
    }
}

/// Cooldowns and stabilization windows that never held a decision.
pub(super) fn holds(model: &Model, runs: &[RunResult], out: &mut Vec<Finding>) {
    let Some(s) = &model.fleet.scaling else {
        return;
    };
    let h = Held::of(runs);
    let base = "deployment.scaling";
    let when = in_runs(runs);
    let never = |out: &mut Vec<Finding>, path: String, code: &str, what: String| {
        out.push(Finding::new(
            Stage::Run,
            path,
            code,
            format!(
                "{what} never held a scaling decision {when} ({} scaling action{}): it changed nothing \
                 here; shorten or drop it, or run a workload that makes the autoscaler act again within it",
                h.actions,
                if h.actions == 1 { "" } else { "s" }
            ),
        ));
    };
    match &s.config {
        ScalingConfig::Threshold(t) => {
            let keys = [
                (
                    t.cooldown,
                    h.cooldown_up || h.cooldown_down,
                    "cooldown",
                    "the cooldown",
                ),
                (
                    t.scale_up_cooldown,
                    h.cooldown_up,
                    "scaleUpCooldown",
                    "the scale-up cooldown",
                ),
                (
                    t.scale_down_cooldown,
                    h.cooldown_down,
                    "scaleDownCooldown",
                    "the scale-down cooldown",
                ),
            ];
            for (v, held, key, what) in keys {
                if let (Some(d), false) = (v, held) {
                    let path = format!("{base}.{key}");
                    never(out, path, "cooldown-never-bound", format!("{what} ({d})"));
                }
            }
        }
        ScalingConfig::TargetTracking(t) => {
            for (i, tt) in t.targets.iter().enumerate() {
                let keys = [
                    (
                        tt.scale_out_cooldown,
                        h.cooldown_up,
                        "scaleOutCooldown",
                        "scale-out",
                    ),
                    (
                        tt.scale_in_cooldown,
                        h.cooldown_down,
                        "scaleInCooldown",
                        "scale-in",
                    ),
                ];
                for (d, held, key, what) in keys {
                    if !held && d.nanos().0 > 0 {
                        let path = format!("{base}.targets[{i}].{key}");
                        let what = format!("the {what} cooldown ({d})");
                        never(out, path, "cooldown-never-bound", what);
                    }
                }
            }
        }
        ScalingConfig::Step(st) => {
            if !(h.cooldown_up || h.cooldown_down) {
                for (i, p) in st.policies.iter().enumerate() {
                    if p.cooldown.nanos().0 > 0 {
                        let path = format!("{base}.policies[{i}].cooldown");
                        let what = format!("the policy's cooldown ({})", p.cooldown);
                        never(out, path, "cooldown-never-bound", what);
                    }
                }
            }
        }
        ScalingConfig::Hpa(hpa) => {
            let Some(b) = &hpa.behavior else { return };
            let sides = [
                (&b.scale_up, h.stabilization_up, "scaleUp", "scale-up"),
                (
                    &b.scale_down,
                    h.stabilization_down,
                    "scaleDown",
                    "scale-down",
                ),
            ];
            for (rules, held, key, what) in sides {
                let Some(w) = rules.as_ref().and_then(|r| r.stabilization_window_seconds) else {
                    continue;
                };
                if w > 0 && !held {
                    let path = format!("{base}.behavior.{key}.stabilizationWindowSeconds");
                    let what = format!("the {what} stabilization window ({w}s)");
                    never(out, path, "stabilization-never-bound", what);
                }
            }
        }
        ScalingConfig::Queue(_) => {}
    }
}

//! A run's results: the outcome books checked for conservation, the
//! fleet's time integrals over the measured window, and each component's
//! own section of the [`RunResult`].

use super::requests::State;
use super::step::Observer;
use super::{tenants, Engine};
use crate::metrics::{
    jain_index, Counts, EngineStats, InstanceResult, RunResult, SloVerdict, TokenCounts,
};
use crate::regime::Regime;
use crate::SimError;

/// The fleet's sums over the measured window.
struct FleetTotals {
    instances: Vec<InstanceResult>,
    /// Slot-nanoseconds busy, and of ready capacity.
    busy: f64,
    capacity: f64,
    /// Request-nanoseconds held (running or queued).
    held: f64,
    cpu_used: f64,
    cpu_cap: f64,
    mem_used: f64,
    mem_cap: f64,
    provisioned_hours: f64,
    /// Jain's index over requests per ready second.
    fairness: f64,
}

impl<O: Observer> Engine<'_, O> {
    /// The run's results, once its clock is at the horizon.
    pub(super) fn results(mut self) -> Result<RunResult, SimError> {
        let now = self.now;
        let model = self.model;
        let c = self.conserved_counts()?;
        let window = (model.run.duration - model.run.warmup).0 as f64;
        let window_secs = window / 1e9;
        let hours = window_secs / 3600.0;
        let f = self.fleet_totals();
        self.cost.settle(now);
        let instance_cost = self.cost.instance - self.cost.at_warmup.0;
        let llm_cost = self.cost.llm - self.cost.at_warmup.1;
        let total_cost = instance_cost + llm_cost;
        let slo = SloVerdict::judge(model, &self.outcomes.latency, &c);
        let scaling_log = self.scaling.auto.take().map(|s| s.log).unwrap_or_default();
        let mut summary = self.scaling.summary;
        summary.peak_instances = summary.peak_instances.max(model.initial_instances() as u32);
        Ok(RunResult {
            replication: self.replication,
            counts: c,
            reasons: self.outcomes.reasons,
            resilience: self.resilience.events,
            latency: self.outcomes.latency.summary(),
            throughput_per_second: c.completed as f64 / window_secs,
            error_rate: c.error_rate(),
            utilization: if f.capacity > 0.0 {
                f.busy / f.capacity
            } else {
                0.0
            },
            mean_in_system: f.held / window,
            fairness: f.fairness,
            cpu_utilization: (f.cpu_cap > 0.0).then(|| f.cpu_used / f.cpu_cap),
            memory_utilization: (f.mem_cap > 0.0).then(|| f.mem_used / f.mem_cap),
            instance_hours: f.provisioned_hours,
            cost: instance_cost,
            llm_cost,
            total_cost,
            cost_per_hour: total_cost / hours,
            cost_per_1k_requests: (c.arrivals > 0).then(|| total_cost / c.arrivals as f64 * 1000.0),
            cost_per_success: (c.completed > 0).then(|| total_cost / c.completed as f64),
            run_cost: self.cost.instance + self.cost.llm,
            tokens: TokenCounts {
                input: self.cost.tokens.0,
                output: self.cost.tokens.1,
            },
            scaling: summary,
            slo,
            regime: Regime::classify(
                &c,
                c.error_rate(),
                &self.series.rows,
                model.run.warmup.as_secs_f64(),
            ),
            tenants: self.tenants.as_ref().map(tenants::Tenants::result),
            sessions: self.sessions.as_ref().map(|s| s.result(self.model)),
            breakdown: self.llm.breakdown.result(
                model,
                self.outcomes.latency.count(),
                self.outcomes.latency.sum_ns(),
            ),
            llm_calls: self.llm.take_counts(model),
            classes: self
                .classes
                .take()
                .map_or_else(Vec::new, |k| k.result(model)),
            rate_limits: self.routing.limits.result(model),
            instances: f.instances,
            engine: EngineStats {
                peak_event_queue: self.events.high_water() as u64,
                peak_requests: self.requests.len() as u64,
                ..self.stats
            },
            series: std::mem::take(&mut self.series.rows),
            scaling_log,
            recorder: self.outcomes.latency,
        })
    }

    /// The outcome counts, with the requests still in flight counted from
    /// the slab, independently of the outcome counters, so the check can
    /// catch a lost or double-counted request.
    fn conserved_counts(&mut self) -> Result<Counts, SimError> {
        self.outcomes.counts.in_flight = self
            .requests
            .iter()
            .filter(|r| r.state != State::Free && r.measured)
            .count() as u64;
        let c = self.outcomes.counts;
        if !c.conserved() || !self.outcomes.reasons.consistent_with(&c) {
            return Err(SimError::Conservation {
                run: self.model.scenario.name.clone(),
                replication: self.replication,
                arrivals: c.arrivals,
                completed: c.completed,
                rejected: c.rejected,
                timed_out: c.timed_out,
                failed: c.failed,
                in_flight: c.in_flight,
            });
        }
        Ok(c)
    }

    /// Each instance's results over the measured window, and the fleet's
    /// sums (settled at the horizon).
    fn fleet_totals(&mut self) -> FleetTotals {
        let (now, model) = (self.now, self.model);
        let (mut busy, mut capacity, mut held) = (0.0, 0.0, 0.0);
        let (mut cpu_used, mut cpu_cap, mut mem_used, mut mem_cap) = (0.0, 0.0, 0.0, 0.0);
        let mut provisioned_hours = 0.0;
        let mut rates = Vec::new();
        let instances: Vec<InstanceResult> = self
            .instances
            .iter_mut()
            .zip(&model.fleet.instances)
            .map(|(inst, spec)| {
                inst.settle(now);
                let (t, w) = (inst.totals, inst.at_warmup);
                let area = (t.busy - w.busy) as f64;
                let ready = (t.ready - w.ready) as f64;
                let held_area = (t.held - w.held) as f64;
                busy += area;
                capacity += f64::from(inst.slots) * ready;
                held += held_area;
                provisioned_hours += (t.provisioned - w.provisioned) as f64 / 3.6e12;
                let ty = &model.fleet.types[spec.type_index as usize];
                if let Some(cores) = ty.cores {
                    cpu_used += t.cpu - w.cpu;
                    cpu_cap += cores * ready;
                }
                if let Some(mem) = ty.memory {
                    mem_used += ty.idle_memory * ready + ty.memory_per_request * area;
                    mem_cap += mem * ready;
                }
                if ready > 0.0 {
                    rates.push(inst.routed as f64 / ready);
                }
                InstanceResult {
                    id: spec.id.clone(),
                    region: spec.region.clone(),
                    requests: inst.routed,
                    utilization: if ready > 0.0 {
                        area / (f64::from(inst.slots) * ready)
                    } else {
                        0.0
                    },
                    ready_hours: ready / 3.6e12,
                }
            })
            .collect();
        // Requests per ready second: a fixed fleet's instances are all ready
        // the whole window, so this is Jain's index over requests.
        let fairness = jain_index(rates);
        FleetTotals {
            instances,
            busy,
            capacity,
            held,
            cpu_used,
            cpu_cap,
            mem_used,
            mem_cap,
            provisioned_hours,
            fairness,
        }
    }
}

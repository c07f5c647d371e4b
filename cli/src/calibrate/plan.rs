//! What a scenario asks of a calibration: its instances (slots, slow
//! factor), its service time, its arrival rate and its balancer, read from
//! the checked model; what a calibration cannot reproduce is refused with
//! the key that asks for it.

use rand::Rng;
use sim_core::{FailureKind, Model};
use strategies::balance::StrategyKind;

/// One backend to start.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    /// The instance's id (`us-east-1/0`).
    pub(crate) id: String,
    /// Requests served at once.
    pub(crate) slots: u32,
    /// How much slower it serves (a `slow-instance` failure over the whole
    /// run), 1 when not.
    pub(crate) slow: f64,
    /// The balancer's weight.
    pub(crate) weight: u32,
}

/// A scenario as a calibration runs it.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The scenario as JSON (`extends` resolved, the strategy applied).
    pub(crate) value: serde_json::Value,
    pub(crate) model: Model,
    pub(crate) instances: Vec<Backend>,
    /// Arrivals per scenario second.
    pub(crate) rate: f64,
    pub(crate) strategy: StrategyKind,
    /// Real seconds per scenario second.
    pub(crate) scale: f64,
}

impl Plan {
    /// The plan of `model`, or why it cannot be calibrated (a key and what
    /// is allowed).
    pub(crate) fn of(value: serde_json::Value, model: Model, scale: f64) -> Result<Plan, String> {
        let w = &model.workload;
        if w.trace.is_some() || w.sessions.is_some() || w.diurnal.is_some() || !w.bursts.is_empty()
        {
            return Err(
                "workload: calibrate drives open Poisson arrivals at a constant rate \
                 (workload.arrivals.ratePerSecond); traces, sessions, diurnal swings and bursts \
                 are not generated"
                    .into(),
            );
        }
        if w.rate_profile.len() != 1 || w.rate_profile[0].ramp.0 != 0 {
            return Err("workload.arrivals: calibrate needs one constant rate \
                 (ratePerSecond without steps or ramps)"
                .into());
        }
        if w.classes.len() != 1 {
            return Err("workload.classes: calibrate serves one request shape (no classes)".into());
        }
        if model.fleet.scaling.is_some() {
            return Err(
                "deployment.autoscaling: calibrate runs a fixed fleet; remove the \
                 autoscaler"
                    .into(),
            );
        }
        let strategy = model.balancing.config.kind();
        if !matches!(
            strategy,
            StrategyKind::RoundRobin
                | StrategyKind::Weighted
                | StrategyKind::LeastConnections
                | StrategyKind::PowerOfTwo
                | StrategyKind::Random
        ) {
            return Err(format!(
                "deployment.loadBalancing.strategy: {strategy:?} has no nginx counterpart; \
                 calibrate takes round-robin, weighted, least-connections, power-of-two or random"
            ));
        }
        let mut instances: Vec<Backend> = model
            .fleet
            .instances
            .iter()
            .filter(|i| i.initially_present)
            .enumerate()
            .map(|(k, i)| Backend {
                id: i.id.clone(),
                slots: i.slots.max(1),
                slow: 1.0,
                weight: model.balancing.weights.get(k).copied().unwrap_or(1).max(1),
            })
            .collect();
        if instances.is_empty() || instances.len() > 64 {
            return Err(format!(
                "deployment.regions: calibrate starts one backend per instance, 1 to 64; this \
                 scenario has {}",
                instances.len()
            ));
        }
        for f in &model.failures.events {
            let whole_run = f.at.0 == 0 && f.duration >= model.run.duration;
            match f.kind {
                FailureKind::SlowInstance if whole_run => {
                    for &i in &f.instances {
                        if let Some(b) = instances.get_mut(i as usize) {
                            b.slow *= f.factor;
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "failures.events: calibrate reproduces a slow-instance failure over the \
                         whole run (at 0s, lasting run.duration) only; found {:?}",
                        f.kind
                    ))
                }
            }
        }
        if model.failures.random.is_some() {
            return Err("failures.random: random failures are not reproduced by calibrate".into());
        }
        let rate = w.rate_profile[0].rate_per_second;
        if !(scale.is_finite() && scale > 0.0 && scale <= 1.0) {
            return Err(format!(
                "--time-scale: real seconds per scenario second, above 0 and at most 1 \
                 (0.001 makes seconds milliseconds); found {scale}"
            ));
        }
        let shape = &model.workload.classes[0].shape;
        if let Some(m) = model.llm.models.get(shape.model_index) {
            if m.error_rate > 0.0 {
                return Err(format!(
                    "llm.models.{}.errorRate: the synthetic backends answer every request; \
                     give 0",
                    m.name
                ));
            }
        }
        Ok(Plan {
            value,
            model,
            instances,
            rate,
            strategy,
            scale,
        })
    }

    /// A request's base service time in real nanoseconds (before its
    /// instance's slow factor): the scenario's CPU time and LLM calls,
    /// drawn as the simulator draws them, times the scale.
    pub(crate) fn draw_work_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let shape = &self.model.workload.classes[0].shape;
        let mut secs = shape.cpu_time.as_ref().map_or(0.0, |d| d.sample_secs(rng));
        let calls = shape.llm_calls.draw(rng);
        if let Some(m) = self.model.llm.models.get(shape.model_index) {
            for _ in 0..calls {
                secs += m.latency.sample_secs(rng);
            }
        }
        (secs * self.scale * 1e9).round() as u64
    }

    /// The mean base service time, real seconds.
    pub(crate) fn mean_work_secs(&self) -> f64 {
        self.model.mean_service_secs() * self.scale
    }
}

//! The fleet's defences as the proxy runs them: what every observer learns
//! from an attempt (balancer, outlier ejection, breakers, passive health),
//! active health checks, and the outlier detector's interval tick.

use super::fleet::Life;
use super::step::Observer;
use super::{Engine, Event};
use crate::metrics::ResilienceEvents;
use crate::scenario::Model;
use strategies::{
    ActiveHealth, AttemptOutcome, Balancer, CircuitBreaker, Nanos, OutlierDetector, PassiveHealth,
};

/// The resilience component's state: what each defence knows of each
/// instance, and what they did.
pub(super) struct Resilience {
    /// One breaker per instance, when the scenario has breakers.
    pub(super) breakers: Vec<CircuitBreaker>,
    /// One active health record per instance, when it has health checks.
    pub(super) health: Vec<ActiveHealth>,
    pub(super) outlier: Option<OutlierDetector>,
    pub(super) passive: Option<PassiveHealth>,
    /// Ejections, trips, markings and retries, for the results.
    pub(super) events: ResilienceEvents,
}

impl Resilience {
    pub(super) fn new(model: &Model) -> Resilience {
        let n = model.fleet.instances.len();
        Resilience {
            breakers: match &model.resilience.circuit_breaker {
                Some(c) => (0..n).map(|_| CircuitBreaker::new(c.clone())).collect(),
                None => Vec::new(),
            },
            health: vec![
                ActiveHealth::default();
                if model.resilience.health_check.is_some() {
                    n
                } else {
                    0
                }
            ],
            outlier: model
                .resilience
                .outlier_detection
                .clone()
                .map(|c| OutlierDetector::new(c, n)),
            passive: model
                .resilience
                .passive_health
                .clone()
                .map(|c| PassiveHealth::new(c, n)),
            events: ResilienceEvents::default(),
        }
    }
}

impl<O: Observer> Engine<'_, O> {
    /// What every observer of instance `i` learns from one attempt.
    pub(super) fn observe_attempt(&mut self, i: usize, latency: Nanos, outcome: AttemptOutcome) {
        let now = self.now;
        let success = outcome.is_success();
        self.routing.balancer.observe(now, i, latency, success);
        if self.routing.routes.is_some() {
            self.observe_routes(now, i, latency, success);
        }
        if let Some(o) = &mut self.resilience.outlier {
            if o.record(now, i, success) {
                let inst = &mut self.instances[i];
                inst.ejected = true;
                inst.update();
                self.resilience.events.ejections += 1;
            }
        }
        if let Some(b) = self.resilience.breakers.get_mut(i) {
            if b.record(now, success, latency) {
                self.resilience.events.breaker_trips += 1;
                let at = b.reopen_at();
                self.events.push(
                    at,
                    Event::Resilience(ResilienceEvent::BreakerReopen { inst: i as u32 }),
                );
            }
        }
        if let Some(p) = &mut self.resilience.passive {
            p.record(i, now, outcome);
            self.passive_update(i);
        }
    }

    /// Brings instance `i`'s passive-health standing up to date; when it is
    /// out, schedules the moment it may be back.
    pub(super) fn passive_update(&mut self, i: usize) {
        let now = self.now;
        let Some(p) = &self.resilience.passive else {
            return;
        };
        let down = !p.is_available(i, now);
        let next = p.next_change(i, now);
        let inst = &mut self.instances[i];
        if down != inst.passive_down {
            inst.passive_down = down;
            inst.update();
            if down {
                self.resilience.events.passive_marked_down += 1;
            }
            self.touched(i);
        }
        if let Some(at) = next {
            let inst = &mut self.instances[i];
            if down && inst.passive_recheck_at != at {
                inst.passive_recheck_at = at;
                self.events.push(
                    at,
                    Event::Resilience(ResilienceEvent::PassiveRecheck { inst: i as u32 }),
                );
            }
        }
    }

    /// Starts the health checks of instance `i` (at the start, or when it
    /// turns ready).
    pub(super) fn start_health_checks(&mut self, i: usize) {
        if let Some(h) = &self.model.resilience.health_check {
            let epoch = self.instances[i].epoch;
            self.events.push(
                self.now + h.interval.nanos(),
                Event::Resilience(ResilienceEvent::HealthCheck {
                    inst: i as u32,
                    epoch,
                }),
            );
        }
    }

    fn on_health_check(&mut self, i: usize, epoch: u32) {
        let Some(cfg) = &self.model.resilience.health_check else {
            return;
        };
        let inst = &self.instances[i];
        if inst.epoch != epoch || !matches!(inst.life, Life::Ready | Life::Draining) {
            return;
        }
        let next = Event::Resilience(ResilienceEvent::HealthCheck {
            inst: i as u32,
            epoch,
        });
        if inst.is_crashed() {
            self.record_health(i, false);
            self.events.push(self.now + cfg.interval.nanos(), next);
        } else if inst.is_hung() {
            // No answer: the check fails when its timeout expires.
            let at = self.now + cfg.timeout.nanos();
            self.events.push(
                at,
                Event::Resilience(ResilienceEvent::HealthResult {
                    inst: i as u32,
                    passed: false,
                    epoch,
                }),
            );
        } else {
            self.record_health(i, true);
            self.events.push(self.now + cfg.interval.nanos(), next);
        }
    }

    fn on_health_result(&mut self, i: usize, passed: bool, epoch: u32) {
        let Some(cfg) = &self.model.resilience.health_check else {
            return;
        };
        if self.instances[i].epoch != epoch {
            return;
        }
        self.record_health(i, passed);
        self.events.push(
            self.now + cfg.interval.nanos(),
            Event::Resilience(ResilienceEvent::HealthCheck {
                inst: i as u32,
                epoch,
            }),
        );
    }

    fn record_health(&mut self, i: usize, passed: bool) {
        let Some(cfg) = &self.model.resilience.health_check else {
            return;
        };
        if let Some(healthy) = self.resilience.health[i].record(cfg, passed) {
            let inst = &mut self.instances[i];
            inst.healthy = healthy;
            inst.update();
            if !healthy {
                self.resilience.events.marked_unhealthy += 1;
            }
            self.touched(i);
        }
    }

    fn on_outlier_tick(&mut self) {
        let now = self.now;
        let Some(o) = &mut self.resilience.outlier else {
            return;
        };
        let mut back = std::mem::take(&mut self.scratch);
        back.clear();
        o.tick(now, |i| back.push(i as u32));
        let every = o.config().interval.nanos();
        for &i in &back {
            let inst = &mut self.instances[i as usize];
            inst.ejected = false;
            inst.update();
            self.touched(i as usize);
        }
        self.scratch = back;
        self.events
            .push(now + every, Event::Resilience(ResilienceEvent::OutlierTick));
    }
}

/// Resilience's events: health checks, outlier ticks, breakers and passive health coming back.
#[derive(Debug, Clone, Copy)]
pub(super) enum ResilienceEvent {
    /// An active health check is sent.
    HealthCheck { inst: u32, epoch: u32 },
    /// A health check that waited for its timeout comes back.
    HealthResult { inst: u32, passed: bool, epoch: u32 },
    /// Outlier detection's interval tick.
    OutlierTick,
    /// An open breaker starts letting trials through.
    BreakerReopen { inst: u32 },
    /// An instance out by passive health may be back.
    PassiveRecheck { inst: u32 },
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a resilience event (each handler checks its instance's epoch).
    pub(super) fn handle_resilience(&mut self, ev: ResilienceEvent) {
        match ev {
            ResilienceEvent::HealthCheck { inst, epoch } => {
                self.on_health_check(inst as usize, epoch)
            }
            ResilienceEvent::HealthResult {
                inst,
                passed,
                epoch,
            } => self.on_health_result(inst as usize, passed, epoch),
            ResilienceEvent::OutlierTick => self.on_outlier_tick(),
            ResilienceEvent::BreakerReopen { inst } => self.touched(inst as usize),
            ResilienceEvent::PassiveRecheck { inst } => self.passive_update(inst as usize),
        }
    }
}

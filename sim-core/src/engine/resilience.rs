//! The fleet's defences as the proxy runs them: what every observer learns
//! from an attempt (balancer, outlier ejection, breakers, passive health),
//! active health checks, and the outlier detector's interval tick.

use super::fleet::Life;
use super::{Engine, Event};
use strategies::{AttemptOutcome, Balancer, Nanos};

impl Engine<'_> {
    /// What every observer of instance `i` learns from one attempt.
    pub(super) fn observe_attempt(&mut self, i: usize, latency: Nanos, outcome: AttemptOutcome) {
        let now = self.now;
        let success = outcome.is_success();
        self.balancer.observe(now, i, latency, success);
        if self.routes.is_some() {
            self.observe_routes(now, i, latency, success);
        }
        if let Some(o) = &mut self.outlier {
            if o.record(now, i, success) {
                let inst = &mut self.instances[i];
                inst.ejected = true;
                inst.update();
                self.resilience.ejections += 1;
            }
        }
        if let Some(b) = self.breakers.get_mut(i) {
            if b.record(now, success, latency) {
                self.resilience.breaker_trips += 1;
                let at = b.reopen_at();
                self.events
                    .push(at, Event::BreakerReopen { inst: i as u32 });
            }
        }
        if let Some(p) = &mut self.passive {
            p.record(i, now, outcome);
            self.passive_update(i);
        }
    }

    /// Brings instance `i`'s passive-health standing up to date; when it is
    /// out, schedules the moment it may be back.
    pub(super) fn passive_update(&mut self, i: usize) {
        let now = self.now;
        let Some(p) = &self.passive else { return };
        let down = !p.is_available(i, now);
        let next = p.next_change(i, now);
        let inst = &mut self.instances[i];
        if down != inst.passive_down {
            inst.passive_down = down;
            inst.update();
            if down {
                self.resilience.passive_marked_down += 1;
            }
            self.touched(i);
        }
        if let Some(at) = next {
            let inst = &mut self.instances[i];
            if down && inst.passive_recheck_at != at {
                inst.passive_recheck_at = at;
                self.events
                    .push(at, Event::PassiveRecheck { inst: i as u32 });
            }
        }
    }

    /// Starts the health checks of instance `i` (at the start, or when it
    /// turns ready).
    pub(super) fn start_health_checks(&mut self, i: usize) {
        if let Some(h) = &self.model.health_check {
            let epoch = self.instances[i].epoch;
            self.events.push(
                self.now + h.interval.nanos(),
                Event::HealthCheck {
                    inst: i as u32,
                    epoch,
                },
            );
        }
    }

    pub(super) fn on_health_check(&mut self, i: usize, epoch: u32) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        let inst = &self.instances[i];
        if inst.epoch != epoch || !matches!(inst.life, Life::Ready | Life::Draining) {
            return;
        }
        let next = Event::HealthCheck {
            inst: i as u32,
            epoch,
        };
        if inst.is_crashed() {
            self.record_health(i, false);
            self.events.push(self.now + cfg.interval.nanos(), next);
        } else if inst.is_hung() {
            // No answer: the check fails when its timeout expires.
            let at = self.now + cfg.timeout.nanos();
            self.events.push(
                at,
                Event::HealthResult {
                    inst: i as u32,
                    passed: false,
                    epoch,
                },
            );
        } else {
            self.record_health(i, true);
            self.events.push(self.now + cfg.interval.nanos(), next);
        }
    }

    pub(super) fn on_health_result(&mut self, i: usize, passed: bool, epoch: u32) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        if self.instances[i].epoch != epoch {
            return;
        }
        self.record_health(i, passed);
        self.events.push(
            self.now + cfg.interval.nanos(),
            Event::HealthCheck {
                inst: i as u32,
                epoch,
            },
        );
    }

    fn record_health(&mut self, i: usize, passed: bool) {
        let Some(cfg) = &self.model.health_check else {
            return;
        };
        if let Some(healthy) = self.health[i].record(cfg, passed) {
            let inst = &mut self.instances[i];
            inst.healthy = healthy;
            inst.update();
            if !healthy {
                self.resilience.marked_unhealthy += 1;
            }
            self.touched(i);
        }
    }

    pub(super) fn on_outlier_tick(&mut self) {
        let now = self.now;
        let Some(o) = &mut self.outlier else { return };
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
        self.events.push(now + every, Event::OutlierTick);
    }
}

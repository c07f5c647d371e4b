//! `workload.arrivals`: the base rate, steps and their ramps, the diurnal
//! swing and bursts.

use super::{Checker, StepRate};
use crate::profile::{BurstShape, DiurnalShape};
use crate::scenario::Scenario;
use strategies::Nanos;

impl Scenario {
    /// `workload.arrivals.ratePerSecond` and `steps`, with their ramps.
    pub(super) fn compile_steps(&self, c: &mut Checker, duration: Nanos) -> Vec<StepRate> {
        let closed = vec![StepRate {
            at: Nanos::ZERO,
            rate_per_second: 0.0,
            ramp: Nanos::ZERO,
        }];
        let Some(a) = &self.workload.arrivals else {
            if self.workload.sessions.is_none() && self.workload.trace.is_none() {
                c.fail(
                    "workload.arrivals",
                    "required: give open arrivals ({\"ratePerSecond\": ...}), closed-loop \
                     workload.sessions or a workload.trace",
                );
            }
            return closed;
        };
        c.rate("workload.arrivals.ratePerSecond", a.rate_per_second);
        let mut profile = vec![StepRate {
            at: Nanos::ZERO,
            rate_per_second: a.rate_per_second,
            ramp: Nanos::ZERO,
        }];
        for (i, s) in a.steps.iter().enumerate() {
            let path = format!("workload.arrivals.steps[{i}]");
            c.rate(&format!("{path}.ratePerSecond"), s.rate_per_second);
            let prev = profile
                .last()
                .map_or((Nanos::ZERO, Nanos::ZERO), |p| (p.at, p.ramp));
            if s.at.nanos() <= prev.0 || s.at.nanos() < prev.0 + prev.1 {
                c.fail(
                    format!("{path}.at"),
                    "steps must start after time zero and after the step (and ramp) before them",
                );
            } else if s.at.nanos() >= duration && duration > Nanos::ZERO {
                c.fail(
                    format!("{path}.at"),
                    format!(
                        "starts at or after run.duration ({}), so it never applies",
                        self.run.duration
                    ),
                );
            }
            let ramp = s.ramp.map_or(Nanos::ZERO, |r| r.nanos());
            if s.ramp.is_some() && ramp == Nanos::ZERO {
                c.fail(
                    format!("{path}.ramp"),
                    "must be longer than 0s; leave it out for a step at once",
                );
            }
            profile.push(StepRate {
                at: s.at.nanos(),
                rate_per_second: s.rate_per_second,
                ramp,
            });
        }
        if profile.iter().all(|s| s.rate_per_second <= 0.0) {
            c.fail(
                "workload.arrivals.ratePerSecond",
                "no requests would ever arrive: give a rate above 0 here or in a step",
            );
        }
        profile
    }

    /// `workload.arrivals.diurnal` and `bursts`.
    pub(super) fn compile_shape(
        &self,
        c: &mut Checker,
        duration: Nanos,
    ) -> (Option<DiurnalShape>, Vec<BurstShape>) {
        let Some(a) = &self.workload.arrivals else {
            return (None, Vec::new());
        };
        let diurnal = a.diurnal.as_ref().and_then(|d| {
            let path = "workload.arrivals.diurnal";
            let mut ok = true;
            if d.period.nanos() == Nanos::ZERO {
                c.fail(format!("{path}.period"), "must be longer than 0s");
                ok = false;
            }
            if !(d.amplitude.is_finite() && (0.0..=1.0).contains(&d.amplitude)) {
                c.fail(
                    format!("{path}.amplitude"),
                    format!(
                        "must be from 0 (flat) to 1 (the trough is zero), found {}",
                        d.amplitude
                    ),
                );
                ok = false;
            }
            ok.then_some(DiurnalShape {
                period: d.period.nanos(),
                peak_at: d.peak_at.nanos(),
                amplitude: d.amplitude,
            })
        });
        let mut bursts = Vec::new();
        for (i, b) in a.bursts.iter().enumerate() {
            let path = format!("workload.arrivals.bursts[{i}]");
            let mut ok = true;
            if !(b.multiplier.is_finite() && b.multiplier >= 0.0) {
                c.fail(
                    format!("{path}.multiplier"),
                    format!("must be 0 or more, found {}", b.multiplier),
                );
                ok = false;
            }
            if b.duration.nanos() == Nanos::ZERO {
                c.fail(format!("{path}.duration"), "must be longer than 0s");
                ok = false;
            }
            if let Some(every) = b.every {
                if every.nanos() <= b.duration.nanos() {
                    c.fail(
                        format!("{path}.every"),
                        format!(
                            "must be longer than the burst's duration ({}), found {every}",
                            b.duration
                        ),
                    );
                    ok = false;
                }
            }
            if b.at.nanos() >= duration && duration > Nanos::ZERO {
                c.fail(
                    format!("{path}.at"),
                    format!(
                        "starts at or after run.duration ({}), so it never applies",
                        self.run.duration
                    ),
                );
                ok = false;
            }
            if ok {
                bursts.push(BurstShape {
                    at: b.at.nanos(),
                    duration: b.duration.nanos(),
                    multiplier: b.multiplier,
                    every: b.every.map(|e| e.nanos()),
                });
            }
        }
        (diurnal, bursts)
    }
}

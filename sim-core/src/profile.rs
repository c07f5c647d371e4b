//! The arrival rate over time: steps, linear ramps, a diurnal swing and
//! bursts, as compiled from `workload.arrivals`.
//!
//! The rate at time `t` is `base(t) * diurnal(t) * bursts(t)`: `base` is
//! piecewise constant (steps) or linear (ramps), `diurnal` is `1 + a *
//! cos(2 pi (t - peak) / period)` and `bursts` the product of the
//! multipliers of the bursts under way. [`Model::rate_bound`] bounds the
//! rate on a piece of time where `base` is monotone and no burst starts or
//! ends, which is what the engine's thinning needs to draw exact arrival
//! times (Lewis and Shedler, 1979).

use crate::scenario::{Model, StepRate};
use strategies::Nanos;

/// `workload.arrivals.diurnal`, compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiurnalShape {
    /// One cycle.
    pub period: Nanos,
    /// Time of a peak.
    pub peak_at: Nanos,
    /// Swing around the mean, 0 to 1.
    pub amplitude: f64,
}

impl DiurnalShape {
    /// The multiplier at `t`.
    pub fn factor(&self, t: Nanos) -> f64 {
        let phase = (t.0 as f64 - self.peak_at.0 as f64) / self.period.0 as f64;
        1.0 + self.amplitude * (std::f64::consts::TAU * phase).cos()
    }
}

/// One entry of `workload.arrivals.bursts`, compiled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstShape {
    /// Start of the first burst.
    pub at: Nanos,
    /// Length of each.
    pub duration: Nanos,
    /// Rate multiplier while it lasts.
    pub multiplier: f64,
    /// Repeat period, if it repeats.
    pub every: Option<Nanos>,
}

impl BurstShape {
    /// Whether a burst is under way at `t`, and the next time that changes.
    pub fn state(&self, t: Nanos) -> (bool, Nanos) {
        if t < self.at {
            return (false, self.at);
        }
        let since = t.0 - self.at.0;
        let offset = match self.every {
            Some(every) => since % every.0,
            None => since,
        };
        if offset < self.duration.0 {
            (true, Nanos(t.0.saturating_add(self.duration.0 - offset)))
        } else {
            match self.every {
                Some(every) => (false, Nanos(t.0.saturating_add(every.0 - offset))),
                None => (false, Nanos(u64::MAX)),
            }
        }
    }
}

/// The base rate of `steps[i]` at `t` (within it): constant, or on its
/// ramp from the rate before.
fn base_at(steps: &[StepRate], i: usize, t: Nanos) -> f64 {
    let s = &steps[i];
    if s.ramp > Nanos::ZERO && t < s.at + s.ramp && i > 0 {
        let from = steps[i - 1].rate_per_second;
        let x = (t.0.saturating_sub(s.at.0)) as f64 / s.ramp.0 as f64;
        from + (s.rate_per_second - from) * x
    } else {
        s.rate_per_second
    }
}

impl Model {
    /// Whether the rate varies within a step (ramps, diurnal, bursts), so
    /// arrivals are drawn by thinning rather than step by step.
    pub fn rate_varies(&self) -> bool {
        self.workload.diurnal.is_some()
            || !self.workload.bursts.is_empty()
            || self
                .workload
                .rate_profile
                .iter()
                .any(|s| s.ramp > Nanos::ZERO)
    }

    /// The index of the step in force at `t`.
    pub fn step_at(&self, t: Nanos) -> usize {
        self.workload
            .rate_profile
            .partition_point(|s| s.at <= t)
            .max(1)
            - 1
    }

    /// The arrival rate (per second) at `t`.
    pub fn rate_at(&self, t: Nanos) -> f64 {
        self.rate_in_step(self.step_at(t), t)
    }

    /// The rate at `t`, which lies in step `i`.
    pub(crate) fn rate_in_step(&self, i: usize, t: Nanos) -> f64 {
        let mut rate = base_at(&self.workload.rate_profile, i, t);
        if let Some(d) = &self.workload.diurnal {
            rate *= d.factor(t);
        }
        for b in &self.workload.bursts {
            if b.state(t).0 {
                rate *= b.multiplier;
            }
        }
        rate
    }

    /// From `t` in step `i`: the end of the piece on which the rate stays
    /// under the returned bound (a ramp's end, the next step, a burst's
    /// start or end), always after `t`.
    pub(crate) fn rate_bound(&self, i: usize, t: Nanos) -> (Nanos, f64) {
        let steps = &self.workload.rate_profile;
        let s = &steps[i];
        let next_step = steps.get(i + 1).map_or(Nanos(u64::MAX), |n| n.at);
        let (mut end, base) = if s.ramp > Nanos::ZERO && t < s.at + s.ramp && i > 0 {
            let ramp_end = (s.at + s.ramp).min(next_step);
            let bound = base_at(steps, i, t).max(base_at(steps, i, ramp_end));
            (ramp_end, bound)
        } else {
            (next_step, s.rate_per_second)
        };
        let mut bound = base;
        if let Some(d) = &self.workload.diurnal {
            bound *= 1.0 + d.amplitude;
        }
        for b in &self.workload.bursts {
            let (on, change) = b.state(t);
            if on {
                bound *= b.multiplier;
            }
            end = end.min(change);
        }
        (end, bound)
    }

    /// The highest rate the profile reaches (an upper bound with a diurnal
    /// swing or bursts).
    pub fn peak_rate(&self) -> f64 {
        let base = self
            .workload
            .rate_profile
            .iter()
            .map(|s| s.rate_per_second)
            .fold(0.0, f64::max);
        let swing = self.workload.diurnal.map_or(1.0, |d| 1.0 + d.amplitude);
        let bursts: f64 = self
            .workload
            .bursts
            .iter()
            .map(|b| b.multiplier.max(1.0))
            .product();
        base * swing * bursts
    }

    /// Expected arrivals between `from` and `to`: exact for steps and
    /// ramps; with a diurnal swing or bursts, integrated numerically on
    /// each piece (Simpson's rule on up to 64 points a piece).
    pub fn expected_arrivals(&self, from: Nanos, to: Nanos) -> f64 {
        let mut t = from;
        let mut total = 0.0;
        while t < to {
            let i = self.step_at(t);
            let (end, _) = self.rate_bound(i, t);
            let end = end.min(to);
            let secs = (end - t).as_secs_f64();
            total += if self.workload.diurnal.is_none() {
                // Linear on the piece: the trapezoid is exact.
                let at_end = self.rate_in_step(i, Nanos(end.0 - 1).max(t));
                0.5 * (self.rate_in_step(i, t) + at_end) * secs
            } else {
                let n = 64u64;
                let h = (end.0 - t.0) as f64 / n as f64;
                let f = |k: u64| {
                    let x = Nanos(t.0 + (h * k as f64) as u64).min(Nanos(end.0 - 1).max(t));
                    self.rate_in_step(i, x)
                };
                let mut sum = f(0) + f(n);
                for k in 1..n {
                    sum += if k % 2 == 1 { 4.0 } else { 2.0 } * f(k);
                }
                sum * h / 3.0 / 1e9
            };
            t = end;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_burst_turns_on_and_off() {
        let b = BurstShape {
            at: Nanos::from_secs(10),
            duration: Nanos::from_secs(2),
            multiplier: 3.0,
            every: Some(Nanos::from_secs(5)),
        };
        assert_eq!(b.state(Nanos::from_secs(0)), (false, Nanos::from_secs(10)));
        assert_eq!(b.state(Nanos::from_secs(10)), (true, Nanos::from_secs(12)));
        assert_eq!(b.state(Nanos::from_secs(11)), (true, Nanos::from_secs(12)));
        assert_eq!(b.state(Nanos::from_secs(12)), (false, Nanos::from_secs(15)));
        assert_eq!(b.state(Nanos::from_secs(16)), (true, Nanos::from_secs(17)));
        let once = BurstShape { every: None, ..b };
        assert_eq!(once.state(Nanos::from_secs(16)), (false, Nanos(u64::MAX)));
    }

    #[test]
    fn the_diurnal_factor_peaks_at_its_hour() {
        let d = DiurnalShape {
            period: Nanos::from_secs(86_400),
            peak_at: Nanos::from_secs(14 * 3600),
            amplitude: 0.5,
        };
        assert!((d.factor(Nanos::from_secs(14 * 3600)) - 1.5).abs() < 1e-12);
        assert!((d.factor(Nanos::from_secs(2 * 3600)) - 0.5).abs() < 1e-12);
        assert!((d.factor(Nanos::from_secs(38 * 3600)) - 1.5).abs() < 1e-9);
    }
}

//! How much work a model is, and what cannot be simulated at all.
//!
//! Two kinds of scenario would never finish: one whose events come faster
//! than the nanosecond clock can tell apart (arrival gaps that round to
//! zero, checks every nanosecond), and one whose numbers are beyond any use
//! (a billion retry attempts). [`Model::infeasible`] refuses those with the
//! path and the limit. Everything else runs, and [`Model::work_estimate`]
//! says beforehand how many events it will take, so a long run can say so.

use super::Model;
use crate::error::Problem;
use strategies::Nanos;

/// Highest arrival rate simulated: gaps of 100 ns on average, so that
/// exponential gaps stay well above the clock's 1 ns resolution.
pub const MAX_RATE_PER_SECOND: f64 = 10_000_000.0;
/// Shortest interval of a recurring check or mean time of a random event.
pub const MIN_INTERVAL: Nanos = Nanos(1_000_000);
/// Most attempts one request may make.
pub const MAX_ATTEMPTS: u32 = 100;
/// Longest simulated horizon (ten years).
pub const MAX_DURATION: Nanos = Nanos(3650 * 86_400 * 1_000_000_000);

/// The expected size of a run, over all its replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkEstimate {
    /// Expected arrivals.
    pub requests: f64,
    /// Expected events processed.
    pub events: f64,
}

impl Model {
    /// Session pauses (think times, times between sessions) too short to
    /// simulate, as the users who pause least see them: a noisy tenant's
    /// users pause `multiplier` times less. A user who asks again at once
    /// can loop without time passing when requests are refused at once.
    fn pauses_too_short(&self, out: &mut Vec<Problem>) {
        let noisy = (self.workload.users.as_ref())
            .and_then(|u| u.noisy)
            .map(|(_, m)| m)
            .filter(|&m| m > 1.0);
        let mut check = |path: String, mean_secs: f64| {
            let own = Nanos::from_secs_f64(mean_secs);
            if own < MIN_INTERVAL {
                out.push(Problem::new(
                    path,
                    format!("must be at least {MIN_INTERVAL} to be simulated, found {own}"),
                ));
                return;
            }
            let Some(m) = noisy else { return };
            let shrunk = mean_secs / m;
            if shrunk < MIN_INTERVAL.as_secs_f64() {
                let most = mean_secs / MIN_INTERVAL.as_secs_f64();
                out.push(Problem::new(
                    "workload.users.noisyTenant.multiplier",
                    format!(
                        "divides {path} (mean {own}) to {shrunk:.3e}s for the noisy tenant's \
                         users; a pause must stay at least {MIN_INTERVAL} to be simulated: give a \
                         multiplier of at most {most}, found {m}"
                    ),
                ));
            }
        };
        if let Some(s) = &self.workload.sessions {
            check("workload.sessions.thinkTime".into(), s.think.mean_secs());
            if let Some(b) = &s.between {
                check("workload.sessions.betweenSessions".into(), b.mean_secs());
            }
        }
        // A class's own pauses, where it gives them.
        let classes = &self.scenario.workload.classes;
        for (k, (name, spec)) in self.workload.classes.iter().zip(classes.iter()) {
            let (Some(own), Some(s)) = (spec.sessions.as_ref(), k.sessions.as_ref()) else {
                continue;
            };
            let path = format!("workload.classes.{name}.sessions");
            if own.think_time.is_some() {
                check(format!("{path}.thinkTime"), s.think.mean_secs());
            }
            if let (Some(_), Some(b)) = (&own.between_sessions, &s.between) {
                check(format!("{path}.betweenSessions"), b.mean_secs());
            }
        }
    }

    /// The settings that cannot be simulated, each with its path and the
    /// limit; empty for a runnable model.
    pub fn infeasible(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let s = &self.scenario;
        if self.run.duration > MAX_DURATION {
            out.push(Problem::new(
                "run.duration",
                format!(
                    "at most {MAX_DURATION} ({} days) can be simulated, found {}",
                    MAX_DURATION.0 / 86_400_000_000_000,
                    s.run.duration
                ),
            ));
        }
        for (i, step) in self.workload.rate_profile.iter().enumerate() {
            if step.rate_per_second > MAX_RATE_PER_SECOND {
                let path = if i == 0 {
                    "workload.arrivals.ratePerSecond".to_string()
                } else {
                    format!("workload.arrivals.steps[{}].ratePerSecond", i - 1)
                };
                out.push(Problem::new(
                    path,
                    format!(
                        "at most {MAX_RATE_PER_SECOND:.0} requests per second can be simulated \
                         (faster, the gaps between arrivals round to zero nanoseconds), found {}",
                        step.rate_per_second
                    ),
                ));
            }
        }
        let peak = self.peak_rate();
        let steps_fine = self
            .workload
            .rate_profile
            .iter()
            .all(|s| s.rate_per_second <= MAX_RATE_PER_SECOND);
        if steps_fine && peak > MAX_RATE_PER_SECOND {
            out.push(Problem::new(
                "workload.arrivals",
                format!(
                    "the rate peaks at {peak:.0} requests per second with the diurnal swing and \
                     bursts; at most {MAX_RATE_PER_SECOND:.0} can be simulated"
                ),
            ));
        }
        let interval = |out: &mut Vec<Problem>, path: &str, d: Nanos| {
            if d < MIN_INTERVAL {
                out.push(Problem::new(
                    path,
                    format!("must be at least {MIN_INTERVAL} to be simulated, found {d}"),
                ));
            }
        };
        if let Some(h) = &self.resilience.health_check {
            interval(
                &mut out,
                "deployment.healthCheck.interval",
                h.interval.nanos(),
            );
        }
        self.pauses_too_short(&mut out);
        for (k, b) in self.workload.bursts.iter().enumerate() {
            // Arrivals are drawn piece by piece between burst edges.
            interval(
                &mut out,
                &format!("workload.arrivals.bursts[{k}].duration"),
                b.duration,
            );
            if let Some(every) = b.every {
                interval(
                    &mut out,
                    &format!("workload.arrivals.bursts[{k}].every"),
                    every,
                );
            }
        }
        if let Some(every) = self.balancing.refresh {
            interval(
                &mut out,
                "deployment.loadBalancing.loadRefreshInterval",
                every,
            );
        }
        if let Some(o) = &self.resilience.outlier_detection {
            interval(
                &mut out,
                "deployment.outlierDetection.interval",
                o.interval.nanos(),
            );
        }
        if let Some(r) = s.failures.as_ref().and_then(|f| f.random.as_ref()) {
            interval(
                &mut out,
                "failures.random.meanTimeBetweenFailures",
                r.mean_time_between_failures.nanos(),
            );
            interval(
                &mut out,
                "failures.random.meanTimeToRepair",
                r.mean_time_to_repair.nanos(),
            );
        }
        if let Some(r) = &self.resilience.retries {
            if r.max_attempts > MAX_ATTEMPTS {
                out.push(Problem::new(
                    "deployment.retries.maxAttempts",
                    format!(
                        "must be from 1 to {MAX_ATTEMPTS} attempts in all, found {}",
                        r.max_attempts
                    ),
                ));
            }
        }
        out
    }

    /// Expected arrivals and events over every replication: arrivals from
    /// the rate profile, about four events per request and a few more per
    /// retry, plus the recurring checks and failures of every instance.
    pub fn work_estimate(&self) -> WorkEstimate {
        let end = self.run.duration;
        let secs = end.as_secs_f64();
        let requests = self.expected_arrivals(Nanos::ZERO, end)
            + self.workload.trace.as_ref().map_or(0.0, |t| t.rows as f64)
            // A closed loop sends no faster than the fleet answers (each
            // user waits for its answer).
            + self
                .closed_loop_rate(true)
                .min(self.total_slots() as f64 / self.mean_service_secs().max(1e-9))
                * secs;
        let retries = self.resilience.retries.as_ref().map_or(0.0, |r| {
            let index = self.workload.classes[0].shape.model_index;
            let errors = self.llm.models.get(index).map_or(0.0, |m| m.error_rate);
            f64::from(r.max_attempts - 1) * errors.max(0.01)
        });
        let per_request = 4.0 + 3.0 * retries;
        let n = self.fleet.instances.len() as f64;
        let mut recurring = 0.0;
        if let Some(h) = &self.resilience.health_check {
            recurring += n * secs / h.interval.nanos().as_secs_f64().max(1e-9);
        }
        if let Some(o) = &self.resilience.outlier_detection {
            recurring += secs / o.interval.nanos().as_secs_f64().max(1e-9);
        }
        if let Some(r) = &self.failures.random {
            let cycle = r.between.mean_secs() + r.repair.mean_secs();
            recurring += 2.0 * n * secs / cycle.max(1e-9);
        }
        let every = |d: Nanos| secs / d.as_secs_f64().max(1e-9);
        // The series: a row per interval.
        recurring += every(self.run.series_interval);
        // Arrivals are drawn piece by piece between burst edges.
        for b in &self.workload.bursts {
            if let Some(p) = b.every {
                recurring += 2.0 * every(p);
            }
        }
        // The metrics pipeline samples the fleet; the autoscalers decide
        // every check interval.
        if let Some(s) = &self.fleet.scaling {
            recurring += every(s.collection_interval);
            use strategies::scale::Autoscaler;
            recurring += every(s.config.build().interval());
        }
        // The balancer replicas relearn every backend's load.
        if let Some(p) = self.balancing.refresh {
            recurring += every(p);
        }
        let reps = f64::from(self.run.replications);
        WorkEstimate {
            requests: reps * requests,
            events: reps * (requests * per_request + recurring),
        }
    }
}

//! Asking before big work: a sweep, comparison or plan estimates what it
//! will simulate from every one of its points (not from the first, which
//! may be the smallest) and, above [`CONFIRM_ABOVE_REQUESTS`], does not
//! start without `--yes`. On a terminal it asks y/N instead; it never asks
//! when standard input is not a terminal (a script, CI, or a scenario piped
//! in), and exits 2 with the estimate and how to narrow the work.

use crate::failure::Failure;
use crate::progress;
use anyhow::anyhow;
use sim_core::Model;
use std::io::{BufRead, IsTerminal, Write};

/// Simulated requests above which fleetsim asks before starting: about
/// 3 to 4 minutes on a laptop that simulates 5 million requests a second
/// on all its cores, and far longer on a small CI runner.
pub(crate) const CONFIRM_ABOVE_REQUESTS: f64 = 1.0e9;

/// Replaces [`CONFIRM_ABOVE_REQUESTS`] (a number of simulated requests).
pub(crate) const LIMIT_VAR: &str = "FLEETSIM_CONFIRM_ABOVE";

/// What a set of runs will simulate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Work {
    /// Points of the grid.
    pub(crate) points: u64,
    /// Runs: points times seeds.
    pub(crate) runs: u64,
    /// Expected simulated requests over every run.
    pub(crate) requests: f64,
    /// Expected events over every run.
    pub(crate) events: f64,
    /// Expected requests of one run of the largest point.
    pub(crate) largest: f64,
}

impl Work {
    /// The work of `seeds` runs of each model: every point's own
    /// estimate ([`Model::work_estimate`]), summed.
    pub(crate) fn of_models(models: &[Model], seeds: u32) -> Work {
        let mut w = Work {
            points: models.len() as u64,
            runs: models.len() as u64 * u64::from(seeds),
            requests: 0.0,
            events: 0.0,
            largest: 0.0,
        };
        for m in models {
            let e = m.work_estimate();
            let reps = f64::from(m.run.replications.max(1));
            let (requests, events) = (e.requests / reps, e.events / reps);
            w.requests += requests * f64::from(seeds);
            w.events += events * f64::from(seeds);
            w.largest = w.largest.max(requests);
        }
        w
    }

    /// One share of `count` (`--shard K/N`).
    pub(crate) fn share(self, count: u32) -> Work {
        let n = f64::from(count.max(1));
        Work {
            runs: self.runs.div_ceil(u64::from(count.max(1))),
            requests: self.requests / n,
            events: self.events / n,
            ..self
        }
    }

    /// Two sets of runs as one.
    pub(crate) fn plus(self, o: Work) -> Work {
        Work {
            points: self.points + o.points,
            runs: self.runs + o.runs,
            requests: self.requests + o.requests,
            events: self.events + o.events,
            largest: self.largest.max(o.largest),
        }
    }

    /// The estimate in words: `about 2.4e9 simulated requests (3000 runs
    /// of 1000 points; the largest point 8.0e5 requests a run), roughly 9
    /// min on this machine's 2 cores`.
    pub(crate) fn words(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parallel = u32::try_from(self.runs).unwrap_or(u32::MAX);
        format!(
            "about {:.1e} simulated requests ({} runs of {} point(s); the largest point {:.1e} requests a run), roughly {} on this machine's {cores} core(s)",
            self.requests,
            self.runs,
            self.points,
            self.largest,
            progress::words(progress::expected_secs(self.events, parallel))
        )
    }
}

/// The limit: [`LIMIT_VAR`] when set, else [`CONFIRM_ABOVE_REQUESTS`].
fn limit() -> Result<f64, Failure> {
    match std::env::var(LIMIT_VAR) {
        Err(_) => Ok(CONFIRM_ABOVE_REQUESTS),
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| {
                Failure::Input(anyhow!(
                    "{LIMIT_VAR}={v}: a number of simulated requests from 0, e.g. 1e9"
                ))
            }),
    }
}

/// Goes on when `work` is within the limit or `yes` is given; else asks on
/// a terminal, and refuses (exit 2) anywhere else. `what` names the work
/// (`this sweep`), `narrow` says how to make it smaller.
pub(crate) fn confirm(work: &Work, what: &str, yes: bool, narrow: &str) -> Result<(), Failure> {
    let limit = limit()?;
    if yes || work.requests <= limit {
        return Ok(());
    }
    let msg = format!(
        "{what} simulates {}: above the {limit:.1e} simulated requests fleetsim starts without asking. To make it smaller: {narrow}",
        work.words()
    );
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Failure::Input(anyhow!(
            "{msg}. To start it as it is, give --yes."
        )));
    }
    eprint!("{msg}.\nStart it? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Input(anyhow!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Input(anyhow!(
            "not started; give --yes to start without asking"
        )))
    }
}

/// How to narrow a sweep or comparison.
pub(crate) const NARROW_SWEEP: &str = "fewer seeds (--seeds N), fewer axis values or options, a shorter run.duration, or one share at a time (--shard K/N, joined with `fleetsim merge`)";

/// How to narrow a plan.
pub(crate) const NARROW_PLAN: &str =
    "fewer seeds (--seeds N), a narrower --axis range, or a shorter run.duration";

#[cfg(test)]
mod tests {
    use super::*;

    fn model(rate: f64, duration: &str) -> Model {
        let json = format!(
            r#"{{ "name": "w", "run": {{ "duration": "{duration}", "replications": 2 }},
  "workload": {{ "arrivals": {{ "ratePerSecond": {rate} }} }},
  "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "1s" }} }} }} }},
  "instanceTypes": {{ "t": {{ "slots": 100 }} }},
  "deployment": {{ "regions": {{ "r": {{ "instances": 10 }} }} }} }}"#
        );
        Model::from_json(&json, "w.json").unwrap()
    }

    /// The estimate sums every point, so a small first point does not
    /// hide a large last one, and it is per run (not per the scenario's
    /// own replications) times the seeds.
    #[test]
    fn sums_every_point_per_seed() {
        let small = model(1.0, "10m");
        let big = model(10.0, "100m");
        let one = Work::of_models(std::slice::from_ref(&small), 1);
        assert!((one.requests - 600.0).abs() < 60.0, "{one:?}");
        let w = Work::of_models(&[small, big], 3);
        assert_eq!((w.points, w.runs), (2, 6));
        let want = 3.0 * (600.0 + 60_000.0);
        assert!((w.requests - want).abs() / want < 0.05, "{w:?}");
        assert!((w.largest - 60_000.0).abs() < 3_000.0, "{w:?}");
        let half = w.share(2);
        assert!((half.requests - w.requests / 2.0).abs() < 1e-6);
    }
}

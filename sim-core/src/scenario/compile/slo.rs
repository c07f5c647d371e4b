//! `slo`: what a run must achieve.

use super::{Checker, Objective, Percentile};
use crate::scenario::Scenario;

impl Scenario {
    pub(super) fn compile_slo(&self, c: &mut Checker) -> Vec<Objective> {
        let mut objectives = Vec::new();
        let Some(slo) = &self.slo else {
            return objectives;
        };
        for (key, target) in &slo.latency {
            match Percentile::parse(key) {
                Some(p) => objectives.push(Objective::Latency {
                    percentile: p,
                    target: target.nanos(),
                }),
                None => c.fail(
                    format!("slo.latency.{key}"),
                    "unknown percentile; write p followed by a number between 0 and 100, e.g. p50, p99, p99.9",
                ),
            }
        }
        if let Some(e) = slo.error_rate {
            c.share("slo.errorRate", e);
            objectives.push(Objective::ErrorRate { max: e });
        }
        objectives
    }
}

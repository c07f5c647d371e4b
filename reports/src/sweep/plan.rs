//! A sweep made runnable: the base scenario read, every point's scenario
//! built and checked before any run starts, and the sweep's identity.

use super::spec::{SweepSpec, MAX_RUNS};
use serde_json::Value;
use sim_core::{Model, Problem, ScenarioError};

/// A checked sweep: one model per point.
#[derive(Debug)]
pub struct Sweep {
    /// The sweep as written.
    pub spec: SweepSpec,
    /// Each point's checked scenario, in grid order.
    pub models: Vec<Model>,
    /// Seeds per point.
    pub seeds: u32,
    /// 16 hex digits identifying the scenario's content.
    pub scenario_hash: String,
    /// 16 hex digits identifying the whole sweep (scenario, axes, zip,
    /// seeds): shares of one sweep carry the same.
    pub sweep_hash: String,
}

impl Sweep {
    /// Reads the base scenario and checks every point (in parallel). A
    /// point the scenario refuses is reported against the axis whose value
    /// is refused on its own, or else as the combination.
    pub fn prepare(spec: SweepSpec) -> Result<Sweep, ScenarioError> {
        let base = sim_core::scenario_json(&spec.scenario)?;
        let file = spec.scenario.clone();
        let base_model = Model::from_value(&base, &file)?;
        let seeds = spec.seeds.unwrap_or(base_model.run.replications.max(1));
        let fail = |path: String, message: String| ScenarioError::Invalid {
            file: spec.origin.clone(),
            problems: vec![Problem::new(path, message)],
        };
        let axis_key = |path: &str| {
            if spec.from_command_line {
                format!("--axis {path}")
            } else {
                format!("axes[\"{path}\"]")
            }
        };
        let points = spec.points();
        let runs = points.saturating_mul(u64::from(seeds));
        if runs > MAX_RUNS {
            return Err(fail(
                "axes".into(),
                format!("{points} points x {seeds} seeds = {runs} runs; a sweep may have at most {MAX_RUNS}"),
            ));
        }
        let document = |idx: &[usize]| -> Result<serde_json::Value, ScenarioError> {
            let mut doc = base.clone();
            for (axis, &i) in spec.axes.iter().zip(idx) {
                axis.path
                    .set(&mut doc, axis.values[i].clone(), NAMED_MAPS)
                    .map_err(|e| fail(axis_key(axis.path.as_str()), e.to_string()))?;
            }
            Ok(doc)
        };
        let indices: Vec<u64> = (0..points).collect();
        let mut models: Vec<Model> = crate::study::pool::map(&indices, |&p| {
            let idx = spec.point_values(p);
            let doc = document(&idx)?;
            Model::from_value(&doc, &file).map_err(|e| {
                // Name the axis when one value alone is refused.
                for (a, axis) in spec.axes.iter().enumerate() {
                    let mut alone = base.clone();
                    let refused = axis
                        .path
                        .set(&mut alone, axis.values[idx[a]].clone(), NAMED_MAPS)
                        .is_err()
                        || Model::from_value(&alone, &file).is_err();
                    if refused {
                        return fail(
                            axis_key(axis.path.as_str()),
                            format!(
                                "the value {} does not fit the scenario: {e}",
                                axis.label(idx[a])
                            ),
                        );
                    }
                }
                let at: Vec<String> = spec
                    .axes
                    .iter()
                    .zip(&idx)
                    .map(|(a, &i)| format!("{} = {}", a.path, a.label(i)))
                    .collect();
                fail(
                    "axes".into(),
                    format!("the point {} does not fit the scenario: {e}", at.join(", ")),
                )
            })
        })?;
        // Every point runs on one master seed, so options are compared on
        // the same arrivals and latencies: `seed`, or the base's (whole
        // scenarios as variants would otherwise bring their own).
        let master = spec.seed.unwrap_or(base_model.run.seed);
        let axis_sets_seed = spec.axes.iter().any(|a| a.path.as_str() == "run.seed");
        if !axis_sets_seed {
            for m in &mut models {
                m.run.seed = master;
            }
        }
        let scenario_hash = hex(fnv1a(base.to_string().as_bytes()));
        let identity = serde_json::json!({
            "fleetsim": sim_core::VERSION,
            "scenario": base,
            "axes": spec.axes.iter().map(|a| (a.path.as_str(), &a.values)).collect::<Vec<_>>(),
            "zip": spec.zip,
            "seeds": seeds,
            "seed": master,
        });
        let sweep_hash = hex(fnv1a(identity.to_string().as_bytes()));
        Ok(Sweep {
            spec,
            models,
            seeds,
            scenario_hash,
            sweep_hash,
        })
    }

    /// Runs in the sweep: points times seeds.
    pub fn runs(&self) -> u64 {
        self.models.len() as u64 * u64::from(self.seeds)
    }

    /// The point and seed of run `r` (points outer, seeds inner).
    pub fn locate(&self, r: u64) -> (usize, u32) {
        let s = u64::from(self.seeds);
        ((r / s) as usize, (r % s) as u32)
    }

    /// Each axis's value label at point `p`.
    pub fn labels(&self, p: usize) -> Vec<String> {
        let idx = self.spec.point_values(p as u64);
        self.spec
            .axes
            .iter()
            .zip(idx)
            .map(|(a, i)| a.label(i))
            .collect()
    }

    /// Each axis's value at point `p`.
    pub fn values(&self, p: usize) -> Vec<&Value> {
        let idx = self.spec.point_values(p as u64);
        self.spec
            .axes
            .iter()
            .zip(idx)
            .map(|(a, i)| &a.values[i])
            .collect()
    }
}

/// Maps of named entries: an axis may edit an entry or give a whole new
/// one, but a path through a name that does not exist is a typo, not a
/// new entry.
pub const NAMED_MAPS: &[&str] = &[
    "deployment.regions",
    "instanceTypes",
    "llm.models",
    "network.rtt",
];

/// 64-bit FNV-1a: a stable content fingerprint (not a security hash).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hex(h: u64) -> String {
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_published_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}

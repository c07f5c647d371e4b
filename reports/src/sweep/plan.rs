//! A sweep made runnable: the base scenario read, every point's scenario
//! built and checked before any run starts, and the sweep's identity.

use super::spec::SweepSpec;
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
    /// Reads the base scenario and checks every point. An axis value
    /// that the scenario refuses on its own is reported against that
    /// axis; a combination refused together is reported with the point.
    pub fn prepare(spec: SweepSpec) -> Result<Sweep, ScenarioError> {
        let base = sim_core::scenario_json(&spec.scenario)?;
        let file = spec.scenario.clone();
        let base_model = Model::from_value(&base, &file)?;
        let fail = |path: String, message: String| ScenarioError::Invalid {
            file: spec.origin.clone(),
            problems: vec![Problem::new(path, message)],
        };
        // Each value alone first, so an error names its axis.
        for axis in &spec.axes {
            for (i, v) in axis.values.iter().enumerate() {
                let mut doc = base.clone();
                axis.path.set(&mut doc, v.clone()).map_err(|e| {
                    fail(axis_key(axis.path.as_str()), format!("{}: {e}", axis.path))
                })?;
                Model::from_value(&doc, &file).map_err(|e| {
                    fail(
                        axis_key(axis.path.as_str()),
                        format!("the value {} does not fit the scenario: {e}", axis.label(i)),
                    )
                })?;
            }
        }
        let points = spec.points();
        let mut models = Vec::with_capacity(points as usize);
        for p in 0..points {
            let idx = spec.point_values(p);
            let mut doc = base.clone();
            for (axis, &i) in spec.axes.iter().zip(&idx) {
                axis.path
                    .set(&mut doc, axis.values[i].clone())
                    .map_err(|e| fail(axis_key(axis.path.as_str()), e))?;
            }
            let mut model = Model::from_value(&doc, &file).map_err(|e| {
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
            })?;
            if let Some(s) = spec.seed {
                model.seed = s;
            }
            models.push(model);
        }
        let seeds = spec.seeds.unwrap_or(base_model.replications.max(1));
        let scenario_hash = hex(fnv1a(base.to_string().as_bytes()));
        let identity = serde_json::json!({
            "scenario": base,
            "axes": spec.axes.iter().map(|a| (a.path.as_str(), &a.values)).collect::<Vec<_>>(),
            "zip": spec.zip,
            "seeds": seeds,
            "seed": spec.seed,
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

fn axis_key(path: &str) -> String {
    format!("axes[\"{path}\"]")
}

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

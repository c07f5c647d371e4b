//! What a sweep is: a base scenario, the axes that vary it, how the axes
//! combine, and the seeds every point runs on.
//!
//! A sweep file (`fleetsim sweep SWEEP.json`):
//!
//! ```json
//! {
//!   "name": "strategies-by-load",
//!   "scenario": "../quickstart.json",
//!   "seeds": 5,
//!   "axes": {
//!     "deployment.loadBalancing.strategy": ["round-robin", "least-connections"],
//!     "workload.arrivals.ratePerSecond": "10..50/10"
//!   }
//! }
//! ```
//!
//! `scenario` is relative to the sweep file. Axes cross into a grid, the
//! first axis outermost; `"zip": [["a", "b"]]` makes axes `a` and `b`
//! advance together instead (they must have as many values). `seed`
//! replaces the scenario's `run.seed`; `seeds` defaults to the scenario's
//! `run.replications`.

use super::axis::Axis;
use crate::error::Error;
use serde_json::Value;
use sim_core::ScenarioError;
use std::path::{Path, PathBuf};

/// Whether `s` names one directory entry and nothing more: not empty, not
/// `.` or `..`, no path separator, no leading dot, no control character.
/// A sweep's output directory is named after it in the working directory.
pub fn is_plain_name(s: &str) -> bool {
    !s.trim().is_empty()
        && !s.starts_with('.')
        && !s
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
}

/// A file's name without its extension, naming what comes of it; `stdin`
/// for standard input, `fallback` when there is none.
pub fn stem(file: &Path, fallback: &str) -> String {
    if sim_core::is_stdin(file) {
        return "stdin".into();
    }
    file.file_stem().map_or_else(
        || fallback.to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Most points (the product of the axes' lengths) one sweep may hold.
pub const MAX_POINTS: u64 = 100_000;

/// Most runs (points times seeds) one sweep may hold.
pub const MAX_RUNS: u64 = 10_000_000;
/// Most seeds per point.
pub const MAX_SEEDS: u32 = 10_000;

/// The keys of a sweep file (the schema names the same).
pub(crate) const SWEEP_KEYS: [&str; 8] = [
    "$schema",
    "name",
    "description",
    "scenario",
    "axes",
    "zip",
    "seeds",
    "seed",
];

/// A sweep as written, before its scenario is read.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// Name of the sweep: names the default output directory.
    pub name: String,
    /// What the sweep asks, in the sweep file's words (shown in the
    /// manifest and the report).
    pub description: String,
    /// The base scenario file.
    pub scenario: PathBuf,
    /// The axes, outermost first.
    pub axes: Vec<Axis>,
    /// Groups of axes (indices into `axes`) that advance together.
    pub zip: Vec<Vec<usize>>,
    /// Seeds per point; `None`: the scenario's `run.replications`.
    pub seeds: Option<u32>,
    /// Replaces the scenario's `run.seed`.
    pub seed: Option<u64>,
    /// Where the sweep was defined, for error messages.
    pub origin: PathBuf,
    /// Whether the axes came from `--axis` (errors then name the flag).
    pub from_command_line: bool,
}

impl SweepSpec {
    /// Reads a sweep file, refusing unknown keys and malformed axes with
    /// their JSON path.
    pub fn from_file(file: &Path) -> Result<SweepSpec, ScenarioError> {
        let v = sim_core::json_file(file)?;
        let Value::Object(map) = &v else {
            return Err(ScenarioError::at(
                file,
                "",
                "a sweep file is a JSON object with `scenario` and `axes`",
            ));
        };
        for key in map.keys() {
            if !SWEEP_KEYS.contains(&key.as_str()) {
                return Err(ScenarioError::at(
                    file,
                    key,
                    format!(
                        "unknown key; a sweep file has {}",
                        SWEEP_KEYS[1..].join(", ")
                    ),
                ));
            }
        }
        let name = match map.get("name") {
            None => stem(file, "sweep"),
            Some(Value::String(s)) if is_plain_name(s) => s.clone(),
            Some(Value::String(s)) => {
                return Err(ScenarioError::at(
                    file,
                    "name",
                    format!(
                        "must be a plain name (it names the output directory in the working \
                         directory): letters, digits, `-`, `_` or `.`, no `/` or `..`, found {s:?}; \
                         give --out to write elsewhere"
                    ),
                ))
            }
            Some(_) => return Err(ScenarioError::at(file, "name", "a non-empty string")),
        };
        let description = match map.get("description") {
            None => String::new(),
            Some(Value::String(d)) => d.clone(),
            Some(_) => return Err(ScenarioError::at(file, "description", "a string")),
        };
        let scenario = match map.get("scenario") {
            Some(Value::String(s)) if !s.is_empty() => {
                let dir = file.parent().unwrap_or(Path::new(""));
                dir.join(s)
            }
            Some(_) => {
                return Err(ScenarioError::at(
                    file,
                    "scenario",
                    "the base scenario's path, relative to this file",
                ))
            }
            None => {
                return Err(ScenarioError::at(
                    file,
                    "scenario",
                    "missing: name the base scenario file (relative to this file)",
                ))
            }
        };
        let Some(Value::Object(axes_map)) = map.get("axes") else {
            return Err(ScenarioError::at(
                file,
                "axes",
                "an object of JSON path to values, e.g. {\"deployment.loadBalancing.strategy\": [\"round-robin\", \"least-connections\"]}",
            ));
        };
        let mut axes = Vec::new();
        for (path, values) in axes_map {
            let axis = Axis::from_json(path, values).map_err(|e| {
                ScenarioError::at(file, &format!("axes[\"{path}\"]"), e.to_string())
            })?;
            axes.push(axis);
        }
        let zip = match map.get("zip") {
            None => Vec::new(),
            Some(Value::Array(groups)) => {
                let mut out = Vec::new();
                for (g, group) in groups.iter().enumerate() {
                    let Value::Array(names) = group else {
                        return Err(ScenarioError::at(
                            file,
                            &format!("zip[{g}]"),
                            "a list of axis paths",
                        ));
                    };
                    let names: Vec<String> = names
                        .iter()
                        .map(|n| n.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            ScenarioError::at(
                                file,
                                &format!("zip[{g}]"),
                                "a list of axis paths (strings)",
                            )
                        })?;
                    out.push(names);
                }
                zip_groups(&axes, &out).map_err(|e| ScenarioError::at(file, "zip", e))?
            }
            Some(_) => {
                return Err(ScenarioError::at(
                    file,
                    "zip",
                    "a list of lists of axis paths",
                ))
            }
        };
        let seeds = match map.get("seeds") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| (1..=u64::from(MAX_SEEDS)).contains(n))
                    .ok_or_else(|| {
                        ScenarioError::at(
                            file,
                            "seeds",
                            format!("a whole number from 1 to {MAX_SEEDS}"),
                        )
                    })? as u32,
            ),
        };
        let seed = match map.get("seed") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| ScenarioError::at(file, "seed", "a whole number from 0"))?,
            ),
        };
        let spec = SweepSpec {
            name,
            description,
            scenario,
            axes,
            zip,
            seeds,
            seed,
            origin: file.to_path_buf(),
            from_command_line: false,
        };
        spec.check_size()
            .map_err(|e| ScenarioError::at(file, "axes", e.to_string()))?;
        spec.check_paths()
            .map_err(|e| ScenarioError::at(file, "axes", e.to_string()))?;
        Ok(spec)
    }

    /// A sweep given on the command line.
    pub fn from_args(
        scenario: &Path,
        axes: Vec<Axis>,
        zip: &[Vec<String>],
        seeds: Option<u32>,
        seed: Option<u64>,
    ) -> Result<SweepSpec, Error> {
        let zip = zip_groups(&axes, zip).map_err(|e| format!("--zip: {e}"))?;
        let name = stem(scenario, "sweep");
        let spec = SweepSpec {
            name: format!("{name}-sweep"),
            description: String::new(),
            scenario: scenario.to_path_buf(),
            axes,
            zip,
            seeds,
            seed,
            origin: scenario.to_path_buf(),
            from_command_line: true,
        };
        spec.check_size()?;
        spec.check_paths().map_err(|e| format!("--axis: {e}"))?;
        Ok(spec)
    }

    /// Points in the grid.
    pub fn points(&self) -> u64 {
        grid_points(&self.lengths(), &self.zip)
    }

    /// The value index of each axis at point `p`.
    pub fn point_values(&self, p: u64) -> Vec<usize> {
        grid_index(&self.lengths(), &self.zip, p)
    }

    fn lengths(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.values.len()).collect()
    }

    /// Refuses two axes on one path, or one inside another's value: they
    /// would overwrite each other.
    fn check_paths(&self) -> Result<(), Error> {
        for (i, a) in self.axes.iter().enumerate() {
            for b in &self.axes[..i] {
                if a.path.covers(&b.path) || b.path.covers(&a.path) {
                    return Err(Error::Input(format!(
                        "the axes `{}` and `{}` set the same value (one is inside the other); give one axis per value",
                        b.path, a.path
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_size(&self) -> Result<(), Error> {
        let points = self.points();
        if points > MAX_POINTS {
            return Err(Error::Input(format!(
                "{points} points; a sweep may have at most {MAX_POINTS}, since every point's \
                 scenario is built before the first run (split it, or use fewer values)"
            )));
        }
        let runs = self
            .points()
            .saturating_mul(u64::from(self.seeds.unwrap_or(1)));
        if runs > MAX_RUNS {
            return Err(Error::Input(format!(
                "{runs} runs; a sweep may have at most {MAX_RUNS} (split it, or use fewer values)"
            )));
        }
        Ok(())
    }
}

/// The axes grouped as they advance: a zip group per entry, and every
/// other axis alone, in the order of their first axis.
fn groups(axes: usize, zip: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for a in 0..axes {
        match zip.iter().find(|g| g.contains(&a)) {
            Some(g) if g[0] == a => out.push(g.clone()),
            Some(_) => {}
            None => out.push(vec![a]),
        }
    }
    out
}

/// Points in a grid of axes with `lengths` values, `zip` grouped.
pub fn grid_points(lengths: &[usize], zip: &[Vec<usize>]) -> u64 {
    groups(lengths.len(), zip)
        .iter()
        .map(|g| lengths[g[0]] as u64)
        .fold(1u64, u64::saturating_mul)
}

/// The value index of each axis at point `p` of the grid: the first
/// group outermost, the last fastest.
pub fn grid_index(lengths: &[usize], zip: &[Vec<usize>], p: u64) -> Vec<usize> {
    let mut idx = vec![0; lengths.len()];
    let mut rest = p;
    for g in groups(lengths.len(), zip).iter().rev() {
        let n = lengths[g[0]] as u64;
        let i = (rest % n) as usize;
        rest /= n;
        for &a in g {
            idx[a] = i;
        }
    }
    idx
}

/// Turns zip groups of paths into groups of axis indices, checking that
/// each names known axes once and that zipped axes have equal lengths.
fn zip_groups(axes: &[Axis], zip: &[Vec<String>]) -> Result<Vec<Vec<usize>>, String> {
    let mut seen = vec![false; axes.len()];
    let mut out = Vec::new();
    for names in zip {
        if names.len() < 2 {
            return Err("a zip group names two or more axes".into());
        }
        let mut group = Vec::new();
        for n in names {
            let a = axes
                .iter()
                .position(|x| x.path.as_str() == n)
                .ok_or_else(|| {
                    let known: Vec<&str> = axes.iter().map(|x| x.path.as_str()).collect();
                    format!("`{n}` is not an axis; the axes are {}", known.join(", "))
                })?;
            if seen[a] {
                return Err(format!("`{n}` is zipped twice"));
            }
            seen[a] = true;
            group.push(a);
        }
        group.sort_unstable();
        let len = axes[group[0]].values.len();
        if let Some(&b) = group.iter().find(|&&b| axes[b].values.len() != len) {
            return Err(format!(
                "zipped axes need as many values each: `{}` has {len}, `{}` has {}",
                axes[group[0]].path,
                axes[b].path,
                axes[b].values.len()
            ));
        }
        out.push(group);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(axes: &[&str], zip: &[&[&str]]) -> Result<SweepSpec, Error> {
        let axes = axes.iter().map(|a| Axis::parse_arg(a).unwrap()).collect();
        let zip: Vec<Vec<String>> = zip
            .iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect();
        SweepSpec::from_args(Path::new("s.json"), axes, &zip, Some(2), None)
    }

    /// Two axes of 1,000 values each are a million points, each built as
    /// a scenario before the first run: refused (each axis alone passed,
    /// and the sweep aborted at 7.4 GB).
    #[test]
    fn the_product_of_the_axes_is_bounded() {
        let e = spec(&["a.b=1..1000", "c.d=1..1000"], &[]).unwrap_err();
        assert!(
            e.to_string().contains("1000000 points") && e.to_string().contains("at most"),
            "{e}"
        );
        // Zipped, the same axes are 1,000 points.
        spec(&["a.b=1..1000", "c.d=1..1000"], &[&["a.b", "c.d"]]).unwrap();
    }

    #[test]
    fn crosses_axes_first_outermost() {
        let s = spec(&["a=1..2", "b=x,y,z"], &[]).unwrap();
        assert_eq!(s.points(), 6);
        let all: Vec<Vec<usize>> = (0..6).map(|p| s.point_values(p)).collect();
        assert_eq!(
            all,
            vec![
                vec![0, 0],
                vec![0, 1],
                vec![0, 2],
                vec![1, 0],
                vec![1, 1],
                vec![1, 2]
            ]
        );
    }

    #[test]
    fn zipped_axes_advance_together() {
        let s = spec(&["a=1..3", "b=5..7", "c=x,y"], &[&["a", "b"]]).unwrap();
        assert_eq!(s.points(), 6);
        assert_eq!(s.point_values(0), vec![0, 0, 0]);
        assert_eq!(s.point_values(3), vec![1, 1, 1]);
        assert_eq!(s.point_values(5), vec![2, 2, 1]);
        let e = spec(&["a=1..3", "b=5..6"], &[&["a", "b"]]).unwrap_err();
        assert!(e.to_string().contains("as many values"), "{e}");
        let e = spec(&["a=1..3"], &[&["a", "q"]]).unwrap_err();
        assert!(e.to_string().contains("not an axis"), "{e}");
    }

    #[test]
    fn two_axes_on_one_value_are_refused() {
        for axes in [
            ["a.b=1,2", "a.b=3,4"],
            ["a=1,2", "a.b=3,4"],
            ["a.b[0]=1", "a.b=2"],
        ] {
            let e = spec(&axes, &[]).unwrap_err();
            assert!(
                e.to_string().contains("set the same value"),
                "{axes:?}: {e}"
            );
        }
        spec(&["a.b=1,2", "a.bc=3,4"], &[]).unwrap();
    }
}

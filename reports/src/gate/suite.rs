//! What a gate checks: which scenarios, on how many seeds, against which
//! thresholds, and where the baseline lives.
//!
//! A suite is a directory (every scenario file in it, recursively, with
//! the default thresholds; the baseline is `fleetsim-baseline.json` in
//! it) or a gate file:
//!
//! ```json
//! {
//!   "scenarios": ["../quickstart.json", "../autoscaling-spike.json"],
//!   "seeds": 10,
//!   "thresholds": { "p99": "10%", "errorRate": 0.01, "fairnessFloor": 0.8 },
//!   "baseline": "baseline.json"
//! }
//! ```

use serde_json::Value;
use sim_core::ScenarioError;
use std::path::{Path, PathBuf};

/// Seeds per scenario when the suite does not say.
pub const DEFAULT_SEEDS: u32 = 10;
/// The baseline's name beside a directory suite.
pub const BASELINE_IN_DIR: &str = "fleetsim-baseline.json";
/// Fewest seeds per scenario: a paired interval needs two.
pub const MIN_SEEDS: u32 = 2;
/// Most seeds per scenario.
pub const MAX_SEEDS: u32 = 10_000;

/// The keys of a gate file (the schema names the same).
pub(crate) const GATE_KEYS: [&str; 6] = [
    "$schema",
    "description",
    "scenarios",
    "seeds",
    "thresholds",
    "baseline",
];

/// The keys of a gate file's `thresholds`.
pub(crate) const THRESHOLD_KEYS: [&str; 7] = [
    "p50",
    "p99",
    "errorRate",
    "fairnessDrop",
    "fairnessFloor",
    "cost",
    "sloNewlyMissed",
];

/// How much worse a candidate may be before the gate fails it. A
/// relative threshold is a fraction of the baseline's mean (0.1 = 10%).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// Median latency up by this fraction.
    pub p50: Option<f64>,
    /// 99th percentile latency up by this fraction.
    pub p99: Option<f64>,
    /// Error rate up by this much (absolute: 0.01 is one point).
    pub error_rate: Option<f64>,
    /// Jain's index per instance (and per tenant, with tenants) down by
    /// this much (absolute).
    pub fairness_drop: Option<f64>,
    /// Jain's index per instance below this.
    pub fairness_floor: Option<f64>,
    /// Cost per hour up by this fraction.
    pub cost: Option<f64>,
    /// Fail when seeds that met the SLO now miss it.
    pub slo_newly_missed: bool,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            p50: Some(0.10),
            p99: Some(0.10),
            error_rate: Some(0.01),
            fairness_drop: Some(0.05),
            fairness_floor: None,
            cost: Some(0.10),
            slo_newly_missed: true,
        }
    }
}

/// One scenario of a suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its name in the baseline and in every output: the path relative to
    /// the suite.
    pub key: String,
    /// The file.
    pub path: PathBuf,
}

/// A suite, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// The directory or gate file given.
    pub origin: PathBuf,
    /// Its scenarios, in order.
    pub scenarios: Vec<Entry>,
    /// Seeds per scenario.
    pub seeds: u32,
    /// The thresholds.
    pub thresholds: Thresholds,
    /// The baseline file.
    pub baseline: PathBuf,
}

impl Suite {
    /// Reads a suite: a directory of scenarios or a gate file.
    pub fn read(origin: &Path) -> Result<Suite, ScenarioError> {
        if origin.is_dir() {
            Suite::from_dir(origin)
        } else {
            Suite::from_file(origin)
        }
    }

    fn from_dir(dir: &Path) -> Result<Suite, ScenarioError> {
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| ScenarioError::Io {
            file: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        files.sort();
        let scenarios: Vec<Entry> = files
            .into_iter()
            .map(|p| Entry {
                key: relative(&p, dir),
                path: p,
            })
            .collect();
        if scenarios.is_empty() {
            return Err(ScenarioError::at(
                dir,
                "",
                "no scenario files (*.json) in this directory",
            ));
        }
        Ok(Suite {
            origin: dir.to_path_buf(),
            scenarios,
            seeds: DEFAULT_SEEDS,
            thresholds: Thresholds::default(),
            baseline: dir.join(BASELINE_IN_DIR),
        })
    }

    fn from_file(file: &Path) -> Result<Suite, ScenarioError> {
        let v = sim_core::json_file(file)?;
        let Value::Object(map) = &v else {
            return Err(ScenarioError::at(
                file,
                "",
                "a gate file is a JSON object with `scenarios`",
            ));
        };
        for key in map.keys() {
            if !GATE_KEYS.contains(&key.as_str()) {
                return Err(ScenarioError::at(
                    file,
                    key,
                    format!("unknown key; a gate file has {}", GATE_KEYS[1..].join(", ")),
                ));
            }
        }
        let dir = file.parent().unwrap_or(Path::new(""));
        let list = match map.get("scenarios") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(ScenarioError::at(
                    file,
                    "scenarios",
                    "a non-empty list of scenario files, relative to this file",
                ))
            }
        };
        let mut scenarios = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let Some(name) = s.as_str().filter(|s| !s.is_empty()) else {
                return Err(ScenarioError::at(
                    file,
                    &format!("scenarios[{i}]"),
                    "a scenario file's path, relative to this file",
                ));
            };
            if scenarios.iter().any(|e: &Entry| e.key == name) {
                return Err(ScenarioError::at(
                    file,
                    &format!("scenarios[{i}]"),
                    format!("`{name}` is listed twice"),
                ));
            }
            scenarios.push(Entry {
                key: name.to_string(),
                path: dir.join(name),
            });
        }
        let seeds = match map.get("seeds") {
            None => DEFAULT_SEEDS,
            Some(v) => v
                .as_u64()
                .filter(|n| (u64::from(MIN_SEEDS)..=u64::from(MAX_SEEDS)).contains(n))
                .ok_or_else(|| {
                    ScenarioError::at(
                        file,
                        "seeds",
                        format!("a whole number from {MIN_SEEDS} to {MAX_SEEDS} (a paired interval needs two seeds)"),
                    )
                })? as u32,
        };
        let thresholds = match map.get("thresholds") {
            None => Thresholds::default(),
            Some(t) => thresholds(file, t)?,
        };
        let stem = crate::sweep::spec::stem(file, "gate");
        let baseline = match map.get("baseline") {
            None => dir.join(format!("{stem}.baseline.json")),
            Some(Value::String(b)) if !b.is_empty() => dir.join(b),
            Some(_) => {
                return Err(ScenarioError::at(
                    file,
                    "baseline",
                    "the baseline file's path, relative to this file",
                ))
            }
        };
        Ok(Suite {
            origin: file.to_path_buf(),
            scenarios,
            seeds,
            thresholds,
            baseline,
        })
    }
}

/// Reads `thresholds`: relative ones as `"10%"`, absolute ones as numbers,
/// `null` to turn one off.
fn thresholds(file: &Path, v: &Value) -> Result<Thresholds, ScenarioError> {
    let Value::Object(m) = v else {
        return Err(ScenarioError::at(
            file,
            "thresholds",
            "an object such as {\"p99\": \"10%\", \"errorRate\": 0.01}",
        ));
    };
    let mut t = Thresholds::default();
    for (key, value) in m {
        let at = format!("thresholds.{key}");
        let percent = |value: &Value| -> Result<Option<f64>, ScenarioError> {
            match value {
                Value::Null => Ok(None),
                Value::String(s) => s
                    .trim()
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .map(|p| Some(p / 100.0))
                    .ok_or_else(|| {
                        ScenarioError::at(
                            file,
                            &at,
                            format!("a percentage such as \"10%\", found \"{s}\""),
                        )
                    }),
                other => Err(ScenarioError::at(
                    file,
                    &at,
                    format!("a percentage such as \"10%\" (a relative increase), found {other}"),
                )),
            }
        };
        let amount = |value: &Value, max: f64| -> Result<Option<f64>, ScenarioError> {
            match value {
                Value::Null => Ok(None),
                Value::Number(n) => n
                    .as_f64()
                    .filter(|x| (0.0..=max).contains(x))
                    .map(Some)
                    .ok_or_else(|| {
                        ScenarioError::at(file, &at, format!("a number from 0 to {max}, found {n}"))
                    }),
                other => Err(ScenarioError::at(
                    file,
                    &at,
                    format!("a number from 0 to {max} (absolute), found {other}"),
                )),
            }
        };
        match key.as_str() {
            "p50" => t.p50 = percent(value)?,
            "p99" => t.p99 = percent(value)?,
            "cost" => t.cost = percent(value)?,
            "errorRate" => t.error_rate = amount(value, 1.0)?,
            "fairnessDrop" => t.fairness_drop = amount(value, 1.0)?,
            "fairnessFloor" => t.fairness_floor = amount(value, 1.0)?,
            "sloNewlyMissed" => {
                t.slo_newly_missed = value
                    .as_bool()
                    .ok_or_else(|| ScenarioError::at(file, &at, "true or false"))?
            }
            _ => {
                let allowed = THRESHOLD_KEYS;
                let mut msg = format!("unknown threshold `{key}`");
                if let Some(best) = sim_core::nearest(key, allowed.iter().copied()) {
                    msg.push_str(&format!("; did you mean `{best}`?"));
                }
                msg.push_str(&format!("; allowed: {}", allowed.join(", ")));
                return Err(ScenarioError::at(file, &at, msg));
            }
        }
    }
    Ok(t)
}

/// Scenario files under `dir`, leaving out baselines and the schemas.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if p.is_dir() {
            walk(&p, out)?;
        } else if name.ends_with(".json")
            && !name.ends_with("baseline.json")
            && !name.ends_with(".schema.json")
        {
            out.push(p);
        }
    }
    Ok(())
}

fn relative(p: &Path, dir: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

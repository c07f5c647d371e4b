//! Reading scenario files: JSON syntax, shape, and error messages that say
//! where and what to fix.

use super::json::{self, Strict};
use super::Scenario;
use crate::error::{Problem, ScenarioError};
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file name that stands for standard input: `fleetsim run -`.
/// Relative paths inside a scenario read from it (`extends`,
/// `deployment.import`, a trace file) are relative to the working
/// directory.
pub const STDIN: &str = "-";

/// Whether `path` is [`STDIN`].
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// A file's name in messages: `<stdin>` for [`STDIN`], else the path.
pub fn shown_path(path: &Path) -> Cow<'_, str> {
    if is_stdin(path) {
        Cow::Borrowed("<stdin>")
    } else {
        path.to_string_lossy()
    }
}

/// Standard input's text, read once (a command may read its file more
/// than once: to check it, then to run it), with the same size cap and
/// UTF-8 check as a file.
fn stdin_text() -> Result<String, String> {
    static TEXT: OnceLock<Result<String, String>> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_SCENARIO_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.is_empty() {
            return Err("standard input is empty; pipe a scenario into it (`cat scenario.json | fleetsim run -`)".into());
        }
        checked_text(bytes)
    })
    .clone()
}

/// `bytes` as text, refusing more than [`MAX_SCENARIO_BYTES`] and what is
/// not UTF-8.
fn checked_text(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(format!(
            "larger than {} MiB; a scenario file is a few kilobytes of JSON (is this a device or a stream?)",
            MAX_SCENARIO_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {}); scenario files are JSON or YAML",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Largest scenario file read, in bytes. Scenarios are a few kilobytes;
/// the cap stops a device or an endless stream (`/dev/zero`) from being
/// read into memory.
pub(crate) const MAX_SCENARIO_BYTES: u64 = 8 << 20;

/// Reads a scenario file's text (standard input for [`STDIN`]), refusing
/// what is not a readable UTF-8 file of at most [`MAX_SCENARIO_BYTES`].
pub(crate) fn read_text(path: &Path) -> Result<String, ScenarioError> {
    let io = |reason: String| ScenarioError::Io {
        file: path.to_path_buf(),
        reason,
    };
    if is_stdin(path) {
        return stdin_text().map_err(io);
    }
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(io(
            "it is a directory; give a scenario file (.json, .yaml)".into()
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(e.to_string()))?;
    checked_text(bytes).map_err(io)
}

/// Reads a scenario file as JSON, as strictly as [`Scenario::from_file`]
/// does (size cap, UTF-8, no duplicate keys) and with its `extends` chain
/// merged, without reading it as a scenario: for tools that edit a
/// scenario before running it, such as sweeps.
pub fn scenario_json(path: &Path) -> Result<serde_json::Value, ScenarioError> {
    super::extends::resolve(path).map(|(v, _)| v)
}

/// Reads any fleetsim JSON file (a sweep file, say) as strictly as a
/// scenario (size cap, UTF-8, no duplicate keys), taking `extends` as an
/// ordinary key.
pub fn json_file(path: &Path) -> Result<serde_json::Value, ScenarioError> {
    parse_value(&read_text(path)?, path)
}

/// Parses scenario JSON text as strictly as [`Scenario::from_json`] does;
/// `file` names the source in errors.
pub fn scenario_json_from_str(text: &str, file: &Path) -> Result<serde_json::Value, ScenarioError> {
    parse_value(text, file)
}

impl Scenario {
    /// Reads and parses the scenario at `path`. The result has the right
    /// shape; [`Scenario::compile`] checks the rules across fields.
    /// A file that `extends` another is read merged onto it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let (value, provenance) = super::extends::resolve(path)?;
        Scenario::from_value(&value, path.to_path_buf()).map_err(|e| provenance.annotate(e))
    }

    /// Parses scenario JSON; `file` only names the source in errors.
    pub fn from_json(text: &str, file: impl Into<PathBuf>) -> Result<Scenario, ScenarioError> {
        let file = file.into();
        let value = parse_value(text, &file)?;
        Scenario::from_value(&value, file)
    }

    /// Reads a scenario from a parsed JSON value (as [`scenario_json`]
    /// gives, perhaps edited); `file` names the source in errors.
    pub fn from_value(value: &serde_json::Value, file: PathBuf) -> Result<Scenario, ScenarioError> {
        if value.get("extends").is_some() {
            return Err(ScenarioError::Invalid {
                file,
                problems: vec![Problem::new(
                    "extends",
                    "`extends` names a file relative to this one, so it works in scenario files (fleetsim run FILE), not in scenario text given some other way",
                )],
            });
        }
        if value.pointer("/deployment/import").is_some() {
            return Err(ScenarioError::Invalid {
                file,
                problems: vec![Problem::new(
                    "deployment.import",
                    "`import` names a native config relative to this file, so it works in scenario files (fleetsim run FILE), not in scenario text given some other way",
                )],
            });
        }
        check_scaling(value, &file)?;
        serde_path_to_error::deserialize(Strict(value)).map_err(|e| shape_error(file, "", e))
    }
}

/// Reads `deployment.scaling` as its policy's own type, strictly and with
/// paths inside it. The block is tagged by `policy` anywhere among its keys,
/// which serde reads by buffering the block; this pass gives the same
/// checks as the rest of the file (no arrays for objects, errors at
/// `deployment.scaling.behavior.scaleUp...`) before the typed read.
fn check_scaling(value: &serde_json::Value, file: &Path) -> Result<(), ScenarioError> {
    use strategies::scale::{
        HpaConfig, QueueConfig, StepScalingConfig, TargetTrackingConfig, ThresholdConfig,
    };
    let Some(serde_json::Value::Object(block)) = value.pointer("/deployment/scaling") else {
        return Ok(()); // absent, or not an object: the typed read says so
    };
    let mut rest = block.clone();
    let policy = rest.remove("policy");
    let rest = serde_json::Value::Object(rest);
    fn strictly<T: serde::de::DeserializeOwned>(
        rest: &serde_json::Value,
        file: &Path,
    ) -> Result<(), ScenarioError> {
        serde_path_to_error::deserialize::<_, T>(Strict(rest))
            .map(drop)
            .map_err(|e| shape_error(file.to_path_buf(), "deployment.scaling", e))
    }
    match policy
        .as_ref()
        .map_or(Some("threshold"), serde_json::Value::as_str)
    {
        Some("threshold") => strictly::<ThresholdConfig>(&rest, file),
        Some("hpa") => strictly::<HpaConfig>(&rest, file),
        Some("target-tracking") => strictly::<TargetTrackingConfig>(&rest, file),
        Some("queue") => strictly::<QueueConfig>(&rest, file),
        Some("step") => strictly::<StepScalingConfig>(&rest, file),
        // A policy that is not a string: said at its own path (the typed
        // read would stop at `deployment.scaling`).
        None => Err(ScenarioError::at(
            file,
            "deployment.scaling.policy",
            format!(
                "a policy name, one of `threshold`, `hpa`, `target-tracking`, `queue`, `step`; found {}",
                policy.as_ref().map_or_else(String::new, |p| p.to_string())
            ),
        )),
        // An unknown policy name: the typed read names the choices.
        _ => Ok(()),
    }
}

/// Parses JSON text strictly (no duplicate keys), naming the file in errors.
pub(crate) fn parse_value(text: &str, file: &Path) -> Result<serde_json::Value, ScenarioError> {
    // Standard input has no extension: JSON starts with `{` (or `[`), and
    // anything else is read as YAML.
    let yaml_stdin = is_stdin(file) && !text.trim_start().starts_with(['{', '[']);
    if yaml_stdin || super::yaml::is_yaml(file) {
        return super::yaml::parse(text, file);
    }
    json::parse(text).map_err(|e| match e {
        Ok(d) => ScenarioError::Invalid {
            file: file.to_path_buf(),
            problems: vec![Problem::new(
                d.path.clone(),
                format!(
                    "duplicate key `{}`; each key may appear once in an object (the JSON reader would silently keep the last)",
                    d.key
                ),
            )],
        },
        Err(e) => ScenarioError::Syntax {
            file: file.to_path_buf(),
            line: e.line(),
            column: e.column(),
            reason: strip_position(&e.to_string()),
        },
    })
}

/// The problem a failed typed read reports, at its path below `prefix`.
fn shape_error(
    file: PathBuf,
    prefix: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> ScenarioError {
    let path = match (prefix, e.path().to_string()) {
        (p, inner) if inner == "." => p.to_string(),
        ("", inner) => inner,
        (p, inner) => format!("{p}.{inner}"),
    };
    let inner = e.inner();
    use serde_json::error::Category;
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => ScenarioError::Syntax {
            file,
            line: inner.line(),
            column: inner.column(),
            reason: strip_position(&inner.to_string()),
        },
        Category::Data => {
            let raw = strip_position(&inner.to_string());
            let msg = explain(&path, &raw);
            ScenarioError::Invalid {
                file,
                problems: vec![Problem::new(path, msg)],
            }
        }
    }
}

/// serde_json appends " at line L column C"; the path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Where keys that the seed docs' configs put elsewhere live in a scenario:
/// an unknown key that has a home somewhere else is pointed there.
const HOMES: &[(&str, &str)] = &[
    ("loadBalancing", "deployment.loadBalancing"),
    ("healthCheck", "deployment.healthCheck"),
    ("outlierDetection", "deployment.outlierDetection"),
    ("circuitBreaker", "deployment.circuitBreaker"),
    ("rateLimit", "deployment.rateLimit"),
    ("retries", "deployment.retries"),
    ("limits", "deployment.limits"),
    ("regions", "deployment.regions"),
    ("scaling", "deployment.scaling"),
    ("budget", "deployment.budget"),
    (
        "sessionAffinity",
        "deployment.loadBalancing.sessionAffinity",
    ),
    ("weighted", "deployment.loadBalancing.weighted"),
    ("canary", "deployment.loadBalancing.canary"),
    ("maxConnections", "deployment.limits.maxConnections"),
    (
        "maxConnectionsPerInstance",
        "deployment.limits.maxConnectionsPerInstance",
    ),
    ("connectionTimeout", "deployment.limits.connectionTimeout"),
    ("requestTimeout", "deployment.limits.requestTimeout"),
    ("models", "llm.models"),
    ("arrivals", "workload.arrivals"),
    ("request", "workload.request"),
    ("clients", "workload.clients"),
    ("users", "workload.users"),
    ("rtt", "network.rtt"),
    ("seed", "run.seed"),
    ("duration", "run.duration"),
    ("warmup", "run.warmup"),
    ("replications", "run.replications"),
    ("instanceTypes", "instanceTypes"),
    ("workload", "workload"),
    ("llm", "llm"),
    ("network", "network"),
    ("failures", "failures"),
    ("slo", "slo"),
];

/// A pointer to where `key`, found unknown at `path`, belongs.
fn home_hint(path: &str, key: &str) -> Option<String> {
    let (_, home) = HOMES.iter().find(|(k, _)| *k == key)?;
    (*home != path).then(|| format!("`{key}` belongs at `{home}`"))
}

/// Rewrites serde's "unknown field/variant" messages into ones that suggest
/// the nearest allowed name, or the place a misplaced key belongs.
fn explain(path: &str, raw: &str) -> String {
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let Some(end) = rest.find('`') else { break };
            let found = &rest[..end];
            let mut allowed = backticked(&rest[end + 1..]);
            allowed.retain(|a| !strategies::SEED_ALIASES.contains(&a.as_str()));
            let mut msg = format!("unknown {what} `{found}`");
            if what == "key" {
                if let Some(hint) = home_hint(path, found) {
                    return format!("{msg} here; {hint}");
                }
            }
            if let Some(best) = nearest(found, allowed.iter().map(String::as_str)) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            }
            if allowed.is_empty() {
                msg.push_str("; this object takes no keys");
            } else {
                msg.push_str(&format!("; allowed: {}", allowed.join(", ")));
            }
            return msg;
        }
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        if let Some(end) = rest.find('`') {
            return format!("missing required key `{}`", &rest[..end]);
        }
    }
    super::words::rewrite(raw).unwrap_or_else(|| raw.to_string())
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, p)| p.to_string())
        .collect()
}

/// The candidate closest to `found` by edit distance, if it is close enough
/// to be a plausible typo (at most a third of the word's length), an
/// abbreviation, or a difference only of case and separators.
pub fn nearest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let f = norm(found);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = if norm(c) == f {
            0
        } else if f.len() >= 4 && norm(c).starts_with(&f) {
            // An abbreviation: `least-conn` for `least-connections`.
            1
        } else {
            strsim::levenshtein(&f, &norm(c))
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (found.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let m = explain(
            "x.strategi",
            "unknown field `strategi`, expected `strategy`",
        );
        assert_eq!(
            m,
            "unknown key `strategi`; did you mean `strategy`?; allowed: strategy"
        );
        let m = explain("x", "unknown variant `least-conn`, expected one of `round-robin`, `random`, `least-connections`");
        assert!(m.contains("did you mean `least-connections`?"), "{m}");
    }

    #[test]
    fn points_misplaced_keys_to_their_home() {
        let m = explain(
            "deployment.loadBalancing.healthCheck",
            "unknown field `healthCheck`, expected one of `strategy`",
        );
        assert_eq!(
            m,
            "unknown key `healthCheck` here; `healthCheck` belongs at `deployment.healthCheck`"
        );
        let m = explain("regions", "unknown field `regions`, expected `name`");
        assert!(m.ends_with("belongs at `deployment.regions`"), "{m}");
    }

    #[test]
    fn suggests_nothing_for_a_far_miss() {
        assert_eq!(nearest("banana", ["strategy", "limits"]), None);
        assert_eq!(
            nearest("ratepersecond", ["ratePerSecond"]),
            Some("ratePerSecond")
        );
    }
}

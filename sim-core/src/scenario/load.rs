//! Reading scenario files: JSON syntax, shape, and error messages that say
//! where and what to fix.

use super::Scenario;
use crate::error::{Problem, ScenarioError};
use std::path::{Path, PathBuf};

impl Scenario {
    /// Reads and parses the scenario at `path`. The result has the right
    /// shape; [`Scenario::compile`] checks the rules across fields.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Scenario::from_json(&text, path)
    }

    /// Parses scenario JSON; `file` only names the source in errors.
    pub fn from_json(text: &str, file: impl Into<PathBuf>) -> Result<Scenario, ScenarioError> {
        let file = file.into();
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed: Result<Scenario, _> = serde_path_to_error::deserialize(&mut de);
        let scenario = match parsed {
            Ok(s) => s,
            Err(e) => return Err(shape_error(file, e)),
        };
        if let Err(e) = de.end() {
            return Err(ScenarioError::Syntax {
                file,
                line: e.line(),
                column: e.column(),
                reason: strip_position(&e.to_string()),
            });
        }
        Ok(scenario)
    }
}

fn shape_error(file: PathBuf, e: serde_path_to_error::Error<serde_json::Error>) -> ScenarioError {
    let path = e.path().to_string();
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
            let path = if path == "." { String::new() } else { path };
            ScenarioError::Invalid {
                file,
                problems: vec![Problem::new(path, explain(&raw))],
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

/// Rewrites serde's "unknown field/variant" messages into ones that suggest
/// the nearest allowed name.
fn explain(raw: &str) -> String {
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let Some(end) = rest.find('`') else { break };
            let found = &rest[..end];
            let allowed = backticked(&rest[end + 1..]);
            let mut msg = format!("unknown {what} `{found}`");
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
    raw.to_string()
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
        let m = explain("unknown field `strategi`, expected `strategy`");
        assert_eq!(
            m,
            "unknown key `strategi`; did you mean `strategy`?; allowed: strategy"
        );
        let m = explain("unknown variant `least-conn`, expected one of `round-robin`, `random`, `least-connections`");
        assert!(m.contains("did you mean `least-connections`?"), "{m}");
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

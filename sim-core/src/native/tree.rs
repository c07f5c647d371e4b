//! What the readers of tree-shaped configs (Envoy's YAML or JSON,
//! Traefik's YAML or TOML) share: the document with where each key is,
//! the report and fragment being built, durations, and key look-ups.

use super::{native_error, Format, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use crate::scenario::yaml::{parse_docs, Doc};
use serde_json::{Map, Value};
use std::path::Path;
use strategies::{DurationStr, Nanos};

/// Longest duration read from a native file (ten years).
const MAX_DURATION_SECS: u64 = 10 * 365 * 86_400;

/// A YAML document, or JSON text (checked by serde_json, placed by the
/// YAML reader, which reads JSON too).
pub(crate) fn parse_yaml_or_json(
    text: &str,
    path: &Path,
    format: Format,
) -> Result<Doc, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = text.trim_start().starts_with(['{', '[']);
    if json {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            native_error(
                path,
                format,
                &Location {
                    line: e.line().max(1),
                    column: e.column().max(1),
                },
                format!("not valid JSON: {e}"),
            )
        })?;
        // Places from the YAML reader when it reads the same value.
        if let Ok(mut docs) = parse_docs(text, path) {
            if docs.len() == 1 && docs[0].value == value {
                return Ok(docs.remove(0));
            }
        }
        return Ok(Doc {
            value,
            line: 1,
            places: Vec::new(),
        });
    }
    let mut docs = parse_docs(text, path)?;
    match docs.len() {
        0 => Err(native_error(
            path,
            format,
            &Location { line: 1, column: 1 },
            "an empty file",
        )),
        1 => Ok(docs.remove(0)),
        _ => Err(native_error(
            path,
            format,
            &Location {
                line: docs[1].line,
                column: 1,
            },
            "a second YAML document; fleetsim reads one configuration a file",
        )),
    }
}

/// A TOML document, with each key's line from its table headers.
pub(crate) fn parse_toml(text: &str, path: &Path, format: Format) -> Result<Doc, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| {
            let before = text.get(..s.start.min(text.len())).unwrap_or("");
            (
                before.matches('\n').count() + 1,
                before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            )
        });
        native_error(
            path,
            format,
            &Location { line, column },
            format!("not valid TOML: {}", e.message()),
        )
    })?;
    Ok(Doc {
        value,
        line: 1,
        places: toml_places(text),
    })
}

/// A TOML key's segments, quotes taken off.
fn toml_keys(k: &str) -> Vec<String> {
    k.split('.')
        .map(|s| s.trim().trim_matches(['"', '\'']).to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// (path, line, column) of each table header and `key = value` line, in
/// the paths [`Doc::at`] looks up (`a.b[0].c`).
fn toml_places(text: &str) -> Vec<(String, usize, usize)> {
    let mut places = Vec::new();
    let mut table = String::new();
    // How many times each array-of-tables header was seen.
    let mut arrays: Vec<(String, usize)> = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        let column = l.len() - l.trim_start().len() + 1;
        if let Some(h) = t.strip_prefix("[[") {
            let name = toml_keys(h.split("]]").next().unwrap_or("")).join(".");
            let i = match arrays.iter_mut().find(|(a, _)| *a == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c - 1
                }
                None => {
                    arrays.push((name.clone(), 1));
                    0
                }
            };
            table = format!("{}[{i}]", resolve(&name, &arrays));
            places.push((table.clone(), n + 1, column));
        } else if let Some(h) = t.strip_prefix('[') {
            let name = toml_keys(h.split(']').next().unwrap_or("")).join(".");
            table = resolve(&name, &arrays);
            places.push((table.clone(), n + 1, column));
        } else if let Some((k, _)) = t.split_once('=') {
            if t.starts_with('#') {
                continue;
            }
            let key = toml_keys(k).join(".");
            let p = if table.is_empty() {
                key
            } else {
                format!("{table}.{key}")
            };
            places.push((p, n + 1, column));
        }
    }
    places
}

/// `a.b.c` with the current index of any array of tables it runs through
/// (`a.b[1].c`).
fn resolve(name: &str, arrays: &[(String, usize)]) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(p);
        let prefix = parts[..=i].join(".");
        if i + 1 < parts.len() {
            if let Some((_, c)) = arrays.iter().find(|(a, _)| *a == prefix) {
                out.push_str(&format!("[{}]", c.saturating_sub(1)));
            }
        }
    }
    out
}

/// The report and fragment a reader builds.
pub(crate) struct Out<'a> {
    pub(crate) path: &'a Path,
    pub(crate) format: Format,
    pub(crate) doc: &'a Doc,
    pub(crate) report: Vec<Mapping>,
    pub(crate) dep: Map<String, Value>,
}

impl<'a> Out<'a> {
    pub(crate) fn new(path: &'a Path, format: Format, doc: &'a Doc) -> Self {
        Out {
            path,
            format,
            doc,
            report: Vec::new(),
            dep: Map::new(),
        }
    }

    /// Where the value at `p` is.
    pub(crate) fn at(&self, p: &str) -> Location {
        let (line, column) = self.doc.at(p);
        Location { line, column }
    }

    pub(crate) fn push(&mut self, p: &str, directive: impl Into<String>, outcome: Outcome) {
        self.report.push(Mapping {
            at: self.at(p),
            directive: directive.into(),
            outcome,
        });
    }

    /// Reports the key `k` of the object at `base` with its value.
    pub(crate) fn key(&mut self, base: &str, k: &str, v: &Value, outcome: Outcome) {
        let p = join(base, k);
        self.push(&p, written(k, v), outcome);
    }

    pub(crate) fn set(&mut self, keys: &[&str], v: Value) {
        super::set_path(&mut self.dep, keys, v);
    }

    pub(crate) fn bad(&self, p: &str, msg: impl Into<String>) -> ScenarioError {
        native_error(self.path, self.format, &self.at(p), msg)
    }

    /// The duration at `p` (`v`), or an error naming what is allowed.
    pub(crate) fn duration(
        &self,
        p: &str,
        v: &Value,
        read: fn(&Value) -> Option<Nanos>,
        allowed: &str,
    ) -> Result<Nanos, ScenarioError> {
        read(v).ok_or_else(|| {
            self.bad(
                p,
                format!(
                    "`{}`: expected a duration ({allowed}), at most ten years; found {}",
                    last(p),
                    short(v)
                ),
            )
        })
    }

    /// The whole number at `p`, from `min` to `max`.
    pub(crate) fn count(
        &self,
        p: &str,
        v: &Value,
        min: u64,
        max: u64,
    ) -> Result<u64, ScenarioError> {
        as_count(v)
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                self.bad(
                    p,
                    format!(
                        "`{}`: expected a whole number from {min} to {max}; found {}",
                        last(p),
                        short(v)
                    ),
                )
            })
    }

    /// The object at `p`, or an error.
    pub(crate) fn object<'v>(
        &self,
        p: &str,
        v: &'v Value,
    ) -> Result<&'v Map<String, Value>, ScenarioError> {
        v.as_object().ok_or_else(|| {
            self.bad(
                p,
                format!(
                    "`{}`: expected a mapping of keys; found {}",
                    last(p),
                    short(v)
                ),
            )
        })
    }

    /// The list at `p`, or an error.
    pub(crate) fn list<'v>(&self, p: &str, v: &'v Value) -> Result<&'v [Value], ScenarioError> {
        v.as_array().map(Vec::as_slice).ok_or_else(|| {
            self.bad(
                p,
                format!("`{}`: expected a list; found {}", last(p), short(v)),
            )
        })
    }

    /// The string at `p`, or an error.
    pub(crate) fn string<'v>(&self, p: &str, v: &'v Value) -> Result<&'v str, ScenarioError> {
        v.as_str().ok_or_else(|| {
            self.bad(
                p,
                format!("`{}`: expected a string; found {}", last(p), short(v)),
            )
        })
    }
}

/// `base.k` (or `k` at the root).
pub(crate) fn join(base: &str, k: &str) -> String {
    if base.is_empty() {
        k.to_string()
    } else {
        format!("{base}.{k}")
    }
}

/// `base[i]`.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// The last key of a path.
fn last(p: &str) -> &str {
    p.rsplit('.').next().unwrap_or(p)
}

/// A value in a few characters, for messages.
pub(crate) fn short(v: &Value) -> String {
    match v {
        Value::Object(_) => "a mapping".into(),
        Value::Array(_) => "a list".into(),
        Value::String(s) if s.chars().count() > 60 => {
            format!("\"{}…\"", s.chars().take(60).collect::<String>())
        }
        other => other.to_string(),
    }
}

/// A key and its value as the report shows it.
pub(crate) fn written(k: &str, v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => format!("{k}: {{}}"),
        Value::Object(_) => format!("{k}: {{…}}"),
        Value::Array(a) => format!("{k}: [{} item(s)]", a.len()),
        other => format!("{k}: {}", short(other)),
    }
}

/// A whole number written as a number or a string of digits.
pub(crate) fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `ns` as a fleetsim duration string.
pub(crate) fn duration_str(ns: Nanos) -> String {
    DurationStr(ns).to_string()
}

fn bounded(ns: u128) -> Option<Nanos> {
    (ns <= u128::from(MAX_DURATION_SECS) * 1_000_000_000).then_some(Nanos(ns as u64))
}

/// A protobuf duration: `"5s"`, `"0.25s"` (seconds with up to nine
/// decimals) or `{seconds, nanos}`.
pub(crate) fn proto_duration(v: &Value) -> Option<Nanos> {
    match v {
        Value::String(s) => {
            let num = s.trim().strip_suffix('s')?;
            let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
            if whole.is_empty() && frac.is_empty()
                || !whole.bytes().all(|b| b.is_ascii_digit())
                || !frac.bytes().all(|b| b.is_ascii_digit())
                || frac.len() > 9
                || whole.len() > 12
            {
                return None;
            }
            let secs: u128 = if whole.is_empty() {
                0
            } else {
                whole.parse().ok()?
            };
            let nanos: u128 = format!("{frac:0<9}").parse().ok()?;
            bounded(secs * 1_000_000_000 + nanos)
        }
        Value::Object(m) => {
            if m.keys().any(|k| k != "seconds" && k != "nanos") {
                return None;
            }
            let secs = m.get("seconds").map_or(Some(0), as_count)?;
            let nanos = m.get("nanos").map_or(Some(0), as_count)?;
            if nanos >= 1_000_000_000 {
                return None;
            }
            bounded(u128::from(secs) * 1_000_000_000 + u128::from(nanos))
        }
        _ => None,
    }
}

/// A Go duration (`"10s"`, `"1m30s"`, `"100ms"`) or a number of seconds,
/// as Traefik reads them.
pub(crate) fn go_duration(v: &Value) -> Option<Nanos> {
    match v {
        Value::Number(n) => bounded(u128::from(n.as_u64()?) * 1_000_000_000),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(secs) = t.parse::<u64>() {
                return bounded(u128::from(secs) * 1_000_000_000);
            }
            let d = DurationStr::parse(t).ok()?.nanos();
            bounded(u128::from(d.0))
        }
        _ => None,
    }
}

/// The key of `m` spelled `name` in any case (Traefik reads keys so), with
/// its value.
pub(crate) fn field<'m>(m: &'m Map<String, Value>, name: &str) -> Option<(&'m str, &'m Value)> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

/// Greatest common divisor.
pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Weights divided by their greatest common divisor.
pub(crate) fn reduce(weights: &mut [u64]) {
    let g = weights.iter().fold(0, |g, &w| gcd(g, w));
    if g > 1 {
        for w in weights.iter_mut() {
            *w /= g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proto_durations_read_as_envoy_writes_them() {
        assert_eq!(proto_duration(&json!("5s")), Some(Nanos::from_secs(5)));
        assert_eq!(
            proto_duration(&json!("0.25s")),
            Some(Nanos::from_millis(250))
        );
        assert_eq!(proto_duration(&json!(".5s")), Some(Nanos::from_millis(500)));
        assert_eq!(
            proto_duration(&json!({"seconds": 1, "nanos": 500000000})),
            Some(Nanos::from_millis(1500))
        );
        for bad in [
            json!("5"),
            json!("-1s"),
            json!("s"),
            json!("1e9s"),
            json!(5),
            json!({"seconds": "x"}),
            json!("99999999999999s"),
        ] {
            assert_eq!(proto_duration(&bad), None, "{bad}");
        }
    }

    #[test]
    fn go_durations_and_plain_seconds() {
        assert_eq!(go_duration(&json!("1m30s")), Some(Nanos::from_secs(90)));
        assert_eq!(go_duration(&json!(10)), Some(Nanos::from_secs(10)));
        assert_eq!(go_duration(&json!("100ms")), Some(Nanos::from_millis(100)));
        assert_eq!(go_duration(&json!(-1)), None);
        assert_eq!(go_duration(&json!(u64::MAX)), None);
    }

    #[test]
    fn toml_places_follow_tables_and_arrays_of_tables() {
        let t = "[http.services.app.loadBalancer]\n  strategy = \"p2c\"\n  [[http.services.app.loadBalancer.servers]]\n    url = \"http://a\"\n  [[http.services.app.loadBalancer.servers]]\n    url = \"http://b\"\n";
        let p = toml_places(t);
        assert!(p.contains(&("http.services.app.loadBalancer.strategy".into(), 2, 3)));
        assert!(p.contains(&("http.services.app.loadBalancer.servers[1].url".into(), 6, 5)));
    }
}

//! Duration strings in scenario files: `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`.

use crate::Nanos;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A duration as written in a scenario file: a string with a unit.
///
/// A bare number is rejected with a message that says which units exist,
/// because `"timeout": 30` could mean seconds or milliseconds and a guess
/// would silently change the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DurationStr(pub Nanos);

/// The units a duration string may use.
pub const DURATION_UNITS: &str =
    "ns, us, ms, s, m, h, d (e.g. \"250ms\", \"30s\", \"5m\", \"1h30m\")";

impl DurationStr {
    /// The duration as [`Nanos`].
    pub fn nanos(self) -> Nanos {
        self.0
    }

    /// Parses a duration string.
    pub fn parse(s: &str) -> Result<DurationStr, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err(format!(
                "empty duration; write a number with a unit: {DURATION_UNITS}"
            ));
        }
        if t.parse::<f64>().is_ok() {
            return Err(format!(
                "duration \"{t}\" has no unit; add one: {DURATION_UNITS}"
            ));
        }
        if t.starts_with('-') {
            return Err(format!(
                "duration \"{t}\" is negative; durations are zero or more"
            ));
        }
        // Fractions ("1.5s") are common in latency specs; humantime does not
        // take them, so read a single fractional term ourselves.
        if let Some(ns) = parse_fractional(t) {
            return Ok(DurationStr(ns));
        }
        humantime::parse_duration(t)
            .map(|d| DurationStr(Nanos::from(d)))
            .map_err(|e| format!("invalid duration \"{t}\" ({e}); use {DURATION_UNITS}"))
    }
}

fn parse_fractional(t: &str) -> Option<Nanos> {
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = t.split_at(split);
    if !num.contains('.') {
        return None;
    }
    let v: f64 = num.trim().parse().ok()?;
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hr" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then(|| Nanos::from_secs_f64(v * scale))
}

impl fmt::Display for DurationStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0 .0;
        if ns == 0 {
            return f.write_str("0s");
        }
        write!(
            f,
            "{}",
            humantime::format_duration(std::time::Duration::from_nanos(ns))
        )
    }
}

impl Serialize for DurationStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationStr, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration string with a unit: {DURATION_UNITS}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationStr, E> {
                DurationStr::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationStr, E> {
                Err(E::custom(format!(
                    "bare number {v} where a duration is expected; write it as a string with a unit: {DURATION_UNITS}"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationStr, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationStr, E> {
                Err(E::custom(format!(
                    "bare number {v} where a duration is expected; write it as a string with a unit: {DURATION_UNITS}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for DurationStr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": format!("A duration with a unit: {DURATION_UNITS}."),
            "pattern": DURATION_PATTERN,
        })
    }
}

/// What a duration string looks like, for the JSON Schema: numbers each
/// followed by a unit (a bare number has no unit and is refused).
#[cfg(feature = "schema")]
const DURATION_PATTERN: &str =
    r"^\s*[0-9]+(\.[0-9]+)?\s*[a-zA-Zµ]+(\s*[0-9]+(\.[0-9]+)?\s*[a-zA-Zµ]+)*\s*$";

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> u64 {
        DurationStr::parse(s).unwrap().0 .0
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(ns("250ms"), 250_000_000);
        assert_eq!(ns("30s"), 30_000_000_000);
        assert_eq!(ns("5m"), 300_000_000_000);
        assert_eq!(ns("1h"), 3_600_000_000_000);
        assert_eq!(ns("1h30m"), 5_400_000_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("0s"), 0);
    }

    #[test]
    fn rejects_a_missing_unit_and_says_which_to_add() {
        let e = DurationStr::parse("30").unwrap_err();
        assert!(e.contains("no unit") && e.contains("ms"), "{e}");
        let e = serde_json::from_str::<DurationStr>("30")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bare number 30"), "{e}");
    }

    #[test]
    fn rejects_negative_and_garbage() {
        assert!(DurationStr::parse("-5s").unwrap_err().contains("negative"));
        assert!(DurationStr::parse("5 parsecs").is_err());
        assert!(DurationStr::parse("").is_err());
    }

    #[test]
    fn displays_in_a_form_it_parses_back() {
        for s in ["250ms", "30s", "1h 30m", "2m"] {
            let d = DurationStr::parse(s).unwrap();
            assert_eq!(DurationStr::parse(&d.to_string()).unwrap(), d);
        }
    }
}

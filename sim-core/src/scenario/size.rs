//! Memory sizes in scenario files: `"512Mi"`, `"4Gi"`, `"8GB"`.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A size in bytes, written with a unit as Kubernetes quantities are:
/// `Ki`, `Mi`, `Gi`, `Ti` are powers of 1024; `K` (or `k`), `M`, `G`, `T`
/// and `KB`, `MB`, `GB`, `TB` powers of 1000 (as LXC's `8GB`). A bare number
/// is refused: `"512"` could be bytes or megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct SizeStr(pub u64);

/// The units a size may use.
pub const SIZE_UNITS: &str =
    "Ki, Mi, Gi, Ti (1024) or K, M, G, T, KB, MB, GB, TB (1000), e.g. \"512Mi\", \"4Gi\", \"8GB\"";

impl SizeStr {
    /// Bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Parses a size string.
    pub fn parse(s: &str) -> Result<SizeStr, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| format!("size \"{t}\" has no unit; add one: {SIZE_UNITS}"))?;
        let (num, unit) = t.split_at(split);
        let v: f64 = num.trim().parse().map_err(|_| {
            format!("invalid size \"{t}\"; write a number and a unit: {SIZE_UNITS}")
        })?;
        let scale: f64 = match unit {
            "Ki" => 1024.0,
            "Mi" => 1024.0 * 1024.0,
            "Gi" => 1024.0 * 1024.0 * 1024.0,
            "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            "K" | "k" | "KB" | "kB" => 1e3,
            "M" | "MB" => 1e6,
            "G" | "GB" => 1e9,
            "T" | "TB" => 1e12,
            "B" => 1.0,
            _ => {
                return Err(format!(
                    "unknown size unit \"{unit}\" in \"{t}\"; use {SIZE_UNITS}"
                ))
            }
        };
        let bytes = v * scale;
        if !(bytes.is_finite() && (0.0..1.8e19).contains(&bytes)) {
            return Err(format!("size \"{t}\" must be 0 or more and below 16 EiB"));
        }
        Ok(SizeStr(bytes.round() as u64))
    }
}

impl fmt::Display for SizeStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let mib = 1024 * 1024;
        if b >= 1024 * mib && b.is_multiple_of(1024 * mib) {
            write!(f, "{}Gi", b / (1024 * mib))
        } else if b >= mib && b.is_multiple_of(mib) {
            write!(f, "{}Mi", b / mib)
        } else if b.is_multiple_of(1024) && b > 0 {
            write!(f, "{}Ki", b / 1024)
        } else {
            write!(f, "{b}B")
        }
    }
}

impl Serialize for SizeStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SizeStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SizeStr, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a size string with a unit: {SIZE_UNITS}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeStr, E> {
                SizeStr::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeStr, E> {
                Err(E::custom(format!(
                    "bare number {v} where a size is expected; write it as a string with a unit: {SIZE_UNITS}"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeStr, E> {
                self.visit_u64(v.unsigned_abs())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SizeStr, E> {
                Err(E::custom(format!(
                    "bare number {v} where a size is expected; write it as a string with a unit: {SIZE_UNITS}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SizeStr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": format!("A size with a unit: {SIZE_UNITS}."),
            "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*[a-zA-Z]+\s*$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_docker_and_lxc_sizes() {
        assert_eq!(SizeStr::parse("512Mi").unwrap().bytes(), 512 * 1024 * 1024);
        assert_eq!(SizeStr::parse("4Gi").unwrap().bytes(), 4 << 30);
        assert_eq!(SizeStr::parse("8GB").unwrap().bytes(), 8_000_000_000);
        assert_eq!(SizeStr::parse("512M").unwrap().bytes(), 512_000_000);
        assert_eq!(SizeStr::parse("1.5Gi").unwrap().bytes(), 3 << 29);
        assert!(SizeStr::parse("512").unwrap_err().contains("no unit"));
        assert!(SizeStr::parse("5 parsecs").is_err());
        assert!(serde_json::from_str::<SizeStr>("512")
            .unwrap_err()
            .to_string()
            .contains("bare number"));
        assert_eq!(SizeStr::parse("4Gi").unwrap().to_string(), "4Gi");
    }
}

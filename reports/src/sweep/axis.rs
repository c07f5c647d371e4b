//! Axes: a JSON path into the scenario and the values it takes.
//!
//! On the command line an axis is `PATH=VALUES`:
//!
//! - a list, `deployment.loadBalancing.strategy=round-robin,least-connections`
//!   (each value is read as JSON when it is valid JSON — `4`, `true`,
//!   `"4"` — and as a string otherwise);
//! - an integer range, `deployment.regions.us-east-1.instances=2..12`
//!   (both ends included);
//! - a stepped range, `workload.arrivals.ratePerSecond=10..50/5` (from 10
//!   to 50 by 5; ends and step may be decimals).
//!
//! In a sweep file the values are a JSON array, or one of the range
//! strings above.

use super::path::JsonPath;
use crate::error::Error;
use serde_json::Value;

/// Most values one axis may take.
pub const MAX_AXIS_VALUES: usize = 100_000;

/// One swept parameter.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Where the values go.
    pub path: JsonPath,
    /// The values, in order.
    pub values: Vec<Value>,
    /// Names for the values, where the values themselves are too big to
    /// label a row (whole scenarios of `compare --variants`).
    pub names: Option<Vec<String>>,
}

impl Axis {
    /// Parses `PATH=VALUES` as given to `--axis`.
    pub fn parse_arg(arg: &str) -> Result<Axis, Error> {
        let (path, values) = arg.split_once('=').ok_or_else(|| {
            format!("--axis {arg}: write PATH=VALUES, e.g. deployment.loadBalancing.strategy=round-robin,least-connections or workload.arrivals.ratePerSecond=10..50/5")
        })?;
        let path = JsonPath::parse(path).map_err(|e| format!("--axis {arg}: {e}"))?;
        let values = match parse_range(values) {
            Some(r) => r.map_err(|e| format!("--axis {arg}: {e}"))?,
            None => split_list(values)
                .into_iter()
                .map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string())))
                .collect(),
        };
        Axis::new(path, values).map_err(|e| Error::input(format!("--axis {arg}: {e}")))
    }

    /// An axis from a sweep file's `"PATH": VALUES` entry.
    pub fn from_json(path: &str, values: &Value) -> Result<Axis, Error> {
        let path = JsonPath::parse(path)?;
        let values = match values {
            Value::Array(items) => items.clone(),
            Value::String(s) => match parse_range(s) {
                Some(r) => r?,
                None => {
                    return Err(Error::Input(format!(
                        "`{s}` is not a range (write \"2..12\" or \"10..50/5\"); give a list of values as an array"
                    )))
                }
            },
            other => {
                return Err(Error::Input(format!(
                    "values must be an array or a range string such as \"2..12\", not {other}"
                )))
            }
        };
        Axis::new(path, values)
    }

    fn new(path: JsonPath, values: Vec<Value>) -> Result<Axis, Error> {
        if values.is_empty() {
            return Err(Error::Input("the axis has no values".into()));
        }
        if values.len() > MAX_AXIS_VALUES {
            return Err(Error::Input(format!(
                "{} values; an axis may have at most {MAX_AXIS_VALUES}",
                values.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(values.len());
        for v in &values {
            // Compact JSON text identifies a value (objects keep key order).
            if !seen.insert(v.to_string()) {
                return Err(Error::Input(format!(
                    "the value {} is given twice",
                    label(v)
                )));
            }
        }
        Ok(Axis {
            path,
            values,
            names: None,
        })
    }

    /// Whole scenarios as one axis (path `$`), each named (by its file).
    pub fn variants(named: Vec<(String, Value)>) -> Result<Axis, Error> {
        let (names, values): (Vec<String>, Vec<Value>) = named.into_iter().unzip();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::Input(format!(
                    "two variants are named `{n}`; give files with different names"
                )));
            }
        }
        let mut axis = Axis::new(JsonPath::parse("$")?, values)?;
        axis.names = Some(names);
        Ok(axis)
    }

    /// The value at `i` as a table cell.
    pub fn label(&self, i: usize) -> String {
        match &self.names {
            Some(n) => n[i].clone(),
            None => label(&self.values[i]),
        }
    }
}

/// A value as a table cell: strings bare, everything else as compact JSON.
pub fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Splits a list at commas outside brackets, braces and quotes, so object
/// and array values can be given inline.
fn split_list(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut prev = '\0';
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    out.push(s[start..].trim());
    out
}

/// `A..B` or `A..B/STEP`; `None` when `s` is not shaped like a range.
fn parse_range(s: &str) -> Option<Result<Vec<Value>, String>> {
    let (lo, rest) = s.trim().split_once("..")?;
    let (hi, step) = match rest.split_once('/') {
        Some((h, st)) => (h, Some(st)),
        None => (rest, None),
    };
    let num = |t: &str| t.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(a), Some(b)) = (num(lo), num(hi)) else {
        return None;
    };
    Some(range_values(s, a, b, step.map(|st| num(st).ok_or(st))))
}

fn range_values(
    s: &str,
    a: f64,
    b: f64,
    step: Option<Result<f64, &str>>,
) -> Result<Vec<Value>, String> {
    let step = match step {
        None => 1.0,
        Some(Ok(st)) => st,
        Some(Err(st)) => return Err(format!("range {s}: the step `{st}` is not a number")),
    };
    if step <= 0.0 {
        return Err(format!("range {s}: the step must be above 0"));
    }
    if b < a {
        return Err(format!("range {s}: the end is below the start"));
    }
    let count = ((b - a) / step + 1e-9).floor() + 1.0;
    // Also catches a count too large for any integer (and NaN).
    if count.is_nan() || count > MAX_AXIS_VALUES as f64 {
        return Err(format!(
            "range {s}: {count:.0} values; an axis may have at most {MAX_AXIS_VALUES}"
        ));
    }
    let n = count as usize;
    if n > MAX_AXIS_VALUES {
        return Err(format!(
            "range {s}: {n} values; an axis may have at most {MAX_AXIS_VALUES}"
        ));
    }
    let integral = [a, b, step]
        .iter()
        .all(|x| x.fract() == 0.0 && x.abs() < 9e15);
    Ok((0..n)
        .map(|i| {
            let x = a + i as f64 * step;
            if integral {
                Value::from(x as i64)
            } else {
                // Rounded to 9 decimals, so 0.1 steps read 0.3, not 0.30000000000000004.
                let r = (x * 1e9).round() / 1e9;
                serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(arg: &str) -> Vec<Value> {
        Axis::parse_arg(arg).unwrap().values
    }

    #[test]
    fn reads_lists_ranges_and_steps() {
        assert_eq!(
            values("deployment.loadBalancing.strategy=round-robin,least-connections"),
            vec![json!("round-robin"), json!("least-connections")]
        );
        assert_eq!(
            values("a.b=2..5"),
            vec![json!(2), json!(3), json!(4), json!(5)]
        );
        assert_eq!(
            values("a.b=10..50/20"),
            vec![json!(10), json!(30), json!(50)]
        );
        assert_eq!(
            values("a.b=0.1..0.3/0.1"),
            vec![json!(0.1), json!(0.2), json!(0.3)]
        );
        assert_eq!(
            values("a.b=4,\"4\",true"),
            vec![json!(4), json!("4"), json!(true)]
        );
        assert_eq!(
            values(r#"a.b={"dist":"constant","value":"1s"},{"dist":"exponential","mean":"1s"}"#),
            vec![
                json!({"dist":"constant","value":"1s"}),
                json!({"dist":"exponential","mean":"1s"})
            ]
        );
    }

    #[test]
    fn refuses_what_cannot_be_an_axis() {
        for (arg, want) in [
            ("a.b", "PATH=VALUES"),
            ("a.b=5..2", "end is below the start"),
            ("a.b=1..5/0", "step must be above 0"),
            ("a.b=1..5/x", "not a number"),
            ("a.b=1,2,1", "given twice"),
            ("a.b=0..1000000", "at most"),
            ("a.b=0..1e20", "at most"),
            ("a.b=0..1/1e-300", "at most"),
            ("a..b=1", "empty key"),
        ] {
            let e = Axis::parse_arg(arg).unwrap_err();
            assert!(e.to_string().contains(want), "{arg}: {e}");
        }
        assert!(Axis::from_json("a.b", &json!("fast")).is_err());
        assert!(Axis::from_json("a.b", &json!([])).is_err());
        assert_eq!(
            Axis::from_json("a.b", &json!("1..3")).unwrap().values.len(),
            3
        );
    }
}

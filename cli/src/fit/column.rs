//! Reading one column of measured values from a CSV file: a header row,
//! then one value per row; every bad cell named by line and column.

use crate::failure::Failure;
use anyhow::anyhow;
use reports::fit::Kind;
use std::path::Path;

/// A CSV line's cells: split on commas, surrounding quotes and blanks
/// taken off (measurement exports quote nothing that holds a comma).
fn cells(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|c| c.trim().trim_matches('"').trim())
        .collect()
}

/// How many seconds one unit of the values is (`--unit`).
pub(super) fn unit_secs(unit: &str) -> Option<f64> {
    match unit {
        "s" => Some(1.0),
        "ms" => Some(1e-3),
        "us" => Some(1e-6),
        _ => None,
    }
}

/// The unit a latency column's name states (`latency_ms`, `rtt_us`,
/// `duration_s`, `time_seconds`), if any.
fn unit_in_name(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    [("_ms", "ms"), ("_us", "us"), ("_seconds", "s"), ("_s", "s")]
        .into_iter()
        .find(|(suffix, _)| n.ends_with(suffix))
        .map(|(_, unit)| unit)
}

/// The unit of latency column `name`: `--unit` when given (refused when
/// the name says another), else the one its name states; a name that
/// states none needs `--unit`, since reading milliseconds as seconds
/// would fit a block a thousand times too slow.
pub(super) fn latency_unit<'a>(
    file: &Path,
    name: &str,
    given: Option<&'a str>,
) -> Result<&'a str, Failure> {
    match (given, unit_in_name(name)) {
        (Some(g), Some(n)) if g != n => Err(Failure::Input(anyhow!(
            "{}: column `{name}` says its unit is {n}, but --unit is {g}; give --unit {n}",
            file.display()
        ))),
        (Some(g), _) => Ok(g),
        (None, Some(n)) => Ok(n),
        (None, None) => Err(Failure::Input(anyhow!(
            "{}: column `{name}` does not say its unit: give --unit s, ms or us \
             (or --as tokens for token counts)",
            file.display()
        ))),
    }
}

/// The values of `column` (the only column when `None`) in `text`, read
/// from `file`, scaled by `scale` (to seconds for latencies).
pub(super) fn read_column(
    file: &Path,
    text: &str,
    column: Option<&str>,
    scale: f64,
    kind: Kind,
) -> Result<(String, Vec<f64>), Failure> {
    let shown = file.display();
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(Failure::Input(anyhow!(
            "{shown}: the file is empty; it needs a header row, then one value per row"
        )));
    };
    let names = cells(header.trim_start_matches('\u{feff}'));
    let index = match column {
        Some(c) => names.iter().position(|n| *n == c).ok_or_else(|| {
            Failure::Input(anyhow!(
                "{shown}:1: no column `{c}`; the header has: {}",
                names.join(", ")
            ))
        })?,
        None if names.len() == 1 => 0,
        None => {
            return Err(Failure::Input(anyhow!(
                "{shown}:1: {} columns; name the one to fit with --column (one of: {})",
                names.len(),
                names.join(", ")
            )))
        }
    };
    let name = names[index].to_string();
    let mut values = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{shown}:{}: column {} (`{name}`)", i + 1, index + 1);
        let row = cells(line);
        let Some(cell) = row.get(index) else {
            return Err(Failure::Input(anyhow!(
                "{at}: missing; the row has {} cell(s)",
                row.len()
            )));
        };
        let v: f64 = cell
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| Failure::Input(anyhow!("{at}: \"{cell}\" is not a number")))?;
        if v <= 0.0 {
            let what = match kind {
                Kind::Latency => "a latency",
                Kind::Tokens => "a token count",
            };
            return Err(Failure::Input(anyhow!(
                "{at}: {v} is not above 0; {what} to fit must be positive (lognormal, gamma, Weibull and exponential live on positive values)"
            )));
        }
        values.push(v * scale);
    }
    if values.len() < reports::fit::MIN_VALUES {
        return Err(Failure::Input(anyhow!(
            "{shown}: column `{name}` has {} value(s); fitting needs at least {}",
            values.len(),
            reports::fit::MIN_VALUES
        )));
    }
    Ok((name, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, column: Option<&str>) -> Result<Vec<f64>, String> {
        read_column(Path::new("m.csv"), text, column, 1.0, Kind::Latency)
            .map(|(_, v)| v)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_named_column_is_read_and_bad_cells_are_placed() {
        let rows: String = (1..=12).map(|i| format!("a,{i}\n")).collect();
        let ok = read(&format!("host,latency\n{rows}"), Some("latency")).unwrap();
        assert_eq!(ok.len(), 12);
        let e = read(&format!("host,latency\n{rows}a,x\n"), Some("latency")).unwrap_err();
        assert!(e.contains("m.csv:14: column 2 (`latency`)"), "{e}");
        assert!(e.contains("\"x\" is not a number"), "{e}");
        let e = read(&format!("host,latency\n{rows}a,-3\n"), Some("latency")).unwrap_err();
        assert!(e.contains("m.csv:14") && e.contains("not above 0"), "{e}");
        let e = read(&format!("host,latency\n{rows}"), Some("lat")).unwrap_err();
        assert!(
            e.contains("no column `lat`") && e.contains("host, latency"),
            "{e}"
        );
        let e = read(&format!("host,latency\n{rows}"), None).unwrap_err();
        assert!(e.contains("--column"), "{e}");
        let e = read("latency\n1\n2\n", None).unwrap_err();
        assert!(e.contains("has 2 value(s)"), "{e}");
    }
}

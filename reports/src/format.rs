//! Number formatting shared by every report.

/// A duration in seconds, in the unit that keeps three significant digits
/// readable: `850ms`, `1.23s`, `2m05s`.
pub fn secs(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0s".into()
    } else if a < 1e-3 {
        format!("{:.0}us", v * 1e6)
    } else if a < 1.0 {
        format!("{:.0}ms", v * 1e3)
    } else if a < 10.0 {
        format!("{v:.2}s")
    } else if a < 120.0 {
        format!("{v:.1}s")
    } else {
        let m = (v / 60.0).floor();
        format!("{}m{:02.0}s", m, v - m * 60.0)
    }
}

/// A number to three significant digits, without exponent for everyday
/// magnitudes: `0.0123`, `4.56`, `789`, `12,300`.
pub fn short(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        let r = v.round();
        let s = count(r.abs() as u64);
        if r < 0.0 {
            format!("-{s}")
        } else {
            s
        }
    } else {
        let digits = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    }
}

/// Rows as aligned columns for a terminal, indented two spaces: the
/// first `left` columns left-aligned (names), the rest right-aligned
/// (figures); with `rule`, a line of dashes under the first row.
pub(crate) fn align(rows: &[Vec<String>], left: usize, rule: bool) -> String {
    use std::fmt::Write;
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|j| {
            rows.iter()
                .filter_map(|r| r.get(j))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (k, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(j, (c, w))| {
                if j < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
        if rule && k == 0 {
            let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            let _ = writeln!(out, "  {}", "-".repeat(total));
        }
    }
    out
}

/// An optional duration; `-` when missing.
pub(crate) fn opt_secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), secs)
}

/// A share as a percentage: `12.3%`.
pub fn percent(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v != 0.0 && v.abs() < 0.001 {
        format!("{:.3}%", v * 100.0)
    } else {
        format!("{:.1}%", v * 100.0)
    }
}

/// A count with thousands separators: `12,034`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Money with two decimals.
pub fn money(v: f64) -> String {
    // -0.0 (a sum of nothing) prints as 0.00.
    let v = if v == 0.0 { 0.0 } else { v };
    if v != 0.0 && v.abs() < 0.995 {
        format!("{v:.4}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_readably() {
        assert_eq!(secs(0.85), "850ms");
        assert_eq!(secs(1.234), "1.23s");
        assert_eq!(secs(45.0), "45.0s");
        assert_eq!(secs(125.0), "2m05s");
        assert_eq!(secs(0.0000042), "4us");
        assert_eq!(secs(f64::NAN), "-");
    }

    #[test]
    fn formats_counts_and_shares() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(percent(0.00042), "0.042%");
        assert_eq!(short(0.012345), "0.0123");
        assert_eq!(short(4.567), "4.57");
        assert_eq!(short(789.2), "789");
        assert_eq!(short(-12345.6), "-12,346");
    }

    #[test]
    fn aligns_names_left_and_figures_right() {
        let rows = vec![
            vec!["name".to_string(), "p99".to_string()],
            vec!["least-connections".to_string(), "1.2s".to_string()],
            vec!["rr".to_string(), "10.5s".to_string()],
        ];
        let t = align(&rows, 1, true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "  name                 p99");
        assert_eq!(lines[1], "  ------------------------");
        assert_eq!(lines[2], "  least-connections   1.2s");
        assert_eq!(lines[3], "  rr                 10.5s");
    }
}

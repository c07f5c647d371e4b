//! Number formatting shared by every report.

/// A duration in seconds, in its natural unit: three significant digits
/// below two minutes (`1.5ms`, `850ms`, `1.23s`, `90s`), whole seconds
/// split into days, hours, minutes and seconds above (`2m05s`, `28m`,
/// `1h30m`, `1d`, `2d06h`), trailing zeros and units of zero left out.
pub fn secs(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0s".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let body = if a < 1e-6 {
        significant(a * 1e9, "ns")
    } else if a < 1e-3 {
        significant(a * 1e6, "us")
    } else if a < 1.0 {
        significant(a * 1e3, "ms")
    } else if a < 120.0 {
        significant(a, "s")
    } else {
        clock(a.round() as u64)
    };
    // Rounding can carry into the next unit (999.7ms is 1000ms): say it in
    // that unit.
    let body = match body.as_str() {
        "1000ns" => "1us".into(),
        "1000us" => "1ms".into(),
        "1000ms" => "1s".into(),
        "120s" => clock(120),
        _ => body,
    };
    format!("{sign}{body}")
}

/// `v` to three significant digits (none after the point from 100 up),
/// trailing zeros dropped, then `unit`.
fn significant(v: f64, unit: &str) -> String {
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{unit}")
}

/// Whole seconds as days, hours, minutes and seconds, from the largest unit
/// present down to the smallest that is not zero: `2m05s`, `28m`, `1h`,
/// `1h00m05s`, `1d`, `2d06h`.
fn clock(total: u64) -> String {
    use std::fmt::Write;
    let parts = [
        (total / 86_400, "d"),
        (total / 3_600 % 24, "h"),
        (total / 60 % 60, "m"),
        (total % 60, "s"),
    ];
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return "0s".into();
    };
    let last = parts.iter().rposition(|(n, _)| *n > 0).unwrap_or(first);
    let mut out = String::new();
    for (k, (n, unit)) in parts.iter().enumerate().take(last + 1).skip(first) {
        if k == first {
            let _ = write!(out, "{n}{unit}");
        } else {
            let _ = write!(out, "{n:02}{unit}");
        }
    }
    out
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
        assert_eq!(secs(45.0), "45s");
        assert_eq!(secs(45.26), "45.3s");
        assert_eq!(secs(125.0), "2m05s");
        assert_eq!(secs(0.0000042), "4.2us");
        assert_eq!(secs(f64::NAN), "-");
        assert_eq!(secs(-0.25), "-250ms");
    }

    #[test]
    fn durations_take_their_natural_unit_at_each_boundary() {
        // Below a second: three significant digits, not whole milliseconds.
        assert_eq!(secs(0.0015), "1.5ms");
        assert_eq!(secs(0.0123), "12.3ms");
        assert_eq!(secs(0.000_000_5), "500ns");
        assert_eq!(secs(0.000_999_9), "1ms");
        assert_eq!(secs(0.001), "1ms");
        assert_eq!(secs(0.999_9), "1s");
        assert_eq!(secs(1.0), "1s");
        // Seconds up to two minutes, then a clock of whole units.
        assert_eq!(secs(90.0), "90s");
        assert_eq!(secs(119.4), "119s");
        assert_eq!(secs(119.96), "2m");
        assert_eq!(secs(120.0), "2m");
        assert_eq!(secs(179.6), "3m");
        assert_eq!(secs(1680.0), "28m");
        assert_eq!(secs(3600.0), "1h");
        assert_eq!(secs(5400.0), "1h30m");
        assert_eq!(secs(3605.0), "1h00m05s");
        // A day in minutes was `1440m00s`.
        assert_eq!(secs(86_400.0), "1d");
        assert_eq!(secs(86_399.0), "23h59m59s");
        assert_eq!(secs(194_400.0), "2d06h");
        assert_eq!(secs(7.0 * 86_400.0), "7d");
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

//! `fleetsim fit FILE.csv`: a column of measured latencies or token counts
//! fitted by each family, ranked by KS distance, with the scenario block to
//! paste. The maths is `reports::fit`; this reads the file and prints.

mod column;

use crate::args::{FitArgs, FitAs, FitDist};
use crate::failure::Failure;
use crate::output::Stdout;
use anyhow::anyhow;
use reports::fit::{fit_all, write_qq, Family, Kind};
use std::process::ExitCode;

/// `fleetsim fit FILE`.
pub(crate) fn fit(a: FitArgs) -> Result<ExitCode, Failure> {
    let kind = match a.r#as {
        FitAs::Latency => Kind::Latency,
        FitAs::Tokens => Kind::Tokens,
    };
    if let (Kind::Tokens, Some(u)) = (kind, a.unit.as_deref()) {
        return Err(Failure::Input(anyhow!(
            "--unit {u}: token counts have no unit; leave --unit out with --as tokens"
        )));
    }
    if let Some(u) = a.unit.as_deref() {
        column::unit_secs(u).ok_or_else(|| {
            Failure::Input(anyhow!("--unit {u}: unknown unit; allowed: s, ms, us"))
        })?;
    }
    if let Some(chart) = &a.chart {
        let ext = chart.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("svg") && !ext.eq_ignore_ascii_case("png") {
            return Err(Failure::Input(anyhow!(
                "--chart {}: the chart is written as .svg or .png; name the file so",
                chart.display()
            )));
        }
    }
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| Failure::Input(anyhow!("{}: cannot read: {e}", a.file.display())))?;
    let (name, mut values) = column::read_column(&a.file, &text, a.column.as_deref(), 1.0, kind)?;
    let mut unit = "s";
    if kind == Kind::Latency {
        unit = column::latency_unit(&a.file, &name, a.unit.as_deref())?;
        let scale = column::unit_secs(unit).unwrap_or(1.0);
        values.iter_mut().for_each(|v| *v *= scale);
    }
    let families: Vec<Family> = match a.dist {
        FitDist::All => Family::ALL.to_vec(),
        FitDist::Empirical => Vec::new(),
        FitDist::Lognormal => vec![Family::Lognormal],
        FitDist::Gamma => vec![Family::Gamma],
        FitDist::Weibull => vec![Family::Weibull],
        FitDist::Exponential => vec![Family::Exponential],
    };
    let report = fit_all(&values, &families, kind)
        .map_err(|e| Failure::Input(anyhow!("{}: column `{name}`: {e}", a.file.display())))?;
    let file = a.file.display().to_string();
    let mut out = Stdout::default();
    if let Some(chart) = &a.chart {
        write_qq(&report, chart).map_err(|e| {
            Failure::Io(anyhow!("{}: cannot write the chart: {e}", chart.display()))
        })?;
        eprintln!("wrote {}", chart.display());
    }
    if a.json {
        let doc = report.to_json(&file, &name);
        let text = serde_json::to_string_pretty(&doc).map_err(|e| Failure::Io(e.into()))?;
        out.emit(&format!("{text}\n"))?;
    } else {
        let unit = match kind {
            Kind::Latency => format!(" ({unit})"),
            Kind::Tokens => " (tokens)".into(),
        };
        out.emit(&report.to_text(&format!("{file}, column `{name}`{unit}")))?;
    }
    Ok(ExitCode::SUCCESS)
}

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
    let scale = match (kind, a.unit.as_deref()) {
        (Kind::Tokens, Some(u)) => {
            return Err(Failure::Input(anyhow!(
                "--unit {u}: token counts have no unit; leave --unit out with --as tokens"
            )))
        }
        (Kind::Tokens, None) => 1.0,
        (Kind::Latency, u) => {
            let u = u.unwrap_or("s");
            column::unit_secs(u).ok_or_else(|| {
                Failure::Input(anyhow!("--unit {u}: unknown unit; allowed: s, ms, us"))
            })?
        }
    };
    let text = std::fs::read_to_string(&a.file)
        .map_err(|e| Failure::Input(anyhow!("{}: cannot read: {e}", a.file.display())))?;
    let (name, values) = column::read_column(&a.file, &text, a.column.as_deref(), scale, kind)?;
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
            Kind::Latency => format!(" ({})", a.unit.as_deref().unwrap_or("s")),
            Kind::Tokens => " (tokens)".into(),
        };
        out.emit(&report.to_text(&format!("{file}, column `{name}`{unit}")))?;
    }
    Ok(ExitCode::SUCCESS)
}

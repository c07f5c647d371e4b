//! The Q-Q chart of `fleetsim fit --chart`: the data's quantiles against
//! each fitted family's, on log-log axes (latencies and token counts are
//! skewed); a good fit lies on the diagonal.

use super::{quantile, Family, FitReport, Kind};
use crate::report::charts::{caption_style, color, err, legend, register_font, SIZE};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Plotting positions: 200 quantiles from 0.25% to 99.75%, and the
/// extremes of the data at 1/(2n) and 1 − 1/(2n).
fn positions(n: usize) -> Vec<f64> {
    let mut ps: Vec<f64> = (0..200).map(|i| (f64::from(i) + 0.5) / 200.0).collect();
    let edge = 0.5 / n as f64;
    ps.insert(0, edge);
    ps.push(1.0 - edge);
    ps
}

fn draw<DB: DrawingBackend>(r: &FitReport, root: &DrawingArea<DB, Shift>) -> crate::Result<()> {
    let ps = positions(r.count);
    let data: Vec<f64> = ps.iter().map(|&p| quantile(&r.sorted, p)).collect();
    let series: Vec<(String, Vec<(f64, f64)>)> = r
        .fits
        .iter()
        .map(|f| {
            let pts = ps
                .iter()
                .zip(&data)
                .map(|(&p, &y)| (Family::quantile_of(f, p), y))
                .filter(|(x, y)| x.is_finite() && *x > 0.0 && *y > 0.0)
                .collect();
            (format!("{} (KS {:.3})", f.family.name(), f.ks), pts)
        })
        .collect();
    let all = series
        .iter()
        .flat_map(|(_, s)| s.iter().flat_map(|&(x, y)| [x, y]));
    let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo / 1.2, hi * 1.2)
    } else {
        (1e-3, 1.0)
    };
    let unit = match r.kind {
        Kind::Latency => "seconds",
        Kind::Tokens => "tokens",
    };
    let mut chart = ChartBuilder::on(root)
        .caption("Q-Q: data quantiles against each fit's", caption_style())
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("fitted quantile ({unit})"))
        .y_desc(format!("data quantile ({unit})"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.4)))
        .map_err(err)?
        .label("y = x")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.filled())))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Writes the Q-Q chart of `report` to `path`: SVG, or PNG when the name
/// ends in `.png`.
pub fn write_qq(report: &FitReport, path: &Path) -> crate::Result<()> {
    register_font();
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(report, &root)?;
        root.present().map_err(err)
    } else {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            draw(report, &root)?;
            root.present().map_err(err)?;
        }
        std::fs::write(path, svg).map_err(crate::Error::Io)
    }
}

//! Line charts: the latency CDF, a metric against an axis with its
//! confidence band, and quantities over simulated time.

use super::{bounds, caption_style, color, err, legend, padded, Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Latency CDF per option, log-scale latency.
pub struct Cdf {
    /// Per option: its name and (seconds, quantile) points.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

impl Chart for Cdf {
    fn id(&self) -> String {
        "latency-cdf".into()
    }
    fn caption(&self) -> String {
        "Latency distribution of completed requests per option: the share of requests (y) finished within each latency (x, log scale); each seed's quantiles averaged.".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (lo, hi) = bounds(
            self.lines
                .iter()
                .flat_map(|l| l.1.iter().map(|p| p.0))
                .filter(|&x| x > 0.0),
        );
        let (lo, hi) = if lo.is_finite() {
            (lo * 0.8, hi * 1.25)
        } else {
            (0.001, 1.0)
        };
        let mut chart = ChartBuilder::on(root)
            .caption("Latency CDF", caption_style())
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("latency (seconds, log scale)")
            .y_desc("share of requests")
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .x_label_formatter(&|x| crate::format::secs(*x))
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, (name, pts)) in self.lines.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().copied().filter(|p| p.0 > 0.0),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// A point of a [`Trend`]: x, mean, interval low, interval high.
pub type Band = (f64, f64, f64, f64);

/// A metric's mean and interval against a numeric axis, one line per
/// value of the other axes.
pub struct Trend {
    /// File stem.
    pub id: String,
    /// Chart title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Per line: its name and (x, mean, low, high).
    pub lines: Vec<(String, Vec<Band>)>,
}

impl Chart for Trend {
    fn id(&self) -> String {
        self.id.clone()
    }
    fn caption(&self) -> String {
        format!(
            "{} against {}: the mean across seeds, the band its 95% confidence interval.",
            self.y_label, self.x_label
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (x0, x1) = padded_or(bounds(
            self.lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)),
        ));
        let (y0, y1) = bounds(
            self.lines
                .iter()
                .flat_map(|l| l.1.iter().flat_map(|p| [p.1, p.2, p.3])),
        );
        let (y0, y1) = padded(y0.min(0.0), y1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, caption_style())
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, (name, pts)) in self.lines.iter().enumerate() {
            let c = color(i);
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0, p.1)),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 3, c.filled())))
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

fn padded_or((lo, hi): (f64, f64)) -> (f64, f64) {
    padded(lo, hi)
}

/// A quantity over simulated time, one line per option.
pub struct OverTime {
    /// File stem.
    pub id: String,
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Per option: name and (minutes, value) points.
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

impl Chart for OverTime {
    fn id(&self) -> String {
        self.id.clone()
    }
    fn caption(&self) -> String {
        format!(
            "{} over simulated time per option (mean across seeds at each series interval).",
            self.y_label
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (x0, x1) = bounds(self.lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)));
        let (x0, x1) = if x0.is_finite() && x1 > x0 {
            (x0.min(0.0), x1)
        } else {
            (0.0, 1.0)
        };
        let y1 = bounds(self.lines.iter().flat_map(|l| l.1.iter().map(|p| p.1))).1;
        let y1 = if y1.is_finite() && y1 > 0.0 {
            y1 * 1.1
        } else {
            1.0
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, caption_style())
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (minutes)")
            .y_desc(&self.y_label)
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        for (i, (name, pts)) in self.lines.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

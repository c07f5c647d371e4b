//! The report's charts, drawn with plotters. Each chart is a struct that
//! draws itself on any plotters backend, so one drawing gives both the
//! SVG (inlined in the HTML report) and the PNG (for slides and pull
//! requests). Text uses DejaVu Sans, embedded in the binary, so no system
//! font is needed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (960, 540);

/// Okabe–Ito colours: told apart with every common colour-vision
/// deficiency.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// The colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn register_font() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in; failing to parse it is a build defect.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A chart that can draw itself on any backend.
pub trait Chart {
    /// The file stem and HTML id, e.g. `latency-cdf`.
    fn id(&self) -> String;
    /// Caption under the chart in the report.
    fn caption(&self) -> String;
    /// Draws on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Draws `chart` as SVG (returned) and as `dir/ID.svg` and `dir/ID.png`.
pub fn render<C: Chart>(chart: &C, dir: &Path) -> Result<String, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        chart.draw(&root)?;
        root.present().map_err(err)?;
    }
    let id = chart.id();
    crate::files::write_atomic(dir, &format!("{id}.svg"), svg.as_bytes()).map_err(err)?;
    let tmp = dir.join(format!(".{id}.{}.png", std::process::id()));
    let png = (|| -> DrawResult {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        chart.draw(&root)?;
        root.present().map_err(err)
    })();
    match png.and_then(|()| std::fs::rename(&tmp, dir.join(format!("{id}.png"))).map_err(err)) {
        Ok(()) => Ok(svg),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn caption_style() -> TextStyle<'static> {
    ("sans-serif", 22).into_font().style(FontStyle::Bold).into()
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pos: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi <= lo {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * 0.05;
    (lo - d, hi + d)
}

fn bounds(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        })
}

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

/// Cost against p99, the Pareto front marked.
pub struct Pareto {
    /// Per option: name, cost per hour, p99 seconds.
    pub points: Vec<(String, f64, f64)>,
    /// Currency shown on the axis.
    pub currency: String,
}

/// Indices of the options no other beats on both cost and p99, by cost.
pub fn pareto_front(points: &[(String, f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len()).collect();
    idx.sort_by(|&a, &b| {
        points[a]
            .1
            .total_cmp(&points[b].1)
            .then(points[a].2.total_cmp(&points[b].2))
    });
    let mut front = Vec::new();
    let mut best_p99 = f64::INFINITY;
    for i in idx {
        if points[i].2 < best_p99 {
            best_p99 = points[i].2;
            front.push(i);
        }
    }
    front
}

impl Chart for Pareto {
    fn id(&self) -> String {
        "cost-vs-p99".into()
    }
    fn caption(&self) -> String {
        "Cost per hour against p99 latency per option (means across seeds). The line joins the Pareto front: options no other option beats on both.".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (x0, x1) = padded(
            bounds(self.points.iter().map(|p| p.1)).0,
            bounds(self.points.iter().map(|p| p.1)).1,
        );
        let (y0, y1) = bounds(self.points.iter().map(|p| p.2));
        let (y0, y1) = padded(y0.min(0.0), y1);
        let mut chart = ChartBuilder::on(root)
            .caption("Cost against p99", caption_style())
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!("cost per hour ({})", self.currency))
            .y_desc("p99 latency (seconds)")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let front = pareto_front(&self.points);
        chart
            .draw_series(LineSeries::new(
                front.iter().map(|&i| (self.points[i].1, self.points[i].2)),
                color(1).stroke_width(2),
            ))
            .map_err(err)?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color(1).stroke_width(2)));
        // Labels only where they can be read: every point in a small
        // chart, the front's points otherwise.
        let label_all = self.points.len() <= 6;
        for (i, (name, cost, p99)) in self.points.iter().enumerate() {
            let on_front = front.contains(&i);
            let c = if on_front { color(1) } else { color(0) };
            chart
                .draw_series(std::iter::once(Circle::new((*cost, *p99), 5, c.filled())))
                .map_err(err)?;
            if label_all || on_front {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((*cost, *p99))
                            + Text::new(name.clone(), (8, -16), ("sans-serif", 12).into_font()),
                    ))
                    .map_err(err)?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Requests per instance for each option, as bars: fairness at a glance.
pub struct Load {
    /// Per option: name, Jain index, each instance's share of requests.
    pub options: Vec<(String, f64, Vec<f64>)>,
}

impl Chart for Load {
    fn id(&self) -> String {
        "load-per-instance".into()
    }
    fn caption(&self) -> String {
        "Each instance's share of the requests, per option (means across seeds); an even fleet has bars of equal height. The legend gives Jain's fairness index (1 = perfectly even).".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let n = self
            .options
            .iter()
            .map(|o| o.2.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let k = self.options.len().max(1);
        let y1 = bounds(self.options.iter().flat_map(|o| o.2.iter().copied())).1;
        let y1 = if y1.is_finite() && y1 > 0.0 {
            y1 * 1.15
        } else {
            1.0
        };
        let mut chart = ChartBuilder::on(root)
            .caption("Load per instance", caption_style())
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("instance (fleet order)")
            .y_desc("share of requests")
            .x_labels(n.min(24))
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{:.1}%", y * 100.0))
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let w = 0.8 / k as f64;
        for (j, (name, jain, shares)) in self.options.iter().enumerate() {
            let c = color(j);
            chart
                .draw_series(shares.iter().enumerate().map(|(i, &s)| {
                    let x = i as f64 - 0.4 + j as f64 * w;
                    Rectangle::new([(x, 0.0), (x + w, s)], c.filled())
                }))
                .map_err(err)?
                .label(format!("{name} (Jain {jain:.3})"))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// The decision matrix as a heatmap: each cell coloured by how its
/// option ranks on that criterion (green best, red worst).
pub struct Heatmap {
    /// Row names.
    pub rows: Vec<String>,
    /// Column names.
    pub cols: Vec<String>,
    /// Per row and column: the option's standing on the criterion (0
    /// worst, 1 best; `None` when every option ties) and the figure shown.
    pub cells: Vec<Vec<(Option<f64>, String)>>,
}

impl Chart for Heatmap {
    fn id(&self) -> String {
        "decision-matrix".into()
    }
    fn caption(&self) -> String {
        "The decision matrix, best option first: each cell is an option's mean on a criterion, coloured by its standing from the worst option (red) to the best (green); differences under 5% of the best value barely change the colour, and cells where every option ties are grey.".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root
            .titled("Decision matrix", caption_style())
            .map_err(err)?;
        let (w, h) = root.dim_in_pixel();
        let label_w = 220i32;
        let top = 40i32;
        let rows = self.rows.len().max(1) as i32;
        let cols = self.cols.len().max(1) as i32;
        let cw = ((w as i32 - label_w - 10) / cols).max(1);
        let ch = ((h as i32 - top - 10) / rows).clamp(1, 60);
        let font = ("sans-serif", 14).into_font();
        for (j, c) in self.cols.iter().enumerate() {
            let x = label_w + j as i32 * cw + 4;
            root.draw(&Text::new(c.clone(), (x, top - 24), font.clone()))
                .map_err(err)?;
        }
        for (i, name) in self.rows.iter().enumerate() {
            let y = top + i as i32 * ch;
            root.draw(&Text::new(name.clone(), (6, y + ch / 2 - 7), font.clone()))
                .map_err(err)?;
            for (j, (v, text)) in self.cells[i].iter().enumerate() {
                let x = label_w + j as i32 * cw;
                let fill = match v {
                    Some(t) => {
                        let t = t.clamp(0.0, 1.0);
                        RGBColor(
                            (215.0 + (26.0 - 215.0) * t) as u8,
                            (48.0 + (150.0 - 48.0) * t) as u8,
                            (39.0 + (65.0 - 39.0) * t) as u8,
                        )
                        .mix(0.35 + 0.4 * (2.0 * (t - 0.5)).abs())
                    }
                    None => RGBColor(200, 200, 200).mix(0.5),
                };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cw - 2, y + ch - 2)],
                    fill.filled(),
                ))
                .map_err(err)?;
                root.draw(&Text::new(
                    text.clone(),
                    (x + 6, y + ch / 2 - 7),
                    font.clone(),
                ))
                .map_err(err)?;
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pareto_front_keeps_only_undominated_options() {
        let p = |n: &str, c: f64, l: f64| (n.to_string(), c, l);
        let pts = vec![
            p("a", 1.0, 9.0),
            p("b", 2.0, 5.0),
            p("c", 3.0, 6.0),
            p("d", 4.0, 1.0),
            p("e", 2.0, 7.0),
        ];
        assert_eq!(pareto_front(&pts), vec![0, 1, 3]);
    }
}

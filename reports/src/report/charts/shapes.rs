//! Point, bar and cell charts: cost against p99 with the Pareto front,
//! load per instance, and the decision matrix as a heatmap.

use super::{bounds, caption_style, color, err, legend, padded, Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

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

//! The report's charts, drawn with plotters. Each chart is a struct that
//! draws itself on any plotters backend, so one drawing gives both the
//! SVG (inlined in the HTML report) and the PNG (for slides and pull
//! requests). Text uses DejaVu Sans, embedded in the binary, so no system
//! font is needed.
//!
//! This module holds the [`Chart`] trait, [`render`] and the shared
//! styling; `lines.rs` the line charts ([`Cdf`], [`Trend`], [`OverTime`]),
//! `shapes.rs` the others ([`Pareto`], [`Load`], [`Heatmap`]).

mod lines;
mod shapes;

pub use lines::{Band, Cdf, OverTime, Trend};
pub use shapes::{pareto_front, Heatmap, Load, Pareto};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (Bitstream Vera licence, `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
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

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in; failing to parse it is a build defect.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// A drawing that failed is an output failure (plotters says why).
pub(super) type DrawResult = crate::Result<()>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> crate::Error {
    crate::Error::Io(std::io::Error::other(format!("{e:?}")))
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
pub fn render<C: Chart>(chart: &C, dir: &Path) -> crate::Result<String> {
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

pub(crate) fn caption_style() -> TextStyle<'static> {
    ("sans-serif", 22).into_font().style(FontStyle::Bold).into()
}

pub(crate) fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
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

pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
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

pub(super) fn bounds(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        })
}

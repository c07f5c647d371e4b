//! Fitting distributions to measured values (`fleetsim fit`): latencies or
//! token counts in, each family's maximum-likelihood fit, its
//! Kolmogorov–Smirnov distance from the data, a ranking, an empirical
//! quantile table, and the scenario block to paste, in the scenario's own
//! distribution grammar (`sim_core::DistSpec`).
//!
//! | what | where |
//! |---|---|
//! | the estimators (lognormal, gamma by Minka's start and Newton, Weibull by Newton on the shape, exponential) | `mle.rs` |
//! | the KS statistic and its p-value | `ks.rs` |
//! | a fit's distribution (CDF, quantiles), its scenario block, the ranking | this file: [`Fit`], [`fit_all`] |
//! | the report as text and JSON | `render.rs` [`FitReport::to_text`], [`FitReport::to_json`] |
//! | the Q-Q chart | `qq.rs` [`write_qq`] |

mod ks;
mod mle;
mod qq;
mod render;

pub use qq::write_qq;

use serde_json::{json, Value};
use statrs::distribution::{ContinuousCDF, Exp, Gamma, LogNormal, Weibull};

/// What the values measure: durations (in seconds once read) or amounts
/// (token counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Durations: the block's parameters are duration strings.
    Latency,
    /// Plain amounts (tokens): the block's parameters are numbers.
    Tokens,
}

/// A family of distributions `fleetsim fit` can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Lognormal, by maximum likelihood (`mu`, `sigma` of the log).
    Lognormal,
    /// Gamma, by maximum likelihood.
    Gamma,
    /// Weibull, by maximum likelihood.
    Weibull,
    /// Exponential, by maximum likelihood (the mean).
    Exponential,
}

impl Family {
    /// Every family, in the order reports list them before ranking.
    pub const ALL: [Family; 4] = [
        Family::Lognormal,
        Family::Gamma,
        Family::Weibull,
        Family::Exponential,
    ];

    /// Its name, as `--dist` and the scenario's `dist` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Lognormal => "lognormal",
            Family::Gamma => "gamma",
            Family::Weibull => "weibull",
            Family::Exponential => "exponential",
        }
    }
}

/// Fewest values `fit` accepts: below this no fit or KS distance means
/// much.
pub const MIN_VALUES: usize = 10;

/// One family fitted to the data.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The family.
    pub family: Family,
    /// Its parameters, by name (`mu`, `sigma`; `shape`, `scale`; `mean`),
    /// scale parameters in the values' own unit (seconds for latencies).
    pub params: Vec<(&'static str, f64)>,
    /// The Kolmogorov–Smirnov distance from the data.
    pub ks: f64,
    /// Its asymptotic p-value (optimistic, as the parameters come from the
    /// same data).
    pub p_value: f64,
    /// The fitted distribution's mean and 99th percentile.
    pub mean: f64,
    /// See `mean`.
    pub p99: f64,
    /// The scenario block: a distribution object in the scenario grammar.
    pub block: Value,
}

/// A fitted distribution, for its CDF and quantiles.
enum Fitted {
    Lognormal(LogNormal),
    Gamma(Gamma),
    Weibull(Weibull),
    Exponential(Exp),
}

impl Fitted {
    fn cdf(&self, x: f64) -> f64 {
        match self {
            Fitted::Lognormal(d) => d.cdf(x),
            Fitted::Gamma(d) => d.cdf(x),
            Fitted::Weibull(d) => d.cdf(x),
            Fitted::Exponential(d) => d.cdf(x),
        }
    }

    fn quantile(&self, p: f64) -> f64 {
        match self {
            Fitted::Lognormal(d) => d.inverse_cdf(p),
            Fitted::Gamma(d) => d.inverse_cdf(p),
            Fitted::Weibull(d) => d.inverse_cdf(p),
            Fitted::Exponential(d) => d.inverse_cdf(p),
        }
    }
}

/// Why values cannot be fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum FitError {
    /// Fewer than [`MIN_VALUES`].
    TooFew(usize),
    /// A value at or below zero (index into the values): every family here
    /// lives on positive values.
    NotPositive(usize, f64),
    /// A family's estimate came out unusable (a degenerate sample).
    Degenerate(Family, String),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::TooFew(n) => write!(
                f,
                "{n} value(s); fitting needs at least {MIN_VALUES}"
            ),
            FitError::NotPositive(_, v) => write!(
                f,
                "value {v} is not above 0; the families fitted (lognormal, gamma, Weibull, exponential) take positive values only"
            ),
            FitError::Degenerate(fam, why) => write!(f, "{}: {why}", fam.name()),
        }
    }
}

impl std::error::Error for FitError {}

/// The quantiles of the empirical table, in percent.
pub const EMPIRICAL_PERCENTS: [f64; 13] = [
    0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0,
];

/// What `fleetsim fit` found: the data's summary, each family's fit
/// ranked by KS distance (best first), and the empirical quantiles.
#[derive(Debug, Clone)]
pub struct FitReport {
    /// What the values are.
    pub kind: Kind,
    /// How many values.
    pub count: usize,
    /// The data's mean.
    pub mean: f64,
    /// The data's quantiles at [`EMPIRICAL_PERCENTS`] (type 7, as
    /// spreadsheets compute them).
    pub quantiles: Vec<(f64, f64)>,
    /// The fits, best (smallest KS distance) first.
    pub fits: Vec<Fit>,
    /// The values, sorted (for the Q-Q chart).
    pub sorted: Vec<f64>,
}

/// The `p` quantile (0..=1) of sorted values, interpolated (type 7).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Fits each family of `families` to `values` and ranks them.
pub fn fit_all(values: &[f64], families: &[Family], kind: Kind) -> Result<FitReport, FitError> {
    if values.len() < MIN_VALUES {
        return Err(FitError::TooFew(values.len()));
    }
    if let Some((i, &v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_nan() || **v <= 0.0)
    {
        return Err(FitError::NotPositive(i, v));
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut fits = Vec::with_capacity(families.len());
    for &fam in families {
        fits.push(fit_one(&sorted, fam, kind)?);
    }
    fits.sort_by(|a, b| a.ks.total_cmp(&b.ks));
    Ok(FitReport {
        kind,
        count: sorted.len(),
        mean: mle::mean(&sorted),
        quantiles: EMPIRICAL_PERCENTS
            .iter()
            .map(|&p| (p, quantile(&sorted, p / 100.0)))
            .collect(),
        fits,
        sorted,
    })
}

/// One family's fit to sorted positive values.
pub fn fit_one(sorted: &[f64], family: Family, kind: Kind) -> Result<Fit, FitError> {
    let bad = |e: statrs::distribution::GammaError| Family::Gamma.degenerate(e);
    let (params, fitted, block, mean) = match family {
        Family::Lognormal => {
            let (mu, sigma) = mle::lognormal(sorted);
            let d = LogNormal::new(mu, sigma).map_err(|e| family.degenerate(e))?;
            let block = json!({ "dist": "lognormal", "mu": round(mu), "sigma": round(sigma) });
            let mean = (mu + sigma * sigma / 2.0).exp();
            (
                vec![("mu", mu), ("sigma", sigma)],
                Fitted::Lognormal(d),
                block,
                mean,
            )
        }
        Family::Gamma => {
            let (shape, scale) = mle::gamma(sorted);
            let d = Gamma::new(shape, 1.0 / scale).map_err(bad)?;
            let block = json!({ "dist": "gamma", "shape": round(shape), "mean": param(shape * scale, kind) });
            let mean = shape * scale;
            (
                vec![("shape", shape), ("scale", scale)],
                Fitted::Gamma(d),
                block,
                mean,
            )
        }
        Family::Weibull => {
            let (shape, scale) = mle::weibull(sorted);
            let d = Weibull::new(shape, scale).map_err(|e| family.degenerate(e))?;
            let block =
                json!({ "dist": "weibull", "shape": round(shape), "scale": param(scale, kind) });
            let mean = scale * statrs::function::gamma::gamma(1.0 + 1.0 / shape);
            (
                vec![("shape", shape), ("scale", scale)],
                Fitted::Weibull(d),
                block,
                mean,
            )
        }
        Family::Exponential => {
            let mean = mle::exponential(sorted);
            let d = Exp::new(1.0 / mean).map_err(|e| family.degenerate(e))?;
            let block = json!({ "dist": "exponential", "mean": param(mean, kind) });
            (vec![("mean", mean)], Fitted::Exponential(d), block, mean)
        }
    };
    check_block(&block, kind).map_err(|e| family.degenerate(e))?;
    let ks = ks::statistic(sorted, |x| fitted.cdf(x));
    Ok(Fit {
        family,
        params,
        ks,
        p_value: ks::p_value(ks, sorted.len()),
        mean,
        p99: fitted.quantile(0.99),
        block,
    })
}

impl Family {
    fn degenerate(self, e: impl std::fmt::Display) -> FitError {
        FitError::Degenerate(self, format!("no usable fit ({e})"))
    }

    /// The fitted family's quantile function, for the Q-Q chart.
    pub(crate) fn quantile_of(fit: &Fit, p: f64) -> f64 {
        let v: Vec<f64> = fit.params.iter().map(|(_, v)| *v).collect();
        let d = match fit.family {
            Family::Lognormal => LogNormal::new(v[0], v[1]).map(Fitted::Lognormal).ok(),
            Family::Gamma => Gamma::new(v[0], 1.0 / v[1]).map(Fitted::Gamma).ok(),
            Family::Weibull => Weibull::new(v[0], v[1]).map(Fitted::Weibull).ok(),
            Family::Exponential => Exp::new(1.0 / v[0]).map(Fitted::Exponential).ok(),
        };
        d.map_or(f64::NAN, |d| d.quantile(p))
    }
}

/// Six significant digits: enough for any fit, short enough to read.
fn round(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 5 - v.abs().log10().floor() as i32;
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// A location parameter: a duration string in a readable unit for
/// latencies, a number for amounts.
fn param(v: f64, kind: Kind) -> Value {
    match kind {
        Kind::Tokens => json!(round(v)),
        Kind::Latency => Value::String(duration(v)),
    }
}

/// `secs` as a duration string in the largest unit that keeps it at 1 or
/// more (`"12.3456ms"`), to six significant digits.
pub fn duration(secs: f64) -> String {
    let (v, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "us")
    } else {
        (secs * 1e9, "ns")
    };
    let v = round(v);
    let mut s = format!("{v:.6}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{s}{unit}")
}

/// The block is what a scenario accepts: it parses as the scenario's
/// distribution and has a sampler.
fn check_block(block: &Value, kind: Kind) -> Result<(), String> {
    let sampler = match kind {
        Kind::Latency => serde_json::from_value::<sim_core::DistSpec>(block.clone())
            .map_err(|e| e.to_string())?
            .sampler(),
        Kind::Tokens => serde_json::from_value::<sim_core::AmountDist>(block.clone())
            .map_err(|e| e.to_string())?
            .sampler(),
    };
    sampler.map(|_| ()).map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests;

//! Paired comparison of two options run on the same seeds: the mean of
//! the per-seed differences and its 95% confidence interval (Student's t
//! on n - 1 degrees of freedom). Pairing removes the variation the two
//! options share (the same arrivals, the same LLM latencies), so far
//! fewer seeds separate two options than comparing their means would.

use serde::Serialize;
use sim_core::{ci95_half_width, MIN_INTERVAL_SAMPLES};
use std::fmt::Write;

/// B minus A over the seeds both measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paired {
    /// Seeds with a value on both sides.
    pub n: usize,
    /// Mean of A.
    pub mean_a: f64,
    /// Mean of B - A.
    pub diff: f64,
    /// Lower end of the 95% interval of the difference.
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
}

/// What a paired comparison says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// B is better, and the interval excludes no difference.
    Better,
    /// B is worse, and the interval excludes no difference.
    Worse,
    /// The interval holds zero.
    NoSignificantDifference,
    /// Identical on every seed.
    Same,
    /// Fewer than two seeds: no interval.
    TooFewSeeds,
}

impl Paired {
    /// Pairs `a[k]` with `b[k]`, skipping seeds missing on either side.
    pub fn of(a: &[Option<f64>], b: &[Option<f64>]) -> Option<Paired> {
        let pairs: Vec<(f64, f64)> = a
            .iter()
            .zip(b)
            .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
            .collect();
        let n = pairs.len();
        if n == 0 {
            return None;
        }
        let d: Vec<f64> = pairs.iter().map(|(x, y)| y - x).collect();
        let diff = d.iter().sum::<f64>() / n as f64;
        let mean_a = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
        // Fewer seeds than an interval needs give none (as for every
        // interval fleetsim prints).
        let half = (n >= MIN_INTERVAL_SAMPLES)
            .then(|| ci95_half_width(&d, diff))
            .flatten();
        Some(Paired {
            n,
            mean_a,
            diff,
            low: half.map(|h| diff - h),
            high: half.map(|h| diff + h),
        })
    }

    /// The verdict for a metric where lower (or higher) is better.
    pub fn verdict(&self, lower_is_better: bool) -> Verdict {
        let (Some(lo), Some(hi)) = (self.low, self.high) else {
            return if self.n >= 2 && self.diff == 0.0 {
                Verdict::Same
            } else {
                Verdict::TooFewSeeds
            };
        };
        if lo == 0.0 && hi == 0.0 {
            Verdict::Same
        } else if hi < 0.0 {
            if lower_is_better {
                Verdict::Better
            } else {
                Verdict::Worse
            }
        } else if lo > 0.0 {
            if lower_is_better {
                Verdict::Worse
            } else {
                Verdict::Better
            }
        } else {
            Verdict::NoSignificantDifference
        }
    }

    /// Seeds that would likely separate the two if the mean difference
    /// holds: the n at which the interval's half width falls below the
    /// difference, from this sample's spread (normal approximation).
    pub fn seeds_needed(&self) -> Option<usize> {
        let (lo, hi) = (self.low?, self.high?);
        if self.diff == 0.0 {
            return None;
        }
        // half = t(n) * s / sqrt(n), so s = half * sqrt(n) / t(n); the
        // interval excludes the difference once 1.96 * s / sqrt(n') < |d|.
        let half = (hi - lo) / 2.0;
        let sd = half * (self.n as f64).sqrt() / t_n(self.n);
        let n = (1.96 * sd / self.diff.abs()).powi(2).ceil();
        Some((n as usize).max(self.n + 1))
    }

    /// The difference relative to A's mean, when A's mean is not zero.
    pub fn relative(&self) -> Option<(f64, Option<f64>, Option<f64>)> {
        (self.mean_a != 0.0).then(|| {
            let r = |x: f64| x / self.mean_a.abs();
            (r(self.diff), self.low.map(r), self.high.map(r))
        })
    }
}

/// `v` to two significant digits, at least one decimal below 10:
/// `41`, `2.6`, `0.42`, `0.0031`.
fn two_digits(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return "0".into();
    }
    if a >= 10.0 {
        return format!("{v:.0}");
    }
    let decimals = (1 - a.log10().floor() as i32).clamp(1, 8) as usize;
    format!("{v:.decimals$}")
}

/// Student's t at 0.975 for `n` samples.
pub(crate) fn t_n(n: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, (n.max(2) - 1) as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(1.96)
}

/// The sentence a paired comparison makes: "B beats A on p99 by 41%
/// (95% CI 37–45%, 10 seeds)", "no significant difference", and when
/// more seeds would tell.
pub fn sentence(a: &str, b: &str, metric: &str, p: &Paired, lower_is_better: bool) -> String {
    let mut s = String::new();
    let rel = p.relative();
    let pct_of = |v: f64| format!("{}%", two_digits(v * 100.0));
    let amount = |x: f64, lo: Option<f64>, hi: Option<f64>, pct: bool| -> String {
        let f = |v: f64| {
            if pct {
                pct_of(v.abs())
            } else {
                crate::format::short(v.abs())
            }
        };
        match (lo, hi) {
            (Some(l), Some(h)) => {
                let (l, h) = if x < 0.0 { (-h, -l) } else { (l, h) };
                let g = |v: f64| {
                    if pct {
                        pct_of(v)
                    } else {
                        crate::format::short(v)
                    }
                };
                format!("{} (95% CI {}–{})", f(x), g(l), g(h))
            }
            _ => f(x),
        }
    };
    let by = match rel {
        Some((x, lo, hi)) => amount(x, lo, hi, true),
        None => amount(p.diff, p.low, p.high, false),
    };
    let seeds = format!("{} seed{}", p.n, if p.n == 1 { "" } else { "s" });
    match p.verdict(lower_is_better) {
        Verdict::Better => {
            let _ = write!(s, "{b} beats {a} on {metric} by {by}, {seeds}");
        }
        Verdict::Worse => {
            let _ = write!(s, "{a} beats {b} on {metric} by {by}, {seeds}");
        }
        Verdict::Same => {
            let _ = write!(
                s,
                "{a} and {b} are identical on {metric} on every one of {seeds}"
            );
        }
        Verdict::NoSignificantDifference => {
            let _ = write!(
                s,
                "no significant difference between {a} and {b} on {metric} ({seeds}"
            );
            match p.seeds_needed() {
                Some(n) if n <= 10_000 => {
                    let point = match rel {
                        Some((x, _, _)) => format!("{}%", two_digits(x.abs() * 100.0)),
                        None => crate::format::short(p.diff.abs()),
                    };
                    let _ = write!(
                        s,
                        "; about {n} seeds would separate them if the difference of {point} holds)"
                    );
                }
                _ => s.push(')'),
            }
        }
        Verdict::TooFewSeeds => {
            let _ = write!(
                s,
                "{a} vs {b} on {metric}: {} seed(s) cannot tell a difference from noise; run {MIN_INTERVAL_SAMPLES} or more (--seeds)",
                p.n
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().copied().map(Some).collect()
    }

    #[test]
    fn pairing_separates_what_shared_noise_hides() {
        // B is A minus 1 plus a little noise; A itself varies a lot.
        let a = some(&[10.0, 50.0, 20.0, 80.0, 30.0]);
        let b = some(&[9.1, 48.8, 19.0, 79.2, 28.9]);
        let p = Paired::of(&a, &b).unwrap();
        assert_eq!(p.n, 5);
        assert!((p.diff + 1.0).abs() < 0.01, "{}", p.diff);
        assert_eq!(p.verdict(true), Verdict::Better);
        assert_eq!(p.verdict(false), Verdict::Worse);
        // Textbook: d = [-0.9,-1.2,-1.0,-0.8,-1.1], mean -1.0, s = 0.158114,
        // t(0.975, 4) = 2.776445: half width 0.196324.
        assert!((p.high.unwrap() - p.low.unwrap() - 2.0 * 0.196_324).abs() < 1e-5);
        let text = sentence("round-robin", "least-connections", "p99", &p, true);
        assert!(
            text.starts_with(
                "least-connections beats round-robin on p99 by 2.6% (95% CI 2.1%–3.1%), 5 seeds"
            ),
            "{text}"
        );
    }

    #[test]
    fn noise_is_no_difference_and_says_how_many_seeds_would_tell() {
        let a = some(&[10.0, 12.0, 9.0, 11.0]);
        let b = some(&[10.5, 11.0, 10.0, 11.9]);
        let p = Paired::of(&a, &b).unwrap();
        assert_eq!(p.verdict(true), Verdict::NoSignificantDifference);
        let n = p.seeds_needed().unwrap();
        assert!(n > 4, "{n}");
        let text = sentence("a", "b", "p99", &p, true);
        assert!(text.contains("no significant difference"), "{text}");
        assert!(text.contains("seeds would separate them"), "{text}");
    }

    #[test]
    fn percentages_keep_two_significant_digits() {
        assert_eq!(two_digits(41.2), "41");
        assert_eq!(two_digits(2.61), "2.6");
        assert_eq!(two_digits(0.4213), "0.42");
        assert_eq!(two_digits(0.00314), "0.0031");
        assert_eq!(two_digits(-1.26), "-1.3");
    }

    #[test]
    fn one_seed_is_too_few_and_missing_seeds_are_skipped() {
        let p = Paired::of(&[Some(1.0), None], &[Some(2.0), Some(3.0)]).unwrap();
        assert_eq!(p.n, 1);
        assert_eq!(p.verdict(true), Verdict::TooFewSeeds);
        assert!(Paired::of(&[None], &[Some(1.0)]).is_none());
    }
}

//! Statistics across replications: a metric's mean and its 95% interval,
//! kept inside the range the metric can take.
//!
//! Each metric says its range ([`Bounds`]) where it is summarised: the run
//! summary here, the metric catalogue in `fleetsim-reports`. The interval:
//!
//! - **Per-seed flags** (a seed met the SLO or not, was backlogged or not):
//!   the mean is a share of seeds, a binomial proportion, and its interval
//!   is Wilson's score interval. It lies inside [0, 1] by construction and,
//!   unlike Student's t, does not shrink to nothing when every seed agrees
//!   (3 seeds out of 3 say the true share is above 44%, not exactly 100%).
//! - **Everything else**: Student's t on n - 1 degrees of freedom, cut at
//!   the ends of the metric's range (0 for latencies, counts and costs;
//!   0 and 1 for shares, utilizations and Jain's indices). The mean of a
//!   metric that lies in a range lies in that range, so cutting the
//!   interval there drops only values the mean cannot take: the interval
//!   covers the true mean exactly as often as before, and an interval that
//!   did not reach an end is unchanged. (A logit transform would give an
//!   interval for a different centre and fails on the many error rates of
//!   exactly 0; a bootstrap over 3 to 10 seeds is less reliable than t.)
//! - **Fewer than [`MIN_INTERVAL_SAMPLES`] values**: no interval. With two
//!   seeds t has one degree of freedom and the interval is ±12.7 standard
//!   errors wide: it says nothing a reader can use.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Fewest values an interval is given for.
pub const MIN_INTERVAL_SAMPLES: usize = 3;

/// The range a metric's values (and so its mean) can take, and so the
/// interval its summary gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bounds {
    /// Any real number.
    Free,
    /// 0 or more: latencies, counts, costs, rates per second.
    NonNegative,
    /// A share or index in [0, 1]: error rate, utilization, hit rates,
    /// Jain's index (whose floor 1/n depends on the fleet size, which
    /// autoscaling changes; 0 is the floor every fleet shares).
    Share,
    /// 0 or 1 per seed (met the SLO or not); the mean is the share of
    /// seeds, and its interval Wilson's.
    Flag,
}

impl Bounds {
    /// The lowest and highest value the metric can take.
    pub fn range(self) -> (f64, f64) {
        match self {
            Bounds::Free => (f64::NEG_INFINITY, f64::INFINITY),
            Bounds::NonNegative => (0.0, f64::INFINITY),
            Bounds::Share | Bounds::Flag => (0.0, 1.0),
        }
    }

    /// Whether `x` lies in the range.
    pub fn holds(self, x: f64) -> bool {
        let (lo, hi) = self.range();
        (lo..=hi).contains(&x)
    }

    /// The 95% interval of the mean of `xs` (whose mean is `mean`), inside
    /// the range; `None` below [`MIN_INTERVAL_SAMPLES`] values.
    pub fn interval(self, xs: &[f64], mean: f64) -> Option<(f64, f64)> {
        if xs.len() < MIN_INTERVAL_SAMPLES {
            return None;
        }
        if self == Bounds::Flag {
            return Some(wilson(mean, xs.len()));
        }
        let h = ci95_half_width(xs, mean)?;
        let (lo, hi) = self.range();
        // A mean outside the range means the range was declared wrong for
        // this metric: the interval is left as measured rather than
        // turned upside down.
        if !self.holds(mean) {
            return Some((mean - h, mean + h));
        }
        Some(((mean - h).max(lo), (mean + h).min(hi)))
    }
}

/// Wilson's 95% score interval for a share `p` of `n` trials.
pub fn wilson(p: f64, n: usize) -> (f64, f64) {
    const Z: f64 = 1.959_963_984_540_054;
    let n = n as f64;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// One metric's mean across replications with its 95% interval (see the
/// module's docs for the method). Below [`MIN_INTERVAL_SAMPLES`]
/// replications the interval is left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSummary {
    /// The metric's name, as in the per-run JSON.
    pub metric: String,
    /// Replications that measured it (a latency is missing from a run that
    /// completed nothing).
    pub n: usize,
    /// Mean.
    pub mean: Option<f64>,
    /// Lower end of the 95% interval.
    pub ci95_low: Option<f64>,
    /// Upper end of the 95% interval.
    pub ci95_high: Option<f64>,
}

impl MetricSummary {
    /// Summarises `values` (missing ones skipped) of a metric in `bounds`.
    pub fn of(
        metric: &str,
        bounds: Bounds,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> MetricSummary {
        let xs: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
            .collect();
        let n = xs.len();
        let mean = (n > 0).then(|| xs.iter().sum::<f64>() / n as f64);
        let ci = mean.and_then(|m| bounds.interval(&xs, m));
        MetricSummary {
            metric: metric.to_string(),
            n,
            mean,
            ci95_low: ci.map(|c| c.0),
            ci95_high: ci.map(|c| c.1),
        }
    }

    /// Half the interval's width.
    pub fn half_width(&self) -> Option<f64> {
        Some((self.ci95_high? - self.ci95_low?) / 2.0)
    }

    /// The interval when it is `mean ± h` (not cut at an end of the range,
    /// not Wilson's): `h`.
    pub fn symmetric_half_width(&self) -> Option<f64> {
        let (m, lo, hi) = (self.mean?, self.ci95_low?, self.ci95_high?);
        let (below, above) = (m - lo, hi - m);
        ((below - above).abs() <= 1e-9 * below.abs().max(above.abs()).max(1e-300))
            .then_some((below + above) / 2.0)
    }

    /// Too few values for an interval (but at least one).
    pub fn too_few_for_interval(&self) -> bool {
        self.n > 0 && self.n < MIN_INTERVAL_SAMPLES
    }
}

/// `t(0.975, n-1) * s / sqrt(n)`, or `None` below two samples.
pub fn ci95_half_width(xs: &[f64], mean: f64) -> Option<f64> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(0.975);
    Some(t * var.sqrt() / (n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn matches_a_textbook_interval() {
        // n = 5, mean 10, s = sqrt(2.5); t(0.975, 4) = 2.776445.
        let s = MetricSummary::of("x", Bounds::Free, [8.0, 9.0, 10.0, 11.0, 12.0].map(Some));
        assert_eq!(s.mean, Some(10.0));
        let h = s.half_width().unwrap();
        let want = 2.776_445_105 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((h - want).abs() < 1e-6, "{h} vs {want}");
        assert_eq!(s.symmetric_half_width(), Some(h));
    }

    #[test]
    fn too_few_samples_have_no_interval() {
        let s = MetricSummary::of("x", Bounds::Free, [Some(3.0), None]);
        assert_eq!((s.n, s.mean, s.ci95_low), (1, Some(3.0), None));
        let s = MetricSummary::of("x", Bounds::NonNegative, [Some(3.0), Some(5.0)]);
        assert_eq!((s.n, s.ci95_low, s.ci95_high), (2, None, None));
        assert!(s.too_few_for_interval());
    }

    #[test]
    fn a_share_met_on_one_seed_of_three_stays_in_zero_to_one() {
        // Student's t says 33.3% ± 143.4%; Wilson's interval for 1 of 3.
        let s = MetricSummary::of("sloPass", Bounds::Flag, [1.0, 0.0, 0.0].map(Some));
        let (lo, hi) = (s.ci95_low.unwrap(), s.ci95_high.unwrap());
        assert!(
            (lo - 0.0615).abs() < 1e-3 && (hi - 0.7923).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(s.symmetric_half_width(), None);
        // Every seed agreeing is no certainty.
        let s = MetricSummary::of("sloPass", Bounds::Flag, [1.0; 3].map(Some));
        assert!(s.ci95_low.unwrap() < 0.5 && s.ci95_high == Some(1.0));
    }

    #[test]
    fn cut_intervals_keep_their_in_range_end() {
        let xs = [0.10, 0.90, 0.05];
        let free = MetricSummary::of("u", Bounds::Free, xs.map(Some));
        let share = MetricSummary::of("u", Bounds::Share, xs.map(Some));
        assert!(free.ci95_low.unwrap() < 0.0 && free.ci95_high.unwrap() > 1.0);
        assert_eq!(share.ci95_low, Some(0.0));
        assert_eq!(share.ci95_high, Some(1.0));
        let lat = MetricSummary::of("p99", Bounds::NonNegative, xs.map(Some));
        assert_eq!(lat.ci95_low, Some(0.0));
        assert_eq!(lat.ci95_high, free.ci95_high);
    }

    #[test]
    fn every_interval_stays_in_its_range() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(19);
        for case in 0..2000 {
            let bounds = [Bounds::NonNegative, Bounds::Share, Bounds::Flag][case % 3];
            let n = 1 + (rng.random::<f64>() * 8.0) as usize;
            let xs: Vec<Option<f64>> = (0..n)
                .map(|_| {
                    let u = rng.random::<f64>();
                    Some(match bounds {
                        Bounds::Flag => f64::from(u8::from(u < 0.5)),
                        Bounds::Share if u < 0.2 => 0.0,
                        Bounds::Share if u > 0.9 => 1.0,
                        Bounds::Share => u,
                        _ => u * u * 100.0,
                    })
                })
                .collect();
            let s = MetricSummary::of("x", bounds, xs);
            for end in [s.ci95_low, s.ci95_high].into_iter().flatten() {
                assert!(bounds.holds(end), "case {case}: {s:?}");
            }
            if let (Some(lo), Some(hi), Some(m)) = (s.ci95_low, s.ci95_high, s.mean) {
                assert!(lo <= m + 1e-12 && m <= hi + 1e-12, "case {case}: {s:?}");
            }
        }
    }
}

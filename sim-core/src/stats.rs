//! Statistics across replications: mean and 95% confidence interval.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One metric's mean across replications with its 95% confidence interval
/// (Student's t with n - 1 degrees of freedom). With one replication the
/// interval is unknown and left out.
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
    /// Summarises `values` (missing ones skipped).
    pub fn of(metric: &str, values: impl IntoIterator<Item = Option<f64>>) -> MetricSummary {
        let xs: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
            .collect();
        let n = xs.len();
        let mean = (n > 0).then(|| xs.iter().sum::<f64>() / n as f64);
        let half = mean.and_then(|m| ci95_half_width(&xs, m));
        MetricSummary {
            metric: metric.to_string(),
            n,
            mean,
            ci95_low: mean.zip(half).map(|(m, h)| m - h),
            ci95_high: mean.zip(half).map(|(m, h)| m + h),
        }
    }

    /// Half the interval's width.
    pub fn half_width(&self) -> Option<f64> {
        Some((self.ci95_high? - self.ci95_low?) / 2.0)
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

    #[test]
    fn matches_a_textbook_interval() {
        // n = 5, mean 10, s = sqrt(2.5); t(0.975, 4) = 2.776445.
        let s = MetricSummary::of("x", [8.0, 9.0, 10.0, 11.0, 12.0].map(Some));
        assert_eq!(s.mean, Some(10.0));
        let h = s.half_width().unwrap();
        let want = 2.776_445_105 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((h - want).abs() < 1e-6, "{h} vs {want}");
    }

    #[test]
    fn one_sample_has_no_interval() {
        let s = MetricSummary::of("x", [Some(3.0), None]);
        assert_eq!((s.n, s.mean, s.ci95_low), (1, Some(3.0), None));
    }
}

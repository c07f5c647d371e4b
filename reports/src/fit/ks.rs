//! The Kolmogorov–Smirnov statistic of a fitted distribution against the
//! data, and its p-value.

/// `D = sup |F_n(x) − F(x)|` over sorted `xs`, for the fitted CDF `cdf`.
pub(super) fn statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = cdf(x);
        let below = i as f64 / n;
        let above = (i + 1) as f64 / n;
        d = d.max(above - f).max(f - below);
    }
    d
}

/// The asymptotic p-value of `d` on `n` values (Kolmogorov's distribution
/// with Stephens' small-sample correction). With parameters fitted to the
/// same data it is optimistic (Lilliefors): read it as a ranking aid, not a
/// test at a stated level.
pub(super) fn p_value(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u32 % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statistic_of_a_uniform_grid_is_half_a_step() {
        let xs: Vec<f64> = (0..100).map(|i| (f64::from(i) + 0.5) / 100.0).collect();
        let d = statistic(&xs, |x| x.clamp(0.0, 1.0));
        assert!((d - 0.005).abs() < 1e-12, "{d}");
    }

    #[test]
    fn p_values_match_kolmogorov_tables() {
        // The 5% critical value of sqrt(n) D is 1.358 for large n.
        let n = 1_000_000;
        let p = p_value(1.358 / (n as f64).sqrt(), n);
        assert!((p - 0.05).abs() < 0.002, "{p}");
        assert!(p_value(0.5, 1000) < 1e-10);
        assert_eq!(p_value(0.0, 10), 1.0);
    }
}

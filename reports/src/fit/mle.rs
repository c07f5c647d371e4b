//! Maximum-likelihood estimates of each family's parameters, and the
//! special functions they need.

use statrs::function::gamma::digamma;

/// Mean of `xs`.
pub(super) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Exponential: the mean is the sample mean.
pub(super) fn exponential(xs: &[f64]) -> f64 {
    mean(xs)
}

/// Lognormal: `mu` and `sigma` of `ln x` (sigma by 1/n, the MLE).
pub(super) fn lognormal(xs: &[f64]) -> (f64, f64) {
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let mu = mean(&logs);
    let var = logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / logs.len() as f64;
    (mu, var.sqrt())
}

/// Trigamma ψ'(x) for x > 0: the recurrence up to 10, then the asymptotic
/// series (error below 1e-12 there).
pub(super) fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    acc + 1.0 / x
        + x2 / 2.0
        + x2 / x * (1.0 / 6.0 - x2 * (1.0 / 30.0 - x2 * (1.0 / 42.0 - x2 / 30.0)))
}

/// Gamma: `(shape, scale)`. The shape solves `ln k - ψ(k) = s` with
/// `s = ln(mean) - mean(ln x)`, from Minka's closed-form start by Newton's
/// method; the scale is `mean / k`.
pub(super) fn gamma(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    let s = m.ln() - xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64;
    // All values equal: s is 0 and the shape unbounded; cap it.
    if s <= 1e-12 {
        return (1e6, m / 1e6);
    }
    let mut k = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
    for _ in 0..50 {
        let f = k.ln() - digamma(k) - s;
        let df = 1.0 / k - trigamma(k);
        let next = k - f / df;
        let next = if next > 0.0 { next } else { k / 2.0 };
        let done = (next - k).abs() <= 1e-12 * k;
        k = next;
        if done {
            break;
        }
    }
    (k, m / k)
}

/// Weibull: `(shape, scale)`. The shape solves
/// `Σ x^k ln x / Σ x^k − 1/k − mean(ln x) = 0` by Newton's method from the
/// moment estimate `π / (σ_ln √6)`; values are divided by their geometric
/// mean first so `x^k` neither overflows nor vanishes.
pub(super) fn weibull(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let lm = logs.iter().sum::<f64>() / n;
    let centred: Vec<f64> = logs.iter().map(|l| l - lm).collect();
    let sd = (centred.iter().map(|c| c * c).sum::<f64>() / n).sqrt();
    if sd <= 1e-12 {
        return (1e6, lm.exp());
    }
    let mut k = std::f64::consts::PI / (sd * 6f64.sqrt());
    for _ in 0..100 {
        // With y = ln x − mean(ln x), the equation is Σ e^{ky} y / Σ e^{ky} = 1/k.
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        for &y in &centred {
            let w = (k * y).exp();
            a += w;
            b += w * y;
            c += w * y * y;
        }
        let g = b / a - 1.0 / k;
        let dg = (c * a - b * b) / (a * a) + 1.0 / (k * k);
        let next = k - g / dg;
        let next = if next > 0.0 { next } else { k / 2.0 };
        let done = (next - k).abs() <= 1e-12 * k;
        k = next;
        if done {
            break;
        }
    }
    let mean_pow = centred.iter().map(|y| (k * y).exp()).sum::<f64>() / n;
    (k, lm.exp() * mean_pow.powf(1.0 / k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_known_values() {
        // ψ'(1) = π²/6, ψ'(1/2) = π²/2, ψ'(10) = π²/6 − Σ 1/k² for k < 10.
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-10);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-10);
        assert!((trigamma(10.0) - 0.105_166_335_681_685).abs() < 1e-10);
    }
}

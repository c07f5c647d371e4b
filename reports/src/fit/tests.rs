//! 20,000 values drawn by the simulator's own samplers with a fixed seed:
//! each family's fit recovers the parameters it was drawn with, and the KS
//! ranking puts the family drawn from first.
//!
//! Tolerances: with n = 20,000 the maximum-likelihood estimates' standard
//! errors are about 0.7% of each parameter (sigma/sqrt(2n) relative for a
//! lognormal's sigma; ~1/sqrt(n) of the mean); the checks allow 3%, over
//! four standard errors, so a correct estimator passes and a wrong one
//! (a biased shape, a scale off by a factor) does not.

use super::*;
use sim_core::rng::{stream, Purpose};

const N: usize = 20_000;

fn draw(spec: Value, seed: u64) -> Vec<f64> {
    let spec: sim_core::AmountDist = serde_json::from_value(spec).unwrap();
    let s = spec.sampler().unwrap();
    let mut rng = stream(seed, 0, Purpose::Requests);
    (0..N).map(|_| s.sample_value(&mut rng)).collect()
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got / want - 1.0).abs() < tol,
        "{what}: fitted {got}, drawn with {want}"
    );
}

fn param(f: &Fit, name: &str) -> f64 {
    f.params.iter().find(|(k, _)| *k == name).unwrap().1
}

fn best(values: &[f64]) -> FitReport {
    fit_all(values, &Family::ALL, Kind::Tokens).unwrap()
}

#[test]
fn lognormal_recovers_mu_and_sigma_and_ranks_first() {
    let xs = draw(json!({"dist": "lognormal", "mu": 1.5, "sigma": 0.8}), 1);
    let r = best(&xs);
    assert_eq!(r.fits[0].family, Family::Lognormal, "{:?}", r.fits);
    close("mu", param(&r.fits[0], "mu"), 1.5, 0.03);
    close("sigma", param(&r.fits[0], "sigma"), 0.8, 0.03);
}

#[test]
fn gamma_recovers_shape_and_scale_and_ranks_first() {
    let xs = draw(json!({"dist": "gamma", "shape": 2.5, "scale": 4.0}), 2);
    let r = best(&xs);
    assert_eq!(r.fits[0].family, Family::Gamma, "{:?}", r.fits);
    close("shape", param(&r.fits[0], "shape"), 2.5, 0.03);
    close("scale", param(&r.fits[0], "scale"), 4.0, 0.03);
}

#[test]
fn weibull_recovers_shape_and_scale_and_ranks_first() {
    let xs = draw(json!({"dist": "weibull", "shape": 0.7, "scale": 3.0}), 3);
    let r = best(&xs);
    assert_eq!(r.fits[0].family, Family::Weibull, "{:?}", r.fits);
    close("shape", param(&r.fits[0], "shape"), 0.7, 0.03);
    close("scale", param(&r.fits[0], "scale"), 3.0, 0.03);
}

#[test]
fn exponential_recovers_its_mean() {
    // Exponential is gamma and Weibull with shape 1: those fit it as well
    // (their shape comes out near 1), so only the estimate is checked.
    let xs = draw(json!({"dist": "exponential", "mean": 7.0}), 4);
    let r = best(&xs);
    let e = r
        .fits
        .iter()
        .find(|f| f.family == Family::Exponential)
        .unwrap();
    close("mean", param(e, "mean"), 7.0, 0.03);
    let g = r.fits.iter().find(|f| f.family == Family::Gamma).unwrap();
    close(
        "gamma shape of an exponential",
        param(g, "shape"),
        1.0,
        0.03,
    );
    assert!(e.p_value > 0.01, "the exponential fit is rejected: {e:?}");
    let ln = r
        .fits
        .iter()
        .find(|f| f.family == Family::Lognormal)
        .unwrap();
    assert!(
        ln.ks > 2.0 * e.ks,
        "lognormal {} vs exponential {}",
        ln.ks,
        e.ks
    );
}

#[test]
fn blocks_parse_as_the_scenario_grammar_and_keep_the_fit() {
    // Latencies: the block's durations are strings, and the sampler they
    // build has the fitted mean.
    let xs: Vec<f64> = draw(json!({"dist": "gamma", "shape": 3.0, "mean": 0.012}), 5);
    let r = fit_all(&xs, &Family::ALL, Kind::Latency).unwrap();
    for f in &r.fits {
        let spec: sim_core::DistSpec =
            serde_json::from_value(f.block.clone()).unwrap_or_else(|e| panic!("{}: {e}", f.block));
        let s = spec.sampler().unwrap();
        let mut rng = stream(9, 0, Purpose::Requests);
        let m = (0..N).map(|_| s.sample_secs(&mut rng)).sum::<f64>() / N as f64;
        close(
            &format!("{} block's mean", f.family.name()),
            m,
            f.mean,
            0.03,
        );
    }
    assert!(r.fits[0].block["mean"].as_str().unwrap().ends_with("ms"));
}

#[test]
fn durations_are_written_in_a_readable_unit() {
    assert_eq!(duration(0.0123456789), "12.3457ms");
    assert_eq!(duration(2.5), "2.5s");
    assert_eq!(duration(0.000_250), "250us");
    let back = sim_core::DurationStr::parse(&duration(0.0123456789)).unwrap();
    assert!((back.0.as_secs_f64() - 0.0123457).abs() < 1e-9);
}

#[test]
fn too_few_and_non_positive_values_are_refused() {
    assert_eq!(
        fit_all(&[1.0; 9], &Family::ALL, Kind::Latency).unwrap_err(),
        FitError::TooFew(9)
    );
    let mut xs = vec![1.0; 20];
    xs[3] = 0.0;
    assert_eq!(
        fit_all(&xs, &Family::ALL, Kind::Latency).unwrap_err(),
        FitError::NotPositive(3, 0.0)
    );
}

#[test]
fn the_quantile_table_interpolates() {
    let xs: Vec<f64> = (1..=11).map(f64::from).collect();
    assert_eq!(quantile(&xs, 0.5), 6.0);
    assert_eq!(quantile(&xs, 0.95), 10.5);
    assert_eq!(quantile(&xs, 1.0), 11.0);
}

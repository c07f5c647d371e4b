//! Distributions as written in scenario files, and their samplers.
//!
//! A distribution is an object with `dist` and its parameters. For
//! durations ([`DistSpec`]) the parameters are strings with units; for
//! amounts such as token counts ([`AmountDist`]) they are plain numbers;
//! shapes are plain numbers in both. Lognormal may be given the way latency
//! is measured (`median` and `p99`) or by `mu` and `sigma` of the natural
//! log of the value (in seconds for durations).

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, Pareto, StandardNormal, Weibull};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use strategies::DurationStr;
use strategies::Nanos;

/// What a distribution's location parameters are: durations (in seconds
/// once sampled) or plain amounts.
pub trait DistParam:
    Copy + PartialEq + PartialOrd + fmt::Debug + fmt::Display + Serialize + DeserializeOwned
{
    /// The parameter as a number (seconds for a duration).
    fn value(self) -> f64;
    /// How to say "must be above zero" for this kind of parameter.
    const POSITIVE: &'static str;
}

impl DistParam for DurationStr {
    fn value(self) -> f64 {
        self.0.as_secs_f64()
    }
    const POSITIVE: &'static str = "must be longer than 0s";
}

/// A plain non-negative number in a distribution (a token count).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Amount(pub f64);

impl DistParam for Amount {
    fn value(self) -> f64 {
        self.0
    }
    const POSITIVE: &'static str = "must be above 0";
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(Amount(v))
        } else {
            Err(de::Error::custom(format!(
                "must be a number of 0 or more, found {v}"
            )))
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "description": "A plain number of 0 or more (a token count).",
        })
    }
}

/// A distribution of amounts (token counts).
pub type AmountDist = DistSpec<Amount>;

/// The 0.99 quantile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_840_8;

/// A distribution, as written in a scenario: of durations by default, of
/// amounts as [`AmountDist`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(
    tag = "dist",
    rename_all = "kebab-case",
    deny_unknown_fields,
    bound(serialize = "P: DistParam", deserialize = "P: DistParam"),
    remote = "Self"
)]
#[cfg_attr(feature = "schema", schemars(rename = "{P}Distribution"))]
pub enum DistSpec<P = DurationStr> {
    /// Always `value`.
    Constant {
        /// The one value.
        value: P,
    },
    /// Exponential with the given `mean`.
    Exponential {
        /// Mean (1 / rate).
        mean: P,
    },
    /// Lognormal: `median` and `p99`, or `mu` and `sigma` (of ln seconds).
    Lognormal {
        /// Median (50th percentile).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        median: Option<P>,
        /// 99th percentile; must exceed the median.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p99: Option<P>,
        /// Mean of ln(seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mu: Option<f64>,
        /// Standard deviation of ln(seconds), > 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sigma: Option<f64>,
    },
    /// Gamma with `shape` and either `mean` or `scale`.
    Gamma {
        /// Shape k > 0.
        shape: f64,
        /// Mean (k * scale).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mean: Option<P>,
        /// Scale theta.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scale: Option<P>,
    },
    /// Weibull with `shape` and `scale`.
    Weibull {
        /// Shape k > 0.
        shape: f64,
        /// Scale lambda.
        scale: P,
    },
    /// Pareto (type I) with minimum `scale` and tail index `shape`.
    Pareto {
        /// Tail index alpha > 0 (the mean is finite only for alpha > 1).
        shape: f64,
        /// Minimum value.
        scale: P,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: P,
        /// Upper bound, at least `min`.
        max: P,
    },
}

impl<'de, P: DistParam> Deserialize<'de> for DistSpec<P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DistSpec<P>, D::Error> {
        // An object only: never a list read field by field.
        DistSpec::deserialize(strategies::ObjectOnly(d))
    }
}

impl<P: DistParam> Serialize for DistSpec<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DistSpec::serialize(self, s)
    }
}

/// A validated distribution, ready to sample without failing.
#[derive(Debug, Clone)]
pub enum Sampler {
    /// Always this many seconds.
    Constant(f64),
    /// Exponential with this mean in seconds.
    Exponential(f64),
    /// exp(mu + sigma * Z) seconds.
    Lognormal {
        /// Mean of ln(seconds).
        mu: f64,
        /// Standard deviation of ln(seconds).
        sigma: f64,
    },
    /// Gamma(shape k, scale 1) times `scale` seconds.
    Gamma {
        /// Unit-scale generator.
        dist: Gamma<f64>,
        /// Shape k.
        shape: f64,
        /// Scale in seconds.
        scale: f64,
    },
    /// Weibull(scale 1, shape k) times `scale` seconds.
    Weibull {
        /// Unit-scale generator.
        dist: Weibull<f64>,
        /// Shape k.
        shape: f64,
        /// Scale in seconds.
        scale: f64,
    },
    /// Pareto(scale 1, shape alpha) times `scale` seconds.
    Pareto {
        /// Unit-scale generator.
        dist: Pareto<f64>,
        /// Tail index alpha.
        shape: f64,
        /// Minimum in seconds.
        scale: f64,
    },
    /// Uniform in seconds.
    Uniform(f64, f64),
}

/// A problem with a distribution's parameters: which key and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DistError {
    /// The offending key inside the distribution object.
    pub key: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> DistError {
    DistError {
        key,
        message: message.into(),
    }
}

fn positive(key: &'static str, v: f64) -> Result<f64, DistError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad(
            key,
            format!("must be a number greater than 0, found {v}"),
        ))
    }
}

fn positive_dur<P: DistParam>(key: &'static str, d: P) -> Result<f64, DistError> {
    let s = d.value();
    if s > 0.0 {
        Ok(s)
    } else {
        Err(bad(key, P::POSITIVE))
    }
}

impl<P: DistParam> DistSpec<P> {
    /// Checks the parameters and builds the sampler.
    pub fn sampler(&self) -> Result<Sampler, DistError> {
        Ok(match *self {
            DistSpec::Constant { value } => Sampler::Constant(value.value()),
            DistSpec::Exponential { mean } => Sampler::Exponential(positive_dur("mean", mean)?),
            DistSpec::Lognormal {
                median,
                p99,
                mu,
                sigma,
            } => match (median, p99, mu, sigma) {
                (Some(m), Some(p), None, None) => {
                    let m = positive_dur("median", m)?;
                    let p = positive_dur("p99", p)?;
                    if p <= m {
                        return Err(bad("p99", "must be greater than median"));
                    }
                    Sampler::Lognormal {
                        mu: m.ln(),
                        sigma: (p.ln() - m.ln()) / Z99,
                    }
                }
                (None, None, Some(mu), Some(s)) => {
                    if !mu.is_finite() {
                        return Err(bad("mu", "must be a finite number"));
                    }
                    Sampler::Lognormal {
                        mu,
                        sigma: positive("sigma", s)?,
                    }
                }
                (Some(_), None, None, None) => return Err(bad("p99", "is required with median")),
                (None, Some(_), None, None) => return Err(bad("median", "is required with p99")),
                _ => {
                    return Err(bad(
                        "dist",
                        "lognormal takes either {median, p99} or {mu, sigma}, not a mix",
                    ))
                }
            },
            DistSpec::Gamma { shape, mean, scale } => {
                let k = positive("shape", shape)?;
                let theta = match (mean, scale) {
                    (Some(m), None) => positive_dur("mean", m)? / k,
                    (None, Some(s)) => positive_dur("scale", s)?,
                    _ => return Err(bad("mean", "gamma takes exactly one of mean or scale")),
                };
                Sampler::Gamma {
                    dist: Gamma::new(k, 1.0).map_err(|e| bad("shape", e.to_string()))?,
                    shape: k,
                    scale: theta,
                }
            }
            DistSpec::Weibull { shape, scale } => {
                let k = positive("shape", shape)?;
                let s = positive_dur("scale", scale)?;
                Sampler::Weibull {
                    dist: Weibull::new(1.0, k).map_err(|e| bad("shape", e.to_string()))?,
                    shape: k,
                    scale: s,
                }
            }
            DistSpec::Pareto { shape, scale } => {
                let a = positive("shape", shape)?;
                let s = positive_dur("scale", scale)?;
                Sampler::Pareto {
                    dist: Pareto::new(1.0, a).map_err(|e| bad("shape", e.to_string()))?,
                    shape: a,
                    scale: s,
                }
            }
            DistSpec::Uniform { min, max } => {
                if max < min {
                    return Err(bad(
                        "max",
                        format!("must be at least min ({min}), found {max}"),
                    ));
                }
                Sampler::Uniform(min.value(), max.value())
            }
        })
    }
}

impl Sampler {
    /// One value, in nanoseconds.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        Nanos::from_secs_f64(self.sample_secs(rng))
    }

    /// One value, as a number (seconds for a duration).
    #[inline]
    pub fn sample_value<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sample_secs(rng)
    }

    /// One value, in seconds.
    #[inline]
    pub fn sample_secs<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Sampler::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Sampler::Gamma { dist, scale, .. } => dist.sample(rng) * scale,
            Sampler::Weibull { dist, scale, .. } => dist.sample(rng) * scale,
            Sampler::Pareto { dist, scale, .. } => dist.sample(rng) * scale,
            Sampler::Uniform(lo, hi) => {
                if hi > lo {
                    rng.random_range(*lo..*hi)
                } else {
                    *lo
                }
            }
        }
    }

    /// The distribution's mean in seconds (infinite for a Pareto tail index
    /// of 1 or less).
    pub fn mean_secs(&self) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Exponential(m) => *m,
            Sampler::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Sampler::Gamma { shape, scale, .. } => shape * scale,
            Sampler::Weibull {
                shape: k, scale: s, ..
            } => s * statrs::function::gamma::gamma(1.0 + 1.0 / k),
            Sampler::Pareto {
                shape: a, scale: s, ..
            } => {
                let (a, s) = (*a, *s);
                if a <= 1.0 {
                    f64::INFINITY
                } else {
                    a * s / (a - 1.0)
                }
            }
            Sampler::Uniform(lo, hi) => (lo + hi) / 2.0,
        }
    }

    /// The second moment E[X^2] in seconds squared (for Pollaczek-Khinchine
    /// style estimates; infinite where it does not exist).
    pub fn second_moment_secs(&self) -> f64 {
        match self {
            Sampler::Constant(v) => v * v,
            Sampler::Exponential(m) => 2.0 * m * m,
            Sampler::Lognormal { mu, sigma } => (2.0 * mu + 2.0 * sigma * sigma).exp(),
            Sampler::Gamma {
                shape: k, scale: t, ..
            } => k * (k + 1.0) * t * t,
            Sampler::Weibull {
                shape: k, scale: s, ..
            } => s * s * statrs::function::gamma::gamma(1.0 + 2.0 / k),
            Sampler::Pareto {
                shape: a, scale: s, ..
            } => {
                let (a, s) = (*a, *s);
                if a <= 2.0 {
                    f64::INFINITY
                } else {
                    a * s * s / (a - 2.0)
                }
            }
            Sampler::Uniform(lo, hi) => (lo * lo + lo * hi + hi * hi) / 3.0,
        }
    }
}

/// A duration written either as a string (`"45s"`) or as a distribution
/// (`{"dist": "uniform", "min": "30s", "max": "90s"}`).
#[derive(Debug, Clone, PartialEq)]
pub enum DurationOrDist {
    /// Always this long.
    Fixed(DurationStr),
    /// Drawn from the distribution.
    Dist(DistSpec),
}

impl DurationOrDist {
    /// The sampler.
    pub fn sampler(&self) -> Result<Sampler, DistError> {
        match self {
            DurationOrDist::Fixed(d) => Ok(Sampler::Constant(d.value())),
            DurationOrDist::Dist(d) => d.sampler(),
        }
    }
}

impl Serialize for DurationOrDist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DurationOrDist::Fixed(d) => d.serialize(s),
            DurationOrDist::Dist(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for DurationOrDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationOrDist, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DurationOrDist;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration string (\"45s\") or a distribution object ({\"dist\": ...})",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationOrDist, E> {
                DurationStr::parse(v)
                    .map(DurationOrDist::Fixed)
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DurationOrDist, A::Error> {
                DistSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DurationOrDist::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for DurationOrDist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DurationOrDist".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A fixed duration (\"45s\") or a distribution object ({\"dist\": ...}).",
            "anyOf": [g.subschema_for::<DurationStr>(), g.subschema_for::<DistSpec>()],
        })
    }
}

/// A count written either as a whole number (`3`) or as a distribution
/// of plain numbers (`{"dist": "poisson", ...}`), drawn and rounded.
#[derive(Debug, Clone, PartialEq)]
pub enum CountOrDist {
    /// Always this many.
    Fixed(u32),
    /// Drawn from the distribution, rounded to a whole number.
    Dist(AmountDist),
}

impl CountOrDist {
    /// The sampler.
    pub fn sampler(&self) -> Result<Sampler, DistError> {
        match self {
            CountOrDist::Fixed(n) => Ok(Sampler::Constant(f64::from(*n))),
            CountOrDist::Dist(d) => d.sampler(),
        }
    }
}

impl Serialize for CountOrDist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CountOrDist::Fixed(n) => n.serialize(s),
            CountOrDist::Dist(d) => d.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for CountOrDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CountOrDist, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CountOrDist;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number (3) or a distribution object ({\"dist\": ...})")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CountOrDist, E> {
                u32::try_from(v)
                    .map(CountOrDist::Fixed)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CountOrDist, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("must be 0 or more, found {v}")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<CountOrDist, E> {
                Err(E::custom(format!(
                    "must be a whole number, found {v}; for a mean, give a distribution"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CountOrDist, A::Error> {
                AmountDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(CountOrDist::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for CountOrDist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CountOrDist".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A whole number (3) or a distribution of plain numbers ({\"dist\": ...}), rounded.",
            "anyOf": [{ "type": "integer", "minimum": 0 }, g.subschema_for::<AmountDist>()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(json: &str) -> DistSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn amounts_take_plain_numbers() {
        let d: AmountDist =
            serde_json::from_str(r#"{"dist":"lognormal","median":800,"p99":4000}"#).unwrap();
        let s = d.sampler().unwrap();
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let mut v: Vec<f64> = (0..100_001).map(|_| s.sample_value(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        assert!((v[50_000] / 800.0 - 1.0).abs() < 0.03, "{}", v[50_000]);
        assert!(serde_json::from_str::<AmountDist>(r#"{"dist":"constant","value":"5s"}"#).is_err());
        assert!(serde_json::from_str::<AmountDist>(r#"{"dist":"constant","value":-1}"#).is_err());
    }

    #[test]
    fn a_duration_may_be_fixed_or_drawn() {
        let d: DurationOrDist = serde_json::from_str(r#""45s""#).unwrap();
        assert_eq!(d.sampler().unwrap().mean_secs(), 45.0);
        let d: DurationOrDist =
            serde_json::from_str(r#"{"dist":"uniform","min":"30s","max":"90s"}"#).unwrap();
        assert_eq!(d.sampler().unwrap().mean_secs(), 60.0);
        assert!(serde_json::from_str::<DurationOrDist>("45").is_err());
    }

    fn sample_mean(s: &Sampler, n: usize) -> f64 {
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        (0..n).map(|_| s.sample_secs(&mut r)).sum::<f64>() / n as f64
    }

    #[test]
    fn lognormal_from_median_and_p99_hits_both_quantiles() {
        let s = spec(r#"{"dist":"lognormal","median":"1.2s","p99":"9s"}"#)
            .sampler()
            .unwrap();
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        let mut v: Vec<f64> = (0..200_000).map(|_| s.sample_secs(&mut r)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[100_000];
        let p99 = v[198_000];
        // Order-statistic error at n = 200k is well under 1% at the median and
        // about 2% at p99 for this tail; 3% and 5% leave margin.
        assert!((median / 1.2 - 1.0).abs() < 0.03, "median {median}");
        assert!((p99 / 9.0 - 1.0).abs() < 0.05, "p99 {p99}");
    }

    #[test]
    fn sample_means_match_analytic_means() {
        for json in [
            r#"{"dist":"exponential","mean":"2s"}"#,
            r#"{"dist":"gamma","shape":2.5,"mean":"1s"}"#,
            r#"{"dist":"weibull","shape":1.5,"scale":"1s"}"#,
            r#"{"dist":"uniform","min":"1s","max":"3s"}"#,
            r#"{"dist":"pareto","shape":3.5,"scale":"1s"}"#,
            r#"{"dist":"lognormal","mu":0.0,"sigma":0.5}"#,
            r#"{"dist":"constant","value":"750ms"}"#,
        ] {
            let s = spec(json).sampler().unwrap();
            let (m, m2) = (s.mean_secs(), s.second_moment_secs());
            let sd = (m2 - m * m).max(0.0).sqrt();
            let n = 200_000;
            // 5 standard errors: a false alarm is below 1e-6 per case.
            let tol = 5.0 * sd / (n as f64).sqrt() + 1e-12;
            let got = sample_mean(&s, n);
            assert!(
                (got - m).abs() <= tol,
                "{json}: mean {got} vs {m} (tol {tol})"
            );
        }
    }

    #[test]
    fn rejects_bad_parameters_naming_the_key() {
        let e = spec(r#"{"dist":"lognormal","median":"2s","p99":"1s"}"#)
            .sampler()
            .unwrap_err();
        assert_eq!(e.key, "p99");
        let e = spec(r#"{"dist":"uniform","min":"3s","max":"1s"}"#)
            .sampler()
            .unwrap_err();
        assert_eq!(e.key, "max");
        let e = spec(r#"{"dist":"gamma","shape":-1,"mean":"1s"}"#)
            .sampler()
            .unwrap_err();
        assert_eq!(e.key, "shape");
        let e = spec(r#"{"dist":"exponential","mean":"0s"}"#)
            .sampler()
            .unwrap_err();
        assert_eq!(e.key, "mean");
        let e = spec(r#"{"dist":"lognormal","median":"2s","sigma":1}"#)
            .sampler()
            .unwrap_err();
        assert_eq!(e.key, "dist");
    }

    #[test]
    fn rejects_a_list_in_place_of_the_object() {
        assert!(serde_json::from_str::<DistSpec>(r#"["exponential", "1s"]"#).is_err());
    }

    #[test]
    fn rejects_unknown_dist_and_keys() {
        assert!(serde_json::from_str::<DistSpec>(r#"{"dist":"normal","mean":"1s"}"#).is_err());
        assert!(serde_json::from_str::<DistSpec>(r#"{"dist":"exponential","mena":"1s"}"#).is_err());
    }
}

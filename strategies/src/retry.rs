//! Retries: exponential backoff with jitter, attempt limits, and a retry
//! budget.

use crate::{AttemptOutcome, ConfigError, DurationStr, Nanos};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// Jitter on the exponential backoff `min(max, base * 2^n)` (the AWS
/// Architecture Blog's "Exponential Backoff and Jitter"), or Envoy's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Jitter {
    /// `random(0, min(max, base * 2^n))`.
    #[default]
    Full,
    /// Half the backoff plus `random(0, half)`.
    Equal,
    /// `min(max, random(base, previous * 3))`.
    Decorrelated,
    /// No jitter: exactly `min(max, base * 2^n)`.
    None,
    /// Envoy's `JitteredExponentialBackOffStrategy`, in whole
    /// milliseconds: retry n waits `random() % interval_n`, where
    /// `interval_1 = base` and each next interval doubles while it is below
    /// `max / 2`, else jumps to `max` (Envoy's router: base 25ms, max 10 x
    /// base, so 0-24, 0-49, 0-99, 0-199, then 0-249 ms).
    Envoy,
}

/// The `retries` block:
///
/// ```json
/// { "retries": { "maxAttempts": 3,
///                "backoff": { "base": "100ms", "max": "10s", "jitter": "full" },
///                "budget": { "percent": 20, "minConcurrency": 3 },
///                "retryOn": ["connect-failure", "timeout", "5xx"] } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first included (default 3).
    #[serde(default = "three")]
    pub max_attempts: u32,
    /// The wait before each retry.
    #[serde(default)]
    pub backoff: BackoffConfig,
    /// Caps retries in flight relative to all requests in flight; none
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<RetryBudgetConfig>,
    /// Which failed attempts are retried (default all three), in Envoy's
    /// `retry_on` names: `connect-failure` (refused or reset), `timeout`
    /// (no connection or slot within `limits.connectionTimeout`), `5xx`
    /// (the agent answered with an error, a failed LLM call). A request
    /// past `limits.requestTimeout` is never retried. nginx's default
    /// `proxy_next_upstream error timeout` is the first two (nginx does not
    /// resend a POST it has already sent); Caddy retries dial failures only
    /// (`connect-failure`).
    #[serde(default = "RetryOn::all_kinds")]
    pub retry_on: Vec<RetryOn>,
}

/// A kind of failed attempt, as named in `retries.retryOn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    /// The connection was refused or reset.
    ConnectFailure,
    /// No connection or slot in time.
    Timeout,
    /// The backend answered with an error.
    #[serde(rename = "5xx")]
    ServerError,
}

impl RetryOn {
    fn all_kinds() -> Vec<RetryOn> {
        vec![
            RetryOn::ConnectFailure,
            RetryOn::Timeout,
            RetryOn::ServerError,
        ]
    }

    /// The kind an attempt's outcome is, or `None` for a success.
    pub fn of(outcome: AttemptOutcome) -> Option<RetryOn> {
        match outcome {
            AttemptOutcome::Success => None,
            AttemptOutcome::ApplicationError => Some(RetryOn::ServerError),
            AttemptOutcome::ConnectFailure => Some(RetryOn::ConnectFailure),
            AttemptOutcome::Timeout => Some(RetryOn::Timeout),
        }
    }
}

fn three() -> u32 {
    3
}

/// Backoff between attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackoffConfig {
    /// First backoff (default 100ms).
    #[serde(default = "d100ms")]
    pub base: DurationStr,
    /// Longest backoff (default 10s).
    #[serde(default = "d10s")]
    pub max: DurationStr,
    /// The jitter (default `full`).
    #[serde(default)]
    pub jitter: Jitter,
}

fn d100ms() -> DurationStr {
    DurationStr(Nanos::from_millis(100))
}
fn d10s() -> DurationStr {
    DurationStr(Nanos::from_secs(10))
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: d100ms(),
            max: d10s(),
            jitter: Jitter::Full,
        }
    }
}

/// A retry budget, as Envoy's `retry_budget`: retries in flight may be at
/// most `percent` of requests in flight, but at least `minConcurrency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Percent of active requests (Envoy default 20).
    #[serde(default = "twenty")]
    pub percent: f64,
    /// Retries always allowed in flight (Envoy default 3).
    #[serde(default = "three")]
    pub min_concurrency: u32,
}

fn twenty() -> f64 {
    20.0
}

impl RetryConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retry_on.is_empty() {
            return Err(ConfigError::new(
                "retryOn",
                "names no failure to retry; list some of `connect-failure`, `timeout`, `5xx`, or set `maxAttempts` to 1",
            ));
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::new(
                "maxAttempts",
                "must be at least 1 (1 means no retries)",
            ));
        }
        if self.backoff.base.nanos() == Nanos::ZERO {
            return Err(ConfigError::new("backoff.base", "must be longer than 0s"));
        }
        if self.backoff.max < self.backoff.base {
            return Err(ConfigError::new(
                "backoff.max",
                "must be at least backoff.base",
            ));
        }
        if self.backoff.jitter == Jitter::Envoy && self.backoff.base.nanos() < Nanos::from_millis(1)
        {
            return Err(ConfigError::new(
                "backoff.base",
                "must be at least 1ms with jitter `envoy` (Envoy counts backoff in whole milliseconds)",
            ));
        }
        if let Some(b) = &self.budget {
            if !(b.percent.is_finite() && (0.0..=100.0).contains(&b.percent)) {
                return Err(ConfigError::new("budget.percent", "must be from 0 to 100"));
            }
        }
        Ok(())
    }

    /// The wait before retry number `retry` (1 for the first retry), given
    /// the previous wait (for decorrelated jitter).
    pub fn backoff<R: RngCore + ?Sized>(&self, retry: u32, previous: Nanos, rng: &mut R) -> Nanos {
        let base = self.backoff.base.nanos().0;
        let cap = self.backoff.max.nanos().0;
        let exp = base
            .saturating_mul(1u64 << (retry.saturating_sub(1)).min(62))
            .min(cap);
        Nanos(match self.backoff.jitter {
            Jitter::None => exp,
            Jitter::Full => rng.random_range(0..=exp),
            Jitter::Equal => exp / 2 + rng.random_range(0..=exp - exp / 2),
            Jitter::Decorrelated => {
                let hi = previous.0.max(base).saturating_mul(3);
                rng.random_range(base..=hi.max(base)).min(cap)
            }
            Jitter::Envoy => {
                let (base_ms, max_ms) = (base / 1_000_000, cap / 1_000_000);
                let mut interval = base_ms.max(1);
                for _ in 1..retry {
                    interval = if interval < max_ms / 2 {
                        interval * 2
                    } else {
                        max_ms.max(1)
                    };
                }
                (rng.next_u64() % interval).saturating_mul(1_000_000)
            }
        })
    }

    /// Whether an attempt that ended with `outcome` may be retried.
    pub fn retries(&self, outcome: AttemptOutcome) -> bool {
        RetryOn::of(outcome).is_some_and(|k| self.retry_on.contains(&k))
    }

    /// Whether the budget allows one more retry with `active_retries`
    /// retries and `active_requests` requests in flight.
    pub fn budget_allows(&self, active_requests: u64, active_retries: u64) -> bool {
        match &self.budget {
            None => true,
            Some(b) => {
                let allowed = (b.percent / 100.0 * active_requests as f64) as u64;
                active_retries < allowed.max(u64::from(b.min_concurrency))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg(json: &str) -> RetryConfig {
        let c: RetryConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        c
    }

    fn ms(x: u64) -> Nanos {
        Nanos::from_millis(x)
    }

    #[test]
    fn exponential_without_jitter_doubles_to_the_cap() {
        let c = cfg(r#"{"backoff": {"base": "100ms", "max": "1s", "jitter": "none"}}"#);
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let got: Vec<u64> = (1..=6)
            .map(|n| c.backoff(n, Nanos::ZERO, &mut r).0 / 1_000_000)
            .collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitters_stay_within_their_ranges() {
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(2);
        for n in 1..8 {
            let exp = (100u64 << (n - 1)).min(5000);
            let full =
                cfg(r#"{"backoff": {"max": "5s", "jitter": "full"}}"#).backoff(n, ms(0), &mut r);
            assert!(full <= ms(exp));
            let equal =
                cfg(r#"{"backoff": {"max": "5s", "jitter": "equal"}}"#).backoff(n, ms(0), &mut r);
            assert!(equal >= ms(exp / 2) && equal <= ms(exp));
            let dec = cfg(r#"{"backoff": {"max": "5s", "jitter": "decorrelated"}}"#).backoff(
                n,
                ms(300),
                &mut r,
            );
            assert!(dec >= ms(100) && dec <= ms(900));
            let envoy = cfg(r#"{"backoff": {"base": "25ms", "max": "250ms", "jitter": "envoy"}}"#)
                .backoff(n, ms(0), &mut r);
            assert!(envoy < ms((25u64 << (n - 1)).min(250)));
        }
    }

    /// A generator that always returns the same value, as the mocked
    /// `random()` of Envoy's `backoff_strategy_test.cc`.
    struct Constant(u64);

    impl RngCore for Constant {
        fn next_u32(&mut self) -> u32 {
            self.0 as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.fill(0);
        }
    }

    /// Envoy `JitteredExponentialBackOffStrategy` tests: BasicFlow (base
    /// 25, max 30, random 27 -> 2, 27) and WithMaxInterval (base 5, max
    /// 100, random 9999 -> 4, 9, 19, 39, 79, 99, 99).
    #[test]
    fn envoy_jitter_matches_envoys_backoff_strategy_tests() {
        let seq = |json: &str, random: u64, n: u32| -> Vec<u64> {
            let c = cfg(json);
            (1..=n)
                .map(|k| c.backoff(k, Nanos::ZERO, &mut Constant(random)).0 / 1_000_000)
                .collect()
        };
        assert_eq!(
            seq(
                r#"{"backoff": {"base": "25ms", "max": "30ms", "jitter": "envoy"}}"#,
                27,
                2
            ),
            [2, 27]
        );
        assert_eq!(
            seq(
                r#"{"backoff": {"base": "5ms", "max": "100ms", "jitter": "envoy"}}"#,
                9999,
                7
            ),
            [4, 9, 19, 39, 79, 99, 99]
        );
        // The router's defaults: base 25ms, max 250ms.
        assert_eq!(
            seq(
                r#"{"backoff": {"base": "25ms", "max": "250ms", "jitter": "envoy"}}"#,
                9999,
                6
            ),
            [24, 49, 99, 199, 249, 249]
        );
    }

    #[test]
    fn full_jitter_averages_half_the_exponential() {
        let c = cfg(r#"{"backoff": {"base": "1s", "max": "1s"}}"#);
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let n = 20_000;
        let mean = (0..n)
            .map(|_| c.backoff(1, Nanos::ZERO, &mut r).as_secs_f64())
            .sum::<f64>()
            / n as f64;
        // Uniform(0, 1): sd 0.289, standard error 0.002; 5 se = 0.01.
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }

    #[test]
    fn budget_is_a_share_of_active_requests_with_a_floor() {
        let c = cfg(r#"{"budget": {"percent": 20, "minConcurrency": 3}}"#);
        assert!(c.budget_allows(0, 2));
        assert!(!c.budget_allows(0, 3));
        assert!(c.budget_allows(100, 19));
        assert!(!c.budget_allows(100, 20));
        assert!(cfg("{}").budget_allows(0, 1_000));
    }
}

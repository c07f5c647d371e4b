//! Health: active checks with thresholds, Envoy's outlier ejection, and
//! the passive health of nginx and Caddy.
//!
//! - [`HealthCheckConfig`] / [`ActiveHealth`]: the seed docs' `healthCheck`
//!   block (`interval`, `timeout`, `unhealthyThreshold`,
//!   `healthyThreshold`), with HAProxy's rise/fall and Envoy's threshold
//!   semantics: a backend turns unhealthy after `unhealthyThreshold`
//!   consecutive failed checks and healthy again after `healthyThreshold`
//!   consecutive passes. The next check is due `interval` after the previous
//!   result, so a backend that refuses connections is caught after about
//!   `unhealthyThreshold * interval`, and a hung one after about
//!   `unhealthyThreshold * (interval + timeout)`.
//! - [`OutlierDetectionConfig`] / [`OutlierDetector`]: Envoy's passive
//!   outlier detection on consecutive errors ([`outlier`]).
//! - [`PassiveHealthConfig`] / [`PassiveHealth`]: nginx `max_fails` /
//!   `fail_timeout` and Caddy `fail_duration`, which count connection
//!   failures and timeouts, not application errors ([`passive`]).

mod outlier;
mod passive;

pub use outlier::{OutlierDetectionConfig, OutlierDetector};
pub use passive::{AttemptOutcome, PassiveHealth, PassiveHealthConfig, PassiveKind};

use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// The `healthCheck` block (SwiftClaw's keys and example values as
/// defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Checks run at all (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Time from one check's result to the next check (default 30s).
    #[serde(default = "d30s")]
    pub interval: DurationStr,
    /// How long a check waits for an answer (default 5s).
    #[serde(default = "d5s")]
    pub timeout: DurationStr,
    /// Consecutive failures that mark a backend unhealthy (default 3).
    #[serde(default = "three")]
    pub unhealthy_threshold: u32,
    /// Consecutive passes that mark it healthy again (default 2).
    #[serde(default = "two")]
    pub healthy_threshold: u32,
}

fn yes() -> bool {
    true
}
fn d30s() -> DurationStr {
    DurationStr(Nanos::from_secs(30))
}
fn d5s() -> DurationStr {
    DurationStr(Nanos::from_secs(5))
}
fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            enabled: true,
            interval: d30s(),
            timeout: d5s(),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
        }
    }
}

impl HealthCheckConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.nanos() == Nanos::ZERO {
            return Err(ConfigError::new("interval", "must be longer than 0s"));
        }
        if self.timeout.nanos() == Nanos::ZERO {
            return Err(ConfigError::new("timeout", "must be longer than 0s"));
        }
        if self.unhealthy_threshold == 0 {
            return Err(ConfigError::new("unhealthyThreshold", "must be at least 1"));
        }
        if self.healthy_threshold == 0 {
            return Err(ConfigError::new("healthyThreshold", "must be at least 1"));
        }
        Ok(())
    }
}

/// One backend's active health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveHealth {
    healthy: bool,
    passes: u32,
    failures: u32,
}

impl Default for ActiveHealth {
    /// A backend starts healthy.
    fn default() -> Self {
        ActiveHealth {
            healthy: true,
            passes: 0,
            failures: 0,
        }
    }
}

impl ActiveHealth {
    /// Whether the backend is considered healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Folds in one check result; returns the new health when it changed.
    pub fn record(&mut self, cfg: &HealthCheckConfig, passed: bool) -> Option<bool> {
        if passed {
            self.passes += 1;
            self.failures = 0;
            if !self.healthy && self.passes >= cfg.healthy_threshold {
                self.healthy = true;
                return Some(true);
            }
        } else {
            self.failures += 1;
            self.passes = 0;
            if self.healthy && self.failures >= cfg.unhealthy_threshold {
                self.healthy = false;
                return Some(false);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_need_consecutive_results() {
        let cfg = HealthCheckConfig::default();
        let mut h = ActiveHealth::default();
        assert_eq!(h.record(&cfg, false), None);
        assert_eq!(h.record(&cfg, false), None);
        assert_eq!(h.record(&cfg, true), None, "a pass resets the failure run");
        assert_eq!(h.record(&cfg, false), None);
        assert_eq!(h.record(&cfg, false), None);
        assert_eq!(h.record(&cfg, false), Some(false));
        assert!(!h.is_healthy());
        assert_eq!(h.record(&cfg, true), None);
        assert_eq!(h.record(&cfg, true), Some(true));
    }

    #[test]
    fn reads_the_seed_docs_block_with_defaults() {
        let c: HealthCheckConfig =
            serde_json::from_str(r#"{"enabled": true, "interval": "30s"}"#).unwrap();
        assert_eq!(c, HealthCheckConfig::default());
        assert!(serde_json::from_str::<HealthCheckConfig>(r#"{"intervall": "30s"}"#).is_err());
    }
}

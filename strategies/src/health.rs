//! Health: active checks with thresholds, and passive outlier ejection.
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
//!   outlier detection on consecutive errors.

use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// The `healthCheck` block (SwiftClaw's keys and example values as
/// defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Envoy's outlier detection (`outlier_detection` in a cluster), on
/// consecutive errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutlierDetectionConfig {
    /// Consecutive errors (5xx, gateway errors, timeouts) that eject a
    /// backend (Envoy `consecutive_5xx`, default 5).
    #[serde(default = "five")]
    pub consecutive_errors: u32,
    /// How often ejections are reviewed (Envoy `interval`, default 10s).
    #[serde(default = "d10s")]
    pub interval: DurationStr,
    /// Ejection time per ejection so far (Envoy `base_ejection_time`,
    /// default 30s): the n-th ejection lasts `n * baseEjectionTime`.
    #[serde(default = "d30s")]
    pub base_ejection_time: DurationStr,
    /// Cap on one ejection (Envoy `max_ejection_time`, default 300s).
    #[serde(default = "d300s")]
    pub max_ejection_time: DurationStr,
    /// Most backends ejected at once, as a percentage (default 10; at least
    /// one backend may always be ejected).
    #[serde(default = "ten")]
    pub max_ejection_percent: u32,
}

fn five() -> u32 {
    5
}
fn ten() -> u32 {
    10
}
fn d10s() -> DurationStr {
    DurationStr(Nanos::from_secs(10))
}
fn d300s() -> DurationStr {
    DurationStr(Nanos::from_secs(300))
}

impl Default for OutlierDetectionConfig {
    fn default() -> Self {
        OutlierDetectionConfig {
            consecutive_errors: 5,
            interval: d10s(),
            base_ejection_time: d30s(),
            max_ejection_time: d300s(),
            max_ejection_percent: 10,
        }
    }
}

impl OutlierDetectionConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.consecutive_errors == 0 {
            return Err(ConfigError::new("consecutiveErrors", "must be at least 1"));
        }
        if self.interval.nanos() == Nanos::ZERO {
            return Err(ConfigError::new("interval", "must be longer than 0s"));
        }
        if self.max_ejection_percent > 100 {
            return Err(ConfigError::new(
                "maxEjectionPercent",
                "must be from 0 to 100",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct HostOutlier {
    consecutive: u32,
    ejected_at: Option<Nanos>,
    ejections: u32,
}

/// Passive outlier detection over a set of backends, as Envoy's
/// `DetectorImpl`: consecutive errors eject a backend for
/// `ejections * baseEjectionTime` (capped at `maxEjectionTime`), limited to
/// `maxEjectionPercent` of the backends (at least one). Un-ejection happens
/// on the `interval` tick ([`OutlierDetector::tick`]); on a tick where a
/// backend is not ejected, its ejection count decays by one.
#[derive(Debug, Clone)]
pub struct OutlierDetector {
    cfg: OutlierDetectionConfig,
    hosts: Vec<HostOutlier>,
    ejected: usize,
}

impl OutlierDetector {
    /// A detector over `n` backends, none ejected.
    pub fn new(cfg: OutlierDetectionConfig, n: usize) -> OutlierDetector {
        OutlierDetector {
            cfg,
            hosts: vec![HostOutlier::default(); n],
            ejected: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OutlierDetectionConfig {
        &self.cfg
    }

    /// Whether backend `i` is ejected.
    pub fn is_ejected(&self, i: usize) -> bool {
        self.hosts[i].ejected_at.is_some()
    }

    /// Backends ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    fn max_ejected(&self) -> usize {
        let n = self.hosts.len();
        ((n * self.cfg.max_ejection_percent as usize) / 100).max(1)
    }

    /// Folds in one request result; returns true when it ejected `i`.
    pub fn record(&mut self, now: Nanos, i: usize, success: bool) -> bool {
        let max = self.max_ejected();
        let h = &mut self.hosts[i];
        if success {
            h.consecutive = 0;
            return false;
        }
        h.consecutive += 1;
        if h.consecutive >= self.cfg.consecutive_errors
            && h.ejected_at.is_none()
            && self.ejected < max
        {
            h.ejected_at = Some(now);
            h.ejections += 1;
            h.consecutive = 0;
            self.ejected += 1;
            return true;
        }
        false
    }

    /// The `interval` tick: un-ejects backends whose time is up; calls
    /// `on_return` with each. Returns how many returned.
    pub fn tick(&mut self, now: Nanos, mut on_return: impl FnMut(usize)) -> usize {
        let base = self.cfg.base_ejection_time.nanos().0;
        let cap = self.cfg.max_ejection_time.nanos().0;
        let mut returned = 0;
        for (i, h) in self.hosts.iter_mut().enumerate() {
            match h.ejected_at {
                Some(at) => {
                    let span = base
                        .saturating_mul(u64::from(h.ejections))
                        .min(cap.max(base));
                    if now.0 >= at.0.saturating_add(span) {
                        h.ejected_at = None;
                        self.ejected -= 1;
                        returned += 1;
                        on_return(i);
                    }
                }
                None => h.ejections = h.ejections.saturating_sub(1),
            }
        }
        returned
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

    fn s(secs: u64) -> Nanos {
        Nanos::from_secs(secs)
    }

    #[test]
    fn five_consecutive_errors_eject_for_the_base_time() {
        let mut d = OutlierDetector::new(OutlierDetectionConfig::default(), 10);
        for _ in 0..4 {
            assert!(!d.record(s(1), 3, false));
        }
        assert!(d.record(s(1), 3, false));
        assert!(d.is_ejected(3));
        // Un-ejection only on the interval tick, once 30s have passed.
        assert_eq!(d.tick(s(30), |_| {}), 0);
        let mut back = vec![];
        assert_eq!(d.tick(s(31), |i| back.push(i)), 1);
        assert_eq!(back, vec![3]);
    }

    #[test]
    fn a_success_resets_the_run() {
        let mut d = OutlierDetector::new(OutlierDetectionConfig::default(), 10);
        for _ in 0..4 {
            d.record(s(1), 0, false);
        }
        d.record(s(1), 0, true);
        for _ in 0..4 {
            assert!(!d.record(s(1), 0, false));
        }
    }

    #[test]
    fn repeated_ejections_last_longer_up_to_the_cap() {
        let cfg = OutlierDetectionConfig::default();
        let mut d = OutlierDetector::new(cfg, 10);
        let mut t = 0;
        for n in 1..=12u64 {
            for _ in 0..5 {
                d.record(s(t), 0, false);
            }
            assert!(d.is_ejected(0));
            let span = (30 * n).min(300);
            d.tick(s(t + span - 1), |_| {});
            assert!(d.is_ejected(0), "ejection {n} lasts {span}s");
            d.tick(s(t + span), |_| {});
            assert!(!d.is_ejected(0));
            t += span;
        }
    }

    #[test]
    fn at_most_max_ejection_percent_but_always_one() {
        let mut d = OutlierDetector::new(OutlierDetectionConfig::default(), 20);
        for i in 0..5 {
            for _ in 0..5 {
                d.record(s(1), i, false);
            }
        }
        assert_eq!(d.ejected_count(), 2, "10% of 20");
        let mut d = OutlierDetector::new(OutlierDetectionConfig::default(), 3);
        for i in 0..3 {
            for _ in 0..5 {
                d.record(s(1), i, false);
            }
        }
        assert_eq!(d.ejected_count(), 1, "at least one even below 10 hosts");
    }
}

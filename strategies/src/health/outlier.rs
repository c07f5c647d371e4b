//! Envoy's passive outlier detection on consecutive errors
//! (`source/common/upstream/outlier_detection_impl.cc`).

use super::d30s;
use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// Envoy's outlier detection (`outlier_detection` in a cluster), on
/// consecutive errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutlierDetectionConfig {
    /// Consecutive errors (5xx, gateway errors, refused connections,
    /// timeouts) that eject a backend (Envoy `consecutive_5xx`, default 5).
    #[serde(default = "five")]
    pub consecutive_errors: u32,
    /// How often ejections are reviewed (Envoy `interval`, default 10s).
    #[serde(default = "d10s")]
    pub interval: DurationStr,
    /// Ejection time per step of the ejection multiplier (Envoy
    /// `base_ejection_time`, default 30s).
    #[serde(default = "d30s")]
    pub base_ejection_time: DurationStr,
    /// Cap on one ejection (Envoy `max_ejection_time`, default 300s, and at
    /// least `baseEjectionTime`).
    #[serde(default = "d300s")]
    pub max_ejection_time: DurationStr,
    /// Most backends ejected at once, as a percentage of all backends
    /// (Envoy `max_ejection_percent`, default 10): an ejection is allowed
    /// while `100 * (ejected + 1) / backends <= maxEjectionPercent`, so a
    /// fleet of fewer than 10 backends ejects none by default.
    #[serde(default = "ten")]
    pub max_ejection_percent: u32,
    /// Allow one ejection whatever `maxEjectionPercent` says, when none is
    /// in force (Envoy `always_eject_one_host`, default false).
    #[serde(default)]
    pub always_eject_one_host: bool,
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
            always_eject_one_host: false,
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
        if self.base_ejection_time.nanos() == Nanos::ZERO {
            return Err(ConfigError::new(
                "baseEjectionTime",
                "must be longer than 0s",
            ));
        }
        if self.max_ejection_time < self.base_ejection_time {
            return Err(ConfigError::new(
                "maxEjectionTime",
                "must be at least baseEjectionTime (Envoy refuses the cluster otherwise)",
            ));
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
    last_unejected: Option<Nanos>,
    /// Envoy's `eject_time_backoff_`: the ejection-time multiplier.
    backoff: u64,
}

/// Passive outlier detection over a set of backends, as Envoy's
/// `DetectorImpl` (`outlier_detection_impl.cc`) on consecutive errors:
///
/// - the `consecutiveErrors`-th error in a row asks for an ejection (the
///   count fires when it *reaches* the threshold); the run of errors starts
///   again after any ejection attempt, granted or refused, after a success
///   and when the backend returns; errors of a backend already ejected
///   just keep counting;
/// - an ejection is granted while `100 * (ejected + 1) / backends <=
///   maxEjectionPercent` (or, with `alwaysEjectOneHost`, when none is
///   ejected);
/// - each granted ejection raises the multiplier by one while `multiplier *
///   base < max + base`; the ejection lasts `min(base * multiplier, max)`
///   and ends on the first `interval` tick at or after that
///   ([`OutlierDetector::tick`]);
/// - on a tick, a backend that is back and has been back for at least one
///   interval has its multiplier lowered by one.
#[derive(Debug, Clone)]
pub struct OutlierDetector {
    cfg: OutlierDetectionConfig,
    hosts: Vec<HostOutlier>,
    ejected: usize,
    refused: u64,
}

impl OutlierDetector {
    /// A detector over `n` backends, none ejected.
    pub fn new(cfg: OutlierDetectionConfig, n: usize) -> OutlierDetector {
        OutlierDetector {
            cfg,
            hosts: vec![HostOutlier::default(); n],
            ejected: 0,
            refused: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OutlierDetectionConfig {
        &self.cfg
    }

    /// Backend `i` left the cluster and a new one took its place: its
    /// history is forgotten (Envoy drops a removed host's monitor).
    pub fn forget(&mut self, i: usize) {
        if self.hosts[i].ejected_at.is_some() {
            self.ejected -= 1;
        }
        self.hosts[i] = HostOutlier::default();
    }

    /// Whether backend `i` is ejected.
    pub fn is_ejected(&self, i: usize) -> bool {
        self.hosts[i].ejected_at.is_some()
    }

    /// Backends ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// Ejections refused because of `maxEjectionPercent` (Envoy's
    /// `ejections_overflow`).
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Backend `i`'s ejection-time multiplier.
    pub fn multiplier(&self, i: usize) -> u64 {
        self.hosts[i].backoff
    }

    fn may_eject(&self) -> bool {
        let pct = 100.0 * (self.ejected + 1) as f64 / self.hosts.len().max(1) as f64;
        pct <= f64::from(self.cfg.max_ejection_percent.min(100))
            || (self.cfg.always_eject_one_host && self.ejected == 0)
    }

    /// Folds in one request result; returns true when it ejected `i`.
    pub fn record(&mut self, now: Nanos, i: usize, success: bool) -> bool {
        if success {
            self.hosts[i].consecutive = 0;
            return false;
        }
        self.hosts[i].consecutive = self.hosts[i].consecutive.saturating_add(1);
        if self.hosts[i].consecutive != self.cfg.consecutive_errors || self.is_ejected(i) {
            return false;
        }
        let granted = self.may_eject();
        let base = self.cfg.base_ejection_time.nanos().0;
        let max = self.cfg.max_ejection_time.nanos().0;
        let h = &mut self.hosts[i];
        h.consecutive = 0;
        if !granted {
            self.refused += 1;
            return false;
        }
        h.ejected_at = Some(now);
        if h.backoff.saturating_mul(base) < max.saturating_add(base) {
            h.backoff += 1;
        }
        self.ejected += 1;
        true
    }

    /// The `interval` tick: returns backends whose ejection is over, calling
    /// `on_return` with each, then lowers the multiplier of backends back
    /// for at least an interval. Returns how many returned.
    pub fn tick(&mut self, now: Nanos, mut on_return: impl FnMut(usize)) -> usize {
        let base = self.cfg.base_ejection_time.nanos().0;
        let max = self.cfg.max_ejection_time.nanos().0;
        let interval = self.cfg.interval.nanos();
        let mut returned = 0;
        for (i, h) in self.hosts.iter_mut().enumerate() {
            if let Some(at) = h.ejected_at {
                let span = base.saturating_mul(h.backoff).min(max);
                if span <= (now - at).0 {
                    h.ejected_at = None;
                    h.consecutive = 0;
                    h.last_unejected = Some(now);
                    self.ejected -= 1;
                    returned += 1;
                    on_return(i);
                }
            }
        }
        for h in &mut self.hosts {
            if h.ejected_at.is_none() && h.last_unejected.is_some_and(|t| now - t >= interval) {
                h.backoff = h.backoff.saturating_sub(1);
            }
        }
        returned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Nanos {
        Nanos::from_secs(secs)
    }

    fn detector(json: &str, n: usize) -> OutlierDetector {
        let cfg: OutlierDetectionConfig = serde_json::from_str(json).unwrap();
        cfg.validate().unwrap();
        OutlierDetector::new(cfg, n)
    }

    fn errors(d: &mut OutlierDetector, now: Nanos, i: usize, k: u32) -> bool {
        (0..k).fold(false, |ejected, _| d.record(now, i, false) || ejected)
    }

    /// Envoy `OutlierDetectorImplTest.BasicFlow5xxViaHttpCodes`: a success
    /// breaks the run; the fifth error in a row ejects for 30s; the return
    /// comes on the first tick at or after that.
    #[test]
    fn envoy_basic_flow_5xx() {
        let mut d = detector(r#"{"maxEjectionPercent": 100}"#, 2);
        assert!(!d.record(s(0), 0, false));
        assert!(!d.record(s(0), 0, true));
        assert!(!errors(&mut d, s(0), 0, 4));
        assert!(d.record(s(0), 0, false), "fifth consecutive error ejects");
        assert_eq!(d.tick(Nanos::from_millis(9_999), |_| {}), 0);
        assert!(d.is_ejected(0));
        assert_eq!(d.tick(Nanos::from_millis(30_001), |_| {}), 1);
        assert!(!d.is_ejected(0));
        assert!(!errors(&mut d, s(40), 0, 4));
        assert!(d.record(s(40), 0, false));
        assert_eq!(d.multiplier(0), 2);
    }

    /// Envoy `EjectTimeBackoff` (base 10s, max 300s, one host): each
    /// ejection right after a return lasts one step longer; two clean
    /// intervals bring the multiplier down by two.
    #[test]
    fn envoy_eject_time_backoff() {
        let mut d = detector(
            r#"{"baseEjectionTime": "10s", "maxEjectionPercent": 100}"#,
            1,
        );
        let tick = |d: &mut OutlierDetector, t| d.tick(s(t), |_| {});
        assert!(errors(&mut d, s(0), 0, 5));
        assert_eq!(tick(&mut d, 10), 1);
        assert!(errors(&mut d, s(10), 0, 5));
        assert_eq!(d.multiplier(0), 2);
        assert_eq!(tick(&mut d, 20), 0);
        assert_eq!(tick(&mut d, 30), 1);
        assert!(errors(&mut d, s(30), 0, 5));
        assert_eq!(d.multiplier(0), 3);
        assert_eq!(tick(&mut d, 40) + tick(&mut d, 50), 0);
        assert_eq!(tick(&mut d, 60), 1);
        tick(&mut d, 70);
        assert_eq!(d.multiplier(0), 2, "decays once back for an interval");
        tick(&mut d, 80);
        assert_eq!(d.multiplier(0), 1);
        assert!(errors(&mut d, s(80), 0, 5));
        assert_eq!(d.multiplier(0), 2);
        assert_eq!(tick(&mut d, 90), 0);
        assert_eq!(tick(&mut d, 100), 1);
        for t in (110..=600).step_by(10) {
            tick(&mut d, t);
        }
        assert_eq!(d.multiplier(0), 0);
        assert!(errors(&mut d, s(610), 0, 5));
        assert_eq!(tick(&mut d, 620), 1, "back to one base period");
    }

    /// Envoy `MaxEjectTime` (base 10s, max 300s): ejection k lasts
    /// min(10k, 300)s; the multiplier stops growing at 31 (310 < 310 is
    /// false).
    #[test]
    fn envoy_max_eject_time() {
        let mut d = detector(
            r#"{"baseEjectionTime": "10s", "maxEjectionPercent": 100}"#,
            1,
        );
        let mut t = 0;
        for k in 1..=40u64 {
            assert!(errors(&mut d, s(t), 0, 5), "ejection {k}");
            let span = (10 * k).min(300);
            let mut waited = 0;
            while d.is_ejected(0) {
                waited += 10;
                d.tick(s(t + waited), |_| {});
            }
            assert_eq!(waited, span, "ejection {k}");
            t += waited;
        }
        assert_eq!(d.multiplier(0), 31);
    }

    /// Envoy `MaxEjectTimeNotAlligned` (base 10s, max 305s): the cap rounds
    /// up to the 310s tick.
    #[test]
    fn envoy_max_eject_time_not_aligned() {
        let mut d = detector(
            r#"{"baseEjectionTime": "10s", "maxEjectionTime": "305s", "maxEjectionPercent": 100}"#,
            1,
        );
        let mut t = 0;
        for k in 1..=35u64 {
            errors(&mut d, s(t), 0, 5);
            let mut waited = 0;
            while d.is_ejected(0) {
                waited += 10;
                d.tick(s(t + waited), |_| {});
            }
            assert_eq!(waited, (10 * k).min(310), "ejection {k}");
            t += waited;
        }
    }

    /// Envoy `Consecutive_5xxAlreadyEjected`: errors of an ejected backend
    /// neither eject it again nor reset the count.
    #[test]
    fn envoy_already_ejected() {
        let mut d = detector(r#"{"maxEjectionPercent": 100}"#, 1);
        assert!(errors(&mut d, s(0), 0, 5));
        d.record(s(1), 0, true);
        assert!(!errors(&mut d, s(1), 0, 5));
        assert_eq!(d.multiplier(0), 1);
    }

    /// Envoy `MaxEjectionPercentage`, `Overflow`, `MaxEjectionPercentageSingleHost`
    /// and `always_eject_one_host`: the cap counts the backend about to be
    /// ejected, and a refused ejection restarts the run of errors.
    #[test]
    fn envoy_max_ejection_percent() {
        let eject_all = |json: &str, n: usize| {
            let mut d = detector(json, n);
            for i in 0..n {
                errors(&mut d, s(1), i, 5);
            }
            (d.ejected_count(), d.refused())
        };
        assert_eq!(eject_all(r#"{"maxEjectionPercent": 50}"#, 3), (1, 2));
        assert_eq!(eject_all(r#"{"maxEjectionPercent": 60}"#, 2), (1, 1));
        assert_eq!(eject_all(r#"{"maxEjectionPercent": 90}"#, 1), (0, 1));
        assert_eq!(
            eject_all(
                r#"{"maxEjectionPercent": 90, "alwaysEjectOneHost": true}"#,
                1
            ),
            (1, 0)
        );
        assert_eq!(eject_all("{}", 9), (0, 9), "10% of 9 hosts is none");
        assert_eq!(eject_all("{}", 10), (1, 9));
        assert_eq!(eject_all("{}", 20), (2, 18));
        assert_eq!(eject_all(r#"{"alwaysEjectOneHost": true}"#, 5), (1, 4));
        // The refused host's run starts again: four more errors do not ask.
        let mut d = detector(r#"{"maxEjectionPercent": 50}"#, 3);
        errors(&mut d, s(1), 0, 5);
        errors(&mut d, s(1), 1, 5);
        assert_eq!(d.refused(), 1);
        errors(&mut d, s(1), 1, 4);
        assert_eq!(d.refused(), 1);
        errors(&mut d, s(1), 1, 1);
        assert_eq!(d.refused(), 2);
    }
}

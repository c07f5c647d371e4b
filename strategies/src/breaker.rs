//! Circuit breakers: the seed docs' consecutive-failure form and
//! resilience4j's failure-rate sliding window.
//!
//! States follow resilience4j's `CircuitBreakerStateMachine`: `Closed`
//! passes calls and watches them; `Open` refuses every call until
//! `resetTimeout` has passed (strictly: a call exactly at the end of the
//! wait is still refused, as `Instant.isAfter`), then turns `HalfOpen`
//! lazily, at the next call that asks; `HalfOpen` lets `halfOpenRequests`
//! trial calls through and decides on their outcome.

use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};

/// Which breaker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum BreakerKind {
    /// Opens after `failureThreshold` consecutive failures (the seed docs'
    /// form; opossum, Polly's basic breaker). One failed trial reopens it;
    /// all trials passing closes it.
    #[default]
    Consecutive,
    /// resilience4j's count-based sliding window: opens when, over the last
    /// `slidingWindowSize` calls (once `minimumNumberOfCalls` have been
    /// seen), the failure rate reaches `failureRateThreshold` percent or the
    /// slow-call rate reaches `slowCallRateThreshold`. Half-open trials are
    /// judged by the same rates.
    FailureRate,
}

/// The `circuitBreaker` block.
///
/// ```json
/// { "circuitBreaker": { "enabled": true, "failureThreshold": 5,
///                       "timeout": "30s", "resetTimeout": "60s" } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// The breaker acts at all (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `consecutive` (default) or `failure-rate` (resilience4j).
    #[serde(default, rename = "type")]
    pub kind: BreakerKind,
    /// Consecutive failures that open a `consecutive` breaker (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// A call slower than this counts as a failure (`consecutive`) or as
    /// slow (`failure-rate`, resilience4j `slowCallDurationThreshold`,
    /// default 60s there); none by default for `consecutive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationStr>,
    /// Time open before trial calls are allowed (default 60s, as
    /// resilience4j `waitDurationInOpenState`).
    #[serde(default = "d60s")]
    pub reset_timeout: DurationStr,
    /// Trial calls allowed while half-open (default 1 for `consecutive`,
    /// 10 for `failure-rate`, as resilience4j).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_open_requests: Option<u32>,
    /// `failure-rate`: calls in the window (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_size: Option<u32>,
    /// `failure-rate`: calls needed before rates count (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_number_of_calls: Option<u32>,
    /// `failure-rate`: percent of failed calls that opens (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_rate_threshold: Option<f64>,
    /// `failure-rate`: percent of slow calls that opens (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_call_rate_threshold: Option<f64>,
}

fn yes() -> bool {
    true
}
fn d60s() -> DurationStr {
    DurationStr(Nanos::from_secs(60))
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            enabled: true,
            kind: BreakerKind::Consecutive,
            failure_threshold: None,
            timeout: None,
            reset_timeout: d60s(),
            half_open_requests: None,
            sliding_window_size: None,
            minimum_number_of_calls: None,
            failure_rate_threshold: None,
            slow_call_rate_threshold: None,
        }
    }
}

impl CircuitBreakerConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // Keys of the other kind of breaker would change nothing.
        let rate_keys = [
            ("slidingWindowSize", self.sliding_window_size.is_some()),
            (
                "minimumNumberOfCalls",
                self.minimum_number_of_calls.is_some(),
            ),
            (
                "failureRateThreshold",
                self.failure_rate_threshold.is_some(),
            ),
            (
                "slowCallRateThreshold",
                self.slow_call_rate_threshold.is_some(),
            ),
        ];
        match self.kind {
            BreakerKind::Consecutive => {
                if let Some((k, _)) = rate_keys.iter().find(|(_, set)| *set) {
                    return Err(ConfigError::new(
                        k,
                        "is read by `\"type\": \"failure-rate\"` breakers only; this one counts consecutive failures (`failureThreshold`)",
                    ));
                }
            }
            BreakerKind::FailureRate => {
                if self.failure_threshold.is_some() {
                    return Err(ConfigError::new(
                        "failureThreshold",
                        "is read by `consecutive` breakers only; a `failure-rate` breaker opens on `failureRateThreshold` and `slowCallRateThreshold` over `slidingWindowSize` calls",
                    ));
                }
            }
        }
        if self.failure_threshold() == 0 {
            return Err(ConfigError::new("failureThreshold", "must be at least 1"));
        }
        if self.half_open_requests == Some(0) {
            return Err(ConfigError::new("halfOpenRequests", "must be at least 1"));
        }
        if self.sliding_window_size() == 0 {
            return Err(ConfigError::new("slidingWindowSize", "must be at least 1"));
        }
        for (k, v) in [
            ("failureRateThreshold", self.failure_rate_threshold()),
            ("slowCallRateThreshold", self.slow_call_rate_threshold()),
        ] {
            if !(v > 0.0 && v <= 100.0) {
                return Err(ConfigError::new(
                    k,
                    format!("must be a percentage above 0 and at most 100, found {v}"),
                ));
            }
        }
        Ok(())
    }

    /// Consecutive failures that open a `consecutive` breaker (5).
    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold.unwrap_or(5)
    }

    /// Calls in a `failure-rate` breaker's window (100).
    pub fn sliding_window_size(&self) -> u32 {
        self.sliding_window_size.unwrap_or(100)
    }

    /// Calls a `failure-rate` breaker needs before rates count (100).
    pub fn minimum_number_of_calls(&self) -> u32 {
        self.minimum_number_of_calls.unwrap_or(100)
    }

    /// Percent of failed calls that opens a `failure-rate` breaker (50).
    pub fn failure_rate_threshold(&self) -> f64 {
        self.failure_rate_threshold.unwrap_or(50.0)
    }

    /// Percent of slow calls that opens a `failure-rate` breaker (100).
    pub fn slow_call_rate_threshold(&self) -> f64 {
        self.slow_call_rate_threshold.unwrap_or(100.0)
    }

    fn permitted(&self) -> u32 {
        self.half_open_requests.unwrap_or(match self.kind {
            BreakerKind::Consecutive => 1,
            BreakerKind::FailureRate => 10,
        })
    }

    fn slow_threshold(&self) -> Option<Nanos> {
        match (self.timeout, self.kind) {
            (Some(t), _) => Some(t.nanos()),
            (None, BreakerKind::FailureRate) => Some(Nanos::from_secs(60)),
            (None, BreakerKind::Consecutive) => None,
        }
    }
}

/// Where a breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused.
    Open,
    /// A limited number of trial calls pass.
    HalfOpen,
}

/// One circuit breaker (one per backend, or one per upstream).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    cfg: CircuitBreakerConfig,
    state: BreakerState,
    opened_at: Nanos,
    consecutive: u32,
    /// Outcomes in the window: bit 0 failed, bit 1 slow.
    window: Vec<u8>,
    head: usize,
    filled: usize,
    failures: u32,
    slows: u32,
    /// Half-open: trials admitted and trials finished.
    admitted: u32,
    finished: u32,
    trips: u64,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(cfg: CircuitBreakerConfig) -> CircuitBreaker {
        let size = cfg.sliding_window_size() as usize;
        CircuitBreaker {
            window: vec![
                0;
                if cfg.kind == BreakerKind::FailureRate {
                    size
                } else {
                    0
                }
            ],
            cfg,
            state: BreakerState::Closed,
            opened_at: Nanos::ZERO,
            consecutive: 0,
            head: 0,
            filled: 0,
            failures: 0,
            slows: 0,
            admitted: 0,
            finished: 0,
            trips: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.cfg
    }

    /// The state at `now` (an open breaker whose time is up reports
    /// half-open).
    pub fn state(&self, now: Nanos) -> BreakerState {
        match self.state {
            BreakerState::Open if now >= self.reopen_at() => BreakerState::HalfOpen,
            s => s,
        }
    }

    /// The first instant an open breaker lets a trial through: one
    /// nanosecond after `resetTimeout` has passed (resilience4j permits
    /// calls only strictly after the wait).
    pub fn reopen_at(&self) -> Nanos {
        self.opened_at + self.cfg.reset_timeout.nanos() + Nanos(1)
    }

    /// Times it has opened.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// Whether a call would be let through at `now`, without taking a
    /// trial permit.
    pub fn would_permit(&self, now: Nanos) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                self.state == BreakerState::Open || self.admitted < self.cfg.permitted()
            }
        }
    }

    /// Asks to make a call at `now`; in half-open, takes a trial permit.
    pub fn try_acquire(&mut self, now: Nanos) -> bool {
        if self.state == BreakerState::Open && now >= self.reopen_at() {
            self.state = BreakerState::HalfOpen;
            self.admitted = 0;
            self.finished = 0;
            self.clear_window();
        }
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if self.admitted < self.cfg.permitted() {
                    self.admitted += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Reports a call's outcome; returns true when this outcome opened the
    /// breaker. Outcomes of calls that ran while it was open are ignored.
    pub fn record(&mut self, now: Nanos, success: bool, duration: Nanos) -> bool {
        let slow = self.cfg.slow_threshold().is_some_and(|t| duration > t);
        match self.state {
            BreakerState::Open => false,
            BreakerState::Closed => match self.cfg.kind {
                BreakerKind::Consecutive => {
                    if success && !slow {
                        self.consecutive = 0;
                        false
                    } else {
                        self.consecutive += 1;
                        self.consecutive >= self.cfg.failure_threshold() && self.open(now)
                    }
                }
                BreakerKind::FailureRate => {
                    self.push(!success, slow);
                    self.filled
                        >= self
                            .cfg
                            .minimum_number_of_calls()
                            .min(self.cfg.sliding_window_size()) as usize
                        && self.rates_exceeded()
                        && self.open(now)
                }
            },
            BreakerState::HalfOpen => {
                self.finished += 1;
                match self.cfg.kind {
                    BreakerKind::Consecutive => {
                        if !success || slow {
                            self.open(now)
                        } else {
                            if self.finished >= self.cfg.permitted() {
                                self.close();
                            }
                            false
                        }
                    }
                    BreakerKind::FailureRate => {
                        // resilience4j judges the half-open calls in a window
                        // of `permitted` calls, once min(minimumNumberOfCalls,
                        // permitted) of them are in.
                        self.push(!success, slow);
                        let permitted = self.cfg.permitted();
                        let minimum = self.cfg.minimum_number_of_calls().min(permitted);
                        if self.filled.min(self.finished as usize) >= minimum as usize {
                            if self.rates_exceeded() {
                                return self.open(now);
                            }
                            self.close();
                        }
                        false
                    }
                }
            }
        }
    }

    fn open(&mut self, now: Nanos) -> bool {
        self.state = BreakerState::Open;
        self.opened_at = now;
        self.trips += 1;
        true
    }

    fn close(&mut self) {
        self.state = BreakerState::Closed;
        self.consecutive = 0;
        self.clear_window();
    }

    fn clear_window(&mut self) {
        self.window.iter_mut().for_each(|w| *w = 0);
        self.head = 0;
        self.filled = 0;
        self.failures = 0;
        self.slows = 0;
    }

    fn push(&mut self, failed: bool, slow: bool) {
        if self.window.is_empty() {
            return;
        }
        let old = self.window[self.head];
        if self.filled == self.window.len() {
            self.failures -= u32::from(old & 1);
            self.slows -= u32::from(old >> 1);
        } else {
            self.filled += 1;
        }
        self.window[self.head] = u8::from(failed) | (u8::from(slow) << 1);
        self.failures += u32::from(failed);
        self.slows += u32::from(slow);
        self.head = (self.head + 1) % self.window.len();
    }

    fn rates_exceeded(&self) -> bool {
        if self.filled == 0 {
            return false;
        }
        let n = self.filled as f64;
        f64::from(self.failures) * 100.0 / n >= self.cfg.failure_rate_threshold()
            || f64::from(self.slows) * 100.0 / n >= self.cfg.slow_call_rate_threshold()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(x: u64) -> Nanos {
        Nanos::from_secs(x)
    }

    fn consecutive(json: &str) -> CircuitBreaker {
        CircuitBreaker::new(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_and_recovers() {
        let mut b = consecutive(r#"{"failureThreshold": 3, "resetTimeout": "60s"}"#);
        for _ in 0..2 {
            assert!(b.try_acquire(s(0)));
            assert!(!b.record(s(0), false, s(1)));
        }
        assert!(b.record(s(1), false, s(1)), "third failure opens");
        assert!(!b.try_acquire(s(30)));
        assert_eq!(
            b.state(s(61)),
            BreakerState::Open,
            "opened at 1s: open through 61s"
        );
        assert_eq!(b.state(s(61) + Nanos(1)), BreakerState::HalfOpen);
        assert!(b.try_acquire(s(62)), "one trial");
        assert!(!b.try_acquire(s(62)), "only one trial");
        b.record(s(63), true, s(1));
        assert_eq!(b.state(s(63)), BreakerState::Closed);
        assert_eq!(b.trips(), 1);
    }

    #[test]
    fn a_failed_trial_reopens_for_another_reset_timeout() {
        let mut b = consecutive(r#"{"failureThreshold": 1, "resetTimeout": "10s"}"#);
        b.try_acquire(s(0));
        b.record(s(0), false, s(0));
        assert!(b.try_acquire(s(10) + Nanos(1)));
        assert!(b.record(s(11), false, s(1)));
        assert!(!b.try_acquire(s(21)));
        assert!(b.try_acquire(s(21) + Nanos(1)));
        assert_eq!(b.trips(), 2);
    }

    /// resilience4j's breaker in its test setup: failure and slow-call
    /// thresholds 50%, slow above 4s, four half-open calls, five calls
    /// minimum, wait 5s.
    fn r4j() -> CircuitBreaker {
        CircuitBreaker::new(
            serde_json::from_str(
                r#"{"type": "failure-rate", "failureRateThreshold": 50, "slowCallRateThreshold": 50,
                    "timeout": "4s", "halfOpenRequests": 4, "minimumNumberOfCalls": 5,
                    "slidingWindowSize": 10, "resetTimeout": "5s"}"#,
            )
            .unwrap(),
        )
    }

    /// Opens `b` at `at` with five failures.
    fn trip(b: &mut CircuitBreaker, at: Nanos) {
        for _ in 0..5 {
            b.try_acquire(at);
            b.record(at, false, s(0));
        }
        assert_eq!(b.state(at), BreakerState::Open);
    }

    /// `shouldTransitionToHalfOpenAfterWaitDuration`, and the boundary:
    /// `isAfter` is strict, so a call exactly at the end of the wait is
    /// still refused.
    #[test]
    fn resilience4j_half_opens_strictly_after_the_wait() {
        let mut b = r4j();
        trip(&mut b, s(0));
        assert!(!b.try_acquire(s(0)));
        assert!(!b.try_acquire(s(3)));
        assert!(!b.try_acquire(s(5)), "exactly at the end of the wait");
        assert!(b.try_acquire(s(5) + Nanos(1)));
        assert_eq!(b.state(s(5) + Nanos(1)), BreakerState::HalfOpen);
    }

    /// `shouldOnlyPermitFourCallsInHalfOpenState`.
    #[test]
    fn resilience4j_permits_four_half_open_calls() {
        let mut b = r4j();
        trip(&mut b, s(0));
        let t = s(6);
        let got: Vec<bool> = (0..6).map(|_| b.try_acquire(t)).collect();
        assert_eq!(got, [true, true, true, true, false, false]);
    }

    /// `shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold`
    /// (F, F, S, F: 75%) and `...ToClosedStateWhenFailureIsBelowThreshold`
    /// (F, S, S, S: 25%): decided on the fourth call.
    #[test]
    fn resilience4j_half_open_decides_on_the_trial_calls() {
        for (trials, after) in [
            ([false, false, true, false], BreakerState::Open),
            ([false, true, true, true], BreakerState::Closed),
        ] {
            let mut b = r4j();
            trip(&mut b, s(0));
            for (k, ok) in trials.iter().enumerate() {
                assert!(b.try_acquire(s(6)));
                b.record(s(6), *ok, s(0));
                if k < 3 {
                    assert_eq!(b.state(s(6)), BreakerState::HalfOpen, "{trials:?}");
                }
            }
            assert_eq!(b.state(s(6)), after, "{trials:?}");
        }
    }

    /// `shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold`:
    /// three successes of 5s and one of 1s are 75% slow.
    #[test]
    fn resilience4j_slow_trials_reopen() {
        let mut b = r4j();
        trip(&mut b, s(0));
        for d in [5, 5, 5, 1] {
            b.try_acquire(s(6));
            b.record(s(6), true, s(d));
        }
        assert_eq!(b.state(s(6)), BreakerState::Open);
    }

    /// `shouldOpenAfterFailureRateThresholdExceeded2`: the threshold is
    /// reached with `>=` (three failures in six calls is 50%).
    #[test]
    fn resilience4j_opens_at_the_threshold_inclusive() {
        let mut b = r4j();
        for ok in [true, true, true, false, false] {
            assert!(!b.record(s(0), ok, s(0)));
        }
        assert_eq!(b.state(s(0)), BreakerState::Closed, "2 of 5 is 40%");
        assert!(b.record(s(1), false, s(0)));
    }

    #[test]
    fn slow_calls_count_as_failures_when_timeout_is_set() {
        let mut b = consecutive(r#"{"failureThreshold": 2, "timeout": "30s"}"#);
        b.record(s(0), true, s(31));
        assert!(b.record(s(0), true, s(45)));
    }

    #[test]
    fn failure_rate_needs_minimum_calls_then_opens_at_threshold() {
        // resilience4j: window 10, minimum 10, threshold 50%.
        let mut b = CircuitBreaker::new(
            serde_json::from_str(
                r#"{"type": "failure-rate", "slidingWindowSize": 10, "minimumNumberOfCalls": 10, "failureRateThreshold": 50}"#,
            )
            .unwrap(),
        );
        for _ in 0..4 {
            assert!(!b.record(s(0), false, s(0)));
        }
        for _ in 0..5 {
            assert!(!b.record(s(0), true, s(0)));
        }
        // Ten calls, five failures: 50% reaches the threshold.
        assert!(b.record(s(0), false, s(0)));
        assert_eq!(b.state(s(0)), BreakerState::Open);
        // Half-open after 60s: 10 trials decide.
        for _ in 0..10 {
            assert!(b.try_acquire(s(61)));
        }
        assert!(!b.try_acquire(s(61)));
        for _ in 0..10 {
            b.record(s(62), true, s(0));
        }
        assert_eq!(b.state(s(62)), BreakerState::Closed);
    }

    proptest! {
        /// However calls arrive and end, a half-open breaker never admits
        /// more than its permitted trial calls.
        #[test]
        fn half_open_never_admits_more_than_permitted(
            permitted in 1u32..5,
            ops in proptest::collection::vec((0u8..3, 0u64..5), 1..200),
        ) {
            let cfg: CircuitBreakerConfig = serde_json::from_str(&format!(
                r#"{{"failureThreshold": 2, "resetTimeout": "10s", "halfOpenRequests": {permitted}}}"#
            )).unwrap();
            let mut b = CircuitBreaker::new(cfg);
            let mut t = 0u64;
            let mut in_trial = 0u32;
            let mut outstanding = 0u32;
            for (op, dt) in ops {
                t += dt;
                let now = s(t);
                let was_half_open = b.state(now) == BreakerState::HalfOpen;
                match op {
                    0 if b.try_acquire(now) => {
                        outstanding += 1;
                        if was_half_open {
                            in_trial += 1;
                        }
                    }
                    0 => {}
                    _ if outstanding > 0 => {
                        outstanding -= 1;
                        b.record(now, op == 1, Nanos::ZERO);
                    }
                    _ => {}
                }
                if b.state(now) != BreakerState::HalfOpen {
                    in_trial = 0;
                }
                prop_assert!(in_trial <= permitted, "{in_trial} trials admitted, {permitted} permitted");
            }
        }
    }
}

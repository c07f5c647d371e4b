//! Rate limiting, global or per key, with bounded memory.
//!
//! | `strategy` | algorithm | follows |
//! |---|---|---|
//! | `sliding-window` (default) | sliding window counter: `prev * (1 - elapsed/window) + current`, the next window starting at the first request after one ends | Cloudflare pingora `rate.rs` |
//! | `sliding-window-log` | exact log of admitted times | the textbook exact limiter |
//! | `fixed-window` | counter per aligned window | nginx-style fixed windows |
//! | `token-bucket` | `burst` tokens refilled at `requests / window` | the classic bucket |
//! | `gcra` | theoretical arrival time, `T = window / requests`, `tau = T * (burst - 1)` | the `governor` crate |

use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher};

/// The limiting algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum LimiterKind {
    /// Sliding window counter (approximate, O(1) memory per key).
    #[default]
    SlidingWindow,
    /// Exact sliding log (memory per key up to `requests`).
    SlidingWindowLog,
    /// Fixed, aligned windows.
    FixedWindow,
    /// Token bucket.
    TokenBucket,
    /// Generic cell rate algorithm.
    Gcra,
}

/// What a limit is counted per.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RateKey {
    /// One limit for all traffic.
    #[default]
    Global,
    /// Per user.
    User,
    /// Per tenant.
    Tenant,
    /// Per client IP.
    Ip,
}

/// The `rateLimit` block:
///
/// ```json
/// { "rateLimit": { "enabled": true, "requests": 100, "window": "1m",
///                  "strategy": "sliding-window" } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The limit acts at all (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Requests admitted per window.
    pub requests: u32,
    /// The window.
    pub window: DurationStr,
    /// The algorithm (default `sliding-window`).
    #[serde(default)]
    pub strategy: LimiterKind,
    /// What the limit is per (default `global`).
    #[serde(default)]
    pub key: RateKey,
    /// Burst for `token-bucket` and `gcra` (default `requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Most keys tracked at once (default 100,000): idle keys are dropped
    /// first; when every tracked key is busy, a new key shares the
    /// overflow limit.
    #[serde(default = "max_keys")]
    pub max_keys: u32,
}

fn yes() -> bool {
    true
}
fn max_keys() -> u32 {
    100_000
}

impl RateLimitConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.requests == 0 {
            return Err(ConfigError::new("requests", "must be at least 1"));
        }
        if self.window.nanos() == Nanos::ZERO {
            return Err(ConfigError::new("window", "must be longer than 0s"));
        }
        if self.burst == Some(0) {
            return Err(ConfigError::new("burst", "must be at least 1"));
        }
        if self.burst.is_some()
            && !matches!(self.strategy, LimiterKind::TokenBucket | LimiterKind::Gcra)
        {
            return Err(ConfigError::new(
                "burst",
                "applies only to strategies token-bucket and gcra",
            ));
        }
        if self.max_keys == 0 {
            return Err(ConfigError::new("maxKeys", "must be at least 1"));
        }
        Ok(())
    }

    fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.requests)
    }
}

#[derive(Debug, Clone)]
enum KeyState {
    Counter { window: u64, prev: u32, cur: u32 },
    Sliding(Sliding),
    Log(VecDeque<Nanos>),
    Bucket { tokens: f64, at: Nanos },
    Gcra { tat: u64 },
}

/// A rate limiter over any number of keys (one key for a global limit).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    cfg: RateLimitConfig,
    keys: HashMap<u64, (KeyState, Nanos), BuildHasherDefault<DefaultHasher>>,
    /// Shared by keys that arrive while every tracked key is busy.
    overflow: KeyState,
    overflow_at: Nanos,
    rejected: u64,
}

/// The key used when all requests share one limit.
pub const GLOBAL_KEY: u64 = 0;

impl RateLimiter {
    /// A limiter with no history.
    pub fn new(cfg: RateLimitConfig) -> RateLimiter {
        let fresh = RateLimiter::fresh(&cfg, Nanos::ZERO);
        RateLimiter {
            cfg,
            keys: HashMap::default(),
            overflow: fresh,
            overflow_at: Nanos::ZERO,
            rejected: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RateLimitConfig {
        &self.cfg
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Keys tracked now.
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    fn fresh(cfg: &RateLimitConfig, now: Nanos) -> KeyState {
        match cfg.strategy {
            LimiterKind::SlidingWindow => KeyState::Sliding(Sliding::new(now)),
            LimiterKind::FixedWindow => KeyState::Counter {
                window: 0,
                prev: 0,
                cur: 0,
            },
            LimiterKind::SlidingWindowLog => KeyState::Log(VecDeque::new()),
            LimiterKind::TokenBucket => KeyState::Bucket {
                tokens: f64::from(cfg.burst()),
                at: now,
            },
            LimiterKind::Gcra => KeyState::Gcra { tat: now.0 },
        }
    }

    /// Whether a request for `key` at `now` is admitted; an admitted
    /// request is counted. [`admit`](Self::admit) without the retry-after.
    pub fn check(&mut self, now: Nanos, key: u64) -> bool {
        self.decide_for(now, key).0
    }

    /// Admits a request for `key` at `now` (and counts it), or says when
    /// to come back: the earliest time a retry would be admitted if
    /// nothing else arrives meanwhile (what an HTTP `Retry-After` or
    /// governor's `NotUntil` reports). Exact to the nanosecond for every
    /// algorithm: a retry at `now + retry_after` is admitted, one at
    /// `now + retry_after - 1ns` is not.
    pub fn admit(&mut self, now: Nanos, key: u64) -> Admission {
        let (allowed, on_overflow) = self.decide_for(now, key);
        if allowed {
            return Admission::Allowed;
        }
        let st = match self.keys.get(&key) {
            Some((st, _)) if !on_overflow => st,
            _ => &self.overflow,
        };
        Admission::Limited {
            retry_after: retry_after(&self.cfg, st, now),
        }
    }

    /// [`check`](Self::check)'s decision, and whether it was the shared
    /// overflow limit's.
    fn decide_for(&mut self, now: Nanos, key: u64) -> (bool, bool) {
        if !self.keys.contains_key(&key) && self.keys.len() >= self.cfg.max_keys as usize {
            self.drop_idle(now);
        }
        let tracked = self.keys.len() < self.cfg.max_keys as usize || self.keys.contains_key(&key);
        let admitted = if tracked {
            let cfg = &self.cfg;
            let entry = self
                .keys
                .entry(key)
                .or_insert_with(|| (RateLimiter::fresh(cfg, now), now));
            entry.1 = now;
            decide(cfg, &mut entry.0, now)
        } else {
            self.overflow_at = now;
            decide(&self.cfg, &mut self.overflow, now)
        };
        self.rejected += u64::from(!admitted);
        (admitted, !tracked)
    }

    /// Whether [`check`](Self::check) would admit a request for `key` at
    /// `now`, counting nothing: the first phase of several limits applied
    /// at once, where a request refused by one is counted by none (nginx's
    /// `limit_req` with several zones). The keys' states are only read
    /// (a sliding window that would roll is rolled on a copy: pingora's
    /// estimate on the call that rolls differs from the next call's).
    pub fn peek(&mut self, now: Nanos, key: u64) -> bool {
        if let Some(entry) = self.keys.get(&key) {
            return would_admit(&self.cfg, &entry.0, now);
        }
        if self.keys.len() >= self.cfg.max_keys as usize {
            self.drop_idle(now);
        }
        if self.keys.len() < self.cfg.max_keys as usize {
            // A key never seen (or forgotten) starts fresh: it has room.
            return true;
        }
        would_admit(&self.cfg, &self.overflow, now)
    }

    /// Forgets keys not seen for a whole window: their state has fully
    /// recovered, so forgetting changes no decision. Which keys those are
    /// does not depend on the map's order.
    fn drop_idle(&mut self, now: Nanos) {
        let w = self.cfg.window.nanos();
        self.keys
            .retain(|_, (_, seen)| now.saturating_sub(*seen) < w);
    }
}

/// A rate limiter's answer: admitted, or refused with when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admitted (and counted).
    Allowed,
    /// Refused; a retry after `retry_after` from now would be admitted if
    /// nothing else arrives meanwhile.
    Limited {
        /// How long to wait, at least 1ns.
        retry_after: Nanos,
    },
}

impl Admission {
    /// Whether the request was admitted.
    pub fn is_allowed(self) -> bool {
        matches!(self, Admission::Allowed)
    }

    /// How long to wait before retrying; `None` when admitted.
    pub fn retry_after(self) -> Option<Nanos> {
        match self {
            Admission::Allowed => None,
            Admission::Limited { retry_after } => Some(retry_after),
        }
    }
}

/// The least wait after `now` at which state `st` (which refused a request
/// at `now`) admits one, with no request in between.
///
/// Each algorithm's admission only grows with time while nothing arrives,
/// so the exact answer is the least `d` in `1..=bound` with
/// [`would_admit`] at `now + d`, where `bound` is a wait each algorithm is
/// sure to admit by: the next fixed window, the oldest logged request
/// leaving the window, GCRA's `tat - tau`, the sliding window emptied
/// (two windows), a token refilled. Fixed windows, logs and GCRA are found
/// at the bound itself; the float estimates (sliding window, token bucket)
/// by bisection, so the answer agrees with the decision to the nanosecond.
fn retry_after(cfg: &RateLimitConfig, st: &KeyState, now: Nanos) -> Nanos {
    let w = cfg.window.nanos().0;
    let bound = match st {
        KeyState::Counter { window, .. } => ((window + 1) * w).saturating_sub(now.0),
        KeyState::Log(log) => {
            let excess = log.len() + 1 - (cfg.requests as usize).min(log.len() + 1);
            log.get(excess.saturating_sub(1))
                .map_or(1, |t| (t.0 + w).saturating_sub(now.0))
        }
        KeyState::Gcra { tat } => {
            let t = w / u64::from(cfg.requests);
            tat.saturating_sub(t * u64::from(cfg.burst() - 1))
                .saturating_sub(now.0)
        }
        KeyState::Sliding(sl) => (sl.start + 2 * w).saturating_sub(now.0),
        KeyState::Bucket { .. } => w.div_ceil(u64::from(cfg.requests)) + 1,
    }
    .max(1);
    let admits = |d: u64| would_admit(cfg, st, Nanos(now.0 + d));
    debug_assert!(admits(bound), "{st:?} admits by {bound}ns");
    if matches!(
        st,
        KeyState::Counter { .. } | KeyState::Log(_) | KeyState::Gcra { .. }
    ) {
        return Nanos(bound);
    }
    let (mut lo, mut hi) = (0u64, bound);
    // Invariant: `lo` refuses (or is 0), `hi` admits.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if admits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Nanos(hi)
}

/// What [`decide`] would answer at `now`, reading the state only.
fn would_admit(cfg: &RateLimitConfig, st: &KeyState, now: Nanos) -> bool {
    let limit = cfg.requests;
    let w = cfg.window.nanos().0;
    match st {
        KeyState::Counter { window, cur, .. } => now.0 / w != *window || *cur < limit,
        KeyState::Sliding(sl) => {
            let mut sl = *sl;
            sl.estimate(now, w) + 1.0 <= f64::from(limit)
        }
        KeyState::Log(log) => {
            let expired = log.partition_point(|t| now.0.saturating_sub(t.0) >= w);
            log.len() - expired < limit as usize
        }
        KeyState::Bucket { tokens, at } => {
            let rate = f64::from(limit) / w as f64;
            (*tokens + (now - *at).0 as f64 * rate).min(f64::from(cfg.burst())) >= 1.0
        }
        KeyState::Gcra { tat } => {
            let t = w / u64::from(limit);
            let tau = t * u64::from(cfg.burst() - 1);
            now.0 >= tat.saturating_sub(tau)
        }
    }
}

fn decide(cfg: &RateLimitConfig, st: &mut KeyState, now: Nanos) -> bool {
    let limit = cfg.requests;
    let w = cfg.window.nanos().0;
    match st {
        KeyState::Counter { window, prev, cur } => {
            let idx = now.0 / w;
            if idx != *window {
                *prev = if idx == *window + 1 { *cur } else { 0 };
                *cur = 0;
                *window = idx;
            }
            if *cur < limit {
                *cur += 1;
                true
            } else {
                false
            }
        }
        KeyState::Sliding(sl) => {
            if sl.estimate(now, w) + 1.0 <= f64::from(limit) {
                sl.cur += 1;
                true
            } else {
                false
            }
        }
        KeyState::Log(log) => {
            while log.front().is_some_and(|t| now.0.saturating_sub(t.0) >= w) {
                log.pop_front();
            }
            if log.len() < limit as usize {
                log.push_back(now);
                true
            } else {
                false
            }
        }
        KeyState::Bucket { tokens, at } => {
            let rate = f64::from(limit) / w as f64;
            *tokens = (*tokens + (now - *at).0 as f64 * rate).min(f64::from(cfg.burst()));
            *at = now;
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        }
        KeyState::Gcra { tat } => {
            // governor: T = period / n; tau = T * (burst - 1).
            let t = w / u64::from(limit);
            let tau = t * u64::from(cfg.burst() - 1);
            if now.0 < tat.saturating_sub(tau) {
                false
            } else {
                *tat = (*tat).max(now.0) + t;
                true
            }
        }
    }
}

/// pingora's `Rate` for one key: two windows of counts, the current one
/// starting at the first call after the previous one lasted a whole
/// window (not on a grid aligned to time zero).
#[derive(Debug, Clone, Copy)]
struct Sliding {
    start: u64,
    prev: u32,
    cur: u32,
}

impl Sliding {
    fn new(now: Nanos) -> Sliding {
        Sliding {
            start: now.0,
            prev: 0,
            cur: 0,
        }
    }

    /// pingora's `maybe_reset`: rolls the windows when the current one has
    /// lasted `w`, and returns the time into the window *before* the roll.
    fn roll(&mut self, now: Nanos, w: u64) -> u64 {
        let past = now.0.saturating_sub(self.start);
        if past >= w {
            self.prev = if past >= 2 * w { 0 } else { self.cur };
            self.cur = 0;
            self.start = now.0;
        }
        past
    }

    /// pingora's `rate_with` and its proportional estimate, as a count
    /// per window: `prev * (1 - fraction) + current`, where the fraction of
    /// the window elapsed comes from the time before a roll (pingora's own
    /// quirk: on the call that rolls, it is `(past % window) / window`).
    fn estimate(&mut self, now: Nanos, w: u64) -> f64 {
        let past = self.roll(now, w);
        if past >= 2 * w {
            return 0.0;
        }
        let fraction = (past % w) as f64 / w as f64;
        f64::from(self.prev) * (1.0 - fraction) + f64::from(self.cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// pingora `test_observe_rate_custom_proportional` (interval 1s, the
    /// proportional estimate), as a timeline in milliseconds.
    #[test]
    fn sliding_window_matches_pingoras_rate_tests() {
        let w = 1_000_000_000;
        let mut r = Sliding::new(ms(0));
        let observe = |r: &mut Sliding, t: u64, n: u32| {
            r.roll(ms(t), w);
            r.cur += n;
        };
        observe(&mut r, 0, 3);
        observe(&mut r, 0, 2);
        assert_eq!(r.estimate(ms(0), w), 5.0);
        assert_eq!(r.estimate(ms(500), w), 5.0);
        observe(&mut r, 1000, 4);
        assert_eq!(r.estimate(ms(1000), w), 9.0);
        assert_eq!(r.estimate(ms(1750), w), 5.25);
        assert_eq!(r.estimate(ms(2000), w), 4.0);
        assert_eq!(r.estimate(ms(2500), w), 2.0);
        assert_eq!(r.estimate(ms(3500), w), 0.0);
        // Windows follow the traffic, not a grid: a request at 1.7s starts
        // the window [1.7s, 2.7s).
        let mut r = Sliding::new(ms(0));
        observe(&mut r, 0, 1);
        observe(&mut r, 1700, 2);
        assert_eq!(r.start, ms(1700).0);
        assert_eq!(r.estimate(ms(2699), w), 1.0 * (1.0 - 0.999) + 2.0);
    }

    fn limiter(json: &str) -> RateLimiter {
        let c: RateLimitConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        RateLimiter::new(c)
    }

    fn ms(x: u64) -> Nanos {
        Nanos::from_millis(x)
    }

    #[test]
    fn sliding_counter_weights_the_previous_window() {
        // pingora: 10 per second. The first request (0.1s) starts the
        // window [0.1s, 1.1s); the first request at or after 1.1s starts
        // the next; at 1.6s the estimate is 10 * 0.5 + 0 = 5, so 5 pass.
        let mut l = limiter(r#"{"requests": 10, "window": "1s"}"#);
        for _ in 0..10 {
            assert!(l.check(ms(100), GLOBAL_KEY));
        }
        assert!(!l.check(ms(1000), GLOBAL_KEY), "still the first window");
        assert!(!l.check(ms(1100), GLOBAL_KEY), "rolls: 10 * (1 - 0) + 0");
        let passed = (0..10).filter(|_| l.check(ms(1600), GLOBAL_KEY)).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn gcra_matches_governor_semantics() {
        // governor: quota 5 per second with burst 5: five at once, then one
        // every 200ms.
        let mut l = limiter(r#"{"requests": 5, "window": "1s", "strategy": "gcra"}"#);
        for _ in 0..5 {
            assert!(l.check(ms(0), GLOBAL_KEY));
        }
        assert!(!l.check(ms(0), GLOBAL_KEY));
        assert!(!l.check(ms(199), GLOBAL_KEY));
        assert!(l.check(ms(200), GLOBAL_KEY));
        assert!(!l.check(ms(200), GLOBAL_KEY));
    }

    /// For every algorithm, over random timelines: a refused request's
    /// retry-after is exact (a retry then is admitted, one 1ns earlier is
    /// not), and `check` decides as `admit` does.
    #[test]
    fn retry_after_is_exact_for_every_algorithm() {
        use rand::{Rng, SeedableRng};
        let configs = [
            r#"{"requests": 3, "window": "1s", "strategy": "sliding-window"}"#,
            r#"{"requests": 3, "window": "1s", "strategy": "sliding-window-log"}"#,
            r#"{"requests": 3, "window": "1s", "strategy": "fixed-window"}"#,
            r#"{"requests": 3, "window": "1s", "strategy": "token-bucket", "burst": 2}"#,
            r#"{"requests": 3, "window": "1s", "strategy": "gcra", "burst": 2}"#,
            r#"{"requests": 7, "window": "1300ms", "strategy": "token-bucket"}"#,
            r#"{"requests": 7, "window": "1300ms", "strategy": "sliding-window"}"#,
        ];
        for json in configs {
            for seed in 0..20 {
                let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
                let (mut l, mut plain) = (limiter(json), limiter(json));
                let mut now = 0u64;
                let mut limited = 0;
                for _ in 0..300 {
                    now += r.random_range(0..150_000_000u64);
                    let t = Nanos(now);
                    let got = l.admit(t, GLOBAL_KEY);
                    assert_eq!(got.is_allowed(), plain.check(t, GLOBAL_KEY), "{json}");
                    let Some(ra) = got.retry_after() else {
                        continue;
                    };
                    limited += 1;
                    assert!(ra > Nanos::ZERO);
                    let at = Nanos(now + ra.0);
                    assert!(
                        l.clone().check(at, GLOBAL_KEY),
                        "{json} seed {seed}: at {ra:?}"
                    );
                    assert!(
                        !l.clone().check(Nanos(at.0 - 1), GLOBAL_KEY),
                        "{json} seed {seed}: 1ns before {ra:?}"
                    );
                }
                assert!(limited > 0, "{json}: the timeline never hit the limit");
            }
        }
    }

    /// governor's `rejects_too_many` (quota 2 per second, burst 2) and its
    /// `NotUntil::wait_time_from`: the wait is until the next cell
    /// conforms, at `tat - tau`.
    #[test]
    fn gcra_retry_after_matches_governor() {
        let mut l = limiter(r#"{"requests": 2, "window": "1s", "strategy": "gcra"}"#);
        assert!(l.admit(ms(0), GLOBAL_KEY).is_allowed());
        assert!(l.admit(ms(1), GLOBAL_KEY).is_allowed());
        // The next cell conforms at tat - tau = 1000ms - 500ms.
        assert_eq!(
            l.admit(ms(2), GLOBAL_KEY),
            Admission::Limited {
                retry_after: ms(498)
            }
        );
        assert!(l.admit(ms(1002), GLOBAL_KEY).is_allowed());
        assert!(l.admit(ms(1003), GLOBAL_KEY).is_allowed());
        assert_eq!(
            l.admit(ms(1004), GLOBAL_KEY),
            Admission::Limited {
                retry_after: ms(498)
            }
        );
    }

    #[test]
    fn fixed_window_and_log_wait_for_the_window_or_the_oldest_request() {
        let mut l = limiter(r#"{"requests": 2, "window": "1s", "strategy": "fixed-window"}"#);
        assert!(l.check(ms(100), 1) && l.check(ms(300), 1));
        assert_eq!(l.admit(ms(400), 1).retry_after(), Some(ms(600)));
        let mut l = limiter(r#"{"requests": 2, "window": "1s", "strategy": "sliding-window-log"}"#);
        assert!(l.check(ms(100), 1) && l.check(ms(300), 1));
        assert_eq!(l.admit(ms(400), 1).retry_after(), Some(ms(700)));
    }

    #[test]
    fn token_bucket_refills_at_the_rate() {
        let mut l =
            limiter(r#"{"requests": 2, "window": "1s", "strategy": "token-bucket", "burst": 4}"#);
        assert_eq!((0..6).filter(|_| l.check(ms(0), 1)).count(), 4);
        assert!(!l.check(ms(400), 1));
        assert!(l.check(ms(500), 1));
    }

    /// `peek` answers what `check` would, counts nothing, and a request
    /// admitted by peeking then checking is counted once.
    #[test]
    fn peek_predicts_check_and_counts_nothing() {
        for strategy in [
            "sliding-window",
            "sliding-window-log",
            "fixed-window",
            "token-bucket",
            "gcra",
        ] {
            let json = format!(
                r#"{{"requests": 3, "window": "1s", "strategy": "{strategy}", "maxKeys": 2}}"#
            );
            let mut a = limiter(&json);
            let mut b = limiter(&json);
            let mut admitted = 0;
            // Bursts of 5 every 300ms over 4s, then irregular times, over 3
            // keys (one overflows).
            let times = (0..14u64)
                .flat_map(|step| (0..5u64).map(move |k| (step * 300 + k, k % 3)))
                .chain((0..200u64).map(|i| (4_500 + i * 61 + (i * 7_919) % 53, i % 3)));
            {
                for (t, key) in times {
                    let t = ms(t);
                    for _ in 0..3 {
                        assert!(a.peek(t, key) || !b.check_clone(t, key), "{strategy}");
                    }
                    let peeked = a.peek(t, key);
                    let checked = a.check(t, key);
                    assert_eq!(peeked, checked, "{strategy} at {t:?} key {key}");
                    assert_eq!(
                        checked,
                        b.check(t, key),
                        "{strategy}: peeking changed a decision"
                    );
                    admitted += u32::from(checked);
                }
            }
            assert!(admitted > 30 && admitted < 200, "{strategy}: {admitted}");
            assert_eq!(a.rejected(), b.rejected(), "{strategy}");
        }
    }

    /// pingora's estimate on the call that rolls the window weighs the
    /// previous window by the time before the roll; the next call at the
    /// same instant weighs it fully. Peeking must not roll it.
    #[test]
    fn peeking_does_not_roll_a_sliding_window() {
        let mut l = limiter(r#"{"requests": 3, "window": "1s"}"#);
        for t in [0, 100, 200] {
            assert!(l.check(ms(t), 7));
        }
        // At 1.5s the roll weighs the 3 previous requests by 0.5: 1.5 + 1
        // fits under 3.
        let mut direct = l.clone();
        assert!(direct.check(ms(1500), 7));
        assert!(l.peek(ms(1500), 7));
        assert!(l.check(ms(1500), 7), "peeking rolled the window");
    }

    impl RateLimiter {
        /// What `check` would answer, on a copy.
        fn check_clone(&self, now: Nanos, key: u64) -> bool {
            self.clone().check(now, key)
        }
    }

    #[test]
    fn keys_are_limited_separately() {
        let mut l = limiter(r#"{"requests": 1, "window": "1m", "key": "user"}"#);
        assert!(l.check(ms(0), 1));
        assert!(!l.check(ms(1), 1));
        assert!(l.check(ms(2), 2));
    }

    #[test]
    fn memory_is_bounded_by_max_keys() {
        let mut l = limiter(
            r#"{"requests": 1, "window": "1s", "key": "ip", "maxKeys": 100, "strategy": "sliding-window-log"}"#,
        );
        for k in 0..10_000u64 {
            l.check(ms(k), k);
            assert!(l.tracked_keys() <= 100);
        }
    }

    #[test]
    fn rejects_bad_config_naming_the_key() {
        let c: RateLimitConfig =
            serde_json::from_str(r#"{"requests": 0, "window": "1s"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "requests");
        let c: RateLimitConfig =
            serde_json::from_str(r#"{"requests": 5, "window": "1s", "burst": 3}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "burst");
    }

    /// The most admissions any `window`-long interval holds.
    fn max_in_any_window(times: &[u64], w: u64) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= w {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    proptest! {
        /// The exact limiters never admit more than their bound in any
        /// window: the log exactly `requests`; the bucket and GCRA at most
        /// `burst` plus what the rate refills in one window.
        #[test]
        fn limiters_never_exceed_their_bound_in_any_window(
            limit in 1u32..20,
            gaps in proptest::collection::vec(0u64..300, 1..400),
        ) {
            for strategy in ["sliding-window-log", "token-bucket", "gcra", "fixed-window", "sliding-window"] {
                let mut l = limiter(&format!(r#"{{"requests": {limit}, "window": "1s", "strategy": "{strategy}"}}"#));
                let mut t = 0;
                let mut admitted = vec![];
                for g in &gaps {
                    t += g;
                    if l.check(ms(t), GLOBAL_KEY) {
                        admitted.push(ms(t).0);
                    }
                }
                let most = max_in_any_window(&admitted, 1_000_000_000);
                let bound = match strategy {
                    "sliding-window-log" => limit as usize,
                    // Fixed windows famously allow twice the limit across a boundary.
                    "fixed-window" | "sliding-window" => 2 * limit as usize,
                    _ => 2 * limit as usize,
                };
                prop_assert!(most <= bound, "{strategy}: {most} in one window, bound {bound}");
            }
        }
    }
}

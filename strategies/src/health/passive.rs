//! Passive health as the seed docs' proxies do it: nginx `max_fails` /
//! `fail_timeout` and Caddy `fail_duration` / `max_fails`.
//!
//! Both count what the proxy sees go wrong with the *connection* —
//! refused or reset connections and timeouts — and not application errors,
//! which nginx counts only when `proxy_next_upstream` lists them and Caddy
//! only when `unhealthy_status` does (`countApplicationErrors`). So a
//! healthy fleet whose LLM calls fail 1% of the time is not taken out of
//! rotation, which a consecutive-error detector would do.
//!
//! **nginx** (`ngx_http_upstream_round_robin.c`), per backend: a counted
//! failure does `fails += 1; accessed = checked = now`. The backend is
//! skipped while `fails >= maxFails` and `now - checked <= failTimeout`.
//! Any pick of a backend more than `failTimeout` after `checked` sets
//! `checked = now`, so once the timeout has passed exactly one request
//! probes it before it is skipped again; a success resets `fails` only
//! when `accessed < checked` (a success after such a probe). Failures never
//! decay with time, and an upstream of one server is never skipped.
//!
//! **Caddy** (`reverseproxy/healthchecks.go`, `hosts.go`): each counted
//! failure is a strike remembered for `failDuration`; a backend is
//! unavailable while it has `maxFails` strikes or more, and gets its full
//! share back the moment it has fewer. Successes change nothing.

use crate::{ConfigError, DurationStr, Nanos};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How one attempt on a backend ended, as a proxy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A response that counts as success.
    Success,
    /// The backend answered with an error (an HTTP 5xx; a failed LLM call).
    ApplicationError,
    /// The connection was refused or reset.
    ConnectFailure,
    /// No answer in time (connect, queue or read timeout).
    Timeout,
}

impl AttemptOutcome {
    /// Whether the attempt succeeded.
    pub fn is_success(self) -> bool {
        self == AttemptOutcome::Success
    }
}

/// Which proxy's passive health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PassiveKind {
    /// nginx `max_fails` / `fail_timeout` (on by default in nginx: 1 / 10s).
    #[default]
    Nginx,
    /// Caddy `fail_duration` / `max_fails`.
    Caddy,
}

/// The `passiveHealth` block:
///
/// ```json
/// { "passiveHealth": { "type": "nginx", "maxFails": 3, "failTimeout": "30s" } }
/// { "passiveHealth": { "type": "caddy", "failDuration": "30s" } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassiveHealthConfig {
    /// Acts at all (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `nginx` (default) or `caddy`.
    #[serde(default, rename = "type")]
    pub kind: PassiveKind,
    /// Failures that take a backend out (default 1 for both proxies).
    #[serde(default = "one")]
    pub max_fails: u32,
    /// nginx: how long a failed backend is skipped, and the window its
    /// failures must fall in (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_timeout: Option<DurationStr>,
    /// Caddy: how long a failure is remembered; required (Caddy's passive
    /// checks are off without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_duration: Option<DurationStr>,
    /// Count application errors too (nginx `proxy_next_upstream http_500`,
    /// Caddy `unhealthy_status 5xx`); default false.
    #[serde(default)]
    pub count_application_errors: bool,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

impl PassiveHealthConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_fails == 0 {
            return Err(ConfigError::new(
                "maxFails",
                "must be at least 1 (set `enabled: false` to turn passive health off)",
            ));
        }
        match self.kind {
            PassiveKind::Nginx => {
                if self.fail_duration.is_some() {
                    return Err(ConfigError::new(
                        "failDuration",
                        "is Caddy's key; nginx takes `failTimeout`",
                    ));
                }
                if self.fail_timeout.is_some_and(|t| t.nanos() == Nanos::ZERO) {
                    return Err(ConfigError::new("failTimeout", "must be longer than 0s"));
                }
            }
            PassiveKind::Caddy => {
                if self.fail_timeout.is_some() {
                    return Err(ConfigError::new(
                        "failTimeout",
                        "is nginx's key; Caddy takes `failDuration`",
                    ));
                }
                match self.fail_duration {
                    None => {
                        return Err(ConfigError::new(
                            "failDuration",
                            "required for `caddy` (Caddy's passive checks are off without it), e.g. \"30s\"",
                        ))
                    }
                    Some(d) if d.nanos() == Nanos::ZERO => {
                        return Err(ConfigError::new("failDuration", "must be longer than 0s"))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// nginx's `fail_timeout` or Caddy's `fail_duration`.
    pub fn window(&self) -> Nanos {
        match self.kind {
            PassiveKind::Nginx => self
                .fail_timeout
                .map_or(Nanos::from_secs(10), |d| d.nanos()),
            PassiveKind::Caddy => self.fail_duration.map_or(Nanos::ZERO, |d| d.nanos()),
        }
    }

    /// Whether `outcome` is a failure this proxy counts.
    pub fn counts(&self, outcome: AttemptOutcome) -> bool {
        match outcome {
            AttemptOutcome::Success => false,
            AttemptOutcome::ApplicationError => self.count_application_errors,
            AttemptOutcome::ConnectFailure | AttemptOutcome::Timeout => true,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct NginxPeer {
    fails: u32,
    accessed: Nanos,
    checked: Nanos,
}

/// Passive health of a set of backends (nginx or Caddy).
#[derive(Debug, Clone)]
pub struct PassiveHealth {
    cfg: PassiveHealthConfig,
    window: Nanos,
    nginx: Vec<NginxPeer>,
    /// Caddy: each backend's strikes, by the time they expire (ascending).
    strikes: Vec<VecDeque<Nanos>>,
}

impl PassiveHealth {
    /// Passive health over `n` backends, all available.
    pub fn new(cfg: PassiveHealthConfig, n: usize) -> PassiveHealth {
        let window = cfg.window();
        let (nginx, strikes) = match cfg.kind {
            PassiveKind::Nginx => (vec![NginxPeer::default(); n], Vec::new()),
            PassiveKind::Caddy => (Vec::new(), vec![VecDeque::new(); n]),
        };
        PassiveHealth {
            cfg,
            window,
            nginx,
            strikes,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PassiveHealthConfig {
        &self.cfg
    }

    /// Backend `i` was replaced by a new one: its failures are forgotten.
    pub fn forget(&mut self, i: usize) {
        if let Some(p) = self.nginx.get_mut(i) {
            *p = NginxPeer::default();
        }
        if let Some(s) = self.strikes.get_mut(i) {
            s.clear();
        }
    }

    /// Whether backend `i` may be picked at `now`.
    pub fn is_available(&self, i: usize, now: Nanos) -> bool {
        match self.cfg.kind {
            PassiveKind::Nginx => {
                let p = &self.nginx[i];
                // nginx: an upstream of one server is never marked down.
                self.nginx.len() == 1
                    || p.fails < self.cfg.max_fails
                    || now - p.checked > self.window
            }
            PassiveKind::Caddy => self.live_strikes(i, now) < self.cfg.max_fails as usize,
        }
    }

    fn live_strikes(&self, i: usize, now: Nanos) -> usize {
        let s = &self.strikes[i];
        s.len() - s.partition_point(|&t| t <= now)
    }

    /// Backend `i` was picked at `now` (nginx marks the probe after a
    /// timeout, so no other request follows it until it answers).
    pub fn on_pick(&mut self, i: usize, now: Nanos) {
        if let Some(p) = self.nginx.get_mut(i) {
            if now - p.checked > self.window {
                p.checked = now;
            }
        }
    }

    /// An attempt on backend `i` ended at `now` with `outcome`.
    pub fn record(&mut self, i: usize, now: Nanos, outcome: AttemptOutcome) {
        let failed = self.cfg.counts(outcome);
        match self.cfg.kind {
            PassiveKind::Nginx => {
                let p = &mut self.nginx[i];
                if failed {
                    p.fails = p.fails.saturating_add(1);
                    p.accessed = now;
                    p.checked = now;
                } else if p.accessed < p.checked {
                    p.fails = 0;
                }
            }
            PassiveKind::Caddy => {
                let s = &mut self.strikes[i];
                while s.front().is_some_and(|&t| t <= now) {
                    s.pop_front();
                }
                if failed {
                    s.push_back(now + self.window);
                }
            }
        }
    }

    /// When an unavailable backend `i` may become available again without
    /// anything else happening (the caller re-checks then), or `None` while
    /// it is available.
    pub fn next_change(&self, i: usize, now: Nanos) -> Option<Nanos> {
        if self.is_available(i, now) {
            return None;
        }
        match self.cfg.kind {
            PassiveKind::Nginx => Some(self.nginx[i].checked + self.window + Nanos(1)),
            PassiveKind::Caddy => {
                let s = &self.strikes[i];
                let first_live = s.partition_point(|&t| t <= now);
                let live = s.len() - first_live;
                // Available once live strikes drop below maxFails.
                let k = live - self.cfg.max_fails as usize;
                s.get(first_live + k).copied()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> Nanos {
        Nanos::from_secs(x)
    }

    fn passive(json: &str, n: usize) -> PassiveHealth {
        let cfg: PassiveHealthConfig = serde_json::from_str(json).unwrap();
        cfg.validate().unwrap();
        PassiveHealth::new(cfg, n)
    }

    use AttemptOutcome::*;

    /// nginx defaults (max_fails=1, fail_timeout=10s), upstream {A, B}: A
    /// refuses connections from t=0 (the timeline of nginx's round-robin
    /// module: skip for fail_timeout, one probe, back on a success).
    #[test]
    fn nginx_skips_for_fail_timeout_then_probes_once() {
        let mut p = passive("{}", 2);
        p.on_pick(0, s(0));
        p.record(0, s(0), ConnectFailure);
        assert!(!p.is_available(0, s(1)));
        assert!(!p.is_available(0, s(10)), "now - checked <= fail_timeout");
        assert_eq!(p.next_change(0, s(5)), Some(s(10) + Nanos(1)));
        assert!(p.is_available(0, s(11)));
        // The probe at 11s: checked = 11, so others skip it again.
        p.on_pick(0, s(11));
        assert!(!p.is_available(0, s(11)));
        p.record(0, s(11), ConnectFailure);
        assert!(!p.is_available(0, s(21)));
        p.on_pick(0, s(22));
        p.record(0, s(22), Success);
        assert!(p.is_available(0, s(22)), "a successful probe resets fails");
    }

    /// nginx `max_fails=3 fail_timeout=30s` (the Azcore doc): successes in
    /// between do not reset the count, so fail, ok, fail, ok, fail within
    /// 30s takes the server out.
    #[test]
    fn nginx_successes_within_the_timeout_do_not_reset() {
        let mut p = passive(r#"{"maxFails": 3, "failTimeout": "30s"}"#, 4);
        for (t, o) in [
            (0, ConnectFailure),
            (1, Success),
            (2, Timeout),
            (3, Success),
            (4, ConnectFailure),
        ] {
            p.on_pick(1, s(t));
            p.record(1, s(t), o);
        }
        assert!(!p.is_available(1, s(5)));
        assert!(p.is_available(1, s(35)));
    }

    #[test]
    fn nginx_never_marks_a_single_server_down() {
        let mut p = passive("{}", 1);
        p.record(0, s(0), ConnectFailure);
        assert!(p.is_available(0, s(0)));
    }

    #[test]
    fn application_errors_count_only_when_asked() {
        let mut p = passive("{}", 2);
        p.record(0, s(0), ApplicationError);
        assert!(
            p.is_available(0, s(0)),
            "an LLM error is not a connection failure"
        );
        let mut p = passive(r#"{"countApplicationErrors": true}"#, 2);
        p.record(0, s(0), ApplicationError);
        assert!(!p.is_available(0, s(0)));
    }

    /// Caddy `max_fails 3, fail_duration 10s`: strikes at 0, 4 and 8 take
    /// the host out at 8 and give it back at 10, when the first expires,
    /// whatever successes came in between.
    #[test]
    fn caddy_remembers_each_strike_for_fail_duration() {
        let mut p = passive(
            r#"{"type": "caddy", "maxFails": 3, "failDuration": "10s"}"#,
            3,
        );
        for t in [0, 4, 8] {
            p.record(2, s(t), ConnectFailure);
            p.record(2, s(t), Success);
        }
        assert!(!p.is_available(2, s(8)));
        assert_eq!(p.next_change(2, s(8)), Some(s(10)));
        assert!(!p.is_available(2, s(9)));
        assert!(p.is_available(2, s(10)));
    }

    /// The General Bots doc's `/api/*` block: `fail_duration 30s`, default
    /// max_fails 1: out for exactly 30s after the last strike.
    #[test]
    fn caddy_general_bots_api_block() {
        let mut p = passive(r#"{"type": "caddy", "failDuration": "30s"}"#, 3);
        p.record(0, s(0), ConnectFailure);
        assert!(!p.is_available(0, s(29)));
        assert!(p.is_available(0, s(30)));
    }

    #[test]
    fn keys_of_the_other_proxy_are_refused() {
        let c: PassiveHealthConfig =
            serde_json::from_str(r#"{"type": "caddy", "failTimeout": "10s"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "failTimeout");
        let c: PassiveHealthConfig = serde_json::from_str(r#"{"type": "caddy"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "failDuration");
        let c: PassiveHealthConfig = serde_json::from_str(r#"{"failDuration": "10s"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "failDuration");
    }
}

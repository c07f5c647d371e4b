//! nginx: an `upstream` and the locations that `proxy_pass` to it.
//!
//! The fragment is what nginx does with the file, its defaults included:
//! an upstream whose servers say nothing of `max_fails` still takes a
//! failing server out for 10 s, and a request that fails to connect still
//! goes to the next server. Reference: the nginx documentation of
//! `ngx_http_upstream_module`, `ngx_http_proxy_module`,
//! `ngx_http_limit_req_module` and `ngx_http_limit_conn_module`; the
//! `check` directive of the nginx_upstream_check_module (Tengine), and
//! `sticky` and `health_check` of nginx Plus.
//!
//! | directive | becomes |
//! |---|---|
//! | `upstream NAME` and its `server`s | `deployment.regions.NAME.instances` (servers not `down` nor `backup`), instance `NAME/i` for the i-th |
//! | `server … weight=` | `loadBalancing.weighted` (and `strategy: weighted` for round robin) |
//! | `least_conn`, `ip_hash`, `hash … consistent`, `random`, `random two` | `loadBalancing.strategy` |
//! | `server … max_fails= fail_timeout=` (default 1 and 10s) | `passiveHealth` (`type: nginx`) |
//! | `server … max_conns=` | `limits.maxConnectionsPerInstance` |
//! | `proxy_next_upstream`, `proxy_next_upstream_tries` | `retries` (at once, no backoff) |
//! | `proxy_read_timeout` (default 60s) | `limits.requestTimeout` |
//! | `limit_req_zone` + `limit_req` | `rateLimits.ZONE` (`gcra`) |
//! | `limit_conn_zone` + `limit_conn` on a fleet-wide key | `limits.maxConnections` |
//! | `check` (Tengine), `health_check` (Plus) | `healthCheck` |
//! | `sticky cookie` (Plus) | `loadBalancing.sessionAffinity` |

use super::conf::{self, Directive, Word};
use super::{native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use std::path::Path;

/// Reads the upstream `wanted` (or the file's only one) and what proxies
/// to it.
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let tree =
        conf::parse(text).map_err(|e| native_error(path, Format::Nginx, &e.at, e.message))?;
    let mut walk = Walk::default();
    walk.visit(&tree, &mut Vec::new());
    let up = choose(path, &walk.upstreams, wanted)?;
    let name = up.arg(0).unwrap_or_default().to_string();
    let mut r = Reader {
        path,
        name: name.clone(),
        up_at: up.name.at.clone(),
        report: Vec::new(),
        dep: Map::new(),
        seen: Vec::new(),
    };
    let servers = r.upstream(up)?;
    let chain = walk
        .proxies
        .iter()
        .find(|(target, _)| *target == name)
        .map(|(_, c)| c.clone());
    if let Some(others) = walk.proxies.iter().filter(|(t, _)| *t == name).nth(1) {
        let at = others.1.last().map_or(&up.name.at, |d| &d.name.at);
        r.push_at(
            at.clone(),
            "proxy_pass".into(),
            Outcome::Unsupported {
                lost: format!(
                    "more than one location proxies to `{name}`; the settings of the first one are read, each location's requests are one workload"
                ),
            },
        );
    }
    r.proxy_settings(chain.as_deref(), &walk, servers);
    // Every other directive of the file, accounted for.
    for d in &walk.leaves {
        if !r.seen.iter().any(|s| std::ptr::eq(*s, *d)) {
            let outcome = match ignored_why(&d.name.text) {
                Some(why) => Outcome::Ignored { why: why.into() },
                None => Outcome::Ignored {
                    why: format!("not on the way to upstream `{name}`"),
                },
            };
            r.push(d, outcome);
        }
    }
    r.report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Nginx,
        source: format!("upstream {name}"),
        fragment: json!({ "deployment": Value::Object(r.dep) }),
        report: r.report,
    })
}

/// What the file holds, found in one pass.
#[derive(Default)]
struct Walk<'a> {
    upstreams: Vec<&'a Directive>,
    /// Each `proxy_pass` target and the directives from the top level down
    /// to it (its contexts and then the `proxy_pass` itself).
    proxies: Vec<(String, Vec<&'a Directive>)>,
    /// `limit_req_zone` and `limit_conn_zone` definitions.
    zones: Vec<&'a Directive>,
    /// Every directive without a block, outside upstreams.
    leaves: Vec<&'a Directive>,
}

impl<'a> Walk<'a> {
    fn visit(&mut self, ds: &'a [Directive], up: &mut Vec<&'a Directive>) {
        for d in ds {
            match (&d.block, d.name.text.as_str()) {
                (Some(_), "upstream") => self.upstreams.push(d),
                (Some(b), _) => {
                    up.push(d);
                    self.visit(b, up);
                    up.pop();
                }
                (None, name) => {
                    if name == "proxy_pass" {
                        if let Some(t) = d.arg(0).and_then(upstream_of) {
                            let mut chain = up.clone();
                            chain.push(d);
                            self.proxies.push((t.to_string(), chain));
                        }
                    }
                    if name == "limit_req_zone" || name == "limit_conn_zone" {
                        self.zones.push(d);
                    }
                    self.leaves.push(d);
                }
            }
        }
    }
}

/// The upstream name of a `proxy_pass` URL.
fn upstream_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split(['/', '?']).next()?;
    Some(host)
}

fn choose<'a>(
    path: &Path,
    ups: &[&'a Directive],
    wanted: Option<&str>,
) -> Result<&'a Directive, ScenarioError> {
    let names: Vec<&str> = ups.iter().filter_map(|u| u.arg(0)).collect();
    let start = Location { line: 1, column: 1 };
    match wanted {
        Some(w) => ups.iter().copied().find(|u| u.arg(0) == Some(w)).ok_or_else(|| {
            native_error(
                path,
                Format::Nginx,
                &start,
                if names.is_empty() {
                    format!("no `upstream {w}` block: the file has no upstream")
                } else {
                    format!("no `upstream {w}` block; the file has: {}", names.join(", "))
                },
            )
        }),
        None => match ups {
            [one] => Ok(*one),
            [] => Err(native_error(
                path,
                Format::Nginx,
                &start,
                "no `upstream` block: fleetsim reads the servers of an upstream and what proxies to it",
            )),
            _ => Err(native_error(
                path,
                Format::Nginx,
                &ups[1].name.at,
                format!(
                    "{} upstreams ({}); say which with --upstream NAME (or \"upstream\" in the import)",
                    ups.len(),
                    names.join(", ")
                ),
            )),
        },
    }
}

/// A server of the upstream, as nginx reads its parameters.
#[derive(Debug, Clone, PartialEq)]
struct Server {
    weight: u64,
    max_fails: u64,
    fail_timeout: String,
    max_conns: u64,
}

/// Builds the deployment fragment and the report.
struct Reader<'a> {
    path: &'a Path,
    name: String,
    /// Where the upstream block starts.
    up_at: Location,
    report: Vec<Mapping>,
    dep: Map<String, Value>,
    /// Directives already reported.
    seen: Vec<*const Directive>,
}

impl<'a> Reader<'a> {
    fn push(&mut self, d: &Directive, outcome: Outcome) {
        self.seen.push(d as *const _);
        self.report.push(Mapping {
            at: d.name.at.clone(),
            directive: d.written(),
            outcome,
        });
    }

    fn push_at(&mut self, at: Location, directive: String, outcome: Outcome) {
        self.report.push(Mapping {
            at,
            directive,
            outcome,
        });
    }

    fn bad(&self, w: &Word, msg: impl Into<String>) -> ScenarioError {
        native_error(self.path, Format::Nginx, &w.at, msg)
    }

    fn set(&mut self, path: &[&str], v: Value) {
        super::set_path(&mut self.dep, path, v);
    }

    /// The upstream block: servers, the balancing method, health.
    fn upstream(&mut self, up: &Directive) -> Result<Vec<Server>, ScenarioError> {
        let name = self.name.clone();
        let mut servers: Vec<Server> = Vec::new();
        let mut method: Option<(&Directive, &'static str, Option<String>)> = None;
        let body = up.block.as_deref().unwrap_or_default();
        for d in body {
            match d.name.text.as_str() {
                "server" => {
                    if let Some(s) = self.server(d, servers.len())? {
                        servers.push(s);
                    }
                }
                "least_conn" => method = Some((d, "least-connections", None)),
                "ip_hash" => method = Some((d, "ip-hash", Some("nginx hashes the client address; fleetsim hashes the user id (give workload.users)".into()))),
                "hash" => {
                    let consistent = d.arg(1) == Some("consistent");
                    if !consistent {
                        self.push(d, Outcome::Unsupported { lost: "a plain `hash` (key modulo the total weight) moves most keys when the fleet changes; read as consistent hashing, which moves few".into() });
                    }
                    method = Some((d, "consistent-hash", Some(format!("nginx hashes `{}`; fleetsim hashes the user id (give workload.users)", d.arg(0).unwrap_or("")))));
                }
                "random" => match (d.arg(0), d.arg(1)) {
                    (None, _) => method = Some((d, "random", None)),
                    (Some("two"), None | Some("least_conn")) => method = Some((d, "power-of-two", Some("the less loaded of two servers drawn at random".into()))),
                    _ => self.push(d, Outcome::Unsupported { lost: format!("`{}`: only `random` and `random two [least_conn]` are modelled; round robin is used", d.written()) }),
                },
                "least_time" => self.push(d, Outcome::Unsupported { lost: "least_time (nginx Plus) weighs response times; round robin is used (fleetsim's nearest is peak-ewma)".into() }),
                "keepalive" | "keepalive_requests" | "keepalive_time" | "keepalive_timeout" => self.push(d, Outcome::Ignored { why: "connection reuse to the servers: fleetsim does not model connection set-up".into() }),
                "zone" => self.push(d, Outcome::Ignored { why: "shared memory for the upstream's state across workers; fleetsim's balancer is one".into() }),
                "check" => self.check(d)?,
                "check_http_send" | "check_http_expect_alive" | "check_keepalive_requests" | "check_fastcgi_param" | "check_shm_size" => self.push(d, Outcome::Ignored { why: "what a check sends and expects: a fleetsim check passes while the instance is up".into() }),
                "sticky" => self.sticky(d),
                "queue" => self.push(d, Outcome::Unsupported { lost: "queue (nginx Plus): requests wait at the proxy when every server is at max_conns; fleetsim rejects them".into() }),
                "resolver" | "resolver_timeout" => self.push(d, Outcome::Ignored { why: "name resolution".into() }),
                _ => self.push(d, Outcome::Unsupported { lost: format!("`{}` is not known to fleetsim's nginx reader; if it shapes load, failures or capacity, the simulation misses it", d.name.text) }),
            }
        }
        if servers.is_empty() {
            return Err(native_error(
                self.path,
                Format::Nginx,
                &up.name.at,
                format!("upstream `{name}` has no server that takes requests (every one is `down` or `backup`)"),
            ));
        }
        self.set(&["regions", &name, "instances"], json!(servers.len()));
        self.seen.push(up as *const _);
        self.report.push(Mapping {
            at: up.name.at.clone(),
            directive: format!("upstream {name}"),
            outcome: super::mapped(
                &[&format!("regions.{name}")],
                Some(format!(
                    "one region of {} instance(s), `{name}/0` onwards in server order",
                    servers.len()
                )),
            ),
        });
        let weighted: Map<String, Value> = servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.weight != 1)
            .map(|(i, s)| (format!("{name}/{i}"), json!(s.weight)))
            .collect();
        let strategy = match (&method, weighted.is_empty()) {
            (Some((d, s, note)), _) => {
                let note = note.clone();
                let d = *d;
                if !self.seen.iter().any(|x| std::ptr::eq(*x, d)) {
                    self.push(d, super::mapped(&["loadBalancing.strategy"], note));
                }
                *s
            }
            (None, true) => "round-robin",
            // nginx's round robin is smooth weighted round robin.
            (None, false) => "weighted",
        };
        self.set(&["loadBalancing", "strategy"], json!(strategy));
        if !weighted.is_empty() {
            self.set(&["loadBalancing", "weighted"], Value::Object(weighted));
        }
        Ok(servers)
    }

    /// One `server` line: an instance, or `None` for a server that takes no
    /// requests.
    fn server(&mut self, d: &Directive, index: usize) -> Result<Option<Server>, ScenarioError> {
        let name = self.name.clone();
        let mut s = Server {
            weight: 1,
            max_fails: 1,
            fail_timeout: "10s".into(),
            max_conns: 0,
        };
        let mut keys = vec![format!("regions.{name}.instances")];
        for w in d.args.iter().skip(1) {
            let (k, v) = w.text.split_once('=').unwrap_or((w.text.as_str(), ""));
            match k {
                "weight" => {
                    s.weight = self.count(w, v, 1)?;
                    keys.push("loadBalancing.weighted".into());
                }
                "max_fails" => {
                    s.max_fails = self.count(w, v, 0)?;
                    keys.push("passiveHealth.maxFails".into());
                }
                "fail_timeout" => {
                    s.fail_timeout = self.time(w, v)?;
                    keys.push("passiveHealth.failTimeout".into());
                }
                "max_conns" => {
                    s.max_conns = self.count(w, v, 0)?;
                    keys.push("limits.maxConnectionsPerInstance".into());
                }
                "down" => {
                    self.push(d, Outcome::Ignored { why: "marked down: nginx sends it nothing, so it is not in the fleet".into() });
                    return Ok(None);
                }
                "backup" => {
                    self.push(d, Outcome::Unsupported { lost: "a backup server takes requests only while every primary is unavailable; it is left out of the fleet".into() });
                    return Ok(None);
                }
                "slow_start" => self.push_at(w.at.clone(), w.text.clone(), Outcome::Unsupported { lost: "slow_start (nginx Plus) ramps a recovered server's weight; it takes its full share at once".into() }),
                "resolve" | "service" | "route" => self.push_at(w.at.clone(), w.text.clone(), Outcome::Ignored { why: "name resolution and routing labels".into() }),
                "drain" => self.push_at(w.at.clone(), w.text.clone(), Outcome::Unsupported { lost: "drain (nginx Plus): only sticky requests reach the server; it takes its full share".into() }),
                _ => return Err(self.bad(w, format!("unknown server parameter `{k}`; nginx allows weight=, max_fails=, fail_timeout=, max_conns=, backup, down (and Plus: slow_start=, resolve, service=, route=, drain)"))),
            }
        }
        keys.dedup();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.push(
            d,
            super::mapped(&keys, Some(format!("instance `{name}/{index}`"))),
        );
        Ok(Some(s))
    }

    /// `check` of the nginx_upstream_check_module.
    fn check(&mut self, d: &Directive) -> Result<(), ScenarioError> {
        // The module's defaults.
        let (mut interval, mut rise, mut fall, mut timeout) = (30_000u64, 2u64, 5u64, 1000u64);
        let mut default_down = true;
        for w in &d.args {
            let (k, v) = w.text.split_once('=').unwrap_or((w.text.as_str(), ""));
            match k {
                "interval" => interval = self.count(w, v, 1)?,
                "rise" => rise = self.count(w, v, 1)?,
                "fall" => fall = self.count(w, v, 1)?,
                "timeout" => timeout = self.count(w, v, 1)?,
                "default_down" => default_down = v == "true",
                "type" | "port" => {}
                _ => return Err(self.bad(w, format!("unknown `check` parameter `{k}`; the module allows interval=, rise=, fall=, timeout=, default_down=, type=, port="))),
            }
        }
        self.set(&["healthCheck", "interval"], json!(format!("{interval}ms")));
        self.set(&["healthCheck", "timeout"], json!(format!("{timeout}ms")));
        self.set(&["healthCheck", "healthyThreshold"], json!(rise));
        self.set(&["healthCheck", "unhealthyThreshold"], json!(fall));
        self.push(d, super::mapped(&["healthCheck"], Some("nginx_upstream_check_module (Tengine): interval and timeout in milliseconds; not in stock nginx".into())));
        if default_down {
            let written = if d.args.iter().any(|w| w.text.starts_with("default_down=")) {
                "default_down=true (as written)"
            } else {
                "default_down=true (the check module's default)"
            };
            self.push_at(d.name.at.clone(), written.into(), Outcome::Unsupported { lost: format!("with default_down=true (the module's default) servers start down until {rise} checks pass; fleetsim's start healthy") });
        }
        Ok(())
    }

    /// `sticky` of nginx Plus.
    fn sticky(&mut self, d: &Directive) {
        if d.arg(0) != Some("cookie") {
            self.push(
                d,
                Outcome::Unsupported {
                    lost: format!(
                        "`sticky {}`: only `sticky cookie` is modelled",
                        d.arg(0).unwrap_or("")
                    ),
                },
            );
            return;
        }
        self.set(
            &["loadBalancing", "sessionAffinity", "type"],
            json!("cookie"),
        );
        let expires = d.args.iter().find_map(|w| w.text.strip_prefix("expires="));
        let note = match expires {
            Some(t) if t != "max" => {
                self.set(&["loadBalancing", "sessionAffinity", "ttl"], json!(nginx_time(t).unwrap_or_else(|| t.to_string())));
                "nginx Plus; the cookie names the user (give workload.users)".to_string()
            }
            _ => "nginx Plus; a cookie without `expires` lasts the browser session, read as fleetsim's 1h; the cookie names the user (give workload.users)".into(),
        };
        self.push(
            d,
            super::mapped(&["loadBalancing.sessionAffinity"], Some(note)),
        );
    }

    /// What the location that proxies to the upstream sets (inherited from
    /// its server and `http`), and nginx's defaults for what it does not.
    fn proxy_settings(
        &mut self,
        chain: Option<&[&'a Directive]>,
        walk: &Walk<'a>,
        servers: Vec<Server>,
    ) {
        let n = servers.len() as u64;
        let find = |name: &str| -> Vec<&'a Directive> { effective(chain, name) };
        let at = chain
            .and_then(|c| c.last())
            .map_or(Location { line: 1, column: 1 }, |d| d.name.at.clone());
        if let Some(pp) = chain.and_then(|c| c.last()) {
            let name = self.name.clone();
            self.push(
                pp,
                super::mapped(
                    &[&format!("regions.{name}")],
                    Some("this location's requests are the workload".into()),
                ),
            );
        }
        let up_at = self.up_at.clone();
        self.passive_health(&servers, &find("proxy_next_upstream"), &up_at);
        self.max_conns(&servers);
        self.retries(
            n,
            &find("proxy_next_upstream"),
            &find("proxy_next_upstream_tries"),
            &at,
        );
        for d in find("proxy_next_upstream_timeout") {
            let zero = d
                .arg(0)
                .is_some_and(|t| nginx_time(t).as_deref() == Some("0s"));
            let outcome = if zero {
                Outcome::Ignored {
                    why: "0: no limit, as the default".into(),
                }
            } else {
                Outcome::Unsupported { lost: "a time limit on passing a request on to the next servers; retries are limited by their count only".into() }
            };
            self.push(d, outcome);
        }
        match find("proxy_read_timeout").last() {
            Some(d) => {
                let t = d
                    .arg(0)
                    .and_then(nginx_time)
                    .unwrap_or_else(|| "60s".into());
                self.set(&["limits", "requestTimeout"], json!(t));
                self.push(d, super::mapped(&["limits.requestTimeout"], Some("an LLM answer arrives whole, so no byte comes before it: the timeout bounds the whole answer, from the request's arrival".into())));
            }
            None => {
                self.set(&["limits", "requestTimeout"], json!("60s"));
                self.push_at(
                    at.clone(),
                    "proxy_read_timeout 60s (nginx's default)".into(),
                    super::mapped(
                        &["limits.requestTimeout"],
                        Some("an LLM answer arrives whole: the default 60s bounds it".into()),
                    ),
                );
            }
        }
        for name in ["proxy_connect_timeout", "proxy_send_timeout"] {
            for d in find(name) {
                self.push(d, Outcome::Ignored { why: "fleetsim's instances accept or refuse a connection at once and take a request whole, so this timeout never fires".into() });
            }
        }
        self.rate_limits(&find("limit_req"), walk, &find("limit_req_dry_run"));
        self.conn_limits(&find("limit_conn"), walk);
        for d in find("health_check") {
            self.health_check(d);
        }
    }

    fn passive_health(&mut self, servers: &[Server], next: &[&Directive], at: &Location) {
        let first = &servers[0];
        if servers
            .iter()
            .any(|s| s.max_fails != first.max_fails || s.fail_timeout != first.fail_timeout)
        {
            self.push_at(at.clone(), "max_fails / fail_timeout (the servers differ)".into(), Outcome::Unsupported { lost: format!("servers differ in max_fails or fail_timeout; fleetsim applies one setting to every instance: the first server's (max_fails={} fail_timeout={})", first.max_fails, first.fail_timeout) });
        }
        if first.max_fails == 0 {
            return;
        }
        if servers.len() == 1 {
            self.push_at(
                at.clone(),
                "max_fails / fail_timeout (one server)".into(),
                Outcome::Ignored {
                    why: "nginx never takes out the only server of an upstream".into(),
                },
            );
            return;
        }
        // A failed answer to a POST counts only when nginx may pass a POST
        // on (non_idempotent): the failure mask includes that flag.
        let words = next_upstream_words(next);
        let app_errors = words.iter().any(|w| w == "non_idempotent")
            && words
                .iter()
                .any(|w| w.starts_with("http_5") || w == "http_429");
        self.set(&["passiveHealth", "type"], json!("nginx"));
        self.set(&["passiveHealth", "maxFails"], json!(first.max_fails));
        self.set(&["passiveHealth", "failTimeout"], json!(first.fail_timeout));
        if app_errors {
            self.set(&["passiveHealth", "countApplicationErrors"], json!(true));
        }
        self.push_at(at.clone(), format!("max_fails={} fail_timeout={} ({})", first.max_fails, first.fail_timeout, if first.max_fails == 1 && first.fail_timeout == "10s" { "nginx's default" } else { "every server" }), super::mapped(&["passiveHealth"], Some(if app_errors { "failed connections, timeouts and the 5xx answers proxy_next_upstream names count".into() } else { "failed connections and timeouts count; LLM errors do not (an LLM request is a POST: its 5xx answers count only with proxy_next_upstream non_idempotent http_5xx)".into() })));
    }

    fn max_conns(&mut self, servers: &[Server]) {
        let first = servers[0].max_conns;
        if servers.iter().any(|s| s.max_conns != first) {
            self.push_at(self.up_at.clone(), "max_conns (the servers differ)".into(), Outcome::Unsupported { lost: format!("servers differ in max_conns; fleetsim caps every instance alike: the first server's ({first})") });
        }
        if first > 0 {
            self.set(&["limits", "maxConnectionsPerInstance"], json!(first));
        }
    }

    fn retries(&mut self, n: u64, next: &[&Directive], tries: &[&Directive], at: &Location) {
        let words = next_upstream_words(next);
        let off = words.iter().any(|w| w == "off");
        let non_idempotent = words.iter().any(|w| w == "non_idempotent");
        let mut on = Vec::new();
        if words.iter().any(|w| w == "error") {
            on.push("connect-failure");
        }
        // fleetsim's `timeout` is a wait for a slot, before the request is
        // handled: nginx passes that on for any method.
        if words.iter().any(|w| w == "timeout") {
            on.push("timeout");
        }
        if non_idempotent
            && words
                .iter()
                .any(|w| w.starts_with("http_5") || w == "http_429")
        {
            on.push("5xx");
        }
        let limit = tries
            .last()
            .and_then(|d| d.arg(0))
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let attempts = if limit == 0 { n } else { limit.min(n) }.min(100);
        let mut note = String::from("at once, as nginx passes a request on; a retry is a fresh pick (nginx never picks a server it tried)");
        if !non_idempotent && !off {
            note.push_str("; an LLM request is a POST, which nginx does not pass on after an error answer unless non_idempotent is given");
        }
        let keys: &[&str] = if off || on.is_empty() || attempts <= 1 {
            if attempts <= 1 && !off {
                note = format!(
                    "{} server(s) and {} tries: no request is passed on",
                    n,
                    if limit == 0 {
                        "unlimited".to_string()
                    } else {
                        limit.to_string()
                    }
                );
            }
            &[]
        } else {
            self.set(&["retries", "maxAttempts"], json!(attempts));
            self.set(&["retries", "retryOn"], json!(on));
            self.set(
                &["retries", "backoff"],
                json!({ "base": "1ms", "max": "1ms", "jitter": "none" }),
            );
            &["retries"]
        };
        let outcome = if keys.is_empty() {
            Outcome::Ignored {
                why: if off {
                    "off: no request is passed on".into()
                } else {
                    note.clone()
                },
            }
        } else {
            super::mapped(keys, Some(note))
        };
        match next.last() {
            Some(d) => self.push(d, outcome.clone()),
            None => self.push_at(
                at.clone(),
                "proxy_next_upstream error timeout (nginx's default)".into(),
                outcome.clone(),
            ),
        }
        for d in tries {
            self.push(
                d,
                if keys.is_empty() {
                    outcome.clone()
                } else {
                    super::mapped(&["retries.maxAttempts"], None)
                },
            );
        }
    }

    fn rate_limits(&mut self, uses: &[&Directive], walk: &Walk<'_>, dry: &[&Directive]) {
        let dry_run = dry.last().is_some_and(|d| d.arg(0) == Some("on"));
        for d in dry {
            self.push(
                d,
                Outcome::Mapped {
                    keys: vec![],
                    note: Some(if dry_run {
                        "dry run: the limits only count, so none is simulated".into()
                    } else {
                        "off".into()
                    }),
                },
            );
        }
        for d in uses {
            let zone = d
                .args
                .iter()
                .find_map(|w| w.text.strip_prefix("zone="))
                .unwrap_or("");
            let Some(def) = walk.zones.iter().find(|z| {
                z.name.text == "limit_req_zone"
                    && z.args.iter().any(|w| {
                        w.text.split_once(':').map(|x| x.0) == Some(&format!("zone={zone}"))
                    })
            }) else {
                self.push(
                    d,
                    Outcome::Unsupported {
                        lost: format!(
                            "zone `{zone}` is not defined by a limit_req_zone in this file"
                        ),
                    },
                );
                continue;
            };
            let rate = def.args.iter().find_map(|w| w.text.strip_prefix("rate="));
            let Some((requests, window)) = rate.and_then(parse_rate) else {
                self.push(
                    d,
                    Outcome::Unsupported {
                        lost: format!("zone `{zone}`'s rate is not N r/s or N r/m"),
                    },
                );
                continue;
            };
            if dry_run {
                self.push(
                    d,
                    Outcome::Ignored {
                        why: "limit_req_dry_run on: the limit only counts".into(),
                    },
                );
                self.push(
                    def,
                    Outcome::Ignored {
                        why: "limit_req_dry_run on".into(),
                    },
                );
                continue;
            }
            let burst = d
                .args
                .iter()
                .find_map(|w| w.text.strip_prefix("burst="))
                .and_then(|b| b.parse::<u64>().ok())
                .unwrap_or(0);
            let nodelay = d.args.iter().any(|w| w.text == "nodelay");
            let (key, key_note) = limit_key(def.arg(0).unwrap_or(""));
            let base = ["rateLimits", zone];
            self.set(&[base[0], base[1], "requests"], json!(requests));
            self.set(&[base[0], base[1], "window"], json!(window));
            self.set(&[base[0], base[1], "strategy"], json!("gcra"));
            self.set(&[base[0], base[1], "burst"], json!(burst.saturating_add(1)));
            self.set(&[base[0], base[1], "key"], json!(key));
            let k = format!("rateLimits.{zone}");
            self.push(
                def,
                super::mapped(
                    &[&k],
                    Some(format!("{requests} per {window} per {key}{key_note}")),
                ),
            );
            if !nodelay && burst > 0 {
                self.push(d, Outcome::Unsupported { lost: format!("without nodelay nginx delays up to {burst} excess requests to the zone's rate; fleetsim admits them at once (as with nodelay)") });
            } else {
                self.push(
                    d,
                    super::mapped(
                        &[&k],
                        Some(format!(
                            "a leaky bucket: {} request(s) at once, then {requests} per {window}",
                            burst.saturating_add(1)
                        )),
                    ),
                );
            }
        }
    }

    fn conn_limits(&mut self, uses: &[&Directive], walk: &Walk<'_>) {
        for d in uses {
            let zone = d.arg(0).unwrap_or("");
            let n = d.arg(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            let def = walk.zones.iter().find(|z| {
                z.name.text == "limit_conn_zone"
                    && z.args.iter().any(|w| {
                        w.text.split_once(':').map(|x| x.0) == Some(&format!("zone={zone}"))
                    })
            });
            let fleet_wide = def
                .and_then(|z| z.arg(0))
                .is_some_and(|k| !k.starts_with('$') || k == "$server_name" || k == "$host");
            match (def, fleet_wide, n) {
                (Some(z), true, n) if n > 0 => {
                    self.set(&["limits", "maxConnections"], json!(n));
                    self.push(z, super::mapped(&["limits.maxConnections"], None));
                    self.push(
                        d,
                        super::mapped(
                            &["limits.maxConnections"],
                            Some("requests the proxy holds at once; the excess is rejected".into()),
                        ),
                    );
                }
                (Some(z), _, _) => {
                    self.push(z, Outcome::Unsupported { lost: format!("connections limited per `{}`: fleetsim caps requests for the whole fleet or per instance only", z.arg(0).unwrap_or("")) });
                    self.push(
                        d,
                        Outcome::Unsupported {
                            lost: "a per-client connection limit".into(),
                        },
                    );
                }
                (None, _, _) => self.push(
                    d,
                    Outcome::Unsupported {
                        lost: format!(
                            "zone `{zone}` is not defined by a limit_conn_zone in this file"
                        ),
                    },
                ),
            }
        }
    }

    /// `health_check` of nginx Plus.
    fn health_check(&mut self, d: &Directive) {
        let (mut interval, mut fails, mut passes) = ("5s".to_string(), 1u64, 1u64);
        for w in &d.args {
            let (k, v) = w.text.split_once('=').unwrap_or((w.text.as_str(), ""));
            match k {
                "interval" => interval = nginx_time(v).unwrap_or(interval),
                "fails" => fails = v.parse().unwrap_or(fails),
                "passes" => passes = v.parse().unwrap_or(passes),
                _ => {}
            }
        }
        self.set(&["healthCheck", "interval"], json!(interval));
        self.set(&["healthCheck", "unhealthyThreshold"], json!(fails));
        self.set(&["healthCheck", "healthyThreshold"], json!(passes));
        self.push(
            d,
            super::mapped(&["healthCheck"], Some("nginx Plus".into())),
        );
    }

    fn count(&self, w: &Word, v: &str, min: u64) -> Result<u64, ScenarioError> {
        match v.parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(self.bad(
                w,
                format!("`{}`: expected a whole number of at least {min}", w.text),
            )),
        }
    }

    fn time(&self, w: &Word, v: &str) -> Result<String, ScenarioError> {
        nginx_time(v).ok_or_else(|| {
            self.bad(
                w,
                format!(
                    "`{}`: expected an nginx time such as 30s, 500ms, 1m or 30 (seconds)",
                    w.text
                ),
            )
        })
    }
}

/// The directives named `name` in effect at the end of `chain`: those of
/// the innermost context that has any (nginx inherits a directive from the
/// outer context only when the inner one does not set it).
fn effective<'a>(chain: Option<&[&'a Directive]>, name: &str) -> Vec<&'a Directive> {
    let Some(chain) = chain else {
        return Vec::new();
    };
    // The contexts: each block on the way, innermost last.
    for ctx in chain[..chain.len() - 1].iter().rev() {
        let found: Vec<&'a Directive> = ctx
            .block
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|d| d.name.text == name && d.block.is_none())
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The words of the `proxy_next_upstream` in effect (nginx's default when
/// none is).
fn next_upstream_words(next: &[&Directive]) -> Vec<String> {
    match next.last() {
        Some(d) => d.args.iter().map(|w| w.text.clone()).collect(),
        None => vec!["error".into(), "timeout".into()],
    }
}

/// An nginx time (`30s`, `500ms`, `1m`, `1h`, `30` for seconds) as a
/// fleetsim duration.
pub(crate) fn nginx_time(v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = match unit {
        "" | "s" => "s",
        "ms" => "ms",
        "m" => "m",
        "h" => "h",
        "d" => "d",
        "w" => return Some(format!("{}d", n.saturating_mul(7))),
        _ => return None,
    };
    Some(format!("{n}{unit}"))
}

/// `10r/s` or `30r/m` as (requests, window).
fn parse_rate(r: &str) -> Option<(u64, &'static str)> {
    let (n, per) = r.split_once("r/")?;
    let n: u64 = n.parse().ok()?;
    let window = match per {
        "s" => "1s",
        "m" => "1m",
        _ => return None,
    };
    (n > 0).then_some((n, window))
}

/// What a limit's key variable counts per, and a note.
fn limit_key(var: &str) -> (&'static str, &'static str) {
    match var {
        "$binary_remote_addr" | "$remote_addr" => {
            ("ip", " (give workload.users: each user has an address)")
        }
        "$server_name" | "$host" | "" => ("global", ""),
        v if v.starts_with("$http_")
            || v.starts_with("$cookie_")
            || v.starts_with("$arg_")
            || v == "$remote_user"
            || v.starts_with("$jwt_") =>
        {
            ("user", "; the key names the user: give workload.users")
        }
        v if !v.starts_with('$') => ("global", ""),
        _ => (
            "global",
            " (the key is not one fleetsim can tell apart: read as one limit for all)",
        ),
    }
}

/// Why a directive that fleetsim has no use for has no simulation meaning,
/// when it is one of the common ones.
fn ignored_why(name: &str) -> Option<&'static str> {
    Some(match name {
        n if n.starts_with("ssl_") || n.starts_with("proxy_ssl_") => "TLS",
        "access_log" | "error_log" | "log_format" | "log_not_found" | "open_log_file_cache" | "limit_req_log_level" | "limit_conn_log_level" => "logging",
        "proxy_set_header" | "add_header" | "proxy_hide_header" | "proxy_pass_header" | "more_set_headers" | "proxy_cookie_path" | "proxy_cookie_domain" | "proxy_redirect" => "headers",
        "proxy_http_version" | "proxy_buffering" | "proxy_buffer_size" | "proxy_buffers" | "proxy_busy_buffers_size" | "proxy_request_buffering" | "proxy_max_temp_file_size" | "proxy_temp_file_write_size" | "client_body_buffer_size" | "client_max_body_size" | "chunked_transfer_encoding" => "buffering and protocol details: requests and answers are modelled as whole messages",
        "listen" | "server_name" | "server_names_hash_bucket_size" | "resolver" | "resolver_timeout" => "addresses and names",
        "root" | "index" | "try_files" | "rewrite" | "return" | "alias" | "autoindex" | "error_page" | "default_type" | "types" | "include" | "charset" => "paths and files served by nginx itself, not proxied",
        "gzip" | "gzip_types" | "gzip_min_length" | "gzip_comp_level" | "gzip_vary" | "gzip_proxied" => "compression",
        "sendfile" | "tcp_nopush" | "tcp_nodelay" | "keepalive_timeout" | "keepalive_requests" | "send_timeout" | "client_body_timeout" | "client_header_timeout" | "reset_timedout_connection" => "client connection handling: fleetsim models requests, not client connections",
        "worker_processes" | "worker_connections" | "worker_rlimit_nofile" | "pid" | "user" | "events" | "multi_accept" | "use" => "nginx's own processes",
        "limit_req_status" | "limit_conn_status" => "the status code of a refusal: a refusal is counted as rate limited",
        "proxy_cache" | "proxy_cache_path" | "proxy_cache_valid" | "proxy_cache_key" | "proxy_cache_bypass" | "proxy_no_cache" => "response caching: LLM answers are not cached by the proxy (model a cache with llm.cache)",
        "proxy_intercept_errors" | "proxy_ignore_client_abort" => "error pages and client aborts",
        "set" | "map" | "if" | "allow" | "deny" | "auth_basic" | "auth_basic_user_file" | "auth_request" => "request matching and access control",
        "proxy_pass" => "proxies to another upstream",
        "limit_req_zone" | "limit_conn_zone" => "a zone no location on the way to the upstream uses",
        _ => return None,
    })
}

//! HAProxy: a `backend` (or `listen`) section, with what `defaults` give
//! it.
//!
//! Reference: the HAProxy Configuration Manual (sections 4 "Proxies" and 5
//! "Bind and server options"): `balance`, `server` and `default-server`
//! options, `retries`, `retry-on`, `option redispatch`, the timeouts.
//!
//! | directive | becomes |
//! |---|---|
//! | `backend NAME` / `listen NAME` and its `server`s | `deployment.regions.NAME.instances`, instance `NAME/i` for the i-th |
//! | `balance roundrobin`, `static-rr`, `leastconn`, `first`, `source`, `random(N)` | `loadBalancing.strategy` |
//! | `server … weight N` | `loadBalancing.weighted` |
//! | `server … check inter rise fall`, `timeout check` | `healthCheck` |
//! | `retries N` (default 3), `retry-on`, `option redispatch` | `retries` |
//! | `timeout server` | `limits.requestTimeout` |

use super::{native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use std::path::Path;

/// One line: its keyword, its words, where it is.
#[derive(Debug, Clone)]
struct Line {
    at: Location,
    words: Vec<(String, Location)>,
}

impl Line {
    fn kw(&self) -> &str {
        &self.words[0].0
    }

    fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(|w| w.0.as_str())
    }

    fn written(&self) -> String {
        self.words
            .iter()
            .map(|w| w.0.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A section: `global`, `defaults`, `frontend`, `backend`, `listen`, ...
#[derive(Debug, Clone)]
struct Section {
    head: Line,
    lines: Vec<Line>,
}

const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "program",
    "cache",
    "mailers",
    "http-errors",
    "ring",
    "log-forward",
    "crt-store",
    "traces",
];

fn lex(text: &str, path: &Path) -> Result<Vec<Line>, ScenarioError> {
    let mut out = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let mut words = Vec::new();
        let mut chars = raw.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            if c == '#' {
                break;
            }
            let at = Location {
                line,
                column: raw[..i].chars().count() + 1,
            };
            let mut w = String::new();
            let mut quote: Option<char> = None;
            while let Some(&(_, c)) = chars.peek() {
                match (quote, c) {
                    (None, c) if c.is_whitespace() => break,
                    (None, '#') => break,
                    (None, '"' | '\'') => {
                        quote = Some(c);
                        chars.next();
                    }
                    (Some(q), c) if c == q => {
                        quote = None;
                        chars.next();
                    }
                    (_, '\\') => {
                        chars.next();
                        if let Some((_, e)) = chars.next() {
                            w.push(e);
                        }
                    }
                    (_, c) => {
                        w.push(c);
                        chars.next();
                    }
                }
            }
            if let Some(q) = quote {
                return Err(native_error(
                    path,
                    Format::Haproxy,
                    &at,
                    format!("a quoted word opened here has no closing {q}"),
                ));
            }
            words.push((w, at));
        }
        if let Some(first) = words.first() {
            out.push(Line {
                at: first.1.clone(),
                words,
            });
        }
    }
    Ok(out)
}

fn sections(lines: Vec<Line>, path: &Path) -> Result<Vec<Section>, ScenarioError> {
    let mut out: Vec<Section> = Vec::new();
    for l in lines {
        if SECTIONS.contains(&l.kw()) {
            out.push(Section {
                head: l,
                lines: Vec::new(),
            });
        } else {
            match out.last_mut() {
                Some(s) => s.lines.push(l),
                None => {
                    return Err(native_error(
                        path,
                        Format::Haproxy,
                        &l.at,
                        format!(
                            "`{}` outside any section; a HAProxy file is made of sections ({})",
                            l.kw(),
                            SECTIONS[..5].join(", ")
                        ),
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// Reads the backend `wanted` (or the file's only `backend`/`listen`).
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let secs = sections(lex(text, path)?, path)?;
    let proxies: Vec<usize> = secs
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.head.kw(), "backend" | "listen"))
        .map(|(i, _)| i)
        .collect();
    let names: Vec<&str> = proxies
        .iter()
        .filter_map(|&i| secs[i].head.arg(0))
        .collect();
    let start = Location { line: 1, column: 1 };
    let chosen = match wanted {
        Some(w) => proxies
            .iter()
            .copied()
            .find(|&i| secs[i].head.arg(0) == Some(w))
            .ok_or_else(|| {
                native_error(
                    path,
                    Format::Haproxy,
                    &start,
                    format!("no `backend {w}` or `listen {w}`; the file has: {}", names.join(", ")),
                )
            })?,
        None => match proxies.as_slice() {
            [one] => *one,
            [] => {
                return Err(native_error(
                    path,
                    Format::Haproxy,
                    &start,
                    "no `backend` or `listen` section: fleetsim reads the servers of one",
                ))
            }
            _ => {
                return Err(native_error(
                    path,
                    Format::Haproxy,
                    &secs[proxies[1]].head.at,
                    format!(
                        "{} backends ({}); say which with --upstream NAME (or \"upstream\" in the import)",
                        proxies.len(),
                        names.join(", ")
                    ),
                ))
            }
        },
    };
    let name = secs[chosen].head.arg(0).unwrap_or("backend").to_string();
    // The `defaults` section in force: the last one before the backend.
    let defaults = secs[..chosen]
        .iter()
        .rev()
        .find(|s| s.head.kw() == "defaults");
    let mut r = Reader {
        path,
        name: name.clone(),
        report: Vec::new(),
        dep: Map::new(),
    };
    r.read(&secs[chosen], defaults)?;
    for (i, s) in secs.iter().enumerate() {
        if i == chosen || defaults.is_some_and(|d| std::ptr::eq(d, s)) {
            continue;
        }
        for l in &s.lines {
            r.push(
                l,
                Outcome::Ignored {
                    why: format!("in `{}`, not the backend `{name}`", s.head.written()),
                },
            );
        }
    }
    r.report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Haproxy,
        source: format!("{} {name}", secs[chosen].head.kw()),
        fragment: json!({ "deployment": Value::Object(r.dep) }),
        report: r.report,
    })
}

/// A server's options, as HAProxy reads them (`default-server` first).
#[derive(Debug, Clone, PartialEq)]
struct ServerOpts {
    weight: u64,
    check: bool,
    inter: String,
    rise: u64,
    fall: u64,
    backup: bool,
    disabled: bool,
}

impl Default for ServerOpts {
    fn default() -> Self {
        ServerOpts {
            weight: 1,
            check: false,
            inter: "2s".into(),
            rise: 2,
            fall: 3,
            backup: false,
            disabled: false,
        }
    }
}

struct Reader<'a> {
    path: &'a Path,
    name: String,
    report: Vec<Mapping>,
    dep: Map<String, Value>,
}

impl Reader<'_> {
    fn push(&mut self, l: &Line, outcome: Outcome) {
        self.report.push(Mapping {
            at: l.at.clone(),
            directive: l.written(),
            outcome,
        });
    }

    fn set(&mut self, path: &[&str], v: Value) {
        super::set_path(&mut self.dep, path, v);
    }

    fn bad(&self, at: &Location, msg: impl Into<String>) -> ScenarioError {
        native_error(self.path, Format::Haproxy, at, msg)
    }

    /// Server options from `words` (after the address), onto `o`.
    fn server_opts(
        &mut self,
        l: &Line,
        skip: usize,
        o: &mut ServerOpts,
    ) -> Result<Vec<&'static str>, ScenarioError> {
        let mut keys = Vec::new();
        let mut i = skip + 1;
        while i < l.words.len() {
            let (w, at) = (&l.words[i].0, l.words[i].1.clone());
            let val = l.words.get(i + 1).map(|x| x.0.clone());
            let mut take = |me: &Self| -> Result<String, ScenarioError> {
                i += 1;
                val.clone()
                    .ok_or_else(|| me.bad(&at, format!("`{w}` needs a value")))
            };
            match w.as_str() {
                "weight" => {
                    o.weight = parse_count(&take(self)?).ok_or_else(|| self.bad(&at, "`weight`: expected a whole number from 0 to 256"))?;
                    keys.push("loadBalancing.weighted");
                }
                "check" => {
                    o.check = true;
                    keys.push("healthCheck");
                }
                "no-check" => o.check = false,
                "inter" => {
                    o.inter = haproxy_time(&take(self)?).ok_or_else(|| self.bad(&at, "`inter`: expected a time such as 2s or 500 (milliseconds)"))?;
                    keys.push("healthCheck.interval");
                }
                "rise" => {
                    o.rise = parse_count(&take(self)?).filter(|&n| n > 0).ok_or_else(|| self.bad(&at, "`rise`: expected a whole number of at least 1"))?;
                    keys.push("healthCheck.healthyThreshold");
                }
                "fall" => {
                    o.fall = parse_count(&take(self)?).filter(|&n| n > 0).ok_or_else(|| self.bad(&at, "`fall`: expected a whole number of at least 1"))?;
                    keys.push("healthCheck.unhealthyThreshold");
                }
                "backup" => o.backup = true,
                "disabled" => o.disabled = true,
                "enabled" => o.disabled = false,
                "maxconn" | "maxqueue" | "minconn" => {
                    let v = take(self)?;
                    self.report.push(Mapping { at: at.clone(), directive: format!("{w} {v}"), outcome: Outcome::Unsupported { lost: format!("{w}: HAProxy holds requests over a server's maxconn in the backend's own queue, served by whichever server frees first; fleetsim queues at each instance") } });
                }
                "fastinter" | "downinter" | "slowstart" | "observe" | "error-limit" | "on-error" | "on-marked-down" | "on-marked-up" => {
                    let v = take(self)?;
                    self.report.push(Mapping { at: at.clone(), directive: format!("{w} {v}"), outcome: Outcome::Unsupported { lost: format!("`{w}`: not modelled") } });
                }
                "ssl" | "verify" | "ca-file" | "crt" | "sni" | "alpn" | "proto" | "send-proxy" | "send-proxy-v2" | "resolvers" | "resolve-prefer" | "init-addr" | "cookie" | "id" | "port" | "addr" | "agent-check" | "agent-port" | "agent-inter" | "check-ssl" | "check-sni" | "pool-max-conn" | "pool-purge-delay" | "tfo" | "namespace" | "track" | "redir" | "no-ssl" => {
                    // Options with a value take it; flags do not.
                    if matches!(w.as_str(), "verify" | "ca-file" | "crt" | "sni" | "alpn" | "proto" | "resolvers" | "resolve-prefer" | "init-addr" | "cookie" | "id" | "port" | "addr" | "agent-port" | "agent-inter" | "check-sni" | "pool-max-conn" | "pool-purge-delay" | "namespace" | "track" | "redir") {
                        take(self)?;
                    }
                }
                _ => return Err(self.bad(&at, format!("unknown server option `{w}`; fleetsim reads weight, check, inter, rise, fall, backup, disabled (and names the rest it knows)"))),
            }
            i += 1;
        }
        Ok(keys)
    }

    fn read(&mut self, sec: &Section, defaults: Option<&Section>) -> Result<(), ScenarioError> {
        let name = self.name.clone();
        let mut dflt = ServerOpts::default();
        // Settings: the backend's own, else the defaults section's.
        let mut lines: Vec<(&Line, bool)> = Vec::new();
        if let Some(d) = defaults {
            lines.extend(d.lines.iter().map(|l| (l, true)));
        }
        lines.extend(sec.lines.iter().map(|l| (l, false)));
        let own = |kw: &str| sec.lines.iter().any(|l| l.kw() == kw);
        let mut balance: Option<(&Line, &'static str, Option<String>)> = None;
        let mut retries: (u64, Option<&Line>) = (3, None);
        let mut retry_on: Option<&Line> = None;
        let mut redispatch = false;
        let (mut t_server, mut t_check, mut t_connect): (
            Option<(String, &Line)>,
            Option<String>,
            Option<String>,
        ) = (None, None, None);
        let mut servers: Vec<(&Line, ServerOpts)> = Vec::new();
        for (l, from_defaults) in lines {
            // A defaults line the backend overrides is reported as such.
            // (`default-server` lines add up, the defaults' first.)
            let shadowed = from_defaults
                && own(l.kw())
                && !matches!(l.kw(), "timeout" | "option" | "default-server");
            if shadowed {
                self.push(
                    l,
                    Outcome::Ignored {
                        why: format!("backend `{name}` sets its own"),
                    },
                );
                continue;
            }
            match l.kw() {
                "balance" => {
                    let alg = l.arg(0).unwrap_or("");
                    let (s, note): (&'static str, Option<String>) = match alg {
                        "roundrobin" => ("round-robin", None),
                        "static-rr" => ("round-robin", Some("static weights".into())),
                        "leastconn" => ("least-connections", None),
                        "first" => ("first", Some("the first server with a free slot, in id order".into())),
                        "source" => ("ip-hash", Some("HAProxy hashes the client address; fleetsim hashes the user's (give workload.users)".into())),
                        a if a.starts_with("random") => {
                            let draws = a.strip_prefix("random(").and_then(|x| x.strip_suffix(')')).and_then(|x| x.parse::<u64>().ok()).unwrap_or(2);
                            if draws >= 2 {
                                self.set(&["loadBalancing", "choiceCount"], json!(draws));
                            }
                            if draws >= 2 { ("power-of-two", Some(format!("the least loaded of {draws} servers drawn at random"))) } else { ("random", None) }
                        }
                        _ => {
                            self.push(l, Outcome::Unsupported { lost: format!("`balance {alg}`: fleetsim has no equivalent; round robin is used") });
                            continue;
                        }
                    };
                    if s == "power-of-two" && l.arg(0).is_some_and(|a| a == "random" || a == "random(2)") {
                        self.dep.get_mut("loadBalancing").and_then(Value::as_object_mut).map(|m| m.remove("choiceCount"));
                    }
                    balance = Some((l, s, note));
                }
                "server" => {
                    let mut o = dflt.clone();
                    if l.arg(1).is_none() {
                        return Err(self.bad(&l.at, "`server NAME ADDRESS [options]`: the address is missing"));
                    }
                    let keys = self.server_opts(l, 2, &mut o)?;
                    let _ = keys;
                    servers.push((l, o));
                }
                "default-server" => {
                    let mut o = dflt.clone();
                    self.server_opts(l, 0, &mut o)?;
                    dflt = o;
                    self.push(l, Outcome::Mapped { keys: vec![], note: Some("options of the servers after it".into()) });
                }
                "retries" => retries = (l.arg(0).and_then(parse_count).ok_or_else(|| self.bad(&l.at, "`retries`: expected a whole number"))?, Some(l)),
                "retry-on" => retry_on = Some(l),
                "option" if l.arg(0) == Some("redispatch") => {
                    redispatch = true;
                    self.push(l, super::mapped(&["retries"], Some("a retry goes to another server, as fleetsim's retries (a fresh pick) do".into())));
                }
                "no" if l.arg(0) == Some("option") && l.arg(1) == Some("redispatch") => {
                    redispatch = false;
                    self.push(l, super::mapped(&["retries"], None));
                }
                "timeout" => match l.arg(0) {
                    Some("server") => {
                        let t = l.arg(1).and_then(haproxy_time).ok_or_else(|| self.bad(&l.at, "`timeout server`: expected a time such as 60s or 30000 (milliseconds)"))?;
                        t_server = Some((t, l));
                    }
                    Some("check") => {
                        t_check = l.arg(1).and_then(haproxy_time);
                        self.push(l, super::mapped(&["healthCheck.timeout"], None));
                    }
                    Some("connect") => {
                        t_connect = l.arg(1).and_then(haproxy_time);
                        self.push(l, Outcome::Mapped { keys: vec!["deployment.retries.backoff".into()], note: Some("fleetsim's instances accept or refuse at once, so it never fires; it sets the pause before a retry, min(timeout connect, 1s)".into()) });
                    }
                    Some("queue") => self.push(l, Outcome::Unsupported { lost: "the wait in the backend's own queue: fleetsim queues at each instance (limits.connectionTimeout is that wait)".into() }),
                    Some("client" | "http-request" | "http-keep-alive" | "tunnel" | "client-fin" | "server-fin" | "tarpit") => self.push(l, Outcome::Ignored { why: "client-side and connection timeouts: fleetsim models requests, not client connections".into() }),
                    _ => self.push(l, Outcome::Unsupported { lost: format!("`{}`: not known to fleetsim's HAProxy reader", l.written()) }),
                },
                "mode" => {
                    let outcome = if l.arg(0) == Some("tcp") { Outcome::Unsupported { lost: "mode tcp balances connections, not requests; read as requests".into() } } else { Outcome::Ignored { why: "HTTP mode: requests are balanced one by one, as fleetsim does".into() } };
                    self.push(l, outcome);
                }
                "hash-type" => self.push(l, Outcome::Ignored { why: "the hash function: fleetsim's `ip-hash` keys on the user".into() }),
                "fullconn" | "maxconn" => self.push(l, Outcome::Unsupported { lost: format!("`{}`: HAProxy makes excess connections wait; fleetsim has no proxy-side wait", l.kw()) }),
                "log" | "option" | "http-request" | "http-response" | "http-check" | "cookie" | "stats" | "errorfile" | "compression" | "http-reuse" | "acl" | "use_backend" | "default_backend" | "bind" | "capture" | "unique-id-format" | "description" | "stick-table" | "stick" | "monitor-uri" | "redirect" | "server-template" | "balance-url-param" | "no" => {
                    let why = match l.kw() {
                        "log" | "capture" | "unique-id-format" | "description" => "logging",
                        "stats" => "the statistics page",
                        "bind" | "acl" | "use_backend" | "default_backend" | "redirect" => "where requests come in and which backend they go to",
                        "server-template" => "servers from DNS records: give them as `server` lines",
                        "stick-table" | "stick" => "stickiness and counters: not modelled (rate limits by tables are not read)",
                        _ => "headers, checks' content, cookies and protocol options",
                    };
                    let outcome = if matches!(l.kw(), "server-template" | "stick-table" | "stick") { Outcome::Unsupported { lost: why.into() } } else { Outcome::Ignored { why: why.into() } };
                    self.push(l, outcome);
                }
                _ => self.push(l, Outcome::Unsupported { lost: format!("`{}` is not known to fleetsim's HAProxy reader; if it shapes load, failures or capacity, the simulation misses it", l.kw()) }),
            }
        }
        // The servers.
        let mut n = 0usize;
        let mut weighted = Map::new();
        let mut checked: Option<ServerOpts> = None;
        let mut mixed_checks = false;
        for (l, o) in &servers {
            if o.disabled {
                self.push(
                    l,
                    Outcome::Ignored {
                        why: "disabled: HAProxy sends it nothing, so it is not in the fleet".into(),
                    },
                );
                continue;
            }
            if o.backup {
                self.push(l, Outcome::Unsupported { lost: "a backup server takes requests only while every active one is down; it is left out of the fleet".into() });
                continue;
            }
            if o.weight != 1 {
                weighted.insert(format!("{name}/{n}"), json!(o.weight));
            }
            // The first checked server's settings; any server that differs
            // (unchecked, or checked otherwise) is reported.
            match (&checked, o.check) {
                (None, true) => {
                    mixed_checks |= n > 0;
                    checked = Some(o.clone());
                }
                (Some(c), true) if c.inter == o.inter && c.rise == o.rise && c.fall == o.fall => {}
                (None, false) => {}
                _ => mixed_checks = true,
            }
            self.push(
                l,
                super::mapped(
                    &[&format!("regions.{name}.instances")],
                    Some(format!("instance `{name}/{n}`")),
                ),
            );
            n += 1;
        }
        if n == 0 {
            return Err(self.bad(&sec.head.at, format!("backend `{name}` has no server that takes requests (every one is `backup` or `disabled`)")));
        }
        self.set(&["regions", &name, "instances"], json!(n));
        self.report.push(Mapping {
            at: sec.head.at.clone(),
            directive: sec.head.written(),
            outcome: super::mapped(
                &[&format!("regions.{name}")],
                Some(format!(
                    "one region of {n} instance(s), `{name}/0` onwards in server order"
                )),
            ),
        });
        if weighted.values().any(|w| w == &json!(0)) {
            self.report.push(Mapping { at: sec.head.at.clone(), directive: "weight 0 (a server)".into(), outcome: Outcome::Unsupported { lost: "a server of weight 0 takes no new requests; fleetsim weights are at least 1: it is read as 1".into() } });
            for w in weighted.values_mut() {
                if *w == json!(0) {
                    *w = json!(1);
                }
            }
            weighted.retain(|_, w| w != &json!(1));
        }
        let (strategy, note) = match &balance {
            Some((l, s, note)) => {
                self.push(l, super::mapped(&["loadBalancing.strategy"], note.clone()));
                (*s, None)
            }
            None => (
                "round-robin",
                Some("roundrobin (HAProxy's default)".to_string()),
            ),
        };
        let strategy = if strategy == "round-robin" && !weighted.is_empty() {
            "weighted"
        } else {
            strategy
        };
        self.set(&["loadBalancing", "strategy"], json!(strategy));
        if !weighted.is_empty() {
            self.set(&["loadBalancing", "weighted"], Value::Object(weighted));
        }
        if let Some(n) = note {
            self.report.push(Mapping {
                at: sec.head.at.clone(),
                directive: format!("balance {n}"),
                outcome: super::mapped(&["loadBalancing.strategy"], None),
            });
        }
        if let Some(c) = checked {
            if mixed_checks {
                self.report.push(Mapping { at: sec.head.at.clone(), directive: "check (the servers differ)".into(), outcome: Outcome::Unsupported { lost: "only some servers are checked, or with different inter/rise/fall; fleetsim checks every instance alike: the first checked server's".into() } });
            }
            self.set(&["healthCheck", "interval"], json!(c.inter));
            self.set(
                &["healthCheck", "timeout"],
                json!(t_check.clone().unwrap_or_else(|| c.inter.clone())),
            );
            self.set(&["healthCheck", "healthyThreshold"], json!(c.rise));
            self.set(&["healthCheck", "unhealthyThreshold"], json!(c.fall));
        }
        // Retries: on a failed connection (HAProxy's default `retry-on
        // conn-failure`), after min(timeout connect, 1s).
        let mut on = vec!["connect-failure"];
        if let Some(l) = retry_on {
            on.clear();
            let mut lost = Vec::new();
            for w in l.words.iter().skip(1) {
                match w.0.as_str() {
                    "conn-failure" => on.push("connect-failure"),
                    "500" | "502" | "503" | "504" | "all-retryable-errors" => {
                        if !on.contains(&"5xx") {
                            on.push("5xx");
                        }
                        if w.0 == "all-retryable-errors" && !on.contains(&"connect-failure") {
                            on.insert(0, "connect-failure");
                        }
                    }
                    "none" => {}
                    other => lost.push(other.to_string()),
                }
            }
            let outcome = if lost.is_empty() {
                super::mapped(&["retries.retryOn"], None)
            } else {
                Outcome::Unsupported {
                    lost: format!(
                        "retry-on {}: not modelled (the others are read)",
                        lost.join(" ")
                    ),
                }
            };
            self.push(l, outcome);
        }
        let attempts = retries.0.saturating_add(1).min(100);
        let pause = match t_connect
            .as_deref()
            .and_then(|t| strategies::DurationStr::parse(t).ok())
        {
            Some(d)
                if d.nanos() < strategies::Nanos::from_secs(1)
                    && d.nanos() > strategies::Nanos::ZERO =>
            {
                t_connect.clone().unwrap_or_default()
            }
            _ => "1s".to_string(),
        };
        let retry_note = format!(
            "on failed connections, {} after a pause of {pause} (min(timeout connect, 1s)){}",
            if retries.1.is_some() {
                "as written"
            } else {
                "3 times (HAProxy's default)"
            },
            if redispatch {
                ""
            } else {
                "; without option redispatch HAProxy retries the same server, fleetsim picks anew"
            }
        );
        if attempts > 1 && !on.is_empty() && n > 0 {
            self.set(&["retries", "maxAttempts"], json!(attempts));
            self.set(&["retries", "retryOn"], json!(on));
            self.set(
                &["retries", "backoff"],
                json!({ "base": pause, "max": pause, "jitter": "none" }),
            );
        }
        match retries.1 {
            Some(l) => self.push(l, super::mapped(&["retries.maxAttempts"], Some(retry_note))),
            None => self.report.push(Mapping {
                at: sec.head.at.clone(),
                directive: "retries 3 (HAProxy's default)".into(),
                outcome: super::mapped(&["retries"], Some(retry_note)),
            }),
        }
        if let Some((t, l)) = t_server {
            self.set(&["limits", "requestTimeout"], json!(t));
            self.push(l, super::mapped(&["limits.requestTimeout"], Some("an LLM answer arrives whole, so the server's inactivity timeout bounds the whole answer".into())));
        }
        Ok(())
    }
}

fn parse_count(v: &str) -> Option<u64> {
    v.parse().ok()
}

/// A HAProxy time (`500` is milliseconds; `us`, `ms`, `s`, `m`, `h`, `d`)
/// as a fleetsim duration.
fn haproxy_time(v: &str) -> Option<String> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = match unit {
        "" | "ms" => "ms",
        "us" => "us",
        "s" => "s",
        "m" => "m",
        "h" => "h",
        "d" => "d",
        _ => return None,
    };
    Some(format!("{n}{unit}"))
}

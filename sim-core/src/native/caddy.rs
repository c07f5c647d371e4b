//! Caddyfile: one `reverse_proxy` and its subdirectives.
//!
//! Reference: Caddy's `reverse_proxy` directive documentation and
//! `modules/caddyhttp/reverseproxy` (selection policies, `healthchecks.go`,
//! the retry loop of `reverseproxy.go`). `caddy adapt` is the judge of
//! the grammar in CI.
//!
//! | subdirective | becomes |
//! |---|---|
//! | the upstreams (arguments and `to`) | `deployment.regions.backends.instances`, instance `backends/i` for the i-th |
//! | `lb_policy` (default `random`) | `loadBalancing.strategy` (`cookie`: `sessionAffinity`) |
//! | `lb_retries`, `lb_try_duration`, `lb_try_interval` (250ms) | `retries` on failed connections |
//! | `health_uri`, `health_interval` (30s), `health_timeout` (5s), `health_passes`, `health_fails` (1) | `healthCheck` |
//! | `fail_duration`, `max_fails` (1), `unhealthy_status 5xx` | `passiveHealth` (`type: caddy`) |
//! | `unhealthy_request_count` | `limits.maxConnectionsPerInstance` |

use super::{mapped, native_error, Format, Import, Location, Mapping, Outcome};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use std::path::Path;

/// A directive: its words on one line, and its block.
#[derive(Debug, Clone)]
struct Dir {
    words: Vec<(String, Location)>,
    block: Option<Vec<Dir>>,
}

impl Dir {
    fn name(&self) -> &str {
        &self.words[0].0
    }

    fn at(&self) -> Location {
        self.words[0].1.clone()
    }

    fn args(&self) -> impl Iterator<Item = &str> {
        self.words.iter().skip(1).map(|w| w.0.as_str())
    }

    fn written(&self) -> String {
        let mut s = self
            .words
            .iter()
            .map(|w| w.0.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if self.block.is_some() {
            s.push_str(" { ... }");
        }
        s
    }
}

/// Words by line, with `{` and `}` as words of their own.
fn lex(text: &str, path: &Path) -> Result<Vec<Vec<(String, Location)>>, ScenarioError> {
    let mut lines = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut placeholders = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let mut words = Vec::new();
        let chars: Vec<char> = raw.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            if c == '#' {
                break;
            }
            let at = Location {
                line: n + 1,
                column: i + 1,
            };
            let mut w = String::new();
            if c == '"' || c == '`' {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if c == '"' && chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    w.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(native_error(
                        path,
                        Format::Caddy,
                        &at,
                        format!("a quoted word opened here has no closing {c}"),
                    ));
                }
                i += 1;
            } else {
                while i < chars.len() && !chars[i].is_whitespace() {
                    w.push(chars[i]);
                    i += 1;
                }
            }
            if let Some(p) = w.find("{$") {
                let close = w[p..].find('}').map(|e| p + e);
                let end = close.map_or(w.len(), |c| c + 1);
                let var = &w[p + 2..close.unwrap_or(w.len()).max(p + 2)];
                match var.split_once(':') {
                    Some((_, default)) => w = format!("{}{default}{}", &w[..p], &w[end..]),
                    None => placeholders.push((at.clone(), w[p..end].to_string())),
                }
            }
            words.push((w, at));
        }
        if !words.is_empty() {
            lines.push(words);
        }
    }
    if let Some((at, p)) = placeholders.first() {
        let more: Vec<String> = placeholders[1..]
            .iter()
            .map(|(a, p)| format!("`{p}` at {}:{}", a.line, a.column))
            .collect();
        let also = if more.is_empty() {
            String::new()
        } else {
            format!("; also {}", more.join(", "))
        };
        return Err(native_error(path, Format::Caddy, at, format!("the environment placeholder `{p}` has no default: Caddy fills it from its environment, fleetsim cannot; give a value (or `{{$VAR:default}}`){also}")));
    }
    Ok(lines)
}

fn parse(lines: Vec<Vec<(String, Location)>>, path: &Path) -> Result<Vec<Dir>, ScenarioError> {
    let mut it = lines.into_iter().peekable();
    let out = block(&mut it, path, None, 0)?;
    Ok(out)
}

fn block(
    it: &mut std::iter::Peekable<std::vec::IntoIter<Vec<(String, Location)>>>,
    path: &Path,
    opened: Option<&Location>,
    depth: usize,
) -> Result<Vec<Dir>, ScenarioError> {
    if depth > 64 {
        let at = opened.cloned().unwrap_or(Location { line: 1, column: 1 });
        return Err(native_error(
            path,
            Format::Caddy,
            &at,
            "blocks nested more than 64 deep",
        ));
    }
    let mut out = Vec::new();
    while let Some(mut words) = it.next() {
        if words.len() == 1 && words[0].0 == "}" {
            return match opened {
                Some(_) => Ok(out),
                None => Err(native_error(
                    path,
                    Format::Caddy,
                    &words[0].1,
                    "unexpected `}`: no block is open here",
                )),
            };
        }
        let opens = words.last().is_some_and(|w| w.0 == "{");
        let closes_inline = words.len() >= 2
            && words.last().is_some_and(|w| w.0 == "}")
            && words.iter().any(|w| w.0 == "{");
        if closes_inline {
            // `name { a b }` on one line.
            let open = words
                .iter()
                .position(|w| w.0 == "{")
                .expect("has an opening brace");
            let inner: Vec<(String, Location)> = words[open + 1..words.len() - 1].to_vec();
            words.truncate(open);
            let block = if inner.is_empty() {
                vec![]
            } else {
                vec![Dir {
                    words: inner,
                    block: None,
                }]
            };
            out.push(Dir {
                words,
                block: Some(block),
            });
            continue;
        }
        if opens {
            let at = words.pop().expect("the brace").1;
            let inner = block(it, path, Some(&at), depth + 1)?;
            if words.is_empty() {
                // The global options block.
                words.push(("{".into(), at));
            }
            out.push(Dir {
                words,
                block: Some(inner),
            });
        } else {
            out.push(Dir { words, block: None });
        }
    }
    match opened {
        None => Ok(out),
        Some(at) => Err(native_error(
            path,
            Format::Caddy,
            at,
            "this block is never closed: expected `}`",
        )),
    }
}

/// A `reverse_proxy` and where it is (site, then handle matchers).
struct Found<'a> {
    context: String,
    dir: &'a Dir,
}

fn collect<'a>(
    ds: &'a [Dir],
    context: &str,
    snippets: &'a [Dir],
    out: &mut Vec<Found<'a>>,
    depth: usize,
) {
    for d in ds {
        match d.name() {
            "reverse_proxy" => out.push(Found {
                context: context.to_string(),
                dir: d,
            }),
            "import" if depth < 8 => {
                let name = d.args().next().unwrap_or("");
                if let Some(s) = snippets.iter().find(|s| s.name() == format!("({name})")) {
                    collect(
                        s.block.as_deref().unwrap_or_default(),
                        context,
                        snippets,
                        out,
                        depth + 1,
                    );
                }
            }
            n if n.starts_with('(') => {}
            "{" => {}
            _ => {
                if let Some(b) = &d.block {
                    let here = if context.is_empty() {
                        d.words
                            .iter()
                            .map(|w| w.0.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    } else {
                        format!(
                            "{context} > {}",
                            d.words
                                .iter()
                                .map(|w| w.0.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    };
                    collect(b, &here, snippets, out, depth);
                }
            }
        }
    }
}

/// Reads the `reverse_proxy` `wanted` names (its site or matcher, e.g.
/// `/api/*`), or the file's only one.
pub(crate) fn import(
    text: &str,
    path: &Path,
    wanted: Option<&str>,
) -> Result<Import, ScenarioError> {
    let tree = parse(lex(text, path)?, path)?;
    let snippets: Vec<Dir> = tree
        .iter()
        .filter(|d| d.name().starts_with('('))
        .cloned()
        .collect();
    let mut found = Vec::new();
    collect(&tree, "", &snippets, &mut found, 0);
    let start = Location { line: 1, column: 1 };
    let label = |f: &Found<'_>| {
        let own: Vec<&str> = f
            .dir
            .args()
            .filter(|a| a.starts_with('/') || a.starts_with('@') || *a == "*")
            .collect();
        let mut l = f.context.clone();
        if !own.is_empty() {
            l.push_str(&format!(" > reverse_proxy {}", own.join(" ")));
        }
        l
    };
    let chosen = match wanted {
        Some(w) => {
            let exact: Vec<&Found<'_>> = found.iter().filter(|f| label(f) == w).collect();
            let ending: Vec<&Found<'_>> = found.iter().filter(|f| label(f).ends_with(w)).collect();
            let within: Vec<&Found<'_>> = found.iter().filter(|f| label(f).contains(w)).collect();
            let all: Vec<String> = found.iter().map(|f| format!("`{}`", label(f))).collect();
            match (exact.as_slice(), ending.as_slice(), within.as_slice()) {
                ([one, ..], _, _) | ([], [one], _) | ([], [], [one]) => *one,
                ([], [], []) => {
                    return Err(native_error(
                        path,
                        Format::Caddy,
                        &start,
                        format!(
                            "no reverse_proxy under `{w}`; the file has: {}",
                            all.join(", ")
                        ),
                    ))
                }
                _ => {
                    return Err(native_error(
                        path,
                        Format::Caddy,
                        &start,
                        format!(
                            "`{w}` names more than one reverse_proxy; give one of: {}",
                            all.join(", ")
                        ),
                    ))
                }
            }
        }
        None => match found.as_slice() {
            [one] => one,
            [] => {
                return Err(native_error(
                    path,
                    Format::Caddy,
                    &start,
                    "no `reverse_proxy`: fleetsim reads its upstreams and how it balances them",
                ))
            }
            _ => {
                let all: Vec<String> = found
                    .iter()
                    .map(|f| format!("`{}` (line {})", label(f), f.dir.at().line))
                    .collect();
                return Err(native_error(path, Format::Caddy, &found[1].dir.at(), format!("{} reverse_proxy directives: {}; say which with --upstream (a site or matcher, e.g. /api/*)", found.len(), all.join(", "))));
            }
        },
    };
    let mut r = Reader {
        path,
        report: Vec::new(),
        dep: Map::new(),
    };
    r.reverse_proxy(chosen.dir)?;
    for f in &found {
        if !std::ptr::eq(f.dir, chosen.dir) {
            r.report.push(Mapping {
                at: f.dir.at(),
                directive: f.dir.written(),
                outcome: Outcome::Ignored {
                    why: format!("another route (`{}`), not the one read", label(f)),
                },
            });
        }
    }
    r.report.sort_by_key(|m| (m.at.line, m.at.column));
    Ok(Import {
        file: path.to_path_buf(),
        format: Format::Caddy,
        source: format!("reverse_proxy in `{}`", label(chosen)),
        fragment: json!({ "deployment": Value::Object(r.dep) }),
        report: r.report,
    })
}

struct Reader<'a> {
    path: &'a Path,
    report: Vec<Mapping>,
    dep: Map<String, Value>,
}

/// A Go duration (`5s`, `250ms`, `1m30s`) as a fleetsim duration.
fn go_duration(v: &str) -> Option<String> {
    let d = strategies::DurationStr::parse(v).ok()?;
    Some(d.to_string())
}

impl Reader<'_> {
    fn push(&mut self, d: &Dir, outcome: Outcome) {
        self.report.push(Mapping {
            at: d.at(),
            directive: d.written(),
            outcome,
        });
    }

    fn set(&mut self, path: &[&str], v: Value) {
        super::set_path(&mut self.dep, path, v);
    }

    fn bad(&self, d: &Dir, msg: impl Into<String>) -> ScenarioError {
        native_error(self.path, Format::Caddy, &d.at(), msg)
    }

    fn one(&self, d: &Dir) -> Result<String, ScenarioError> {
        d.args()
            .next()
            .map(str::to_string)
            .ok_or_else(|| self.bad(d, format!("`{}` needs a value", d.name())))
    }

    fn duration(&self, d: &Dir) -> Result<String, ScenarioError> {
        let v = self.one(d)?;
        go_duration(&v).ok_or_else(|| {
            self.bad(
                d,
                format!(
                    "`{} {v}`: expected a duration such as 5s, 250ms or 1m30s",
                    d.name()
                ),
            )
        })
    }

    fn count(&self, d: &Dir) -> Result<u64, ScenarioError> {
        let v = self.one(d)?;
        v.parse()
            .map_err(|_| self.bad(d, format!("`{} {v}`: expected a whole number", d.name())))
    }

    fn reverse_proxy(&mut self, rp: &Dir) -> Result<(), ScenarioError> {
        let mut upstreams: Vec<String> = rp
            .args()
            .filter(|a| !(a.starts_with('/') || a.starts_with('@') || *a == "*"))
            .map(str::to_string)
            .collect();
        let (mut policy, mut policy_dir): (Vec<String>, Option<&Dir>) =
            (vec!["random".into()], None);
        let (mut retries, mut try_duration, mut try_interval) =
            (0u64, None::<String>, None::<String>);
        let mut active = false;
        let mut health: Option<Map<String, Value>> = None;
        let (mut fail_duration, mut max_fails, mut app_errors) = (None::<String>, 1u64, false);
        let body = rp.block.as_deref().unwrap_or_default();
        for d in body {
            match d.name() {
                "to" => {
                    upstreams.extend(d.args().map(str::to_string));
                    self.push(d, mapped(&["regions.backends.instances"], None));
                }
                "lb_policy" => {
                    policy = d.args().map(str::to_string).collect();
                    if policy.is_empty() {
                        return Err(self.bad(d, "`lb_policy` needs a policy name (random, round_robin, least_conn, first, ...)"));
                    }
                    policy_dir = Some(d);
                }
                "lb_retries" => {
                    retries = self.count(d)?;
                    self.push(d, mapped(&["retries.maxAttempts"], None));
                }
                "lb_try_duration" => {
                    try_duration = Some(self.duration(d)?);
                    self.push(d, mapped(&["retries"], Some("a failed dial is retried until this long has passed".into())));
                }
                "lb_try_interval" => {
                    try_interval = Some(self.duration(d)?);
                    self.push(d, mapped(&["retries.backoff"], None));
                }
                "health_uri" | "health_path" | "health_port" => {
                    active = true;
                    health.get_or_insert_with(Map::new);
                    self.push(d, mapped(&["healthCheck"], Some("active checks: a live instance passes, a crashed one fails at once, a hung one at the timeout".into())));
                }
                "health_interval" | "health_timeout" => {
                    let v = self.duration(d)?;
                    let k = if d.name() == "health_interval" { "interval" } else { "timeout" };
                    health.get_or_insert_with(Map::new).insert(k.into(), json!(v));
                    self.push(d, mapped(&[&format!("healthCheck.{k}")], None));
                }
                "health_passes" | "health_fails" => {
                    let n = self.count(d)?;
                    let k = if d.name() == "health_passes" { "healthyThreshold" } else { "unhealthyThreshold" };
                    health.get_or_insert_with(Map::new).insert(k.into(), json!(n));
                    self.push(d, mapped(&[&format!("healthCheck.{k}")], None));
                }
                "health_status" | "health_body" | "health_headers" | "health_follow_redirects" | "health_method" | "health_request_body" => self.push(d, Outcome::Ignored { why: "what a check asks and expects: a fleetsim check passes while the instance is up".into() }),
                "fail_duration" => {
                    fail_duration = Some(self.duration(d)?);
                    self.push(d, mapped(&["passiveHealth"], Some("each failure is remembered this long; an instance with max_fails of them is out".into())));
                }
                "max_fails" => {
                    max_fails = self.count(d)?;
                    self.push(d, mapped(&["passiveHealth.maxFails"], None));
                }
                "unhealthy_status" => {
                    app_errors = d.args().any(|s| s.starts_with('5'));
                    self.push(d, mapped(&["passiveHealth.countApplicationErrors"], Some("an LLM error is a 5xx answer".into())));
                }
                "unhealthy_request_count" => {
                    let n = self.count(d)?;
                    self.set(&["limits", "maxConnectionsPerInstance"], json!(n));
                    self.push(d, mapped(&["limits.maxConnectionsPerInstance"], Some("an upstream with this many requests at once takes no more".into())));
                }
                "unhealthy_latency" => self.push(d, Outcome::Unsupported { lost: "a slow answer counted as a failure by passive health: fleetsim counts failed connections, timeouts and (optionally) errors".into() }),
                "lb_retry_match" => self.push(d, Outcome::Unsupported { lost: "which requests may be retried: fleetsim retries failed connections only".into() }),
                "dynamic" => self.push(d, Outcome::Unsupported { lost: "upstreams found at run time: give them as a list".into() }),
                "header_up" | "header_down" | "flush_interval" | "buffer_requests" | "buffer_responses" | "max_buffer_size" | "transport" | "trusted_proxies" | "request_buffers" | "response_buffers" | "stream_timeout" | "stream_close_delay" | "handle_response" | "replace_status" | "copy_response" | "copy_response_headers" | "method" | "rewrite" | "verbose_logs" => self.push(d, Outcome::Ignored { why: "headers, buffering, transport and responses: no simulation meaning".into() }),
                other => self.push(d, Outcome::Unsupported { lost: format!("`{other}` is not known to fleetsim's Caddyfile reader; if it shapes load, failures or capacity, the simulation misses it") }),
            }
        }
        if upstreams.is_empty() {
            return Err(self.bad(
                rp,
                "reverse_proxy without upstreams: give them as arguments or with `to`",
            ));
        }
        let n = upstreams.len();
        self.set(&["regions", "backends", "instances"], json!(n));
        self.push(
            rp,
            mapped(
                &["regions.backends"],
                Some(format!(
                    "{n} upstream(s): instances `backends/0` onwards, in order ({})",
                    upstreams.join(", ")
                )),
            ),
        );
        // The selection policy.
        let name = policy[0].as_str();
        let (strategy, note, lost): (&str, Option<String>, Option<String>) = match name {
            "random" => ("random", None, None),
            "random_choose" => {
                let k = policy.get(1).and_then(|s| s.parse::<u64>().ok()).unwrap_or(2);
                if k > 2 {
                    self.set(&["loadBalancing", "choiceCount"], json!(k));
                }
                ("power-of-two", Some(format!("the least loaded of {k} drawn at random")), None)
            }
            "first" => ("first", None, None),
            "round_robin" => ("round-robin", None, None),
            "weighted_round_robin" => {
                let w: Vec<u64> = policy[1..].iter().filter_map(|s| s.parse().ok()).collect();
                let weighted: Map<String, Value> = w.iter().enumerate().filter(|(_, &x)| x != 1).map(|(i, &x)| (format!("backends/{i}"), json!(x.max(1)))).collect();
                if !weighted.is_empty() {
                    self.set(&["loadBalancing", "weighted"], Value::Object(weighted));
                    ("weighted", None, None)
                } else {
                    ("round-robin", None, None)
                }
            }
            "least_conn" => ("least-connections", None, None),
            "ip_hash" | "client_ip_hash" => ("ip-hash", Some("the user's address is hashed (give workload.users)".into()), None),
            "cookie" => {
                self.set(&["loadBalancing", "sessionAffinity", "type"], json!("cookie"));
                ("random", Some("sticky by cookie; a client without one gets a random upstream (give workload.users)".into()), None)
            }
            "uri_hash" | "query" | "header" => ("random", None, Some(format!("`lb_policy {name}` hashes a request property fleetsim does not model; read as random"))),
            other => ("random", None, Some(format!("`lb_policy {other}` is not known; read as random"))),
        };
        self.set(&["loadBalancing", "strategy"], json!(strategy));
        match (policy_dir, lost) {
            (Some(d), Some(l)) => self.push(d, Outcome::Unsupported { lost: l }),
            (Some(d), None) => self.push(d, mapped(&["loadBalancing.strategy"], note)),
            (None, _) => self.report.push(Mapping {
                at: rp.at(),
                directive: "lb_policy random (Caddy's default)".into(),
                outcome: mapped(&["loadBalancing.strategy"], None),
            }),
        }
        // Retries: a failed dial is tried again on another upstream, every
        // lb_try_interval, while lb_retries and lb_try_duration allow.
        // Caddy waits lb_try_interval (250ms) between tries only when it
        // tries for a duration; lb_retries alone tries again at once.
        let try_interval = match (&try_duration, try_interval) {
            (_, Some(i)) => i,
            (Some(_), None) => "250ms".to_string(),
            (None, None) => "1ms".to_string(),
        };
        let by_time = try_duration.as_ref().and_then(|t| {
            let t = strategies::DurationStr::parse(t).ok()?.nanos().0;
            let i = strategies::DurationStr::parse(&try_interval)
                .ok()?
                .nanos()
                .0
                .max(1);
            Some(t / i + 1)
        });
        let attempts = match (retries, by_time) {
            (0, None) => 1,
            (r, None) => r.saturating_add(1),
            (0, Some(t)) => t,
            (r, Some(t)) => r.saturating_add(1).min(t),
        }
        .min(100);
        if attempts > 1 {
            self.set(&["retries", "maxAttempts"], json!(attempts));
            self.set(&["retries", "retryOn"], json!(["connect-failure"]));
            self.set(
                &["retries", "backoff"],
                json!({ "base": try_interval, "max": try_interval, "jitter": "none" }),
            );
        }
        // Active checks run only with a URI, path or port to check.
        if let Some(mut h) = health.filter(|_| active) {
            h.entry("interval").or_insert(json!("30s"));
            h.entry("timeout").or_insert(json!("5s"));
            h.entry("healthyThreshold").or_insert(json!(1));
            h.entry("unhealthyThreshold").or_insert(json!(1));
            self.dep.insert("healthCheck".into(), Value::Object(h));
        }
        if let Some(f) = fail_duration {
            self.set(&["passiveHealth", "type"], json!("caddy"));
            self.set(&["passiveHealth", "failDuration"], json!(f));
            self.set(&["passiveHealth", "maxFails"], json!(max_fails));
            if app_errors {
                self.set(&["passiveHealth", "countApplicationErrors"], json!(true));
            }
        }
        Ok(())
    }
}

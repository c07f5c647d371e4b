//! Traefik services: a `loadBalancer` and its settings, and the
//! `weighted` and `failover` services over load balancers.

use super::super::mapped;
use super::super::tree::{duration_str, field, go_duration, join, reduce, Out};
use super::{ignored, local, lost};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};
use strategies::Nanos;

const GO: &str = "\"10s\", \"100ms\", \"1m30s\" or a number of seconds";
/// Deepest chain of services referring to services.
const MAX_DEPTH: usize = 8;

/// Servers of one region.
struct Group {
    region: String,
    priority: u64,
    /// (path, weight) of each server.
    servers: Vec<(String, u64)>,
    /// Whether its load balancer checks its servers (a failover needs it).
    checked: bool,
}

/// What one load balancer sets for the whole fleet.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    strategy: &'static str,
    health: Option<Value>,
    passive: Option<Value>,
    sticky: Option<Value>,
    timeout: Option<String>,
}

/// The services a `weighted`, `failover` or `mirroring` service names.
pub(crate) fn children(v: &Value) -> Vec<String> {
    let Some(m) = v.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, x) in m {
        match k.to_ascii_lowercase().as_str() {
            "weighted" | "highestrandomweight" => {
                let list = x
                    .as_object()
                    .and_then(|o| field(o, "services"))
                    .and_then(|(_, s)| s.as_array());
                for s in list.map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(n) = s
                        .as_object()
                        .and_then(|o| field(o, "name"))
                        .and_then(|(_, n)| n.as_str())
                    {
                        out.push(local(n).to_string());
                    }
                }
            }
            "failover" | "mirroring" => {
                if let Some(o) = x.as_object() {
                    for key in ["service", "fallback"] {
                        if let Some(n) = field(o, key).and_then(|(_, n)| n.as_str()) {
                            out.push(local(n).to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub(crate) struct Reader<'o, 'a, 's> {
    out: &'o mut Out<'a>,
    sp: String,
    services: &'s Map<String, Value>,
    hm: &'s Map<String, Value>,
    pub(crate) used: Vec<String>,
    pub(crate) transports: Vec<String>,
    timeouts: Vec<Option<String>>,
    settings: Option<(String, Settings)>,
    failover_main: Option<u64>,
}

impl<'o, 'a, 's> Reader<'o, 'a, 's> {
    pub(crate) fn new(
        out: &'o mut Out<'a>,
        sp: &str,
        services: &'s Map<String, Value>,
        hm: &'s Map<String, Value>,
    ) -> Self {
        Reader {
            out,
            sp: sp.to_string(),
            services,
            hm,
            used: Vec::new(),
            transports: Vec::new(),
            timeouts: Vec::new(),
            settings: None,
            failover_main: None,
        }
    }

    /// Reads the service `name` and writes the fleet it makes.
    pub(crate) fn read_root(&mut self, name: &str) -> Result<(), ScenarioError> {
        let groups = self.pool(name, 0)?;
        let total: usize = groups.iter().map(|g| g.servers.len()).sum();
        if total == 0 {
            return Err(self.out.bad(
                &join(&self.sp, name),
                format!("service `{name}` has no server that takes requests"),
            ));
        }
        // Weights matter within a region: reduced and written per region.
        let mut weights: Vec<u64> = Vec::new();
        for g in &groups {
            let mut w: Vec<u64> = g.servers.iter().map(|s| s.1).collect();
            reduce(&mut w);
            let differ = w.iter().any(|&x| x != w[0]);
            weights.extend(w.into_iter().map(|x| if differ { x } else { 1 }));
        }
        let mut weighted = Map::new();
        let mut regions = Map::new();
        let mut k = 0;
        for g in &groups {
            for (i, (p, _)) in g.servers.iter().enumerate() {
                let id = format!("{}/{i}", g.region);
                if weights[k] != 1 {
                    weighted.insert(id.clone(), json!(weights[k]));
                }
                k += 1;
                self.out.push(
                    p,
                    format!("server {id}"),
                    mapped(
                        &[&format!("regions.{}.instances", g.region)],
                        Some(format!("instance `{id}`")),
                    ),
                );
            }
            let mut reg = Map::new();
            reg.insert("instances".into(), json!(g.servers.len()));
            if g.priority > 0 {
                reg.insert("priority".into(), json!(g.priority));
            }
            regions.insert(g.region.clone(), Value::Object(reg));
        }
        self.out.set(&["regions"], Value::Object(regions));
        let s = self.settings.clone().map(|x| x.1).unwrap_or(Settings {
            strategy: "wrr",
            health: None,
            passive: None,
            sticky: None,
            timeout: None,
        });
        let base = match s.strategy {
            "wrr" if weighted.is_empty() => "round-robin",
            "wrr" => "weighted",
            other => other,
        };
        if base == "peak-ewma" && !weighted.is_empty() {
            self.out.push(
                &join(&self.sp, name),
                "server weights (leasttime)",
                lost("weights with leasttime: fleetsim's peak-ewma takes none"),
            );
            weighted.clear();
        }
        let mut lb = Map::new();
        match self.failover_main {
            Some(main) => {
                lb.insert("strategy".into(), json!("geographic"));
                lb.insert("localStrategy".into(), json!(base));
                lb.insert("overprovisioningFactor".into(), json!(main.max(1) as f64));
                lb.insert("panicThreshold".into(), json!(0));
            }
            None => {
                lb.insert("strategy".into(), json!(base));
            }
        }
        if !weighted.is_empty() {
            lb.insert("weighted".into(), Value::Object(weighted));
        }
        if let Some(a) = &s.sticky {
            lb.insert("sessionAffinity".into(), a.clone());
            if self.failover_main.is_some() {
                self.out.push(&join(&self.sp, name), "sticky (over a failover)", lost("Traefik's failover sends every session back to the main service when it recovers; fleetsim's sticky sessions stay on the fallback while it is healthy, until their ttl ends"));
            }
        }
        self.out.set(&["loadBalancing"], Value::Object(lb));
        for (key, v) in [("healthCheck", &s.health), ("passiveHealth", &s.passive)] {
            if let Some(v) = v {
                self.out.set(&[key], v.clone());
            }
        }
        if let Some(t) = &s.timeout {
            self.out.set(&["limits", "requestTimeout"], json!(t));
        }
        Ok(())
    }

    /// The servers of service `name`, by region.
    fn pool(&mut self, name: &str, depth: usize) -> Result<Vec<Group>, ScenarioError> {
        let p = join(&self.sp, name);
        if depth > MAX_DEPTH || self.used.iter().any(|u| u == name) {
            return Err(self.out.bad(&p, format!("service `{name}` is reached twice or through more than {MAX_DEPTH} services (a cycle?)")));
        }
        let services = self.services;
        let Some(v) = services.get(name) else {
            return Err(self.out.bad(
                &self.sp,
                format!(
                    "a service refers to `{name}`, which is not under http.services in this file"
                ),
            ));
        };
        self.used.push(name.to_string());
        let sm = self.out.object(&p, v)?;
        let mut groups = None;
        for (k, x) in sm {
            let kp = join(&p, k);
            match k.to_ascii_lowercase().as_str() {
                "loadbalancer" => groups = Some(vec![self.load_balancer(name, &kp, x)?]),
                "weighted" => groups = Some(self.weighted(name, &kp, x, depth)?),
                "failover" => groups = Some(self.failover(&kp, x, depth)?),
                "mirroring" | "highestrandomweight" if depth == 0 => return Err(self.out.bad(&kp, format!("a `{k}` service: fleetsim reads loadBalancer, weighted and failover services"))),
                "mirroring" | "highestrandomweight" => {
                    self.out.key(&p, k, x, lost(format!("a `{k}` service: not modelled, left out")));
                    groups = Some(Vec::new());
                }
                _ => self.out.key(&p, k, x, lost("not known to fleetsim's Traefik reader")),
            }
        }
        groups.ok_or_else(|| {
            self.out.bad(
                &p,
                format!("service `{name}` has no loadBalancer, weighted or failover"),
            )
        })
    }

    fn weighted(
        &mut self,
        name: &str,
        p: &str,
        v: &Value,
        depth: usize,
    ) -> Result<Vec<Group>, ScenarioError> {
        let m = self.out.object(p, v)?;
        let mut children: Vec<(u64, Vec<Group>)> = Vec::new();
        for (k, x) in m {
            let kp = join(p, k);
            match k.to_ascii_lowercase().as_str() {
                "services" => {
                    for (i, c) in self.out.list(&kp, x)?.iter().enumerate() {
                        let cp = format!("{kp}[{i}]");
                        let cm = self.out.object(&cp, c)?;
                        let cname = match field(cm, "name") {
                            Some((nk, n)) => local(self.out.string(&join(&cp, nk), n)?).to_string(),
                            None => return Err(self.out.bad(&cp, "a weighted service entry without `name`")),
                        };
                        let w = match field(cm, "weight") {
                            Some((wk, wv)) => {
                                let w = self.out.count(&join(&cp, wk), wv, 0, 1_000_000)?;
                                self.out.key(&cp, wk, wv, mapped(&["loadBalancing.weighted"], None));
                                w
                            }
                            None => 1,
                        };
                        let groups = self.pool(&cname, depth + 1)?;
                        if w == 0 {
                            self.out.push(&cp, format!("service {cname} weight 0"), ignored("weight 0: Traefik sends it nothing"));
                            continue;
                        }
                        if groups.iter().any(|g| g.priority > 0) {
                            self.out.push(&cp, format!("service {cname}"), lost("a failover under a weighted service: its servers are left out"));
                            continue;
                        }
                        self.out.push(&cp, format!("service {cname} weight {w}"), mapped(&["loadBalancing.weighted"], Some("the child's share, split among its servers by their weights".into())));
                        children.push((w, groups));
                    }
                }
                "sticky" => {
                    let a = self.sticky(&kp, x)?;
                    self.out.key(p, k, x, mapped(&["loadBalancing.sessionAffinity"], Some("a session sticks to a server, as the child's own cookie would keep it".into())));
                    self.merge_sticky(a);
                }
                "healthcheck" => self.out.key(p, k, x, mapped(&["healthCheck"], Some("the children's health is seen: a child with no healthy server takes nothing".into()))),
                _ => self.out.key(p, k, x, lost("not known to fleetsim's Traefik reader")),
            }
        }
        // Combined weight: child weight × server weight × lcm / child sum.
        let sums: Vec<u64> = children
            .iter()
            .map(|(_, g)| {
                g.iter()
                    .flat_map(|g| &g.servers)
                    .map(|s| s.1)
                    .sum::<u64>()
                    .max(1)
            })
            .collect();
        let lcm = sums.iter().try_fold(1u64, |l, &s| {
            l.checked_mul(s / super::super::tree::gcd(l, s))
        });
        // One region: fleetsim's priority levels are regions, so the
        // children share the weighted service's.
        let mut out = Group {
            region: name.to_string(),
            priority: 0,
            servers: Vec::new(),
            checked: true,
        };
        for ((w, groups), s) in children.into_iter().zip(&sums) {
            for g in groups {
                out.checked &= g.checked;
                for (sp, sw) in g.servers {
                    let c = lcm
                        .and_then(|l| w.checked_mul(sw)?.checked_mul(l / s))
                        .unwrap_or(sw)
                        .min(1_000_000);
                    out.servers.push((sp, c));
                }
            }
        }
        if lcm.is_none() {
            self.out.push(
                p,
                "weighted (combined weights)",
                lost("the combined weights overflow: servers' own weights are read"),
            );
        }
        self.out.push(p, format!("weighted {name}"), mapped(&[&format!("regions.{name}")], Some("one region of the children's servers, each weighing its child's share split by the servers' weights (exact while all are healthy)".into())));
        Ok(vec![out])
    }

    fn failover(&mut self, p: &str, v: &Value, depth: usize) -> Result<Vec<Group>, ScenarioError> {
        let m = self.out.object(p, v)?;
        let name_at = |me: &Self, k: &str| -> Result<Option<(String, String)>, ScenarioError> {
            match field(m, k) {
                Some((kk, x)) => Ok(Some((
                    local(me.out.string(&join(p, kk), x)?).to_string(),
                    join(p, kk),
                ))),
                None => Ok(None),
            }
        };
        let (main, mp) = name_at(self, "service")?
            .ok_or_else(|| self.out.bad(p, "a failover without `service`"))?;
        let fallback = name_at(self, "fallback")?;
        let mut groups = self.pool(&main, depth + 1)?;
        let checked = groups.iter().all(|g| g.checked);
        let main_count: usize = groups.iter().map(|g| g.servers.len()).sum();
        self.out.push(
            &mp,
            format!("service: {main}"),
            mapped(&["regions"], Some("the main service, priority 0".into())),
        );
        if let Some((fb, fp)) = fallback {
            let top = groups.iter().map(|g| g.priority).max().unwrap_or(0);
            let mut fbg = self.pool(&fb, depth + 1)?;
            if checked && main_count > 0 {
                for g in &mut fbg {
                    g.priority += top + 1;
                }
                self.out.push(&fp, format!("fallback: {fb}"), mapped(&["regions", "loadBalancing.strategy"], Some("geographic: the fallback's region takes the traffic only while the main service has no healthy server (overprovisioningFactor = the main's server count, panic off)".into())));
                self.failover_main = Some(main_count as u64);
                groups.extend(fbg);
            } else {
                self.out.push(&fp, format!("fallback: {fb}"), ignored("never used: the main service has no healthCheck, so Traefik never sees it down"));
            }
        }
        for (k, x) in m {
            match k.to_ascii_lowercase().as_str() {
                "service" | "fallback" => {}
                "healthcheck" => self.out.key(p, k, x, mapped(&["healthCheck"], Some("the main service's health decides the failover".into()))),
                "errors" => self.out.key(p, k, x, lost("failover on error statuses of an answer: fleetsim fails over on health only")),
                _ => self.out.key(p, k, x, lost("not known to fleetsim's Traefik reader")),
            }
        }
        Ok(groups)
    }

    fn load_balancer(&mut self, name: &str, p: &str, v: &Value) -> Result<Group, ScenarioError> {
        let m = self.out.object(p, v)?;
        let mut s = Settings {
            strategy: "wrr",
            health: None,
            passive: None,
            sticky: None,
            timeout: None,
        };
        let mut servers = Vec::new();
        for (k, x) in m {
            let kp = join(p, k);
            match k.to_ascii_lowercase().as_str() {
                "servers" => {
                    for (i, srv) in self.out.list(&kp, x)?.iter().enumerate() {
                        let sp = format!("{kp}[{i}]");
                        if let Some(w) = self.server(&sp, srv)? {
                            servers.push((sp, w));
                        }
                    }
                }
                "strategy" => s.strategy = self.strategy(p, k, x)?,
                "healthcheck" => s.health = Some(self.health(p, k, x)?),
                "passivehealthcheck" => s.passive = Some(self.passive(p, k, x)?),
                "sticky" => {
                    s.sticky = self.sticky(&kp, x)?;
                    self.out.key(p, k, x, mapped(&["loadBalancing.sessionAffinity"], Some("a cookie pins each user's session to a server (give workload.users); Traefik's cookie expires maxAge after it is set, fleetsim's ttl slides with each request".into())));
                }
                "serverstransport" => s.timeout = self.transport(p, k, x)?,
                "passhostheader" | "responseforwarding" => self.out.key(
                    p,
                    k,
                    x,
                    ignored("headers and flushing: no simulation meaning"),
                ),
                _ => self
                    .out
                    .key(p, k, x, lost("not known to fleetsim's Traefik reader")),
            }
        }
        let checked = s.health.is_some() || s.passive.is_some();
        match &self.settings {
            None => self.settings = Some((name.to_string(), s)),
            Some((first, f)) if *f == s => {
                let _ = first;
            }
            Some((first, _)) => {
                let first = first.clone();
                self.out.push(p, format!("loadBalancer of {name}"), lost(format!("its strategy, health checks, stickiness or timeouts differ from `{first}`'s: fleetsim runs one balancer for the fleet, `{first}`'s")));
            }
        }
        Ok(Group {
            region: name.to_string(),
            priority: 0,
            servers,
            checked,
        })
    }

    /// A server: its weight, or `None` when it takes nothing.
    fn server(&mut self, p: &str, v: &Value) -> Result<Option<u64>, ScenarioError> {
        let m = self.out.object(p, v)?;
        match field(m, "url") {
            Some((k, u)) => {
                self.out.string(&join(p, k), u)?;
            }
            None => {
                return Err(self
                    .out
                    .bad(p, "a server without `url`; Traefik requires it"))
            }
        }
        let w = match field(m, "weight") {
            Some((k, x)) => self.out.count(&join(p, k), x, 0, 1_000_000)?,
            None => 1,
        };
        for (k, x) in m {
            match k.to_ascii_lowercase().as_str() {
                "url" => {}
                "weight" if w == 0 => self.out.key(
                    p,
                    k,
                    x,
                    ignored("weight 0: Traefik sends it nothing, so it is not in the fleet"),
                ),
                "weight" => self
                    .out
                    .key(p, k, x, mapped(&["loadBalancing.weighted"], None)),
                "preservepath" => {
                    self.out
                        .key(p, k, x, ignored("the request path: no simulation meaning"))
                }
                _ => self
                    .out
                    .key(p, k, x, lost("not known to fleetsim's Traefik reader")),
            }
        }
        Ok((w > 0).then_some(w))
    }

    fn strategy(&mut self, p: &str, k: &str, x: &Value) -> Result<&'static str, ScenarioError> {
        let (s, outcome) = match x.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("wrr") => ("wrr", mapped(&["loadBalancing.strategy"], Some("weighted round robin: `weighted` when the servers' weights differ, else `round-robin`".into()))),
            Some("p2c") => ("power-of-two", mapped(&["loadBalancing.strategy"], Some("the fewer in-flight requests of two servers drawn at random".into()))),
            Some("hrw") => ("ip-hash", mapped(&["loadBalancing.strategy"], Some("highest random weight on the client address: each client sticks to one server; fleetsim hashes the user's address (give workload.users)".into()))),
            Some("leasttime") => ("peak-ewma", lost("leasttime scores each server by its mean time to first byte over the last 100 answers and its in-flight requests; read as peak-ewma, the nearest fleetsim has")),
            _ => return Err(self.out.bad(&join(p, k), "`strategy`: expected wrr, p2c, hrw or leasttime")),
        };
        self.out.key(p, k, x, outcome);
        Ok(s)
    }

    fn health(&mut self, p: &str, k: &str, x: &Value) -> Result<Value, ScenarioError> {
        let hp = join(p, k);
        let m = self.out.object(&hp, x)?;
        let mut interval = Nanos::from_secs(30);
        let mut timeout = Nanos::from_secs(5);
        for (hk, hx) in m {
            let kp = join(&hp, hk);
            let outcome = match hk.to_ascii_lowercase().as_str() {
                "interval" => {
                    interval = self.out.duration(&kp, hx, go_duration, GO)?;
                    mapped(&["healthCheck.interval"], None)
                }
                "timeout" => {
                    timeout = self.out.duration(&kp, hx, go_duration, GO)?;
                    mapped(&["healthCheck.timeout"], None)
                }
                "path" => mapped(&["healthCheck"], Some("a live instance answers it, however loaded".into())),
                "unhealthyinterval" => lost("another interval while a server is down: fleetsim checks at `interval` whatever the state"),
                "status" | "mode" | "scheme" | "hostname" | "port" | "headers" | "followredirects" | "method" => ignored("what a check sends and expects: a live instance passes"),
                _ => lost("not known to fleetsim's Traefik reader"),
            };
            self.out.key(&hp, hk, hx, outcome);
        }
        if interval < Nanos::from_millis(1) || timeout == Nanos::ZERO {
            return Err(self.out.bad(
                &hp,
                "`healthCheck`: interval must be at least 1ms and timeout above 0s",
            ));
        }
        self.out.push(
            &hp,
            "healthCheck (one failure marks a server down, one pass up)",
            mapped(
                &["healthCheck"],
                Some("Traefik's defaults: interval 30s, timeout 5s".into()),
            ),
        );
        Ok(
            json!({ "interval": duration_str(interval), "timeout": duration_str(timeout), "unhealthyThreshold": 1, "healthyThreshold": 1 }),
        )
    }

    fn passive(&mut self, p: &str, k: &str, x: &Value) -> Result<Value, ScenarioError> {
        let hp = join(p, k);
        let m = self.out.object(&hp, x)?;
        let mut window = Nanos::from_secs(10);
        let mut fails = 1;
        for (hk, hx) in m {
            let kp = join(&hp, hk);
            let outcome = match hk.to_ascii_lowercase().as_str() {
                "failurewindow" => {
                    window = self.out.duration(&kp, hx, go_duration, GO)?;
                    mapped(
                        &["passiveHealth.failTimeout"],
                        Some(
                            "the window the failures fall in, and how long the server stays out"
                                .into(),
                        ),
                    )
                }
                "maxfailedattempts" => {
                    fails = self.out.count(&kp, hx, 1, 1_000_000)?;
                    mapped(&["passiveHealth.maxFails"], Some("Traefik counts consecutive failures (a success clears them); nginx's count, which fleetsim runs, is not cleared by a success".into()))
                }
                _ => lost("not known to fleetsim's Traefik reader"),
            };
            self.out.key(&hp, hk, hx, outcome);
        }
        if window == Nanos::ZERO {
            return Err(self.out.bad(&hp, "`failureWindow`: must be above 0s"));
        }
        self.out.push(&hp, "passiveHealthCheck (failed connections and 5xx answers)", mapped(&["passiveHealth"], Some("nginx-style: out for failureWindow after maxFailedAttempts failures within it; 5xx answers count (countApplicationErrors)".into())));
        Ok(
            json!({ "type": "nginx", "maxFails": fails, "failTimeout": duration_str(window), "countApplicationErrors": true }),
        )
    }

    /// `sticky`: a cookie's session affinity, or `None` when the cookie
    /// never sticks.
    fn sticky(&mut self, p: &str, x: &Value) -> Result<Option<Value>, ScenarioError> {
        let m = self.out.object(p, x)?;
        let Some((ck, c)) = field(m, "cookie") else {
            return Ok(None);
        };
        let cp = join(p, ck);
        let cm = self.out.object(&cp, c)?;
        let max_age = match field(cm, "maxAge") {
            Some((k, v)) => match v.as_i64() {
                Some(n) => n,
                None => {
                    return Err(self.out.bad(
                        &join(&cp, k),
                        "`maxAge`: expected a whole number of seconds",
                    ))
                }
            },
            None => 0,
        };
        for (k, v) in cm {
            let outcome = match k.to_ascii_lowercase().as_str() {
                "maxage" if max_age > 0 => mapped(&["loadBalancing.sessionAffinity.ttl"], None),
                "maxage" if max_age < 0 => {
                    lost("a negative maxAge deletes the cookie: no stickiness")
                }
                "maxage" => {
                    ignored("0: a browser-session cookie; fleetsim's default ttl (1h) stands in")
                }
                _ => ignored("the cookie's name and attributes: no simulation meaning"),
            };
            self.out.key(&cp, k, v, outcome);
        }
        if max_age < 0 {
            return Ok(None);
        }
        let mut a = json!({ "type": "cookie" });
        if max_age > 0 {
            a["ttl"] = json!(format!("{}s", max_age.min(315_360_000)));
        }
        Ok(Some(a))
    }

    fn merge_sticky(&mut self, a: Option<Value>) {
        if let (Some((_, s)), Some(a)) = (&mut self.settings, a) {
            s.sticky.get_or_insert(a);
        }
    }

    /// `serversTransport NAME`: its response-header timeout.
    fn transport(&mut self, p: &str, k: &str, x: &Value) -> Result<Option<String>, ScenarioError> {
        let name = local(self.out.string(&join(p, k), x)?).to_string();
        let hk = self
            .out
            .doc
            .value
            .as_object()
            .and_then(|r| field(r, "http"))
            .map_or("http".to_string(), |(k, _)| k.to_string());
        let Some((tk, ts)) = field(self.hm, "serversTransports") else {
            self.out.key(
                p,
                k,
                x,
                lost("a servers transport defined elsewhere: its timeouts are not read"),
            );
            return Ok(None);
        };
        let Some(t) = ts.as_object().and_then(|m| m.get(&name)) else {
            self.out.key(
                p,
                k,
                x,
                lost("a servers transport defined elsewhere: its timeouts are not read"),
            );
            return Ok(None);
        };
        self.out.key(
            p,
            k,
            x,
            mapped(&["limits"], Some(format!("servers transport `{name}`"))),
        );
        if let Some(i) = self.transports.iter().position(|t| *t == name) {
            return Ok(self.timeouts.get(i).cloned().flatten());
        }
        self.transports.push(name.clone());
        let tp = join(&join(&hk, tk), &name);
        let tm = self.out.object(&tp, t)?;
        let mut timeout = None;
        for (k, v) in tm {
            let kp = join(&tp, k);
            if !k.eq_ignore_ascii_case("forwardingTimeouts") {
                self.out.key(
                    &tp,
                    k,
                    v,
                    ignored(
                        "TLS, HTTP/2 and idle connections to the servers: no simulation meaning",
                    ),
                );
                continue;
            }
            for (fk, fv) in self.out.object(&kp, v)? {
                let outcome = match fk.to_ascii_lowercase().as_str() {
                    "responseheadertimeout" => {
                        let d = self.out.duration(&join(&kp, fk), fv, go_duration, GO)?;
                        timeout = (d > Nanos::ZERO).then(|| duration_str(d));
                        match timeout {
                            Some(_) => mapped(&["limits.requestTimeout"], Some("an LLM agent answers when it is done, so the wait for the headers bounds the whole answer; Traefik's is per attempt, fleetsim's from arrival".into())),
                            None => ignored("0: no timeout (Traefik's default)"),
                        }
                    }
                    "dialtimeout" => {
                        ignored("fleetsim's instances accept or refuse a connection at once")
                    }
                    _ => ignored(
                        "idle and HTTP/2 ping timeouts: fleetsim models requests, not connections",
                    ),
                };
                self.out.key(&kp, fk, fv, outcome);
            }
        }
        self.timeouts.push(timeout.clone());
        Ok(timeout)
    }
}

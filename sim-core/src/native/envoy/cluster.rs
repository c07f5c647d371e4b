//! An Envoy cluster's own fields: its balancing, its endpoints by
//! priority and locality, and the fields with no simulation meaning.

use super::super::mapped;
use super::super::tree::{index, join, reduce, Out};
use super::{ignored, lost, resilience};
use crate::error::ScenarioError;
use serde_json::{json, Map, Value};

/// Largest combined weight written (fleetsim's weights are counts).
const MAX_WEIGHT: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    RoundRobin,
    LeastRequest,
    RingHash,
    Random,
    Maglev,
}

/// One endpoint of `load_assignment`.
struct Host {
    priority: u64,
    weight: u64,
    /// Index of its `endpoints[]` entry (its locality).
    locality: usize,
    locality_weight: Option<u64>,
    path: String,
}

/// What the cluster's fields say, read before anything is written.
struct Read {
    policy: Policy,
    policy_at: Option<String>,
    hosts: Vec<Host>,
    locality_weighted: bool,
    panic: Option<u64>,
    factor: Option<u64>,
    outlier: Option<String>,
    health_checked: bool,
}

pub(crate) struct ClusterReader<'o, 'a> {
    out: &'o mut Out<'a>,
    name: String,
}

impl<'o, 'a> ClusterReader<'o, 'a> {
    pub(crate) fn new(out: &'o mut Out<'a>, name: &str) -> Self {
        ClusterReader {
            out,
            name: name.to_string(),
        }
    }

    pub(crate) fn read(&mut self, cp: &str, cv: &Value) -> Result<(), ScenarioError> {
        let m = self.out.object(cp, cv)?;
        let mut r = Read {
            policy: Policy::RoundRobin,
            policy_at: None,
            hosts: Vec::new(),
            locality_weighted: false,
            panic: None,
            factor: None,
            outlier: None,
            health_checked: false,
        };
        for (k, v) in m {
            let p = join(cp, k);
            match k.as_str() {
                "name" | "circuit_breakers" => {}
                "lb_policy" => {
                    r.policy = self.lb_policy(&p, v)?;
                    r.policy_at = Some(p);
                }
                "least_request_lb_config" => self.least_request(&p, v)?,
                "load_assignment" => r.hosts = self.load_assignment(&p, v, &mut r.factor)?,
                "health_checks" => r.health_checked = resilience::health_checks(self.out, &p, v)?,
                "outlier_detection" => r.outlier = Some(p),
                "common_lb_config" => self.common(&p, v, &mut r)?,
                _ => self.other(cp, k, v),
            }
        }
        if let Some(p) = r.outlier.clone() {
            if let Some(v) = m.get("outlier_detection") {
                resilience::outlier(self.out, &p, v, r.hosts.len(), r.health_checked)?;
            }
        }
        self.finish(cp, &r)
    }

    fn lb_policy(&mut self, p: &str, v: &Value) -> Result<Policy, ScenarioError> {
        let name = match v {
            Value::String(s) => s.as_str(),
            Value::Number(n) => match n.as_u64() {
                Some(0) => "ROUND_ROBIN",
                Some(1) => "LEAST_REQUEST",
                Some(2) => "RING_HASH",
                Some(3) => "RANDOM",
                Some(4) => "ORIGINAL_DST_LB",
                Some(5) => "MAGLEV",
                Some(6) => "CLUSTER_PROVIDED",
                Some(7) => "LOAD_BALANCING_POLICY_CONFIG",
                _ => "",
            },
            _ => "",
        };
        let (policy, note) = match name {
            "ROUND_ROBIN" => (Policy::RoundRobin, "Envoy's round robin is weighted round robin: `weighted` when the endpoints' weights differ"),
            "LEAST_REQUEST" => (Policy::LeastRequest, "the least active requests of choice_count hosts drawn at random (2 by default), weights by active_request_bias"),
            "RANDOM" => (Policy::Random, "a host drawn at random, weights ignored as Envoy ignores them"),
            "RING_HASH" => (Policy::RingHash, "the route's hash_policy is Envoy's key; fleetsim hashes the user id (give workload.users); without a hash_policy Envoy picks at random"),
            "MAGLEV" => (Policy::Maglev, "Maglev read as a ring (a region's local balancer takes its default algorithm); the route's hash_policy is Envoy's key, fleetsim hashes the user id (give workload.users)"),
            "CLUSTER_PROVIDED" | "LOAD_BALANCING_POLICY_CONFIG" | "ORIGINAL_DST_LB" => {
                self.out.push(p, format!("lb_policy: {name}"), lost(format!("{name}: the balancer is given elsewhere (a typed policy or the cluster type); round robin is used")));
                return Ok(Policy::RoundRobin);
            }
            _ => return Err(self.out.bad(p, format!("`lb_policy`: expected ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV or CLUSTER_PROVIDED; found {}", super::super::tree::short(v)))),
        };
        self.out.push(
            p,
            format!("lb_policy: {name}"),
            mapped(&["loadBalancing.localStrategy"], Some(note.into())),
        );
        Ok(policy)
    }

    fn least_request(&mut self, p: &str, v: &Value) -> Result<(), ScenarioError> {
        let m = self.out.object(p, v)?;
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "choice_count" => {
                    let choice = self.out.count(&kp, unwrap(x), 2, 100)?;
                    let outcome = if choice == 2 {
                        mapped(&["loadBalancing.localStrategy"], Some("2 choices, power-of-two's own".into()))
                    } else {
                        lost(format!("{choice} choices: a region's local balancer draws 2 (geographic takes its local strategy's defaults)"))
                    };
                    self.out.key(p, k, x, outcome);
                }
                "active_request_bias" => {
                    let outcome = match unwrap(x).get("default_value").or(Some(unwrap(x))).and_then(Value::as_f64) {
                        Some(b) if (b - 1.0).abs() < 1e-9 => mapped(&["loadBalancing.localStrategy"], Some("1.0, power-of-two's own".into())),
                        _ => lost("an active_request_bias other than 1.0: a region's local balancer takes its default of 1.0"),
                    };
                    self.out.key(p, k, x, outcome);
                }
                "slow_start_config" => self.out.key(p, k, x, lost("slow start: a new host's weight ramps up in Envoy; fleetsim gives it its full share at once")),
                _ => self.out.key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        Ok(())
    }

    fn common(&mut self, p: &str, v: &Value, r: &mut Read) -> Result<(), ScenarioError> {
        let m = self.out.object(p, v)?;
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "healthy_panic_threshold" => {
                    let pct = unwrap(x).as_f64().filter(|f| (0.0..=100.0).contains(f)).ok_or_else(|| {
                        self.out.bad(&kp, "`healthy_panic_threshold`: expected a percentage from 0 to 100 (`{value: 50.0}`)")
                    })?;
                    r.panic = Some(pct.round() as u64);
                    let note = if pct.fract() == 0.0 {
                        "below this share of healthy hosts a priority level routes to all its hosts, healthy or not (0 turns panic off)".to_string()
                    } else {
                        format!("{pct}% rounded to {}%", pct.round())
                    };
                    self.out.key(p, k, x, mapped(&["loadBalancing.panicThreshold"], Some(note)));
                }
                "locality_weighted_lb_config" => {
                    r.locality_weighted = true;
                    self.out.key(p, k, x, mapped(&["loadBalancing.weighted"], Some("a locality's share is its load_balancing_weight, split among its hosts by theirs".into())));
                }
                "zone_aware_lb_config" => self.out.key(p, k, x, ignored("zone-aware routing needs Envoy's own local cluster and zones; fleetsim's clients have none here")),
                "consistent_hashing_lb_config" => self.out.key(p, k, x, lost("hash key options and bounded loads: a region's local balancer takes its defaults")),
                "update_merge_window" | "ignore_new_hosts_until_first_hc" | "close_connections_on_host_set_change" | "override_host_status" => self.out.key(p, k, x, ignored("host-set updates and connection handling: the fleet is fixed in the file")),
                _ => self.out.key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        Ok(())
    }

    fn load_assignment(
        &mut self,
        p: &str,
        v: &Value,
        factor: &mut Option<u64>,
    ) -> Result<Vec<Host>, ScenarioError> {
        let m = self.out.object(p, v)?;
        let mut hosts = Vec::new();
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "cluster_name" => self.out.key(p, k, x, ignored("the cluster's name for EDS")),
                "endpoints" => {
                    for (i, e) in self.out.list(&kp, x)?.iter().enumerate() {
                        self.locality(&index(&kp, i), i, e, &mut hosts)?;
                    }
                }
                "policy" => self.lb_policy_block(&kp, x, factor)?,
                "named_endpoints" => self.out.key(
                    p,
                    k,
                    x,
                    ignored("endpoints named for reuse; the lb_endpoints are read"),
                ),
                _ => self
                    .out
                    .key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        Ok(hosts)
    }

    fn lb_policy_block(
        &mut self,
        p: &str,
        v: &Value,
        factor: &mut Option<u64>,
    ) -> Result<(), ScenarioError> {
        let m = self.out.object(p, v)?;
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "overprovisioning_factor" => {
                    let f = self.out.count(&kp, unwrap(x), 100, 100_000)?;
                    *factor = Some(f);
                    self.out.key(p, k, x, mapped(&["loadBalancing.overprovisioningFactor"], Some(format!("{f} is {:.2}: a priority level keeps all traffic while {:.0}% of it is healthy", f as f64 / 100.0, 10_000.0 / f as f64))));
                }
                "drop_overloads" => self.out.key(
                    p,
                    k,
                    x,
                    lost("Envoy drops this share of requests itself; fleetsim drops none"),
                ),
                "weighted_priority_health" => self.out.key(
                    p,
                    k,
                    x,
                    lost("priority health weighted by host weights: fleetsim counts hosts"),
                ),
                "endpoint_stale_after" => self.out.key(
                    p,
                    k,
                    x,
                    ignored("EDS staleness: the endpoints are fixed in the file"),
                ),
                _ => self
                    .out
                    .key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        Ok(())
    }

    fn locality(
        &mut self,
        p: &str,
        i: usize,
        v: &Value,
        hosts: &mut Vec<Host>,
    ) -> Result<(), ScenarioError> {
        let m = self.out.object(p, v)?;
        let priority = match m.get("priority") {
            Some(x) => self.out.count(&join(p, "priority"), x, 0, 127)?,
            None => 0,
        };
        let locality_weight = match m.get("load_balancing_weight") {
            Some(x) => {
                Some(
                    self.out
                        .count(&join(p, "load_balancing_weight"), unwrap(x), 1, MAX_WEIGHT)?,
                )
            }
            None => None,
        };
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "priority" => self.out.key(p, k, x, mapped(&["regions"], Some(if priority == 0 { "priority 0: the primary region".into() } else { format!("priority {priority}: region `{}-p{priority}` with regions.*.priority {priority}, taking what priority 0 spills", self.name) }))),
                "load_balancing_weight" => self.out.key(p, k, x, mapped(&["loadBalancing.weighted"], Some("the locality's weight, read with common_lb_config.locality_weighted_lb_config".into()))),
                "locality" => self.out.key(p, k, x, ignored("region, zone and sub-zone labels: fleetsim places hosts by priority")),
                "lb_endpoints" => {
                    for (j, e) in self.out.list(&kp, x)?.iter().enumerate() {
                        let hp = index(&kp, j);
                        let weight = self.endpoint(&hp, e)?;
                        hosts.push(Host { priority, weight, locality: i, locality_weight, path: hp });
                    }
                }
                "proximity" => self.out.key(p, k, x, ignored("proximity hints: no simulation meaning")),
                _ => self.out.key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        Ok(())
    }

    /// An `lb_endpoints[]` entry: its weight (1 by default).
    fn endpoint(&mut self, p: &str, v: &Value) -> Result<u64, ScenarioError> {
        let m = self.out.object(p, v)?;
        let mut weight = 1;
        for (k, x) in m {
            let kp = join(p, k);
            match k.as_str() {
                "endpoint" => {}
                "load_balancing_weight" => {
                    weight = self.out.count(&kp, unwrap(x), 1, MAX_WEIGHT)?;
                    self.out
                        .key(p, k, x, mapped(&["loadBalancing.weighted"], None));
                }
                "health_status" => {
                    let outcome = match x.as_str() {
                        Some("HEALTHY" | "UNKNOWN") => ignored("a healthy host, as fleetsim starts every instance"),
                        _ => lost("a host EDS marks unhealthy, draining or degraded: fleetsim starts every instance healthy"),
                    };
                    self.out.key(p, k, x, outcome);
                }
                "metadata" | "endpoint_name" => {
                    self.out
                        .key(p, k, x, ignored("metadata: no simulation meaning"))
                }
                _ => self
                    .out
                    .key(p, k, x, lost("not known to fleetsim's Envoy reader")),
            }
        }
        if !m.contains_key("endpoint") {
            return Err(self.out.bad(
                p,
                "an lb_endpoints entry without `endpoint`; Envoy needs its address",
            ));
        }
        Ok(weight)
    }

    /// A cluster field with no balancing meaning.
    fn other(&mut self, cp: &str, k: &str, v: &Value) {
        let outcome = match k {
            "connect_timeout" => match super::super::tree::proto_duration(v) {
                Some(_) => ignored("fleetsim's instances accept or refuse a connection at once, so it never fires"),
                None => lost("not a duration Envoy reads (\"5s\", \"0.25s\" or {seconds, nanos})"),
            },
            "type" => match v.as_str() {
                Some("STATIC" | "STRICT_DNS" | "LOGICAL_DNS") => ignored("how addresses are found: each endpoint is one instance"),
                Some("EDS") => ignored("endpoints from EDS: the load_assignment in the file is read"),
                _ => lost("a cluster type whose hosts are not in the file"),
            },
            "cluster_type" => lost("a custom cluster type: its hosts are not in the file"),
            "load_balancing_policy" => lost("a typed load balancing policy: lb_policy is read (ROUND_ROBIN when absent)"),
            "lb_subset_config" => lost("subsets by metadata: fleetsim balances over every host"),
            "round_robin_lb_config" => lost("slow start: a new host's weight ramps up in Envoy; fleetsim gives it its full share at once"),
            "ring_hash_lb_config" | "maglev_lb_config" => ignored("hash table sizes: fleetsim's ring has its own"),
            "transport_socket" | "transport_socket_matches" => ignored("TLS to the hosts: no simulation meaning"),
            "typed_extension_protocol_options" | "http2_protocol_options" | "http_protocol_options" | "common_http_protocol_options" | "upstream_http_protocol_options" | "protocol_selection" => ignored("the HTTP protocol to the hosts: fleetsim models requests, not streams"),
            "dns_lookup_family" | "dns_refresh_rate" | "dns_failure_refresh_rate" | "respect_dns_ttl" | "dns_resolvers" | "typed_dns_resolver_config" | "dns_resolution_config" | "use_tcp_for_dns_lookups" | "dns_jitter" | "eds_cluster_config" | "lrs_server" => ignored("address discovery: each endpoint is one instance"),
            "metadata" | "alt_stat_name" | "track_cluster_stats" | "track_timeout_budgets" => ignored("stats and metadata: no simulation meaning"),
            _ => {
                let known = ["per_connection_buffer_limit_bytes", "upstream_connection_options", "upstream_bind_config", "max_requests_per_connection", "connection_pool_per_downstream_connection", "preconnect_policy", "close_connections_on_host_health_failure", "cleanup_interval", "wait_for_warm_on_init", "filters", "ignore_health_on_host_removal", "typed_extension_protocol_options", "upstream_config"];
                if known.contains(&k) {
                    ignored("connection pools, buffers and filters: fleetsim models requests, not connections")
                } else {
                    lost("not known to fleetsim's Envoy reader; if it shapes load, failures or capacity, the simulation misses it")
                }
            }
        };
        self.out.key(cp, k, v, outcome);
    }

    /// Writes the regions and the balancer.
    fn finish(&mut self, cp: &str, r: &Read) -> Result<(), ScenarioError> {
        if r.hosts.is_empty() {
            return Err(self.out.bad(cp, format!("cluster `{}` has no endpoints in load_assignment; fleetsim needs them in the file (give EDS's endpoints as a load_assignment)", self.name)));
        }
        let mut prios: Vec<u64> = r.hosts.iter().map(|h| h.priority).collect();
        prios.sort_unstable();
        prios.dedup();
        let name = self.name.clone();
        let region = |p: u64| {
            if p == prios[0] {
                name.clone()
            } else {
                format!("{name}-p{p}")
            }
        };
        let mut weights = self.weights(cp, r);
        // Weights matter within a region (a priority level): reduced and
        // written per level.
        let mut unequal = false;
        for &p in &prios {
            let idx: Vec<usize> = (0..r.hosts.len())
                .filter(|&i| r.hosts[i].priority == p)
                .collect();
            let mut w: Vec<u64> = idx.iter().map(|&i| weights[i]).collect();
            reduce(&mut w);
            let differ = w.iter().any(|&x| x != w[0]);
            unequal |= differ;
            for (&i, x) in idx.iter().zip(w) {
                weights[i] = if differ { x } else { 1 };
            }
        }
        let mut weighted = Map::new();
        let mut counts = vec![0u64; prios.len()];
        for (h, &w) in r.hosts.iter().zip(&weights) {
            let level = prios.iter().position(|&p| p == h.priority).unwrap_or(0);
            let id = format!("{}/{}", region(h.priority), counts[level]);
            counts[level] += 1;
            if w != 1 && r.policy != Policy::Random {
                weighted.insert(id.clone(), json!(w));
            }
            self.out.push(
                &h.path,
                format!("endpoint {}", id),
                mapped(
                    &[&format!("regions.{}.instances", region(h.priority))],
                    Some(format!("instance `{id}`")),
                ),
            );
        }
        if unequal && r.policy == Policy::Random {
            self.out.push(
                cp,
                "load_balancing_weight (RANDOM)",
                ignored("Envoy's RANDOM ignores host weights"),
            );
        }
        let mut regions = Map::new();
        for (level, &p) in prios.iter().enumerate() {
            let mut reg = Map::new();
            reg.insert("instances".into(), json!(counts[level]));
            if p > 0 {
                reg.insert("priority".into(), json!(p));
            }
            regions.insert(region(p), Value::Object(reg));
        }
        let levels: Vec<String> = prios
            .iter()
            .enumerate()
            .map(|(l, &p)| format!("`{}` ({} host(s), priority {p})", region(p), counts[l]))
            .collect();
        self.out.push(
            cp,
            format!("cluster {}", self.name),
            mapped(
                &["regions"],
                Some(format!(
                    "one region per priority level: {}",
                    levels.join(", ")
                )),
            ),
        );
        self.out.set(&["regions"], Value::Object(regions));
        let local = match r.policy {
            Policy::RoundRobin if !weighted.is_empty() => "weighted",
            Policy::RoundRobin => "round-robin",
            Policy::LeastRequest => "power-of-two",
            Policy::Random => "random",
            Policy::RingHash | Policy::Maglev => "consistent-hash",
        };
        let mut lb = Map::new();
        lb.insert("strategy".into(), json!("geographic"));
        lb.insert("localStrategy".into(), json!(local));
        if let Some(f) = r.factor {
            lb.insert("overprovisioningFactor".into(), json!(f as f64 / 100.0));
        }
        if let Some(t) = r.panic {
            lb.insert("panicThreshold".into(), json!(t));
        }
        if !weighted.is_empty() {
            lb.insert("weighted".into(), Value::Object(weighted));
        }
        self.out.set(&["loadBalancing"], Value::Object(lb));
        self.out.push(cp, "priority levels (Envoy's)", mapped(&["loadBalancing.strategy"], Some("geographic: Envoy's priority levels, a level keeping all traffic while 1/overprovisioning (72% at 1.4) of it is healthy, and panic below the panic threshold; regions are ordered by priority (give no network.rtt, which would order them by distance)".into())));
        if r.policy_at.is_none() {
            self.out.push(
                cp,
                "lb_policy: ROUND_ROBIN (Envoy's default)",
                mapped(&["loadBalancing.localStrategy"], None),
            );
        }
        if r.panic.is_none() {
            self.out.push(
                cp,
                "healthy_panic_threshold: 50% (Envoy's default)",
                mapped(
                    &["loadBalancing.panicThreshold"],
                    Some("fleetsim's default is the same 50%".into()),
                ),
            );
        }
        if r.factor.is_none() && prios.len() > 1 {
            self.out.push(
                cp,
                "overprovisioning_factor: 140 (Envoy's default)",
                mapped(
                    &["loadBalancing.overprovisioningFactor"],
                    Some("fleetsim's default is the same 1.4".into()),
                ),
            );
        }
        Ok(())
    }

    /// Each host's weight: its own, or with locality weighting its
    /// locality's share split by its own.
    fn weights(&mut self, cp: &str, r: &Read) -> Vec<u64> {
        let own: Vec<u64> = r.hosts.iter().map(|h| h.weight).collect();
        if !r.locality_weighted {
            if r.hosts.iter().any(|h| h.locality_weight.is_some()) {
                self.out.push(cp, "locality load_balancing_weight", ignored("Envoy reads locality weights only with common_lb_config.locality_weighted_lb_config"));
            }
            return own;
        }
        if r.hosts.iter().any(|h| h.locality_weight.is_none()) {
            self.out.push(cp, "a locality without load_balancing_weight", lost("Envoy sends nothing to a locality without a weight under locality-weighted balancing; read as weight 1"));
        }
        // Per priority: lcm of the localities' host-weight sums.
        let combined = || -> Option<Vec<u64>> {
            let mut out = Vec::with_capacity(r.hosts.len());
            for h in &r.hosts {
                let same = |g: &Host| g.priority == h.priority;
                let sum_of = |loc: usize| -> u64 {
                    r.hosts
                        .iter()
                        .filter(|g| same(g) && g.locality == loc)
                        .map(|g| g.weight)
                        .sum()
                };
                let mut lcm = 1u64;
                for g in r.hosts.iter().filter(|g| same(g)) {
                    let s = sum_of(g.locality);
                    lcm = lcm.checked_mul(s / super::super::tree::gcd(lcm, s))?;
                }
                let s = sum_of(h.locality);
                let w = h
                    .locality_weight
                    .unwrap_or(1)
                    .checked_mul(h.weight)?
                    .checked_mul(lcm / s.max(1))?;
                out.push(w);
            }
            Some(out)
        };
        match combined() {
            Some(mut w) => {
                reduce(&mut w);
                if w.iter().all(|&x| x <= MAX_WEIGHT) {
                    return w;
                }
                self.out.push(
                    cp,
                    "locality weights",
                    lost("the combined weights exceed a million: host weights alone are read"),
                );
                own
            }
            None => {
                self.out.push(
                    cp,
                    "locality weights",
                    lost("the combined weights overflow: host weights alone are read"),
                );
                own
            }
        }
    }
}

/// A protobuf wrapper (`{value: N}`) or the plain value.
pub(crate) fn unwrap(v: &Value) -> &Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("value") => &m["value"],
        other => other,
    }
}

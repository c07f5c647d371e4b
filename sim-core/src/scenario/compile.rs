//! Checking a parsed scenario across fields and turning it into the model
//! the engine runs.

use super::{load::nearest, FailureKind, FailureMode, Scenario};
use crate::dist::{DistSpec, Sampler};
use crate::error::{Problem, ScenarioError};
use std::fmt;
use std::path::Path;
use strategies::balance::Topology;
use strategies::{
    CircuitBreakerConfig, ConfigError, HealthCheckConfig, LoadBalancer, LoadBalancingConfig, Nanos,
    OutlierDetectionConfig, PassiveHealthConfig, RateKey, RateLimitConfig, RetryConfig,
};

/// Most instances one scenario may define.
const MAX_INSTANCES: u64 = 1_000_000;
/// Most replications one scenario may ask for.
const MAX_REPLICATIONS: u32 = 10_000;
/// Most LLM calls one request may make.
const MAX_LLM_CALLS: u32 = 1_000;

/// A checked scenario, ready to run. Building one is the only way to get
/// one, so the engine never meets an invalid value.
#[derive(Debug, Clone)]
pub struct Model {
    /// The scenario as written.
    pub scenario: Scenario,
    /// The currency prices are in.
    pub currency: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated horizon.
    pub duration: Nanos,
    /// Start of the measured window.
    pub warmup: Nanos,
    /// Replications to run.
    pub replications: u32,
    /// Arrival rate over time: the first entry starts at zero.
    pub rate_profile: Vec<StepRate>,
    /// CPU time per request, if any.
    pub cpu_time: Option<Sampler>,
    /// LLM calls per request.
    pub llm_calls: u32,
    /// The model requests call.
    pub llm_model: String,
    /// Latency of one LLM call.
    pub llm_latency: Sampler,
    /// Probability that one LLM call fails.
    pub llm_error_rate: f64,
    /// Every instance, region by region in file order.
    pub instances: Vec<InstanceSpec>,
    /// The balancer's config.
    pub load_balancing: LoadBalancingConfig,
    /// The balancer it builds, fresh, cloned into every replication.
    pub balancer: LoadBalancer,
    /// Static weight per instance (from `loadBalancing.weighted`, else 1).
    pub weights: Vec<u32>,
    /// Client regions and their cumulative request shares (empty without
    /// `workload.clients`).
    pub client_regions: Vec<(String, f64)>,
    /// Where instances are and how far clients are: regions, priorities,
    /// round-trip times.
    pub topology: Topology,
    /// Most requests one instance holds, running plus queued.
    pub max_connections_per_instance: Option<u32>,
    /// Deadline after arrival.
    pub request_timeout: Option<Nanos>,
    /// Most requests the fleet holds at once.
    pub max_connections: Option<u32>,
    /// Longest wait in an instance queue.
    pub connection_timeout: Option<Nanos>,
    /// Active health checks, when enabled.
    pub health_check: Option<HealthCheckConfig>,
    /// Outlier ejection.
    pub outlier_detection: Option<OutlierDetectionConfig>,
    /// Passive health (nginx, Caddy), when enabled.
    pub passive_health: Option<PassiveHealthConfig>,
    /// Per-instance circuit breakers, when enabled.
    pub circuit_breaker: Option<CircuitBreakerConfig>,
    /// Entry rate limit, when enabled.
    pub rate_limit: Option<RateLimitConfig>,
    /// Retries.
    pub retries: Option<RetryConfig>,
    /// The user population, if modelled.
    pub users: Option<UserModel>,
    /// Random instance failures.
    pub random_failures: Option<RandomFailureModel>,
    /// Scheduled failures, in file order.
    pub failure_events: Vec<CompiledFailure>,
    /// SLO objectives.
    pub objectives: Vec<Objective>,
}

/// The user population requests are drawn from.
#[derive(Debug, Clone)]
pub struct UserModel {
    /// Distinct users.
    pub count: u32,
    /// Zipf over user ranks, or `None` for uniform.
    pub zipf: Option<rand_distr::Zipf<f64>>,
    /// Tenants (user `u` belongs to tenant `u % tenants`).
    pub tenants: u32,
}

/// Random failures of every instance.
#[derive(Debug, Clone)]
pub struct RandomFailureModel {
    /// Time from repair to failure.
    pub between: Sampler,
    /// Time to repair.
    pub repair: Sampler,
    /// How a failed instance behaves.
    pub mode: FailureMode,
}

/// A scheduled failure, resolved to instance indices.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFailure {
    /// What happens.
    pub kind: FailureKind,
    /// Start.
    pub at: Nanos,
    /// Length.
    pub duration: Nanos,
    /// Affected instances.
    pub instances: Vec<u32>,
    /// Slowdown factor (slow-instance).
    pub factor: f64,
}

/// The arrival rate from `at` until the next step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRate {
    /// Start of the step.
    pub at: Nanos,
    /// Requests per second.
    pub rate_per_second: f64,
}

/// One instance of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// Stable id, `region/index`.
    pub id: String,
    /// Region name.
    pub region: String,
    /// Instance type name.
    pub instance_type: String,
    /// Concurrent requests served.
    pub slots: u32,
    /// Price per hour.
    pub price_per_hour: f64,
}

/// A latency percentile, stored as thousandths (p99.9 = 999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percentile(pub u32);

impl Percentile {
    /// The quantile in [0, 1].
    pub fn quantile(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// Parses `p50`, `p99`, `p99.9`.
    pub fn parse(key: &str) -> Option<Percentile> {
        let v: f64 = key.strip_prefix('p')?.parse().ok()?;
        if !(v > 0.0 && v < 100.0) {
            return None;
        }
        let thousandths = (v * 10.0).round();
        ((thousandths / 10.0 - v).abs() < 1e-9).then_some(Percentile(thousandths as u32))
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 10 == 0 {
            write!(f, "p{}", self.0 / 10)
        } else {
            write!(f, "p{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

/// One service-level objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Latency percentile at most `target`.
    Latency {
        /// Which percentile.
        percentile: Percentile,
        /// Highest acceptable value.
        target: Nanos,
    },
    /// Error share at most `max`.
    ErrorRate {
        /// Highest acceptable share, 0 to 1.
        max: f64,
    },
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.problems.push(Problem::new(path, msg));
    }

    fn dist(&mut self, path: &str, spec: &DistSpec) -> Option<Sampler> {
        match spec.sampler() {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("{path}.{}", e.key), e.message);
                None
            }
        }
    }

    fn share(&mut self, path: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.fail(path, format!("must be a share between 0 and 1, found {v}"));
        }
    }

    fn rate(&mut self, path: &str, v: f64) {
        if !v.is_finite() || v < 0.0 {
            self.fail(
                path,
                format!("must be a rate of 0 or more requests per second, found {v}"),
            );
        }
    }
}

impl Scenario {
    /// Checks every rule across fields and builds the runnable model. `file`
    /// only names the source in errors.
    pub fn compile(&self, file: &Path) -> Result<Model, ScenarioError> {
        let mut c = Checker {
            problems: Vec::new(),
        };
        if self.name.trim().is_empty() {
            c.fail("name", "must not be empty");
        }
        let currency = self.currency.clone().unwrap_or_else(|| "USD".into());
        if currency.is_empty()
            || currency.len() > 8
            || !currency.chars().all(|ch| ch.is_ascii_alphabetic())
        {
            c.fail(
                "currency",
                format!(
                    "must be a currency code of letters, e.g. USD or EUR, found \"{currency}\""
                ),
            );
        }

        // run
        let duration = self.run.duration.nanos();
        let warmup = self.run.warmup.nanos();
        if duration == Nanos::ZERO {
            c.fail("run.duration", "must be longer than 0s");
        }
        if warmup >= duration && duration > Nanos::ZERO {
            c.fail(
                "run.warmup",
                format!("must be shorter than run.duration ({})", self.run.duration),
            );
        }
        if self.run.replications == 0 || self.run.replications > MAX_REPLICATIONS {
            c.fail(
                "run.replications",
                format!(
                    "must be from 1 to {MAX_REPLICATIONS}, found {}",
                    self.run.replications
                ),
            );
        }

        // workload.arrivals
        let a = &self.workload.arrivals;
        c.rate("workload.arrivals.ratePerSecond", a.rate_per_second);
        let mut rate_profile = vec![StepRate {
            at: Nanos::ZERO,
            rate_per_second: a.rate_per_second,
        }];
        for (i, s) in a.steps.iter().enumerate() {
            let path = format!("workload.arrivals.steps[{i}]");
            c.rate(&format!("{path}.ratePerSecond"), s.rate_per_second);
            let prev = rate_profile.last().map_or(Nanos::ZERO, |p| p.at);
            if s.at.nanos() <= prev {
                c.fail(
                    format!("{path}.at"),
                    "steps must start after time zero and after the step before them",
                );
            } else if s.at.nanos() >= duration && duration > Nanos::ZERO {
                c.fail(
                    format!("{path}.at"),
                    format!(
                        "starts at or after run.duration ({}), so it never applies",
                        self.run.duration
                    ),
                );
            }
            rate_profile.push(StepRate {
                at: s.at.nanos(),
                rate_per_second: s.rate_per_second,
            });
        }
        if rate_profile.iter().all(|s| s.rate_per_second <= 0.0) {
            c.fail(
                "workload.arrivals.ratePerSecond",
                "no requests would ever arrive: give a rate above 0 here or in a step",
            );
        }

        // workload.request
        let r = &self.workload.request;
        let cpu_time = r
            .cpu_time
            .as_ref()
            .and_then(|d| c.dist("workload.request.cpuTime", d));
        if r.llm_calls > MAX_LLM_CALLS {
            c.fail(
                "workload.request.llmCalls",
                format!("must be from 0 to {MAX_LLM_CALLS}, found {}", r.llm_calls),
            );
        }

        // llm
        let models = &self.llm.models;
        if models.is_empty() {
            c.fail("llm.models", "define at least one model");
        }
        let mut samplers = Vec::new();
        for (name, m) in models {
            let path = format!("llm.models.{name}");
            samplers.push(c.dist(&format!("{path}.latency"), &m.latency));
            c.share(&format!("{path}.errorRate"), m.error_rate);
        }
        let model_index = match &r.model {
            Some(name) => match models.get_index_of(name) {
                Some(i) => Some(i),
                None => {
                    let mut msg = format!("unknown model `{name}`");
                    if let Some(n) = nearest(name, models.keys().map(String::as_str)) {
                        msg.push_str(&format!("; did you mean `{n}`?"));
                    }
                    msg.push_str(&format!(
                        "; defined in llm.models: {}",
                        join_keys(models.keys())
                    ));
                    c.fail("workload.request.model", msg);
                    None
                }
            },
            None if models.len() == 1 => Some(0),
            None if models.is_empty() => None,
            None => {
                c.fail(
                    "workload.request.model",
                    format!(
                        "required when llm.models defines more than one model; one of: {}",
                        join_keys(models.keys())
                    ),
                );
                None
            }
        };

        // instanceTypes
        if self.instance_types.is_empty() {
            c.fail("instanceTypes", "define at least one instance type");
        }
        for (name, t) in &self.instance_types {
            if t.slots == 0 {
                c.fail(format!("instanceTypes.{name}.slots"), "must be at least 1");
            }
            if !t.price_per_hour.is_finite() || t.price_per_hour < 0.0 {
                c.fail(
                    format!("instanceTypes.{name}.pricePerHour"),
                    format!("must be 0 or more, found {}", t.price_per_hour),
                );
            }
        }

        // deployment.regions
        let mut instances = Vec::new();
        let mut total: u64 = 0;
        if self.deployment.regions.is_empty() {
            c.fail("deployment.regions", "define at least one region");
        }
        for (region, spec) in &self.deployment.regions {
            let path = format!("deployment.regions.{region}");
            total += u64::from(spec.instances);
            let type_name = match &spec.instance_type {
                Some(t) => {
                    if !self.instance_types.contains_key(t) {
                        let mut msg = format!("unknown instance type `{t}`");
                        if let Some(n) = nearest(t, self.instance_types.keys().map(String::as_str))
                        {
                            msg.push_str(&format!("; did you mean `{n}`?"));
                        }
                        msg.push_str(&format!(
                            "; defined in instanceTypes: {}",
                            join_keys(self.instance_types.keys())
                        ));
                        c.fail(format!("{path}.instanceType"), msg);
                        continue;
                    }
                    t.clone()
                }
                None if self.instance_types.len() == 1 => self
                    .instance_types
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_default(),
                None => {
                    if !self.instance_types.is_empty() {
                        c.fail(
                            format!("{path}.instanceType"),
                            format!(
                                "required when instanceTypes defines more than one; one of: {}",
                                join_keys(self.instance_types.keys())
                            ),
                        );
                    }
                    continue;
                }
            };
            let t = &self.instance_types[&type_name];
            if total <= MAX_INSTANCES {
                for i in 0..spec.instances {
                    instances.push(InstanceSpec {
                        id: format!("{region}/{i}"),
                        region: region.clone(),
                        instance_type: type_name.clone(),
                        slots: t.slots,
                        price_per_hour: t.price_per_hour,
                    });
                }
            }
        }
        if !self.deployment.regions.is_empty() && total == 0 {
            c.fail(
                "deployment.regions",
                "the fleet has zero instances; give at least one region `instances` of 1 or more",
            );
        }
        if total > MAX_INSTANCES {
            c.fail(
                "deployment.regions",
                format!("the fleet has {total} instances; at most {MAX_INSTANCES} are supported"),
            );
        }

        // workload.clients and network
        let region_names: Vec<String> = self.deployment.regions.keys().cloned().collect();
        let clients = &self.workload.clients;
        let mut client_regions = Vec::new();
        if !clients.is_empty() {
            let mut acc = 0.0;
            for (name, &share) in clients {
                if !(share.is_finite() && share > 0.0) {
                    c.fail(
                        format!("workload.clients.{name}"),
                        format!("must be a share above 0, found {share}"),
                    );
                }
                acc += share;
                client_regions.push((name.clone(), acc));
            }
            if (acc - 1.0).abs() > 1e-6 {
                c.fail(
                    "workload.clients",
                    format!("shares must sum to 1, found {acc}"),
                );
            }
        }
        let mut rtt: Vec<Vec<Nanos>> = Vec::new();
        if let Some(net) = &self.network {
            if clients.is_empty() {
                c.fail(
                    "network",
                    "round-trip times need `workload.clients` to say where clients are",
                );
            }
            for key in net.rtt.keys() {
                if !clients.contains_key(key) {
                    c.fail(
                        format!("network.rtt.{key}"),
                        format!("`{key}` is not a client region in workload.clients"),
                    );
                }
            }
            for (client, _) in clients {
                let Some(row) = net.rtt.get(client) else {
                    c.fail(
                        format!("network.rtt.{client}"),
                        "missing: give the round-trip time to every fleet region",
                    );
                    continue;
                };
                for key in row.keys() {
                    if !self.deployment.regions.contains_key(key) {
                        let mut msg = format!("`{key}` is not a region of deployment.regions");
                        if let Some(n) = nearest(key, region_names.iter().map(String::as_str)) {
                            msg.push_str(&format!("; did you mean `{n}`?"));
                        }
                        c.fail(format!("network.rtt.{client}.{key}"), msg);
                    }
                }
                let mut r = Vec::new();
                for region in &region_names {
                    match row.get(region) {
                        Some(d) => r.push(d.nanos()),
                        None => {
                            c.fail(
                                format!("network.rtt.{client}.{region}"),
                                "missing round-trip time",
                            );
                            r.push(Nanos::ZERO);
                        }
                    }
                }
                rtt.push(r);
            }
        } else if !clients.is_empty() {
            rtt = vec![vec![Nanos::ZERO; region_names.len()]; clients.len()];
        }
        let topology = Topology {
            ids: instances.iter().map(|i| i.id.clone()).collect(),
            region_of: instances
                .iter()
                .map(|i| {
                    region_names
                        .iter()
                        .position(|r| *r == i.region)
                        .unwrap_or(0) as u32
                })
                .collect(),
            regions: region_names.clone(),
            priority: self
                .deployment
                .regions
                .values()
                .map(|r| r.priority.unwrap_or(0))
                .collect(),
            rtt,
        };

        // deployment.loadBalancing
        let lb = &self.deployment.load_balancing;
        let balancer = match lb.build_for(Some(&topology)) {
            Ok(b) => Some(b),
            Err(e) => {
                c.fail(format!("deployment.loadBalancing.{}", e.key), e.message);
                None
            }
        };
        let mut weights = vec![1u32; instances.len()];
        for (key, &w) in &lb.weighted {
            let mut hit = false;
            for (i, inst) in instances.iter().enumerate() {
                if inst.id == *key || inst.region == *key {
                    weights[i] = w;
                    hit = true;
                }
            }
            if !hit && !instances.is_empty() {
                let names = instances
                    .iter()
                    .flat_map(|i| [i.region.as_str(), i.id.as_str()])
                    .collect::<Vec<_>>();
                let mut msg = format!("`{key}` names no instance or region");
                if let Some(n) = nearest(key, names.iter().copied()) {
                    msg.push_str(&format!("; did you mean `{n}`?"));
                }
                msg.push_str("; instances are named `region/index`, e.g. `");
                msg.push_str(&instances[0].id);
                msg.push('`');
                c.fail(format!("deployment.loadBalancing.weighted.{key}"), msg);
            }
        }

        // deployment: policies from `strategies`, checked by their own rules.
        let d = &self.deployment;
        let mut policy = |path: &str, r: Result<(), ConfigError>| {
            if let Err(e) = r {
                c.fail(format!("deployment.{path}.{}", e.key), e.message);
            }
        };
        if let Some(h) = &d.health_check {
            policy("healthCheck", h.validate());
        }
        if let Some(o) = &d.outlier_detection {
            policy("outlierDetection", o.validate());
        }
        if let Some(p) = &d.passive_health {
            policy("passiveHealth", p.validate());
        }
        if let Some(b) = &d.circuit_breaker {
            policy("circuitBreaker", b.validate());
        }
        if let Some(r) = &d.rate_limit {
            policy("rateLimit", r.validate());
        }
        if let Some(r) = &d.retries {
            policy("retries", r.validate());
        }
        let users = self.workload.users.as_ref().and_then(|u| {
            if u.count == 0 {
                c.fail("workload.users.count", "must be at least 1");
                return None;
            }
            if u.tenants == 0 || u.tenants > u.count {
                c.fail(
                    "workload.users.tenants",
                    format!(
                        "must be from 1 to users.count ({}), found {}",
                        u.count, u.tenants
                    ),
                );
                return None;
            }
            if !(u.skew.is_finite() && u.skew >= 0.0) {
                c.fail(
                    "workload.users.skew",
                    format!("must be 0 (uniform) or more, found {}", u.skew),
                );
                return None;
            }
            let zipf = if u.skew > 0.0 {
                rand_distr::Zipf::new(f64::from(u.count), u.skew).ok()
            } else {
                None
            };
            Some(UserModel {
                count: u.count,
                zipf,
                tenants: u.tenants,
            })
        });
        if self.workload.users.is_none() && lb.needs_identity() {
            let (path, what) = if lb.picking_kind().needs_identity() {
                (
                    "deployment.loadBalancing.strategy",
                    format!("`{}`", lb.picking_kind()),
                )
            } else {
                (
                    "deployment.loadBalancing.sessionAffinity",
                    "session affinity".to_string(),
                )
            };
            c.fail(
                path,
                format!(
                    "{what} routes by who is asking, which needs `workload.users` to give requests \
                     a user, session and client address (e.g. \"users\": {{\"count\": 10000}}); \
                     without it every request would be anonymous and fall back to round robin"
                ),
            );
        }
        if let Some(r) = d.rate_limit.as_ref().filter(|r| r.enabled) {
            if r.key != RateKey::Global && users.is_none() {
                c.fail(
                    "deployment.rateLimit.key",
                    "a per-user, per-tenant or per-IP limit needs `workload.users` to say who sends requests",
                );
            }
        }

        // failures
        let mut random_failures = None;
        let mut failure_events = Vec::new();
        if let Some(f) = &self.failures {
            if let Some(r) = &f.random {
                let between = DistSpec::Exponential {
                    mean: r.mean_time_between_failures,
                }
                .sampler();
                let repair = DistSpec::Exponential {
                    mean: r.mean_time_to_repair,
                }
                .sampler();
                match (between, repair) {
                    (Ok(between), Ok(repair)) => {
                        random_failures = Some(RandomFailureModel {
                            between,
                            repair,
                            mode: r.mode,
                        })
                    }
                    (Err(_), _) => c.fail(
                        "failures.random.meanTimeBetweenFailures",
                        "must be longer than 0s",
                    ),
                    (_, Err(_)) => {
                        c.fail("failures.random.meanTimeToRepair", "must be longer than 0s")
                    }
                }
            }
            for (k, e) in f.events.iter().enumerate() {
                let path = format!("failures.events[{k}]");
                let targets: Vec<u32> = match e.kind {
                    FailureKind::RegionOutage => {
                        if e.instance.is_some() {
                            c.fail(
                                format!("{path}.instance"),
                                "region-outage takes `region`, not `instance`",
                            );
                        }
                        match &e.region {
                            None => {
                                c.fail(
                                    format!("{path}.region"),
                                    "region-outage needs the region that fails",
                                );
                                continue;
                            }
                            Some(r) => {
                                let hit: Vec<u32> = instances
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, i)| i.region == *r)
                                    .map(|(k, _)| k as u32)
                                    .collect();
                                if hit.is_empty() {
                                    let mut msg = format!("unknown region `{r}`");
                                    if let Some(n) = nearest(
                                        r,
                                        self.deployment.regions.keys().map(String::as_str),
                                    ) {
                                        msg.push_str(&format!("; did you mean `{n}`?"));
                                    }
                                    c.fail(format!("{path}.region"), msg);
                                }
                                hit
                            }
                        }
                    }
                    _ => {
                        if e.region.is_some() {
                            c.fail(
                                format!("{path}.region"),
                                "instance events take `instance`, not `region`",
                            );
                        }
                        match &e.instance {
                            None => {
                                c.fail(
                                    format!("{path}.instance"),
                                    "needs the instance id, e.g. `us-east-1/0`",
                                );
                                continue;
                            }
                            Some(id) => match instances.iter().position(|i| i.id == *id) {
                                Some(k) => vec![k as u32],
                                None => {
                                    let mut msg = format!("unknown instance `{id}`");
                                    if let Some(n) =
                                        nearest(id, instances.iter().map(|i| i.id.as_str()))
                                    {
                                        msg.push_str(&format!("; did you mean `{n}`?"));
                                    }
                                    msg.push_str("; instances are named `region/index` from 0");
                                    c.fail(format!("{path}.instance"), msg);
                                    continue;
                                }
                            },
                        }
                    }
                };
                let factor = match (e.kind, e.factor) {
                    (FailureKind::SlowInstance, Some(f)) if f.is_finite() && f >= 1.0 => f,
                    (FailureKind::SlowInstance, Some(f)) => {
                        c.fail(
                            format!("{path}.factor"),
                            format!("must be 1 or more, found {f}"),
                        );
                        1.0
                    }
                    (FailureKind::SlowInstance, None) => {
                        c.fail(
                            format!("{path}.factor"),
                            "slow-instance needs a `factor`, e.g. 3 for three times slower",
                        );
                        1.0
                    }
                    (_, Some(_)) => {
                        c.fail(format!("{path}.factor"), "applies only to slow-instance");
                        1.0
                    }
                    (_, None) => 1.0,
                };
                if e.duration.nanos() == Nanos::ZERO {
                    c.fail(format!("{path}.duration"), "must be longer than 0s");
                }
                if e.at.nanos() >= duration && duration > Nanos::ZERO {
                    c.fail(
                        format!("{path}.at"),
                        format!("starts at or after run.duration ({})", self.run.duration),
                    );
                }
                failure_events.push(CompiledFailure {
                    kind: e.kind,
                    at: e.at.nanos(),
                    duration: e.duration.nanos(),
                    instances: targets,
                    factor,
                });
            }
        }

        // deployment.limits
        let limits = &self.deployment.limits;
        if limits.max_connections == Some(0) {
            c.fail(
                "deployment.limits.maxConnections",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        if limits
            .connection_timeout
            .is_some_and(|t| t.nanos() == Nanos::ZERO)
        {
            c.fail(
                "deployment.limits.connectionTimeout",
                "must be longer than 0s (leave it out for no timeout)",
            );
        }
        if limits.max_connections_per_instance == Some(0) {
            c.fail(
                "deployment.limits.maxConnectionsPerInstance",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        if limits
            .request_timeout
            .is_some_and(|t| t.nanos() == Nanos::ZERO)
        {
            c.fail(
                "deployment.limits.requestTimeout",
                "must be longer than 0s (leave it out for no timeout)",
            );
        }

        // slo
        let mut objectives = Vec::new();
        if let Some(slo) = &self.slo {
            for (key, target) in &slo.latency {
                match Percentile::parse(key) {
                    Some(p) => objectives.push(Objective::Latency {
                        percentile: p,
                        target: target.nanos(),
                    }),
                    None => c.fail(
                        format!("slo.latency.{key}"),
                        "unknown percentile; write p followed by a number between 0 and 100, e.g. p50, p99, p99.9",
                    ),
                }
            }
            if let Some(e) = slo.error_rate {
                c.share("slo.errorRate", e);
                objectives.push(Objective::ErrorRate { max: e });
            }
        }

        let llm = model_index.and_then(|i| Some((i, samplers.get(i).cloned().flatten()?)));
        if !c.problems.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: c.problems,
            });
        }
        let (Some((mi, llm_latency)), Some(balancer)) = (llm, balancer) else {
            // Unreachable: a missing model, sampler or balancer recorded a problem.
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: vec![Problem::new("llm.models", "no usable model")],
            });
        };
        let (model_name, model) = models.get_index(mi).expect("index from the same map");
        let built = Model {
            scenario: self.clone(),
            currency,
            seed: self.run.seed,
            duration,
            warmup,
            replications: self.run.replications,
            rate_profile,
            cpu_time,
            llm_calls: r.llm_calls,
            llm_model: model_name.clone(),
            llm_latency,
            llm_error_rate: model.error_rate,
            instances,
            load_balancing: self.deployment.load_balancing.clone(),
            balancer,
            weights,
            client_regions,
            topology,
            max_connections_per_instance: limits.max_connections_per_instance,
            request_timeout: limits.request_timeout.map(|t| t.nanos()),
            max_connections: limits.max_connections,
            connection_timeout: limits.connection_timeout.map(|t| t.nanos()),
            health_check: d.health_check.clone().filter(|h| h.enabled),
            outlier_detection: d.outlier_detection.clone(),
            passive_health: d.passive_health.clone().filter(|p| p.enabled),
            circuit_breaker: d.circuit_breaker.clone().filter(|b| b.enabled),
            rate_limit: d.rate_limit.clone().filter(|r| r.enabled),
            retries: d.retries.clone(),
            users,
            random_failures,
            failure_events,
            objectives,
        };
        let infeasible = built.infeasible();
        if !infeasible.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                problems: infeasible,
            });
        }
        Ok(built)
    }
}

fn join_keys<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    keys.map(String::as_str).collect::<Vec<_>>().join(", ")
}

impl Model {
    /// Loads, parses and checks a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Model, ScenarioError> {
        let path = path.as_ref();
        Scenario::from_file(path)?.compile(path)
    }

    /// Parses and checks scenario JSON; `file` names the source in errors.
    pub fn from_json(text: &str, file: impl AsRef<Path>) -> Result<Model, ScenarioError> {
        let file = file.as_ref();
        Scenario::from_json(text, file)?.compile(file)
    }

    /// Total concurrent slots in the fleet.
    pub fn total_slots(&self) -> u64 {
        self.instances.iter().map(|i| u64::from(i.slots)).sum()
    }

    /// Mean service time of one request in seconds: CPU time plus its LLM
    /// calls.
    pub fn mean_service_secs(&self) -> f64 {
        self.cpu_time.as_ref().map_or(0.0, Sampler::mean_secs)
            + f64::from(self.llm_calls) * self.llm_latency.mean_secs()
    }

    /// Offered load per slot (rho) at the base arrival rate.
    pub fn offered_utilization(&self) -> f64 {
        let slots = self.total_slots() as f64;
        self.rate_profile[0].rate_per_second * self.mean_service_secs() / slots
    }

    /// Fleet cost per hour.
    pub fn cost_per_hour(&self) -> f64 {
        self.instances.iter().map(|i| i.price_per_hour).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentile_keys() {
        assert_eq!(Percentile::parse("p99"), Some(Percentile(990)));
        assert_eq!(Percentile::parse("p99.9"), Some(Percentile(999)));
        assert_eq!(Percentile::parse("p50"), Some(Percentile(500)));
        assert_eq!(Percentile::parse("p100"), None);
        assert_eq!(Percentile::parse("p99.99"), None);
        assert_eq!(Percentile::parse("99"), None);
        assert_eq!(Percentile(999).to_string(), "p99.9");
        assert_eq!(Percentile(990).to_string(), "p99");
    }
}

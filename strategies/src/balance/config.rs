//! The `loadBalancing` block of a deployment config.

use super::geo::{Canary, Geographic, Topology};
use super::{
    BoundedLoad, ConsistentHash, Edf, First, HashAlgorithm, IpHash, LeastConnections, PeakEwma,
    PerformanceBased, PowerOfTwo, RandomPick, ResponseTime, RoundRobin, SessionAffinityConfig,
    SmoothWeighted, StickySessions,
};
use crate::{ConfigError, DurationStr, Nanos};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `loadBalancing` block, in the seed docs' shape:
///
/// ```json
/// { "loadBalancing": { "strategy": "response-time", "window": "5m" } }
/// { "loadBalancing": { "strategy": "weighted",
///                      "weighted": { "instance-1": 50, "instance-2": 30 } } }
/// ```
///
/// Keys a strategy does not use are rejected by [`LoadBalancingConfig::build`]
/// rather than ignored, so a misplaced parameter cannot silently do nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancingConfig {
    /// Which balancer. When absent: `weighted` if a `weighted` map is
    /// given (the SwiftClaw doc's shape), else `round-robin` (the SwiftClaw
    /// default). See [`LoadBalancingConfig::kind`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
    /// Which production implementation a strategy follows, where there are
    /// several: `weighted`: `smooth` (nginx, default) or `edf` (Envoy);
    /// `power-of-two`: `envoy` (default) or `tower`; `random`: `weighted`
    /// (nginx, default) or `unweighted` (Envoy); `consistent-hash`: `ring`
    /// (ketama, Envoy ring hash; default) or `maglev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Static weights by instance id or region name (the SwiftClaw
    /// `weighted` map); weight 1 for any instance not named. Only
    /// strategies that honour weights take it (see
    /// [`StrategyKind::honours_weights`]).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub weighted: IndexMap<String, u32>,
    /// `power-of-two`: samples per pick (Envoy `choice_count`, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice_count: Option<u32>,
    /// `power-of-two` with unequal weights: Envoy's
    /// `active_request_bias` (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_request_bias: Option<f64>,
    /// `response-time`: the averaging window (default `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DurationStr>,
    /// `peak-ewma`: the estimate for a backend never heard from (default
    /// `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rtt: Option<DurationStr>,
    /// `peak-ewma`: the decay time of the estimate (default `10s`, as
    /// Finagle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay: Option<DurationStr>,
    /// `weighted` (smooth): nginx `max_fails`; a failure cuts effective
    /// weight by `weight / maxFails` (default 1; 0 disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fails: Option<u32>,
    /// `consistent-hash`: bounded loads, as Envoy's `hash_balance_factor`
    /// in percent (e.g. 125: no backend above 1.25 x the mean load); none
    /// by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_balance_factor: Option<u32>,
    /// Sticky sessions over the strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinityConfig>,
    /// `geographic`: the regions to route among (the SwiftClaw list);
    /// all regions when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// `geographic`: Envoy's overprovisioning factor (default 1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overprovisioning_factor: Option<f64>,
    /// `geographic`: Envoy's panic threshold in percent healthy (default
    /// 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_threshold: Option<u32>,
    /// `geographic`: the balancer within a region (default
    /// `round-robin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_strategy: Option<StrategyKind>,
    /// A canary split over any strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
    /// Balancer replicas sharing the clients (several proxy pods behind a
    /// DNS name or an L4 balancer), each a balancer of its own with its
    /// own view of the backends' load. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// With several `replicas`: how often each learns every backend's load
    /// (from a shared store or the backends' own reports); in between it
    /// adds only its own traffic to what it last learned. Absent: a
    /// replica only ever knows its own traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_refresh_interval: Option<DurationStr>,
}

/// `loadBalancing.canary`: send `percent` of traffic to some instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryConfig {
    /// Share of requests for the canary, 0 to 100 (SwiftClaw's
    /// `--canary 10`).
    pub percent: f64,
    /// The canary instances, by id (`region/index`) or region name.
    pub instances: Vec<String>,
}

/// Balancer names as written in `loadBalancing.strategy`. The names the
/// seed docs' TOML and Caddy configs use (`least_connections`,
/// `performance_based`, `round_robin`, `least_conn`, `ip_hash`) are read as
/// aliases.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Each eligible backend in turn.
    #[default]
    #[serde(alias = "round_robin")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["round_robin"])))]
    RoundRobin,
    /// Weighted round robin: nginx smooth WRR or Envoy EDF.
    Weighted,
    /// The fewest active requests per weight (nginx `least_conn`).
    #[serde(alias = "least_connections")]
    #[serde(alias = "least_conn")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["least_connections", "least_conn"])))]
    LeastConnections,
    /// A random eligible backend.
    Random,
    /// Power of two choices by active requests (Envoy least request,
    /// tower p2c).
    #[serde(alias = "power_of_two")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["power_of_two"])))]
    PowerOfTwo,
    /// Power of two choices by peak-EWMA cost (tower, Finagle).
    #[serde(alias = "peak_ewma")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["peak_ewma"])))]
    PeakEwma,
    /// The lowest mean response time over a window (SwiftClaw).
    #[serde(alias = "response_time")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["response_time"])))]
    ResponseTime,
    /// The AgenticGoKit success-rate and latency score.
    #[serde(alias = "performance_based")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["performance_based"])))]
    PerformanceBased,
    /// The first eligible backend (Caddy `first`).
    First,
    /// nginx `ip_hash` on the client's /24.
    #[serde(alias = "ip_hash")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["ip_hash"])))]
    IpHash,
    /// Consistent hashing on the user or session key.
    #[serde(alias = "consistent_hash")]
    #[cfg_attr(feature = "schema", schemars(extend("x-aliases" = ["consistent_hash"])))]
    ConsistentHash,
    /// The nearest healthy region, then Envoy priority failover.
    Geographic,
}

impl StrategyKind {
    /// Every strategy, in documentation order.
    pub const ALL: &'static [StrategyKind] = &[
        StrategyKind::RoundRobin,
        StrategyKind::Weighted,
        StrategyKind::LeastConnections,
        StrategyKind::Random,
        StrategyKind::PowerOfTwo,
        StrategyKind::PeakEwma,
        StrategyKind::ResponseTime,
        StrategyKind::PerformanceBased,
        StrategyKind::First,
        StrategyKind::IpHash,
        StrategyKind::ConsistentHash,
        StrategyKind::Geographic,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::RoundRobin => "round-robin",
            StrategyKind::Weighted => "weighted",
            StrategyKind::LeastConnections => "least-connections",
            StrategyKind::Random => "random",
            StrategyKind::PowerOfTwo => "power-of-two",
            StrategyKind::PeakEwma => "peak-ewma",
            StrategyKind::ResponseTime => "response-time",
            StrategyKind::PerformanceBased => "performance-based",
            StrategyKind::First => "first",
            StrategyKind::IpHash => "ip-hash",
            StrategyKind::ConsistentHash => "consistent-hash",
            StrategyKind::Geographic => "geographic",
        }
    }

    /// The `algorithm` values this strategy takes; the first is the default.
    pub fn algorithms(self) -> &'static [&'static str] {
        match self {
            StrategyKind::Weighted => &["smooth", "edf"],
            StrategyKind::PowerOfTwo => &["envoy", "tower"],
            StrategyKind::Random => &["weighted", "unweighted"],
            StrategyKind::ConsistentHash => &["ring", "maglev"],
            _ => &[],
        }
    }

    /// Whether this strategy, with `algorithm` (`None` for its default),
    /// spreads load by static weights; a `weighted` map given to one that
    /// does not would do nothing, so it is refused.
    pub fn honours_weights(self, algorithm: Option<&str>) -> bool {
        let alg = algorithm.unwrap_or_else(|| self.algorithms().first().copied().unwrap_or(""));
        match self {
            StrategyKind::Weighted | StrategyKind::LeastConnections | StrategyKind::IpHash => true,
            StrategyKind::Random => alg == "weighted",
            StrategyKind::PowerOfTwo => alg == "envoy",
            StrategyKind::ConsistentHash => alg == "ring",
            StrategyKind::Geographic => true,
            StrategyKind::RoundRobin
            | StrategyKind::PeakEwma
            | StrategyKind::ResponseTime
            | StrategyKind::PerformanceBased
            | StrategyKind::First => false,
        }
    }

    /// Whether this strategy routes by who is asking (a user, session or
    /// client address), so a request needs an identity.
    pub fn needs_identity(self) -> bool {
        matches!(self, StrategyKind::IpHash | StrategyKind::ConsistentHash)
    }

    /// The optional keys this strategy reads, besides `strategy` and
    /// `weighted`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            StrategyKind::Weighted => &["algorithm", "maxFails"],
            StrategyKind::PowerOfTwo => &["algorithm", "choiceCount", "activeRequestBias"],
            StrategyKind::Random => &["algorithm"],
            StrategyKind::PeakEwma => &["defaultRtt", "decay"],
            StrategyKind::ResponseTime => &["window"],
            StrategyKind::ConsistentHash => &["algorithm", "hashBalanceFactor"],
            StrategyKind::Geographic => &[
                "regions",
                "overprovisioningFactor",
                "panicThreshold",
                "localStrategy",
            ],
            _ => &[],
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl LoadBalancingConfig {
    /// The strategy in force: `strategy` when given; else `weighted` when a
    /// `weighted` map is given (the SwiftClaw doc writes weights alone);
    /// else `round-robin`.
    pub fn kind(&self) -> StrategyKind {
        match self.strategy {
            Some(s) => s,
            None if !self.weighted.is_empty() => StrategyKind::Weighted,
            None => StrategyKind::RoundRobin,
        }
    }

    /// The strategy that picks within a region for `geographic`, and the
    /// strategy itself otherwise.
    pub fn picking_kind(&self) -> StrategyKind {
        match self.kind() {
            StrategyKind::Geographic => self.local_strategy.unwrap_or(StrategyKind::RoundRobin),
            k => k,
        }
    }

    /// Whether requests need an identity (user or session key, client
    /// address) for this balancer to do what it says: hashing strategies,
    /// also as a region's local strategy, and session affinity.
    pub fn needs_identity(&self) -> bool {
        self.picking_kind().needs_identity()
            || self.session_affinity.as_ref().is_some_and(|a| a.enabled)
    }

    /// The keys set in this config, by their JSON names (besides
    /// `strategy` and `weighted`).
    fn set_keys(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |set: bool, k| {
            if set {
                v.push(k)
            }
        };
        add(self.algorithm.is_some(), "algorithm");
        add(self.choice_count.is_some(), "choiceCount");
        add(self.active_request_bias.is_some(), "activeRequestBias");
        add(self.window.is_some(), "window");
        add(self.default_rtt.is_some(), "defaultRtt");
        add(self.decay.is_some(), "decay");
        add(self.max_fails.is_some(), "maxFails");
        add(self.hash_balance_factor.is_some(), "hashBalanceFactor");
        add(self.regions.is_some(), "regions");
        add(
            self.overprovisioning_factor.is_some(),
            "overprovisioningFactor",
        );
        add(self.panic_threshold.is_some(), "panicThreshold");
        add(self.local_strategy.is_some(), "localStrategy");
        v
    }

    /// Checks the parameters against the strategy and builds the balancer,
    /// wrapped in sticky sessions when `sessionAffinity` is enabled. For
    /// strategies that need to know where backends are (`geographic`,
    /// `canary`), use [`LoadBalancingConfig::build_for`].
    pub fn build(&self) -> Result<super::LoadBalancer, ConfigError> {
        self.build_for(None)
    }

    /// Builds the balancer for a fleet laid out as `topology`.
    pub fn build_for(
        &self,
        topology: Option<&Topology>,
    ) -> Result<super::LoadBalancer, ConfigError> {
        let mut base = if self.kind() == StrategyKind::Geographic {
            self.build_geographic(topology)?
        } else {
            self.build_strategy()?
        };
        if let Some(c) = &self.canary {
            let t = topology.ok_or_else(|| {
                ConfigError::new("canary", "a canary split needs the fleet's instance ids")
            })?;
            let is_canary: Vec<bool> = (0..t.ids.len())
                .map(|i| {
                    c.instances
                        .iter()
                        .any(|n| *n == t.ids[i] || *n == t.regions[t.region_of[i] as usize])
                })
                .collect();
            if let Some(bad) = c
                .instances
                .iter()
                .find(|n| !t.ids.contains(n) && !t.regions.contains(n))
            {
                return Err(ConfigError::new(
                    "canary.instances",
                    format!("`{bad}` names no instance (`region/index`) or region"),
                ));
            }
            base =
                super::LoadBalancer::Canary(Box::new(Canary::new(&is_canary, c.percent, &base)?));
        }
        match &self.session_affinity {
            Some(a) if a.enabled => {
                a.validate()?;
                Ok(super::LoadBalancer::Sticky(Box::new(StickySessions::new(
                    a.clone(),
                    base,
                ))))
            }
            _ => Ok(base),
        }
    }

    fn build_geographic(
        &self,
        topology: Option<&Topology>,
    ) -> Result<super::LoadBalancer, ConfigError> {
        self.check_keys()?;
        let t = topology.ok_or_else(|| {
            ConfigError::new(
                "strategy",
                "geographic routing needs the fleet's regions and client round-trip times",
            )
        })?;
        let local = self.local_strategy.unwrap_or(StrategyKind::RoundRobin);
        if matches!(local, StrategyKind::Geographic) {
            return Err(ConfigError::new(
                "localStrategy",
                "cannot itself be geographic",
            ));
        }
        if !self.weighted.is_empty() && !local.honours_weights(None) {
            return Err(ignored_weights(local, "localStrategy"));
        }
        let inner = LoadBalancingConfig {
            strategy: Some(local),
            weighted: self.weighted.clone(),
            ..Default::default()
        }
        .build_strategy()?;
        let allowed = match &self.regions {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        t.regions
                            .iter()
                            .position(|r| r == n)
                            .map(|p| p as u32)
                            .ok_or_else(|| {
                                ConfigError::new(
                                    "regions",
                                    format!(
                                        "unknown region `{n}`; the deployment has: {}",
                                        t.regions.join(", ")
                                    ),
                                )
                            })
                    })
                    .collect::<Result<Vec<u32>, _>>()?,
            ),
        };
        let g = Geographic::new(
            t,
            &inner,
            self.overprovisioning_factor.unwrap_or(1.4),
            self.panic_threshold.unwrap_or(50),
            allowed.as_deref(),
        )?;
        Ok(super::LoadBalancer::Geographic(Box::new(g)))
    }

    fn check_keys(&self) -> Result<(), ConfigError> {
        let s = self.kind();
        for key in self.set_keys() {
            if !s.keys().contains(&key) {
                return Err(ConfigError::new(
                    key,
                    format!("`{key}` does not apply to strategy `{s}`{}", takes(s)),
                ));
            }
        }
        Ok(())
    }

    fn build_strategy(&self) -> Result<super::LoadBalancer, ConfigError> {
        use super::LoadBalancer as L;
        let s = self.kind();
        self.check_keys()?;
        if !self.weighted.is_empty() && !s.honours_weights(self.algorithm.as_deref()) {
            return Err(ignored_weights(s, "strategy"));
        }
        let algorithm = match &self.algorithm {
            None => s.algorithms().first().copied().unwrap_or(""),
            Some(a) => s
                .algorithms()
                .iter()
                .copied()
                .find(|x| x == a)
                .ok_or_else(|| {
                    ConfigError::new(
                        "algorithm",
                        format!(
                            "unknown algorithm `{a}` for `{s}`; allowed: {}",
                            s.algorithms().join(", ")
                        ),
                    )
                })?,
        };
        for (name, w) in &self.weighted {
            if *w == 0 {
                return Err(ConfigError::new(
                    "weighted",
                    format!("weight of `{name}` must be at least 1"),
                ));
            }
        }
        let positive = |key: &'static str, d: Option<DurationStr>, default: Nanos| match d {
            Some(d) if d.nanos() == Nanos::ZERO => {
                Err(ConfigError::new(key, "must be longer than 0s"))
            }
            Some(d) => Ok(d.nanos()),
            None => Ok(default),
        };
        Ok(match s {
            StrategyKind::RoundRobin => L::RoundRobin(RoundRobin::new()),
            StrategyKind::Weighted if algorithm == "edf" => {
                if self.max_fails.is_some() {
                    return Err(ConfigError::new(
                        "maxFails",
                        "is read by the `smooth` algorithm (nginx) only; Envoy's EDF scheduler does not cut weights on failures",
                    ));
                }
                L::Edf(Edf::new())
            }
            StrategyKind::Weighted => {
                L::SmoothWeighted(SmoothWeighted::with_max_fails(self.max_fails.unwrap_or(1)))
            }
            StrategyKind::LeastConnections => L::LeastConnections(LeastConnections::new()),
            StrategyKind::Random if algorithm == "unweighted" => {
                L::Random(RandomPick::unweighted())
            }
            StrategyKind::Random => L::Random(RandomPick::new()),
            StrategyKind::PowerOfTwo => {
                let choices = self.choice_count.unwrap_or(2);
                let bias = self.active_request_bias.unwrap_or(1.0);
                if algorithm == "tower" && self.choice_count.is_some_and(|c| c != 2) {
                    return Err(ConfigError::new(
                        "choiceCount",
                        "tower's p2c always samples 2; use algorithm `envoy` for more",
                    ));
                }
                if algorithm != "tower"
                    && self.active_request_bias.is_some()
                    && self.weighted.is_empty()
                {
                    return Err(ConfigError::new(
                        "activeRequestBias",
                        "changes picks only between unequal weights (Envoy); give a `weighted` map with different weights, or leave it out",
                    ));
                }
                if algorithm == "tower" && self.active_request_bias.is_some() {
                    return Err(ConfigError::new(
                        "activeRequestBias",
                        "is Envoy's (algorithm `envoy`, with unequal weights); tower's p2c compares loads as they are",
                    ));
                }
                if choices < 2 {
                    return Err(ConfigError::new(
                        "choiceCount",
                        format!("must be at least 2, found {choices}"),
                    ));
                }
                if !bias.is_finite() || bias < 0.0 {
                    return Err(ConfigError::new(
                        "activeRequestBias",
                        format!("must be 0 or more, found {bias}"),
                    ));
                }
                if algorithm == "tower" {
                    L::PowerOfTwo(PowerOfTwo::tower())
                } else {
                    L::PowerOfTwo(PowerOfTwo::envoy(choices, bias))
                }
            }
            StrategyKind::PeakEwma => L::PeakEwma(PeakEwma::new(
                positive("defaultRtt", self.default_rtt, Nanos::from_secs(1))?,
                positive("decay", self.decay, Nanos::from_secs(10))?,
            )),
            StrategyKind::ResponseTime => L::ResponseTime(ResponseTime::new(positive(
                "window",
                self.window,
                Nanos::from_secs(60),
            )?)),
            StrategyKind::PerformanceBased => L::PerformanceBased(PerformanceBased::new()),
            StrategyKind::First => L::First(First::default()),
            StrategyKind::IpHash => L::IpHash(IpHash::new()),
            StrategyKind::Geographic => return self.build_geographic(None),
            StrategyKind::ConsistentHash => {
                let bounded = match self.hash_balance_factor {
                    None => None,
                    Some(f) if f > 100 => Some(BoundedLoad {
                        factor: f64::from(f) / 100.0,
                    }),
                    Some(f) => {
                        return Err(ConfigError::new(
                            "hashBalanceFactor",
                            format!("must be above 100 (percent of the mean load), found {f}"),
                        ))
                    }
                };
                let alg = if algorithm == "maglev" {
                    HashAlgorithm::Maglev
                } else {
                    HashAlgorithm::Ring
                };
                L::ConsistentHash(ConsistentHash::new(alg, bounded))
            }
        })
    }
}

/// The error for a `weighted` map a strategy would ignore.
fn ignored_weights(s: StrategyKind, key: &'static str) -> ConfigError {
    let honour: Vec<String> = StrategyKind::ALL
        .iter()
        .filter(|k| k.honours_weights(None) && **k != StrategyKind::Geographic)
        .map(|k| k.to_string())
        .collect();
    ConfigError::new(
        key,
        format!(
            "`{s}` ignores the `weighted` map, so the weights would do nothing; \
             strategies that honour weights: {} (random with algorithm `weighted`, \
             power-of-two with `envoy`, consistent-hash with `ring`); or leave \
             `strategy` out to get `weighted`",
            honour.join(", ")
        ),
    )
}

fn takes(s: StrategyKind) -> String {
    if s.keys().is_empty() {
        format!(" (`{s}` takes no parameters)")
    } else {
        format!(" (`{s}` takes: {})", s.keys().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> LoadBalancingConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_the_seed_docs_shapes() {
        let c = cfg(r#"{"strategy": "least-connections"}"#);
        assert_eq!(c.kind(), StrategyKind::LeastConnections);
        assert_eq!(cfg("{}").kind(), StrategyKind::RoundRobin);
        // SwiftClaw writes weights alone: that selects `weighted`.
        let c = cfg(r#"{"weighted": {"instance-1": 50, "instance-2": 30}}"#);
        assert_eq!(c.kind(), StrategyKind::Weighted);
        assert_eq!(c.build().unwrap().kind(), StrategyKind::Weighted);
        let c = cfg(r#"{"strategy": "response-time", "window": "5m"}"#);
        assert_eq!(c.window.unwrap().nanos(), Nanos::from_secs(300));
        let c = cfg(
            r#"{"strategy": "weighted", "weighted": {"instance-1": 50, "instance-2": 30, "instance-3": 20}}"#,
        );
        assert_eq!(c.weighted.get("instance-2"), Some(&30));
        assert!(c.build().is_ok());
    }

    #[test]
    fn names_round_trip_and_every_strategy_builds() {
        let topo = Topology {
            ids: vec!["r/0".into()],
            region_of: vec![0],
            regions: vec!["r".into()],
            priority: vec![0],
            rtt: vec![],
        };
        for k in StrategyKind::ALL {
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
            let back: StrategyKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *k);
            let built = LoadBalancingConfig {
                strategy: Some(*k),
                ..Default::default()
            }
            .build_for(Some(&topo))
            .unwrap();
            assert_eq!(built.kind(), *k);
            for a in k.algorithms() {
                let c = LoadBalancingConfig {
                    strategy: Some(*k),
                    algorithm: Some(a.to_string()),
                    ..Default::default()
                };
                assert!(c.build_for(Some(&topo)).is_ok(), "{k} {a}");
            }
        }
    }

    #[test]
    fn rejects_parameters_the_strategy_does_not_take() {
        let e = cfg(r#"{"strategy": "round-robin", "window": "5m"}"#)
            .build()
            .unwrap_err();
        assert_eq!(e.key, "window");
        assert!(e.message.contains("takes no parameters"), "{e:?}");
        let e = cfg(r#"{"strategy": "weighted", "algorithm": "maglev"}"#)
            .build()
            .unwrap_err();
        assert_eq!(e.key, "algorithm");
        assert!(e.message.contains("smooth, edf"), "{e:?}");
        let e = cfg(r#"{"strategy": "power-of-two", "choiceCount": 1}"#)
            .build()
            .unwrap_err();
        assert_eq!(e.key, "choiceCount");
        let e = cfg(r#"{"strategy": "peak-ewma", "decay": "0s"}"#)
            .build()
            .unwrap_err();
        assert_eq!(e.key, "decay");
    }

    #[test]
    fn refuses_weights_a_strategy_would_ignore() {
        for (json, ok) in [
            (r#"{"strategy": "round-robin"}"#, false),
            (r#"{"strategy": "peak-ewma"}"#, false),
            (r#"{"strategy": "response-time"}"#, false),
            (r#"{"strategy": "performance-based"}"#, false),
            (r#"{"strategy": "first"}"#, false),
            (
                r#"{"strategy": "random", "algorithm": "unweighted"}"#,
                false,
            ),
            (
                r#"{"strategy": "power-of-two", "algorithm": "tower"}"#,
                false,
            ),
            (
                r#"{"strategy": "consistent-hash", "algorithm": "maglev"}"#,
                false,
            ),
            (r#"{"strategy": "weighted"}"#, true),
            (r#"{"strategy": "least-connections"}"#, true),
            (r#"{"strategy": "random"}"#, true),
            (r#"{"strategy": "power-of-two"}"#, true),
            (r#"{"strategy": "ip-hash"}"#, true),
            (r#"{"strategy": "consistent-hash"}"#, true),
        ] {
            let mut c = cfg(json);
            c.weighted.insert("a".into(), 3);
            let r = c.build();
            assert_eq!(r.is_ok(), ok, "{json}: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.key, "strategy");
                assert!(e.message.contains("ignores the `weighted` map"), "{e:?}");
            }
        }
    }

    #[test]
    fn rejects_unknown_strategy_and_keys() {
        assert!(serde_json::from_str::<LoadBalancingConfig>(r#"{"strategy": "fastest"}"#).is_err());
        assert!(serde_json::from_str::<LoadBalancingConfig>(r#"{"strategi": "random"}"#).is_err());
    }
}

use serde::{Deserialize, Serialize};
use std::fmt;

/// The `loadBalancing` block of a deployment config.
///
/// ```json
/// { "loadBalancing": { "strategy": "least-connections" } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancingConfig {
    /// Which balancer; `round-robin` when absent.
    #[serde(default)]
    pub strategy: StrategyKind,
}

/// Balancer names as written in `loadBalancing.strategy`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Each eligible backend in turn.
    #[default]
    RoundRobin,
    /// A uniformly random eligible backend.
    Random,
    /// The eligible backend with the fewest active requests per weight.
    LeastConnections,
}

impl StrategyKind {
    /// Every strategy, in documentation order.
    pub const ALL: &'static [StrategyKind] = &[
        StrategyKind::RoundRobin,
        StrategyKind::Random,
        StrategyKind::LeastConnections,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::RoundRobin => "round-robin",
            StrategyKind::Random => "random",
            StrategyKind::LeastConnections => "least-connections",
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seed_docs_shape() {
        let c: LoadBalancingConfig =
            serde_json::from_str(r#"{"strategy": "least-connections"}"#).unwrap();
        assert_eq!(c.strategy, StrategyKind::LeastConnections);
        let c: LoadBalancingConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c.strategy, StrategyKind::RoundRobin);
    }

    #[test]
    fn names_round_trip() {
        for k in StrategyKind::ALL {
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
            let back: StrategyKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *k);
        }
    }

    #[test]
    fn rejects_unknown_strategy_and_keys() {
        assert!(serde_json::from_str::<LoadBalancingConfig>(r#"{"strategy": "fastest"}"#).is_err());
        assert!(serde_json::from_str::<LoadBalancingConfig>(r#"{"strategi": "random"}"#).is_err());
    }
}

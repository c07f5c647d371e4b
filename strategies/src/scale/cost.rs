//! The Azcore doc's cost guard: a scale-up that would push spend over a
//! budget is refused.

use crate::ConfigError;
use serde::{Deserialize, Serialize};

/// `deployment.budget`:
///
/// ```json
/// { "budget": { "perHour": 100, "total": 2000, "llmPerHour": 40, "fallbackModel": "small" } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetConfig {
    /// Most instance spend per hour (the Azcore doc's `hourly_budget`): a
    /// scale-up that would make the fleet's hourly price exceed it is
    /// refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<f64>,
    /// Most spend over the whole run, instances and LLM calls: a scale-up
    /// is refused when what was spent plus the fleet's new hourly price for
    /// the rest of the run would exceed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// Most LLM spend per hour: over it, requests go to `fallbackModel`
    /// (when one is named) until the last hour's spend is back under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_per_hour: Option<f64>,
    /// The cheaper model used while `llmPerHour` is exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_model: Option<String>,
}

impl BudgetConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("perHour", self.per_hour),
            ("total", self.total),
            ("llmPerHour", self.llm_per_hour),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(ConfigError::new(key, format!("must be above 0, found {v}")));
                }
            }
        }
        if self.llm_per_hour.is_some() && self.fallback_model.is_none() {
            return Err(ConfigError::new(
                "llmPerHour",
                "switches requests to `fallbackModel` while the last hour's LLM spend is over it; name that model",
            ));
        }
        if self.fallback_model.is_some() && self.llm_per_hour.is_none() {
            return Err(ConfigError::new(
                "fallbackModel",
                "applies only with `llmPerHour`, the cap that switches to it",
            ));
        }
        Ok(())
    }
}

/// Which cap refused a scale-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BudgetLimit {
    /// `perHour`.
    PerHour,
    /// `total`.
    Total,
}

/// The budget check on scale-ups (the Azcore doc's
/// `CostOptimizer.should_scale_up`: `projected = current + additional;
/// refuse if projected > hourly_budget`).
#[derive(Debug, Clone)]
pub struct CostGuard {
    cfg: BudgetConfig,
}

impl CostGuard {
    /// A guard over `cfg`.
    pub fn new(cfg: BudgetConfig) -> CostGuard {
        CostGuard { cfg }
    }

    /// The configuration.
    pub fn config(&self) -> &BudgetConfig {
        &self.cfg
    }

    /// Whether adding `added_per_hour` to a fleet costing `rate_per_hour`
    /// now fits: `None` when it does, else the cap it breaks. `spent` is
    /// the spend so far (instances and LLM) and `remaining_hours` what is
    /// left of the run.
    pub fn refuses_scale_up(
        &self,
        rate_per_hour: f64,
        added_per_hour: f64,
        spent: f64,
        remaining_hours: f64,
    ) -> Option<BudgetLimit> {
        let projected = rate_per_hour + added_per_hour;
        if self.cfg.per_hour.is_some_and(|cap| projected > cap) {
            return Some(BudgetLimit::PerHour);
        }
        if self
            .cfg
            .total
            .is_some_and(|cap| spent + projected * remaining_hours > cap)
        {
            return Some(BudgetLimit::Total);
        }
        None
    }

    /// Whether LLM spend at `llm_per_hour` is over its cap.
    pub fn llm_over(&self, llm_per_hour: f64) -> bool {
        self.cfg.llm_per_hour.is_some_and(|cap| llm_per_hour > cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Azcore doc's example: 10 instances at 0.20 cost 2.00 an hour; one
    /// more (0.20) against a 100/hour budget is allowed; against 2.10 it is
    /// refused.
    #[test]
    fn azcore_should_scale_up() {
        let g = CostGuard::new(BudgetConfig {
            per_hour: Some(100.0),
            ..Default::default()
        });
        assert_eq!(g.refuses_scale_up(2.0, 0.2, 0.0, 1.0), None);
        let g = CostGuard::new(BudgetConfig {
            per_hour: Some(2.1),
            ..Default::default()
        });
        assert_eq!(
            g.refuses_scale_up(2.0, 0.2, 0.0, 1.0),
            Some(BudgetLimit::PerHour)
        );
        assert_eq!(
            g.refuses_scale_up(1.9, 0.2, 0.0, 1.0),
            None,
            "2.10 is not over 2.10"
        );
    }

    #[test]
    fn the_total_cap_projects_the_rest_of_the_run() {
        let g = CostGuard::new(BudgetConfig {
            total: Some(10.0),
            ..Default::default()
        });
        // Spent 6; 2/hour for 2 more hours is 10: allowed; 2.5/hour is not.
        assert_eq!(g.refuses_scale_up(1.5, 0.5, 6.0, 2.0), None);
        assert_eq!(
            g.refuses_scale_up(2.0, 0.5, 6.0, 2.0),
            Some(BudgetLimit::Total)
        );
    }
}

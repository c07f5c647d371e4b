//! `deployment.budget`: spend caps, checked against what the fleet costs
//! at its smallest.

use super::{Checker, FleetPart, LlmPart};
use crate::scenario::Scenario;
use strategies::scale::BudgetConfig;

pub(super) struct BudgetPart {
    pub(super) config: Option<BudgetConfig>,
    pub(super) fallback_model: Option<usize>,
}

impl Scenario {
    pub(super) fn compile_budget(
        &self,
        c: &mut Checker,
        fleet: &FleetPart,
        llm: &LlmPart,
    ) -> BudgetPart {
        let Some(b) = &self.deployment.budget else {
            return BudgetPart {
                config: None,
                fallback_model: None,
            };
        };
        c.policy("deployment.budget", b.validate());
        let per_call = std::iter::once(("workload.request".to_string(), &self.workload.request))
            .chain(self.workload.classes.iter().filter_map(|(name, k)| {
                Some((
                    format!("workload.classes.{name}.request"),
                    k.request.as_ref()?,
                ))
            }))
            .find(|(_, r)| !r.model_per_call.is_empty());
        if let (Some(_), Some((path, _))) = (&b.fallback_model, per_call) {
            c.fail(
                "deployment.budget.fallbackModel",
                format!(
                    "replaces the model requests call, but {path}.modelPerCall names a model per \
                     call: use {path}.model, or leave fallbackModel out"
                ),
            );
        }
        let fallback_model = match &b.fallback_model {
            None => None,
            Some(name) => match self.llm.models.get_index_of(name) {
                Some(i) => Some(i),
                None => {
                    c.unknown(
                        "deployment.budget.fallbackModel",
                        "model",
                        name,
                        self.llm.models.keys(),
                        "llm.models",
                    );
                    None
                }
            },
        };
        if b.llm_per_hour.is_some()
            && !llm
                .models
                .iter()
                .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0)
        {
            c.fail(
                "deployment.budget.llmPerHour",
                "caps LLM spend, but no model in llm.models has a price per 1k tokens",
            );
        }
        if b.per_hour.is_some() || b.total.is_some() {
            if self.deployment.scaling.is_none() {
                c.fail(
                    "deployment.budget",
                    "perHour and total cap what an autoscaler may add: they need deployment.scaling",
                );
            }
            // The fleet at the start: over the cap, spend is over it at once.
            let floor: f64 = fleet
                .regions
                .iter()
                .map(|r| f64::from(r.initial) * r.price_per_hour)
                .sum();
            if let Some(cap) = b.per_hour {
                if floor > cap {
                    c.fail(
                        "deployment.budget.perHour",
                        format!("the fleet's initial instances already cost {floor:.2} an hour, above the cap of {cap}"),
                    );
                }
            }
        }
        BudgetPart {
            config: Some(b.clone()),
            fallback_model,
        }
    }
}

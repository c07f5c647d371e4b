//! `llm`: the models requests call, their latency, errors and prices.

use super::{join_keys, Checker, LlmModelSpec, WorkloadPart};
use crate::scenario::Scenario;

pub(super) struct LlmPart {
    pub(super) models: Vec<LlmModelSpec>,
    pub(super) model_index: Option<usize>,
}

impl Scenario {
    pub(super) fn compile_llm(&self, c: &mut Checker) -> LlmPart {
        let defined = &self.llm.models;
        if defined.is_empty() {
            c.fail("llm.models", "define at least one model");
        }
        let mut models = Vec::new();
        let mut complete = true;
        for (name, m) in defined {
            let path = format!("llm.models.{name}");
            let latency = c.dist(&format!("{path}.latency"), &m.latency);
            c.share(&format!("{path}.errorRate"), m.error_rate);
            for (key, v) in [
                ("pricePer1kInputTokens", m.price_per_1k_input_tokens),
                ("pricePer1kOutputTokens", m.price_per_1k_output_tokens),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    c.fail(
                        format!("{path}.{key}"),
                        format!("must be 0 or more, found {v}"),
                    );
                }
            }
            match latency {
                Some(latency) => models.push(LlmModelSpec {
                    name: name.clone(),
                    latency,
                    error_rate: m.error_rate,
                    price_per_1k_input: m.price_per_1k_input_tokens,
                    price_per_1k_output: m.price_per_1k_output_tokens,
                }),
                None => complete = false,
            }
        }
        let model_index = match &self.workload.request.model {
            Some(name) => match defined.get_index_of(name) {
                Some(i) => Some(i),
                None => {
                    c.unknown(
                        "workload.request.model",
                        "model",
                        name,
                        defined.keys(),
                        "llm.models",
                    );
                    None
                }
            },
            None if defined.len() == 1 => Some(0),
            None if defined.is_empty() => None,
            None => {
                c.fail(
                    "workload.request.model",
                    format!(
                        "required when llm.models defines more than one model; one of: {}",
                        join_keys(defined.keys())
                    ),
                );
                None
            }
        };
        LlmPart {
            models,
            model_index: model_index.filter(|_| complete),
        }
    }

    /// Token counts are only read to price calls: given with no price
    /// anywhere, they would change nothing.
    pub(super) fn check_tokens(&self, c: &mut Checker, llm: &LlmPart, w: &WorkloadPart) {
        let priced = llm
            .models
            .iter()
            .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0);
        let r = &self.workload.request;
        if !priced && (r.input_tokens.is_some() || r.output_tokens.is_some()) {
            c.fail(
                "workload.request.inputTokens",
                "token counts price LLM calls, but no model in llm.models has \
                 pricePer1kInputTokens or pricePer1kOutputTokens: give a price or leave the tokens out",
            );
        }
        for m in defined_prices(self) {
            let (name, price_in, price_out) = m;
            if price_in > 0.0 && w.input_tokens.is_none() && r.input_tokens.is_none() {
                c.fail(
                    format!("llm.models.{name}.pricePer1kInputTokens"),
                    "needs workload.request.inputTokens to say how many tokens a call sends",
                );
            }
            if price_out > 0.0 && r.output_tokens.is_none() {
                c.fail(
                    format!("llm.models.{name}.pricePer1kOutputTokens"),
                    "needs workload.request.outputTokens to say how many tokens a call returns",
                );
            }
        }
    }
}

fn defined_prices(s: &Scenario) -> Vec<(String, f64, f64)> {
    s.llm
        .models
        .iter()
        .map(|(n, m)| {
            (
                n.clone(),
                m.price_per_1k_input_tokens,
                m.price_per_1k_output_tokens,
            )
        })
        .collect()
}

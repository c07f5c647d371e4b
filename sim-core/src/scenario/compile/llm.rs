//! `llm`: the models requests call, their latency, errors and prices.

use super::{
    join_keys, CacheModel, Checker, LlmModelSpec, QuotaModel, RateLimitRetryModel, WorkloadPart,
};
use crate::scenario::Scenario;

pub(super) struct LlmPart {
    pub(super) models: Vec<LlmModelSpec>,
    pub(super) model_index: Option<usize>,
    pub(super) model_per_call: Vec<usize>,
    pub(super) cache: Option<CacheModel>,
    pub(super) rate_limit_retries: RateLimitRetryModel,
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
            let fallback = m.fallback.as_ref().and_then(|f| {
                let i = defined.get_index_of(f);
                if i.is_none() {
                    c.unknown(
                        format!("{path}.fallback"),
                        "model",
                        f,
                        defined.keys(),
                        "llm.models",
                    );
                } else if f == name {
                    c.fail(
                        format!("{path}.fallback"),
                        "a model cannot fall back on itself",
                    );
                    return None;
                }
                i
            });
            let quota = self.compile_quota(c, &path, m);
            let saturation = m.saturation.as_ref().and_then(|sat| {
                if sat.concurrency == 0 {
                    c.fail(
                        format!("{path}.saturation.concurrency"),
                        "must be at least 1",
                    );
                    return None;
                }
                Some(sat.concurrency)
            });
            match self.call_latency(c, &path, m) {
                Some((latency, per_token)) => models.push(LlmModelSpec {
                    name: name.clone(),
                    latency,
                    per_token,
                    error_rate: m.error_rate,
                    fallback,
                    quota,
                    saturation,
                    price_per_1k_input: m.price_per_1k_input_tokens,
                    price_per_1k_output: m.price_per_1k_output_tokens,
                }),
                None => complete = false,
            }
        }
        if complete {
            check_fallback_cycles(c, &models);
        }
        let r = &self.workload.request;
        let lookup = |c: &mut Checker, path: &str, name: &String| match defined.get_index_of(name) {
            Some(i) => Some(i),
            None => {
                c.unknown(path, "model", name, defined.keys(), "llm.models");
                None
            }
        };
        let mut model_per_call = Vec::new();
        for (i, name) in r.model_per_call.iter().enumerate() {
            if let Some(m) = lookup(c, &format!("workload.request.modelPerCall[{i}]"), name) {
                model_per_call.push(m);
            }
        }
        if r.model.is_some() && !r.model_per_call.is_empty() {
            c.fail(
                "workload.request.modelPerCall",
                "give either workload.request.model or modelPerCall, not both",
            );
        }
        let model_index = match (&r.model, model_per_call.first()) {
            (Some(name), _) => lookup(c, "workload.request.model", name),
            (None, Some(&first)) => Some(first),
            (None, None) if defined.len() == 1 => Some(0),
            (None, None) if defined.is_empty() => None,
            (None, None) => {
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
        if model_per_call.len() != r.model_per_call.len() {
            complete = false;
        }
        let cache = self.llm.cache.as_ref().and_then(|k| {
            c.share("llm.cache.hitRatio", k.hit_ratio);
            let latency = match &k.latency {
                Some(l) => c.duration_or_dist("llm.cache.latency", l)?,
                None => crate::dist::Sampler::Constant(0.0),
            };
            Some(CacheModel {
                hit_ratio: k.hit_ratio,
                latency,
            })
        });
        let limited = self.llm.models.values().any(|m| m.rate_limit.is_some());
        let rate_limit_retries = match &self.llm.rate_limit_retries {
            Some(r) => {
                if !limited {
                    c.fail(
                        "llm.rateLimitRetries",
                        "answers 429s, but no model in llm.models has a rateLimit",
                    );
                }
                RateLimitRetryModel {
                    max_retries: r.max_retries,
                    jitter: r.jitter.nanos(),
                }
            }
            None => RateLimitRetryModel {
                max_retries: 2,
                jitter: strategies::Nanos::ZERO,
            },
        };
        LlmPart {
            models,
            model_index: model_index.filter(|_| complete),
            model_per_call,
            cache,
            rate_limit_retries,
        }
    }

    /// A model's `rateLimit`: token buckets in calls and in tokens.
    fn compile_quota(
        &self,
        c: &mut Checker,
        path: &str,
        m: &crate::scenario::LlmModel,
    ) -> Option<QuotaModel> {
        let q = m.rate_limit.as_ref()?;
        let path = format!("{path}.rateLimit");
        let burst = match q.burst {
            Some(b) if b.nanos() == strategies::Nanos::ZERO => {
                c.fail(format!("{path}.burst"), "must be longer than 0s");
                return None;
            }
            Some(b) => b.nanos().as_secs_f64(),
            None => 1.0,
        };
        let mut bucket = |key: &str, v: Option<f64>| -> Option<(f64, f64)> {
            let v = v?;
            if !(v.is_finite() && v > 0.0) {
                c.fail(
                    format!("{path}.{key}"),
                    format!("must be above 0, found {v}"),
                );
                return None;
            }
            let rate = v / 60.0;
            Some((rate, (rate * burst).max(1.0)))
        };
        let calls = bucket("requestsPerMinute", q.requests_per_minute);
        let tokens = bucket("tokensPerMinute", q.tokens_per_minute);
        if q.requests_per_minute.is_none() && q.tokens_per_minute.is_none() {
            c.fail(
                path.clone(),
                "give requestsPerMinute, tokensPerMinute or both",
            );
            return None;
        }
        let r = &self.workload.request;
        if q.tokens_per_minute.is_some() && r.input_tokens.is_none() && r.output_tokens.is_none() {
            c.fail(
                format!("{path}.tokensPerMinute"),
                "counts each call's tokens: needs workload.request.inputTokens or outputTokens",
            );
        }
        Some(QuotaModel {
            calls,
            tokens,
            per_instance: q.per == crate::scenario::QuotaScope::Instance,
        })
    }

    /// A model's call latency: a distribution, or time to first token and
    /// time per output token.
    fn call_latency(
        &self,
        c: &mut Checker,
        path: &str,
        m: &crate::scenario::LlmModel,
    ) -> Option<(crate::dist::Sampler, Option<crate::dist::Sampler>)> {
        match (&m.latency, &m.time_to_first_token, &m.time_per_output_token) {
            (Some(l), None, None) => Some((c.dist(&format!("{path}.latency"), l)?, None)),
            (None, Some(first), Some(per)) => {
                if self.workload.request.output_tokens.is_none() {
                    c.fail(
                        format!("{path}.timePerOutputToken"),
                        "needs workload.request.outputTokens to say how many tokens a call returns",
                    );
                }
                let first = c.duration_or_dist(&format!("{path}.timeToFirstToken"), first);
                let per = c.duration_or_dist(&format!("{path}.timePerOutputToken"), per);
                Some((first?, Some(per?)))
            }
            (None, Some(_), None) => {
                c.fail(
                    format!("{path}.timePerOutputToken"),
                    "required with timeToFirstToken: a call takes the first token's time plus this per output token",
                );
                None
            }
            (None, None, Some(_)) => {
                c.fail(
                    format!("{path}.timeToFirstToken"),
                    "required with timePerOutputToken",
                );
                None
            }
            (None, None, None) => {
                c.fail(
                    format!("{path}.latency"),
                    "required: a distribution of one call's latency, or timeToFirstToken and \
                     timePerOutputToken",
                );
                None
            }
            (Some(_), _, _) => {
                c.fail(
                    format!("{path}.latency"),
                    "give either latency or timeToFirstToken and timePerOutputToken, not both",
                );
                None
            }
        }
    }

    /// Token counts are only read to price calls: given with no price
    /// anywhere, they would change nothing.
    pub(super) fn check_tokens(&self, c: &mut Checker, llm: &LlmPart, w: &WorkloadPart) {
        let priced = llm
            .models
            .iter()
            .any(|m| m.price_per_1k_input > 0.0 || m.price_per_1k_output > 0.0);
        let timed = llm
            .models
            .iter()
            .any(|m| m.per_token.is_some() || m.quota.is_some_and(|q| q.tokens.is_some()));
        let r = &self.workload.request;
        let counted = llm
            .models
            .iter()
            .any(|m| m.quota.is_some_and(|q| q.tokens.is_some()));
        if !priced && !counted && r.input_tokens.is_some() {
            c.fail(
                "workload.request.inputTokens",
                "input tokens price LLM calls or count against a tokensPerMinute quota, but no \
                 model in llm.models has pricePer1kInputTokens, pricePer1kOutputTokens or a \
                 tokensPerMinute rateLimit: give one or leave the tokens out",
            );
        }
        if !priced && !timed && r.output_tokens.is_some() {
            c.fail(
                "workload.request.outputTokens",
                "output tokens price LLM calls or time them, but no model in llm.models has \
                 pricePer1kOutputTokens or timePerOutputToken: give one or leave the tokens out",
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

/// A fallback chain that comes back to a model it left would never end.
fn check_fallback_cycles(c: &mut Checker, models: &[LlmModelSpec]) {
    for (start, m) in models.iter().enumerate() {
        let mut at = m.fallback;
        for _ in 0..models.len() {
            match at {
                Some(i) if i == start => {
                    c.fail(
                        format!("llm.models.{}.fallback", m.name),
                        "the fallback chain comes back to this model: end it at a model \
                         without a fallback",
                    );
                    break;
                }
                Some(i) => at = models[i].fallback,
                None => break,
            }
        }
    }
}

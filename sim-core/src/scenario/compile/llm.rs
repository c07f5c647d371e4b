//! `llm`: the models requests call, their latency, errors and prices.

use super::{
    CacheModel, Checker, ClassModel, LlmModelSpec, QuotaModel, RateLimitRetryModel, Shape,
    TraceModel,
};
use crate::scenario::Scenario;

pub(super) struct LlmPart {
    pub(super) models: Vec<LlmModelSpec>,
    /// Every model compiled (and no fallback cycle).
    pub(super) complete: bool,
    pub(super) cache: Option<CacheModel>,
    pub(super) rate_limit_retries: RateLimitRetryModel,
}

impl Scenario {
    pub(super) fn compile_llm(&self, c: &mut Checker) -> LlmPart {
        // No model is needed when no request calls one; a request that
        // does names the missing model at its own path
        // (`compile_request`).
        let defined = &self.llm.models;
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
            let breaker = m.circuit_breaker.as_ref().filter(|b| b.enabled).map(|b| {
                c.policy(&format!("{path}.circuitBreaker"), b.validate());
                b.clone()
            });
            let per_input_token = m
                .time_per_input_token
                .as_ref()
                .and_then(|p| c.duration_or_dist(&format!("{path}.timePerInputToken"), p));
            let prefill_ok = m.time_per_input_token.is_none() || per_input_token.is_some();
            match self.call_latency(c, &path, m).filter(|_| prefill_ok) {
                Some((latency, per_token)) => models.push(LlmModelSpec {
                    name: name.clone(),
                    latency,
                    per_token,
                    per_input_token,
                    error_rate: m.error_rate,
                    fallback,
                    quota,
                    saturation,
                    breaker,
                    price_per_1k_input: m.price_per_1k_input_tokens,
                    price_per_1k_output: m.price_per_1k_output_tokens,
                }),
                None => complete = false,
            }
        }
        if complete {
            check_fallback_cycles(c, &models);
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
            complete,
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

    /// Token counts: each class whose calls reach a model that prices,
    /// times or counts tokens must say how many a call has, and tokens no
    /// model reads would change nothing. A trace's token columns count as
    /// every class's.
    pub(super) fn check_tokens(
        &self,
        c: &mut Checker,
        llm: &LlmPart,
        classes: &[ClassModel],
        trace: Option<&TraceModel>,
        budget_fallback: Option<usize>,
    ) {
        // A trace's tokens cover every request only when the trace is the
        // only source of requests.
        let w = &self.workload;
        let only_trace = w.arrivals.is_none() && w.sessions.is_none();
        let traced = trace
            .filter(|_| only_trace)
            .map_or((false, false), |t| (t.input_tokens, t.output_tokens));
        let mut read = (false, false);
        for k in classes {
            if matches!(k.shape.llm_calls, super::CallCount::Fixed(0)) {
                // Makes no call (its token settings are refused with it).
                continue;
            }
            let p = match self.workload.classes.get(&k.name) {
                Some(class) if class.request.is_some() => {
                    format!("workload.classes.{}.request", k.name)
                }
                _ => "workload.request".to_string(),
            };
            let has_in = k.shape.input_tokens.is_some() || traced.0;
            let has_out = k.shape.output_tokens.is_some() || traced.1;
            let mut reads = (false, false);
            for i in reachable(&llm.models, &k.shape, budget_fallback) {
                let m = &llm.models[i];
                let path = format!("llm.models.{}", m.name);
                let tpm = m.quota.is_some_and(|q| q.tokens.is_some());
                reads.0 |= m.price_per_1k_input > 0.0 || tpm || m.per_input_token.is_some();
                reads.1 |= m.price_per_1k_output > 0.0 || tpm || m.per_token.is_some();
                if m.per_token.is_some() && !has_out {
                    c.fail(
                        format!("{path}.timePerOutputToken"),
                        format!("needs {p}.outputTokens to say how many tokens a call returns"),
                    );
                }
                if m.per_input_token.is_some() && !has_in {
                    c.fail(
                        format!("{path}.timePerInputToken"),
                        format!("needs {p}.inputTokens to say how many tokens a call sends"),
                    );
                }
                if tpm && !has_in && !has_out {
                    c.fail(
                        format!("{path}.rateLimit.tokensPerMinute"),
                        format!("counts each call's tokens: needs {p}.inputTokens or outputTokens"),
                    );
                }
                if m.price_per_1k_input > 0.0 && !has_in {
                    c.fail(
                        format!("{path}.pricePer1kInputTokens"),
                        format!("needs {p}.inputTokens to say how many tokens a call sends"),
                    );
                }
                if m.price_per_1k_output > 0.0 && !has_out {
                    c.fail(
                        format!("{path}.pricePer1kOutputTokens"),
                        format!("needs {p}.outputTokens to say how many tokens a call returns"),
                    );
                }
            }
            if !reads.0 && k.shape.input_tokens.is_some() {
                c.fail(
                    format!("{p}.inputTokens"),
                    "input tokens price LLM calls, time them or count against a tokensPerMinute \
                     quota, but no model these requests call has pricePer1kInputTokens, \
                     timePerInputToken or a tokensPerMinute rateLimit: give one or leave the \
                     tokens out",
                );
            }
            if !reads.1 && k.shape.output_tokens.is_some() {
                c.fail(
                    format!("{p}.outputTokens"),
                    "output tokens price LLM calls or time them, but no model these requests \
                     call has pricePer1kOutputTokens, timePerOutputToken or a tokensPerMinute \
                     rateLimit: give one or leave the tokens out",
                );
            }
            read.0 |= reads.0;
            read.1 |= reads.1;
        }
        if let Some(t) = trace {
            for (given, reads, column) in [
                (t.input_tokens, read.0, "input_tokens"),
                (t.output_tokens, read.1, "output_tokens"),
            ] {
                if given && !reads {
                    c.fail(
                        "workload.trace.file",
                        format!(
                            "{}: column `{column}` gives tokens no model reads: no model the \
                             requests call prices, times or counts them; leave the column out",
                            t.path.display()
                        ),
                    );
                }
            }
        }
    }
}

/// Every model a request of `shape` may call: its own, each call's, their
/// fallbacks, and the budget's fallback model.
fn reachable(models: &[LlmModelSpec], shape: &Shape, budget: Option<usize>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let starts = std::iter::once(shape.model_index)
        .chain(shape.model_per_call.iter().copied())
        .chain(budget);
    for start in starts {
        let mut at = Some(start);
        while let Some(i) = at.filter(|i| *i < models.len() && !out.contains(i)) {
            out.push(i);
            at = models[i].fallback;
        }
    }
    out
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

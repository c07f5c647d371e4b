//! What one mean request asks of each resource: the footprint the offered
//! load multiplies by the arrival rate.

use super::super::{Model, Shape, TokenMeans, TraceModel};

/// What one mean request asks for: seconds in a slot, CPU seconds, seconds
/// waiting on LLM calls, and per model its calls, tokens and seconds
/// serving.
#[derive(Debug, Clone, Default)]
pub(super) struct Footprint {
    pub(super) slot_secs: f64,
    pub(super) cpu_secs: f64,
    pub(super) llm_secs: f64,
    pub(super) calls: Vec<f64>,
    pub(super) tokens: Vec<f64>,
    pub(super) serving: Vec<f64>,
}

impl Footprint {
    pub(super) fn zero(models: usize) -> Footprint {
        Footprint {
            calls: vec![0.0; models],
            tokens: vec![0.0; models],
            serving: vec![0.0; models],
            ..Footprint::default()
        }
    }

    /// Adds `w` times `other`.
    pub(super) fn add(&mut self, w: f64, other: &Footprint) {
        self.slot_secs += w * other.slot_secs;
        self.cpu_secs += w * other.cpu_secs;
        self.llm_secs += w * other.llm_secs;
        for (a, b) in self.calls.iter_mut().zip(&other.calls) {
            *a += w * b;
        }
        for (a, b) in self.tokens.iter_mut().zip(&other.tokens) {
            *a += w * b;
        }
        for (a, b) in self.serving.iter_mut().zip(&other.serving) {
            *a += w * b;
        }
    }
}

impl Model {
    /// The mean request of `shape` whose calls have `tokens` (where given).
    pub(super) fn footprint(&self, shape: &Shape, tokens: TokenMeans) -> Footprint {
        let n = self.llm.models.len();
        let mut f = Footprint::zero(n);
        f.slot_secs = self.mean_shape_secs_given(shape, tokens);
        f.cpu_secs = shape.cpu_time.as_ref().map_or(0.0, |c| c.mean_secs());
        let calls = shape.llm_calls.mean();
        let tools = shape
            .tool_time
            .as_ref()
            .map_or(0.0, |t| (calls - 1.0).max(0.0) * t.mean_secs());
        f.llm_secs = (f.slot_secs - f.cpu_secs - tools).max(0.0);
        let mean = |given: Option<f64>, d: &Option<crate::dist::Sampler>| {
            given.unwrap_or_else(|| d.as_ref().map_or(0.0, |s| s.mean_secs()))
        };
        let (input, output) = (
            mean(tokens.0, &shape.input_tokens),
            mean(tokens.1, &shape.output_tokens),
        );
        // Calls that reach a provider: cache hits do not.
        let reach = 1.0 - self.llm.cache.as_ref().map_or(0.0, |c| c.hit_ratio);
        let mut visit = |first: usize, w: f64| {
            let (mut m, mut w) = (Some(first), w);
            // A fallback chain visits each model at most once.
            for _ in 0..n {
                let Some(i) = m else { break };
                let spec = &self.llm.models[i];
                f.calls[i] += w;
                f.tokens[i] += w * (input + output);
                f.serving[i] += w
                    * (spec.latency.mean_secs()
                        + spec.per_token.as_ref().map_or(0.0, |p| p.mean_secs()) * output
                        + spec.per_input_token.as_ref().map_or(0.0, |p| p.mean_secs()) * input);
                w *= spec.error_rate;
                m = spec.fallback;
            }
        };
        match shape.model_per_call.as_slice() {
            [] => visit(shape.model_index, calls * reach),
            per => {
                // Calls past the list use its last model.
                let k = calls.round().max(1.0) as usize;
                for i in 0..k {
                    visit(per[i.min(per.len() - 1)], calls / k as f64 * reach);
                }
            }
        }
        f
    }

    /// A trace's rows by class: (class, share of rows, mean tokens where
    /// the trace gives them), as [`Model::trace_service_secs`] weighs them.
    pub(crate) fn trace_mix(&self, t: &TraceModel) -> Vec<(usize, f64, TokenMeans)> {
        let classless = t.classless();
        let rows = t.rows.max(1) as f64;
        let mut out = Vec::new();
        for (k, class) in self.workload.classes.iter().enumerate() {
            let own = t.tally.get(k).filter(|_| t.tally.len() > 1).copied();
            let own = own.unwrap_or_default();
            let n = own.rows as f64 + classless.rows as f64 * class.share;
            if n <= 0.0 {
                continue;
            }
            let mean = |given: bool, own: u64, drawn: u64| {
                given.then(|| (own as f64 + drawn as f64 * class.share) / n)
            };
            let tokens = (
                mean(t.input_tokens, own.input_tokens, classless.input_tokens),
                mean(t.output_tokens, own.output_tokens, classless.output_tokens),
            );
            out.push((k, n / rows, tokens));
        }
        out
    }
}

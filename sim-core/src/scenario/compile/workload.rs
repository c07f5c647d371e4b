//! `workload`: the request's workflow (CPU, LLM calls and their models,
//! tool waits, tokens), with the arrivals ([`arrivals`](super::arrivals)),
//! the users and sessions ([`users`](super::users)) and the request classes
//! ([`classes`](super::classes)).

use super::{
    join_keys, CallCount, Checker, SessionModel, Shape, StepRate, UserModel, MAX_LLM_CALLS,
};
use crate::dist::CountOrDist;
use crate::profile::{BurstShape, DiurnalShape};
use crate::scenario::{RequestShape, Scenario};
use strategies::Nanos;

pub(super) struct WorkloadPart {
    pub(super) rate_profile: Vec<StepRate>,
    pub(super) diurnal: Option<DiurnalShape>,
    pub(super) bursts: Vec<BurstShape>,
    pub(super) users: Option<UserModel>,
    pub(super) sessions: Option<SessionModel>,
}

impl Scenario {
    pub(super) fn compile_workload(&self, c: &mut Checker, duration: Nanos) -> WorkloadPart {
        let rate_profile = self.compile_steps(c, duration);
        let (diurnal, bursts) = self.compile_shape(c, duration);
        let users = self.compile_users(c);
        let sessions = self.compile_sessions(c, users.as_ref());
        WorkloadPart {
            rate_profile,
            diurnal,
            bursts,
            users,
            sessions,
        }
    }

    /// A `request` block at `path` (`workload.request`, or a class's):
    /// its workflow, with its models looked up in `llm.models`.
    pub(super) fn compile_request(
        &self,
        c: &mut Checker,
        path: &str,
        r: &RequestShape,
    ) -> Option<Shape> {
        let cpu_time = r
            .cpu_time
            .as_ref()
            .and_then(|d| c.dist(&format!("{path}.cpuTime"), d));
        let llm_calls = match &r.llm_calls {
            CountOrDist::Fixed(n) => {
                if f64::from(*n) > MAX_LLM_CALLS {
                    c.fail(
                        format!("{path}.llmCalls"),
                        format!("must be from 0 to {MAX_LLM_CALLS}, found {n}"),
                    );
                }
                CallCount::Fixed(*n)
            }
            CountOrDist::Dist(d) => match c.dist(&format!("{path}.llmCalls"), d) {
                // Draws past the limit would be clamped to it, silently
                // changing the workload.
                Some(s) => CallCount::Drawn(bounded_draws(
                    c,
                    format!("{path}.llmCalls"),
                    s,
                    MAX_LLM_CALLS,
                    "LLM calls per attempt",
                )),
                None => CallCount::Fixed(1),
            },
        };
        let tool_time = r
            .tool_time
            .as_ref()
            .and_then(|t| c.duration_or_dist(&format!("{path}.toolTime"), t));
        if r.tool_time.is_some() && matches!(r.llm_calls, CountOrDist::Fixed(n) if n < 2) {
            c.fail(
                format!("{path}.toolTime"),
                "tool waits come between LLM calls, and a request makes at most one: \
                 raise llmCalls or leave toolTime out",
            );
        }
        let bounded = |c: &mut Checker, key: &str, s: Option<crate::dist::Sampler>| {
            let limit = (MAX_TOKENS_PER_CALL, "tokens per call");
            s.map(|s| bounded_draws(c, format!("{path}.{key}"), s, limit.0, limit.1))
        };
        let input_tokens = r
            .input_tokens
            .as_ref()
            .and_then(|d| c.dist(&format!("{path}.inputTokens"), d));
        let input_tokens = bounded(c, "inputTokens", input_tokens);
        let output_tokens = r
            .output_tokens
            .as_ref()
            .and_then(|d| c.dist(&format!("{path}.outputTokens"), d));
        let output_tokens = bounded(c, "outputTokens", output_tokens);
        let (model_index, model_per_call) = self.request_models(c, path, r)?;
        Some(Shape {
            cpu_time,
            llm_calls,
            model_index,
            model_per_call,
            tool_time,
            input_tokens,
            output_tokens,
        })
    }

    /// A request's `model` or `modelPerCall`, as indices into `llm.models`.
    fn request_models(
        &self,
        c: &mut Checker,
        path: &str,
        r: &RequestShape,
    ) -> Option<(usize, Vec<usize>)> {
        let defined = &self.llm.models;
        if matches!(r.llm_calls, CountOrDist::Fixed(0)) {
            // No call: no model to name, and token counts would be read by
            // nothing.
            for (key, given) in [
                ("model", r.model.is_some()),
                ("modelPerCall", !r.model_per_call.is_empty()),
                ("inputTokens", r.input_tokens.is_some()),
                ("outputTokens", r.output_tokens.is_some()),
            ] {
                if given {
                    c.fail(
                        format!("{path}.{key}"),
                        "applies to LLM calls, and this request makes none (llmCalls is 0)",
                    );
                }
            }
            return Some((0, Vec::new()));
        }
        let lookup = |c: &mut Checker, at: &str, name: &String| match defined.get_index_of(name) {
            Some(i) => Some(i),
            None => {
                c.unknown(at, "model", name, defined.keys(), "llm.models");
                None
            }
        };
        let mut model_per_call = Vec::new();
        for (i, name) in r.model_per_call.iter().enumerate() {
            if let Some(m) = lookup(c, &format!("{path}.modelPerCall[{i}]"), name) {
                model_per_call.push(m);
            }
        }
        if r.model.is_some() && !r.model_per_call.is_empty() {
            c.fail(
                format!("{path}.modelPerCall"),
                format!("give either {path}.model or modelPerCall, not both"),
            );
        }
        let model_index = match (&r.model, model_per_call.first()) {
            (Some(name), _) => lookup(c, &format!("{path}.model"), name),
            (None, Some(&first)) => Some(first),
            (None, None) if defined.len() == 1 => Some(0),
            (None, None) if defined.is_empty() => {
                let calls = match &r.llm_calls {
                    CountOrDist::Fixed(n) if *n == 1 => {
                        "makes 1 LLM call (llmCalls defaults to 1)".to_string()
                    }
                    CountOrDist::Fixed(n) => format!("makes {n} LLM calls"),
                    CountOrDist::Dist(_) => "makes LLM calls (llmCalls)".to_string(),
                };
                c.fail(
                    path.to_string(),
                    format!(
                        "the request {calls} and llm.models defines no model: define one under \
                         llm.models, or, for a service without LLM calls, give its service time \
                         as {path}.cpuTime with {path}.llmCalls: 0"
                    ),
                );
                None
            }
            (None, None) => {
                c.fail(
                    format!("{path}.model"),
                    format!(
                        "required when llm.models defines more than one model; one of: {}",
                        join_keys(defined.keys())
                    ),
                );
                None
            }
        };
        if model_per_call.len() != r.model_per_call.len() {
            return None;
        }
        Some((model_index?, model_per_call))
    }
}

/// Most tokens one call's input or output may have: ten times the
/// longest context windows offered.
const MAX_TOKENS_PER_CALL: f64 = 10_000_000.0;

/// A count distribution whose draws stay within `limit` (judged on a
/// fixed sample of draws: see [`most_drawn`]); one that reaches past it
/// is refused at `path`.
fn bounded_draws(
    c: &mut Checker,
    path: String,
    s: crate::dist::Sampler,
    limit: f64,
    what: &str,
) -> crate::dist::Sampler {
    let most = most_drawn(&s);
    if most > limit {
        let most = if most < 1e9 {
            format!("{most:.0}")
        } else {
            format!("{most:.2e}")
        };
        c.fail(
            path,
            format!(
                "draws up to {most} (in {CALL_SAMPLE} draws); at most {limit} {what} can be \
                 simulated"
            ),
        );
    }
    s
}

/// Draws [`most_drawn`] looks at.
const CALL_SAMPLE: u32 = 10_000;

/// The largest of [`CALL_SAMPLE`] rounded draws of `s`, from a fixed
/// stream (the same answer every time).
fn most_drawn(s: &crate::dist::Sampler) -> f64 {
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0x11c4_11c4);
    (0..CALL_SAMPLE)
        .map(|_| s.sample_value(&mut rng).round())
        .fold(0.0, f64::max)
}

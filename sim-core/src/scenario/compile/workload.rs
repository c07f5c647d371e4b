//! `workload`: the request's workflow (CPU, LLM calls, tool waits,
//! tokens), with the arrivals ([`arrivals`](super::arrivals)) and the users
//! and sessions ([`users`](super::users)).

use super::{CallCount, Checker, SessionModel, StepRate, UserModel, MAX_LLM_CALLS};
use crate::dist::CountOrDist;
use crate::dist::Sampler;
use crate::profile::{BurstShape, DiurnalShape};
use crate::scenario::Scenario;
use strategies::Nanos;

pub(super) struct WorkloadPart {
    pub(super) rate_profile: Vec<StepRate>,
    pub(super) diurnal: Option<DiurnalShape>,
    pub(super) bursts: Vec<BurstShape>,
    pub(super) cpu_time: Option<Sampler>,
    pub(super) llm_calls: CallCount,
    pub(super) tool_time: Option<Sampler>,
    pub(super) input_tokens: Option<Sampler>,
    pub(super) output_tokens: Option<Sampler>,
    pub(super) users: Option<UserModel>,
    pub(super) sessions: Option<SessionModel>,
}

impl Scenario {
    pub(super) fn compile_workload(&self, c: &mut Checker, duration: Nanos) -> WorkloadPart {
        let rate_profile = self.compile_steps(c, duration);
        let (diurnal, bursts) = self.compile_shape(c, duration);

        let r = &self.workload.request;
        let cpu_time = r
            .cpu_time
            .as_ref()
            .and_then(|d| c.dist("workload.request.cpuTime", d));
        let llm_calls = match &r.llm_calls {
            CountOrDist::Fixed(n) => {
                if f64::from(*n) > MAX_LLM_CALLS {
                    c.fail(
                        "workload.request.llmCalls",
                        format!("must be from 0 to {MAX_LLM_CALLS}, found {n}"),
                    );
                }
                CallCount::Fixed(*n)
            }
            CountOrDist::Dist(d) => match c.dist("workload.request.llmCalls", d) {
                Some(s) => CallCount::Drawn(s),
                None => CallCount::Fixed(1),
            },
        };
        let tool_time = r
            .tool_time
            .as_ref()
            .and_then(|t| c.duration_or_dist("workload.request.toolTime", t));
        if r.tool_time.is_some() && matches!(r.llm_calls, CountOrDist::Fixed(n) if n < 2) {
            c.fail(
                "workload.request.toolTime",
                "tool waits come between LLM calls, and a request makes at most one: \
                 raise llmCalls or leave toolTime out",
            );
        }
        let input_tokens = r
            .input_tokens
            .as_ref()
            .and_then(|d| c.dist("workload.request.inputTokens", d));
        let output_tokens = r
            .output_tokens
            .as_ref()
            .and_then(|d| c.dist("workload.request.outputTokens", d));

        let users = self.compile_users(c);
        let sessions = self.compile_sessions(c, users.as_ref());
        WorkloadPart {
            rate_profile,
            diurnal,
            bursts,
            cpu_time,
            llm_calls,
            tool_time,
            input_tokens,
            output_tokens,
            users,
            sessions,
        }
    }
}

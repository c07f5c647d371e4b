//! `workload`: arrivals, the shape of one request, users.

use super::{Checker, StepRate, UserModel};
use crate::dist::Sampler;
use crate::scenario::Scenario;
use strategies::Nanos;

/// Most LLM calls one request may make.
const MAX_LLM_CALLS: u32 = 1_000;

pub(super) struct WorkloadPart {
    pub(super) rate_profile: Vec<StepRate>,
    pub(super) cpu_time: Option<Sampler>,
    pub(super) llm_calls: u32,
    pub(super) input_tokens: Option<Sampler>,
    pub(super) output_tokens: Option<Sampler>,
    pub(super) users: Option<UserModel>,
}

impl Scenario {
    pub(super) fn compile_workload(&self, c: &mut Checker, duration: Nanos) -> WorkloadPart {
        let a = &self.workload.arrivals;
        c.rate("workload.arrivals.ratePerSecond", a.rate_per_second);
        let mut rate_profile = vec![StepRate {
            at: Nanos::ZERO,
            rate_per_second: a.rate_per_second,
        }];
        for (i, s) in a.steps.iter().enumerate() {
            let path = format!("workload.arrivals.steps[{i}]");
            c.rate(&format!("{path}.ratePerSecond"), s.rate_per_second);
            let prev = rate_profile.last().map_or(Nanos::ZERO, |p| p.at);
            if s.at.nanos() <= prev {
                c.fail(
                    format!("{path}.at"),
                    "steps must start after time zero and after the step before them",
                );
            } else if s.at.nanos() >= duration && duration > Nanos::ZERO {
                c.fail(
                    format!("{path}.at"),
                    format!(
                        "starts at or after run.duration ({}), so it never applies",
                        self.run.duration
                    ),
                );
            }
            rate_profile.push(StepRate {
                at: s.at.nanos(),
                rate_per_second: s.rate_per_second,
            });
        }
        if rate_profile.iter().all(|s| s.rate_per_second <= 0.0) {
            c.fail(
                "workload.arrivals.ratePerSecond",
                "no requests would ever arrive: give a rate above 0 here or in a step",
            );
        }

        let r = &self.workload.request;
        let cpu_time = r
            .cpu_time
            .as_ref()
            .and_then(|d| c.dist("workload.request.cpuTime", d));
        if r.llm_calls > MAX_LLM_CALLS {
            c.fail(
                "workload.request.llmCalls",
                format!("must be from 0 to {MAX_LLM_CALLS}, found {}", r.llm_calls),
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

        let users = self.workload.users.as_ref().and_then(|u| {
            if u.count == 0 {
                c.fail("workload.users.count", "must be at least 1");
                return None;
            }
            if u.tenants == 0 || u.tenants > u.count {
                c.fail(
                    "workload.users.tenants",
                    format!(
                        "must be from 1 to users.count ({}), found {}",
                        u.count, u.tenants
                    ),
                );
                return None;
            }
            if !(u.skew.is_finite() && u.skew >= 0.0) {
                c.fail(
                    "workload.users.skew",
                    format!("must be 0 (uniform) or more, found {}", u.skew),
                );
                return None;
            }
            let zipf = if u.skew > 0.0 {
                rand_distr::Zipf::new(f64::from(u.count), u.skew).ok()
            } else {
                None
            };
            Some(UserModel {
                count: u.count,
                zipf,
                tenants: u.tenants,
            })
        });
        WorkloadPart {
            rate_profile,
            cpu_time,
            llm_calls: r.llm_calls,
            input_tokens,
            output_tokens,
            users,
        }
    }
}

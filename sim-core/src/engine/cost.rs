//! Cost: instances billed per second from the moment they are started
//! (booting, serving and draining) with an optional minimum billed period,
//! LLM calls billed per token, and the budget caps enforced during the run.

use super::step::Observer;
use super::Engine;
use strategies::scale::{BudgetLimit, CostGuard};
use strategies::Nanos;

const NS_PER_HOUR: f64 = 3.6e12;

/// Spend so far and its rate.
#[derive(Debug, Clone)]
pub(super) struct Cost {
    /// Hourly price of the instances running now.
    pub(super) rate_per_hour: f64,
    /// Instance spend up to `at`.
    pub(super) instance: f64,
    at: Nanos,
    /// LLM spend.
    pub(super) llm: f64,
    /// LLM spend per minute over the last hour (a ring), for `llmPerHour`.
    minutes: [f64; 60],
    minute: u64,
    /// Spend when the measured window began.
    pub(super) at_warmup: (f64, f64),
    pub(super) guard: Option<CostGuard>,
    /// Input and output tokens charged (since the warm-up).
    pub(super) tokens: (u64, u64),
    /// Over the LLM spend cap: attempts call the budget's fallback model.
    pub(super) llm_over_budget: bool,
}

impl Cost {
    pub(super) fn new(guard: Option<CostGuard>) -> Cost {
        Cost {
            rate_per_hour: 0.0,
            instance: 0.0,
            at: Nanos::ZERO,
            llm: 0.0,
            minutes: [0.0; 60],
            minute: 0,
            at_warmup: (0.0, 0.0),
            guard,
            tokens: (0, 0),
            llm_over_budget: false,
        }
    }

    /// Accrues instance spend up to `now`.
    pub(super) fn settle(&mut self, now: Nanos) {
        self.instance += self.rate_per_hour * (now - self.at).0 as f64 / NS_PER_HOUR;
        self.at = now;
    }

    /// An instance priced `price` an hour starts at `now`.
    pub(super) fn start(&mut self, now: Nanos, price: f64) {
        self.settle(now);
        self.rate_per_hour += price;
    }

    /// An instance started at `started` stops at `now`; a run shorter than
    /// `minimum` is billed as `minimum`.
    pub(super) fn stop(&mut self, now: Nanos, price: f64, started: Nanos, minimum: Nanos) {
        self.settle(now);
        self.rate_per_hour = (self.rate_per_hour - price).max(0.0);
        let ran = now - started;
        if ran < minimum {
            self.instance += price * (minimum - ran).0 as f64 / NS_PER_HOUR;
        }
    }

    fn roll(&mut self, now: Nanos) {
        let m = now.0 / 60_000_000_000;
        if m > self.minute {
            let gap = (m - self.minute).min(60);
            for k in 1..=gap {
                self.minutes[((self.minute + k) % 60) as usize] = 0.0;
            }
            self.minute = m;
        }
    }

    /// LLM spend of `amount` at `now`.
    pub(super) fn charge_llm(&mut self, now: Nanos, amount: f64) {
        self.roll(now);
        self.llm += amount;
        self.minutes[(self.minute % 60) as usize] += amount;
    }

    /// LLM spend over the last hour (by whole minutes).
    pub(super) fn llm_last_hour(&mut self, now: Nanos) -> f64 {
        self.roll(now);
        self.minutes.iter().sum()
    }

    /// Everything spent up to `now`.
    pub(super) fn spent(&mut self, now: Nanos) -> f64 {
        self.settle(now);
        self.instance + self.llm
    }
}

impl<O: Observer> Engine<'_, O> {
    /// Whether the budget refuses one more instance priced `price`.
    pub(super) fn budget_refuses(&mut self, price: f64) -> Option<BudgetLimit> {
        let now = self.now;
        let remaining = (self.model.run.duration - now).0 as f64 / NS_PER_HOUR;
        let spent = self.cost.spent(now);
        let c = &self.cost;
        c.guard
            .as_ref()?
            .refuses_scale_up(c.rate_per_hour, price, spent, remaining)
    }

    /// Charges the LLM call leg `req` just finished: its tokens at its
    /// model's prices (failed calls too; a cache hit costs nothing). Tokens
    /// were drawn with the leg when calls are timed by tokens, else they
    /// are drawn now. Over the `llmPerHour` cap, later attempts use the
    /// fallback model, whatever their class.
    pub(super) fn charge_call(&mut self, req: u32) {
        let model = self.model;
        let r = &mut self.requests[req as usize];
        let l = &self.llm.legs[req as usize];
        if r.model == super::llm::CACHE || l.unbilled {
            return;
        }
        let (input, output) = if model.llm.tokens_timed {
            (f64::from(l.tokens.0), f64::from(l.tokens.1))
        } else {
            let shape = &model.workload.classes[r.class as usize].shape;
            super::llm::tokens_of(shape, l.given, &mut r.rng)
        };
        let m = &model.llm.models[r.model as usize];
        let amount =
            input / 1000.0 * m.price_per_1k_input + output / 1000.0 * m.price_per_1k_output;
        self.cost.tokens.0 += input as u64;
        self.cost.tokens.1 += output as u64;
        let now = self.now;
        self.cost.charge_llm(now, amount);
        if let (Some(_), Some(_)) = (model.budget.fallback_model, &self.cost.guard) {
            let last_hour = self.cost.llm_last_hour(now);
            let over = self
                .cost
                .guard
                .as_ref()
                .is_some_and(|g| g.llm_over(last_hour));
            if over != self.cost.llm_over_budget {
                self.cost.llm_over_budget = over;
                self.scaling.summary.model_switches += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bills_per_second_with_a_minimum() {
        let mut c = Cost::new(None);
        c.start(Nanos::ZERO, 3.6);
        c.stop(Nanos::from_secs(10), 3.6, Nanos::ZERO, Nanos::ZERO);
        assert!((c.instance - 0.01).abs() < 1e-12, "{}", c.instance);
        let mut c = Cost::new(None);
        c.start(Nanos::ZERO, 3.6);
        c.stop(Nanos::from_secs(10), 3.6, Nanos::ZERO, Nanos::from_secs(60));
        assert!(
            (c.instance - 0.06).abs() < 1e-12,
            "a 60s minimum: {}",
            c.instance
        );
    }

    #[test]
    fn llm_spend_rolls_over_the_last_hour() {
        let mut c = Cost::new(None);
        c.charge_llm(Nanos::from_secs(30), 1.0);
        c.charge_llm(Nanos::from_secs(1800), 2.0);
        assert_eq!(c.llm_last_hour(Nanos::from_secs(1800)), 3.0);
        assert_eq!(
            c.llm_last_hour(Nanos::from_secs(3660)),
            2.0,
            "the first minute has rolled off"
        );
        assert_eq!(c.llm_last_hour(Nanos::from_secs(9000)), 0.0);
        assert_eq!(c.llm, 3.0);
    }
}

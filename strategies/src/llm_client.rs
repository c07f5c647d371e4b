//! An LLM client's rate-limit policy: a provider's quota as token buckets
//! in calls and in tokens, answering with a retry-after when over it, and
//! what the client does with a 429 (its fallback model, a wait of
//! `retry-after` plus jitter while retries remain, or giving up).
//!
//! The simulator's providers keep one [`QuotaBuckets`] per model (per
//! instance, or one for the fleet) and decide each 429 with
//! [`RateLimitRetryPolicy::after_429`]; a real client calls the same two
//! to pace itself and to handle the 429s it is sent.

use crate::{Admission, Nanos};
use rand::{Rng, RngCore};

/// A provider's quota: token buckets in calls and in tokens, each given as
/// (refill per second, size). Either may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProviderQuota {
    /// Calls per second and the bucket's size in calls.
    pub calls: Option<(f64, f64)>,
    /// Tokens per second and the bucket's size in tokens.
    pub tokens: Option<(f64, f64)>,
}

/// A token bucket: `level` of its size, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Nanos,
}

impl Bucket {
    fn refill(&mut self, now: Nanos, (rate, size): (f64, f64)) {
        let dt = (now - self.at).as_secs_f64();
        self.level = (self.level + rate * dt).min(size);
        self.at = now;
    }
}

/// One key's buckets under a [`ProviderQuota`] (a key is whatever the
/// provider counts by: an API key, an organisation, an instance).
#[derive(Debug, Clone)]
pub struct QuotaBuckets {
    quota: ProviderQuota,
    calls: Bucket,
    tokens: Bucket,
}

impl QuotaBuckets {
    /// Full buckets at `now`.
    pub fn full(quota: ProviderQuota, now: Nanos) -> QuotaBuckets {
        QuotaBuckets {
            quota,
            calls: Bucket {
                level: quota.calls.map_or(0.0, |c| c.1),
                at: now,
            },
            tokens: Bucket {
                level: quota.tokens.map_or(0.0, |t| t.1),
                at: now,
            },
        }
    }

    /// A call of `tokens` tokens at `now`: admitted (one call and its
    /// tokens taken), or refused with the wait until both buckets allow it,
    /// rounded up to whole milliseconds as providers' `retry-after-ms`.
    ///
    /// A call may take the token bucket below zero (its size is known only
    /// as it streams); the next call waits until it is above zero again.
    pub fn admit(&mut self, now: Nanos, tokens: f64) -> Admission {
        let mut wait = 0.0f64;
        if let Some(c) = self.quota.calls {
            self.calls.refill(now, c);
            if self.calls.level < 1.0 {
                wait = wait.max((1.0 - self.calls.level) / c.0);
            }
        }
        if let Some(t) = self.quota.tokens {
            self.tokens.refill(now, t);
            if self.tokens.level <= 0.0 {
                wait = wait.max(-self.tokens.level / t.0);
            }
        }
        if wait > 0.0 {
            let ms = (wait * 1000.0).ceil().max(1.0);
            return Admission::Limited {
                retry_after: Nanos::from_secs_f64(ms / 1000.0),
            };
        }
        if self.quota.calls.is_some() {
            self.calls.level -= 1.0;
        }
        if self.quota.tokens.is_some() {
            self.tokens.level -= tokens;
        }
        Admission::Allowed
    }
}

/// What a client does with a 429 (`llm.rateLimitRetries`): as the OpenAI
/// SDK, it calls again after the provider's `retry-after`, at most
/// `max_retries` times, each wait lengthened by a uniform draw up to
/// `jitter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitRetryPolicy {
    /// Most calls again after 429s.
    pub max_retries: u32,
    /// Most extra wait after `retry-after`.
    pub jitter: Nanos,
}

/// The decision after a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After429 {
    /// Send the call to the model's fallback now.
    Fallback,
    /// Call the same model again after `wait`.
    Retry {
        /// `retry-after` plus jitter.
        wait: Nanos,
    },
    /// Out of retries: the call fails.
    GiveUp,
}

impl RateLimitRetryPolicy {
    /// After a 429 carrying `retry_after`, for a call that was already
    /// retried `retries_done` times after 429s: its model's fallback when
    /// it has one, else a retry while retries remain, else give up. The
    /// jitter is drawn from `rng` only for a retry, and only when
    /// configured.
    pub fn after_429<R: RngCore + ?Sized>(
        &self,
        has_fallback: bool,
        retries_done: u32,
        retry_after: Nanos,
        rng: &mut R,
    ) -> After429 {
        if has_fallback {
            return After429::Fallback;
        }
        if retries_done >= self.max_retries {
            return After429::GiveUp;
        }
        let jitter = if self.jitter > Nanos::ZERO {
            Nanos((rng.random::<f64>() * self.jitter.0 as f64) as u64)
        } else {
            Nanos::ZERO
        };
        After429::Retry {
            wait: retry_after + jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ms(x: u64) -> Nanos {
        Nanos::from_millis(x)
    }

    #[test]
    fn calls_bucket_refuses_with_the_wait_for_one_call() {
        // 2 calls per second, bucket of 2.
        let q = ProviderQuota {
            calls: Some((2.0, 2.0)),
            tokens: None,
        };
        let mut b = QuotaBuckets::full(q, Nanos::ZERO);
        assert!(b.admit(ms(0), 10.0).is_allowed());
        assert!(b.admit(ms(0), 10.0).is_allowed());
        // Empty: one call refills in 500ms.
        assert_eq!(b.admit(ms(0), 10.0).retry_after(), Some(ms(500)));
        assert_eq!(b.admit(ms(200), 10.0).retry_after(), Some(ms(300)));
        assert!(b.admit(ms(500), 10.0).is_allowed());
    }

    #[test]
    fn tokens_bucket_may_go_below_zero_and_waits_back_to_it() {
        // 1,000 tokens per second, bucket of 1,000.
        let q = ProviderQuota {
            calls: None,
            tokens: Some((1000.0, 1000.0)),
        };
        let mut b = QuotaBuckets::full(q, Nanos::ZERO);
        assert!(b.admit(ms(0), 1500.0).is_allowed());
        // 500 below zero: back above it after 500ms (rounded up to a
        // whole millisecond when the wait is fractional).
        assert_eq!(b.admit(ms(0), 1.0).retry_after(), Some(ms(500)));
        assert_eq!(
            b.admit(Nanos(100_000_500), 1.0).retry_after(),
            Some(ms(400))
        );
        assert_eq!(b.admit(ms(499), 1.0).retry_after(), Some(ms(1)));
        assert!(b.admit(ms(501), 1.0).is_allowed());
    }

    #[test]
    fn a_429_goes_to_the_fallback_else_retries_then_gives_up() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let p = RateLimitRetryPolicy {
            max_retries: 2,
            jitter: Nanos::ZERO,
        };
        assert_eq!(p.after_429(true, 0, ms(50), &mut rng), After429::Fallback);
        assert_eq!(
            p.after_429(false, 1, ms(50), &mut rng),
            After429::Retry { wait: ms(50) }
        );
        assert_eq!(p.after_429(false, 2, ms(50), &mut rng), After429::GiveUp);
        // Jitter lengthens the wait by less than `jitter`, and is the only
        // draw.
        let p = RateLimitRetryPolicy {
            max_retries: 2,
            jitter: ms(100),
        };
        let (mut a, mut b) = (rng.clone(), rng.clone());
        let After429::Retry { wait } = p.after_429(false, 0, ms(50), &mut a) else {
            panic!("a retry")
        };
        assert!(wait >= ms(50) && wait < ms(150), "{wait:?}");
        let u: f64 = b.random();
        assert_eq!(wait, ms(50) + Nanos((u * 1e8) as u64));
        assert_eq!(a.next_u64(), b.next_u64());
    }
}

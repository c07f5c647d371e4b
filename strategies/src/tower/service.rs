//! The `tower::Service`: one request's way through entry, attempts and
//! retries, with the decisions made by `core.rs`.

use super::core::{Core, Refusal};
use super::{Policy, Stats};
use crate::{AttemptOutcome, Balancer, CircuitBreaker, LoadBalancer, Nanos, RequestInfo, Ticket};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Whether a response counts as a success, an application error, a
/// connection failure or a timeout: what health, breakers and retries act
/// on.
pub trait Classify<Resp, E> {
    /// The outcome of one attempt.
    fn classify(&self, result: &Result<Resp, E>) -> AttemptOutcome;
}

impl<F, Resp, E> Classify<Resp, E> for F
where
    F: Fn(&Result<Resp, E>) -> AttemptOutcome,
{
    fn classify(&self, result: &Result<Resp, E>) -> AttemptOutcome {
        self(result)
    }
}

/// Any response is a success; an inner error is a connection failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct OkIsSuccess;

impl<Resp, E> Classify<Resp, E> for OkIsSuccess {
    fn classify(&self, result: &Result<Resp, E>) -> AttemptOutcome {
        match result {
            Ok(_) => AttemptOutcome::Success,
            Err(_) => AttemptOutcome::ConnectFailure,
        }
    }
}

/// For `http::Response`: a 5xx status is an application error, an inner
/// error a connection failure, anything else a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpStatus;

impl<Body, E> Classify<http::Response<Body>, E> for HttpStatus {
    fn classify(&self, result: &Result<http::Response<Body>, E>) -> AttemptOutcome {
        match result {
            Ok(r) if r.status().is_server_error() => AttemptOutcome::ApplicationError,
            Ok(_) => AttemptOutcome::Success,
            Err(_) => AttemptOutcome::ConnectFailure,
        }
    }
}

/// Why the adapter answered without a backend's response.
#[derive(Debug)]
pub enum BalanceError<E> {
    /// No backend was eligible (all unhealthy, ejected, breaker open or
    /// full).
    NoBackend,
    /// The entry rate limit refused the request; it admits again after
    /// `retry_after`.
    RateLimited {
        /// How long until the limiter admits this request's key again.
        retry_after: Duration,
    },
    /// `maxConnections` requests were already in flight.
    Overloaded,
    /// The request passed its deadline (`limits.requestTimeout`).
    Timeout,
    /// The last attempt's own error, when no retry was left.
    Backend(E),
}

impl<E: fmt::Display> fmt::Display for BalanceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BalanceError::NoBackend => f.write_str("no backend is eligible"),
            BalanceError::RateLimited { retry_after } => {
                write!(f, "rate limited; retry after {retry_after:?}")
            }
            BalanceError::Overloaded => f.write_str("too many requests in flight"),
            BalanceError::Timeout => f.write_str("request timed out"),
            BalanceError::Backend(e) => write!(f, "backend failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for BalanceError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BalanceError::Backend(e) => Some(e),
            _ => None,
        }
    }
}

/// What the balancer knows of a request (hashing and affinity keys, the
/// client's address), from the request itself.
pub type Describe<Req> = Arc<dyn Fn(&Req) -> RequestInfo + Send + Sync>;

struct Shared<K, S, B> {
    core: Mutex<Core<K, S, B>>,
    start: Instant,
}

impl<K, S, B> Shared<K, S, B> {
    /// Wall-clock time since the adapter was built: the `now` every
    /// policy is given.
    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }

    fn lock(&self) -> MutexGuard<'_, Core<K, S, B>> {
        // A panic inside a policy call leaves no half-made change that a
        // later call could trip on: carry on with the state as it is.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A `tower::Service` balancing requests over inner services of type `S`
/// keyed by `K`, with balancer `B` and the mechanisms of a [`Policy`].
/// Clones share one state.
pub struct Balance<K, S, Req, B = LoadBalancer, C = OkIsSuccess> {
    shared: Arc<Shared<K, S, B>>,
    classify: C,
    describe: Option<Describe<Req>>,
    _req: PhantomData<fn(Req)>,
}

impl<K, S, Req, B, C: Clone> Clone for Balance<K, S, Req, B, C> {
    fn clone(&self) -> Self {
        Balance {
            shared: Arc::clone(&self.shared),
            classify: self.classify.clone(),
            describe: self.describe.clone(),
            _req: PhantomData,
        }
    }
}

impl<K, S, Req, B> Balance<K, S, Req, B, OkIsSuccess>
where
    K: Hash + Eq + Clone,
    S: Clone,
    B: Balancer,
{
    /// An adapter with no backends yet; any response counts as a success
    /// until [`Balance::with_classifier`] says otherwise.
    pub fn new(balancer: B, policy: Policy) -> Self {
        Balance {
            shared: Arc::new(Shared {
                core: Mutex::new(Core::new(balancer, policy)),
                start: Instant::now(),
            }),
            classify: OkIsSuccess,
            describe: None,
            _req: PhantomData,
        }
    }
}

impl<K, S, Req, B, C> Balance<K, S, Req, B, C>
where
    K: Hash + Eq + Clone,
    S: Clone,
    B: Balancer,
{
    /// The same adapter, classifying responses with `classify` (e.g.
    /// [`HttpStatus`]).
    pub fn with_classifier<C2>(self, classify: C2) -> Balance<K, S, Req, B, C2> {
        Balance {
            shared: self.shared,
            classify,
            describe: self.describe,
            _req: PhantomData,
        }
    }

    /// The same adapter, describing each request to the balancer with
    /// `describe` (for hashing and affinity).
    pub fn with_request_info(
        mut self,
        describe: impl Fn(&Req) -> RequestInfo + Send + Sync + 'static,
    ) -> Self {
        self.describe = Some(Arc::new(describe));
        self
    }

    /// Adds backend `id` with `weight`; false when `id` is a member.
    pub fn insert(&self, id: K, weight: u32, service: S) -> bool {
        self.shared.lock().insert(id, weight, service)
    }

    /// Removes backend `id`; its attempts in flight finish and are counted.
    pub fn remove(&self, id: &K) -> bool {
        self.shared.lock().remove(id)
    }

    /// Folds in one active health check of `id` made by the caller; the
    /// new health when it changed. `None` without a `healthCheck` policy.
    pub fn record_health(&self, id: &K, passed: bool) -> Option<bool> {
        self.shared.lock().record_health(id, passed)
    }

    /// Whether `id` would be picked from now.
    pub fn is_eligible(&self, id: &K) -> bool {
        let now = self.shared.now();
        self.shared.lock().is_eligible(now, id)
    }

    /// A copy of backend `id`'s breaker, if breakers are configured.
    pub fn breaker(&self, id: &K) -> Option<CircuitBreaker> {
        self.shared.lock().breaker(id).cloned()
    }

    /// Members, in slot order.
    pub fn ids(&self) -> Vec<K> {
        self.shared.lock().pool().ids().cloned().collect()
    }

    /// Requests in flight on `id`.
    pub fn active(&self, id: &K) -> Option<u32> {
        self.shared.lock().pool().active(id)
    }

    /// What the adapter has done so far.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Time since the adapter was built, as its policies see it.
    pub fn now(&self) -> Nanos {
        self.shared.now()
    }

    /// The active health checks, as a future for the caller to spawn: every
    /// `healthCheck.interval` after the previous round's results, runs
    /// `check(id)` for each member in turn with `healthCheck.timeout` (no
    /// answer in time fails) and folds the result in. Ends at once without
    /// a `healthCheck` policy, and when the last handle of this adapter is
    /// dropped.
    pub fn health_checks<F, Fut>(&self, check: F) -> impl Future<Output = ()> + Send + 'static
    where
        K: Send + 'static,
        S: Send + 'static,
        B: 'static,
        F: Fn(K) -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send,
    {
        let weak: Weak<Shared<K, S, B>> = Arc::downgrade(&self.shared);
        let cfg = self
            .shared
            .lock()
            .policy()
            .health_check
            .clone()
            .filter(|h| h.enabled);
        async move {
            let Some(cfg) = cfg else {
                return;
            };
            let timeout: Duration = cfg.timeout.nanos().into();
            loop {
                let ids: Vec<K> = match weak.upgrade() {
                    Some(s) => s.lock().pool().ids().cloned().collect(),
                    None => return,
                };
                for id in ids {
                    let passed = tokio::time::timeout(timeout, check(id.clone()))
                        .await
                        .unwrap_or(false);
                    match weak.upgrade() {
                        Some(s) => {
                            s.lock().record_health(&id, passed);
                        }
                        None => return,
                    }
                }
                tokio::time::sleep(cfg.interval.nanos().into()).await;
            }
        }
    }
}

/// A request admitted at the entry: leaves it however the future ends.
struct Live<K, S, B> {
    shared: Arc<Shared<K, S, B>>,
    retrying: bool,
}

impl<K, S, B> Drop for Live<K, S, B> {
    fn drop(&mut self) {
        let mut core = self.shared.lock();
        core.leave(self.retrying);
    }
}

/// An attempt on a backend: recorded when it ends, or abandoned (its load
/// released) if the request is dropped first.
struct Attempt<'a, K: Hash + Eq + Clone, S: Clone, B: Balancer> {
    shared: &'a Shared<K, S, B>,
    ticket: Option<Ticket>,
    started: Nanos,
}

impl<K: Hash + Eq + Clone, S: Clone, B: Balancer> Attempt<'_, K, S, B> {
    fn record(mut self, outcome: AttemptOutcome) {
        let now = self.shared.now();
        if let Some(t) = self.ticket.take() {
            self.shared
                .lock()
                .record(now, t, now - self.started, outcome);
        }
    }
}

impl<K: Hash + Eq + Clone, S: Clone, B: Balancer> Drop for Attempt<'_, K, S, B> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let now = self.shared.now();
            self.shared.lock().abandon(now, t, now - self.started);
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<K, S, Req, B, C> Service<Req> for Balance<K, S, Req, B, C>
where
    K: Hash + Eq + Clone + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
    B: Balancer + 'static,
    C: Classify<S::Response, S::Error> + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = BalanceError<S::Error>;
    type Future = BoxFuture<Result<S::Response, BalanceError<S::Error>>>;

    /// Always ready: readiness of the backends is awaited per attempt,
    /// and a full backend is simply not picked.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let classify = self.classify.clone();
        let info = self.describe.as_ref().map(|d| d(&req)).unwrap_or_default();
        Box::pin(serve(shared, classify, info, req))
    }
}

/// One request: the entry, then attempts until one succeeds, a failure is
/// not retried, or the deadline passes.
async fn serve<K, S, Req, B, C>(
    shared: Arc<Shared<K, S, B>>,
    classify: C,
    info: RequestInfo,
    req: Req,
) -> Result<S::Response, BalanceError<S::Error>>
where
    K: Hash + Eq + Clone,
    S: Service<Req> + Clone,
    Req: Clone,
    B: Balancer,
    C: Classify<S::Response, S::Error>,
{
    let entered = shared.now();
    let deadline = {
        let mut core = shared.lock();
        match core.enter(entered, &info) {
            Err(Refusal::Overloaded) => return Err(BalanceError::Overloaded),
            Err(Refusal::RateLimited(wait)) => {
                return Err(BalanceError::RateLimited {
                    retry_after: wait.into(),
                })
            }
            Ok(()) => core.policy().request_timeout,
        }
    };
    let deadline = deadline.map(|t| shared.start + Duration::from(entered + t));
    let mut live = Live {
        shared: Arc::clone(&shared),
        retrying: false,
    };
    let (mut attempts, mut previous) = (0u32, Nanos::ZERO);
    loop {
        attempts += 1;
        let now = shared.now();
        let placed = shared.lock().place(now, &info);
        let Some((ticket, mut service)) = placed else {
            shared.lock().stats.no_backend += 1;
            return Err(BalanceError::NoBackend);
        };
        let attempt = Attempt {
            shared: &shared,
            ticket: Some(ticket),
            started: now,
        };
        let request = req.clone();
        let call = async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        };
        let result = match deadline {
            Some(d) => tokio::time::timeout_at(d, call).await.ok(),
            None => Some(call.await),
        };
        let Some(result) = result else {
            attempt.record(AttemptOutcome::Timeout);
            shared.lock().stats.timeouts += 1;
            return Err(BalanceError::Timeout);
        };
        let outcome = classify.classify(&result);
        attempt.record(outcome);
        if outcome.is_success() {
            return result.map_err(BalanceError::Backend);
        }
        let wait = shared
            .lock()
            .retry(outcome, attempts, previous, live.retrying);
        let Some(wait) = wait else {
            return result.map_err(BalanceError::Backend);
        };
        live.retrying = true;
        previous = wait;
        let sleep = tokio::time::sleep(wait.into());
        match deadline {
            Some(d) => {
                if tokio::time::timeout_at(d, sleep).await.is_err() {
                    shared.lock().stats.timeouts += 1;
                    return Err(BalanceError::Timeout);
                }
            }
            None => sleep.await,
        }
    }
}

/// A [`tower::Layer`] that balances over a list of `(id, service)` with
/// weight 1 each (add weighted ones with [`Balance::insert`]).
pub struct BalanceLayer<K, Req, B = LoadBalancer, C = OkIsSuccess> {
    balancer: B,
    policy: Policy,
    classify: C,
    _ids: PhantomData<fn(K, Req)>,
}

impl<K, Req, B: Clone> BalanceLayer<K, Req, B, OkIsSuccess> {
    /// A layer building a [`Balance`] with `balancer` and `policy`.
    pub fn new(balancer: B, policy: Policy) -> Self {
        BalanceLayer {
            balancer,
            policy,
            classify: OkIsSuccess,
            _ids: PhantomData,
        }
    }
}

impl<K, Req, B, C> BalanceLayer<K, Req, B, C> {
    /// The same layer, classifying responses with `classify`.
    pub fn with_classifier<C2>(self, classify: C2) -> BalanceLayer<K, Req, B, C2> {
        BalanceLayer {
            balancer: self.balancer,
            policy: self.policy,
            classify,
            _ids: PhantomData,
        }
    }
}

impl<K, S, Req, B, C> Layer<Vec<(K, S)>> for BalanceLayer<K, Req, B, C>
where
    K: Hash + Eq + Clone,
    S: Clone,
    B: Balancer + Clone,
    C: Clone,
{
    type Service = Balance<K, S, Req, B, C>;

    fn layer(&self, backends: Vec<(K, S)>) -> Self::Service {
        let b = Balance::new(self.balancer.clone(), self.policy.clone())
            .with_classifier(self.classify.clone());
        for (id, s) in backends {
            b.insert(id, 1, s);
        }
        b
    }
}

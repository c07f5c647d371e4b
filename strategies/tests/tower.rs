//! The tower adapter over in-memory backends: picks follow the balancer,
//! failures eject and trip breakers, retries move on, the rate limit
//! refuses, health checks take a backend out, membership changes while
//! requests run. Time is tokio's paused clock, so waits are exact.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strategies::tower::{Balance, BalanceError, BalanceLayer, Policy};
use strategies::{LoadBalancer, LoadBalancingConfig, Nanos};
use tower::{service_fn, Layer, Service, ServiceExt};

type Reply = Result<u32, String>;

/// A backend answering its own id, failing when `fails` says so, after
/// `delay`; counts the requests it saw.
fn backend(
    id: u32,
    delay: Duration,
    fails: bool,
    seen: Arc<AtomicU32>,
) -> impl Service<u32, Response = u32, Error = String, Future = impl Send> + Clone + Send {
    service_fn(move |_req: u32| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            if fails {
                Err(format!("backend {id} failed"))
            } else {
                Ok(id)
            }
        }
    })
}

fn balancer(strategy: &str) -> LoadBalancer {
    serde_json::from_value::<LoadBalancingConfig>(serde_json::json!({ "strategy": strategy }))
        .unwrap()
        .build()
        .unwrap()
}

fn cfg<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Option<T> {
    Some(serde_json::from_value(v).unwrap())
}

/// Three backends (the ones in `failing` fail every request), and the
/// counts of requests each saw.
// The backend type is unnameable (a closure's); a type alias cannot
// hold the `impl` it is written as.
#[allow(clippy::type_complexity)]
fn fleet(
    strategy: &str,
    policy: Policy,
    failing: &[u32],
) -> (
    Balance<
        u32,
        impl Service<u32, Response = u32, Error = String, Future = impl Send> + Clone + Send,
        u32,
    >,
    Vec<Arc<AtomicU32>>,
) {
    let lb = Balance::new(balancer(strategy), policy);
    let mut seen = Vec::new();
    for id in 0..3 {
        let counter = Arc::new(AtomicU32::new(0));
        seen.push(Arc::clone(&counter));
        lb.insert(
            id,
            1,
            backend(id, Duration::from_millis(1), failing.contains(&id), counter),
        );
    }
    (lb, seen)
}

async fn send<S>(lb: &mut S, n: u32) -> Vec<Result<u32, String>>
where
    S: Service<u32, Response = u32>,
    S::Error: std::fmt::Display,
{
    let mut out = Vec::new();
    for k in 0..n {
        let r = lb.ready().await.ok().unwrap().call(k).await;
        out.push(r.map_err(|e| e.to_string()));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn round_robin_picks_each_backend_in_turn() {
    let (mut lb, seen) = fleet("round-robin", Policy::default(), &[]);
    let got: Vec<u32> = send(&mut lb, 9)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0, 1, 2]);
    for s in &seen {
        assert_eq!(s.load(Ordering::Relaxed), 3);
    }
    assert_eq!(lb.stats().attempts, 9);
}

#[tokio::test(start_paused = true)]
async fn least_connections_avoids_the_busy_backend() {
    let lb: Balance<u32, _, u32> = Balance::new(balancer("least-connections"), Policy::default());
    let slow = Arc::new(AtomicU32::new(0));
    let fast = Arc::new(AtomicU32::new(0));
    lb.insert(
        0,
        1,
        backend(0, Duration::from_secs(10), false, Arc::clone(&slow)),
    );
    lb.insert(
        1,
        1,
        backend(1, Duration::from_millis(1), false, Arc::clone(&fast)),
    );
    // One long request holds backend 0; every later one goes to 1.
    let mut first = lb.clone();
    let held = tokio::spawn(async move { first.call(0).await });
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(lb.active(&0), Some(1));
    let mut lb2 = lb.clone();
    let got: Vec<u32> = send(&mut lb2, 5)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, vec![1; 5]);
    assert_eq!(held.await.unwrap().unwrap(), 0);
    assert_eq!(
        lb.active(&0),
        Some(0),
        "the held request's load is released"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_backend_is_ejected() {
    let policy = Policy {
        outlier_detection: cfg(serde_json::json!({
            "consecutiveErrors": 3, "maxEjectionPercent": 100,
            "interval": "10s", "baseEjectionTime": "30s"
        })),
        ..Policy::default()
    };
    let (mut lb, seen) = fleet("round-robin", policy, &[2]);
    let got = send(&mut lb, 30).await;
    // Backend 2 took its three failing requests, then no more.
    assert_eq!(seen[2].load(Ordering::Relaxed), 3);
    assert_eq!(got.iter().filter(|r| r.is_err()).count(), 3);
    assert_eq!(lb.stats().ejections, 1);
    assert!(!lb.is_eligible(&2));
    // Back after the ejection time, on the next interval tick.
    tokio::time::sleep(Duration::from_secs(41)).await;
    assert!(lb.is_eligible(&2));
}

#[tokio::test(start_paused = true)]
async fn a_failing_backends_breaker_opens_and_half_opens() {
    let policy = Policy {
        circuit_breaker: cfg(serde_json::json!({
            "failureThreshold": 2, "resetTimeout": "5s"
        })),
        ..Policy::default()
    };
    let (mut lb, seen) = fleet("round-robin", policy, &[1]);
    send(&mut lb, 20).await;
    assert_eq!(
        seen[1].load(Ordering::Relaxed),
        2,
        "open after two failures"
    );
    assert_eq!(lb.stats().breaker_trips, 1);
    assert!(!lb.is_eligible(&1));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(lb.is_eligible(&1), "half-open: a trial is let through");
    send(&mut lb, 3).await;
    assert_eq!(seen[1].load(Ordering::Relaxed), 3);
    assert_eq!(
        lb.stats().breaker_trips,
        2,
        "the failed trial opens it again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_is_retried_on_another_backend() {
    let policy = Policy {
        retries: cfg(serde_json::json!({
            "maxAttempts": 2, "backoff": { "base": "10ms", "jitter": "none" }
        })),
        ..Policy::default()
    };
    let (mut lb, seen) = fleet("round-robin", policy, &[0]);
    let got = send(&mut lb, 6).await;
    // Round robin: each request that lands on 0 is retried on the next.
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(got, vec![Ok(1), Ok(2), Ok(1), Ok(2), Ok(1), Ok(2)]);
    assert_eq!(seen[0].load(Ordering::Relaxed), 3);
    assert_eq!(lb.stats().retries, 3);
    assert_eq!(lb.stats().attempts, 9);
}

#[tokio::test(start_paused = true)]
async fn failures_retries_does_not_name_are_not_retried() {
    let policy = Policy {
        retries: cfg(serde_json::json!({ "maxAttempts": 3, "retryOn": ["5xx"] })),
        ..Policy::default()
    };
    // OkIsSuccess: an inner error is a connection failure, not a 5xx.
    let (mut lb, _) = fleet("round-robin", policy, &[0]);
    let got = send(&mut lb, 1).await;
    assert_eq!(got, vec![Err("backend failed: backend 0 failed".into())]);
    assert_eq!(lb.stats().retries, 0);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_refuses_and_says_when_to_come_back() {
    let policy = Policy {
        rate_limit: cfg(serde_json::json!({
            "requests": 2, "window": "1s", "strategy": "fixed-window"
        })),
        ..Policy::default()
    };
    let (mut lb, seen) = fleet("round-robin", policy, &[]);
    assert!(lb.call(1).await.is_ok());
    assert!(lb.call(2).await.is_ok());
    match lb.call(3).await {
        Err(BalanceError::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
            tokio::time::sleep(retry_after).await;
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(lb.call(4).await.is_ok(), "admitted after retry-after");
    let total: u32 = seen.iter().map(|s| s.load(Ordering::Relaxed)).sum();
    assert_eq!(total, 3);
    assert_eq!(lb.stats().rate_limited, 1);
}

#[tokio::test(start_paused = true)]
async fn the_connection_limit_and_the_request_timeout() {
    let policy = Policy {
        max_connections_per_backend: Some(1),
        request_timeout: Some(Nanos::from_secs(2)),
        ..Policy::default()
    };
    let lb: Balance<u32, _, u32> = Balance::new(balancer("round-robin"), policy);
    let seen = Arc::new(AtomicU32::new(0));
    lb.insert(
        0,
        1,
        backend(0, Duration::from_secs(5), false, Arc::clone(&seen)),
    );
    let mut a = lb.clone();
    let first = tokio::spawn(async move { a.call(0).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut b = lb.clone();
    assert!(
        matches!(b.call(1).await, Err(BalanceError::NoBackend)),
        "full"
    );
    assert!(matches!(first.await.unwrap(), Err(BalanceError::Timeout)));
    assert_eq!(
        lb.active(&0),
        Some(0),
        "the timed-out attempt's load is released"
    );
    assert_eq!(lb.stats().timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn health_checks_take_a_backend_out_and_back() {
    let policy = Policy {
        health_check: cfg(serde_json::json!({
            "interval": "1s", "timeout": "100ms",
            "unhealthyThreshold": 2, "healthyThreshold": 2
        })),
        ..Policy::default()
    };
    let (lb, _) = fleet("round-robin", policy, &[]);
    let down = Arc::new(AtomicU32::new(1));
    let d = Arc::clone(&down);
    let checks = tokio::spawn(lb.health_checks(move |id: u32| {
        let down = d.load(Ordering::Relaxed) == 1;
        async move {
            if id == 1 && down {
                // Hangs: the check times out.
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            true
        }
    }));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!lb.is_eligible(&1), "two failed checks");
    assert!(lb.is_eligible(&0));
    down.store(0, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(lb.is_eligible(&1), "two passing checks");
    drop(lb);
    // The checks end once the adapter is gone.
    tokio::time::timeout(Duration::from_secs(5), checks)
        .await
        .expect("health checks end")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn backends_join_and_leave_while_requests_run() {
    let lb: Balance<String, _, u32> = Balance::new(balancer("round-robin"), Policy::default());
    let seen = Arc::new(AtomicU32::new(0));
    lb.insert(
        "a".into(),
        1,
        backend(0, Duration::from_secs(1), false, Arc::clone(&seen)),
    );
    let mut c = lb.clone();
    let running = tokio::spawn(async move { c.call(0).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(lb.remove(&"a".to_string()));
    lb.insert(
        "b".into(),
        1,
        backend(1, Duration::from_millis(1), false, Arc::clone(&seen)),
    );
    let mut c = lb.clone();
    assert_eq!(c.call(1).await.unwrap(), 1, "only b takes new requests");
    assert_eq!(running.await.unwrap().unwrap(), 0, "a's request finishes");
    // a's slot is free again and b keeps its id.
    lb.insert(
        "a".into(),
        1,
        backend(2, Duration::from_millis(1), false, seen),
    );
    assert_eq!(lb.ids(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(lb.active(&"b".to_string()), Some(0));
}

#[tokio::test(start_paused = true)]
async fn the_layer_builds_the_same_service() {
    let layer = BalanceLayer::new(balancer("round-robin"), Policy::default());
    let seen = Arc::new(AtomicU32::new(0));
    let backends: Vec<(u32, _)> = (0..2)
        .map(|i| (i, backend(i, Duration::ZERO, false, Arc::clone(&seen))))
        .collect();
    let mut lb = layer.layer(backends);
    let got: Vec<Reply> = send(&mut lb, 4).await;
    assert_eq!(got, vec![Ok(0), Ok(1), Ok(0), Ok(1)]);
}

//! The listener, each request's way through the tower adapter, the
//! bounds that stop the proxy, and the summary it prints.

use super::plan::Plan;
use super::upstream::{check, HttpClient, Upstream, UpstreamError, BACKEND_HEADER};
use crate::failure::Failure;
use anyhow::anyhow;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strategies::tower::{Balance, BalanceError, HttpStatus, Stats};
use strategies::RequestInfo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;

type Proxy = Balance<usize, Upstream, http::Request<Bytes>, strategies::LoadBalancer, HttpStatus>;
type Answer = http::Response<Full<Bytes>>;

/// When the proxy stops by itself.
pub(crate) struct Bounds {
    pub(crate) duration: Duration,
    pub(crate) max_requests: Option<u64>,
    pub(crate) health_path: String,
}

/// Why it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Duration,
    MaxRequests,
    Interrupted,
}

/// How long connections still serving a request may take to finish once
/// the proxy stops.
const DRAIN: Duration = Duration::from_secs(5);

/// The header whose value, hashed, is the request's key for hashing and
/// affinity strategies.
const KEY_HEADER: &str = "x-fleetsim-key";

/// Answers counted as they are sent.
struct Counts {
    answered: AtomicU64,
    by_backend: Vec<AtomicU64>,
    /// Errors by reason, in [`REASONS`] order.
    errors: [AtomicU64; REASONS.len()],
}

/// Why a request was answered with an error, as the summary names it.
const REASONS: [&str; 7] = [
    "5xx",
    "no-backend",
    "backend-failed",
    "rate-limited",
    "overloaded",
    "timeout",
    "bad-request",
];

impl Counts {
    fn error(&self, reason: &str) {
        let k = REASONS
            .iter()
            .position(|r| *r == reason)
            .expect("a known reason");
        self.errors[k].fetch_add(1, Ordering::Relaxed);
    }
}

/// The client's address, as the balancer's request information.
#[derive(Clone, Copy)]
struct Peer(IpAddr);

/// FNV-1a, 64 bits: a key's hash that no build or Rust release changes,
/// so a key keeps its backend under hashing and affinity balancers.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn describe(req: &http::Request<Bytes>) -> RequestInfo {
    let client_ip = req.extensions().get::<Peer>().and_then(|p| match p.0 {
        IpAddr::V4(v4) => Some(v4.octets()),
        IpAddr::V6(_) => None,
    });
    let key = req.headers().get(KEY_HEADER).map(|v| fnv1a(v.as_bytes()));
    RequestInfo {
        key,
        client_ip,
        client_region: None,
    }
}

fn answer(status: u16, text: String) -> Answer {
    let mut r = http::Response::new(Full::new(Bytes::from(text + "\n")));
    *r.status_mut() = http::StatusCode::from_u16(status).expect("a valid status");
    r
}

/// One request: read, through the adapter, answered; counted.
async fn handle(
    mut lb: Proxy,
    counts: Arc<Counts>,
    stop: Arc<watch::Sender<bool>>,
    max_requests: Option<u64>,
    peer: Peer,
    req: http::Request<Incoming>,
) -> Result<Answer, Infallible> {
    let (parts, body) = req.into_parts();
    let resp = match body.collect().await {
        Err(e) => {
            counts.error("bad-request");
            answer(400, format!("fleetsim proxy: reading the request: {e}"))
        }
        Ok(body) => {
            let mut req = http::Request::from_parts(parts, body.to_bytes());
            req.extensions_mut().insert(peer);
            let result = lb.call(req).await;
            respond(&counts, result)
        }
    };
    let n = counts.answered.fetch_add(1, Ordering::Relaxed) + 1;
    if max_requests.is_some_and(|m| n >= m) {
        stop.send_replace(true);
    }
    Ok(resp)
}

/// The adapter's answer as an HTTP response: the backend's own, or 502
/// (no eligible backend, every attempt failed), 429 with `retry-after`
/// (rate limited), 503 (`limits.maxConnections`), 504 (timed out).
fn respond(counts: &Counts, result: Result<Answer, BalanceError<UpstreamError>>) -> Answer {
    match result {
        Ok(r) => {
            let who = r
                .headers()
                .get(BACKEND_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if let Some(c) = who.and_then(|i| counts.by_backend.get(i)) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            if r.status().is_server_error() {
                counts.error("5xx");
            }
            r
        }
        Err(BalanceError::RateLimited { retry_after }) => {
            counts.error("rate-limited");
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let mut r = answer(
                429,
                format!("fleetsim proxy: rate limited; retry after {secs}s"),
            );
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            r
        }
        Err(e) => {
            let (reason, status) = match &e {
                BalanceError::NoBackend => ("no-backend", 502),
                BalanceError::Overloaded => ("overloaded", 503),
                BalanceError::Timeout => ("timeout", 504),
                _ => ("backend-failed", 502),
            };
            counts.error(reason);
            answer(status, format!("fleetsim proxy: {e}"))
        }
    }
}

/// What the proxy did, for its last line.
pub(crate) struct Summary {
    answered: u64,
    by_backend: Vec<u64>,
    errors: Vec<(&'static str, u64)>,
    stats: Stats,
    elapsed: Duration,
    pub(crate) stop: Stop,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.stop {
            Stop::Duration => "--duration",
            Stop::MaxRequests => "--max-requests",
            Stop::Interrupted => "Ctrl-C",
        };
        let by: Vec<String> = self
            .by_backend
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i}={n}"))
            .collect();
        let errors: Vec<String> = self
            .errors
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        write!(
            f,
            "proxy: {} requests in {:.1}s (stopped by {why}); by backend: {}; errors: {}; \
             retries {}, ejections {}, breaker trips {}",
            self.answered,
            self.elapsed.as_secs_f64(),
            by.join(" "),
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(" ")
            },
            self.stats.retries,
            self.stats.ejections,
            self.stats.breaker_trips,
        )
    }
}

/// Serves on `listen` until a bound is reached or Ctrl-C.
pub(crate) async fn serve(
    plan: Plan,
    listen: SocketAddr,
    bounds: Bounds,
    interrupted: impl Fn() -> bool,
) -> Result<Summary, Failure> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::Input(anyhow!("`--listen {listen}`: cannot listen there: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::Io(anyhow!("the listening address: {e}")))?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    let addrs: Vec<SocketAddr> = plan.backends.iter().map(|b| b.addr).collect();
    let lb: Proxy = Balance::new(plan.balancer, plan.policy)
        .with_classifier(HttpStatus)
        .with_request_info(describe);
    for (i, b) in plan.backends.iter().enumerate() {
        lb.insert(
            i,
            b.weight,
            Upstream {
                index: i,
                addr: b.addr,
                client: client.clone(),
            },
        );
    }
    let health = {
        let (client, path) = (client.clone(), bounds.health_path.clone());
        tokio::spawn(
            lb.health_checks(move |i: usize| check(client.clone(), addrs[i], path.clone())),
        )
    };
    let counts = Arc::new(Counts {
        answered: AtomicU64::new(0),
        by_backend: (0..plan.backends.len())
            .map(|_| AtomicU64::new(0))
            .collect(),
        errors: Default::default(),
    });
    let (stop_tx, mut stop_rx) = watch::channel(bounds.max_requests == Some(0));
    let stop_tx = Arc::new(stop_tx);
    let started = tokio::time::Instant::now();
    eprintln!("listening on {local}");
    let deadline = tokio::time::sleep(bounds.duration);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let mut connections = JoinSet::new();
    let stop = loop {
        if *stop_rx.borrow_and_update() {
            break Stop::MaxRequests;
        }
        tokio::select! {
            _ = &mut deadline => break Stop::Duration,
            _ = stop_rx.changed() => {}
            _ = poll.tick() => {
                if interrupted() {
                    break Stop::Interrupted;
                }
            }
            // Finished connections leave the set as they end, so it holds
            // only the open ones however long the proxy runs.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors (or a connection reset before it
                    // was taken): wait before asking again, not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (lb, counts, stop_tx) = (lb.clone(), Arc::clone(&counts), Arc::clone(&stop_tx));
                let mut stopping = stop_tx.subscribe();
                let max = bounds.max_requests;
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(lb.clone(), Arc::clone(&counts), Arc::clone(&stop_tx), max, Peer(peer.ip()), req)
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    let stop_asked = tokio::select! {
                        _ = conn.as_mut() => false,
                        r = stopping.wait_for(|s| *s) => r.is_ok(),
                    };
                    if stop_asked {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                });
            }
        }
    };
    // Stop taking connections; let the open ones finish what they serve.
    drop(listener);
    stop_tx.send_replace(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
    health.abort();
    Ok(Summary {
        answered: counts.answered.load(Ordering::Relaxed),
        by_backend: counts
            .by_backend
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect(),
        errors: REASONS
            .iter()
            .zip(&counts.errors)
            .map(|(r, c)| (*r, c.load(Ordering::Relaxed)))
            .collect(),
        stats: lb.stats(),
        elapsed: started.elapsed(),
        stop,
    })
}

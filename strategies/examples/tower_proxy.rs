//! The strategies serving real HTTP: a hyper server on 127.0.0.1 balances
//! through the tower adapter (`strategies::tower::Balance`) over three
//! in-process backends, one of them five times slower, with a breaker per
//! backend and retries. Four clients send 300 requests over real TCP
//! connections; the example prints each backend's share and the adapter's
//! counts, then exits.
//!
//! Run it with
//! `cargo run -p fleetsim-strategies --features tower --example tower_proxy [STRATEGY]`
//! (default `least-connections`; any `loadBalancing.strategy` that needs no
//! topology works: `round-robin`, `power-of-two`, `peak-ewma`, ...).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use strategies::tower::{Balance, BalanceError, HttpStatus, Policy};
use strategies::LoadBalancingConfig;
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

const BACKENDS: usize = 3;
const CLIENTS: usize = 4;
const REQUESTS_PER_CLIENT: usize = 75;

type Reply = http::Response<Full<Bytes>>;

/// Backend `i`: answers after its service time, naming itself.
fn backend(
    i: usize,
) -> impl Service<
    http::Request<Bytes>,
    Response = Reply,
    Error = Infallible,
    Future = impl Future<Output = Result<Reply, Infallible>> + Send,
> + Clone
       + Send {
    let service = Duration::from_millis(if i == 2 { 10 } else { 2 });
    tower::service_fn(move |_req: http::Request<Bytes>| async move {
        tokio::time::sleep(service).await;
        Ok::<_, Infallible>(
            http::Response::builder()
                .header("x-backend", i.to_string())
                .body(Full::new(Bytes::from(format!("hello from backend {i}\n"))))
                .expect("a valid response"),
        )
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let strategy = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "least-connections".into());
    let config: LoadBalancingConfig =
        serde_json::from_value(serde_json::json!({ "strategy": strategy }))
            .unwrap_or_else(|e| panic!("unknown strategy `{strategy}`: {e}"));
    let policy = Policy {
        circuit_breaker: Some(
            serde_json::from_value(serde_json::json!({ "failureThreshold": 5 })).unwrap(),
        ),
        retries: Some(serde_json::from_value(serde_json::json!({ "maxAttempts": 2 })).unwrap()),
        seed: 1,
        ..Policy::default()
    };
    let lb = Balance::new(config.build().expect("a strategy"), policy).with_classifier(HttpStatus);
    for i in 0..BACKENDS {
        lb.insert(i, 1, backend(i));
    }

    // The proxy: HTTP/1.1 on loopback, each request through the adapter.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server_lb = lb.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let lb = server_lb.clone();
            tokio::spawn(async move {
                let serve =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let mut lb = lb.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            let answer = match lb.call(http::Request::from_parts(parts, body)).await
                            {
                                Ok(r) => r,
                                Err(e) => {
                                    let status = match e {
                                        BalanceError::RateLimited { .. } => 429,
                                        BalanceError::Timeout => 504,
                                        _ => 502,
                                    };
                                    http::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::from(e.to_string())))
                                        .expect("a valid response")
                                }
                            };
                            Ok::<_, hyper::Error>(answer)
                        }
                    });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), serve)
                    .await;
            });
        }
    });

    // The clients: real TCP connections, one keep-alive connection each.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut counts = [0usize; BACKENDS + 1];
            for _ in 0..REQUESTS_PER_CLIENT {
                let req = http::Request::get(format!("http://{addr}/"))
                    .body(Full::new(Bytes::new()))
                    .expect("a valid request");
                let resp = send.send_request(req).await.expect("a response");
                let who = resp
                    .headers()
                    .get("x-backend")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(BACKENDS);
                resp.into_body().collect().await.expect("a body");
                counts[who] += 1;
            }
            counts
        }));
    }
    let mut counts = [0usize; BACKENDS + 1];
    for c in clients {
        for (total, n) in counts.iter_mut().zip(c.await.expect("client")) {
            *total += n;
        }
    }
    server.abort();

    let total = CLIENTS * REQUESTS_PER_CLIENT;
    println!("{total} requests through http://{addr}/ with {strategy}");
    println!("backend  service time  requests  share");
    for (i, &n) in counts.iter().take(BACKENDS).enumerate() {
        let ms = if i == 2 { 10 } else { 2 };
        println!(
            "{i:>7}  {ms:>10}ms  {n:>8}  {:>4.1}%",
            100.0 * n as f64 / total as f64
        );
    }
    if counts[BACKENDS] > 0 {
        println!("errors: {}", counts[BACKENDS]);
    }
    let s = lb.stats();
    println!(
        "adapter: {} requests, {} attempts, {} retries, {} breaker trips",
        s.requests, s.attempts, s.retries, s.breaker_trips
    );
    assert_eq!(
        counts.iter().sum::<usize>(),
        total,
        "every request answered"
    );
    assert_eq!(counts[BACKENDS], 0, "no errors");
}

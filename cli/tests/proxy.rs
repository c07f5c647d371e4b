//! `fleetsim proxy` against real backends on loopback: tiny hyper servers
//! on free ports, the binary started as a child (ready once it prints
//! `listening on`), requests sent over TCP one after another. Every case
//! stops by itself (`--max-requests`, `--duration`); the only timing
//! assumptions are generous bounds on start-up and shut-down (stated where
//! used), never on the shares or counts checked.

// The wall clock here bounds the test's own waits (start-up, stop, the
// duration checked), never a policy's decision.
#![allow(clippy::disallowed_methods)]

mod common;

use bytes::Bytes;
use common::{scratch, text};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Backends that answer every request with `status` (and `/health` with
/// 200), counting what they see; they live as long as this value.
struct Backends {
    _runtime: tokio::runtime::Runtime,
    addrs: Vec<SocketAddr>,
    hits: Vec<Arc<AtomicU32>>,
}

fn backends(statuses: &[u16]) -> Backends {
    backends_with_health(statuses, &vec![200; statuses.len()])
}

/// As [`backends`], with `/health` answered with `health[i]`.
fn backends_with_health(statuses: &[u16], health: &[u16]) -> Backends {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut addrs = Vec::new();
    let mut hits = Vec::new();
    for (i, (&status, &health_status)) in statuses.iter().zip(health).enumerate() {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        addrs.push(listener.local_addr().unwrap());
        let seen = Arc::new(AtomicU32::new(0));
        hits.push(Arc::clone(&seen));
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let health = req.uri().path() == "/health";
                            if !health {
                                seen.fetch_add(1, Ordering::Relaxed);
                            }
                            async move {
                                let mut r = http::Response::new(Full::new(Bytes::from(format!(
                                    "backend {i}\n"
                                ))));
                                let code = if health { health_status } else { status };
                                *r.status_mut() = http::StatusCode::from_u16(code).unwrap();
                                r.headers_mut().insert("x-own", http::HeaderValue::from(i));
                                Ok::<_, std::convert::Infallible>(r)
                            }
                        },
                    );
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
    Backends {
        _runtime: runtime,
        addrs,
        hits,
    }
}

impl Backends {
    fn hits(&self) -> Vec<u32> {
        self.hits
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }
}

/// A scenario of `n` instances in one region with `deployment` keys.
fn scenario(name: &str, n: u32, deployment: serde_json::Value) -> PathBuf {
    let mut d = serde_json::json!({ "regions": { "local": { "instances": n } } });
    for (k, v) in deployment.as_object().unwrap() {
        d[k] = v.clone();
    }
    let s = serde_json::json!({
        "name": name,
        "run": { "duration": "1m" },
        "workload": { "arrivals": { "ratePerSecond": 1 }, "request": { "llmCalls": 1 } },
        "llm": { "models": { "m": { "latency": { "dist": "exponential", "mean": "10ms" } } } },
        "instanceTypes": { "agent": { "slots": 4, "pricePerHour": 0.1 } },
        "deployment": d
    });
    let path = scratch(name).join("scenario.json");
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    path
}

/// The proxy, running.
struct Proxy {
    child: Child,
    addr: SocketAddr,
    stderr: mpsc::Receiver<String>,
    /// What it printed on stderr before it was ready.
    before: Vec<String>,
}

/// How long the proxy may take to print `listening on` (a cold debug
/// binary on a busy machine).
const READY_WITHIN: Duration = Duration::from_secs(60);

fn start(scenario: &Path, backends: &[SocketAddr], extra: &[&str]) -> Proxy {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetsim"));
    cmd.arg("proxy")
        .arg(scenario)
        .args(["--listen", "127.0.0.1:0"]);
    for b in backends {
        cmd.args(["--backend", &b.to_string()]);
    }
    cmd.args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + READY_WITHIN;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(a) = line.strip_prefix("listening on ") {
                    let addr = a.trim().parse().expect("an address");
                    return Proxy {
                        child,
                        addr,
                        stderr: rx,
                        before: seen,
                    };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the proxy did not get ready; stderr:\n{}", seen.join("\n"));
            }
        }
    }
}

/// One request over a fresh connection: the status and the headers.
fn get(addr: SocketAddr, path: &str) -> (u16, BTreeMap<String, String>) {
    let mut s = TcpStream::connect(addr).expect("the proxy accepts");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("a response");
    let mut lines = raw.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// How long the proxy may take to stop after its bound (draining is at
/// most 5 s).
const STOP_WITHIN: Duration = Duration::from_secs(30);

/// Waits for the proxy to stop by itself: its exit code, stdout, stderr.
fn finish(mut p: Proxy) -> (i32, String, String) {
    let deadline = Instant::now() + STOP_WITHIN;
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = p.child.kill();
            let _ = p.child.wait();
            panic!("the proxy did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    p.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = std::mem::take(&mut p.before);
    err.extend(p.stderr.try_iter());
    (status.code().unwrap_or(-1), out, err.join("\n"))
}

/// Which backend answered each of `n` requests (`x-fleetsim-backend`).
fn shares(p: &Proxy, n: usize) -> Vec<usize> {
    let mut by = vec![0; 8];
    for _ in 0..n {
        let (status, h) = get(p.addr, "/work");
        assert_eq!(status, 200, "{h:?}");
        by[h["x-fleetsim-backend"].parse::<usize>().unwrap()] += 1;
        assert!(
            h.contains_key("x-own"),
            "the backend's headers pass through"
        );
    }
    by
}

#[test]
fn round_robin_shares_are_exact() {
    let b = backends(&[200, 200, 200]);
    let s = scenario(
        "proxy-rr",
        3,
        serde_json::json!({ "loadBalancing": { "strategy": "round-robin" } }),
    );
    let p = start(&s, &b.addrs, &["--max-requests", "30"]);
    let by = shares(&p, 30);
    assert_eq!(&by[..3], &[10, 10, 10]);
    let (code, out, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("30 requests") && out.contains("by backend: 0=10 1=10 2=10"),
        "{out}"
    );
    assert!(out.contains("stopped by --max-requests"), "{out}");
    assert!(err.contains("not applied by the proxy: workload"), "{err}");
    assert_eq!(b.hits(), vec![10, 10, 10]);
}

#[test]
fn weighted_shares_follow_the_instances_weights() {
    let b = backends(&[200, 200, 200]);
    let s = scenario(
        "proxy-weighted",
        3,
        serde_json::json!({ "loadBalancing": { "strategy": "weighted", "weighted": { "local/0": 2 } } }),
    );
    let p = start(&s, &b.addrs, &["--max-requests", "40"]);
    let by = shares(&p, 40);
    // nginx smooth weighted round robin: exactly 2:1:1 over whole rounds.
    assert_eq!(&by[..3], &[20, 10, 10]);
    let (code, _, err) = finish(p);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_failing_backend_is_ejected() {
    let b = backends(&[200, 500, 200]);
    let s = scenario(
        "proxy-eject",
        3,
        serde_json::json!({
            "loadBalancing": { "strategy": "round-robin" },
            "outlierDetection": { "consecutiveErrors": 2, "maxEjectionPercent": 50,
                                   "interval": "10s", "baseEjectionTime": "60s" }
        }),
    );
    let p = start(&s, &b.addrs, &["--max-requests", "30"]);
    let statuses: Vec<u16> = (0..30).map(|_| get(p.addr, "/").0).collect();
    assert_eq!(
        statuses.iter().filter(|&&c| c == 500).count(),
        2,
        "{statuses:?}"
    );
    let (code, out, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert_eq!(b.hits()[1], 2, "no request after the ejection");
    assert!(
        out.contains("ejections 1") && out.contains("5xx=2"),
        "{out}"
    );
}

#[test]
fn a_failed_attempt_is_retried_on_another_backend() {
    let b = backends(&[500, 200, 200]);
    let s = scenario(
        "proxy-retry",
        3,
        serde_json::json!({
            "loadBalancing": { "strategy": "round-robin" },
            "retries": { "maxAttempts": 2, "retryOn": ["5xx"],
                         "backoff": { "base": "1ms", "max": "5ms" } }
        }),
    );
    let p = start(&s, &b.addrs, &["--max-requests", "6"]);
    let by = shares(&p, 6);
    assert_eq!(by[0], 0, "every answer from a working backend: {by:?}");
    let (code, out, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert!(b.hits()[0] >= 1, "the failing backend was tried");
    assert!(out.contains(&format!("retries {}", b.hits()[0])), "{out}");
}

#[test]
fn the_rate_limit_answers_429_with_retry_after() {
    let b = backends(&[200, 200]);
    let s = scenario(
        "proxy-ratelimit",
        2,
        serde_json::json!({
            "rateLimit": { "requests": 3, "window": "1m", "strategy": "fixed-window" }
        }),
    );
    let p = start(&s, &b.addrs, &["--max-requests", "5"]);
    let answers: Vec<(u16, BTreeMap<String, String>)> = (0..5).map(|_| get(p.addr, "/")).collect();
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(codes, vec![200, 200, 200, 429, 429]);
    let after: u64 = answers[3].1["retry-after"].parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    let (code, out, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rate-limited=2"), "{out}");
    assert_eq!(b.hits().iter().sum::<u32>(), 3);
}

#[test]
fn a_backend_failing_its_health_checks_gets_no_traffic() {
    let b = backends_with_health(&[200, 200, 200], &[200, 503, 200]);
    let s = scenario(
        "proxy-health",
        3,
        serde_json::json!({
            "loadBalancing": { "strategy": "round-robin" },
            "healthCheck": { "interval": "100ms", "timeout": "1s",
                             "unhealthyThreshold": 1, "healthyThreshold": 1 }
        }),
    );
    let p = start(
        &s,
        &b.addrs,
        &["--max-requests", "20", "--health-path", "/health"],
    );
    // The first round of checks starts with the proxy; a second is more
    // than ten intervals, time enough for it on a busy machine.
    std::thread::sleep(Duration::from_secs(1));
    let by = shares(&p, 20);
    assert_eq!(&by[..3], &[10, 0, 10]);
    let (code, _, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert_eq!(b.hits()[1], 0);
}

#[test]
fn no_reachable_backend_is_a_502() {
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = scenario("proxy-502", 1, serde_json::json!({}));
    let p = start(&s, &[closed], &["--max-requests", "1"]);
    assert_eq!(get(p.addr, "/").0, 502);
    let (code, out, err) = finish(p);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backend-failed=1"), "{out}");
}

#[test]
fn addresses_off_loopback_are_refused() {
    let s = scenario("proxy-loopback", 1, serde_json::json!({}));
    let s = s.to_str().unwrap();
    for (args, flag) in [
        (
            vec!["--listen", "0.0.0.0:8080", "--backend", "127.0.0.1:9"],
            "--listen 0.0.0.0:8080",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--backend", "10.0.0.1:80"],
            "--backend 10.0.0.1:80",
        ),
        (
            vec!["--listen", "localhost:0", "--backend", "127.0.0.1:9"],
            "--listen localhost:0",
        ),
    ] {
        let mut all = vec!["proxy", s];
        all.extend(args);
        let o = common::fleetsim(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains(flag) && err.contains("127.0.0.1:PORT"),
            "{err}"
        );
    }
    // One --backend for each instance, in order: a mismatch names them.
    let o = common::fleetsim(&[
        "proxy",
        s,
        "--backend",
        "127.0.0.1:9",
        "--backend",
        "127.0.0.1:10",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("runs 1 instances (local/0)"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn it_stops_by_itself_at_its_duration() {
    let b = backends(&[200]);
    let s = scenario("proxy-duration", 1, serde_json::json!({}));
    let started = Instant::now();
    let p = start(&s, &b.addrs, &["--duration", "1s"]);
    let (code, out, err) = finish(p);
    // At least the duration; at most start-up, the duration and the stop.
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < READY_WITHIN + STOP_WITHIN, "{took:?}");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stopped by --duration"), "{out}");
}

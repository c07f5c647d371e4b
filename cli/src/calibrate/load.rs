//! The open-loop load: a schedule of Poisson arrivals and each request's
//! base work, drawn in advance from a seeded stream, sent on time whatever
//! the answers do (open loop), through a pool of keep-alive connections.
//!
//! Workers take the next request in schedule order, wait until its time
//! ([`wait_until`]) and send it; a request is late only when every worker
//! is busy with an earlier one, and its lateness (actual minus scheduled
//! send) is recorded and summarised, so a run whose generator did not keep
//! up says so. Every loop is bounded: the schedule's length, the run's
//! deadline, and a read timeout per answer.

use super::backends::wait_until;
use super::http;
use super::plan::Plan;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Most requests one calibration sends.
pub(crate) const MAX_REQUESTS: usize = 2_000_000;

/// Connections (and worker threads) sending the load.
pub(crate) const WORKERS: usize = 256;

/// One request to send: when (ns after the start) and its base work (ns).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planned {
    pub(crate) at_ns: u64,
    pub(crate) work_ns: u64,
}

/// What happened to one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub(crate) index: usize,
    pub(crate) scheduled_ns: u64,
    /// When it was sent, ns after the start.
    pub(crate) sent_ns: u64,
    /// From the send to the whole answer read, ns.
    pub(crate) latency_ns: u64,
    /// The HTTP status, 0 for none.
    pub(crate) status: u16,
    /// `ok`, `http-<code>`, `connect`, `timeout` or `io`.
    pub(crate) outcome: &'static str,
    pub(crate) backend: Option<u32>,
    pub(crate) work_ns: u64,
    /// The service the backend scheduled (seconds), from its header.
    pub(crate) service_s: Option<f64>,
    /// How late the backend's timer answered (seconds), from its header.
    pub(crate) late_s: Option<f64>,
}

/// Poisson arrivals at the scenario's rate (scaled) over `duration`, with
/// each request's work.
pub(crate) fn poisson(plan: &Plan, duration: Duration, seed: u64) -> Vec<Planned> {
    let mut arrivals = Pcg64Mcg::seed_from_u64(seed ^ 0xA5A5_0001);
    let mut work = Pcg64Mcg::seed_from_u64(seed ^ 0xA5A5_0002);
    let rate_real = plan.rate / plan.scale;
    let end = duration.as_nanos() as u64;
    let mut t = 0.0f64;
    let mut out = Vec::new();
    while out.len() < MAX_REQUESTS {
        let u: f64 = arrivals.random();
        t += -(1.0 - u).ln() / rate_real;
        let at_ns = (t * 1e9) as u64;
        if at_ns >= end {
            break;
        }
        out.push(Planned {
            at_ns,
            work_ns: plan.draw_work_ns(&mut work),
        });
    }
    out
}

/// Sends `schedule` to `target` from `start`, each request with its work
/// in `x-fleetsim-work`; stops at `deadline` whatever is left.
pub(crate) fn drive(
    target: SocketAddr,
    schedule: &[Planned],
    start: Instant,
    deadline: Instant,
    answer_timeout: Duration,
) -> Vec<Record> {
    let next = AtomicUsize::new(0);
    let mut all: Vec<Record> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS.min(schedule.len().max(1)))
            .map(|_| {
                let next = &next;
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(s, move || {
                        worker(target, schedule, next, start, deadline, answer_timeout)
                    })
            })
            .filter_map(Result::ok)
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    all.sort_by_key(|r| r.index);
    all
}

/// A connection to the target that reconnects after an error.
struct Conn {
    target: SocketAddr,
    timeout: Duration,
    io: Option<(TcpStream, BufReader<TcpStream>)>,
}

impl Conn {
    fn get(&mut self) -> std::io::Result<&mut (TcpStream, BufReader<TcpStream>)> {
        if self.io.is_none() {
            let s = TcpStream::connect_timeout(&self.target, Duration::from_secs(2))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            let r = BufReader::new(s.try_clone()?);
            self.io = Some((s, r));
        }
        Ok(self.io.as_mut().expect("just connected"))
    }
}

/// Sends one request on `conn` and reads its answer.
pub(crate) fn send_one(
    conn: &mut Option<(TcpStream, BufReader<TcpStream>)>,
    target: SocketAddr,
    timeout: Duration,
    work_ns: u64,
) -> (u16, &'static str, Option<http::Head>) {
    let mut c = Conn {
        target,
        timeout,
        io: conn.take(),
    };
    let res = (|| -> Result<http::Head, &'static str> {
        let (w, r) = c.get().map_err(|_| "connect")?;
        let req = format!(
            "GET /calibrate HTTP/1.1\r\nhost: 127.0.0.1\r\nx-fleetsim-work: {work_ns}\r\n\r\n"
        );
        w.write_all(req.as_bytes()).map_err(|_| "io")?;
        let head = match http::read_head(r) {
            Ok(Some(h)) => h,
            Ok(None) => return Err("io"),
            Err(e) if http::timed_out(&e) => return Err("timeout"),
            Err(_) => return Err("io"),
        };
        http::skip_body(r, &head).map_err(|_| "io")?;
        Ok(head)
    })();
    match res {
        Ok(head) => {
            let status = head.status().unwrap_or(0);
            if !head.close {
                *conn = c.io.take();
            }
            let outcome = if status == 200 {
                "ok"
            } else {
                status_name(status)
            };
            (status, outcome, Some(head))
        }
        Err(why) => (0, why, None),
    }
}

fn status_name(code: u16) -> &'static str {
    match code {
        429 => "http-429",
        500 => "http-500",
        502 => "http-502",
        503 => "http-503",
        504 => "http-504",
        c if c >= 500 => "http-5xx",
        _ => "http-other",
    }
}

fn worker(
    target: SocketAddr,
    schedule: &[Planned],
    next: &AtomicUsize,
    start: Instant,
    deadline: Instant,
    timeout: Duration,
) -> Vec<Record> {
    let mut out = Vec::new();
    let mut conn = None;
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(p) = schedule.get(i) else { break };
        let due = start + Duration::from_nanos(p.at_ns);
        if due >= deadline {
            break;
        }
        wait_until(due);
        let sent = crate::progress::now();
        let (status, outcome, head) = send_one(&mut conn, target, timeout, p.work_ns);
        let done = crate::progress::now();
        let h = |name| {
            head.as_ref()
                .and_then(|h| h.header(name).and_then(|v| v.parse::<f64>().ok()))
        };
        out.push(Record {
            index: i,
            scheduled_ns: p.at_ns,
            sent_ns: (sent - start).as_nanos() as u64,
            latency_ns: (done - sent).as_nanos() as u64,
            status,
            outcome,
            backend: head
                .as_ref()
                .and_then(|h| h.header("x-fleetsim-backend").and_then(|v| v.parse().ok())),
            work_ns: p.work_ns,
            service_s: h("x-fleetsim-service-time"),
            late_s: h("x-fleetsim-late"),
        });
        if crate::progress::now() >= deadline {
            break;
        }
    }
    out
}

/// How far behind schedule the sends were, seconds: p50, p99, max.
pub(crate) fn lateness(records: &[Record]) -> (f64, f64, f64) {
    let mut l: Vec<f64> = records
        .iter()
        .map(|r| r.sent_ns.saturating_sub(r.scheduled_ns) as f64 / 1e9)
        .collect();
    l.sort_by(f64::total_cmp);
    let q = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    (q(0.5), q(0.99), l.last().copied().unwrap_or(0.0))
}

//! Synthetic loopback backends: one HTTP/1.1 server per scenario instance,
//! each with the instance's `slots` served at once and a FIFO queue
//! beyond, as the simulator's instances are.
//!
//! A request's service time is its `x-fleetsim-work` header (nanoseconds
//! of base work, the load generator's draw) times the backend's slow
//! factor; without the header the backend draws one itself from the
//! scenario's service distribution with its own seeded stream. Since each
//! service time is known on arrival, a backend computes when the request
//! ends at once (the earliest free slot, in arrival order: first come,
//! first served) and waits until then precisely ([`wait_until`]: sleep to
//! within 200 µs, then yield). Responses carry `x-fleetsim-backend` (the
//! instance's index), `x-fleetsim-service-time` (seconds, the service as
//! scheduled) and `x-fleetsim-late` (seconds the answer left after its
//! scheduled end: the timer's error).

use super::http;
use super::plan::Plan;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most connections one backend serves over its life: a proxy keeps a
/// few hundred; more is a runaway.
const MAX_CONNECTIONS: usize = 4096;

/// Sleeps until `deadline`: to within 200 µs by the OS timer, then by
/// yielding, so a wait ends within a few microseconds of its time.
pub(crate) fn wait_until(deadline: Instant) {
    loop {
        let now = crate::progress::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_micros(300) {
            std::thread::sleep(left - Duration::from_micros(200));
        } else {
            std::thread::yield_now();
        }
    }
}

/// One backend's shared state: when each slot frees.
struct Slots {
    free_at: Mutex<BinaryHeap<Reverse<Instant>>>,
}

/// The running backends; stopped (and joined) on drop.
pub(crate) struct Backends {
    pub(crate) addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Backends {
    /// Starts one backend per instance of `plan` on 127.0.0.1 (free
    /// ports).
    pub(crate) fn start(plan: &Arc<Plan>, seed: u64) -> std::io::Result<Backends> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut addrs = Vec::new();
        let mut threads = Vec::new();
        for (i, inst) in plan.instances.iter().enumerate() {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            addrs.push(listener.local_addr()?);
            let now = crate::progress::now();
            let slots = Arc::new(Slots {
                free_at: Mutex::new((0..inst.slots).map(|_| Reverse(now)).collect()),
            });
            let (plan, stop) = (Arc::clone(plan), Arc::clone(&stop));
            let rng = Arc::new(Mutex::new(Pcg64Mcg::seed_from_u64(
                seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )));
            threads.push(std::thread::spawn(move || {
                accept(listener, i, &plan, &slots, &rng, &stop);
            }));
        }
        Ok(Backends {
            addrs,
            stop,
            threads,
        })
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake each accept with a connection of our own.
        for a in &self.addrs {
            let _ = TcpStream::connect_timeout(a, Duration::from_millis(200));
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn accept(
    listener: TcpListener,
    index: usize,
    plan: &Arc<Plan>,
    slots: &Arc<Slots>,
    rng: &Arc<Mutex<Pcg64Mcg>>,
    stop: &Arc<AtomicBool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut served = 0usize;
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) || served >= MAX_CONNECTIONS {
            break;
        }
        let Ok(conn) = conn else { continue };
        served += 1;
        let (plan, slots, rng, stop, open) = (
            Arc::clone(plan),
            Arc::clone(slots),
            Arc::clone(rng),
            Arc::clone(stop),
            Arc::clone(&open),
        );
        open.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || {
                serve(conn, index, &plan, &slots, &rng, &stop);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            break;
        }
    }
    // Connections end on their own: each reads with a timeout and checks
    // the stop flag, so none outlives the run by more than a second.
    let deadline = crate::progress::now() + Duration::from_secs(3);
    while open.load(Ordering::SeqCst) > 0 && crate::progress::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Serves one connection's requests in turn (HTTP/1.1 keep-alive).
fn serve(
    conn: TcpStream,
    index: usize,
    plan: &Plan,
    slots: &Slots,
    rng: &Mutex<Pcg64Mcg>,
    stop: &AtomicBool,
) {
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut input = BufReader::new(conn);
    let slow = plan.instances[index].slow;
    loop {
        let head = match http::read_head(&mut input) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(e) if http::timed_out(&e) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            Err(_) => return,
        };
        let arrived = crate::progress::now();
        if http::skip_body(&mut input, &head).is_err() {
            return;
        }
        let work_ns = match head
            .header("x-fleetsim-work")
            .and_then(|v| v.parse::<u64>().ok())
        {
            Some(ns) => ns,
            None => {
                let mut r = rng.lock().unwrap_or_else(|p| p.into_inner());
                plan.draw_work_ns(&mut *r)
            }
        };
        let service = Duration::from_nanos((work_ns as f64 * slow).round() as u64);
        let end = {
            let mut free = slots.free_at.lock().unwrap_or_else(|p| p.into_inner());
            let Reverse(at) = free.pop().unwrap_or(Reverse(arrived));
            let end = at.max(arrived) + service;
            free.push(Reverse(end));
            end
        };
        wait_until(end);
        let late = crate::progress::now().saturating_duration_since(end);
        let body = "ok";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n\
             x-fleetsim-backend: {index}\r\nx-fleetsim-service-time: {:.9}\r\n\
             x-fleetsim-late: {:.9}\r\n\r\n{body}",
            body.len(),
            service.as_secs_f64(),
            late.as_secs_f64()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
        if head.close {
            return;
        }
    }
}

//! The strategies outside the simulator: a balancer, active health checks
//! and circuit breakers driven by `std::time::Instant` over real threads
//! serving real (sleeping) backends.
//!
//! Four backends run on their own threads. Backend 1 is slow; backend 2
//! starts failing every request after a while; backend 3 stops answering
//! health checks. A client thread sends requests through least
//! connections, guarded by a circuit breaker per backend; a health thread
//! checks every backend every 20ms. At the end it prints where requests
//! went and what the breakers and health checks did.
//!
//! Run it with `cargo run -p fleetsim-strategies --example real_time`.

// This example is the one place a policy is fed the wall clock.
#![allow(clippy::disallowed_methods)]

use rand::SeedableRng;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use strategies::{
    ActiveHealth, Backends, Balancer, CircuitBreaker, CircuitBreakerConfig, HealthCheckConfig,
    LoadBalancingConfig, Nanos, RequestInfo,
};

const BACKENDS: usize = 4;
const REQUESTS: usize = 400;

/// A backend's behaviour: service time, and when it starts failing.
struct Behaviour {
    service: Duration,
    fails_after: Option<usize>,
}

/// What the client and the health thread share.
struct Fleet {
    active: Vec<AtomicU32>,
    healthy: Vec<AtomicBool>,
    breakers: Mutex<Vec<CircuitBreaker>>,
    start: Instant,
}

impl Fleet {
    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

/// The balancer's view: healthy, breaker permitting, and current load.
struct View<'a> {
    fleet: &'a Fleet,
    breakers: &'a [CircuitBreaker],
    now: Nanos,
}

impl Backends for View<'_> {
    fn len(&self) -> usize {
        BACKENDS
    }
    fn is_eligible(&self, i: usize) -> bool {
        self.fleet.healthy[i].load(Ordering::Relaxed) && self.breakers[i].would_permit(self.now)
    }
    fn active(&self, i: usize) -> u32 {
        self.fleet.active[i].load(Ordering::Relaxed)
    }
}

fn main() {
    let behaviours = [
        Behaviour {
            service: Duration::from_millis(2),
            fails_after: None,
        },
        Behaviour {
            service: Duration::from_millis(12),
            fails_after: None,
        },
        Behaviour {
            service: Duration::from_millis(2),
            fails_after: Some(40),
        },
        Behaviour {
            service: Duration::from_millis(2),
            fails_after: None,
        },
    ];
    let breaker_cfg = CircuitBreakerConfig {
        failure_threshold: Some(3),
        reset_timeout: Duration::from_millis(200).into_duration_str(),
        ..CircuitBreakerConfig::default()
    };
    let fleet = Arc::new(Fleet {
        active: (0..BACKENDS).map(|_| AtomicU32::new(0)).collect(),
        healthy: (0..BACKENDS).map(|_| AtomicBool::new(true)).collect(),
        breakers: Mutex::new(
            (0..BACKENDS)
                .map(|_| CircuitBreaker::new(breaker_cfg.clone()))
                .collect(),
        ),
        start: Instant::now(),
    });

    // Backends: each serves jobs from a channel and replies ok or error.
    type Job = (usize, Nanos, mpsc::Sender<(usize, Nanos, bool)>);
    let mut inboxes = Vec::new();
    for b in behaviours {
        let (tx, rx) = mpsc::channel::<Job>();
        inboxes.push(tx);
        thread::spawn(move || {
            for (k, (backend, sent, reply)) in rx.into_iter().enumerate() {
                thread::sleep(b.service);
                let ok = b.fails_after.is_none_or(|n| k < n);
                let _ = reply.send((backend, sent, ok));
            }
        });
    }

    // Health checks every 20ms: backend 3's health endpoint never answers,
    // so each check fails.
    let health_cfg = HealthCheckConfig {
        interval: Duration::from_millis(20).into_duration_str(),
        timeout: Duration::from_millis(5).into_duration_str(),
        unhealthy_threshold: 2,
        healthy_threshold: 2,
        ..HealthCheckConfig::default()
    };
    let answers = [true, true, true, false];
    let health_fleet = Arc::clone(&fleet);
    let stop = Arc::new(AtomicBool::new(false));
    let health_stop = Arc::clone(&stop);
    let health = thread::spawn(move || {
        let mut states = [ActiveHealth::default(); BACKENDS];
        let mut transitions = Vec::new();
        while !health_stop.load(Ordering::Relaxed) {
            for i in 0..BACKENDS {
                if let Some(h) = states[i].record(&health_cfg, answers[i]) {
                    health_fleet.healthy[i].store(h, Ordering::Relaxed);
                    transitions.push((i, h, health_fleet.now()));
                }
            }
            thread::sleep(health_cfg.interval.nanos().into());
        }
        transitions
    });

    // The client: pick, guard, send; a reply thread records outcomes.
    let (reply_tx, reply_rx) = mpsc::channel::<(usize, Nanos, bool)>();
    let reply_fleet = Arc::clone(&fleet);
    // One balancer shared by the client and reply threads, as the crate
    // docs describe: `Arc<Mutex<LoadBalancer>>`, each thread with its own
    // generator. The view below does not promise refreshes, so no thread
    // calls `refresh`: least connections reads the loads afresh.
    let lb_cfg: LoadBalancingConfig =
        serde_json::from_str(r#"{"strategy": "least-connections"}"#).expect("a config");
    let lb = Arc::new(Mutex::new(lb_cfg.build().expect("a balancer")));
    let reply_lb = Arc::clone(&lb);
    let replies = thread::spawn(move || {
        let mut outcomes = [(0u32, 0u32); BACKENDS];
        for (backend, sent, ok) in reply_rx.iter().take(REQUESTS) {
            let now = reply_fleet.now();
            reply_fleet.active[backend].fetch_sub(1, Ordering::Relaxed);
            reply_fleet.breakers.lock().unwrap()[backend].record(now, ok, now - sent);
            reply_lb
                .lock()
                .unwrap()
                .observe(now, backend, now - sent, ok);
            let o = &mut outcomes[backend];
            if ok {
                o.0 += 1
            } else {
                o.1 += 1
            }
        }
        outcomes
    });

    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let mut refused = 0;
    let mut sent = 0;
    while sent < REQUESTS {
        let now = fleet.now();
        let picked = {
            let mut breakers = fleet.breakers.lock().unwrap();
            let view = View {
                fleet: &fleet,
                breakers: &breakers,
                now,
            };
            let pick = lb
                .lock()
                .unwrap()
                .pick(now, &RequestInfo::default(), &view, &mut rng);
            pick.filter(|&i| breakers[i].try_acquire(now))
        };
        match picked {
            Some(i) => {
                fleet.active[i].fetch_add(1, Ordering::Relaxed);
                inboxes[i]
                    .send((i, now, reply_tx.clone()))
                    .expect("backend alive");
                sent += 1;
            }
            None => refused += 1,
        }
        // About 500 requests a second, so the run outlasts several
        // breaker reset periods.
        thread::sleep(Duration::from_millis(2));
    }
    let outcomes = replies.join().expect("reply thread");
    stop.store(true, Ordering::Relaxed);
    let transitions = health.join().expect("health thread");

    println!(
        "{REQUESTS} requests over {:?} of wall-clock time",
        fleet.start.elapsed()
    );
    println!("backend  behaviour                  ok  failed  breaker trips");
    let labels = [
        "fast",
        "slow (12ms)",
        "fails after 40",
        "ignores health checks",
    ];
    let breakers = fleet.breakers.lock().unwrap();
    for i in 0..BACKENDS {
        println!(
            "{i:>7}  {:<24} {:>4}  {:>6}  {:>13}",
            labels[i],
            outcomes[i].0,
            outcomes[i].1,
            breakers[i].trips()
        );
    }
    for (i, healthy, at) in transitions {
        println!(
            "health: backend {i} marked {} at {at}",
            if healthy { "healthy" } else { "unhealthy" }
        );
    }
    println!("picks refused (nothing eligible): {refused}");
    assert!(
        outcomes[3].0 <= 20,
        "an unhealthy backend gets no traffic once marked"
    );
    assert!(
        breakers[2].trips() >= 2,
        "the failing backend's breaker trips, and again after failed trials"
    );
}

/// `Duration` to the config's duration type.
trait IntoDurationStr {
    fn into_duration_str(self) -> strategies::DurationStr;
}

impl IntoDurationStr for Duration {
    fn into_duration_str(self) -> strategies::DurationStr {
        strategies::DurationStr(Nanos::from(self))
    }
}

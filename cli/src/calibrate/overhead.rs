//! The path's own cost: requests of zero service time sent one at a time
//! (so nothing queues) through the target and, for reference, straight to
//! a backend, after the load (so they do not move the proxy's balancer
//! before it). The median through the target is what the simulation does
//! not model (the generator's, the proxy's and the loopback's time); it is
//! subtracted from every real latency before the comparison.

use super::load::send_one;
use std::net::SocketAddr;
use std::time::Duration;

/// Requests sent to measure the overhead, each way.
pub(crate) const PROBES: usize = 300;

/// The overhead, seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Overhead {
    /// Median through the target: subtracted.
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    /// Median straight to a backend (no proxy hop).
    pub(crate) direct_p50: f64,
}

fn probe(addr: SocketAddr, n: usize) -> Result<Vec<f64>, String> {
    let mut conn = None;
    let mut out = Vec::with_capacity(n);
    let until = crate::progress::now() + Duration::from_secs(20);
    for _ in 0..n {
        if crate::progress::now() > until {
            break;
        }
        let t = crate::progress::now();
        let (status, why, _) = send_one(&mut conn, addr, Duration::from_secs(5), 0);
        if status != 200 {
            return Err(format!(
                "a zero-work request to {addr} failed ({why}): is the target in front of the \
                 backends?"
            ));
        }
        out.push(t.elapsed().as_secs_f64());
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

fn q(v: &[f64], p: f64) -> f64 {
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// Measures the overhead through `target` and straight to `backend`.
pub(crate) fn measure(target: SocketAddr, backend: SocketAddr) -> Result<Overhead, String> {
    // A few to warm the connections up, not counted.
    probe(target, 20)?;
    let through = probe(target, PROBES)?;
    let direct = probe(backend, PROBES / 3)?;
    Ok(Overhead {
        p50: q(&through, 0.5),
        p90: q(&through, 0.9),
        direct_p50: q(&direct, 0.5),
    })
}

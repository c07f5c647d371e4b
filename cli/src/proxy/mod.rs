//! `fleetsim proxy`: a real HTTP/1.1 reverse proxy on loopback that
//! applies a scenario's `deployment` through the tower adapter of
//! `strategies` (`strategies::tower::Balance`), so each decision is made
//! by the same call the simulator makes.
//!
//! | what | where |
//! |---|---|
//! | flags checked (loopback only, bounds), then the plan, then serving | `mod.rs` `proxy` |
//! | which instance each `--backend` stands for, the policy, what is not applied | `plan.rs` `Plan::of`, `policy_of`, `not_applied` |
//! | forwarding to one backend, `x-fleetsim-backend`, the health check GET | `upstream.rs` `Upstream`, `check` |
//! | the listener, error statuses (502, 429, 503, 504), the bounds and the summary | `server.rs` `serve`, `respond`, `Summary` |

mod plan;
mod server;
mod upstream;

use crate::args::ProxyArgs;
use crate::failure::Failure;
use anyhow::anyhow;
use sim_core::Model;
use std::process::ExitCode;
use std::time::Duration;
use strategies::{DurationStr, Nanos};

/// The longest `--duration`.
const MAX_DURATION: Nanos = Nanos::from_secs(24 * 3600);

pub(crate) fn proxy(a: ProxyArgs) -> Result<ExitCode, Failure> {
    let listen = plan::loopback("--listen", &a.listen)?;
    let addrs = a
        .backends
        .iter()
        .map(|b| plan::loopback("--backend", b))
        .collect::<Result<Vec<_>, _>>()?;
    let duration = DurationStr::parse(&a.duration)
        .map_err(|e| Failure::Input(anyhow!("`--duration {}`: {e}", a.duration)))?
        .nanos();
    if duration == Nanos::ZERO || duration > MAX_DURATION {
        return Err(Failure::Input(anyhow!(
            "`--duration {}`: must be longer than 0s and at most 24h",
            a.duration
        )));
    }
    if !a.health_path.starts_with('/') {
        return Err(Failure::Input(anyhow!(
            "`--health-path {}`: must start with `/`",
            a.health_path
        )));
    }
    let model = Model::from_file(&a.scenario)?;
    let file = sim_core::shown_path(&a.scenario).into_owned();
    let plan = plan::Plan::of(&model, &addrs, &file)?;
    let mapping: Vec<String> = plan
        .backends
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let w = if b.weight > 1 {
                format!(" weight {}", b.weight)
            } else {
                String::new()
            };
            format!("{i}={} {}{w}", b.instance, b.addr)
        })
        .collect();
    eprintln!(
        "{file}: {} over {} backends ({}); applied: {}",
        plan.strategy,
        plan.backends.len(),
        mapping.join(", "),
        plan.applied.join(", ")
    );
    eprintln!("not applied by the proxy: {}", plan.not_applied.join("; "));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(anyhow!("starting the proxy's runtime: {e}")))?;
    let control = crate::progress::interruptible();
    let bounds = server::Bounds {
        duration: Duration::from(duration),
        max_requests: a.max_requests,
        health_path: a.health_path,
    };
    let summary = runtime.block_on(server::serve(plan, listen, bounds, || {
        control.is_cancelled()
    }))?;
    println!("{summary}");
    // Connections still open after the drain end with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(match summary.stop {
        server::Stop::Interrupted => ExitCode::from(130),
        _ => ExitCode::SUCCESS,
    })
}

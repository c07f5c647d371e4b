//! `fleetsim calibrate`: the simulation measured against a real proxy.
//!
//! The steps, each a component of its own:
//!
//! | step | where |
//! |---|---|
//! | what the scenario asks (instances, slots, slow factors, service time, rate, balancer) | `plan.rs` `Plan::of` |
//! | one synthetic HTTP backend per instance on loopback | `backends.rs` `Backends::start` |
//! | the proxy: nginx, `fleetsim proxy`, or `--target` | `targets.rs` `Target` |
//! | the path's own cost, measured with zero service time | `overhead.rs` `measure` |
//! | the open-loop Poisson load and what each request met | `load.rs` `poisson`, `drive` |
//! | the simulation: replications and the paired replay, against the real figures | `compare.rs` |
//! | the table, JSON, CSV and chart | `output.rs` `Report` |
//!
//! Loopback only, bounded: the load's length (`--duration`, at most 30
//! minutes), a deadline for the answers after it, a read timeout on every
//! connection, a bound on requests and connections; the proxy child is
//! killed by its guard however the command ends, and the backends stop
//! when dropped.

mod backends;
mod compare;
mod http;
mod load;
mod output;
mod overhead;
mod plan;
mod targets;

use crate::args::{CalibrateArgs, ProxyKind};
use crate::failure::Failure;
use crate::output::Stdout;
use anyhow::anyhow;
use sim_core::Model;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Longest load a calibration runs.
const MAX_DURATION: Duration = Duration::from_secs(30 * 60);

/// The generator kept up when its sends were this late at p99, at most.
const LATE_P99_LIMIT_S: f64 = 0.002;

fn input(msg: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow!("{msg}"))
}

fn failed(msg: impl std::fmt::Display) -> Failure {
    Failure::Io(anyhow!("{msg}"))
}

pub(crate) fn calibrate(a: CalibrateArgs) -> Result<ExitCode, Failure> {
    let shown = a.scenario.display().to_string();
    let mut value = sim_core::scenario_json(&a.scenario)?;
    if let Some(s) = &a.strategy {
        strategy(&mut value, s).map_err(|e| input(format!("--strategy {s}: {e}")))?;
    }
    if a.target.is_none() && a.proxy == ProxyKind::Nginx {
        nginx_semantics(&mut value);
    }
    let model = Model::from_json(&value.to_string(), &a.scenario)?;
    let duration = strategies::DurationStr::parse(&a.duration)
        .map_err(|e| input(format!("--duration `{}`: {e}", a.duration)))?
        .nanos();
    let duration = Duration::from_nanos(duration.0);
    if duration.is_zero() || duration > MAX_DURATION {
        return Err(input(format!(
            "--duration `{}`: give 1s to 30m of load",
            a.duration
        )));
    }
    let seed = a.seed.unwrap_or(model.run.seed);
    let plan =
        plan::Plan::of(value, model, a.time_scale).map_err(|e| input(format!("{shown}: {e}")))?;
    let plan = Arc::new(plan);
    let external = match &a.target {
        Some(t) => Some(targets::Target::external(t).map_err(input)?),
        None => None,
    };
    let out = match &a.out {
        Some(d) => Some(crate::output::OutDir::prepare(d)?),
        None => None,
    };
    // The derived scenarios go to --out, or to a temporary directory.
    let tmp;
    let dir = match &out {
        Some(d) => d.path().to_path_buf(),
        None => {
            tmp = TempDir::new().map_err(failed)?;
            tmp.0.clone()
        }
    };
    // Ctrl-C stops the proxy child and removes the temporary directory
    // before exiting (guards' drops do not run when the process is
    // interrupted).
    let scratch = out.is_none().then(|| dir.clone());
    let _ = ctrlc::set_handler(move || {
        targets::terminate_all();
        if let Some(d) = &scratch {
            let _ = std::fs::remove_dir_all(d);
        }
        std::process::exit(130);
    });
    let backends = backends::Backends::start(&plan, seed)
        .map_err(|e| failed(format!("cannot start the synthetic backends: {e}")))?;
    let target = match external {
        Some(t) => {
            let list: Vec<String> = backends.addrs.iter().map(|a| a.to_string()).collect();
            eprintln!("backends: {}", list.join(" "));
            t
        }
        None => match a.proxy {
            ProxyKind::Nginx => targets::Target::nginx(&plan, &backends.addrs).map_err(failed)?,
            ProxyKind::Fleetsim => targets::Target::fleetsim(
                &proxied_scenario(&plan, &dir).map_err(failed)?,
                &backends.addrs,
                duration + Duration::from_secs(120),
            )
            .map_err(failed)?,
        },
    };
    let schedule = load::poisson(&plan, duration, seed);
    if schedule.is_empty() {
        return Err(input(format!(
            "{shown}: no request in {} s at {} per second (time scale {}): give a longer \
             --duration",
            duration.as_secs_f64(),
            plan.rate,
            plan.scale
        )));
    }
    // Answers may come up to a minute (or 50 mean service times) after the
    // last send.
    let grace = Duration::from_secs_f64((plan.mean_work_secs() * 50.0).clamp(5.0, 60.0));
    let start = crate::progress::now() + Duration::from_millis(50);
    let records = load::drive(
        target.addr,
        &schedule,
        start,
        start + duration + grace,
        grace,
    );
    // Measured after the load, not before: probes through the proxy would
    // move its balancer's state (nginx's weighted round robin, say) and
    // the paired replay's balancer starts fresh.
    let overhead = overhead::measure(target.addr, backends.addrs[0]).map_err(failed)?;
    let lateness = load::lateness(&records);
    let kept_up = lateness.1 <= LATE_P99_LIMIT_S && records.len() == schedule.len();
    if !kept_up {
        eprintln!(
            "warning: the load generator did not keep up (sends late by {:.2} ms at p99, \
             {} of {} sent): the real figures include its delay; the paired replay uses the \
             actual send times",
            lateness.1 * 1000.0,
            records.len(),
            schedule.len()
        );
    }
    let target_label = target.name.clone();
    drop(target);
    drop(backends);
    let (real, real_ci) = compare::real(&records, &overhead, plan.instances.len());
    if real.completed == 0 {
        return Err(failed("no request completed through the target"));
    }
    // The derived scenarios go to --out, or to a temporary directory.
    let paired = compare::paired(&plan, &records, &dir, seed).map_err(failed)?;
    let reps = compare::replications(&plan, duration.as_secs_f64(), a.replications, seed, &dir)
        .map_err(failed)?;
    let report = output::Report {
        scenario: shown,
        target: target_label,
        scale: plan.scale,
        duration_s: duration.as_secs_f64(),
        seed,
        records: &records,
        scheduled: schedule.len(),
        lateness,
        kept_up,
        overhead,
        real,
        real_ci,
        paired,
        reps,
        ids: plan.instances.iter().map(|b| b.id.clone()).collect(),
    };
    if let Some(d) = &out {
        report.write(d.path()).map_err(failed)?;
    }
    let text = if a.json {
        serde_json::to_string_pretty(&report.json()).map_err(|e| failed(e.to_string()))? + "\n"
    } else {
        report.text()
    };
    Stdout::default().emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Sets the balancer of scenario `v` to `name`; a strategy other than
/// `weighted` drops the scenario's weights, so they act in the weighted
/// case only (as nginx's config has them).
fn strategy(v: &mut serde_json::Value, name: &str) -> Result<(), String> {
    let known = [
        "round-robin",
        "weighted",
        "least-connections",
        "power-of-two",
        "random",
    ];
    if !known.contains(&name) {
        return Err(format!("give one of {}", known.join(", ")));
    }
    let lb = v
        .as_object_mut()
        .ok_or("the scenario is not an object")?
        .entry("deployment")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or("deployment is not an object")?
        .entry("loadBalancing")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or("deployment.loadBalancing is not an object")?;
    lb.insert("strategy".into(), name.into());
    if name == "weighted" {
        if lb
            .get("weighted")
            .is_none_or(|w| w.as_object().is_none_or(|o| o.is_empty()))
        {
            return Err("the scenario gives no deployment.loadBalancing.weighted map".into());
        }
    } else {
        lb.remove("weighted");
        lb.remove("algorithm");
    }
    Ok(())
}

/// Against nginx, a power-of-two balancer without an `algorithm` is
/// simulated as nginx's `random two least_conn` picks: two distinct
/// backends (tower's p2c), not Envoy's two draws with replacement.
fn nginx_semantics(v: &mut serde_json::Value) {
    if let Some(lb) = v
        .pointer_mut("/deployment/loadBalancing")
        .and_then(|l| l.as_object_mut())
    {
        if lb.get("strategy").and_then(|s| s.as_str()) == Some("power-of-two")
            && !lb.contains_key("algorithm")
        {
            lb.insert("algorithm".into(), "tower".into());
            lb.remove("weighted");
        }
    }
}

/// The scenario `fleetsim proxy` is started with: the plan's own (its
/// strategy applied), written into `dir`.
fn proxied_scenario(
    plan: &plan::Plan,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    let path = dir.join("proxy-scenario.json");
    let text = serde_json::to_string_pretty(&plan.value).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// A temporary directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = std::env::temp_dir().join(format!("fleetsim-calibrate-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(TempDir(d))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

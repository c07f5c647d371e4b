//! `fleetsim plan`: the cheapest configuration that meets the SLO, or the
//! highest rate a configuration sustains.

use crate::args::PlanArgs;
use crate::confirm::{confirm, Work, NARROW_PLAN};
use crate::failure::Failure;
use crate::output::{OutDir, Stdout};
use crate::sweep::jobs;
use reports::plan::max_load::max_load;
use reports::sweep::axis::Axis;
use reports::sweep::plan::Sweep;
use reports::sweep::spec::SweepSpec;
use std::process::ExitCode;

fn input(msg: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow::anyhow!("{msg}"))
}

/// `--slo p99=8s` as a one-value axis on the scenario's `slo`.
fn slo_axis(arg: &str) -> Result<Axis, Failure> {
    let (key, value) = arg.split_once('=').ok_or_else(|| {
        input(format!(
            "--slo {arg}: write KEY=VALUE, e.g. p99=8s or errorRate=0.01"
        ))
    })?;
    let key = key.trim();
    let path = if key == "errorRate" {
        "slo.errorRate".to_string()
    } else if sim_core::Percentile::parse(key).is_some() {
        format!("slo.latency[\"{key}\"]")
    } else {
        return Err(input(format!(
            "--slo {arg}: unknown objective `{key}`; use a percentile (p50, p90, p99, p99.9) or errorRate"
        )));
    };
    Axis::parse_arg(&format!("{path}={}", value.trim()))
        .map_err(|e| input(format!("--slo {arg}: {e}")))
}

pub(crate) fn plan(a: PlanArgs) -> Result<ExitCode, Failure> {
    let mut axes = a
        .axis
        .iter()
        .map(|s| Axis::parse_arg(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| input(format!("--axis: {e}")))?;
    for s in &a.slo {
        axes.push(slo_axis(s)?);
    }
    if a.max_load && axes.iter().any(|x| x.values.len() > 1) {
        return Err(input(
            "--max-load measures one configuration: give each --axis one value",
        ));
    }
    if !a.max_load && !axes.iter().any(|x| x.values.len() > 1) {
        return Err(input(
            "a plan searches a space: open it with --axis, e.g. --axis deployment.regions.us-east-1.instances=1..12 (or use --max-load)",
        ));
    }
    let base = sim_core::scenario_json(&a.scenario)?;
    let budget = a.budget_per_hour.or_else(|| {
        base.pointer("/deployment/budget/perHour")
            .and_then(|v| v.as_f64())
    });
    if budget.is_some_and(|b| !(b.is_finite() && b > 0.0)) {
        return Err(input("--budget-per-hour: a positive amount"));
    }
    let spec =
        SweepSpec::from_args(&a.scenario, axes, &[], Some(a.seeds), a.seed).map_err(input)?;
    let sweep = Sweep::prepare(spec)?;
    if sweep.models[0].objectives.is_empty() {
        return Err(input(format!(
            "{}: a plan needs an SLO: add `slo` to the scenario or give --slo p99=8s",
            sim_core::shown_path(&a.scenario)
        )));
    }
    if !a.max_load {
        // The search may stop early; the estimate is every point's.
        let work = Work::of_models(&sweep.models, a.seeds);
        confirm(&work, "this plan (at most)", a.yes, NARROW_PLAN)?;
    }
    let m = &sweep.models[0];
    if a.max_load && m.workload.sessions.is_some() {
        return Err(input(format!(
            "{}: --max-load multiplies the open arrival rate, but this scenario's load comes \
             from closed-loop workload.sessions: plan over the population instead, e.g. \
             --axis workload.users.count=100..2000",
            sim_core::shown_path(&a.scenario)
        )));
    }
    let out = a.out.as_deref().map(OutDir::prepare).transpose()?;
    let pool = reports::study::Pool::new(jobs(a.jobs), "plan")?;
    let mut stdout = Stdout::default();
    if a.max_load {
        let m = pool.install(|| max_load(&sweep.models[0], a.seeds))?;
        if a.json {
            let json = serde_json::to_string_pretty(&m).map_err(|e| Failure::Io(e.into()))?;
            stdout.emit(&format!("{json}\n"))?;
        } else {
            stdout.emit(&m.to_text())?;
        }
        if let Some(dir) = &out {
            let json = serde_json::to_string_pretty(&m).map_err(|e| Failure::Io(e.into()))?;
            dir.write_atomic("max-load.json", format!("{json}\n").as_bytes())?;
        }
        return Ok(ExitCode::from(u8::from(m.multiplier == 0.0)));
    }
    let mut p = pool.install(|| reports::plan::plan(&sweep, a.seeds, budget))?;
    // Printed, the scenario reads as from the working directory: never
    // an absolute path of this machine.
    p.scenario = reports::contract::relative_to(&a.scenario, std::path::Path::new("."));
    if a.json {
        let json = serde_json::to_string_pretty(&p).map_err(|e| Failure::Io(e.into()))?;
        stdout.emit(&format!("{json}\n"))?;
    } else {
        stdout.emit(&p.to_text())?;
    }
    if let Some(dir) = &out {
        // No path of this machine in the files: the scenario and the
        // command's paths relative to the output directory.
        let args: Vec<String> = std::env::args().collect();
        let mut written = p.clone();
        written.scenario = reports::contract::relative_to(&a.scenario, dir.path());
        written
            .write(
                dir.path(),
                &reports::contract::command_line(&args, dir.path()),
            )
            .map_err(|e| Failure::Io(e.into()))?;
        if !a.json {
            stdout.emit(&format!(
                "\nwrote {0}/plan.json, plan.md, report.html and charts/cost-vs-p99.svg\n",
                dir.path().display()
            ))?;
        }
    }
    Ok(ExitCode::from(u8::from(p.recommendation.is_none())))
}

use crate::format::{count, money, opt_secs, percent, secs};
use sim_core::{MetricSummary, Regime, ScenarioResult};
use std::fmt::Write;

/// Instances listed one by one; larger fleets get a distribution instead.
const MAX_INSTANCE_ROWS: usize = 12;

/// The run summary `fleetsim run` prints: one section after another.
pub fn summary_table(r: &ScenarioResult) -> String {
    let mut o = String::new();
    header(&mut o, r);
    outcomes(&mut o, r);
    time_spent(&mut o, r);
    reasons(&mut o, r);
    load(&mut o, r);
    tenants(&mut o, r);
    sessions(&mut o, r);
    classes_and_limits(&mut o, r);
    scaling(&mut o, r);
    cost(&mut o, r);
    replications(&mut o, r);
    per_instance(&mut o, r);
    slo(&mut o, r);
    steadiness(&mut o, r);
    findings(&mut o, r);
    o
}

/// Settings that cannot act, or did not in this run.
fn findings(o: &mut String, r: &ScenarioResult) {
    if !r.findings.is_empty() {
        o.push('\n');
        o.push_str(&crate::findings_text(&r.findings));
    }
}

/// ` (pooled)` after a section's name when there are replications.
fn pooled_label(r: &ScenarioResult) -> &'static str {
    if r.replications > 1 {
        " (pooled)"
    } else {
        ""
    }
}

/// The mean over replications of metric `name`, or NaN.
fn mean_of(r: &ScenarioResult, name: &str) -> f64 {
    opt_mean_of(r, name).unwrap_or(f64::NAN)
}

/// The mean over replications of metric `name`, when it has one.
fn opt_mean_of(r: &ScenarioResult, name: &str) -> Option<f64> {
    find(&r.summary, name).and_then(|m| m.mean)
}

/// `name count, ...` for the counts that are not zero.
fn nonzero(items: &[(&str, u64)]) -> String {
    items
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {}", count(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario, its fleet and its run, and the offered load.
fn header(o: &mut String, r: &ScenarioResult) {
    let reps = r.replications;
    let fleet = match &r.scaling_policy {
        Some(p) => format!(
            "{} instances ({p} autoscaling, up to {})",
            r.instances, r.max_instances
        ),
        None => format!("{} instances", r.instances),
    };
    let _ = writeln!(
        o,
        "fleetsim · {} — {fleet}, {}, {} simulated after {} warm-up, seed {}, {} replication{}",
        r.scenario,
        r.strategy,
        secs(r.duration_seconds - r.warmup_seconds),
        secs(r.warmup_seconds),
        r.seed,
        reps,
        if reps == 1 { "" } else { "s" }
    );
    crate::describe::load_header(o, &r.offered_load);
    let _ = writeln!(o);
}

/// Requests by outcome and the latency percentiles.
fn outcomes(o: &mut String, r: &ScenarioResult) {
    let p = &r.pooled;
    let c = &p.counts;
    let l = &p.latency;
    let label = pooled_label(r);
    let _ = writeln!(
        o,
        "Requests{label:<9} arrivals {}  completed {}  rejected {}  timed out {}  failed {}  in flight {}",
        count(c.arrivals),
        count(c.completed),
        count(c.rejected),
        count(c.timed_out),
        count(c.failed),
        count(c.in_flight)
    );
    let _ = writeln!(
        o,
        "Latency{label:<10} mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        opt_secs(l.mean),
        opt_secs(l.p50),
        opt_secs(l.p90),
        opt_secs(l.p99),
        opt_secs(l.p999),
        opt_secs(l.max)
    );
}

/// Where a request's time went (mean), and the LLM calls by model.
fn time_spent(o: &mut String, r: &ScenarioResult) {
    let p = &r.pooled;
    let b = &p.breakdown;
    if b.requests > 0 {
        let mut spent: Vec<(String, f64)> = b
            .llm
            .iter()
            .map(|m| (format!("LLM `{}`", m.model), m.seconds))
            .collect();
        spent.extend([
            ("cache".to_string(), b.cache),
            ("waiting for LLM calls".to_string(), b.llm_waits),
            ("tool waits".to_string(), b.tool_waits),
            ("CPU".to_string(), b.cpu),
            ("queueing".to_string(), b.queueing),
            ("retries".to_string(), b.retries),
            ("network".to_string(), b.network),
        ]);
        let shown: Vec<String> = spent
            .iter()
            // Rounding leaves CPU a few nanoseconds when there is none.
            .filter(|(_, v)| *v >= 1e-6)
            .map(|(k, v)| format!("{k} {}", secs(*v)))
            .collect();
        let _ = writeln!(o, "Time spent (mean) {}", shown.join(", "));
    }
    let llm = llm_calls_line(r);
    if !llm.is_empty() {
        let _ = writeln!(o, "LLM calls         {llm}");
    }
}

/// Why requests did not complete, and what the resilience policies did.
fn reasons(o: &mut String, r: &ScenarioResult) {
    let p = &r.pooled;
    let why = &p.reasons;
    let parts = nonzero;
    let groups: [(&str, Vec<(&str, u64)>); 3] = [
        (
            "rejected",
            vec![
                ("rate limited", why.rate_limited),
                ("over connection limit", why.over_connection_limit),
                ("circuit open", why.circuit_open),
                ("no healthy instance", why.no_healthy_instance),
            ],
        ),
        (
            "timed out",
            vec![
                ("request timeout", why.request_timeout),
                ("connection timeout", why.connection_timeout),
            ],
        ),
        (
            "failed",
            vec![
                ("LLM error", why.llm_error),
                ("LLM rate limited (429)", why.llm_rate_limited),
                ("instance down", why.instance_down),
            ],
        ),
    ];
    let why_lines: Vec<String> = groups
        .iter()
        .map(|(label, items)| (label, parts(items)))
        .filter(|(_, text)| !text.is_empty())
        .map(|(label, text)| format!("{label}: {text}"))
        .collect();
    if !why_lines.is_empty() {
        let _ = writeln!(o, "Why               {}", why_lines.join("; "));
    }
    let ev = &p.resilience;
    let events = parts(&[
        ("retries", ev.retries),
        ("ejections", ev.ejections),
        ("breaker trips", ev.breaker_trips),
        ("marked unhealthy", ev.marked_unhealthy),
        ("passive health outs", ev.passive_marked_down),
        ("instance failures", ev.instance_failures),
    ]);
    if !events.is_empty() {
        let _ = writeln!(o, "Resilience        {events}");
    }
}

/// Throughput, errors, utilization and fairness.
fn load(o: &mut String, r: &ScenarioResult) {
    let p = &r.pooled;
    let mean = |name: &str| mean_of(r, name);
    let _ = writeln!(
        o,
        "Throughput        {:.2} req/s   error rate {}",
        mean("throughputPerSecond"),
        percent(p.error_rate)
    );
    let _ = writeln!(
        o,
        "Load              utilization {}   fairness (Jain) {:.3}",
        percent(mean("utilization")),
        mean("fairness")
    );
}

/// Closed-loop sessions, pooled over replications: how many started,
/// completed, were abandoned or were still going; their duration, turns
/// and the turns' latency.
fn sessions(o: &mut String, r: &ScenarioResult) {
    let Some(s) = &r.pooled.sessions else {
        return;
    };
    let opt = |v: Option<f64>| v.map_or("-".to_string(), secs);
    let _ = writeln!(
        o,
        "Sessions{:<10}started {}   completed {}   abandoned {}   in progress {}",
        pooled_label(r),
        count(s.started),
        count(s.completed),
        count(s.abandoned),
        count(s.in_progress)
    );
    let t = &s.turns_per_session;
    let _ = writeln!(
        o,
        "                  duration p50 {}  p90 {}  p99 {}   turns/session mean {}  max {}",
        opt(s.duration.p50),
        opt(s.duration.p90),
        opt(s.duration.p99),
        t.mean.map_or("-".to_string(), |m| format!("{m:.2}")),
        t.max.map_or("-".to_string(), |m| m.to_string())
    );
    let _ = writeln!(
        o,
        "                  turn latency p50 {}  p99 {}   failed turns {} of {}",
        opt(s.turn_latency.p50),
        opt(s.turn_latency.p99),
        count(s.failed_turns),
        count(s.turns)
    );
}

/// Each tenant's goodput and slowdown, pooled over replications.
fn tenants(o: &mut String, r: &ScenarioResult) {
    if r.runs.iter().all(|x| x.tenants.is_some()) && !r.runs.is_empty() {
        // Pooled over replications: each tenant's goodput, and Jain's index
        // over them.
        let k = r.runs[0].tenants.as_ref().map_or(0, |t| t.arrivals.len());
        let goodput: Vec<Option<f64>> = (0..k)
            .map(|i| {
                let (a, c) = r
                    .runs
                    .iter()
                    .filter_map(|x| x.tenants.as_ref())
                    .fold((0u64, 0u64), |(a, c), t| {
                        (a + t.arrivals[i], c + t.completed[i])
                    });
                (a > 0).then(|| c as f64 / a as f64)
            })
            .collect();
        let shown: Vec<String> = goodput
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{i}: {}", g.map_or("-".to_string(), percent)))
            .collect();
        let _ = writeln!(
            o,
            "Tenants           goodput {}   fairness (Jain) {:.3}",
            shown.join("  "),
            sim_core::jain_index(goodput.iter().flatten().copied())
        );
        // Each tenant's mean latency over everyone's, pooled.
        let (mut sums, mut done) = (vec![0.0; k], vec![0u64; k]);
        for t in r.runs.iter().filter_map(|x| x.tenants.as_ref()) {
            for i in 0..k {
                sums[i] += t.mean_latency[i].unwrap_or(0.0) * t.completed[i] as f64;
                done[i] += t.completed[i];
            }
        }
        let all = sums.iter().sum::<f64>() / done.iter().sum::<u64>().max(1) as f64;
        if all > 0.0 {
            let slow: Vec<String> = (0..k)
                .map(|i| match done[i] {
                    0 => format!("{i}: -"),
                    n => format!("{i}: {:.2}x", sums[i] / n as f64 / all),
                })
                .collect();
            let _ = writeln!(o, "                  slowdown {}", slow.join("  "));
        }
    }
}

/// Request classes, rate limits, CPU and memory.
fn classes_and_limits(o: &mut String, r: &ScenarioResult) {
    let opt_mean = |name: &str| opt_mean_of(r, name);
    for line in class_lines(r) {
        let _ = writeln!(o, "{line}");
    }
    let limits = rate_limits_line(r);
    if !limits.is_empty() {
        let _ = writeln!(o, "Rate limits       {limits}");
    }
    let mut resources = Vec::new();
    if let Some(c) = opt_mean("cpuUtilization") {
        resources.push(format!("CPU {}", percent(c)));
    }
    if let Some(m) = opt_mean("memoryUtilization") {
        resources.push(format!("memory {}", percent(m)));
    }
    if !resources.is_empty() {
        let _ = writeln!(o, "Resources         {}", resources.join("   "));
    }
}

/// What the autoscaler did, or the OOM kills of a fixed fleet.
fn scaling(o: &mut String, r: &ScenarioResult) {
    let reps = r.replications;
    if r.scaling_policy.is_some() {
        let n = f64::from(reps.max(1));
        let sum = |f: &dyn Fn(&sim_core::RunResult) -> u64| r.runs.iter().map(f).sum::<u64>();
        let peak = r
            .runs
            .iter()
            .map(|x| x.scaling.peak_instances)
            .max()
            .unwrap_or(0);
        let mut line = format!(
            "{} at the start, peak {peak}; {:.1} scale-ups and {:.1} scale-downs per replication",
            r.instances,
            sum(&|x| x.scaling.scale_ups) as f64 / n,
            sum(&|x| x.scaling.scale_downs) as f64 / n,
        );
        let (budget, capacity, oom) = (
            sum(&|x| x.scaling.refused_by_budget),
            sum(&|x| x.scaling.refused_by_capacity),
            sum(&|x| x.scaling.oom_kills),
        );
        if budget + capacity > 0 {
            line.push_str(&format!(
                "; refused: budget {}, capacity {}",
                count(budget),
                count(capacity)
            ));
        }
        if oom > 0 {
            line.push_str(&format!("; OOM kills {}", count(oom)));
        }
        let _ = writeln!(o, "Scaling           {line}");
    } else {
        let oom: u64 = r.runs.iter().map(|x| x.scaling.oom_kills).sum();
        if oom > 0 {
            let _ = writeln!(o, "Scaling           OOM kills {}", count(oom));
        }
    }
}

/// Spend per replication, per hour and per 1,000 requests.
fn cost(o: &mut String, r: &ScenarioResult) {
    let reps = r.replications;
    let mean = |name: &str| mean_of(r, name);
    let opt_mean = |name: &str| opt_mean_of(r, name);
    let hours: f64 = r.runs.iter().map(|x| x.instance_hours).sum::<f64>() / f64::from(reps.max(1));
    let total: f64 = r.runs.iter().map(|x| x.total_cost).sum();
    let cur = &r.currency;
    let window = secs(r.duration_seconds - r.warmup_seconds);
    let llm = mean("llmCost");
    let split = if llm > 0.0 {
        format!(" (instances {} + LLM {})", money(mean("cost")), money(llm))
    } else {
        String::new()
    };
    let all = if reps > 1 {
        format!("; {cur} {} for all {reps} replications", money(total))
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "Cost              {cur} {} per replication{split} over the {window} measured, {hours:.2} instance-hours{all}",
        money(mean("totalCost"))
    );
    let per_1k = opt_mean("costPer1kRequests").map_or_else(|| "-".into(), money);
    let _ = writeln!(
        o,
        "                  {cur} {} per hour, {cur} {per_1k} per 1,000 requests",
        money(mean("costPerHour"))
    );
}

/// Every metric's mean and 95% interval across replications: `± h` when
/// the interval is symmetric, `lo – hi` when it was cut at an end of the
/// metric's range (see `sim_core::stats`), and a word when there are too
/// few replications for one.
fn replications(o: &mut String, r: &ScenarioResult) {
    let reps = r.replications;
    if reps > 1 {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Across {reps} replications (mean and 95% interval: Student's t, kept inside each metric's range)"
        );
        // Metrics the scenario does not measure (no CPU or memory model,
        // say) have no mean: they get no row, only a mention.
        let unmeasured: Vec<&str> = r
            .summary
            .iter()
            .filter(|m| m.mean.is_none())
            .map(|m| m.metric.as_str())
            .collect();
        // A scenario that defines no model has no LLM spend to show.
        let no_models = r.runs.first().is_some_and(|x| x.llm_calls.is_empty());
        let shown = |m: &&sim_core::MetricSummary| {
            m.mean.is_some() && !(no_models && m.metric == "llmCost")
        };
        for m in r.summary.iter().filter(shown) {
            let is_time = m.metric.starts_with("latency.");
            let fmt = |v: f64| {
                if is_time {
                    secs(v)
                } else if m.metric == "errorRate" || m.metric.ends_with("tilization") {
                    percent(v)
                } else if is_money(&m.metric) {
                    format!("{v:.4}")
                } else {
                    format!("{v:.3}")
                }
            };
            let mean = m.mean.map_or_else(|| "-".into(), fmt);
            let interval = match (m.symmetric_half_width(), m.ci95_low, m.ci95_high) {
                (Some(h), _, _) => format!("± {}", fmt(h)),
                (None, Some(lo), Some(hi)) => format!("{} – {}", fmt(lo), fmt(hi)),
                _ if m.too_few_for_interval() => format!(
                    "(too few replications for an interval: {} or more)",
                    sim_core::MIN_INTERVAL_SAMPLES
                ),
                _ => "± -".into(),
            };
            let name = if is_money(&m.metric) {
                format!("{} ({})", m.metric, r.currency)
            } else {
                m.metric.clone()
            };
            let _ = writeln!(o, "  {:<28} {:>10}  {}", name, mean, interval);
        }
        if !unmeasured.is_empty() {
            let _ = writeln!(o, "  not measured here: {}", unmeasured.join(", "));
        }
    }
}

/// Each instance's requests and utilization, or their spread in a large fleet.
fn per_instance(o: &mut String, r: &ScenarioResult) {
    let reps = r.replications;
    if let Some(first) = r.runs.first() {
        let _ = writeln!(o);
        let which = if reps > 1 { " (replication 0)" } else { "" };
        let inst = &first.instances;
        if inst.len() <= MAX_INSTANCE_ROWS {
            let _ = writeln!(o, "Per instance{which}");
            let w = inst.iter().map(|i| i.id.len()).max().unwrap_or(2).max(8);
            let _ = writeln!(
                o,
                "  {:<w$}  {:>10}  {:>11}",
                "instance", "requests", "utilization"
            );
            for i in inst {
                let _ = writeln!(
                    o,
                    "  {:<w$}  {:>10}  {:>11}",
                    i.id,
                    count(i.requests),
                    percent(i.utilization)
                );
            }
        } else {
            let inst: Vec<&sim_core::InstanceResult> =
                inst.iter().filter(|i| i.ready_hours > 0.0).collect();
            let mut req: Vec<u64> = inst.iter().map(|i| i.requests).collect();
            req.sort_unstable();
            let mut util: Vec<f64> = inst.iter().map(|i| i.utilization).collect();
            util.sort_by(f64::total_cmp);
            if inst.is_empty() {
                let _ = writeln!(o, "Per instance{which}: no instance was ever ready");
            } else {
                let _ = writeln!(
                    o,
                    "Per instance{which}: {} instances that were ready (full list in --json)",
                    inst.len()
                );
                instance_spread(o, &req, &util);
            }
        }
    }
}

/// The SLO verdict, objective by objective.
fn slo(o: &mut String, r: &ScenarioResult) {
    let p = &r.pooled;
    let label = pooled_label(r);
    let _ = writeln!(o);
    if p.slo.checks.is_empty() {
        let _ = writeln!(o, "SLO               none defined");
    } else {
        let verdict = if p.slo.pass { "PASS" } else { "FAIL" };
        let _ = writeln!(o, "SLO{label:<14} {verdict}");
        for ch in &p.slo.checks {
            let is_rate = ch.objective == "errorRate";
            let f = |v: f64| if is_rate { percent(v) } else { secs(v) };
            let _ = writeln!(
                o,
                "  {:<10} ≤ {:<9} actual {:<9} {}",
                ch.objective,
                f(ch.target),
                ch.actual.map_or_else(|| "n/a".into(), f),
                if ch.pass { "ok" } else { "MISSED" }
            );
        }
    }
}

/// Says in words when runs did not reach steady state: their latency
/// figures are not the fleet's.
fn steadiness(o: &mut String, r: &ScenarioResult) {
    let n = r.runs.len();
    for (count, regime) in [
        (r.pooled.overloaded, Regime::Overloaded),
        (r.pooled.backlogged, Regime::Backlogged),
    ] {
        if count > 0 {
            let _ = writeln!(
                o,
                "\nWARNING: {count} of {n} replication(s) {regime}: {}.",
                regime.meaning()
            );
        }
    }
    if r.pooled.overloaded == 0 && r.pooled.backlogged == 0 {
        let _ = writeln!(o, "\nSteady state: every replication reached it.");
    }
}

fn find<'a>(s: &'a [MetricSummary], name: &str) -> Option<&'a MetricSummary> {
    s.iter().find(|m| m.metric == name)
}

/// Summary metrics that are amounts of money.
fn is_money(metric: &str) -> bool {
    metric == "cost" || metric.ends_with("Cost") || metric.starts_with("costPer")
}

/// The min, median and max of requests and utilization per instance.
fn instance_spread(o: &mut String, req: &[u64], util: &[f64]) {
    let _ = writeln!(
        o,
        "  requests     min {}  median {}  max {}",
        count(req[0]),
        count(req[req.len() / 2]),
        count(req[req.len() - 1])
    );
    let _ = writeln!(
        o,
        "  utilization  min {}  median {}  max {}",
        percent(util[0]),
        percent(util[util.len() / 2]),
        percent(util[util.len() - 1])
    );
}

/// One line per request class, pooled over the replications: its share
/// of arrivals, how many completed, and its latency. None without classes.
fn class_lines(r: &ScenarioResult) -> Vec<String> {
    let Some(first) = r.runs.first() else {
        return Vec::new();
    };
    let total: u64 = r
        .runs
        .iter()
        .flat_map(|x| &x.classes)
        .map(|k| k.arrivals)
        .sum();
    (0..first.classes.len())
        .map(|i| {
            let mut rec = first.classes[i].recorder.clone();
            let (mut arrivals, mut completed, mut ended) = (0u64, 0u64, 0u64);
            for run in &r.runs {
                let k = &run.classes[i];
                if !std::ptr::eq(run, first) {
                    rec.merge(&k.recorder);
                }
                arrivals += k.arrivals;
                completed += k.completed;
                ended += k.completed + k.rejected + k.timed_out + k.failed;
            }
            let lat = rec.summary();
            let head = if i == 0 { "Classes" } else { "" };
            format!(
                "{head:<18}`{}` {} of requests, {} completed, p50 {}, p99 {}",
                first.classes[i].class,
                percent(arrivals as f64 / total.max(1) as f64),
                percent(completed as f64 / ended.max(1) as f64),
                lat.p50.map_or("-".to_string(), secs),
                lat.p99.map_or("-".to_string(), secs),
            )
        })
        .collect()
}

/// Requests each named rate limit refused over every replication; empty
/// without rate limits.
fn rate_limits_line(r: &ScenarioResult) -> String {
    let Some(first) = r.runs.first() else {
        return String::new();
    };
    (0..first.rate_limits.len())
        .map(|i| {
            let refused: u64 = r.runs.iter().map(|x| x.rate_limits[i].rejected).sum();
            format!("`{}` refused {}", first.rate_limits[i].name, count(refused))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Calls per model over every replication, with their errors, 429s and
/// outage failures when there were any; empty when only one model answered
/// and nothing went wrong.
fn llm_calls_line(r: &ScenarioResult) -> String {
    let per = sim_core::ModelCalls::pooled(&r.runs);
    let eventful = per
        .iter()
        .any(|m| m.rate_limited > 0 || m.outages > 0 || m.circuit_open > 0)
        || per.iter().filter(|m| m.calls > 0).count() > 1;
    if !eventful {
        return String::new();
    }
    per.iter()
        .filter(|m| m.calls + m.rate_limited + m.outages + m.circuit_open > 0)
        .map(|m| {
            let mut extra = Vec::new();
            if m.errors > 0 {
                extra.push(format!("{} errors", count(m.errors)));
            }
            if m.rate_limited > 0 {
                extra.push(format!("{} answered 429", count(m.rate_limited)));
            }
            if m.outages > 0 {
                extra.push(format!("{} failed by an outage", count(m.outages)));
            }
            if m.circuit_open > 0 {
                extra.push(format!(
                    "{} refused by its breaker, which opened {} times",
                    count(m.circuit_open),
                    count(m.breaker_trips)
                ));
            }
            if extra.is_empty() {
                format!("`{}` {}", m.model, count(m.calls))
            } else {
                format!("`{}` {} ({})", m.model, count(m.calls), extra.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_whose_instances_never_became_ready_is_summarised() {
        // Twenty instance slots, one asked for at the first check, booting
        // for longer than the run.
        let json = r#"{ "name": "never-ready", "run": { "duration": "10m", "warmup": "0s" },
          "workload": { "arrivals": { "ratePerSecond": 1 } },
          "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
          "instanceTypes": { "t": { "slots": 2, "startupTime": "2h" } },
          "deployment": { "regions": { "r": { "instances": 0 } },
                          "scaling": { "minInstances": 1, "maxInstances": 20, "targetConnections": 1 } } }"#;
        let m = sim_core::Model::from_json(json, "n.json").unwrap();
        let r = sim_core::run_model(&m, Default::default()).unwrap();
        let text = summary_table(&r);
        assert!(text.contains("no instance was ever ready"), "{text}");
    }

    #[test]
    fn metrics_a_scenario_does_not_measure_get_no_row() {
        // No CPU or memory model: their utilization has no value.
        let json = r#"{ "name": "no-cpu", "run": { "duration": "5m", "warmup": "0s", "replications": 3 },
          "workload": { "arrivals": { "ratePerSecond": 2 } },
          "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
          "instanceTypes": { "t": { "slots": 4 } },
          "deployment": { "regions": { "r": { "instances": 2 } } } }"#;
        let m = sim_core::Model::from_json(json, "n.json").unwrap();
        let r = sim_core::run_model(&m, Default::default()).unwrap();
        let unmeasured: Vec<&str> = r
            .summary
            .iter()
            .filter(|m| m.mean.is_none())
            .map(|m| m.metric.as_str())
            .collect();
        assert!(unmeasured.contains(&"cpuUtilization"), "{unmeasured:?}");
        let text = summary_table(&r);
        assert!(!text.contains("± -"), "{text}");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("cpuUtilization"))
            .collect();
        assert!(rows.is_empty(), "{rows:?}");
        assert!(
            text.contains(&format!("not measured here: {}", unmeasured.join(", "))),
            "{text}"
        );
        assert!(text.contains("latency.p99"), "{text}");
    }

    #[test]
    fn a_scenario_without_models_prints_no_llm_rows() {
        let json = r#"{
          "name": "plain", "run": { "duration": "10m", "replications": 3 },
          "workload": { "arrivals": { "ratePerSecond": 2 },
            "request": { "cpuTime": { "dist": "exponential", "mean": "1s" }, "llmCalls": 0 } },
          "instanceTypes": { "t": { "slots": 1 } },
          "deployment": { "regions": { "r": { "instances": 4 } } }
        }"#;
        let model = sim_core::Model::from_json(json, "plain.json").unwrap();
        let result = sim_core::run_model(&model, Default::default()).unwrap();
        let text = summary_table(&result);
        assert!(text.contains("Latency"), "{text}");
        assert!(!text.contains("LLM") && !text.contains("llm"), "{text}");
    }
}

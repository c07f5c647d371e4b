use crate::format::{count, money, percent, secs, short};
use sim_core::{Model, Objective};
use std::fmt::Write;

/// What a checked scenario resolves to, as `fleetsim validate` prints it:
/// one or more lines per section of the model.
pub fn describe_model(m: &Model) -> String {
    let mut o = String::new();
    run_lines(&mut o, m);
    workload_lines(&mut o, m);
    fleet_lines(&mut o, m);
    budget_line(&mut o, m);
    balancing_line(&mut o, m);
    resilience_line(&mut o, m);
    failures_line(&mut o, m);
    load_line(&mut o, m);
    slo_line(&mut o, m);
    o
}

/// The scenario's name and description, and its run.
fn run_lines(o: &mut String, m: &Model) {
    let s = &m.scenario;
    let _ = writeln!(
        o,
        "{} — {}",
        s.name,
        if s.description.is_empty() {
            "(no description)"
        } else {
            &s.description
        }
    );
    let _ = writeln!(
        o,
        "  run         {} simulated ({} warm-up), seed {}, {} replication(s)",
        secs(m.run.duration.as_secs_f64()),
        secs(m.run.warmup.as_secs_f64()),
        m.run.seed,
        m.run.replications
    );
}

/// Arrivals, trace, sessions, tenants and request classes.
fn workload_lines(o: &mut String, m: &Model) {
    let _ = writeln!(o, "  arrivals    {}", arrivals(m));
    if let Some(t) = &m.workload.trace {
        let _ = writeln!(
            o,
            "  trace       {} ({} requests in the run)",
            t.path.display(),
            count(t.rows)
        );
    }
    if let (Some(sess), Some(u)) = (&m.workload.sessions, &m.workload.users) {
        let _ = writeln!(
            o,
            "  sessions    closed loop: {} users, think mean {}{}",
            count(u64::from(u.count)),
            secs(sess.think.mean_secs()),
            sess.turns
                .as_ref()
                .map(|t| format!(", {:.1} turns a session", t.mean_secs()))
                .unwrap_or_default()
        );
    }
    if let Some((tenant, mult)) = m.workload.users.as_ref().and_then(|u| u.noisy) {
        let _ = writeln!(
            o,
            "  tenants     tenant {tenant} sends {mult}x each other tenant"
        );
    }
    for k in &m.workload.classes {
        let _ = writeln!(o, "  {}", request_line(m, k));
    }
    if m.workload.classes.len() > 1 {
        let _ = writeln!(
            o,
            "              mean service over the classes (weighted by share) {}",
            secs(m.mean_service_secs())
        );
    }
}

/// Regions, instance types and their resources, autoscaling.
fn fleet_lines(o: &mut String, m: &Model) {
    let regions: Vec<String> = m
        .fleet
        .regions
        .iter()
        .map(|r| {
            let t = &m.fleet.types[r.type_index as usize].name;
            if r.capacity > r.initial {
                format!("{}: {} x {t}, up to {}", r.name, r.initial, r.capacity)
            } else {
                format!("{}: {} x {t}", r.name, r.initial)
            }
        })
        .collect();
    let _ = writeln!(
        o,
        "  fleet       {} instances, {} slots ({}), {} {} per hour",
        count(m.initial_instances() as u64),
        count(m.total_slots()),
        regions.join(", "),
        m.run.currency,
        money(m.cost_per_hour())
    );
    let resources: Vec<String> = m
        .fleet
        .types
        .iter()
        .filter(|t| t.cores.is_some() || t.memory.is_some())
        .map(|t| {
            let mut parts = vec![format!("{} slots", t.slots)];
            if let Some(c) = t.cores {
                parts.push(format!("{c} cores"));
            }
            if let Some(mem) = t.memory {
                parts.push(format!("{:.1} GiB", mem / (1u64 << 30) as f64));
            }
            format!("{}: {}", t.name, parts.join(", "))
        })
        .collect();
    if !resources.is_empty() {
        let _ = writeln!(o, "  resources   {}", resources.join("; "));
    }
    if let Some(s) = &m.fleet.scaling {
        let _ = writeln!(
            o,
            "  scaling     {} per region, metrics every {} averaged over {}",
            s.config.name(),
            secs(s.collection_interval.as_secs_f64()),
            secs(s.window.as_secs_f64())
        );
    }
}

/// The spend caps.
fn budget_line(o: &mut String, m: &Model) {
    if let Some(b) = &m.budget.config {
        let mut caps = Vec::new();
        if let Some(v) = b.per_hour {
            caps.push(format!("{} {} per hour", m.run.currency, money(v)));
        }
        if let Some(v) = b.total {
            caps.push(format!("{} {} in all", m.run.currency, money(v)));
        }
        if let Some(v) = b.llm_per_hour {
            caps.push(format!("LLM {} {} per hour", m.run.currency, money(v)));
        }
        let _ = writeln!(o, "  budget      {}", caps.join(", "));
    }
}

/// The balancer, the per-instance cap and the request timeout.
fn balancing_line(o: &mut String, m: &Model) {
    let _ = writeln!(
        o,
        "  balancing   {}; max connections per instance {}; request timeout {}",
        m.balancing.config.kind(),
        m.resilience
            .max_connections_per_instance
            .map_or_else(|| "unlimited".into(), |v| v.to_string()),
        m.resilience
            .request_timeout
            .map_or_else(|| "none".into(), |t| secs(t.as_secs_f64()))
    );
}

/// Health checks, ejection, breakers, rate limits, routes, retries, fleet cap.
fn resilience_line(o: &mut String, m: &Model) {
    let mut policies = Vec::new();
    if let Some(h) = &m.resilience.health_check {
        policies.push(format!(
            "health checks every {} (timeout {}, down after {}, up after {})",
            h.interval, h.timeout, h.unhealthy_threshold, h.healthy_threshold
        ));
    }
    if let Some(od) = &m.resilience.outlier_detection {
        policies.push(format!(
            "outlier ejection after {} errors",
            od.consecutive_errors
        ));
    }
    if let Some(p) = &m.resilience.passive_health {
        policies.push(
            format!(
                "{:?} passive health: out after {} failure(s) for {}",
                p.kind,
                p.max_fails,
                strategies::DurationStr(p.window())
            )
            .to_lowercase(),
        );
    }
    if let Some(b) = &m.resilience.circuit_breaker {
        let kind = match b.kind {
            strategies::BreakerKind::Consecutive => "consecutive-failure",
            strategies::BreakerKind::FailureRate => "failure-rate",
        };
        policies.push(format!("{kind} circuit breakers per instance"));
    }
    for l in &m.routes.rate_limits {
        let rl = &l.config;
        let on = l
            .class
            .map(|k| format!(" on `{}`", m.workload.classes[k].name))
            .unwrap_or_default();
        // The names as written in a scenario (`token-bucket`, `ip`).
        let name = |v: serde_json::Result<serde_json::Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        policies.push(format!(
            "rate limit `{}`{on}: {} per {} ({}, per {})",
            l.name,
            rl.requests,
            rl.window,
            name(serde_json::to_value(rl.strategy)),
            name(serde_json::to_value(rl.key))
        ));
    }
    for r in &m.routes.routes {
        if let Some(lb) = &r.load_balancing {
            policies.push(format!("`{}` routed by {}", r.class, lb.kind()));
        }
    }
    if let Some(rt) = &m.resilience.retries {
        policies.push(format!("up to {} attempts", rt.max_attempts));
    }
    if let Some(c) = m.resilience.max_connections {
        policies.push(format!("fleet cap {c} connections"));
    }
    if !policies.is_empty() {
        let _ = writeln!(o, "  resilience  {}", policies.join("; "));
    }
}

/// Random and scheduled failures.
fn failures_line(o: &mut String, m: &Model) {
    if m.failures.random.is_some() || !m.failures.events.is_empty() {
        let _ = writeln!(
            o,
            "  failures    {}{} scheduled event(s)",
            if m.failures.random.is_some() {
                "random failures; "
            } else {
                ""
            },
            m.failures.events.len()
        );
    }
}

/// The offered load on every resource, the bottleneck, and what bounds
/// the queues when it is over capacity.
fn load_line(o: &mut String, m: &Model) {
    let load = m.offered_load();
    let worst = load.bottleneck();
    let mut bounds = Vec::new();
    if m.resilience.max_connections_per_instance.is_some() {
        bounds.push("maxConnectionsPerInstance");
    }
    if m.resilience.max_connections.is_some() {
        bounds.push("maxConnections");
    }
    if m.resilience.request_timeout.is_some() {
        bounds.push("requestTimeout");
    }
    if m.resilience.connection_timeout.is_some() {
        bounds.push("connectionTimeout");
    }
    let note = if worst.ratio >= 1.0 {
        if bounds.is_empty() {
            " — overloaded: queues grow without bound".to_string()
        } else {
            format!(
                " — over capacity: {} bound the queues, so at least {} of requests will be rejected or time out",
                bounds.join(" and "),
                percent(1.0 - 1.0 / worst.ratio)
            )
        }
    } else if worst.peak_ratio >= 1.0 {
        let relief = if worst.max_capacity > worst.capacity {
            format!(
                "; on the largest fleet the autoscaler may run it is {}",
                percent(worst.peak_demand / worst.max_capacity)
            )
        } else if bounds.is_empty() {
            ": queues grow while the peak lasts".to_string()
        } else {
            format!(": {} bound the queues while it lasts", bounds.join(" and "))
        };
        format!(
            " — over capacity at the peak ({}/s){relief}",
            short(load.peak_rate)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "  load        offered {} of {} at the base rate ({}/s), {} at the peak ({}/s); bottleneck {}{note}",
        percent(worst.ratio),
        worst.resource,
        short(load.base_rate),
        percent(worst.peak_ratio),
        short(load.peak_rate),
        worst.resource,
    );
    let mut rows = Vec::new();
    for r in &load.resources {
        rows.push(vec![
            r.resource.clone(),
            format!(
                "{} of {} {}{}",
                amount(r.demand, r.unit),
                amount(r.capacity, r.unit),
                if r.unit == "bytes" { "" } else { r.unit },
                if r.max_capacity > r.capacity {
                    format!(" ({} on the largest fleet)", amount(r.max_capacity, r.unit))
                } else {
                    String::new()
                }
            )
            .replace("  ", " ")
            .trim_end()
            .to_string(),
            percent(r.ratio),
            format!("peak {}", percent(r.peak_ratio)),
            if r.ratio >= 1.0 || r.peak_ratio >= 1.0 {
                format!("at or over capacity ({})", r.path)
            } else {
                String::new()
            },
        ]);
    }
    for line in crate::format::align(&rows, 2, false).lines() {
        let _ = writeln!(o, "            {line}");
    }
}

/// The offered load in the run summary's header: the slots and the
/// bottleneck, and a warning for every resource at or over capacity.
pub(crate) fn load_header(o: &mut String, load: &sim_core::OfferedLoad) {
    let slots = &load.resources[0];
    let worst = load.bottleneck();
    let bottleneck = if worst.resource == slots.resource {
        "bottleneck slots".to_string()
    } else {
        format!(
            "bottleneck {} at {} ({} at the peak)",
            worst.resource,
            percent(worst.ratio),
            percent(worst.peak_ratio)
        )
    };
    let _ = writeln!(
        o,
        "offered load {} of slots at the base rate ({}/s), {} at the peak ({}/s); {bottleneck}",
        percent(slots.ratio),
        short(load.base_rate),
        percent(slots.peak_ratio),
        short(load.peak_rate),
    );
    let over: Vec<String> = load
        .overloaded()
        .map(|r| {
            format!(
                "{} {} ({} at the peak; {})",
                r.resource,
                percent(r.ratio),
                percent(r.peak_ratio),
                r.path
            )
        })
        .collect();
    if !over.is_empty() {
        let _ = writeln!(
            o,
            "warning: offered load at or over capacity: {}",
            over.join(", ")
        );
    }
}

/// A demand or capacity in its unit: bytes in KiB, MiB or GiB.
fn amount(v: f64, unit: &str) -> String {
    if unit != "bytes" {
        return short(v);
    }
    let mut v = v;
    for u in ["B", "KiB", "MiB", "GiB"] {
        if v.abs() < 1024.0 || u == "GiB" {
            return format!("{} {u}", short(v));
        }
        v /= 1024.0;
    }
    unreachable!("GiB ends the loop")
}

/// The objectives.
fn slo_line(o: &mut String, m: &Model) {
    let slo: Vec<String> = m
        .objectives
        .iter()
        .map(|ob| match ob {
            Objective::Latency { percentile, target } => {
                format!("{percentile} ≤ {}", secs(target.as_secs_f64()))
            }
            Objective::ErrorRate { max } => format!("error rate ≤ {}", percent(*max)),
        })
        .collect();
    let _ = writeln!(
        o,
        "  slo         {}",
        if slo.is_empty() {
            "none".into()
        } else {
            slo.join(", ")
        }
    );
}

/// The arrival process in one line: steps, ramps, swing, bursts.
fn arrivals(m: &Model) -> String {
    if m.scenario.workload.arrivals.is_none() {
        return "none open".to_string();
    }
    let mut parts: Vec<String> = m
        .workload
        .rate_profile
        .iter()
        .map(|st| {
            let ramp = if st.ramp > sim_core::Nanos::ZERO {
                format!(" (ramp {})", secs(st.ramp.as_secs_f64()))
            } else {
                String::new()
            };
            format!(
                "{}/s from {}{ramp}",
                st.rate_per_second,
                secs(st.at.as_secs_f64())
            )
        })
        .collect();
    if let Some(d) = &m.workload.diurnal {
        parts.push(format!(
            "diurnal ±{} every {}, peak at {}",
            percent(d.amplitude),
            secs(d.period.as_secs_f64()),
            secs(d.peak_at.as_secs_f64())
        ));
    }
    for b in &m.workload.bursts {
        parts.push(format!(
            "burst x{} for {} at {}{}",
            b.multiplier,
            secs(b.duration.as_secs_f64()),
            secs(b.at.as_secs_f64()),
            b.every
                .map(|e| format!(" every {}", secs(e.as_secs_f64())))
                .unwrap_or_default()
        ));
    }
    format!("poisson: {}", parts.join(", "))
}

/// One class's request line: `request` for a workload without classes,
/// `class chat (60%)` with them.
fn request_line(m: &Model, k: &sim_core::ClassModel) -> String {
    let shape = &k.shape;
    let calls = match &shape.llm_calls {
        sim_core::CallCount::Fixed(n) => n.to_string(),
        sim_core::CallCount::Drawn(d) => format!("mean {:.1}", d.mean_secs()),
    };
    let models: Vec<&str> = if m.llm.models.is_empty() {
        Vec::new()
    } else if shape.model_per_call.is_empty() {
        vec![m.llm.models[shape.model_index].name.as_str()]
    } else {
        shape
            .model_per_call
            .iter()
            .map(|&i| m.llm.models[i].name.as_str())
            .collect()
    };
    let head = if k.name.is_empty() {
        "request    ".to_string()
    } else {
        format!("class `{}` ({})", k.name, percent(k.share))
    };
    let llm = if matches!(shape.llm_calls, sim_core::CallCount::Fixed(0)) {
        "no LLM call".to_string()
    } else {
        format!(
            "{calls} LLM call(s) to `{}` (mean {} each)",
            models.join("`, then `"),
            secs(m.mean_call_secs(shape, shape.model_index))
        )
    };
    format!(
        "{head} {llm}{}{}{}; mean service {}",
        shape
            .cpu_time
            .as_ref()
            .map(|c| format!(" + CPU mean {}", secs(c.mean_secs())))
            .unwrap_or_default(),
        shape
            .tool_time
            .as_ref()
            .map(|t| format!(" + tool waits mean {} between calls", secs(t.mean_secs())))
            .unwrap_or_default(),
        m.llm
            .cache
            .as_ref()
            .map(|k| format!(", {} from the cache", percent(k.hit_ratio)))
            .unwrap_or_default(),
        secs(m.mean_shape_secs(shape))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(limits: &str) -> sim_core::Model {
        let json = format!(
            r#"{{ "name": "over", "run": {{ "duration": "10m" }},
              "workload": {{ "arrivals": {{ "ratePerSecond": 4 }} }},
              "llm": {{ "models": {{ "m": {{ "latency": {{ "dist": "constant", "value": "1s" }} }} }} }},
              "instanceTypes": {{ "t": {{ "slots": 1 }} }},
              "deployment": {{ "regions": {{ "r": {{ "instances": 2 }} }}, "limits": {limits} }} }}"#
        );
        sim_core::Model::from_json(&json, "over.json").unwrap()
    }

    #[test]
    fn over_capacity_says_whether_queues_are_bounded() {
        let text = describe_model(&model("{}"));
        assert!(text.contains("queues grow without bound"), "{text}");
        let text = describe_model(&model(r#"{ "maxConnectionsPerInstance": 8 }"#));
        assert!(!text.contains("without bound"), "{text}");
        assert!(
            text.contains("maxConnectionsPerInstance bound the queues")
                && text.contains("at least 50.0% of requests"),
            "{text}"
        );
    }

    #[test]
    fn the_load_line_names_the_bottleneck_and_every_resource() {
        // 4/s x 1s of CPU on 2 x 1 core: 200%; the slots (2 x 8) are at 25%.
        let json = r#"{ "name": "cpu", "run": { "duration": "10m" },
              "workload": { "arrivals": { "ratePerSecond": 4 },
                "request": { "cpuTime": { "dist": "constant", "value": "1s" }, "llmCalls": 0 } },
              "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
              "instanceTypes": { "t": { "slots": 8, "cpus": 1 } },
              "deployment": { "regions": { "r": { "instances": 2 } } } }"#;
        let m = sim_core::Model::from_json(json, "cpu.json").unwrap();
        let text = describe_model(&m);
        assert!(
            text.contains("offered 200.0% of cpu at the base rate (4.00/s)")
                && text.contains("bottleneck cpu — overloaded"),
            "{text}"
        );
        assert!(
            text.contains("at or over capacity (instanceTypes.t.cpus)"),
            "{text}"
        );
        let mut header = String::new();
        load_header(&mut header, &m.offered_load());
        assert!(
            header.starts_with("offered load 25.0% of slots at the base rate (4.00/s)")
                && header.contains("bottleneck cpu at 200.0%")
                && header.contains("warning: offered load at or over capacity: cpu 200.0%"),
            "{header}"
        );
        // Under capacity: no warning.
        let mut quiet = String::new();
        load_header(&mut quiet, &model("{}").offered_load().clone());
        let calm = sim_core::Model::from_json(
            &json.replace(
                "\"value\": \"1s\" }, \"llmCalls\"",
                "\"value\": \"100ms\" }, \"llmCalls\"",
            ),
            "calm.json",
        )
        .unwrap();
        let mut h = String::new();
        load_header(&mut h, &calm.offered_load());
        assert!(!h.contains("warning"), "{h}");
        assert!(h.contains("bottleneck cpu at 20.0%"), "{h}");
        assert!(
            quiet.contains("warning"),
            "two 1-slot instances at 4/s: {quiet}"
        );
    }
}

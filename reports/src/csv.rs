//! The time series and the scaling log as CSV, one row per replication and
//! interval (or decision), for spreadsheets and plotting tools.

use sim_core::ScenarioResult;
use std::fmt::Write;

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

/// Quotes a field when it holds a comma, a quote or a line break.
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `timeseries.csv`: every replication's series.
pub fn series_csv(r: &ScenarioResult) -> String {
    let mut o = String::from(
        "replication,time,booting,ready,unhealthy,draining,desired,in_flight,queued,arrival_rate,\
         completion_rate,error_rate,p50,p99,cpu_utilization,memory_utilization,cost_per_hour,\
         cumulative_cost,budget_remaining\n",
    );
    for run in &r.runs {
        for s in &run.series {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                run.replication,
                s.time,
                s.booting,
                s.ready,
                s.unhealthy,
                s.draining,
                s.desired,
                s.in_flight,
                s.queued,
                s.arrival_rate,
                s.completion_rate,
                s.error_rate,
                opt(s.p50),
                opt(s.p99),
                opt(s.cpu_utilization),
                opt(s.memory_utilization),
                s.cost_per_hour,
                s.cumulative_cost,
                opt(s.budget_remaining)
            );
        }
    }
    o
}

/// `scaling.csv`: every replication's scaling decisions.
pub fn scaling_csv(r: &ScenarioResult) -> String {
    let mut o = String::from(
        "replication,time,region,from,wanted,desired,to,reason,metric,cpu_percent,memory_percent,connections,\
         requests_per_minute,response_time_ms,queue_depth\n",
    );
    for run in &r.runs {
        for e in &run.scaling_log {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                run.replication,
                e.time,
                field(&e.region),
                e.from,
                e.wanted,
                e.desired,
                e.to,
                e.reason,
                e.metric.as_deref().unwrap_or(""),
                opt(e.cpu_percent),
                opt(e.memory_percent),
                opt(e.connections),
                opt(e.requests_per_minute),
                opt(e.response_time_ms),
                e.queue_depth
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_fields_that_need_it() {
        assert_eq!(field("us-east-1"), "us-east-1");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn writes_one_row_per_interval_and_replication() {
        let json = r#"{ "name": "csv", "run": { "duration": "5m", "seriesInterval": "1m", "replications": 2 },
          "workload": { "arrivals": { "ratePerSecond": 1 } },
          "llm": { "models": { "m": { "latency": { "dist": "constant", "value": "1s" } } } },
          "instanceTypes": { "t": { "slots": 2 } },
          "deployment": { "regions": { "r": { "instances": 1 } } } }"#;
        let m = sim_core::Model::from_json(json, "csv.json").unwrap();
        let r = sim_core::run_model(&m, Default::default()).unwrap();
        let csv = series_csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 2 * 5);
        assert!(lines[1].starts_with("0,60,0,1,"), "{}", lines[1]);
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert_eq!(scaling_csv(&r).lines().count(), 1);
    }
}

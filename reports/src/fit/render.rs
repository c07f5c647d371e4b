//! A fit report as `fleetsim fit` prints it: text for people, JSON for
//! tools (schema: `reports/contracts/fit.schema.json`).

use super::{FitReport, Kind};
use crate::format::{align, secs};
use serde_json::{json, Value};

impl FitReport {
    /// A value as the report shows it: a duration, or an amount.
    fn show(&self, v: f64) -> String {
        match self.kind {
            Kind::Latency => secs(v),
            Kind::Tokens => format!("{}", super::round(v)),
        }
    }

    /// The report for a terminal: the data, the fits ranked, the
    /// empirical quantiles and the block to paste.
    pub fn to_text(&self, source: &str) -> String {
        let q = |p: f64| {
            self.quantiles
                .iter()
                .find(|(pp, _)| *pp == p)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        let mut out = format!(
            "fleetsim fit · {source} — {} values\n\ndata         mean {}  p50 {}  p90 {}  p99 {}  min {}  max {}\n\n",
            crate::format::count(self.count as u64),
            self.show(self.mean),
            self.show(q(50.0)),
            self.show(q(90.0)),
            self.show(q(99.0)),
            self.show(q(0.0)),
            self.show(q(100.0)),
        );
        let mut rows = vec![vec![
            "rank".to_string(),
            "family".into(),
            "KS D".into(),
            "p-value".into(),
            "mean".into(),
            "p99".into(),
            "parameters".into(),
        ]];
        for (i, f) in self.fits.iter().enumerate() {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|(k, v)| match (*k, self.kind) {
                    ("scale" | "mean", Kind::Latency) => format!("{k} {}", super::duration(*v)),
                    _ => format!("{k} {}", super::round(*v)),
                })
                .collect();
            rows.push(vec![
                (i + 1).to_string(),
                f.family.name().into(),
                format!("{:.4}", f.ks),
                format!("{:.3}", f.p_value),
                self.show(f.mean),
                self.show(f.p99),
                params.join(", "),
            ]);
        }
        out.push_str(&align(&rows, 2, true));
        out.push_str("\nempirical quantiles\n");
        let qs: Vec<String> = self
            .quantiles
            .iter()
            .map(|(p, v)| format!("p{p} {}", self.show(*v)))
            .collect();
        for line in qs.chunks(7) {
            out.push_str(&format!("  {}\n", line.join("  ")));
        }
        out.push_str("  (scenario distributions have no empirical form yet: use the best fit)\n");
        if let Some(best) = self.fits.first() {
            let place = match self.kind {
                Kind::Latency => {
                    "a duration's distribution (llm.models.NAME.latency, workload.request.cpuTime, deployment.proxyLatency)"
                }
                Kind::Tokens => "workload.request.inputTokens or outputTokens",
            };
            out.push_str(&format!(
                "\nbest fit: {} (smallest KS distance). Paste it as\n{place}:\n{}\n",
                best.family.name(),
                best.block
            ));
        }
        out
    }

    /// The report as one JSON document: `formatVersion`,
    /// `fleetsimVersion`, then the data and fits (durations in seconds).
    pub fn to_json(&self, file: &str, column: &str) -> Value {
        let fits: Vec<Value> = self
            .fits
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let params: serde_json::Map<String, Value> = f
                    .params
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), json!(v)))
                    .collect();
                json!({
                    "rank": i + 1,
                    "family": f.family.name(),
                    "params": params,
                    "ks": f.ks,
                    "pValue": f.p_value,
                    "mean": f.mean,
                    "p99": f.p99,
                    "block": f.block,
                })
            })
            .collect();
        json!({
            "formatVersion": crate::contract::FIT,
            "fleetsimVersion": sim_core::VERSION,
            "file": file,
            "column": column,
            "as": match self.kind { Kind::Latency => "latency", Kind::Tokens => "tokens" },
            "count": self.count,
            "mean": self.mean,
            "quantiles": self.quantiles.iter().map(|(p, v)| json!({ "percent": p, "value": v })).collect::<Vec<_>>(),
            "fits": fits,
            "best": self.fits.first().map(|f| f.block.clone()),
        })
    }
}

//! A plan as text for the terminal, Markdown, the cost-against-p99 chart
//! and a self-contained HTML page.

use super::evaluate::{Evaluation, Outcome};
use super::max_load::MaxLoad;
use super::Plan;
use crate::format::{align, money, percent, secs, short};
use crate::report::charts::{render, Pareto};
use crate::report::esc;
use std::fmt::Write;
use std::path::Path;

fn objective_value(name: &str, v: f64) -> String {
    if name == "errorRate" {
        percent(v)
    } else {
        secs(v)
    }
}

fn outcome(e: &Evaluation) -> &'static str {
    match e.outcome {
        Outcome::Meets => "meets",
        Outcome::Misses => "misses",
        Outcome::StoppedEarly => "misses (stopped early)",
        Outcome::NotSteady => "not steady",
    }
}

impl Plan {
    /// The points table: every evaluated point, cheapest first.
    fn rows(&self) -> Vec<Vec<String>> {
        let mut head = vec![
            "option".to_string(),
            "seeds".into(),
            "cost/h".into(),
            "per 1k".into(),
            "p99".into(),
        ];
        let first = self.search.evaluations.first();
        for o in first.map(|e| e.objectives.as_slice()).unwrap_or_default() {
            head.push(format!(
                "{} (upper, target {})",
                o.objective,
                objective_value(&o.objective, o.target)
            ));
        }
        head.push("verdict".into());
        let mut evals: Vec<&Evaluation> = self.search.evaluations.iter().collect();
        evals.sort_by(|a, b| {
            a.cost_per_hour
                .total_cmp(&b.cost_per_hour)
                .then(a.point.cmp(&b.point))
        });
        let mut rows = vec![head];
        for e in evals {
            let mut mark = String::new();
            if Some(e.point) == self.recommendation {
                mark.push_str(" <- recommended");
            } else if self.runners_up.contains(&e.point) {
                mark.push_str(" <- runner-up");
            }
            let mut r = vec![
                e.labels.join(" "),
                e.seeds.to_string(),
                money(e.cost_per_hour),
                e.cost_per_1k.map_or("-".into(), money),
                e.p99.map_or("-".into(), secs),
            ];
            for o in &e.objectives {
                r.push(if o.upper.is_finite() {
                    objective_value(&o.objective, o.upper)
                } else {
                    "-".into()
                });
            }
            r.push(format!("{}{mark}", outcome(e)));
            rows.push(r);
        }
        rows
    }

    /// The recommendation in sentences.
    fn verdict(&self) -> String {
        let mut o = String::new();
        match self.recommendation {
            Some(p) => {
                let e = self.at(p);
                let _ = writeln!(
                    o,
                    "Recommendation: {} at {} {} per hour ({} per 1,000 requests), meeting the SLO on {} seeds.",
                    e.labels.join(" "),
                    self.currency,
                    money(e.cost_per_hour),
                    e.cost_per_1k.map_or("-".into(), money),
                    e.seeds
                );
                for ob in &e.objectives {
                    let _ = writeln!(
                        o,
                        "  {}: upper bound {} against {} ({} margin)",
                        ob.objective,
                        objective_value(&ob.objective, ob.upper),
                        objective_value(&ob.objective, ob.target),
                        percent(ob.margin())
                    );
                }
                for (k, r) in self.runners_up.iter().enumerate() {
                    let r = self.at(*r);
                    let more = if e.cost_per_hour > 0.0 {
                        format!("{:+.1}%", (r.cost_per_hour / e.cost_per_hour - 1.0) * 100.0)
                    } else {
                        "the same".into()
                    };
                    let _ = writeln!(
                        o,
                        "Runner-up {}: {} at {} per hour ({more}){}",
                        k + 1,
                        r.labels.join(" "),
                        money(r.cost_per_hour),
                        if self
                            .budget_per_hour
                            .is_some_and(|b| r.instance_cost_per_hour > b)
                        {
                            ", over budget"
                        } else {
                            ""
                        }
                    );
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "No recommendation: nothing in the space meets the SLO within the budget."
                );
            }
        }
        let _ = writeln!(o, "What binds: {}.", self.binding_says);
        let s = &self.search;
        let how = match &s.bisected {
            Some(axis) => format!(
                "bisection on {axis} from an Erlang C start, for each of {} combination(s) of the other axes",
                s.starts.len()
            ),
            None => "every point (no single instance-count axis to bisect)".into(),
        };
        let early = s
            .evaluations
            .iter()
            .filter(|e| e.outcome == Outcome::StoppedEarly)
            .count();
        let _ = writeln!(
            o,
            "Search: {how}; {} of {} points evaluated, {early} stopped early; {} runs against {} for the full grid ({:.0}%).",
            s.evaluations.len(),
            s.grid_points,
            s.runs,
            s.grid_runs,
            s.runs as f64 / s.grid_runs.max(1) as f64 * 100.0
        );
        if let Some(b) = self.budget_per_hour {
            let _ = writeln!(
                o,
                "Budget: {} {} per hour of instance spend.",
                self.currency,
                money(b)
            );
        }
        o
    }

    /// The plan stopped at its floor, in sentences: each objective below
    /// it, then every objective against it.
    fn floor_text(&self) -> String {
        let mut o = format!("No recommendation: {}.\n", self.binding_says);
        for f in &self.floor {
            let _ = writeln!(
                o,
                "  {}: target {}, {} with no queueing at all (95% lower bound {}){}",
                f.objective,
                objective_value(&f.objective, f.target),
                objective_value(&f.objective, f.floor),
                objective_value(&f.objective, f.lower_bound),
                if f.below { " — below the floor" } else { "" }
            );
        }
        let _ = writeln!(
            o,
            "Search: none; the floor is a run of each configuration on which nothing queues (every instance with unbounded slots, CPU, memory and LLM permits). Raise the target, or change what the request itself does (a faster model, fewer calls)."
        );
        o
    }

    /// The terminal text.
    pub fn to_text(&self) -> String {
        if self.binding == super::Binding::Floor {
            return self.floor_text();
        }
        let mut o = align(&self.rows(), 1, true);
        let _ = writeln!(o, "\n{}", self.verdict());
        o
    }

    /// Markdown.
    pub fn to_markdown(&self) -> String {
        let rows = self.rows();
        let mut o = format!("### fleetsim plan: {}\n\n", self.scenario);
        if self.binding == super::Binding::Floor {
            let _ = writeln!(o, "{}", self.floor_text().replace('\n', "\n\n"));
            return o;
        }
        let _ = writeln!(o, "| {} |", rows[0].join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(rows[0].len()));
        for r in &rows[1..] {
            let _ = writeln!(o, "| {} |", r.join(" | "));
        }
        let _ = writeln!(o, "\n{}", self.verdict().replace('\n', "\n\n"));
        o
    }

    /// The cost against p99 chart, Pareto front marked.
    pub fn pareto_chart(&self) -> Pareto {
        Pareto {
            points: self
                .search
                .evaluations
                .iter()
                .filter(|e| e.seeds == self.seeds)
                .filter_map(|e| Some((e.labels.join(" "), e.cost_per_hour, e.p99?)))
                .collect(),
            currency: self.currency.clone(),
        }
    }

    /// Writes `plan.json`, `plan.md`, `charts/cost-vs-p99.{svg,png}` and
    /// `report.html` into `dir`.
    pub fn write(&self, dir: &Path, command: &str) -> std::io::Result<()> {
        let charts = dir.join("charts");
        std::fs::create_dir_all(&charts)?;
        let svg = render(&self.pareto_chart(), &charts).map_err(std::io::Error::other)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::files::write_atomic(dir, "plan.json", format!("{json}\n").as_bytes())?;
        crate::files::write_atomic(dir, "plan.md", self.to_markdown().as_bytes())?;
        let mut h = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fleetsim plan</title><style>body{font-family:sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}svg{max-width:100%;height:auto}</style></head><body>\n");
        let _ = writeln!(h, "<h1>fleetsim plan: {}</h1>", esc(&self.scenario));
        for line in self.verdict().lines() {
            let _ = writeln!(h, "<p>{}</p>", esc(line));
        }
        let _ = writeln!(
            h,
            "<h2 id=\"pareto\">Cost against p99</h2>\n<figure id=\"cost-vs-p99\">{svg}</figure>"
        );
        let rows = self.rows();
        let _ = writeln!(h, "<h2 id=\"points\">Every point evaluated</h2><table>");
        for (i, r) in rows.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            let cells: String = r
                .iter()
                .map(|c| format!("<{tag}>{}</{tag}>", esc(c)))
                .collect();
            let _ = writeln!(h, "<tr>{cells}</tr>");
        }
        let _ = writeln!(
            h,
            "</table><h2>Reproduce</h2><pre>{}</pre></body></html>",
            esc(command)
        );
        crate::files::write_atomic(dir, "report.html", h.as_bytes())?;
        Ok(())
    }
}

impl MaxLoad {
    /// The terminal text.
    pub fn to_text(&self) -> String {
        let mut rows = vec![vec![
            "rate/s".to_string(),
            "x base".into(),
            "seeds".into(),
            "p99".into(),
            "verdict".into(),
        ]];
        let mut tried: Vec<&(f64, Evaluation)> = self.tried.iter().collect();
        tried.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (f, e) in tried {
            rows.push(vec![
                short(self.base_rate * f),
                format!("{f:.3}"),
                e.seeds.to_string(),
                e.p99.map_or("-".into(), secs),
                outcome(e).into(),
            ]);
        }
        let mut o = align(&rows, 0, true);
        if self.multiplier == 0.0 {
            let _ = writeln!(
                o,
                "\nMax load: none found: the SLO is missed at every rate tried, down to {} requests/s ({:.4} x the scenario's {} /s). {} runs.",
                short(self.base_rate * self.missed_at),
                self.missed_at,
                short(self.base_rate),
                self.runs
            );
            return o;
        }
        let _ = writeln!(
            o,
            "\nMax load: {} requests/s ({:.2} x the scenario's {} /s) meets the SLO with confidence; {} /s ({:.2} x) does not. {} runs.",
            short(self.max_rate),
            self.multiplier,
            short(self.base_rate),
            short(self.base_rate * self.missed_at),
            self.missed_at,
            self.runs
        );
        o
    }
}

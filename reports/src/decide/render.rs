//! The decision matrix in words and tables: the verdict, and the
//! terminal, Markdown and CSV forms (JSON is its serde form).

use super::matrix::{show_summary, signed, Matrix, OptionRow};
use std::fmt::Write;

/// How the score and the intervals read, under every form of the matrix.
pub const METHOD: &str = "Score: for each scored criterion, the weight times the option's mean \
log-ratio against the baseline (latencies, costs, throughput, Jain's indices; the share that \
succeeded for errors; the share of seeds for SLO met), summed: the baseline scores 0, +0.10 is \
about 10% better on one criterion of weight 1. Options within the margin of each other are \
equivalent. Load balance is Jain's index of per-instance utilization (each instance against its \
own capacity): right when instances differ in speed or size, where an equal split of requests \
(fairness, shown, weight 0 unless given) is the wrong goal. Intervals are 95%: Student's t cut \
at the metric's range, Wilson's for SLO met; none below 3 seeds.";

impl Matrix {
    fn cell(&self, o: &OptionRow, c: usize) -> String {
        show_summary(self.criteria[c].unit, &o.cells[c])
    }

    /// The criteria any option measured, in column order.
    pub fn shown(&self) -> Vec<usize> {
        (0..self.criteria.len())
            .filter(|&c| self.options.iter().any(|o| o.cells[c].mean.is_some()))
            .collect()
    }

    /// An option's score as printed: `+0.123`, or `-` when unscored.
    pub fn score_text(o: &OptionRow) -> String {
        o.score.map_or_else(|| "-".into(), signed)
    }

    /// The verdict in words: the recommendation, the runner-up, whether
    /// the lead is beyond the margin and significant, or a tie.
    pub fn verdict(&self) -> String {
        let mut o = String::new();
        let Some(&best) = self.ranking.first() else {
            return "no options".into();
        };
        let b = &self.options[best];
        let _ = write!(
            o,
            "Recommendation: {} (score {} against {}",
            b.name,
            Self::score_text(b),
            self.baseline
        );
        if b.slo != "no SLO" {
            let _ = write!(o, ", SLO: {}", b.slo);
        }
        o.push(')');
        let Some(&second) = self.ranking.get(1) else {
            o.push('.');
            return o;
        };
        let r = &self.options[second];
        let _ = write!(o, "; runner-up: {} (score {})", r.name, Self::score_text(r));
        let Some(lead) = self.lead() else {
            o.push_str(". The runner-up measured a scored criterion on no seed: it is not scored.");
            return o;
        };
        let margin = self.margin;
        if lead < margin || lead <= 0.0 {
            let names: Vec<&str> = (self.equivalent.iter())
                .map(|&i| self.options[i].name.as_str())
                .collect();
            let who = if names.len() > 2 {
                format!("{} are", names.join(", "))
            } else {
                format!("{} and {} are", b.name, r.name)
            };
            let _ = write!(
                o,
                ". A tie: {who} equivalent (the lead of {} is under the {margin} margin); choose \
                 among them on what the matrix does not score.",
                signed(lead)
            );
            return o;
        }
        match &self.margin_test {
            Some(p) if self.margin_significant => {
                let (lo, hi) = (p.low.unwrap_or(p.diff), p.high.unwrap_or(p.diff));
                let _ = write!(
                    o,
                    ". The lead of {} is beyond the {margin} margin and significant (95% CI {} to \
                     {} on {} seeds).",
                    signed(lead),
                    signed(lo),
                    signed(hi),
                    p.n
                );
            }
            Some(p) if p.n < sim_core::MIN_INTERVAL_SAMPLES => {
                let _ = write!(
                    o,
                    ". The lead of {} is beyond the {margin} margin, but {} seed(s) cannot tell \
                     whether it is real: run {} or more (--seeds).",
                    signed(lead),
                    p.n,
                    sim_core::MIN_INTERVAL_SAMPLES
                );
            }
            Some(p) => {
                let _ = write!(
                    o,
                    ". The lead of {} is beyond the {margin} margin but not significant on {} seeds",
                    signed(lead),
                    p.n
                );
                match p.seeds_needed() {
                    Some(n) if n <= 10_000 => {
                        let _ = write!(o, "; about {n} seeds would tell if it holds.");
                    }
                    _ => o.push_str(": treat them as equal on these criteria."),
                }
            }
            None => o.push('.'),
        }
        o
    }

    /// Aligned columns for a terminal.
    pub fn to_table(&self) -> String {
        let shown = self.shown();
        let mut head = vec![self.options_vary.clone()];
        head.extend(shown.iter().map(|&c| self.criteria[c].label.clone()));
        head.push("SLO".into());
        head.push("score".into());
        let mut rows = vec![head];
        for &i in &self.ranking {
            let o = &self.options[i];
            let mut row = vec![o.name.clone()];
            row.extend(shown.iter().map(|&c| self.cell(o, c)));
            row.push(o.slo.clone());
            row.push(Self::score_text(o));
            rows.push(row);
        }
        let mut out = format!(
            "Decision matrix: {} option(s), {} seed(s) each, 95% intervals; best first; scores \
             against {}\n",
            self.options.len(),
            self.seeds,
            self.baseline
        );
        out.push_str(&crate::format::align(&rows, 1, true));
        let _ = writeln!(out, "\n{}", self.verdict());
        for f in &self.findings {
            let _ = writeln!(out, "  - {f}");
        }
        out.push_str(&self.weights_note());
        out
    }

    fn weights_note(&self) -> String {
        let scored: Vec<String> = (self.criteria.iter())
            .filter(|c| c.scored)
            .map(|c| format!("{}={}", c.key, c.weight))
            .collect();
        let unscored: Vec<&str> = (self.criteria.iter())
            .filter(|c| !c.scored)
            .map(|c| c.key.as_str())
            .collect();
        let mut s = format!(
            "Score weights: {}; margin {}; baseline {}",
            scored.join(", "),
            self.margin,
            self.baseline
        );
        if !unscored.is_empty() {
            let _ = write!(
                s,
                " (not scored: {}: weight 0, not measured, or identical for every option)",
                unscored.join(", ")
            );
        }
        let _ = writeln!(s, "\n{METHOD}");
        s
    }

    /// A Markdown table and the verdict.
    pub fn to_markdown(&self) -> String {
        let shown = self.shown();
        let mut o = String::new();
        let _ = write!(o, "| {} |", self.options_vary);
        for &c in &shown {
            let _ = write!(o, " {} |", self.criteria[c].label);
        }
        o.push_str(" SLO | score |\n|---|");
        for _ in &shown {
            o.push_str("---:|");
        }
        o.push_str("---|---:|\n");
        for &i in &self.ranking {
            let r = &self.options[i];
            let _ = write!(o, "| {} |", r.name);
            for &c in &shown {
                let _ = write!(o, " {} |", self.cell(r, c));
            }
            let _ = writeln!(o, " {} | {} |", r.slo, Self::score_text(r));
        }
        let _ = writeln!(
            o,
            "\n{} seed(s) per option; `±` is a symmetric 95% interval's half width, `(a–b)` an \
             interval cut at the metric's range or Wilson's.\n\n**{}**\n",
            self.seeds,
            self.verdict()
        );
        for f in &self.findings {
            let _ = writeln!(o, "- {f}");
        }
        let _ = write!(o, "\n{}", self.weights_note());
        o
    }

    /// CSV: one row per option, in grid order: its score, rank, SLO, each
    /// criterion's mean and interval, then each criterion's part of the
    /// score.
    pub fn to_csv(&self) -> String {
        let mut o = String::from("option,score,slo,rank");
        for c in &self.criteria {
            let _ = write!(o, ",{0}_mean,{0}_ci_low,{0}_ci_high", c.metric);
        }
        for c in &self.criteria {
            let _ = write!(o, ",{}_score", c.key);
        }
        o.push('\n');
        let f = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
        for (i, r) in self.options.iter().enumerate() {
            let rank = self.ranking.iter().position(|&x| x == i).unwrap_or(0) + 1;
            let _ = write!(
                o,
                "{},{},{},{rank}",
                crate::csv::field(&r.name),
                f(r.score),
                crate::csv::field(&r.slo)
            );
            for s in &r.cells {
                let _ = write!(o, ",{},{},{}", f(s.mean), f(s.ci95_low), f(s.ci95_high));
            }
            for t in &r.terms {
                let _ = write!(o, ",{}", f(*t));
            }
            o.push('\n');
        }
        o
    }
}

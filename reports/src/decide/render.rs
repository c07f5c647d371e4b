//! The decision matrix in words and tables: the verdict, and the
//! terminal, Markdown and CSV forms (JSON is its serde form).

use super::matrix::{show_summary, Matrix, OptionRow};
use std::fmt::Write;

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

    /// The verdict in words: the recommendation, the runner-up, the margin.
    pub fn verdict(&self) -> String {
        let mut o = String::new();
        let Some(&best) = self.ranking.first() else {
            return "no options".into();
        };
        let b = &self.options[best];
        let _ = write!(o, "Recommendation: {} (score {:.2}", b.name, b.score);
        if b.slo != "no SLO" {
            let _ = write!(o, ", SLO: {}", b.slo);
        }
        o.push(')');
        if let Some(&second) = self.ranking.get(1) {
            let r = &self.options[second];
            let _ = write!(o, "; runner-up: {} (score {:.2})", r.name, r.score);
            match &self.margin {
                Some(p) if self.margin_significant => {
                    let (lo, hi) = (p.low.unwrap_or(p.diff), p.high.unwrap_or(p.diff));
                    let _ = write!(
                        o,
                        ". The lead of {:.2} is significant (95% CI {:.2}–{:.2} on {} seeds).",
                        p.diff, lo, hi, p.n
                    );
                }
                Some(p) if p.n < 2 => {
                    o.push_str(
                        ". One seed cannot tell whether the lead is real: run 2 or more (--seeds).",
                    );
                }
                Some(p) => {
                    let _ = write!(
                        o,
                        ". The lead of {:.2} is not significant on {} seeds",
                        p.diff, p.n
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
        } else {
            o.push('.');
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
            row.push(format!("{:.2}", o.score));
            rows.push(row);
        }
        let mut out = format!(
            "Decision matrix: {} option(s), {} seed(s) each, 95% intervals; best first\n",
            self.options.len(),
            self.seeds
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
        let scored: Vec<String> = self
            .criteria
            .iter()
            .filter(|c| c.scored)
            .map(|c| format!("{}={}", c.key, c.weight))
            .collect();
        let unscored: Vec<&str> = self
            .criteria
            .iter()
            .filter(|c| !c.scored)
            .map(|c| c.key.as_str())
            .collect();
        let mut s = format!("Score weights: {}", scored.join(", "));
        if !unscored.is_empty() {
            let _ = write!(
                s,
                " (not scored: {}, weight 0 or not measured)",
                unscored.join(", ")
            );
        }
        s.push('\n');
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
            let _ = writeln!(o, " {} | {:.2} |", r.slo, r.score);
        }
        let _ = writeln!(
            o,
            "\n{} seed(s) per option; ± is the 95% confidence interval's half width.\n\n**{}**\n",
            self.seeds,
            self.verdict()
        );
        for f in &self.findings {
            let _ = writeln!(o, "- {f}");
        }
        let _ = write!(o, "\n{}", self.weights_note());
        o
    }

    /// CSV: one row per option, in grid order; each criterion's mean and
    /// interval.
    pub fn to_csv(&self) -> String {
        let mut o = String::from("option,score,slo,rank");
        for c in &self.criteria {
            let _ = write!(o, ",{0}_mean,{0}_ci_low,{0}_ci_high", c.metric);
        }
        o.push('\n');
        let f = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
        for (i, r) in self.options.iter().enumerate() {
            let rank = self.ranking.iter().position(|&x| x == i).unwrap_or(0) + 1;
            let _ = write!(
                o,
                "{},{},{},{rank}",
                crate::csv::field(&r.name),
                r.score,
                crate::csv::field(&r.slo)
            );
            for s in &r.cells {
                let _ = write!(o, ",{},{},{}", f(s.mean), f(s.ci95_low), f(s.ci95_high));
            }
            o.push('\n');
        }
        o
    }
}

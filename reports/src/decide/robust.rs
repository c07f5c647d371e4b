//! Robust ranking: the same options compared under several scenarios
//! (today's traffic, a spike, a regional outage...). An option's score in
//! each scenario comes from that scenario's decision matrix (a weighted
//! sum of log-ratios against the same baseline option, see
//! [`super::score`]); across them, its **worst case** is its lowest score,
//! and its **regret** in a scenario is how far it falls short of that
//! scenario's best option (a score difference, so it involves neither the
//! baseline nor any third option). The recommendation minimises the
//! maximum regret (the option you would least regret whichever scenario
//! comes true), ties broken by the worst case; two options whose largest
//! regrets differ by less than the margin are said to be equivalent. An
//! option a scenario could not score (it measured nothing) has a score of
//! minus infinity there.

use super::matrix::Matrix;
use crate::error::Error;
use serde::Serialize;
use std::fmt::Write;

/// The options' standing across scenarios.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Robust {
    /// The format of this output ([`crate::contract::ROBUST`]).
    pub format_version: u32,
    /// fleetsim version that produced it.
    pub fleetsim_version: String,
    /// Scenario names, in the order given.
    pub scenarios: Vec<String>,
    /// Option names.
    pub options: Vec<String>,
    /// `scores[option][scenario]`.
    pub scores: Vec<Vec<f64>>,
    /// Lowest score per option.
    pub worst: Vec<f64>,
    /// Largest regret per option.
    pub max_regret: Vec<f64>,
    /// Option indices, least maximum regret first.
    pub ranking: Vec<usize>,
    /// Largest regrets closer than this are equivalent.
    pub margin: f64,
}

impl Robust {
    /// Combines one matrix per scenario; every matrix must rank the same
    /// options.
    pub fn build(scenarios: Vec<String>, matrices: &[Matrix]) -> Result<Robust, Error> {
        let first = matrices.first().ok_or("no scenarios")?;
        let options: Vec<String> = first.options.iter().map(|o| o.name.clone()).collect();
        let mut scores = vec![Vec::with_capacity(matrices.len()); options.len()];
        for (m, name) in matrices.iter().zip(&scenarios) {
            for (i, o) in options.iter().enumerate() {
                let row = m
                    .options
                    .iter()
                    .find(|r| &r.name == o)
                    .ok_or_else(|| format!("scenario {name} has no option {o}"))?;
                scores[i].push(row.score.unwrap_or(f64::NEG_INFINITY));
            }
        }
        let (worst, max_regret, ranking) = rank(&scores);
        Ok(Robust {
            format_version: crate::contract::ROBUST,
            fleetsim_version: sim_core::VERSION.to_string(),
            margin: first.margin,
            scenarios,
            options,
            scores,
            worst,
            max_regret,
            ranking,
        })
    }

    /// The verdict in words.
    pub fn verdict(&self) -> String {
        let b = self.ranking[0];
        let mut s = format!(
            "Robust choice: {} (largest regret {}, worst-case score {} across {} scenarios)",
            self.options[b],
            num(self.max_regret[b]),
            num(self.worst[b]),
            self.scenarios.len()
        );
        let tied: Vec<&str> = (self.ranking.iter().skip(1))
            .filter(|&&i| self.max_regret[i] - self.max_regret[b] < self.margin)
            .map(|&i| self.options[i].as_str())
            .collect();
        if !tied.is_empty() {
            let _ = write!(
                s,
                "; equivalent within the {} margin: {}",
                self.margin,
                tied.join(", ")
            );
        }
        s
    }

    /// Aligned columns for a terminal.
    pub fn to_table(&self) -> String {
        let mut rows = vec![{
            let mut h = vec!["option".to_string()];
            h.extend(self.scenarios.iter().cloned());
            h.extend(["worst case".to_string(), "max regret".to_string()]);
            h
        }];
        for &i in &self.ranking {
            let mut r = vec![self.options[i].clone()];
            r.extend(self.scores[i].iter().map(|&x| num(x)));
            r.push(num(self.worst[i]));
            r.push(num(self.max_regret[i]));
            rows.push(r);
        }
        let mut o = String::from(
            "Robust ranking: each option's score in each scenario, least maximum regret first\n",
        );
        o.push_str(&crate::format::align(&rows, 1, false));
        let _ = writeln!(o, "\n{}", self.verdict());
        o
    }

    /// CSV: one row per option, best first: its score in each scenario,
    /// its worst case and its largest regret.
    pub fn to_csv(&self) -> String {
        let mut o = String::from("option");
        for sc in &self.scenarios {
            let _ = write!(o, ",{}", crate::csv::field(&format!("score_{sc}")));
        }
        o.push_str(",worst_case,max_regret\n");
        for &i in &self.ranking {
            o.push_str(&crate::csv::field(&self.options[i]));
            for x in &self.scores[i] {
                let _ = write!(o, ",{x}");
            }
            let _ = writeln!(o, ",{},{}", self.worst[i], self.max_regret[i]);
        }
        o
    }

    /// A Markdown table and the verdict.
    pub fn to_markdown(&self) -> String {
        let mut o = String::from("| option |");
        for s in &self.scenarios {
            let _ = write!(o, " {s} |");
        }
        o.push_str(" worst case | max regret |\n|---|");
        for _ in &self.scenarios {
            o.push_str("---:|");
        }
        o.push_str("---:|---:|\n");
        for &i in &self.ranking {
            let _ = write!(o, "| {} |", self.options[i]);
            for x in &self.scores[i] {
                let _ = write!(o, " {} |", num(*x));
            }
            let _ = writeln!(o, " {} | {} |", num(self.worst[i]), num(self.max_regret[i]));
        }
        let _ = writeln!(o, "\n**{}**", self.verdict());
        o
    }
}

/// A score or regret as printed: three decimals, `-` when not scored.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "-".into()
    }
}

/// Per option (`scores[option][scenario]`): its worst score, its largest
/// regret, and the ranking (least maximum regret first, then the better
/// worst case, then the order given).
fn rank(scores: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let n = scores.first().map_or(0, Vec::len);
    let best: Vec<f64> = (0..n)
        .map(|s| {
            scores
                .iter()
                .map(|row| row[s])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let worst: Vec<f64> = scores
        .iter()
        .map(|row| row.iter().copied().fold(f64::INFINITY, f64::min))
        .collect();
    let max_regret: Vec<f64> = scores
        .iter()
        .map(|row| {
            row.iter()
                .zip(&best)
                .map(|(x, b)| b - x)
                .fold(0.0, f64::max)
        })
        .collect();
    let mut ranking: Vec<usize> = (0..scores.len()).collect();
    // Regrets equal but for rounding are a tie.
    let key = |x: f64| (x * 1e9).round();
    ranking.sort_by(|&a, &b| {
        key(max_regret[a])
            .total_cmp(&key(max_regret[b]))
            .then(worst[b].total_cmp(&worst[a]))
            .then(a.cmp(&b))
    });
    (worst, max_regret, ranking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimax_regret_prefers_the_option_that_is_never_far_behind() {
        // a wins scenario 1 by far and is far behind in scenario 2; c the
        // reverse; b is close behind in both.
        let scores = vec![vec![1.0, 0.2], vec![0.8, 0.8], vec![0.1, 1.0]];
        let (worst, regret, ranking) = rank(&scores);
        assert_eq!(worst, vec![0.2, 0.8, 0.1]);
        assert!((regret[0] - 0.8).abs() < 1e-12 && (regret[1] - 0.2).abs() < 1e-12);
        assert_eq!(ranking, vec![1, 0, 2]);
        // Equal regret: the better worst case goes first.
        let (worst, regret, ranking) = rank(&[vec![1.0, 0.3], vec![0.6, 0.7]]);
        assert!((regret[0] - regret[1]).abs() < 1e-12, "{regret:?}");
        assert_eq!(worst, vec![0.3, 0.6]);
        assert_eq!(ranking, vec![1, 0]);
    }
}

//! A gate's report as a terminal table, a Markdown summary for a pull
//! request comment, and JUnit XML (one test case per scenario and metric)
//! for CI systems.

use super::check::{Finding, GateReport, ScenarioReport, Verdict};
use crate::format::{align, percent, secs, short};
use crate::report::esc;
use std::fmt::Write;

fn value(unit: &str, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => match unit {
            "s" => secs(v),
            "%" => percent(v),
            _ => short(v),
        },
    }
}

/// A metric neither side measured (no latency where no request completed,
/// say): it gets no row, only its note.
fn unmeasured(f: &Finding) -> bool {
    matches!(f.verdict, Verdict::NotCompared) && f.baseline.is_none() && f.candidate.is_none()
}

/// The change and its interval: `+12% (+8% to +16%)` for latency and
/// cost, in the metric's units otherwise.
fn change(f: &Finding) -> String {
    let Some(d) = f.diff else {
        return "-".into();
    };
    let rel = matches!(f.metric, "p50" | "p99" | "cost") && f.baseline.is_some_and(|b| b != 0.0);
    let show = |x: f64| -> String {
        if rel {
            format!("{:+.1}%", x / f.baseline.unwrap_or(1.0).abs() * 100.0)
        } else if f.unit == "%" {
            format!("{:+.2} pt", x * 100.0)
        } else if f.unit == "s" {
            let s = secs(x.abs());
            if x < 0.0 {
                format!("-{s}")
            } else {
                format!("+{s}")
            }
        } else {
            format!("{x:+.3}")
        }
    };
    match (f.low, f.high) {
        (Some(l), Some(h)) => format!("{} ({} to {})", show(d), show(l), show(h)),
        _ => show(d),
    }
}

fn label(s: &ScenarioReport) -> String {
    let mut l = s.scenario.clone();
    if s.changed {
        l.push_str(" (changed)");
    }
    l
}

impl GateReport {
    /// The terminal table.
    pub fn to_table(&self) -> String {
        let mut rows = vec![[
            "scenario",
            "metric",
            "baseline",
            "candidate",
            "change (95% CI)",
            "threshold",
            "verdict",
        ]
        .map(String::from)
        .to_vec()];
        let mut notes = Vec::new();
        for s in &self.scenarios {
            if s.new {
                rows.push(vec![
                    label(s),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "new: not in the baseline".into(),
                ]);
                continue;
            }
            for f in s.findings.iter().filter(|f| !unmeasured(f)) {
                rows.push(vec![
                    label(s),
                    f.metric.into(),
                    value(f.unit, f.baseline),
                    value(f.unit, f.candidate),
                    change(f),
                    f.threshold.clone(),
                    f.verdict.word().into(),
                ]);
                if !matches!(f.verdict, Verdict::Pass) || f.says.contains("left out") {
                    notes.push(format!("  {} {}: {}", s.scenario, f.metric, f.says));
                }
            }
        }
        let mut o = align(&rows, 2, true);
        if !notes.is_empty() {
            o.push('\n');
            for n in notes {
                let _ = writeln!(o, "{n}");
            }
        }
        for s in self.scenarios.iter().filter(|s| s.changed) {
            let _ = writeln!(
                o,
                "\nnote: {} changed since the baseline; compared as a candidate",
                s.scenario
            );
        }
        for d in &self.dropped {
            let _ = writeln!(o, "\nnote: {d} is in the baseline but not in the suite");
        }
        for n in &self.notes {
            let _ = writeln!(o, "\nnote: {n}");
        }
        if self.baseline_version != self.fleetsim_version {
            let _ = writeln!(
                o,
                "\nnote: the baseline was written by fleetsim {}, this is {}",
                self.baseline_version, self.fleetsim_version
            );
        }
        let _ = writeln!(o, "\n{}", self.headline());
        o
    }

    /// The Markdown summary, for a pull-request comment: the full table
    /// when anything failed or is undecided; when every check passed, one
    /// heading with the verdict and counts, the table folded in a
    /// `<details>` block.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let table = self.markdown_table();
        let settings = self.markdown_settings();
        if self.all_passed() {
            let checks: usize = self.scenarios.iter().map(|s| s.findings.len()).sum();
            let improved = self.count(Verdict::Improved);
            let better = if improved > 0 {
                format!(", {improved} improved")
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "### ✅ fleetsim gate passed: {checks} checks on {} scenario(s) x {} seeds, no regression{better}\n",
                self.scenarios.len(),
                self.seeds
            );
            let explained = self.markdown_explained();
            if !explained.is_empty() {
                let _ = writeln!(o, "{explained}\n");
            }
            let _ = writeln!(
                o,
                "<details><summary>Every check</summary>\n\n{table}{settings}\n</details>"
            );
        } else {
            let icon = if self.exit_code() == 0 { "✅" } else { "❌" };
            let _ = writeln!(o, "### {icon} fleetsim gate\n\n{}\n", self.headline());
            o.push_str(&table);
            let explained = self.markdown_explained();
            if !explained.is_empty() {
                let _ = writeln!(o, "\n{explained}");
            }
            o.push_str(&settings);
        }
        for n in &self.notes {
            let _ = writeln!(o, "\nNote: {n}.");
        }
        let _ = writeln!(
            o,
            "\nEach metric is compared seed by seed on {} seeds; a regression is a 95% interval wholly past its threshold.",
            self.seeds
        );
        o
    }

    /// Every check passed (or improved): nothing regressed, nothing is
    /// undecided, nothing measured on one side only, no scenario is new.
    fn all_passed(&self) -> bool {
        self.scenarios.iter().all(|s| {
            !s.new
                && s.findings.iter().all(|f| {
                    matches!(f.verdict, Verdict::Pass | Verdict::Improved) || unmeasured(f)
                })
        })
    }

    /// The table of every scenario's checks.
    fn markdown_table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "| scenario | metric | baseline | candidate | change (95% CI) | threshold | verdict |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---|");
        for s in &self.scenarios {
            if s.new {
                let _ = writeln!(o, "| {} | | | | | | new: not in the baseline |", label(s));
            }
            for f in s.findings.iter().filter(|f| !unmeasured(f)) {
                let verdict = match f.verdict {
                    Verdict::Regression => "**REGRESSION**".to_string(),
                    v => v.word().to_string(),
                };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    label(s),
                    f.metric,
                    value(f.unit, f.baseline),
                    value(f.unit, f.candidate),
                    change(f),
                    f.threshold,
                    verdict
                );
            }
        }
        o
    }

    /// One line per check that did not simply pass, saying what it found.
    fn markdown_explained(&self) -> String {
        self.scenarios
            .iter()
            .flat_map(|s| {
                s.findings
                    .iter()
                    .filter(|f| !matches!(f.verdict, Verdict::Pass))
                    .map(move |f| format!("- `{}` {}: {}", s.scenario, f.metric, f.says))
            })
            .collect::<Vec<String>>()
            .join("\n")
    }

    /// The settings that cannot act, per scenario (advisory).
    fn markdown_settings(&self) -> String {
        let settings: Vec<(Option<&str>, &sim_core::Finding)> = self
            .scenarios
            .iter()
            .flat_map(|s| s.settings.iter().map(|f| (Some(s.scenario.as_str()), f)))
            .collect();
        if settings.is_empty() {
            String::new()
        } else {
            format!("\n{}", crate::findings_markdown(&settings))
        }
    }

    /// JUnit XML: one test suite per scenario, one test case per metric;
    /// a regression is a failure, too few seeds is skipped with its reason.
    pub fn to_junit(&self) -> String {
        let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let tests: usize = self.scenarios.iter().map(|s| s.findings.len()).sum();
        let _ = writeln!(
            o,
            "<testsuites name=\"fleetsim gate\" tests=\"{tests}\" failures=\"{}\" skipped=\"{}\">",
            self.count(Verdict::Regression),
            self.count(Verdict::TooFewSeeds) + self.count(Verdict::NotCompared)
        );
        for s in &self.scenarios {
            let failures = s
                .findings
                .iter()
                .filter(|f| f.verdict == Verdict::Regression)
                .count();
            let _ = writeln!(
                o,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
                esc(&label(s)),
                s.findings.len()
            );
            for f in &s.findings {
                let _ = write!(
                    o,
                    "    <testcase classname=\"{}\" name=\"{}\"",
                    esc(&s.scenario),
                    f.metric
                );
                let detail = format!(
                    "baseline {}, candidate {}, change {}, threshold {}: {}",
                    value(f.unit, f.baseline),
                    value(f.unit, f.candidate),
                    change(f),
                    f.threshold,
                    f.says
                );
                match f.verdict {
                    Verdict::Regression => {
                        let _ = writeln!(
                            o,
                            ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                            esc(&format!("{} regressed", f.metric)),
                            esc(&detail)
                        );
                    }
                    Verdict::TooFewSeeds | Verdict::NotCompared => {
                        let _ = writeln!(
                            o,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            esc(&detail)
                        );
                    }
                    Verdict::Pass | Verdict::Improved => {
                        let _ = writeln!(
                            o,
                            ">\n      <system-out>{}</system-out>\n    </testcase>",
                            esc(&detail)
                        );
                    }
                }
            }
            let _ = writeln!(o, "  </testsuite>");
        }
        o.push_str("</testsuites>\n");
        o
    }
}

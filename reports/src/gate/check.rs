//! Comparing a candidate with the baseline, scenario by scenario and
//! metric by metric.
//!
//! Each metric is compared seed by seed (candidate minus baseline, the
//! same seeds on both sides) and judged by the 95% interval of the mean
//! difference, in the direction that is worse for the metric:
//!
//! - **regression** when the whole interval lies beyond the threshold;
//! - **too few seeds** when the estimate lies beyond it but the interval
//!   reaches back inside: the gate cannot tell, and says how many seeds
//!   would;
//! - **improved** when the whole interval lies on the better side of zero;
//! - **pass** otherwise (identical runs pass at once).
//!
//! Under no real change, the chance that an interval lies wholly beyond a
//! positive threshold is below the 2.5% of one tail of the interval, per
//! metric; the project's note gives the measured false-alarm rate.

use super::measure::{Baseline, Sample, ScenarioRuns};
use super::suite::{Suite, Thresholds};
use crate::decide::paired::{t_n, Paired};
use serde::Serialize;
use sim_core::Regime;

/// What the gate says of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Within the threshold.
    Pass,
    /// Better, beyond doubt.
    Improved,
    /// Worse beyond the threshold, beyond doubt: the gate fails.
    Regression,
    /// The estimate is beyond the threshold, the interval is not: more
    /// seeds are needed to decide.
    TooFewSeeds,
    /// Nothing to compare (no values on one side).
    NotCompared,
}

impl Verdict {
    /// The word used in every output.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Improved => "improved",
            Verdict::Regression => "REGRESSION",
            Verdict::TooFewSeeds => "too few seeds",
            Verdict::NotCompared => "not compared",
        }
    }
}

/// One metric of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `p50`, `p99`, `errorRate`, `fairness`, `fairnessFloor`,
    /// `tenantFairness`, `cost`, `slo` or `steadyState`.
    pub metric: &'static str,
    /// How values of this metric are shown: `s` (seconds), `%`
    /// (fractions), `$/h`, or empty.
    pub unit: &'static str,
    /// Baseline mean over the compared seeds.
    pub baseline: Option<f64>,
    /// Candidate mean over the compared seeds.
    pub candidate: Option<f64>,
    /// Mean of candidate minus baseline.
    pub diff: Option<f64>,
    /// 95% interval of the difference.
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
    /// Seeds compared.
    pub seeds: usize,
    /// The threshold, as written (`+10%`, `+0.01`, `>= 0.8`).
    pub threshold: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict in words.
    pub says: String,
}

/// One scenario's comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    /// The scenario's key in the suite.
    pub scenario: String,
    /// Its file changed since the baseline was written (compared anyway:
    /// a deployment change is a candidate like a code change).
    pub changed: bool,
    /// Not in the baseline: nothing to compare with.
    pub new: bool,
    /// Each metric.
    pub findings: Vec<Finding>,
    /// Settings of the candidate scenario that cannot act, or did not on
    /// its seeds (advisory: they change no verdict).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<sim_core::Finding>,
}

/// The gate's overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateVerdict {
    /// No regression: exit code 0.
    Pass,
    /// A regression: exit code 1.
    Fail,
}

/// The whole gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateReport {
    /// The report's format ([`crate::contract::GATE`]).
    pub format_version: u32,
    /// fleetsim version of the candidate (this run).
    pub fleetsim_version: String,
    /// `pass` or `fail`: `fail` exactly when the exit code is 1 (a
    /// regression).
    pub verdict: GateVerdict,
    /// The suite: as given, or relative to the working directory when
    /// given as an absolute path.
    pub suite: String,
    /// Seeds per scenario.
    pub seeds: u32,
    /// fleetsim version of the baseline.
    pub baseline_version: String,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// Per scenario, in suite order.
    pub scenarios: Vec<ScenarioReport>,
    /// Scenarios in the baseline that the suite no longer has.
    pub dropped: Vec<String>,
    /// What the reader should know about how the comparison was made.
    pub notes: Vec<String>,
}

impl GateReport {
    /// Findings with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.scenarios
            .iter()
            .flat_map(|s| &s.findings)
            .filter(|f| f.verdict == verdict)
            .count()
    }

    /// 1 when anything regressed, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.count(Verdict::Regression) > 0)
    }

    /// One line for the end of the output.
    pub fn headline(&self) -> String {
        let r = self.count(Verdict::Regression);
        let u = self.count(Verdict::TooFewSeeds);
        let changed = self.scenarios.iter().filter(|s| s.changed).count();
        let mut s = if r > 0 {
            format!("gate FAILED: {r} regression(s)")
        } else {
            "gate passed: no regression".to_string()
        };
        s.push_str(&format!(
            " over {} scenario(s) x {} seeds",
            self.scenarios.len(),
            self.seeds
        ));
        if u > 0 {
            s.push_str(&format!(
                "; {u} metric(s) undecided (too few seeds to tell)"
            ));
        }
        if changed > 0 {
            s.push_str(&format!(
                "; {changed} scenario file(s) changed since the baseline"
            ));
        }
        s
    }
}

/// Compares `candidate` (measured from `suite`) with `baseline`.
pub fn compare(suite: &Suite, baseline: &Baseline, candidate: &[ScenarioRuns]) -> GateReport {
    let t = &suite.thresholds;
    let scenarios = candidate
        .iter()
        .map(|c| match baseline.get(&c.scenario) {
            None => ScenarioReport {
                scenario: c.scenario.clone(),
                changed: false,
                new: true,
                findings: Vec::new(),
                settings: c.findings.clone(),
            },
            Some(b) => ScenarioReport {
                scenario: c.scenario.clone(),
                changed: b.hash != c.hash,
                new: false,
                findings: findings(t, &b.runs, &c.runs),
                settings: c.findings.clone(),
            },
        })
        .collect();
    let dropped = baseline
        .scenarios
        .iter()
        .filter(|b| !candidate.iter().any(|c| c.scenario == b.scenario))
        .map(|b| b.scenario.clone())
        .collect();
    let mut notes = Vec::new();
    if baseline.seeds != suite.seeds {
        notes.push(format!(
            "the baseline has {} seeds per scenario and this run {}: compared on the first {}",
            baseline.seeds,
            suite.seeds,
            baseline.seeds.min(suite.seeds)
        ));
    }
    for c in candidate {
        if let Some(b) = baseline.get(&c.scenario).filter(|b| b.seed != c.seed) {
            notes.push(format!(
                "{}: master seed {} in the baseline, {} now: seeds are not paired (still sound, but noisier)",
                c.scenario, b.seed, c.seed
            ));
        }
    }
    let mut report = GateReport {
        format_version: crate::contract::GATE,
        fleetsim_version: sim_core::VERSION.to_string(),
        verdict: GateVerdict::Pass,
        // Never an absolute path of this machine: relative to the
        // working directory when given as one.
        suite: crate::contract::relative_to(&suite.origin, std::path::Path::new(".")),
        seeds: suite.seeds,
        baseline_version: baseline.fleetsim_version.clone(),
        thresholds: t.clone(),
        scenarios,
        dropped,
        notes,
    };
    if report.exit_code() != 0 {
        report.verdict = GateVerdict::Fail;
    }
    report
}

fn findings(t: &Thresholds, base: &[Sample], cand: &[Sample]) -> Vec<Finding> {
    let n = base.len().min(cand.len());
    let (base, cand) = (&base[..n], &cand[..n]);
    let mut out = Vec::new();
    let unsteady = |s: &Sample| f64::from(u8::from(s.regime != Regime::Stable));
    out.push(judge(
        Metric::new("steadyState", "", true),
        &base.iter().map(|s| Some(unsteady(s))).collect::<Vec<_>>(),
        &cand.iter().map(|s| Some(unsteady(s))).collect::<Vec<_>>(),
        Limit::Absolute(0.0),
    ));
    // Latency only where both runs reached steady state: a backlogged
    // run's latency describes a transient.
    let steady: Vec<bool> = base
        .iter()
        .zip(cand)
        .map(|(b, c)| b.regime == Regime::Stable && c.regime == Regime::Stable)
        .collect();
    let left_out = steady.iter().filter(|s| !**s).count();
    for (name, column, limit, read) in [
        (
            "p50",
            "latency_p50_s",
            t.p50,
            (|s: &Sample| s.p50) as fn(&Sample) -> Option<f64>,
        ),
        ("p99", "latency_p99_s", t.p99, |s: &Sample| s.p99),
    ] {
        let Some(rel) = limit else { continue };
        let pick = |xs: &[Sample]| -> Vec<Option<f64>> {
            xs.iter()
                .zip(&steady)
                .map(|(s, ok)| if *ok { read(s) } else { None })
                .collect()
        };
        let mut f = judge(
            Metric::of(name, column),
            &pick(base),
            &pick(cand),
            Limit::Relative(rel),
        );
        if left_out > 0 {
            f.says.push_str(&format!(
                " ({left_out} of {n} seeds left out: not in steady state on both sides)"
            ));
        }
        out.push(f);
    }
    if let Some(abs) = t.error_rate {
        out.push(judge(
            Metric::of("errorRate", "error_rate"),
            &base.iter().map(|s| Some(s.error_rate)).collect::<Vec<_>>(),
            &cand.iter().map(|s| Some(s.error_rate)).collect::<Vec<_>>(),
            Limit::Absolute(abs),
        ));
    }
    let fair = |xs: &[Sample]| xs.iter().map(|s| Some(s.fairness)).collect::<Vec<_>>();
    if let Some(abs) = t.fairness_drop {
        out.push(judge(
            Metric::of("fairness", "fairness_jain"),
            &fair(base),
            &fair(cand),
            Limit::Absolute(abs),
        ));
    }
    if let Some(floor) = t.fairness_floor {
        out.push(floor_check(floor, cand));
    }
    let tenant_fair = |xs: &[Sample]| xs.iter().map(|s| s.tenant_fairness).collect::<Vec<_>>();
    if let Some(abs) = t.fairness_drop {
        if base.iter().chain(cand).any(|s| s.tenant_fairness.is_some()) {
            out.push(judge(
                Metric::of("tenantFairness", "tenant_fairness_jain"),
                &tenant_fair(base),
                &tenant_fair(cand),
                Limit::Absolute(abs),
            ));
        }
    }
    session_checks(t, base, cand, &mut out);
    if let Some(rel) = t.cost {
        out.push(judge(
            Metric::of("cost", "cost_per_hour"),
            &base
                .iter()
                .map(|s| Some(s.cost_per_hour))
                .collect::<Vec<_>>(),
            &cand
                .iter()
                .map(|s| Some(s.cost_per_hour))
                .collect::<Vec<_>>(),
            Limit::Relative(rel),
        ));
    }
    if t.slo_newly_missed {
        let met = |xs: &[Sample]| -> Vec<Option<f64>> {
            xs.iter()
                .map(|s| s.slo_pass.map(|p| f64::from(u8::from(p))))
                .collect()
        };
        if base.iter().chain(cand).any(|s| s.slo_pass.is_some()) {
            out.push(judge(
                Metric::of("slo", "slo_pass"),
                &met(base),
                &met(cand),
                Limit::Absolute(0.0),
            ));
        }
    }
    out
}

/// A metric's name, unit and which way is worse.
struct Metric {
    name: &'static str,
    unit: &'static str,
    worse_up: bool,
}

impl Metric {
    /// The gate's figure `name`, reading catalogue metric `column` (its
    /// unit and direction).
    fn of(name: &'static str, column: &str) -> Metric {
        let m = crate::catalogue::by_column(column);
        Metric::new(
            name,
            m.unit.suffix(),
            m.direction == crate::catalogue::Direction::Lower,
        )
    }

    fn new(name: &'static str, unit: &'static str, worse_up: bool) -> Metric {
        Metric {
            name,
            unit,
            worse_up,
        }
    }
}

/// How far worse a metric may go.
#[derive(Clone, Copy)]
enum Limit {
    /// A fraction of the baseline's mean.
    Relative(f64),
    /// An amount in the metric's units.
    Absolute(f64),
}

fn judge(m: Metric, base: &[Option<f64>], cand: &[Option<f64>], limit: Limit) -> Finding {
    let sign = if m.worse_up { "+" } else { "-" };
    let threshold = match limit {
        Limit::Absolute(0.0) => "any".to_string(),
        Limit::Relative(r) => format!("{sign}{}%", crate::format::short(r * 100.0)),
        Limit::Absolute(a) if m.unit == "%" => {
            format!("{sign}{} pt", crate::format::short(a * 100.0))
        }
        Limit::Absolute(a) => format!("{sign}{}", crate::format::short(a)),
    };
    let mut f = Finding {
        metric: m.name,
        unit: m.unit,
        baseline: None,
        candidate: None,
        diff: None,
        low: None,
        high: None,
        seeds: 0,
        threshold,
        verdict: Verdict::NotCompared,
        says: String::new(),
    };
    let Some(p) = Paired::of(base, cand) else {
        f.says = "no seed has a value on both sides".into();
        return f;
    };
    f.baseline = Some(p.mean_a);
    f.candidate = Some(p.mean_a + p.diff);
    f.diff = Some(p.diff);
    f.low = p.low;
    f.high = p.high;
    f.seeds = p.n;
    let allowed = match limit {
        Limit::Relative(r) => r * p.mean_a.abs(),
        Limit::Absolute(a) => a,
    };
    // The difference and its interval in the worse direction.
    let s = if m.worse_up { 1.0 } else { -1.0 };
    let worse = s * p.diff;
    let (lo, hi) = match (p.low, p.high) {
        (Some(l), Some(h)) if m.worse_up => (l, h),
        (Some(l), Some(h)) => (-h, -l),
        _ => {
            (f.verdict, f.says) = if p.diff == 0.0 && p.n >= 2 {
                (Verdict::Pass, "identical on every seed".into())
            } else if worse > allowed {
                (
                    Verdict::TooFewSeeds,
                    format!("{} seed(s): an interval needs at least 2", p.n),
                )
            } else {
                (
                    Verdict::Pass,
                    format!("{} seed(s), within the threshold", p.n),
                )
            };
            return f;
        }
    };
    (f.verdict, f.says) = if lo == 0.0 && hi == 0.0 {
        (Verdict::Pass, "identical on every seed".into())
    } else if lo > allowed {
        (
            Verdict::Regression,
            format!(
                "worse beyond the threshold on {} seeds: the whole 95% interval is past {}",
                p.n, f.threshold
            ),
        )
    } else if hi < 0.0 {
        (
            Verdict::Improved,
            format!("better on {} seeds (95% interval clear of zero)", p.n),
        )
    } else if worse > allowed {
        let half = (hi - lo) / 2.0;
        let sd = half * (p.n as f64).sqrt() / t_n(p.n);
        let need = ((1.96 * sd / (worse - allowed)).powi(2).ceil() as usize).max(p.n + 1);
        (
            Verdict::TooFewSeeds,
            format!(
                "the estimate is past {} but its 95% interval reaches back inside it; about {need} seeds would decide",
                f.threshold
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!("within {} on {} seeds", f.threshold, p.n),
        )
    };
    f
}

/// Jain's index below `floor`, judged on the candidate alone.
fn floor_check(floor: f64, cand: &[Sample]) -> Finding {
    let xs: Vec<f64> = cand.iter().map(|s| s.fairness).collect();
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
    let ci = (n > 0)
        .then(|| sim_core::Bounds::Share.interval(&xs, mean))
        .flatten();
    let (verdict, says) = match ci {
        _ if mean >= floor => (Verdict::Pass, format!("at or above {floor}")),
        Some((_, hi)) if hi < floor => (
            Verdict::Regression,
            format!("below the floor on {n} seeds: the whole 95% interval is under {floor}"),
        ),
        Some(_) => (
            Verdict::TooFewSeeds,
            format!("the mean is under {floor} but its 95% interval reaches above it"),
        ),
        None => (
            Verdict::TooFewSeeds,
            format!(
                "the mean is under {floor}; {n} seed(s) are too few for an interval ({} or more)",
                sim_core::MIN_INTERVAL_SAMPLES
            ),
        ),
    };
    Finding {
        metric: "fairnessFloor",
        unit: "",
        baseline: None,
        candidate: Some(mean),
        diff: None,
        low: ci.map(|c| c.0),
        high: ci.map(|c| c.1),
        seeds: n,
        threshold: format!(">= {floor}"),
        verdict,
        says,
    }
}

/// With sessions: the turns' p99 under the p99 threshold, and the share of
/// sessions abandoned under the error-rate threshold.
fn session_checks(t: &Thresholds, base: &[Sample], cand: &[Sample], out: &mut Vec<Finding>) {
    let turn = |xs: &[Sample]| xs.iter().map(|s| s.turn_p99).collect::<Vec<_>>();
    let abandon = |xs: &[Sample]| xs.iter().map(|s| s.abandon_rate).collect::<Vec<_>>();
    if let Some(rel) = t.p99 {
        if base.iter().chain(cand).any(|s| s.turn_p99.is_some()) {
            out.push(judge(
                Metric::of("turnP99", "turn_latency_p99_s"),
                &turn(base),
                &turn(cand),
                Limit::Relative(rel),
            ));
        }
    }
    if let Some(abs) = t.error_rate {
        if base.iter().chain(cand).any(|s| s.abandon_rate.is_some()) {
            out.push(judge(
                Metric::of("abandonRate", "session_abandon_rate"),
                &abandon(base),
                &abandon(cand),
                Limit::Absolute(abs),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().copied().map(Some).collect()
    }

    fn p99(base: &[f64], cand: &[f64]) -> Finding {
        judge(
            Metric::new("p99", "s", true),
            &some(base),
            &some(cand),
            Limit::Relative(0.10),
        )
    }

    #[test]
    fn identical_runs_pass() {
        assert_eq!(
            p99(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn a_clear_rise_beyond_the_threshold_is_a_regression() {
        // +50% on every seed, give or take a little.
        let f = p99(&[2.0, 2.1, 1.9, 2.0], &[3.0, 3.1, 2.95, 3.05]);
        assert_eq!(f.verdict, Verdict::Regression, "{f:?}");
    }

    #[test]
    fn a_rise_within_the_threshold_passes_however_certain() {
        // +5% on every seed: certain, and allowed.
        let f = p99(&[1.0, 2.0, 3.0, 4.0], &[1.05, 2.1, 3.15, 4.2]);
        assert_eq!(f.verdict, Verdict::Pass, "{f:?}");
    }

    #[test]
    fn a_noisy_rise_past_the_threshold_asks_for_more_seeds() {
        let f = p99(&[2.0, 2.0, 2.0, 2.0], &[1.6, 3.2, 1.9, 3.0]);
        assert_eq!(f.verdict, Verdict::TooFewSeeds, "{f:?}");
        assert!(f.says.contains("seeds would decide"), "{}", f.says);
    }

    #[test]
    fn a_clear_fall_is_an_improvement() {
        let f = p99(&[2.0, 3.0, 4.0], &[1.0, 1.9, 3.05]);
        assert_eq!(f.verdict, Verdict::Improved, "{f:?}");
    }

    #[test]
    fn fairness_regresses_downwards() {
        let f = judge(
            Metric::new("fairness", "", false),
            &some(&[0.99, 0.98, 0.99]),
            &some(&[0.60, 0.62, 0.61]),
            Limit::Absolute(0.05),
        );
        assert_eq!(f.verdict, Verdict::Regression, "{f:?}");
    }

    #[test]
    fn the_floor_judges_the_candidate_alone() {
        let s = |fairness: f64| Sample {
            p50: None,
            p99: None,
            error_rate: 0.0,
            fairness,
            tenant_fairness: None,
            cost_per_hour: 0.0,
            slo_pass: None,
            turn_p99: None,
            abandon_rate: None,
            regime: Regime::Stable,
        };
        let low = [s(0.5), s(0.52), s(0.51)];
        assert_eq!(floor_check(0.8, &low).verdict, Verdict::Regression);
        let straddling = [s(0.7), s(0.95), s(0.7)];
        assert_eq!(floor_check(0.8, &straddling).verdict, Verdict::TooFewSeeds);
        assert_eq!(floor_check(0.4, &low).verdict, Verdict::Pass);
    }
}

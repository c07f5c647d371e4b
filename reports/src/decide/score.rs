//! How the decision matrix scores options: against fixed references, so
//! that the order of two options depends on their own figures alone.
//!
//! Each criterion turns a seed's value into a **goodness** in units that
//! mean the same whatever else is compared ([`Utility`]):
//!
//! - latencies, throughput, costs and Jain's indices: the natural log of
//!   the value (negated when lower is better), so a difference of 0.05
//!   between two options is about 5% on that criterion;
//! - the error rate: the log of the share that succeeded (`ln(1 - e)`),
//!   the same relative units;
//! - SLO met: the share of seeds that met it (1 for all, 0 for none).
//!
//! An option's **score** is the weighted sum, over the scored criteria, of
//! its mean goodness across seeds minus the baseline option's: the
//! baseline scores 0, and +0.10 reads "about 10% better than the baseline
//! on one criterion of weight 1, or its equivalent spread over several".
//! The difference between two options' scores does not involve the
//! baseline, nor any other option, so adding or removing an option never
//! reorders the others, and the best of a set stays the best when options
//! it beats come or go.
//!
//! Two options whose scores differ by less than the margin (`--margin`,
//! [`DEFAULT_MARGIN`]) are **equivalent**, and the verdict says so rather
//! than calling a winner. On one criterion, a difference under the margin
//! reads "equivalent" too. A criterion identical on every seed for every
//! option adds nothing to any difference and is said to be left out.

/// Score differences below this are equivalent (about 3%).
pub const DEFAULT_MARGIN: f64 = 0.03;

/// Values below this are taken as this before a log (a cost of 0, a
/// latency that rounds to 0): a fixed floor, the same for every option.
const LOG_FLOOR: f64 = 1e-9;

/// How a criterion's value becomes goodness (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utility {
    /// `ln x`, for a metric where higher is better.
    LogHigher,
    /// `-ln x`, for a metric where lower is better.
    LogLower,
    /// `ln(1 - x)`: a share of failures, read as the share that succeeded.
    LogSuccess,
    /// `x`: a share of seeds (the SLO met).
    Share,
}

impl Utility {
    /// The goodness of value `x`.
    pub fn goodness(self, x: f64) -> f64 {
        match self {
            Utility::LogHigher => x.max(LOG_FLOOR).ln(),
            Utility::LogLower => -x.max(LOG_FLOOR).ln(),
            Utility::LogSuccess => (1.0 - x).max(LOG_FLOOR).ln(),
            Utility::Share => x,
        }
    }

    /// Whether a goodness difference is a log-ratio (reads as a percentage).
    pub fn is_log(self) -> bool {
        !matches!(self, Utility::Share)
    }
}

/// One option's per-seed values: `values[criterion][seed]`.
pub type Seeds = Vec<Vec<Option<f64>>>;

/// The scoring of a set of options.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Per criterion: counted (weight above 0 and measured by some option).
    pub scored: Vec<bool>,
    /// Per criterion: identical on every seed for every option.
    pub identical: Vec<bool>,
    /// `goodness[option][criterion]`: the mean goodness over the seeds the
    /// option measured (`None` when it measured none).
    pub goodness: Vec<Vec<Option<f64>>>,
    /// Per criterion: the baseline's mean goodness (0 when it has none).
    pub reference: Vec<f64>,
    /// `terms[option][criterion]`: weight times (goodness - reference),
    /// for scored criteria.
    pub terms: Vec<Vec<Option<f64>>>,
    /// Per option: the sum of its terms, `None` when it misses a scored
    /// criterion on every seed.
    pub score: Vec<Option<f64>>,
    /// Options from best to worst: scored ones by score (ties in the order
    /// given), then unscored ones in the order given.
    pub ranking: Vec<usize>,
}

/// Scores `options` (each `values[criterion][seed]`) on criteria with
/// `utilities` and `weights`, relative to option `baseline`.
pub fn score(utilities: &[Utility], weights: &[f64], options: &[Seeds], baseline: usize) -> Scores {
    let nc = utilities.len();
    let goodness: Vec<Vec<Option<f64>>> = options
        .iter()
        .map(|o| {
            (0..nc)
                .map(|c| {
                    let g: Vec<f64> = (o[c].iter().flatten())
                        .map(|&x| utilities[c].goodness(x))
                        .collect();
                    (!g.is_empty()).then(|| g.iter().sum::<f64>() / g.len() as f64)
                })
                .collect()
        })
        .collect();
    let scored: Vec<bool> = (0..nc)
        .map(|c| weights[c] > 0.0 && goodness.iter().any(|g| g[c].is_some()))
        .collect();
    let identical: Vec<bool> = (0..nc)
        .map(|c| {
            let first = options.first().map(|o| &o[c]);
            first.is_some_and(|f| f.iter().all(Option::is_some))
                && options.iter().all(|o| Some(&o[c]) == first)
        })
        .collect();
    let reference: Vec<f64> = (0..nc)
        .map(|c| goodness.get(baseline).and_then(|g| g[c]).unwrap_or(0.0))
        .collect();
    let terms: Vec<Vec<Option<f64>>> = goodness
        .iter()
        .map(|g| {
            (0..nc)
                .map(|c| {
                    (scored[c] && !identical[c])
                        .then(|| g[c].map(|x| weights[c] * (x - reference[c])))
                        .flatten()
                })
                .collect()
        })
        .collect();
    let score: Vec<Option<f64>> = (terms.iter().zip(&goodness))
        .map(|(t, g)| {
            let mut s = 0.0;
            for c in (0..nc).filter(|&c| scored[c] && !identical[c]) {
                g[c]?;
                s += t[c].unwrap_or(0.0);
            }
            Some(s)
        })
        .collect();
    let mut ranking: Vec<usize> = (0..options.len()).collect();
    ranking.sort_by(|&a, &b| match (score[a], score[b]) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.cmp(&b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(&b),
    });
    Scores {
        scored,
        identical,
        goodness,
        reference,
        terms,
        score,
        ranking,
    }
}

impl Scores {
    /// The recommended option.
    pub fn best(&self) -> Option<usize> {
        self.ranking.first().copied()
    }

    /// Whether the criterion counts in the score.
    pub fn counts(&self, c: usize) -> bool {
        self.scored[c] && !self.identical[c]
    }

    /// `a`'s goodness minus `b`'s on criterion `c` (unweighted).
    pub fn lead_on(&self, a: usize, b: usize, c: usize) -> Option<f64> {
        Some(self.goodness[a][c]? - self.goodness[b][c]?)
    }

    /// Whether `b` beats `a` by more than `margin` on every criterion that
    /// counts (and at least one counts): a recommendation `a` with such a
    /// `b` beside it would contradict its evidence.
    pub fn beaten_everywhere(&self, a: usize, b: usize, margin: f64) -> bool {
        let counted: Vec<usize> = (0..self.scored.len()).filter(|&c| self.counts(c)).collect();
        !counted.is_empty()
            && counted
                .iter()
                .all(|&c| self.lead_on(b, a, c).is_some_and(|d| d > margin))
    }

    /// Options whose score is within `margin` of the best's (the best
    /// first).
    pub fn equivalent_to_best(&self, margin: f64) -> Vec<usize> {
        let Some(top) = self.best().and_then(|b| self.score[b]) else {
            return self.best().into_iter().collect();
        };
        (self.ranking.iter().copied())
            .filter(|&o| Some(o) == self.best() || self.score[o].is_some_and(|s| top - s < margin))
            .collect()
    }

    /// Option `o`'s score on each seed (the weighted goodness of that
    /// seed's values minus the reference), `None` on a seed that misses a
    /// criterion that counts.
    pub fn per_seed(&self, utilities: &[Utility], weights: &[f64], o: &Seeds) -> Vec<Option<f64>> {
        let seeds = o.first().map_or(0, Vec::len);
        (0..seeds)
            .map(|k| {
                let mut s = 0.0;
                for c in (0..self.scored.len()).filter(|&c| self.counts(c)) {
                    s += weights[c] * (utilities[c].goodness(o[c][k]?) - self.reference[c]);
                }
                Some(s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded generator (SplitMix64), enough for property loops.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn f(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.f() * n as f64) as usize % n
        }
    }

    const UTILITIES: [Utility; 5] = [
        Utility::LogLower,
        Utility::LogLower,
        Utility::LogSuccess,
        Utility::LogHigher,
        Utility::Share,
    ];

    fn random_option(g: &mut Gen, seeds: usize) -> Seeds {
        UTILITIES
            .iter()
            .map(|u| {
                (0..seeds)
                    .map(|_| {
                        Some(match u {
                            Utility::Share => f64::from(u8::from(g.f() < 0.5)),
                            Utility::LogSuccess if g.f() < 0.3 => 0.0,
                            Utility::LogSuccess => g.f() * 0.2,
                            Utility::LogHigher => 0.3 + 0.7 * g.f(),
                            Utility::LogLower => 0.05 + 10.0 * g.f(),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    fn random_weights(g: &mut Gen) -> Vec<f64> {
        loop {
            let w: Vec<f64> = (0..UTILITIES.len())
                .map(|_| {
                    if g.f() < 0.2 {
                        0.0
                    } else {
                        (g.f() * 4.0).round()
                    }
                })
                .collect();
            if w.iter().any(|&x| x > 0.0) {
                return w;
            }
        }
    }

    fn best_name(opts: &[(usize, Seeds)], w: &[f64], baseline: usize) -> usize {
        let seeds: Vec<Seeds> = opts.iter().map(|o| o.1.clone()).collect();
        let s = score(&UTILITIES, w, &seeds, baseline);
        opts[s.best().unwrap()].0
    }

    #[test]
    fn the_recommendation_survives_adding_or_removing_any_other_option() {
        let mut g = Gen(19);
        for case in 0..400 {
            let seeds = 1 + g.below(6);
            let n = 2 + g.below(7);
            let w = random_weights(&mut g);
            // Options carry a name (their index when made) so the same
            // option is recognised in a smaller or larger set.
            let opts: Vec<(usize, Seeds)> =
                (0..n).map(|i| (i, random_option(&mut g, seeds))).collect();
            let baseline = g.below(n);
            let best = best_name(&opts, &w, baseline);
            for drop in 0..n {
                if opts[drop].0 == best {
                    continue;
                }
                let fewer: Vec<(usize, Seeds)> = (opts.iter().enumerate())
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, o)| o.clone())
                    .collect();
                // The baseline may be the option dropped: any other will do.
                let b = fewer.iter().position(|o| o.0 == baseline).unwrap_or(0);
                assert_eq!(
                    best_name(&fewer, &w, b),
                    best,
                    "case {case}: dropping option {drop} changed the recommendation"
                );
            }
            let mut more = opts.clone();
            more.insert(g.below(n + 1), (n, random_option(&mut g, seeds)));
            let b = more.iter().position(|o| o.0 == baseline).unwrap();
            let with_new = best_name(&more, &w, b);
            assert!(
                with_new == best || with_new == n,
                "case {case}: an added option that is not recommended changed the recommendation"
            );
        }
    }

    #[test]
    fn the_recommendation_is_never_beaten_beyond_the_margin_on_every_criterion() {
        let mut g = Gen(7);
        let mut checked = 0;
        for case in 0..600 {
            let seeds = 2 + g.below(5);
            let n = 2 + g.below(7);
            let w = random_weights(&mut g);
            // Options close to each other, so that "beaten everywhere" and
            // "within the margin" both happen.
            let base = random_option(&mut g, seeds);
            let opts: Vec<Seeds> = (0..n)
                .map(|_| {
                    (base.iter().zip(UTILITIES))
                        .map(|(col, u)| {
                            let f = 1.0 + (g.f() - 0.5) * 0.2;
                            col.iter()
                                .map(|x| {
                                    x.map(|v| match u {
                                        Utility::Share => v,
                                        Utility::LogSuccess => (v * f).min(0.9),
                                        _ => v * f,
                                    })
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let margin = [0.0, 0.01, DEFAULT_MARGIN, 0.1][g.below(4)];
            let s = score(&UTILITIES, &w, &opts, g.below(n));
            let best = s.best().unwrap();
            for o in 0..n {
                assert!(
                    !s.beaten_everywhere(best, o, margin),
                    "case {case}: option {o} beats the recommendation {best} on every criterion"
                );
                checked += 1;
            }
            // The scores are the sums of their terms, and the ranking
            // follows them.
            for w2 in s.ranking.windows(2) {
                assert!(s.score[w2[0]].unwrap() >= s.score[w2[1]].unwrap());
            }
            // Equivalent options are exactly those within the margin.
            for o in s.equivalent_to_best(margin) {
                assert!(s.score[best].unwrap() - s.score[o].unwrap() < margin || o == best);
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn an_option_beaten_on_every_criterion_is_never_recommended() {
        // b is 10% better than a everywhere.
        let a: Seeds = vec![vec![Some(1.0); 3], vec![Some(0.1); 3]];
        let b: Seeds = vec![vec![Some(0.9); 3], vec![Some(0.09); 3]];
        let u = [Utility::LogLower, Utility::LogSuccess];
        let s = score(&u, &[1.0, 1.0], &[a.clone(), b.clone()], 0);
        assert_eq!(s.best(), Some(1));
        // Errors 10% to 9%: the share that succeeded, 90% to 91%, is 1.1% better.
        assert!(s.beaten_everywhere(0, 1, 0.01));
        assert!(!s.beaten_everywhere(0, 1, 0.02));
        assert!((s.terms[1][0].unwrap() - (1.0f64 / 0.9).ln()).abs() < 1e-12);
        assert_eq!(s.score[0], Some(0.0));
        // A criterion identical on every seed for every option counts not.
        let c: Seeds = vec![vec![Some(1.0); 3], vec![Some(0.1); 3]];
        let s = score(&u, &[1.0, 1.0], &[a, c], 0);
        assert_eq!(s.identical, vec![true, true]);
        assert_eq!(s.score, vec![Some(0.0), Some(0.0)]);
        assert_eq!(s.ranking, vec![0, 1]);
    }

    #[test]
    fn an_option_missing_a_criterion_ranks_last() {
        let a: Seeds = vec![vec![None, None]];
        let b: Seeds = vec![vec![Some(9.0), Some(9.0)]];
        let s = score(&[Utility::LogLower], &[1.0], &[a, b], 0);
        assert_eq!(s.score[0], None);
        assert_eq!(s.ranking, vec![1, 0]);
    }
}

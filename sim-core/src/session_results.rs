//! What closed-loop sessions measured ([`SessionResults`]): sessions
//! started, completed, abandoned and still going at the end, their
//! duration, turns per session, and each turn's latency.
//!
//! A session belongs to the measured window when its first turn is sent
//! after the warm-up; its turns are counted with it, whenever they end.

use crate::metrics::{LatencyRecorder, LatencySummary};
use serde::Serialize;

/// Closed-loop sessions over the measured window (`workload.sessions`).
/// `started = completed + abandoned + inProgress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResults {
    /// Sessions whose first turn was sent after the warm-up.
    pub started: u64,
    /// Of those, sessions that sent their last turn and got its answer.
    pub completed: u64,
    /// Sessions their user gave up after `abandonAfterErrors` failed
    /// turns, with turns left unsent.
    pub abandoned: u64,
    /// Sessions still going when the run ended (every session, when
    /// sessions have no `turns`).
    pub in_progress: u64,
    /// Turns the measured sessions sent.
    pub turns: u64,
    /// Of those, turns that did not complete (refused, timed out, failed).
    pub failed_turns: u64,
    /// Turns per ended session (completed or abandoned).
    pub turns_per_session: TurnsSummary,
    /// Ended sessions' duration, seconds: from their first turn sent to
    /// their last answer (or error) received.
    pub duration: LatencySummary,
    /// Completed turns' end-to-end latency, seconds.
    pub turn_latency: LatencySummary,
    /// Duration samples, for pooling across replications.
    #[serde(skip)]
    pub duration_recorder: LatencyRecorder,
    /// Turn latency samples, for pooling.
    #[serde(skip)]
    pub turn_recorder: LatencyRecorder,
    /// Ended sessions by turns sent (index: turns).
    #[serde(skip)]
    pub turns_histogram: Vec<u64>,
}

/// Turns per ended session. All `None` when no session ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnsSummary {
    /// Sessions that ended.
    pub sessions: u64,
    /// Mean turns.
    pub mean: Option<f64>,
    /// Median turns.
    pub p50: Option<u32>,
    /// 90th percentile.
    pub p90: Option<u32>,
    /// Most turns in one session.
    pub max: Option<u32>,
}

impl TurnsSummary {
    /// The summary of a histogram of sessions by turns.
    pub fn of(hist: &[u64]) -> TurnsSummary {
        let n: u64 = hist.iter().sum();
        if n == 0 {
            return TurnsSummary::default();
        }
        let total: u64 = hist.iter().enumerate().map(|(t, c)| t as u64 * c).sum();
        let at = |q: f64| {
            // The smallest count of turns with at least q of the sessions.
            let want = ((q * n as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (t, c) in hist.iter().enumerate() {
                seen += c;
                if seen >= want {
                    return Some(t as u32);
                }
            }
            None
        };
        TurnsSummary {
            sessions: n,
            mean: Some(total as f64 / n as f64),
            p50: at(0.5),
            p90: at(0.9),
            max: hist.iter().rposition(|&c| c > 0).map(|t| t as u32),
        }
    }
}

impl SessionResults {
    /// The results of the counts and samples given.
    pub(crate) fn new(
        counts: [u64; 6],
        duration_recorder: LatencyRecorder,
        turn_recorder: LatencyRecorder,
        turns_histogram: Vec<u64>,
    ) -> SessionResults {
        let [started, completed, abandoned, in_progress, turns, failed_turns] = counts;
        SessionResults {
            started,
            completed,
            abandoned,
            in_progress,
            turns,
            failed_turns,
            turns_per_session: TurnsSummary::of(&turns_histogram),
            duration: duration_recorder.summary(),
            turn_latency: turn_recorder.summary(),
            duration_recorder,
            turn_recorder,
            turns_histogram,
        }
    }

    /// Every replication's sessions together; `None` when no run had
    /// sessions.
    pub fn pool<'a>(runs: impl IntoIterator<Item = &'a SessionResults>) -> Option<SessionResults> {
        let mut runs = runs.into_iter();
        let first = runs.next()?.clone();
        let mut counts = first.counts();
        let (mut d, mut t, mut h) = (
            first.duration_recorder,
            first.turn_recorder,
            first.turns_histogram,
        );
        for r in runs {
            for (c, x) in counts.iter_mut().zip(r.counts()) {
                *c += x;
            }
            d.merge(&r.duration_recorder);
            t.merge(&r.turn_recorder);
            if h.len() < r.turns_histogram.len() {
                h.resize(r.turns_histogram.len(), 0);
            }
            for (a, b) in h.iter_mut().zip(&r.turns_histogram) {
                *a += b;
            }
        }
        Some(SessionResults::new(counts, d, t, h))
    }

    fn counts(&self) -> [u64; 6] {
        [
            self.started,
            self.completed,
            self.abandoned,
            self.in_progress,
            self.turns,
            self.failed_turns,
        ]
    }

    /// Share of ended sessions that their user abandoned (`None` when none
    /// ended).
    pub fn abandon_rate(&self) -> Option<f64> {
        let ended = self.completed + self.abandoned;
        (ended > 0).then(|| self.abandoned as f64 / ended as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::TurnsSummary;

    #[test]
    fn turns_summary_reads_the_histogram() {
        // 2 sessions of 1 turn, 1 of 3, 1 of 10.
        let mut h = vec![0u64; 11];
        h[1] = 2;
        h[3] = 1;
        h[10] = 1;
        let s = TurnsSummary::of(&h);
        assert_eq!(s.sessions, 4);
        assert_eq!(s.mean, Some(15.0 / 4.0));
        assert_eq!(s.p50, Some(1));
        assert_eq!(s.p90, Some(10));
        assert_eq!(s.max, Some(10));
        assert_eq!(TurnsSummary::of(&[0, 0]), TurnsSummary::default());
    }
}

//! Request classes: which class each request is (drawn by share from a
//! stream of its own, or given by a trace row or the user's session), and
//! per-class books for the results. Built only when `workload.classes`
//! has more than one class; otherwise every request is class 0 and
//! nothing is drawn or counted.

use super::requests::Cause;
use crate::metrics::{ClassResult, LatencyRecorder};
use crate::rng::StreamRng;
use crate::scenario::Model;
use rand::Rng;

pub(super) struct Classes {
    /// Cumulative shares.
    cdf: Vec<f64>,
    rng: StreamRng,
    books: Vec<Book>,
}

#[derive(Default)]
struct Book {
    arrivals: u64,
    completed: u64,
    rejected: u64,
    timed_out: u64,
    failed: u64,
    latency: LatencyRecorder,
}

impl Classes {
    pub(super) fn new(model: &Model, rng: StreamRng) -> Option<Classes> {
        (model.workload.classes.len() > 1).then(|| {
            let mut acc = 0.0;
            Classes {
                cdf: model
                    .workload
                    .classes
                    .iter()
                    .map(|k| {
                        acc += k.share;
                        acc
                    })
                    .collect(),
                rng,
                books: model
                    .workload
                    .classes
                    .iter()
                    .map(|_| Book::default())
                    .collect(),
            }
        })
    }

    /// A class drawn by share.
    pub(super) fn draw(&mut self) -> u8 {
        let u: f64 = self.rng.random();
        let last = self.cdf.len() - 1;
        self.cdf.iter().position(|&c| u < c).unwrap_or(last) as u8
    }

    /// A measured request of class `k` arrived.
    pub(super) fn arrived(&mut self, k: u8) {
        self.books[k as usize].arrivals += 1;
    }

    /// A measured request of class `k` ended (after `latency` nanoseconds
    /// when it completed).
    pub(super) fn ended(&mut self, k: u8, cause: Cause, latency: u64) {
        let b = &mut self.books[k as usize];
        match cause {
            Cause::Completed => {
                b.completed += 1;
                b.latency.record(latency);
            }
            Cause::RequestTimeout | Cause::ConnectionTimeout => b.timed_out += 1,
            Cause::RateLimited
            | Cause::OverConnectionLimit
            | Cause::CircuitOpen
            | Cause::NoHealthyInstance => b.rejected += 1,
            Cause::LlmError | Cause::LlmRateLimited | Cause::InstanceDown => b.failed += 1,
        }
    }

    pub(super) fn result(self, model: &Model) -> Vec<ClassResult> {
        self.books
            .into_iter()
            .zip(&model.workload.classes)
            .map(|(b, k)| {
                let ended = b.completed + b.rejected + b.timed_out + b.failed;
                ClassResult {
                    class: k.name.clone(),
                    arrivals: b.arrivals,
                    completed: b.completed,
                    rejected: b.rejected,
                    timed_out: b.timed_out,
                    failed: b.failed,
                    error_rate: if ended > 0 {
                        (ended - b.completed) as f64 / ended as f64
                    } else {
                        0.0
                    },
                    latency: b.latency.summary(),
                    recorder: b.latency,
                }
            })
            .collect()
    }
}

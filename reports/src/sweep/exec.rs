//! Running a sweep's runs in parallel on a rayon pool of `jobs` threads.
//! Each run is one replication of one point's scenario; runs finish in
//! any order and are handed to the caller (which journals them) on the
//! calling thread. Results never depend on `jobs`: a run's result depends
//! only on its scenario and seed, and tables are assembled in run order.

use super::plan::Sweep;
use super::record::RunRecord;
use rayon::prelude::*;
use sim_core::{Engine, RunControl, SimError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Why a sweep stopped before its last run.
#[derive(Debug)]
pub enum Stopped {
    /// A run failed (an internal check) or was cancelled.
    Sim(SimError),
    /// The caller's handler failed (a journal write).
    Handler(std::io::Error),
}

/// Runs `todo` (run indices of `sweep`) on `jobs` threads and hands each
/// finished run to `done`, on this thread. Stops at the first failure,
/// when `control` is cancelled, or when `done` fails; runs already handed
/// over stay handed over.
pub fn execute(
    sweep: &Sweep,
    todo: &[u64],
    jobs: usize,
    keep_series: bool,
    control: &RunControl,
    mut done: impl FnMut(RunRecord) -> std::io::Result<()>,
) -> Result<(), Stopped> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("fleetsim-sweep-{i}"))
        .build()
        .map_err(|e| Stopped::Handler(std::io::Error::other(e)))?;
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Result<RunRecord, SimError>>(jobs.max(1) * 4);
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            pool.install(|| {
                todo.par_iter().for_each_with(tx, |tx, &r| {
                    if stop.load(Ordering::Relaxed) || control.is_cancelled() {
                        return;
                    }
                    let (p, seed) = sweep.locate(r);
                    let result = Engine::new(&sweep.models[p], seed)
                        .run_with(control)
                        .map(|rr| RunRecord::of(r, p, seed, &rr, keep_series));
                    if tx.send(result).is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                });
            });
        });
        let mut first: Option<Stopped> = None;
        for msg in rx {
            if first.is_some() {
                continue;
            }
            let outcome = match msg {
                Ok(rec) => done(rec).map_err(Stopped::Handler),
                Err(e) => Err(Stopped::Sim(e)),
            };
            if let Err(e) = outcome {
                stop.store(true, Ordering::Relaxed);
                first = Some(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None if control.is_cancelled() => Err(Stopped::Sim(SimError::Cancelled)),
            None => Ok(()),
        }
    })
}

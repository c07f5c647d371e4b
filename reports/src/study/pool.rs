//! The one parallel executor: every run that `sweep`, `compare`, `gate`
//! and `plan` make goes through here, on a pool of `--jobs` threads.
//!
//! Results never depend on the number of threads: a run's result depends
//! only on its scenario and seed, [`map`] returns results in input order,
//! and [`stream`] hands runs over in any order to a caller that stores
//! them by run index.

use crate::error::{Error, Result};
use rayon::prelude::*;
use sim_core::{RunControl, SimError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Threads to run on: `requested`, or every core.
pub fn jobs(requested: Option<u64>) -> usize {
    requested
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// A pool of worker threads.
pub struct Pool {
    pool: rayon::ThreadPool,
    jobs: usize,
}

impl Pool {
    /// A pool of `jobs` threads (at least one), named after `what`.
    pub fn new(jobs: usize, what: &'static str) -> Result<Pool> {
        let jobs = jobs.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .thread_name(move |i| format!("fleetsim-{what}-{i}"))
            .build()
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        Ok(Pool { pool, jobs })
    }

    /// Its number of threads.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Runs `f` inside the pool: every [`map`] it makes runs on this
    /// pool's threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Runs `f` on each of `items` inside the pool ([`map`]).
    pub fn map<T: Sync, R: Send, E: Send>(
        &self,
        items: &[T],
        f: impl Fn(&T) -> Result<R, E> + Sync + Send,
    ) -> Result<Vec<R>, E> {
        self.install(|| map(items, f))
    }
}

/// Runs `f` on each of `items` in parallel, on the pool it is called from
/// ([`Pool::install`]; the process-wide pool otherwise), and returns the
/// results in the order of `items`, or the first error in that order.
pub fn map<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync + Send,
) -> Result<Vec<R>, E> {
    // Rayon's own `collect` into a `Result` returns whichever error a
    // thread met first; the lowest failing index is kept instead, and
    // items after it are skipped (their results could not be returned).
    let first_failure = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<R, E>>> = (items.par_iter().enumerate())
        .map(|(i, item)| {
            if i > first_failure.load(Ordering::Relaxed) {
                return None;
            }
            let r = f(item);
            if r.is_err() {
                first_failure.fetch_min(i, Ordering::Relaxed);
            }
            Some(r)
        })
        .collect();
    // A skipped item (`None`) always comes after an error, which returns
    // first.
    results.into_iter().flatten().collect()
}

/// Runs `run` on each of `todo` on `pool` and hands each result to
/// `done`, on this thread, in the order runs finish. Stops at the first
/// failure, when `control` is cancelled, or when `done` fails; what was
/// handed over stays handed over. A cancelled stream ends in
/// [`SimError::Cancelled`].
pub fn stream<R: Send>(
    pool: &Pool,
    todo: &[u64],
    control: &RunControl,
    run: impl Fn(u64) -> Result<R, SimError> + Sync + Send,
    mut done: impl FnMut(R) -> std::io::Result<()>,
) -> Result<()> {
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::sync_channel::<Result<R, SimError>>(pool.jobs * 4);
    std::thread::scope(|s| {
        let (stop, run) = (&stop, &run);
        s.spawn(move || {
            pool.install(|| {
                todo.par_iter().for_each_with(tx, |tx, &r| {
                    if stop.load(Ordering::Relaxed) || control.is_cancelled() {
                        return;
                    }
                    if tx.send(run(r)).is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                });
            });
        });
        let mut first: Option<Error> = None;
        for msg in rx {
            if first.is_some() {
                continue;
            }
            let outcome = match msg {
                Ok(rec) => done(rec).map_err(Error::Io),
                Err(e) => Err(Error::Sim(e)),
            };
            if let Err(e) = outcome {
                stop.store(true, Ordering::Relaxed);
                first = Some(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None if control.is_cancelled() => Err(Error::Sim(SimError::Cancelled)),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_order_of_its_items_on_any_number_of_threads() {
        let items: Vec<u64> = (0..200).collect();
        for jobs in [1, 2, 5] {
            let pool = Pool::new(jobs, "test").unwrap();
            let out = pool.map(&items, |&i| Ok::<_, ()>(i * i)).unwrap();
            assert_eq!(out, items.iter().map(|i| i * i).collect::<Vec<_>>());
        }
    }

    #[test]
    fn map_returns_the_first_error_in_item_order() {
        let pool = Pool::new(3, "test").unwrap();
        let items: Vec<u64> = (0..100).collect();
        // Whichever thread meets an error first, the first in item order
        // wins: 59 and 89 fail too, and the late items fail fast.
        for _ in 0..50 {
            let r = pool.map(&items, |&i| {
                if i % 30 == 29 {
                    if i < 30 {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    Err(i)
                } else {
                    Ok(i)
                }
            });
            assert_eq!(r, Err(29));
        }
    }

    #[test]
    fn stream_hands_over_every_run_once_and_stops_at_a_failure() {
        let pool = Pool::new(2, "test").unwrap();
        let control = RunControl::new();
        let todo: Vec<u64> = (0..50).collect();
        let mut got = Vec::new();
        stream(&pool, &todo, &control, Ok, |r| {
            got.push(r);
            Ok(())
        })
        .unwrap();
        got.sort_unstable();
        assert_eq!(got, todo);

        let r = stream(&pool, &todo, &control, Ok, |r| {
            if r == 7 {
                Err(std::io::Error::other("disk full"))
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(Error::Io(e)) if e.to_string() == "disk full"));
    }

    #[test]
    fn a_cancelled_stream_says_so() {
        let pool = Pool::new(2, "test").unwrap();
        let control = RunControl::new();
        control.cancel();
        let r = stream(&pool, &[1, 2, 3], &control, Ok, |_| Ok(()));
        assert!(matches!(r, Err(Error::Sim(SimError::Cancelled))));
    }
}

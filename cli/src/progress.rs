//! Long runs: an estimate before they start, a progress bar while they run
//! (on a terminal), and Ctrl-C to stop them.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::{Model, RunControl};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};
use std::time::Duration;

/// Events the engine processes per second on one core, as measured on the
/// project's 2-core machine (the engine benchmark scenario runs 1.8M events
/// in about 0.25 s): used only to turn a work estimate into words.
const EVENTS_PER_CORE_SECOND: f64 = 7.0e6;
/// Runs estimated longer than this get a note before they start.
const NOTE_AFTER_SECS: f64 = 10.0;
/// Runs estimated longer than this get a progress bar on a terminal.
const BAR_AFTER_SECS: f64 = 1.0;

static CONTROL: OnceLock<RunControl> = OnceLock::new();
static HANDLER: Once = Once::new();

/// The process's run control, with Ctrl-C wired to cancel it: the first
/// Ctrl-C stops the run at its next check (a run writes nothing; a sweep
/// keeps its finished runs for `--resume`), a second one exits at once.
pub(crate) fn interruptible() -> &'static RunControl {
    let control = CONTROL.get_or_init(RunControl::new);
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if let Some(c) = CONTROL.get() {
                if c.is_cancelled() {
                    std::process::exit(130);
                }
                c.cancel();
            }
        });
    });
    control
}

/// Expected wall-clock seconds for `events`, replications running in
/// parallel on the machine's cores.
pub(crate) fn expected_secs(events: f64, replications: u32) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    events / EVENTS_PER_CORE_SECOND / cores.min(f64::from(replications.max(1)))
}

/// Seconds in words: `42 s`, `9 min`, `2.5 h`.
pub(crate) fn words(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// Runs `f` (which runs `model` under `control`): says first what a long
/// run will cost, and shows progress while it runs when stderr is a
/// terminal and `quiet` is off.
pub(crate) fn watch<T>(
    model: &Model,
    replications: u32,
    control: &RunControl,
    quiet: bool,
    f: impl FnOnce() -> T,
) -> T {
    let mut work = model.work_estimate();
    let scale = f64::from(replications) / f64::from(model.run.replications.max(1));
    work.events *= scale;
    work.requests *= scale;
    let secs = expected_secs(work.events, replications);
    if !quiet && secs > NOTE_AFTER_SECS {
        eprintln!(
            "note: this run simulates about {:.2e} requests ({:.2e} events), roughly {}; Ctrl-C stops it",
            work.requests,
            work.events,
            words(secs)
        );
    }
    if quiet || secs <= BAR_AFTER_SECS || !std::io::stderr().is_terminal() {
        return f();
    }
    let total = model.run.duration.0.saturating_mul(u64::from(replications));
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "simulating [{bar:32}] {percent:>3}%  {elapsed_precise} elapsed, about {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(control.simulated().0);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = f();
        done.store(true, Ordering::Relaxed);
        r
    });
    bar.finish_and_clear();
    result
}

/// Wall-clock now: the CLI is where fleetsim reads the clock (for
/// progress and a sweep's wall time), never the simulation.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Progress of a count of runs: a bar with rate and ETA when stderr is a
/// terminal, a plain line every few seconds when it is not (a CI log),
/// nothing when quiet.
pub(crate) struct Counter {
    what: &'static str,
    total: u64,
    done: u64,
    start_done: u64,
    bar: Option<ProgressBar>,
    plain: bool,
    started: std::time::Instant,
    last_line: std::time::Instant,
}

/// Seconds between plain progress lines.
const LINE_EVERY_SECS: u64 = 10;

impl Counter {
    /// Counts towards `total`, `done` of which are already done.
    pub(crate) fn new(what: &'static str, total: u64, done: u64, quiet: bool) -> Counter {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:32}] {pos}/{len} runs  {per_sec}  about {eta} left",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(what);
            bar.set_position(done);
            bar.reset_eta();
            bar
        });
        let now = now();
        Counter {
            what,
            total,
            done,
            start_done: done,
            bar,
            plain: !quiet && !terminal,
            started: now,
            last_line: now,
        }
    }

    /// One more run done.
    pub(crate) fn inc(&mut self) {
        self.done += 1;
        if let Some(b) = &self.bar {
            b.set_position(self.done);
        } else if self.plain && self.last_line.elapsed() >= Duration::from_secs(LINE_EVERY_SECS) {
            self.last_line = now();
            eprintln!("{}", self.line());
        }
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = (self.done - self.start_done) as f64 / secs.max(1e-9);
        let left = (self.total - self.done.min(self.total)) as f64 / rate.max(1e-9);
        format!(
            "{}: {}/{} runs ({:.0}%), {:.1} runs/s, about {} left",
            self.what,
            self.done,
            self.total,
            100.0 * self.done as f64 / self.total.max(1) as f64,
            rate,
            words(left)
        )
    }

    /// Clears the bar.
    pub(crate) fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

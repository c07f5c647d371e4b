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
/// Ctrl-C stops the run at its next check (and nothing is written), a
/// second one exits at once.
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
fn expected_secs(events: f64, replications: u32) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    events / EVENTS_PER_CORE_SECOND / cores.min(f64::from(replications.max(1)))
}

fn words(secs: f64) -> String {
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
    let scale = f64::from(replications) / f64::from(model.replications.max(1));
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
    let total = model.duration.0.saturating_mul(u64::from(replications));
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

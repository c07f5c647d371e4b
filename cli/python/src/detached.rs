//! Simulating without the GIL, and still stopping on Ctrl-C.
//!
//! The work runs on its own thread while the caller's thread, with the
//! GIL released, waits for it and every tenth of a second asks Python
//! whether a signal arrived: on Ctrl-C the run is cancelled through its
//! [`RunControl`] and `KeyboardInterrupt` is raised once it has stopped.
//! A panic in the work becomes `fleetsim.SimulationError`, never a crash
//! of the interpreter.

use crate::errors::Failure;
use pyo3::{PyErr, Python};
use sim_core::RunControl;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How often the waiting thread looks for a signal.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// Runs `work` with the GIL released; Ctrl-C cancels it.
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&RunControl) -> Result<T, Failure> + Send,
) -> Result<T, PyErr> {
    let control = RunControl::new();
    let (outcome, signal) = py.detach(|| {
        std::thread::scope(|s| {
            let (done, finished) = mpsc::channel::<()>();
            let control = &control;
            let worker = s.spawn(move || {
                let out = work(control);
                let _ = done.send(());
                out
            });
            let mut signal: Option<PyErr> = None;
            loop {
                match finished.recv_timeout(SIGNAL_POLL) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) if signal.is_none() => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            control.cancel();
                            signal = Some(e);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            (worker.join(), signal)
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    match outcome {
        Ok(result) => result.map_err(PyErr::from),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(Failure::Internal(format!(
                "internal error: {what}; this is a fleetsim bug, please report it with the scenario"
            ))
            .into())
        }
    }
}

//! Where results go: standard output that tolerates a closed pipe, output
//! directories checked before any work starts, and files written so that a
//! reader never sees half of one.

use crate::failure::Failure;
use anyhow::anyhow;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Standard output for results. A reader that goes away (`fleetsim run
/// --json | head -1`) ends the output quietly; any other write error (a
/// full disk) is reported.
#[derive(Debug, Default)]
pub(crate) struct Stdout {
    closed: bool,
}

impl Stdout {
    /// Writes `text`; after the reader has gone, does nothing.
    pub(crate) fn emit(&mut self, text: &str) -> Result<(), Failure> {
        if self.closed {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(Failure::Io(
                anyhow!(e).context("cannot write to standard output"),
            )),
        }
    }
}

/// An output directory, created and proven writable before any work runs,
/// so a bad `--out` is a usage error (exit 2) found at once rather than
/// after a long simulation.
#[derive(Debug, Clone)]
pub(crate) struct OutDir {
    dir: PathBuf,
}

impl OutDir {
    /// Creates `dir` if needed and checks that files can be written in it.
    pub(crate) fn prepare(dir: &Path) -> Result<OutDir, Failure> {
        reports::study::prepare_dir(dir)?;
        Ok(OutDir {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes `bytes` to `name` atomically ([`reports::write_atomic`]).
    pub(crate) fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, Failure> {
        reports::write_atomic(&self.dir, name, bytes).map_err(|e| Failure::Io(e.into()))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

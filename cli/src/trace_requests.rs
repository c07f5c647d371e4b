//! `run --trace-requests FILE [--sample N]`: where the trace goes (CSV or
//! Parquet, by the file's extension), written beside its destination
//! under a temporary name and renamed only once the run and the trace are
//! complete, so a failed run leaves no half-written file.

use crate::failure::Failure;
use anyhow::anyhow;
use sim_core::request_trace::{CsvSink, TraceBook, TraceSink};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A trace being written: its destination and the temporary file.
pub(crate) struct TraceTarget {
    path: PathBuf,
    partial: PathBuf,
}

impl TraceTarget {
    /// Checks `path`'s format and opens its temporary file; the book that
    /// writes every `sample`-th request into it.
    pub(crate) fn open(path: &Path, sample: u64) -> Result<(TraceTarget, TraceBook), Failure> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parquet = match ext.as_deref() {
            Some("csv") => false,
            Some("parquet") => true,
            other => {
                return Err(Failure::Input(anyhow!(
                    "--trace-requests {}: {} is not a trace format; allowed: .csv, .parquet",
                    path.display(),
                    other.map_or("no extension".to_string(), |e| format!("`.{e}`"))
                )))
            }
        };
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let partial = path.with_file_name(name);
        let file = File::create(&partial).map_err(|e| {
            Failure::Input(anyhow!(
                "--trace-requests {}: cannot write it: {e}",
                path.display()
            ))
        })?;
        let sink: Box<dyn TraceSink> = if parquet {
            Box::new(reports::ParquetTraceSink::new(file))
        } else {
            Box::new(CsvSink::new(file))
        };
        let target = TraceTarget {
            path: path.to_path_buf(),
            partial,
        };
        Ok((target, TraceBook::new(sink, sample)))
    }

    /// Closes the trace and moves it into place; on error nothing is left.
    pub(crate) fn finish(self, book: &mut TraceBook) -> Result<(), Failure> {
        let done = book
            .finish()
            .and_then(|()| std::fs::rename(&self.partial, &self.path));
        done.map_err(|e| {
            let _ = std::fs::remove_file(&self.partial);
            Failure::Io(anyhow!(
                "--trace-requests {}: writing the trace failed: {e}",
                self.path.display()
            ))
        })
    }

    /// Removes what was written (the run failed).
    pub(crate) fn abandon(self) {
        let _ = std::fs::remove_file(&self.partial);
    }

    /// What the trace holds, and the slowest requests' stories, for stderr.
    pub(crate) fn summary(&self, book: &TraceBook) -> String {
        let which = match book.sample {
            1 => "every request".to_string(),
            n => format!("1 in {n} requests"),
        };
        let mut s = format!(
            "traced {} requests ({which} of replication 0) into {}\n",
            book.rows,
            self.path.display()
        );
        if !book.slowest.is_empty() {
            s.push_str("slowest traced requests:\n");
        }
        for r in &book.slowest {
            s.push_str(&format!(
                "  request {} ({}, {:.3}s): {}\n",
                r.request, r.reason, r.latency_s, r.story
            ));
        }
        s
    }
}

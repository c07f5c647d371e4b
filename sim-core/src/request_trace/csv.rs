//! A trace as CSV: a header of [`TRACE_COLUMNS`], then a row per request,
//! written through a buffer as requests end.

use super::{TraceRow, TraceSink, TRACE_COLUMNS};
use std::io::{self, BufWriter, Write};

/// Writes trace rows as CSV to `W` (a file, through a buffer).
pub struct CsvSink<W: Write + Send> {
    out: BufWriter<W>,
    header: bool,
}

impl<W: Write + Send> CsvSink<W> {
    /// A CSV trace into `out`.
    pub fn new(out: W) -> CsvSink<W> {
        CsvSink {
            out: BufWriter::with_capacity(1 << 16, out),
            header: false,
        }
    }
}

/// `s` as a CSV field: quoted when it holds a comma, quote or line break.
fn field<W: Write>(out: &mut W, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

impl<W: Write + Send> TraceSink for CsvSink<W> {
    fn write(&mut self, r: &TraceRow<'_>) -> io::Result<()> {
        let o = &mut self.out;
        if !self.header {
            self.header = true;
            writeln!(o, "{}", TRACE_COLUMNS.join(","))?;
        }
        write!(o, "{},{:.6},", r.request, r.arrival_s)?;
        field(o, r.class)?;
        write!(
            o,
            ",{},{},{},{},{},{:.6},{:.6},{},",
            r.user, r.tenant, r.measured, r.outcome, r.reason, r.latency_s, r.end_s, r.attempts
        )?;
        if let Some(i) = r.instance {
            write!(o, "{i}")?;
        }
        write!(
            o,
            ",{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{},{},{},{},",
            r.queue_s,
            r.slot_s,
            r.llm_s,
            r.llm_wait_s,
            r.backoff_s,
            r.network_s,
            r.llm_legs,
            r.fallbacks,
            r.http_429s,
            r.cache_hits,
            r.tokens_in,
            r.tokens_out
        )?;
        field(o, r.story)?;
        o.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.header {
            self.header = true;
            writeln!(self.out, "{}", TRACE_COLUMNS.join(","))?;
        }
        self.out.flush()
    }
}

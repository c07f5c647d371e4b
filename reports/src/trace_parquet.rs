//! A request trace as Parquet ([`ParquetTraceSink`]): the columns of
//! [`TRACE_COLUMNS`], written in row groups of at most [`ROW_GROUP`] rows
//! as requests end, so memory holds one row group, never the whole trace.
//! Integers are signed (Int64); the file's key-value metadata holds
//! `formatVersion` and `fleetsimVersion`.

use polars::io::parquet::write::BatchedWriter as ParquetBatched;
use polars::prelude::*;
use sim_core::request_trace::{TraceRow, TraceSink, TRACE_COLUMNS};
use std::io::{self, Write};

/// Rows per Parquet row group (what the sink buffers at most).
pub const ROW_GROUP: usize = 65_536;

/// The rows of one row group, column by column.
#[derive(Default)]
struct Columns {
    request: Vec<i64>,
    arrival_s: Vec<f64>,
    class: Vec<String>,
    user: Vec<i64>,
    tenant: Vec<i64>,
    measured: Vec<bool>,
    outcome: Vec<&'static str>,
    reason: Vec<&'static str>,
    latency_s: Vec<f64>,
    end_s: Vec<f64>,
    attempts: Vec<i64>,
    instance: Vec<Option<i64>>,
    secs: [Vec<f64>; 7],
    counts: [Vec<i64>; 4],
    tokens_in: Vec<i64>,
    tokens_out: Vec<i64>,
    story: Vec<String>,
}

impl Columns {
    fn push(&mut self, r: &TraceRow<'_>) {
        self.request.push(r.request as i64);
        self.arrival_s.push(r.arrival_s);
        self.class.push(r.class.to_string());
        self.user.push(i64::from(r.user));
        self.tenant.push(i64::from(r.tenant));
        self.measured.push(r.measured);
        self.outcome.push(r.outcome);
        self.reason.push(r.reason);
        self.latency_s.push(r.latency_s);
        self.end_s.push(r.end_s);
        self.attempts.push(i64::from(r.attempts));
        self.instance.push(r.instance.map(i64::from));
        let secs = [
            r.queue_s,
            r.slot_s,
            r.llm_s,
            r.llm_wait_s,
            r.backoff_s,
            r.network_s,
        ];
        for (c, v) in self.secs.iter_mut().zip(secs) {
            c.push(v);
        }
        let counts = [r.llm_legs, r.fallbacks, r.http_429s, r.cache_hits];
        for (c, v) in self.counts.iter_mut().zip(counts) {
            c.push(i64::from(v));
        }
        self.tokens_in.push(r.tokens_in as i64);
        self.tokens_out.push(r.tokens_out as i64);
        self.story.push(r.story.to_string());
    }

    fn len(&self) -> usize {
        self.request.len()
    }

    /// The buffered rows as a frame, leaving the buffers empty.
    fn take(&mut self) -> PolarsResult<DataFrame> {
        let c = std::mem::take(self);
        let n = TRACE_COLUMNS;
        let [queue, slot, llm, wait, backoff, network, _] = c.secs;
        let [legs, fallbacks, r429, cache] = c.counts;
        let columns = vec![
            Column::new(n[0].into(), c.request),
            Column::new(n[1].into(), c.arrival_s),
            Column::new(n[2].into(), c.class),
            Column::new(n[3].into(), c.user),
            Column::new(n[4].into(), c.tenant),
            Column::new(n[5].into(), c.measured),
            Column::new(n[6].into(), c.outcome),
            Column::new(n[7].into(), c.reason),
            Column::new(n[8].into(), c.latency_s),
            Column::new(n[9].into(), c.end_s),
            Column::new(n[10].into(), c.attempts),
            Column::new(n[11].into(), c.instance),
            Column::new(n[12].into(), queue),
            Column::new(n[13].into(), slot),
            Column::new(n[14].into(), llm),
            Column::new(n[15].into(), wait),
            Column::new(n[16].into(), backoff),
            Column::new(n[17].into(), network),
            Column::new(n[18].into(), legs),
            Column::new(n[19].into(), fallbacks),
            Column::new(n[20].into(), r429),
            Column::new(n[21].into(), cache),
            Column::new(n[22].into(), c.tokens_in),
            Column::new(n[23].into(), c.tokens_out),
            Column::new(n[24].into(), c.story),
        ];
        let height = columns[0].len();
        DataFrame::new(height, columns)
    }
}

/// Writes trace rows as Parquet to `W`, a row group at a time.
pub struct ParquetTraceSink<W: Write + Send> {
    out: Option<W>,
    writer: Option<ParquetBatched<W>>,
    rows: Columns,
}

impl<W: Write + Send> ParquetTraceSink<W> {
    /// A Parquet trace into `out`.
    pub fn new(out: W) -> ParquetTraceSink<W> {
        ParquetTraceSink {
            out: Some(out),
            writer: None,
            rows: Columns::default(),
        }
    }

    /// Writes the buffered rows as a row group.
    fn flush_group(&mut self) -> io::Result<()> {
        let err = |e: PolarsError| io::Error::other(format!("writing Parquet: {e}"));
        let df = self.rows.take().map_err(err)?;
        if self.writer.is_none() {
            let out = self.out.take().expect("the output is taken once");
            let meta = crate::contract::parquet_metadata(crate::contract::TRACE)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let w = ParquetWriter::new(out)
                .with_statistics(StatisticsOptions::full())
                .with_key_value_metadata(Some(KeyValueMetadata::from_static(meta)))
                .batched(df.schema())
                .map_err(err)?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().expect("set above");
        if df.height() > 0 {
            w.write_batch(&df).map_err(err)?;
        }
        Ok(())
    }
}

impl<W: Write + Send> TraceSink for ParquetTraceSink<W> {
    fn write(&mut self, row: &TraceRow<'_>) -> io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= ROW_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.rows.len() > 0 || self.writer.is_none() {
            self.flush_group()?;
        }
        if let Some(w) = &mut self.writer {
            w.finish()
                .map_err(|e| io::Error::other(format!("writing Parquet: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn row(n: u64, story: &str) -> TraceRow<'_> {
        TraceRow {
            request: n,
            arrival_s: n as f64 * 0.5,
            class: "chat",
            user: (n % 7) as u32,
            tenant: (n % 2) as u32,
            measured: n > 3,
            outcome: if n.is_multiple_of(5) {
                "failed"
            } else {
                "completed"
            },
            reason: if n.is_multiple_of(5) {
                "llmError"
            } else {
                "completed"
            },
            latency_s: 1.0 + n as f64,
            end_s: 2.0 + n as f64,
            attempts: 1 + (n % 3) as u32,
            instance: (!n.is_multiple_of(4)).then_some((n % 3) as u32),
            queue_s: 0.25,
            slot_s: 0.75,
            llm_s: 0.5,
            llm_wait_s: 0.0,
            backoff_s: 0.0,
            network_s: 0.0,
            llm_legs: 2,
            fallbacks: (n % 2) as u32,
            http_429s: 0,
            cache_hits: 0,
            tokens_in: 10,
            tokens_out: n,
            story,
        }
    }

    /// Rows across more than one row group read back as written, in the
    /// trace's columns.
    #[test]
    fn rows_read_back_across_row_groups() {
        let buf = Shared::default();
        let mut sink = ParquetTraceSink::new(buf.clone());
        let n = ROW_GROUP as u64 + 1000;
        for i in 0..n {
            sink.write(&row(i, "#1 loads[0 1] -> i0, calls: c0 m 0.500s"))
                .unwrap();
            // Never more than a row group buffered.
            assert!(sink.rows.len() < ROW_GROUP);
        }
        sink.finish().unwrap();
        let bytes = buf.0.lock().unwrap().clone();
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
        let kv = reader.get_metadata().unwrap().key_value_metadata.clone();
        let kv: Vec<(String, Option<String>)> = kv
            .unwrap_or_default()
            .into_iter()
            .map(|k| (k.key, k.value))
            .collect();
        assert!(
            kv.contains(&("formatVersion".into(), Some("1".into()))),
            "{kv:?}"
        );
        assert!(kv.contains(&("fleetsimVersion".into(), Some(sim_core::VERSION.into()))));
        let df = reader.finish().unwrap();
        assert_eq!(df.height() as u64, n);
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, TRACE_COLUMNS);
        let req = df.column("request").unwrap().i64().unwrap();
        assert_eq!(req.get(ROW_GROUP + 5), Some(ROW_GROUP as i64 + 5));
        let inst = df.column("instance").unwrap().i64().unwrap();
        assert_eq!(inst.get(4), None);
        assert_eq!(inst.get(5), Some(2));
        let reason = df.column("reason").unwrap().str().unwrap();
        assert_eq!(reason.get(10), Some("llmError"));
        let story = df.column("story").unwrap().str().unwrap();
        assert!(story.get(0).unwrap().starts_with("#1 loads[0 1]"));
    }

    #[test]
    fn an_empty_trace_is_a_valid_file() {
        let buf = Shared::default();
        let mut sink = ParquetTraceSink::new(buf.clone());
        sink.finish().unwrap();
        let bytes = buf.0.lock().unwrap().clone();
        let df = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert_eq!(df.height(), 0);
        assert_eq!(df.width(), TRACE_COLUMNS.len());
    }
}

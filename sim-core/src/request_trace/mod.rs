//! Per-request traces: one row per sampled request, following it from its
//! arrival through each attempt (the instance picked and the loads the
//! balancer compared, its queue wait and slot time, each LLM leg with its
//! model, tokens, 429s, fallbacks and cache hits) to its outcome, with the
//! latency broken down.
//!
//! [`TraceRecorder`] is an [`Observer`]: an engine built with it is told
//! what happens to each request ([`Observed`]); an engine without one
//! ([`crate::NoObserver`]) is compiled without a single check, so a run
//! that does not trace pays nothing. The recorder keeps one entry per
//! request in flight (indexed by the engine's request slab, whose entries
//! are reused), so its memory is bounded by what is in flight, never by
//! simulated time; each row is handed to a [`TraceSink`] as its request
//! ends ([`CsvSink`] here; the CLI adds Parquet).
//!
//! Sampling is deterministic: with `sample = n`, the 1st, (n+1)-th,
//! (2n+1)-th... request to arrive is traced (arrival order, warm-up
//! included), whatever the thread count.

mod csv;
mod story;

pub use self::csv::CsvSink;

use crate::engine::{Observed, Observer};
use crate::scenario::Model;
use std::io;
use story::Live;
use strategies::Nanos;

/// The columns of a trace, in order (the CSV header and the Parquet
/// schema): see [`TraceRow`] for each.
pub const TRACE_COLUMNS: [&str; 25] = [
    "request",
    "arrival_s",
    "class",
    "user",
    "tenant",
    "measured",
    "outcome",
    "reason",
    "latency_s",
    "end_s",
    "attempts",
    "instance",
    "queue_s",
    "slot_s",
    "llm_s",
    "llm_wait_s",
    "backoff_s",
    "network_s",
    "llm_legs",
    "fallbacks",
    "http_429s",
    "cache_hits",
    "tokens_in",
    "tokens_out",
    "story",
];

/// One traced request, as it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow<'a> {
    /// Its number in arrival order (0 for the run's first request).
    pub request: u64,
    /// When it arrived, simulated seconds.
    pub arrival_s: f64,
    /// Its class's name (empty without classes).
    pub class: &'a str,
    /// Its user (0 without a user model).
    pub user: u32,
    /// Its user's tenant.
    pub tenant: u32,
    /// Whether it arrived after the warm-up (and counts in the results).
    pub measured: bool,
    /// `completed`, `rejected`, `timedOut` or `failed`.
    pub outcome: &'static str,
    /// `completed` or the reason's key as in the results
    /// (`requestTimeout`, `llmError`, ...).
    pub reason: &'static str,
    /// End-to-end seconds: a completed request's latency (the client's
    /// round trip included), else the time from arrival to its end.
    pub latency_s: f64,
    /// When it ended, simulated seconds.
    pub end_s: f64,
    /// Attempts made (0 when refused at the entry).
    pub attempts: u32,
    /// The instance of its last attempt (`None` when it never got one).
    pub instance: Option<u32>,
    /// Seconds waiting in instances' queues, all attempts.
    pub queue_s: f64,
    /// Seconds in slots (CPU, LLM calls, tool waits), all attempts.
    pub slot_s: f64,
    /// Seconds its LLM legs took (cache hits included), all attempts.
    pub llm_s: f64,
    /// Seconds waiting out 429s' `retry-after`.
    pub llm_wait_s: f64,
    /// Seconds backing off between attempts.
    pub backoff_s: f64,
    /// The client's round trip, for a completed request.
    pub network_s: f64,
    /// LLM legs answered (by a model or the cache).
    pub llm_legs: u32,
    /// Legs that went to a fallback model.
    pub fallbacks: u32,
    /// 429 answers from providers.
    pub http_429s: u32,
    /// Calls answered by the response cache.
    pub cache_hits: u32,
    /// Input tokens, when calls are timed by tokens.
    pub tokens_in: u64,
    /// Output tokens, when calls are timed by tokens.
    pub tokens_out: u64,
    /// The request's story in words, attempt by attempt (see the README's
    /// "Tracing requests").
    pub story: &'a str,
}

/// Where trace rows go, one at a time, as requests end.
pub trait TraceSink: Send {
    /// Writes one row.
    fn write(&mut self, row: &TraceRow<'_>) -> io::Result<()>;
    /// Writes what is buffered and closes the trace.
    fn finish(&mut self) -> io::Result<()>;
}

/// How many of the slowest requests' stories a trace keeps.
pub const SLOWEST_KEPT: usize = 5;

/// A traced request kept among the slowest: its number, outcome, seconds
/// and story.
#[derive(Debug, Clone, PartialEq)]
pub struct Slow {
    /// Its number in arrival order.
    pub request: u64,
    /// `completed` or the reason it did not.
    pub reason: &'static str,
    /// End-to-end seconds ([`TraceRow::latency_s`]).
    pub latency_s: f64,
    /// Its story.
    pub story: String,
}

/// What a trace wrote: the sink, rows written, the slowest stories, and
/// the first write error (after which nothing more is written).
pub struct TraceBook {
    sink: Box<dyn TraceSink>,
    /// Trace every `sample`-th request.
    pub sample: u64,
    /// Rows written.
    pub rows: u64,
    /// The slowest traced requests, slowest first.
    pub slowest: Vec<Slow>,
    /// The first error writing a row.
    pub error: Option<io::Error>,
    /// The most request entries the recorder held at once: bounded by the
    /// requests in flight (the engine's slab), not by simulated time.
    pub peak_entries: usize,
}

impl TraceBook {
    /// A trace of every `sample`-th request (at least 1) into `sink`.
    pub fn new(sink: Box<dyn TraceSink>, sample: u64) -> TraceBook {
        TraceBook {
            sink,
            sample: sample.max(1),
            rows: 0,
            slowest: Vec::with_capacity(SLOWEST_KEPT + 1),
            error: None,
            peak_entries: 0,
        }
    }

    /// Closes the sink; the first error of the trace, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.sink.finish()
    }

    fn write(&mut self, row: &TraceRow<'_>) {
        if self.error.is_some() {
            return;
        }
        match self.sink.write(row) {
            Ok(()) => self.rows += 1,
            Err(e) => self.error = Some(e),
        }
        let slower = |s: &Slow| s.latency_s < row.latency_s;
        if self.slowest.len() < SLOWEST_KEPT || self.slowest.iter().any(slower) {
            let at = self
                .slowest
                .iter()
                .position(slower)
                .unwrap_or(self.slowest.len());
            self.slowest.insert(
                at,
                Slow {
                    request: row.request,
                    reason: row.reason,
                    latency_s: row.latency_s,
                    story: row.story.to_string(),
                },
            );
            self.slowest.truncate(SLOWEST_KEPT);
        }
    }
}

/// Records one replication's requests into a [`TraceBook`] (an
/// [`Observer`]; see the module's docs).
pub struct TraceRecorder<'a> {
    model: &'a Model,
    book: &'a mut TraceBook,
    /// Requests that arrived so far.
    arrivals: u64,
    /// Per slab entry: the request in it, if traced.
    live: Vec<Live>,
    /// A request refused at the entry, between its arrival and its end.
    refused: Live,
}

impl<'a> TraceRecorder<'a> {
    /// A recorder of `model`'s requests into `book`.
    pub fn new(model: &'a Model, book: &'a mut TraceBook) -> TraceRecorder<'a> {
        TraceRecorder {
            model,
            book,
            arrivals: 0,
            live: Vec::new(),
            refused: Live::default(),
        }
    }

    fn entry(&mut self, request: u32) -> Option<&mut Live> {
        self.live.get_mut(request as usize).filter(|l| l.traced)
    }

    fn arrived(&mut self, at: Nanos, request: Option<u32>, user: u32, class: u8, measured: bool) {
        let n = self.arrivals;
        self.arrivals += 1;
        let traced = n.is_multiple_of(self.book.sample);
        let tenants = self.model.workload.users.as_ref().map_or(1, |u| u.tenants);
        let entry = match request {
            Some(r) => {
                let r = r as usize;
                if self.live.len() <= r {
                    self.live.resize_with(r + 1, Live::default);
                    self.book.peak_entries = self.live.len();
                }
                &mut self.live[r]
            }
            None => &mut self.refused,
        };
        entry.begin(traced, n, at, user, user % tenants.max(1), class, measured);
    }

    fn ended(&mut self, at: Nanos, request: Option<u32>, reason: &'static str, latency: Nanos) {
        let model = self.model;
        let entry = match request {
            Some(r) => match self.live.get_mut(r as usize) {
                Some(l) => l,
                None => return,
            },
            None => &mut self.refused,
        };
        if !entry.traced {
            return;
        }
        entry.traced = false;
        entry.end(at, reason, latency, model);
        let row = entry.row(at, reason, latency, model);
        self.book.write(&row);
    }
}

impl Observer for TraceRecorder<'_> {
    fn observe(&mut self, at: Nanos, what: Observed<'_>) {
        let model = self.model;
        match what {
            Observed::Arrived {
                request,
                user,
                class,
                measured,
            } => self.arrived(at, request, user, class, measured),
            Observed::Ended {
                request,
                outcome,
                latency,
            } => self.ended(at, request, outcome, latency),
            Observed::Considered { request, loads } => {
                if let Some(l) = self.entry(request) {
                    l.considered(at, loads);
                }
            }
            Observed::Picked { request, instance } => {
                if let Some(l) = self.entry(request) {
                    l.picked(instance);
                }
            }
            Observed::Started { request } => {
                if let Some(l) = self.entry(request) {
                    l.started(at);
                }
            }
            Observed::Answered {
                request,
                call,
                model: m,
                secs,
                tokens,
                fails,
            } => {
                if let Some(l) = self.entry(request) {
                    l.answered(call, m, secs, tokens, fails, model);
                }
            }
            Observed::Limited {
                request,
                model: m,
                wait,
            } => {
                if let Some(l) = self.entry(request) {
                    l.limited(m, wait, model);
                }
            }
            Observed::Unreachable {
                request,
                model: m,
                why,
            } => {
                if let Some(l) = self.entry(request) {
                    l.unreachable(m, why, model);
                }
            }
            Observed::AttemptFailed {
                request,
                cause,
                retry_in,
            } => {
                if let Some(l) = self.entry(request) {
                    l.attempt_failed(at, cause, retry_in);
                }
            }
            _ => {}
        }
    }
}

/// `completed`, `rejected`, `timedOut` or `failed`: the total a reason is
/// counted under.
pub fn outcome_of(reason: &str) -> &'static str {
    match reason {
        "completed" => "completed",
        "rateLimited" | "overConnectionLimit" | "circuitOpen" | "noHealthyInstance" => "rejected",
        "requestTimeout" | "connectionTimeout" => "timedOut",
        _ => "failed",
    }
}

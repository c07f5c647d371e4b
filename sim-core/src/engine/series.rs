//! The time series: every `run.seriesInterval`, one row of what the fleet
//! looks like and what happened over the interval.

use super::fleet::{Integrals, Life};
use super::step::Observer;
use super::{Engine, Event};
use crate::metrics::CoarseHistogram;
use crate::timeline::SeriesRow;
use strategies::Nanos;

/// Counters over all requests (measured or not), read by the series.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeriesCounts {
    pub(super) arrivals: u64,
    pub(super) finished: u64,
    pub(super) errors: u64,
}

/// The series being recorded.
#[derive(Debug)]
pub(super) struct Series {
    pub(super) rows: Vec<SeriesRow>,
    last_counts: SeriesCounts,
    last_totals: Vec<Integrals>,
    /// Latencies of the current interval's completions (a chart's
    /// resolution).
    pub(super) latency: CoarseHistogram,
    /// Outcomes counted since the run began, read at each row.
    pub(super) counts: SeriesCounts,
    /// When the next row is due.
    next_row: Nanos,
    /// Arrivals at exactly `next_row` handled before the row: they belong
    /// to the window that starts there.
    on_edge: u64,
}

impl Series {
    pub(super) fn new(instances: usize) -> Series {
        Series {
            rows: Vec::new(),
            last_counts: SeriesCounts::default(),
            last_totals: vec![Integrals::default(); instances],
            latency: CoarseHistogram::default(),
            counts: SeriesCounts::default(),
            next_row: Nanos::ZERO,
            on_edge: 0,
        }
    }

    /// The first row is due at `t`.
    pub(super) fn first_row_at(&mut self, t: Nanos) {
        self.next_row = t;
    }

    /// A request arrived at `now`. A row counts the arrivals of `[t - i,
    /// t)`: one exactly at a row's time belongs to the next row, whichever
    /// of the two is handled first.
    #[inline(always)]
    pub(super) fn count_arrival(&mut self, now: Nanos) {
        self.counts.arrivals += 1;
        self.on_edge += u64::from(now == self.next_row);
    }
}

impl<O: Observer> Engine<'_, O> {
    fn on_series_tick(&mut self) {
        let now = self.now;
        let interval = self.model.run.series_interval;
        if now + interval <= self.model.run.duration {
            self.events
                .push(now + interval, Event::Series(SeriesEvent::Tick));
        }
        self.series.next_row = now + interval;
        let secs = interval.as_secs_f64();
        let (mut booting, mut ready, mut unhealthy, mut draining) = (0, 0, 0, 0);
        let (mut queued, mut cpu_used, mut cpu_cap, mut mem_used, mut mem_cap) =
            (0u64, 0.0, 0.0, 0.0, 0.0);
        queued += self.scaling.auto.as_ref().map_or(0, |s| s.held_at_entry());
        let series = &mut self.series;
        for (i, inst) in self.instances.iter_mut().enumerate() {
            inst.settle(now);
            match inst.life {
                Life::Absent => {}
                Life::Booting => booting += 1,
                Life::Ready => {
                    ready += 1;
                    unhealthy += u32::from(!inst.routable);
                }
                Life::Draining => draining += 1,
            }
            queued += u64::from(inst.queued);
            let last = series.last_totals[i];
            let t = inst.totals;
            let ready_ns = (t.ready - last.ready) as f64;
            let ty = &self.model.fleet.types[self.model.fleet.instances[i].type_index as usize];
            if let Some(cores) = ty.cores {
                cpu_used += t.cpu - last.cpu;
                cpu_cap += cores * ready_ns;
            }
            if let Some(mem) = ty.memory {
                mem_used +=
                    ty.idle_memory * ready_ns + ty.memory_per_request * (t.busy - last.busy) as f64;
                mem_cap += mem * ready_ns;
            }
            series.last_totals[i] = t;
        }
        // Arrivals on this row's edge wait for the next row.
        let mut c = series.counts;
        c.arrivals -= std::mem::take(&mut series.on_edge);
        let last = series.last_counts;
        series.last_counts = c;
        let finished = c.finished - last.finished;
        let errors = c.errors - last.errors;
        let desired = match &self.scaling.auto {
            Some(s) => s.desired_total(),
            None => booting + ready,
        };
        let cumulative = self.cost.spent(now);
        let budget_remaining = self
            .model
            .budget
            .config
            .as_ref()
            .and_then(|b| b.total)
            .map(|t| t - cumulative);
        let row = SeriesRow {
            time: now.as_secs_f64(),
            booting,
            ready,
            unhealthy,
            draining,
            desired,
            in_flight: self.live,
            queued,
            arrival_rate: (c.arrivals - last.arrivals) as f64 / secs,
            completion_rate: (finished - errors) as f64 / secs,
            error_rate: if finished == 0 {
                0.0
            } else {
                errors as f64 / finished as f64
            },
            p50: series.latency.quantile_secs(0.5),
            p99: series.latency.quantile_secs(0.99),
            cpu_utilization: (cpu_cap > 0.0).then(|| cpu_used / cpu_cap),
            memory_utilization: (mem_cap > 0.0).then(|| mem_used / mem_cap),
            cost_per_hour: self.cost.rate_per_hour,
            cumulative_cost: cumulative,
            budget_remaining,
        };
        series.rows.push(row);
        series.latency.reset();
    }
}

/// The series' event.
#[derive(Debug, Clone, Copy)]
pub(super) enum SeriesEvent {
    /// A row of the time series is due.
    Tick,
}

impl<O: Observer> Engine<'_, O> {
    /// Handles a series event.
    pub(super) fn handle_series(&mut self, ev: SeriesEvent) {
        match ev {
            SeriesEvent::Tick => self.on_series_tick(),
        }
    }
}

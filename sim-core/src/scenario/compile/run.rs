//! `name`, `currency` and `run`.

use super::Checker;
use crate::scenario::Scenario;
use strategies::Nanos;

/// Most replications one scenario may ask for.
const MAX_REPLICATIONS: u32 = 10_000;
/// Rows the default series interval aims to stay under.
const DEFAULT_SERIES_ROWS: u64 = 20_000;
/// Most rows of a time series.
const MAX_SERIES_ROWS: u64 = 1_000_000;
/// Most rows of the time series over all replications of a run (a row is
/// about 150 bytes, and every replication's are held until the end).
pub const MAX_SERIES_ROWS_TOTAL: u64 = 4_000_000;

pub(super) struct RunPart {
    pub(super) currency: String,
    pub(super) duration: Nanos,
    pub(super) warmup: Nanos,
    pub(super) series_interval: Nanos,
}

impl Scenario {
    pub(super) fn compile_run(&self, c: &mut Checker) -> RunPart {
        if self.name.trim().is_empty() {
            c.fail("name", "must not be empty");
        }
        let currency = self.currency.clone().unwrap_or_else(|| "USD".into());
        if currency.is_empty()
            || currency.len() > 8
            || !currency.chars().all(|ch| ch.is_ascii_alphabetic())
        {
            c.fail(
                "currency",
                format!(
                    "must be a currency code of letters, e.g. USD or EUR, found \"{currency}\""
                ),
            );
        }
        let duration = self.run.duration.nanos();
        let warmup = self.run.warmup.nanos();
        if duration == Nanos::ZERO {
            c.fail("run.duration", "must be longer than 0s");
        }
        if warmup >= duration && duration > Nanos::ZERO {
            c.fail(
                "run.warmup",
                format!("must be shorter than run.duration ({})", self.run.duration),
            );
        }
        if self.run.replications == 0 || self.run.replications > MAX_REPLICATIONS {
            c.fail(
                "run.replications",
                format!(
                    "must be from 1 to {MAX_REPLICATIONS}, found {}",
                    self.run.replications
                ),
            );
        }
        let series_interval = match self.run.series_interval {
            Some(d) if d.nanos() == Nanos::ZERO => {
                c.fail("run.seriesInterval", "must be longer than 0s");
                Nanos::from_secs(10)
            }
            Some(d) => {
                let rows = duration.0 / d.nanos().0.max(1);
                let reps = u64::from(self.run.replications.max(1));
                if rows <= MAX_SERIES_ROWS && rows.saturating_mul(reps) > MAX_SERIES_ROWS_TOTAL {
                    let total = MAX_SERIES_ROWS_TOTAL / reps;
                    c.fail(
                        "run.seriesInterval",
                        format!(
                            "gives {rows} rows over run.duration in each of {reps} replications; \
                             at most {MAX_SERIES_ROWS_TOTAL} rows in all are kept: use at least {} \
                             or fewer run.replications",
                            strategies::DurationStr(Nanos(duration.0.div_ceil(total.max(1))))
                        ),
                    );
                }
                if rows > MAX_SERIES_ROWS {
                    c.fail(
                        "run.seriesInterval",
                        format!(
                            "gives {rows} rows over run.duration; at most {MAX_SERIES_ROWS}: use at least {}",
                            strategies::DurationStr(Nanos(duration.0.div_ceil(MAX_SERIES_ROWS)))
                        ),
                    );
                }
                d.nanos()
            }
            None => default_series_interval(duration, self.run.replications),
        };
        RunPart {
            currency,
            duration,
            warmup,
            series_interval,
        }
    }
}

/// The series interval a run gets when it names none: 10s, or whole
/// seconds enough to keep under 20,000 rows per replication and
/// [`MAX_SERIES_ROWS_TOTAL`] in all.
pub(crate) fn default_series_interval(duration: Nanos, replications: u32) -> Nanos {
    let per_run = (duration.as_secs_f64() / DEFAULT_SERIES_ROWS as f64).ceil() as u64;
    let reps = f64::from(replications.max(1));
    let in_all = (duration.as_secs_f64() * reps / MAX_SERIES_ROWS_TOTAL as f64).ceil() as u64;
    Nanos::from_secs(per_run.max(in_all).max(10))
}

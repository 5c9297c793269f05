//! "Now" comes from one place (invariant 10): the invocation's start, read once or pinned
//! by `--now`, plus the time elapsed since, so durations stay real while tests pin the date.

use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_utc: DateTime<Utc>,
    started: Instant,
    timezone: Tz,
}

impl Clock {
    pub fn new(start_utc: DateTime<Utc>, timezone: Tz) -> Clock {
        Clock {
            start_utc,
            started: Instant::now(),
            timezone,
        }
    }

    /// When the invocation started.
    pub fn start_utc(&self) -> DateTime<Utc> {
        self.start_utc
    }

    pub fn start_local(&self) -> NaiveDateTime {
        self.start_utc.with_timezone(&self.timezone).naive_local()
    }

    pub fn now_utc(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.start_utc + elapsed
    }

    /// Store-local wall time now.
    pub fn now_local(&self) -> NaiveDateTime {
        self.now_utc().with_timezone(&self.timezone).naive_local()
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }
}

//! Where finepay reads the time. Every row the platform writes is stamped with its [`Db`]'s clock,
//! and every rule that counts time (late fees, when a charge left in doubt is asked about or given
//! up, when a failed notice is tried again) reads the same clock: the system's in production, a
//! simulator's in tests, which moves it on by hand.
//!
//! [`Db`]: crate::Db

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;

/// A source of the current time; cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock(Arc::new(Utc::now))
    }

    /// A clock that reads `now` (a simulator's).
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    /// Now, to the millisecond the store keeps (so a row built with it equals the row read back).
    pub fn now(&self) -> DateTime<Utc> {
        let now = (self.0)();
        crate::parse_time(&crate::time_text(now)).unwrap_or(now)
    }

    /// Now as the store writes times (RFC 3339 UTC, milliseconds).
    pub fn now_text(&self) -> String {
        crate::time_text((self.0)())
    }

    /// Today's date where the authorities are (Asia/Shanghai): the date every deadline is counted in.
    pub fn today_in_china(&self) -> NaiveDate {
        (self.0)()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now_text())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_is_read_to_the_millisecond_and_dated_in_china() {
        let at: DateTime<Utc> = "2026-03-31T16:30:00.123456Z".parse().unwrap();
        let clock = Clock::from_fn(move || at);
        assert_eq!(clock.now_text(), "2026-03-31T16:30:00.123Z");
        assert_eq!(clock.now().timestamp_subsec_micros(), 123_000);
        // 16:30 UTC is 00:30 the next day in Beijing.
        assert_eq!(clock.today_in_china(), "2026-04-01".parse().unwrap());
    }
}

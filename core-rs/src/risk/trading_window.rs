//! When opening orders may be sent: a daily window in exchange time (which may run over
//! midnight, e.g. 17:00 -> 15:10 Chicago, TopStepX's trading day), the weekdays that are
//! trading dates, and blocked dates.
//!
//! The trading date of an instant is its local date, plus one day when the window runs over
//! midnight and the instant is at or after the window's start (so Sunday 18:00 trades Monday's
//! date, as CME and TopStepX count it). Blocked dates and trading weekdays refer to that date.

use crate::sessions::{iso_weekday, UtcOffsets, NANOS_PER_DAY, NANOS_PER_MINUTE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCheck {
    Open,
    OutsideHours,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingWindow {
    tz: UtcOffsets,
    start: i64,
    end: i64,
    /// Bit `d`: ISO weekday `d` is a trading date.
    weekdays: u8,
    /// Days since the epoch, sorted.
    blocked: Vec<i64>,
}

impl TradingWindow {
    /// `start_minute` / `end_minute` of the day in local time (equal means all day).
    pub fn new(
        tz: UtcOffsets,
        start_minute: u32,
        end_minute: u32,
        weekdays: &[u32],
        blocked_dates: &[i64],
    ) -> Option<Self> {
        if start_minute >= 1440
            || end_minute >= 1440
            || weekdays.iter().any(|d| !(1..=7).contains(d))
        {
            return None;
        }
        let mut blocked = blocked_dates.to_vec();
        blocked.sort_unstable();
        blocked.dedup();
        Some(Self {
            tz,
            start: i64::from(start_minute) * NANOS_PER_MINUTE,
            end: i64::from(end_minute) * NANOS_PER_MINUTE,
            weekdays: weekdays.iter().fold(0, |m, &d| m | 1 << d),
            blocked,
        })
    }

    /// Always open, every day (no hours configured).
    pub fn always() -> Self {
        Self::new(UtcOffsets::fixed(0), 0, 0, &[1, 2, 3, 4, 5, 6, 7], &[]).expect("valid constants")
    }

    /// `(trading date, within the daily hours)` at a UTC instant.
    #[inline]
    pub fn locate(&self, utc_ns: i64) -> (i64, bool) {
        let local = utc_ns.saturating_add(self.tz.offset_at(utc_ns));
        let day = local.div_euclid(NANOS_PER_DAY);
        let tod = local - day * NANOS_PER_DAY;
        if self.start == self.end {
            return (day, true);
        }
        if self.end < self.start {
            // Over midnight.
            if tod >= self.start {
                (day + 1, true)
            } else {
                (day, tod < self.end)
            }
        } else {
            (day, self.start <= tod && tod < self.end)
        }
    }

    #[inline]
    pub fn check(&self, utc_ns: i64) -> WindowCheck {
        let (date, in_hours) = self.locate(utc_ns);
        if self.blocked.binary_search(&date).is_ok() {
            WindowCheck::Blocked
        } else if !in_hours || self.weekdays & (1 << iso_weekday(date)) == 0 {
            WindowCheck::OutsideHours
        } else {
            WindowCheck::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY: i64 = 19_723; // 2024-01-01

    fn at(day: i64, hour: i64, minute: i64) -> i64 {
        day * NANOS_PER_DAY + hour * 3600 * 1_000_000_000 + minute * NANOS_PER_MINUTE
    }

    #[test]
    fn over_midnight_window_and_blocked_dates() {
        let w = TradingWindow::new(
            UtcOffsets::fixed(0),
            17 * 60,
            15 * 60 + 10,
            &[1, 2, 3, 4, 5],
            &[MONDAY + 2],
        )
        .unwrap();
        assert_eq!(w.check(at(MONDAY - 1, 18, 0)), WindowCheck::Open); // Sunday evening -> Monday
        assert_eq!(w.check(at(MONDAY, 15, 9)), WindowCheck::Open);
        assert_eq!(w.check(at(MONDAY, 15, 10)), WindowCheck::OutsideHours);
        assert_eq!(w.check(at(MONDAY, 16, 59)), WindowCheck::OutsideHours);
        assert_eq!(w.check(at(MONDAY + 1, 17, 0)), WindowCheck::Blocked); // Wednesday's date
        assert_eq!(w.check(at(MONDAY + 4, 17, 0)), WindowCheck::OutsideHours); // Saturday's date
        assert_eq!(w.check(at(MONDAY + 5, 12, 0)), WindowCheck::OutsideHours);
    }
}

//! An instrument's trading sessions in exchange time: the electronic session (ETH, which for CME
//! runs over midnight, 17:00 -> 16:00 Chicago, the gap being the daily maintenance halt) and the
//! regular session (RTH, e.g. 08:30 -> 15:00).
//!
//! A session that runs over midnight belongs to the trading date on which it closes (CME's
//! convention: Sunday evening's trades are Monday's). `trading_days` names the ISO weekdays on
//! which the ETH session *opens* (CME: Sunday..Thursday, "71234"); a session of either kind
//! counts only if its trading date is one of the trading dates those openings produce, so
//! weekends have no session. Exchange holidays are not modelled (no trades arrive, so no bars
//! form, and the exchange refuses orders).

use std::fmt;

use super::{iso_weekday, UtcOffsets, NANOS_PER_DAY, NANOS_PER_MINUTE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// The electronic (Globex) session.
    Eth,
    /// The regular (pit) session.
    Rth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// A time of day outside 0..1440 minutes.
    InvalidTimeOfDay,
    /// A session that opens and closes at the same time.
    EmptySession,
    /// No trading day, or a weekday outside 1..=7.
    InvalidTradingDays,
    /// An offsets table that is not sorted or has an offset beyond one day.
    InvalidOffsets,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidTimeOfDay => "a session time must be a minute of the day (0..1440)",
            Self::EmptySession => "a session cannot open and close at the same time",
            Self::InvalidTradingDays => "trading days must be ISO weekdays 1..7, at least one",
            Self::InvalidOffsets => "UTC offset transitions must be increasing and within a day",
        })
    }
}

impl std::error::Error for SessionError {}

/// Opening and closing minute of the day, local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hours {
    open: i64,
    close: i64,
}

impl Hours {
    fn new(open_minute: u32, close_minute: u32) -> Result<Self, SessionError> {
        if open_minute >= 1440 || close_minute >= 1440 {
            return Err(SessionError::InvalidTimeOfDay);
        }
        if open_minute == close_minute {
            return Err(SessionError::EmptySession);
        }
        Ok(Self {
            open: open_minute as i64 * NANOS_PER_MINUTE,
            close: close_minute as i64 * NANOS_PER_MINUTE,
        })
    }

    fn wraps(self) -> bool {
        self.close < self.open
    }
}

/// The session a timestamp falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSlot {
    /// The trading date, in days since 1970-01-01.
    pub trading_date: i64,
    /// Session open and close, local time in ns since the epoch.
    pub open_local: i64,
    pub close_local: i64,
    /// The UTC offset in force at the timestamp, in ns (local = utc + offset).
    pub offset: i64,
}

impl SessionSlot {
    /// Session open as a UTC instant (ns).
    pub fn open_utc(&self) -> i64 {
        self.open_local - self.offset
    }

    /// Session close as a UTC instant (ns).
    pub fn close_utc(&self) -> i64 {
        self.close_local - self.offset
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCalendar {
    tz: UtcOffsets,
    eth: Hours,
    rth: Hours,
    /// Bit `d` set: ISO weekday `d` is a trading date.
    trading_dates: u8,
}

impl SessionCalendar {
    /// Times are minutes of the day in exchange time; `trading_days` are the ISO weekdays on
    /// which ETH opens.
    pub fn new(
        tz: UtcOffsets,
        eth: (u32, u32),
        rth: (u32, u32),
        trading_days: &[u32],
    ) -> Result<Self, SessionError> {
        let eth = Hours::new(eth.0, eth.1)?;
        let rth = Hours::new(rth.0, rth.1)?;
        if trading_days.is_empty() || trading_days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(SessionError::InvalidTradingDays);
        }
        let shift = u32::from(eth.wraps());
        let trading_dates = trading_days
            .iter()
            .fold(0u8, |mask, &d| mask | 1 << ((d - 1 + shift) % 7 + 1));
        Ok(Self {
            tz,
            eth,
            rth,
            trading_dates,
        })
    }

    /// CME's Globex calendar in a fixed-offset zone: ETH 17:00 -> 16:00 opening Sunday to
    /// Thursday, RTH 08:30 -> 15:00. For tests and benches.
    pub fn cme_fixed(offset_seconds: i64) -> Self {
        Self::new(
            UtcOffsets::fixed(offset_seconds),
            (17 * 60, 16 * 60),
            (8 * 60 + 30, 15 * 60),
            &[7, 1, 2, 3, 4],
        )
        .expect("valid constants")
    }

    pub fn offsets(&self) -> &UtcOffsets {
        &self.tz
    }

    /// Whether `day` (days since the epoch) is a trading date.
    #[inline]
    pub fn is_trading_date(&self, day: i64) -> bool {
        self.trading_dates & (1 << iso_weekday(day)) != 0
    }

    /// The session of `kind` that `utc_ns` falls in, or `None` outside it (halt, weekend).
    #[inline]
    pub fn locate(&self, utc_ns: i64, kind: SessionKind) -> Option<SessionSlot> {
        let hours = match kind {
            SessionKind::Eth => self.eth,
            SessionKind::Rth => self.rth,
        };
        let offset = self.tz.offset_at(utc_ns);
        let local = utc_ns.checked_add(offset)?;
        let day = local.div_euclid(NANOS_PER_DAY);
        let tod = local - day * NANOS_PER_DAY;
        let opening_day = if hours.wraps() {
            if tod >= hours.open {
                day
            } else if tod < hours.close {
                day - 1
            } else {
                return None;
            }
        } else if hours.open <= tod && tod < hours.close {
            day
        } else {
            return None;
        };
        let open_local = opening_day * NANOS_PER_DAY + hours.open;
        let close_day = opening_day + i64::from(hours.wraps());
        let close_local = close_day * NANOS_PER_DAY + hours.close;
        if !self.is_trading_date(close_day) {
            return None;
        }
        Some(SessionSlot {
            trading_date: close_day,
            open_local,
            close_local,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::NANOS_PER_SECOND;

    const H: i64 = 3600 * NANOS_PER_SECOND;
    // 2024-01-01 was a Monday: day 19723.
    const MONDAY: i64 = 19_723;

    fn chicago_winter() -> SessionCalendar {
        SessionCalendar::cme_fixed(-6 * 3600)
    }

    fn utc(day: i64, local_hour: f64) -> i64 {
        day * NANOS_PER_DAY + (local_hour * H as f64) as i64 + 6 * H
    }

    #[test]
    fn eth_runs_over_midnight_and_belongs_to_the_closing_date() {
        let cal = chicago_winter();
        assert_eq!(iso_weekday(MONDAY), 1);
        // Sunday 17:00 CT opens Monday's session.
        let slot = cal.locate(utc(MONDAY - 1, 17.0), SessionKind::Eth).unwrap();
        assert_eq!(slot.trading_date, MONDAY);
        assert_eq!(slot.open_utc(), utc(MONDAY - 1, 17.0));
        assert_eq!(slot.close_utc(), utc(MONDAY, 16.0));
        // Monday 10:00 is still Monday's session; 16:30 is the halt; 17:00 opens Tuesday's.
        assert_eq!(
            cal.locate(utc(MONDAY, 10.0), SessionKind::Eth)
                .unwrap()
                .trading_date,
            MONDAY
        );
        assert!(cal.locate(utc(MONDAY, 16.5), SessionKind::Eth).is_none());
        assert_eq!(
            cal.locate(utc(MONDAY, 17.0), SessionKind::Eth)
                .unwrap()
                .trading_date,
            MONDAY + 1
        );
    }

    #[test]
    fn weekends_have_no_session() {
        let cal = chicago_winter();
        // Friday 17:00 would open Saturday's session: none. Saturday and Sunday noon: none.
        assert!(cal
            .locate(utc(MONDAY + 4, 17.5), SessionKind::Eth)
            .is_none());
        assert!(cal
            .locate(utc(MONDAY + 5, 12.0), SessionKind::Eth)
            .is_none());
        assert!(cal
            .locate(utc(MONDAY - 1, 12.0), SessionKind::Eth)
            .is_none());
        assert!(cal
            .locate(utc(MONDAY + 4, 15.0), SessionKind::Eth)
            .is_some());
        assert!(cal
            .locate(utc(MONDAY + 5, 10.0), SessionKind::Rth)
            .is_none());
    }

    #[test]
    fn rth_is_a_daytime_window() {
        let cal = chicago_winter();
        let slot = cal.locate(utc(MONDAY, 8.5), SessionKind::Rth).unwrap();
        assert_eq!(slot.trading_date, MONDAY);
        assert_eq!(slot.close_utc() - slot.open_utc(), 6 * H + H / 2);
        assert!(cal.locate(utc(MONDAY, 8.49), SessionKind::Rth).is_none());
        assert!(cal.locate(utc(MONDAY, 15.0), SessionKind::Rth).is_none());
    }

    #[test]
    fn refuses_bad_hours() {
        let tz = UtcOffsets::fixed(0);
        assert_eq!(
            SessionCalendar::new(tz.clone(), (60, 60), (1, 2), &[1]),
            Err(SessionError::EmptySession)
        );
        assert_eq!(
            SessionCalendar::new(tz.clone(), (1440, 60), (1, 2), &[1]),
            Err(SessionError::InvalidTimeOfDay)
        );
        assert_eq!(
            SessionCalendar::new(tz, (1, 2), (1, 2), &[0]),
            Err(SessionError::InvalidTradingDays)
        );
    }
}

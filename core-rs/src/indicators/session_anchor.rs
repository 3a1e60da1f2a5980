//! Session anchoring shared by VWAP, the volume profile and cumulative delta: with a calendar,
//! state resets when a print belongs to a new session and prints outside the session (the daily
//! halt, weekends) are ignored, as are late prints from an earlier session than the current one
//! (that session's state is gone; resetting for them would wipe the current session); without
//! one, state only resets on `reset()`.

use std::sync::Arc;

use crate::sessions::{SessionCalendar, SessionKind};

#[derive(Debug, Clone)]
pub struct SessionAnchor {
    calendar: Option<(Arc<SessionCalendar>, SessionKind)>,
    trading_date: Option<i64>,
}

/// Where a print falls relative to the state so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchored {
    /// The same session (or no calendar).
    Same,
    /// A new session: reset, then apply the print.
    NewSession,
    /// Outside any session, or late from an earlier session: ignore the print.
    Outside,
}

impl SessionAnchor {
    pub fn new(calendar: Option<(Arc<SessionCalendar>, SessionKind)>) -> Self {
        Self {
            calendar,
            trading_date: None,
        }
    }

    #[inline]
    pub fn place(&mut self, ts: i64) -> Anchored {
        let Some((calendar, kind)) = &self.calendar else {
            return Anchored::Same;
        };
        match calendar.locate(ts, *kind) {
            None => Anchored::Outside,
            Some(slot) if self.trading_date == Some(slot.trading_date) => Anchored::Same,
            Some(slot) if self.trading_date.is_some_and(|d| slot.trading_date < d) => {
                Anchored::Outside
            }
            Some(slot) => {
                let first = self.trading_date.is_none();
                self.trading_date = Some(slot.trading_date);
                if first {
                    Anchored::Same
                } else {
                    Anchored::NewSession
                }
            }
        }
    }

    /// The trading date (days since the epoch) of the current session, when anchored.
    pub fn trading_date(&self) -> Option<i64> {
        self.trading_date
    }

    pub fn reset(&mut self) {
        self.trading_date = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::NANOS_PER_DAY;

    #[test]
    fn a_late_print_from_an_earlier_session_is_ignored() {
        let cal = Arc::new(SessionCalendar::cme_fixed(0));
        let mut anchor = SessionAnchor::new(Some((cal, SessionKind::Eth)));
        let monday = 19_723 * NANOS_PER_DAY;
        let hour = NANOS_PER_DAY / 24;
        assert_eq!(anchor.place(monday + 10 * hour), Anchored::Same);
        let date = anchor.trading_date();
        assert_eq!(anchor.place(monday + 17 * hour), Anchored::NewSession);
        let next = anchor.trading_date();
        assert!(next > date);
        // Monday 15:59, after Tuesday's session opened: late, ignored, the date stays.
        assert_eq!(anchor.place(monday + 16 * hour - 1), Anchored::Outside);
        assert_eq!(anchor.trading_date(), next);
        assert_eq!(anchor.place(monday + 18 * hour), Anchored::Same);
        // After a reset any session starts the state again.
        anchor.reset();
        assert_eq!(anchor.place(monday + 10 * hour), Anchored::Same);
        assert_eq!(anchor.trading_date(), date);
    }
}

//! Session anchoring shared by VWAP, the volume profile and cumulative delta: with a calendar,
//! state resets when a print belongs to a new session and prints outside the session (the daily
//! halt, weekends) are ignored; without one, state only resets on `reset()`.

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
    /// Outside any session: ignore the print.
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

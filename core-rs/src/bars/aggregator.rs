//! Trades (or quotes) to time bars of 1 s .. 1 day.
//!
//! Bars are cut in exchange time and anchored at the session open: with the ETH session
//! (17:00 -> 16:00 Chicago) 5-minute bars start at 17:00, 17:05, ...; hourly bars at the top of
//! each hour; 4-hour bars at 17:00, 21:00, 01:00, ...; a 1-day bar is the whole session. With
//! the RTH session (08:30 -> 15:00) 1-hour bars start at 08:30, 09:30, .... A bar never spans
//! the session close (the CME daily halt, the weekend): the last bar of a session ends at the
//! close, and prints outside the session are dropped (counted in `outside_session`).
//!
//! A bar completes when a print arrives for a later bar, or when `flush(now)` is called at or
//! after its end (a timer, so bars close on time in a quiet market). Intervals with no print
//! produce no bar (no fake bars over gaps). A print older than the bar being built is dropped
//! (counted in `late`): a completed bar is never changed.
//!
//! Offsets come from the session calendar at the print's instant; CME sessions never straddle a
//! DST change (the switch happens at 02:00 on a Sunday, when Globex is closed).

use std::fmt;
use std::sync::Arc;

use super::Bar;
use crate::indicators::{prints, IndicatorError, Print};
use crate::sessions::{SessionCalendar, SessionKind, NANOS_PER_SECOND};

pub const MAX_TIMEFRAME_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarError {
    InvalidTimeframe(i64),
    NonFinite(&'static str),
    NegativeSize,
    /// Batch columns of different lengths, or a bad aggressor.
    Batch(IndicatorError),
}

impl fmt::Display for BarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidTimeframe(s) => write!(f, "timeframe must be 1..=86400 seconds, got {s}"),
            Self::NonFinite(what) => write!(f, "{what} must be a finite number"),
            Self::NegativeSize => write!(f, "size must be >= 0"),
            Self::Batch(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BarError {}

#[derive(Debug, Clone)]
pub struct BarAggregator {
    calendar: Arc<SessionCalendar>,
    kind: SessionKind,
    timeframe: i64,
    current: Option<Bar>,
    /// End of the last bar handed out (by a print or by `flush`): a print before it belongs to
    /// a bar already published, so it is late, never the start of that bar a second time.
    closed_until: i64,
    pub outside_session: u64,
    pub late: u64,
}

impl BarAggregator {
    pub fn new(
        calendar: Arc<SessionCalendar>,
        kind: SessionKind,
        timeframe_seconds: i64,
    ) -> Result<Self, BarError> {
        if !(1..=MAX_TIMEFRAME_SECONDS).contains(&timeframe_seconds) {
            return Err(BarError::InvalidTimeframe(timeframe_seconds));
        }
        Ok(Self {
            calendar,
            kind,
            timeframe: timeframe_seconds * NANOS_PER_SECOND,
            current: None,
            closed_until: i64::MIN,
            outside_session: 0,
            late: 0,
        })
    }

    pub fn timeframe_seconds(&self) -> i64 {
        self.timeframe / NANOS_PER_SECOND
    }

    /// The bar being built.
    pub fn current(&self) -> Option<Bar> {
        self.current
    }

    /// `(start, end, trading date)` of the bar `ts` falls in, or `None` outside the session.
    #[inline]
    fn slot(&self, ts: i64) -> Option<(i64, i64, i64)> {
        let s = self.calendar.locate(ts, self.kind)?;
        let local = ts + s.offset;
        let index = (local - s.open_local) / self.timeframe;
        let start = s.open_local + index * self.timeframe;
        let end = (start + self.timeframe).min(s.close_local);
        Some((start - s.offset, end - s.offset, s.trading_date))
    }

    /// Routes a price to its bar; returns the bar it completed, if any.
    #[inline]
    fn route(&mut self, ts: i64, price: f64, apply: impl FnOnce(&mut Bar)) -> Option<Bar> {
        if ts < self.closed_until {
            self.late += 1;
            return None;
        }
        if let Some(bar) = self.current.as_mut() {
            if ts >= bar.start && ts < bar.end {
                apply(bar);
                return None;
            }
            if ts < bar.start {
                self.late += 1;
                return None;
            }
        }
        let Some((start, end, date)) = self.slot(ts) else {
            self.outside_session += 1;
            return None;
        };
        let mut bar = Bar::open_at(start, end, date, price);
        apply(&mut bar);
        let done = self.current.replace(bar);
        if let Some(done) = done {
            self.closed_until = done.end;
        }
        done
    }

    /// A trade; returns the bar it completed, if any.
    #[inline]
    pub fn update(&mut self, print: Print) -> Result<Option<Bar>, BarError> {
        if !print.price.is_finite() {
            return Err(BarError::NonFinite("price"));
        }
        if !print.size.is_finite() {
            return Err(BarError::NonFinite("size"));
        }
        if print.size < 0.0 {
            return Err(BarError::NegativeSize);
        }
        Ok(self.route(print.ts, print.price, |b| {
            b.add_trade(print.price, print.size, print.aggressor)
        }))
    }

    /// A quote: the bar follows the mid price, with no volume.
    pub fn update_quote(&mut self, ts: i64, bid: f64, ask: f64) -> Result<Option<Bar>, BarError> {
        if !bid.is_finite() {
            return Err(BarError::NonFinite("bid"));
        }
        if !ask.is_finite() {
            return Err(BarError::NonFinite("ask"));
        }
        let mid = (bid + ask) / 2.0;
        Ok(self.route(ts, mid, |b| b.add_price(mid)))
    }

    /// Completes the current bar if `now` is at or past its end.
    pub fn flush(&mut self, now: i64) -> Option<Bar> {
        if self.current.is_some_and(|b| now >= b.end) {
            let done = self.current.take();
            if let Some(done) = done {
                self.closed_until = done.end;
            }
            done
        } else {
            None
        }
    }

    pub fn reset(&mut self) {
        self.current = None;
        self.closed_until = i64::MIN;
        self.outside_session = 0;
        self.late = 0;
    }

    /// Feeds arrays of trades (`aggressor`: 1 buy, -1 sell, 0 unknown); returns the bars they
    /// completed.
    pub fn update_many(
        &mut self,
        ts: &[i64],
        price: &[f64],
        size: &[f64],
        aggressor: &[i8],
    ) -> Result<Vec<Bar>, BarError> {
        let mut out = Vec::new();
        for print in prints(ts, price, size, Some(aggressor)).map_err(BarError::Batch)? {
            if let Some(bar) = self.update(print)? {
                out.push(bar);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::Aggressor;
    use crate::sessions::NANOS_PER_DAY;

    const H: i64 = 3600 * NANOS_PER_SECOND;
    const M: i64 = 60 * NANOS_PER_SECOND;
    const MONDAY: i64 = 19_723;

    fn agg(kind: SessionKind, tf: i64) -> BarAggregator {
        BarAggregator::new(Arc::new(SessionCalendar::cme_fixed(-6 * 3600)), kind, tf).unwrap()
    }

    /// UTC ns of a Chicago (UTC-6) wall time.
    fn ct(day: i64, hour: i64, minute: i64) -> i64 {
        day * NANOS_PER_DAY + hour * H + minute * M + 6 * H
    }

    fn trade(ts: i64, price: f64, size: f64, aggressor: Aggressor) -> Print {
        Print {
            ts,
            price,
            size,
            aggressor,
        }
    }

    #[test]
    fn builds_ohlcv_with_order_flow() {
        let mut a = agg(SessionKind::Eth, 300);
        assert_eq!(
            a.update(trade(ct(MONDAY, 10, 1), 100.0, 2.0, Aggressor::Buy))
                .unwrap(),
            None
        );
        a.update(trade(ct(MONDAY, 10, 2), 101.0, 1.0, Aggressor::Sell))
            .unwrap();
        a.update(trade(ct(MONDAY, 10, 3), 99.0, 4.0, Aggressor::Unknown))
            .unwrap();
        a.update(trade(ct(MONDAY, 10, 4), 100.5, 3.0, Aggressor::Buy))
            .unwrap();
        let bar = a
            .update(trade(ct(MONDAY, 10, 5), 100.0, 1.0, Aggressor::Buy))
            .unwrap()
            .unwrap();
        assert_eq!((bar.start, bar.end), (ct(MONDAY, 10, 0), ct(MONDAY, 10, 5)));
        assert_eq!(
            (bar.open, bar.high, bar.low, bar.close),
            (100.0, 101.0, 99.0, 100.5)
        );
        assert_eq!(
            (bar.volume, bar.buy_volume, bar.sell_volume, bar.delta()),
            (10.0, 5.0, 1.0, 4.0)
        );
        assert_eq!(bar.trade_count, 4);
        assert_eq!(bar.trading_date, MONDAY);
    }

    #[test]
    fn gaps_make_no_bars_and_late_prints_are_dropped() {
        let mut a = agg(SessionKind::Eth, 60);
        a.update(trade(ct(MONDAY, 10, 0), 1.0, 1.0, Aggressor::Buy))
            .unwrap();
        let bar = a
            .update(trade(ct(MONDAY, 10, 30), 2.0, 1.0, Aggressor::Buy))
            .unwrap()
            .unwrap();
        assert_eq!(bar.end, ct(MONDAY, 10, 1));
        assert_eq!(a.current().unwrap().start, ct(MONDAY, 10, 30));
        assert_eq!(
            a.update(trade(ct(MONDAY, 10, 29), 3.0, 1.0, Aggressor::Buy))
                .unwrap(),
            None
        );
        assert_eq!(a.late, 1);
        assert_eq!(a.flush(ct(MONDAY, 10, 30) + 59 * NANOS_PER_SECOND), None);
        assert!(a.flush(ct(MONDAY, 10, 31)).is_some());
    }

    #[test]
    fn the_last_bar_ends_at_the_close_and_the_halt_is_dropped() {
        let mut a = agg(SessionKind::Eth, 4 * 3600);
        a.update(trade(ct(MONDAY, 14, 0), 1.0, 1.0, Aggressor::Buy))
            .unwrap();
        // 4-hour bars anchored at 17:00: 13:00 -> 17:00, clipped at the 16:00 close.
        assert_eq!(a.current().unwrap().start, ct(MONDAY, 13, 0));
        assert_eq!(a.current().unwrap().end, ct(MONDAY, 16, 0));
        assert_eq!(
            a.update(trade(ct(MONDAY, 16, 30), 1.0, 1.0, Aggressor::Buy))
                .unwrap(),
            None
        );
        assert_eq!(a.outside_session, 1);
        let done = a
            .update(trade(ct(MONDAY, 17, 0), 2.0, 1.0, Aggressor::Buy))
            .unwrap()
            .unwrap();
        assert_eq!(done.trading_date, MONDAY);
        assert_eq!(a.current().unwrap().trading_date, MONDAY + 1);
    }

    #[test]
    fn daily_and_rth_bars() {
        let mut day = agg(SessionKind::Eth, 86_400);
        day.update(trade(ct(MONDAY - 1, 18, 0), 1.0, 1.0, Aggressor::Buy))
            .unwrap();
        let b = day.current().unwrap();
        assert_eq!((b.start, b.end), (ct(MONDAY - 1, 17, 0), ct(MONDAY, 16, 0)));
        let mut rth = agg(SessionKind::Rth, 3600);
        assert_eq!(
            rth.update(trade(ct(MONDAY, 8, 0), 1.0, 1.0, Aggressor::Buy))
                .unwrap(),
            None
        );
        assert_eq!(rth.outside_session, 1);
        rth.update(trade(ct(MONDAY, 9, 45), 1.0, 1.0, Aggressor::Buy))
            .unwrap();
        assert_eq!(rth.current().unwrap().start, ct(MONDAY, 9, 30));
        assert_eq!(
            BarAggregator::new(Arc::new(SessionCalendar::cme_fixed(0)), SessionKind::Eth, 0)
                .unwrap_err(),
            BarError::InvalidTimeframe(0)
        );
    }

    #[test]
    fn a_print_inside_a_flushed_bar_is_late_not_a_second_bar() {
        let mut a = agg(SessionKind::Eth, 60);
        let t0 = ct(MONDAY, 9, 30);
        assert_eq!(
            a.update(trade(t0 + 5 * NANOS_PER_SECOND, 100.0, 1.0, Aggressor::Buy))
                .unwrap(),
            None
        );
        let flushed = a.flush(t0 + M).expect("the bar is due");
        assert_eq!(flushed.start, t0);
        // A print stamped inside the flushed bar arrives after the flush: late, dropped.
        assert_eq!(
            a.update(trade(
                t0 + 59 * NANOS_PER_SECOND,
                101.0,
                2.0,
                Aggressor::Sell
            ))
            .unwrap(),
            None
        );
        assert_eq!(a.current(), None);
        assert_eq!(a.late, 1);
        // The next bar still forms normally.
        a.update(trade(t0 + M + NANOS_PER_SECOND, 102.0, 1.0, Aggressor::Buy))
            .unwrap();
        assert_eq!(a.current().map(|b| b.start), Some(t0 + M));
        a.reset();
        a.update(trade(
            t0 + 10 * NANOS_PER_SECOND,
            100.0,
            1.0,
            Aggressor::Buy,
        ))
        .unwrap();
        assert_eq!(
            a.current().map(|b| b.start),
            Some(t0),
            "reset forgets what was published"
        );
    }
}

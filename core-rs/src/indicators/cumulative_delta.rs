//! Cumulative delta: buy volume minus sell volume by aggressor side, per bar and cumulated over
//! the session, with delta divergence against price.
//!
//! Prints with an unknown aggressor add to neither side. `close_bar()` ends the current bar (the
//! caller decides when, typically when its `BarAggregator` completes a bar) and evaluates the
//! documented divergence rule against the previous `lookback` closed bars:
//! - **bearish**: the close is above every previous close but cumulative delta is not above
//!   every previous bar's cumulative delta (price makes a new high that delta does not confirm);
//! - **bullish**: the close is below every previous close but cumulative delta is not below
//!   every previous bar's cumulative delta;
//! - otherwise none (and none until `lookback` bars have closed).

use std::collections::VecDeque;

use super::print::Print;
use super::session_anchor::{Anchored, SessionAnchor};
use super::{Indicator, IndicatorError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Divergence {
    None,
    Bullish,
    Bearish,
}

#[derive(Debug, Clone)]
pub struct CumulativeDelta {
    anchor: SessionAnchor,
    lookback: usize,
    buy_volume: f64,
    sell_volume: f64,
    bar_delta: f64,
    last_price: f64,
    /// Closed bars: `(close price, cumulative delta at the close)`, newest last.
    bars: VecDeque<(f64, f64)>,
    divergence: Divergence,
}

impl CumulativeDelta {
    pub fn new(lookback: usize, anchor: SessionAnchor) -> Result<Self, IndicatorError> {
        if lookback == 0 || lookback > 10_000 {
            return Err(IndicatorError::InvalidParameter(
                "lookback must be in 1..=10000",
            ));
        }
        Ok(Self {
            anchor,
            lookback,
            buy_volume: 0.0,
            sell_volume: 0.0,
            bar_delta: 0.0,
            last_price: f64::NAN,
            bars: VecDeque::with_capacity(lookback + 1),
            divergence: Divergence::None,
        })
    }

    pub fn buy_volume(&self) -> f64 {
        self.buy_volume
    }

    pub fn sell_volume(&self) -> f64 {
        self.sell_volume
    }

    /// Delta of the bar in progress.
    pub fn bar_delta(&self) -> f64 {
        self.bar_delta
    }

    /// The divergence found at the last `close_bar()`.
    pub fn divergence(&self) -> Divergence {
        self.divergence
    }

    pub fn lookback(&self) -> usize {
        self.lookback
    }

    pub fn trading_date(&self) -> Option<i64> {
        self.anchor.trading_date()
    }

    /// Ends the current bar and returns its delta; updates `divergence()`. A bar with no print
    /// yet (no price) is not recorded.
    pub fn close_bar(&mut self) -> f64 {
        let delta = self.bar_delta;
        self.bar_delta = 0.0;
        if self.last_price.is_nan() {
            return delta;
        }
        let (close, cum) = (self.last_price, self.value());
        self.divergence = Divergence::None;
        if self.bars.len() == self.lookback {
            let max_close = self.bars.iter().map(|b| b.0).fold(f64::MIN, f64::max);
            let min_close = self.bars.iter().map(|b| b.0).fold(f64::MAX, f64::min);
            let max_cum = self.bars.iter().map(|b| b.1).fold(f64::MIN, f64::max);
            let min_cum = self.bars.iter().map(|b| b.1).fold(f64::MAX, f64::min);
            if close > max_close && cum <= max_cum {
                self.divergence = Divergence::Bearish;
            } else if close < min_close && cum >= min_cum {
                self.divergence = Divergence::Bullish;
            }
            self.bars.pop_front();
        }
        self.bars.push_back((close, cum));
        delta
    }

    fn clear(&mut self) {
        self.buy_volume = 0.0;
        self.sell_volume = 0.0;
        self.bar_delta = 0.0;
        self.last_price = f64::NAN;
        self.bars.clear();
        self.divergence = Divergence::None;
    }
}

impl Indicator for CumulativeDelta {
    type Input = Print;

    #[inline]
    fn update(&mut self, print: Print) -> Result<f64, IndicatorError> {
        let print = print.checked()?;
        match self.anchor.place(print.ts) {
            Anchored::Outside => return Ok(self.value()),
            Anchored::NewSession => self.clear(),
            Anchored::Same => {}
        }
        let signed = print.aggressor.sign() * print.size;
        if signed > 0.0 {
            self.buy_volume += print.size;
        } else if signed < 0.0 {
            self.sell_volume += print.size;
        }
        self.bar_delta += signed;
        self.last_price = print.price;
        Ok(self.value())
    }

    /// Cumulative delta: buy volume minus sell volume since the session began.
    #[inline]
    fn value(&self) -> f64 {
        self.buy_volume - self.sell_volume
    }

    fn initialized(&self) -> bool {
        !self.last_price.is_nan()
    }

    fn reset(&mut self) {
        self.clear();
        self.anchor.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::print::Aggressor;

    fn trade(cd: &mut CumulativeDelta, price: f64, size: f64, side: Aggressor) -> f64 {
        cd.update(Print {
            ts: 0,
            price,
            size,
            aggressor: side,
        })
        .unwrap()
    }

    #[test]
    fn counts_by_aggressor() {
        let mut cd = CumulativeDelta::new(2, SessionAnchor::new(None)).unwrap();
        assert_eq!(trade(&mut cd, 10.0, 5.0, Aggressor::Buy), 5.0);
        assert_eq!(trade(&mut cd, 10.0, 2.0, Aggressor::Sell), 3.0);
        assert_eq!(trade(&mut cd, 10.0, 9.0, Aggressor::Unknown), 3.0);
        assert_eq!((cd.buy_volume(), cd.sell_volume()), (5.0, 2.0));
        assert_eq!(cd.close_bar(), 3.0);
        assert_eq!(cd.bar_delta(), 0.0);
    }

    #[test]
    fn flags_a_new_high_that_delta_does_not_confirm() {
        let mut cd = CumulativeDelta::new(2, SessionAnchor::new(None)).unwrap();
        trade(&mut cd, 10.0, 5.0, Aggressor::Buy); // cum 5
        cd.close_bar();
        trade(&mut cd, 11.0, 1.0, Aggressor::Buy); // cum 6
        cd.close_bar();
        assert_eq!(cd.divergence(), Divergence::None);
        trade(&mut cd, 12.0, 3.0, Aggressor::Sell); // new high close, cum 3 <= 6
        cd.close_bar();
        assert_eq!(cd.divergence(), Divergence::Bearish);
        trade(&mut cd, 9.0, 10.0, Aggressor::Buy); // new low close, cum 13 >= 3
        cd.close_bar();
        assert_eq!(cd.divergence(), Divergence::Bullish);
    }
}

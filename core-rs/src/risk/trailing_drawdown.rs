//! The trailing maximum loss limit as prop-firm accounts define it (TopStepX's Maximum Loss
//! Limit): the floor is `peak - max_drawdown`, capped at the starting balance (once it reaches
//! the starting balance it stops trailing), and it never moves down.
//! - end of day: `peak` is the highest end-of-day balance;
//! - intraday: `peak` is the highest equity (balance + open P&L) seen at any fill or mark.
//!
//! Equity at or below the floor breaks the rule.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrawdownMode {
    EndOfDay,
    Intraday,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrailingDrawdown {
    mode: DrawdownMode,
    max_drawdown: f64,
    starting_balance: f64,
    peak: f64,
}

impl TrailingDrawdown {
    pub fn new(mode: DrawdownMode, max_drawdown: f64, starting_balance: f64) -> Self {
        Self {
            mode,
            max_drawdown,
            starting_balance,
            peak: starting_balance,
        }
    }

    pub fn mode(&self) -> DrawdownMode {
        self.mode
    }

    pub fn peak(&self) -> f64 {
        self.peak
    }

    /// Restores a known peak (e.g. from the account's history); never lowers it.
    pub fn raise_peak(&mut self, peak: f64) {
        if peak > self.peak {
            self.peak = peak;
        }
    }

    /// The equity at or below which the account breaks the rule.
    #[inline]
    pub fn floor(&self) -> f64 {
        (self.peak - self.max_drawdown).min(self.starting_balance)
    }

    /// Equity seen intraday (after a fill or a mark).
    #[inline]
    pub fn on_equity(&mut self, equity: f64) {
        if self.mode == DrawdownMode::Intraday {
            self.raise_peak(equity);
        }
    }

    /// The balance at the end of a trading day.
    pub fn on_end_of_day(&mut self, balance: f64) {
        self.raise_peak(balance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_day_trails_up_to_the_starting_balance() {
        let mut dd = TrailingDrawdown::new(DrawdownMode::EndOfDay, 2000.0, 50_000.0);
        assert_eq!(dd.floor(), 48_000.0);
        dd.on_equity(51_000.0); // intraday highs do not count
        assert_eq!(dd.floor(), 48_000.0);
        dd.on_end_of_day(51_000.0);
        assert_eq!(dd.floor(), 49_000.0);
        dd.on_end_of_day(50_500.0); // never down
        assert_eq!(dd.floor(), 49_000.0);
        dd.on_end_of_day(55_000.0); // capped at the starting balance
        assert_eq!(dd.floor(), 50_000.0);
    }

    #[test]
    fn intraday_trails_open_equity() {
        let mut dd = TrailingDrawdown::new(DrawdownMode::Intraday, 2000.0, 50_000.0);
        dd.on_equity(50_800.0);
        assert_eq!(dd.floor(), 48_800.0);
    }
}

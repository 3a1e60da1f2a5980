//! One OHLCV bar with order-flow volume.

use crate::indicators::Aggressor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// UTC ns; `start` inclusive, `end` exclusive.
    pub start: i64,
    pub end: i64,
    /// The session's trading date (days since the epoch).
    pub trading_date: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub trade_count: u64,
}

impl Bar {
    pub(crate) fn open_at(start: i64, end: i64, trading_date: i64, price: f64) -> Self {
        Self {
            start,
            end,
            trading_date,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0.0,
            buy_volume: 0.0,
            sell_volume: 0.0,
            trade_count: 0,
        }
    }

    #[inline]
    pub(crate) fn add_price(&mut self, price: f64) {
        if price > self.high {
            self.high = price;
        }
        if price < self.low {
            self.low = price;
        }
        self.close = price;
    }

    #[inline]
    pub(crate) fn add_trade(&mut self, price: f64, size: f64, aggressor: Aggressor) {
        self.add_price(price);
        self.volume += size;
        match aggressor {
            Aggressor::Buy => self.buy_volume += size,
            Aggressor::Sell => self.sell_volume += size,
            Aggressor::Unknown => {}
        }
        self.trade_count += 1;
    }

    /// Buy volume minus sell volume.
    pub fn delta(&self) -> f64 {
        self.buy_volume - self.sell_volume
    }
}

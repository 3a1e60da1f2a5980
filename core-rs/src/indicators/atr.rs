//! Average true range with Wilder's smoothing, TA-Lib's definition: the first bar only provides
//! a previous close; the first value is the mean of the next `period` true ranges, then
//! `atr = (atr * (period - 1) + tr) / period`. Initialized after `period + 1` bars.

use super::true_range::{flush_subnormal, true_range};
use super::{checked_hlc, checked_period, Hlc, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    count: usize,
    prev_close: f64,
    tr_sum: f64,
    value: f64,
}

impl Atr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self {
            period: checked_period(period)?,
            count: 0,
            prev_close: f64::NAN,
            tr_sum: 0.0,
            value: f64::NAN,
        })
    }

    pub fn period(&self) -> usize {
        self.period
    }

    pub fn count(&self) -> usize {
        self.count
    }
}

impl Indicator for Atr {
    type Input = Hlc;

    #[inline]
    fn update(&mut self, bar: Hlc) -> Result<f64, IndicatorError> {
        let bar = checked_hlc(bar)?;
        self.count += 1;
        if self.count > 1 {
            let tr = true_range(bar.high, bar.low, self.prev_close);
            let n = self.period as f64;
            if self.count > self.period + 1 {
                self.value = flush_subnormal((self.value * (n - 1.0) + tr) / n);
            } else {
                self.tr_sum += tr;
                if self.count == self.period + 1 {
                    self.value = self.tr_sum / n;
                }
            }
        }
        self.prev_close = bar.close;
        Ok(self.value)
    }

    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn initialized(&self) -> bool {
        self.count > self.period
    }

    fn reset(&mut self) {
        self.count = 0;
        self.prev_close = f64::NAN;
        self.tr_sum = 0.0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64) -> Hlc {
        Hlc { high, low, close }
    }

    #[test]
    fn wilder_smoothing_after_a_simple_seed() {
        let mut atr = Atr::new(2).unwrap();
        assert!(atr.update(bar(10.0, 8.0, 9.0)).unwrap().is_nan());
        assert!(atr.update(bar(11.0, 9.0, 10.0)).unwrap().is_nan()); // tr 2
        assert_eq!(atr.update(bar(14.0, 12.0, 13.0)).unwrap(), 3.0); // tr 4 -> (2 + 4) / 2
        assert!(atr.initialized());
        assert_eq!(atr.update(bar(13.0, 12.0, 12.5)).unwrap(), 2.0); // tr 1 -> (3 + 1) / 2
    }

    #[test]
    fn a_market_that_stops_moving_decays_to_exact_zero() {
        let mut atr = Atr::new(3).unwrap();
        atr.update(bar(11.0, 9.0, 10.0)).unwrap();
        for _ in 0..20_000 {
            atr.update(bar(10.0, 10.0, 10.0)).unwrap();
        }
        assert_eq!(atr.value(), 0.0);
    }

    #[test]
    fn refuses_bad_bars() {
        let mut atr = Atr::new(2).unwrap();
        assert_eq!(
            atr.update(bar(1.0, 2.0, 1.5)),
            Err(IndicatorError::LowAboveHigh)
        );
        assert_eq!(
            atr.update(bar(f64::NAN, 2.0, 1.5)),
            Err(IndicatorError::NonFinite("high"))
        );
        assert_eq!(atr.count(), 0);
    }
}

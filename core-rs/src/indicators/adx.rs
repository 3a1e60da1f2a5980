//! Average directional index with +DI and -DI, exactly as TA-Lib computes ADX, PLUS_DI and
//! MINUS_DI (Wilder's smoothing):
//!
//! - bar 0 only provides the previous high, low and close;
//! - bars 1 .. period-1: +DM, -DM and true range are summed;
//! - from bar `period` on: `sum -= sum / period; sum += current` for each of the three, and
//!   `+DI = 100 * +DM / TR`, `-DI = 100 * -DM / TR` (0 when TR is 0): the DIs are known
//!   after `period + 1` bars;
//! - `DX = 100 * |+DI - -DI| / (+DI + -DI)`; ADX is the mean of the first `period` DX values
//!   (bars `period` .. `2 period - 1`), then `adx = (adx * (period - 1) + dx) / period`. A bar
//!   whose smoothed true range is 0, or whose DI sum is within `TA_EPSILON` (1e-14) of 0,
//!   leaves ADX unchanged.
//!
//! "As TA-Lib" means current TA-Lib: the C library 0.8.1 that Python ta-lib 0.8.2 ships, read
//! from its machine code and matched bit for bit, flat stretches included. TA-Lib 0.4 tested
//! the smoothed true range and the DI sum with a fixed 1e-8, which zeroes the DIs about 290
//! zero-range bars into a flat market (period 14) where current TA-Lib keeps them. One
//! difference is deliberate: the smoothed sums are flushed to 0 once they decay below the
//! smallest normal float (see `true_range::flush_subnormal`), after which TA-Lib divides
//! subnormals by subnormals; that takes about `710 / -ln(1 - 1 / period)` zero-range bars in a
//! row (about 1,000 for period 2, 9,500 for period 14).
//!
//! +DM is the up move when it is positive and larger than the down move; -DM likewise; a tie
//! counts as neither.

use super::true_range::{flush_subnormal as flush, true_range};
use super::{checked_hlc, checked_period, Hlc, Indicator, IndicatorError};

/// TA-Lib's `TA_EPSILON` (current TA-Lib; TA-Lib 0.4 used 1e-8): a DI sum closer to zero than
/// this gives no DX.
const TA_EPSILON: f64 = 1e-14;

/// TA-Lib's `TA_IS_ZERO`.
#[inline(always)]
fn is_zero(x: f64) -> bool {
    -TA_EPSILON < x && x < TA_EPSILON
}

#[derive(Debug, Clone)]
pub struct Adx {
    period: usize,
    count: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
    plus_di: f64,
    minus_di: f64,
    dx_sum: f64,
    value: f64,
}

impl Adx {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self {
            period: checked_period(period)?,
            count: 0,
            prev_high: f64::NAN,
            prev_low: f64::NAN,
            prev_close: f64::NAN,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
            plus_di: f64::NAN,
            minus_di: f64::NAN,
            dx_sum: 0.0,
            value: f64::NAN,
        })
    }

    pub fn period(&self) -> usize {
        self.period
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// +DI (NaN until `period + 1` bars).
    #[inline]
    pub fn plus_di(&self) -> f64 {
        self.plus_di
    }

    /// -DI (NaN until `period + 1` bars).
    #[inline]
    pub fn minus_di(&self) -> f64 {
        self.minus_di
    }
}

impl Indicator for Adx {
    type Input = Hlc;

    #[inline]
    fn update(&mut self, bar: Hlc) -> Result<f64, IndicatorError> {
        let bar = checked_hlc(bar)?;
        self.count += 1;
        if self.count > 1 {
            let up = bar.high - self.prev_high;
            let down = self.prev_low - bar.low;
            let (mut plus, mut minus) = (0.0, 0.0);
            if down > 0.0 && up < down {
                minus = down;
            } else if up > 0.0 && up > down {
                plus = up;
            }
            let tr = true_range(bar.high, bar.low, self.prev_close);
            let n = self.period as f64;
            if self.count <= self.period {
                self.plus_dm += plus;
                self.minus_dm += minus;
                self.tr += tr;
            } else {
                self.plus_dm = flush(self.plus_dm - self.plus_dm / n + plus);
                self.minus_dm = flush(self.minus_dm - self.minus_dm / n + minus);
                self.tr = flush(self.tr - self.tr / n + tr);
                let mut dx = None;
                // Current TA-Lib tests the smoothed true range exactly (`> 0`), not with
                // `TA_IS_ZERO`: its DIs are scale-free however small the ranges.
                if self.tr <= 0.0 {
                    self.plus_di = 0.0;
                    self.minus_di = 0.0;
                } else {
                    self.plus_di = 100.0 * (self.plus_dm / self.tr);
                    self.minus_di = 100.0 * (self.minus_dm / self.tr);
                    let di_sum = self.minus_di + self.plus_di;
                    if !is_zero(di_sum) {
                        dx = Some(100.0 * ((self.minus_di - self.plus_di).abs() / di_sum));
                    }
                }
                if self.count <= 2 * self.period {
                    self.dx_sum += dx.unwrap_or(0.0);
                    if self.count == 2 * self.period {
                        self.value = self.dx_sum / n;
                    }
                } else if let Some(dx) = dx {
                    self.value = (self.value * (n - 1.0) + dx) / n;
                }
            }
        }
        self.prev_high = bar.high;
        self.prev_low = bar.low;
        self.prev_close = bar.close;
        Ok(self.value)
    }

    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn initialized(&self) -> bool {
        self.count >= 2 * self.period
    }

    fn reset(&mut self) {
        *self = Self::new(self.period).expect("period was checked at construction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64) -> Hlc {
        Hlc { high, low, close }
    }

    #[test]
    fn warm_up_lengths_match_ta_lib() {
        let mut adx = Adx::new(3).unwrap();
        for i in 0..6 {
            let x = i as f64;
            adx.update(bar(10.0 + x, 9.0 + x, 9.5 + x)).unwrap();
            // DIs from bar `period` (the 4th), ADX from bar `2 period - 1` (the 6th).
            assert_eq!(!adx.plus_di().is_nan(), i >= 3, "bar {i}");
            assert_eq!(adx.initialized(), i >= 5, "bar {i}");
        }
        // A steady up trend: all +DM, no -DM, so +DI = 100 * DM / TR and ADX = 100.
        assert_eq!(adx.minus_di(), 0.0);
        assert_eq!(adx.value(), 100.0);
        assert!((adx.plus_di() - 66.666_666_666_666_7).abs() < 1e-9);
    }

    #[test]
    fn a_long_flat_market_decays_to_exact_zero() {
        let mut adx = Adx::new(14).unwrap();
        for i in 0..50 {
            adx.update(bar(10.0 + i as f64, 9.0 + i as f64, 9.5 + i as f64))
                .unwrap();
        }
        for _ in 0..20_000 {
            adx.update(bar(60.0, 59.0, 59.5)).unwrap();
        }
        // No subnormal left behind (they are slow): the sums were flushed to 0, so the DIs are 0.
        assert_eq!((adx.plus_di(), adx.minus_di()), (0.0, 0.0));
        assert!(adx.value() > 0.0);
    }

    #[test]
    fn flat_markets_keep_the_dis_as_current_ta_lib_does() {
        // 40 moving bars, then 600 with no range at all (tests/core/test_indicators.py's
        // quiet_stretch_bars("flat")). Expected values from Python ta-lib 0.8.2 (C library
        // 0.8.1): talib.ADX / PLUS_DI / MINUS_DI over the same bars, period 14.
        let steps = [3, -2, 4, -5, 1, 2, -3, -1];
        let mut tick = 1600i64;
        let mut adx = Adx::new(14).unwrap();
        let mut seen = Vec::new();
        for i in 0..640 {
            let (up, down) = if i < 40 {
                tick += steps[i % 8];
                (1 + i as i64 % 3, 1 + i as i64 % 2)
            } else {
                (0, 0)
            };
            let q = |t: i64| t as f64 * 0.25;
            adx.update(bar(q(tick + up), q(tick - down), q(tick)))
                .unwrap();
            seen.push((adx.value(), adx.plus_di(), adx.minus_di()));
        }
        // TA-Lib 0.4's 1e-8 zero test made both DIs 0 from bar 325, a fixed 1e-14 from bar 512.
        assert_eq!(
            seen[350],
            (12.462265081034825, 28.376937427335648, 36.45667393740258)
        );
        assert_eq!(
            seen[520],
            (12.462265081320696, 28.376937427335687, 36.45667393740265)
        );
        assert_eq!(
            seen[639],
            (12.462265081320766, 28.376937427335687, 36.456673937402684)
        );
    }

    #[test]
    fn reset_forgets_everything() {
        let mut adx = Adx::new(2).unwrap();
        for i in 0..10 {
            adx.update(bar(10.0 + i as f64, 9.0, 9.5)).unwrap();
        }
        adx.reset();
        assert_eq!(adx.count(), 0);
        assert!(adx.value().is_nan() && adx.plus_di().is_nan());
    }
}

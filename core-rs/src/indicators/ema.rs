//! Exponential moving average, TA-Lib's definition: seeded with the simple average of the first
//! `period` values, then `ema += alpha * (x - ema)` with `alpha = 2 / (period + 1)`.

use super::{checked_period, finite, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    alpha: f64,
    count: usize,
    seed_sum: f64,
    value: f64,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = checked_period(period)?;
        Ok(Self {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            count: 0,
            seed_sum: 0.0,
            value: f64::NAN,
        })
    }

    pub fn period(&self) -> usize {
        self.period
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// How many inputs it has seen since the last reset.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Indicator for Ema {
    type Input = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Result<f64, IndicatorError> {
        let x = finite(x, "value")?;
        self.count += 1;
        if self.count > self.period {
            self.value += self.alpha * (x - self.value);
        } else {
            self.seed_sum += x;
            if self.count == self.period {
                self.value = self.seed_sum / self.period as f64;
            }
        }
        Ok(self.value)
    }

    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn initialized(&self) -> bool {
        self.count >= self.period
    }

    fn reset(&mut self) {
        self.count = 0;
        self.seed_sum = 0.0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_with_the_simple_average_then_smooths() {
        let mut ema = Ema::new(3).unwrap();
        assert!(ema.update(1.0).unwrap().is_nan());
        assert!(ema.update(2.0).unwrap().is_nan());
        assert!(!ema.initialized());
        assert_eq!(ema.update(3.0).unwrap(), 2.0);
        assert!(ema.initialized());
        assert_eq!(ema.update(6.0).unwrap(), 4.0); // 2 + 0.5 * (6 - 2)
        ema.reset();
        assert!(ema.value().is_nan());
        assert_eq!(ema.count(), 0);
    }

    #[test]
    fn refuses_non_finite_input_and_keeps_its_state() {
        let mut ema = Ema::new(1).unwrap();
        ema.update(5.0).unwrap();
        assert_eq!(
            ema.update(f64::NAN),
            Err(IndicatorError::NonFinite("value"))
        );
        assert_eq!(
            ema.update(f64::INFINITY),
            Err(IndicatorError::NonFinite("value"))
        );
        assert_eq!(ema.value(), 5.0);
        assert_eq!(Ema::new(0).unwrap_err(), IndicatorError::InvalidPeriod(0));
    }
}

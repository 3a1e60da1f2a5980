//! Simple moving average over a ring buffer. The running sum is recomputed from the window each
//! time the ring wraps, so float error never accumulates beyond one window (amortised O(1)).

use super::{checked_period, finite, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Sma {
    window: Vec<f64>,
    next: usize,
    count: usize,
    sum: f64,
    value: f64,
}

impl Sma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = checked_period(period)?;
        Ok(Self {
            window: vec![0.0; period],
            next: 0,
            count: 0,
            sum: 0.0,
            value: f64::NAN,
        })
    }

    pub fn period(&self) -> usize {
        self.window.len()
    }

    pub fn count(&self) -> usize {
        self.count
    }
}

impl Indicator for Sma {
    type Input = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Result<f64, IndicatorError> {
        let x = finite(x, "value")?;
        let period = self.window.len();
        let old = std::mem::replace(&mut self.window[self.next], x);
        self.count += 1;
        self.next += 1;
        if self.next == period {
            self.next = 0;
            self.sum = self.window.iter().sum();
        } else {
            self.sum += x - old;
        }
        if self.count >= period {
            self.value = self.sum / period as f64;
        }
        Ok(self.value)
    }

    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn initialized(&self) -> bool {
        self.count >= self.window.len()
    }

    fn reset(&mut self) {
        self.window.fill(0.0);
        self.next = 0;
        self.count = 0;
        self.sum = 0.0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_the_last_period_values() {
        let mut sma = Sma::new(3).unwrap();
        assert!(sma.update(1.0).unwrap().is_nan());
        assert!(sma.update(2.0).unwrap().is_nan());
        assert_eq!(sma.update(3.0).unwrap(), 2.0);
        assert_eq!(sma.update(7.0).unwrap(), 4.0);
        assert_eq!(sma.update(8.0).unwrap(), 6.0);
        sma.reset();
        assert!(!sma.initialized());
        assert_eq!(
            sma.update(f64::NAN),
            Err(IndicatorError::NonFinite("value"))
        );
    }
}

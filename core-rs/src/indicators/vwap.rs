//! Volume-weighted average price with standard-deviation bands, anchored to the session.
//!
//! Mean and variance are volume-weighted and updated with West's incremental algorithm (stable
//! where `sum(v p^2) / sum(v) - vwap^2` would cancel catastrophically). Bands are
//! `vwap +- k * std_dev`. Zero-size prints change nothing.

use super::print::Print;
use super::session_anchor::{Anchored, SessionAnchor};
use super::{Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Vwap {
    anchor: SessionAnchor,
    volume: f64,
    mean: f64,
    m2: f64,
}

impl Vwap {
    pub fn new(anchor: SessionAnchor) -> Self {
        Self {
            anchor,
            volume: 0.0,
            mean: f64::NAN,
            m2: 0.0,
        }
    }

    /// Volume-weighted standard deviation of price (NaN before any volume).
    pub fn std_dev(&self) -> f64 {
        if self.volume > 0.0 {
            (self.m2 / self.volume).max(0.0).sqrt()
        } else {
            f64::NAN
        }
    }

    /// `(vwap - k sd, vwap + k sd)`; `k` must be finite and not negative.
    pub fn band(&self, k: f64) -> Result<(f64, f64), IndicatorError> {
        if !k.is_finite() {
            return Err(IndicatorError::NonFinite("k"));
        }
        if k < 0.0 {
            return Err(IndicatorError::InvalidParameter(
                "k (a band width in standard deviations, >= 0)",
            ));
        }
        let sd = self.std_dev();
        Ok((self.mean - k * sd, self.mean + k * sd))
    }

    /// Volume since the session began.
    pub fn volume(&self) -> f64 {
        self.volume
    }

    pub fn trading_date(&self) -> Option<i64> {
        self.anchor.trading_date()
    }

    fn clear(&mut self) {
        self.volume = 0.0;
        self.mean = f64::NAN;
        self.m2 = 0.0;
    }
}

impl Indicator for Vwap {
    type Input = Print;

    #[inline]
    fn update(&mut self, print: Print) -> Result<f64, IndicatorError> {
        let print = print.checked()?;
        match self.anchor.place(print.ts) {
            Anchored::Outside => return Ok(self.mean),
            Anchored::NewSession => self.clear(),
            Anchored::Same => {}
        }
        if print.size > 0.0 {
            if self.volume == 0.0 {
                self.volume = print.size;
                self.mean = print.price;
            } else {
                self.volume += print.size;
                let delta = print.price - self.mean;
                self.mean += delta * print.size / self.volume;
                self.m2 += print.size * delta * (print.price - self.mean);
            }
        }
        Ok(self.mean)
    }

    fn value(&self) -> f64 {
        self.mean
    }

    fn initialized(&self) -> bool {
        self.volume > 0.0
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
    use crate::sessions::{SessionCalendar, SessionKind, NANOS_PER_DAY};
    use std::sync::Arc;

    fn print(ts: i64, price: f64, size: f64) -> Print {
        Print {
            ts,
            price,
            size,
            aggressor: Aggressor::Unknown,
        }
    }

    #[test]
    fn weighted_mean_and_bands() {
        let mut vwap = Vwap::new(SessionAnchor::new(None));
        vwap.update(print(0, 10.0, 1.0)).unwrap();
        vwap.update(print(0, 20.0, 3.0)).unwrap();
        assert_eq!(vwap.value(), 17.5);
        // Weighted variance: (1 * 7.5^2 + 3 * 2.5^2) / 4 = 18.75.
        assert!((vwap.std_dev() - 18.75f64.sqrt()).abs() < 1e-12);
        let (lo, hi) = vwap.band(2.0).unwrap();
        assert!((hi - lo - 4.0 * 18.75f64.sqrt()).abs() < 1e-12);
        assert_eq!(vwap.band(f64::NAN), Err(IndicatorError::NonFinite("k")));
        assert!(matches!(
            vwap.band(-1.0),
            Err(IndicatorError::InvalidParameter(_))
        ));
        assert_eq!(
            vwap.update(print(0, f64::NAN, 1.0)),
            Err(IndicatorError::NonFinite("price"))
        );
        assert_eq!(
            vwap.update(print(0, 1.0, -1.0)),
            Err(IndicatorError::NegativeVolume)
        );
    }

    #[test]
    fn resets_at_the_session_boundary_and_ignores_the_halt() {
        let cal = Arc::new(SessionCalendar::cme_fixed(0));
        let mut vwap = Vwap::new(SessionAnchor::new(Some((cal, SessionKind::Eth))));
        let monday = 19_723 * NANOS_PER_DAY;
        let hour = NANOS_PER_DAY / 24;
        vwap.update(print(monday + 10 * hour, 100.0, 1.0)).unwrap();
        vwap.update(print(monday + 11 * hour, 200.0, 1.0)).unwrap();
        assert_eq!(vwap.value(), 150.0);
        // 16:30 is the halt: ignored.
        vwap.update(print(monday + 16 * hour + hour / 2, 1.0, 5.0))
            .unwrap();
        assert_eq!(vwap.value(), 150.0);
        // 17:00 opens Tuesday's session.
        vwap.update(print(monday + 17 * hour, 300.0, 1.0)).unwrap();
        assert_eq!(vwap.value(), 300.0);
        assert_eq!(vwap.trading_date(), Some(19_724));
    }
}

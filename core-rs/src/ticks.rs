//! Prices as integer ticks.
//!
//! A contract's tick size is held exactly as an integer number of nano-units (1e-9 of a price
//! point), which covers every CME tick size in the instruments table (0.25, 0.1, 1/64, 1/256,
//! 0.0000005, ...). A price converts to ticks through `price / tick`; anything within
//! `ON_TICK_EPSILON` of a whole tick (or of a half tick, for ties) is binary float noise and is
//! snapped, so `2034.3` is exactly 20343 ticks of 0.1 in every rounding mode. Ticks convert back
//! as `ticks * nanos / 1e9`, the double nearest to the decimal price, so `20343 -> 2034.3`.
//! Exact for |price / tick| below 1e9 ticks; refused (`Overflow`) above 1e12.

use std::fmt;

/// Nano-units per price point.
pub const NANOS_PER_POINT: i64 = 1_000_000_000;
const NANOS_PER_POINT_F: f64 = 1e9;
/// Distance from a whole (or half) tick, in ticks, below which a price counts as on it.
pub const ON_TICK_EPSILON: f64 = 1e-6;
/// Largest |price / tick| accepted.
const MAX_TICKS: f64 = 1e12;

/// Why a tick computation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickError {
    /// The price was NaN or infinite.
    NonFinitePrice,
    /// The tick size was not finite, not positive, or not a whole number of nano-units.
    InvalidTickSize,
    /// The price or tick count is too large to represent.
    Overflow,
}

impl fmt::Display for TickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TickError::NonFinitePrice => write!(f, "price must be a finite number"),
            TickError::InvalidTickSize => write!(
                f,
                "tick size must be a finite positive multiple of 0.000000001"
            ),
            TickError::Overflow => write!(f, "price or tick count out of range"),
        }
    }
}

impl std::error::Error for TickError {}

/// How to round a price that is not on the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// To the nearest tick; a price exactly halfway goes away from zero.
    Nearest,
    /// To the tick at or below the price (toward negative infinity).
    Down,
    /// To the tick at or above the price (toward positive infinity).
    Up,
}

/// A contract's minimum price increment, held exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TickSize {
    nanos: i64,
}

impl TickSize {
    /// Builds a tick size from its decimal value, e.g. `0.25`.
    pub fn new(tick: f64) -> Result<Self, TickError> {
        if !tick.is_finite() || tick <= 0.0 || tick > 1e9 {
            return Err(TickError::InvalidTickSize);
        }
        let nanos_f = (tick * NANOS_PER_POINT_F).round();
        if nanos_f < 1.0 {
            return Err(TickError::InvalidTickSize);
        }
        // Refuse values that are not (close to) a whole number of nano-units, e.g. 1/3.
        let back = nanos_f / NANOS_PER_POINT_F;
        if ((back - tick) / tick).abs() > 1e-12 {
            return Err(TickError::InvalidTickSize);
        }
        Ok(Self {
            nanos: nanos_f as i64,
        })
    }

    /// Builds a tick size from a whole number of nano-units.
    pub fn from_nanos(nanos: i64) -> Result<Self, TickError> {
        if nanos <= 0 {
            return Err(TickError::InvalidTickSize);
        }
        Ok(Self { nanos })
    }

    /// The tick size in nano-units.
    #[inline]
    pub fn nanos(self) -> i64 {
        self.nanos
    }

    /// The tick size as a float (the nearest double to its decimal value).
    #[inline]
    pub fn value(self) -> f64 {
        self.nanos as f64 / NANOS_PER_POINT_F
    }

    /// `price / tick`, checked.
    #[inline]
    fn ratio(self, price: f64) -> Result<f64, TickError> {
        if !price.is_finite() {
            return Err(TickError::NonFinitePrice);
        }
        let x = price / self.value();
        if x.abs() > MAX_TICKS {
            return Err(TickError::Overflow);
        }
        Ok(x)
    }

    /// The number of ticks in `price`, rounded as asked.
    #[inline]
    pub fn to_ticks(self, price: f64, rounding: Rounding) -> Result<i64, TickError> {
        let x = self.ratio(price)?;
        let nearest = x.round(); // half away from zero
        if (x - nearest).abs() <= ON_TICK_EPSILON {
            return Ok(nearest as i64);
        }
        let ticks = match rounding {
            Rounding::Down => x.floor(),
            Rounding::Up => x.ceil(),
            Rounding::Nearest => {
                let floor = x.floor();
                if (x - floor - 0.5).abs() <= ON_TICK_EPSILON {
                    // A tie blurred by float noise: away from zero, like `round`.
                    if x >= 0.0 {
                        floor + 1.0
                    } else {
                        floor
                    }
                } else {
                    nearest
                }
            }
        };
        Ok(ticks as i64)
    }

    /// The price of a whole number of ticks.
    #[inline]
    pub fn to_price(self, ticks: i64) -> Result<f64, TickError> {
        let n = ticks.checked_mul(self.nanos).ok_or(TickError::Overflow)?;
        Ok(n as f64 / NANOS_PER_POINT_F)
    }

    /// `price` moved onto the tick grid.
    #[inline]
    pub fn round(self, price: f64, rounding: Rounding) -> Result<f64, TickError> {
        self.to_price(self.to_ticks(price, rounding)?)
    }

    /// Whether `price` lies on the tick grid (within `ON_TICK_EPSILON` ticks).
    #[inline]
    pub fn is_on_tick(self, price: f64) -> Result<bool, TickError> {
        let x = self.ratio(price)?;
        Ok((x - x.round()).abs() <= ON_TICK_EPSILON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(x: f64) -> TickSize {
        TickSize::new(x).unwrap()
    }

    #[test]
    fn builds_every_table_tick_size_exactly() {
        for (tick, nanos) in [
            (0.25, 250_000_000),
            (0.1, 100_000_000),
            (0.01, 10_000_000),
            (1.0, 1_000_000_000),
            (5.0, 5_000_000_000),
            (0.005, 5_000_000),
            (0.0005, 500_000),
            (0.00005, 50_000),
            (0.0000005, 500),
            (1.0 / 64.0, 15_625_000),
            (1.0 / 128.0, 7_812_500),
            (1.0 / 256.0, 3_906_250),
        ] {
            assert_eq!(t(tick).nanos(), nanos, "tick {tick}");
        }
    }

    #[test]
    fn refuses_bad_tick_sizes() {
        for bad in [0.0, -0.25, f64::NAN, f64::INFINITY, 1.0 / 3.0, 1e-12] {
            assert_eq!(TickSize::new(bad), Err(TickError::InvalidTickSize), "{bad}");
        }
        assert_eq!(TickSize::from_nanos(0), Err(TickError::InvalidTickSize));
    }

    #[test]
    fn rounds_float_noise_onto_the_grid() {
        let gold = t(0.1);
        assert_eq!(gold.to_ticks(2034.3, Rounding::Nearest), Ok(20343));
        assert_eq!(gold.to_ticks(2034.3, Rounding::Down), Ok(20343));
        assert_eq!(gold.to_ticks(2034.3, Rounding::Up), Ok(20343));
        assert_eq!(gold.to_price(20343), Ok(2034.3));
        assert_eq!(gold.round(0.1 + 0.2, Rounding::Nearest), Ok(0.3));
        assert_eq!(gold.is_on_tick(2034.3), Ok(true));
        assert_eq!(gold.is_on_tick(2034.35), Ok(false));
        // 2034.35 / 0.1 is 20343.499999999996 in floats: still a tie, still away from zero.
        assert_eq!(gold.to_ticks(2034.35, Rounding::Nearest), Ok(20344));
        assert_eq!(gold.to_ticks(-2034.35, Rounding::Nearest), Ok(-20344));
        assert_eq!(gold.to_ticks(2034.35, Rounding::Down), Ok(20343));
    }

    #[test]
    fn rounds_in_each_direction() {
        let es = t(0.25);
        assert_eq!(es.round(5000.1, Rounding::Nearest), Ok(5000.0));
        assert_eq!(es.round(5000.13, Rounding::Nearest), Ok(5000.25));
        assert_eq!(es.round(5000.125, Rounding::Nearest), Ok(5000.25)); // tie away from zero
        assert_eq!(es.round(-5000.125, Rounding::Nearest), Ok(-5000.25));
        assert_eq!(es.round(5000.01, Rounding::Up), Ok(5000.25));
        assert_eq!(es.round(5000.24, Rounding::Down), Ok(5000.0));
        assert_eq!(es.round(-0.01, Rounding::Down), Ok(-0.25));
        assert_eq!(es.round(-0.01, Rounding::Up), Ok(0.0));
    }

    #[test]
    fn refuses_non_finite_and_huge_prices() {
        let es = t(0.25);
        assert_eq!(
            es.to_ticks(f64::NAN, Rounding::Nearest),
            Err(TickError::NonFinitePrice)
        );
        assert_eq!(
            es.to_ticks(f64::NEG_INFINITY, Rounding::Up),
            Err(TickError::NonFinitePrice)
        );
        assert_eq!(es.to_ticks(1e12, Rounding::Up), Err(TickError::Overflow));
        assert_eq!(
            es.to_ticks(-1e12, Rounding::Nearest),
            Err(TickError::Overflow)
        );
        assert_eq!(es.to_price(i64::MAX), Err(TickError::Overflow));
    }

    proptest! {
        #[test]
        fn ticks_round_trip(ticks in -100_000_000i64..100_000_000, idx in 0usize..6) {
            let sizes = [0.25, 0.1, 0.01, 1.0 / 64.0, 0.0000005, 5.0];
            let size = t(sizes[idx]);
            let price = size.to_price(ticks).unwrap();
            prop_assert_eq!(size.to_ticks(price, Rounding::Nearest).unwrap(), ticks);
            prop_assert_eq!(size.to_ticks(price, Rounding::Down).unwrap(), ticks);
            prop_assert_eq!(size.to_ticks(price, Rounding::Up).unwrap(), ticks);
            prop_assert!(size.is_on_tick(price).unwrap());
        }

        #[test]
        fn rounding_brackets_the_price(price in -1.0e6f64..1.0e6, idx in 0usize..4) {
            let sizes = [0.25, 0.1, 0.01, 1.0 / 32.0];
            let size = t(sizes[idx]);
            let down = size.round(price, Rounding::Down).unwrap();
            let up = size.round(price, Rounding::Up).unwrap();
            let near = size.round(price, Rounding::Nearest).unwrap();
            let eps = 1e-9;
            prop_assert!(down <= price + eps && price <= up + eps);
            prop_assert!(up - down <= size.value() + eps);
            prop_assert!(near == down || near == up);
            prop_assert!((near - price).abs() <= size.value() / 2.0 + eps);
        }
    }
}

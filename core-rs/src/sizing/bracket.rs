//! Stop-loss and take-profit prices from a distance in points, in ATR multiples or (for the
//! target) in R multiples of the stop distance, on the tick grid.
//!
//! Rounding goes the safe way: the stop distance is rounded **toward entry** (the loss never
//! exceeds what was asked, nor the max risk points), the target distance **away from entry**
//! (reward:risk never falls below what was asked, so the order passes the R:R check). The entry
//! is put on the nearest tick first.

use super::error::{positive, SizingError};
use crate::side::Side;
use crate::ticks::{Rounding, TickSize};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopDistance {
    Points(f64),
    Atr { atr: f64, multiple: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetDistance {
    Points(f64),
    Atr {
        atr: f64,
        multiple: f64,
    },
    /// Multiples of the (rounded) stop distance.
    R(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bracket {
    pub entry: f64,
    pub stop_loss: f64,
    pub take_profit: Option<f64>,
    /// Distances from entry in whole ticks, both > 0.
    pub stop_ticks: i64,
    pub target_ticks: Option<i64>,
}

fn distance_ticks(points: f64, tick: TickSize, rounding: Rounding) -> Result<i64, SizingError> {
    tick.to_ticks(points, rounding)
        .map_err(|_| SizingError::Overflow)
}

fn points_of_atr(atr: f64, multiple: f64) -> Result<f64, SizingError> {
    Ok(positive(atr, "ATR")? * positive(multiple, "ATR multiple")?)
}

pub fn bracket(
    side: Side,
    entry: f64,
    tick: TickSize,
    stop: StopDistance,
    target: Option<TargetDistance>,
) -> Result<Bracket, SizingError> {
    let entry_ticks = tick
        .to_ticks(positive(entry, "entry")?, Rounding::Nearest)
        .map_err(|_| SizingError::Overflow)?;
    let stop_points = match stop {
        StopDistance::Points(p) => positive(p, "stop distance")?,
        StopDistance::Atr { atr, multiple } => points_of_atr(atr, multiple)?,
    };
    let stop_ticks = distance_ticks(stop_points, tick, Rounding::Down)?;
    if stop_ticks < 1 {
        return Err(SizingError::StopTooClose);
    }
    let target_ticks = match target {
        None => None,
        Some(TargetDistance::Points(p)) => Some(distance_ticks(
            positive(p, "target distance")?,
            tick,
            Rounding::Up,
        )?),
        Some(TargetDistance::Atr { atr, multiple }) => Some(distance_ticks(
            points_of_atr(atr, multiple)?,
            tick,
            Rounding::Up,
        )?),
        Some(TargetDistance::R(r)) => {
            let raw = positive(r, "R multiple")? * stop_ticks as f64;
            // Within float noise of a whole tick counts as that tick.
            let nearest = raw.round();
            Some(if (raw - nearest).abs() <= 1e-9 * raw.max(1.0) {
                nearest
            } else {
                raw.ceil()
            } as i64)
        }
    };
    let sign = side.sign();
    let price = |ticks: i64| -> Result<f64, SizingError> {
        if ticks <= 0 {
            return Err(SizingError::NonPositivePrice);
        }
        tick.to_price(ticks).map_err(|_| SizingError::Overflow)
    };
    let entry_price = price(entry_ticks)?;
    let stop_loss = price(entry_ticks - sign * stop_ticks)?;
    let take_profit = target_ticks
        .map(|t| price(entry_ticks + sign * t))
        .transpose()?;
    Ok(Bracket {
        entry: entry_price,
        stop_loss,
        take_profit,
        stop_ticks,
        target_ticks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(x: f64) -> TickSize {
        TickSize::new(x).unwrap()
    }

    #[test]
    fn rounds_the_stop_toward_entry_and_the_target_away() {
        // Long ES at 5000, stop 2.1 points -> 2.0 (8 ticks), target 2R -> 16 ticks.
        let b = bracket(
            Side::Buy,
            5000.0,
            t(0.25),
            StopDistance::Points(2.1),
            Some(TargetDistance::R(2.0)),
        )
        .unwrap();
        assert_eq!(
            (b.stop_loss, b.take_profit, b.stop_ticks),
            (4998.0, Some(5004.0), 8)
        );
        // Short MGC at 2000.0, ATR 1.23 x 1.5 = 1.845 -> 1.8 stop; target 1.5R of 18 ticks = 27.
        let b = bracket(
            Side::Sell,
            2000.0,
            t(0.1),
            StopDistance::Atr {
                atr: 1.23,
                multiple: 1.5,
            },
            Some(TargetDistance::R(1.5)),
        )
        .unwrap();
        assert_eq!((b.stop_loss, b.take_profit), (2001.8, Some(1997.3)));
        // A target in points is rounded away from entry: 3.1 -> 3.25.
        let b = bracket(
            Side::Buy,
            5000.0,
            t(0.25),
            StopDistance::Points(1.0),
            Some(TargetDistance::Points(3.1)),
        )
        .unwrap();
        assert_eq!(b.take_profit, Some(5003.25));
        assert_eq!(
            bracket(Side::Buy, 5000.0, t(0.25), StopDistance::Points(0.2), None),
            Err(SizingError::StopTooClose)
        );
        assert_eq!(
            bracket(Side::Buy, 1.0, t(0.25), StopDistance::Points(1.0), None),
            Err(SizingError::NonPositivePrice)
        );
    }
}

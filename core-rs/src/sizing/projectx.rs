//! ProjectX bracket offsets (`stopLossBracket.ticks`, `takeProfitBracket.ticks`): signed whole
//! ticks relative to the entry. Long: stop-loss negative, take-profit positive; short: stop-loss
//! positive, take-profit negative. The gateway refuses the wrong signs.

use super::error::SizingError;
use crate::side::Side;
use crate::ticks::{Rounding, TickSize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BracketTicks {
    pub stop_loss: i64,
    pub take_profit: Option<i64>,
}

/// Signed offsets from unsigned distances (both must be > 0).
pub fn bracket_ticks(
    side: Side,
    stop_ticks: i64,
    target_ticks: Option<i64>,
) -> Result<BracketTicks, SizingError> {
    if stop_ticks <= 0 || target_ticks.is_some_and(|t| t <= 0) {
        return Err(SizingError::NotPositive("bracket distance"));
    }
    let sign = side.sign();
    Ok(BracketTicks {
        stop_loss: -sign * stop_ticks,
        take_profit: target_ticks.map(|t| sign * t),
    })
}

/// Signed offsets from absolute prices; every price must be on the tick and on its side.
pub fn bracket_ticks_from_prices(
    side: Side,
    entry: f64,
    stop_loss: f64,
    take_profit: Option<f64>,
    tick: TickSize,
) -> Result<BracketTicks, SizingError> {
    let ticks = |p: f64, what: &'static str| -> Result<i64, SizingError> {
        if !p.is_finite() {
            return Err(SizingError::NonFinite(what));
        }
        tick.to_ticks(p, Rounding::Nearest)
            .map_err(|_| SizingError::Overflow)
    };
    let entry = ticks(entry, "entry")?;
    let sign = side.sign();
    let stop = (entry - ticks(stop_loss, "stop-loss")?) * sign;
    if stop <= 0 {
        return Err(SizingError::WrongSide("stop-loss"));
    }
    let target = match take_profit {
        None => None,
        Some(tp) => {
            let t = (ticks(tp, "take-profit")? - entry) * sign;
            if t <= 0 {
                return Err(SizingError::WrongSide("take-profit"));
            }
            Some(t)
        }
    };
    bracket_ticks(side, stop, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_gateway_sign_convention() {
        let long = bracket_ticks(Side::Buy, 8, Some(16)).unwrap();
        assert_eq!((long.stop_loss, long.take_profit), (-8, Some(16)));
        let short = bracket_ticks(Side::Sell, 8, Some(16)).unwrap();
        assert_eq!((short.stop_loss, short.take_profit), (8, Some(-16)));
        let es = TickSize::new(0.25).unwrap();
        assert_eq!(
            bracket_ticks_from_prices(Side::Sell, 5000.0, 5002.0, Some(4996.0), es),
            Ok(BracketTicks {
                stop_loss: 8,
                take_profit: Some(-16)
            })
        );
        assert_eq!(
            bracket_ticks_from_prices(Side::Buy, 5000.0, 5002.0, None, es),
            Err(SizingError::WrongSide("stop-loss"))
        );
    }
}

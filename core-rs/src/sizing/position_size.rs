//! `contracts = floor(dollar_risk / (risk_points x point_value))`, capped.
//!
//! The risk distance is first put on the tick grid **upward** (a wider stop means fewer
//! contracts: the safe direction), then money is compared in integer micro-dollars.

use super::error::{positive, SizingError};
use crate::ticks::{Rounding, TickSize};

const MICROS: f64 = 1e6;

fn micro_dollars(x: f64) -> Result<i128, SizingError> {
    let m = (x * MICROS).round();
    if m >= 1e30 {
        return Err(SizingError::Overflow);
    }
    Ok(m as i128)
}

/// Whole ticks covering `risk_points` (rounded up).
pub fn risk_ticks_for_points(risk_points: f64, tick: TickSize) -> Result<i64, SizingError> {
    let points = positive(risk_points, "risk points")?;
    tick.to_ticks(points, Rounding::Up)
        .map_err(|_| SizingError::Overflow)
}

/// Contracts for a stop `risk_ticks` away; `tick_value` in USD per tick per contract.
pub fn contracts_for_risk_ticks(
    dollar_risk: f64,
    risk_ticks: i64,
    tick_value: f64,
    max_contracts: i64,
) -> Result<i64, SizingError> {
    positive(dollar_risk, "dollar risk")?;
    positive(tick_value, "tick value")?;
    if risk_ticks <= 0 {
        return Err(SizingError::NotPositive("risk ticks"));
    }
    let per_contract = i128::from(risk_ticks) * micro_dollars(tick_value)?;
    let contracts = micro_dollars(dollar_risk)? / per_contract;
    Ok(contracts.min(i128::from(max_contracts.max(0))) as i64)
}

/// Contracts for a stop `risk_points` away on a contract with `tick` and `point_value`.
pub fn contracts_for_risk(
    dollar_risk: f64,
    risk_points: f64,
    tick: TickSize,
    point_value: f64,
    max_contracts: i64,
) -> Result<i64, SizingError> {
    positive(point_value, "point value")?;
    let ticks = risk_ticks_for_points(risk_points, tick)?;
    contracts_for_risk_ticks(
        dollar_risk,
        ticks,
        tick.value() * point_value,
        max_contracts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(x: f64) -> TickSize {
        TickSize::new(x).unwrap()
    }

    #[test]
    fn floors_exactly_and_caps() {
        // ES: $100 at 2 points x $50 = exactly 1.
        assert_eq!(contracts_for_risk(100.0, 2.0, t(0.25), 50.0, 10), Ok(1));
        // CL: 0.3 points x $1000 = $300: exactly 1, though 0.3 * 1000 is 300.00000000000006.
        assert_eq!(contracts_for_risk(300.0, 0.3, t(0.01), 1000.0, 10), Ok(1));
        assert_eq!(contracts_for_risk(299.99, 0.3, t(0.01), 1000.0, 10), Ok(0));
        // MGC: $100 at 3 points x $10 = 3.33 -> 3; capped at 2.
        assert_eq!(contracts_for_risk(100.0, 3.0, t(0.1), 10.0, 10), Ok(3));
        assert_eq!(contracts_for_risk(100.0, 3.0, t(0.1), 10.0, 2), Ok(2));
        // A distance off the grid is widened to the next tick: 1.1 points of ES -> 1.25.
        assert_eq!(risk_ticks_for_points(1.1, t(0.25)), Ok(5));
        assert_eq!(contracts_for_risk(62.5, 1.1, t(0.25), 50.0, 10), Ok(1));
        assert_eq!(
            contracts_for_risk(f64::NAN, 1.0, t(0.25), 50.0, 1),
            Err(SizingError::NonFinite("dollar risk"))
        );
        assert_eq!(
            contracts_for_risk(100.0, 0.0, t(0.25), 50.0, 1),
            Err(SizingError::NotPositive("risk points"))
        );
    }
}

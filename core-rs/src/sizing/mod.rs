//! Position sizing from dollar risk, bracket prices and ProjectX bracket tick offsets.
//!
//! Money is held in integer micro-dollars and distances in integer ticks, so
//! `floor(dollar_risk / (risk_points * point_value))` has no float edge: $300 at 0.3 points of
//! CL ($1000 a point) is exactly 1 contract, never 0.99999.

mod bracket;
mod error;
mod position_size;
mod projectx;

pub use bracket::{bracket, Bracket, StopDistance, TargetDistance};
pub use error::SizingError;
pub use position_size::{contracts_for_risk, contracts_for_risk_ticks, risk_ticks_for_points};
pub use projectx::{bracket_ticks, bracket_ticks_from_prices, BracketTicks};

//! Why the matcher refused a fill (the matcher is left as it was) or its contract spec.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum MatchError {
    /// A contract spec the matcher cannot use (names the figure).
    InvalidSpec(&'static str),
    /// A fill of another bot or symbol than the matcher's.
    Foreign {
        fill_id: String,
        bot_id: String,
        symbol: String,
        matcher_bot: String,
        matcher_symbol: String,
    },
    /// A fill id already applied.
    Duplicate(String),
    /// A quantity that is not > 0.
    InvalidQuantity { fill_id: String, quantity: i64 },
    /// A price that is not finite, or fees that are not finite and >= 0 (names which): the
    /// risk engine refuses such a fill before it reaches the ledger.
    InvalidNumber {
        fill_id: String,
        what: &'static str,
        value: f64,
    },
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSpec(what) => write!(f, "invalid contract spec: {what}"),
            Self::Foreign {
                fill_id,
                bot_id,
                symbol,
                matcher_bot,
                matcher_symbol,
            } => write!(
                f,
                "fill {fill_id} is for {bot_id}/{symbol}, this matcher is {matcher_bot}/{matcher_symbol}"
            ),
            Self::Duplicate(fill_id) => write!(f, "fill {fill_id} was already applied"),
            Self::InvalidQuantity { fill_id, quantity } => {
                write!(f, "fill {fill_id}: quantity must be > 0, got {quantity}")
            }
            Self::InvalidNumber {
                fill_id,
                what,
                value,
            } => write!(f, "fill {fill_id}: invalid {what} {value}"),
        }
    }
}

impl std::error::Error for MatchError {}

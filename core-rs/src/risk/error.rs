//! Why the risk engine refused an update (a fill, a mark, a configuration), as opposed to an
//! order, which gets a verdict.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum RiskInputError {
    UnknownSymbol(String),
    InvalidQuantity(i64),
    NonFinite(&'static str),
    InvalidLimit(&'static str),
}

impl fmt::Display for RiskInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSymbol(s) => write!(f, "unknown symbol {s:?}"),
            Self::InvalidQuantity(q) => write!(f, "quantity must be > 0, got {q}"),
            Self::NonFinite(what) => write!(f, "{what} must be a finite number"),
            Self::InvalidLimit(what) => write!(f, "invalid risk limit: {what}"),
        }
    }
}

impl std::error::Error for RiskInputError {}

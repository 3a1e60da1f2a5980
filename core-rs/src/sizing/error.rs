//! Why a size or a bracket could not be computed.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizingError {
    /// A NaN or infinite input (names it).
    NonFinite(&'static str),
    /// An input that must be > 0 was not (names it).
    NotPositive(&'static str),
    /// A stop distance shorter than one tick (rounding it toward entry leaves nothing).
    StopTooClose,
    /// A stop-loss or take-profit on the wrong side of entry.
    WrongSide(&'static str),
    /// A bracket price at or below zero.
    NonPositivePrice,
    /// A value too large to represent.
    Overflow,
}

impl fmt::Display for SizingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFinite(what) => write!(f, "{what} must be a finite number"),
            Self::NotPositive(what) => write!(f, "{what} must be > 0"),
            Self::StopTooClose => write!(f, "the stop distance is shorter than one tick"),
            Self::WrongSide(what) => write!(f, "the {what} is on the wrong side of entry"),
            Self::NonPositivePrice => write!(f, "a bracket price would be <= 0"),
            Self::Overflow => write!(f, "value out of range"),
        }
    }
}

impl std::error::Error for SizingError {}

pub(crate) fn positive(x: f64, what: &'static str) -> Result<f64, SizingError> {
    if !x.is_finite() {
        Err(SizingError::NonFinite(what))
    } else if x <= 0.0 {
        Err(SizingError::NotPositive(what))
    } else {
        Ok(x)
    }
}

//! Why an indicator refused an input or a parameter.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicatorError {
    /// A NaN or infinite input (names the field), refused rather than poisoning the state.
    NonFinite(&'static str),
    /// A bar whose low is above its high.
    LowAboveHigh,
    /// A period outside 1..=100000.
    InvalidPeriod(usize),
    /// A negative volume or size.
    NegativeVolume,
    /// A parameter outside its range (names it).
    InvalidParameter(&'static str),
    /// Batch inputs of different lengths.
    LengthMismatch,
    /// A price too far from the others for a volume profile (more than `MAX_LEVELS` levels).
    ProfileTooWide,
}

impl fmt::Display for IndicatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFinite(what) => write!(f, "{what} must be a finite number (not NaN or inf)"),
            Self::LowAboveHigh => write!(f, "low must not be above high"),
            Self::InvalidPeriod(p) => write!(f, "period must be in 1..=100000, got {p}"),
            Self::NegativeVolume => write!(f, "volume must be >= 0"),
            Self::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            Self::LengthMismatch => write!(f, "input arrays must have the same length"),
            Self::ProfileTooWide => write!(f, "price range too wide for the volume profile"),
        }
    }
}

impl std::error::Error for IndicatorError {}

//! Streaming indicators: O(1) per update, one small trait, `update` the only place state changes.
//!
//! Warm-up follows TA-Lib: an indicator's value is NaN until it has seen enough input, and the
//! batch functions (`batch.rs`) run the very same streaming code over a whole series, so a batch
//! result is identical, bit for bit, to the streaming one.

mod adx;
mod atr;
pub mod batch;
mod cumulative_delta;
mod ema;
mod error;
mod print;
mod session_anchor;
mod sma;
mod true_range;
mod volume_profile;
mod vwap;

pub use adx::Adx;
pub use atr::Atr;
pub use cumulative_delta::{CumulativeDelta, Divergence};
pub use ema::Ema;
pub use error::IndicatorError;
pub use print::{prints, Aggressor, Print};
pub use session_anchor::{Anchored, SessionAnchor};
pub use sma::Sma;
pub use volume_profile::{ProfileLevels, ProfileParams, VolumeProfile, MAX_LEVELS};
pub use vwap::Vwap;

/// A bar's high, low and close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hlc {
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// What every indicator offers. `Input` is what one update consumes (a price, a bar, a trade).
pub trait Indicator {
    type Input;
    /// Feeds one input and returns the new value (NaN while warming up).
    fn update(&mut self, input: Self::Input) -> Result<f64, IndicatorError>;
    /// The current value (NaN while warming up).
    fn value(&self) -> f64;
    /// Whether the warm-up is over.
    fn initialized(&self) -> bool;
    /// Forgets all input.
    fn reset(&mut self);
}

/// `Err(NonFinite)` unless `x` is a finite number.
#[inline(always)]
pub(crate) fn finite(x: f64, what: &'static str) -> Result<f64, IndicatorError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(IndicatorError::NonFinite(what))
    }
}

/// A checked bar: finite values and `low <= high`.
#[inline(always)]
pub(crate) fn checked_hlc(bar: Hlc) -> Result<Hlc, IndicatorError> {
    finite(bar.high, "high")?;
    finite(bar.low, "low")?;
    finite(bar.close, "close")?;
    if bar.low > bar.high {
        return Err(IndicatorError::LowAboveHigh);
    }
    Ok(bar)
}

#[inline]
pub(crate) fn checked_period(period: usize) -> Result<usize, IndicatorError> {
    if (1..=100_000).contains(&period) {
        Ok(period)
    } else {
        Err(IndicatorError::InvalidPeriod(period))
    }
}

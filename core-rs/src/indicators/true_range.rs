//! Wilder's true range: `max(high - low, |high - prev_close|, |low - prev_close|)`.

#[inline(always)]
pub(crate) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let hl = high - low;
    let hc = (high - prev_close).abs();
    let lc = (low - prev_close).abs();
    // The same comparison order as TA-Lib's TRUE_RANGE macro.
    let mut tr = hl;
    if hc > tr {
        tr = hc;
    }
    if lc > tr {
        tr = lc;
    }
    tr
}

/// A smoothed value decaying through a flat market ends as a subnormal float that Wilder's
/// `x - x / n` never leaves, and subnormal arithmetic is several times slower: flush it to zero.
/// For ATR the value differs from TA-Lib by less than 1e-307. For ADX the DIs become 0 where
/// TA-Lib (which tests the smoothed true range exactly) goes on dividing subnormals, numbers
/// with a few bits of precision left: only after about `710 / -ln(1 - 1 / period)` zero-range
/// bars in a row (see `adx.rs`). Only for values that are never negative.
#[inline(always)]
pub(crate) fn flush_subnormal(x: f64) -> f64 {
    if x < f64::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

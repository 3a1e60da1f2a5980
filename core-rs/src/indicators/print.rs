//! A print on the tape: what the order-flow indicators (VWAP, volume profile, delta) consume.

/// Which side crossed the spread (ProjectX TradeLogType: 0 buy, 1 sell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggressor {
    Buy,
    Sell,
    Unknown,
}

impl Aggressor {
    /// +1 buy, -1 sell, 0 unknown (the encoding used in numpy batches).
    #[inline]
    pub fn from_sign(sign: i8) -> Self {
        match sign {
            1 => Self::Buy,
            -1 => Self::Sell,
            _ => Self::Unknown,
        }
    }

    #[inline]
    pub fn sign(self) -> f64 {
        match self {
            Self::Buy => 1.0,
            Self::Sell => -1.0,
            Self::Unknown => 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Print {
    /// UTC nanoseconds since the epoch.
    pub ts: i64,
    pub price: f64,
    pub size: f64,
    pub aggressor: Aggressor,
}

/// The prints in batch columns (`aggressor` None: unknown for all), checked first: the columns
/// must have one length and every aggressor must be -1, 0 or 1.
pub fn prints<'a>(
    ts: &'a [i64],
    price: &'a [f64],
    size: &'a [f64],
    aggressor: Option<&'a [i8]>,
) -> Result<impl Iterator<Item = Print> + 'a, super::IndicatorError> {
    let n = ts.len();
    if price.len() != n || size.len() != n || aggressor.is_some_and(|a| a.len() != n) {
        return Err(super::IndicatorError::LengthMismatch);
    }
    if aggressor.is_some_and(|a| a.iter().any(|s| !(-1..=1).contains(s))) {
        return Err(super::IndicatorError::InvalidParameter(
            "aggressor must be 1 (buy), -1 (sell) or 0 (unknown)",
        ));
    }
    Ok((0..n).map(move |i| Print {
        ts: ts[i],
        price: price[i],
        size: size[i],
        aggressor: aggressor.map_or(Aggressor::Unknown, |a| Aggressor::from_sign(a[i])),
    }))
}

impl Print {
    /// Finite price and size, size >= 0.
    #[inline]
    pub(crate) fn checked(self) -> Result<Self, super::IndicatorError> {
        super::finite(self.price, "price")?;
        super::finite(self.size, "size")?;
        if self.size < 0.0 {
            return Err(super::IndicatorError::NegativeVolume);
        }
        Ok(self)
    }
}

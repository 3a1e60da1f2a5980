//! Batch versions over whole series, for backtests: they run the streaming indicators in a loop,
//! so each output equals what the streaming indicator returned at that input, bit for bit.

use super::{Adx, Atr, Ema, Hlc, Indicator, IndicatorError, Sma};

fn run<I: Indicator<Input = f64>>(mut ind: I, values: &[f64]) -> Result<Vec<f64>, IndicatorError> {
    values.iter().map(|&x| ind.update(x)).collect()
}

fn bars<'a>(
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
) -> Result<impl Iterator<Item = Hlc> + 'a, IndicatorError> {
    if high.len() != low.len() || high.len() != close.len() {
        return Err(IndicatorError::LengthMismatch);
    }
    Ok(high
        .iter()
        .zip(low)
        .zip(close)
        .map(|((&high, &low), &close)| Hlc { high, low, close }))
}

pub fn ema(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    run(Ema::new(period)?, values)
}

pub fn sma(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    run(Sma::new(period)?, values)
}

pub fn atr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut atr = Atr::new(period)?;
    bars(high, low, close)?.map(|bar| atr.update(bar)).collect()
}

/// ADX, +DI and -DI series.
pub struct DmiSeries {
    pub adx: Vec<f64>,
    pub plus_di: Vec<f64>,
    pub minus_di: Vec<f64>,
}

pub fn dmi(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<DmiSeries, IndicatorError> {
    let mut adx = Adx::new(period)?;
    let n = high.len();
    let mut out = DmiSeries {
        adx: Vec::with_capacity(n),
        plus_di: Vec::with_capacity(n),
        minus_di: Vec::with_capacity(n),
    };
    for bar in bars(high, low, close)? {
        out.adx.push(adx.update(bar)?);
        out.plus_di.push(adx.plus_di());
        out.minus_di.push(adx.minus_di());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_equals_streaming() {
        let xs: Vec<f64> = (0..50).map(|i| ((i * 37) % 11) as f64 + 100.0).collect();
        let mut stream = Ema::new(5).unwrap();
        let expected: Vec<f64> = xs.iter().map(|&x| stream.update(x).unwrap()).collect();
        let got = ema(&xs, 5).unwrap();
        assert_eq!(got.len(), expected.len());
        for (a, b) in got.iter().zip(&expected) {
            assert!(a.to_bits() == b.to_bits());
        }
        assert_eq!(
            ema(&[1.0, f64::NAN], 1).unwrap_err(),
            IndicatorError::NonFinite("value")
        );
        assert_eq!(
            atr(&[1.0], &[1.0, 2.0], &[1.0], 2).unwrap_err(),
            IndicatorError::LengthMismatch
        );
        let h: Vec<f64> = xs.iter().map(|x| x + 1.0).collect();
        let l: Vec<f64> = xs.iter().map(|x| x - 1.0).collect();
        let d = dmi(&h, &l, &xs, 3).unwrap();
        assert!(d.adx[4].is_nan() && !d.adx[5].is_nan() && !d.plus_di[3].is_nan());
    }
}

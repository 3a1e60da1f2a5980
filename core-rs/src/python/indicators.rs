//! Python wrappers for `crate::indicators`: streaming classes (plain float arguments, no
//! keyword parsing on `update`) and the numpy batch functions.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use super::convert::{array, slice};
use super::sessions::{PySessionCalendar, PySessionKind};
use crate::indicators::batch;
use crate::indicators::{
    prints, Adx, Aggressor, Atr, CumulativeDelta, Divergence, Ema, Hlc, Indicator, IndicatorError,
    Print, ProfileParams, SessionAnchor, Sma, VolumeProfile, Vwap,
};
use crate::sessions::NANOS_PER_SECOND;
use crate::ticks::TickSize;

#[inline(always)]
fn hlc(high: f64, low: f64, close: f64) -> Hlc {
    Hlc { high, low, close }
}

/// `1` buy, `-1` sell, `0` unknown.
#[inline(always)]
pub(crate) fn aggressor(sign: i64) -> Result<Aggressor, IndicatorError> {
    match sign {
        1 => Ok(Aggressor::Buy),
        -1 => Ok(Aggressor::Sell),
        0 => Ok(Aggressor::Unknown),
        _ => Err(IndicatorError::InvalidParameter(
            "aggressor must be 1 (buy), -1 (sell) or 0 (unknown)",
        )),
    }
}

/// A pyclass over a period indicator: `new(period)`, `update(<float args>)`, `value`,
/// `initialized`, `period`, `count`, `reset()`, plus any extra methods given.
macro_rules! period_indicator {
    (
        $(#[$meta:meta])*
        $py:ident($inner:ident) as $name:tt;
        update($($arg:ident),+) => $input:expr;
        $($extra:tt)*
    ) => {
        $(#[$meta])*
        #[pyclass(name = $name, module = "tsxbot._core")]
        pub struct $py($inner);

        #[pymethods]
        impl $py {
            #[new]
            fn new(period: usize) -> PyResult<Self> {
                Ok(Self($inner::new(period)?))
            }
            fn update(&mut self, $($arg: f64),+) -> PyResult<f64> {
                Ok(self.0.update($input)?)
            }
            #[getter]
            fn value(&self) -> f64 {
                self.0.value()
            }
            #[getter]
            fn initialized(&self) -> bool {
                self.0.initialized()
            }
            #[getter]
            fn period(&self) -> usize {
                self.0.period()
            }
            #[getter]
            fn count(&self) -> usize {
                self.0.count()
            }
            fn reset(&mut self) {
                self.0.reset()
            }
            fn __repr__(&self) -> String {
                format!(concat!($name, "({}, value={})"), self.0.period(), self.0.value())
            }
            $($extra)*
        }
    };
}

period_indicator! {
    /// Exponential moving average (TA-Lib: SMA seed, alpha = 2 / (period + 1)).
    PyEma(Ema) as "EMA";
    update(value) => value;
    #[getter]
    fn alpha(&self) -> f64 {
        self.0.alpha()
    }
}

period_indicator! {
    /// Simple moving average.
    PySma(Sma) as "SMA";
    update(value) => value;
}

period_indicator! {
    /// Average true range, Wilder's smoothing (TA-Lib).
    PyAtr(Atr) as "ATR";
    update(high, low, close) => hlc(high, low, close);
}

period_indicator! {
    /// Average directional index with +DI / -DI (TA-Lib's ADX, PLUS_DI, MINUS_DI).
    PyAdx(Adx) as "ADX";
    update(high, low, close) => hlc(high, low, close);
    #[getter]
    fn plus_di(&self) -> f64 {
        self.0.plus_di()
    }
    #[getter]
    fn minus_di(&self) -> f64 {
        self.0.minus_di()
    }
}

/// Session-anchored VWAP with standard-deviation bands.
#[pyclass(name = "VWAP", module = "tsxbot._core")]
pub struct PyVwap(Vwap);

#[pymethods]
impl PyVwap {
    #[new]
    #[pyo3(signature = (calendar = None, session = PySessionKind::Eth))]
    fn new(calendar: Option<&Bound<'_, PySessionCalendar>>, session: PySessionKind) -> Self {
        Self(Vwap::new(SessionAnchor::new(PySessionCalendar::anchor(
            calendar, session,
        ))))
    }
    fn update(&mut self, ts_ns: i64, price: f64, size: f64) -> PyResult<f64> {
        Ok(self.0.update(Print {
            ts: ts_ns,
            price,
            size,
            aggressor: Aggressor::Unknown,
        })?)
    }
    /// Feeds whole arrays; returns the VWAP after each print.
    fn update_many<'py>(
        &mut self,
        py: Python<'py>,
        ts_ns: PyReadonlyArray1<'py, i64>,
        price: PyReadonlyArray1<'py, f64>,
        size: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (ts, price, size) = (slice(&ts_ns), slice(&price), slice(&size));
        let out: Result<Vec<f64>, _> = prints(&ts, &price, &size, None)?
            .map(|p| self.0.update(p))
            .collect();
        Ok(array(py, out?))
    }
    #[getter]
    fn value(&self) -> f64 {
        self.0.value()
    }
    #[getter]
    fn std_dev(&self) -> f64 {
        self.0.std_dev()
    }
    #[getter]
    fn volume(&self) -> f64 {
        self.0.volume()
    }
    #[getter]
    fn trading_date(&self) -> Option<i64> {
        self.0.trading_date()
    }
    /// `(vwap - k sd, vwap + k sd)`.
    fn band(&self, k: f64) -> PyResult<(f64, f64)> {
        Ok(self.0.band(k)?)
    }
    #[getter]
    fn initialized(&self) -> bool {
        self.0.initialized()
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn __repr__(&self) -> String {
        format!(
            "VWAP(value={}, std_dev={})",
            self.0.value(),
            self.0.std_dev()
        )
    }
}

/// Volume by price level: POC, value area, HVN / LVN.
#[pyclass(name = "VolumeProfile", module = "tsxbot._core")]
pub struct PyVolumeProfile(VolumeProfile);

#[pymethods]
impl PyVolumeProfile {
    #[new]
    #[pyo3(signature = (tick_size, calendar = None, session = PySessionKind::Eth, value_area_fraction = 0.7, hvn_ratio = 1.5, lvn_ratio = 0.5, window_seconds = None))]
    fn new(
        tick_size: f64,
        calendar: Option<&Bound<'_, PySessionCalendar>>,
        session: PySessionKind,
        value_area_fraction: f64,
        hvn_ratio: f64,
        lvn_ratio: f64,
        window_seconds: Option<f64>,
    ) -> PyResult<Self> {
        let window_ns = match window_seconds {
            None => None,
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => {
                Some((s * NANOS_PER_SECOND as f64) as i64)
            }
            Some(_) => return Err(IndicatorError::InvalidParameter("window must be > 0").into()),
        };
        let params = ProfileParams {
            value_area_fraction,
            hvn_ratio,
            lvn_ratio,
            window_ns,
        };
        let anchor = SessionAnchor::new(PySessionCalendar::anchor(calendar, session));
        Ok(Self(VolumeProfile::new(
            TickSize::new(tick_size)?,
            params,
            anchor,
        )?))
    }
    fn update(&mut self, ts_ns: i64, price: f64, size: f64) -> PyResult<f64> {
        Ok(self.0.update(Print {
            ts: ts_ns,
            price,
            size,
            aggressor: Aggressor::Unknown,
        })?)
    }
    /// Feeds whole arrays; returns the POC after the last print.
    fn update_many(
        &mut self,
        ts_ns: PyReadonlyArray1<'_, i64>,
        price: PyReadonlyArray1<'_, f64>,
        size: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<f64> {
        let (ts, price, size) = (slice(&ts_ns), slice(&price), slice(&size));
        for print in prints(&ts, &price, &size, None)? {
            self.0.update(print)?;
        }
        Ok(self.0.value())
    }
    /// Point of control.
    #[getter]
    fn value(&self) -> f64 {
        self.0.poc()
    }
    #[getter]
    fn poc(&self) -> f64 {
        self.0.poc()
    }
    #[getter]
    fn value_area(&self) -> (f64, f64) {
        self.0.value_area()
    }
    #[getter]
    fn hvn(&self) -> Vec<f64> {
        self.0.hvn()
    }
    #[getter]
    fn lvn(&self) -> Vec<f64> {
        self.0.lvn()
    }
    #[getter]
    fn total_volume(&self) -> f64 {
        self.0.total_volume()
    }
    #[getter]
    fn trading_date(&self) -> Option<i64> {
        self.0.trading_date()
    }
    /// `(prices, volumes)` from the lowest to the highest traded level, as numpy arrays.
    fn levels<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>) {
        let (prices, volumes) = self.0.levels();
        (array(py, prices), array(py, volumes))
    }
    fn volume_at(&self, price: f64) -> PyResult<f64> {
        Ok(self.0.volume_at(price)?)
    }
    #[getter]
    fn initialized(&self) -> bool {
        self.0.initialized()
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn __repr__(&self) -> String {
        format!(
            "VolumeProfile(poc={}, volume={})",
            self.0.poc(),
            self.0.total_volume()
        )
    }
}

/// Divergence between cumulative delta and price at the last closed bar.
#[pyclass(
    name = "Divergence",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyDivergence {
    #[pyo3(name = "NONE")]
    None,
    #[pyo3(name = "BULLISH")]
    Bullish,
    #[pyo3(name = "BEARISH")]
    Bearish,
}

/// Buy/sell volume by aggressor, bar delta, cumulative delta and divergence.
#[pyclass(name = "CumulativeDelta", module = "tsxbot._core")]
pub struct PyCumulativeDelta(CumulativeDelta);

#[pymethods]
impl PyCumulativeDelta {
    #[new]
    #[pyo3(signature = (lookback = 5, calendar = None, session = PySessionKind::Eth))]
    fn new(
        lookback: usize,
        calendar: Option<&Bound<'_, PySessionCalendar>>,
        session: PySessionKind,
    ) -> PyResult<Self> {
        let anchor = SessionAnchor::new(PySessionCalendar::anchor(calendar, session));
        Ok(Self(CumulativeDelta::new(lookback, anchor)?))
    }
    fn update(&mut self, ts_ns: i64, price: f64, size: f64, aggressor: i64) -> PyResult<f64> {
        Ok(self.0.update(Print {
            ts: ts_ns,
            price,
            size,
            aggressor: self::aggressor(aggressor)?,
        })?)
    }
    /// Feeds whole arrays (`aggressor`: int8, 1 buy, -1 sell, 0 unknown); returns the
    /// cumulative delta after the last print.
    fn update_many(
        &mut self,
        ts_ns: PyReadonlyArray1<'_, i64>,
        price: PyReadonlyArray1<'_, f64>,
        size: PyReadonlyArray1<'_, f64>,
        aggressor: PyReadonlyArray1<'_, i8>,
    ) -> PyResult<f64> {
        let (ts, price, size, side) = (
            slice(&ts_ns),
            slice(&price),
            slice(&size),
            slice(&aggressor),
        );
        for print in prints(&ts, &price, &size, Some(&side))? {
            self.0.update(print)?;
        }
        Ok(self.0.value())
    }
    /// Ends the current bar; returns its delta and updates `divergence`.
    fn close_bar(&mut self) -> f64 {
        self.0.close_bar()
    }
    #[getter]
    fn value(&self) -> f64 {
        self.0.value()
    }
    #[getter]
    fn buy_volume(&self) -> f64 {
        self.0.buy_volume()
    }
    #[getter]
    fn sell_volume(&self) -> f64 {
        self.0.sell_volume()
    }
    #[getter]
    fn bar_delta(&self) -> f64 {
        self.0.bar_delta()
    }
    #[getter]
    fn lookback(&self) -> usize {
        self.0.lookback()
    }
    #[getter]
    fn divergence(&self) -> PyDivergence {
        match self.0.divergence() {
            Divergence::None => PyDivergence::None,
            Divergence::Bullish => PyDivergence::Bullish,
            Divergence::Bearish => PyDivergence::Bearish,
        }
    }
    #[getter]
    fn trading_date(&self) -> Option<i64> {
        self.0.trading_date()
    }
    #[getter]
    fn initialized(&self) -> bool {
        self.0.initialized()
    }
    fn reset(&mut self) {
        self.0.reset()
    }
    fn __repr__(&self) -> String {
        format!(
            "CumulativeDelta(value={}, bar_delta={})",
            self.0.value(),
            self.0.bar_delta()
        )
    }
}

#[pyfunction]
fn ema_batch<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
    period: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let values = slice(&values);
    let out = py.detach(|| batch::ema(&values, period))?;
    Ok(array(py, out))
}

#[pyfunction]
fn sma_batch<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
    period: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let values = slice(&values);
    let out = py.detach(|| batch::sma(&values, period))?;
    Ok(array(py, out))
}

#[pyfunction]
fn atr_batch<'py>(
    py: Python<'py>,
    high: PyReadonlyArray1<'py, f64>,
    low: PyReadonlyArray1<'py, f64>,
    close: PyReadonlyArray1<'py, f64>,
    period: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (h, l, c) = (slice(&high), slice(&low), slice(&close));
    let out = py.detach(|| batch::atr(&h, &l, &c, period))?;
    Ok(array(py, out))
}

type Dmi<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

/// `(adx, plus_di, minus_di)`.
#[pyfunction]
fn dmi_batch<'py>(
    py: Python<'py>,
    high: PyReadonlyArray1<'py, f64>,
    low: PyReadonlyArray1<'py, f64>,
    close: PyReadonlyArray1<'py, f64>,
    period: usize,
) -> PyResult<Dmi<'py>> {
    let (h, l, c) = (slice(&high), slice(&low), slice(&close));
    let out = py.detach(|| batch::dmi(&h, &l, &c, period))?;
    Ok((
        array(py, out.adx),
        array(py, out.plus_di),
        array(py, out.minus_di),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEma>()?;
    m.add_class::<PySma>()?;
    m.add_class::<PyAtr>()?;
    m.add_class::<PyAdx>()?;
    m.add_class::<PyVwap>()?;
    m.add_class::<PyVolumeProfile>()?;
    m.add_class::<PyDivergence>()?;
    m.add_class::<PyCumulativeDelta>()?;
    m.add_function(wrap_pyfunction!(ema_batch, m)?)?;
    m.add_function(wrap_pyfunction!(sma_batch, m)?)?;
    m.add_function(wrap_pyfunction!(atr_batch, m)?)?;
    m.add_function(wrap_pyfunction!(dmi_batch, m)?)?;
    Ok(())
}

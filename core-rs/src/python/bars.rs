//! Python wrappers for `crate::bars`.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{array, slice};
use super::indicators::aggressor;
use super::sessions::{PySessionCalendar, PySessionKind};
use crate::bars::{Bar, BarAggregator, BarError};
use crate::indicators::{IndicatorError, Print};

/// A completed (or forming) bar; times are UTC ns, `start` inclusive, `end` exclusive.
#[pyclass(name = "Bar", module = "tsxbot._core", frozen)]
pub struct PyBar(Bar);

#[pymethods]
impl PyBar {
    #[getter]
    fn start(&self) -> i64 {
        self.0.start
    }
    #[getter]
    fn end(&self) -> i64 {
        self.0.end
    }
    #[getter]
    fn trading_date(&self) -> i64 {
        self.0.trading_date
    }
    #[getter]
    fn open(&self) -> f64 {
        self.0.open
    }
    #[getter]
    fn high(&self) -> f64 {
        self.0.high
    }
    #[getter]
    fn low(&self) -> f64 {
        self.0.low
    }
    #[getter]
    fn close(&self) -> f64 {
        self.0.close
    }
    #[getter]
    fn volume(&self) -> f64 {
        self.0.volume
    }
    #[getter]
    fn buy_volume(&self) -> f64 {
        self.0.buy_volume
    }
    #[getter]
    fn sell_volume(&self) -> f64 {
        self.0.sell_volume
    }
    #[getter]
    fn delta(&self) -> f64 {
        self.0.delta()
    }
    #[getter]
    fn trade_count(&self) -> u64 {
        self.0.trade_count
    }
    fn __repr__(&self) -> String {
        let b = &self.0;
        format!(
            "Bar(start={}, o={}, h={}, l={}, c={}, v={}, delta={})",
            b.start,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.delta()
        )
    }
}

fn bar_error(e: BarError) -> PyErr {
    match e {
        BarError::InvalidTimeframe(_) => {
            IndicatorError::InvalidParameter("timeframe must be 1..=86400 seconds").into()
        }
        BarError::NonFinite(what) => IndicatorError::NonFinite(what).into(),
        BarError::NegativeSize => IndicatorError::NegativeVolume.into(),
        BarError::Batch(e) => e.into(),
    }
}

/// Trades or quotes to time bars in exchange time, anchored at the session open.
#[pyclass(name = "BarAggregator", module = "tsxbot._core")]
pub struct PyBarAggregator(BarAggregator);

#[pymethods]
impl PyBarAggregator {
    #[new]
    #[pyo3(signature = (calendar, timeframe_seconds, session = PySessionKind::Eth))]
    fn new(
        calendar: &Bound<'_, PySessionCalendar>,
        timeframe_seconds: i64,
        session: PySessionKind,
    ) -> PyResult<Self> {
        let agg = BarAggregator::new(
            calendar.get().inner.clone(),
            session.into(),
            timeframe_seconds,
        )
        .map_err(bar_error)?;
        Ok(Self(agg))
    }
    /// A trade (`aggressor`: 1 buy, -1 sell, 0 unknown); returns the bar it completed, if any.
    fn update(
        &mut self,
        ts_ns: i64,
        price: f64,
        size: f64,
        aggressor: i64,
    ) -> PyResult<Option<PyBar>> {
        let print = Print {
            ts: ts_ns,
            price,
            size,
            aggressor: self::aggressor(aggressor)?,
        };
        Ok(self.0.update(print).map_err(bar_error)?.map(PyBar))
    }
    /// A quote: bars follow the mid price, with no volume.
    fn update_quote(&mut self, ts_ns: i64, bid: f64, ask: f64) -> PyResult<Option<PyBar>> {
        Ok(self
            .0
            .update_quote(ts_ns, bid, ask)
            .map_err(bar_error)?
            .map(PyBar))
    }
    /// Feeds arrays of trades; returns the completed bars as a dict of numpy columns.
    fn update_many<'py>(
        &mut self,
        py: Python<'py>,
        ts_ns: PyReadonlyArray1<'py, i64>,
        price: PyReadonlyArray1<'py, f64>,
        size: PyReadonlyArray1<'py, f64>,
        aggressor: PyReadonlyArray1<'py, i8>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (ts, price, size, side) = (
            slice(&ts_ns),
            slice(&price),
            slice(&size),
            slice(&aggressor),
        );
        let bars = self
            .0
            .update_many(&ts, &price, &size, &side)
            .map_err(bar_error)?;
        columns(py, &bars)
    }
    /// Completes the current bar if `now_ns` is at or past its end.
    fn flush(&mut self, now_ns: i64) -> Option<PyBar> {
        self.0.flush(now_ns).map(PyBar)
    }
    /// The bar being built.
    #[getter]
    fn current(&self) -> Option<PyBar> {
        self.0.current().map(PyBar)
    }
    #[getter]
    fn timeframe_seconds(&self) -> i64 {
        self.0.timeframe_seconds()
    }
    #[getter]
    fn outside_session(&self) -> u64 {
        self.0.outside_session
    }
    #[getter]
    fn late(&self) -> u64 {
        self.0.late
    }
    fn reset(&mut self) {
        self.0.reset()
    }
}

fn columns<'py>(py: Python<'py>, bars: &[Bar]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let ints = |f: fn(&Bar) -> i64| -> Bound<'py, PyArray1<i64>> {
        array(py, bars.iter().map(f).collect())
    };
    let floats = |f: fn(&Bar) -> f64| -> Bound<'py, PyArray1<f64>> {
        array(py, bars.iter().map(f).collect())
    };
    d.set_item("start", ints(|b| b.start))?;
    d.set_item("end", ints(|b| b.end))?;
    d.set_item("trading_date", ints(|b| b.trading_date))?;
    d.set_item("open", floats(|b| b.open))?;
    d.set_item("high", floats(|b| b.high))?;
    d.set_item("low", floats(|b| b.low))?;
    d.set_item("close", floats(|b| b.close))?;
    d.set_item("volume", floats(|b| b.volume))?;
    d.set_item("buy_volume", floats(|b| b.buy_volume))?;
    d.set_item("sell_volume", floats(|b| b.sell_volume))?;
    d.set_item("trade_count", ints(|b| b.trade_count as i64))?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBar>()?;
    m.add_class::<PyBarAggregator>()?;
    Ok(())
}

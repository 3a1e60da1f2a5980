//! Python wrappers for `crate::orderbook`.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

use super::convert::{same_lengths, slice};
use crate::orderbook::{DepthOutcome, DepthRow, DomType, OrderBook};
use crate::ticks::TickSize;

/// `(price, volume)` levels, best first.
type Levels = Vec<(f64, i64)>;

/// What a depth row did to the book.
#[pyclass(
    name = "DepthOutcome",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyDepthOutcome {
    #[pyo3(name = "APPLIED")]
    Applied,
    #[pyo3(name = "STALE")]
    Stale,
    #[pyo3(name = "IGNORED")]
    Ignored,
    #[pyo3(name = "INVALID")]
    Invalid,
}

impl From<DepthOutcome> for PyDepthOutcome {
    fn from(o: DepthOutcome) -> Self {
        match o {
            DepthOutcome::Applied => Self::Applied,
            DepthOutcome::Stale => Self::Stale,
            DepthOutcome::Ignored => Self::Ignored,
            DepthOutcome::Invalid => Self::Invalid,
        }
    }
}

/// L2 book from ProjectX depth rows (`dom_type` is the gateway's DomType code, 0..11).
#[pyclass(name = "OrderBook", module = "tsxbot._core")]
pub struct PyOrderBook(OrderBook);

#[pymethods]
impl PyOrderBook {
    #[new]
    fn new(tick_size: f64) -> PyResult<Self> {
        Ok(Self(OrderBook::new(TickSize::new(tick_size)?)))
    }
    /// Applies one row; never raises for bad data (the outcome says what happened).
    fn apply(&mut self, ts_ns: i64, dom_type: i64, price: f64, volume: i64) -> PyDepthOutcome {
        self.0
            .apply(DepthRow {
                ts: ts_ns,
                dom_type: DomType::from_code(dom_type),
                price,
                volume,
            })
            .into()
    }
    /// Applies rows from arrays; returns how many were applied.
    fn apply_many(
        &mut self,
        ts_ns: PyReadonlyArray1<'_, i64>,
        dom_type: PyReadonlyArray1<'_, i64>,
        price: PyReadonlyArray1<'_, f64>,
        volume: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<usize> {
        let (ts, dom, price, volume) = (
            slice(&ts_ns),
            slice(&dom_type),
            slice(&price),
            slice(&volume),
        );
        same_lengths(&[ts.len(), dom.len(), price.len(), volume.len()])?;
        let mut applied = 0;
        for i in 0..ts.len() {
            let row = DepthRow {
                ts: ts[i],
                dom_type: DomType::from_code(dom[i]),
                price: price[i],
                volume: volume[i],
            };
            applied += usize::from(self.0.apply(row) == DepthOutcome::Applied);
        }
        Ok(applied)
    }
    #[getter]
    fn best_bid(&self) -> Option<(f64, i64)> {
        self.0.best_bid()
    }
    #[getter]
    fn best_ask(&self) -> Option<(f64, i64)> {
        self.0.best_ask()
    }
    #[getter]
    fn spread(&self) -> Option<f64> {
        self.0.spread()
    }
    #[getter]
    fn spread_ticks(&self) -> Option<i64> {
        self.0.spread_ticks()
    }
    #[getter]
    fn mid(&self) -> Option<f64> {
        self.0.mid()
    }
    /// Up to `levels` bid levels `(price, volume)`, best first.
    #[pyo3(signature = (levels = 10))]
    fn bids(&self, levels: usize) -> Levels {
        self.0.bids(levels)
    }
    #[pyo3(signature = (levels = 10))]
    fn asks(&self, levels: usize) -> Levels {
        self.0.asks(levels)
    }
    /// `(bid - ask) / (bid + ask)` volume over the best `levels` of each side; None if empty.
    #[pyo3(signature = (levels = 5))]
    fn imbalance(&self, levels: usize) -> Option<f64> {
        self.0.imbalance(levels)
    }
    /// `(bids, asks)`: every level, best first.
    fn snapshot(&self) -> (Levels, Levels) {
        (self.0.bids(usize::MAX), self.0.asks(usize::MAX))
    }
    /// `(bid levels, ask levels)`.
    #[getter]
    fn depth(&self) -> (usize, usize) {
        self.0.depth()
    }
    #[getter]
    fn last_trade(&self) -> Option<(f64, i64, i64)> {
        self.0.last_trade()
    }
    #[getter]
    fn session_low(&self) -> Option<f64> {
        self.0.session_low()
    }
    #[getter]
    fn session_high(&self) -> Option<f64> {
        self.0.session_high()
    }
    /// `{"applied", "stale", "ignored", "invalid", "uncrossed_levels"}` row counts.
    fn stats(&self) -> std::collections::HashMap<&'static str, u64> {
        [
            ("applied", self.0.applied),
            ("stale", self.0.stale),
            ("ignored", self.0.ignored),
            ("invalid", self.0.invalid),
            ("uncrossed_levels", self.0.uncrossed_levels),
        ]
        .into_iter()
        .collect()
    }
    fn is_consistent(&self) -> bool {
        self.0.is_consistent()
    }
    fn reset(&mut self) {
        self.0.reset()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDepthOutcome>()?;
    m.add_class::<PyOrderBook>()?;
    Ok(())
}

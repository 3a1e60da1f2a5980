//! Python wrappers for `crate::ticks`.

use pyo3::prelude::*;

use crate::ticks::{Rounding, TickSize};

/// How to move a price onto the tick grid.
#[pyclass(
    name = "Rounding",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyRounding {
    #[pyo3(name = "NEAREST")]
    Nearest,
    #[pyo3(name = "DOWN")]
    Down,
    #[pyo3(name = "UP")]
    Up,
}

impl From<PyRounding> for Rounding {
    #[inline]
    fn from(r: PyRounding) -> Self {
        match r {
            PyRounding::Nearest => Rounding::Nearest,
            PyRounding::Down => Rounding::Down,
            PyRounding::Up => Rounding::Up,
        }
    }
}

/// A contract's tick size, held exactly; converts prices to integer ticks and back.
#[pyclass(name = "TickSize", module = "tsxbot._core", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyTickSize {
    inner: TickSize,
}

#[pymethods]
impl PyTickSize {
    #[new]
    fn new(tick_size: f64) -> PyResult<Self> {
        Ok(Self {
            inner: TickSize::new(tick_size)?,
        })
    }

    #[getter]
    fn value(&self) -> f64 {
        self.inner.value()
    }

    #[getter]
    fn nanos(&self) -> i64 {
        self.inner.nanos()
    }

    #[pyo3(signature = (price, rounding = PyRounding::Nearest))]
    fn to_ticks(&self, price: f64, rounding: PyRounding) -> PyResult<i64> {
        Ok(self.inner.to_ticks(price, rounding.into())?)
    }

    fn to_price(&self, ticks: i64) -> PyResult<f64> {
        Ok(self.inner.to_price(ticks)?)
    }

    #[pyo3(signature = (price, rounding = PyRounding::Nearest))]
    fn round(&self, price: f64, rounding: PyRounding) -> PyResult<f64> {
        Ok(self.inner.round(price, rounding.into())?)
    }

    fn is_on_tick(&self, price: f64) -> PyResult<bool> {
        Ok(self.inner.is_on_tick(price)?)
    }

    fn __repr__(&self) -> String {
        format!("TickSize({})", self.inner.value())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRounding>()?;
    m.add_class::<PyTickSize>()?;
    Ok(())
}

//! The order side as Python passes it: `_core.Side`, or the strings "BUY" / "SELL" (so
//! `tsxbot.messages.Side`, a `StrEnum`, works as is).

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::side::Side;

#[pyclass(
    name = "Side",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PySide {
    #[pyo3(name = "BUY")]
    Buy,
    #[pyo3(name = "SELL")]
    Sell,
}

impl From<PySide> for Side {
    #[inline]
    fn from(s: PySide) -> Self {
        match s {
            PySide::Buy => Side::Buy,
            PySide::Sell => Side::Sell,
        }
    }
}

impl From<Side> for PySide {
    #[inline]
    fn from(s: Side) -> Self {
        match s {
            Side::Buy => PySide::Buy,
            Side::Sell => PySide::Sell,
        }
    }
}

/// `None` when `obj` is neither a `Side` nor "BUY" / "SELL".
pub(crate) fn side_of(obj: &Bound<'_, PyAny>) -> Option<Side> {
    if let Ok(side) = obj.cast::<PySide>() {
        return Some((*side.get()).into());
    }
    let s = obj.cast::<PyString>().ok()?;
    match s.to_str().ok()? {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySide>()
}

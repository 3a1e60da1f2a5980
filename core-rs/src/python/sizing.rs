//! Python wrappers for `crate::sizing`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::side::side_of;
use crate::side::Side;
use crate::sizing::{self, SizingError, StopDistance, TargetDistance};
use crate::ticks::TickSize;

fn side(obj: &Bound<'_, PyAny>) -> PyResult<Side> {
    side_of(obj)
        .ok_or_else(|| PyValueError::new_err("side must be Side.BUY / Side.SELL or 'BUY' / 'SELL'"))
}

/// `floor(dollar_risk / (risk_points x point_value))` capped at `max_contracts`; the risk distance
/// is first rounded up to whole ticks (fewer contracts: the safe way). Exact (integer money).
#[pyfunction]
fn contracts_for_risk(
    dollar_risk: f64,
    risk_points: f64,
    tick_size: f64,
    point_value: f64,
    max_contracts: i64,
) -> PyResult<i64> {
    Ok(sizing::contracts_for_risk(
        dollar_risk,
        risk_points,
        TickSize::new(tick_size)?,
        point_value,
        max_contracts,
    )?)
}

/// Stop-loss and take-profit prices on the tick grid (stop rounded toward entry, target away).
#[pyclass(name = "Bracket", module = "tsxbot._core", frozen)]
pub struct PyBracket {
    #[pyo3(get)]
    entry: f64,
    #[pyo3(get)]
    stop_loss: f64,
    #[pyo3(get)]
    take_profit: Option<f64>,
    #[pyo3(get)]
    stop_ticks: i64,
    #[pyo3(get)]
    target_ticks: Option<i64>,
}

#[pymethods]
impl PyBracket {
    fn __repr__(&self) -> String {
        format!(
            "Bracket(entry={}, stop_loss={}, take_profit={:?})",
            self.entry, self.stop_loss, self.take_profit
        )
    }
}

/// Exactly one stop (`stop_points`, or `stop_atr` multiples of `atr`) and at most one target
/// (`target_points`, `target_atr` multiples of `atr`, or `target_r` multiples of the stop).
#[pyfunction]
#[pyo3(signature = (side, entry, tick_size, *, stop_points = None, stop_atr = None, atr = None, target_points = None, target_atr = None, target_r = None))]
#[allow(clippy::too_many_arguments)]
fn bracket(
    side: &Bound<'_, PyAny>,
    entry: f64,
    tick_size: f64,
    stop_points: Option<f64>,
    stop_atr: Option<f64>,
    atr: Option<f64>,
    target_points: Option<f64>,
    target_atr: Option<f64>,
    target_r: Option<f64>,
) -> PyResult<PyBracket> {
    let need_atr = || atr.ok_or(SizingError::NotPositive("ATR (atr=...)"));
    let stop = match (stop_points, stop_atr) {
        (Some(p), None) => StopDistance::Points(p),
        (None, Some(m)) => StopDistance::Atr {
            atr: need_atr()?,
            multiple: m,
        },
        _ => {
            return Err(PyValueError::new_err(
                "give exactly one of stop_points, stop_atr",
            ))
        }
    };
    let target = match (target_points, target_atr, target_r) {
        (None, None, None) => None,
        (Some(p), None, None) => Some(TargetDistance::Points(p)),
        (None, Some(m), None) => Some(TargetDistance::Atr {
            atr: need_atr()?,
            multiple: m,
        }),
        (None, None, Some(r)) => Some(TargetDistance::R(r)),
        _ => {
            return Err(PyValueError::new_err(
                "give at most one of target_points, target_atr, target_r",
            ))
        }
    };
    let b = sizing::bracket(
        self::side(side)?,
        entry,
        TickSize::new(tick_size)?,
        stop,
        target,
    )?;
    Ok(PyBracket {
        entry: b.entry,
        stop_loss: b.stop_loss,
        take_profit: b.take_profit,
        stop_ticks: b.stop_ticks,
        target_ticks: b.target_ticks,
    })
}

/// ProjectX signed bracket offsets `(stop_loss_ticks, take_profit_ticks)` from distances:
/// long `(-sl, +tp)`, short `(+sl, -tp)`.
#[pyfunction]
#[pyo3(signature = (side, stop_ticks, target_ticks = None))]
fn bracket_ticks(
    side: &Bound<'_, PyAny>,
    stop_ticks: i64,
    target_ticks: Option<i64>,
) -> PyResult<(i64, Option<i64>)> {
    let t = sizing::bracket_ticks(self::side(side)?, stop_ticks, target_ticks)?;
    Ok((t.stop_loss, t.take_profit))
}

/// ProjectX signed bracket offsets from absolute prices (each on the tick and on its side).
#[pyfunction]
#[pyo3(signature = (side, entry, stop_loss, take_profit, tick_size))]
fn bracket_ticks_from_prices(
    side: &Bound<'_, PyAny>,
    entry: f64,
    stop_loss: f64,
    take_profit: Option<f64>,
    tick_size: f64,
) -> PyResult<(i64, Option<i64>)> {
    let t = sizing::bracket_ticks_from_prices(
        self::side(side)?,
        entry,
        stop_loss,
        take_profit,
        TickSize::new(tick_size)?,
    )?;
    Ok((t.stop_loss, t.take_profit))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBracket>()?;
    m.add_function(wrap_pyfunction!(contracts_for_risk, m)?)?;
    m.add_function(wrap_pyfunction!(bracket, m)?)?;
    m.add_function(wrap_pyfunction!(bracket_ticks, m)?)?;
    m.add_function(wrap_pyfunction!(bracket_ticks_from_prices, m)?)?;
    Ok(())
}

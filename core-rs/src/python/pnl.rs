//! Python wrappers for `crate::pnl`: the FIFO matcher, which `tsxbot.pnl.matching.FifoMatcher`
//! (the live ledger's and the backtester's) wraps with the fill's owner, strategy and account.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::pnl::{FifoMatcher, Fill, RoundTrip};
use crate::side::Side;

/// One (bot, symbol)'s FIFO matcher (definitions: `tsxbot.pnl.matching`).
#[pyclass(name = "FifoMatcher", module = "tsxbot._core")]
pub struct PyFifoMatcher(FifoMatcher);

/// A closed trade as a tuple `(direction, quantity, max_position, entry_price, exit_price,
/// entry_ns, exit_ns, gross_pnl, fees, mae, mfe, initial_risk, fill_ids)`.
fn trade_tuple<'py>(py: Python<'py>, t: RoundTrip) -> PyResult<Bound<'py, PyTuple>> {
    let ids = PyTuple::new(py, t.fill_ids.iter().map(|id| PyString::new(py, id)))?;
    let items: [Bound<'py, PyAny>; 13] = [
        t.direction.into_pyobject(py)?.into_any(),
        t.quantity.into_pyobject(py)?.into_any(),
        t.max_position.into_pyobject(py)?.into_any(),
        t.entry_price.into_pyobject(py)?.into_any(),
        t.exit_price.into_pyobject(py)?.into_any(),
        t.entry_ns.into_pyobject(py)?.into_any(),
        t.exit_ns.into_pyobject(py)?.into_any(),
        t.gross_pnl.into_pyobject(py)?.into_any(),
        t.fees.into_pyobject(py)?.into_any(),
        t.mae.into_pyobject(py)?.into_any(),
        t.mfe.into_pyobject(py)?.into_any(),
        t.initial_risk.into_pyobject(py)?.into_any(),
        ids.into_any(),
    ];
    PyTuple::new(py, items)
}

#[pymethods]
impl PyFifoMatcher {
    #[new]
    fn new(bot_id: String, symbol: String, point_value: f64, fee_per_side: f64) -> PyResult<Self> {
        Ok(Self(FifoMatcher::new(
            bot_id,
            symbol,
            point_value,
            fee_per_side,
        )?))
    }

    /// Applies one fill (`buy`: its side); returns the trade it closed as a tuple (see
    /// `trade_tuple`), or None. Raises `MatchError` and changes nothing for a refused fill.
    #[pyo3(signature = (fill_id, bot_id, symbol, buy, quantity, price, ts_ns, fees = None, stop_loss = None))]
    #[allow(clippy::too_many_arguments)]
    fn add<'py>(
        &mut self,
        py: Python<'py>,
        fill_id: &str,
        bot_id: &str,
        symbol: &str,
        buy: bool,
        quantity: i64,
        price: f64,
        ts_ns: i64,
        fees: Option<f64>,
        stop_loss: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let fill = Fill {
            fill_id,
            bot_id,
            symbol,
            side: if buy { Side::Buy } else { Side::Sell },
            quantity,
            price,
            ts_ns,
            fees,
            stop_loss,
        };
        match self.0.add(&fill)? {
            Some(trade) => Ok(Some(trade_tuple(py, trade)?)),
            None => Ok(None),
        }
    }

    fn mark(&mut self, price: f64) {
        self.0.mark(price)
    }
    fn open_pnl(&self, price: f64) -> f64 {
        self.0.open_pnl(price)
    }
    /// realized - fees + open_pnl(price).
    fn equity(&self, price: f64) -> f64 {
        self.0.equity(price)
    }
    #[getter]
    fn realized(&self) -> f64 {
        self.0.realized()
    }
    #[getter]
    fn fees(&self) -> f64 {
        self.0.fees()
    }
    #[getter]
    fn position(&self) -> i64 {
        self.0.position()
    }
    #[getter]
    fn is_open(&self) -> bool {
        self.0.is_open()
    }
    #[getter]
    fn bot_id(&self) -> &str {
        self.0.bot_id()
    }
    #[getter]
    fn symbol(&self) -> &str {
        self.0.symbol()
    }
    /// The open lots, oldest first: `(fill_id, direction, quantity, price, ts_ns)`.
    fn lots(&self) -> Vec<(String, i64, i64, f64, i64)> {
        self.0
            .lots()
            .map(|l| (l.fill_id.clone(), l.direction, l.quantity, l.price, l.ts_ns))
            .collect()
    }
    fn __repr__(&self) -> String {
        format!(
            "FifoMatcher({}/{}: position {}, realized {}, fees {})",
            self.0.bot_id(),
            self.0.symbol(),
            self.0.position(),
            self.0.realized(),
            self.0.fees()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFifoMatcher>()
}

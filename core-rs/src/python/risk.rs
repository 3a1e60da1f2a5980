//! Python wrappers for `crate::risk`. `RiskEngine.check` takes an `OrderRequest` (fast path: no
//! conversion, no allocation when accepted, a shared verdict object is returned) or any mapping
//! with the same keys.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyMapping;

use super::side::side_of;
use crate::risk::{
    BotLimits, Denial, DrawdownMode, InstrumentSpec, OrderRequest, RiskEngine, RiskInputError,
    RiskLimits, RiskReason, TradingState, TradingWindow, MILLI,
};
use crate::sessions::UtcOffsets;
use crate::ticks::TickSize;

macro_rules! define_py_risk_reason {
    ($(($variant:ident, $wire:tt)),* $(,)?) => {
        /// Why the risk engine refused an order (names match `tsxbot.messages.RiskReason`).
        #[pyclass(name = "RiskReason", module = "tsxbot._core", eq, eq_int, frozen, hash, from_py_object)]
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub enum PyRiskReason {
            $(#[pyo3(name = $wire)] $variant),*
        }

        impl From<RiskReason> for PyRiskReason {
            fn from(r: RiskReason) -> Self {
                match r {
                    $(RiskReason::$variant => Self::$variant),*
                }
            }
        }

        impl From<PyRiskReason> for RiskReason {
            fn from(r: PyRiskReason) -> Self {
                match r {
                    $(PyRiskReason::$variant => Self::$variant),*
                }
            }
        }
    };
}

crate::for_each_risk_reason!(define_py_risk_reason);

#[pymethods]
impl PyRiskReason {
    /// The wire name, e.g. "DAILY_LOSS_LIMIT".
    #[getter]
    fn value(&self) -> &'static str {
        RiskReason::from(*self).as_str()
    }
}

#[pyclass(
    name = "TradingState",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyTradingState {
    #[pyo3(name = "ACTIVE")]
    Active,
    #[pyo3(name = "REDUCING")]
    Reducing,
    #[pyo3(name = "HALTED")]
    Halted,
}

impl From<PyTradingState> for TradingState {
    fn from(s: PyTradingState) -> Self {
        match s {
            PyTradingState::Active => Self::Active,
            PyTradingState::Reducing => Self::Reducing,
            PyTradingState::Halted => Self::Halted,
        }
    }
}

impl From<TradingState> for PyTradingState {
    fn from(s: TradingState) -> Self {
        match s {
            TradingState::Active => Self::Active,
            TradingState::Reducing => Self::Reducing,
            TradingState::Halted => Self::Halted,
        }
    }
}

#[pyclass(
    name = "DrawdownMode",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyDrawdownMode {
    #[pyo3(name = "END_OF_DAY")]
    EndOfDay,
    #[pyo3(name = "INTRADAY")]
    Intraday,
}

/// One tradable contract as the risk engine needs it.
#[pyclass(
    name = "InstrumentSpec",
    module = "tsxbot._core",
    frozen,
    from_py_object
)]
#[derive(Clone)]
pub struct PyInstrumentSpec(InstrumentSpec);

#[pymethods]
impl PyInstrumentSpec {
    #[new]
    #[pyo3(signature = (symbol, tick_size, point_value, mini_equivalent = 1.0, margin = 0.0, enabled = true))]
    fn new(
        symbol: String,
        tick_size: f64,
        point_value: f64,
        mini_equivalent: f64,
        margin: f64,
        enabled: bool,
    ) -> PyResult<Self> {
        let mini_milli = (mini_equivalent * MILLI as f64).round();
        if !(1.0..=1e6).contains(&mini_milli) {
            return Err(
                RiskInputError::InvalidLimit("mini equivalent must be in [0.001, 1000]").into(),
            );
        }
        Ok(Self(InstrumentSpec {
            symbol,
            tick: TickSize::new(tick_size)?,
            point_value,
            mini_milli: mini_milli as i64,
            margin,
            enabled,
        }))
    }
    #[getter]
    fn symbol(&self) -> &str {
        &self.0.symbol
    }
    #[getter]
    fn tick_size(&self) -> f64 {
        self.0.tick.value()
    }
    #[getter]
    fn point_value(&self) -> f64 {
        self.0.point_value
    }
    #[getter]
    fn tick_value(&self) -> f64 {
        self.0.tick_value()
    }
    #[getter]
    fn mini_equivalent(&self) -> f64 {
        self.0.mini_milli as f64 / MILLI as f64
    }
    #[getter]
    fn margin(&self) -> f64 {
        self.0.margin
    }
    #[getter]
    fn enabled(&self) -> bool {
        self.0.enabled
    }
}

/// Limits for one bot; None leaves a check to the account limits.
#[pyclass(name = "BotLimits", module = "tsxbot._core", frozen, from_py_object)]
#[derive(Clone)]
pub struct PyBotLimits(BotLimits);

#[pymethods]
impl PyBotLimits {
    #[new]
    #[pyo3(signature = (*, max_contracts = None, max_orders_per_minute = None, max_risk_points = None, min_reward_risk = None))]
    fn new(
        max_contracts: Option<i64>,
        max_orders_per_minute: Option<u32>,
        max_risk_points: Option<f64>,
        min_reward_risk: Option<f64>,
    ) -> PyResult<Self> {
        if max_contracts.is_some_and(|c| c <= 0)
            || max_orders_per_minute == Some(0)
            || max_risk_points.is_some_and(|p| !(p.is_finite() && p > 0.0))
            || min_reward_risk.is_some_and(|r| !(r.is_finite() && r > 0.0))
        {
            return Err(RiskInputError::InvalidLimit("bot limits must be > 0").into());
        }
        Ok(Self(BotLimits {
            max_contracts,
            max_orders_per_minute,
            max_risk_points,
            min_reward_risk,
        }))
    }
    #[getter]
    fn max_contracts(&self) -> Option<i64> {
        self.0.max_contracts
    }
    #[getter]
    fn max_orders_per_minute(&self) -> Option<u32> {
        self.0.max_orders_per_minute
    }
    #[getter]
    fn max_risk_points(&self) -> Option<f64> {
        self.0.max_risk_points
    }
    #[getter]
    fn min_reward_risk(&self) -> Option<f64> {
        self.0.min_reward_risk
    }
}

/// Account limits, instruments and bots (build it with `tsxbot.risk.limits_from_config`).
#[pyclass(name = "RiskLimits", module = "tsxbot._core", frozen)]
pub struct PyRiskLimits(RiskLimits);

#[pymethods]
impl PyRiskLimits {
    /// Trading window: minutes of the day in the zone given by `tz_initial_offset` and
    /// `tz_transitions` (see `tsxbot.sessions.utc_offset_transitions`); start == end: all day.
    #[new]
    #[pyo3(signature = (
        *, instruments, max_order_size, max_open_contracts, max_contracts_per_symbol, max_daily_loss,
        max_drawdown, starting_balance, max_orders_per_minute, max_concentration = 1.0,
        max_daily_profit = None, drawdown_mode = PyDrawdownMode::EndOfDay, available_margin = None,
        require_stop_loss = true, window_start = 0, window_end = 0, tz_initial_offset = 0,
        tz_transitions = Vec::new(), trading_weekdays = vec![1, 2, 3, 4, 5], blocked_dates = Vec::new(),
        bots = Vec::new(), default_bot = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        instruments: Vec<PyInstrumentSpec>,
        max_order_size: i64,
        max_open_contracts: f64,
        max_contracts_per_symbol: i64,
        max_daily_loss: f64,
        max_drawdown: f64,
        starting_balance: f64,
        max_orders_per_minute: u32,
        max_concentration: f64,
        max_daily_profit: Option<f64>,
        drawdown_mode: PyDrawdownMode,
        available_margin: Option<f64>,
        require_stop_loss: bool,
        window_start: u32,
        window_end: u32,
        tz_initial_offset: i64,
        tz_transitions: Vec<(i64, i64)>,
        trading_weekdays: Vec<u32>,
        blocked_dates: Vec<i64>,
        bots: Vec<(String, PyBotLimits)>,
        default_bot: Option<PyBotLimits>,
    ) -> PyResult<Self> {
        let tz = UtcOffsets::new(tz_initial_offset, &tz_transitions)
            .ok_or(RiskInputError::InvalidLimit("UTC offset transitions"))?;
        let window = TradingWindow::new(
            tz,
            window_start,
            window_end,
            &trading_weekdays,
            &blocked_dates,
        )
        .ok_or(RiskInputError::InvalidLimit(
            "trading window minutes or weekdays",
        ))?;
        if !(max_open_contracts.is_finite() && max_open_contracts > 0.0)
            || max_orders_per_minute == 0
        {
            return Err(RiskInputError::InvalidLimit(
                "max open contracts and orders per minute must be > 0",
            )
            .into());
        }
        let limits = RiskLimits {
            max_order_size,
            max_open_milli: (max_open_contracts * MILLI as f64).round() as i64,
            max_contracts_per_symbol,
            max_concentration,
            max_daily_loss,
            max_daily_profit,
            max_drawdown,
            drawdown_mode: match drawdown_mode {
                PyDrawdownMode::EndOfDay => DrawdownMode::EndOfDay,
                PyDrawdownMode::Intraday => DrawdownMode::Intraday,
            },
            starting_balance,
            max_orders_per_minute,
            available_margin,
            require_stop_loss,
            window,
            instruments: instruments.into_iter().map(|i| i.0).collect(),
            default_bot: default_bot.map_or_else(BotLimits::default, |b| b.0),
            bots: bots.into_iter().map(|(id, b)| (id, b.0)).collect(),
        };
        // Validate now rather than at engine construction.
        RiskEngine::new(limits.clone())?;
        Ok(Self(limits))
    }
    #[getter]
    fn symbols(&self) -> Vec<String> {
        self.0
            .instruments
            .iter()
            .map(|i| i.symbol.clone())
            .collect()
    }
    #[getter]
    fn max_order_size(&self) -> i64 {
        self.0.max_order_size
    }
    #[getter]
    fn max_open_contracts(&self) -> f64 {
        self.0.max_open_milli as f64 / MILLI as f64
    }
    #[getter]
    fn max_daily_loss(&self) -> f64 {
        self.0.max_daily_loss
    }
    #[getter]
    fn max_drawdown(&self) -> f64 {
        self.0.max_drawdown
    }
}

/// An order as the risk engine sees it. `price` None: a market order.
#[pyclass(name = "OrderRequest", module = "tsxbot._core", frozen)]
pub struct PyOrderRequest(OrderRequest);

#[pymethods]
impl PyOrderRequest {
    #[new]
    #[pyo3(signature = (bot_id, symbol, side, quantity, price = None, stop_loss = None, take_profit = None, reduce_only = false, order_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        bot_id: String,
        symbol: String,
        side: &Bound<'_, PyAny>,
        quantity: i64,
        price: Option<f64>,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
        reduce_only: bool,
        order_id: Option<String>,
    ) -> PyResult<Self> {
        let side = side_of(side).ok_or_else(|| {
            PyValueError::new_err("side must be Side.BUY / Side.SELL or 'BUY' / 'SELL'")
        })?;
        Ok(Self(OrderRequest {
            bot_id,
            symbol,
            side,
            quantity,
            price,
            stop_loss,
            take_profit,
            reduce_only,
            order_id,
        }))
    }
    #[getter]
    fn bot_id(&self) -> &str {
        &self.0.bot_id
    }
    #[getter]
    fn symbol(&self) -> &str {
        &self.0.symbol
    }
    /// "BUY" or "SELL" (equal to `tsxbot.messages.Side`).
    #[getter]
    fn side(&self) -> &'static str {
        match self.0.side {
            crate::side::Side::Buy => "BUY",
            crate::side::Side::Sell => "SELL",
        }
    }
    #[getter]
    fn quantity(&self) -> i64 {
        self.0.quantity
    }
    #[getter]
    fn price(&self) -> Option<f64> {
        self.0.price
    }
    #[getter]
    fn stop_loss(&self) -> Option<f64> {
        self.0.stop_loss
    }
    #[getter]
    fn take_profit(&self) -> Option<f64> {
        self.0.take_profit
    }
    #[getter]
    fn reduce_only(&self) -> bool {
        self.0.reduce_only
    }
    #[getter]
    fn order_id(&self) -> Option<&str> {
        self.0.order_id.as_deref()
    }
    fn __repr__(&self) -> String {
        format!("OrderRequest({:?})", self.0)
    }
}

/// The answer to one check: `accepted`, or a typed `reason` with a `message` (and the `limit`
/// that was hit with the `value` that hit it, when there is one).
#[pyclass(name = "RiskVerdict", module = "tsxbot._core", frozen)]
pub struct PyRiskVerdict {
    #[pyo3(get)]
    accepted: bool,
    #[pyo3(get)]
    reason: Option<PyRiskReason>,
    #[pyo3(get)]
    message: String,
    #[pyo3(get)]
    limit: Option<f64>,
    #[pyo3(get)]
    value: Option<f64>,
}

impl PyRiskVerdict {
    fn accepted() -> Self {
        Self {
            accepted: true,
            reason: None,
            message: String::new(),
            limit: None,
            value: None,
        }
    }

    fn denied(d: Denial) -> Self {
        Self {
            accepted: false,
            reason: Some(d.reason.into()),
            message: d.message,
            limit: d.limit,
            value: d.value,
        }
    }
}

#[pymethods]
impl PyRiskVerdict {
    fn __bool__(&self) -> bool {
        self.accepted
    }
    fn __repr__(&self) -> String {
        match self.reason {
            None => "RiskVerdict(accepted)".into(),
            Some(r) => format!(
                "RiskVerdict({}: {})",
                RiskReason::from(r).as_str(),
                self.message
            ),
        }
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Reads an order from a mapping; `Err(denial)` for a field a verdict should report.
fn order_from_mapping(m: &Bound<'_, PyMapping>) -> PyResult<Result<OrderRequest, Denial>> {
    fn opt<'py, T: for<'a> FromPyObject<'a, 'py>>(
        m: &Bound<'py, PyMapping>,
        key: &str,
    ) -> PyResult<Option<T>>
    where
        for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
    {
        if !m.contains(key)? {
            return Ok(None);
        }
        let v = m.get_item(key)?;
        if v.is_none() {
            return Ok(None);
        }
        v.extract::<T>().map(Some).map_err(Into::into)
    }
    let Some(side) = opt::<Bound<'_, PyAny>>(m, "side")?
        .as_ref()
        .and_then(side_of)
    else {
        return Ok(Err(Denial::new(
            RiskReason::InvalidSide,
            "side must be BUY or SELL",
        )));
    };
    Ok(Ok(OrderRequest {
        bot_id: opt(m, "bot_id")?.unwrap_or_default(),
        symbol: opt(m, "symbol")?.unwrap_or_default(),
        side,
        quantity: opt(m, "quantity")?.unwrap_or(0),
        price: opt(m, "price")?,
        stop_loss: opt(m, "stop_loss")?,
        take_profit: opt(m, "take_profit")?,
        reduce_only: opt(m, "reduce_only")?.unwrap_or(false),
        order_id: opt(m, "order_id")?,
    }))
}

/// The pre-trade risk engine (see the README for the checks and their order).
#[pyclass(name = "RiskEngine", module = "tsxbot._core")]
pub struct PyRiskEngine {
    inner: RiskEngine,
    accepted: Py<PyRiskVerdict>,
}

#[pymethods]
impl PyRiskEngine {
    #[new]
    fn new(py: Python<'_>, limits: &Bound<'_, PyRiskLimits>) -> PyResult<Self> {
        Ok(Self {
            inner: RiskEngine::new(limits.get().0.clone())?,
            accepted: Py::new(py, PyRiskVerdict::accepted())?,
        })
    }

    /// Checks `order` (an `OrderRequest` or a mapping with its field names) at `now_ns` (UTC ns;
    /// the system clock when None). An accepted check takes a token from the rate buckets.
    #[pyo3(signature = (order, now_ns = None))]
    fn check(
        &mut self,
        py: Python<'_>,
        order: &Bound<'_, PyAny>,
        now_ns: Option<i64>,
    ) -> PyResult<Py<PyRiskVerdict>> {
        let now = now_ns.unwrap_or_else(self::now_ns);
        let verdict = if let Ok(req) = order.cast::<PyOrderRequest>() {
            self.inner.check(&req.get().0, now)
        } else {
            let mapping = order
                .cast::<PyMapping>()
                .map_err(|_| PyValueError::new_err("order must be an OrderRequest or a mapping"))?;
            match order_from_mapping(mapping)? {
                Ok(req) => self.inner.check(&req, now),
                Err(denial) => Err(denial),
            }
        };
        match verdict {
            Ok(()) => Ok(self.accepted.clone_ref(py)),
            Err(denial) => Py::new(py, PyRiskVerdict::denied(denial)),
        }
    }

    /// Applies a fill (of the working order `order_id`, when given); returns the realized P&L
    /// in USD (before fees).
    #[pyo3(signature = (bot_id, symbol, side, quantity, price, fees = 0.0, order_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn on_fill(
        &mut self,
        bot_id: &str,
        symbol: &str,
        side: &Bound<'_, PyAny>,
        quantity: i64,
        price: f64,
        fees: f64,
        order_id: Option<&str>,
    ) -> PyResult<f64> {
        let side =
            side_of(side).ok_or_else(|| PyValueError::new_err("side must be BUY or SELL"))?;
        Ok(self
            .inner
            .on_fill(bot_id, symbol, side, quantity, price, fees, order_id)?)
    }
    /// A working order ended without (further) fills; returns the quantity released.
    fn on_order_closed(&mut self, order_id: &str) -> i64 {
        self.inner.on_order_closed(order_id)
    }
    #[getter]
    fn working_orders(&self) -> usize {
        self.inner.working_orders()
    }
    /// `(buys, sells)` working in a symbol.
    fn pending(&self, symbol: &str) -> PyResult<(i64, i64)> {
        let [buys, sells] = self.inner.pending(symbol)?;
        Ok((buys, sells))
    }
    fn on_mark(&mut self, symbol: &str, price: f64) -> PyResult<()> {
        Ok(self.inner.on_mark(symbol, price)?)
    }
    fn on_balance(&mut self, balance: f64) -> PyResult<()> {
        Ok(self.inner.on_balance(balance)?)
    }
    fn new_trading_day(&mut self) {
        self.inner.new_trading_day()
    }
    fn raise_drawdown_peak(&mut self, peak: f64) {
        self.inner.raise_drawdown_peak(peak)
    }
    #[getter]
    fn get_trading_state(&self) -> PyTradingState {
        self.inner.trading_state().into()
    }
    #[setter]
    fn set_trading_state(&mut self, state: PyTradingState) {
        self.inner.set_trading_state(state.into())
    }
    #[getter]
    fn balance(&self) -> f64 {
        self.inner.balance()
    }
    #[getter]
    fn open_pnl(&self) -> f64 {
        self.inner.open_pnl()
    }
    #[getter]
    fn equity(&self) -> f64 {
        self.inner.equity()
    }
    #[getter]
    fn daily_pnl(&self) -> f64 {
        self.inner.daily_pnl()
    }
    #[getter]
    fn realized_today(&self) -> f64 {
        self.inner.realized_today()
    }
    #[getter]
    fn fees_today(&self) -> f64 {
        self.inner.fees_today()
    }
    #[getter]
    fn drawdown_floor(&self) -> f64 {
        self.inner.drawdown_floor()
    }
    #[getter]
    fn drawdown_peak(&self) -> f64 {
        self.inner.drawdown_peak()
    }
    #[getter]
    fn exposure(&self) -> f64 {
        self.inner.exposure()
    }
    #[getter]
    fn margin_used(&self) -> f64 {
        self.inner.margin_used()
    }
    /// `(net quantity, average price)` of the account's position.
    fn position(&self, symbol: &str) -> PyResult<(i64, f64)> {
        let p = self.inner.position(symbol)?;
        Ok((p.quantity, p.average_price))
    }
    fn bot_position(&self, bot_id: &str, symbol: &str) -> PyResult<i64> {
        Ok(self.inner.bot_position(bot_id, symbol)?)
    }
    fn mark_price(&self, symbol: &str) -> PyResult<f64> {
        Ok(self.inner.mark_price(symbol)?)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRiskReason>()?;
    m.add_class::<PyTradingState>()?;
    m.add_class::<PyDrawdownMode>()?;
    m.add_class::<PyInstrumentSpec>()?;
    m.add_class::<PyBotLimits>()?;
    m.add_class::<PyRiskLimits>()?;
    m.add_class::<PyOrderRequest>()?;
    m.add_class::<PyRiskVerdict>()?;
    m.add_class::<PyRiskEngine>()?;
    Ok(())
}

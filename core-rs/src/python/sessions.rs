//! Python wrappers for `crate::sessions`.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::sessions::{SessionCalendar, SessionError, SessionKind, UtcOffsets};

/// Which trading session: the electronic one (ETH, over midnight) or the regular one (RTH).
#[pyclass(
    name = "SessionKind",
    module = "tsxbot._core",
    eq,
    eq_int,
    frozen,
    hash,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PySessionKind {
    #[pyo3(name = "ETH")]
    Eth,
    #[pyo3(name = "RTH")]
    Rth,
}

impl From<PySessionKind> for SessionKind {
    #[inline]
    fn from(k: PySessionKind) -> Self {
        match k {
            PySessionKind::Eth => SessionKind::Eth,
            PySessionKind::Rth => SessionKind::Rth,
        }
    }
}

/// An instrument's sessions in exchange time (see `tsxbot.sessions.calendar_for`).
#[pyclass(name = "SessionCalendar", module = "tsxbot._core", frozen)]
pub struct PySessionCalendar {
    pub(crate) inner: Arc<SessionCalendar>,
}

impl PySessionCalendar {
    /// The calendar and session kind an anchored indicator or aggregator uses.
    pub(crate) fn anchor(
        calendar: Option<&Bound<'_, Self>>,
        kind: PySessionKind,
    ) -> Option<(Arc<SessionCalendar>, SessionKind)> {
        calendar.map(|c| (c.get().inner.clone(), kind.into()))
    }
}

#[pymethods]
impl PySessionCalendar {
    /// `transitions`: `(utc ns, offset seconds)` from then on, increasing; times are minutes of
    /// the day; `trading_days`: ISO weekdays on which ETH opens.
    #[new]
    #[pyo3(signature = (initial_offset, transitions, eth_open, eth_close, rth_open, rth_close, trading_days))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        initial_offset: i64,
        transitions: Vec<(i64, i64)>,
        eth_open: u32,
        eth_close: u32,
        rth_open: u32,
        rth_close: u32,
        trading_days: Vec<u32>,
    ) -> PyResult<Self> {
        let tz =
            UtcOffsets::new(initial_offset, &transitions).ok_or(SessionError::InvalidOffsets)?;
        let inner = SessionCalendar::new(
            tz,
            (eth_open, eth_close),
            (rth_open, rth_close),
            &trading_days,
        )?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The offset from UTC in seconds at a UTC instant (ns).
    fn utc_offset(&self, ts_ns: i64) -> i64 {
        self.inner.offsets().offset_at(ts_ns) / crate::sessions::NANOS_PER_SECOND
    }

    /// The trading date (days since 1970-01-01) of the session `ts_ns` falls in, or None.
    fn trading_date(&self, ts_ns: i64, kind: PySessionKind) -> Option<i64> {
        self.inner
            .locate(ts_ns, kind.into())
            .map(|s| s.trading_date)
    }

    /// `(open, close)` of the session `ts_ns` falls in, UTC ns, or None outside it.
    fn session_bounds(&self, ts_ns: i64, kind: PySessionKind) -> Option<(i64, i64)> {
        self.inner
            .locate(ts_ns, kind.into())
            .map(|s| (s.open_utc(), s.close_utc()))
    }

    fn is_trading_date(&self, day: i64) -> bool {
        self.inner.is_trading_date(day)
    }

    fn __repr__(&self) -> String {
        format!(
            "SessionCalendar({} offset transitions)",
            self.inner.offsets().transitions()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySessionKind>()?;
    m.add_class::<PySessionCalendar>()?;
    Ok(())
}

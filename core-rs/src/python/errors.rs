//! Every Rust error type's mapping to a Python exception, in one place. Each exception subclasses
//! `ValueError`, so callers may catch either.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::indicators::IndicatorError;
use crate::sessions::SessionError;
use crate::sizing::SizingError;
use crate::ticks::TickError;

create_exception!(
    tsxbot._core,
    TickArithmeticError,
    PyValueError,
    "A price or tick size could not be converted (non-finite, out of range, or an invalid tick size)."
);
create_exception!(
    tsxbot._core,
    IndicatorInputError,
    PyValueError,
    "An indicator input or parameter was refused (NaN/inf, low above high, negative volume, bad period)."
);
create_exception!(
    tsxbot._core,
    SessionConfigError,
    PyValueError,
    "Session hours, trading days or UTC offsets were invalid."
);
create_exception!(
    tsxbot._core,
    RiskInputError,
    PyValueError,
    "A risk limit, fill, mark or balance was refused (unknown symbol, non-finite price, bad limit)."
);
create_exception!(
    tsxbot._core,
    SizingInputError,
    PyValueError,
    "A position size or bracket could not be computed (non-finite or non-positive input, stop under one tick)."
);
create_exception!(
    tsxbot._core,
    MatchError,
    PyValueError,
    "A fill that does not belong to this matcher (another bot or symbol), repeats a fill id, or has a quantity, price or fees that cannot be matched."
);
create_exception!(
    tsxbot._core,
    EnvelopeDecodeError,
    PyValueError,
    "Bytes that are not JSON, or JSON that is not a message envelope."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TickArithmeticError", py.get_type::<TickArithmeticError>())?;
    m.add("IndicatorInputError", py.get_type::<IndicatorInputError>())?;
    m.add("SessionConfigError", py.get_type::<SessionConfigError>())?;
    m.add("RiskInputError", py.get_type::<RiskInputError>())?;
    m.add("SizingInputError", py.get_type::<SizingInputError>())?;
    m.add("MatchError", py.get_type::<MatchError>())?;
    m.add("EnvelopeDecodeError", py.get_type::<EnvelopeDecodeError>())?;
    Ok(())
}

impl From<TickError> for PyErr {
    fn from(e: TickError) -> Self {
        TickArithmeticError::new_err(e.to_string())
    }
}

impl From<IndicatorError> for PyErr {
    fn from(e: IndicatorError) -> Self {
        IndicatorInputError::new_err(e.to_string())
    }
}

impl From<SessionError> for PyErr {
    fn from(e: SessionError) -> Self {
        SessionConfigError::new_err(e.to_string())
    }
}

impl From<crate::risk::RiskInputError> for PyErr {
    fn from(e: crate::risk::RiskInputError) -> Self {
        RiskInputError::new_err(e.to_string())
    }
}

impl From<SizingError> for PyErr {
    fn from(e: SizingError) -> Self {
        SizingInputError::new_err(e.to_string())
    }
}

impl From<crate::pnl::MatchError> for PyErr {
    fn from(e: crate::pnl::MatchError) -> Self {
        MatchError::new_err(e.to_string())
    }
}

impl From<crate::codec::CodecError> for PyErr {
    fn from(e: crate::codec::CodecError) -> Self {
        EnvelopeDecodeError::new_err(e.to_string())
    }
}

//! The `tsxbot._core` extension module: thin pyo3 wrappers over the pure Rust modules.
//! Errors live in `errors.rs`, numpy conversions in `convert.rs`; each domain module has one
//! wrapper file.

use pyo3::prelude::*;

mod bars;
mod codec;
mod convert;
mod errors;
mod indicators;
mod orderbook;
mod pnl;
mod risk;
mod sessions;
mod side;
mod sizing;
mod ticks;

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    ticks::register(m)?;
    sessions::register(m)?;
    indicators::register(m)?;
    side::register(m)?;
    orderbook::register(m)?;
    bars::register(m)?;
    codec::register(m)?;
    risk::register(m)?;
    pnl::register(m)?;
    sizing::register(m)?;
    Ok(())
}

//! tsxbot's performance core.
//!
//! Pure Rust domain modules with no I/O: each is tested with `cargo test` and benchmarked with
//! criterion. The pyo3 bindings live apart in `python/` (feature `python`) and stay thin: they
//! convert arguments, call into these modules and map errors, nothing more.

pub mod bars;
pub mod codec;
pub mod fast_map;
pub mod indicators;
pub mod orderbook;
pub mod pnl;
pub mod risk;
pub mod sessions;
pub mod side;
pub mod sizing;
pub mod ticks;

#[cfg(feature = "python")]
mod python;

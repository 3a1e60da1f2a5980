//! P&L from fills: the FIFO round-trip matcher that live trading (the P&L ledger) and the
//! backtester share. The definitions of its figures are in `tsxbot.pnl.matching`'s docstring.

mod error;
mod matching;

pub use error::MatchError;
pub use matching::{FifoMatcher, Fill, Lot, RoundTrip};

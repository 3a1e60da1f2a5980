//! Time bars from trades (or quotes), in exchange time and aware of the trading session.

mod aggregator;
mod bar;

pub use aggregator::{BarAggregator, BarError, MAX_TIMEFRAME_SECONDS};
pub use bar::Bar;

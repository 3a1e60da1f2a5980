//! Pre-trade risk: limits, the engine and its typed verdicts (see `engine.rs` for the checks).

mod engine;
mod error;
mod limits;
mod order;
mod position;
mod rate_limit;
mod reason;
mod trading_window;
mod trailing_drawdown;
mod verdict;

pub use engine::{RiskEngine, TradingState, UNATTRIBUTED};
pub use error::RiskInputError;
pub use limits::{BotLimits, InstrumentSpec, RiskLimits, MILLI};
pub use order::OrderRequest;
pub use position::Position;
pub use rate_limit::{TokenBucket, MAX_PER_MINUTE};
pub use reason::RiskReason;
pub use trading_window::{TradingWindow, WindowCheck};
pub use trailing_drawdown::{DrawdownMode, TrailingDrawdown};
pub use verdict::{Denial, RiskVerdict};

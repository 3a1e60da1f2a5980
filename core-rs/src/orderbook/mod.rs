//! L2 order book fed by ProjectX `GatewayDepth` rows.

mod book;
mod dom_type;

pub use book::{DepthOutcome, DepthRow, Level, OrderBook};
pub use dom_type::DomType;

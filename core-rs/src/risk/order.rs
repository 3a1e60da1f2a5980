//! An order as the risk engine sees it.

use crate::side::Side;

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRequest {
    pub bot_id: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: i64,
    /// Limit or stop price; `None` for a market order (the last mark stands in for it).
    pub price: Option<f64>,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    /// Only reduce the account's position in the symbol.
    pub reduce_only: bool,
    /// When given, an accepted order is held as working until filled or closed.
    pub order_id: Option<String>,
}

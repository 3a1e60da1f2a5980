//! What the risk engine enforces: account limits, the instruments it knows, per-bot limits.

use super::trading_window::TradingWindow;
use super::trailing_drawdown::DrawdownMode;
use crate::ticks::TickSize;

/// Mini-equivalents are held in thousandths so that 10 micros make exactly one mini.
pub const MILLI: i64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentSpec {
    pub symbol: String,
    pub tick: TickSize,
    /// USD per 1.0 price point per contract.
    pub point_value: f64,
    /// Mini-equivalents per contract, in thousandths (a micro: 100).
    pub mini_milli: i64,
    /// Initial (day-trade) margin per contract, USD.
    pub margin: f64,
    pub enabled: bool,
}

impl InstrumentSpec {
    /// USD per tick per contract.
    #[inline]
    pub fn tick_value(&self) -> f64 {
        self.tick.value() * self.point_value
    }
}

/// Limits for one bot; `None` leaves a check to the account limits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BotLimits {
    /// Largest absolute position (contracts) the bot may hold in a symbol.
    pub max_contracts: Option<i64>,
    pub max_orders_per_minute: Option<u32>,
    /// Farthest stop-loss from entry, in price points.
    pub max_risk_points: Option<f64>,
    /// Smallest reward:risk (take-profit distance / stop-loss distance).
    pub min_reward_risk: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskLimits {
    pub max_order_size: i64,
    /// Open contracts across the account, in thousandths of a mini.
    pub max_open_milli: i64,
    pub max_contracts_per_symbol: i64,
    /// Fraction of `max_open_milli` one symbol may take.
    pub max_concentration: f64,
    pub max_daily_loss: f64,
    pub max_daily_profit: Option<f64>,
    pub max_drawdown: f64,
    pub drawdown_mode: DrawdownMode,
    pub starting_balance: f64,
    /// Across all bots.
    pub max_orders_per_minute: u32,
    pub available_margin: Option<f64>,
    /// Opening orders must carry a stop-loss.
    pub require_stop_loss: bool,
    pub window: TradingWindow,
    pub instruments: Vec<InstrumentSpec>,
    /// For bots without their own entry in `bots`.
    pub default_bot: BotLimits,
    pub bots: Vec<(String, BotLimits)>,
}

impl RiskLimits {
    /// Loose limits for tests and benches: everything allowed but a few contracts.
    pub fn permissive(instruments: Vec<InstrumentSpec>) -> Self {
        Self {
            max_order_size: 5,
            max_open_milli: 5 * MILLI,
            max_contracts_per_symbol: 5,
            max_concentration: 1.0,
            max_daily_loss: 1000.0,
            max_daily_profit: None,
            max_drawdown: 2000.0,
            drawdown_mode: DrawdownMode::EndOfDay,
            starting_balance: 50_000.0,
            max_orders_per_minute: 30,
            available_margin: None,
            require_stop_loss: true,
            window: TradingWindow::always(),
            instruments,
            default_bot: BotLimits::default(),
            bots: Vec::new(),
        }
    }
}

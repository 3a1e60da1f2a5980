//! Why the risk engine refused an order. The names are the wire values of
//! `tsxbot.messages.RiskReason` (a Python test keeps the two in step).
//!
//! The list lives once, in `for_each_risk_reason!`, which hands it to a macro: the domain enum
//! here and the Python enum in `python/risk.rs` are both generated from it.

/// Calls `$m! { (Variant, "WIRE_NAME"), ... }` with every risk reason.
#[macro_export]
macro_rules! for_each_risk_reason {
    ($m:ident) => {
        $m! {
            (InvalidQuantity, "INVALID_QUANTITY"),
            (MaxOrderSize, "MAX_ORDER_SIZE"),
            (InvalidPrice, "INVALID_PRICE"),
            (PriceOffTick, "PRICE_OFF_TICK"),
            (UnknownSymbol, "UNKNOWN_SYMBOL"),
            (SymbolDisabled, "SYMBOL_DISABLED"),
            (InvalidSide, "INVALID_SIDE"),
            (MissingStopLoss, "MISSING_STOP_LOSS"),
            (StopLossWrongSide, "STOP_LOSS_WRONG_SIDE"),
            (StopLossTooFar, "STOP_LOSS_TOO_FAR"),
            (TakeProfitWrongSide, "TAKE_PROFIT_WRONG_SIDE"),
            (RewardRiskTooLow, "REWARD_RISK_TOO_LOW"),
            (MissingTakeProfit, "MISSING_TAKE_PROFIT"),
            (MaxContractsBot, "MAX_CONTRACTS_BOT"),
            (MaxContractsSymbol, "MAX_CONTRACTS_SYMBOL"),
            (MaxContractsAccount, "MAX_CONTRACTS_ACCOUNT"),
            (Concentration, "CONCENTRATION"),
            (DailyLossLimit, "DAILY_LOSS_LIMIT"),
            (DailyProfitStop, "DAILY_PROFIT_STOP"),
            (MaxDrawdown, "MAX_DRAWDOWN"),
            (OutsideTradingHours, "OUTSIDE_TRADING_HOURS"),
            (BlockedDate, "BLOCKED_DATE"),
            (RateLimited, "RATE_LIMITED"),
            (TradingReducing, "TRADING_REDUCING"),
            (TradingHalted, "TRADING_HALTED"),
            (InsufficientMargin, "INSUFFICIENT_MARGIN"),
            (ReduceOnlyViolation, "REDUCE_ONLY_VIOLATION"),
            (NoReferencePrice, "NO_REFERENCE_PRICE"),
            (DuplicateOrder, "DUPLICATE_ORDER"),
        }
    };
}

macro_rules! define_risk_reason {
    ($(($variant:ident, $wire:tt)),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RiskReason {
            $($variant),*
        }

        impl RiskReason {
            pub const ALL: &'static [RiskReason] = &[$(Self::$variant),*];

            /// The wire value (`tsxbot.messages.RiskReason`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),*
                }
            }
        }
    };
}

for_each_risk_reason!(define_risk_reason);

"""Pre-trade risk (Rust): ``RiskEngine(limits).check(order) -> RiskVerdict``.

Sides are ``tsxbot.messages.Side`` (or the strings "BUY" / "SELL"). The engine is deterministic
(time is an argument; ``now_ns`` defaults to the system clock) and is kept current by
``on_fill``, ``on_mark``, ``on_balance`` and ``new_trading_day``. A verdict has ``.accepted``,
``.reason`` (a ``RiskReason``; ``message_reason`` gives the bus enum) and ``.message``. The
checks and their order are listed in the README's API section and in
``core-rs/src/risk/engine.rs``.

The owner (the aggregator) calls ``new_trading_day()`` at the session roll (17:00 Chicago for
CME products, TopStepX's trading day), feeds every fill and mark, syncs ``on_balance`` from the
account events, and closes working orders (``on_order_closed``) when the exchange cancels,
rejects or expires them. Flattening at ``flattenAt`` is the owner's job, not the engine's.
A fill the owner cannot attribute to a bot goes in with ``bot_id=UNATTRIBUTED``: while such
fills leave a position open in a symbol, exits there are decided by the account's position
(a bot's own book may be stale).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from tsxbot import _core
from tsxbot._core import (
    BotLimits,
    DrawdownMode,
    InstrumentSpec,
    OrderRequest,
    RiskEngine,
    RiskInputError,
    RiskLimits,
    RiskReason,
    RiskVerdict,
    TradingState,
)
from tsxbot.config.bot_config import BotConfig
from tsxbot.config.global_config import AccountRisk
from tsxbot.config.instruments import Instrument, Instruments
from tsxbot.config.types import parse_time_of_day
from tsxbot.messages import enums
from tsxbot.messages.orders import OrderSubmission
from tsxbot.sessions import utc_offset_transitions
from tsxbot.strategies.params import StrategyParams

# The bot_id of a fill that belongs to no known bot (core-rs risk::UNATTRIBUTED).
UNATTRIBUTED = ""

__all__ = [
    "UNATTRIBUTED",
    "BotLimits",
    "DrawdownMode",
    "InstrumentSpec",
    "OrderRequest",
    "RiskEngine",
    "RiskInputError",
    "RiskLimits",
    "RiskReason",
    "RiskVerdict",
    "TradingState",
    "bot_limits_from_config",
    "instrument_spec",
    "limits_from_config",
    "message_reason",
    "order_from_submission",
]

_EPOCH = dt.date(1970, 1, 1)
# Every engine reason is a bus reason with the same name (tests/core/test_risk.py checks it).
_TO_MESSAGE: dict[RiskReason, enums.RiskReason] = {
    getattr(RiskReason, r.name): r for r in enums.RiskReason if hasattr(RiskReason, r.name)
}


def message_reason(reason: RiskReason) -> enums.RiskReason:
    """The ``tsxbot.messages.RiskReason`` for an engine reason (same name)."""
    return _TO_MESSAGE[reason]


def instrument_spec(instrument: Instrument) -> InstrumentSpec:
    return InstrumentSpec(
        instrument.symbol,
        instrument.tick_size,
        instrument.point_value,
        instrument.mini_equivalent,
        instrument.margin,
        instrument.enabled,
    )


def bot_limits_from_config(bot: BotConfig, params: StrategyParams | None = None) -> BotLimits:
    """A bot's limits: at most ``maxPositions`` orders of ``maxOrderSize`` contracts, at most
    ``risk.maxOrdersPerMinute`` orders a minute (when set); with strategy params, the stop no
    farther than ``maxRiskPoints`` and reward:risk at least ``riskRewardRatio`` (so its opening
    orders must carry a take-profit)."""
    return BotLimits(
        max_contracts=bot.max_order_size * bot.risk.max_positions,
        max_orders_per_minute=bot.risk.max_orders_per_minute,
        max_risk_points=params.max_risk_points if params else None,
        min_reward_risk=params.risk_reward_ratio if params else None,
    )


def _minute(value: str) -> int:
    time = parse_time_of_day(value)
    return time.hour * 60 + time.minute


def limits_from_config(
    account: AccountRisk,
    instruments: Instruments,
    bots: Mapping[str, BotLimits] | None = None,
    *,
    require_stop_loss: bool = True,
    default_bot: BotLimits | None = None,
) -> RiskLimits:
    """``RiskLimits`` from the global config's ``risk`` section and the instruments table.

    Trading dates run Monday to Friday; the window is ``risk.tradingHours`` in its time zone.
    """
    initial, transitions = utc_offset_transitions(account.trading_hours.timezone)
    return RiskLimits(
        instruments=[instrument_spec(i) for i in instruments],
        max_order_size=account.max_order_size,
        max_open_contracts=float(account.max_open_contracts),
        max_contracts_per_symbol=account.max_contracts_per_symbol,
        max_daily_loss=account.max_daily_loss,
        max_drawdown=account.max_drawdown,
        starting_balance=account.starting_balance,
        max_orders_per_minute=account.max_orders_per_minute,
        max_concentration=account.max_concentration,
        max_daily_profit=account.max_daily_profit,
        drawdown_mode=DrawdownMode.INTRADAY
        if account.drawdown_mode == "intraday"
        else DrawdownMode.END_OF_DAY,
        available_margin=account.available_margin,
        require_stop_loss=require_stop_loss,
        window_start=_minute(account.trading_hours.start),
        window_end=_minute(account.trading_hours.end),
        tz_initial_offset=initial,
        tz_transitions=list(transitions),
        blocked_dates=[(d - _EPOCH).days for d in account.blocked_dates],
        bots=list((bots or {}).items()),
        default_bot=default_bot,
    )


def order_from_submission(submission: OrderSubmission, bot_id: str) -> OrderRequest:
    """The engine's view of a bot's ORDER_SUBMISSION (``bot_id`` is the envelope's source).

    The order's price is its limit price, else its stop price (None for a market order). The
    submission's ``orderId`` makes an accepted order working until ``on_fill(..., order_id=)`` or
    ``on_order_closed(order_id)``.
    """
    price = submission.limit_price if submission.limit_price is not None else submission.stop_price
    return _core.OrderRequest(
        bot_id,
        submission.symbol,
        submission.side.value,
        submission.quantity,
        price,
        submission.stop_loss,
        submission.take_profit,
        submission.reduce_only,
        submission.order_id,
    )

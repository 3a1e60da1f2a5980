"""``config/bots/*.yaml``: one trading bot (a strategy instance on one instrument)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from tsxbot.config.global_config import Section, TradingHours
from tsxbot.config.types import (
    Fraction,
    Identifier,
    NonNegativeFloat,
    OrdersPerMinute,
    PositiveFloat,
    PositiveInt,
    PositiveMoney,
    StrategyType,
    TimeOfDay,
)


class BotIdentity(Section, frozen=True):
    id: Identifier
    name: str
    enabled: bool = True


class InstrumentRef(Section, frozen=True):
    symbol: str
    # Optional; when given it must match the instruments table (a guard against a wrong symbol).
    exchange: str | None = None


class StrategySection(Section, frozen=True):
    """``type`` names a strategy: a built-in (``EMA_CROSS``) or a user's class by dotted path
    (``mypackage.module:MyStrategy``); ``params`` are checked against that strategy's params struct."""

    type: StrategyType
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class BotRisk(Section, frozen=True):
    """Bot-level limits, checked by the bot before an order goes to the aggregator."""

    max_positions: PositiveInt = 1
    max_daily_loss: PositiveMoney = 500.0
    max_drawdown: PositiveMoney = 1000.0
    max_signals_per_day: PositiveInt = 5
    max_consecutive_losses: PositiveInt | None = None
    # The bot's own order-rate bucket in the aggregator's risk engine (orders a minute, a burst of
    # as many); unset: only the account's ``risk.maxOrdersPerMinute`` applies (it always does).
    max_orders_per_minute: OrdersPerMinute | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.max_drawdown < self.max_daily_loss:
            yield (
                "maxDailyLoss",
                f"the daily loss limit ({self.max_daily_loss:g}) is larger than the maximum "
                f"drawdown ({self.max_drawdown:g})",
            )


class BreakEven(Section, frozen=True):
    enabled: bool = False
    # Move the stop once the trade is this many R in profit ...
    trigger_r: PositiveFloat = 1.0
    # ... to the entry plus this many ticks on the profit side.
    offset_ticks: int = 0

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.offset_ticks < 0:
            yield (
                "offsetTicks",
                f"expected >= 0, got {self.offset_ticks}: a negative offset puts the break-even "
                "stop on the wrong side of the entry (on the losing side)",
            )


class TrailingStop(Section, frozen=True):
    enabled: bool = False
    activation_r: PositiveFloat = 1.5
    distance_points: PositiveFloat = 2.0
    # Trail by this multiple of the strategy's ATR instead of ``distancePoints`` (when the
    # strategy reports an ATR; ``distancePoints`` otherwise).
    atr_multiple: PositiveFloat | None = None


class PartialExit(Section, frozen=True):
    """Take ``fraction`` of the position off once price reaches ``atR`` x risk."""

    enabled: bool = False
    fraction: Fraction = 0.5
    at_r: PositiveFloat = 1.0


class Exits(Section, frozen=True):
    break_even: BreakEven = msgspec.field(default_factory=BreakEven)
    trailing: TrailingStop = msgspec.field(default_factory=TrailingStop)
    partial: PartialExit = msgspec.field(default_factory=PartialExit)
    # Close this bot's position at this time of day (exchange time); None leaves it to the account.
    flatten_at: TimeOfDay | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        if (
            self.break_even.enabled
            and self.trailing.enabled
            and self.trailing.activation_r < self.break_even.trigger_r
        ):
            yield (
                "trailing.activationR",
                "the trailing stop activates before break-even; set activationR >= breakEven.triggerR",
            )


class BotConfig(Section, frozen=True):
    bot: BotIdentity
    instrument: InstrumentRef
    strategy: StrategySection
    risk: BotRisk = msgspec.field(default_factory=BotRisk)
    trading_hours: TradingHours = msgspec.field(
        default_factory=lambda: TradingHours(start="08:30", end="15:00")
    )
    exits: Exits = msgspec.field(default_factory=Exits)
    # Which account this bot trades; None uses the connection manager's selected account.
    account_id: int | None = None
    direction: Literal["both", "long", "short"] = "both"
    # Contracts per order are capped here whatever the sizing says.
    max_order_size: PositiveInt = 1
    # No new entry for this long after an exit.
    signal_cooldown_minutes: NonNegativeFloat = 5.0
    # What the STOP control command does with an open position: leave it with its working stop and
    # target at the exchange, or close it. (A bot whose process stops always leaves it protected.)
    on_stop: Literal["protect", "flatten"] = "protect"

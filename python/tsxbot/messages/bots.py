"""Bot signals, status and control, and component metrics."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from tsxbot.messages.enums import BotCommand, BotState, ControlAction, MessageType, Side
from tsxbot.messages.payload import Id, NonNegativeInt, Payload, Quantity, Scalar


class Signal(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.SIGNAL
    bot_id: Id
    strategy: str
    symbol: str
    side: Side
    # The strategy's name for the setup, e.g. BREAKOUT, FADE, SWEEP.
    signal: str
    price: float
    stop_loss: float | None = None
    take_profit: float | None = None
    quantity: Quantity | None = None
    confidence: float | None = None
    reason: str = ""


class BotStatus(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.BOT_STATUS
    bot_id: Id
    name: str
    strategy: str
    symbol: str
    state: BotState
    position: int = 0
    signals_today: NonNegativeInt = 0
    trades_today: NonNegativeInt = 0
    message: str | None = None
    average_price: float = 0.0
    # USD: closed trades net of fees, and the open position at the last price.
    realized_pnl: float = 0.0
    open_pnl: float = 0.0
    # The strategy's state (levels, indicator values) as of its last bar.
    strategy_state: dict[str, Scalar] = msgspec.field(default_factory=dict)
    # The last signal acted on, and the last skipped one (with its typed reason), as sentences.
    last_signal: str | None = None
    last_skip: str | None = None
    skip_reason: str | None = None
    # Each skipped signal since start, by its reason (SkipKind), and the latest ones in full
    # ("<bar close> <reason>: <setup>: <why>"), newest last.
    skips: dict[str, int] = msgspec.field(default_factory=dict)
    recent_skips: list[str] = msgspec.field(default_factory=list)
    working_stop: float | None = None
    working_target: float | None = None


class BotControl(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.BOT_CONTROL
    command_id: Id
    bot_id: Id
    command: BotCommand
    params: dict[str, Scalar] = msgspec.field(default_factory=dict)


class Metrics(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.METRICS
    component: str
    values: dict[str, float]


class BotRegistration(Payload, frozen=True):
    """Bot -> aggregator (``aggregator:orders``, before its orders), at start: who it is and which
    config it runs (its hash, so a changed config shows)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.BOT_REGISTRATION
    bot_id: Id
    config_hash: Id
    symbol: str | None = None
    strategy: str | None = None


class BotHeartbeat(Payload, frozen=True):
    """Bot -> aggregator (``aggregator:heartbeats``), every few seconds while it runs."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.BOT_HEARTBEAT
    bot_id: Id
    state: BotState = BotState.RUNNING


class AggregatorControl(Payload, frozen=True):
    """Anyone -> aggregator (``aggregator:control``): the kill switch, recorded with who asked and why."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AGGREGATOR_CONTROL
    command_id: Id
    action: ControlAction
    requested_by: Id
    reason: str = ""
    # For PAUSE_BOT / RESUME_BOT.
    bot_id: str | None = None

"""Enumerations carried in messages. Wire values are the upper-case names."""

from __future__ import annotations

from enum import StrEnum


class MessageType(StrEnum):
    # Bot -> aggregator
    ORDER_SUBMISSION = "ORDER_SUBMISSION"
    SIGNAL = "SIGNAL"
    BOT_STATUS = "BOT_STATUS"
    # Aggregator -> connection manager (order commands)
    PLACE_ORDER = "PLACE_ORDER"
    MODIFY_ORDER = "MODIFY_ORDER"
    CANCEL_ORDER = "CANCEL_ORDER"
    CLOSE_POSITION = "CLOSE_POSITION"
    UPDATE_SLTP = "UPDATE_SLTP"
    # Connection manager -> everyone (exchange truth)
    COMMAND_RESULT = "COMMAND_RESULT"
    ORDER_UPDATE = "ORDER_UPDATE"
    FILL = "FILL"
    POSITION_UPDATE = "POSITION_UPDATE"
    ACCOUNT_UPDATE = "ACCOUNT_UPDATE"
    # Market data
    QUOTE = "QUOTE"
    TRADE = "TRADE"
    DEPTH = "DEPTH"
    BAR = "BAR"
    # Aggregator -> bots and dashboards
    RISK_REJECTION = "RISK_REJECTION"
    TRADING_STATE_CHANGE = "TRADING_STATE_CHANGE"
    PNL_UPDATE = "PNL_UPDATE"
    METRICS = "METRICS"
    # Anyone -> a bot
    BOT_CONTROL = "BOT_CONTROL"
    # Bot -> aggregator: registration (with its config hash), then heartbeats
    BOT_REGISTRATION = "BOT_REGISTRATION"
    BOT_HEARTBEAT = "BOT_HEARTBEAT"
    # Anyone -> aggregator: the kill switch (halt, resume, flatten, pause/resume a bot)
    AGGREGATOR_CONTROL = "AGGREGATOR_CONTROL"
    # Anyone -> connection manager: bars from ProjectX's History (a bot's warm-up), and the answer
    HISTORY_REQUEST = "HISTORY_REQUEST"
    HISTORY_BARS = "HISTORY_BARS"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"
    JOIN_BID = "JOIN_BID"
    JOIN_ASK = "JOIN_ASK"


class OrderStatus(StrEnum):
    """ProjectX OrderStatus by name (0 None is never sent)."""

    OPEN = "OPEN"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    PENDING = "PENDING"
    PENDING_CANCELLATION = "PENDING_CANCELLATION"
    SUSPENDED = "SUSPENDED"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


class Aggressor(StrEnum):
    """Which side crossed the spread on a market trade (ProjectX TradeLogType)."""

    BUY = "BUY"
    SELL = "SELL"
    UNKNOWN = "UNKNOWN"


class DomType(StrEnum):
    """ProjectX DomType by name: what a market-depth row means."""

    UNKNOWN = "UNKNOWN"
    ASK = "ASK"
    BID = "BID"
    BEST_ASK = "BEST_ASK"
    BEST_BID = "BEST_BID"
    TRADE = "TRADE"
    RESET = "RESET"
    LOW = "LOW"
    HIGH = "HIGH"
    NEW_BEST_BID = "NEW_BEST_BID"
    NEW_BEST_ASK = "NEW_BEST_ASK"
    FILL = "FILL"


class BotState(StrEnum):
    STARTING = "STARTING"
    # A bot's lifecycle: INITIALIZING -> WARMING_UP -> RUNNING <-> PAUSED -> STOPPED (or ERROR).
    INITIALIZING = "INITIALIZING"
    WARMING_UP = "WARMING_UP"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class BotCommand(StrEnum):
    START = "START"
    STOP = "STOP"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    # Close the bot's position and cancel its working orders, then pause.
    FLATTEN = "FLATTEN"
    # Change one or more config values at runtime (``params`` holds key paths and values).
    UPDATE_CONFIG = "UPDATE_CONFIG"
    # New strategy params (``params``), validated, applied at the next bar.
    RELOAD = "RELOAD"


class RiskReason(StrEnum):
    """Why a pre-trade check refused an order (bot-level or aggregator-level)."""

    INVALID_QUANTITY = "INVALID_QUANTITY"
    MAX_ORDER_SIZE = "MAX_ORDER_SIZE"
    INVALID_PRICE = "INVALID_PRICE"
    PRICE_OFF_TICK = "PRICE_OFF_TICK"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_DISABLED = "SYMBOL_DISABLED"
    INVALID_SIDE = "INVALID_SIDE"
    MISSING_STOP_LOSS = "MISSING_STOP_LOSS"
    STOP_LOSS_WRONG_SIDE = "STOP_LOSS_WRONG_SIDE"
    STOP_LOSS_TOO_FAR = "STOP_LOSS_TOO_FAR"
    TAKE_PROFIT_WRONG_SIDE = "TAKE_PROFIT_WRONG_SIDE"
    REWARD_RISK_TOO_LOW = "REWARD_RISK_TOO_LOW"
    # An opening order without a take-profit from a bot with a minimum reward:risk.
    MISSING_TAKE_PROFIT = "MISSING_TAKE_PROFIT"
    MAX_CONTRACTS_BOT = "MAX_CONTRACTS_BOT"
    MAX_CONTRACTS_SYMBOL = "MAX_CONTRACTS_SYMBOL"
    MAX_CONTRACTS_ACCOUNT = "MAX_CONTRACTS_ACCOUNT"
    CONCENTRATION = "CONCENTRATION"
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    DAILY_PROFIT_STOP = "DAILY_PROFIT_STOP"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    OUTSIDE_TRADING_HOURS = "OUTSIDE_TRADING_HOURS"
    BLOCKED_DATE = "BLOCKED_DATE"
    RATE_LIMITED = "RATE_LIMITED"
    TRADING_REDUCING = "TRADING_REDUCING"
    TRADING_HALTED = "TRADING_HALTED"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    # A reduce-only order that would open or grow a position.
    REDUCE_ONLY_VIOLATION = "REDUCE_ONLY_VIOLATION"
    # A market order needing an entry price (for its stop-loss) before any price was seen.
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    # An order id that is already working at the aggregator.
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    MAX_SIGNALS_PER_DAY = "MAX_SIGNALS_PER_DAY"
    EXCHANGE_REJECTED = "EXCHANGE_REJECTED"
    # Aggregator only: a bot it does not know (not configured or not registered).
    UNKNOWN_BOT = "UNKNOWN_BOT"
    # Aggregator only: the bot is paused (kill switch); only its exits pass.
    BOT_PAUSED = "BOT_PAUSED"
    # Aggregator only: the order queue is full.
    QUEUE_FULL = "QUEUE_FULL"
    # Aggregator only: still queued after maxQueueSeconds: refused, never sent late.
    QUEUE_EXPIRED = "QUEUE_EXPIRED"
    # Aggregator only: a submission that could not be decoded (the message names the field).
    MALFORMED_SUBMISSION = "MALFORMED_SUBMISSION"
    # Aggregator only: instruments that move together (a correlation group) over their shared limit.
    CORRELATION_LIMIT = "CORRELATION_LIMIT"


class CommandFailure(StrEnum):
    """Why an order command did not succeed (``CommandResult.failure``)."""

    # Older than commandMaxAgeSeconds when it arrived: not executed.
    STALE = "STALE"
    # TopStepX refused it (``errorCode`` holds the endpoint's own code).
    EXCHANGE_REFUSED = "EXCHANGE_REFUSED"
    # Not executable as given: unknown order or account, no position, unknown contract.
    INVALID = "INVALID"
    # The gateway failed (network, circuit open, retries exhausted); the reconciliation that
    # follows publishes what the exchange holds.
    GATEWAY_ERROR = "GATEWAY_ERROR"
    # An earlier attempt started and never finished (the process stopped in the middle) and the
    # command is not safe to repeat: not executed again; the positions published are the truth.
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    # The command journal could not be reached, so it could not be run exactly once: not executed.
    JOURNAL_UNAVAILABLE = "JOURNAL_UNAVAILABLE"
    # A place whose customTag is already used by a different order (another size, price, type,
    # side, contract or bot): not placed, and never answered with the other order.
    TAG_IN_USE = "TAG_IN_USE"


class ControlAction(StrEnum):
    """The aggregator's kill switch."""

    # No new orders (exits and protective changes still pass) until RESUME.
    HALT = "HALT"
    RESUME = "RESUME"
    # Cancel every working order and close every position, across bots; then HALTED.
    FLATTEN = "FLATTEN"
    # One bot: refuse its new entries / accept them again.
    PAUSE_BOT = "PAUSE_BOT"
    RESUME_BOT = "RESUME_BOT"


class RejectionStage(StrEnum):
    BOT = "BOT"
    AGGREGATOR = "AGGREGATOR"
    EXCHANGE = "EXCHANGE"

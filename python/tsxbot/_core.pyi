"""Typed contract of the ``tsxbot._core`` extension (hand-kept; core-rs/src/python/ is the source).

Use the public wrappers (``tsxbot.ticks``, ...) rather than importing from here directly.
"""

from collections.abc import Mapping
from typing import Any, Final, Literal, final

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.int64]
_I8 = npt.NDArray[np.int8]

__version__: Final[str]

class TickArithmeticError(ValueError):
    """A price or tick size could not be converted (non-finite, out of range, invalid tick)."""

class IndicatorInputError(ValueError):
    """An indicator input or parameter was refused (NaN/inf, low above high, negative volume, bad period)."""

class SessionConfigError(ValueError):
    """Session hours, trading days or UTC offsets were invalid."""

class EnvelopeDecodeError(ValueError):
    """Bytes that are not JSON, or JSON that is not a message envelope."""

@final
class Rounding:
    """How to move a price onto the tick grid."""

    NEAREST: Rounding
    """To the nearest tick; exactly halfway goes away from zero."""
    DOWN: Rounding
    """To the tick at or below the price."""
    UP: Rounding
    """To the tick at or above the price."""

@final
class TickSize:
    """A contract's tick size, held exactly (in 1e-9 units); converts prices to integer ticks.

    Prices within 1e-6 ticks of the grid count as on it (binary float noise): 2034.3 is
    exactly 20343 ticks of 0.1. Raises ``TickArithmeticError`` for NaN/inf or out-of-range input.
    """

    def __new__(cls, tick_size: float) -> TickSize: ...
    @property
    def value(self) -> float: ...
    @property
    def nanos(self) -> int: ...
    def to_ticks(self, price: float, rounding: Rounding = ...) -> int: ...
    def to_price(self, ticks: int) -> float: ...
    def round(self, price: float, rounding: Rounding = ...) -> float: ...
    def is_on_tick(self, price: float) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

# --- sessions ------------------------------------------------------------------------------------

@final
class SessionKind:
    """The electronic session (ETH, over midnight with the daily halt) or the regular one (RTH)."""

    ETH: SessionKind
    RTH: SessionKind

@final
class SessionCalendar:
    """An instrument's sessions in exchange time. Build it with ``tsxbot.sessions.calendar_for``.

    ``transitions``: ``(utc ns, offset seconds)`` from then on; times are minutes of the day;
    ``trading_days``: ISO weekdays on which ETH opens (CME: 7, 1, 2, 3, 4). Trading dates are days
    since 1970-01-01; a session over midnight belongs to the date on which it closes.
    """

    def __new__(
        cls,
        initial_offset: int,
        transitions: list[tuple[int, int]],
        eth_open: int,
        eth_close: int,
        rth_open: int,
        rth_close: int,
        trading_days: list[int],
    ) -> SessionCalendar: ...
    def utc_offset(self, ts_ns: int) -> int: ...
    def trading_date(self, ts_ns: int, kind: SessionKind) -> int | None: ...
    def session_bounds(self, ts_ns: int, kind: SessionKind) -> tuple[int, int] | None: ...
    def is_trading_date(self, day: int) -> bool: ...

# --- indicators ----------------------------------------------------------------------------------

@final
class EMA:
    """Exponential moving average (TA-Lib: SMA seed of ``period`` values, alpha 2 / (period + 1))."""

    def __new__(cls, period: int) -> EMA: ...
    def update(self, value: float) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def initialized(self) -> bool: ...
    @property
    def period(self) -> int: ...
    @property
    def alpha(self) -> float: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class SMA:
    """Simple moving average."""

    def __new__(cls, period: int) -> SMA: ...
    def update(self, value: float) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def initialized(self) -> bool: ...
    @property
    def period(self) -> int: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class ATR:
    """Average true range, Wilder's smoothing (TA-Lib; first value after ``period + 1`` bars)."""

    def __new__(cls, period: int) -> ATR: ...
    def update(self, high: float, low: float, close: float) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def initialized(self) -> bool: ...
    @property
    def period(self) -> int: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class ADX:
    """ADX with +DI / -DI as TA-Lib computes them (DIs after ``period + 1`` bars, ADX after ``2 period``)."""

    def __new__(cls, period: int) -> ADX: ...
    def update(self, high: float, low: float, close: float) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def plus_di(self) -> float: ...
    @property
    def minus_di(self) -> float: ...
    @property
    def initialized(self) -> bool: ...
    @property
    def period(self) -> int: ...
    @property
    def count(self) -> int: ...
    def reset(self) -> None: ...

@final
class VWAP:
    """Session-anchored VWAP with volume-weighted standard-deviation bands."""

    def __new__(cls, calendar: SessionCalendar | None = None, session: SessionKind = ...) -> VWAP: ...
    def update(self, ts_ns: int, price: float, size: float) -> float: ...
    def update_many(self, ts_ns: _I64, price: _F64, size: _F64) -> _F64: ...
    @property
    def value(self) -> float: ...
    @property
    def std_dev(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def trading_date(self) -> int | None: ...
    def band(self, k: float) -> tuple[float, float]:
        """(vwap - k sd, vwap + k sd); ValueError unless k is finite and >= 0."""
    @property
    def initialized(self) -> bool: ...
    def reset(self) -> None: ...

@final
class VolumeProfile:
    """Volume by tick level: POC (ties: lower price), value area, HVN / LVN (see the README)."""

    def __new__(
        cls,
        tick_size: float,
        calendar: SessionCalendar | None = None,
        session: SessionKind = ...,
        value_area_fraction: float = 0.7,
        hvn_ratio: float = 1.5,
        lvn_ratio: float = 0.5,
        window_seconds: float | None = None,
    ) -> VolumeProfile: ...
    def update(self, ts_ns: int, price: float, size: float) -> float: ...
    def update_many(self, ts_ns: _I64, price: _F64, size: _F64) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def poc(self) -> float: ...
    @property
    def value_area(self) -> tuple[float, float]: ...
    @property
    def hvn(self) -> list[float]: ...
    @property
    def lvn(self) -> list[float]: ...
    @property
    def total_volume(self) -> float: ...
    @property
    def trading_date(self) -> int | None: ...
    def levels(self) -> tuple[_F64, _F64]: ...
    def volume_at(self, price: float) -> float: ...
    @property
    def initialized(self) -> bool: ...
    def reset(self) -> None: ...

@final
class Divergence:
    """Cumulative delta against price at the last closed bar."""

    NONE: Divergence
    BULLISH: Divergence
    BEARISH: Divergence

@final
class CumulativeDelta:
    """Buy/sell volume by aggressor (1 buy, -1 sell, 0 unknown), bar and cumulative delta, divergence."""

    def __new__(
        cls, lookback: int = 5, calendar: SessionCalendar | None = None, session: SessionKind = ...
    ) -> CumulativeDelta: ...
    def update(self, ts_ns: int, price: float, size: float, aggressor: int) -> float: ...
    def update_many(self, ts_ns: _I64, price: _F64, size: _F64, aggressor: _I8) -> float: ...
    def close_bar(self) -> float: ...
    @property
    def value(self) -> float: ...
    @property
    def buy_volume(self) -> float: ...
    @property
    def sell_volume(self) -> float: ...
    @property
    def bar_delta(self) -> float: ...
    @property
    def lookback(self) -> int: ...
    @property
    def divergence(self) -> Divergence: ...
    @property
    def trading_date(self) -> int | None: ...
    @property
    def initialized(self) -> bool: ...
    def reset(self) -> None: ...

def ema_batch(values: _F64, period: int) -> _F64: ...
def sma_batch(values: _F64, period: int) -> _F64: ...
def atr_batch(high: _F64, low: _F64, close: _F64, period: int) -> _F64: ...
def dmi_batch(high: _F64, low: _F64, close: _F64, period: int) -> tuple[_F64, _F64, _F64]: ...

# --- orders, risk and sizing -----------------------------------------------------------------------

class RiskInputError(ValueError):
    """A risk limit, fill, mark or balance was refused (unknown symbol, non-finite price, bad limit)."""

class SizingInputError(ValueError):
    """A position size or bracket could not be computed (bad input, stop under one tick)."""

@final
class Side:
    BUY: Side
    SELL: Side

_SideLike = Side | str

@final
class RiskReason:
    """Why the risk engine refused an order; names match ``tsxbot.messages.RiskReason``."""

    INVALID_QUANTITY: RiskReason
    MAX_ORDER_SIZE: RiskReason
    INVALID_PRICE: RiskReason
    PRICE_OFF_TICK: RiskReason
    UNKNOWN_SYMBOL: RiskReason
    SYMBOL_DISABLED: RiskReason
    INVALID_SIDE: RiskReason
    MISSING_STOP_LOSS: RiskReason
    STOP_LOSS_WRONG_SIDE: RiskReason
    STOP_LOSS_TOO_FAR: RiskReason
    TAKE_PROFIT_WRONG_SIDE: RiskReason
    REWARD_RISK_TOO_LOW: RiskReason
    MISSING_TAKE_PROFIT: RiskReason
    MAX_CONTRACTS_BOT: RiskReason
    MAX_CONTRACTS_SYMBOL: RiskReason
    MAX_CONTRACTS_ACCOUNT: RiskReason
    CONCENTRATION: RiskReason
    DAILY_LOSS_LIMIT: RiskReason
    DAILY_PROFIT_STOP: RiskReason
    MAX_DRAWDOWN: RiskReason
    OUTSIDE_TRADING_HOURS: RiskReason
    BLOCKED_DATE: RiskReason
    RATE_LIMITED: RiskReason
    TRADING_REDUCING: RiskReason
    TRADING_HALTED: RiskReason
    INSUFFICIENT_MARGIN: RiskReason
    REDUCE_ONLY_VIOLATION: RiskReason
    NO_REFERENCE_PRICE: RiskReason
    DUPLICATE_ORDER: RiskReason
    @property
    def value(self) -> str: ...

@final
class TradingState:
    ACTIVE: TradingState
    REDUCING: TradingState
    HALTED: TradingState

@final
class DrawdownMode:
    END_OF_DAY: DrawdownMode
    INTRADAY: DrawdownMode

@final
class InstrumentSpec:
    def __new__(
        cls,
        symbol: str,
        tick_size: float,
        point_value: float,
        mini_equivalent: float = 1.0,
        margin: float = 0.0,
        enabled: bool = True,
    ) -> InstrumentSpec: ...
    @property
    def symbol(self) -> str: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def point_value(self) -> float: ...
    @property
    def tick_value(self) -> float: ...
    @property
    def mini_equivalent(self) -> float: ...
    @property
    def margin(self) -> float: ...
    @property
    def enabled(self) -> bool: ...

@final
class BotLimits:
    def __new__(
        cls,
        *,
        max_contracts: int | None = None,
        max_orders_per_minute: int | None = None,
        max_risk_points: float | None = None,
        min_reward_risk: float | None = None,
    ) -> BotLimits: ...
    @property
    def max_contracts(self) -> int | None: ...
    @property
    def max_orders_per_minute(self) -> int | None: ...
    @property
    def max_risk_points(self) -> float | None: ...
    @property
    def min_reward_risk(self) -> float | None: ...

@final
class RiskLimits:
    """Account limits, instruments and bots. ``max_open_contracts`` is in mini-equivalents; the
    trading window is minutes of the day in the zone of ``tz_*`` (start == end: all day)."""

    def __new__(
        cls,
        *,
        instruments: list[InstrumentSpec],
        max_order_size: int,
        max_open_contracts: float,
        max_contracts_per_symbol: int,
        max_daily_loss: float,
        max_drawdown: float,
        starting_balance: float,
        max_orders_per_minute: int,
        max_concentration: float = 1.0,
        max_daily_profit: float | None = None,
        drawdown_mode: DrawdownMode = ...,
        available_margin: float | None = None,
        require_stop_loss: bool = True,
        window_start: int = 0,
        window_end: int = 0,
        tz_initial_offset: int = 0,
        tz_transitions: list[tuple[int, int]] = ...,
        trading_weekdays: list[int] = ...,
        blocked_dates: list[int] = ...,
        bots: list[tuple[str, BotLimits]] = ...,
        default_bot: BotLimits | None = None,
    ) -> RiskLimits: ...
    @property
    def symbols(self) -> list[str]: ...
    @property
    def max_order_size(self) -> int: ...
    @property
    def max_open_contracts(self) -> float: ...
    @property
    def max_daily_loss(self) -> float: ...
    @property
    def max_drawdown(self) -> float: ...

@final
class OrderRequest:
    """An order as the risk engine sees it; ``price`` None is a market order."""

    def __new__(
        cls,
        bot_id: str,
        symbol: str,
        side: _SideLike,
        quantity: int,
        price: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        reduce_only: bool = False,
        order_id: str | None = None,
    ) -> OrderRequest: ...
    @property
    def bot_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Literal["BUY", "SELL"]: ...
    @property
    def quantity(self) -> int: ...
    @property
    def price(self) -> float | None: ...
    @property
    def stop_loss(self) -> float | None: ...
    @property
    def take_profit(self) -> float | None: ...
    @property
    def reduce_only(self) -> bool: ...
    @property
    def order_id(self) -> str | None: ...

@final
class RiskVerdict:
    @property
    def accepted(self) -> bool: ...
    @property
    def reason(self) -> RiskReason | None: ...
    @property
    def message(self) -> str: ...
    @property
    def limit(self) -> float | None: ...
    @property
    def value(self) -> float | None: ...
    def __bool__(self) -> bool: ...

@final
class RiskEngine:
    """Pre-trade checks; deterministic given ``now_ns`` (UTC ns, system clock when None)."""

    def __new__(cls, limits: RiskLimits) -> RiskEngine: ...
    def check(self, order: OrderRequest | Mapping[str, object], now_ns: int | None = None) -> RiskVerdict: ...
    def on_fill(
        self,
        bot_id: str,
        symbol: str,
        side: _SideLike,
        quantity: int,
        price: float,
        fees: float = 0.0,
        order_id: str | None = None,
    ) -> float: ...
    def on_order_closed(self, order_id: str) -> int: ...
    @property
    def working_orders(self) -> int: ...
    def pending(self, symbol: str) -> tuple[int, int]: ...
    def on_mark(self, symbol: str, price: float) -> None: ...
    def on_balance(self, balance: float) -> None: ...
    def new_trading_day(self) -> None: ...
    def raise_drawdown_peak(self, peak: float) -> None: ...
    trading_state: TradingState
    @property
    def balance(self) -> float: ...
    @property
    def open_pnl(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def daily_pnl(self) -> float: ...
    @property
    def realized_today(self) -> float: ...
    @property
    def fees_today(self) -> float: ...
    @property
    def drawdown_floor(self) -> float: ...
    @property
    def drawdown_peak(self) -> float: ...
    @property
    def exposure(self) -> float: ...
    @property
    def margin_used(self) -> float: ...
    def position(self, symbol: str) -> tuple[int, float]: ...
    def bot_position(self, bot_id: str, symbol: str) -> int: ...
    def mark_price(self, symbol: str) -> float: ...

# --- P&L -------------------------------------------------------------------------------------------

class MatchError(ValueError):
    """A fill that does not belong to this matcher (another bot or symbol), repeats a fill id, or
    has a quantity, price or fees that cannot be matched."""

_ClosedTrade = tuple[
    int, int, int, float, float, int, int, float, float, float, float, float | None, tuple[str, ...]
]

@final
class FifoMatcher:
    """One (bot, symbol)'s FIFO round-trip matcher (``tsxbot.pnl.matching`` wraps it)."""

    def __new__(cls, bot_id: str, symbol: str, point_value: float, fee_per_side: float) -> FifoMatcher: ...
    def add(
        self,
        fill_id: str,
        bot_id: str,
        symbol: str,
        buy: bool,
        quantity: int,
        price: float,
        ts_ns: int,
        fees: float | None = None,
        stop_loss: float | None = None,
    ) -> _ClosedTrade | None:
        """The closed trade: (direction, quantity, max_position, entry_price, exit_price, entry_ns,
        exit_ns, gross_pnl, fees, mae, mfe, initial_risk, fill_ids); raises ``MatchError``."""
    def mark(self, price: float) -> None: ...
    def open_pnl(self, price: float) -> float: ...
    def equity(self, price: float) -> float:
        """realized - fees + open_pnl(price)."""
    @property
    def realized(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def position(self) -> int: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def bot_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    def lots(self) -> list[tuple[str, int, int, float, int]]:
        """(fill_id, direction, quantity, price, ts_ns), oldest first."""

@final
class Bracket:
    @property
    def entry(self) -> float: ...
    @property
    def stop_loss(self) -> float: ...
    @property
    def take_profit(self) -> float | None: ...
    @property
    def stop_ticks(self) -> int: ...
    @property
    def target_ticks(self) -> int | None: ...

def contracts_for_risk(
    dollar_risk: float, risk_points: float, tick_size: float, point_value: float, max_contracts: int
) -> int: ...
def bracket(
    side: _SideLike,
    entry: float,
    tick_size: float,
    *,
    stop_points: float | None = None,
    stop_atr: float | None = None,
    atr: float | None = None,
    target_points: float | None = None,
    target_atr: float | None = None,
    target_r: float | None = None,
) -> Bracket: ...
def bracket_ticks(
    side: _SideLike, stop_ticks: int, target_ticks: int | None = None
) -> tuple[int, int | None]: ...
def bracket_ticks_from_prices(
    side: _SideLike, entry: float, stop_loss: float, take_profit: float | None, tick_size: float
) -> tuple[int, int | None]: ...

# --- order book --------------------------------------------------------------------------------

@final
class DepthOutcome:
    APPLIED: DepthOutcome
    STALE: DepthOutcome
    IGNORED: DepthOutcome
    INVALID: DepthOutcome

@final
class OrderBook:
    """L2 book from ProjectX depth rows (``dom_type``: DomType code 0..11). Never raises on data."""

    def __new__(cls, tick_size: float) -> OrderBook: ...
    def apply(self, ts_ns: int, dom_type: int, price: float, volume: int) -> DepthOutcome: ...
    def apply_many(self, ts_ns: _I64, dom_type: _I64, price: _F64, volume: _I64) -> int: ...
    @property
    def best_bid(self) -> tuple[float, int] | None: ...
    @property
    def best_ask(self) -> tuple[float, int] | None: ...
    @property
    def spread(self) -> float | None: ...
    @property
    def spread_ticks(self) -> int | None: ...
    @property
    def mid(self) -> float | None: ...
    def bids(self, levels: int = 10) -> list[tuple[float, int]]: ...
    def asks(self, levels: int = 10) -> list[tuple[float, int]]: ...
    def imbalance(self, levels: int = 5) -> float | None: ...
    def snapshot(self) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]: ...
    @property
    def depth(self) -> tuple[int, int]: ...
    @property
    def last_trade(self) -> tuple[float, int, int] | None: ...
    @property
    def session_low(self) -> float | None: ...
    @property
    def session_high(self) -> float | None: ...
    def stats(self) -> dict[str, int]: ...
    def is_consistent(self) -> bool: ...
    def reset(self) -> None: ...

# --- bars ----------------------------------------------------------------------------------------

@final
class Bar:
    """Times are UTC ns (``start`` inclusive, ``end`` exclusive); ``trading_date`` days since 1970."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def trading_date(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def buy_volume(self) -> float: ...
    @property
    def sell_volume(self) -> float: ...
    @property
    def delta(self) -> float: ...
    @property
    def trade_count(self) -> int: ...

@final
class BarAggregator:
    """Trades or quotes to time bars of 1 s .. 1 day, anchored at the session open."""

    def __new__(
        cls, calendar: SessionCalendar, timeframe_seconds: int, session: SessionKind = ...
    ) -> BarAggregator: ...
    def update(self, ts_ns: int, price: float, size: float, aggressor: int) -> Bar | None: ...
    def update_quote(self, ts_ns: int, bid: float, ask: float) -> Bar | None: ...
    def update_many(
        self, ts_ns: _I64, price: _F64, size: _F64, aggressor: _I8
    ) -> dict[str, npt.NDArray[np.generic]]: ...
    def flush(self, now_ns: int) -> Bar | None: ...
    @property
    def current(self) -> Bar | None: ...
    @property
    def timeframe_seconds(self) -> int: ...
    @property
    def outside_session(self) -> int: ...
    @property
    def late(self) -> int: ...
    def reset(self) -> None: ...

# --- envelope codec (benchmarked against msgspec; msgspec is the hot path: see BENCHMARKS.md) ---

def decode_envelope(data: bytes | str) -> dict[str, Any]:
    """``{"type", "timestamp", "source", "payload", "metadata"}``; raises ``EnvelopeDecodeError``."""

def encode_envelope(
    message_type: str,
    timestamp: str,
    source: str,
    payload: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> bytes: ...

"""The report's content, computed from fills with :mod:`tsxbot.pnl` (the same code as live
trading, the simulator and the backtester): the period's metrics, per bot, per day, the equity
curve and its drawdown, and the trade list.

A trade belongs to the report when its exit's CME trading day is within ``[from, to]``; fills
before ``from`` are still read so that a position opened earlier closes with its true entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import msgspec

from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.drawdown import closed_trade_equity, drawdown_series
from tsxbot.pnl.execution_record import Execution
from tsxbot.pnl.ledger import Ledger
from tsxbot.pnl.matching import RoundTrip
from tsxbot.pnl.metrics import TradeMetrics, compute
from tsxbot.pnl.periods import PeriodFigures, daily, trading_day
from tsxbot.sessions import from_ns

SCHEMA_VERSION = 1


class TradeRow(msgspec.Struct, frozen=True, kw_only=True):
    trade_id: str
    bot_id: str
    strategy: str
    symbol: str
    direction: str
    quantity: int
    entry_time: dt.datetime
    exit_time: dt.datetime
    trading_day: dt.date
    entry_price: float
    exit_price: float
    gross_pnl: float
    fees: float
    net_pnl: float
    r_multiple: float | None
    mae: float
    mfe: float
    seconds_in_trade: float


class DayRow(msgspec.Struct, frozen=True, kw_only=True):
    trading_day: dt.date
    trades: int
    wins: int
    losses: int
    gross_pnl: float
    fees: float
    net_pnl: float


class BotRow(msgspec.Struct, frozen=True, kw_only=True):
    bot_id: str
    strategy: str
    metrics: TradeMetrics


class EquityPoint(msgspec.Struct, frozen=True, kw_only=True):
    time: dt.datetime
    equity: float
    drawdown: float


class Report(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    date_from: dt.date | None
    date_to: dt.date | None
    bot: str | None
    capital: float
    summary: TradeMetrics
    bots: list[BotRow]
    days: list[DayRow]
    equity: list[EquityPoint]
    trades: list[TradeRow]


def _row(t: RoundTrip) -> TradeRow:
    return TradeRow(
        trade_id=t.trade_id,
        bot_id=t.bot_id,
        strategy=t.strategy,
        symbol=t.symbol,
        direction="LONG" if t.direction > 0 else "SHORT",
        quantity=t.quantity,
        entry_time=from_ns(t.entry_ns),
        exit_time=from_ns(t.exit_ns),
        trading_day=trading_day(t.exit_ns),
        entry_price=t.entry_price,
        exit_price=t.exit_price,
        gross_pnl=round(t.gross_pnl, 2),
        fees=round(t.fees, 2),
        net_pnl=round(t.net_pnl, 2),
        r_multiple=t.r_multiple,
        mae=round(t.mae, 2),
        mfe=round(t.mfe, 2),
        seconds_in_trade=t.duration_ns / 1e9,
    )


def _day(p: PeriodFigures) -> DayRow:
    return DayRow(
        trading_day=dt.date.fromisoformat(p.period),
        trades=p.trades,
        wins=p.wins,
        losses=p.losses,
        gross_pnl=round(p.gross, 2),
        fees=round(p.fees, 2),
        net_pnl=round(p.net, 2),
    )


def build_report(
    fills: Iterable[Execution],
    specs: Callable[[str], ContractSpec] | dict[str, ContractSpec],
    *,
    capital: float,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    bot: str | None = None,
) -> Report:
    def in_period(day: dt.date) -> bool:
        return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)

    def within(t: RoundTrip) -> bool:
        return in_period(trading_day(t.exit_ns))

    ledger = Ledger(specs)
    base = 0.0  # mark-to-market equity when the period starts
    mtm: list[float] = []  # after each fill in the period, each symbol marked at its last fill
    for fill in fills:
        if bot is None or fill.bot_id == bot:
            day = trading_day(fill.ts_ns)
            if date_from is not None and day < date_from:
                ledger.apply(fill)
                base = ledger.total().net
                continue
            ledger.apply(fill)
            if in_period(day):
                mtm.append(ledger.total().net - base)

    trades = sorted((t for t in ledger.trades if within(t)), key=lambda t: (t.exit_ns, t.entry_ns))
    by_bot: dict[str, list[RoundTrip]] = {}
    for t in trades:
        by_bot.setdefault(t.bot_id, []).append(t)
    equity = closed_trade_equity(t.net_pnl for t in trades)
    return Report(
        schema_version=SCHEMA_VERSION,
        date_from=date_from,
        date_to=date_to,
        bot=bot,
        capital=capital,
        summary=compute(trades, capital=capital, mtm_equity=mtm),
        bots=[
            BotRow(bot_id=b, strategy=ts[-1].strategy, metrics=compute(ts, capital=capital))
            for b, ts in sorted(by_bot.items())
        ],
        days=[_day(p) for p in daily(trades)],
        equity=[
            EquityPoint(time=from_ns(t.exit_ns), equity=round(e, 2), drawdown=round(d, 2))
            for t, e, d in zip(trades, equity, drawdown_series(equity), strict=True)
        ],
        trades=[_row(t) for t in trades],
    )

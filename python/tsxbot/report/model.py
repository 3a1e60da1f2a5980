"""The report's content, computed from fills with :mod:`tsxbot.pnl` (the same code as live
trading, the simulator and the backtester): the period's metrics, per bot, per day, the equity
curve and its drawdown, and the trade list.

A trade belongs to the report when its exit's CME trading day is within ``[from, to]``; fills
before ``from`` are still read so that a position opened earlier closes with its true entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec

from tsxbot.messages.enums import OrderStatus
from tsxbot.pnl.columns import TradeColumns
from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.drawdown import closed_trade_equity, drawdown_series
from tsxbot.pnl.execution_quality import OrderOutcome, Slippage, fill_rates, slippage
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


class ExecutionRow(msgspec.Struct, frozen=True, kw_only=True):
    """Execution quality of one bot in one instrument (definitions: :mod:`tsxbot.pnl.execution_quality`)."""

    bot_id: str
    symbol: str
    fills_with_signal: int
    average_slippage_ticks: float | None
    slippage_dollars: float
    average_signal_to_fill_ms: float | None
    orders_final: int
    orders_filled: int
    fill_rate: float | None


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
    execution: list[ExecutionRow] = []


def _round2(values: list[float]) -> list[float]:
    """``round(v, 2)`` of each value, once per distinct value (P&L on a tick grid repeats);
    a zero is rounded itself (a dict takes -0.0 for 0.0)."""
    once = {v: round(v, 2) for v in set(values)}
    return [once[v] or round(v, 2) for v in values]


def _rows(columns: TradeColumns, excursions: Mapping[str, tuple[float, float]]) -> list[TradeRow]:
    ordered = columns.trades
    ids = columns.trade_ids
    mae, mfe = columns.mae.tolist(), columns.mfe.tolist()
    if excursions:
        measured = [excursions.get(i) for i in ids]
        mae = [m if x is None else x[0] for m, x in zip(mae, measured, strict=True)]
        mfe = [m if x is None else x[1] for m, x in zip(mfe, measured, strict=True)]
    days = [dt.date.fromordinal(d) for d in columns.trading_days().tolist()]
    return [
        TradeRow(
            trade_id=trade_id,
            bot_id=t.bot_id,
            strategy=t.strategy,
            symbol=t.symbol,
            direction="LONG" if t.direction > 0 else "SHORT",
            quantity=t.quantity,
            entry_time=from_ns(entry_ns),
            exit_time=from_ns(exit_ns),
            trading_day=day,
            entry_price=t.entry_price,
            exit_price=t.exit_price,
            gross_pnl=gross,
            fees=fees,
            net_pnl=net,
            r_multiple=r,
            mae=low,
            mfe=high,
            seconds_in_trade=seconds,
        )
        for (
            t,
            trade_id,
            entry_ns,
            exit_ns,
            day,
            gross,
            fees,
            net,
            r,
            low,
            high,
            seconds,
        ) in zip(
            ordered,
            ids,
            columns.entry_ns.tolist(),
            columns.exit_ns.tolist(),
            days,
            _round2(columns.gross.tolist()),
            _round2(columns.fees.tolist()),
            _round2(columns.net.tolist()),
            columns.r_multiple,
            _round2(mae),
            _round2(mfe),
            columns.seconds_in_trade.tolist(),
            strict=True,
        )
    ]


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
    orders: Iterable[OrderInfo] = (),
    order_of_fill: Mapping[str, str] | None = None,
    excursions: Mapping[str, tuple[float, float]] | None = None,
) -> Report:
    """``orders`` and ``order_of_fill`` (fill id -> order id) feed the execution-quality rows;
    ``excursions`` (trade id -> MAE, MFE) are the ones measured live from quotes (the journal's
    trades), which fills alone cannot give back."""

    def in_period(day: dt.date) -> bool:
        return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)

    def within(t: RoundTrip) -> bool:
        return in_period(trading_day(t.exit_ns))

    spec_of = specs.__getitem__ if isinstance(specs, dict) else specs
    fills = list(fills)
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

    return report_from_trades(
        [t for t in ledger.trades if within(t)],
        mtm,
        capital=capital,
        date_from=date_from,
        date_to=date_to,
        bot=bot,
        excursions=excursions,
        execution=execution_quality(
            (
                (f, (order_of_fill or {}).get(f.fill_id))
                for f in fills
                if (bot is None or f.bot_id == bot) and in_period(trading_day(f.ts_ns))
            ),
            [o for o in orders if (bot is None or o.bot_id == bot) and in_period(trading_day(o.ts_ns))],
            spec_of,
        ),
    )


def report_from_trades(
    trades: Iterable[RoundTrip] | TradeColumns,
    mtm: Sequence[float],
    *,
    capital: float,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    bot: str | None = None,
    excursions: Mapping[str, tuple[float, float]] | None = None,
    execution: list[ExecutionRow] | None = None,
) -> Report:
    """The report of closed ``trades`` already matched (those of the period) and the period's
    mark-to-market equity samples ``mtm`` (after each fill, as :func:`build_report` takes them):
    what :func:`build_report` gives once its ledger has matched the fills. The backtester, whose
    own matcher has the trades already, calls it directly (one definition of every figure)."""
    columns = trades if isinstance(trades, TradeColumns) else TradeColumns(trades)
    ordered = columns.trades
    equity = closed_trade_equity(columns.net)
    days = daily(columns)
    summary = compute(columns, capital=capital, mtm_equity=mtm, days=days)
    if len({t.bot_id for t in ordered}) == 1:  # the only bot: its trades are the summary's, in order
        bots = [
            BotRow(
                bot_id=ordered[0].bot_id,
                strategy=ordered[-1].strategy,
                metrics=msgspec.structs.replace(summary, max_drawdown_mtm=None),
            )
        ]
    else:
        by_bot: dict[str, list[RoundTrip]] = {}
        for t in ordered:
            by_bot.setdefault(t.bot_id, []).append(t)
        bots = [
            BotRow(bot_id=b, strategy=ts[-1].strategy, metrics=compute(ts, capital=capital))
            for b, ts in sorted(by_bot.items())
        ]

    return Report(
        schema_version=SCHEMA_VERSION,
        date_from=date_from,
        date_to=date_to,
        bot=bot,
        capital=capital,
        summary=summary,
        bots=bots,
        days=[_day(p) for p in days],
        equity=[
            EquityPoint(time=from_ns(t), equity=e, drawdown=d)
            for t, e, d in zip(
                columns.exit_ns.tolist(),
                [round(e, 2) for e in equity],
                [round(d, 2) for d in drawdown_series(equity)],
                strict=True,
            )
        ],
        trades=_rows(columns, excursions or {}),
        execution=execution or [],
    )


class OrderInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the execution-quality figures need of one order (from the journal)."""

    order_id: str
    bot_id: str
    symbol: str
    quantity: int
    ts_ns: int
    signal_price: float | None = None
    signal_ns: int | None = None
    final_status: OrderStatus | None = None


def execution_quality(
    fills: Iterable[tuple[Execution, str | None]],
    orders: Iterable[OrderInfo],
    specs: Callable[[str], ContractSpec],
) -> list[ExecutionRow]:
    """``fills``: each fill with the id of the order it filled (when known)."""
    by_id = {o.order_id: o for o in orders}
    slips: dict[tuple[str, str], list[Slippage]] = {}
    for fill, order_id in fills:
        order = by_id.get(order_id) if order_id is not None else None
        if order is None or order.signal_price is None or order.signal_ns is None:
            continue
        slips.setdefault((fill.bot_id, fill.symbol), []).append(
            slippage(
                fill_id=fill.fill_id,
                bot_id=fill.bot_id,
                spec=specs(fill.symbol),
                side=fill.side,
                quantity=fill.quantity,
                fill_price=fill.price,
                fill_ns=fill.ts_ns,
                reference_price=order.signal_price,
                signal_ns=order.signal_ns,
            )
        )
    rates = {
        (r.bot_id, r.symbol): r
        for r in fill_rates(
            OrderOutcome(
                bot_id=o.bot_id,
                symbol=o.symbol,
                final=o.final_status is not None,
                filled=o.final_status is OrderStatus.FILLED,
            )
            for o in by_id.values()
        )
    }
    rows: list[ExecutionRow] = []
    for key in sorted(set(slips) | set(rates)):
        s = slips.get(key, [])
        rate = rates.get(key)
        rows.append(
            ExecutionRow(
                bot_id=key[0],
                symbol=key[1],
                fills_with_signal=len(s),
                average_slippage_ticks=sum(x.ticks for x in s) / len(s) if s else None,
                slippage_dollars=round(sum(x.dollars for x in s), 2),
                average_signal_to_fill_ms=sum(x.signal_to_fill_ms for x in s) / len(s) if s else None,
                orders_final=rate.orders if rate else 0,
                orders_filled=rate.filled if rate else 0,
                fill_rate=rate.rate if rate else None,
            )
        )
    return rows

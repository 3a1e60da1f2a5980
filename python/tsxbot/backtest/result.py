"""What a backtest gives back: the report (the same ``tsxbot.report`` model as ``tsxbot report``),
the trade list with the reason of each entry and exit, every fill, and what was skipped or refused.

JSON schema (``tsxbot backtest --json FILE``; README "Backtest JSON"): a ``BacktestResult``
encoded by msgspec (times ISO-8601 UTC, dates ``YYYY-MM-DD``, undefined figures ``null``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import msgspec

from tsxbot.backtest.fill_model import FillSettings
from tsxbot.report.model import Report

__all__ = [
    "SCHEMA_VERSION",
    "BacktestResult",
    "BacktestTrade",
    "DataSpan",
    "FillRow",
    "SkipRow",
    "write_trades_csv",
]

SCHEMA_VERSION = 1

FillRole = Literal["entry", "exit", "stop", "target", "end of data"]


class FillRow(msgspec.Struct, frozen=True):
    """One fill: ``role`` says which order filled (an entry, the strategy's or the time exit's
    market exit, the bracket's stop or target, or the close at the end of the data). The
    backtester builds its rows from their fields in order (a third of the keyword call's cost)."""

    fill_id: str
    order_id: str
    time: dt.datetime
    side: Literal["BUY", "SELL"]
    quantity: int
    price: float
    fees: float
    role: FillRole
    reason: str


class BacktestTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One round trip (flat to flat), as ``tsxbot report``'s trade rows, with its reasons."""

    trade_id: str
    direction: Literal["LONG", "SHORT"]
    quantity: int
    entry_time: dt.datetime
    exit_time: dt.datetime
    entry_price: float
    exit_price: float
    gross_pnl: float
    fees: float
    net_pnl: float
    r_multiple: float | None
    mae: float
    mfe: float
    seconds_in_trade: float
    entry_reason: str
    exit_reason: str
    fill_ids: list[str]


class SkipRow(msgspec.Struct, frozen=True, kw_only=True):
    """A signal not taken: by the bot's own rules (``SKIP``) or refused by the account checks."""

    time: dt.datetime
    kind: str
    setup: str
    detail: str


class DataSpan(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    symbol: str
    first_bar: dt.datetime | None
    last_bar: dt.datetime | None
    bars: int
    warmup_bars: int
    prints: bool


class Timing(msgspec.Struct, frozen=True, kw_only=True):
    """``seconds``: the whole run (warm-up, bars, report); ``loop_seconds``: the bars only."""

    seconds: float
    loop_seconds: float
    bars_per_second: float | None


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    kind: Literal["backtest"] = "backtest"
    bot_id: str
    strategy: str
    symbol: str
    params: dict[str, Any]
    fill_model: Literal["bars", "exchange"]
    fill_settings: FillSettings
    data: DataSpan
    report: Report
    trades: list[BacktestTrade]
    fills: list[FillRow]
    skips: dict[str, int]
    refusals: dict[str, int]
    skipped: list[SkipRow]
    unfilled_at_end: int
    timing: Timing

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2)

    def write_json(self, path: Path) -> None:
        path.write_bytes(self.to_json())


_CSV_COLUMNS = [f for f in BacktestTrade.__struct_fields__ if f != "fill_ids"]


def write_trades_csv(result: BacktestResult, path: Path) -> None:
    """The trade list, one row per trade (the fields of ``BacktestTrade`` but ``fill_ids``)."""
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_CSV_COLUMNS)
        for trade in result.trades:
            row = msgspec.to_builtins(trade)
            writer.writerow([row[c] for c in _CSV_COLUMNS])

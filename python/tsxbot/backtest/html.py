"""The backtest's HTML report: ``tsxbot report``'s page (the same charts and tables) with a
backtest section before the charts: the run (bot, data, fill model), the skips and refusals, and
the trade list with the reason of each entry and exit."""

from __future__ import annotations

import html
from pathlib import Path

from tsxbot.backtest.result import BacktestResult
from tsxbot.report.html import render_html

__all__ = ["render_backtest_html", "write_backtest_html"]


def _rows(headers: list[str], rows: list[list[object]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def render_backtest_html(result: BacktestResult) -> str:
    data = result.data
    fills = result.fill_settings
    run = _rows(
        [
            "bot",
            "strategy",
            "symbol",
            "data",
            "bars",
            "warm-up bars",
            "fill model",
            "slippage (ticks)",
            "limits",
        ],
        [
            [
                result.bot_id,
                result.strategy,
                result.symbol,
                data.source,
                data.bars,
                data.warmup_bars,
                result.fill_model + (" (prints)" if data.prints else ""),
                fills.slippage_ticks,
                fills.limit_fill,
            ]
        ],
        "backtest-run",
    )
    skips = _rows(
        ["kind", "count"],
        [[k, v] for k, v in sorted(result.skips.items())]
        + [[f"REFUSED_{k}", v] for k, v in sorted(result.refusals.items())],
        "backtest-skips",
    )
    trades = _rows(
        [
            "entry",
            "exit",
            "side",
            "qty",
            "entry price",
            "exit price",
            "net P&L",
            "R",
            "entry reason",
            "exit reason",
        ],
        [
            [
                t.entry_time.isoformat(timespec="seconds"),
                t.exit_time.isoformat(timespec="seconds"),
                t.direction,
                t.quantity,
                t.entry_price,
                t.exit_price,
                t.net_pnl,
                t.r_multiple,
                t.entry_reason,
                t.exit_reason,
            ]
            for t in result.trades
        ],
        "backtest-trades",
    )
    section = (
        f"<h2>Backtest</h2>{run}<h3>Signals not taken</h3>{skips}<h3>Trades with their reasons</h3>{trades}"
    )
    page = render_html(result.report)
    marker = "<h2>Charts</h2>"
    return (
        page.replace(marker, section + marker, 1)
        if marker in page
        else page.replace("</body>", section + "</body>")
    )


def write_backtest_html(result: BacktestResult, path: Path) -> None:
    path.write_text(render_backtest_html(result), encoding="utf-8")

"""The HTML report: one self-contained file (plotly.js inlined, opens offline) with the equity
curve, the drawdown, daily P&L bars, the per-bot table, the R-multiple distribution and the
trade list."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tsxbot.report.model import Report


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list[object]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(report: Report) -> str:
    times = [p.time for p in report.equity]
    charts = make_subplots(
        rows=4,
        cols=1,
        subplot_titles=("Equity (closed trades, net)", "Drawdown", "Daily net P&L", "R multiples"),
        vertical_spacing=0.08,
    )
    charts.add_trace(go.Scatter(x=times, y=[p.equity for p in report.equity], name="equity"), row=1, col=1)
    charts.add_trace(
        go.Scatter(x=times, y=[-p.drawdown for p in report.equity], name="drawdown", fill="tozeroy"),
        row=2,
        col=1,
    )
    charts.add_trace(
        go.Bar(
            x=[d.trading_day.isoformat() for d in report.days],
            y=[d.net_pnl for d in report.days],
            name="daily net",
            marker_color=["#2a9d8f" if d.net_pnl >= 0 else "#e76f51" for d in report.days],
        ),
        row=3,
        col=1,
    )
    charts.add_trace(
        go.Histogram(x=[t.r_multiple for t in report.trades if t.r_multiple is not None], name="R"),
        row=4,
        col=1,
    )
    charts.update_xaxes(type="category", row=3, col=1)  # one bar per trading day, no gaps
    charts.update_layout(height=1100, showlegend=False, margin={"t": 40})
    figure = charts.to_html(full_html=False, include_plotlyjs=True, div_id="charts")
    s = report.summary
    summary = _table(
        [
            "net P&L",
            "gross",
            "fees",
            "trades",
            "win rate",
            "profit factor",
            "expectancy",
            "max DD (closed)",
            "max DD (MTM)",
            "Sharpe",
            "Sortino",
        ],
        [
            [
                s.net_pnl,
                s.gross_pnl,
                s.fees,
                s.trades,
                None if s.win_rate is None else f"{s.win_rate:.1%}",
                s.profit_factor,
                s.expectancy,
                s.max_drawdown_closed,
                s.max_drawdown_mtm,
                s.sharpe,
                s.sortino,
            ]
        ],
        "summary",
    )
    bots = _table(
        ["bot", "strategy", "trades", "net P&L", "fees", "win rate", "profit factor", "max DD"],
        [
            [
                b.bot_id,
                b.strategy,
                b.metrics.trades,
                b.metrics.net_pnl,
                b.metrics.fees,
                None if b.metrics.win_rate is None else f"{b.metrics.win_rate:.1%}",
                b.metrics.profit_factor,
                b.metrics.max_drawdown_closed,
            ]
            for b in report.bots
        ],
        "bots",
    )
    trades = _table(
        ["exit", "bot", "symbol", "side", "qty", "entry", "exit price", "net P&L", "fees", "R", "MAE", "MFE"],
        [
            [
                t.exit_time.isoformat(timespec="seconds"),
                t.bot_id,
                t.symbol,
                t.direction,
                t.quantity,
                t.entry_price,
                t.exit_price,
                t.net_pnl,
                t.fees,
                t.r_multiple,
                t.mae,
                t.mfe,
            ]
            for t in report.trades
        ],
        "trades",
    )
    execution = _table(
        [
            "bot",
            "symbol",
            "fills",
            "avg slippage (ticks)",
            "slippage ($)",
            "signal to fill (ms)",
            "fill rate",
        ],
        [
            [
                e.bot_id,
                e.symbol,
                e.fills_with_signal,
                e.average_slippage_ticks,
                e.slippage_dollars,
                e.average_signal_to_fill_ms,
                None if e.fill_rate is None else f"{e.fill_rate:.1%} ({e.orders_filled}/{e.orders_final})",
            ]
            for e in report.execution
        ],
        "execution",
    )
    span = f"{report.date_from or 'start'} .. {report.date_to or 'end'}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tsxbot report {html.escape(span)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head>
<body><h1>tsxbot report {html.escape(span)}</h1>
<h2>Period</h2>{summary}
<h2>Charts</h2>{figure}
<h2>Per bot</h2>{bots}
<h2>Execution quality</h2>{execution}
<h2>Trades</h2>{trades}
</body></html>
"""


def write_html(report: Report, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")

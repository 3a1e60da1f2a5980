"""The report as rich tables: the period, per bot and per day."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tsxbot.pnl.metrics import TradeMetrics
from tsxbot.report.model import Report


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def summary_table(title: str, m: TradeMetrics) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("Net P&L", _money(m.net_pnl)),
        ("Gross P&L", _money(m.gross_pnl)),
        ("Fees", _money(m.fees)),
        ("Trades", str(m.trades)),
        ("Win rate", _pct(m.win_rate)),
        ("Profit factor", _num(m.profit_factor)),
        ("Expectancy", _money(m.expectancy)),
        ("Average win / loss", f"{_money(m.average_win)} / {_money(m.average_loss)}"),
        ("Largest win / loss", f"{_money(m.largest_win)} / {_money(m.largest_loss)}"),
        ("Longest losing streak", str(m.longest_losing_streak)),
        ("Max drawdown (closed trades)", _money(m.max_drawdown_closed)),
        ("Max drawdown (mark-to-market at fills)", _money(m.max_drawdown_mtm)),
        ("Sharpe / Sortino (daily, x sqrt 252)", f"{_num(m.sharpe)} / {_num(m.sortino)}"),
        ("Average R", _num(m.average_r)),
        ("Average MAE / MFE", f"{_money(m.average_mae)} / {_money(m.average_mfe)}"),
        ("Average time in trade (s)", _num(m.average_time_in_trade_s, "{:.0f}")),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def bots_table(report: Report) -> Table:
    table = Table(title="Per bot")
    for name in ("bot", "strategy", "trades", "net P&L", "fees", "win rate", "profit factor", "max DD"):
        table.add_column(name, justify="left" if name in ("bot", "strategy") else "right")
    for row in report.bots:
        m = row.metrics
        table.add_row(
            row.bot_id,
            row.strategy,
            str(m.trades),
            _money(m.net_pnl),
            _money(m.fees),
            _pct(m.win_rate),
            _num(m.profit_factor),
            _money(m.max_drawdown_closed),
        )
    return table


def days_table(report: Report) -> Table:
    table = Table(title="Per trading day")
    for name in ("day", "trades", "wins", "losses", "gross", "fees", "net"):
        table.add_column(name, justify="left" if name == "day" else "right")
    for d in report.days:
        table.add_row(
            d.trading_day.isoformat(),
            str(d.trades),
            str(d.wins),
            str(d.losses),
            _money(d.gross_pnl),
            _money(d.fees),
            _money(d.net_pnl),
        )
    return table


def execution_table(report: Report) -> Table:
    table = Table(title="Execution quality (slippage vs the signal price; + is worse)")
    for name in ("bot", "symbol", "fills", "avg slip (ticks)", "slip ($)", "signal->fill (ms)", "fill rate"):
        table.add_column(name, justify="left" if name in ("bot", "symbol") else "right")
    for e in report.execution:
        table.add_row(
            e.bot_id,
            e.symbol,
            str(e.fills_with_signal),
            _num(e.average_slippage_ticks),
            _money(e.slippage_dollars),
            _num(e.average_signal_to_fill_ms, "{:.0f}"),
            f"{_pct(e.fill_rate)} ({e.orders_filled}/{e.orders_final})",
        )
    return table


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    span = f"{report.date_from or 'start'} .. {report.date_to or 'end'}"
    who = f", bot {report.bot}" if report.bot else ""
    console.print(summary_table(f"P&L {span}{who}", report.summary))
    console.print(bots_table(report))
    console.print(days_table(report))
    if report.execution:
        console.print(execution_table(report))

"""Walk-forward's out-of-sample side: every window's out-of-sample backtest combined into one
report (the P&L module's, as ``tsxbot report``), and the parameters to trade chosen on those
out-of-sample results, never on the in-sample ones.

- ``combine``: the windows' out-of-sample fills (one bot, one symbol, consecutive periods) as one
  report: the metrics, equity and drawdown of trading each window's parameters on the days that
  followed their optimisation, back to back.
- ``choose``: the window whose parameters scored best out of sample under the study's objective
  (at least one trade; the most recent window on a tie). Its parameters become the best YAML.
- ``WalkForwardReport``: what ``tsxbot optimize --walk-forward --json FILE`` writes.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path
from typing import Any

import msgspec

from tsxbot.backtest import BacktestResult
from tsxbot.messages import Side
from tsxbot.optimize.study import Objective, score
from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.execution_record import Execution
from tsxbot.report.html import render_html
from tsxbot.report.model import Report, build_report

__all__ = ["WalkForwardReport", "WindowOutcome", "choose", "combine", "outcome", "write_walk_forward_html"]


class WindowOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One window: its in-sample best and how those parameters did out of sample."""

    window: int
    in_sample: tuple[dt.date, dt.date]
    out_of_sample: tuple[dt.date, dt.date]
    params: dict[str, Any] | None  # None: every in-sample trial was pruned
    best_in_sample: float | None
    oos_trades: int = 0
    oos_net_pnl: float = 0.0
    # The objective's value on the out-of-sample days (None: no trade, or undefined there).
    oos_score: float | None = None


class WalkForwardReport(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    kind: str  # "walk-forward"
    bot_id: str
    objective: str
    in_days: int
    out_days: int
    windows: list[WindowOutcome]
    chosen_window: int | None
    chosen_params: dict[str, Any] | None
    out_of_sample: Report  # every window's out-of-sample fills, combined

    def write_json(self, path: Path) -> None:
        path.write_bytes(msgspec.json.format(msgspec.json.encode(self)))


def outcome(
    window: int,
    in_sample: tuple[dt.date, dt.date],
    out_of_sample: tuple[dt.date, dt.date],
    params: dict[str, Any] | None,
    best_in_sample: float | None,
    result: BacktestResult | None,
    objective: Objective,
) -> WindowOutcome:
    if params is None or result is None:
        return WindowOutcome(
            window=window, in_sample=in_sample, out_of_sample=out_of_sample, params=None, best_in_sample=None
        )
    summary = result.report.summary
    value, rejected = score(summary, objective, 1)
    finite = rejected is None and not math.isnan(value)
    return WindowOutcome(
        window=window,
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        params=params,
        best_in_sample=best_in_sample,
        oos_trades=summary.trades,
        oos_net_pnl=summary.net_pnl,
        oos_score=value if finite else None,
    )


def choose(windows: list[WindowOutcome]) -> WindowOutcome | None:
    """The window whose parameters did best out of sample (the latest on a tie); None when no
    window traded out of sample."""
    scored = [w for w in windows if w.oos_score is not None]
    if not scored:
        return None
    return max(scored, key=lambda w: (w.oos_score, w.window))


def combine(results: list[BacktestResult], spec: ContractSpec, capital: float) -> Report:
    """The out-of-sample backtests' fills as one report (fill ids prefixed with the window)."""
    executions: list[Execution] = []
    for k, result in enumerate(results):
        for fill in result.fills:
            executions.append(
                Execution(
                    fill_id=f"w{k}-{fill.fill_id}",
                    bot_id=result.bot_id,
                    symbol=result.symbol,
                    side=Side(fill.side),
                    quantity=fill.quantity,
                    price=fill.price,
                    ts_ns=_ns(fill.time),
                    fees=fill.fees,
                    strategy=result.strategy,
                )
            )
    symbol = results[0].symbol if results else ""
    return build_report(executions, {symbol: spec}, capital=capital, bot=None)


def _ns(when: dt.datetime) -> int:
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def write_walk_forward_html(report: WalkForwardReport, path: Path) -> None:
    """The combined out-of-sample report (``tsxbot report``'s page) led by the windows' table."""
    rows = []
    for w in report.windows:
        mark = " (chosen)" if w.window == report.chosen_window else ""
        cells = [
            f"{w.window}{mark}",
            f"{w.in_sample[0]}..{w.in_sample[1]}",
            "-" if w.best_in_sample is None else f"{w.best_in_sample:,.4g}",
            "all pruned" if w.params is None else ", ".join(f"{k}={v}" for k, v in w.params.items()),
            f"{w.out_of_sample[0]}..{w.out_of_sample[1]}",
            str(w.oos_trades),
            f"{w.oos_net_pnl:,.2f}",
            "-" if w.oos_score is None else f"{w.oos_score:,.4g}",
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    headers = [
        "window",
        "in sample",
        "best IS",
        "params",
        "out of sample",
        "OOS trades",
        "OOS net",
        "OOS score",
    ]
    head = "".join(f"<th>{h}</th>" for h in headers)
    chosen = (
        "no window traded out of sample: no parameters chosen"
        if report.chosen_params is None
        else "chosen on out-of-sample results: "
        + ", ".join(f"{k}={v}" for k, v in report.chosen_params.items())
    )
    section = (
        f"<h2>Walk-forward ({report.in_days} days in sample, {report.out_days} out; objective "
        f"{html.escape(report.objective)})</h2><p id='wf-chosen'>{html.escape(chosen)}</p>"
        f"<table id='wf-windows'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p>The report below: every window's out-of-sample trades, back to back.</p>"
    )
    page = render_html(report.out_of_sample)
    marker = "<body>"
    at = page.find(marker)
    text = page[: at + len(marker)] + section + page[at + len(marker) :] if at >= 0 else section + page
    path.write_text(text, encoding="utf-8")

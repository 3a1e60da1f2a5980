"""``tsxbot status``: the monitoring dashboard's essentials as a live table in the terminal (for a
person on SSH), from the same data the page shows (``GET /api/dashboard`` on the monitoring port).

The key: ``--key-file``, else ``TSXBOT_VIEWER_KEY`` (read-only is enough), ``TSXBOT_API_KEY``, or
the internal key file ``.tsxbot/internal-api-key`` that the services started here wrote."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tsxbot.cli.common import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, add_config_options, load_or_exit
from tsxbot.connection_manager.factory import API_KEY_FILE

GAUGE_CELLS = 20


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("status", help="the dashboard's essentials as a live table (rich)")
    add_config_options(parser)
    parser.add_argument("--url", help="the monitoring port's address (default: from the config)")
    parser.add_argument("--key-file", type=Path, help="a file holding the key to present")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    parser.add_argument("--once", action="store_true", help="print the table once and exit")
    parser.set_defaults(handler=_run)


class StatusError(Exception):
    """Why there is nothing to show, in one line naming what to change."""


def find_key(key_file: Path | None, env: dict[str, str] | os._Environ[str]) -> str:
    if key_file is not None:
        return key_file.read_text().strip()
    for name in ("TSXBOT_VIEWER_KEY", "TSXBOT_API_KEY"):
        if env.get(name):
            return env[name]
    if API_KEY_FILE.is_file():
        return API_KEY_FILE.read_text().strip()
    raise StatusError(f"no key: set TSXBOT_VIEWER_KEY (or TSXBOT_API_KEY), or run where {API_KEY_FILE} is")


def fetch(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(f"{url}/api/dashboard")
    except httpx.HTTPError as exc:
        raise StatusError(
            f"no answer from {url} ({type(exc).__name__}): is the aggregator running with monitoring on "
            "(services.aggregator.monitoringPort, features.enableMonitoring)?"
        ) from None
    if response.status_code in (401, 403):
        raise StatusError(f"{url} refused the key ({response.status_code}): {response.text[:200]}")
    if response.status_code != 200:
        raise StatusError(f"{url} answered {response.status_code}: {response.text[:200]}")
    data: dict[str, Any] = response.json()
    return data


def _money(value: float | None) -> Text:
    if value is None:
        return Text("–")
    style = "green" if value > 0 else "red" if value < 0 else ""
    return Text(f"{'-' if value < 0 else ''}${abs(value):,.2f}", style=style)


def _gauge(fraction: float) -> Text:
    filled = round(max(0.0, min(1.0, fraction)) * GAUGE_CELLS)
    style = "red" if fraction >= 0.8 else "yellow" if fraction >= 0.5 else "green"
    return Text("█" * filled, style=style) + Text("░" * (GAUGE_CELLS - filled)) + Text(f" {fraction:.0%}")


def render(s: dict[str, Any]) -> Group:
    state = s["tradingState"]
    style = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold red"}.get(state, "bold")
    why = "; ".join(f"{cause}: {text}" for cause, text in s["why"].items())
    head = Text("tsxbot ") + Text(state, style=style) + Text(f"  {why}" if why else "", style="yellow")
    head += Text(f"   exchange time {s['exchangeTime'] or 'unknown'}", style="dim")

    a, g = s["account"], s["gauges"]
    account = Table(title="Account", title_justify="left", show_header=True)
    for name in ("Balance", "Realized", "Open", "Day (net)", "Daily loss used", "Max loss distance used"):
        account.add_column(name)
    account.add_row(
        _money(a["balance"]),
        _money(a["realized"]),
        _money(a["open"]),
        _money(a["daily"]),
        _gauge(g["dailyLoss"]["fraction"]),
        _gauge(g["maxLoss"]["fraction"]),
    )

    bots = Table(title="Bots", title_justify="left")
    for name in ("Bot", "Symbol", "State", "Pos", "P&L", "Signals", "Last signal", "Last skip"):
        bots.add_column(name)
    for b in s["bots"]:
        pnl = None if b["realizedPnl"] is None else b["realizedPnl"] + (b["openPnl"] or 0.0)
        bot_state = "PAUSED (aggregator)" if b["paused"] else b["state"]
        bots.add_row(
            b["botId"],
            b["symbol"],
            Text(
                bot_state + (" · no heartbeat" if b["stale"] else ""), style="yellow" if b["paused"] else ""
            ),
            str(b["position"]),
            _money(pnl),
            f"{b['signalsToday']}/{b['signalsLimit']}",
            b["lastSignal"] or "–",
            b["lastSkip"] or "–",
        )

    positions = Table(title="Positions and working orders", title_justify="left")
    for name in ("Bot", "Symbol", "Qty", "Avg", "Working orders"):
        positions.add_column(name)
    working: dict[tuple[str | None, str | None], int] = {}
    for o in s["workingOrders"]:
        key = (o.get("botId"), o.get("symbol"))
        working[key] = working.get(key, 0) + 1
    for p in s["positions"]["perBot"]:
        if p["quantity"] != 0:
            positions.add_row(
                p["botId"] or "unattributed",
                p["symbol"],
                str(p["quantity"]),
                f"{p['averagePrice']:.2f}",
                str(working.pop((p["botId"], p["symbol"]), 0)),
            )
    for (bot, symbol), count in working.items():
        positions.add_row(bot or "–", symbol or "–", "0", "–", str(count))

    health = Table(title="Health", title_justify="left")
    for name in ("Part", "State", "Detail"):
        health.add_column(name)
    for c in s["connections"]:
        health.add_row(
            c["name"], Text("ok", style="green") if c["ok"] else Text("DOWN", style="bold red"), c["detail"]
        )
    queue = s["queue"]
    events = [f"{e['at'][11:19]} {e['kind']} {e['message']}" for e in s["riskEvents"][:5]]
    tail = Text(f"queue {queue['depth']}/{queue['limit']}\n") + Text(
        "risk events: " + (" | ".join(events) if events else "none today"), style="dim"
    )
    return Group(head, account, bots, positions, health, tail)


def _run(args: argparse.Namespace) -> int:
    config = load_or_exit(args)
    endpoint = config.global_config.services.aggregator
    url = (args.url or f"http://{endpoint.host}:{endpoint.monitoring_port}").rstrip("/")
    console = Console()
    try:
        key = find_key(args.key_file, os.environ)
        with httpx.Client(headers={"X-API-Key": key}, timeout=5.0) as client:
            if args.once:
                console.print(render(fetch(client, url)))
                return EXIT_OK
            with Live(render(fetch(client, url)), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(max(0.2, args.interval))
                    live.update(render(fetch(client, url)), refresh=True)
    except StatusError as exc:
        print(f"tsxbot status: {exc}", file=sys.stderr)
        return EXIT_CONFIG if "no key" in str(exc) or "refused the key" in str(exc) else EXIT_FAILURE
    except OSError as exc:
        print(f"tsxbot status: {exc}", file=sys.stderr)
        return EXIT_CONFIG

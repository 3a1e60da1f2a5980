"""Parity: a morning traded live by the example EMA_CROSS bot (``bot_2``, MES) on the paused
simulator, and the same morning backtested with ``--fill-model exchange``, give the same trades
(time, side, size, price).

The honest way chosen: ONE recorded file replayed by both. The simulator's own synthetic MES
market (seed 1) is written out print by print as a trades CSV (``support.recorded_day``); the
live simulator replays it (``simulator.data``) with run-all's services and the bot in process,
moved a minute at a time; the backtester replays it through ``ExchangeBacktest``. Neither side
sees anything the other does not: the same prints, the same bot file, the same config.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from support.bot_system import trading_system
from support.recorded_day import export_prints
from support.sim import MES, offline_sim
from tsxbot.backtest import load_bars
from tsxbot.backtest.data import load_series
from tsxbot.backtest.exchange_model import ExchangeBacktest
from tsxbot.config import DEFAULTS_DIR
from tsxbot.sessions import to_ns

DAY_START = dt.datetime(2026, 11, 24, 14, 25, tzinfo=dt.UTC)  # 08:25 CT, before the bot's hours
MINUTES = 155  # to 11:00 CT: the morning's trades are all closed by then
RECORDED_FROM = dt.datetime(2026, 11, 18, 23, 0, tzinfo=dt.UTC)  # the warm-up's days before
WARMUP_NS = 4 * 86_400 * 10**9  # the CLI's and the bot's four days


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


@pytest.mark.slow
async def test_a_live_morning_and_its_exchange_backtest_make_the_same_trades(tmp_path: Path) -> None:
    end = DAY_START + dt.timedelta(minutes=MINUTES)
    recording = tmp_path / "mes.csv"
    market = offline_sim("simulator.seed=1", "simulator.startTime=2026-11-24T13:00:00Z").markets[MES]
    written = export_prints(market.series, "MES", 0.25, to_ns(RECORDED_FROM), to_ns(end), recording)
    assert written > 100_000
    bot_text = (DEFAULTS_DIR / "bots" / "bot_2.yaml").read_text()

    async with trading_system(
        tmp_path,
        {"bot_2": bot_text},
        f"simulator.data={recording}",
        "simulator.rateLimits.enabled=false",
        start=DAY_START.isoformat().replace("+00:00", "Z"),
    ) as system:
        await system.sim.login()
        await system.settle()
        assert system.cm is not None
        for _ in range(MINUTES):
            await system.advance(60, step=60)
            # The bar that just ended closes now, as the connection manager's once-a-second
            # flusher closes it on a live market within a second (with the clock moved a minute
            # at a time it would otherwise close on the next minute's first print, a step late).
            await system.cm.market.flush_bars()
            await system.settle()
        await system.settle()
        body = {"accountId": system.account, "startTimestamp": "2026-11-23T00:00:00Z"}
        found: list[dict[str, Any]] = (await system.sim.api("Trade/search", body))["trades"]
        config = system.config

    live = [
        (_utc(t["creationTimestamp"]), "BUY" if t["side"] == 0 else "SELL", t["size"], t["price"])
        for t in sorted(found, key=lambda t: (t["creationTimestamp"], t["id"]))
        if not t.get("voided")
    ]

    settings = config.bots["bot_2"]
    simulator = config.global_config.simulator
    bars = load_bars([recording], "MES", simulator, config.instruments)
    start_ns, end_ns = to_ns(DAY_START), to_ns(end)
    series = load_series(recording, "MES", simulator, config.instruments)
    result = ExchangeBacktest(settings, config, series).run(
        bars.between(start_ns, end_ns), warmup=bars.between(start_ns - WARMUP_NS, start_ns)
    )
    backtest = [(f.time.astimezone(dt.UTC), f.side, f.quantity, f.price) for f in result.fills]

    assert result.fill_model == "exchange"
    assert all(f.role != "end of data" for f in result.fills)  # flat before the window's end
    # The morning holds entries, initial stops, a target and a trailing stop (a moved leg).
    assert {"entry", "stop", "target"} <= {f.role for f in result.fills}
    assert any(f.role == "stop" and f.reason == "trailing" for f in result.fills)
    assert len(live) >= 10, live
    assert backtest == live

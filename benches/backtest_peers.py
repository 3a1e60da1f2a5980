"""The issue's backtest benchmark, side by side with the peers (not part of CI; BENCHMARKS.md).

One year of one-minute bars (252 CME sessions of 23 hours: 347,760 bars; a seeded random walk on
MES's tick grid, each bar opening at the previous close), the EMA 9/21 crossover reversing on each
cross (TA-Lib's EMA: the first ``period`` closes' average, then 2 / (period + 1)), one contract,
no stop that triggers, no target, market orders at the next bar's open, $1.24 a contract a side.

    PYTHONPATH=python .venv/bin/python benches/backtest_peers.py [--days 252] [--peers-python PY]
    PYTHONPATH=python .venv/bin/python benches/backtest_peers.py --split   # tsxbot's cost split
    PYTHONPATH=python .venv/bin/python benches/backtest_peers.py --export DIR   # for the sweep

runs tsxbot's backtester and the plain-Python reference in this interpreter, then each peer
(backtrader, backtesting.py, vectorbt, nautilus_trader) in ``--peers-python`` (default
``/work/peers-venv/bin/python``: a separate virtualenv; the peers are not tsxbot's dependencies),
each on the same bars (an .npz file), and prints a markdown table: run time, bars/s, fills (one
contract each: a reversal is two) and gross P&L in points of the closed round trips, which must
agree with the reference.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
FAST, SLOW = 9, 21
POINT_VALUE = 5.0
FEE = 1.24


def ta_ema_np(values: Any, period: int) -> Any:
    """TA-Lib's EMA, vectorised with pandas (seeded with the simple average, adjust=False)."""
    import pandas as pd

    seeded = np.asarray(values, dtype=np.float64).copy()
    seeded[: period - 1] = np.nan
    seeded[period - 1] = float(np.mean(values[:period]))
    return pd.Series(seeded).ewm(alpha=2.0 / (period + 1), adjust=False, ignore_na=True).mean().to_numpy()


def _gross_points(fills: list[tuple[int, float]]) -> float:
    """Gross points of the closed round trips of one-contract fills (+1 buy / -1 sell, price)."""
    position, entry, gross = 0, 0.0, 0.0
    for side, price in fills:
        if position and side != position:
            gross += (price - entry) * position
            position = 0
        else:
            position, entry = side, price
    return gross


# --- peers (run in the peers' virtualenv) ---------------------------------------------------------


def peer_backtrader(d: dict[str, Any]) -> dict[str, Any]:
    import backtrader as bt
    import pandas as pd

    frame = pd.DataFrame(
        {"open": d["o"], "high": d["h"], "low": d["l"], "close": d["c"], "volume": d["v"]},
        index=pd.to_datetime(d["t"]),
    )
    fills: list[tuple[int, float]] = []

    class Cross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.EMA(period=FAST), bt.ind.EMA(period=SLOW))

        def next(self) -> None:
            size = self.position.size
            if self.cross[0] > 0 and size <= 0:
                if size < 0:
                    self.close()
                self.buy(size=1)
            elif self.cross[0] < 0 and size >= 0:
                if size > 0:
                    self.close()
                self.sell(size=1)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                fills.append((1 if order.isbuy() else -1, order.executed.price))

    started = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(Cross)
    cerebro.broker.setcash(1e9)
    cerebro.broker.setcommission(commission=FEE, margin=100.0, mult=POINT_VALUE)
    cerebro.run()
    return {
        "seconds": time.perf_counter() - started,
        "fills": len(fills),
        "gross_points": _gross_points(fills),
    }


def peer_backtesting(d: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from backtesting import Backtest, Strategy

    frame = pd.DataFrame(
        {"Open": d["o"], "High": d["h"], "Low": d["l"], "Close": d["c"], "Volume": d["v"]},
        index=pd.to_datetime(d["t"]),
    )

    class Cross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(ta_ema_np, self.data.Close, FAST)
            self.slow = self.I(ta_ema_np, self.data.Close, SLOW)

        def next(self) -> None:
            f0, f1, s0, s1 = self.fast[-1], self.fast[-2], self.slow[-1], self.slow[-2]
            if f0 > s0 and f1 <= s1 and not self.position.is_long:
                if self.position.is_short:
                    self.position.close()
                self.buy(size=1)
            elif f0 < s0 and f1 >= s1 and not self.position.is_short:
                if self.position.is_long:
                    self.position.close()
                self.sell(size=1)

    started = time.perf_counter()
    # Commission: (fixed per order, relative); prices are in points, so $1.24 is 1.24 / 5 points.
    run = Backtest(frame, Cross, cash=1e9, commission=(FEE / POINT_VALUE, 0.0), margin=1.0).run()
    seconds = time.perf_counter() - started
    trades = run._trades
    gross = float(((trades["ExitPrice"] - trades["EntryPrice"]) * trades["Size"]).sum())
    still_open = 1 if run._strategy.position.size else 0
    return {"seconds": seconds, "fills": 2 * len(trades) + still_open, "gross_points": gross}


def peer_vectorbt(d: dict[str, Any]) -> dict[str, Any]:
    """Timed on the second run: the first compiles vectorbt's numba functions (its time is
    reported as ``first_seconds``)."""
    first = _vectorbt_run(d)
    second = _vectorbt_run(d)
    return {**second, "first_seconds": first["seconds"]}


def _vectorbt_run(d: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    import vectorbt as vbt

    started = time.perf_counter()
    index = pd.to_datetime(d["t"])
    close = pd.Series(d["c"], index=index)
    fast, slow = ta_ema_np(d["c"], FAST), ta_ema_np(d["c"], SLOW)
    prev_fast, prev_slow = np.roll(fast, 1), np.roll(slow, 1)
    prev_fast[0] = prev_slow[0] = np.nan
    up = (fast > slow) & (prev_fast <= prev_slow)
    down = (fast < slow) & (prev_fast >= prev_slow)
    # Decided at a bar's close, filled at the next bar's open.
    entries = pd.Series(np.roll(up, 1), index=index)
    shorts = pd.Series(np.roll(down, 1), index=index)
    entries.iloc[0] = shorts.iloc[0] = False
    pf = vbt.Portfolio.from_signals(
        close,
        entries=entries,
        short_entries=shorts,
        price=pd.Series(d["o"], index=index),
        size=1.0,
        fixed_fees=FEE / POINT_VALUE,
        init_cash=1e9,
        upon_opposite_entry="reverse",
        freq="1min",
    )
    orders = pf.orders.records_readable
    seconds = time.perf_counter() - started
    trades = pf.trades.records
    closed = trades[trades["status"] == 1]
    sign = np.where(closed["direction"] == 0, 1.0, -1.0)
    gross = float((sign * (closed["exit_price"] - closed["entry_price"]) * closed["size"]).sum())
    return {"seconds": seconds, "fills": round(float(orders["Size"].abs().sum())), "gross_points": gross}


def peer_nautilus(d: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import PerContractFeeModel
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    instrument = TestInstrumentProvider.es_future(2026, 12)  # expires after the data
    venue = instrument.id.venue
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    frame = pd.DataFrame(
        {"open": d["o"], "high": d["h"], "low": d["l"], "close": d["c"], "volume": d["v"]},
        index=pd.to_datetime(d["t"], utc=True),
    )
    bars = BarDataWrangler(bar_type, instrument).process(frame)
    fills: list[tuple[int, float]] = []

    class Config(StrategyConfig, frozen=True):  # type: ignore[misc, call-arg]
        pass

    class Cross(Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(Config())
            self.fast = self.slow = math.nan
            self.seen: list[float] = []
            self.position_side = 0

        def on_start(self) -> None:
            self.subscribe_bars(bar_type)

        def _ema(self, value: float, close: float, period: int, n: int) -> float:
            if n < period:
                return math.nan
            if n == period:
                return sum(self.seen[-period:]) / period
            return value + 2.0 / (period + 1) * (close - value)

        def on_bar(self, bar: Bar) -> None:
            close = float(bar.close)
            self.seen.append(close)
            n = len(self.seen)
            prev_fast, prev_slow = self.fast, self.slow
            self.fast = self._ema(self.fast, close, FAST, n)
            self.slow = self._ema(self.slow, close, SLOW, n)
            if n > SLOW + 1:
                del self.seen[: n - SLOW - 1]
            if self.fast > self.slow and prev_fast <= prev_slow and self.position_side <= 0:
                self._trade(OrderSide.BUY, 2 if self.position_side else 1)
                self.position_side = 1
            elif self.fast < self.slow and prev_fast >= prev_slow and self.position_side >= 0:
                self._trade(OrderSide.SELL, 2 if self.position_side else 1)
                self.position_side = -1

        def _trade(self, side: Any, quantity: int) -> None:
            order = self.order_factory.market(instrument.id, side, Quantity.from_int(quantity))
            self.submit_order(order)

        def on_order_filled(self, event: Any) -> None:
            sign = 1 if event.order_side == OrderSide.BUY else -1
            for _ in range(int(event.last_qty)):
                fills.append((sign, float(event.last_px)))

    started = time.perf_counter()
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        venue=Venue(str(venue)),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1e9, USD)],
        fee_model=PerContractFeeModel(Money(FEE, USD)),
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    engine.add_strategy(Cross())
    engine.run()
    seconds = time.perf_counter() - started
    engine.dispose()
    # A reversal is one order of two contracts here: counted as two fills of one.
    return {"seconds": seconds, "fills": len(fills), "gross_points": _gross_points(fills)}


PEERS = {
    "backtrader": peer_backtrader,
    "backtesting.py": peer_backtesting,
    "vectorbt": peer_vectorbt,
    "nautilus_trader": peer_nautilus,
}

# --- ours (run in tsxbot's interpreter) -----------------------------------------------------------


def ours(data_path: Path, workdir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.bench_backtest import write_config
    from tsxbot.backtest import Backtest, FillSettings, MinuteBars
    from tsxbot.config import load_config
    from tsxbot.report import render_html

    config = load_config(write_config(workdir), env={})
    started = time.perf_counter()
    d = dict(np.load(data_path))
    bars = MinuteBars("MES", 0.25, d["t"], d["o"], d["h"], d["l"], d["c"], d["v"])
    result = Backtest(config.bots["bench"], config, FillSettings(), account_checks=False).run(bars)
    seconds = time.perf_counter() - started
    html_started = time.perf_counter()
    render_html(result.report)
    html = time.perf_counter() - html_started
    traded = [(1 if f.side == "BUY" else -1, f.price) for f in result.fills if f.role != "end of data"]
    return {
        "seconds": seconds,
        "loop_seconds": result.timing.loop_seconds,
        "report_seconds": result.timing.seconds - result.timing.loop_seconds,
        "html_seconds": html,
        "fills": len(traded),
        "gross_points": _gross_points(traded),
    }


def cost_split(data_path: Path, workdir: Path) -> dict[str, float]:
    """Where a bar's time goes in tsxbot's run (us a bar of the run).

    Measured alone: data (the arrays to Python floats and a ``ClosedBar`` a bar) and the
    indicators (the hook's two Rust EMA updates a bar). Measured inside one real run, each layer
    timed around its calls (the timer's own cost, calibrated, taken off): the strategy hook
    (``EmaReverse.on_bar`` less its indicators), the engine around it (``StrategyEngine.on_bar``
    less the hook: context, exit manager with the position held, gate, sizing), decisions to
    orders (the bot's order building, ``_act``), fills (the bars model at the open and for the
    brackets, with the P&L matching, the engine's and the risk engine's fill handling); the
    bookkeeping is the rest of the loop, and the report figures what follows the loop."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.bench_backtest import write_config
    from tsxbot.backtest import Backtest, FillSettings, MinuteBars
    from tsxbot.config import load_config
    from tsxbot.indicators import EMA
    from tsxbot.strategy import ClosedBar
    from tsxbot.strategy.engine import StrategyEngine

    config = load_config(write_config(workdir), env={})
    settings = config.bots["bench"]
    d = dict(np.load(data_path))
    n = len(d["t"])
    clock = time.perf_counter
    started = clock()
    t, o, h, lo, c, v = (d[k].tolist() for k in ("t", "o", "h", "l", "c", "v"))
    for i in range(n):
        ClosedBar(t[i], t[i] + 60_000_000_000, o[i], h[i], lo[i], c[i], v[i])
    data = clock() - started
    fast, slow = EMA(9), EMA(21)
    started = clock()
    for close in c:
        fast.update(close)
        slow.update(close)
    indicators = clock() - started

    spent: dict[str, float] = {}
    calls: dict[str, int] = {}

    def timed(name: str, fn: Any) -> Any:
        spent[name], calls[name] = 0.0, 0

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += clock() - begun
                calls[name] += 1

        return wrapper

    def nothing() -> None:
        return None

    probe = timed("probe", nothing)
    for _ in range(100_000):
        probe()
    # The timer's cost inside a timed layer (its clock calls) and around it (the wrapper).
    overhead = spent["probe"] / 100_000
    started = clock()
    for _ in range(100_000):
        probe()
    per_call = (clock() - started) / 100_000

    backtest = Backtest(settings, config, FillSettings(), account_checks=False)
    original_init = StrategyEngine.__init__

    def init_timed(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.strategy.on_bar = timed("hook", self.strategy.on_bar)
        self.on_bar = timed("engine", self.on_bar)

    StrategyEngine.__init__ = init_timed  # type: ignore[method-assign]
    backtest._act = timed("orders", backtest._act)  # type: ignore[method-assign]
    backtest._fill_pending = timed("fills", backtest._fill_pending)  # type: ignore[method-assign]
    backtest._check_brackets = timed("brackets", backtest._check_brackets)  # type: ignore[method-assign]
    try:
        minute_bars = MinuteBars("MES", 0.25, d["t"], d["o"], d["h"], d["l"], d["c"], d["v"])
        result = backtest.run(minute_bars)
    finally:
        StrategyEngine.__init__ = original_init  # type: ignore[method-assign]

    def net(name: str) -> float:
        return spent[name] - calls[name] * overhead

    hook = net("hook")
    engine = net("engine") - spent["hook"] - calls["hook"] * (per_call - overhead)
    fills = net("fills") + net("brackets")
    orders = net("orders")
    timers = sum(calls[k] for k in ("hook", "engine", "orders", "fills", "brackets")) * per_call
    loop = result.timing.loop_seconds - timers
    us = 1e6 / n
    return {
        "data": data * us,
        "indicators": indicators * us,
        "strategy hook": (hook - indicators) * us,
        "engine around the hook": engine * us,
        "decisions to orders": orders * us,
        "fills": fills * us,
        "bookkeeping (the rest of the loop)": (loop - data - hook - engine - orders - fills) * us,
        "report figures": (result.timing.seconds - result.timing.loop_seconds) * us,
        "total": (result.timing.seconds - timers) * us,
    }


def export(directory: Path, d: dict[str, Any]) -> None:
    """The benchmark's bars as a Parquet file ``tsxbot backtest`` / ``optimize --data`` read,
    and its config directory (``config/bots/bench.yaml``; the strategy needs ``tests`` on
    ``PYTHONPATH``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from support.bench_backtest import write_config

    directory.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "timestamp": pa.array(d["t"].astype("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC")),
            "symbol": ["MES"] * len(d["t"]),
            "open": d["o"],
            "high": d["h"],
            "low": d["l"],
            "close": d["c"],
            "volume": d["v"],
        }
    )
    pq.write_table(table, directory / "bars.parquet")
    write_config(directory)


def reference(data_path: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.bench_backtest import reference_run

    d = dict(np.load(data_path))
    o, c = d["o"].tolist(), d["c"].tolist()
    started = time.perf_counter()
    fills, gross = reference_run(o, c)
    return {"seconds": time.perf_counter() - started, "fills": len(fills), "gross_points": gross}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--peers-python", default="/work/peers-venv/bin/python")
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", action="append", choices=sorted(PEERS), help="run only these peers")
    parser.add_argument("--split", action="store_true", help="only tsxbot's per-bar cost split")
    parser.add_argument(
        "--export",
        type=Path,
        help="only write DIR/bars.parquet and DIR/config (the benchmark bot) for `tsxbot optimize`",
    )
    args = parser.parse_args()
    if args.peer:  # one peer, in the peers' interpreter
        d = dict(np.load(args.data))
        print(json.dumps(PEERS[args.peer](d)))
        return 0
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.bench_backtest import bench_bars

    if args.export:
        export(args.export, bench_bars(args.days))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "bars.npz"
        d = bench_bars(args.days)
        np.savez(data_path, **d)
        n = len(d["t"])
        if args.split:
            for layer, us in cost_split(data_path, Path(tmp)).items():
                print(f"| {layer} | {us:.2f} us |")
            return 0
        rows = {"tsxbot backtest": ours(data_path, Path(tmp)), "plain Python loop": reference(data_path)}
        for name in args.only or PEERS:
            done = subprocess.run(
                [args.peers_python, __file__, "--peer", name, "--data", str(data_path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                rows[name] = {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
                continue
            rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
    expected = rows["plain Python loop"]
    print(f"{n:,} bars ({args.days} sessions)\n")
    print("| run | run time | bars/s | fills | gross P&L (points) | net P&L (USD) | agrees |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        if "error" in row:
            print(f"| {name} | error: {row['error']} | | | | | |")
            continue
        net = row["gross_points"] * POINT_VALUE - FEE * row["fills"]
        same = (
            row["fills"] == expected["fills"] and abs(row["gross_points"] - expected["gross_points"]) < 1e-6
        )
        print(
            f"| {name} | {row['seconds']:.3f} s | {n / row['seconds'] / 1e3:,.0f} k | {row['fills']:,} | "
            f"{row['gross_points']:,.2f} | {net:,.2f} | {'yes' if same else 'NO'} |"
        )
    if "first_seconds" in rows.get("vectorbt", {}):
        print(
            f"\nvectorbt: first run {rows['vectorbt']['first_seconds']:.1f} s (numba compiling); "
            "timed: the second"
        )
    mine = rows["tsxbot backtest"]
    print(
        f"\ntsxbot: loop {mine['loop_seconds']:.3f} s, report figures {mine['report_seconds']:.3f} s, "
        f"HTML rendering {mine['html_seconds']:.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

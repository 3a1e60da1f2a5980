"""The Rust core as seen from Python (the pyo3 call included): indicators, bars, order book, risk,
sizing and the envelope codec. Figures: BENCHMARKS.md ("Rust core"). Gates: about 10x the
measured medians, so noise on a shared 2-core machine never fails them.

Per-update figures time a Python loop over 1000 prepared inputs (the loop itself costs about
8 ns an item, included: it is what a caller pays) and divide by 1000.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot._core import decode_envelope
from tsxbot.bars import BarAggregator
from tsxbot.config import load_config
from tsxbot.indicators import ADX, ATR, EMA, VWAP, CumulativeDelta, VolumeProfile, ema
from tsxbot.messages import Envelope, OrderSubmission, Side, codec
from tsxbot.orderbook import OrderBook
from tsxbot.risk import BotLimits, OrderRequest, RiskEngine, limits_from_config
from tsxbot.sessions import calendar_for, to_ns
from tsxbot.sizing import bracket, contracts_for_risk

N = 1000
LOOP = {"rounds": 200, "iterations": 1, "warmup_rounds": 10}
rng = np.random.default_rng(7)
_walk = 5000 + np.cumsum(rng.normal(0, 1, N))
BARS = [(float(c + s), float(c - s), float(c)) for c, s in zip(_walk, rng.uniform(0.25, 2.0, N), strict=True)]
CLOSES = [b[2] for b in BARS]
MONDAY_10_CT = to_ns(dt.datetime(2025, 6, 9, 15, 0, tzinfo=dt.UTC))
TRADES = [
    (MONDAY_10_CT + i * 50_000_000, float(round(c * 4) / 4), float(s), int(a))
    for i, (c, s, a) in enumerate(zip(_walk, rng.integers(1, 10, N), rng.choice([1, -1], N), strict=True))
]


def per_update(benchmark: BenchmarkFixture, run: Callable[[], object], gate_ns: float) -> float:
    benchmark.pedantic(run, **LOOP)
    ns = benchmark.stats.stats.median / N * 1e9
    benchmark.extra_info["ns_per_update"] = round(ns, 1)
    assert ns < gate_ns, f"{ns:.0f} ns per update, gate {gate_ns:.0f} ns"
    return ns


def test_bench_ema_update(benchmark: BenchmarkFixture) -> None:
    update = EMA(14).update

    def run() -> None:
        for x in CLOSES:
            update(x)

    per_update(benchmark, run, 300)


def test_bench_atr_update(benchmark: BenchmarkFixture) -> None:
    update = ATR(14).update

    def run() -> None:
        for h, low, c in BARS:
            update(h, low, c)

    per_update(benchmark, run, 400)


def test_bench_adx_update(benchmark: BenchmarkFixture) -> None:
    update = ADX(14).update

    def run() -> None:
        for h, low, c in BARS:
            update(h, low, c)

    per_update(benchmark, run, 600)


def test_bench_vwap_update(benchmark: BenchmarkFixture) -> None:
    update = VWAP().update

    def run() -> None:
        for ts, p, s, _ in TRADES:
            update(ts, p, s)

    per_update(benchmark, run, 400)


def test_bench_cumulative_delta_update(benchmark: BenchmarkFixture) -> None:
    update = CumulativeDelta().update

    def run() -> None:
        for ts, p, s, a in TRADES:
            update(ts, p, s, a)

    per_update(benchmark, run, 500)


def test_bench_volume_profile_update(benchmark: BenchmarkFixture) -> None:
    update = VolumeProfile(0.25).update

    def run() -> None:
        for ts, p, s, _ in TRADES:
            update(ts, p, s)

    per_update(benchmark, run, 500)


@pytest.fixture(scope="module")
def es_calendar():  # type: ignore[no-untyped-def]
    return calendar_for(load_config(None, env={}).instruments.get("ES"))


def test_bench_bar_aggregator_update(benchmark: BenchmarkFixture, es_calendar) -> None:  # type: ignore[no-untyped-def]
    update = BarAggregator(es_calendar, 60).update

    def run() -> None:
        for ts, p, s, a in TRADES:
            update(ts, p, s, a)

    per_update(benchmark, run, 600)


def test_bench_order_book_apply(benchmark: BenchmarkFixture) -> None:
    book = OrderBook(0.25)
    rows = [
        (i, 1 + (i % 2), 5000.0 + (0.25 * (i % 8) if i % 2 == 0 else -0.25 * (1 + i % 8)), i % 20)
        for i in range(N)
    ]
    apply = book.apply

    def run() -> None:
        for row in rows:
            apply(*row)

    per_update(benchmark, run, 500)


def test_bench_one_million_trades_bars_profile_delta(benchmark: BenchmarkFixture, es_calendar) -> None:  # type: ignore[no-untyped-def]
    n = 1_000_000
    g = np.random.default_rng(1)
    ts = MONDAY_10_CT + np.arange(n, dtype=np.int64) * 10_000_000  # 100 trades/s, 2.8 hours
    price = np.round((5000 + np.cumsum(g.normal(0, 0.05, n))) * 4) / 4
    size = g.integers(1, 20, n).astype(np.float64)
    side = g.choice(np.array([1, -1], dtype=np.int8), n)

    def run() -> tuple[int, float, float]:
        bars = BarAggregator(es_calendar, 60).update_many(ts, price, size, side)
        profile = VolumeProfile(0.25)
        poc = profile.update_many(ts, price, size)
        delta = CumulativeDelta().update_many(ts, price, size, side)
        return len(bars["start"]), poc, delta

    bars, _, _ = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    assert bars >= 160
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["seconds"] = round(seconds, 4)
    assert seconds < 0.3  # the target; measured about 0.03 s


def test_bench_ema_batch_one_million(benchmark: BenchmarkFixture) -> None:
    values = np.cumsum(np.random.default_rng(2).normal(0, 1, 1_000_000))
    benchmark.pedantic(ema, args=(values, 20), rounds=10, iterations=1)
    assert benchmark.stats.stats.median < 0.05


@pytest.fixture(scope="module")
def engine() -> RiskEngine:
    config = load_config(None, env={})
    # A rate limit no benchmark reaches: every timed check must run the whole accept path.
    account = msgspec.structs.replace(config.global_config.risk, max_orders_per_minute=10**9)
    limits = limits_from_config(
        account,
        config.instruments,
        {
            "bot_1": BotLimits(
                max_contracts=3, max_risk_points=20.0, min_reward_risk=1.5, max_orders_per_minute=10**9
            )
        },
        default_bot=BotLimits(max_orders_per_minute=10**9),
    )
    return RiskEngine(limits)


ORDER = OrderRequest("bot_1", "ES", Side.BUY, 1, 5000.0, 4990.0, 5020.0)
ORDER_DICT = {
    "bot_id": "bot_1",
    "symbol": "ES",
    "side": "BUY",
    "quantity": 1,
    "price": 5000.0,
    "stop_loss": 4990.0,
    "take_profit": 5020.0,
}
RISK_LOOP = {"rounds": 200, "iterations": 2000, "warmup_rounds": 5}


def test_bench_risk_check(benchmark: BenchmarkFixture, engine: RiskEngine) -> None:
    # A Monday 10:00 CT instant inside the 17:00-15:10 window; every check runs and passes.
    verdict = benchmark.pedantic(engine.check, args=(ORDER, MONDAY_10_CT), **RISK_LOOP)
    assert verdict.accepted
    assert benchmark.stats.stats.median < 1.5e-6


def test_bench_risk_check_from_dict(benchmark: BenchmarkFixture, engine: RiskEngine) -> None:
    verdict = benchmark.pedantic(engine.check, args=(ORDER_DICT, MONDAY_10_CT), **RISK_LOOP)
    assert verdict.accepted
    assert benchmark.stats.stats.median < 8e-6


def test_bench_risk_check_working_order(benchmark: BenchmarkFixture, engine: RiskEngine) -> None:
    # With an order id the accepted order is held as working: check it, then close it.
    orders = [
        OrderRequest("bot_1", "ES", Side.BUY, 1, 5000.0, 4990.0, 5020.0, order_id=f"w{i}") for i in range(N)
    ]
    check, closed = engine.check, engine.on_order_closed
    assert check(orders[0], MONDAY_10_CT).accepted
    assert engine.working_orders == 1
    closed("w0")

    def run() -> None:
        for order in orders:
            check(order, MONDAY_10_CT)
            closed(order.order_id)  # type: ignore[arg-type]

    per_update(benchmark, run, 2500)
    assert engine.working_orders == 0


def test_bench_contracts_for_risk(benchmark: BenchmarkFixture) -> None:
    assert benchmark.pedantic(contracts_for_risk, args=(100.0, 3.0, 0.1, 10.0, 10), **RISK_LOOP) == 3
    assert benchmark.stats.stats.median < 1e-6


def test_bench_bracket(benchmark: BenchmarkFixture) -> None:
    b = benchmark.pedantic(
        lambda: bracket(Side.BUY, 5000.0, 0.25, stop_points=2.1, target_r=2.0), **RISK_LOOP
    )
    assert b.stop_loss == 4998.0
    assert benchmark.stats.stats.median < 2.5e-6


ENVELOPE = codec.encode(
    Envelope.wrap(
        OrderSubmission(
            order_id="o-1", symbol="MGC", side=Side.BUY, quantity=1, stop_loss=1850.0, take_profit=1870.0
        ),
        "bot_1",
        metadata={"strategy": "PDH_PDL", "signal": "BREAKOUT"},
    )
)


def test_bench_decode_msgspec_typed(benchmark: BenchmarkFixture) -> None:
    benchmark.pedantic(codec.decode, args=(ENVELOPE,), **RISK_LOOP)
    assert benchmark.stats.stats.median < 15e-6


def test_bench_decode_msgspec_untyped(benchmark: BenchmarkFixture) -> None:
    benchmark.pedantic(msgspec.json.decode, args=(ENVELOPE,), **RISK_LOOP)
    assert benchmark.stats.stats.median < 10e-6


def test_bench_decode_rust(benchmark: BenchmarkFixture) -> None:
    benchmark.pedantic(decode_envelope, args=(ENVELOPE,), **RISK_LOOP)
    assert benchmark.stats.stats.median < 40e-6

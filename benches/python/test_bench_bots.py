"""The bot runtime: a closed one-minute bar from the bus to the entry's ORDER_SUBMISSION published
(bus message -> closed bar -> strategy engine: exits, strategy hook, gate, sizing with the Rust
bracket and contract sizing -> submission -> envelope -> published on the in-process bus), and
the memory one bot takes. Figures: BENCHMARKS.md ("Bots"). Gate: about 10x the measured median.

The strategy enters on every bar and nothing ever fills, so every bar makes a submission (the gate
lets them through: maxPositions and maxSignalsPerDay are high, no cooldown).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import statistics
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot.bots import BotService
from tsxbot.bus import create_bus
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import Aggressor, Bar, Envelope, MarketTrade, OrderSubmission, channels
from tsxbot.strategy import NOTHING, BarLike, Decision, Enter, Reason, Strategy, StrategyParams

ROUNDS, WARMUP = 2000, 50
N_PRINTS, ROUNDS_PRINTS = 1000, 100
# Bar close to submission published, median: measured ~40 us; gated at 10x.
GATE_SECONDS = 400e-6
START = dt.datetime(2026, 6, 9, 5, 0, tzinfo=dt.UTC)  # Tue 00:00 CT


class EveryBar(Strategy[StrategyParams]):
    """Enters long on every bar, 4 points of risk, 2R target."""

    params_type = StrategyParams

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        if bar.close <= 0:
            return NOTHING
        reason = Reason(setup="bench", values={"close": bar.close})
        return [Enter(side="long", stop=bar.close - 4.0, target=bar.close + 8.0, reason=reason)]


BOT = """
bot: {id: bench, name: Bench}
instrument: {symbol: MES}
strategy:
  type: test_bench_bots:EveryBar
  params: {dollarRiskPerTrade: 40, maxRiskPoints: 10, timeframe: 1m}
risk: {maxPositions: 1000000, maxDailyLoss: 400, maxDrawdown: 800, maxSignalsPerDay: 1000000}
tradingHours: {start: "00:00", end: "23:59", timezone: America/Chicago}
signalCooldownMinutes: 0
"""


def _config(tmp: Path, bots: int = 1) -> object:
    directory = tmp / "config"
    (directory / "bots").mkdir(parents=True)
    text = (DEFAULTS_DIR / "global.yaml").read_text()
    # This file's directory holds the strategy (loaded by dotted path, as a user's is).
    text = text.replace("strategyPaths: []", f"strategyPaths: [{Path(__file__).resolve().parent}]")
    (directory / "global.yaml").write_text(text)
    (directory / "instruments.yaml").write_text((DEFAULTS_DIR / "instruments.yaml").read_text())
    for i in range(bots):
        (directory / "bots" / f"bench_{i}.yaml").write_text(BOT.replace("id: bench", f"id: bench_{i}"))
    return load_config(directory, env={})


def _bars() -> Iterator[Bar]:
    minute = dt.timedelta(minutes=1)
    i = 0
    while True:
        start = START + i * minute
        price = 5000.0 + (i % 40) * 0.25
        yield Bar(
            symbol="MES",
            timeframe="1m",
            start=start,
            end=start + minute,
            open=price,
            high=price + 1.0,
            low=price - 1.0,
            close=price,
            volume=100,
            buy_volume=60,
            sell_volume=40,
            trade_count=50,
        )
        i += 1


def test_bar_close_to_submission_published(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    config = _config(tmp_path)
    loop = asyncio.new_event_loop()
    try:
        bus = create_bus(BusConfig(), client_name="bench")
        loop.run_until_complete(bus.start())
        bot = BotService(config, "bench_0", bus, history=False)  # type: ignore[arg-type]
        bars = _bars()

        async def one() -> None:
            await bot.on_bar_message(next(bars))

        benchmark.pedantic(lambda: loop.run_until_complete(one()), rounds=ROUNDS, warmup_rounds=WARMUP)
        # Every bar made a submission; the bot's own clock (bar received -> submission published).
        assert bot.counters["submissions"] >= ROUNDS  # (the 23:59 CT bar is outside tradingHours)
        decided = sorted(bot.decision_seconds)
        p50 = statistics.median(decided)
        p99 = decided[int(len(decided) * 0.99) - 1]
        benchmark.extra_info["bar_to_submission_p50_us"] = round(p50 * 1e6, 1)
        benchmark.extra_info["bar_to_submission_p99_us"] = round(p99 * 1e6, 1)
        assert p50 < GATE_SECONDS, f"bar close to submission p50 {p50 * 1e6:.1f} us"
        loop.run_until_complete(bus.close())
    finally:
        loop.close()


def test_memory_per_bot(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """20 bots built and fed a trading day of one-minute bars each: the Python heap they hold
    (tracemalloc), per bot."""
    count = 20
    config = _config(tmp_path, count)

    def measure() -> float:
        loop = asyncio.new_event_loop()
        try:
            bus = create_bus(BusConfig(), client_name="bench")
            loop.run_until_complete(bus.start())
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            bots = [BotService(config, f"bench_{i}", bus, history=False) for i in range(count)]  # type: ignore[arg-type]

            async def day() -> None:
                for bot in bots:
                    bars = _bars()
                    for _ in range(1380):
                        await bot.on_bar_message(next(bars))

            loop.run_until_complete(day())
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            assert all(b.counters["bars"] == 1380 for b in bots)
            loop.run_until_complete(bus.close())
            return held / count
        finally:
            loop.close()

    per_bot = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info["bytes_per_bot"] = int(per_bot)
    assert per_bot < 20 * 1024 * 1024, f"{per_bot / 1024:.0f} KiB per bot"


def test_hundred_bots_in_one_process(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """100 bots on one instrument in one process, on the in-process bus: a bar published on the
    market-data channel to each bot's submission arriving at a subscriber of aggregator:orders
    (every bot decides on every bar; the last bot waits for the 99 before it). No prints in
    between: the simulator's full print rate on top is not measured here."""
    count, bars_sent = 100, 50
    config = _config(tmp_path, count)
    loop = asyncio.new_event_loop()
    try:
        bus = create_bus(BusConfig(), client_name="bench")
        loop.run_until_complete(bus.start())
        bots = [BotService(config, f"bench_{i}", bus, history=False) for i in range(count)]  # type: ignore[arg-type]
        latencies: list[float] = []

        async def run() -> None:
            orders = await bus.subscribe(channels.AGGREGATOR_ORDERS, group="bench")
            for bot in bots:
                await bot.start()
            bars = _bars()
            for _ in range(bars_sent):
                sent = time.perf_counter()
                await bus.publish(channels.market_data("MES"), Envelope.wrap(next(bars), "bench"))
                got = 0
                while got < count:
                    message = await asyncio.wait_for(orders.__anext__(), 10)
                    await message.ack()
                    if isinstance(message.envelope.payload, OrderSubmission):
                        latencies.append(time.perf_counter() - sent)
                        got += 1
            for bot in bots:
                await bot.stop()
            await orders.close()

        benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1, iterations=1)
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        benchmark.extra_info["bar_to_submission_100_bots_p50_ms"] = round(p50 * 1e3, 2)
        benchmark.extra_info["bar_to_submission_100_bots_p99_ms"] = round(p99 * 1e3, 2)
        assert len(latencies) == count * bars_sent
        assert p99 < 50e-3, f"p99 {p99 * 1e3:.1f} ms"  # ~10x the 5 ms goal
        loop.run_until_complete(bus.close())
    finally:
        loop.close()


def test_print_inside_a_bot(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """A print (the bus ``TRADE`` payload, decoded) through the bot: its clock and last price,
    then the engine (VWAP, volume profile, delta, the strategy's ``on_print``); 1000 a round."""
    config = _config(tmp_path)
    bus = create_bus(BusConfig(), client_name="bench")
    bot = BotService(config, "bench_0", bus, history=False)  # type: ignore[arg-type]
    second = dt.timedelta(seconds=1)
    trades = [
        MarketTrade(
            symbol="MES",
            contract_id="CON.F.US.MES.Z26",
            price=5000.0 + (i % 17) * 0.25,
            size=1 + i % 4,
            aggressor=Aggressor.BUY if i % 2 else Aggressor.SELL,
            timestamp=START + i * second,
        )
        for i in range(N_PRINTS * (ROUNDS_PRINTS + 5))
    ]
    chunks = iter(range(0, len(trades), N_PRINTS))

    def run() -> None:
        start = next(chunks)
        for trade in trades[start : start + N_PRINTS]:
            bot.on_trade(trade)

    benchmark.pedantic(run, rounds=ROUNDS_PRINTS, warmup_rounds=2)
    per_print = benchmark.stats.stats.median / N_PRINTS
    benchmark.extra_info["per_print_us"] = round(per_print * 1e6, 2)
    assert bot.counters["prints"] == N_PRINTS * (ROUNDS_PRINTS + 2)
    assert per_print < 50e-6, f"{per_print * 1e6:.2f} us a print"  # ~10x the 5 us goal

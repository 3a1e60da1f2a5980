"""The bot runtime: a closed one-minute bar from the bus to the entry's ORDER_SUBMISSION published
(bus message -> closed bar -> strategy engine: exits, strategy hook, gate, sizing with the Rust
bracket and contract sizing -> submission -> envelope -> published on the in-process bus), and
the memory one bot takes. Figures: BENCHMARKS.md ("Bots"). Gate: about 10x the measured median.

The strategy enters on every bar and nothing ever fills, so every bar makes a submission (the gate
lets them through: maxPositions and maxSignalsPerDay are high, no cooldown).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot.bots import BotService
from tsxbot.bus import create_bus
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.config.global_config import BusConfig
from tsxbot.config.simulator import MarketSettings
from tsxbot.messages import (
    Aggressor,
    Bar,
    BotState,
    BotStatus,
    Envelope,
    Fill,
    HistoryBars,
    HistoryRequest,
    MarketTrade,
    OrderStatus,
    OrderSubmission,
    OrderType,
    OrderUpdate,
    Payload,
    PositionUpdate,
    Quote,
    Side,
    channels,
)
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


def _hundred_bots(tmp_path: Path, prints_per_minute: int, bars_sent: int) -> tuple[float, float, int, float]:
    """100 bots on one instrument in one process, on the in-process bus: a bar published on the
    market-data channel to each bot's submission arriving at a subscriber of aggregator:orders
    (every bot decides on every bar; the last bot waits for the 99 before it). Between two bars,
    ``prints_per_minute`` trades and as many quotes, published a second's worth at a time (each
    second's drained by the bots before the next, as a real-time feed is), the last second's
    published just before the bar and not drained (the bots read them first: the worst case).
    Bars come a minute apart in real time: the bots finish reporting one (status, log lines)
    before the next. Returns p50, p99 (seconds), the number of latencies, and the median of the
    bots' own clock of a bar (the feed reached it -> every bot's orders published; seconds)."""
    count = 100
    config = _config(tmp_path, count)
    per_second = max(1, prints_per_minute // 60)
    loop = asyncio.new_event_loop()
    try:
        bus = create_bus(BusConfig(), client_name="bench")
        loop.run_until_complete(bus.start())
        bots = [BotService(config, f"bench_{i}", bus, history=False) for i in range(count)]  # type: ignore[arg-type]
        latencies: list[float] = []
        market = channels.market_data("MES")
        orders = loop.run_until_complete(bus.subscribe(channels.AGGREGATOR_ORDERS, group="bench"))

        async def second(at: dt.datetime, n: int) -> None:
            for k in range(per_second):
                price = 5000.0 + ((n + k) % 17) * 0.25
                when = at + dt.timedelta(milliseconds=k * 1000 // per_second)
                trade = MarketTrade(
                    symbol="MES",
                    contract_id="CON.F.US.MES.Z26",
                    price=price,
                    size=1 + k % 3,
                    aggressor=Aggressor.BUY if k % 2 else Aggressor.SELL,
                    timestamp=when,
                )
                quote = Quote(
                    symbol="MES",
                    contract_id="CON.F.US.MES.Z26",
                    timestamp=when,
                    bid=price - 0.25,
                    ask=price,
                    last=price,
                )
                await bus.publish(market, Envelope.wrap(trade, "bench"))
                await bus.publish(market, Envelope.wrap(quote, "bench"))

        async def collect(sent: float) -> None:
            """The bar's 100 submissions, read as the aggregator reads them (``async for``)."""
            got = 0
            async for message in orders:
                await message.ack()
                if isinstance(message.envelope.payload, OrderSubmission):
                    latencies.append(time.perf_counter() - sent)
                    got += 1
                    if got == count:
                        return

        async def run() -> None:
            for bot in bots:
                await bot.start()
            # As ``run_services`` does once every service started: start-up's objects frozen.
            gc.collect()
            gc.freeze()
            await asyncio.sleep(0.1)  # the bots' start-up work (first heartbeat, status) done
            bars = _bars()
            for _ in range(bars_sent):
                bar = next(bars)
                seconds = 60 if prints_per_minute else 0
                for s in range(seconds):
                    await second(bar.start + dt.timedelta(seconds=s), s)
                    if s < seconds - 1:
                        await asyncio.sleep(0)  # the bots read this second's prints
                sent = time.perf_counter()
                reported = time.monotonic()
                await bus.publish(market, Envelope.wrap(bar, "bench"))
                await asyncio.wait_for(collect(sent), 10)
                # The rest of the minute: every bot reports the bar (log lines, status) first.
                for _ in range(10_000):
                    if all(bot._status_at >= reported for bot in bots):
                        break
                    await asyncio.sleep(0.001)
            for bot in bots:
                await bot.stop()
            await orders.close()

        try:
            loop.run_until_complete(run())
        finally:
            gc.unfreeze()
        loop.run_until_complete(bus.close())
        # Every bot took every print (none dropped by a full subscription buffer).
        prints = bars_sent * 60 * per_second if prints_per_minute else 0
        assert all(b.counters["prints"] == prints for b in bots)
        decided = statistics.median(max(bs) for bs in zip(*(b.decision_seconds for b in bots), strict=True))
    finally:
        loop.close()
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1], len(latencies), decided


def test_hundred_bots_in_one_process(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """100 bots, bars only (no prints in between)."""
    bars_sent = 100
    p50, p99, n, decided = benchmark.pedantic(
        lambda: _hundred_bots(tmp_path, 0, bars_sent), rounds=1, iterations=1
    )
    benchmark.extra_info["bar_decided_100_bots_p50_ms"] = round(decided * 1e3, 2)
    benchmark.extra_info["bar_to_submission_100_bots_p50_ms"] = round(p50 * 1e3, 2)
    benchmark.extra_info["bar_to_submission_100_bots_p99_ms"] = round(p99 * 1e3, 2)
    assert n == 100 * bars_sent
    # ~10x the p50 measured on the shared machine (1.5-2 ms). The p99 follows the other work on
    # the machine (a bar preempted by another process: 6-14 ms at load 4-6, more when busier):
    # only a bound far off.
    assert p50 < 20e-3 and p99 < 1.0, f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"


@pytest.mark.slow
def test_hundred_bots_at_the_simulators_print_rate(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """100 bots with the simulator's market data at its configured rate (``simulator
    .maxTradesPerMinute``, 240 prints a minute, each with its quote) between bars."""
    bars_sent = 30
    rate = MarketSettings().max_trades_per_minute
    p50, p99, n, decided = benchmark.pedantic(
        lambda: _hundred_bots(tmp_path, rate, bars_sent), rounds=1, iterations=1
    )
    benchmark.extra_info["prints_per_minute"] = rate
    benchmark.extra_info["bar_decided_100_bots_prints_p50_ms"] = round(decided * 1e3, 2)
    benchmark.extra_info["bar_to_submission_100_bots_prints_p50_ms"] = round(p50 * 1e3, 2)
    benchmark.extra_info["bar_to_submission_100_bots_prints_p99_ms"] = round(p99 * 1e3, 2)
    assert n == 100 * bars_sent
    assert p50 < 100e-3 and p99 < 1.0, f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"  # as above


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


def _rss_bytes(pid: int) -> int:
    """A process's resident set (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.mark.slow
def test_twenty_bot_processes_over_redis(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """20 bots, each its own ``tsxbot bot --redis URL`` process, on a real redis-server (a free
    port): a bar published on the market-data channel to each bot's submission read from
    aggregator:orders (publisher and reader are this process; the bar and each submission cross
    Redis). This process also answers the bots' History requests (no bars) as the connection
    manager would. Also: the resident memory of each bot process at the end."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from support.bus_helpers import bus_config
    from support.processes import clean_env, running
    from support.redis_server import redis_server

    count, bars_sent = 20, 40
    _config(tmp_path, count)
    bot_files = [tmp_path / "config" / "bots" / f"bench_{i}.yaml" for i in range(count)]
    namespace = "benchbots"
    latencies: list[float] = []
    rss: list[int] = []

    async def drive(url: str, pids: list[int]) -> None:
        bus = create_bus(bus_config("redis", url, namespace), client_name="bench")
        await bus.start()
        orders = await bus.subscribe(channels.AGGREGATOR_ORDERS, group="bench-aggregator")
        history = await bus.subscribe(channels.CM_HISTORY, group="bench-history")
        statuses = await bus.subscribe([channels.bot_status(f"bench_{i}") for i in range(count)])
        running_bots: set[str] = set()

        async def answer_history() -> None:
            async for message in history:
                request = message.envelope.payload
                if isinstance(request, HistoryRequest):
                    reply = HistoryBars(request_id=request.request_id, symbol=request.symbol)
                    replies = channels.history_replies(request.reply_to)
                    await bus.publish(replies, Envelope.wrap(reply, "bench"))
                await message.ack()

        async def watch() -> None:
            async for message in statuses:
                status = message.envelope.payload
                if isinstance(status, BotStatus) and status.state is BotState.RUNNING:
                    running_bots.add(status.bot_id)

        async def collect(sent: float) -> None:
            got = 0
            async for message in orders:
                await message.ack()
                if isinstance(message.envelope.payload, OrderSubmission):
                    latencies.append(time.perf_counter() - sent)
                    got += 1
                    if got == count:
                        return

        tasks = [asyncio.create_task(answer_history()), asyncio.create_task(watch())]
        try:
            market = channels.market_data("MES")
            deadline = time.monotonic() + 240
            # The bots learn the exchange's time from its market data before asking History.
            while len(running_bots) < count:
                assert time.monotonic() < deadline, f"only {sorted(running_bots)} RUNNING"
                quote = Quote(
                    symbol="MES", contract_id="CON.F.US.MES.Z26", timestamp=START, bid=5000.0, ask=5000.25
                )
                await bus.publish(market, Envelope.wrap(quote, "bench"))
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # the last status of the start-up published, the bots idle
            bars = _bars()
            for _ in range(bars_sent):
                sent = time.perf_counter()
                await bus.publish(market, Envelope.wrap(next(bars), "bench"))
                await asyncio.wait_for(collect(sent), 30)
                await asyncio.sleep(0.1)  # the bots report the bar before the next (a minute later)
            rss.extend(_rss_bytes(pid) for pid in pids)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for subscription in (orders, history, statuses):
                await subscription.close()
            await bus.close()

    def drain(process: subprocess.Popen[str], tail: deque[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line)

    def run() -> None:
        with redis_server() as redis, contextlib.ExitStack() as stack:
            env = clean_env(PYTHONPATH=os.pathsep.join(sys.path))
            processes = []
            tails: list[deque[str]] = []
            for path in bot_files:
                common = ["--redis", redis.url, "--set", f"bus.namespace={namespace}"]
                bot = running("bot", "--config", str(path), *common, cwd=tmp_path, env=env)
                process = stack.enter_context(bot)
                tail: deque[str] = deque(maxlen=20)
                threading.Thread(target=drain, args=(process, tail), daemon=True).start()
                processes.append(process)
                tails.append(tail)
            try:
                asyncio.run(drive(redis.url, [p.pid for p in processes]))
            except BaseException:
                for path, tail in zip(bot_files, tails, strict=True):
                    print(f"--- {path.name}\n{''.join(tail)}")
                raise

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(latencies) == count * bars_sent and len(rss) == count
    warm = sorted(latencies[count * 5 :])  # the first bars: connections and caches warming up
    p50, p99 = warm[len(warm) // 2], warm[int(len(warm) * 0.99) - 1]
    benchmark.extra_info["bar_to_submission_20_processes_p50_ms"] = round(p50 * 1e3, 2)
    benchmark.extra_info["bar_to_submission_20_processes_p99_ms"] = round(p99 * 1e3, 2)
    benchmark.extra_info["rss_per_bot_process_mb"] = round(statistics.median(rss) / 2**20, 1)
    assert p50 < 0.25 and p99 < 1.0, f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"  # ~10x the figures


TESTS = str(Path(__file__).resolve().parents[2] / "tests")


class TimedBot(BotService):
    """The bot, with the moment each fill is handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fill_handled = asyncio.Event()
        self.fill_at = 0.0

    def on_fill(self, fill: Fill) -> None:
        super().on_fill(fill)
        self.fill_at = time.perf_counter()
        self.fill_handled.set()


def _one_order(i: int) -> list[Payload]:
    """What the aggregator sends a bot for one order, in its order: the order's update, a
    bracket leg's (placed for an entry, cancelled for an exit), the fill, the position."""
    entry = i % 2 == 0
    side = Side.BUY if entry else Side.SELL
    ids = {"account_id": 1, "contract_id": "CON.F.US.MES.Z26", "bot_id": "bench_0", "symbol": "MES"}
    at = START + dt.timedelta(minutes=i)
    return [
        OrderUpdate(
            exchange_order_id=1000 + i, status=OrderStatus.FILLED, order_type=OrderType.MARKET, side=side,
            quantity=1, filled_quantity=1, order_id=f"o{i}", **ids,
        ),
        OrderUpdate(
            exchange_order_id=5000 + i // 2, status=OrderStatus.OPEN if entry else OrderStatus.CANCELLED,
            order_type=OrderType.STOP, side=Side.SELL, quantity=1, stop_price=4990.0, **ids,
        ),
        Fill(
            fill_id=i + 1, exchange_order_id=1000 + i, side=side, quantity=1, price=5000.0, timestamp=at,
            **ids,
        ),
        PositionUpdate(
            net_quantity=1 if entry else 0, average_price=5000.0 if entry else 0.0, timestamp=at, **ids
        ),
    ]  # fmt: skip


@pytest.mark.slow
async def test_a_fill_behind_order_updates_read_by_the_bot_over_redis(tmp_path: Path) -> None:
    """The last hop of an order's round trip, in the bot itself (``BotService``, which the round
    trip benchmark stands in for): a client publishes what the aggregator sends for one order
    (``_one_order``, one pipeline, as the aggregator does) on a real redis-server; timed from
    that publish to the bot's ``on_fill``. Entries and exits alternate, 10 ms apart."""
    sys.path.insert(0, TESTS)
    from support.bus_helpers import bus_config
    from support.redis_server import redis_server

    orders, warm = 200, 10
    config = _config(tmp_path)
    waits: list[float] = []
    with redis_server() as redis:
        bus = create_bus(bus_config("redis", redis.url, "benchfill"), client_name="bot")
        aggregator = create_bus(bus_config("redis", redis.url, "benchfill"), client_name="aggregator")
        await bus.start()
        await aggregator.start()
        bot = TimedBot(config, "bench_0", bus, history=False)  # type: ignore[arg-type]
        channel = channels.bot_orders("bench_0")
        consuming = asyncio.create_task(bot._consume_orders(await bus.subscribe(channel, group="bench-bot")))
        try:
            for i in range(orders):
                bot.fill_handled.clear()
                envelopes = [Envelope.wrap(p, "aggregator") for p in _one_order(i)]
                sent = time.perf_counter()
                await aggregator.publish_many(channel, envelopes)
                async with asyncio.timeout(10):
                    await bot.fill_handled.wait()
                waits.append(bot.fill_at - sent)
                await asyncio.sleep(0.01)
        finally:
            consuming.cancel()
            await asyncio.gather(consuming, return_exceptions=True)
            await bus.close(flush_seconds=2)
            await aggregator.close(flush_seconds=2)
    assert bot.counters["fills"] == orders and bot.position == 0
    ms = sorted(w * 1e3 for w in waits[warm:])
    p50, p90 = statistics.median(ms), ms[int(len(ms) * 0.9) - 1]
    print(
        f"\na fill behind two order updates, published -> handled by the bot over Redis: p50 {p50:.2f} ms, "
        f"p90 {p90:.2f} ms, max {ms[-1]:.2f} ms ({len(ms)} orders); load {os.getloadavg()[0]:.2f}"
    )
    assert p50 < 10.0, f"p50 {p50:.2f} ms"  # ~10x the figure

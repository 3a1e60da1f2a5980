"""The synthetic market and its consistency with History: seeded determinism, sessions and the
halt, the U-shaped volume curve, volatility clustering, gaps, prints that rebuild every bar
exactly, the live feed agreeing with History, and replay of recorded CSV data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from support.exchange import SECOND, advance, market
from support.sim import ES, MES, offline_sim, running_sim
from tsxbot.gateway.enums import BarUnit
from tsxbot.sim.marketdata.bars import BarQuery, retrieve
from tsxbot.sim.sessions import MINUTE_NS
from tsxbot.sim.wire.timestamps import to_ns

NOW = to_ns(dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC))


def _series(seed: int = 42, contract: str = ES):  # type: ignore[no-untyped-def]
    sim = offline_sim(f"simulator.seed={seed}")
    series = sim.markets[contract].series
    series.ensure(NOW)
    return sim, series


def test_the_same_seed_gives_the_same_market_and_another_seed_another() -> None:
    _, a = _series(42)
    _, b = _series(42)
    _, c = _series(43)
    assert np.array_equal(a.c, b.c) and np.array_equal(a.v, b.v)
    assert a.ticks(100).prices == b.ticks(100).prices
    assert not np.array_equal(a.c[: len(c.c)], c.c[: len(a.c)])


def test_at_least_30_trading_days_lie_behind_the_clock_and_none_in_the_halt_or_weekends() -> None:
    sim, series = _series()
    calendar = sim.markets[ES].calendar
    past = series.t[series.t < NOW]
    days = {calendar.session_at(int(t)).trading_date for t in past[::60]}  # type: ignore[union-attr]
    assert len(days) >= 31
    for t in past[::97]:
        local = calendar.local_datetime(int(t))
        assert local.isoweekday() != 6  # no Saturday trading
        assert local.hour != 16  # the 16:00-17:00 CT halt
        assert calendar.session_at(int(t)) is not None


def test_volume_is_u_shaped_over_the_regular_session_and_thin_overnight() -> None:
    sim, series = _series()
    calendar = sim.markets[ES].calendar
    local = [calendar.local_datetime(int(t)) for t in series.t]
    minutes = np.array([d.hour * 60 + d.minute for d in local])
    v = series.v.astype(float)
    opening = v[(minutes >= 8 * 60 + 30) & (minutes < 9 * 60)].mean()
    midday = v[(minutes >= 11 * 60) & (minutes < 13 * 60)].mean()
    closing = v[(minutes >= 14 * 60 + 30) & (minutes < 15 * 60)].mean()
    overnight = v[(minutes >= 0) & (minutes < 5 * 60)].mean()
    assert opening > 1.5 * midday and closing > 1.3 * midday and midday > 2 * overnight


def test_volatility_clusters_and_sessions_gap() -> None:
    sim, series = _series()
    returns = np.diff(np.log(series.c.astype(float)))
    size = np.abs(returns)
    lag1 = np.corrcoef(size[:-1], size[1:])[0, 1]
    assert lag1 > 0.05  # large moves follow large moves
    calendar = sim.markets[ES].calendar
    opens = [i for i in range(1, len(series.t)) if series.t[i] - series.t[i - 1] > MINUTE_NS]
    gaps = [abs(int(series.o[i]) - int(series.c[i - 1])) for i in opens]
    assert len(opens) >= 30 and sum(g > 0 for g in gaps) >= len(gaps) * 0.7
    assert calendar.session_at(int(series.t[opens[0]])) is not None


def test_prints_rebuild_every_bar_exactly() -> None:
    _, series = _series()
    for i in range(0, len(series.t), 211):
        path = series.ticks(i)
        assert path.prices[0] == series.o[i] and path.prices[-1] == series.c[i]
        assert max(path.prices) == series.h[i] and min(path.prices) == series.low[i]
        assert sum(path.sizes) == series.v[i]
        assert (
            path.offsets == sorted(path.offsets) and path.offsets[0] >= 0 and path.offsets[-1] < 60 * SECOND
        )


def test_a_micro_follows_its_mini() -> None:
    _, es = _series(contract=ES)
    _, mes = _series(contract=MES)
    assert np.array_equal(es.c, mes.c) and not np.array_equal(es.v, mes.v)


def test_the_live_feed_rebuilds_the_bars_history_serves() -> None:
    sim = offline_sim()
    m = market(sim)
    prints: list[tuple[int, int, int]] = []
    sim.exchange.market_events = _Tap(prints)  # type: ignore[assignment]
    sim.exchange.market_at(ES, sim.clock.now_ns())  # watched from now on
    advance(sim, 600)
    start = (NOW // MINUTE_NS + 1) * MINUTE_NS
    query = BarQuery(BarUnit.MINUTE, 1, start, start + 9 * MINUTE_NS, 100, False)
    bars = list(reversed(retrieve(m.series, m.calendar, query, sim.clock.now_ns())))
    assert len(bars) == 9
    for bar in bars:
        inside = [(p, s) for ns, p, s in prints if bar.t <= ns < bar.t + MINUTE_NS]
        prices = [p for p, _ in inside]
        assert (prices[0], max(prices), min(prices), prices[-1]) == (bar.o, bar.h, bar.low, bar.c)
        assert sum(s for _, s in inside) == bar.v
    # Session high and low on the quote agree with the day bar.
    day = retrieve(
        m.series,
        m.calendar,
        BarQuery(BarUnit.DAY, 1, NOW - 86_400 * SECOND, NOW + 86_400 * SECOND, 5, True),
        sim.clock.now_ns(),
    )[0]
    assert (m.open, m.high, m.low, m.volume) == (day.o, day.h, day.low, day.v)


class _Tap:
    def __init__(self, prints: list[tuple[int, int, int]]) -> None:
        self.prints = prints

    def watching(self, contract_id: str) -> bool:
        return contract_id == ES

    def on_print(self, market: object, ns: int, price: int, size: int, side: int) -> None:
        self.prints.append((ns, price, size))


async def test_yesterdays_high_and_low_match_between_history_and_the_feed() -> None:
    async with running_sim("simulator.paused=true") as s:
        days = await s.api(
            "History/retrieveBars",
            {
                "contractId": ES,
                "live": False,
                "startTime": "2026-11-20T00:00:00Z",
                "endTime": "2026-11-24T00:00:00Z",
                "unit": 4,
                "unitNumber": 1,
                "limit": 1,
                "includePartialBar": False,
            },
        )
        (yesterday,) = days["bars"]
        assert yesterday["t"].startswith("2026-11-23")
        minutes = await s.api(
            "History/retrieveBars",
            {
                "contractId": ES,
                "live": False,
                "startTime": "2026-11-22T23:00:00Z",
                "endTime": "2026-11-23T22:00:00Z",
                "unit": 2,
                "unitNumber": 1,
                "limit": 20000,
                "includePartialBar": False,
            },
        )
        bars = minutes["bars"]
        assert len(bars) == 1380
        assert yesterday["h"] == max(b["h"] for b in bars) and yesterday["l"] == min(b["l"] for b in bars)
        assert yesterday["o"] == bars[-1]["o"] and yesterday["c"] == bars[0]["c"]
        assert yesterday["v"] == sum(b["v"] for b in bars)
        # The feed's quote says the previous close is yesterday's close.
        quote_market = s.sim.exchange.market_at(ES, s.sim.clock.now_ns())
        assert quote_market.prev_close * 0.25 == yesterday["c"]


def test_second_and_tick_bars_come_from_the_prints() -> None:
    sim, series = _series()
    m = sim.markets[ES]
    seconds = retrieve(
        series, m.calendar, BarQuery(BarUnit.SECOND, 10, NOW - 600 * SECOND, NOW, 30, False), NOW
    )
    assert len(seconds) == 30 and all(b.t % (10 * SECOND) == 0 for b in seconds)
    assert [b.t for b in seconds] == sorted((b.t for b in seconds), reverse=True)
    ticks = retrieve(series, m.calendar, BarQuery(BarUnit.TICK, 5, NOW - 600 * SECOND, NOW, 10, False), NOW)
    assert len(ticks) == 10 and all(b.low <= b.o <= b.h for b in ticks)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_recorded_trade_file_replays_print_for_print(tmp_path: Path) -> None:
    start = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    rows = ["timestamp,price,size,side"]
    price = 6000.0
    for k in range(600):
        price += 0.25 if (k * 7) % 5 < 3 else -0.25
        when = start + dt.timedelta(milliseconds=200 * k)
        rows.append(
            f"{when.isoformat().replace('+00:00', 'Z')},{price:.2f},{1 + k % 3},{'B' if k % 2 else 'A'}"
        )
    data = _write(tmp_path / "es.csv", "\n".join(rows) + "\n")
    async with running_sim(
        f"simulator.data={data}", "simulator.market.replaySymbol=ES", "simulator.paused=true"
    ) as s:
        assert s.sim.clock.now_ns() == to_ns(start)  # shorter than historyDays: starts at its first record
        m = s.sim.exchange.market_at(ES, s.sim.clock.now_ns())
        prints: list[tuple[int, int, int]] = []
        s.sim.exchange.market_events = _Tap(prints)  # type: ignore[assignment]
        s.sim.exchange.market_at(ES, s.sim.clock.now_ns())  # watched from now on
        await s.admin("clock", {"action": "advance", "seconds": 120})
        assert len(prints) == 599  # every record after the first (that one set the start)
        expected = [float(r.split(",")[1]) for r in rows[2:]]
        assert [p * 0.25 for _, p, _ in prints] == expected
        assert m.last * 0.25 == expected[-1]


async def test_recorded_bars_replay_and_feed_history(tmp_path: Path) -> None:
    rows = ["time,open,high,low,close,volume,symbol"]
    base = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
    for k in range(120):
        o = 6000 + k * 0.25
        rows.append(
            f"{(base + dt.timedelta(minutes=k)).isoformat()},{o},{o + 1},{o - 1},{o + 0.5},{50 + k},ES"
        )
    data = _write(tmp_path / "bars.csv", "\n".join(rows) + "\n")
    async with running_sim(
        f"simulator.data={data}", "simulator.startTime=2026-11-24T15:00:00Z", "simulator.paused=true"
    ) as s:
        body = await s.api(
            "History/retrieveBars",
            {
                "contractId": ES,
                "live": False,
                "startTime": "2026-11-24T14:00:00Z",
                "endTime": "2026-11-24T16:00:00Z",
                "unit": 2,
                "unitNumber": 1,
                "limit": 5,
                "includePartialBar": False,
            },
        )
        assert [b["t"][11:16] for b in body["bars"]] == ["14:59", "14:58", "14:57", "14:56", "14:55"]
        assert body["bars"][0]["o"] == 6000 + 59 * 0.25 and body["bars"][0]["v"] == 50 + 59


def test_a_bad_recording_says_what_is_wrong(tmp_path: Path) -> None:
    from tsxbot.config import DEFAULTS_DIR, load_config
    from tsxbot.sim.marketdata.replay import RecordingError, load_recording

    data = _write(tmp_path / "x.csv", "when,price\n2026-01-01T00:00:00Z,1\n")
    config = load_config(DEFAULTS_DIR, overrides=[f"simulator.data={data}"], env={})
    with pytest.raises(RecordingError, match="no time column"):
        load_recording(config.global_config.simulator, config.instruments)

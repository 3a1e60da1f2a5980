"""Replay of recorded data from every format the simulator reads: Databento DBN (plain and
zstd-compressed, written here with databento-dbn itself), Parquet (written with pyarrow) and CSV
with integer-nanosecond times. Prints and bars come back exactly (prices, sizes, sides, times);
contract symbols map to the instruments table's roots; bad files say which file and what is
wrong."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsBytes

import databento_dbn as dbn
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support.sim import ES, running_sim
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.sim.marketdata.replay import RecordedSeries, RecordingError, load_recording
from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.marketdata.tickpath import BUY, SELL
from tsxbot.sim.sessions import MINUTE_NS
from tsxbot.sim.wire.timestamps import to_ns

SECOND = 1_000_000_000
START = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # running_sim's start time
TICK = 250_000_000  # ES's 0.25 in DBN's fixed-point units (1e-9)
ES_ID, ESH7_ID, SPREAD_ID, MES_ID, NQ_ID = 5002, 5003, 5004, 7001, 8001


@dataclass(frozen=True)
class Trade:
    ns: int
    ticks: int  # price in ES ticks (0.25)
    size: int
    side: str  # DBN's aggressor side: B buy, A sell, N not known


def _trades(n: int = 600) -> list[Trade]:
    """A trade every ~200 ms from START, at times that are not whole microseconds."""
    t0 = to_ns(START)
    out, ticks = [], 24_000  # 6000.00
    for k in range(n):
        ticks += 1 if (k * 7) % 5 < 3 else -1
        out.append(Trade(t0 + k * 200_000_001 + k % 7, ticks, 1 + k % 3, "BAN"[k % 3]))
    return out


def _aggressors(trades: Sequence[Trade]) -> list[int]:
    """The replay's sides: B and A as recorded, N by the tick rule (up: buy, down: sell)."""
    sides, last_side, last = [], BUY, None
    for t in trades:
        if t.side == "B":
            side = BUY
        elif t.side == "A":
            side = SELL
        elif last is not None and t.ticks != last:
            side = BUY if t.ticks > last else SELL
        else:
            side = last_side
        sides.append(side)
        last_side, last = side, t.ticks
    return sides


# --- writing recordings -------------------------------------------------------------------------


@dataclass
class _Interval:  # databento_dbn.MappingInterval (a protocol)
    start_date: dt.date
    end_date: dt.date
    symbol: str


@dataclass
class _Mapping:  # databento_dbn.SymbolMapping (a protocol)
    raw_symbol: str
    intervals: list[_Interval]


def _metadata(schema: str | None, mappings: dict[str, Sequence[int]], stype_in: str) -> dbn.Metadata:
    """Metadata as Databento writes it: each requested symbol -> the instrument_ids it resolved to."""
    days = (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    return dbn.Metadata(
        dataset="GLBX.MDP3",
        start=to_ns(START) - 86_400 * SECOND,
        stype_in=dbn.SType.from_str(stype_in),
        stype_out=dbn.SType.from_str("instrument_id"),
        schema=dbn.Schema.from_str(schema) if schema else None,
        symbols=list(mappings),
        mappings=[
            _Mapping(symbol, [_Interval(*days, str(i)) for i in ids]) for symbol, ids in mappings.items()
        ],
    )


def _write_dbn(
    path: Path, metadata: dbn.Metadata, records: Sequence[SupportsBytes], *, zstd: bool = False
) -> Path:
    data = metadata.encode() + b"".join(bytes(r) for r in records)
    if zstd:
        out = io.BytesIO()
        with dbn.Transcoder(out, dbn.Encoding.from_str("dbn"), dbn.Compression.from_str("zstd")) as zst:
            zst.write(data)
        data = out.getvalue()
        assert data[:4] == b"\x28\xb5\x2f\xfd"  # really a zstd frame
    path.write_bytes(data)
    return path


def _trade_msg(t: Trade, instrument_id: int = ES_ID, tick: int = TICK) -> dbn.TradeMsg:
    return dbn.TradeMsg(
        publisher_id=1,
        instrument_id=instrument_id,
        ts_event=t.ns,
        price=t.ticks * tick,
        size=t.size,
        action=dbn.Action.from_str("T"),
        side=dbn.Side.from_str(t.side),
        depth=0,
        ts_recv=t.ns + 1_500,  # received later: the replay uses ts_event
    )


def _trades_dbn(path: Path, trades: Sequence[Trade], symbol: str, stype_in: str, *, zstd: bool) -> Path:
    metadata = _metadata("trades", {symbol: [ES_ID]}, stype_in)
    return _write_dbn(path, metadata, [_trade_msg(t) for t in trades], zstd=zstd)


def _trades_parquet(path: Path, trades: Sequence[Trade]) -> Path:
    table = pa.table(
        {
            "ts_event": pa.array([t.ns for t in trades], type=pa.timestamp("ns", tz="UTC")),
            "price": pa.array([t.ticks * 0.25 for t in trades], type=pa.float64()),
            "size": pa.array([t.size for t in trades], type=pa.int32()),
            "side": [t.side for t in trades],
            "symbol": ["ESZ26"] * len(trades),
        }
    )
    pq.write_table(table, path, row_group_size=128)  # several row groups
    return path


def _trades_csv(path: Path, trades: Sequence[Trade]) -> Path:
    lines = ["ts_event,price,size,side,symbol"]
    lines += [f"{t.ns},{t.ticks * 0.25:.2f},{t.size},{t.side},ES.c.0" for t in trades]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TRADE_WRITERS: dict[str, Callable[[Path, Sequence[Trade]], Path]] = {
    "dbn": lambda d, t: _trades_dbn(d / "es.trades.dbn", t, "ESZ6", "raw_symbol", zstd=False),
    "dbn.zst": lambda d, t: _trades_dbn(d / "es.trades.dbn.zst", t, "ES.FUT", "parent", zstd=True),
    "parquet": lambda d, t: _trades_parquet(d / "es.parquet", t),
    "csv-ns": lambda d, t: _trades_csv(d / "es.csv", t),
}


class _Tap:
    def __init__(self) -> None:
        self.prints: list[tuple[int, int, int, int]] = []

    def watching(self, contract_id: str) -> bool:
        return contract_id == ES

    def on_print(self, market: object, ns: int, price: int, size: int, side: int) -> None:
        self.prints.append((ns, price, size, side))


def _load(data: Path, *overrides: str) -> dict[str, MinuteSeries]:
    config = load_config(DEFAULTS_DIR, overrides=[f"simulator.data={data}", *overrides], env={})
    series, _ = load_recording(config.global_config.simulator, config.instruments)
    return series


def _prints(series: MinuteSeries) -> list[tuple[int, int, int, int]]:
    out = []
    for i in range(len(series.t)):
        path = series.ticks(i)
        base = int(series.t[i])
        out += [
            (base + o, p, z, s)
            for o, p, z, s in zip(path.offsets, path.prices, path.sizes, path.sides, strict=True)
        ]
    return out


# --- trades ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(TRADE_WRITERS))
async def test_recorded_trades_replay_print_for_print_from_every_format(tmp_path: Path, fmt: str) -> None:
    trades = _trades()
    data = TRADE_WRITERS[fmt](tmp_path, trades)
    async with running_sim(f"simulator.data={data}", "simulator.paused=true") as s:
        assert s.sim.clock.now_ns() == to_ns(START) == trades[0].ns
        m = s.sim.exchange.market_at(ES, s.sim.clock.now_ns())
        tap = _Tap()
        s.sim.exchange.market_events = tap  # type: ignore[assignment]
        s.sim.exchange.market_at(ES, s.sim.clock.now_ns())  # watched from now on
        await s.admin("clock", {"action": "advance", "seconds": 130})
        sides = _aggressors(trades)
        expected = [(t.ns, t.ticks, t.size, side) for t, side in zip(trades, sides, strict=True)]
        # Every record after the first (that one is at the start instant), to the nanosecond.
        assert tap.prints == expected[1:]
        assert m.last == trades[-1].ticks and m.last_size == trades[-1].size


# --- bars -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    ns: int
    o: int  # ticks
    h: int
    low: int
    c: int
    v: int


def _bars(n: int = 120, step: int = MINUTE_NS) -> list[Bar]:
    base = to_ns(dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC))
    out = []
    for k in range(n):
        o = 24_000 + k
        out.append(Bar(base + k * step, o, o + 4 + k % 3, o - 4 - k % 2, o + 2 - k % 5, 50 + k))
    return out


def _ohlcv_msg(b: Bar, rtype: str, instrument_id: int = ES_ID) -> dbn.OHLCVMsg:
    return dbn.OHLCVMsg(
        rtype=int(dbn.RType.from_str(rtype)),
        publisher_id=1,
        instrument_id=instrument_id,
        ts_event=b.ns,
        open=b.o * TICK,
        high=b.h * TICK,
        low=b.low * TICK,
        close=b.c * TICK,
        volume=b.v,
    )


def _bars_parquet(path: Path, bars: Sequence[Bar]) -> Path:
    pq.write_table(
        pa.table(
            {
                "time": pa.array([b.ns // 1000 for b in bars], type=pa.timestamp("us")),  # naive = UTC
                "open": [b.o * 0.25 for b in bars],
                "high": [b.h * 0.25 for b in bars],
                "low": [b.low * 0.25 for b in bars],
                "close": [b.c * 0.25 for b in bars],
                "volume": pa.array([b.v for b in bars], type=pa.int64()),
                "contractId": ["CON.F.US.EP.Z26"] * len(bars),
            }
        ),
        path,
    )
    return path


BAR_WRITERS: dict[str, Callable[[Path, Sequence[Bar]], Path]] = {
    "dbn": lambda d, b: _write_dbn(
        d / "es.ohlcv-1m.dbn",
        _metadata("ohlcv-1m", {"ES.c.0": [ES_ID]}, "continuous"),
        [_ohlcv_msg(bar, "ohlcv-1m") for bar in b],
    ),
    "parquet": lambda d, b: _bars_parquet(d / "bars.parquet", b),
}


@pytest.mark.parametrize("fmt", list(BAR_WRITERS))
async def test_recorded_bars_replay_and_feed_history_from_every_format(tmp_path: Path, fmt: str) -> None:
    bars = _bars()
    data = BAR_WRITERS[fmt](tmp_path, bars)
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
                "limit": 60,
                "includePartialBar": False,
            },
        )
        served = [(b["t"][:16], b["o"], b["h"], b["l"], b["c"], b["v"]) for b in reversed(body["bars"])]
        expected = [
            (
                dt.datetime.fromtimestamp(b.ns / SECOND, dt.UTC).strftime("%Y-%m-%dT%H:%M"),
                b.o * 0.25,
                b.h * 0.25,
                b.low * 0.25,
                b.c * 0.25,
                b.v,
            )
            for b in bars[:60]  # 14:00-14:59: the hour before the clock
        ]
        assert served == expected


@pytest.mark.parametrize(
    ("schema", "step"),
    [
        ("ohlcv-1s", SECOND),
        ("ohlcv-1m", MINUTE_NS),
        ("ohlcv-1h", 3600 * SECOND),
        ("ohlcv-1d", 86_400 * SECOND),
    ],
)
def test_every_ohlcv_schema_gives_bars_of_its_interval(tmp_path: Path, schema: str, step: int) -> None:
    bars = _bars(30, step)
    data = _write_dbn(
        tmp_path / f"es.{schema}.dbn.zst",
        _metadata(schema, {"ESZ6": [ES_ID]}, "raw_symbol"),
        [_ohlcv_msg(b, schema) for b in bars],
        zstd=True,
    )
    series = _load(data)["ES"]
    assert isinstance(series, RecordedSeries) and series.duration_ns == step
    columns = (series.t, series.o, series.h, series.low, series.c, series.v)
    got = list(zip(*(a.tolist() for a in columns), strict=True))
    assert got == [(b.ns, b.o, b.h, b.low, b.c, b.v) for b in bars]


# --- symbols --------------------------------------------------------------------------------------


def test_contract_symbols_map_to_their_roots_and_a_parent_request_replays_the_front_month(
    tmp_path: Path,
) -> None:
    trades = _trades(400)
    records: list[dbn.TradeMsg] = []
    for k, t in enumerate(trades):
        records.append(_trade_msg(t, ES_ID))  # the front month: most traded
        if k % 3 == 0:
            records.append(_trade_msg(Trade(t.ns + 5, t.ticks + 60, 1, "A"), ESH7_ID))  # the next expiry
        if k % 5 == 0:
            records.append(_trade_msg(Trade(t.ns + 7, 61, 1, "B"), SPREAD_ID))  # a calendar spread
        if k % 2 == 0:
            records.append(_trade_msg(t, MES_ID))
            records.append(_trade_msg(Trade(t.ns, t.ticks * 4 + 40_000, t.size, t.side), NQ_ID))
    metadata = _metadata(
        "trades",
        {"ES.FUT": [ES_ID, ESH7_ID, SPREAD_ID], "MESZ6": [MES_ID], "NQ.c.0": [NQ_ID]},
        "raw_symbol",
    )
    series = _load(_write_dbn(tmp_path / "glbx.trades.dbn", metadata, records))
    assert sorted(series) == ["ES", "MES", "NQ"]
    es = [(ns, p, z) for ns, p, z, _ in _prints(series["ES"])]
    assert es == [(t.ns, t.ticks, t.size) for t in trades]  # no back month, no spread
    assert [p for _, p, _, _ in _prints(series["MES"])] == [t.ticks for t in trades[::2]]
    assert [p for _, p, _, _ in _prints(series["NQ"])] == [t.ticks * 4 + 40_000 for t in trades[::2]]


def test_a_symbol_that_maps_to_no_instrument_is_named_or_replays_as_the_replay_symbol(tmp_path: Path) -> None:
    trades = _trades(50)
    data = _write_dbn(
        tmp_path / "6e.trades.dbn",
        _metadata("trades", {"6EZ6": [ES_ID]}, "raw_symbol"),
        [_trade_msg(t) for t in trades],
    )
    with pytest.raises(RecordingError, match=r"6e\.trades\.dbn: .*'6EZ6'.*replaySymbol") as caught:
        _load(data)
    assert str(caught.value).startswith(str(data))
    series = _load(data, "simulator.market.replaySymbol=ES")
    assert [p for _, p, _, _ in _prints(series["ES"])] == [t.ticks for t in trades]
    # No mapping at all for the instrument: named by its id.
    bare = _write_dbn(tmp_path / "bare.dbn", _metadata("trades", {}, "raw_symbol"), [_trade_msg(trades[0])])
    with pytest.raises(RecordingError, match=f"instrument_id {ES_ID} .*no symbol"):
        _load(bare)


# --- bad files ------------------------------------------------------------------------------------


def _full_dbn(tmp_path: Path, name: str = "full.dbn", *, zstd: bool = False) -> bytes:
    return _trades_dbn(tmp_path / name, _trades(2000), "ESZ6", "raw_symbol", zstd=zstd).read_bytes()


BAD_FILES: dict[str, tuple[Callable[[Path], tuple[str, bytes]], str]] = {
    "wrong schema": (
        lambda d: ("mbp10.dbn", _metadata("mbp-10", {"ESZ6": [ES_ID]}, "raw_symbol").encode()),
        "schema 'mbp-10' cannot be replayed",
    ),
    "unreplayable records": (
        lambda d: (
            "mixed.dbn",
            _metadata(None, {"ESZ6": [ES_ID]}, "raw_symbol").encode()
            + bytes(_ohlcv_msg(_bars(1)[0], "ohlcv-eod")),
        ),
        "ohlcv-eod records .*cannot be replayed",
    ),
    "trades and bars mixed": (
        lambda d: (
            "both.dbn",
            _metadata(None, {"ESZ6": [ES_ID]}, "raw_symbol").encode()
            + bytes(_trade_msg(_trades(1)[0]))
            + bytes(_ohlcv_msg(_bars(1)[0], "ohlcv-1m")),
        ),
        "mixes trades and bars",
    ),
    "truncated record": (lambda d: ("cut.dbn", _full_dbn(d)[:-20]), "truncated: it ends inside a record"),
    "truncated header": (lambda d: ("head.dbn", _full_dbn(d)[:40]), "truncated or not DBN"),
    "truncated zst": (
        lambda d: ("cut.dbn.zst", (z := _full_dbn(d, "full.dbn.zst", zstd=True))[: len(z) // 2]),
        "truncated: it ends inside a zstd frame",
    ),
    "not DBN": (lambda d: ("junk.dbn", b"timestamp,price\n" * 20), "not a readable DBN file"),
    "not Parquet": (lambda d: ("junk.parquet", b"PAR1 not really"), "not a readable Parquet file"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_recording_names_the_file_and_the_problem(tmp_path: Path, case: str) -> None:
    make, problem = BAD_FILES[case]
    name, content = make(tmp_path)
    data = tmp_path / name
    data.write_bytes(content)
    with pytest.raises(RecordingError, match=problem) as caught:
        _load(data, "simulator.market.replaySymbol=ES")
    assert str(caught.value).startswith(f"{data}: ")


@pytest.mark.parametrize(
    ("fmt", "modules", "needs"),
    [
        ("dbn", ["databento_dbn"], "reading DBN needs databento-dbn: pip install 'tsxbot[replay]'"),
        (
            "parquet",
            ["pyarrow", "pyarrow.parquet"],
            "reading Parquet needs pyarrow: pip install 'tsxbot[replay]'",
        ),
    ],
)
def test_without_the_optional_package_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, modules: list[str], needs: str
) -> None:
    data = TRADE_WRITERS[fmt](tmp_path, _trades(10))
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, "tsxbot.sim.marketdata.dbnfile", raising=False)
    with pytest.raises(RecordingError) as caught:
        _load(data)
    assert str(caught.value) == f"{data}: {needs}"

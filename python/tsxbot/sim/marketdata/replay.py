"""Recorded data to replay: trades or bars from CSV, Parquet or Databento DBN.

Formats, chosen by the file (``.parquet``/``.pq``; ``.dbn``/``.dbn.zst`` or DBN's or zstd's magic
bytes; anything else is CSV):
- CSV: a header row; the columns below.
- Parquet: the same columns (needs pyarrow: ``pip install 'tsxbot[replay]'``); timestamp columns
  keep their nanoseconds. Read a row group at a time.
- Databento DBN, plain or zstd-compressed (needs databento-dbn: ``pip install 'tsxbot[replay]'``):
  the ``trades`` schema (``TradeMsg``) or ``ohlcv-1s``/``-1m``/``-1h``/``-1d`` (``OHLCVMsg``); see
  :mod:`tsxbot.sim.marketdata.dbnfile`. Its records become the same rows as the columns below
  (``ts_event``, ``price``, ``size``, ``side``, ``symbol`` or the bar's prices and ``volume``).

Columns are found by name, case-blind:
- time: ``timestamp``, ``time``, ``datetime``, ``ts_event`` or ``t`` (ISO-8601, or epoch
  seconds / milliseconds / microseconds / nanoseconds; integer nanoseconds stay exact);
- trades: ``price`` and ``size`` (or ``volume``), optional ``side`` (``B``/``buy``/``0`` for a
  buy aggressor, ``A``/``S``/``sell``/``1`` for a sell; else, ``N`` included, the tick rule);
- bars: ``open``, ``high``, ``low``, ``close``, ``volume`` (the bar duration is the smallest gap);
- optional ``symbol`` or ``contractId`` (``CON.F.US.EP.Z25``); else ``market.replaySymbol``. A
  symbol is the instruments table's (``ES``) or a contract of it: ``ESZ6``/``ESZ26``, Databento's
  parent ``ES.FUT`` and continuous ``ES.c.0``/``ES.v.1``/``ES.n.0`` all replay as ``ES``. A symbol
  that maps to no instrument replays as ``market.replaySymbol`` when that is set, else it is an
  error that names it.

Trades replay exactly; bars are filled with prints the way the synthetic generator fills its
minute bars. The clock starts after ``market.historyDays`` trading days of the recording (so
they are history), or at its first record when it is shorter, unless ``startTime`` is a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tsxbot.config.instruments import Instrument, Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.marketdata.tickpath import BUY, SELL, TickPath
from tsxbot.sim.sessions import MINUTE_NS
from tsxbot.sim.wire.timestamps import parse_timestamp, to_ns
from tsxbot.ticks import Rounding

TIME_COLUMNS = ("timestamp", "time", "datetime", "ts_event", "t")
PARQUET_SUFFIXES = (".parquet", ".pq")
DBN_SUFFIXES = (".dbn", ".dbn.zst")
# The first bytes of a DBN stream, and of a zstd frame (a compressed DBN file).
DBN_MAGIC = b"DBN"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# A futures contract of a root (ESZ6, ESZ26), a Databento parent (ES.FUT) or continuous (ES.c.0).
_CONTRACT = re.compile(r"([A-Z0-9]+?)(?:[FGHJKMNQUVXZ]\d{1,2}|\.FUT|\.[CNV]\.\d+)")


class RecordingError(ValueError):
    """The recording cannot be read; the message says what and where."""


class RecordedSeries(MinuteSeries):
    """Bars and prints from a recording (trades exact, bars filled in)."""

    def __init__(
        self, symbol: str, tick_size: float, *, seed: int, max_trades: int, duration_ns: int
    ) -> None:
        super().__init__(symbol, tick_size, seed=seed, max_trades=max_trades, avg_trade_size=2.0)
        self.duration_ns = duration_ns
        self.recorded: dict[int, TickPath] = {}

    def bar_duration(self, i: int) -> int:
        return self.duration_ns

    def _make_ticks(self, i: int) -> TickPath:
        found = self.recorded.get(i)
        return found if found is not None else super()._make_ticks(i)


def root_symbol(symbol: str, instruments: Instruments) -> str | None:
    """The instruments table's symbol for a recorded one: ``ES`` for ``ES``, ``ESZ6``, ``ESZ26``,
    ``ES.FUT``, ``ES.c.0`` or ``CON.F.US.EP.Z26``; None when it maps to no instrument."""
    text = symbol.strip().upper()
    if text in instruments:
        return text
    by_contract = instruments.by_contract_id(symbol.strip())
    if by_contract is not None:
        return by_contract.symbol
    match = _CONTRACT.fullmatch(text)
    if match is not None and match.group(1) in instruments:
        return match.group(1)
    return None


def is_dbn(path: Path) -> bool:
    """A Databento DBN file, plain or zstd-compressed: by its name, else by its first bytes."""
    if path.name.lower().endswith(DBN_SUFFIXES):
        return True
    with path.open("rb") as handle:
        head = handle.read(4)
    return head.startswith(DBN_MAGIC) or head == ZSTD_MAGIC


def _read_rows(path: Path, config: SimulatorConfig, instruments: Instruments) -> list[dict[str, Any]]:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return list(_parquet_rows(path))
    if is_dbn(path):
        try:
            from tsxbot.sim.marketdata.dbnfile import read_dbn
        except ModuleNotFoundError as exc:
            if exc.name != "databento_dbn":
                raise
            raise RecordingError(
                f"{path}: reading DBN needs databento-dbn: pip install 'tsxbot[replay]'"
            ) from None
        return read_dbn(path, config, instruments)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file, a row group at a time; timestamps as integer nanoseconds."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise RecordingError(f"{path}: reading Parquet needs pyarrow: pip install 'tsxbot[replay]'") from None
    try:
        source = pq.ParquetFile(path)
        for batch in source.iter_batches():
            arrays = [
                column.cast(pa.timestamp("ns", field.type.tz)).cast(pa.int64())
                if pa.types.is_timestamp(field.type)
                else column
                for field, column in zip(batch.schema, batch.columns, strict=True)
            ]
            table = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
            rows: list[dict[str, Any]] = table.to_pylist()
            yield from rows
    except (pa.ArrowException, OSError) as exc:
        raise RecordingError(f"{path}: not a readable Parquet file ({exc})") from None


def _time_ns(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return to_ns(value)
    if isinstance(value, int):
        return _epoch_ns(value)
    text = str(value).strip()
    if text.isdigit():
        return _epoch_ns(int(text))  # exact: a float would round nanoseconds
    try:
        number = float(text)
    except ValueError:
        return to_ns(parse_timestamp(text))
    if number > 1e17:
        return int(number)
    if number > 1e14:
        return int(number * 1_000)
    if number > 1e11:
        return int(number * 1_000_000)
    return int(number * 1e9)


def _epoch_ns(number: int) -> int:
    """Integer epoch nanoseconds, microseconds, milliseconds or seconds, as nanoseconds."""
    if number > 10**17:
        return number
    if number > 10**14:
        return number * 1_000
    if number > 10**11:
        return number * 1_000_000
    return number * 1_000_000_000


def _side(value: Any) -> int | None:
    text = str(value).strip().lower()
    if text in ("b", "buy", "0", "bid"):
        return BUY
    if text in ("a", "s", "sell", "1", "ask"):
        return SELL
    return None


def load_recording(config: SimulatorConfig, instruments: Instruments) -> tuple[dict[str, MinuteSeries], int]:
    """The recorded series by symbol, and the instant the clock starts at."""
    assert config.data is not None
    path = Path(config.data)
    if not path.is_file():
        raise RecordingError(f"{path}: file not found")
    rows = _read_rows(path, config, instruments)
    if not rows:
        raise RecordingError(f"{path}: no records")
    columns = {k.lower(): k for k in rows[0]}
    time_key = next((columns[c] for c in TIME_COLUMNS if c in columns), None)
    if time_key is None:
        raise RecordingError(f"{path}: no time column (one of {', '.join(TIME_COLUMNS)})")
    is_bars = all(c in columns for c in ("open", "high", "low", "close"))
    if not is_bars and "price" not in columns:
        raise RecordingError(
            f"{path}: expected trades (price, size) or bars (open, high, low, close, volume)"
        )
    by_symbol: dict[str, list[dict[str, Any]]] = defaultdict(list)
    resolved: dict[str, str] = {}
    for row in rows:
        recorded = _recorded_symbol(row, columns, config, path)
        symbol = resolved.get(recorded)
        if symbol is None:
            symbol = resolved[recorded] = _resolve_symbol(recorded, config, instruments, path)
        by_symbol[symbol].append(row)
    out: dict[str, MinuteSeries] = {}
    first_times: list[int] = []
    for symbol, records in by_symbol.items():
        inst = instruments.get(symbol)
        series: MinuteSeries
        if is_bars:
            series = _from_bars(inst, records, columns, time_key, config)
        else:
            series = _from_trades(inst, records, columns, time_key, config)
        out[symbol] = series
        first_times.append(int(series.t[0]))
    pinned = config.pinned_start()
    if pinned is not None:
        return out, to_ns(pinned)
    main = next(iter(out.values()))
    days = sorted({int(t) // (86_400 * 10**9) for t in main.t.tolist()})
    skip = config.market.history_days
    if len(days) > skip:
        start_day = days[skip]
        start = int(main.t[int(np.searchsorted(main.t, start_day * 86_400 * 10**9))])
    else:
        start = min(first_times)
    return out, start


def _recorded_symbol(
    row: dict[str, Any], columns: dict[str, str], config: SimulatorConfig, path: Path
) -> str:
    if "symbol" in columns and row[columns["symbol"]]:
        return str(row[columns["symbol"]]).strip()
    if "contractid" in columns and row[columns["contractid"]]:
        return str(row[columns["contractid"]]).strip()
    if config.market.replay_symbol:
        return config.market.replay_symbol
    raise RecordingError(f"{path}: no symbol column; set simulator.market.replaySymbol")


def _resolve_symbol(recorded: str, config: SimulatorConfig, instruments: Instruments, path: Path) -> str:
    symbol = root_symbol(recorded, instruments) or config.market.replay_symbol
    if symbol is None:
        raise RecordingError(
            f"{path}: unknown symbol {recorded!r} (not in the instruments table);"
            " set simulator.market.replaySymbol to replay it as one"
        )
    if symbol not in instruments:
        raise RecordingError(f"{path}: unknown symbol {symbol!r}")
    return symbol


def _from_trades(
    inst: Instrument,
    records: list[dict[str, Any]],
    columns: dict[str, str],
    time_key: str,
    config: SimulatorConfig,
) -> RecordedSeries:
    symbol, tick_size, ticks = inst.symbol, inst.tick_size, inst.ticks
    size_key = columns.get("size") or columns.get("volume")
    side_key = columns.get("side")
    prints: list[tuple[int, int, int, int | None]] = []
    for row in records:
        size = int(float(row[size_key])) if size_key else 1
        side = _side(row[side_key]) if side_key else None
        prints.append(
            (
                _time_ns(row[time_key]),
                ticks.to_ticks(float(row[columns["price"]]), Rounding.NEAREST),
                size,
                side,
            )
        )
    prints.sort(key=lambda p: p[0])
    series = RecordedSeries(
        symbol,
        tick_size,
        seed=config.seed,
        max_trades=config.market.max_trades_per_minute,
        duration_ns=MINUTE_NS,
    )
    minutes: dict[int, list[tuple[int, int, int, int | None]]] = defaultdict(list)
    for p in prints:
        minutes[(p[0] // MINUTE_NS) * MINUTE_NS].append(p)
    t, o, h, low, c, v = [], [], [], [], [], []
    last_side, last_price = BUY, None
    for i, minute in enumerate(sorted(minutes)):
        group = minutes[minute]
        prices = [p[1] for p in group]
        t.append(minute)
        o.append(prices[0])
        h.append(max(prices))
        low.append(min(prices))
        c.append(prices[-1])
        v.append(sum(p[2] for p in group))
        sides: list[int] = []
        for _, price, _, side in group:
            if side is None:
                if last_price is not None and price != last_price:
                    side = BUY if price > last_price else SELL
                else:
                    side = last_side
            sides.append(side)
            last_side, last_price = side, price
        series.recorded[i] = TickPath(
            offsets=[p[0] - minute for p in group], prices=prices, sizes=[p[2] for p in group], sides=sides
        )
    _set_arrays(series, t, o, h, low, c, v)
    return series


def _from_bars(
    inst: Instrument,
    records: list[dict[str, Any]],
    columns: dict[str, str],
    time_key: str,
    config: SimulatorConfig,
) -> RecordedSeries:
    symbol, tick_size, ticks = inst.symbol, inst.tick_size, inst.ticks
    bars = []
    for row in records:

        def px(name: str, row: dict[str, Any] = row) -> int:
            return int(ticks.to_ticks(float(row[columns[name]]), Rounding.NEAREST))

        volume = int(float(row[columns["volume"]])) if "volume" in columns else 4
        bars.append((_time_ns(row[time_key]), px("open"), px("high"), px("low"), px("close"), max(volume, 4)))
    bars.sort(key=lambda b: b[0])
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(bars) if b[0] > a[0]]
    duration = min(gaps) if gaps else MINUTE_NS
    series = RecordedSeries(
        symbol,
        tick_size,
        seed=config.seed,
        max_trades=config.market.max_trades_per_minute,
        duration_ns=duration,
    )
    _set_arrays(series, *map(list, zip(*bars, strict=True)))
    return series


def _set_arrays(series: RecordedSeries, *columns: list[int]) -> None:
    arrays = [np.asarray(col, dtype=np.int64) for col in columns]
    series.t, series.o, series.h, series.low, series.c, series.v = arrays

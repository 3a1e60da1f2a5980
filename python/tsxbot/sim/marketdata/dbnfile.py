"""Databento DBN recordings (``.dbn``, or ``.dbn.zst`` compressed) as the rows the replay reads.

Decoded with the ``databento-dbn`` package (``pip install 'tsxbot[replay]'``) a megabyte at a time.
Every record becomes the row a CSV line would give (see :mod:`tsxbot.sim.marketdata.replay`):
- ``trades`` (``TradeMsg``, rtype mbp-0): ``ts_event``, ``price``, ``size``, ``side`` (the
  aggressor: ``B`` buy, ``A`` sell, ``N`` unknown, left to the tick rule);
- ``ohlcv-1s``, ``ohlcv-1m``, ``ohlcv-1h``, ``ohlcv-1d`` (``OHLCVMsg``): ``ts_event`` (the bar's
  open), ``open``, ``high``, ``low``, ``close``, ``volume``.
Prices are fixed-point integers in units of 1e-9; times are ``ts_event``, nanoseconds since the
epoch, exact. Any other schema or record type is an error that names it.

The symbol is the instrument's in the metadata's symbology mappings (for each requested symbol,
which instrument_id it was on which dates; or the other way round) or in ``SymbolMappingMsg``
records (live data), mapped to the instruments table's root: ``ESZ6``, ``ES.FUT`` and ``ES.c.0``
are all ``ES`` (:func:`~tsxbot.sim.marketdata.replay.root_symbol`). One that maps to nothing
replays as ``market.replaySymbol``, else it is an error that names it. When several instruments
map to one symbol on one UTC day (a parent request such as ``ES.FUT`` brings every expiry and
the calendar spreads), only that day's most traded one is kept: the front month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import databento_dbn as dbn

from tsxbot.config.instruments import Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.sim.marketdata.replay import ZSTD_MAGIC, RecordingError, root_symbol

BAR_SCHEMAS = ("ohlcv-1s", "ohlcv-1m", "ohlcv-1h", "ohlcv-1d")  # their rtypes' names too
SCHEMAS = ("trades", *BAR_SCHEMAS)
# Records that carry no market data: heartbeats and gateway notices of live data.
IGNORED = (dbn.SystemMsg, dbn.SystemMsgV1, dbn.ErrorMsg, dbn.ErrorMsgV1)
CHUNK_BYTES = 1 << 20
DAY_NS = 86_400 * 10**9
_EPOCH = dt.date(1970, 1, 1)
_EXPECTED = "expected trades, ohlcv-1s, ohlcv-1m, ohlcv-1h or ohlcv-1d"


def read_dbn(path: Path, config: SimulatorConfig, instruments: Instruments) -> list[dict[str, Any]]:
    """The recording's rows: trades or bars with ``ts_event`` and the instruments-table symbol."""
    with path.open("rb") as handle:
        compressed = handle.read(4) == ZSTD_MAGIC
    if compressed:
        problem = zstd_problem(path)
        if problem is not None:
            raise RecordingError(f"{path}: {problem}")
    # from_str: the stubs type the enum's members as str.
    decoder = dbn.DBNDecoder(compression=dbn.Compression.from_str("zstd" if compressed else "none"))
    reader = _Reader(path, config, instruments)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.write(chunk)
                records = decoder.decode()
            except dbn.DBNError as exc:
                raise RecordingError(f"{path}: not a readable DBN file ({exc})") from None
            for record in records:
                reader.add(record)
    if reader.symbology is None:
        raise RecordingError(f"{path}: truncated or not DBN: no complete metadata header")
    left = len(decoder.buffer())
    if left:
        raise RecordingError(f"{path}: truncated: it ends inside a record ({left} bytes left over)")
    return reader.rows()


class _Symbology:
    """instrument_id -> the recorded symbol (``ESZ6``, or the request's ``ES.FUT``), by date."""

    def __init__(self, metadata: dbn.Metadata) -> None:
        self.spans: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        self.live: dict[int, str] = {}
        for requested, intervals in metadata.mappings.items():
            for interval in intervals:
                mapped = interval["symbol"]
                if mapped.isdigit():  # requested symbol -> instrument_id, the usual direction
                    instrument_id, symbol = int(mapped), requested
                elif requested.isdigit():  # instrument_id -> raw symbol
                    instrument_id, symbol = int(requested), mapped
                else:
                    continue
                start, end = _day(interval["start_date"]), _day(interval["end_date"])
                self.spans[instrument_id].append((start, end, symbol))

    def symbol(self, instrument_id: int, day: int) -> str | None:
        live = self.live.get(instrument_id)
        if live is not None:
            return live
        spans = self.spans.get(instrument_id, [])
        for start, end, symbol in spans:
            if start <= day < end:
                return symbol
        names = {symbol for _, _, symbol in spans}
        return names.pop() if len(names) == 1 else None


def _day(date: dt.date) -> int:
    return (date - _EPOCH).days


class _Reader:
    def __init__(self, path: Path, config: SimulatorConfig, instruments: Instruments) -> None:
        self.path, self.config, self.instruments = path, config, instruments
        self.symbology: _Symbology | None = None
        self.schema: str | None = None
        self.kind: str | None = None  # "trades" or "bars", from the first record
        self._rows: list[dict[str, Any]] = []
        # (symbol, UTC day) -> instrument_id -> volume: which contract is the front one that day.
        self._volume: dict[tuple[str, int], Counter[int]] = defaultdict(Counter)
        self._roots: dict[tuple[int, str | None], str] = {}

    def add(self, record: dbn.DBNRecord | dbn.Metadata) -> None:
        if isinstance(record, dbn.Metadata):
            schema = record.schema
            # The stubs say str; at run time it is a Schema (a str-valued enum).
            self.schema = None if schema is None else str(getattr(schema, "value", schema))
            if self.schema is not None and self.schema not in SCHEMAS:
                raise RecordingError(f"{self.path}: schema {self.schema!r} cannot be replayed ({_EXPECTED})")
            self.symbology = _Symbology(record)
        elif isinstance(record, dbn.TradeMsg):
            if record.price == dbn.UNDEF_PRICE:
                return
            side = record.side
            self._add(
                "trades",
                record.instrument_id,
                record.ts_event,
                record.size,
                {
                    "price": record.price / dbn.FIXED_PRICE_SCALE,
                    "size": record.size,
                    "side": side.value if isinstance(side, dbn.Side) else str(side),
                },
            )
        elif isinstance(record, dbn.OHLCVMsg) and str(record.rtype) in BAR_SCHEMAS:
            scale = dbn.FIXED_PRICE_SCALE
            self._add(
                "bars",
                record.instrument_id,
                record.ts_event,
                record.volume,
                {
                    "open": record.open / scale,
                    "high": record.high / scale,
                    "low": record.low / scale,
                    "close": record.close / scale,
                    "volume": record.volume,
                },
            )
        elif isinstance(record, dbn.SymbolMappingMsg):
            if self.symbology is not None:
                self.symbology.live[record.instrument_id] = record.stype_out_symbol
        elif not isinstance(record, IGNORED):
            rtype = getattr(record, "rtype", None)  # an RType: str() is its name, "mbp-10"
            name = str(rtype) if rtype is not None else type(record).__name__
            raise RecordingError(
                f"{self.path}: {name} records (schema {self.schema or 'mixed'}) cannot be replayed"
                f" ({_EXPECTED})"
            )

    def _add(self, kind: str, instrument_id: int, ts_event: int, volume: int, row: dict[str, Any]) -> None:
        if self.kind is None:
            self.kind = kind
        elif kind != self.kind:
            raise RecordingError(f"{self.path}: mixes trades and bars; replay one or the other")
        symbol = self._root(instrument_id, ts_event)
        row["ts_event"] = ts_event
        row["symbol"] = symbol
        row["instrument_id"] = instrument_id
        self._rows.append(row)
        self._volume[(symbol, ts_event // DAY_NS)][instrument_id] += volume

    def _root(self, instrument_id: int, ts_event: int) -> str:
        assert self.symbology is not None  # the decoder yields the metadata first
        recorded = self.symbology.symbol(instrument_id, ts_event // DAY_NS)
        key = (instrument_id, recorded)
        root = self._roots.get(key)
        if root is None:
            found = root_symbol(recorded, self.instruments) if recorded else None
            found = found or self.config.market.replay_symbol
            if found is None:
                what = f"{recorded!r}" if recorded else "no symbol in the file's mappings"
                raise RecordingError(
                    f"{self.path}: instrument_id {instrument_id} ({what}) is not in the instruments"
                    " table; set simulator.market.replaySymbol to replay it as one"
                )
            root = self._roots[key] = found
        return root

    def rows(self) -> list[dict[str, Any]]:
        """The rows, less the instruments other than each symbol's most traded one of the day."""
        front = {key: counts.most_common(1)[0][0] for key, counts in self._volume.items() if len(counts) > 1}
        if not front:
            return self._rows
        return [
            row
            for row in self._rows
            if front.get((row["symbol"], row["ts_event"] // DAY_NS), row["instrument_id"])
            == row["instrument_id"]
        ]


def zstd_problem(path: Path) -> str | None:
    """What is wrong with a zstd file's framing (a cut-off download), read from its block headers
    without decompressing; None when every frame is whole. The decoder alone cannot tell: it
    yields the records of the blocks it got and waits for more."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        while True:
            magic = handle.read(4)
            if not magic:
                return None
            if len(magic) < 4:
                return "truncated: it ends inside a zstd frame header"
            number = int.from_bytes(magic, "little")
            if 0x184D2A50 <= number <= 0x184D2A5F:  # a skippable frame: its length, then data
                length = handle.read(4)
                if len(length) < 4:
                    return "truncated: it ends inside a zstd frame header"
                handle.seek(int.from_bytes(length, "little"), 1)
            elif magic == ZSTD_MAGIC:
                descriptor = handle.read(1)
                if not descriptor:
                    return "truncated: it ends inside a zstd frame header"
                flags = descriptor[0]
                single_segment = (flags >> 5) & 1
                header = (
                    (0 if single_segment else 1)  # window descriptor
                    + (0, 1, 2, 4)[flags & 3]  # dictionary id
                    + (single_segment, 2, 4, 8)[flags >> 6]  # frame content size
                )
                handle.seek(header, 1)
                while True:
                    block = handle.read(3)
                    if len(block) < 3:
                        return "truncated: it ends inside a zstd frame"
                    value = int.from_bytes(block, "little")
                    block_type, block_size = (value >> 1) & 3, value >> 3
                    handle.seek(1 if block_type == 1 else block_size, 1)  # type 1: one byte, repeated
                    if value & 1:  # the frame's last block
                        break
                if (flags >> 2) & 1:  # content checksum
                    handle.seek(4, 1)
            else:
                return "not zstd-compressed DBN: a frame does not start with zstd's magic number"
            if handle.tell() > size:
                return "truncated: it ends inside a zstd frame"

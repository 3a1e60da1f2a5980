"""Bad data files are a clear ``DataError`` naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsxbot.backtest import DataError, load_bars
from tsxbot.config import DEFAULTS_DIR, load_config

CONFIG = load_config(DEFAULTS_DIR, env={})


def _load(path: Path) -> object:
    return load_bars([path], "MES", CONFIG.global_config.simulator, CONFIG.instruments)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,price,size,symbol\n2026-11-24T15:00:00Z,abc,1,MES\n", "a record cannot be read"),
        ("timestamp,open,high,low,close,volume\n2026-11-24T15:00:00Z,1,2,x,1,3\n", "a record cannot be read"),
        ("nothing,here\n1,2\n", "no time column"),
        ("", "no records"),
        ("timestamp,price,size,symbol\n2026-11-24T15:00:00Z,5000,1,ZZZ\n", "unknown symbol"),
        ("timestamp,price,size,symbol\nyesterday,5000,1,MES\n", "a record cannot be read"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        _load(path)
    assert str(path) in str(info.value)


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=',\n\r"'), max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(time=cell, price=cell, size=cell)
def test_generated_records_load_or_fail_clearly(tmp_path: Path, time: str, price: str, size: str) -> None:
    path = tmp_path / "gen.csv"
    path.write_text(
        f"timestamp,price,size,symbol\n{time},{price},{size},MES\n2026-11-24T15:01:00Z,5000,1,MES\n"
    )
    try:
        bars = _load(path)
    except DataError as exc:
        assert str(path) in str(exc)
    else:
        assert len(bars) >= 1  # type: ignore[arg-type]


def test_a_file_without_a_symbol_column_is_the_bots_symbol(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("timestamp,price,size\n2026-11-24T15:00:00Z,5000,1\n2026-11-24T15:01:30Z,5000.25,2\n")
    bars = load_bars([path], "MES", CONFIG.global_config.simulator, CONFIG.instruments)
    assert bars.symbol == "MES" and len(bars) == 2 and bars.has_prints

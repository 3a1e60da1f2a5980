"""Logging: JSON lines per component and date, rotation, retention, console rendering, redaction."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsxbot.log import _SENSITIVE_TEXT, REDACTED, DailyFileHandler, Redactor, configure_logging, get_logger

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0cmFkZXIiLCJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def read_lines(directory: Path) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for path in sorted(directory.glob("*.log")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def test_json_lines_in_component_directory_named_by_date(tmp_path: Path) -> None:
    console = io.StringIO()
    configure_logging("connectionmanager", log_dir=tmp_path, console="console", console_stream=console)
    get_logger("tsxbot.test").info("order placed", order_id="o-1", quantity=2)
    logging.getLogger("thirdparty").warning("plain stdlib record")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    path = tmp_path / "connectionmanager" / f"{today}.log"
    assert path.is_file()
    records = read_lines(path.parent)
    assert records[0]["event"] == "order placed"
    assert records[0]["order_id"] == "o-1"
    assert records[0]["level"] == "info"
    assert records[0]["component"] == "connectionmanager"
    assert str(records[0]["timestamp"]).endswith("Z")
    assert records[1]["event"] == "plain stdlib record"
    assert records[1]["level"] == "warning"
    # The console gets a human rendering, not JSON.
    text = console.getvalue()
    assert "order placed" in text
    assert not text.lstrip().startswith("{")


def test_levels_filter(tmp_path: Path) -> None:
    configure_logging("lvl", log_dir=tmp_path, level="WARNING", console=None)
    log = get_logger("x")
    log.info("hidden")
    log.warning("shown")
    assert [r["event"] for r in read_lines(tmp_path / "lvl")] == ["shown"]


def test_secrets_are_redacted_everywhere(tmp_path: Path) -> None:
    console = io.StringIO()
    configure_logging(
        "redact", log_dir=tmp_path, console="json", console_stream=console, secrets=["my-api-key-value-123"]
    )
    log = get_logger("x")
    log.info(
        "connecting",
        url=f"wss://rtc.example/hubs/user?access_token={JWT}&x=1",
        token=JWT,
        api_key="my-api-key-value-123",
        headers={"Authorization": f"Bearer {JWT}", "Accept": "text/plain"},
        note="the key my-api-key-value-123 was used",
        nested=[{"password": "hunter2"}],
    )
    try:
        raise RuntimeError(f"login failed for token {JWT}")
    except RuntimeError:
        log.exception("failure")
    everything = console.getvalue() + "".join(p.read_text() for p in (tmp_path / "redact").glob("*.log"))
    for secret in (JWT, "my-api-key-value-123", "hunter2"):
        assert secret not in everything
    record = read_lines(tmp_path / "redact")[0]
    assert record["token"] == REDACTED
    assert record["api_key"] == REDACTED
    assert record["url"] == f"wss://rtc.example/hubs/user?access_token={REDACTED}&x=1"
    assert record["headers"] == {"Authorization": REDACTED, "Accept": "text/plain"}
    assert record["note"] == f"the key {REDACTED} was used"
    assert record["nested"] == [{"password": REDACTED}]


def make_record(created: dt.datetime, message: str) -> logging.LogRecord:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    record.created = created.timestamp()
    return record


def test_rotates_by_size_within_a_day(tmp_path: Path) -> None:
    handler = DailyFileHandler(tmp_path, max_bytes=200, retention_days=14)
    handler.setFormatter(logging.Formatter("%(message)s"))
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    for i in range(10):
        handler.emit(make_record(now, f"line {i:02d} " + "x" * 40))
    handler.close()

    def part(path: Path) -> int:  # 2026-11-24.log -> 0, 2026-11-24.3.log -> 3
        middle = path.name[len("2026-11-24") : -len(".log")]
        return int(middle[1:]) if middle else 0

    files = sorted(tmp_path.iterdir(), key=part)
    assert files[0].name == "2026-11-24.log"
    assert [part(f) for f in files] == list(range(len(files)))
    assert len(files) >= 3
    assert all(f.stat().st_size <= 200 for f in files)
    lines = [ln for f in files for ln in f.read_text().splitlines()]
    assert [ln[:7] for ln in lines] == [f"line {i:02d}" for i in range(10)]


def test_rolls_over_at_midnight_and_prunes_old_days(tmp_path: Path) -> None:
    old = tmp_path / "2026-10-01.log"
    old.write_text("old\n")
    recent = tmp_path / "2026-11-20.log"
    recent.write_text("recent\n")
    handler = DailyFileHandler(tmp_path, retention_days=14)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit(make_record(dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC), "before midnight"))
    handler.emit(make_record(dt.datetime(2026, 11, 25, 0, 0, 1, tzinfo=dt.UTC), "after midnight"))
    handler.close()
    assert (tmp_path / "2026-11-24.log").read_text() == "before midnight\n"
    assert (tmp_path / "2026-11-25.log").read_text() == "after midnight\n"
    assert not old.exists()
    assert recent.exists()


def test_restart_appends_to_todays_file(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    for message in ("first run", "second run"):
        handler = DailyFileHandler(tmp_path)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.emit(make_record(now, message))
        handler.close()
    assert (tmp_path / "2026-11-24.log").read_text() == "first run\nsecond run\n"


def test_httpx_request_lines_only_when_debugging(tmp_path: Path) -> None:
    """httpx logs every request at INFO; the gateway makes several a minute."""
    configure_logging("quiet", log_dir=tmp_path, console=None, level="INFO")
    logging.getLogger("httpx").info("HTTP Request: POST /api/Order/search")
    assert not (tmp_path / "quiet").exists() or read_lines(tmp_path / "quiet") == []
    configure_logging("loud", log_dir=tmp_path, console=None, level="DEBUG")
    logging.getLogger("httpx").info("HTTP Request: POST /api/Order/search")
    assert [r["event"] for r in read_lines(tmp_path / "loud")] == ["HTTP Request: POST /api/Order/search"]


@pytest.mark.parametrize("library", ["pysignalr.transport", "websockets.client"])
def test_hub_client_connection_chatter_only_when_debugging(tmp_path: Path, library: str) -> None:
    """pysignalr logs every connection step at INFO ("State change: ...")."""
    configure_logging("quiet", log_dir=tmp_path, console=None, level="INFO")
    logging.getLogger(library).info("State change: disconnected -> connecting")
    logging.getLogger(library).warning("connection lost")
    assert [r["event"] for r in read_lines(tmp_path / "quiet")] == ["connection lost"]
    configure_logging("loud", log_dir=tmp_path, console=None, level="DEBUG")
    logging.getLogger(library).info("State change: disconnected -> connecting")
    assert [r["event"] for r in read_lines(tmp_path / "loud")] == ["State change: disconnected -> connecting"]


_PIECES = st.sampled_from(
    [
        "eyJ",
        "eyJhbGciOi.eyJzdWIiOjE.sig",
        "access_token=",
        "ACCESS_TOKEN=abc",
        "Bearer ",
        "bearer\tx",
        "bEaReR  y.z",
        "eyj",
        "?",
        "&",
        " ",
        "=",
        "token",
        "abc",
        ".",
        "-",
        "_",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12).map("".join))
def test_the_quick_check_never_skips_a_string_the_patterns_would_mask(text: str) -> None:
    # clean_text runs the patterns only when one pass says one could match: the answer must be
    # the same as running every pattern on every string.
    expected = text
    for pattern, repl in _SENSITIVE_TEXT:
        expected = pattern.sub(repl, expected)
    assert Redactor().clean_text(text) == expected

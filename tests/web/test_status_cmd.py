"""``tsxbot status`` against a running aggregator's monitoring port (real simulator, in process):
the table shows the state and why, the account, each bot, the open position with its working
orders; a refused key and a port nobody listens on say so in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.agg_harness import AggHarness
from support.cm_harness import API_KEY
from support.redis_server import free_port
from tsxbot.cli import main
from tsxbot.messages import PositionUpdate


async def test_status_prints_the_dashboards_essentials(
    agg: AggHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    aggregator = await agg.start()
    assert aggregator.monitoring is not None
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="s1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # no .tsxbot/ key file here
    url = f"http://127.0.0.1:{aggregator.monitoring.port}"
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    code = await asyncio.to_thread(main, ["status", "--once", "--url", url, "--key-file", str(key_file)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "tsxbot ACTIVE" in out
    assert f"${aggregator.engine.balance:,.2f}" in out  # the account's balance, after the entry's fee
    for bot in ("bot_1", "bot_2", "bot_3"):
        assert bot in out
    positions = out[out.index("Positions and working orders") : out.index("Health")]
    rows = [
        [c.strip() for c in line.strip("│ ").split("│")] for line in positions.splitlines() if "bot_2" in line
    ]
    avg = aggregator.positions.get("bot_2", "MES").average_price
    assert rows == [["bot_2", "MES", "1", f"{avg:.2f}", "2"]]  # its stop and target are working
    assert "aggregator" in out and "ok" in out

    key_file.write_text("wrong-key\n")
    code = await asyncio.to_thread(main, ["status", "--once", "--url", url, "--key-file", str(key_file)])
    assert code == 2 and "refused the key (401)" in capsys.readouterr().err

    nobody = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("TSXBOT_VIEWER_KEY", API_KEY)
    code = await asyncio.to_thread(main, ["status", "--once", "--url", nobody])
    assert code == 1 and f"no answer from {nobody}" in capsys.readouterr().err


def test_status_without_any_key_says_where_to_put_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TSXBOT_VIEWER_KEY", "TSXBOT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--once", "--url", "http://127.0.0.1:1"]) == 2
    assert "no key: set TSXBOT_VIEWER_KEY" in capsys.readouterr().err

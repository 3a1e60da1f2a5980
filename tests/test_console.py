"""What ``run-all`` tells a person on the console: one block saying what runs where (as ``tsxbot
sim`` does), then each fill and closed trade as one readable line; no connection chatter."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import httpx
import msgspec
import pytest

from support.cm_harness import place
from support.processes import Output, Ports, clean_env, tsxbot_cmd
from support.sim import START


@pytest.mark.slow
def test_run_all_prints_where_everything_is_and_each_fill(tmp_path: Path) -> None:
    ports = Ports.free()  # every service off its default port
    cm_port = ports.connection_manager
    process = subprocess.Popen(
        [
            *tsxbot_cmd(),
            "run-all",
            *ports.overrides(),
            "--set",
            f"simulator.startTime={START}",
            "--set",
            f"system.logDir={tmp_path / 'logs'}",
        ],
        cwd=tmp_path,
        env=clean_env(),  # no TSXBOT_API_KEY: run-all generates one and says where it is
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = Output(process)
        output.wait_for(r"Ctrl-C stops it\.$")
        banner = output.text[output.text.index("tsxbot run-all: every service is up") :]
        sim = re.search(r"^  simulator +http://127\.0\.0\.1:(\d+) ", banner, re.M)
        cm = re.search(r"^  connection manager +http://127\.0\.0\.1:(\d+) ", banner, re.M)
        assert sim is not None and cm is not None, banner
        assert int(cm.group(1)) == cm_port
        key_file = tmp_path / ".tsxbot" / "internal-api-key"
        assert f"  internal API key    stored in {key_file}" in banner
        assert "  simulator login     userName='demo' apiKey='demo'" in banner
        assert f"  logs                {tmp_path / 'logs'}/<component>/<date>.log" in banner
        assert "  simulated clock     2026-11-24T15:30" in banner
        assert httpx.get(f"http://127.0.0.1:{sim.group(1)}/api/Status/ping").status_code == 200

        key = key_file.read_text().strip()
        with httpx.Client(base_url=f"http://127.0.0.1:{cm_port}", headers={"X-API-Key": key}) as http:
            buy = {
                "type": "PLACE_ORDER",
                "payload": msgspec.to_builtins(place("con1", stop=None, target=None)),
            }
            assert http.post("/command", json=buy, timeout=15).json()["ok"] is True
            fill = output.wait_for(r"\[info +\] filled BUY 1 MES @ (\d+(\.\d+)?) for bot_2 ")
            assert float(fill.group(1)) > 0
            close = {"type": "CLOSE_POSITION", "payload": {"commandId": "con-close", "symbol": "MES"}}
            assert http.post("/command", json=close, timeout=15).json()["ok"] is True
            output.wait_for(r"\[info +\] filled SELL 1 MES @ ")
            output.wait_for(
                r"\[info +\] trade closed MES.*: P&L [+-]\d+\.\d\d \(fees \d+\.\d\d, net [+-]\d+\.\d\d\)"
            )
        # pysignalr's connection steps are DEBUG: not on an INFO console.
        assert "State change" not in output.text
        assert "Performing negotiation" not in output.text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, output.text

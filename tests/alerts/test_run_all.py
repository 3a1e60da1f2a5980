"""``run-all`` with alerts configured, as a person runs it (simulator at a pinned moment, every
port free): the banner names the channels, a fill reaches the webhook, and /status, /flatten and
/confirm from Telegram act on the running system through its aggregator."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from pathlib import Path

import httpx
import msgspec
import pytest

from support.alerts_setup import API_KEY, CHAT, env_for
from support.bus_helpers import eventually
from support.chat_servers import ChatServers
from support.cm_harness import place
from support.processes import PINNED, Ports, clean_env, running


def lines_of(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines


@pytest.mark.slow
async def test_run_all_sends_alerts_and_obeys_telegram(tmp_path: Path, servers: ChatServers) -> None:
    ports = Ports.free()
    sets = [
        f"system.logDir={tmp_path / 'logs'}",
        f"journal.url=sqlite:///{tmp_path / 'journal.db'}",
        "alerts.enabled=true",
        "alerts.telegram.enabled=true",
        f"alerts.telegram.chatIds=[{CHAT}]",
        "alerts.telegram.minLevel=CRITICAL",
        f"alerts.telegram.apiUrl={servers.base}",
        "alerts.telegram.pollTimeoutSeconds=1",
        "alerts.webhook.enabled=true",
        "alerts.coalesceSeconds=0.1",
        "risk.flattenAt=null",
    ]
    args = [arg for s in sets for arg in ("--set", s)]
    env = clean_env(**env_for(servers))
    with running("run-all", *ports.overrides(), *PINNED, *args, cwd=tmp_path, env=env) as process:
        lines = lines_of(process)

        def printed(pattern: str) -> bool:
            assert process.poll() is None, "\n".join(lines)
            return any(re.search(pattern, line) for line in list(lines))

        await eventually(lambda: printed(r"Ctrl-C stops it\.$"), within=60, what="run-all up")
        assert printed(r"^  alerts +telegram:42, webhook; Telegram commands on$"), "\n".join(lines)

        cm = f"http://127.0.0.1:{ports.connection_manager}"
        async with httpx.AsyncClient(base_url=cm, headers={"X-API-Key": API_KEY}, timeout=15) as http:
            buy = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("ra1", quantity=2))}
            assert (await http.post("/command", json=buy)).json()["ok"] is True

            def alerted(text: str) -> bool:
                return any(text in t for t in servers.texts("webhook"))

            await eventually(lambda: alerted("filled BUY 2 MES"), within=20, what="the fill on the webhook")

            async def flat() -> bool:
                positions = (await http.get("/api/positions")).json()["positions"]
                return not [p for p in positions if p.get("netQuantity")]

            assert not await flat()  # the buy is held
            servers.push_message(CHAT, "/status")
            await eventually(lambda: len(servers.telegram.get(CHAT, [])) >= 1, within=20)
            assert servers.telegram[CHAT][0].startswith("trading ACTIVE"), servers.telegram[CHAT]
            servers.push_message(CHAT, "/flatten")
            await eventually(lambda: len(servers.telegram[CHAT]) >= 2, within=20)
            code = re.search(r"/confirm (\d+)", servers.telegram[CHAT][1])
            assert code is not None
            servers.push_message(CHAT, f"/confirm {code.group(1)}")
            await eventually(lambda: len(servers.telegram[CHAT]) >= 3, within=20)
            assert servers.telegram[CHAT][2].startswith("flattening"), servers.telegram[CHAT]

            for _ in range(100):
                if await flat():
                    break
                await asyncio.sleep(0.2)
            assert await flat()
            await eventually(lambda: alerted("filled SELL 2 MES"), within=20, what="the flatten's fill")
            await eventually(lambda: alerted("trading HALTED (was ACTIVE)"), within=20)

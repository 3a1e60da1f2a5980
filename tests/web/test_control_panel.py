"""The control panel's server in process, in front of a real aggregator (on the simulator): its
data and actions need a session (with the CSRF token) or a key, a role below the aggregator's rule
is refused before anything is forwarded, an aggregator that does not answer is a 503 saying nothing
was done, a Redis password never shows in the configuration, and generated hostile requests never
get a 5xx (a good action right after still works)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.agg_harness import AggHarness
from support.cm_harness import API_KEY
from support.redis_server import free_port
from tsxbot.config.secrets import Secret
from tsxbot.control_panel import ControlPanel
from tsxbot.control_panel.logs import components, read_logs
from tsxbot.messages import BotCommand, channels


@pytest.fixture
async def panel(agg: AggHarness) -> AsyncIterator[ControlPanel]:
    aggregator = await agg.start()
    assert aggregator.api is not None
    api, cm = aggregator.api, agg.cm.managers[-1].api
    config = aggregator.config
    served = ControlPanel(
        config,
        Secret(API_KEY),
        lambda: f"http://127.0.0.1:{api.port}",
        lambda: f"http://127.0.0.1:{cm.port}",
        bus=await agg.cm.bus(),
        host="127.0.0.1",
        port=0,
    )
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


async def test_actions_go_through_the_aggregator_with_the_session_role_and_token(
    agg: AggHarness, panel: ControlPanel
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{panel.port}", timeout=10) as http:
        assert (await http.get("/api/overview")).status_code == 401
        login = await http.post("/auth/login", json={"key": API_KEY})
        csrf = login.json()["csrfToken"]
        overview = (await http.get("/api/overview")).json()
        assert [s["ok"] for s in overview["services"]] == [True, True, True]
        assert {b["botId"] for b in overview["bots"]} == {"bot_1", "bot_2", "bot_3", "manual"}
        assert (await http.post("/api/aggregator/halt", json={"reason": "x"})).status_code == 403  # no token
        assert agg.agg.account.state_name == "ACTIVE"
        halted = await http.post(
            "/api/aggregator/halt", json={"reason": "news"}, headers={"X-CSRF-Token": csrf}
        )
        assert halted.status_code == 200 and halted.json()["tradingState"] == "HALTED"
        halt = next(e for e in agg.agg.account.events if e.kind == "HALT")
        assert halt.requested_by == "control panel (admin)" and halt.message == "news"
        unknown = await http.post("/api/aggregator/bots/nobody/pause", headers={"X-CSRF-Token": csrf})
        assert unknown.status_code == 404 and "unknown bot" in unknown.json()["error"]
        shown = (await http.get("/api/config")).json()
        assert shown["secrets"]["internal_api_key"]["value"] != API_KEY


async def test_bot_commands_go_on_the_bots_control_channel_with_the_role_each_needs(
    agg: AggHarness, panel: ControlPanel
) -> None:
    bus = await agg.cm.bus()
    control = await bus.subscribe(channels.bot_control("bot_2"), group="test-control")
    env = {
        "TSXBOT_TRADER_KEY": "panel-trader-key-0123456789",
    }
    panel.auth.keyring.env.update(env)
    panel.auth.keyring.reload()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{panel.port}", timeout=10) as http:
        trader = {"X-API-Key": env["TSXBOT_TRADER_KEY"]}
        admin = {"X-API-Key": API_KEY}
        refused = await http.post("/api/bots/bot_2/pause", headers=trader)
        assert refused.status_code == 403 and "needs the admin role" in refused.json()["error"]
        assert (await http.post("/api/bots/nobody/pause", headers=admin)).status_code == 404
        assert (await http.post("/api/bots/bot_2/explode", headers=admin)).status_code == 404
        flatten = await http.post("/api/bots/bot_2/flatten", headers=trader)  # a trader's
        assert flatten.status_code == 202
        paused = await http.post("/api/bots/bot_2/pause", headers=admin)
        assert paused.status_code == 202
    received = []
    async with asyncio.timeout(10):
        async for message in control:
            received.append(message.envelope.payload)
            await message.ack()
            if len(received) == 2:
                break
    await control.close()
    assert [(c.bot_id, c.command) for c in received] == [
        ("bot_2", BotCommand.FLATTEN),
        ("bot_2", BotCommand.PAUSE),
    ]
    assert received[1].command_id == paused.json()["commandId"]


async def test_params_are_checked_by_the_configs_rules_before_a_reload_is_sent(
    agg: AggHarness, panel: ControlPanel
) -> None:
    bus = await agg.cm.bus()
    control = await bus.subscribe(channels.bot_control("bot_2"), group="test-params")
    admin = {"X-API-Key": API_KEY}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{panel.port}", headers=admin, timeout=10
    ) as http:
        form = (await http.get("/api/bots/bot_2/params")).json()["fields"]
        fields = {f["name"]: f for f in form}
        configured = agg.agg.config.bots["bot_2"].params
        assert fields["fastPeriod"] | {"help": ""} == {
            "name": "fastPeriod",
            "kind": "integer",
            "choices": None,
            "nullable": False,
            "minimum": 1,
            "above": None,
            "maximum": 10000,
            "help": "",
            "value": configured.fast_period,  # type: ignore[attr-defined]
        }
        assert fields["dollarRiskPerTrade"]["above"] == 0 and fields["entry"]["kind"] == "choice"
        assert fields["trendFilterPeriod"]["nullable"] is True
        bad = await http.post("/api/bots/bot_2/params", json={"changes": {"dollarRiskPerTrade": -5}})
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("strategy.params.dollarRiskPerTrade:")
        unknown = await http.post("/api/bots/bot_2/params", json={"changes": {"noSuchParam": 1}})
        assert unknown.status_code == 400 and "strategy.params.noSuchParam" in unknown.json()["error"]
        frame = await http.post("/api/bots/bot_2/params", json={"changes": {"timeframe": "5m"}})
        assert frame.status_code == 400 and "restart it" in frame.json()["error"]
        assert (await http.post("/api/bots/bot_2/params", json={"changes": {}})).status_code == 400
        assert (await http.post("/api/bots/nobody/params", json={"changes": {"x": 1}})).status_code == 404
        good = await http.post("/api/bots/bot_2/params", json={"changes": {"fastPeriod": 8}})
        assert good.status_code == 202 and good.json()["command"] == "RELOAD"
    async with asyncio.timeout(10):
        message = await anext(aiter(control))
    await message.ack()
    await control.close()
    sent = message.envelope.payload
    assert (sent.command, sent.params) == (BotCommand.RELOAD, {"fastPeriod": 8})  # only the valid one


async def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte_and_nothing_is_sent(
    agg: AggHarness, panel: ControlPanel
) -> None:
    """Invalid UTF-8 in an unknown key (login, an aggregator action, a bot's params): a 400 naming
    the byte from the shared body decoder; no session, no halt, no RELOAD on the bot's channel."""
    bus = await agg.cm.bus()
    control = await bus.subscribe(channels.bot_control("bot_2"), group="test-utf8")
    json_type = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{panel.port}", timeout=10) as http:
        login = await http.post("/auth/login", content=b'{"key":"x","\xff":1}', headers=json_type)
        assert login.status_code == 400 and "not UTF-8" in login.json()["error"], login.text
        assert "at byte 12)" in login.json()["error"] and not http.cookies
        admin = {"X-API-Key": API_KEY, **json_type}
        for path, body, at in (
            ("/api/aggregator/halt", b'{"reason":"x","by\xff":1}', 17),
            ("/api/bots/bot_2/params", b'{"changes":{"fastPeriod":8},"x\xfe":1}', 30),
        ):
            answer = await http.post(path, content=body, headers=admin)
            assert answer.status_code == 400, (path, answer.text)
            assert f"not UTF-8 (invalid start byte at byte {at})" in answer.json()["error"], answer.text
        assert agg.agg.account.state_name == "ACTIVE"
        assert not [e for e in agg.agg.account.events if e.kind == "HALT"]
        good = await http.post("/api/bots/bot_2/pause", headers=admin)  # the first on the channel
        assert good.status_code == 202
    async with asyncio.timeout(10):
        message = await anext(aiter(control))
    await message.ack()
    await control.close()
    assert message.envelope.payload.command == BotCommand.PAUSE


async def test_an_aggregator_that_does_not_answer_is_a_503_and_nothing_is_done(agg: AggHarness) -> None:
    aggregator = await agg.start()
    dead = free_port()
    served = ControlPanel(
        aggregator.config,
        Secret(API_KEY),
        lambda: f"http://127.0.0.1:{dead}",
        lambda: f"http://127.0.0.1:{dead}",
        port=0,
    )
    await served.start()
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{served.port}", headers={"X-API-Key": API_KEY}, timeout=10
        ) as http:
            refused = await http.post("/api/aggregator/flatten")
            assert refused.status_code == 503 and "nothing was done" in refused.json()["error"]
            overview = (await http.get("/api/overview")).json()
            assert [s["ok"] for s in overview["services"][:2]] == [False, False]
            assert overview["tradingState"] == "UNKNOWN"
    finally:
        await served.stop()


def _fuzz(base: str, csrf: str, token: str, port: int, tally: dict[int, int]) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:

        @settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(
            st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
            st.sampled_from(
                [
                    "/api/overview",
                    "/api/config",
                    "/api/aggregator/pause",
                    "/api/aggregator/bots/bot_3/pause",
                    "/api/aggregator/bots/%00/pause",
                    "/api/aggregator/resume",
                    "/api/bots/bot_3/pause",
                    "/api/bots/bot_3/nothing",
                    "/api/bots/%2e%2e/stop",
                    "/api/bots/bot_3/params",
                    "/api/logs?level=loud",
                    "/api/logs?component=..%2F..&limit=x",
                    "/auth/login",
                ]
            )
            | st.text(alphabet="/abcdefgh.%?=&", min_size=1, max_size=30).map(lambda p: "/" + p),
            st.one_of(
                st.binary(max_size=80),
                st.sampled_from(
                    [b'{"reason": 1}', b'{"reason": "' + b"x" * 2000 + b'"}', b'{"other": 1}', b"[]"]
                ),
            ),
            st.booleans(),
            st.booleans(),
        )
        def one(method: str, path: str, body: bytes, with_session: bool, with_csrf: bool) -> None:
            http.cookies.clear()
            if with_session:
                http.cookies.set(f"tsxbot_session_{port}", token)
            headers = {"X-CSRF-Token": csrf} if with_csrf else {}
            response = http.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (method, path, body, response.status_code, response.text)
            tally[response.status_code] = tally.get(response.status_code, 0) + 1

        one()
        http.cookies.set(f"tsxbot_session_{port}", token)
        good = http.post(
            "/api/aggregator/bots/bot_2/pause", json={"reason": "after"}, headers={"X-CSRF-Token": csrf}
        )
        assert good.status_code == 200, good.text


@pytest.mark.slow
async def test_generated_hostile_requests_never_get_a_5xx(agg: AggHarness, panel: ControlPanel) -> None:
    base = f"http://127.0.0.1:{panel.port}"
    async with httpx.AsyncClient(base_url=base) as http:
        csrf = (await http.post("/auth/login", json={"key": API_KEY})).json()["csrfToken"]
        token = http.cookies[f"tsxbot_session_{panel.port}"]
    tally: dict[int, int] = {}
    await asyncio.wait_for(asyncio.to_thread(_fuzz, base, csrf, token, panel.port, tally), timeout=240)
    assert tally.get(401, 0) > 10 and tally.get(403, 0) > 10 and tally.get(400, 0) > 5, tally
    assert agg.agg.registry.get("bot_2") is not None and agg.agg.registry.get("bot_2").paused  # type: ignore[union-attr]


def test_the_log_view_filters_by_level_and_component(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "aggregator").mkdir(parents=True)
    (logs / "bots").mkdir()
    lines = {
        "aggregator": [
            {
                "event": "started",
                "level": "info",
                "timestamp": "2026-11-24T15:30:00Z",
                "component": "aggregator",
            },
            {"event": "halted", "level": "warning", "timestamp": "2026-11-24T15:30:02Z", "why": "news"},
        ],
        "bots": [
            {"event": "signal", "level": "debug", "timestamp": "2026-11-24T15:30:01Z"},
            {"event": "refused", "level": "error", "timestamp": "2026-11-24T15:30:03Z", "bot": "bot_2"},
        ],
    }
    for component, records in lines.items():
        text = "\n".join(json.dumps(r) for r in records) + "\nnot json at all\n"
        (logs / component / "2026-11-24.log").write_text(text)
    (logs / "aggregator" / "2026-11-23.log").write_text(json.dumps({"event": "yesterday", "level": "error"}))
    os.utime(logs / "aggregator" / "2026-11-23.log", (0, 0))  # older: not the newest file

    assert components(logs) == ["aggregator", "bots"]
    warnings = read_logs(logs, "warning")
    assert [(e["component"], e["event"], e["fields"]) for e in warnings] == [
        ("aggregator", "halted", {"why": "news"}),
        ("bots", "refused", {"bot": "bot_2"}),
    ]
    everything = read_logs(logs, "debug", "bots")
    assert [e["event"] for e in everything] == ["not json at all", "signal", "refused"]  # "" sorts first
    assert [e["event"] for e in read_logs(logs, "info", limit=2)] == ["halted", "refused"]
    with pytest.raises(ValueError, match="level: one of debug"):
        read_logs(logs, "loud")
    with pytest.raises(ValueError, match="component: one of aggregator, bots"):
        read_logs(logs, "info", "../etc")

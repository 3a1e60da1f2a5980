"""Malformed and absurd commands: a 4xx naming what is wrong (or a typed refusal), nothing left in
the command journal, nothing sent to TopStepX, and no effect on the next good order."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness, place
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.order_checks import ImplausibleOrderError, allows_negative_prices, check_place
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.messages import CommandFailure, Fill, OrderType, PlaceOrder, Side

KEY = {"X-API-Key": API_KEY, "Content-Type": "application/json"}


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[tuple[ConnectionManager, httpx.AsyncClient]]:
    manager = await harness.start_manager()
    await harness.start_observer()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{manager.api.port}", timeout=10) as http:
        yield manager, http


def command(tag: str, **fields: Any) -> dict[str, Any]:
    payload = msgspec.to_builtins(place(tag, stop=None, target=None))
    payload.update(fields)
    return {"type": "PLACE_ORDER", "payload": payload}


async def nothing_journaled(manager: ConnectionManager, command_id: str) -> bool:
    """No entry under the command id (claiming it now finds none)."""
    return (await manager.executor.journal.claim(command_id)).new


async def good_order_fills(h: Harness, http: httpx.AsyncClient, tag: str) -> None:
    response = await http.post("/command", json=command(tag), headers=KEY)
    assert response.status_code == 200, response.text
    order_id = response.json()["exchangeOrderId"]
    await eventually(
        lambda: any(f.exchange_order_id == order_id for f in h.payloads(Fill)),
        within=10,
        what="the good fill",
    )


async def test_malformed_commands_are_4xx_naming_the_problem_and_leave_no_journal_entry(
    harness: Harness, api: tuple[ConnectionManager, httpx.AsyncClient]
) -> None:
    manager, http = api
    body = msgspec.json.encode(command("utf8"))
    invalid_utf8 = body.replace(b'"bot_2-utf8"', b'"bot_2-\xff\xfe"')
    response = await http.post("/command", content=invalid_utf8, headers=KEY)
    assert response.status_code == 400, response.text
    assert "UTF-8" in response.json()["error"]
    # msgspec skips a key the command does not have (a corrupted optional field's name, an unknown
    # field) without checking its UTF-8: the body as a whole must be UTF-8, or the order goes through.
    key = msgspec.json.encode(command("utf8-key")).replace(b'"orderType"', b'"order\xffType"')
    unknown = msgspec.json.encode(command("utf8-unknown"))[:-2] + b',"note":"\xed\xa0\x80"}}'
    for tag, corrupted in (("utf8-key", key), ("utf8-unknown", unknown)):
        response = await http.post("/command", content=corrupted, headers=KEY)
        assert response.status_code == 400, (tag, response.text)
        assert "UTF-8" in response.json()["error"], tag
        assert await nothing_journaled(manager, f"cmd-{tag}"), tag

    deep = b'{"type": "PLACE_ORDER", "payload": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    response = await http.post("/command", content=deep, headers=KEY)
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["error"]
    deep_payload = b'{"type": "PLACE_ORDER", "payload": {"commandId": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
    assert (await http.post("/command", content=deep_payload, headers=KEY)).status_code == 400

    for field, value, limit in (
        ("stopLossTicks", 2**63, "2147483647"),
        ("takeProfitTicks", 2**64 + 5, "2147483647"),
        ("stopLossTicks", 4294967296, "2147483647"),
        ("quantity", 10**400, "1000"),
        ("quantity", 1001, "1000"),
        ("quantity", 0, ">= 1"),
        ("accountId", 2**40, "2147483647"),
        ("limitPrice", 1e300, "1000000000"),
    ):
        tag = f"{field}-{value % 997}"
        response = await http.post("/command", json=command(tag, **{field: value}), headers=KEY)
        assert response.status_code == 400, (field, response.text)
        error = response.json()["error"]
        assert field in error and limit in error.replace(".0", "").replace("1e+09", "1000000000"), (
            field,
            error,
        )
        assert await nothing_journaled(manager, f"cmd-{tag}"), field
    for raw in (b"", b"   ", b"{nope", b"\xff\xfe", b"[1, 2", b'{"type": "PLACE_ORDER"}', b"null"):
        response = await http.post("/command", content=raw, headers=KEY)
        assert response.status_code == 400, (raw, response.text)
        assert response.json()["error"], raw
    assert (
        (await http.post("/command", content=b"", headers=KEY))
        .json()["error"]
        .startswith("empty request body")
    )
    too_big = b'{"type": "PLACE_ORDER", "payload": {"commandId": "' + b"x" * 3_000_000 + b'"}}'
    assert (await http.post("/command", content=too_big, headers=KEY)).status_code == 413
    assert manager.executor.executed == 0  # nothing reached the executor
    await good_order_fills(harness, http, "after-garbage")


async def test_absurd_bracket_and_price_values_are_refused_by_name(
    harness: Harness, api: tuple[ConnectionManager, httpx.AsyncClient]
) -> None:
    manager, http = api
    contract = manager.contracts.contract_id("MES")
    await eventually(lambda: manager.normalizer.last_price(contract) is not None, what="a last price")
    last = manager.normalizer.last_price(contract)
    assert last is not None
    # Within 32 bits, but the long's stop would sit far below zero.
    response = await http.post("/command", json=command("deep-stop", stopLossTicks=2**31 - 1), headers=KEY)
    assert response.status_code == 422, response.text
    result = response.json()
    assert result["failure"] == CommandFailure.INVALID.value
    assert "stopLossTicks" in result["message"] and "at most" in result["message"]
    # A short's target below zero, likewise.
    response = await http.post(
        "/command", json=command("deep-target", side="SELL", takeProfitTicks=100_000), headers=KEY
    )
    assert response.status_code == 422 and "takeProfitTicks" in response.json()["message"], response.text
    negative = await http.post(
        "/command", json=command("neg", orderType="LIMIT", limitPrice=-5.0), headers=KEY
    )
    assert negative.status_code == 422 and "limitPrice -5" in negative.json()["message"], negative.text
    assert not (await manager.rest.search_open_orders(harness.sim.account_id))  # nothing was sent
    # Moving a stop below zero is refused the same way.
    sltp = await http.post("/api/position/update-sltp", json={"symbol": "MES", "stopLoss": -1.0}, headers=KEY)
    assert sltp.status_code == 422 and "stopLoss -1" in sltp.json()["message"], sltp.text
    resting = await http.post(
        "/command", json=command("rest", orderType="LIMIT", limitPrice=1000.0), headers=KEY
    )
    resting_id = resting.json()["exchangeOrderId"]
    await eventually(lambda: resting_id in manager.state.orders, what="the resting order's event")
    modify = {
        "type": "MODIFY_ORDER",
        "payload": {"commandId": "m-neg", "exchangeOrderId": resting_id, "limitPrice": -2},
    }
    moved = await http.post("/command", json=modify, headers=KEY)
    assert moved.status_code == 422 and "limitPrice -2" in moved.json()["message"], moved.text
    # A real bracket is still fine.
    fine = await http.post("/command", json=command("fine", stopLossTicks=8, takeProfitTicks=16), headers=KEY)
    assert fine.status_code == 200 and fine.json()["ok"], fine.text


def test_only_instruments_that_can_trade_below_zero_take_negative_prices() -> None:
    instruments = load_config(DEFAULTS_DIR, env={}).instruments
    assert allows_negative_prices(instruments.get("CL")) and allows_negative_prices(instruments.get("MCL"))
    assert not allows_negative_prices(instruments.get("MES"))
    limit_at_minus_5 = PlaceOrder(
        command_id="c",
        order_id="o",
        bot_id="b",
        custom_tag="t",
        symbol="CL",
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        limit_price=-5.0,
        stop_loss_ticks=100,
    )
    check_place(limit_at_minus_5, instruments.get("CL"), None)  # CL did trade at -37
    with pytest.raises(ImplausibleOrderError, match="limitPrice -5"):
        check_place(msgspec.structs.replace(limit_at_minus_5, symbol="MES"), instruments.get("MES"), None)
    market = msgspec.structs.replace(
        limit_at_minus_5, symbol="MES", order_type=OrderType.MARKET, limit_price=None, stop_loss_ticks=23_999
    )
    check_place(market, instruments.get("MES"), 6000.0)  # its stop at 0.25
    with pytest.raises(ImplausibleOrderError, match=r"stopLossTicks 24000 .* at most 23999 ticks"):
        check_place(msgspec.structs.replace(market, stop_loss_ticks=24_000), instruments.get("MES"), 6000.0)


async def test_one_failing_request_never_opens_the_circuit_for_the_next_order(
    harness: Harness, api: tuple[ConnectionManager, httpx.AsyncClient]
) -> None:
    """The exchange answers 500 to every attempt of one place (as the simulator did to a size it
    could not handle): that command's outcome is unknown, and the next good order still fills."""
    manager, http = api
    sim = harness.sim
    attempts = manager.settings.max_retries + 1
    await sim.admin("faults/http", {"path": "/api/Order/place", "status": 500, "count": attempts})
    response = await http.post("/command", json=command("poisoned"), headers=KEY)
    assert response.status_code == 422, response.text
    assert response.json()["failure"] == CommandFailure.OUTCOME_UNKNOWN.value
    assert attempts >= manager.settings.circuit_failures  # enough to open it, were retries counted
    assert not manager.rest.breakers["/api/Order/place"].is_open
    started = dt.datetime.now(dt.UTC)
    await good_order_fills(harness, http, "right-after")
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=10)

"""Every REST endpoint over HTTP with httpx: the envelope, field names and JSON types, error
codes per endpoint, HTTP 200 for business errors, 401, 400 and 429."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest

from support.signalr import RawHub
from support.sim import COMBINE, ES, NQ, PRACTICE, SimHandle, running_sim
from support.wire import (
    ACCOUNT,
    BAR,
    CONTRACT,
    ISO_OFFSET,
    ORDER_EXTENDED,
    POSITION,
    TRADE,
    check_envelope,
    check_fields,
)
from tsxbot.config.limits import RateLimit
from tsxbot.sim.ratelimit import RateLimiter

AUTHENTICATED = [
    ("Auth/validate", None),
    ("Auth/logout", None),
    ("Account/search", {"onlyActiveAccounts": True}),
    ("Contract/search", {"searchText": "ES", "live": False}),
    ("Contract/searchById", {"contractId": ES}),
    ("Contract/available", {"live": False}),
    ("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-01-01T00:00:00Z"}),
    ("Order/searchOpen", {"accountId": COMBINE}),
    ("Order/place", {"accountId": COMBINE, "contractId": ES, "type": 2, "side": 0, "size": 1}),
    ("Order/modify", {"accountId": COMBINE, "orderId": 1}),
    ("Order/cancel", {"accountId": COMBINE, "orderId": 1}),
    ("Position/searchOpen", {"accountId": COMBINE}),
    ("Position/closeContract", {"accountId": COMBINE, "contractId": ES}),
    ("Position/partialCloseContract", {"accountId": COMBINE, "contractId": ES, "size": 1}),
    ("Trade/search", {"accountId": COMBINE, "startTimestamp": "2026-01-01T00:00:00Z"}),
    (
        "History/retrieveBars",
        {
            "contractId": ES,
            "live": False,
            "startTime": "2026-11-20T00:00:00Z",
            "endTime": "2026-11-24T00:00:00Z",
            "unit": 2,
            "unitNumber": 1,
            "limit": 10,
            "includePartialBar": False,
        },
    ),
]


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


async def test_login_issues_a_jwt_valid_for_24_hours() -> None:
    async with running_sim(login=False) as s:
        response = await s.http.post("/api/Auth/loginKey", json={"userName": "DEMO", "apiKey": "demo"})
        assert response.status_code == 200
        body = response.json()
        check_envelope(body, "token")
        claims = _claims(body["token"])
        assert abs(int(str(claims["exp"])) - time.time() - 24 * 3600) < 60


async def test_bad_credentials_are_http_200_with_error_code_3() -> None:
    async with running_sim(login=False) as s:
        response = await s.http.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "nope"})
        assert response.status_code == 200
        assert response.json() == {"token": None, "success": False, "errorCode": 3, "errorMessage": None}


async def test_login_body_without_api_key_is_http_400() -> None:
    async with running_sim(login=False) as s:
        response = await s.http.post("/api/Auth/loginKey", json={"userName": "demo"})
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "ApiKey" in response.json()["errors"]


@pytest.mark.parametrize(("path", "body"), AUTHENTICATED)
async def test_every_authenticated_endpoint_answers_401_without_a_valid_token(
    path: str, body: dict[str, object] | None
) -> None:
    async with running_sim() as s:
        bad = {"Authorization": "Bearer " + s.token[:-4] + "AAAA"}
        for headers in ({}, bad):
            response = await s.http.post(f"/api/{path}", json=body, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_expired_tokens_get_401_and_validate_follows_its_setting() -> None:
    for mode, expected in (("unauthorized", 401), ("errorCode", 3), ("renew", 0)):
        async with running_sim(f"simulator.auth.validateExpired={mode}") as s:
            await s.admin("faults/tokens/expire")
            response = await s.http.post(
                "/api/Account/search", json={"onlyActiveAccounts": True}, headers=s.headers
            )
            assert response.status_code == 401
            response = await s.http.post("/api/Auth/validate", headers=s.headers)
            if expected == 401:
                assert response.status_code == 401
                continue
            assert response.status_code == 200
            body = response.json()
            check_envelope(body, "newToken", expected)
            assert (body["newToken"] is None) == (expected != 0)


async def test_validate_renews_and_logout_revokes() -> None:
    async with running_sim() as s:
        body = await s.api("Auth/validate")
        check_envelope(body, "newToken")
        new = body["newToken"]
        assert new != s.token
        check_envelope(await s.api("Auth/logout"), None)
        response = await s.http.post(
            "/api/Account/search", json={"onlyActiveAccounts": True}, headers=s.headers
        )
        assert response.status_code == 401
        response = await s.http.post(
            "/api/Account/search",
            json={"onlyActiveAccounts": True},
            headers={"Authorization": f"Bearer {new}"},
        )
        assert response.status_code == 200


async def test_account_search_lists_a_combine_and_a_practice_account() -> None:
    async with running_sim() as s:
        body = await s.api("Account/search", {"onlyActiveAccounts": True})
        check_envelope(body, "accounts")
        for account in body["accounts"]:
            check_fields(account, ACCOUNT)
        by_id = {a["id"]: a for a in body["accounts"]}
        assert set(by_id) == {COMBINE, PRACTICE}
        assert by_id[COMBINE]["name"].startswith("50KTC")
        assert by_id[PRACTICE]["name"].startswith("PRAC")
        assert by_id[COMBINE]["balance"] == 50000


async def test_contracts_available_search_and_search_by_id() -> None:
    async with running_sim() as s:
        available = await s.api("Contract/available", {"live": False})
        check_envelope(available, "contracts")
        assert len(available["contracts"]) == 12
        for contract in available["contracts"]:
            check_fields(contract, CONTRACT)
            assert contract["activeContract"] is True
            assert contract["id"].startswith("CON.F.US.") and contract["symbolId"] == contract["id"][4:-4]
        ids = {c["id"] for c in available["contracts"]}
        assert {ES, NQ, "CON.F.US.CLE.F27", "CON.F.US.MCLE.F27", "CON.F.US.GCE.Z26"} <= ids

        found = await s.api("Contract/search", {"searchText": "NQ", "live": False})
        assert [c["id"] for c in found["contracts"]][:2] == [NQ, "CON.F.US.MNQ.Z26"]
        assert len((await s.api("Contract/search", {"searchText": "", "live": False}))["contracts"]) <= 20

        one = await s.api("Contract/searchById", {"contractId": ES})
        check_envelope(one, "contract")
        check_fields(one["contract"], CONTRACT)
        assert one["contract"]["name"] == "ESZ6" and one["contract"]["tickValue"] == 12.5

        expired = await s.api("Contract/searchById", {"contractId": "CON.F.US.ENQ.H25"})
        assert expired["contract"]["activeContract"] is False
        assert expired["contract"]["description"] == "E-mini Nasdaq-100: March 2025"

        missing = await s.api("Contract/searchById", {"contractId": "CON.F.US.NOPE.Z26"})
        check_envelope(missing, "contract", 1)


async def test_search_by_id_resolves_only_listed_months_in_a_plausible_range_of_years() -> None:
    async with running_sim() as s:  # the clock is in November 2026
        for contract_id in (
            "CON.F.US.EP.F26",  # ES lists no January
            "CON.F.US.GCE.H26",  # gold lists no March
            "CON.F.US.EP.Z99",  # 2099
            "CON.F.US.EP.Z20",  # more than 5 years back
            "CON.F.US.EP.H29",  # more than 2 years ahead
            "CON.F.US.EP.Z2X",
        ):
            missing = await s.api("Contract/searchById", {"contractId": contract_id})
            check_envelope(missing, "contract", 1)
            assert missing["contract"] is None, contract_id
        for contract_id, active in (
            (ES, True),
            ("CON.F.US.EP.H21", False),
            ("CON.F.US.EP.Z28", False),
            ("CON.F.US.CLE.G27", False),
            ("CON.F.US.GCE.G27", False),
        ):
            found = await s.api("Contract/searchById", {"contractId": contract_id})
            check_envelope(found, "contract")
            assert (found["contract"]["id"], found["contract"]["activeContract"]) == (contract_id, active)
        # Every endpoint that takes a contract id agrees: placing is ContractNotFound (8), not
        # ContractNotActive (9); History 1; closeContract 3.
        check_envelope(await s.place(contractId="CON.F.US.EP.F26"), "orderId", 8)
        check_envelope(await s.place(contractId="CON.F.US.EP.Z99"), "orderId", 8)
        check_envelope(await s.place(contractId="CON.F.US.EP.Z28"), "orderId", 9)
        bars = await s.api("History/retrieveBars", _bars_request(contractId="CON.F.US.EP.F26"))
        check_envelope(bars, "bars", 1)
        close = {"accountId": COMBINE, "contractId": "CON.F.US.EP.F26"}
        check_envelope(await s.api("Position/closeContract", close), None, 3)
    async with running_sim("simulator.exchange.contractYearsAhead=0") as s:
        check_envelope(await s.api("Contract/searchById", {"contractId": "CON.F.US.EP.H27"}), "contract", 1)
        check_envelope(await s.api("Contract/searchById", {"contractId": "CON.F.US.EP.Z26"}), "contract")


def _bars_request(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "contractId": ES,
        "live": False,
        "startTime": "2026-11-01T00:00:00Z",
        "endTime": "2026-11-25T00:00:00Z",
        "unit": 2,
        "unitNumber": 5,
        "limit": 50,
        "includePartialBar": False,
    }
    body.update(overrides)
    return body


async def test_bars_are_newest_first_and_limit_keeps_the_most_recent() -> None:
    async with running_sim("simulator.paused=true") as s:
        body = await s.api("History/retrieveBars", _bars_request())
        check_envelope(body, "bars")
        bars = body["bars"]
        assert len(bars) == 50
        for bar in bars:
            check_fields(bar, BAR)
            assert ISO_OFFSET.match(bar["t"])
            assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
        times = [b["t"] for b in bars]
        assert times == sorted(times, reverse=True)
        # The most recent complete 5-minute bar ends at or before the clock (15:30:00).
        assert times[0] == "2026-11-24T15:25:00.000000+00:00"
        fewer = (await s.api("History/retrieveBars", _bars_request(limit=3)))["bars"]
        assert fewer == bars[:3]
        hours = (await s.api("History/retrieveBars", _bars_request(unit=3, unitNumber=1, limit=7)))["bars"]
        assert [b["t"][11:13] for b in hours] == ["14", "13", "12", "11", "10", "09", "08"]


async def test_bar_errors_and_the_20000_cap() -> None:
    async with running_sim("simulator.paused=true") as s:
        for overrides, code in (
            ({"contractId": "CON.F.US.NOPE.Z26"}, 1),
            ({"unit": 9}, 2),
            ({"unit": 0}, 2),
            ({"unitNumber": 0}, 3),
            ({"limit": 0}, 4),
        ):
            check_envelope(await s.api("History/retrieveBars", _bars_request(**overrides)), "bars", code)
        capped = await s.api("History/retrieveBars", _bars_request(unit=2, unitNumber=1, limit=50_000))
        assert len(capped["bars"]) == 20_000
    async with running_sim("simulator.paused=true", "simulator.exchange.barLimitOverflow=error") as s:
        check_envelope(await s.api("History/retrieveBars", _bars_request(limit=20_001)), "bars", 4)


async def test_tick_bars_follow_their_setting() -> None:
    """Unit 7 (Tick) is only in the newer Swagger (unconfirmed): accepted unless turned off."""
    ticks = _bars_request(unit=7, unitNumber=100, limit=5, startTime="2026-11-24T14:00:00Z")
    async with running_sim("simulator.paused=true") as s:
        body = await s.api("History/retrieveBars", ticks)
        check_envelope(body, "bars")
        assert len(body["bars"]) == 5
    async with running_sim("simulator.paused=true", "simulator.exchange.allowTickBars=false") as s:
        check_envelope(await s.api("History/retrieveBars", ticks), "bars", 2)  # UnitInvalid
        check_envelope(await s.api("History/retrieveBars", _bars_request(unit=6, unitNumber=1)), "bars")


async def test_history_reaches_30_trading_days_back_and_never_past_the_clock() -> None:
    async with running_sim("simulator.paused=true") as s:
        days = (
            await s.api(
                "History/retrieveBars",
                _bars_request(
                    startTime="2025-01-01T00:00:00Z",
                    endTime="2027-01-01T00:00:00Z",
                    unit=4,
                    unitNumber=1,
                    limit=1000,
                    includePartialBar=True,
                ),
            )
        )["bars"]
        assert len(days) >= 31  # 35 whole sessions by default, plus today's partial one
        assert days[0]["t"] == "2026-11-24T00:00:00.000000+00:00"
        minutes = (
            await s.api(
                "History/retrieveBars",
                _bars_request(
                    unit=1, unitNumber=1, limit=5000, includePartialBar=True, startTime="2026-11-24T15:00:00Z"
                ),
            )
        )["bars"]
        assert minutes and minutes[0]["t"] <= "2026-11-24T15:30:00"
        partial = (
            await s.api(
                "History/retrieveBars", _bars_request(unit=2, unitNumber=1, limit=1, includePartialBar=True)
            )
        )["bars"]
        assert (
            partial[0]["t"] == "2026-11-24T15:30:00.000000+00:00"
            or partial[0]["t"] == "2026-11-24T15:29:00.000000+00:00"
        )


async def _daily_bars(*overrides: str) -> dict[int, list[dict[str, object]]]:
    wide = {"startTime": "2026-06-01T00:00:00Z", "endTime": "2027-01-01T00:00:00Z", "includePartialBar": True}
    async with running_sim("simulator.paused=true", *overrides) as s:
        return {
            unit: (
                await s.api("History/retrieveBars", _bars_request(unit=unit, unitNumber=1, limit=3, **wide))
            )["bars"]
            for unit in (4, 5, 6)
        }


async def test_day_week_and_month_bars_are_labelled_by_date_or_by_session_open() -> None:
    """Whether `t` is the bar's open time is unconfirmed (§4.3): by default a day, week or month
    is labelled 00:00 UTC of its (first) trading date; with dailyBarTime=sessionOpen, with the
    open of its (first) session, 17:00 CT the evening before."""
    by_date = await _daily_bars()
    by_open = await _daily_bars("simulator.exchange.dailyBarTime=sessionOpen")
    assert [b["t"][:19] for b in by_date[4]] == [
        "2026-11-24T00:00:00",
        "2026-11-23T00:00:00",
        "2026-11-20T00:00:00",
    ]
    assert [b["t"][:19] for b in by_open[4]] == [
        "2026-11-23T23:00:00",
        "2026-11-22T23:00:00",
        "2026-11-19T23:00:00",
    ]
    assert [b["t"][:19] for b in by_date[5]][:2] == ["2026-11-23T00:00:00", "2026-11-16T00:00:00"]
    assert [b["t"][:19] for b in by_open[5]][:2] == ["2026-11-22T23:00:00", "2026-11-15T23:00:00"]
    assert by_date[6][0]["t"][:19] == "2026-11-01T00:00:00"
    # November's first session (Monday the 2nd) opened Sunday 1 November, 17:00 CST.
    assert by_open[6][0]["t"][:19] == "2026-11-01T23:00:00"
    assert by_open[6][1]["t"][:19] == "2026-09-30T22:00:00"  # Thursday 1 October's, 17:00 CDT
    for unit in (4, 5, 6):  # only the label differs
        strip = lambda bars: [{k: v for k, v in b.items() if k != "t"} for b in bars]  # noqa: E731
        assert strip(by_date[unit]) == strip(by_open[unit])


async def test_orders_positions_and_trades_round_trip_with_every_field() -> None:
    async with running_sim() as s:
        placed = await s.place(customTag="wire-1")
        check_envelope(placed, "orderId")
        order_id = placed["orderId"]
        assert isinstance(order_id, int)
        orders = await s.api("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-11-24T00:00:00Z"})
        check_envelope(orders, "orders")
        (order,) = orders["orders"]
        check_fields(order, ORDER_EXTENDED)
        assert ISO_OFFSET.match(order["creationTimestamp"])
        assert (order["id"], order["status"], order["type"], order["side"], order["fillVolume"]) == (
            order_id,
            2,
            2,
            0,
            1,
        )
        assert order["customTag"] == "wire-1"
        positions = await s.api("Position/searchOpen", {"accountId": COMBINE})
        check_envelope(positions, "positions")
        (position,) = positions["positions"]
        check_fields(position, POSITION)
        assert (position["type"], position["size"], position["averagePrice"]) == (1, 1, order["filledPrice"])
        trades = await s.api("Trade/search", {"accountId": COMBINE, "startTimestamp": "2026-11-24T00:00:00Z"})
        (trade,) = trades["trades"]
        check_fields(trade, TRADE)
        assert trade["profitAndLoss"] is None and trade["orderId"] == order_id and trade["fees"] == 1.4
        one = await s.api("Order/searchById", {"accountId": COMBINE, "orderId": order_id})
        assert one["order"] == order
        check_envelope(await s.api("Order/searchById", {"accountId": COMBINE, "orderId": 1}), "order", 1)
        later = await s.api("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-11-25T00:00:00Z"})
        assert later["orders"] == []


async def _one_trade(*overrides: str) -> tuple[dict[str, object], dict[str, object], str, float]:
    """Buys one ES: the trade as Trade/search and GatewayUserTrade give it, the raw REST body,
    and the balance after."""
    async with running_sim(*overrides) as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeTrades", COMBINE)
            await hub.completion()
            await s.place()
            pushed = (await hub.next_where(lambda r: r.get("target") == "GatewayUserTrade"))["arguments"][0]
        finally:
            await hub.close()
        raw = (await s.http.post("/api/Trade/search", json={"accountId": COMBINE}, headers=s.headers)).text
        (account,) = [a for a in (await s.state())["accounts"] if a["id"] == COMBINE]
        return json.loads(raw)["trades"][0], pushed, raw, account["balance"]


async def test_trade_commissions_are_an_option() -> None:
    rest, hub, raw, balance = await _one_trade()
    check_fields(rest, TRADE)  # no commissions field by default
    check_fields(hub, TRADE)
    assert balance == 50_000 - 1.40
    with_field = {**TRADE, "commissions": (int, float)}
    rest, hub, raw, balance = await _one_trade(
        "simulator.wire.tradeCommissions=true", "simulator.exchange.commissionPerSide=0.5"
    )
    for trade in (rest, hub):
        check_fields(trade, with_field)
        assert (trade["fees"], trade["commissions"]) == (1.4, 0.5)
    assert '"fees":1.4000,"commissions":0.5000' in raw
    assert balance == 50_000 - 1.90
    rest, hub, raw, balance = await _one_trade("simulator.wire.tradeCommissions=true")
    assert (rest["commissions"], hub["commissions"]) == (0, 0)
    # A commission with the field off is part of the fees (the only cost field there is).
    rest, hub, raw, balance = await _one_trade("simulator.exchange.commissionPerSide=0.5")
    check_fields(rest, TRADE)
    assert (rest["fees"], hub["fees"], balance) == (1.9, 1.9, 50_000 - 1.90)


async def test_prices_carry_nine_decimals_and_fees_four_as_the_docs_print_them() -> None:
    async with running_sim() as s:
        await s.place()
        raw = (await s.http.post("/api/Trade/search", json={"accountId": COMBINE}, headers=s.headers)).text
        assert '"fees":1.4000' in raw
        assert json.loads(raw)["trades"][0]["price"] * 4 == int(json.loads(raw)["trades"][0]["price"] * 4)
        assert ".250000000" in raw or ".500000000" in raw or ".750000000" in raw or ".000000000" in raw


async def test_search_open_and_positions_for_unknown_accounts_answer_code_1() -> None:
    async with running_sim() as s:
        check_envelope(await s.api("Order/searchOpen", {"accountId": 999}), "orders", 1)
        check_envelope(
            await s.api("Order/search", {"accountId": 999, "startTimestamp": "2026-01-01"}), "orders", 1
        )
        check_envelope(await s.api("Position/searchOpen", {"accountId": 999}), "positions", 1)
        check_envelope(await s.api("Trade/search", {"accountId": 999}), "trades", 1)
        check_envelope(await s.place(accountId=999), "orderId", 1)
        check_envelope(await s.api("Order/modify", {"accountId": 999, "orderId": 1}), None, 1)
        check_envelope(await s.api("Order/cancel", {"accountId": 999, "orderId": 1}), None, 1)
        check_envelope(await s.api("Position/closeContract", {"accountId": 999, "contractId": ES}), None, 1)


async def test_close_and_partial_close_use_their_own_shifted_codes() -> None:
    async with running_sim() as s:
        close = {"accountId": COMBINE, "contractId": ES}
        check_envelope(await s.api("Position/closeContract", close), None, 2)
        check_envelope(await s.api("Position/partialCloseContract", {**close, "size": 1}), None, 2)
        bad = {"accountId": COMBINE, "contractId": "CON.F.US.NOPE.Z26"}
        check_envelope(await s.api("Position/closeContract", bad), None, 3)
        check_envelope(await s.api("Position/partialCloseContract", {**bad, "size": 1}), None, 3)
        old = {"accountId": COMBINE, "contractId": "CON.F.US.EP.H25"}
        check_envelope(await s.api("Position/closeContract", old), None, 4)
        await s.place(size=2)
        check_envelope(await s.api("Position/partialCloseContract", {**close, "size": 3}), None, 5)
        check_envelope(await s.api("Position/partialCloseContract", {**close, "size": 1}), None)
        (position,) = (await s.api("Position/searchOpen", {"accountId": COMBINE}))["positions"]
        assert position["size"] == 1
        check_envelope(await s.api("Position/closeContract", close), None)
        assert (await s.api("Position/searchOpen", {"accountId": COMBINE}))["positions"] == []
        pnl = [t["profitAndLoss"] for t in (await s.api("Trade/search", {"accountId": COMBINE}))["trades"]]
        assert pnl[0] is None and all(isinstance(p, float | int) for p in pnl[1:])


async def test_place_error_codes() -> None:
    async with running_sim() as s:
        check_envelope(await s.place(contractId="CON.F.US.NOPE.Z26"), "orderId", 8)
        check_envelope(await s.place(contractId="CON.F.US.EP.H25"), "orderId", 9)
        rejected = await s.place(size=0)
        check_envelope(rejected, "orderId", 2)
        assert rejected["errorMessage"] == "Invalid order size." and isinstance(rejected["orderId"], int)
        check_envelope(await s.place(type=0), "orderId", 2)
        check_envelope(await s.place(side=3), "orderId", 2)
        check_envelope(await s.place(type=1), "orderId", 2)  # limit without a price
        off_tick = await s.place(type=1, limitPrice=5000.1)
        assert off_tick["errorMessage"] == "Invalid price. Price is not aligned to tick size."


async def test_bodies_are_read_like_aspnet_reads_them() -> None:
    async with running_sim() as s:
        response = await s.http.post(
            "/api/account/SEARCH", json={"OnlyActiveAccounts": "true"}, headers=s.headers
        )
        assert response.status_code == 200
        assert len(response.json()["accounts"]) == 2
        response = await s.http.post(
            "/api/Order/searchOpen", json={"accountId": str(COMBINE)}, headers=s.headers
        )
        assert response.json()["success"] is True
        response = await s.http.post("/api/Order/searchOpen", content=b"{not json", headers=s.headers)
        assert response.status_code == 400
        response = await s.http.post("/api/Order/searchOpen", json={"accountId": "abc"}, headers=s.headers)
        assert response.status_code == 400


async def test_status_ping_is_a_get_without_auth() -> None:
    async with running_sim(login=False) as s:
        response = await s.http.get("/api/Status/ping")
        assert (response.status_code, response.text) == (200, "pong")


async def _statuses(s: SimHandle, path: str, body: dict[str, object], n: int) -> list[int]:
    return [(await s.http.post(path, json=body, headers=s.headers)).status_code for _ in range(n)]


ACCOUNTS = ("/api/Account/search", {"onlyActiveAccounts": True})


async def test_rate_limits_answer_429_and_history_counts_against_both_limits() -> None:
    async with running_sim(
        "simulator.rateLimits.all.requests=5",
        "simulator.rateLimits.history.requests=2",
        "simulator.rateLimits.retryAfterHeader=true",
    ) as s:  # the login counted against the caller's address (no token yet), not the user
        # History has its own limit (2)...
        bars = await _statuses(s, "/api/History/retrieveBars", _bars_request(), 3)
        assert bars == [200, 200, 429]
        # ... and its two answered calls also took two of the general limit's five.
        statuses = await _statuses(s, *ACCOUNTS, 4)
        assert statuses == [200, 200, 200, 429]
        response = await s.http.post(ACCOUNTS[0], json=ACCOUNTS[1], headers=s.headers)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
        # The general limit spent, History is refused too (though its own limit would let it).
        assert (await s.state())["counters"]["rateLimited"] == 3
    async with running_sim("simulator.rateLimits.all.requests=1") as s:
        for expected in (200, 429):
            response = await s.http.post(ACCOUNTS[0], json=ACCOUNTS[1], headers=s.headers)
            assert response.status_code == expected
        assert "Retry-After" not in response.headers
        assert await _statuses(s, "/api/History/retrieveBars", _bars_request(), 1) == [429]


async def test_history_can_have_only_its_own_limit() -> None:
    async with running_sim(
        "simulator.rateLimits.all.requests=2",
        "simulator.rateLimits.history.requests=2",
        "simulator.rateLimits.historyCountsAgainstAll=false",
    ) as s:
        assert await _statuses(s, *ACCOUNTS, 3) == [200, 200, 429]
        assert await _statuses(s, "/api/History/retrieveBars", _bars_request(), 3) == [200, 200, 429]


async def test_the_general_limit_is_a_sliding_window_by_default() -> None:
    """5 requests / 2 s: five pass at once, and nothing more until the first is 2 s old (a
    token bucket would let one through every 0.4 s)."""
    for algorithm, refills in (("slidingWindow", False), ("tokenBucket", True)):
        async with running_sim(
            "simulator.rateLimits.all.requests=5",
            "simulator.rateLimits.all.periodSeconds=2",
            f"simulator.rateLimits.algorithm={algorithm}",
        ) as s:
            started = time.monotonic()
            assert await _statuses(s, *ACCOUNTS, 5) == [200] * 5
            later = []
            while time.monotonic() - started < 1.2:
                await asyncio.sleep(0.1)
                later += await _statuses(s, *ACCOUNTS, 1)
            assert (200 in later) is refills, (algorithm, later)
            if not refills:
                await asyncio.sleep(max(0.0, started + 2.05 - time.monotonic()))
                assert await _statuses(s, *ACCOUNTS, 6) == [200] * 5 + [429]


def test_a_sliding_window_allows_exactly_n_in_any_window(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("tsxbot.sim.ratelimit.time.monotonic", lambda: now[0])
    limiter = RateLimiter({"all": RateLimit(requests=200, period_seconds=60.0)})
    passed: list[float] = []
    while now[0] < 1000.0 + 180:  # one request every 0.1 s for three minutes
        if limiter.take("all", "demo") == 0:
            passed.append(now[0])
        now[0] = round(now[0] + 0.1, 1)
    assert len(passed) == 3 * 200
    for i in range(len(passed) - 200):  # never more than 200 in any 60 s
        assert passed[i + 200] - passed[i] >= 60.0
    bucket = RateLimiter({"all": RateLimit(requests=200, period_seconds=60.0)}, algorithm="tokenBucket")
    now[0] = 5000.0
    first_minute = 0
    while now[0] < 5060.0:
        first_minute += bucket.take("all", "demo") == 0
        now[0] = round(now[0] + 0.1, 1)
    assert first_minute > 350  # the burst the sliding window does not allow


async def test_default_limits_follow_the_documentation() -> None:
    async with running_sim() as s:
        limits = s.sim.config.rate_limits
        assert (limits.all.requests, limits.all.period_seconds) == (200, 60.0)
        assert (limits.history.requests, limits.history.period_seconds) == (50, 30.0)
        statuses = set()
        async with httpx.AsyncClient(base_url=s.base_url) as http:
            for _ in range(60):
                response = await http.post(
                    "/api/History/retrieveBars", json=_bars_request(limit=1), headers=s.headers
                )
                statuses.add(response.status_code)
        assert statuses == {200, 429}


async def test_order_v2_query_filters_sorts_and_pages_and_shows_suspended_legs() -> None:
    async with running_sim() as s:
        first = await s.place(
            type=1,
            limitPrice=5000.0,
            stopLossBracket={"ticks": -8, "type": 4},
            takeProfitBracket={"ticks": 8, "type": 1},
        )
        parent = first["orderId"]
        await s.place()
        query = {"filter": {"accountId": COMBINE, "statuses": [1, 8]}, "includeTotalCount": True}
        body = await s.api("Order/v2/query", query)
        check_envelope(body, "orders")  # plus totalCount
        assert body["totalCount"] == 3
        assert [(o["id"], o["status"]) for o in body["orders"]] == [
            (parent, 1),
            (parent + 1, 8),
            (parent + 2, 8),
        ]
        for order in body["orders"]:
            check_fields(order, ORDER_EXTENDED)
        newest = await s.api(
            "Order/v2/query",
            {
                "Filter": {"AccountId": COMBINE},
                "sortBy": 1,
                "sortDirection": 1,
                "pageSize": 2,
                "pageOffset": 1,
            },
        )
        assert [o["id"] for o in newest["orders"]] == [parent + 2, parent + 1]
        assert newest["totalCount"] is None
        bad = await s.http.post(
            "/api/Order/v2/query", json={"filter": {"accountId": COMBINE}, "pageSize": 0}, headers=s.headers
        )
        assert bad.status_code == 400 and "PageSize" in bad.json()["errors"]
        missing = await s.api("Order/v2/query", {"filter": {"accountId": 999}})
        assert missing["errorCode"] == 1


async def test_missing_fields_bind_as_aspnet_binds_them() -> None:
    async with running_sim() as s:
        # A missing number is 0 (value type): the business error, not HTTP 400.
        check_envelope(await s.api("Order/searchOpen", {}), "orders", 1)
        check_envelope(await s.api("Order/cancel", {}), None, 1)
        bars = await s.api("History/retrieveBars", {"contractId": ES, "unitNumber": 1, "limit": 5})
        check_envelope(bars, "bars", 2)  # unit 0 (Unspecified) is UnitInvalid
        partial = await s.api("Position/partialCloseContract", {"accountId": COMBINE, "contractId": ES})
        check_envelope(partial, None, 2)  # no position (size 0 would be InvalidCloseSize)
        # A missing text field is required (non-nullable reference type): HTTP 400.
        for path, body in (("Contract/searchById", {}), ("Position/closeContract", {"accountId": COMBINE})):
            response = await s.http.post(f"/api/{path}", json=body, headers=s.headers)
            assert response.status_code == 400 and "ContractId" in response.json()["errors"]

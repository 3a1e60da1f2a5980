"""The REST client against the real simulator: every endpoint, typed errors with each endpoint's
own code, and the faults the simulator injects (429, 5xx, latency, expired tokens)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from support.sim import SimHandle, running_sim
from tsxbot.config.global_config import GatewaySettings, RateLimit
from tsxbot.config.secrets import Secret
from tsxbot.gateway import enums
from tsxbot.gateway.errors import (
    ApiError,
    AuthenticationError,
    CircuitOpenError,
    OutcomeUnknownError,
    TransportError,
)
from tsxbot.gateway.models import Bracket, ModifyOrderRequest, PlaceOrderRequest
from tsxbot.gateway.rest import ProjectXRest

FAST = GatewaySettings(
    retry_base_seconds=0.05,
    retry_cap_seconds=0.3,
    request_timeout_seconds=2.0,
    max_retries=3,
    circuit_failures=3,
    circuit_cooldown_seconds=0.5,
)


def client(sim: SimHandle, settings: GatewaySettings = FAST) -> ProjectXRest:
    """A client whose clock is the simulator's (its start time is pinned, not now)."""
    return ProjectXRest(sim.base_url, sim.username, sim.api_key, settings, clock=sim.now)


async def mes_contract(rest: ProjectXRest) -> str:
    return next(c.id for c in await rest.available_contracts() if c.symbol_id == "F.US.MES")


async def test_every_endpoint(sim: SimHandle) -> None:
    async with client(sim) as rest:
        assert await rest.ping() == "pong"
        await rest.login()
        assert rest.token is not None
        accounts = await rest.search_accounts()
        assert {a.id for a in accounts} >= {sim.account_id}
        account = sim.account_id
        contracts = await rest.available_contracts()
        assert {c.symbol_id for c in contracts} >= {"F.US.EP", "F.US.MES", "F.US.ENQ", "F.US.GCE", "F.US.CLE"}
        searched = await rest.search_contracts("MES")
        assert any(c.symbol_id == "F.US.MES" for c in searched)
        mes = await mes_contract(rest)
        by_id = await rest.contract_by_id(mes)
        assert (by_id.id, by_id.tick_size, by_id.tick_value) == (mes, 0.25, 1.25)

        now = sim.now()
        bars = await rest.retrieve_bars(mes, now - dt.timedelta(days=3), now, enums.BarUnit.HOUR, 1, limit=10)
        assert len(bars) == 10
        assert [b.t for b in bars] == sorted(b.t for b in bars)  # returned oldest first after reversal
        assert all(b.l <= min(b.o, b.c) <= max(b.o, b.c) <= b.h for b in bars)

        order_id = await rest.place_order(
            PlaceOrderRequest(
                account_id=account,
                contract_id=mes,
                type=int(enums.OrderType.LIMIT),
                side=int(enums.OrderSide.BID),
                size=1,
                limit_price=1000.0,
                custom_tag="rest-test-1",
            )
        )
        open_orders = await rest.search_open_orders(account)
        assert [o.id for o in open_orders if o.custom_tag == "rest-test-1"] == [order_id]
        await rest.modify_order(
            ModifyOrderRequest(account_id=account, order_id=order_id, limit_price=1000.25)
        )
        modified = next(o for o in await rest.search_open_orders(account) if o.id == order_id)
        assert modified.limit_price == 1000.25
        assert modified.size == 1  # left out: kept
        await rest.cancel_order(account, order_id)
        assert order_id not in {o.id for o in await rest.search_open_orders(account)}
        history = await rest.search_orders(account, now - dt.timedelta(minutes=5))
        cancelled = next(o for o in history if o.id == order_id)
        assert cancelled.order_status is enums.OrderStatus.CANCELLED

        await rest.place_order(
            PlaceOrderRequest(
                account_id=account,
                contract_id=mes,
                type=int(enums.OrderType.MARKET),
                side=int(enums.OrderSide.BID),
                size=2,
                custom_tag="rest-test-2",
            )
        )
        positions = await rest.search_open_positions(account)
        assert [(p.contract_id, p.net_quantity) for p in positions] == [(mes, 2)]
        await rest.partial_close_position(account, mes, 1)
        assert [p.net_quantity for p in await rest.search_open_positions(account)] == [1]
        await rest.close_position(account, mes)
        assert await rest.search_open_positions(account) == []
        trades = await rest.search_trades(account, now - dt.timedelta(minutes=5))
        assert len(trades) == 3
        assert trades[0].profit_and_loss is None  # the opening fill
        assert all(t.profit_and_loss is not None for t in trades[1:])  # the closing fills

        new_token = await rest.validate()
        assert new_token == rest.token
        await rest.logout()
        assert rest.token is None


async def test_business_errors_carry_the_endpoints_own_code(sim: SimHandle) -> None:
    async with client(sim) as rest:
        with pytest.raises(ApiError) as info:
            await rest.contract_by_id("CON.F.US.NOPE.Z99")
        assert info.value.code is enums.SearchContractByIdErrorCode.CONTRACT_NOT_FOUND
        mes = await mes_contract(rest)
        now = sim.now()
        with pytest.raises(ApiError) as info:
            await rest.retrieve_bars(mes, now - dt.timedelta(hours=1), now, enums.BarUnit.UNSPECIFIED)
        assert info.value.code is enums.RetrieveBarErrorCode.UNIT_INVALID
        with pytest.raises(ApiError) as info:
            await rest.cancel_order(sim.account_id, 987654321)
        assert info.value.code is enums.CancelOrderErrorCode.ORDER_NOT_FOUND
        with pytest.raises(ApiError) as info:
            await rest.close_position(sim.account_id, mes)
        assert info.value.code is enums.ClosePositionErrorCode.POSITION_NOT_FOUND
        # Wrong bracket sign on a long: refused with code 2 and the documented message.
        with pytest.raises(ApiError) as info:
            await rest.place_order(
                PlaceOrderRequest(
                    account_id=sim.account_id,
                    contract_id=mes,
                    type=int(enums.OrderType.MARKET),
                    side=0,
                    size=1,
                    custom_tag="bad-bracket",
                    take_profit_bracket=Bracket(ticks=-30, type=1),
                )
            )
        assert info.value.code is enums.PlaceOrderErrorCode.ORDER_REJECTED
        assert "take profit" in (info.value.message or "").lower()


async def test_bad_credentials(sim: SimHandle) -> None:
    async with ProjectXRest(sim.base_url, Secret("demo"), Secret("wrong"), FAST) as rest:
        with pytest.raises(AuthenticationError) as info:
            await rest.login()
        assert info.value.code is enums.LoginErrorCode.INVALID_CREDENTIALS


async def test_429_and_5xx_are_retried_with_backoff(sim: SimHandle) -> None:
    patient = GatewaySettings(
        retry_base_seconds=0.05, retry_cap_seconds=0.3, max_retries=3, circuit_failures=10
    )
    async with client(sim, patient) as rest:
        await rest.login()
        await sim.admin(
            "faults/http", {"path": "/api/Account/search", "status": 429, "count": 2, "retryAfter": 0.1}
        )
        assert await rest.search_accounts()
        await sim.admin("faults/http", {"path": "/api/Account/search", "status": 503, "count": 2})
        assert await rest.search_accounts()
        await sim.admin("faults/http", {"path": "/api/Account/search", "status": 500, "count": 4})
        with pytest.raises(TransportError, match="HTTP 500"):  # 1 try + 3 retries, all refused
            await rest.search_accounts()


async def test_circuit_breaker_stops_hammering_a_failing_endpoint(sim: SimHandle) -> None:
    """It opens after 3 consecutive failing calls (for 0.5 s); the retries of one call count once:
    one request that keeps failing never opens it for every other caller."""
    async with client(sim) as rest:
        await rest.login()
        await sim.admin("faults/http", {"path": "/api/Account/search", "status": 500, "count": 50})
        for _ in range(2):
            with pytest.raises(TransportError):  # 1 try + 3 retries each: still closed
                await rest.search_accounts()
        assert not rest.breakers["/api/Account/search"].is_open
        with pytest.raises(CircuitOpenError):  # the third failing call opens it
            await rest.search_accounts()
        refused_before = (await sim.state())["faults"]["http"][0]["count"]
        with pytest.raises(CircuitOpenError):  # fails fast: nothing reaches the server
            await rest.search_accounts()
        assert (await sim.state())["faults"]["http"][0]["count"] == refused_before
        await sim.clear_faults()
        await asyncio.sleep(0.6)
        assert await rest.search_accounts()  # the half-open trial succeeds and closes it


async def test_expired_token_means_a_new_login_and_the_call_goes_through(sim: SimHandle) -> None:
    async with client(sim) as rest:
        first = await rest.login()
        await sim.admin("faults/tokens/expire", {"inSeconds": 0})
        accounts = await rest.search_accounts()
        assert accounts
        assert rest.token != first
        assert rest.logins == 2


async def test_place_that_times_out_every_time_fails_loudly_and_places_nothing(sim: SimHandle) -> None:
    settings = GatewaySettings(
        retry_base_seconds=0.05, retry_cap_seconds=0.3, request_timeout_seconds=0.3, max_retries=2
    )
    async with client(sim, settings) as rest:
        await rest.login()
        mes = await mes_contract(rest)
        await sim.admin("faults/latency", {"ms": 1000, "path": "/api/Order/place"})
        # The client cannot know whether TopStepX is still placing the last attempt: it says so.
        with pytest.raises(OutcomeUnknownError, match="timed out"):
            await rest.place_order(far_limit_buy(sim, mes, "slow-place-1"))
        await sim.clear_faults()
        await asyncio.sleep(1.2)
        assert await orders_tagged(rest, sim, "slow-place-1") == []


def far_limit_buy(sim: SimHandle, contract: str, tag: str) -> PlaceOrderRequest:
    """A buy limit far below the market: it rests, so the order count is easy to check."""
    return PlaceOrderRequest(
        account_id=sim.account_id,
        contract_id=contract,
        type=int(enums.OrderType.LIMIT),
        side=int(enums.OrderSide.BID),
        size=1,
        limit_price=1000.0,
        custom_tag=tag,
    )


async def orders_tagged(rest: ProjectXRest, sim: SimHandle, tag: str) -> list[int]:
    since = sim.now() - dt.timedelta(minutes=5)
    return [o.id for o in await rest.search_orders(sim.account_id, since) if o.custom_tag == tag]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 502, "count": 2},  # refused twice before it gets through
        {"status": 502, "count": 1, "afterProcessing": True},  # placed, but the answer is lost
    ],
    ids=["refused-twice", "answer-lost"],
)
async def test_a_failed_place_is_looked_up_by_its_tag_and_never_doubled(
    sim: SimHandle, fault: dict[str, object]
) -> None:
    async with client(sim) as rest:
        await rest.login()
        mes = await mes_contract(rest)
        await sim.admin("faults/http", {"path": "/api/Order/place", **fault})
        order_id = await rest.place_order(far_limit_buy(sim, mes, "tagged-1"))
        assert await orders_tagged(rest, sim, "tagged-1") == [order_id]


async def test_a_lost_answer_and_a_failed_look_up_is_an_unknown_outcome_never_a_guess(sim: SimHandle) -> None:
    """The place went through but its answer was lost, and the look-up by tag fails too: the
    client cannot know, so it says so (OutcomeUnknownError) and does not send the order again."""
    async with client(sim) as rest:
        await rest.login()
        mes = await mes_contract(rest)
        await sim.admin(
            "faults/http", {"path": "/api/Order/place", "status": 502, "count": 1, "afterProcessing": True}
        )
        await sim.admin("faults/http", {"path": "/api/Order/search", "status": 503, "count": 20})
        with pytest.raises(OutcomeUnknownError, match=r"outcome unknown.*unknown-1"):
            await rest.place_order(far_limit_buy(sim, mes, "unknown-1"))
        await sim.clear_faults()
        await asyncio.sleep(0.6)  # the search endpoint's circuit half-opens
        assert len(await orders_tagged(rest, sim, "unknown-1")) == 1  # it was placed, once


async def test_an_unreadable_answer_to_a_place_is_looked_up_not_trusted(sim: SimHandle) -> None:
    """An answer that is not the documented one (here HTTP 400 after the order went through): the
    order may exist, so the tag is looked up instead of the answer trusted."""
    async with client(sim) as rest:
        await rest.login()
        mes = await mes_contract(rest)
        await sim.admin(
            "faults/http", {"path": "/api/Order/place", "status": 400, "count": 1, "afterProcessing": True}
        )
        order_id = await rest.place_order(far_limit_buy(sim, mes, "unreadable-1"))
        assert await orders_tagged(rest, sim, "unreadable-1") == [order_id]


async def test_a_reused_tag_is_refused_never_answered_with_the_other_order(sim: SimHandle) -> None:
    """TopStepX refuses a duplicate customTag; the order found under that tag is the answer only
    when it is this order (a retry). A different order under a reused tag is a refusal."""
    async with client(sim) as rest:
        await rest.login()
        mes = await mes_contract(rest)
        first = await rest.place_order(far_limit_buy(sim, mes, "reused-1"))
        assert await rest.place_order(far_limit_buy(sim, mes, "reused-1")) == first  # a retry
        mnq = next(c.id for c in await rest.available_contracts() if c.symbol_id == "F.US.MNQ")
        with pytest.raises(ApiError, match="already used by order"):
            await rest.place_order(far_limit_buy(sim, mnq, "reused-1"))
        assert await orders_tagged(rest, sim, "reused-1") == [first]


async def test_client_side_rate_limit_keeps_under_the_server_limit(sim: SimHandle) -> None:
    await sim.admin("faults/ratelimit", {"bucket": "all", "requests": 5, "seconds": 1})
    settings = GatewaySettings(rate_limit=RateLimit(requests=5, period_seconds=1))
    async with client(sim, settings) as rest:
        await rest.login()
        start = asyncio.get_running_loop().time()
        for _ in range(9):
            await rest.search_accounts()
        assert asyncio.get_running_loop().time() - start >= 1.0
    state = await sim.state()
    assert state["counters"]["rateLimited"] == 0


async def test_a_trial_call_that_never_completes_does_not_keep_the_circuit_open(sim: SimHandle) -> None:
    settings = GatewaySettings(max_retries=0, circuit_failures=2, circuit_cooldown_seconds=0.3)
    async with client(sim, settings) as rest:
        await rest.login()
        await sim.admin("faults/http", {"path": "/api/Account/search", "status": 500, "count": 2})
        for _ in range(2):
            with pytest.raises(TransportError):
                await rest.search_accounts()
        with pytest.raises(CircuitOpenError):
            await rest.search_accounts()
        await asyncio.sleep(0.35)
        # The half-open trial is cancelled while it waits for its answer.
        await sim.admin("faults/latency", {"ms": 2000, "path": "/api/Account/search"})
        trial = asyncio.create_task(rest.search_accounts())
        await asyncio.sleep(0.2)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial
        await sim.clear_faults()
        assert await rest.search_accounts()  # the next call may try, and closes the circuit


async def test_history_calls_count_against_the_general_limit_too() -> None:
    """Reference §8: all endpoints 200 / 60 s, and History also 50 / 30 s. The simulator counts a
    History call against both; so does the client, so it waits instead of meeting a 429."""
    async with running_sim(
        "simulator.rateLimits.all.requests=4", "simulator.rateLimits.all.periodSeconds=1", login=False
    ) as s:
        settings = GatewaySettings(
            rate_limit=RateLimit(requests=4, period_seconds=1.0),
            history_rate_limit=RateLimit(requests=10, period_seconds=1.0),
            max_retries=0,
        )
        async with client(s, settings) as rest:
            await rest.login()
            mes = "CON.F.US.MES.Z26"
            now = s.now()
            started = asyncio.get_running_loop().time()
            for _ in range(2):
                await rest.retrieve_bars(
                    mes, now - dt.timedelta(hours=1), now, enums.BarUnit.MINUTE, 1, limit=5
                )
            for _ in range(4):
                await rest.search_accounts()
            assert asyncio.get_running_loop().time() - started >= 0.9  # it waited for the window
        assert (await s.state())["counters"]["rateLimited"] == 0


async def test_the_client_stays_under_an_exact_window_whatever_the_delays() -> None:
    """The simulator counts a request when it handles it (after its latency): requests that
    take different times to arrive must still never put more than the limit in one window, so
    the client dates each place from the answer."""
    async with running_sim(
        "simulator.rateLimits.all.requests=3",
        "simulator.rateLimits.all.periodSeconds=0.5",
        'simulator.faults.latency={"ms": 150, "jitterMs": 145, "path": "/api/Account/search"}',
        login=False,
    ) as s:
        settings = GatewaySettings(rate_limit=RateLimit(requests=3, period_seconds=0.5), max_retries=0)
        async with client(s, settings) as rest:
            await rest.login()
            await asyncio.gather(*(rest.search_accounts() for _ in range(15)))
        assert (await s.state())["counters"]["rateLimited"] == 0

"""The project's own ProjectX client (``tsxbot.gateway``, written against the reference, not
against the simulator) works against the simulator unchanged: REST calls, a bracket order, a
retried place after a 503, and both hubs through its pysignalr supervisor, reconnect included."""

from __future__ import annotations

import datetime as dt
from typing import Any

from support.signalr import Recorder
from support.sim import COMBINE, ES, running_sim
from tsxbot.config.secrets import Secret
from tsxbot.gateway import enums
from tsxbot.gateway.hub import HubConnection
from tsxbot.gateway.models import Bracket, PlaceOrderRequest
from tsxbot.gateway.rest import ProjectXRest


async def test_the_gateway_rest_client_trades_a_bracket_order() -> None:
    async with running_sim() as s:
        rest = ProjectXRest(s.base_url, Secret("demo"), Secret("demo"), clock=s.sim.now)
        try:
            accounts = await rest.search_accounts()
            assert [a.id for a in accounts] == [1001, 1002]
            contract = await rest.contract_by_id(ES)
            assert contract.active_contract and contract.tick_value == 12.5
            bars = await rest.retrieve_bars(
                ES, s.sim.now() - dt.timedelta(hours=2), s.sim.now(), enums.BarUnit.MINUTE, 5, limit=10
            )
            assert len(bars) == 10 and bars[0].t < bars[-1].t
            await s.admin("faults/http", {"path": "/api/Order/place", "status": 503, "count": 1})
            order_id = await rest.place_order(
                PlaceOrderRequest(
                    account_id=COMBINE,
                    contract_id=ES,
                    type=int(enums.OrderType.MARKET),
                    side=int(enums.OrderSide.BID),
                    size=1,
                    custom_tag="gw-1",
                    stop_loss_bracket=Bracket(ticks=-12, type=int(enums.OrderType.STOP)),
                    take_profit_bracket=Bracket(ticks=12, type=int(enums.OrderType.LIMIT)),
                )
            )
            orders = await rest.search_orders(COMBINE, s.sim.now() - dt.timedelta(hours=1))
            assert [o.custom_tag for o in orders].count("gw-1") == 1  # the retry did not double it
            parent = next(o for o in orders if o.id == order_id)
            assert parent.status == enums.OrderStatus.FILLED
            working = await rest.search_open_orders(COMBINE)
            assert {o.parent_order_id for o in working} == {order_id} and len(working) == 2
            (position,) = await rest.search_open_positions(COMBINE)
            assert position.size == 1 and position.type == enums.PositionType.LONG
            await rest.close_position(COMBINE, ES)
            assert await rest.search_open_positions(COMBINE) == []
            trades = await rest.search_trades(COMBINE, s.sim.now() - dt.timedelta(hours=1))
            assert [t.profit_and_loss is None for t in trades] == [True, False]
        finally:
            await rest.close()


async def test_the_gateway_hub_supervisor_receives_events_and_resubscribes() -> None:
    async with running_sim() as s:
        rest = ProjectXRest(s.base_url, Secret("demo"), Secret("demo"), clock=s.sim.now)
        rec = Recorder()

        async def on_event(target: str, args: list[Any]) -> None:
            rec.add(target, args)

        user = HubConnection(
            "user",
            f"{s.base_url}/hubs/user",
            rest.session_token,
            rest.renew_token,
            ["GatewayUserOrder"],
            on_event,
        )
        market = HubConnection(
            "market",
            f"{s.base_url}/hubs/market",
            rest.session_token,
            rest.renew_token,
            ["GatewayQuote"],
            on_event,
        )
        try:
            await user.start()
            await market.start()
            await user.subscribe("SubscribeOrders", COMBINE)
            await market.subscribe("SubscribeContractQuotes", ES)
            await rec.wait(lambda: len(rec.of("GatewayQuote")) >= 2)
            await s.place(customTag="hub-1")
            await rec.wait(lambda: len(rec.of("GatewayUserOrder")) >= 2)
            await s.admin("faults/hub/drop", {"hub": "market"})
            seen = len(rec.of("GatewayQuote"))
            await rec.wait(lambda: len(rec.of("GatewayQuote")) > seen + 2, within=20)
            assert market.connects >= 2
            assert (await s.state())["counters"]["marketSubscribeCalls"] >= 2
        finally:
            await user.stop()
            await market.stop()
            await rest.close()

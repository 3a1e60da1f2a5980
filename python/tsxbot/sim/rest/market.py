"""Contract/search, Contract/searchById, Contract/available, History/retrieveBars, Status/ping."""

from __future__ import annotations

from aiohttp import web

from tsxbot.gateway.enums import BarUnit, RetrieveBarErrorCode, SearchContractByIdErrorCode
from tsxbot.sim.marketdata.bars import BarQuery, retrieve
from tsxbot.sim.rest.common import Call, Route, envelope, parse, timestamp_ns
from tsxbot.sim.wire.models import AggregateBarModel
from tsxbot.sim.wire.requests import (
    AvailableContractRequest,
    RetrieveBarRequest,
    SearchContractByIdRequest,
    SearchContractRequest,
)

MAX_BARS = 20_000


async def search(call: Call) -> web.Response:
    body = parse(call, SearchContractRequest)
    present = call.sim.rest_present
    found = call.sim.contracts.search(body.search_text or "")
    return envelope({"contracts": [present.contract(c) for c in found]})


async def search_by_id(call: Call) -> web.Response:
    body = parse(call, SearchContractByIdRequest)
    contract = call.sim.contracts.get(body.contract_id)
    if contract is None:
        return envelope({"contract": None}, SearchContractByIdErrorCode.CONTRACT_NOT_FOUND)
    return envelope({"contract": call.sim.rest_present.contract(contract)})


async def available(call: Call) -> web.Response:
    parse(call, AvailableContractRequest)
    present = call.sim.rest_present
    return envelope({"contracts": [present.contract(c) for c in call.sim.contracts.active]})


async def retrieve_bars(call: Call) -> web.Response:
    body = parse(call, RetrieveBarRequest)
    sim = call.sim
    contract = sim.contracts.get(body.contract_id)
    market = sim.markets.get(contract.id) if contract is not None else None
    if contract is None:
        return envelope({"bars": None}, RetrieveBarErrorCode.CONTRACT_NOT_FOUND)
    try:
        unit = BarUnit(body.unit)
    except ValueError:
        return envelope({"bars": None}, RetrieveBarErrorCode.UNIT_INVALID)
    if unit is BarUnit.UNSPECIFIED or (unit is BarUnit.TICK and not sim.config.exchange.allow_tick_bars):
        return envelope({"bars": None}, RetrieveBarErrorCode.UNIT_INVALID)
    if body.unit_number < 1:
        return envelope({"bars": None}, RetrieveBarErrorCode.UNIT_NUMBER_INVALID)
    limit = body.limit
    if limit < 1 or (limit > MAX_BARS and sim.config.exchange.bar_limit_overflow == "error"):
        return envelope({"bars": None}, RetrieveBarErrorCode.LIMIT_INVALID)
    if market is None:  # an expired or deferred month: no data
        return envelope({"bars": []})
    query = BarQuery(
        unit=unit,
        unit_number=body.unit_number,
        start_ns=timestamp_ns(body.start_time, "startTime"),
        end_ns=timestamp_ns(body.end_time, "endTime"),
        limit=min(limit, MAX_BARS),
        include_partial=body.include_partial_bar,
        session_open=sim.config.exchange.daily_bar_time == "sessionOpen",
    )
    bars = retrieve(market.series, contract.calendar, query, sim.clock.now_ns())
    present = sim.rest_present
    return envelope(
        {
            "bars": [
                AggregateBarModel(
                    t=present.ts(b.t),
                    o=present.price(contract, b.o),
                    h=present.price(contract, b.h),
                    l=present.price(contract, b.low),
                    c=present.price(contract, b.c),
                    v=b.v,
                )
                for b in bars
            ]
        }
    )


async def ping(call: Call) -> web.Response:
    return web.Response(text="pong", content_type="text/plain")


ROUTES = [
    Route("POST", "/api/Contract/search", search),
    Route("POST", "/api/Contract/searchById", search_by_id),
    Route("POST", "/api/Contract/available", available),
    Route("POST", "/api/History/retrieveBars", retrieve_bars, bucket="history"),
    Route("GET", "/api/Status/ping", ping, authenticated=False),
]

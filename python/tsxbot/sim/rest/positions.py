"""Position/searchOpen, closeContract, partialCloseContract, and Trade/search."""

from __future__ import annotations

from aiohttp import web

from tsxbot.gateway.enums import SearchPositionErrorCode, SearchTradeErrorCode
from tsxbot.sim.rest.common import Call, Route, envelope, parse, timestamp_ns
from tsxbot.sim.wire.requests import (
    CloseContractRequest,
    PartialCloseContractRequest,
    SearchPositionRequest,
    SearchTradeRequest,
)


async def search_open(call: Call) -> web.Response:
    body = parse(call, SearchPositionRequest)
    exchange = call.sim.exchange
    account = exchange.accounts.get(body.account_id)
    if account is None:
        return envelope({"positions": None}, SearchPositionErrorCode.ACCOUNT_NOT_FOUND)
    exchange.advance(call.sim.clock.now_ns())
    present = call.sim.rest_present
    return envelope({"positions": [present.position(p) for p in account.positions.values() if p.net]})


async def close_contract(call: Call) -> web.Response:
    body = parse(call, CloseContractRequest)
    result = call.sim.exchange.close_position(body.account_id, body.contract_id)
    return envelope(None, result.code, result.message)


async def partial_close_contract(call: Call) -> web.Response:
    body = parse(call, PartialCloseContractRequest)
    result = call.sim.exchange.close_position(body.account_id, body.contract_id, body.size)
    return envelope(None, result.code, result.message)


async def search_trades(call: Call) -> web.Response:
    body = parse(call, SearchTradeRequest)
    exchange = call.sim.exchange
    account = exchange.accounts.get(body.account_id)
    if account is None:
        return envelope({"trades": None}, SearchTradeErrorCode.ACCOUNT_NOT_FOUND)
    start = timestamp_ns(body.start_timestamp, "startTimestamp") if body.start_timestamp is not None else None
    end = timestamp_ns(body.end_timestamp, "endTimestamp") if body.end_timestamp is not None else None
    present = call.sim.rest_present
    trades = [
        present.trade(t)
        for t in account.trades
        if (start is None or t.ns >= start) and (end is None or t.ns <= end)
    ]
    return envelope({"trades": trades})


ROUTES = [
    Route("POST", "/api/Position/searchOpen", search_open),
    Route("POST", "/api/Position/closeContract", close_contract),
    Route("POST", "/api/Position/partialCloseContract", partial_close_contract),
    Route("POST", "/api/Trade/search", search_trades),
]

"""Order/place, modify, cancel, search, searchOpen (and the newer Swagger's searchById)."""

from __future__ import annotations

from aiohttp import web

from tsxbot.gateway.enums import OrderStatus, SearchOrderByIdErrorCode, SearchOrderErrorCode
from tsxbot.gateway.models import ModifyOrderRequest, PlaceOrderRequest
from tsxbot.sim.rest.common import Call, Route, envelope, parse, timestamp_ns
from tsxbot.sim.wire.binding import BadRequest
from tsxbot.sim.wire.requests import (
    CancelOrderRequest,
    OrderQueryRequest,
    SearchOpenOrderRequest,
    SearchOrderByIdRequest,
    SearchOrderRequest,
)


async def place(call: Call) -> web.Response:
    body = parse(call, PlaceOrderRequest)
    result = call.sim.exchange.place(body)
    return envelope({"orderId": result.order_id}, result.code, result.message)


async def modify(call: Call) -> web.Response:
    body = parse(call, ModifyOrderRequest)
    result = call.sim.exchange.modify(
        body.account_id, body.order_id, body.size, body.limit_price, body.stop_price, body.trail_price
    )
    return envelope(None, result.code, result.message)


async def cancel(call: Call) -> web.Response:
    body = parse(call, CancelOrderRequest)
    result = call.sim.exchange.cancel(body.account_id, body.order_id)
    return envelope(None, result.code, result.message)


async def search(call: Call) -> web.Response:
    body = parse(call, SearchOrderRequest)
    exchange = call.sim.exchange
    account = exchange.accounts.get(body.account_id)
    if account is None:
        return envelope({"orders": None}, SearchOrderErrorCode.ACCOUNT_NOT_FOUND)
    start = timestamp_ns(body.start_timestamp, "startTimestamp")
    end = timestamp_ns(body.end_timestamp, "endTimestamp") if body.end_timestamp is not None else None
    present = call.sim.rest_present
    orders = [
        present.order(o)
        for o in exchange.account_orders(account)
        if o.created_ns >= start and (end is None or o.created_ns <= end)
    ]
    return envelope({"orders": orders})


async def search_open(call: Call) -> web.Response:
    body = parse(call, SearchOpenOrderRequest)
    exchange = call.sim.exchange
    account = exchange.accounts.get(body.account_id)
    if account is None:
        return envelope({"orders": None}, SearchOrderErrorCode.ACCOUNT_NOT_FOUND)
    exchange.advance(call.sim.clock.now_ns())
    present = call.sim.rest_present
    # Suspended bracket children are left out (Swagger: use v2/query to see them).
    orders = [
        present.order(o)
        for o in exchange.account_orders(account)
        if o.status in (OrderStatus.OPEN, OrderStatus.PENDING)
    ]
    return envelope({"orders": orders})


async def search_by_id(call: Call) -> web.Response:
    body = parse(call, SearchOrderByIdRequest)
    order = call.sim.exchange.orders.get(body.order_id)
    if order is None or order.account_id != body.account_id:
        return envelope({"order": None}, SearchOrderByIdErrorCode.ORDER_NOT_FOUND)
    return envelope({"order": call.sim.rest_present.order(order)})


MAX_PAGE_SIZE = 1000


async def query(call: Call) -> web.Response:
    """Order/v2/query: filtered, sorted, paged. Its validation errors are RFC 7807 problems
    (HTTP 400), not the envelope. Defaults: page size 100 (at most 1000), offset 0 (in orders),
    sorted by creation time, oldest first."""
    body = parse(call, OrderQueryRequest)
    errors: dict[str, list[str]] = {}
    size = 100 if body.page_size is None else body.page_size
    offset = body.page_offset or 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        errors["PageSize"] = [f"PageSize must be between 1 and {MAX_PAGE_SIZE}."]
    if offset < 0:
        errors["PageOffset"] = ["PageOffset must not be negative."]
    if body.sort_by not in (None, 0, 1):
        errors["SortBy"] = ["SortBy must be 0 (CreatedAt) or 1 (Id)."]
    if body.sort_direction not in (None, 0, 1):
        errors["SortDirection"] = ["SortDirection must be 0 (Asc) or 1 (Desc)."]
    if errors:
        raise BadRequest(errors)
    f = body.filter
    exchange = call.sim.exchange
    account = exchange.accounts.get(f.account_id)
    if account is None:
        return envelope({"orders": None, "totalCount": None}, SearchOrderErrorCode.ACCOUNT_NOT_FOUND)
    after = timestamp_ns(f.created_after, "filter.createdAfter") if f.created_after else None
    before = timestamp_ns(f.created_before, "filter.createdBefore") if f.created_before else None
    statuses = set(f.statuses) if f.statuses else None
    found = [
        o
        for o in exchange.account_orders(account)
        if (statuses is None or int(o.status) in statuses)
        and (f.contract_id is None or o.contract.id == f.contract_id)
        and (after is None or o.created_ns >= after)
        and (before is None or o.created_ns <= before)
    ]
    found.sort(key=(lambda o: o.id) if body.sort_by == 1 else (lambda o: (o.created_ns, o.id)))
    if body.sort_direction == 1:
        found.reverse()
    present = call.sim.rest_present
    page = [present.order(o) for o in found[offset : offset + size]]
    return envelope({"orders": page, "totalCount": len(found) if body.include_total_count else None})


ROUTES = [
    Route("POST", "/api/Order/place", place),
    Route("POST", "/api/Order/modify", modify),
    Route("POST", "/api/Order/cancel", cancel),
    Route("POST", "/api/Order/search", search),
    Route("POST", "/api/Order/searchOpen", search_open),
    Route("POST", "/api/Order/searchById", search_by_id),
    Route("POST", "/api/Order/v2/query", query),
]

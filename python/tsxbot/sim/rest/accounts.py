"""Account/search."""

from __future__ import annotations

from aiohttp import web

from tsxbot.sim.rest.common import Call, Route, envelope, parse
from tsxbot.sim.wire.requests import SearchAccountRequest


async def search(call: Call) -> web.Response:
    body = parse(call, SearchAccountRequest)
    present = call.sim.rest_present
    accounts = [
        present.account(a)
        for a in call.sim.exchange.accounts.values()
        if not body.only_active_accounts or (a.config.is_visible and a.breach is None)
    ]
    return envelope({"accounts": accounts})


ROUTES = [Route("POST", "/api/Account/search", search)]

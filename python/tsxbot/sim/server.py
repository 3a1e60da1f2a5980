"""The aiohttp application: REST under /api, the hubs under /hubs, the admin API under /admin,
all on one port. No WebSocket-level pings from the server (signalrcore cannot answer them)."""

from __future__ import annotations

from aiohttp import web

from tsxbot.sim.faults import admin
from tsxbot.sim.hubs.endpoint import HubEndpoint
from tsxbot.sim.rest import accounts, auth, market, orders, positions
from tsxbot.sim.rest.common import Route, wrap
from tsxbot.sim.simulator import Simulator

ROUTES: list[Route] = [*auth.ROUTES, *accounts.ROUTES, *market.ROUTES, *orders.ROUTES, *positions.ROUTES]


def _hub_routes(app: web.Application, path: str, hub: HubEndpoint) -> None:
    app.router.add_post(f"{path}/negotiate", hub.negotiate)
    app.router.add_get(path, hub.connect)


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    handlers = {(r.method, r.path.lower()): wrap(sim, r) for r in ROUTES}
    paths = {r.path.lower() for r in ROUTES}

    async def dispatch(request: web.Request) -> web.StreamResponse:
        # ASP.NET routing is case-insensitive: /api/order/PLACE is /api/Order/place.
        path = request.path.lower()
        handler = handlers.get((request.method, path))
        if handler is not None:
            return await handler(request)
        if path in paths:
            return web.Response(status=405)
        return web.Response(status=404)

    app.router.add_route("*", "/api/{tail:.*}", dispatch)
    _hub_routes(app, "/hubs/user", sim.user_hub)
    _hub_routes(app, "/hubs/market", sim.market_hub)
    if sim.config.admin:
        admin.add_routes(app, sim)
    return app

"""The admin API: the simulator's clock, accounts and fault injection, for tests and people.

All bodies and answers are JSON; every route answers ``{"ok": true, ...}`` or HTTP 400/404 with
``{"ok": false, "error": "..."}`` (a body that is not a JSON object, a wrong type or an impossible
value is 400 naming it). No authentication: bind the simulator to localhost.

The fault bodies below are parsed by ``faults/specs.py``, which the config shares: the same
bodies under ``simulator.faults`` (``http``, ``latency``, ``events``, ``hubRefuse``,
``hubHandshake``, ``hubCompletions``, ``tokenLifetime``) are in force from the start. An unknown
key or an impossible value is HTTP 400 here and a configuration problem there.

State
  GET  /admin/state                      clock, accounts, hub connections (ids, subscriptions,
                                         counters), faults in force; a subscription reads
                                         {"method": "SubscribeOrders", "args": [1001]}
  GET  /admin/connections                {"user": [...], "market": [...]}

Clock
  POST /admin/clock  {"action": "pause"|"resume"}
  POST /admin/clock  {"action": "advance", "seconds": 30}     plays the market up to now+30 s
  POST /admin/clock  {"action": "set", "time": "2026-11-24T15:30:00Z"}   forward only
        at most 7 days per call (every print on the way is played; call again to go further)

Accounts
  POST /admin/accounts/{id}  {"balance"?, "canTrade"?, "bracketMode"?: "autoOco"|"positionBrackets"}

Hub faults ("hub": "user" | "market" | "*"; "connectionId" optional, default every connection)
  POST /admin/faults/hub/drop    {"hub", "connectionId"?, "kill"?: false}
        closes the WebSocket without a SignalR Close (kill: drops TCP, no close frame)
  POST /admin/faults/hub/close   {"hub", "connectionId"?, "error"?: str, "allowReconnect"?: bool}
        sends a SignalR Close message, then closes
  POST /admin/faults/hub/stall   {"hub", "connectionId"?, "seconds"}
        sends nothing (no events, no pings) for that long; what queued arrives afterwards
  POST /admin/faults/hub/refuse  {"hub", "seconds", "status"?: 503}
        negotiate and WebSocket upgrades answer that HTTP status for that long
  POST /admin/faults/hub/handshake {"hub", "error": str | null}
        answer handshakes with this error (null clears)
  POST /admin/faults/hub/completions {"hub", "delaySeconds"?: 0, "drop"?: false}
        delay or never send the Completion of hub invocations
  POST /admin/faults/events      {"hub"?: "*", "duplicate"?: p, "reorder"?: p, "drop"?: p,
                                  "targets"?: ["GatewayUserOrder", ...]}
        per push, with probability p: send twice / hold back until after the next / drop

REST faults ("path": "/api/Order/place" or "*")
  POST /admin/faults/http     {"path", "status": 429|500|502|503..., "count"?: n,
                               "seconds"?: s, "retryAfter"?: s, "afterProcessing"?: false}
        the next n matching calls (or every one for s seconds; or until cleared) get that status;
        with afterProcessing the call is carried out first and only its answer is replaced
  POST /admin/faults/latency  {"ms", "jitterMs"?: 0, "path"?: "*"}
  POST /admin/faults/ratelimit {"bucket": "all"|"history", "requests", "seconds"}

Tokens
  POST /admin/faults/tokens/expire {"inSeconds"?: 0}   every issued token expires (sooner only)
  POST /admin/faults/tokens/lifetime {"seconds"}       lifetime of tokens issued from now on

  DELETE /admin/faults                                 clears every fault
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from tsxbot.config.limits import RateLimit
from tsxbot.sim.faults import specs
from tsxbot.sim.faults.specs import FaultSpecError
from tsxbot.sim.hubs.connection import HubConnection
from tsxbot.sim.hubs.endpoint import HubEndpoint
from tsxbot.sim.simulator import Simulator
from tsxbot.sim.wire.timestamps import format_ns, parse_timestamp, to_ns

AdminHandler = Callable[[Simulator, dict[str, Any], web.Request], Awaitable[dict[str, Any]]]


class AdminError(FaultSpecError):
    pass


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(data), status=status, content_type="application/json")


def _hubs(sim: Simulator, name: Any) -> list[HubEndpoint]:
    by_name = {"user": sim.user_hub, "market": sim.market_hub}
    return [by_name[n] for n in specs.hub_names(name)]


# How far one clock call may move the simulated time: every print on the way is played (about
# a second of CPU per busy day), and the server answers nothing else meanwhile.
MAX_CLOCK_STEP_S = 7 * 86_400


def _conns(sim: Simulator, body: dict[str, Any]) -> list[HubConnection]:
    connection_id = body.get("connectionId")
    if connection_id is not None and not isinstance(connection_id, str):
        raise AdminError(f"connectionId must be a string, got {connection_id!r}")
    found: list[HubConnection] = []
    for hub in _hubs(sim, body.get("hub")):
        found.extend(hub.pick(connection_id))
    return found


def _number(
    body: dict[str, Any],
    key: str,
    default: float | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> float:
    return specs.number(body, key, default, low=low, high=high, above=above)


def _optional_flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise AdminError(f"{key} must be true or false, got {value!r}")
    return value


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise AdminError(f"{key} must be a string or null, got {value!r}")
    return value


def state(sim: Simulator) -> dict[str, Any]:
    f = sim.faults
    return {
        "ok": True,
        "clock": {
            "now": format_ns(sim.clock.now_ns(), zulu=True),
            "speed": sim.clock.speed,
            "paused": sim.clock.paused,
        },
        "accounts": [
            {
                "id": a.id,
                "name": a.name,
                "balance": a.balance,
                "canTrade": a.can_trade,
                "bracketMode": a.bracket_mode,
                "maxLossLevel": a.max_loss_level,
                "breach": a.breach,
                "openPnl": round(a.open_pnl(sim.exchange.last_prices()), 2),
                "positions": {cid: p.net for cid, p in a.positions.items()},
            }
            for a in sim.exchange.accounts.values()
        ],
        "connections": {"user": sim.user_hub.describe(), "market": sim.market_hub.describe()},
        "counters": {
            "userConnects": sim.user_hub.connects,
            "marketConnects": sim.market_hub.connects,
            "userSubscribeCalls": sim.user_hub.subscribe_calls,
            "marketSubscribeCalls": sim.market_hub.subscribe_calls,
            "prints": sim.prints,
            "fills": sim.exchange.fills,
            "rateLimited": sim.limiter.refused,
            "tokensIssued": sim.tokens.issued,
        },
        "faults": {
            "latency": {"ms": f.latency.ms, "jitterMs": f.latency.jitter_ms, "path": f.latency.path},
            "http": [{"path": h.path, "status": h.status, "count": h.count} for h in f.http if h.live()],
            "refuse": {k: round(v.until - time.monotonic(), 3) for k, v in f.refuse.items()},
            "events": None if f.events is None else dict(f.events.__dict__),
        },
    }


async def _state(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    return state(sim)


async def _connections(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    return {"ok": True, "user": sim.user_hub.describe(), "market": sim.market_hub.describe()}


async def _clock(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    action = body.get("action")
    clock = sim.clock
    if action == "pause":
        clock.pause()
    elif action == "resume":
        clock.resume()
    elif action in ("advance", "set"):
        now = clock.now_ns()
        if action == "advance":
            target = now + int(_number(body, "seconds", low=0, high=MAX_CLOCK_STEP_S) * 1e9)
        else:
            when = body.get("time")
            if not isinstance(when, str):
                raise AdminError(f"time must be an ISO-8601 string, got {when!r}")
            try:
                target = to_ns(parse_timestamp(when))
            except (ValueError, OverflowError) as exc:
                raise AdminError(f"time: {exc}") from None
            if target - now > MAX_CLOCK_STEP_S * 1_000_000_000:
                raise AdminError(
                    f"time: {when} is more than {MAX_CLOCK_STEP_S} s (7 days) ahead of the simulated "
                    f"time {format_ns(now, zulu=True)}; move the clock in steps of at most 7 days"
                )
        sim.advance_clock(target)
    else:
        raise AdminError("action must be pause, resume, advance or set")
    sim.wake()
    return {"ok": True, "now": format_ns(clock.now_ns(), zulu=True), "paused": clock.paused}


async def _account(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    account_id = int(request.match_info["id"])
    mode = body.get("bracketMode")
    if mode is not None and mode not in ("autoOco", "positionBrackets"):
        raise AdminError("bracketMode must be autoOco or positionBrackets")
    balance = _number(body, "balance", low=-1e12, high=1e12) if body.get("balance") is not None else None
    account = sim.exchange.set_account(
        account_id, balance=balance, can_trade=_optional_flag(body, "canTrade"), bracket_mode=mode
    )
    if account is None:
        raise AdminError(f"no account {account_id}")
    return {"ok": True, "id": account.id, "balance": account.balance, "canTrade": account.can_trade}


async def _drop(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    conns = _conns(sim, body)
    kill = _optional_flag(body, "kill")
    for conn in conns:
        if kill:
            await conn.kill()
        else:
            await conn.abort(reason="dropped by fault injection", code=1011)
    return {"ok": True, "dropped": [c.id for c in conns]}


async def _close(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    error = _optional_text(body, "error")
    allow_reconnect = _optional_flag(body, "allowReconnect")
    conns = _conns(sim, body)
    for conn in conns:
        await conn.close(error, allow_reconnect)
    return {"ok": True, "closed": [c.id for c in conns]}


async def _stall(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    until = time.monotonic() + _number(body, "seconds", low=0)
    conns = _conns(sim, body)
    for conn in conns:
        conn.stalled_until = until
    return {"ok": True, "stalled": [c.id for c in conns]}


async def _refuse(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.add_refusal(*specs.refuse(body, time.monotonic()))
    return {"ok": True}


async def _handshake(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.set_handshake(specs.handshake(body))
    return {"ok": True}


async def _completions(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.set_completions(specs.completions(body))
    return {"ok": True}


async def _events(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.events = specs.events(body)
    return {"ok": True}


async def _http(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.http.append(specs.http(body, time.monotonic()))
    return {"ok": True}


async def _latency(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.latency = specs.latency(body)
    return {"ok": True}


async def _ratelimit(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    bucket = body.get("bucket", "all")
    if bucket not in ("all", "history"):
        raise AdminError("bucket must be all or history")
    requests = _number(body, "requests", low=1)
    if not requests.is_integer():
        raise AdminError(f"requests must be a whole number, got {requests:g}")
    sim.limiter.configure(
        str(bucket), RateLimit(requests=int(requests), period_seconds=_number(body, "seconds", above=0))
    )
    sim.limiter.enabled = True
    return {"ok": True}


async def _expire(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    return {"ok": True, "expired": sim.tokens.expire_all(_number(body, "inSeconds", 0.0, low=0))}


async def _lifetime(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.tokens.lifetime_s = specs.token_lifetime(body)
    return {"ok": True}


async def _clear(sim: Simulator, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
    sim.faults.clear()
    for hub in (sim.user_hub, sim.market_hub):
        for conn in hub.connections.values():
            conn.stalled_until = 0.0
    return {"ok": True}


def _route(sim: Simulator, handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    decoded = msgspec.json.decode(raw)
                except msgspec.DecodeError as exc:
                    return _json({"ok": False, "error": f"invalid JSON: {exc}"}, 400)
                except msgspec.ValidationError as exc:  # an integer of thousands of digits
                    return _json({"ok": False, "error": f"invalid JSON: {exc}"}, 400)
                except RecursionError:
                    return _json({"ok": False, "error": "invalid JSON: nested too deeply"}, 400)
                if not isinstance(decoded, dict):
                    return _json({"ok": False, "error": "expected a JSON object"}, 400)
                body = decoded
        try:
            return _json(await handler(sim, body, request))
        except (AdminError, ValueError, TypeError) as exc:
            return _json({"ok": False, "error": str(exc)}, 400)

    return handle


def add_routes(app: web.Application, sim: Simulator) -> None:
    routes: list[tuple[str, str, AdminHandler]] = [
        ("GET", "/admin/state", _state),
        ("GET", "/admin/connections", _connections),
        ("POST", "/admin/clock", _clock),
        ("POST", "/admin/accounts/{id:\\d+}", _account),
        ("POST", "/admin/faults/hub/drop", _drop),
        ("POST", "/admin/faults/hub/close", _close),
        ("POST", "/admin/faults/hub/stall", _stall),
        ("POST", "/admin/faults/hub/refuse", _refuse),
        ("POST", "/admin/faults/hub/handshake", _handshake),
        ("POST", "/admin/faults/hub/completions", _completions),
        ("POST", "/admin/faults/events", _events),
        ("POST", "/admin/faults/http", _http),
        ("POST", "/admin/faults/latency", _latency),
        ("POST", "/admin/faults/ratelimit", _ratelimit),
        ("POST", "/admin/faults/tokens/expire", _expire),
        ("POST", "/admin/faults/tokens/lifetime", _lifetime),
        ("DELETE", "/admin/faults", _clear),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _route(sim, handler))

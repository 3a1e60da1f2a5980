"""What every REST endpoint shares: the envelope (``success``, ``errorCode``, ``errorMessage``
plus one payload field, HTTP 200 even for business errors), 401 for a missing, bad or expired
token, 429 past the rate limits, 400 (ASP.NET validation problem) for a malformed body, and the
fault hooks (forced status codes, latency).

Bodies are bound as ASP.NET binds them (``tsxbot.sim.wire.binding``): property names
case-insensitive, numbers allowed as strings, unknown properties ignored, and a value the .NET
property cannot hold (an Int32 out of range, a fraction, NaN) HTTP 400 naming the property.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec
from aiohttp import web

from tsxbot.sim.tokens import TokenInfo, TokenProblem
from tsxbot.sim.wire.binding import BadRequest, bind
from tsxbot.sim.wire.timestamps import parse_timestamp, to_ns

if TYPE_CHECKING:
    from tsxbot.sim.faults.state import HttpFault
    from tsxbot.sim.simulator import Simulator

B = TypeVar("B", bound=msgspec.Struct)

_encoder = msgspec.json.Encoder(decimal_format="number")
JSON = "application/json; charset=utf-8"


@dataclass
class Call:
    """One REST request, authenticated (``token`` is None only for login and ping)."""

    sim: Simulator
    request: web.Request
    body: bytes
    token: TokenInfo | None
    raw_token: str | None


def envelope(
    payload: dict[str, Any] | None = None, code: int = 0, message: str | None = None
) -> web.Response:
    body: dict[str, Any] = dict(payload or {})
    body["success"] = code == 0
    body["errorCode"] = int(code)
    body["errorMessage"] = message
    return web.Response(body=_encoder.encode(body), content_type="application/json", charset="utf-8")


def problem(errors: dict[str, list[str]], status: int = 400) -> web.Response:
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": status,
        "errors": errors,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return web.Response(body=_encoder.encode(body), status=status, content_type="application/problem+json")


def parse(call: Call, kind: type[B]) -> B:
    """The body as ``kind``, bound as ASP.NET binds it, or ``BadRequest`` (-> HTTP 400)."""
    return bind(call.body, kind)


def timestamp_ns(value: str, field: str) -> int:
    """A request timestamp as UTC ns, or HTTP 400 naming the field."""
    try:
        return to_ns(parse_timestamp(value))
    except (ValueError, OverflowError):  # OverflowError: in range as written, not once in UTC
        message = f"The JSON value could not be converted to System.DateTime: {value!r}"
        raise BadRequest({f"$.{field}": [message]}) from None


Handler = Callable[[Call], Awaitable[web.Response]]
Bucket = Literal["all", "history"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    authenticated: bool = True
    bucket: Bucket = "all"


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        return token or None
    return None


def unauthorized(description: str) -> web.Response:
    return web.Response(
        status=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )


def wrap(sim: Simulator, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route with its faults, authentication, rate limit and 400 handling around it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        faults = sim.faults
        delay = faults.latency_for(route.path)
        if delay:
            await asyncio.sleep(delay)
        forced = faults.http_fault_for(route.path)
        if forced is not None and not forced.after_processing:
            return _forced_response(forced)
        raw = bearer(request)
        info: TokenInfo | None = None
        if route.authenticated:
            check = sim.tokens.check(raw)
            problem_ = check.problem
            if problem_ is None and check.info is not None:
                info = check.info
            elif route.path == "/api/Auth/validate" and problem_ is TokenProblem.EXPIRED:
                info = check.info  # the validate handler decides what an expired token gets
            else:
                return unauthorized(f"token {problem_.value if problem_ is not None else 'invalid'}")
        limited = sim.rate_limit(route.bucket, request, info, raw)
        if limited is not None:
            return limited
        body = await request.read() if request.can_read_body else b""
        call = Call(sim, request, body, info, raw)
        try:
            response = await route.handler(call)
        except BadRequest as exc:
            return problem(exc.errors)
        return _forced_response(forced) if forced is not None else response

    return handle


def _forced_response(fault: HttpFault) -> web.Response:
    headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
    return web.Response(status=fault.status, headers=headers)

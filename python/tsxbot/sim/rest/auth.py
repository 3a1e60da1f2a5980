"""Auth/loginKey, Auth/validate, Auth/logout (and Auth/loginApp, which API-key users cannot use)."""

from __future__ import annotations

import hmac

from aiohttp import web

from tsxbot.gateway.enums import LoginErrorCode, ValidateErrorCode
from tsxbot.sim.rest.common import Call, Route, envelope, parse, unauthorized
from tsxbot.sim.tokens import TokenProblem
from tsxbot.sim.wire.requests import LoginKeyRequest


async def login_key(call: Call) -> web.Response:
    body = parse(call, LoginKeyRequest)
    creds = call.sim.config.credentials
    user_ok = body.user_name.lower() == creds.user_name.lower()  # "Case does not matter."
    key_ok = hmac.compare_digest(body.api_key.encode(), creds.api_key.encode())
    if not (user_ok and key_ok):
        return envelope({"token": None}, LoginErrorCode.INVALID_CREDENTIALS)
    return envelope({"token": call.sim.tokens.issue(creds.user_name)})


async def login_app(call: Call) -> web.Response:
    return envelope({"token": None}, LoginErrorCode.APP_NOT_FOUND)


async def validate(call: Call) -> web.Response:
    tokens = call.sim.tokens
    info = call.token
    assert info is not None
    check = tokens.check(call.raw_token)
    if check.problem is TokenProblem.EXPIRED:
        mode = call.sim.config.auth.validate_expired
        if mode == "unauthorized":
            return unauthorized("token expired")
        if mode == "errorCode":
            return envelope({"newToken": None}, ValidateErrorCode.EXPIRED_TOKEN)
    return envelope({"newToken": tokens.issue(info.user_name)})


async def logout(call: Call) -> web.Response:
    assert call.token is not None
    call.sim.tokens.revoke(call.token.jti)
    await call.sim.token_revoked(call.token.jti)
    return envelope()


ROUTES = [
    Route("POST", "/api/Auth/loginKey", login_key, authenticated=False),
    Route("POST", "/api/Auth/loginApp", login_app, authenticated=False),
    Route("POST", "/api/Auth/validate", validate),
    Route("POST", "/api/Auth/logout", logout),
]

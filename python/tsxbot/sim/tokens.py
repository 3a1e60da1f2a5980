"""Session tokens: JWT-shaped (HS256, ``exp`` 24 h out by default), checked on every REST call
and at every hub connect. Expiry uses real time, since clients compare ``exp`` with their clock.
Logging in again issues a new token and leaves older ones valid; logout revokes one token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum


class TokenProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "badSignature"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass
class TokenInfo:
    jti: str
    user_name: str
    issued_at: float
    expires_at: float
    revoked: bool = False


class TokenCheck:
    __slots__ = ("info", "problem")

    def __init__(self, info: TokenInfo | None, problem: TokenProblem | None) -> None:
        self.info = info
        self.problem = problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenStore:
    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._secret = secrets.token_bytes(32)
        self._tokens: dict[str, TokenInfo] = {}
        # Every token issued, as issued: one presented again (every request) needs no signature
        # check or decoding, being byte for byte one this store signed.
        self._issued: dict[str, TokenInfo] = {}
        self.issued = 0

    def issue(self, user_name: str) -> str:
        now = time.time()
        jti = secrets.token_hex(16)
        info = TokenInfo(jti=jti, user_name=user_name, issued_at=now, expires_at=now + self.lifetime_s)
        self._tokens[jti] = info
        self.issued += 1
        header = _b64(b'{"alg":"HS256","typ":"JWT"}')
        claims = {
            "sub": user_name,
            "name": user_name,
            "jti": jti,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(info.expires_at),
            "iss": "tsxbot-sim",
            "aud": "projectx-gateway",
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        token = f"{header}.{payload}.{signature}"
        self._issued[token] = info
        return token

    def check(self, token: str | None) -> TokenCheck:
        if not token:
            return TokenCheck(None, TokenProblem.MISSING)
        info = self._issued.get(token)
        if info is not None:
            return self._state_of(info)
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():  # a JWT is ASCII (and compare_digest needs it)
            return TokenCheck(None, TokenProblem.MALFORMED)
        expected = _b64(hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return TokenCheck(None, TokenProblem.BAD_SIGNATURE)
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            jti = json.loads(base64.urlsafe_b64decode(padded))["jti"]
        except (ValueError, KeyError, TypeError):
            return TokenCheck(None, TokenProblem.MALFORMED)
        info = self._tokens.get(jti)
        if info is None:
            return TokenCheck(None, TokenProblem.UNKNOWN)
        return self._state_of(info)

    @staticmethod
    def _state_of(info: TokenInfo) -> TokenCheck:
        """A well-formed, signed token's standing: revoked, expired (real time), or valid."""
        if info.revoked:
            return TokenCheck(info, TokenProblem.REVOKED)
        if time.time() >= info.expires_at:
            return TokenCheck(info, TokenProblem.EXPIRED)
        return TokenCheck(info, None)

    def revoke(self, jti: str) -> None:
        info = self._tokens.get(jti)
        if info is not None:
            info.revoked = True

    def expire_all(self, in_seconds: float = 0.0) -> int:
        """Fault: every token issued so far expires ``in_seconds`` from now (sooner only)."""
        deadline = time.time() + in_seconds
        count = 0
        for info in self._tokens.values():
            if info.expires_at > deadline:
                info.expires_at = deadline
                count += 1
        return count

"""The ProjectX session token: when it expires (from the JWT's ``exp``) and when to refresh it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

# ProjectX tokens live 24 h; used when a token's expiry cannot be read.
DEFAULT_LIFETIME = dt.timedelta(hours=24)


def jwt_expiry(token: str) -> dt.datetime | None:
    """The ``exp`` claim of a JWT (not verified: only the server can), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return dt.datetime.fromtimestamp(float(claims["exp"]), dt.UTC)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, OverflowError):
        return None


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: dt.datetime

    @classmethod
    def from_token(cls, token: str, now: dt.datetime) -> Session:
        return cls(token, jwt_expiry(token) or now + DEFAULT_LIFETIME)

    def needs_refresh(self, now: dt.datetime, margin: dt.timedelta) -> bool:
        return now >= self.expires_at - margin

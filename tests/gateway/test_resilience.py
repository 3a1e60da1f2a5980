"""Rate limiter, backoff and circuit breaker, timed on the real clock."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tsxbot.gateway.auth import Session, jwt_expiry
from tsxbot.gateway.resilience import Backoff, CircuitBreaker, SlidingWindowLimiter


async def test_limiter_allows_the_limit_then_waits_for_the_window() -> None:
    limiter = SlidingWindowLimiter(5, 0.3)
    start = time.monotonic()
    for _ in range(5):
        await limiter.acquire()
    assert time.monotonic() - start < 0.1
    await limiter.acquire()  # the sixth waits until the first leaves the window
    assert time.monotonic() - start >= 0.29
    assert limiter.waits == 1


async def test_limiter_never_exceeds_the_limit_in_any_window() -> None:
    limiter = SlidingWindowLimiter(4, 0.2)
    stamps: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        stamps.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(12)))
    stamps.sort()
    for i in range(len(stamps) - 4):
        assert stamps[i + 4] - stamps[i] >= 0.2 - 0.005


async def test_a_held_place_counts_from_when_the_request_ends() -> None:
    """The server counts a request when it arrives (after it was sent): a place dated from the
    answer keeps the server's count under the limit whatever the network delays."""
    limiter = SlidingWindowLimiter(2, 0.3)
    start = time.monotonic()

    async def request(seconds: float) -> float:
        async with limiter.slot():
            began = time.monotonic() - start
            await asyncio.sleep(seconds)
        return began

    first = await asyncio.gather(request(0.2), request(0.2))
    assert max(first) < 0.1
    third = await request(0.0)  # both places count from ~0.2 s: free again at ~0.5 s, not 0.3 s
    assert third >= 0.49
    one = SlidingWindowLimiter(1, 0.1)
    start = time.monotonic()
    await asyncio.gather(*(_hold(one, 0.1) for _ in range(2)))  # the second waits for the first's end
    assert time.monotonic() - start >= 0.29  # 0.1 held, 0.1 in the window, 0.1 held


async def _hold(limiter: SlidingWindowLimiter, seconds: float) -> None:
    async with limiter.slot():
        await asyncio.sleep(seconds)


def test_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(0, 1)


def test_backoff_grows_caps_and_jitters() -> None:
    backoff = Backoff(base=0.5, factor=2, cap=4)
    rng = random.Random(1)
    delays = [backoff.delay(a, rng) for a in range(6)]
    nominal = [0.5, 1, 2, 4, 4, 4]
    for delay, top in zip(delays, nominal, strict=True):
        assert top / 2 <= delay <= top


def test_circuit_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=0.05)
    for _ in range(2):
        breaker.failure()
    assert breaker.check() is None  # still closed
    breaker.failure()
    wait = breaker.check()
    assert wait is not None
    assert 0 < wait <= 0.05
    time.sleep(0.06)
    assert breaker.check() is None  # one trial call
    assert breaker.check() is not None  # others wait while the trial runs
    breaker.failure()  # the trial failed: open again
    assert breaker.check() is not None
    time.sleep(0.06)
    assert breaker.check() is None
    breaker.success()
    assert not breaker.is_open
    assert breaker.check() is None


def test_jwt_expiry_and_refresh_window() -> None:
    import base64
    import datetime as dt
    import json

    def jwt(claims: dict[str, object]) -> str:
        enc = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"eyJhbGciOiJIUzI1NiJ9.{enc}.sig"

    exp = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    token = jwt({"sub": "demo", "exp": exp.timestamp()})
    assert jwt_expiry(token) == exp
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry(jwt({"sub": "no exp"})) is None
    now = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)
    session = Session.from_token(token, now)
    assert not session.needs_refresh(now, dt.timedelta(hours=1))
    assert session.needs_refresh(now + dt.timedelta(minutes=61), dt.timedelta(hours=1))
    opaque = Session.from_token("opaque", now)
    assert opaque.expires_at == now + dt.timedelta(hours=24)

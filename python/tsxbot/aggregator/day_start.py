"""The day's starting balance on a fresh start (no saved state, nothing journaled today): from the
exchange, never from ``risk.startingBalance``.

The connection manager's ``GET /account/balance?service=aggregator`` gives the balance and
``GET /api/fills?since=...`` the fills it holds (TopStepX Trade/search over the last 24 h at its
first reconciliation, then every fill it published; ``completeSince`` says from when the list is
whole, ``exchangeTime`` the exchange's time). The day started at 17:00 CT by the exchange clock,
so its start is ``balance - (realized - fees)`` of that trading day's fills. The fills are read
before and after the balance and must agree (no fill in between), else it asks again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import msgspec

from tsxbot.aggregator.trading_state import CHICAGO, trading_day
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.messages import Fill

log = get_logger("tsxbot.aggregator")
ATTEMPTS = 8
FIRST_RETRY_SECONDS = 0.25
MAX_RETRY_SECONDS = 2.0
T = TypeVar("T")


class DayStartUnavailable(Exception):
    """The exchange's figures for today could not be had (the reason is the message)."""


@dataclass(frozen=True)
class DayFigures:
    """Today at the exchange: the balance read, the day's start, its realized P&L (before fees)
    and fees, and the fills they come from (already in the balance)."""

    trading_day: dt.date
    balance: float
    start: float
    realized: float
    fees: float
    fill_ids: frozenset[int]


class _Fills(msgspec.Struct, rename="camel"):
    fills: list[Fill]
    complete_since: dt.datetime | None = None
    exchange_time: dt.datetime | None = None


class _Balance(msgspec.Struct, rename="camel"):
    account_id: int
    balance: float


def day_opened_at(day: dt.date) -> dt.datetime:
    """17:00 Chicago time the evening before the trading day ``day``."""
    return dt.datetime.combine(day - dt.timedelta(days=1), dt.time(17), CHICAGO).astimezone(dt.UTC)


def figures_of(fills: list[Fill], account_id: int, day: dt.date, balance: float) -> DayFigures:
    """The day's figures from the exchange's fills of ``account_id`` (voided ones left out)."""
    today = [
        f for f in fills if f.account_id == account_id and not f.voided and trading_day(f.timestamp) == day
    ]
    realized = sum(f.realized_pnl or 0.0 for f in today)
    fees = sum(f.fees for f in today)
    return DayFigures(
        day, balance, balance - (realized - fees), realized, fees, frozenset(f.fill_id for f in today)
    )


async def _get(http: httpx.AsyncClient, url: str, kind: type[T], **params: str) -> T:
    response = await http.get(url, params=params)
    if response.status_code != 200:
        raise DayStartUnavailable(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:
        raise DayStartUnavailable(f"{url}: unreadable answer: {exc}") from None


async def _read_once(
    http: httpx.AsyncClient, base: str, account_id: int, exchange_now: Callable[[], dt.datetime | None]
) -> DayFigures:
    # (a time after every fill: only the exchange's time is wanted)
    probe = await _get(http, f"{base}/api/fills", _Fills, since="9999-12-31T00:00:00Z")
    now = probe.exchange_time or exchange_now()
    if now is None:
        raise DayStartUnavailable("the exchange's time is not known yet")
    day = trading_day(now)
    since = day_opened_at(day).isoformat()
    before = await _get(http, f"{base}/api/fills", _Fills, since=since)
    if before.complete_since is None or before.complete_since > day_opened_at(day):
        raise DayStartUnavailable(
            f"the connection manager holds fills only from {before.complete_since} "
            f"(the trading day opened {since})"
        )
    account = await _get(http, f"{base}/account/balance", _Balance, service="aggregator")
    if account.account_id != account_id:
        raise DayStartUnavailable(
            f"the connection manager's balance is of account {account.account_id}, not {account_id}"
        )
    after = await _get(http, f"{base}/api/fills", _Fills, since=since)
    if [f.fill_id for f in after.fills] != [f.fill_id for f in before.fills]:
        raise DayStartUnavailable("a fill arrived while the balance was read")
    return figures_of(after.fills, account_id, day, account.balance)


async def day_figures_from_exchange(
    config: Config,
    api_key: Secret,
    account_id: int,
    exchange_now: Callable[[], dt.datetime | None],
    attempts: int | None = None,
) -> DayFigures:
    """Today's figures of ``account_id`` from the connection manager, asked up to ``attempts``
    times with backoff (it may still be starting); raises :class:`DayStartUnavailable`."""
    endpoint = config.global_config.services.connection_manager
    base = f"http://{endpoint.host}:{endpoint.port}"
    delay = FIRST_RETRY_SECONDS
    problem = "not asked"
    attempts = attempts or ATTEMPTS
    async with httpx.AsyncClient(timeout=5.0, headers={"X-API-Key": api_key.reveal()}) as http:
        for attempt in range(1, attempts + 1):
            try:
                return await _read_once(http, base, account_id, exchange_now)
            except DayStartUnavailable as exc:
                problem = str(exc)
            except httpx.HTTPError as exc:
                problem = f"{base}: {exc or type(exc).__name__}"
            if attempt < attempts:
                log.info(
                    "today's figures not available from the exchange yet", problem=problem, attempt=attempt
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
    raise DayStartUnavailable(problem)

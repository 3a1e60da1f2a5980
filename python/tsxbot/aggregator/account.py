"""Which account the aggregator watches and trades: ``topstepx.accountId`` when set, else the one
its saved state belongs to, else the account the connection manager trades for it (asked on its
API, ``GET /current-account/aggregator``, until it answers). Until then the aggregator handles no
durable message (they wait on the bus), so no other account's fills are ever counted."""

from __future__ import annotations

import asyncio

import httpx

from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger

log = get_logger("tsxbot.aggregator")
FIRST_RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 5.0


async def account_from_connection_manager(config: Config, api_key: Secret, service: str) -> int:
    endpoint = config.global_config.services.connection_manager
    url = f"http://{endpoint.host}:{endpoint.port}/current-account/{service}"
    delay = FIRST_RETRY_SECONDS
    async with httpx.AsyncClient(timeout=5.0, headers={"X-API-Key": api_key.reveal()}) as http:
        while True:
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    account = response.json()["accountId"]
                    if isinstance(account, int) and not isinstance(account, bool):
                        return account
                    problem = f"no account id in the answer: {response.text[:200]}"
                else:
                    problem = f"HTTP {response.status_code}: {response.text[:200]}"
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                problem = str(exc) or type(exc).__name__
            log.warning(
                "waiting for the connection manager to say which account to trade",
                url=url,
                problem=problem,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

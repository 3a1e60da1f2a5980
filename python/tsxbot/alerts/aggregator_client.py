"""The aggregator's own HTTP API (``services.aggregator``, ``X-API-Key``), the one way the
notifier reads the trading state and acts on it: commands are the API's kill-switch calls, with
``requestedBy`` naming who sent them (so the aggregator journals each with its sender)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from tsxbot.config.secrets import Secret


class AggregatorUnavailable(Exception):
    """The API did not answer, or answered with an error (the message says which)."""


class AggregatorClient:
    def __init__(self, http: httpx.AsyncClient, base_url: Callable[[], str], api_key: Secret) -> None:
        self.http = http
        self.base_url = base_url
        self._key = api_key

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base_url().rstrip("/") + path
        headers = {"X-API-Key": self._key.reveal()}
        try:
            if method == "GET":
                response = await self.http.get(url, headers=headers)
            else:
                response = await self.http.post(url, headers=headers, content=msgspec.json.encode(body or {}))
        except httpx.HTTPError as exc:
            raise AggregatorUnavailable(
                f"the aggregator at {self.base_url()} did not answer ({type(exc).__name__})"
            ) from None
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            data = None
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise AggregatorUnavailable(f"the aggregator answered {response.status_code}: {error}")
        return data

    async def status(self) -> dict[str, Any]:
        data = await self._call("GET", "/status")
        return data if isinstance(data, dict) else {}

    async def positions(self) -> dict[str, Any]:
        data = await self._call("GET", "/positions")
        return data if isinstance(data, dict) else {}

    async def events(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/risk/events")
        events = data.get("events") if isinstance(data, dict) else None
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    async def control(self, path: str, requested_by: str, reason: str) -> dict[str, Any]:
        """``path``: ``/halt``, ``/resume``, ``/flatten``, ``/bots/{id}/pause``, ``/bots/{id}/resume``."""
        data = await self._call("POST", path, {"requestedBy": requested_by[:128], "reason": reason[:1000]})
        return data if isinstance(data, dict) else {}

"""How a page's server calls a service's HTTP API on a person's behalf: with the internal key
(after the page's server checked the person's role), mapping what can go wrong to an answer the
page can show: the service not answering is a 503 saying nothing was done, the service refusing
the server's own key a 502."""

from __future__ import annotations

from typing import Any

import httpx
from aiohttp import web

from tsxbot.config.secrets import Secret
from tsxbot.runtime.http import error_response, json_response

TIMEOUT_SECONDS = 10.0


class ServiceClient:
    def __init__(self, api_key: Secret, what: str) -> None:
        self.api_key = api_key
        self.what = what  # who calls, for the messages: "control panel"
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers={"X-API-Key": self.api_key.reveal()})

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get(self, url: str) -> tuple[int | None, Any]:
        """(status, JSON body), or (None, why) when the service did not answer."""
        assert self._http is not None
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            return None, f"no answer: {type(exc).__name__}"
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:200]

    async def post(self, url: str, body: Any, service: str) -> web.Response:
        """The service's answer to POST ``body`` to ``url``, as the page's answer."""
        assert self._http is not None
        try:
            response = await self._http.post(url, json=body)
        except httpx.HTTPError as exc:
            return error_response(
                503, f"the {service} did not answer ({type(exc).__name__}): nothing was done"
            )
        if response.status_code in (401, 403):  # the server's own key, not the person's
            return error_response(502, f"the {service} refused the {self.what}'s key: nothing was done")
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": response.text[:200]}
        return json_response(answer, response.status_code if response.status_code < 500 else 502)

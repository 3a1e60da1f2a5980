"""The channels' HTTP contracts, one class each: Telegram's Bot API (``sendMessage``), a Discord
webhook, a Slack incoming webhook and a generic JSON webhook. A send either returns or raises
``DeliveryError`` saying whether to retry and after how long (the channel's own ``retry_after``).

Tokens and webhook URLs are secrets: they are never logged, and no error message carries them
(errors name the channel, the HTTP status and the channel's own description only).
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import httpx
import msgspec

from tsxbot.alerts.events import Alert
from tsxbot.alerts.format import highest_level, render
from tsxbot.config.secrets import Secret


class DeliveryError(Exception):
    """A send that failed: ``retry`` when trying again may work (network, 429, 5xx), with the
    channel's ``retry_after`` seconds when it said one."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


def _retry_after_header(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


async def post_json(http: httpx.AsyncClient, what: str, url: str, body: Any) -> httpx.Response:
    """POSTs ``body``; a transport failure is a retryable ``DeliveryError`` naming ``what`` (not
    the URL: it may hold a token)."""
    try:
        return await http.post(
            url, content=msgspec.json.encode(body), headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}", retry=True) from None


def check_status(what: str, response: httpx.Response, retry_after: float | None = None) -> None:
    """2xx passes; 408, 429 and 5xx are retryable; any other status is not."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retry = status in (408, 429) or status >= 500
    after = retry_after if retry_after is not None else _retry_after_header(response)
    raise DeliveryError(f"{what}: HTTP {status} {_short(response.text)}", retry=retry, retry_after=after)


class Transport(ABC):
    """Where one outbox sends: ``name`` for logs and metrics, ``limit`` chars per message."""

    name: str
    limit: int = 4000

    @abstractmethod
    async def send(self, alerts: Sequence[Alert]) -> None: ...


class TelegramApi:
    """The part of the Bot API the notifier uses: ``getMe``, ``sendMessage`` and ``getUpdates``.
    Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
    "description": "...", "parameters": {"retry_after": N}}``."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: Secret) -> None:
        self.http = http
        self._base = base_url.rstrip("/")
        self._token = token

    def _url(self, method: str) -> str:
        return f"{self._base}/bot{self._token.reveal()}/{method}"

    async def call(self, method: str, body: dict[str, Any], *, wait_s: float | None = None) -> Any:
        what = f"telegram {method}"
        try:
            response = await self.http.post(
                self._url(method),
                content=msgspec.json.encode(body),
                headers={"Content-Type": "application/json"},
                timeout=wait_s if wait_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{what}: {type(exc).__name__}", retry=True) from None
        envelope = _bot_api_answer(response.content)
        if envelope is None:
            check_status(what, response)
            raise DeliveryError(f"{what}: not a Bot API answer (HTTP {response.status_code})", retry=True)
        if envelope.ok:
            return envelope.result
        code = envelope.error_code or response.status_code
        retry_after = envelope.parameters.retry_after if envelope.parameters else None
        retry = code == 429 or code >= 500 or retry_after is not None
        raise DeliveryError(
            f"{what}: {code} {_short(envelope.description or '')}", retry=retry, retry_after=retry_after
        )

    async def send_message(self, chat_id: int, text: str) -> None:
        await self.call("sendMessage", {"chat_id": chat_id, "text": text, "disable_web_page_preview": True})


class ResponseParameters(msgspec.Struct, frozen=True):
    retry_after: float | None = None
    migrate_to_chat_id: int | None = None


class TelegramResponse(msgspec.Struct, frozen=True):
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    parameters: ResponseParameters | None = None


def _bot_api_answer(content: bytes) -> TelegramResponse | None:
    """The answer's envelope; None when it is not one. Numbers msgspec cannot hold (an integer
    beyond 64 bits somewhere in an update) go through the standard library, so one odd update
    is skipped by the reader instead of failing every poll after it."""
    try:
        return msgspec.json.decode(content, type=TelegramResponse)
    except msgspec.DecodeError:
        pass
    try:
        return msgspec.convert(json.loads(content), TelegramResponse)
    except (ValueError, RecursionError, msgspec.ValidationError):
        return None


class TelegramTransport(Transport):
    """One chat: ``sendMessage`` (plain text, at most 4096 characters)."""

    limit = 4096

    def __init__(self, api: TelegramApi, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id
        self.name = f"telegram:{chat_id}"

    async def send(self, alerts: Sequence[Alert]) -> None:
        await self.api.send_message(self.chat_id, render(alerts, self.limit))


class DiscordTransport(Transport):
    """An "Execute Webhook" URL: ``{"content": ...}`` (at most 2000 characters), mentions off;
    204 (or 200 with ``?wait=true``) when posted, 429 ``{"retry_after": seconds, "global": ...}``."""

    name = "discord"
    limit = 2000

    def __init__(self, http: httpx.AsyncClient, url: Secret) -> None:
        self.http = http
        self._url = url

    async def send(self, alerts: Sequence[Alert]) -> None:
        body = {"content": render(alerts, self.limit), "allowed_mentions": {"parse": []}}
        response = await post_json(self.http, self.name, self._url.reveal(), body)
        retry_after = None
        if response.status_code == 429:
            try:
                retry_after = float(msgspec.json.decode(response.content).get("retry_after"))
            except (msgspec.DecodeError, AttributeError, TypeError, ValueError):
                retry_after = None
        check_status(self.name, response, retry_after)


class SlackTransport(Transport):
    """An incoming webhook: ``{"text": ...}``; 200 ``ok``, errors as plain text
    (``invalid_payload``, ``no_service`` ...), 429 with ``Retry-After``."""

    name = "slack"
    limit = 3000

    def __init__(self, http: httpx.AsyncClient, url: Secret) -> None:
        self.http = http
        self._url = url

    async def send(self, alerts: Sequence[Alert]) -> None:
        response = await post_json(
            self.http, self.name, self._url.reveal(), {"text": render(alerts, self.limit)}
        )
        check_status(self.name, response)


class WebhookTransport(Transport):
    """Any HTTP endpoint: one JSON document per message (below); any 2xx is delivered, 408,
    429 and 5xx are retried (honouring ``Retry-After``), other statuses are not.

    ``{"source": "tsxbot", "level": "WARNING", "text": "...", "count": 2, "sentAt": "...",
       "alerts": [{"kind", "level", "title", "text", "at", "key", "fields"}]}``
    """

    name = "webhook"
    limit = 100_000

    def __init__(self, http: httpx.AsyncClient, url: Secret) -> None:
        self.http = http
        self._url = url

    async def send(self, alerts: Sequence[Alert]) -> None:
        body = {
            "source": "tsxbot",
            "level": highest_level(alerts),
            "text": render(alerts, self.limit),
            "count": len(alerts),
            "sentAt": dt.datetime.now(dt.UTC).isoformat(),
            "alerts": [
                {
                    "kind": a.kind.value,
                    "level": a.level,
                    "title": a.title,
                    "text": a.text,
                    "at": a.at.isoformat(),
                    "key": a.key,
                    "fields": a.fields,
                }
                for a in alerts
            ],
        }
        response = await post_json(self.http, self.name, self._url.reveal(), body)
        check_status(self.name, response)

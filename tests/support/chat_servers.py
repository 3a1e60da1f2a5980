"""A real local HTTP server (aiohttp) speaking the parts of the chat services' contracts the
notifier uses, following their official formats:

- Telegram Bot API, ``/bot<token>/<method>``: ``getMe``, ``sendMessage`` (``chat_id``, ``text``
  <= 4096 characters) and ``getUpdates`` (``offset`` confirms every update below it, ``timeout``
  long-polls until an update arrives); answers ``{"ok": true, "result": ...}`` or ``{"ok":
  false, "error_code": N, "description": "...", "parameters": {"retry_after": N}}`` with the
  same HTTP status (401 for a wrong token, 400 "chat not found", 429 "Too Many Requests: retry
  after N");
- a Discord "Execute Webhook" URL: ``{"content"}`` (1-2000 characters) -> 204, 429 ``{"message",
  "retry_after" (seconds), "global"}``, 400 ``{"code": 50006, "message": "Cannot send an empty
  message"}``;
- a Slack incoming webhook: ``{"text"}`` -> 200 ``ok``; 400 ``invalid_payload`` or
  ``no_text``; 429 with ``Retry-After``;
- a generic JSON webhook that records what it gets (200).

``fail(path, status, count)`` makes the next ``count`` posts to a path fail; ``dead=True`` paths
answer 503 forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"


def _update_id(update: Any) -> int | None:
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _confirmed(update: Any, offset: int) -> bool:
    update_id = _update_id(update)
    return update_id is not None and update_id < offset


@dataclass
class Failure:
    status: int
    count: int
    retry_after: float = 0.2


@dataclass
class ChatServers:
    token: str = TOKEN
    username: str = "tsxbot_test_bot"
    known_chats: set[int] = field(default_factory=set)
    telegram: dict[int, list[str]] = field(default_factory=dict)  # chat id -> texts sent
    discord: list[dict[str, Any]] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)
    webhook: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    dead: set[str] = field(default_factory=set)
    calls: dict[str, int] = field(default_factory=dict)
    get_updates_offsets: list[int | None] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._telegram)
        app.router.add_post("/discord/{id}/{secret}", self._discord)
        app.router.add_post("/slack/{a}/{b}/{c}", self._slack)
        app.router.add_post("/hook", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, path: str, status: int, count: int, retry_after: float = 0.2) -> None:
        self.failures[path] = Failure(status, count, retry_after)

    def _failure(self, path: str) -> Failure | None:
        self.calls[path] = self.calls.get(path, 0) + 1
        if path in self.dead:
            return Failure(503, 1)
        failure = self.failures.get(path)
        if failure is None or failure.count <= 0:
            return None
        failure.count -= 1
        return failure

    # --- Telegram ---------------------------------------------------------------------------------

    def push_message(
        self, chat_id: int, text: str, user_id: int | None = None, username: str | None = "trader"
    ) -> int:
        """A user writes ``text`` in chat ``chat_id``: an update for getUpdates."""
        update_id = next(self._ids)
        sender = {"id": user_id or chat_id, "is_bot": False, "first_name": "T"}
        if username:
            sender["username"] = username
        self.updates.append(
            {
                "update_id": update_id,
                "message": {
                    "message_id": update_id * 10,
                    "from": sender,
                    "chat": {"id": chat_id, "type": "private"},
                    "date": 1764000000,
                    "text": text,
                },
            }
        )
        self._arrived.set()
        return update_id

    def push_raw(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._arrived.set()

    @staticmethod
    def _tg(
        result: Any = None, *, status: int = 200, description: str = "", retry_after: float | None = None
    ) -> web.Response:
        if status == 200:
            body: dict[str, Any] = {"ok": True, "result": result}
        else:
            body = {"ok": False, "error_code": status, "description": description}
            if retry_after is not None:
                body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _telegram(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._tg(status=401, description="Unauthorized")
        method = request.match_info["method"]
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._tg(status=400, description="Bad Request: invalid JSON")
        if method == "getMe":
            return self._tg({"id": 123456, "is_bot": True, "first_name": "tsxbot", "username": self.username})
        if method == "getUpdates":
            return await self._get_updates(body)
        if method != "sendMessage":
            return self._tg(status=404, description="Not Found")
        failure = self._failure("sendMessage")
        if failure is not None:
            if failure.status == 429:
                return self._tg(
                    status=429,
                    description=f"Too Many Requests: retry after {failure.retry_after}",
                    retry_after=failure.retry_after,
                )
            return self._tg(status=failure.status, description="Internal Server Error")
        chat, text = body.get("chat_id"), body.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._tg(status=400, description="Bad Request: message text is empty")
        if len(text) > 4096:
            return self._tg(status=400, description="Bad Request: message is too long")
        if chat not in self.known_chats:
            return self._tg(status=400, description="Bad Request: chat not found")
        self.telegram.setdefault(chat, []).append(text)
        return self._tg(
            {"message_id": next(self._ids), "chat": {"id": chat, "type": "private"}, "date": 0, "text": text}
        )

    async def _get_updates(self, body: dict[str, Any]) -> web.Response:
        offset, timeout = body.get("offset"), body.get("timeout", 0)
        self.get_updates_offsets.append(offset)
        if isinstance(offset, int):  # confirms every update below it
            self.updates = [u for u in self.updates if not _confirmed(u, offset)]
        if not self.updates and isinstance(timeout, int | float) and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(float(timeout), 5.0))
        batch = list(self.updates[:100])
        # (the fuzz test's malformed updates, without an id, cannot be confirmed: sent once)
        self.updates = [u for u in self.updates if u not in batch or _update_id(u) is not None]
        return self._tg(batch)

    # --- Discord, Slack, generic ------------------------------------------------------------------

    async def _discord(self, request: web.Request) -> web.Response:
        failure = self._failure("discord")
        if failure is not None:
            if failure.status == 429:
                return web.json_response(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": failure.retry_after,
                        "global": False,
                    },
                    status=429,
                    headers={"Retry-After": str(failure.retry_after)},
                )
            return web.json_response({"message": "Service Unavailable", "code": 0}, status=failure.status)
        body = await request.json()
        content = body.get("content")
        if not content:
            return web.json_response({"code": 50006, "message": "Cannot send an empty message"}, status=400)
        if len(content) > 2000:
            return web.json_response(
                {"code": 50035, "message": "Invalid Form Body", "errors": {"content": {}}}, status=400
            )
        self.discord.append(body)
        return web.Response(status=204)

    async def _slack(self, request: web.Request) -> web.Response:
        failure = self._failure("slack")
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return web.Response(
                status=failure.status,
                text="rate_limited" if failure.status == 429 else "error",
                headers=headers,
            )
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        if not body.get("text"):
            return web.Response(status=400, text="no_text")
        self.slack.append(body)
        return web.Response(text="ok")

    async def _webhook(self, request: web.Request) -> web.Response:
        failure = self._failure("webhook")
        if failure is not None:
            return web.Response(status=failure.status, headers={"Retry-After": str(failure.retry_after)})
        self.webhook.append(await request.json())
        return web.json_response({"received": True})

    def texts(self, channel: str) -> list[str]:
        if channel == "discord":
            return [b["content"] for b in self.discord]
        if channel == "slack":
            return [b["text"] for b in self.slack]
        if channel == "webhook":
            return [b["text"] for b in self.webhook]
        return [t for texts in self.telegram.values() for t in texts]

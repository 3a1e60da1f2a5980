"""One SignalR hub connection (user or market) whose subscriptions survive reconnects.

Built on pysignalr (asyncio-native, the client the maintained TopStepX SDK runs on), used
defensively as the protocol notes advise: the token goes in the URL and in a Bearer header; a
supervisor owns ``client.run()`` and, on ANY drop (socket closed, server Close, stale feed, token
about to expire), throws the client away and builds a fresh one (fresh negotiate, fresh token),
then re-invokes every subscription. pysignalr's own reconnect loop is never relied on. Handlers
never raise into pysignalr; sends are serialized.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from pysignalr.client import SignalRClient
from pysignalr.exceptions import AuthorizationError
from pysignalr.messages import CompletionMessage

from tsxbot.config.global_config import GatewaySettings
from tsxbot.gateway.auth import jwt_expiry
from tsxbot.log import get_logger

EventHandler = Callable[[str, list[Any]], Awaitable[None]]
TokenProvider = Callable[[], Awaitable[str]]
# Called with the token the server refused; returns a new one.
TokenRenewer = Callable[[str | None], Awaitable[str]]
log = get_logger("tsxbot.gateway.hub")


class HubState(StrEnum):
    STOPPED = "STOPPED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"


class HubInvocationError(Exception):
    def __init__(self, hub: str, method: str, error: str) -> None:
        super().__init__(f"{hub}: {method} failed: {error}")
        self.method = method
        self.error = error


def hub_url_with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("access_token="))
    query = "&".join(p for p in (query, urlencode({"access_token": token})) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class HubConnection:
    """``events`` lists the targets to listen for (``GatewayQuote``...); ``on_event(target, args)``
    gets each one. ``on_connected(first)`` runs after every (re)connect, once subscriptions are
    re-invoked. ``expect_traffic()`` says whether silence now means a dead feed (market hours)."""

    def __init__(
        self,
        name: str,
        url: str,
        token: TokenProvider,
        renew_token: TokenRenewer,
        events: list[str],
        on_event: EventHandler,
        settings: GatewaySettings | None = None,
        *,
        on_connected: Callable[[bool], Awaitable[None]] | None = None,
        on_disconnected: Callable[[str], Awaitable[None]] | None = None,
        expect_traffic: Callable[[], bool] | None = None,
        invoke_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.url = url
        self.settings = settings or GatewaySettings()
        self._token = token
        self._renew_token = renew_token
        self._rejected_token: str | None = None
        self._token_refused = False
        self._events = events
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._expect_traffic = expect_traffic or (lambda: False)
        self._connected_token_expiry: float | None = None
        self._invoke_timeout = invoke_timeout
        self._subscriptions: dict[tuple[str, tuple[Any, ...]], None] = {}
        self._client: SignalRClient | None = None
        self._send_lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._dropped = asyncio.Event()
        self._drop_reason = ""
        self._stopping = False
        self.state = HubState.STOPPED
        self.connects = 0
        self.last_message_at = 0.0
        self.handler_errors = 0

    # --- public API -------------------------------------------------------------------------------

    async def start(self, wait: float | None = 15.0) -> None:
        """Starts the supervisor; with ``wait``, returns once connected (TimeoutError if not)."""
        if self._supervisor is None:
            self._stopping = False
            self._supervisor = asyncio.create_task(self._supervise(), name=f"hub-{self.name}")
        if wait is not None:
            await asyncio.wait_for(self._connected.wait(), wait)

    async def stop(self) -> None:
        self._stopping = True
        self._dropped.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            # asyncio.wait, not ``await task`` under suppress(CancelledError): that would also
            # swallow a cancellation of this stop() itself (the runner's stop timeout).
            await asyncio.wait({self._supervisor})
            self._supervisor = None
        self._connected.clear()
        self.state = HubState.STOPPED

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscriptions(self) -> list[tuple[str, tuple[Any, ...]]]:
        return list(self._subscriptions)

    async def subscribe(self, method: str, *args: Any) -> None:
        """Remembers the subscription (re-invoked after every reconnect) and invokes it now when
        connected."""
        key = (method, args)
        if key in self._subscriptions:
            return
        self._subscriptions[key] = None
        if self.connected:
            await self.invoke(method, *args)

    async def unsubscribe(self, method: str, *args: Any) -> None:
        subscribe = "Subscribe" + method.removeprefix("Unsubscribe")
        self._subscriptions.pop((subscribe, args), None)
        if self.connected:
            await self.invoke(method, *args)

    async def invoke(self, method: str, *args: Any) -> None:
        """A blocking hub call: waits for the server's Completion; raises HubInvocationError."""
        client = self._client
        if client is None:
            raise HubInvocationError(self.name, method, "not connected")
        done: asyncio.Future[CompletionMessage] = asyncio.get_running_loop().create_future()

        async def on_completion(message: Any) -> None:
            if not done.done():
                done.set_result(message)

        async with self._send_lock:
            await client.send(method, list(args), on_invocation=on_completion)
        message = await asyncio.wait_for(done, self._invoke_timeout)
        if getattr(message, "error", None):
            raise HubInvocationError(self.name, method, str(message.error))

    def drop(self, reason: str) -> None:
        """Forces a reconnect (used by the stale-feed watchdog and by tests)."""
        self._drop_reason = reason
        self._dropped.set()

    # --- supervisor -------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        first = True
        while not self._stopping:
            self.state = HubState.CONNECTING if first else HubState.RECONNECTING
            started = time.monotonic()
            try:
                await self._run_once(first)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._drop_reason = self._drop_reason or f"{type(exc).__name__}: {exc}"
            was_connected = self._connected.is_set()
            self._connected.clear()
            if self.stopping:
                break
            reason = self._drop_reason or "connection ended"
            self._drop_reason = ""
            log.warning("hub disconnected", hub=self.name, reason=reason)
            if was_connected and self._on_disconnected is not None:  # not for a failed attempt
                await self._safe(self._on_disconnected(reason))
            if was_connected:
                first = False
                # A connection that lived a while resets the backoff.
                if time.monotonic() - started > 30:
                    failures = 0
            delays = self.settings.reconnect_delays_seconds or [1.0]
            await asyncio.sleep(delays[min(failures, len(delays) - 1)])
            failures += 1

    async def _run_once(self, first: bool) -> None:
        if self._token_refused:
            token = await self._renew_token(self._rejected_token)
            self._token_refused = False
        else:
            token = await self._token()
        self._rejected_token = token
        expiry = jwt_expiry(token)
        self._connected_token_expiry = expiry.timestamp() if expiry is not None else None
        client = SignalRClient(
            hub_url_with_token(self.url, token),
            headers={"Authorization": f"Bearer {token}"},
            signalr_ping_interval=max(1, int(self.settings.hub_keepalive_seconds)),
            ping_interval=20,
            connection_timeout=10,
            max_size=16 * 1024 * 1024,
            retry_count=1,
        )
        for target in self._events:
            client.on(target, self._handler(target))
        self._dropped.clear()
        opened = asyncio.Event()

        async def on_open() -> None:
            opened.set()

        async def on_close() -> None:
            if opened.is_set():
                self.drop("socket closed")

        async def on_error(message: CompletionMessage) -> None:
            log.warning("hub error completion", hub=self.name, error=str(message.error))

        client.on_open(on_open)
        client.on_close(on_close)
        client.on_error(on_error)
        self._client = client
        run = asyncio.create_task(client.run(), name=f"hub-{self.name}-run")
        watchdog = asyncio.create_task(self._watchdog(), name=f"hub-{self.name}-watchdog")
        opened_wait = asyncio.create_task(opened.wait(), name=f"hub-{self.name}-open")
        dropped = asyncio.create_task(self._dropped.wait(), name=f"hub-{self.name}-dropped")
        helpers = (run, watchdog, opened_wait, dropped)
        try:
            done, _ = await asyncio.wait({run, opened_wait}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            opened_wait.cancel()
            if run in done:
                try:
                    run.result()  # raises the connect failure
                except AuthorizationError:
                    self._token_refused = True
                    raise ConnectionRefusedError("the hub refused the session token (HTTP 401)") from None
                raise ConnectionError("hub run ended before the connection opened")
            if not opened.is_set():
                raise TimeoutError("hub did not open within 15 s")
            self.connects += 1
            self.last_message_at = time.monotonic()
            invoked: set[tuple[str, tuple[Any, ...]]] = set()
            while pending := [key for key in self._subscriptions if key not in invoked]:
                for method, args in pending:  # including any added while these were invoked
                    await self.invoke(method, *args)
                    invoked.add((method, args))
            self.state = HubState.CONNECTED
            self._connected.set()
            log.info("hub connected", hub=self.name, subscriptions=len(self._subscriptions), first=first)
            if self._on_connected is not None:
                await self._safe(self._on_connected(first))
            done, _ = await asyncio.wait({run, dropped}, return_when=asyncio.FIRST_COMPLETED)
            dropped.cancel()
            if run in done and not self._drop_reason:
                exc = run.exception()
                self._drop_reason = f"client stopped: {exc!r}" if exc else "client stopped"
        finally:
            self._client = None
            for task in helpers:
                task.cancel()
            # Waits for them without raising their errors, and without a suppress(CancelledError)
            # that would also swallow a further cancellation of this task while it waits.
            await asyncio.wait(helpers)

    async def _watchdog(self) -> None:
        stale = self.settings.stale_feed_seconds
        while True:
            await asyncio.sleep(min(1.0, stale / 4))
            if not self._connected.is_set():
                continue
            if self._expect_traffic() and time.monotonic() - self.last_message_at > stale:
                self.drop(f"no data for {stale:g} s during market hours (stale feed)")
                return
            # The token this connection was opened with: the REST client refreshes its session a
            # margin before expiry; halfway into that margin the hub reconnects with the new one.
            expires = self._connected_token_expiry
            margin = self.settings.token_refresh_margin_seconds / 2
            if expires is not None and expires - time.time() < margin:
                self.drop("session token about to expire; reconnecting with a fresh one")
                return

    def _handler(self, target: str) -> Callable[[Any], Awaitable[None]]:
        async def handle(arguments: Any) -> None:
            self.last_message_at = time.monotonic()
            try:
                await self._on_event(target, arguments if isinstance(arguments, list) else [arguments])
            except Exception as exc:  # never into pysignalr: it would end run()
                self.handler_errors += 1
                log.error("hub event handler failed", hub=self.name, target=target, error=repr(exc))

        return handle

    async def _safe(self, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception as exc:
            self.handler_errors += 1
            log.error("hub callback failed", hub=self.name, error=repr(exc))

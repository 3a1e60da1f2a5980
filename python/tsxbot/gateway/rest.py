"""The ProjectX REST client (aiohttp, async; one keep-alive connection pool per client).

- Login with the API key; the token is refreshed (``Auth/validate``) before it expires and, when
  TopStepX answers 401, replaced by a new login and the request sent again once.
- Every documented endpoint, typed requests and responses; a business failure (HTTP 200 with
  ``success: false``) raises ``ApiError`` with the endpoint's own error code.
- Client-side rate limits; 429 and 5xx retried with backoff and jitter only where that is safe;
  a circuit breaker per endpoint stops hammering one that keeps failing.
- ``place_order`` never doubles an order: every order carries a unique ``customTag``; when the
  outcome of a place is unknown, the tag is looked up before anything is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import random
from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar

import aiohttp
import msgspec

from tsxbot.config.global_config import GatewaySettings
from tsxbot.config.secrets import Secret
from tsxbot.gateway import enums
from tsxbot.gateway.auth import Session
from tsxbot.gateway.errors import (
    ApiError,
    AuthenticationError,
    CircuitOpenError,
    GatewayError,
    OutcomeUnknownError,
    ProtocolError,
    RateLimitedError,
    TagInUseError,
    TransportError,
)
from tsxbot.gateway.exchange_clock import SEARCH_FLOOR, ExchangeClock
from tsxbot.gateway.models import (
    Account,
    AccountsResponse,
    BarsResponse,
    Contract,
    ContractResponse,
    ContractsResponse,
    HistoryBar,
    LoginResponse,
    ModifyOrderRequest,
    Order,
    OrdersResponse,
    PlaceOrderRequest,
    PlaceOrderResponse,
    Position,
    PositionsResponse,
    Response,
    Trade,
    TradesResponse,
    ValidateResponse,
)
from tsxbot.gateway.resilience import Backoff, CircuitBreaker, SlidingWindowLimiter
from tsxbot.log import get_logger

R = TypeVar("R", bound=Response)

log = get_logger("tsxbot.gateway.rest")

_ENCODER = msgspec.json.Encoder()
HISTORY_ENDPOINT = "/api/History/retrieveBars"
# How far back a tag look-up searches first (tags are unique per account; a day covers a
# redelivery after a restart), in the exchange's time.
TAG_WINDOW = dt.timedelta(hours=24)


def iso(ts: dt.datetime) -> str:
    """UTC ISO-8601 with ``Z``, as ProjectX's own samples send."""
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ProjectXRest:
    def __init__(
        self,
        base_url: str,
        username: Secret,
        api_key: Secret,
        settings: GatewaySettings | None = None,
        *,
        http: aiohttp.ClientSession | None = None,
        # The exchange's time when it is known exactly (a simulator in this process); else it is
        # estimated from the exchange's answers (``exchange_clock``). Token expiry always uses
        # real time.
        clock: Callable[[], dt.datetime] | None = None,
        exchange_clock: ExchangeClock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or GatewaySettings()
        self._username = username
        self._api_key = api_key
        # aiohttp rather than httpx: a request costs about a third of httpx's CPU (0.33 against
        # 1.0 ms a POST on loopback, BENCHMARKS.md), and every order waits on one. Made on first
        # use (a session belongs to the running event loop).
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self.exchange_clock = exchange_clock or ExchangeClock()
        self._rng = rng or random.Random()
        self._session: Session | None = None
        self._auth_lock = asyncio.Lock()
        limit = self.settings.rate_limit
        history = self.settings.history_rate_limit
        self._limiter = SlidingWindowLimiter(limit.requests, limit.period_seconds)
        self._history_limiter = SlidingWindowLimiter(history.requests, history.period_seconds)
        self._backoff = Backoff(self.settings.retry_base_seconds, 2.0, self.settings.retry_cap_seconds)
        self._breakers: dict[str, CircuitBreaker] = {}
        self.logins = 0
        self.refreshes = 0

    async def __aenter__(self) -> ProjectXRest:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._owns_http = True  # (made here, so closed here)
            self._http = aiohttp.ClientSession(
                # Keep-alive: the connections are reused (no connect per request).
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout_seconds),
            )
        return self._http

    async def _exchange(
        self, method: str, endpoint: str, content: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes, float | None]:
        """One HTTP request: the status, the body and Retry-After (seconds, when given)."""
        async with self._client().request(
            method, self._base_url + endpoint, data=content, headers=headers
        ) as response:
            return response.status, await response.read(), _retry_after(response.headers.get("Retry-After"))

    # --- session ----------------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        return self._session.token if self._session else None

    async def login(self) -> str:
        """``Auth/loginKey``; raises ``AuthenticationError`` with the LoginErrorCode."""
        async with self._auth_lock:
            return await self._login_locked()

    async def _login_locked(self) -> str:
        body = {"userName": self._username.reveal(), "apiKey": self._api_key.reveal()}
        resp = await self._send("/api/Auth/loginKey", body, LoginResponse, auth=False)
        if not resp.success or not resp.token:
            raise AuthenticationError(
                "/api/Auth/loginKey", _code(enums.LoginErrorCode, resp.error_code), resp.error_message
            )
        self._session = Session.from_token(resp.token, _wall_now())
        self.logins += 1
        log.info("logged in to ProjectX", expires_at=self._session.expires_at.isoformat())
        return resp.token

    async def session_token(self) -> str:
        """A valid token: logs in when there is none, refreshes one that is about to expire."""
        session = self._session
        margin = dt.timedelta(seconds=self.settings.token_refresh_margin_seconds)
        if session is not None and not session.needs_refresh(_wall_now(), margin):
            return session.token
        async with self._auth_lock:
            session = self._session
            if session is None:
                return await self._login_locked()
            if not session.needs_refresh(_wall_now(), margin):
                return session.token
            try:
                return await self._refresh_locked(session)
            except GatewayError as exc:
                log.warning("token refresh failed; logging in again", error=str(exc))
                return await self._login_locked()

    async def renew_token(self, rejected: str | None) -> str:
        """A new token after ``rejected`` was refused (HTTP 401 from a hub): logs in again unless
        another caller already replaced that token."""
        async with self._auth_lock:
            if self._session is not None and self._session.token != rejected:
                return self._session.token
            return await self._login_locked()

    async def _refresh_locked(self, session: Session) -> str:
        resp = await self._send("/api/Auth/validate", None, ValidateResponse, token=session.token)
        if not resp.success or not resp.new_token:
            raise AuthenticationError(
                "/api/Auth/validate", _code(enums.ValidateErrorCode, resp.error_code), resp.error_message
            )
        self._session = Session.from_token(resp.new_token, _wall_now())
        self.refreshes += 1
        log.info("session token refreshed", expires_at=self._session.expires_at.isoformat())
        return resp.new_token

    async def validate(self) -> str:
        """``Auth/validate`` now (normally done automatically before expiry)."""
        await self.session_token()
        async with self._auth_lock:
            assert self._session is not None
            return await self._refresh_locked(self._session)

    async def logout(self) -> None:
        if self._session is None:
            return
        resp = await self._call("/api/Auth/logout", None, Response, enums.LogoutErrorCode, retries=0)
        del resp
        self._session = None

    # --- the transport ----------------------------------------------------------------------------

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """The circuit breaker of every endpoint called so far."""
        return self._breakers

    def _breaker(self, endpoint: str) -> CircuitBreaker:
        breaker = self._breakers.get(endpoint)
        if breaker is None:
            breaker = self._breakers[endpoint] = CircuitBreaker(
                self.settings.circuit_failures, self.settings.circuit_cooldown_seconds
            )
        return breaker

    async def _rate_limit_places(self, endpoint: str) -> contextlib.AsyncExitStack:
        """Places in the rate limits for one request, held until the stack is closed (when its
        answer is back). History has its own limit, within "all endpoints" (reference §8)."""
        places = contextlib.AsyncExitStack()
        try:
            if endpoint == HISTORY_ENDPOINT:
                await places.enter_async_context(self._history_limiter.slot())
            await places.enter_async_context(self._limiter.slot())
        except BaseException:
            await places.aclose()
            raise
        return places

    async def _send(
        self,
        endpoint: str,
        body: object | None,
        response_type: type[R],
        *,
        auth: bool = True,
        token: str | None = None,
        method: str = "POST",
        counts: bool = True,
    ) -> R:
        """One HTTP exchange, with no retries. 401 -> AuthenticationError (code None). ``counts``:
        a failure counts towards opening the endpoint's circuit (False for the retries of one
        request: only distinct failing requests open it)."""
        breaker = self._breaker(endpoint)
        wait = breaker.remaining()
        if wait is not None:
            raise CircuitOpenError(endpoint, wait)  # fail fast, before waiting on anything
        headers = {"Accept": "application/json"}
        if auth:  # before taking a rate-limit place: getting the token may itself be a request
            headers["Authorization"] = f"Bearer {token or await self.session_token()}"
        content = None
        if body is not None:
            content = _ENCODER.encode(body)
            headers["Content-Type"] = "application/json"
        places = await self._rate_limit_places(endpoint)
        # Claimed right before the request, and always given back: a trial call that never got
        # an answer (cancelled, or an error before it was sent) must not keep the circuit open.
        wait = breaker.check()
        if wait is not None:
            await places.aclose()
            raise CircuitOpenError(endpoint, wait)
        outcome: bool | None = None  # True: the endpoint answered; False: it failed
        try:
            try:
                status, data, retry_after = await self._exchange(method, endpoint, content, headers)
            except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
                outcome = False
                sent = not isinstance(exc, aiohttp.ConnectionTimeoutError)
                raise TransportError(
                    endpoint, f"timed out ({type(exc).__name__})", maybe_processed=sent
                ) from exc
            except aiohttp.ClientError as exc:  # connection, protocol, payload
                outcome = False
                sent = not isinstance(exc, aiohttp.ClientConnectorError)
                raise TransportError(endpoint, f"{type(exc).__name__}: {exc}", maybe_processed=sent) from exc
            outcome = status < 500
        finally:
            await places.aclose()
            if outcome is True:
                breaker.success()
            elif outcome is False:
                breaker.failure(counts=counts)
            else:
                breaker.release()
        if status == 401:  # the endpoint answered; the token is the problem
            raise AuthenticationError(endpoint, None, "HTTP 401 (missing, invalid or expired token)")
        if status == 429:
            raise RateLimitedError(endpoint, retry_after)
        if status >= 500:
            raise TransportError(endpoint, f"HTTP {status}", status)
        if status != 200:
            raise ProtocolError(endpoint, f"HTTP {status}: {data[:200].decode(errors='replace')}")
        try:
            return msgspec.json.decode(data, type=response_type)
        except msgspec.DecodeError as exc:
            raise ProtocolError(endpoint, str(exc)) from exc

    async def _call(
        self,
        endpoint: str,
        body: object | None,
        response_type: type[R],
        errors: type[IntEnum],
        *,
        retries: int | None = None,
        method: str = "POST",
        counts: bool = True,
    ) -> R:
        """An authenticated call: re-login once on 401; retry transport failures and 429 with
        backoff (``retries`` times; 0 for calls that are not safe to repeat); raise ApiError on a
        business failure. Only the first failed attempt counts towards opening the circuit."""
        attempts = self.settings.max_retries if retries is None else retries
        relogged = False
        attempt = 0
        while True:
            try:
                resp = await self._send(
                    endpoint, body, response_type, method=method, counts=counts and attempt == 0
                )
            except AuthenticationError as exc:
                if exc.code is not None or relogged:
                    raise
                relogged = True
                log.warning("HTTP 401; logging in again", endpoint=endpoint)
                await self.renew_token(self.token)
                continue
            except (TransportError, CircuitOpenError) as exc:
                if attempt >= attempts or isinstance(exc, CircuitOpenError):
                    raise
                await self._sleep_before_retry(endpoint, attempt, exc)
                attempt += 1
                continue
            if not resp.success:
                raise ApiError(
                    endpoint,
                    _code(errors, resp.error_code),
                    resp.error_message,
                    getattr(resp, "order_id", None),
                )
            return resp

    async def _sleep_before_retry(self, endpoint: str, attempt: int, exc: Exception) -> None:
        delay = self._backoff.delay(attempt, self._rng)
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            delay = max(delay, min(exc.retry_after, 60.0))
        log.warning(
            "retrying", endpoint=endpoint, attempt=attempt + 1, delay_s=round(delay, 3), error=str(exc)
        )
        await asyncio.sleep(delay)

    # --- endpoints --------------------------------------------------------------------------------

    async def ping(self) -> str:
        """``GET /api/Status/ping`` (no token needed)."""
        try:
            status, data, _ = await self._exchange("GET", "/api/Status/ping", None, {})
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError("/api/Status/ping", str(exc)) from exc
        if status != 200:
            raise TransportError("/api/Status/ping", f"HTTP {status}", status)
        text = data.decode(errors="replace")
        return str(msgspec.json.decode(text)) if text.startswith('"') else text

    async def search_accounts(self, only_active: bool = True) -> list[Account]:
        resp = await self._call(
            "/api/Account/search",
            {"onlyActiveAccounts": only_active},
            AccountsResponse,
            enums.SearchAccountErrorCode,
        )
        return resp.accounts or []

    async def search_contracts(self, text: str, live: bool = False) -> list[Contract]:
        resp = await self._call(
            "/api/Contract/search",
            {"searchText": text, "live": live},
            ContractsResponse,
            enums.SearchContractErrorCode,
        )
        return resp.contracts or []

    async def contract_by_id(self, contract_id: str) -> Contract:
        resp = await self._call(
            "/api/Contract/searchById",
            {"contractId": contract_id},
            ContractResponse,
            enums.SearchContractByIdErrorCode,
        )
        if resp.contract is None:
            raise ProtocolError("/api/Contract/searchById", "success without a contract")
        return resp.contract

    async def available_contracts(self, live: bool = False) -> list[Contract]:
        resp = await self._call(
            "/api/Contract/available", {"live": live}, ContractsResponse, enums.SearchContractErrorCode
        )
        return resp.contracts or []

    async def retrieve_bars(
        self,
        contract_id: str,
        start: dt.datetime,
        end: dt.datetime,
        unit: enums.BarUnit,
        unit_number: int = 1,
        *,
        limit: int = 20_000,
        include_partial_bar: bool = False,
        live: bool = False,
    ) -> list[HistoryBar]:
        """Bars in the window, OLDEST FIRST (ProjectX answers newest first; reversed here)."""
        body = {
            "contractId": contract_id,
            "live": live,
            "startTime": iso(start),
            "endTime": iso(end),
            "unit": int(unit),
            "unitNumber": unit_number,
            "limit": limit,
            "includePartialBar": include_partial_bar,
        }
        resp = await self._call(HISTORY_ENDPOINT, body, BarsResponse, enums.RetrieveBarErrorCode)
        bars = resp.bars or []
        return sorted(bars, key=lambda b: b.t)

    # --- the exchange's time ----------------------------------------------------------------------

    def search_start(self, window: dt.timedelta) -> dt.datetime:
        """Where a search over the last ``window`` of the exchange's history starts (from the
        search floor while the exchange's time is unknown: never from the host's clock)."""
        if self._clock is not None:
            return self._clock() - window
        return self.exchange_clock.since(window)

    def _observe_orders(self, orders: list[Order]) -> None:
        self.exchange_clock.observe_all(o.update_timestamp or o.creation_timestamp for o in orders)

    # --- orders -----------------------------------------------------------------------------------

    async def search_orders(
        self, account_id: int, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[Order]:
        body: dict[str, Any] = {"accountId": account_id, "startTimestamp": iso(start)}
        if end is not None:
            body["endTimestamp"] = iso(end)
        resp = await self._call("/api/Order/search", body, OrdersResponse, enums.SearchOrderErrorCode)
        orders = resp.orders or []
        self._observe_orders(orders)
        return orders

    async def search_open_orders(self, account_id: int) -> list[Order]:
        resp = await self._call(
            "/api/Order/searchOpen", {"accountId": account_id}, OrdersResponse, enums.SearchOrderErrorCode
        )
        orders = resp.orders or []
        self._observe_orders(orders)
        return orders

    async def find_order_by_tag(
        self, account_id: int, custom_tag: str, since: dt.datetime | None = None
    ) -> Order | None:
        """The order placed with ``custom_tag`` (tags are unique per account; an order TopStepX
        rejected does not hold its tag, so a live one is preferred). ``since``: where the search
        starts (default: a day back in the exchange's time)."""
        start = since if since is not None else self.search_start(TAG_WINDOW)
        tagged = [o for o in await self.search_orders(account_id, start) if o.custom_tag == custom_tag]
        live = [o for o in tagged if o.status not in (enums.OrderStatus.REJECTED, enums.OrderStatus.NONE)]
        found = live or tagged
        return found[0] if found else None

    async def place_order(self, request: PlaceOrderRequest) -> int:
        """Places one order and returns its id. Raises ApiError (PlaceOrderErrorCode) when TopStepX
        refuses it. When the outcome is unknown (timeout, 5xx, 429) the order is looked up by its
        customTag before it is sent again, so a retry never doubles it. A refusal because the tag
        exists is looked up too: the order found is this one only when every field matches
        (size, type, side, contract, prices); otherwise ``TagInUseError``."""
        if not request.custom_tag:
            raise ValueError("an order needs a unique customTag (it is how retries stay idempotent)")
        endpoint = "/api/Order/place"
        attempt = 0
        while True:
            try:
                resp = await self._call(
                    endpoint,
                    request,
                    PlaceOrderResponse,
                    enums.PlaceOrderErrorCode,
                    retries=0,
                    counts=attempt == 0,
                )
                if resp.order_id is None:
                    raise ProtocolError(endpoint, "success without an orderId")
                return resp.order_id
            except (TransportError, CircuitOpenError, ProtocolError) as exc:
                if isinstance(exc, CircuitOpenError) and attempt == 0:
                    raise  # nothing was sent
                # Lost, failed or unreadable answer: the order may exist. Look before anything else.
                existing = await self._lookup_after_unknown_outcome(request, exc)
                if existing is not None:
                    log.warning(
                        "place outcome was unknown; the order exists",
                        custom_tag=request.custom_tag,
                        order_id=existing.id,
                    )
                    return existing.id
                # Not found. An answered request (ProtocolError) is not sent again.
                if isinstance(exc, ProtocolError):
                    raise
                if attempt >= self.settings.max_retries:
                    if isinstance(exc, TransportError) and exc.maybe_processed:
                        # TopStepX may still be working on the last attempt: nobody knows.
                        raise OutcomeUnknownError(
                            endpoint, f"{exc}; and no order with customTag {request.custom_tag!r} yet"
                        ) from exc
                    raise
                await self._sleep_before_retry(endpoint, attempt, exc)
                attempt += 1
                continue
            except TagInUseError:
                raise
            except ApiError as exc:
                if exc.code == enums.PlaceOrderErrorCode.ORDER_REJECTED:
                    # Refused, e.g. as a duplicate customTag: an earlier attempt (ours, or a previous
                    # run's before a crash) may have placed it. A live order with the tag is it.
                    duplicate = is_duplicate_tag_refusal(exc)
                    existing = await self._lookup_after_unknown_outcome(request, exc, must_exist=duplicate)
                    if (
                        existing is not None
                        and existing.id != exc.order_id
                        and existing.status not in (enums.OrderStatus.REJECTED, enums.OrderStatus.NONE)
                    ):
                        log.warning(
                            "place refused as a duplicate tag; the tagged order is this one",
                            custom_tag=request.custom_tag,
                            order_id=existing.id,
                        )
                        return existing.id
                    if duplicate:
                        raise TagInUseError(
                            endpoint,
                            exc.code,
                            request.custom_tag,
                            None,
                            f"customTag {request.custom_tag!r} is already used on the account "
                            f"({exc.message}), but no order with it was found: not placed",
                        ) from exc
                raise

    async def _lookup_after_unknown_outcome(
        self, request: PlaceOrderRequest, cause: GatewayError, *, must_exist: bool = False
    ) -> Order | None:
        """The order with the request's tag, or None when there is none. When the look-up fails
        too, nobody knows whether the order exists: ``OutcomeUnknownError``, never a guess. An
        order with the tag that is not this request (another size, price, contract, side or type:
        the tag was reused) means this one cannot have been placed: ``TagInUseError``, never the
        other order. ``must_exist`` (TopStepX said the tag is taken): searched from the floor
        when a day back in the exchange's time does not find it."""
        assert request.custom_tag is not None
        try:
            order = await self.find_order_by_tag(request.account_id, request.custom_tag)
            if order is None and must_exist:
                order = await self.find_order_by_tag(request.account_id, request.custom_tag, SEARCH_FLOOR)
        except GatewayError as exc:
            log.error("could not look the order up by its tag", custom_tag=request.custom_tag, error=str(exc))
            raise OutcomeUnknownError(
                "/api/Order/place",
                f"{cause}; and looking up customTag {request.custom_tag!r} failed: {exc}",
            ) from exc
        if (
            order is not None
            and order.status != enums.OrderStatus.REJECTED
            and not same_order(order, request)
        ):
            raise TagInUseError(
                "/api/Order/place",
                enums.PlaceOrderErrorCode.ORDER_REJECTED,
                request.custom_tag,
                order.id,
                f"customTag {request.custom_tag!r} is already used by order {order.id} "
                f"({describe_order(order)}), a different order than this one "
                f"({describe_request(request)}): not placed; give every order a new tag",
            )
        return order

    async def modify_order(self, request: ModifyOrderRequest) -> None:
        # Setting the same values twice has the same effect: safe to retry.
        await self._call("/api/Order/modify", request, Response, enums.ModifyOrderErrorCode)

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        """Cancels a working order; a refusal (not found, already final) raises ApiError. When the
        outcome of an attempt is unknown, the order is read back first: no longer open means the
        cancel went through, so it is not sent again."""
        endpoint = "/api/Order/cancel"
        body = {"accountId": account_id, "orderId": order_id}
        attempt = 0
        while True:
            try:
                await self._call(
                    endpoint, body, Response, enums.CancelOrderErrorCode, retries=0, counts=attempt == 0
                )
                return
            except (TransportError, CircuitOpenError) as exc:
                if isinstance(exc, CircuitOpenError) and attempt == 0:
                    raise
                try:
                    still_open = any(o.id == order_id for o in await self.search_open_orders(account_id))
                except GatewayError:
                    still_open = True
                if not still_open:
                    log.info("cancel outcome was unknown; the order is no longer open", order_id=order_id)
                    return
                if attempt >= self.settings.max_retries:
                    raise
                await self._sleep_before_retry(endpoint, attempt, exc)
                attempt += 1

    async def search_open_positions(self, account_id: int) -> list[Position]:
        resp = await self._call(
            "/api/Position/searchOpen",
            {"accountId": account_id},
            PositionsResponse,
            enums.SearchPositionErrorCode,
        )
        positions = resp.positions or []
        self.exchange_clock.observe_all(p.creation_timestamp for p in positions)
        return positions

    async def close_position(self, account_id: int, contract_id: str) -> None:
        """Flatten at market. Not retried blindly: after an unknown outcome the position is read
        back, and the close is sent again only if it is still open."""
        await self._close(
            "/api/Position/closeContract",
            {"accountId": account_id, "contractId": contract_id},
            enums.ClosePositionErrorCode,
            account_id,
            contract_id,
            None,
        )

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        await self._close(
            "/api/Position/partialCloseContract",
            {"accountId": account_id, "contractId": contract_id, "size": size},
            enums.PartialClosePositionErrorCode,
            account_id,
            contract_id,
            size,
        )

    async def _close(
        self,
        endpoint: str,
        body: dict[str, Any],
        errors: type[IntEnum],
        account_id: int,
        contract_id: str,
        size: int | None,
    ) -> None:
        before = await self._position_size(account_id, contract_id)
        attempt = 0
        while True:
            try:
                await self._call(endpoint, body, Response, errors, retries=0, counts=attempt == 0)
                return
            except TransportError as exc:
                after = await self._position_size(account_id, contract_id)
                target = 0 if size is None else max(before - size, 0)
                if after <= target or after < before:
                    return  # the close went through
                if attempt >= self.settings.max_retries:
                    raise
                await self._sleep_before_retry(endpoint, attempt, exc)
                attempt += 1

    async def _position_size(self, account_id: int, contract_id: str) -> int:
        positions = await self.search_open_positions(account_id)
        return sum(p.size for p in positions if p.contract_id == contract_id)

    async def search_trades(
        self, account_id: int, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[Trade]:
        body: dict[str, Any] = {"accountId": account_id, "startTimestamp": iso(start)}
        if end is not None:
            body["endTimestamp"] = iso(end)
        resp = await self._call("/api/Trade/search", body, TradesResponse, enums.SearchTradeErrorCode)
        trades = resp.trades or []
        self.exchange_clock.observe_all(t.creation_timestamp for t in trades)
        return trades


def is_duplicate_tag_refusal(exc: ApiError) -> bool:
    """TopStepX's refusal of a place whose customTag the account already holds."""
    return "tag" in (exc.message or "").lower()


def _price_equal(a: float | None, b: float | None) -> bool:
    return (a is None) == (b is None) and (a is None or b is None or math.isclose(a, b, abs_tol=1e-9))


def same_order(order: Order, request: PlaceOrderRequest) -> bool:
    """Whether the order on the exchange is what ``request`` asks for (a retry of it): the same
    contract, side, type, size and prices. Trail prices are not compared (TopStepX reads them
    back as a distance)."""
    return (
        (order.contract_id, order.side, order.type, order.size)
        == (request.contract_id, request.side, request.type, request.size)
        and _price_equal(order.limit_price, request.limit_price)
        and _price_equal(order.stop_price, request.stop_price)
    )


def describe_order(order: Order) -> str:
    prices = "".join(
        f", {name} {value:g}"
        for name, value in (("limit", order.limit_price), ("stop", order.stop_price))
        if value is not None
    )
    return f"{order.contract_id}, side {order.side}, type {order.type}, size {order.size}{prices}"


def describe_request(request: PlaceOrderRequest) -> str:
    prices = "".join(
        f", {name} {value:g}"
        for name, value in (("limit", request.limit_price), ("stop", request.stop_price))
        if value is not None
    )
    return f"{request.contract_id}, side {request.side}, type {request.type}, size {request.size}{prices}"


def _wall_now() -> dt.datetime:
    """Real time: a token's ``exp`` is wall-clock time, whatever clock the exchange runs on."""
    return dt.datetime.now(dt.UTC)


def _code(errors: type[IntEnum], value: int) -> IntEnum | int:
    try:
        return errors(value)
    except ValueError:
        return value


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None

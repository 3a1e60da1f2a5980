"""Typed gateway errors. A business failure (HTTP 200, ``success: false``) carries the endpoint
and that endpoint's own error code."""

from __future__ import annotations

from enum import IntEnum


class GatewayError(Exception):
    """Base of everything the gateway raises."""


class TransportError(GatewayError):
    """The request may not have reached TopStepX, or its answer was lost (connect error, timeout,
    HTTP 5xx): the outcome is unknown."""

    def __init__(
        self, endpoint: str, detail: str, status: int | None = None, *, maybe_processed: bool = True
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        # False only when the request surely never reached TopStepX (no connection, HTTP 429).
        self.maybe_processed = maybe_processed
        super().__init__(f"{endpoint}: {detail}")


class RateLimitedError(TransportError):
    """HTTP 429 (after the client's own retries)."""

    def __init__(self, endpoint: str, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(
            endpoint,
            f"rate limited (HTTP 429, retry after {retry_after or '?'} s)",
            429,
            maybe_processed=False,
        )


class CircuitOpenError(GatewayError):
    """Calls to this endpoint are suspended after repeated failures."""

    def __init__(self, endpoint: str, reopens_in: float) -> None:
        self.endpoint = endpoint
        self.reopens_in = reopens_in
        super().__init__(f"{endpoint}: circuit open after repeated failures; next try in {reopens_in:.1f} s")


class AuthenticationError(GatewayError):
    """Login or token refresh failed (bad credentials, missing API subscription, expired session)."""

    def __init__(self, endpoint: str, code: IntEnum | int | None, message: str | None) -> None:
        self.endpoint = endpoint
        self.code = code
        name = code.name if isinstance(code, IntEnum) else code
        super().__init__(f"{endpoint}: authentication failed ({name}){': ' + message if message else ''}")


class ApiError(GatewayError):
    """HTTP 200 with ``success: false``: ``code`` is the endpoint's own error enum member."""

    def __init__(
        self, endpoint: str, code: IntEnum | int, message: str | None, order_id: int | None = None
    ) -> None:
        self.endpoint = endpoint
        self.code = code
        self.message = message
        # ProjectX can return a real orderId on a rejected place.
        self.order_id = order_id
        name = f"{code.name} ({int(code)})" if isinstance(code, IntEnum) else f"code {code}"
        super().__init__(f"{endpoint}: {name}{': ' + message if message else ''}")


class ProtocolError(GatewayError):
    """The answer did not have the documented shape (a malformed body, a missing field)."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: unexpected response: {detail}")


class OutcomeUnknownError(GatewayError):
    """An order request may or may not have been carried out, and the gateway could not find out
    (the look-up by its tag failed too). It is not retried blindly; the next reconciliation
    publishes what the exchange holds."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: outcome unknown: {detail}")


class TagInUseError(ApiError):
    """A place whose ``customTag`` is already used by a different order (``existing_order_id``;
    None when TopStepX says the tag exists but no search finds its order): not placed."""

    def __init__(
        self, endpoint: str, code: IntEnum | int, custom_tag: str, existing_order_id: int | None, detail: str
    ) -> None:
        self.custom_tag = custom_tag
        self.existing_order_id = existing_order_id
        super().__init__(endpoint, code, detail)

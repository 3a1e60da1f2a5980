"""How a fault is described: the JSON bodies of the admin API (``faults/admin.py``), parsed here
into the fault types of ``faults/state.py``. The admin API and the config
(``simulator.faults``) share these parsers, so a fault reads the same in both places and is
checked the same way (an unknown key, a wrong type or an impossible value is an error, not a
silently different fault).

Times in a body are seconds from ``now`` (the monotonic clock when the admin call arrives, or
when the simulator starts for a configured fault).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tsxbot.config.simulator import FaultDefaults
from tsxbot.sim.faults.state import EventFaults, FaultState, HttpFault, Latency, Refusal

HUBS = ("user", "market")
T = TypeVar("T")


class FaultSpecError(ValueError):
    """A fault body that does not describe a fault; the text says what is wrong."""


def _keys(body: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in body:
        if key not in allowed:
            raise FaultSpecError(f"unknown key {key!r} (expected one of: {', '.join(allowed)})")


def number(
    body: dict[str, Any],
    key: str,
    default: float | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> float:
    """``body[key]`` as a number (``default`` when absent; required when there is none)."""
    value = body.get(key, default)
    if value is None:
        raise FaultSpecError(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(f"{key} must be a number, got {value!r}")
    try:
        result = float(value)
    except OverflowError:  # an integer beyond any float
        raise FaultSpecError(f"{key} is out of range, got {value}") from None
    if not math.isfinite(result):
        raise FaultSpecError(f"{key} must be a finite number, got {value!r}")
    if low is not None and result < low:
        raise FaultSpecError(f"{key} must be >= {low:g}, got {result:g}")
    if high is not None and result > high:
        raise FaultSpecError(f"{key} must be <= {high:g}, got {result:g}")
    if above is not None and result <= above:
        raise FaultSpecError(f"{key} must be > {above:g}, got {result:g}")
    return result


def _flag(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise FaultSpecError(f"{key} must be true or false, got {value!r}")
    return value


def hub_names(name: Any) -> list[str]:
    """ "user", "market" or "*" (also "all" or absent): the hubs meant."""
    if name in (None, "*", "all"):
        return list(HUBS)
    if name in HUBS:
        return [str(name)]
    raise FaultSpecError(f"unknown hub {name!r} (user, market or *)")


def _status(body: dict[str, Any], default: float | None = None) -> int:
    status = number(body, "status", default)
    if not status.is_integer() or not 400 <= status <= 599:
        raise FaultSpecError(f"status must be an HTTP error status (400-599), got {status:g}")
    return int(status)


# --- one parser per kind of fault (the admin route that takes the same body) ---------------------


def http(body: dict[str, Any], now: float) -> HttpFault:
    """``POST /admin/faults/http``."""
    _keys(body, ("path", "status", "count", "seconds", "retryAfter", "afterProcessing"))
    path = body.get("path", "*")
    if not isinstance(path, str) or not (path == "*" or path.startswith("/api/")):
        raise FaultSpecError(f'path must be "*" or an endpoint such as "/api/Order/place", got {path!r}')
    count = body.get("count")
    seconds = body.get("seconds")
    retry = body.get("retryAfter")
    if count is not None:
        n = number(body, "count", low=1)
        if not n.is_integer():
            raise FaultSpecError(f"count must be a whole number, got {n:g}")
    return HttpFault(
        path=path,
        status=_status(body),
        count=int(count) if count is not None else None,
        until=now + number(body, "seconds", above=0) if seconds is not None else None,
        retry_after=number(body, "retryAfter", low=0) if retry is not None else None,
        after_processing=_flag(body, "afterProcessing"),
    )


MAX_LATENCY_MS = 3_600_000.0  # an hour: longer than any client waits


def latency(body: dict[str, Any]) -> Latency:
    """``POST /admin/faults/latency``."""
    _keys(body, ("ms", "jitterMs", "path"))
    path = body.get("path", "*")
    if not isinstance(path, str):
        raise FaultSpecError(f"path must be a string, got {path!r}")
    return Latency(
        ms=number(body, "ms", low=0, high=MAX_LATENCY_MS),
        jitter_ms=number(body, "jitterMs", 0.0, low=0, high=MAX_LATENCY_MS),
        path=path,
    )


def events(body: dict[str, Any]) -> EventFaults:
    """``POST /admin/faults/events``."""
    _keys(body, ("hub", "duplicate", "reorder", "drop", "targets"))
    hub = body.get("hub", "*")
    hub_names(hub)
    targets = body.get("targets") or []
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise FaultSpecError("targets must be a list of event names")
    return EventFaults(
        hub="*" if hub in (None, "all") else str(hub),
        duplicate=number(body, "duplicate", 0.0, low=0, high=1),
        reorder=number(body, "reorder", 0.0, low=0, high=1),
        drop=number(body, "drop", 0.0, low=0, high=1),
        targets=list(targets),
    )


def refuse(body: dict[str, Any], now: float) -> tuple[str, Refusal]:
    """``POST /admin/faults/hub/refuse``: (the hub key, "*" for both; the refusal)."""
    _keys(body, ("hub", "seconds", "status"))
    hub = body.get("hub", "*")
    hub_names(hub)
    refusal = Refusal(until=now + number(body, "seconds", above=0), status=_status(body, 503))
    return ("*" if hub in (None, "all") else str(hub)), refusal


@dataclass(frozen=True)
class HandshakeFault:
    hubs: list[str]
    error: str | None  # None clears


def handshake(body: dict[str, Any]) -> HandshakeFault:
    """``POST /admin/faults/hub/handshake``."""
    _keys(body, ("hub", "error"))
    error = body.get("error")
    if error is not None and not isinstance(error, str):
        raise FaultSpecError(f"error must be a string or null, got {error!r}")
    return HandshakeFault(hub_names(body.get("hub")), error)


@dataclass(frozen=True)
class CompletionFault:
    hubs: list[str]
    delay_s: float
    drop: bool


def completions(body: dict[str, Any]) -> CompletionFault:
    """``POST /admin/faults/hub/completions``."""
    _keys(body, ("hub", "delaySeconds", "drop"))
    return CompletionFault(
        hub_names(body.get("hub")), number(body, "delaySeconds", 0.0, low=0), _flag(body, "drop")
    )


MAX_TOKEN_LIFETIME_S = 366 * 86_400.0


def token_lifetime(body: dict[str, Any]) -> float:
    """``POST /admin/faults/tokens/lifetime``: seconds (at most a year: a token's ``exp``)."""
    _keys(body, ("seconds",))
    return number(body, "seconds", above=0, high=MAX_TOKEN_LIFETIME_S)


# --- the config's faults (``simulator.faults``) -------------------------------------------------


@dataclass
class ConfiguredFaults:
    http: list[HttpFault] = field(default_factory=list)
    latency: Latency | None = None
    events: EventFaults | None = None
    refuse: list[tuple[str, Refusal]] = field(default_factory=list)
    handshake: list[HandshakeFault] = field(default_factory=list)
    completions: list[CompletionFault] = field(default_factory=list)
    token_lifetime_s: float | None = None
    # (key under ``simulator.faults``, what is wrong) for each body that is not a fault.
    problems: list[tuple[str, str]] = field(default_factory=list)


def configured(config: FaultDefaults, now: float) -> ConfiguredFaults:
    """The faults the config declares, timed from ``now``, and what is wrong with any of them."""
    out = ConfiguredFaults()

    def parse(key: str, parser: Callable[..., T], body: Any, *args: Any) -> T | None:
        if not isinstance(body, dict):
            out.problems.append((key, f"expected an object (an admin API body), got {body!r}"))
            return None
        try:
            return parser(body, *args)
        except FaultSpecError as exc:
            out.problems.append((key, str(exc)))
            return None

    for i, body in enumerate(config.http):
        if (fault := parse(f"http[{i}]", http, body, now)) is not None:
            out.http.append(fault)
    if config.latency is not None:
        out.latency = parse("latency", latency, config.latency)
    if config.events is not None:
        out.events = parse("events", events, config.events)
    for i, body in enumerate(config.hub_refuse):
        if (refusal := parse(f"hubRefuse[{i}]", refuse, body, now)) is not None:
            out.refuse.append(refusal)
    for i, body in enumerate(config.hub_handshake):
        if (shake := parse(f"hubHandshake[{i}]", handshake, body)) is not None:
            out.handshake.append(shake)
    for i, body in enumerate(config.hub_completions):
        if (completion := parse(f"hubCompletions[{i}]", completions, body)) is not None:
            out.completions.append(completion)
    if config.token_lifetime is not None:
        out.token_lifetime_s = parse("tokenLifetime", token_lifetime, config.token_lifetime)
    return out


def install(faults: FaultState, config: FaultDefaults, now: float) -> float | None:
    """Puts the config's faults in force from ``now``; returns the token lifetime they set, if
    any. A bad body raises FaultSpecError (config loading reports them before this)."""
    found = configured(config, now)
    if found.problems:
        raise FaultSpecError("; ".join(f"faults.{key}: {message}" for key, message in found.problems))
    faults.http.extend(found.http)
    if found.latency is not None:
        faults.latency = found.latency
    if found.events is not None:
        faults.events = found.events
    for hub, refusal in found.refuse:
        faults.add_refusal(hub, refusal)
    for shake in found.handshake:
        faults.set_handshake(shake)
    for completion in found.completions:
        faults.set_completions(completion)
    return found.token_lifetime_s

"""The account's trading state as alerts, and the aggregator's API going down.

The aggregator publishes its trading state on ``account:trading-state`` (``TradingStateChange``)
on every change of the state or of a cause holding it, and once at its start: each is turned
into a ``TRADING_STATE`` alert when the state moved, and a ``CIRCUIT_BREAKER`` alert when the
breaker went on or off. ``GET /status`` is still polled every ``alerts.aggregatorPollSeconds``,
only to notice the aggregator not answering: a ``SERVICE_ERROR`` (once), and
``SERVICE_RECOVERED`` when it answers again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tsxbot.alerts.aggregator_client import AggregatorClient, AggregatorUnavailable
from tsxbot.alerts.events import Alert, EventKind
from tsxbot.alerts.translate import Translator
from tsxbot.messages import TradingStateChange

BREAKER_CHANGES = ("CIRCUIT_BREAKER_ON", "CIRCUIT_BREAKER_OFF")


class AggregatorWatch:
    def __init__(
        self, client: AggregatorClient, translator: Translator, clock: Callable[[], dt.datetime]
    ) -> None:
        self.client = client
        self.translator = translator
        self.clock = clock
        self.state: str | None = None
        self.why: dict[str, str] = {}
        self.circuit_breaker: bool | None = None
        self._down_since: dt.datetime | None = None
        self.polls = 0

    async def poll(self) -> list[Alert]:
        """Whether the aggregator's API answers (its state comes on the bus)."""
        now = self.clock()
        try:
            await self.client.status()
        except AggregatorUnavailable as exc:
            if self._down_since is not None:
                return []
            self._down_since = now
            if self.polls == 0:  # not up yet at start: said once it answers, or when it never does
                return []
            return [
                self.translator.alert(
                    EventKind.SERVICE_ERROR,
                    "the aggregator is not answering",
                    f"agg-down:{now.isoformat()}",
                    now,
                    str(exc),
                )
            ]
        alerts: list[Alert] = []
        if self._down_since is not None and self.polls > 0:
            alerts.append(
                self.translator.alert(
                    EventKind.SERVICE_RECOVERED,
                    "the aggregator is answering again",
                    f"agg-up:{now.isoformat()}",
                    now,
                )
            )
        self._down_since = None
        self.polls += 1
        return alerts

    def on_state_change(self, change: TradingStateChange) -> list[Alert]:
        """One ``TradingStateChange`` from the bus: the alerts it makes (none when nothing a
        trader acts on moved, e.g. a second cause on an already HALTED account)."""
        at = change.timestamp
        stamp = at.isoformat()
        before = self.state if self.state is not None else change.was
        self.state, self.why = change.state, dict(change.causes)
        was_breaker, self.circuit_breaker = self.circuit_breaker, change.circuit_breaker
        alerts: list[Alert] = []
        if change.change in BREAKER_CHANGES and was_breaker is not change.circuit_breaker:
            on = change.circuit_breaker
            alerts.append(
                self.translator.alert(
                    EventKind.CIRCUIT_BREAKER,
                    "circuit breaker tripped: no new entries until /resume"
                    if on
                    else "circuit breaker cleared",
                    f"breaker:{'on' if on else 'off'}:{stamp}",
                    at,
                    change.causes.get("CIRCUIT_BREAKER", "") if on else "",
                    tripped=on,
                )
            )
        if change.state != before and not (before is None and change.state == "ACTIVE"):
            reasons = (
                "; ".join(f"{cause}: {text}" for cause, text in change.causes.items())
                or "every cause cleared"
            )
            title = f"trading {change.state}" + (f" (was {before})" if before else " at start")
            alerts.insert(
                0,
                self.translator.alert(
                    EventKind.TRADING_STATE,
                    title,
                    f"state:{change.state}:{stamp}",
                    at,
                    reasons,
                    state=change.state,
                    was=before,
                ),
            )
        return alerts

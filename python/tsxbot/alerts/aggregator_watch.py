"""The account's trading state as alerts: the aggregator does not publish its state changes on
the bus (it journals them and serves them on its API), so they are read from ``GET /status``
(state and why) and ``GET /risk/events`` (circuit breaker on and off) every
``alerts.aggregatorPollSeconds``. An aggregator that stops answering is a ``SERVICE_ERROR``
(once), and ``SERVICE_RECOVERED`` when it answers again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tsxbot.alerts.aggregator_client import AggregatorClient, AggregatorUnavailable
from tsxbot.alerts.events import Alert, EventKind
from tsxbot.alerts.translate import Translator

BREAKER_KINDS = ("CIRCUIT_BREAKER_ON", "CIRCUIT_BREAKER_OFF")


def _event_id(event: dict[str, Any]) -> str:
    return f"{event.get('at')}|{event.get('kind')}|{event.get('message')}"


class AggregatorWatch:
    def __init__(
        self, client: AggregatorClient, translator: Translator, clock: Callable[[], dt.datetime]
    ) -> None:
        self.client = client
        self.translator = translator
        self.clock = clock
        self.state: str | None = None
        self.why: dict[str, str] = {}
        self._seen_events: set[str] | None = None
        self._down_since: dt.datetime | None = None
        self.polls = 0

    async def poll(self) -> list[Alert]:
        now = self.clock()
        try:
            status = await self.client.status()
            events = await self.client.events()
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
        alerts += self._state(status, now)
        alerts += self._events(events, now)
        return alerts

    def _state(self, status: dict[str, Any], now: dt.datetime) -> list[Alert]:
        state = status.get("tradingState")
        why = status.get("why")
        if not isinstance(state, str):
            return []
        why = {str(k): str(v) for k, v in why.items()} if isinstance(why, dict) else {}
        before, self.state, self.why = self.state, state, why
        if state == before or (before is None and state == "ACTIVE"):
            return []
        reasons = "; ".join(f"{cause}: {text}" for cause, text in why.items()) or "every cause cleared"
        title = f"trading {state}" + (f" (was {before})" if before else " at start")
        return [
            self.translator.alert(
                EventKind.TRADING_STATE,
                title,
                f"state:{state}:{now.isoformat()}",
                now,
                reasons,
                state=state,
                was=before,
            )
        ]

    def _events(self, events: list[dict[str, Any]], now: dt.datetime) -> list[Alert]:
        ids = {_event_id(e): e for e in events}
        if self._seen_events is None:  # the first answer is the baseline: history is not news
            self._seen_events = set(ids)
            return []
        new = [e for i, e in ids.items() if i not in self._seen_events]
        self._seen_events = set(ids)
        alerts = []
        for event in reversed(new):  # oldest first
            kind = event.get("kind")
            if kind not in BREAKER_KINDS:
                continue
            on = kind == "CIRCUIT_BREAKER_ON"
            alerts.append(
                self.translator.alert(
                    EventKind.CIRCUIT_BREAKER,
                    "circuit breaker tripped: no new entries until /resume"
                    if on
                    else "circuit breaker cleared",
                    f"breaker:{_event_id(event)}",
                    now,
                    str(event.get("message") or ""),
                    tripped=on,
                )
            )
        return alerts

"""The account's trading state reaches the chat from the bus (account:trading-state), not from
polling the aggregator's API: a halt arrives within a second with the poll an hour apart; and
the consumer of the message takes any value the message can hold."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.alerts_rig import BEFORE_CLOSE, rig
from support.bus_helpers import eventually
from support.chat_servers import ChatServers
from tsxbot.alerts.aggregator_client import AggregatorClient
from tsxbot.alerts.aggregator_watch import AggregatorWatch
from tsxbot.alerts.events import EventKind
from tsxbot.alerts.translate import Translator
from tsxbot.messages import ControlAction, TradingStateChange

STATES = st.sampled_from(["ACTIVE", "REDUCING", "HALTED"])
changes = st.builds(
    TradingStateChange,
    state=STATES,
    causes=st.dictionaries(st.sampled_from(["CIRCUIT_BREAKER", "KILL_SWITCH"]) | st.text(), st.text()),
    circuit_breaker=st.booleans(),
    timestamp=st.datetimes(
        min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
    ),
    change=st.sampled_from(["START", "CIRCUIT_BREAKER_ON", "CIRCUIT_BREAKER_OFF"]) | st.text(),
    was=st.none() | STATES,
    account_id=st.none() | st.integers(-(2**63), 2**63 - 1),
)


def _watch() -> AggregatorWatch:
    # (on_state_change never asks the aggregator's API: no client)
    return AggregatorWatch(cast(AggregatorClient, None), Translator({}, 20.0), lambda: BEFORE_CLOSE)


@settings(
    max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(st.lists(changes, min_size=1, max_size=8))
def test_the_consumer_takes_any_trading_state_change(sequence: list[TradingStateChange]) -> None:
    """Compared with a plain model: a TRADING_STATE alert exactly when the state moved (not for
    ACTIVE first), a CIRCUIT_BREAKER alert exactly when the breaker flag flipped on a breaker change."""
    watch = _watch()
    state: str | None = None
    breaker: bool | None = None
    for change in sequence:
        alerts = watch.on_state_change(change)
        before = state if state is not None else change.was
        moved = change.state != before and not (before is None and change.state == "ACTIVE")
        flipped = (
            change.change in ("CIRCUIT_BREAKER_ON", "CIRCUIT_BREAKER_OFF")
            and breaker is not change.circuit_breaker
        )
        assert [a.kind for a in alerts] == [EventKind.TRADING_STATE] * moved + [
            EventKind.CIRCUIT_BREAKER
        ] * flipped
        state, breaker = change.state, change.circuit_breaker
        assert watch.state == change.state and watch.why == change.causes
    # A good change right after still makes its alert.
    last = sequence[-1]
    other = "HALTED" if last.state != "HALTED" else "ACTIVE"
    good = TradingStateChange(
        state=other, causes={}, circuit_breaker=False, timestamp=BEFORE_CLOSE, change="X"
    )
    assert [a.kind for a in watch.on_state_change(good)] == [EventKind.TRADING_STATE]


async def test_a_halt_reaches_the_chat_within_a_second_without_the_poll(
    tmp_path: Path, servers: ChatServers
) -> None:
    async with rig(
        tmp_path, servers, "alerts.aggregatorPollSeconds=3600", "alerts.coalesceSeconds=0.05"
    ) as r:
        await eventually(lambda: r.alerts.watch.polls == 1, within=10, what="the first (and only) poll")
        await eventually(lambda: r.alerts.watch.state == "ACTIVE", within=15, what="the state at start")
        started = time.monotonic()
        await r.agg.command(ControlAction.HALT, "me", "news at 8:30")
        await eventually(
            lambda: any("trading HALTED (was ACTIVE)" in t for t in servers.texts("telegram")),
            within=1.0,
            what="the halt in the chat",
        )
        took = time.monotonic() - started
        assert r.alerts.watch.polls == 1  # not from a poll
        assert took < 1.0
        text = next(t for t in servers.texts("telegram") if "trading HALTED" in t)
        assert "KILL_SWITCH: halted by me: news at 8:30" in text

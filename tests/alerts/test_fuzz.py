"""Generated input never crashes the notifier: the command parser takes any text; the bus
consumer takes any payload the bus can carry (extreme numbers, odd text, every enum value);
the Telegram reader takes any JSON as an update (through the real getUpdates over HTTP). After
each run a good event and a good command still work."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.alerts_rig import fill, rig
from support.alerts_setup import CHAT
from support.bus_helpers import eventually
from support.chat_servers import ChatServers
from tsxbot.alerts.commands import Command, CommandError, CommandName, parse_command
from tsxbot.messages import (
    BotState,
    BotStatus,
    Envelope,
    Fill,
    Metrics,
    RejectionStage,
    RiskReason,
    RiskRejection,
    Side,
    TradingStateChange,
    channels,
)

T = TypeVar("T")
FUZZ = settings(
    max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
FAST = settings(FUZZ, max_examples=3000)


# --- the parser --------------------------------------------------------------------------------------


@FAST
@given(st.one_of(st.text(), st.text().map(lambda t: "/" + t), st.binary().map(lambda b: b.decode("latin-1"))))
def test_the_parser_takes_any_text(text: str) -> None:
    parsed = parse_command(text, "tsxbot_test_bot")
    assert parsed is None or isinstance(parsed, Command | CommandError)
    if isinstance(parsed, Command):
        assert parsed.name in CommandName
        assert parsed.bot_id is None or (0 < len(parsed.bot_id) <= 64)
        assert len(parsed.reason) <= 500
    if not text.strip().startswith("/"):
        assert parsed is None


@FUZZ
@given(
    st.sampled_from(["pause", "resume"]),
    st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z"),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=30),
)
def test_the_parser_reads_bot_commands(name: str, bot: str, reason: str) -> None:
    parsed = parse_command(f"/{name}@TsxBot_Test_Bot  {bot}  {reason}", "tsxbot_test_bot")
    assert parsed == Command(CommandName(name), bot_id=bot, reason=reason)
    assert parse_command(f"/{name}@other_bot {bot}", "tsxbot_test_bot") is None


def test_the_parser_by_example() -> None:
    assert parse_command("/status") == Command(CommandName.STATUS)
    assert parse_command("/HALT  news  at 8:30") == Command(CommandName.HALT, reason="news at 8:30")
    assert parse_command("/confirm 123456") == Command(CommandName.CONFIRM, code="123456")
    assert isinstance(parse_command("/confirm abc"), CommandError)
    assert isinstance(parse_command("/pause"), CommandError)
    assert isinstance(parse_command("/pause bot 1;drop"), Command)  # the rest is the reason
    assert isinstance(parse_command("/pause ../etc"), CommandError)
    assert parse_command("hello") is None
    assert isinstance(parse_command("/" + "x" * 5000), CommandError)


# --- the bus consumer and the Telegram reader on a running notifier ------------------------------


@contextlib.contextmanager
def background_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-alerts", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T], within: float = 30.0) -> T:
    return asyncio.run_coroutine_threadsafe(work, loop).result(within)


floats = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e12, 1e12)
text = st.text(max_size=300)
stamps = st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
fills = st.builds(
    Fill,
    fill_id=st.integers(0, 2**63),
    exchange_order_id=st.integers(0, 2**63),
    account_id=st.integers(-(2**31), 2**31),
    contract_id=text,
    side=st.sampled_from(Side),
    quantity=st.integers(1, 10**9),
    price=floats,
    timestamp=stamps,
    fees=floats,
    realized_pnl=st.none() | floats,
    bot_id=st.none() | text,
    symbol=st.none() | text,
    voided=st.booleans(),
)
rejections = st.builds(
    RiskRejection,
    order_id=st.text(min_size=1, max_size=128),
    stage=st.sampled_from(RejectionStage),
    reason=st.sampled_from(RiskReason),
    message=text,
    bot_id=st.none() | text,
    limit=st.none() | floats,
    value=st.none() | floats,
)
statuses = st.builds(
    BotStatus,
    bot_id=st.sampled_from(["bot_1", "bot_2", "bot_3"]),
    name=text,
    strategy=text,
    symbol=text,
    state=st.sampled_from(BotState),
    message=st.none() | text,
    realized_pnl=floats,
)
metrics = st.builds(
    Metrics,
    component=st.sampled_from(["connection-manager", "aggregator", ""]) | text,
    values=st.dictionaries(
        st.sampled_from(["healthy", "hubs.user.connects", "hubs.market.connects"]) | text, floats
    ),
)
state_names = st.sampled_from(["ACTIVE", "REDUCING", "HALTED"])
state_changes = st.builds(
    TradingStateChange,
    state=state_names,
    causes=st.dictionaries(st.sampled_from(["CIRCUIT_BREAKER", "KILL_SWITCH", "DAILY_LOSS"]) | text, text),
    circuit_breaker=st.booleans(),
    timestamp=stamps,
    change=st.sampled_from(["START", "CIRCUIT_BREAKER_ON", "CIRCUIT_BREAKER_OFF", "KILL_SWITCH_ON"]) | text,
    was=st.none() | state_names,
    account_id=st.none() | st.integers(-(2**63), 2**63 - 1),
)
events = st.one_of(
    state_changes.map(lambda p: (channels.ACCOUNT_TRADING_STATE, p)),
    fills.map(lambda p: (channels.CM_FILLS, p)),
    rejections.map(lambda p: (channels.AGGREGATOR_RISK, p)),
    statuses.map(lambda p: (channels.bot_status(p.bot_id), p)),
    metrics.map(lambda p: (channels.SYSTEM_METRICS, p)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)
update_like = st.fixed_dictionaries(
    {"update_id": st.integers(-5, 2**40) | st.integers(2**60, 2**80) | json_values},
    optional={
        "message": json_values
        | st.fixed_dictionaries(
            {
                "message_id": st.integers() | json_values,
                "chat": st.fixed_dictionaries({"id": st.sampled_from([CHAT, 777]) | json_values}),
            },
            optional={"text": text.map(lambda t: "/" + t) | json_values, "from": json_values},
        )
    },
)


@pytest.mark.slow
def test_the_consumer_and_the_command_reader_take_anything(tmp_path: Path) -> None:
    with background_loop() as loop:
        servers = ChatServers(known_chats={CHAT, 777})
        run(loop, servers.start())
        rigs = rig(tmp_path, servers, "alerts.queueCapacity=200")
        r = run(loop, rigs.__aenter__())
        try:
            seen = {"events": 0, "updates": 0}

            @FUZZ
            @given(st.lists(events, min_size=1, max_size=5))
            def fuzz_events(batch: list[tuple[channels.Channel, Any]]) -> None:
                for channel, payload in batch:
                    run(loop, r.bus.publish(channel, Envelope.wrap(payload, "fuzz")))
                    seen["events"] += 1

            fuzz_events()

            @settings(FUZZ, max_examples=200)
            @given(st.one_of(update_like, json_values))
            def fuzz_updates(update: Any) -> None:
                loop.call_soon_threadsafe(servers.push_raw, update)
                seen["updates"] += 1

            fuzz_updates()
            assert seen["events"] >= 300 and seen["updates"] >= 150, seen
            assert r.alerts.control is not None
            control = r.alerts.control

            async def settled() -> None:
                await r.bus.flush()
                await eventually(
                    lambda: not servers.updates or control.counters.updates >= seen["updates"], within=30
                )

            run(loop, settled(), within=60)

            async def alive() -> bool:
                return not r.alerts.failed.done() and not r.agg.failed.done()

            assert run(loop, alive())
            assert r.alerts.counters["badMessages"] == 0, r.alerts.counters
            # A good event and a good command still work.
            run(loop, r.bus.publish(channels.CM_FILLS, fill(424242, pnl=1.0)))
            run(loop, eventually(lambda: any("P&L +1.00" in t for t in servers.texts("webhook")), within=20))
            servers.telegram.clear()
            loop.call_soon_threadsafe(servers.push_message, CHAT, "/help")
            run(
                loop,
                eventually(lambda: any("/flatten" in t for t in servers.telegram.get(CHAT, [])), within=20),
            )
        finally:
            run(loop, rigs.__aexit__(None, None, None), within=60)
            run(loop, servers.stop())

"""``simulator.startTime``: ``auto`` (the default) picks a moment when TopStepX accepts orders, ``now``
and a time keep working, a refusal for trading hours names the simulated time, and a simulator
that would follow the machine's clock is refused inside the test suite.

Every "now" here is injected: nothing reads the machine's clock.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from support.exchange import place
from support.sim import START, running_sim, sim_config
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.config.errors import ConfigError
from tsxbot.gateway.enums import PlaceOrderErrorCode
from tsxbot.sim import Simulator, SimulatorService
from tsxbot.sim.start_time import REQUIRED_ENV, StartChoice, UnpinnedStartError, choose_start
from tsxbot.sim.wire.timestamps import from_ns, to_ns


def _utc(text: str) -> int:
    return to_ns(dt.datetime.fromisoformat(text))


def _choose(now: str, *overrides: str) -> StartChoice:
    config = load_config(DEFAULTS_DIR, overrides=list(overrides), env={})
    return choose_start(config.global_config.simulator, config.instruments, now_ns=_utc(now), env={})


# (now UTC, what it is in Chicago, the start auto picks: None = now)
AUTO_CASES = [
    ("2026-11-24T16:00:00Z", "Tue 10:00 CST, the regular session", None),
    ("2026-11-24T21:09:00Z", "Tue 15:09 CST, a minute before TopStepX's day ends", None),
    ("2026-11-24T21:10:00Z", "Tue 15:10 CST, TopStepX's day has ended", "2026-11-24T14:30:00Z"),
    ("2026-12-03T21:30:00Z", "Thu 15:30 CST", "2026-12-03T14:30:00Z"),
    ("2026-11-24T22:30:00Z", "Tue 16:30 CST, the daily halt", "2026-11-24T14:30:00Z"),
    ("2026-11-24T23:30:00Z", "Tue 17:30 CST, the evening session", None),
    ("2026-12-04T22:36:00Z", "Fri 16:36 CST", "2026-12-04T14:30:00Z"),
    ("2026-12-05T02:00:00Z", "Fri 20:00 CST: no Friday evening session", "2026-12-04T14:30:00Z"),
    ("2026-12-05T18:00:00Z", "Sat 12:00 CST", "2026-12-04T14:30:00Z"),
    ("2026-12-06T22:59:00Z", "Sun 16:59 CST, before the week opens", "2026-12-04T14:30:00Z"),
    ("2026-12-06T23:01:00Z", "Sun 17:01 CST, the week has opened", None),
    ("2026-12-07T13:00:00Z", "Mon 07:00 CST", None),
    # DST starts Sun 2026-03-08: the week opens at 17:00 CDT = 22:00 UTC (23:00 UTC in winter).
    ("2026-03-07T18:00:00Z", "Sat 12:00 CST, the day before DST starts", "2026-03-06T14:30:00Z"),
    ("2026-03-08T21:30:00Z", "Sun 16:30 CDT", "2026-03-06T14:30:00Z"),
    ("2026-03-08T22:01:00Z", "Sun 17:01 CDT (16:01 in CST)", None),
    ("2026-03-09T20:30:00Z", "Mon 15:30 CDT", "2026-03-09T13:30:00Z"),
    # DST ends Sun 2026-11-01: the Friday before is CDT, the Monday after CST.
    ("2026-10-31T18:00:00Z", "Sat 13:00 CDT", "2026-10-30T13:30:00Z"),
    ("2026-11-01T22:30:00Z", "Sun 16:30 CST (17:30 in CDT)", "2026-10-30T13:30:00Z"),
    ("2026-11-02T21:30:00Z", "Mon 15:30 CST", "2026-11-02T14:30:00Z"),
]


@pytest.mark.parametrize(("now", "when", "expected"), AUTO_CASES, ids=[c[1] for c in AUTO_CASES])
def test_auto_starts_now_when_orders_are_accepted_else_at_the_latest_regular_open(
    now: str, when: str, expected: str | None
) -> None:
    choice = _choose(now)
    assert choice.ns == _utc(expected or now), (when, from_ns(choice.ns))
    if expected is None:
        assert "market open now" in choice.line and "simulated clock starts now" in choice.line
        return
    assert "market closed now" in choice.line and "set simulator.startTime=now" in choice.line
    # The moment picked is one at which the simulator really takes an order (one definition).
    config = sim_config("simulator.paused=true")
    sim = Simulator(config.global_config.simulator, config.instruments, start_ns=choice.ns)
    assert place(sim, contract_id=sim.contracts.front["ES"].id).ok


def test_auto_says_in_one_line_what_it_picked_and_why() -> None:
    assert _choose("2026-12-04T22:36:00Z").line == (
        "simulator: market closed now (Fri 16:36 CT); simulated clock starts at Fri 2026-12-04 08:30 CT"
        " (simulator.startTime=auto; set simulator.startTime=now or an ISO time to change)"
    )
    assert _choose("2026-12-07T13:00:00Z").line == (
        "simulator: market open now (Mon 07:00 CT); simulated clock starts now (simulator.startTime=auto)"
    )


def test_auto_follows_the_exchange_settings() -> None:
    # Without TopStepX's 15:10 end of day, 15:30 CT is inside the session: auto starts now.
    choice = _choose("2026-12-03T21:30:00Z", "simulator.exchange.rejectAfterFlatten=false")
    assert choice.ns == _utc("2026-12-03T21:30:00Z")


def test_auto_is_the_default_and_null_means_auto() -> None:
    assert load_config(DEFAULTS_DIR, env={}).global_config.simulator.start_time == "auto"
    assert _choose("2026-12-05T18:00:00Z", "simulator.startTime=null").ns == _utc("2026-12-04T14:30:00Z")


def test_now_starts_now_even_when_the_market_is_closed_and_says_so() -> None:
    choice = _choose("2026-12-05T18:00:00Z", "simulator.startTime=now")
    assert choice.ns == _utc("2026-12-05T18:00:00Z")
    assert (
        "starts now, Sat 2026-12-05 12:00 CT; market closed (15:10-17:00 CT and at weekends)" in choice.line
    )


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("2026-11-24T15:30:00Z", "2026-11-24T15:30:00Z"),
        ("2026-11-24T09:30:00-06:00", "2026-11-24T15:30:00Z"),
        ("2026-11-24T15:30:00", "2026-11-24T15:30:00Z"),  # no offset: UTC
    ],
)
def test_an_explicit_time_is_used_as_given(setting: str, expected: str) -> None:
    choice = _choose("2026-12-05T18:00:00Z", f"simulator.startTime={setting}")
    assert choice.ns == _utc(expected)
    assert choice.line.startswith("simulator: simulated clock starts at Tue 2026-11-24 09:30 CT")


def test_an_unquoted_time_in_global_yaml_is_read(tmp_path: Path) -> None:
    (tmp_path / "global.yaml").write_text("simulator:\n  startTime: 2026-11-24T15:30:00Z\n")
    config = load_config(tmp_path, env={})
    assert config.global_config.simulator.pinned_start() == dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)


def test_a_start_time_that_is_neither_a_mode_nor_a_time_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"simulator\.startTime: expected auto, now or an ISO-8601 time"):
        load_config(DEFAULTS_DIR, overrides=["simulator.startTime=yesterday"], env={})


# --- the guard: no test may start a simulator that follows the machine's clock ---------------------


def test_the_test_session_requires_every_simulator_to_be_pinned() -> None:
    assert os.environ.get(REQUIRED_ENV) == "1"


@pytest.mark.parametrize("mode", ["auto", "now", "null"])
def test_an_unpinned_simulator_is_refused_in_the_test_session(mode: str) -> None:
    config = load_config(DEFAULTS_DIR, overrides=["simulator.port=0", f"simulator.startTime={mode}"], env={})
    with pytest.raises(
        UnpinnedStartError, match=r"pin the simulated time, e\.g\. --set simulator\.startTime="
    ):
        Simulator(config.global_config.simulator, config.instruments)


async def test_an_unpinned_simulator_service_does_not_start_in_the_test_session() -> None:
    config = load_config(DEFAULTS_DIR, overrides=["simulator.port=0"], env={})
    service = SimulatorService(config.global_config.simulator, config.instruments)
    try:
        with pytest.raises(UnpinnedStartError, match=REQUIRED_ENV):
            await service.start()
    finally:
        await service.stop()


def test_a_pinned_simulator_starts_in_the_test_session() -> None:
    config = sim_config()
    sim = Simulator(config.global_config.simulator, config.instruments)
    assert sim.start_ns == _utc(START)


# --- the refusal names the simulated time and the setting ------------------------------------------


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (
            "2026-12-04T22:36:00Z",
            "Outside trading hours: simulated time is 2026-12-04 16:36 CT (Fri); the market is closed"
            " 15:10-17:00 CT and at weekends (set simulator.startTime)",
        ),
        (
            "2026-12-05T18:00:00Z",
            "Outside trading hours: simulated time is 2026-12-05 12:00 CT (Sat); the market is closed"
            " 15:10-17:00 CT and at weekends (set simulator.startTime)",
        ),
    ],
)
def test_a_refusal_for_trading_hours_names_the_simulated_time_and_the_setting(
    start: str, message: str
) -> None:
    config = sim_config("simulator.paused=true", f"simulator.startTime={start}")
    sim = Simulator(config.global_config.simulator, config.instruments)
    result = place(sim)
    assert (result.code, result.message) == (PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS, message)


def test_without_the_end_of_day_rule_the_refusal_names_the_daily_halt() -> None:
    config = sim_config(
        "simulator.paused=true",
        "simulator.startTime=2026-11-24T22:30:00Z",
        "simulator.exchange.rejectAfterFlatten=false",
    )
    result = place(Simulator(config.global_config.simulator, config.instruments))
    assert result.code == PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS
    assert result.message is not None and "closed 16:00-17:00 CT and at weekends" in result.message


async def test_the_rest_answer_carries_the_refusal_with_code_5() -> None:
    async with running_sim("simulator.paused=true", "simulator.startTime=2026-12-05T18:00:00Z") as s:
        body = await s.place()
    assert (body["success"], body["errorCode"]) == (False, 5)
    assert body["errorMessage"].startswith(
        "Outside trading hours: simulated time is 2026-12-05 12:00 CT (Sat)"
    )

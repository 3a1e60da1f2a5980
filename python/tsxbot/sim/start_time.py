"""The simulated clock's first reading, from ``simulator.startTime``: ``auto`` (the default),
``now``, or a time.

``auto`` is now when TopStepX accepts orders now, else the latest weekday's regular open
(08:30 CT) before now, so the embedded simulator trades at any time of day. The choice comes with
one line that says what was picked and why (the simulator logs it at start).

A test must never follow the machine's clock: with ``SIM_START_TIME_REQUIRED`` set in the
environment (the test suite sets it, and its subprocesses inherit it), a start that would read the
machine's clock (``auto`` or ``now``) is refused with an error saying how to pin it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tsxbot.config.instruments import Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.sim.exchange.hours import TradingHours
from tsxbot.sim.wire.timestamps import to_ns

REQUIRED_ENV = "SIM_START_TIME_REQUIRED"
EXAMPLE = "2026-11-24T15:30:00Z"


class UnpinnedStartError(RuntimeError):
    """A simulator would start at the machine's time where a pinned time is required (tests)."""


@dataclass(frozen=True)
class StartChoice:
    ns: int
    # One line for the log: the time picked and why.
    line: str


def choose_start(
    config: SimulatorConfig,
    instruments: Instruments,
    *,
    now_ns: int | None = None,
    env: Mapping[str, str] | None = None,
) -> StartChoice:
    """The simulated start for ``config``; ``now_ns`` is the machine's time (read when None)."""
    hours = TradingHours.reference(instruments, config.exchange)
    pinned = config.pinned_start()
    if pinned is not None:
        ns = to_ns(pinned)
        return StartChoice(
            ns,
            f"simulator: simulated clock starts at {hours.day_and_time(ns)}"
            f" (simulator.startTime={config.start_time})",
        )
    mode = config.start_time or "auto"
    if (os.environ if env is None else env).get(REQUIRED_ENV):
        raise UnpinnedStartError(
            f"simulator.startTime={mode} follows the machine's clock, and {REQUIRED_ENV} is set"
            " (the test suite sets it: no test may depend on the time of day): pin the simulated"
            f" time, e.g. --set simulator.startTime={EXAMPLE} or tsxbot sim --start {EXAMPLE}"
            " (tests/support/sim.py START)"
        )
    now = time.time_ns() if now_ns is None else now_ns
    is_open = hours.accepts_orders(now)
    if mode == "now":
        state = "market open" if is_open else f"market closed ({hours.closed_hours()}): orders are refused"
        return StartChoice(
            now,
            f"simulator: simulated clock starts now, {hours.day_and_time(now)}; {state}"
            " (simulator.startTime=now; auto picks an open moment)",
        )
    if is_open:
        return StartChoice(
            now,
            f"simulator: market open now ({hours.weekday_time(now)}); simulated clock starts now"
            " (simulator.startTime=auto)",
        )
    start = hours.latest_regular_open(now)
    return StartChoice(
        start,
        f"simulator: market closed now ({hours.weekday_time(now)}); simulated clock starts at"
        f" {hours.day_and_time(start)} (simulator.startTime=auto; set simulator.startTime=now"
        " or an ISO time to change)",
    )

"""Exit management as a pure state machine: break-even, trailing (only tightening, by points or
ATR), partials, the time exit; never a stop on the wrong side of the market."""

from __future__ import annotations

from typing import Any

import msgspec

from tsxbot.config.bot_config import Exits
from tsxbot.strategy import ClosedBar, Exit, MoveStop, Reason
from tsxbot.strategy.exits import ExitManager


def exits(**data: Any) -> ExitManager:
    return ExitManager(msgspec.convert(data, Exits), 0.25)


def bar(high: float, low: float, close: float) -> ClosedBar:
    return ClosedBar(0, 60, close, high, low, close, 100.0)


def stops(out: list[Exit | MoveStop]) -> list[float]:
    return [o.price for o in out if isinstance(o, MoveStop)]


def test_break_even_at_trigger_r_with_offset_ticks_long_and_short() -> None:
    m = exits(breakEven={"enabled": True, "triggerR": 1.0, "offsetTicks": 1})
    m.open("long", 100.0, 98.0, 104.0, 2)  # R = 2
    assert m.on_bar(bar(101.75, 100, 101.5)) == []
    out = m.on_bar(bar(102.0, 100.5, 101.5))
    assert stops(out) == [100.25] and out[0].reason.setup == "break-even"  # type: ignore[union-attr]
    assert m.on_bar(bar(102.5, 101, 102)) == []  # already there
    m.open("short", 100.0, 102.0, 96.0, 2)
    assert stops(m.on_bar(bar(100.5, 98.0, 98.5))) == [99.75]


def test_a_stop_is_not_moved_beyond_the_close() -> None:
    m = exits(breakEven={"enabled": True, "triggerR": 1.0, "offsetTicks": 1})
    m.open("long", 100.0, 98.0, None, 1)
    assert m.on_bar(bar(102.0, 99.5, 100.0)) == []  # 100.25 would be above the market
    assert stops(m.on_bar(bar(101.0, 100.0, 100.75))) == [100.25]  # the best price was already reached


def test_trailing_only_tightens() -> None:
    m = exits(trailing={"enabled": True, "activationR": 1.5, "distancePoints": 2.0})
    m.open("long", 100.0, 98.0, None, 1)
    assert m.on_bar(bar(102.75, 101, 102.5)) == []  # 1.375 R: not active yet
    assert stops(m.on_bar(bar(103.0, 102, 102.5))) == [101.0]
    assert stops(m.on_bar(bar(104.0, 103, 103.5))) == [102.0]
    assert m.on_bar(bar(103.5, 102.5, 103.0)) == []  # the best is still 104
    # A strategy's looser request is refused, a tighter one taken.
    assert m.tighten(101.0, 103.0, Reason(setup="x")) is None
    move = m.tighten(102.6, 103.0, Reason(setup="x"))
    assert move is not None and move.price == 102.5  # on the grid, on the loose side


def test_trailing_by_atr_multiple() -> None:
    m = exits(trailing={"enabled": True, "activationR": 1.0, "distancePoints": 2.0, "atrMultiple": 1.0})
    m.open("short", 100.0, 102.0, None, 1)
    assert stops(m.on_bar(bar(99.0, 97.0, 97.5), atr=1.5)) == [98.5]
    assert stops(m.on_bar(bar(97.5, 96.0, 96.5))) == [98.0]  # no ATR given: distancePoints


def test_partial_once_and_never_the_whole_position() -> None:
    m = exits(partial={"enabled": True, "fraction": 0.5, "atR": 1.0})
    m.open("long", 100.0, 98.0, None, 3)
    out = m.on_bar(bar(102.0, 100, 101))
    assert len(out) == 1 and isinstance(out[0], Exit) and out[0].quantity == 1
    assert m.on_bar(bar(103.0, 101, 102)) == []
    one = exits(partial={"enabled": True, "fraction": 0.5, "atR": 1.0})
    one.open("long", 100.0, 98.0, None, 1)
    assert one.on_bar(bar(102.0, 100, 101)) == []


def test_time_exit_once() -> None:
    m = exits(breakEven={"enabled": True})
    m.open("long", 100.0, 98.0, None, 1)
    (out,) = m.on_bar(bar(102, 100, 101), flatten_due=True)
    assert isinstance(out, Exit) and out.quantity is None and out.reason.setup == "time exit"
    assert m.on_bar(bar(102, 100, 101), flatten_due=True) == []


def test_a_scale_in_keeps_one_stop_at_the_tighter_price_for_the_whole_size() -> None:
    m = exits(breakEven={"enabled": True, "triggerR": 1.0, "offsetTicks": 0})
    m.open("long", 100.0, 96.0, None, 2)  # R = 4
    m.scale_in(101.0, 99.0, 3)  # an add at 103 with its stop at 99: average (2 x 100 + 103) / 3
    pos = m.position
    assert pos is not None
    assert (pos.stop, pos.initial_stop, pos.entry, pos.quantity) == (99.0, 99.0, 101.0, 3)
    # R is now 2 from the average price: break-even at 103 moves the one stop to 101.
    assert stops(m.on_bar(bar(103.0, 101.5, 102.5))) == [101.0]
    m.scale_in(101.5, 97.0, 4)  # a looser added stop never loosens the position's
    assert (pos.stop, pos.quantity) == (101.0, 4)
    m.open("short", 100.0, 104.0, None, 1)
    m.scale_in(99.0, 101.0, 2)
    assert m.position is not None and m.position.stop == 101.0

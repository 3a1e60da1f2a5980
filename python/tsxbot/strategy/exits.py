"""Exit management: break-even, trailing, partials and the time exit, as a pure state machine.

``ExitManager(exits, tick_size)`` follows one position (``open``), and on each closed bar
(``on_bar``) returns the ``MoveStop`` / ``Exit`` signals the bot's ``exits`` settings call for:

- **break-even**: once the best price since entry reaches ``triggerR`` x risk (risk: the distance
  from the entry to the initial stop), the stop goes to the entry +/- ``offsetTicks``;
- **trailing**: from ``activationR`` x risk, the stop follows the best price at ``distancePoints``
  (or ``atrMultiple`` x the strategy's ATR), on the tick grid, on the loose side;
- **partial**: once, ``fraction`` of the position (rounded down, at least one contract left) at
  ``atR`` x risk;
- **time exit**: ``Exit`` when the gate says ``flattenAt`` is due.

``reads_bars`` is False when none of the first three rules is on: ``on_bar`` then only answers
the time exit (the best price it follows is read by those rules alone), so the engine, without
``flattenAt``, does not call it.

A stop only ever tightens (``tighten``, also for the strategy's own ``MoveStop``), and a new stop
must lie on the protective side of the bar's close (a sell stop above the market would fill at
once): otherwise the move waits for a later bar. "Best price" is read from closed bars' highs and
lows, as every other decision.
"""

from __future__ import annotations

import math

from tsxbot.config.bot_config import Exits
from tsxbot.strategy.bar import BarLike
from tsxbot.strategy.signals import Exit, MoveStop, Reason, Side
from tsxbot.ticks import Rounding, TickSize

__all__ = ["ExitManager", "ManagedPosition"]


class ManagedPosition:
    """What the exit manager knows of the open position."""

    __slots__ = (
        "best",
        "break_even_done",
        "entry",
        "flatten_sent",
        "initial_stop",
        "partial_done",
        "quantity",
        "side",
        "stop",
        "target",
    )

    def __init__(self, side: Side, entry: float, stop: float, target: float | None, quantity: int) -> None:
        self.side: Side = side
        self.entry = entry
        self.initial_stop = stop
        self.stop = stop
        self.target = target
        self.quantity = quantity
        self.best = entry
        self.break_even_done = False
        self.partial_done = False
        self.flatten_sent = False

    @property
    def risk(self) -> float:
        return abs(self.entry - self.initial_stop)

    def r_multiple(self, price: float) -> float:
        sign = 1.0 if self.side == "long" else -1.0
        risk = self.risk
        return (price - self.entry) * sign / risk if risk > 0 else 0.0


class ExitManager:
    def __init__(self, exits: Exits, tick_size: float) -> None:
        self.exits = exits
        self.ticks = TickSize(tick_size)
        self.tick_size = tick_size
        self.position: ManagedPosition | None = None
        # Without partial, break-even and trailing a bar only moves the best price, which only
        # those rules read: a caller without a time exit need not pass bars then.
        self._rules = exits.partial.enabled or exits.break_even.enabled or exits.trailing.enabled
        self.reads_bars = self._rules

    def open(self, side: Side, entry: float, stop: float, target: float | None, quantity: int) -> None:
        self.position = ManagedPosition(side, entry, stop, target, quantity)

    def close(self) -> None:
        self.position = None

    def scale_in(self, average_price: float, stop: float, quantity: int) -> None:
        """An entry added to the position (``risk.maxPositions`` > 1): one protective stop covers
        the whole size, at the tighter of the position's stop and the added entry's (it only
        tightens either entry's, so neither risks more than it was sized for); R is measured from
        the new average price to that stop while the stop has not been moved."""
        pos = self.position
        if pos is None:
            return
        tighter = max(pos.stop, stop) if pos.side == "long" else min(pos.stop, stop)
        if pos.stop == pos.initial_stop:
            pos.initial_stop = tighter
        pos.stop = tighter
        pos.entry = average_price
        pos.quantity = quantity

    def set_quantity(self, quantity: int) -> None:
        if self.position is not None:
            if quantity <= 0:
                self.position = None
            else:
                self.position.quantity = quantity

    def tighten(self, price: float, close: float, reason: Reason) -> MoveStop | None:
        """A ``MoveStop`` to ``price`` (on the tick grid, loose side) when it tightens the stop and
        lies on the protective side of ``close``; None otherwise."""
        pos = self.position
        if pos is None or not math.isfinite(price):
            return None
        if pos.side == "long":
            price = self.ticks.round(price, Rounding.DOWN)
            if price <= pos.stop or price >= close:
                return None
        else:
            price = self.ticks.round(price, Rounding.UP)
            if price >= pos.stop or price <= close:
                return None
        pos.stop = price
        return MoveStop(price=price, reason=reason)

    def on_bar(
        self, bar: BarLike, *, flatten_due: bool = False, atr: float | None = None
    ) -> list[Exit | MoveStop]:
        pos = self.position
        if pos is None:
            return []
        out: list[Exit | MoveStop] = []
        if flatten_due:
            if not pos.flatten_sent:
                pos.flatten_sent = True
                out.append(Exit(reason=Reason(setup="time exit", note="exits.flattenAt")))
            return out
        long = pos.side == "long"
        if long:
            if bar.high > pos.best:
                pos.best = bar.high
        elif bar.low < pos.best:
            pos.best = bar.low
        if not self._rules:
            return out
        reached = pos.r_multiple(pos.best)
        sign = 1.0 if long else -1.0
        exits = self.exits

        partial = exits.partial
        if partial.enabled and not pos.partial_done and reached >= partial.at_r:
            pos.partial_done = True
            quantity = min(math.floor(pos.quantity * partial.fraction), pos.quantity - 1)
            if quantity >= 1:
                out.append(
                    Exit(
                        reason=Reason(setup="partial", values={"r": reached, "atR": partial.at_r}),
                        quantity=quantity,
                    )
                )

        candidates: list[tuple[float, Reason]] = []
        be = exits.break_even
        if be.enabled and reached >= be.trigger_r:
            level = pos.entry + sign * be.offset_ticks * self.tick_size
            candidates.append(
                (level, Reason(setup="break-even", values={"r": reached, "triggerR": be.trigger_r}))
            )
        trail = exits.trailing
        if trail.enabled and reached >= trail.activation_r:
            distance = trail.distance_points
            if trail.atr_multiple is not None and atr is not None and math.isfinite(atr) and atr > 0:
                distance = trail.atr_multiple * atr
            level = pos.best - sign * distance
            candidates.append(
                (
                    level,
                    Reason(setup="trailing", values={"r": reached, "best": pos.best, "distance": distance}),
                )
            )
        if candidates:
            level, reason = max(candidates, key=lambda c: c[0] * sign)
            move = self.tighten(level, bar.close, reason)
            if move is not None:
                if reason.setup == "break-even":
                    pos.break_even_done = True
                out.append(move)
        return out

"""The strategy API: what a strategy is, on one page.

A strategy is one small class::

    class MyParams(StrategyParams, frozen=True, kw_only=True):   # typed, validated at load
        period: Period = 20

    class MyStrategy(Strategy[MyParams]):
        params_type = MyParams

        def __init__(self, params: MyParams, ctx: Context) -> None:
            super().__init__(params, ctx)
            self.sma = SMA(params.period)                         # tsxbot.indicators (Rust)

        def on_bar(self, bar: BarLike) -> Sequence[Decision]:
            mean = self.sma.update(bar.close)
            if bar.close > mean + 2 and self.ctx.position.flat:
                return [Enter(side="long", stop=bar.low, target=None, reason=Reason(setup="pop"))]
            return NOTHING

Parameter types (``Period``, ``PositiveInt``, ``PositiveFloat``, ``Fraction``, ``TimeOfDay``,
...) are re-exported here; ``problems()`` on the params struct adds cross-field checks, reported
like every other config problem.

- **Input**: ``on_bar(bar)`` gets every closed bar of ``params.timeframe`` (``BarLike``: the Rust
  ``tsxbot.bars.Bar`` or a ``ClosedBar`` from a bus ``Bar``). Optional hooks: ``on_print``,
  ``on_quote``, ``on_fill`` (its own fills; ``ctx.position`` is its position), and
  ``extra_timeframes()`` + ``on_extra_bar(timeframe, bar)`` for bars of other timeframes.
- **Context** (``self.ctx``): ``now`` (the bar's close, integer ns: the only clock), ``clock``
  (exchange minute of the day, trading date), ``calendar``, ``instrument``, ``position``, and the
  session's order flow from the Rust core (``vwap``, ``profile``, ``delta``), ``levels`` (the
  previous trading day's high, low, close). The flow and the levels are kept for a strategy that
  declares it reads them (``needs``, both by default; ``needs = frozenset()`` spares that work
  on every print and bar). Other windows: ``SessionLevels``; relative volume:
  ``RelativeVolume``. Indicators come from
  ``tsxbot.indicators``, never written again in Python.
- **Output**: decisions: ``Enter(side, stop, target, reason)``, ``Exit(reason, quantity=None)``,
  ``MoveStop``, ``MoveTarget``, or ``Skip(kind, detail, reason)`` when a setup fired but a filter
  refused it. Every ``Reason`` names the setup and carries its levels and values.
- **No I/O, no wall clock**: the same class runs live, on the simulator and in the backtester.

Around it, the bot's shared rules (pure, typed, in this package): ``sizing`` (contracts from
dollar risk, the skip rules), ``gate`` (signals per day, cooldown, positions, hours, flattenAt),
``exits`` (break-even, trailing, partial, time exit) and the ``StrategyEngine`` that composes
them and that both the bot and the backtester drive. ``registry`` loads a strategy by name or by
dotted path (``strategy.type: mypackage.module:MyStrategy``).
"""

from __future__ import annotations

from tsxbot.config.types import (
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    Period,
    PositiveFloat,
    PositiveInt,
    TimeOfDay,
)
from tsxbot.strategies.params import StrategyParams, Timeframe
from tsxbot.strategy.bar import BarLike, ClosedBar, closed_bar
from tsxbot.strategy.base import NOTHING, Decision, Strategy
from tsxbot.strategy.clock import ExchangeClock, minutes
from tsxbot.strategy.context import Context, Need, NotKept
from tsxbot.strategy.levels import DayLevels, SessionLevels
from tsxbot.strategy.position import Fill, Position
from tsxbot.strategy.relative_volume import RelativeVolume
from tsxbot.strategy.signals import SIDES, Enter, Exit, MoveStop, MoveTarget, Reason, Side, Signal, opposite
from tsxbot.strategy.skip import Skip, SkipKind

__all__ = [
    "NOTHING",
    "SIDES",
    "BarLike",
    "ClosedBar",
    "Context",
    "DayLevels",
    "Decision",
    "Enter",
    "ExchangeClock",
    "Exit",
    "Fill",
    "Fraction",
    "MoveStop",
    "MoveTarget",
    "Need",
    "NonNegativeFloat",
    "NonNegativeInt",
    "NotKept",
    "Period",
    "Position",
    "PositiveFloat",
    "PositiveInt",
    "Reason",
    "RelativeVolume",
    "SessionLevels",
    "Side",
    "Signal",
    "Skip",
    "SkipKind",
    "Strategy",
    "StrategyParams",
    "TimeOfDay",
    "Timeframe",
    "closed_bar",
    "minutes",
    "opposite",
]

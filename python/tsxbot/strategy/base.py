"""The ``Strategy`` base class: one small class a user subclasses (see ``tsxbot.strategy``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from tsxbot.strategies.params import StrategyParams
from tsxbot.strategy.bar import BarLike
from tsxbot.strategy.context import ALL_NEEDS, Context, Need
from tsxbot.strategy.position import Fill
from tsxbot.strategy.signals import Signal
from tsxbot.strategy.skip import Skip

__all__ = ["NOTHING", "Decision", "P", "Strategy"]

P = TypeVar("P", bound=StrategyParams)
Decision = Signal | Skip
NOTHING: tuple[Decision, ...] = ()


class Strategy(Generic[P]):
    """Subclass it, set ``params_type`` and write ``on_bar``.

    ``__init__(params, ctx)`` builds the strategy's own indicators (``tsxbot.indicators``);
    ``on_bar(bar)`` gets every closed bar of ``params.timeframe`` (warm-up bars included: keep
    state from them; the engine discards what you answer while warming up) and answers decisions
    (``Enter``, ``Exit``, ``MoveStop``, ``MoveTarget``, ``Skip``), usually ``NOTHING``. The other
    hooks are optional. No I/O, no wall clock: ``self.ctx.now`` is the time.

    ``needs``: the parts of the context the engine keeps up to date for it, ``flow``
    (``ctx.vwap``, ``ctx.profile``, ``ctx.delta``) and ``levels`` (``ctx.levels``); both unless
    the class says otherwise. A strategy that reads neither sets ``needs = frozenset()`` and is
    spared that work on every print and bar, live and in backtests (reading one raises
    ``NotKept``).
    """

    params_type: ClassVar[type[StrategyParams]] = StrategyParams
    needs: ClassVar[frozenset[Need]] = ALL_NEEDS

    def __init__(self, params: P, ctx: Context) -> None:
        self.params = params
        self.ctx = ctx

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        raise NotImplementedError

    def extra_timeframes(self) -> Sequence[str]:
        """Other timeframes whose closed bars this strategy wants (``"15m"``, ``"1h"``, ...)."""
        return ()

    def on_extra_bar(self, timeframe: str, bar: BarLike) -> None:
        """A closed bar of one of ``extra_timeframes``: before the main bar that closes with it.
        It keeps state only; decisions are taken on the main timeframe's bars."""

    def on_print(self, ts_ns: int, price: float, size: float, aggressor: int) -> None:
        """Every trade (aggressor 1 buy, -1 sell, 0 unknown), after the context's flow took it."""

    def on_quote(self, ts_ns: int, bid: float, ask: float) -> None:
        """Every best bid/ask update."""

    def on_fill(self, fill: Fill) -> None:
        """Each fill of the bot's orders; ``self.ctx.position`` is already the new position."""

    def atr(self) -> float | None:
        """The strategy's ATR, if it keeps one (the exits' ``trailing.atrMultiple`` uses it)."""
        return None

    def state(self) -> dict[str, float | int | str | bool | None]:
        """Levels and indicator values for the bot's status (called on demand, not per bar)."""
        return {}

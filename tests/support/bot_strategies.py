"""A scripted strategy for the bot runtime's tests (loaded by dotted path, as a user's would
be): it enters at a given minute, then moves its stop, exits or raises on cue, so each test knows
by construction what the bot must send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tsxbot.config.types import TimeOfDay
from tsxbot.strategy import (
    NOTHING,
    BarLike,
    Context,
    Decision,
    Enter,
    Exit,
    MoveStop,
    Reason,
    Skip,
    SkipKind,
    Strategy,
    StrategyParams,
)
from tsxbot.strategy.clock import minutes


class ScriptedParams(StrategyParams, frozen=True, kw_only=True):
    side: Literal["long", "short"] = "long"
    # Enter on the bar that closes at this time (exchange time).
    enter_at: TimeOfDay = "09:32"
    stop_points: float = 5.0
    target_points: float = 40.0
    # Skip the entry (NOT_READY) until this many bars were seen (History's count).
    min_bars: int = 0
    # Bars after the entry bar: tighten the stop by 1 point; exit; raise (0: never).
    move_stop_after: int = 0
    exit_after: int = 0
    raise_after: int = 0
    # A second entry, same side, on the bar that closes at this time (a scale-in), its stop
    # ``add_stop_points`` from that bar's close.
    add_at: TimeOfDay | None = None
    add_stop_points: float = 3.0
    # Another timeframe whose closed bars the strategy records (``seen``), with its own bars.
    extra_timeframe: str | None = None


class Scripted(Strategy[ScriptedParams]):
    params_type = ScriptedParams

    def __init__(self, params: ScriptedParams, ctx: Context) -> None:
        super().__init__(params, ctx)
        self.bars = 0
        self.entry_bar: int | None = None
        self.stop = 0.0
        self.day: int | None = None
        # (timeframe, bar start, bar end) of every bar received, main and extra, in order.
        self.seen: list[tuple[str, int, int]] = []

    def extra_timeframes(self) -> tuple[str, ...]:
        return (self.params.extra_timeframe,) if self.params.extra_timeframe else ()

    def on_extra_bar(self, timeframe: str, bar: BarLike) -> None:
        self.seen.append((timeframe, bar.start, bar.end))

    def state(self) -> dict[str, float | int | str | bool | None]:
        return {"bars": self.bars, "stop": self.stop}

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        p = self.params
        self.bars += 1
        self.seen.append((p.timeframe, bar.start, bar.end))
        if self.ctx.trading_date() != self.day:  # one entry a day
            self.day = self.ctx.trading_date()
            self.entry_bar = None
        if self.entry_bar is not None:
            after = self.bars - self.entry_bar
            if p.raise_after and after >= p.raise_after:
                raise RuntimeError(f"scripted failure {after} bars after the entry")
            if p.move_stop_after and after == p.move_stop_after:
                sign = 1.0 if p.side == "long" else -1.0
                self.stop += sign * 1.0
                return [MoveStop(price=self.stop, reason=Reason(setup="scripted tighten"))]
            if p.exit_after and after == p.exit_after:
                return [Exit(reason=Reason(setup="scripted exit"))]
            if p.add_at is not None and self.ctx.minute() == minutes(p.add_at):
                sign = 1.0 if p.side == "long" else -1.0
                reason = Reason(setup="scripted add", values={"bars": self.bars})
                stop = bar.close - sign * p.add_stop_points
                target = bar.close + sign * p.target_points
                return [Enter(side=p.side, stop=stop, target=target, reason=reason)]
            return NOTHING
        if self.ctx.minute() != minutes(p.enter_at):
            return NOTHING
        reason = Reason(setup="scripted entry", values={"bars": self.bars})
        if self.bars < p.min_bars:
            return [Skip(kind=SkipKind.NOT_READY, detail=f"{self.bars} of {p.min_bars} bars", reason=reason)]
        self.entry_bar = self.bars
        sign = 1.0 if p.side == "long" else -1.0
        self.stop = bar.close - sign * p.stop_points
        return [Enter(side=p.side, stop=self.stop, target=bar.close + sign * p.target_points, reason=reason)]

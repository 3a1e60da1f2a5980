"""``ORB_RUBBER_BAND``: the opening-range breakout, its failure (the rubber band), and stretches
back to VWAP.

As ``shared/docs/strategies.md`` defines it (default MNQ, 1-minute bars, the 08:30 CT open; the
VWAP resets at the RTH open: ``flowSession: rth``). Each signal's ``Reason`` carries the range
(rangeHigh, rangeLow, rangeMid, R) and the values that decided it.

- **Opening range**: the high and low of the bars that start in the first
  ``openingRangeMinutes`` after ``sessionOpen``; complete at the first bar that starts at or after
  the window's end (that bar is already evaluated). A range is only built from a bar that starts
  exactly at ``sessionOpen`` (history included): a bot that saw no such bar does not trade that
  session (it never builds a range from its own start time). With ``londonOpen`` set, a second
  range (same length) is kept for that session, with its own ``londonEntryCutoff``.
- **Breakout** long (short mirrors): the bar closes above the range high by at least
  max(``breakoutBufferTicks``, ``breakoutMinRangeFraction`` x R) while the previous bar did not.
  Skipped when: the bar closes at or after ``entryCutoff`` (AFTER_CUTOFF); the excess is above
  ``breakoutMaxRangeFraction`` x R (TOO_EXTENDED); relative volume < ``minRelativeVolume``
  (RELATIVE_VOLUME); the side already broke out this session (ALREADY_TRADED). Stop: the range
  low - ``stopBufferTicks`` (``stopAt: rangeOpposite``) or the range midpoint (``rangeMid``);
  the sizing skips it when that risk exceeds ``maxRiskPoints``. Target: R:R x risk.
- **Rubber band** (``rubberBand: true``): within ``reversalWindowMinutes`` of a breakout entry
  (its bar's close), a later bar closes back inside the range, or gives back at least
  ``reversalGivebackFraction`` of the move beyond the range (from the extreme since the
  breakout), with relative volume >= ``reversalMinRelativeVolume`` (else RELATIVE_VOLUME): an
  ``Exit`` of the breakout position (when one is held) and the opposite entry. Stop: the
  breakout's extreme + ``stopBufferTicks``; target: the session VWAP or the range midpoint
  (``reversionTarget``), or R:R x risk when that is nearer (or when the VWAP/midpoint is not on
  the profit side). Once per breakout; it is the continuation of a trade, so ``entryCutoff``
  does not apply to it.
- **Stretch** (``stretch: true``): after the range is complete and before the cut-off, a bar
  that closes more than ``maxExtensionAtr`` x ATR(``atrPeriod``) from the VWAP, followed by a
  bar that closes nearer to it (on the same side), is a signal toward the VWAP: target the VWAP,
  stop beyond the two bars' extreme + ``stretchStopBufferTicks``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tsxbot.indicators import ATR
from tsxbot.strategies.params import OrbRubberBandParams
from tsxbot.strategy import (
    NOTHING,
    SIDES,
    BarLike,
    Context,
    Decision,
    Enter,
    Exit,
    Reason,
    RelativeVolume,
    Side,
    Skip,
    SkipKind,
    Strategy,
    minutes,
    opposite,
)

__all__ = ["OpeningRange", "OrbRubberBand"]

_MINUTE_NS = 60 * 1_000_000_000


class OpeningRange:
    """One session's opening range and what was traded off it (reset each trading day)."""

    def __init__(self, name: str, open_minute: int, length: int, cutoff: int) -> None:
        self.name = name
        self.open = open_minute
        self.end = open_minute + length
        self.cutoff = cutoff
        self.reset(None)

    def reset(self, day: int | None) -> None:
        self.day = day
        self.high = -math.inf
        self.low = math.inf
        self.started = False
        self.invalid = False
        self.complete = False
        self.broke: set[str] = set()
        # The live breakout the rubber band watches: side, its bar's close time, the extreme.
        self.breakout: tuple[Side, int] | None = None
        self.extreme = math.nan

    @property
    def size(self) -> float:
        return self.high - self.low

    @property
    def mid(self) -> float:
        return (self.high + self.low) / 2

    def update(self, bar: BarLike, day: int, minute: int) -> None:
        if day != self.day:
            self.reset(day)
        if self.complete or self.invalid:
            return
        if self.open <= minute < self.end:
            if not self.started and minute != self.open:
                self.invalid = True  # joined after the open: no range today
                return
            self.started = True
            self.high = max(self.high, bar.high)
            self.low = min(self.low, bar.low)
        elif minute >= self.end and self.started:
            self.complete = True


class OrbRubberBand(Strategy[OrbRubberBandParams]):
    params_type = OrbRubberBandParams
    # The session VWAP (ctx.vwap); its opening range is its own.
    needs = frozenset({"flow"})

    def __init__(self, params: OrbRubberBandParams, ctx: Context) -> None:
        super().__init__(params, ctx)
        p = params
        self.ranges = [
            OpeningRange("rth", minutes(p.session_open), p.opening_range_minutes, minutes(p.entry_cutoff))
        ]
        if p.london_open is not None:
            self.ranges.append(
                OpeningRange(
                    "london", minutes(p.london_open), p.opening_range_minutes, minutes(p.london_entry_cutoff)
                )
            )
        self._atr = ATR(p.atr_period)
        self._volume = RelativeVolume(p.relative_volume_period)
        self._prev_close = math.nan
        # The previous bar when it closed stretched from VWAP: (side of VWAP +1/-1, high, low, distance).
        self._stretched: tuple[float, float, float, float] | None = None

    def atr(self) -> float | None:
        return self._atr.value

    def state(self) -> dict[str, float | int | str | bool | None]:
        out: dict[str, float | int | str | bool | None] = {
            "atr": self._atr.value,
            "vwap": self.ctx.vwap.value,
        }
        for r in self.ranges:
            if r.complete:
                out[f"{r.name}RangeHigh"] = r.high
                out[f"{r.name}RangeLow"] = r.low
        return out

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        ctx = self.ctx
        atr = self._atr.update(bar.high, bar.low, bar.close)
        rel = self._volume.update(bar.volume)
        prev_close, self._prev_close = self._prev_close, bar.close
        day = ctx.clock.trading_date(bar.start)
        if day is None:
            return NOTHING
        minute = ctx.clock.minute_of_day(bar.start)
        close_minute = ctx.clock.minute_of_day(bar.end)
        out: list[Decision] = []
        for r in self.ranges:
            r.update(bar, day, minute)
            if not r.complete:
                continue
            if r.breakout is not None:
                self._rubber_band(r, bar, rel, out)
            if not math.isnan(prev_close):
                for side in SIDES:
                    self._breakout(r, side, bar, prev_close, rel, close_minute, out)
        self._stretch(bar, atr, close_minute, out)
        return out

    def _reason(self, setup: str, r: OpeningRange, bar: BarLike, **values: float) -> Reason:
        return Reason(
            setup=setup,
            levels={"rangeHigh": r.high, "rangeLow": r.low, "rangeMid": r.mid},
            values={
                "R": r.size,
                "close": bar.close,
                "relVolume": self._volume.value,
                "vwap": self.ctx.vwap.value,
                "atr": self._atr.value,
                **values,
            },
        )

    def _after_cutoff(self, r: OpeningRange, close_minute: int) -> bool:
        return not (r.open <= close_minute < r.cutoff)

    def _breakout(
        self,
        r: OpeningRange,
        side: Side,
        bar: BarLike,
        prev_close: float,
        rel: float,
        close_minute: int,
        out: list[Decision],
    ) -> None:
        p, ctx = self.params, self.ctx
        sign = 1.0 if side == "long" else -1.0
        edge = r.high if side == "long" else r.low
        minimum = max(ctx.ticks(p.breakout_buffer_ticks), p.breakout_min_range_fraction * r.size)
        excess = (bar.close - edge) * sign
        if not (excess >= minimum - 1e-9 and (prev_close - edge) * sign < minimum - 1e-9):
            return
        reason = self._reason(f"{r.name} breakout {side}", r, bar, excess=excess)
        skip: tuple[SkipKind, str] | None = None
        if side in r.broke:
            skip = SkipKind.ALREADY_TRADED, f"one {side} breakout per session"
        elif self._after_cutoff(r, close_minute):
            skip = SkipKind.AFTER_CUTOFF, "at or after the entry cut-off"
        elif excess > p.breakout_max_range_fraction * r.size + 1e-9:
            skip = (
                SkipKind.TOO_EXTENDED,
                f"{excess:g} beyond the range, more than {p.breakout_max_range_fraction:g} x R ({r.size:g})",
            )
        elif not rel >= p.min_relative_volume:
            skip = SkipKind.RELATIVE_VOLUME, f"relative volume {rel:.2f} < {p.min_relative_volume:g}"
        if skip is not None:
            out.append(Skip(kind=skip[0], detail=skip[1], reason=reason))
            return
        if p.stop_at == "rangeMid":
            stop = r.mid
        else:
            stop = (r.low if side == "long" else r.high) - sign * ctx.ticks(p.stop_buffer_ticks)
        risk = (bar.close - stop) * sign
        r.broke.add(side)
        r.breakout = (side, bar.end)
        r.extreme = bar.high if side == "long" else bar.low
        out.append(
            Enter(side=side, stop=stop, target=bar.close + sign * p.risk_reward_ratio * risk, reason=reason)
        )

    def _rubber_band(self, r: OpeningRange, bar: BarLike, rel: float, out: list[Decision]) -> None:
        p, ctx = self.params, self.ctx
        assert r.breakout is not None
        side, at = r.breakout
        if bar.end == at:
            return  # the breakout bar itself
        if not p.rubber_band or ctx.now - at > p.reversal_window_minutes * _MINUTE_NS:
            r.breakout = None
            return
        sign = 1.0 if side == "long" else -1.0
        edge = r.high if side == "long" else r.low
        r.extreme = max(r.extreme, bar.high) if side == "long" else min(r.extreme, bar.low)
        move = (r.extreme - edge) * sign
        inside = (bar.close - edge) * sign < 0
        gave_back = move > 0 and (r.extreme - bar.close) * sign >= p.reversal_giveback_fraction * move
        if not (inside or gave_back):
            return
        turn = opposite(side)
        reason = self._reason(f"{r.name} rubber band {turn}", r, bar, extreme=r.extreme, move=move)
        if not rel >= p.reversal_min_relative_volume:
            out.append(
                Skip(
                    kind=SkipKind.RELATIVE_VOLUME,
                    detail=f"relative volume {rel:.2f} < {p.reversal_min_relative_volume:g}",
                    reason=reason,
                )
            )
            return
        r.breakout = None
        if ctx.position.side == side:
            out.append(Exit(reason=reason))
        stop = r.extreme + sign * ctx.ticks(p.stop_buffer_ticks)
        risk = (stop - bar.close) * sign
        by_rr = bar.close - sign * p.risk_reward_ratio * risk
        level = ctx.vwap.value if p.reversion_target == "vwap" else r.mid
        target = by_rr
        if math.isfinite(level) and (bar.close - level) * sign > 0:  # on the profit side of the entry
            target = max(level, by_rr) if turn == "short" else min(level, by_rr)
        out.append(Enter(side=turn, stop=stop, target=target, reason=reason))

    def _stretch(self, bar: BarLike, atr: float, close_minute: int, out: list[Decision]) -> None:
        p, ctx = self.params, self.ctx
        vwap = ctx.vwap.value
        before, self._stretched = self._stretched, None
        rth = self.ranges[0]
        if not p.stretch or math.isnan(vwap) or math.isnan(atr) or not rth.complete:
            return
        distance = bar.close - vwap
        if before is not None:
            where, high, low, was = before
            if distance * where > 0 and abs(distance) < was:
                side: Side = "short" if where > 0 else "long"
                reason = Reason(
                    setup=f"stretch {side}",
                    values={"close": bar.close, "vwap": vwap, "atr": atr, "extension": was / atr},
                )
                if self._after_cutoff(rth, close_minute):
                    out.append(
                        Skip(
                            kind=SkipKind.AFTER_CUTOFF, detail="at or after the entry cut-off", reason=reason
                        )
                    )
                    return
                buffer = ctx.ticks(p.stretch_stop_buffer_ticks)
                stop = max(high, bar.high) + buffer if side == "short" else min(low, bar.low) - buffer
                out.append(Enter(side=side, stop=stop, target=vwap, reason=reason))
                return
        if abs(distance) > p.max_extension_atr * atr:
            self._stretched = (1.0 if distance > 0 else -1.0, bar.high, bar.low, abs(distance))

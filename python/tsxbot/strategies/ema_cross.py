"""``EMA_CROSS``: a fast/slow EMA crossover, or the pull-back to the fast EMA, with ATR stops.

As ``shared/docs/strategies.md`` defines it (default MES, 1-minute bars, EMA 9 and 21, Rust EMAs
and ATR). Each signal's ``Reason`` carries the EMAs, their spread, the ATR and the close.

- **Cross** (``entry: cross``): the fast EMA closes above the slow one after being at or below it
  on the previous bar -> long; the mirror -> short. Skipped when: the EMAs or the ATR are warming
  up (NOT_READY); ``trendFilterPeriod`` is set and the close is not above (long) / below (short)
  EMA(``trendFilterPeriod``) (TREND_FILTER); the spread is below ``minEmaSpreadPoints`` (0 = off)
  (EMA_SPREAD); within the post-win / post-loss cooldown (COOLDOWN). An opposite cross closes
  the position (``Exit``) and, with ``reverseOnCross: true``, enters the other way (the exit
  comes first). Stop: entry - ``atrStopMultiplier`` x ATR; target ``riskRewardRatio`` x risk.
- **Retrace** (``entry: retrace``): when the previous bar was in an up-trend (fast >= slow, the
  close at or above the fast EMA and above the slow one), a bar closing below the fast EMA starts
  a pull-back; the first bar closing back above the fast EMA, with fast >= slow still, is the
  long, skipped when a pull-back bar closed below the slow EMA (PULLBACK_TOO_DEEP) or the
  pull-back lasted more than ``maxPullbackBars`` bars (PULLBACK_TOO_LONG). The pull-back is
  forgotten when fast falls below slow. Shorts mirror. Stop: the slow EMA - ``stopOffsetTicks``.
- **Dynamic stop**: ``trailWithSlowEma: true`` asks on every bar to move the stop to the slow EMA
  -/+ ``stopOffsetTicks``; the exit manager takes it only when it tightens.
- **Cooldown in bars** after a position closes: ``postWinBars`` after a win, ``postLossBars``
  after a loss or a scratch (counted from the next closed bar).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tsxbot.indicators import ATR, EMA
from tsxbot.strategies.params import EmaCrossParams
from tsxbot.strategy import (
    NOTHING,
    SIDES,
    BarLike,
    Context,
    Decision,
    Enter,
    Exit,
    Fill,
    MoveStop,
    Reason,
    Side,
    Skip,
    SkipKind,
    Strategy,
    opposite,
)

__all__ = ["EmaCross"]


class EmaCross(Strategy[EmaCrossParams]):
    params_type = EmaCrossParams
    # It reads its own EMAs and ATR only: no order flow, no day levels kept for it.
    needs = frozenset()

    def __init__(self, params: EmaCrossParams, ctx: Context) -> None:
        super().__init__(params, ctx)
        self._fast = EMA(params.fast_period)
        self._slow = EMA(params.slow_period)
        self._atr = ATR(params.atr_period)
        self._trend = EMA(params.trend_filter_period) if params.trend_filter_period else None
        self._prev_fast = self._prev_slow = self._prev_close = math.nan
        self._cooldown_bars = 0
        # The pull-back in progress: its side, its length in bars, whether it closed beyond slow.
        self._pullback: Side | None = None
        self._pullback_bars = 0
        self._pullback_deep = False

    def atr(self) -> float | None:
        return self._atr.value

    def state(self) -> dict[str, float | int | str | bool | None]:
        return {
            "fastEma": self._fast.value,
            "slowEma": self._slow.value,
            "atr": self._atr.value,
            "trendEma": self._trend.value if self._trend else None,
            "pullback": self._pullback,
            "cooldownBars": self._cooldown_bars,
        }

    def on_fill(self, fill: Fill) -> None:
        if self.ctx.position.flat and fill.realized_points is not None:
            p = self.params
            self._cooldown_bars = p.post_win_bars if fill.realized_points > 0 else p.post_loss_bars

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        p = self.params
        close = bar.close
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        atr = self._atr.update(bar.high, bar.low, close)
        trend = self._trend.update(close) if self._trend is not None else math.nan
        prev_fast, prev_slow, prev_close = self._prev_fast, self._prev_slow, self._prev_close
        self._prev_fast, self._prev_slow, self._prev_close = fast, slow, close
        cooling = self._cooldown_bars > 0
        if cooling:
            self._cooldown_bars -= 1
        if math.isnan(fast) or math.isnan(slow) or math.isnan(prev_fast) or math.isnan(prev_slow):
            return NOTHING
        out: list[Decision] = []
        if p.entry == "cross":
            self._cross(bar, fast, slow, prev_fast, prev_slow, atr, trend, cooling, out)
        else:
            self._retrace(bar, fast, slow, prev_fast, prev_slow, prev_close, cooling, out)
        held = self.ctx.position.side
        if p.trail_with_slow_ema and held is not None and not any(isinstance(d, Exit) for d in out):
            offset = self.ctx.ticks(p.stop_offset_ticks)
            level = slow - offset if held == "long" else slow + offset
            out.append(MoveStop(price=level, reason=self._reason("slow EMA trail", bar, fast, slow, atr)))
        return out

    def _reason(self, setup: str, bar: BarLike, fast: float, slow: float, atr: float) -> Reason:
        values = {"close": bar.close, "fastEma": fast, "slowEma": slow, "spread": fast - slow, "atr": atr}
        if self._trend is not None:
            values["trendEma"] = self._trend.value
        return Reason(setup=setup, values=values)

    def _cross(
        self,
        bar: BarLike,
        fast: float,
        slow: float,
        prev_fast: float,
        prev_slow: float,
        atr: float,
        trend: float,
        cooling: bool,
        out: list[Decision],
    ) -> None:
        p = self.params
        if fast > slow and prev_fast <= prev_slow:
            side: Side = "long"
        elif fast < slow and prev_fast >= prev_slow:
            side = "short"
        else:
            return
        sign = 1.0 if side == "long" else -1.0
        reason = self._reason(f"cross {side}", bar, fast, slow, atr)
        held = self.ctx.position.side
        if held == opposite(side):
            out.append(Exit(reason=Reason(setup=f"opposite cross ({side})", values=reason.values)))
            if not p.reverse_on_cross:
                return
        elif held == side:
            return
        skip: tuple[SkipKind, str] | None = None
        if math.isnan(atr):
            skip = SkipKind.NOT_READY, "ATR still warming up"
        elif self._trend is not None and (math.isnan(trend) or not (bar.close - trend) * sign > 0):
            skip = (
                SkipKind.TREND_FILTER,
                (
                    f"close {bar.close:g} is not {'above' if sign > 0 else 'below'} "
                    f"EMA({p.trend_filter_period}) {trend:.4f}"
                ),
            )
        elif p.min_ema_spread_points > 0 and abs(fast - slow) < p.min_ema_spread_points:
            skip = SkipKind.EMA_SPREAD, f"EMA spread {abs(fast - slow):.4f} < {p.min_ema_spread_points:g}"
        elif cooling:
            skip = SkipKind.COOLDOWN, "within postWinBars / postLossBars after the last trade"
        if skip is not None:
            out.append(Skip(kind=skip[0], detail=skip[1], reason=reason))
            return
        risk = p.atr_stop_multiplier * atr
        out.append(
            Enter(
                side=side,
                stop=bar.close - sign * risk,
                target=bar.close + sign * p.risk_reward_ratio * risk,
                reason=reason,
            )
        )

    def _retrace(
        self,
        bar: BarLike,
        fast: float,
        slow: float,
        prev_fast: float,
        prev_slow: float,
        prev_close: float,
        cooling: bool,
        out: list[Decision],
    ) -> None:
        p = self.params
        close = bar.close
        side = self._pullback
        if side is not None:
            sign = 1.0 if side == "long" else -1.0
            if (fast - slow) * sign < 0:  # the trend is gone
                self._pullback = None
                return
            if (close - fast) * sign > 0:  # back beyond the fast EMA: the pull-back is over
                self._pullback = None
                reason = self._reason(f"retrace {side}", bar, fast, slow, self._atr.value)
                reason = Reason(
                    setup=reason.setup, values={**reason.values, "pullbackBars": float(self._pullback_bars)}
                )
                skip: tuple[SkipKind, str] | None = None
                if self._pullback_deep:
                    skip = SkipKind.PULLBACK_TOO_DEEP, "a pull-back bar closed beyond the slow EMA"
                elif self._pullback_bars > p.max_pullback_bars:
                    skip = (
                        SkipKind.PULLBACK_TOO_LONG,
                        f"the pull-back lasted {self._pullback_bars} bars > "
                        f"maxPullbackBars {p.max_pullback_bars}",
                    )
                elif cooling:
                    skip = SkipKind.COOLDOWN, "within postWinBars / postLossBars after the last trade"
                if skip is not None:
                    out.append(Skip(kind=skip[0], detail=skip[1], reason=reason))
                    return
                if self.ctx.position.side == side:
                    return
                stop = slow - sign * self.ctx.ticks(p.stop_offset_ticks)
                risk = (close - stop) * sign
                out.append(
                    Enter(
                        side=side, stop=stop, target=close + sign * p.risk_reward_ratio * risk, reason=reason
                    )
                )
                return
            self._pullback_bars += 1
            if (close - slow) * sign < 0:
                self._pullback_deep = True
            return
        for candidate in SIDES:
            sign = 1.0 if candidate == "long" else -1.0
            trending_before = (
                (prev_fast - prev_slow) * sign >= 0
                and (prev_close - prev_fast) * sign >= 0
                and (prev_close - prev_slow) * sign > 0
            )
            if trending_before and (fast - slow) * sign >= 0 and (close - fast) * sign < 0:
                self._pullback = candidate
                self._pullback_bars = 1
                self._pullback_deep = (close - slow) * sign < 0
                return

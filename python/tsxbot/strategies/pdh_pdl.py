"""``PDH_PDL``: breakouts, fades and liquidity sweeps at the previous day's high and low.

As ``shared/docs/strategies.md`` defines it (default MGC, 5-minute bars). Every decision is on a
closed bar; each signal's ``Reason`` carries the setup, the levels (pdh, pdl, prevClose, mid) and
the values that decided it (atr, adx, relVolume, vwap, poc, vah, val, barDelta, ...).

- **Levels**: the high, low and close of the previous completed session: with ``levelSession:
  rth`` the bars starting in ``rthStart``-``rthEnd`` (08:30-15:15 CT) of the previous ETH
  trading day that had any, with ``eth`` its whole ETH session (``tsxbot.strategy.levels``).
- **Context**: ATR(``atrPeriod``) and ADX(``adxPeriod``) (Wilder, Rust) on these bars; relative
  volume over the previous ``relativeVolumePeriod`` bars; the context's session VWAP, volume
  profile (value area ``valueAreaFraction``) and cumulative delta. Regime: ADX >=
  ``adxTrendThreshold`` trending, <= ``adxRangeThreshold`` ranging, else neutral.
- **Windows** (a bar belongs to a window when it *starts* in it): sweeps ``sweepStart``-
  ``sweepEnd`` (07:30-08:30), breakouts ``breakoutStart``-``breakoutEnd`` (08:30-10:30), fades
  ``fadeStart``-``fadeEnd`` (13:00-15:00). ``mode: breakout`` runs breakouts only; ``mode: fade``
  runs fades and sweeps (a sweep is a failed break: the fade family); ``both`` runs all three.
- **Breakout** long (short mirrors at PDL): the bar closes above PDH + ``breakoutBufferTicks``
  and the previous bar closed at or below that line. Then, in this order, skipped when: ATR/ADX
  are warming up (NOT_READY), relative volume < ``minRelativeVolume`` (RELATIVE_VOLUME), the close
  is not above the VWAP (VWAP), the regime is ranging (REGIME), ``useCumulativeDelta`` and the
  bar's delta is not positive (DELTA), ``useVolumeProfile`` and the POC is not below the entry
  (VOLUME_PROFILE). Stop: PDH - ``stopAtrMultiplier`` x ATR, its distance from the entry clamped
  to ``minStopTicks``-``maxStopTicks``. Target: ``riskRewardRatio`` x risk.
- **Fade** short at PDH (long mirrors at PDL): the bar's high reaches PDH - ``proximityTicks`` or
  above, and it closes below PDH - ``breakoutBufferTicks``. Skipped when: its upper wick is less
  than ``minWickFraction`` of its range (WICK), the regime is trending (REGIME), with
  ``useCumulativeDelta`` the bar's delta is not negative and no bearish divergence (DELTA), with
  ``useVolumeProfile`` PDH lies inside the value area (VOLUME_PROFILE). Stop: the bar's high +
  ``fadeStopBufferTicks``, at least PDH + ``fadeMinStopTicks``. Target: entry - R:R x risk, but
  not beyond PDL (the sizing then skips it when that leaves less than ``minRewardRisk``).
- **Liquidity sweep** short at PDH (long mirrors): within the last ``sweepLookbackBars`` bars
  (this one included) a high went at least ``sweepMinTicks`` above PDH, and this bar closes at
  least ``sweepReclaimTicks`` below PDH while the previous bar did not. Stop: the sweep's
  extreme + ``sweepStopBufferTicks``; target: R:R x risk. One sweep trade per level per trading
  day (ALREADY_TRADED after). ``detectLiquiditySweeps: false`` turns it off.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from tsxbot.indicators import ADX, ATR, Divergence
from tsxbot.strategies.params import PdhPdlParams
from tsxbot.strategy import (
    NOTHING,
    SIDES,
    BarLike,
    Context,
    Decision,
    Enter,
    Reason,
    RelativeVolume,
    SessionLevels,
    Side,
    Skip,
    SkipKind,
    Strategy,
    minutes,
)
from tsxbot.strategy.levels import DayLevels

__all__ = ["PdhPdl"]


class PdhPdl(Strategy[PdhPdlParams]):
    params_type = PdhPdlParams
    # VWAP, volume profile and delta; its day levels are its own (``SessionLevels``, a window).
    needs = frozenset({"flow"})

    def __init__(self, params: PdhPdlParams, ctx: Context) -> None:
        super().__init__(params, ctx)
        p = params
        window = (minutes(p.rth_start), minutes(p.rth_end)) if p.level_session == "rth" else None
        self.levels = SessionLevels(ctx.clock, window)
        self._atr = ATR(p.atr_period)
        self._adx = ADX(p.adx_period)
        self._volume = RelativeVolume(p.relative_volume_period)
        self._highs: deque[float] = deque(maxlen=p.sweep_lookback_bars)
        self._lows: deque[float] = deque(maxlen=p.sweep_lookback_bars)
        self._prev_close = math.nan
        self._day: int | None = None
        self._swept: set[str] = set()
        self._windows = {
            name: (minutes(getattr(p, f"{name}_start")), minutes(getattr(p, f"{name}_end")))
            for name in ("sweep", "breakout", "fade")
        }
        self.regime = "unknown"

    def atr(self) -> float | None:
        return self._atr.value

    def state(self) -> dict[str, float | int | str | bool | None]:
        lv = self.levels.previous
        return {
            "pdh": lv.high if lv else None,
            "pdl": lv.low if lv else None,
            "prevClose": lv.close if lv else None,
            "atr": self._atr.value,
            "adx": self._adx.value,
            "regime": self.regime,
            "relVolume": self._volume.value,
            "vwap": self.ctx.vwap.value,
        }

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        p, ctx = self.params, self.ctx
        self.levels.update(bar)
        atr = self._atr.update(bar.high, bar.low, bar.close)
        adx = self._adx.update(bar.high, bar.low, bar.close)
        rel = self._volume.update(bar.volume)
        self._highs.append(bar.high)
        self._lows.append(bar.low)
        prev_close, self._prev_close = self._prev_close, bar.close
        day = ctx.clock.trading_date(bar.start)
        if day != self._day:
            self._day = day
            self._swept.clear()
        self.regime = (
            "unknown"
            if math.isnan(adx)
            else "trending"
            if adx >= p.adx_trend_threshold
            else "ranging"
            if adx <= p.adx_range_threshold
            else "neutral"
        )
        lv = self.levels.previous
        if lv is None or math.isnan(prev_close):
            return NOTHING
        minute = ctx.clock.minute_of_day(bar.start)
        out: list[Decision] = []
        if p.mode != "fade" and self._in("breakout", minute):
            for side in SIDES:
                self._breakout(side, bar, lv, prev_close, atr, adx, rel, out)
        if p.mode != "breakout":
            if self._in("fade", minute):
                for side in SIDES:
                    self._fade(side, bar, lv, adx, rel, out)
            if p.detect_liquidity_sweeps and self._in("sweep", minute):
                for side in SIDES:
                    self._sweep(side, bar, lv, prev_close, out)
        return out

    def _in(self, window: str, minute: int) -> bool:
        start, end = self._windows[window]
        return start <= minute < end

    def _reason(self, setup: str, lv: DayLevels, bar: BarLike, **values: float) -> Reason:
        ctx = self.ctx
        val, vah = ctx.profile.value_area if ctx.profile.initialized else (math.nan, math.nan)
        return Reason(
            setup=setup,
            levels={"pdh": lv.high, "pdl": lv.low, "prevClose": lv.close, "mid": lv.mid},
            values={
                "close": bar.close,
                "atr": self._atr.value,
                "adx": self._adx.value,
                "relVolume": self._volume.value,
                "vwap": ctx.vwap.value,
                "poc": ctx.profile.poc if ctx.profile.initialized else math.nan,
                "vah": vah,
                "val": val,
                "barDelta": bar.delta,
                "cumulativeDelta": ctx.delta.value,
                **values,
            },
        )

    def _breakout(
        self,
        side: Side,
        bar: BarLike,
        lv: DayLevels,
        prev_close: float,
        atr: float,
        adx: float,
        rel: float,
        out: list[Decision],
    ) -> None:
        p, ctx = self.params, self.ctx
        sign = 1.0 if side == "long" else -1.0
        level = lv.high if side == "long" else lv.low
        line = level + sign * ctx.ticks(p.breakout_buffer_ticks)
        if not ((bar.close - line) * sign > 0 and (prev_close - line) * sign <= 0):
            return
        reason = self._reason(f"breakout {side}", lv, bar, line=line)
        vwap = ctx.vwap.value
        poc = ctx.profile.poc if ctx.profile.initialized else math.nan
        skip: tuple[SkipKind, str] | None = None
        if math.isnan(atr) or math.isnan(adx):
            skip = SkipKind.NOT_READY, "ATR/ADX still warming up"
        elif not rel >= p.min_relative_volume:
            skip = SkipKind.RELATIVE_VOLUME, f"relative volume {rel:.2f} < {p.min_relative_volume:g}"
        elif not (bar.close - vwap) * sign > 0:
            skip = (
                SkipKind.VWAP,
                f"close {bar.close:g} is not {'above' if sign > 0 else 'below'} VWAP {vwap:.4f}",
            )
        elif adx <= p.adx_range_threshold:
            skip = SkipKind.REGIME, f"ranging: ADX {adx:.1f} <= {p.adx_range_threshold:g}"
        elif p.use_cumulative_delta and not bar.delta * sign > 0:
            skip = SkipKind.DELTA, f"bar delta {bar.delta:g} is not {'positive' if sign > 0 else 'negative'}"
        elif p.use_volume_profile and math.isnan(poc):
            skip = SkipKind.NOT_READY, "no volume profile yet this session"
        elif p.use_volume_profile and not (bar.close - poc) * sign > 0:
            skip = SkipKind.VOLUME_PROFILE, f"POC {poc:g} is not {'below' if sign > 0 else 'above'} the entry"
        if skip is not None:
            out.append(Skip(kind=skip[0], detail=skip[1], reason=reason))
            return
        distance = (bar.close - (level - sign * p.stop_atr_multiplier * atr)) * sign
        distance = min(max(distance, ctx.ticks(p.min_stop_ticks)), ctx.ticks(p.max_stop_ticks))
        stop = bar.close - sign * distance
        target = bar.close + sign * p.risk_reward_ratio * distance
        out.append(Enter(side=side, stop=stop, target=target, reason=reason))

    def _fade(
        self, side: Side, bar: BarLike, lv: DayLevels, adx: float, rel: float, out: list[Decision]
    ) -> None:
        # short at PDH (side "short"), long at PDL (side "long")
        p, ctx = self.params, self.ctx
        sign = -1.0 if side == "short" else 1.0  # direction of the trade
        level = lv.high if side == "short" else lv.low
        other = lv.low if side == "short" else lv.high
        extreme = bar.high if side == "short" else bar.low
        touched = (extreme - (level + sign * ctx.ticks(p.proximity_ticks))) * -sign >= 0
        line = level + sign * ctx.ticks(p.breakout_buffer_ticks)
        if not (touched and (bar.close - line) * sign > 0):
            return
        reason = self._reason(f"fade {side}", lv, bar, line=line)
        rng = bar.high - bar.low
        wick = (
            (bar.high - max(bar.open, bar.close)) if side == "short" else (min(bar.open, bar.close) - bar.low)
        )
        skip: tuple[SkipKind, str] | None = None
        divergence = Divergence.BEARISH if side == "short" else Divergence.BULLISH
        if not (rng > 0 and wick >= p.min_wick_fraction * rng):
            skip = SkipKind.WICK, f"wick {wick:g} is less than {p.min_wick_fraction:g} of the range {rng:g}"
        elif not math.isnan(adx) and adx >= p.adx_trend_threshold:
            skip = SkipKind.REGIME, f"trending: ADX {adx:.1f} >= {p.adx_trend_threshold:g}"
        elif p.use_cumulative_delta and not (bar.delta * sign > 0 or ctx.delta.divergence == divergence):
            skip = (
                SkipKind.DELTA,
                f"bar delta {bar.delta:g} and no {'bearish' if sign < 0 else 'bullish'} divergence",
            )
        elif p.use_volume_profile:
            if not ctx.profile.initialized:
                skip = SkipKind.NOT_READY, "no volume profile yet this session"
            else:
                low, high = ctx.profile.value_area
                if low <= level <= high:
                    skip = (
                        SkipKind.VOLUME_PROFILE,
                        f"{'PDH' if side == 'short' else 'PDL'} {level:g} is inside the value area "
                        f"{low:g}-{high:g}",
                    )
        if skip is not None:
            out.append(Skip(kind=skip[0], detail=skip[1], reason=reason))
            return
        stop = extreme - sign * ctx.ticks(p.fade_stop_buffer_ticks)
        floor = level - sign * ctx.ticks(p.fade_min_stop_ticks)
        stop = max(stop, floor) if side == "short" else min(stop, floor)
        risk = (bar.close - stop) * sign
        target = bar.close + sign * p.risk_reward_ratio * risk
        target = max(target, other) if side == "short" else min(target, other)
        out.append(Enter(side=side, stop=stop, target=target, reason=reason))

    def _sweep(self, side: Side, bar: BarLike, lv: DayLevels, prev_close: float, out: list[Decision]) -> None:
        # short after a sweep above PDH, long after one below PDL
        p, ctx = self.params, self.ctx
        sign = -1.0 if side == "short" else 1.0
        level = lv.high if side == "short" else lv.low
        extreme = max(self._highs) if side == "short" else min(self._lows)
        swept = (extreme - level) * -sign >= ctx.ticks(p.sweep_min_ticks) - 1e-9
        line = level + sign * ctx.ticks(p.sweep_reclaim_ticks)
        if not (swept and (bar.close - line) * sign >= -1e-9 and (prev_close - line) * sign < -1e-9):
            return
        name = "pdh" if side == "short" else "pdl"
        reason = self._reason(f"sweep {side}", lv, bar, line=line, extreme=extreme)
        if name in self._swept:
            out.append(
                Skip(
                    kind=SkipKind.ALREADY_TRADED,
                    detail=f"one sweep trade per level per day ({name})",
                    reason=reason,
                )
            )
            return
        self._swept.add(name)
        stop = extreme - sign * ctx.ticks(p.sweep_stop_buffer_ticks)
        target = bar.close + sign * p.risk_reward_ratio * (bar.close - stop) * sign
        out.append(Enter(side=side, stop=stop, target=target, reason=reason))

"""Parameters of the built-in strategies, as ``strategy.params`` in a bot's YAML.

Every strategy shares the sizing parameters of ``StrategyParams`` (the spec's dollar risk per
trade, maximum risk in points and reward:risk ratio) and adds its own. A user's strategy
subclasses ``StrategyParams`` the same way (see ``tsxbot.strategy``). What each parameter does is
told in the strategy's module docstring (``tsxbot.strategies.pdh_pdl``, ``ema_cross``,
``orb_rubber_band``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from tsxbot.config.global_config import Section
from tsxbot.config.types import (
    Fraction,
    NonNegativeInt,
    Period,
    PositiveFloat,
    PositiveInt,
    PositiveMoney,
    TimeOfDay,
)
from tsxbot.config.validate import format_path, validate

Timeframe = Literal["1s", "5s", "15s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "30m", "1h", "4h", "1d"]


class ReloadError(ValueError):
    """RELOAD params the strategy refuses; the message is the config loader's."""


def reload_params(current: StrategyParams, changes: Mapping[str, Any]) -> StrategyParams:
    """``current`` with ``changes`` (camelCase keys, as in the bot's YAML) applied, validated as
    the config loader does; ``ReloadError`` with its messages otherwise. Used by the bot on RELOAD
    and by the control panel before it sends one (the same messages)."""
    base = msgspec.to_builtins(current)
    assert isinstance(base, dict)
    params, problems = validate({**base, **changes}, type(current))
    if params is None or problems:
        raise ReloadError(
            "; ".join(f"strategy.params.{format_path(p.path)}: {p.message}" for p in problems)
            or "invalid params"
        )
    if params.timeframe != current.timeframe:
        raise ReloadError("strategy.params.timeframe: cannot change while the bot runs (restart it)")
    return params


class StrategyParams(Section, frozen=True):
    dollar_risk_per_trade: PositiveMoney
    max_risk_points: PositiveFloat
    # The target, in multiples of the risk, where a strategy sets it by R:R.
    risk_reward_ratio: PositiveFloat = 2.0
    # Below this reward:risk a signal is skipped (REWARD_RISK_TOO_LOW).
    min_reward_risk: PositiveFloat = 1.0
    timeframe: Timeframe = "5m"
    # The session the VWAP, the volume profile and the cumulative delta reset with.
    flow_session: Literal["eth", "rth"] = "eth"

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.min_reward_risk > self.risk_reward_ratio:
            yield (
                "minRewardRisk",
                f"minRewardRisk ({self.min_reward_risk:g}) is above riskRewardRatio "
                f"({self.risk_reward_ratio:g}): every R:R target would be skipped",
            )


def _windows(params: object, names: Iterable[str]) -> Iterable[tuple[str, str]]:
    for name in names:
        start = getattr(params, f"{name}_start")
        end = getattr(params, f"{name}_end")
        if end <= start:
            yield f"{name}End", f"must be later than {name}Start ({start})"


class PdhPdlParams(StrategyParams, frozen=True, kw_only=True):
    """Breakouts, fades and liquidity sweeps at the previous day's high and low."""

    mode: Literal["breakout", "fade", "both"] = "both"
    level_session: Literal["rth", "eth"] = "rth"
    rth_start: TimeOfDay = "08:30"
    rth_end: TimeOfDay = "15:15"
    breakout_buffer_ticks: NonNegativeInt = 2
    proximity_ticks: NonNegativeInt = 2
    use_volume_profile: bool = True
    value_area_fraction: Fraction = 0.7
    use_cumulative_delta: bool = True
    atr_period: Period = 14
    adx_period: Period = 14
    adx_trend_threshold: PositiveFloat = 25.0
    adx_range_threshold: PositiveFloat = 20.0
    relative_volume_period: Period = 20
    min_relative_volume: PositiveFloat = 1.5
    stop_atr_multiplier: PositiveFloat = 1.5
    min_stop_ticks: PositiveInt = 8
    max_stop_ticks: PositiveInt = 15
    fade_stop_buffer_ticks: NonNegativeInt = 2
    fade_min_stop_ticks: PositiveInt = 8
    min_wick_fraction: Fraction = 0.5
    detect_liquidity_sweeps: bool = True
    sweep_lookback_bars: PositiveInt = 3
    sweep_min_ticks: PositiveInt = 3
    sweep_reclaim_ticks: NonNegativeInt = 4
    sweep_stop_buffer_ticks: NonNegativeInt = 2
    sweep_start: TimeOfDay = "07:30"
    sweep_end: TimeOfDay = "08:30"
    breakout_start: TimeOfDay = "08:30"
    breakout_end: TimeOfDay = "10:30"
    fade_start: TimeOfDay = "13:00"
    fade_end: TimeOfDay = "15:00"

    def problems(self) -> Iterable[tuple[str, str]]:
        yield from super().problems()
        if self.adx_range_threshold > self.adx_trend_threshold:
            yield "adxRangeThreshold", f"must not exceed adxTrendThreshold ({self.adx_trend_threshold:g})"
        if self.min_stop_ticks > self.max_stop_ticks:
            yield "minStopTicks", f"must not exceed maxStopTicks ({self.max_stop_ticks})"
        yield from _windows(self, ("rth", "sweep", "breakout", "fade"))


class EmaCrossParams(StrategyParams, frozen=True, kw_only=True):
    """Trend following on a fast/slow EMA crossover (or its pull-back) with ATR stops."""

    timeframe: Timeframe = "1m"
    entry: Literal["cross", "retrace"] = "cross"
    fast_period: Period = 9
    slow_period: Period = 21
    atr_period: Period = 14
    atr_stop_multiplier: PositiveFloat = 1.5
    trend_filter_period: Period | None = None
    min_ema_spread_points: float = 0.0
    reverse_on_cross: bool = False
    max_pullback_bars: PositiveInt = 15
    stop_offset_ticks: NonNegativeInt = 2
    trail_with_slow_ema: bool = False
    post_win_bars: NonNegativeInt = 0
    post_loss_bars: NonNegativeInt = 0

    def problems(self) -> Iterable[tuple[str, str]]:
        yield from super().problems()
        if self.fast_period >= self.slow_period:
            yield (
                "fastPeriod",
                f"the fast EMA period ({self.fast_period}) must be shorter than the slow one "
                f"({self.slow_period})",
            )
        if self.min_ema_spread_points < 0:
            yield "minEmaSpreadPoints", f"expected >= 0 (0 = off), got {self.min_ema_spread_points:g}"


class OrbRubberBandParams(StrategyParams, frozen=True, kw_only=True):
    """Opening-range breakout, its failure (the rubber band), and stretches back to VWAP."""

    timeframe: Timeframe = "1m"
    flow_session: Literal["eth", "rth"] = "rth"
    session_open: TimeOfDay = "08:30"
    opening_range_minutes: PositiveInt = 15
    entry_cutoff: TimeOfDay = "11:00"
    london_open: TimeOfDay | None = None
    london_entry_cutoff: TimeOfDay = "05:00"
    breakout_buffer_ticks: NonNegativeInt = 2
    breakout_min_range_fraction: Fraction = 0.1
    breakout_max_range_fraction: PositiveFloat = 0.3
    relative_volume_period: Period = 20
    min_relative_volume: PositiveFloat = 1.2
    stop_at: Literal["rangeOpposite", "rangeMid"] = "rangeOpposite"
    stop_buffer_ticks: NonNegativeInt = 2
    rubber_band: bool = True
    reversal_window_minutes: PositiveInt = 15
    reversal_giveback_fraction: Fraction = 0.5
    reversal_min_relative_volume: PositiveFloat = 1.5
    reversion_target: Literal["vwap", "rangeMid"] = "vwap"
    stretch: bool = True
    atr_period: Period = 14
    max_extension_atr: PositiveFloat = 2.0
    stretch_stop_buffer_ticks: NonNegativeInt = 2

    def problems(self) -> Iterable[tuple[str, str]]:
        yield from super().problems()
        if self.entry_cutoff <= self.session_open:
            yield "entryCutoff", "must be later than sessionOpen"
        if self.london_open is not None and self.london_entry_cutoff <= self.london_open:
            yield "londonEntryCutoff", "must be later than londonOpen"
        if self.breakout_max_range_fraction <= self.breakout_min_range_fraction:
            yield (
                "breakoutMaxRangeFraction",
                f"must exceed breakoutMinRangeFraction ({self.breakout_min_range_fraction:g})",
            )


BUILTIN_STRATEGY_PARAMS: dict[str, type[StrategyParams]] = {
    "PDH_PDL": PdhPdlParams,
    "EMA_CROSS": EmaCrossParams,
    "ORB_RUBBER_BAND": OrbRubberBandParams,
}

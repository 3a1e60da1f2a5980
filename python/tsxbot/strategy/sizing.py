"""From an ``Enter`` signal to an order: the bracket on the tick grid and the size from dollar risk.

``size_entry`` applies the checks every strategy shares, in this order, and returns a ``Sized``
entry or a ``Skip`` naming the first that failed:

1. the stop on the wrong side of the entry (``STOP_WRONG_SIDE``) or the target (``TARGET_WRONG_SIDE``);
2. the stop farther than ``maxRiskPoints`` (``RISK_TOO_WIDE``);
3. reward:risk below ``minRewardRisk`` (``REWARD_RISK_TOO_LOW``);
4. ``floor(dollarRiskPerTrade / (risk x point value))``, capped at ``maxOrderSize``, is 0 (``SIZE_ZERO``).

Prices go on the tick grid through the Rust ``bracket`` (the stop toward the entry: never more
risk than asked; the target away from it) and the size through ``contracts_for_risk`` (the
distance rounded up to whole ticks: fewer contracts is the safe way).
"""

from __future__ import annotations

import msgspec

from tsxbot.config.instruments import Instrument
from tsxbot.sizing import bracket, contracts_for_risk
from tsxbot.strategies.params import StrategyParams
from tsxbot.strategy.signals import Enter, Reason, Side
from tsxbot.strategy.skip import Skip, SkipKind

__all__ = ["Sized", "size_entry"]


class Sized(msgspec.Struct, frozen=True, kw_only=True):
    """An entry ready for the aggregator: side, contracts, reference entry price, bracket prices."""

    side: Side
    quantity: int
    entry: float
    stop: float
    target: float | None
    risk_points: float
    reason: Reason


def size_entry(
    signal: Enter, entry: float, params: StrategyParams, instrument: Instrument, max_order_size: int
) -> Sized | Skip:
    """Size ``signal`` for a market entry at about ``entry`` (the signal bar's close)."""
    sign = 1.0 if signal.side == "long" else -1.0
    risk = (entry - signal.stop) * sign
    if risk <= 0:
        return _skip(
            SkipKind.STOP_WRONG_SIDE,
            f"the {signal.side} stop {signal.stop:g} is not {'below' if sign > 0 else 'above'} "
            f"the entry {entry:g}",
            signal,
        )
    reward = None if signal.target is None else (signal.target - entry) * sign
    if reward is not None and reward <= 0:
        return _skip(
            SkipKind.TARGET_WRONG_SIDE,
            f"the {signal.side} target {signal.target:g} is not {'above' if sign > 0 else 'below'} "
            f"the entry {entry:g}",
            signal,
        )
    if risk > params.max_risk_points + 1e-9:
        return _skip(
            SkipKind.RISK_TOO_WIDE,
            f"the stop is {risk:g} points away, beyond maxRiskPoints {params.max_risk_points:g}",
            signal,
        )
    action = "BUY" if sign > 0 else "SELL"
    placed = bracket(
        action, entry, instrument.tick_size, stop_points=risk, target_points=reward if reward else None
    )
    risk_points = abs(entry - placed.stop_loss)
    if placed.take_profit is not None and reward is not None:
        ratio = abs(placed.take_profit - entry) / risk_points
        if ratio < params.min_reward_risk - 1e-9:
            return _skip(
                SkipKind.REWARD_RISK_TOO_LOW,
                f"reward:risk {ratio:.2f} is below minRewardRisk {params.min_reward_risk:g}",
                signal,
            )
    quantity = contracts_for_risk(
        params.dollar_risk_per_trade,
        risk_points,
        instrument.tick_size,
        instrument.point_value,
        max_order_size,
    )
    if quantity == 0:
        return _skip(
            SkipKind.SIZE_ZERO,
            f"dollarRiskPerTrade {params.dollar_risk_per_trade:g} buys no contract at a "
            f"{risk_points:g}-point stop ({risk_points * instrument.point_value:g} USD a contract)",
            signal,
        )
    return Sized(
        side=signal.side,
        quantity=quantity,
        entry=entry,
        stop=placed.stop_loss,
        target=placed.take_profit,
        risk_points=risk_points,
        reason=signal.reason,
    )


def _skip(kind: SkipKind, detail: str, signal: Enter) -> Skip:
    return Skip(kind=kind, detail=detail, reason=signal.reason)

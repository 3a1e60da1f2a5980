"""Sizing from dollar risk (Rust contracts_for_risk, bracket) and the shared skip rules."""

from __future__ import annotations

from typing import Any

import pytest

from support.strategy_feed import instrument
from tsxbot.strategies.params import StrategyParams
from tsxbot.strategy import Enter, Reason, Skip, SkipKind
from tsxbot.strategy.sizing import Sized, size_entry

WHY = Reason(setup="test")


def size(side: str, stop: float, target: float | None, entry: float = 100.0, **p: Any) -> Sized | Skip:
    params = StrategyParams(**{"dollar_risk_per_trade": 100, "max_risk_points": 5.0, **p})
    signal = Enter(side=side, stop=stop, target=target, reason=WHY)  # type: ignore[arg-type]
    return size_entry(signal, entry, params, instrument("MES"), 10)


def test_contracts_from_dollar_risk_and_the_bracket_on_the_grid() -> None:
    sized = size("long", 97.9, 106.1)  # 2.1 points: the stop goes toward the entry, to 98.0
    assert isinstance(sized, Sized)
    assert (sized.stop, sized.target, sized.risk_points) == (98.0, 106.25, 2.0)
    assert sized.quantity == 10  # floor(100 / (2 x 5)) = 10, at the cap of 10
    sized = size("short", 103.0, 94.0)
    assert isinstance(sized, Sized) and (sized.quantity, sized.stop, sized.target) == (6, 103.0, 94.0)


@pytest.mark.parametrize(
    ("args", "changes", "kind", "detail"),
    [
        (("long", 100.0, 104.0), {}, SkipKind.STOP_WRONG_SIDE, "long stop 100 is not below the entry 100"),
        (("short", 99.0, 95.0), {}, SkipKind.STOP_WRONG_SIDE, "short stop 99 is not above"),
        (("long", 98.0, 99.0), {}, SkipKind.TARGET_WRONG_SIDE, "target 99 is not above"),
        (("long", 94.0, 112.0), {}, SkipKind.RISK_TOO_WIDE, "6 points away, beyond maxRiskPoints 5"),
        (
            ("long", 98.0, 101.0),
            {},
            SkipKind.REWARD_RISK_TOO_LOW,
            "reward:risk 0.50 is below minRewardRisk 1",
        ),
        (("long", 98.0, 104.0), {"dollar_risk_per_trade": 9}, SkipKind.SIZE_ZERO, "buys no contract"),
    ],
)
def test_each_reason_to_skip(
    args: tuple[Any, ...], changes: dict[str, Any], kind: SkipKind, detail: str
) -> None:
    skip = size(*args, **changes)
    assert isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail and skip.reason == WHY

"""Walk-forward's choice of parameters: the window that did best out of sample."""

from __future__ import annotations

import datetime as dt

from tsxbot.optimize.out_of_sample import WindowOutcome, choose

DAY = dt.date(2026, 11, 24)


def _window(k: int, score: float | None, params: dict[str, int] | None = None) -> WindowOutcome:
    return WindowOutcome(
        window=k,
        in_sample=(DAY, DAY),
        out_of_sample=(DAY, DAY),
        params=params if params is not None else {"fastPeriod": 5 + k},
        best_in_sample=1000.0 - k,  # the in-sample best is never what decides
        oos_trades=0 if score is None else 3,
        oos_net_pnl=score or 0.0,
        oos_score=score,
    )


def test_the_best_out_of_sample_window_wins_not_the_best_in_sample() -> None:
    windows = [_window(0, -50.0), _window(1, 120.0), _window(2, 30.0)]
    chosen = choose(windows)
    assert chosen is not None and chosen.window == 1 and chosen.params == {"fastPeriod": 6}


def test_a_tie_goes_to_the_most_recent_window() -> None:
    chosen = choose([_window(0, 80.0), _window(1, 10.0), _window(2, 80.0)])
    assert chosen is not None and chosen.window == 2


def test_no_window_traded_out_of_sample_chooses_nothing() -> None:
    assert choose([_window(0, None), _window(1, None)]) is None
    assert choose([]) is None

"""Tick arithmetic as seen from Python (the pyo3 call included). Figures: BENCHMARKS.md.
Gates: 10x the measured medians, so noise never fails them."""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot.ticks import Rounding, TickSize

ES = TickSize(0.25)


# Per-call figures need many calls per timed round: one call (~60 ns) is near the timer's own cost.
ROUNDS = {"rounds": 200, "iterations": 2000, "warmup_rounds": 5}


def test_bench_to_ticks(benchmark: BenchmarkFixture) -> None:
    assert benchmark.pedantic(ES.to_ticks, args=(5012.37,), **ROUNDS) == 20049
    assert benchmark.stats.stats.median < 10 * 60e-9


def test_bench_round_down(benchmark: BenchmarkFixture) -> None:
    assert benchmark.pedantic(ES.round, args=(5012.37, Rounding.DOWN), **ROUNDS) == 5012.25
    assert benchmark.stats.stats.median < 10 * 90e-9

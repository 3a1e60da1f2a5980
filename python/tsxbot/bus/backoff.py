"""Exponential backoff with jitter for reconnects."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays ``initial * 2**n`` capped at ``maximum``, each drawn from the upper half of that
    (``d/2 + uniform(0, d/2)``): never zero, and reconnecting clients spread out."""

    def __init__(self, initial: float, maximum: float, rng: Callable[[], float] = random.random) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempts = 0
        self._rng = rng

    def next_delay(self) -> float:
        cap = min(self.maximum, self.initial * (2 ** min(self.attempts, 32)))
        self.attempts += 1
        return float(cap / 2 + self._rng() * cap / 2)

    def reset(self) -> None:
        self.attempts = 0

"""The faults in force. The admin API (``faults/admin.py``) and the config set them; the REST
middleware and the hubs read them. Probabilistic faults draw from a generator seeded with the
simulator's seed, so a fault run repeats."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tsxbot.config.simulator import FaultDefaults

if TYPE_CHECKING:
    from tsxbot.sim.faults.specs import CompletionFault, HandshakeFault


@dataclass
class HttpFault:
    """Answer ``status`` on paths matching ``path`` ("*" = every /api path), ``count`` times
    (None = until cleared) or until ``until`` (monotonic seconds). With ``after_processing`` the
    request is carried out first and only its answer is replaced: the client sees a failure for
    something that happened (a response lost on the way back)."""

    path: str
    status: int
    count: int | None = None
    until: float | None = None
    retry_after: float | None = None
    after_processing: bool = False

    def matches(self, path: str) -> bool:
        return self.path == "*" or self.path.lower() == path.lower()

    def live(self) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        return self.until is None or time.monotonic() < self.until


@dataclass
class Latency:
    ms: float = 0.0
    jitter_ms: float = 0.0
    path: str = "*"


@dataclass
class EventFaults:
    """Hub pushes: duplicate some, hold some back and deliver them after the next (reorder),
    or drop some. Probabilities per push, for one hub ("user", "market") or both ("*")."""

    hub: str = "*"
    duplicate: float = 0.0
    reorder: float = 0.0
    drop: float = 0.0
    targets: list[str] = field(default_factory=list)  # empty = every event

    def applies(self, hub: str, target: str) -> bool:
        return (self.hub in ("*", hub)) and (not self.targets or target in self.targets)


@dataclass
class Refusal:
    until: float
    status: int = 503


class FaultState:
    def __init__(self, defaults: FaultDefaults, seed: int) -> None:
        self.rng = random.Random(seed)
        self.latency = Latency(defaults.latency_ms, defaults.latency_jitter_ms)
        self.http: list[HttpFault] = []
        self.events: EventFaults | None = None
        self.refuse: dict[str, Refusal] = {}
        self.handshake_error: dict[str, str] = {}
        self.completion_delay_s: dict[str, float] = {}
        self.drop_completions: dict[str, bool] = {}

    def clear(self) -> None:
        self.latency = Latency()
        self.http.clear()
        self.events = None
        self.refuse.clear()
        self.handshake_error.clear()
        self.completion_delay_s.clear()
        self.drop_completions.clear()

    def add_refusal(self, hub: str, refusal: Refusal) -> None:
        self.refuse[hub] = refusal

    def set_handshake(self, fault: HandshakeFault) -> None:
        for hub in fault.hubs:
            if fault.error is None:
                self.handshake_error.pop(hub, None)
            else:
                self.handshake_error[hub] = fault.error

    def set_completions(self, fault: CompletionFault) -> None:
        for hub in fault.hubs:
            self.completion_delay_s[hub] = fault.delay_s
            self.drop_completions[hub] = fault.drop

    def http_fault_for(self, path: str) -> HttpFault | None:
        self.http = [f for f in self.http if f.live()]
        for fault in self.http:
            if fault.matches(path):
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def latency_for(self, path: str) -> float:
        lat = self.latency
        if lat.ms <= 0 and lat.jitter_ms <= 0:
            return 0.0
        if lat.path != "*" and lat.path.lower() != path.lower():
            return 0.0
        return max(0.0, lat.ms + self.rng.uniform(-lat.jitter_ms, lat.jitter_ms)) / 1000.0

    def refused(self, hub: str) -> Refusal | None:
        found = self.refuse.get(hub) or self.refuse.get("*")
        if found is None or time.monotonic() >= found.until:
            return None
        return found

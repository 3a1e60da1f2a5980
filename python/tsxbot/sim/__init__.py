"""The TopStepX simulator: the ProjectX Gateway API (REST and SignalR hubs) over a simulated
exchange, for development and for every test of the project. See README "The TopStepX
simulator" and ``tsxbot.sim.faults.admin`` for the admin (fault injection) API.

The names below are imported on first use: the market-data readers (``tsxbot.sim.marketdata``)
serve the backtester too, which needs neither the web service nor the exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsxbot.sim.service import SimulatorService, build_simulator
    from tsxbot.sim.simulator import Simulator

__all__ = ["Simulator", "SimulatorService", "build_simulator"]


def __getattr__(name: str) -> Any:
    if name in ("SimulatorService", "build_simulator"):
        from tsxbot.sim import service

        return getattr(service, name)
    if name == "Simulator":
        from tsxbot.sim.simulator import Simulator

        return Simulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The TopStepX simulator: the ProjectX Gateway API (REST and SignalR hubs) over a simulated
exchange, for development and for every test of the project. See README "The TopStepX
simulator" and ``tsxbot.sim.faults.admin`` for the admin (fault injection) API."""

from tsxbot.sim.service import SimulatorService, build_simulator
from tsxbot.sim.simulator import Simulator

__all__ = ["Simulator", "SimulatorService", "build_simulator"]

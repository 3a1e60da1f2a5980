"""The control panel (``services.controlPanel``, port 3000): every service and bot with its
state, the kill switch, pausing and resuming bots, the resolved configuration with secrets
masked. Every action goes through the aggregator's HTTP API (no back door)."""

from tsxbot.control_panel.service import ControlPanel

__all__ = ["ControlPanel"]

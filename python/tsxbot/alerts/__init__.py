"""Alerts and remote control: a notifier on the bus that sends fills, closed trades, risk
refusals, trading-state changes, circuit breakers, connection loss and recovery, errors and a
daily summary to Telegram, Discord, Slack or a JSON webhook, and takes commands from Telegram
(``/status``, ``/halt``, ``/flatten`` ...). See the README's "Alerts and remote control"."""

from tsxbot.alerts.events import Alert, EventKind
from tsxbot.alerts.factory import AlertsSetupError, build_alerts
from tsxbot.alerts.service import AlertService

__all__ = ["Alert", "AlertService", "AlertsSetupError", "EventKind", "build_alerts"]

"""Alerts and remote control: a notifier on the bus that sends fills, closed trades, risk
refusals, trading-state changes, circuit breakers, connection loss and recovery, errors and a
daily summary to Telegram, Discord, Slack or a JSON webhook, and takes commands from Telegram
(``/status``, ``/halt``, ``/flatten`` ...). See the README's "Alerts and remote control".
(``tsxbot.alerts.factory.build_alerts`` builds the service; this package's top stays light, as
the console's activity log imports its formatting.)"""

from tsxbot.alerts.events import Alert, EventKind

__all__ = ["Alert", "EventKind"]

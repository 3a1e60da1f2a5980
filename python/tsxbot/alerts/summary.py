"""The daily summary, sent once a day when the exchange's clock passes ``alerts.dailySummaryAt``
in ``alerts.timezone`` (16:00 Chicago, the CME session close, by default) on a weekday: the day's
fills, closed trades, wins and losses and risk refusals as the notifier saw them on the bus, with
the aggregator's P&L, balance and trading state when it answers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from tsxbot.aggregator.trading_state import trading_day
from tsxbot.alerts.events import Alert, EventKind


@dataclass
class DayCounts:
    fills: int = 0
    trades: int = 0
    wins: int = 0
    losses: int = 0
    net: float = 0.0
    rejections: int = 0


class DailySummary:
    def __init__(self, at: dt.time, timezone: str) -> None:
        self.at = at
        self.zone = ZoneInfo(timezone)
        self.days: dict[dt.date, DayCounts] = defaultdict(DayCounts)
        self._last: dt.datetime | None = None

    def count(self, alert: Alert, now: dt.datetime) -> None:
        """Counts what the day's alerts say (before routing: every channel's filters aside), on
        the trading day of the exchange's clock when they arrive."""
        day = self.days[trading_day(now)]
        if alert.kind is EventKind.FILL:
            day.fills += 1
        elif alert.kind is EventKind.TRADE_CLOSED:
            net = alert.fields.get("net")
            value = float(net) if isinstance(net, int | float) else 0.0
            day.trades += 1
            day.net += value
            day.wins += value > 0
            day.losses += value < 0
        elif alert.kind is EventKind.RISK_REJECTION:
            day.rejections += 1

    def due(self, now: dt.datetime) -> dt.date | None:
        """The trading day to summarise when ``now`` is the first moment seen at or past the
        summary time (on a weekday), else None. A clock first seen past it does not fire."""
        local = now.astimezone(self.zone)
        before = self._last
        self._last = local
        if before is None or local.weekday() >= 5:
            return None
        moment = dt.datetime.combine(local.date(), self.at, self.zone)
        if before < moment <= local:
            return trading_day(now)
        return None

    def render(
        self, day: dt.date, status: dict[str, Any] | None, now: dt.datetime, translator_alert: Any
    ) -> Alert:
        counts = self.days.pop(day, DayCounts())
        for old in [d for d in self.days if d < day]:
            del self.days[old]
        lines = [
            f"{counts.trades} closed trades ({counts.wins} won, {counts.losses} lost), net {counts.net:+.2f}",
            f"{counts.fills} fills, {counts.rejections} risk refusals",
        ]
        if status:
            pnl = status.get("pnl") if isinstance(status.get("pnl"), dict) else {}
            assert isinstance(pnl, dict)

            def money(key: str) -> str:
                value = pnl.get(key)
                return f"{value:+.2f}" if isinstance(value, int | float) else "?"

            lines.append(
                f"account: day {money('daily')} (realized {money('realized')}, open {money('open')}, "
                f"fees {money('fees')}), balance {money('balance')}"
            )
            lines.append(f"trading state {status.get('tradingState', '?')}")
        else:
            lines.append("(the aggregator did not answer: account figures missing)")
        alert: Alert = translator_alert(
            EventKind.DAILY_SUMMARY, f"daily summary {day.isoformat()}", f"summary:{day.isoformat()}", now,
            "\n".join(lines), trades=counts.trades, net=round(counts.net, 2), fills=counts.fills,
        )  # fmt: skip
        return alert

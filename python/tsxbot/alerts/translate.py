"""Bus messages -> alerts. Pure: no I/O, no clock of its own (times come from the messages and
the caller's ``now``), so the consumer can be fed anything (the fuzz test does).

- ``FILL`` (connection-manager:fills): a fill; with ``realizedPnl`` also ``TRADE_CLOSED``;
- ``RISK_REJECTION`` (aggregator:risk);
- ``BOT_STATUS`` (bot:{id}:status): ``BOT_ERROR`` when a bot enters ERROR, and when it leaves it;
- ``METRICS`` from the connection manager (system:metrics, every 5 s): ``CONNECTION_LOST`` /
  ``CONNECTION_RESTORED`` when its ``healthy`` flips or a hub reconnected in between, and when it
  falls silent for ``stale_s`` (:meth:`Translator.check_silence`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from tsxbot.alerts.events import DEFAULT_LEVELS, Alert, EventKind
from tsxbot.alerts.format import describe_close, describe_fill
from tsxbot.bus import Message
from tsxbot.messages import BotState, BotStatus, Fill, Metrics, RiskRejection
from tsxbot.messages.payload import Scalar

CM_COMPONENT = "connection-manager"
HUB_CONNECTS = ("hubs.user.connects", "hubs.market.connects")


class Translator:
    def __init__(
        self,
        levels: Mapping[str, str] | None = None,
        stale_s: float = 20.0,
    ) -> None:
        self.levels = {kind: (levels or {}).get(kind.value, level) for kind, level in DEFAULT_LEVELS.items()}
        self.stale_s = stale_s
        self._bot_error: dict[str, bool] = {}
        self._cm_healthy: bool | None = None
        self._cm_connects: dict[str, float] = {}
        self._cm_seen_at: float | None = None
        self._cm_silent = False
        self.ignored = 0

    def alert(
        self, kind: EventKind, title: str, key: str, at: dt.datetime, text: str = "", /, **fields: object
    ) -> Alert:
        """An alert of ``kind`` at its configured level; ``fields`` keeps the JSON scalars given."""
        clean: dict[str, Scalar] = {
            k: v for k, v in fields.items() if v is None or isinstance(v, str | int | float | bool)
        }
        return Alert(kind=kind, title=title, key=key, at=at, text=text, level=self.levels[kind], fields=clean)

    def translate(self, message: Message, now: float) -> list[Alert]:
        payload = message.envelope.payload
        at = message.envelope.timestamp
        if isinstance(payload, Fill):
            return self._fill(payload)
        if isinstance(payload, RiskRejection):
            return [self._rejection(payload, at)]
        if isinstance(payload, BotStatus):
            return self._bot(payload, at)
        if isinstance(payload, Metrics) and payload.component == CM_COMPONENT:
            return self._cm_metrics(payload, at, now)
        self.ignored += 1
        return []

    def _fill(self, fill: Fill) -> list[Alert]:
        symbol = fill.symbol or fill.contract_id
        key = f"{fill.account_id}:{fill.fill_id}"
        common = {"symbol": symbol, "bot": fill.bot_id, "account": fill.account_id}
        alerts = [
            self.alert(
                EventKind.FILL, describe_fill(fill), f"fill:{key}", fill.timestamp,
                side=fill.side.value, quantity=fill.quantity, price=fill.price, **common,
            )
        ]  # fmt: skip
        if fill.realized_pnl is not None and not fill.voided:
            net = fill.realized_pnl - fill.fees
            alerts.append(
                self.alert(
                    EventKind.TRADE_CLOSED, describe_close(fill), f"trade:{key}", fill.timestamp,
                    pnl=fill.realized_pnl, fees=fill.fees, net=round(net, 2), **common,
                )
            )  # fmt: skip
        return alerts

    def _rejection(self, rejection: RiskRejection, at: dt.datetime) -> Alert:
        owner = f" of {rejection.bot_id}" if rejection.bot_id else ""
        return self.alert(
            EventKind.RISK_REJECTION,
            f"risk refused order {rejection.order_id}{owner}: {rejection.reason.value}",
            f"risk:{rejection.bot_id}:{rejection.order_id}:{rejection.stage.value}:{rejection.reason.value}",
            at,
            rejection.message,
            reason=rejection.reason.value,
            bot=rejection.bot_id,
            stage=rejection.stage.value,
            limit=rejection.limit,
            value=rejection.value,
        )

    def _bot(self, status: BotStatus, at: dt.datetime) -> list[Alert]:
        bot = status.bot_id
        in_error = status.state is BotState.ERROR
        was = self._bot_error.get(bot, False)
        self._bot_error[bot] = in_error
        if in_error and not was:
            return [
                self.alert(
                    EventKind.BOT_ERROR, f"bot {bot} ({status.strategy} on {status.symbol}) is in ERROR",
                    f"bot-error:{bot}:{at.isoformat()}", at, status.message or "", bot=bot,
                )
            ]  # fmt: skip
        if was and not in_error:
            return [
                self.alert(
                    EventKind.SERVICE_RECOVERED, f"bot {bot} left ERROR: {status.state.value}",
                    f"bot-ok:{bot}:{at.isoformat()}", at, bot=bot,
                )
            ]  # fmt: skip
        return []

    def _cm_metrics(self, metrics: Metrics, at: dt.datetime, now: float) -> list[Alert]:
        out: list[Alert] = []
        self._cm_seen_at = now
        if self._cm_silent:
            self._cm_silent = False
            out.append(self._restored(at, "the connection manager reports again"))
        healthy_value = metrics.values.get("healthy")
        healthy = None if healthy_value is None else healthy_value >= 0.5
        reconnected = [
            name.split(".")[1]
            for name in HUB_CONNECTS
            if name in metrics.values
            and name in self._cm_connects
            and metrics.values[name] > self._cm_connects[name]
        ]
        for name in HUB_CONNECTS:
            if name in metrics.values:
                self._cm_connects[name] = metrics.values[name]
        before, self._cm_healthy = self._cm_healthy, healthy if healthy is not None else self._cm_healthy
        if healthy is False and before is not False:
            out.append(
                self.alert(
                    EventKind.CONNECTION_LOST, "connection to TopStepX lost",
                    f"cm-lost:{at.isoformat()}", at,
                    "the connection manager reports itself not ready (a hub or the login is down)",
                )
            )  # fmt: skip
        elif healthy is True and before is False:
            out.append(self._restored(at, "the connection manager is ready again"))
        elif reconnected and healthy is not False:
            out.append(self._restored(at, f"{' and '.join(reconnected)} hub reconnected"))
        return out

    def _restored(self, at: dt.datetime, why: str) -> Alert:
        return self.alert(
            EventKind.CONNECTION_RESTORED,
            "connection to TopStepX restored",
            f"cm-ok:{at.isoformat()}",
            at,
            why,
        )

    def check_silence(self, now: float, at: dt.datetime) -> list[Alert]:
        """``CONNECTION_LOST`` once the connection manager has said nothing for ``stale_s``
        (after it was heard from at least once)."""
        seen = self._cm_seen_at
        if seen is None or self._cm_silent or now - seen < self.stale_s:
            return []
        self._cm_silent = True
        return [
            self.alert(
                EventKind.CONNECTION_LOST, "connection manager silent",
                f"cm-silent:{at.isoformat()}", at,
                f"no status from the connection manager for {now - seen:.0f} s (stopped, or the bus is down)",
            )
        ]  # fmt: skip

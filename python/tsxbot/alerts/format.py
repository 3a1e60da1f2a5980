"""Alerts as text: one line per alert; a burst of one kind becomes one summary line (100 fills
in a second are one message, not 100)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from tsxbot.alerts.events import ICONS, LEVELS, Alert, EventKind
from tsxbot.messages import Fill

# More alerts of one kind than this in one message are summarised, not listed.
LIST_AT_MOST = 5
NOUNS = {
    EventKind.FILL: "fills",
    EventKind.TRADE_CLOSED: "closed trades",
    EventKind.RISK_REJECTION: "risk refusals",
}


def highest_level(alerts: Sequence[Alert]) -> str:
    return max((a.level for a in alerts), key=lambda lv: LEVELS.get(lv, 20), default="INFO")


def line(alert: Alert) -> str:
    icon = ICONS.get(alert.level, "")
    text = f"{icon} {alert.title}" if icon else alert.title
    return f"{text}\n{alert.text}" if alert.text else text


def summary_line(kind: EventKind, alerts: Sequence[Alert]) -> str:
    """``120 fills (BUY 70, SELL 50; MES 100, MNQ 20); last: filled SELL 1 MES @ 5000.25``."""
    noun = NOUNS.get(kind, f"{kind.value.lower().replace('_', ' ')} alerts")
    parts = []
    for field in ("side", "symbol", "reason", "bot"):
        counts = Counter(str(a.fields[field]) for a in alerts if a.fields.get(field) is not None)
        if counts:
            parts.append(", ".join(f"{k} {n}" for k, n in counts.most_common(4)))
    nets = [
        v for a in alerts if isinstance(v := a.fields.get("net"), int | float) and not isinstance(v, bool)
    ]
    if nets:
        parts.append(f"net {sum(nets):+.2f}")
    detail = f" ({'; '.join(parts)})" if parts else ""
    icon = ICONS.get(highest_level(alerts), "")
    return f"{icon} {len(alerts)} {noun}{detail}; last: {alerts[-1].title}".strip()


def render(alerts: Sequence[Alert], limit: int) -> str:
    """One message for ``alerts`` (in arrival order, grouped by kind), at most ``limit`` chars."""
    by_kind: dict[EventKind, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_kind[alert.kind].append(alert)
    lines: list[str] = []
    for kind, group in by_kind.items():
        if len(group) > LIST_AT_MOST:
            lines.append(summary_line(kind, group))
        else:
            lines.extend(line(a) for a in group)
    return truncate("\n".join(lines), limit)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def describe_fill(fill: Fill) -> str:
    symbol = fill.symbol or fill.contract_id
    owner = f" for {fill.bot_id}" if fill.bot_id else ""
    text = f"filled {fill.side.name} {fill.quantity:g} {symbol} @ {fill.price:g}{owner}"
    if fill.voided:
        text += " (voided)"
    return text


def describe_close(fill: Fill) -> str:
    assert fill.realized_pnl is not None
    symbol = fill.symbol or fill.contract_id
    owner = f" for {fill.bot_id}" if fill.bot_id else ""
    net = fill.realized_pnl - fill.fees
    return (
        f"trade closed {symbol}{owner}: P&L {fill.realized_pnl:+.2f} (fees {fill.fees:.2f}, net {net:+.2f})"
    )

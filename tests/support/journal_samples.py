"""A journal with two bots' fills over three trading days, for the report tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from tsxbot.journal import FillRecord, JournalStore, OrderRecord, OrderUpdateRecord, TradeRecord, open_journal
from tsxbot.sessions import to_ns

CT = ZoneInfo("America/Chicago")


def ct(day: int, hour: int, minute: int = 0) -> int:
    """Chicago wall time on March ``day`` 2026 as UTC ns."""
    return to_ns(dt.datetime(2026, 3, day, hour, minute, tzinfo=CT))


# (bot, strategy, symbol, side, qty, price, when, stop)
FILLS = [
    ("orb_es", "ORB", "ES", "BUY", 2, 5000.00, ct(3, 9, 0), 4990.00),
    ("orb_es", "ORB", "ES", "SELL", 1, 5010.00, ct(3, 9, 30), None),
    ("orb_es", "ORB", "ES", "SELL", 1, 5004.00, ct(3, 10, 0), None),
    ("ema_mnq", "EMA_CROSS", "MNQ", "SELL", 3, 20000.00, ct(3, 11, 0), 20020.00),
    ("ema_mnq", "EMA_CROSS", "MNQ", "BUY", 5, 20030.00, ct(3, 12, 0), None),  # reversal: long 2
    ("ema_mnq", "EMA_CROSS", "MNQ", "SELL", 2, 20050.00, ct(3, 18, 0), None),  # Wednesday's session
    ("orb_es", "ORB", "ES", "SELL", 1, 5020.00, ct(5, 9, 0), 5025.00),
    ("orb_es", "ORB", "ES", "BUY", 1, 5030.00, ct(5, 9, 5), None),
]
FEES = {"ES": 1.40, "MNQ": 0.37}
POINT = {"ES": 50.0, "MNQ": 2.0}


def make_journal(path: Path) -> str:
    """The sample journal in a SQLite file at ``path``; its URL."""
    return write_journal(f"sqlite:///{path}")


def write_journal(url: str) -> str:
    """The sample journal in the (empty) database at ``url``; the URL."""
    engine = open_journal(url)
    JournalStore(engine).write(
        [
            FillRecord(
                key=str(i + 1),
                ts_ns=ts,
                account_id=1,
                bot_id=bot,
                strategy=strategy,
                symbol=symbol,
                side=side,
                quantity=qty,
                price=price,
                fees=round(FEES[symbol] * qty, 2),
                stop_loss=stop,
                order_id="o1" if i == 0 else None,
            )
            for i, (bot, strategy, symbol, side, qty, price, ts, stop) in enumerate(FILLS)
        ]
        + [
            # The first fill's order: its signal said 4999.50 a quarter second earlier (2 ticks of
            # slippage on 2 contracts = 50 USD); a second order was cancelled.
            OrderRecord(
                key="o1",
                ts_ns=ct(3, 9, 0) - 250_000_000,
                bot_id="orb_es",
                symbol="ES",
                side="BUY",
                quantity=2,
                order_type="MARKET",
                signal_price=4999.50,
                signal_ns=ct(3, 9, 0) - 250_000_000,
            ),
            OrderRecord(
                key="o2",
                ts_ns=ct(3, 9, 1),
                bot_id="orb_es",
                symbol="ES",
                side="BUY",
                quantity=1,
                order_type="LIMIT",
                limit_price=4990.0,
            ),
            TradeRecord(
                key="orb_es:ES:1",
                bot_id="orb_es",
                strategy="ORB",
                account_id=1,
                symbol="ES",
                direction=1,
                quantity=2,
                max_position=2,
                entry_price=5000.0,
                exit_price=5007.0,
                entry_ns=ct(3, 9, 0),
                exit_ns=ct(3, 10, 0),
                trading_day="2026-03-03",
                gross_pnl=700.0,
                fees=5.6,
                net_pnl=694.4,
                mae=-150.0,
                mfe=1250.0,
                initial_risk=1000.0,
                r_multiple=0.6944,
            ),
            OrderUpdateRecord(
                key="u1",
                ts_ns=ct(3, 9, 0),
                exchange_order_id=1,
                order_id="o1",
                status="FILLED",
                quantity=2,
                filled_quantity=2,
            ),
            OrderUpdateRecord(
                key="u2",
                ts_ns=ct(3, 9, 5),
                exchange_order_id=2,
                order_id="o2",
                status="CANCELLED",
                quantity=1,
                filled_quantity=0,
            ),
        ]
    )
    engine.dispose()
    return url


def cash_flow_net(bot: str | None = None) -> float:
    """Net P&L of the (all flat) fills, computed as plain cash flow minus fees."""
    total = 0.0
    for b, _, symbol, side, qty, price, _, _ in FILLS:
        if bot is None or b == bot:
            sign = 1 if side == "BUY" else -1
            total += -sign * qty * price * POINT[symbol] - round(FEES[symbol] * qty, 2)
    return round(total, 2)


def mtm_max_drawdown() -> float:
    """The mark-to-market equity after each fill (cash flow + positions at each symbol's last fill
    price), and its largest fall from a running peak starting at 0, computed plainly."""
    cash = 0.0
    position: dict[str, int] = {}
    last: dict[str, float] = {}
    peak = 0.0
    worst = 0.0
    for _, _, symbol, side, qty, price, _, _ in sorted(FILLS, key=lambda f: f[6]):
        sign = 1 if side == "BUY" else -1
        cash += -sign * qty * price * POINT[symbol] - round(FEES[symbol] * qty, 2)
        position[symbol] = position.get(symbol, 0) + sign * qty
        last[symbol] = price
        equity = cash + sum(position[s] * last[s] * POINT[s] for s in position)
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst

"""The aggregator's state across a crash: one snapshot in the bus's journal (Redis with the
Redis bus, the process with the in-process one), written after every batch of messages and
before they are acknowledged. A restart loads it, and the bus delivers again what the dead
process had not acknowledged: every fill, order update and control message is either in the
snapshot or comes back (fills are counted once by their id either way); a submission not yet
sent comes back and is checked afresh (its command id and custom tag are the same, so the
connection manager executes it at most once).

What it holds: positions per bot, working orders, the day's P&L (balance, the day's starting
equity, the drawdown peak), the trading state and its causes (HALTED stays halted), paused bots,
recent orders (for idempotency by order id) and fill ids, the exchange's positions, the
commands awaiting a result, and its own queued commands (a flatten in progress goes on).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec

from tsxbot.aggregator.positions import BotPosition
from tsxbot.aggregator.queue import Priority
from tsxbot.aggregator.trading_state import Cause, RiskEvent
from tsxbot.bus import Journal, JournalUnavailableError
from tsxbot.log import get_logger
from tsxbot.messages import PAYLOAD_TYPES, MessageType, OrderUpdate, Side
from tsxbot.risk import OrderRequest, TradingState

if TYPE_CHECKING:
    from tsxbot.aggregator.service import Aggregator

log = get_logger("tsxbot.aggregator")
KEPT_FINAL_ORDERS = 2_000
KEPT_FILL_IDS = 10_000
KEPT_EVENTS = 200


_ENCODER = msgspec.json.Encoder()


class PositionRow(msgspec.Struct, rename="camel"):
    bot_id: str
    symbol: str
    quantity: int
    average_price: float
    realized_pnl: float
    fees: float
    trades: int


class OrderRow(msgspec.Struct, rename="camel"):
    key: str
    bot_id: str
    order_id: str
    symbol: str
    side: str
    quantity: int
    status: str
    command_id: str | None = None
    custom_tag: str | None = None
    exchange_order_id: int | None = None
    filled: int = 0
    reason: str | None = None
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    reduce_only: bool = False


class SentRow(msgspec.Struct, rename="camel"):
    command_id: str
    bot_id: str | None
    order_key: str | None
    best_effort: bool


class EventRow(msgspec.Struct, rename="camel"):
    at: dt.datetime
    kind: str
    message: str
    requested_by: str | None = None


class CommandRow(msgspec.Struct, rename="camel"):
    type: MessageType
    payload: msgspec.Raw
    bot_id: str | None = None


class Snapshot(msgspec.Struct, rename="camel"):
    version: int
    saved_at: dt.datetime
    account_id: int | None
    trading_day: dt.date | None
    balance: float
    day_start_equity: float
    drawdown_peak: float
    causes: dict[str, str]
    halt_causes: list[str]
    paused: dict[str, str | None]
    positions: list[PositionRow]
    working: list[OrderUpdate]
    orders: list[OrderRow]
    sent: list[SentRow]
    fill_ids: list[tuple[int, int]]
    exchange_positions: dict[str, int]
    closing: list[str]
    flattened_for_loss: bool
    events: list[EventRow]
    contracts: dict[str, str]
    # The aggregator's own commands still queued (flatten, protective cancels and resizes): sent
    # again after a restart, under the same command ids (executed at most once).
    protective: list[CommandRow] = []


_DECODER = msgspec.json.Decoder(Snapshot)


class StateStore:
    """The snapshot under one journal key (``aggregator`` journal, ``state``)."""

    def __init__(self, journal: Journal, key: str = "state") -> None:
        self.journal = journal
        self.key = key
        self.saves = 0

    async def load(self) -> Snapshot | None:
        claim = await self.journal.claim(self.key)
        if claim.result is None:
            return None
        try:
            return _DECODER.decode(claim.result)
        except msgspec.DecodeError as exc:
            log.error(
                "the saved aggregator state is unreadable; starting from the exchange's", error=str(exc)
            )
            return None

    async def save(self, snapshot: Snapshot) -> None:
        await self.journal.finish(self.key, _ENCODER.encode(snapshot))
        self.saves += 1


def snapshot_of(agg: Aggregator) -> Snapshot:
    engine = agg.engine
    records = list(agg.orders.items())
    open_orders = [(k, r) for k, r in records if r.open]
    final = [(k, r) for k, r in records if not r.open][-KEPT_FINAL_ORDERS:]
    return Snapshot(
        version=1,
        saved_at=dt.datetime.now(dt.UTC),
        account_id=agg.account_id,
        trading_day=agg.current_trading_day,
        balance=engine.balance,
        day_start_equity=engine.equity - engine.daily_pnl,
        drawdown_peak=engine.drawdown_peak,
        causes={c.value: why for c, why in agg.account.causes.items()},
        halt_causes=[c.value for c in agg.account.halt_causes],
        paused={e["botId"]: e["pauseReason"] for e in agg.registry.view(0.0) if e["paused"]},
        positions=[
            PositionRow(bot, symbol, p.quantity, p.average_price, p.realized_pnl, p.fees, p.trades)
            for bot, symbol, p in agg.positions.items()
        ],
        working=agg.working.all(),
        orders=[
            OrderRow(
                key=k,
                bot_id=r.bot_id,
                order_id=r.order_id,
                symbol=r.symbol,
                side=r.side,
                quantity=r.quantity,
                status=r.status,
                command_id=r.command_id,
                custom_tag=r.custom_tag,
                exchange_order_id=r.exchange_order_id,
                filled=r.filled,
                reason=r.reason,
                price=r.price,
                stop_loss=r.stop_loss,
                take_profit=r.take_profit,
                reduce_only=r.reduce_only,
            )
            for k, r in final + open_orders
        ],
        sent=[SentRow(cid, s.bot_id, s.order_key, s.best_effort) for cid, s in agg.sent.items()],
        fill_ids=list(agg.fill_ids())[-KEPT_FILL_IDS:],
        exchange_positions=dict(agg.exchange_positions),
        closing=sorted(agg.closing),
        flattened_for_loss=agg.flattened_for_loss,
        events=[
            EventRow(e.at, e.kind, e.message, e.requested_by) for e in list(agg.account.events)[-KEPT_EVENTS:]
        ],
        contracts=dict(agg.contracts),
        protective=[
            CommandRow(item.command.MESSAGE_TYPE, msgspec.Raw(_ENCODER.encode(item.command)), item.bot_id)
            for item in agg.queue
            if item.priority is Priority.PROTECTIVE
        ],
    )


def restore(agg: Aggregator, snap: Snapshot, now_ns: int) -> dict[str, Any]:
    """Puts a snapshot back into a freshly built aggregator (before it consumes anything)."""
    from tsxbot.aggregator.service import OrderRecord, SentCommand

    engine = agg.engine
    agg.account_id = agg.account_id if agg.account_id is not None else snap.account_id
    agg.current_trading_day = snap.trading_day
    # The day's starting equity, then the open positions at their prices, then today's balance.
    engine.on_balance(snap.day_start_equity)
    engine.new_trading_day()
    engine.raise_drawdown_peak(snap.drawdown_peak)
    for row in snap.positions:
        agg.positions.restore(
            row.bot_id,
            row.symbol,
            BotPosition(row.quantity, row.average_price, row.realized_pnl, row.fees, row.trades),
        )
        if row.quantity != 0:
            side = Side.BUY if row.quantity > 0 else Side.SELL
            engine.on_fill(row.bot_id, row.symbol, side.value, abs(row.quantity), row.average_price, 0.0)
    engine.on_balance(snap.balance)
    agg.working.restore(snap.working)
    agg.exchange_positions.update(snap.exchange_positions)
    agg.contracts.update(snap.contracts)
    agg.closing.update(snap.closing)
    agg.flattened_for_loss = snap.flattened_for_loss
    agg.restore_fill_ids(snap.fill_ids)
    for sent_row in snap.sent:
        agg.sent[sent_row.command_id] = SentCommand(
            None, sent_row.bot_id, sent_row.order_key, sent_row.best_effort
        )
    # Orders the engine had accepted and the exchange still works count as working again; orders
    # that were only queued come back from the bus (unacknowledged) and are checked afresh.
    engine.trading_state = TradingState.ACTIVE
    not_counted = []
    for o in snap.orders:
        if o.status == "QUEUED":
            continue
        record = OrderRecord(
            o.bot_id,
            o.order_id,
            o.symbol,
            o.side,
            o.quantity,
            o.status,
            o.command_id,
            o.custom_tag,
            o.exchange_order_id,
            o.filled,
            o.reason,
            o.price,
            o.stop_loss,
            o.take_profit,
            o.reduce_only,
        )
        agg.orders[o.key] = record
        if o.custom_tag:
            agg.tags.add(o.custom_tag)
        if record.open:
            agg.track_open(o.bot_id, o.key)
            request = OrderRequest(
                o.bot_id,
                o.symbol,
                o.side,
                max(1, o.quantity - o.filled),
                o.price,
                o.stop_loss,
                o.take_profit,
                o.reduce_only,
                o.key,
            )
            verdict = engine.check(request, now_ns)
            if not verdict.accepted:
                not_counted.append(o.key)
    if not_counted:
        log.error("working orders the risk engine would not count again", orders=not_counted)
    for name, why in snap.causes.items():
        agg.account.set(Cause(name), why, halt=name in snap.halt_causes)
    engine.trading_state = agg.account.state
    for bot_id, reason in snap.paused.items():
        entry = agg.registry.get(bot_id)
        if entry is not None:
            entry.paused, entry.pause_reason = True, reason
    for event in snap.events:
        agg.account.record(RiskEvent(event.at, event.kind, event.message, event.requested_by))
    for queued in snap.protective:
        command = msgspec.json.decode(queued.payload, type=PAYLOAD_TYPES[queued.type])
        agg.enqueue_protective(command, queued.bot_id)
    return {
        "positions": sum(1 for r in snap.positions if r.quantity != 0),
        "workingOrders": len(snap.working),
        "tradingState": agg.account.state_name,
        "savedAt": snap.saved_at.isoformat(),
    }


__all__ = ["JournalUnavailableError", "Snapshot", "StateStore", "restore", "snapshot_of"]

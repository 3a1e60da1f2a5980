"""The aggregator's state across a crash: one record in the bus's journal (a Redis hash with the
Redis bus, the process with the in-process one), updated with what changed after every batch of
messages and before they are acknowledged. A restart loads it, and the bus delivers again what the dead
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

import asyncio
import datetime as dt
from collections import OrderedDict, deque
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
    from tsxbot.aggregator.service import Aggregator, OrderRecord

log = get_logger("tsxbot.aggregator")
KEPT_FINAL_ORDERS = 2_000
KEPT_FILL_IDS = 10_000
KEPT_EVENTS = 200
# Saved prices younger than this (by the machine's clock) are restored as the marks.
MARKS_FRESH = dt.timedelta(seconds=5)


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
    seq: int = 0  # its place in the order the aggregator saw the orders


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


class CoreState(msgspec.Struct, rename="camel"):
    """What is saved whole whenever it changes (small: bounded by bots, symbols and working
    orders); the orders, fill ids and events, which grow with the day, are saved one by one."""

    version: int
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
    sent: list[SentRow]
    exchange_positions: dict[str, int]
    closing: list[str]
    flattened_for_loss: bool
    contracts: dict[str, str]
    # The aggregator's own commands still queued (flatten, protective cancels and resizes): sent
    # again after a restart, under the same command ids (executed at most once).
    protective: list[CommandRow] = []
    # The last price of each instrument: the reference of a submission that comes back right
    # after a crash, before the first quote (restored only from a state saved seconds ago).
    marks: dict[str, float] = {}
    # The day's realized P&L (before fees) and fees so far (None: saved by a version without them).
    realized_today: float | None = None
    fees_today: float | None = None
    day_start_source: str | None = None
    day_start_warning: str | None = None
    # Exchange fills the balance already held when a fresh start read the day's start from the
    # exchange, not yet delivered by the bus (and that day: an earlier day's fill is in it too).
    in_balance: list[int] = []
    in_balance_day: dt.date | None = None


class Snapshot(CoreState):
    """The whole state as it is restored (and as the first version saved it, in one piece)."""

    saved_at: dt.datetime | None = None
    orders: list[OrderRow] = []
    fill_ids: list[tuple[int, int]] = []
    events: list[EventRow] = []


_DECODER = msgspec.json.Decoder(Snapshot)
_CORE = msgspec.json.Decoder(CoreState)
_ORDER = msgspec.json.Decoder(OrderRow)
_EVENT = msgspec.json.Decoder(EventRow)
CORE, SAVED_AT, ORDER, FILL, EVENT = "core", "savedAt", "order:", "fill:", "event:"


class SaveFailed(Exception):
    """A save prepared before this one was not written (it failed or was cancelled)."""


class Write:
    """One prepared save: the fields to set and remove, in order after ``previous``."""

    __slots__ = ("changed", "done", "full", "previous", "removed")

    def __init__(
        self,
        changed: dict[str, bytes],
        removed: list[str],
        full: bool,
        previous: asyncio.Future[None] | None,
    ) -> None:
        self.changed = changed
        self.removed = removed
        self.full = full
        self.previous = previous
        self.done: asyncio.Future[None] | None = None


class StateStore:
    """The state as one journal record (``aggregator`` journal, ``state``), saved incrementally:
    the core when it changed, each order when it changed, each new fill id and risk event, and
    the removal of what fell out of the kept window, in one atomic update per save. The first
    save of a run replaces the record whole (what it restored plus what happened since). The
    record never expires: a HALTED account stays halted however long it sits idle."""

    def __init__(self, journal: Journal, key: str = "state") -> None:
        self.journal = journal
        self.key = key
        self.saves = 0
        self.writes = 0  # saves that wrote something
        self._full = True
        self._core = b""
        self._open: dict[str, bytes] = {}  # open orders as last written
        self._final: OrderedDict[str, None] = OrderedDict()  # final orders written, oldest first
        self._seq: dict[str, int] = {}  # each written order's place in the order of arrival
        self._next_seq = 0
        self._fills: deque[str] = deque()
        self._fills_written = 0
        self._events: deque[str] = deque()
        self._events_written = 0
        self._tail: asyncio.Future[None] | None = None  # the last write prepared

    async def load(self) -> Snapshot | None:
        fields = await self.journal.load_record(self.key)
        if not fields:
            return await self._load_whole()
        try:
            core = _CORE.decode(fields[CORE])
            orders = sorted(
                (_ORDER.decode(v) for k, v in fields.items() if k.startswith(ORDER)), key=lambda o: o.seq
            )
            fills = sorted((int(v), k) for k, v in fields.items() if k.startswith(FILL))
            events = sorted((k, v) for k, v in fields.items() if k.startswith(EVENT))
            saved = fields.get(SAVED_AT)
            return Snapshot(
                **msgspec.structs.asdict(core),
                saved_at=dt.datetime.fromisoformat(saved.decode()) if saved else None,
                orders=orders,
                fill_ids=[_fill_id(k) for _, k in fills],
                events=[_EVENT.decode(v) for _, v in events],
            )
        except (KeyError, ValueError, msgspec.DecodeError) as exc:
            log.error(
                "the saved aggregator state is unreadable; starting from the exchange's", error=str(exc)
            )
            return None

    async def _load_whole(self) -> Snapshot | None:
        """A snapshot in one piece (the first version's format, with an expiry)."""
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

    async def save(self, agg: Aggregator) -> None:
        """Writes what changed since the last save (everything at the first)."""
        await self.write(self.prepare(agg))

    def prepare(self, agg: Aggregator) -> Write:
        """Takes what changed since the last prepared save, now (it is compared with what the
        saves prepared before it will have written, whether or not they are written yet); the
        returned write goes out with :meth:`write`, after every write prepared before it. Every
        prepared write must be passed to :meth:`write` (the next ones wait for it)."""
        changed: dict[str, bytes] = {}
        removed: list[str] = []
        full = self._full
        if full:
            self._reset(agg)
            final = set([k for k, r in agg.orders.items() if not r.open][-KEPT_FINAL_ORDERS:])
            keys = [k for k, r in agg.orders.items() if r.open or k in final]
        else:
            keys = [*agg.touched_orders, *self._open]
        agg.touched_orders.clear()
        core = _ENCODER.encode(core_of(agg))
        if core != self._core:
            changed[CORE] = core
        self._orders(agg, keys, changed, removed)
        self._new_fills(agg, changed, removed)
        self._new_events(agg, changed, removed)
        self.saves += 1
        if changed or removed:
            changed[SAVED_AT] = dt.datetime.now(dt.UTC).isoformat().encode()
        # What the next save compares with: this one's, as if written (a failure resets it).
        self._core = core
        self._full = False
        write = Write(changed, removed, full, self._tail)
        self._tail = write.done = asyncio.get_running_loop().create_future()
        return write

    async def write(self, write: Write) -> None:
        """Writes a prepared save once the writes prepared before it are done. A write that fails
        (or is cancelled) fails every incremental write prepared after it (each is a change on
        top of it), and the next save prepared after the failure writes everything."""
        done = write.done
        assert done is not None
        try:
            previous = write.previous
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # (never cancels it)
            if previous is not None and not write.full:
                previous.result()  # a change on top of a failed write fails too
            if write.changed or write.removed:
                await self.journal.update_record(self.key, write.changed, write.removed, replace=write.full)
                self.writes += 1
        except BaseException as exc:
            self._full = True  # what is written is unknown from here: the next save writes all
            self._core = b""
            if not done.done():
                done.set_exception(exc if isinstance(exc, Exception) else SaveFailed("cancelled"))
                done.exception()  # retrieved: only the writes after it re-raise it
            raise
        if not done.done():
            done.set_result(None)

    def _reset(self, agg: Aggregator) -> None:
        self._open.clear()
        self._final.clear()
        self._seq.clear()
        self._fills.clear()
        self._events.clear()
        self._fills_written = agg.fills_added - min(agg.fills_kept, KEPT_FILL_IDS)
        self._events_written = agg.account.recorded - min(len(agg.account.events), KEPT_EVENTS)

    def _orders(
        self, agg: Aggregator, keys: list[str], changed: dict[str, bytes], removed: list[str]
    ) -> None:
        for key in keys:
            record = agg.orders.get(key)
            if record is None:  # no longer kept in memory: gone from the state too
                if self._open.pop(key, None) is not None:
                    self._seq.pop(key, None)
                    removed.append(ORDER + key)
                continue
            seq = self._seq.get(key)
            if seq is None:
                seq = self._seq[key] = self._next_seq
                self._next_seq += 1
            data = _ENCODER.encode(order_row(key, record, seq))
            if record.open:
                if self._open.get(key) != data:
                    changed[ORDER + key] = data
                self._open[key] = data
                continue
            if self._open.pop(key, None) != data or key not in self._final:
                changed[ORDER + key] = data
            self._final[key] = None
            self._final.move_to_end(key)
        while len(self._final) > KEPT_FINAL_ORDERS:
            old, _ = self._final.popitem(last=False)
            self._seq.pop(old, None)
            changed.pop(ORDER + old, None)
            removed.append(ORDER + old)

    def _new_fills(self, agg: Aggregator, changed: dict[str, bytes], removed: list[str]) -> None:
        new = min(agg.fills_added - self._fills_written, agg.fills_kept)
        if new <= 0:
            return
        ids = agg.newest_fill_ids(new)
        for n, (account_id, fill_id) in enumerate(ids, start=self._fills_written + 1):
            name = f"{FILL}{account_id}:{fill_id}"
            changed[name] = str(n).encode()
            self._fills.append(name)
        self._fills_written = agg.fills_added
        while len(self._fills) > KEPT_FILL_IDS:
            old = self._fills.popleft()
            changed.pop(old, None)
            removed.append(old)

    def _new_events(self, agg: Aggregator, changed: dict[str, bytes], removed: list[str]) -> None:
        events = agg.account.events
        new = min(agg.account.recorded - self._events_written, len(events))
        if new <= 0:
            return
        first = agg.account.recorded - new + 1
        for n, e in enumerate(list(events)[-new:], start=first):
            name = f"{EVENT}{n:012d}"
            changed[name] = _ENCODER.encode(EventRow(e.at, e.kind, e.message, e.requested_by))
            self._events.append(name)
        self._events_written = agg.account.recorded
        while len(self._events) > KEPT_EVENTS:
            old = self._events.popleft()
            changed.pop(old, None)
            removed.append(old)


def _fill_id(name: str) -> tuple[int, int]:
    account_id, fill_id = name[len(FILL) :].split(":")
    return int(account_id), int(fill_id)


def order_row(key: str, r: OrderRecord, seq: int = 0) -> OrderRow:
    return OrderRow(
        key=key,
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
        seq=seq,
    )


def core_of(agg: Aggregator) -> CoreState:
    engine = agg.engine
    return CoreState(
        version=2,
        account_id=agg.account_id,
        trading_day=agg.current_trading_day,
        balance=engine.balance,
        day_start_equity=engine.equity - engine.daily_pnl,
        drawdown_peak=engine.drawdown_peak,
        causes={c.value: why for c, why in agg.account.causes.items()},
        halt_causes=sorted(c.value for c in agg.account.halt_causes),
        paused={e["botId"]: e["pauseReason"] for e in agg.registry.view(0.0) if e["paused"]},
        positions=[
            PositionRow(bot, symbol, p.quantity, p.average_price, p.realized_pnl, p.fees, p.trades)
            for bot, symbol, p in agg.positions.items()
        ],
        working=agg.working.all(),
        sent=[SentRow(cid, s.bot_id, s.order_key, s.best_effort) for cid, s in agg.sent.items()],
        exchange_positions=dict(agg.exchange_positions),
        closing=sorted(agg.closing),
        flattened_for_loss=agg.flattened_for_loss,
        contracts=dict(agg.contracts),
        protective=[
            CommandRow(item.command.MESSAGE_TYPE, msgspec.Raw(_ENCODER.encode(item.command)), item.bot_id)
            for item in agg.queue
            if item.priority is Priority.PROTECTIVE
        ],
        marks={s: m for s in agg.instruments.symbols if (m := engine.mark_price(s)) > 0},
        realized_today=agg.realized_today,
        fees_today=agg.fees_today,
        day_start_source=agg.day_start_source,
        day_start_warning=agg.day_start_warning,
        in_balance=sorted(agg.in_balance),
        in_balance_day=agg.in_balance_day,
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
    # (the engine's own day figures are zero here: the restored positions opened from flat)
    agg.carried_realized = snap.realized_today or 0.0
    agg.carried_fees = snap.fees_today or 0.0
    if snap.realized_today is None:
        log.warning("the saved state has no realized P&L and fees of the day (an older version): zero")
    agg.day_start_warning = snap.day_start_warning
    agg.day_start_source = "firstBalance" if snap.day_start_source == "firstBalance" else "state"
    agg.in_balance, agg.in_balance_day = set(snap.in_balance), snap.in_balance_day
    if snap.saved_at is not None and dt.datetime.now(dt.UTC) - snap.saved_at <= MARKS_FRESH:
        for symbol, price in snap.marks.items():
            if symbol in agg.instruments:
                engine.on_mark(symbol, price)
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
        "savedAt": snap.saved_at.isoformat() if snap.saved_at else None,
    }


__all__ = ["JournalUnavailableError", "Snapshot", "StateStore", "restore"]

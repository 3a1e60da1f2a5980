"""The aggregator's side of the journal: every event it sees becomes a record offered to the
writer, every fill also goes through the P&L ledger (closed round trips become ``trades`` rows),
and after a restart the ledger (positions, daily P&L, counters) is rebuilt from the journal's
fills before the bus streams are replayed; a replayed fill already in the journal is skipped.
"""

from __future__ import annotations

import msgspec
import structlog

from tsxbot.journal.records import (
    AccountStateRecord,
    ControlActionRecord,
    FillRecord,
    OrderRecord,
    Record,
    TradingStateRecord,
    fill_record,
    order_update_record,
    risk_rejection_record,
    trade_record,
)
from tsxbot.journal.store import JournalStore, execution
from tsxbot.journal.writer import JournalFull, JournalWriter
from tsxbot.messages.orders import Fill, OrderSubmission, OrderUpdate, RiskRejection
from tsxbot.pnl.ledger import Ledger
from tsxbot.pnl.matching import RoundTrip

log = structlog.get_logger("tsxbot.journal")


class JournalRecorder:
    def __init__(self, writer: JournalWriter, ledger: Ledger) -> None:
        self.writer = writer
        self.ledger = ledger
        self.replayed_fills = 0  # fills already in the journal, seen again (a bus replay)
        self.refusals: list[JournalFull] = []

    def restore(self, store: JournalStore) -> int:
        """Rebuild the ledger from the journal's fills (before any new event); returns how many.

        Trades the fills close are offered again: one whose closing fill was written just before
        a crash, but not the trade itself, is written now (the others are already there, by key).
        """
        return self.restore_records(store.fills())

    def restore_records(self, fills: list[FillRecord]) -> int:
        """:meth:`restore` from fills already read (in time order)."""
        for record in fills:
            for trade in self.ledger.apply(execution(record)):
                self._offer(trade_record(trade))
        log.info("journal_restored", fills=len(fills), trades=len(self.ledger.trades))
        return len(fills)

    def _offer(self, record: Record) -> None:
        refusal = self.writer.offer(record)
        if refusal is not None:
            self.refusals.append(refusal)

    def order(
        self,
        order: OrderSubmission,
        *,
        bot_id: str,
        ts_ns: int,
        signal_price: float | None = None,
        signal_ns: int | None = None,
    ) -> None:
        """A bot's order as the aggregator accepted it (``signal_*``: the signal it came from)."""
        self._offer(
            OrderRecord(
                key=order.order_id,
                ts_ns=ts_ns,
                account_id=order.account_id,
                bot_id=bot_id,
                symbol=order.symbol,
                side=order.side.value,
                quantity=order.quantity,
                order_type=order.order_type.value,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                stop_loss=order.stop_loss,
                take_profit=order.take_profit,
                signal_price=signal_price,
                signal_ns=signal_ns,
            )
        )

    def order_update(self, update: OrderUpdate, message_id: str, ts_ns: int) -> None:
        self._offer(order_update_record(update, message_id, ts_ns))

    def fill(
        self,
        fill: Fill,
        *,
        bot_id: str,
        strategy: str = "",
        stop_loss: float | None = None,
        quantity: int | None = None,
    ) -> list[RoundTrip]:
        """Journal one attributed fill and apply it to the ledger; a fill seen before is skipped.

        ``quantity``: the bot's share when one exchange fill is split between bots (the
        aggregator's flatten); the share is keyed ``<fill id>:<bot>`` and pays its share of fees.
        """
        share = quantity is not None and quantity != fill.quantity
        key = f"{fill.fill_id}:{bot_id}" if share else str(fill.fill_id)
        if key in self.ledger.fill_ids:
            self.replayed_fills += 1
            return []
        if share:
            assert quantity is not None
            fill = msgspec.structs.replace(fill, quantity=quantity, fees=fill.fees * quantity / fill.quantity)
        record = msgspec.structs.replace(
            fill_record(fill, bot_id=bot_id, strategy=strategy, stop_loss=stop_loss), key=key
        )
        self._offer(record)
        if fill.voided:
            return []
        closed = self.ledger.apply(execution(record))
        for trade in closed:
            self._offer(trade_record(trade))
        return closed

    def internal_fill(self, record: FillRecord) -> list[RoundTrip]:
        """A fill with no exchange fill behind it (the aggregator crossing two bots' offsetting
        positions after a flatten): journaled under its own key, applied to the ledger once."""
        if record.key in self.ledger.fill_ids:
            self.replayed_fills += 1
            return []
        self._offer(record)
        closed = self.ledger.apply(execution(record))
        for trade in closed:
            self._offer(trade_record(trade))
        return closed

    def account_state(self, record: AccountStateRecord) -> None:
        self._offer(record)

    def risk_rejection(self, rejection: RiskRejection, message_id: str, ts_ns: int) -> None:
        self._offer(risk_rejection_record(rejection, message_id, ts_ns))

    def state_change(
        self, key: str, ts_ns: int, *, state_to: str, reason: str, state_from: str | None = None,
        account_id: int | None = None,
    ) -> None:  # fmt: skip
        self._offer(
            TradingStateRecord(
                key=key,
                ts_ns=ts_ns,
                account_id=account_id,
                state_from=state_from,
                state_to=state_to,
                reason=reason,
            )
        )

    def control(
        self, key: str, ts_ns: int, *, actor: str, action: str, reason: str, target: str | None = None,
        params: dict[str, object] | None = None, ok: bool | None = None,
    ) -> None:  # fmt: skip
        self._offer(
            ControlActionRecord(
                key=key,
                ts_ns=ts_ns,
                actor=actor,
                action=action,
                target=target,
                reason=reason,
                params=ControlActionRecord.encode_params(params or {}),
                ok=ok,
            )
        )

"""The journal as the aggregator uses it: one object that opens the database (migrating it),
rebuilds the P&L ledger from it at start, records every event the aggregator sees, and gives the
day's P&L per bot and for the account.

Durability: the aggregator calls :meth:`AggregatorJournal.flush` after handling a batch of bus
messages and before acknowledging them, so a message is acknowledged only once its rows are in
the database; after a crash the unacknowledged messages are delivered again and written once
(every row has a unique key). Handling never waits for the database (records go to the writer's
bounded queue); only the acknowledgement does. A full queue refuses the record
(:attr:`refused`), and the aggregator then leaves the batch unacknowledged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Protocol

import msgspec
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tsxbot.config.loader import Config
from tsxbot.journal.database import make_engine, upgrade
from tsxbot.journal.recorder import JournalRecorder
from tsxbot.journal.records import AccountStateRecord, FillRecord
from tsxbot.journal.store import JournalStore
from tsxbot.journal.writer import JournalWriter
from tsxbot.messages.account import PnlUpdate
from tsxbot.messages.orders import Fill, OrderSubmission, OrderUpdate, RiskRejection
from tsxbot.pnl.contract import ContractSpec, spec_for
from tsxbot.pnl.ledger import Ledger
from tsxbot.pnl.matching import RoundTrip

log = structlog.get_logger("tsxbot.journal")

# How long the aggregator waits for a batch's rows before going on without acknowledging it.
FLUSH_TIMEOUT_S = 2.0
# The journal's newest fills whose ids a restart without the aggregator's snapshot remembers.
KEPT_FILL_IDS = 10_000
# A rise of the drawdown peak alone (open P&L on a mark) is journaled at most this often.
PEAK_ROW_INTERVAL_NS = 1_000_000_000


class RiskAccount(Protocol):
    """The account figures the risk engine keeps and how they are put back (``tsxbot.risk.RiskEngine``)."""

    @property
    def balance(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def daily_pnl(self) -> float: ...
    @property
    def drawdown_peak(self) -> float: ...
    def on_balance(self, balance: float) -> None: ...
    def new_trading_day(self) -> None: ...
    def raise_drawdown_peak(self, peak: float) -> None: ...


class JournalUnavailableError(RuntimeError):
    """The journal database cannot be opened or migrated (a path that cannot be written, a server
    that does not answer): the aggregator does not start without it."""


class AggregatorJournal:
    def __init__(self, config: Config, url: str | None = None) -> None:
        settings = config.global_config.journal
        self.url = url or settings.url
        self.engine: Engine = make_engine(self.url)
        self.store = JournalStore(self.engine)
        self.writer = JournalWriter(
            self.store,
            capacity=settings.queue_capacity,
            quiet_s=settings.quiet_ms / 1000,
            max_delay_s=settings.max_delay_ms / 1000,
        )
        instruments = config.instruments
        exchange = config.global_config.simulator.exchange
        specs: dict[str, ContractSpec] = {}

        def spec(symbol: str) -> ContractSpec:
            if symbol not in specs:
                specs[symbol] = spec_for(instruments.get(symbol), exchange)
            return specs[symbol]

        self.ledger = Ledger(spec)
        self.recorder = JournalRecorder(self.writer, self.ledger)
        self._refused_seen = 0
        self.strategies = {b.id: b.config.strategy.type for b in config.enabled_bots}
        # Each account's newest account_history row (its peak the highest journaled), from start()
        # on, then as recorded: what a restart without the aggregator's snapshot restores.
        self.accounts: dict[int | None, AccountStateRecord] = {}
        self._unwritten_peak: AccountStateRecord | None = None
        self._seen: tuple[object, ...] = ()
        # (account, exchange fill id) of the journal's newest fills, from start(): a restart
        # without the aggregator's snapshot does not apply a replayed fill twice.
        self.exchange_fill_ids: list[tuple[int, int]] = []

    async def start(self) -> None:
        try:
            await asyncio.to_thread(upgrade, self.engine)
            fills = await asyncio.to_thread(self.store.fills)
            self.accounts = await asyncio.to_thread(self.store.account_states)
        except SQLAlchemyError as exc:
            raise JournalUnavailableError(f"the journal at {self.url} cannot be opened: {exc}") from exc
        restored = self.recorder.restore_records(fills)
        self.exchange_fill_ids = [
            (f.account_id, int(f.key.split(":")[0]))
            for f in fills[-KEPT_FILL_IDS:]
            if f.account_id is not None and f.key.split(":")[0].isdigit()
        ]
        self.writer.start()
        log.info(
            "journal opened",
            url=self.url,
            fills=restored,
            trades=len(self.ledger.trades),
            accounts=len(self.accounts),
        )

    async def stop(self) -> None:
        if self._unwritten_peak is not None:
            self.recorder.account_state(self._unwritten_peak)
            self._unwritten_peak = None
        await self.writer.close()
        self.engine.dispose()

    async def flush(self, within_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Waits until everything recorded so far is written; False when a record was refused
        since the last check or the database did not answer within ``within_s`` (the batch must
        not be acknowledged; a database that is down does not stop the aggregator)."""
        written = await self.written(within_s=within_s)
        return not self.refused_since_checked() and written

    def refused_since_checked(self) -> bool:
        """Whether a record was refused (the writer's queue full) since the last check: known at
        once, when the record is offered."""
        refused = self.writer.refused != self._refused_seen
        self._refused_seen = self.writer.refused
        return refused

    def recorded(self) -> int:
        """How many records were handed to the writer so far (for :meth:`written`)."""
        return self.writer.offered

    async def written(
        self, upto: int | None = None, within_s: float = FLUSH_TIMEOUT_S, *, hurry: bool = True
    ) -> bool:
        """Waits until the first ``upto`` records (:meth:`recorded` when taken; everything
        recorded so far by default) are written; False when the database did not answer within
        ``within_s``. ``hurry``: written now; else once the records settle (the writer's quiet),
        for a wait that holds nothing back."""
        try:
            await asyncio.wait_for(
                self.writer.written_upto(self.writer.offered if upto is None else upto, hurry=hurry),
                within_s,
            )
        except TimeoutError:
            log.error("journal not written in time", within_s=within_s, pending=self.writer.pending)
            return False
        return True

    # --- events ----------------------------------------------------------------------------------

    def submission(
        self,
        submission: OrderSubmission,
        bot_id: str,
        ts_ns: int,
        *,
        signal_price: float | None = None,
        signal_ns: int | None = None,
    ) -> None:
        self.recorder.order(
            submission, bot_id=bot_id, ts_ns=ts_ns, signal_price=signal_price, signal_ns=signal_ns
        )

    def order_update(self, update: OrderUpdate, ts_ns: int) -> None:
        key = f"{update.account_id}:{update.exchange_order_id}:{update.status.value}:{update.filled_quantity}"
        self.recorder.order_update(update, key, ts_ns)

    def fill(self, fill: Fill, bot_id: str, quantity: int, strategy: str = "") -> list[RoundTrip]:
        return self.recorder.fill(fill, bot_id=bot_id, strategy=strategy, quantity=quantity)

    def internal_cross(
        self,
        bot_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: float,
        ts_ns: int,
        account_id: int | None,
    ) -> list[RoundTrip]:
        """A bot's position closed against another bot's at ``price``, without an order or fees."""
        return self.recorder.internal_fill(
            FillRecord(
                key=f"cross:{symbol}:{ts_ns}:{bot_id}",
                ts_ns=ts_ns,
                account_id=account_id,
                bot_id=bot_id,
                strategy=self.strategies.get(bot_id, ""),
                symbol=symbol,
                side=side,
                quantity=quantity,
                price=price,
                fees=0.0,
            )
        )

    def rejection(self, rejection: RiskRejection, ts_ns: int) -> None:
        key = f"{rejection.bot_id}:{rejection.order_id}:{rejection.stage.value}:{rejection.reason.value}"
        self.recorder.risk_rejection(rejection, key, ts_ns)

    def state_change(
        self, ts_ns: int, state_from: str, state_to: str, reason: str, account_id: int | None
    ) -> None:
        self.recorder.state_change(
            f"{account_id}:{ts_ns}:{state_to}",
            ts_ns,
            state_from=state_from,
            state_to=state_to,
            reason=reason,
            account_id=account_id,
        )

    def control(
        self, ts_ns: int, actor: str, action: str, reason: str, details: dict[str, Any] | None = None
    ) -> None:
        target = details.get("botId") if details else None
        self.recorder.control(
            f"{action}:{actor}:{ts_ns}",
            ts_ns,
            actor=actor,
            action=action,
            reason=reason,
            target=str(target) if target is not None else None,
            params=details,
        )

    def account_state(
        self,
        account_id: int | None,
        day: dt.date,
        *,
        balance: float,
        equity: float,
        day_start_equity: float,
        drawdown_peak: float,
        ts_ns: int,
    ) -> None:
        """The risk engine's account figures (after every fill, mark and balance): journaled when
        the balance, the trading day or the day's start changes (to the cent), or the drawdown
        peak rises (a rise alone at most once a second, the last one at :meth:`stop`)."""
        seen = (account_id, day, balance, day_start_equity, drawdown_peak)
        if seen == self._seen and self._unwritten_peak is None:  # on every quote: nothing changed
            return
        self._seen = seen
        trading_day = day.isoformat()
        balance, start, peak = round(balance, 2), round(day_start_equity, 2), round(drawdown_peak, 2)
        last = self.accounts.get(account_id)
        same_day = last is not None and (last.balance, last.day_start_equity, last.trading_day) == (
            balance,
            start,
            trading_day,
        )
        if same_day and last is not None and peak <= last.drawdown_peak:
            return
        row = AccountStateRecord(
            key=f"{account_id}:{ts_ns}",
            ts_ns=ts_ns,
            account_id=account_id,
            trading_day=trading_day,
            balance=balance,
            equity=round(equity, 2),
            day_start_equity=start,
            drawdown_peak=peak,
        )
        if same_day and last is not None and ts_ns - last.ts_ns < PEAK_ROW_INTERVAL_NS:
            self._unwritten_peak = row
            return
        self._unwritten_peak = None
        self.recorder.account_state(row)
        if last is not None and row.drawdown_peak < last.drawdown_peak:  # an older, higher peak holds
            row = msgspec.structs.replace(row, drawdown_peak=last.drawdown_peak)
        self.accounts[account_id] = row

    def account_figures(self, account_id: int | None, day: dt.date, risk: RiskAccount, ts_ns: int) -> None:
        """:meth:`account_state` from the risk engine's figures (the aggregator's hook); none
        before the account is known (its balance has not come yet)."""
        if account_id is None:
            return
        self.account_state(
            account_id,
            day,
            balance=risk.balance,
            equity=risk.equity,
            day_start_equity=risk.equity - risk.daily_pnl,
            drawdown_peak=risk.drawdown_peak,
            ts_ns=ts_ns,
        )

    def _account(self, account_id: int | None) -> AccountStateRecord | None:
        last = self.accounts.get(account_id)
        if last is None and account_id is None and len(self.accounts) == 1:
            # The account is not known yet (before the exchange names it): the only one journaled.
            last = next(iter(self.accounts.values()))
        return last

    def drawdown_peak(self, account_id: int | None) -> float | None:
        """The highest trailing drawdown peak the journal holds for the account (None: none)."""
        last = self._account(account_id)
        return None if last is None else last.drawdown_peak

    def last_trading_day(self, account_id: int | None) -> dt.date | None:
        """The newest trading day the journal has figures for (the account's history, else fills)."""
        last = self._account(account_id)
        return dt.date.fromisoformat(last.trading_day) if last is not None else self.ledger.current_day

    def restore_account(self, risk: RiskAccount, account_id: int | None, day: dt.date | None) -> bool:
        """After a restart without the aggregator's state snapshot (its open positions already
        back): raises the risk engine's trailing drawdown peak to the journal's and, when the
        journal has the account's figures for ``day``, puts back the day's starting equity and
        the last balance, so the day's P&L is right at once (True), not only from the next
        balance the exchange sends."""
        last = self._account(account_id)
        if last is None:
            return False
        today = day is not None and last.trading_day == day.isoformat()
        if today:
            risk.on_balance(last.day_start_equity)
            risk.new_trading_day()
            risk.on_balance(last.balance)
        risk.raise_drawdown_peak(last.drawdown_peak)
        log.warning(
            "account restored from the journal",
            drawdown_peak=last.drawdown_peak,
            day=last.trading_day,
            day_start_equity=last.day_start_equity,
            balance=last.balance,
        )
        return today

    def mark(self, symbol: str, price: float, ts_ns: int) -> None:
        self.ledger.mark(symbol, price, ts_ns)

    def holders(self, symbol: str) -> list[str]:
        """The bots with an open position in ``symbol``."""
        return [bot for (_, bot, sym), m in self.ledger.matchers.items() if sym == symbol and m.position != 0]

    # --- figures ---------------------------------------------------------------------------------

    def pnl_update(self, bot_id: str | None, account_id: int | None) -> PnlUpdate:
        """The trading day so far, for ``bot:{id}:pnl`` (a bot) or the account (None)."""
        day = self.ledger.day_pnl(bot_id)
        return PnlUpdate(
            realized_pnl=round(day.realized, 2),
            unrealized_pnl=round(day.open, 2),
            fees=round(day.fees, 2),
            account_id=account_id,
            bot_id=bot_id,
            trade_count=day.trades,
            win_count=day.wins,
            loss_count=day.losses,
            drawdown=round(day.drawdown, 2),
        )

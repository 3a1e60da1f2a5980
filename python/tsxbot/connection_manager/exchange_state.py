"""The connection manager's mirror of exchange truth: accounts, orders, positions and fills as
TopStepX reports them (user hub and reconciliation), with each order's attribution to a bot.

Every ``apply_*`` returns the tsxbot message to publish, or None when nothing changed, so a
repeated or reordered hub event, or a reconciliation that finds what the hub already said,
publishes nothing twice. Fills are published once by their exchange id.

A change is provisional until the caller has published its message: ``commit()`` keeps it,
``rollback()`` (the publish failed) forgets it, so the next event or reconciliation finds the
difference again and publishes it then. Nothing is marked as said before it was said.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import msgspec

from tsxbot.gateway.enums import OrderStatus as PxOrderStatus
from tsxbot.gateway.models import Account, Order, Position, Trade
from tsxbot.gateway.normalize import Normalizer
from tsxbot.messages import AccountUpdate, Fill, OrderUpdate, PositionUpdate, Side
from tsxbot.messages.orders import PlaceOrder

FINAL = {PxOrderStatus.FILLED, PxOrderStatus.CANCELLED, PxOrderStatus.EXPIRED, PxOrderStatus.REJECTED}
SEEN_FILLS_KEPT = 100_000
EXPECTED_KEPT = 10_000


@dataclass
class Attribution:
    """Who an exchange order belongs to."""

    order_id: str | None
    bot_id: str | None
    custom_tag: str | None


def bot_of_tag(custom_tag: str | None) -> str | None:
    """Tags are ``<botId>-<sequence>`` (the aggregator builds them); the bot is the prefix."""
    if not custom_tag or "-" not in custom_tag:
        return None
    prefix = custom_tag.rsplit("-", 1)[0]
    return prefix or None


P = ParamSpec("P")
R = TypeVar("R")


def _all_or_nothing(
    method: Callable[Concatenate[ExchangeState, P], R],
) -> Callable[Concatenate[ExchangeState, P], R]:
    """An ``apply_*`` that raises (an unknown enum value in the event) leaves nothing behind."""

    def wrapper(self: ExchangeState, /, *args: P.args, **kwargs: P.kwargs) -> R:
        mark = len(self._undo)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            while len(self._undo) > mark:
                self._undo.pop()()
            raise

    return wrapper


class ExchangeState:
    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.accounts: dict[int, Account] = {}
        self.orders: dict[int, Order] = {}
        self.positions: dict[tuple[int, str], Position] = {}
        self._attribution: dict[int, Attribution] = {}
        self._by_tag: dict[str, int] = {}
        self._by_client_id: dict[str, int] = {}
        self._expected: OrderedDict[str, Attribution] = OrderedDict()
        # The place command each tag was (or is being) placed with, to tell a retry of it from a
        # different order under a reused tag.
        self._tag_commands: OrderedDict[str, PlaceOrder] = OrderedDict()
        # Each position's share per bot, from the attributed fills since it was last flat.
        self._position_bots: dict[tuple[int, str], dict[str, int]] = {}
        # When the exchange last confirmed each position (its time): a hub event or a
        # reconciliation that found it.
        self.position_confirmed: dict[tuple[int, str], dt.datetime] = {}
        self._fills: OrderedDict[int, None] = OrderedDict()
        # The newest published fill's time, per account (where a reconciliation's search starts).
        self.last_fill_time: dict[int, dt.datetime] = {}
        # The oldest fill per account whose publish failed: a reconciliation's trade search starts
        # no later than it until a reconciliation has covered it (later fills move last_fill_time).
        self.unpublished_fill_time: dict[int, dt.datetime] = {}
        self._undo: list[Callable[[], None]] = []

    # --- provisional changes ----------------------------------------------------------------------

    def commit(self) -> None:
        """The messages of the changes since the last commit are published: keep them."""
        self._undo.clear()

    def rollback(self) -> None:
        """Their publish failed: forget the changes since the last commit."""
        while self._undo:
            self._undo.pop()()

    def _forget_fill(self, trade: Trade) -> None:
        self._fills.pop(trade.id, None)
        oldest = self.unpublished_fill_time.get(trade.account_id)
        if oldest is None or trade.creation_timestamp < oldest:
            self.unpublished_fill_time[trade.account_id] = trade.creation_timestamp

    def _restore(self, table: dict[Any, Any], key: Any) -> None:
        """Records how to put ``table[key]`` back as it is now."""
        if key in table:
            old = table[key]
            self._undo.append(lambda: table.__setitem__(key, old))
        else:
            self._undo.append(lambda: table.pop(key, None))

    # --- attribution ------------------------------------------------------------------------------

    def expect_order(self, command: PlaceOrder) -> None:
        """Called before the place is sent: the order's events may arrive before its id does. A
        tag already expected for another command keeps its first owner."""
        if command.custom_tag in self._expected:
            return
        self._expected[command.custom_tag] = Attribution(command.order_id, command.bot_id, command.custom_tag)
        self._tag_commands.setdefault(command.custom_tag, command)
        while len(self._expected) > EXPECTED_KEPT:
            self._expected.popitem(last=False)
        while len(self._tag_commands) > EXPECTED_KEPT:
            self._tag_commands.popitem(last=False)

    def forget_expected(self, command: PlaceOrder) -> None:
        """The place was refused: its tag holds no order of this command's."""
        expected = self._expected.get(command.custom_tag)
        if (
            expected is not None
            and expected.order_id == command.order_id
            and expected.bot_id == command.bot_id
        ):
            del self._expected[command.custom_tag]
        known = self._tag_commands.get(command.custom_tag)
        if known is not None and known.command_id == command.command_id:
            del self._tag_commands[command.custom_tag]

    def command_for_tag(self, custom_tag: str) -> PlaceOrder | None:
        """The place command this process sent (or is sending) with the tag."""
        return self._tag_commands.get(custom_tag)

    def register_order(self, exchange_order_id: int, command: PlaceOrder) -> None:
        self._attribution[exchange_order_id] = Attribution(
            command.order_id, command.bot_id, command.custom_tag
        )
        self._by_tag[command.custom_tag] = exchange_order_id
        self._by_client_id[command.order_id] = exchange_order_id
        self._tag_commands.setdefault(command.custom_tag, command)

    def exchange_id_for(self, order_id: str) -> int | None:
        """The exchange id of the order a bot knows as ``order_id``."""
        return self._by_client_id.get(order_id)

    def order_id_for_tag(self, custom_tag: str) -> int | None:
        return self._by_tag.get(custom_tag)

    def is_attributed(self, exchange_order_id: int) -> bool:
        return self.attribution(exchange_order_id).bot_id is not None

    def attribution(self, exchange_order_id: int) -> Attribution:
        found = self._attribution.get(exchange_order_id)
        if found is not None:
            return found
        order = self.orders.get(exchange_order_id)
        if order is not None and order.custom_tag and order.custom_tag in self._expected:
            expected = self._expected[order.custom_tag]
            self._attribution[exchange_order_id] = expected
            if expected.order_id:
                self._by_client_id[expected.order_id] = exchange_order_id
            return expected
        if order is not None:
            # Bracket legs carry their parent's id; they belong to the parent's bot.
            if order.parent_order_id is not None and order.parent_order_id in self._attribution:
                parent = self._attribution[order.parent_order_id]
                return Attribution(None, parent.bot_id, None)
            return Attribution(None, bot_of_tag(order.custom_tag), order.custom_tag)
        return Attribution(None, None, None)

    # --- applying exchange events -----------------------------------------------------------------

    @_all_or_nothing
    def apply_account(self, account: Account) -> AccountUpdate | None:
        if self.accounts.get(account.id) == account:
            return None
        self._restore(self.accounts, account.id)
        self.accounts[account.id] = account
        return self.normalizer.account(account)

    @_all_or_nothing
    def apply_order(self, order: Order) -> OrderUpdate | None:
        self._restore(self.orders, order.id)
        previous = self.orders.get(order.id)
        if previous is not None:
            # Hub events may lack the bracket links REST searches carry: keep what is known.
            if order.parent_order_id is None and previous.parent_order_id is not None:
                order = msgspec.structs.replace(
                    order, parent_order_id=previous.parent_order_id, linked_order_id=previous.linked_order_id
                )
            elif order.parent_order_id is not None and previous.parent_order_id is None:
                self.orders[order.id] = msgspec.structs.replace(
                    previous, parent_order_id=order.parent_order_id, linked_order_id=order.linked_order_id
                )
                previous = self.orders[order.id]
        if previous is not None and _order_key(previous) == _order_key(order):
            return None
        if previous is not None and (
            (previous.status in FINAL and order.status not in FINAL)
            or order.fill_volume < previous.fill_volume
        ):
            return None  # an older event than what is known (events and snapshots can come late)
        self.orders[order.id] = order
        if order.custom_tag:
            self._by_tag.setdefault(order.custom_tag, order.id)
        update = self.normalizer.order(order)
        who = self.attribution(order.id)
        return _with_attribution(update, who)

    @_all_or_nothing
    def apply_position(self, position: Position, now: dt.datetime) -> PositionUpdate | None:
        """``now``: the exchange's time (when the position was confirmed)."""
        key = (position.account_id, position.contract_id)
        if position.size == 0:
            self.position_confirmed.pop(key, None)
            if key in self._position_bots:  # flat: the next position starts a new ledger
                self._restore(self._position_bots, key)
                del self._position_bots[key]
        else:
            self.position_confirmed[key] = now
        previous = self.positions.get(key)
        if previous is not None and (previous.net_quantity, previous.average_price) == (
            position.net_quantity,
            position.average_price,
        ):
            return None
        if previous is None and position.size == 0:
            return None  # flat, and we never thought otherwise
        self._restore(self.positions, key)
        if position.size == 0:
            del self.positions[key]
        else:
            self.positions[key] = position
        return self.position_update(position, now)

    def position_bot(self, account_id: int, contract_id: str) -> str | None:
        """The one bot whose attributed fills hold the position's side (None: several, or
        none). A fill that arrives after its position went flat leaves a share of the other
        sign behind; it does not count."""
        net = self.net_position(account_id, contract_id)
        shares = self._position_bots.get((account_id, contract_id), {})
        holders = [b for b, q in shares.items() if q * net > 0]
        return holders[0] if len(holders) == 1 else None

    def position_update(self, position: Position, now: dt.datetime, *, stale: bool = False) -> PositionUpdate:
        """A position as published: with its bot and when the exchange last confirmed it."""
        key = (position.account_id, position.contract_id)
        return msgspec.structs.replace(
            self.normalizer.position(position, now),
            bot_id=self.position_bot(*key) if position.size else None,
            last_confirmed=self.position_confirmed.get(key),
            stale=stale,
        )

    def describe(self, exchange_order_id: int) -> OrderUpdate | None:
        """The order as it stands, with its attribution (to announce what was learned late)."""
        order = self.orders.get(exchange_order_id)
        if order is None:
            return None
        return _with_attribution(self.normalizer.order(order), self.attribution(order.id))

    @_all_or_nothing
    def apply_trade(self, trade: Trade) -> Fill | None:
        if trade.id in self._fills:
            return None
        self._fills[trade.id] = None
        self._undo.append(lambda: self._forget_fill(trade))
        while len(self._fills) > SEEN_FILLS_KEPT:
            self._fills.popitem(last=False)
        self._restore(self.last_fill_time, trade.account_id)
        last = self.last_fill_time.get(trade.account_id)
        if last is None or trade.creation_timestamp > last:
            self.last_fill_time[trade.account_id] = trade.creation_timestamp
        fill = self.normalizer.fill(trade)
        who = self.attribution(trade.order_id)
        if who.bot_id is not None and not trade.voided:
            key = (trade.account_id, trade.contract_id)
            self._restore(self._position_bots, key)
            shares = dict(self._position_bots.get(key, {}))
            signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
            shares[who.bot_id] = shares.get(who.bot_id, 0) + signed
            self._position_bots[key] = {b: q for b, q in shares.items() if q}
        return _fill_with_attribution(fill, who)

    # --- reconciliation ---------------------------------------------------------------------------

    def positions_to_reconcile(
        self, account_id: int, open_positions: list[Position], now: dt.datetime
    ) -> list[Position]:
        """The exchange's open positions are the truth: they, and a flat one for every position
        we hold that the exchange no longer has (each to ``apply_position``)."""
        seen = {p.contract_id for p in open_positions}
        flat = [
            Position(
                id=held.id,
                account_id=acct,
                contract_id=contract,
                type=held.type,
                size=0,
                average_price=held.average_price,
                creation_timestamp=now,
            )
            for (acct, contract), held in self.positions.items()
            if acct == account_id and contract not in seen
        ]
        return [*open_positions, *flat]

    def open_orders(self, account_id: int) -> list[Order]:
        return [o for o in self.orders.values() if o.account_id == account_id and o.status not in FINAL]

    def working_protective_orders(self, account_id: int, contract_id: str) -> list[Order]:
        """Stop and limit orders resting on a contract (a position's SL/TP legs)."""
        return [o for o in self.open_orders(account_id) if o.contract_id == contract_id]

    def net_position(self, account_id: int, contract_id: str) -> int:
        held = self.positions.get((account_id, contract_id))
        return held.net_quantity if held else 0

    def side_of_position(self, account_id: int, contract_id: str) -> Side | None:
        net = self.net_position(account_id, contract_id)
        return Side.BUY if net > 0 else Side.SELL if net < 0 else None


def _order_key(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.fill_volume,
        order.filled_price,
        order.size,
        order.limit_price,
        order.stop_price,
    )


def _with_attribution(update: OrderUpdate, who: Attribution) -> OrderUpdate:
    return msgspec.structs.replace(
        update,
        order_id=who.order_id,
        bot_id=who.bot_id,
        custom_tag=update.custom_tag or who.custom_tag,
    )


def _fill_with_attribution(fill: Fill, who: Attribution) -> Fill:
    return msgspec.structs.replace(fill, order_id=who.order_id, bot_id=who.bot_id, custom_tag=who.custom_tag)

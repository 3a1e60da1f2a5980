"""Executes order commands from the bus (or the HTTP API) against TopStepX.

Each command is handled once per ``commandId``: a repeat (a redelivery, a retry by the sender)
gets the first result again without touching the exchange. The command journal (``bus.journal``,
as durable as the bus) makes that hold across a crash and across processes: a command is claimed
in it before it touches the exchange and its result recorded after. A copy that finds it claimed
and never finished (the process stopped in the middle) runs again only when repeating it is safe:
a place (its unique ``customTag`` is looked up before any resend, and TopStepX refuses a duplicate
tag), a modify, cancel or SL/TP update (each sets an absolute state). A close is not (it would
close a newer position, or a partial close twice): it ends ``OUTCOME_UNKNOWN``, not executed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from tsxbot.bus.journal import Journal, JournalUnavailableError, MemoryJournal
from tsxbot.connection_manager.accounts import AccountSelectionError, AccountSelector
from tsxbot.connection_manager.contracts import ContractNotFoundError, ContractResolver
from tsxbot.connection_manager.exchange_state import ExchangeState
from tsxbot.connection_manager.order_checks import ImplausibleOrderError, check_place, check_prices
from tsxbot.gateway import enums
from tsxbot.gateway.errors import (
    ApiError,
    CircuitOpenError,
    GatewayError,
    OutcomeUnknownError,
    TagInUseError,
)
from tsxbot.gateway.models import Bracket, ModifyOrderRequest, Order, PlaceOrderRequest
from tsxbot.gateway.normalize import TO_PROJECTX_SIDE, TO_PROJECTX_TYPE
from tsxbot.gateway.rest import ProjectXRest, describe_order, same_order
from tsxbot.log import after_queued_work, get_logger
from tsxbot.messages import (
    CancelOrder,
    ClosePosition,
    CommandFailure,
    CommandResult,
    Envelope,
    ModifyOrder,
    OrderType,
    PlaceOrder,
    Side,
    UpdateStopLossTakeProfit,
    decode_as,
    encode,
)
from tsxbot.sizing import bracket_ticks

log = get_logger("tsxbot.connection_manager.commands")
RESULTS_KEPT = 10_000
Command = PlaceOrder | ModifyOrder | CancelOrder | ClosePosition | UpdateStopLossTakeProfit
COMMAND_TYPES = (PlaceOrder, ModifyOrder, CancelOrder, ClosePosition, UpdateStopLossTakeProfit)


class CommandError(Exception):
    """A command that cannot be executed as given (no such order, no position...)."""


class TagInUse(CommandError):
    """A place whose customTag belongs to a different order (or command)."""


def same_command(a: PlaceOrder, b: PlaceOrder) -> bool:
    """Whether two places are the same order: the same ``commandId``, or every field of the
    order equal (size, prices, brackets, type, side, contract, account and bot); the client's
    ``orderId`` and the ``commandId`` aside, a sender's retry under a new id is the same order."""
    if a.command_id == b.command_id:
        return True
    ignored = {"command_id", "order_id"}
    return all(getattr(a, f) == getattr(b, f) for f in a.__struct_fields__ if f not in ignored)


def _tag_in_use(command: PlaceOrder, detail: str) -> CommandResult:
    return _failed(
        command,
        CommandFailure.TAG_IN_USE,
        f"customTag {command.custom_tag!r} is already used by {detail}: not placed; give every order "
        "a new tag",
    )


def _protects_position(order: Order, bot_id: str | None) -> bool:
    """A stop or target of the position: a bracket leg, an untagged order, or one tagged by the
    bot that owns the position (or by the connection manager). Another bot's entry order on the
    exit side is not one."""
    if order.type not in PROTECTIVE_TYPES:
        return False
    if order.parent_order_id is not None or not order.custom_tag:
        return True
    owners = ("cm-", f"{bot_id}-") if bot_id else ("cm-",)
    return order.custom_tag.startswith(owners)


PROTECTIVE_TYPES = frozenset(
    {
        int(enums.OrderType.STOP),
        int(enums.OrderType.TRAILING_STOP),
        int(enums.OrderType.LIMIT),
        int(enums.OrderType.STOP_LIMIT),
    }
)


def brackets(
    side: Side, stop_loss_ticks: int | None, take_profit_ticks: int | None
) -> tuple[Bracket | None, Bracket | None]:
    """A PlaceOrder's unsigned bracket distances as ProjectX bracket objects: signed from the
    entry by ``tsxbot.sizing.bracket_ticks`` (long: stop negative, target positive), the stop leg
    a Stop order (type 4), the target a Limit (type 1)."""
    if stop_loss_ticks is None and take_profit_ticks is None:
        return None, None
    # A target alone still needs a stop distance for the signing; its value is not used.
    signed_stop, signed_target = bracket_ticks(side, stop_loss_ticks or 1, take_profit_ticks)
    stop = Bracket(ticks=signed_stop, type=int(enums.OrderType.STOP)) if stop_loss_ticks else None
    target = (
        Bracket(ticks=signed_target, type=int(enums.OrderType.LIMIT))
        if take_profit_ticks and signed_target is not None
        else None
    )
    return stop, target


def _failed(command: Command, failure: CommandFailure, message: str) -> CommandResult:
    return CommandResult(
        command_id=command.command_id,
        command=command.MESSAGE_TYPE,
        ok=False,
        message=message,
        failure=failure,
    )


class CommandExecutor:
    """``on_placed(order_id, account_id, command)`` runs after an order with a bracket is placed
    (the service links the bracket legs to their bot there)."""

    def __init__(
        self,
        rest: ProjectXRest,
        state: ExchangeState,
        accounts: AccountSelector,
        contracts: ContractResolver,
        *,
        max_age: dt.timedelta = dt.timedelta(seconds=30),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_placed: Callable[[int, int, PlaceOrder], Awaitable[None]] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.rest = rest
        self.state = state
        self.accounts = accounts
        self.contracts = contracts
        self.max_age = max_age
        self.clock = clock  # the exchange's time (search windows)
        self.wall_clock = wall_clock  # the senders' time (envelope timestamps: staleness)
        self.on_placed = on_placed
        self.journal = journal or MemoryJournal()
        self._results: OrderedDict[str, CommandResult] = OrderedDict()
        self._running: dict[str, asyncio.Future[CommandResult]] = {}
        # Orders placed whose "order placed" line is not logged yet (command id -> order id).
        self._placed: dict[str, int] = {}
        self._service = "api"
        self.executed = 0
        self.repeats = 0
        self.stale = 0
        self.unknown_outcomes = 0

    def result_of(self, command_id: str) -> CommandResult | None:
        """The result of a command this executor handled (None if it has not seen it)."""
        return self._results.get(command_id)

    async def execute(
        self, command: Command, *, service: str = "api", sent_at: dt.datetime | None = None
    ) -> CommandResult:
        """Runs a command once per ``commandId``: a copy that arrives while it runs waits for it
        and gets the same result, as does one that arrives later. ``service`` is who sent it (its
        account, unless the command names one); a command older than ``max_age`` (by
        ``sent_at``) is refused, never executed late."""
        previous = self._results.get(command.command_id)
        if previous is not None:
            self.repeats += 1
            log.info("command already handled; returning its result", command_id=command.command_id)
            return previous
        running = self._running.get(command.command_id)
        if running is not None:
            self.repeats += 1
            log.info("command is being handled; waiting for its result", command_id=command.command_id)
            return await asyncio.shield(running)
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._running[command.command_id] = future
        try:
            result = await self._journaled(command, service, sent_at)
            future.set_result(result)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: only a waiting copy re-raises it
            raise
        finally:
            del self._running[command.command_id]
        if result.failure is not CommandFailure.JOURNAL_UNAVAILABLE:  # passing: a retry may run it
            self._results[command.command_id] = result
        while len(self._results) > RESULTS_KEPT:
            self._results.popitem(last=False)
        self.executed += 1
        return result

    async def _journaled(self, command: Command, service: str, sent_at: dt.datetime | None) -> CommandResult:
        """Claims the command in the journal, runs it, records the result."""
        kind = command.MESSAGE_TYPE
        self._service = service  # whose account a command without one trades
        try:
            claim = await self.journal.claim(command.command_id)
        except JournalUnavailableError as exc:
            log.error("command journal unreachable; command not executed", command_id=command.command_id)
            return _failed(command, CommandFailure.JOURNAL_UNAVAILABLE, f"{exc}; not executed")
        if not claim.new:
            if claim.result is not None:
                self.repeats += 1
                log.info(
                    "command handled before (journal); returning its result", command_id=command.command_id
                )
                return decode_as(claim.result, CommandResult).payload
            if isinstance(command, ClosePosition):
                self.unknown_outcomes += 1
                log.error(
                    "an earlier attempt of this close never finished; not closing again",
                    command_id=command.command_id,
                    symbol=command.symbol,
                )
                return await self._record(
                    _failed(
                        command,
                        CommandFailure.OUTCOME_UNKNOWN,
                        "an earlier attempt of this close started and never finished (the connection "
                        "manager stopped); not executed again: check the positions published",
                    )
                )
            if isinstance(command, PlaceOrder):
                # It may have been placed (and it may now be too old to place): look first.
                placed = await self._placed_before(command)
                if placed is not None:
                    return await self._record(placed)
            log.warning(
                "an earlier attempt never finished; running again (safe to repeat)",
                command=kind.value,
                command_id=command.command_id,
            )
        try:
            return await self._record(await self._run(command, service, sent_at))
        finally:
            # A log line costs a few tenths of a ms, and the order's fill is waiting: its hub
            # events are handled while the journal write is awaited, and its publish goes out
            # with the work already queued. The line runs after that work, not before it.
            self._log_placed(command)

    async def _placed_before(self, command: PlaceOrder) -> CommandResult | None:
        """The result of an earlier, interrupted attempt of this place that reached TopStepX: found
        by its tag (searched back from the exchange's time, never the host's). None when there is
        no such order; a refusal when the tag holds a different order; an unknown outcome when the
        look-up fails."""
        try:
            request = self._request(command, check=False)  # what may already be on the exchange
            order = await self.rest.find_order_by_tag(request.account_id, command.custom_tag)
        except (AccountSelectionError, ContractNotFoundError, CommandError) as exc:
            return _failed(command, CommandFailure.INVALID, str(exc))
        except GatewayError as exc:
            self.unknown_outcomes += 1
            return _failed(
                command,
                CommandFailure.OUTCOME_UNKNOWN,
                f"an earlier attempt of this place never finished and looking up its tag failed: {exc}",
            )
        if order is None or order.status == int(enums.OrderStatus.REJECTED):
            return None
        if not same_order(order, request):
            return _tag_in_use(command, f"order {order.id} ({describe_order(order)}), a different order")
        self.state.register_order(order.id, command)
        log.warning(
            "an earlier attempt of this place had placed it", command_id=command.command_id, order_id=order.id
        )
        return CommandResult(
            command_id=command.command_id, command=command.MESSAGE_TYPE, ok=True, exchange_order_id=order.id
        )

    async def _record(self, result: CommandResult) -> CommandResult:
        try:
            await self.journal.finish(result.command_id, encode(Envelope.wrap(result, "connection-manager")))
        except JournalUnavailableError as exc:
            # Executed, and the result is published; only a later copy of it would not find it.
            log.error("command result not journaled", command_id=result.command_id, error=str(exc))
        return result

    async def _run(self, command: Command, service: str, sent_at: dt.datetime | None) -> CommandResult:
        kind = command.MESSAGE_TYPE
        if sent_at is not None and self.wall_clock() - sent_at > self.max_age:
            self.stale += 1
            age = (self.wall_clock() - sent_at).total_seconds()
            log.error("stale command refused", command=kind.value, command_id=command.command_id, age_s=age)
            return _failed(
                command,
                CommandFailure.STALE,
                f"stale command: sent {age:.1f} s ago, more than {self.max_age.total_seconds():g} s;"
                " not executed",
            )
        self._service = service
        try:
            order_id: int | None
            if isinstance(command, PlaceOrder):
                order_id = await self._place(command)
            elif isinstance(command, ModifyOrder):
                order_id = await self._modify(command)
            elif isinstance(command, CancelOrder):
                order_id = await self._cancel(command)
            elif isinstance(command, ClosePosition):
                await self._close(command)
                order_id = None
            else:
                await self._update_sltp(command)
                order_id = None
            return CommandResult(
                command_id=command.command_id, command=kind, ok=True, exchange_order_id=order_id
            )
        except TagInUseError as exc:
            log.warning("place refused: its tag is in use", command_id=command.command_id, error=str(exc))
            return _failed(command, CommandFailure.TAG_IN_USE, exc.message or str(exc))
        except ApiError as exc:
            log.warning(
                "command refused by TopStepX",
                command=kind.value,
                command_id=command.command_id,
                error=str(exc),
            )
            return CommandResult(
                command_id=command.command_id,
                command=kind,
                ok=False,
                error_code=int(exc.code),
                message=exc.message or str(exc),
                exchange_order_id=exc.order_id,
                failure=CommandFailure.EXCHANGE_REFUSED,
            )
        except TagInUse as exc:
            log.warning("place refused: its tag is in use", command_id=command.command_id, error=str(exc))
            return _failed(command, CommandFailure.TAG_IN_USE, str(exc))
        except (CommandError, AccountSelectionError, ContractNotFoundError) as exc:
            return _failed(command, CommandFailure.INVALID, str(exc))
        except OutcomeUnknownError as exc:
            self.unknown_outcomes += 1
            log.error(
                "command outcome unknown", command=kind.value, command_id=command.command_id, error=str(exc)
            )
            return _failed(command, CommandFailure.OUTCOME_UNKNOWN, str(exc))
        except GatewayError as exc:
            log.error("command failed", command=kind.value, command_id=command.command_id, error=str(exc))
            return _failed(command, CommandFailure.GATEWAY_ERROR, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug: still a result, so the journal never keeps it "started"
            self.unknown_outcomes += 1
            log.exception("command failed unexpectedly", command=kind.value, command_id=command.command_id)
            return _failed(
                command,
                CommandFailure.OUTCOME_UNKNOWN,
                f"internal error ({type(exc).__name__}: {exc}); whether it reached TopStepX is unknown: "
                "check the orders and positions published",
            )

    # --- place / modify / cancel ------------------------------------------------------------------

    def _account(self, account_id: int | None) -> int:
        """The command's account, else the account of the service that sent it."""
        if account_id is not None:
            return self.accounts.resolve(account_id)
        return self.accounts.for_service(self._service).id

    def _request(self, command: PlaceOrder, *, check: bool = True) -> PlaceOrderRequest:
        """The ProjectX request of a place, after checking (``check``) that its prices and
        bracket distances are plausible for the instrument (``CommandError`` naming the field and
        the limit)."""
        account_id = self._account(command.account_id)
        contract_id = command.contract_id or self.contracts.contract_id(command.symbol)
        if check:
            try:
                check_place(
                    command,
                    self.contracts.instrument(contract_id),
                    self.state.normalizer.last_price(contract_id),
                )
            except ImplausibleOrderError as exc:
                raise CommandError(str(exc)) from None
        stop, target = brackets(command.side, command.stop_loss_ticks, command.take_profit_ticks)
        return PlaceOrderRequest(
            account_id=account_id,
            contract_id=contract_id,
            type=int(TO_PROJECTX_TYPE[command.order_type]),
            side=int(TO_PROJECTX_SIDE[command.side]),
            size=command.quantity,
            limit_price=command.limit_price,
            stop_price=command.stop_price,
            trail_price=command.trail_price,
            custom_tag=command.custom_tag,
            stop_loss_bracket=stop,
            take_profit_bracket=target,
        )

    async def _place(self, command: PlaceOrder) -> int:
        request = self._request(command)
        # The tag's order known to this process: this command's only when it is the same order.
        known = self.state.command_for_tag(command.custom_tag)
        if known is not None and not same_command(known, command):
            raise TagInUse(
                f"customTag {command.custom_tag!r} is already used by command {known.command_id!r} "
                f"(bot {known.bot_id}, {known.side.value} {known.quantity} {known.symbol}), a different "
                "order: not placed; give every order a new tag"
            )
        known_id = self.state.order_id_for_tag(command.custom_tag) if known is not None else None
        if known_id is not None:
            log.info("the same order was placed before; its result again", order_id=known_id)
            return known_id
        # Who the order belongs to is known before TopStepX answers: its events and fills can
        # arrive before the answer does.
        self.state.expect_order(command)
        try:
            order_id = await self.rest.place_order(request)
        except (ApiError, CircuitOpenError):
            # Refused (or the tag is another order's), or never sent: the tag holds nothing of ours.
            self.state.forget_expected(command)
            raise
        self.state.register_order(order_id, command)
        if (request.stop_loss_bracket or request.take_profit_bracket) and self.on_placed is not None:
            await self.on_placed(order_id, request.account_id, command)
        self._placed[command.command_id] = order_id  # logged once the result is recorded
        return order_id

    def _log_placed(self, command: Command) -> None:
        order_id = self._placed.pop(command.command_id, None)
        if order_id is not None and isinstance(command, PlaceOrder):
            after_queued_work(
                log.info,
                "order placed",
                order_id=order_id,
                custom_tag=command.custom_tag,
                bot_id=command.bot_id,
                symbol=command.symbol,
                side=command.side.value,
                quantity=command.quantity,
            )

    def _exchange_id(self, exchange_order_id: int | None, order_id: str | None) -> int:
        if exchange_order_id is not None:
            return exchange_order_id
        if order_id is not None:
            found = self.state.exchange_id_for(order_id)
            if found is not None:
                return found
            raise CommandError(f"no exchange order is known for order {order_id!r}")
        raise CommandError("the command names no order (exchangeOrderId or orderId)")

    def _check_prices(self, contract_id: str | None, **prices: float | None) -> None:
        if contract_id is None:
            return
        try:
            check_prices(self.contracts.instrument(contract_id), **prices)
        except ImplausibleOrderError as exc:
            raise CommandError(str(exc)) from None

    async def _modify(self, command: ModifyOrder) -> int:
        order_id = self._exchange_id(command.exchange_order_id, command.order_id)
        known = self.state.orders.get(order_id)
        self._check_prices(
            known.contract_id if known is not None else None,
            limitPrice=command.limit_price,
            stopPrice=command.stop_price,
            trailPrice=command.trail_price,
        )
        await self.rest.modify_order(
            ModifyOrderRequest(
                account_id=self._account(command.account_id),
                order_id=order_id,
                size=command.quantity,
                limit_price=command.limit_price,
                stop_price=command.stop_price,
                trail_price=command.trail_price,
            )
        )
        return order_id

    async def _cancel(self, command: CancelOrder) -> int:
        order_id = self._exchange_id(command.exchange_order_id, command.order_id)
        await self.rest.cancel_order(self._account(command.account_id), order_id)
        return order_id

    # --- positions --------------------------------------------------------------------------------

    async def _close(self, command: ClosePosition) -> None:
        account_id = self._account(command.account_id)
        contract_id = command.contract_id or self.contracts.contract_id(command.symbol)
        net = await self._net_position(account_id, contract_id)
        if net == 0:
            raise CommandError(f"no open position in {command.symbol} on account {account_id}")
        exit_side = enums.OrderSide.ASK if net > 0 else enums.OrderSide.BID
        protective = await self._protective_orders(account_id, contract_id, exit_side, command.bot_id)
        if command.quantity is None or command.quantity >= abs(net):
            # Close first: if the close fails, the stops still protect the position. TopStepX's
            # close leaves resting SL/TP orders in place, so they go next; one left behind could
            # open a new position, so a failure to cancel it is reported, not swallowed.
            await self.rest.close_position(account_id, contract_id)
            left = []
            for order in protective:
                try:
                    await self.rest.cancel_order(account_id, order.id)
                except GatewayError as exc:
                    left.append(f"{order.id} ({exc})")
            if left:
                raise CommandError(
                    f"position closed, but protective orders are still working: {', '.join(left)}"
                )
            return
        await self.rest.partial_close_position(account_id, contract_id, command.quantity)
        remaining = abs(net) - command.quantity
        for order in protective:
            if order.size > remaining:
                await self.rest.modify_order(
                    ModifyOrderRequest(account_id=account_id, order_id=order.id, size=remaining)
                )

    async def _update_sltp(self, command: UpdateStopLossTakeProfit) -> None:
        account_id = self._account(command.account_id)
        contract_id = self.contracts.contract_id(command.symbol)
        self._check_prices(contract_id, stopLoss=command.stop_loss, takeProfit=command.take_profit)
        net = await self._net_position(account_id, contract_id)
        if net == 0:
            raise CommandError(f"no open position in {command.symbol} on account {account_id}")
        exit_side = enums.OrderSide.ASK if net > 0 else enums.OrderSide.BID
        working = await self._protective_orders(account_id, contract_id, exit_side, command.bot_id)
        stops = [o for o in working if o.type in (enums.OrderType.STOP, enums.OrderType.TRAILING_STOP)]
        targets = [o for o in working if o.type == enums.OrderType.LIMIT]
        tag_base = f"{command.bot_id or 'cm'}-{command.command_id}"
        if command.stop_loss is not None:
            await self._move_or_place(
                account_id,
                contract_id,
                stops,
                exit_side,
                abs(net),
                OrderType.STOP,
                command.stop_loss,
                f"{tag_base}-sl",
            )
        if command.take_profit is not None:
            await self._move_or_place(
                account_id,
                contract_id,
                targets,
                exit_side,
                abs(net),
                OrderType.LIMIT,
                command.take_profit,
                f"{tag_base}-tp",
            )

    async def _protective_orders(
        self, account_id: int, contract_id: str, exit_side: enums.OrderSide, bot_id: str | None
    ) -> list[Order]:
        """The position's own working stops and targets: never another bot's entry on the exit side."""
        return [
            o
            for o in await self.rest.search_open_orders(account_id)
            if o.contract_id == contract_id and o.side == exit_side and _protects_position(o, bot_id)
        ]

    async def _move_or_place(
        self,
        account_id: int,
        contract_id: str,
        existing: list[Any],
        side: enums.OrderSide,
        size: int,
        kind: OrderType,
        price: float,
        tag: str,
    ) -> None:
        stop_price = price if kind is OrderType.STOP else None
        limit_price = price if kind is OrderType.LIMIT else None
        if existing:
            for order in existing:
                await self.rest.modify_order(
                    ModifyOrderRequest(
                        account_id=account_id,
                        order_id=order.id,
                        stop_price=stop_price,
                        limit_price=limit_price,
                    )
                )
            return
        await self.rest.place_order(
            PlaceOrderRequest(
                account_id=account_id,
                contract_id=contract_id,
                type=int(TO_PROJECTX_TYPE[kind]),
                side=int(side),
                size=size,
                stop_price=stop_price,
                limit_price=limit_price,
                custom_tag=tag,
            )
        )

    async def _net_position(self, account_id: int, contract_id: str) -> int:
        positions = await self.rest.search_open_positions(account_id)
        return sum(p.net_quantity for p in positions if p.contract_id == contract_id)

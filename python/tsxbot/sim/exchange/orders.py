"""The simulator's order record (what OrderModel and GatewayUserOrder are built from)."""

from __future__ import annotations

from tsxbot.gateway.enums import OrderSide, OrderStatus, OrderType
from tsxbot.sim.contracts import Contract


def side_sign(side: OrderSide) -> int:
    """+1 for a buy (Bid), -1 for a sell (Ask)."""
    return 1 if side is OrderSide.BID else -1


def opposite(side: OrderSide) -> OrderSide:
    return OrderSide.ASK if side is OrderSide.BID else OrderSide.BID


WORKING = frozenset({OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.SUSPENDED})


class BracketSpec:
    __slots__ = ("ticks", "type")

    def __init__(self, ticks: int, type: OrderType) -> None:
        self.ticks = ticks
        self.type = type


class SimOrder:
    __slots__ = (
        "account_id",
        "bracket_sl",
        "bracket_tp",
        "contract",
        "created_ns",
        "custom_tag",
        "fill_notional",
        "fill_volume",
        "id",
        "leg",
        "limit",
        "linked_id",
        "parent_id",
        "price_fixed",
        "queue_ahead",
        "side",
        "size",
        "status",
        "stop",
        "trail_ticks",
        "triggered",
        "type",
        "updated_ns",
        "water",
    )

    def __init__(
        self,
        id: int,
        account_id: int,
        contract: Contract,
        type: OrderType,
        side: OrderSide,
        size: int,
        created_ns: int,
        *,
        limit: int | None = None,
        stop: int | None = None,
        custom_tag: str | None = None,
        status: OrderStatus = OrderStatus.OPEN,
    ) -> None:
        self.id = id
        self.account_id = account_id
        self.contract = contract
        self.type = type
        self.side = side
        self.size = size
        self.limit = limit
        self.stop = stop
        self.trail_ticks: int | None = None
        self.status = status
        self.fill_volume = 0
        self.fill_notional = 0
        self.custom_tag = custom_tag
        self.created_ns = created_ns
        self.updated_ns = created_ns
        self.parent_id: int | None = None
        self.linked_id: int | None = None
        self.queue_ahead = 0
        self.triggered = False
        self.water: int | None = None
        self.bracket_sl: BracketSpec | None = None
        self.bracket_tp: BracketSpec | None = None
        self.price_fixed = False
        # A bracket child: its own leg (ticks from the entry and order type).
        self.leg: BracketSpec | None = None

    @property
    def remaining(self) -> int:
        return self.size - self.fill_volume

    @property
    def working(self) -> bool:
        return self.status in WORKING

    @property
    def avg_fill_ticks(self) -> float | None:
        return self.fill_notional / self.fill_volume if self.fill_volume else None

    @property
    def is_buy(self) -> bool:
        return self.side is OrderSide.BID

    def acts_as_limit(self) -> bool:
        """Rests on the book at ``limit`` (limit, join, or a triggered stop-limit)."""
        if self.type in (OrderType.LIMIT, OrderType.JOIN_BID, OrderType.JOIN_ASK):
            return True
        return self.type is OrderType.STOP_LIMIT and self.triggered

    def acts_as_market(self) -> bool:
        if self.type is OrderType.MARKET:
            return True
        return self.type in (OrderType.STOP, OrderType.TRAILING_STOP) and self.triggered

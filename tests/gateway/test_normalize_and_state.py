"""ProjectX entities -> tsxbot messages, and the exchange mirror's once-only publishing."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.commands import brackets
from tsxbot.connection_manager.exchange_state import ExchangeState, bot_of_tag
from tsxbot.gateway.models import Order, Position, Trade
from tsxbot.gateway.normalize import Normalizer, UnknownValueError
from tsxbot.messages import Aggressor, DomType, OrderStatus, OrderType, PlaceOrder, PositionUpdate, Side

NOW = dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC)
CONTRACT = "CON.F.US.MES.Z26"


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_config(DEFAULTS_DIR, env={}).instruments)


def order(**fields: object) -> Order:
    base: dict[str, object] = {
        "id": 9001,
        "accountId": 7,
        "contractId": CONTRACT,
        "creationTimestamp": "2026-11-24T15:00:00.1234567+00:00",
        "status": 1,
        "type": 1,
        "side": 0,
        "size": 2,
        "limitPrice": 6001.25,
        "fillVolume": 0,
        "customTag": "bot_2-00000001",
    }
    base.update(fields)
    return msgspec.convert(base, Order)


def trade(**fields: object) -> Trade:
    base: dict[str, object] = {
        "id": 55,
        "accountId": 7,
        "contractId": CONTRACT,
        "creationTimestamp": "2026-11-24T15:00:01Z",
        "price": 6001.25,
        "side": 0,
        "size": 2,
        "orderId": 9001,
        "fees": 0.74,
        "profitAndLoss": None,
        "voided": False,
    }
    base.update(fields)
    return msgspec.convert(base, Trade)


def test_bracket_sign_convention() -> None:
    stop, target = brackets(Side.BUY, 12, 24)
    assert (stop.ticks, stop.type, target.ticks, target.type) == (-12, 4, 24, 1)  # type: ignore[union-attr]
    stop, target = brackets(Side.SELL, 12, 24)
    assert (stop.ticks, target.ticks) == (12, -24)  # type: ignore[union-attr]
    assert brackets(Side.BUY, None, None) == (None, None)
    only_target = brackets(Side.SELL, None, 24)
    assert only_target[0] is None
    assert only_target[1] is not None
    assert only_target[1].ticks == -24


def test_order_normalized(normalizer: Normalizer) -> None:
    update = normalizer.order(order(status=2, fillVolume=2, filledPrice=6001.25))
    assert update.status is OrderStatus.FILLED
    assert update.order_type is OrderType.LIMIT
    assert update.side is Side.BUY
    assert update.symbol == "MES"
    assert update.average_fill_price == 6001.25
    assert update.updated_at == dt.datetime(2026, 11, 24, 15, 0, 0, 123457, tzinfo=dt.UTC)


def test_naive_timestamps_are_utc() -> None:
    assert order(creationTimestamp="2026-11-24T15:00:00").creation_timestamp.tzinfo is dt.UTC
    # An optional timestamp too (the fields that may hold one are read once per class).
    updated = order(updateTimestamp="2026-11-24T15:00:01").update_timestamp
    assert updated == dt.datetime(2026, 11, 24, 15, 0, 1, tzinfo=dt.UTC)


def test_unknown_enum_value_is_reported_not_guessed(normalizer: Normalizer) -> None:
    with pytest.raises(UnknownValueError, match="order status 42"):
        normalizer.order(order(status=42))


def test_quotes_merge_partial_updates(normalizer: Normalizer) -> None:
    full = {
        "symbol": "F.US.MES",
        "lastPrice": 6001.5,
        "bestBid": 6001.25,
        "bestAsk": 6001.5,
        "volume": 10,
        "timestamp": "2026-11-24T15:00:00Z",
    }
    first = normalizer.quote(CONTRACT, full, NOW)
    second = normalizer.quote(CONTRACT, {"bestBid": 6001.5, "timestamp": "2026-11-24T15:00:01Z"}, NOW)
    assert (first.bid, first.ask, first.last) == (6001.25, 6001.5, 6001.5)
    assert (second.bid, second.ask, second.last, second.volume) == (6001.5, 6001.5, 6001.5, 10)


def test_trades_and_depth(normalizer: Normalizer) -> None:
    trades = normalizer.trades(
        CONTRACT,
        [
            {
                "symbolId": "F.US.MES",
                "price": 6001.5,
                "timestamp": "2026-11-24T15:00:00Z",
                "type": 1,
                "volume": 3,
            },
            {"price": 6001.5, "volume": 0, "type": 0},
        ],
        NOW,
    )
    assert len(trades) == 1
    assert (trades[0].aggressor, trades[0].size, trades[0].symbol) == (Aggressor.SELL, 3, "MES")
    depth = normalizer.depth(
        CONTRACT,
        [
            {"type": 6, "price": 0, "volume": 0},
            {"type": 2, "price": 6001.25, "volume": 40, "currentVolume": 40},
        ],
        NOW,
    )
    assert [e.kind for e in depth.entries] == [DomType.RESET, DomType.BID]


def test_state_publishes_each_change_once_and_ignores_late_events(normalizer: Normalizer) -> None:
    state = ExchangeState(normalizer)
    state.register_order(
        9001,
        PlaceOrder(
            command_id="c1",
            order_id="o1",
            bot_id="bot_2",
            custom_tag="bot_2-00000001",
            symbol="MES",
            side=Side.BUY,
            quantity=2,
        ),
    )
    opened = state.apply_order(order())
    assert opened is not None
    assert (opened.bot_id, opened.order_id) == ("bot_2", "o1")
    assert state.apply_order(order()) is None  # the same event again
    filled = state.apply_order(order(status=2, fillVolume=2, filledPrice=6001.25))
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert state.apply_order(order(status=1)) is None  # a late "open" after "filled"
    fill = state.apply_trade(trade())
    assert fill is not None
    assert (fill.bot_id, fill.order_id, fill.realized_pnl) == ("bot_2", "o1", None)
    assert state.apply_trade(trade()) is None  # the same fill from reconciliation
    assert state.exchange_id_for("o1") == 9001


def test_bracket_legs_belong_to_the_parents_bot(normalizer: Normalizer) -> None:
    state = ExchangeState(normalizer)
    state.register_order(
        9001,
        PlaceOrder(
            command_id="c1",
            order_id="o1",
            bot_id="bot_2",
            custom_tag="bot_2-00000001",
            symbol="MES",
            side=Side.BUY,
            quantity=2,
        ),
    )
    leg = state.apply_order(order(id=9002, type=4, side=1, customTag=None, parentOrderId=9001, status=8))
    assert leg is not None
    assert leg.bot_id == "bot_2"
    assert bot_of_tag("bot_3-00000042") == "bot_3"
    assert bot_of_tag(None) is None


def reconcile(state: ExchangeState, account_id: int, open_positions: list[Position]) -> list[PositionUpdate]:
    updates = []
    for position in state.positions_to_reconcile(account_id, open_positions, NOW):
        update = state.apply_position(position, NOW)
        if update is not None:
            updates.append(update)
    state.commit()
    return updates


def test_reconcile_positions_flattens_what_the_exchange_no_longer_has(normalizer: Normalizer) -> None:
    state = ExchangeState(normalizer)
    long2 = msgspec.convert(
        {
            "id": 1,
            "accountId": 7,
            "contractId": CONTRACT,
            "type": 1,
            "size": 2,
            "averagePrice": 6001.25,
            "creationTimestamp": "2026-11-24T15:00:00Z",
        },
        Position,
    )
    assert state.apply_position(long2, NOW) is not None
    assert state.net_position(7, CONTRACT) == 2
    updates = reconcile(state, 7, [])
    assert [(u.contract_id, u.net_quantity) for u in updates] == [(CONTRACT, 0)]
    assert state.net_position(7, CONTRACT) == 0
    assert reconcile(state, 7, []) == []
    short = msgspec.convert(
        {"id": 2, "accountId": 7, "contractId": CONTRACT, "type": 2, "size": 1, "averagePrice": 6000.0},
        Position,
    )
    assert [u.net_quantity for u in reconcile(state, 7, [short])] == [-1]


def test_a_change_whose_publish_failed_is_forgotten_and_found_again(normalizer: Normalizer) -> None:
    """rollback(): the next event (or reconciliation) sees the difference again and says it."""
    state = ExchangeState(normalizer)
    first = order(status=1, size=3, fillVolume=0)
    assert state.apply_order(first) is not None
    state.commit()
    filled = order(status=2, size=3, fillVolume=3)
    assert state.apply_order(filled) is not None
    state.rollback()  # its publish failed
    assert state.apply_order(filled) is not None  # said again
    state.commit()
    assert state.apply_order(filled) is None  # and only once it was said
    long1 = msgspec.convert(
        {"id": 1, "accountId": 7, "contractId": CONTRACT, "type": 1, "size": 1, "averagePrice": 6000.0},
        Position,
    )
    assert state.apply_position(long1, NOW) is not None
    state.rollback()
    assert state.net_position(7, CONTRACT) == 0
    assert state.apply_position(long1, NOW) is not None
    state.commit()
    assert state.net_position(7, CONTRACT) == 1
    assert state.apply_trade(trade()) is not None
    state.rollback()
    assert state.last_fill_time == {}
    assert state.apply_trade(trade()) is not None  # the fill goes out after all, once
    state.commit()
    assert state.apply_trade(trade()) is None


def test_an_older_snapshot_never_moves_an_order_back(normalizer: Normalizer) -> None:
    state = ExchangeState(normalizer)
    assert state.apply_order(order(status=1, size=3, fillVolume=2)) is not None
    assert state.apply_order(order(status=1, size=3, fillVolume=1)) is None  # taken before the last fill
    assert state.orders[9001].fill_volume == 2


def test_a_position_belongs_to_the_one_bot_whose_fills_hold_it(normalizer: Normalizer) -> None:
    state = ExchangeState(normalizer)

    def placed(exchange_id: int, bot: str) -> None:
        tag = f"{bot}-{exchange_id}"
        state.register_order(
            exchange_id,
            PlaceOrder(
                command_id=f"c{exchange_id}",
                order_id=f"o{exchange_id}",
                bot_id=bot,
                custom_tag=tag,
                symbol="MES",
                side=Side.BUY,
                quantity=1,
            ),
        )

    def position(size: int) -> Position:
        body = {
            "id": 1,
            "accountId": 7,
            "contractId": CONTRACT,
            "type": 1,
            "size": size,
            "averagePrice": 6000.0,
        }
        return msgspec.convert(body, Position)

    placed(9001, "manual")
    placed(9002, "bot_3")
    state.apply_trade(trade(id=1, orderId=9001, size=1))
    update = state.apply_position(position(1), NOW)
    assert update is not None and (update.bot_id, update.last_confirmed) == ("manual", NOW)
    state.apply_trade(trade(id=2, orderId=9002, size=1))
    shared = state.apply_position(position(2), NOW)
    assert shared is not None and shared.bot_id is None  # two bots hold it
    state.apply_trade(trade(id=3, orderId=9002, size=1, side=1))  # bot_3 sells its contract
    mine = state.apply_position(position(1), NOW + dt.timedelta(seconds=1))
    assert mine is not None and mine.bot_id == "manual"
    assert mine.last_confirmed == NOW + dt.timedelta(seconds=1)
    assert state.position_update(position(1), NOW, stale=True).stale is True
    assert state.apply_position(position(0), NOW) is not None  # flat: the ledger starts again
    assert state.position_bot(7, CONTRACT) is None

"""The ledger: realized/open P&L per bot, strategy and account; fees; contract specs; slippage."""

from __future__ import annotations

import pytest

from support.strategy_feed import instrument
from tsxbot.config.simulator import ExchangeSettings
from tsxbot.messages.enums import Side
from tsxbot.pnl import (
    ContractSpec,
    Execution,
    Ledger,
    OrderOutcome,
    UnknownSymbolError,
    default_fee_per_side,
    fill_rates,
    mark_price,
    slippage,
    spec_for,
)

SPECS = {
    "ES": ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40),
    "MNQ": ContractSpec(symbol="MNQ", point_value=2.0, tick_size=0.25, fee_per_side=0.37),
}


def ex(
    n: int, bot: str, strategy: str, symbol: str, side: Side, qty: int, price: float, acct: int = 1
) -> Execution:
    return Execution(
        fill_id=str(n), bot_id=bot, strategy=strategy, symbol=symbol, side=side, quantity=qty,
        price=price, ts_ns=n, account_id=acct,
    )  # fmt: skip


def test_per_bot_strategy_and_account() -> None:
    ledger = Ledger(SPECS)
    ledger.apply(ex(1, "a", "orb", "ES", Side.BUY, 1, 5000.0))
    ledger.apply(ex(2, "a", "orb", "ES", Side.SELL, 1, 5001.0))
    ledger.apply(ex(3, "b", "orb", "MNQ", Side.SELL, 2, 20000.0))
    ledger.apply(ex(4, "c", "ema", "ES", Side.BUY, 1, 5000.0, acct=2))
    ledger.mark("MNQ", 19990.0)
    ledger.mark("ES", 5002.0)
    bots = ledger.by_bot()
    assert bots["a"].realized == pytest.approx(50.0)
    assert bots["a"].fees == pytest.approx(2.80)
    assert bots["a"].trades == 1
    assert bots["b"].open == pytest.approx(10 * 2 * 2)
    assert bots["b"].position == -2
    assert bots["c"].open == pytest.approx(100.0)
    strategies = ledger.by_strategy()
    assert strategies["orb"].net == pytest.approx(50 - 2.8 + 40 - 0.74)
    accounts = ledger.by_account()
    assert accounts["2"].net == pytest.approx(100 - 1.4)
    assert ledger.total().net == pytest.approx(sum(b.net for b in bots.values()))
    with pytest.raises(UnknownSymbolError, match="'NQ'"):
        ledger.apply(ex(5, "a", "orb", "NQ", Side.BUY, 1, 1.0))


def test_mark_price_is_mid_else_last() -> None:
    assert mark_price(1.0, 2.0, 5.0) == 1.5
    assert mark_price(None, 2.0, 5.0) == 5.0
    assert mark_price(None, None, None) is None


def test_fees_come_from_the_instrument_else_the_simulator() -> None:
    es = instrument("ES")
    assert spec_for(es).fee_per_side == pytest.approx(default_fee_per_side("ES")) == pytest.approx(1.40)
    assert spec_for(instrument("MES")).fee_per_side == pytest.approx(0.37)
    import msgspec

    configured = msgspec.structs.replace(ExchangeSettings(), fees={"ES": 1.10}, commission_per_side=0.25)
    assert spec_for(es, configured).fee_per_side == pytest.approx(1.35)
    own = msgspec.structs.replace(es, fee_per_side=2.25)
    assert spec_for(own).fee_per_side == 2.25
    with pytest.raises(ValueError, match="point_value must be > 0"):
        ContractSpec(symbol="X", point_value=0.0, tick_size=0.25, fee_per_side=0.0)


def test_slippage_and_fill_rate() -> None:
    buy = slippage(
        fill_id="1", bot_id="a", spec=SPECS["ES"], side=Side.BUY, quantity=2, fill_price=5000.50,
        fill_ns=3_000_000, reference_price=5000.0, signal_ns=1_000_000,
    )  # fmt: skip
    assert (buy.points, buy.ticks, buy.dollars, buy.signal_to_fill_ms) == (0.5, 2.0, 50.0, 2.0)
    sell = slippage(
        fill_id="2", bot_id="a", spec=SPECS["ES"], side=Side.SELL, quantity=1, fill_price=5000.50,
        fill_ns=0, reference_price=5000.0, signal_ns=0,
    )  # fmt: skip
    assert sell.ticks == -2.0  # sold above the reference: better
    rates = fill_rates(
        [
            OrderOutcome(bot_id="a", symbol="ES", final=True, filled=True),
            OrderOutcome(bot_id="a", symbol="ES", final=True, filled=False),
            OrderOutcome(bot_id="a", symbol="ES", final=False, filled=False),
            OrderOutcome(bot_id="b", symbol="ES", final=True, filled=True),
        ]
    )
    assert [(r.bot_id, r.orders, r.filled, r.rate) for r in rates] == [("a", 2, 1, 0.5), ("b", 1, 1, 1.0)]


def test_mark_to_market_drawdown_and_daily_figures() -> None:
    ledger = Ledger(SPECS)
    ledger.apply(ex(1, "a", "orb", "ES", Side.BUY, 1, 5000.0))  # net -1.40
    ledger.mark("ES", 5004.0)  # +200 - 1.40
    ledger.mark("ES", 4998.0)  # -100 - 1.40: 300 below the peak
    ledger.apply(ex(2, "a", "orb", "ES", Side.SELL, 1, 5001.0))  # +50 - 2.80
    assert ledger.mtm.max_drawdown == pytest.approx(300.0)
    assert ledger.mtm.current == pytest.approx(198.6 - 47.2)
    import datetime as dt

    [(bot, figures)] = ledger.daily_by_bot(dt.date(1970, 1, 1)).items()
    assert (bot, figures.realized, figures.fees, figures.trades) == ("a", 50.0, pytest.approx(2.8), 1)
    assert ledger.daily_total(dt.date(1970, 1, 2)) == type(figures)()


def test_the_day_so_far_per_bot_and_for_the_account() -> None:
    import datetime as dt

    from tsxbot.pnl.periods import CHICAGO
    from tsxbot.sessions import to_ns

    def at(day: int, hour: int) -> int:
        return to_ns(dt.datetime(2026, 3, day, hour, tzinfo=CHICAGO))

    def fx(n: int, bot: str, side: Side, price: float, ts: int) -> Execution:
        return Execution(
            fill_id=str(n), bot_id=bot, symbol="ES", side=side, quantity=1, price=price, ts_ns=ts, fees=0.0
        )

    ledger = Ledger(SPECS)
    ledger.apply(fx(1, "a", Side.BUY, 5000.0, at(3, 9)))
    ledger.mark("ES", 5002.0, at(3, 10))  # a: +100
    ledger.mark("ES", 4999.0, at(3, 11))  # a: -50, 150 below its peak
    ledger.apply(fx(2, "a", Side.SELL, 5001.0, at(3, 12)))  # a: +50 realized, a win
    ledger.apply(fx(3, "b", Side.SELL, 5001.0, at(3, 13)))
    ledger.apply(fx(4, "b", Side.BUY, 5003.0, at(3, 14)))  # b: -100, a loss
    a = ledger.day_pnl("a")
    assert (a.day, a.realized, a.open, a.trades, a.wins, a.losses) == (
        dt.date(2026, 3, 3),
        50.0,
        0.0,
        1,
        1,
        0,
    )
    assert (a.drawdown, a.max_drawdown) == (pytest.approx(50.0), pytest.approx(150.0))
    account = ledger.day_pnl()
    assert (account.realized, account.trades, account.wins, account.losses) == (-50.0, 2, 1, 1)
    assert account.max_drawdown == pytest.approx(150.0)  # +100 at the peak, -50 at the end
    # 17:00 CT starts the next trading day: its figures start from zero.
    ledger.apply(fx(5, "a", Side.BUY, 5003.0, at(3, 18)))
    ledger.mark("ES", 5004.0, at(3, 19))
    a2 = ledger.day_pnl("a")
    assert (a2.day, a2.realized, a2.open, a2.trades, a2.max_drawdown) == (
        dt.date(2026, 3, 4),
        0.0,
        50.0,
        0,
        0.0,
    )
    assert ledger.day_pnl("a", dt.date(2026, 3, 3)).realized == 50.0

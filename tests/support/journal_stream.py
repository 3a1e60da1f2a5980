"""A deterministic day of fills for two bots (the 'bus stream' of the journal crash test)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from tsxbot.messages.enums import Side
from tsxbot.messages.orders import Fill
from tsxbot.pnl import ContractSpec

SPECS = {
    "ES": ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40),
    "MNQ": ContractSpec(symbol="MNQ", point_value=2.0, tick_size=0.25, fee_per_side=0.37),
}
DAY_START = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)  # Tuesday 08:30 CT


def make_stream(n: int = 120, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    price = {"ES": 6000.0, "MNQ": 21000.0}
    for i in range(n):
        bot, symbol = rng.choice([("es_bot", "ES"), ("mnq_bot", "MNQ")])
        price[symbol] += rng.randint(-8, 8) * 0.25
        qty = rng.randint(1, 3)
        out.append(
            {
                "fill_id": 1000 + i,
                "bot": bot,
                "symbol": symbol,
                "side": rng.choice(["BUY", "SELL"]),
                "quantity": qty,
                "price": price[symbol],
                "fees": round(SPECS[symbol].fee_per_side * qty, 2),
                "timestamp": (DAY_START + dt.timedelta(minutes=3 * i)).isoformat(),
            }
        )
    return out


def fills_from(events: list[dict[str, Any]]) -> Iterator[tuple[Fill, str]]:
    for e in events:
        yield (
            Fill(
                fill_id=e["fill_id"],
                exchange_order_id=e["fill_id"],
                account_id=1,
                contract_id=f"CON.F.US.{e['symbol']}.Z26",
                symbol=e["symbol"],
                side=Side(e["side"]),
                quantity=e["quantity"],
                price=e["price"],
                fees=e["fees"],
                timestamp=dt.datetime.fromisoformat(e["timestamp"]),
            ),
            e["bot"],
        )

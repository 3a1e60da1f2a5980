"""The P&L computed from fills equals the simulator account's balance change to the cent.

Three bots trade ES, MES and NQ on a real simulator (clock pinned) with scaling in and out and a
reversal through zero; every fill goes through the journal (a real SQLite file) and back, and the
journal's realized P&L net of fees equals the balance change, each bot's trades cover exactly its
fills.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from support.sim import COMBINE, ES, MES, NQ, running_sim
from tsxbot.journal import FillRecord, JournalStore, execution, open_journal
from tsxbot.pnl import Ledger, spec_for

SYMBOL = {ES: "ES", MES: "MES", NQ: "NQ"}

# (bot, contract, side 0 buy / 1 sell, size)
PLAN = [
    ("es_bot", ES, 0, 1),
    ("nq_bot", NQ, 1, 1),
    ("es_bot", ES, 0, 1),  # scale in
    ("mes_bot", MES, 0, 1),
    ("es_bot", ES, 1, 1),  # scale out
    ("nq_bot", NQ, 0, 2),  # reversal through zero: long 1
    ("mes_bot", MES, 1, 1),
    ("es_bot", ES, 1, 1),  # flat
    ("nq_bot", NQ, 1, 1),  # flat
]


async def test_journal_pnl_equals_the_simulator_balance_change(tmp_path: Path) -> None:
    async with running_sim() as s:
        before = await s.api("Account/search", {"onlyActiveAccounts": True})
        start_balance = next(a["balance"] for a in before["accounts"] if a["id"] == COMBINE)
        bot_of_order: dict[int, str] = {}
        for i, (bot, contract, side, size) in enumerate(PLAN):
            body = await s.place(contractId=contract, side=side, size=size, customTag=f"{bot}-{i}")
            assert body["success"], body
            bot_of_order[body["orderId"]] = bot
            await s.admin("clock", {"action": "advance", "seconds": 90})
        after = await s.api("Account/search", {"onlyActiveAccounts": True})
        end_balance = next(a["balance"] for a in after["accounts"] if a["id"] == COMBINE)
        trades = (
            await s.api("Trade/search", {"accountId": COMBINE, "startTimestamp": "2026-11-24T00:00:00Z"})
        )["trades"]
        instruments = s.config.instruments

    engine = open_journal(f"sqlite:///{tmp_path / 'journal.db'}")
    store = JournalStore(engine)
    records = [
        FillRecord(
            key=str(t["id"]),
            ts_ns=int(dt.datetime.fromisoformat(t["creationTimestamp"]).timestamp() * 1e9),
            account_id=COMBINE,
            bot_id=bot_of_order[t["orderId"]],
            symbol=SYMBOL[t["contractId"]],
            contract_id=t["contractId"],
            side="BUY" if t["side"] == 0 else "SELL",
            quantity=t["size"],
            price=t["price"],
            fees=t["fees"] + (t.get("commissions") or 0.0),
            exchange_order_id=t["orderId"],
        )
        for t in trades
        if not t["voided"]
    ]
    assert sum(r.quantity for r in records) == sum(size for *_, size in PLAN)
    assert store.write(records) == len(records)
    assert store.write(records) == 0  # a replay writes nothing twice

    ledger = Ledger(lambda symbol: spec_for(instruments.get(symbol)))
    closed = ledger.apply_all(execution(f) for f in store.fills())
    engine.dispose()
    total = ledger.total()
    assert total.position == 0
    assert total.realized != 0  # prices moved: the comparison is not 0 == 0 minus fees
    assert round(total.realized - total.fees, 2) == pytest.approx(
        round(end_balance - start_balance, 2), abs=0.001
    )
    # The simulator's own realized P&L per fill agrees with the FIFO matching.
    assert total.realized == pytest.approx(sum(t["profitAndLoss"] or 0.0 for t in trades), abs=0.005)
    # Fees by default are the simulator's (the instruments table sets none).
    assert total.fees == pytest.approx(sum(r.fees for r in records), abs=1e-9)
    for bot in ("es_bot", "nq_bot", "mes_bot"):
        fills = {r.key for r in records if r.bot_id == bot}
        in_trades = {f for t in closed if t.bot_id == bot for f in t.fill_ids}
        assert in_trades == fills
    assert [t.bot_id for t in closed].count("nq_bot") == 2  # the reversal made two trades

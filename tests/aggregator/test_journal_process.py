"""``tsxbot aggregator`` as its own process, with its journal (the default SQLite file in its
working directory), killed with SIGKILL in the middle of a trade and started again: every fill of
the day is in the journal once, the day's figures after the restart equal those before, and the
journal's realized P&L net of fees equals the simulator account's balance change to the cent."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.agg_process import (
    api,
    assert_journal_is_the_day,
    journal_day,
    long_position,
    out_and_in_again,
    out_and_stop,
)
from support.bus_helpers import eventually
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import Fill


@pytest.mark.slow
async def test_kill_9_mid_trade_loses_no_journal_row_and_doubles_none(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim) as crash:
        await out_and_in_again(crash.h)
        before = (await api(crash.process, "/status"))["pnl"]
        crash.kill()  # SIGKILL mid-trade
        # The last fills' rows may still have been gathering (``journal.quietMs``, and held while
        # an order is on its way, ``journal.maxDelayMs``): their batches are unacknowledged.
        journal = tmp_path / "tsxbot-journal.db"
        fills = {str(f.fill_id) for f in crash.h.of("bot_2", Fill)}
        keys, trades, _ = journal_day(journal)
        assert len(fills) == 3 and keys <= fills and trades <= 1, (keys, trades)

        crash.restart()
        # Delivered again, every fill's row is written, once.
        await eventually(lambda: journal_day(journal)[:2] == (fills, 1), within=15, what="the rows written")
        after = (await crash.status_until(lambda s: bool(s["pnl"]["balance"] > 0)))["pnl"]
        # The day's P&L less the open position's (the price moves) is the same after the restart.
        assert after["daily"] - after["open"] == pytest.approx(before["daily"] - before["open"], abs=0.005)
        assert before["daily"] - before["open"] == pytest.approx(
            before["realized"] - before["fees"], abs=0.005
        )
        end_balance = await out_and_stop(crash)
    assert_journal_is_the_day(crash, end_balance)

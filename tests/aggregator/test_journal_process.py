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
from support.redis_server import RedisServer
from support.sim import SimHandle


@pytest.mark.slow
async def test_kill_9_mid_trade_loses_no_journal_row_and_doubles_none(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim) as crash:
        await out_and_in_again(crash.h)
        before = (await api(crash.process, "/status"))["pnl"]
        crash.kill()  # SIGKILL mid-trade
        keys, trades, _ = journal_day(tmp_path / "tsxbot-journal.db")
        assert (len(keys), trades) == (3, 1)

        crash.restart()
        after = (await crash.status_until(lambda s: bool(s["pnl"]["balance"] > 0)))["pnl"]
        # The day's P&L less the open position's (the price moves) is the same after the restart.
        assert after["daily"] - after["open"] == pytest.approx(before["daily"] - before["open"], abs=0.005)
        assert before["daily"] - before["open"] == pytest.approx(
            before["realized"] - before["fees"], abs=0.005
        )
        end_balance = await out_and_stop(crash)
    assert_journal_is_the_day(crash, end_balance)

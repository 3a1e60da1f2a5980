"""The backtester: a bot's strategy on history, through the same code as live.

``Backtest(settings, config, fills)`` runs one bot (its ``BotSettings`` from the config loader):

- the same ``StrategyEngine`` (strategy class, warm-up, gate, sizing, exits) the bot runtime
  drives, fed one-minute bars combined into the strategy's timeframe by the bot's
  ``BarResampler``; from a trades recording every print feeds the strategy's order flow first,
  as live; from bars, the flow is approximated from each bar as the bot's warm-up does;
- the bot's own order building (``tsxbot.bots.orders``: entries with their bracket in ticks,
  reduce-only exits) and the aggregator's account checks: the Rust ``RiskEngine`` with the
  global ``risk`` limits and the bot's limits, the bracket priced by ``tsxbot.aggregator.sltp``;
  an entry refused there is given back to the engine (``entry_rejected``), as live;
- only the clock (each bar's close) and the fills (``tsxbot.backtest.fill_model``: the bars
  model) are the backtest's own. The bracket is placed from the fill price, as ProjectX places
  it, and the exit manager follows it as the bot follows the exchange's bracket legs.

At the end of the data an open position is closed at the last bar's close (role ``end of data``)
and orders still waiting for a next bar are counted (``unfilled_at_end``), never filled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import ClassVar

import msgspec
import numpy as np

from tsxbot.aggregator.sltp import BracketError, safe_prices
from tsxbot.backtest.data import MinuteBars
from tsxbot.backtest.fill_model import FillSettings, bracket_hit, market_fill
from tsxbot.backtest.result import (
    SCHEMA_VERSION,
    BacktestResult,
    BacktestTrade,
    DataSpan,
    FillRole,
    FillRow,
    SkipRow,
    Timing,
)
from tsxbot.bars import timeframe_seconds
from tsxbot.bots.orders import entry_submission, exit_submission
from tsxbot.bots.resample import BarResampler
from tsxbot.config import Config
from tsxbot.config.loader import BotSettings
from tsxbot.messages import OrderSubmission, Side
from tsxbot.pnl.columns import TradeColumns
from tsxbot.pnl.contract import spec_for
from tsxbot.pnl.execution_record import Execution
from tsxbot.pnl.matching import FifoMatcher, RoundTrip
from tsxbot.pnl.metrics import TradeMetrics, compute
from tsxbot.pnl.periods import CHICAGO, DAY_STARTS
from tsxbot.report.model import report_from_trades
from tsxbot.risk import OrderRequest, RiskEngine, bot_limits_from_config, limits_from_config, message_reason
from tsxbot.sessions import from_ns, to_ns
from tsxbot.strategy.bar import BarLike, ClosedBar
from tsxbot.strategy.engine import Outcome, StrategyEngine
from tsxbot.strategy.registry import load_strategy
from tsxbot.strategy.signals import Exit, MoveStop, MoveTarget
from tsxbot.strategy.sizing import Sized
from tsxbot.strategy.skip import Skip

__all__ = ["Backtest", "StrategyError"]

Progress = Callable[[int], None]
# Progress is reported every this many bars.
PROGRESS_EVERY = 5_000


class StrategyError(RuntimeError):
    """The strategy raised on a bar (a live bot would go to ERROR there); the message names the bar."""


# One fill as the run keeps it: (fill id, UTC ns, buy, quantity, price, fees, role, reason, order
# id, the stop loss it opened with).
_FillRecord = tuple[str, int, bool, int, float, float, FillRole, str, str, float | None]


class _Order(msgspec.Struct, kw_only=True):
    """A market order waiting for the next bar's open."""

    submission: OrderSubmission
    reason: str


class _Bracket(msgspec.Struct, kw_only=True):
    """One entry's working stop and target at the exchange (OCO)."""

    long: bool
    quantity: int
    stop: float | None
    target: float | None
    stop_reason: str
    placed_ns: int


class Backtest:
    # The bars model follows the open trade's excursions at the bars' highs and lows.
    measures_bar_excursions: ClassVar[bool] = True

    def __init__(
        self,
        settings: BotSettings,
        config: Config,
        fills: FillSettings | None = None,
        *,
        account_checks: bool = True,
    ) -> None:
        self.settings = settings
        self.config = config
        self.fill_settings = fills or FillSettings()
        self.account_checks = account_checks
        self.bot_id = settings.id
        self.instrument = settings.instrument
        self.symbol = settings.instrument.symbol
        self.tick = settings.instrument.tick_size
        self.spec = spec_for(settings.instrument, config.global_config.simulator.exchange)
        self._fee_per_side = self.spec.fee_per_side
        self._point_value = self.spec.point_value
        self._fill_prefix = f"{self.bot_id}-"  # a fill's id: the bot and the fill's number
        self._strategy_type = settings.config.strategy.type
        self.strategy_class = load_strategy(self._strategy_type)
        # Built once (the time zone's transitions take a while); each run gets a fresh engine.
        self.limits = limits_from_config(
            config.global_config.risk,
            config.instruments,
            {self.bot_id: bot_limits_from_config(settings.config, settings.params)},
        )

    # --- one run ----------------------------------------------------------------------------------

    def run(
        self,
        bars: MinuteBars,
        *,
        warmup: MinuteBars | None = None,
        source: str = "",
        progress: Progress | None = None,
    ) -> BacktestResult:
        started = time.perf_counter()
        with _collector_paused():
            unfilled = self._trade(bars, warmup, progress)
            return self._result(bars, warmup, source, unfilled, started, time.perf_counter())

    def summary(self, bars: MinuteBars, *, warmup: MinuteBars | None = None) -> TradeMetrics:
        """The same run's trade metrics alone (``run(...).report.summary``), without the trade
        list, the fills and the report's other tables: what an optimiser's trial is scored on."""
        with _collector_paused():
            self._trade(bars, warmup, None)
            return compute(
                self.round_trips,
                capital=self.config.global_config.risk.starting_balance,
                mtm_equity=self._mtm,
            )

    def _prepare(self, bars: MinuteBars) -> None:
        """Before a run (the exchange model opens its exchange here)."""

    def _trade(self, bars: MinuteBars, warmup: MinuteBars | None, progress: Progress | None) -> int:
        """The run itself; returns the orders still waiting for a next bar at the end."""
        self._prepare(bars)
        settings = self.settings
        self.engine = StrategyEngine(
            self.strategy_class, settings.params, settings.config, self.instrument, build_bars=False
        )
        self.resampler = BarResampler(timeframe_seconds(settings.params.timeframe))
        self.risk = RiskEngine(self.limits)
        self.balance = self.config.global_config.risk.starting_balance
        self.pending: list[_Order] = []
        self.brackets: list[_Bracket] = []
        # The run's fills, one plain row each (the ``FillRow`` and ``Execution`` objects are built
        # from them when asked for: a trial scored on ``summary`` never needs them).
        self._fills: list[_FillRecord] = []
        self.skips: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.skipped: list[SkipRow] = []
        self._matcher = FifoMatcher(self.spec, self.bot_id, None)
        self.round_trips: list[RoundTrip] = []
        # The mark-to-market equity after each fill (the symbol marked at the fill's price), as
        # the report's ledger samples it.
        self._mtm: list[float] = []
        self._trade_open: str | None = None  # the open trade's first fill id
        self._trade_base = 0.0  # the matcher's realized P&L when it opened
        # The position from a bar on (after that bar's fills), for the trades' excursions at the
        # bars' highs and lows: (bar index, the trade's first fill id or None when flat, point
        # value x quantity, average price, the trade's realized P&L).
        self._held: list[tuple[int, str | None, float, float, float]] = []
        self._bar = 0  # the index of the bar being traded
        self._low_trigger, self._high_trigger = -math.inf, math.inf
        self._seq = 0
        self._roll_at = -1  # the next trading-day roll (UTC ns): 17:00 CT, TopStepX's day
        self._rolls = 0

        if warmup is not None and len(warmup):
            self.engine.warming_up = True
            self._feed(warmup, trade=False, progress=None)
            self.engine.warming_up = False
        self._feed(bars, trade=True, progress=progress)
        unfilled = len(self.pending)
        for order in self.pending:
            self.risk.on_order_closed(order.submission.order_id)
        self.pending = []
        if len(bars) and not self.engine.ctx.position.flat:
            last = len(bars) - 1
            self._bar = len(bars)  # after the last bar: no bar's range is the closed trade's
            self._close_all(int(bars.t[last]) + bars.duration, float(bars.c[last]))
        return unfilled

    def _feed(self, bars: MinuteBars, *, trade: bool, progress: Progress | None) -> None:
        t, o, h, lo, c, v = (
            bars.t.tolist(),
            bars.o.tolist(),
            bars.h.tolist(),
            bars.low.tolist(),
            bars.c.tolist(),
            bars.v.tolist(),
        )
        duration = bars.duration
        with_prints = bars.has_prints
        engine = self.engine
        engine_bar = engine.on_bar
        resampler = self.resampler
        passthrough = resampler.passthrough
        mark = self.risk.on_mark if self.account_checks else None
        symbol = self.symbol
        act = self._act
        next_progress = PROGRESS_EVERY if progress is not None else -1
        for i in range(len(t)):
            start = t[i]
            prints = bars.prints(i) if with_prints else None
            if trade:
                if start >= self._roll_at:
                    self._new_day(start)
                if self.pending:
                    self._bar = i  # the bar of the fills (the trades' excursions start there)
                    self._fill_pending(start, o[i])
                if self.brackets and (lo[i] <= self._low_trigger or h[i] >= self._high_trigger):
                    self._bar = i
                    self._check_brackets(start, (o[i], h[i], lo[i], c[i]), prints.prices if prints else None)
                if mark is not None:
                    mark(symbol, c[i])
            if prints is None:
                closed = ClosedBar(start, start + duration, o[i], h[i], lo[i], c[i], v[i])
            else:
                buy_volume = sell_volume = 0.0
                for ts, price, size, aggressor in zip(
                    prints.ts, prints.prices, prints.sizes, prints.aggressors, strict=True
                ):
                    engine.on_print(ts, price, size, aggressor)
                    if aggressor > 0:
                        buy_volume += size
                    elif aggressor < 0:
                        sell_volume += size
                closed = ClosedBar(
                    start,
                    start + duration,
                    o[i],
                    h[i],
                    lo[i],
                    c[i],
                    v[i],
                    buy_volume,
                    sell_volume,
                    len(prints.prices),
                )
            for done in (closed,) if passthrough else resampler.add(closed):
                try:
                    outcomes = engine_bar(done, feed_flow=prints is None)
                except Exception as exc:
                    raise strategy_error(exc, done) from exc
                if trade:
                    for outcome in outcomes:
                        act(done, outcome)
            if i + 1 == next_progress:
                assert progress is not None
                progress(PROGRESS_EVERY)
                next_progress += PROGRESS_EVERY
        if progress is not None:
            progress(len(t) % PROGRESS_EVERY)

    def _new_day(self, now_ns: int) -> None:
        """A new trading day for the account checks (once a day, not per bar)."""
        if self._rolls:
            self.risk.new_trading_day()
        self._rolls += 1
        local = from_ns(now_ns).astimezone(CHICAGO)
        roll = local.replace(hour=DAY_STARTS.hour, minute=0, second=0, microsecond=0)
        if roll <= local:
            roll += dt.timedelta(days=1)
        self._roll_at = to_ns(roll)

    # --- decisions to orders (the bot's and the aggregator's code) --------------------------------

    def _act(self, bar: BarLike, outcome: Outcome) -> None:
        self._seq += 1
        n = self._seq
        if isinstance(outcome, Skip):
            self.skips[outcome.kind.value] += 1
            self.skipped.append(
                SkipRow(
                    time=from_ns(bar.end),
                    kind=outcome.kind.value,
                    setup=outcome.reason.setup,
                    detail=outcome.detail,
                )
            )
        elif isinstance(outcome, Sized):
            submission = entry_submission(outcome, self.symbol, self.tick, bar.end, n)
            if self._accepted(submission, bar, outcome.reason.setup):
                self.pending.append(_Order(submission=submission, reason=outcome.reason.setup))
            else:
                self.engine.entry_rejected()
        elif isinstance(outcome, Exit):
            exit_order = exit_submission(self.engine.ctx.position.quantity, outcome, self.symbol, bar.end, n)
            if exit_order is not None and self._accepted(exit_order, bar, outcome.reason.setup):
                self.pending.append(_Order(submission=exit_order, reason=outcome.reason.setup))
        elif isinstance(outcome, MoveStop):
            for bracket in self.brackets:
                bracket.stop = outcome.price
                bracket.stop_reason = outcome.reason.setup
            self._retrigger()
        elif isinstance(outcome, MoveTarget):
            for bracket in self.brackets:
                bracket.target = outcome.price
            self._retrigger()

    def _accepted(self, submission: OrderSubmission, bar: BarLike, setup: str) -> bool:
        """The aggregator's checks: the bracket priced from the market, then the ``RiskEngine``."""
        if not self.account_checks:
            return True
        try:
            prices = safe_prices(submission, self.instrument, bar.close)
        except BracketError as exc:
            return self._refused("INVALID_PRICE", str(exc), bar, setup)
        request = OrderRequest(
            self.bot_id,
            self.symbol,
            submission.side.value,
            submission.quantity,
            None,
            prices.stop_loss,
            prices.take_profit,
            submission.reduce_only,
            submission.order_id,
        )
        verdict = self.risk.check(request, bar.end)
        if verdict.accepted:
            return True
        assert verdict.reason is not None
        return self._refused(message_reason(verdict.reason).value, verdict.message, bar, setup)

    def _refused(self, reason: str, detail: str, bar: BarLike, setup: str) -> bool:
        self.refusals[reason] += 1
        self.skipped.append(
            SkipRow(time=from_ns(bar.end), kind=f"REFUSED_{reason}", setup=setup, detail=detail)
        )
        return False

    def _quantity_to_send(self, order: _Order) -> int | None:
        """What an order still has to trade: a reduce-only order is cut to the position held, or
        cancelled (None, and the risk engine told) when nothing is left to reduce."""
        sub = order.submission
        if not sub.reduce_only:
            return sub.quantity
        held = self.engine.ctx.position.quantity
        if held == 0 or (held > 0) == (sub.side is Side.BUY):
            self.risk.on_order_closed(sub.order_id)
            return None
        return min(sub.quantity, abs(held))

    # --- fills (the bars model) -------------------------------------------------------------------

    def _fill_pending(self, ts: int, open_: float) -> None:
        orders, self.pending = self.pending, []
        for order in orders:
            sub = order.submission
            buy = sub.side is Side.BUY
            quantity = self._quantity_to_send(order)
            if quantity is None:
                continue
            price = market_fill(buy, open_, self.tick, self.fill_settings.slippage_ticks)
            if sub.reduce_only:
                self._fill(ts, buy, quantity, price, "exit", order.reason, sub.order_id)
            else:
                sign = 1.0 if buy else -1.0
                stop = None if sub.stop_loss_ticks is None else price - sign * sub.stop_loss_ticks * self.tick
                target = (
                    None
                    if sub.take_profit_ticks is None
                    else price + sign * sub.take_profit_ticks * self.tick
                )
                self._fill(ts, buy, quantity, price, "entry", order.reason, sub.order_id, stop_loss=stop)
                self.brackets.append(
                    _Bracket(
                        long=buy,
                        quantity=quantity,
                        stop=stop,
                        target=target,
                        stop_reason="stop",
                        placed_ns=ts,
                    )
                )
                if len(self.brackets) == 1:
                    self._follow_bracket(stop, target)
                else:
                    self._one_stop()
        self._retrigger()

    def _retrigger(self) -> None:
        """The bar low / high at or beyond which some working stop or target may fill (a bar
        inside both is skipped without looking at each bracket)."""
        low, high = -math.inf, math.inf
        for b in self.brackets:
            # A long's stop and a short's target are below the market; the others above.
            below, above = (b.stop, b.target) if b.long else (b.target, b.stop)
            if below is not None and below > low:
                low = below
            if above is not None and above < high:
                high = above
        self._low_trigger, self._high_trigger = low, high

    def _one_stop(self) -> None:
        """After a scale-in each entry has its own bracket: as the bot does, the tightest working
        stop becomes every stop's price (one protective stop for the whole position)."""
        stops = [b.stop for b in self.brackets if b.stop is not None]
        if not stops:
            return
        tightest = max(stops) if self.brackets[0].long else min(stops)
        for bracket in self.brackets:
            if bracket.stop != tightest:
                bracket.stop = tightest
                bracket.stop_reason = "scale-in"
        managed = self.engine.exits.position
        if managed is not None:
            if managed.stop == managed.initial_stop:
                managed.initial_stop = tightest
            managed.stop = tightest

    def _follow_bracket(self, stop: float | None, target: float | None) -> None:
        """The bracket placed from the fill becomes the exit manager's (as the bot does with the
        exchange's bracket legs: its R is measured from the real stop)."""
        managed = self.engine.exits.position
        if managed is None:
            return
        if stop is not None:
            if managed.stop == managed.initial_stop:
                managed.initial_stop = stop
            managed.stop = stop
        if target is not None:
            managed.target = target

    def _check_brackets(
        self, ts: int, bar: tuple[float, float, float, float], prints: list[float] | None
    ) -> None:
        for bracket in list(self.brackets):
            if bracket not in self.brackets:
                continue
            hit = bracket_hit(
                bracket.long,
                bracket.stop,
                bracket.target,
                bar,
                gap=bracket.placed_ns != ts,
                tick_size=self.tick,
                mode=self.fill_settings.limit_fill,
                prints=prints,
            )
            if hit is None:
                continue
            leg, price = hit
            held = abs(self.engine.ctx.position.quantity)
            quantity = min(bracket.quantity, held)
            self.brackets.remove(bracket)
            if quantity <= 0:
                continue
            why = bracket.stop_reason if leg == "stop" else "target"
            self._fill(ts, not bracket.long, quantity, price, leg, why, f"{leg}-{ts}")
        self._retrigger()

    def _close_all(self, ts: int, price: float) -> None:
        held = self.engine.ctx.position.quantity
        self._fill(ts, held < 0, abs(held), price, "end of data", "end of data", "end")

    def _fill(
        self,
        ts: int,
        buy: bool,
        quantity: int,
        price: float,
        role: FillRole,
        reason: str,
        order_id: str,
        *,
        stop_loss: float | None = None,
    ) -> None:
        """One fill: the P&L matcher, the engine and the account checks, as live. The brackets
        follow the position; the caller recomputes their triggers (``_retrigger``) once its
        fills are done (only the bar loop reads them)."""
        fills = self._fills
        fill_id = f"{self._fill_prefix}{len(fills) + 1}"
        fees = self._fee_per_side * quantity
        fills.append((fill_id, ts, buy, quantity, price, fees, role, reason, order_id, stop_loss))
        matcher = self._matcher
        if self._trade_open is None:
            self._trade_open = fill_id
            self._trade_base = matcher.realized
        closed = matcher.add_fill(
            fill_id, self.bot_id, self.symbol, buy, quantity, price, ts, fees, self._strategy_type, stop_loss
        )
        self._mtm.append(matcher.equity(price))
        if closed:
            self.round_trips += closed
            for trade in closed:
                self.balance += trade.net_pnl
        self.engine.on_fill(ts, "buy" if buy else "sell", quantity, price)
        self.risk.on_fill(self.bot_id, self.symbol, "BUY" if buy else "SELL", quantity, price, fees, order_id)
        if closed:
            self.risk.on_balance(self.balance)
        position = self.engine.ctx.position
        quantity_held = position.quantity
        held = self._held
        if held and held[-1][0] == self._bar:  # a second fill on the bar: the last one counts
            held.pop()
        if quantity_held == 0:
            held.append((self._bar, None, 0.0, 0.0, 0.0))
            self.brackets.clear()
            self._trade_open = None
            return
        held.append(
            (
                self._bar,
                self._trade_open,
                self._point_value * quantity_held,
                position.average_price,
                matcher.realized - self._trade_base,
            )
        )
        brackets = self.brackets
        if not brackets:
            return
        long = quantity_held > 0
        if any(b.long != long for b in brackets):
            brackets = self.brackets = [b for b in brackets if b.long == long]
        # Reduced: the brackets shrink with it, oldest first.
        excess = sum(b.quantity for b in brackets) - abs(quantity_held)
        for bracket in list(brackets) if excess > 0 else ():
            if excess <= 0:
                break
            cut = min(excess, bracket.quantity)
            bracket.quantity -= cut
            excess -= cut
            if bracket.quantity == 0:
                brackets.remove(bracket)

    @property
    def fill_rows(self) -> list[FillRow]:
        """The run's fills as the result lists them (built anew at each call)."""
        return [
            FillRow(
                fill_id, order_id, from_ns(ts), "BUY" if buy else "SELL", quantity, price, fees, role, reason
            )
            for fill_id, ts, buy, quantity, price, fees, role, reason, order_id, _ in self._fills
        ]

    @property
    def executions(self) -> list[Execution]:
        """The run's fills as the P&L module's records, what live trading's ledger is given
        (built anew at each call)."""
        return [
            Execution(
                fill_id=fill_id,
                bot_id=self.bot_id,
                symbol=self.symbol,
                side=Side.BUY if buy else Side.SELL,
                quantity=quantity,
                price=price,
                ts_ns=ts,
                fees=fees,
                strategy=self._strategy_type,
                stop_loss=stop_loss,
            )
            for fill_id, ts, buy, quantity, price, fees, _, _, _, stop_loss in self._fills
        ]

    # --- the result -------------------------------------------------------------------------------

    def _bar_excursions(self, bars: MinuteBars) -> dict[str, tuple[float, float]]:
        """Each trade's worst and best running P&L (from 0) at the highs and lows of the bars it
        was held through, from the bar of each fill on (after that bar's fills): per stretch of
        bars with one position, the stretch's highest high and lowest low (the running P&L is
        monotonic in the price, so this is the bar-by-bar extreme, exactly)."""
        held = [h for h in self._held if h[0] < len(bars)]
        if not held:
            return {}
        bar, first, k, average, realized = zip(*held, strict=True)
        starts = np.array(bar, dtype=np.intp)
        # The stretches with a position, each numbered by its trade (the trade's first fill id).
        at = np.array([trade is not None for trade in first], dtype=bool)
        if not at.any():
            return {}
        trades = [trade for trade in first if trade is not None]
        number = {trade: j for j, trade in enumerate(dict.fromkeys(trades))}
        trade_of = np.fromiter(map(number.__getitem__, trades), dtype=np.intp, count=len(trades))
        kept = np.array(k, dtype=np.float64)[at]
        mean = np.array(average, dtype=np.float64)[at]
        base = np.array(realized, dtype=np.float64)[at]
        at_high = (np.maximum.reduceat(bars.h, starts)[at] - mean) * kept + base
        at_low = (np.minimum.reduceat(bars.low, starts)[at] - mean) * kept + base
        long = kept > 0
        worst = np.zeros(len(number))
        best = np.zeros(len(number))
        np.minimum.at(worst, trade_of, np.where(long, at_low, at_high))
        np.maximum.at(best, trade_of, np.where(long, at_high, at_low))
        # From 0: +0.0 when nothing went below (above) it, as min(0.0, ...) gives.
        return {
            trade: (low if low < 0 else 0.0, high if high > 0 else 0.0)
            for trade, low, high in zip(number, worst.tolist(), best.tolist(), strict=True)
        }

    def _result(
        self,
        bars: MinuteBars,
        warmup: MinuteBars | None,
        source: str,
        unfilled: int,
        started: float,
        looped: float,
    ) -> BacktestResult:
        settings = self.settings
        # MAE / MFE: the bars' highs and lows while held, and the fills (the pnl matcher's).
        at_bars = self._bar_excursions(bars) if self.measures_bar_excursions else {}
        columns = TradeColumns(self.round_trips)
        ordered = columns.trades
        measured = [at_bars.get(t.fill_ids[0], (0.0, 0.0)) for t in ordered]
        excursions = {
            trade_id: (min(mae, low), max(mfe, high))
            for trade_id, (mae, mfe), low, high in zip(
                columns.trade_ids, measured, columns.mae.tolist(), columns.mfe.tolist(), strict=True
            )
        }
        # The report from the trades this run's matcher closed (the same figures as
        # ``build_report`` over ``self.executions``; tests/backtest/test_report_figures.py).
        report = report_from_trades(
            columns,
            self._mtm,
            capital=self.config.global_config.risk.starting_balance,
            excursions=excursions,
        )
        fill_rows = self.fill_rows
        by_fill = {row.fill_id: row for row in fill_rows}
        # The report's rows are the trades in exit order, as ``columns``.
        trades = [
            BacktestTrade(
                trade_id=row.trade_id,
                direction="LONG" if row.direction == "LONG" else "SHORT",
                quantity=row.quantity,
                entry_time=row.entry_time,
                exit_time=row.exit_time,
                entry_price=row.entry_price,
                exit_price=row.exit_price,
                gross_pnl=row.gross_pnl,
                fees=row.fees,
                net_pnl=row.net_pnl,
                r_multiple=row.r_multiple,
                mae=row.mae,
                mfe=row.mfe,
                seconds_in_trade=row.seconds_in_trade,
                entry_reason=by_fill[trade.fill_ids[0]].reason,
                exit_reason=_exit_reason(by_fill[trade.fill_ids[-1]]),
                fill_ids=list(trade.fill_ids),
            )
            for trade, row in zip(ordered, report.trades, strict=True)
        ]
        n = len(bars)
        seconds = time.perf_counter() - started
        params = msgspec.to_builtins(settings.params)
        assert isinstance(params, dict)
        return BacktestResult(
            schema_version=SCHEMA_VERSION,
            bot_id=self.bot_id,
            strategy=settings.config.strategy.type,
            symbol=self.symbol,
            params=params,
            fill_model="bars",
            fill_settings=self.fill_settings,
            data=DataSpan(
                source=source,
                symbol=self.symbol,
                first_bar=from_ns(int(bars.t[0])) if n else None,
                last_bar=from_ns(int(bars.t[-1])) if n else None,
                bars=n,
                warmup_bars=len(warmup) if warmup is not None else 0,
                prints=bars.has_prints,
            ),
            report=report,
            trades=trades,
            fills=fill_rows,
            skips=dict(self.skips),
            refusals=dict(self.refusals),
            skipped=self.skipped,
            unfilled_at_end=unfilled,
            timing=Timing(
                seconds=seconds,
                loop_seconds=looped - started,
                bars_per_second=n / seconds if seconds > 0 else None,
            ),
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one run (and resumed as it was): a run makes
    tens of thousands of fills, orders and trades, freed by reference counting, and every full
    collection walked all those still held again (10 to 20% of the year's run)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def strategy_error(exc: Exception, bar: BarLike) -> StrategyError:
    """The error a strategy's raise on ``bar`` becomes (the bar named with its prices)."""
    return StrategyError(
        f"the strategy raised {type(exc).__name__}: {exc} on the bar "
        f"{from_ns(bar.start).isoformat()}..{from_ns(bar.end).isoformat()} O {bar.open:g} "
        f"H {bar.high:g} L {bar.low:g} C {bar.close:g} V {bar.volume:g}"
    )


def _exit_reason(fill: FillRow) -> str:
    """``stop`` (the initial stop), ``stop (trailing)`` (a moved one), ``target``, or the exit's
    setup (``opposite cross (short)``, ``time exit``, ``end of data``)."""
    if fill.role == "stop" and fill.reason != "stop":
        return f"stop ({fill.reason})"
    return fill.reason

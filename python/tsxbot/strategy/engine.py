"""The engine: one strategy with everything the bot shares around it, with no I/O.

``StrategyEngine(strategy_class, params, bot_config, instrument)`` is what a bot runtime and a
backtester both drive, the same way:

- ``on_print(ts_ns, price, size, aggressor)``: a trade. It builds the strategy's bars (Rust
  ``BarAggregator``); when it completes a bar, the strategy sees that bar first, then the trade
  goes into the context's VWAP, volume profile and delta (so a bar sees the flow of its own
  trades only). ``flush(now_ns)`` closes a bar on time in a quiet market.
- ``on_bar(bar, feed_flow=False)``: a bar built elsewhere (a bus ``BAR``: ``closed_bar``, or
  history); ``feed_flow`` approximates its flow for the context from the bar alone (its volume at
  the typical price, buy and sell volume at the close): for warm-up history without prints. A
  bot that takes its bars from the bus builds the engine with ``build_bars=False``: its prints
  then only feed the flow (and the strategy's ``on_print``), so no bar is seen twice.
- ``on_quote(ts_ns, bid, ask)``: passed to the strategy; ``on_extra_bar(timeframe, bar)``: a bar
  of one of the strategy's ``extra_timeframes`` from the bus (built here from prints otherwise).
- ``on_fill(ts_ns, action, quantity, price)``: the bot's fills (position, exits, cooldown). An
  entry added to a held position (``risk.maxPositions`` > 1) gives the whole position one stop,
  the tighter of the two (``ExitManager.scale_in``).

Each of these returns the outcomes to act on, in order: ``Sized`` entries (send with their
bracket), ``Exit`` (close ``quantity`` or all), ``MoveStop`` / ``MoveTarget`` (UPDATE_SLTP), and
``Skip`` (report). The exit manager speaks first on each bar (break-even, trailing, partial, time
exit), then the strategy's decisions, each entry through the gate and the sizing checks.

``warming_up = True`` feeds the strategy without acting (its answers are discarded);
``gate.paused = True`` refuses new entries while exits are still managed; ``restore(stop,
target)`` re-attaches the exit manager to a position recovered after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from tsxbot.bars import BarAggregator, timeframe_seconds
from tsxbot.config.bot_config import BotConfig
from tsxbot.config.instruments import Instrument
from tsxbot.sessions import SessionCalendar, SessionKind, calendar_for
from tsxbot.strategies.params import StrategyParams
from tsxbot.strategy.bar import BarLike
from tsxbot.strategy.base import Decision, Strategy
from tsxbot.strategy.context import Context
from tsxbot.strategy.exits import ExitManager
from tsxbot.strategy.gate import Gate
from tsxbot.strategy.position import Fill, apply_fill
from tsxbot.strategy.signals import Enter, Exit, MoveStop, MoveTarget, Side
from tsxbot.strategy.sizing import Sized, size_entry
from tsxbot.strategy.skip import Skip

__all__ = ["Outcome", "StrategyEngine"]

Outcome = Sized | Exit | MoveStop | MoveTarget | Skip
_NONE: list[Outcome] = []


class StrategyEngine:
    def __init__(
        self,
        strategy_class: type[Strategy[Any]],
        params: StrategyParams,
        bot: BotConfig,
        instrument: Instrument,
        calendar: SessionCalendar | None = None,
        *,
        build_bars: bool = True,
    ) -> None:
        calendar = calendar if calendar is not None else calendar_for(instrument)
        self.bot = bot
        self.params = params
        self.instrument = instrument
        seconds = timeframe_seconds(params.timeframe)
        self.ctx = Context(
            instrument,
            timeframe_seconds=seconds,
            flow_session=SessionKind.RTH if params.flow_session == "rth" else SessionKind.ETH,
            value_area_fraction=getattr(params, "value_area_fraction", 0.7),
            calendar=calendar,
            needs=strategy_class.needs,
        )
        self.strategy = strategy_class(params, self.ctx)
        self.gate = Gate(bot, instrument, calendar)
        self.exits = ExitManager(bot.exits, instrument.tick_size)
        # The strategy's ATR is asked for only when the exits' trailing distance uses it.
        trailing = bot.exits.trailing
        self._exits_read_atr = trailing.enabled and trailing.atr_multiple is not None
        # The time exit is asked for only with an ``exits.flattenAt``, the exit manager given the
        # bars only when it has a rule to apply; the context's flow and levels are updated only
        # when the strategy reads them.
        self._flattens = bot.exits.flatten_at is not None
        self._exits_on_bars = self._flattens or self.exits.reads_bars
        self._keeps_context = self.ctx.keeps_flow or self.ctx.keeps_levels
        self.bars = BarAggregator(calendar, seconds, SessionKind.ETH) if build_bars else None
        # Higher (or other) timeframes the strategy asked for, built from the same prints.
        self.extra_bars = (
            [
                (tf, BarAggregator(calendar, timeframe_seconds(tf), SessionKind.ETH))
                for tf in self.strategy.extra_timeframes()
            ]
            if build_bars
            else []
        )
        self.warming_up = False
        # risk.maxPositions counts entries held (filled since the position was last flat) and
        # entries sent but not filled yet (nor rejected).
        self._held = 0
        self._unfilled = 0
        self._pending: Sized | None = None
        cls = type(self.strategy)
        self._wants_prints = cls.on_print is not Strategy.on_print
        self._wants_quotes = cls.on_quote is not Strategy.on_quote

    @property
    def open_entries(self) -> int:
        """Entries held plus entries sent and not yet filled (what ``risk.maxPositions`` counts)."""
        return self._held + self._unfilled

    # --- market data -----------------------------------------------------------------------------

    def on_print(self, ts_ns: int, price: float, size: float, aggressor: int) -> list[Outcome]:
        for timeframe, aggregator in self.extra_bars:
            extra = aggregator.update(ts_ns, price, size, aggressor)
            if extra is not None:
                self.on_extra_bar(timeframe, extra)
        bar = self.bars.update(ts_ns, price, size, aggressor) if self.bars is not None else None
        out = self.on_bar(bar) if bar is not None else _NONE
        self.ctx.add_print(ts_ns, price, size, aggressor)
        if self._wants_prints:
            self.strategy.on_print(ts_ns, price, size, aggressor)
        return out

    def flush(self, now_ns: int) -> list[Outcome]:
        for timeframe, aggregator in self.extra_bars:
            extra = aggregator.flush(now_ns)
            if extra is not None:
                self.on_extra_bar(timeframe, extra)
        bar = self.bars.flush(now_ns) if self.bars is not None else None
        return self.on_bar(bar) if bar is not None else _NONE

    def on_extra_bar(self, timeframe: str, bar: BarLike) -> None:
        """A closed bar of one of the strategy's ``extra_timeframes`` (built here from prints, or
        from the bus with ``build_bars=False``); call it before the main bar closing with it."""
        self.ctx.now = bar.end
        self.strategy.on_extra_bar(timeframe, bar)

    def on_quote(self, ts_ns: int, bid: float, ask: float) -> None:
        if self._wants_quotes:
            self.strategy.on_quote(ts_ns, bid, ask)

    def on_bar(self, bar: BarLike, *, feed_flow: bool = False) -> list[Outcome]:
        """One closed bar (also each bar ``on_print`` and ``flush`` complete): the strategy's
        decisions, after the exit manager's, as outcomes. The same path for every bar of a live
        bot and of a backtest; the list answered is never mutated afterwards (shared when empty)."""
        ctx = self.ctx
        end = bar.end
        ctx.now = end
        if self._keeps_context:
            if ctx.keeps_flow:
                if feed_flow and bar.volume > 0:
                    self._feed_bar_flow(bar)
                ctx.delta.close_bar()
            if ctx.keeps_levels:
                ctx.levels.update(bar)
        decisions = self.strategy.on_bar(bar)
        if self.warming_up:
            return _NONE
        out: list[Outcome] | None = None
        if self._exits_on_bars and ctx.position.quantity:
            managed = self.exits.on_bar(
                bar,
                flatten_due=self._flattens and self.gate.flatten_due(end),
                atr=self.strategy.atr() if self._exits_read_atr else None,
            )
            if managed:
                out = list(managed)
        if decisions:
            if out is None:
                out = []
            self._decide(bar, decisions, out)
        return _NONE if out is None else out

    def _feed_bar_flow(self, bar: BarLike) -> None:
        """The context's flow from a bar alone (warm-up history without prints): its volume at
        the typical price, buy and sell volume at the close."""
        ctx = self.ctx
        ctx.vwap.update(bar.start, (bar.high + bar.low + bar.close) / 3, bar.volume)
        ctx.profile.update(bar.start, bar.close, bar.volume)
        buy = (bar.volume + bar.delta) / 2
        sell = bar.volume - buy
        if buy > 0:
            ctx.delta.update(bar.start, bar.close, buy, 1)
        if sell > 0:
            ctx.delta.update(bar.start, bar.close, sell, -1)

    def _decide(self, bar: BarLike, decisions: Sequence[Decision], out: list[Outcome]) -> None:
        ctx = self.ctx
        # A full exit already decided on this bar (the time exit): a second one is not repeated.
        exiting = bool(out) and any(isinstance(o, Exit) and o.quantity is None for o in out)
        for decision in decisions:
            if isinstance(decision, Enter):
                # With a full exit decided on this bar, the position held is on its way out.
                held = self._unfilled if exiting else self.open_entries
                skip = self.gate.check(ctx.now, decision.side, held, decision.reason)
                if skip is not None:
                    out.append(skip)
                    continue
                sized = size_entry(decision, bar.close, self.params, self.instrument, self.bot.max_order_size)
                if isinstance(sized, Sized):
                    self.gate.record_entry(ctx.now)
                    self._unfilled += 1
                    self._pending = sized
                out.append(sized)
            elif isinstance(decision, Exit):
                if (not ctx.position.flat or self.open_entries) and not (
                    exiting and decision.quantity is None
                ):
                    exiting = exiting or decision.quantity is None
                    out.append(decision)
            elif isinstance(decision, MoveStop):
                move = self.exits.tighten(decision.price, bar.close, decision.reason)
                if move is not None:
                    out.append(move)
            elif isinstance(decision, MoveTarget):
                if self.exits.position is not None:
                    self.exits.position.target = decision.price
                    out.append(decision)
            else:
                out.append(decision)

    # --- the bot's own orders ----------------------------------------------------------------

    def on_fill(self, ts_ns: int, action: Literal["buy", "sell"], quantity: int, price: float) -> Fill:
        before = self.ctx.position
        after, fill = apply_fill(before, ts_ns, action, quantity, price)
        self.ctx.position = after
        pending = self._pending
        if after.flat:
            self.exits.close()
            if not before.flat:
                self.gate.record_exit(ts_ns)
            self._held = 0
        elif before.flat or before.side != after.side:  # opened, or reversed through flat
            if before.side is not None:
                self.gate.record_exit(ts_ns)
            self._held = 0
            if pending is not None and pending.side == after.side:
                self.exits.open(
                    pending.side, after.average_price, pending.stop, pending.target, abs(after.quantity)
                )
                self._entry_filled()
            else:  # not an entry of ours (it may come from outside): held, its stop unknown here
                self.exits.close()
                self._held = 1
        else:
            if (
                abs(after.quantity) > abs(before.quantity)
                and pending is not None
                and pending.side == after.side
            ):
                # An added entry (risk.maxPositions > 1): its stop joins the position's.
                self.exits.scale_in(after.average_price, pending.stop, abs(after.quantity))
                self._entry_filled()
            else:
                self.exits.set_quantity(abs(after.quantity))
        self.strategy.on_fill(fill)
        return fill

    def _entry_filled(self) -> None:
        self._held += 1
        self._unfilled = max(0, self._unfilled - 1)
        self._pending = None

    def entry_rejected(self) -> None:
        """The last ``Sized`` entry never became a position (rejected or cancelled)."""
        self._pending = None
        self._unfilled = max(0, self._unfilled - 1)

    def restore(self, quantity: int, average_price: float, stop: float, target: float | None) -> None:
        """After a restart: the position and its working bracket, as the aggregator reports them."""
        from tsxbot.strategy.position import Position

        self.ctx.position = Position(quantity, average_price)
        if quantity:
            side: Side = "long" if quantity > 0 else "short"
            self.exits.open(side, average_price, stop, target, abs(quantity))
        self._held = 1 if quantity else 0
        self._unfilled = 0

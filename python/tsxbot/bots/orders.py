"""From the engine's outcomes to the messages a bot sends the aggregator.

Order ids are derived from the bar that decided them (``e-<bar end, s>-<n>`` for an entry,
``x-...`` for an exit), so a decision sent twice (a restart that replays the same bar) is one
order at the aggregator, which handles each ``orderId`` of a bot once.
"""

from __future__ import annotations

from tsxbot.messages import OrderSubmission, Side, UpdateStopLossTakeProfit
from tsxbot.strategy.signals import Exit, MoveStop, MoveTarget
from tsxbot.strategy.sizing import Sized

__all__ = ["OrderMessage", "entry_submission", "exit_submission", "sltp_command"]

_NS = 1_000_000_000

# What a bot sends on ``aggregator:orders`` for its strategy's outcomes.
OrderMessage = OrderSubmission | UpdateStopLossTakeProfit


def _stamp(bar_end_ns: int, n: int) -> str:
    return f"{bar_end_ns // _NS}-{n}"


def entry_submission(sized: Sized, symbol: str, tick_size: float, bar_end_ns: int, n: int) -> OrderSubmission:
    """A market entry with its bracket as distances in ticks from the entry (the strategy's stop
    and target measured from the signal bar's close), as ProjectX places a bracket: from the fill.
    The risk and reward:risk the strategy sized are then the ones the aggregator checks (from the
    market) and the exchange places, whatever the market did since the bar closed."""
    stop_ticks = max(1, round(abs(sized.entry - sized.stop) / tick_size))
    target_ticks = (
        None if sized.target is None else max(1, round(abs(sized.target - sized.entry) / tick_size))
    )
    return OrderSubmission(
        order_id=f"e-{_stamp(bar_end_ns, n)}",
        symbol=symbol,
        side=Side.BUY if sized.side == "long" else Side.SELL,
        quantity=sized.quantity,
        stop_loss_ticks=stop_ticks,
        take_profit_ticks=target_ticks,
    )


def exit_submission(
    position: int, exit_: Exit | None, symbol: str, bar_end_ns: int, n: int, tag: str = "x"
) -> OrderSubmission | None:
    """A market order closing ``exit_.quantity`` (or all) of ``position``; None when flat."""
    if position == 0:
        return None
    held = abs(position)
    quantity = held if exit_ is None or exit_.quantity is None else min(exit_.quantity, held)
    return OrderSubmission(
        order_id=f"{tag}-{_stamp(bar_end_ns, n)}",
        symbol=symbol,
        side=Side.SELL if position > 0 else Side.BUY,
        quantity=quantity,
        reduce_only=True,
        priority=1,
    )


def sltp_command(
    move: MoveStop | MoveTarget, bot_id: str, symbol: str, bar_end_ns: int, n: int
) -> UpdateStopLossTakeProfit:
    """Moves the bot's working stop (or target) to ``move.price``."""
    stop = move.price if isinstance(move, MoveStop) else None
    target = move.price if isinstance(move, MoveTarget) else None
    return UpdateStopLossTakeProfit(
        command_id=f"{bot_id}-sltp-{_stamp(bar_end_ns, n)}",
        symbol=symbol,
        stop_loss=stop,
        take_profit=target,
        bot_id=bot_id,
    )

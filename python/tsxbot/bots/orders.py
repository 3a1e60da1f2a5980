"""From the engine's outcomes to the messages a bot sends the aggregator.

Order ids are derived from the bar that decided them (``e-<bar end, s>-<n>`` for an entry,
``x-...`` for an exit), so a decision sent twice (a restart that replays the same bar) is one
order at the aggregator, which handles each ``orderId`` of a bot once.
"""

from __future__ import annotations

from tsxbot.messages import OrderSubmission, Side, UpdateStopLossTakeProfit
from tsxbot.strategy.signals import Exit, MoveStop, MoveTarget
from tsxbot.strategy.sizing import Sized

__all__ = ["entry_submission", "exit_submission", "sltp_command"]

_NS = 1_000_000_000


def _stamp(bar_end_ns: int, n: int) -> str:
    return f"{bar_end_ns // _NS}-{n}"


def entry_submission(sized: Sized, symbol: str, bar_end_ns: int, n: int) -> OrderSubmission:
    """A market entry with its bracket (stop and target prices on the tick grid)."""
    return OrderSubmission(
        order_id=f"e-{_stamp(bar_end_ns, n)}",
        symbol=symbol,
        side=Side.BUY if sized.side == "long" else Side.SELL,
        quantity=sized.quantity,
        stop_loss=sized.stop,
        take_profit=sized.target,
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

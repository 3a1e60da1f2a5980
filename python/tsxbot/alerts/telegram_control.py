"""Commands from Telegram: ``getUpdates`` long polling (``offset`` = last update id + 1, which
also confirms what was read), only from the allow-listed chats, every one journaled with its
sender, every action through the aggregator's API (``requestedBy`` = the sender).

A command from any other chat gets no answer: it is logged (chat id, user, text) and journaled
with ``ok = false``. ``/flatten`` asks for ``/confirm CODE`` from the same chat within
``alerts.telegram.confirmSeconds``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from tsxbot.alerts.aggregator_client import AggregatorClient, AggregatorUnavailable
from tsxbot.alerts.command_journal import CommandJournal
from tsxbot.alerts.commands import HELP, Command, CommandError, CommandName, parse_command
from tsxbot.alerts.outbox import RetryPolicy, deliver
from tsxbot.alerts.transports import DeliveryError, TelegramApi
from tsxbot.bus.backoff import Backoff
from tsxbot.config.alerts import TelegramConfig
from tsxbot.log import get_logger

log = get_logger("tsxbot.alerts")


class User(msgspec.Struct, frozen=True):
    id: int
    is_bot: bool = False
    username: str | None = None
    first_name: str | None = None


class Chat(msgspec.Struct, frozen=True):
    id: int
    type: str = "private"


class TgMessage(msgspec.Struct, frozen=True):
    message_id: int
    chat: Chat
    date: int = 0
    sender: User | None = msgspec.field(default=None, name="from")
    text: str | None = None


class Update(msgspec.Struct, frozen=True):
    update_id: int
    message: TgMessage | None = None


@dataclass
class Pending:
    code: str
    deadline: float
    reason: str


@dataclass
class ControlCounters:
    updates: int = 0
    bad_updates: int = 0
    commands: int = 0
    refused_chats: int = 0
    poll_errors: int = 0


def _money(value: object) -> str:
    return f"{value:+.2f}" if isinstance(value, int | float) else "?"


class TelegramControl:
    def __init__(
        self,
        api: TelegramApi,
        settings: TelegramConfig,
        aggregator: AggregatorClient,
        journal: CommandJournal | None,
        clock: Callable[[], dt.datetime],
        policy: RetryPolicy,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.settings = settings
        self.allowed = settings.allowed
        self.aggregator = aggregator
        self.journal = journal
        self.clock = clock
        self.policy = policy
        self.monotonic = monotonic
        self.username: str | None = None
        self.offset: int | None = None
        self.pending: dict[int, Pending] = {}
        self.counters = ControlCounters()
        self._replies: set[asyncio.Task[None]] = set()

    # --- polling ----------------------------------------------------------------------------------

    async def run(self) -> None:
        backoff = Backoff(1.0, 60.0)
        while self.username is None:
            try:
                me = await self.api.call("getMe", {})
                self.username = str(me.get("username") or "") if isinstance(me, dict) else ""
                log.info("telegram bot ready", bot=self.username, allowed_chats=len(self.allowed))
            except DeliveryError as exc:
                self.counters.poll_errors += 1
                delay = exc.retry_after or backoff.next_delay()
                log.error("telegram getMe failed", error=str(exc), retry_in=round(delay, 1))
                await asyncio.sleep(delay)
        backoff.reset()
        while True:
            try:
                await self.poll_once()
                backoff.reset()
            except DeliveryError as exc:
                self.counters.poll_errors += 1
                delay = max(exc.retry_after or 0.0, backoff.next_delay())
                log.error("telegram getUpdates failed", error=str(exc), retry_in=round(delay, 1))
                await asyncio.sleep(delay)
            except Exception:  # a bug must not end the commands: logged, then polling again
                self.counters.poll_errors += 1
                delay = backoff.next_delay()
                log.exception("telegram polling failed", retry_in=round(delay, 1))
                await asyncio.sleep(delay)

    async def poll_once(self) -> None:
        timeout = self.settings.poll_timeout_seconds
        body: dict[str, Any] = {"timeout": timeout, "allowed_updates": ["message"]}
        if self.offset is not None:
            body["offset"] = self.offset
        result = await self.api.call("getUpdates", body, wait_s=timeout + 15.0)
        if not isinstance(result, list):
            raise DeliveryError("telegram getUpdates: result is not a list", retry=True)
        for raw in result:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool) and 0 <= update_id < 2**53:
                self.offset = max(self.offset or 0, update_id + 1)
            await self.handle(raw)

    # --- one update ---------------------------------------------------------------------------------

    async def handle(self, raw: Any) -> None:
        """Never raises: a malformed update is counted and logged."""
        self.counters.updates += 1
        try:
            update = msgspec.convert(raw, Update)
        except msgspec.ValidationError as exc:
            self.counters.bad_updates += 1
            log.warning("telegram update not understood; skipped", error=str(exc)[:200])
            return
        message = update.message
        if message is None or message.text is None:
            return
        parsed = parse_command(message.text, self.username)
        if parsed is None:
            return
        self.counters.commands += 1
        chat = message.chat.id
        user = message.sender.username if message.sender and message.sender.username else None
        user_id = message.sender.id if message.sender else None
        actor = f"telegram:{chat}" + (f"@{user}" if user else "")
        name = parsed.name.value if isinstance(parsed, Command) else "invalid"
        params: dict[str, object] = {
            "chatId": chat,
            "userId": user_id,
            "user": user,
            "text": message.text[:500],
        }
        target = parsed.bot_id if isinstance(parsed, Command) else None
        key = f"telegram:{update.update_id}"
        if chat not in self.allowed:
            self.counters.refused_chats += 1
            log.warning(
                "telegram command from a chat not on the allow list: ignored",
                chat_id=chat, user=user, user_id=user_id, command=message.text[:64],
            )  # fmt: skip
            self._journal(
                key,
                actor,
                name,
                "chat not on the allow list (alerts.telegram.allowedChatIds)",
                target,
                params,
                False,
            )
            return
        if isinstance(parsed, CommandError):
            self._journal(key, actor, name, parsed.message, target, params, False)
            self.reply(chat, parsed.message)
            return
        log.info("telegram command", chat_id=chat, user=user, command=name, bot=parsed.bot_id)
        try:
            ok, answer = await self.execute(parsed, chat, actor)
        except AggregatorUnavailable as exc:
            ok, answer = False, f"not done: {exc}"
        except Exception:  # a bug here must not end the polling
            log.exception("telegram command failed", command=name)
            ok, answer = False, "not done: the command failed (see the alerts log)"
        self._journal(key, actor, name, parsed.reason or answer[:500], target, params, ok)
        self.reply(chat, answer)

    def _journal(
        self,
        key: str,
        actor: str,
        name: str,
        reason: str,
        target: str | None,
        params: dict[str, object],
        ok: bool,
    ) -> None:
        if self.journal is not None:
            self.journal.record(
                key, self.clock(), actor=actor, action=f"TELEGRAM_{name.upper()}", reason=reason,
                target=target, params=params, ok=ok,
            )  # fmt: skip

    def reply(self, chat: int, text: str) -> None:
        """Answers in the background (with the channel's retries), so polling goes on."""

        async def send() -> None:
            await deliver(
                lambda: self.api.send_message(chat, text[:4096]), self.policy, f"telegram reply {chat}"
            )

        task = asyncio.create_task(send(), name="telegram-reply")
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def stop(self) -> None:
        for task in list(self._replies):
            task.cancel()
        await asyncio.gather(*self._replies, return_exceptions=True)

    # --- what each command does --------------------------------------------------------------------

    async def execute(self, command: Command, chat: int, actor: str) -> tuple[bool, str]:
        name = command.name
        if name in (CommandName.HELP, CommandName.START):
            return True, HELP
        if name is CommandName.STATUS:
            return True, self.describe_status(await self.aggregator.status())
        if name is CommandName.PNL:
            return True, self.describe_pnl(await self.aggregator.status())
        if name is CommandName.POSITIONS:
            return True, self.describe_positions(await self.aggregator.positions())
        if name is CommandName.HALT:
            done = await self.aggregator.control("/halt", actor, command.reason or "halt from Telegram")
            return True, f"{done.get('result', 'halted')}: trading {done.get('tradingState', '?')}"
        if name is CommandName.RESUME:
            path = f"/bots/{command.bot_id}/resume" if command.bot_id else "/resume"
            done = await self.aggregator.control(path, actor, command.reason or "resume from Telegram")
            what = f"bot {command.bot_id} " if command.bot_id else ""
            return True, f"{what}{done.get('result', 'resumed')}: trading {done.get('tradingState', '?')}"
        if name is CommandName.PAUSE:
            done = await self.aggregator.control(
                f"/bots/{command.bot_id}/pause", actor, command.reason or "pause from Telegram"
            )
            return True, f"bot {command.bot_id} {done.get('result', 'paused')}"
        if name is CommandName.FLATTEN:
            code = f"{secrets.randbelow(10**6):06d}"
            self.pending[chat] = Pending(
                code, self.monotonic() + self.settings.confirm_seconds, command.reason
            )
            return True, (
                "Flatten closes every position and cancels every working order, across bots, then halts "
                f"trading. To do it, send /confirm {code} within {self.settings.confirm_seconds:g} s."
            )
        assert name is CommandName.CONFIRM
        pending = self.pending.get(chat)
        if pending is None or pending.deadline < self.monotonic():
            self.pending.pop(chat, None)
            return False, "nothing to confirm (send /flatten first; a code is good for one use, in time)"
        if command.code != pending.code:
            return False, "wrong code: nothing done (the /flatten is still waiting for its code)"
        del self.pending[chat]
        done = await self.aggregator.control("/flatten", actor, pending.reason or "flatten from Telegram")
        state = done.get("tradingState", "?")
        return True, f"{done.get('result', 'flattening')}: every position is being closed; trading {state}"

    @staticmethod
    def describe_status(status: dict[str, Any]) -> str:
        why = status.get("why") if isinstance(status.get("why"), dict) else {}
        assert isinstance(why, dict)
        state, account, day = (
            status.get("tradingState", "?"),
            status.get("accountId"),
            status.get("tradingDay"),
        )
        lines = [f"trading {state} (account {account}, day {day})"]
        lines += [f"  {cause}: {text}" for cause, text in why.items()]
        lines.append(TelegramControl.describe_pnl(status))
        limits = status.get("limits") if isinstance(status.get("limits"), dict) else {}
        assert isinstance(limits, dict)
        loss = limits.get("dailyLoss") if isinstance(limits.get("dailyLoss"), dict) else {}
        contracts = limits.get("openContracts") if isinstance(limits.get("openContracts"), dict) else {}
        assert isinstance(loss, dict) and isinstance(contracts, dict)
        lines.append(
            f"daily loss used {_money(loss.get('used'))} of {loss.get('limit')}; open contracts "
            f"{contracts.get('used')} of {contracts.get('limit')}; queue {status.get('queueDepth')}"
        )
        return "\n".join(lines)

    @staticmethod
    def describe_pnl(status: dict[str, Any]) -> str:
        pnl = status.get("pnl") if isinstance(status.get("pnl"), dict) else {}
        assert isinstance(pnl, dict)
        return (
            f"P&L today {_money(pnl.get('daily'))} (realized {_money(pnl.get('realized'))}, open "
            f"{_money(pnl.get('open'))}, fees {_money(pnl.get('fees'))}); "
            f"balance {_money(pnl.get('balance'))}"
        )

    @staticmethod
    def describe_positions(view: dict[str, Any]) -> str:
        rows = [r for r in view.get("perBot", []) if isinstance(r, dict) and r.get("quantity")]
        net = [
            r
            for r in view.get("net", [])
            if isinstance(r, dict) and (r.get("quantity") or r.get("exchangeQuantity"))
        ]
        if not rows and not net:
            return "no open positions"
        lines = [
            f"{r.get('botId') or 'unattributed'} {r.get('symbol')} {r.get('quantity')} "
            f"@ {r.get('averagePrice')}"
            for r in rows
        ]
        lines += [
            f"net {r.get('symbol')} {r.get('quantity')} (exchange {r.get('exchangeQuantity')})" for r in net
        ]
        return "\n".join(lines)

"""Telegram commands: text -> a typed ``Command``, or a ``CommandError`` saying what is wrong.
Pure (the fuzz test feeds it anything).

    /status            trading state and why, P&L, limits
    /positions         positions per bot and net
    /pnl               today's P&L
    /halt [reason]     no new orders (exits still pass) until /resume
    /resume [BOT]      resume the account (or one bot)
    /pause BOT [why]   no new entries for one bot
    /flatten [reason]  close everything and halt: asks for /confirm CODE first
    /confirm CODE      confirms a /flatten from the same chat
    /help              this list

A command may carry the bot's name (``/status@MyTsxBot``, as Telegram sends it in groups): one
addressed to another bot is not ours (``None``).
"""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

MAX_TEXT = 4096
BOT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
CODE = re.compile(r"^\d{4,8}$")


class CommandName(StrEnum):
    STATUS = "status"
    POSITIONS = "positions"
    PNL = "pnl"
    HALT = "halt"
    RESUME = "resume"
    PAUSE = "pause"
    FLATTEN = "flatten"
    CONFIRM = "confirm"
    HELP = "help"
    START = "start"  # what Telegram sends when a user opens the bot: answered with the help


class Command(msgspec.Struct, frozen=True):
    name: CommandName
    bot_id: str | None = None
    reason: str = ""
    code: str | None = None


class CommandError(msgspec.Struct, frozen=True):
    message: str


HELP = (
    "/status, /positions, /pnl, /halt [reason], /resume [BOT], /pause BOT [reason], "
    "/flatten [reason] (then /confirm CODE), /help"
)


def parse_command(text: object, bot_username: str | None = None) -> Command | CommandError | None:
    """``None``: not a command for us (no leading ``/``, or addressed to another bot)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text.startswith("/") or len(text) > MAX_TEXT:
        return None if not text.startswith("/") else CommandError("command too long")
    head, _, rest = text[1:].partition(" ")
    rest = " ".join(rest.split())
    name, at, addressee = head.partition("@")
    if at and bot_username is not None and addressee.lower() != bot_username.lower():
        return None
    try:
        command = CommandName(name.lower())
    except ValueError:
        return CommandError(f"unknown command /{name[:32]}; try {HELP}")
    if command in (
        CommandName.STATUS,
        CommandName.POSITIONS,
        CommandName.PNL,
        CommandName.HELP,
        CommandName.START,
    ):
        return Command(command)
    if command in (CommandName.HALT, CommandName.FLATTEN):
        return Command(command, reason=rest[:500])
    if command is CommandName.CONFIRM:
        if not CODE.match(rest):
            return CommandError("usage: /confirm CODE (the code the /flatten answer gave)")
        return Command(command, code=rest)
    bot, _, reason = rest.partition(" ")
    if command is CommandName.PAUSE and not bot:
        return CommandError("usage: /pause BOT [reason]")
    if bot and not BOT_ID.match(bot):
        return CommandError(f"not a bot id: {bot[:64]!r}")
    return Command(command, bot_id=bot or None, reason=reason[:500])

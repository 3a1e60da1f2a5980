"""Appending a durable message: one Lua script per message, so that a first delivery needs no
duplicate check.

The script (atomic in Redis) looks the message id up in the stream's published set
(``<ns>:published:<channel>``, scored by time), appends the entry, marked first (field ``f``)
when the id was not there, then records the id and drops from the set what is older than twice
the dedupe window. A consumer reading a marked entry as a first delivery (``XREADGROUP ... >``)
less than a dedupe window after its append hands it out without asking the group's handled set:
no earlier entry of that id was appended or acknowledged within twice the window, so the group
cannot have handled it. Everything else is checked against the handled set as before: an
unmarked entry (a publisher's resend after a lost reply, a service re-publishing an id, a write
by anything but this bus), every redelivery (own pending after a restart, a claim), and a
marked entry read later than a window after its append (a group that far behind may handle an
old copy of an id only now, after the set dropped it and a later copy was appended marked).

The acknowledgement writes the id into the published set again (before the handled set, in the
same pipeline): an id some group handled is always in the published set at least as late as in
that group's handled set, so a message handled long after it was published still makes its
later copies unmarked. Every writer of a durable stream must append through this script (a raw
``XADD`` is never marked, so it is always checked: raw writes stay safe).

The publisher marks (field ``m``) every entry of a transaction that appends to more than one
stream (an order's update and its fill): Redis before 7.2 answers a read blocked on several
streams with the one stream that woke it, and only a marked entry makes the reader read the
others at once (a lone submission costs no second read).

What is left open (the old design's window ran from the handling instead): a group that handles
an id more than twice the window after its first append, then within a window reads a copy
appended marked meanwhile, having restarted in between (or acknowledged more than
``RECENTLY_ACKED_KEPT`` messages), is handed the copy.
"""

from __future__ import annotations

from tsxbot.bus.redis_names import DATA_FIELD, FIRST_FIELD, WITH_OTHERS_FIELD
from tsxbot.bus.resp import pack

APPEND_SCRIPT = b"""local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = {'%s', ARGV[3]}
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  fields[#fields + 1] = '%s'
  fields[#fields + 1] = '1'
end
if ARGV[4] == '1' then
  fields[#fields + 1] = '%s'
  fields[#fields + 1] = '1'
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]))
return id""" % (DATA_FIELD, FIRST_FIELD, WITH_OTHERS_FIELD)

_TAIL = b"$0\r\n\r\n" * 3  # the three per-message arguments, empty
# Everything before the stream's name: the same for every append.
_BEFORE_STREAM = len(pack(b"EVAL", APPEND_SCRIPT, 2, *[b""] * 6)) - len(_TAIL) * 2
_ALONE, _WITH_OTHERS = b"$1\r\n0\r\n", b"$1\r\n1\r\n"  # the last argument


def append_head(stream: bytes, published: bytes, dedupe_window_seconds: int) -> bytes:
    """Everything of the command but the message id and the data (appended per message)."""
    keep_ms = 2 * dedupe_window_seconds * 1000
    return pack(b"EVAL", APPEND_SCRIPT, 2, stream, published, keep_ms, b"", b"", b"")[: -len(_TAIL)]


def append_command(head: bytes, message_id: bytes, data: bytes) -> bytes:
    """One append, unmarked (:func:`marked_with_others` marks it)."""
    return b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n%s" % (head, len(message_id), message_id, len(data), data, _ALONE)


def _through_stream(command: bytes) -> int:
    """Where the stream's name ends in one packed append command."""
    size_end = command.index(b"\r\n", _BEFORE_STREAM)
    return size_end + 2 + int(command[_BEFORE_STREAM + 1 : size_end])


def marked_with_others(commands: list[bytes]) -> list[bytes]:
    """``commands`` (one transaction's appends) with each entry marked ``m`` when they write to
    more than one stream; as they are otherwise. (Two appends write to the same stream when they
    agree up to its name: the name's length is part of it.)"""
    first = commands[0]
    head = first[: _through_stream(first)]
    if all(command.startswith(head) for command in commands):
        return commands
    return [command[: -len(_ALONE)] + _WITH_OTHERS for command in commands]


def append_parts(command: bytes) -> tuple[bytes, bytes]:
    """The stream and the data of one packed append command (what the publisher buffers)."""
    parts: list[bytes] = []
    pos = command.index(b"\r\n") + 2  # past "*9"
    while pos < len(command):
        end = command.index(b"\r\n", pos)
        size = int(command[pos + 1 : end])
        parts.append(command[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2
    if len(parts) != 9 or parts[0] != b"EVAL" or parts[1] != APPEND_SCRIPT:
        raise ValueError(f"not an append command: {command[:40]!r}")
    return parts[3], parts[7]

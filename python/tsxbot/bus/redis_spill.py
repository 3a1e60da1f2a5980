"""Durable messages Redis had not confirmed when the bus closed: kept in a local file, never dropped.

``<spillDir>/<namespace>.jsonl`` holds one line per message, in publish order:
``{"stream": "<key>", "messageId": "<id>", "envelope": {...}}``. It is written whole (temporary
file, fsync, rename), so a crash leaves either the old file or the new one. The next start of a
publisher in that namespace sends them again first; consumers skip a copy Redis had taken after
all (deduplication by message id). The file goes once Redis has confirmed every one of them. A
line that cannot be read is moved aside to ``<namespace>.corrupt-<time>.jsonl`` and reported.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tsxbot.bus.redis_names import DATA_FIELD
from tsxbot.bus.resp import pack
from tsxbot.log import get_logger
from tsxbot.messages import decode

log = get_logger("tsxbot.bus.redis")


class _Line(msgspec.Struct, rename="camel"):
    stream: str
    message_id: str
    envelope: msgspec.Raw


@dataclass(frozen=True)
class Spilled:
    stream: bytes
    data: bytes  # the encoded envelope, as XADD sends it

    @property
    def command(self) -> bytes:
        return pack(b"XADD", self.stream, b"*", DATA_FIELD, self.data)


def xadd_parts(command: bytes) -> Spilled:
    """The stream and the data of one packed ``XADD <key> * d <data>`` (what the publisher
    buffers)."""
    parts: list[bytes] = []
    pos = command.index(b"\r\n") + 2  # past "*5"
    while pos < len(command):
        end = command.index(b"\r\n", pos)
        size = int(command[pos + 1 : end])
        parts.append(command[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2
    if len(parts) != 5 or parts[0] != b"XADD":
        raise ValueError(f"not an XADD command: {command[:40]!r}")
    return Spilled(parts[1], parts[4])


class SpillFile:
    def __init__(self, directory: str | Path, namespace: str) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"{namespace}.jsonl"
        self._namespace = namespace

    def write(self, commands: list[bytes]) -> None:
        """Replaces the file with these buffered XADD commands (fsync'd); removes it when empty."""
        if not commands:
            self.remove()
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = []
        for command in commands:
            spilled = xadd_parts(command)
            message_id = decode(spilled.data).message_id or ""
            head = msgspec.json.encode({"stream": spilled.stream.decode(), "messageId": message_id})
            lines.append(head[:-1] + b',"envelope":' + spilled.data + b"}\n")
        temporary = self.path.with_suffix(".jsonl.tmp")
        with open(temporary, "wb") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self._sync_directory()

    def read(self) -> list[Spilled]:
        """The messages kept by an earlier run, in order. Unreadable lines go to a side file
        (reported), and the spill file is rewritten without them."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        good: list[Spilled] = []
        bad: list[tuple[int, bytes]] = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = msgspec.json.decode(line, type=_Line)
                decode(entry.envelope)  # an envelope that will not decode is no message
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                bad.append((number, line))
                log.error(
                    "unreadable line in the spill file", file=str(self.path), line=number, error=str(exc)
                )
                continue
            good.append(Spilled(entry.stream.encode(), bytes(entry.envelope)))
        if bad:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            aside = self.directory / f"{self._namespace}.corrupt-{stamp}.jsonl"
            with open(aside, "wb") as handle:
                handle.writelines(line + b"\n" for _, line in bad)
                handle.flush()
                os.fsync(handle.fileno())
            log.error(
                "spill file lines that cannot be read were kept aside, NOT re-sent",
                count=len(bad),
                lines=[n for n, _ in bad],
                kept_in=str(aside),
            )
            self.write([s.command for s in good])
        return good

    def remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

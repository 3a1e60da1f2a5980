"""Durable messages Redis had not confirmed when the bus closed: kept in local files, never dropped.

A publisher that closes with unconfirmed durable messages writes them to a new file
``<spillDir>/<namespace>/<time>-<pid>.jsonl``, one line per message in publish order:
``{"stream": "<key>", "messageId": "<id>", "envelope": {...}}``, written whole (temporary file,
fsync, rename), so a crash leaves the file complete or absent. Each close writes its own file:
several processes sharing a directory and a namespace never overwrite one another's. The next
start of a publisher in that namespace sends every file's messages first, in order; consumers
skip a copy Redis had taken after all (deduplication by message id). A file goes once Redis has
confirmed all its messages, or once a later close has written what was still unconfirmed of it
to a new file. A line that cannot be read is moved aside to ``corrupt-<time>.jsonl`` next to them
and reported.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tsxbot.bus.redis_append import append_parts
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
    data: bytes  # the encoded envelope, as the append command sends it

    @property
    def message_id(self) -> str:
        return decode(self.data).message_id or ""

    @property
    def line(self) -> bytes:
        head = msgspec.json.encode({"stream": self.stream.decode(), "messageId": self.message_id})
        return head[:-1] + b',"envelope":' + self.data + b"}\n"


class SpillDirectory:
    def __init__(self, directory: str | Path, namespace: str) -> None:
        self.path = Path(directory) / namespace

    def write(self, commands: list[bytes]) -> Path:
        """A new file with these buffered append commands (``redis_append``), fsync'd."""
        self.path.mkdir(parents=True, exist_ok=True)
        lines = [Spilled(*append_parts(command)).line for command in commands]
        target = self.path / f"{_stamp()}-{os.getpid()}.jsonl"
        self._write_whole(target, lines)
        return target

    def files(self) -> list[Path]:
        """The spill files, oldest first."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("*.jsonl") if not p.name.startswith("corrupt-"))

    def read(self) -> tuple[list[Spilled], list[Path]]:
        """The messages kept by earlier runs, in order, and the files they came from. Lines that
        cannot be read go to a ``corrupt-`` file (reported), and their file is rewritten without
        them."""
        good: list[Spilled] = []
        files = self.files()
        for path in files:
            kept: list[Spilled] = []
            bad: list[tuple[int, bytes]] = []
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = msgspec.json.decode(line, type=_Line)
                    decode(entry.envelope)  # an envelope that will not decode is no message
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                    bad.append((number, line))
                    log.error("unreadable line in a spill file", file=str(path), line=number, error=str(exc))
                    continue
                kept.append(Spilled(entry.stream.encode(), bytes(entry.envelope)))
            if bad:
                aside = self.path / f"corrupt-{_stamp()}-{os.getpid()}.jsonl"
                self._write_whole(aside, [line + b"\n" for _, line in bad])
                log.error(
                    "spill file lines that cannot be read were kept aside, NOT re-sent",
                    count=len(bad),
                    file=str(path),
                    lines=[n for n, _ in bad],
                    kept_in=str(aside),
                )
                self._write_whole(path, [s.line for s in kept])
            good.extend(kept)
        return good, files

    def remove(self, paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
        if paths:
            self._sync_directory()

    def _write_whole(self, target: Path, lines: list[bytes]) -> None:
        temporary = target.with_name(f".{target.name}.tmp")
        with open(temporary, "wb") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")

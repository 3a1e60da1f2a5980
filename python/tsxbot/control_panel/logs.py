"""The log view: the newest lines of each component's log file (``<logDir>/<component>/<date>.log``,
one JSON object a line, as ``tsxbot.log`` writes them), filtered by level and component, merged
oldest first. Reads at most ``TAIL_BYTES`` of each file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TAIL_BYTES = 512 * 1024
MAX_LINES = 1000
LEVELS = ("debug", "info", "warning", "error", "critical")


def components(log_dir: Path) -> list[str]:
    if not log_dir.is_dir():
        return []
    return sorted(p.name for p in log_dir.iterdir() if p.is_dir() and any(p.glob("*.log")))


def _newest(directory: Path) -> Path | None:
    files = [p for p in directory.glob("*.log") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None


def _tail(path: Path) -> list[str]:
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - TAIL_BYTES))
        data = handle.read()
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > TAIL_BYTES else lines  # the first may be cut


def read_logs(
    log_dir: Path, level: str = "info", component: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Entries at ``level`` or above (``ValueError`` for an unknown level or component), newest
    ``limit``, oldest first. A line that is not JSON is shown as it is, at level ``info``."""
    if level not in LEVELS:
        raise ValueError(f"level: one of {', '.join(LEVELS)}")
    known = components(log_dir)
    if component is not None and component not in known:
        raise ValueError(f"component: one of {', '.join(known) or '(no logs yet)'}")
    floor = LEVELS.index(level)
    entries: list[dict[str, Any]] = []
    for name in [component] if component else known:
        newest = _newest(log_dir / name)
        if newest is None:
            continue
        for line in _tail(newest):
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": line, "level": "info"}
            if not isinstance(record, dict):
                continue
            record_level = str(record.get("level", "info")).lower()
            rank = LEVELS.index(record_level) if record_level in LEVELS else LEVELS.index("info")
            if rank < floor:
                continue
            event = str(record.pop("event", ""))
            entries.append(
                {
                    "timestamp": str(record.pop("timestamp", "")),
                    "level": record_level,
                    "component": str(record.pop("component", name)),
                    "logger": str(record.pop("logger", "")),
                    "event": event,
                    "fields": {k: v for k, v in record.items() if k != "level"},
                }
            )
    entries.sort(key=lambda e: e["timestamp"])
    return entries[-max(1, min(limit, MAX_LINES)) :]

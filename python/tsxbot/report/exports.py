"""The report as JSON (schema in README, "Report JSON") and as CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec

from tsxbot.report.model import Report


def to_json(report: Report) -> bytes:
    return msgspec.json.format(msgspec.json.encode(report), indent=2)


def write_json(report: Report, path: Path) -> None:
    path.write_bytes(to_json(report))


def write_csv(report: Report, directory: Path) -> list[Path]:
    """``trades.csv``, ``days.csv`` and ``bots.csv`` in ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def dump(name: str, rows: list[dict[str, object]]) -> None:
        path = directory / name
        with path.open("w", newline="") as fh:
            if rows:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        written.append(path)

    dump("trades.csv", [msgspec.to_builtins(t) for t in report.trades])
    dump("days.csv", [msgspec.to_builtins(d) for d in report.days])
    dump(
        "bots.csv",
        [{"bot_id": b.bot_id, "strategy": b.strategy, **msgspec.to_builtins(b.metrics)} for b in report.bots],
    )
    return written

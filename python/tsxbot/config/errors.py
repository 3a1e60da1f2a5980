"""Config errors: every problem found, each naming where it came from and the key path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Where a value came from: a file (and line), an environment variable, or a ``--set``."""

    source: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class ConfigProblem:
    origin: Origin
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}: {self.path}" if self.path else str(self.origin)
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration could not be loaded; ``problems`` lists everything that was wrong."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{count} configuration problem{'s' if count != 1 else ''}:\n{lines}")

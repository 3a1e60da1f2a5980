"""A search space over a strategy's parameters: from the command line (``--param
fastPeriod=5:20``, ``--param atrStopMultiplier=1.0:3.0:0.5``, ``--param entry=cross,retrace``)
or a small YAML file::

    params:
      fastPeriod: {low: 5, high: 20}            # integers (both bounds whole numbers)
      slowPeriod: {low: 20, high: 60, step: 5}
      atrStopMultiplier: {low: 1.0, high: 3.0, step: 0.5}
      entry: [cross, retrace]                   # choices

Names are the bot YAML's (camelCase). A range with a ``step`` is a grid; without one an integer
range steps by 1 and a float range is continuous (not allowed with the grid sampler).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import yaml

__all__ = ["Choice", "Range", "SpaceError", "grid", "parse_param", "read_space"]

Scalar = int | float | str | bool


class SpaceError(ValueError):
    """A parameter range that cannot be searched; the message names it."""


class Range(msgspec.Struct, frozen=True):
    name: str
    low: float
    high: float
    step: float | None = None
    integer: bool = False

    def values(self) -> list[Scalar]:
        """Every value on the grid (needs a step, or an integer range)."""
        step = self.step if self.step is not None else (1 if self.integer else None)
        if step is None:
            raise SpaceError(f"{self.name}: a float range needs a step for the grid sampler")
        count = round((self.high - self.low) / step) + 1
        out: list[Scalar] = []
        for k in range(count):
            value = self.low + k * step
            out.append(round(value) if self.integer else round(value, 10))
        return out


class Choice(msgspec.Struct, frozen=True):
    name: str
    choices: list[Scalar]


Dimension = Range | Choice


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _word(text: str) -> Scalar:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return _number(text.strip())
    except ValueError:
        return text.strip()


def _range(name: str, low: Any, high: Any, step: Any = None) -> Range:
    for label, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise SpaceError(f"{name}: {label} must be a number, got {value!r}")
    if high < low:
        raise SpaceError(f"{name}: high {high} is below low {low}")
    if step is not None and step <= 0:
        raise SpaceError(f"{name}: step must be > 0, got {step}")
    integer = all(isinstance(v, int) for v in (low, high, step) if v is not None)
    return Range(name, float(low), float(high), None if step is None else float(step), integer)


def parse_param(text: str) -> Dimension:
    """``name=low:high[:step]`` or ``name=a,b,c``."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec.strip():
        raise SpaceError(f"--param {text!r}: expected name=low:high[:step] or name=a,b,c")
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise SpaceError(f"--param {text!r}: expected name=low:high[:step]")
        try:
            numbers = [_number(p.strip()) for p in parts]
        except ValueError:
            raise SpaceError(f"--param {text!r}: low, high and step must be numbers") from None
        return _range(name, *numbers)
    return Choice(name, [_word(p) for p in spec.split(",") if p.strip()])


def read_space(path: Path) -> list[Dimension]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpaceError(f"{path}: cannot read the search space ({exc})") from None
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict) or not params:
        raise SpaceError(f"{path}: expected a mapping 'params' of parameter ranges")
    out: list[Dimension] = []
    for name, spec in params.items():
        if isinstance(spec, list):
            out.append(Choice(str(name), [v for v in spec if isinstance(v, (int, float, str, bool))]))
        elif isinstance(spec, dict) and "low" in spec and "high" in spec:
            unknown = set(spec) - {"low", "high", "step"}
            if unknown:
                raise SpaceError(f"{path}: {name}: unknown keys {sorted(unknown)}")
            out.append(_range(str(name), spec["low"], spec["high"], spec.get("step")))
        else:
            raise SpaceError(f"{path}: {name}: expected {{low, high[, step]}} or a list of choices")
    return out


def grid(space: list[Dimension]) -> dict[str, list[Scalar]]:
    """The grid sampler's search space."""
    return {d.name: (d.values() if isinstance(d, Range) else list(d.choices)) for d in space}

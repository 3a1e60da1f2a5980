"""Validation of a raw config tree against a msgspec Struct type, reporting every problem at once.

msgspec stops at the first error, so the walk over Structs, lists and dicts is done here and each
leaf is converted by msgspec itself (types and ``Meta`` constraints). After the tree converts,
each Struct's own ``problems()`` method (impossible combinations: a stop on the wrong side, a fast
period above the slow one, ...) adds the semantic checks.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

KeyPath = tuple[str | int, ...]
S = TypeVar("S", bound=msgspec.Struct)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config tree, at a key path relative to the tree's root."""

    path: KeyPath
    message: str


@runtime_checkable
class SelfChecking(Protocol):
    """A config Struct with checks across its fields; yields ``(field encode-name or "", message)``."""

    def problems(self) -> Iterable[tuple[str, str]]: ...


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"{value!r} (text)"
    return repr(value)


def validate(data: Any, tp: type[S]) -> tuple[S | None, list[Problem]]:
    """Converts ``data`` to ``tp``; returns the object (or None) and every problem found."""
    problems: list[Problem] = []
    _walk(data, tp, (), problems)
    if problems:
        # Still run the cross-field checks of every section that did convert, so that the whole
        # file's problems come in one run, not one layer per run.
        bad = [p.path for p in problems]
        problems.extend(_partial_semantic(data, tp, (), bad))
        return None, problems
    try:
        obj = msgspec.convert(data, tp)
    except msgspec.ValidationError as exc:  # the walk should have caught it; report, never crash
        return None, [Problem((), str(exc))]
    problems.extend(_semantic(obj, ()))
    return (obj if not problems else None), problems


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _contains_struct(tp: Any) -> bool:
    tp = _unwrap(tp)
    if _is_struct(tp):
        return True
    return any(_contains_struct(a) for a in typing.get_args(tp))


def _walk(value: Any, tp: Any, path: KeyPath, problems: list[Problem]) -> None:
    base = _unwrap(tp)
    origin = typing.get_origin(base)
    if _is_struct(base):
        _walk_struct(value, base, path, problems)
    elif origin in (typing.Union, types.UnionType) and _contains_struct(base):
        options = [a for a in typing.get_args(base) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(base)):
            return
        structs = [a for a in options if _is_struct(_unwrap(a))]
        if isinstance(value, dict) and len(structs) == 1:
            _walk_struct(value, _unwrap(structs[0]), path, problems)
        else:
            _leaf(value, tp, path, problems)
    elif origin is list and _contains_struct(base):
        if not isinstance(value, list):
            problems.append(Problem(path, f"expected a list, got {describe(value)}"))
            return
        (item_tp,) = typing.get_args(base)
        for i, item in enumerate(value):
            _walk(item, item_tp, (*path, i), problems)
    elif origin is dict and _contains_struct(base):
        if not isinstance(value, dict):
            problems.append(Problem(path, f"expected a mapping, got {describe(value)}"))
            return
        _, value_tp = typing.get_args(base)
        for key, item in value.items():
            _walk(item, value_tp, (*path, str(key)), problems)
    else:
        _leaf(value, tp, path, problems)


def _walk_struct(value: Any, tp: type[msgspec.Struct], path: KeyPath, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected a mapping (a section of keys), got {describe(value)}"))
        return
    fields = msgspec.structs.fields(tp)
    known = {f.encode_name: f for f in fields}
    for key in value:
        if key not in known:
            problems.append(Problem((*path, str(key)), _unknown_key_message(str(key), list(known))))
    for f in fields:
        if f.encode_name in value:
            _walk(value[f.encode_name], f.type, (*path, f.encode_name), problems)
        elif f.required:
            problems.append(Problem((*path, f.encode_name), "missing required key"))


_SECRET_LIKE = re.compile(r"(api.?key|password|secret|token|user.?name|credential)", re.I)


def is_secret_like(key: str) -> bool:
    return _SECRET_LIKE.search(key) is not None


def _unknown_key_message(key: str, known: list[str]) -> str:
    if _SECRET_LIKE.search(key):
        return (
            "unknown key: secrets are read only from environment variables (TOPSTEPX_USERNAME, "
            "TOPSTEPX_API_KEY, TSXBOT_API_KEY, TELEGRAM_BOT_TOKEN, DISCORD_WEBHOOK_URL, SLACK_WEBHOOK_URL, "
            "TSXBOT_ALERT_WEBHOOK_URL), never from config files; remove it from the file"
        )
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key{hint} (expected one of: {', '.join(known)})"


def _leaf(value: Any, tp: Any, path: KeyPath, problems: list[Problem]) -> None:
    try:
        msgspec.convert(value, tp)
    except msgspec.ValidationError as exc:
        # msgspec says "Expected `int`, got `str`"; name the value itself instead of its type.
        # For nested leaves (list items) it appends "- at `$[2]`": kept, it names the spot.
        choices = _choices(tp)
        if choices is not None and str(exc).startswith("Invalid enum value"):
            problems.append(Problem(path, f"expected one of {', '.join(choices)}; got {describe(value)}"))
            return
        text = re.sub(r", got `[^`]+`", "", str(exc))
        text = text[0].lower() + text[1:] if text else text
        problems.append(Problem(path, f"{text}, got {describe(value)}"))


def _choices(tp: Any) -> list[str] | None:
    """The allowed values of a Literal or Enum type (through Optional and Annotated), or None."""
    base = _unwrap(tp)
    if typing.get_origin(base) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(base) if a is not type(None)]
        base = _unwrap(options[0]) if len(options) == 1 else base
    if typing.get_origin(base) is typing.Literal:
        return [repr(a) if isinstance(a, str) else str(a) for a in typing.get_args(base)]
    if isinstance(base, type) and issubclass(base, Enum):
        return [repr(m.value) for m in base]
    return None


def _partial_semantic(value: Any, tp: Any, path: KeyPath, bad: list[KeyPath]) -> Iterator[Problem]:
    """``_semantic`` for each largest subtree of ``value`` with none of the ``bad`` paths in it."""
    base = _unwrap(tp)
    if not _contains_struct(base):
        return
    if not any(p[: len(path)] == path for p in bad):
        try:
            obj = msgspec.convert(value, tp)
        except msgspec.ValidationError:
            return
        yield from _semantic(obj, path)
        return
    origin = typing.get_origin(base)
    if origin in (typing.Union, types.UnionType):
        structs = [_unwrap(a) for a in typing.get_args(base) if _is_struct(_unwrap(a))]
        base = structs[0] if len(structs) == 1 else base
    if _is_struct(base) and isinstance(value, dict):
        for f in msgspec.structs.fields(base):
            if f.encode_name in value:
                yield from _partial_semantic(value[f.encode_name], f.type, (*path, f.encode_name), bad)
    elif origin is list and isinstance(value, list):
        (item_tp,) = typing.get_args(base)
        for i, item in enumerate(value):
            yield from _partial_semantic(item, item_tp, (*path, i), bad)
    elif origin is dict and isinstance(value, dict):
        _, value_tp = typing.get_args(base)
        for key, item in value.items():
            yield from _partial_semantic(item, value_tp, (*path, str(key)), bad)


def _semantic(obj: Any, path: KeyPath) -> Iterator[Problem]:
    if isinstance(obj, msgspec.Struct):
        for f in msgspec.structs.fields(obj):
            yield from _semantic(getattr(obj, f.name), (*path, f.encode_name))
        if isinstance(obj, SelfChecking):
            for key, message in obj.problems():
                yield Problem((*path, key) if key else path, message)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _semantic(item, (*path, i))
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _semantic(item, (*path, str(key)))

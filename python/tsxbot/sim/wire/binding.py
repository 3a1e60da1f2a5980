"""Model binding as ASP.NET Core does it for a ``[FromBody]`` parameter (System.Text.Json with its
web defaults), for every REST request body of the simulator.

The body is decoded once (numbers kept exact), then walked against the request type; whatever
ProjectX's model could not hold is HTTP 400 with a ProblemDetails body naming the property, as
ASP.NET answers, and never reaches the exchange:

- an empty body: ``{"": ["A non-empty request body is required."]}``;
- malformed JSON (a syntax error, invalid UTF-8, NaN or Infinity, nesting deeper than 64) under
  ``$``;
- a value the property's .NET type cannot hold, under ``$.<path>``: ``int`` fields are Int32
  (``orderId`` is Int64), so a fraction, an exponent, a number out of range or a value of the
  wrong kind is refused; ``float`` fields are .NET decimals (at most 79,228,162,514,264,337,593,
  543,950,335 either way); numbers may come as strings (``AllowReadingFromString``);
- a missing required property: ``{"ContractId": ["The ContractId field is required."]}``.

Property names match case-insensitively at every level; unknown properties are ignored. Booleans
are also read from "true"/"false" strings (more lenient than System.Text.Json; kept because
clients rely on it).
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

S = TypeVar("S", bound=msgspec.Struct)

EMPTY_BODY = "A non-empty request body is required."
MAX_DEPTH = 64  # System.Text.Json's default JsonSerializerOptions.MaxDepth
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT32 = ("System.Int32", INT32_MIN, INT32_MAX)
INT64 = ("System.Int64", -(2**63), 2**63 - 1)
# ProjectX's int64 properties in request bodies; every other integer property is an int32.
INT64_FIELDS = frozenset({"orderId"})
# Request properties that are DateTime on ProjectX (kept as text here, parsed by the endpoint).
DATETIME_FIELDS = frozenset(
    {"startTime", "endTime", "startTimestamp", "endTimestamp", "createdAfter", "createdBefore"}
)
DECIMAL_MAX = Decimal("79228162514264337593543950335")

_INT_TEXT = re.compile(r"-?[0-9]{1,30}")
_NUMBER_TEXT = re.compile(r"-?[0-9]{1,400}(\.[0-9]{1,400})?([eE][+-]?[0-9]{1,9})?")
_TOKEN_END = re.compile(rb'"(?:[^"\\]|\\.)*"|[^,}\]\s]*')


class BadRequest(Exception):
    """HTTP 400: ``errors`` as ASP.NET's ValidationProblemDetails lists them."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


class _OutOfRange:
    """A JSON number that no .NET numeric type can hold (an exponent beyond Decimal's)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _number(text: str) -> Decimal | _OutOfRange:
    try:
        return Decimal(text)
    except ArithmeticError:
        return _OutOfRange(text)


_decoder = msgspec.json.Decoder(float_hook=_number)


def bind(body: bytes, kind: type[S]) -> S:
    """The body as ``kind``, or ``BadRequest`` saying what ASP.NET would say."""
    if not body.strip():
        raise BadRequest({"": [EMPTY_BODY]})
    try:
        raw = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest({"$": [_syntax_error(body, exc)]}) from None
    except msgspec.ValidationError:  # an integer literal of thousands of digits
        raise BadRequest({"$": ["A JSON number is out of range for every numeric type. Path: $."]}) from None
    except RecursionError:
        raise BadRequest({"$": [_too_deep()]}) from None
    if depth(raw) > MAX_DEPTH:
        raise BadRequest({"$": [_too_deep()]})
    binder = _Binder(body)
    value = binder.struct(raw, _struct_info(kind), "$", "")
    if binder.missing:
        raise BadRequest(binder.missing)
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:  # the walk above admits only what converts
        raise BadRequest(
            {"$": [f"The JSON value could not be converted to {kind.__name__}. {exc}"]}
        ) from None


@functools.cache
def _struct_info(kind: type[msgspec.Struct]) -> mi.StructType:
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    return info


def _too_deep() -> str:
    return f"The maximum configured depth of {MAX_DEPTH} has been exceeded. Path: $."


def _syntax_error(body: bytes, exc: msgspec.DecodeError) -> str:
    text = str(exc)
    if "truncated" in text:
        return (
            "The JSON payload ended before it was complete (an object, array or string is not closed). "
            f"Path: $ | {_position(body, len(body))}."
        )
    found = re.search(r"\(byte (\d+)\)", text)
    if found:
        at = int(found.group(1))
        byte = body[at : at + 1]
        shown = (
            f"'{byte.decode()}'"
            if byte.isascii() and byte.decode().isprintable()
            else f"0x{byte.hex().upper()}"
        )
        return f"{shown} is invalid here: the JSON is malformed. Path: $ | {_position(body, at)}."
    return f"The JSON payload is not valid JSON ({text}). Path: $."


def _position(body: bytes, at: int) -> str:
    line_start = body.rfind(b"\n", 0, at) + 1
    line = body.count(b"\n", 0, at)
    return f"LineNumber: {line} | BytePositionInLine: {at - line_start}"


def depth(value: Any) -> int:
    """Nesting of arrays and objects (a scalar is 0, ``{}`` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


class _Binder:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.missing: dict[str, list[str]] = {}

    def fail(self, path: str, net: str) -> BadRequest:
        where = self._locate(path)
        suffix = f" | {where}" if where else ""
        return BadRequest({path: [f"The JSON value could not be converted to {net}. Path: {path}{suffix}."]})

    def _locate(self, path: str) -> str | None:
        """Where the property's value ends in the body (best effort: its first occurrence)."""
        name = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
        if not name or name == "$":
            return None
        key = re.search(rb'"' + re.escape(name.encode()) + rb'"\s*:\s*', self.body, re.IGNORECASE)
        if key is None:
            return None
        token = _TOKEN_END.match(self.body, key.end())
        end = token.end() if token is not None and token.end() > key.end() else key.end() + 1
        return _position(self.body, end)

    def struct(self, raw: Any, info: mi.StructType, path: str, model: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(path, info.cls.__name__)
        by_name = {str(k).lower(): v for k, v in raw.items()}
        out: dict[str, Any] = {}
        for field in info.fields:
            name = field.encode_name
            child = f"{path}.{name}"
            if name.lower() not in by_name:
                if field.required:
                    label = f"{model}{_pascal(name)}"
                    self.missing[label] = [f"The {_pascal(name)} field is required."]
                continue
            value = by_name[name.lower()]
            if value is None and field.required and isinstance(field.type, mi.StrType | mi.StructType):
                # A null reference: bound, then refused by validation as missing.
                label = f"{model}{_pascal(name)}"
                self.missing[label] = [f"The {_pascal(name)} field is required."]
                continue
            out[name] = self.value(value, field.type, child, name, f"{model}{_pascal(name)}.")
        return out

    def value(self, raw: Any, kind: mi.Type, path: str, name: str, model: str) -> Any:
        if isinstance(kind, mi.UnionType):
            if raw is None and any(isinstance(t, mi.NoneType) for t in kind.types):
                return None
            inner = [t for t in kind.types if not isinstance(t, mi.NoneType)]
            if len(inner) != 1:
                return raw
            only = inner[0]
            scalar = isinstance(only, mi.IntType | mi.FloatType | mi.BoolType) or (
                isinstance(only, mi.StrType) and name in DATETIME_FIELDS
            )
            if not scalar:  # a reference type: nullable already, and nested paths must stay
                return self.value(raw, only, path, name, model)
            try:
                return self.value(raw, only, path, name, model)
            except BadRequest:
                raise self.fail(path, f"System.Nullable`1[{_net_name(only, name)}]") from None
        if isinstance(kind, mi.IntType):
            return self._int(raw, path, INT64 if name in INT64_FIELDS else INT32)
        if isinstance(kind, mi.FloatType):
            return self._decimal(raw, path)
        if isinstance(kind, mi.BoolType):
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise self.fail(path, "System.Boolean")
        if isinstance(kind, mi.StrType):
            if isinstance(raw, str):
                return raw
            raise self.fail(path, _net_name(kind, name))
        if isinstance(kind, mi.StructType):
            return self.struct(raw, kind, path, model)
        if isinstance(kind, mi.ListType):
            if not isinstance(raw, list):
                raise self.fail(path, f"System.Collections.Generic.List`1[{_net_name(kind.item_type, name)}]")
            return [self.value(v, kind.item_type, f"{path}[{i}]", name, model) for i, v in enumerate(raw)]
        return raw

    def _int(self, raw: Any, path: str, net: tuple[str, int, int]) -> int:
        type_name, low, high = net
        value: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INT_TEXT.fullmatch(raw):
            value = int(raw)
        if value is None or not low <= value <= high:
            raise self.fail(path, type_name)
        return value

    def _decimal(self, raw: Any, path: str) -> float:
        number: Decimal | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            number = Decimal(raw)
        elif isinstance(raw, Decimal):
            number = raw
        elif isinstance(raw, str) and _NUMBER_TEXT.fullmatch(raw):
            parsed = _number(raw)
            number = parsed if isinstance(parsed, Decimal) else None
        if number is None or not number.is_finite() or number.copy_abs() > DECIMAL_MAX:
            raise self.fail(path, "System.Decimal")
        return float(number)


def _net_name(kind: mi.Type, name: str) -> str:
    if isinstance(kind, mi.IntType):
        return (INT64 if name in INT64_FIELDS else INT32)[0]
    if isinstance(kind, mi.FloatType):
        return "System.Decimal"
    if isinstance(kind, mi.BoolType):
        return "System.Boolean"
    if isinstance(kind, mi.StrType):
        return "System.DateTime" if name in DATETIME_FIELDS else "System.String"
    if isinstance(kind, mi.StructType):
        return kind.cls.__name__
    return "System.Object"

"""Unwrapping hub event arguments. ProjectX sends the same entity in several shapes (bare object,
``{"action": n, "data": {...}}``, ``[id, {...}]``, or a list of those), and market data as one
row or a list of rows; every client has to accept them all."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def user_entities(arguments: list[Any]) -> list[tuple[int | None, Row]]:
    """A user-hub event's arguments -> [(action or None, entity)]."""
    out: list[tuple[int | None, Row]] = []
    for arg in arguments:
        _collect_entity(arg, out)
    return out


def _collect_entity(value: Any, out: list[tuple[int | None, Row]]) -> None:
    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(data, dict) and "action" in value:
            action = value.get("action")
            out.append((action if isinstance(action, int) else None, data))
        elif isinstance(data, list) and "action" in value:
            for item in data:
                _collect_entity(item, out)
        else:
            out.append((None, value))
    elif isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], (int, str)) and isinstance(value[1], dict):
            out.append((None, value[1]))  # [id, data]
        else:
            for item in value:
                _collect_entity(item, out)


def market_rows(arguments: list[Any]) -> tuple[str | None, list[Row]]:
    """A market-hub event's arguments ``(contractId, data)`` -> (contract id, rows)."""
    if not arguments:
        return None, []
    contract_id = arguments[0] if isinstance(arguments[0], str) else None
    rows: list[Row] = []
    for value in arguments[1:] if contract_id is not None else arguments:
        _collect_rows(value, rows)
    return contract_id, rows


def _collect_rows(value: Any, rows: list[Row]) -> None:
    if isinstance(value, dict):
        data = value.get("data")
        if "action" in value and isinstance(data, (dict, list)):
            _collect_rows(data, rows)
        else:
            rows.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect_rows(item, rows)

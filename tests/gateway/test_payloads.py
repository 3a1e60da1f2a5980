"""Hub payload shapes seen in the wild: bare, {action, data}, [id, data], lists of any of them."""

from __future__ import annotations

from tsxbot.gateway.payloads import market_rows, user_entities

ORDER = {"id": 1, "accountId": 7, "status": 1}


def test_bare_entity() -> None:
    assert user_entities([ORDER]) == [(None, ORDER)]


def test_wrapped_entity() -> None:
    assert user_entities([{"action": 1, "data": ORDER}]) == [(1, ORDER)]


def test_id_data_pair() -> None:
    assert user_entities([[1, ORDER]]) == [(None, ORDER)]


def test_list_of_mixed_shapes() -> None:
    other = {"id": 2, "accountId": 7, "status": 2}
    got = user_entities([[ORDER, {"action": 0, "data": other}]])
    assert got == [(None, ORDER), (0, other)]


def test_wrapped_list() -> None:
    assert user_entities([{"action": 2, "data": [ORDER]}]) == [(None, ORDER)]


def test_market_rows_as_list_and_as_single_object() -> None:
    rows = [{"price": 1.0, "volume": 2}, {"price": 1.25, "volume": 1}]
    assert market_rows(["CON.F.US.EP.Z25", rows]) == ("CON.F.US.EP.Z25", rows)
    assert market_rows(["CON.F.US.EP.Z25", rows[0]]) == ("CON.F.US.EP.Z25", [rows[0]])
    assert market_rows(["CON.F.US.EP.Z25", {"action": 1, "data": rows}]) == ("CON.F.US.EP.Z25", rows)


def test_market_rows_garbage_is_empty_not_an_error() -> None:
    assert market_rows([]) == (None, [])
    assert market_rows(["CON.F.US.EP.Z25", None, 5, "x"]) == ("CON.F.US.EP.Z25", [])

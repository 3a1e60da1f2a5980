"""The simulator's session tokens: a token it issued is valid until revoked or expired, however
often it is presented; any other string (a changed signature, a changed claim, a stranger) is
refused with the reason."""

from __future__ import annotations

from tsxbot.sim.tokens import TokenProblem, TokenStore


def _changed(token: str, part: int) -> str:
    parts = token.split(".")
    text = parts[part]
    parts[part] = text[:-2] + ("AA" if text[-2:] != "AA" else "BB")
    return ".".join(parts)


def test_an_issued_token_stays_valid_until_revoked_or_expired() -> None:
    store = TokenStore(3600)
    token = store.issue("demo")
    for _ in range(3):  # presented on every request
        check = store.check(token)
        assert check.problem is None
        assert check.info is not None and check.info.user_name == "demo"
    store.expire_all()
    assert store.check(token).problem is TokenProblem.EXPIRED
    other = store.issue("demo")
    assert other != token
    store.revoke(store.check(other).info.jti)  # type: ignore[union-attr]
    assert store.check(other).problem is TokenProblem.REVOKED


def test_strings_it_did_not_issue_are_refused_with_the_reason() -> None:
    store = TokenStore(3600)
    token = store.issue("demo")
    assert store.check(None).problem is TokenProblem.MISSING
    assert store.check("not-a-jwt").problem is TokenProblem.MALFORMED
    assert store.check(_changed(token, 2)).problem is TokenProblem.BAD_SIGNATURE
    assert store.check(_changed(token, 1)).problem is TokenProblem.BAD_SIGNATURE
    assert TokenStore(3600).check(token).problem is TokenProblem.BAD_SIGNATURE  # another store's

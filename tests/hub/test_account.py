"""The local control plane's account, TOTP codes and token store (pure units)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.control.account import (
    DEMO_ACCOUNT_FILE,
    DEMO_EMAIL,
    LocalAccount,
    account_from_options,
    check_password_hash,
    hash_password,
)
from thalovant.hub.control.tokens import TokenStore
from thalovant.hub.control.totp import new_totp_secret, totp_code, verify_totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_totp_rfc6238_vectors(at: int, code: str) -> None:
    assert totp_code(RFC_SECRET, at) == code
    assert verify_totp(RFC_SECRET, code, at)
    assert verify_totp(RFC_SECRET, code, at + 30)  # one step of drift
    assert not verify_totp(RFC_SECRET, code, at + 90)


def test_totp_rejects_junk() -> None:
    secret = new_totp_secret()
    assert not verify_totp(secret, "12345")
    assert not verify_totp(secret, "abcdef")
    with pytest.raises(ValueError, match="base32"):
        totp_code("not base32 !!")


def test_password_hash_round_trip() -> None:
    stored = hash_password("pw")
    assert "pw" not in stored.split("$")
    assert check_password_hash(stored, "pw")
    assert not check_password_hash(stored, "PW")
    assert not check_password_hash("garbage", "pw")


def test_account_checks_and_repr() -> None:
    account = LocalAccount.create("Ada@Example.test", "pw", recovery_codes=["r1"])
    assert account.check_password("ada@example.test", "pw")
    assert not account.check_password("ada@example.test", "nope")
    assert not account.two_step
    assert account.check_second_factor(None, None)
    assert "pw" not in repr(account)
    assert account.profile()["email"] == "Ada@Example.test"
    with pytest.raises(ValueError, match="@"):
        LocalAccount.create("nobody", "pw")
    with pytest.raises(ValueError, match="TOTP"):
        LocalAccount.create("a@b.c", "pw", totp_secret="!!")


def test_demo_account_is_created_once(tmp_path: Path) -> None:
    first, password = account_from_options(tmp_path)
    assert first.email == DEMO_EMAIL
    assert password
    assert (tmp_path / DEMO_ACCOUNT_FILE).stat().st_mode & 0o077 == 0
    _, same = account_from_options(tmp_path)
    assert same == password
    given, shown = account_from_options(tmp_path, "me@x.test", "pw")
    assert (given.email, shown) == ("me@x.test", None)
    two_step, _ = account_from_options(tmp_path, totp_secret=new_totp_secret())
    assert two_step.two_step
    with pytest.raises(ThalovantRuntimeError, match="both"):
        account_from_options(tmp_path, "me@x.test", None)
    with pytest.raises(ThalovantRuntimeError, match="invalid local account"):
        account_from_options(tmp_path, "nobody", "pw")


def test_token_store_issue_check_expire_revoke() -> None:
    now = [1000.0]
    store = TokenStore(ttl=60, clock=lambda: now[0])
    token, record = store.issue(["hubs:read"])
    assert token.startswith("tvpat_")
    assert store.check(token) == (record, "")
    assert store.check(token + "x") == (None, "invalid_token")
    answer = record.answer(token)
    assert answer["expires_in"] == 60
    assert answer["scopes"] == ["hubs:read"]
    assert token not in repr(store.__dict__)
    other, other_record = store.issue()
    assert store.revoke(other_record.token_id)
    assert not store.revoke(other_record.token_id)
    assert store.check(other) == (None, "invalid_token")
    now[0] += 61
    assert store.check(token) == (None, "token_expired")
    assert len(store) == 0
    with pytest.raises(ValueError, match="ttl"):
        TokenStore(ttl=0)

"""Sign-in: password login, device login, browser login, token revocation, profile."""

from __future__ import annotations

import webbrowser
from typing import Any

import pytest

from thalovant.control.client import (
    AsyncThalovantControlPlane,
    DeviceAuthorization,
    DeviceLoginToken,
)
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantDeviceLoginDenied,
    ThalovantDeviceLoginExpired,
    ThalovantDeviceLoginPending,
    ThalovantTimeoutError,
)

from .conftest import TOKEN, Canned, FakeAPI, FakeTime

pytestmark = pytest.mark.anyio

DEVICE_CODE = "dev_c0de_abcdefghijklmnopqrstuvwxyz"
NEW_TOKEN = "tvpat_new_token_zyxwvutsrqponmlkjihg"
AUTHORIZE = {
    "device_code": DEVICE_CODE,
    "user_code": "ABCD-EFGH",
    "verification_uri": "https://dash.thalovant.com/device",
    "verification_uri_complete": "https://dash.thalovant.com/device?user_code=ABCD-EFGH",
    "interval": 3,
    "expires_in": 600,
}
GRANTED = {
    "access_token": NEW_TOKEN,
    "token_type": "bearer",
    "scopes": ["hubs:read", "clients:write"],
    "expires_at": "2030-01-01T00:00:00Z",
    "token_id": "tok_1",
}


def pending(error: str, **extra: Any) -> Canned:
    return Canned(400, {"error": error, **extra})


async def test_login_sends_credentials_and_stores_token(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/auth/token", {"access_token": NEW_TOKEN, "token_id": "t9"})
    answer = await anon.login(
        "me@example.com", "s3cret-password", scope=["hubs:read"], otp_code="123456"
    )
    assert answer["access_token"] == NEW_TOKEN
    assert anon.access_token == NEW_TOKEN
    assert anon.token_id == "t9"
    sent = fake_api.last
    assert (sent.method, sent.path) == ("POST", "/v1/auth/token")
    assert sent.json == {
        "email": "me@example.com",
        "password": "s3cret-password",
        "scope": "hubs:read",
        "otp_code": "123456",
    }
    assert "authorization" not in sent.headers
    fake_api.reply("GET", "/v1/hubs", {"data": []})
    await anon.list_hubs()
    assert fake_api.last.headers["authorization"] == f"Bearer {NEW_TOKEN}"


async def test_login_minimal_body_and_recovery_code(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/auth/token", {"access_token": NEW_TOKEN})
    await anon.login("me@example.com", "pw-long-enough")
    assert fake_api.last.json == {"email": "me@example.com", "password": "pw-long-enough"}
    await anon.login("me@example.com", "pw-long-enough", recovery_code="rc-1")
    assert fake_api.last.json["recovery_code"] == "rc-1"
    assert anon.token_id is None


async def test_login_mfa_required_does_not_store_anything(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on(
        "POST", "/v1/auth/token", Canned(401, {"detail": "MFA required", "code": "mfa_required"})
    )
    with pytest.raises(ThalovantAuthError) as caught:
        await anon.login("me@example.com", "s3cret-password")
    assert caught.value.code == "mfa_required"
    assert "s3cret-password" not in str(caught.value)
    assert anon.access_token is None


async def test_login_error_never_echoes_password(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    body = {"detail": "bad password s3cret-password", "input": {"password": "s3cret-password"}}
    fake_api.on("POST", "/v1/auth/token", Canned(400, body))
    with pytest.raises(ThalovantAPIError) as caught:
        await anon.login("me@example.com", "s3cret-password")
    assert "s3cret-password" not in str(caught.value)
    assert "s3cret-password" not in repr(caught.value.problem)
    assert "s3cret-password" not in (caught.value.detail or "")


async def test_begin_device_login(anon: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    grant = await anon.begin_device_login(
        ["hubs:read", "clients:write"], client_name="Kitchen", client_id="ha"
    )
    assert isinstance(grant, DeviceAuthorization)
    assert (grant.user_code, grant.interval, grant.expires_in) == ("ABCD-EFGH", 3.0, 600.0)
    assert fake_api.last.json == {
        "scopes": ["hubs:read", "clients:write"],
        "client_name": "Kitchen",
        "client_id": "ha",
    }
    assert DEVICE_CODE not in repr(grant)


async def test_begin_device_login_defaults(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    answer = {k: v for k, v in AUTHORIZE.items() if k not in ("interval", "expires_in")}
    fake_api.reply("POST", "/v1/auth/device/authorize", answer)
    grant = await anon.begin_device_login(scopes=[])
    assert fake_api.last.json == {}  # empty scope list omitted
    assert (grant.interval, grant.expires_in) == (5.0, 900.0)


async def test_begin_device_login_incomplete_answer(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/auth/device/authorize", {"device_code": DEVICE_CODE})
    with pytest.raises(ThalovantAPIError) as caught:
        await anon.begin_device_login()
    assert DEVICE_CODE not in str(caught.value)


async def test_poll_device_login_states(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on(
        "POST",
        "/v1/auth/device/token",
        pending("authorization_pending"),
        pending("slow_down"),
        pending("authorization_pending", interval=7),
        pending("expired_token"),
        pending("access_denied"),
        Canned(200, GRANTED),
    )
    with pytest.raises(ThalovantDeviceLoginPending) as first:
        await anon.poll_device_login(DEVICE_CODE)
    assert (first.value.interval, first.value.code) == (5.0, "authorization_pending")
    with pytest.raises(ThalovantDeviceLoginPending) as slow:
        await anon.poll_device_login(DEVICE_CODE, interval=5.0)
    assert (slow.value.interval, slow.value.code) == (10.0, "slow_down")
    with pytest.raises(ThalovantDeviceLoginPending) as told:
        await anon.poll_device_login(DEVICE_CODE)
    assert told.value.interval == 7.0
    with pytest.raises(ThalovantDeviceLoginExpired):
        await anon.poll_device_login(DEVICE_CODE)
    with pytest.raises(ThalovantDeviceLoginDenied) as denied:
        await anon.poll_device_login(DEVICE_CODE)
    assert isinstance(denied.value, ThalovantAPIError)
    for err in (first.value, slow.value, told.value, denied.value):
        assert DEVICE_CODE not in str(err)
    token = await anon.poll_device_login(DEVICE_CODE)
    assert isinstance(token, DeviceLoginToken)
    assert anon.access_token == NEW_TOKEN
    assert anon.token_id == "tok_1"
    assert token.scopes == ("hubs:read", "clients:write")
    assert NEW_TOKEN not in repr(token)
    assert NEW_TOKEN not in str(token.as_dict())
    assert token.as_dict(include_secrets=True)["access_token"] == NEW_TOKEN
    assert fake_api.last.json == {"device_code": DEVICE_CODE}


async def test_device_code_error_nested_code(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("POST", "/v1/auth/device/token", Canned(400, {"detail": {"code": "slow_down"}}))
    with pytest.raises(ThalovantDeviceLoginPending) as caught:
        await anon.poll_device_login(DEVICE_CODE, interval=3)
    assert caught.value.interval == 8.0


async def test_login_with_browser_flow(
    anon: AsyncThalovantControlPlane,
    fake_api: FakeAPI,
    fake_time: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []

    def record(url: str, *args: Any, **kw: Any) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", record)
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    fake_api.on(
        "POST",
        "/v1/auth/device/token",
        pending("authorization_pending"),
        pending("slow_down"),
        pending("authorization_pending"),
        pending("slow_down"),
        Canned(200, GRANTED),
    )
    shown: list[Any] = []
    token = await anon.login_with_browser(
        scopes="hubs:read", client_name="CLI", prompt=shown.append
    )
    assert token.access_token == NEW_TOKEN
    assert anon.access_token == NEW_TOKEN
    assert anon.token_id == "tok_1"
    assert fake_time.sleeps == [3.0, 3.0, 8.0, 8.0, 13.0]
    assert len(shown) == 1
    assert "ABCD-EFGH" in str(shown[0])
    assert "https://dash.thalovant.com/device" in str(shown[0])
    assert DEVICE_CODE not in str(shown[0])
    assert DEVICE_CODE not in str(dict(shown[0]))
    assert opened == [AUTHORIZE["verification_uri_complete"]]
    assert fake_api.calls("POST", "/v1/auth/device/authorize")[0].json == {
        "scopes": ["hubs:read"],
        "client_name": "CLI",
    }


async def test_login_with_browser_prints_and_survives_broken_browser(
    anon: AsyncThalovantControlPlane,
    fake_api: FakeAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(url: str, *args: Any, **kw: Any) -> bool:
        raise webbrowser.Error("no browser")

    monkeypatch.setattr(webbrowser, "open", broken)
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    fake_api.reply("POST", "/v1/auth/device/token", GRANTED)
    await anon.login_with_browser()
    out = capsys.readouterr().out
    assert "ABCD-EFGH" in out
    assert "https://dash.thalovant.com/device" in out


async def test_login_with_browser_async_prompt_and_no_browser(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("browser opened"))
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    fake_api.reply("POST", "/v1/auth/device/token", GRANTED)
    shown: list[Any] = []

    async def prompt(message: Any) -> None:
        shown.append(message)

    await anon.login_with_browser(open_browser=False, prompt=prompt)
    assert len(shown) == 1


async def test_login_with_browser_never_opens_other_schemes(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("browser opened"))
    answer = {**AUTHORIZE, "verification_uri_complete": "file:///etc/passwd"}
    fake_api.reply("POST", "/v1/auth/device/authorize", answer)
    fake_api.reply("POST", "/v1/auth/device/token", GRANTED)
    await anon.login_with_browser(prompt=lambda m: None)


@pytest.mark.parametrize(
    ("error", "expected"),
    [("access_denied", ThalovantDeviceLoginDenied), ("expired_token", ThalovantDeviceLoginExpired)],
)
async def test_login_with_browser_denied_or_expired(
    anon: AsyncThalovantControlPlane,
    fake_api: FakeAPI,
    error: str,
    expected: type[ThalovantAPIError],
) -> None:
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    fake_api.on("POST", "/v1/auth/device/token", pending("authorization_pending"), pending(error))
    with pytest.raises(expected) as caught:
        await anon.login_with_browser(open_browser=False, prompt=lambda m: None)
    assert DEVICE_CODE not in str(caught.value)
    assert anon.access_token is None


async def test_login_with_browser_timeout(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.reply("POST", "/v1/auth/device/authorize", AUTHORIZE)
    fake_api.on("POST", "/v1/auth/device/token", pending("authorization_pending"))
    with pytest.raises(ThalovantTimeoutError, match="within 10 s"):
        await anon.login_with_browser(open_browser=False, prompt=lambda m: None, timeout=10.0)
    assert fake_time.sleeps == [3.0, 3.0, 3.0, 1.0]
    assert len(fake_api.calls("POST", "/v1/auth/device/token")) == 4


async def test_revoke_own_token_treats_401_as_success(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/auth/token", {"access_token": NEW_TOKEN, "token_id": "tok_1"})
    await anon.login("me@example.com", "pw-long-enough")
    fake_api.on("DELETE", "/v1/auth/api-tokens/tok_1", Canned(401, {"detail": "Token revoked"}))
    await anon.revoke_api_token("tok_1")
    assert fake_api.last.headers["authorization"] == f"Bearer {NEW_TOKEN}"
    assert anon.access_token is None
    assert anon.token_id is None


async def test_revoke_other_token(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.on("DELETE", "/v1/auth/api-tokens/tok_2", Canned(204))
    await api.revoke_api_token("tok_2")
    assert api.access_token == TOKEN
    fake_api.on("DELETE", "/v1/auth/api-tokens/tok_3", Canned(401, {"detail": "Invalid token"}))
    with pytest.raises(ThalovantAuthError):
        await api.revoke_api_token("tok_3")
    assert api.access_token == TOKEN


async def test_get_profile_unwraps_data(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    profile = {"id": "u1", "email": "me@example.com", "display_name": "Me", "role": "owner"}
    fake_api.reply("GET", "/v1/users/profile", {"data": profile})
    assert await api.get_profile() == profile
    assert fake_api.last.headers["authorization"] == f"Bearer {TOKEN}"


def test_access_token_setter_resets_token_id() -> None:
    api = AsyncThalovantControlPlane(access_token=TOKEN)
    api._token_id = "old"
    setattr(api, "access_token", "  ")  # noqa: B010 (keeps mypy from narrowing to str)
    assert api.access_token is None
    assert api.token_id is None

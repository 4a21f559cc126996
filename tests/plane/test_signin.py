"""Password-less sign-in on the local control plane over real HTTPS: the device flow approved
by the signed-in account (``describe_device_login``), and the native-app PKCE exchange
(``complete_native_sign_in``)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import pytest

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.skill_models import DeviceLoginRequest
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantDeviceLoginDenied,
    ThalovantDeviceLoginPending,
)
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


def _verifier_and_challenge() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def _anonymous(control: LocalControlPlane, tls: HubTLS) -> AsyncThalovantControlPlane:
    return AsyncThalovantControlPlane(control.api_url, ssl_context=tls.client_context)


async def test_device_login_described_approved_and_redeemed(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub_tls: HubTLS
) -> None:
    async with await _anonymous(control, hub_tls) as device:
        grant = await device.begin_device_login(
            scopes=["hubs:read", "clients:write"], client_name="Kitchen display"
        )
        with pytest.raises(ThalovantDeviceLoginPending) as pending:
            await device.poll_device_login(grant)
        assert pending.value.interval == 1
        with pytest.raises(ThalovantDeviceLoginPending):  # the bare device code works too
            await device.poll_device_login(authorization=grant.device_code)

        request = await api.describe_device_login(grant.user_code)
        assert isinstance(request, DeviceLoginRequest)
        assert request.scopes == ("hubs:read", "clients:write")
        assert request.client_name == "Kitchen display"
        assert request.expires_at is not None
        assert not request.client_verified

        await api._call("POST", f"/v1/auth/device/codes/{grant.user_code}/approve")
        token = await device.poll_device_login(authorization=grant)  # the official keyword
        assert token.scopes == ("hubs:read", "clients:write")
        assert device.access_token == token.access_token
        assert (await device.list_hubs())["data"]
        with pytest.raises(ThalovantAPIError) as used:
            await device.poll_device_login(grant)  # a device code is redeemed once
        assert used.value.code == "invalid_grant"
    with pytest.raises(ThalovantAPIError) as gone:
        await api.describe_device_login(grant.user_code)
    assert (gone.value.status_code, gone.value.code) == (404, "device_code_not_found")


async def test_denied_device_login(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub_tls: HubTLS
) -> None:
    async with await _anonymous(control, hub_tls) as device:
        grant = await device.begin_device_login()
        await api._call("POST", f"/v1/auth/device/codes/{grant.user_code}/deny")
        with pytest.raises(ThalovantDeviceLoginDenied):
            await device.poll_device_login(grant)


async def test_native_sign_in_redeems_a_pkce_code_once(
    api: AsyncThalovantControlPlane, control: LocalControlPlane, hub_tls: HubTLS
) -> None:
    verifier, challenge = _verifier_and_challenge()
    ask: dict[str, Any] = {
        "client_id": "kitchen-app",
        "redirect_uri": "kitchen://signed-in",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "hubs:read",
        "state": "xyz",
    }
    code = (await api._call("POST", "/v1/auth/native/authorize", body=ask))["code"]
    async with await _anonymous(control, hub_tls) as app:
        with pytest.raises(ThalovantAPIError) as wrong:
            await app.complete_native_sign_in(code, "not-the-verifier", "kitchen-app", "x://y")
        assert (wrong.value.status_code, wrong.value.code) == (400, "invalid_grant")
        assert "not-the-verifier" not in str(wrong.value)
        code = (await api._call("POST", "/v1/auth/native/authorize", body=ask))["code"]
        token = await app.complete_native_sign_in(
            code, verifier, "kitchen-app", "kitchen://signed-in"
        )
        assert token["scopes"] == ["hubs:read"]
        assert app.access_token == token["access_token"]
        assert (await app.list_hubs())["data"]
        with pytest.raises(ThalovantAPIError) as again:
            await app.complete_native_sign_in(code, verifier, "kitchen-app", "kitchen://signed-in")
        assert again.value.code == "invalid_grant"

"""The blocking sign-in methods of ``ThalovantControlPlane``: password and browser (device
flow) sign-in, token revocation and the signed-in profile.

A mixin of :class:`~thalovant.sync.control.ThalovantControlPlane`: each method is one call of
its ``AsyncThalovantControlPlane`` twin through the control plane's loop thread
(docs/protocol.md §7, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.models import DeviceAuthorization, DeviceLoginPrompt, DeviceLoginToken
from thalovant.sync.portal import LoopThread

__all__ = ["SignInMethods"]


class SignInMethods:
    """Sign-in methods of the blocking control plane."""

    _async: AsyncThalovantControlPlane
    _loop: LoopThread

    def login(
        self,
        email: str,
        password: str,
        scope: str | Sequence[str] | None = None,
        otp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/auth/token``; stores the returned token.

        Args:
            email: The account's email.
            password: Its password.
            scope: The scopes asked for.
            otp_code: A TOTP code (two-step sign-in).
            recovery_code: A single-use recovery code (two-step sign-in).

        Returns:
            The API's answer (``access_token``, ``token_id``, ...).

        Raises:
            ThalovantAuthError: Wrong credentials, or ``mfa_required``.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.login, email, password, scope, otp_code, recovery_code)

    def begin_device_login(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        client_id: str | None = None,
    ) -> DeviceAuthorization:
        """``POST /v1/auth/device/authorize``: start a browser sign-in (RFC 8628).

        Args:
            scopes: The scopes asked for (default the server's).
            client_name: The name shown to the user.
            client_id: The OAuth client id.

        Returns:
            The device authorization (codes, URIs, polling interval).

        Raises:
            ThalovantAPIError: The API answered with an error.
        """
        return self._loop.call(self._async.begin_device_login, scopes, client_name, client_id)

    def poll_device_login(
        self, authorization: DeviceAuthorization | str, *, interval: float | None = None
    ) -> DeviceLoginToken:
        """``POST /v1/auth/device/token`` once; stores the token when approved.

        Args:
            authorization: What ``begin_device_login`` returned, or the bare device code.
            interval: The polling interval in use (``slow_down`` adds 5 s to it).

        Returns:
            The token.

        Raises:
            ThalovantDeviceLoginPending: Not approved yet; poll again after its interval.
            ThalovantDeviceLoginExpired: The code expired.
            ThalovantDeviceLoginDenied: The user denied it.
        """
        return self._loop.call(self._async.poll_device_login, authorization, interval=interval)

    def login_with_browser(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        open_browser: bool = True,
        prompt: Callable[[DeviceLoginPrompt], Any] | None = None,
        timeout: float = 900.0,
        client_id: str | None = None,
    ) -> DeviceLoginToken:
        """Sign in through the browser (device flow) and store the token.

        Args:
            scopes: The scopes asked for (default the server's).
            client_name: The name shown to the user.
            open_browser: Open the verification URI (failures ignored).
            prompt: Shows the code and URI (default ``print``); runs on the loop and must not
                call this object. It gets the official prompt dict, whose ``str()`` is the
                message.
            timeout: Seconds for the whole flow.
            client_id: The registered app's client id.

        Returns:
            The token (it also reads as the official token dict).

        Raises:
            ThalovantDeviceLoginDenied: The user denied it.
            ThalovantDeviceLoginExpired: The code expired.
            ThalovantTimeoutError: Not approved within ``timeout``.
        """
        return self._loop.call(
            self._async.login_with_browser,
            scopes,
            client_name,
            open_browser,
            prompt,
            timeout,
            client_id,
        )

    def revoke_api_token(self, token_id: str | None = None) -> None:
        """``DELETE /v1/auth/api-tokens/{id}`` (revoking this object's own token clears it).

        Args:
            token_id: The token's id (None: this object's own token).

        Raises:
            ThalovantAuthError: No valid token (other than for a self-revocation).
            ThalovantAPIError: The API answered with another error.
        """
        self._loop.call(self._async.revoke_api_token, token_id)

    def get_profile(self) -> dict[str, Any]:
        """``GET /v1/users/profile``, unwrapped.

        Returns:
            ``{id, email, display_name, role}``.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.get_profile)

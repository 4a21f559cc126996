"""The sign-in endpoints of the control plane (docs/protocol.md §7): password sign-in, the
browser device flow (RFC 8628), token revocation and the signed-in profile."""

from __future__ import annotations

import inspect
import logging
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

from thalovant.control.http import ControlHTTP, path_segment
from thalovant.control.models import DeviceAuthorization, DeviceLoginPrompt, DeviceLoginToken
from thalovant.control.values import text_or_none
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAuthError,
    ThalovantDeviceLoginPending,
    ThalovantTimeoutError,
)

__all__ = ["AuthEndpoints"]

logger = logging.getLogger("thalovant.control")


def _scope_list(scopes: str | Sequence[str] | None) -> list[str]:
    if scopes is None:
        return []
    items = scopes.split() if isinstance(scopes, str) else [str(s).strip() for s in scopes]
    return [s for s in items if s]


class AuthEndpoints(ControlHTTP):
    """The sign-in family: ``/v1/auth/*`` and ``/v1/users/profile``.

    One part of :class:`~thalovant.control.client.AsyncThalovantControlPlane`.
    """

    def _store_token(self, access_token: object, token_id: object) -> None:
        token = text_or_none(access_token)
        if token:
            self._access_token = token
            self._token_id = text_or_none(token_id)

    async def login(
        self,
        email: str,
        password: str,
        scope: str | Sequence[str] | None = None,
        otp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/auth/token`` with email and password; stores the returned token.

        Args:
            email: The account's email address.
            password: The account's password (scrubbed from any error message).
            scope: Scopes to ask for, space-separated or as a sequence.
            otp_code: A TOTP code, for accounts with two-step sign-in.
            recovery_code: A single-use recovery code, instead of ``otp_code``.

        Returns:
            The token answer (``access_token``, ``token_id``, ...); the token is also used
            from now on.

        Raises:
            ThalovantAuthError: Wrong credentials, or ``mfa_required`` (two-step sign-in
                without a code).
            ThalovantAPIError: The request failed otherwise.
        """
        body: dict[str, Any] = {"email": email, "password": password}
        scopes = _scope_list(scope)
        if scopes:
            body["scope"] = " ".join(scopes)
        if otp_code:
            body["otp_code"] = otp_code
        if recovery_code:
            body["recovery_code"] = recovery_code
        answer = await self._call(
            "POST",
            "/v1/auth/token",
            auth=False,
            credential=True,
            body=body,
            secrets=(password, otp_code, recovery_code),
        )
        self._store_token(answer.get("access_token"), answer.get("token_id"))
        return answer

    async def begin_device_login(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        client_id: str | None = None,
    ) -> DeviceAuthorization:
        """``POST /v1/auth/device/authorize``: start a browser sign-in (RFC 8628).

        Args:
            scopes: Scopes to ask for; the server picks defaults (``hubs:read``,
                ``clients:write``) when none are given.
            client_name: The name the approval page shows.
            client_id: The OAuth client id, when the server wants one.

        Returns:
            The device authorization: the code to show and the URL to open.

        Raises:
            ThalovantAPIError: The request failed, or the answer lacks ``device_code``,
                ``user_code`` or ``verification_uri``.
        """
        body: dict[str, Any] = {}
        if scope_list := _scope_list(scopes):
            body["scopes"] = scope_list
        if client_name:
            body["client_name"] = client_name
        if client_id:
            body["client_id"] = client_id
        answer = await self._call(
            "POST", "/v1/auth/device/authorize", auth=False, credential=True, body=body
        )
        return DeviceAuthorization.from_mapping(answer)

    async def poll_device_login(
        self, authorization: DeviceAuthorization | str, *, interval: float | None = None
    ) -> DeviceLoginToken:
        """``POST /v1/auth/device/token`` once; stores and returns the token when approved.

        Args:
            authorization: What :meth:`begin_device_login` returned (its ``device_code``
                and ``interval`` are used), or the bare device code.
            interval: The polling interval in use, for the next interval ``slow_down`` asks
                for (5 s more).

        Returns:
            The token, also used from now on.

        Raises:
            ThalovantDeviceLoginPending: Not approved yet: poll again after its ``interval``.
            ThalovantDeviceLoginExpired: The code expired.
            ThalovantDeviceLoginDenied: The user refused.
            ThalovantAPIError: The request failed otherwise.
        """
        if isinstance(authorization, DeviceAuthorization):
            interval = authorization.interval if interval is None else interval
            device_code = authorization.device_code
        else:
            device_code = authorization
        answer = await self._call(
            "POST",
            "/v1/auth/device/token",
            auth=False,
            credential=True,
            body={"device_code": device_code},
            device=True,
            device_interval=interval,
            secrets=(device_code,),
        )
        token = DeviceLoginToken.from_mapping(answer)
        self._store_token(token.access_token, token.token_id)
        return token

    async def login_with_browser(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        open_browser: bool = True,
        prompt: Callable[[DeviceLoginPrompt], Any] | None = None,
        timeout: float = 900.0,  # noqa: ASYNC109 (a deadline for the whole flow, documented API)
        client_id: str | None = None,
    ) -> DeviceLoginToken:
        """Sign in through the browser: the whole device flow in one call.

        Shows the code and ``verification_uri``, optionally opens
        ``verification_uri_complete`` (failures ignored; only ``http(s)://`` URLs are handed to
        the OS), then polls at the server's interval (+5 s per ``slow_down``) until approved.

        Args:
            scopes: Scopes to ask for (see :meth:`begin_device_login`).
            client_name: The name the approval page shows.
            open_browser: Open the approval page in the default browser.
            prompt: Shows the code to the user (it may be a coroutine function); default
                ``print``. It gets a dict (``user_code``, ``verification_uri``,
                ``verification_uri_complete``, ``expires_in``, ``interval``, ``message``)
                whose ``str()`` is the message.
            timeout: Seconds for the whole flow.
            client_id: The registered app's client id (see :meth:`begin_device_login`).

        Returns:
            The token, also used from now on; it reads as the official token dict too
            (``token["access_token"]``).

        Raises:
            ThalovantDeviceLoginDenied: The user refused.
            ThalovantDeviceLoginExpired: The code expired.
            ThalovantTimeoutError: Not approved within ``timeout`` seconds.
            ThalovantAPIError: A request failed otherwise.
        """
        deadline = self._clock() + timeout
        grant = await self.begin_device_login(scopes, client_name, client_id)
        shown = (prompt or print)(DeviceLoginPrompt.of(grant))
        if inspect.isawaitable(shown):
            await shown
        if open_browser:
            await _open_in_browser(grant.verification_uri_complete or grant.verification_uri)
        interval = grant.interval
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ThalovantTimeoutError(
                    f"Browser sign-in was not approved within {timeout:g} s"
                )
            await self._sleep(min(interval, remaining))
            try:
                return await self.poll_device_login(grant.device_code, interval=interval)
            except ThalovantDeviceLoginPending as exc:
                interval = exc.interval

    async def revoke_api_token(self, token_id: str | None = None) -> None:
        """``DELETE /v1/auth/api-tokens/{id}``.

        Revoking the token this client signed in with clears it here, and the 401 the API may
        answer for that self-revocation is success.

        Args:
            token_id: The token's id (see :attr:`~thalovant.control.http.ControlHTTP.token_id`);
                None: the token this client signed in with.

        Raises:
            ThalovantAuthError: No token, or the token was refused (other than by its own
                revocation).
            ThalovantAPIError: ``token_id`` is empty, or None while this client knows no id
                of its own token (it was given ``access_token=`` rather than signing in).
        """
        if token_id is None:
            if self._token_id is None:
                raise ThalovantAPIError(
                    "revoke_api_token(): this client knows no id of its own token (it was "
                    "given access_token= rather than signing in); pass the token id"
                )
            token_id = self._token_id
        ours = self._token_id is not None and token_id == self._token_id
        try:
            await self._call("DELETE", f"/v1/auth/api-tokens/{path_segment(token_id, 'token id')}")
        except ThalovantAuthError as exc:
            if not (ours and exc.status_code == 401):
                raise
        if ours:
            self._access_token = self._token_id = None

    async def get_profile(self) -> dict[str, Any]:
        """``GET /v1/users/profile``, unwrapped.

        Returns:
            ``{id, email, display_name, role}`` of the signed-in user.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The request failed otherwise.
        """
        answer = await self._call("GET", "/v1/users/profile", retry=True)
        data = answer.get("data")
        return dict(data) if isinstance(data, Mapping) else answer


async def _open_in_browser(url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        return  # never hand the OS a file:, javascript: or custom-scheme URL from a server
    try:
        await anyio.to_thread.run_sync(webbrowser.open, url)
    except Exception as exc:  # a missing or broken browser must not fail the sign-in
        logger.debug("Could not open a browser: %s", type(exc).__name__)
